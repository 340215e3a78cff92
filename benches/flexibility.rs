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
