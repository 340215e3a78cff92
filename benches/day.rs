//! Whole-day benchmarks (divan): the day loop in process (auctions, settlement, two DC flows per
//! step) on a built community, the community build (profile loading included), and the whole
//! `netclear run` process.
//!
//! Run: `cargo bench --bench day`

use netclear::scenario::community;
use netclear::scenario::Scenario;
use netclear::study::run_day;

fn main() {
    divan::main();
}

fn scenario(network: &str, step: u32) -> Scenario {
    Scenario {
        network: network.into(),
        step_minutes: step,
        ..Scenario::default()
    }
}

#[divan::bench(args = ["cigre44", "village80", "suburb_1"])]
fn day_in_process_hourly(bencher: divan::Bencher, network: &str) {
    let s = scenario(network, 60);
    let c = community::build(&s).unwrap();
    bencher.bench(|| run_day(&c, &s).unwrap());
}

#[divan::bench(args = ["cigre44", "village80"])]
fn day_in_process_5min(bencher: divan::Bencher, network: &str) {
    let s = scenario(network, 5);
    let c = community::build(&s).unwrap();
    bencher.bench(|| run_day(&c, &s).unwrap());
}

#[divan::bench(args = ["cigre44", "village80"])]
fn community_build(bencher: divan::Bencher, network: &str) {
    let s = scenario(network, 60);
    bencher.bench(|| community::build(&s).unwrap());
}

#[divan::bench(args = ["cigre44", "village80"], sample_count = 20)]
fn process_wall(bencher: divan::Bencher, network: &str) {
    let exe = env!("CARGO_BIN_EXE_netclear");
    bencher.bench(|| {
        let st = std::process::Command::new(exe)
            .args([
                "run",
                "--network",
                network,
                "--pv-share",
                "30",
                "--no-out",
                "--quiet",
            ])
            .status()
            .unwrap();
        assert!(st.success());
    });
}
