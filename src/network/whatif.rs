//! What-if studies: take elements out of service and see what is cut off.
//!
//! [`outage`] returns a modified copy of the user model — the elements named are out of service
//! (a switch is *opened*: pandapower's switches have no `in_service`, and an open switch is what
//! takes it out) — together with what the electrical model then drops: buses no in-service path
//! connects to the slack (the same report as [`Grid::dropped_buses`]) and the loads and sgens
//! standing on them (islanded, and so not supplied). The modified network is an ordinary
//! [`Network`]: power flow, clearing and studies run on it unchanged.
//!
//! Elements are named `kind:id` with the ids of the feeder's tables: `bus:7`, `line:3`,
//! `trafo:0`, `switch:2`, `load:5`, `sgen:1`. The slack (`ext_grid`) cannot be taken out: a
//! feeder without one has no power flow.

use super::electrical::{DropReason, Grid};
use super::{BusId, ElementId, LineId, Network, SwitchId, TrafoId};
use crate::error::{Error, Location, Result};

/// One element of the user model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementRef {
    /// A bus.
    Bus(BusId),
    /// A line.
    Line(LineId),
    /// A two-winding transformer.
    Trafo(TrafoId),
    /// A switch (taken out = opened).
    Switch(SwitchId),
    /// A load.
    Load(ElementId),
    /// A static generator.
    Sgen(ElementId),
}

impl std::fmt::Display for ElementRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElementRef::Bus(b) => write!(f, "bus:{}", b.0),
            ElementRef::Line(l) => write!(f, "line:{}", l.0),
            ElementRef::Trafo(t) => write!(f, "trafo:{}", t.0),
            ElementRef::Switch(s) => write!(f, "switch:{}", s.0),
            ElementRef::Load(e) => write!(f, "load:{}", e.0),
            ElementRef::Sgen(e) => write!(f, "sgen:{}", e.0),
        }
    }
}

impl std::str::FromStr for ElementRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<ElementRef> {
        let loc = || Location::file("what-if").field(s.to_string());
        let (kind, id) = s.split_once(':').ok_or_else(|| Error::Parse {
            loc: loc(),
            value: s.to_string(),
            expected: "`kind:id`, e.g. `line:3`",
        })?;
        let id: i64 = id.trim().parse().map_err(|_| Error::Parse {
            loc: loc(),
            value: id.to_string(),
            expected: "an integer id",
        })?;
        Ok(match kind.trim() {
            "bus" => ElementRef::Bus(BusId(id)),
            "line" => ElementRef::Line(LineId(id)),
            "trafo" => ElementRef::Trafo(TrafoId(id)),
            "switch" => ElementRef::Switch(SwitchId(id)),
            "load" => ElementRef::Load(ElementId(id)),
            "sgen" => ElementRef::Sgen(ElementId(id)),
            "ext_grid" => {
                return Err(Error::invalid(
                    loc(),
                    "the slack (ext_grid) cannot be taken out of service",
                ))
            }
            other => {
                return Err(Error::Parse {
                    loc: loc(),
                    value: other.to_string(),
                    expected: "bus, line, trafo, switch, load or sgen",
                })
            }
        })
    }
}

/// A load or sgen left without supply.
#[derive(Debug, Clone, PartialEq)]
pub struct Islanded {
    /// Its id.
    pub id: ElementId,
    /// The bus it stands on.
    pub bus: BusId,
    /// Its active power (with scaling), MW, in its natural direction.
    pub p_mw: f64,
    /// Its reactive power (with scaling), Mvar.
    pub q_mvar: f64,
}

/// The result of an outage.
#[derive(Debug, Clone)]
pub struct Outage {
    /// The network with the elements out of service.
    pub network: Network,
    /// Buses not in the electrical model, with the reason (as [`Grid::dropped_buses`]).
    pub dropped_buses: Vec<(BusId, DropReason)>,
    /// In-service loads on dropped buses.
    pub islanded_loads: Vec<Islanded>,
    /// In-service sgens on dropped buses.
    pub islanded_sgens: Vec<Islanded>,
}

impl Outage {
    /// Total islanded (unsupplied) load, MW.
    pub fn islanded_load_p_mw(&self) -> f64 {
        self.islanded_loads.iter().map(|l| l.p_mw).sum::<f64>() + 0.0
    }
}

/// Parses `kind:id` specs (see module docs).
pub fn parse_elements<S: AsRef<str>>(specs: &[S]) -> Result<Vec<ElementRef>> {
    specs.iter().map(|s| s.as_ref().parse()).collect()
}

/// Takes `elements` out of service (switches: opened) and reports what is cut off.
pub fn outage(net: &Network, elements: &[ElementRef]) -> Result<Outage> {
    let mut n = net.clone();
    for e in elements {
        let missing = || {
            Error::invalid(
                Location::file("what-if").field(e.to_string()),
                format!("the feeder `{}` has no {e}", net.manifest.name),
            )
        };
        match *e {
            ElementRef::Bus(id) => {
                n.buses
                    .iter_mut()
                    .find(|b| b.id == id)
                    .ok_or_else(missing)?
                    .in_service = false
            }
            ElementRef::Line(id) => {
                n.lines
                    .iter_mut()
                    .find(|l| l.id == id)
                    .ok_or_else(missing)?
                    .in_service = false
            }
            ElementRef::Trafo(id) => {
                n.trafos
                    .iter_mut()
                    .find(|t| t.id == id)
                    .ok_or_else(missing)?
                    .in_service = false
            }
            ElementRef::Switch(id) => {
                n.switches
                    .iter_mut()
                    .find(|s| s.id == id)
                    .ok_or_else(missing)?
                    .closed = false
            }
            ElementRef::Load(id) => {
                n.loads
                    .iter_mut()
                    .find(|l| l.id == id)
                    .ok_or_else(missing)?
                    .in_service = false
            }
            ElementRef::Sgen(id) => {
                n.sgens
                    .iter_mut()
                    .find(|l| l.id == id)
                    .ok_or_else(missing)?
                    .in_service = false
            }
        }
    }
    let grid = Grid::from_network(&n)?;
    let islanded = |els: &[super::PowerElement]| -> Vec<Islanded> {
        els.iter()
            .filter(|l| l.in_service && grid.node_of_bus(l.bus).is_none())
            .map(|l| Islanded {
                id: l.id,
                bus: l.bus,
                p_mw: l.p_mw * l.scaling,
                q_mvar: l.q_mvar * l.scaling,
            })
            .collect()
    };
    Ok(Outage {
        islanded_loads: islanded(&n.loads),
        islanded_sgens: islanded(&n.sgens),
        dropped_buses: grid.dropped_buses.clone(),
        network: n,
    })
}
