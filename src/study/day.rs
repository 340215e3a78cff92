//! The day loop of the auction mode: for every step, both cases' physical positions (load, PV,
//! the case's storage plan), the P2P auction on the P2P case's positions, the network correction
//! of each case (physical, never looking at trades; shared when the physics is the same), the
//! allocation of its decisions to agents and trades, the settlement, and one network result per
//! case-step.
//!
//! # Which correction each case gets
//!
//! * Baseline, background `report` (default): the injections are assessed, not corrected — a
//!   violation is pre-existing and reported (elements and amounts); nobody is curtailed or shed.
//! * Baseline, background `enforce`: the least-cost curtailment and shedding (at VOLL) that brings
//!   every limit back.
//! * P2P, same physical injections as the baseline (nothing flexible responded to the market):
//!   the baseline's decision, allocated to the P2P case's agents and trades.
//! * P2P, different injections (flexibility responded): under `enforce`, the full correction;
//!   under `report`, the limits are relaxed to the baseline's state (the market must not worsen
//!   what was already there) and only PV may be curtailed to keep them.
//!
//! Load the correction may shed at a household is its imports up to its load **and its EV's
//! charging**; what it sheds comes out of the EV's charging first (the wallbox dimmed:
//! `Account::ev_throttled_kwh`, counted against the EV's delivered energy), then out of its
//! load (`shed_kwh`).

use super::network::{injections_at, Solvers, StepNetwork};
use super::plan::Plan;
use super::{Case, FailedProblem, Retention, StepClearing, StepTrade};
use crate::clearing::charges::Charges;
use crate::clearing::{
    Agent, Background, ChargeRule, Corrector, NetworkModel, StepInput, StepOutcome, TradeFlow,
};
use crate::error::Result;
use crate::formulation::Limits;
use crate::market::pairs::{self, PairBook};
use crate::market::strategy::{PriceRule, Situation};
use crate::market::{self, Order};
use crate::scenario::community::Community;
use crate::scenario::{MarketDesign, Scenario};
use crate::settlement::{self, Account, Booked, Rules};
use std::sync::Arc;

/// One case's day as the loop produces it.
#[derive(Debug, Default)]
pub(super) struct CaseDay {
    /// Every step's accounts ([`super::Retention::Steps`]; else empty).
    pub accounts: Vec<Vec<Account>>,
    /// Their sums, under either retention.
    pub totals: super::Totals,
    pub network: Vec<Arc<StepNetwork>>,
    pub clearing: Vec<StepClearing>,
    /// The branch peaks, when the loop folded them in step by step (else computed from
    /// `network`).
    pub peaks: Option<crate::study::network::BranchPeaks>,
}

/// What a day run produces.
#[derive(Debug, Default)]
pub(super) struct DayRun {
    pub baseline: CaseDay,
    pub p2p: CaseDay,
    pub trades: Vec<StepTrade>,
    pub trade_totals: super::TradeTotals,
    pub failed: Vec<FailedProblem>,
}

/// Physical accounts of a case in step `t`: load (its shiftable part where the plan runs it),
/// PV, and the plan's battery flows, own PV curtailment and EV flows.
///
/// `holders` is [`Plan::holders`]: a prosumer the plan gives no asset is booked with zero flows
/// without looking into the plan's per-prosumer tables (at 10⁵ buses those lookups, one cache
/// line per prosumer and table, were most of this function's time).
pub(super) fn physical_accounts(
    c: &Community,
    plan: &Plan,
    holders: &[bool],
    t: usize,
) -> Vec<Account> {
    let dt = c.dt_h();
    c.prosumers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if !holders.get(i).copied().unwrap_or(true) {
                // What the lookups below give for a prosumer without assets, bit for bit.
                return Account::physical(
                    (p.load_kw[t] + 0.0) * dt,
                    p.pv_kw[t] * dt,
                    0.0,
                    0.0,
                    0.0,
                )
                .with_ev(0.0, 0.0)
                .with_share(0.0, 0.0);
            }
            let (b_in, b_out, curt) = plan.flows_kwh(i, t, dt);
            let (v_in, v_out) = plan.ev_kwh(i, t, dt);
            let (h_in, h_out) = plan.share_kwh(i, t, dt);
            let load = (p.load_kw[t] + plan.load_delta_kw(i, t)) * dt;
            Account::physical(load, p.pv_kw[t] * dt, b_in, b_out, curt)
                .with_ev(v_in, v_out)
                .with_share(h_in, h_out)
        })
        .collect()
}

