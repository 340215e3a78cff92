//! Storage: battery models and their dispatch over a day.
//!
//! * [`block`] — the one battery constraint block (SOC chain, window, power limits, end-of-day
//!   rule, wear tie-break, polishing) used by every problem holding a battery.
//! * [`dispatch`] — one battery against its owner's prices: `lp` (the relaxation, which may charge
//!   and discharge at once under negative export prices — reported), `milp` (no simultaneous
//!   charge and discharge: solved exactly by a dynamic programme over the SOC when every step's
//!   cost is convex in the SOC change, [`dp`], otherwise by structure with a proven gap,
//!   [`crate::opt::milp`]) and
//!   `greedy` (charge on surplus, discharge on deficit: a reference, not an optimiser).
//! * [`ev`] — electric vehicles: the block over each EV's plug-in window ([`Window`],
//!   [`dispatch_window`]), ending at its arrival energy plus the trip's need; uncontrolled, smart
//!   (LP) or V2G (MILP).
//! * [`shiftable`] — shiftable loads: the block as a charge-only battery from 0 to the shiftable
//!   energy, with a discomfort cost for moving it ([`Track`]).
//! * [`curtailable`] — curtailable loads: a part of a flexible household's load dropped at a
//!   discomfort cost when the price it faces exceeds it (closed form, per step).
//!
//! One battery model: every asset that moves energy in time is the block of [`block`].
//!
//! # One battery's day
//!
//! ```text
//!   imp_t + pool_in_t − exp_t − pool_out_t = load_t − pv_t + curt_t + c_t − d_t,   0 ≤ curt_t ≤ pv_t
//!   minimise Σ_t Δt (π_imp,t·imp_t − π_exp,t·exp_t + π_pool,t·(pool_in_t − pool_out_t)) + wear
//!   with the battery block (SOC chain, window, end rule), pool_in_t ≤ surplus_t, pool_out_t ≤ deficit_t
//! ```
//!
//! The optional **pool** is what the P2P market can actually absorb or supply in each step (the
//! community's residual surplus and deficit) at the internal price; beyond it, energy costs retail
//! and earns feed-in. That is the marginal price a battery owner really faces in a P2P community
//! (`--settlement coupled`, and the community battery in the P2P case).

pub mod block;
pub mod curtailable;
pub mod dp;
pub mod ev;
pub mod shiftable;

pub use crate::opt::milp::Settings as MilpSettings;
pub use block::WEAR_PER_KWH;

use crate::opt::{self, milp, Problem, Sense, Status, Tag};
use serde::{Deserialize, Serialize};

/// How storage is dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StorageModel {
    /// No storage dispatch.
    None,
    /// Linear relaxation (may charge and discharge at once; reported).
    Lp,
    /// Mixed-integer: no simultaneous charge and discharge, optimality proven or gap reported.
    Milp,
    /// Rule-based: charge on surplus, discharge on deficit (a reference, not an optimiser).
    Greedy,
}

/// End-of-day state-of-charge rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndRule {
    /// Return exactly to the initial SOC.
    ReturnToInitial,
    /// End at least at the initial SOC.
    AtLeastInitial,
    /// No rule.
    Free,
}

/// A battery's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Battery {
    /// Energy capacity, kWh.
    pub e_kwh: f64,
    /// Charge power limit, kW.
    pub p_charge_kw: f64,
    /// Discharge power limit, kW.
    pub p_discharge_kw: f64,
    /// Charge efficiency.
    pub eta_charge: f64,
    /// Discharge efficiency.
    pub eta_discharge: f64,
    /// Lowest SOC, fraction of capacity.
    pub soc_min: f64,
    /// Highest SOC, fraction of capacity.
    pub soc_max: f64,
    /// Initial SOC, fraction of capacity.
    pub soc0: f64,
    /// End-of-day rule.
    pub end_rule: EndRule,
    /// SOC at the start of the day, kWh, when it is carried over from the previous day of a
    /// multi-day study ([`crate::study::period`]); `None`: `soc0 · e_kwh`. The end rule still
    /// targets `soc0 · e_kwh`. Set by the study, never by a scenario.
    #[serde(skip)]
    pub start_kwh: Option<f64>,
}

impl Default for Battery {
    fn default() -> Self {
        Battery {
            e_kwh: 10.0,
            p_charge_kw: 5.0,
            p_discharge_kw: 5.0,
            eta_charge: 0.95,
            eta_discharge: 0.95,
            soc_min: 0.1,
            soc_max: 0.9,
            soc0: 0.5,
            end_rule: EndRule::ReturnToInitial,
            start_kwh: None,
        }
    }
}

