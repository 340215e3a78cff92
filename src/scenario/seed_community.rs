//! The seed community's parameters (`[seed_community]`, the `community100` preset; issue 16).
//! Every default is the seed's (`config.py` and `data_generation.py` of the 100-prosumer
//! community simulation); `docs/presets/community100.md` maps each to the seed's name.
//!
//! The simulation that uses them is [`crate::study::seed_community`].

use crate::settlement::regulator::RegulatorSpec;
use serde::{Deserialize, Serialize};

/// How the market fallback's fee is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeeMode {
    /// `forecast ± fee` per kWh, whatever the quantity (the fix the seed's own review asks for).
    #[default]
    Fixed,
    /// `forecast ± fee · q` per kWh for a market trade of `q` kWh (the seed's code: a 3 kWh
    /// purchase at 0.15 pays 0.24 €/kWh).
    QuantityScaled,
}

/// The seed community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeedCommunity {
    /// Number of prosumers (`NUM_PROSUMERS`).
    pub prosumers: usize,
    /// Number of hourly steps (`TIME_STEPS`; hour of day = step mod 24).
    pub steps: usize,
    /// PV sizes drawn uniformly, kW (`PV_CAPACITY`).
    pub pv_kw_choices: Vec<f64>,
    /// Base consumptions drawn uniformly, kWh per hour (`BASE_CONSUMPTION`).
    pub base_load_kwh_choices: Vec<f64>,
    /// Share of prosumers with a battery, 0–1 (`HAS_BATTERY`).
    pub battery_share: f64,
    /// Battery sizes drawn uniformly for those with one, kWh (`BATTERY_CAPACITY`).
    pub battery_kwh_choices: Vec<f64>,
    /// Charge and discharge efficiency, each (`BATTERY_EFFICIENCY`, applied each way).
    pub battery_eta: f64,
    /// Lowest SOC, fraction (`BATTERY_MIN_SOC`).
    pub battery_soc_min: f64,
    /// Highest SOC, fraction (`BATTERY_MAX_SOC`).
    pub battery_soc_max: f64,
    /// SOC at the start, fraction (the seed starts at half capacity).
    pub battery_soc0: f64,
    /// Hourly consumption factors, 24 values (`consumption_patterns`).
    pub load_factors: Vec<f64>,
    /// Random variation of consumption, ± fraction (the seed's 0.85–1.15).
    pub load_variation: f64,
    /// Lowest hourly consumption, kWh.
    pub load_min_kwh: f64,
    /// First hour with PV.
    pub pv_sunrise_h: usize,
    /// First hour without PV again.
    pub pv_sunset_h: usize,
    /// PV system efficiency (inverter, temperature, dust).
    pub pv_system_efficiency: f64,
    /// Weather factor drawn uniformly in `[pv_weather_min, 1]`.
    pub pv_weather_min: f64,
    /// Base price, €/kWh (`BASE_PRICE`).
    pub base_price_per_kwh: f64,
    /// Time-of-day price factors, 24 values (`forecast_price`'s `price_factors`).
    pub price_factors: Vec<f64>,
    /// Forecast uncertainty, ± fraction (the seed's 0.95–1.05).
    pub price_uncertainty: f64,
    /// Market fallback fee, €/kWh (`LOCAL_MARKET_FEE`).
    pub market_fee_per_kwh: f64,
    /// How the fee is charged.
    pub fee_mode: FeeMode,
    /// Smallest imbalance that makes a buyer or seller, kWh (the seed's 0.01).
    pub min_order_kwh: f64,
    /// Excess demand over supply that triggers battery balancing, kWh (`IMBALANCE_THRESHOLD`).
    pub balancing_threshold_kwh: f64,
    /// Share of its available stored energy a battery offers when balancing (the seed's 0.5).
    pub balancing_battery_share: f64,
    /// The regulator.
    pub regulator: RegulatorSpec,
}

impl Default for SeedCommunity {
    fn default() -> Self {
        SeedCommunity {
            prosumers: 100,
            steps: 24,
            pv_kw_choices: vec![2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0],
            base_load_kwh_choices: vec![0.35, 0.45, 0.55, 0.65, 0.75, 0.90, 1.05, 1.20, 1.35, 1.50],
            battery_share: 0.8,
            battery_kwh_choices: vec![5.0, 7.0, 8.0, 10.0, 12.0, 13.0, 15.0, 17.0, 18.0, 20.0],
            battery_eta: 0.95,
            battery_soc_min: 0.10,
            battery_soc_max: 0.95,
            battery_soc0: 0.5,
            load_factors: vec![
                0.4, 0.35, 0.35, 0.35, 0.4, 0.6, 1.1, 1.4, 1.2, 0.9, 0.8, 0.9, 1.0, 0.9, 0.8, 0.8,
                0.9, 1.1, 1.6, 1.9, 1.7, 1.4, 1.0, 0.6,
            ],
            load_variation: 0.15,
            load_min_kwh: 0.25,
            pv_sunrise_h: 6,
            pv_sunset_h: 18,
            pv_system_efficiency: 0.88,
            pv_weather_min: 0.5,
            base_price_per_kwh: 0.15,
            price_factors: vec![
                0.7, 0.6, 0.6, 0.6, 0.7, 0.9, 1.3, 1.5, 1.4, 1.2, 1.1, 1.2, 1.3, 1.1, 1.0, 1.0,
                1.1, 1.2, 1.5, 1.6, 1.5, 1.3, 1.1, 0.9,
            ],
            price_uncertainty: 0.05,
            market_fee_per_kwh: 0.03,
            fee_mode: FeeMode::Fixed,
            min_order_kwh: 0.01,
            balancing_threshold_kwh: 0.05,
            balancing_battery_share: 0.5,
            regulator: RegulatorSpec::default(),
        }
    }
}

