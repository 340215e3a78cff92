//! Reads pandapower networks saved with `pp.to_json(net, path)` (pandapower 2.x and 3.x).
//!
//! # The file format (checked on files written by pandapower 2.14.10 and 3.5.6)
//!
//! ```text
//! {"_module": "pandapower.auxiliary", "_class": "pandapowerNet",
//!  "_object": {"bus":  {"_module": "pandas.core.frame", "_class": "DataFrame",
//!                       "_object": "{\"columns\":[...],\"index\":[...],\"data\":[[...],...]}",
//!                       "orient": "split", "dtype": {...}},
//!              "line": {...}, ..., "version": "3.5.6", "format_version": "3.3.0",
//!              "sn_mva": 1, "f_hz": 50.0, "name": "", "std_types": {"line": {...}, "trafo": {...}},
//!              "res_bus": {...}, ...}}
//! ```
//!
//! Every table is a DataFrame whose `_object` is itself a JSON *string* in pandas' `split`
//! orient; NaN is written as `null`. pandapower writes every table, empty or not.
//!
//! Layout differences between the major versions that matter here:
//!
//! | | 2.x | 3.x |
//! |---|---|---|
//! | bus coordinates | separate `bus_geodata` table (`x`, `y`) | `bus.geo`, a GeoJSON `Point` string |
//! | trafo tap changer | `tap_phase_shifter` (bool); kind implied by the steps | `tap_changer_type` (`Ratio`, `Symmetrical`, `Ideal`, `Tabular` or null) |
//! | voltage-dependent loads | `const_z_percent`, `const_i_percent` | `const_{z,i}_{p,q}_percent` |
//!
//! A 2.x file is read as pandapower 3.5.6's `from_json` converts it (`convert_trafo_pst_logic`):
//! a tap with a non-zero `tap_step_percent` is a `Ratio` changer, one with only
//! `tap_step_degree` is `Ideal`, and one with neither has no changer.
//!
//! # What is read, and how
//!
//! `bus` (with coordinates), `line`, `trafo`, `switch`, `ext_grid`, `load`, `sgen` and `storage`
//! become the [`Network`] tables with pandapower's own values (floats exactly as the file
//! holds them). The tables are rendered as the folder format's CSV and validated by
//! [`super::io::load`] — the one place where feeder rules live (see `network::bridge`) — so a bad
//! value is reported as ``feeder.json: table `line`, index 7, row 8, field `length_km`: ...``.
//!
//! * **Storage** has no table of its own in netclear's model. pandapower's storage uses the load
//!   convention (`p_mw > 0` charges) and `runpp` adds `p_mw·scaling` and `q_mvar·scaling` to the
//!   bus demand exactly as for a load, so each in-service or out-of-service storage row becomes a
//!   load with the same `p_mw`, `q_mvar`, `scaling` and `in_service`. Its id is the next free
//!   load id (storage rows in file order after the largest load id), its name
//!   `storage <index>` (plus `: <name>` when it has one), so the provenance stays visible.
//! * **Tap changers**: pandapower ≥ 3 ignores a tap without `tap_changer_type` (ratio 1); so does
//!   this reader (the tap is read as absent). A `Ratio` changer is kept as in the folder format
//!   (a phase step `tap_step_degree` only at neutral). Other changer kinds are accepted only at
//!   their neutral position, where they change nothing, and are then read as absent.
//! * A `max_i_ka_pandapower` column (written by netclear's exporter for feeders whose rating
//!   netclear replaced, see [`super::Line::max_i_ka_pandapower`]) is read back; pandapower
//!   itself ignores it.
//! * **Standard types**: lines and trafos carry their parameters in their own rows. A
//!   `std_type` that the file's `std_types` does not define is accepted as a label as long as the
//!   row has its parameters; where a parameter is missing (null) it is taken from the standard
//!   type, and an *unknown* standard type with missing parameters is an error.
//! * **Not modelled, and so refused** when present and in service: `gen` (voltage-controlled
//!   PV buses), `trafo3w`, `impedance`, `ward`, `xward`, `dcline`, `shunt`, `motor`,
//!   `asymmetric_load`, `asymmetric_sgen`, `svc`, `ssc`, `tcsc`, `vsc`, the DC tables, and
//!   voltage-dependent (ZIP) loads. Each is an error naming the table, never silently dropped.
//!   Result tables, controllers, costs, measurements and groups are ignored (`runpp` does not run
//!   controllers either unless asked to).
//! * Bus indices may have gaps (pandapower allows it: ids are kept as they are); a reference to a
//!   bus that does not exist is an error.
//!
//! Sources: pandapower's `io_utils.py` (`to_serializable`, `FromSerializableRegistry`),
//! `convert_format.py` and `build_bus.py` (`_calc_pq_elements_and_add_on_ppc`), version 3.5.6.

