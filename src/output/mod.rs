//! A run's outputs: tidy CSV (typed rows, [`rows`]), `summary.json`, the feeder geometry the
//! report draws, the optional ledger and HTML report, and the terminal table ([`table`]). This
//! module formats what it is handed — it never solves a power flow or an optimisation and never
//! reloads an input. Files are streamed into a staging folder and appear together
//! ([`crate::util::atomic::Stage`]).
//!
//! | file | rows |
//! |---|---|
//! | `summary.json` | the scenario, feeder facts, both cases' KPIs, the comparisons |
//! | `hourly.csv` | case × step: energy, prices, cost, network |
//! | `trades.csv` | every proposed trade: proposed vs executed, prices, charges, reason |
//! | `prosumers.csv` | prosumer: day totals and savings |
//! | `settlement.csv` | case × step × prosumer: every energy and money term |
//! | `network.csv` | case × step: the one network result (model, slack, losses, extremes, violations) |
//! | `lines.csv` | case × branch: peak loading |
//! | `line_loading.csv`, `bus_voltages.csv` | case × step × branch / bus |
//! | `nodal_prices.csv`, `clearing.csv` | case × step (× bus): the network correction |
//! | `binding_limits.csv` | case × step × binding limit: kind, element, dual (long form; when a limit binds) |
//! | `batteries.csv` | case × step × battery: SOC, charge, discharge (one tidy table) |
//! | `wallets.csv` | case × step × prosumer: the step's bill and the running balance (received − paid) |
//! | `battery_P{i}.csv`, `vpp.csv`, `p2p_vpp_summary.csv`, `settlements.csv` | the seed's storage files and trade list (P2P case) |
//! | `evs.csv`, `flex_loads.csv` | case × step × EV / flexible load: shifted and curtailed (when there are any) |
//! | `feeder.json` | bus coordinates and branch ends, for the report |

pub mod csv_writer;
pub mod html;
pub mod rows;
pub mod seed_community;
pub mod table;

use crate::error::{Error, Result};
use crate::scenario::community::{Community, LoadClass};
use crate::study::{CaseResult, StudyResult};
use crate::util::atomic::Stage;
use crate::util::{fmt_f64, serde_name};
use rows::*;
use serde::Serialize;
use std::path::Path;

/// What to write besides the standard files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// Replace results already in the folder.
    pub force: bool,
    /// Also `report.html`.
    pub report: bool,
    /// Also `ledger.jsonl`.
    pub ledger: bool,
}

/// At most this many threads write one run's tables.
const MAX_WRITERS: usize = 4;

/// The files of one run, each written by its own closure, run on up to
/// `min(cores, MAX_WRITERS)` threads. Each file's bytes are the same whichever thread writes it
/// (a table is a pure function of the study), so the output stays byte-identical; the files'
/// order and the first error are taken in the order the files were added, not the order they
/// finish, so the outcome is deterministic too. A day on village80 writes about 1 MB in a
/// dozen files: on two cores, formatting one table overlaps another's and the waits for the
/// disk.
#[derive(Default)]
struct Jobs<'a> {
    list: Vec<Job<'a>>,
}

type Job<'a> = (String, Box<dyn FnOnce() -> Result<()> + Send + 'a>);

impl<'a> Jobs<'a> {
    fn add(&mut self, name: impl Into<String>, job: impl FnOnce() -> Result<()> + Send + 'a) {
        self.list.push((name.into(), Box::new(job)));
    }

    /// Runs every job; a thread that finds no job left syncs the files finished so far
    /// ([`Stage::sync_finished`]). The names of the files written, in the order added, or the
    /// first error in that order.
    fn run(self, stage: &Stage) -> Result<Vec<String>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Mutex;
        let n = self.list.len();
        let threads = std::thread::available_parallelism()
            .map_or(1, |k| k.get())
            .min(MAX_WRITERS)
            .min(n);
        let (names, jobs): (Vec<String>, Vec<_>) = self.list.into_iter().unzip();
        let jobs: Vec<Mutex<Option<_>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
        let done: Vec<Mutex<Option<Result<()>>>> = (0..n).map(|_| Mutex::new(None)).collect();
        // The case × step × element tables first, the small ones after: the longest job
        // starts first, so the threads finish together.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| !per_step_element_table(&names[i]));
        let next = AtomicUsize::new(0);
        let synced: Mutex<Result<()>> = Mutex::new(Ok(()));
        let work = || loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some((i, slot)) = order.get(k).map(|&i| (i, &jobs[i])) else {
                if let Err(e) = stage.sync_finished() {
                    *synced.lock().unwrap_or_else(|e| e.into_inner()) = Err(e);
                }
                break;
            };
            let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(job) = job {
                let r = job();
                *done[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }
        };
        std::thread::scope(|s| {
            for _ in 1..threads {
                crate::util::cpu::spawn_apart(s, work);
            }
            work();
        });
        for d in done {
            if let Some(Err(e)) = d.into_inner().unwrap_or_else(|e| e.into_inner()) {
                return Err(e);
            }
        }
        synced.into_inner().unwrap_or_else(|e| e.into_inner())?;
        Ok(names)
    }
}

fn csv_file<T: Serialize>(
    stage: &Stage,
    name: &str,
    rows: impl IntoIterator<Item = T>,
) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: stage.path(name),
        source: e,
    };
    // The CSV writer buffers a row stream itself (64 KiB): no second buffer under it.
    let f = stage.create_with_buffer(name, 0)?;
    // An empty table writes nothing (a header would need a row to take the names from).
    let mut w = csv_writer::CsvWriter::new(f);
    for r in rows {
        w.serialize(&r).map_err(|e| io(e.into()))?;
    }
    let f = w.into_inner().map_err(|e| io(e.into()))?;
    stage.finish_file(name, f)
}

fn case_name(c: &CaseResult) -> String {
    serde_name(&c.case)
}

