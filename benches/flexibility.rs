//! Flexibility benchmark (divan): a village80 day with 50 % PV, 50 % of households with an EV
//! (V2G: a MILP per EV with its proven gap) and 50 % with a shiftable load (an LP each), at 288
//! five-minute steps — both cases' dispatch (the P2P case sees the pool), the auctions, the
//! LinDistFlow correction and the AC check of every step. Issue 13's target: ≤ 1 s.
//!
//! Run: `cargo bench --bench flexibility`

use netclear::scenario::community;
use netclear::scenario::Scenario;
use netclear::storage::ev::EvCharging;
use netclear::study::run_day;

fn main() {
    divan::main();
}

fn scenario() -> Scenario {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        step_minutes: 5,
        ..Scenario::default()
    };
    s.ev.share_percent = 50.0;
    s.ev.charging = EvCharging::V2g;
    s.flex.share_percent = 50.0;
    s
}

#[divan::bench(sample_count = 5)]
fn village80_v2g_flex_5min_day(bencher: divan::Bencher) {
    let s = scenario();
    let c = community::build(&s).unwrap();
    bencher.bench(|| {
        let d = run_day(&c, &s).unwrap();
        assert!(d.p2p.kpis.ev_max_gap <= 1e-4);
        d
    });
}

/// One case's plan (every EV and shiftable load dispatched) under each charging policy.
#[divan::bench(args = ["uncontrolled", "smart", "v2g"], sample_count = 5)]
fn village80_p2p_plan_5min(bencher: divan::Bencher, policy: &str) {
    let mut s = scenario();
    s.ev.charging = match policy {
        "uncontrolled" => EvCharging::Uncontrolled,
        "smart" => EvCharging::Smart,
        _ => EvCharging::V2g,
    };
    let c = community::build(&s).unwrap();
    bencher
        .bench(|| netclear::study::plan::plan(&c, &s, netclear::study::Case::P2p, s.storage.model));
}

/// A fleet in one plan: `village80x2` (94 households), every household with a smart-charging EV
/// (an LP, or the exact DP where its optimum is unique), 288 five-minute steps, the baseline
/// case (retail prices: every household independent, so they are planned on every core,
/// `study::plan`). `flat`: the fixed tariff; `tas1`: the wholesale-pass retailer on AEMO TAS1
/// prices of 2020-01-02, the prices of `cargo bench --bench storage -- ev_fleet_100x288` (100
/// cars one by one on one thread), whose repeated 5-minute values tie about half the cars.
#[divan::bench(args = ["smart/flat", "v2g/flat", "smart/tas1", "v2g/tas1"], sample_count = 5)]
fn fleet_plan_94x288(bencher: divan::Bencher, case: &str) {
    let (policy, prices) = case.split_once('/').unwrap();
    let mut s = scenario();
    s.network = "village80x2".into();
    s.ev.share_percent = 100.0;
    s.flex.share_percent = 0.0;
    if prices == "tas1" {
        s.retailer.pricing = netclear::tariff::PricingMode::WholesalePass;
        s.retailer.wholesale_column = "tas1_rrp_aud_per_mwh".into();
    }
    s.ev.charging = if policy == "v2g" {
        EvCharging::V2g
    } else {
        EvCharging::Smart
    };
    let c = community::build(&s).unwrap();
    assert_eq!(c.evs.len(), c.prosumers.len());
    bencher.bench(|| {
        netclear::study::plan::plan(&c, &s, netclear::study::Case::Baseline, s.storage.model)
    });
}
