//! AC time-series benchmarks (divan): one day of 96 quarter-hour steps on radial feeders of
//! 80, ~10³, ~10⁴ and ~10⁵ buses (village80 and `village80xK` copies under one MV bus, see
//! `netclear::network::synthetic`), solved step after step on one topology through
//! `AcModel::solve_into` (warm start from the previous step, factorisations kept), by the radial
//! current-injection method and by Newton–Raphson; and single cold solves.
//!
//! Two days of injections, both with q = 0.2·p for loads:
//!
//! - `*_pv` (summer day with PV): every load bus holds `round(p_kw / 5.1)` households (at least
//!   one) following the SimBench H0 profiles of 2016-06-21 (columns a, b, c, g, l in turn by
//!   node); 30 % of the load buses (node index ≡ 0, 3, 6 mod 10) have 3 kWp of PV on the SimBench
//!   PV profiles of that day. Light: the lowest voltage of the day is 0.993 p.u. (0.995 on
//!   village80 alone).
//! - `*_peak` (stress day): the feeder's own design loads (`p_mw` of `loads.csv`, 5.1 kW per
//!   village80 household) shaped by the H0 profiles of 2016-01-14 normalised to a daily maximum
//!   of 1, no PV: every load bus reaches its design peak once; the lowest voltage is 0.962 p.u.
//!   (0.965 on village80 alone).
//!
//! Filling the injection vectors is inside the timed loop (`fill_only` times it alone).
//!
//! Throughput is in node-steps (`item/s`): µs per node-step = 10⁶ / (item/s), or the median time
//! divided by `nodes × 96`. Power-grid-model quotes 0.41 µs per node-step for its Newton solver
//! and 0.18 µs for its linear solver in a time series; pandapower 10.6 µs.
//!
//! Run: `cargo bench --bench ac_series` (or e.g. `-- radial_day` for one group).

use divan::counter::ItemsCount;
use netclear::network::electrical::Grid;
use netclear::network::{registry, synthetic, Network};
use netclear::pf::ac::{AcMethod, AcModel, AcOptions, AcSolution, AcSolveOptions};
use netclear::profiles::{source_text, SeriesFile};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn main() {
    divan::main();
}

const STEPS: usize = 96;
const FEEDERS: &[&str] = &[
    "village80",
    "village80x13",
    "village80x127",
    "village80x1266",
];

/// Which day of injections.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Day {
    Pv,
    Peak,
}

struct Case {
    grid: Grid,
    ac: AcModel,
    /// Per node: load scale (MW per unit of profile), profile column, PV kWp, PV column.
    load_scale_mw: Vec<f64>,
    hh_col: Vec<usize>,
    pv_kwp: Vec<f64>,
    pv_col: Vec<usize>,
    /// [column][step]: load profile and kW per kWp.
    load: Vec<Vec<f64>>,
    pv_kw_per_kwp: Vec<Vec<f64>>,
}

impl Case {
    fn n(&self) -> usize {
        self.grid.n_nodes()
    }

    /// Injections of step `t` (generator convention, MW / Mvar).
    fn fill(&self, t: usize, p: &mut [f64], q: &mut [f64]) {
        for k in 0..self.n() {
            let load_mw = self.load_scale_mw[k] * self.load[self.hh_col[k]][t];
            let pv_mw = self.pv_kwp[k] * self.pv_kw_per_kwp[self.pv_col[k]][t] * 1e-3;
            p[k] = pv_mw - load_mw;
            q[k] = -0.2 * load_mw;
        }
    }
}

fn series(spec: &str, date: &str, columns: &[&str]) -> Vec<Vec<f64>> {
    let (label, text) = source_text(spec).unwrap();
    let file = SeriesFile::parse(&label, &text).unwrap();
    let day = file.day(Some(date), columns).unwrap();
    columns
        .iter()
        .map(|c| day.get(c).unwrap().values.clone())
        .collect()
}

const H0: &[&str] = &[
    "h0_a_load_kw",
    "h0_b_load_kw",
    "h0_c_load_kw",
    "h0_g_load_kw",
    "h0_l_load_kw",
];
const PV: &[&str] = &[
    "pv1_kw_per_kwp",
    "pv3_kw_per_kwp",
    "pv5_kw_per_kwp",
    "pv8_kw_per_kwp",
];

