//! The command line: argument definitions (clap) and one thin function per command that parses,
//! calls the library and prints. Nothing here computes anything a library user could not.

mod network;
mod pf;
mod run;
mod sweep;

pub use network::{summarize, NetworkCmd, NetworkSummary};
pub use pf::{power_flow, PfArgs};
pub use run::{flags_layer, resolve_scenario, scenario_defaults, RunArgs};
pub use sweep::{date_range, SweepArgs};

use crate::error::Result;
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// netclear — peer-to-peer energy markets cleared on real LV feeders, with the physics.
#[derive(Debug, Parser)]
#[command(
    name = "netclear",
    version,
    about,
    long_about = None,
    allow_negative_numbers = true,
    after_help = "Start here:\n  netclear run --network cigre44 --pv-share 30     a day of P2P trading → out/\n  netclear network list                            the shipped feeders\n  netclear run --help                              every flag, grouped by topic, with defaults\n  netclear completions bash | netclear man         shell completion, man page"
)]
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
        /// Output file [default: DIR/report.html].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing report file.
        #[arg(long)]
        force: bool,
    },
    /// Merge shard folders of one sweep into results.csv.
    Merge {
        /// Shard folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output file.
        #[arg(long, default_value = "results.csv")]
        out: PathBuf,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Print a shell completion script, e.g. `netclear completions bash > ~/.local/share/bash-completion/completions/netclear`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): of netclear, or of one command (`netclear man run | man -l -`).
    Man {
        /// A command (run, sweep, pf, network, report, merge, ledger, …).
        command: Option<String>,
    },
}

/// The one clap definition of the command line (help, completions and man pages come from it).
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command().mut_subcommand("run", run::with_scenario_defaults)
}

/// Parses the process's arguments with [`command`] (clap's errors and `--help` exit here).
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let m = command().get_matches();
    Cli::from_arg_matches(&m).unwrap_or_else(|e| e.exit())
}

