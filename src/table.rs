//! A small typed reader for CSV tables with named, unit-suffixed columns.
//!
//! Every accessor returns a precise [`Error`] naming file, row and field, so a malformed cell is
//! never a panic and never a silent zero. Rows are addressed by their 1-based line number in the
//! file (the header is line 1), which is what a user sees in an editor.

use crate::error::{Error, Location, Result};
use std::collections::HashMap;

/// A parsed CSV table: header plus records, with the file name kept for error messages.
///
/// Cells live in one text buffer, addressed by spans (a year of 15-minute profiles is 35 000
/// rows: one allocation per row and per trimmed cell cost more than the parse itself).
#[derive(Debug, Clone)]
pub struct Table {
    file: String,
    columns: HashMap<String, usize>,
    header: Vec<String>,
    /// Every cell's text, trimmed, back to back.
    buf: String,
    /// Per cell (row-major, `header.len()` per row): its byte range in `buf`.
    spans: Vec<(u32, u32)>,
    /// Per row: its 1-based line in the file.
    lines: Vec<u64>,
}

/// One row of a [`Table`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    line: u64,
    /// Index of the row's first cell in `spans`.
    first: usize,
}

impl Table {
    /// Parses CSV text. `file` is only used in error messages.
    pub fn parse(file: impl Into<String>, text: &str) -> Result<Table> {
        let file = file.into();
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .flexible(false)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::Malformed {
                loc: Location::file(&file).row(1),
                msg: e.to_string(),
            })?
            .iter()
            .map(|s| s.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut columns = HashMap::new();
        for (i, h) in header.iter().enumerate() {
            if h.is_empty() {
                return Err(Error::Malformed {
                    loc: Location::file(&file).row(1),
                    msg: format!("column {} has an empty name", i + 1),
                });
            }
            if columns.insert(h.clone(), i).is_some() {
                return Err(Error::Malformed {
                    loc: Location::file(&file).row(1).field(h.clone()),
                    msg: "column appears twice in the header".into(),
                });
            }
        }
        if text.len() >= u32::MAX as usize {
            return Err(Error::Malformed {
                loc: Location::file(&file),
                msg: "file too large for a table (4 GiB or more)".into(),
            });
        }
        let mut buf = String::with_capacity(text.len());
        let mut spans = Vec::new();
        let mut lines = Vec::new();
        let mut rec = csv::StringRecord::new();
        loop {
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let row = e.position().map(|p| p.line());
                    return Err(Error::Malformed {
                        loc: Location {
                            file: file.clone(),
                            row,
                            field: None,
                        },
                        msg: e.to_string(),
                    });
                }
            }
            lines.push(rec.position().map(|p| p.line()).unwrap_or(0));
            for cell in rec.iter() {
                let cell = cell.trim();
                let start = buf.len() as u32;
                buf.push_str(cell);
                spans.push((start, buf.len() as u32));
            }
        }
        Ok(Table {
            file,
            columns,
            header,
            buf,
            spans,
            lines,
        })
    }

    /// The file name given at parse time.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The header, in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Whether the table has a column.
    pub fn has_column(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// Fails with [`Error::MissingColumn`] unless every listed column is present.
    pub fn require_columns(&self, names: &[&str]) -> Result<()> {
        for n in names {
            if !self.has_column(n) {
                return Err(Error::MissingColumn {
                    loc: Location::file(&self.file),
                    column: (*n).to_string(),
                });
            }
        }
        Ok(())
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Iterates over rows.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        (0..self.lines.len()).filter_map(move |i| self.row_at(i))
    }

    /// The row at position `i` (0-based among data rows).
    pub fn row_at(&self, i: usize) -> Option<Row<'_>> {
        self.lines.get(i).map(|&line| Row {
            table: self,
            line,
            first: i * self.header.len(),
        })
    }

    /// A location naming this table's file.
    pub fn loc(&self) -> Location {
        Location::file(&self.file)
    }
}

impl<'a> Row<'a> {
    /// 1-based line number of this row in its file.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Location of a field in this row.
    pub fn loc(&self, field: &str) -> Location {
        Location::file(&self.table.file).row(self.line).field(field)
    }

