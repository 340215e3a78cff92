//! Batteries: the storage model and its optimal dispatch over a day.
//!
//! # Model (per battery, step `t` of `Δt` hours)
//!
//! ```text
//!   soc_t = soc_{t−1} + η_c·c_t·Δt − d_t·Δt/η_d          soc_{−1} = soc0·E
//!   soc_min·E ≤ soc_t ≤ soc_max·E,  0 ≤ c_t ≤ P_c,  0 ≤ d_t ≤ P_d
//!   imp_t − exp_t = load_t − pv_t + curt_t + c_t − d_t,  0 ≤ curt_t ≤ pv_t
//!   end of day: soc_T = soc0·E (default), ≥ soc0·E, or free
//!   minimise Σ_t Δt (π_imp,t·imp_t − π_exp,t·exp_t + w·(c_t + d_t))   (w = 1e-5 $/kWh tie-break)
//! ```
//!
//! The physical rule "never charge and discharge in the same step" needs a binary per step
//! (`c_t ≤ P_c z_t`, `d_t ≤ P_d (1 − z_t)`). [`StorageModel::Lp`] drops it; [`StorageModel::Milp`]
//! enforces it. The MILP is solved by exploiting structure rather than blindly:
//!
//! 1. Solve the LP relaxation: its cost is a lower bound. If no step charges and discharges at
//!    once, the LP point is feasible for the MILP and therefore optimal (gap 0).
//! 2. Otherwise fix, in every simultaneous step, the smaller of charge/discharge to zero and
//!    re-solve: an upper bound. With PV curtailment available, burning energy through round-trip
//!    losses is never strictly better than curtailing, so this usually meets the bound (gap 0).
//! 3. Otherwise branch and bound on the simultaneous steps only (best-first, LP bounds), until the
//!    relative gap is below `gap_tol` or the node limit is reached; the gap is reported.

use crate::opt::{self, Problem, Sense, Status};
use serde::{Deserialize, Serialize};

/// Tie-breaking wear cost on charge and discharge energy, $/kWh.
pub const WEAR_PER_KWH: f64 = 1e-5;

/// How storage is dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StorageModel {
    /// No storage dispatch.
    None,
    /// Linear relaxation (may charge and discharge at once; reported).
    Lp,
    /// Mixed-integer: no simultaneous charge and discharge, optimality proven or gap reported.
    Milp,
    /// Rule-based: charge on surplus, discharge on deficit (a reference, not an optimiser).
    Greedy,
}

/// End-of-day state-of-charge rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndRule {
    /// Return exactly to the initial SOC.
    ReturnToInitial,
    /// End at least at the initial SOC.
    AtLeastInitial,
    /// No rule.
    Free,
}

/// A battery's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Battery {
    /// Energy capacity, kWh.
    pub e_kwh: f64,
    /// Charge power limit, kW.
    pub p_charge_kw: f64,
    /// Discharge power limit, kW.
    pub p_discharge_kw: f64,
    /// Charge efficiency.
    pub eta_charge: f64,
    /// Discharge efficiency.
    pub eta_discharge: f64,
    /// Lowest SOC, fraction of capacity.
    pub soc_min: f64,
    /// Highest SOC, fraction of capacity.
    pub soc_max: f64,
    /// Initial SOC, fraction of capacity.
    pub soc0: f64,
    /// End-of-day rule.
    pub end_rule: EndRule,
}

impl Default for Battery {
    fn default() -> Self {
        Battery {
            e_kwh: 10.0,
            p_charge_kw: 5.0,
            p_discharge_kw: 5.0,
            eta_charge: 0.95,
            eta_discharge: 0.95,
            soc_min: 0.1,
            soc_max: 0.9,
            soc0: 0.5,
            end_rule: EndRule::ReturnToInitial,
        }
    }
}