/// The agents of a case-step as the correction sees them: the prosumers (each its own meter at
/// its node, `nodes[i]` as [`crate::study::network::prosumer_nodes`] gives them), then the shared
/// battery, if any, as one more agent at its node that the correction can neither curtail nor
/// shed.
fn agents(
    c: &Community,
    nodes: &[usize],
    accounts: &[Account],
    curtail: bool,
    shed: bool,
) -> Vec<Agent> {
    let dt = c.dt_h();
    let device = c.shared.as_ref().map(|sb| Agent {
        node: sb.node,
        p_kw: super::network::shared_injection_kw(accounts, dt),
        q_kvar: 0.0,
        curtailable_kw: 0.0,
        sheddable_kw: 0.0,
        tan_phi: 0.0,
    });
    nodes
        .iter()
        .zip(accounts)
        .map(|(&node, a)| {
            let pv_left = (a.pv_kwh - a.curtailed_kwh).max(0.0);
            Agent {
                node,
                p_kw: a.meter_injection_kw(dt),
                q_kvar: -a.load_kwh / dt * c.load_tan_phi,
                curtailable_kw: if curtail {
                    a.surplus_kwh().min(pv_left) / dt
                } else {
                    0.0
                },
                // The EV's charging first (its charger throttled), then the load.
                sheddable_kw: if shed {
                    a.deficit_kwh().min(a.load_kwh + a.ev_charge_kwh) / dt
                } else {
                    0.0
                },
                tan_phi: c.load_tan_phi,
            }
        })
        .chain(device)
        .collect()
}

/// The step's bids and asks from the P2P case's positions (`ids[i]`: prosumer `i`'s id). Orders
/// are in energy delivered; with `line_eta = η < 1` a buyer's limit per kWh is η times its bid,
/// so that price plus loss fee never exceeds the bid.
fn orders(
    c: &Community,
    s: &Scenario,
    rule: &PriceRule,
    t: usize,
    ids: &[usize],
    accounts: &[Account],
) -> (Vec<Order>, Vec<Order>) {
    let (retail, fit) = (c.retail_per_kwh[t], c.feed_in_per_kwh[t]);
    let cap = s.market.price_cap_per_kwh.unwrap_or(f64::INFINITY);
    let (mut bids, mut asks) = (Vec::new(), Vec::new());
    for (&id, a) in ids.iter().zip(accounts) {
        let (demand, supply) = (a.demand_kwh(), a.supply_kwh());
        let sit = Situation {
            step: t,
            agent: id,
            load_kwh: demand,
            pv_kwh: supply,
            retail_per_kwh: retail,
            feed_in_per_kwh: fit,
        };
        if demand > supply {
            bids.push(Order {
                agent: id,
                kwh: demand - supply,
                price_per_kwh: (s.line_eta * rule.bid(&sit)).min(cap),
            });
        } else if supply > demand && rule.ask(&sit) <= cap {
            asks.push(Order {
                agent: id,
                kwh: supply - demand,
                price_per_kwh: rule.ask(&sit),
            });
        }
    }
    (bids, asks)
}

fn same_physics(a: &[Agent], b: &[Agent]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.p_kw == y.p_kw && x.q_kvar == y.q_kvar)
}

/// The per-step machinery of a day.
struct Stepper<'c> {
    c: &'c Community,
    s: &'c Scenario,
    corrector: Option<Corrector<'c>>,
    solvers: Solvers,
    charges: Charges,
    topo: std::sync::Arc<crate::network::topology::Topology>,
    rules: Rules,
    pays_fixed: Vec<bool>,
    /// Each prosumer's node ([`crate::study::network::prosumer_nodes`]) and id, read each step
    /// from these small tables rather than from every prosumer's record.
    nodes: Vec<usize>,
    ids: Vec<usize>,
    /// The AC solution the last correction computed for its final outcome (reused as the step's
    /// network result instead of solving again).
    known_ac: Option<crate::pf::ac::AcSolution>,
}

