//! One study day: the hourly (or 5/15-minute) auction among a feeder's prosumers, settled
//! against a no-P2P baseline, with a DC power flow of every step's final injections.
//!
//! # Energy and money per prosumer and step
//!
//! With load `L`, PV `G` (kWh in the step), self-consumption `S = min(L, G)`:
//!
//! ```text
//!   baseline:  import = L − S,                   export = G − S
//!   P2P:       import = L − S − bought,          export = G − S − sold
//!   bill = import·retail − export·feed_in + Σ bought·buyer_price − Σ sold·seller_price
//! ```
//!
//! so `L + B_in = S + bought + import + shed` and `G + B_out = S + sold + export + curtailed` hold
//! exactly (with battery charging `B_in` and discharging `B_out`; `S = min(L + B_in, G + B_out −
//! curtailed)`), and the money buyers pay equals what sellers receive plus the operator's surplus
//! (McAfee only). With `line_eta = η < 1` a buyer receives `η·q` of the `q` kWh its seller sent
//! and pays for `q`: P2P transfer losses are borne by buyers and reported.
//!
//! # Network correction (`--network-model dc|lindistflow|socp`)
//!
//! Every step of both cases goes through [`crate::clearing`]: the unexecuted share of a trade is
//! PV its seller curtails (the buyer imports that energy instead); when the background alone
//! violates a limit, load is shed or PV curtailed outside any trade, and the outcome lists the
//! binding limits. Network charges (`dlmp`, `distance`, `uniform`) are paid by buyers. An AC power
//! flow of every cleared step checks what the linear model promised.
//!
//! # The physics
//!
//! P2P trades are *financial*: the energy a buyer "receives" is physically the same electrons as
//! before. Without storage or curtailment a prosumer's net injection `G − L` is the same with and
//! without P2P, so the baseline and P2P power flows coincide. netclear still runs both from each
//! case's own settlement, so that when a later stage (network correction, batteries) changes
//! injections, the difference shows up — and it reports, not hides, lines over their limits.

pub mod battery;
pub mod central;
mod clearing_ctx;
pub mod community;
pub mod kpi;
pub mod paper;
pub mod report;

use crate::error::Result;
use crate::market::strategy::{PriceRule, Situation};
use crate::market::{self, Order, Trade};
use crate::network::electrical::BranchElement;
use crate::pf::dc::{DcModel, DcSolution};
use crate::scenario::Scenario;
use community::Community;
use kpi::Kpis;
use serde::Serialize;

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// No P2P: everything through the retailer.
    Baseline,
    /// P2P trades first, the residual with the retailer.
    P2p,
}

/// Energy and money of one prosumer in one step (kWh and currency units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Ledger {
    /// Consumption.
    pub load_kwh: f64,
    /// PV generation.
    pub pv_kwh: f64,
    /// Own PV used on site.
    pub self_kwh: f64,
    /// Bought from other prosumers.
    pub p2p_bought_kwh: f64,
    /// Sold to other prosumers.
    pub p2p_sold_kwh: f64,
    /// Bought from the retailer.
    pub grid_import_kwh: f64,
    /// Sold to the retailer.
    pub grid_export_kwh: f64,
    /// Paid to other prosumers.
    pub p2p_paid: f64,
    /// Received from other prosumers.
    pub p2p_received: f64,
    /// Paid to the retailer.
    pub grid_paid: f64,
    /// Received from the retailer (feed-in).
    pub grid_received: f64,
    /// PV held back by the network correction (unexecuted trades, background curtailment).
    pub curtailed_kwh: f64,
    /// Load not served because the background alone violated a limit.
    pub shed_kwh: f64,
    /// Network charges paid on P2P purchases.
    pub network_charge: f64,
    /// Energy into the prosumer's battery.
    pub battery_in_kwh: f64,
    /// Energy out of the prosumer's battery.
    pub battery_out_kwh: f64,
    /// The retailer's fixed charge (booked in the first step).
    pub fixed_charge: f64,
    /// Regulator's bonus for local renewable energy consumed.
    pub policy_bonus: f64,
    /// Regulator's penalty on energy bought from the grid.
    pub policy_penalty: f64,
}

