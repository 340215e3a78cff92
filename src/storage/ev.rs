//! Electric vehicles: a battery that is plugged in only part of the day, dispatched with the one
//! battery block ([`super::block`]) over its plug-in window ([`super::Window`]).
//!
//! # The model
//!
//! An EV arrives at `arrival_h` with `arrival_soc·E` and leaves at `departure_h` (hours from the
//! study day's midnight; `arrival_h < departure_h ≤ arrival_h + 24`, so 07:30 the next morning is
//! `31.5`). On a one-day study the window **wraps within the day**: the part after midnight is the
//! same day's morning, and the state is periodic — the car leaves with the energy of the trip it
//! then makes (`need_kwh`) on top of what it arrived with, so it comes back with `arrival_soc·E`
//! and the day ends where it started. In block terms: the window's steps, `soc0 = arrival_soc`,
//! end target `arrival_soc·E + need_kwh` (exactly: a hard constraint).
//!
//! **Across days** (a multi-day study, [`crate::study::period`]): nothing wraps; the session that
//! arrives on day `d` leaves on day `d + 1` ([`dispatch_chained`]): its evening is planned with
//! the next day in view, day `d + 1` starts from its SOC at midnight and replans the morning to
//! the same departure target. The period's first morning belongs to a car that arrived the
//! evening before with its arrival state; the last evening's session is planned with the last
//! day standing in for the next, and its SOC at the period's end is the closing state.
//!
//! Charging policy (`--ev-charging`, scenario `ev.charging`):
//!
//! * `uncontrolled`: full charger power from arrival until the need is met (a rule; no optimiser).
//! * `smart`: the owner's cost is minimised within the window (LP: the block with no discharge).
//!   Among schedules of equal cost (a flat tariff, hours the pool cannot serve) the car charges
//!   **as soon as it can**, as a charger does when nothing tells it to wait: every kWh charged
//!   away from the uncontrolled schedule costs [`SOONER_PER_KWH`] (the tie-break of
//!   [`super::Track`]), far below any price difference that moves it. Without it the LP is
//!   degenerate and its schedule an artefact of the solver.
//! * `v2g`: may also discharge, to the home and (P2P case, [`super::Pool`]) to the pool, down to
//!   [`V2G_SOC_MIN`], never charging and discharging at once (MILP over the complementarity pairs,
//!   [`crate::opt::milp`], with its proven gap).
//!
//! When the window cannot hold the need (too short for the charger, or more than the battery can
//! take above its arrival state), the EV takes on what it can — full power from arrival, the most
//! any policy can deliver — and the **shortfall is reported per EV** ([`EvDispatch::shortfall_kwh`]):
//! the car leaves with less than its trip needs (to be charged elsewhere); it is never hidden.
//!
//! Charging losses: `η =` [`EV_ETA`] each way (AC charger and battery), an assumption within the
//! range reported for bidirectional AC chargers.
//!
//! # The fleet a share draws (`--ev-share P`, seeded)
//!
//! No EV data set is in `refdata`; the distributions below are stylised from **published summary
//! statistics** (numbers as published, the shapes are ours):
//!
//! * Daily distance: log-normal, median [`KM_MEDIAN`] km, σ_ln [`KM_SIGMA_LN`] (mean ≈ 36 km), cut
//!   to 2–150 km. A German car runs about 13,600 km a year, ≈ 37 km a day (Kraftfahrt-Bundesamt,
//!   *Verkehr in Kilometern* 2019); in MiD 2017 the median car trip is short (about half of car
//!   trips are under 10 km) with a long tail (infas/DLR, *Mobilität in Deutschland 2017*,
//!   Ergebnisbericht, 2018).
//! * Consumption at the battery [`KWH_PER_KM`] kWh/km (compact BEVs' WLTP 15–18 kWh/100 km);
//!   `need = distance × consumption`, at most what the battery can take above its arrival state.
//! * Capacity: 40, 60 or 80 kWh with equal probability (the usable sizes of the best-selling
//!   compact BEVs, e.g. VW ID.3 45/58/77 kWh, Renault Zoe 52 kWh, Tesla Model 3 57.5/75 kWh).
//! * Home charger: 11 kW (3-phase 16 A, the German wallbox standard that the KfW 440 programme
//!   funded) with probability 0.75, 3.7 kW (1-phase 16 A) otherwise.
//! * Arrival: normal, mean 18:00, σ 1.5 h, cut to 12:00–23:45; departure the next morning: normal,
//!   mean 07:30, σ 1 h, cut to 04:00–11:00 — the evening return and morning departure peaks of the
//!   MiD 2017 time-of-day profile of car trips.
//! * Arrival SOC: uniform 20–60 %.
//!
//! A prosumer standing for `N` households gets one fleet of `N` such cars behaving as one (every
//! energy and power scaled by `N`), as home batteries are.

