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
