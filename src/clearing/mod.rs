//! Network-aware clearing: correct a step's proposed trades against line, transformer and voltage
//! limits, and price the network.
//!
//! # The correction problem (one per step)
//!
//! Injections (kW, generator convention) at node `i`:
//!
//! ```text
//!   p_i = bg_i + Σ_{t: seller(t)=i} q_t x_t + shed_i − curt_i   (+ p_imp − p_exp at the slack)
//! ```
//!
//! * `x_t ∈ [0, 1]` is the executed share of trade `t` (`q_t` kW). The unexecuted part of a trade
//!   is **PV the seller does not inject** (curtailed); the buyer imports it from the retailer
//!   instead, so the buyer's withdrawal does not depend on `x_t`. This is the physical reading of
//!   "the network decides what can flow": only generation can be held back by the market.
//! * `bg_i` is the background: every prosumer's own net position minus what it sells P2P.
//! * `shed_i ∈ [0, load_i]`, `curt_i ∈ [0, pv_i − sold_i]` change the background itself (load not
//!   served, PV curtailed outside any trade). They carry a large penalty, so they are used only
//!   when the background alone violates a limit — the outcome then reports *which* limits and by
//!   how much, instead of "infeasible".
//! * `p_imp, p_exp ≥ 0` at the slack, priced at the retail price and the feed-in tariff.
//!
//! ```text
//!   minimise  Σ_slack (c_imp p_imp − c_exp p_exp)·Δt + M·Σ_i (shed_i + curt_i)·Δt
//!             − δ·Σ_t q_t x_t Δt + ε·Σ_t q_t (1 − x_t)² Δt
//!   subject to the formulation's power balance at every node and its limits.
//! ```
//!
//! `M` (default 10 $/kWh) puts background changes last; the small bonus `δ` (1e-3 $/kWh) keeps
//! trades whose energy would otherwise be worthless (zero feed-in); the quadratic term `ε`
//! (1e-4 $/kWh) makes the optimum unique and spreads curtailment over trades in proportion to their
//! size (the paper's LP had many optimal answers).
//!
//! # Formulations ([`NetworkModel`])
//!
//! * `dc`: branch flows `f_l` with nodal balance (and angles `f_l = b_l(θ_f − θ_t − φ_l)` on meshed
//!   grids); `|f_l| ≤ S_l` with `S_l = √3·vn·i_max` for lines and `sn·parallel·df` for trafos.
//!   Lossless and blind to voltage.
//! * `lindistflow` (radial feeders): sending-end `P_k, Q_k` into each node from its parent,
//!   squared magnitudes `v`: `v_k = v_p/τ² − 2(r P_k + x Q_k)` (p.u.), `v_min² ≤ v ≤ v_max²`,
//!   thermal limits as an inscribed octagon `cos α P + sin α Q ≤ S cos(π/8)`. An LP.
//! * `socp` (radial): the branch-flow (DistFlow) relaxation with losses: squared currents `ℓ_k`,
//!   `v_k = v_p/τ² − 2(rP + xQ) + (r² + x²)ℓ`, `P² + Q² ≤ v_p ℓ` (a rotated cone) and
//!   `‖(P, Q)‖ ≤ S`. Tightness per step: the largest relative gap `(v ℓ − P² − Q²)/(v ℓ)`.
//!
//! # Prices
//!
//! The nodal price is the cost of one more kWh of load at a node: `λ_i = −∂f*/∂bg_i / Δt`. It
//! splits into *energy* (`λ_slack`), *congestion* (thermal-limit duals times the sensitivity of
//! each limited flow to load at `i`: PTDFs in `dc`, subtree membership in `lindistflow`) and
//! *voltage* (the rest: exactly the voltage-limit duals times `∂v/∂p` in `lindistflow`; in `socp`
//! it also carries losses and the thermal cones). A trade's network charge under `dlmp` is
//! `(λ_buyer − λ_seller)·kWh`.

mod build;
pub mod check;

