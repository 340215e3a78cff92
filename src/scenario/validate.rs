//! Validation of a resolved scenario: every field's range, finiteness and calendar, in one place,
//! with errors naming the field — and, through [`Scenario::validate_layers`], the file and line
//! (or the command-line flag) that set it.
//!
//! Why bounds on money and sizes beyond "finite": a daily charge of 1e308 is finite, but a bill
//! summed over prosumers overflows to infinity; a PV size of 1e300 kWp makes every step's energy
//! infinite. Prices and charges are bounded by [`MAX_PRICE`], sizes by [`MAX_SIZE`]: far above any
//! real tariff or installation, low enough that no sum in a study can overflow.

use super::*;

/// Largest absolute price or charge, $ per kWh or per day.
pub const MAX_PRICE: f64 = 1.0e6;

/// Largest PV or battery size per household or prosumer, kWp / kWh / kW.
pub const MAX_SIZE: f64 = 1.0e6;

impl Scenario {
    /// [`Scenario::validate`], with a failing field located in the last layer that set it (its
    /// file and line, or its flag); a field no layer set is reported as the preset's or default's.
    pub fn validate_layers(&self, layers: &[Layer]) -> Result<()> {
        let relocate = |loc: Location| -> Location {
            let Some(field) = loc.field.clone() else {
                return loc;
            };
            // An element of an array (`ev.fleet[0].need_kwh`) is located by its array's key.
            let key = field.split('[').next().unwrap_or(&field).to_string();
            match layers.iter().rev().find(|l| l.sets(&key)) {
                Some(l) if key != field => l.location_of(&key).field(field),
                Some(l) => l.location_of(&field),
                None => Location::file(match self.preset {
                    Some(p) => format!("the preset `{}`", crate::util::serde_name(&p)),
                    None => "the default scenario".to_string(),
                })
                .field(field),
            }
        };
        self.validate().map_err(|e| match e {
            Error::OutOfRange {
                loc,
                value,
                requirement,
            } => Error::OutOfRange {
                loc: relocate(loc),
                value,
                requirement,
            },
            Error::Invalid { loc, msg } => Error::Invalid {
                loc: relocate(loc),
                msg,
            },
            Error::Parse {
                loc,
                value,
                expected,
            } => Error::Parse {
                loc: relocate(loc),
                value,
                expected,
            },
            e => e,
        })
    }

