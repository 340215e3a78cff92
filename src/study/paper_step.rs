//! The 2024 paper's single-timestep study (its second notebook,
//! `Single_timestep_LP_DC_aprox_210724.ipynb`), reproduced with its defects and beside netclear's
//! network correction of the same trades (`--preset paper2024-single-step`).
//!
//! # The study
//!
//! One hour (hour [`HOUR`] = 11) on CIGRE LV with the single-step notebook's placement (PV on
//! `leaves[0::2][:n]`, loads on `leaves[1::2][:n]`, `Scenario::pv_on_even_leaves`), the notebook's
//! matching (`paper-greedy`: buyer k with seller k, six trades of 1.215 kW), then:
//!
//! 1. `correct_baseline` ([`correct_baseline`]): each buyer's load minus what it bought, each
//!    seller's PV minus what it sold, floored at 0 (MW).
//! 2. The trades, scaled by [`TRADE_SCALE`] = 100 in the "extreme" case (six trades of 121.5 kW),
//!    are the LP's decisions `x_t ∈ [0, 1]` ([`notebook_lp`]):
//!
//! ```text
//!   maximise   Σ_t q_t x_t
//!   inj_i(x) = PV_i − load_i + Σ_{t: seller_t = i} q_t x_t − Σ_{t: buyer_t = i} q_t x_t   (MW)
//!   inj_i(x) = Σ_{j≠i} B_ij (θ_i − θ_j) − r_i,   r_i ≥ 0          for every bus i ≠ 0
//!   slack    = Σ_i inj_i(x),   slack ∈ [−100, 100]                (all buses)
//!   θ_0 = 0
//!   |B_ij (θ_i − θ_j)| ≤ cap_ij,   |θ_i − θ_j| ≤ π/6              for B_ij > 0
//! ```
//!
//! # Its defects, kept and named here (docs/paper2024.md discusses each)
//!
//! * [`susceptance`]: `B = Im(Y)` of a Y built from the lines' **per-km** impedances
//!   `1/(r' + j x')` — no length, no per-unit base; a trafo adds `1/(j·vkr%/100·vk%/100)`
//!   (the product of the two percentages); switches add only 1e-6 to the real diagonal and the
//!   ext_grid 1e6 to `Re Y[0,0]`, so neither enters `B`: **on CIGRE bus 0 is isolated** and its
//!   three sub-feeders float, each without a reference angle.
//! * [`capacity`]: a line carries `V_f V_t / x' · sin 30°` MW with V in kV from a no-load DC
//!   flow (0.08/x' MW at 0.4 kV; the thermal rating `max_i_ka` is never used), a trafo `sn_mva`,
//!   a bus-bus switch pair 0.
//! * The **dummy `r_i ≥ 0`** relaxes the balance: a bus may send out more than it injects, so
//!   each floating sub-feeder needs only `Σ inj ≤ 0` and whatever it lacks appears from nowhere.
//!   On CIGRE this caps the one trade between sub-feeders (bus 19 in R to bus 22 in I) at the
//!   two R buyers' residual load, and the π/6 angle limits of the sellers' leaf lines (`B·π/6`:
//!   64.9 kW on R's UG3 cables, 41.9 kW on C's OH3 lines) cap the others: 35.1 % of the 729 kW
//!   requested is executed (0.25555 MW).
//! * The **slack sums every bus**'s injection, in which the trades cancel: it is
//!   `Σ PV − Σ load` of the corrected network whatever x is.
//! * Each limit is added for both ordered pairs in the notebook; here once per pair (the
//!   duplicates are the same rows).
//!
//! The optimum is degenerate in x (the notebook's Gurobi and an independent HiGHS run give
//! different x); the objective, the slack, the total demand (`Σ load + Σ q x`, the notebook's
//! `total_demand`) and the sums of x over each sub-feeder's trades are unique.
//!
//! # The corrected variant ([`study()`], [`CorrectedStep`])
//!
//! The same ×100 trades, cleared by netclear: the physical state is what the notebook requests
//! (each seller exports its 121.5 kW, each buyer consumes its residual load plus 121.5 kW), the
//! network is the real one (per-unit impedances with line lengths, shipped thermal ratings, the
//! EN 50160 voltage band, LinDistFlow with AC feedback and an AC check), and the correction
//! curtails PV and, because the background is enforced here, sheds load at VOLL where the
//! network cannot carry the buyers' loads ([`crate::clearing`]). Trades are financial: a trade is
//! executed as far as its seller's energy is not curtailed and its buyer's load not shed, by the
//! one allocation rule ([`crate::clearing::allocate`]). Unlike the notebook, an unexecuted trade
//! does not make its buyer's demand vanish.