impl Ledger {
    /// Net bill (positive = the prosumer pays).
    pub fn bill(&self) -> f64 {
        self.p2p_paid
            + self.grid_paid
            + self.network_charge
            + self.fixed_charge
            + self.policy_penalty
            - self.p2p_received
            - self.grid_received
            - self.policy_bonus
    }
    /// What the prosumer consumes: load plus battery charging.
    pub fn demand_kwh(&self) -> f64 {
        self.load_kwh + self.battery_in_kwh
    }
    /// What the prosumer can supply before P2P and the grid: PV plus battery discharge minus
    /// curtailment.
    pub fn supply_kwh(&self) -> f64 {
        self.pv_kwh + self.battery_out_kwh - self.curtailed_kwh
    }
    /// Net injection into the network, kW over a step of `dt_h` hours.
    pub fn injection_kw(&self, dt_h: f64) -> f64 {
        (self.p2p_sold_kwh + self.grid_export_kwh - self.p2p_bought_kwh - self.grid_import_kwh)
            / dt_h
    }
    fn add(&mut self, o: &Ledger) {
        self.load_kwh += o.load_kwh;
        self.pv_kwh += o.pv_kwh;
        self.self_kwh += o.self_kwh;
        self.p2p_bought_kwh += o.p2p_bought_kwh;
        self.p2p_sold_kwh += o.p2p_sold_kwh;
        self.grid_import_kwh += o.grid_import_kwh;
        self.grid_export_kwh += o.grid_export_kwh;
        self.p2p_paid += o.p2p_paid;
        self.p2p_received += o.p2p_received;
        self.grid_paid += o.grid_paid;
        self.grid_received += o.grid_received;
        self.curtailed_kwh += o.curtailed_kwh;
        self.shed_kwh += o.shed_kwh;
        self.network_charge += o.network_charge;
        self.battery_in_kwh += o.battery_in_kwh;
        self.battery_out_kwh += o.battery_out_kwh;
        self.fixed_charge += o.fixed_charge;
        self.policy_bonus += o.policy_bonus;
        self.policy_penalty += o.policy_penalty;
    }
}

/// The network in one step of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepNetwork {
    /// Import from the upstream grid (DC, lossless), kW.
    pub slack_import_kw: f64,
    /// Highest line loading, %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: f64,
    /// Branches above 100 %.
    pub overloaded: Vec<String>,
}

/// Peak loading of one branch over the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchPeak {
    /// `line 3`, `trafo 0`.
    pub element: String,
    /// `line` / `trafo` / `switch`.
    pub kind: &'static str,
    /// Id in its file.
    pub id: i64,
    /// From bus (HV side for trafos).
    pub from_bus: i64,
    /// To bus.
    pub to_bus: i64,
    /// Highest loading of the day, %.
    pub peak_loading_percent: f64,
    /// Step at which it occurred.
    pub peak_step: usize,
    /// Steps above 100 %.
    pub steps_over_limit: usize,
}

/// One case's day.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Which case.
    pub case: Case,
    /// `ledgers[t][i]`: prosumer `i` in step `t`.
    pub ledgers: Vec<Vec<Ledger>>,
    /// Per step.
    pub network: Vec<StepNetwork>,
    /// Per branch.
    pub branches: Vec<BranchPeak>,
    /// Network clearing per step (empty without a network model).
    pub clearing: Vec<StepClearing>,
    /// Day totals and indicators.
    pub kpis: Kpis,
}

impl CaseResult {
    /// A prosumer's day totals.
    pub fn prosumer_total(&self, i: usize) -> Ledger {
        let mut l = Ledger::default();
        for step in &self.ledgers {
            l.add(&step[i]);
        }
        l
    }
    /// Community totals of one step.
    pub fn step_total(&self, t: usize) -> Ledger {
        let mut l = Ledger::default();
        for p in &self.ledgers[t] {
            l.add(p);
        }
        l
    }
}

