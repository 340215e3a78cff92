//! `--clearing central`: one optimisation of the whole community over the day — every battery
//! (homes and the VPP), PV curtailment, a P2P pool and the network limits together. Its cost is
//! the welfare optimum the decentralised auction can be compared with (the price of
//! decentralisation).
//!
//! # Model
//!
//! For prosumer `i` and step `t` (kW): PV `G`, load `L`, battery charge `c`, discharge `d`,
//! SOC `s` (as in [`crate::storage`]), curtailment `u ∈ [0, G]`, retail import `m`, export `x`,
//! energy sent to the pool `o` and received from it `r`:
//!
//! ```text
//!   G − u + d + m + r = L + c + x + o                  (prosumer balance)
//!   Σ_i r_i,t = η Σ_i o_i,t                             (pool: line_eta losses)
//!   minimise Σ_t Δt Σ_i (π_retail m − π_fit x + w (c + d))
//! ```
//!
//! plus, every step, the network block of the chosen formulation ([`crate::clearing`]) on the
//! physical nodal injections `Σ_{i at node} (G − u + d − L − c)`. The pool is settled at the
//! internal price of [`super::battery::internal_price`]; there are no bilateral trades. The LP
//! relaxation may charge and discharge at once: with `--storage-model milp` those steps are fixed
//! to their larger side and the day re-solved, and the gap to the LP bound is reported.

use super::community::Community;
use super::Ledger;
use crate::clearing::{Layout, NetworkModel, StepInput};
use crate::error::{Error, Result};
use crate::network::topology::Topology;
use crate::opt::{self, Problem, Sense};
use crate::scenario::Scenario;
use crate::storage::{EndRule, StorageModel, WEAR_PER_KWH};
use serde::Serialize;

/// What the central optimisation found.
#[derive(Debug, Clone, Serialize)]
pub struct CentralResult {
    /// Solver status.
    pub status: opt::Status,
    /// The community's cost with the retailer, $ (the optimum).
    pub cost: f64,
    /// LP lower bound, $.
    pub lower_bound: f64,
    /// Relative gap (0 when the LP had no simultaneous charge/discharge).
    pub gap: f64,
    /// Steps in which the LP relaxation charged and discharged a battery at once.
    pub lp_simultaneous_steps: usize,
    /// Per prosumer and step ledgers.
    #[serde(skip)]
    pub ledgers: Vec<Vec<Ledger>>,
}

const NONE: usize = usize::MAX;

/// Solves the day centrally.
pub fn solve(c: &Community, s: &Scenario) -> Result<CentralResult> {
    let (first, sim, lb) = solve_once(c, s, &[])?;
    if s.storage.model != StorageModel::Milp || sim.is_empty() {
        return Ok(CentralResult {
            lp_simultaneous_steps: sim.len(),
            ..first
        });
    }
    let (second, _, _) = solve_once(c, s, &sim)?;
    let gap = ((second.cost - lb) / second.cost.abs().max(1e-9)).max(0.0);
    Ok(CentralResult {
        lower_bound: lb,
        gap,
        lp_simultaneous_steps: sim.len(),
        ..second
    })
}