use super::{
    dispatch_window, scheduled_window, Battery, DayInput, Dispatch, EndRule, MilpSettings, Pool,
    StorageModel, Track, Window,
};
use crate::error::{Error, Location, Result};
use crate::util::rng::unit;
use serde::{Deserialize, Serialize};

/// Charging policy of every EV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum EvCharging {
    /// Full power from arrival until the need is met.
    #[default]
    Uncontrolled,
    /// Least cost for the owner within the plug-in window (LP).
    Smart,
    /// Smart, and may discharge to the home and the pool (MILP).
    V2g,
}

/// Charge and discharge efficiency of an EV (charger and battery), each way.
pub const EV_ETA: f64 = 0.92;
/// Tie-break of smart charging towards the uncontrolled schedule, $/kWh away from it
/// (see the module docs): a hundredth of a cent, below any tariff step or pool spread.
pub const SOONER_PER_KWH: f64 = 1e-4;
/// Lowest SOC a V2G discharge may leave, fraction of capacity.
pub const V2G_SOC_MIN: f64 = 0.2;
/// Median daily distance, km.
pub const KM_MEDIAN: f64 = 30.0;
/// σ of the log of the daily distance.
pub const KM_SIGMA_LN: f64 = 0.6;
/// Consumption at the battery, kWh/km.
pub const KWH_PER_KM: f64 = 0.17;

/// One EV (or a prosumer's fleet behaving as one).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ev {
    /// The prosumer (household) whose meter it charges behind.
    pub prosumer: usize,
    /// Usable battery capacity, kWh.
    pub capacity_kwh: f64,
    /// Charger power (charge and, with V2G, discharge), kW.
    pub charger_kw: f64,
    /// Arrival, hours from the study day's midnight, in [0, 24).
    pub arrival_h: f64,
    /// Departure, hours from the study day's midnight, in (arrival_h, arrival_h + 24].
    pub departure_h: f64,
    /// Energy to take on before departure (the next trip's), kWh at the battery.
    pub need_kwh: f64,
    /// SOC at arrival, fraction of capacity.
    pub arrival_soc: f64,
}

