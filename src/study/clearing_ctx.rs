//! Runs the network correction inside the day loop: builds each step's input from the ledgers,
//! solves (or skips when the proposal already meets every limit), books curtailment, shedding
//! and network charges into the ledgers and trades, and checks the result with an AC power flow.

use super::community::Community;
use super::{Ledger, StepClearing, StepTrade};
use crate::clearing::{
    check, correct_step, ChargeRule, ClearingSpec, NetworkModel, StepInput, TradeFlow,
};
use crate::error::Result;
use crate::network::electrical::BranchElement;
use crate::network::topology::Topology;
use crate::pf::ac::AcModel;
use crate::pf::dc::{DcModel, DcSolution, DcWorkspace};
use crate::pf::ptdf::Ptdf;

/// Per-topology state reused across steps.
pub(super) struct Context {
    spec: ClearingSpec,
    topo: Topology,
    ptdf: Ptdf,
    dc: DcModel,
    ws: DcWorkspace,
    sol: DcSolution,
    ac: Option<AcModel>,
    branch_km: Vec<f64>,
    tan_phi: f64,
    dump: Option<String>,
    /// Prosumers at each node.
    members: Vec<Vec<usize>>,
}

impl Context {
    /// `None` when the scenario has no network model.
    pub(super) fn new(c: &Community, spec: &ClearingSpec) -> Result<Option<Context>> {
        if spec.model == NetworkModel::None {
            return Ok(None);
        }
        let topo = Topology::new(&c.grid);
        let dc = DcModel::new(&c.grid)?;
        let ptdf = Ptdf::new(&c.grid, &topo, &dc);
        let ac = if spec.ac_check {
            Some(AcModel::new(&c.grid)?)
        } else {
            None
        };
        let branch_km = c
            .grid
            .branches
            .iter()
            .map(|b| match b.element {
                BranchElement::Line(id) => c
                    .network
                    .lines
                    .iter()
                    .find(|l| l.id == id)
                    .map_or(0.0, |l| l.length_km),
                _ => 0.0,
            })
            .collect();
        Ok(Some(Context {
            spec: *spec,
            ws: dc.workspace(),
            sol: DcSolution::default(),
            topo,
            ptdf,
            dc,
            ac,
            branch_km,
            tan_phi: c.load_tan_phi,
            dump: c.dump_lp.clone(),
            members: {
                let mut m = vec![Vec::new(); c.grid.n_nodes()];
                for p in &c.prosumers {
                    m[p.node].push(p.id);
                }
                m
            },
        }))
    }

