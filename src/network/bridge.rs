//! The bridge that lets readers of other formats (pandapower JSON, MATPOWER) reuse the folder
//! loader's validation instead of writing a second one.
//!
//! A foreign reader translates its tables into the folder format's CSV tables (same columns,
//! every float as the shortest decimal that reads back to the same `f64`, so nothing is lost)
//! in an in-memory [`MemSource`], and hands them to [`super::io::load`]. Every rule — required
//! columns, finite numbers, positive lengths and impedances, known bus references, unique ids,
//! exactly one slack — is then checked in one place. An error the loader finds names a CSV file
//! and line; [`MemSource::relocate`] maps it back to the user's file, table, row and field
//! (e.g. `feeder.json: table \`line\`, index 7, row 8, field \`length_km\``), so the message
//! points at what the user wrote. Nothing is returned unless the whole feeder validated.

use super::io::FileSource;
use crate::error::{Error, Location, Result};
use std::collections::HashMap;

/// Where the rows of one in-memory CSV table came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// How the table is named to the user: ``feeder.json: table `line` `` or
    /// `case33bw.m: mpc.branch`.
    pub table: String,
    /// Per data row (in CSV order): where it is in the user's file, in full, e.g.
    /// ``feeder.json: table `line`, index 7`` or `case33bw.m: mpc.branch (file line 41)`,
    /// and its 1-based row number in the user's table.
    pub rows: Vec<(String, u64)>,
    /// CSV column → the user's field name (only where they differ, e.g. `id` → `index`).
    pub fields: HashMap<String, String>,
}

/// In-memory folder: CSV texts by file name, with their origins.
#[derive(Debug, Default)]
pub(crate) struct MemSource {
    files: Vec<(String, String, Origin)>,
}

impl MemSource {
    /// Adds a table `file` (e.g. `lines.csv`) with its CSV `text`.
    pub fn add(&mut self, file: &str, text: String, origin: Origin) {
        self.files.push((file.to_string(), text, origin));
    }

    /// Maps an error found by the folder loader back to the user's file (see module docs).
    pub fn relocate(&self, e: Error) -> Error {
        map_location(e, |loc| {
            let Some((_, _, o)) = self.files.iter().find(|(f, _, _)| *f == loc.file) else {
                return loc;
            };
            let field = loc.field.map(|f| o.fields.get(&f).cloned().unwrap_or(f));
            match loc.row {
                // CSV line L is data row L − 2 (the header is line 1).
                Some(line) if line >= 2 => {
                    let k = (line - 2) as usize;
                    let (file, row) = o
                        .rows
                        .get(k)
                        .cloned()
                        .unwrap_or_else(|| (o.table.clone(), k as u64 + 1));
                    Location {
                        file,
                        row: Some(row),
                        field,
                    }
                }
                _ => Location {
                    file: o.table.clone(),
                    row: None,
                    field,
                },
            }
        })
    }
}

impl FileSource for MemSource {
    fn label(&self, file: &str) -> String {
        file.to_string()
    }
    fn read(&self, file: &str) -> Result<Option<String>> {
        Ok(self
            .files
            .iter()
            .find(|(f, _, _)| f == file)
            .map(|(_, t, _)| t.clone()))
    }
}

/// Applies `f` to the [`Location`] of any input error.
pub(crate) fn map_location(e: Error, f: impl FnOnce(Location) -> Location) -> Error {
    match e {
        Error::Malformed { loc, msg } => Error::Malformed { loc: f(loc), msg },
        Error::MissingColumn { loc, column } => Error::MissingColumn {
            loc: f(loc),
            column,
        },
        Error::Parse {
            loc,
            value,
            expected,
        } => Error::Parse {
            loc: f(loc),
            value,
            expected,
        },
        Error::NotFinite { loc, value } => Error::NotFinite { loc: f(loc), value },
        Error::OutOfRange {
            loc,
            value,
            requirement,
        } => Error::OutOfRange {
            loc: f(loc),
            value,
            requirement,
        },
        Error::UnknownBus { loc, bus } => Error::UnknownBus { loc: f(loc), bus },
        Error::DuplicateId { loc, id } => Error::DuplicateId { loc: f(loc), id },
        Error::Invalid { loc, msg } => Error::Invalid { loc: f(loc), msg },
        other => other,
    }
}

/// Builder for one CSV table: a header and rows of already-rendered cells.
#[derive(Debug)]
pub(crate) struct CsvTable {
    header: Vec<&'static str>,
    text: String,
}

impl CsvTable {
    /// A table with these columns.
    pub fn new(header: &[&'static str]) -> Self {
        CsvTable {
            header: header.to_vec(),
            text: header.join(",") + "\n",
        }
    }

    /// Appends a row; `cells` must follow the header (rendered with [`num`], [`text`], ...).
    pub fn push(&mut self, cells: &[String]) {
        debug_assert_eq!(cells.len(), self.header.len());
        self.text += &cells.join(",");
        self.text.push('\n');
    }

    /// The CSV text.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A float cell: the shortest decimal that reads back to the same `f64`; `NaN`/`inf` spelled so
/// that the loader reports them as not finite.
pub(crate) fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        crate::fmt_f64(v)
    }
}

/// A text cell, quoted for CSV when needed; line breaks become spaces (a CSV row stays one line,
/// so error rows map back exactly).
pub(crate) fn text(s: &str) -> String {
    super::io::csv_text(&s.replace(['\n', '\r'], " "))
}

/// A boolean cell.
pub(crate) fn flag(b: bool) -> String {
    if b { "1" } else { "0" }.into()
}
