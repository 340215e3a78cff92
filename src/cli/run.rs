//! `netclear run`: one study, its files and its table. The flags are one more scenario layer
//! ([`flags_layer`]) over the preset and the scenario file.

use super::{progress_line, w};
use crate::error::Result;
use crate::scenario::Layer;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// `netclear run …`: scenario flags override the scenario file, which overrides the preset.
#[derive(Debug, Parser)]
pub struct RunArgs {
    /// Scenario file (TOML); see `--print-scenario` for every field.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Start from a preset: the 2024 paper as coded, or corrected (shown beside the original).
    #[arg(long, value_enum)]
    pub preset: Option<crate::scenario::Preset>,
    /// Feeder: shipped name or folder.
    #[arg(long)]
    pub network: Option<String>,
    /// Study day (YYYY-MM-DD in the profile files).
    #[arg(long)]
    pub day: Option<String>,
    /// A multi-day study, FROM..TO (YYYY-MM-DD, both included): batteries carry their state
    /// across midnight; KPIs per day and for the period.
    #[arg(long, value_name = "FROM..TO")]
    pub days: Option<String>,
    /// Step length in minutes: any divisor of 60 (5, 10, 15, 30, 60, …); profiles are resampled
    /// energy-conserving.
    #[arg(long)]
    pub step_minutes: Option<u32>,
    /// Seed for every random choice (PV placement, household profiles, zi prices).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of prosumers with PV, %.
    #[arg(long)]
    pub pv_share: Option<f64>,
    /// PV per household, kWp.
    #[arg(long)]
    pub pv_kwp: Option<f64>,
    /// Market mechanism.
    #[arg(long, value_enum)]
    pub mechanism: Option<crate::market::Mechanism>,
    /// Price strategy.
    #[arg(long, value_enum)]
    pub strategy: Option<crate::market::strategy::Strategy>,
    /// Bid of the fixed strategy, $/kWh.
    #[arg(long)]
    pub bid: Option<f64>,
    /// Ask of the fixed strategy, $/kWh.
    #[arg(long)]
    pub ask: Option<f64>,
    /// Retail price, $/kWh.
    #[arg(long)]
    pub retail: Option<f64>,
    /// Feed-in tariff, $/kWh.
    #[arg(long)]
    pub feed_in: Option<f64>,
    /// Use pandapower's line ratings.
    #[arg(long)]
    pub pandapower_ratings: bool,
    /// Network model that corrects the trades (default lindistflow: on LV feeders voltage rise
    /// binds first, and DC cannot see it).
    #[arg(long, value_enum)]
    pub network_model: Option<crate::clearing::NetworkModel>,
    /// Network charges on trades, paid by buyers (`nuc`: cost-reflective usage charge, known
    /// before matching).
    #[arg(long, value_enum)]
    pub network_charges: Option<crate::clearing::ChargeRule>,
    /// Time variation of the usage part of the `nuc` grid fee.
    #[arg(long, value_enum)]
    pub grid_fee_time: Option<crate::clearing::charges::GridFeeTime>,
    /// How the market and the network meet (default auction-then-correct).
    #[arg(long, value_enum)]
    pub market_design: Option<crate::scenario::MarketDesign>,
    /// Also run the other two market designs on the same day and compare the three.
    #[arg(long)]
    pub compare_designs: bool,
    /// Lowest allowed voltage, p.u. (default 0.90, EN 50160).
    #[arg(long)]
    pub vmin: Option<f64>,
    /// Highest allowed voltage, p.u. (default 1.10, EN 50160).
    #[arg(long)]
    pub vmax: Option<f64>,
    /// Use the planning band 0.95–1.05 pu instead of EN 50160's 0.90–1.10.
    #[arg(long)]
    pub planning_band: bool,
    /// Bring violations that exist without P2P within the limits (least-cost PV curtailment, and
    /// load shedding at VOLL), in both cases alike; by default they are reported, not corrected.
    #[arg(long)]
    pub enforce_limits: bool,
    /// Skip the AC power flow of every cleared step.
    #[arg(long)]
    pub no_ac_check: bool,
    /// Import prosumers and prices from a workbook (.xlsx) or CSV (see `netclear::import`).
    #[arg(long, value_name = "FILE")]
    pub import: Option<String>,
    /// The workbook sheet to import (default: the first sheet).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// How household curves are made: measured (the file's curves as they are, default) or
    /// stochastic (one scaled, shifted curve of a nearby day per household).
    #[arg(long, value_enum)]
    pub household_model: Option<crate::scenario::household_model::HouseholdModel>,
    /// PV profile file (`builtin:pv` SimBench 15 min, `builtin:pv_tmy3` NREL TMY3 Greensboro
    /// hourly, or a path).
    #[arg(long, value_name = "FILE")]
    pub pv_profile: Option<String>,
    /// PV column of the PV profile (e.g. pv_kw_per_kwp for builtin:pv_tmy3); several,
    /// comma-separated, give each PV prosumer one of them, drawn by the seed.
    #[arg(long, value_name = "COLUMN[,COLUMN…]", value_delimiter = ',')]
    pub pv_column: Option<Vec<String>>,
    /// A time series per load (wide `timestamp,<load>_kw,…` or long `timestamp,name,p_kw` CSV):
    /// the loads it names follow it instead of drawn household curves.
    #[arg(long, value_name = "FILE")]
    pub load_series: Option<String>,
    /// A time series per static generator of the feeder (same formats): these generators are
    /// the PV, replacing --pv-share.
    #[arg(long, value_name = "FILE")]
    pub pv_series: Option<String>,
    /// Share of prosumers with a home battery, %.
    #[arg(long)]
    pub battery_share: Option<f64>,
    /// Who gets the home batteries: pv-first (default) or independent of PV.
    #[arg(long, value_enum)]
    pub battery_placement: Option<crate::scenario::BatteryPlacement>,
    /// Home battery capacity per household, kWh (default 10).
    #[arg(long)]
    pub battery_kwh: Option<f64>,
    /// Home battery charge/discharge power per household, kW (default 5).
    #[arg(long)]
    pub battery_kw: Option<f64>,
    /// Add the community (VPP) battery (50 kWh, 10 kW).
    #[arg(long)]
    pub vpp: bool,
    /// Bus of the community battery (default: the transformer's LV busbar).
    #[arg(long)]
    pub vpp_bus: Option<i64>,
    /// Battery dispatch: none, lp (relaxed), milp (no simultaneous charge/discharge), greedy.
    #[arg(long, value_enum)]
    pub storage_model: Option<crate::storage::StorageModel>,
    /// Clearing: auction (batteries, then auction, then network) or central (one optimisation).
    #[arg(long, value_enum)]
    pub clearing: Option<crate::scenario::ClearingMode>,
    /// Whether battery dispatch sees the internal P2P price.
    #[arg(long, value_enum)]
    pub settlement: Option<crate::scenario::SettlementMode>,
    /// Retailer pricing: fixed (--retail/--feed-in) or wholesale-pass (AEMO prices + markup).
    #[arg(long, value_enum)]
    pub pricing: Option<crate::tariff::PricingMode>,
    /// Wholesale price column of the wholesale file (e.g. tas1_rrp_aud_per_mwh).
    #[arg(long)]
    pub wholesale_column: Option<String>,
    /// Daily fixed charge per prosumer, $/day (the seed's retailer: 0.9).
    #[arg(long)]
    pub daily_charge: Option<f64>,
    /// Regulator bonus per kWh of local renewable energy consumed, $/kWh.
    #[arg(long)]
    pub renewable_bonus: Option<f64>,
    /// Regulator penalty per kWh bought from the grid, $/kWh.
    #[arg(long)]
    pub grid_penalty: Option<f64>,
    /// P2P delivery factor η: buyers pay a loss fee of (1/η − 1) × the price (default 1).
    #[arg(long)]
    pub line_eta: Option<f64>,
    /// Write every failing optimisation problem as JSON to `FILE.<case>.step<N>.json`.
    #[arg(long, value_name = "FILE")]
    pub dump_lp: Option<String>,
    /// Output folder.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Replace results already in the output folder.
    #[arg(long)]
    pub force: bool,
    /// Write no files.
    #[arg(long)]
    pub no_out: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Also write report.html (self-contained HTML with charts and the feeder map).
    #[arg(long)]
    pub report: bool,
    /// Also write the settlement ledger (ledger.jsonl: SHA-256 hash chain, Merkle roots).
    #[arg(long)]
    pub ledger: bool,
    /// Print summary.json to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print the resolved scenario (TOML) and exit.
    #[arg(long)]
    pub print_scenario: bool,
}

