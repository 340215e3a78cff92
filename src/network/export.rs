//! Writes a [`Network`] as a pandapower JSON file, a MATPOWER case or a netclear feeder folder.
//!
//! Writing is atomic and never clobbers by accident: the output is written to a temporary file
//! (or folder) next to the target and moved into place only when complete, and an existing
//! target is refused unless [`Overwrite::Replace`] is given. For a new file the final step is a
//! hard link, which fails if the target appeared in the meantime, so even a race cannot replace
//! it.
//!
//! # Formats
//!
//! * **`pandapower-json`**: the user model as pandapower 3.x holds it (`pp.from_json` reads it;
//!   checked by `tools/make_format_fixtures.py --step reread`, whose results are committed
//!   under `tests/data/formats/export/`). Tables `bus` (with `geo` GeoJSON points), `line`,
//!   `trafo`, `ext_grid`, `load`, `sgen`, `switch`, with their ids as the pandas index and
//!   pandapower's dtypes (lines carry netclear's rating as `max_i_ka` and, where netclear
//!   replaced pandapower's, the original in an extra `max_i_ka_pandapower` column); everything else (empty tables, standard types) is filled in by
//!   pandapower's `create_empty_network` when it reads the file. A trafo with a tap side gets
//!   `tap_changer_type = "Ratio"`, one without gets none. Storage read from pandapower is held as
//!   loads (see [`super::pandapower`]) and written as loads: `runpp` treats both alike.
//! * **`matpower`**: caseformat version 2 of the *electrical model* ([`Grid`]): fused buses are
//!   one MATPOWER bus, switches are applied (auxiliary nodes of open line ends are buses of
//!   their own), out-of-service buses are gone, and out-of-service lines and trafos between
//!   buses of the model are kept with `status = 0` (a trafo's magnetising shunt is then not
//!   written: it is off with the trafo). Bus numbers are the first user bus of each node,
//!   shifted by `1 − min id` when ids start below 1 (pandapower's 0-based ids become 1-based),
//!   auxiliary nodes numbered after them. Branches carry netclear's exact π model in p.u. on
//!   `baseMVA = sn_mva` (`r`, `x`, `b`, `ratio`, `angle`); shunt admittances that MATPOWER's
//!   branch cannot hold — trafo magnetising branches, line shunt conductance — are written as
//!   the equivalent bus shunts `Gs`, `Bs`, so MATPOWER's `runpf` solves the same circuit. (netclear's
//!   MATPOWER reader refuses non-zero bus shunts, having no shunt element: such a case is for
//!   MATPOWER, not for reading back.) Loads are summed per bus into `Pd`, `Qd`; every sgen is a
//!   generator at its PQ bus; the slack is one generator at the REF bus with `Vg`.
//!   `rateA` is the branch's thermal limit in MVA at nominal voltage (0 for none). Checked by
//!   pandapower's `from_mpc` + `runpp` on netclear's exports of cigre44 and village80 (bus
//!   shunts included): the same voltages to 3e-14 p.u. (`tests/data/formats/export/*_matpower`).
//! * **`folder`**: netclear's own CSV folder ([`super::io::write_dir`]).

use super::electrical::{Grid, Rating};
use super::{Network, SwitchElement, TapSide};
use crate::error::{Error, Location, Result};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pandapower JSON (`pp.to_json` layout, pandapower 3.x).
    PandapowerJson,
    /// MATPOWER caseformat version 2 (`.m`).
    Matpower,
    /// netclear's CSV feeder folder.
    Folder,
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Format> {
        match s {
            "pandapower-json" | "pandapower" | "json" => Ok(Format::PandapowerJson),
            "matpower" | "m" => Ok(Format::Matpower),
            "folder" | "csv" => Ok(Format::Folder),
            other => Err(Error::Parse {
                loc: Location::file("export").field("format"),
                value: other.to_string(),
                expected: "`pandapower-json`, `matpower` or `folder`",
            }),
        }
    }
}

/// Whether an existing target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse to replace an existing file or folder (the default).
    Refuse,
    /// Replace it (still atomically).
    Replace,
}

/// Writes `net` to `path` in `format`, refusing to replace an existing path.
pub fn export(net: &Network, format: Format, path: &Path) -> Result<()> {
    export_with(net, format, path, Overwrite::Refuse)
}

