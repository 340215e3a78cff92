//! Battery MILP benchmarks (divan): prosumers × steps with real 5-minute AEMO prices through the
//! `wholesale-pass` retailer (TAS1 on 2 Jan 2020 has negative prices, so some exports cost money),
//! SimBench households and PV, one 10 kWh / 5 kW battery per prosumer and the 50 kWh community
//! battery dispatched against the residual. Decomposed: batteries are independent given prices.
//!
//! `ev_fleet_100x288`: 100 EVs (smart: LP; V2G: MILP) over the same day, the flexibility of
//! issue 13 inside the MILP budget of issue 15.
//!
//! Run: `cargo bench --bench storage`

use netclear::profiles::{read_day, source_text};
use netclear::storage::ev::{self, EvCharging};
use netclear::storage::{dispatch, Battery, DayInput, MilpSettings, StorageModel};
use netclear::tariff::WholesalePass;

fn main() {
    divan::main();
}

struct Day {
    loads: Vec<Vec<f64>>,
    pv: Vec<f64>,
    retail: Vec<f64>,
    fit: Vec<f64>,
    dt: f64,
}

fn day(steps: usize) -> Day {
    let step_min = (1440 / steps) as u32;
    let (l, t) = source_text("builtin:households").unwrap();
    let hh = read_day(&l, &t, Some("2016-06-15"), &[])
        .unwrap()
        .resampled(step_min)
        .unwrap();
    let (l, t) = source_text("builtin:pv").unwrap();
    let pv = read_day(&l, &t, Some("2016-06-15"), &["pv3_kw_per_kwp"])
        .unwrap()
        .resampled(step_min)
        .unwrap();
    let (l, t) = source_text("builtin:aemo").unwrap();
    let w = read_day(&l, &t, Some("2020-01-02"), &["tas1_rrp_aud_per_mwh"])
        .unwrap()
        .resampled(step_min)
        .unwrap();
    let (retail, fit) = WholesalePass::default().prices(&w.series[0].per_kwh());
    Day {
        loads: hh.series.iter().map(|s| s.values.clone()).collect(),
        pv: pv.series[0].values.iter().map(|v| v * 3.0).collect(),
        retail,
        fit,
        dt: step_min as f64 / 60.0,
    }
}

fn community(d: &Day, prosumers: usize, model: StorageModel, st: &MilpSettings) -> f64 {
    let b = Battery::default();
    let n = d.retail.len();
    let mut residual = vec![0.0; n];
    let mut worst_gap: f64 = 0.0;
    for i in 0..prosumers {
        let load = &d.loads[i % d.loads.len()];
        let inp = DayInput {
            dt_h: d.dt,
            load_kw: load,
            pv_kw: &d.pv,
            import_per_kwh: &d.retail,
            export_per_kwh: &d.fit,
            allow_curtailment: true,
        };
        let r = dispatch(&b, &inp, model, st);
        worst_gap = worst_gap.max(r.gap);
        for t in 0..n {
            residual[t] += r.import_kw[t] - r.export_kw[t];
        }
    }
    let deficit: Vec<f64> = residual.iter().map(|v| v.max(0.0)).collect();
    let surplus: Vec<f64> = residual.iter().map(|v| (-v).max(0.0)).collect();
    let inp = DayInput {
        dt_h: d.dt,
        load_kw: &deficit,
        pv_kw: &surplus,
        import_per_kwh: &d.retail,
        export_per_kwh: &d.fit,
        allow_curtailment: false,
    };
    let v = dispatch(&Battery::community(), &inp, model, st);
    worst_gap.max(v.gap)
}

#[divan::bench(args = [(4, 288), (20, 288), (100, 96), (100, 288)], sample_count = 5)]
fn milp_community(bencher: divan::Bencher, (prosumers, steps): (usize, usize)) {
    let d = day(steps);
    let st = MilpSettings::default();
    let gap = community(&d, prosumers, StorageModel::Milp, &st);
    assert!(gap <= 1e-4, "gap {gap}");
    bencher.bench(|| community(&d, prosumers, StorageModel::Milp, &st));
}

/// The same without the exact DP ([`netclear::storage::dp`]): every battery through the
/// Clarabel LP and its branch and bound (the path before the DP).
#[divan::bench(args = [(100, 288)], sample_count = 5)]
fn milp_community_branch_and_bound(bencher: divan::Bencher, (prosumers, steps): (usize, usize)) {
    let d = day(steps);
    let st = MilpSettings {
        dp: false,
        ..MilpSettings::default()
    };
    let gap = community(&d, prosumers, StorageModel::Milp, &st);
    assert!(gap <= 1e-4, "gap {gap}");
    bencher.bench(|| community(&d, prosumers, StorageModel::Milp, &st));
}

#[divan::bench(args = [(20, 288), (100, 288)], sample_count = 5)]
fn lp_community(bencher: divan::Bencher, (prosumers, steps): (usize, usize)) {
    let d = day(steps);
    bencher.bench(|| community(&d, prosumers, StorageModel::Lp, &MilpSettings::default()));
}

/// A fleet of EVs (issue 15: "the flexibility … inside the same budget"): `evs` cars drawn as
/// `--ev-share` draws them (seed 1, one household each: 40–80 kWh, 3.7/11 kW, evening arrival,
/// morning departure), each dispatched under `policy` over its plug-in window of the same
/// 5-minute day against its household's load and PV (every third home has 3 kWp). V2G is a MILP
/// per car (the exact DP where it applies, else branch and bound), smart charging an LP.
/// Returns the worst proven gap (V2G) and the energy delivered, kWh.
fn ev_fleet(d: &Day, evs: usize, policy: EvCharging, st: &MilpSettings) -> (f64, f64) {
    let step_min = (d.dt * 60.0).round() as u32;
    let none = vec![0.0; d.retail.len()];
    let (mut worst_gap, mut delivered): (f64, f64) = (0.0, 0.0);
    for i in 0..evs {
        let ev = ev::draw(i, 1, 1);
        let inp = DayInput {
            dt_h: d.dt,
            load_kw: &d.loads[i % d.loads.len()],
            pv_kw: if i % 3 == 0 { &d.pv } else { &none },
            import_per_kwh: &d.retail,
            export_per_kwh: &d.fit,
            allow_curtailment: true,
        };
        let r = ev::dispatch(&ev, policy, step_min, &inp, None, st);
        if policy == EvCharging::V2g {
            worst_gap = worst_gap.max(r.dispatch.gap);
        }
        delivered += r.delivered_kwh;
    }
    (worst_gap, delivered)
}

#[divan::bench(args = ["smart", "v2g"], sample_count = 5)]
fn ev_fleet_100x288(bencher: divan::Bencher, policy: &str) {
    let d = day(288);
    let policy = if policy == "v2g" {
        EvCharging::V2g
    } else {
        EvCharging::Smart
    };
    let st = MilpSettings::default();
    let (gap, delivered) = ev_fleet(&d, 100, policy, &st);
    assert!(gap <= 1e-4, "gap {gap}");
    assert!(delivered > 0.0);
    bencher.bench(|| ev_fleet(&d, 100, policy, &st));
}