impl Ev {
    /// Checks the parameters; `loc` names the source (file and `ev.fleet[k]`).
    pub fn validate(&self, loc: &Location) -> Result<()> {
        let f = |name: &str| {
            let base = loc.field.clone().unwrap_or_default();
            let mut l = loc.clone();
            l.field = Some(if base.is_empty() {
                name.to_string()
            } else {
                format!("{base}.{name}")
            });
            l
        };
        let check = |ok: bool, name: &str, v: f64, req: &'static str| -> Result<()> {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(Error::OutOfRange {
                    loc: f(name),
                    value: v,
                    requirement: req,
                })
            }
        };
        check(
            self.capacity_kwh > 0.0,
            "capacity_kwh",
            self.capacity_kwh,
            "> 0",
        )?;
        check(
            self.charger_kw >= 0.0,
            "charger_kw",
            self.charger_kw,
            ">= 0 (a power cannot be negative)",
        )?;
        check(
            (0.0..24.0).contains(&self.arrival_h),
            "arrival_h",
            self.arrival_h,
            "in [0, 24): within the study day",
        )?;
        check(
            self.departure_h > self.arrival_h,
            "departure_h",
            self.departure_h,
            "> arrival_h (departure before arrival; the next morning is 24 + h)",
        )?;
        check(
            self.departure_h <= self.arrival_h + 24.0,
            "departure_h",
            self.departure_h,
            "<= arrival_h + 24: the window must fit in one day",
        )?;
        check(
            (0.0..=1.0).contains(&self.arrival_soc),
            "arrival_soc",
            self.arrival_soc,
            "in [0, 1]",
        )?;
        check(self.need_kwh >= 0.0, "need_kwh", self.need_kwh, ">= 0")?;
        check(
            self.need_kwh <= self.capacity_kwh * (1.0 - self.arrival_soc) + 1e-9,
            "need_kwh",
            self.need_kwh,
            "<= capacity_kwh × (1 − arrival_soc): the battery cannot hold it",
        )?;
        Ok(())
    }

    /// The plug-in window in a day of `step_minutes` steps: from the step boundary nearest the
    /// arrival to the one nearest the departure.
    pub fn window(&self, step_minutes: u32) -> Window {
        let per_h = 60.0 / step_minutes as f64;
        let n = (1440 / step_minutes) as usize;
        let a = (self.arrival_h * per_h).round() as usize;
        let d = (self.departure_h * per_h).round() as usize;
        Window {
            start: a % n,
            len: d.saturating_sub(a).min(n),
        }
    }

    /// The battery the block dispatches under `policy`.
    pub fn battery(&self, policy: EvCharging) -> Battery {
        let v2g = policy == EvCharging::V2g;
        Battery {
            e_kwh: self.capacity_kwh,
            p_charge_kw: self.charger_kw,
            p_discharge_kw: if v2g { self.charger_kw } else { 0.0 },
            eta_charge: EV_ETA,
            eta_discharge: EV_ETA,
            soc_min: if v2g {
                V2G_SOC_MIN.min(self.arrival_soc)
            } else {
                self.arrival_soc
            },
            soc_max: 1.0,
            soc0: self.arrival_soc,
            end_rule: EndRule::ReturnToInitial,
            start_kwh: None,
        }
    }
}

/// A seeded normal draw (Box–Muller) from two uniform streams.
fn normal(seed: u64, agent: usize, stream: u64) -> f64 {
    let u1 = unit(seed, 1, agent, stream).max(1e-12);
    let u2 = unit(seed, 2, agent, stream);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The EV of prosumer `prosumer` standing for `households` households, drawn from the
/// distributions of the module docs by `seed`.
pub fn draw(prosumer: usize, households: u32, seed: u64) -> Ev {
    const S: u64 = crate::util::rng::stream::EV_DRAW;
    let u = |k: u64| unit(seed, 0, prosumer, S + k);
    let cap = [40.0, 60.0, 80.0][((u(0) * 3.0) as usize).min(2)];
    let charger = if u(1) < 0.75 { 11.0 } else { 3.7 };
    let arrival_h = (18.0 + 1.5 * normal(seed, prosumer, S + 2)).clamp(12.0, 23.75);
    let departure_h = 24.0 + (7.5 + normal(seed, prosumer, S + 3)).clamp(4.0, 11.0);
    let arrival_soc = 0.2 + 0.4 * u(4);
    let km = (KM_MEDIAN.ln() + KM_SIGMA_LN * normal(seed, prosumer, S + 5))
        .exp()
        .clamp(2.0, 150.0);
    let k = households.max(1) as f64;
    let need = (km * KWH_PER_KM).min(cap * (1.0 - arrival_soc));
    Ev {
        prosumer,
        capacity_kwh: cap * k,
        charger_kw: charger * k,
        arrival_h,
        departure_h,
        need_kwh: need * k,
        arrival_soc,
    }
}

/// One departure of an EV in a multi-day study ([`dispatch_chained`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvSession {
    /// The step (of the dispatch's series) at which it leaves: the first step unplugged.
    pub departure_step: usize,
    /// Energy the session must take on above the arrival state, kWh.
    pub need_kwh: f64,
    /// SOC at departure − SOC at arrival, kWh.
    pub delivered_kwh: f64,
    /// `need − delivered` when the window could not hold the need (0 otherwise), kWh.
    pub shortfall_kwh: f64,
}

