//! Key performance indicators of a case's day. Every formula is stated in `docs/kpis.md` ("what
//! the numbers mean"); the short version:
//!
//! * **Billing** (what the meters and contracts say): self-sufficiency
//!   `(load − shed − grid import)/load`, self-consumption `(PV − curtailed − grid export)/PV`,
//!   where grid import/export are the energy the retailer bills and pays for — P2P purchases count
//!   as local. Shed load and curtailed PV are neither self-supplied nor self-consumed (the
//!   definitions of Grid Singularity's gsy-e, which count only energy actually consumed).
//! * **Physical** (what flowed): the same ratios with the community's net exchange at the feeder
//!   head per step, `Σ_t max(0, ±Σ_i injection)`: neighbours' PV feeds neighbours with or without
//!   a P2P contract, so without flexibility the physical ratios of both cases are equal.
//! * Community cost `Σ bills` (the community battery's included); savings per member (households
//!   and businesses, not the community battery) = baseline bill − case bill (min, median, max,
//!   Gini `Σᵢⱼ|xᵢ − xⱼ|/(2n²x̄)`, null when the mean saving ≤ 0).
//! * Average P2P price: executed-energy-weighted buyer price (the one definition, used everywhere).
//! * Network indicators from the one network result per step ([`super::network`]): peak import
//!   and export at the slack, maximum line and trafo loading, overloaded branches, AC voltage
//!   extremes and violations.
//! * Fleet equivalent full cycles: total discharged energy / total usable capacity.
//! * EVs: energy needed and delivered before departure, unmet (per EV in `summary.json`);
//!   shiftable loads: energy shifted.

use super::network::{FlowModel, StepNetwork};
use super::plan::Plan;
use super::StepClearing;
use crate::scenario::community::{Community, LoadClass};
use serde::Serialize;
use std::sync::Arc;