/// Writes `net` to `path` in `format`.
pub fn export_with(net: &Network, format: Format, path: &Path, overwrite: Overwrite) -> Result<()> {
    if overwrite == Overwrite::Refuse && (path.exists() || path.is_symlink()) {
        return Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; not replaced (ask for overwrite to replace it)",
            ),
        });
    }
    match format {
        Format::Folder => super::io::write_dir(net, path, overwrite == Overwrite::Replace),
        Format::PandapowerJson => write_atomic(path, &to_pandapower_json(net)?, overwrite),
        Format::Matpower => write_atomic(path, &to_matpower(net)?, overwrite),
    }
}

/// Writes `text` through the crate's one atomic writer: a synced temporary file renamed into
/// place; an existing path is replaced only with [`Overwrite::Replace`] and only when it is a
/// regular file (never a link, device or folder).
fn write_atomic(path: &Path, text: &str, overwrite: Overwrite) -> Result<()> {
    crate::util::atomic::write_file(path, text.as_bytes(), overwrite == Overwrite::Replace)
}

/// A pandas DataFrame in pandapower's JSON encoding (`split` orient inside a string).
fn frame(columns: &[(&str, &str)], index: Vec<i64>, data: Vec<Vec<Value>>) -> Value {
    let cols: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let dtype: Map<String, Value> = columns
        .iter()
        .map(|(c, t)| (c.to_string(), Value::from(*t)))
        .collect();
    let inner = json!({"columns": cols, "index": index, "data": data});
    json!({
        "_module": "pandas.core.frame",
        "_class": "DataFrame",
        "_object": inner.to_string(),
        "orient": "split",
        "dtype": dtype,
        "is_multiindex": false,
        "is_multicolumn": false,
    })
}

