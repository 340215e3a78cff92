//! Shiftable loads: a part of a household's consumption that may run at another time within a
//! window, its energy conserved exactly — dispatched with the one battery block
//! ([`super::block`]) as a battery that only charges: "charging" is consuming the shiftable
//! energy, the SOC is the energy consumed so far, from 0 at the window's start to exactly the
//! shiftable energy at its end (efficiency 1, no discharge).
//!
//! # The model (`--flex-share P`, `--flex-fraction F`, scenario `[flex]`)
//!
//! * The shiftable part is the fraction `F` of the household's consumption inside the window
//!   `[window_start_h, window_end_h)` (default 07:00–23:00, when people run appliances):
//!   reference `ref_t = F·L_t` in the window, the energy `E = Σ ref_t·Δt`; the rest, `L_t − ref_t`,
//!   is fixed. With the window the whole day, `F` is the share of the daily energy.
//! * Default `F = 0.1`: wet appliances (washing, drying, dishwashing) are roughly a tenth to a
//!   seventh of household electricity in the published German breakdowns (BDEW, HEA), and not all
//!   of it is moved; a setting, not a measurement.
//! * Power: at most `power_kw` per household (default 2 kW, a washing machine's or dishwasher's
//!   heater), and never below the reference's own peak.
//! * Discomfort: moving energy costs [`DISCOMFORT_PER_KWH`] per kWh away from the reference (the
//!   tracking cost of [`super::Track`]), so a load moves only when that pays and stays where it is
//!   under flat prices — small beside the 0.20 $/kWh spread between retail and feed-in.
//!
//! The dispatch minimises the household's cost (retail/feed-in; with the P2P pool in the P2P
//! case when the flexibility sees it) plus the discomfort: an LP, exact after polishing, the
//! energy met to rounding.

use super::{dispatch_window, Battery, DayInput, EndRule, MilpSettings, Pool, StorageModel, Track};
use super::{Dispatch, Window};
use crate::error::{Error, Location, Result};
use serde::Serialize;

/// Cost of each kWh consumed away from the reference profile, $/kWh.
pub const DISCOMFORT_PER_KWH: f64 = 0.005;

/// A household's shiftable load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shiftable {
    /// The prosumer.
    pub prosumer: usize,
    /// The window it may run in.
    pub window: Window,
    /// Its reference (unshifted) consumption per step of the day, kW (0 outside the window).
    pub reference_kw: Vec<f64>,
    /// Energy to consume in the window, kWh.
    pub energy_kwh: f64,
    /// Largest power, kW.
    pub p_max_kw: f64,
}

/// The shiftable-load settings of a scenario, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Fraction of the load in the window that is shiftable.
    pub fraction: f64,
    /// Window start, h from midnight.
    pub window_start_h: f64,
    /// Window end, h from midnight.
    pub window_end_h: f64,
    /// Largest power per household, kW.
    pub power_kw: f64,
}

impl Params {
    /// Checks the parameters; the errors name `section.field`.
    pub fn validate(&self, file: &str, section: &str) -> Result<()> {
        let check = |ok: bool, name: &str, v: f64, req: &'static str| -> Result<()> {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(Error::OutOfRange {
                    loc: Location::file(file).field(format!("{section}.{name}")),
                    value: v,
                    requirement: req,
                })
            }
        };
        check(
            (0.0..=1.0).contains(&self.fraction),
            "fraction",
            self.fraction,
            "in [0, 1]",
        )?;
        check(
            (0.0..24.0).contains(&self.window_start_h),
            "window_start_h",
            self.window_start_h,
            "in [0, 24): within the study day",
        )?;
        check(
            self.window_end_h > self.window_start_h && self.window_end_h <= 24.0,
            "window_end_h",
            self.window_end_h,
            "in (window_start_h, 24]: within the study day",
        )?;
        check(
            self.power_kw >= 0.0,
            "power_kw",
            self.power_kw,
            ">= 0 (a power cannot be negative)",
        )?;
        Ok(())
    }

    /// The window in a day of `step_minutes` steps.
    pub fn window(&self, step_minutes: u32) -> Window {
        let per_h = 60.0 / step_minutes as f64;
        let a = (self.window_start_h * per_h).round() as usize;
        let e = (self.window_end_h * per_h).round() as usize;
        Window {
            start: a,
            len: e.saturating_sub(a),
        }
    }
}