/// Day indicators of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Kpis {
    /// Total consumption, kWh.
    pub load_kwh: f64,
    /// Total PV (before curtailment), kWh.
    pub pv_kwh: f64,
    /// PV and battery energy used on site, kWh.
    pub self_consumed_kwh: f64,
    /// Energy traded P2P (delivered), kWh.
    pub p2p_kwh: f64,
    /// Bought from the retailer, kWh.
    pub grid_import_kwh: f64,
    /// Sold to the retailer, kWh.
    pub grid_export_kwh: f64,
    /// Energy the feeder drew from the upstream grid, lossless (Σ_t max(0, net)), kWh.
    pub community_import_kwh: f64,
    /// Energy the feeder fed upstream, lossless, kWh.
    pub community_export_kwh: f64,
    /// Billing self-sufficiency: (load − shed − grid import) / load.
    pub self_sufficiency: f64,
    /// Physical self-sufficiency: (load − shed − community import) / load.
    pub self_sufficiency_physical: f64,
    /// Billing self-consumption: (PV − curtailed − grid export) / PV (null without PV).
    pub self_consumption: Option<f64>,
    /// Physical self-consumption: (PV − curtailed − community export) / PV.
    pub self_consumption_physical: Option<f64>,
    /// P2P volume / load.
    pub p2p_share_of_load: f64,
    /// Sum of all bills.
    pub community_cost: f64,
    /// The community battery's own bill (part of the community cost; not in the savings).
    pub community_battery_bill: f64,
    /// What buyers paid beyond what sellers received (McAfee's trade reduction).
    pub operator_surplus: f64,
    /// Lowest saving of a member (household or business) against the baseline.
    pub savings_min: f64,
    /// Median saving.
    pub savings_median: f64,
    /// Highest saving.
    pub savings_max: f64,
    /// Gini coefficient of savings (null when the mean saving ≤ 0).
    pub savings_gini: Option<f64>,
    /// Number of trades.
    pub n_trades: usize,
    /// Executed-energy-weighted buyer price, per kWh (null without trades).
    pub avg_p2p_price_per_kwh: Option<f64>,
    /// Highest import from the upstream grid, kW (the network result: AC with losses).
    pub peak_import_kw: f64,
    /// Highest export to the upstream grid, kW.
    pub peak_export_kw: f64,
    /// Active losses of the day, kWh (AC steps).
    pub losses_kwh: f64,
    /// Highest line loading of the day, %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading of the day, %.
    pub max_trafo_loading_percent: f64,
    /// Distinct branches above 100 % in some step.
    pub overloaded_branches: Vec<String>,
    /// P2P energy proposed by the auction but not executed (curtailment or shedding), kWh.
    pub p2p_curtailed_kwh: f64,
    /// PV curtailed by the network correction, kWh.
    pub pv_curtailed_kwh: f64,
    /// Load shed by the network correction, kWh.
    pub load_shed_kwh: f64,
    /// PV curtailed by batteries' own dispatch (curtailing beats exporting at a loss), kWh.
    pub storage_curtailed_kwh: f64,
    /// Steps in which some network limit was binding.
    pub steps_with_binding_limits: usize,
    /// Steps whose optimisation did not solve (nothing was curtailed in them).
    pub solver_failures: usize,
    /// Network charges paid by buyers.
    pub network_charges: f64,
    /// P2P loss fees paid by buyers (`line_eta`).
    pub loss_fees: f64,
    /// Highest voltage of the day in AC, p.u.
    pub ac_vmax_pu: Option<f64>,
    /// Lowest voltage of the day in AC, p.u.
    pub ac_vmin_pu: Option<f64>,
    /// Highest voltage rise above the slack voltage in AC, p.u.
    pub max_voltage_rise_pu: Option<f64>,
    /// Steps in which the network result violates a limit (AC when on).
    pub ac_violation_steps: usize,
    /// Steps with a violation the baseline does not have in that step (P2P case only): what the
    /// market made worse.
    pub violation_steps_caused_by_market: usize,
    /// Steps the AC check could not solve (the network result is DC there).
    pub ac_failed_steps: usize,
    /// Largest gap between the formulation's and the AC voltage, p.u.
    pub max_vm_error_pu: Option<f64>,
    /// Largest relative SOCP relaxation gap of the day.
    pub socp_max_gap: Option<f64>,
    /// Regulator bonuses paid for local renewable energy consumed.
    pub policy_bonus: f64,
    /// Regulator penalties on grid purchases.
    pub policy_penalty: f64,
    /// Energy charged into all batteries, kWh.
    pub battery_charge_kwh: f64,
    /// Energy discharged from all batteries, kWh.
    pub battery_discharge_kwh: f64,
    /// Fleet equivalent full cycles: discharged energy / total usable capacity.
    pub battery_cycles: f64,
    /// Steps in which an LP dispatch charged and discharged a battery at once.
    pub lp_simultaneous_steps: usize,
    /// Largest relative MILP gap over the batteries (0 = every dispatch proven optimal).
    pub storage_max_gap: f64,
    /// Energy charged into EVs, kWh (at the meter).
    pub ev_charge_kwh: f64,
    /// Energy EVs fed back (V2G), kWh (at the meter).
    pub ev_discharge_kwh: f64,
    /// Energy EVs had to take on before departure, kWh (at the battery).
    pub ev_needed_kwh: f64,
    /// Energy EVs took on (SOC at departure − SOC at arrival), kWh.
    pub ev_delivered_kwh: f64,
    /// Needed but not delivered (windows too short for the need, or charging the network
    /// correction throttled), kWh; per EV in summary.json.
    pub ev_unmet_kwh: f64,
    /// EV charging the network correction throttled (shed from the charger before any other
    /// load), kWh at the meter.
    pub ev_throttled_kwh: f64,
    /// EVs leaving with less than they need.
    pub ev_short: usize,
    /// Largest relative MILP gap over the EVs (V2G).
    pub ev_max_gap: f64,
    /// Energy shiftable loads consumed at another time than their profile, kWh.
    pub flex_shifted_kwh: f64,
    /// Energy of all shiftable loads (conserved: the same with and without shifting), kWh.
    pub flex_energy_kwh: f64,
    /// Load the curtailable loads dropped, kWh (physical: it was not consumed).
    pub flex_curtailed_kwh: f64,
    /// The discomfort of the dropped load at its stated cost, $: a welfare cost, **not money
    /// paid** — no bill and no community cost holds it.
    pub flex_discomfort_cost: f64,
}

impl Kpis {
    /// All zero / empty (for listing the indicator names).
    pub fn empty() -> Kpis {
        Kpis::default()
    }
}

