//! The terminal table of a run: both cases' KPIs side by side, and one line per comparison.

use crate::study::StudyResult;

fn opt(v: Option<f64>) -> String {
    v.map(crate::util::fmt_f64).unwrap_or_default()
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
    let mut row = |name: &str, x: f64, y: f64, prec: usize| {
        t += &format!(
            "{:<30} {:>12.p$} {:>12.p$} {:>+12.p$}\n",
            name,
            clean(x, prec),
            clean(y, prec),
            clean(y - x, prec),
            p = prec
        );
    };
    row("load (kWh)", b.load_kwh, p.load_kwh, 2);
    row("PV (kWh)", b.pv_kwh, p.pv_kwh, 2);
    row("P2P traded (kWh)", b.p2p_kwh, p.p2p_kwh, 2);
    row("grid import (kWh)", b.grid_import_kwh, p.grid_import_kwh, 2);
    row("grid export (kWh)", b.grid_export_kwh, p.grid_export_kwh, 2);
    row(
        "self-sufficiency (%)",
        100.0 * b.self_sufficiency,
        100.0 * p.self_sufficiency,
        2,
    );
    row(
        "self-consumption (%)",
        100.0 * b.self_consumption.unwrap_or(0.0),
        100.0 * p.self_consumption.unwrap_or(0.0),
        2,
    );
    row(
        "P2P share of load (%)",
        100.0 * b.p2p_share_of_load,
        100.0 * p.p2p_share_of_load,
        2,
    );
    row("community cost ($)", b.community_cost, p.community_cost, 2);
    row(
        "saving per prosumer, min ($)",
        b.savings_min,
        p.savings_min,
        3,
    );
    row(
        "saving per prosumer, median ($)",
        b.savings_median,
        p.savings_median,
        3,
    );
    row(
        "saving per prosumer, max ($)",
        b.savings_max,
        p.savings_max,
        3,
    );
    row("trades", b.n_trades as f64, p.n_trades as f64, 0);
    row("peak import (kW)", b.peak_import_kw, p.peak_import_kw, 2);
    row("peak export (kW)", b.peak_export_kw, p.peak_export_kw, 2);
    row(
        "max line loading (%)",
        b.max_line_loading_percent,
        p.max_line_loading_percent,
        1,
    );
    row(
        "max trafo loading (%)",
        b.max_trafo_loading_percent,
        p.max_trafo_loading_percent,
        1,
    );
    if r.p2p.plan.any() || r.baseline.plan.any() {
        row(
            "battery discharge (kWh)",
            b.battery_discharge_kwh,
            p.battery_discharge_kwh,
            2,
        );
        row(
            "battery cycles (equivalent full)",
            b.battery_cycles,
            p.battery_cycles,
            2,
        );
    }
    if b.policy_bonus + p.policy_bonus + b.policy_penalty + p.policy_penalty > 0.0 {
        row("regulator bonus ($)", b.policy_bonus, p.policy_bonus, 2);
        row(
            "regulator penalty ($)",
            b.policy_penalty,
            p.policy_penalty,
            2,
        );
    }
    if s.line_eta < 1.0 {
        row("P2P loss fees ($)", b.loss_fees, p.loss_fees, 2);
    }
    if s.clearing.model != crate::clearing::NetworkModel::None {
        row(
            "P2P curtailed by network (kWh)",
            b.p2p_curtailed_kwh,
            p.p2p_curtailed_kwh,
            2,
        );
        row(
            "load shed by network (kWh)",
            b.load_shed_kwh,
            p.load_shed_kwh,
            2,
        );
        row(
            "PV curtailed by network (kWh)",
            b.pv_curtailed_kwh,
            p.pv_curtailed_kwh,
            2,
        );
        row(
            "steps with binding limits",
            b.steps_with_binding_limits as f64,
            p.steps_with_binding_limits as f64,
            0,
        );
        row(
            "network charges ($)",
            b.network_charges,
            p.network_charges,
            3,
        );
        if let (Some(x), Some(y)) = (b.ac_vmax_pu, p.ac_vmax_pu) {
            row("AC max voltage (pu)", x, y, 4);
        }
        if let (Some(x), Some(y)) = (b.ac_vmin_pu, p.ac_vmin_pu) {
            row("AC min voltage (pu)", x, y, 4);
        }
        row(
            "AC steps violating a limit",
            b.ac_violation_steps as f64,
            p.ac_violation_steps as f64,
            0,
        );
    }
    t += &format!(
        "{:<30} {:>12} {:>12}\n",
        "Gini of savings",
        "-",
        p.savings_gini
            .map(|g| format!("{g:.3}"))
            .unwrap_or_else(|| "-".into())
    );
    t += &format!(
        "{:<30} {:>12} {:>12}\n",
        "average P2P price ($/kWh)",
        "-",
        opt(p.avg_p2p_price_per_kwh.map(|v| (v * 1e4).round() / 1e4))
    );
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
    if let Some(k) = &cmp.battery_kinds {
        t += "\nbattery kinds (P2P case):        community cost ($)  self-sufficiency (%)  peak import (kW)\n";
        for (name, k) in [
            ("individual only", &k.individual),
            ("community only", &k.community),
            ("both", &k.both),
        ] {
            t += &format!(
                "  {name:<28} {:>18.2} {:>21.2} {:>17.2}\n",
                k.community_cost,
                100.0 * k.self_sufficiency,
                k.peak_import_kw
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