impl<'c> Stepper<'c> {
    fn new(c: &'c Community, s: &'c Scenario) -> Result<Stepper<'c>> {
        // One DC factorisation and one tree serve the correction, the power flows and the
        // network charges.
        let shared = crate::pf::Shared::new(&c.grid)?;
        let corrector = match s.clearing.model {
            NetworkModel::None => None,
            _ => Some(Corrector::of(
                crate::formulation::Feeder::with_shared(&c.grid, &shared),
                &s.clearing,
            )?),
        };
        Ok(Stepper {
            c,
            s,
            corrector,
            solvers: Solvers::with_shared(&c.grid, &s.clearing, &shared)?,
            charges: Charges::new(&c.network, &c.grid, &s.clearing),
            topo: shared.topo,
            rules: Rules {
                policy: s.retailer.policy,
                daily_fixed_charge: c.daily_fixed_charge,
            },
            pays_fixed: c.prosumers.iter().map(|p| p.pays_fixed_charge()).collect(),
            nodes: crate::study::network::prosumer_nodes(c),
            ids: c.prosumers.iter().map(|p| p.id).collect(),
            known_ac: None,
        })
    }

    /// The usage charges' state of step `t` without the market: the baseline's network result
    /// and correction.
    fn pre_market(
        &self,
        t: usize,
        net: &StepNetwork,
        o: Option<&StepOutcome>,
    ) -> crate::clearing::charges::PreMarket {
        let c = self.c;
        self.charges.pre_market(
            &c.grid,
            &self.topo,
            &self.nodes,
            &net.p_from_kw,
            &net.vm_pu,
            o,
            net.net_import_kw,
            (c.retail_per_kwh[t], c.feed_in_per_kwh[t]),
            t as f64 * c.dt_h(),
        )
    }

    /// Corrects one case-step. `reference` is the baseline's decision and agents when this is the
    /// P2P case.
    #[allow(clippy::too_many_arguments)]
    fn correct(
        &mut self,
        case: Case,
        t: usize,
        agents: &[Agent],
        trades: &[TradeFlow],
        reference: Option<(&StepOutcome, &[Agent], &StepNetwork)>,
        book: Option<&PairBook>,
        failed: &mut Vec<FailedProblem>,
    ) -> Option<StepOutcome> {
        let c = self.c;
        self.known_ac = None;
        let corr = self.corrector.as_mut()?;
        let enforce = self.s.clearing.background == Background::Enforce;
        let plain = corr.shared_limits();
        let plain: &Limits = &plain;
        let inp = |limits| StepInput {
            book,
            ..step_input(c, t, agents, trades, limits)
        };
        if let Some((base, base_agents, base_net)) = reference {
            // The baseline's decision serves when the physics is the same, unless the trades are
            // to be decided with the network (a joint clearing).
            if book.is_none() && same_physics(agents, base_agents) {
                let mut o = base.clone();
                let a =
                    crate::clearing::allocate::allocate(&inp(plain), &base.curt_kw, &base.shed_kw);
                o.executed = a.executed;
                o.agent_curt_kw = a.curt_kw;
                o.agent_shed_kw = a.shed_kw;
                return Some(o);
            }
            let relaxed;
            let limits = if enforce {
                plain
            } else {
                let vm = base
                    .predicted_vm_pu
                    .as_deref()
                    .map(Vec::as_slice)
                    .or((!base_net.vm_pu.is_empty()).then_some(base_net.vm_pu.as_slice()));
                let rated: Vec<f64> = if base.predicted_rated_kva.is_empty() {
                    base_net
                        .loading_percent
                        .iter()
                        .zip(&plain.s_max_kva)
                        .map(|(l, s)| s.map_or(0.0, |s| l / 100.0 * s))
                        .collect()
                } else {
                    base.predicted_rated_kva.to_vec()
                };
                relaxed = plain.relaxed_to(vm, &rated);
                &relaxed
            };
            let ac_model = self.solvers.ac();
            let (o, problem) = corr.correct(&inp(limits), ac_model);
            self.known_ac = corr.take_ac();
            keep_failed(case, t, &o, problem, failed);
            return Some(o);
        }
        if !enforce {
            return Some(corr.assess(&inp(plain)));
        }
        let (o, problem) = corr.correct(&inp(plain), self.solvers.ac());
        self.known_ac = corr.take_ac();
        keep_failed(case, t, &o, problem, failed);
        Some(o)
    }
}

fn step_input<'a>(
    c: &Community,
    t: usize,
    agents: &'a [Agent],
    trades: &'a [TradeFlow],
    limits: &'a Limits,
) -> StepInput<'a> {
    StepInput {
        dt_h: c.dt_h(),
        agents,
        trades,
        import_per_kwh: c.retail_per_kwh[t],
        export_per_kwh: c.feed_in_per_kwh[t],
        limits,
        book: None,
    }
}

