//! `--clearing central`: one optimisation of the whole community over the day — every piece of
//! flexibility (home batteries and the community battery, the shared battery, EVs, shiftable and
//! curtailable loads), PV curtailment and the network limits together, the community trading
//! internally as one pool. Its cost is the welfare optimum the decentralised auction can be
//! compared with (the price of decentralisation).
//!
//! # Model
//!
//! For prosumer `i` and step `t` (kW): PV `G`, profile load `L`, PV curtailment `u ∈ [0, G]`, and
//! every asset that moves energy in time as the one block of [`crate::storage::block`] (charge
//! `c`, discharge `d`, SOC chain, window, end target), set up exactly as its own dispatch sets it
//! up:
//!
//! * home and community battery: the block over the day (`c^B`, `d^B`);
//! * EV ([`crate::storage::ev::Setup`]): the block over its plug-in window (wrapping within the
//!   day), from `arrival_soc·E` to the hard end target `arrival_soc·E + need`; `smart` charges
//!   only (discharge limit 0), `v2g` may discharge down to `V2G_SOC_MIN`; `uncontrolled` — and an
//!   EV whose window cannot hold its need (full power from arrival, the shortfall reported) — is a
//!   given schedule `e_t`, a parameter, not a variable;
//! * shiftable load ([`crate::storage::shiftable`]): the charge-only block over its window from 0
//!   to its energy `E` (so `Σ_t s_t Δt = E` exactly), replacing its reference `r_t` in the load;
//! * curtailable load ([`crate::storage::curtailable`]): `0 ≤ x_t ≤ F·L_t` dropped;
//! * the shared battery: **one device** at its own bus (the block of the device's battery), split
//!   among its members pro rata afterwards (see below).
//!
//! Inside the community energy is free to move (the pool); only the net exchange with the
//! retailer costs money:
//!
//! ```text
//!   household i:  P_i = G − u − (L − r + s − x) − c^B + d^B − c^E + d^E    (or − e for a given EV)
//!   node k:       Σ_{i at k} P_i [+ d^S − c^S at the shared battery's bus] [+ imp − exp at the slack]
//!                 = network outflow of the formulation,   Q_i = −tanφ·(L − r + s − x)
//!   minimise      Σ_t Δt (π_retail imp_t − π_feed-in exp_t)                 the money
//!               + Σ_t Δt c_curt x_t                                          dropped load's discomfort
//!               + Σ_t Δt (κ_shift |s_t − r_t| + κ_sooner |c^E_t − e^full_t|)  moving a load; the smart
//!                                                                            EV's charge-on-arrival tie-break
//!               + w Σ_t Δt (c_t + d_t) over every block                      wear tie-break
//! ```
//!
//! with every step's network block from the chosen formulation ([`crate::formulation`]; without a
//! network model, one community balance per step). The terms of the objective are those each
//! asset's own dispatch minimises, so with one household the central optimum is that household's
//! own optimum (nothing to coordinate).
//!
//! **No simultaneous charge and discharge.** Every V2G EV's pairs `(c_t, d_t)` — and, under
//! `--storage-model milp`, every battery's and the shared device's — are the complementarity
//! pairs of [`crate::opt::milp`]: the problem goes through its branch and bound and the proven
//! gap is reported ([`CentralResult::gap`]). A V2G EV is always a MILP (as its own dispatch is);
//! under `--storage-model lp` the batteries are relaxed and their simultaneous steps counted.
//! Smart EVs and shiftable loads have no discharge: they are LPs.
//!
//! **The shared battery** is operated by the community as the one physical device it is, at its
//! bus (where the auction case injects the sum of its shares, [`crate::study::network`]): the
//! welfare optimum has no reason to run two shares against each other. Each member's share is
//! then `f_k` times the device's charge, discharge and SOC — a dispatch within the share's own
//! scaled limits — so the shares are still settled behind the members' meters exactly as in the
//! auction case.
//!
//! After the solve, each asset's powers are polished exactly as its own dispatch is
//! ([`crate::storage::block::polish_to`], [`crate::storage::scheduled_window`]) and the result is
//! a full [`Plan`] (batteries, shares, EVs, shiftable and curtailable loads); the day is settled by
//! the one account builder and settlement (`accounts`, [`crate::settlement`]): the pool matches
//! each step's surpluses to its deficits pro rata at the internal price
//! ([`crate::settlement::positions_from_pool`]), the residual goes to the retailer, and policy
//! bonuses, penalties, fixed charges and loss fees are booked as in the auction.

