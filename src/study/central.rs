//! `--clearing central`: one optimisation of the whole community over the day — every battery
//! (homes and the community battery), PV curtailment and the network limits together, the
//! community trading internally as one pool. Its cost is the welfare optimum the decentralised
//! auction can be compared with (the price of decentralisation).
//!
//! # Model
//!
//! For prosumer `i` and step `t` (kW): PV `G`, load `L`, curtailment `u ∈ [0, G]`, and for each
//! battery the block of [`crate::storage::block`] (charge `c`, discharge `d`, SOC chain, window,
//! end rule). Inside the community energy is free to move (the pool); only the net exchange with
//! the retailer costs money:
//!
//! ```text
//!   node k:   Σ_{i at k} (G − u + d − L − c) [+ imp − exp at the slack] = network outflow
//!   minimise  Σ_t Δt (π_retail imp_t − π_feed-in exp_t) + wear
//! ```
//!
//! with every step's network block from the chosen formulation ([`crate::formulation`]; without a
//! network model, one community balance per step). The complementarity of charge and discharge is
//! enforced by the branch and bound of [`crate::opt::milp`] under `--storage-model milp` (proven
//! gap reported), relaxed under `lp`.
//!
//! After the solve, each battery's powers are polished exactly as a battery's own dispatch is,
//! and the day is settled by the one settlement ([`crate::settlement`]): the pool matches each
//! step's surpluses to its deficits pro rata at the internal price
//! ([`crate::settlement::positions_from_pool`]), the residual goes to the retailer, and policy
//! bonuses, penalties, fixed charges and loss fees are booked as in the auction.

use super::plan::Plan;
use crate::error::{Error, Result};
use crate::formulation::{self, Feeder, Limits, NodeInjection};
use crate::opt::{self, milp, Affine, Problem, Sense, Status, Tag, VarId};
use crate::scenario::community::Community;
use crate::scenario::Scenario;
use crate::storage::{block, Dispatch, Method, StorageModel};
use serde::Serialize;

/// What the central optimisation found.
#[derive(Debug, Clone, Serialize)]
pub struct CentralResult {
    /// Solver status.
    pub status: Status,
    /// The community's cost with the retailer at the optimum, $ (wear excluded).
    pub cost: f64,
    /// The optimised objective (cost plus the wear tie-break), $.
    pub objective: f64,
    /// Proven lower bound on the objective, $.
    pub lower_bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// Steps in which the LP relaxation charged and discharged a battery at once.
    pub lp_simultaneous_steps: usize,
    /// LPs solved.
    pub nodes: usize,
    /// Every battery's dispatch.
    #[serde(skip)]
    pub plan: Plan,
    /// PV curtailed per step and prosumer, kW.
    #[serde(skip)]
    pub curtail_kw: Vec<Vec<f64>>,
}

