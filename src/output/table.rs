//! The terminal table of a run: both cases' KPIs side by side, and one line per comparison.

use crate::study::StudyResult;

/// When a KPI row is shown (the terminal, the report and every other KPI table follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// When the study has batteries.
    Storage,
    /// When a regulator bonus or penalty was paid.
    Policy,
    /// When P2P deliveries carry a loss fee (`line_eta < 1`).
    LossFees,
    /// When a network model corrects the trades.
    Network,
    /// When the study has EVs.
    Evs,
    /// When the study has shiftable loads.
    Shiftables,
    /// When flexible households may drop load (`flex.curtail_fraction > 0`).
    Curtailables,
}

/// One KPI as every table shows it: the `summary.json` key, its label and unit, and how it is
/// printed. [`KPIS`] is the one list (the terminal's order); the HTML report reads it too.
#[derive(Debug, Clone, Copy)]
pub struct KpiDef {
    /// Field of [`crate::study::kpi::Kpis`] (and key in `summary.json`).
    pub key: &'static str,
    /// Label.
    pub label: &'static str,
    /// Unit of the shown value (empty for counts).
    pub unit: &'static str,
    /// Shown value = stored value × scale (e.g. a fraction shown in %).
    pub scale: f64,
    /// Decimals shown.
    pub decimals: usize,
    /// When the row is shown.
    pub when: When,
    /// Only the P2P case has the KPI (the baseline shows `-`).
    pub p2p_only: bool,
    /// A missing value (`null`) is shown as 0 rather than leaving the row out.
    pub null_is_zero: bool,
}

impl KpiDef {
    const fn new(
        key: &'static str,
        label: &'static str,
        unit: &'static str,
        decimals: usize,
    ) -> Self {
        KpiDef {
            key,
            label,
            unit,
            scale: 1.0,
            decimals,
            when: When::Always,
            p2p_only: false,
            null_is_zero: false,
        }
    }
    const fn scale(mut self, s: f64) -> Self {
        self.scale = s;
        self
    }
    const fn when(mut self, w: When) -> Self {
        self.when = w;
        self
    }
    const fn p2p_only(mut self) -> Self {
        self.p2p_only = true;
        self
    }
    const fn null_is_zero(mut self) -> Self {
        self.null_is_zero = true;
        self
    }
    /// `label (unit)`, or the label alone for a count.
    pub fn heading(&self) -> String {
        if self.unit.is_empty() {
            self.label.to_string()
        } else {
            format!("{} ({})", self.label, self.unit)
        }
    }
    /// The shown value from a case's KPIs as JSON (`None` when absent and not zero).
    pub fn value(&self, kpis: &serde_json::Value) -> Option<f64> {
        match kpis.get(self.key) {
            Some(v) if v.is_number() => v.as_f64().map(|v| v * self.scale),
            _ if self.null_is_zero => Some(0.0),
            _ => None,
        }
    }
}

