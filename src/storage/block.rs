//! The one battery constraint block, used by every problem that holds a battery (a battery's own
//! dispatch, [`super::dispatch`]; the central optimisation of the whole community).
//!
//! ```text
//!   soc_t = soc_{t−1} + η_c·c_t·Δt − d_t·Δt/η_d,          soc_{−1} = soc0·E (or the carried SOC)
//!   soc_min·E + m ≤ soc_t ≤ soc_max·E − m,   0 ≤ c_t ≤ P_c,   0 ≤ d_t ≤ P_d
//!   end of day: soc_T = soc0·E (return), ≥ soc0·E (at least), or free
//!   cost: w·(c_t + d_t)·Δt   (w = [`WEAR_PER_KWH`], a tie-break: never burn energy for nothing)
//! ```
//!
//! The margin `m` (1e-7·E) keeps the SOC a hair inside its window so that the polished chain
//! ([`polish`]: recomputed from the rounded powers) stays within it. The pairs `(c_t, d_t)` are
//! the complementarity pairs of [`crate::opt::milp`]: no simultaneous charge and discharge.
//!
//! # Assets that are present only part of the day, or end elsewhere
//!
//! The same block holds every energy-shifting asset of the crate ([`super::ev`],
//! [`super::shiftable`]): an asset present over a window of steps is this block over those steps
//! only (the caller maps them, see [`super::Window`]), and one whose day must end at another
//! energy than it started with (an EV that must take on its trip's energy; a shiftable load that
//! must consume exactly its energy) gives the end-of-day target `end_kwh` explicitly
//! ([`add_to`], [`polish_to`]); [`add`] and [`polish`] are the home battery's case
//! `end_kwh = soc0·E`. The SOC window always contains the start and the target.

use super::{Battery, EndRule};
use crate::opt::{Problem, Sense, Tag, VarId};

/// Tie-breaking wear cost on charge and discharge energy, $/kWh (excluded from reported costs).
pub const WEAR_PER_KWH: f64 = 1e-5;

/// A battery's variables in a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct BatteryVars {
    /// Charge power per step, kW.
    pub charge: Vec<VarId>,
    /// Discharge power per step, kW.
    pub discharge: Vec<VarId>,
    /// SOC at the end of each step, kWh.
    pub soc: Vec<VarId>,
}

impl BatteryVars {
    /// The complementarity pairs `(charge_t, discharge_t)`.
    pub fn pairs(&self) -> impl Iterator<Item = (VarId, VarId)> + '_ {
        self.charge
            .iter()
            .copied()
            .zip(self.discharge.iter().copied())
    }
}

/// Adds battery `b` (index `id`, for tags) over `n` steps of `dt_h` hours.
pub fn add(p: &mut Problem, b: &Battery, id: usize, n: usize, dt_h: f64) -> BatteryVars {
    add_to(p, b, id, n, dt_h, b.end_target_kwh())
}

/// [`add`] with the end-of-day rule measured against `end_kwh` instead of `soc0·E` (see the
/// module docs).
pub fn add_to(
    p: &mut Problem,
    b: &Battery,
    id: usize,
    n: usize,
    dt_h: f64,
    end_kwh: f64,
) -> BatteryVars {
    let start = b.start_soc_kwh();
    let (lo, hi) = soc_bounds(b, end_kwh);
    let mut v = BatteryVars {
        charge: Vec::with_capacity(n),
        discharge: Vec::with_capacity(n),
        soc: Vec::with_capacity(n),
    };
    for t in 0..n {
        let c = p.var(
            Tag::at2("c", id, t),
            0.0,
            b.p_charge_kw,
            WEAR_PER_KWH * dt_h,
        );
        let d = p.var(
            Tag::at2("d", id, t),
            0.0,
            b.p_discharge_kw,
            WEAR_PER_KWH * dt_h,
        );
        let s = p.var(Tag::at2("soc", id, t), lo, hi, 0.0);
        let mut terms = vec![
            (s, 1.0),
            (c, -b.eta_charge * dt_h),
            (d, dt_h / b.eta_discharge),
        ];
        let rhs = match v.soc.last() {
            Some(&prev) => {
                terms.push((prev, -1.0));
                0.0
            }
            None => start,
        };
        p.row(Tag::at2("soc", id, t), Sense::Eq, terms, rhs);
        v.charge.push(c);
        v.discharge.push(d);
        v.soc.push(s);
    }
    if let Some(&last) = v.soc.last() {
        match b.end_rule {
            EndRule::ReturnToInitial => {
                p.row(
                    Tag::at("end soc", id),
                    Sense::Eq,
                    vec![(last, 1.0)],
                    end_kwh,
                );
            }
            EndRule::AtLeastInitial => {
                p.row(
                    Tag::at("end soc", id),
                    Sense::Le,
                    vec![(last, -1.0)],
                    -end_kwh,
                );
            }
            EndRule::Free => {}
        }
    }
    v
}