use super::StepTrade;
use crate::clearing::Background;
use crate::error::{Error, Location, Result};
use crate::market::Mechanism;
use crate::network::{BusId, LineId, Network, SwitchElement, TrafoId};
use crate::opt::{self, Problem, Sense, Status, Tag, VarId};
use crate::scenario::community::Community;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeMap;

/// The notebook's hour.
pub const HOUR: usize = 11;

/// The notebook's "extreme" factor on every trade.
pub const TRADE_SCALE: f64 = 100.0;

/// The notebook's angle limit, rad (30°).
pub const MAX_ANGLE_RAD: f64 = std::f64::consts::PI / 6.0;

/// The bounds of the notebook's `slack_power`, MW.
pub const SLACK_BOUND_MW: f64 = 100.0;

/// The notebook's slack bus (its index 0; the ext_grid's bus on CIGRE).
pub const NOTEBOOK_SLACK_BUS: usize = 0;

/// The notebook's printed extreme-case optimum (Gurobi), MW.
pub const NOTEBOOK_PRINTED_OBJECTIVE_MW: f64 = 0.255552889;

/// The notebook's printed slack power, MW.
pub const NOTEBOOK_PRINTED_SLACK_MW: f64 = -0.007223;

/// The notebook's printed total load, MW.
pub const NOTEBOOK_PRINTED_TOTAL_LOAD_MW: f64 = 0.262776;

/// A trade as the notebook lists it (`seller_matches`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotebookTrade {
    /// Seller's bus.
    pub seller_bus: i64,
    /// Buyer's bus.
    pub buyer_bus: i64,
    /// Quantity, MW over the hour.
    pub q_mw: f64,
    /// Price, $/kWh (the seller's ask: pay-as-ask).
    pub price_per_kwh: f64,
}

/// The notebook LP's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotebookLp {
    /// Solve status.
    pub status: Status,
    /// Requested, `Σ q_t`, MW.
    pub requested_mw: f64,
    /// The objective, `Σ q_t x_t` (the "allowed trade quantity"), MW.
    pub objective_mw: f64,
    /// Executed share of what was requested.
    pub executed_share: f64,
    /// `slack_power`, MW (`Σ inj_i` over all buses).
    pub slack_power_mw: f64,
    /// `total_demand`: `Σ load_i + Σ q_t x_t`, MW.
    pub total_demand_mw: f64,
    /// Execution level of each trade (not unique: the LP is degenerate).
    pub x: Vec<f64>,
    /// Angle limits binding at the solution (`θ_i − θ_j = ±π/6`), as bus pairs.
    pub binding_angles: Vec<(i64, i64)>,
    /// Capacity limits binding at the solution, as bus pairs.
    pub binding_capacities: Vec<(i64, i64)>,
}

