//! Reading and writing the on-disk feeder format (see [`crate::network`]).
//!
//! Reading validates every row as it goes: a missing column, an unparsable or non-finite number,
//! a non-positive length/impedance/rating, an unknown bus reference, a duplicate id, no slack or
//! two slacks — each is an [`Error`] naming file, row and field. Nothing here panics on input.

use super::*;
use crate::error::{Error, Location, Result};
use crate::table::{Row, Table};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where the files of one feeder come from: a folder on disk, or the copies compiled into the
/// binary (the shipped feeders).
pub trait FileSource {
    /// Label used in error messages for `file` (e.g. `networks/cigre44/lines.csv`).
    fn label(&self, file: &str) -> String;
    /// The text of `file`, `Ok(None)` when it does not exist.
    fn read(&self, file: &str) -> Result<Option<String>>;
}

/// Files read from a folder.
pub struct DirSource<'a>(pub &'a Path);

impl FileSource for DirSource<'_> {
    fn label(&self, file: &str) -> String {
        self.0.join(file).display().to_string()
    }
    fn read(&self, file: &str) -> Result<Option<String>> {
        let p = self.0.join(file);
        match std::fs::metadata(&p) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io { path: p, source: e }),
            Ok(_) => {
                crate::util::limits::read_text(&p, crate::util::limits::MAX_DATA_BYTES).map(Some)
            }
        }
    }
}

/// Reads and validates a feeder folder.
pub fn load_dir(dir: &Path) -> Result<Network> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    let default_name = dir
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "network".into());
    load(&DirSource(dir), &default_name)
}

fn table(src: &dyn FileSource, file: &str, required: bool) -> Result<Option<Table>> {
    match src.read(file)? {
        Some(text) => Table::parse(src.label(file), &text).map(Some),
        None if required => Err(Error::Io {
            path: src.label(file).into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "required file missing"),
        }),
        None => Ok(None),
    }
}

fn required(src: &dyn FileSource, file: &str) -> Result<Table> {
    table(src, file, true)?.ok_or_else(|| Error::Io {
        path: src.label(file).into(),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "required file missing"),
    })
}