/// A trade with its step and what the network made of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTrade {
    /// The step.
    pub step: usize,
    /// The trade as the auction proposed it.
    pub trade: Trade,
    /// Energy actually delivered after the network correction, kWh.
    pub executed_kwh: f64,
    /// Why part of it was curtailed (binding limits), empty if executed in full.
    pub curtailment_reason: String,
    /// Network charge paid by the buyer.
    pub network_charge: f64,
}

/// The network clearing of one step of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepClearing {
    /// The correction's outcome (prices, binding limits, background changes).
    pub outcome: crate::clearing::StepOutcome,
    /// The AC check of the cleared injections.
    pub ac: Option<crate::clearing::check::AcCheck>,
}

/// Everything a day produces.
#[derive(Debug, Clone, Serialize)]
pub struct DayResult {
    /// No P2P.
    pub baseline: CaseResult,
    /// With P2P.
    pub p2p: CaseResult,
    /// All trades.
    pub trades: Vec<StepTrade>,
}

/// Runs the day for a built community.
pub fn run_day(c: &Community, s: &Scenario) -> Result<DayResult> {
    run_day_with_progress(c, s, &mut |_, _| {})
}

/// [`run_day`], calling `progress(step, n_steps)` after every step (for a progress display).
pub fn run_day_with_progress(
    c: &Community,
    s: &Scenario,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<DayResult> {
    let n_steps = c.n_steps();
    let dt = c.dt_h();
    let np = c.prosumers.len();
    let rule = PriceRule {
        strategy: s.market.strategy,
        bid_per_kwh: s.market.bid_per_kwh,
        ask_per_kwh: s.market.ask_per_kwh,
        seed: s.seed,
    };
    let mut net = clearing_ctx::Context::new(c, &s.clearing)?;
    let mut base_ledgers = Vec::with_capacity(n_steps);
    let mut p2p_ledgers = Vec::with_capacity(n_steps);
    let mut base_clearing = Vec::new();
    let mut p2p_clearing = Vec::new();
    let mut trades = Vec::new();
    let mut bids = Vec::with_capacity(np);
    let mut asks = Vec::with_capacity(np);
    for t in 0..n_steps {
        let (retail, fit) = (c.retail_per_kwh[t], c.feed_in_per_kwh[t]);
        bids.clear();
        asks.clear();
        let mut base = Vec::with_capacity(np);
        for p in &c.prosumers {
            let (b_in, b_out, own_curt) = match &p.dispatch {
                Some(d) => (
                    d.charge_kw[t] * dt,
                    d.discharge_kw[t] * dt,
                    d.curtail_kw[t] * dt,
                ),
                None => (0.0, 0.0, 0.0),
            };
            let mut l = Ledger {
                load_kwh: p.load_kw[t] * dt,
                pv_kwh: p.pv_kw[t] * dt,
                battery_in_kwh: b_in,
                battery_out_kwh: b_out,
                curtailed_kwh: own_curt,
                fixed_charge: if t == 0 && p.class != community::LoadClass::Vpp {
                    c.daily_fixed_charge
                } else {
                    0.0
                },
                ..Ledger::default()
            };
            let (demand, supply) = (l.demand_kwh(), l.supply_kwh());
            l.self_kwh = demand.min(supply);
            let sit = Situation {
                step: t,
                agent: p.id,
                load_kwh: demand,
                pv_kwh: supply,
                retail_per_kwh: retail,
                feed_in_per_kwh: fit,
            };
            let cap = s.market.price_cap_per_kwh.unwrap_or(f64::INFINITY);
            if demand > supply {
                // Orders are in energy *sent*: to receive its deficit a buyer needs deficit/η
                // sent, and its limit per kWh sent is η times its limit per kWh received.
                bids.push(Order {
                    agent: p.id,
                    kwh: (demand - supply) / s.line_eta,
                    price_per_kwh: (s.line_eta * rule.bid(&sit)).min(cap),
                });
            } else if supply > demand && rule.ask(&sit) <= cap {
                asks.push(Order {
                    agent: p.id,
                    kwh: supply - demand,
                    price_per_kwh: rule.ask(&sit),
                });
            }
            base.push(l);
        }
        let mut step_trades: Vec<StepTrade> = market::clear(s.market.mechanism, &bids, &asks)
            .into_iter()
            .map(|trade| StepTrade {
                step: t,
                executed_kwh: trade.kwh,
                trade,
                curtailment_reason: String::new(),
                network_charge: 0.0,
            })
            .collect();
        let mut p2p = base.clone();
        if let Some(ctx) = net.as_mut() {
            base_clearing.push(ctx.clear(c, t, &mut base, &mut [])?);
            p2p_clearing.push(ctx.clear(c, t, &mut p2p, &mut step_trades)?);
        }
        settle(&mut base, &[], retail, fit, s);
        settle(&mut p2p, &step_trades, retail, fit, s);
        trades.extend(step_trades);
        base_ledgers.push(base);
        p2p_ledgers.push(p2p);
        progress(t + 1, n_steps);
    }
    let baseline = finish_case(c, Case::Baseline, base_ledgers, base_clearing, &[], None)?;
    let p2p = finish_case(
        c,
        Case::P2p,
        p2p_ledgers,
        p2p_clearing,
        &trades,
        Some(&baseline),
    )?;
    Ok(DayResult {
        baseline,
        p2p,
        trades,
    })
}

/// Books executed trades and the residual with the retailer into the step's ledgers (which
/// already carry load, PV, self-consumption, and any curtailment or shedding decided by the
/// network correction).
fn settle(ledgers: &mut [Ledger], trades: &[StepTrade], retail: f64, fit: f64, s: &Scenario) {
    let line_eta = s.line_eta;
    let policy = s.retailer.policy;
    for tr in trades {
        let q = tr.executed_kwh;
        let b = &mut ledgers[tr.trade.buyer];
        // The buyer receives η·q and pays for the q its seller sent.
        b.p2p_bought_kwh += line_eta * q;
        b.p2p_paid += q * tr.trade.buyer_price_per_kwh;
        b.network_charge += tr.network_charge;
        let sl = &mut ledgers[tr.trade.seller];
        sl.p2p_sold_kwh += q;
        sl.p2p_received += q * tr.trade.seller_price_per_kwh;
    }
    for l in ledgers.iter_mut() {
        l.grid_import_kwh = (l.demand_kwh() - l.self_kwh - l.p2p_bought_kwh - l.shed_kwh).max(0.0);
        l.grid_export_kwh = (l.supply_kwh() - l.self_kwh - l.p2p_sold_kwh).max(0.0);
        l.grid_paid = l.grid_import_kwh * retail;
        l.grid_received = l.grid_export_kwh * fit;
        l.policy_bonus = policy.local_renewable_bonus_per_kwh * (l.self_kwh + l.p2p_bought_kwh);
        l.policy_penalty = policy.grid_purchase_penalty_per_kwh * l.grid_import_kwh;
    }
}

fn finish_case(
    c: &Community,
    case: Case,
    ledgers: Vec<Vec<Ledger>>,
    clearing: Vec<StepClearing>,
    trades: &[StepTrade],
    baseline: Option<&CaseResult>,
) -> Result<CaseResult> {
    let grid = &c.grid;
    let dc = DcModel::new(grid)?;
    let mut ws = dc.workspace();
    let mut sol = DcSolution::default();
    let n = grid.n_nodes();
    let dt = c.dt_h();
    let mut inj = vec![0.0; n];
    let mut branches: Vec<BranchPeak> = grid
        .branches
        .iter()
        .map(|br| {
            let (kind, id, fb, tb) = match br.element {
                BranchElement::Line(l) => {
                    let line = c.network.lines.iter().find(|x| x.id == l);
                    (
                        "line",
                        l.0,
                        line.map_or(-1, |x| x.from_bus.0),
                        line.map_or(-1, |x| x.to_bus.0),
                    )
                }
                BranchElement::Trafo(tr) => {
                    let t = c.network.trafos.iter().find(|x| x.id == tr);
                    (
                        "trafo",
                        tr.0,
                        t.map_or(-1, |x| x.hv_bus.0),
                        t.map_or(-1, |x| x.lv_bus.0),
                    )
                }
                BranchElement::Switch(sw) => ("switch", sw.0, -1, -1),
            };
            BranchPeak {
                element: br.element.to_string(),
                kind,
                id,
                from_bus: fb,
                to_bus: tb,
                peak_loading_percent: 0.0,
                peak_step: 0,
                steps_over_limit: 0,
            }
        })
        .collect();
    let mut network = Vec::with_capacity(ledgers.len());
    for (t, step) in ledgers.iter().enumerate() {
        inj.iter_mut().for_each(|v| *v = 0.0);
        for (i, l) in step.iter().enumerate() {
            inj[c.prosumers[i].node] += l.injection_kw(dt) * 1e-3;
        }
        dc.solve_into(&inj, &mut ws, &mut sol);
        let mut sn = StepNetwork {
            slack_import_kw: sol.slack_p_mw * 1e3,
            max_line_loading_percent: 0.0,
            max_trafo_loading_percent: 0.0,
            overloaded: Vec::new(),
        };
        for l in 0..grid.branches.len() {
            let pf = sol.p_from_mw[l];
            let (_, _, load) = grid.branch_currents(l, [pf, 0.0, -pf, 0.0], 1.0, 1.0);
            let bp = &mut branches[l];
            if load > bp.peak_loading_percent {
                bp.peak_loading_percent = load;
                bp.peak_step = t;
            }
            if load > 100.0 + 1e-9 {
                bp.steps_over_limit += 1;
                sn.overloaded.push(bp.element.clone());
            }
            match bp.kind {
                "line" => sn.max_line_loading_percent = sn.max_line_loading_percent.max(load),
                "trafo" => sn.max_trafo_loading_percent = sn.max_trafo_loading_percent.max(load),
                _ => {}
            }
        }
        network.push(sn);
    }
    let kpis = kpi::compute(c, &ledgers, &network, &clearing, trades, baseline);
    Ok(CaseResult {
        case,
        ledgers,
        network,
        branches,
        clearing,
        kpis,
    })
}

/// `--clearing central`: the baseline as in the auction mode, the P2P case from the central
/// optimisation ([`central`]).
pub fn run_central(c: &Community, s: &Scenario) -> Result<(DayResult, central::CentralResult)> {
    let auction = run_day(c, s)?;
    let cr = central::solve(c, s)?;
    if !cr.status.is_ok() {
        return Err(crate::Error::Numerical(format!(
            "the central optimisation did not solve ({:?}); rerun with --dump-lp to inspect it",
            cr.status
        )));
    }
    let p2p = finish_case(
        c,
        Case::P2p,
        cr.ledgers.clone(),
        Vec::new(),
        &[],
        Some(&auction.baseline),
    )?;
    Ok((
        DayResult {
            baseline: auction.baseline,
            p2p,
            trades: Vec::new(),
        },
        cr,
    ))
}

/// The community's net cost with the retailer in a case (what leaves the community), plus
/// unserved energy valued at `voll_per_kwh`, $.
pub fn grid_cost(case: &CaseResult, voll_per_kwh: f64) -> f64 {
    case.ledgers
        .iter()
        .flatten()
        .map(|l| l.grid_paid - l.grid_received + l.shed_kwh * voll_per_kwh)
        .sum()
}

/// Builds the community and runs the day.
pub fn run(s: &Scenario) -> Result<(Community, DayResult)> {
    let c = community::build(s)?;
    let r = run_day(&c, s)?;
    Ok((c, r))
}
