//! Reads MATPOWER case files in caseformat version 2 (`.m`).
//!
//! # The format (MATPOWER's `caseformat` help, version 2)
//!
//! ```text
//! function mpc = case33bw
//! mpc.version = '2';
//! mpc.baseMVA = 10;
//! %  bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin
//! mpc.bus = [
//!     1  3  0    0    0 0 1 1 0 12.66 1 1   1;
//!     2  1  0.1  0.06 0 0 1 1 0 12.66 1 1.1 0.9;
//! ];
//! %  bus Pg Qg Qmax Qmin Vg mBase status Pmax Pmin ...
//! mpc.gen = [ 1 0 0 10 -10 1 100 1 10 0 ];
//! %  fbus tbus r x b rateA rateB rateC ratio angle status angmin angmax
//! mpc.branch = [ 1 2 0.00575 0.00293 0 0 0 0 0 0 1 -360 360; ];
//! ```
//!
//! `%` starts a comment; matrix rows end with `;` or a line break; values are separated by
//! blanks or commas; a matrix may span any number of lines. Other fields (`mpc.gencost`,
//! `mpc.bus_name`, ...) and the `function` line are ignored. A statement that *changes* a case
//! matrix after it is defined (MATPOWER's own `case33bw.m` converts ohms to p.u. that way) is
//! MATLAB code netclear does not run, and is refused rather than silently skipped.
//! Required columns: 13 in `mpc.bus`, 10 in `mpc.gen`, 11 in `mpc.branch`.
//!
//! # Mapping to the physical model (exact)
//!
//! MATPOWER works in per unit on `baseMVA` and each bus's `baseKV`; netclear's [`Network`] holds
//! physical units, so every quantity is mapped such that netclear's own per-unit conversion
//! ([`super::electrical`]) gives back MATPOWER's numbers:
//!
//! * Bus → bus (`id` = `bus_i`, `vn_kv` = `baseKV`); type 4 (isolated) → out of service.
//!   `Pd`, `Qd` (MW, Mvar) → one load per bus.
//! * The REF bus (type 3, exactly one) → the `ext_grid`, at the `Vg` of its first in-service
//!   generator (the voltage MATPOWER's `runpf` holds there; the bus `Vm` when it has none) and
//!   the bus's `Va`.
//! * Generators at PQ buses → sgens (`Pg`, `Qg`); MATPOWER injects them the same way. A PV bus
//!   (type 2) with an in-service generator is refused (netclear has no voltage control); one
//!   without is a PQ bus, as in MATPOWER. Generators at the REF bus are the slack.
//! * A branch with `ratio` 0 or 1, `angle` 0 and the same `baseKV` at both ends → a line of
//!   1 km: `r_ohm_per_km = r·Z_b`, `x_ohm_per_km = x·Z_b`, `c_nf_per_km = b/(2π f Z_b)·1e9`
//!   with `Z_b = baseKV_from²/baseMVA` and the feeder's `f_hz` (50); `max_i_ka =
//!   rateA/(√3·baseKV_from)`, or 99 999 kA for `rateA = 0` (no limit; pandapower's `from_ppc`
//!   does the same).
//! * Any other branch → a two-winding trafo from `fbus` (the tap side, `hv_bus`) to `tbus`:
//!   `sn_mva = rateA` (or `baseMVA` when 0), `vn_hv_kv = ratio·baseKV_from` (ratio 0 → 1),
//!   `vn_lv_kv = baseKV_to`, `vk_percent = |r + jx|·100·sn_mva/baseMVA`,
//!   `vkr_percent = r·100·sn_mva/baseMVA`, `shift_degree = angle`, no magnetising branch —
//!   exactly MATPOWER's series branch with off-nominal ratio and shift. MATPOWER's line charging
//!   `b` on such a branch has no counterpart in netclear's trafo model and is refused.
//! * `Gs`, `Bs` (bus shunts) have no table in netclear's model and are refused when non-zero.
//!
//! The tables are then validated by the folder loader (`network::bridge`), so a bad value is
//! reported as `case.m: mpc.branch (file line 41), row 5, field \`x\``. (Values in such
//! messages are in the physical units the row maps to.)
//!
//! Source: MATPOWER 8 User's Manual, Appendix B and `caseformat.m`; `data/case33bw.m`.

