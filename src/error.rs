//! Typed errors.
//!
//! Every error caused by *input* (a file, a flag, a bus id) carries a [`Location`] naming the
//! file, the row (1-based line number in the file, header = line 1) and the field, so a user can
//! go straight to the offending cell. Solver *outcomes* (an AC flow that does not converge, an
//! infeasible optimisation) are not errors: they are reported as data in the result types.
//!
//! The binary maps [`Error::exit_code`] to the process exit code: 2 for bad input, 1 for an
//! internal failure.

use std::fmt;
use std::path::PathBuf;

/// Where in the input a problem was found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    /// The file (or logical source, e.g. `cigre44/lines.csv` for a shipped feeder).
    pub file: String,
    /// 1-based line number within the file (header is line 1), if the problem is in one row.
    pub row: Option<u64>,
    /// The column / field name, if the problem is in one field.
    pub field: Option<String>,
}

impl Location {
    /// A location naming only a file.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            row: None,
            field: None,
        }
    }
    /// This location narrowed to a row.
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
    /// This location narrowed to a field.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        if let Some(c) = &self.field {
            write!(f, ", field `{c}`")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in netclear's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not well-formed CSV/TOML.
    #[error("{loc}: malformed file: {msg}")]
    Malformed {
        /// Where.
        loc: Location,
        /// What the parser said.
        msg: String,
    },
    /// A required column is missing from a table.
    #[error("{loc}: missing required column `{column}`")]
    MissingColumn {
        /// The file.
        loc: Location,
        /// The column that is missing.
        column: String,
    },
    /// A field could not be parsed as the expected type.
    #[error("{loc}: cannot parse `{value}` as {expected}")]
    Parse {
        /// Where.
        loc: Location,
        /// The raw text.
        value: String,
        /// What was expected ("a number", "0/1/true/false", ...).
        expected: &'static str,
    },
    /// A number is NaN or infinite.
    #[error("{loc}: value {value} is not finite")]
    NotFinite {
        /// Where.
        loc: Location,
        /// The offending value.
        value: f64,
    },
    /// A number is outside its allowed range.
    #[error("{loc}: {value} is invalid: must be {requirement}")]
    OutOfRange {
        /// Where.
        loc: Location,
        /// The offending value.
        value: f64,
        /// The rule, e.g. "> 0".
        requirement: &'static str,
    },
    /// A reference to a bus that does not exist.
    #[error("{loc}: unknown bus {bus}")]
    UnknownBus {
        /// Where.
        loc: Location,
        /// The bus id referenced.
        bus: i64,
    },
    /// The same id appears twice in one table.
    #[error("{loc}: duplicate id {id}")]
    DuplicateId {
        /// Where (the second occurrence).
        loc: Location,
        /// The id.
        id: i64,
    },
    /// Any other invalid input, explained in words.
    #[error("{loc}: {msg}")]
    Invalid {
        /// Where.
        loc: Location,
        /// What is wrong.
        msg: String,
    },
    /// A named network is neither shipped nor an existing folder.
    #[error("unknown network `{name}`: not a shipped feeder ({known}) and not a folder")]
    UnknownNetwork {
        /// What the user asked for.
        name: String,
        /// The shipped names.
        known: String,
    },
    /// A numerical routine failed where the mathematics says it cannot (a bug, or a network
    /// whose data the validation let through but that is numerically degenerate).
    #[error("numerical failure: {0}")]
    Numerical(String),
}

impl Error {
    /// Process exit code for this error: 2 for bad input, 1 for an internal failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Numerical(_) => 1,
            Error::Io { .. } => 2,
            _ => 2,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(loc: Location, msg: impl Into<String>) -> Self {
        Error::Invalid {
            loc,
            msg: msg.into(),
        }
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
