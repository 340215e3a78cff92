//! Retailer tariffs: what a prosumer pays for imports and is paid for exports, per step.
//!
//! * `fixed`: constant retail price and feed-in tariff.
//! * `wholesale-pass` (the microgrid/VPP seed's retailer): from a wholesale price `w_t` ($/kWh),
//!   `retail_t = max(w_t + markup, floor)` (defaults 0.08 and 0.10 $/kWh) and
//!   `feed_in_t = min(β·w_t, cap)` (defaults β = 0.8, cap 0.12 $/kWh). Feed-in follows negative
//!   wholesale prices below zero: exporting then costs money.
//! * An optional daily fixed charge (default 0.9 $/day) is added to every bill.

use serde::{Deserialize, Serialize};

/// Pricing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PricingMode {
    /// Constant prices.
    Fixed,
    /// Wholesale plus markup, with a floor; feed-in a share of wholesale, capped.
    WholesalePass,
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