/// `netclear ledger …`
#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Check the whole chain; name the first block and trade that were altered, removed or
    /// reordered (exit code 2).
    Verify {
        /// The ledger file.
        file: PathBuf,
        /// The head hash the chain must end in (as published in the run's summary.json under
        /// `ledger_head`); by default the summary.json beside the ledger is used when present.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
        /// The run folder whose summary.json (prosumers, head hash) the ledger is checked
        /// against (default: the ledger's own folder).
        #[arg(long, value_name = "DIR")]
        run: Option<PathBuf>,
    },
    /// Print the closing balances (after verifying).
    Show {
        /// The ledger file.
        file: PathBuf,
    },
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Network(cmd) => network::network_cmd(cmd, &mut out),
        Command::Pf(args) => pf::pf_cmd(&args, &mut out),
        Command::Run(args) => run::run_cmd(&args, &mut out),
        Command::Sweep(args) => sweep::sweep_cmd(&args, &mut out),
        Command::Report {
            dir,
            out: file,
            force,
        } => {
            let file = file.unwrap_or_else(|| dir.join("report.html"));
            // An existing file is replaced only with --force, and only if it is a report.
            crate::util::atomic::check_file(&file, force)?;
            check_report_folder(&dir)?;
            let html = crate::output::html::render(&dir)?;
            crate::util::atomic::write_owned(&file, html.as_bytes(), &is_report)?;
            w(&mut out, format!("wrote {}\n", file.display()))
        }
        Command::Completions { shell } => {
            let mut cmd = command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "netclear", &mut buf);
            w(&mut out, String::from_utf8_lossy(&buf).into_owned())
        }
        Command::Man { command: which } => {
            let mut cmd = command();
            cmd.build();
            let page = match &which {
                None => cmd,
                Some(name) => cmd
                    .get_subcommands()
                    .find(|c| c.get_name() == name)
                    .cloned()
                    .ok_or_else(|| {
                        crate::Error::invalid(
                            crate::Location::file("netclear man"),
                            format!("no command `{name}`"),
                        )
                    })?,
            };
            let mut buf = Vec::new();
            clap_mangen::Man::new(page)
                .render(&mut buf)
                .map_err(|e| crate::Error::Io {
                    path: "<stdout>".into(),
                    source: e,
                })?;
            w(&mut out, String::from_utf8_lossy(&buf).into_owned())
        }
        Command::Ledger(cmd) => {
            let (LedgerCmd::Verify { file, .. } | LedgerCmd::Show { file, .. }) = &cmd;
            let text = crate::util::limits::read_text(file, crate::util::limits::MAX_DATA_BYTES)?;
            let (expect_head, run_dir) = match &cmd {
                LedgerCmd::Verify {
                    expect_head, run, ..
                } => (expect_head.clone(), run.clone()),
                LedgerCmd::Show { .. } => (None, None),
            };
            let ctx = crate::ledger::Context::from_run_folder(
                file.parent().filter(|_| run_dir.is_none()),
                run_dir.as_deref(),
                expect_head,
            )?;
            let checked = crate::ledger::verify_with(&file.display().to_string(), &text, &ctx)?;
            let balances = checked.balances;
            match cmd {
                LedgerCmd::Verify { .. } => w(
                    &mut out,
                    format!(
                        "ok: {} verified ({} blocks, balances recomputed from the trades; head {}{})\n",
                        file.display(),
                        text.lines().count(),
                        checked.head,
                        match checked.head_checked_against {
                            Some(src) => format!(", matches {src}"),
                            None => ", not checked against a published head (none found)".into(),
                        }
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
        Command::Merge {
            dirs,
            out: file,
            force,
        } => {
            crate::util::atomic::check_file(&file, force)?;
            let inputs: Vec<PathBuf> = dirs
                .iter()
                .flat_map(|d| {
                    [
                        d.join("rows"),
                        d.join("grid.json"),
                        d.join(crate::util::atomic::MARKER),
                    ]
                })
                .collect();
            crate::util::atomic::check_not_input(
                &file,
                &inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
            )?;
            let n = crate::sweep::merge(&dirs, &file)?;
            w(
                &mut out,
                format!("merged {n} scenarios into {}\n", file.display()),
            )
        }
    }
}

/// Writes text to the terminal.
fn w(out: &mut dyn Write, s: String) -> Result<()> {
    out.write_all(s.as_bytes()).map_err(|e| crate::Error::Io {
        path: "<stdout>".into(),
        source: e,
    })
}

/// Reads a settings file the user named (TOML), within [`crate::util::limits::MAX_CONFIG_BYTES`].
fn read(p: &Path) -> Result<String> {
    crate::util::limits::read_text(p, crate::util::limits::MAX_CONFIG_BYTES)
}

/// Whether an existing file is a report netclear wrote (it may be replaced by a new one).
fn is_report(head: &[u8]) -> bool {
    head.starts_with(b"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        && head.windows(21).any(|w| w == b"Generated by netclear")
}

/// Refuses to render a report from a folder netclear did not write or whose files do not hold
/// what netclear writes: a run folder needs the marker and a summary.json with a valid scenario
/// and both cases' KPIs as finite numbers; a sweep folder a results.csv whose rows check.
fn check_report_folder(dir: &Path) -> Result<()> {
    use crate::error::{Error, Location};
    let summary = dir.join("summary.json");
    let results = dir.join("results.csv");
    if !dir.join(crate::util::atomic::MARKER).is_file() {
        return Err(Error::invalid(
            Location::file(dir.display().to_string()),
            "not a folder netclear wrote (no .netclear marker)",
        ));
    }
    if summary.is_file() {
        let label = summary.display().to_string();
        let text = crate::util::limits::read_text(&summary, crate::util::limits::MAX_DATA_BYTES)?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Malformed {
            loc: Location::file(&label),
            msg: e.to_string(),
        })?;
        let scenario = v.get("scenario").cloned().unwrap_or_default();
        let s: crate::scenario::Scenario =
            serde_json::from_value(scenario).map_err(|e| Error::Malformed {
                loc: Location::file(&label).field("scenario"),
                msg: e.to_string(),
            })?;
        s.validate()
            .map_err(|e| Error::invalid(Location::file(&label).field("scenario"), e.to_string()))?;
        for case in ["baseline", "p2p"] {
            let Some(k) = v.get(case).and_then(|k| k.as_object()) else {
                return Err(Error::invalid(
                    Location::file(&label).field(case),
                    "missing or not an object of KPIs",
                ));
            };
            // Every KPI netclear writes, with the type it writes (a number may be null).
            let want = serde_json::to_value(crate::study::kpi::Kpis::empty()).unwrap_or_default();
            for (name, w) in want.as_object().into_iter().flatten() {
                let x = k.get(name).unwrap_or(&serde_json::Value::Null);
                let numeric = |v: &serde_json::Value| v.is_number() || v.is_null();
                let ok = if numeric(w) {
                    numeric(x)
                } else {
                    std::mem::discriminant(w) == std::mem::discriminant(x)
                };
                if !ok || (!k.contains_key(name) && !w.is_null()) {
                    return Err(Error::invalid(
                        Location::file(&label).field(format!("{case}.{name}")),
                        format!("`{x}` is not what netclear writes there"),
                    ));
                }
            }
        }
        Ok(())
    } else if results.is_file() {
        let label = results.display().to_string();
        let text = crate::util::limits::read_text(&results, crate::util::limits::MAX_DATA_BYTES)?;
        crate::sweep::check_results(&label, &text).map(|_| ())
    } else {
        Err(Error::invalid(
            Location::file(dir.display().to_string()),
            "neither a run folder (summary.json) nor a sweep folder (results.csv)",
        ))
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| crate::Error::Numerical(e.to_string()))
}

/// A progress line on a terminal (stderr), shown once a job has run for half a second:
/// `done/todo what [#####     ] elapsed, ETA`.
fn progress_line(enabled: bool, what: &'static str) -> impl Fn(usize, usize) {
    use std::io::IsTerminal;
    let show = enabled && std::io::stderr().is_terminal();
    let start = std::time::Instant::now();
    let shown = std::sync::atomic::AtomicBool::new(false);
    move |done: usize, todo: usize| {
        if !show || start.elapsed().as_millis() <= 500 {
            return;
        }
        shown.store(true, std::sync::atomic::Ordering::Relaxed);
        let el = start.elapsed().as_secs_f64();
        let eta = el / done.max(1) as f64 * todo.saturating_sub(done) as f64;
        eprint!(
            "\r  {done}/{todo} {what}  [{:<30}]  {el:.1} s, ETA {eta:.1} s ",
            "#".repeat(30 * done / todo.max(1))
        );
        if done == todo {
            eprintln!();
        }
    }
}