/// An EV's day (or, appended, a period's days).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvDispatch {
    /// The EV.
    pub ev: Ev,
    /// Its plug-in window (in every day).
    pub window: Window,
    /// Steps of a day: the window repeats every `day_steps` steps.
    pub day_steps: usize,
    /// Energy to take on, kWh (a period: the sum over its departures).
    pub need_kwh: f64,
    /// Energy taken on (SOC at departure − SOC at arrival), kWh.
    pub delivered_kwh: f64,
    /// `need − delivered` when the window cannot hold the need (0 otherwise), kWh.
    pub shortfall_kwh: f64,
    /// Charge, discharge and SOC per step of the day (the block's dispatch).
    pub dispatch: Dispatch,
    /// Every departure of a multi-day study, in order ([`dispatch_chained`]); empty in a
    /// single-day study (one periodic session).
    pub sessions: Vec<EvSession>,
    /// Whether it is plugged in, per step of the series (each day's own window: a period's
    /// days may differ in length and clock).
    pub plugged_steps: Vec<bool>,
}

/// Whether each of a day's `n` steps is in the window `w`.
fn plugged_in(w: Window, n: usize) -> Vec<bool> {
    (0..n).map(|t| w.contains(t, n)).collect()
}

impl EvDispatch {
    /// Whether it is plugged in at step `t`.
    pub fn plugged(&self, t: usize) -> bool {
        self.plugged_steps.get(t).copied().unwrap_or(false)
    }
    /// Whether a plug-in session starts at step `t`: plugged in then and not in the step
    /// before, or (a window of a whole day) at the step a session left.
    pub fn arrives(&self, t: usize) -> bool {
        self.plugged(t)
            && (t == 0
                || !self.plugged(t - 1)
                || self.sessions.iter().any(|x| x.departure_step == t))
    }
    /// Whether its sessions cross midnight into the next day (a multi-day study's day), rather
    /// than wrapping within the day.
    pub fn chained(&self) -> bool {
        !self.sessions.is_empty()
    }
    /// Appends the next day of a multi-day study: series extended, needs, deliveries and
    /// shortfalls summed, the sessions' steps moved on.
    pub fn append(&mut self, next: &EvDispatch) {
        let off = self.dispatch.charge_kw.len();
        self.dispatch.append(&next.dispatch);
        self.need_kwh += next.need_kwh;
        self.delivered_kwh += next.delivered_kwh;
        self.shortfall_kwh += next.shortfall_kwh;
        self.plugged_steps.extend_from_slice(&next.plugged_steps);
        self.sessions
            .extend(next.sessions.iter().map(|x| EvSession {
                departure_step: x.departure_step + off,
                ..*x
            }));
    }
}

/// `need − delivered` when it is more than rounding, else 0.
fn shortfall(need_kwh: f64, delivered_kwh: f64) -> f64 {
    if need_kwh - delivered_kwh > 1e-9 * need_kwh.max(1.0) {
        need_kwh - delivered_kwh
    } else {
        0.0
    }
}

/// How an EV's day is set up under a policy: its window, the battery of the block, the energy
/// it takes on (its need, or the most the window allows), and whether its schedule is a given
/// (uncontrolled, a shortfall, an empty window) rather than an optimiser's choice. The one
/// set-up of [`dispatch`] and of the central optimisation ([`crate::study::central`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setup {
    /// The plug-in window.
    pub window: Window,
    /// The block's battery.
    pub battery: Battery,
    /// Energy to take on, kWh: the need, or the most the window allows (a shortfall).
    pub target_kwh: f64,
    /// Whether the schedule is fixed: full power from arrival ([`Setup::full_power_kw`]).
    pub fixed: bool,
    /// Step length, h.
    pub dt_h: f64,
}