use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::opt::{self, Problem, Status};
use serde::{Deserialize, Serialize};

pub use build::build_problem;
pub(crate) use build::{dc as dc_block, distflow as distflow_block};

/// The network model used to correct trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NetworkModel {
    /// No correction: trades as proposed (limits only reported).
    None,
    /// DC flows and thermal limits.
    Dc,
    /// Linearised DistFlow: P, Q, voltages, thermal limits (radial feeders).
    Lindistflow,
    /// Second-order-cone DistFlow relaxation with losses (radial feeders).
    Socp,
}

/// How network charges are levied on executed trades (paid by the buyer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ChargeRule {
    /// No charges.
    None,
    /// Nodal-price difference `(λ_buyer − λ_seller)·kWh` (may be a rebate when negative).
    Dlmp,
    /// `rate · path length (km) · kWh`: electrical-distance tariff.
    Distance,
    /// `rate · kWh`, the same for every trade.
    Uniform,
}

/// Clearing settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClearingSpec {
    /// Formulation.
    pub model: NetworkModel,
    /// Lowest allowed voltage, p.u.
    pub vmin_pu: f64,
    /// Highest allowed voltage, p.u.
    pub vmax_pu: f64,
    /// Penalty on changing the background (load shed, PV curtailed outside trades), $/kWh.
    pub background_penalty_per_kwh: f64,
    /// Bonus for every executed kWh of trade, $/kWh.
    pub trade_bonus_per_kwh: f64,
    /// Weight of the fairness/uniqueness term, $/kWh.
    pub fairness_per_kwh: f64,
    /// Network charges in the settlement.
    pub network_charges: ChargeRule,
    /// Rate of the `distance` rule, $/kWh per km of path.
    pub distance_rate_per_kwh_km: f64,
    /// Rate of the `uniform` rule, $/kWh.
    pub uniform_rate_per_kwh: f64,
    /// Run an AC power flow of the cleared injections every step.
    pub ac_check: bool,
}

impl Default for ClearingSpec {
    fn default() -> Self {
        ClearingSpec {
            model: NetworkModel::Lindistflow,
            vmin_pu: 0.95,
            vmax_pu: 1.05,
            background_penalty_per_kwh: 10.0,
            trade_bonus_per_kwh: 1e-3,
            fairness_per_kwh: 1e-4,
            network_charges: ChargeRule::None,
            distance_rate_per_kwh_km: 0.02,
            uniform_rate_per_kwh: 0.01,
            ac_check: true,
        }
    }
}

impl ClearingSpec {
    /// The squared voltage band `(v_min², v_max²)` a formulation must keep at a bus whose AC
    /// voltage was `offset_pu` higher than the formulation predicted (0 = the plain band).
    pub fn v_band_sq(&self, offset_pu: f64) -> (f64, f64) {
        (
            (self.vmin_pu - offset_pu).max(0.0).powi(2),
            (self.vmax_pu - offset_pu).max(0.0).powi(2),
        )
    }
}

/// A proposed trade as the network sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradeFlow {
    /// Seller's node.
    pub seller_node: usize,
    /// Buyer's node.
    pub buyer_node: usize,
    /// Power over the step, kW.
    pub kw: f64,
}

/// One step's data for the correction.
#[derive(Debug, Clone)]
pub struct StepInput<'a> {
    /// Step length, h.
    pub dt_h: f64,
    /// Proposed trades.
    pub trades: &'a [TradeFlow],
    /// Background active injection per node, kW.
    pub bg_p_kw: &'a [f64],
    /// Background reactive injection per node, kvar.
    pub bg_q_kvar: &'a [f64],
    /// Load that could be shed per node, kW.
    pub shed_max_kw: &'a [f64],
    /// tan φ of the load at each node (Q shed with P).
    pub tan_phi: &'a [f64],
    /// PV that could be curtailed outside trades per node, kW.
    pub curt_max_kw: &'a [f64],
    /// Price of energy imported at the slack, $/kWh.
    pub import_per_kwh: f64,
    /// Price of energy exported at the slack, $/kWh.
    pub export_per_kwh: f64,
    /// Per-node correction of the voltage band, p.u. (empty = none): the formulation must keep
    /// `vmin − off ≤ v ≤ vmax − off`, where `off` is how much higher AC found the voltage than the
    /// formulation predicted (the AC-feedback loop of the day runner sets it).
    pub v_offset_pu: &'a [f64],
}