impl Shiftable {
    /// The shiftable part of prosumer `prosumer`'s load `load_kw` (standing for `households`).
    pub fn of(prosumer: usize, households: u32, load_kw: &[f64], p: &Params, step: u32) -> Self {
        let n = load_kw.len();
        let w = p.window(step);
        let dt = step as f64 / 60.0;
        let reference_kw: Vec<f64> = (0..n)
            .map(|t| {
                if w.contains(t, n) {
                    p.fraction * load_kw[t].max(0.0)
                } else {
                    0.0
                }
            })
            .collect();
        let energy_kwh = reference_kw.iter().sum::<f64>() * dt;
        let peak = reference_kw.iter().copied().fold(0.0, f64::max);
        Shiftable {
            prosumer,
            window: w,
            energy_kwh,
            p_max_kw: (p.power_kw * households.max(1) as f64).max(peak),
            reference_kw,
        }
    }

    /// The block's battery: charge-only, efficiency 1, from 0 to the energy.
    pub fn battery(&self) -> Battery {
        Battery {
            e_kwh: self.energy_kwh,
            p_charge_kw: self.p_max_kw,
            p_discharge_kw: 0.0,
            eta_charge: 1.0,
            eta_discharge: 1.0,
            soc_min: 0.0,
            soc_max: 1.0,
            soc0: 0.0,
            end_rule: EndRule::ReturnToInitial,
            start_kwh: None,
        }
    }
}

/// A shiftable load's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShiftDispatch {
    /// The load.
    pub load: Shiftable,
    /// Its consumption per step, kW.
    pub load_kw: Vec<f64>,
    /// Energy consumed at another time than the reference, `Σ max(0, load − ref)·Δt`, kWh.
    pub shifted_kwh: f64,
    /// The block's dispatch (status, method, cost).
    pub dispatch: Dispatch,
}

impl ShiftDispatch {
    /// Appends the next day of a multi-day study (no state crosses midnight: each day's energy
    /// is conserved within the day): reference and consumption extended, energies summed.
    pub fn append(&mut self, next: &ShiftDispatch) {
        self.load
            .reference_kw
            .extend_from_slice(&next.load.reference_kw);
        self.load.energy_kwh += next.load.energy_kwh;
        self.load_kw.extend_from_slice(&next.load_kw);
        self.shifted_kwh += next.shifted_kwh;
        self.dispatch.append(&next.dispatch);
    }
    /// Change of the household's consumption in step `t` against its profile, kW.
    pub fn delta_kw(&self, t: usize) -> f64 {
        self.load_kw[t] - self.load.reference_kw[t]
    }
}

/// Dispatches a shiftable load against its household's day `inp` (the residual load and PV
/// without the shiftable part), with the P2P `pool` when it sees one. A solve that fails keeps
/// the reference (nothing moves).
pub fn dispatch(
    s: &Shiftable,
    inp: &DayInput,
    pool: Option<&Pool>,
    st: &MilpSettings,
) -> ShiftDispatch {
    let dt = inp.dt_h;
    let b = s.battery();
    let track = Track {
        reference_kw: &s.reference_kw,
        per_kwh: DISCOMFORT_PER_KWH,
    };
    let d = dispatch_window(
        &b,
        s.energy_kwh,
        s.window,
        inp,
        pool,
        Some(&track),
        StorageModel::Lp,
        st,
    );
    ShiftDispatch::of(s, d, dt)
}

impl ShiftDispatch {
    /// The load's day from the block's dispatch `d` on the full day (steps of `dt_h` hours): its
    /// consumption is the block's charge; a solve that failed (or nothing to shift) keeps the
    /// reference.
    pub fn of(s: &Shiftable, d: Dispatch, dt_h: f64) -> ShiftDispatch {
        let load_kw = if d.status.is_ok() && s.energy_kwh > 0.0 {
            d.charge_kw.clone()
        } else {
            s.reference_kw.clone()
        };
        let shifted_kwh = load_kw
            .iter()
            .zip(&s.reference_kw)
            .map(|(x, r)| (x - r).max(0.0) * dt_h)
            .sum();
        ShiftDispatch {
            load: s.clone(),
            load_kw,
            shifted_kwh,
            dispatch: d,
        }
    }
}
