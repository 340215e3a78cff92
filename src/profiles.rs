//! Time series: wide CSV files with units in the headers, one day at a time, and
//! energy-conserving resampling between any steps that divide a day (5, 10, 15, 30, 60 min, …).
//!
//! # Format
//!
//! The first column is `timestamp` (ISO 8601 interval *start*, optionally with a UTC offset:
//! `2016-06-15T00:15:00+02:00`) or `time_of_day` (`HH:MM`, for a typical day). Every other column
//! is a series whose unit is its name's suffix:
//!
//! | suffix | unit | resampled by |
//! |---|---|---|
//! | `_kw` | average power over the interval, kW | mean (down) / hold (up): energy is conserved |
//! | `_kw_per_kwp` | PV output per kW-peak installed | same |
//! | `_per_mwh` (`aud_per_mwh`, `eur_per_mwh`, …) | price per MWh | time-weighted mean / hold; [`Series::per_kwh`] divides by 1000 |
//! | `_per_kwh` | price per kWh | same |
//! | `_w_per_m2`, `_c` | irradiance, temperature (informative) | same |
//!
//! `interval_end` and `weekday` columns are informative and skipped. Any other column is an
//! "unknown unit" error. Timestamps must be strictly increasing with one constant step (checked on
//! UTC instants when offsets are given, so DST changes are not gaps); values must be finite.
//!
//! # Days
//!
//! A day is selected by its *local* date (the label's date). A day on which the clocks change has
//! 23 or 25 hours in local time, and that is what it is read as: its steps keep their local
//! clock ([`Day::local_minutes`], labels with the UTC offset); a 24-hour series (prices, a
//! weekly profile) meets it by local time of day ([`Day::on_clock_of`]). Any other row count is
//! an incomplete day and refused. Resampling needs the steps to divide each
//! other (5 ↔ 15 ↔ 60 minutes).

use crate::error::{Error, Location, Result};
use crate::table::Table;

/// Unit of a series, from its column-name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// Average power over the interval, kW.
    Kw,
    /// Power per installed kW-peak, kW/kWp.
    KwPerKwp,
    /// Price per MWh (currency in the name).
    PerMwh,
    /// Price per kWh.
    PerKwh,
    /// Informative (irradiance, temperature).
    Other,
}

impl Unit {
    /// The unit of a column, `None` if not recognised.
    pub fn of_column(name: &str) -> Option<Unit> {
        if name.ends_with("_kw_per_kwp") {
            Some(Unit::KwPerKwp)
        } else if name.ends_with("_kw") {
            Some(Unit::Kw)
        } else if name.ends_with("_per_mwh") {
            Some(Unit::PerMwh)
        } else if name.ends_with("_per_kwh") {
            Some(Unit::PerKwh)
        } else if name.ends_with("_w_per_m2") || name.ends_with("_c") {
            Some(Unit::Other)
        } else {
            None
        }
    }
}

/// One series of a day.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Column name.
    pub name: String,
    /// Unit from the name.
    pub unit: Unit,
    /// One value per step.
    pub values: Vec<f64>,
}

impl Series {
    /// Prices as per kWh (÷1000 for `_per_mwh`); other units unchanged.
    pub fn per_kwh(&self) -> Vec<f64> {
        match self.unit {
            Unit::PerMwh => self.values.iter().map(|v| v / 1000.0).collect(),
            _ => self.values.clone(),
        }
    }
}

/// One day of several series at a common step.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// Source file (for messages).
    pub file: String,
    /// The local date (`YYYY-MM-DD`), or `typical` for `time_of_day` files.
    pub date: String,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Local wall-clock start of each step, minutes after midnight (on a day the clocks change,
    /// an hour is missing or repeated).
    pub local_minutes: Vec<u32>,
    /// UTC offset of each step, minutes, when the file gives offsets.
    pub utc_offsets_min: Option<Vec<i32>>,
    /// The series.
    pub series: Vec<Series>,
}

