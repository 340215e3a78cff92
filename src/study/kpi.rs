//! Key performance indicators of a case's day.
//!
//! * self-sufficiency = (load − grid import) / load — the share of consumption met locally;
//! * self-consumption = (PV − grid export) / PV — the share of local PV used locally;
//! * P2P share of load = P2P volume / load;
//! * community cost = Σ bills (what the community pays the retailer, net, plus the operator's
//!   surplus, since P2P payments cancel inside the community);
//! * savings per prosumer = baseline bill − case bill; min / median / max over prosumers;
//! * Gini of savings = Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄), undefined (null) when the mean saving ≤ 0;
//! * average P2P price = volume-weighted buyer price.

use super::community::Community;
use super::{CaseResult, Ledger, StepClearing, StepNetwork, StepTrade};
use serde::Serialize;

/// Day indicators of one case.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Kpis {
    /// Total consumption, kWh.
    pub load_kwh: f64,
    /// Total PV, kWh.
    pub pv_kwh: f64,
    /// PV used on site, kWh.
    pub self_consumed_kwh: f64,
    /// Energy traded P2P, kWh.
    pub p2p_kwh: f64,
    /// Bought from the retailer, kWh.
    pub grid_import_kwh: f64,
    /// Sold to the retailer, kWh.
    pub grid_export_kwh: f64,
    /// (load − import) / load.
    pub self_sufficiency: f64,
    /// (PV − export) / PV (null without PV).
    pub self_consumption: Option<f64>,
    /// P2P volume / load.
    pub p2p_share_of_load: f64,
    /// Sum of all bills plus the operator surplus.
    pub community_cost: f64,
    /// What buyers paid beyond what sellers received (McAfee's trade reduction).
    pub operator_surplus: f64,
    /// Lowest saving against the baseline.
    pub savings_min: f64,
    /// Median saving.
    pub savings_median: f64,
    /// Highest saving.
    pub savings_max: f64,
    /// Gini coefficient of savings (null when the mean saving ≤ 0).
    pub savings_gini: Option<f64>,
    /// Number of trades.
    pub n_trades: usize,
    /// Volume-weighted buyer price, per kWh (null without trades).
    pub avg_p2p_price_per_kwh: Option<f64>,
    /// Highest import from the upstream grid, kW (DC).
    pub peak_import_kw: f64,
    /// Highest export to the upstream grid, kW (DC).
    pub peak_export_kw: f64,
    /// Highest line loading of the day, %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading of the day, %.
    pub max_trafo_loading_percent: f64,
    /// Distinct branches above 100 % in some step.
    pub overloaded_branches: Vec<String>,
    /// P2P energy proposed by the auction but held back by the network, kWh.
    pub p2p_curtailed_kwh: f64,
    /// Load not served because the background alone violated a limit, kWh.
    pub background_shed_kwh: f64,
    /// PV curtailed outside trades because the background alone violated a limit, kWh.
    pub background_curtailed_kwh: f64,
    /// Steps in which some network limit was binding.
    pub steps_with_binding_limits: usize,
    /// Steps whose optimisation did not solve (trades then executed as proposed).
    pub solver_failures: usize,
    /// Network charges paid by buyers.
    pub network_charges: f64,
    /// Highest voltage of the day in the AC check, p.u.
    pub ac_vmax_pu: Option<f64>,
    /// Lowest voltage of the day in the AC check, p.u.
    pub ac_vmin_pu: Option<f64>,
    /// Highest voltage rise above the slack voltage in the AC check, p.u.
    pub max_voltage_rise_pu: Option<f64>,
    /// Steps in which the AC check found a violated limit.
    pub ac_violation_steps: usize,
    /// Largest gap between the formulation's and the AC voltage, p.u.
    pub max_vm_error_pu: Option<f64>,
    /// Largest relative SOCP relaxation gap of the day.
    pub socp_max_gap: Option<f64>,
    /// Regulator bonuses paid for local renewable energy consumed, $.
    pub policy_bonus: f64,
    /// Regulator penalties on grid purchases, $.
    pub policy_penalty: f64,
    /// P2P energy lost in internal transfers (`line_eta`), kWh.
    pub p2p_losses_kwh: f64,
    /// Energy charged into all batteries, kWh.
    pub battery_charge_kwh: f64,
    /// Energy discharged from all batteries, kWh.
    pub battery_discharge_kwh: f64,
    /// Equivalent full cycles (discharge / usable capacity), summed over batteries.
    pub battery_cycles: f64,
    /// Steps in which an LP dispatch charged and discharged a battery at once.
    pub lp_simultaneous_steps: usize,
    /// Largest relative MILP gap over the batteries (0 = every dispatch proven optimal).
    pub storage_max_gap: f64,
}

impl Kpis {
    /// All zero / empty (for listing the indicator names).
    pub fn empty() -> Kpis {
        Kpis::default()
    }
}