/// The SOC window the block enforces, kWh: `[soc_min·E + m, soc_max·E − m]` with the margin
/// `m = 1e-7·max(E, 1)` (module docs), widened to contain the start and the end target.
pub fn soc_bounds(b: &Battery, end_kwh: f64) -> (f64, f64) {
    let e = b.e_kwh;
    let m = 1e-7 * e.max(1.0);
    let start = b.start_soc_kwh();
    let lo = (b.soc_min * e + m).min(start).min(end_kwh);
    let hi = (b.soc_max * e - m).max(lo).max(start).max(end_kwh);
    (lo, hi)
}

/// Adds the tracking cost of [`super::Track`] on charge variable `c` of step `t`:
/// `u_t ≥ |c_t − ref_t|` at `per_kwh·Δt` per kW, so the asset moves away from its reference
/// `ref_t` only when that pays more than `per_kwh` per kWh.
pub fn add_track(p: &mut Problem, t: usize, c: VarId, ref_kw: f64, per_kwh: f64, dt_h: f64) {
    let u = p.var(Tag::at("dev", t), 0.0, f64::INFINITY, per_kwh * dt_h);
    p.row(
        Tag::at("dev+", t),
        Sense::Le,
        vec![(c, 1.0), (u, -1.0)],
        ref_kw,
    );
    p.row(
        Tag::at("dev-", t),
        Sense::Le,
        vec![(c, -1.0), (u, -1.0)],
        -ref_kw,
    );
}

/// Makes an interior-point answer exact for battery `b`: powers clamped to their limits, the SOC
/// chain recomputed from them, and the end-of-day rule met exactly (the last steps absorb the
/// residual). Returns the SOC per step.
pub fn polish(b: &Battery, dt_h: f64, charge_kw: &mut [f64], discharge_kw: &mut [f64]) -> Vec<f64> {
    polish_to(b, dt_h, charge_kw, discharge_kw, b.end_target_kwh())
}

/// [`polish`] against the end target `end_kwh`. The residual is absorbed from the last step
/// backwards, in each step first by the side that made it (less charge when there is too much
/// energy, less discharge when there is too little), then by the other side within its power
/// limit, so the powers stay within their limits and the end energy is met to rounding.
pub fn polish_to(
    b: &Battery,
    dt_h: f64,
    charge_kw: &mut [f64],
    discharge_kw: &mut [f64],
    end_kwh: f64,
) -> Vec<f64> {
    let n = charge_kw.len();
    for t in 0..n {
        charge_kw[t] = charge_kw[t].clamp(0.0, b.p_charge_kw);
        discharge_kw[t] = discharge_kw[t].clamp(0.0, b.p_discharge_kw);
    }
    let chain = |c: &[f64], d: &[f64]| -> Vec<f64> {
        let mut soc = b.start_soc_kwh();
        c.iter()
            .zip(d)
            .map(|(c, d)| {
                soc += b.eta_charge * c * dt_h - d * dt_h / b.eta_discharge;
                soc
            })
            .collect()
    };
    let mut soc = chain(charge_kw, discharge_kw);
    if n == 0 {
        return soc;
    }
    let err = soc[n - 1] - end_kwh;
    let fix = matches!(b.end_rule, EndRule::ReturnToInitial)
        || (b.end_rule == EndRule::AtLeastInitial && err < 0.0);
    let dust = 1e-12 * end_kwh.abs().max(1.0);
    if fix && err.abs() <= dust {
        if b.end_rule == EndRule::ReturnToInitial {
            soc[n - 1] = end_kwh;
        }
    } else if fix {
        let (ec, ed) = (b.eta_charge * dt_h, dt_h / b.eta_discharge);
        let mut rest = err.abs();
        // From the last step backwards: undo the side that made the residual, then use the
        // other side (after the first is at zero, so never both at once).
        for t in (0..n).rev() {
            for pass in 0..2 {
                if rest <= dust {
                    break;
                }
                let (ct, dtk) = (charge_kw[t], discharge_kw[t]);
                let (x, per_kw, room) = match (err > 0.0, pass) {
                    (true, 0) => (&mut charge_kw[t], ec, ct),
                    (true, _) => (&mut discharge_kw[t], ed, b.p_discharge_kw - dtk),
                    (false, 0) => (&mut discharge_kw[t], ed, dtk),
                    (false, _) => (&mut charge_kw[t], ec, b.p_charge_kw - ct),
                };
                if per_kw <= 0.0 || room <= 0.0 {
                    continue;
                }
                let dx = (rest / per_kw).min(room);
                if pass == 0 {
                    *x -= dx;
                } else {
                    *x += dx;
                }
                rest -= dx * per_kw;
            }
        }
        soc = chain(charge_kw, discharge_kw);
        if b.end_rule == EndRule::ReturnToInitial && rest <= dust {
            soc[n - 1] = end_kwh;
        }
    }
    soc
}

/// Zeroes the smaller side of every step that still charges and discharges at once (interior
/// point dust below the MILP's tolerance, after the search removed every real overlap).
pub fn separate(charge_kw: &mut [f64], discharge_kw: &mut [f64]) {
    for (c, d) in charge_kw.iter_mut().zip(discharge_kw.iter_mut()) {
        if *c > 0.0 && *d > 0.0 {
            if *c >= *d {
                *d = 0.0;
            } else {
                *c = 0.0;
            }
        }
    }
}