/// Where the variables of a built problem are.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Trade shares.
    pub x: Vec<usize>,
    /// Shed per node (`usize::MAX` if none).
    pub shed: Vec<usize>,
    /// Curtailment per node (`usize::MAX` if none).
    pub curt: Vec<usize>,
    /// Import / export at the slack.
    pub p_imp: usize,
    /// Export.
    pub p_exp: usize,
    /// Active balance row per node.
    pub balance: Vec<usize>,
    /// Per branch: (row, ∂row/∂P sending) for thermal rows.
    pub thermal_rows: Vec<(usize, usize, f64)>,
    /// Per node voltage variable (lindistflow/socp).
    pub v: Vec<usize>,
    /// Per branch sending-end active flow variable (kW) and its direction (+1 from→to).
    pub flow: Vec<(usize, f64)>,
    /// Per branch SOC data: (P var, Q var, ℓ var, parent v var, 1/τ²).
    pub soc: Vec<(usize, usize, usize, usize, f64)>,
    /// Per-unit factor kW → p.u.
    pub kappa: f64,
}

/// What the correction decided for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    /// Solve status (`Solved` also when no optimisation was needed).
    pub status: Status,
    /// Whether an optimisation ran (false when the proposal already met every limit).
    pub optimised: bool,
    /// Executed share of each trade.
    pub executed: Vec<f64>,
    /// Load shed per node, kW.
    pub shed_kw: Vec<f64>,
    /// PV curtailed outside trades per node, kW.
    pub curt_kw: Vec<f64>,
    /// Nodal price, $/kWh.
    pub lmp_per_kwh: Vec<f64>,
    /// Energy component, $/kWh.
    pub energy_per_kwh: f64,
    /// Congestion component per node, $/kWh.
    pub congestion_per_kwh: Vec<f64>,
    /// Voltage (and, in socp, losses) component per node, $/kWh.
    pub voltage_per_kwh: Vec<f64>,
    /// Constraints with a non-zero dual (binding).
    pub binding: Vec<String>,
    /// Predicted voltage magnitude per node, p.u. (lindistflow/socp).
    pub predicted_vm_pu: Option<Vec<f64>>,
    /// Predicted sending-end flow per branch, kW (from→to positive).
    pub predicted_p_kw: Vec<f64>,
    /// Largest relative SOC gap (socp only).
    pub socp_max_gap: Option<f64>,
    /// Solver iterations.
    pub iterations: u32,
    /// Rounds of AC feedback (voltage bands shifted by the AC error and re-solved).
    pub ac_feedback_rounds: usize,
}

