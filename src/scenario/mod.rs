//! A scenario: everything that defines one study day, resolvable from defaults, a preset, a TOML
//! file and command-line flags (in that order of precedence), and printable as TOML so any run
//! can be repeated exactly (`netclear run --print-scenario`).
//!
//! # How prosumers are derived from a feeder (placement `load-buses`, the default)
//!
//! Every in-service load of the feeder is one trading agent ("prosumer") at its bus. The load's
//! default `p_mw` is read as a design peak and turned into `N = max(1, round(p_kw /
//! household_peak_kw))` connection units (5.1 kW per household by default: village80's house
//! connections are exactly one unit; CIGRE's aggregate 190 kW residential load at R1 becomes 37
//! households). A load whose name starts with `Load I` or `Load C` (CIGRE's industrial and
//! commercial loads) is non-residential.
//!
//! * Residential: the sum of `N` household profiles, each drawn (by the seed) from the household
//!   file's columns (5 SimBench H0 households by default, 1.5–3.7 MWh/a each).
//! * Non-residential: one commercial profile (drawn by the seed), on the same weekday as the
//!   study day, scaled so its weekly peak (at the file's own step, so that the scaling does not
//!   depend on the study's step) equals the load's design peak.
//! * PV: `--pv-share P` puts PV on `ceil(P/100 · n)` of the `n` prosumers, chosen by a seeded
//!   shuffle; each gets `N · pv_kwp_per_household` kWp (3 kWp by default) following the PV
//!   profile column (kW per kWp).
//!
//! The feeder's own static generators are not used: the scenario's PV replaces them.
//!
//! Home batteries (`storage.battery_share_percent`) go to prosumers **with PV first** (a battery
//! without PV on a flat tariff has nothing to do), drawn by the seed among them, then among the
//! others when the share exceeds the PV share; `storage.placement = "independent"` draws them
//! from all prosumers regardless of PV (the behaviour before 0.2).
//!
//! # Placement `paper-leaves` (the 2024 paper)
//!
//! Degree-1 buses in pandapower graph order; `n = int(0.5 · #leaves)`; one load on
//! `leaves[0::2][:n]`, PV on the first `int(P/100 · #leaves)` of `leaves[1::2]` (P = 50 % is
//! the notebook's `n`; the paper's README asks for 10, 30 and 50 % "of buses"); no bus has both.
//! `lv_only` drops leaves above 1 kV (village80's 20 kV slack bus is a leaf and would receive PV).
//! `pv_on_even_leaves` swaps the parity (PV on `leaves[0::2]`, loads on `leaves[1::2]`), as the
//! paper's single-timestep notebook places them (`--preset paper2024-single-step`).
//!
//! # Layers
//!
//! A scenario is resolved from layers, each a TOML table over the previous one: the defaults, a
//! preset, a scenario file, and the command line's flags (which are one more layer, built by the
//! CLI as a table of the same keys). Sweep grid points are layers too. A key a layer sets that the
//! scenario's placement does not use is refused ([`Scenario::check_honoured`]), so a preset never
//! silently ignores a flag.

pub mod community;
pub mod household_model;
pub mod seed_community;
mod validate;

use crate::error::{Error, Location, Result};
use crate::market::strategy::Strategy;
use crate::market::Mechanism;
use serde::{Deserialize, Serialize};

/// How prosumers are placed on the feeder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Every load of the feeder is a prosumer; PV on a seeded share of them.
    LoadBuses,
    /// The paper's alternating placement on leaf buses.
    PaperLeaves,
}

/// Named scenario bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The SmartGridComm 2024 study as its notebook computes it.
    #[value(name = "paper2024")]
    #[serde(rename = "paper2024")]
    Paper2024,
    /// The same study with the notebook's defects fixed.
    #[value(name = "paper2024-corrected")]
    #[serde(rename = "paper2024-corrected")]
    Paper2024Corrected,
    /// The paper's single-timestep study (its second notebook): hour 11 on cigre44 with the
    /// trades ×100, the notebook's LP next to netclear's network correction (study::paper_step).
    #[value(name = "paper2024-single-step")]
    #[serde(rename = "paper2024-single-step")]
    Paper2024SingleStep,
    /// The 100-prosumer community simulation with its urgency pricing, market fallback and
    /// regulator (`docs/presets/community100.md`).
    #[value(name = "community100")]
    #[serde(rename = "community100")]
    Community100,
    /// Seed 003's five households (48 half-hours, 10 kWh batteries, 5 kWp PV, 0.15 / 0.05
    /// $/kWh): individual, central and shared batteries, optimal and greedy
    /// (`docs/presets/multiagent5.md`).
    #[value(name = "multiagent5")]
    #[serde(rename = "multiagent5")]
    Multiagent5,
    /// The microgrid/VPP seed's four prosumers with its batteries, community battery and
    /// wholesale-pass retailer (`docs/presets/vpp4.md`).
    #[value(name = "vpp4")]
    #[serde(rename = "vpp4")]
    Vpp4,
}

impl Preset {
    /// Whether this is one of the 2024 paper's presets (which get the paper comparison).
    pub fn is_paper(self) -> bool {
        matches!(
            self,
            Preset::Paper2024 | Preset::Paper2024Corrected | Preset::Paper2024SingleStep
        )
    }
}

/// The `network` of a study without one: a copper plate (no power flow, no correction, said so
/// in every output). Only the seed community (`[seed_community]`) runs on it.
pub const NO_NETWORK: &str = "none";