impl Setup {
    /// The set-up of `ev` under `policy` in a day of `step_minutes` steps.
    pub fn of(ev: &Ev, policy: EvCharging, step_minutes: u32) -> Setup {
        let w = ev.window(step_minutes);
        Setup::session(ev, policy, step_minutes, None, ev.need_kwh, w)
    }
    /// The set-up of one plug-in session of `ev`: plugged in over `w` from `start_kwh` (`None`:
    /// the arrival state), to take on `need_kwh` (negative: to give back, V2G only).
    pub fn session(
        ev: &Ev,
        policy: EvCharging,
        step_minutes: u32,
        start_kwh: Option<f64>,
        need_kwh: f64,
        w: Window,
    ) -> Setup {
        let dt = step_minutes as f64 / 60.0;
        let b = Battery {
            start_kwh,
            ..ev.battery(policy)
        };
        // The most any policy can take on: full power from arrival, up to a full battery.
        let most =
            (b.eta_charge * b.p_charge_kw * dt * w.len as f64).min(b.e_kwh - b.start_soc_kwh());
        let target = need_kwh.min(most.max(0.0));
        let short = target < need_kwh - 1e-9;
        Setup {
            window: w,
            battery: b,
            target_kwh: target,
            fixed: policy == EvCharging::Uncontrolled || short || w.len == 0,
            dt_h: dt,
        }
    }
    /// The SOC at departure, kWh (a hard end target).
    pub fn end_kwh(&self) -> f64 {
        self.battery.start_soc_kwh() + self.target_kwh
    }
    /// Full charger power from arrival until the target is met, per window step, kW.
    pub fn full_power_kw(&self) -> Vec<f64> {
        let (b, dt, target) = (&self.battery, self.dt_h, self.target_kwh);
        let mut left = target;
        (0..self.window.len)
            .map(|_| {
                if left <= 1e-12 * target.max(1.0) {
                    return 0.0;
                }
                let c = (left / (b.eta_charge * dt)).min(b.p_charge_kw).max(0.0);
                left -= c * b.eta_charge * dt;
                c
            })
            .collect()
    }
    /// The EV's day from its dispatch `d` on the full day: energy delivered and shortfall.
    pub fn outcome(&self, ev: &Ev, d: Dispatch) -> EvDispatch {
        let b = &self.battery;
        let delivered: f64 = d
            .charge_kw
            .iter()
            .zip(&d.discharge_kw)
            .map(|(c, x)| (b.eta_charge * c - x / b.eta_discharge) * self.dt_h)
            .sum();
        EvDispatch {
            ev: *ev,
            window: self.window,
            day_steps: d.charge_kw.len(),
            need_kwh: ev.need_kwh,
            delivered_kwh: delivered,
            shortfall_kwh: shortfall(ev.need_kwh, delivered),
            plugged_steps: plugged_in(self.window, d.charge_kw.len()),
            dispatch: d,
            sessions: Vec::new(),
        }
    }
}

/// Dispatches one EV under `policy` against its household's day `inp` (full-day vectors: the
/// household's residual load and PV after its other assets), with the P2P `pool` when it sees one.
pub fn dispatch(
    ev: &Ev,
    policy: EvCharging,
    step_minutes: u32,
    inp: &DayInput,
    pool: Option<&Pool>,
    st: &MilpSettings,
) -> EvDispatch {
    let su = Setup::of(ev, policy, step_minutes);
    let d = session(&su, policy, inp, pool, st);
    su.outcome(ev, d)
}

/// The dispatch of one session set up as `su` under `policy` against the day `inp`.
fn session(
    su: &Setup,
    policy: EvCharging,
    inp: &DayInput,
    pool: Option<&Pool>,
    st: &MilpSettings,
) -> Dispatch {
    let n = inp.load_kw.len();
    let (w, b) = (su.window, &su.battery);
    let end = su.end_kwh();
    let mut d = if su.fixed {
        // The rule, or the only schedule that delivers the most the window allows.
        let c = su.full_power_kw();
        let z = vec![0.0; c.len()];
        scheduled_window(b, end, w, inp, pool, c, z)
    } else {
        let model = if policy == EvCharging::V2g {
            StorageModel::Milp
        } else {
            StorageModel::Lp
        };
        // The uncontrolled schedule on the day, as smart charging's tie-break reference (V2G's
        // MILP keeps its plain objective: it has arbitrage to decide, and its gap is proven on it).
        let mut reference_kw = vec![0.0; n];
        for (k, c) in su.full_power_kw().into_iter().enumerate().take(n) {
            reference_kw[w.step(k, n)] = c;
        }
        let track = Track {
            reference_kw: &reference_kw,
            per_kwh: SOONER_PER_KWH,
        };
        let track = (policy == EvCharging::Smart).then_some(&track);
        let d = dispatch_window(b, end, w, inp, pool, track, model, st);
        if d.status.is_ok() {
            d
        } else {
            // An optimisation that did not solve: the rule (which meets the need), status kept.
            let status = d.status;
            let mut r = scheduled_window(b, end, w, inp, pool, su.full_power_kw(), {
                vec![0.0; w.len]
            });
            r.status = status;
            r
        }
    };
    if n == 0 {
        d.soc_kwh.clear();
    }
    d
}