    /// Clears step `t` of one case: `ledgers` carry load, PV and self-consumption; `trades` the
    /// proposed trades (empty for the baseline).
    pub(super) fn clear(
        &mut self,
        c: &Community,
        t: usize,
        ledgers: &mut [Ledger],
        trades: &mut [StepTrade],
    ) -> Result<StepClearing> {
        let grid = &c.grid;
        let n = grid.n_nodes();
        let dt = c.dt_h();
        let mut sold_full = vec![0.0; ledgers.len()];
        for tr in trades.iter() {
            sold_full[tr.trade.seller] += tr.trade.kwh;
        }
        let (mut bg_p, mut bg_q, mut shed_max, mut curt_max) =
            (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        for (i, l) in ledgers.iter().enumerate() {
            let k = c.prosumers[i].node;
            bg_p[k] += (l.supply_kwh() - l.demand_kwh() - sold_full[i]) / dt;
            bg_q[k] -= l.load_kwh / dt * self.tan_phi;
            shed_max[k] += (l.demand_kwh() - l.self_kwh) / dt;
            curt_max[k] += (l.supply_kwh() - l.self_kwh - sold_full[i]).max(0.0) / dt;
        }
        let flows: Vec<TradeFlow> = trades
            .iter()
            .map(|tr| TradeFlow {
                seller_node: c.prosumers[tr.trade.seller].node,
                buyer_node: c.prosumers[tr.trade.buyer].node,
                kw: tr.trade.kwh / dt,
            })
            .collect();
        let tan = vec![self.tan_phi; n];
        let inp = StepInput {
            dt_h: dt,
            trades: &flows,
            bg_p_kw: &bg_p,
            bg_q_kvar: &bg_q,
            shed_max_kw: &shed_max,
            tan_phi: &tan,
            curt_max_kw: &curt_max,
            import_per_kwh: c.retail_per_kwh[t],
            export_per_kwh: c.feed_in_per_kwh[t],
            v_offset_pu: &[],
        };
        // Solve; with LinDistFlow and the AC check on, feed AC back: where AC finds the voltage
        // outside the band, shift that bus's band by the AC-vs-LinDistFlow error and re-solve
        // (at most 3 rounds).
        let mut offsets: Vec<f64> = Vec::new();
        let mut rounds = 0;
        // The AC solution of the final outcome, when the loop computed it (reused by the check).
        let mut final_ac: Option<crate::pf::ac::AcSolution> = None;
        let mut outcome = loop {
            let round_inp = StepInput {
                v_offset_pu: &offsets,
                ..inp.clone()
            };
            let o = self.solve_step(grid, &round_inp, t, trades.is_empty())?;
            let feedback =
                self.spec.model == NetworkModel::Lindistflow && rounds < 3 && o.status.is_ok();
            let (Some(ac), Some(pred), true) = (&self.ac, o.predicted_vm_pu.as_ref(), feedback)
            else {
                break o;
            };
            let (p_kw, q_kvar) = outcome_injections(&round_inp, &o);
            let pm: Vec<f64> = p_kw.iter().map(|v| v * 1e-3).collect();
            let qm: Vec<f64> = q_kvar.iter().map(|v| v * 1e-3).collect();
            let sol = ac.solve(&pm, &qm, &Default::default());
            let tol = 1e-6;
            let violated = sol.converged
                && (0..n).any(|k| {
                    k != grid.slack
                        && (sol.vm_pu[k] > self.spec.vmax_pu + tol
                            || sol.vm_pu[k] < self.spec.vmin_pu - tol)
                });
            if !violated {
                final_ac = Some(sol);
                break o;
            }
            offsets = (0..n).map(|k| sol.vm_pu[k] - pred[k]).collect();
            rounds += 1;
        };
        outcome.ac_feedback_rounds = rounds;

        // Trades: executed share, curtailment at the seller, reason, network charge.
        let reason = outcome
            .binding
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        for (k, tr) in trades.iter_mut().enumerate() {
            let x = outcome.executed[k];
            tr.executed_kwh = x * tr.trade.kwh;
            let held = tr.trade.kwh - tr.executed_kwh;
            if held > 1e-9 {
                ledgers[tr.trade.seller].curtailed_kwh += held;
                tr.curtailment_reason = if reason.is_empty() {
                    outcome_status(&outcome)
                } else {
                    reason.clone()
                };
            }
            let (sn, bn) = (flows[k].seller_node, flows[k].buyer_node);
            tr.network_charge = match self.spec.network_charges {
                ChargeRule::None => 0.0,
                ChargeRule::Dlmp => {
                    let d = outcome.lmp_per_kwh[bn] - outcome.lmp_per_kwh[sn];
                    if d.is_finite() {
                        d * tr.executed_kwh
                    } else {
                        0.0
                    }
                }
                ChargeRule::Distance => {
                    let km: f64 = self
                        .topo
                        .path(grid, sn, bn)
                        .iter()
                        .map(|s| self.branch_km[s.branch])
                        .sum();
                    self.spec.distance_rate_per_kwh_km * km * tr.executed_kwh
                }
                ChargeRule::Uniform => self.spec.uniform_rate_per_kwh * tr.executed_kwh,
            };
        }
        // Background changes, shared among the prosumers of a node (shedding in proportion to
        // what each still imports after its executed purchases).
        let mut bought = vec![0.0; ledgers.len()];
        for tr in trades.iter() {
            bought[tr.trade.buyer] += tr.executed_kwh;
        }
        for k in 0..n {
            let members: &[usize] = &self.members[k];
            share(
                ledgers,
                members,
                outcome.shed_kw[k] * dt,
                |l, i| l.demand_kwh() - l.self_kwh - bought[i],
                |l, q| l.shed_kwh += q,
            );
            share(
                ledgers,
                members,
                outcome.curt_kw[k] * dt,
                |l, i| (l.supply_kwh() - l.self_kwh - sold_full[i]).max(0.0),
                |l, q| l.curtailed_kwh += q,
            );
        }
        // AC check of the cleared injections.
        let ac = match (&self.ac, final_ac) {
            (Some(_), Some(sol)) => Some(check::ac_check_of(sol, grid, &self.spec, &outcome)),
            (Some(ac), None) => {
                let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
                for (i, l) in ledgers.iter().enumerate() {
                    let k = c.prosumers[i].node;
                    p[k] += (l.supply_kwh() - l.demand_kwh() + l.shed_kwh) / dt;
                    q[k] -= (l.load_kwh - l.shed_kwh) / dt * self.tan_phi;
                }
                Some(check::ac_check(ac, grid, &p, &q, &self.spec, &outcome))
            }
            (None, _) => None,
        };
        Ok(StepClearing { outcome, ac })
    }
}

fn outcome_status(o: &crate::clearing::StepOutcome) -> String {
    format!("solver: {:?}", o.status).to_lowercase()
}

/// Splits `total` over `members` in proportion to `weight`, calling `add` for each share.
fn share(
    ledgers: &mut [Ledger],
    members: &[usize],
    total: f64,
    weight: impl Fn(&Ledger, usize) -> f64,
    add: impl Fn(&mut Ledger, f64),
) {
    if total <= 1e-12 || members.is_empty() {
        return;
    }
    let w: Vec<f64> = members
        .iter()
        .map(|&i| weight(&ledgers[i], i).max(0.0))
        .collect();
    let sum: f64 = w.iter().sum();
    for (j, &i) in members.iter().enumerate() {
        let part = if sum > 0.0 {
            total * w[j] / sum
        } else {
            total / members.len() as f64
        };
        add(&mut ledgers[i], part);
    }
}

impl Context {
    /// One solve of the correction (pre-check first), dumping failing problems.
    fn solve_step(
        &mut self,
        grid: &crate::network::electrical::Grid,
        inp: &StepInput,
        t: usize,
        baseline: bool,
    ) -> Result<crate::clearing::StepOutcome> {
        if let Some(o) = check::precheck(
            grid,
            &self.topo,
            &self.dc,
            &mut self.ws,
            &mut self.sol,
            &self.spec,
            inp,
        ) {
            return Ok(o);
        }
        let (o, problem) = correct_step(grid, &self.topo, &self.ptdf, &self.spec, inp);
        if let (Some(path), Some(p)) = (&self.dump, &problem) {
            if !o.status.is_ok() {
                let case = if baseline { "baseline" } else { "p2p" };
                let file = format!("{path}.{case}.step{t}.json");
                std::fs::write(&file, p.to_json()).map_err(|e| crate::Error::Io {
                    path: file.into(),
                    source: e,
                })?;
            }
        }
        Ok(o)
    }
}

/// The nodal injections (kW, kvar) a correction outcome leads to.
fn outcome_injections(inp: &StepInput, o: &crate::clearing::StepOutcome) -> (Vec<f64>, Vec<f64>) {
    let mut p = inp.bg_p_kw.to_vec();
    let mut q = inp.bg_q_kvar.to_vec();
    for (k, tr) in inp.trades.iter().enumerate() {
        p[tr.seller_node] += tr.kw * o.executed[k];
    }
    for i in 0..p.len() {
        p[i] += o.shed_kw[i] - o.curt_kw[i];
        q[i] += o.shed_kw[i] * inp.tan_phi[i];
    }
    (p, q)
}