/// The netclear correction of the same trades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrectedStep {
    /// Formulation of the correction.
    pub model: String,
    /// Correction status.
    pub status: Status,
    /// Requested, kW.
    pub requested_kw: f64,
    /// Executed (delivered P2P), kW.
    pub executed_kw: f64,
    /// Executed share.
    pub executed_share: f64,
    /// Executed power per trade, kW (the notebook's order).
    pub executed_trade_kw: Vec<f64>,
    /// PV curtailed, kW.
    pub curtailed_kw: f64,
    /// Load shed, kW.
    pub shed_kw: f64,
    /// The limits binding at the optimum.
    pub binding: Vec<String>,
    /// Highest line loading of the step's network result (AC when it converged), %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: f64,
    /// Lowest voltage, p.u. (AC).
    pub vmin_pu: Option<f64>,
    /// Highest voltage, p.u. (AC).
    pub vmax_pu: Option<f64>,
    /// Limits the network result still violates (none when the correction did its job).
    pub violations: Vec<String>,
    /// Highest real line loading the notebook's own optimum causes (its network result on the
    /// real feeder: AC, shipped ratings), %.
    pub notebook_max_line_loading_percent: f64,
}

/// The single-timestep study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingleStep {
    /// Hour of the day.
    pub hour: usize,
    /// The factor on every trade in the extreme case.
    pub trade_scale: f64,
    /// The notebook's matches at the hour (before scaling).
    pub trades: Vec<NotebookTrade>,
    /// The LP on the trades as matched.
    pub normal: NotebookLp,
    /// The LP on the scaled trades.
    pub extreme: NotebookLp,
    /// The notebook's printed extreme optimum, MW.
    pub notebook_printed_objective_mw: f64,
    /// The scaled trades cleared by netclear's network correction.
    pub corrected: CorrectedStep,
}

/// `B = Im(Y)` of the notebook's hand-built Y (dense, by bus position; see the module docs).
pub fn susceptance(net: &Network) -> Vec<Vec<f64>> {
    let n = net.buses.len();
    let mut b = vec![vec![0.0; n]; n];
    let mut stamp = |f: usize, t: usize, im_y: f64| {
        b[f][f] += im_y;
        b[t][t] += im_y;
        b[f][t] -= im_y;
        b[t][f] -= im_y;
    };
    // Defect: per-km impedance, no length, no per-unit base (and every line, in service or not,
    // as the notebook iterates `net.line`).
    for l in &net.lines {
        let (Some(f), Some(t)) = (net.bus_index(l.from_bus), net.bus_index(l.to_bus)) else {
            continue;
        };
        let (r, x) = (l.r_ohm_per_km, l.x_ohm_per_km);
        stamp(f, t, -x / (r * r + x * x));
    }
    // Defect: a trafo's "impedance" is j·(vkr%/100)·(vk%/100).
    for tr in &net.trafos {
        let (Some(h), Some(l)) = (net.bus_index(tr.hv_bus), net.bus_index(tr.lv_bus)) else {
            continue;
        };
        let z = tr.vkr_percent / 100.0 * tr.vk_percent / 100.0;
        stamp(h, l, -1.0 / z);
    }
    // Switches (1e-6) and the ext_grid (1e6) touch only the real diagonal: nothing in B.
    b
}

/// The notebook's capacity matrix `adj_matrix`, MW (dense, by bus position).
pub fn capacity(net: &Network) -> Vec<Vec<f64>> {
    let n = net.buses.len();
    let mut cap = vec![vec![0.0; n]; n];
    let sin30 = (30f64).to_radians().sin();
    // Defect: V_f V_t / x' · sin 30° with the per-km reactance and V in kV from a no-load DC
    // flow (|V| = 1 p.u.); the thermal rating is never used. Later rows overwrite earlier ones.
    for l in &net.lines {
        let (Some(f), Some(t)) = (net.bus_index(l.from_bus), net.bus_index(l.to_bus)) else {
            continue;
        };
        let c = net.buses[f].vn_kv * net.buses[t].vn_kv / l.x_ohm_per_km * sin30;
        cap[f][t] = c;
        cap[t][f] = c;
    }
    for tr in &net.trafos {
        let (Some(h), Some(l)) = (net.bus_index(tr.hv_bus), net.bus_index(tr.lv_bus)) else {
            continue;
        };
        cap[h][l] = tr.sn_mva;
        cap[l][h] = tr.sn_mva;
    }
    // A bus-bus switch's pair gets 0. Defect: a line or trafo switch indexes the matrix by the
    // element's id as if it were a bus — an open one zeroes that pair, a closed one copies
    // `adj[bus][id]` to `adj[id][bus]`. (The ext_grid-to-trafo entries the notebook adds join
    // bus 0 to the HV buses, a pair its B never connects, so they cannot bind.)
    for sw in &net.switches {
        let Some(a) = net.bus_index(sw.bus) else {
            continue;
        };
        let (e, zero) = match sw.element {
            SwitchElement::Bus(e) => (net.bus_index(e), true),
            SwitchElement::Line(LineId(k)) | SwitchElement::Trafo(TrafoId(k)) => {
                (usize::try_from(k).ok().filter(|&k| k < n), !sw.closed)
            }
        };
        let Some(e) = e else {
            continue;
        };
        let v = if zero { 0.0 } else { cap[a][e] };
        cap[a][e] = v;
        cap[e][a] = v;
    }
    cap
}

