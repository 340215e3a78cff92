//! Time series per load and per generator: a researcher's own measured or simulated curves for
//! the feeder's elements, instead of household curves drawn from a shared file.
//!
//! # Formats
//!
//! * **Wide** (PyPSA's `loads-p_set.csv` layout): a first column `timestamp` (or PyPSA's
//!   `snapshot`), then one column per element named `<element name>_kw` or `<element name>_mw`
//!   (the unit in the header, as every netclear series has it): average power over the step.
//! * **Long**: columns `timestamp` (or `snapshot`), `name`, and `p_kw` or `p_mw`; one row per
//!   element and step, in any order of elements.
//!
//! Timestamps are interval starts as in [`crate::profiles`] (optionally with a UTC offset), at
//! any constant step that divides a day (5, 10, 15, 30, 60 min, …); a study at another step gets
//! them resampled energy-conserving ([`crate::profiles::resample`]).
//!
//! # Matching and bad input
//!
//! A name matches a load (for `--load-series`) or a static generator (`--pv-series`) of the
//! feeder by its name, or by its id written as a number. A column that matches no element, a
//! value that is not a finite number, a negative value, a gap or an irregular step is an error
//! naming the file, the row and the column; nothing of a bad file is used. Elements the file
//! does not name keep what the scenario gives them.

use crate::error::{Error, Location, Result};
use crate::network::PowerElement;
use crate::profiles::{Day, SeriesFile, Unit};
use crate::table::Table;
use std::collections::BTreeMap;

/// Which elements a file's names refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The feeder's loads.
    Load,
    /// The feeder's static generators.
    Sgen,
}

/// One day of a file's series, kW per element name, on the study's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementDay {
    /// The file.
    pub file: String,
    /// kW per step, by the element's position in the feeder's loads or sgens.
    pub by_element: BTreeMap<usize, Vec<f64>>,
}

/// Reads `path`, matches its names to `elements`, and returns the day `clock` (its date and local
/// steps) resampled to `step_minutes`.
pub fn read_day(
    path: &str,
    kind: Kind,
    elements: &[PowerElement],
    clock: &Day,
    step_minutes: u32,
) -> Result<ElementDay> {
    let (file, columns) = parsed(path)?;
    let mut by_element = BTreeMap::new();
    for (col, scale) in &columns {
        // Columns are `_kw` here (`_mw` ones renamed and scaled, see [`parsed`]).
        let name = col.strip_suffix("_kw").unwrap_or(col);
        let Some(i) = elements
            .iter()
            .position(|e| e.name == name || e.id.0.to_string() == name)
        else {
            return Err(Error::invalid(
                Location::file(file.file()).row(1).field(col.clone()),
                format!(
                    "matches no {} of the feeder (by name or id)",
                    match kind {
                        Kind::Load => "load",
                        Kind::Sgen => "static generator",
                    }
                ),
            ));
        };
        let day = file
            .day(Some(&clock.date), &[col.as_str()])?
            .resampled(step_minutes)?
            .on_clock_of(clock)?;
        let values = day.series[0].values.iter().map(|v| v * scale).collect();
        by_element.insert(i, values);
    }
    Ok(ElementDay {
        file: file.file().to_string(),
        by_element,
    })
}

/// A parsed file (wide, or long turned wide) and its `_kw` columns with their factor to kW.
type Parsed = (std::sync::Arc<SeriesFile>, Vec<(String, f64)>);

/// The parsed file of `path`, cached for the life of the process (a multi-day study reads one
/// day of it per day).
fn parsed(path: &str) -> Result<Parsed> {
    use std::sync::{Arc, Mutex, OnceLock};
    type Cache = Mutex<BTreeMap<String, Parsed>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let poisoned = || Error::Numerical("series cache poisoned".into());
    if let Some(hit) = cache.lock().map_err(|_| poisoned())?.get(path) {
        return Ok(hit.clone());
    }
    let text = crate::util::limits::read_text(
        std::path::Path::new(path),
        crate::util::limits::MAX_DATA_BYTES,
    )?;
    let table = Table::parse(path, &text)?;
    let header = table.header().to_vec();
    let time_col = match header.first().map(String::as_str) {
        Some("timestamp") | Some("snapshot") => header[0].clone(),
        other => {
            return Err(Error::invalid(
                Location::file(path).row(1).field(other.unwrap_or_default()),
                "the first column must be `timestamp` (or `snapshot`)",
            ))
        }
    };
    let long = header.iter().any(|h| h == "name");
    let wide_text = if long {
        long_to_wide(path, &table, &time_col)?
    } else {
        // Every value finite and ≥ 0, named by row and column.
        for row in table.rows() {
            for h in &header[1..] {
                let v = row.f64(h)?;
                if v < 0.0 {
                    return Err(Error::invalid(
                        row.loc(h),
                        format!("{v} is negative: a series is power in its natural direction"),
                    ));
                }
            }
        }
        text.replacen(&time_col, "timestamp", 1)
    };
    let mut columns = Vec::new();
    for h in &wide_text_header(&wide_text)[1..] {
        let scale = if h.ends_with("_kw") {
            1.0
        } else if h.ends_with("_mw") {
            1e3
        } else {
            return Err(Error::invalid(
                Location::file(path).row(1).field(h.clone()),
                "a series column is `<element name>_kw` or `<element name>_mw`",
            ));
        };
        columns.push((h.clone(), scale));
    }
    // `_mw` columns are read as series of their own unit by the profile reader: name them `_kw`
    // there and scale here.
    let renamed = rename_mw_columns(&wide_text);
    let file = Arc::new(SeriesFile::parse(path, &renamed)?);
    let columns: Vec<(String, f64)> = columns
        .into_iter()
        .map(|(h, s)| {
            let kw = h
                .strip_suffix("_mw")
                .map_or(h.clone(), |n| format!("{n}_kw"));
            (kw, s)
        })
        .collect();
    // The unit check of the profile reader, once more on the renamed header.
    debug_assert!(columns
        .iter()
        .all(|(h, _)| Unit::of_column(h) == Some(Unit::Kw)));
    cache
        .lock()
        .map_err(|_| poisoned())?
        .insert(path.to_string(), (file.clone(), columns.clone()));
    Ok((file, columns))
}

