//! From a scenario to a community: prosumers at buses with their load, PV and batteries per step,
//! and the prices of each step. See [`crate::scenario`] for the rules. Building a community reads
//! profiles and places assets; it never dispatches or optimises anything (that is the study's
//! storage stage, [`crate::study::plan`]).

use crate::element_series;
use crate::error::{Error, Location, Result};
use crate::network::electrical::Grid;
use crate::network::topology::{leaf_buses_graph_order, Topology};
use crate::network::{registry, BusId, Network};
use crate::profiles::{self, Day, Unit};
use crate::scenario::household_model::{HouseholdModel, Model};
use crate::scenario::{BatteryPlacement, Placement, Scenario};
use crate::tariff::PricingMode;
use crate::util::rng::{seeded_share, share_count, shuffled, splitmix64, stream};
use serde::Serialize;

/// What kind of consumer a prosumer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadClass {
    /// Households (residential profiles).
    Residential,
    /// Commercial or industrial (commercial profiles).
    Commercial,
    /// A bus with PV only (paper placement).
    PvOnly,
    /// The community (VPP) battery.
    Vpp,
}

/// A trading agent at one bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prosumer {
    /// Index in the community.
    pub id: usize,
    /// Name (from the feeder's load, or `bus N`).
    pub name: String,
    /// Its bus.
    pub bus: BusId,
    /// Its electrical node.
    #[serde(skip)]
    pub node: usize,
    /// Consumer class.
    pub class: LoadClass,
    /// Connection units (households) it stands for.
    pub households: u32,
    /// Profile columns used (informative).
    pub profile: String,
    /// Each household unit's draws and energy under the stochastic household model
    /// ([`crate::scenario::household_model`]); empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub draws: Vec<crate::scenario::household_model::HouseholdDraw>,
    /// Installed PV, kWp.
    pub pv_kwp: f64,
    /// Load per step, kW (average over the step).
    pub load_kw: Vec<f64>,
    /// PV output per step, kW.
    pub pv_kw: Vec<f64>,
    /// Its battery, if any.
    pub battery: Option<crate::storage::Battery>,
}

impl Prosumer {
    /// Whether it pays the retailer's fixed charge (households and businesses; not the
    /// community battery).
    pub fn pays_fixed_charge(&self) -> bool {
        self.class != LoadClass::Vpp
    }
}

/// The prosumers of a feeder on one day.
#[derive(Debug, Clone)]
pub struct Community {
    /// The feeder (user model).
    pub network: Network,
    /// Its electrical model.
    pub grid: Grid,
    /// The agents.
    pub prosumers: Vec<Prosumer>,
    /// Step length, minutes.
    pub step_minutes: u32,
    /// Retail price per step, per kWh.
    pub retail_per_kwh: Vec<f64>,
    /// Feed-in tariff per step, per kWh.
    pub feed_in_per_kwh: Vec<f64>,
    /// tan φ of loads (Q = P · tan φ).
    pub load_tan_phi: f64,
    /// Daily fixed charge per prosumer, $.
    pub daily_fixed_charge: f64,
    /// Label of each step's start: `HH:MM` in a single-day study, local ISO 8601 date and time
    /// (`2016-06-14T13:30`) over a multi-day study's period.
    pub times: Vec<String>,
    /// Electric vehicles (each behind its prosumer's meter).
    pub evs: Vec<crate::storage::ev::Ev>,
    /// Shiftable loads (each part of its prosumer's load).
    pub shiftables: Vec<crate::storage::shiftable::Shiftable>,
    /// The shared battery (`storage.shared`), if any.
    pub shared: Option<SharedBattery>,
}

/// A **shared battery** (seed 003): one community-owned device whose energy capacity and power
/// are split virtually among member households.
///
/// # The model
///
/// Member `k` holds a share `f_k ≥ 0`, `Σ f_k = 1`, and dispatches it as its own battery
/// ([`SharedBattery::share_battery`]: capacity `f_k·E`, charge and discharge limits `f_k·P`, the
/// device's efficiencies, SOC window, start SOC and end rule) against its own residual and
/// prices, through the one battery block ([`crate::storage::block`]). The share is settled
/// **behind the member's meter** (virtual ownership: its charge is the member's consumption, its
/// discharge the member's supply, in the one [`crate::settlement::settle`]); physically every
/// share is the one device at the community battery's bus, so the network sees the member's
/// house meter at its bus and the sum of the shares at the device's bus
/// ([`crate::study::network::injections`]). The laws, each step `t`:
///
/// ```text
///   device charge_t = Σ_k c_kt,   device discharge_t = Σ_k d_kt,   device SOC_t = Σ_k SOC_kt
///   Σ_k c_kt ≤ Σ_k f_k·P = P,   Σ_k SOC_kt ∈ [soc_min·E, soc_max·E]
/// ```
///
/// The limits of the device hold because every share holds its own scaled limits. Two shares
/// may run in opposite directions in one step: the device's meter then sees the net, and the
/// SOC books each share's own conversion losses (the virtual accounting; a converter netting
/// the two would lose less — a conservative book, stated rather than hidden).
///
/// Splits ([`crate::scenario::SharedSplit`]): `equal` (`f_k = 1/n`, the default: seed 003's
/// households are alike and pay alike for the device) or `consumption` (`f_k = E_k / Σ E`, the
/// member's load over the day). Members: every prosumer with consumption (households and
/// businesses; not PV-only buses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SharedBattery {
    /// The device (its capacity and power are the sums of the shares').
    pub battery: crate::storage::Battery,
    /// Its bus.
    pub bus: BusId,
    /// Its electrical node.
    #[serde(skip)]
    pub node: usize,
    /// `(prosumer, share)` of every member, in prosumer order; the shares sum to 1.
    pub shares: Vec<(usize, f64)>,
}