/// The notebook's `correct_baseline`: loads minus what each buyer bought, PV minus what each
/// seller sold, floored at 0 (MW, by bus position).
pub fn correct_baseline(
    net: &Network,
    load_mw: &[f64],
    pv_mw: &[f64],
    trades: &[NotebookTrade],
) -> (Vec<f64>, Vec<f64>) {
    let (mut bought, mut sold) = (vec![0.0; load_mw.len()], vec![0.0; pv_mw.len()]);
    for t in trades {
        if let Some(i) = net.bus_index(BusId(t.buyer_bus)) {
            bought[i] += t.q_mw;
        }
        if let Some(i) = net.bus_index(BusId(t.seller_bus)) {
            sold[i] += t.q_mw;
        }
    }
    let load = load_mw
        .iter()
        .zip(&bought)
        .map(|(l, b)| (l - b).max(0.0))
        .collect();
    let pv = pv_mw
        .iter()
        .zip(&sold)
        .map(|(p, s)| (p - s).max(0.0))
        .collect();
    (load, pv)
}

/// Tolerance for reporting a limit as binding (rad, MW).
const BINDING_TOL: f64 = 1e-7;

/// Solves the notebook's `run_optimization` (see the module docs) on a corrected network state:
/// `pv_mw` and `load_mw` by bus position, `trades` as the LP's decisions (already scaled).
pub fn notebook_lp(
    net: &Network,
    pv_mw: &[f64],
    load_mw: &[f64],
    trades: &[NotebookTrade],
) -> Result<NotebookLp> {
    let n = net.buses.len();
    let b = susceptance(net);
    let cap = capacity(net);
    let mut p = Problem::default();
    let theta: Vec<VarId> = (0..n)
        .map(|i| p.var(Tag::at("theta", i), f64::NEG_INFINITY, f64::INFINITY, 0.0))
        .collect();
    let slack = p.var(
        Tag::kind("slack_power"),
        -SLACK_BOUND_MW,
        SLACK_BOUND_MW,
        0.0,
    );
    // Maximise Σ q x: minimise −Σ q x.
    let x: Vec<VarId> = trades
        .iter()
        .enumerate()
        .map(|(t, tr)| p.var(Tag::at("x", t), 0.0, 1.0, -tr.q_mw))
        .collect();
    let pos = |bus: i64, field: &str| {
        net.bus_index(BusId(bus)).ok_or_else(|| {
            Error::invalid(
                Location::file(net.name()).field(field),
                format!("trade bus {bus} is not a bus of the feeder"),
            )
        })
    };
    let mut src = Vec::with_capacity(trades.len());
    let mut dst = Vec::with_capacity(trades.len());
    for tr in trades {
        src.push(pos(tr.seller_bus, "seller_bus")?);
        dst.push(pos(tr.buyer_bus, "buyer_bus")?);
    }
    // inj_i(x) as (constant, x terms).
    let injection = |i: usize| -> (f64, Vec<(VarId, f64)>) {
        let mut terms = Vec::new();
        for (t, tr) in trades.iter().enumerate() {
            if src[t] == i {
                terms.push((x[t], tr.q_mw));
            }
            if dst[t] == i {
                terms.push((x[t], -tr.q_mw));
            }
        }
        (pv_mw[i] - load_mw[i], terms)
    };
    // Sums coefficients per variable (a trade inside one bus, or the slack's cancelling terms).
    let merged = |terms: Vec<(VarId, f64)>| -> Vec<(VarId, f64)> {
        let mut m: BTreeMap<VarId, f64> = BTreeMap::new();
        for (v, a) in terms {
            *m.entry(v).or_default() += a;
        }
        m.into_iter().filter(|(_, a)| *a != 0.0).collect()
    };
    for i in (0..n).filter(|&i| i != NOTEBOOK_SLACK_BUS) {
        // The dummy placeholder: Σ_j B_ij (θ_i − θ_j) − r_i − inj_i(x) = 0.
        let r = p.var(Tag::at("dummy", i), 0.0, f64::INFINITY, 0.0);
        let (c, inj) = injection(i);
        let mut terms = vec![(r, -1.0)];
        for j in (0..n).filter(|&j| j != i && b[i][j] != 0.0) {
            terms.push((theta[i], b[i][j]));
            terms.push((theta[j], -b[i][j]));
        }
        terms.extend(inj.into_iter().map(|(v, a)| (v, -a)));
        p.row(Tag::at("balance", i), Sense::Eq, merged(terms), c);
    }
    // Defect: the slack sums every bus's injection (the trades cancel in it).
    let mut terms = vec![(slack, 1.0)];
    let mut constant = 0.0;
    for i in 0..n {
        let (c, inj) = injection(i);
        constant += c;
        terms.extend(inj.into_iter().map(|(v, a)| (v, -a)));
    }
    p.row(
        Tag::kind("slack_balance"),
        Sense::Eq,
        merged(terms),
        constant,
    );
    p.row(
        Tag::kind("reference"),
        Sense::Eq,
        vec![(theta[NOTEBOOK_SLACK_BUS], 1.0)],
        0.0,
    );
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in (i + 1)..n {
            if b[i][j] > 0.0 {
                let d = vec![(theta[i], 1.0), (theta[j], -1.0)];
                let flow: Vec<(VarId, f64)> = d.iter().map(|&(v, a)| (v, a * b[i][j])).collect();
                let neg = |e: &[(VarId, f64)]| e.iter().map(|&(v, a)| (v, -a)).collect();
                p.row(
                    Tag::at2("flow_max", i, j),
                    Sense::Le,
                    flow.clone(),
                    cap[i][j],
                );
                p.row(Tag::at2("flow_min", i, j), Sense::Le, neg(&flow), cap[i][j]);
                p.row(
                    Tag::at2("angle_max", i, j),
                    Sense::Le,
                    d.clone(),
                    MAX_ANGLE_RAD,
                );
                p.row(
                    Tag::at2("angle_min", i, j),
                    Sense::Le,
                    neg(&d),
                    MAX_ANGLE_RAD,
                );
                pairs.push((i, j));
            }
        }
    }
    let sol = opt::clarabel::solve(&p, &opt::clarabel::Settings::default());
    let requested_mw: f64 = trades.iter().map(|t| t.q_mw).sum();
    if !sol.status.is_ok() {
        return Err(Error::Numerical(format!(
            "the notebook's LP did not solve ({})",
            sol.status
        )));
    }
    let xv: Vec<f64> = x.iter().map(|&v| sol.x[v].clamp(0.0, 1.0)).collect();
    let objective_mw: f64 = trades.iter().zip(&xv).map(|(t, x)| t.q_mw * x).sum();
    // The slack and the total demand as the notebook's expressions of the solution.
    let slack_power_mw: f64 = (0..n).map(|i| pv_mw[i] - load_mw[i]).sum::<f64>()
        + trades
            .iter()
            .enumerate()
            .map(|(t, tr)| {
                let x = xv[t] * tr.q_mw;
                (if src[t] < n { x } else { 0.0 }) - (if dst[t] < n { x } else { 0.0 })
            })
            .sum::<f64>();
    let total_demand_mw = load_mw.iter().sum::<f64>() + objective_mw;
    let id = |i: usize| net.buses[i].id.0;
    let th = |i: usize| sol.x[theta[i]];
    let binding_angles = pairs
        .iter()
        .filter(|&&(i, j)| (th(i) - th(j)).abs() >= MAX_ANGLE_RAD - BINDING_TOL)
        .map(|&(i, j)| (id(i), id(j)))
        .collect();
    let binding_capacities = pairs
        .iter()
        .filter(|&&(i, j)| (b[i][j] * (th(i) - th(j))).abs() >= cap[i][j] - BINDING_TOL)
        .map(|&(i, j)| (id(i), id(j)))
        .collect();
    Ok(NotebookLp {
        status: sol.status,
        requested_mw,
        objective_mw,
        executed_share: if requested_mw > 0.0 {
            objective_mw / requested_mw
        } else {
            0.0
        },
        slack_power_mw,
        total_demand_mw,
        x: xv,
        binding_angles,
        binding_capacities,
    })
}

