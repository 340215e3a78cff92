//! Curtailable loads: a part of a flexible household's consumption that may be **dropped** (not
//! moved: a cooler room, a later shower, a dimmer evening) at a stated discomfort cost.
//!
//! # The model (`--curtail-fraction F`, scenario `[flex] curtail_fraction`, `curtail_cost_per_kwh`)
//!
//! * Every household with flexibility (`--flex-share`, the same households as the shiftable
//!   loads) may drop up to `F` of its consumption in each step, `0 ≤ x_t ≤ F·L_t` (`L_t` its
//!   profile load). Default `F = 0`: dropping load
//!   changes what a household gets, so it is asked for, never assumed.
//! * Each kWh dropped costs `c` = [`CURTAIL_COST_PER_KWH`] (default 0.50 $/kWh) of discomfort: a
//!   **welfare cost, not money** — nobody pays it; it is reported beside the bills
//!   (`flex_discomfort_cost`), never in them. The default is argued, not measured: it must lie
//!   above what a household normally pays for energy, so that the flat default retail tariff
//!   (0.25) never makes anyone sit in the dark, and far below the value of lost load of all of a
//!   household's supply (8.7 $/kWh, Shivakumar et al. 2017, the crate's VOLL), because the part
//!   dropped is the least valued part. Twice the default retail price sits in that range; peak
//!   time-of-use prices (0.40) stay below it, wholesale price spikes can exceed it.
//!
//! # The dispatch (closed form, per step)
//!
//! Dropping is decided after the household's other assets (battery, EV, shiftable load), on its
//! residual net import `r_t`, against the prices it faces for that energy (retail and feed-in;
//! in the P2P case, when the flexibility sees it, the pool first). The household's energy cost
//! `f(r)` is convex and piecewise linear in `r` (feed-in < pool < retail), so
//!
//! ```text
//!   x_t = argmin_{0 ≤ x ≤ F·L_t}  f(r_t − x) + c·x
//! ```
//!
//! is attained at a breakpoint: `0`, `F·L_t`, or where `r_t − x` crosses the pool's import cap,
//! zero or the pool's export cap. Every candidate is evaluated exactly and the least one kept
//! (the smallest `x` among equals: no curtailment when indifferent). So a step drops exactly the
//! energy whose marginal price exceeds `c`, up to the allowed part, and nothing otherwise.

use super::{step_cost, DayInput, Pool};
use serde::Serialize;

/// Default discomfort cost of dropped load, $/kWh (see the module docs).
pub const CURTAIL_COST_PER_KWH: f64 = 0.50;

/// A household's curtailable load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curtailable {
    /// The prosumer.
    pub prosumer: usize,
    /// Most that may be dropped per step, kW (`F·L_t`).
    pub max_kw: Vec<f64>,
    /// Discomfort cost, $/kWh.
    pub cost_per_kwh: f64,
}

impl Curtailable {
    /// The curtailable part of prosumer `prosumer`'s profile load `load_kw`: up to `fraction` of
    /// it in each step, at `cost_per_kwh`.
    pub fn of(prosumer: usize, load_kw: &[f64], fraction: f64, cost_per_kwh: f64) -> Curtailable {
        Curtailable {
            prosumer,
            max_kw: load_kw.iter().map(|x| fraction * x.max(0.0)).collect(),
            cost_per_kwh,
        }
    }
}

/// A curtailable load's day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurtailDispatch {
    /// The load.
    pub load: Curtailable,
    /// Dropped per step, kW.
    pub curtailed_kw: Vec<f64>,
    /// Dropped over the day, kWh.
    pub curtailed_kwh: f64,
    /// The discomfort of it, `c·Σ x_t·Δt` (a welfare cost, not paid).
    pub discomfort_cost: f64,
}

impl CurtailDispatch {
    /// Appends the next day of a multi-day study (no state crosses midnight): series extended,
    /// energy and discomfort summed.
    pub fn append(&mut self, next: &CurtailDispatch) {
        self.load.max_kw.extend_from_slice(&next.load.max_kw);
        self.curtailed_kw.extend_from_slice(&next.curtailed_kw);
        self.curtailed_kwh += next.curtailed_kwh;
        self.discomfort_cost += next.discomfort_cost;
    }
}

/// Decides every step's drop (see the module docs) against the household's residual net import
/// `inp.load_kw − inp.pv_kw` and its prices, with the P2P `pool` when it sees one.
pub fn dispatch(l: &Curtailable, inp: &DayInput, pool: Option<&Pool>) -> CurtailDispatch {
    let n = inp.load_kw.len().min(l.max_kw.len());
    let dt = inp.dt_h;
    let c = l.cost_per_kwh;
    let curtailed_kw: Vec<f64> = (0..n)
        .map(|t| {
            let r = inp.load_kw[t] - inp.pv_kw[t];
            let hi = l.max_kw[t].max(0.0);
            if hi <= 0.0 {
                return 0.0;
            }
            let total = |x: f64| step_cost(inp, pool, t, r - x) + c * x * dt;
            let mut cands = vec![0.0, hi, r];
            if let Some(pl) = pool {
                cands.push(r - pl.import_cap_kw[t].max(0.0));
                cands.push(r + pl.export_cap_kw[t].max(0.0));
            }
            let mut best = (total(0.0), 0.0);
            for x in cands {
                let x = x.clamp(0.0, hi);
                let v = total(x);
                // Strictly better by more than rounding; the smaller x among equals.
                if v < best.0 - 1e-12 * (1.0 + best.0.abs()) || (v <= best.0 && x < best.1) {
                    best = (v, x);
                }
            }
            best.1
        })
        .collect();
    CurtailDispatch::of(l, curtailed_kw, dt)
}

impl CurtailDispatch {
    /// The day of load `l` dropping `curtailed_kw` per step of `dt_h` hours.
    pub fn of(l: &Curtailable, curtailed_kw: Vec<f64>, dt_h: f64) -> CurtailDispatch {
        let curtailed_kwh = curtailed_kw.iter().sum::<f64>() * dt_h;
        CurtailDispatch {
            load: l.clone(),
            curtailed_kwh,
            discomfort_cost: l.cost_per_kwh * curtailed_kwh,
            curtailed_kw,
        }
    }
}
