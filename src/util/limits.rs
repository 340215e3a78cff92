//! Every size limit netclear enforces, in one place, each checked **before** anything of that
//! size is allocated.
//!
//! Why limits at all: a few bytes of input can ask for astronomically much work — `--copies
//! 10000000000`, a load of 1e12 MW (billions of households of 5.1 kW), an import column named
//! `P99999999999` (that many prosumers), a sweep grid whose product overflows. Without a limit
//! such an input is an out-of-memory kill or a hang, never a message. Each limit below is far above
//! what a real study of low-voltage feeders needs (the largest shipped workload is a 10⁴-bus
//! synthetic feeder; the benchmarks go to 10⁵ buses) and low enough that reaching it costs seconds
//! and a few GiB at most. Exceeding one is bad input (exit code 2) with the limit in the message.

use crate::error::{Error, Location, Result};
use std::path::Path;

/// Buses of one feeder (loaded or generated): the benchmarks' largest synthetic feeder has 10⁵.
pub const MAX_BUSES: usize = 200_000;

/// Households (connection units) one prosumer stands for: a load's design peak divided by the
/// household peak. An LV load is at most a few hundred households; 10,000 is a 50 MW load.
pub const MAX_HOUSEHOLDS_PER_PROSUMER: u64 = 10_000;

/// Households over the whole community (each is a profile summed over the day's steps).
pub const MAX_HOUSEHOLDS: u64 = 2_000_000;

/// Prosumers of one community (derived from a feeder's loads or imported, `P1..PN`).
pub const MAX_PROSUMERS: usize = 100_000;

/// Scenarios in one sweep grid (the product of its dimensions); a year of 8 variants is ~3,000.
pub const MAX_GRID_POINTS: usize = 10_000_000;

/// Bytes of one data file read whole (feeder tables, profiles, imports, injections, ledgers,
/// sweep rows): a year of 5-minute series for a hundred columns is ~100 MB.
pub const MAX_DATA_BYTES: u64 = 512 << 20;

/// Bytes of one settings file (scenario or grid TOML, `grid.json`).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Cells of one imported sheet (rows × columns as stored), checked while streaming the sheet.
pub const MAX_IMPORT_CELLS: u64 = 50_000_000;

/// Rows of one imported day (a day at 1-second steps has 86,400).
pub const MAX_IMPORT_ROWS: u32 = 100_000;

/// Absolute value of one nodal injection, MW: a low-voltage feeder's whole load is a few MW; a
/// transmission-scale number is a unit mistake.
pub const MAX_INJECTION_MW: f64 = 1.0e4;

/// The error for an input over a limit.
pub fn exceeded(
    loc: Location,
    what: &str,
    value: impl std::fmt::Display,
    limit: impl std::fmt::Display,
) -> Error {
    Error::invalid(
        loc,
        format!("{what} is {value}, over netclear's limit of {limit} (see README, Limits)"),
    )
}

/// Reads a text file the user named, refusing one over `limit` bytes before reading it.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() && meta.len() > limit {
        return Err(exceeded(
            Location::file(path.display().to_string()),
            "the file's size in bytes",
            meta.len(),
            limit,
        ));
    }
    if !meta.is_file() {
        return Err(Error::invalid(
            Location::file(path.display().to_string()),
            "not a regular file (a folder, device or fifo)",
        ));
    }
    std::fs::read_to_string(path).map_err(io)
}

/// Reads a binary file the user named, refusing one over `limit` bytes before reading it.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::invalid(
            Location::file(path.display().to_string()),
            "not a regular file (a folder, device or fifo)",
        ));
    }
    if meta.len() > limit {
        return Err(exceeded(
            Location::file(path.display().to_string()),
            "the file's size in bytes",
            meta.len(),
            limit,
        ));
    }
    std::fs::read(path).map_err(io)
}
