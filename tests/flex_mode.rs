//! The three ways the community's flexibility decides (issue 13, `--flex-mode`): seed 004's
//! inner demand response (each household minimises its own imbalance before trading, in both
//! cases), the price-responsive mode (the pool's price and the network charge a buyer expects),
//! and the central optimum, with the price of decentralisation across them. Hand-derived small
//! cases, the optimality law of the inner dispatch, the welfare bound of the central optimum,
//! and the CLI.

mod common;
use common::netclear;

use netclear::scenario::{community, ClearingMode, FlexMode, Scenario};
use netclear::storage::{self, Battery, DayInput, MilpSettings, Pool, StorageModel};
use netclear::study::{self, plan, Case};

/// One household, no PV, a flat 1 kW load, retail 0.10 $/kWh in the first five hours and 0.40
/// after, feed-in 0.05, the default home battery (10 kWh, 5 kW, η = 0.95 each way, SOC 10–90 %,
/// starting at and returning to 50 %); no network.
///
/// By hand. Minimising the bill (the baseline's retail response) the battery fills from 5 to
/// 9 kWh in the cheap hours (4/0.95 kWh bought at 0.10) and gives 4·0.95 = 3.8 kWh back in the
/// dear ones: the bill is 5·0.10 + 19·0.40 − 3.8·0.40 + 0.10·4/0.95 = 7.001053 $. Minimising its
/// own imbalance (inner), every kWh cycled raises what the household draws by the round trip's
/// losses, so the battery stays idle: it draws exactly its load, the bill 8.10 $.
#[test]
fn inner_battery_does_not_arbitrage_the_grid_where_the_bill_minimiser_does() {
    let mut s = Scenario {
        network: "village80".into(),
        ..Scenario::default()
    };
    s.clearing.model = netclear::clearing::NetworkModel::None;
    let mut c = community::build(&s).unwrap();
    let n = c.n_steps();
    assert_eq!(n, 24);
    c.prosumers.truncate(1);
    c.prosumers[0].pv_kw = vec![0.0; n];
    c.prosumers[0].load_kw = vec![1.0; n];
    c.prosumers[0].battery = Some(Battery::default());
    c.evs.clear();
    c.shiftables.clear();
    c.shared = None;
    c.retail_per_kwh = (0..n).map(|t| if t < 5 { 0.10 } else { 0.40 }).collect();
    c.feed_in_per_kwh = vec![0.05; n];
    let bill = |p: &plan::Plan| -> (f64, f64) {
        let d = p.dispatch[0].as_ref().unwrap();
        let imp: f64 = d.import_kw.iter().sum();
        let cost = (0..n)
            .map(|t| d.import_kw[t] * c.retail_per_kwh[t] - d.export_kw[t] * 0.05)
            .sum();
        (imp, cost)
    };
    let retail = plan::plan(&c, &s, Case::Baseline, StorageModel::Milp);
    let (imp_r, cost_r) = bill(&retail);
    let by_hand = 0.5 + 19.0 * 0.40 - 3.8 * 0.40 + 0.10 * 4.0 / 0.95;
    assert!((cost_r - by_hand).abs() < 1e-6, "{cost_r} vs {by_hand}");
    assert!((imp_r - (24.0 - 3.8 + 4.0 / 0.95)).abs() < 1e-6, "{imp_r}");
    s.flex.mode = Some(FlexMode::Inner);
    for case in [Case::Baseline, Case::P2p] {
        let inner = plan::plan(&c, &s, case, StorageModel::Milp);
        let d = inner.dispatch[0].as_ref().unwrap();
        assert!(d
            .charge_kw
            .iter()
            .chain(&d.discharge_kw)
            .all(|x| x.abs() < 1e-7));
        let (imp, cost) = bill(&inner);
        assert!((imp - 24.0).abs() < 1e-6, "{imp}");
        assert!((cost - 8.10).abs() < 1e-6, "{cost}");
    }
}

