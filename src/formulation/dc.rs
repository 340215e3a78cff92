//! The DC formulation: lossless active flows, no voltages.
//!
//! ```text
//!   balance at node i:   Σ_{l out of i} f_l − Σ_{l into i} f_l = p_i          (kW)
//!   thermal:             −S_l ≤ f_l ≤ S_l
//!   meshed grids (KVL):  f_l = 1000·S_base·b_l (θ_from − θ_to − φ_l),  θ_slack fixed
//! ```
//!
//! On a radial feeder the balance rows alone fix every flow (the tree has as many branches as
//! non-slack nodes), so no angles are needed. The evaluator is the DC power flow of
//! [`crate::pf::dc`] (`B θ = P`, factorised once per topology) — the same physics as the rows.

use super::NetworkModel;
use super::{
    Element, Encoding, Feeder, Limit, LimitKind, LimitRow, Limits, NetworkFormulation,
    NodeInjection, Predicted, StepOptions, StepRows, Workspace,
};
use crate::opt::{Problem, Sense, Solution, Tag, VarId};

/// The DC formulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dc;

impl NetworkFormulation for Dc {
    fn model(&self) -> NetworkModel {
        NetworkModel::Dc
    }

    fn supports(&self, _f: &Feeder) -> Result<(), String> {
        Ok(())
    }

    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
        _opts: &StepOptions,
    ) -> StepRows {
        let grid = f.grid;
        let n = grid.n_nodes();
        let mut rows = StepRows {
            balance_scale: 1.0,
            flow_scale: 1.0,
            ..StepRows::default()
        };
        let mut out: Vec<Vec<(VarId, f64)>> = vec![Vec::new(); n];
        for (l, br) in grid.branches.iter().enumerate() {
            let fl = p.var(Tag::at("f", l), f64::NEG_INFINITY, f64::INFINITY, 0.0);
            rows.flow_p.push((fl, 1.0));
            out[br.from].push((fl, 1.0));
            out[br.to].push((fl, -1.0));
            if let Some(s) = lim.s_max_kva[l] {
                let limit = Limit {
                    kind: LimitKind::Thermal,
                    element: Element::Branch(l),
                };
                for sign in [1.0, -1.0] {
                    let row = p.row(Tag::at("thermal", l), Sense::Le, vec![(fl, sign)], s);
                    rows.limits.push(LimitRow {
                        limit,
                        encoding: Encoding::Row {
                            row,
                            d_p: sign,
                            d_q: 0.0,
                        },
                    });
                }
            }
        }
        if !f.topo.is_radial() {
            let theta: Vec<VarId> = (0..n)
                .map(|i| p.var(Tag::at("theta", i), f64::NEG_INFINITY, f64::INFINITY, 0.0))
                .collect();
            p.row(
                Tag::kind("theta slack"),
                Sense::Eq,
                vec![(theta[grid.slack], 1.0)],
                grid.slack_va_rad,
            );
            for (l, br) in grid.branches.iter().enumerate() {
                let k = 1000.0 * grid.sn_mva * br.b_dc_pu();
                p.row(
                    Tag::at("kvl", l),
                    Sense::Eq,
                    vec![
                        (rows.flow_p[l].0, 1.0),
                        (theta[br.from], -k),
                        (theta[br.to], k),
                    ],
                    -k * br.shift_rad,
                );
            }
        }
        for (i, o) in out.into_iter().enumerate() {
            rows.balance_p.push(super::distflow::balance_row(
                p,
                "balance P",
                i,
                o,
                &inj[i].p,
                1.0,
            ));
        }
        rows
    }

    fn evaluate(
        &self,
        f: &Feeder,
        p_kw: &[f64],
        _q_kvar: &[f64],
        ws: &mut Workspace,
    ) -> Option<Predicted> {
        ws.buf.clear();
        ws.buf.extend(p_kw.iter().map(|v| v * 1e-3));
        f.dc.solve_into(&ws.buf, &mut ws.dc_ws, &mut ws.dc_sol);
        let p_from_kw: Vec<f64> = ws.dc_sol.p_from_mw.iter().map(|v| v * 1e3).collect();
        Some(Predicted {
            rated_kva: p_from_kw.iter().map(|v| v.abs()).collect(),
            p_from_kw,
            q_from_kvar: Vec::new(),
            vm_pu: None,
            socp_max_gap: None,
        })
    }

    fn read(&self, _f: &Feeder, rows: &StepRows, sol: &Solution) -> Predicted {
        let p_from_kw: Vec<f64> = rows.flow_p.iter().map(|&(v, d)| d * sol.x[v]).collect();
        Predicted {
            rated_kva: p_from_kw.iter().map(|v| v.abs()).collect(),
            p_from_kw,
            q_from_kvar: Vec::new(),
            vm_pu: None,
            socp_max_gap: None,
        }
    }
}
