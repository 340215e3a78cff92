//! One test per bug fixed, each naming it. Every one of them failed before its fix.
//!
//! Issue 9 (one study core) and issue 10 (numbers a domain expert can trust).

use netclear::clearing::{Background, NetworkModel};
use netclear::market::strategy::Strategy;
use netclear::market::{clear, Mechanism, Order};
use netclear::scenario::{ClearingMode, Preset, Scenario, SettlementMode};
use netclear::study::{self, StudyResult};
use std::path::Path;
use std::process::Command;

fn netclear(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn village(pv: f64) -> Scenario {
    Scenario {
        network: "village80".into(),
        pv_share_percent: pv,
        ..Scenario::default()
    }
}

fn run(s: &Scenario) -> StudyResult {
    study::run(s).unwrap()
}

fn member_savings(r: &StudyResult) -> Vec<f64> {
    let c = &r.community;
    (0..c.prosumers.len())
        .filter(|&i| c.prosumers[i].pays_fixed_charge())
        .map(|i| r.day.baseline.prosumer_total(i).bill() - r.day.p2p.prosumer_total(i).bill())
        .collect()
}

// ---- Issue 9 ----------------------------------------------------------------------------------

/// `netclear sweep` of a scenario with `clearing = "central"` returned auction results: only the
/// CLI read the clearing mode. Now the sweep row and the run's summary hold the same KPIs.
#[test]
fn sweep_of_a_central_scenario_equals_the_run() {
    let t = tempfile::tempdir().unwrap();
    let sc = t.path().join("s.toml");
    std::fs::write(
        &sc,
        "network = \"rural_1\"\npv_share_percent = 50.0\n[storage]\nbattery_share_percent = 50.0\nvpp = true\nclearing = \"central\"\n[clearing]\nmodel = \"dc\"\n",
    )
    .unwrap();
    let sc = sc.to_str().unwrap();
    let run_out = t.path().join("run");
    let (code, _, err) = netclear(&[
        "run",
        "--scenario",
        sc,
        "--quiet",
        "--out",
        run_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let sw = t.path().join("sw");
    let (code, _, err) = netclear(&[
        "sweep",
        "--scenario",
        sc,
        "--quiet",
        "--out",
        sw.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_out.join("summary.json")).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(sw.join("results.csv")).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let row = rdr.records().next().unwrap().unwrap();
    let mut compared = 0;
    for (name, cell) in header.iter().zip(row.iter()) {
        for case in ["baseline", "p2p"] {
            if let Some(k) = name.strip_prefix(&format!("{case}_")) {
                if let Some(v) = summary[case][k].as_f64() {
                    let x: f64 = cell.parse().unwrap();
                    assert!(
                        (x - v).abs() <= 1e-12 * v.abs().max(1.0),
                        "{name}: sweep {x} vs run {v}"
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 40, "{compared} KPIs compared");
    // And it is the central optimum, not the auction.
    assert!(summary["decentralisation"]["central_cost"].is_number());
    let central = summary["decentralisation"]["central_cost"]
        .as_f64()
        .unwrap();
    let p2p_cost: f64 = summary["p2p"]["community_cost"].as_f64().unwrap();
    assert!(p2p_cost.is_finite() && central.is_finite());
}

/// Central clearing settled with its own copy of the settlement, which never booked the
/// regulator policy. Now both books come from one `settle`: the bonus is the rate times the
/// local renewable energy, the penalty the rate times the grid import, in central as in auction.
#[test]
fn central_clearing_books_the_regulator_policy() {
    let mut s = Scenario {
        network: "rural_1".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 50.0;
    s.storage.clearing = ClearingMode::Central;
    s.clearing.model = NetworkModel::Dc;
    s.retailer.policy.local_renewable_bonus_per_kwh = 0.02;
    s.retailer.policy.grid_purchase_penalty_per_kwh = 0.05;
    let r = run(&s);
    assert!(r.central.is_some());
    let k = &r.day.p2p.kpis;
    let local: f64 = r
        .day
        .p2p
        .accounts
        .iter()
        .flatten()
        .map(|a| a.self_kwh + a.p2p_bought_kwh)
        .sum();
    assert!(local > 1.0);
    assert!(
        (k.policy_bonus - 0.02 * local).abs() < 1e-9,
        "{}",
        k.policy_bonus
    );
    assert!((k.policy_penalty - 0.05 * k.grid_import_kwh).abs() < 1e-9);
}

/// The KPI "max line loading" and `lines.csv` came from DC while `line_loading.csv` came from AC:
/// two truths. Now every one of them is the one network result per step.
#[test]
fn one_truth_for_line_loading() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("o");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "cigre44",
        "--pv-share",
        "30",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let loading = std::fs::read_to_string(out.join("line_loading.csv")).unwrap();
    let peaks = std::fs::read_to_string(out.join("lines.csv")).unwrap();
    for case in ["baseline", "p2p"] {
        let max_table = csv::Reader::from_reader(loading.as_bytes())
            .deserialize::<std::collections::HashMap<String, String>>()
            .map(|r| r.unwrap())
            .filter(|r| r["case"] == case && r["element"].starts_with("line"))
            .map(|r| r["loading_percent"].parse::<f64>().unwrap())
            .fold(0.0, f64::max);
        let max_peaks = csv::Reader::from_reader(peaks.as_bytes())
            .deserialize::<std::collections::HashMap<String, String>>()
            .map(|r| r.unwrap())
            .filter(|r| r["case"] == case && r["kind"] == "line")
            .map(|r| r["peak_loading_percent"].parse::<f64>().unwrap())
            .fold(0.0, f64::max);
        let kpi = summary[case]["max_line_loading_percent"].as_f64().unwrap();
        assert!(kpi > 1.0);
        assert_eq!(kpi, max_table, "{case}: KPI vs line_loading.csv");
        assert_eq!(kpi, max_peaks, "{case}: KPI vs lines.csv");
    }
}

/// Solver statuses were spelled two ways (`primalinfeasible` in clearing.csv,
/// `primal_infeasible` in JSON). Now the serde name is the one spelling everywhere.
#[test]
fn one_spelling_per_status() {
    use netclear::opt::Status;
    for st in [
        Status::Solved,
        Status::AlmostSolved,
        Status::PrimalInfeasible,
        Status::DualInfeasible,
        Status::MaxIterations,
        Status::MaxTime,
        Status::NumericalError,
        Status::Failed,
    ] {
        let json = serde_json::to_value(st).unwrap();
        assert_eq!(json.as_str().unwrap(), st.to_string());
    }
    assert_eq!(Status::PrimalInfeasible.to_string(), "primal_infeasible");
}

/// The average P2P price was three different averages under one name (proposed-kWh weighted in
/// hourly.csv, executed-kWh weighted in the KPIs). Now every one is executed-energy weighted.
#[test]
fn one_average_p2p_price() {
    let mut s = village(50.0);
    s.clearing.vmax_pu = 1.03;
    s.clearing.background = Background::Enforce;
    let r = run(&s);
    let (mut paid, mut vol) = (0.0, 0.0);
    for t in &r.day.trades {
        paid += t.executed_kwh * t.trade.buyer_price_per_kwh;
        vol += t.executed_kwh;
    }
    let want = paid / vol;
    assert!((r.day.p2p.kpis.avg_p2p_price_per_kwh.unwrap() - want).abs() < 1e-15);
}

// ---- Issue 10 ---------------------------------------------------------------------------------

/// Finding 1: The 3 % delivery loss was fed to the network correction (0.88 kWh of PV curtailed "for
/// undervoltage" on the headline run) and billed by the retailer as energy nobody delivered.
/// Now it is a fee: the physics is the baseline's, and the retailer bills exactly the community's
/// metered exchange.
#[test]
fn delivery_loss_is_money_not_energy() {
    for eta in [1.0, 0.97, 0.9] {
        let mut s = Scenario {
            network: "cigre44".into(),
            pv_share_percent: 30.0,
            ..Scenario::default()
        };
        s.line_eta = eta;
        let r = run(&s);
        let (b, p) = (&r.day.baseline.kpis, &r.day.p2p.kpis);
        assert_eq!(p.pv_curtailed_kwh, b.pv_curtailed_kwh, "η {eta}");
        assert!(p.p2p_curtailed_kwh.abs() < 1e-12);
        assert!(r.day.p2p.same_physics(&r.day.baseline));
        // Billed net exchange = metered net exchange.
        let billed = p.grid_import_kwh - p.grid_export_kwh;
        let metered = p.community_import_kwh - p.community_export_kwh;
        assert!(
            (billed - metered).abs() < 1e-9,
            "η {eta}: {billed} vs {metered}"
        );
        let fee: f64 = r
            .day
            .trades
            .iter()
            .map(|t| t.executed_kwh * t.trade.buyer_price_per_kwh * (1.0 / eta - 1.0))
            .sum();
        assert!((p.loss_fees - fee).abs() < 1e-9);
        assert!(member_savings(&r).iter().all(|&x| x >= -1e-9));
    }
}

/// Finding 2: The correction penalised trade curtailment at ~0.001 $/kWh and other PV at 10 $/kWh, so
/// traders were curtailed first (village80, 25 kWp, vmax 1.02: 151.5 kWh in the P2P case against
/// 137.6 kWh in the physically identical baseline, one seller 0.83 $ worse off). Now both cases
/// curtail the same energy and nobody loses.
#[test]
fn traders_are_not_curtailed_first() {
    let mut s = village(50.0);
    s.pv_kwp_per_household = 25.0;
    s.clearing.vmax_pu = 1.02;
    s.clearing.background = Background::Enforce;
    let r = run(&s);
    let (b, p) = (&r.day.baseline.kpis, &r.day.p2p.kpis);
    assert!(b.pv_curtailed_kwh > 50.0, "{}", b.pv_curtailed_kwh);
    assert!((p.pv_curtailed_kwh - b.pv_curtailed_kwh).abs() < 1e-9);
    assert!(r.day.p2p.same_physics(&r.day.baseline));
    let min = member_savings(&r).into_iter().fold(f64::INFINITY, f64::min);
    assert!(min >= -1e-9, "a member is {min} worse off");
}

/// Finding 3: The community battery was scheduled for the P2P case and that schedule settled in the
/// baseline, so adding it raised the baseline's cost (village80: 32.91 → 41.54 $). Now the
/// baseline dispatches it for itself: idle under a flat tariff, the baseline unchanged.
#[test]
fn community_battery_counterfactual_is_its_own() {
    let mut s = village(50.0);
    s.storage.battery_share_percent = 50.0;
    let without = run(&s);
    s.storage.vpp = true;
    let with = run(&s);
    let (a, b) = (
        without.day.baseline.kpis.community_cost,
        with.day.baseline.kpis.community_cost,
    );
    assert!((a - b).abs() < 1e-6, "baseline {a} → {b} with the VPP");
    // In the P2P case it serves the community.
    assert!(with.day.p2p.kpis.community_cost < without.day.p2p.kpis.community_cost - 0.5);
}

/// Finding 4: `coupled` priced all import and export at the internal price and settled the baseline
/// with that dispatch (the seed community: 3.15 → 7.62 $/day). Now the baseline is the
/// retailer-only dispatch whatever the mode, and the coupled P2P case is no dearer than it.
#[test]
fn coupled_dispatch_sees_the_pool_only_where_it_exists() {
    // The file's own path: its workbook path is relative to it.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios/seed_vpp.toml");
    let mut s = netclear::scenario::resolve(
        None,
        Some((
            &file.display().to_string(),
            &std::fs::read_to_string(&file).unwrap(),
        )),
    )
    .unwrap();
    let only = run(&s);
    s.storage.settlement = SettlementMode::Coupled;
    let coupled = run(&s);
    assert_eq!(
        only.day.baseline.kpis.community_cost,
        coupled.day.baseline.kpis.community_cost
    );
    let (a, b) = (
        coupled.day.p2p.kpis.community_cost,
        coupled.day.baseline.kpis.community_cost,
    );
    assert!(a <= b + 1e-9, "coupled P2P {a} > baseline {b}");
    assert!(a < 1.5 * only.day.p2p.kpis.community_cost);
}

/// Finding 5: McAfee on divisible orders excluded the marginal *orders*: one buyer of 3 kWh and three
/// sellers of 1 kWh traded nothing. Now only the marginal quantity is excluded.
#[test]
fn mcafee_removes_only_the_marginal_quantity() {
    let o = |agent, kwh, p| Order {
        agent,
        kwh,
        price_per_kwh: p,
    };
    let t = clear(
        Mechanism::Mcafee,
        &[o(1, 3.0, 0.20)],
        &[o(2, 1.0, 0.05), o(3, 1.0, 0.06), o(4, 1.0, 0.07)],
    );
    let v: f64 = t.iter().map(|t| t.kwh).sum();
    assert!((v - 2.0).abs() < 1e-12, "{v}");
    // Buyers pay the marginal bid, sellers receive the marginal ask; the operator keeps the rest.
    assert!(t
        .iter()
        .all(|t| t.buyer_price_per_kwh == 0.20 && t.seller_price_per_kwh == 0.07));
    // Equal asks: the same 2 kWh, shared pro rata among the three sellers.
    let t = clear(
        Mechanism::Mcafee,
        &[o(1, 3.0, 0.20)],
        &[o(2, 1.0, 0.05), o(3, 1.0, 0.05), o(4, 1.0, 0.05)],
    );
    for seller in [2, 3, 4] {
        let q: f64 = t.iter().filter(|t| t.seller == seller).map(|t| t.kwh).sum();
        assert!((q - 2.0 / 3.0).abs() < 1e-12, "seller {seller}: {q}");
    }
}

/// Finding 6: Fixed bids and asks ignored the step's tariff: under wholesale-pass 148 of 442 seed trades
/// sold below feed-in, and McAfee buyers paid above retail. Now every price of every strategy and
/// mechanism lies within the step's [feed-in, retail].
#[test]
fn prices_stay_within_the_steps_tariff() {
    for pricing in [
        netclear::tariff::PricingMode::WholesalePass,
        netclear::tariff::PricingMode::TimeOfUse,
    ] {
        for mechanism in [
            Mechanism::PayAsAsk,
            Mechanism::Uniform,
            Mechanism::MidPrice,
            Mechanism::Mcafee,
        ] {
            for strategy in [Strategy::Fixed, Strategy::Urgency, Strategy::Zi] {
                let mut s = village(50.0);
                s.step_minutes = 15;
                s.clearing.model = NetworkModel::None;
                s.retailer.pricing = pricing;
                s.market.mechanism = mechanism;
                s.market.strategy = strategy;
                let r = run(&s);
                let c = &r.community;
                let mut n = 0;
                for t in &r.day.trades {
                    let (retail, fit) = (c.retail_per_kwh[t.step], c.feed_in_per_kwh[t.step]);
                    let tr = &t.trade;
                    assert!(
                        tr.seller_price_per_kwh >= fit - 1e-12,
                        "{pricing:?} {mechanism:?} {strategy:?}"
                    );
                    assert!(
                        tr.buyer_price_per_kwh <= retail + 1e-12,
                        "{pricing:?} {mechanism:?} {strategy:?}"
                    );
                    n += 1;
                }
                assert!(n > 0);
                assert!(member_savings(&r).iter().all(|&x| x >= -1e-9));
            }
        }
    }
}

/// Finding 7: KPIs flattered: self-sufficiency counted shed load as self-supplied (cigre44: 6.50 %, true
/// 4.74 %), self-consumption counted curtailed PV as consumed, and "equivalent full cycles" was
/// summed over batteries. Now each has its physical meaning, in closed form from the accounts.
#[test]
fn kpis_have_their_physical_meaning() {
    let mut s = Scenario {
        network: "cigre44".into(),
        pv_share_percent: 30.0,
        ..Scenario::default()
    };
    s.clearing.vmin_pu = 0.95;
    s.clearing.vmax_pu = 1.05;
    s.clearing.background = Background::Enforce;
    let r = run(&s);
    let k = &r.day.baseline.kpis;
    assert!(k.load_shed_kwh > 1.0, "this setting sheds load");
    let ss = (k.load_kwh - k.load_shed_kwh - k.grid_import_kwh) / k.load_kwh;
    assert!((k.self_sufficiency - ss).abs() < 1e-12);
    let old_style = (k.load_kwh - k.grid_import_kwh) / k.load_kwh;
    assert!(k.self_sufficiency < old_style - 1e-3);
    // The default run sheds nothing and its self-sufficiency is 5.21 % (4.74 % when finding 7
    // was fixed, before issue 14 scaled the commercial loads to their weekly peak at the
    // profile's own 15-minute step rather than at the study's: the hourly day had 10 % more
    // commercial energy than the same day at 15 or 5 minutes).
    let d = run(&Scenario {
        network: "cigre44".into(),
        pv_share_percent: 30.0,
        ..Scenario::default()
    });
    assert!((100.0 * d.day.baseline.kpis.self_sufficiency - 5.21).abs() < 5e-3);
    // Self-consumption without curtailed PV.
    let mut v = village(50.0);
    v.pv_kwp_per_household = 25.0;
    v.clearing.vmax_pu = 1.02;
    v.clearing.background = Background::Enforce;
    let r = run(&v);
    let k = &r.day.baseline.kpis;
    let sc =
        (k.pv_kwh - k.pv_curtailed_kwh - k.storage_curtailed_kwh - k.grid_export_kwh) / k.pv_kwh;
    assert!((k.self_consumption.unwrap() - sc).abs() < 1e-12);
    // Fleet cycles: discharged energy over the fleet's usable capacity.
    let mut b = village(50.0);
    b.storage.battery_share_percent = 50.0;
    let r = run(&b);
    let usable: f64 = r
        .community
        .prosumers
        .iter()
        .filter_map(|p| p.battery.as_ref())
        .map(|b| b.e_kwh * (b.soc_max - b.soc_min))
        .sum();
    let k = &r.day.p2p.kpis;
    assert!((k.battery_cycles - k.battery_discharge_kwh / usable).abs() < 1e-12);
    assert!(k.battery_cycles < 1.0, "{}", k.battery_cycles);
}

/// Finding 8: The default band (0.95 pu) plus background shedding at 10 $/kWh removed 64 kWh of load on
/// the headline cigre44 run although AC's minimum, 0.937 pu, is within EN 50160. Now the default
/// is EN 50160's 0.90–1.10 pu, a pre-existing violation is reported, not acted on, and nobody is
/// shed unless asked.
#[test]
fn market_studies_do_not_shed_customers() {
    let s = Scenario {
        network: "cigre44".into(),
        pv_share_percent: 30.0,
        ..Scenario::default()
    };
    assert_eq!((s.clearing.vmin_pu, s.clearing.vmax_pu), (0.90, 1.10));
    let r = run(&s);
    for case in [&r.day.baseline, &r.day.p2p] {
        assert_eq!(case.kpis.load_shed_kwh, 0.0);
        assert_eq!(case.kpis.pv_curtailed_kwh, 0.0);
    }
    // With the planning band, the violation is reported as pre-existing, still without shedding.
    let mut s = s;
    s.clearing.vmin_pu = 0.95;
    s.clearing.vmax_pu = 1.05;
    let r = run(&s);
    let (b, p) = (&r.day.baseline.kpis, &r.day.p2p.kpis);
    assert!(b.ac_violation_steps > 0);
    assert_eq!(b.load_shed_kwh, 0.0);
    assert_eq!(p.violation_steps_caused_by_market, 0);
    assert!(r.day.baseline.network.iter().any(|n| n
        .violations
        .iter()
        .any(|v| v.name.starts_with("vmin") && v.value < 0.95)));
}

/// Finding 9a: The greedy reference ended the day 24 kWh below its start SOC, flattering the price of
/// decentralisation. Now it obeys the same end-of-day rule as the optimisers.
#[test]
fn greedy_reference_returns_to_its_start() {
    use netclear::storage::{dispatch, Battery, DayInput, MilpSettings, StorageModel};
    let b = Battery::default();
    let load: Vec<f64> = (0..24).map(|t| if t >= 18 { 3.0 } else { 0.5 }).collect();
    let pv: Vec<f64> = (0..24)
        .map(|t| if (8..16).contains(&t) { 2.0 } else { 0.0 })
        .collect();
    let prices = vec![0.25; 24];
    let fit = vec![0.05; 24];
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &load,
        pv_kw: &pv,
        import_per_kwh: &prices,
        export_per_kwh: &fit,
        allow_curtailment: true,
    };
    let d = dispatch(&b, &inp, StorageModel::Greedy, &MilpSettings::default());
    assert!(
        (d.soc_kwh[23] - b.soc0 * b.e_kwh).abs() < 1e-9,
        "{}",
        d.soc_kwh[23]
    );
    assert!(d
        .soc_kwh
        .iter()
        .all(|&s| s >= b.soc_min * b.e_kwh - 1e-9 && s <= b.soc_max * b.e_kwh + 1e-9));
    let m = dispatch(&b, &inp, StorageModel::Milp, &MilpSettings::default());
    assert!(m.cost <= d.cost + 1e-9);
}

/// Finding 9b: Central's reported lower bound exceeded its cost (the wear term in one, not the other).
/// Now bound and objective are on the same basis, and the bound never exceeds the objective.
#[test]
fn central_bound_is_on_the_objective() {
    let mut s = village(50.0);
    s.storage.battery_share_percent = 50.0;
    s.storage.vpp = true;
    s.storage.clearing = ClearingMode::Central;
    s.clearing.model = NetworkModel::Dc;
    let r = run(&s);
    let cr = r.central.unwrap();
    assert!(cr.lower_bound <= cr.objective + 1e-12);
    assert!(cr.objective >= cr.cost);
    assert!(cr.gap <= 1e-4);
}

/// Finding 9c: Equal fixed bids were allocated by prosumer index (cigre44: prosumer 0 took 34.8 of 46.2
/// kWh). Now a tier of equal prices shares the volume pro rata.
#[test]
fn equal_bids_share_pro_rata() {
    let o = |agent, kwh, p| Order {
        agent,
        kwh,
        price_per_kwh: p,
    };
    for m in [Mechanism::PayAsAsk, Mechanism::Uniform, Mechanism::MidPrice] {
        let t = clear(m, &[o(1, 1.0, 0.2), o(2, 3.0, 0.2)], &[o(3, 2.0, 0.05)]);
        let got = |b| {
            t.iter()
                .filter(|t| t.buyer == b)
                .map(|t| t.kwh)
                .sum::<f64>()
        };
        assert!(
            (got(1) - 0.5).abs() < 1e-12 && (got(2) - 1.5).abs() < 1e-12,
            "{m:?}"
        );
    }
}

/// Finding 9d: Home batteries were placed independently of PV (village80: 7 of 15 on homes without PV,
/// idle). Now they go to PV homes first; the old placement is an option.
#[test]
fn batteries_follow_pv() {
    let mut s = village(30.0);
    s.storage.battery_share_percent = 30.0;
    let c = netclear::scenario::community::build(&s).unwrap();
    let with_pv_and_battery = c
        .prosumers
        .iter()
        .filter(|p| p.battery.is_some())
        .filter(|p| p.pv_kwp > 0.0)
        .count();
    let batteries = c.prosumers.iter().filter(|p| p.battery.is_some()).count();
    assert_eq!(batteries, 15);
    assert_eq!(with_pv_and_battery, 15);
    s.storage.placement = netclear::scenario::BatteryPlacement::Independent;
    let c = netclear::scenario::community::build(&s).unwrap();
    assert!(c
        .prosumers
        .iter()
        .any(|p| p.battery.is_some() && p.pv_kwp == 0.0));
}

/// Finding 9e: `--preset paper2024 --pv-share 10` silently ignored the share while summary.json recorded
/// it. Now the paper placement honours it (10/30/50 % of the leaves), refuses what it cannot,
/// and a preset refuses a key its placement does not use.
#[test]
fn presets_honour_or_refuse_their_flags() {
    let leaves_pv = |share: f64| {
        let s = Scenario {
            pv_share_percent: share,
            ..Scenario::preset(Preset::Paper2024)
        };
        let c = netclear::scenario::community::build(&s).unwrap();
        c.prosumers.iter().filter(|p| p.pv_kwp > 0.0).count()
    };
    // CIGRE LV has 13 leaves.
    assert_eq!(leaves_pv(10.0), 1);
    assert_eq!(leaves_pv(30.0), 3);
    assert_eq!(leaves_pv(50.0), 6);
    let (code, _, err) = netclear(&[
        "run",
        "--preset",
        "paper2024",
        "--pv-share",
        "70",
        "--no-out",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("pv_share_percent"), "{err}");
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("p.toml");
    std::fs::write(&f, "preset = \"paper2024\"\nhousehold_peak_kw = 3.0\n").unwrap();
    let (code, _, err) = netclear(&["run", "--scenario", f.to_str().unwrap(), "--no-out"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("household_peak_kw") && err.contains("p.toml"),
        "{err}"
    );
}

/// The property: on random communities without flexibility, baseline and P2P physics coincide
/// step by step, and no member is worse off with P2P, for every mechanism and strategy.
#[test]
fn without_flexibility_physics_coincides_and_nobody_loses() {
    let feeders = ["cigre44", "village80", "rural_1", "rural_2", "suburb_1"];
    let mechs = [
        Mechanism::PayAsAsk,
        Mechanism::Uniform,
        Mechanism::MidPrice,
        Mechanism::Mcafee,
    ];
    let strategies = [Strategy::Fixed, Strategy::Urgency, Strategy::Zi];
    let mut x = 0x9E37_79B9_u64;
    let mut next = |n: usize| {
        x = netclear::util::rng::splitmix64(x);
        (x % n as u64) as usize
    };
    for k in 0..24 {
        let mut s = Scenario {
            network: feeders[next(feeders.len())].into(),
            pv_share_percent: [10.0, 30.0, 50.0, 80.0][next(4)],
            pv_kwp_per_household: [3.0, 6.0, 12.0][next(3)],
            seed: k,
            ..Scenario::default()
        };
        s.market.mechanism = mechs[next(mechs.len())];
        s.market.strategy = strategies[next(strategies.len())];
        s.clearing.model = [
            NetworkModel::None,
            NetworkModel::Dc,
            NetworkModel::Lindistflow,
        ][next(3)];
        if next(2) == 0 {
            s.clearing.background = Background::Enforce;
            s.clearing.vmin_pu = 0.95;
            s.clearing.vmax_pu = 1.05;
        }
        let r = run(&s);
        let what = format!(
            "{} {:?} {:?} {:?}",
            s.network, s.market.mechanism, s.market.strategy, s.clearing.model
        );
        assert!(r.day.p2p.same_physics(&r.day.baseline), "{what}");
        for (a, b) in r.day.baseline.accounts.iter().zip(&r.day.p2p.accounts) {
            for (x, y) in a.iter().zip(b) {
                assert_eq!(x.curtailed_kwh, y.curtailed_kwh, "{what}");
                assert_eq!(x.shed_kwh, y.shed_kwh, "{what}");
            }
        }
        let (bk, pk) = (&r.day.baseline.kpis, &r.day.p2p.kpis);
        let net = |k: &netclear::study::kpi::Kpis| k.community_import_kwh - k.community_export_kwh;
        assert!((net(bk) - net(pk)).abs() < 1e-9, "{what}");
        let min = member_savings(&r).into_iter().fold(f64::INFINITY, f64::min);
        assert!(min >= -1e-9, "{what}: a member is {min} worse off");
    }
}
