//! Studies at scale: a grid of scenarios run in parallel, sharded across machines, resumable, and
//! merged into one tidy `results.csv`.
//!
//! # The grid
//!
//! The cartesian product, in this fixed order, of: feeders × PV shares × battery sizes × price
//! caps × mechanisms × network models × days × seeds, applied over a base scenario. Scenario `k`
//! (0-based, in that order) always means the same parameters, so `--shard I/N` can take every
//! scenario with `k mod N = I − 1` and shards from different machines merge back in order.
//!
//! # Files (in the sweep folder)
//!
//! * `grid.json` — the grid and base scenario (shards must agree on it to be merged);
//! * `rows/<k>.csv` — one finished scenario's row, written atomically (temp file + rename); a
//!   rerun skips every scenario whose row exists (resume after an interruption);
//! * `results.csv` — header plus the rows of this run's scenarios in scenario order, rebuilt
//!   atomically at the end; `netclear merge` rebuilds the same file from several shard folders,
//!   byte for byte what a single run gives.

use crate::error::{Error, Location, Result};
use crate::scenario::Scenario;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The swept dimensions (each empty list means "the base scenario's value").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Grid {
    /// Feeders.
    pub networks: Vec<String>,
    /// PV shares, %.
    pub pv_shares: Vec<f64>,
    /// Home battery capacities per household, kWh (0 = no batteries).
    pub battery_kwh: Vec<f64>,
    /// Caps on P2P prices, $/kWh (bids and asks above are cut to the cap).
    pub price_caps: Vec<f64>,
    /// Mechanisms.
    pub mechanisms: Vec<crate::market::Mechanism>,
    /// Network models.
    pub network_models: Vec<crate::clearing::NetworkModel>,
    /// Days (`YYYY-MM-DD`).
    pub days: Vec<String>,
    /// Seeds.
    pub seeds: Vec<u64>,
}

/// A sweep: a base scenario and a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// The base scenario.
    pub base: Scenario,
    /// The grid.
    pub grid: Grid,
}

/// One scenario of the grid and its parameters (for the results table).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Index in the grid.
    pub index: usize,
    /// The scenario.
    pub scenario: Scenario,
}