/// The scenario keys that hold a path. In a scenario file a relative path is relative to the
/// file's folder (the one rule, applied by [`Layer::from_file`]); `builtin:NAME` sources and a
/// shipped feeder's name (`network` without a `/` and without a `.json`/`.m` extension) are not
/// paths. On the command line paths are relative to the working directory, as usual.
pub const PATH_KEYS: &[&str] = &[
    "network",
    "import",
    "dump_lp",
    "profiles.households",
    "profiles.commercial",
    "profiles.pv",
    "retailer.wholesale_file",
];

/// `v` resolved against `dir` when it is a relative path (see [`PATH_KEYS`]).
fn rebase(key: &str, v: &str, dir: &std::path::Path) -> Option<String> {
    let p = std::path::Path::new(v);
    if v.is_empty() || v.starts_with("builtin:") || p.is_absolute() || dir.as_os_str().is_empty() {
        return None;
    }
    let looks_like_path =
        v.contains('/') || v.contains('\\') || v.ends_with(".json") || v.ends_with(".m");
    if key == "network" && !looks_like_path {
        return None;
    }
    Some(dir.join(p).display().to_string())
}

/// Profile sources (`builtin:NAME` or a CSV path) and columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Profiles {
    /// Residential load file.
    pub households: String,
    /// Columns households are drawn from (all `_kw` columns when empty).
    pub household_columns: Vec<String>,
    /// How each household's curve is made from those columns: `measured` (as they are) or
    /// `stochastic` (a scaled, shifted curve of a nearby day per household,
    /// [`household_model`]).
    #[serde(skip_serializing_if = "household_model::HouseholdModel::is_measured")]
    pub household_model: household_model::HouseholdModel,
    /// Non-residential load file.
    pub commercial: String,
    /// Columns drawn for non-residential loads (all `_kw` columns when empty).
    pub commercial_columns: Vec<String>,
    /// PV file.
    pub pv: String,
    /// PV column.
    pub pv_column: String,
    /// A mix of PV columns (orientations, sites): each PV prosumer follows one, drawn by the
    /// seed; replaces `pv_column` when not empty (placement `load-buses`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pv_columns: Vec<String>,
    /// kWp the PV column describes (1 for `_kw_per_kwp` columns; the paper's are 3 kWp systems).
    pub pv_column_kwp: f64,
    /// A time series per load (wide or long CSV, [`crate::element_series`]): the loads it names
    /// follow it instead of drawn household curves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_series: Option<String>,
    /// A time series per static generator of the feeder: these generators are the PV (at their
    /// buses), replacing the seeded PV share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pv_series: Option<String>,
    /// Whether the series a feeder file carries for its own elements (SimBench profiles in a
    /// pandapower JSON, [`crate::element_series::FeederSeries`]) drive its loads and static
    /// generators where `load_series`/`pv_series` give none (default `true`).
    #[serde(skip_serializing_if = "is_true")]
    pub feeder_series: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for Profiles {
    fn default() -> Self {
        Profiles {
            households: "builtin:households".into(),
            household_columns: Vec::new(),
            household_model: Default::default(),
            commercial: "builtin:commercial".into(),
            commercial_columns: vec![
                "food_production_load_kw".into(),
                "metal_company_load_kw".into(),
                "restaurant_load_kw".into(),
                "repair_metal_shop_load_kw".into(),
                "bdew_g0_load_kw".into(),
            ],
            pv: "builtin:pv".into(),
            pv_column: "pv3_kw_per_kwp".into(),
            pv_columns: Vec::new(),
            pv_column_kwp: 1.0,
            load_series: None,
            pv_series: None,
            feeder_series: true,
        }
    }
}

/// Retail tariff and feed-in tariff.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tariff {
    /// Price of energy bought from the retailer, per kWh.
    pub retail_per_kwh: f64,
    /// Price paid for energy exported to the retailer, per kWh.
    pub feed_in_per_kwh: f64,
}

impl Default for Tariff {
    fn default() -> Self {
        Tariff {
            retail_per_kwh: 0.25,
            feed_in_per_kwh: 0.05,
        }
    }
}

/// Market settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketSpec {
    /// Clearing mechanism.
    pub mechanism: Mechanism,
    /// Price strategy.
    pub strategy: Strategy,
    /// Bid of the `fixed` strategy, per kWh.
    pub bid_per_kwh: f64,
    /// Ask of the `fixed` strategy, per kWh.
    pub ask_per_kwh: f64,
    /// The urgency scale of the `cap-urgency` strategy: the largest order of one prosumer in
    /// one step, kWh (the seed community's `MAX_TRADE_CAP`).
    pub trade_cap_kwh: f64,
    /// Cap on P2P prices, per kWh: bids above it are cut to it, asks above it are withdrawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_cap_per_kwh: Option<f64>,
    /// How the market and the network meet.
    pub design: MarketDesign,
    /// Also run the other two designs on the same day and compare them.
    pub compare_designs: bool,
}

/// How the market and the network meet (see [`crate::market::pairs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MarketDesign {
    /// The auction matches on bid and ask prices; the network correction then undoes what the
    /// limits do not allow, and network charges are billed after the fact.
    #[default]
    AuctionThenCorrect,
    /// Every seller–buyer pair's usage charge is subtracted from its surplus before matching, and
    /// the trades maximise the net surplus; the correction follows.
    ChargesInBids,
    /// One optimisation of trades (net surplus), curtailment and shedding under the network
    /// limits: the system-centric welfare optimum.
    Welfare,
}