    /// Checks ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let loc = |f: &str| Location::file("scenario").field(f);
        let check = |ok: bool, f: &str, v: f64, req: &'static str| -> Result<()> {
            if ok && v.is_finite() {
                Ok(())
            } else {
                Err(Error::OutOfRange {
                    loc: loc(f),
                    value: v,
                    requirement: req,
                })
            }
        };
        for (f, d) in [
            ("day", &self.day),
            ("retailer.wholesale_day", &self.retailer.wholesale_day),
        ] {
            // `typical` is the day of `time_of_day` profile files (the paper presets).
            if d != "typical" && crate::util::dates::parse(d).is_none() {
                return Err(Error::Parse {
                    loc: loc(f),
                    value: d.clone(),
                    expected: "a calendar date YYYY-MM-DD (or `typical`)",
                });
            }
        }
        if self.seed > i64::MAX as u64 {
            return Err(Error::invalid(
                loc("seed"),
                format!("{} is too large: seeds go up to {}", self.seed, i64::MAX),
            ));
        }
        let price = |v: f64| v.is_finite() && v.abs() <= MAX_PRICE;
        let size = |v: f64| v.is_finite() && (0.0..=MAX_SIZE).contains(&v);
        for (f, v) in [
            ("tariff.retail_per_kwh", self.tariff.retail_per_kwh),
            ("tariff.feed_in_per_kwh", self.tariff.feed_in_per_kwh),
            ("market.bid_per_kwh", self.market.bid_per_kwh),
            ("market.ask_per_kwh", self.market.ask_per_kwh),
            (
                "retailer.time_of_use.offpeak_per_kwh",
                self.retailer.time_of_use.offpeak_per_kwh,
            ),
            (
                "retailer.time_of_use.shoulder_per_kwh",
                self.retailer.time_of_use.shoulder_per_kwh,
            ),
            (
                "retailer.time_of_use.peak_per_kwh",
                self.retailer.time_of_use.peak_per_kwh,
            ),
            (
                "retailer.wholesale_pass.markup_per_kwh",
                self.retailer.wholesale_pass.markup_per_kwh,
            ),
            (
                "retailer.wholesale_pass.floor_per_kwh",
                self.retailer.wholesale_pass.floor_per_kwh,
            ),
            (
                "retailer.wholesale_pass.fit_cap_per_kwh",
                self.retailer.wholesale_pass.fit_cap_per_kwh,
            ),
            ("clearing.voll_per_kwh", self.clearing.voll_per_kwh),
            (
                "clearing.distance_rate_per_kwh_km",
                self.clearing.distance_rate_per_kwh_km,
            ),
            (
                "clearing.uniform_rate_per_kwh",
                self.clearing.uniform_rate_per_kwh,
            ),
        ] {
            check(price(v), f, v, "finite, within ±1e6 $/kWh")?;
        }
        for (f, v) in [
            (
                "retailer.daily_fixed_charge",
                self.retailer.daily_fixed_charge,
            ),
            (
                "retailer.policy.local_renewable_bonus_per_kwh",
                self.retailer.policy.local_renewable_bonus_per_kwh,
            ),
            (
                "retailer.policy.grid_purchase_penalty_per_kwh",
                self.retailer.policy.grid_purchase_penalty_per_kwh,
            ),
        ] {
            check(price(v) && v >= 0.0, f, v, "finite, in [0, 1e6] $")?;
        }
        let wp = &self.retailer.wholesale_pass;
        check(
            wp.beta_fit.is_finite() && (0.0..=10.0).contains(&wp.beta_fit),
            "retailer.wholesale_pass.beta_fit",
            wp.beta_fit,
            "in [0, 10]",
        )?;
        if let Some(cap) = self.market.price_cap_per_kwh {
            check(
                price(cap) && cap >= 0.0,
                "market.price_cap_per_kwh",
                cap,
                "finite, in [0, 1e6] $/kWh",
            )?;
        }
        let tou = &self.retailer.time_of_use;
        for (f, (a, b)) in [
            ("retailer.time_of_use.shoulder_hours", tou.shoulder_hours),
            ("retailer.time_of_use.peak_hours", tou.peak_hours),
        ] {
            if a > 24 || b > 24 {
                return Err(Error::invalid(
                    loc(f),
                    format!("[{a}, {b}) is not a span of hours within 0–24"),
                ));
            }
        }
        check(
            size(self.pv_kwp_per_household),
            "pv_kwp_per_household",
            self.pv_kwp_per_household,
            "finite, in [0, 1e6] kWp",
        )?;
        for (name, b) in [
            ("storage.battery", &self.storage.battery),
            ("storage.vpp_battery", &self.storage.vpp_battery),
        ] {
            for (f, v) in [
                ("e_kwh", b.e_kwh),
                ("p_charge_kw", b.p_charge_kw),
                ("p_discharge_kw", b.p_discharge_kw),
            ] {
                check(size(v), &format!("{name}.{f}"), v, "finite, in [0, 1e6]")?;
            }
        }
        if self.storage.per_prosumer_kwh.len() > crate::util::limits::MAX_PROSUMERS {
            return Err(crate::util::limits::exceeded(
                loc("storage.per_prosumer_kwh"),
                "the number of per-prosumer batteries",
                self.storage.per_prosumer_kwh.len(),
                crate::util::limits::MAX_PROSUMERS,
            ));
        }
        if let Some(v) = self
            .storage
            .per_prosumer_kwh
            .iter()
            .chain(&self.storage.per_prosumer_kw)
            .find(|v| !size(**v))
        {
            return Err(Error::OutOfRange {
                loc: loc("storage.per_prosumer_kwh"),
                value: *v,
                requirement: "finite, in [0, 1e6]",
            });
        }
        check(
            self.household_peak_kw.is_finite() && self.household_peak_kw <= MAX_SIZE,
            "household_peak_kw",
            self.household_peak_kw,
            "finite, in (0, 1e6] kW",
        )?;
        check(
            self.profiles.pv_column_kwp <= MAX_SIZE,
            "profiles.pv_column_kwp",
            self.profiles.pv_column_kwp,
            "in (0, 1e6]",
        )?;
        check(
            (0.0..=100.0).contains(&self.pv_share_percent),
            "pv_share_percent",
            self.pv_share_percent,
            "in [0, 100]",
        )?;
        if self.placement == Placement::PaperLeaves {
            check(
                self.pv_share_percent <= 50.0,
                "pv_share_percent",
                self.pv_share_percent,
                "<= 50 with the paper's placement (PV only on every other leaf bus)",
            )?;
        }
        check(
            self.pv_kwp_per_household >= 0.0,
            "pv_kwp_per_household",
            self.pv_kwp_per_household,
            ">= 0",
        )?;
        check(
            self.household_peak_kw > 0.0,
            "household_peak_kw",
            self.household_peak_kw,
            "> 0",
        )?;
        check(
            self.load_power_factor > 0.0 && self.load_power_factor <= 1.0,
            "load_power_factor",
            self.load_power_factor,
            "in (0, 1]",
        )?;
        check(
            self.profiles.pv_column_kwp > 0.0,
            "profiles.pv_column_kwp",
            self.profiles.pv_column_kwp,
            "> 0",
        )?;
        check(
            valid_step(self.step_minutes),
            "step_minutes",
            self.step_minutes as f64,
            "a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)",
        )?;
        if self.days.is_some() {
            self.dates()?;
            let refuse = |why: &str| {
                Err(Error::invalid(
                    loc("days"),
                    format!("a multi-day study cannot {why}"),
                ))
            };
            if self.preset.is_some() {
                return refuse("start from a preset (the paper studies one typical day)");
            }
            if self.import.is_some() {
                return refuse("use `import` (a workbook holds its own day)");
            }
            if self.storage.clearing == ClearingMode::Central {
                return refuse("use central clearing yet (it optimises one day); use `auction`");
            }
        }
        let t = &self.tariff;
        check(
            t.retail_per_kwh >= t.feed_in_per_kwh,
            "tariff.retail_per_kwh",
            t.retail_per_kwh,
            ">= tariff.feed_in_per_kwh",
        )?;
        check(
            t.feed_in_per_kwh.is_finite(),
            "tariff.feed_in_per_kwh",
            t.feed_in_per_kwh,
            "finite",
        )?;
        check(
            self.market.bid_per_kwh.is_finite(),
            "market.bid_per_kwh",
            self.market.bid_per_kwh,
            "finite",
        )?;
        check(
            self.market.ask_per_kwh.is_finite(),
            "market.ask_per_kwh",
            self.market.ask_per_kwh,
            "finite",
        )?;
        if let Some(sc) = &self.seed_community {
            if let Some((f, v, req)) = sc.check() {
                return Err(Error::OutOfRange {
                    loc: loc(&format!("seed_community.{f}")),
                    value: v,
                    requirement: req,
                });
            }
        } else if self.network == super::NO_NETWORK {
            return Err(Error::invalid(
                loc("network"),
                "`none` (a copper plate) is only for the seed community (`--preset community100`)",
            ));
        }
        check(
            self.market.trade_cap_kwh > 0.0 && self.market.trade_cap_kwh <= MAX_SIZE,
            "market.trade_cap_kwh",
            self.market.trade_cap_kwh,
            "> 0 kWh",
        )?;
        check(
            self.line_eta > 0.0 && self.line_eta <= 1.0,
            "line_eta",
            self.line_eta,
            "in (0, 1]",
        )?;
        check(
            (0.0..=100.0).contains(&self.storage.battery_share_percent),
            "storage.battery_share_percent",
            self.storage.battery_share_percent,
            "in [0, 100]",
        )?;
        if self.storage.per_prosumer_kw.len() != self.storage.per_prosumer_kwh.len()
            || self
                .storage
                .per_prosumer_kwh
                .iter()
                .chain(&self.storage.per_prosumer_kw)
                .any(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(Error::invalid(
                loc("storage.per_prosumer_kwh"),
                "per_prosumer_kwh and per_prosumer_kw need the same length and finite values >= 0",
            ));
        }
        for (name, b) in [
            ("storage.battery", &self.storage.battery),
            ("storage.vpp_battery", &self.storage.vpp_battery),
        ] {
            b.validate().map_err(|m| Error::invalid(loc(name), m))?;
        }
        check(
            self.retailer.daily_fixed_charge >= 0.0,
            "retailer.daily_fixed_charge",
            self.retailer.daily_fixed_charge,
            ">= 0",
        )?;
        let pol = &self.retailer.policy;
        check(
            pol.local_renewable_bonus_per_kwh >= 0.0,
            "retailer.policy.local_renewable_bonus_per_kwh",
            pol.local_renewable_bonus_per_kwh,
            ">= 0",
        )?;
        check(
            pol.grid_purchase_penalty_per_kwh >= 0.0,
            "retailer.policy.grid_purchase_penalty_per_kwh",
            pol.grid_purchase_penalty_per_kwh,
            ">= 0",
        )?;
        let cl = &self.clearing;
        check(
            cl.vmin_pu >= 0.0 && cl.vmin_pu < cl.vmax_pu,
            "clearing.vmin_pu",
            cl.vmin_pu,
            ">= 0 and < clearing.vmax_pu",
        )?;
        check(cl.vmax_pu > 0.0, "clearing.vmax_pu", cl.vmax_pu, "> 0")?;
        check(
            cl.voll_per_kwh >= 0.0,
            "clearing.voll_per_kwh",
            cl.voll_per_kwh,
            ">= 0",
        )?;
        check(
            cl.ac_feedback_rounds <= 10,
            "clearing.ac_feedback_rounds",
            cl.ac_feedback_rounds as f64,
            "<= 10",
        )?;
        check(
            cl.distance_rate_per_kwh_km >= 0.0,
            "clearing.distance_rate_per_kwh_km",
            cl.distance_rate_per_kwh_km,
            ">= 0",
        )?;
        check(
            cl.uniform_rate_per_kwh >= 0.0,
            "clearing.uniform_rate_per_kwh",
            cl.uniform_rate_per_kwh,
            ">= 0",
        )?;
        check(
            (0.0..=100.0).contains(&self.ev.share_percent),
            "ev.share_percent",
            self.ev.share_percent,
            "in [0, 100]",
        )?;
        for (k, ev) in self.ev.fleet.iter().enumerate() {
            ev.validate(&loc(&format!("ev.fleet[{k}]")))?;
        }
        check(
            (0.0..=100.0).contains(&self.flex.share_percent),
            "flex.share_percent",
            self.flex.share_percent,
            "in [0, 100]",
        )?;
        self.flex.params().validate("scenario", "flex")?;
        check(
            (0.0..=1.0).contains(&self.flex.curtail_fraction),
            "flex.curtail_fraction",
            self.flex.curtail_fraction,
            "in [0, 1]",
        )?;
        check(
            self.flex.curtail_cost_per_kwh >= 0.0 && self.flex.curtail_cost_per_kwh.is_finite(),
            "flex.curtail_cost_per_kwh",
            self.flex.curtail_cost_per_kwh,
            ">= 0 (a discomfort is a cost)",
        )?;
        if cl.model == crate::clearing::NetworkModel::None
            && cl.network_charges == crate::clearing::ChargeRule::Dlmp
        {
            return Err(Error::invalid(
                loc("clearing.network_charges"),
                "dlmp charges need nodal prices: choose a network model (dc, lindistflow or socp)",
            ));
        }
        Ok(())
    }
}
