//! A day's outputs: the files of `--out` and the terminal table.

use super::community::Community;
use super::kpi::Kpis;
use super::{CaseResult, DayResult};
use crate::fmt_f64 as f;
use crate::output::{csv, Bundle};
use crate::scenario::Scenario;
use serde::Serialize;

/// The machine-readable summary (`summary.json`).
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// netclear version.
    pub netclear_version: &'static str,
    /// The resolved scenario.
    pub scenario: &'a Scenario,
    /// Feeder facts.
    pub network: NetworkFacts,
    /// Baseline KPIs.
    pub baseline: &'a Kpis,
    /// P2P KPIs.
    pub p2p: &'a Kpis,
    /// KPIs of the same day without any battery (what storage changes), when batteries exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_storage: Option<WithoutStorage<'a>>,
    /// P2P KPIs with home batteries only, the community battery only, and both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_kinds: Option<BatteryKinds<'a>>,
    /// Central vs decentralised clearing, with `--clearing central`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decentralisation: Option<&'a Decentralisation>,
    /// Storage dispatch facts, when batteries exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageFacts>,
    /// The paper's study next to its corrected version, for the paper presets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paper_comparison: Option<&'a super::paper::Comparison>,
}

/// The price of decentralisation: the community's cost with the retailer under each way of
/// clearing the same day (load shed by a network correction counted at the background penalty,
/// a value of lost load, so that not serving energy is never "cheaper").
#[derive(Debug, Clone, Serialize)]
pub struct Decentralisation {
    /// Central optimum (batteries, pool and network together), $.
    pub central_cost: f64,
    /// Decentralised: batteries first, then the auction, then the network correction, $.
    pub auction_cost: f64,
    /// Rule-based batteries (charge on surplus, discharge on deficit) and the auction, $, with
    /// the end-of-day SOC difference valued (deficit at mean retail / η_c, surplus at mean
    /// feed-in × η_d).
    pub greedy_cost: f64,
    /// auction − central, $.
    pub price_of_decentralisation: f64,
    /// Central LP bound and gap.
    pub central_lower_bound: f64,
    /// Relative gap of the central solution.
    pub central_gap: f64,
}

/// The three battery kinds compared.
#[derive(Debug, Serialize)]
pub struct BatteryKinds<'a> {
    /// Home batteries only.
    pub individual: &'a Kpis,
    /// The community battery only.
    pub community: &'a Kpis,
    /// Both.
    pub both: &'a Kpis,
}

/// KPIs of the day without storage.
#[derive(Debug, Serialize)]
pub struct WithoutStorage<'a> {
    /// Baseline KPIs without batteries.
    pub baseline: &'a Kpis,
    /// P2P KPIs without batteries.
    pub p2p: &'a Kpis,
}

/// How the batteries were dispatched.
#[derive(Debug, Serialize)]
pub struct StorageFacts {
    /// Batteries (homes plus the community battery).
    pub batteries: usize,
    /// Dispatch model.
    pub model: crate::storage::StorageModel,
    /// How many dispatches were proven optimal (gap ≤ 0.01 %).
    pub proven_optimal: usize,
    /// Largest relative gap.
    pub max_gap: f64,
    /// Steps in which the LP relaxation charged and discharged at once (over all batteries).
    pub lp_simultaneous_steps: usize,
    /// Dispatch methods used (lp-exact, fix-smaller, branch-and-bound, lp, greedy).
    pub methods: Vec<String>,
}

/// Facts about the feeder in this run.
#[derive(Debug, Serialize)]
pub struct NetworkFacts {
    /// Feeder name.
    pub name: String,
    /// User buses.
    pub buses: usize,
    /// Electrical nodes.
    pub nodes: usize,
    /// Prosumers.
    pub prosumers: usize,
    /// Prosumers with PV.
    pub prosumers_with_pv: usize,
    /// Steps in the day.
    pub steps: usize,
    /// Step length, minutes.
    pub step_minutes: u32,
}

