//! Importing a community day (5-minute or any regular step) from an Excel workbook (`.xlsx`,
//! read with calamine, pure Rust) or a CSV file, as the microgrid/VPP seed does.
//!
//! Columns are recognised by name, case-insensitively and ignoring spaces and underscores:
//!
//! * time: `timestamp` (or `datetime`), or `Date` + `Time`, or `Time` alone (Excel date/time
//!   cells, serial numbers, or text such as `2020-01-02 00:05`, `00:05`);
//! * price (optional): a column named like `Price($/kWh)`, `price_per_kwh`, `RRP($/MWh)`,
//!   `rrp`, `price_per_mwh` — per-MWh prices (and bare `RRP`, AEMO's unit) are divided by 1000;
//! * PV per prosumer, kW: `P1..PN`, or loosely `pv1`, `PV_1`, `prosumer1`;
//! * load per prosumer, kW: `Load1..LoadN`; a missing load column means no load.
//!
//! Anything ambiguous (two price columns, both `P1` and `pv1`, two `Load1`) or missing (no time,
//! no PV, a prosumer number skipped, `P0`) is an error that lists the columns found. Every value is
//! checked (number, finite; PV and load >= 0) with its row and column named; the time axis must
//! be regular and cover exactly one day. Sizes are bounded before anything is allocated
//! ([`crate::util::limits`]): the file's bytes, the sheet's cells and rows (read as a stream, so a
//! tiny workbook that claims a million-by-16,000 sheet is refused, not allocated), and the
//! number of prosumers a column name can ask for.
//!
//! # Sheets
//!
//! A workbook's first sheet is read unless a sheet is named ([`read_sheet`], `--sheet NAME`,
//! scenario `import_sheet`): an exact name, else the one sheet whose name matches ignoring case
//! and surrounding spaces. A name the workbook does not have is an error listing its sheets.
//!
//! # Prices in the wrong unit
//!
//! A price column whose name does not say MWh (`price`, `Price($/kWh)`, `*_per_kwh`) is taken
//! as per kWh. When the median of its magnitudes exceeds [`MAX_MEDIAN_PER_KWH`] (5 per kWh)
//! the column is refused as "looks like $/MWh", naming the first row above the threshold: no
//! retail or wholesale market's *typical* price is 5 $/kWh, while $/MWh prices sit at 20–300.
//! The median, not the maximum, is tested so that a genuine per-kWh series with a few spikes
//! to a market cap (the NEM's is about 15 $/kWh) is still accepted.
//!
//! # The day's date
//!
//! When the file carries dates — a `Date` column, or a `timestamp`/`datetime`/`Time` column
//! whose cells are date-times (Excel date-time serials, or text starting `YYYY-MM-DD`) — every
//! row must be on the same date, and that date is the day ([`ImportedDay::date`]); the study
//! labels its day with it instead of the scenario's `day`. Rows on different dates are refused
//! (a workbook import is one day; the first row on another date is named). A file with times of
//! day only has no date, and the scenario's `day` labels it.

use crate::error::{Error, Location, Result};
use std::path::Path;

/// A day read from a workbook or CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedDay {
    /// Source file.
    pub file: String,
    /// The sheet read (workbooks), by its name in the workbook.
    pub sheet: Option<String>,
    /// The day's date (`YYYY-MM-DD`) when the file carries dates (see the module docs).
    pub date: Option<String>,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Price per step, $/kWh, if the file has one.
    pub price_per_kwh: Option<Vec<f64>>,
    /// The price column's name.
    pub price_column: Option<String>,
    /// PV per prosumer and step, kW.
    pub pv_kw: Vec<Vec<f64>>,
    /// Load per prosumer and step, kW.
    pub load_kw: Vec<Vec<f64>>,
}

/// A cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number (Excel dates and times are their serial day numbers).
    Num(f64),
    /// Text.
    Text(String),
    /// Nothing.
    Empty,
}

/// The largest median |price| a per-kWh column may have before it is refused as $/MWh.
pub const MAX_MEDIAN_PER_KWH: f64 = 5.0;