impl SharedBattery {
    /// The shared battery of `battery` at `node` split among `prosumers` by `split`.
    pub fn split(
        battery: crate::storage::Battery,
        bus: BusId,
        node: usize,
        prosumers: &[Prosumer],
        split: crate::scenario::SharedSplit,
    ) -> SharedBattery {
        let energy = |p: &Prosumer| p.load_kw.iter().sum::<f64>();
        let members: Vec<usize> = prosumers
            .iter()
            .filter(|p| p.class != LoadClass::Vpp && energy(p) > 0.0)
            .map(|p| p.id)
            .collect();
        let weights: Vec<f64> = match split {
            crate::scenario::SharedSplit::Equal => vec![1.0; members.len()],
            crate::scenario::SharedSplit::Consumption => {
                members.iter().map(|&i| energy(&prosumers[i])).collect()
            }
        };
        let total: f64 = weights.iter().sum();
        SharedBattery {
            battery,
            bus,
            node,
            shares: members
                .into_iter()
                .zip(weights)
                .map(|(i, w)| (i, w / total))
                .collect(),
        }
    }
    /// Member `i`'s share, if it is a member.
    pub fn share_of(&self, i: usize) -> Option<f64> {
        self.shares.iter().find(|(k, _)| *k == i).map(|s| s.1)
    }
    /// Member `i`'s share as a battery of its own (scaled capacity and power, the device's
    /// efficiencies, window and end rule).
    pub fn share_battery(&self, i: usize) -> Option<crate::storage::Battery> {
        let f = self.share_of(i)?;
        let b = &self.battery;
        Some(crate::storage::Battery {
            e_kwh: b.e_kwh * f,
            p_charge_kw: b.p_charge_kw * f,
            p_discharge_kw: b.p_discharge_kw * f,
            ..*b
        })
    }
}

impl Community {
    /// Number of steps (of the day, or of a multi-day study's period).
    pub fn n_steps(&self) -> usize {
        self.retail_per_kwh.len()
    }
    /// Step length, hours.
    pub fn dt_h(&self) -> f64 {
        self.step_minutes as f64 / 60.0
    }
    /// The same community with only some of its storage: home batteries kept when `homes`, the
    /// community battery (and its agent) when `vpp`.
    pub fn restricted(&self, homes: bool, vpp: bool) -> Community {
        let mut c = self.clone();
        if !vpp {
            c.prosumers.retain(|p| p.class != LoadClass::Vpp);
            c.shared = None;
        }
        if !homes {
            for p in c.prosumers.iter_mut().filter(|p| p.class != LoadClass::Vpp) {
                p.battery = None;
            }
        }
        c
    }

    /// The same community with its community battery operated the other way: the central
    /// community battery (an agent of class `vpp` at its bus) becomes a shared battery split by
    /// `split` (`shared = true`), or the shared battery becomes the central one (`false`). The
    /// device is the same; nothing else changes.
    pub fn device_as(&self, shared: bool, split: crate::scenario::SharedSplit) -> Community {
        let mut c = self.clone();
        match (shared, c.shared.take()) {
            (true, None) => {
                if let Some(k) = c.prosumers.iter().position(|p| p.class == LoadClass::Vpp) {
                    let v = c.prosumers.remove(k);
                    if let Some(b) = v.battery {
                        c.shared =
                            Some(SharedBattery::split(b, v.bus, v.node, &c.prosumers, split));
                    }
                }
            }
            (false, Some(sb)) => {
                let n = c.n_steps();
                c.prosumers.push(community_battery_agent(
                    c.prosumers.len(),
                    sb.bus,
                    sb.node,
                    n,
                    sb.battery,
                ));
            }
            (_, keep) => c.shared = keep,
        }
        c
    }

    /// The same community with the shared battery's shares installed at the members' own
    /// buses as home batteries (a member's own home battery, if any, is replaced): the
    /// "individual batteries" of the same total capacity.
    pub fn shares_at_home(&self) -> Community {
        let mut c = self.clone();
        if let Some(sb) = c.shared.take() {
            for &(i, _) in &sb.shares {
                c.prosumers[i].battery = sb.share_battery(i);
            }
        }
        c
    }

    /// Label of a step's start ([`Community::times`]).
    pub fn step_label(&self, t: usize) -> String {
        self.step_str(t).to_string()
    }

    /// [`Community::step_label`], borrowed.
    pub fn step_str(&self, t: usize) -> &str {
        self.times.get(t).map_or("", String::as_str)
    }

    /// The same community with every step label prefixed by `date` (`YYYY-MM-DDTHH:MM`), for
    /// the days of a period.
    pub fn dated(mut self, date: &str) -> Community {
        for t in &mut self.times {
            *t = format!("{date}T{t}");
        }
        self
    }