use super::bridge::{flag, num, text, CsvTable, MemSource, Origin};
use super::{Manifest, Network};
use crate::error::{Error, Location, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

/// Element tables netclear does not model, with what the user can do about them.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "gen",
        "voltage-controlled generators (PV buses) are not modelled; use sgen (PQ) instead",
    ),
    ("trafo3w", "three-winding transformers are not modelled"),
    ("impedance", "impedance elements are not modelled"),
    ("ward", "ward equivalents are not modelled"),
    ("xward", "extended ward equivalents are not modelled"),
    ("dcline", "DC lines are not modelled"),
    ("shunt", "shunt elements are not modelled"),
    ("motor", "motors are not modelled"),
    (
        "asymmetric_load",
        "unbalanced loads are not modelled (netclear is balanced three-phase)",
    ),
    (
        "asymmetric_sgen",
        "unbalanced sgens are not modelled (netclear is balanced three-phase)",
    ),
    ("svc", "SVCs are not modelled"),
    ("ssc", "SSCs are not modelled"),
    ("tcsc", "TCSCs are not modelled"),
    ("vsc", "VSC converters are not modelled"),
    ("vsc_stacked", "VSC converters are not modelled"),
    ("vsc_bipolar", "VSC converters are not modelled"),
    ("bus_dc", "DC grids are not modelled"),
    ("line_dc", "DC grids are not modelled"),
    ("source_dc", "DC grids are not modelled"),
    ("load_dc", "DC grids are not modelled"),
];

/// Reads a pandapower JSON file.
pub fn load_json(path: &Path) -> Result<Network> {
    let text = crate::util::limits::read_text(path, crate::util::limits::MAX_DATA_BYTES)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "network".into());
    parse_json(&path.display().to_string(), &text, &name)
}

/// Reads pandapower JSON text; `label` names the file in errors, `default_name` is the feeder
/// name when the file's `name` is empty.
pub fn parse_json(label: &str, text: &str, default_name: &str) -> Result<Network> {
    let file = || Location::file(label);
    let top: Value = serde_json::from_str(text).map_err(|e| Error::Malformed {
        loc: file(),
        msg: format!("not valid JSON: {e}"),
    })?;
    let class = top.get("_class").and_then(Value::as_str);
    let obj = match (class, top.get("_object")) {
        (Some("pandapowerNet"), Some(Value::Object(o))) => o,
        (Some("pandapowerNet"), Some(Value::String(_))) => {
            return Err(Error::invalid(
                file(),
                "an old pandapower layout (the whole net as one JSON string, pandapower < 2) is not supported: load it in pandapower 2.x or 3.x and save it again with to_json",
            ))
        }
        _ => {
            return Err(Error::invalid(
                file(),
                "not a pandapower network: expected {\"_class\": \"pandapowerNet\", \"_object\": {...}} as written by pandapower's to_json",
            ))
        }
    };
    let version = obj
        .get("version")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(file().field("version"), "no pandapower version"))?;
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    if !matches!(major, Some(2) | Some(3)) {
        return Err(Error::invalid(
            file().field("version"),
            format!(
                "pandapower file format version `{version}` is not supported (2.x and 3.x are)"
            ),
        ));
    }
    let r = Reader {
        label,
        obj,
        major: major.unwrap_or(3),
    };
    r.read(default_name)
}

/// One DataFrame in split orient.
struct Frame {
    table: String,
    columns: HashMap<String, usize>,
    index: Vec<i64>,
    data: Vec<Vec<Value>>,
}

impl Frame {
    fn get(&self, row: usize, col: &str) -> Option<&Value> {
        let c = *self.columns.get(col)?;
        self.data.get(row).and_then(|r| r.get(c))
    }
    fn has(&self, col: &str) -> bool {
        self.columns.contains_key(col)
    }
    fn len(&self) -> usize {
        self.data.len()
    }
    fn row_label(&self, row: usize) -> String {
        format!("index {}", self.index.get(row).copied().unwrap_or_default())
    }
    /// Whether row `row` is in service (no column means in service).
    fn in_service(&self, row: usize) -> bool {
        !matches!(self.get(row, "in_service"), Some(Value::Bool(false)))
    }
}

