//! `netclear run`: one study, its files and its table. The flags are one more scenario layer
//! ([`flags_layer`]) over the preset and the scenario file.

use super::{progress_line, w};
use crate::error::Result;
use crate::scenario::Layer;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// Run a day of P2P trading on a feeder against a no-P2P baseline. Flags override the scenario
/// file, which overrides the preset; unset values take the scenario defaults shown.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
pub struct RunArgs {
    /// Scenario file (TOML); see `--print-scenario` for every field.
    #[arg(long, help_heading = "Scenario")]
    pub scenario: Option<PathBuf>,
    /// Start from a preset: the 2024 paper as coded, corrected (shown beside the original), or its
    /// single-timestep study (hour 11, trades ×100); the seeds' communities community100,
    /// multiagent5 and vpp4 (docs/presets/).
    #[arg(long, value_enum, help_heading = "Scenario")]
    pub preset: Option<crate::scenario::Preset>,
    /// Feeder: shipped name or folder.
    #[arg(long, help_heading = "Scenario")]
    pub network: Option<String>,
    /// Study day (YYYY-MM-DD in the profile files).
    #[arg(long, help_heading = "Scenario")]
    pub day: Option<String>,
    /// A multi-day study, FROM..TO (YYYY-MM-DD, both included): batteries carry their state
    /// across midnight; KPIs per day and for the period.
    #[arg(
        long,
        value_name = "FROM..TO",
        help_heading = "Scenario",
        conflicts_with = "day"
    )]
    pub days: Option<String>,
    /// Step length in minutes: any divisor of 60 (5, 10, 15, 30, 60, …); profiles are resampled
    /// energy-conserving.
    #[arg(long, help_heading = "Scenario")]
    pub step_minutes: Option<u32>,
    /// Seed for every random choice (PV placement, household profiles, zi prices).
    #[arg(long, help_heading = "Scenario")]
    pub seed: Option<u64>,
    /// Share of prosumers with PV, %.
    #[arg(long, help_heading = "Community")]
    pub pv_share: Option<f64>,
    /// PV per household, kWp.
    #[arg(long, help_heading = "Community")]
    pub pv_kwp: Option<f64>,
    /// Market mechanism.
    #[arg(long, value_enum, help_heading = "Market")]
    pub mechanism: Option<crate::market::Mechanism>,
    /// Price strategy.
    #[arg(long, value_enum, help_heading = "Market")]
    pub strategy: Option<crate::market::strategy::Strategy>,
    /// Bid of the fixed strategy, $/kWh.
    #[arg(long, help_heading = "Market")]
    pub bid: Option<f64>,
    /// Ask of the fixed strategy, $/kWh.
    #[arg(long, help_heading = "Market")]
    pub ask: Option<f64>,
    /// Retail price, $/kWh.
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub retail: Option<f64>,
    /// Feed-in tariff, $/kWh.
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub feed_in: Option<f64>,
    /// Use pandapower's line ratings.
    #[arg(long, help_heading = "Network")]
    pub pandapower_ratings: bool,
    /// Network model that corrects the trades: on LV feeders voltage rise binds first, and DC
    /// cannot see it.
    #[arg(long, value_enum, help_heading = "Network")]
    pub network_model: Option<crate::clearing::NetworkModel>,
    /// Network charges on trades, paid by buyers (`nuc`: cost-reflective usage charge, known
    /// before matching).
    #[arg(long, value_enum, help_heading = "Network")]
    pub network_charges: Option<crate::clearing::ChargeRule>,
    /// Time variation of the usage part of the `nuc` grid fee.
    #[arg(long, value_enum, help_heading = "Network")]
    pub grid_fee_time: Option<crate::clearing::charges::GridFeeTime>,
    /// How the market and the network meet.
    #[arg(long, value_enum, help_heading = "Market")]
    pub market_design: Option<crate::scenario::MarketDesign>,
    /// Also run the other two market designs on the same day and compare the three.
    #[arg(long, help_heading = "Market")]
    pub compare_designs: bool,
    /// Lowest allowed voltage, p.u. (EN 50160).
    #[arg(long, help_heading = "Network")]
    pub vmin: Option<f64>,
    /// Highest allowed voltage, p.u. (EN 50160).
    #[arg(long, help_heading = "Network")]
    pub vmax: Option<f64>,
    /// Use the planning band 0.95–1.05 pu instead of EN 50160's 0.90–1.10.
    #[arg(long, help_heading = "Network", conflicts_with_all = ["vmin", "vmax"])]
    pub planning_band: bool,
    /// Bring violations that exist without P2P within the limits (least-cost PV curtailment, and
    /// load shedding at VOLL), in both cases alike; by default they are reported, not corrected.
    #[arg(long, help_heading = "Network")]
    pub enforce_limits: bool,
    /// Skip the AC power flow of every cleared step.
    #[arg(long, help_heading = "Network")]
    pub no_ac_check: bool,
    /// Import prosumers and prices from a workbook (.xlsx) or CSV (columns as in the README).
    #[arg(long, value_name = "FILE", help_heading = "Scenario")]
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
    /// Ignore the series a feeder file carries for its loads and generators (SimBench profiles
    /// in a pandapower JSON; used by default): draw household curves and PV as for any feeder.
    #[arg(long)]
    pub ignore_feeder_series: bool,
    /// Share of prosumers with a home battery, %.
    #[arg(long, help_heading = "Storage")]
    pub battery_share: Option<f64>,
    /// Who gets the home batteries: pv-first or independent of PV.
    #[arg(long, value_enum, help_heading = "Storage")]
    pub battery_placement: Option<crate::scenario::BatteryPlacement>,
    /// Home battery capacity per household, kWh.
    #[arg(long, help_heading = "Storage")]
    pub battery_kwh: Option<f64>,
    /// Home battery charge/discharge power per household, kW.
    #[arg(long, help_heading = "Storage")]
    pub battery_kw: Option<f64>,
    /// Add the community (VPP) battery (50 kWh, 10 kW).
    #[arg(long, help_heading = "Storage")]
    pub vpp: bool,
    /// The community battery as a shared battery: split among the members, each share
    /// dispatched and settled as the member's own battery (one device at its bus).
    #[arg(long, help_heading = "Storage")]
    pub shared_battery: bool,
    /// How the shared battery is split: equal shares or proportional to consumption.
    #[arg(long, value_enum, help_heading = "Storage")]
    pub shared_split: Option<crate::scenario::SharedSplit>,
    /// Also compare the battery kinds with every battery on the greedy rule.
    #[arg(long, help_heading = "Storage")]
    pub compare_greedy: bool,
    /// Bus of the community battery (default: the transformer's LV busbar).
    #[arg(long, help_heading = "Storage")]
    pub vpp_bus: Option<i64>,
    /// Battery dispatch: none, lp (relaxed), milp (no simultaneous charge/discharge), greedy.
    #[arg(long, value_enum, help_heading = "Storage")]
    pub storage_model: Option<crate::storage::StorageModel>,
    /// Clearing: auction (batteries, then auction, then network) or central (one optimisation).
    #[arg(long, value_enum, help_heading = "Storage")]
    pub clearing: Option<crate::scenario::ClearingMode>,
    /// Whether battery dispatch sees the internal P2P price.
    #[arg(long, value_enum, help_heading = "Storage")]
    pub settlement: Option<crate::scenario::SettlementMode>,
    /// Retailer pricing: fixed (--retail/--feed-in) or wholesale-pass (AEMO prices + markup).
    #[arg(long, value_enum, help_heading = "Tariffs and regulator")]
    pub pricing: Option<crate::tariff::PricingMode>,
    /// Wholesale price column of the wholesale file (e.g. tas1_rrp_aud_per_mwh).
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub wholesale_column: Option<String>,
    /// Daily fixed charge per prosumer, $/day (the seed's retailer: 0.9).
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub daily_charge: Option<f64>,
    /// Regulator bonus per kWh of local renewable energy consumed, $/kWh.
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub renewable_bonus: Option<f64>,
    /// Regulator penalty per kWh bought from the grid, $/kWh.
    #[arg(long, help_heading = "Tariffs and regulator")]
    pub grid_penalty: Option<f64>,
    /// P2P delivery factor η: buyers pay a loss fee of (1/η − 1) × the price.
    #[arg(long, help_heading = "Market")]
    pub line_eta: Option<f64>,
    /// Share of households with an EV, % (seeded draws of capacity, charger, times and need).
    #[arg(long, help_heading = "Flexibility")]
    pub ev_share: Option<f64>,
    /// EV charging: uncontrolled (full power on arrival), smart (least cost in the window),
    /// v2g (may also discharge to the home and the pool).
    #[arg(long, value_enum, help_heading = "Flexibility")]
    pub ev_charging: Option<crate::storage::ev::EvCharging>,
    /// Share of households with a shiftable load, %.
    #[arg(long, help_heading = "Flexibility")]
    pub flex_share: Option<f64>,
    /// Fraction of a household's consumption in the window that can be shifted.
    #[arg(long, help_heading = "Flexibility")]
    pub flex_fraction: Option<f64>,
    /// Fraction of a flexible household's load that may be dropped at a discomfort cost
    /// (`flex.curtail_cost_per_kwh`, default 0.50 $/kWh: above retail, below VOLL).
    #[arg(long, help_heading = "Flexibility")]
    pub curtail_fraction: Option<f64>,
    /// What EVs and shiftable loads respond to in the P2P case: the pool (P2P changes physical
    /// flows) or the retailer only (their dispatch is the baseline's).
    #[arg(long, value_enum, help_heading = "Flexibility")]
    pub flex_pricing: Option<crate::scenario::FlexPricing>,
    /// How all flexibility decides: inner (each household first minimises what it must draw
    /// from outside, then trades the rest; both cases alike), price (every asset sees the pool's price and network charges),
    /// central (one optimisation of all flexibility, pool and network: `--clearing central`,
    /// which also reports the price of decentralisation against inner and price).
    #[arg(long, value_enum, help_heading = "Flexibility")]
    pub flex_mode: Option<FlexModeArg>,
    /// Write every failing optimisation problem as JSON to `FILE.<case>.step<N>.json`.
    #[arg(long, value_name = "FILE", help_heading = "Network")]
    pub dump_lp: Option<String>,
    /// Output folder.
    #[arg(long, default_value = "out", help_heading = "Output")]
    pub out: PathBuf,
    /// Replace results already in the output folder.
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// Write no files.
    #[arg(long, help_heading = "Output", conflicts_with_all = ["out", "force", "report", "ledger"])]
    pub no_out: bool,
    /// Which files: all, or summary (no case × step × element tables, for huge feeders).
    #[arg(long, value_enum, help_heading = "Output")]
    pub outputs: Option<crate::scenario::Outputs>,
    /// Print nothing but errors (with --json: the JSON only).
    #[arg(short, long, help_heading = "Output", conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print the files written and the time taken.
    #[arg(short, long, help_heading = "Output")]
    pub verbose: bool,
    /// Also write report.html (self-contained HTML with charts and the feeder map).
    #[arg(long, help_heading = "Output")]
    pub report: bool,
    /// Also write the settlement ledger (ledger.jsonl: SHA-256 hash chain, Merkle roots).
    #[arg(long, help_heading = "Output")]
    pub ledger: bool,
    /// Print summary.json to stdout instead of the table.
    #[arg(long, help_heading = "Output", conflicts_with = "print_scenario")]
    pub json: bool,
    /// Print the resolved scenario (TOML) and exit.
    #[arg(long, help_heading = "Scenario")]
    pub print_scenario: bool,
}