impl Sweep {
    /// Every scenario, in grid order.
    pub fn points(&self) -> Vec<Point> {
        fn or<T: Clone>(v: &[T], d: T) -> Vec<T> {
            if v.is_empty() {
                vec![d]
            } else {
                v.to_vec()
            }
        }
        let b = &self.base;
        let g = &self.grid;
        let mut out = Vec::new();
        for net in or(&g.networks, b.network.clone()) {
            for pv in or(&g.pv_shares, b.pv_share_percent) {
                for bat in or(
                    &g.battery_kwh,
                    if b.storage.battery_share_percent > 0.0 {
                        b.storage.battery.e_kwh
                    } else {
                        0.0
                    },
                ) {
                    for cap in or(
                        &g.price_caps,
                        b.market.price_cap_per_kwh.unwrap_or(f64::INFINITY),
                    ) {
                        for mech in or(&g.mechanisms, b.market.mechanism) {
                            for model in or(&g.network_models, b.clearing.model) {
                                for day in or(&g.days, b.day.clone()) {
                                    for seed in or(&g.seeds, b.seed) {
                                        let mut s = b.clone();
                                        s.network = net.clone();
                                        s.pv_share_percent = pv;
                                        if bat > 0.0 {
                                            s.storage.battery.e_kwh = bat;
                                            if s.storage.battery_share_percent == 0.0 {
                                                s.storage.battery_share_percent = 100.0;
                                            }
                                        } else {
                                            s.storage.battery_share_percent = 0.0;
                                        }
                                        s.market.price_cap_per_kwh = cap.is_finite().then_some(cap);
                                        s.market.mechanism = mech;
                                        s.clearing.model = model;
                                        s.day = day.clone();
                                        s.seed = seed;
                                        out.push(Point {
                                            index: out.len(),
                                            scenario: s,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// Columns of `results.csv`: the scenario's parameters, then every KPI of both cases.
pub const PARAMS: &[&str] = &[
    "scenario",
    "network",
    "pv_share_percent",
    "battery_kwh",
    "price_cap_per_kwh",
    "mechanism",
    "network_model",
    "day",
    "seed",
    "status",
];

fn kpi_names() -> Vec<String> {
    let k = serde_json::to_value(crate::study::kpi::Kpis::empty()).unwrap_or_default();
    let mut names = Vec::new();
    if let Some(m) = k.as_object() {
        for (key, v) in m {
            if v.is_number() || v.is_null() {
                names.push(key.clone());
            }
        }
    }
    names
}

/// The header of `results.csv`.
pub fn header() -> String {
    let mut h: Vec<String> = PARAMS.iter().map(|s| s.to_string()).collect();
    for case in ["baseline", "p2p"] {
        for k in kpi_names() {
            h.push(format!("{case}_{k}"));
        }
    }
    h.join(",") + "\n"
}

/// Runs one point and formats its row (a failed scenario is a row with `status` = the error).
pub fn row(p: &Point) -> String {
    row_with_outputs(p, None)
}

/// [`row`], also writing the scenario's full run files into `outputs/<index>/` when given.
pub fn row_with_outputs(p: &Point, outputs: Option<&Path>) -> String {
    let s = &p.scenario;
    let mut cells = vec![
        p.index.to_string(),
        s.network.clone(),
        crate::fmt_f64(s.pv_share_percent),
        crate::fmt_f64(if s.storage.battery_share_percent > 0.0 {
            s.storage.battery.e_kwh
        } else {
            0.0
        }),
        s.market
            .price_cap_per_kwh
            .map(crate::fmt_f64)
            .unwrap_or_default(),
        serde_json::to_value(s.market.mechanism)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        serde_json::to_value(s.clearing.model)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        s.day.clone(),
        s.seed.to_string(),
    ];
    let names = kpi_names();
    let result = crate::study::run(s).and_then(|(c, r)| {
        if let Some(dir) = outputs {
            let bundle = crate::study::report::bundle(s, &c, &r, None, None, None, None)?;
            crate::output::commit(&bundle, &dir.join(p.index.to_string()), true)?;
        }
        Ok(r)
    });
    match result {
        Ok(r) => {
            cells.push("ok".into());
            for k in [&r.baseline.kpis, &r.p2p.kpis] {
                let v = serde_json::to_value(k).unwrap_or_default();
                for n in &names {
                    cells.push(match v.get(n) {
                        Some(serde_json::Value::Number(x)) => {
                            x.as_f64().map(crate::fmt_f64).unwrap_or_default()
                        }
                        _ => String::new(),
                    });
                }
            }
        }
        Err(e) => {
            cells.push(format!("error: {e}"));
            cells.extend(std::iter::repeat_n(String::new(), 2 * names.len()));
        }
    }
    cells
        .iter()
        .map(|c| crate::network::io::csv_text(c))
        .collect::<Vec<_>>()
        .join(",")
        + "\n"
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    }
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// What a sweep run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// Scenarios in the whole grid.
    pub total: usize,
    /// Scenarios of this shard.
    pub in_shard: usize,
    /// Run now.
    pub ran: usize,
    /// Skipped because their row existed (resume).
    pub resumed: usize,
    /// Failed (their row says why).
    pub failed: usize,
}

/// Runs (this shard of) a sweep into `dir`, in parallel on `jobs` threads, calling `progress(done,
/// todo)` as scenarios finish.
pub fn run(
    sweep: &Sweep,
    dir: &Path,
    shard: (usize, usize),
    jobs: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<RunReport> {
    run_with(sweep, dir, shard, jobs, false, progress)
}

/// [`run`], optionally keeping every scenario's full outputs in `dir/outputs/<index>/`.
pub fn run_with(
    sweep: &Sweep,
    dir: &Path,
    shard: (usize, usize),
    jobs: usize,
    keep_outputs: bool,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<RunReport> {
    let (i, n) = shard;
    if n == 0 || i == 0 || i > n {
        return Err(Error::invalid(
            Location::file("--shard").field("I/N"),
            format!("shard {i}/{n}: need 1 ≤ I ≤ N"),
        ));
    }
    std::fs::create_dir_all(dir.join("rows")).map_err(io(dir))?;
    let grid_json =
        serde_json::to_string_pretty(sweep).map_err(|e| Error::Numerical(e.to_string()))? + "\n";
    let gpath = dir.join("grid.json");
    match std::fs::read_to_string(&gpath) {
        Ok(old) if old != grid_json => {
            return Err(Error::invalid(
                Location::file(gpath.display().to_string()),
                "this folder holds a different sweep; choose another --out",
            ))
        }
        Ok(_) => {}
        Err(_) => write_atomic(&gpath, grid_json.as_bytes())?,
    }
    let points: Vec<Point> = sweep
        .points()
        .into_iter()
        .filter(|p| p.index % n == i - 1)
        .collect();
    let todo: Vec<&Point> = points
        .iter()
        .filter(|p| !dir.join("rows").join(format!("{}.csv", p.index)).is_file())
        .collect();
    let resumed = points.len() - todo.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| Error::Numerical(e.to_string()))?;
    let results: Vec<Result<bool>> = pool.install(|| {
        todo.par_iter()
            .map(|p| {
                let outputs = dir.join("outputs");
                let r = row_with_outputs(p, keep_outputs.then_some(outputs.as_path()));
                let failed = r
                    .split(',')
                    .nth(PARAMS.len() - 1)
                    .is_some_and(|s| s.starts_with("error") || s.starts_with("\"error"));
                write_atomic(
                    &dir.join("rows").join(format!("{}.csv", p.index)),
                    r.as_bytes(),
                )?;
                let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(d, todo.len());
                Ok(failed)
            })
            .collect()
    });
    let mut failed = 0;
    for r in results {
        if r? {
            failed += 1;
        }
    }
    assemble(
        dir,
        &points.iter().map(|p| p.index).collect::<Vec<_>>(),
        &dir.join("results.csv"),
    )?;
    Ok(RunReport {
        total: sweep.points().len(),
        in_shard: points.len(),
        ran: todo.len(),
        resumed,
        failed,
    })
}

/// Writes `out` from the rows of `indices` found in `dir/rows` (in index order).
fn assemble(dir: &Path, indices: &[usize], out: &Path) -> Result<()> {
    let mut s = header();
    for k in indices {
        let p = dir.join("rows").join(format!("{k}.csv"));
        s += &std::fs::read_to_string(&p).map_err(io(&p))?;
    }
    write_atomic(out, s.as_bytes())
}

/// Merges shard folders into one `results.csv`: every shard must hold the same grid, and
/// together they must cover it.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize> {
    let mut grid: Option<String> = None;
    let mut rows: std::collections::BTreeMap<usize, String> = std::collections::BTreeMap::new();
    for d in dirs {
        let gp = d.join("grid.json");
        let g = std::fs::read_to_string(&gp).map_err(io(&gp))?;
        match &grid {
            None => grid = Some(g),
            Some(first) if *first != g => {
                return Err(Error::invalid(
                    Location::file(gp.display().to_string()),
                    "a different sweep than the first folder",
                ))
            }
            _ => {}
        }
        let rd = d.join("rows");
        for e in std::fs::read_dir(&rd).map_err(io(&rd))?.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(k) = name
                .strip_suffix(".csv")
                .and_then(|k| k.parse::<usize>().ok())
            {
                rows.insert(k, std::fs::read_to_string(e.path()).map_err(io(&e.path()))?);
            }
        }
    }
    let sweep: Sweep =
        serde_json::from_str(grid.as_deref().unwrap_or("")).map_err(|e| Error::Malformed {
            loc: Location::file("grid.json"),
            msg: e.to_string(),
        })?;
    let total = sweep.points().len();
    let missing: Vec<usize> = (0..total).filter(|k| !rows.contains_key(k)).collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            Location::file(out.display().to_string()),
            format!(
                "{} of {total} scenarios are missing (first: {:?}); run the missing shards",
                missing.len(),
                &missing[..missing.len().min(5)]
            ),
        ));
    }
    let mut s = header();
    for r in rows.values() {
        s += r;
    }
    write_atomic(out, s.as_bytes())?;
    Ok(total)
}