impl Battery {
    /// The community (VPP) battery of the seed: 50 kWh, 10 kW both ways, SOC0 50 %.
    pub fn community() -> Battery {
        Battery {
            e_kwh: 50.0,
            p_charge_kw: 10.0,
            p_discharge_kw: 10.0,
            ..Battery::default()
        }
    }

    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let b = self;
        let ok = |c: bool, f: &str| {
            if c {
                Ok(())
            } else {
                Err(format!("battery.{f} is out of range"))
            }
        };
        ok(b.e_kwh.is_finite() && b.e_kwh >= 0.0, "e_kwh (>= 0)")?;
        ok(
            b.p_charge_kw.is_finite() && b.p_charge_kw >= 0.0,
            "p_charge_kw (>= 0)",
        )?;
        ok(
            b.p_discharge_kw.is_finite() && b.p_discharge_kw >= 0.0,
            "p_discharge_kw (>= 0)",
        )?;
        ok(
            b.eta_charge > 0.0 && b.eta_charge <= 1.0,
            "eta_charge (0, 1]",
        )?;
        ok(
            b.eta_discharge > 0.0 && b.eta_discharge <= 1.0,
            "eta_discharge (0, 1]",
        )?;
        ok(
            (0.0..=1.0).contains(&b.soc_min) && b.soc_min <= b.soc_max && b.soc_max <= 1.0,
            "soc_min/soc_max (0 ≤ min ≤ max ≤ 1)",
        )?;
        ok(
            b.soc0 >= b.soc_min && b.soc0 <= b.soc_max,
            "soc0 (within [soc_min, soc_max])",
        )?;
        Ok(())
    }
}

/// A day to dispatch one battery in.
#[derive(Debug, Clone)]
pub struct DayInput<'a> {
    /// Step length, h.
    pub dt_h: f64,
    /// Load per step, kW.
    pub load_kw: &'a [f64],
    /// PV per step, kW.
    pub pv_kw: &'a [f64],
    /// Import price per step, $/kWh.
    pub import_per_kwh: &'a [f64],
    /// Export price per step, $/kWh (may be negative).
    pub export_per_kwh: &'a [f64],
    /// Whether PV may be curtailed.
    pub allow_curtailment: bool,
}

/// MILP settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MilpSettings {
    /// Relative gap at which the search stops (default 1e-4 = 0.01 %).
    pub gap_tol: f64,
    /// Largest number of branch-and-bound nodes (default 200).
    pub max_nodes: usize,
    /// Charge and discharge both above this (kW) count as simultaneous (default 1e-6).
    pub sim_tol_kw: f64,
}

impl Default for MilpSettings {
    fn default() -> Self {
        MilpSettings {
            gap_tol: 1e-4,
            max_nodes: 200,
            sim_tol_kw: 1e-6,
        }
    }
}

/// How the dispatch was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The LP relaxation (storage model `lp`).
    Lp,
    /// The LP relaxation had no simultaneous steps: proven optimal for the MILP.
    LpExact,
    /// Fixing the smaller of charge/discharge met the LP bound: proven optimal.
    FixSmaller,
    /// Branch and bound.
    BranchAndBound,
    /// Rule-based.
    Greedy,
}

/// A day's dispatch of one battery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dispatch {
    /// Outcome of the last solve.
    pub status: Status,
    /// How it was found.
    pub method: Method,
    /// Charge power per step, kW.
    pub charge_kw: Vec<f64>,
    /// Discharge power per step, kW.
    pub discharge_kw: Vec<f64>,
    /// SOC at the end of each step, kWh.
    pub soc_kwh: Vec<f64>,
    /// Import per step, kW.
    pub import_kw: Vec<f64>,
    /// Export per step, kW.
    pub export_kw: Vec<f64>,
    /// PV curtailed per step, kW.
    pub curtail_kw: Vec<f64>,
    /// Energy cost of the day (imports minus exports), $.
    pub cost: f64,
    /// The optimised objective: energy cost plus the tie-breaking wear cost, $.
    pub objective: f64,
    /// Proven lower bound on the optimal MILP objective, $ (LP relaxations).
    pub lower_bound: f64,
    /// Relative gap (objective − bound)/max(|objective|, 1e-9); 0 when proven optimal.
    pub gap: f64,
    /// Steps in which the LP relaxation charged and discharged at once.
    pub lp_simultaneous_steps: usize,
    /// Branch-and-bound nodes explored.
    pub nodes: usize,
}