/// The machine-readable summary (`summary.json`).
#[derive(Debug, Serialize)]
pub struct Summary<'a> {
    /// netclear version.
    pub netclear_version: &'static str,
    /// The resolved scenario.
    pub scenario: &'a crate::scenario::Scenario,
    /// Money unit of every money figure.
    pub currency: &'static str,
    /// Feeder facts.
    pub network: NetworkFacts,
    /// Whether the P2P case's physics equals the baseline's in every step (nothing flexible
    /// responded to the market).
    pub physics_identical: bool,
    /// Baseline KPIs.
    pub baseline: &'a crate::study::kpi::Kpis,
    /// P2P KPIs.
    pub p2p: &'a crate::study::kpi::Kpis,
    /// KPIs of the same day without any battery, when batteries exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without_storage: Option<&'a crate::study::Variant>,
    /// P2P KPIs with home batteries only, the community battery only, the shared battery only,
    /// and both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_kinds: Option<&'a crate::study::BatteryKinds>,
    /// The same with every battery on the greedy rule (`storage.compare_greedy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub battery_kinds_greedy: Option<&'a crate::study::BatteryKinds>,
    /// Central vs decentralised clearing, with `--clearing central`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decentralisation: Option<&'a crate::study::Decentralisation>,
    /// Storage dispatch facts, when batteries exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageFacts>,
    /// EVs and shiftable loads, when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flexibility: Option<FlexFacts>,
    /// The paper's study next to its corrected version, for the paper presets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paper_comparison: Option<&'a crate::study::paper::Comparison>,
    /// The three market designs on the same day (`--compare-designs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market_designs: Option<&'a [crate::study::DesignResult]>,
    /// Optimisations that did not solve (`--dump-lp` writes them).
    pub failed_optimisations: Vec<String>,
    /// The head (last block hash) of `ledger.jsonl`, with `--ledger`: published here so a
    /// re-chained ledger is caught (`netclear ledger verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger_head: Option<String>,
    /// A multi-day study's days with their own KPIs and comparisons; the KPIs above are the
    /// whole period's ([`crate::study::period`]).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub days: &'a [crate::study::period::DaySummary],
}

/// How the batteries were dispatched (P2P case).
#[derive(Debug, Serialize)]
pub struct StorageFacts {
    /// Batteries (homes plus the community battery; each share of a shared battery counted).
    pub batteries: usize,
    /// Dispatch model.
    pub model: crate::storage::StorageModel,
    /// How many dispatches were proven optimal (gap ≤ 0.01 %).
    pub proven_optimal: usize,
    /// Largest relative gap.
    pub max_gap: f64,
    /// Steps in which the LP relaxation charged and discharged at once (over all batteries).
    pub lp_simultaneous_steps: usize,
    /// Dispatch methods used (lp-exact, fix-smaller, branch-and-bound, lp, greedy).
    pub methods: Vec<String>,
}

/// EVs and shiftable loads of a run.
#[derive(Debug, Serialize)]
pub struct FlexFacts {
    /// EVs.
    pub evs: usize,
    /// Their charging policy.
    pub ev_charging: crate::storage::ev::EvCharging,
    /// Shiftable loads.
    pub shiftable_loads: usize,
    /// Whether the P2P case's EVs see the pool.
    pub evs_see_pool: bool,
    /// Whether the P2P case's shiftable loads see the pool.
    pub shiftables_see_pool: bool,
    /// Every EV that leaves with less than it needs, per case: never hidden.
    pub ev_shortfalls: Vec<EvShortfall>,
}

/// One EV leaving short ([`FlexFacts::ev_shortfalls`]).
#[derive(Debug, Serialize)]
pub struct EvShortfall {
    /// `baseline` or `p2p`.
    pub case: String,
    /// The prosumer.
    pub prosumer: usize,
    /// Energy needed, kWh.
    pub need_kwh: f64,
    /// Energy taken on, kWh.
    pub delivered_kwh: f64,
    /// Missing, kWh.
    pub shortfall_kwh: f64,
    /// Why.
    pub reason: String,
}