/// Every KPI row, in the terminal's order.
pub const KPIS: &[KpiDef] = &[
    KpiDef::new("load_kwh", "load", "kWh", 2),
    KpiDef::new("pv_kwh", "PV", "kWh", 2),
    KpiDef::new("p2p_kwh", "P2P traded", "kWh", 2),
    KpiDef::new("grid_import_kwh", "grid import", "kWh", 2),
    KpiDef::new("grid_export_kwh", "grid export", "kWh", 2),
    KpiDef::new("self_sufficiency", "self-sufficiency", "%", 2).scale(100.0),
    KpiDef::new("self_consumption", "self-consumption", "%", 2)
        .scale(100.0)
        .null_is_zero(),
    KpiDef::new("p2p_share_of_load", "P2P share of load", "%", 2).scale(100.0),
    KpiDef::new("community_cost", "community cost", "$", 2),
    KpiDef::new("savings_min", "saving per prosumer, min", "$", 3),
    KpiDef::new("savings_median", "saving per prosumer, median", "$", 3),
    KpiDef::new("savings_max", "saving per prosumer, max", "$", 3),
    KpiDef::new("n_trades", "trades", "", 0),
    KpiDef::new("peak_import_kw", "peak import", "kW", 2),
    KpiDef::new("peak_export_kw", "peak export", "kW", 2),
    KpiDef::new("max_line_loading_percent", "max line loading", "%", 1),
    KpiDef::new("max_trafo_loading_percent", "max trafo loading", "%", 1),
    KpiDef::new("ev_needed_kwh", "EV energy needed", "kWh", 2).when(When::Evs),
    KpiDef::new("ev_delivered_kwh", "EV energy delivered", "kWh", 2).when(When::Evs),
    KpiDef::new("ev_unmet_kwh", "EV energy unmet", "kWh", 2).when(When::Evs),
    KpiDef::new("ev_discharge_kwh", "EV V2G discharge", "kWh", 2).when(When::Evs),
    KpiDef::new("ev_throttled_kwh", "EV charging throttled", "kWh", 2).when(When::Evs),
    KpiDef::new("flex_shifted_kwh", "load shifted", "kWh", 2).when(When::Shiftables),
    KpiDef::new("flex_curtailed_kwh", "flexible load dropped", "kWh", 2).when(When::Curtailables),
    KpiDef::new("flex_discomfort_cost", "discomfort (not paid)", "$", 2).when(When::Curtailables),
    KpiDef::new("battery_discharge_kwh", "battery discharge", "kWh", 2).when(When::Storage),
    KpiDef::new("battery_cycles", "battery cycles", "equivalent full", 2).when(When::Storage),
    KpiDef::new("policy_bonus", "regulator bonus", "$", 2).when(When::Policy),
    KpiDef::new("policy_penalty", "regulator penalty", "$", 2).when(When::Policy),
    KpiDef::new("loss_fees", "P2P loss fees", "$", 2).when(When::LossFees),
    KpiDef::new("p2p_curtailed_kwh", "P2P curtailed by network", "kWh", 2).when(When::Network),
    KpiDef::new("load_shed_kwh", "load shed by network", "kWh", 2).when(When::Network),
    KpiDef::new("pv_curtailed_kwh", "PV curtailed by network", "kWh", 2).when(When::Network),
    KpiDef::new(
        "steps_with_binding_limits",
        "steps with binding limits",
        "",
        0,
    )
    .when(When::Network),
    KpiDef::new("network_charges", "network charges", "$", 3).when(When::Network),
    KpiDef::new("ac_vmax_pu", "AC max voltage", "pu", 4).when(When::Network),
    KpiDef::new("ac_vmin_pu", "AC min voltage", "pu", 4).when(When::Network),
    KpiDef::new("ac_violation_steps", "AC steps violating a limit", "", 0).when(When::Network),
    KpiDef::new("savings_gini", "Gini of savings", "", 3).p2p_only(),
    KpiDef::new("avg_p2p_price_per_kwh", "average P2P price", "$/kWh", 4).p2p_only(),
];

/// Which conditional rows a study shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shown {
    /// Batteries exist.
    pub storage: bool,
    /// A regulator bonus or penalty was paid.
    pub policy: bool,
    /// Loss fees apply.
    pub loss_fees: bool,
    /// A network model corrects the trades.
    pub network: bool,
    /// EVs exist.
    pub evs: bool,
    /// Shiftable loads exist.
    pub shiftables: bool,
    /// Curtailable loads exist.
    pub curtailables: bool,
}

impl Shown {
    /// Whether a row is shown.
    pub fn shows(&self, w: When) -> bool {
        match w {
            When::Always => true,
            When::Storage => self.storage,
            When::Policy => self.policy,
            When::LossFees => self.loss_fees,
            When::Network => self.network,
            When::Evs => self.evs,
            When::Shiftables => self.shiftables,
            When::Curtailables => self.curtailables,
        }
    }
    fn of_study(res: &StudyResult) -> Shown {
        let (b, p) = (&res.day.baseline.kpis, &res.day.p2p.kpis);
        Shown {
            storage: res.day.p2p.plan.any() || res.day.baseline.plan.any(),
            policy: b.policy_bonus + p.policy_bonus + b.policy_penalty + p.policy_penalty > 0.0,
            loss_fees: res.scenario.line_eta < 1.0,
            network: res.scenario.clearing.model != crate::clearing::NetworkModel::None,
            evs: !res.community.evs.is_empty(),
            shiftables: !res.community.shiftables.is_empty(),
            curtailables: !res.community.shiftables.is_empty()
                && res.scenario.flex.curtail_fraction > 0.0,
        }
    }
    /// The same rule read back from `summary.json` (the report has nothing else).
    pub fn of_summary(summary: &serde_json::Value) -> Shown {
        let f = |case: &str, k: &str| summary[case][k].as_f64().unwrap_or(0.0);
        Shown {
            storage: summary.get("storage").is_some_and(|s| !s.is_null()),
            policy: ["baseline", "p2p"]
                .iter()
                .map(|c| f(c, "policy_bonus") + f(c, "policy_penalty"))
                .sum::<f64>()
                > 0.0,
            loss_fees: summary["scenario"]["line_eta"].as_f64().unwrap_or(1.0) < 1.0,
            network: summary["scenario"]["clearing"]["model"]
                .as_str()
                .is_some_and(|m| m != "none"),
            evs: summary["flexibility"]["evs"].as_u64().unwrap_or(0) > 0,
            shiftables: summary["flexibility"]["shiftable_loads"]
                .as_u64()
                .unwrap_or(0)
                > 0,
            curtailables: summary["flexibility"]["shiftable_loads"]
                .as_u64()
                .unwrap_or(0)
                > 0
                && summary["scenario"]["flex"]["curtail_fraction"]
                    .as_f64()
                    .unwrap_or(0.0)
                    > 0.0,
        }
    }
}