impl SeedCommunity {
    /// The first field that is out of range: (field under `seed_community.`, value, rule).
    pub fn check(&self) -> Option<(String, f64, &'static str)> {
        let frac = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        let nonneg = |v: f64| v.is_finite() && (0.0..=super::validate::MAX_SIZE).contains(&v);
        let bad = |f: &str, v: f64, r: &'static str| Some((f.to_string(), v, r));
        if self.prosumers == 0 || self.prosumers > crate::util::limits::MAX_PROSUMERS {
            return bad("prosumers", self.prosumers as f64, "1 to 100000");
        }
        if self.steps == 0 || self.steps > 24 * 3660 {
            return bad("steps", self.steps as f64, "1 to 87840");
        }
        for (f, v) in [
            ("pv_kw_choices", &self.pv_kw_choices),
            ("base_load_kwh_choices", &self.base_load_kwh_choices),
            ("battery_kwh_choices", &self.battery_kwh_choices),
        ] {
            if v.is_empty() {
                return bad(f, f64::NAN, "at least one value");
            }
            if let Some(x) = v.iter().find(|x| !nonneg(**x)) {
                return bad(f, *x, "values >= 0");
            }
        }
        for (f, v) in [
            ("load_factors", &self.load_factors),
            ("price_factors", &self.price_factors),
        ] {
            if v.len() != 24 {
                return bad(f, v.len() as f64, "24 hourly values");
            }
            if let Some(x) = v.iter().find(|x| !nonneg(**x)) {
                return bad(f, *x, "values >= 0");
            }
        }
        for (f, v) in [
            ("battery_share", self.battery_share),
            ("battery_soc_min", self.battery_soc_min),
            ("battery_soc_max", self.battery_soc_max),
            ("battery_soc0", self.battery_soc0),
            ("load_variation", self.load_variation),
            ("pv_system_efficiency", self.pv_system_efficiency),
            ("pv_weather_min", self.pv_weather_min),
            ("price_uncertainty", self.price_uncertainty),
            ("balancing_battery_share", self.balancing_battery_share),
        ] {
            if !frac(v) {
                return bad(f, v, "in [0, 1]");
            }
        }
        if !(self.battery_eta > 0.0 && self.battery_eta <= 1.0) {
            return bad("battery_eta", self.battery_eta, "in (0, 1]");
        }
        if self.battery_soc_min > self.battery_soc_max
            || !(self.battery_soc_min..=self.battery_soc_max).contains(&self.battery_soc0)
        {
            return bad(
                "battery_soc0",
                self.battery_soc0,
                "battery_soc_min <= battery_soc0 <= battery_soc_max",
            );
        }
        if self.pv_sunrise_h >= self.pv_sunset_h || self.pv_sunset_h > 24 {
            return bad(
                "pv_sunset_h",
                self.pv_sunset_h as f64,
                "pv_sunrise_h < pv_sunset_h <= 24",
            );
        }
        for (f, v) in [
            ("load_min_kwh", self.load_min_kwh),
            ("base_price_per_kwh", self.base_price_per_kwh),
            ("market_fee_per_kwh", self.market_fee_per_kwh),
            ("min_order_kwh", self.min_order_kwh),
            ("balancing_threshold_kwh", self.balancing_threshold_kwh),
            (
                "regulator.renewable_bonus_per_kwh",
                self.regulator.renewable_bonus_per_kwh,
            ),
            (
                "regulator.p2p_bonus_per_kwh",
                self.regulator.p2p_bonus_per_kwh,
            ),
            (
                "regulator.market_penalty_per_kwh",
                self.regulator.market_penalty_per_kwh,
            ),
        ] {
            if !nonneg(v) {
                return bad(f, v, ">= 0");
            }
        }
        for (f, v) in [
            (
                "regulator.ban_penalties_above",
                self.regulator.ban_penalties_above,
            ),
            ("regulator.ban_bonus_below", self.regulator.ban_bonus_below),
            (
                "regulator.ban_balance_below",
                self.regulator.ban_balance_below,
            ),
        ] {
            if !v.is_finite() {
                return bad(f, v, "finite");
            }
        }
        None
    }
}