    /// The period of consecutive days: `days[0]` with every per-step series (loads, PV,
    /// prices, labels) of the following days appended. The days must be the same community
    /// (one scenario on different dates): same prosumers in the same order.
    pub fn concat(days: &[Community]) -> Result<Community> {
        let Some(first) = days.first() else {
            return Err(Error::Numerical("a period needs at least one day".into()));
        };
        let mut c = first.clone();
        for d in &days[1..] {
            if d.prosumers.len() != c.prosumers.len() || d.step_minutes != c.step_minutes {
                return Err(Error::Numerical(
                    "the days of a period must have the same prosumers and step".into(),
                ));
            }
            for (p, q) in c.prosumers.iter_mut().zip(&d.prosumers) {
                p.load_kw.extend_from_slice(&q.load_kw);
                p.pv_kw.extend_from_slice(&q.pv_kw);
            }
            c.retail_per_kwh.extend_from_slice(&d.retail_per_kwh);
            c.feed_in_per_kwh.extend_from_slice(&d.feed_in_per_kwh);
            c.times.extend_from_slice(&d.times);
        }
        Ok(c)
    }
}

/// One day of a profile file at the study's step. A typical-year file ([`profiles::TYPICAL_YEAR`],
/// the TMY3 PV) serves the same month and day of its year
/// ([`profiles::SeriesFile::typical_year_date`]); any other file must have the study's date.
fn load_day(spec: &str, day: &str, columns: &[String], step: u32) -> Result<Day> {
    let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
    let date = match day {
        "typical" => None,
        d if profiles::TYPICAL_YEAR.contains(&spec) => {
            let file = profiles::cached(spec)?;
            if file.rows_on(d).is_none() {
                Some(file.typical_year_date(d).unwrap_or(d.to_string()))
            } else {
                Some(d.to_string())
            }
        }
        d => Some(d.to_string()),
    };
    profiles::day_of(spec, date.as_deref(), &cols)?.resampled(step)
}