/// The flags as a scenario layer: each flag sets the scenario key it names.
pub fn flags_layer(a: &RunArgs) -> Result<Layer> {
    let mut l = Layer {
        source: "command line".into(),
        table: toml::Table::new(),
    };
    fn val<T: serde::Serialize>(v: T) -> Result<toml::Value> {
        toml::Value::try_from(v).map_err(|e| crate::Error::Numerical(e.to_string()))
    }
    macro_rules! opt {
        ($field:expr, $key:literal) => {
            if let Some(v) = &$field {
                l.set($key, val(v)?);
            }
        };
    }
    macro_rules! flag {
        ($field:expr, $key:literal, $v:expr) => {
            if $field {
                l.set($key, val($v)?);
            }
        };
    }
    opt!(a.network, "network");
    opt!(a.day, "day");
    opt!(a.days, "days");
    opt!(a.step_minutes, "step_minutes");
    if let Some(seed) = a.seed {
        let seed = i64::try_from(seed).map_err(|_| {
            crate::Error::invalid(
                crate::Location::file("--seed"),
                format!("{seed} is too large: seeds go up to {}", i64::MAX),
            )
        })?;
        l.set("seed", seed);
    }
    opt!(a.pv_share, "pv_share_percent");
    opt!(a.pv_kwp, "pv_kwp_per_household");
    opt!(a.mechanism, "market.mechanism");
    opt!(a.strategy, "market.strategy");
    opt!(a.bid, "market.bid_per_kwh");
    opt!(a.ask, "market.ask_per_kwh");
    opt!(a.retail, "tariff.retail_per_kwh");
    opt!(a.feed_in, "tariff.feed_in_per_kwh");
    flag!(a.pandapower_ratings, "pandapower_ratings", true);
    opt!(a.network_model, "clearing.model");
    opt!(a.network_charges, "clearing.network_charges");
    opt!(a.grid_fee_time, "clearing.grid_fee_time");
    opt!(a.market_design, "market.design");
    flag!(a.compare_designs, "market.compare_designs", true);
    if a.planning_band {
        l.set("clearing.vmin_pu", crate::clearing::PLANNING_BAND_PU.0);
        l.set("clearing.vmax_pu", crate::clearing::PLANNING_BAND_PU.1);
    }
    opt!(a.vmin, "clearing.vmin_pu");
    opt!(a.vmax, "clearing.vmax_pu");
    flag!(
        a.enforce_limits,
        "clearing.background",
        crate::clearing::Background::Enforce
    );
    flag!(a.no_ac_check, "clearing.ac_check", false);
    opt!(a.dump_lp, "dump_lp");
    opt!(a.import, "import");
    opt!(a.sheet, "import_sheet");
    opt!(a.household_model, "profiles.household_model");
    opt!(a.pv_profile, "profiles.pv");
    match a.pv_column.as_deref() {
        Some([one]) => l.set("profiles.pv_column", one.clone()),
        Some(many) if !many.is_empty() => l.set("profiles.pv_columns", many.to_vec()),
        _ => {}
    }
    opt!(a.load_series, "profiles.load_series");
    opt!(a.pv_series, "profiles.pv_series");
    opt!(a.battery_share, "storage.battery_share_percent");
    opt!(a.battery_placement, "storage.placement");
    opt!(a.battery_kwh, "storage.battery.e_kwh");
    opt!(a.battery_kw, "storage.battery.p_charge_kw");
    opt!(a.battery_kw, "storage.battery.p_discharge_kw");
    flag!(a.vpp, "storage.vpp", true);
    if let Some(b) = a.vpp_bus {
        l.set("storage.vpp", true);
        l.set("storage.vpp_bus", b);
    }
    opt!(a.storage_model, "storage.model");
    opt!(a.clearing, "storage.clearing");
    opt!(a.settlement, "storage.settlement");
    opt!(a.pricing, "retailer.pricing");
    opt!(a.wholesale_column, "retailer.wholesale_column");
    opt!(a.daily_charge, "retailer.daily_fixed_charge");
    opt!(
        a.renewable_bonus,
        "retailer.policy.local_renewable_bonus_per_kwh"
    );
    opt!(
        a.grid_penalty,
        "retailer.policy.grid_purchase_penalty_per_kwh"
    );
    opt!(a.line_eta, "line_eta");
    Ok(l)
}