/// The notebook's matches at step `t` of a day run: `(seller bus, buyer bus, MW, price)` in the
/// mechanism's order.
pub fn matches(c: &Community, trades: &[StepTrade], t: usize) -> Vec<NotebookTrade> {
    let dt = c.dt_h();
    trades
        .iter()
        .filter(|x| x.step == t)
        .map(|x| NotebookTrade {
            seller_bus: c.prosumers[x.trade.seller].bus.0,
            buyer_bus: c.prosumers[x.trade.buyer].bus.0,
            q_mw: x.trade.kwh / dt * 1e-3,
            price_per_kwh: x.trade.seller_price_per_kwh,
        })
        .collect()
}

/// Load and PV per bus position at step `t`, MW (the notebook's `net.load`, `net.sgen`).
pub fn bus_state(c: &Community, t: usize) -> (Vec<f64>, Vec<f64>) {
    let n = c.network.buses.len();
    let (mut load, mut pv) = (vec![0.0; n], vec![0.0; n]);
    for p in &c.prosumers {
        if let Some(i) = c.network.bus_index(p.bus) {
            load[i] += p.load_kw[t] * 1e-3;
            pv[i] += p.pv_kw[t] * 1e-3;
        }
    }
    (load, pv)
}

/// The trades with every quantity multiplied by `k`.
pub fn scaled(trades: &[NotebookTrade], k: f64) -> Vec<NotebookTrade> {
    trades
        .iter()
        .map(|t| NotebookTrade {
            q_mw: t.q_mw * k,
            ..t.clone()
        })
        .collect()
}

