//! A study: one scenario run end to end, with every comparison it asks for. This is the one
//! entry point `netclear run` and `netclear sweep` both call ([`run`]); it sequences the stages
//! and writes nothing.
//!
//! ```text
//!   scenario ──▶ community (profiles, placement; no dispatch)          crate::scenario::community
//!            ──▶ storage plan per case (baseline: for itself; P2P: with the market)   plan
//!            ──▶ day loop per step: auction → network correction → allocation → settlement
//!                → one network result per case-step                                 day, network
//!            ──▶ KPIs per case                                                      kpi
//!            ──▶ comparisons: central optimum and greedy reference (central mode),
//!                without storage, battery kinds, the paper's variant (presets)      central, paper
//! ```
//!
//! # The physics
//!
//! P2P trades are *financial*: the energy a buyer "receives" is physically the same electrons as
//! before. Without anything flexible responding to the market, every prosumer's net injection is
//! the same in both cases, so both cases share one correction and one power flow per step, and
//! the output says so. Flexibility that responds to the market (the community battery in the P2P
//! case, `coupled` home batteries, EVs and shiftable loads that see the pool, central clearing)
//! changes the P2P case's physics, and then the network correction and the AC check see the
//! difference.

pub mod central;
mod day;
pub mod kpi;
pub mod network;
pub mod paper;
pub mod paper_step;
pub mod period;
pub mod plan;
pub mod seed_community;
pub mod totals;

use crate::error::{Error, Result};
use crate::market::Trade;
use crate::scenario::community::{self, Community, LoadClass};
use crate::scenario::{ClearingMode, MarketDesign, Preset, Scenario};
use crate::settlement::{self, Account, Rules};
use crate::storage::StorageModel;
use kpi::Kpis;
use network::{BranchPeak, StepNetwork};
use plan::{Carry, Plan};
use serde::Serialize;
use std::sync::Arc;
pub use totals::{Retention, Totals, TradeTotals};

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// No P2P: everything through the retailer.
    Baseline,
    /// P2P trades first, the residual with the retailer.
    P2p,
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
    /// Why part of it was not executed (binding limits), empty if executed in full.
    pub curtailment_reason: String,
    /// Network charge paid by the buyer.
    pub network_charge: f64,
}

/// The network clearing of one step of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepClearing {
    /// The correction's outcome (prices, binding limits, curtailment and shedding).
    pub outcome: crate::clearing::StepOutcome,
    /// Largest |formulation voltage − network-result voltage|, p.u. (AC results of DistFlow
    /// formulations).
    pub vm_error_pu: Option<f64>,
    /// Largest |formulation flow − network-result flow| at the from end, kW.
    pub p_error_kw: Option<f64>,
    /// Load the correction shed, summed over the nodes, kW.
    pub shed_total_kw: f64,
    /// PV the correction curtailed, summed over the nodes, kW.
    pub curtailed_total_kw: f64,
}

impl StepClearing {
    /// The clearing record of an outcome and the step's network result.
    pub fn new(outcome: crate::clearing::StepOutcome, net: &StepNetwork) -> StepClearing {
        let vm_error_pu = match (&outcome.predicted_vm_pu, net.vm_pu.is_empty()) {
            (Some(v), false) => Some(
                v.iter()
                    .zip(&net.vm_pu)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max),
            ),
            _ => None,
        };
        let p_error_kw = (!outcome.predicted_p_kw.is_empty()).then(|| {
            outcome
                .predicted_p_kw
                .iter()
                .zip(&net.p_from_kw)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        });
        StepClearing {
            shed_total_kw: outcome.shed_kw.iter().sum(),
            curtailed_total_kw: outcome.curt_kw.iter().sum(),
            outcome,
            vm_error_pu,
            p_error_kw,
        }
    }

    /// The record without the outcome's per-node, per-branch and per-trade vectors (prices,
    /// curtailment and shedding per node, executed shares, the formulation's predictions), which
    /// only the per-step element tables read: what [`Retention::Totals`] keeps. Status, binding
    /// limits, violations, the sums above and the errors stay.
    pub fn summarised(mut self) -> StepClearing {
        let o = &mut self.outcome;
        for v in [
            &mut o.executed,
            &mut o.curt_kw,
            &mut o.shed_kw,
            &mut o.agent_curt_kw,
            &mut o.agent_shed_kw,
            &mut o.pair_kw,
        ] {
            *v = Vec::new();
        }
        for v in [
            &mut o.lmp_per_kwh,
            &mut o.congestion_per_kwh,
            &mut o.voltage_per_kwh,
            &mut o.losses_per_kwh,
            &mut o.predicted_p_kw,
            &mut o.predicted_q_kvar,
            &mut o.predicted_rated_kva,
        ] {
            *v = Default::default();
        }
        o.predicted_vm_pu = None;
        o.reactive = None;
        self
    }
}