/// Solves one step's correction.
pub fn correct_step(
    grid: &Grid,
    topo: &Topology,
    ptdf: &crate::pf::ptdf::Ptdf,
    spec: &ClearingSpec,
    input: &StepInput,
) -> (StepOutcome, Option<Problem>) {
    let n = grid.n_nodes();
    let (p, lay) = match build_problem(grid, topo, spec, input) {
        Ok(x) => x,
        Err(msg) => {
            return (failed(n, input, Status::Failed, vec![msg]), None);
        }
    };
    let sol = opt::clarabel::solve(&p, &Default::default());
    if !sol.status.is_ok() {
        let mut o = failed(
            n,
            input,
            sol.status,
            sol.message.clone().into_iter().collect(),
        );
        o.iterations = sol.iterations;
        return (o, Some(p));
    }
    let dt = input.dt_h;
    let get = |j: usize| {
        if j == usize::MAX {
            0.0
        } else {
            sol.x[j].max(0.0)
        }
    };
    let executed: Vec<f64> = lay.x.iter().map(|&j| sol.x[j].clamp(0.0, 1.0)).collect();
    let shed_kw: Vec<f64> = lay.shed.iter().map(|&j| get(j)).collect();
    let curt_kw: Vec<f64> = lay.curt.iter().map(|&j| get(j)).collect();
    let lmp: Vec<f64> = lay.balance.iter().map(|&r| -sol.dual[r] / dt).collect();
    let energy = lmp[grid.slack];
    // Congestion: −Σ dual_r ∂lhs_r/∂load_i over thermal rows.
    let mut congestion = vec![0.0; n];
    for &(row, br, dlhs_dpsend) in &lay.thermal_rows {
        let d = sol.dual[row];
        if d.abs() < 1e-12 {
            continue;
        }
        let (_, dir) = lay.flow[br];
        if let Some(ptdf_row) = ptdf.matrix.outer_view(br) {
            for (i, &v) in ptdf_row.iter() {
                // ∂(flow from→to)/∂(load at i) = −PTDF[br][i]; `dir` turns it into the row's own
                // orientation (parent→child in the DistFlow models).
                let sens = -v * dir;
                congestion[i] += -d * dlhs_dpsend * sens / dt;
            }
        }
    }
    let voltage: Vec<f64> = (0..n).map(|i| lmp[i] - energy - congestion[i]).collect();
    let scale = 1e-7 * (1.0 + spec.background_penalty_per_kwh);
    let binding: Vec<String> = p
        .rows
        .iter()
        .zip(&sol.dual)
        .filter(|(r, d)| {
            r.sense == opt::Sense::Le && d.abs() > scale && !r.name.starts_with("shed cap")
        })
        .map(|(r, _)| r.name.clone())
        .collect();
    let predicted_vm_pu =
        (!lay.v.is_empty()).then(|| lay.v.iter().map(|&j| sol.x[j].max(0.0).sqrt()).collect());
    let predicted_p_kw = lay.flow.iter().map(|&(j, dir)| sol.x[j] * dir).collect();
    let socp_max_gap = (!lay.soc.is_empty()).then(|| {
        lay.soc
            .iter()
            .map(|&(pv, qv, lv, vv, inv_tau2)| {
                let vp = sol.x[vv] * inv_tau2;
                let l = sol.x[lv];
                let s2 = (lay.kappa * sol.x[pv]).powi(2) + (lay.kappa * sol.x[qv]).powi(2);
                let vl = vp * l;
                if vl > 1e-12 {
                    ((vl - s2) / vl).max(0.0)
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max)
    });
    (
        StepOutcome {
            status: sol.status,
            optimised: true,
            executed,
            shed_kw,
            curt_kw,
            lmp_per_kwh: lmp,
            energy_per_kwh: energy,
            congestion_per_kwh: congestion,
            voltage_per_kwh: voltage,
            binding,
            predicted_vm_pu,
            predicted_p_kw,
            socp_max_gap,
            iterations: sol.iterations,
            ac_feedback_rounds: 0,
        },
        Some(p),
    )
}

/// Outcome when the solver failed: trades as proposed, reported as a failure (data, not panic).
fn failed(n: usize, input: &StepInput, status: Status, why: Vec<String>) -> StepOutcome {
    StepOutcome {
        status,
        optimised: true,
        executed: vec![1.0; input.trades.len()],
        shed_kw: vec![0.0; n],
        curt_kw: vec![0.0; n],
        lmp_per_kwh: vec![f64::NAN; n],
        energy_per_kwh: f64::NAN,
        congestion_per_kwh: vec![f64::NAN; n],
        voltage_per_kwh: vec![f64::NAN; n],
        binding: why,
        predicted_vm_pu: None,
        predicted_p_kw: Vec::new(),
        socp_max_gap: None,
        iterations: 0,
        ac_feedback_rounds: 0,
    }
}