/// A one-step community at step `t` whose prosumers hold the given loads and PV (MW by bus
/// position, shared equally among the prosumers of a bus).
fn one_step(c: &Community, t: usize, load_mw: &[f64], pv_mw: &[f64]) -> Community {
    let mut one = c.clone();
    let mut per_bus = vec![0usize; c.network.buses.len()];
    for p in &c.prosumers {
        if let Some(i) = c.network.bus_index(p.bus) {
            per_bus[i] += 1;
        }
    }
    for p in &mut one.prosumers {
        let i = c.network.bus_index(p.bus);
        let share = |v: &[f64]| i.map_or(0.0, |i| v[i] * 1e3 / per_bus[i] as f64);
        p.load_kw = vec![share(load_mw)];
        p.pv_kw = vec![share(pv_mw)];
        p.battery = None;
    }
    one.retail_per_kwh = vec![c.retail_per_kwh[t]];
    one.feed_in_per_kwh = vec![c.feed_in_per_kwh[t]];
    one.times = vec![c.times[t].clone()];
    one.evs.clear();
    one.shiftables.clear();
    one
}

/// The state the notebook's LP is asked to clear, MW by bus position: the corrected loads and
/// PV plus every trade at the execution levels `x` (1 = as requested).
fn state_at(
    c: &Community,
    load_mw: &[f64],
    pv_mw: &[f64],
    trades: &[NotebookTrade],
    x: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let (mut load, mut pv) = (load_mw.to_vec(), pv_mw.to_vec());
    for (t, x) in trades.iter().zip(x) {
        if let Some(i) = c.network.bus_index(BusId(t.buyer_bus)) {
            load[i] += t.q_mw * x;
        }
        if let Some(i) = c.network.bus_index(BusId(t.seller_bus)) {
            pv[i] += t.q_mw * x;
        }
    }
    (load, pv)
}

