//! Command-line interface: argument definitions (clap) and the commands, each a thin call into
//! the library that formats its result as a readable table or as JSON.

use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::topology::{bus_islands, leaf_buses_graph_order, Topology};
use crate::network::{registry, Network};
use crate::pf::ac::{AcModel, AcOptions};
use crate::pf::dc::DcModel;
use crate::pf::{PfModel, PfReport};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// netclear — peer-to-peer energy markets cleared on real LV feeders, with the physics.
#[derive(Debug, Parser)]
#[command(name = "netclear", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect and validate feeders.
    #[command(subcommand)]
    Network(NetworkCmd),
    /// Run a DC or AC power flow on a feeder.
    Pf(PfArgs),
    /// Run a day of P2P trading on a feeder against a no-P2P baseline.
    Run(Box<RunArgs>),
    /// Run a grid of scenarios in parallel (resumable, shardable) into one results.csv.
    Sweep(Box<SweepArgs>),
    /// Verify or show a settlement ledger (ledger.jsonl).
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Write a self-contained HTML report of a run or sweep folder.
    Report {
        /// The run or sweep folder.
        dir: PathBuf,
        /// Output file (default DIR/report.html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Merge shard folders of one sweep into results.csv.
    Merge {
        /// Shard folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output file.
        #[arg(long, default_value = "results.csv")]
        out: PathBuf,
    },
}

/// `netclear ledger …`
#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Check the whole chain; name the first block and trade that were altered, removed or
    /// reordered (exit code 2).
    Verify {
        /// The ledger file.
        file: PathBuf,
    },
    /// Print the closing balances (after verifying).
    Show {
        /// The ledger file.
        file: PathBuf,
    },
}