impl Battery {
    /// The community (VPP) battery of the seed: 50 kWh, 10 kW both ways, SOC0 50 %.
    pub fn community() -> Battery {
        Battery {
            e_kwh: 50.0,
            p_charge_kw: 10.0,
            p_discharge_kw: 10.0,
            ..Battery::default()
        }
    }

    /// SOC at the start of the day, kWh: the carried state of a multi-day study, or `soc0 · E`.
    pub fn start_soc_kwh(&self) -> f64 {
        self.start_kwh.unwrap_or(self.soc0 * self.e_kwh)
    }

    /// The SOC the end rule targets, kWh: `soc0 · E`.
    pub fn end_target_kwh(&self) -> f64 {
        self.soc0 * self.e_kwh
    }

    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let b = self;
        let ok = |c: bool, f: &str| {
            if c {
                Ok(())
            } else {
                Err(format!("battery.{f} is out of range"))
            }
        };
        ok(b.e_kwh.is_finite() && b.e_kwh >= 0.0, "e_kwh (>= 0)")?;
        ok(
            b.p_charge_kw.is_finite() && b.p_charge_kw >= 0.0,
            "p_charge_kw (>= 0)",
        )?;
        ok(
            b.p_discharge_kw.is_finite() && b.p_discharge_kw >= 0.0,
            "p_discharge_kw (>= 0)",
        )?;
        ok(
            b.eta_charge > 0.0 && b.eta_charge <= 1.0,
            "eta_charge (0, 1]",
        )?;
        ok(
            b.eta_discharge > 0.0 && b.eta_discharge <= 1.0,
            "eta_discharge (0, 1]",
        )?;
        ok(
            (0.0..=1.0).contains(&b.soc_min) && b.soc_min <= b.soc_max && b.soc_max <= 1.0,
            "soc_min/soc_max (0 ≤ min ≤ max ≤ 1)",
        )?;
        ok(
            b.soc0 >= b.soc_min && b.soc0 <= b.soc_max,
            "soc0 (within [soc_min, soc_max])",
        )?;
        Ok(())
    }
}

/// A day to dispatch one battery in.
#[derive(Debug, Clone)]
pub struct DayInput<'a> {
    /// Step length, h.
    pub dt_h: f64,
    /// Load per step, kW.
    pub load_kw: &'a [f64],
    /// PV per step, kW.
    pub pv_kw: &'a [f64],
    /// Import price per step, $/kWh.
    pub import_per_kwh: &'a [f64],
    /// Export price per step, $/kWh (may be negative).
    pub export_per_kwh: &'a [f64],
    /// Whether PV may be curtailed.
    pub allow_curtailment: bool,
}

/// What the P2P pool can take or give in each step, at its price.
#[derive(Debug, Clone, Copy)]
pub struct Pool<'a> {
    /// Internal price per step, $/kWh (within [feed-in, retail]).
    pub price_per_kwh: &'a [f64],
    /// Most the battery's owner can buy from the pool per step, kW (the others' surplus).
    pub import_cap_kw: &'a [f64],
    /// Most it can sell into the pool per step, kW (the others' deficit).
    pub export_cap_kw: &'a [f64],
    /// The network charge a buyer expects to pay per kWh bought from the pool, per step, $/kWh
    /// (charges are the buyer's, [`crate::clearing::charges`]); empty: none.
    pub buy_charge_per_kwh: &'a [f64],
}

impl Pool<'_> {
    /// What a kWh bought from the pool costs in step `t`: the price plus the expected charge.
    pub fn buy_per_kwh(&self, t: usize) -> f64 {
        self.price_per_kwh[t] + self.buy_charge_per_kwh.get(t).copied().unwrap_or(0.0)
    }
}

/// How the dispatch was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The LP relaxation (storage model `lp`).
    Lp,
    /// The LP relaxation had no simultaneous steps: proven optimal for the MILP.
    LpExact,
    /// Fixing the smaller of charge/discharge met the LP bound: proven optimal.
    FixSmaller,
    /// Branch and bound.
    BranchAndBound,
    /// The exact dynamic programme over the SOC ([`dp`]): proven optimal, no LP solved.
    Dp,
    /// Rule-based.
    Greedy,
}

impl From<milp::Method> for Method {
    fn from(m: milp::Method) -> Method {
        match m {
            milp::Method::LpExact => Method::LpExact,
            milp::Method::FixSmaller => Method::FixSmaller,
            milp::Method::BranchAndBound => Method::BranchAndBound,
        }
    }
}