/// Dispatches one battery over the day.
pub fn dispatch(
    b: &Battery,
    inp: &DayInput,
    model: StorageModel,
    settings: &MilpSettings,
) -> Dispatch {
    match model {
        StorageModel::Greedy | StorageModel::None => greedy(b, inp),
        StorageModel::Lp => {
            let (d, _) = solve_lp(b, inp, &[]);
            let sim = simultaneous(&d, settings.sim_tol_kw).len();
            Dispatch {
                method: Method::Lp,
                lp_simultaneous_steps: sim,
                ..d
            }
        }
        StorageModel::Milp => milp(b, inp, settings),
    }
}

/// A fixing: in step `t`, force charge (`true` → discharge = 0) or discharge (`false` → charge = 0).
type Fix = (usize, bool);

fn build(b: &Battery, inp: &DayInput, fixes: &[Fix]) -> (Problem, Vec<[usize; 6]>) {
    let n = inp.load_kw.len();
    let dt = inp.dt_h;
    let mut p = Problem::default();
    let mut idx: Vec<[usize; 6]> = Vec::with_capacity(n);
    let e = b.e_kwh;
    for t in 0..n {
        let fixed = fixes.iter().find(|f| f.0 == t).map(|f| f.1);
        let c_ub = if fixed == Some(false) {
            0.0
        } else {
            b.p_charge_kw
        };
        let d_ub = if fixed == Some(true) {
            0.0
        } else {
            b.p_discharge_kw
        };
        // A tiny wear cost on throughput breaks ties (curtailing vs burning surplus through
        // losses) towards not cycling; `Dispatch::cost` excludes it.
        let c = p.var(format!("c[{t}]"), 0.0, c_ub, WEAR_PER_KWH * dt);
        let d = p.var(format!("d[{t}]"), 0.0, d_ub, WEAR_PER_KWH * dt);
        // A hair inside the SOC window, so the polished chain (below) stays within it.
        let m = 1e-7 * e.max(1.0);
        let s = p.var(
            format!("soc[{t}]"),
            b.soc_min * e + m,
            (b.soc_max * e - m).max(b.soc_min * e + m),
            0.0,
        );
        let imp = p.var(
            format!("imp[{t}]"),
            0.0,
            f64::INFINITY,
            inp.import_per_kwh[t] * dt,
        );
        let exp = p.var(
            format!("exp[{t}]"),
            0.0,
            f64::INFINITY,
            -inp.export_per_kwh[t] * dt,
        );
        let cu_ub = if inp.allow_curtailment {
            inp.pv_kw[t].max(0.0)
        } else {
            0.0
        };
        let cu = p.var(format!("curt[{t}]"), 0.0, cu_ub, 0.0);
        // imp − exp − curt − c + d = load − pv
        p.row(
            format!("balance[{t}]"),
            Sense::Eq,
            vec![(imp, 1.0), (exp, -1.0), (cu, -1.0), (c, -1.0), (d, 1.0)],
            inp.load_kw[t] - inp.pv_kw[t],
        );
        let mut soc_terms = vec![(s, 1.0), (c, -b.eta_charge * dt), (d, dt / b.eta_discharge)];
        let rhs = if t == 0 {
            b.soc0 * e
        } else {
            soc_terms.push((idx[t - 1][2], -1.0));
            0.0
        };
        p.row(format!("soc[{t}]"), Sense::Eq, soc_terms, rhs);
        idx.push([c, d, s, imp, exp, cu]);
    }
    if let Some(last) = idx.last() {
        match b.end_rule {
            EndRule::ReturnToInitial => {
                p.row("end soc", Sense::Eq, vec![(last[2], 1.0)], b.soc0 * e);
            }
            EndRule::AtLeastInitial => {
                p.row("end soc", Sense::Le, vec![(last[2], -1.0)], -b.soc0 * e);
            }
            EndRule::Free => {}
        }
    }
    (p, idx)
}