fn keep_failed(
    case: Case,
    t: usize,
    o: &StepOutcome,
    problem: Option<crate::opt::Problem>,
    failed: &mut Vec<FailedProblem>,
) {
    if let (false, Some(p)) = (o.status.is_ok(), problem) {
        failed.push(FailedProblem {
            label: format!("{}.step{t}", crate::util::serde_name(&case)),
            problem: p,
        });
    }
}

/// Applies a correction's per-agent decisions to the accounts (kWh). Load the correction sheds
/// at a household with an EV charging comes out of the EV's charging first — its charger is
/// throttled, as Germany's §14a EnWG lets a DSO dim controllable consumers (wallboxes, heat
/// pumps) in congestion — and only the rest out of the household's load: the meter sees the same
/// energy either way, but the car, not the kitchen, goes without.
fn apply(accounts: &mut [Account], o: &StepOutcome, dt: f64) {
    for (i, a) in accounts.iter_mut().enumerate() {
        a.curtailed_kwh += o.agent_curt_kw.get(i).copied().unwrap_or(0.0) * dt;
        let shed = o.agent_shed_kw.get(i).copied().unwrap_or(0.0) * dt;
        let throttled = shed.min(a.ev_charge_kwh).max(0.0);
        a.ev_charge_kwh -= throttled;
        a.ev_throttled_kwh += throttled;
        a.shed_kwh += shed - throttled;
    }
}