/// The scenario of the corrected variant: the preset's, with the notebook's matching (so the
/// trades are the notebook's), the real network model (LinDistFlow, AC feedback and check) and
/// the background enforced (the buyers' loads are part of what the network must carry).
pub fn corrected_scenario(s: &Scenario) -> Scenario {
    let mut sc = s.clone();
    sc.days = None;
    sc.market.mechanism = Mechanism::PaperGreedy;
    sc.clearing.model = crate::clearing::NetworkModel::Lindistflow;
    sc.clearing.background = Background::Enforce;
    sc.clearing.ac_check = true;
    sc
}

/// The single-timestep study of a built community and its day (see the module docs).
pub fn study(s: &Scenario, c: &Community, day: &super::DayResult) -> Result<SingleStep> {
    let t = HOUR;
    if c.step_minutes != 60 || c.n_steps() <= t {
        return Err(Error::invalid(
            Location::file("scenario").field("step_minutes"),
            "the single-timestep study needs hourly steps covering hour 11",
        ));
    }
    let net = &c.network;
    let trades = matches(c, &day.trades, t);
    let (load, pv) = bus_state(c, t);
    let (load_c, pv_c) = correct_baseline(net, &load, &pv, &trades);
    let normal = notebook_lp(net, &pv_c, &load_c, &trades)?;
    let big = scaled(&trades, TRADE_SCALE);
    let extreme = notebook_lp(net, &pv_c, &load_c, &big)?;

    // The corrected variant: the requested state (x = 1) through netclear's clearing.
    let sc = corrected_scenario(s);
    let (load_r, pv_r) = state_at(c, &load_c, &pv_c, &big, &vec![1.0; big.len()]);
    let one = one_step(c, t, &load_r, &pv_r);
    let d = super::run_day(&one, &sc)?;
    let executed_trade_kw: Vec<f64> = big
        .iter()
        .map(|nt| {
            d.trades
                .iter()
                .filter(|x| {
                    one.prosumers[x.trade.seller].bus.0 == nt.seller_bus
                        && one.prosumers[x.trade.buyer].bus.0 == nt.buyer_bus
                })
                .map(|x| x.executed_kwh / one.dt_h())
                .sum()
        })
        .collect();
    let requested_kw = big.iter().map(|t| t.q_mw * 1e3).sum::<f64>();
    let executed_kw: f64 = executed_trade_kw.iter().sum();
    let k = &d.p2p.kpis;
    let clearing = d.p2p.clearing.first();
    let netw = &d.p2p.network[0];
    // The notebook's optimum on the real network (its AC network result).
    let (load_x, pv_x) = state_at(c, &load_c, &pv_c, &big, &extreme.x);
    let at_x = one_step(c, t, &load_x, &pv_x);
    let accounts: Vec<crate::settlement::Account> = at_x
        .prosumers
        .iter()
        .map(|p| crate::settlement::Account::physical(p.load_kw[0], p.pv_kw[0], 0.0, 0.0, 0.0))
        .collect();
    let mut solvers = super::network::Solvers::new(&at_x.grid, &sc.clearing)?;
    let nb = solvers.solve(
        &at_x.grid,
        &super::network::injections(&at_x, &accounts),
        None,
    );
    let corrected = CorrectedStep {
        model: crate::util::serde_name(&sc.clearing.model),
        status: clearing.map_or(Status::Solved, |x| x.outcome.status),
        requested_kw,
        executed_kw,
        executed_share: if requested_kw > 0.0 {
            executed_kw / requested_kw
        } else {
            0.0
        },
        executed_trade_kw,
        curtailed_kw: k.pv_curtailed_kwh / one.dt_h(),
        shed_kw: k.load_shed_kwh / one.dt_h(),
        binding: clearing
            .map(|x| x.outcome.binding.iter().map(|b| b.name.clone()).collect())
            .unwrap_or_default(),
        max_line_loading_percent: netw.max_line_loading_percent,
        max_trafo_loading_percent: netw.max_trafo_loading_percent,
        vmin_pu: netw.vmin_pu,
        vmax_pu: netw.vmax_pu,
        violations: netw.violations.iter().map(|v| v.name.clone()).collect(),
        notebook_max_line_loading_percent: nb.max_line_loading_percent,
    };
    Ok(SingleStep {
        hour: t,
        trade_scale: TRADE_SCALE,
        trades,
        normal,
        extreme,
        notebook_printed_objective_mw: NOTEBOOK_PRINTED_OBJECTIVE_MW,
        corrected,
    })
}

