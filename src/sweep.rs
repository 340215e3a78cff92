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

/// The value of one grid dimension at one point.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Number(f64),
    Int(u64),
}

impl Grid {
    /// Parses a grid file (TOML with the lists of [`Grid`]).
    pub fn from_toml(file: &str, text: &str) -> Result<Grid> {
        toml::from_str(text).map_err(|e| Error::Malformed {
            loc: Location::file(file),
            msg: e.to_string(),
        })
    }

    /// Checks every value of every dimension that no scenario field checks for it: battery sizes
    /// and price caps must be finite and >= 0 (a negative size or a NaN cap would otherwise mean
    /// "none" silently), seeds must fit the scenario's TOML integers.
    pub fn check_values(&self) -> Result<()> {
        let loc = |f: &str| Location::file("--grid").field(f);
        for (name, vals) in [
            ("battery_kwh", &self.battery_kwh),
            ("price_caps", &self.price_caps),
        ] {
            if let Some(v) = vals.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(Error::OutOfRange {
                    loc: loc(name),
                    value: *v,
                    requirement: "finite and >= 0",
                });
            }
        }
        if let Some(v) = self.seeds.iter().find(|v| **v > i64::MAX as u64) {
            return Err(Error::invalid(
                loc("seeds"),
                format!("{v} is too large: seeds go up to {}", i64::MAX),
            ));
        }
        Ok(())
    }

    /// The dimensions in grid order: (name, values as text for `results.csv`, values).
    fn dims(&self) -> Vec<(&'static str, Vec<Value>)> {
        let txt = |v: &[String]| v.iter().cloned().map(Value::Text).collect();
        let num = |v: &[f64]| v.iter().copied().map(Value::Number).collect();
        let name = |v: Vec<String>| v.into_iter().map(Value::Text).collect();
        vec![
            ("network", txt(&self.networks)),
            ("pv_share_percent", num(&self.pv_shares)),
            ("battery_kwh", num(&self.battery_kwh)),
            ("price_cap_per_kwh", num(&self.price_caps)),
            (
                "mechanism",
                name(
                    self.mechanisms
                        .iter()
                        .map(crate::util::serde_name)
                        .collect(),
                ),
            ),
            (
                "network_model",
                name(
                    self.network_models
                        .iter()
                        .map(crate::util::serde_name)
                        .collect(),
                ),
            ),
            ("day", txt(&self.days)),
            ("seed", self.seeds.iter().copied().map(Value::Int).collect()),
        ]
    }
}

impl Sweep {
    /// Number of scenarios in the grid (the product of the dimensions' sizes; an empty
    /// dimension counts once, as the base scenario's value), or `None` when it overflows.
    pub fn len(&self) -> Option<usize> {
        self.grid
            .dims()
            .iter()
            .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len().max(1)))
            .filter(|n| *n <= crate::util::limits::MAX_GRID_POINTS)
    }

    /// Whether the grid is empty (it never is: an empty grid is the base scenario alone).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Scenario `k` of the grid (mixed-radix in the documented order, the last dimension
    /// fastest), built as one more layer over the base scenario; `None` past the end.
    pub fn point(&self, k: usize) -> Option<Result<Point>> {
        let dims = self.grid.dims();
        if k >= self.len()? {
            return None;
        }
        let mut layer = crate::scenario::Layer::new(format!("sweep grid point {k}"));
        let mut rest = k;
        let mut picks: Vec<(&str, Option<Value>)> = Vec::new();
        for (name, values) in dims.iter().rev() {
            let size = values.len().max(1);
            let v = values.get(rest % size).cloned();
            rest /= size;
            picks.push((name, v));
        }
        picks.reverse();
        for (name, v) in picks {
            let Some(v) = v else { continue };
            match (name, v) {
                ("battery_kwh", Value::Number(kwh)) => {
                    if kwh > 0.0 {
                        layer.set("storage.battery.e_kwh", kwh);
                        if self.base.storage.battery_share_percent == 0.0 {
                            layer.set("storage.battery_share_percent", 100.0);
                        }
                    } else {
                        layer.set("storage.battery_share_percent", 0.0);
                    }
                }
                ("price_cap_per_kwh", Value::Number(cap)) => {
                    if cap.is_finite() {
                        layer.set("market.price_cap_per_kwh", cap);
                    }
                }
                ("mechanism", Value::Text(t)) => layer.set("market.mechanism", t),
                ("network_model", Value::Text(t)) => layer.set("clearing.model", t),
                (key, Value::Text(t)) => layer.set(key, t),
                (key, Value::Number(x)) => layer.set(key, x),
                (key, Value::Int(x)) => match i64::try_from(x) {
                    Ok(x) => layer.set(key, x),
                    Err(_) => {
                        return Some(Err(Error::invalid(
                            Location::file(&layer.source).field(key),
                            format!("{x} is too large: seeds go up to {}", i64::MAX),
                        )))
                    }
                },
            }
        }
        Some(
            self.apply(&layer)
                .map(|scenario| Point { index: k, scenario }),
        )
    }

    fn apply(&self, layer: &crate::scenario::Layer) -> Result<Scenario> {
        let mut t =
            toml::Table::try_from(&self.base).map_err(|e| Error::Numerical(e.to_string()))?;
        crate::scenario::merge_tables(&mut t, layer.table.clone());
        let s: Scenario = toml::Value::Table(t)
            .try_into()
            .map_err(|e| Error::Malformed {
                loc: Location::file(&layer.source),
                msg: e.to_string(),
            })?;
        s.validate_layers(std::slice::from_ref(layer))?;
        Ok(s)
    }

    /// Checks every value of every dimension (each over the base scenario), without building the
    /// whole grid.
    pub fn validate(&self) -> Result<()> {
        self.grid.check_values()?;
        self.len().ok_or_else(too_many)?;
        let dims = self.grid.dims();
        let sizes: Vec<usize> = dims.iter().map(|(_, v)| v.len().max(1)).collect();
        for d in 0..dims.len() {
            for j in 0..sizes[d] {
                // The point with dimension d at j and every other at its first value.
                let stride: usize = sizes[d + 1..].iter().product();
                if let Some(p) = self.point(j * stride) {
                    p?;
                }
            }
        }
        Ok(())
    }

    /// Every scenario, in grid order (materialised: only for small grids).
    pub fn points(&self) -> Result<Vec<Point>> {
        (0..self.len().unwrap_or(0))
            .filter_map(|k| self.point(k))
            .collect()
    }
}