/// A day's dispatch of one battery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// Outcome of the last solve.
    pub status: Status,
    /// How it was found.
    pub method: Method,
    /// Charge power per step, kW.
    pub charge_kw: Vec<f64>,
    /// Discharge power per step, kW.
    pub discharge_kw: Vec<f64>,
    /// SOC at the end of each step, kWh.
    pub soc_kwh: Vec<f64>,
    /// Import per step, kW.
    pub import_kw: Vec<f64>,
    /// Export per step, kW.
    pub export_kw: Vec<f64>,
    /// PV curtailed per step, kW.
    pub curtail_kw: Vec<f64>,
    /// Energy cost of the day (imports minus exports at the prices it saw), $.
    pub cost: f64,
    /// The optimised objective: energy cost plus the tie-breaking wear cost, $.
    pub objective: f64,
    /// Proven lower bound on the optimal MILP objective, $ (NaN for greedy).
    pub lower_bound: f64,
    /// Relative gap (objective − bound)/max(|objective|, 1e-9); 0 when proven optimal.
    pub gap: f64,
    /// Steps in which the LP relaxation charged and discharged at once.
    pub lp_simultaneous_steps: usize,
    /// LPs solved.
    pub nodes: usize,
}

impl Dispatch {
    /// The first `inp.load_kw.len()` steps of a dispatch planned over a longer horizon (a day of
    /// a multi-day study planned with the next day in view, [`crate::study::period`]): powers,
    /// curtailment and SOC cut there, import, export, cost and objective recomputed for those
    /// steps from `inp` (the same day's inputs, cut to the same steps). The gap stays the
    /// horizon problem's; the bound, which was on the horizon's objective, becomes NaN.
    pub fn first_steps(&self, inp: &DayInput, pool: Option<&Pool>) -> Dispatch {
        let n = inp.load_kw.len().min(self.charge_kw.len());
        let cut = |v: &[f64]| v[..n].to_vec();
        let mut d = Dispatch {
            charge_kw: cut(&self.charge_kw),
            discharge_kw: cut(&self.discharge_kw),
            soc_kwh: cut(&self.soc_kwh),
            import_kw: vec![0.0; n],
            export_kw: vec![0.0; n],
            curtail_kw: cut(&self.curtail_kw),
            lower_bound: f64::NAN,
            ..self.clone()
        };
        if self.status.is_ok() {
            settle_dispatch(inp, pool, None, &mut d);
            if self.method == Method::Greedy {
                d.objective = d.cost;
            }
        }
        d
    }

    /// Appends the next day's dispatch (a multi-day study's whole period): every series
    /// extended, costs, objectives, bounds and counts summed, the worst status and gap kept,
    /// the method of the hardest day (branch and bound over fixing over an exact LP).
    pub fn append(&mut self, next: &Dispatch) {
        self.charge_kw.extend_from_slice(&next.charge_kw);
        self.discharge_kw.extend_from_slice(&next.discharge_kw);
        self.soc_kwh.extend_from_slice(&next.soc_kwh);
        self.import_kw.extend_from_slice(&next.import_kw);
        self.export_kw.extend_from_slice(&next.export_kw);
        self.curtail_kw.extend_from_slice(&next.curtail_kw);
        self.cost += next.cost;
        self.objective += next.objective;
        self.lower_bound += next.lower_bound;
        self.lp_simultaneous_steps += next.lp_simultaneous_steps;
        self.nodes += next.nodes;
        if self.status.is_ok() && !next.status.is_ok() {
            self.status = next.status;
        }
        if !(self.gap >= next.gap) {
            self.gap = next.gap;
        }
        let rank = |m: Method| match m {
            Method::Dp => 0,
            Method::LpExact => 1,
            Method::FixSmaller => 2,
            Method::BranchAndBound => 3,
            Method::Lp | Method::Greedy => 4,
        };
        if rank(next.method) > rank(self.method) {
            self.method = next.method;
        }
    }
}

/// Dispatches one battery over the day against its owner's prices.
pub fn dispatch(
    b: &Battery,
    inp: &DayInput,
    model: StorageModel,
    settings: &MilpSettings,
) -> Dispatch {
    dispatch_in(b, inp, None, model, settings)
}

/// [`dispatch`] with a P2P pool (see the module docs).
pub fn dispatch_in(
    b: &Battery,
    inp: &DayInput,
    pool: Option<&Pool>,
    model: StorageModel,
    st: &MilpSettings,
) -> Dispatch {
    match model {
        StorageModel::Greedy | StorageModel::None => greedy(b, inp, pool),
        _ => dispatch_to(b, b.end_target_kwh(), inp, pool, None, model, st),
    }
}

