//! The feeder as the user describes it: pandapower-style tables with unit-suffixed fields.
//!
//! This is the *user model*. It keeps every bus, switch and out-of-service element exactly as the
//! files state them, with the ids the files use ([`BusId`], [`LineId`], ...). The solvers never
//! see it directly: [`electrical::Grid`] derives the *electrical model* from it (closed bus-bus
//! switches fused, open switches and out-of-service elements removed, buses unreachable from the
//! slack dropped and reported), with an explicit mapping between the two
//! ([`electrical::Grid::node_of_bus`], [`electrical::Node::buses`]). Keeping the two apart is
//! what pandapower does too, and a frequent source of bugs when it is not done.
//!
//! # On-disk format
//!
//! One folder per feeder (see `networks/README.md`):
//!
//! | file | required | columns |
//! |---|---|---|
//! | `network.toml` | no | `name`, `title`, `sn_mva` (1.0), `f_hz` (50), `source`, `licence`, `aliases` |
//! | `buses.csv` | yes | `id, vn_kv`; optional `name, type, zone, in_service, x, y` |
//! | `lines.csv` | no | `id, from_bus, to_bus, length_km, r_ohm_per_km, x_ohm_per_km, max_i_ka`; optional `name, std_type, c_nf_per_km, g_us_per_km, df, parallel, type, in_service, max_i_ka_pandapower` |
//! | `trafos.csv` | no | `id, hv_bus, lv_bus, sn_mva, vn_hv_kv, vn_lv_kv, vk_percent, vkr_percent`; optional `pfe_kw, i0_percent, shift_degree, tap_side, tap_neutral, tap_pos, tap_step_percent, tap_changer_type, parallel, df, in_service, name, std_type, vector_group` |
//! | `ext_grid.csv` | yes | `id, bus`; optional `vm_pu` (1.0), `va_degree` (0), `in_service`, `name` |
//! | `loads.csv`, `sgen.csv` | no | `id, bus, p_mw`; optional `q_mvar, scaling, in_service, name` |
//! | `switches.csv` | no | `id, bus, element, et` (`b`/`l`/`t`), `closed`; optional `z_ohm, type, name` |
//!
//! # Other formats
//!
//! [`registry::resolve`] also reads a pandapower JSON file (`*.json`, [`pandapower`]) and a
//! MATPOWER case (`*.m`, caseformat 2, [`matpower`]); both are translated into the tables above
//! and validated by the same loader ([`io::load`]), so every rule lives in one place.
//! [`export`] writes a feeder as pandapower JSON, MATPOWER or a folder; [`whatif`] takes
//! elements out of service and reports what is cut off.
//!
//! # Sign convention
//!
//! Loads and static generators are stored as pandapower stores them: both with positive `p_mw`.
//! Everywhere else netclear uses the **generator convention** for nodal injections:
//! `p_inj = generation − load`, positive into the network. See [`crate`] docs.

mod bridge;
pub mod electrical;
pub mod export;
pub mod io;
pub mod matpower;
pub mod pandapower;
pub mod registry;
pub mod synthetic;
pub mod topology;
pub mod whatif;

use std::fmt;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident, $prefix:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// A bus id as written in `buses.csv` (pandapower's bus index).
    BusId, "bus "
);
id_type!(
    /// A line id as written in `lines.csv`.
    LineId, "line "
);
id_type!(
    /// A transformer id as written in `trafos.csv`.
    TrafoId, "trafo "
);
id_type!(
    /// A switch id as written in `switches.csv`.
    SwitchId, "switch "
);
id_type!(
    /// A load or static-generator id as written in `loads.csv` / `sgen.csv`.
    ElementId, "element "
);

/// Feeder metadata from `network.toml`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Short name used on the command line (`cigre44`).
    pub name: String,
    /// Human-readable title.
    #[serde(default)]
    pub title: String,
    /// Per-unit power base in MVA (pandapower's `net.sn_mva`).
    #[serde(default = "default_sn_mva")]
    pub sn_mva: f64,
    /// System frequency in Hz (line charging uses it).
    #[serde(default = "default_f_hz")]
    pub f_hz: f64,
    /// Where the data come from.
    #[serde(default)]
    pub source: String,
    /// Licence of the data.
    #[serde(default)]
    pub licence: String,
    /// Other names the feeder is known by (`cigre_lv`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