impl MarketDesign {
    /// All designs, in comparison order.
    pub const ALL: [MarketDesign; 3] = [
        MarketDesign::AuctionThenCorrect,
        MarketDesign::ChargesInBids,
        MarketDesign::Welfare,
    ];
}

impl Default for MarketSpec {
    fn default() -> Self {
        MarketSpec {
            mechanism: Mechanism::PayAsAsk,
            strategy: Strategy::Fixed,
            bid_per_kwh: 0.20,
            ask_per_kwh: 0.05,
            trade_cap_kwh: 3.0,
            price_cap_per_kwh: None,
            design: MarketDesign::AuctionThenCorrect,
            compare_designs: false,
        }
    }
}

/// A fully resolved scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// The preset this scenario started from, if any.
    pub preset: Option<Preset>,
    /// Feeder: shipped name or folder.
    pub network: String,
    /// Study day (`YYYY-MM-DD`, local date of the profile files).
    pub day: String,
    /// A multi-day study: `FROM..TO` (both included, `YYYY-MM-DD`), run day by day with every
    /// battery's state carried across midnight ([`crate::study::period`]); replaces `day`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<String>,
    /// Step length, minutes: any divisor of 60 ([`valid_step`]); profiles at other steps are
    /// resampled energy-conserving ([`crate::profiles::resample`]).
    pub step_minutes: u32,
    /// Seed for every random choice.
    pub seed: u64,
    /// Share of prosumers with PV, % (placement `load-buses`).
    pub pv_share_percent: f64,
    /// PV size per connection unit, kWp.
    pub pv_kwp_per_household: f64,
    /// Design peak of one household connection, kW.
    pub household_peak_kw: f64,
    /// Power factor of loads (for reactive power in AC checks).
    pub load_power_factor: f64,
    /// Placement rule.
    pub placement: Placement,
    /// Drop leaves above 1 kV (placement `paper-leaves`).
    pub lv_only: bool,
    /// PV on the even leaves and loads on the odd ones (placement `paper-leaves`; the
    /// single-timestep notebook's parity, the 24-h notebook's is the default).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pv_on_even_leaves: bool,
    /// Use pandapower's line ratings instead of the shipped ones.
    pub pandapower_ratings: bool,
    /// Profiles.
    pub profiles: Profiles,
    /// Tariffs.
    pub tariff: Tariff,
    /// Market.
    pub market: MarketSpec,
    /// Network-aware clearing.
    pub clearing: crate::clearing::ClearingSpec,
    /// Where to dump failing optimisation problems (JSON), if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump_lp: Option<String>,
    /// Import prosumers (PV, load) and the wholesale price from a workbook or CSV
    /// ([`crate::import`]); with `pricing = wholesale-pass` its price is the wholesale price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
    /// The workbook sheet to import (the first sheet when unset; see [`crate::import`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_sheet: Option<String>,
    /// Batteries.
    pub storage: StorageSpec,
    /// Retailer pricing.
    pub retailer: RetailerSpec,
    /// P2P delivery factor η: buyers pay a loss fee of `(1/η − 1)` × the trade price per kWh
    /// (the seed's 0.97 is its scenario's; default 1 = no fee). Money, not energy: see
    /// [`crate::settlement`].
    pub line_eta: f64,
    /// Electric vehicles ([`crate::storage::ev`]).
    pub ev: EvSpec,
    /// Shiftable loads ([`crate::storage::shiftable`]).
    pub flex: FlexSpec,
    /// The seed community simulation ([`crate::study::seed_community`]): when present, `run`
    /// simulates it instead of the baseline-vs-P2P study (`network = "none"`: a copper plate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed_community: Option<seed_community::SeedCommunity>,
    /// Which result files a run writes ([`Outputs`]).
    #[serde(skip_serializing_if = "Outputs::is_all")]
    pub outputs: Outputs,
}

/// Which result files a run writes. The tables of case × step × element (settlement, line
/// loading, bus voltages, nodal prices, trades, batteries, EVs, shiftable loads) grow with the
/// feeder times the day: at 10⁵ buses they are a gigabyte of CSV and most of the run's time.
/// `summary` keeps the files whose rows do not multiply steps by elements (summary, feeder,
/// hourly, prosumers, lines, network, clearing): every KPI and every day total is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Outputs {
    /// Every table.
    #[default]
    All,
    /// No case × step × element tables.
    Summary,
}

impl Outputs {
    /// Whether every table is written (the default, left out of a printed scenario).
    pub fn is_all(&self) -> bool {
        *self == Outputs::All
    }
}

/// Which prices flexibility (EVs, shiftable loads) responds to in the P2P case. The baseline
/// always responds to the retailer alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FlexPricing {
    /// The P2P pool for what it can absorb or supply, at the internal price, retail and feed-in
    /// beyond (as a coupled home battery sees it): P2P changes physical flows.
    #[default]
    Pool,
    /// The retailer's prices only: the P2P case's flexibility is the baseline's.
    Retail,
}