/// A tie-breaking preference for a reference charge profile: `|charge_t − reference_t|` costs
/// `per_kwh` (a shiftable load's discomfort of moving energy, [`shiftable`]).
#[derive(Debug, Clone, Copy)]
pub struct Track<'a> {
    /// Reference charge power per step, kW.
    pub reference_kw: &'a [f64],
    /// Cost of each kWh away from it, $/kWh.
    pub per_kwh: f64,
}

/// The steps an asset is present in: `len` steps from `start`, wrapping past the end of the day
/// to its beginning (an EV that arrives in the evening and leaves in the morning; on a one-day
/// study the morning is the same day's, the state at the end of the day being the state at its
/// start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First step.
    pub start: usize,
    /// Number of steps (1 ..= the day's).
    pub len: usize,
}

impl Window {
    /// The day's step of the window's `k`-th step in a day of `n` steps.
    pub fn step(&self, k: usize, n: usize) -> usize {
        (self.start + k) % n
    }
    /// Whether day step `t` is in the window (a day of `n` steps).
    pub fn contains(&self, t: usize, n: usize) -> bool {
        (t + n - self.start % n) % n < self.len
    }
}

/// One battery-like asset present only in `w`, starting at `b.soc0·E` at the window's start and
/// ending at `end_kwh` at its end (`b.end_rule` applies to that target), against the day `inp`
/// (full-day vectors: the household's residual load and PV). `model` is `lp` or `milp`
/// (`greedy`/`none` are not optimisers here and solve as `lp`). Outside the window the asset is
/// idle: charge, discharge and curtailment 0, the SOC held at the window's last value (and at the
/// start value before the window in a window that does not wrap).
#[allow(clippy::too_many_arguments)]
pub fn dispatch_window(
    b: &Battery,
    end_kwh: f64,
    w: Window,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
    model: StorageModel,
    st: &MilpSettings,
) -> Dispatch {
    let n = inp.load_kw.len();
    let len = w.len.min(n);
    let pick = |v: &[f64]| -> Vec<f64> { (0..len).map(|k| v[w.step(k, n)]).collect() };
    let (load, pv, imp, exp) = (
        pick(inp.load_kw),
        pick(inp.pv_kw),
        pick(inp.import_per_kwh),
        pick(inp.export_per_kwh),
    );
    let wi = DayInput {
        dt_h: inp.dt_h,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &imp,
        export_per_kwh: &exp,
        allow_curtailment: inp.allow_curtailment,
    };
    let pool_v = pool.map(|pl| {
        let charge: Vec<f64> = (0..n)
            .map(|t| pl.buy_per_kwh(t) - pl.price_per_kwh[t])
            .collect();
        (
            pick(pl.price_per_kwh),
            pick(pl.import_cap_kw),
            pick(pl.export_cap_kw),
            pick(&charge),
        )
    });
    let wpool = pool_v.as_ref().map(|(a, b, c, d)| Pool {
        price_per_kwh: a,
        import_cap_kw: b,
        export_cap_kw: c,
        buy_charge_per_kwh: d,
    });
    let track_v = track.map(|t| pick(t.reference_kw));
    let wtrack = track.zip(track_v.as_ref()).map(|(t, r)| Track {
        reference_kw: r,
        per_kwh: t.per_kwh,
    });
    let model = match model {
        StorageModel::Milp => StorageModel::Milp,
        _ => StorageModel::Lp,
    };
    let dw = dispatch_to(b, end_kwh, &wi, wpool.as_ref(), wtrack.as_ref(), model, st);
    spread(b, w, inp, pool, track, dw)
}

/// A given schedule of an asset present in `w` (a rule, not an optimiser: an uncontrolled EV),
/// polished to its end target exactly like an optimised one, on the full day.
pub fn scheduled_window(
    b: &Battery,
    end_kwh: f64,
    w: Window,
    inp: &DayInput,
    pool: Option<&Pool>,
    mut charge_kw: Vec<f64>,
    mut discharge_kw: Vec<f64>,
) -> Dispatch {
    let n = inp.load_kw.len();
    let soc_kwh = block::polish_to(b, inp.dt_h, &mut charge_kw, &mut discharge_kw, end_kwh);
    let len = charge_kw.len();
    let dw = Dispatch {
        status: Status::Solved,
        method: Method::Greedy,
        charge_kw,
        discharge_kw,
        soc_kwh,
        import_kw: vec![0.0; len],
        export_kw: vec![0.0; len],
        curtail_kw: vec![0.0; len],
        cost: 0.0,
        objective: 0.0,
        lower_bound: f64::NAN,
        gap: 0.0,
        lp_simultaneous_steps: 0,
        nodes: 0,
    };
    debug_assert!(w.len.min(n) == len);
    spread(b, w, inp, pool, None, dw)
}