/// Computes the indicators (`baseline` given for the P2P case, for savings).
pub fn compute(
    c: &Community,
    ledgers: &[Vec<Ledger>],
    network: &[StepNetwork],
    clearing: &[StepClearing],
    trades: &[StepTrade],
    baseline: Option<&CaseResult>,
) -> Kpis {
    let np = c.prosumers.len();
    let mut tot = Ledger::default();
    let mut bills = vec![0.0; np];
    for step in ledgers {
        for (i, l) in step.iter().enumerate() {
            tot.add(l);
            bills[i] += l.bill();
        }
    }
    let savings: Vec<f64> = match baseline {
        Some(b) => (0..np)
            .map(|i| b.prosumer_total(i).bill() - bills[i])
            .collect(),
        None => vec![0.0; np],
    };
    let mut sorted = savings.clone();
    sorted.sort_by(f64::total_cmp);
    let median = if sorted.is_empty() {
        0.0
    } else if sorted.len() % 2 == 1 {
        sorted[sorted.len() / 2]
    } else {
        0.5 * (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2])
    };
    let vol: f64 = trades.iter().map(|t| t.executed_kwh).sum();
    let paid: f64 = trades
        .iter()
        .map(|t| t.executed_kwh * t.trade.buyer_price_per_kwh)
        .sum();
    let received: f64 = trades
        .iter()
        .map(|t| t.executed_kwh * t.trade.seller_price_per_kwh)
        .sum();
    let p2p_curtailed: f64 = trades.iter().map(|t| t.trade.kwh - t.executed_kwh).sum();
    let acs: Vec<&crate::clearing::check::AcCheck> =
        clearing.iter().filter_map(|s| s.ac.as_ref()).collect();
    let fold_opt = |v: Vec<f64>, f: fn(f64, f64) -> f64| v.into_iter().reduce(f);
    let slack_vm = c.grid.slack_vm_pu;
    let surplus = paid - received;
    let mut overloaded: Vec<String> = network
        .iter()
        .flat_map(|n| n.overloaded.iter().cloned())
        .collect();
    overloaded.sort();
    overloaded.dedup();
    Kpis {
        load_kwh: tot.load_kwh,
        pv_kwh: tot.pv_kwh,
        self_consumed_kwh: tot.self_kwh,
        p2p_kwh: tot.p2p_bought_kwh,
        grid_import_kwh: tot.grid_import_kwh,
        grid_export_kwh: tot.grid_export_kwh,
        self_sufficiency: ratio(tot.load_kwh - tot.grid_import_kwh, tot.load_kwh).unwrap_or(0.0),
        self_consumption: ratio(tot.pv_kwh - tot.grid_export_kwh, tot.pv_kwh),
        p2p_share_of_load: ratio(tot.p2p_bought_kwh, tot.load_kwh).unwrap_or(0.0),
        community_cost: bills.iter().sum::<f64>(),
        operator_surplus: surplus,
        savings_min: sorted.first().copied().unwrap_or(0.0),
        savings_median: median,
        savings_max: sorted.last().copied().unwrap_or(0.0),
        savings_gini: gini(&savings),
        n_trades: trades.len(),
        avg_p2p_price_per_kwh: ratio(paid, vol),
        peak_import_kw: network
            .iter()
            .map(|n| n.slack_import_kw)
            .fold(0.0, f64::max),
        peak_export_kw: network
            .iter()
            .map(|n| -n.slack_import_kw)
            .fold(0.0, f64::max),
        max_line_loading_percent: network
            .iter()
            .map(|n| n.max_line_loading_percent)
            .fold(0.0, f64::max),
        max_trafo_loading_percent: network
            .iter()
            .map(|n| n.max_trafo_loading_percent)
            .fold(0.0, f64::max),
        overloaded_branches: overloaded,
        p2p_curtailed_kwh: p2p_curtailed,
        background_shed_kwh: tot.shed_kwh,
        background_curtailed_kwh: tot.curtailed_kwh - p2p_curtailed,
        steps_with_binding_limits: clearing
            .iter()
            .filter(|s| s.outcome.status.is_ok() && !s.outcome.binding.is_empty())
            .count(),
        solver_failures: clearing
            .iter()
            .filter(|s| !s.outcome.status.is_ok())
            .count(),
        network_charges: trades.iter().map(|t| t.network_charge).sum(),
        ac_vmax_pu: fold_opt(acs.iter().map(|a| a.vmax_pu).collect(), f64::max),
        ac_vmin_pu: fold_opt(acs.iter().map(|a| a.vmin_pu).collect(), f64::min),
        max_voltage_rise_pu: fold_opt(acs.iter().map(|a| a.vmax_pu - slack_vm).collect(), f64::max),
        ac_violation_steps: acs
            .iter()
            .filter(|a| !a.violations.is_empty() || !a.converged)
            .count(),
        max_vm_error_pu: fold_opt(acs.iter().filter_map(|a| a.vm_error_pu).collect(), f64::max),
        p2p_losses_kwh: tot.p2p_sold_kwh - tot.p2p_bought_kwh,
        policy_bonus: tot.policy_bonus,
        policy_penalty: tot.policy_penalty,
        battery_charge_kwh: tot.battery_in_kwh,
        battery_discharge_kwh: tot.battery_out_kwh,
        battery_cycles: c
            .prosumers
            .iter()
            .filter_map(|p| {
                let b = p.battery.as_ref()?;
                let d = p.dispatch.as_ref()?;
                let usable = b.e_kwh * (b.soc_max - b.soc_min);
                (usable > 0.0).then(|| d.discharge_kw.iter().sum::<f64>() * c.dt_h() / usable)
            })
            .sum(),
        lp_simultaneous_steps: c
            .prosumers
            .iter()
            .filter_map(|p| p.dispatch.as_ref())
            .map(|d| d.lp_simultaneous_steps)
            .sum(),
        storage_max_gap: c
            .prosumers
            .iter()
            .filter_map(|p| p.dispatch.as_ref())
            .map(|d| if d.gap.is_finite() { d.gap } else { 0.0 })
            .fold(0.0, f64::max),
        socp_max_gap: fold_opt(
            clearing
                .iter()
                .filter_map(|s| s.outcome.socp_max_gap)
                .collect(),
            f64::max,
        ),
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