/// Reads and validates a feeder from any [`FileSource`].
pub fn load(src: &dyn FileSource, default_name: &str) -> Result<Network> {
    let manifest = match src.read("network.toml")? {
        Some(text) => {
            let m: Manifest = toml::from_str(&text).map_err(|e| Error::Malformed {
                loc: Location::file(src.label("network.toml")),
                msg: e.to_string(),
            })?;
            let loc = Location::file(src.label("network.toml"));
            if !(m.sn_mva.is_finite() && m.sn_mva > 0.0) {
                return Err(Error::OutOfRange {
                    loc: loc.field("sn_mva"),
                    value: m.sn_mva,
                    requirement: "finite and > 0",
                });
            }
            if !(m.f_hz.is_finite() && m.f_hz > 0.0) {
                return Err(Error::OutOfRange {
                    loc: loc.field("f_hz"),
                    value: m.f_hz,
                    requirement: "finite and > 0",
                });
            }
            m
        }
        None => Manifest::named(default_name),
    };

    let buses_t = required(src, "buses.csv")?;
    let buses = read_buses(&buses_t)?;
    let bus_ids: HashSet<BusId> = buses.iter().map(|b| b.id).collect();
    let check_bus = |row: &Row, field: &str| -> Result<BusId> {
        let id = BusId(row.int(field)?);
        if !bus_ids.contains(&id) {
            return Err(Error::UnknownBus {
                loc: row.loc(field),
                bus: id.0,
            });
        }
        Ok(id)
    };

    let mut lines = Vec::new();
    if let Some(t) = table(src, "lines.csv", false)? {
        t.require_columns(&[
            "id",
            "from_bus",
            "to_bus",
            "length_km",
            "r_ohm_per_km",
            "x_ohm_per_km",
            "max_i_ka",
        ])?;
        let mut seen = HashSet::new();
        for row in t.rows() {
            let id = LineId(row.int("id")?);
            if !seen.insert(id) {
                return Err(Error::DuplicateId {
                    loc: row.loc("id"),
                    id: id.0,
                });
            }
            let from_bus = check_bus(&row, "from_bus")?;
            let to_bus = check_bus(&row, "to_bus")?;
            if from_bus == to_bus {
                return Err(Error::invalid(
                    row.loc("to_bus"),
                    format!("line connects {from_bus} to itself"),
                ));
            }
            let r = row.f64("r_ohm_per_km")?;
            if r < 0.0 {
                return Err(Error::OutOfRange {
                    loc: row.loc("r_ohm_per_km"),
                    value: r,
                    requirement: ">= 0",
                });
            }
            lines.push(Line {
                id,
                name: row.raw("name").unwrap_or("").to_string(),
                std_type: row.raw("std_type").unwrap_or("").to_string(),
                from_bus,
                to_bus,
                length_km: row.positive("length_km")?,
                r_ohm_per_km: r,
                x_ohm_per_km: row.positive("x_ohm_per_km")?,
                c_nf_per_km: row.non_negative_or("c_nf_per_km", 0.0)?,
                g_us_per_km: row.non_negative_or("g_us_per_km", 0.0)?,
                max_i_ka: row.positive("max_i_ka")?,
                max_i_ka_pandapower: match row.opt_f64("max_i_ka_pandapower")? {
                    Some(v) if v <= 0.0 => {
                        return Err(Error::OutOfRange {
                            loc: row.loc("max_i_ka_pandapower"),
                            value: v,
                            requirement: "> 0",
                        })
                    }
                    v => v,
                },
                df: derating(&row, "df")?,
                parallel: parallel(&row)?,
                kind: row.raw("type").unwrap_or("cs").to_string(),
                in_service: row.bool_or("in_service", true)?,
            });
        }
    }

    let mut trafos = Vec::new();
    if let Some(t) = table(src, "trafos.csv", false)? {
        t.require_columns(&[
            "id",
            "hv_bus",
            "lv_bus",
            "sn_mva",
            "vn_hv_kv",
            "vn_lv_kv",
            "vk_percent",
            "vkr_percent",
        ])?;
        let mut seen = HashSet::new();
        for row in t.rows() {
            let id = TrafoId(row.int("id")?);
            if !seen.insert(id) {
                return Err(Error::DuplicateId {
                    loc: row.loc("id"),
                    id: id.0,
                });
            }
            let hv_bus = check_bus(&row, "hv_bus")?;
            let lv_bus = check_bus(&row, "lv_bus")?;
            if hv_bus == lv_bus {
                return Err(Error::invalid(
                    row.loc("lv_bus"),
                    format!("trafo connects {hv_bus} to itself"),
                ));
            }
            let vk = row.positive("vk_percent")?;
            let vkr = row.non_negative_or("vkr_percent", 0.0)?;
            if vkr >= vk {
                return Err(Error::invalid(
                    row.loc("vkr_percent"),
                    format!("vkr_percent {vkr} must be below vk_percent {vk} (no reactance left)"),
                ));
            }
            let sn_mva = row.positive("sn_mva")?;
            let pfe_kw = row.non_negative_or("pfe_kw", 0.0)?;
            let i0 = row.non_negative_or("i0_percent", 0.0)?;
            let tap_side = match row.raw("tap_side").unwrap_or("") {
                "" => None,
                "hv" => Some(TapSide::Hv),
                "lv" => Some(TapSide::Lv),
                other => {
                    return Err(Error::Parse {
                        loc: row.loc("tap_side"),
                        value: other.to_string(),
                        expected: "`hv`, `lv` or empty",
                    })
                }
            };
            let changer = row.raw("tap_changer_type").unwrap_or("");
            if !(changer.is_empty() || changer == "Ratio") {
                return Err(Error::invalid(
                    row.loc("tap_changer_type"),
                    format!("tap changer type `{changer}` is not supported (only `Ratio`)"),
                ));
            }
            if row.bool_or("tap_dependency_table", false)? {
                return Err(Error::invalid(
                    row.loc("tap_dependency_table"),
                    "tap dependency tables are not supported",
                ));
            }
            let tap_neutral = row.f64_or("tap_neutral", 0.0)?;
            let tap_pos = row.f64_or("tap_pos", tap_neutral)?;
            let tap_step_percent = row.f64_or("tap_step_percent", 0.0)?;
            if tap_side.is_none() && tap_pos != tap_neutral && tap_step_percent != 0.0 {
                return Err(Error::invalid(
                    row.loc("tap_side"),
                    "a tap position off neutral needs a tap_side",
                ));
            }
            trafos.push(Trafo {
                id,
                name: row.raw("name").unwrap_or("").to_string(),
                std_type: row.raw("std_type").unwrap_or("").to_string(),
                hv_bus,
                lv_bus,
                sn_mva,
                vn_hv_kv: row.positive("vn_hv_kv")?,
                vn_lv_kv: row.positive("vn_lv_kv")?,
                vk_percent: vk,
                vkr_percent: vkr,
                pfe_kw,
                i0_percent: i0,
                shift_degree: row.f64_or("shift_degree", 0.0)?,
                tap_side,
                tap_neutral,
                tap_pos,
                tap_step_percent,
                parallel: parallel(&row)?,
                df: derating(&row, "df")?,
                vector_group: row.raw("vector_group").unwrap_or("").to_string(),
                in_service: row.bool_or("in_service", true)?,
            });
        }
    }

    let eg_t = required(src, "ext_grid.csv")?;
    eg_t.require_columns(&["id", "bus"])?;
    let mut ext_grids = Vec::new();
    {
        let mut seen = HashSet::new();
        for row in eg_t.rows() {
            let id = ElementId(row.int("id")?);
            if !seen.insert(id) {
                return Err(Error::DuplicateId {
                    loc: row.loc("id"),
                    id: id.0,
                });
            }
            let vm_pu = row.f64_or("vm_pu", 1.0)?;
            if vm_pu <= 0.0 {
                return Err(Error::OutOfRange {
                    loc: row.loc("vm_pu"),
                    value: vm_pu,
                    requirement: "> 0",
                });
            }
            ext_grids.push(ExtGrid {
                id,
                name: row.raw("name").unwrap_or("").to_string(),
                bus: check_bus(&row, "bus")?,
                vm_pu,
                va_degree: row.f64_or("va_degree", 0.0)?,
                in_service: row.bool_or("in_service", true)?,
            });
        }
        let active: Vec<&ExtGrid> = ext_grids.iter().filter(|e| e.in_service).collect();
        if active.is_empty() {
            return Err(Error::invalid(
                eg_t.loc(),
                "no slack: the feeder needs exactly one in-service ext_grid",
            ));
        }
        if active.len() > 1 {
            return Err(Error::invalid(
                eg_t.loc(),
                format!(
                    "two slacks: ext_grids at {} and {}; netclear supports exactly one in-service ext_grid",
                    active[0].bus, active[1].bus
                ),
            ));
        }
    }

    let loads = match table(src, "loads.csv", false)? {
        Some(t) => read_power_elements(&t, &check_bus)?,
        None => Vec::new(),
    };
    let sgens = match table(src, "sgen.csv", false)? {
        Some(t) => read_power_elements(&t, &check_bus)?,
        None => Vec::new(),
    };

    let mut switches = Vec::new();
    if let Some(t) = table(src, "switches.csv", false)? {
        t.require_columns(&["id", "bus", "element", "et", "closed"])?;
        let line_ids: HashSet<LineId> = lines.iter().map(|l| l.id).collect();
        let trafo_ids: HashMap<TrafoId, &Trafo> = trafos.iter().map(|t| (t.id, t)).collect();
        let line_by_id: HashMap<LineId, &Line> = lines.iter().map(|l| (l.id, l)).collect();
        let mut seen = HashSet::new();
        for row in t.rows() {
            let id = SwitchId(row.int("id")?);
            if !seen.insert(id) {
                return Err(Error::DuplicateId {
                    loc: row.loc("id"),
                    id: id.0,
                });
            }
            let bus = check_bus(&row, "bus")?;
            let el = row.int("element")?;
            let element = match row.str("et")? {
                "b" => {
                    let other = check_bus(&row, "element")?;
                    if other == bus {
                        return Err(Error::invalid(
                            row.loc("element"),
                            "bus-bus switch connects a bus to itself",
                        ));
                    }
                    SwitchElement::Bus(other)
                }
                "l" => {
                    let lid = LineId(el);
                    if !line_ids.contains(&lid) {
                        return Err(Error::invalid(
                            row.loc("element"),
                            format!("unknown line {el}"),
                        ));
                    }
                    let l = line_by_id[&lid];
                    if l.from_bus != bus && l.to_bus != bus {
                        return Err(Error::invalid(
                            row.loc("bus"),
                            format!("{lid} does not touch {bus}"),
                        ));
                    }
                    SwitchElement::Line(lid)
                }
                "t" => {
                    let tid = TrafoId(el);
                    let Some(tr) = trafo_ids.get(&tid) else {
                        return Err(Error::invalid(
                            row.loc("element"),
                            format!("unknown trafo {el}"),
                        ));
                    };
                    if tr.hv_bus != bus && tr.lv_bus != bus {
                        return Err(Error::invalid(
                            row.loc("bus"),
                            format!("{tid} does not touch {bus}"),
                        ));
                    }
                    SwitchElement::Trafo(tid)
                }
                other => {
                    return Err(Error::Parse {
                        loc: row.loc("et"),
                        value: other.to_string(),
                        expected: "`b`, `l` or `t`",
                    })
                }
            };
            switches.push(Switch {
                id,
                name: row.raw("name").unwrap_or("").to_string(),
                bus,
                element,
                closed: row.bool_or("closed", true)?,
                z_ohm: row.non_negative_or("z_ohm", 0.0)?,
            });
        }
    }

    Ok(Network {
        manifest,
        buses,
        lines,
        trafos,
        ext_grids,
        loads,
        sgens,
        switches,
        own_series: OwnSeries::default(),
    })
}