/// Network facts of a community.
pub fn facts(c: &Community) -> NetworkFacts {
    NetworkFacts {
        name: c.network.manifest.name.clone(),
        buses: c.network.buses.len(),
        nodes: c.grid.n_nodes(),
        prosumers: c.prosumers.len(),
        prosumers_with_pv: c.prosumers.iter().filter(|p| p.pv_kwp > 0.0).count(),
        steps: c.n_steps(),
        step_minutes: c.step_minutes,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(f).unwrap_or_default()
}

/// The files of a run.
pub fn bundle(
    s: &Scenario,
    c: &Community,
    r: &DayResult,
    paper: Option<&super::paper::Comparison>,
    without_storage: Option<&DayResult>,
    decentralisation: Option<&Decentralisation>,
    kinds: Option<(&DayResult, &DayResult)>,
) -> crate::Result<Bundle> {
    let dispatches: Vec<&crate::storage::Dispatch> = c
        .prosumers
        .iter()
        .filter_map(|p| p.dispatch.as_ref())
        .collect();
    let storage = (!dispatches.is_empty()).then(|| {
        let mut methods: Vec<String> = dispatches
            .iter()
            .map(|d| {
                serde_json::to_value(d.method)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            })
            .collect();
        methods.sort();
        methods.dedup();
        StorageFacts {
            batteries: dispatches.len(),
            model: s.storage.model,
            proven_optimal: dispatches.iter().filter(|d| d.gap <= 1e-4).count(),
            max_gap: dispatches
                .iter()
                .map(|d| if d.gap.is_finite() { d.gap } else { 0.0 })
                .fold(0.0, f64::max),
            lp_simultaneous_steps: dispatches.iter().map(|d| d.lp_simultaneous_steps).sum(),
            methods,
        }
    });
    let mut b = Bundle::default();
    let summary = Summary {
        netclear_version: env!("CARGO_PKG_VERSION"),
        scenario: s,
        network: facts(c),
        baseline: &r.baseline.kpis,
        p2p: &r.p2p.kpis,
        paper_comparison: paper,
        without_storage: without_storage.map(|w| WithoutStorage {
            baseline: &w.baseline.kpis,
            p2p: &w.p2p.kpis,
        }),
        storage,
        decentralisation,
        battery_kinds: kinds.map(|(i, c2)| BatteryKinds {
            individual: &i.p2p.kpis,
            community: &c2.p2p.kpis,
            both: &r.p2p.kpis,
        }),
    };
    let json = serde_json::to_string_pretty(&summary)
        .map_err(|e| crate::Error::Numerical(e.to_string()))?;
    b.add("summary.json", json + "\n");

    // hourly.csv: one row per (case, step).
    let mut rows = Vec::new();
    for case in [&r.baseline, &r.p2p] {
        for t in 0..c.n_steps() {
            let tot = case.step_total(t);
            let (vol, paid) = r
                .trades
                .iter()
                .filter(|x| x.step == t && matches!(case.case, super::Case::P2p))
                .fold((0.0, 0.0), |(v, p), x| {
                    (
                        v + x.trade.kwh,
                        p + x.trade.kwh * x.trade.buyer_price_per_kwh,
                    )
                });
            let n = &case.network[t];
            rows.push(vec![
                case_name(case).into(),
                t.to_string(),
                c.step_label(t),
                f(tot.load_kwh),
                f(tot.pv_kwh),
                f(tot.self_kwh),
                f(tot.p2p_bought_kwh),
                f(tot.grid_import_kwh),
                f(tot.grid_export_kwh),
                f(c.retail_per_kwh[t]),
                f(c.feed_in_per_kwh[t]),
                if vol > 0.0 {
                    f(paid / vol)
                } else {
                    String::new()
                },
                f(case.ledgers[t].iter().map(|l| l.bill()).sum::<f64>()),
                f(n.slack_import_kw),
                f(n.max_line_loading_percent),
                f(n.max_trafo_loading_percent),
                n.overloaded.len().to_string(),
            ]);
        }
    }
    b.add(
        "hourly.csv",
        csv(
            &[
                "case",
                "step",
                "time",
                "load_kwh",
                "pv_kwh",
                "self_consumed_kwh",
                "p2p_kwh",
                "grid_import_kwh",
                "grid_export_kwh",
                "retail_per_kwh",
                "feed_in_per_kwh",
                "p2p_avg_price_per_kwh",
                "cost",
                "slack_import_kw",
                "max_line_loading_percent",
                "max_trafo_loading_percent",
                "n_overloaded_branches",
            ],
            rows,
        ),
    );

    let rows = r.trades.iter().map(|x| {
        let t = &x.trade;
        vec![
            x.step.to_string(),
            c.step_label(x.step),
            t.seller.to_string(),
            c.prosumers[t.seller].bus.0.to_string(),
            t.buyer.to_string(),
            c.prosumers[t.buyer].bus.0.to_string(),
            f(t.kwh),
            f(t.bid_per_kwh),
            f(t.ask_per_kwh),
            f(t.buyer_price_per_kwh),
            f(t.seller_price_per_kwh),
            f(x.executed_kwh * t.buyer_price_per_kwh),
            f(x.executed_kwh * t.seller_price_per_kwh),
            f(x.executed_kwh),
            f(t.kwh - x.executed_kwh),
            x.curtailment_reason.clone(),
            f(x.network_charge),
        ]
    });
    b.add(
        "trades.csv",
        csv(
            &[
                "step",
                "time",
                "seller",
                "seller_bus",
                "buyer",
                "buyer_bus",
                "kwh",
                "bid_per_kwh",
                "ask_per_kwh",
                "buyer_price_per_kwh",
                "seller_price_per_kwh",
                "buyer_pays",
                "seller_receives",
                "executed_kwh",
                "curtailed_kwh",
                "curtailment_reason",
                "network_charge",
            ],
            rows,
        ),
    );

    let rows = c.prosumers.iter().map(|p| {
        let base = r.baseline.prosumer_total(p.id);
        let p2p = r.p2p.prosumer_total(p.id);
        vec![
            p.id.to_string(),
            p.name.clone(),
            p.bus.0.to_string(),
            format!("{:?}", p.class).to_lowercase(),
            p.households.to_string(),
            p.profile.clone(),
            f(p.pv_kwp),
            f(p2p.load_kwh),
            f(p2p.pv_kwh),
            f(p2p.self_kwh),
            f(p2p.p2p_bought_kwh),
            f(p2p.p2p_sold_kwh),
            f(p2p.grid_import_kwh),
            f(p2p.grid_export_kwh),
            f(base.bill()),
            f(p2p.bill()),
            f(base.bill() - p2p.bill()),
        ]
    });
    b.add(
        "prosumers.csv",
        csv(
            &[
                "prosumer",
                "name",
                "bus",
                "class",
                "households",
                "profile",
                "pv_kwp",
                "load_kwh",
                "pv_kwh",
                "self_consumed_kwh",
                "p2p_bought_kwh",
                "p2p_sold_kwh",
                "grid_import_kwh",
                "grid_export_kwh",
                "baseline_bill",
                "p2p_bill",
                "savings",
            ],
            rows,
        ),
    );

    let mut rows = Vec::new();
    for case in [&r.baseline, &r.p2p] {
        for (t, step) in case.ledgers.iter().enumerate() {
            for (i, l) in step.iter().enumerate() {
                rows.push(vec![
                    case_name(case).into(),
                    t.to_string(),
                    c.step_label(t),
                    i.to_string(),
                    c.prosumers[i].bus.0.to_string(),
                    f(l.load_kwh),
                    f(l.pv_kwh),
                    f(l.self_kwh),
                    f(l.p2p_bought_kwh),
                    f(l.p2p_sold_kwh),
                    f(l.grid_import_kwh),
                    f(l.grid_export_kwh),
                    f(l.p2p_paid),
                    f(l.p2p_received),
                    f(l.grid_paid),
                    f(l.grid_received),
                    f(l.curtailed_kwh),
                    f(l.shed_kwh),
                    f(l.network_charge),
                    f(l.policy_bonus),
                    f(l.policy_penalty),
                    f(l.bill()),
                ]);
            }
        }
    }
    b.add(
        "settlement.csv",
        csv(
            &[
                "case",
                "step",
                "time",
                "prosumer",
                "bus",
                "load_kwh",
                "pv_kwh",
                "self_consumed_kwh",
                "p2p_bought_kwh",
                "p2p_sold_kwh",
                "grid_import_kwh",
                "grid_export_kwh",
                "p2p_paid",
                "p2p_received",
                "grid_paid",
                "grid_received",
                "curtailed_kwh",
                "shed_kwh",
                "network_charge",
                "policy_bonus",
                "policy_penalty",
                "bill",
            ],
            rows,
        ),
    );

    let mut rows = Vec::new();
    for case in [&r.baseline, &r.p2p] {
        for br in &case.branches {
            rows.push(vec![
                case_name(case).into(),
                br.kind.into(),
                br.id.to_string(),
                br.from_bus.to_string(),
                br.to_bus.to_string(),
                f(br.peak_loading_percent),
                br.peak_step.to_string(),
                br.steps_over_limit.to_string(),
            ]);
        }
    }
    b.add(
        "lines.csv",
        csv(
            &[
                "case",
                "kind",
                "id",
                "from_bus",
                "to_bus",
                "peak_loading_percent",
                "peak_step",
                "steps_over_limit",
            ],
            rows,
        ),
    );
    network_files(&mut b, c, r);
    battery_files(&mut b, c, r);
    if let Some(p) = paper {
        b.add("paper_hourly.csv", p.hourly_csv());
    }
    Ok(b)
}

fn case_name(c: &CaseResult) -> &'static str {
    match c.case {
        super::Case::Baseline => "baseline",
        super::Case::P2p => "p2p",
    }
}