/// An optimisation that did not solve, kept to dump (`--dump-lp`).
#[derive(Debug, Clone)]
pub struct FailedProblem {
    /// `baseline.step12`, `central`, …
    pub label: String,
    /// The problem.
    pub problem: crate::opt::Problem,
}

/// One case's day.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// Which case.
    pub case: Case,
    /// `accounts[t][i]`: prosumer `i` in step `t` (empty under [`Retention::Totals`]).
    pub accounts: Vec<Vec<Account>>,
    /// The sums of the accounts, under either retention.
    pub totals: Totals,
    /// Per step: the one network result.
    pub network: Vec<Arc<StepNetwork>>,
    /// Per branch: the day's peak.
    pub branches: Vec<BranchPeak>,
    /// Network clearing per step (empty without a network model).
    pub clearing: Vec<StepClearing>,
    /// The case's storage plan.
    pub plan: Plan,
    /// Day totals and indicators.
    pub kpis: Kpis,
}

impl CaseResult {
    /// A prosumer's day totals.
    pub fn prosumer_total(&self, i: usize) -> Account {
        self.totals.prosumers.get(i).copied().unwrap_or_default()
    }
    /// Community totals of one step.
    pub fn step_total(&self, t: usize) -> Account {
        self.totals.steps[t]
    }
    /// Whether this case's physics equals `other`'s in every step (the same network results).
    pub fn same_physics(&self, other: &CaseResult) -> bool {
        self.network.len() == other.network.len()
            && self
                .network
                .iter()
                .zip(&other.network)
                .all(|(a, b)| Arc::ptr_eq(a, b) || (!a.summarised && !b.summarised && a == b))
    }
}

/// Both cases of a day.
#[derive(Debug, Clone)]
pub struct DayResult {
    /// No P2P.
    pub baseline: CaseResult,
    /// With P2P.
    pub p2p: CaseResult,
    /// All trades (the P2P case's; empty under [`Retention::Totals`]).
    pub trades: Vec<StepTrade>,
    /// Their sums, under either retention.
    pub trade_totals: TradeTotals,
}

/// The price of decentralisation: the community's cost with the retailer under each way of
/// clearing the same day (load shed counted at VOLL, so that not serving energy is never
/// "cheaper").
#[derive(Debug, Clone, Serialize)]
pub struct Decentralisation {
    /// Central optimum (batteries, pool and network together), $.
    pub central_cost: f64,
    /// Its objective (cost plus the wear tie-break), $.
    pub central_objective: f64,
    /// Proven lower bound on that objective, $.
    pub central_lower_bound: f64,
    /// Relative gap of the central solution.
    pub central_gap: f64,
    /// Decentralised: batteries first, then the auction, then the network correction, $.
    pub auction_cost: f64,
    /// Rule-based batteries (charge on surplus, discharge on deficit, the same end-of-day rule)
    /// and the auction, $.
    pub greedy_cost: f64,
    /// auction − central, $.
    pub price_of_decentralisation: f64,
    /// The same day under each way the flexibility can decide ([`ModeOutcome`]): `central`,
    /// then the decentralised modes `inner` and `price` (`flex.mode`), each the P2P case.
    pub modes: Vec<ModeOutcome>,
}