/// Everything a case's KPIs are computed from.
pub struct CaseData<'a> {
    /// The community.
    pub c: &'a Community,
    /// The case's storage plan.
    pub plan: &'a Plan,
    /// The sums of the accounts.
    pub totals: &'a super::Totals,
    /// Network per step.
    pub network: &'a [Arc<StepNetwork>],
    /// Clearing per step.
    pub clearing: &'a [StepClearing],
    /// The sums of the case's trades.
    pub trades: &'a super::TradeTotals,
}

/// What one EV physically took on in a case: its plan, less the charging the network correction
/// throttled ([`crate::settlement::Account::ev_throttled_kwh`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvOutcome {
    /// The prosumer.
    pub prosumer: usize,
    /// Energy needed at departure, kWh (at the battery).
    pub need_kwh: f64,
    /// Energy taken on, kWh (at the battery): the plan's less `η_c ×` the throttled charging.
    pub delivered_kwh: f64,
    /// `need − delivered` when positive (beyond rounding), kWh.
    pub shortfall_kwh: f64,
    /// Charging throttled by the network correction, kWh (at the meter).
    pub throttled_kwh: f64,
}

/// Every EV's physical outcome in a case (plan and account totals of that case).
pub fn ev_outcomes(plan: &Plan, totals: &super::Totals) -> Vec<EvOutcome> {
    plan.evs()
        .map(|e| {
            let i = e.ev.prosumer;
            let throttled = totals.ev_throttled_kwh.get(i).copied().unwrap_or(-0.0);
            let delivered = e.delivered_kwh - crate::storage::ev::EV_ETA * throttled;
            let short = e.need_kwh - delivered;
            EvOutcome {
                prosumer: i,
                need_kwh: e.need_kwh,
                delivered_kwh: delivered,
                shortfall_kwh: if short > 1e-9 * e.need_kwh.max(1.0) {
                    short
                } else {
                    0.0
                },
                throttled_kwh: throttled,
            }
        })
        .collect()
}

/// The baseline a P2P case is compared with: its account totals and network results.
pub type Reference<'a> = (&'a super::Totals, &'a [Arc<StepNetwork>]);

