//! Retailer tariffs: what a prosumer pays for imports and is paid for exports, per step.
//!
//! * `fixed`: constant retail price and feed-in tariff.
//! * `wholesale-pass` (the microgrid/VPP seed's retailer): from a wholesale price `w_t` ($/kWh),
//!   `retail_t = max(w_t + markup, floor)` (defaults 0.08 and 0.10 $/kWh) and
//!   `feed_in_t = min(β·w_t, cap)` (defaults β = 0.8, cap 0.12 $/kWh). Feed-in follows negative
//!   wholesale prices below zero: exporting then costs money.
//! * `time-of-use`: off-peak / shoulder / peak retail prices by hour ([`TimeOfUse`]).
//! * An optional daily fixed charge (the seed's 0.9 $/day) is added to every bill.
//! * A regulator [`Policy`]: a bonus per kWh of local renewable energy consumed and a penalty
//!   per kWh bought from the grid, both booked in the settlement and reported separately.

use serde::{Deserialize, Serialize};

/// Pricing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PricingMode {
    /// Constant prices.
    Fixed,
    /// Wholesale plus markup, with a floor; feed-in a share of wholesale, capped.
    WholesalePass,
    /// Time-of-use retail prices by hour of day (off-peak, shoulder, peak); feed-in from the
    /// fixed tariff.
    TimeOfUse,
}

/// A time-of-use retail tariff: off-peak, shoulder and peak prices by hour of day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeOfUse {
    /// Off-peak price (outside shoulder and peak), $/kWh.
    pub offpeak_per_kwh: f64,
    /// Shoulder price, $/kWh.
    pub shoulder_per_kwh: f64,
    /// Peak price, $/kWh.
    pub peak_per_kwh: f64,
    /// Shoulder hours `[start, end)`.
    pub shoulder_hours: (u32, u32),
    /// Peak hours `[start, end)`.
    pub peak_hours: (u32, u32),
}

impl Default for TimeOfUse {
    fn default() -> Self {
        TimeOfUse {
            offpeak_per_kwh: 0.15,
            shoulder_per_kwh: 0.25,
            peak_per_kwh: 0.40,
            shoulder_hours: (7, 17),
            peak_hours: (17, 22),
        }
    }
}

impl TimeOfUse {
    /// Retail price of each step of a day with `step_minutes` steps.
    pub fn prices(&self, step_minutes: u32) -> Vec<f64> {
        let starts: Vec<u32> = (0..1440 / step_minutes.max(1))
            .map(|t| t * step_minutes)
            .collect();
        self.prices_at(&starts)
    }

    /// Retail price of steps starting at these local times (minutes after midnight): the
    /// periods are local clock hours, also on a day the clocks change.
    pub fn prices_at(&self, local_minutes: &[u32]) -> Vec<f64> {
        local_minutes
            .iter()
            .map(|&m| {
                let h = m / 60;
                let within = |(a, b): (u32, u32)| {
                    if a <= b {
                        h >= a && h < b
                    } else {
                        h >= a || h < b
                    }
                };
                if within(self.peak_hours) {
                    self.peak_per_kwh
                } else if within(self.shoulder_hours) {
                    self.shoulder_per_kwh
                } else {
                    self.offpeak_per_kwh
                }
            })
            .collect()
    }
}

/// A regulator's policy applied in the settlement and shown separately.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Bonus per kWh of local renewable energy consumed (own PV and battery used on site, and
    /// energy received P2P), $/kWh.
    pub local_renewable_bonus_per_kwh: f64,
    /// Penalty per kWh bought from the grid, $/kWh.
    pub grid_purchase_penalty_per_kwh: f64,
}

/// Parameters of the `wholesale-pass` mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WholesalePass {
    /// Added to the wholesale price, $/kWh.
    pub markup_per_kwh: f64,
    /// Lowest retail price, $/kWh.
    pub floor_per_kwh: f64,
    /// Share of the wholesale price paid for exports.
    pub beta_fit: f64,
    /// Highest feed-in tariff, $/kWh.
    pub fit_cap_per_kwh: f64,
}

impl Default for WholesalePass {
    fn default() -> Self {
        WholesalePass {
            markup_per_kwh: 0.08,
            floor_per_kwh: 0.10,
            beta_fit: 0.8,
            fit_cap_per_kwh: 0.12,
        }
    }
}

impl WholesalePass {
    /// Retail and feed-in prices from wholesale prices ($/kWh).
    pub fn prices(&self, wholesale_per_kwh: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let retail = wholesale_per_kwh
            .iter()
            .map(|w| (w + self.markup_per_kwh).max(self.floor_per_kwh))
            .collect();
        let fit = wholesale_per_kwh
            .iter()
            .map(|w| (self.beta_fit * w).min(self.fit_cap_per_kwh))
            .collect();
        (retail, fit)
    }
}