fn wide_text_header(text: &str) -> Vec<String> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_string())
        .collect()
}

fn rename_mw_columns(text: &str) -> String {
    let mut lines = text.splitn(2, '\n');
    let head = lines.next().unwrap_or_default();
    let rest = lines.next().unwrap_or_default();
    let head: Vec<String> = head
        .split(',')
        .map(|h| match h.trim().strip_suffix("_mw") {
            Some(n) => format!("{n}_kw"),
            None => h.trim().to_string(),
        })
        .collect();
    format!("{}\n{rest}", head.join(","))
}

/// A long table as a wide CSV text, after checking every value (finite, ≥ 0) and that every
/// element has every timestamp of the file, once.
fn long_to_wide(path: &str, table: &Table, time_col: &str) -> Result<String> {
    let (p_col, unit) = if table.header().iter().any(|h| h == "p_kw") {
        ("p_kw", "_kw")
    } else if table.header().iter().any(|h| h == "p_mw") {
        ("p_mw", "_mw")
    } else {
        return Err(Error::invalid(
            Location::file(path).row(1),
            "a long series file needs a `p_kw` or `p_mw` column",
        ));
    };
    let mut times: Vec<String> = Vec::new();
    let mut time_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    let mut values: BTreeMap<String, BTreeMap<usize, f64>> = BTreeMap::new();
    for row in table.rows() {
        let t = row.str(time_col)?.to_string();
        let name = row.str("name")?.to_string();
        let v = row.f64(p_col)?;
        if v < 0.0 {
            return Err(Error::invalid(
                row.loc(p_col),
                format!("{v} is negative: a series is power in its natural direction"),
            ));
        }
        if name.contains(',') || name.is_empty() {
            return Err(Error::invalid(
                row.loc("name"),
                "a name must be non-empty and without commas",
            ));
        }
        let k = *time_index.entry(t.clone()).or_insert_with(|| {
            times.push(t.clone());
            times.len() - 1
        });
        if !values.contains_key(&name) {
            names.push(name.clone());
        }
        if values
            .entry(name.clone())
            .or_default()
            .insert(k, v)
            .is_some()
        {
            return Err(Error::invalid(
                row.loc(time_col),
                format!("`{name}` has this timestamp twice"),
            ));
        }
    }
    for n in &names {
        if let Some(k) = (0..times.len()).find(|k| !values[n].contains_key(k)) {
            return Err(Error::invalid(
                Location::file(path).field(time_col),
                format!("`{n}` has no value at {} (a gap)", times[k]),
            ));
        }
    }
    let mut out = String::from("timestamp");
    for n in &names {
        out.push(',');
        out.push_str(n);
        out.push_str(unit);
    }
    out.push('\n');
    for (k, t) in times.iter().enumerate() {
        out.push_str(t);
        for n in &names {
            out.push(',');
            out.push_str(&crate::fmt_f64(values[n][&k]));
        }
        out.push('\n');
    }
    Ok(out)
}

/// The series a feeder file carries for its own elements: SimBench's `profiles` in a pandapower
/// JSON (`pp.to_json` of a `simbench.get_simbench_net` network keeps them). SimBench gives a
/// multiplier per step for each named profile; an element's power is its rated `p_mw` ×
/// `scaling` × the multiplier of the profile its `profile` column names (SimBench's
/// `get_absolute_values`, with pandapower's `scaling` applied as `runpp` applies it). Loads use
/// `<profile>_pload` of `profiles.load`; static generators the `<profile>` column of
/// `profiles.renewables` (or `profiles.powerplants`). Storage profiles are not used (netclear's
/// storage is dispatched, not replayed). SimBench's clock has 96 quarter-hours every day (no
/// daylight-saving change); it is read as local wall time.
#[derive(Debug, Clone, PartialEq)]
pub struct FeederSeries {
    /// Where the series come from (the file and table, for messages and outputs).
    pub source: String,
    /// Step of the series, minutes.
    pub step_minutes: u32,
    /// First row and row count of each day (days since 1970-01-01).
    days: BTreeMap<i64, (usize, usize)>,
    /// The multiplier columns by profile name.
    columns: Vec<(String, Vec<f64>)>,
    /// Per element (position in the feeder's loads or sgens): its column, if it has one.
    element_column: Vec<Option<usize>>,
}