/// A window's dispatch on the full day (see [`dispatch_window`]), settled against the full day.
fn spread(
    b: &Battery,
    w: Window,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
    dw: Dispatch,
) -> Dispatch {
    let n = inp.load_kw.len();
    let len = dw.charge_kw.len();
    let mut d = Dispatch {
        charge_kw: vec![0.0; n],
        discharge_kw: vec![0.0; n],
        soc_kwh: vec![b.start_soc_kwh(); n],
        import_kw: vec![0.0; n],
        export_kw: vec![0.0; n],
        curtail_kw: vec![0.0; n],
        ..dw.clone()
    };
    for k in 0..len {
        let t = w.step(k, n);
        d.charge_kw[t] = dw.charge_kw[k];
        d.discharge_kw[t] = dw.discharge_kw[k];
        d.curtail_kw[t] = dw.curtail_kw[k];
        d.soc_kwh[t] = dw.soc_kwh[k];
    }
    // Idle after the window: the SOC it ended with (until the window starts again).
    let last = dw.soc_kwh.last().copied().unwrap_or(b.start_soc_kwh());
    for k in len..n {
        let t = w.step(k, n);
        d.soc_kwh[t] = last;
    }
    if w.start + len <= n {
        // A window that does not wrap: before it, the asset holds its start value.
        for t in 0..w.start {
            d.soc_kwh[t] = b.start_soc_kwh();
        }
    }
    let ok = dw.status.is_ok();
    let (objective, lower_bound, gap) = (dw.objective, dw.lower_bound, dw.gap);
    settle_dispatch(inp, pool, track, &mut d);
    if ok && d.method != Method::Greedy {
        // The window's bound is the day's up to the fixed cost outside the window.
        d.lower_bound = lower_bound + (d.objective - objective);
        d.gap = gap;
    }
    if !ok {
        d.status = dw.status;
    }
    d
}

/// The LP/MILP dispatch of one battery ending at `end_kwh` (see [`dispatch_window`]).
#[allow(clippy::too_many_arguments)]
fn dispatch_to(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
    model: StorageModel,
    st: &MilpSettings,
) -> Dispatch {
    match model {
        StorageModel::Greedy | StorageModel::None => greedy(b, inp, pool),
        // The MILP, and the LP of an asset that cannot discharge (no complementarity: the two
        // coincide), by the exact DP where its precondition holds ([`dp`]). Where the DP stands
        // in for a solver it did not serve before (the LP; a tracked reference), it must find
        // the optimum unique — then every exact method returns the same schedule, and ties keep
        // the interior point's centre of the optimal face.
        StorageModel::Milp | StorageModel::Lp
            if st.dp && (model == StorageModel::Milp || b.p_discharge_kw == 0.0) =>
        {
            let unique_only = model == StorageModel::Lp || track.is_some();
            match dispatch_dp(b, end_kwh, inp, pool, track, unique_only) {
                Some(d) => d,
                None => dispatch_to(
                    b,
                    end_kwh,
                    inp,
                    pool,
                    track,
                    model,
                    &MilpSettings { dp: false, ..*st },
                ),
            }
        }
        StorageModel::Lp | StorageModel::Milp => {
            let (p, v) = build(b, end_kwh, inp, pool, track);
            let pairs: Vec<_> = v.battery.pairs().collect();
            let (sol, method, lb, lp_sim, nodes) = if model == StorageModel::Lp {
                let sol = opt::clarabel::solve(&p, &st.lp);
                let sim = pairs
                    .iter()
                    .filter(|(c, d)| sol.x[*c] > st.tol && sol.x[*d] > st.tol)
                    .count();
                let lb = sol.objective;
                (sol, Method::Lp, lb, sim, 1)
            } else {
                let o = milp::solve(&p, &pairs, st);
                (
                    o.solution,
                    o.method.into(),
                    o.lower_bound,
                    o.lp_violations,
                    o.nodes,
                )
            };
            let mut d = finish(
                b,
                end_kwh,
                inp,
                (pool, track),
                &v,
                &sol,
                model == StorageModel::Milp,
            );
            d.method = method;
            d.lp_simultaneous_steps = lp_sim;
            d.nodes = nodes;
            if d.status.is_ok() {
                d.lower_bound = lb.min(d.objective);
                d.gap = milp::rel_gap(d.objective, d.lower_bound);
            } else {
                d.lower_bound = f64::NAN;
                d.gap = f64::INFINITY;
            }
            d
        }
    }
}

