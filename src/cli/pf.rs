//! `netclear pf`: a DC or AC power flow of a feeder's own or given injections.

use super::{to_json, w};
use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::registry;
use crate::pf::ac::{AcModel, AcOptions};
use crate::pf::dc::DcModel;
use crate::pf::{PfModel, PfReport};
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// `netclear pf …`
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
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

/// Runs the power flow `pf` describes and returns the report.
pub fn power_flow(args: &PfArgs) -> Result<PfReport> {
    let mut net = registry::resolve(&args.network)?;
    if args.pandapower_ratings {
        net = net.with_pandapower_ratings();
    }
    let grid = Grid::from_network(&net)?;
    let inj = match &args.injections {
        Some(p) => {
            let file = p.display().to_string();
            let text = crate::util::limits::read_text(p, crate::util::limits::MAX_DATA_BYTES)?;
            crate::pf::parse_injections(&file, &text, &grid, &net)?
        }
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
        PfModel::Lindistflow => crate::clearing::check::formulation_power_flow(
            &net,
            &grid,
            crate::clearing::NetworkModel::Lindistflow,
            &inj,
        )?,
        PfModel::Socp => crate::clearing::check::formulation_power_flow(
            &net,
            &grid,
            crate::clearing::NetworkModel::Socp,
            &inj,
        )?,
    })
}

/// Runs `pf`.
pub fn pf_cmd(args: &PfArgs, out: &mut dyn Write) -> Result<()> {
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
            PfModel::Lindistflow => "LinDistFlow",
            PfModel::Socp => "SOCP",
        },
        if r.converged && matches!(r.model, PfModel::Lindistflow | PfModel::Socp) {
            "solved (angles not modelled)".to_string()
        } else if r.converged {
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