/// The flags as a scenario layer: each flag sets the scenario key it names.
pub fn flags_layer(a: &RunArgs) -> Result<Layer> {
    let mut l = Layer::new("command line");
    fn val<T: serde::Serialize>(v: T) -> Result<toml::Value> {
        toml::Value::try_from(v).map_err(|e| crate::Error::Numerical(e.to_string()))
    }
    // The flag of a field: `a.pv_share` → `--pv-share`.
    fn flag_name(field: &str) -> String {
        format!("--{}", field.trim_start_matches("a.").replace('_', "-"))
    }
    macro_rules! opt {
        ($field:expr, $key:literal) => {
            if let Some(v) = &$field {
                l.set_by($key, val(v)?, &flag_name(stringify!($field)));
            }
        };
    }
    macro_rules! flag {
        ($field:expr, $key:literal, $v:expr) => {
            if $field {
                l.set_by($key, val($v)?, &flag_name(stringify!($field)));
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
        l.set_by("seed", seed, "--seed");
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
        l.set_by(
            "clearing.vmin_pu",
            crate::clearing::PLANNING_BAND_PU.0,
            "--planning-band",
        );
        l.set_by(
            "clearing.vmax_pu",
            crate::clearing::PLANNING_BAND_PU.1,
            "--planning-band",
        );
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
    flag!(a.ignore_feeder_series, "profiles.feeder_series", false);
    opt!(a.battery_share, "storage.battery_share_percent");
    opt!(a.battery_placement, "storage.placement");
    opt!(a.battery_kwh, "storage.battery.e_kwh");
    opt!(a.battery_kw, "storage.battery.p_charge_kw");
    opt!(a.battery_kw, "storage.battery.p_discharge_kw");
    flag!(a.vpp, "storage.vpp", true);
    if let Some(b) = a.vpp_bus {
        l.set_by("storage.vpp", true, "--vpp-bus");
        l.set_by("storage.vpp_bus", b, "--vpp-bus");
    }
    flag!(a.shared_battery, "storage.shared", true);
    opt!(a.shared_split, "storage.shared_split");
    flag!(a.compare_greedy, "storage.compare_greedy", true);
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
    opt!(a.outputs, "outputs");
    opt!(a.ev_share, "ev.share_percent");
    opt!(a.ev_charging, "ev.charging");
    opt!(a.flex_share, "flex.share_percent");
    opt!(a.flex_fraction, "flex.fraction");
    opt!(a.curtail_fraction, "flex.curtail_fraction");
    opt!(a.flex_pricing, "ev.pricing");
    opt!(a.flex_pricing, "flex.pricing");
    match a.flex_mode {
        Some(FlexModeArg::Inner) => l.set_by("flex.mode", "inner", "--flex-mode"),
        Some(FlexModeArg::Price) => l.set_by("flex.mode", "price", "--flex-mode"),
        // One source of truth: the central mode is central clearing.
        Some(FlexModeArg::Central) => l.set_by("storage.clearing", "central", "--flex-mode"),
        None => {}
    }
    Ok(l)
}

/// `--flex-mode`: the scenario's [`crate::scenario::FlexMode`], or central clearing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlexModeArg {
    /// Inner demand response before trading (`flex.mode = inner`).
    Inner,
    /// Price-responsive flexibility (`flex.mode = price`).
    Price,
    /// One central optimisation (`storage.clearing = central`).
    Central,
}

/// The scenario `run` resolves: preset, scenario file, flags.
pub fn resolve_scenario(a: &RunArgs) -> Result<crate::scenario::Scenario> {
    let mut layers = Vec::new();
    if let Some(p) = &a.scenario {
        layers.push(Layer::from_file(p, &super::read(p)?)?);
    }
    layers.push(flags_layer(a)?);
    crate::scenario::resolve_layers(a.preset, &layers)
}

/// Every file or folder a scenario reads (the output folder must not overlap any of them).
pub fn input_paths(s: &crate::scenario::Scenario, a: &RunArgs) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = a.scenario.iter().cloned().collect();
    let named = [
        Some(s.network.as_str()),
        s.import.as_deref(),
        Some(s.profiles.households.as_str()),
        Some(s.profiles.commercial.as_str()),
        Some(s.profiles.pv.as_str()),
        Some(s.retailer.wholesale_file.as_str()),
        s.profiles.load_series.as_deref(),
        s.profiles.pv_series.as_deref(),
    ];
    for n in named.into_iter().flatten() {
        if n.starts_with("builtin:") {
            continue;
        }
        let p = PathBuf::from(n);
        if p.exists() {
            v.push(p);
        }
    }
    v
}

/// Runs `run`.
pub fn run_cmd(a: &RunArgs, out: &mut dyn Write) -> Result<()> {
    let s = resolve_scenario(a)?;
    if a.print_scenario {
        return w(out, s.to_toml());
    }
    if !a.no_out {
        let inputs = input_paths(&s, a);
        crate::util::atomic::check_not_input(
            &a.out,
            &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        )?;
        crate::util::atomic::recover(&a.out)?;
        crate::util::atomic::check_destination(&a.out, a.force)?;
    }
    let started = std::time::Instant::now();
    if s.seed_community.is_some() {
        return seed_community(&s, a, out, started);
    }
    let line = progress_line(!a.quiet, if s.days.is_some() { "days" } else { "steps" });
    // Nothing asked reads a single step's accounts: keep only the totals (the same KPIs and
    // summary files in a fraction of the memory, `study::totals`).
    let summary_only = a.no_out || s.outputs == crate::scenario::Outputs::Summary;
    let retention = if summary_only && !a.report && !a.ledger {
        crate::study::Retention::Totals
    } else {
        crate::study::Retention::Steps
    };
    let res = crate::study::run_retaining(&s, retention, &mut |t, n| line(t, n))?;
    let shown = show(&res, &s, a, out, started);
    // Freeing a 10⁵-bus study block by block takes a twentieth of its run; the process ends
    // here, so the result is freed on a thread of its own that exit may cut short.
    crate::util::drop_aside(res);
    shown
}

/// Writes, prints and reports a study's result as `run`'s flags ask.
fn show(
    res: &crate::study::StudyResult,
    s: &crate::scenario::Scenario,
    a: &RunArgs,
    out: &mut dyn Write,
    started: std::time::Instant,
) -> Result<()> {
    if let Some(prefix) = &s.dump_lp {
        crate::output::write_dumps(res, prefix)?;
    }
    let mut files = 0;
    if !a.no_out {
        files = crate::output::write_run(
            res,
            &a.out,
            &crate::output::WriteOptions {
                force: a.force,
                report: a.report,
                ledger: a.ledger,
            },
        )?;
    }
    // --json prints the JSON even with --quiet (quiet silences the table and progress).
    if a.json {
        return w(out, crate::output::summary_json(res)?);
    }
    if a.quiet {
        return Ok(());
    }
    let mut t = crate::output::table::table(res);
    if !a.no_out {
        t += &format!("\nwrote {files} files to {}\n", a.out.display());
        if a.verbose {
            let mut names: Vec<String> = std::fs::read_dir(&a.out)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| !n.starts_with('.'))
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            t += &format!("files: {}\n", names.join(", "));
        }
    }
    if a.verbose {
        t += &format!("took {:.2} s\n", started.elapsed().as_secs_f64());
    }
    w(out, t)
}