/// Violations as one text (`; `-separated).
fn joined(v: &[crate::formulation::Violation]) -> String {
    v.iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// An EV's physical day in a case: the charging the network correction throttled per step (kW)
/// and the SOC it leaves (the plan's, less `η_c ×` the throttled energy so far in its window).
fn ev_physical(
    e: &crate::storage::ev::EvDispatch,
    accounts: &[Vec<crate::settlement::Account>],
    dt_h: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = e.dispatch.soc_kwh.len();
    let i = e.ev.prosumer;
    let throttled: Vec<f64> = (0..n)
        .map(|t| {
            accounts
                .get(t)
                .and_then(|s| s.get(i))
                .map_or(0.0, |a| a.ev_throttled_kwh / dt_h)
        })
        .collect();
    let mut soc = e.dispatch.soc_kwh.clone();
    let w = e.window;
    let mut lost = 0.0;
    if e.chained() {
        // A period's sessions run in time order across midnight: what was throttled is lost
        // from then until the car next arrives (the first morning's session arrived before).
        for t in 0..n {
            if e.arrives(t) && t > 0 {
                lost = 0.0;
            }
            if e.plugged(t) {
                lost += crate::storage::ev::EV_ETA * throttled[t] * dt_h;
            }
            soc[t] -= lost;
        }
        return (throttled, soc);
    }
    for k in 0..n {
        let t = w.step(k, n);
        if k >= w.len && w.start + w.len <= n && t < w.start {
            continue; // before a window that does not wrap: nothing lost yet
        }
        if k < w.len {
            lost += crate::storage::ev::EV_ETA * throttled[t] * dt_h;
        }
        soc[t] -= lost;
    }
    (throttled, soc)
}

fn flex_facts(r: &StudyResult) -> Option<FlexFacts> {
    let c = &r.community;
    if c.evs.is_empty() && c.shiftables.is_empty() {
        return None;
    }
    use crate::scenario::FlexPricing;
    let mut short = Vec::new();
    for case in [&r.day.baseline, &r.day.p2p] {
        let outcomes = crate::study::kpi::ev_outcomes(&case.plan, &case.totals);
        for (e, o) in case.plan.evs().zip(outcomes) {
            if o.shortfall_kwh <= 0.0 {
                continue;
            }
            let mut reason = Vec::new();
            if e.shortfall_kwh > 0.0 {
                reason.push(format!(
                    "plugged in {} steps at {} kW: at most {} kWh",
                    e.window.len,
                    fmt_f64(e.ev.charger_kw),
                    fmt_f64(e.delivered_kwh)
                ));
            }
            if o.throttled_kwh > 0.0 {
                reason.push(format!(
                    "{} kWh of charging throttled by the network correction",
                    fmt_f64(o.throttled_kwh)
                ));
            }
            short.push(EvShortfall {
                case: case_name(case),
                prosumer: e.ev.prosumer,
                need_kwh: o.need_kwh,
                delivered_kwh: o.delivered_kwh,
                shortfall_kwh: o.shortfall_kwh,
                reason: reason.join("; "),
            });
        }
    }
    Some(FlexFacts {
        evs: c.evs.len(),
        ev_charging: r.scenario.ev.charging,
        shiftable_loads: c.shiftables.len(),
        evs_see_pool: r.scenario.ev.pricing == FlexPricing::Pool,
        shiftables_see_pool: r.scenario.flex.pricing == FlexPricing::Pool,
        ev_shortfalls: short,
    })
}

/// Facts about the feeder in this run.
#[derive(Debug, Serialize)]
pub struct NetworkFacts {
    /// Feeder name.
    pub name: String,
    /// User buses.
    pub buses: usize,
    /// Electrical nodes.
    pub nodes: usize,
    /// Prosumers.
    pub prosumers: usize,
    /// Prosumers with PV.
    pub prosumers_with_pv: usize,
    /// Steps in the study (the day, or a multi-day study's period).
    pub steps: usize,
    /// Step length, minutes.
    pub step_minutes: u32,
}

/// Network facts of a community.
pub fn facts(c: &Community) -> NetworkFacts {
    NetworkFacts {
        name: c.network.manifest.name.clone(),
        buses: c.network.buses.len(),
        nodes: c.grid.n_nodes(),
        prosumers: c.prosumers.len(),
        prosumers_with_pv: c.prosumers.iter().filter(|p| p.pv_kwp > 0.0).count(),
        steps: c.n_steps(),
        step_minutes: c.step_minutes,
    }
}

fn storage_facts(r: &StudyResult) -> Option<StorageFacts> {
    let d: Vec<&crate::storage::Dispatch> = r.day.p2p.plan.dispatches().collect();
    if d.is_empty() {
        return None;
    }
    let mut methods: Vec<String> = d.iter().map(|x| serde_name(&x.method)).collect();
    methods.sort();
    methods.dedup();
    Some(StorageFacts {
        batteries: d.len(),
        model: r.scenario.storage.model,
        proven_optimal: d.iter().filter(|x| x.gap <= 1e-4).count(),
        max_gap: d
            .iter()
            .map(|x| if x.gap.is_finite() { x.gap } else { 0.0 })
            .fold(0.0, f64::max),
        lp_simultaneous_steps: d.iter().map(|x| x.lp_simultaneous_steps).sum(),
        methods,
    })
}

/// `summary.json` of a study, as text.
pub fn summary_json(r: &StudyResult) -> Result<String> {
    summary_json_with_head(r, None)
}

/// `summary.json` of a study with the ledger's head hash published in it.
pub fn summary_json_with_head(r: &StudyResult, ledger_head: Option<String>) -> Result<String> {
    let cmp = &r.comparisons;
    let s = Summary {
        netclear_version: env!("CARGO_PKG_VERSION"),
        scenario: &r.scenario,
        currency: "$",
        network: facts(&r.community),
        physics_identical: r.day.p2p.same_physics(&r.day.baseline),
        baseline: &r.day.baseline.kpis,
        p2p: &r.day.p2p.kpis,
        without_storage: cmp.without_storage.as_ref(),
        battery_kinds: cmp.battery_kinds.as_ref(),
        battery_kinds_greedy: cmp.battery_kinds_greedy.as_ref(),
        decentralisation: cmp.decentralisation.as_ref(),
        storage: storage_facts(r),
        flexibility: flex_facts(r),
        paper_comparison: cmp.paper.as_ref(),
        market_designs: cmp.market_designs.as_deref(),
        failed_optimisations: r.failed.iter().map(|f| f.label.clone()).collect(),
        ledger_head,
        days: &r.days,
    };
    let mut v = serde_json::to_value(&s).map_err(|e| Error::Numerical(e.to_string()))?;
    clean_negative_zero(&mut v);
    serde_json::to_string_pretty(&v)
        .map(|t| t + "\n")
        .map_err(|e| Error::Numerical(e.to_string()))
}

/// `-0` (an empty sum, a rounded negative) is written as `0`.
fn clean_negative_zero(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.as_f64() == Some(0.0) && n.is_f64() => {
            *v = serde_json::Value::from(0.0);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(clean_negative_zero),
        serde_json::Value::Object(o) => o.values_mut().for_each(clean_negative_zero),
        _ => {}
    }
}

/// Whether a file is a case × step × element table (left out with `outputs = summary`).
fn per_step_element_table(name: &str) -> bool {
    matches!(
        name,
        "trades.csv"
            | "settlement.csv"
            | "settlements.csv"
            | "wallets.csv"
            | "line_loading.csv"
            | "bus_voltages.csv"
            | "nodal_prices.csv"
            | "binding_limits.csv"
            | "batteries.csv"
            | "evs.csv"
            | "flex_loads.csv"
            | "vpp.csv"
    ) || (name.starts_with("battery_P") && name.ends_with(".csv"))
}

/// Writes a study's results folder (see the module docs); returns the number of files.
pub fn write_run(r: &StudyResult, dir: &Path, opts: &WriteOptions) -> Result<usize> {
    // A study that kept only totals has no per-step tables, report or ledger to give.
    let summary_only = r.scenario.outputs == crate::scenario::Outputs::Summary;
    if !r.retention.keeps_steps() && (!summary_only || opts.report || opts.ledger) {
        return Err(Error::invalid(
            crate::Location::file("outputs"),
            "this study kept only its totals (`study::Retention::Totals`): it can write the \
             summary files (`outputs = \"summary\"`), not the per-step tables, the report or \
             the ledger; run it with `Retention::Steps`",
        ));
    }
    let staged = Stage::new(dir, opts.force)?;
    let stage = &staged;
    let c = &r.community;
    let d = &r.day;
    let ledger = opts.ledger.then(|| crate::ledger::build(c, d, &r.scenario));
    let head = ledger.as_deref().and_then(crate::ledger::head);
    let mut files: Vec<String> = Vec::new();
    let cases = [&d.baseline, &d.p2p];
    // The text cells of the case × step × element tables, made once: each row borrows them.
    let case_labels: Vec<(String, Vec<String>)> = cases
        .iter()
        .map(|case| {
            let models = case.network.iter().map(|n| serde_name(&n.model)).collect();
            (case_name(case), models)
        })
        .collect();
    let labelled = || cases.iter().zip(&case_labels);
    // The tables are independent: they are written by [`Jobs`], on as many threads as cores.
    let mut jobs = Jobs::default();
    jobs.add("summary.json", move || {
        stage.write("summary.json", summary_json_with_head(r, head)?.as_bytes())
    });
    jobs.add("feeder.json", move || {
        let geo =
            serde_json::to_string(&geometry(c)).map_err(|e| Error::Numerical(e.to_string()))?;
        stage.write("feeder.json", (geo + "\n").as_bytes())
    });
    // `outputs = summary` leaves out the case × step × element tables.
    let keep = |name: &str| !summary_only || !per_step_element_table(name);

    jobs.add("hourly.csv", move || {
        csv_file(
            stage,
            "hourly.csv",
            cases.iter().flat_map(|case| {
                (0..c.n_steps()).map(move |t| {
                    let tot = case.step_total(t);
                    // The P2P energy executed and what its buyers paid (the trades' sums).
                    let (vol, paid) = if case.case == crate::study::Case::P2p {
                        d.trade_totals.step(t)
                    } else {
                        (0.0, 0.0)
                    };
                    let net = &case.network[t];
                    Hourly {
                        case: case_name(case),
                        step: t,
                        time: c.step_label(t),
                        load_kwh: tot.load_kwh.into(),
                        pv_kwh: tot.pv_kwh.into(),
                        self_consumed_kwh: tot.self_kwh.into(),
                        p2p_kwh: tot.p2p_bought_kwh.into(),
                        grid_import_kwh: tot.grid_import_kwh.into(),
                        grid_export_kwh: tot.grid_export_kwh.into(),
                        curtailed_kwh: tot.curtailed_kwh.into(),
                        shed_kwh: tot.shed_kwh.into(),
                        retail_per_kwh: c.retail_per_kwh[t].into(),
                        feed_in_per_kwh: c.feed_in_per_kwh[t].into(),
                        p2p_avg_price_per_kwh: (vol > 0.0).then(|| Num(paid / vol)),
                        cost: case.totals.step_bills[t].into(),
                        slack_import_kw: net.slack_import_kw.into(),
                        max_line_loading_percent: net.max_line_loading_percent.into(),
                        max_trafo_loading_percent: net.max_trafo_loading_percent.into(),
                        n_overloaded_branches: net.overloaded().count(),
                        network_model: serde_name(&net.model),
                    }
                })
            }),
        )
    });

    if keep("trades.csv") {
        jobs.add("trades.csv", move || {
            csv_file(
                stage,
                "trades.csv",
                d.trades.iter().map(|x| {
                    let t = &x.trade;
                    TradeRow {
                        step: x.step,
                        time: c.step_str(x.step).into(),
                        seller: t.seller,
                        seller_bus: c.prosumers[t.seller].bus.0,
                        buyer: t.buyer,
                        buyer_bus: c.prosumers[t.buyer].bus.0,
                        kwh: t.kwh.into(),
                        bid_per_kwh: t.bid_per_kwh.into(),
                        ask_per_kwh: t.ask_per_kwh.into(),
                        buyer_price_per_kwh: t.buyer_price_per_kwh.into(),
                        seller_price_per_kwh: t.seller_price_per_kwh.into(),
                        buyer_pays: (x.executed_kwh * t.buyer_price_per_kwh).into(),
                        seller_receives: (x.executed_kwh * t.seller_price_per_kwh).into(),
                        executed_kwh: x.executed_kwh.into(),
                        curtailed_kwh: (t.kwh - x.executed_kwh).into(),
                        curtailment_reason: x.curtailment_reason.clone(),
                        network_charge: x.network_charge.into(),
                    }
                }),
            )
        });
    }

    jobs.add("prosumers.csv", move || {
        csv_file(
            stage,
            "prosumers.csv",
            c.prosumers.iter().map(|p| {
                let base = d.baseline.prosumer_total(p.id);
                let p2p = d.p2p.prosumer_total(p.id);
                ProsumerRow {
                    prosumer: p.id,
                    name: p.name.clone(),
                    bus: p.bus.0,
                    class: serde_name(&p.class),
                    households: p.households,
                    profile: p.profile.clone(),
                    pv_kwp: p.pv_kwp.into(),
                    battery_kwh: p.battery.map_or(0.0, |b| b.e_kwh).into(),
                    load_kwh: p2p.load_kwh.into(),
                    pv_kwh: p2p.pv_kwh.into(),
                    self_consumed_kwh: p2p.self_kwh.into(),
                    p2p_bought_kwh: p2p.p2p_bought_kwh.into(),
                    p2p_sold_kwh: p2p.p2p_sold_kwh.into(),
                    grid_import_kwh: p2p.grid_import_kwh.into(),
                    grid_export_kwh: p2p.grid_export_kwh.into(),
                    baseline_bill: base.bill().into(),
                    p2p_bill: p2p.bill().into(),
                    savings: (base.bill() - p2p.bill()).into(),
                }
            }),
        )
    });

    if keep("settlement.csv") {
        jobs.add("settlement.csv", move || settlement_csv(stage, c, &cases));
    }

    // Every prosumer's running wallet (the report's: received − paid since the start), read off
    // the same accounts as settlement.csv.
    if keep("wallets.csv") {
        jobs.add("wallets.csv", move || {
            csv_file(
                stage,
                "wallets.csv",
                labelled().flat_map(|(case, (label, _))| {
                    let np = c.prosumers.len();
                    let rows =
                        case.accounts.iter().enumerate().flat_map(|(t, step)| {
                            step.iter().enumerate().map(move |(i, a)| (t, i, a))
                        });
                    rows.scan(vec![0.0; np], move |balance, (t, i, a)| {
                        balance[i] -= a.bill();
                        Some(WalletRow {
                            case: label.into(),
                            step: t,
                            time: c.step_str(t).into(),
                            prosumer: i,
                            bill: a.bill().into(),
                            balance: balance[i].into(),
                        })
                    })
                }),
            )
        });
    }

    jobs.add("lines.csv", move || {
        csv_file(
            stage,
            "lines.csv",
            cases.iter().flat_map(|case| {
                case.branches.iter().map(move |b| BranchRow {
                    case: case_name(case),
                    kind: b.kind.to_string(),
                    id: b.id,
                    from_bus: b.from_bus,
                    to_bus: b.to_bus,
                    peak_loading_percent: b.peak_loading_percent.into(),
                    peak_step: b.peak_step,
                    steps_over_limit: b.steps_over_limit,
                })
            }),
        )
    });

    jobs.add("network.csv", move || {
        csv_file(
            stage,
            "network.csv",
            cases.iter().flat_map(|case| {
                case.network
                    .iter()
                    .enumerate()
                    .map(move |(t, n)| NetworkRow {
                        case: case_name(case),
                        step: t,
                        model: serde_name(&n.model),
                        ac_failed: n.ac_failed,
                        slack_import_kw: n.slack_import_kw.into(),
                        net_import_kw: n.net_import_kw.into(),
                        losses_kw: n.losses_kw.into(),
                        vmin_pu: n.vmin_pu.map(Num),
                        vmax_pu: n.vmax_pu.map(Num),
                        max_line_loading_percent: n.max_line_loading_percent.into(),
                        max_trafo_loading_percent: n.max_trafo_loading_percent.into(),
                        violations: joined(&n.violations),
                    })
            }),
        )
    });

    let grid = &c.grid;
    if keep("line_loading.csv") {
        jobs.add("line_loading.csv", move || {
            let elements: Vec<String> = grid
                .branches
                .iter()
                .map(|b| b.element.to_string())
                .collect();
            let elements = &elements;
            csv_file(
                stage,
                "line_loading.csv",
                labelled().flat_map(|(case, (label, models))| {
                    case.network.iter().enumerate().flat_map(move |(t, n)| {
                        elements
                            .iter()
                            .enumerate()
                            .map(move |(l, element)| LoadingRow {
                                case: label.into(),
                                step: t,
                                element: element.into(),
                                p_from_kw: n.p_from_kw[l].into(),
                                loading_percent: n.loading_percent[l].into(),
                                model: models[t].as_str().into(),
                            })
                    })
                }),
            )
        });
    }

    if keep("bus_voltages.csv")
        && cases
            .iter()
            .any(|case| case.network.iter().any(|n| !n.vm_pu.is_empty()))
    {
        jobs.add("bus_voltages.csv", move || {
            csv_file(
                stage,
                "bus_voltages.csv",
                labelled().flat_map(|(case, (label, models))| {
                    case.network.iter().enumerate().flat_map(move |(t, n)| {
                        grid.nodes.iter().enumerate().filter_map(move |(k, node)| {
                            n.vm_pu.get(k).map(|&v| VoltageRow {
                                case: label.into(),
                                step: t,
                                bus: node.buses[0].0,
                                vm_pu: v.into(),
                                model: models[t].as_str().into(),
                            })
                        })
                    })
                }),
            )
        });
    }

    if cases.iter().any(|case| !case.clearing.is_empty()) {
        if keep("nodal_prices.csv") {
            jobs.add("nodal_prices.csv", move || {
                csv_file(
                    stage,
                    "nodal_prices.csv",
                    labelled().flat_map(|(case, (label, _))| {
                        case.clearing.iter().enumerate().flat_map(move |(t, cl)| {
                            let o = &cl.outcome;
                            grid.nodes.iter().enumerate().map(move |(k, node)| {
                                let f = |v: f64| v.is_finite().then_some(Num(v));
                                PriceRow {
                                    case: label.into(),
                                    step: t,
                                    bus: node.buses[0].0,
                                    lmp_per_kwh: f(o.lmp_per_kwh[k]),
                                    energy_per_kwh: f(o.energy_per_kwh),
                                    congestion_per_kwh: f(o.congestion_per_kwh[k]),
                                    voltage_per_kwh: f(o.voltage_per_kwh[k]),
                                    losses_per_kwh: f(o.losses_per_kwh[k]),
                                    q_lmp_per_kvarh: o.reactive.as_ref().and_then(|q| f(q.lmp[k])),
                                    q_congestion_per_kvarh: o
                                        .reactive
                                        .as_ref()
                                        .and_then(|q| f(q.congestion[k])),
                                    q_voltage_per_kvarh: o
                                        .reactive
                                        .as_ref()
                                        .and_then(|q| f(q.voltage[k])),
                                    q_losses_per_kvarh: o
                                        .reactive
                                        .as_ref()
                                        .and_then(|q| f(q.losses[k])),
                                }
                            })
                        })
                    }),
                )
            });
        }
        jobs.add("clearing.csv", move || {
            csv_file(
                stage,
                "clearing.csv",
                cases.iter().flat_map(|case| {
                    case.clearing.iter().enumerate().map(move |(t, cl)| {
                        let o = &cl.outcome;
                        ClearingRow {
                            case: case_name(case),
                            step: t,
                            status: serde_name(&o.status),
                            optimised: o.optimised,
                            ac_feedback_rounds: o.ac_feedback_rounds,
                            binding: o.reason(),
                            violations_before: joined(&o.violations),
                            ac_violations_before: joined(&o.ac_violations_before),
                            shed_kw: cl.shed_total_kw.into(),
                            curtailed_kw: cl.curtailed_total_kw.into(),
                            socp_max_gap: o.socp_max_gap.map(Num),
                            vm_error_pu: cl.vm_error_pu.map(Num),
                            p_error_kw: cl.p_error_kw.map(Num),
                        }
                    })
                }),
            )
        });
        // Written when a limit binds somewhere (no empty files).
        if keep("binding_limits.csv")
            && cases.iter().any(|case| {
                case.clearing
                    .iter()
                    .any(|cl| !cl.outcome.binding.is_empty())
            })
        {
            jobs.add("binding_limits.csv", move || {
                csv_file(
                    stage,
                    "binding_limits.csv",
                    cases.iter().flat_map(|case| {
                        case.clearing.iter().enumerate().flat_map(move |(t, cl)| {
                            cl.outcome.binding.iter().map(move |b| BindingRow {
                                case: case_name(case),
                                step: t,
                                time: c.step_label(t),
                                kind: b.limit.kind.as_str().to_string(),
                                element: crate::formulation::element_name(grid, b.limit.element),
                                dual: b.shadow_price.into(),
                            })
                        })
                    }),
                )
            });
        }
    }

    // One tidy battery table, both cases.
    if keep("batteries.csv") && cases.iter().any(|case| case.plan.any()) {
        jobs.add("batteries.csv", move || {
            csv_file(
                stage,
                "batteries.csv",
                cases.iter().flat_map(|case| {
                    c.prosumers
                        .iter()
                        .flat_map(move |p| {
                            let dp = case.plan.dispatch.get(p.id).and_then(Option::as_ref);
                            dp.into_iter().flat_map(move |dp| {
                                (0..c.n_steps()).map(move |t| BatteriesRow {
                                    case: case_name(case),
                                    step: t,
                                    time: c.step_label(t),
                                    prosumer: p.id,
                                    bus: p.bus.0,
                                    kind: if p.class == LoadClass::Vpp {
                                        "community".into()
                                    } else {
                                        "home".into()
                                    },
                                    soc_kwh: dp.soc_kwh[t].into(),
                                    charge_kw: dp.charge_kw[t].into(),
                                    discharge_kw: dp.discharge_kw[t].into(),
                                    curtail_kw: dp.curtail_kw[t].into(),
                                })
                            })
                        })
                        // The shares of the shared battery: each its member's, all at the device's bus
                        // (their sum per step is the device).
                        .chain(c.shared.iter().flat_map(move |sb| {
                            sb.shares.iter().flat_map(move |&(i, _)| {
                                let dp = case.plan.share.get(i).and_then(Option::as_ref);
                                dp.into_iter().flat_map(move |dp| {
                                    (0..c.n_steps()).map(move |t| BatteriesRow {
                                        case: case_name(case),
                                        step: t,
                                        time: c.step_label(t),
                                        prosumer: i,
                                        bus: sb.bus.0,
                                        kind: "share".into(),
                                        soc_kwh: dp.soc_kwh[t].into(),
                                        charge_kw: dp.charge_kw[t].into(),
                                        discharge_kw: dp.discharge_kw[t].into(),
                                        curtail_kw: dp.curtail_kw[t].into(),
                                    })
                                })
                            })
                        }))
                }),
            )
        });
    }

    // EVs and shiftable loads, both cases.
    if keep("evs.csv") && cases.iter().any(|k| k.plan.evs().next().is_some()) {
        jobs.add("evs.csv", move || {
            csv_file(
                stage,
                "evs.csv",
                cases.iter().flat_map(|case| {
                    let name = case_name(case);
                    let phys: Vec<_> = case
                        .plan
                        .evs()
                        .map(|e| ev_physical(e, &case.accounts, c.dt_h()))
                        .collect();
                    (0..c.n_steps()).flat_map(move |t| {
                        let name = name.clone();
                        let phys = phys.clone();
                        case.plan
                            .evs()
                            .zip(phys)
                            .map(move |(e, (throttled, soc))| EvRow {
                                step: t,
                                prosumer: e.ev.prosumer,
                                case: name.clone(),
                                charge_kw: (e.dispatch.charge_kw[t] - throttled[t]).into(),
                                throttled_kw: throttled[t].into(),
                                discharge_kw: e.dispatch.discharge_kw[t].into(),
                                soc_kwh: soc[t].into(),
                                plugged: e.plugged(t),
                            })
                    })
                }),
            )
        });
    }
    if keep("flex_loads.csv") && cases.iter().any(|k| k.plan.shifts().next().is_some()) {
        let n = c.n_steps();
        // The window repeats every day of a period.
        let nd = r.days.first().map_or(n, |d| d.steps).max(1);
        jobs.add("flex_loads.csv", move || {
            csv_file(
                stage,
                "flex_loads.csv",
                cases.iter().flat_map(|case| {
                    let name = case_name(case);
                    (0..n).flat_map(move |t| {
                        let name = name.clone();
                        case.plan.shifts().map(move |f| FlexRow {
                            step: t,
                            prosumer: f.load.prosumer,
                            case: name.clone(),
                            reference_kw: f.load.reference_kw[t].into(),
                            load_kw: f.load_kw[t].into(),
                            curtailed_kw: case.plan.curtailed_kw(f.load.prosumer, t).into(),
                            in_window: f.load.window.contains(t % nd, nd),
                        })
                    })
                }),
            )
        });
    }

    // The seed's storage files (P2P case).
    let plan = &d.p2p.plan;
    let mut any_battery = false;
    for p in &c.prosumers {
        let Some(dp) = plan.dispatch.get(p.id).and_then(Option::as_ref) else {
            continue;
        };
        let name = if p.class == LoadClass::Vpp {
            "vpp.csv".to_string()
        } else {
            format!("battery_P{}.csv", p.id)
        };
        if keep(&name) {
            jobs.add(name.clone(), move || {
                csv_file(
                    stage,
                    &name,
                    (0..c.n_steps()).map(|t| BatteryRow {
                        step: t,
                        time: c.step_label(t),
                        soc_kwh: dp.soc_kwh[t].into(),
                        charge_kw: dp.charge_kw[t].into(),
                        discharge_kw: dp.discharge_kw[t].into(),
                        curtail_kw: dp.curtail_kw[t].into(),
                    }),
                )
            });
        }

        any_battery = true;
    }
    if any_battery {
        // The seed's trade list: every executed trade (P2P case), from the same trades as
        // trades.csv.
        if keep("settlements.csv") {
            jobs.add("settlements.csv", move || {
                csv_file(
                    stage,
                    "settlements.csv",
                    d.trades
                        .iter()
                        .filter(|x| x.executed_kwh > 0.0)
                        .map(|x| SettlementsRow {
                            step: x.step,
                            time: c.step_label(x.step),
                            seller: x.trade.seller,
                            buyer: x.trade.buyer,
                            energy_kwh: x.executed_kwh.into(),
                            price_per_kwh: x.trade.buyer_price_per_kwh.into(),
                        }),
                )
            });
        }
        let vpp = c.prosumers.iter().find(|p| p.class == LoadClass::Vpp);
        let dt = c.dt_h();
        jobs.add("p2p_vpp_summary.csv", move || {
            csv_file(
                stage,
                "p2p_vpp_summary.csv",
                (0..c.n_steps()).map(|t| {
                    let tot = d.p2p.step_total(t);
                    let (vol, paid) = d.trade_totals.step(t);
                    let (vc, vd) = vpp
                        .and_then(|v| plan.dispatch.get(v.id).and_then(Option::as_ref))
                        .map_or((0.0, 0.0), |x| {
                            (x.charge_kw[t] * dt, x.discharge_kw[t] * dt)
                        });
                    VppSummaryRow {
                        step: t,
                        time: c.step_label(t),
                        external_buy_kwh: tot.grid_import_kwh.into(),
                        external_sell_kwh: tot.grid_export_kwh.into(),
                        vpp_charge_kwh: vc.into(),
                        vpp_discharge_kwh: vd.into(),
                        internal_traded_kwh: tot.p2p_bought_kwh.into(),
                        internal_price_per_kwh: (vol > 0.0).then(|| Num(paid / vol)),
                    }
                }),
            )
        });
    }
    if let Some(p) = &r.comparisons.paper {
        jobs.add("paper_hourly.csv", move || {
            csv_file(
                stage,
                "paper_hourly.csv",
                p.paper.hours.iter().enumerate().map(|(i, h)| {
                    let k = p.corrected.as_ref().map(|c| &c.hours[i]);
                    PaperHourRow {
                        hour: h.hour,
                        paper_total_load_kwh: h.total_load_kwh.into(),
                        paper_n_trades: h.n_trades,
                        paper_p2p_kwh: h.p2p_kwh.into(),
                        paper_pct_load_by_p2p: h.pct_load_by_p2p.into(),
                        paper_grid_kwh: h.grid_kwh.into(),
                        corrected_total_load_kwh: k.map(|k| Num(k.total_load_kwh)),
                        corrected_n_trades: k.map(|k| k.n_trades),
                        corrected_p2p_kwh: k.map(|k| Num(k.p2p_kwh)),
                        corrected_pct_load_by_p2p: k.map(|k| Num(k.pct_load_by_p2p)),
                        corrected_grid_kwh: k.map(|k| Num(k.grid_kwh)),
                    }
                }),
            )
        });
    }
    if let Some(ledger) = &ledger {
        jobs.add("ledger.jsonl", move || {
            stage.write("ledger.jsonl", ledger.as_bytes())
        });
    }
    files.extend(jobs.run(stage)?);
    if opts.report {
        let html = html::render(&stage.path(""))?;
        stage.write("report.html", html.as_bytes())?;
        files.push("report.html".into());
    }
    staged.commit()?;
    Ok(files.len())
}

/// `settlement.csv`: case, step, prosumer, then every field of [`crate::settlement::Account`]
/// in its order (so a new bill term appears here without touching this file), then the bill.
fn settlement_csv(stage: &Stage, c: &Community, cases: &[&CaseResult]) -> Result<()> {
    let name = "settlement.csv";
    let io = |e: csv_writer::CsvError| Error::Io {
        path: stage.path(name),
        source: e.into(),
    };
    // The columns are the account's fields, in its order (one list: the struct).
    let mut fields = Vec::new();
    let mut values = Vec::new();
    account_fields(
        &crate::settlement::Account::default(),
        Some(&mut fields),
        &mut values,
    );
    let mut w = csv_writer::CsvWriter::new(stage.create_with_buffer(name, 0)?);
    let mut header: Vec<&str> = vec!["case", "step", "time", "prosumer", "bus"];
    header.extend(fields.iter().copied());
    header.push("bill");
    w.write_record(&header).map_err(io)?;
    // Cells are written straight from reused buffers: this table is case × step × prosumer
    // (12 million cells at 10⁵ buses).
    let mut num = crate::util::F64Text::new();
    for case in cases {
        let case_label = case_name(case);
        for (t, step) in case.accounts.iter().enumerate() {
            let time = c.step_label(t);
            for (i, a) in step.iter().enumerate() {
                account_fields(a, None, &mut values);
                w.field(case_label.as_bytes());
                w.int_field(t as i64);
                w.field(time.as_bytes());
                w.int_field(i as i64);
                w.int_field(c.prosumers[i].bus.0);
                for &v in &values {
                    // A non-finite value has no JSON number: an empty cell, as always.
                    let cell = if v.is_finite() { num.format(v) } else { "" };
                    w.number_field(cell);
                }
                w.number_field(num.format(a.bill()));
                w.end_record().map_err(io)?;
            }
        }
    }
    let f = w.into_inner().map_err(io)?;
    stage.finish_file(name, f)
}

/// The `f64` fields of an account, in the struct's order, through its `Serialize` (so the
/// struct stays the one list of columns): names into `names` when given, values into `values`.
fn account_fields(
    a: &crate::settlement::Account,
    names: Option<&mut Vec<&'static str>>,
    values: &mut Vec<f64>,
) {
    values.clear();
    let _ = a.serialize(fields::Fields { names, values });
}

/// A serde serializer that takes a flat struct of numbers apart into field names and values.
mod fields {
    use serde::ser::{self, Impossible, Serialize};

    #[derive(Debug)]
    pub struct Unsupported;
    impl std::fmt::Display for Unsupported {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("only a flat struct of numbers")
        }
    }
    impl std::error::Error for Unsupported {}
    impl ser::Error for Unsupported {
        fn custom<T: std::fmt::Display>(_: T) -> Self {
            Unsupported
        }
    }

    /// The struct level.
    pub struct Fields<'a> {
        pub names: Option<&'a mut Vec<&'static str>>,
        pub values: &'a mut Vec<f64>,
    }

    /// A field's value: a number, or `NaN` (written as an empty cell) for anything else.
    struct Value<'a>(&'a mut Vec<f64>);

    macro_rules! refuse {
        ($($f:ident($($t:ty),*)),* $(,)?) => {
            $(fn $f(self, $(_: $t),*) -> Result<Self::Ok, Self::Error> { Err(Unsupported) })*
        };
    }
    macro_rules! compound {
        () => {
            type SerializeSeq = Impossible<(), Unsupported>;
            type SerializeTuple = Impossible<(), Unsupported>;
            type SerializeTupleStruct = Impossible<(), Unsupported>;
            type SerializeTupleVariant = Impossible<(), Unsupported>;
            type SerializeMap = Impossible<(), Unsupported>;
            type SerializeStructVariant = Impossible<(), Unsupported>;
            fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_tuple_struct(
                self,
                _: &'static str,
                _: usize,
            ) -> Result<Self::SerializeTupleStruct, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_tuple_variant(
                self,
                _: &'static str,
                _: u32,
                _: &'static str,
                _: usize,
            ) -> Result<Self::SerializeTupleVariant, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_struct_variant(
                self,
                _: &'static str,
                _: u32,
                _: &'static str,
                _: usize,
            ) -> Result<Self::SerializeStructVariant, Unsupported> {
                Err(Unsupported)
            }
            fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Unsupported> {
                Err(Unsupported)
            }
            fn serialize_newtype_struct<T: ?Sized + Serialize>(
                self,
                _: &'static str,
                _: &T,
            ) -> Result<(), Unsupported> {
                Err(Unsupported)
            }
            fn serialize_newtype_variant<T: ?Sized + Serialize>(
                self,
                _: &'static str,
                _: u32,
                _: &'static str,
                _: &T,
            ) -> Result<(), Unsupported> {
                Err(Unsupported)
            }
            refuse!(
                serialize_bool(bool),
                serialize_i8(i8),
                serialize_i16(i16),
                serialize_i32(i32),
                serialize_i64(i64),
                serialize_u8(u8),
                serialize_u16(u16),
                serialize_u32(u32),
                serialize_u64(u64),
                serialize_f32(f32),
                serialize_char(char),
                serialize_str(&str),
                serialize_bytes(&[u8]),
                serialize_none(),
                serialize_unit(),
                serialize_unit_struct(&'static str),
                serialize_unit_variant(&'static str, u32, &'static str),
            );
        };
    }

    impl<'a> ser::Serializer for Value<'a> {
        type Ok = ();
        type Error = Unsupported;
        type SerializeStruct = Impossible<(), Unsupported>;
        compound!();
        fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
            self.0.push(v);
            Ok(())
        }
        fn serialize_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStruct, Unsupported> {
            Err(Unsupported)
        }
    }

    impl<'a> ser::Serializer for Fields<'a> {
        type Ok = ();
        type Error = Unsupported;
        type SerializeStruct = Self;
        compound!();
        fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
            Err(Unsupported)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unsupported> {
            Ok(self)
        }
    }

    impl<'a> ser::SerializeStruct for Fields<'a> {
        type Ok = ();
        type Error = Unsupported;
        fn serialize_field<T: ?Sized + Serialize>(
            &mut self,
            key: &'static str,
            value: &T,
        ) -> Result<(), Unsupported> {
            if let Some(n) = self.names.as_deref_mut() {
                n.push(key);
            }
            let before = self.values.len();
            if value.serialize(Value(self.values)).is_err() {
                self.values.truncate(before);
                self.values.push(f64::NAN);
            }
            Ok(())
        }
        fn end(self) -> Result<(), Unsupported> {
            Ok(())
        }
    }
}