/// How the decentralised community's flexibility — home batteries, shares of the shared
/// battery, EVs, shiftable and curtailable loads — decides (`flex.mode`, `--flex-mode`; the
/// third mode of the issue, one central optimisation, is `storage.clearing = central`). Unset:
/// each kind as its own key says (`storage.settlement`, `ev.pricing`, `flex.pricing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FlexMode {
    /// Seed 004's inner demand response: every household first uses its own flexibility to
    /// minimise its own imbalance — what it must draw from outside, never by wasting surplus
    /// ([`crate::study::plan::INNER_WEIGHT_PER_KWH`]) — in both cases alike, and only the
    /// residual goes to the market; baseline and P2P are physically the same.
    Inner,
    /// Price-responsive: in the P2P case every asset sees the step's prices — the P2P pool at
    /// the internal price plus the network charge a buyer expects to pay, retail and feed-in
    /// beyond; the baseline sees the retailer only.
    Price,
}

/// Electric vehicles of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvSpec {
    /// Share of households with an EV, % (drawn by the seed; [`crate::storage::ev::draw`]).
    pub share_percent: f64,
    /// Charging policy.
    pub charging: crate::storage::ev::EvCharging,
    /// Prices EVs see in the P2P case.
    pub pricing: FlexPricing,
    /// Explicit EVs (overrides the share).
    pub fleet: Vec<crate::storage::ev::Ev>,
}

impl Default for EvSpec {
    fn default() -> Self {
        EvSpec {
            share_percent: 0.0,
            charging: crate::storage::ev::EvCharging::Uncontrolled,
            pricing: FlexPricing::Pool,
            fleet: Vec::new(),
        }
    }
}

/// Shiftable loads of a scenario ([`crate::storage::shiftable`] states the defaults' grounds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlexSpec {
    /// Share of households with a shiftable load, % (drawn by the seed).
    pub share_percent: f64,
    /// Fraction of the consumption in the window that can be shifted.
    pub fraction: f64,
    /// Window start, h from midnight.
    pub window_start_h: f64,
    /// Window end, h from midnight.
    pub window_end_h: f64,
    /// Largest power of the shiftable part per household, kW.
    pub power_kw: f64,
    /// Prices shiftable loads see in the P2P case.
    pub pricing: FlexPricing,
    /// Fraction of a flexible household's load that may be dropped per step
    /// ([`crate::storage::curtailable`]).
    pub curtail_fraction: f64,
    /// Discomfort cost of each kWh dropped, $/kWh (a welfare cost, not paid).
    pub curtail_cost_per_kwh: f64,
    /// How all the households' flexibility decides (unset: each kind as its own key says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FlexMode>,
}

impl Default for FlexSpec {
    fn default() -> Self {
        FlexSpec {
            share_percent: 0.0,
            fraction: 0.1,
            window_start_h: 7.0,
            window_end_h: 23.0,
            power_kw: 2.0,
            pricing: FlexPricing::Pool,
            curtail_fraction: 0.0,
            curtail_cost_per_kwh: crate::storage::curtailable::CURTAIL_COST_PER_KWH,
            mode: None,
        }
    }
}

impl FlexSpec {
    /// The parameters of each household's shiftable load.
    pub fn params(&self) -> crate::storage::shiftable::Params {
        crate::storage::shiftable::Params {
            fraction: self.fraction,
            window_start_h: self.window_start_h,
            window_end_h: self.window_end_h,
            power_kw: self.power_kw,
        }
    }
}

/// How the day is cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ClearingMode {
    /// Batteries scheduled first, then the hourly auction, then the network correction.
    Auction,
    /// One optimisation of the whole community: batteries, P2P exchange and network together.
    Central,
}

/// How the internal P2P price relates to battery dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SettlementMode {
    /// Home batteries see only the retailer's prices; the internal price only splits money.
    SettlementOnly,
    /// In the P2P case, home batteries see the internal price for the energy the pool can
    /// actually supply or absorb, retail and feed-in beyond. The
    /// baseline always dispatches against the retailer alone.
    Coupled,
}

/// Batteries of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSpec {
    /// Dispatch model.
    pub model: crate::storage::StorageModel,
    /// Share of prosumers with a home battery, %.
    pub battery_share_percent: f64,
    /// Home battery per household (scaled by the prosumer's households).
    pub battery: crate::storage::Battery,
    /// Explicit home-battery capacities by prosumer index, kWh (0 = none); overrides the share.
    pub per_prosumer_kwh: Vec<f64>,
    /// Explicit home-battery power by prosumer index, kW (charge and discharge).
    pub per_prosumer_kw: Vec<f64>,
    /// Whether the community (VPP) battery exists.
    pub vpp: bool,
    /// Bus of the community battery (default: the first LV bus below the slack).
    pub vpp_bus: Option<i64>,
    /// The community battery.
    pub vpp_battery: crate::storage::Battery,
    /// Auction or central clearing.
    pub clearing: ClearingMode,
    /// Internal price in dispatch.
    pub settlement: SettlementMode,
    /// Who gets the home batteries.
    pub placement: BatteryPlacement,
    /// The community battery is a **shared battery** (seed 003): its capacity and power split
    /// virtually among the members, each share dispatched by its member as its own battery and
    /// settled behind the member's meter, physically one device at `vpp_bus`
    /// ([`crate::scenario::community::SharedBattery`]). Implies the device (`vpp_battery`).
    pub shared: bool,
    /// How the shared battery is split among the members.
    pub shared_split: SharedSplit,
    /// Also run the battery-kinds comparison with every battery on the greedy rule (the seed's
    /// greedy-versus-optimal comparison).
    pub compare_greedy: bool,
}

