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
    let e = b.e_kwh;
    let m = 1e-7 * e.max(1.0);
    let (lo, hi) = (
        b.soc_min * e + m,
        (b.soc_max * e - m).max(b.soc_min * e + m),
    );
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
            None => b.start_soc_kwh(),
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
                    b.end_target_kwh(),
                );
            }
            EndRule::AtLeastInitial => {
                p.row(
                    Tag::at("end soc", id),
                    Sense::Le,
                    vec![(last, -1.0)],
                    -b.end_target_kwh(),
                );
            }
            EndRule::Free => {}
        }
    }
    v
}

/// Makes an interior-point answer exact for battery `b`: powers clamped to their limits, the SOC
/// chain recomputed from them, and the end-of-day rule met exactly (the last step absorbs the
/// residual). Returns the SOC per step.
pub fn polish(b: &Battery, dt_h: f64, charge_kw: &mut [f64], discharge_kw: &mut [f64]) -> Vec<f64> {
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
    let target = b.end_target_kwh();
    let err = soc[n - 1] - target;
    let fix = matches!(b.end_rule, EndRule::ReturnToInitial)
        || (b.end_rule == EndRule::AtLeastInitial && err < 0.0);
    if fix && err != 0.0 {
        let t = n - 1;
        if err > 0.0 {
            // Too much energy: charge less, or discharge more.
            let cut = (err / (b.eta_charge * dt_h)).min(charge_kw[t]);
            charge_kw[t] -= cut;
            let rest = err - cut * b.eta_charge * dt_h;
            discharge_kw[t] += rest * b.eta_discharge / dt_h;
        } else {
            let need = -err;
            let cut = (need * b.eta_discharge / dt_h).min(discharge_kw[t]);
            discharge_kw[t] -= cut;
            let rest = need - cut * dt_h / b.eta_discharge;
            charge_kw[t] += rest / (b.eta_charge * dt_h);
        }
        soc = chain(charge_kw, discharge_kw);
        if b.end_rule == EndRule::ReturnToInitial {
            soc[n - 1] = target;
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