/// Runs the auction-mode day with a storage plan per case.
pub(super) fn run(
    c: &Community,
    s: &Scenario,
    base_plan: &Plan,
    p2p_plan: &Plan,
    retention: Retention,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DayRun> {
    let n_steps = c.n_steps();
    let keep = retention.keeps_steps();
    let dt = c.dt_h();
    let rule = PriceRule {
        strategy: s.market.strategy,
        bid_per_kwh: s.market.bid_per_kwh,
        ask_per_kwh: s.market.ask_per_kwh,
        seed: s.seed,
        trade_cap_kwh: s.market.trade_cap_kwh,
    };
    let enforce = s.clearing.background == Background::Enforce;
    let mut st = Stepper::new(c, s)?;
    let mut out = DayRun::default();
    let peaks = crate::study::network::BranchPeaks::new(&c.network, &c.grid);
    out.baseline.peaks = Some(peaks.clone());
    out.p2p.peaks = Some(peaks);
    let design = s.market.design;
    let np = c.prosumers.len();
    let (base_holders, p2p_holders) = (base_plan.holders(np), p2p_plan.holders(np));
    // One plan for both cases (nothing flexible responds to the market): one set of physical
    // accounts, copied.
    let same_plan = base_plan == p2p_plan;
    for t in 0..n_steps {
        let (retail, fit) = (c.retail_per_kwh[t], c.feed_in_per_kwh[t]);
        let mut base = physical_accounts(c, base_plan, &base_holders, t);
        let mut p2p = if same_plan {
            base.clone()
        } else {
            physical_accounts(c, p2p_plan, &p2p_holders, t)
        };
        // The network decides for the baseline first: nothing in it depends on the market.
        let base_agents = agents(c, &st.nodes, &base, enforce, enforce);
        let base_o = st.correct(
            Case::Baseline,
            t,
            &base_agents,
            &[],
            None,
            None,
            &mut out.failed,
        );
        if let Some(o) = &base_o {
            apply(&mut base, o, dt);
        }
        settlement::settle(
            &mut base,
            &[],
            retail,
            fit,
            &st.rules,
            t == 0,
            &st.pays_fixed,
        );
        let known = st.known_ac.take();
        let base_inj = injections_at(c, &st.nodes, &base);
        let base_net = Arc::new(st.solvers.solve(&c.grid, &base_inj, known));
        // The market, with the usage charges of the state without it (known before matching).
        let (bids, asks) = orders(c, s, &rule, t, &st.ids, &p2p);
        let pre_market = (st.charges.rule() == ChargeRule::Nuc)
            .then(|| st.pre_market(t, &base_net, base_o.as_ref()));
        let node = |i: usize| c.prosumers[i].node;
        let book = (design != MarketDesign::AuctionThenCorrect).then(|| {
            PairBook::new(c.prosumers.len(), &bids, &asks, |sl, by| {
                st.charges.charge(
                    &c.grid,
                    &st.topo,
                    base_o.as_ref(),
                    pre_market.as_ref(),
                    node(sl),
                    node(by),
                    1.0,
                )
            })
        });
        let proposed = match (&book, design) {
            (None, _) => market::clear(s.market.mechanism, &bids, &asks),
            (Some(b), MarketDesign::ChargesInBids) => pairs::match_pairs(b).unwrap_or_default(),
            // Welfare: the trades come out of the joint clearing below.
            (Some(_), _) => Vec::new(),
        };
        let flows: Vec<TradeFlow> = proposed
            .iter()
            .map(|tr| TradeFlow {
                seller: tr.seller,
                buyer: tr.buyer,
                kw: tr.kwh / dt,
            })
            .collect();
        // Then the network decides for the P2P case.
        let p2p_agents = agents(c, &st.nodes, &p2p, true, enforce);
        let joint = (design == MarketDesign::Welfare)
            .then_some(())
            .and(book.as_ref());
        let p2p_o = match &base_o {
            Some(bo) => st.correct(
                Case::P2p,
                t,
                &p2p_agents,
                &flows,
                Some((bo, &base_agents, &base_net)),
                joint,
                &mut out.failed,
            ),
            None => None,
        };
        let proposed = match joint {
            Some(b) => match &p2p_o {
                Some(o) => b.trades(&o.pair_kw, dt),
                None => pairs::match_pairs(b).unwrap_or_default(),
            },
            None => proposed,
        };
        if let Some(o) = &p2p_o {
            apply(&mut p2p, o, dt);
        }
        let reason = p2p_o.as_ref().map(StepOutcome::reason).unwrap_or_default();
        let mut booked = Vec::with_capacity(proposed.len());
        for (k, trade) in proposed.into_iter().enumerate() {
            let x = match (&p2p_o, joint) {
                (Some(o), None) => o.executed[k],
                _ => 1.0,
            };
            let executed_kwh = x * trade.kwh;
            let (sn, bn) = (node(trade.seller), node(trade.buyer));
            // The charge is the one that entered the bids when it did; billed after the fact
            // otherwise.
            let network_charge = match &book {
                Some(b) => b.charge_per_kwh(trade.seller, trade.buyer) * executed_kwh,
                None => st.charges.charge(
                    &c.grid,
                    &st.topo,
                    p2p_o.as_ref(),
                    pre_market.as_ref(),
                    sn,
                    bn,
                    executed_kwh,
                ),
            };
            booked.push(Booked {
                seller: trade.seller,
                buyer: trade.buyer,
                kwh: executed_kwh,
                buyer_price_per_kwh: trade.buyer_price_per_kwh,
                seller_price_per_kwh: trade.seller_price_per_kwh,
                network_charge,
            });
            let x = StepTrade {
                step: t,
                curtailment_reason: if keep && trade.kwh - executed_kwh > 1e-9 {
                    reason.clone()
                } else {
                    String::new()
                },
                executed_kwh,
                network_charge,
                trade,
            };
            out.trade_totals.add(&x);
            if keep {
                out.trades.push(x);
            }
        }
        let positions = settlement::positions_from_trades(c.prosumers.len(), &booked, s.line_eta);
        settlement::settle(
            &mut p2p,
            &positions,
            retail,
            fit,
            &st.rules,
            t == 0,
            &st.pays_fixed,
        );
        let p2p_inj = injections_at(c, &st.nodes, &p2p);
        let p2p_net = if p2p_inj == base_inj {
            base_net.clone()
        } else {
            let known = st.known_ac.take();
            Arc::new(st.solvers.solve(&c.grid, &p2p_inj, known))
        };
        // Under [`Retention::Totals`] a step's per-node and per-branch vectors go once read
        // (the branch peaks, the clearing's errors); equal results stay one.
        let summarised = (!keep).then(|| {
            let b = Arc::new(base_net.summarised());
            let p = if Arc::ptr_eq(&base_net, &p2p_net) || base_net == p2p_net {
                b.clone()
            } else {
                Arc::new(p2p_net.summarised())
            };
            [b, p]
        });
        for (k, (case_day, acc, net, o)) in [
            (&mut out.baseline, base, base_net, base_o),
            (&mut out.p2p, p2p, p2p_net, p2p_o),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(o) = o {
                let cl = StepClearing::new(o, &net);
                case_day
                    .clearing
                    .push(if keep { cl } else { cl.summarised() });
            }
            if let Some(p) = &mut case_day.peaks {
                p.add(t, &net);
            }
            case_day.totals.add_step(&acc);
            if keep {
                case_day.accounts.push(acc);
            }
            case_day.network.push(match &summarised {
                Some(s) => s[k].clone(),
                None => net,
            });
        }
        progress(t + 1, n_steps);
    }
    Ok(out)
}