/// Builds the community a scenario describes.
pub fn build(s: &Scenario) -> Result<Community> {
    s.validate()?;
    let mut network = registry::resolve(&s.network)?;
    if s.pandapower_ratings {
        network = network.with_pandapower_ratings();
    }
    let grid = Grid::from_network(&network)?;
    let step = s.step_minutes;

    let imported = match &s.import {
        Some(spec) => Some(crate::import::read_source(spec, s.import_sheet.as_deref())?),
        None => None,
    };
    // The household file's day is the study's clock (23 or 25 hours when the clocks change);
    // every other series meets it by local time of day. An imported day is its own clock.
    let households = match &imported {
        Some(d) => import_clock(d, step)?,
        None => load_day(
            &s.profiles.households,
            &s.day,
            &s.profiles.household_columns,
            step,
        )?,
    };
    let hh_cols: Vec<&crate::profiles::Series> = households
        .series
        .iter()
        .filter(|x| x.unit == Unit::Kw)
        .collect();
    if hh_cols.is_empty() && imported.is_none() {
        return Err(Error::invalid(
            Location::file(&households.file),
            "no load (_kw) columns for households",
        ));
    }
    let n_steps = households.len();
    // PV per kWp of each PV column (the one `pv_column`, or the `pv_columns` mix).
    let pv_columns: Vec<String> = if s.profiles.pv_columns.is_empty() {
        vec![s.profiles.pv_column.clone()]
    } else {
        s.profiles.pv_columns.clone()
    };
    let pv_per_kwp: Vec<(String, Vec<f64>)> = if imported.is_some() {
        Vec::new()
    } else {
        let pv = load_day(&s.profiles.pv, &s.day, &pv_columns, step)?.on_clock_of(&households)?;
        let mut out = Vec::new();
        for c in &pv_columns {
            let se = pv.get(c)?;
            if !matches!(se.unit, Unit::Kw | Unit::KwPerKwp) {
                return Err(Error::invalid(
                    Location::file(&pv.file).field(c.clone()),
                    "the PV column must be in kW or kW per kWp",
                ));
            }
            out.push((
                c.clone(),
                se.values
                    .iter()
                    .map(|v| (v / s.profiles.pv_column_kwp).max(0.0))
                    .collect(),
            ));
        }
        out
    };

    let mut prosumers = Vec::new();
    let mut rng_state = splitmix64(s.seed);
    let mut next = || {
        rng_state = splitmix64(rng_state);
        rng_state
    };
    if let Some(d) = &imported {
        // One prosumer per imported column pair, on the feeder's load buses in file order.
        let mut buses: Vec<BusId> = Vec::new();
        for l in network.loads.iter().filter(|l| l.in_service) {
            if grid.node_of_bus(l.bus).is_some() && !buses.contains(&l.bus) {
                buses.push(l.bus);
            }
        }
        if d.pv_kw.len() > buses.len() {
            return Err(Error::invalid(
                Location::file(&d.file),
                format!(
                    "{} prosumers do not fit on the {} load buses of {}",
                    d.pv_kw.len(),
                    buses.len(),
                    network.name()
                ),
            ));
        }
        let rs = |v: &[f64]| -> Result<Vec<f64>> {
            profiles::resample(v, d.step_minutes, step)
                .map_err(|m| Error::invalid(Location::file(&d.file), m))
        };
        for k in 0..d.pv_kw.len() {
            let pv_kw = rs(&d.pv_kw[k])?;
            let Some(node) = grid.node_of_bus(buses[k]) else {
                continue; // unreachable: `buses` holds connected buses only
            };
            prosumers.push(Prosumer {
                id: k,
                name: format!("prosumer {}", k + 1),
                bus: buses[k],
                node,
                class: LoadClass::Residential,
                households: 1,
                profile: format!("imported column {}", k + 1),
                draws: Vec::new(),
                pv_kwp: pv_kw.iter().copied().fold(0.0, f64::max),
                load_kw: rs(&d.load_kw[k])?,
                pv_kw,
                battery: None,
            });
        }
    }
    match s.placement {
        _ if imported.is_some() => {}
        Placement::LoadBuses => {
            let commercial = if network.loads.iter().any(|l| is_commercial(&l.name)) {
                Some(commercial_day(s, step, &households)?)
            } else {
                None
            };
            let loads: Vec<_> = network
                .loads
                .iter()
                .enumerate()
                .filter(|(_, l)| l.in_service)
                .collect();
            if loads.len() > crate::util::limits::MAX_PROSUMERS {
                return Err(crate::util::limits::exceeded(
                    Location::file(network.name()),
                    "the number of prosumers (in-service loads)",
                    loads.len(),
                    crate::util::limits::MAX_PROSUMERS,
                ));
            }
            // Households per load, checked (each and in total) before any profile is summed.
            let mut total_units = 0u64;
            let mut units_of = Vec::with_capacity(loads.len());
            for (_, l) in &loads {
                let peak_kw = l.p_mw * l.scaling * 1e3;
                let n = (peak_kw / s.household_peak_kw).round();
                let limit = crate::util::limits::MAX_HOUSEHOLDS_PER_PROSUMER;
                if !(n.is_finite() && n <= limit as f64) {
                    return Err(crate::util::limits::exceeded(
                        Location::file(network.name()).field(format!("load {} p_mw", l.id.0)),
                        &format!(
                            "the households of load {} ({peak_kw} kW at {} kW per household)",
                            l.id.0, s.household_peak_kw
                        ),
                        n,
                        limit,
                    ));
                }
                let units = (n as u32).max(1);
                total_units += u64::from(units);
                units_of.push(units);
            }
            if total_units > crate::util::limits::MAX_HOUSEHOLDS {
                return Err(crate::util::limits::exceeded(
                    Location::file(network.name()).field("household_peak_kw"),
                    "the community's households",
                    total_units,
                    crate::util::limits::MAX_HOUSEHOLDS,
                ));
            }
            // An element kind's series: the scenario's file, else the feeder's own (when used).
            let series = |file: &Option<String>,
                          kind: element_series::Kind,
                          own: &Option<std::sync::Arc<element_series::FeederSeries>>,
                          elements: &[crate::network::PowerElement]|
             -> Result<Option<element_series::ElementDay>> {
                match file {
                    Some(path) => {
                        element_series::read_day(path, kind, elements, &households, step).map(Some)
                    }
                    None => own
                        .as_ref()
                        .filter(|_| s.profiles.feeder_series)
                        .map(|f| f.day(elements, &households, step))
                        .transpose(),
                }
            };
            let load_series = series(
                &s.profiles.load_series,
                element_series::Kind::Load,
                &network.own_series.loads,
                &network.loads,
            )?;
            // The stochastic household model draws per unit, numbered in load order.
            let model = match s.profiles.household_model {
                HouseholdModel::Measured => None,
                HouseholdModel::Stochastic => Some(Model::new(
                    &s.profiles.households,
                    &hh_cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                    &s.day,
                    &households,
                    step,
                )?),
            };
            let mut n_units = 0usize;
            for (&(li, l), &units) in loads.iter().zip(&units_of) {
                let Some(node) = grid.node_of_bus(l.bus) else {
                    continue; // dropped bus: reported by `network validate`
                };
                let peak_kw = l.p_mw * l.scaling * 1e3;
                let id = prosumers.len();
                let mut draws = Vec::new();
                let (class, load_kw, profile) =
                    if let (true, Some(c)) = (is_commercial(&l.name), &commercial) {
                        let pick = (next() % c.len() as u64) as usize;
                        let (name, week_peak, vals) = &c[pick];
                        let scale = if *week_peak > 0.0 {
                            peak_kw / week_peak
                        } else {
                            0.0
                        };
                        (
                            LoadClass::Commercial,
                            vals.iter().map(|v| v * scale).collect(),
                            name.clone(),
                        )
                    } else {
                        let mut load = vec![0.0; n_steps];
                        let mut used = Vec::new();
                        for _ in 0..units {
                            let pick = (next() % hh_cols.len() as u64) as usize;
                            match &model {
                                Some(m) => {
                                    let (v, d) = m.draw(s.seed, n_units, pick)?;
                                    for (a, x) in load.iter_mut().zip(&v) {
                                        *a += x;
                                    }
                                    draws.push(d);
                                }
                                None => {
                                    for (t, v) in hh_cols[pick].values.iter().enumerate() {
                                        load[t] += v;
                                    }
                                }
                            }
                            n_units += 1;
                            used.push(hh_cols[pick].name.trim_end_matches("_load_kw").to_string());
                        }
                        (LoadClass::Residential, load, summarize_profiles(&used))
                    };
                // The load's own series, when the researcher gives one (the draws above still
                // happen, so the other loads' curves do not depend on which loads have one).
                let (load_kw, profile) = match load_series
                    .as_ref()
                    .and_then(|x| x.by_element.get(&li).map(|v| (v, &x.file)))
                {
                    Some((v, file)) => {
                        draws.clear();
                        (v.clone(), format!("series {file}"))
                    }
                    None => (load_kw, profile),
                };
                prosumers.push(Prosumer {
                    id,
                    name: if l.name.is_empty() {
                        format!("load {}", l.id.0)
                    } else {
                        l.name.clone()
                    },
                    bus: l.bus,
                    node,
                    class,
                    households: units,
                    profile,
                    draws,
                    pv_kwp: 0.0,
                    load_kw,
                    pv_kw: vec![0.0; n_steps],
                    battery: None,
                });
            }
            let pv_series = series(
                &s.profiles.pv_series,
                element_series::Kind::Sgen,
                &network.own_series.sgens,
                &network.sgens,
            )?;
            if let Some(pv) = pv_series {
                // The feeder's static generators with their own series replace the seeded PV:
                // each behind the meter of the first prosumer at its bus, or a PV-only agent.
                for (&gi, values) in &pv.by_element {
                    let g = &network.sgens[gi];
                    let Some(node) = grid.node_of_bus(g.bus) else {
                        continue;
                    };
                    let rated_kw = g.p_mw * g.scaling * 1e3;
                    let kwp = if rated_kw > 0.0 {
                        rated_kw
                    } else {
                        values.iter().copied().fold(0.0, f64::max)
                    };
                    let k = match prosumers.iter().position(|p| p.bus == g.bus) {
                        Some(k) => k,
                        None => {
                            prosumers.push(Prosumer {
                                id: prosumers.len(),
                                name: if g.name.is_empty() {
                                    format!("sgen {}", g.id.0)
                                } else {
                                    g.name.clone()
                                },
                                bus: g.bus,
                                node,
                                class: LoadClass::PvOnly,
                                households: 0,
                                profile: String::new(),
                                draws: Vec::new(),
                                pv_kwp: 0.0,
                                load_kw: vec![0.0; n_steps],
                                pv_kw: vec![0.0; n_steps],
                                battery: None,
                            });
                            prosumers.len() - 1
                        }
                    };
                    let p = &mut prosumers[k];
                    p.pv_kwp += kwp;
                    for (a, v) in p.pv_kw.iter_mut().zip(values) {
                        *a += v;
                    }
                }
            } else {
                // PV on a seeded share of the prosumers.
                // PV on a seeded share of the prosumers; with a `pv_columns` mix, each draws its
                // column uniformly (its own seeded stream).
                for i in seeded_share(
                    prosumers.len(),
                    s.pv_share_percent,
                    s.seed,
                    stream::PV_OWNERS,
                ) {
                    let p = &mut prosumers[i];
                    let pick = if pv_per_kwp.len() > 1 {
                        let u = crate::util::rng::unit(s.seed, 0, i, stream::PV_COLUMN);
                        ((u * pv_per_kwp.len() as f64) as usize).min(pv_per_kwp.len() - 1)
                    } else {
                        0
                    };
                    let (col, per_kwp) = &pv_per_kwp[pick];
                    p.pv_kwp = p.households as f64 * s.pv_kwp_per_household;
                    p.pv_kw = per_kwp.iter().map(|v| v * p.pv_kwp).collect();
                    if !s.profiles.pv_columns.is_empty() {
                        p.profile = format!("{} + {col}", p.profile);
                    }
                }
            }
        }
        Placement::PaperLeaves => {
            let mut leaves = leaf_buses_graph_order(&network);
            let n = leaves.len() / 2;
            let n_pv = ((s.pv_share_percent / 100.0 * leaves.len() as f64) + 1e-9).floor() as usize;
            if s.lv_only {
                leaves.retain(|b| {
                    network
                        .bus_index(*b)
                        .map(|i| network.buses[i].vn_kv < 1.0)
                        .unwrap_or(false)
                });
            }
            // The 24-h notebook: loads on leaves[0::2], PV on leaves[1::2]; the single-timestep
            // notebook the other way round.
            let (load_first, pv_first) = if s.pv_on_even_leaves { (1, 0) } else { (0, 1) };
            let load_buses: Vec<BusId> = leaves
                .iter()
                .skip(load_first)
                .step_by(2)
                .take(n)
                .copied()
                .collect();
            let pv_buses: Vec<BusId> = leaves
                .iter()
                .skip(pv_first)
                .step_by(2)
                .take(n.min(n_pv))
                .copied()
                .collect();
            let load_profile = &hh_cols[0];
            // The paper's dict order: PV buses first, then load buses.
            for &b in &pv_buses {
                let Some(node) = grid.node_of_bus(b) else {
                    continue;
                };
                let kwp = s.pv_kwp_per_household;
                prosumers.push(Prosumer {
                    id: prosumers.len(),
                    name: format!("pv bus {}", b.0),
                    bus: b,
                    node,
                    class: LoadClass::PvOnly,
                    households: 0,
                    profile: s.profiles.pv_column.clone(),
                    draws: Vec::new(),
                    pv_kwp: kwp,
                    load_kw: vec![0.0; n_steps],
                    pv_kw: pv_per_kwp[0].1.iter().map(|v| v * kwp).collect(),
                    battery: None,
                });
            }
            for &b in &load_buses {
                let Some(node) = grid.node_of_bus(b) else {
                    continue;
                };
                prosumers.push(Prosumer {
                    id: prosumers.len(),
                    name: format!("load bus {}", b.0),
                    bus: b,
                    node,
                    class: LoadClass::Residential,
                    households: 1,
                    profile: load_profile.name.clone(),
                    draws: Vec::new(),
                    pv_kwp: 0.0,
                    load_kw: load_profile.values.clone(),
                    pv_kw: vec![0.0; n_steps],
                    battery: None,
                });
            }
        }
    }
    if prosumers.is_empty() {
        return Err(Error::invalid(
            Location::file(network.name()).field("loads"),
            "the feeder has no in-service loads on connected buses: nobody to trade",
        ));
    }
    assign_batteries(s, &grid, &network, &mut prosumers)?;
    // The community battery as a shared battery: the device leaves the agents and is split.
    let shared = match prosumers.iter().position(|p| p.class == LoadClass::Vpp) {
        Some(k) if s.storage.shared => {
            let v = prosumers.remove(k);
            v.battery
                .map(|b| SharedBattery::split(b, v.bus, v.node, &prosumers, s.storage.shared_split))
        }
        _ => None,
    };
    let (evs, shiftables) = assign_flexibility(s, &prosumers, &households.local_minutes)?;
    let (retail, fit) = match imported
        .as_ref()
        .and_then(|d| d.price_per_kwh.as_ref().map(|p| (d, p)))
    {
        Some((d, price)) if s.retailer.pricing == crate::tariff::PricingMode::WholesalePass => {
            let w = profiles::resample(price, d.step_minutes, step)
                .map_err(|m| Error::invalid(Location::file(&d.file), m))?;
            s.retailer.wholesale_pass.prices(&w)
        }
        _ => retail_prices(s, &households)?,
    };
    let tan_phi = (1.0 / (s.load_power_factor * s.load_power_factor) - 1.0)
        .max(0.0)
        .sqrt();
    Ok(Community {
        network,
        grid,
        prosumers,
        step_minutes: step,
        retail_per_kwh: retail,
        feed_in_per_kwh: fit,
        load_tan_phi: tan_phi,
        daily_fixed_charge: s.retailer.daily_fixed_charge,
        times: (0..n_steps).map(|t| households.label(t)).collect(),
        evs,
        shiftables,
        shared,
    })
}