fn read_buses(t: &Table) -> Result<Vec<Bus>> {
    t.require_columns(&["id", "vn_kv"])?;
    if t.is_empty() {
        return Err(Error::invalid(t.loc(), "no buses"));
    }
    if t.len() > crate::util::limits::MAX_BUSES {
        return Err(crate::util::limits::exceeded(
            t.loc(),
            "the number of buses",
            t.len(),
            crate::util::limits::MAX_BUSES,
        ));
    }
    let mut seen = HashSet::new();
    let mut buses = Vec::with_capacity(t.len());
    for row in t.rows() {
        let id = BusId(row.int("id")?);
        if !seen.insert(id) {
            return Err(Error::DuplicateId {
                loc: row.loc("id"),
                id: id.0,
            });
        }
        let x = row.opt_f64("x")?;
        let y = row.opt_f64("y")?;
        buses.push(Bus {
            id,
            name: row.raw("name").unwrap_or("").to_string(),
            vn_kv: row.positive("vn_kv")?,
            kind: row.raw("type").unwrap_or("b").to_string(),
            zone: row.raw("zone").unwrap_or("").to_string(),
            in_service: row.bool_or("in_service", true)?,
            geo: x.zip(y),
        });
    }
    Ok(buses)
}

fn read_power_elements(
    t: &Table,
    check_bus: &dyn Fn(&Row, &str) -> Result<BusId>,
) -> Result<Vec<PowerElement>> {
    t.require_columns(&["id", "bus", "p_mw"])?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(t.len());
    for row in t.rows() {
        let id = ElementId(row.int("id")?);
        if !seen.insert(id) {
            return Err(Error::DuplicateId {
                loc: row.loc("id"),
                id: id.0,
            });
        }
        out.push(PowerElement {
            id,
            name: row.raw("name").unwrap_or("").to_string(),
            bus: check_bus(&row, "bus")?,
            p_mw: row.f64("p_mw")?,
            q_mvar: row.f64_or("q_mvar", 0.0)?,
            scaling: row.non_negative_or("scaling", 1.0)?,
            in_service: row.bool_or("in_service", true)?,
        });
    }
    Ok(out)
}