fn solve_lp(b: &Battery, inp: &DayInput, fixes: &[Fix]) -> (Dispatch, f64) {
    let (p, idx) = build(b, inp, fixes);
    let sol = opt::clarabel::solve(&p, &Default::default());
    let col = |k: usize| -> Vec<f64> { idx.iter().map(|v| sol.x[v[k]].max(0.0)).collect() };
    let mut d = Dispatch {
        status: sol.status,
        method: Method::Lp,
        charge_kw: col(0),
        discharge_kw: col(1),
        soc_kwh: col(2),
        import_kw: col(3),
        export_kw: col(4),
        curtail_kw: col(5),
        cost: sol.objective,
        objective: sol.objective,
        lower_bound: sol.objective,
        gap: 0.0,
        lp_simultaneous_steps: 0,
        nodes: 1,
    };
    if d.status.is_ok() {
        polish(b, inp, &mut d);
    }
    (d, sol.objective)
}

/// Makes the interior-point answer exact: power within limits, the SOC chain recomputed from the
/// charge and discharge, the end-of-day rule met exactly (the last step absorbs the residual),
/// import/export recomputed from the balance, and the cost re-evaluated.
fn polish(b: &Battery, inp: &DayInput, d: &mut Dispatch) {
    let n = d.charge_kw.len();
    if n == 0 {
        return;
    }
    let dt = inp.dt_h;
    for t in 0..n {
        d.charge_kw[t] = d.charge_kw[t].clamp(0.0, b.p_charge_kw);
        d.discharge_kw[t] = d.discharge_kw[t].clamp(0.0, b.p_discharge_kw);
        let cu_max = if inp.allow_curtailment {
            inp.pv_kw[t].max(0.0)
        } else {
            0.0
        };
        d.curtail_kw[t] = d.curtail_kw[t].clamp(0.0, cu_max);
    }
    let chain = |d: &mut Dispatch| {
        let mut soc = b.soc0 * b.e_kwh;
        for t in 0..n {
            soc += b.eta_charge * d.charge_kw[t] * dt - d.discharge_kw[t] * dt / b.eta_discharge;
            d.soc_kwh[t] = soc;
        }
    };
    chain(d);
    let target = b.soc0 * b.e_kwh;
    let err = d.soc_kwh[n - 1] - target;
    let fix = matches!(b.end_rule, EndRule::ReturnToInitial)
        || (b.end_rule == EndRule::AtLeastInitial && err < 0.0);
    if fix && err != 0.0 {
        let t = n - 1;
        if err > 0.0 {
            // Too much energy: charge less, or discharge more.
            let cut = (err / (b.eta_charge * dt)).min(d.charge_kw[t]);
            d.charge_kw[t] -= cut;
            let rest = err - cut * b.eta_charge * dt;
            d.discharge_kw[t] += rest * b.eta_discharge / dt;
        } else {
            let need = -err;
            let cut = (need * b.eta_discharge / dt).min(d.discharge_kw[t]);
            d.discharge_kw[t] -= cut;
            let rest = need - cut * dt / b.eta_discharge;
            d.charge_kw[t] += rest / (b.eta_charge * dt);
        }
        chain(d);
        if b.end_rule == EndRule::ReturnToInitial {
            d.soc_kwh[n - 1] = target;
        }
    }
    d.cost = 0.0;
    let mut wear = 0.0;
    for t in 0..n {
        let mut r =
            inp.load_kw[t] - inp.pv_kw[t] + d.curtail_kw[t] + d.charge_kw[t] - d.discharge_kw[t];
        if r.abs() < 1e-9 {
            r = 0.0; // interior-point dust
        }
        d.import_kw[t] = r.max(0.0);
        d.export_kw[t] = (-r).max(0.0);
        d.cost +=
            dt * (inp.import_per_kwh[t] * d.import_kw[t] - inp.export_per_kwh[t] * d.export_kw[t]);
        wear += dt * WEAR_PER_KWH * (d.charge_kw[t] + d.discharge_kw[t]);
    }
    d.objective = d.cost + wear;
}

