//! `netclear sweep`: a grid of scenarios, in parallel, resumable and shardable.

use super::{progress_line, w};
use crate::error::Result;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

/// Run a grid of scenarios: every list flag is one dimension of the grid.
#[derive(Debug, Parser)]
#[command(allow_negative_numbers = true)]
pub struct SweepArgs {
    /// Base scenario (TOML); the grid varies it.
    #[arg(long, help_heading = "Input")]
    pub scenario: Option<PathBuf>,
    /// Grid file (TOML with the lists below); flags add to / override it.
    #[arg(long, help_heading = "Input")]
    pub grid: Option<PathBuf>,
    /// Feeders, comma-separated.
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    pub networks: Vec<String>,
    /// PV shares, %.
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    pub pv_shares: Vec<f64>,
    /// Home battery sizes per household, kWh (0 = none).
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    pub battery_kwh: Vec<f64>,
    /// P2P price caps, $/kWh.
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    pub price_caps: Vec<f64>,
    /// Mechanisms.
    #[arg(long, value_delimiter = ',', value_enum, help_heading = "Grid")]
    pub mechanisms: Vec<crate::market::Mechanism>,
    /// Network models.
    #[arg(long, value_delimiter = ',', value_enum, help_heading = "Grid")]
    pub network_models: Vec<crate::clearing::NetworkModel>,
    /// Days, comma-separated YYYY-MM-DD.
    #[arg(long, value_delimiter = ',', help_heading = "Grid", conflicts_with_all = ["days_from", "days_to"])]
    pub days: Vec<String>,
    /// First day of a range (with --days-to).
    #[arg(long, help_heading = "Grid", requires = "days_to")]
    pub days_from: Option<String>,
    /// Last day of a range, inclusive.
    #[arg(long, help_heading = "Grid", requires = "days_from")]
    pub days_to: Option<String>,
    /// Seeds.
    #[arg(long, value_delimiter = ',', help_heading = "Grid")]
    pub seeds: Vec<u64>,
    /// Sweep folder (rows/, grid.json, results.csv).
    #[arg(long, default_value = "sweep", help_heading = "Output")]
    pub out: PathBuf,
    /// Run the I-th of N deterministic slices of the grid, e.g. 2/8.
    #[arg(long, default_value = "1/1", help_heading = "Execution")]
    pub shard: String,
    /// Worker threads (default: all cores).
    #[arg(long, help_heading = "Execution")]
    pub jobs: Option<usize>,
    /// Also keep every scenario's full run outputs in `OUT/outputs/<scenario>/`.
    #[arg(long, help_heading = "Output")]
    pub keep_outputs: bool,
    /// Print nothing but errors.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
}

/// The days `from..=to` (`YYYY-MM-DD`, real calendar dates, at most ten years).
pub fn date_range(from: &str, to: &str) -> Result<Vec<String>> {
    let parse = |d: &str, f: &str| -> Result<i64> {
        crate::util::dates::parse(d).ok_or_else(|| crate::Error::Parse {
            loc: crate::Location::file(f),
            value: d.to_string(),
            expected: "a calendar date YYYY-MM-DD",
        })
    };
    let (a, b) = (parse(from, "--days-from")?, parse(to, "--days-to")?);
    if b < a || b - a > 3660 {
        return Err(crate::Error::invalid(
            crate::Location::file("--days-to"),
            "the range must run forwards and span at most ten years",
        ));
    }
    Ok((a..=b).map(crate::util::dates::format).collect())
}

/// Runs `sweep`.
pub fn sweep_cmd(a: &SweepArgs, out: &mut dyn Write) -> Result<()> {
    let base = match &a.scenario {
        Some(p) => {
            let text = super::read(p)?;
            crate::scenario::resolve(None, Some((&p.display().to_string(), &text)))?
        }
        None => crate::scenario::Scenario::default(),
    };
    let mut grid: crate::sweep::Grid = match &a.grid {
        Some(p) => crate::sweep::Grid::from_toml(&p.display().to_string(), &super::read(p)?)?,
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
    sweep.validate()?;
    let mut inputs: Vec<PathBuf> = a.scenario.iter().chain(&a.grid).cloned().collect();
    inputs.extend(
        sweep
            .grid
            .networks
            .iter()
            .chain(std::iter::once(&sweep.base.network))
            .map(PathBuf::from)
            .filter(|p| p.exists()),
    );
    crate::util::atomic::check_not_input(
        &a.out,
        &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    )?;
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
    let start = std::time::Instant::now();
    let line = progress_line(!a.quiet, "scenarios");
    let progress = move |done: usize, todo: usize| line(done, todo);
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