/// The [`dp`] dispatch, polished and settled like the LP's; `None` when a precondition fails,
/// when `unique_only` and the optimum is not unique,
/// or the settled objective misses the DP's value by more than 1e-9 relative (then the caller
/// solves the LP, or the MILP by branch and bound).
fn dispatch_dp(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
    unique_only: bool,
) -> Option<Dispatch> {
    let plan = dp::solve(b, end_kwh, inp, pool, track)?;
    if unique_only && !plan.unique {
        return None;
    }
    let mut d = exact(
        b,
        end_kwh,
        inp,
        (pool, track),
        (plan.charge_kw, plan.discharge_kw, plan.curtail_kw),
        Status::Solved,
    );
    if !(d.objective - plan.objective)
        .abs()
        .le(&(1e-9 * plan.objective.abs().max(1.0)))
    {
        return None;
    }
    d.method = Method::Dp;
    d.lower_bound = d.objective;
    d.gap = 0.0;
    d.nodes = 0;
    Some(d)
}

struct Vars {
    battery: block::BatteryVars,
    curt: Vec<opt::VarId>,
}

fn build(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    pool: Option<&Pool>,
    track: Option<&Track>,
) -> (Problem, Vars) {
    let n = inp.load_kw.len();
    let dt = inp.dt_h;
    let mut p = Problem::default();
    let battery = block::add_to(&mut p, b, 0, n, dt, end_kwh);
    let mut curt = Vec::with_capacity(n);
    for t in 0..n {
        if let Some(tr) = track {
            block::add_track(
                &mut p,
                t,
                battery.charge[t],
                tr.reference_kw[t],
                tr.per_kwh,
                dt,
            );
        }
        let imp = p.var(
            Tag::at("imp", t),
            0.0,
            f64::INFINITY,
            inp.import_per_kwh[t] * dt,
        );
        let exp = p.var(
            Tag::at("exp", t),
            0.0,
            f64::INFINITY,
            -inp.export_per_kwh[t] * dt,
        );
        let cu_ub = if inp.allow_curtailment {
            inp.pv_kw[t].max(0.0)
        } else {
            0.0
        };
        let cu = p.var(Tag::at("curt", t), 0.0, cu_ub, 0.0);
        // imp − exp − curt − c + d (+ pool_in − pool_out) = load − pv
        let mut terms = vec![
            (imp, 1.0),
            (exp, -1.0),
            (cu, -1.0),
            (battery.charge[t], -1.0),
            (battery.discharge[t], 1.0),
        ];
        if let Some(pl) = pool {
            let price = pl.price_per_kwh[t] * dt;
            let pin = p.var(
                Tag::at("pool_in", t),
                0.0,
                pl.import_cap_kw[t].max(0.0),
                pl.buy_per_kwh(t) * dt,
            );
            let pout = p.var(
                Tag::at("pool_out", t),
                0.0,
                pl.export_cap_kw[t].max(0.0),
                -price,
            );
            terms.push((pin, 1.0));
            terms.push((pout, -1.0));
        }
        p.row(
            Tag::at("balance", t),
            Sense::Eq,
            terms,
            inp.load_kw[t] - inp.pv_kw[t],
        );
        curt.push(cu);
    }
    (p, Vars { battery, curt })
}

/// Cost of a net import `r` kW (negative: export) in step `t`, using the pool first where it is
/// the better deal.
pub(crate) fn step_cost(inp: &DayInput, pool: Option<&Pool>, t: usize, r: f64) -> f64 {
    let dt = inp.dt_h;
    let (retail, fit) = (inp.import_per_kwh[t], inp.export_per_kwh[t]);
    match pool {
        Some(pl) => {
            let price = pl.price_per_kwh[t];
            if r >= 0.0 {
                let buy = pl.buy_per_kwh(t);
                let from_pool = if buy < retail {
                    r.min(pl.import_cap_kw[t].max(0.0))
                } else {
                    0.0
                };
                dt * (buy * from_pool + retail * (r - from_pool))
            } else {
                let e = -r;
                let to_pool = if price > fit {
                    e.min(pl.export_cap_kw[t].max(0.0))
                } else {
                    0.0
                };
                -dt * (price * to_pool + fit * (e - to_pool))
            }
        }
        None => dt * (retail * r.max(0.0) - fit * (-r).max(0.0)),
    }
}