/// `netclear sweep …`: every list flag is one dimension of the grid.
#[derive(Debug, Parser)]
pub struct SweepArgs {
    /// Base scenario (TOML); the grid varies it.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Grid file (TOML with the lists below); flags add to / override it.
    #[arg(long)]
    pub grid: Option<PathBuf>,
    /// Feeders, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub networks: Vec<String>,
    /// PV shares, %.
    #[arg(long, value_delimiter = ',')]
    pub pv_shares: Vec<f64>,
    /// Home battery sizes per household, kWh (0 = none).
    #[arg(long, value_delimiter = ',')]
    pub battery_kwh: Vec<f64>,
    /// P2P price caps, $/kWh.
    #[arg(long, value_delimiter = ',')]
    pub price_caps: Vec<f64>,
    /// Mechanisms.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub mechanisms: Vec<crate::market::Mechanism>,
    /// Network models.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub network_models: Vec<crate::clearing::NetworkModel>,
    /// Days, comma-separated YYYY-MM-DD.
    #[arg(long, value_delimiter = ',')]
    pub days: Vec<String>,
    /// First day of a range (with --days-to).
    #[arg(long)]
    pub days_from: Option<String>,
    /// Last day of a range, inclusive.
    #[arg(long)]
    pub days_to: Option<String>,
    /// Seeds.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Sweep folder (rows/, grid.json, results.csv).
    #[arg(long, default_value = "sweep")]
    pub out: PathBuf,
    /// Run the I-th of N deterministic slices of the grid, e.g. 2/8.
    #[arg(long, default_value = "1/1")]
    pub shard: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Also keep every scenario's full run outputs in OUT/outputs/<scenario>/.
    #[arg(long)]
    pub keep_outputs: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

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
    /// Step length in minutes: 60, 15 or 5.
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
    /// Network charges on executed trades, paid by buyers.
    #[arg(long, value_enum)]
    pub network_charges: Option<crate::clearing::ChargeRule>,
    /// Lowest allowed voltage, p.u. (default 0.95).
    #[arg(long)]
    pub vmin: Option<f64>,
    /// Highest allowed voltage, p.u. (default 1.05).
    #[arg(long)]
    pub vmax: Option<f64>,
    /// Skip the AC power flow of every cleared step.
    #[arg(long)]
    pub no_ac_check: bool,
    /// Import prosumers and prices from a workbook (.xlsx) or CSV (see `netclear::import`).
    #[arg(long, value_name = "FILE")]
    pub import: Option<String>,
    /// Share of prosumers with a home battery, %.
    #[arg(long)]
    pub battery_share: Option<f64>,
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
    /// Share of a P2P delivery that reaches the buyer (default 0.97).
    #[arg(long)]
    pub line_eta: Option<f64>,
    /// Write every failing optimisation problem as JSON to FILE.<case>.step<N>.json.
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

/// `netclear network …`
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// List the shipped feeders.
    List,
    /// Describe a feeder: counts, radiality, leaves, slack, default load.
    Show {
        /// A shipped name (cigre44, village80, …) or a feeder folder.
        name: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Validate a feeder folder (or shipped name) and report what the solvers will see.
    Validate {
        /// Feeder folder or shipped name.
        path: String,
    },
    /// Write a synthetic feeder: COPIES copies of a base feeder under one MV bus.
    Generate {
        /// Base feeder.
        #[arg(long, default_value = "village80")]
        base: String,
        /// Number of copies.
        #[arg(long)]
        copies: usize,
        /// Output folder (replaced atomically).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `netclear pf …`
#[derive(Debug, Parser)]
pub struct PfArgs {
    /// A shipped name (cigre44, village80, …) or a feeder folder.
    #[arg(long, default_value = "cigre44")]
    pub network: String,
    /// CSV of nodal injections (generator convention): `bus` and `p_mw` or `p_kw`, optional
    /// `q_mvar`/`q_kvar`. Without it, the feeder's own loads and sgens.
    #[arg(long)]
    pub injections: Option<PathBuf>,
    /// Power-flow model.
    #[arg(long, value_enum, default_value_t = PfModel::Ac)]
    pub model: PfModel,
    /// Use the line ratings pandapower holds instead of the shipped (realistic) ones.
    #[arg(long)]
    pub pandapower_ratings: bool,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Network(cmd) => network_cmd(cmd, &mut out),
        Command::Pf(args) => pf_cmd(&args, &mut out),
        Command::Run(args) => run_cmd(&args, &mut out),
        Command::Sweep(args) => sweep_cmd(&args, &mut out),
        Command::Report { dir, out: file } => {
            let html = crate::report::render(&dir)?;
            let file = file.unwrap_or_else(|| dir.join("report.html"));
            crate::sweep::write_atomic(&file, html.as_bytes())?;
            w(&mut out, format!("wrote {}\n", file.display()))
        }
        Command::Ledger(cmd) => {
            let (LedgerCmd::Verify { file } | LedgerCmd::Show { file }) = &cmd;
            let text = std::fs::read_to_string(file).map_err(|e| crate::Error::Io {
                path: file.clone(),
                source: e,
            })?;
            let balances = crate::ledger::verify(&file.display().to_string(), &text)?;
            match cmd {
                LedgerCmd::Verify { .. } => w(
                    &mut out,
                    format!(
                        "ok: {} verified ({} blocks)\n",
                        file.display(),
                        text.lines().count()
                    ),
                ),
                LedgerCmd::Show { .. } => {
                    let mut t = format!(
                        "{:>9} {:>6} {:>12} {:>14}\n",
                        "prosumer", "bus", "credits", "p2p_money"
                    );
                    for b in balances {
                        t += &format!(
                            "{:>9} {:>6} {:>12.4} {:>14.4}\n",
                            b.prosumer, b.bus, b.credits, b.p2p_money
                        );
                    }
                    w(&mut out, t)
                }
            }
        }
        Command::Merge { dirs, out: file } => {
            let n = crate::sweep::merge(&dirs, &file)?;
            w(
                &mut out,
                format!("merged {n} scenarios into {}\n", file.display()),
            )
        }
    }
}

fn w(out: &mut dyn Write, s: String) -> Result<()> {
    out.write_all(s.as_bytes()).map_err(|e| crate::Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

/// Facts about a feeder, as `network show` prints them.
#[derive(Debug, Serialize)]
pub struct NetworkSummary {
    /// Short name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Provenance.
    pub source: String,
    /// User buses.
    pub buses: usize,
    /// Electrical nodes after switch fusion and dropping.
    pub nodes: usize,
    /// Lines / trafos / switches / loads / sgens in the files.
    pub lines: usize,
    /// Trafos.
    pub trafos: usize,
    /// Switches.
    pub switches: usize,
    /// Loads.
    pub loads: usize,
    /// Static generators.
    pub sgens: usize,
    /// Whether the electrical graph is a tree.
    pub radial: bool,
    /// Islands of the user model.
    pub islands: usize,
    /// Slack buses (the fused group).
    pub slack_buses: Vec<i64>,
    /// Degree-1 buses in pandapower graph order (the paper's placement order).
    pub leaf_buses: Vec<i64>,
    /// Largest number of branches between the slack and a node.
    pub max_depth: usize,
    /// Total default load, MW.
    pub total_load_p_mw: f64,
    /// Total default generation, MW.
    pub total_sgen_p_mw: f64,
    /// Buses not in the electrical model, with the reason.
    pub dropped_buses: Vec<(i64, String)>,
}

/// Summarises a feeder.
pub fn summarize(net: &Network) -> Result<NetworkSummary> {
    let grid = Grid::from_network(net)?;
    let topo = Topology::new(&grid);
    Ok(NetworkSummary {
        name: net.manifest.name.clone(),
        title: net.manifest.title.clone(),
        source: net.manifest.source.clone(),
        buses: net.buses.len(),
        nodes: grid.n_nodes(),
        lines: net.lines.len(),
        trafos: net.trafos.len(),
        switches: net.switches.len(),
        loads: net.loads.len(),
        sgens: net.sgens.len(),
        radial: topo.is_radial(),
        islands: bus_islands(net).len(),
        slack_buses: grid.nodes[grid.slack].buses.iter().map(|b| b.0).collect(),
        leaf_buses: leaf_buses_graph_order(net).iter().map(|b| b.0).collect(),
        max_depth: topo.max_depth(),
        total_load_p_mw: net.total_load_p_mw(),
        total_sgen_p_mw: net.total_sgen_p_mw(),
        dropped_buses: grid
            .dropped_buses
            .iter()
            .map(|(b, r)| (b.0, format!("{r:?}").to_lowercase()))
            .collect(),
    })
}

fn network_cmd(cmd: NetworkCmd, out: &mut dyn Write) -> Result<()> {
    match cmd {
        NetworkCmd::List => {
            w(
                out,
                format!("{:<11} {:>6} {:>6}  title\n", "name", "buses", "nodes"),
            )?;
            for name in registry::shipped_names() {
                let net = registry::resolve(name)?;
                let s = summarize(&net)?;
                w(
                    out,
                    format!(
                        "{:<11} {:>6} {:>6}  {}\n",
                        s.name, s.buses, s.nodes, s.title
                    ),
                )?;
            }
            Ok(())
        }
        NetworkCmd::Show { name, json } => {
            let net = registry::resolve(&name)?;
            let s = summarize(&net)?;
            if json {
                return w(out, to_json(&s)? + "\n");
            }
            let list = |v: &[i64]| {
                v.iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let mut t = String::new();
            t += &format!("{} — {}\n", s.name, s.title);
            t += &format!("source       {}\n", s.source);
            t += &format!(
                "buses        {} user buses → {} electrical nodes\n",
                s.buses, s.nodes
            );
            t += &format!(
                "elements     {} lines, {} trafos, {} switches, {} loads, {} sgens\n",
                s.lines, s.trafos, s.switches, s.loads, s.sgens
            );
            t += &format!(
                "topology     {}, {} island(s), max depth {}\n",
                if s.radial { "radial" } else { "meshed" },
                s.islands,
                s.max_depth
            );
            t += &format!("slack        bus(es) {}\n", list(&s.slack_buses));
            t += &format!(
                "leaves       {} buses: {}\n",
                s.leaf_buses.len(),
                list(&s.leaf_buses)
            );
            t += &format!(
                "default      load {:.4} MW, generation {:.4} MW\n",
                s.total_load_p_mw, s.total_sgen_p_mw
            );
            if !s.dropped_buses.is_empty() {
                t += &format!("dropped      {:?}\n", s.dropped_buses);
            }
            w(out, t)
        }
        NetworkCmd::Validate { path } => {
            let net = registry::resolve(&path)?;
            let s = summarize(&net)?;
            let mut t = format!(
                "ok: {} — {} buses, {} nodes, {} lines, {} trafos; {}\n",
                s.name,
                s.buses,
                s.nodes,
                s.lines,
                s.trafos,
                if s.radial { "radial" } else { "meshed" }
            );
            for (b, why) in &s.dropped_buses {
                t += &format!("warning: bus {b} is not in the electrical model ({why}); its loads and generators are ignored\n");
            }
            w(out, t)
        }
        NetworkCmd::Generate {
            base,
            copies,
            out: dir,
        } => {
            let base = registry::resolve(&base)?;
            let net = crate::network::synthetic::replicate(&base, copies)?;
            crate::network::io::write_dir(&net, &dir)?;
            w(
                out,
                format!(
                    "wrote {} ({} buses) to {}\n",
                    net.manifest.name,
                    net.buses.len(),
                    dir.display()
                ),
            )
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| crate::Error::Numerical(e.to_string()))
}

/// Runs the power flow `pf` describes and returns the report.
pub fn power_flow(args: &PfArgs) -> Result<PfReport> {
    let mut net = registry::resolve(&args.network)?;
    if args.pandapower_ratings {
        net = net.with_pandapower_ratings();
    }
    let grid = Grid::from_network(&net)?;
    let inj = match &args.injections {
        Some(p) => crate::pf::read_injections(p, &grid, &net)?,
        None => grid.default_injections(&net),
    };
    Ok(match args.model {
        PfModel::Dc => {
            let dc = DcModel::new(&grid)?;
            let sol = dc.solve(&inj.p_mw);
            dc.report(&net, &grid, &inj.p_mw, &sol)
        }
        PfModel::Ac => {
            let ac = AcModel::new(&grid)?;
            let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &AcOptions::default());
            ac.report(&net, &grid, &inj.p_mw, &inj.q_mvar, &sol)
        }
    })
}

fn pf_cmd(args: &PfArgs, out: &mut dyn Write) -> Result<()> {
    let r = power_flow(args)?;
    if args.json {
        return w(out, to_json(&r)? + "\n");
    }
    let mut t = String::new();
    let (vmin, vmax) = r.vm_range_pu();
    t += &format!(
        "{} — {} power flow: {}\n",
        r.network,
        match r.model {
            PfModel::Dc => "DC",
            PfModel::Ac => "AC",
        },
        if r.converged {
            format!("converged ({} iterations)", r.iterations)
        } else {
            "DID NOT CONVERGE (values below are the last iterate)".to_string()
        }
    );
    t += &format!(
        "import {:.6} MW {:.6} Mvar | losses {:.6} MW | V {:.4}–{:.4} pu | max line {:.1} % | max trafo {:.1} %\n\n",
        r.slack_p_mw,
        r.slack_q_mvar,
        r.losses_mw,
        vmin,
        vmax,
        r.max_line_loading_percent(),
        r.max_trafo_loading_percent()
    );
    t += &format!(
        "{:>5} {:>9} {:>11} {:>11} {:>11}\n",
        "bus", "vm_pu", "va_degree", "p_inj_kw", "q_inj_kvar"
    );
    for b in &r.buses {
        t += &format!(
            "{:>5} {:>9.5} {:>11.4} {:>11.3} {:>11.3}\n",
            b.bus.0,
            b.vm_pu,
            b.va_degree,
            b.p_inj_mw * 1e3,
            b.q_inj_mvar * 1e3
        );
    }
    t += &format!(
        "\n{:>6} {:>4} {:>11} {:>11} {:>10} {:>9} {:>9}\n",
        "kind", "id", "p_from_kw", "q_from_kvar", "loss_kw", "i_ka", "loading%"
    );
    for b in &r.branches {
        t += &format!(
            "{:>6} {:>4} {:>11.3} {:>11.3} {:>10.4} {:>9.4} {:>9.2}\n",
            b.kind,
            b.id,
            b.p_from_mw * 1e3,
            b.q_from_mvar * 1e3,
            b.pl_mw * 1e3,
            b.i_from_ka.max(b.i_to_ka),
            b.loading_percent
        );
    }
    w(out, t)
}

/// The scenario `run` resolves from its flags.
pub fn resolve_scenario(a: &RunArgs) -> Result<crate::scenario::Scenario> {
    let file = match &a.scenario {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| crate::Error::Io {
                path: p.clone(),
                source: e,
            })?,
        )),
        None => None,
    };
    let mut s = crate::scenario::resolve(
        a.preset,
        file.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )?;
    if let Some(v) = &a.network {
        s.network = v.clone();
    }
    if let Some(v) = &a.day {
        s.day = v.clone();
    }
    if let Some(v) = a.step_minutes {
        s.step_minutes = v;
    }
    if let Some(v) = a.seed {
        s.seed = v;
    }
    if let Some(v) = a.pv_share {
        s.pv_share_percent = v;
    }
    if let Some(v) = a.pv_kwp {
        s.pv_kwp_per_household = v;
    }
    if let Some(v) = a.mechanism {
        s.market.mechanism = v;
    }
    if let Some(v) = a.strategy {
        s.market.strategy = v;
    }
    if let Some(v) = a.bid {
        s.market.bid_per_kwh = v;
    }
    if let Some(v) = a.ask {
        s.market.ask_per_kwh = v;
    }
    if let Some(v) = a.retail {
        s.tariff.retail_per_kwh = v;
    }
    if let Some(v) = a.feed_in {
        s.tariff.feed_in_per_kwh = v;
    }
    if a.pandapower_ratings {
        s.pandapower_ratings = true;
    }
    if let Some(v) = a.network_model {
        s.clearing.model = v;
    }
    if let Some(v) = a.network_charges {
        s.clearing.network_charges = v;
    }
    if let Some(v) = a.vmin {
        s.clearing.vmin_pu = v;
    }
    if let Some(v) = a.vmax {
        s.clearing.vmax_pu = v;
    }
    if a.no_ac_check {
        s.clearing.ac_check = false;
    }
    if let Some(v) = &a.dump_lp {
        s.dump_lp = Some(v.clone());
    }
    if let Some(v) = &a.import {
        s.import = Some(v.clone());
    }
    let st = &mut s.storage;
    if let Some(v) = a.battery_share {
        st.battery_share_percent = v;
    }
    if let Some(v) = a.battery_kwh {
        st.battery.e_kwh = v;
    }
    if let Some(v) = a.battery_kw {
        st.battery.p_charge_kw = v;
        st.battery.p_discharge_kw = v;
    }
    if a.vpp {
        st.vpp = true;
    }
    if let Some(v) = a.vpp_bus {
        st.vpp = true;
        st.vpp_bus = Some(v);
    }
    if let Some(v) = a.storage_model {
        st.model = v;
    }
    if let Some(v) = a.clearing {
        st.clearing = v;
    }
    if let Some(v) = a.settlement {
        st.settlement = v;
    }
    if let Some(v) = a.pricing {
        s.retailer.pricing = v;
    }
    if let Some(v) = &a.wholesale_column {
        s.retailer.wholesale_column = v.clone();
    }
    if let Some(v) = a.daily_charge {
        s.retailer.daily_fixed_charge = v;
    }
    if let Some(v) = a.renewable_bonus {
        s.retailer.policy.local_renewable_bonus_per_kwh = v;
    }
    if let Some(v) = a.grid_penalty {
        s.retailer.policy.grid_purchase_penalty_per_kwh = v;
    }
    if let Some(v) = a.line_eta {
        s.line_eta = v;
    }
    s.validate()?;
    Ok(s)
}

fn run_cmd(a: &RunArgs, out: &mut dyn Write) -> Result<()> {
    use crate::scenario::Preset;
    let s = resolve_scenario(a)?;
    if a.print_scenario {
        return w(out, s.to_toml());
    }
    if !a.no_out {
        crate::output::check_destination(&a.out, a.force)?;
    }
    let c = crate::study::community::build(&s)?;
    let r = {
        // A progress line on a terminal, once a run has taken more than half a second.
        use std::io::IsTerminal;
        let show = !a.quiet && std::io::stderr().is_terminal();
        let start = std::time::Instant::now();
        let mut shown = false;
        let mut progress = |t: usize, n: usize| {
            if show && start.elapsed().as_millis() > 500 {
                shown = true;
                let el = start.elapsed().as_secs_f64();
                let eta = el / t as f64 * (n - t) as f64;
                eprint!(
                    "\r  step {t}/{n}  [{:<30}]  {el:.1} s, ETA {eta:.1} s ",
                    "#".repeat(30 * t / n)
                );
            }
        };
        let r = crate::study::run_day_with_progress(&c, &s, &mut progress)?;
        if shown {
            eprintln!();
        }
        r
    };
    let (r, decentralisation) = if s.storage.clearing == crate::scenario::ClearingMode::Central {
        let auction_cost = crate::study::grid_cost(&r.p2p, s.clearing.background_penalty_per_kwh);
        let (central, cr) = crate::study::run_central(&c, &s)?;
        let mut sg = s.clone();
        sg.storage.model = crate::storage::StorageModel::Greedy;
        sg.storage.clearing = crate::scenario::ClearingMode::Auction;
        let (gc, greedy) = crate::study::run(&sg)?;
        // The rule does not enforce the end-of-day SOC: value what it leaves (or takes) so the
        // costs compare — a deficit bought back at the mean retail price, a surplus sold at the
        // mean feed-in tariff.
        let n = gc.n_steps() as f64;
        let mean_retail = gc.retail_per_kwh.iter().sum::<f64>() / n;
        let mean_fit = gc.feed_in_per_kwh.iter().sum::<f64>() / n;
        let soc_adjustment: f64 = gc
            .prosumers
            .iter()
            .filter_map(|p| {
                let (b, d) = (p.battery.as_ref()?, p.dispatch.as_ref()?);
                let diff = d.soc_kwh.last()? - b.soc0 * b.e_kwh;
                Some(if diff < 0.0 {
                    -diff / b.eta_charge * mean_retail
                } else {
                    -diff * b.eta_discharge * mean_fit
                })
            })
            .sum();
        let d = crate::study::report::Decentralisation {
            central_cost: cr.cost,
            auction_cost,
            greedy_cost: crate::study::grid_cost(
                &greedy.p2p,
                s.clearing.background_penalty_per_kwh,
            ) + soc_adjustment,
            price_of_decentralisation: auction_cost - cr.cost,
            central_lower_bound: cr.lower_bound,
            central_gap: cr.gap,
        };
        (central, Some(d))
    } else {
        (r, None)
    };
    let comparison = match s.preset {
        Some(p) => {
            let paper = if p == Preset::Paper2024 {
                crate::study::paper::variant("paper2024", &c, &r)
            } else {
                let paper_s = crate::scenario::Scenario {
                    network: s.network.clone(),
                    ..crate::scenario::Scenario::preset(Preset::Paper2024)
                };
                let (pc, pr) = crate::study::run(&paper_s)?;
                crate::study::paper::variant("paper2024", &pc, &pr)
            };
            let corrected = (p == Preset::Paper2024Corrected)
                .then(|| crate::study::paper::variant("paper2024-corrected", &c, &r));
            Some(crate::study::paper::Comparison { paper, corrected })
        }
        None => None,
    };
    // What storage changes: the same day without any battery.
    let without = if c.prosumers.iter().any(|p| p.dispatch.is_some()) {
        let mut s0 = s.clone();
        s0.storage.battery_share_percent = 0.0;
        s0.storage.vpp = false;
        Some(crate::study::run(&s0)?.1)
    } else {
        None
    };
    // Battery kinds: individual only, community only, both (when the scenario has both).
    let has_home = c
        .prosumers
        .iter()
        .any(|p| p.battery.is_some() && p.class != crate::study::community::LoadClass::Vpp);
    let kinds = if has_home && s.storage.vpp {
        let mut si = s.clone();
        si.storage.vpp = false;
        let mut sc = s.clone();
        sc.storage.battery_share_percent = 0.0;
        sc.storage.per_prosumer_kwh.clear();
        sc.storage.per_prosumer_kw.clear();
        let (_, ri) = crate::study::run(&si)?;
        let (_, rc) = crate::study::run(&sc)?;
        Some((ri, rc))
    } else {
        None
    };
    let bundle = crate::study::report::bundle(
        &s,
        &c,
        &r,
        comparison.as_ref(),
        without.as_ref(),
        decentralisation.as_ref(),
        kinds.as_ref().map(|(a, b)| (a, b)),
    )?;
    let mut bundle = bundle;
    if a.ledger {
        bundle.add("ledger.jsonl", crate::ledger::build(&c, &r, &s));
    }
    if !a.no_out {
        crate::output::commit(&bundle, &a.out, a.force)?;
        if a.report {
            let html = crate::report::render(&a.out)?;
            crate::sweep::write_atomic(&a.out.join("report.html"), html.as_bytes())?;
        }
    }
    if a.quiet {
        return Ok(());
    }
    if a.json {
        let summary = bundle
            .files()
            .iter()
            .find(|(n, _)| n == "summary.json")
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        return w(out, summary);
    }
    let mut t = crate::study::report::table(&s, &c, &r);
    if let Some(cmp) = &comparison {
        t += &cmp.table();
    }
    if let Some(d) = &decentralisation {
        t += &format!(
            "\ncost with the retailer: central optimum {:.2} $, auction {:.2} $, greedy batteries + auction {:.2} $ — price of decentralisation {:.2} $\n",
            d.central_cost, d.auction_cost, d.greedy_cost, d.price_of_decentralisation
        );
    }
    if let Some((ri, rc)) = &kinds {
        t += "\nbattery kinds (P2P case):        community cost ($)  self-sufficiency (%)  peak import (kW)\n";
        for (name, k) in [
            ("individual only", &ri.p2p.kpis),
            ("community only", &rc.p2p.kpis),
            ("both", &r.p2p.kpis),
        ] {
            t += &format!(
                "  {name:<28} {:>18.2} {:>21.2} {:>17.2}\n",
                k.community_cost,
                100.0 * k.self_sufficiency,
                k.peak_import_kw
            );
        }
    }
    if let Some(w) = &without {
        let (a, b) = (&w.p2p.kpis, &r.p2p.kpis);
        t += &format!(
            "\nwhat storage changes (P2P case): community cost {:+.2} $, self-sufficiency {:+.2} pp, P2P traded {:+.2} kWh, grid import {:+.2} kWh, peak import {:+.2} kW\n",
            b.community_cost - a.community_cost,
            100.0 * (b.self_sufficiency - a.self_sufficiency),
            b.p2p_kwh - a.p2p_kwh,
            b.grid_import_kwh - a.grid_import_kwh,
            b.peak_import_kw - a.peak_import_kw
        );
        if b.lp_simultaneous_steps > 0 {
            t += &format!(
                "note: the LP dispatch charges and discharges at once in {} step(s); use --storage-model milp\n",
                b.lp_simultaneous_steps
            );
        }
    }
    if !a.no_out {
        t += &format!(
            "\nwrote {} files to {}\n",
            bundle.files().len(),
            a.out.display()
        );
    }
    w(out, t)
}

fn date_range(from: &str, to: &str) -> Result<Vec<String>> {
    let parse = |d: &str, f: &str| -> Result<i64> {
        let bad = || crate::Error::Parse {
            loc: crate::Location::file(f),
            value: d.to_string(),
            expected: "a date YYYY-MM-DD",
        };
        let p: Vec<i64> = d
            .split('-')
            .map(|x| x.parse().map_err(|_| bad()))
            .collect::<Result<_>>()?;
        if p.len() != 3 || !(1..=12).contains(&p[1]) || !(1..=31).contains(&p[2]) {
            return Err(bad());
        }
        Ok(days_from_civil(p[0], p[1], p[2]))
    };
    let (a, b) = (parse(from, "--days-from")?, parse(to, "--days-to")?);
    if b < a || b - a > 3660 {
        return Err(crate::Error::invalid(
            crate::Location::file("--days-to"),
            "the range must run forwards and span at most ten years",
        ));
    }
    Ok((a..=b).map(civil_from_days).collect())
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468
}

fn civil_from_days(z: i64) -> String {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}")
}

fn sweep_cmd(a: &SweepArgs, out: &mut dyn Write) -> Result<()> {
    let read = |p: &PathBuf| -> Result<String> {
        std::fs::read_to_string(p).map_err(|e| crate::Error::Io {
            path: p.clone(),
            source: e,
        })
    };
    let base = match &a.scenario {
        Some(p) => crate::scenario::resolve(None, Some((&p.display().to_string(), &read(p)?)))?,
        None => crate::scenario::Scenario::default(),
    };
    let mut grid: crate::sweep::Grid = match &a.grid {
        Some(p) => toml::from_str(&read(p)?).map_err(|e| crate::Error::Malformed {
            loc: crate::Location::file(p.display().to_string()),
            msg: e.to_string(),
        })?,
        None => Default::default(),
    };
    macro_rules! set {
        ($f:ident) => {
            if !a.$f.is_empty() {
                grid.$f = a.$f.clone();
            }
        };
    }
    set!(networks);
    set!(pv_shares);
    set!(battery_kwh);
    set!(price_caps);
    set!(mechanisms);
    set!(network_models);
    set!(days);
    set!(seeds);
    match (&a.days_from, &a.days_to) {
        (Some(f), Some(t)) => grid.days.extend(date_range(f, t)?),
        (None, None) => {}
        _ => {
            return Err(crate::Error::invalid(
                crate::Location::file("--days-from"),
                "give both --days-from and --days-to",
            ))
        }
    }
    let sweep = crate::sweep::Sweep { base, grid };
    for p in sweep.points().iter().take(1) {
        p.scenario.validate()?;
    }
    let shard = a
        .shard
        .split_once('/')
        .and_then(|(i, n)| {
            Some((
                i.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        })
        .ok_or_else(|| crate::Error::Parse {
            loc: crate::Location::file("--shard"),
            value: a.shard.clone(),
            expected: "I/N, e.g. 1/4",
        })?;
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    use std::io::IsTerminal;
    let show = !a.quiet && std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let progress = move |done: usize, todo: usize| {
        if show {
            let el = start.elapsed().as_secs_f64();
            let eta = el / done as f64 * (todo - done) as f64;
            eprint!(
                "\r  {done}/{todo} scenarios  [{:<30}]  {el:.1} s, ETA {eta:.1} s ",
                "#".repeat(30 * done / todo.max(1))
            );
            if done == todo {
                eprintln!();
            }
        }
    };
    let rep = crate::sweep::run_with(&sweep, &a.out, shard, jobs, a.keep_outputs, &progress)?;
    if a.quiet {
        return Ok(());
    }
    w(
        out,
        format!(
            "sweep: {} scenarios in the grid, {} in shard {}/{}: {} run, {} resumed, {} failed; {:.2} s on {jobs} thread(s) → {}\n",
            rep.total,
            rep.in_shard,
            shard.0,
            shard.1,
            rep.ran,
            rep.resumed,
            rep.failed,
            start.elapsed().as_secs_f64(),
            a.out.join("results.csv").display()
        ),
    )
}
