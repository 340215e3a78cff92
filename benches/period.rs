//! Multi-day benchmarks (divan): a week of village80 hourly, with and without home batteries
//! (every battery planned with a one-day look-ahead, its state carried across midnight).
//!
//! Run: `cargo bench --bench period`

use netclear::scenario::Scenario;

fn main() {
    divan::main();
}

fn week(battery_share: f64) -> Scenario {
    let mut s = Scenario {
        network: "village80".into(),
        days: Some("2016-06-14..2016-06-20".into()),
        ..Scenario::default()
    };
    s.storage.battery_share_percent = battery_share;
    s
}

#[divan::bench(args = [0.0, 50.0], sample_count = 10)]
fn village80_week_hourly(bencher: divan::Bencher, battery_share: f64) {
    let s = week(battery_share);
    bencher.bench(|| netclear::study::run(&s).unwrap());
}
