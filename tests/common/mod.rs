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

use netclear::network::{Bus, ExtGrid, Line, LineId, Manifest, Trafo, TrafoId};

/// A bus at `vn_kv`.
pub fn bus(id: i64, vn_kv: f64) -> Bus {
    Bus {
        id: BusId(id),
        name: String::new(),
        vn_kv,
        kind: "b".into(),
        zone: String::new(),
        in_service: true,
        geo: None,
    }
}

/// A 1-km-per-unit line with the given per-km r, x (Ω/km) and length.
pub fn line(id: i64, from: i64, to: i64, length_km: f64, r: f64, x: f64) -> Line {
    Line {
        id: LineId(id),
        name: String::new(),
        std_type: String::new(),
        from_bus: BusId(from),
        to_bus: BusId(to),
        length_km,
        r_ohm_per_km: r,
        x_ohm_per_km: x,
        c_nf_per_km: 0.0,
        g_us_per_km: 0.0,
        max_i_ka: 0.2,
        max_i_ka_pandapower: None,
        df: 1.0,
        parallel: 1,
        kind: "cs".into(),
        in_service: true,
    }
}

/// A load element.
pub fn load(id: i64, bus: i64, p_mw: f64, q_mvar: f64) -> PowerElement {
    PowerElement {
        id: ElementId(id),
        name: String::new(),
        bus: BusId(bus),
        p_mw,
        q_mvar,
        scaling: 1.0,
        in_service: true,
    }
}

/// A 20/0.4 kV trafo without magnetising branch.
pub fn trafo(id: i64, hv: i64, lv: i64, shift_degree: f64) -> Trafo {
    Trafo {
        id: TrafoId(id),
        name: String::new(),
        std_type: String::new(),
        hv_bus: BusId(hv),
        lv_bus: BusId(lv),
        sn_mva: 0.4,
        vn_hv_kv: 20.0,
        vn_lv_kv: 0.4,
        vk_percent: 4.0,
        vkr_percent: 1.0,
        pfe_kw: 0.0,
        i0_percent: 0.0,
        shift_degree,
        tap_side: None,
        tap_neutral: 0.0,
        tap_pos: 0.0,
        tap_step_percent: 0.0,
        parallel: 1,
        df: 1.0,
        vector_group: String::new(),
        in_service: true,
    }
}

/// A network from parts, slack at `slack_bus` (vm 1.0, va 0).
pub fn mini_net(
    buses: Vec<Bus>,
    lines: Vec<Line>,
    trafos: Vec<Trafo>,
    loads: Vec<PowerElement>,
    slack_bus: i64,
) -> Network {
    Network {
        manifest: Manifest::named("mini"),
        buses,
        lines,
        trafos,
        ext_grids: vec![ExtGrid {
            id: ElementId(0),
            name: String::new(),
            bus: BusId(slack_bus),
            vm_pu: 1.0,
            va_degree: 0.0,
            in_service: true,
        }],
        loads,
        sgens: Vec::new(),
        switches: Vec::new(),
        own_series: Default::default(),
    }
}

/// Runs the netclear binary with `args` in the current folder: (exit code, stdout, stderr).
pub fn netclear(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args(args)
        .output()
        .expect("run netclear");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
