//! Validation of a resolved scenario: every field's range, finiteness and calendar, in one place,
//! with errors naming the field.

use super::*;

impl Scenario {
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
            [5, 15, 60].contains(&self.step_minutes),
            "step_minutes",
            self.step_minutes as f64,
            "5, 15 or 60",
        )?;
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