fn too_many() -> Error {
    Error::invalid(
        Location::file("--grid"),
        format!(
            "the grid has more than {} scenarios (netclear's limit, see README, Limits); split it",
            crate::util::limits::MAX_GRID_POINTS
        ),
    )
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

/// One finished scenario's row of `results.csv`, and whether it failed.
#[derive(Debug, Clone, PartialEq)]
pub struct RowText {
    /// The CSV line (with its newline).
    pub line: String,
    /// Whether the scenario failed (its `status` cell says why).
    pub failed: bool,
}

/// Runs one point and formats its row (a failed scenario is a row with `status` = the error).
pub fn row(p: &Point) -> RowText {
    row_with_outputs(p, None)
}

/// The parameter cells of a point's row (the first [`PARAMS`] but `status`).
fn param_cells(p: &Point) -> Vec<String> {
    let s = &p.scenario;
    vec![
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
        crate::util::serde_name(&s.market.mechanism),
        crate::util::serde_name(&s.clearing.model),
        s.day.clone(),
        s.seed.to_string(),
    ]
}

/// [`row`], also writing the scenario's full run files into `outputs/<index>/` when given.
pub fn row_with_outputs(p: &Point, outputs: Option<&Path>) -> RowText {
    let s = &p.scenario;
    let mut cells = param_cells(p);
    let names = kpi_names();
    // A sweep row reads KPIs only; the scenario's full files need the steps.
    let retention = if outputs.is_some() {
        crate::study::Retention::Steps
    } else {
        crate::study::Retention::Totals
    };
    let result = crate::study::run_retaining(s, retention, &mut |_, _| {}).and_then(|r| {
        if let Some(dir) = outputs {
            crate::output::write_run(
                &r,
                &dir.join(p.index.to_string()),
                &crate::output::WriteOptions {
                    force: true,
                    ..Default::default()
                },
            )?;
        }
        Ok(r)
    });
    let failed = result.is_err();
    match result {
        Ok(r) => {
            cells.push("ok".into());
            for k in [&r.day.baseline.kpis, &r.day.p2p.kpis] {
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
    RowText {
        line: cells
            .iter()
            .map(|c| crate::network::io::csv_text(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n",
        failed,
    }
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    }
}

/// Writes `bytes` to `path` atomically ([`crate::util::atomic::write_file`]), replacing a
/// previous version the sweep wrote.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::util::atomic::write_file(path, bytes, true)
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
    prepare_folder(dir)?;
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
    let total = sweep.len().ok_or_else(too_many)?;
    let points: Vec<Point> = (i - 1..total)
        .step_by(n)
        .filter_map(|k| sweep.point(k))
        .collect::<Result<_>>()?;
    let mut todo: Vec<&Point> = Vec::new();
    for p in &points {
        let rp = dir.join("rows").join(format!("{}.csv", p.index));
        match std::fs::symlink_metadata(&rp) {
            Err(_) => todo.push(p),
            Ok(_) => {
                let text = read_row_file(&rp)?;
                check_row(&rp.display().to_string(), &text, Some(p))?;
            }
        }
    }
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
                write_atomic(
                    &dir.join("rows").join(format!("{}.csv", p.index)),
                    r.line.as_bytes(),
                )?;
                let failed = r.failed;
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
        total,
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
        let text = read_row_file(&p)?;
        check_row(&p.display().to_string(), &text, None)?;
        s += &text;
    }
    write_atomic(out, s.as_bytes())
}

/// Merges shard folders into one `results.csv`: every shard must hold the same grid, and
/// together they must cover it.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<usize> {
    let mut grid: Option<(String, PathBuf)> = None;
    let mut files: std::collections::BTreeMap<usize, PathBuf> = std::collections::BTreeMap::new();
    for d in dirs {
        let gp = d.join("grid.json");
        let g = crate::util::limits::read_text(&gp, crate::util::limits::MAX_CONFIG_BYTES)?;
        match &grid {
            None => grid = Some((g, gp.clone())),
            Some((first, _)) if *first != g => {
                return Err(Error::invalid(
                    Location::file(gp.display().to_string()),
                    "a different sweep than the first folder",
                ))
            }
            _ => {}
        }
        let rd = d.join("rows");
        for e in std::fs::read_dir(&rd).map_err(io(&rd))? {
            let e = e.map_err(io(&rd))?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue; // a temporary file of an interrupted write
            }
            let k = name
                .strip_suffix(".csv")
                .and_then(|k| k.parse::<usize>().ok().filter(|n| n.to_string() == k))
                .ok_or_else(|| {
                    Error::invalid(
                        Location::file(e.path().display().to_string()),
                        "not a row file of a sweep (rows/<scenario>.csv); remove it",
                    )
                })?;
            if let Some(prev) = files.insert(k, e.path()) {
                // The same scenario in two shards: both must hold the same row.
                let (a, b) = (read_row_file(&prev)?, read_row_file(&e.path())?);
                if a != b {
                    return Err(Error::invalid(
                        Location::file(e.path().display().to_string()),
                        format!("scenario {k} conflicts with {}", prev.display()),
                    ));
                }
            }
        }
    }
    let Some((grid, gp)) = grid else {
        return Err(Error::invalid(
            Location::file(out.display().to_string()),
            "no shard folders to merge",
        ));
    };
    let glabel = gp.display().to_string();
    let sweep: Sweep = serde_json::from_str(&grid).map_err(|e| Error::Malformed {
        loc: Location::file(&glabel),
        msg: e.to_string(),
    })?;
    sweep
        .validate()
        .map_err(|e| Error::invalid(Location::file(&glabel), e.to_string()))?;
    let total = sweep.len().ok_or_else(too_many)?;
    if let Some((&k, p)) = files.range(total..).next() {
        return Err(Error::invalid(
            Location::file(p.display().to_string()),
            format!("scenario {k} is not in the grid of {total} scenarios"),
        ));
    }
    if files.len() < total {
        let first: Vec<usize> = (0..total)
            .filter(|k| !files.contains_key(k))
            .take(5)
            .collect();
        return Err(Error::invalid(
            Location::file(out.display().to_string()),
            format!(
                "{} of {total} scenarios are missing (first: {first:?}); run the missing shards",
                total - files.len(),
            ),
        ));
    }
    let mut s = header();
    for (&k, p) in &files {
        let text = read_row_file(p)?;
        let point = sweep
            .point(k)
            .ok_or_else(too_many)?
            .map_err(|e| Error::invalid(Location::file(&glabel), e.to_string()))?;
        check_row(&p.display().to_string(), &text, Some(&point))?;
        s += &text;
    }
    let head = header();
    crate::util::atomic::write_owned(out, s.as_bytes(), &|old| old.starts_with(head.as_bytes()))?;
    Ok(total)
}

/// Creates a sweep folder, or checks that an existing one is a sweep folder netclear wrote (or
/// empty): `sweep --out` never writes into a folder of someone else's files.
fn prepare_folder(dir: &Path) -> Result<()> {
    use crate::util::atomic::MARKER;
    match std::fs::symlink_metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(Error::invalid(
                Location::file(dir.display().to_string()),
                "the sweep folder exists and is not a folder (a file, link or device)",
            ))
        }
        Ok(_) => {
            let empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_none();
            if !empty && !dir.join(MARKER).is_file() {
                return Err(Error::invalid(
                    Location::file(dir.display().to_string()),
                    "the sweep folder holds files netclear did not write; choose another --out",
                ));
            }
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(dir.join("rows")).map_err(io(dir))?;
    if !dir.join(MARKER).is_file() {
        crate::util::atomic::write_file(
            &dir.join(MARKER),
            b"a sweep folder written by netclear\n",
            false,
        )?;
    }
    Ok(())
}

fn read_row_file(p: &Path) -> Result<String> {
    // One row is a few kB; anything much larger is not a row.
    crate::util::limits::read_text(p, 1 << 20)
}

/// Checks one row file (`rows/<k>.csv`): exactly one complete CSV record ending in a newline, with
/// the header's number of fields, a status of `ok` or `error: …`, numbers (or empty cells) for
/// every KPI, and — when the grid point is known — the parameters of that point.
pub fn check_row(file: &str, text: &str, point: Option<&Point>) -> Result<()> {
    let bad =
        |field: &str, msg: String| Error::invalid(Location::file(file).row(1).field(field), msg);
    if !text.ends_with('\n') {
        return Err(bad(
            "",
            "the row does not end with a newline (truncated)".into(),
        ));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = rdr.records();
    let rec = match records.next() {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(bad("", format!("not a CSV row: {e}"))),
        None => return Err(bad("", "empty row file".into())),
    };
    if let Some(next) = records.next() {
        return Err(bad(
            "",
            match next {
                Ok(_) => "more than one row in a row file (rows fused or appended)".into(),
                Err(e) => format!("not a CSV row: {e}"),
            },
        ));
    }
    let names: Vec<String> = header().trim_end().split(',').map(str::to_string).collect();
    if rec.len() != names.len() {
        return Err(bad(
            "",
            format!("{} fields, the header has {}", rec.len(), names.len()),
        ));
    }
    let cell = |i: usize| rec.get(i).unwrap_or("");
    let index = cell(0)
        .parse::<usize>()
        .ok()
        .filter(|k| k.to_string() == cell(0))
        .ok_or_else(|| {
            bad(
                "scenario",
                format!("`{}` is not a scenario number", cell(0)),
            )
        })?;
    let status = cell(PARAMS.len() - 1);
    let ok = status == "ok";
    if !ok && !status.starts_with("error: ") {
        return Err(bad(
            "status",
            format!("`{status}` is neither `ok` nor `error: …`"),
        ));
    }
    for (i, name) in names.iter().enumerate().skip(PARAMS.len()) {
        let c = cell(i);
        let fine = if ok {
            c.is_empty() || c.parse::<f64>().is_ok_and(f64::is_finite)
        } else {
            c.is_empty()
        };
        if !fine {
            return Err(bad(name, format!("`{c}` is not a number")));
        }
    }
    if let Some(p) = point {
        if index != p.index {
            return Err(bad(
                "scenario",
                format!(
                    "the row is for scenario {index}, the file for scenario {}",
                    p.index
                ),
            ));
        }
        for (i, want) in param_cells(p).iter().enumerate().skip(1) {
            if cell(i) != want {
                return Err(bad(
                    PARAMS[i],
                    format!(
                        "`{}` is not this grid point's `{want}` (a row of another sweep)",
                        cell(i)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Checks a `results.csv` (a sweep's or a merge's): netclear's header, then rows that each check
/// ([`check_row`]) in increasing scenario order. Returns the number of rows.
pub fn check_results(file: &str, text: &str) -> Result<usize> {
    let head = header();
    let Some(body) = text.strip_prefix(head.as_str()) else {
        return Err(Error::invalid(
            Location::file(file).row(1),
            "not a netclear results.csv (its header differs)",
        ));
    };
    let mut last: Option<usize> = None;
    let mut n = 0;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut start = 0usize;
    for rec in rdr.records() {
        let rec = rec.map_err(|e| Error::Malformed {
            loc: Location::file(file).row(n as u64 + 2),
            msg: e.to_string(),
        })?;
        let end = rec.position().map(|p| p.byte() as usize).unwrap_or(start);
        let _ = end;
        let mut line = String::new();
        {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            w.write_record(&rec)
                .map_err(|e| Error::Numerical(e.to_string()))?;
            line.push_str(&String::from_utf8_lossy(
                &w.into_inner()
                    .map_err(|e| Error::Numerical(e.to_string()))?,
            ));
        }
        check_row(file, &line, None).map_err(|e| match e {
            Error::Invalid { mut loc, msg } => {
                loc.row = Some(n as u64 + 2);
                Error::Invalid { loc, msg }
            }
            e => e,
        })?;
        let k = rec
            .get(0)
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        if last.is_some_and(|l| k <= l) {
            return Err(Error::invalid(
                Location::file(file).row(n as u64 + 2).field("scenario"),
                "scenarios out of order or repeated",
            ));
        }
        last = Some(k);
        n += 1;
        start = end;
    }
    if !text.ends_with('\n') {
        return Err(Error::invalid(
            Location::file(file),
            "does not end with a newline (truncated)",
        ));
    }
    Ok(n)
}