fn opt_text(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

/// The pandapower JSON text of `net` (see module docs).
pub fn to_pandapower_json(net: &Network) -> Result<String> {
    let mut o = Map::new();
    o.insert(
        "bus".into(),
        frame(
            &[
                ("name", "object"),
                ("vn_kv", "float64"),
                ("type", "object"),
                ("zone", "object"),
                ("in_service", "bool"),
                ("geo", "object"),
            ],
            net.buses.iter().map(|b| b.id.0).collect(),
            net.buses
                .iter()
                .map(|b| {
                    let geo = b
                        .geo
                        .map(|(x, y)| {
                            Value::from(json!({"type": "Point", "coordinates": [x, y]}).to_string())
                        })
                        .unwrap_or(Value::Null);
                    vec![
                        opt_text(&b.name),
                        b.vn_kv.into(),
                        b.kind.as_str().into(),
                        opt_text(&b.zone),
                        b.in_service.into(),
                        geo,
                    ]
                })
                .collect(),
        ),
    );
    let pp_rating = net.lines.iter().any(|l| l.max_i_ka_pandapower.is_some());
    let mut line_cols = vec![
        ("name", "object"),
        ("std_type", "object"),
        ("from_bus", "uint32"),
        ("to_bus", "uint32"),
        ("length_km", "float64"),
        ("r_ohm_per_km", "float64"),
        ("x_ohm_per_km", "float64"),
        ("c_nf_per_km", "float64"),
        ("g_us_per_km", "float64"),
        ("max_i_ka", "float64"),
        ("df", "float64"),
        ("parallel", "uint32"),
        ("type", "object"),
        ("in_service", "bool"),
    ];
    if pp_rating {
        line_cols.push(("max_i_ka_pandapower", "float64"));
    }
    o.insert(
        "line".into(),
        frame(
            &line_cols,
            net.lines.iter().map(|l| l.id.0).collect(),
            net.lines
                .iter()
                .map(|l| {
                    let mut r = vec![
                        opt_text(&l.name),
                        opt_text(&l.std_type),
                        l.from_bus.0.into(),
                        l.to_bus.0.into(),
                        l.length_km.into(),
                        l.r_ohm_per_km.into(),
                        l.x_ohm_per_km.into(),
                        l.c_nf_per_km.into(),
                        l.g_us_per_km.into(),
                        l.max_i_ka.into(),
                        l.df.into(),
                        l.parallel.into(),
                        l.kind.as_str().into(),
                        l.in_service.into(),
                    ];
                    if pp_rating {
                        r.push(
                            l.max_i_ka_pandapower
                                .map(Value::from)
                                .unwrap_or(Value::Null),
                        );
                    }
                    r
                })
                .collect(),
        ),
    );
    o.insert(
        "trafo".into(),
        frame(
            &[
                ("name", "object"),
                ("std_type", "object"),
                ("hv_bus", "uint32"),
                ("lv_bus", "uint32"),
                ("sn_mva", "float64"),
                ("vn_hv_kv", "float64"),
                ("vn_lv_kv", "float64"),
                ("vk_percent", "float64"),
                ("vkr_percent", "float64"),
                ("pfe_kw", "float64"),
                ("i0_percent", "float64"),
                ("shift_degree", "float64"),
                ("tap_side", "object"),
                ("tap_neutral", "float64"),
                ("tap_min", "float64"),
                ("tap_max", "float64"),
                ("tap_step_percent", "float64"),
                ("tap_step_degree", "float64"),
                ("tap_pos", "float64"),
                ("tap_changer_type", "object"),
                ("tap_dependency_table", "bool"),
                ("parallel", "uint32"),
                ("df", "float64"),
                ("in_service", "bool"),
                ("vector_group", "object"),
            ],
            net.trafos.iter().map(|t| t.id.0).collect(),
            net.trafos
                .iter()
                .map(|t| {
                    let side = match t.tap_side {
                        Some(TapSide::Hv) => Value::from("hv"),
                        Some(TapSide::Lv) => Value::from("lv"),
                        None => Value::Null,
                    };
                    let changer = if t.tap_side.is_some() {
                        Value::from("Ratio")
                    } else {
                        Value::Null
                    };
                    vec![
                        opt_text(&t.name),
                        opt_text(&t.std_type),
                        t.hv_bus.0.into(),
                        t.lv_bus.0.into(),
                        t.sn_mva.into(),
                        t.vn_hv_kv.into(),
                        t.vn_lv_kv.into(),
                        t.vk_percent.into(),
                        t.vkr_percent.into(),
                        t.pfe_kw.into(),
                        t.i0_percent.into(),
                        t.shift_degree.into(),
                        side,
                        t.tap_neutral.into(),
                        Value::Null,
                        Value::Null,
                        t.tap_step_percent.into(),
                        0.0.into(),
                        t.tap_pos.into(),
                        changer,
                        false.into(),
                        t.parallel.into(),
                        t.df.into(),
                        t.in_service.into(),
                        opt_text(&t.vector_group),
                    ]
                })
                .collect(),
        ),
    );
    o.insert(
        "ext_grid".into(),
        frame(
            &[
                ("name", "object"),
                ("bus", "uint32"),
                ("vm_pu", "float64"),
                ("va_degree", "float64"),
                ("slack_weight", "float64"),
                ("in_service", "bool"),
            ],
            net.ext_grids.iter().map(|e| e.id.0).collect(),
            net.ext_grids
                .iter()
                .map(|e| {
                    vec![
                        opt_text(&e.name),
                        e.bus.0.into(),
                        e.vm_pu.into(),
                        e.va_degree.into(),
                        1.0.into(),
                        e.in_service.into(),
                    ]
                })
                .collect(),
        ),
    );
    let power = |els: &[super::PowerElement], load: bool| {
        let mut cols = vec![
            ("name", "object"),
            ("bus", "uint32"),
            ("p_mw", "float64"),
            ("q_mvar", "float64"),
        ];
        if load {
            cols.extend([
                ("const_z_p_percent", "float64"),
                ("const_i_p_percent", "float64"),
                ("const_z_q_percent", "float64"),
                ("const_i_q_percent", "float64"),
            ]);
        }
        cols.extend([
            ("sn_mva", "float64"),
            ("scaling", "float64"),
            ("in_service", "bool"),
            ("type", "object"),
        ]);
        frame(
            &cols,
            els.iter().map(|e| e.id.0).collect(),
            els.iter()
                .map(|e| {
                    let mut r = vec![
                        opt_text(&e.name),
                        e.bus.0.into(),
                        e.p_mw.into(),
                        e.q_mvar.into(),
                    ];
                    if load {
                        r.extend([0.0.into(), 0.0.into(), 0.0.into(), 0.0.into()]);
                    }
                    r.extend([
                        Value::Null,
                        e.scaling.into(),
                        e.in_service.into(),
                        if load { "wye".into() } else { Value::Null },
                    ]);
                    r
                })
                .collect(),
        )
    };
    o.insert("load".into(), power(&net.loads, true));
    o.insert("sgen".into(), power(&net.sgens, false));
    o.insert(
        "switch".into(),
        frame(
            &[
                ("bus", "int64"),
                ("element", "int64"),
                ("et", "object"),
                ("type", "object"),
                ("closed", "bool"),
                ("name", "object"),
                ("z_ohm", "float64"),
                ("in_ka", "float64"),
            ],
            net.switches.iter().map(|s| s.id.0).collect(),
            net.switches
                .iter()
                .map(|s| {
                    let (el, et) = match s.element {
                        SwitchElement::Bus(b) => (b.0, "b"),
                        SwitchElement::Line(l) => (l.0, "l"),
                        SwitchElement::Trafo(t) => (t.0, "t"),
                    };
                    vec![
                        s.bus.0.into(),
                        el.into(),
                        et.into(),
                        Value::Null,
                        s.closed.into(),
                        opt_text(&s.name),
                        s.z_ohm.into(),
                        Value::Null,
                    ]
                })
                .collect(),
        ),
    );
    o.insert("version".into(), "3.5.6".into());
    o.insert("format_version".into(), "3.3.0".into());
    o.insert("name".into(), net.manifest.name.as_str().into());
    o.insert("f_hz".into(), net.manifest.f_hz.into());
    o.insert("sn_mva".into(), net.manifest.sn_mva.into());
    let top = json!({
        "_module": "pandapower.auxiliary",
        "_class": "pandapowerNet",
        "_object": Value::Object(o),
    });
    serde_json::to_string_pretty(&top).map_err(|e| Error::Numerical(e.to_string()))
}

fn m(v: f64) -> String {
    crate::fmt_f64(v)
}

/// The MATPOWER caseformat-2 text of `net`'s electrical model (see module docs).
pub fn to_matpower(net: &Network) -> Result<String> {
    let grid = Grid::from_network(net)?;
    let base = grid.sn_mva;
    let min_id = grid
        .nodes
        .iter()
        .filter(|n| !n.auxiliary)
        .filter_map(|n| n.buses.first().map(|b| b.0))
        .min()
        .unwrap_or(1);
    let shift = if min_id < 1 { 1 - min_id } else { 0 };
    let mut number = Vec::with_capacity(grid.n_nodes());
    let mut next_aux = grid
        .nodes
        .iter()
        .filter(|n| !n.auxiliary)
        .filter_map(|n| n.buses.first().map(|b| b.0 + shift))
        .max()
        .unwrap_or(0)
        + 1;
    for n in &grid.nodes {
        match (n.auxiliary, n.buses.first()) {
            (false, Some(b)) => number.push(b.0 + shift),
            _ => {
                number.push(next_aux);
                next_aux += 1;
            }
        }
    }
    let nn = grid.n_nodes();
    let (mut pd, mut qd) = (vec![0.0; nn], vec![0.0; nn]);
    for l in net.loads.iter().filter(|l| l.in_service) {
        if let Some(k) = grid.node_of_bus(l.bus) {
            pd[k] += l.p_mw * l.scaling;
            qd[k] += l.q_mvar * l.scaling;
        }
    }
    let (mut gs, mut bs) = (vec![0.0; nn], vec![0.0; nn]);
    let mut branches = String::new();
    // Out-of-service lines and trafos between buses of the model are kept with status 0.
    let mut offline = Vec::new();
    for l in net.lines.iter().filter(|l| !l.in_service) {
        if let (Some(f), Some(t)) = (grid.node_of_bus(l.from_bus), grid.node_of_bus(l.to_bus)) {
            if f != t {
                offline.push(super::electrical::line_branch(
                    l,
                    (f, t),
                    grid.nodes[f].vn_kv,
                    base,
                    net.manifest.f_hz,
                ));
            }
        }
    }
    for tr in net.trafos.iter().filter(|t| !t.in_service) {
        if let (Some(f), Some(t)) = (grid.node_of_bus(tr.hv_bus), grid.node_of_bus(tr.lv_bus)) {
            if f != t {
                offline.push(super::electrical::trafo_branch(
                    tr,
                    (f, t),
                    &grid.nodes[f],
                    &grid.nodes[t],
                    base,
                )?);
            }
        }
    }
    let n_online = grid.branches.len();
    for (i, br) in grid.branches.iter().chain(&offline).enumerate() {
        let online = i < n_online;
        let is_line = matches!(br.element, super::electrical::BranchElement::Line(_));
        let t2 = br.tap * br.tap;
        // MATPOWER's branch holds a symmetric capacitive b/2 at each end; everything else of the
        // shunt admittances goes to the buses (Y_ff = (y_s + y_f)/τ², Y_tt = y_s + y_t).
        let b = if is_line && br.y_sh_from_pu == br.y_sh_to_pu {
            2.0 * br.y_sh_from_pu.im
        } else {
            0.0
        };
        let (yf, yt) = (
            br.y_sh_from_pu - num_complex::Complex64::new(0.0, b / 2.0),
            br.y_sh_to_pu - num_complex::Complex64::new(0.0, b / 2.0),
        );
        if online {
            gs[br.from] += yf.re / t2 * base;
            bs[br.from] += yf.im / t2 * base;
            gs[br.to] += yt.re * base;
            bs[br.to] += yt.im * base;
        }
        let rate = br
            .rating
            .s_max_mva(grid.nodes[br.from].vn_kv)
            .unwrap_or(0.0);
        let is_plain = is_line || matches!(br.rating, Rating::None);
        let ratio = if is_plain && br.tap == 1.0 && br.shift_rad == 0.0 {
            0.0
        } else {
            br.tap
        };
        let _ = writeln!(
            branches,
            "\t{}\t{}\t{}\t{}\t{}\t{}\t0\t0\t{}\t{}\t{}\t-360\t360;",
            number[br.from],
            number[br.to],
            m(br.r_pu),
            m(br.x_pu),
            m(b),
            m(rate),
            m(ratio),
            m(br.shift_rad.to_degrees()),
            u8::from(online),
        );
    }
    let mut s = String::new();
    let _ = writeln!(s, "function mpc = {}", matlab_name(&net.manifest.name));
    let _ = writeln!(
        s,
        "%{}  written by netclear from feeder `{}` (electrical model: fused buses, open switches and\n%   out-of-service elements applied)",
        matlab_name(&net.manifest.name).to_uppercase(),
        net.manifest.name
    );
    if !net.manifest.source.is_empty() {
        let _ = writeln!(s, "%   source: {}", net.manifest.source.replace('\n', " "));
    }
    s += "\n%% MATPOWER Case Format : Version 2\nmpc.version = '2';\n\n";
    let _ = writeln!(s, "%% system MVA base\nmpc.baseMVA = {};\n", m(base));
    s += "%% bus data\n%\tbus_i\ttype\tPd\tQd\tGs\tBs\tarea\tVm\tVa\tbaseKV\tzone\tVmax\tVmin\nmpc.bus = [\n";
    for (k, n) in grid.nodes.iter().enumerate() {
        let slack = k == grid.slack;
        let _ = writeln!(
            s,
            "\t{}\t{}\t{}\t{}\t{}\t{}\t1\t{}\t{}\t{}\t1\t1.1\t0.9;",
            number[k],
            if slack { 3 } else { 1 },
            m(pd[k]),
            m(qd[k]),
            m(gs[k]),
            m(bs[k]),
            if slack {
                m(grid.slack_vm_pu)
            } else {
                "1".into()
            },
            if slack {
                m(grid.slack_va_rad.to_degrees())
            } else {
                "0".into()
            },
            m(n.vn_kv),
        );
    }
    s += "];\n\n%% generator data\n%\tbus\tPg\tQg\tQmax\tQmin\tVg\tmBase\tstatus\tPmax\tPmin\nmpc.gen = [\n";
    let _ = writeln!(
        s,
        "\t{}\t0\t0\t9999\t-9999\t{}\t{}\t1\t9999\t-9999;",
        number[grid.slack],
        m(grid.slack_vm_pu),
        m(base)
    );
    for g in net.sgens.iter().filter(|g| g.in_service) {
        if let Some(k) = grid.node_of_bus(g.bus) {
            let _ = writeln!(
                s,
                "\t{}\t{}\t{}\t0\t0\t1\t{}\t1\t{}\t0;",
                number[k],
                m(g.p_mw * g.scaling),
                m(g.q_mvar * g.scaling),
                m(base),
                m((g.p_mw * g.scaling).max(0.0)),
            );
        }
    }
    s += "];\n\n%% branch data\n%\tfbus\ttbus\tr\tx\tb\trateA\trateB\trateC\tratio\tangle\tstatus\tangmin\tangmax\nmpc.branch = [\n";
    s += &branches;
    s += "];\n";
    Ok(s)
}

/// A MATLAB function name from a feeder name.
fn matlab_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s.insert_str(0, "case_");
    }
    s
}