/// One way of deciding the community's flexibility on the same day, its P2P case: what it
/// costs the community and what physically happened ([`Decentralisation::modes`]).
#[derive(Debug, Clone, Serialize)]
pub struct ModeOutcome {
    /// `central`, `inner` or `price`.
    pub mode: String,
    /// What the community pays the retailer, shed load at VOLL, plus the discomfort of
    /// curtailed flexible load: the welfare the central optimum maximises, $.
    pub welfare_cost: f64,
    /// welfare cost − the central optimum's, $ (0 for `central`).
    pub price_of_decentralisation: f64,
    /// Discomfort of curtailed flexible load, $ (in the welfare cost).
    pub discomfort_cost: f64,
    /// Energy drawn at the slack from the upstream grid, kWh (the network result).
    pub slack_import_kwh: f64,
    /// Energy fed upstream at the slack, kWh.
    pub slack_export_kwh: f64,
    /// Highest import at the slack, kW.
    pub peak_import_kw: f64,
    /// Network losses, kWh.
    pub losses_kwh: f64,
    /// Lowest and highest AC voltage of the day, p.u. (none without the AC check).
    pub ac_vmin_pu: Option<f64>,
    /// Highest AC voltage, p.u.
    pub ac_vmax_pu: Option<f64>,
}

impl ModeOutcome {
    /// The outcome of `case` (a P2P case) under `mode`, its central optimum's welfare cost
    /// `central` (`None`: this is the central case).
    fn of(mode: &str, case: &CaseResult, dt_h: f64, voll: f64, central: Option<f64>) -> Self {
        let k = &case.kpis;
        let welfare_cost = grid_cost(case, voll) + k.flex_discomfort_cost;
        let slack = |sign: f64| -> f64 {
            case.network
                .iter()
                .map(|n| (sign * n.slack_import_kw).max(0.0) * dt_h)
                .sum()
        };
        ModeOutcome {
            mode: mode.to_string(),
            welfare_cost,
            price_of_decentralisation: central.map_or(0.0, |c| welfare_cost - c),
            discomfort_cost: k.flex_discomfort_cost,
            slack_import_kwh: slack(1.0),
            slack_export_kwh: slack(-1.0),
            peak_import_kw: k.peak_import_kw,
            losses_kwh: k.losses_kwh,
            ac_vmin_pu: k.ac_vmin_pu,
            ac_vmax_pu: k.ac_vmax_pu,
        }
    }
}

/// KPIs of another variant of the same day.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// Baseline KPIs.
    pub baseline: Kpis,
    /// P2P KPIs.
    pub p2p: Kpis,
}

/// Battery kinds compared (P2P case): seed 003's three models of storage in one community —
/// individual home batteries, the central community (VPP) battery, and the shared battery —
/// each alone on the same day, and both kinds together when the scenario has them.
#[derive(Debug, Clone, Serialize)]
pub struct BatteryKinds {
    /// The storage model every battery is dispatched with.
    pub model: StorageModel,
    /// Home batteries only: the scenario's, or, when it has none, the shared battery's shares
    /// installed at the members' homes (the same total capacity and power).
    pub individual: Kpis,
    /// The community battery only, operated centrally for the community (the VPP).
    pub community: Kpis,
    /// The same device as a shared battery only: split among the members, each share its
    /// member's ([`crate::scenario::community::SharedBattery`]).
    pub shared: Kpis,
    /// Home batteries and the community battery as the scenario operates it (the study's P2P
    /// case), when it has both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub both: Option<Kpis>,
}

/// The comparisons a scenario asks for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparisons {
    /// Central vs decentralised clearing (`--clearing central`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decentralisation: Option<Decentralisation>,
    /// The same day without any battery, when batteries exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_storage: Option<Variant>,
    /// Home batteries only, the community battery only, the shared battery only, and both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_kinds: Option<BatteryKinds>,
    /// The same comparison with every battery on the greedy rule (`storage.compare_greedy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_kinds_greedy: Option<BatteryKinds>,
    /// The paper's study next to its corrected version (paper presets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paper: Option<paper::Comparison>,
    /// The three market designs on the same day (`--compare-designs`), in
    /// [`MarketDesign::ALL`]'s order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market_designs: Option<Vec<DesignResult>>,
}

/// One market design's P2P case ([`Comparisons::market_designs`]).
#[derive(Debug, Clone, Serialize)]
pub struct DesignResult {
    /// The design.
    pub design: MarketDesign,
    /// Energy the market proposed, kWh.
    pub proposed_kwh: f64,
    /// Gains from trade net of network charges: `Σ (bid − ask)·executed − charges`.
    pub net_trade_surplus: f64,
    /// The P2P case's KPIs (its baseline is the study's).
    pub p2p: Kpis,
}

