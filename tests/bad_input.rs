//! One test per validation rule: a corrupted copy of a shipped feeder must give a clear error
//! naming the file, the row and the field — never a panic.

use netclear::network::electrical::{DropReason, Grid};
use netclear::network::io::load_dir;
use netclear::Error;
use std::path::{Path, PathBuf};

/// Copies `networks/rural_2` into a temp dir and applies `edit(file, text) -> text`.
fn fixture(file: &str, edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/rural_2");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("rural_2");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let p = dir.join(file);
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    let new = edit(text);
    if new.is_empty() {
        std::fs::remove_file(&p).unwrap();
    } else {
        std::fs::write(&p, new).unwrap();
    }
    (tmp, dir)
}

/// Replaces the first occurrence of `from` on data line `line` (1-based, header = 1).
fn on_line(line: usize, from: &str, to: &str) -> impl FnOnce(String) -> String {
    let (from, to) = (from.to_string(), to.to_string());
    move |text| {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == line {
                    l.replacen(&from, &to, 1)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

fn err(file: &str, edit: impl FnOnce(String) -> String) -> Error {
    let (_tmp, dir) = fixture(file, edit);
    match load_dir(&dir).and_then(|n| Grid::from_network(&n).map(|_| n)) {
        Ok(_) => panic!("expected an error for {file}"),
        Err(e) => e,
    }
}

#[track_caller]
fn says(e: &Error, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "message `{msg}` lacks `{p}`");
    }
    assert_eq!(e.exit_code(), 2, "bad input maps to exit code 2: {msg}");
}

#[test]
fn missing_column() {
    let e = err("lines.csv", |t| t.replacen("x_ohm_per_km", "x_per_km", 1));
    assert!(matches!(e, Error::MissingColumn { .. }));
    says(&e, &["lines.csv", "x_ohm_per_km"]);
}

#[test]
fn unparsable_number() {
    let e = err("lines.csv", on_line(3, ",0.004,", ",four metres,"));
    assert!(matches!(e, Error::Parse { .. }));
    says(&e, &["lines.csv", "row 3", "length_km", "four metres"]);
}

#[test]
fn nan_and_infinity() {
    let e = err("lines.csv", on_line(2, ",0.869,", ",NaN,"));
    assert!(matches!(e, Error::NotFinite { .. }));
    says(&e, &["lines.csv", "row 2", "r_ohm_per_km"]);
    let e = err("buses.csv", on_line(3, ",0.4,", ",inf,"));
    says(&e, &["buses.csv", "row 3", "vn_kv"]);
}

#[test]
fn unknown_bus_reference() {
    let e = err("lines.csv", on_line(2, ",1,2,", ",1,999,"));
    assert!(matches!(e, Error::UnknownBus { bus: 999, .. }));
    says(&e, &["lines.csv", "row 2", "to_bus", "999"]);
    let e = err("loads.csv", on_line(2, ",3,", ",77,"));
    says(&e, &["loads.csv", "row 2", "bus", "77"]);
}

#[test]
fn duplicate_id() {
    let e = err("buses.csv", on_line(3, "1,busbar", "0,busbar"));
    assert!(matches!(e, Error::DuplicateId { id: 0, .. }));
    says(&e, &["buses.csv", "row 3", "id"]);
}

#[test]
fn non_positive_length_impedance_rating() {
    for (line, from, to, field) in [
        (2, ",0.003,", ",0,", "length_km"),
        (2, ",0.085,", ",-0.085,", "x_ohm_per_km"),
        (2, ",0.123,", ",0.0,", "max_i_ka"),
    ] {
        let e = err("lines.csv", on_line(line, from, to));
        assert!(matches!(e, Error::OutOfRange { .. }), "{e}");
        says(&e, &["lines.csv", "row 2", field]);
    }
    let e = err("trafos.csv", on_line(2, ",0.25,20.0", ",-0.25,20.0"));
    says(&e, &["trafos.csv", "row 2", "sn_mva"]);
    let e = err("trafos.csv", on_line(2, ",4.0,0.96,", ",4.0,4.5,"));
    says(&e, &["trafos.csv", "row 2", "vkr_percent"]);
}

#[test]
fn no_slack_and_two_slacks() {
    let e = err("ext_grid.csv", on_line(2, "1.0,1", "1.0,0"));
    says(&e, &["ext_grid.csv", "no slack"]);
    let e = err("ext_grid.csv", |t| t + "1,,5,1.0,0.0,1.0,1\n");
    says(&e, &["ext_grid.csv", "two slacks", "bus 0", "bus 5"]);
}

#[test]
fn malformed_csv_and_missing_file() {
    let e = err("lines.csv", on_line(4, ",ol,1", ",ol,1,extra"));
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    says(&e, &["lines.csv", "row 4"]);
    let e = err("buses.csv", |_| String::new());
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("buses.csv"));
}

#[test]
fn bad_manifest() {
    let e = err("network.toml", |t| {
        t.replace("sn_mva = 1.0", "sn_mva = -1.0")
    });
    says(&e, &["network.toml", "sn_mva"]);
    let e = err("network.toml", |t| t + "colour = \"blue\"\n");
    says(&e, &["network.toml"]);
}

#[test]
fn unreachable_buses_are_dropped_and_reported() {
    // Take line 5 out of service: everything below it is cut off from the slack.
    let (_tmp, dir) = fixture("lines.csv", |t| {
        let mut lines: Vec<String> = t.lines().map(String::from).collect();
        let last = lines[6].rfind(',').unwrap();
        lines[6].replace_range(last.., ",0");
        lines.join("\n") + "\n"
    });
    let net = load_dir(&dir).unwrap();
    let grid = Grid::from_network(&net).unwrap();
    assert!(!grid.dropped_buses.is_empty());
    assert!(grid
        .dropped_buses
        .iter()
        .all(|(_, r)| *r == DropReason::Unreachable));
    assert_eq!(grid.n_nodes() + grid.dropped_buses.len(), net.buses.len());
}

#[test]
fn injections_file_errors_name_the_row() {
    let net = netclear::network::registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let e = netclear::pf::parse_injections("inj.csv", "bus,p_kw\n2,1.5\n99,2\n", &grid, &net)
        .unwrap_err();
    says(&e, &["inj.csv", "row 3", "bus", "99"]);
    let e =
        netclear::pf::parse_injections("inj.csv", "bus,power\n2,1.5\n", &grid, &net).unwrap_err();
    says(&e, &["inj.csv", "p_mw"]);
    let ok = netclear::pf::parse_injections(
        "inj.csv",
        "bus,p_kw,q_kvar\n2,1.5,0.5\n2,-0.5,0\n",
        &grid,
        &net,
    )
    .unwrap();
    let k = grid.node_of_bus(netclear::network::BusId(2)).unwrap();
    assert!((ok.p_mw[k] - 0.001).abs() < 1e-15 && (ok.q_mvar[k] - 0.0005).abs() < 1e-15);
}