use super::bridge::{flag, num, CsvTable, MemSource, Origin};
use super::{Manifest, Network};
use crate::error::{Error, Location, Result};
use std::collections::HashMap;
use std::path::Path;

/// The placeholder rating for `rateA = 0` (no limit), kA.
pub const NO_LIMIT_KA: f64 = 99_999.0;

/// Reads a MATPOWER case file.
pub fn load_case(path: &Path) -> Result<Network> {
    let text = crate::util::limits::read_text(path, crate::util::limits::MAX_DATA_BYTES)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "case".into());
    parse_case(&path.display().to_string(), &text, &name)
}

/// One matrix row: its 1-based file line and its values.
#[derive(Debug, Clone)]
struct MRow {
    line: usize,
    values: Vec<f64>,
}

/// The parsed fields of a case file.
#[derive(Debug, Default)]
struct Case {
    version: Option<(String, usize)>,
    base_mva: Option<(f64, usize)>,
    matrices: HashMap<String, (usize, Vec<MRow>)>,
}

/// Removes a `%` comment (outside a quoted string).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    for (i, c) in line.char_indices() {
        match c {
            '\'' => in_str = !in_str,
            '%' if !in_str => return &line[..i],
            _ => {}
        }
    }
    line
}

fn parse_value(tok: &str) -> Option<f64> {
    match tok {
        "Inf" | "inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

fn scan(label: &str, text: &str) -> Result<Case> {
    let loc = |line: usize| Location::file(format!("{label}, line {line}"));
    let mut case = Case::default();
    // The matrix being read: (name, start line, rows, current row).
    let mut open: Option<(String, usize, Vec<MRow>, MRow)> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let mut rest = strip_comment(raw).trim();
        if open.is_none() {
            if rest.is_empty() || rest.starts_with("function") {
                continue;
            }
            let Some(stmt) = rest.strip_prefix("mpc.") else {
                // Other MATLAB (index constants, conversions of local variables): not case data.
                continue;
            };
            let (lhs, rhs) = match stmt.split_once('=') {
                Some((l, r)) => (l.trim(), r.trim()),
                None => continue,
            };
            let field: String = lhs
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if lhs.len() != field.len() {
                if ["bus", "gen", "branch", "baseMVA"].contains(&field.as_str()) {
                    return Err(Error::invalid(
                        loc(n),
                        format!(
                            "`mpc.{lhs} = ...` changes mpc.{field} with MATLAB code, which netclear does not run; write the case data with the change applied"
                        ),
                    ));
                }
                continue;
            }
            match field.as_str() {
                "version" => {
                    let v = rhs
                        .trim_end_matches(';')
                        .trim()
                        .trim_matches('\'')
                        .to_string();
                    case.version = Some((v, n));
                }
                "baseMVA" => {
                    let v = rhs.trim_end_matches(';').trim();
                    let x = parse_value(v).ok_or_else(|| Error::Parse {
                        loc: loc(n).field("baseMVA"),
                        value: v.to_string(),
                        expected: "a number",
                    })?;
                    case.base_mva = Some((x, n));
                }
                "bus" | "gen" | "branch" => {
                    let Some(body) = rhs.strip_prefix('[') else {
                        return Err(Error::Malformed {
                            loc: loc(n).field(field.as_str()),
                            msg: format!("expected `mpc.{field} = [`"),
                        });
                    };
                    if case.matrices.contains_key(&field) {
                        return Err(Error::invalid(
                            loc(n),
                            format!("mpc.{field} is defined twice"),
                        ));
                    }
                    open = Some((
                        field,
                        n,
                        Vec::new(),
                        MRow {
                            line: n,
                            values: Vec::new(),
                        },
                    ));
                    rest = body;
                }
                _ => continue,
            }
            if open.is_none() {
                continue;
            }
        }
        // Inside a matrix: values, `;` row ends, `]` closes.
        let Some((name, start, rows, cur)) = open.as_mut() else {
            continue;
        };
        if rest.starts_with("mpc.") {
            return Err(Error::Malformed {
                loc: loc(n).field(format!("mpc.{name}")),
                msg: format!(
                    "mpc.{name} (opened at line {start}) is never closed with `]` before this statement"
                ),
            });
        }
        let mut closed = false;
        let mut token = String::new();
        let flush = |token: &mut String, cur: &mut MRow| -> Result<()> {
            if token.is_empty() {
                return Ok(());
            }
            let v = parse_value(token).ok_or_else(|| Error::Parse {
                loc: loc(n).field(format!("mpc.{name}")),
                value: token.clone(),
                expected: "a number",
            })?;
            if cur.values.is_empty() {
                cur.line = n;
            }
            cur.values.push(v);
            token.clear();
            Ok(())
        };
        for c in rest.chars() {
            match c {
                ' ' | '\t' | ',' => flush(&mut token, cur)?,
                ';' => {
                    flush(&mut token, cur)?;
                    if !cur.values.is_empty() {
                        rows.push(std::mem::replace(
                            cur,
                            MRow {
                                line: n,
                                values: Vec::new(),
                            },
                        ));
                    }
                }
                ']' => {
                    flush(&mut token, cur)?;
                    closed = true;
                    break;
                }
                c => token.push(c),
            }
        }
        if !closed {
            flush(&mut token, cur)?;
        }
        // A line break also ends a row.
        if !cur.values.is_empty() {
            rows.push(std::mem::replace(
                cur,
                MRow {
                    line: n,
                    values: Vec::new(),
                },
            ));
        }
        if closed {
            if let Some((name, start, rows, _)) = open.take() {
                case.matrices.insert(name, (start, rows));
            }
        }
    }
    if let Some((name, start, _, _)) = open {
        return Err(Error::Malformed {
            loc: loc(start).field(format!("mpc.{name}")),
            msg: "the matrix is never closed with `]`".into(),
        });
    }
    Ok(case)
}

/// Reads caseformat-2 text; `label` names the file in errors, `name` is the feeder name.
pub fn parse_case(label: &str, text: &str, name: &str) -> Result<Network> {
    let case = scan(label, text)?;
    let file = || Location::file(label);
    match &case.version {
        Some((v, _)) if v == "2" => {}
        Some((v, n)) => {
            return Err(Error::invalid(
                Location::file(format!("{label}, line {n}")).field("version"),
                format!("MATPOWER case format version `{v}` is not supported (only version 2)"),
            ))
        }
        None => {
            return Err(Error::invalid(
                file().field("version"),
                "no `mpc.version = '2'`: only MATPOWER case format version 2 is supported",
            ))
        }
    }
    let (base_mva, bline) = case
        .base_mva
        .ok_or_else(|| Error::invalid(file().field("baseMVA"), "no `mpc.baseMVA`"))?;
    if !(base_mva.is_finite() && base_mva > 0.0) {
        return Err(Error::OutOfRange {
            loc: Location::file(format!("{label}, line {bline}")).field("baseMVA"),
            value: base_mva,
            requirement: "finite and > 0",
        });
    }
    let matrix = |m: &str, min_cols: usize, cols: &[&str]| -> Result<Vec<MRow>> {
        let Some((_, rows)) = case.matrices.get(m) else {
            if m == "gen" {
                return Ok(Vec::new());
            }
            return Err(Error::invalid(
                file().field(format!("mpc.{m}")),
                format!("no `mpc.{m}` matrix"),
            ));
        };
        for (k, r) in rows.iter().enumerate() {
            if r.values.len() < min_cols {
                return Err(Error::invalid(
                    Location::file(format!("{label}: mpc.{m} (file line {})", r.line))
                        .row(k as u64 + 1)
                        .field(cols.get(r.values.len()).copied().unwrap_or("?")),
                    format!(
                        "{} columns, mpc.{m} needs at least {min_cols} ({})",
                        r.values.len(),
                        cols[..min_cols].join(" ")
                    ),
                ));
            }
        }
        Ok(rows.clone())
    };
    const BUS: &[&str] = &[
        "bus_i", "type", "Pd", "Qd", "Gs", "Bs", "area", "Vm", "Va", "baseKV", "zone", "Vmax",
        "Vmin",
    ];
    const GEN: &[&str] = &[
        "bus", "Pg", "Qg", "Qmax", "Qmin", "Vg", "mBase", "status", "Pmax", "Pmin",
    ];
    const BRANCH: &[&str] = &[
        "fbus", "tbus", "r", "x", "b", "rateA", "rateB", "rateC", "ratio", "angle", "status",
    ];
    let bus = matrix("bus", 13, BUS)?;
    let gen = matrix("gen", 10, GEN)?;
    let branch = matrix("branch", 11, BRANCH)?;
    let at = |m: &str, k: usize, r: &MRow| {
        (
            format!("{label}: mpc.{m} (file line {})", r.line),
            k as u64 + 1,
        )
    };
    let bad = |m: &str, k: usize, r: &MRow, field: &str, msg: String| {
        let (f, row) = at(m, k, r);
        Error::invalid(Location::file(f).row(row).field(field), msg)
    };
    let int = |m: &str, k: usize, r: &MRow, c: usize, field: &str| -> Result<i64> {
        let v = r.values[c];
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
            Ok(v as i64)
        } else {
            let (f, row) = at(m, k, r);
            Err(Error::Parse {
                loc: Location::file(f).row(row).field(field),
                value: num(v),
                expected: "an integer",
            })
        }
    };

    // Buses.
    let mut kv: HashMap<i64, f64> = HashMap::new();
    let mut bus_type: HashMap<i64, i64> = HashMap::new();
    let mut refs = Vec::new();
    for (k, r) in bus.iter().enumerate() {
        let id = int("bus", k, r, 0, "bus_i")?;
        let ty = int("bus", k, r, 1, "type")?;
        if !(1..=4).contains(&ty) {
            return Err(bad(
                "bus",
                k,
                r,
                "type",
                format!("bus type {ty} (must be 1 PQ, 2 PV, 3 REF or 4 isolated)"),
            ));
        }
        for (c, field) in [(4, "Gs"), (5, "Bs")] {
            if r.values[c] != 0.0 {
                return Err(bad(
                    "bus",
                    k,
                    r,
                    field,
                    format!(
                        "bus shunt {field} = {}: netclear's model has no shunt elements",
                        num(r.values[c])
                    ),
                ));
            }
        }
        kv.entry(id).or_insert(r.values[9]);
        bus_type.insert(id, ty);
        if ty == 3 {
            refs.push((k, id));
        }
    }
    if refs.is_empty() {
        return Err(Error::invalid(
            file().field("mpc.bus"),
            "no slack: no bus has type 3 (REF)",
        ));
    }
    if refs.len() > 1 {
        let (k, _) = refs[1];
        return Err(bad(
            "bus",
            k,
            &bus[k],
            "type",
            format!(
                "two slacks: buses {} and {} both have type 3; netclear supports exactly one",
                refs[0].1, refs[1].1
            ),
        ));
    }
    let (ref_k, ref_bus) = refs[0];

    // Generators: the slack's voltage, sgens elsewhere, PV buses refused.
    let mut ref_vg = None;
    let mut sgens = CsvTable::new(&[
        "id",
        "name",
        "bus",
        "p_mw",
        "q_mvar",
        "scaling",
        "in_service",
    ]);
    let mut sgen_rows = Vec::new();
    for (k, r) in gen.iter().enumerate() {
        let b = int("gen", k, r, 0, "bus")?;
        let on = r.values[7] > 0.0;
        match bus_type.get(&b) {
            // An unknown bus: the loader reports it with the sgen row below.
            None => {}
            Some(3) => {
                if on && ref_vg.is_none() {
                    ref_vg = Some(r.values[5]);
                }
                continue;
            }
            Some(2) if on => {
                return Err(bad(
                    "gen",
                    k,
                    r,
                    "bus",
                    format!("generator at PV bus {b} (type 2): voltage-controlled generation is not modelled; make the bus PQ (type 1) to inject Pg, Qg"),
                ))
            }
            Some(_) => {}
        }
        sgens.push(&[
            k.to_string(),
            String::new(),
            b.to_string(),
            num(r.values[1]),
            num(r.values[2]),
            "1".into(),
            flag(on),
        ]);
        sgen_rows.push(at("gen", k, r));
    }

    let mut src = MemSource::default();
    let manifest = Manifest {
        source: format!("MATPOWER case {label}"),
        sn_mva: base_mva,
        ..Manifest::named(name)
    };
    let toml = toml::to_string(&manifest).map_err(|e| Error::Numerical(e.to_string()))?;
    let origin = |table: &str, rows: Vec<(String, u64)>, fields: &[(&str, &str)]| Origin {
        table: format!("{label}: {table}"),
        rows,
        fields: fields
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
    };
    src.add(
        "network.toml",
        toml,
        origin("mpc.baseMVA", Vec::new(), &[("sn_mva", "baseMVA")]),
    );

    let mut buses = CsvTable::new(&["id", "vn_kv", "zone", "in_service"]);
    let mut loads = CsvTable::new(&["id", "bus", "p_mw", "q_mvar", "in_service"]);
    let (mut bus_rows, mut load_rows) = (Vec::new(), Vec::new());
    for (k, r) in bus.iter().enumerate() {
        let id = r.values[0] as i64;
        let oos = r.values[1] == 4.0;
        buses.push(&[
            id.to_string(),
            num(r.values[9]),
            num(r.values[10]),
            flag(!oos),
        ]);
        bus_rows.push(at("bus", k, r));
        if r.values[2] != 0.0 || r.values[3] != 0.0 {
            loads.push(&[
                load_rows.len().to_string(),
                id.to_string(),
                num(r.values[2]),
                num(r.values[3]),
                flag(!oos),
            ]);
            load_rows.push(at("bus", k, r));
        }
    }
    src.add(
        "buses.csv",
        buses.finish(),
        origin("mpc.bus", bus_rows, &[("id", "bus_i"), ("vn_kv", "baseKV")]),
    );
    src.add(
        "loads.csv",
        loads.finish(),
        origin(
            "mpc.bus",
            load_rows,
            &[("bus", "bus_i"), ("p_mw", "Pd"), ("q_mvar", "Qd")],
        ),
    );
    src.add(
        "sgen.csv",
        sgens.finish(),
        origin("mpc.gen", sgen_rows, &[("p_mw", "Pg"), ("q_mvar", "Qg")]),
    );
    let rb = &bus[ref_k];
    let mut eg = CsvTable::new(&["id", "bus", "vm_pu", "va_degree"]);
    eg.push(&[
        "0".into(),
        ref_bus.to_string(),
        num(ref_vg.unwrap_or(rb.values[7])),
        num(rb.values[8]),
    ]);
    src.add(
        "ext_grid.csv",
        eg.finish(),
        origin(
            "mpc.bus",
            vec![at("bus", ref_k, rb)],
            &[("bus", "bus_i"), ("vm_pu", "Vg"), ("va_degree", "Va")],
        ),
    );

    // Branches.
    let f_hz = manifest.f_hz;
    let mut lines = CsvTable::new(&[
        "id",
        "from_bus",
        "to_bus",
        "length_km",
        "r_ohm_per_km",
        "x_ohm_per_km",
        "c_nf_per_km",
        "max_i_ka",
        "type",
        "in_service",
    ]);
    let mut trafos = CsvTable::new(&[
        "id",
        "hv_bus",
        "lv_bus",
        "sn_mva",
        "vn_hv_kv",
        "vn_lv_kv",
        "vk_percent",
        "vkr_percent",
        "shift_degree",
        "in_service",
    ]);
    let (mut line_rows, mut trafo_rows) = (Vec::new(), Vec::new());
    for (k, r) in branch.iter().enumerate() {
        let f = int("branch", k, r, 0, "fbus")?;
        let t = int("branch", k, r, 1, "tbus")?;
        let v = &r.values;
        let (rr, x, b, rate, ratio, angle) = (v[2], v[3], v[4], v[5], v[8], v[9]);
        // Unknown buses: use 1 kV so the loader reports the reference itself.
        let kv_f = kv.get(&f).copied().unwrap_or(1.0);
        let kv_t = kv.get(&t).copied().unwrap_or(1.0);
        let status = flag(v[10] > 0.0);
        let is_line = (ratio == 0.0 || ratio == 1.0) && angle == 0.0 && kv_f == kv_t;
        if is_line {
            let zb = kv_f * kv_f / base_mva;
            let max_i = if rate > 0.0 {
                rate / (3f64.sqrt() * kv_f)
            } else if rate == 0.0 {
                NO_LIMIT_KA
            } else {
                rate
            };
            lines.push(&[
                k.to_string(),
                f.to_string(),
                t.to_string(),
                "1".into(),
                num(rr * zb),
                num(x * zb),
                num(b / (2.0 * std::f64::consts::PI * f_hz * zb) * 1e9),
                num(max_i),
                "ol".into(),
                status,
            ]);
            line_rows.push(at("branch", k, r));
        } else {
            if b != 0.0 {
                return Err(bad(
                    "branch",
                    k,
                    r,
                    "b",
                    format!("line charging b = {} on a transformer branch (ratio {}, angle {}): netclear's trafo model has no such shunt", num(b), num(ratio), num(angle)),
                ));
            }
            if x.is_nan() || x <= 0.0 {
                return Err(bad(
                    "branch",
                    k,
                    r,
                    "x",
                    format!("transformer reactance x = {} p.u.: must be > 0", num(x)),
                ));
            }
            if ratio < 0.0 {
                return Err(bad(
                    "branch",
                    k,
                    r,
                    "ratio",
                    format!("ratio {} must be ≥ 0", num(ratio)),
                ));
            }
            let tau = if ratio == 0.0 { 1.0 } else { ratio };
            let sn = if rate > 0.0 { rate } else { base_mva };
            let scale = 100.0 * sn / base_mva;
            trafos.push(&[
                k.to_string(),
                f.to_string(),
                t.to_string(),
                num(sn),
                num(tau * kv_f),
                num(kv_t),
                num(rr.hypot(x) * scale),
                num(rr * scale),
                num(angle),
                status,
            ]);
            trafo_rows.push(at("branch", k, r));
        }
    }
    src.add(
        "lines.csv",
        lines.finish(),
        origin(
            "mpc.branch",
            line_rows,
            &[
                ("from_bus", "fbus"),
                ("to_bus", "tbus"),
                ("r_ohm_per_km", "r"),
                ("x_ohm_per_km", "x"),
                ("c_nf_per_km", "b"),
                ("max_i_ka", "rateA"),
                ("in_service", "status"),
            ],
        ),
    );
    src.add(
        "trafos.csv",
        trafos.finish(),
        origin(
            "mpc.branch",
            trafo_rows,
            &[
                ("hv_bus", "fbus"),
                ("lv_bus", "tbus"),
                ("sn_mva", "rateA"),
                ("vn_hv_kv", "ratio"),
                ("vk_percent", "x"),
                ("vkr_percent", "r"),
                ("shift_degree", "angle"),
                ("in_service", "status"),
            ],
        ),
    );
    super::io::load(&src, name).map_err(|e| src.relocate(e))
}