impl DesignResult {
    /// The record of a day run under `design`.
    pub fn of(design: MarketDesign, day: &DayResult) -> DesignResult {
        let proposed_kwh = day.trade_totals.proposed_kwh;
        let net_trade_surplus = day.trade_totals.net_surplus;
        DesignResult {
            design,
            proposed_kwh,
            net_trade_surplus,
            p2p: day.p2p.kpis.clone(),
        }
    }
}

/// Everything a study produces.
#[derive(Debug, Clone)]
pub struct StudyResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The community.
    pub community: Community,
    /// The day (in central mode, the P2P case is the central optimum).
    pub day: DayResult,
    /// The central optimisation, in central mode.
    pub central: Option<central::CentralResult>,
    /// The comparisons.
    pub comparisons: Comparisons,
    /// Optimisations that did not solve.
    pub failed: Vec<FailedProblem>,
    /// A multi-day study's days, each with its own KPIs and comparisons (empty for one day;
    /// then `day` and `community` are the whole period, [`period`]).
    pub days: Vec<period::DaySummary>,
    /// What `day` kept of its steps ([`totals`]).
    pub retention: Retention,
}

impl StudyResult {
    /// The community and the day.
    pub fn into_day(self) -> (Community, DayResult) {
        (self.community, self.day)
    }
}

/// Runs a study (see the module docs).
pub fn run(s: &Scenario) -> Result<StudyResult> {
    run_with_progress(s, &mut |_, _| {})
}