fn kpi_json(k: &crate::study::kpi::Kpis) -> serde_json::Value {
    serde_json::to_value(k).unwrap_or_default()
}

/// The compact terminal table.
pub fn table(res: &StudyResult) -> String {
    let (s, c, r) = (&res.scenario, &res.community, &res.day);
    let fa = super::facts(c);
    let (b, p) = (&r.baseline.kpis, &r.p2p.kpis);
    let mut t = format!(
        "netclear run — {} ({} buses), day {}, {} × {} min, {} prosumers ({} with PV), {}/{}, seed {}\n\n",
        fa.name,
        fa.buses,
        s.day,
        fa.steps,
        fa.step_minutes,
        fa.prosumers,
        fa.prosumers_with_pv,
        crate::util::serde_name(&s.market.mechanism),
        crate::util::serde_name(&s.market.strategy),
        s.seed
    );
    t += &format!(
        "{:<30} {:>12} {:>12} {:>12}\n",
        "", "baseline", "p2p", "change"
    );
    let (bv, pv) = (kpi_json(b), kpi_json(p));
    let show = Shown::of_study(res);
    for k in KPIS.iter().filter(|k| show.shows(k.when)) {
        let (Some(y), x) = (k.value(&pv), k.value(&bv)) else {
            continue;
        };
        let name = k.heading();
        let prec = k.decimals;
        match x {
            Some(x) if !k.p2p_only => {
                t += &format!(
                    "{:<30} {:>12.p$} {:>12.p$} {:>+12.p$}\n",
                    name,
                    clean(x, prec),
                    clean(y, prec),
                    clean(y - x, prec),
                    p = prec
                )
            }
            _ => {
                t += &format!(
                    "{:<30} {:>12} {:>12.p$}\n",
                    name,
                    "-",
                    clean(y, prec),
                    p = prec
                )
            }
        }
    }
    if !p.overloaded_branches.is_empty() || !b.overloaded_branches.is_empty() {
        t += &format!(
            "\nover their thermal limit: baseline {:?}; p2p {:?}\n",
            b.overloaded_branches, p.overloaded_branches
        );
    }
    if r.p2p.same_physics(&r.baseline) {
        t += "\nP2P trades are financial: nothing flexible responded to the market, so the physical flows, curtailment and grid exchange are the same in both cases.\n";
    } else {
        t += "\nThe cases differ physically: flexible assets responded to the market (see network.csv).\n";
    }
    if b.ev_short + p.ev_short > 0 {
        t += &format!(
            "\nEVs leaving short of their need: baseline {} ({:.2} kWh), p2p {} ({:.2} kWh) — their plug-in windows cannot hold it, or the network throttled their charging (summary.json: flexibility.ev_shortfalls).\n",
            b.ev_short,
            clean(b.ev_unmet_kwh, 2),
            p.ev_short,
            clean(p.ev_unmet_kwh, 2),
        );
    }
    if p.solver_failures + b.solver_failures > 0 {
        t += &format!(
            "\nWARNING: the network optimisation failed in {} step(s); those trades were executed as proposed (see clearing.csv, --dump-lp).\n",
            p.solver_failures + b.solver_failures
        );
    }
    if b.ac_violation_steps > 0 {
        t += &format!(
            "\nPre-existing: without P2P the network violates a limit in {} step(s) (see network.csv){}.\n",
            b.ac_violation_steps,
            if s.clearing.background == crate::clearing::Background::Report {
                "; reported, not corrected (--enforce-limits curtails and sheds to fix them)"
            } else {
                ""
            }
        );
    }
    if p.violation_steps_caused_by_market > 0 {
        t += &format!(
            "\nThe market makes a limit worse than without P2P in {} step(s) (see network.csv).\n",
            p.violation_steps_caused_by_market
        );
    }
    t += &format!(
        "\nnetwork model: {}; voltage band {}–{} pu; background {}\n",
        crate::util::serde_name(&s.clearing.model),
        s.clearing.vmin_pu,
        s.clearing.vmax_pu,
        crate::util::serde_name(&s.clearing.background)
    );
    t += &comparisons(res);
    t
}