/// EVs and shiftable loads: explicit EVs (`ev.fleet`) or a seeded share of the households
/// (residential prosumers) for each; see [`crate::storage::ev`] and
/// [`crate::storage::shiftable`].
///
/// Their times are local wall-clock times; the windows count steps from midnight. On a day the
/// clocks change (23 or 25 steps an hour) each time is moved to where it falls on the day's
/// clock `local_minutes` ([`on_clock_h`]), so that a car arriving at 18:00 plugs in at the step
/// that starts at 18:00 local time.
fn assign_flexibility(
    s: &Scenario,
    prosumers: &[Prosumer],
    local_minutes: &[u32],
) -> Result<(
    Vec<crate::storage::ev::Ev>,
    Vec<crate::storage::shiftable::Shiftable>,
)> {
    let homes: Vec<usize> = prosumers
        .iter()
        .filter(|p| p.class == LoadClass::Residential)
        .map(|p| p.id)
        .collect();
    let pick = |share: f64, stream: u64| -> Vec<usize> {
        let mut v: Vec<usize> = seeded_share(homes.len(), share, s.seed, stream)
            .into_iter()
            .map(|k| homes[k])
            .collect();
        v.sort_unstable();
        v
    };
    let evs = if s.ev.fleet.is_empty() {
        pick(s.ev.share_percent, stream::EV_OWNERS)
            .into_iter()
            .map(|i| crate::storage::ev::draw(i, prosumers[i].households, s.seed))
            .collect()
    } else {
        for (k, ev) in s.ev.fleet.iter().enumerate() {
            let field = format!("ev.fleet[{k}].prosumer");
            let ok = prosumers
                .get(ev.prosumer)
                .is_some_and(|p| p.class != LoadClass::Vpp);
            if !ok {
                return Err(Error::invalid(
                    Location::file("scenario").field(field),
                    format!("no prosumer {} to charge behind", ev.prosumer),
                ));
            }
            if s.ev.fleet[..k].iter().any(|e| e.prosumer == ev.prosumer) {
                return Err(Error::invalid(
                    Location::file("scenario").field(field),
                    format!(
                        "prosumer {} has an EV already (one per prosumer)",
                        ev.prosumer
                    ),
                ));
            }
        }
        let mut v = s.ev.fleet.clone();
        v.sort_by_key(|e| e.prosumer);
        v
    };
    let at = |h: f64| on_clock_h(h, local_minutes, s.step_minutes);
    let evs: Vec<crate::storage::ev::Ev> = evs
        .into_iter()
        .map(|e: crate::storage::ev::Ev| crate::storage::ev::Ev {
            arrival_h: at(e.arrival_h),
            departure_h: at(e.departure_h),
            ..e
        })
        .collect();
    let mut params = s.flex.params();
    params.window_start_h = at(params.window_start_h);
    params.window_end_h = at(params.window_end_h);
    let shiftables = pick(s.flex.share_percent, stream::FLEX_OWNERS)
        .into_iter()
        .map(|i| {
            let p = &prosumers[i];
            crate::storage::shiftable::Shiftable::of(
                i,
                p.households,
                &p.load_kw,
                &params,
                s.step_minutes,
            )
        })
        .filter(|f| f.energy_kwh > 0.0)
        .collect();
    Ok((evs, shiftables))
}