/// The network charge a buyer expects reaches the battery's decision. Two hours, retail 0.25,
/// feed-in 0.05; hour 0: no load, the pool offers 5 kW at 0.15; hour 1: a 2 kW load, nothing in the pool. The default
/// battery (η = 0.95 each way, returning to its start) can buy `2/0.95²` kWh from the pool in hour
/// 0 to serve the load in hour 1: each kWh served costs 0.15/0.9025 = 0.1662 < 0.25, so it does,
/// and the day costs 0.15·2/0.9025 = 0.3324 $. With a charge of 0.10 per kWh bought from the pool
/// the kWh served costs 0.25/0.9025 > 0.25: the battery stays idle and the load is bought at
/// retail, 0.50 $.
#[test]
fn a_pool_buyers_network_charge_changes_the_battery_dispatch_by_hand() {
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &[0.0, 2.0],
        pv_kw: &[0.0, 0.0],
        import_per_kwh: &[0.25, 0.25],
        export_per_kwh: &[0.05, 0.05],
        allow_curtailment: false,
    };
    let b = Battery::default();
    let st = MilpSettings::default();
    for (charge, buys, cost) in [
        (&[][..], 2.0 / 0.9025, 0.15 * 2.0 / 0.9025),
        (&[0.10, 0.10][..], 0.0, 0.50),
    ] {
        let pool = Pool {
            price_per_kwh: &[0.15, 0.15],
            import_cap_kw: &[5.0, 0.0],
            export_cap_kw: &[0.0, 0.0],
            buy_charge_per_kwh: charge,
        };
        let d = storage::dispatch_in(&b, &inp, Some(&pool), StorageModel::Milp, &st);
        assert!(d.status.is_ok());
        assert!(
            (d.charge_kw[0] - buys).abs() < 1e-6,
            "{charge:?}: {:?}",
            d.charge_kw
        );
        assert!(
            (d.cost - cost).abs() < 1e-6,
            "{charge:?}: {} vs {cost}",
            d.cost
        );
    }
}

/// village80, 50 % PV, 50 % home batteries (MILP), nothing else: every household's battery is
/// its home's optimum. The inner dispatch minimises `W·import + bill`, the retail one `bill`, so
/// by optimality `W·I_in + B_in ≤ W·I_re + B_re` and `B_re ≤ B_in`: each household imports no
/// more under inner than under the retail response. In the inner mode both cases plan alike, so
/// baseline and P2P are physically the same day.
#[test]
fn inner_imports_no_more_than_the_retail_response_and_both_cases_are_physically_one() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 50.0;
    let c = community::build(&s).unwrap();
    let retail = plan::plan(&c, &s, Case::Baseline, StorageModel::Milp);
    let mut si = s.clone();
    si.flex.mode = Some(FlexMode::Inner);
    let inner = plan::plan(&c, &si, Case::Baseline, StorageModel::Milp);
    let mut n_batteries = 0;
    for (a, b) in inner.dispatch.iter().zip(&retail.dispatch) {
        let (Some(a), Some(b)) = (a, b) else { continue };
        n_batteries += 1;
        let (ia, ib): (f64, f64) = (a.import_kw.iter().sum(), b.import_kw.iter().sum());
        assert!(ia <= ib + 1e-6, "inner imports {ia} > retail {ib}");
    }
    assert!(n_batteries > 0);
    // Baseline and P2P alike, physically and in every plan.
    si.ev.share_percent = 30.0;
    si.ev.charging = netclear::storage::ev::EvCharging::V2g;
    si.flex.share_percent = 30.0;
    let r = study::run(&si).unwrap();
    assert!(!r.community.evs.is_empty() && !r.community.shiftables.is_empty());
    assert_eq!(r.day.baseline.plan, r.day.p2p.plan);
    assert!(r.day.p2p.same_physics(&r.day.baseline));
    assert!(r.day.p2p.kpis.storage_max_gap <= 1e-4);
    assert!(r.day.p2p.kpis.ev_max_gap <= 1e-4);
    assert_eq!(r.day.p2p.kpis.ev_short, 0);
}