/// One block per comparison the study ran.
fn comparisons(res: &StudyResult) -> String {
    let mut t = String::new();
    let cmp = &res.comparisons;
    let r = &res.day;
    if let Some(p) = &cmp.paper {
        t += &p.table();
    }
    if let Some(d) = &cmp.decentralisation {
        t += &format!(
            "\ncost with the retailer: central optimum {:.2} $, auction {:.2} $, greedy batteries + auction {:.2} $ — price of decentralisation {:.2} $\n",
            d.central_cost, d.auction_cost, d.greedy_cost, d.price_of_decentralisation
        );
        t += "flexibility modes (P2P case):  welfare cost ($)  price of decentralisation ($)  slack import (kWh)  slack export (kWh)  peak import (kW)  losses (kWh)\n";
        for m in &d.modes {
            t += &format!(
                "  {:<28} {:>16.3} {:>30.3} {:>19.2} {:>18.2} {:>17.2} {:>13.3}\n",
                m.mode,
                m.welfare_cost,
                m.price_of_decentralisation,
                m.slack_import_kwh,
                m.slack_export_kwh,
                m.peak_import_kw,
                m.losses_kwh
            );
        }
    }
    if let Some(rows) = &cmp.market_designs {
        t += "\nmarket designs (P2P case):   proposed (kWh)  delivered (kWh)  undone (kWh)  net trade surplus ($)  network charges ($)  community cost ($)  PV curtailed (kWh)\n";
        for d in rows {
            let k = &d.p2p;
            t += &format!(
                "  {:<24} {:>15.2} {:>16.2} {:>13.2} {:>22.2} {:>20.2} {:>18.2} {:>18.2}\n",
                crate::util::serde_name(&d.design),
                d.proposed_kwh,
                k.p2p_kwh,
                k.p2p_curtailed_kwh,
                d.net_trade_surplus,
                k.network_charges,
                k.community_cost,
                k.pv_curtailed_kwh
            );
        }
    }
    for k in cmp.battery_kinds.iter().chain(&cmp.battery_kinds_greedy) {
        t += &format!(
            "\nbattery kinds (P2P case, {}):  community cost ($)  self-sufficiency (%)  peak import (kW)  savings Gini\n",
            crate::util::serde_name(&k.model)
        );
        let rows = [
            ("individual only", Some(&k.individual)),
            ("community (central) only", Some(&k.community)),
            ("shared only", Some(&k.shared)),
            ("both", k.both.as_ref()),
        ];
        for (name, k) in rows {
            let Some(k) = k else { continue };
            t += &format!(
                "  {name:<28} {:>18.2} {:>21.2} {:>17.2} {:>13}\n",
                k.community_cost,
                100.0 * k.self_sufficiency,
                k.peak_import_kw,
                k.savings_gini
                    .map_or("–".to_string(), |g| format!("{g:.3}"))
            );
        }
    }
    if let Some(w) = &cmp.without_storage {
        let (a, b) = (&w.p2p, &r.p2p.kpis);
        t += &format!(
            "\nwhat storage changes (P2P case): community cost {:+.2} $, self-sufficiency {:+.2} pp, P2P traded {:+.2} kWh, grid import {:+.2} kWh, peak import {:+.2} kW\n",
            b.community_cost - a.community_cost,
            100.0 * (b.self_sufficiency - a.self_sufficiency),
            b.p2p_kwh - a.p2p_kwh,
            b.grid_import_kwh - a.grid_import_kwh,
            b.peak_import_kw - a.peak_import_kw
        );
        if b.lp_simultaneous_steps > 0 {
            t += &format!(
                "note: the LP dispatch charges and discharges at once in {} step(s); use --storage-model milp\n",
                b.lp_simultaneous_steps
            );
        }
    }
    t
}

/// Rounds values that would print as "-0.00…" to zero.
fn clean(v: f64, prec: usize) -> f64 {
    if v.abs() < 0.5 * 10f64.powi(-(prec as i32)) {
        0.0
    } else {
        v
    }
}