/// Turns an LP/MILP solution into an exact dispatch (see [`block::polish_to`]).
fn finish(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    (pool, track): (Option<&Pool>, Option<&Track>),
    v: &Vars,
    sol: &opt::Solution,
    separate: bool,
) -> Dispatch {
    let n = inp.load_kw.len();
    let col = |vs: &[opt::VarId]| -> Vec<f64> { vs.iter().map(|&j| sol.x[j].max(0.0)).collect() };
    let mut charge_kw = col(&v.battery.charge);
    let mut discharge_kw = col(&v.battery.discharge);
    let mut curtail_kw = col(&v.curt);
    let ok = sol.status.is_ok() && charge_kw.iter().chain(&discharge_kw).all(|x| x.is_finite());
    if !ok {
        let z = vec![0.0; n];
        return Dispatch {
            status: if sol.status.is_ok() {
                Status::NumericalError
            } else {
                sol.status
            },
            method: Method::Lp,
            charge_kw: z.clone(),
            discharge_kw: z.clone(),
            soc_kwh: vec![b.start_soc_kwh(); n],
            import_kw: inp
                .load_kw
                .iter()
                .zip(inp.pv_kw)
                .map(|(l, p)| (l - p).max(0.0))
                .collect(),
            export_kw: inp
                .load_kw
                .iter()
                .zip(inp.pv_kw)
                .map(|(l, p)| (p - l).max(0.0))
                .collect(),
            curtail_kw: z,
            cost: f64::NAN,
            objective: f64::NAN,
            lower_bound: f64::NAN,
            gap: f64::INFINITY,
            lp_simultaneous_steps: 0,
            nodes: 0,
        };
    }
    if separate {
        block::separate(&mut charge_kw, &mut discharge_kw);
    }
    for t in 0..n {
        let cu_max = if inp.allow_curtailment {
            inp.pv_kw[t].max(0.0)
        } else {
            0.0
        };
        curtail_kw[t] = curtail_kw[t].clamp(0.0, cu_max);
    }
    let mut d = exact(
        b,
        end_kwh,
        inp,
        (pool, track),
        (charge_kw, discharge_kw, curtail_kw),
        sol.status,
    );
    d.lower_bound = sol.objective;
    d
}

/// A dispatch from its battery and curtailment powers: polished to the end target
/// ([`block::polish_to`]) and settled ([`settle_dispatch`]).
fn exact(
    b: &Battery,
    end_kwh: f64,
    inp: &DayInput,
    (pool, track): (Option<&Pool>, Option<&Track>),
    (mut charge_kw, mut discharge_kw, curtail_kw): (Vec<f64>, Vec<f64>, Vec<f64>),
    status: Status,
) -> Dispatch {
    let n = charge_kw.len();
    let soc_kwh = block::polish_to(b, inp.dt_h, &mut charge_kw, &mut discharge_kw, end_kwh);
    let mut d = Dispatch {
        status,
        method: Method::Lp,
        charge_kw,
        discharge_kw,
        soc_kwh,
        import_kw: vec![0.0; n],
        export_kw: vec![0.0; n],
        curtail_kw,
        cost: 0.0,
        objective: 0.0,
        lower_bound: f64::NAN,
        gap: 0.0,
        lp_simultaneous_steps: 0,
        nodes: 1,
    };
    settle_dispatch(inp, pool, track, &mut d);
    d
}

/// Recomputes import, export and cost of a dispatch from its battery and curtailment powers (the
/// objective adds the wear tie-break and a tracked reference's cost).
fn settle_dispatch(inp: &DayInput, pool: Option<&Pool>, track: Option<&Track>, d: &mut Dispatch) {
    let dt = inp.dt_h;
    d.cost = 0.0;
    let mut wear = 0.0;
    for t in 0..d.charge_kw.len() {
        let mut r =
            inp.load_kw[t] - inp.pv_kw[t] + d.curtail_kw[t] + d.charge_kw[t] - d.discharge_kw[t];
        if r.abs() < 1e-9 {
            r = 0.0; // interior-point dust
        }
        d.import_kw[t] = r.max(0.0);
        d.export_kw[t] = (-r).max(0.0);
        d.cost += step_cost(inp, pool, t, r);
        wear += dt * WEAR_PER_KWH * (d.charge_kw[t] + d.discharge_kw[t]);
        if let Some(tr) = track {
            wear += dt * tr.per_kwh * (d.charge_kw[t] - tr.reference_kw[t]).abs();
        }
    }
    d.objective = d.cost + wear;
}