/// [`run`], calling `progress(step, n_steps)` as the main day advances.
pub fn run_with_progress(
    s: &Scenario,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<StudyResult> {
    run_retaining(s, Retention::Steps, progress)
}

/// [`run_with_progress`], keeping of the main day's steps what `retention` says
/// ([`totals`]): [`Retention::Totals`] gives the same KPIs, `summary.json` and summary files in
/// a fraction of the memory, without the per-step element tables, the report or the ledger. A
/// multi-day study, the central mode and the paper presets (their figures count trades per hour
/// and per buyer) keep the steps whatever is asked.
pub fn run_retaining(
    s: &Scenario,
    retention: Retention,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<StudyResult> {
    s.validate()?;
    if s.seed_community.is_some() {
        // Its own simulation and outputs ([`seed_community::run`]), not a baseline-vs-P2P study.
        return Err(crate::Error::invalid(
            crate::Location::file("scenario").field("seed_community"),
            "the seed community (`--preset community100`) runs with `netclear run`, not as a \
             baseline-vs-P2P study or a sweep point",
        ));
    }
    if s.days.is_some() {
        return period::run(s, progress);
    }
    // An imported file that carries its own date labels the day ([`crate::import`]).
    let dated;
    let s = match community::imported_date(s)? {
        Some(date) => {
            dated = Scenario {
                day: date,
                ..s.clone()
            };
            &dated
        }
        None => s,
    };
    let c = community::build(s)?;
    run_community(s, c, &Carry::default(), retention, progress)
}

/// The study of one built community (one day), its batteries starting from `carry`'s SOC and
/// planned with its look-ahead day ([`plan::plan_horizon`]).
fn run_community(
    s: &Scenario,
    c: Community,
    carry: &Carry,
    retention: Retention,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<StudyResult> {
    let mut failed = Vec::new();
    let (base_plan, p2p_plan) = plans(&c, s, s.storage.model, carry);
    // The central mode compares the auction's day with its own (`grid_cost`, the baseline
    // reused): it keeps the steps.
    // The paper's figures count the trades per hour and per buyer: they need the trades.
    let paper = s.preset.is_some_and(|p| p.is_paper());
    let main = if s.storage.clearing == ClearingMode::Central || paper {
        Retention::Steps
    } else {
        retention
    };
    let auction = day_with(&c, s, (base_plan, p2p_plan), main, progress, &mut failed)?;
    let mut comparisons = Comparisons::default();
    let mut central_result = None;
    let day = if s.storage.clearing == ClearingMode::Central {
        let (cr, problem) = central::solve(&c, s)?;
        if !cr.status.is_ok() {
            if let Some(p) = problem {
                failed.push(FailedProblem {
                    label: "central".into(),
                    problem: p,
                });
            }
            return Err(Error::Numerical(format!(
                "the central optimisation did not solve ({}); rerun with --dump-lp to inspect it",
                cr.status
            )));
        }
        let central_day = central_day(&c, s, &auction.baseline, &cr)?;
        let greedy = side_day(
            &c,
            s,
            StorageModel::Greedy,
            carry,
            Retention::Steps,
            &mut failed,
        )?;
        let voll = s.clearing.voll_per_kwh;
        let auction_cost = grid_cost(&auction.p2p, voll);
        // The decentralised modes of the flexibility on the same day ([`plan::Response`]).
        let dt = c.dt_h();
        let central_outcome = ModeOutcome::of("central", &central_day.p2p, dt, voll, None);
        let mut modes = vec![central_outcome.clone()];
        for (name, mode) in [
            ("inner", crate::scenario::FlexMode::Inner),
            ("price", crate::scenario::FlexMode::Price),
        ] {
            let mut sm = s.clone();
            sm.flex.mode = Some(mode);
            let d = side_day(
                &c,
                &sm,
                sm.storage.model,
                carry,
                Retention::Steps,
                &mut failed,
            )?;
            let w = Some(central_outcome.welfare_cost);
            modes.push(ModeOutcome::of(name, &d.p2p, dt, voll, w));
        }
        comparisons.decentralisation = Some(Decentralisation {
            central_cost: grid_cost(&central_day.p2p, voll),
            central_objective: cr.objective,
            central_lower_bound: cr.lower_bound,
            central_gap: cr.gap,
            auction_cost,
            greedy_cost: grid_cost(&greedy.p2p, voll),
            price_of_decentralisation: auction_cost - grid_cost(&central_day.p2p, voll),
            modes,
        });
        central_result = Some(cr);
        central_day
    } else {
        auction
    };
    let has_storage = c.prosumers.iter().any(|p| p.battery.is_some()) || c.shared.is_some();
    if has_storage {
        let c0 = c.restricted(false, false);
        // The comparisons below read KPIs (and trades) only: totals serve.
        let d0 = side_day(
            &c0,
            s,
            StorageModel::None,
            carry,
            Retention::Totals,
            &mut failed,
        )?;
        comparisons.without_storage = Some(Variant {
            baseline: d0.baseline.kpis,
            p2p: d0.p2p.kpis,
        });
    }
    let has_home = c
        .prosumers
        .iter()
        .any(|p| p.battery.is_some() && p.class != LoadClass::Vpp);
    let has_vpp = c.prosumers.iter().any(|p| p.class == LoadClass::Vpp);
    let has_shared = c.shared.is_some();
    if has_shared || (has_vpp && has_home) {
        let split = s.storage.shared_split;
        // Each kind is a transformation of the built community (the same prosumers, profiles
        // and device), applied to the look-ahead day too.
        let individual = |x: &Community| {
            if has_home {
                x.restricted(true, false)
            } else {
                x.device_as(true, split).shares_at_home()
            }
        };
        let central = |x: &Community| x.device_as(false, split).restricted(false, true);
        let shared = |x: &Community| x.device_as(true, split).restricted(false, true);
        let mut models = vec![s.storage.model];
        if s.storage.compare_greedy && s.storage.model != StorageModel::Greedy {
            models.push(StorageModel::Greedy);
        }
        for model in models {
            let kpis = |f: &dyn Fn(&Community) -> Community,
                        failed: &mut Vec<FailedProblem>|
             -> Result<Kpis> {
                let c2 = f(&c);
                let carry2 = Carry {
                    next: carry.next.as_ref().map(f),
                    ..carry.clone()
                };
                Ok(side_day(&c2, s, model, &carry2, Retention::Totals, failed)?
                    .p2p
                    .kpis)
            };
            let both = match (
                has_home && (has_vpp || has_shared),
                model == s.storage.model,
            ) {
                (false, _) => None,
                (true, true) => Some(day.p2p.kpis.clone()),
                (true, false) => Some(kpis(&|x: &Community| x.clone(), &mut failed)?),
            };
            let k = BatteryKinds {
                model,
                individual: kpis(&individual, &mut failed)?,
                community: kpis(&central, &mut failed)?,
                shared: kpis(&shared, &mut failed)?,
                both,
            };
            if model == s.storage.model {
                comparisons.battery_kinds = Some(k);
            } else {
                comparisons.battery_kinds_greedy = Some(k);
            }
        }
    }
    if let Some(p) = s.preset.filter(|p| p.is_paper()) {
        let paper_variant = if p == Preset::Paper2024 {
            paper::variant("paper2024", &c, &day)
        } else if p == Preset::Paper2024SingleStep {
            paper::variant("paper2024-single-step", &c, &day)
        } else {
            let ps = Scenario {
                network: s.network.clone(),
                ..Scenario::preset(Preset::Paper2024)
            };
            let pc = community::build(&ps)?;
            let pd = side_day(
                &pc,
                &ps,
                ps.storage.model,
                &Carry::default(),
                Retention::Steps,
                &mut failed,
            )?;
            paper::variant("paper2024", &pc, &pd)
        };
        let corrected = (p == Preset::Paper2024Corrected)
            .then(|| paper::variant("paper2024-corrected", &c, &day));
        let single_step = (p == Preset::Paper2024SingleStep)
            .then(|| paper_step::study(s, &c, &day))
            .transpose()?;
        comparisons.paper = Some(paper::Comparison {
            paper: paper_variant,
            corrected,
            single_step,
        });
    }
    if s.market.compare_designs && s.storage.clearing != ClearingMode::Central {
        let mut rows = Vec::with_capacity(MarketDesign::ALL.len());
        for design in MarketDesign::ALL {
            if design == s.market.design {
                rows.push(DesignResult::of(design, &day));
                continue;
            }
            let mut sd = s.clone();
            sd.market.design = design;
            let d = side_day(
                &c,
                &sd,
                sd.storage.model,
                carry,
                Retention::Totals,
                &mut failed,
            )?;
            rows.push(DesignResult::of(design, &d));
        }
        comparisons.market_designs = Some(rows);
    }
    Ok(StudyResult {
        scenario: s.clone(),
        community: c,
        day,
        central: central_result,
        comparisons,
        failed,
        days: Vec::new(),
        retention: main,
    })
}

/// A day run beside the study's main one (a comparison, a variant): both cases' plans under
/// `model` from `carry`, then the day loop, without progress.
fn side_day(
    c: &Community,
    s: &Scenario,
    model: StorageModel,
    carry: &Carry,
    retention: Retention,
    failed: &mut Vec<FailedProblem>,
) -> Result<DayResult> {
    let plans = plans(c, s, model, carry);
    day_with(c, s, plans, retention, &mut |_, _| {}, failed)
}

/// The storage plans of both cases (the P2P plan is the baseline's when nothing in it responds
/// to the market).
fn plans(c: &Community, s: &Scenario, model: StorageModel, carry: &Carry) -> (Plan, Plan) {
    // The P2P case plans differently from the baseline only where something responds
    // differently in it ([`plan::Response`]), or where the community battery serves the pool.
    let (rb, rp) = (
        plan::Response::of(s, Case::Baseline),
        plan::Response::of(s, Case::P2p),
    );
    let has_battery = c.prosumers.iter().any(|p| p.battery.is_some()) || c.shared.is_some();
    let batteries_respond = model != StorageModel::None
        && ((rb.battery != rp.battery && has_battery)
            || c.prosumers
                .iter()
                .any(|p| p.class == LoadClass::Vpp && p.battery.is_some()));
    let flex_responds =
        (rb.ev != rp.ev && !c.evs.is_empty()) || (rb.flex != rp.flex && !c.shiftables.is_empty());
    let base = || plan::plan_horizon(c, carry, s, Case::Baseline, model);
    if !(batteries_respond || flex_responds) {
        // One plan serves both cases: no second thread (starting rayon's pool costs more than a
        // small day, and its idle workers spin).
        let base = base();
        return (base.clone(), base);
    }
    // The two cases' dispatches are independent: solve them side by side.
    rayon::join(base, || plan::plan_horizon(c, carry, s, Case::P2p, model))
}

/// Runs the auction-mode day of a built community with its storage plans (the day loop of
/// [`run`], for tests and benchmarks that build their own community).
pub fn run_day(c: &Community, s: &Scenario) -> Result<DayResult> {
    let carry = Carry::default();
    side_day(
        c,
        s,
        s.storage.model,
        &carry,
        Retention::Steps,
        &mut Vec::new(),
    )
}

fn day_with(
    c: &Community,
    s: &Scenario,
    (base_plan, p2p_plan): (Plan, Plan),
    retention: Retention,
    progress: &mut dyn FnMut(usize, usize),
    failed: &mut Vec<FailedProblem>,
) -> Result<DayResult> {
    let run = day::run(c, s, &base_plan, &p2p_plan, retention, progress)?;
    failed.extend(run.failed);
    let none = TradeTotals::default();
    let baseline = finish(c, Case::Baseline, run.baseline, base_plan, &none, None);
    let p2p = finish(
        c,
        Case::P2p,
        run.p2p,
        p2p_plan,
        &run.trade_totals,
        Some(&baseline),
    );
    Ok(DayResult {
        baseline,
        p2p,
        trades: run.trades,
        trade_totals: run.trade_totals,
    })
}

fn finish(
    c: &Community,
    case: Case,
    d: day::CaseDay,
    plan: Plan,
    trades: &TradeTotals,
    baseline: Option<&CaseResult>,
) -> CaseResult {
    let kpis = kpi::compute(
        &kpi::CaseData {
            c,
            plan: &plan,
            totals: &d.totals,
            network: &d.network,
            clearing: &d.clearing,
            trades,
        },
        baseline.map(|b| (&b.totals, b.network.as_slice())),
    );
    CaseResult {
        case,
        branches: match d.peaks {
            Some(p) => p.finish(),
            None => network::branch_peaks(&c.network, &c.grid, &d.network),
        },
        accounts: d.accounts,
        totals: d.totals,
        network: d.network,
        clearing: d.clearing,
        plan,
        kpis,
    }
}

/// The P2P case of the central mode: the central plan's physical accounts (the one account
/// builder, [`central::accounts`]) settled through the pool, with its network result per step.
fn central_day(
    c: &Community,
    s: &Scenario,
    baseline: &CaseResult,
    cr: &central::CentralResult,
) -> Result<DayResult> {
    let mut solvers = network::Solvers::new(&c.grid, &s.clearing)?;
    let rules = Rules {
        policy: s.retailer.policy,
        daily_fixed_charge: c.daily_fixed_charge,
    };
    let pays: Vec<bool> = c.prosumers.iter().map(|p| p.pays_fixed_charge()).collect();
    let p_int = plan::internal_price(s, &c.retail_per_kwh, &c.feed_in_per_kwh);
    let mut d = day::CaseDay::default();
    let nodes = network::prosumer_nodes(c);
    for t in 0..c.n_steps() {
        let mut acc = central::accounts(c, &cr.plan, &cr.curtail_kw, t);
        let pos = settlement::positions_from_pool(&acc, p_int[t], s.line_eta);
        settlement::settle(
            &mut acc,
            &pos,
            c.retail_per_kwh[t],
            c.feed_in_per_kwh[t],
            &rules,
            t == 0,
            &pays,
        );
        let inj = network::injections_at(c, &nodes, &acc);
        d.network.push(Arc::new(solvers.solve(&c.grid, &inj, None)));
        d.totals.add_step(&acc);
        d.accounts.push(acc);
    }
    let baseline = baseline.clone();
    let none = TradeTotals::default();
    let p2p = finish(c, Case::P2p, d, cr.plan.clone(), &none, Some(&baseline));
    Ok(DayResult {
        baseline,
        p2p,
        trades: Vec::new(),
        trade_totals: none,
    })
}

/// The community's net cost with the retailer in a case (what leaves the community to the
/// retailer), plus unserved energy valued at `voll_per_kwh`, $. Needs the case's steps
/// ([`Retention::Steps`]): the central mode's comparisons keep them.
pub fn grid_cost(case: &CaseResult, voll_per_kwh: f64) -> f64 {
    case.accounts
        .iter()
        .flatten()
        .map(|l| l.grid_paid - l.grid_received + l.shed_kwh * voll_per_kwh)
        .sum()
}
