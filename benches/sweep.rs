//! Sweep throughput (divan): 3 PV shares × 30 days on village80 with DC network correction,
//! on 1 and on 2 threads (scenarios per second = 90 / time).
//!
//! Run: `cargo bench --bench sweep`. The full-year target (3 × 365 = 1,095 scenarios ≤ 30 s on
//! 2 cores) is measured with the CLI: `netclear sweep --networks village80 --pv-shares 10,30,50
//! --network-models dc --days-from 2016-01-01 --days-to 2016-12-30`.

use netclear::sweep::{run, Grid, Sweep};

fn main() {
    divan::main();
}

#[divan::bench(args = [1, 2], sample_count = 3)]
fn village80_3x30_days(bencher: divan::Bencher, jobs: usize) {
    let mut base = netclear::scenario::Scenario {
        network: "village80".into(),
        ..Default::default()
    };
    base.clearing.model = netclear::clearing::NetworkModel::Dc;
    let days: Vec<String> = (1..=30).map(|d| format!("2016-06-{d:02}")).collect();
    let sweep = Sweep {
        base,
        grid: Grid {
            pv_shares: vec![10.0, 30.0, 50.0],
            days,
            ..Grid::default()
        },
    };
    bencher.bench(|| {
        let dir = tempfile::tempdir().unwrap();
        run(&sweep, dir.path(), (1, 1), jobs, &|_, _| {}).unwrap()
    });
}
