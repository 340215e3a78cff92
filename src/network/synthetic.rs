//! Deterministic synthetic feeders for scaling studies.
//!
//! [`replicate`] hangs `k` copies of a real LV feeder (by default `village80`: 79 LV buses behind
//! one 0.25 MVA trafo) under the base feeder's own MV slack bus. Each copy keeps its real cable
//! data, loads and generators, so the result is a realistic radial network of `1 + 79·k` buses:
//! `k = 13` gives 1,028 buses, `k = 127` gives 10,034 and `k = 1266` gives 100,015. Same inputs,
//! same network, byte for byte.

use super::*;
use crate::error::{Error, Location, Result};

/// `copies` copies of `base` sharing its slack bus. Bus, line, trafo and element ids are
/// renumbered `0..`; copy `c` of a base bus `b` (other than the slack bus) gets id
/// `1 + c·(n_bus − 1) + rank(b)`.
pub fn replicate(base: &Network, copies: usize) -> Result<Network> {
    if copies == 0 {
        return Err(Error::invalid(
            Location::file("synthetic").field("copies"),
            "need at least one copy",
        ));
    }
    let buses = copies
        .checked_mul(base.buses.len().saturating_sub(1))
        .and_then(|n| n.checked_add(1));
    match buses {
        Some(n) if n <= crate::util::limits::MAX_BUSES => {}
        _ => {
            return Err(crate::util::limits::exceeded(
                Location::file("--copies"),
                &format!(
                    "the synthetic feeder's bus count ({copies} copies of {} buses)",
                    base.buses.len().saturating_sub(1)
                ),
                buses.map_or("more than this machine can count".to_string(), |n| {
                    n.to_string()
                }),
                crate::util::limits::MAX_BUSES,
            ))
        }
    }
    let eg = base
        .ext_grids
        .iter()
        .find(|e| e.in_service)
        .ok_or_else(|| Error::invalid(Location::file("ext_grid.csv"), "no slack"))?;
    let slack = eg.bus;
    let others: Vec<&Bus> = base.buses.iter().filter(|b| b.id != slack).collect();
    let per = others.len() as i64;
    let rank: std::collections::HashMap<BusId, i64> = others
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i as i64))
        .collect();
    let width = base
        .buses
        .iter()
        .filter_map(|b| b.geo.map(|g| g.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    let width = if width.1 > width.0 {
        width.1 - width.0 + 1.0
    } else {
        1.0
    };

    let slack_bus = base
        .buses
        .iter()
        .find(|b| b.id == slack)
        .cloned()
        .ok_or_else(|| {
            Error::invalid(Location::file("ext_grid.csv"), "the slack bus is not a bus")
        })?;
    let mut net = Network {
        manifest: Manifest {
            name: format!("{}x{}", base.manifest.name, copies),
            title: format!(
                "{} copies of {} under one MV bus",
                copies, base.manifest.name
            ),
            source: format!(
                "netclear synthetic::replicate({}, {})",
                base.manifest.name, copies
            ),
            licence: base.manifest.licence.clone(),
            aliases: Vec::new(),
            ..base.manifest.clone()
        },
        buses: vec![Bus {
            id: BusId(0),
            ..slack_bus
        }],
        lines: Vec::new(),
        trafos: Vec::new(),
        ext_grids: vec![ExtGrid {
            id: ElementId(0),
            bus: BusId(0),
            ..eg.clone()
        }],
        loads: Vec::new(),
        sgens: Vec::new(),
        switches: Vec::new(),
        own_series: OwnSeries::default(),
    };
    for c in 0..copies as i64 {
        let map = |b: BusId| -> BusId {
            if b == slack {
                BusId(0)
            } else {
                BusId(1 + c * per + rank[&b])
            }
        };
        let dx = c as f64 * width;
        for b in &others {
            net.buses.push(Bus {
                id: map(b.id),
                geo: b.geo.map(|(x, y)| (x + dx, y)),
                ..(*b).clone()
            });
        }
        for l in &base.lines {
            net.lines.push(Line {
                id: LineId(net.lines.len() as i64),
                from_bus: map(l.from_bus),
                to_bus: map(l.to_bus),
                ..l.clone()
            });
        }
        for t in &base.trafos {
            net.trafos.push(Trafo {
                id: TrafoId(net.trafos.len() as i64),
                hv_bus: map(t.hv_bus),
                lv_bus: map(t.lv_bus),
                ..t.clone()
            });
        }
        for e in &base.loads {
            net.loads.push(PowerElement {
                id: ElementId(net.loads.len() as i64),
                bus: map(e.bus),
                ..e.clone()
            });
        }
        for e in &base.sgens {
            net.sgens.push(PowerElement {
                id: ElementId(net.sgens.len() as i64),
                bus: map(e.bus),
                ..e.clone()
            });
        }
        for s in &base.switches {
            let element = match s.element {
                SwitchElement::Bus(b) => SwitchElement::Bus(map(b)),
                // Line/trafo ids are offset by the copy's first id.
                SwitchElement::Line(l) => SwitchElement::Line(LineId(
                    c * base.lines.len() as i64
                        + base.lines.iter().position(|x| x.id == l).unwrap_or(0) as i64,
                )),
                SwitchElement::Trafo(t) => SwitchElement::Trafo(TrafoId(
                    c * base.trafos.len() as i64
                        + base.trafos.iter().position(|x| x.id == t).unwrap_or(0) as i64,
                )),
            };
            net.switches.push(Switch {
                id: SwitchId(net.switches.len() as i64),
                bus: map(s.bus),
                element,
                ..s.clone()
            });
        }
    }
    Ok(net)
}

/// Number of copies of a base feeder with `base_buses` buses (one of them the shared slack)
/// that gives at least `target_buses` buses.
pub fn copies_for(target_buses: usize, base_buses: usize) -> usize {
    let per = base_buses.saturating_sub(1).max(1);
    target_buses.saturating_sub(1).div_ceil(per).max(1)
}