fn derating(row: &Row, field: &str) -> Result<f64> {
    let v = row.f64_or(field, 1.0)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(Error::OutOfRange {
            loc: row.loc(field),
            value: v,
            requirement: "in (0, 1]",
        });
    }
    Ok(v)
}

fn parallel(row: &Row) -> Result<u32> {
    let v = row.opt_int("parallel")?.unwrap_or(1);
    if !(1..=1000).contains(&v) {
        return Err(Error::OutOfRange {
            loc: row.loc("parallel"),
            value: v as f64,
            requirement: "an integer in 1..=1000",
        });
    }
    Ok(v as u32)
}

/// Writes a feeder folder in the native format (used by the synthetic feeder generator) through
/// [`crate::util::atomic::Stage`]: staged, synced and swapped in, so a failure never leaves a
/// half-written feeder, and an existing folder is replaced only when netclear wrote it and `force`
/// is set.
pub fn write_dir(net: &Network, dir: &Path, force: bool) -> Result<()> {
    let stage = crate::util::atomic::Stage::new(dir, force)?;
    let fmt = crate::fmt_f64;
    let b = |v: bool| if v { "1" } else { "0" };

    let manifest = toml::to_string(&net.manifest).map_err(|e| Error::Numerical(e.to_string()))?;
    stage.write("network.toml", manifest.as_bytes())?;

    let mut s = String::from("id,name,vn_kv,type,zone,in_service,x,y\n");
    for bus in &net.buses {
        let (x, y) = bus.geo.map(|(x, y)| (fmt(x), fmt(y))).unwrap_or_default();
        s += &format!(
            "{},{},{},{},{},{},{},{}\n",
            bus.id.0,
            csv_text(&bus.name),
            fmt(bus.vn_kv),
            bus.kind,
            csv_text(&bus.zone),
            b(bus.in_service),
            x,
            y
        );
    }
    stage.write("buses.csv", s.as_bytes())?;

    // pandapower's own rating, where the feeder replaced it (cigre44), as an extra column.
    let pp_rating = net.lines.iter().any(|l| l.max_i_ka_pandapower.is_some());
    let mut s = String::from("id,name,std_type,from_bus,to_bus,length_km,r_ohm_per_km,x_ohm_per_km,c_nf_per_km,g_us_per_km,max_i_ka,df,parallel,type,in_service");
    s += if pp_rating {
        ",max_i_ka_pandapower\n"
    } else {
        "\n"
    };
    for l in &net.lines {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            l.id.0,
            csv_text(&l.name),
            csv_text(&l.std_type),
            l.from_bus.0,
            l.to_bus.0,
            fmt(l.length_km),
            fmt(l.r_ohm_per_km),
            fmt(l.x_ohm_per_km),
            fmt(l.c_nf_per_km),
            fmt(l.g_us_per_km),
            fmt(l.max_i_ka),
            fmt(l.df),
            l.parallel,
            l.kind,
            b(l.in_service)
        );
        if pp_rating {
            s += ",";
            s += &l.max_i_ka_pandapower.map(fmt).unwrap_or_default();
        }
        s += "\n";
    }
    stage.write("lines.csv", s.as_bytes())?;

    let mut s = String::from("id,name,std_type,hv_bus,lv_bus,sn_mva,vn_hv_kv,vn_lv_kv,vk_percent,vkr_percent,pfe_kw,i0_percent,shift_degree,tap_side,tap_neutral,tap_pos,tap_step_percent,parallel,df,vector_group,in_service\n");
    for t in &net.trafos {
        s += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            t.id.0,
            csv_text(&t.name),
            csv_text(&t.std_type),
            t.hv_bus.0,
            t.lv_bus.0,
            fmt(t.sn_mva),
            fmt(t.vn_hv_kv),
            fmt(t.vn_lv_kv),
            fmt(t.vk_percent),
            fmt(t.vkr_percent),
            fmt(t.pfe_kw),
            fmt(t.i0_percent),
            fmt(t.shift_degree),
            match t.tap_side {
                Some(TapSide::Hv) => "hv",
                Some(TapSide::Lv) => "lv",
                None => "",
            },
            fmt(t.tap_neutral),
            fmt(t.tap_pos),
            fmt(t.tap_step_percent),
            t.parallel,
            fmt(t.df),
            csv_text(&t.vector_group),
            b(t.in_service)
        );
    }
    stage.write("trafos.csv", s.as_bytes())?;

    let mut s = String::from("id,name,bus,vm_pu,va_degree,in_service\n");
    for e in &net.ext_grids {
        s += &format!(
            "{},{},{},{},{},{}\n",
            e.id.0,
            csv_text(&e.name),
            e.bus.0,
            fmt(e.vm_pu),
            fmt(e.va_degree),
            b(e.in_service)
        );
    }
    stage.write("ext_grid.csv", s.as_bytes())?;

    for (file, els) in [("loads.csv", &net.loads), ("sgen.csv", &net.sgens)] {
        let mut s = String::from("id,name,bus,p_mw,q_mvar,scaling,in_service\n");
        for e in els.iter() {
            s += &format!(
                "{},{},{},{},{},{},{}\n",
                e.id.0,
                csv_text(&e.name),
                e.bus.0,
                fmt(e.p_mw),
                fmt(e.q_mvar),
                fmt(e.scaling),
                b(e.in_service)
            );
        }
        stage.write(file, s.as_bytes())?;
    }

    if !net.switches.is_empty() {
        let mut s = String::from("id,name,bus,element,et,closed,z_ohm\n");
        for sw in &net.switches {
            let (el, et) = match sw.element {
                SwitchElement::Bus(b) => (b.0, "b"),
                SwitchElement::Line(l) => (l.0, "l"),
                SwitchElement::Trafo(t) => (t.0, "t"),
            };
            s += &format!(
                "{},{},{},{},{},{},{}\n",
                sw.id.0,
                csv_text(&sw.name),
                sw.bus.0,
                el,
                et,
                b(sw.closed),
                fmt(sw.z_ohm)
            );
        }
        stage.write("switches.csv", s.as_bytes())?;
    }

    stage.commit()
}

/// Quotes a text cell for CSV when it needs it.
pub(crate) fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