/// How a shared battery's capacity and power are split among its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SharedSplit {
    /// Every member the same share, `1/n`.
    #[default]
    Equal,
    /// Shares proportional to each member's consumption over the day.
    Consumption,
}

/// Which prosumers get the home batteries of a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BatteryPlacement {
    /// Prosumers with PV first (seeded among them), then the others.
    PvFirst,
    /// A seeded share of all prosumers, independent of PV.
    Independent,
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            model: crate::storage::StorageModel::Milp,
            battery_share_percent: 0.0,
            battery: crate::storage::Battery::default(),
            per_prosumer_kwh: Vec::new(),
            per_prosumer_kw: Vec::new(),
            vpp: false,
            vpp_bus: None,
            vpp_battery: crate::storage::Battery::community(),
            clearing: ClearingMode::Auction,
            settlement: SettlementMode::SettlementOnly,
            placement: BatteryPlacement::PvFirst,
            shared: false,
            shared_split: SharedSplit::Equal,
            compare_greedy: false,
        }
    }
}

/// The retailer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetailerSpec {
    /// Pricing mode (`fixed` uses `tariff`).
    pub pricing: crate::tariff::PricingMode,
    /// Wholesale price file (`builtin:aemo` or a CSV path).
    pub wholesale_file: String,
    /// Wholesale price column.
    pub wholesale_column: String,
    /// Day of the wholesale series.
    pub wholesale_day: String,
    /// `wholesale-pass` parameters.
    pub wholesale_pass: crate::tariff::WholesalePass,
    /// Daily fixed charge per prosumer, $/day (the seed's retailer: 0.9).
    pub daily_fixed_charge: f64,
    /// Time-of-use prices (`pricing = time-of-use`).
    pub time_of_use: crate::tariff::TimeOfUse,
    /// Regulator policy.
    pub policy: crate::tariff::Policy,
}

impl Default for RetailerSpec {
    fn default() -> Self {
        RetailerSpec {
            pricing: crate::tariff::PricingMode::Fixed,
            wholesale_file: "builtin:aemo".into(),
            wholesale_column: "nsw1_rrp_aud_per_mwh".into(),
            wholesale_day: "2020-01-02".into(),
            wholesale_pass: crate::tariff::WholesalePass::default(),
            daily_fixed_charge: 0.0,
            time_of_use: crate::tariff::TimeOfUse::default(),
            policy: crate::tariff::Policy::default(),
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            preset: None,
            network: "cigre44".into(),
            day: "2016-06-15".into(),
            days: None,
            step_minutes: 60,
            seed: 1,
            pv_share_percent: 30.0,
            pv_kwp_per_household: 3.0,
            household_peak_kw: 5.1,
            load_power_factor: 0.95,
            placement: Placement::LoadBuses,
            lv_only: false,
            pv_on_even_leaves: false,
            pandapower_ratings: false,
            profiles: Profiles::default(),
            tariff: Tariff::default(),
            market: MarketSpec::default(),
            clearing: crate::clearing::ClearingSpec::default(),
            dump_lp: None,
            import: None,
            import_sheet: None,
            storage: StorageSpec::default(),
            retailer: RetailerSpec::default(),
            line_eta: 1.0,
            ev: EvSpec::default(),
            flex: FlexSpec::default(),
            seed_community: None,
            outputs: Outputs::All,
        }
    }
}

impl Scenario {
    /// The scenario a preset starts from.
    pub fn preset(p: Preset) -> Scenario {
        if p == Preset::Community100 {
            return Scenario {
                preset: Some(p),
                network: NO_NETWORK.into(),
                market: MarketSpec {
                    // The seed prices each matched pair at the mid of bid and ask.
                    mechanism: Mechanism::MidPrice,
                    strategy: Strategy::CapUrgency,
                    trade_cap_kwh: 3.0,
                    ..MarketSpec::default()
                },
                seed_community: Some(seed_community::SeedCommunity::default()),
                ..Scenario::default()
            };
        }
        match p {
            Preset::Multiagent5 => return Scenario::multiagent5(),
            Preset::Vpp4 => return Scenario::vpp4(),
            _ => {}
        }
        let mut s = Scenario {
            preset: Some(p),
            network: "cigre44".into(),
            day: "typical".into(),
            step_minutes: 60,
            pv_kwp_per_household: 3.0,
            placement: Placement::PaperLeaves,
            load_power_factor: 0.99,
            profiles: Profiles {
                households: "builtin:paper2024".into(),
                household_columns: vec!["res_cluster_0_load_kw".into()],
                household_model: Default::default(),
                commercial: "builtin:paper2024".into(),
                commercial_columns: vec!["com_cluster_0_load_kw".into()],
                pv: "builtin:paper2024".into(),
                pv_column: "pv3kwp_cluster_1_kw".into(),
                pv_columns: Vec::new(),
                pv_column_kwp: 3.0,
                load_series: None,
                pv_series: None,
                feeder_series: true,
            },
            tariff: Tariff {
                retail_per_kwh: 0.20,
                feed_in_per_kwh: 0.0,
            },
            market: MarketSpec {
                mechanism: Mechanism::PaperGreedy,
                strategy: Strategy::Fixed,
                bid_per_kwh: 0.20,
                ask_per_kwh: 0.05,
                price_cap_per_kwh: None,
                ..MarketSpec::default()
            },
            ..Scenario::default()
        };
        // The notebook puts PV on n = int(0.5·#leaves) leaf buses: a 50 % share.
        s.pv_share_percent = 50.0;
        // The notebook checks trades with a DC approximation; the corrected study with the
        // formulation LV feeders need.
        s.clearing.model = crate::clearing::NetworkModel::Dc;
        s.line_eta = 1.0;
        if p == Preset::Paper2024Corrected {
            s.market.mechanism = Mechanism::PayAsAsk;
            s.lv_only = true;
            s.clearing.model = crate::clearing::NetworkModel::Lindistflow;
        }
        if p == Preset::Paper2024SingleStep {
            // The single-timestep notebook's placement: PV on leaves[0::2], loads on leaves[1::2].
            s.pv_on_even_leaves = true;
        }
        s
    }