/// Reads a `.xlsx`/`.xls`/`.ods` workbook (first sheet) or a `.csv` file.
pub fn read(path: &Path) -> Result<ImportedDay> {
    read_sheet(path, None)
}

/// Reads a workbook's sheet `sheet` (the first when `None`; see the module docs) or a `.csv`
/// file (which has no sheets: naming one is an error).
pub fn read_sheet(path: &Path, sheet: Option<&str>) -> Result<ImportedDay> {
    let file = path.display().to_string();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let bytes = crate::util::limits::read_bytes(path, crate::util::limits::MAX_DATA_BYTES)?;
    from_bytes_sheet(&file, &ext, bytes, sheet)
}

/// [`read`] on a file's bytes in memory (`ext`: `csv`, `xlsx`, `xls`, `ods`, …).
pub fn from_bytes(file: &str, ext: &str, bytes: Vec<u8>) -> Result<ImportedDay> {
    from_bytes_sheet(file, ext, bytes, None)
}

/// [`read_sheet`] on a file's bytes in memory.
pub fn from_bytes_sheet(
    file: &str,
    ext: &str,
    bytes: Vec<u8>,
    sheet: Option<&str>,
) -> Result<ImportedDay> {
    let (name, (header, rows)) = if ext == "csv" {
        if let Some(name) = sheet {
            return Err(Error::invalid(
                Location::file(file).field("sheet"),
                format!("a CSV file has no sheets (asked for `{name}`); --sheet is for workbooks"),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| Error::Malformed {
            loc: Location::file(file),
            msg: format!("not UTF-8 text: {e}"),
        })?;
        (None, csv_cells(file, &text)?)
    } else if ext == "xlsx" || ext == "xlsm" {
        xlsx_cells(file, bytes, sheet)?
    } else {
        other_cells(file, bytes, sheet)?
    };
    let mut day = from_cells(file, &header, &rows)?;
    day.sheet = name;
    Ok(day)
}

type Sheet = (Vec<String>, Vec<Vec<Cell>>);

fn text_cell(s: &str) -> Cell {
    match s.trim() {
        "" => Cell::Empty,
        t => t
            .parse::<f64>()
            .map(Cell::Num)
            .unwrap_or_else(|_| Cell::Text(t.to_string())),
    }
}

fn csv_cells(file: &str, text: &str) -> Result<Sheet> {
    let t = crate::table::Table::parse(file, text)?;
    let header = t.header().to_vec();
    let rows = t
        .rows()
        .map(|r| {
            header
                .iter()
                .map(|h| text_cell(r.raw(h).unwrap_or("")))
                .collect()
        })
        .collect();
    Ok((header, rows))
}

fn too_big(file: &str, what: &str, v: u64, limit: u64) -> Error {
    crate::util::limits::exceeded(Location::file(file), what, v, limit)
}

/// A sheet (the first, or the one `sheet` names) of an `.xlsx` workbook, streamed cell by cell
/// with the size limits checked before any row is allocated; with the sheet's name.
fn xlsx_cells(file: &str, bytes: Vec<u8>, sheet: Option<&str>) -> Result<(Option<String>, Sheet)> {
    use crate::util::limits::{MAX_IMPORT_CELLS, MAX_IMPORT_ROWS, MAX_PROSUMERS};
    use calamine::{DataRef, Reader, Xlsx};
    let malformed = |e: &dyn std::fmt::Display| Error::Malformed {
        loc: Location::file(file),
        msg: format!("cannot read workbook: {e}"),
    };
    check_xlsx_references(file, &bytes)?;
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).map_err(|e| malformed(&e))?;
    let name = choose_sheet(file, &wb.sheet_names(), sheet)?;
    let mut reader = wb
        .worksheet_cells_reader(&name)
        .map_err(|e| malformed(&e))?;
    let max_cols = 2 * MAX_PROSUMERS as u32 + 16;
    let mut grid: Vec<Vec<Cell>> = Vec::new();
    let mut cells = 0u64;
    while let Some(c) = reader.next_cell().map_err(|e| malformed(&e))? {
        let (r, col) = c.get_position();
        if r >= MAX_IMPORT_ROWS {
            return Err(too_big(
                file,
                "the sheet's row number",
                u64::from(r) + 1,
                u64::from(MAX_IMPORT_ROWS),
            ));
        }
        if col >= max_cols {
            return Err(too_big(
                file,
                "the sheet's column number",
                u64::from(col) + 1,
                u64::from(max_cols),
            ));
        }
        let cell = match c.get_value() {
            DataRef::Int(i) => Cell::Num(*i as f64),
            DataRef::Float(f) => Cell::Num(*f),
            DataRef::DateTime(d) => Cell::Num(d.as_f64()),
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => text_cell(s),
            DataRef::SharedString(s) => text_cell(s),
            DataRef::Bool(b) => Cell::Text(b.to_string()),
            DataRef::Error(e) => Cell::Text(format!("#{e:?}")),
            DataRef::Empty => Cell::Empty,
        };
        if cell == Cell::Empty {
            continue;
        }
        let (r, col) = (r as usize, col as usize);
        if grid.len() <= r {
            grid.resize_with(r + 1, Vec::new);
        }
        let row = &mut grid[r];
        if row.len() <= col {
            cells += (col + 1 - row.len()) as u64;
            if cells > MAX_IMPORT_CELLS {
                return Err(too_big(
                    file,
                    "the sheet's number of cells",
                    cells,
                    MAX_IMPORT_CELLS,
                ));
            }
            row.resize(col + 1, Cell::Empty);
        }
        row[col] = cell;
    }
    Ok((Some(name.clone()), sheet_from_grid(file, &name, grid)?))
}

/// Excel's largest sheet is `XFD1048576`: column letters at most 3, row digits at most 7.
const MAX_REF_LETTERS: usize = 3;
const MAX_REF_DIGITS: usize = 7;

/// Checks every worksheet of an `.xlsx` before calamine reads it: each entry must decompress
/// (with its CRC) within the size limit, and every cell reference (`r="…"`, `ref="…"`) must be
/// within Excel's sheet. calamine 0.35 accumulates a reference's column and row in a `u32`
/// unchecked (`A99999999999` overflows: a panic with overflow checks, a wrapped position without),
/// so such a reference must never reach it.
fn check_xlsx_references(file: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Read;
    let malformed = |e: &dyn std::fmt::Display| Error::Malformed {
        loc: Location::file(file),
        msg: format!("cannot read workbook: {e}"),
    };
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| malformed(&e))?;
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(|e| malformed(&e))?;
        let name = e.name().to_string();
        if !name.starts_with("xl/worksheets/") {
            continue;
        }
        let limit = crate::util::limits::MAX_DATA_BYTES;
        let mut xml = Vec::new();
        (&mut e)
            .take(limit + 1)
            .read_to_end(&mut xml)
            .map_err(|e| malformed(&e))?;
        if xml.len() as u64 > limit {
            return Err(too_big(
                file,
                &format!("the bytes of {name}"),
                xml.len() as u64,
                limit,
            ));
        }
        if let Some(bad) = oversized_reference(&xml) {
            return Err(Error::invalid(
                Location::file(file).field(name),
                format!("cell reference `{bad}` is outside an Excel sheet (at most XFD1048576)"),
            ));
        }
    }
    Ok(())
}

