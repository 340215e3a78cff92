//! Network charges on trades, paid by the buyer ([`super::ChargeRule`]):
//!
//! * `dlmp`: `(λ_buyer − λ_seller)·kWh`, the nodal-price difference of the step's correction (a
//!   rebate when negative);
//! * `distance`: `rate · km · kWh`, with `km` the length of lines on the path between the two;
//! * `uniform`: `rate · kWh`;
//! * `nuc`: a cost-reflective **network usage charge**, known *before* matching so that it can
//!   enter the bids ([`crate::scenario::MarketDesign`]). Seed 004 contrasts DLMP alone (it ignores
//!   the DSO's investment and is zero whenever nothing binds) with distance tariffs (they ignore
//!   losses, congestion and node sensitivity); the NUC has both kinds of part:
//!
//! ```text
//!   c_sb = λ0·(LF_b − LF_s)                      losses: marginal loss factors
//!        + (π_b − π_s)                           congestion and voltage parts of the nodal prices
//!        + τ(h)·(u + d·km_sb)                    investment: LV usage and path length
//! ```
//!
//! all computed from the step's network state *without the market* (the baseline's power flow and
//! correction, which no trade changes: trades are financial). `LF_i = ∂P_loss/∂d_i`, the change of
//! the feeder's losses when node `i` withdraws one more kW from the slack. It is the exact
//! derivative of the branch-flow (DistFlow) equations of a radial feeder at that state,
//!
//! ```text
//!   P_e = d_k + Σ_children P_c + r_e ℓ_e,   Q_e = Σ_children Q_c + x_e ℓ_e,   ℓ_e = (P_e² + Q_e²)/v_f
//!   v_k = v_f − 2 (r_e P_e + x_e Q_e) + (r_e² + x_e²) ℓ_e,                     P_loss = Σ_e r_e ℓ_e
//! ```
//!
//! (branch `e` from `f` to `k`, `v = V²`, p.u.), linearised and solved by the same backward/forward
//! sweeps as a radial power flow: a withdrawal raises the flow on its path *and* lowers every
//! voltage, so that every branch's current rises. Only the active sending-end flows and the
//! voltages of the state are known to it (a step's network result), so `Q_e` is taken as zero in
//! `ℓ_e` (LV loads run near unity power factor). A central finite difference of the AC power flow
//! agrees within 0.5 % on village80 (`tests/network_pricing.rs`); the path term alone
//! (`Σ 2 r P / V²`, the textbook formula) is 5 % low there. `λ0` is the value of energy at the
//! slack: the retail price
//! while the feeder imports, the feed-in tariff while it exports. `π = congestion + voltage` from
//! the baseline's correction when it optimised (zero when no limit binds). `τ(h)` is 1 under a flat
//! grid fee and the §14a EnWG module-3 factor of the step's hour under
//! [`GridFeeTime::Enwg14a`].
//!
//! **Default levels.** `u = 0.03` per kWh and `d = 0.03` per kWh·km: a trade across a village
//! feeder (≈ 0.3 km) pays ≈ 0.04 per kWh, about 40 % of a typical household network charge of
//! 8–11 ct/kWh in Germany or Austria. 40 % is the share Austria's *local* renewable energy
//! communities pay (ElWOG 2010 §52 (2a), introduced by the EAG 2021: 57 % reduction of the usage
//! charge at network levels 6–7), the one published rule for what local trades should pay for the
//! LV network. The previous defaults (0.01 flat, 0.02 per km) were about 10× below real tariffs.

use super::{ChargeRule, ClearingSpec, StepOutcome};
use crate::network::electrical::{BranchElement, Grid};
use crate::network::topology::Topology;
use crate::network::Network;
use serde::{Deserialize, Serialize};

/// Sweeps of the loss-factor derivative (it settles in a few on LV feeders).
const MAX_SWEEPS: usize = 20;

fn parent_of(topo: &Topology, k: usize) -> usize {
    topo.parent(k).map_or(k, |(p, _)| p)
}

/// Time variation of the usage part of the grid fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GridFeeTime {
    /// The same rate all day.
    #[default]
    Flat,
    /// Germany's §14a EnWG "module 3" time-variable network charge (BNetzA BK8-22/010-A, from
    /// April 2025): a low level of 10–40 % of the standard rate and a high level above it, in
    /// windows the DSO publishes. netclear's windows are an example: low 00–06 h at 40 %, high
    /// 17–21 h at 150 %, standard otherwise.
    Enwg14a,
}

/// The §14a module-3 factor of an hour of the day (see [`GridFeeTime::Enwg14a`]).
pub fn enwg14a_factor(hour: f64) -> f64 {
    match hour {
        h if (0.0..6.0).contains(&h) => 0.40,
        h if (17.0..21.0).contains(&h) => 1.50,
        _ => 1.0,
    }
}