impl FeederSeries {
    /// Checks and indexes `times` (day number, minute of the day per row: strictly increasing at
    /// one step that divides a day) and `columns` (one value per row, finite and ≥ 0).
    /// `element_column` maps each element to its column.
    pub fn new(
        source: String,
        times: &[(i64, u32)],
        columns: Vec<(String, Vec<f64>)>,
        element_column: Vec<Option<usize>>,
    ) -> Result<FeederSeries> {
        let loc = || Location::file(&source);
        let abs = |&(d, m): &(i64, u32)| d * 1440 + i64::from(m);
        if times.len() < 2 {
            return Err(Error::invalid(loc(), "fewer than two time steps"));
        }
        let step = abs(&times[1]) - abs(&times[0]);
        if step <= 0 || 1440 % step != 0 {
            return Err(Error::invalid(
                loc().row(2).field("time"),
                format!("a step of {step} min does not divide a day"),
            ));
        }
        let mut days: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
        for (k, t) in times.iter().enumerate() {
            if k > 0 && abs(t) - abs(&times[k - 1]) != step {
                return Err(Error::invalid(
                    loc().row(k as u64 + 1).field("time"),
                    format!(
                        "irregular time: {} min after the previous row, expected {step} min",
                        abs(t) - abs(&times[k - 1])
                    ),
                ));
            }
            days.entry(t.0).or_insert((k, 0)).1 += 1;
        }
        for (name, values) in &columns {
            if values.len() != times.len() {
                return Err(Error::invalid(
                    loc().field(name.clone()),
                    format!("{} values for {} time steps", values.len(), times.len()),
                ));
            }
            if let Some((k, v)) = values
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(Error::invalid(
                    loc().row(k as u64 + 1).field(name.clone()),
                    format!("{v}: a profile multiplier must be a finite number ≥ 0"),
                ));
            }
        }
        // A day counts only when complete (a series may start or end inside a day).
        let per_day = (1440 / step) as usize;
        days.retain(|_, (_, n)| *n == per_day);
        Ok(FeederSeries {
            source,
            step_minutes: step as u32,
            days,
            columns,
            element_column,
        })
    }

    /// Whether any element has a series.
    pub fn is_empty(&self) -> bool {
        self.element_column.iter().all(Option::is_none)
    }

    /// The day `clock` of every element that has a series, kW, resampled to `step_minutes`.
    pub fn day(
        &self,
        elements: &[PowerElement],
        clock: &Day,
        step_minutes: u32,
    ) -> Result<ElementDay> {
        let date = crate::util::dates::parse(&clock.date).ok_or_else(|| {
            Error::invalid(
                Location::file(&self.source).field("time"),
                format!(
                    "the study day `{}` is not a calendar date; the feeder's series need one",
                    clock.date
                ),
            )
        })?;
        let Some(&(first, n)) = self.days.get(&date) else {
            let span = match (self.days.keys().next(), self.days.keys().next_back()) {
                (Some(a), Some(b)) => format!(
                    "they cover {} to {}",
                    crate::util::dates::format(*a),
                    crate::util::dates::format(*b)
                ),
                _ => "they hold no complete day".into(),
            };
            return Err(Error::invalid(
                Location::file(&self.source).field("time"),
                format!(
                    "no complete day {} in the feeder's series: {span}",
                    clock.date
                ),
            ));
        };
        let mut by_element = BTreeMap::new();
        for (i, e) in elements.iter().enumerate() {
            let Some(c) = self.element_column.get(i).copied().flatten() else {
                continue;
            };
            let (name, mult) = &self.columns[c];
            let rated_kw = e.p_mw * e.scaling * 1e3;
            let own = Day {
                file: self.source.clone(),
                date: clock.date.clone(),
                step_minutes: self.step_minutes,
                local_minutes: (0..n as u32).map(|k| k * self.step_minutes).collect(),
                utc_offsets_min: None,
                series: vec![crate::profiles::Series {
                    name: name.clone(),
                    unit: Unit::Kw,
                    values: mult[first..first + n]
                        .iter()
                        .map(|m| m * rated_kw)
                        .collect(),
                }],
            };
            let day = own.resampled(step_minutes)?.on_clock_of(clock)?;
            by_element.insert(i, day.series[0].values.clone());
        }
        Ok(ElementDay {
            file: self.source.clone(),
            by_element,
        })
    }
}