/// The first attribute `r` or `ref` whose value holds a reference part (letters then digits)
/// longer than Excel allows.
fn oversized_reference(xml: &[u8]) -> Option<String> {
    let mut i = 0;
    while i < xml.len() {
        let starts = |name: &[u8]| {
            i > 0
                && xml[i - 1].is_ascii_whitespace()
                && xml[i..].starts_with(name)
                && xml
                    .get(i + name.len())
                    .is_some_and(|c| c.is_ascii_whitespace() || *c == b'=')
        };
        let name_len = if starts(b"ref") {
            3
        } else if starts(b"r") {
            1
        } else {
            i += 1;
            continue;
        };
        let mut j = i + name_len;
        while xml.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        if xml.get(j) != Some(&b'=') {
            i += 1;
            continue;
        }
        j += 1;
        while xml.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        let Some(&q) = xml.get(j).filter(|c| **c == b'"' || **c == b'\'') else {
            i += 1;
            continue;
        };
        let start = j + 1;
        let end = xml[start..]
            .iter()
            .position(|c| *c == q)
            .map_or(xml.len(), |p| start + p);
        let value = &xml[start..end];
        for part in value.split(|c| *c == b':') {
            let letters = part.iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let digits = part[letters..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if letters > MAX_REF_LETTERS || digits > MAX_REF_DIGITS {
                return Some(String::from_utf8_lossy(value).chars().take(40).collect());
            }
        }
        i = end;
    }
    None
}

/// `.xls`/`.ods` (and anything else calamine opens): read whole; the file-size limit bounds them.
fn other_cells(file: &str, bytes: Vec<u8>, sheet: Option<&str>) -> Result<(Option<String>, Sheet)> {
    use calamine::{open_workbook_auto_from_rs, Data, Reader};
    let mut wb =
        open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).map_err(|e| Error::Malformed {
            loc: Location::file(file),
            msg: format!("cannot open workbook: {e}"),
        })?;
    let name = choose_sheet(file, &wb.sheet_names(), sheet)?;
    let range = wb.worksheet_range(&name).map_err(|e| Error::Malformed {
        loc: Location::file(file).field(format!("sheet {name}")),
        msg: e.to_string(),
    })?;
    let grid = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Int(i) => Cell::Num(*i as f64),
                    Data::Float(f) => Cell::Num(*f),
                    Data::DateTime(d) => Cell::Num(d.as_f64()),
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => text_cell(s),
                    Data::Bool(b) => Cell::Text(b.to_string()),
                    Data::Error(e) => Cell::Text(format!("#{e:?}")),
                    Data::Empty => Cell::Empty,
                })
                .collect()
        })
        .collect();
    Ok((Some(name.clone()), sheet_from_grid(file, &name, grid)?))
}