/// Where local time `h` (hours after the day's midnight; 24 + h the next morning) falls on a
/// day's clock `local_minutes` (the local start of each step), in hours of steps after
/// midnight: the start of the first step at or after `h` rounded to a step boundary (the
/// rounding every window applies). A day of 24 hours is its own clock, `h` returned unchanged;
/// on the day the clocks go forward, 18:00 is 17 hours of steps after midnight, and a time in
/// the skipped hour is the first step after it; on the day they go back, 18:00 is 19 hours. The
/// next morning is placed on the same day's clock (the morning a single day's window wraps into).
pub fn on_clock_h(h: f64, local_minutes: &[u32], step_minutes: u32) -> f64 {
    let n = local_minutes.len();
    let nominal = local_minutes
        .iter()
        .enumerate()
        .all(|(k, &m)| m as usize == k * step_minutes as usize);
    if nominal || n == 0 || step_minutes == 0 || !h.is_finite() || h < 0.0 {
        return h;
    }
    let per_h = 60.0 / step_minutes as f64;
    let m = (h * per_h).round() as u32 * step_minutes;
    let (day, m) = if m >= 1440 { (n, m - 1440) } else { (0, m) };
    let k = day + local_minutes.partition_point(|&c| c < m);
    k as f64 / per_h
}