/// `run` of the seed community (`--preset community100`): its own simulation and outputs.
fn seed_community(
    s: &crate::scenario::Scenario,
    a: &RunArgs,
    out: &mut dyn Write,
    started: std::time::Instant,
) -> Result<()> {
    if a.report || a.ledger {
        return Err(crate::Error::invalid(
            crate::Location::file(if a.report { "--report" } else { "--ledger" }),
            "the seed community writes its own five logs; --report and --ledger are for the \
             baseline-vs-P2P study",
        ));
    }
    let r = crate::study::seed_community::run(s)?;
    let mut files = 0;
    if !a.no_out {
        files = crate::output::seed_community::write(&r, &a.out, a.force)?;
    }
    if a.json {
        return w(out, crate::output::seed_community::summary_json(&r)?);
    }
    if a.quiet {
        return Ok(());
    }
    let mut t = crate::output::seed_community::table(&r);
    if !a.no_out {
        t += &format!("\nwrote {files} files to {}\n", a.out.display());
    }
    if a.verbose {
        t += &format!("took {:.2} s\n", started.elapsed().as_secs_f64());
    }
    w(out, t)
}

/// The scenario defaults `run --help` shows beside each flag that sets a scenario key, read from
/// [`crate::scenario::Scenario::default`] (the one source of every default; a preset or a
/// scenario file may change them).
pub fn scenario_defaults() -> Vec<(&'static str, String)> {
    let s = crate::scenario::Scenario::default();
    let f = crate::util::fmt_f64;
    fn n<T: serde::Serialize>(v: &T) -> String {
        crate::util::serde_name(v)
    }
    vec![
        ("network", s.network.clone()),
        ("day", s.day.clone()),
        ("step_minutes", s.step_minutes.to_string()),
        ("seed", s.seed.to_string()),
        ("pv_share", f(s.pv_share_percent)),
        ("pv_kwp", f(s.pv_kwp_per_household)),
        ("mechanism", n(&s.market.mechanism)),
        ("strategy", n(&s.market.strategy)),
        ("bid", f(s.market.bid_per_kwh)),
        ("ask", f(s.market.ask_per_kwh)),
        ("market_design", n(&s.market.design)),
        ("line_eta", f(s.line_eta)),
        ("retail", f(s.tariff.retail_per_kwh)),
        ("feed_in", f(s.tariff.feed_in_per_kwh)),
        ("pricing", n(&s.retailer.pricing)),
        ("wholesale_column", s.retailer.wholesale_column.clone()),
        ("daily_charge", f(s.retailer.daily_fixed_charge)),
        (
            "renewable_bonus",
            f(s.retailer.policy.local_renewable_bonus_per_kwh),
        ),
        (
            "grid_penalty",
            f(s.retailer.policy.grid_purchase_penalty_per_kwh),
        ),
        ("network_model", n(&s.clearing.model)),
        ("network_charges", n(&s.clearing.network_charges)),
        ("grid_fee_time", n(&s.clearing.grid_fee_time)),
        ("vmin", f(s.clearing.vmin_pu)),
        ("vmax", f(s.clearing.vmax_pu)),
        ("battery_share", f(s.storage.battery_share_percent)),
        ("battery_placement", n(&s.storage.placement)),
        ("battery_kwh", f(s.storage.battery.e_kwh)),
        ("battery_kw", f(s.storage.battery.p_charge_kw)),
        ("storage_model", n(&s.storage.model)),
        ("clearing", n(&s.storage.clearing)),
        ("settlement", n(&s.storage.settlement)),
        ("ev_share", f(s.ev.share_percent)),
        ("ev_charging", n(&s.ev.charging)),
        ("flex_share", f(s.flex.share_percent)),
        ("flex_fraction", f(s.flex.fraction)),
        ("curtail_fraction", f(s.flex.curtail_fraction)),
        ("flex_pricing", n(&s.flex.pricing)),
        ("outputs", n(&s.outputs)),
    ]
}

/// `run`'s arguments with the scenario defaults in their help (every argument is visited in its
/// order, so the help keeps the definition's order of topics).
pub fn with_scenario_defaults(mut cmd: clap::Command) -> clap::Command {
    let defaults: std::collections::HashMap<&str, String> =
        scenario_defaults().into_iter().collect();
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        let v = defaults.get(id.as_str()).cloned();
        cmd = cmd.mut_arg(id, |a| match v {
            Some(v) => {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.help(format!("{help} [default: {v}]"))
            }
            None => a,
        });
    }
    cmd
}