use super::plan::Plan;
use crate::error::{Error, Result};
use crate::formulation::{self, Feeder, Limits, NodeInjection};
use crate::opt::{self, milp, Affine, Problem, Sense, Status, Tag, VarId};
use crate::scenario::community::Community;
use crate::scenario::Scenario;
use crate::settlement::Account;
use crate::storage::curtailable::{CurtailDispatch, Curtailable};
use crate::storage::ev::{self, EvCharging, Setup};
use crate::storage::shiftable::ShiftDispatch;
use crate::storage::{block, scheduled_window, DayInput, Dispatch, Method, StorageModel};
use serde::Serialize;

/// What the central optimisation found.
#[derive(Debug, Clone, Serialize)]
pub struct CentralResult {
    /// Solver status.
    pub status: Status,
    /// How it was found (the LP, or the MILP search over the complementarity pairs).
    pub method: Method,
    /// The community's cost with the retailer at the optimum, $ (wear and discomfort excluded).
    pub cost: f64,
    /// Discomfort of the flexible loads at the optimum: dropped load at its cost, moved load at
    /// [`crate::storage::shiftable::DISCOMFORT_PER_KWH`], $ (a welfare cost, not money).
    pub discomfort: f64,
    /// The optimised objective (cost, discomfort and the wear and charge-sooner tie-breaks), $.
    pub objective: f64,
    /// Proven lower bound on the objective, $.
    pub lower_bound: f64,
    /// Relative gap between objective and bound.
    pub gap: f64,
    /// Steps in which the LP relaxation charged and discharged a battery or V2G EV at once.
    pub lp_simultaneous_steps: usize,
    /// LPs solved.
    pub nodes: usize,
    /// Every asset's dispatch (batteries, shares of the shared battery, EVs, shiftable and
    /// curtailable loads).
    #[serde(skip)]
    pub plan: Plan,
    /// PV curtailed per step and prosumer, kW.
    #[serde(skip)]
    pub curtail_kw: Vec<Vec<f64>>,
}

/// An asset held by the block in the central problem.
struct Held {
    /// Its variables (window steps).
    vars: block::BatteryVars,
    /// Its window (the whole day for a battery).
    window: crate::storage::Window,
}

impl Held {
    /// Adds `b` over `window` ending at `end_kwh`, block index `id`.
    fn add(
        p: &mut Problem,
        b: &crate::storage::Battery,
        window: crate::storage::Window,
        id: usize,
        dt: f64,
        end_kwh: f64,
    ) -> Held {
        Held {
            vars: block::add_to(p, b, id, window.len, dt, end_kwh),
            window,
        }
    }
    /// `(day step, charge, discharge)` of every window step.
    fn steps(&self, n: usize) -> impl Iterator<Item = (usize, VarId, VarId)> + '_ {
        (0..self.window.len).map(move |k| {
            (
                self.window.step(k, n),
                self.vars.charge[k],
                self.vars.discharge[k],
            )
        })
    }
    /// The solution's charge and discharge per window step (no overlap when `separate`).
    fn powers(&self, sol: &opt::Solution, separate: bool) -> (Vec<f64>, Vec<f64>) {
        let col = |v: &[VarId]| -> Vec<f64> { v.iter().map(|&j| sol.x[j].max(0.0)).collect() };
        let (mut c, mut d) = (col(&self.vars.charge), col(&self.vars.discharge));
        if separate {
            block::separate(&mut c, &mut d);
        }
        (c, d)
    }
}

/// The whole day of the full day's window.
fn whole_day(n: usize) -> crate::storage::Window {
    crate::storage::Window { start: 0, len: n }
}

/// The physical accounts of step `t` of a central plan: the one account builder
/// ([`super::day::physical_accounts`]) and the PV curtailment the optimisation chose for the
/// prosumers whose curtailment no battery dispatch holds (booked as the network correction's
/// curtailment is in the auction case).
pub(super) fn accounts(
    c: &Community,
    plan: &Plan,
    curtail_kw: &[Vec<f64>],
    t: usize,
) -> Vec<Account> {
    let dt = c.dt_h();
    let holders = plan.holders(c.prosumers.len());
    let mut acc = super::day::physical_accounts(c, plan, &holders, t);
    for (i, a) in acc.iter_mut().enumerate() {
        if plan.dispatch.get(i).is_none_or(Option::is_none) {
            a.curtailed_kwh += curtail_kw[t][i] * dt;
        }
    }
    acc
}

