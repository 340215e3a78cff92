//! LinDistFlow (Baran & Wu 1989, linearised): the branch-flow model without losses on a radial
//! feeder — linear in the flows and squared voltages, so it sees the voltage rise that binds
//! first on LV feeders with PV.
//!
//! ```text
//!   balance at node k:  Σ_{children c} P_c − P_k = κ p_k,   Σ Q_c − Q_k = κ q_k   (p.u.)
//!   voltage drop:       v_k = a·v_parent − s·2 (r P_k + x Q_k)                    (v = |V|²)
//!   band:               v_min² ≤ v_k ≤ v_max²
//!   thermal:            ‖(P_k, Q_k)‖ ≤ κ S_k        (the exact rating circle, a second-order cone)
//! ```
//!
//! The rating is the exact circle, not a polygon: an inscribed octagon (what this formulation used
//! to hold) capped flows at `cos(π/8) = 92.4 %` of the rating in the worst direction. The
//! remaining difference to AC — LinDistFlow holds apparent power at nominal voltage and ignores
//! losses — is closed by the AC feedback of [`crate::clearing`] (a branch that AC finds over its
//! rating gets the flow predicted for it, scaled by the AC ratio, as its limit and the step is
//! re-solved). The evaluator uses the
//! same drop coefficients (`distflow::Drop`) as the rows, so the pre-check and the optimisation
//! cannot disagree.

use super::distflow;
use super::{
    Feeder, Limits, NetworkFormulation, NetworkModel, NodeInjection, Predicted, StepOptions,
    StepRows, Workspace,
};
use crate::opt::{Problem, Solution};

/// The LinDistFlow formulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinDistFlow;

impl NetworkFormulation for LinDistFlow {
    fn model(&self) -> NetworkModel {
        NetworkModel::Lindistflow
    }

    fn supports(&self, f: &Feeder) -> Result<(), String> {
        distflow::require_radial(f, "lindistflow")
    }

    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
        _opts: &StepOptions,
    ) -> StepRows {
        let mut rows = StepRows::default();
        let t = distflow::tree(f, p, &mut rows);
        for &k in f.topo.bfs_order() {
            if f.topo.parent(k).is_none() {
                continue;
            }
            distflow::drop_row(f, p, &rows, &t, k, &[]);
            distflow::rating_cone(f, p, &mut rows, &t, k, lim);
        }
        distflow::band_rows(f, p, &mut rows, lim);
        distflow::balances(f, p, &mut rows, t, inj);
        rows
    }

    fn evaluate(
        &self,
        f: &Feeder,
        p_kw: &[f64],
        q_kvar: &[f64],
        _ws: &mut Workspace,
    ) -> Option<Predicted> {
        let grid = f.grid;
        let (pk, qk) = distflow::subtree_flows(f, p_kw, q_kvar);
        let n = grid.n_nodes();
        let nb = grid.branches.len();
        let mut v = vec![0.0; n];
        v[grid.slack] = grid.slack_vm_pu * grid.slack_vm_pu;
        let mut p_from_kw = vec![0.0; nb];
        let mut q_from_kvar = vec![0.0; nb];
        let mut rated_kva = vec![0.0; nb];
        for e in f.edges() {
            let (k, par, l) = (e.k as usize, e.par as usize, e.l as usize);
            v[k] = e.drop.v_child(f.kappa, v[par], pk[k], qk[k]);
            p_from_kw[l] = if e.forward { pk[k] } else { -pk[k] };
            q_from_kvar[l] = if e.forward { qk[k] } else { -qk[k] };
            rated_kva[l] = pk[k].hypot(qk[k]);
        }
        Some(Predicted {
            p_from_kw,
            q_from_kvar,
            rated_kva,
            vm_pu: Some(v.iter().map(|x| x.max(0.0).sqrt()).collect()),
            socp_max_gap: None,
        })
    }

    fn read(&self, f: &Feeder, rows: &StepRows, sol: &Solution) -> Predicted {
        read_branch_flow(f, rows, sol, None)
    }
}

/// The predicted state of a branch-flow solution (flows back in kW).
pub(super) fn read_branch_flow(
    f: &Feeder,
    rows: &StepRows,
    sol: &Solution,
    socp_max_gap: Option<f64>,
) -> Predicted {
    let nb = f.grid.branches.len();
    let mut p_from_kw = vec![0.0; nb];
    let mut q_from_kvar = vec![0.0; nb];
    let mut rated_kva = vec![0.0; nb];
    for l in 0..nb {
        let ((pv, d), (qv, dq)) = (rows.flow_p[l], rows.flow_q[l]);
        p_from_kw[l] = d * sol.x[pv] / rows.flow_scale;
        q_from_kvar[l] = dq * sol.x[qv] / rows.flow_scale;
        rated_kva[l] = sol.x[pv].hypot(sol.x[qv]) / rows.flow_scale;
    }
    Predicted {
        p_from_kw,
        q_from_kvar,
        rated_kva,
        vm_pu: Some(
            rows.v_sq
                .iter()
                .map(|&v| sol.x[v].max(0.0).sqrt())
                .collect(),
        ),
        socp_max_gap,
    }
}
