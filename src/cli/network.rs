//! `netclear network …`: list, show, validate and generate feeders.

use super::{to_json, w};
use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::topology::{bus_islands, leaf_buses_graph_order, Topology};
use crate::network::{registry, Network};
use clap::Subcommand;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

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
    #[command(allow_negative_numbers = true)]
    Generate {
        /// Base feeder.
        #[arg(long, default_value = "village80")]
        base: String,
        /// Number of copies.
        #[arg(long)]
        copies: usize,
        /// Output folder: new or empty, or a feeder netclear generated (replaced, atomically,
        /// only with --force).
        #[arg(long)]
        out: PathBuf,
        /// Replace a feeder folder netclear generated before.
        #[arg(long)]
        force: bool,
    },
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

/// Runs a `network` subcommand.
pub fn network_cmd(cmd: NetworkCmd, out: &mut dyn Write) -> Result<()> {
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
            force,
        } => {
            let base_path = PathBuf::from(&base);
            let inputs: Vec<&std::path::Path> = if base_path.exists() {
                vec![base_path.as_path()]
            } else {
                Vec::new()
            };
            crate::util::atomic::check_not_input(&dir, &inputs)?;
            crate::util::atomic::recover(&dir)?;
            crate::util::atomic::check_destination(&dir, force)?;
            let base = registry::resolve(&base)?;
            let net = crate::network::synthetic::replicate(&base, copies)?;
            crate::network::io::write_dir(&net, &dir, force)?;
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
