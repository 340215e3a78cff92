//! Shared helpers for the integration tests: oracle discovery and scenario construction.
#![allow(dead_code)]

use netclear::network::{registry, BusId, ElementId, Network, PowerElement};
use netclear::table::Table;
use std::path::{Path, PathBuf};

/// Folders holding pandapower oracle scenarios laid out as `<feeder>/<scenario>/`.
/// The shipped copy under `tests/data/oracles`, plus `../shared/refdata/oracles` when present
/// (CI has it beside the checkout) and `$NETCLEAR_ORACLE_DIR` if set, so new scenarios and
/// feeders are checked by the same method without code changes.
pub fn oracle_roots() -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![here.join("tests/data/oracles")];
    let shared = here.join("../shared/refdata/oracles");
    if shared.is_dir() {
        roots.push(shared);
    }
    if let Ok(d) = std::env::var("NETCLEAR_ORACLE_DIR") {
        roots.push(PathBuf::from(d));
    }
    roots
}

/// Every (feeder name, scenario dir) found under the oracle roots.
pub fn oracle_scenarios() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for root in oracle_roots() {
        let Ok(feeders) = std::fs::read_dir(&root) else {
            continue;
        };
        let mut feeders: Vec<_> = feeders.flatten().filter(|e| e.path().is_dir()).collect();
        feeders.sort_by_key(|e| e.file_name());
        for f in feeders {
            let mut scen: Vec<_> = std::fs::read_dir(f.path())
                .unwrap()
                .flatten()
                .filter(|e| e.path().join("loads.csv").is_file())
                .collect();
            scen.sort_by_key(|e| e.file_name());
            for s in scen {
                out.push((f.file_name().to_string_lossy().to_string(), s.path()));
            }
        }
    }
    out
}

/// Reads a CSV into a table.
pub fn table(path: &Path) -> Table {
    Table::parse(
        path.display().to_string(),
        &std::fs::read_to_string(path).unwrap(),
    )
    .unwrap()
}

fn elements(path: &Path) -> Vec<PowerElement> {
    if !path.is_file() {
        return Vec::new();
    }
    table(path)
        .rows()
        .enumerate()
        .map(|(i, r)| PowerElement {
            id: ElementId(i as i64),
            name: String::new(),
            bus: BusId(r.int("bus").unwrap()),
            p_mw: r.f64("p_mw").unwrap(),
            q_mvar: r.f64_or("q_mvar", 0.0).unwrap(),
            scaling: 1.0,
            in_service: true,
        })
        .collect()
}

/// The feeder with its loads and sgens replaced by the scenario's, and pandapower's own line
/// ratings (the oracles use them).
pub fn scenario_network(feeder: &str, dir: &Path) -> Network {
    let mut net = registry::resolve(feeder)
        .unwrap_or_else(|e| panic!("oracle feeder {feeder}: {e}"))
        .with_pandapower_ratings();
    net.loads = elements(&dir.join("loads.csv"));
    net.sgens = elements(&dir.join("sgens.csv"));
    net
}

/// Asserts |a − b| ≤ tol with a message naming the quantity.
#[track_caller]
pub fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol || (a.is_nan() && b.is_nan()),
        "{what}: netclear {a:.15e} vs reference {b:.15e} (diff {:.3e} > {tol:.0e})",
        (a - b).abs()
    );
}