fn simultaneous(d: &Dispatch, tol: f64) -> Vec<usize> {
    (0..d.charge_kw.len())
        .filter(|&t| d.charge_kw[t] > tol && d.discharge_kw[t] > tol)
        .collect()
}

fn rel_gap(ub: f64, lb: f64) -> f64 {
    ((ub - lb) / ub.abs().max(1e-9)).max(0.0)
}

fn milp(b: &Battery, inp: &DayInput, st: &MilpSettings) -> Dispatch {
    let mut d = milp_search(b, inp, st);
    if d.status.is_ok() {
        // Every real overlap has been removed by fixing or branching; what remains is
        // interior-point noise below `sim_tol_kw`. Zero the smaller side and re-polish.
        for t in 0..d.charge_kw.len() {
            if d.charge_kw[t] > 0.0 && d.discharge_kw[t] > 0.0 {
                if d.charge_kw[t] >= d.discharge_kw[t] {
                    d.discharge_kw[t] = 0.0;
                } else {
                    d.charge_kw[t] = 0.0;
                }
            }
        }
        polish(b, inp, &mut d);
        d.lower_bound = d.lower_bound.min(d.objective);
        d.gap = rel_gap(d.objective, d.lower_bound);
    }
    d
}

fn milp_search(b: &Battery, inp: &DayInput, st: &MilpSettings) -> Dispatch {
    let (root, lb) = solve_lp(b, inp, &[]);
    if !root.status.is_ok() {
        return root;
    }
    let sim = simultaneous(&root, st.sim_tol_kw);
    let lp_sim = sim.len();
    if sim.is_empty() {
        return Dispatch {
            method: Method::LpExact,
            ..root
        };
    }
    // Fix the smaller side in every simultaneous step, repeating while new ones appear.
    let mut fixes: Vec<Fix> = Vec::new();
    let mut cur = root.clone();
    let mut nodes = 1;
    let mut incumbent: Option<Dispatch> = None;
    for _ in 0..5 {
        let s = simultaneous(&cur, st.sim_tol_kw);
        if s.is_empty() {
            incumbent = Some(cur.clone());
            break;
        }
        for t in s {
            fixes.push((t, cur.charge_kw[t] >= cur.discharge_kw[t]));
        }
        let (d, _) = solve_lp(b, inp, &fixes);
        nodes += 1;
        if !d.status.is_ok() {
            break;
        }
        cur = d;
    }
    if let Some(inc) = &incumbent {
        if rel_gap(inc.objective, lb) <= st.gap_tol {
            return Dispatch {
                method: Method::FixSmaller,
                lower_bound: lb,
                gap: rel_gap(inc.objective, lb),
                lp_simultaneous_steps: lp_sim,
                nodes,
                ..inc.clone()
            };
        }
    }
    // Best-first branch and bound over the simultaneous steps.
    let mut best = incumbent;
    let mut open: Vec<(f64, Vec<Fix>, Dispatch)> = vec![(lb, Vec::new(), root)];
    let mut global_lb = lb;
    while let Some(pos) = open
        .iter()
        .enumerate()
        .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
        .map(|(i, _)| i)
    {
        let (bound, fx, d) = open.swap_remove(pos);
        global_lb = bound.min(open.iter().map(|o| o.0).fold(f64::INFINITY, f64::min));
        if let Some(inc) = &best {
            if rel_gap(inc.objective, bound) <= st.gap_tol {
                global_lb = bound;
                open.clear();
                break;
            }
        }
        if nodes >= st.max_nodes {
            open.push((bound, fx, d));
            break;
        }
        let s = simultaneous(&d, st.sim_tol_kw);
        let Some(&t) = s.iter().max_by(|&&a, &&b2| {
            d.charge_kw[a]
                .min(d.discharge_kw[a])
                .total_cmp(&d.charge_kw[b2].min(d.discharge_kw[b2]))
        }) else {
            if best.as_ref().is_none_or(|inc| d.objective < inc.objective) {
                best = Some(d);
            }
            continue;
        };
        for side in [true, false] {
            let mut f2 = fx.clone();
            f2.push((t, side));
            let (child, _) = solve_lp(b, inp, &f2);
            nodes += 1;
            if !child.status.is_ok() {
                continue;
            }
            if let Some(inc) = &best {
                if child.objective >= inc.objective {
                    continue;
                }
            }
            // The child's LP value (before polishing) is its bound.
            open.push((child.lower_bound, f2, child));
        }
    }
    let lb_final = if open.is_empty() {
        best.as_ref()
            .map_or(global_lb, |b| b.objective.min(global_lb.max(lb)))
    } else {
        open.iter()
            .map(|o| o.0)
            .fold(f64::INFINITY, f64::min)
            .max(lb)
    };
    match best {
        Some(inc) => Dispatch {
            method: Method::BranchAndBound,
            lower_bound: lb_final.min(inc.objective),
            gap: rel_gap(inc.objective, lb_final.min(inc.objective)),
            lp_simultaneous_steps: lp_sim,
            nodes,
            ..inc
        },
        None => Dispatch {
            status: Status::MaxIterations,
            method: Method::BranchAndBound,
            lower_bound: lb,
            gap: f64::INFINITY,
            lp_simultaneous_steps: lp_sim,
            nodes,
            ..cur
        },
    }
}

