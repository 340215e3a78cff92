//! Writing a run's files: tidy CSV (units in headers, readable by pandas with no glue) and JSON,
//! committed atomically.
//!
//! All files are first written into a hidden staging folder next to the destination, then the
//! folder is swapped in with renames. A failed run therefore leaves no half-written files, and an
//! existing results folder is only replaced when the caller asked for it (`--force`).

use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};

/// The files of one run, in memory.
#[derive(Debug, Default, Clone)]
pub struct Bundle {
    files: Vec<(String, Vec<u8>)>,
}

impl Bundle {
    /// Adds a file.
    pub fn add(&mut self, name: &str, bytes: impl Into<Vec<u8>>) {
        self.files.push((name.to_string(), bytes.into()));
    }
    /// The files.
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }
}

fn io(p: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    }
}

/// Fails unless `dir` can receive results: it must not exist, be empty, or `force` be set.
pub fn check_destination(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Error::invalid(
                Location::file(dir.display().to_string()),
                "the output path exists and is not a folder",
            ));
        }
        let non_empty = std::fs::read_dir(dir).map_err(io(dir))?.next().is_some();
        if non_empty && !force {
            return Err(Error::invalid(
                Location::file(dir.display().to_string()),
                "the output folder already holds results; pass --force to replace them (or choose another --out)",
            ));
        }
    }
    Ok(())
}

/// Writes the bundle to `dir` atomically (see the module docs).
pub fn commit(bundle: &Bundle, dir: &Path, force: bool) -> Result<()> {
    check_destination(dir, force)?;
    let parent: PathBuf = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let stage = parent.join(format!(".{name}.staging-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage).map_err(io(&stage))?;
    let result = (|| -> Result<()> {
        for (f, bytes) in &bundle.files {
            let p = stage.join(f);
            std::fs::write(&p, bytes).map_err(io(&p))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(e);
    }
    if dir.exists() {
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&old);
        std::fs::rename(dir, &old).map_err(io(dir))?;
        if let Err(e) = std::fs::rename(&stage, dir) {
            let _ = std::fs::rename(&old, dir);
            let _ = std::fs::remove_dir_all(&stage);
            return Err(io(dir)(e));
        }
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&stage, dir).map_err(io(dir))?;
    }
    Ok(())
}

/// Builds a CSV text from a header and rows of already formatted cells.
pub fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut s = header.join(",");
    s.push('\n');
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| crate::network::io::csv_text(c)).collect();
        s += &cells.join(",");
        s.push('\n');
    }
    s
}
