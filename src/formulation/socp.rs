//! The second-order-cone relaxation of the branch-flow model (Farivar & Low 2013): DistFlow with
//! losses on a radial feeder, the non-convex `ℓ = (P² + Q²)/v` relaxed to a rotated cone.
//!
//! ```text
//!   balance at node k:  Σ_c P_c − (P_k − r ℓ_k/κ) = p_k,  Σ_c Q_c − (Q_k − x ℓ_k/κ) = q_k
//!   voltage drop:       v_k = a·v_parent − s·2κ (r P_k + x Q_k) + s (r² + x²) ℓ_k
//!   current:            κ²(P_k² + Q_k²) ≤ v'_parent ℓ_k  ⇔  ‖(2κP, 2κQ, v' − ℓ)‖ ≤ v' + ℓ
//!   band:               v_min² ≤ v_k ≤ v_max²;   thermal: ‖(P_k, Q_k)‖ ≤ S_k
//! ```
//!
//! `v'` is the parent's squared voltage on the branch side (`v_p/τ²` when the trafo's tap side is
//! the parent). When the relaxation is tight (the cone holds with equality) the solution is the
//! AC power flow; its tightness per step is reported as the largest relative gap
//! `(v'ℓ − κ²(P² + Q²))/(v'ℓ)`. There is no exact evaluator of fixed injections short of AC, so
//! every step is optimised.

use super::distflow;
use super::{
    ConeBranch, Feeder, Limits, NetworkFormulation, NodeInjection, Predicted, StepRows, Workspace,
};
use super::NetworkModel;
use crate::opt::{Affine, Problem, Solution, Tag};

/// The SOCP relaxation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Socp;

impl NetworkFormulation for Socp {
    fn model(&self) -> NetworkModel {
        NetworkModel::Socp
    }

    fn supports(&self, f: &Feeder) -> Result<(), String> {
        if f.topo.is_radial() {
            Ok(())
        } else {
            Err("socp needs a radial feeder; use --network-model dc".into())
        }
    }

    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
    ) -> StepRows {
        let grid = f.grid;
        let kappa = f.kappa;
        let mut rows = StepRows::default();
        let mut t = distflow::tree(f, p, &mut rows);
        let aff = |terms| Affine {
            terms,
            constant: 0.0,
        };
        for &k in f.topo.bfs_order() {
            let (Some((par, l)), Some(pk), Some(qk)) = (f.topo.parent(k), t.pk[k], t.qk[k]) else {
                continue;
            };
            let br = &grid.branches[l];
            let d = distflow::Drop::of(br, par);
            let lk = p.var(Tag::at("l", l), 0.0, f64::INFINITY, 0.0);
            // Losses r·ℓ (p.u.) leave at the receiving end: in kW, r·ℓ/κ.
            t.p_out[k].push((lk, br.r_pu / kappa));
            t.q_out[k].push((lk, br.x_pu / kappa));
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
                    aff(vec![(vp, ap), (lk, 1.0)]),
                    aff(vec![(pk, 2.0 * kappa)]),
                    aff(vec![(qk, 2.0 * kappa)]),
                    aff(vec![(vp, ap), (lk, -1.0)]),
                ],
            );
            rows.cones.push(ConeBranch {
                p: pk,
                q: qk,
                l: lk,
                v_parent: vp,
                a: ap,
            });
            if let Some(s) = lim.s_max_kva[l] {
                p.cone(
                    Tag::at("thermal", l),
                    vec![
                        Affine {
                            terms: vec![],
                            constant: s,
                        },
                        aff(vec![(pk, 1.0)]),
                        aff(vec![(qk, 1.0)]),
                    ],
                );
            }
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
        let nb = f.grid.branches.len();
        let mut p_from_kw = vec![0.0; nb];
        let mut rated_kva = vec![0.0; nb];
        for l in 0..nb {
            let ((pv, d), (qv, _)) = (rows.flow_p[l], rows.flow_q[l]);
            p_from_kw[l] = d * sol.x[pv];
            rated_kva[l] = sol.x[pv].hypot(sol.x[qv]);
        }
        let kappa = f.kappa;
        let gap = rows
            .cones
            .iter()
            .map(|c| {
                let vl = sol.x[c.v_parent] * c.a * sol.x[c.l];
                let s2 = (kappa * sol.x[c.p]).powi(2) + (kappa * sol.x[c.q]).powi(2);
                if vl > 1e-12 {
                    ((vl - s2) / vl).max(0.0)
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max);
        Predicted {
            p_from_kw,
            rated_kva,
            vm_pu: Some(
                rows.v_sq
                    .iter()
                    .map(|&v| sol.x[v].max(0.0).sqrt())
                    .collect(),
            ),
            socp_max_gap: Some(gap),
        }
    }
}