/// The clock of an imported day at the study's step: steps from midnight, labelled with the
/// file's own date (`typical` when it has none), no series.
fn import_clock(d: &crate::import::ImportedDay, step: u32) -> Result<Day> {
    let n = profiles::resample(
        &vec![0.0; d.pv_kw.first().map_or(0, Vec::len)],
        d.step_minutes,
        step,
    )
    .map_err(|m| Error::invalid(Location::file(&d.file), m))?
    .len();
    Ok(Day {
        file: d.file.clone(),
        date: d.date.clone().unwrap_or_else(|| "typical".into()),
        step_minutes: step,
        local_minutes: (0..n as u32).map(|k| k * step).collect(),
        utc_offsets_min: None,
        series: Vec::new(),
    })
}

/// The day label of a scenario's imported file: its own date when it carries dates
/// ([`crate::import`]), `None` when there is no import or the file has times of day only.
pub fn imported_date(s: &Scenario) -> Result<Option<String>> {
    match &s.import {
        Some(spec) => Ok(crate::import::read_source(spec, s.import_sheet.as_deref())?.date),
        None => Ok(None),
    }
}

fn is_commercial(name: &str) -> bool {
    name.starts_with("Load I") || name.starts_with("Load C")
}

fn summarize_profiles(used: &[String]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for u in used {
        match counts.iter_mut().find(|(n, _)| n == u) {
            Some(c) => c.1 += 1,
            None => counts.push((u.clone(), 1)),
        }
    }
    counts
        .iter()
        .map(|(n, c)| format!("{c}x{n}"))
        .collect::<Vec<_>>()
        .join("+")
}

/// Commercial candidates: (column, weekly peak kW, the study day's values kW on `clock`).
fn commercial_day(s: &Scenario, step: u32, clock: &Day) -> Result<Vec<(String, f64, Vec<f64>)>> {
    let (label, text) = profiles::source_text(&s.profiles.commercial)?;
    let cols: Vec<&str> = s
        .profiles
        .commercial_columns
        .iter()
        .map(String::as_str)
        .collect();
    // A weekly file: pick the study day's weekday; a typical-day file: use it as is.
    let probe = crate::table::Table::parse(&label, &text)?;
    let first = probe.header().first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    if first == "time_of_day" {
        // The peak is the file's own (at its native step), so the scaling, and with it the
        // day's energy, does not depend on the study's step.
        let day = profiles::read_day(&label, &text, None, &cols)?;
        let resampled = day.resampled(step)?.on_clock_of(clock)?;
        for (se, rs) in day.series.iter().zip(resampled.series) {
            if se.unit != Unit::Kw {
                continue;
            }
            let peak = se.values.iter().copied().fold(0.0, f64::max);
            out.push((rs.name, peak, rs.values));
        }
        return Ok(out);
    }
    let wd = profiles::weekday(&s.day).unwrap_or(2);
    let mut week: Vec<Day> = Vec::new();
    let mut dates: Vec<String> = probe
        .rows()
        .filter_map(|r| r.raw(&first).and_then(|v| v.get(..10)).map(str::to_string))
        .collect();
    dates.dedup();
    for d in &dates {
        week.push(profiles::day_of(&s.profiles.commercial, Some(d), &cols)?);
    }
    let pick = dates
        .iter()
        .position(|d| profiles::weekday(d) == Some(wd))
        .unwrap_or(0);
    // The weekly peak at the file's own step, so the scaling (and the day's energy) does not
    // depend on the study's step.
    let day = week[pick].resampled(step)?.on_clock_of(clock)?;
    for (ci, se) in day.series.iter().enumerate() {
        if se.unit != Unit::Kw {
            continue;
        }
        let peak = week
            .iter()
            .flat_map(|d| d.series[ci].values.iter().copied())
            .fold(0.0, f64::max);
        out.push((se.name.clone(), peak, se.values.clone()));
    }
    Ok(out)
}