/// `fixes`: (prosumer, step, keep charge) — zero the other side.
fn solve_once(
    c: &Community,
    s: &Scenario,
    fixes: &[(usize, usize, bool)],
) -> Result<(CentralResult, Vec<(usize, usize, bool)>, f64)> {
    let n_steps = c.n_steps();
    let dt = c.dt_h();
    let np = c.prosumers.len();
    let grid = &c.grid;
    let n = grid.n_nodes();
    let topo = Topology::new(grid);
    let mut p = Problem::default();
    // Per prosumer, per step: [u, m, x, o, r, c, d, soc]
    let mut v = vec![vec![[NONE; 8]; n_steps]; np];
    for (i, pr) in c.prosumers.iter().enumerate() {
        for t in 0..n_steps {
            let u = p.var(format!("u[{i},{t}]"), 0.0, pr.pv_kw[t].max(0.0), 0.0);
            let m = p.var(
                format!("m[{i},{t}]"),
                0.0,
                f64::INFINITY,
                c.retail_per_kwh[t] * dt,
            );
            let x = p.var(
                format!("x[{i},{t}]"),
                0.0,
                f64::INFINITY,
                -c.feed_in_per_kwh[t] * dt,
            );
            let o = p.var(format!("o[{i},{t}]"), 0.0, f64::INFINITY, 0.0);
            let r = p.var(format!("r[{i},{t}]"), 0.0, f64::INFINITY, 0.0);
            v[i][t][..5].copy_from_slice(&[u, m, x, o, r]);
            if let Some(b) = &pr.battery {
                let fixed = fixes.iter().find(|f| f.0 == i && f.1 == t).map(|f| f.2);
                let cu = if fixed == Some(false) {
                    0.0
                } else {
                    b.p_charge_kw
                };
                let du = if fixed == Some(true) {
                    0.0
                } else {
                    b.p_discharge_kw
                };
                let cc = p.var(format!("c[{i},{t}]"), 0.0, cu, WEAR_PER_KWH * dt);
                let dd = p.var(format!("d[{i},{t}]"), 0.0, du, WEAR_PER_KWH * dt);
                let soc = p.var(
                    format!("s[{i},{t}]"),
                    b.soc_min * b.e_kwh,
                    b.soc_max * b.e_kwh,
                    0.0,
                );
                let mut terms = vec![
                    (soc, 1.0),
                    (cc, -b.eta_charge * dt),
                    (dd, dt / b.eta_discharge),
                ];
                let rhs = if t == 0 {
                    b.soc0 * b.e_kwh
                } else {
                    terms.push((v[i][t - 1][7], -1.0));
                    0.0
                };
                p.row(format!("soc[{i},{t}]"), Sense::Eq, terms, rhs);
                v[i][t][5] = cc;
                v[i][t][6] = dd;
                v[i][t][7] = soc;
                if t + 1 == n_steps {
                    match b.end_rule {
                        EndRule::ReturnToInitial => {
                            p.row(
                                format!("end[{i}]"),
                                Sense::Eq,
                                vec![(soc, 1.0)],
                                b.soc0 * b.e_kwh,
                            );
                        }
                        EndRule::AtLeastInitial => {
                            p.row(
                                format!("end[{i}]"),
                                Sense::Le,
                                vec![(soc, -1.0)],
                                -b.soc0 * b.e_kwh,
                            );
                        }
                        EndRule::Free => {}
                    }
                }
            }
            // G − u + d + m + r − L − c − x − o = 0
            let [u, m, x, o, r, cc, dd, _] = v[i][t];
            let mut terms = vec![(u, -1.0), (m, 1.0), (r, 1.0), (x, -1.0), (o, -1.0)];
            if cc != NONE {
                terms.push((cc, -1.0));
                terms.push((dd, 1.0));
            }
            p.row(
                format!("balance[{i},{t}]"),
                Sense::Eq,
                terms,
                pr.load_kw[t] - pr.pv_kw[t],
            );
        }
    }
    for t in 0..n_steps {
        let mut terms = Vec::new();
        for vi in &v {
            terms.push((vi[t][4], 1.0));
            terms.push((vi[t][3], -s.line_eta));
        }
        p.row(format!("pool[{t}]"), Sense::Eq, terms, 0.0);
    }
    // Network per step.
    let model = s.clearing.model;
    if model != NetworkModel::None {
        if model != NetworkModel::Dc && !topo.is_radial() {
            return Err(Error::invalid(
                crate::error::Location::file("scenario").field("clearing.model"),
                "lindistflow/socp need a radial feeder; use dc",
            ));
        }
        let spec = s.clearing;
        for t in 0..n_steps {
            let (mut bg, mut q) = (vec![0.0; n], vec![0.0; n]);
            let mut inj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
            for (i, pr) in c.prosumers.iter().enumerate() {
                bg[pr.node] += pr.pv_kw[t] - pr.load_kw[t];
                q[pr.node] -= pr.load_kw[t] * c.load_tan_phi;
                let [u, _, _, _, _, cc, dd, _] = v[i][t];
                inj[pr.node].push((u, -1.0));
                if cc != NONE {
                    inj[pr.node].push((cc, -1.0));
                    inj[pr.node].push((dd, 1.0));
                }
            }
            let slack = p.var(format!("slack[{t}]"), f64::NEG_INFINITY, f64::INFINITY, 0.0);
            inj[grid.slack].push((slack, 1.0));
            let zero = vec![0.0; n];
            let inp = StepInput {
                dt_h: dt,
                trades: &[],
                bg_p_kw: &bg,
                bg_q_kvar: &q,
                shed_max_kw: &zero,
                tan_phi: &zero,
                curt_max_kw: &zero,
                import_per_kwh: c.retail_per_kwh[t],
                export_per_kwh: c.feed_in_per_kwh[t],
                v_offset_pu: &[],
            };
            let mut lay = Layout {
                kappa: 1.0 / (1000.0 * grid.sn_mva),
                shed: vec![NONE; n],
                curt: vec![NONE; n],
                ..Layout::default()
            };
            match model {
                NetworkModel::Dc => {
                    crate::clearing::dc_block(grid, &topo, &mut p, &mut lay, &inj, &inp)
                }
                _ => crate::clearing::distflow_block(
                    grid,
                    &topo,
                    &spec,
                    &mut p,
                    &mut lay,
                    &inj,
                    &inp,
                    model == NetworkModel::Socp,
                ),
            }
        }
    }
    let sol = opt::clarabel::solve(
        &p,
        &opt::clarabel::Settings {
            max_iter: 400,
            time_limit_s: 600.0,
        },
    );
    if !sol.status.is_ok() {
        if let Some(path) = &c.dump_lp {
            let file = format!("{path}.central.json");
            let _ = std::fs::write(&file, p.to_json());
        }
        return Ok((
            CentralResult {
                status: sol.status,
                cost: f64::NAN,
                lower_bound: f64::NAN,
                gap: f64::NAN,
                lp_simultaneous_steps: 0,
                ledgers: Vec::new(),
            },
            Vec::new(),
            f64::NAN,
        ));
    }
    let val = |j: usize| if j == NONE { 0.0 } else { sol.x[j].max(0.0) };
    let p_int = super::battery::internal_price(s, &c.retail_per_kwh, &c.feed_in_per_kwh);
    let mut sim = Vec::new();
    let mut ledgers = Vec::with_capacity(n_steps);
    let mut cost = 0.0;
    for t in 0..n_steps {
        let mut step = Vec::with_capacity(np);
        for (i, pr) in c.prosumers.iter().enumerate() {
            let [u, _, _, o, r, cc, dd, _] = v[i][t];
            let (ch, di) = (val(cc), val(dd));
            if ch > 1e-6 && di > 1e-6 {
                sim.push((i, t, ch >= di));
            }
            let mut l = Ledger {
                load_kwh: pr.load_kw[t] * dt,
                pv_kwh: pr.pv_kw[t] * dt,
                battery_in_kwh: ch * dt,
                battery_out_kwh: di * dt,
                curtailed_kwh: val(u) * dt,
                p2p_sold_kwh: val(o) * dt,
                p2p_bought_kwh: val(r) * dt,
                ..Ledger::default()
            };
            l.self_kwh = l.demand_kwh().min(l.supply_kwh());
            // Pool sales and purchases cannot exceed what the prosumer has or needs.
            l.p2p_sold_kwh = l.p2p_sold_kwh.min((l.supply_kwh() - l.self_kwh).max(0.0));
            l.p2p_bought_kwh = l.p2p_bought_kwh.min((l.demand_kwh() - l.self_kwh).max(0.0));
            l.grid_import_kwh = (l.demand_kwh() - l.self_kwh - l.p2p_bought_kwh).max(0.0);
            l.grid_export_kwh = (l.supply_kwh() - l.self_kwh - l.p2p_sold_kwh).max(0.0);
            l.grid_paid = l.grid_import_kwh * c.retail_per_kwh[t];
            l.grid_received = l.grid_export_kwh * c.feed_in_per_kwh[t];
            l.p2p_received = l.p2p_sold_kwh * p_int[t];
            l.p2p_paid = l.p2p_bought_kwh / s.line_eta * p_int[t];
            l.fixed_charge = if t == 0 && pr.class != super::community::LoadClass::Vpp {
                c.daily_fixed_charge
            } else {
                0.0
            };
            cost += l.grid_paid - l.grid_received;
            step.push(l);
        }
        ledgers.push(step);
    }
    Ok((
        CentralResult {
            status: sol.status,
            cost,
            lower_bound: sol.objective,
            gap: 0.0,
            lp_simultaneous_steps: 0,
            ledgers,
        },
        sim,
        sol.objective,
    ))
}