/// Rule-based reference: charge from surplus, discharge into deficit, within power and SOC
/// limits; no curtailment; end-of-day rule not enforced (reported through the final SOC).
pub fn greedy(b: &Battery, inp: &DayInput) -> Dispatch {
    let n = inp.load_kw.len();
    let dt = inp.dt_h;
    let (emin, emax) = (b.soc_min * b.e_kwh, b.soc_max * b.e_kwh);
    let mut soc = b.soc0 * b.e_kwh;
    let mut d = Dispatch {
        status: Status::Solved,
        method: Method::Greedy,
        charge_kw: vec![0.0; n],
        discharge_kw: vec![0.0; n],
        soc_kwh: vec![0.0; n],
        import_kw: vec![0.0; n],
        export_kw: vec![0.0; n],
        curtail_kw: vec![0.0; n],
        cost: 0.0,
        objective: 0.0,
        lower_bound: f64::NAN,
        gap: f64::NAN,
        lp_simultaneous_steps: 0,
        nodes: 0,
    };
    for t in 0..n {
        let net = inp.pv_kw[t] - inp.load_kw[t];
        if net > 0.0 && b.eta_charge > 0.0 {
            let c = net
                .min(b.p_charge_kw)
                .min(((emax - soc) / (b.eta_charge * dt)).max(0.0));
            d.charge_kw[t] = c;
            soc += b.eta_charge * c * dt;
        } else if net < 0.0 {
            let dis = (-net)
                .min(b.p_discharge_kw)
                .min(((soc - emin) * b.eta_discharge / dt).max(0.0));
            d.discharge_kw[t] = dis;
            soc -= dis * dt / b.eta_discharge;
        }
        let residual = net - d.charge_kw[t] + d.discharge_kw[t];
        d.import_kw[t] = (-residual).max(0.0);
        d.export_kw[t] = residual.max(0.0);
        d.soc_kwh[t] = soc;
        d.cost +=
            dt * (inp.import_per_kwh[t] * d.import_kw[t] - inp.export_per_kwh[t] * d.export_kw[t]);
    }
    d.objective = d.cost;
    d
}