impl GridFeeTime {
    /// The factor on the usage part of the fee at `hour` (0 ≤ hour < 24).
    pub fn factor(self, hour: f64) -> f64 {
        match self {
            GridFeeTime::Flat => 1.0,
            GridFeeTime::Enwg14a => enwg14a_factor(hour),
        }
    }
}

/// What the charge rules need of a feeder, computed once.
#[derive(Debug, Clone)]
pub struct Charges {
    rule: ChargeRule,
    distance_rate: f64,
    uniform_rate: f64,
    time: GridFeeTime,
    branch_km: Vec<f64>,
}

/// The network state a step's usage charges are set from, before matching (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreMarket {
    /// Marginal loss factor per node, `∂P_loss/∂d_i` (dimensionless).
    pub loss_factor: Vec<f64>,
    /// Congestion plus voltage part of the nodal price per node, per kWh (0 when none).
    pub location_per_kwh: Vec<f64>,
    /// Value of energy at the slack, per kWh.
    pub energy_per_kwh: f64,
    /// Factor of the usage part in this step.
    pub time_factor: f64,
}

impl Charges {
    /// The charges of a feeder under the clearing settings.
    pub fn new(net: &Network, grid: &Grid, spec: &ClearingSpec) -> Charges {
        let km: std::collections::HashMap<_, _> =
            net.lines.iter().map(|l| (l.id, l.length_km)).collect();
        Charges {
            rule: spec.network_charges,
            distance_rate: spec.distance_rate_per_kwh_km,
            uniform_rate: spec.uniform_rate_per_kwh,
            time: spec.grid_fee_time,
            branch_km: grid
                .branches
                .iter()
                .map(|b| match b.element {
                    BranchElement::Line(id) => km.get(&id).copied().unwrap_or(0.0),
                    _ => 0.0,
                })
                .collect(),
        }
    }

    /// The rule.
    pub fn rule(&self) -> ChargeRule {
        self.rule
    }

    /// Length of lines on the path between two nodes, km.
    pub fn path_km(&self, grid: &Grid, topo: &Topology, a: usize, b: usize) -> f64 {
        topo.path(grid, a, b)
            .iter()
            .map(|s| self.branch_km[s.branch])
            .sum()
    }

