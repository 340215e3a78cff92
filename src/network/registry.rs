//! The feeders shipped with netclear, compiled into the binary from `networks/` so that
//! `--network cigre44` works from any directory.
//!
//! `--network` takes a shipped name (or alias, e.g. `cigre_lv`), a path to a feeder folder, a
//! pandapower JSON file (`*.json`, see [`super::pandapower`]) or a MATPOWER case (`*.m`, see
//! [`super::matpower`]). A value that contains a path separator, or names an existing folder or
//! such a file that is not a shipped name, is read from disk.

use super::io::{load, load_dir, FileSource};
use super::Network;
use crate::error::{Error, Result};
use std::path::Path;

/// One shipped feeder: its name and the text of its files.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// Folder name under `networks/`.
    pub name: &'static str,
    /// (file name, contents).
    pub files: &'static [(&'static str, &'static str)],
}

impl FileSource for Shipped {
    fn label(&self, file: &str) -> String {
        format!("networks/{}/{}", self.name, file)
    }
    fn read(&self, file: &str) -> Result<Option<String>> {
        Ok(self
            .files
            .iter()
            .find(|(f, _)| *f == file)
            .map(|(_, text)| (*text).to_string()))
    }
}

/// Every shipped feeder.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "cigre44",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/cigre44/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/cigre44/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/cigre44/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/cigre44/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/cigre44/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/cigre44/loads.csv"),
            ),
            (
                "switches.csv",
                include_str!("../../networks/cigre44/switches.csv"),
            ),
        ],
    },
    Shipped {
        name: "village80",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/village80/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/village80/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/village80/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/village80/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/village80/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/village80/loads.csv"),
            ),
            (
                "sgen.csv",
                include_str!("../../networks/village80/sgen.csv"),
            ),
        ],
    },
    Shipped {
        name: "village_2",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/village_2/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/village_2/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/village_2/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/village_2/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/village_2/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/village_2/loads.csv"),
            ),
            (
                "sgen.csv",
                include_str!("../../networks/village_2/sgen.csv"),
            ),
        ],
    },
    Shipped {
        name: "rural_1",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/rural_1/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/rural_1/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/rural_1/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/rural_1/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/rural_1/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/rural_1/loads.csv"),
            ),
            ("sgen.csv", include_str!("../../networks/rural_1/sgen.csv")),
        ],
    },
    Shipped {
        name: "rural_2",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/rural_2/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/rural_2/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/rural_2/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/rural_2/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/rural_2/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/rural_2/loads.csv"),
            ),
            ("sgen.csv", include_str!("../../networks/rural_2/sgen.csv")),
        ],
    },
    Shipped {
        name: "suburb_1",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/suburb_1/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/suburb_1/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/suburb_1/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/suburb_1/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/suburb_1/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/suburb_1/loads.csv"),
            ),
            ("sgen.csv", include_str!("../../networks/suburb_1/sgen.csv")),
        ],
    },
    Shipped {
        name: "ieee_eu_lv",
        files: &[
            (
                "network.toml",
                include_str!("../../networks/ieee_eu_lv/network.toml"),
            ),
            (
                "buses.csv",
                include_str!("../../networks/ieee_eu_lv/buses.csv"),
            ),
            (
                "lines.csv",
                include_str!("../../networks/ieee_eu_lv/lines.csv"),
            ),
            (
                "trafos.csv",
                include_str!("../../networks/ieee_eu_lv/trafos.csv"),
            ),
            (
                "ext_grid.csv",
                include_str!("../../networks/ieee_eu_lv/ext_grid.csv"),
            ),
            (
                "loads.csv",
                include_str!("../../networks/ieee_eu_lv/loads.csv"),
            ),
        ],
    },
];

/// Names of the shipped feeders.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|s| s.name).collect()
}

/// Loads a shipped feeder by name or alias.
pub fn load_shipped(name: &str) -> Result<Option<Network>> {
    for s in SHIPPED {
        let is_alias = || -> Result<bool> {
            let Some(text) = s.read("network.toml")? else {
                return Ok(false);
            };
            let m: super::Manifest = toml::from_str(&text).map_err(|e| Error::Malformed {
                loc: crate::error::Location::file(s.label("network.toml")),
                msg: e.to_string(),
            })?;
            Ok(m.aliases.iter().any(|a| a == name))
        };
        if s.name == name || is_alias()? {
            return load(s, s.name).map(Some);
        }
    }
    Ok(None)
}

/// Resolves `--network`: a shipped name/alias, a synthetic `<shipped>x<copies>` (e.g.
/// `village80x127`: 127 copies under one MV bus, see [`super::synthetic`]), or a folder path.
pub fn resolve(name_or_path: &str) -> Result<Network> {
    let looks_like_path =
        name_or_path.contains('/') || name_or_path.contains(std::path::MAIN_SEPARATOR);
    if !looks_like_path {
        if let Some(net) = load_shipped(name_or_path)? {
            return Ok(net);
        }
        if let Some((base, k)) = name_or_path.rsplit_once('x') {
            if let (Ok(k), Some(net)) = (k.parse::<usize>(), load_shipped(base)?) {
                return super::synthetic::replicate(&net, k);
            }
        }
    }
    let p = Path::new(name_or_path);
    if p.is_dir() {
        return load_dir(p);
    }
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => return super::pandapower::load_json(p),
        Some("m") => return super::matpower::load_case(p),
        _ => {}
    }
    Err(Error::UnknownNetwork {
        name: name_or_path.to_string(),
        known: shipped_names().join(", "),
    })
}
