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

/// The small day as a user runs it the first time, writing every output file into a new
/// folder (issue 15: ≤ 10 ms). Wall time includes the file system: creating a dozen files, the
/// fsyncs of the atomic commit ([`netclear::util::atomic`]).
#[divan::bench(args = ["village80"], sample_count = 40)]
fn process_wall_with_outputs(bencher: divan::Bencher, network: &str) {
    let exe = env!("CARGO_BIN_EXE_netclear");
    let dir = tempfile::tempdir().unwrap();
    let k = std::sync::atomic::AtomicU32::new(0);
    bencher
        .with_inputs(|| {
            let k = k.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            dir.path().join(format!("out{k}"))
        })
        .bench_values(|out| {
            let st = std::process::Command::new(exe)
                .args(["run", "--network", network, "--pv-share", "30", "--quiet"])
                .arg("--out")
                .arg(&out)
                .status()
                .unwrap();
            assert!(st.success());
        });
}

/// The same day run again over its own results (`--force`): the replaced folder's files are
/// deleted after the new ones are committed, so this adds the deletion to the run above.
#[divan::bench(args = ["village80"], sample_count = 40)]
fn process_wall_replacing_outputs(bencher: divan::Bencher, network: &str) {
    let exe = env!("CARGO_BIN_EXE_netclear");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    bencher.bench(|| {
        let st = std::process::Command::new(exe)
            .args(["run", "--network", network, "--pv-share", "30", "--quiet"])
            .arg("--force")
            .arg("--out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
    });
}

/// K copies of village80 under one MV bus (`village80x<K>`: 1 041, 10 161 and 100 331 buses),
/// the whole study in process (community, both cases, corrections, AC check) with the DC and
/// LinDistFlow corrections: the cost exponent from 10³ to 10⁵ buses (issue 15: ≤ 5 s at 10⁵).
#[divan::bench(
    args = [
        "x13/dc", "x13/lindistflow", "x127/dc", "x127/lindistflow", "x1270/dc", "x1270/lindistflow"
    ],
    sample_count = 3,
    sample_size = 1
)]
fn synthetic_day(bencher: divan::Bencher, case: &str) {
    let (k, model) = case.split_once('/').unwrap();
    let mut s = scenario(&format!("village80{k}"), 60);
    if model == "dc" {
        s.clearing.model = netclear::formulation::NetworkModel::Dc;
    }
    bencher.bench(|| netclear::study::run(&s).unwrap());
}
