//! Multi-day studies (`days = "FROM..TO"`, `netclear run --days FROM..TO`): the day study looped
//! over consecutive dates, every battery's state carried across midnight, and the period put
//! together so that every output covers it.
//!
//! # What is carried, and the end-of-day rule
//!
//! The community is the same every day (one scenario: the same prosumers, PV and batteries,
//! placed by the seed); each day reads its own profiles and prices. Every battery — home
//! batteries and the community battery, in each case separately (the baseline's batteries never
//! see the P2P market) — starts day `d + 1` with the SOC it ended day `d` with. A day's battery
//! rule, "end the day at the start SOC", would make every midnight `soc0` and carry nothing, and
//! dropping it would let each day's plan empty the battery at midnight (energy left over has no
//! value to a one-day plan). So each day is planned with **a one-day look-ahead**: over the day
//! and the next, the battery's end rule (by default: back to `soc0`) applied at the end of the
//! next day, and only the day itself kept ([`super::plan::plan_horizon`]) — a receding horizon,
//! as a battery owner's controller does it with a day-ahead forecast (here a perfect one). The
//! last day of the period has no look-ahead: its end rule closes the period, so the period's
//! battery energy balance closes as a day's does. Each member's share of the shared battery
//! carries its own SOC the same way, per case ([`super::plan::Carry::share_kwh`]).
//!
//! # EVs, shiftable and curtailable loads across days
//!
//! An EV plugged in on day `d`'s evening leaves on day `d + 1`'s morning
//! ([`crate::storage::ev::dispatch_chained`]): its evening is planned with day `d + 1` as the
//! look-ahead (to the session's departure, where it must hold `arrival_soc·E + need`), only the
//! steps to midnight kept; day `d + 1` starts from the SOC carried at midnight
//! ([`super::plan::Carry::ev_kwh`]) and replans the morning to the same departure target, so
//! each departure's need is a hard target (a shortfall, when a window cannot hold it, is
//! reported per session in `EvDispatch::sessions`, never hidden). **Period start**: the car that
//! arrived the evening before the period stands at midnight with its arrival state (nothing before
//! the period is metered) and takes on its whole need in the first morning. **Period end**: the
//! last evening's session is planned with the last day's morning standing in for the next (the
//! single-day periodic rule); its SOC at the period's end is the closing state, not counted as
//! delivered. So over the period, per EV: `Σ (η·charge − discharge/η)·Δt = Σ_sessions
//! delivered + SOC_end − arrival_soc·E` exactly (the trips take out each departure's energy).
//! Shiftable and curtailable loads hold no state across midnight: each day's shiftable energy is
//! conserved within that day (its window wraps within the day), and the period's shifted and
//! curtailed energies are the days' sums. The baseline and the P2P case each carry their own
//! states (the baseline's never see the market).
//!
//! # KPIs and outputs
//!
//! Each day keeps its own KPIs and comparisons ([`DaySummary`], `summary.json`'s `days`). The
//! period's KPIs are computed by the one KPI function over the concatenated period (accounts,
//! network results, trades, battery plans), so additive totals (energy, money, losses) are the
//! sums of the days' and extremes (peaks, voltages) are the period's. Every CSV covers the
//! whole period with time columns as local ISO 8601 date and time (`2016-06-14T13:00`); step
//! numbers run on across days. Period-level comparisons (without storage, battery kinds) are the
//! days' (in `days`); central clearing is refused for periods (it optimises one day).

use super::kpi::Kpis;
use super::plan::{Carry, Plan};
use super::{day, finish, CaseResult, Comparisons, DayResult, StudyResult};
use crate::error::{Error, Result};
use crate::scenario::community::{self, Community};
use crate::scenario::Scenario;
use crate::storage::curtailable::CurtailDispatch;
use crate::storage::ev::EvDispatch;
use crate::storage::shiftable::ShiftDispatch;
use crate::storage::Dispatch;
use serde::Serialize;

/// One day of a multi-day study.
#[derive(Debug, Clone, Serialize)]
pub struct DaySummary {
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// Steps of the day.
    pub steps: usize,
    /// Whether both cases had the same physics in every step.
    pub physics_identical: bool,
    /// Baseline KPIs of the day.
    pub baseline: Kpis,
    /// P2P KPIs of the day.
    pub p2p: Kpis,
    /// The day's comparisons (without storage, battery kinds).
    pub comparisons: Comparisons,
}