/// Solves the day centrally (the problem is returned when it failed, to dump).
pub fn solve(c: &Community, s: &Scenario) -> Result<(CentralResult, Option<Problem>)> {
    let n_steps = c.n_steps();
    let dt = c.dt_h();
    let np = c.prosumers.len();
    let mut p = Problem::default();
    let mut curt: Vec<Vec<VarId>> = Vec::with_capacity(np);
    let mut bats: Vec<Option<block::BatteryVars>> = Vec::with_capacity(np);
    for (i, pr) in c.prosumers.iter().enumerate() {
        curt.push(
            (0..n_steps)
                .map(|t| p.var(Tag::at2("u", i, t), 0.0, pr.pv_kw[t].max(0.0), 0.0))
                .collect(),
        );
        bats.push(
            pr.battery
                .as_ref()
                .map(|b| block::add(&mut p, b, i, n_steps, dt)),
        );
    }
    let feeder = Feeder::new(&c.grid)?;
    let form = formulation::of(s.clearing.model);
    if let Some(f) = form {
        f.supports(&feeder).map_err(|m| {
            Error::invalid(
                crate::error::Location::file("scenario").field("clearing.model"),
                m,
            )
        })?;
    }
    let limits = Limits::new(&feeder, s.clearing.vmin_pu, s.clearing.vmax_pu);
    let n = c.grid.n_nodes();
    for t in 0..n_steps {
        let imp = p.var(
            Tag::at("imp", t),
            0.0,
            f64::INFINITY,
            c.retail_per_kwh[t] * dt,
        );
        let exp = p.var(
            Tag::at("exp", t),
            0.0,
            f64::INFINITY,
            -c.feed_in_per_kwh[t] * dt,
        );
        let mut inj = vec![NodeInjection::default(); n];
        for (i, pr) in c.prosumers.iter().enumerate() {
            let k = pr.node;
            inj[k].p.constant += pr.pv_kw[t] - pr.load_kw[t];
            inj[k].q.constant -= pr.load_kw[t] * c.load_tan_phi;
            inj[k].p.terms.push((curt[i][t], -1.0));
            if let Some(bv) = &bats[i] {
                inj[k].p.terms.push((bv.charge[t], -1.0));
                inj[k].p.terms.push((bv.discharge[t], 1.0));
            }
        }
        inj[c.grid.slack].p.terms.push((imp, 1.0));
        inj[c.grid.slack].p.terms.push((exp, -1.0));
        match form {
            Some(f) => {
                f.add_step(&feeder, &mut p, &inj, &limits, &Default::default());
            }
            None => {
                // One community balance: Σ injections = 0.
                let mut all = Affine::default();
                for x in inj {
                    all.constant += x.p.constant;
                    all.terms.extend(x.p.terms);
                }
                p.row(Tag::at("balance", t), Sense::Eq, all.terms, -all.constant);
            }
        }
    }
    let pairs: Vec<(VarId, VarId)> = bats.iter().flatten().flat_map(|b| b.pairs()).collect();
    let st = milp::Settings {
        lp: opt::clarabel::Settings {
            max_iter: 400,
            time_limit_s: 600.0,
        },
        ..milp::Settings::default()
    };
    let (sol, method, lb, lp_sim, nodes) = match s.storage.model {
        StorageModel::Milp => {
            let o = milp::solve(&p, &pairs, &st);
            (
                o.solution,
                Method::from(o.method),
                o.lower_bound,
                o.lp_violations,
                o.nodes,
            )
        }
        _ => {
            let sol = opt::clarabel::solve(&p, &st.lp);
            let sim = pairs
                .iter()
                .filter(|(a, b)| sol.x[*a] > st.tol && sol.x[*b] > st.tol)
                .count();
            let lb = sol.objective;
            (sol, Method::Lp, lb, sim, 1)
        }
    };
    if !sol.status.is_ok() {
        return Ok((
            CentralResult {
                status: sol.status,
                cost: f64::NAN,
                objective: f64::NAN,
                lower_bound: f64::NAN,
                gap: f64::NAN,
                lp_simultaneous_steps: lp_sim,
                nodes,
                plan: Plan::none(np),
                curtail_kw: Vec::new(),
            },
            Some(p),
        ));
    }
    // Polish every battery as its own dispatch is polished.
    let mut plan = Plan::none(np);
    let mut wear = 0.0;
    for (i, pr) in c.prosumers.iter().enumerate() {
        let (Some(b), Some(bv)) = (&pr.battery, &bats[i]) else {
            continue;
        };
        let mut ch: Vec<f64> = bv.charge.iter().map(|&v| sol.x[v].max(0.0)).collect();
        let mut di: Vec<f64> = bv.discharge.iter().map(|&v| sol.x[v].max(0.0)).collect();
        if s.storage.model == StorageModel::Milp {
            block::separate(&mut ch, &mut di);
        }
        let soc = block::polish(b, dt, &mut ch, &mut di);
        wear += dt * block::WEAR_PER_KWH * ch.iter().chain(&di).sum::<f64>();
        plan.dispatch[i] = Some(Dispatch {
            status: sol.status,
            method,
            import_kw: vec![0.0; n_steps],
            export_kw: vec![0.0; n_steps],
            curtail_kw: curt[i].iter().map(|&v| sol.x[v].max(0.0)).collect(),
            charge_kw: ch,
            discharge_kw: di,
            soc_kwh: soc,
            cost: f64::NAN,
            objective: f64::NAN,
            lower_bound: f64::NAN,
            gap: f64::NAN,
            lp_simultaneous_steps: 0,
            nodes: 0,
        });
    }
    let curtail_kw: Vec<Vec<f64>> = (0..n_steps)
        .map(|t| {
            (0..np)
                .map(|i| sol.x[curt[i][t]].clamp(0.0, c.prosumers[i].pv_kw[t].max(0.0)))
                .collect()
        })
        .collect();
    // The community's cost with the retailer of the polished dispatch.
    let mut cost = 0.0;
    for t in 0..n_steps {
        let mut net = 0.0f64;
        for (i, pr) in c.prosumers.iter().enumerate() {
            let (b_in, b_out, _) = plan.flows_kwh(i, t, dt);
            net += pr.load_kw[t] * dt + b_in - pr.pv_kw[t] * dt - b_out + curtail_kw[t][i] * dt;
        }
        cost += c.retail_per_kwh[t] * net.max(0.0) - c.feed_in_per_kwh[t] * (-net).max(0.0);
    }
    let objective = cost + wear;
    let lower_bound = lb.min(objective);
    Ok((
        CentralResult {
            status: sol.status,
            cost,
            objective,
            lower_bound,
            gap: milp::rel_gap(objective, lower_bound),
            lp_simultaneous_steps: lp_sim,
            nodes,
            plan,
            curtail_kw,
        },
        None,
    ))
}