    /// Seed 003's community (`--preset multiagent5`; every parameter and the key that carries
    /// it: `docs/presets/multiagent5.md`): five households imported from the shipped day
    /// (`builtin:multiagent5`: SimBench H0 households and 5 kWp of PV each, 2016-03-15, 48
    /// half-hours) on the first five load buses of the small rural feeder `rural_2` (netclear has
    /// no copper plate: the network is checked, not assumed away), retail 0.15 and feed-in 0.05
    /// $/kWh, a mid-price auction between them (0.10 $/kWh), and the seed's 10 kWh / 5 kW
    /// battery per household as a 50 kWh / 25 kW shared battery split equally — so the battery
    /// kinds compare the seed's three models at the same capacity (individual: each share at
    /// home; central; shared), under the optimal (MILP) and the greedy rule.
    fn multiagent5() -> Scenario {
        let mut s = Scenario {
            preset: Some(Preset::Multiagent5),
            network: "rural_2".into(),
            day: "2016-03-15".into(),
            step_minutes: 30,
            import: Some("builtin:multiagent5".into()),
            tariff: Tariff {
                retail_per_kwh: 0.15,
                feed_in_per_kwh: 0.05,
            },
            ..Scenario::default()
        };
        s.market.mechanism = Mechanism::MidPrice;
        s.market.strategy = Strategy::Fixed;
        s.market.bid_per_kwh = 0.15;
        s.market.ask_per_kwh = 0.05;
        s.storage.model = crate::storage::StorageModel::Milp;
        s.storage.shared = true;
        s.storage.shared_split = SharedSplit::Equal;
        s.storage.compare_greedy = true;
        s.storage.vpp_battery = crate::storage::Battery {
            e_kwh: 5.0 * 10.0,
            p_charge_kw: 5.0 * 5.0,
            p_discharge_kw: 5.0 * 5.0,
            ..crate::storage::Battery::default()
        };
        s
    }

    /// The microgrid/VPP seed's community (`--preset vpp4`; `docs/presets/vpp4.md`): its four
    /// prosumers from the shipped workbook (5-minute day, AEMO NSW1 prices) on village80's
    /// first load buses, home batteries Ecap [10, 6, 0, 5] kWh at P [5, 3, 0, 3] kW (η 0.95 each
    /// way, SOC 10–90 %, start 50 %), the community battery enabled (50 kWh, 10 kW), line_eta
    /// 0.97, the wholesale-pass retailer (markup 0.08, floor 0.10, β_fit 0.8, feed-in cap 0.12
    /// $/kWh) and its 0.9 $/day fixed charge.
    fn vpp4() -> Scenario {
        let mut s = Scenario {
            preset: Some(Preset::Vpp4),
            network: "village80".into(),
            step_minutes: 5,
            import: Some("builtin:example_community".into()),
            line_eta: 0.97,
            ..Scenario::default()
        };
        s.storage.model = crate::storage::StorageModel::Milp;
        s.storage.per_prosumer_kwh = vec![10.0, 6.0, 0.0, 5.0];
        s.storage.per_prosumer_kw = vec![5.0, 3.0, 0.0, 3.0];
        s.storage.vpp = true;
        s.storage.vpp_battery = crate::storage::Battery::community();
        s.storage.battery = crate::storage::Battery::default();
        s.retailer.pricing = crate::tariff::PricingMode::WholesalePass;
        s.retailer.wholesale_pass = crate::tariff::WholesalePass {
            markup_per_kwh: 0.08,
            beta_fit: 0.8,
            floor_per_kwh: 0.10,
            fit_cap_per_kwh: 0.12,
        };
        s.retailer.daily_fixed_charge = 0.9;
        s
    }

    /// Parses a scenario TOML file over the given base.
    pub fn from_toml(file: &str, text: &str) -> Result<Scenario> {
        let s: Scenario = toml::from_str(text).map_err(|e| Error::Malformed {
            loc: Location::file(file),
            msg: e.to_string(),
        })?;
        Ok(s)
    }