/// Runs the period of `s.days` (see the module docs); `progress(done, n_days)` after each day.
pub fn run(s: &Scenario, progress: &mut dyn FnMut(usize, usize)) -> Result<StudyResult> {
    let dates = s.dates()?;
    let n_days = dates.len();
    let day_scenario = |d: &str| Scenario {
        day: d.to_string(),
        days: None,
        ..s.clone()
    };
    let build = |d: &str| community::build(&day_scenario(d)).map(|c| c.dated(d));
    let mut next = Some(build(&dates[0])?);
    // What each day hands to the next, per case.
    let mut handed = Carry {
        chained: true,
        ..Carry::default()
    };
    let mut communities: Vec<Community> = Vec::with_capacity(n_days);
    let mut summaries = Vec::with_capacity(n_days);
    let mut cases: [day::CaseDay; 2] = Default::default();
    let mut plans: [Option<Plan>; 2] = [None, None];
    let mut trades = Vec::new();
    let mut failed = Vec::new();
    let mut offset = 0;
    for (k, date) in dates.iter().enumerate() {
        let Some(c) = next.take() else {
            return Err(Error::Numerical("a period day was not built".into()));
        };
        next = match dates.get(k + 1) {
            Some(d) => Some(build(d)?),
            None => None,
        };
        let carry = Carry {
            next: next.clone(),
            ..handed.clone()
        };
        let r = super::run_community(
            &day_scenario(date),
            c,
            &carry,
            super::Retention::Steps,
            &mut |_, _| {},
        )?;
        let n = r.community.n_steps();
        summaries.push(DaySummary {
            date: date.clone(),
            steps: n,
            physics_identical: r.day.p2p.same_physics(&r.day.baseline),
            baseline: r.day.baseline.kpis.clone(),
            p2p: r.day.p2p.kpis.clone(),
            comparisons: r.comparisons,
        });
        failed.extend(r.failed.into_iter().map(|mut f| {
            f.label = format!("{date}.{}", f.label);
            f
        }));
        let DayResult {
            baseline,
            p2p,
            trades: day_trades,
            ..
        } = r.day;
        trades.extend(day_trades.into_iter().map(|mut t| {
            t.step += offset;
            t
        }));
        for (slot, case) in [baseline, p2p].into_iter().enumerate() {
            // The state every battery, share and EV hands to the next day: its SOC at the end
            // of this one.
            let kind = [super::Case::Baseline, super::Case::P2p][slot];
            handed.hand_on(kind, &case.plan);
            append(&mut cases[slot], &mut plans[slot], case);
        }
        communities.push(r.community);
        offset += n;
        progress(k + 1, n_days);
    }
    let c = Community::concat(&communities)?;
    drop(communities);
    let [mut base_day, mut p2p_day] = cases;
    // The period's sums over all its steps, in order (each day's would round differently).
    base_day.totals = super::Totals::of(&base_day.accounts);
    p2p_day.totals = super::Totals::of(&p2p_day.accounts);
    let [base_plan, p2p_plan] = plans;
    let np = c.prosumers.len();
    let trade_totals = super::TradeTotals::of(&trades);
    let baseline = finish(
        &c,
        super::Case::Baseline,
        base_day,
        base_plan.unwrap_or_else(|| Plan::none(np)),
        &super::TradeTotals::default(),
        None,
    );
    let p2p = finish(
        &c,
        super::Case::P2p,
        p2p_day,
        p2p_plan.unwrap_or_else(|| Plan::none(np)),
        &trade_totals,
        Some(&baseline),
    );
    Ok(StudyResult {
        scenario: s.clone(),
        community: c,
        day: DayResult {
            baseline,
            p2p,
            trades,
            trade_totals,
        },
        central: None,
        comparisons: Comparisons::default(),
        failed,
        days: summaries,
        retention: super::Retention::Steps,
    })
}

/// Appends a day's case to the period's.
fn append(into: &mut day::CaseDay, plan: &mut Option<Plan>, case: CaseResult) {
    into.accounts.extend(case.accounts);
    into.network.extend(case.network);
    into.clearing.extend(case.clearing);
    match plan {
        None => *plan = Some(case.plan),
        Some(p) => {
            let q = &case.plan;
            each(&mut p.dispatch, &q.dispatch, Dispatch::append);
            each(&mut p.share, &q.share, Dispatch::append);
            each(&mut p.ev, &q.ev, EvDispatch::append);
            each(&mut p.shift, &q.shift, ShiftDispatch::append);
            each(&mut p.curtail, &q.curtail, CurtailDispatch::append);
        }
    }
}

/// Appends each asset's next day to its period (`append`), asset by asset.
fn each<T>(into: &mut [Option<Box<T>>], next: &[Option<Box<T>>], append: fn(&mut T, &T)) {
    for (a, b) in into.iter_mut().zip(next) {
        if let (Some(a), Some(b)) = (a.as_deref_mut(), b.as_deref()) {
            append(a, b);
        }
    }
}
