//! The harness of every input parser, shared by the cargo-fuzz targets (`fuzz/`, nightly) and the
//! stable property and regression tests (`tests/fuzz_regressions.rs`): one function per loader
//! that feeds it arbitrary bytes and asserts what must hold for *any* input — no panic, and for an
//! accepted input the invariants the rest of netclear relies on (finite values, a scenario that
//! prints and reads back to itself, a grid whose points all resolve, a ledger with its head).
//! Keeping them here means a crash the fuzzer finds is replayed by `cargo test` on stable through
//! exactly the code that found it.

use crate::network::electrical::Grid;
use crate::network::io::FileSource;
use crate::network::Network;
use std::sync::OnceLock;

/// Feeder files in memory: `NAME\0TEXT\0NAME\0TEXT…`.
struct Mem(Vec<(String, String)>);

impl FileSource for Mem {
    fn label(&self, file: &str) -> String {
        format!("fuzz/{file}")
    }
    fn read(&self, file: &str) -> crate::Result<Option<String>> {
        Ok(self
            .0
            .iter()
            .find(|(n, _)| n == file)
            .map(|(_, t)| t.clone()))
    }
}

/// Packs feeder files as [`feeder`] reads them.
pub fn pack_feeder(files: &[(&str, &str)]) -> Vec<u8> {
    files
        .iter()
        .flat_map(|(n, t)| [*n, *t])
        .collect::<Vec<_>>()
        .join("\0")
        .into_bytes()
}

/// A feeder folder (see [`pack_feeder`]): loaded, turned into the electrical model, its topology
/// built and solved by DC.
pub fn feeder(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = text.split('\0').collect();
    let files = parts
        .chunks(2)
        .filter_map(|c| Some((c.first()?.to_string(), c.get(1)?.to_string())))
        .collect();
    let Ok(net) = crate::network::io::load(&Mem(files), "fuzz") else {
        return;
    };
    let Ok(grid) = Grid::from_network(&net) else {
        return;
    };
    let _ = crate::network::topology::Topology::new(&grid);
    if let Ok(dc) = crate::pf::dc::DcModel::new(&grid) {
        let inj = grid.default_injections(&net);
        let _ = dc.solve(&inj.p_mw);
    }
}

fn cigre() -> Option<&'static (Network, Grid)> {
    static F: OnceLock<Option<(Network, Grid)>> = OnceLock::new();
    F.get_or_init(|| {
        let net = crate::network::registry::resolve("cigre44").ok()?;
        let grid = Grid::from_network(&net).ok()?;
        Some((net, grid))
    })
    .as_ref()
}

/// An injection file on CIGRE LV: accepted injections are finite.
pub fn injections(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((net, grid)) = cigre() else {
        return;
    };
    if let Ok(inj) = crate::pf::parse_injections("inj.csv", text, grid, net) {
        assert!(inj.p_mw.iter().chain(&inj.q_mvar).all(|v| v.is_finite()));
    }
}

/// A scenario TOML file: a valid scenario prints (`--print-scenario`) to TOML that resolves back
/// to itself.
pub fn scenario(data: &[u8]) {
    use crate::scenario::{resolve_layers, Layer};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(layer) = Layer::from_toml("s.toml", text) else {
        return;
    };
    if let Ok(s) = resolve_layers(None, &[layer]) {
        let printed = s.to_toml();
        let again =
            Layer::from_toml("printed.toml", &printed).and_then(|l| resolve_layers(None, &[l]));
        match again {
            Ok(t) => assert_eq!(s, t, "print-scenario does not round-trip:\n{printed}"),
            Err(e) => panic!("print-scenario output is refused: {e}\n{printed}"),
        }
    }
}

/// A profile file: parsed, a day read (the first row's date, and the typical day) and resampled
/// to every step.
pub fn profiles(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(f) = crate::profiles::SeriesFile::parse("p.csv", text) else {
        return;
    };
    let date = text
        .lines()
        .nth(1)
        .and_then(|l| l.get(..10))
        .unwrap_or("2016-06-15");
    for d in [Some(date), None] {
        if let Ok(day) = f.day(d, &[]) {
            for step in [5, 15, 60] {
                if let Ok(r) = day.resampled(step) {
                    assert!(r
                        .series
                        .iter()
                        .flat_map(|s| &s.values)
                        .all(|v| v.is_finite()));
                }
            }
        }
    }
}

/// An imported day: the first byte picks CSV (even) or xlsx (odd); accepted PV and load are
/// finite and non-negative.
pub fn import(data: &[u8]) {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let ext = if kind % 2 == 0 { "csv" } else { "xlsx" };
    if let Ok(d) = crate::import::from_bytes("day", ext, bytes.to_vec()) {
        assert!(d
            .pv_kw
            .iter()
            .chain(&d.load_kw)
            .flatten()
            .all(|v| v.is_finite() && *v >= 0.0));
    }
}

/// A sweep grid over the default scenario: a grid that validates has a size and its first,
/// middle and last points resolve.
pub fn grid(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(grid) = crate::sweep::Grid::from_toml("grid.toml", text) else {
        return;
    };
    let sweep = crate::sweep::Sweep {
        base: Default::default(),
        grid,
    };
    if sweep.validate().is_ok() {
        let Some(n) = sweep.len() else {
            panic!("a validated grid has a size");
        };
        for k in [0, n / 2, n.saturating_sub(1)] {
            let ok = matches!(sweep.point(k), Some(Ok(_)));
            assert!(ok, "validated grid has an invalid point {k}");
        }
        assert!(sweep.point(n).is_none());
    }
}

/// A sweep row file and a results.csv body: both checkers.
pub fn shard_rows(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::sweep::check_row("rows/0.csv", text, None);
    let with_header = crate::sweep::header() + text;
    let _ = crate::sweep::check_results("results.csv", &with_header);
}

/// A ledger: verified; one that verifies has a head equal to its last block's hash.
pub fn ledger(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = crate::ledger::Context::default();
    if let Ok(v) = crate::ledger::verify_with("ledger.jsonl", text, &ctx) {
        assert_eq!(crate::ledger::head(text).as_deref(), Some(v.head.as_str()));
    }
}

/// A harness: arbitrary bytes in, a panic only for a bug.
pub type Harness = fn(&[u8]);

/// Every harness by its fuzz target's name.
pub const TARGETS: &[(&str, Harness)] = &[
    ("feeder", feeder),
    ("injections", injections),
    ("scenario", scenario),
    ("profiles", profiles),
    ("import", import),
    ("grid", grid),
    ("shard_rows", shard_rows),
    ("ledger", ledger),
];