    /// The scenario as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise scenario: {e}\n"))
    }

    /// Keys this scenario's placement does not use: setting them in a layer is refused.
    pub fn unused_keys(&self) -> &'static [&'static str] {
        if self.seed_community.is_some() {
            // The seed community draws its own prosumers, prices and batteries.
            return &[
                "day",
                "days",
                "step_minutes",
                "pv_share_percent",
                "pv_kwp_per_household",
                "household_peak_kw",
                "placement",
                "lv_only",
                "profiles",
                "tariff",
                "import",
                "import_sheet",
                "storage",
                "retailer",
                "line_eta",
                "ev",
                "flex",
                "market.bid_per_kwh",
                "market.ask_per_kwh",
                "market.price_cap_per_kwh",
                "market.design",
                "market.compare_designs",
                "clearing.model",
                "clearing.network_charges",
                "clearing.background",
                "dump_lp",
            ];
        }
        match (self.placement, self.import.is_some()) {
            (Placement::PaperLeaves, _) => &[
                "household_peak_kw",
                "profiles.household_model",
                "profiles.pv_columns",
                "profiles.commercial",
                "profiles.commercial_columns",
                "profiles.load_series",
                "profiles.pv_series",
                "profiles.feeder_series",
                "import",
                "import_sheet",
            ],
            (Placement::LoadBuses, true) => &[
                "pv_share_percent",
                "pv_kwp_per_household",
                "household_peak_kw",
                "lv_only",
                "pv_on_even_leaves",
                "profiles",
            ],
            (Placement::LoadBuses, false) => &["lv_only", "pv_on_even_leaves", "import_sheet"],
        }
    }

    /// Fails when a layer sets a key the scenario does not use to something other than its
    /// `base` value (a preset or an import would otherwise silently ignore it).
    pub fn check_honoured(&self, base: &Scenario, layers: &[Layer]) -> Result<()> {
        let (mine, theirs) = (
            toml::Table::try_from(self).map_err(|e| Error::Numerical(e.to_string()))?,
            toml::Table::try_from(base).map_err(|e| Error::Numerical(e.to_string()))?,
        );
        let get = |t: &toml::Table, key: &str| -> Option<toml::Value> {
            let mut cur = toml::Value::Table(t.clone());
            for k in key.split('.') {
                cur = cur.as_table()?.get(k)?.clone();
            }
            Some(cur)
        };
        for l in layers {
            for key in self.unused_keys() {
                if l.sets(key) && get(&mine, key) != get(&theirs, key) {
                    return Err(Error::invalid(
                        l.location_of(key),
                        if self.seed_community.is_some() {
                            "is not used by the seed community (`[seed_community]` draws its \
                             own prosumers, prices and batteries); remove it"
                                .to_string()
                        } else {
                            format!(
                                "is not used by this scenario (placement `{}`{}); remove it",
                                crate::util::serde_name(&self.placement),
                                if self.import.is_some() {
                                    ", prosumers imported from a file"
                                } else {
                                    ""
                                }
                            )
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// The study's dates: every day of `days = "FROM..TO"` (both included), or the one `day`.
    pub fn dates(&self) -> Result<Vec<String>> {
        let Some(range) = &self.days else {
            return Ok(vec![self.day.clone()]);
        };
        let loc = || Location::file("scenario").field("days");
        let bad = |msg: &str| Error::invalid(loc(), format!("`{range}`: {msg}"));
        let (from, to) = range
            .split_once("..")
            .ok_or_else(|| bad("expected FROM..TO, e.g. 2016-06-14..2016-06-20"))?;
        let parse = |d: &str| {
            crate::util::dates::parse(d.trim()).ok_or_else(|| bad("dates are YYYY-MM-DD"))
        };
        let (a, b) = (parse(from)?, parse(to)?);
        if b < a {
            return Err(bad("TO is before FROM"));
        }
        if b - a >= MAX_DAYS {
            return Err(bad(&format!("at most {MAX_DAYS} days")));
        }
        Ok((a..=b).map(crate::util::dates::format).collect())
    }
}

/// The longest multi-day study, days (ten years).
pub const MAX_DAYS: i64 = 3660;

/// Whether a step length is one a study runs at: a divisor of the hour, so that every step lies
/// within one clock hour (time-of-use periods, hourly prices) and a day has whole steps.
pub fn valid_step(step_minutes: u32) -> bool {
    step_minutes > 0 && 60 % step_minutes == 0
}

/// One layer of a scenario: a TOML table of keys to set, and where it came from (a file's path,
/// or `command line` for flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Where the keys came from.
    pub source: String,
    /// The keys.
    pub table: toml::Table,
    /// Where in the source each dotted key was set (a file's line, a flag), for messages.
    pub origins: std::collections::BTreeMap<String, Origin>,
}

/// Where a layer set one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A line of the layer's file (1-based).
    Line(u64),
    /// A command-line flag (`--seed`).
    Flag(String),
}

impl Layer {
    /// An empty layer from `source`.
    pub fn new(source: impl Into<String>) -> Layer {
        Layer {
            source: source.into(),
            table: toml::Table::new(),
            origins: Default::default(),
        }
    }

    /// A layer parsed from a TOML file's text; each key's line is kept for messages.
    pub fn from_toml(file: &str, text: &str) -> Result<Layer> {
        let table: toml::Table = toml::from_str(text).map_err(|e| Error::Malformed {
            loc: Location::file(file),
            msg: e.to_string(),
        })?;
        let mut origins = std::collections::BTreeMap::new();
        if let Ok(doc) = toml::de::DeTable::parse(text) {
            fn walk(
                t: &toml::de::DeTable<'_>,
                prefix: &str,
                text: &str,
                out: &mut std::collections::BTreeMap<String, Origin>,
            ) {
                for (k, v) in t {
                    let key = format!("{prefix}{}", k.get_ref());
                    let at = k.span().start.min(text.len());
                    let line = 1 + text.as_bytes()[..at]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    out.entry(key.clone()).or_insert(Origin::Line(line as u64));
                    if let toml::de::DeValue::Table(inner) = v.get_ref() {
                        walk(inner, &format!("{key}."), text, out);
                    }
                }
            }
            walk(doc.get_ref(), "", text, &mut origins);
        }
        Ok(Layer {
            source: file.to_string(),
            table,
            origins,
        })
    }

    /// Where this layer set `dotted.key`, as a location (file and line, or the flag).
    pub fn location_of(&self, key: &str) -> Location {
        match self.origins.get(key) {
            Some(Origin::Line(n)) => Location::file(&self.source).row(*n).field(key),
            Some(Origin::Flag(f)) => Location::file(f.clone()).field(key),
            None => Location::file(&self.source).field(key),
        }
    }

    /// Sets `dotted.key = value` in the layer, remembering the flag that set it.
    pub fn set_by(&mut self, key: &str, value: impl Into<toml::Value>, flag: &str) {
        self.origins
            .insert(key.to_string(), Origin::Flag(flag.to_string()));
        self.set(key, value);
    }

    /// A layer read from a scenario file: its text parsed, and every relative path in it
    /// resolved against the file's folder ([`PATH_KEYS`]), so a scenario file means the same
    /// thing from any working directory.
    pub fn from_file(path: &std::path::Path, text: &str) -> Result<Layer> {
        let mut l = Layer::from_toml(&path.display().to_string(), text)?;
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        for key in PATH_KEYS {
            let mut t = &mut l.table;
            let mut parts = key.split('.').peekable();
            while let Some(k) = parts.next() {
                if parts.peek().is_some() {
                    match t.get_mut(k).and_then(toml::Value::as_table_mut) {
                        Some(next) => t = next,
                        None => break,
                    }
                    continue;
                }
                if let Some(toml::Value::String(v)) = t.get_mut(k) {
                    if let Some(rebased) = rebase(key, v, dir) {
                        *v = rebased;
                    }
                }
            }
        }
        Ok(l)
    }

    /// Sets `dotted.key = value` in the layer.
    pub fn set(&mut self, key: &str, value: impl Into<toml::Value>) {
        let mut t = &mut self.table;
        let mut parts = key.split('.').peekable();
        while let Some(k) = parts.next() {
            if parts.peek().is_none() {
                t.insert(k.to_string(), value.into());
                return;
            }
            let entry = t
                .entry(k.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            let Some(next) = entry.as_table_mut() else {
                return;
            };
            t = next;
        }
    }

    /// Whether the layer sets `dotted.key`.
    pub fn sets(&self, key: &str) -> bool {
        let mut t = &self.table;
        let mut parts = key.split('.').peekable();
        while let Some(k) = parts.next() {
            match t.get(k) {
                None => return false,
                Some(_) if parts.peek().is_none() => return true,
                Some(toml::Value::Table(next)) => t = next,
                Some(_) => return false,
            }
        }
        false
    }
}

/// Resolves a scenario: the preset named by `preset` (or by a layer's `preset` key, or the
/// defaults), then each layer's values over it in order. The result is validated, and every key
/// a layer sets must be honoured by the resolved placement ([`Scenario::check_honoured`]).
pub fn resolve_layers(preset: Option<Preset>, layers: &[Layer]) -> Result<Scenario> {
    let mut layer_preset = None;
    for l in layers {
        if let Some(v) = l.table.get("preset") {
            layer_preset = Some(
                v.clone()
                    .try_into::<Preset>()
                    .map_err(|e| Error::Malformed {
                        loc: Location::file(&l.source).field("preset"),
                        msg: e.to_string(),
                    })?,
            );
        }
    }
    let base = preset
        .or(layer_preset)
        .map(Scenario::preset)
        .unwrap_or_default();
    let mut merged: toml::Table =
        toml::Table::try_from(&base).map_err(|e| Error::Numerical(e.to_string()))?;
    for l in layers {
        merge_tables(&mut merged, l.table.clone());
        // Each layer must make sense on its own terms: a wrong type or an unknown key names the
        // layer it came from.
        toml::Value::Table(merged.clone())
            .try_into::<Scenario>()
            .map_err(|e| Error::Malformed {
                loc: Location::file(&l.source),
                msg: e.to_string(),
            })?;
    }
    if let Some(p) = preset {
        merged.insert(
            "preset".into(),
            toml::Value::try_from(p).map_err(|e| Error::Numerical(e.to_string()))?,
        );
    }
    let s = toml::Value::Table(merged)
        .try_into::<Scenario>()
        .map_err(|e| Error::Malformed {
            loc: Location::file(layers.last().map_or("scenario", |l| l.source.as_str())),
            msg: e.to_string(),
        })?;
    s.check_honoured(&base, layers)?;
    s.validate_layers(layers)?;
    Ok(s)
}

/// Resolves a scenario from a preset and an optional file (`(path, text)`; relative paths in it
/// are relative to the file, [`Layer::from_file`]).
pub fn resolve(preset: Option<Preset>, file: Option<(&str, &str)>) -> Result<Scenario> {
    let layers = match file {
        Some((name, text)) => vec![Layer::from_file(std::path::Path::new(name), text)?],
        None => Vec::new(),
    };
    resolve_layers(preset, &layers)
}

/// Merges `over` into `base`, recursing into tables (the layer rule).
pub fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
