//! Power-flow benchmarks (divan): DC factorisation and re-solve, PTDF build, AC solve, on the
//! shipped feeders and on synthetic radial feeders of ~10³, 10⁴ and 10⁵ buses (copies of
//! village80 under one MV bus, see `netclear::network::synthetic`).
//!
//! Run: `cargo bench --bench powerflow`

use netclear::network::electrical::{Grid, Injections};
use netclear::network::topology::Topology;
use netclear::network::{registry, synthetic, Network};
use netclear::pf::ac::{AcModel, AcOptions};
use netclear::pf::dc::{DcModel, DcSolution};
use netclear::pf::ptdf::Ptdf;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn main() {
    divan::main();
}

struct Case {
    grid: Grid,
    inj: Injections,
}

fn case(name: &str) -> &'static Case {
    static CASES: OnceLock<Mutex<HashMap<String, &'static Case>>> = OnceLock::new();
    let map = CASES.get_or_init(Default::default);
    let mut map = map.lock().unwrap();
    map.entry(name.to_string()).or_insert_with(|| {
        let net: Network = match name {
            "synth1k" | "synth10k" | "synth100k" => {
                let target = match name {
                    "synth1k" => 1_000,
                    "synth10k" => 10_000,
                    _ => 100_000,
                };
                let base = registry::resolve("village80").unwrap();
                synthetic::replicate(&base, synthetic::copies_for(target, base.buses.len()))
                    .unwrap()
            }
            n => registry::resolve(n).unwrap(),
        };
        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        Box::leak(Box::new(Case { grid, inj }))
    })
}

const ALL: &[&str] = &["cigre44", "village80", "synth1k", "synth10k", "synth100k"];

#[divan::bench(args = ALL)]
fn dc_factorise(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    bencher.bench(|| DcModel::new(divan::black_box(&c.grid)).unwrap());
}

#[divan::bench(args = ALL)]
fn dc_resolve(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    let dc = DcModel::new(&c.grid).unwrap();
    let mut ws = dc.workspace();
    let mut out = DcSolution::default();
    dc.solve_into(&c.inj.p_mw, &mut ws, &mut out);
    bencher.bench_local(|| dc.solve_into(divan::black_box(&c.inj.p_mw), &mut ws, &mut out));
}

#[divan::bench(args = ALL)]
fn ptdf_build(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    let topo = Topology::new(&c.grid);
    let dc = DcModel::new(&c.grid).unwrap();
    bencher.bench(|| Ptdf::new(&c.grid, &topo, &dc));
}

#[divan::bench(args = ALL)]
fn ac_solve(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    let ac = AcModel::new(&c.grid).unwrap();
    let opt = AcOptions::default();
    assert!(ac.solve(&c.inj.p_mw, &c.inj.q_mvar, &opt).converged);
    bencher.bench(|| ac.solve(divan::black_box(&c.inj.p_mw), &c.inj.q_mvar, &opt));
}

#[divan::bench(args = ["cigre44", "village80", "synth10k"])]
fn ac_model_build(bencher: divan::Bencher, name: &str) {
    let c = case(name);
    bencher.bench(|| AcModel::new(&c.grid).unwrap());
}