impl Day {
    /// A series by exact column name, or an error listing what the file has.
    pub fn get(&self, name: &str) -> Result<&Series> {
        self.series.iter().find(|s| s.name == name).ok_or_else(|| {
            Error::invalid(
                Location::file(&self.file).field(name),
                format!(
                    "no such column; the file has: {}",
                    self.series
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.local_minutes.len()
    }

    /// Whether the day has no steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This day resampled to `step_minutes` (energy-conserving; see the module docs).
    pub fn resampled(&self, step_minutes: u32) -> Result<Day> {
        let series = self
            .series
            .iter()
            .map(|s| {
                Ok(Series {
                    values: resample(&s.values, self.step_minutes, step_minutes).map_err(|m| {
                        Error::invalid(Location::file(&self.file).field(&s.name), m)
                    })?,
                    ..s.clone()
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The clock of the new steps: each old step's start split into the common divisor of
        // the steps, then every `to/g`-th sub-step start (the rule of [`resample`]).
        let g = gcd(self.step_minutes, step_minutes);
        let (hold, mean) = (
            (self.step_minutes / g) as usize,
            (step_minutes / g) as usize,
        );
        let sub = |k: usize| (k / hold, (k % hold) as u32 * g);
        let n_new = self.local_minutes.len() * hold / mean;
        let local_minutes = (0..n_new)
            .map(|j| {
                let (i, m) = sub(j * mean);
                self.local_minutes[i] + m
            })
            .collect();
        let utc_offsets_min = self
            .utc_offsets_min
            .as_ref()
            .map(|o| (0..n_new).map(|j| o[sub(j * mean).0]).collect());
        Ok(Day {
            series,
            step_minutes,
            local_minutes,
            utc_offsets_min,
            ..self.clone()
        })
    }

    /// Whether the clocks change on this day (its UTC offset is not constant).
    pub fn clocks_change(&self) -> bool {
        self.utc_offsets_min
            .as_ref()
            .is_some_and(|o| o.windows(2).any(|w| w[0] != w[1]))
    }

    /// Label of step `t`: `HH:MM`, with the UTC offset (`02:00+01:00`) on a day the clocks
    /// change, so that a repeated hour is told apart.
    pub fn label(&self, t: usize) -> String {
        let m = self.local_minutes.get(t).copied().unwrap_or(0);
        let hm = format!("{:02}:{:02}", m / 60, m % 60);
        match (&self.utc_offsets_min, self.clocks_change()) {
            (Some(o), true) => {
                let off = o[t];
                let sign = if off < 0 { '-' } else { '+' };
                format!("{hm}{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
            }
            _ => hm,
        }
    }

    /// This day's series on the local clock of `clock` (a day at the same step): step `t` takes
    /// the value of this day's step with the same local start time. That is how a series of a
    /// 24-hour day (a price day, a weekly commercial profile, a time-of-use tariff) meets a day
    /// on which the clocks change: the missing hour is skipped, the repeated one repeated.
    /// Identical clocks return the day unchanged.
    pub fn on_clock_of(&self, clock: &Day) -> Result<Day> {
        if self.local_minutes == clock.local_minutes {
            return Ok(self.clone());
        }
        if self.step_minutes != clock.step_minutes {
            return Err(Error::Numerical(format!(
                "{}: cannot align {}-min steps to {}-min steps",
                self.file, self.step_minutes, clock.step_minutes
            )));
        }
        let mut idx = Vec::with_capacity(clock.local_minutes.len());
        for &m in &clock.local_minutes {
            let i = self
                .local_minutes
                .iter()
                .position(|&x| x == m)
                .ok_or_else(|| {
                    Error::invalid(
                        Location::file(&self.file),
                        format!(
                            "{} has no step at local time {:02}:{:02}",
                            self.date,
                            m / 60,
                            m % 60
                        ),
                    )
                })?;
            idx.push(i);
        }
        Ok(Day {
            series: self
                .series
                .iter()
                .map(|s| Series {
                    values: idx.iter().map(|&i| s.values[i]).collect(),
                    ..s.clone()
                })
                .collect(),
            local_minutes: clock.local_minutes.clone(),
            utc_offsets_min: clock.utc_offsets_min.clone(),
            ..self.clone()
        })
    }
}

/// Resamples average-power-like values between any two steps: each value is held over the
/// common divisor `g = gcd(from, to)` of the steps, then averaged over the `to/g` sub-intervals
/// of each new step. Refining (60 → 20) is a pure hold, coarsening (15 → 60) a pure mean, and
/// steps that do not divide each other (15 → 10) go through `g` (5 min). Both stages conserve
/// `Σ value·Δt` exactly; the only requirement is that the values fill whole new steps.
pub fn resample(
    values: &[f64],
    from_min: u32,
    to_min: u32,
) -> std::result::Result<Vec<f64>, String> {
    if from_min == 0 || to_min == 0 {
        return Err("step must be positive".into());
    }
    if from_min == to_min {
        return Ok(values.to_vec());
    }
    let g = gcd(from_min, to_min);
    let (hold, mean) = ((from_min / g) as usize, (to_min / g) as usize);
    if (values.len() * hold) % mean != 0 {
        return Err(format!(
            "{} values of {from_min} min do not fill whole {to_min}-min steps",
            values.len()
        ));
    }
    let mut out = Vec::with_capacity(values.len() * hold / mean);
    let (mut acc, mut k) = (0.0, 0);
    for &v in values {
        for _ in 0..hold {
            acc += v;
            k += 1;
            if k == mean {
                out.push(acc / mean as f64);
                (acc, k) = (0.0, 0);
            }
        }
    }
    Ok(out)
}

/// Greatest common divisor.
fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A parsed time label: minutes of local wall clock since 1970-01-01 and the UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    local_min: i64,
    offset_min: i64,
}

/// Parses `YYYY-MM-DDTHH:MM[:00][Z|±HH:MM]` (a space for the `T` is accepted). Works on bytes:
/// any non-ASCII byte simply fails to match, so no slicing can land inside a character. The date
/// must be a real calendar date ([`crate::util::dates::parse`]); offsets are within ±18:00.
fn parse_timestamp(s: &str) -> Option<Stamp> {
    let b = s.as_bytes();
    if b.len() < 16 || !b.is_ascii() || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    let day = crate::util::dates::parse(s.get(..10)?)?;
    let two = |i: usize| -> Option<i64> {
        let (x, y) = (*b.get(i)?, *b.get(i + 1)?);
        (x.is_ascii_digit() && y.is_ascii_digit())
            .then(|| i64::from(x - b'0') * 10 + i64::from(y - b'0'))
    };
    let (h, mi) = (two(11)?, two(14)?);
    if h > 23 || mi > 59 {
        return None;
    }
    let mut rest = &b[16..];
    if rest.first() == Some(&b':') {
        if rest.get(1..3)? != b"00" {
            return None;
        }
        rest = &rest[3..];
    }
    let offset_min = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let d = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
            let (oh, om) = (d(h1)? * 10 + d(h2)?, d(m1)? * 10 + d(m2)?);
            if oh > 18 || om > 59 {
                return None;
            }
            (if *sign == b'-' { -1 } else { 1 }) * (oh * 60 + om)
        }
        _ => return None,
    };
    Some(Stamp {
        local_min: day * 1440 + h * 60 + mi,
        offset_min,
    })
}

fn parse_time_of_day(s: &str) -> Option<i64> {
    // HH:MM, optionally :00 seconds; ASCII digits only.
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    let (hh, rest) = (b.get(..2)?, b.get(2..)?);
    let mm = match rest {
        [b':', m1, m2] => [*m1, *m2],
        [b':', m1, m2, b':', b'0', b'0'] => [*m1, *m2],
        _ => return None,
    };
    if !digits(hh) || !digits(&mm) {
        return None;
    }
    let h = i64::from(hh[0] - b'0') * 10 + i64::from(hh[1] - b'0');
    let m = i64::from(mm[0] - b'0') * 10 + i64::from(mm[1] - b'0');
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A parsed, validated series file: the whole time axis checked once, rows indexed by local
/// day, values parsed only when a day is asked for.
#[derive(Debug)]
pub struct SeriesFile {
    table: Table,
    first: String,
    typical: bool,
    step: i64,
    series_cols: Vec<(String, Unit)>,
    days: std::collections::HashMap<i64, Vec<usize>>,
    /// Per row: local start minute of the day and UTC offset, minutes.
    clock: Vec<(u32, i32)>,
}

impl SeriesFile {
    /// Parses and validates a wide CSV (header, units, time axis).
    pub fn parse(file: &str, text: &str) -> Result<SeriesFile> {
        let table = Table::parse(file, text)?;
        let header = table.header().to_vec();
        let first = header.first().cloned().unwrap_or_default();
        let typical = match first.as_str() {
            "timestamp" => false,
            "time_of_day" => true,
            other => {
                return Err(Error::invalid(
                    Location::file(file).row(1).field(other),
                    "the first column must be `timestamp` or `time_of_day`",
                ))
            }
        };
        let mut series_cols = Vec::new();
        for h in header.iter().skip(1) {
            if matches!(h.as_str(), "interval_end" | "weekday") {
                continue;
            }
            let Some(unit) = Unit::of_column(h) else {
                return Err(Error::invalid(
                    Location::file(file).row(1).field(h.clone()),
                    "unknown unit: a series column must end in _kw, _kw_per_kwp, _per_mwh or _per_kwh",
                ));
            };
            series_cols.push((h.clone(), unit));
        }
        let mut step: Option<i64> = None;
        let mut prev: Option<i64> = None;
        let mut days: std::collections::HashMap<i64, Vec<usize>> = std::collections::HashMap::new();
        let mut clock: Vec<(u32, i32)> = Vec::new();
        for (i, row) in table.rows().enumerate() {
            // The time axis is the first column.
            let raw = row.cell(0).unwrap_or_default();
            let (instant, local_day) = if typical {
                let m = parse_time_of_day(raw).ok_or_else(|| Error::Parse {
                    loc: row.loc(&first),
                    value: raw.to_string(),
                    expected: "a time of day HH:MM",
                })?;
                clock.push((m as u32, 0));
                (m, 0)
            } else {
                let s = parse_timestamp(raw).ok_or_else(|| Error::Parse {
                    loc: row.loc(&first),
                    value: raw.to_string(),
                    expected: "an ISO 8601 timestamp YYYY-MM-DDTHH:MM[:00][±HH:MM]",
                })?;
                clock.push((s.local_min.rem_euclid(1440) as u32, s.offset_min as i32));
                (s.local_min - s.offset_min, s.local_min.div_euclid(1440))
            };
            if let Some(p) = prev {
                let d = instant - p;
                if d <= 0 {
                    return Err(Error::invalid(
                        row.loc(&first),
                        format!(
                            "time is not increasing (`{raw}` does not follow the previous row)"
                        ),
                    ));
                }
                match step {
                    None => step = Some(d),
                    Some(s) if s != d => {
                        return Err(Error::invalid(
                            row.loc(&first),
                            format!("gap or irregular step: {d} min after the previous row, expected {s} min"),
                        ))
                    }
                    _ => {}
                }
            }
            prev = Some(instant);
            days.entry(local_day).or_default().push(i);
        }
        if table.is_empty() {
            return Err(Error::invalid(
                Location::file(file),
                "the file has a header but no rows",
            ));
        }
        if series_cols.is_empty() {
            return Err(Error::invalid(
                Location::file(file).row(1),
                "no series columns (`_kw`, `_kw_per_kwp`, `_per_mwh`, `_per_kwh`)",
            ));
        }
        let step = step.unwrap_or(60);
        if !(1..=1440).contains(&step) || 1440 % step != 0 {
            return Err(Error::invalid(
                Location::file(file),
                format!("a step of {step} min does not divide a day"),
            ));
        }
        Ok(SeriesFile {
            table,
            first,
            typical,
            step,
            series_cols,
            days,
            clock,
        })
    }

    /// The file name.
    pub fn file(&self) -> &str {
        self.table.file()
    }

    /// The step of the file, minutes.
    pub fn step_minutes(&self) -> u32 {
        self.step as u32
    }

    /// Whether this is a `time_of_day` file (one typical day).
    pub fn is_typical(&self) -> bool {
        self.typical
    }

    /// Number of rows of a local date (`YYYY-MM-DD`), `None` when the file has none (or the
    /// date is malformed); a `time_of_day` file answers for its one day whatever the date.
    pub fn rows_on(&self, date: &str) -> Option<usize> {
        if self.typical {
            return self.days.get(&0).map(Vec::len);
        }
        let key = parse_timestamp(&format!("{date}T00:00"))?.local_min / 1440;
        self.days.get(&key).map(Vec::len)
    }

    /// The same month and day in a *typical-year* file (every row in one calendar year, as a
    /// TMY): the date a study day stands for in it. 29 February, which a typical year lacks,
    /// becomes 28 February. `None` when the file spans several years or is a typical day.
    pub fn typical_year_date(&self, date: &str) -> Option<String> {
        if self.typical || date.len() != 10 {
            return None;
        }
        let mut years = self
            .days
            .keys()
            .map(|&k| crate::util::dates::civil_from_days(k).0);
        let y = years.next()?;
        if years.any(|x| x != y) {
            return None;
        }
        let md = match &date[4..] {
            "-02-29" if !crate::util::dates::is_leap(y) => "-02-28",
            md => md,
        };
        Some(format!("{y:04}{md}"))
    }

    /// Mean of a series column over the whole file (parsed on every call).
    pub fn column_mean(&self, column: &str) -> Result<f64> {
        let n = self.table.len();
        if n == 0 {
            return Err(Error::invalid(Location::file(self.file()), "no rows"));
        }
        let mut sum = 0.0;
        for i in 0..n {
            sum += self.table.row_at(i).expect("row exists").f64(column)?;
        }
        Ok(sum / n as f64)
    }

    /// One day (`date` = local `YYYY-MM-DD`; ignored for `time_of_day` files) of the listed
    /// columns (all series if empty).
    pub fn day(&self, date: Option<&str>, columns: &[&str]) -> Result<Day> {
        let file = self.table.file();
        for c in columns {
            if !self.series_cols.iter().any(|(h, _)| h == c) {
                return Err(Error::invalid(
                    Location::file(file).field(*c),
                    format!(
                        "no such series; the file has: {}",
                        self.table
                            .header()
                            .iter()
                            .skip(1)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        let key = if self.typical {
            0
        } else {
            let d = date.unwrap_or_default();
            crate::util::dates::parse(d).ok_or_else(|| Error::Parse {
                loc: Location::file(file).field("date"),
                value: d.to_string(),
                expected: "a date YYYY-MM-DD",
            })?
        };
        let per_day = (1440 / self.step) as usize;
        let rows: &[usize] = if self.typical {
            self.days.get(&0).map(Vec::as_slice).unwrap_or(&[])
        } else {
            self.days.get(&key).map(Vec::as_slice).ok_or_else(|| {
                Error::invalid(
                    Location::file(file).field("date"),
                    format!("no rows for {}", date.unwrap_or("the day")),
                )
            })?
        };
        // A day on which the clocks change has an hour fewer or more, in local time.
        let changes = rows
            .windows(2)
            .any(|w| self.clock[w[0]].1 != self.clock[w[1]].1);
        let dst_ok = changes && rows.len().abs_diff(per_day) == (60 / self.step.min(60)) as usize;
        if rows.len() != per_day && !dst_ok {
            return Err(Error::invalid(
                Location::file(file).field(self.first.clone()),
                format!(
                    "{} has {} rows of {} min, a day needs {per_day} (an incomplete day)",
                    date.unwrap_or("the file"),
                    rows.len(),
                    self.step
                ),
            ));
        }
        let mut series = Vec::new();
        for (name, unit) in &self.series_cols {
            if !columns.is_empty() && !columns.contains(&name.as_str()) {
                continue;
            }
            let mut values = Vec::with_capacity(per_day);
            for &i in rows {
                let row = self.table.row_at(i).ok_or_else(|| {
                    Error::Numerical(format!("{file}: indexed row {i} is missing"))
                })?;
                values.push(row.f64(name)?);
            }
            series.push(Series {
                name: name.clone(),
                unit: *unit,
                values,
            });
        }
        Ok(Day {
            file: file.to_string(),
            date: if self.typical {
                "typical".into()
            } else {
                date.unwrap_or_default().to_string()
            },
            step_minutes: self.step as u32,
            local_minutes: rows.iter().map(|&i| self.clock[i].0).collect(),
            utc_offsets_min: (!self.typical)
                .then(|| rows.iter().map(|&i| self.clock[i].1).collect()),
            series,
        })
    }
}

/// Reads one day from a wide CSV. `date` (`YYYY-MM-DD`) selects the local date of a
/// `timestamp` file; `time_of_day` files are a single typical day and ignore it. Only the
/// listed `columns` are read (all series if empty); every series column is still checked for a
/// known unit.
pub fn read_day(file: &str, text: &str, date: Option<&str>, columns: &[&str]) -> Result<Day> {
    SeriesFile::parse(file, text)?.day(date, columns)
}

/// A parsed series file, cached for the life of the process (sweeps read hundreds of days from
/// the same year-long files). `spec` is `builtin:NAME` or a path.
pub fn cached(spec: &str) -> Result<std::sync::Arc<SeriesFile>> {
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, Arc<SeriesFile>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(f) = cache
        .lock()
        .map_err(|_| Error::Numerical("profile cache poisoned".into()))?
        .get(spec)
    {
        return Ok(f.clone());
    }
    let (label, text) = source_text(spec)?;
    let parsed = Arc::new(SeriesFile::parse(&label, &text)?);
    cache
        .lock()
        .map_err(|_| Error::Numerical("profile cache poisoned".into()))?
        .insert(spec.to_string(), parsed.clone());
    Ok(parsed)
}

/// One day of a series file (`spec` = `builtin:NAME` or a path; `date` as in
/// [`SeriesFile::day`]), the way every study reads its profiles.
///
/// The built-in files are year-long 15-minute series (35 000 rows, 4 MB) of which a day needs
/// 96 rows: parsing all of them was 90 % of a small day's process. The day's lines are
/// therefore found by binary search on the date prefix of the lines (the file is in time
/// order), and only they (with the header) go through [`SeriesFile::parse`] — the same
/// parser and checks, so the day is the one the whole file gives (the test
/// `builtin_days_match_the_whole_file` compares every day of every built-in file). Anything
/// unusual (a path, a `time_of_day` file, a date the index does not hold, a day the sub-parse
/// refuses) goes through the whole-file path, so errors are the whole file's errors.
pub fn day_of(spec: &str, date: Option<&str>, columns: &[&str]) -> Result<Day> {
    if let (Some(d), Some(sub)) = (date, builtin_day_file(spec, date)) {
        if let Ok(day) = sub.day(Some(d), columns) {
            return Ok(day);
        }
    }
    cached(spec)?.day(date, columns)
}

/// The byte range of the lines of local date `date` in a `timestamp` file whose lines are in
/// time order (so in `YYYY-MM-DD` order): two binary searches over byte offsets, each probe
/// reading the date prefix of the next line, so no line is read except the ~2·log₂(rows) probed.
fn date_lines(text: &str, body: usize, date: &str) -> (usize, usize) {
    let b = text.as_bytes();
    // The start of the first line at or after byte `at` (`at` itself when it starts a line).
    let line_at = |at: usize| -> usize {
        if at <= body || b[at - 1] == b'\n' {
            return at.max(body);
        }
        b[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |i| at + i + 1)
    };
    let next_line = |at: usize| line_at(at + 1);
    let key = |at: usize| b.get(at..at + 10).unwrap_or(&b[at..]);
    // First line whose date prefix is not before `d` (`strictly_after`: after `d`).
    let bound = |d: &[u8], strictly_after: bool| -> usize {
        let before = |at: usize| {
            let k = key(at);
            if strictly_after {
                k <= d
            } else {
                k < d
            }
        };
        let (mut lo, mut hi) = (body, b.len());
        // Invariant: `lo` starts a line, every line before it is before the bound; `hi` starts
        // a line (or is the end) and every line from it on is not.
        while lo < hi {
            let mid = line_at(lo + (hi - lo) / 2);
            let probe = if mid < hi { mid } else { lo };
            if before(probe) {
                lo = next_line(probe);
            } else {
                hi = probe;
            }
        }
        lo
    };
    (bound(date.as_bytes(), false), bound(date.as_bytes(), true))
}

/// The parsed one-day sub-file of a built-in profile (cached per file and date), `None` when the
/// fast path does not apply (see [`day_of`]).
fn builtin_day_file(spec: &str, date: Option<&str>) -> Option<std::sync::Arc<SeriesFile>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    let name = spec.strip_prefix("builtin:")?;
    let date = date?;
    let k = BUILTIN.iter().position(|(n, _, _)| *n == name)?;
    let (_, label, full) = BUILTIN[k];
    let header = full.split_inclusive('\n').next()?;
    if !header.starts_with("timestamp,") || date.len() != 10 {
        return None;
    }
    type DayFiles = Mutex<HashMap<(usize, String), Arc<SeriesFile>>>;
    static DAYS: OnceLock<DayFiles> = OnceLock::new();
    let cache = DAYS.get_or_init(Default::default);
    let key = (k, date.to_string());
    if let Some(f) = cache.lock().ok()?.get(&key) {
        return Some(f.clone());
    }
    let (a, b) = date_lines(full, header.len(), date);
    if a >= b {
        return None;
    }
    let mut text = String::with_capacity(header.len() + 1 + (b - a));
    text.push_str(header);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&full[a..b]);
    let parsed = Arc::new(SeriesFile::parse(label, &text).ok()?);
    cache.lock().ok()?.insert(key, parsed.clone());
    Some(parsed)
}

/// Weekday (0 = Monday) of a `YYYY-MM-DD` date.
pub fn weekday(date: &str) -> Option<u32> {
    crate::util::dates::parse(date).map(crate::util::dates::weekday)
}

/// Built-in files that are a *typical* year (a TMY), not a calendar year: a study date reads the
/// same month and day of them ([`SeriesFile::typical_year_date`]). Every other file must hold
/// the study's date (SimBench's 2016 is a real year: 2017-03-27 is not in it).
pub const TYPICAL_YEAR: &[&str] = &["builtin:pv_tmy3"];

/// Profiles compiled into the binary from `profiles/` (names usable as `builtin:NAME`).
pub const BUILTIN: &[(&str, &str, &str)] = &[
    (
        "households",
        "profiles/households_simbench_h0_2016_15min.csv",
        include_str!("../profiles/households_simbench_h0_2016_15min.csv"),
    ),
    (
        "pv",
        "profiles/pv_simbench_2016_15min.csv",
        include_str!("../profiles/pv_simbench_2016_15min.csv"),
    ),
    (
        "pv_tmy3",
        "profiles/pv_pvlib_tmy3_greensboro_hourly.csv",
        include_str!("../profiles/pv_pvlib_tmy3_greensboro_hourly.csv"),
    ),
    (
        "commercial",
        "profiles/commercial_pycity_week_15min.csv",
        include_str!("../profiles/commercial_pycity_week_15min.csv"),
    ),
    (
        "aemo",
        "profiles/prices_aemo_nem_2020-01-02_5min.csv",
        include_str!("../profiles/prices_aemo_nem_2020-01-02_5min.csv"),
    ),
    (
        "paper2024",
        "profiles/paper2024/cluster_medians_hourly.csv",
        include_str!("../profiles/paper2024/cluster_medians_hourly.csv"),
    ),
];

/// The (label, text) of a profile source: `builtin:NAME` or a file path.
pub fn source_text(spec: &str) -> Result<(String, std::borrow::Cow<'static, str>)> {
    if let Some(name) = spec.strip_prefix("builtin:") {
        return BUILTIN
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, label, text)| (label.to_string(), std::borrow::Cow::Borrowed(*text)))
            .ok_or_else(|| {
                Error::invalid(
                    Location::file(spec),
                    format!(
                        "unknown built-in profile; known: {}",
                        BUILTIN
                            .iter()
                            .map(|b| format!("builtin:{}", b.0))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            });
    }
    let text = crate::util::limits::read_text(
        std::path::Path::new(spec),
        crate::util::limits::MAX_DATA_BYTES,
    )?;
    Ok((spec.to_string(), std::borrow::Cow::Owned(text)))
}