/// The central optimum bounds every decentralised mode's welfare cost (bill, shed load at
/// VOLL, discomfort), up to its proven gap; each mode's record is its own P2P day, and the
/// central one the central case's.
#[test]
fn central_welfare_bounds_inner_and_price_modes() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 50.0;
    s.ev.share_percent = 30.0;
    s.ev.charging = netclear::storage::ev::EvCharging::Smart;
    s.flex.share_percent = 50.0;
    s.flex.curtail_fraction = 0.1;
    s.storage.clearing = ClearingMode::Central;
    let r = study::run(&s).unwrap();
    let dz = r.comparisons.decentralisation.as_ref().unwrap();
    let names: Vec<&str> = dz.modes.iter().map(|m| m.mode.as_str()).collect();
    assert_eq!(names, ["central", "inner", "price"]);
    let central = &dz.modes[0];
    let k = &r.day.p2p.kpis;
    let own = study::grid_cost(&r.day.p2p, s.clearing.voll_per_kwh) + k.flex_discomfort_cost;
    assert!((central.welfare_cost - own).abs() < 1e-9);
    assert!((central.peak_import_kw - k.peak_import_kw).abs() < 1e-12);
    let tol = dz.central_gap * dz.central_objective.abs() + 1e-6;
    for m in &dz.modes[1..] {
        assert!(
            central.welfare_cost <= m.welfare_cost + tol,
            "central {} > {} {}",
            central.welfare_cost,
            m.mode,
            m.welfare_cost
        );
        assert!(
            (m.price_of_decentralisation - (m.welfare_cost - central.welfare_cost)).abs() < 1e-9
        );
        assert!(m.slack_import_kwh >= 0.0 && m.slack_export_kwh >= 0.0);
    }
}

/// `--flex-mode` through the CLI: `inner` and `price` set `flex.mode`, `central` is central
/// clearing and reports the three modes in summary.json.
#[test]
fn cli_flex_modes() {
    let dir = tempfile::tempdir().unwrap();
    for mode in ["inner", "price", "central"] {
        let out = dir.path().join(mode);
        let (code, text, err) = netclear(&[
            "run",
            "--network",
            "village80",
            "--pv-share",
            "50",
            "--battery-share",
            "30",
            "--flex-share",
            "50",
            "--flex-mode",
            mode,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{mode}: {err}");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let sc = &v["scenario"];
        match mode {
            "central" => {
                assert_eq!(sc["storage"]["clearing"], "central");
                let modes = v["decentralisation"]["modes"].as_array().unwrap();
                assert_eq!(modes.len(), 3);
                assert!(text.contains("flexibility modes"), "{text}");
            }
            m => {
                assert_eq!(sc["flex"]["mode"], m);
                assert!(v.get("decentralisation").is_none());
            }
        }
        if mode == "inner" {
            assert_eq!(v["physics_identical"], true);
        }
    }
    let (code, _, err) = netclear(&["run", "--network", "village80", "--flex-mode", "nope"]);
    assert_eq!(code, 2, "{err}");
}

/// The same two-hour case through the branch and bound (the exact DP off): both solvers see the
/// buyer's network charge alike.
#[test]
fn the_pool_charge_is_the_same_under_dp_and_branch_and_bound() {
    let inp = DayInput {
        dt_h: 1.0,
        load_kw: &[0.0, 2.0, 1.0],
        pv_kw: &[0.0, 0.0, 3.0],
        import_per_kwh: &[0.25, 0.25, 0.25],
        export_per_kwh: &[0.05, 0.05, 0.05],
        allow_curtailment: false,
    };
    let b = Battery::default();
    for charge in [&[][..], &[0.05, 0.05, 0.05][..], &[0.10, 0.02, 0.0][..]] {
        let pool = Pool {
            price_per_kwh: &[0.15, 0.15, 0.15],
            import_cap_kw: &[5.0, 0.5, 0.0],
            export_cap_kw: &[0.0, 0.0, 1.0],
            buy_charge_per_kwh: charge,
        };
        let dp = MilpSettings::default();
        let bb = MilpSettings {
            dp: false,
            ..MilpSettings::default()
        };
        let a = storage::dispatch_in(&b, &inp, Some(&pool), StorageModel::Milp, &dp);
        let z = storage::dispatch_in(&b, &inp, Some(&pool), StorageModel::Milp, &bb);
        assert!(a.status.is_ok() && z.status.is_ok());
        assert!(
            (a.cost - z.cost).abs() < 1e-6,
            "{charge:?}: dp {} vs b&b {}",
            a.cost,
            z.cost
        );
    }
}