/// Solves the day centrally (the problem is returned when it failed, to dump).
pub fn solve(c: &Community, s: &Scenario) -> Result<(CentralResult, Option<Problem>)> {
    let n_steps = c.n_steps();
    let dt = c.dt_h();
    let np = c.prosumers.len();
    let n = c.grid.n_nodes();
    let milp_batteries = s.storage.model == StorageModel::Milp;
    let policy = s.ev.charging;
    let mut p = Problem::default();
    // Every step's injections, filled asset by asset.
    let mut inj = vec![vec![NodeInjection::default(); n]; n_steps];
    let mut curt: Vec<Vec<VarId>> = Vec::with_capacity(np);
    let mut bats: Vec<Option<Held>> = Vec::with_capacity(np);
    for (i, pr) in c.prosumers.iter().enumerate() {
        curt.push(
            (0..n_steps)
                .map(|t| p.var(Tag::at2("u", i, t), 0.0, pr.pv_kw[t].max(0.0), 0.0))
                .collect(),
        );
        let b = pr
            .battery
            .as_ref()
            .map(|b| Held::add(&mut p, b, whole_day(n_steps), i, dt, b.end_target_kwh()));
        for t in 0..n_steps {
            let x = &mut inj[t][pr.node];
            x.p.constant += pr.pv_kw[t] - pr.load_kw[t];
            x.q.constant -= pr.load_kw[t] * c.load_tan_phi;
            x.p.terms.push((curt[i][t], -1.0));
        }
        if let Some(h) = &b {
            for (t, ch, di) in h.steps(n_steps) {
                inj[t][pr.node].p.terms.extend([(ch, -1.0), (di, 1.0)]);
            }
        }
        bats.push(b);
    }
    // The shared battery: one device at its bus.
    let shared = c.shared.as_ref().map(|sb| {
        let h = Held::add(
            &mut p,
            &sb.battery,
            whole_day(n_steps),
            3 * np,
            dt,
            sb.battery.end_target_kwh(),
        );
        for (t, ch, di) in h.steps(n_steps) {
            inj[t][sb.node].p.terms.extend([(ch, -1.0), (di, 1.0)]);
        }
        h
    });
    // EVs: the block over the window, or a given schedule.
    let mut evs: Vec<(usize, Setup, Option<Held>)> = Vec::with_capacity(c.evs.len());
    for e in &c.evs {
        let i = e.prosumer;
        let su = Setup::of(e, policy, c.step_minutes);
        let node = c.prosumers[i].node;
        let held = if su.fixed {
            for (k, kw) in su.full_power_kw().into_iter().enumerate() {
                inj[su.window.step(k, n_steps)][node].p.constant -= kw;
            }
            None
        } else {
            let h = Held::add(&mut p, &su.battery, su.window, np + i, dt, su.end_kwh());
            if policy == EvCharging::Smart {
                for (k, r) in su.full_power_kw().into_iter().enumerate() {
                    block::add_track(&mut p, k, h.vars.charge[k], r, ev::SOONER_PER_KWH, dt);
                }
            }
            for (t, ch, di) in h.steps(n_steps) {
                inj[t][node].p.terms.extend([(ch, -1.0), (di, 1.0)]);
            }
            Some(h)
        };
        evs.push((i, su, held));
    }
    // Shiftable loads (the block in place of the reference) and the same households'
    // curtailable parts.
    let tan = c.load_tan_phi;
    let mut shifts: Vec<(usize, Option<Held>)> = Vec::with_capacity(c.shiftables.len());
    let mut drops: Vec<(Curtailable, Vec<VarId>)> = Vec::new();
    for f in &c.shiftables {
        let i = f.prosumer;
        let node = c.prosumers[i].node;
        let held = (f.energy_kwh > 0.0 && f.window.len > 0).then(|| {
            let h = Held::add(&mut p, &f.battery(), f.window, 2 * np + i, dt, f.energy_kwh);
            for (k, (t, ch, _)) in h.steps(n_steps).enumerate() {
                let r = f.reference_kw[t];
                block::add_track(
                    &mut p,
                    k,
                    ch,
                    r,
                    crate::storage::shiftable::DISCOMFORT_PER_KWH,
                    dt,
                );
                let x = &mut inj[t][node];
                x.p.constant += r;
                x.q.constant += tan * r;
                x.p.terms.push((ch, -1.0));
                x.q.terms.push((ch, -tan));
            }
            h
        });
        shifts.push((i, held));
        if s.flex.curtail_fraction > 0.0 {
            let l = Curtailable::of(
                i,
                &c.prosumers[i].load_kw,
                s.flex.curtail_fraction,
                s.flex.curtail_cost_per_kwh,
            );
            let xs: Vec<VarId> = (0..n_steps)
                .map(|t| {
                    let v = p.var(
                        Tag::at2("drop", i, t),
                        0.0,
                        l.max_kw[t],
                        l.cost_per_kwh * dt,
                    );
                    let x = &mut inj[t][node];
                    x.p.terms.push((v, 1.0));
                    x.q.terms.push((v, tan));
                    v
                })
                .collect();
            drops.push((l, xs));
        }
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
    for (t, mut inj) in inj.into_iter().enumerate() {
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
    // The pairs the MILP enforces (every V2G EV's; the batteries' under `milp`) and those it
    // relaxes (the batteries' under `lp`, counted).
    let battery_pairs: Vec<(VarId, VarId)> = bats
        .iter()
        .flatten()
        .chain(&shared)
        .flat_map(|h| h.vars.pairs())
        .collect();
    let v2g = policy == EvCharging::V2g;
    let mut enforced: Vec<(VarId, VarId)> = evs
        .iter()
        .filter(|_| v2g)
        .filter_map(|e| e.2.as_ref())
        .flat_map(|h| h.vars.pairs())
        .collect();
    let relaxed = if milp_batteries {
        enforced.extend(&battery_pairs);
        Vec::new()
    } else {
        battery_pairs
    };
    let st = milp::Settings {
        lp: opt::clarabel::Settings {
            max_iter: 400,
            time_limit_s: 600.0,
        },
        ..milp::Settings::default()
    };
    let (sol, method, lb, mut lp_sim, nodes) = if enforced.is_empty() {
        let sol = opt::clarabel::solve(&p, &st.lp);
        let lb = sol.objective;
        (sol, Method::Lp, lb, 0, 1)
    } else {
        let o = milp::solve(&p, &enforced, &st);
        (
            o.solution,
            Method::from(o.method),
            o.lower_bound,
            o.lp_violations,
            o.nodes,
        )
    };
    lp_sim += relaxed
        .iter()
        .filter(|(a, b)| sol.x[*a] > st.tol && sol.x[*b] > st.tol)
        .count();
    if !sol.status.is_ok() {
        return Ok((
            CentralResult {
                status: sol.status,
                method,
                cost: f64::NAN,
                discomfort: f64::NAN,
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
    // Polish every asset as its own dispatch is polished.
    let mut plan = Plan::none(np);
    // Wear and the tie-breaks of the polished dispatch.
    let mut ties = 0.0;
    let wear = |c: &[f64], d: &[f64]| dt * block::WEAR_PER_KWH * c.iter().chain(d).sum::<f64>();
    let curtail_kw: Vec<Vec<f64>> = (0..n_steps)
        .map(|t| {
            (0..np)
                .map(|i| sol.x[curt[i][t]].clamp(0.0, c.prosumers[i].pv_kw[t].max(0.0)))
                .collect()
        })
        .collect();
    let central_dispatch = |charge_kw, discharge_kw, soc_kwh, curtail_kw| Dispatch {
        status: sol.status,
        method,
        import_kw: vec![0.0; n_steps],
        export_kw: vec![0.0; n_steps],
        curtail_kw,
        charge_kw,
        discharge_kw,
        soc_kwh,
        cost: f64::NAN,
        objective: f64::NAN,
        lower_bound: f64::NAN,
        gap: f64::NAN,
        lp_simultaneous_steps: 0,
        nodes: 0,
    };
    for (i, pr) in c.prosumers.iter().enumerate() {
        let (Some(b), Some(h)) = (&pr.battery, &bats[i]) else {
            continue;
        };
        let (mut ch, mut di) = h.powers(&sol, milp_batteries);
        let soc = block::polish(b, dt, &mut ch, &mut di);
        ties += wear(&ch, &di);
        let cu = (0..n_steps).map(|t| curtail_kw[t][i]).collect();
        plan.dispatch[i] = Some(Box::new(central_dispatch(ch, di, soc, cu)));
    }
    if let (Some(sb), Some(h)) = (&c.shared, &shared) {
        let (mut ch, mut di) = h.powers(&sol, milp_batteries);
        let soc = block::polish(&sb.battery, dt, &mut ch, &mut di);
        ties += wear(&ch, &di);
        for &(i, f) in &sb.shares {
            let scale = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| f * x).collect() };
            plan.share[i] = Some(Box::new(central_dispatch(
                scale(&ch),
                scale(&di),
                scale(&soc),
                vec![0.0; n_steps],
            )));
        }
    }
    // A household's own day, on which a windowed schedule is spread and polished.
    let own = |i: usize| DayInput {
        dt_h: dt,
        load_kw: &c.prosumers[i].load_kw,
        pv_kw: &c.prosumers[i].pv_kw,
        import_per_kwh: &c.retail_per_kwh,
        export_per_kwh: &c.feed_in_per_kwh,
        allow_curtailment: false,
    };
    let optimised = |d: &mut Dispatch| {
        d.status = sol.status;
        d.method = method;
        d.nodes = nodes;
        d.cost = f64::NAN;
        d.objective = f64::NAN;
        d.lower_bound = f64::NAN;
    };
    for (k, (i, su, held)) in evs.iter().enumerate() {
        let (ch, di) = match held {
            Some(h) => h.powers(&sol, v2g),
            None => {
                let kw = su.full_power_kw();
                let z = vec![0.0; kw.len()];
                (kw, z)
            }
        };
        let mut d = scheduled_window(&su.battery, su.end_kwh(), su.window, &own(*i), None, ch, di);
        if held.is_some() {
            optimised(&mut d);
            ties += wear(&d.charge_kw, &d.discharge_kw);
            if policy == EvCharging::Smart {
                let full = su.full_power_kw();
                ties += (0..su.window.len)
                    .map(|j| {
                        let t = su.window.step(j, n_steps);
                        dt * ev::SOONER_PER_KWH * (d.charge_kw[t] - full[j]).abs()
                    })
                    .sum::<f64>();
            }
        }
        plan.ev[*i] = Some(Box::new(su.outcome(&c.evs[k], d)));
    }
    let mut discomfort = 0.0;
    for ((i, held), f) in shifts.iter().zip(&c.shiftables) {
        let b = f.battery();
        let d = match held {
            Some(h) => {
                let (ch, di) = h.powers(&sol, false);
                let mut d = scheduled_window(&b, f.energy_kwh, f.window, &own(*i), None, ch, di);
                optimised(&mut d);
                ties += wear(&d.charge_kw, &d.discharge_kw);
                d
            }
            None => {
                let z = vec![0.0; f.window.len.min(n_steps)];
                let mut d = scheduled_window(&b, 0.0, f.window, &own(*i), None, z.clone(), z);
                d.status = Status::Solved;
                d
            }
        };
        let sd = ShiftDispatch::of(f, d, dt);
        discomfort += dt
            * crate::storage::shiftable::DISCOMFORT_PER_KWH
            * (0..n_steps).map(|t| sd.delta_kw(t).abs()).sum::<f64>();
        plan.shift[*i] = Some(Box::new(sd));
    }
    for (l, xs) in &drops {
        let x: Vec<f64> = xs
            .iter()
            .zip(&l.max_kw)
            .map(|(&v, &hi)| sol.x[v].clamp(0.0, hi.max(0.0)))
            .collect();
        let d = CurtailDispatch::of(l, x, dt);
        discomfort += d.discomfort_cost;
        plan.curtail[l.prosumer] = Some(Box::new(d));
    }
    // The community's cost with the retailer of the polished plan.
    let mut cost = 0.0;
    for t in 0..n_steps {
        let net_kwh: f64 = -accounts(c, &plan, &curtail_kw, t)
            .iter()
            .map(|a| a.injection_kw(dt) * dt)
            .sum::<f64>();
        cost += c.retail_per_kwh[t] * net_kwh.max(0.0) - c.feed_in_per_kwh[t] * (-net_kwh).max(0.0);
    }
    let objective = cost + discomfort + ties;
    let lower_bound = lb.min(objective);
    let gap = milp::rel_gap(objective, lower_bound);
    // Every optimised asset carries the central solution's gap.
    for d in plan
        .dispatch
        .iter_mut()
        .chain(plan.share.iter_mut())
        .flatten()
        .map(|d| &mut **d)
        .chain(plan.ev.iter_mut().flatten().map(|e| &mut e.dispatch))
        .chain(plan.shift.iter_mut().flatten().map(|f| &mut f.dispatch))
    {
        if d.method != Method::Greedy {
            d.gap = gap;
        }
    }
    Ok((
        CentralResult {
            status: sol.status,
            method,
            cost,
            discomfort,
            objective,
            lower_bound,
            gap,
            lp_simultaneous_steps: lp_sim,
            nodes,
            plan,
            curtail_kw,
        },
        None,
    ))
}