fn default_sn_mva() -> f64 {
    1.0
}
fn default_f_hz() -> f64 {
    50.0
}

impl Manifest {
    /// A manifest with defaults and the given name.
    pub fn named(name: impl Into<String>) -> Self {
        Manifest {
            name: name.into(),
            title: String::new(),
            sn_mva: 1.0,
            f_hz: 50.0,
            source: String::new(),
            licence: String::new(),
            aliases: Vec::new(),
        }
    }
}

/// A bus (`buses.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bus {
    /// Id from the file.
    pub id: BusId,
    /// Optional name.
    pub name: String,
    /// Nominal voltage (line-to-line), kV; the per-unit voltage base.
    pub vn_kv: f64,
    /// pandapower bus type (`b` busbar, `m` node, `n`).
    pub kind: String,
    /// Zone label.
    pub zone: String,
    /// Whether the bus is in service.
    pub in_service: bool,
    /// Drawing coordinates (geodata), if given.
    pub geo: Option<(f64, f64)>,
}

/// A line (`lines.csv`), modelled as a π equivalent.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Id from the file.
    pub id: LineId,
    /// Optional name.
    pub name: String,
    /// Standard type name (e.g. `NAYY 4x150 SE`).
    pub std_type: String,
    /// From-end bus.
    pub from_bus: BusId,
    /// To-end bus.
    pub to_bus: BusId,
    /// Length, km (> 0).
    pub length_km: f64,
    /// Series resistance per km, Ω/km (≥ 0).
    pub r_ohm_per_km: f64,
    /// Series reactance per km, Ω/km (> 0).
    pub x_ohm_per_km: f64,
    /// Shunt capacitance per km, nF/km (≥ 0).
    pub c_nf_per_km: f64,
    /// Shunt conductance per km, µS/km (≥ 0).
    pub g_us_per_km: f64,
    /// Thermal rating per circuit, kA (> 0). For cigre44 this is the realistic rating; see
    /// [`Line::max_i_ka_pandapower`].
    pub max_i_ka: f64,
    /// The rating pandapower itself holds, where the shipped feeder replaced it (cigre44's
    /// placeholder 1.0 kA). [`Network::with_pandapower_ratings`] switches back to it.
    pub max_i_ka_pandapower: Option<f64>,
    /// Derating factor (0, 1].
    pub df: f64,
    /// Number of parallel circuits (≥ 1).
    pub parallel: u32,
    /// `cs` cable or `ol` overhead.
    pub kind: String,
    /// Whether the line is in service.
    pub in_service: bool,
}

/// Which winding a ratio tap changer sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapSide {
    /// High-voltage winding.
    Hv,
    /// Low-voltage winding.
    Lv,
}

/// A two-winding transformer (`trafos.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trafo {
    /// Id from the file.
    pub id: TrafoId,
    /// Optional name.
    pub name: String,
    /// Standard type name.
    pub std_type: String,
    /// High-voltage bus.
    pub hv_bus: BusId,
    /// Low-voltage bus.
    pub lv_bus: BusId,
    /// Rated power, MVA (> 0).
    pub sn_mva: f64,
    /// Rated HV voltage, kV (> 0).
    pub vn_hv_kv: f64,
    /// Rated LV voltage, kV (> 0).
    pub vn_lv_kv: f64,
    /// Short-circuit voltage, % (> vkr_percent).
    pub vk_percent: f64,
    /// Real part of the short-circuit voltage, % (≥ 0).
    pub vkr_percent: f64,
    /// Iron losses, kW (≥ 0).
    pub pfe_kw: f64,
    /// Open-loop current, % (≥ 0).
    pub i0_percent: f64,
    /// Phase shift of the vector group, degrees.
    pub shift_degree: f64,
    /// Tap changer side, if the trafo has a ratio tap changer.
    pub tap_side: Option<TapSide>,
    /// Neutral tap position.
    pub tap_neutral: f64,
    /// Current tap position.
    pub tap_pos: f64,
    /// Voltage change per tap step, %.
    pub tap_step_percent: f64,
    /// Parallel units (≥ 1).
    pub parallel: u32,
    /// Derating factor (0, 1].
    pub df: f64,
    /// Vector group (informative).
    pub vector_group: String,
    /// Whether the trafo is in service.
    pub in_service: bool,
}