    /// Location of this row (no field).
    pub fn row_loc(&self) -> Location {
        Location::file(&self.table.file).row(self.line)
    }

    /// Raw text of a column, `None` when the column is absent.
    pub fn raw(&self, field: &str) -> Option<&'a str> {
        let t = self.table;
        let &i = t.columns.get(field)?;
        let &(a, b) = t.spans.get(self.first + i)?;
        t.buf.get(a as usize..b as usize)
    }

    /// Text of the `i`-th column in file order (no lookup by name: for hot loops over a known
    /// column).
    pub fn cell(&self, i: usize) -> Option<&'a str> {
        let t = self.table;
        if i >= t.header.len() {
            return None;
        }
        let &(a, b) = t.spans.get(self.first + i)?;
        t.buf.get(a as usize..b as usize)
    }

    /// Text of a required column (may be empty).
    pub fn str(&self, field: &str) -> Result<&'a str> {
        self.raw(field).ok_or_else(|| Error::MissingColumn {
            loc: Location::file(&self.table.file),
            column: field.to_string(),
        })
    }

    /// A required, finite number.
    pub fn f64(&self, field: &str) -> Result<f64> {
        let s = self.str(field)?;
        self.parse_f64(field, s)
    }

    /// An optional number: `None` when the column is absent or the cell is empty.
    pub fn opt_f64(&self, field: &str) -> Result<Option<f64>> {
        match self.raw(field) {
            None | Some("") => Ok(None),
            Some(s) => self.parse_f64(field, s).map(Some),
        }
    }

    /// A number with a default when the column is absent or the cell empty.
    pub fn f64_or(&self, field: &str, default: f64) -> Result<f64> {
        Ok(self.opt_f64(field)?.unwrap_or(default))
    }

    fn parse_f64(&self, field: &str, s: &str) -> Result<f64> {
        let v: f64 = s.parse().map_err(|_| Error::Parse {
            loc: self.loc(field),
            value: s.to_string(),
            expected: "a number",
        })?;
        if !v.is_finite() {
            return Err(Error::NotFinite {
                loc: self.loc(field),
                value: v,
            });
        }
        Ok(v)
    }

    /// A required integer id (accepts `3` and `3.0`, as pandas sometimes writes).
    pub fn int(&self, field: &str) -> Result<i64> {
        let s = self.str(field)?;
        self.parse_int(field, s)
    }

    /// An optional integer: `None` when absent or empty.
    pub fn opt_int(&self, field: &str) -> Result<Option<i64>> {
        match self.raw(field) {
            None => Ok(None),
            Some("") => Ok(None),
            Some(s) => self.parse_int(field, s).map(Some),
        }
    }

    fn parse_int(&self, field: &str, s: &str) -> Result<i64> {
        if let Ok(v) = s.parse::<i64>() {
            return Ok(v);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(v as i64),
            _ => Err(Error::Parse {
                loc: self.loc(field),
                value: s.to_string(),
                expected: "an integer",
            }),
        }
    }

    /// A boolean: `1/0`, `true/false`, `True/False`, `yes/no`; default when absent or empty.
    pub fn bool_or(&self, field: &str, default: bool) -> Result<bool> {
        match self.raw(field) {
            None | Some("") => Ok(default),
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "1" | "1.0" | "true" | "yes" | "y" => Ok(true),
                "0" | "0.0" | "false" | "no" | "n" => Ok(false),
                _ => Err(Error::Parse {
                    loc: self.loc(field),
                    value: s.to_string(),
                    expected: "a boolean (1/0/true/false)",
                }),
            },
        }
    }

    /// Checks `value > 0`.
    pub fn positive(&self, field: &str) -> Result<f64> {
        let v = self.f64(field)?;
        if v <= 0.0 {
            return Err(Error::OutOfRange {
                loc: self.loc(field),
                value: v,
                requirement: "> 0",
            });
        }
        Ok(v)
    }

    /// Checks `value >= 0`, with a default when absent/empty.
    pub fn non_negative_or(&self, field: &str, default: f64) -> Result<f64> {
        let v = self.f64_or(field, default)?;
        if v < 0.0 {
            return Err(Error::OutOfRange {
                loc: self.loc(field),
                value: v,
                requirement: ">= 0",
            });
        }
        Ok(v)
    }
}