impl SingleStep {
    /// The terminal table: the notebook's LP (normal and extreme) and the corrected variant.
    pub fn table(&self) -> String {
        let (n, e, c) = (&self.normal, &self.extreme, &self.corrected);
        let mut t = format!(
            "\nSmartGridComm 2024 single-timestep study: hour {}, {} trades ×{}\n",
            self.hour,
            self.trades.len(),
            self.trade_scale
        );
        t += &format!(
            "{:<38} {:>14} {:>14} {:>16}\n",
            "", "notebook ×1", "notebook ×100", "corrected ×100"
        );
        let mut row = |name: &str, a: String, b: String, d: String| {
            t += &format!("{name:<38} {a:>14} {b:>14} {d:>16}\n");
        };
        row(
            "requested (kW)",
            format!("{:.3}", n.requested_mw * 1e3),
            format!("{:.3}", e.requested_mw * 1e3),
            format!("{:.3}", c.requested_kw),
        );
        row(
            "executed (kW)",
            format!("{:.3}", n.objective_mw * 1e3),
            format!("{:.3}", e.objective_mw * 1e3),
            format!("{:.3}", c.executed_kw),
        );
        row(
            "executed share (%)",
            format!("{:.2}", 100.0 * n.executed_share),
            format!("{:.2}", 100.0 * e.executed_share),
            format!("{:.2}", 100.0 * c.executed_share),
        );
        row(
            "slack_power (kW)",
            format!("{:.4}", n.slack_power_mw * 1e3),
            format!("{:.4}", e.slack_power_mw * 1e3),
            String::new(),
        );
        row(
            "total demand (kW)",
            format!("{:.4}", n.total_demand_mw * 1e3),
            format!("{:.4}", e.total_demand_mw * 1e3),
            String::new(),
        );
        let lp = |l: &NotebookLp| {
            format!(
                "{} ang., {} cap.",
                l.binding_angles.len(),
                l.binding_capacities.len()
            )
        };
        row(
            "binding limits",
            lp(n),
            lp(e),
            format!(
                "{} th., {} volt.",
                c.binding
                    .iter()
                    .filter(|b| b.starts_with("thermal"))
                    .count(),
                c.binding.iter().filter(|b| b.starts_with('v')).count()
            ),
        );
        row(
            "PV curtailed / load shed (kW)",
            String::new(),
            String::new(),
            format!("{:.1} / {:.1}", c.curtailed_kw, c.shed_kw),
        );
        row(
            "max real line loading (%, AC)",
            String::new(),
            format!("{:.2}", c.notebook_max_line_loading_percent),
            format!("{:.2}", c.max_line_loading_percent),
        );
        t += &format!(
            "notebook's printed optimum {:.9} MW; reproduced {:.9} MW. x = [{}]\n",
            self.notebook_printed_objective_mw,
            e.objective_mw,
            e.x.iter()
                .map(|x| format!("{x:.6}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        t
    }
}