/// The scenario `run` resolves: preset, scenario file, flags.
pub fn resolve_scenario(a: &RunArgs) -> Result<crate::scenario::Scenario> {
    let mut layers = Vec::new();
    if let Some(p) = &a.scenario {
        layers.push(Layer::from_toml(
            &p.display().to_string(),
            &super::read(p)?,
        )?);
    }
    layers.push(flags_layer(a)?);
    let s = crate::scenario::resolve_layers(a.preset, &layers)?;
    s.validate()?;
    Ok(s)
}

/// Runs `run`.
pub fn run_cmd(a: &RunArgs, out: &mut dyn Write) -> Result<()> {
    let s = resolve_scenario(a)?;
    if a.print_scenario {
        return w(out, s.to_toml());
    }
    if !a.no_out {
        crate::util::atomic::recover(&a.out)?;
        crate::util::atomic::check_destination(&a.out, a.force)?;
    }
    let line = progress_line(!a.quiet, if s.days.is_some() { "days" } else { "steps" });
    let res = crate::study::run_with_progress(&s, &mut |t, n| line(t, n))?;
    if let Some(prefix) = &s.dump_lp {
        crate::output::write_dumps(&res, prefix)?;
    }
    let mut files = 0;
    if !a.no_out {
        files = crate::output::write_run(
            &res,
            &a.out,
            &crate::output::WriteOptions {
                force: a.force,
                report: a.report,
                ledger: a.ledger,
            },
        )?;
    }
    if a.quiet {
        return Ok(());
    }
    if a.json {
        return w(out, crate::output::summary_json(&res)?);
    }
    let mut t = crate::output::table::table(&res);
    if !a.no_out {
        t += &format!("\nwrote {files} files to {}\n", a.out.display());
    }
    w(out, t)
}