    /// The pre-market state of a step: its power flow without the market (`p_from_kw` per branch,
    /// `vm_pu` per node, empty in DC: 1 p.u.), the correction outcome without the market if one
    /// ran, the step's tariff and the hour of the day. Loss factors are computed for `nodes` only
    /// (the prosumers' nodes; 0 elsewhere).
    #[allow(clippy::too_many_arguments)]
    pub fn pre_market(
        &self,
        grid: &Grid,
        topo: &Topology,
        nodes: &[usize],
        p_from_kw: &[f64],
        vm_pu: &[f64],
        outcome: Option<&StepOutcome>,
        net_import_kw: f64,
        (retail, feed_in): (f64, f64),
        hour: f64,
    ) -> PreMarket {
        let n = grid.nodes.len();
        let base_kw = grid.sn_mva * 1e3;
        let vm = |k: usize| vm_pu.get(k).copied().filter(|v| *v > 0.0).unwrap_or(1.0);
        // Per branch: the flow walking away from the slack (p.u.), the sending node's voltage and
        // the branch's losses `r P² / V²`.
        let nb = grid.branches.len();
        let (mut p_away, mut v_send, mut loss) = (vec![0.0; nb], vec![1.0; nb], vec![0.0; nb]);
        for &k in topo.bfs_order() {
            if let Some((par, l)) = topo.parent(k) {
                let br = &grid.branches[l];
                let p = p_from_kw.get(l).copied().unwrap_or(0.0) / base_kw;
                p_away[l] = if br.from == par { p } else { -p };
                v_send[l] = vm(par);
                loss[l] = br.r_pu * p_away[l] * p_away[l] / (v_send[l] * v_send[l]);
            }
        }
        let order = topo.bfs_order();
        // Per node, the branch to its parent.
        let mut up = vec![None; n];
        for &k in order {
            up[k] = topo.parent(k).map(|(_, l)| l);
        }
        let mut lf = vec![0.0; n];
        let mut done = vec![false; n];
        let (mut dp, mut dq, mut dl, mut dv) =
            (vec![0.0; nb], vec![0.0; nb], vec![0.0; nb], vec![0.0; n]);
        for &i in nodes {
            if done[i] || i == grid.slack {
                continue;
            }
            done[i] = true;
            // The derivative of the branch-flow (DistFlow) equations for one more p.u. withdrawn
            // at i, by linearised sweeps (as the power flow itself: backward flows, forward
            // voltages, until the losses' change settles).
            dp.iter_mut().for_each(|x| *x = 0.0);
            dq.iter_mut().for_each(|x| *x = 0.0);
            dl.iter_mut().for_each(|x| *x = 0.0);
            dv.iter_mut().for_each(|x| *x = 0.0);
            let mut last = f64::NAN;
            for _ in 0..MAX_SWEEPS {
                // Backward: a branch carries its child node's change and its children's.
                let (mut acc_p, mut acc_q) = (vec![0.0; n], vec![0.0; n]);
                acc_p[i] = 1.0;
                for &k in order.iter().rev() {
                    let Some(l) = up[k] else { continue };
                    let br = &grid.branches[l];
                    let v2 = v_send[l] * v_send[l];
                    let p = p_away[l];
                    let dv2 = 2.0 * v_send[l] * dv[parent_of(topo, k)];
                    dl[l] = (2.0 * p * dp[l]) / v2 - loss[l] / br.r_pu.max(1e-300) * dv2 / v2;
                    dp[l] = acc_p[k] + br.r_pu * dl[l];
                    dq[l] = acc_q[k] + br.x_pu * dl[l];
                    let par = parent_of(topo, k);
                    acc_p[par] += dp[l];
                    acc_q[par] += dq[l];
                }
                // Forward: v_child = v_parent − 2(r P + x Q) + (r² + x²) ℓ, in V = √v.
                for &k in order {
                    let Some(l) = up[k] else { continue };
                    let br = &grid.branches[l];
                    let par = parent_of(topo, k);
                    let dv2_par = 2.0 * vm(par) * dv[par];
                    let dv2 = dv2_par - 2.0 * (br.r_pu * dp[l] + br.x_pu * dq[l])
                        + (br.r_pu * br.r_pu + br.x_pu * br.x_pu) * dl[l];
                    dv[k] = dv2 / (2.0 * vm(k));
                }
                let total: f64 = (0..nb).map(|l| grid.branches[l].r_pu * dl[l]).sum();
                let settled = (total - last).abs() <= 1e-12 * (1.0 + total.abs());
                last = total;
                if settled {
                    break;
                }
            }
            lf[i] = if last.is_finite() { last } else { 0.0 };
        }
        let location_per_kwh = match outcome {
            Some(o) if o.optimised && o.status.is_ok() => (0..n)
                .map(|i| {
                    let v = o.congestion_per_kwh.get(i).copied().unwrap_or(0.0)
                        + o.voltage_per_kwh.get(i).copied().unwrap_or(0.0);
                    if v.is_finite() {
                        v
                    } else {
                        0.0
                    }
                })
                .collect(),
            _ => vec![0.0; n],
        };
        PreMarket {
            loss_factor: lf,
            location_per_kwh,
            energy_per_kwh: if net_import_kw >= 0.0 {
                retail
            } else {
                feed_in
            },
            time_factor: self.time.factor(hour),
        }
    }

    /// The usage charge per kWh from node `seller` to node `buyer` under the `nuc` rule.
    pub fn nuc_per_kwh(
        &self,
        grid: &Grid,
        topo: &Topology,
        pm: &PreMarket,
        seller: usize,
        buyer: usize,
    ) -> f64 {
        let losses = pm.energy_per_kwh * (pm.loss_factor[buyer] - pm.loss_factor[seller]);
        let location = pm.location_per_kwh[buyer] - pm.location_per_kwh[seller];
        let usage = pm.time_factor
            * (self.uniform_rate + self.distance_rate * self.path_km(grid, topo, seller, buyer));
        losses + location + usage
    }

    /// The charge on `kwh` executed from node `seller` to node `buyer` in a step with outcome `o`
    /// and pre-market state `pm` (`None` outcome: no prices, so `dlmp` charges nothing; `None`
    /// state: `nuc` charges only its usage part at a flat rate).
    #[allow(clippy::too_many_arguments)]
    pub fn charge(
        &self,
        grid: &Grid,
        topo: &Topology,
        o: Option<&StepOutcome>,
        pm: Option<&PreMarket>,
        seller: usize,
        buyer: usize,
        kwh: f64,
    ) -> f64 {
        match self.rule {
            ChargeRule::None => 0.0,
            ChargeRule::Dlmp => o.map_or(0.0, |o| {
                let d = o.lmp_per_kwh[buyer] - o.lmp_per_kwh[seller];
                if d.is_finite() {
                    d * kwh
                } else {
                    0.0
                }
            }),
            ChargeRule::Distance => {
                self.distance_rate * self.path_km(grid, topo, seller, buyer) * kwh
            }
            ChargeRule::Uniform => self.uniform_rate * kwh,
            ChargeRule::Nuc => match pm {
                Some(pm) => self.nuc_per_kwh(grid, topo, pm, seller, buyer) * kwh,
                None => {
                    (self.uniform_rate
                        + self.distance_rate * self.path_km(grid, topo, seller, buyer))
                        * kwh
                }
            },
        }
    }
}
