//! The second-order-cone relaxation of the branch-flow model (Farivar & Low 2013): DistFlow with
//! losses on a radial feeder, the non-convex `ℓ = (P² + Q²)/v` relaxed to a rotated cone. All in
//! per unit (the shared `distflow` module).
//!
//! ```text
//!   balance at node k:  Σ_c P_c − (P_k − r ℓ_k) = κ p_k,  Σ_c Q_c − (Q_k − x ℓ_k) = κ q_k
//!   voltage drop:       v_k = a·v_parent − s·2 (r P_k + x Q_k) + s (r² + x²) ℓ_k
//!   current:            P_k² + Q_k² ≤ v'_parent ℓ_k  ⇔  ‖(2P, 2Q, v'/α − αℓ)‖ ≤ v'/α + αℓ
//!   band:               v_min² ≤ v_k ≤ v_max²;   thermal: ‖(P_k, Q_k)‖ ≤ κ S_k
//!   objective:          + w_loss · Σ r ℓ_k / κ · Δt   (w_loss: [`super::StepOptions`])
//! ```
//!
//! `v'` is the parent's squared voltage on the branch side (`v_p/τ²` when the trafo's tap side is
//! the parent). When the relaxation is tight (the cone holds with equality) the solution is the
//! AC power flow. It can fail to be tight when burning energy in fictitious losses is as good as
//! curtailing it (export congestion, a zero feed-in tariff); the small cost on losses
//! (`w_loss` = 1e-4 $/kWh, well below any energy price, so it never decides a curtailment)
//! breaks that tie towards curtailment. Tightness is reported per step (`socp_max_gap`: the
//! largest `v'ℓ − P² − Q²` relative to the feeder's largest `v'ℓ`), and the AC feedback of
//! [`crate::clearing`] makes the cleared result hold in AC whatever the gap. There is no exact
//! evaluator of fixed injections short of AC, so every step is optimised.

use super::distflow;
use super::lindistflow::read_branch_flow;
use super::{
    ConeBranch, Feeder, Limits, NetworkFormulation, NetworkModel, NodeInjection, Predicted,
    StepOptions, StepRows, Workspace,
};
use crate::opt::{Affine, Problem, Solution, Tag};

/// The SOCP relaxation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Socp;

impl NetworkFormulation for Socp {
    fn model(&self) -> NetworkModel {
        NetworkModel::Socp
    }

    fn supports(&self, f: &Feeder) -> Result<(), String> {
        distflow::require_radial(f, "socp")
    }

    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
        opts: &StepOptions,
    ) -> StepRows {
        let grid = f.grid;
        let mut rows = StepRows::default();
        let mut t = distflow::tree(f, p, &mut rows);
        let aff = |terms| Affine {
            terms,
            constant: 0.0,
        };
        // A branch whose whole subtree injects nothing carries no flow and no losses: its cone
        // would sit at its apex, where interior-point methods converge slowly; leave it out.
        let mut active: Vec<bool> = inj
            .iter()
            .map(|x| {
                x.p.constant != 0.0
                    || x.q.constant != 0.0
                    || !x.p.terms.is_empty()
                    || !x.q.terms.is_empty()
            })
            .collect();
        for &k in f.topo.bfs_order().iter().rev() {
            if let Some((par, _)) = f.topo.parent(k) {
                if active[k] {
                    active[par] = true;
                }
            }
        }
        // The current cone v'ℓ ≥ P² + Q² pairs a squared voltage near 1 with a squared current
        // near S² (1e-4 … 1e-2 p.u.): written plainly it is a needle-thin rotated cone whose
        // solutions sit within 1e-4 of its boundary, where interior-point methods lose their last
        // digits. Scaled as (v'/α)(αℓ) ≥ S² with α ≈ 1/S (S estimated from the injections'
        // constant parts), both factors are of the order of S and the cone is well shaped.
        let p_const: Vec<f64> = inj.iter().map(|x| x.p.constant).collect();
        let q_const: Vec<f64> = inj.iter().map(|x| x.q.constant).collect();
        let (p_est, q_est) = distflow::subtree_flows(f, &p_const, &q_const);
        for &k in f.topo.bfs_order() {
            let (Some((par, l)), Some(pk), Some(qk)) = (f.topo.parent(k), t.pk[k], t.qk[k]) else {
                continue;
            };
            let s_est = f.kappa * p_est[k].hypot(q_est[k]);
            let alpha = 1.0 / s_est.clamp(1e-4, 1.0);
            if !active[k] {
                distflow::drop_row(f, p, &rows, &t, k, &[]);
                continue;
            }
            let br = &grid.branches[l];
            let d = distflow::Drop::of(br, par);
            // ℓ (p.u.) with its cost: the losses r·ℓ are r·ℓ/κ kW.
            let lk = p.var(
                Tag::at("l", l),
                0.0,
                f64::INFINITY,
                opts.loss_weight_per_kwh * br.r_pu / f.kappa,
            );
            // Losses leave at the receiving end.
            t.p_out[k].push((lk, br.r_pu));
            t.q_out[k].push((lk, br.x_pu));
            distflow::drop_row(
                f,
                p,
                &rows,
                &t,
                k,
                &[(lk, -(br.r_pu * br.r_pu + br.x_pu * br.x_pu) * d.s)],
            );
            let ap = if br.from == par { d.a } else { 1.0 };
            let vp = rows.v_sq[par];
            p.cone(
                Tag::at("flow-current", l),
                vec![
                    aff(vec![(vp, ap / alpha), (lk, alpha)]),
                    aff(vec![(pk, 2.0)]),
                    aff(vec![(qk, 2.0)]),
                    aff(vec![(vp, ap / alpha), (lk, -alpha)]),
                ],
            );
            rows.cones.push(ConeBranch {
                p: pk,
                q: qk,
                l: lk,
                v_parent: vp,
                a: ap,
            });
            distflow::rating_cone(f, p, &mut rows, &t, k, lim);
        }
        distflow::band_rows(f, p, &mut rows, lim);
        distflow::balances(f, p, &mut rows, t, inj);
        rows
    }

    fn evaluate(
        &self,
        _f: &Feeder,
        _p_kw: &[f64],
        _q_kvar: &[f64],
        _ws: &mut Workspace,
    ) -> Option<Predicted> {
        None
    }

    fn read(&self, f: &Feeder, rows: &StepRows, sol: &Solution) -> Predicted {
        // Tightness: the largest `v'ℓ − P² − Q²` relative to the largest `v'ℓ` of the feeder
        // (relative to each branch's own, a lightly loaded branch's solver noise would read as
        // a loose relaxation).
        let (mut worst, mut scale) = (0.0f64, 0.0f64);
        for c in &rows.cones {
            let vl = sol.x[c.v_parent] * c.a * sol.x[c.l];
            let s2 = sol.x[c.p].powi(2) + sol.x[c.q].powi(2);
            worst = worst.max(vl - s2);
            scale = scale.max(vl);
        }
        let gap = if scale > 0.0 { worst / scale } else { 0.0 };
        read_branch_flow(f, rows, sol, Some(gap))
    }
}