/// An EV's day in a multi-day study (module docs, *Across days*): the morning part of the session
/// plugged in at midnight with `midnight_kwh` (`None`: the first day of the period, the car at
/// its arrival state), replanned on the day `day` to leave with its need; then this evening's
/// session, planned over `horizon` (the day and the next, or the day alone, its morning standing
/// in for the next: the periodic rule), of which the steps up to midnight are kept. `pool_day`
/// and `pool_horizon` are the P2P pool over the day and over the horizon.
#[allow(clippy::too_many_arguments)]
pub fn dispatch_chained(
    ev: &Ev,
    policy: EvCharging,
    step_minutes: u32,
    midnight_kwh: Option<f64>,
    day: &DayInput,
    horizon: &DayInput,
    pool_day: Option<&Pool>,
    pool_horizon: Option<&Pool>,
    st: &MilpSettings,
) -> EvDispatch {
    let n = day.load_kw.len();
    let w = ev.window(step_minutes);
    let morning = (w.start + w.len).saturating_sub(n);
    if morning == 0 || n == 0 {
        // The window ends within the day: nothing crosses midnight, the day is the single day's.
        let mut e = dispatch(ev, policy, step_minutes, day, pool_day, st);
        e.sessions = vec![EvSession {
            departure_step: (w.start + w.len).min(n),
            need_kwh: e.need_kwh,
            delivered_kwh: e.delivered_kwh,
            shortfall_kwh: e.shortfall_kwh,
        }];
        return e;
    }
    let arrival_kwh = ev.arrival_soc * ev.capacity_kwh;
    let start = midnight_kwh.unwrap_or(arrival_kwh);
    let target = arrival_kwh + ev.need_kwh;
    let m = Setup::session(
        ev,
        policy,
        step_minutes,
        Some(start),
        // Leave with exactly the session's need (a V2G car that came in fuller may give back
        // the excess; a car that cannot discharge keeps it).
        if policy == EvCharging::V2g {
            target - start
        } else {
            (target - start).max(0.0)
        },
        Window {
            start: 0,
            len: morning,
        },
    );
    let m = session(&m, policy, day, pool_day, st);
    let e = session(
        &Setup::of(ev, policy, step_minutes),
        policy,
        horizon,
        pool_horizon,
        st,
    );
    let mut d = m.clone();
    for t in w.start..n {
        d.charge_kw[t] = e.charge_kw[t];
        d.discharge_kw[t] = e.discharge_kw[t];
        d.soc_kwh[t] = e.soc_kwh[t];
        d.curtail_kw[t] = e.curtail_kw[t];
    }
    if d.status.is_ok() && !e.status.is_ok() {
        d.status = e.status;
    }
    d.nodes += e.nodes;
    d.gap = d.gap.max(e.gap);
    let d = d.first_steps(day, pool_day);
    let delivered = m.soc_kwh[morning - 1] - arrival_kwh;
    let short = shortfall(ev.need_kwh, delivered);
    EvDispatch {
        ev: *ev,
        window: w,
        day_steps: n,
        need_kwh: ev.need_kwh,
        delivered_kwh: delivered,
        shortfall_kwh: short,
        plugged_steps: plugged_in(w, n),
        dispatch: d,
        sessions: vec![EvSession {
            departure_step: morning,
            need_kwh: ev.need_kwh,
            delivered_kwh: delivered,
            shortfall_kwh: short,
        }],
    }
}
