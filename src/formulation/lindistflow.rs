//! LinDistFlow (Baran & Wu 1989, linearised): the branch-flow model without losses on a radial
//! feeder — an LP that sees voltages, which is what binds first on LV feeders with PV.
//!
//! ```text
//!   balance at node k:  Σ_{children c} P_c − P_k = p_k,   Σ Q_c − Q_k = q_k   (kW, kvar)
//!   voltage drop:       v_k = a·v_parent − s·2κ (r P_k + x Q_k)                (v = |V|², p.u.)
//!   band:               v_min² ≤ v_k ≤ v_max²
//!   thermal:            cos α_j P_k + sin α_j Q_k ≤ S_k cos(π/N),  α_j = 2πj/N,  j = 0…N−1
//! ```
//!
//! The thermal circle `P² + Q² ≤ S²` is replaced by the regular N-gon *inscribed* in it (here
//! N = [`FACETS`]): safe (every feasible point is within the rating) at the price of a flow up to
//! `1 − cos(π/N)` below the rating in the worst direction. The evaluator uses the same drop
//! coefficients (`distflow::Drop`) and the same facets ([`gauge`]) as the rows, so the
//! pre-check and the optimisation cannot disagree.

use super::distflow::{self, Drop};
use super::{
    Element, Feeder, Limit, LimitKind, LimitRow, Limits, NetworkFormulation, NodeInjection,
    Predicted, StepRows, Workspace,
};
use super::NetworkModel;
use crate::opt::{Problem, Sense, Solution, Tag};

/// Facets of the thermal polygon.
pub const FACETS: usize = 8;

/// The facets' unit normals `(cos α_j, sin α_j)`.
fn normals() -> impl Iterator<Item = (f64, f64)> {
    (0..FACETS).map(|j| {
        let (s, c) = (j as f64 * std::f64::consts::TAU / FACETS as f64).sin_cos();
        (
            if c.abs() < 1e-12 { 0.0 } else { c },
            if s.abs() < 1e-12 { 0.0 } else { s },
        )
    })
}

/// The polygon's gauge of a flow: the smallest rating `S` whose polygon contains `(P, Q)`.
pub fn gauge(p_kw: f64, q_kvar: f64) -> f64 {
    let c = (std::f64::consts::PI / FACETS as f64).cos();
    normals()
        .map(|(ca, sa)| ca * p_kw + sa * q_kvar)
        .fold(0.0, f64::max)
        / c
}

/// The LinDistFlow formulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinDistFlow;

impl NetworkFormulation for LinDistFlow {
    fn model(&self) -> NetworkModel {
        NetworkModel::Lindistflow
    }

    fn supports(&self, f: &Feeder) -> Result<(), String> {
        if f.topo.is_radial() {
            Ok(())
        } else {
            Err("lindistflow needs a radial feeder; use --network-model dc".into())
        }
    }

    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
    ) -> StepRows {
        let mut rows = StepRows::default();
        let t = distflow::tree(f, p, &mut rows);
        let c = (std::f64::consts::PI / FACETS as f64).cos();
        for &k in f.topo.bfs_order() {
            let Some((_, l)) = f.topo.parent(k) else {
                continue;
            };
            distflow::drop_row(f, p, &rows, &t, k, &[]);
            let (Some(pk), Some(qk), Some(s)) = (t.pk[k], t.qk[k], lim.s_max_kva[l]) else {
                continue;
            };
            let dir = rows.flow_p[l].1;
            for (ca, sa) in normals() {
                let mut terms = Vec::with_capacity(2);
                if ca != 0.0 {
                    terms.push((pk, ca));
                }
                if sa != 0.0 {
                    terms.push((qk, sa));
                }
                let row = p.row(Tag::at("thermal", l), Sense::Le, terms, s * c);
                rows.limits.push(LimitRow {
                    row,
                    limit: Limit {
                        kind: LimitKind::Thermal,
                        element: Element::Branch(l),
                    },
                    d_row_d_p: ca * dir,
                });
            }
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
        let mut rated_kva = vec![0.0; nb];
        for &k in f.topo.bfs_order() {
            let Some((par, l)) = f.topo.parent(k) else {
                continue;
            };
            let br = &grid.branches[l];
            v[k] = Drop::of(br, par).v_child(f.kappa, v[par], pk[k], qk[k]);
            p_from_kw[l] = if br.from == par { pk[k] } else { -pk[k] };
            rated_kva[l] = gauge(pk[k], qk[k]);
        }
        Some(Predicted {
            p_from_kw,
            rated_kva,
            vm_pu: Some(v.iter().map(|x| x.max(0.0).sqrt()).collect()),
            socp_max_gap: None,
        })
    }

    fn read(&self, f: &Feeder, rows: &StepRows, sol: &Solution) -> Predicted {
        let nb = f.grid.branches.len();
        let mut p_from_kw = vec![0.0; nb];
        let mut rated_kva = vec![0.0; nb];
        for l in 0..nb {
            let ((pv, d), (qv, _)) = (rows.flow_p[l], rows.flow_q[l]);
            p_from_kw[l] = d * sol.x[pv];
            rated_kva[l] = gauge(sol.x[pv], sol.x[qv]);
        }
        Predicted {
            p_from_kw,
            rated_kva,
            vm_pu: Some(
                rows.v_sq
                    .iter()
                    .map(|&v| sol.x[v].max(0.0).sqrt())
                    .collect(),
            ),
            socp_max_gap: None,
        }
    }
}