/// The compact terminal table.
pub fn table(s: &Scenario, c: &Community, r: &DayResult) -> String {
    let fa = facts(c);
    let (b, p) = (&r.baseline.kpis, &r.p2p.kpis);
    let mut t = format!(
        "netclear run — {} ({} buses), day {}, {} × {} min, {} prosumers ({} with PV), {:?}/{:?}, seed {}\n\n",
        fa.name,
        fa.buses,
        s.day,
        fa.steps,
        fa.step_minutes,
        fa.prosumers,
        fa.prosumers_with_pv,
        s.market.mechanism,
        s.market.strategy,
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
    if c.prosumers.iter().any(|x| x.dispatch.is_some()) {
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
        row(
            "P2P transfer losses (kWh)",
            b.p2p_losses_kwh,
            p.p2p_losses_kwh,
            2,
        );
    }
    if s.clearing.model != crate::clearing::NetworkModel::None {
        row(
            "P2P curtailed by network (kWh)",
            b.p2p_curtailed_kwh,
            p.p2p_curtailed_kwh,
            2,
        );
        row(
            "background load shed (kWh)",
            b.background_shed_kwh,
            p.background_shed_kwh,
            2,
        );
        row(
            "background PV curtailed (kWh)",
            b.background_curtailed_kwh,
            p.background_curtailed_kwh,
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
            "\nover their thermal limit (DC): baseline {:?}; p2p {:?}\n",
            b.overloaded_branches, p.overloaded_branches
        );
    }
    if (b.max_line_loading_percent - p.max_line_loading_percent).abs() < 1e-9
        && p.p2p_curtailed_kwh < 1e-9
    {
        t += "\nP2P trades are financial: without storage or curtailment the physical flows are the same in both cases.\n";
    }
    if p.solver_failures + b.solver_failures > 0 {
        t += &format!(
            "\nWARNING: the network optimisation failed in {} step(s); those trades were executed as proposed (see clearing.csv, --dump-lp).\n",
            p.solver_failures + b.solver_failures
        );
    }
    if p.ac_violation_steps > 0 {
        t += &format!(
            "\nThe AC check finds limits still violated in {} step(s) of the cleared result (see clearing.csv).\n",
            p.ac_violation_steps
        );
    }
    t += &format!("\nnetwork model: {:?}\n", s.clearing.model).to_lowercase();
    t
}

/// Per-step network files: nodal prices, bus voltages, branch loading, and the AC check.
fn network_files(b: &mut Bundle, c: &Community, r: &DayResult) {
    let grid = &c.grid;
    let mut prices = Vec::new();
    let mut volts = Vec::new();
    let mut loading = Vec::new();
    let mut checks = Vec::new();
    let ac_model = crate::pf::ac::AcModel::new(grid).ok();
    let dc_model = crate::pf::dc::DcModel::new(grid).ok();
    for case in [&r.baseline, &r.p2p] {
        let name = case_name(case);
        for t in 0..c.n_steps() {
            let cl = case.clearing.get(t);
            if let Some(cl) = cl {
                let o = &cl.outcome;
                for (k, node) in grid.nodes.iter().enumerate() {
                    prices.push(vec![
                        name.into(),
                        t.to_string(),
                        node.buses[0].0.to_string(),
                        f(o.lmp_per_kwh[k]),
                        f(o.energy_per_kwh),
                        f(o.congestion_per_kwh[k]),
                        f(o.voltage_per_kwh[k]),
                    ]);
                }
                let ac = cl.ac.as_ref();
                checks.push(vec![
                    name.into(),
                    t.to_string(),
                    format!("{:?}", o.status).to_lowercase(),
                    o.optimised.to_string(),
                    o.ac_feedback_rounds.to_string(),
                    o.binding.join("; "),
                    f(o.shed_kw.iter().sum::<f64>()),
                    f(o.curt_kw.iter().sum::<f64>()),
                    o.socp_max_gap.map(f).unwrap_or_default(),
                    ac.map(|a| a.converged.to_string()).unwrap_or_default(),
                    ac.map(|a| f(a.vmin_pu)).unwrap_or_default(),
                    ac.map(|a| f(a.vmax_pu)).unwrap_or_default(),
                    ac.map(|a| f(a.losses_kw)).unwrap_or_default(),
                    ac.map(|a| f(a.max_loading_percent)).unwrap_or_default(),
                    ac.and_then(|a| a.vm_error_pu).map(f).unwrap_or_default(),
                    ac.map(|a| f(a.p_error_kw)).unwrap_or_default(),
                    ac.map(|a| a.violations.join("; ")).unwrap_or_default(),
                ]);
            }
            // Voltages and loadings from an AC flow of the case's final injections: the one the
            // clearing's AC check already solved, else solved here (DC when AC does not converge).
            let checked = case
                .clearing
                .get(t)
                .and_then(|cl| cl.ac.as_ref())
                .filter(|a| !a.vm_pu.is_empty())
                .map(|a| {
                    (
                        a.vm_pu.clone(),
                        a.p_from_kw.clone(),
                        a.loading_percent.clone(),
                    )
                });
            let ac = checked.or_else(|| {
                let (mut p, mut q) = (vec![0.0; grid.n_nodes()], vec![0.0; grid.n_nodes()]);
                for (i, l) in case.ledgers[t].iter().enumerate() {
                    let k = c.prosumers[i].node;
                    p[k] += l.injection_kw(c.dt_h()) * 1e-3;
                    q[k] -= (l.load_kwh - l.shed_kwh) / c.dt_h() * c.load_tan_phi * 1e-3;
                }
                let sol = ac_model.as_ref()?.solve(&p, &q, &Default::default());
                if !sol.converged {
                    return None;
                }
                let loading = (0..grid.branches.len())
                    .map(|l| {
                        let br = &grid.branches[l];
                        grid.branch_currents(l, sol.flows[l], sol.vm_pu[br.from], sol.vm_pu[br.to])
                            .2
                    })
                    .collect();
                Some((
                    sol.vm_pu.clone(),
                    sol.flows.iter().map(|f| f[0] * 1e3).collect(),
                    loading,
                ))
            });
            match ac {
                Some((vm, p_from_kw, load)) => {
                    for (k, node) in grid.nodes.iter().enumerate() {
                        volts.push(vec![
                            name.into(),
                            t.to_string(),
                            node.buses[0].0.to_string(),
                            f(vm[k]),
                            "ac".into(),
                        ]);
                    }
                    for (l, br) in grid.branches.iter().enumerate() {
                        loading.push(vec![
                            name.into(),
                            t.to_string(),
                            br.element.to_string(),
                            f(p_from_kw[l]),
                            f(load[l]),
                            "ac".into(),
                        ]);
                    }
                }
                None => {
                    if let Some(dc) = &dc_model {
                        let mut p = vec![0.0; grid.n_nodes()];
                        for (i, l) in case.ledgers[t].iter().enumerate() {
                            p[c.prosumers[i].node] += l.injection_kw(c.dt_h()) * 1e-3;
                        }
                        let sol = dc.solve(&p);
                        for (l, br) in grid.branches.iter().enumerate() {
                            let pf = sol.p_from_mw[l];
                            let (_, _, load) =
                                grid.branch_currents(l, [pf, 0.0, -pf, 0.0], 1.0, 1.0);
                            loading.push(vec![
                                name.into(),
                                t.to_string(),
                                br.element.to_string(),
                                f(pf * 1e3),
                                f(load),
                                "dc".into(),
                            ]);
                        }
                    }
                }
            }
        }
    }
    if !prices.is_empty() {
        b.add(
            "nodal_prices.csv",
            csv(
                &[
                    "case",
                    "step",
                    "bus",
                    "lmp_per_kwh",
                    "energy_per_kwh",
                    "congestion_per_kwh",
                    "voltage_per_kwh",
                ],
                prices,
            ),
        );
        b.add(
            "clearing.csv",
            csv(
                &[
                    "case",
                    "step",
                    "status",
                    "optimised",
                    "ac_feedback_rounds",
                    "binding",
                    "shed_kw",
                    "curtailed_kw",
                    "socp_max_gap",
                    "ac_converged",
                    "ac_vmin_pu",
                    "ac_vmax_pu",
                    "ac_losses_kw",
                    "ac_max_loading_percent",
                    "vm_error_pu",
                    "p_error_kw",
                    "ac_violations",
                ],
                checks,
            ),
        );
    }
    if !volts.is_empty() {
        b.add(
            "bus_voltages.csv",
            csv(&["case", "step", "bus", "vm_pu", "model"], volts),
        );
    }
    b.add(
        "line_loading.csv",
        csv(
            &[
                "case",
                "step",
                "element",
                "p_from_kw",
                "loading_percent",
                "model",
            ],
            loading,
        ),
    );
}

/// Rounds values that would print as "-0.00…" to zero.
fn clean(v: f64, prec: usize) -> f64 {
    if v.abs() < 0.5 * 10f64.powi(-(prec as i32)) {
        0.0
    } else {
        v
    }
}

/// `battery_P{i}.csv` per home battery, `vpp.csv`, and the seed's `p2p_vpp_summary.csv`.
fn battery_files(b: &mut Bundle, c: &Community, r: &DayResult) {
    let mut any = false;
    for p in &c.prosumers {
        let Some(d) = &p.dispatch else { continue };
        any = true;
        let rows = (0..c.n_steps()).map(|t| {
            vec![
                t.to_string(),
                c.step_label(t),
                f(d.soc_kwh[t]),
                f(d.charge_kw[t]),
                f(d.discharge_kw[t]),
                f(d.curtail_kw[t]),
            ]
        });
        let name = if p.class == super::community::LoadClass::Vpp {
            "vpp.csv".to_string()
        } else {
            format!("battery_P{}.csv", p.id)
        };
        b.add(
            &name,
            csv(
                &[
                    "step",
                    "time",
                    "soc_kwh",
                    "charge_kw",
                    "discharge_kw",
                    "curtail_kw",
                ],
                rows,
            ),
        );
    }
    if !any {
        return;
    }
    let vpp = c
        .prosumers
        .iter()
        .find(|p| p.class == super::community::LoadClass::Vpp);
    let rows = (0..c.n_steps()).map(|t| {
        let tot = r.p2p.step_total(t);
        let (vol, paid) = r
            .trades
            .iter()
            .filter(|x| x.step == t)
            .fold((0.0, 0.0), |(v, p), x| {
                (
                    v + x.executed_kwh,
                    p + x.executed_kwh * x.trade.buyer_price_per_kwh,
                )
            });
        let (vc, vd) = vpp
            .and_then(|v| v.dispatch.as_ref())
            .map_or((0.0, 0.0), |d| {
                (d.charge_kw[t] * c.dt_h(), d.discharge_kw[t] * c.dt_h())
            });
        vec![
            t.to_string(),
            c.step_label(t),
            f(tot.grid_import_kwh),
            f(tot.grid_export_kwh),
            f(vc),
            f(vd),
            f(vol),
            if vol > 0.0 {
                f(paid / vol)
            } else {
                String::new()
            },
        ]
    });
    b.add(
        "p2p_vpp_summary.csv",
        csv(
            &[
                "step",
                "time",
                "external_buy_kwh",
                "external_sell_kwh",
                "vpp_charge_kwh",
                "vpp_discharge_kwh",
                "internal_traded_kwh",
                "internal_price_per_kwh",
            ],
            rows,
        ),
    );
}