/// The slack (`ext_grid.csv`): the upstream grid holding voltage magnitude and angle.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtGrid {
    /// Id from the file.
    pub id: ElementId,
    /// Optional name.
    pub name: String,
    /// Bus the grid connects to.
    pub bus: BusId,
    /// Voltage set point, p.u.
    pub vm_pu: f64,
    /// Voltage angle, degrees.
    pub va_degree: f64,
    /// Whether it is in service.
    pub in_service: bool,
}

/// A constant-power load or static generator (`loads.csv`, `sgen.csv`). Both store positive
/// `p_mw` for their natural direction (load consumes, sgen produces), as pandapower does.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerElement {
    /// Id from the file.
    pub id: ElementId,
    /// Optional name.
    pub name: String,
    /// Bus it connects to.
    pub bus: BusId,
    /// Active power, MW (load: consumed; sgen: produced).
    pub p_mw: f64,
    /// Reactive power, Mvar (same orientation as `p_mw`).
    pub q_mvar: f64,
    /// Scaling factor applied to p and q.
    pub scaling: f64,
    /// Whether the element is in service.
    pub in_service: bool,
}

/// What a switch connects its bus to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchElement {
    /// Bus-bus switch (`et = b`).
    Bus(BusId),
    /// Line switch at `bus` (`et = l`).
    Line(LineId),
    /// Trafo switch at `bus` (`et = t`).
    Trafo(TrafoId),
}

/// A switch (`switches.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Switch {
    /// Id from the file.
    pub id: SwitchId,
    /// Optional name.
    pub name: String,
    /// The bus the switch sits at.
    pub bus: BusId,
    /// What it connects that bus to.
    pub element: SwitchElement,
    /// Whether it is closed.
    pub closed: bool,
    /// Impedance of a closed bus-bus switch, Ω (0 = fused).
    pub z_ohm: f64,
}

/// A feeder: the user model, exactly as its files describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Metadata.
    pub manifest: Manifest,
    /// Buses, in file order.
    pub buses: Vec<Bus>,
    /// Lines, in file order.
    pub lines: Vec<Line>,
    /// Transformers, in file order.
    pub trafos: Vec<Trafo>,
    /// External grids (exactly one in service after validation).
    pub ext_grids: Vec<ExtGrid>,
    /// Loads.
    pub loads: Vec<PowerElement>,
    /// Static generators.
    pub sgens: Vec<PowerElement>,
    /// Switches.
    pub switches: Vec<Switch>,
    /// Time series the feeder's file carries for its own loads and generators (SimBench
    /// profiles in a pandapower JSON); empty for every other source.
    pub own_series: OwnSeries,
}

/// The time series a feeder file carries for its elements, by kind
/// ([`crate::element_series::FeederSeries`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnSeries {
    /// Per load (positions in [`Network::loads`]).
    pub loads: Option<std::sync::Arc<crate::element_series::FeederSeries>>,
    /// Per static generator (positions in [`Network::sgens`]).
    pub sgens: Option<std::sync::Arc<crate::element_series::FeederSeries>>,
}

impl Network {
    /// The feeder's short name.
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// Position of a bus in [`Network::buses`].
    pub fn bus_index(&self, id: BusId) -> Option<usize> {
        // Bus ids are usually 0..n in order; try the fast path first.
        if id.0 >= 0 && (id.0 as usize) < self.buses.len() && self.buses[id.0 as usize].id == id {
            return Some(id.0 as usize);
        }
        self.buses.iter().position(|b| b.id == id)
    }

    /// A copy with every line's rating set back to the value pandapower holds
    /// ([`Line::max_i_ka_pandapower`]), for comparisons with pandapower results.
    pub fn with_pandapower_ratings(&self) -> Network {
        let mut n = self.clone();
        for l in &mut n.lines {
            if let Some(pp) = l.max_i_ka_pandapower {
                l.max_i_ka = pp;
            }
        }
        n
    }

    /// Total active power of in-service loads, MW (with scaling).
    pub fn total_load_p_mw(&self) -> f64 {
        self.loads
            .iter()
            .filter(|l| l.in_service)
            .map(|l| l.p_mw * l.scaling)
            .sum::<f64>()
            + 0.0
    }

    /// Total active power of in-service static generators, MW (with scaling).
    pub fn total_sgen_p_mw(&self) -> f64 {
        self.sgens
            .iter()
            .filter(|l| l.in_service)
            .map(|l| l.p_mw * l.scaling)
            .sum::<f64>()
            + 0.0
    }
}