fn sheet_from_grid(file: &str, name: &str, mut grid: Vec<Vec<Cell>>) -> Result<Sheet> {
    if grid.is_empty() {
        return Err(Error::invalid(
            Location::file(file).field(format!("sheet {name}")),
            "the sheet is empty",
        ));
    }
    let head = grid.remove(0);
    let header = head
        .iter()
        .map(|c| match c {
            Cell::Num(v) => crate::fmt_f64(*v),
            Cell::Text(t) => t.trim().to_string(),
            Cell::Empty => String::new(),
        })
        .collect();
    Ok((header, grid))
}

/// The sheet to read: the first, or the one `want` names ([`pick_sheet`]); an unknown name is
/// an error listing the workbook's sheets.
fn choose_sheet(file: &str, names: &[String], want: Option<&str>) -> Result<String> {
    match want {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| Error::invalid(Location::file(file), "the workbook has no sheet")),
        Some(want) => pick_sheet(names, want).ok_or_else(|| {
            Error::invalid(
                Location::file(file).field("sheet"),
                format!(
                    "no sheet named `{want}`; the workbook has: {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }),
    }
}

/// The sheet `want` names: exact, else the only one equal ignoring case and outer spaces.
fn pick_sheet(names: &[String], want: &str) -> Option<String> {
    if let Some(n) = names.iter().find(|n| *n == want) {
        return Some(n.clone());
    }
    let key = want.trim().to_lowercase();
    let loose: Vec<&String> = names
        .iter()
        .filter(|n| n.trim().to_lowercase() == key)
        .collect();
    match loose.as_slice() {
        [n] => Some((*n).clone()),
        _ => None,
    }
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .collect::<String>()
        .to_lowercase()
}

/// Splits `p12` → ("p", 12).
fn indexed(name: &str) -> Option<(String, usize)> {
    let n = norm(name);
    let digits: String = n
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if digits.is_empty() || digits.len() == n.len() {
        return None;
    }
    // An index too long to be a prosumer number still names a (refused) prosumer.
    let idx: usize = digits.parse().unwrap_or(usize::MAX);
    Some((n.get(..n.len() - digits.len())?.to_string(), idx))
}

/// Minutes of the day of a time cell: Excel serial (fraction of a day), or `HH:MM[:SS]`, or a
/// date-time text whose time part is taken.
fn minutes(c: &Cell) -> Option<f64> {
    match c {
        Cell::Num(v) if *v >= 0.0 => Some(((v * 1440.0).round() as i64).rem_euclid(1440) as f64),
        Cell::Num(_) => None,
        Cell::Text(s) => {
            let t = s.rsplit([' ', 'T']).next()?;
            let mut it = t.split(':');
            let h: f64 = it.next()?.parse().ok()?;
            let m: f64 = it.next()?.get(..2)?.parse().ok()?;
            (h < 24.0 && m < 60.0).then_some(h * 60.0 + m)
        }
        Cell::Empty => None,
    }
}

/// The calendar day (days since 1970-01-01) of a date or date-time cell: an Excel serial of at
/// least 1 (days since 1899-12-30, the time part ignored), or text starting `YYYY-MM-DD`.
/// `Ok(None)` when the cell holds a time of day only (a serial below 1, `HH:MM` text); `Err`
/// for text that starts like a date but is not one.
fn day_number(c: &Cell) -> std::result::Result<Option<i64>, ()> {
    match c {
        Cell::Num(v) if *v >= 1.0 => {
            // Rounded to the minute first, as [`minutes`] does, so 23:59:59.99 is not the
            // previous day.
            let m = (v * 1440.0).round() as i64;
            Ok(Some(m.div_euclid(1440) - 25569))
        }
        Cell::Num(_) | Cell::Empty => Ok(None),
        Cell::Text(s) => {
            let head = s.get(..10).unwrap_or(s);
            if let Some(d) = crate::util::dates::parse(head) {
                Ok(Some(d))
            } else if s.contains(':') && !s.contains(['-', '/', '.']) {
                Ok(None)
            } else {
                Err(())
            }
        }
    }
}

/// Builds the day from a header and rows of cells (the file-format-independent part).
pub fn from_cells(file: &str, header: &[String], rows: &[Vec<Cell>]) -> Result<ImportedDay> {
    let found = || header.join(", ");
    let loc = || Location::file(file).row(1);
    let col = |pred: &dyn Fn(&str) -> bool| -> Vec<usize> {
        header
            .iter()
            .enumerate()
            .filter(|(_, h)| pred(&norm(h)))
            .map(|(i, _)| i)
            .collect()
    };
    // Time.
    let ts = col(&|h| h == "timestamp" || h == "datetime");
    let date = col(&|h| h == "date");
    let time = col(&|h| h == "time");
    let time_col = match (ts.as_slice(), time.as_slice()) {
        ([t], _) => *t,
        ([], [t]) => *t,
        _ => {
            return Err(Error::invalid(
                loc(),
                format!(
                    "no unambiguous time column (`timestamp`, or `Date` + `Time`); found: {}",
                    found()
                ),
            ))
        }
    };
    if date.len() > 1 {
        return Err(Error::invalid(
            loc(),
            format!("more than one `Date` column; found: {}", found()),
        ));
    }
    // Price.
    let prices = col(&|h| h.contains("price") || h.contains("rrp"));
    if prices.len() > 1 {
        return Err(Error::invalid(
            loc(),
            format!(
                "ambiguous price: {} all look like prices; found: {}",
                prices
                    .iter()
                    .map(|&i| header[i].as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                found()
            ),
        ));
    }
    let price_col = prices.first().copied();
    let per_mwh = price_col.is_some_and(|i| {
        let h = norm(&header[i]);
        h.contains("mwh") || (h.contains("rrp") && !h.contains("kwh"))
    });
    // PV and loads by index.
    let mut pv_cols: Vec<(usize, usize)> = Vec::new();
    let mut load_cols: Vec<(usize, usize)> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if let Some((stem, k)) = indexed(h) {
            if matches!(stem.as_str(), "p" | "pv" | "prosumer" | "load")
                && (k == 0 || k > crate::util::limits::MAX_PROSUMERS)
            {
                return Err(Error::invalid(
                    loc().field(h.clone()),
                    format!(
                        "prosumers are numbered 1 to at most {} (netclear's limit)",
                        crate::util::limits::MAX_PROSUMERS
                    ),
                ));
            }
            match stem.as_str() {
                "p" | "pv" | "prosumer" => {
                    if let Some(&(_, other)) = pv_cols.iter().find(|(kk, _)| *kk == k) {
                        return Err(Error::invalid(
                            loc().field(h.clone()),
                            format!(
                                "ambiguous PV for prosumer {k}: `{}` and `{h}`; found: {}",
                                header[other],
                                found()
                            ),
                        ));
                    }
                    pv_cols.push((k, i));
                }
                "load" => {
                    if let Some(&(_, other)) = load_cols.iter().find(|(kk, _)| *kk == k) {
                        return Err(Error::invalid(
                            loc().field(h.clone()),
                            format!(
                                "ambiguous load for prosumer {k}: `{}` and `{h}`; found: {}",
                                header[other],
                                found()
                            ),
                        ));
                    }
                    load_cols.push((k, i));
                }
                _ => {}
            }
        }
    }
    if pv_cols.is_empty() {
        return Err(Error::invalid(
            loc(),
            format!(
                "no PV columns (`P1..PN`, `pv1`, `prosumer1`); found: {}",
                found()
            ),
        ));
    }
    let n = pv_cols
        .iter()
        .chain(&load_cols)
        .map(|(k, _)| *k)
        .max()
        .unwrap_or(0);
    if let Some(k) = (1..=n).find(|k| !pv_cols.iter().chain(&load_cols).any(|(kk, _)| kk == k)) {
        return Err(Error::invalid(
            loc(),
            format!("prosumer {k} has neither a PV nor a load column (prosumers are numbered 1..{n} without gaps); found: {}", found()),
        ));
    }
    // Values.
    let field = |c: usize| header.get(c).cloned().unwrap_or_default();
    let num = |r: usize, c: usize| -> Result<f64> {
        let cell = rows
            .get(r)
            .and_then(|row| row.get(c))
            .unwrap_or(&Cell::Empty);
        match cell {
            Cell::Num(v) if v.is_finite() => Ok(*v),
            Cell::Num(v) => Err(Error::NotFinite {
                loc: Location::file(file).row(r as u64 + 2).field(field(c)),
                value: *v,
            }),
            other => Err(Error::Parse {
                loc: Location::file(file).row(r as u64 + 2).field(field(c)),
                value: match other {
                    Cell::Text(t) => t.clone(),
                    _ => String::new(),
                },
                expected: "a number",
            }),
        }
    };
    let rows_used: Vec<usize> = (0..rows.len())
        .filter(|&r| rows[r].iter().any(|c| *c != Cell::Empty))
        .collect();
    let mut mins = Vec::with_capacity(rows_used.len());
    for &r in &rows_used {
        let c = rows[r].get(time_col).unwrap_or(&Cell::Empty);
        mins.push(minutes(c).ok_or_else(|| {
            Error::Parse {
                loc: Location::file(file)
                    .row(r as u64 + 2)
                    .field(header[time_col].clone()),
                value: format!("{c:?}"),
                expected: "a time",
            }
        })?);
    }
    let date = day_label(
        file,
        header,
        rows,
        &rows_used,
        date.first().copied(),
        time_col,
    )?;
    if mins.len() < 2 {
        return Err(Error::invalid(
            Location::file(file),
            "fewer than two rows of data",
        ));
    }
    let step = mins[1] - mins[0];
    for (j, w) in mins.windows(2).enumerate() {
        if w[1] - w[0] != step || step <= 0.0 {
            return Err(Error::invalid(
                Location::file(file).row(rows_used[j + 1] as u64 + 2).field(header[time_col].clone()),
                format!("irregular or decreasing time: {} min after the previous row, expected {step} min", w[1] - w[0]),
            ));
        }
    }
    if (step * mins.len() as f64 - 1440.0).abs() > 1e-9 {
        return Err(Error::invalid(
            Location::file(file),
            format!("{} rows of {step} min do not make one day", mins.len()),
        ));
    }
    let series = |cols: &[(usize, usize)], k: usize| -> Result<Vec<f64>> {
        match cols.iter().find(|(kk, _)| *kk == k) {
            Some(&(_, c)) => rows_used
                .iter()
                .map(|&r| {
                    let v = num(r, c)?;
                    if v < 0.0 {
                        return Err(Error::OutOfRange {
                            loc: Location::file(file).row(r as u64 + 2).field(field(c)),
                            value: v,
                            requirement: ">= 0 (PV and load are kW drawn or produced)",
                        });
                    }
                    Ok(v)
                })
                .collect(),
            None => Ok(vec![0.0; rows_used.len()]),
        }
    };
    let price = match price_col {
        Some(c) => {
            let raw = rows_used
                .iter()
                .map(|&r| num(r, c))
                .collect::<Result<Vec<_>>>()?;
            if !per_mwh {
                refuse_mwh_magnitudes(file, &header[c], &raw, &rows_used)?;
            }
            Some(
                raw.iter()
                    .map(|v| if per_mwh { v / 1000.0 } else { *v })
                    .collect(),
            )
        }
        None => None,
    };
    Ok(ImportedDay {
        file: file.to_string(),
        sheet: None,
        date,
        step_minutes: step as u32,
        price_per_kwh: price,
        price_column: price_col.map(|c| header[c].clone()),
        pv_kw: (1..=n)
            .map(|k| series(&pv_cols, k))
            .collect::<Result<_>>()?,
        load_kw: (1..=n)
            .map(|k| series(&load_cols, k))
            .collect::<Result<_>>()?,
    })
}

/// Refuses a per-kWh price column whose median magnitude says $/MWh (see the module docs).
fn refuse_mwh_magnitudes(
    file: &str,
    column: &str,
    values: &[f64],
    rows_used: &[usize],
) -> Result<()> {
    let mut mags: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    mags.sort_by(f64::total_cmp);
    let median = match mags.len() {
        0 => return Ok(()),
        n if n % 2 == 1 => mags[n / 2],
        n => 0.5 * (mags[n / 2 - 1] + mags[n / 2]),
    };
    if median <= MAX_MEDIAN_PER_KWH {
        return Ok(());
    }
    let k = values
        .iter()
        .position(|v| v.abs() > MAX_MEDIAN_PER_KWH)
        .expect("the median is above the threshold");
    Err(Error::invalid(
        Location::file(file)
            .row(rows_used[k] as u64 + 2)
            .field(column),
        format!(
            "a price of {} under a per-kWh name looks like $/MWh (the column's median magnitude \
             is {median} > {MAX_MEDIAN_PER_KWH} per kWh): divide by 1000 or rename the column \
             *_per_mwh",
            values[k]
        ),
    ))
}

/// The one date of the rows (see the module docs): from the `Date` column when there is one,
/// else from date-time cells of the time column; `None` when the cells are times of day only.
fn day_label(
    file: &str,
    header: &[String],
    rows: &[Vec<Cell>],
    rows_used: &[usize],
    date_col: Option<usize>,
    time_col: usize,
) -> Result<Option<String>> {
    let col = date_col.unwrap_or(time_col);
    let mut first: Option<(usize, i64)> = None;
    for &r in rows_used {
        let c = rows[r].get(col).unwrap_or(&Cell::Empty);
        let at = || {
            Location::file(file)
                .row(r as u64 + 2)
                .field(header[col].clone())
        };
        let bad = || Error::Parse {
            loc: at(),
            value: match c {
                Cell::Num(v) => v.to_string(),
                Cell::Text(t) => t.clone(),
                Cell::Empty => String::new(),
            },
            expected: "a date (an Excel date or YYYY-MM-DD)",
        };
        let d = match day_number(c) {
            Ok(Some(d)) => d,
            // A date column must hold dates; a time column may hold times of day only, on
            // every row alike.
            Ok(None) if date_col.is_none() && first.is_none() => return Ok(None),
            Ok(None) | Err(()) => return Err(bad()),
        };
        match first {
            None => first = Some((r, d)),
            Some((r0, d0)) if d != d0 => {
                return Err(Error::invalid(
                    at(),
                    format!(
                        "the rows span several days ({} on row {}, {} here): a workbook import \
                         is one day; split the file by date",
                        iso(d0),
                        r0 + 2,
                        iso(d)
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(first.map(|(_, d)| iso(d)))
}

fn iso(day: i64) -> String {
    let (y, m, d) = crate::util::dates::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}