/// Gives home batteries to a seeded share of the prosumers and adds the VPP agent.
fn assign_batteries(
    s: &Scenario,
    grid: &Grid,
    net: &Network,
    prosumers: &mut Vec<Prosumer>,
) -> Result<()> {
    let st = &s.storage;
    let n = prosumers.len();
    if !st.per_prosumer_kwh.is_empty() {
        if st.per_prosumer_kwh.len() > n {
            return Err(Error::invalid(
                Location::file("scenario").field("storage.per_prosumer_kwh"),
                format!("{} batteries for {n} prosumers", st.per_prosumer_kwh.len()),
            ));
        }
        for (i, (&e, &pw)) in st
            .per_prosumer_kwh
            .iter()
            .zip(&st.per_prosumer_kw)
            .enumerate()
        {
            if e > 0.0 && pw > 0.0 {
                prosumers[i].battery = Some(crate::storage::Battery {
                    e_kwh: e,
                    p_charge_kw: pw,
                    p_discharge_kw: pw,
                    ..st.battery
                });
            }
        }
    }
    let share = if st.per_prosumer_kwh.is_empty() {
        st.battery_share_percent
    } else {
        0.0
    };
    let chosen = match st.placement {
        BatteryPlacement::Independent => seeded_share(n, share, s.seed, stream::BATTERY_OWNERS),
        BatteryPlacement::PvFirst => {
            // Prosumers with PV first, each group in a seeded order.
            let order = shuffled(n, s.seed, stream::BATTERY_OWNERS);
            let (with, without): (Vec<usize>, Vec<usize>) =
                order.into_iter().partition(|&i| prosumers[i].pv_kwp > 0.0);
            let mut all = with;
            all.extend(without);
            all.truncate(share_count(n, share));
            all
        }
    };
    for i in chosen {
        let p = &mut prosumers[i];
        let units = p.households.max(1) as f64;
        p.battery = Some(crate::storage::Battery {
            e_kwh: st.battery.e_kwh * units,
            p_charge_kw: st.battery.p_charge_kw * units,
            p_discharge_kw: st.battery.p_discharge_kw * units,
            ..st.battery
        });
    }
    if st.vpp || st.shared {
        let node = match st.vpp_bus {
            Some(b) => grid.node_of_bus(BusId(b)).ok_or_else(|| {
                Error::invalid(
                    Location::file("scenario").field("storage.vpp_bus"),
                    format!("bus {b} is not a connected bus of {}", net.name()),
                )
            })?,
            None => {
                let topo = Topology::new(grid);
                *topo
                    .bfs_order()
                    .iter()
                    .find(|&&k| grid.nodes[k].vn_kv < 1.0)
                    .unwrap_or(&grid.slack)
            }
        };
        let n_steps = prosumers.first().map_or(24, |p| p.load_kw.len());
        let id = prosumers.len();
        prosumers.push(community_battery_agent(
            id,
            grid.nodes[node].buses[0],
            node,
            n_steps,
            st.vpp_battery,
        ));
    }
    Ok(())
}

/// The community battery's agent (class `vpp`: no load, no PV, no fixed charge).
fn community_battery_agent(
    id: usize,
    bus: BusId,
    node: usize,
    n_steps: usize,
    battery: crate::storage::Battery,
) -> Prosumer {
    Prosumer {
        id,
        name: "community battery".into(),
        bus,
        node,
        class: LoadClass::Vpp,
        households: 0,
        profile: String::new(),
        draws: Vec::new(),
        pv_kwp: 0.0,
        load_kw: vec![0.0; n_steps],
        pv_kw: vec![0.0; n_steps],
        battery: Some(battery),
    }
}

/// Retail and feed-in prices per step of the day `clock` (by local time of day).
fn retail_prices(s: &Scenario, clock: &Day) -> Result<(Vec<f64>, Vec<f64>)> {
    let n_steps = clock.len();
    match s.retailer.pricing {
        PricingMode::Fixed => Ok((
            vec![s.tariff.retail_per_kwh; n_steps],
            vec![s.tariff.feed_in_per_kwh; n_steps],
        )),
        PricingMode::TimeOfUse => Ok((
            s.retailer.time_of_use.prices_at(&clock.local_minutes),
            vec![s.tariff.feed_in_per_kwh; n_steps],
        )),
        PricingMode::WholesalePass => {
            let r = &s.retailer;
            let (label, text) = crate::profiles::source_text(&r.wholesale_file)?;
            let day = (r.wholesale_day != "typical").then_some(r.wholesale_day.as_str());
            let d = crate::profiles::read_day(&label, &text, day, &[r.wholesale_column.as_str()])?
                .resampled(s.step_minutes)?
                .on_clock_of(clock)?;
            let w = d.get(&r.wholesale_column)?;
            if !matches!(
                w.unit,
                crate::profiles::Unit::PerMwh | crate::profiles::Unit::PerKwh
            ) {
                return Err(Error::invalid(
                    Location::file(label).field(&r.wholesale_column),
                    "the wholesale column must be a price (_per_mwh or _per_kwh)",
                ));
            }
            Ok(r.wholesale_pass.prices(&w.per_kwh()))
        }
    }
}