/// The feeder drawing of a community (`feeder.json`).
pub fn geometry(c: &Community) -> FeederGeometry {
    let net = &c.network;
    let mut branches: Vec<GeoBranch> = net
        .lines
        .iter()
        .map(|l| GeoBranch {
            kind: "line".into(),
            id: l.id.0,
            from_bus: l.from_bus.0,
            to_bus: l.to_bus.0,
        })
        .collect();
    branches.extend(net.trafos.iter().map(|t| GeoBranch {
        kind: "trafo".into(),
        id: t.id.0,
        from_bus: t.hv_bus.0,
        to_bus: t.lv_bus.0,
    }));
    for sw in &net.switches {
        if let crate::network::SwitchElement::Bus(o) = sw.element {
            branches.push(GeoBranch {
                kind: "switch".into(),
                id: sw.id.0,
                from_bus: sw.bus.0,
                to_bus: o.0,
            });
        }
    }
    FeederGeometry {
        name: net.manifest.name.clone(),
        buses: net
            .buses
            .iter()
            .filter_map(|b| b.geo.map(|(x, y)| GeoBus { id: b.id.0, x, y }))
            .collect(),
        branches,
    }
}

/// Writes every failed optimisation as `PREFIX.<label>.json` (`--dump-lp`).
pub fn write_dumps(r: &StudyResult, prefix: &str) -> Result<usize> {
    for f in &r.failed {
        let path = format!("{prefix}.{}.json", f.label);
        let json = f.problem.to_json();
        // A dump netclear wrote starts with the same first key as every other dump.
        let key = json
            .find(':')
            .map_or("{", |i| &json[..=i])
            .as_bytes()
            .to_vec();
        crate::util::atomic::write_owned(Path::new(&path), json.as_bytes(), &|old| {
            old.starts_with(&key)
        })?;
    }
    Ok(r.failed.len())
}