/// One step of the greedy rule from SOC `soc_kwh` with the owner's net `pv − load` of `net_kw`
/// over `dt_h` hours: a surplus charges the battery up to the power limit and `soc_max`
/// (`soc += η_c·c·Δt`), a deficit is covered by discharge down to `soc_min`
/// (`soc −= d·Δt/η_d`). Returns (charge kW, discharge kW, SOC kWh after the step). The seed
/// community's prosumers apply exactly this rule each step (issue 16).
pub fn greedy_step(b: &Battery, soc_kwh: f64, net_kw: f64, dt_h: f64) -> (f64, f64, f64) {
    let (emin, emax) = (b.soc_min * b.e_kwh, b.soc_max * b.e_kwh);
    let (mut c, mut d, mut soc) = (0.0, 0.0, soc_kwh);
    if net_kw > 0.0 && b.eta_charge > 0.0 {
        c = net_kw
            .min(b.p_charge_kw)
            .min(((emax - soc) / (b.eta_charge * dt_h)).max(0.0));
        soc += b.eta_charge * c * dt_h;
    } else if net_kw < 0.0 {
        d = (-net_kw)
            .min(b.p_discharge_kw)
            .min(((soc - emin) * b.eta_discharge / dt_h).max(0.0));
        soc -= d * dt_h / b.eta_discharge;
    }
    (c, d, soc)
}

/// Rule-based reference: charge from surplus, discharge into deficit, within power and SOC
/// limits; no curtailment. It obeys the same end-of-day rule as the optimisers: whatever SOC the
/// rule leaves short of (or above) the target is made up in the last steps that have the power
/// and SOC room, from (or to) the grid, so its cost compares with theirs.
pub fn greedy(b: &Battery, inp: &DayInput, pool: Option<&Pool>) -> Dispatch {
    let n = inp.load_kw.len();
    let dt = inp.dt_h;
    let mut soc = b.start_soc_kwh();
    let (mut c, mut dis) = (vec![0.0; n], vec![0.0; n]);
    for t in 0..n {
        (c[t], dis[t], soc) = greedy_step(b, soc, inp.pv_kw[t] - inp.load_kw[t], dt);
    }
    end_rule_fixup(b, dt, &mut c, &mut dis);
    let soc_kwh = block::polish(b, dt, &mut c, &mut dis);
    let mut d = Dispatch {
        status: Status::Solved,
        method: Method::Greedy,
        charge_kw: c,
        discharge_kw: dis,
        soc_kwh,
        import_kw: vec![0.0; n],
        export_kw: vec![0.0; n],
        curtail_kw: vec![0.0; n],
        cost: 0.0,
        objective: 0.0,
        lower_bound: f64::NAN,
        gap: f64::NAN,
        lp_simultaneous_steps: 0,
        nodes: 0,
    };
    settle_dispatch(inp, pool, None, &mut d);
    d.objective = d.cost;
    d
}

/// Moves the end-of-day SOC to its target by changing the last steps (backwards): less
/// discharge or more charge to raise it, less charge or more discharge to lower it, never
/// leaving the SOC window at any later step.
fn end_rule_fixup(b: &Battery, dt: f64, c: &mut [f64], d: &mut [f64]) {
    let n = c.len();
    if n == 0 || b.end_rule == EndRule::Free {
        return;
    }
    let (emin, emax) = (b.soc_min * b.e_kwh, b.soc_max * b.e_kwh);
    let target = b.end_target_kwh();
    let socs = |c: &[f64], d: &[f64]| -> Vec<f64> {
        let mut s = b.start_soc_kwh();
        c.iter()
            .zip(d)
            .map(|(c, d)| {
                s += b.eta_charge * c * dt - d * dt / b.eta_discharge;
                s
            })
            .collect()
    };
    for t in (0..n).rev() {
        let s = socs(c, d);
        let err = target - s[n - 1];
        if err.abs() < 1e-12 || (err < 0.0 && b.end_rule == EndRule::AtLeastInitial) {
            return;
        }
        if err > 0.0 {
            let room = emax - s[t..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut want = err.min(room.max(0.0));
            let cut = (want * b.eta_discharge / dt).min(d[t]);
            d[t] -= cut;
            want -= cut * dt / b.eta_discharge;
            if d[t] <= 0.0 {
                let add = (want / (b.eta_charge * dt))
                    .min(b.p_charge_kw - c[t])
                    .max(0.0);
                c[t] += add;
            }
        } else {
            let room = s[t..].iter().copied().fold(f64::INFINITY, f64::min) - emin;
            let mut want = (-err).min(room.max(0.0));
            let cut = (want / (b.eta_charge * dt)).min(c[t]);
            c[t] -= cut;
            want -= cut * b.eta_charge * dt;
            if c[t] <= 0.0 {
                let add = (want * b.eta_discharge / dt)
                    .min(b.p_discharge_kw - d[t])
                    .max(0.0);
                d[t] += add;
            }
        }
    }
}