/// Computes the indicators; `baseline` (the baseline's accounts and network) for the P2P case.
pub fn compute(d: &CaseData, baseline: Option<Reference>) -> Kpis {
    let c = d.c;
    let np = c.prosumers.len();
    let tot = d.totals.all;
    // `0.0 + Σ` (the sum as `+=` from 0.0 makes it) of each prosumer's bills.
    let bills: Vec<f64> = (0..np)
        .map(|i| 0.0 + d.totals.bills.get(i).copied().unwrap_or(-0.0))
        .collect();
    let (comm_imp, comm_exp) = (d.totals.community_import_kwh, d.totals.community_export_kwh);
    // Savings are the members' (the community battery is the community's asset, not a member:
    // its result is `community_battery_bill`).
    let members: Vec<usize> = (0..np)
        .filter(|&i| c.prosumers[i].class != LoadClass::Vpp)
        .collect();
    let savings: Vec<f64> = match baseline {
        Some((b, _)) => members
            .iter()
            .map(|&i| b.bills.get(i).copied().unwrap_or(-0.0) - bills[i])
            .collect(),
        None => vec![0.0; members.len()],
    };
    let mut sorted = savings.clone();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]),
    };
    let vol = d.trades.executed_kwh;
    let paid = d.trades.paid;
    let received = d.trades.received;
    let p2p_curtailed = d.trades.curtailed_kwh;
    let evs = ev_outcomes(d.plan, d.totals);
    let storage_curt: f64 = (0..d.totals.n_steps())
        .map(|t| {
            (0..np)
                .map(|i| d.plan.flows_kwh(i, t, c.dt_h()).2)
                .sum::<f64>()
        })
        .sum();
    let nets = d.network;
    let ac: Vec<&StepNetwork> = nets
        .iter()
        .map(|n| n.as_ref())
        .filter(|n| n.model == FlowModel::Ac)
        .collect();
    let fold = |v: Vec<f64>, f: fn(f64, f64) -> f64| v.into_iter().reduce(f);
    let slack_vm = c.grid.slack_vm_pu;
    let mut overloaded: Vec<String> = nets
        .iter()
        .flat_map(|n| n.overloaded().map(String::from).collect::<Vec<_>>())
        .collect();
    overloaded.sort();
    overloaded.dedup();
    let caused = match baseline {
        Some((_, bnet)) => nets
            .iter()
            .zip(bnet)
            .filter(|(p, b)| {
                p.violations.iter().any(|v| {
                    !b.violations
                        .iter()
                        .any(|w| w.limit == v.limit && worse_or_equal(w, v))
                })
            })
            .count(),
        None => 0,
    };
    let usable: f64 = c
        .prosumers
        .iter()
        .enumerate()
        .filter(|(i, _)| d.plan.dispatch.get(*i).is_some_and(Option::is_some))
        .filter_map(|(_, p)| p.battery.as_ref())
        .map(|b| b.e_kwh * (b.soc_max - b.soc_min))
        .sum::<f64>()
        + c.shared
            .as_ref()
            .filter(|_| d.plan.share.iter().any(Option::is_some))
            .map_or(0.0, |sb| {
                sb.battery.e_kwh * (sb.battery.soc_max - sb.battery.soc_min)
            });
    let dt = c.dt_h();
    let pv_net = tot.pv_kwh - tot.curtailed_kwh;
    // The households' demand, their EVs' planned charging included (an EV is household
    // consumption: leaving it out made import exceed "demand" and the ratio negative), and the
    // part of it met at all (less what the correction shed and throttled). Self-sufficiency is
    // the share of the demand met from the community's own sources.
    let demand_kwh = tot.load_kwh + tot.ev_charge_kwh + tot.ev_throttled_kwh;
    let met_kwh = tot.load_kwh - tot.shed_kwh + tot.ev_charge_kwh;
    Kpis {
        load_kwh: tot.load_kwh,
        pv_kwh: tot.pv_kwh,
        self_consumed_kwh: tot.self_kwh,
        p2p_kwh: tot.p2p_bought_kwh,
        grid_import_kwh: tot.grid_import_kwh,
        grid_export_kwh: tot.grid_export_kwh,
        community_import_kwh: comm_imp,
        community_export_kwh: comm_exp,
        self_sufficiency: ratio(met_kwh - tot.grid_import_kwh, demand_kwh)
            .unwrap_or(0.0)
            .max(0.0),
        self_sufficiency_physical: ratio(met_kwh - comm_imp, demand_kwh)
            .unwrap_or(0.0)
            .max(0.0),
        self_consumption: ratio(pv_net - tot.grid_export_kwh, tot.pv_kwh).map(|v| v.max(0.0)),
        self_consumption_physical: ratio(pv_net - comm_exp, tot.pv_kwh).map(|v| v.max(0.0)),
        p2p_share_of_load: ratio(tot.p2p_bought_kwh, tot.load_kwh).unwrap_or(0.0),
        community_cost: bills.iter().sum::<f64>(),
        community_battery_bill: (0..np)
            .filter(|&i| c.prosumers[i].class == LoadClass::Vpp)
            .map(|i| bills[i])
            .sum(),
        operator_surplus: paid - received,
        savings_min: sorted.first().copied().unwrap_or(0.0),
        savings_median: median,
        savings_max: sorted.last().copied().unwrap_or(0.0),
        savings_gini: gini(&savings),
        n_trades: d.trades.n,
        avg_p2p_price_per_kwh: ratio(paid, vol),
        peak_import_kw: nets.iter().map(|n| n.slack_import_kw).fold(0.0, f64::max),
        peak_export_kw: nets.iter().map(|n| -n.slack_import_kw).fold(0.0, f64::max),
        losses_kwh: nets.iter().map(|n| n.losses_kw * dt).sum(),
        max_line_loading_percent: nets
            .iter()
            .map(|n| n.max_line_loading_percent)
            .fold(0.0, f64::max),
        max_trafo_loading_percent: nets
            .iter()
            .map(|n| n.max_trafo_loading_percent)
            .fold(0.0, f64::max),
        overloaded_branches: overloaded,
        p2p_curtailed_kwh: p2p_curtailed,
        pv_curtailed_kwh: tot.curtailed_kwh - storage_curt,
        load_shed_kwh: tot.shed_kwh,
        storage_curtailed_kwh: storage_curt,
        steps_with_binding_limits: d
            .clearing
            .iter()
            .filter(|s| s.outcome.status.is_ok() && !s.outcome.binding.is_empty())
            .count(),
        solver_failures: d
            .clearing
            .iter()
            .filter(|s| !s.outcome.status.is_ok())
            .count(),
        network_charges: tot.network_charge,
        loss_fees: tot.loss_fee,
        ac_vmax_pu: fold(ac.iter().filter_map(|a| a.vmax_pu).collect(), f64::max),
        ac_vmin_pu: fold(ac.iter().filter_map(|a| a.vmin_pu).collect(), f64::min),
        max_voltage_rise_pu: fold(
            ac.iter()
                .filter_map(|a| a.vmax_pu.map(|v| v - slack_vm))
                .collect(),
            f64::max,
        ),
        ac_violation_steps: nets.iter().filter(|n| !n.violations.is_empty()).count(),
        violation_steps_caused_by_market: caused,
        ac_failed_steps: nets.iter().filter(|n| n.ac_failed).count(),
        max_vm_error_pu: fold(
            d.clearing.iter().filter_map(|s| s.vm_error_pu).collect(),
            f64::max,
        ),
        socp_max_gap: fold(
            d.clearing
                .iter()
                .filter_map(|s| s.outcome.socp_max_gap)
                .collect(),
            f64::max,
        ),
        policy_bonus: tot.policy_bonus,
        policy_penalty: tot.policy_penalty,
        battery_charge_kwh: tot.battery_in_kwh + tot.share_in_kwh,
        battery_discharge_kwh: tot.battery_out_kwh + tot.share_out_kwh,
        battery_cycles: ratio(tot.battery_out_kwh + tot.share_out_kwh, usable).unwrap_or(0.0),
        lp_simultaneous_steps: d.plan.dispatches().map(|x| x.lp_simultaneous_steps).sum(),
        storage_max_gap: d
            .plan
            .dispatches()
            .map(|x| if x.gap.is_finite() { x.gap } else { 0.0 })
            .fold(0.0, f64::max),
        ev_charge_kwh: tot.ev_charge_kwh,
        ev_discharge_kwh: tot.ev_discharge_kwh,
        ev_needed_kwh: d.plan.evs().map(|e| e.need_kwh).sum(),
        ev_delivered_kwh: evs.iter().map(|e| e.delivered_kwh).sum(),
        ev_unmet_kwh: evs.iter().map(|e| e.shortfall_kwh).sum(),
        ev_short: evs.iter().filter(|e| e.shortfall_kwh > 0.0).count(),
        ev_throttled_kwh: tot.ev_throttled_kwh,
        ev_max_gap: d
            .plan
            .evs()
            .map(|e| e.dispatch.gap)
            .map(|g| if g.is_finite() { g } else { 0.0 })
            .fold(0.0, f64::max),
        flex_shifted_kwh: d.plan.shifts().map(|f| f.shifted_kwh).sum(),
        flex_energy_kwh: d.plan.shifts().map(|f| f.load.energy_kwh).sum(),
        flex_curtailed_kwh: d.plan.curtails().map(|f| f.curtailed_kwh).sum(),
        flex_discomfort_cost: d.plan.curtails().map(|f| f.discomfort_cost).sum(),
    }
}

/// Whether the baseline's violation `w` is at least as bad as `v` (same limit).
fn worse_or_equal(w: &crate::formulation::Violation, v: &crate::formulation::Violation) -> bool {
    use crate::formulation::LimitKind;
    let tol = 1e-9;
    match v.limit.kind {
        LimitKind::Vmin => w.value <= v.value + tol,
        LimitKind::Vmax | LimitKind::Thermal => w.value >= v.value - tol,
    }
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Gini coefficient; `None` when the mean is not positive.
pub fn gini(x: &[f64]) -> Option<f64> {
    let n = x.len();
    if n == 0 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    if mean <= 1e-12 {
        return None;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    // Σᵢⱼ|xᵢ − xⱼ| = 2 Σᵢ (2i − n + 1) xᵢ over the sorted values (0-based i).
    let sum: f64 = s
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * i as f64 - n as f64 + 1.0) * v)
        .sum();
    Some(2.0 * sum / (2.0 * (n * n) as f64 * mean))
}