/// Formats a float for a text cell (shortest round-trip).
pub fn num(v: f64) -> String {
    fmt_f64(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the threads' timing, the files come back in the order added and the error
    /// returned is the first one in that order; every finished file is synced.
    #[test]
    fn jobs_keep_the_order_and_the_first_error() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        for _ in 0..20 {
            let stage = Stage::new(&dir, false).unwrap();
            let s = &stage;
            let mut jobs = Jobs::default();
            for k in 0..9 {
                let name = format!("f{k}.csv");
                jobs.add(name.clone(), move || {
                    s.write(&name, format!("{k}\n").as_bytes())?;
                    if k == 3 || k == 7 {
                        return Err(Error::Numerical(format!("job {k}")));
                    }
                    Ok(())
                });
            }
            match jobs.run(s) {
                Err(Error::Numerical(m)) => assert_eq!(m, "job 3"),
                other => panic!("expected job 3's error, got {other:?}"),
            }
            let mut jobs = Jobs::default();
            for k in 0..9 {
                let name = format!("g{k}.csv");
                jobs.add(name.clone(), move || s.write(&name, b"x\n"));
            }
            let names = jobs.run(s).unwrap();
            let want: Vec<String> = (0..9).map(|k| format!("g{k}.csv")).collect();
            assert_eq!(names, want);
            // The marker and all 18 files, synced by the workers or the commit.
            assert_eq!(stage.sync_files().unwrap().kept, 19);
        }
    }
}