struct Reader<'a> {
    label: &'a str,
    obj: &'a Map<String, Value>,
    major: u32,
}

impl Reader<'_> {
    fn table_loc(&self, table: &str) -> Location {
        Location::file(format!("{}: table `{table}`", self.label))
    }

    /// The DataFrame `name`, `None` when the file has no such table.
    fn frame(&self, name: &str) -> Result<Option<Frame>> {
        match self.obj.get(name) {
            Some(v) => self.frame_of(name, v).map(Some),
            None => Ok(None),
        }
    }

    /// The DataFrame `v`, named `name` in errors.
    fn frame_of(&self, name: &str, v: &Value) -> Result<Frame> {
        let loc = || self.table_loc(name);
        let Some(class) = v.get("_class").and_then(Value::as_str) else {
            return Err(Error::Malformed {
                loc: loc(),
                msg: "not a DataFrame (no `_class`)".into(),
            });
        };
        if class != "DataFrame" {
            return Err(Error::Malformed {
                loc: loc(),
                msg: format!("a `{class}`, expected a pandas DataFrame"),
            });
        }
        if let Some(o) = v.get("orient").and_then(Value::as_str) {
            if o != "split" {
                return Err(Error::Malformed {
                    loc: loc(),
                    msg: format!(
                        "DataFrame orient `{o}` is not supported (pandapower writes `split`)"
                    ),
                });
            }
        }
        let inner = v
            .get("_object")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Malformed {
                loc: loc(),
                msg: "the DataFrame has no `_object` string".into(),
            })?;
        let inner: Value = serde_json::from_str(inner).map_err(|e| Error::Malformed {
            loc: loc(),
            msg: format!("the DataFrame's `_object` is not valid JSON: {e}"),
        })?;
        let list = |k: &str| -> Result<Vec<Value>> {
            match inner.get(k) {
                Some(Value::Array(a)) => Ok(a.clone()),
                _ => Err(Error::Malformed {
                    loc: loc(),
                    msg: format!("the DataFrame has no `{k}` list (split orient)"),
                }),
            }
        };
        let cols = list("columns")?;
        let mut columns = HashMap::new();
        for (i, c) in cols.iter().enumerate() {
            let Some(c) = c.as_str() else {
                return Err(Error::Malformed {
                    loc: loc(),
                    msg: format!("column {} has no text name", i + 1),
                });
            };
            columns.insert(c.to_string(), i);
        }
        let idx = list("index")?;
        let data = list("data")?;
        if idx.len() != data.len() {
            return Err(Error::Malformed {
                loc: loc(),
                msg: format!("{} index entries for {} data rows", idx.len(), data.len()),
            });
        }
        let mut index = Vec::with_capacity(idx.len());
        let mut rows = Vec::with_capacity(data.len());
        for (k, (i, row)) in idx.iter().zip(data).enumerate() {
            let Some(i) = as_int(i) else {
                return Err(Error::Parse {
                    loc: loc().row(k as u64 + 1).field("index"),
                    value: i.to_string(),
                    expected: "an integer index",
                });
            };
            let Value::Array(row) = row else {
                return Err(Error::Malformed {
                    loc: loc().row(k as u64 + 1),
                    msg: "a data row is not a list".into(),
                });
            };
            if row.len() != cols.len() {
                return Err(Error::Malformed {
                    loc: Location::file(format!("{}, index {i}", loc().file)).row(k as u64 + 1),
                    msg: format!("{} values for {} columns", row.len(), cols.len()),
                });
            }
            index.push(i);
            rows.push(row);
        }
        Ok(Frame {
            table: name.to_string(),
            columns,
            index,
            data: rows,
        })
    }

    fn origin(&self, f: &Frame) -> Origin {
        Origin {
            table: format!("{}: table `{}`", self.label, f.table),
            rows: (0..f.len())
                .map(|k| {
                    (
                        format!("{}: table `{}`, {}", self.label, f.table, f.row_label(k)),
                        k as u64 + 1,
                    )
                })
                .collect(),
            fields: [("id".to_string(), "index".to_string())].into(),
        }
    }

    /// The standard types of `kind` (`line`, `trafo`) the file defines.
    fn std_types(&self, kind: &str) -> Option<&Map<String, Value>> {
        self.obj
            .get("std_types")
            .and_then(|s| s.get(kind))
            .and_then(Value::as_object)
    }

    fn read(&self, default_name: &str) -> Result<Network> {
        for (table, why) in UNSUPPORTED {
            if let Some(f) = self.frame(table)? {
                let active: Vec<i64> = (0..f.len())
                    .filter(|&k| f.in_service(k))
                    .map(|k| f.index[k])
                    .collect();
                if !active.is_empty() {
                    return Err(Error::invalid(
                        self.table_loc(table),
                        format!(
                            "{} in-service element(s) (index {}): {why}; take them out of service or remove them",
                            active.len(),
                            list_ids(&active)
                        ),
                    ));
                }
            }
        }

        let mut src = MemSource::default();
        let scalar = |k: &str, default: f64| -> Result<f64> {
            match self.obj.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v.as_f64().ok_or_else(|| Error::Parse {
                    loc: Location::file(self.label).field(k),
                    value: v.to_string(),
                    expected: "a number",
                }),
            }
        };
        let title = self
            .obj
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let manifest = Manifest {
            name: default_name.to_string(),
            title,
            sn_mva: scalar("sn_mva", 1.0)?,
            f_hz: scalar("f_hz", 50.0)?,
            source: format!(
                "pandapower JSON {} (pandapower {})",
                self.label,
                self.obj
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
            ),
            licence: String::new(),
            aliases: Vec::new(),
        };
        let toml = toml::to_string(&manifest).map_err(|e| Error::Numerical(e.to_string()))?;
        src.add(
            "network.toml",
            toml,
            Origin {
                table: self.label.to_string(),
                rows: Vec::new(),
                fields: HashMap::new(),
            },
        );

        let bus = self
            .frame("bus")?
            .ok_or_else(|| Error::invalid(Location::file(self.label), "no `bus` table"))?;
        self.buses(&bus, &mut src)?;
        if let Some(f) = self.frame("line")? {
            self.lines(&f, &mut src)?;
        }
        if let Some(f) = self.frame("trafo")? {
            self.trafos(&f, &mut src)?;
        }
        let eg = self.frame("ext_grid")?.ok_or_else(|| {
            Error::invalid(Location::file(self.label), "no `ext_grid` table: no slack")
        })?;
        let mut t = CsvTable::new(&["id", "name", "bus", "vm_pu", "va_degree", "in_service"]);
        for k in 0..eg.len() {
            t.push(&[
                eg.index[k].to_string(),
                self.text_cell(&eg, k, "name"),
                self.cell(&eg, k, "bus", true),
                self.cell(&eg, k, "vm_pu", true),
                self.cell(&eg, k, "va_degree", true),
                flag(eg.in_service(k)),
            ]);
        }
        src.add("ext_grid.csv", t.finish(), self.origin(&eg));
        self.loads_and_storage(&mut src)?;
        if let Some(f) = self.frame("sgen")? {
            let mut t = CsvTable::new(&[
                "id",
                "name",
                "bus",
                "p_mw",
                "q_mvar",
                "scaling",
                "in_service",
            ]);
            for k in 0..f.len() {
                t.push(&self.power_row(&f, k, f.index[k], self.text_cell(&f, k, "name")));
            }
            src.add("sgen.csv", t.finish(), self.origin(&f));
        }
        if let Some(f) = self.frame("switch")? {
            let mut t = CsvTable::new(&["id", "name", "bus", "element", "et", "closed", "z_ohm"]);
            for k in 0..f.len() {
                t.push(&[
                    f.index[k].to_string(),
                    self.text_cell(&f, k, "name"),
                    self.cell(&f, k, "bus", true),
                    self.cell(&f, k, "element", true),
                    self.text_cell(&f, k, "et"),
                    self.cell(&f, k, "closed", true),
                    self.cell(&f, k, "z_ohm", false),
                ]);
            }
            src.add("switches.csv", t.finish(), self.origin(&f));
        }
        let mut net = super::io::load(&src, default_name).map_err(|e| src.relocate(e))?;
        net.own_series = self.own_series(&net)?;
        Ok(net)
    }

    /// SimBench's `profiles` ([`crate::element_series::FeederSeries`]): the load and static
    /// generator series their `profile` columns name. A file without `profiles` has none; a
    /// `profile` naming a column the profiles do not have is an error.
    fn own_series(&self, net: &Network) -> Result<super::OwnSeries> {
        let Some(profiles) = self.obj.get("profiles") else {
            return Ok(Default::default());
        };
        let Some(profiles) = profiles.as_object() else {
            return Err(Error::Malformed {
                loc: self.table_loc("profiles"),
                msg: "`profiles` is not an object of DataFrames".into(),
            });
        };
        let mut frames = HashMap::new();
        for kind in ["load", "renewables", "powerplants"] {
            if let Some(v) = profiles.get(kind) {
                frames.insert(kind, self.frame_of(&format!("profiles.{kind}"), v)?);
            }
        }
        let mut out = super::OwnSeries::default();
        let kinds: [(&str, &[&str], &str, usize); 2] = [
            ("load", &["load"], "_pload", net.loads.len()),
            ("sgen", &["renewables", "powerplants"], "", net.sgens.len()),
        ];
        for (table, sources, suffix, n_elements) in kinds {
            let Some(f) = self.frame(table)? else {
                continue;
            };
            if !f.has("profile") {
                continue;
            }
            let mut columns: Vec<(String, Vec<f64>)> = Vec::new();
            let mut element_column = vec![None; n_elements];
            let mut source: Option<&str> = None;
            let mut times = Vec::new();
            for k in 0..f.len() {
                let name = match f.get(k, "profile") {
                    Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                    _ => continue,
                };
                let want = format!("{name}{suffix}");
                let found = sources
                    .iter()
                    .find(|s| frames.get(**s).is_some_and(|p| p.has(&want)));
                let Some(&src_kind) = found else {
                    return Err(Error::invalid(
                        Location::file(format!(
                            "{}: table `{table}`, {}",
                            self.label,
                            f.row_label(k)
                        ))
                        .row(k as u64 + 1)
                        .field("profile"),
                        format!(
                            "profile `{name}` has no column `{want}` in `profiles.{}`",
                            sources.join("` or `profiles.")
                        ),
                    ));
                };
                if source.is_some_and(|s| s != src_kind) {
                    return Err(Error::invalid(
                        Location::file(format!("{}: table `{table}`, {}", self.label, f.row_label(k)))
                            .row(k as u64 + 1)
                            .field("profile"),
                        "the generators' profiles come from two tables with different clocks (renewables and powerplants); netclear reads one",
                    ));
                }
                let pf = &frames[src_kind];
                if source.is_none() {
                    times = self.profile_times(pf)?;
                    source = Some(src_kind);
                }
                let c = match columns.iter().position(|(n, _)| *n == want) {
                    Some(c) => c,
                    None => {
                        columns.push((want.clone(), self.profile_column(pf, &want)?));
                        columns.len() - 1
                    }
                };
                // Rows of the frame are the feeder's elements in order (loads first, then
                // storage, in `Network::loads`).
                if let Some(slot) = element_column.get_mut(k) {
                    *slot = Some(c);
                }
            }
            let Some(src_kind) = source else {
                continue;
            };
            let series = crate::element_series::FeederSeries::new(
                format!("{}: profiles.{src_kind}", self.label),
                &times,
                columns,
                element_column,
            )?;
            let series = Some(std::sync::Arc::new(series));
            if table == "load" {
                out.loads = series;
            } else {
                out.sgens = series;
            }
        }
        Ok(out)
    }

    /// The `time` column of a SimBench profile table (`DD.MM.YYYY HH:MM`) as (day, minute).
    fn profile_times(&self, f: &Frame) -> Result<Vec<(i64, u32)>> {
        (0..f.len())
            .map(|k| {
                let bad = |v: String| Error::Parse {
                    loc: self.table_loc(&f.table).row(k as u64 + 1).field("time"),
                    value: v,
                    expected: "a time `DD.MM.YYYY HH:MM`",
                };
                let Some(Value::String(s)) = f.get(k, "time") else {
                    return Err(bad(format!("{:?}", f.get(k, "time"))));
                };
                simbench_time(s).ok_or_else(|| bad(s.clone()))
            })
            .collect()
    }

    /// A numeric column of a profile table.
    fn profile_column(&self, f: &Frame, col: &str) -> Result<Vec<f64>> {
        (0..f.len())
            .map(|k| match f.get(k, col).and_then(Value::as_f64) {
                Some(v) => Ok(v),
                None => Err(Error::Parse {
                    loc: self.table_loc(&f.table).row(k as u64 + 1).field(col),
                    value: format!("{:?}", f.get(k, col)),
                    expected: "a number",
                }),
            })
            .collect()
    }

    /// A numeric (or boolean) cell. `required`: a null becomes `NaN` so that the loader reports
    /// it as not finite; otherwise null is an empty cell (the folder format's default).
    fn cell(&self, f: &Frame, k: usize, col: &str, required: bool) -> String {
        match f.get(k, col) {
            None | Some(Value::Null) => {
                if required {
                    "NaN".into()
                } else {
                    String::new()
                }
            }
            Some(Value::Bool(b)) => flag(*b),
            Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => i.to_string(),
                (None, Some(v)) => num(v),
                _ => n.to_string(),
            },
            // Text where a number belongs: pass it on, the loader names it.
            Some(Value::String(s)) => text(s),
            Some(other) => text(&other.to_string()),
        }
    }

    fn text_cell(&self, f: &Frame, k: usize, col: &str) -> String {
        match f.get(k, col) {
            Some(Value::String(s)) => text(s),
            Some(Value::Null) | None => String::new(),
            Some(v) => text(&v.to_string()),
        }
    }

    fn buses(&self, f: &Frame, src: &mut MemSource) -> Result<()> {
        // 2.x keeps coordinates in `bus_geodata`, indexed by bus.
        let mut geo2: HashMap<i64, (f64, f64)> = HashMap::new();
        if self.major < 3 {
            if let Ok(Some(g)) = self.frame("bus_geodata") {
                for k in 0..g.len() {
                    if let (Some(x), Some(y)) = (
                        g.get(k, "x").and_then(Value::as_f64),
                        g.get(k, "y").and_then(Value::as_f64),
                    ) {
                        geo2.insert(g.index[k], (x, y));
                    }
                }
            }
        }
        let mut t = CsvTable::new(&[
            "id",
            "name",
            "vn_kv",
            "type",
            "zone",
            "in_service",
            "x",
            "y",
        ]);
        for k in 0..f.len() {
            let id = f.index[k];
            // Coordinates are for drawing only: unreadable geodata is left out, not an error.
            let xy = match f.get(k, "geo") {
                Some(Value::String(s)) => geojson_point(s),
                _ => geo2.get(&id).copied(),
            };
            let (x, y) = xy.map(|(x, y)| (num(x), num(y))).unwrap_or_default();
            t.push(&[
                id.to_string(),
                self.text_cell(f, k, "name"),
                self.cell(f, k, "vn_kv", true),
                self.text_cell(f, k, "type"),
                self.text_cell(f, k, "zone"),
                flag(f.in_service(k)),
                x,
                y,
            ]);
        }
        src.add("buses.csv", t.finish(), self.origin(f));
        Ok(())
    }

    /// A parameter of a line or trafo row: its own value, else the standard type's, else an
    /// error when the standard type is unknown.
    fn param(
        &self,
        f: &Frame,
        k: usize,
        col: &str,
        types: Option<&Map<String, Value>>,
        required: bool,
    ) -> Result<String> {
        if !matches!(f.get(k, col), None | Some(Value::Null)) {
            return Ok(self.cell(f, k, col, required));
        }
        let st = f.get(k, "std_type").and_then(Value::as_str);
        let Some(st) = st else {
            return Ok(self.cell(f, k, col, required));
        };
        let ty = types.and_then(|t| t.get(st));
        match ty.and_then(|t| t.get(col)) {
            Some(Value::Number(n)) => Ok(n.as_f64().map(num).unwrap_or_default()),
            Some(Value::String(s)) => Ok(text(s)),
            _ if ty.is_none() && required => Err(Error::invalid(
                Location::file(format!(
                    "{}: table `{}`, {}",
                    self.label,
                    f.table,
                    f.row_label(k)
                ))
                .row(k as u64 + 1)
                .field(col),
                format!(
                    "unknown std_type `{st}` (not in the file's std_types.{}) and no `{col}` of its own",
                    f.table
                ),
            )),
            _ => Ok(self.cell(f, k, col, required)),
        }
    }

    fn lines(&self, f: &Frame, src: &mut MemSource) -> Result<()> {
        let types = self.std_types("line");
        let mut t = CsvTable::new(&[
            "id",
            "name",
            "std_type",
            "from_bus",
            "to_bus",
            "length_km",
            "r_ohm_per_km",
            "x_ohm_per_km",
            "c_nf_per_km",
            "g_us_per_km",
            "max_i_ka",
            "df",
            "parallel",
            "type",
            "in_service",
            "max_i_ka_pandapower",
        ]);
        for k in 0..f.len() {
            let p = |c: &str, req: bool| self.param(f, k, c, types, req);
            t.push(&[
                f.index[k].to_string(),
                self.text_cell(f, k, "name"),
                self.text_cell(f, k, "std_type"),
                self.cell(f, k, "from_bus", true),
                self.cell(f, k, "to_bus", true),
                self.cell(f, k, "length_km", true),
                p("r_ohm_per_km", true)?,
                p("x_ohm_per_km", true)?,
                p("c_nf_per_km", true)?,
                // Older files have no shunt conductance: 0.
                p("g_us_per_km", false)?,
                p("max_i_ka", true)?,
                self.cell(f, k, "df", false),
                self.cell(f, k, "parallel", false),
                p("type", false)?,
                flag(f.in_service(k)),
                self.cell(f, k, "max_i_ka_pandapower", false),
            ]);
        }
        src.add("lines.csv", t.finish(), self.origin(f));
        Ok(())
    }

    fn trafos(&self, f: &Frame, src: &mut MemSource) -> Result<()> {
        let types = self.std_types("trafo");
        let mut t = CsvTable::new(&[
            "id",
            "name",
            "std_type",
            "hv_bus",
            "lv_bus",
            "sn_mva",
            "vn_hv_kv",
            "vn_lv_kv",
            "vk_percent",
            "vkr_percent",
            "pfe_kw",
            "i0_percent",
            "shift_degree",
            "tap_side",
            "tap_neutral",
            "tap_pos",
            "tap_step_percent",
            "tap_changer_type",
            "tap_dependency_table",
            "parallel",
            "df",
            "vector_group",
            "in_service",
        ]);
        for k in 0..f.len() {
            let p = |c: &str, req: bool| self.param(f, k, c, types, req);
            let loc = |field: &str| {
                Location::file(format!("{}: table `trafo`, {}", self.label, f.row_label(k)))
                    .row(k as u64 + 1)
                    .field(field)
            };
            let fnum = |c: &str| f.get(k, c).and_then(Value::as_f64);
            let step_pct = fnum("tap_step_percent").unwrap_or(0.0);
            let step_deg = fnum("tap_step_degree").unwrap_or(0.0);
            // The changer kind, as pandapower 3.5.6 sees it (2.x: convert_trafo_pst_logic).
            let kind: Option<String> = if self.major >= 3 {
                f.get(k, "tap_changer_type")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            } else if step_pct != 0.0 && step_deg == 90.0 {
                Some("Symmetrical".into())
            } else if step_pct != 0.0 {
                Some("Ratio".into())
            } else if step_deg != 0.0 {
                Some("Ideal".into())
            } else {
                None
            };
            let neutral = fnum("tap_neutral").unwrap_or(0.0);
            let at_neutral = fnum("tap_pos").is_none_or(|pos| pos == neutral);
            let apply = match kind.as_deref() {
                None => false,
                Some("Ratio") if step_deg == 0.0 || at_neutral => true,
                Some(_) if at_neutral => false,
                Some("Ratio") => {
                    return Err(Error::invalid(
                        loc("tap_step_degree"),
                        "a ratio tap changer with a phase step (tap_step_degree) off its neutral position is not supported",
                    ))
                }
                Some(other) => {
                    return Err(Error::invalid(
                        loc("tap_changer_type"),
                        format!("tap changer type `{other}` off its neutral position is not supported (only `Ratio`)"),
                    ))
                }
            };
            let tap = |c: &str| {
                if apply {
                    self.cell(f, k, c, false)
                } else {
                    String::new()
                }
            };
            t.push(&[
                f.index[k].to_string(),
                self.text_cell(f, k, "name"),
                self.text_cell(f, k, "std_type"),
                self.cell(f, k, "hv_bus", true),
                self.cell(f, k, "lv_bus", true),
                p("sn_mva", true)?,
                p("vn_hv_kv", true)?,
                p("vn_lv_kv", true)?,
                p("vk_percent", true)?,
                p("vkr_percent", true)?,
                p("pfe_kw", true)?,
                p("i0_percent", true)?,
                p("shift_degree", true)?,
                if apply {
                    self.text_cell(f, k, "tap_side")
                } else {
                    String::new()
                },
                tap("tap_neutral"),
                tap("tap_pos"),
                tap("tap_step_percent"),
                if apply { "Ratio".into() } else { String::new() },
                self.cell(f, k, "tap_dependency_table", false),
                self.cell(f, k, "parallel", false),
                self.cell(f, k, "df", false),
                p("vector_group", false)?,
                flag(f.in_service(k)),
            ]);
        }
        src.add("trafos.csv", t.finish(), self.origin(f));
        Ok(())
    }

    fn power_row(&self, f: &Frame, k: usize, id: i64, name: String) -> Vec<String> {
        vec![
            id.to_string(),
            name,
            self.cell(f, k, "bus", true),
            self.cell(f, k, "p_mw", true),
            self.cell(f, k, "q_mvar", true),
            self.cell(f, k, "scaling", true),
            flag(f.in_service(k)),
        ]
    }

    fn loads_and_storage(&self, src: &mut MemSource) -> Result<()> {
        let load = self.frame("load")?;
        let storage = self.frame("storage")?;
        if load.is_none() && storage.is_none() {
            return Ok(());
        }
        let mut t = CsvTable::new(&[
            "id",
            "name",
            "bus",
            "p_mw",
            "q_mvar",
            "scaling",
            "in_service",
        ]);
        let mut rows = Vec::new();
        let mut next_id = 0i64;
        if let Some(f) = &load {
            let zip: &[&str] = if f.has("const_z_p_percent") {
                &[
                    "const_z_p_percent",
                    "const_i_p_percent",
                    "const_z_q_percent",
                    "const_i_q_percent",
                ]
            } else {
                &["const_z_percent", "const_i_percent"]
            };
            for k in 0..f.len() {
                for c in zip {
                    let v = f.get(k, c).and_then(Value::as_f64).unwrap_or(0.0);
                    if v != 0.0 && f.in_service(k) {
                        return Err(Error::invalid(
                            Location::file(format!("{}: table `load`, {}", self.label, f.row_label(k)))
                                .row(k as u64 + 1)
                                .field(*c),
                            format!("{v} %: voltage-dependent (ZIP) loads are not modelled, only constant power"),
                        ));
                    }
                }
                t.push(&self.power_row(f, k, f.index[k], self.text_cell(f, k, "name")));
                rows.push((
                    format!("{}: table `load`, {}", self.label, f.row_label(k)),
                    k as u64 + 1,
                ));
                next_id = next_id.max(f.index[k] + 1);
            }
        }
        if let Some(f) = &storage {
            for k in 0..f.len() {
                let own = match f.get(k, "name") {
                    Some(Value::String(s)) if !s.is_empty() => format!(": {s}"),
                    _ => String::new(),
                };
                let name = text(&format!("storage {}{own}", f.index[k]));
                t.push(&self.power_row(f, k, next_id, name));
                rows.push((
                    format!("{}: table `storage`, {}", self.label, f.row_label(k)),
                    k as u64 + 1,
                ));
                next_id += 1;
            }
        }
        src.add(
            "loads.csv",
            t.finish(),
            Origin {
                table: format!("{}: tables `load`, `storage`", self.label),
                rows,
                fields: [("id".to_string(), "index".to_string())].into(),
            },
        );
        Ok(())
    }
}

/// An integer JSON value (pandas may write an integer index as `3.0`).
fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
}

/// The coordinates of a GeoJSON `Point` string.
fn geojson_point(s: &str) -> Option<(f64, f64)> {
    let v: Value = serde_json::from_str(s).ok()?;
    if v.get("type").and_then(Value::as_str) != Some("Point") {
        return None;
    }
    let c = v.get("coordinates")?.as_array()?;
    Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
}

fn list_ids(ids: &[i64]) -> String {
    let mut s: Vec<String> = ids.iter().take(5).map(|i| i.to_string()).collect();
    if ids.len() > 5 {
        s.push("…".into());
    }
    s.join(", ")
}

/// SimBench's `DD.MM.YYYY HH:MM` as (days since 1970-01-01, minute of the day).
fn simbench_time(s: &str) -> Option<(i64, u32)> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('.');
    let (dd, mm, yyyy) = (d.next()?, d.next()?, d.next()?);
    if d.next().is_some() || dd.len() != 2 || mm.len() != 2 || yyyy.len() != 4 {
        return None;
    }
    let day = crate::util::dates::parse(&format!("{yyyy}-{mm}-{dd}"))?;
    let (h, m) = time.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    (h < 24 && m < 60).then_some((day, h * 60 + m))
}