fn case(name: &str, day: Day) -> &'static Case {
    static CASES: OnceLock<Mutex<HashMap<(String, Day), &'static Case>>> = OnceLock::new();
    let map = CASES.get_or_init(Default::default);
    let mut map = map.lock().unwrap();
    map.entry((name.to_string(), day)).or_insert_with(|| {
        let net: Network = match name.split_once('x') {
            Some((base, k)) => {
                synthetic::replicate(&registry::resolve(base).unwrap(), k.parse().unwrap()).unwrap()
            }
            None => registry::resolve(name).unwrap(),
        };
        let grid = Grid::from_network(&net).unwrap();
        let ac = AcModel::new(&grid).unwrap();
        let n = grid.n_nodes();
        let mut design_kw = vec![0.0; n];
        for l in net.loads.iter().filter(|l| l.in_service) {
            if let Some(k) = grid.node_of_bus(l.bus) {
                design_kw[k] += l.p_mw * l.scaling * 1e3;
            }
        }
        let (load_scale_mw, pv_kwp, load, pv_kw_per_kwp) = match day {
            Day::Pv => {
                // Households × kW per household.
                let scale = design_kw
                    .iter()
                    .map(|&kw| {
                        if kw > 0.0 {
                            (kw / 5.1).round().max(1.0) * 1e-3
                        } else {
                            0.0
                        }
                    })
                    .collect::<Vec<f64>>();
                let pv = (0..n)
                    .map(|k| {
                        if design_kw[k] > 0.0 && matches!(k % 10, 0 | 3 | 6) {
                            3.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (
                    scale,
                    pv,
                    series("builtin:households", "2016-06-21", H0),
                    series("builtin:pv", "2016-06-21", PV),
                )
            }
            Day::Peak => {
                // Design load × profile normalised to a daily maximum of 1.
                let mut load = series("builtin:households", "2016-01-14", H0);
                for col in &mut load {
                    let max = col.iter().copied().fold(0.0, f64::max);
                    col.iter_mut().for_each(|v| *v /= max);
                }
                (
                    design_kw.iter().map(|kw| kw * 1e-3).collect(),
                    vec![0.0; n],
                    load,
                    vec![vec![0.0; STEPS]; PV.len()],
                )
            }
        };
        let c = Case {
            hh_col: (0..n).map(|k| k % 5).collect(),
            pv_col: (0..n).map(|k| k % 4).collect(),
            load_scale_mw,
            pv_kwp,
            load,
            pv_kw_per_kwp,
            grid,
            ac,
        };
        report_iterations(name, day, &c);
        Box::leak(Box::new(c))
    })
}

/// One day; returns the iterations summed over the steps (every step must converge by the
/// method asked for).
fn run_day(
    c: &Case,
    opt: &AcSolveOptions,
    ws: &mut netclear::pf::ac::AcWorkspace,
    out: &mut AcSolution,
    p: &mut [f64],
    q: &mut [f64],
) -> usize {
    ws.reset();
    let mut iterations = 0;
    for t in 0..STEPS {
        c.fill(t, p, q);
        c.ac.solve_into(p, q, opt, ws, out);
        debug_assert!(out.converged && out.fallback.is_none());
        iterations += out.iterations;
    }
    iterations
}

fn opts(method: AcMethod) -> AcSolveOptions {
    AcSolveOptions {
        method,
        ..Default::default()
    }
}

/// Iterations per step of both methods on this feeder's day (printed once, outside timing).
fn report_iterations(name: &str, day: Day, c: &Case) {
    let n = c.n();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    let mut out = AcSolution::default();
    for method in [AcMethod::IterativeCurrent, AcMethod::NewtonRaphson] {
        let mut ws = c.ac.workspace();
        ws.reset();
        let mut its = Vec::with_capacity(STEPS);
        let mut vmin = f64::INFINITY;
        for t in 0..STEPS {
            c.fill(t, &mut p, &mut q);
            c.ac.solve_into(&p, &q, &opts(method), &mut ws, &mut out);
            assert!(
                out.converged,
                "{name} step {t} {method:?}: {:?}",
                out.failure
            );
            assert_eq!(out.method, method);
            its.push(out.iterations);
            vmin = out.vm_pu.iter().copied().fold(vmin, f64::min);
        }
        eprintln!(
            "[ac_series] {name} {day:?}: {n} nodes, {method:?}: iterations first step {}, steps \
             2..{STEPS} mean {:.2} (min {}, max {}), Newton LU factorisations {}, lowest vm \
             {vmin:.4} pu",
            its[0],
            its[1..].iter().sum::<usize>() as f64 / (STEPS - 1) as f64,
            its[1..].iter().min().unwrap(),
            its[1..].iter().max().unwrap(),
            ws.newton.factorisations,
        );
    }
}

fn bench_series(bencher: divan::Bencher, name: &str, day: Day, method: AcMethod) {
    let c = case(name, day);
    let n = c.n();
    let opt = opts(method);
    let mut ws = c.ac.workspace();
    let mut out = AcSolution::default();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    run_day(c, &opt, &mut ws, &mut out, &mut p, &mut q);
    bencher
        .counter(ItemsCount::new(n * STEPS))
        .bench_local(|| run_day(c, &opt, &mut ws, &mut out, &mut p, &mut q));
}

/// Summer day with PV, 96 steps, radial method (warm start, tree factorisation of Y kept).
#[divan::bench(args = FEEDERS, sample_count = 10, sample_size = 1)]
fn radial_day_pv(bencher: divan::Bencher, name: &str) {
    bench_series(bencher, name, Day::Pv, AcMethod::IterativeCurrent);
}

/// Design-peak day, 96 steps, radial method.
#[divan::bench(args = FEEDERS, sample_count = 10, sample_size = 1)]
fn radial_day_peak(bencher: divan::Bencher, name: &str) {
    bench_series(bencher, name, Day::Peak, AcMethod::IterativeCurrent);
}

/// Summer day with PV, 96 steps, Newton–Raphson (warm start, LU factor kept while it
/// converges fast).
#[divan::bench(args = FEEDERS, sample_count = 10, sample_size = 1)]
fn newton_day_pv(bencher: divan::Bencher, name: &str) {
    bench_series(bencher, name, Day::Pv, AcMethod::NewtonRaphson);
}

/// Design-peak day, 96 steps, Newton–Raphson.
#[divan::bench(args = FEEDERS, sample_count = 10, sample_size = 1)]
fn newton_day_peak(bencher: divan::Bencher, name: &str) {
    bench_series(bencher, name, Day::Peak, AcMethod::NewtonRaphson);
}

/// Filling the injections of the 96 steps, nothing else (the overhead inside the day benches).
#[divan::bench(args = FEEDERS, sample_count = 10, sample_size = 1)]
fn fill_only(bencher: divan::Bencher, name: &str) {
    let c = case(name, Day::Pv);
    let n = c.n();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    bencher.counter(ItemsCount::new(n * STEPS)).bench_local(|| {
        for t in 0..STEPS {
            c.fill(t, &mut p, &mut q);
            divan::black_box((&p, &q));
        }
    });
}

/// One cold radial solve (flat start) of the design-peak evening step (18:00), model and
/// workspace reused.
#[divan::bench(args = FEEDERS, sample_count = 20)]
fn radial_single(bencher: divan::Bencher, name: &str) {
    let c = case(name, Day::Peak);
    let n = c.n();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    c.fill(72, &mut p, &mut q);
    let opt = opts(AcMethod::IterativeCurrent);
    let mut ws = c.ac.workspace();
    let mut out = AcSolution::default();
    bencher.counter(ItemsCount::new(n)).bench_local(|| {
        ws.reset();
        c.ac.solve_into(&p, &q, &opt, &mut ws, &mut out);
    });
}

/// One cold Newton solve of the same step through the one-off API (`AcModel::solve`: DC start,
/// workspace allocated per call, so one LU factorisation at least).
#[divan::bench(args = FEEDERS, sample_count = 10)]
fn newton_single(bencher: divan::Bencher, name: &str) {
    let c = case(name, Day::Peak);
    let n = c.n();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    c.fill(72, &mut p, &mut q);
    bencher
        .counter(ItemsCount::new(n))
        .bench_local(|| c.ac.solve(&p, &q, &AcOptions::default()));
}

/// The same cold Newton solve refactorising the Jacobian every iteration (the method before
/// the kept factor; `reuse_jacobian: false`).
#[divan::bench(args = FEEDERS, sample_count = 10)]
fn newton_single_refactor(bencher: divan::Bencher, name: &str) {
    let c = case(name, Day::Peak);
    let n = c.n();
    let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
    c.fill(72, &mut p, &mut q);
    let opt = AcSolveOptions {
        method: AcMethod::NewtonRaphson,
        warm_start: false,
        reuse_jacobian: false,
        ..Default::default()
    };
    let mut ws = c.ac.workspace();
    let mut out = AcSolution::default();
    bencher
        .counter(ItemsCount::new(n))
        .bench_local(|| c.ac.solve_into(&p, &q, &opt, &mut ws, &mut out));
}

/// Building the AC model (Y, Jacobian symbolic LU, DC model, tree factorisation).
#[divan::bench(args = FEEDERS, sample_count = 10)]
fn model_build(bencher: divan::Bencher, name: &str) {
    let c = case(name, Day::Pv);
    bencher.bench(|| AcModel::new(&c.grid).unwrap());
}
