//! Network-aware clearing: what the network makes of a step, and what it costs.
//!
//! # Physics first, money second
//!
//! A P2P trade is a financial contract: electrons do not know who traded with whom. So the network
//! correction never looks at trades. It sees the step's **physical** nodal injections (every
//! agent's PV, load and storage, exactly as metered) and decides the *physically needed*
//! curtailment of PV and, only when asked to enforce limits on the background, load shedding. The
//! market then learns what happened to its trades by a stated rule ([`allocate`]): an agent's
//! curtailment comes out of the energy it would have exported to the retailer first, then out of
//! its trades pro rata; shedding out of what it would have imported from the retailer first, then
//! its P2P purchases pro rata. So when nothing flexible responds to the market, the baseline and
//! P2P cases have identical physics, and a seller loses at most feed-in on a curtailed kWh it
//! would have exported anyway.
//!
//! # The correction problem (one per step, when a limit is violated)
//!
//! Injections (kW, generator convention) at node `i`, with `c_i ∈ [0, C_i]` PV curtailed and
//! `s_i ∈ [0, S_i]` load shed (`C_i` is the PV its agents export, `S_i` the load they import;
//! `S_i = 0` unless the background is enforced):
//!
//! ```text
//!   p_i = p⁰_i − c_i + s_i   (+ p_imp − p_exp at the slack),   q_i = q⁰_i + tanφ_i s_i
//!   minimise  Δt·[π_retail p_imp − max(π_feed-in, 0) p_exp + VOLL Σ s_i]
//!             + ε Δt Σ (c_i²/C_i + s_i²/S_i)
//!   subject to the formulation's balance at every node and its limits.
//! ```
//!
//! There is no penalty on curtailment: a curtailed kWh costs exactly what it was worth — the
//! export it would have earned or the import it would have displaced, both already in the
//! balance. Exports are valued at no less than zero so the correction never curtails for money
//! (a negative feed-in tariff is the retailer's business, not the network's). Shedding costs the
//! value of lost load `VOLL` (default 8.7 $/kWh: the EU-average household VoLL of Shivakumar et
//! al., *Energy Research & Social Science* 34, 2017). The quadratic term (`ε` = 1e-6 $/kWh) only
//! makes the optimum unique, spreading curtailment over equally effective nodes in proportion to
//! what they can give; it moves no price by more than 2·ε.
//!
//! # Formulations ([`NetworkModel`], [`crate::formulation`])
//!
//! `dc` (thermal, radial or meshed), `lindistflow` (voltages and thermal, radial; an LP), `socp`
//! (DistFlow relaxation with losses, radial). A step whose physical injections already meet every
//! limit of the formulation is not optimised (the formulation's evaluator decides; exact, since
//! the optimum is then to curtail nothing).
//!
//! # Prices
//!
//! The nodal price is the cost of one more kWh of load at a node, `λ_i = −∂f*/∂p⁰_i / Δt`, the
//! balance row's dual. It splits into *energy* (`λ_slack`), *congestion* (thermal duals times
//! PTDF sensitivities, [`crate::formulation::congestion_part`]) and *voltage* (the remainder: exactly
//! the voltage-limit duals times `∂v/∂p` in `lindistflow`; in `socp` it also carries losses). A
//! step that is not optimised has the uniform price of the slack (import price when the feeder
//! imports, export price otherwise). A trade's network charge under `dlmp` is
//! `(λ_buyer − λ_seller)·kWh` ([`charges`]).

pub mod allocate;
pub mod charges;
pub mod check;

pub use crate::formulation::NetworkModel;
use crate::formulation::{
    self, BindingLimit, Feeder, Limits, NetworkFormulation, NodeInjection, Predicted, StepOptions,
    StepRows, Violation, Workspace,
};
use crate::market::pairs::PairBook;
use crate::network::electrical::Grid;
use crate::opt::{self, Problem, Sense, Status, Tag, VarId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// Cost-reflective network usage charge, known before matching: losses (marginal loss
    /// factors), congestion and voltage (pre-market nodal prices), and an investment part by
    /// usage and distance.
    Nuc,
}

/// What happens to a limit the background (the no-P2P case) already violates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Background {
    /// Reported as pre-existing (elements and amounts); nobody is curtailed or shed for it, and
    /// the market must not make it worse.
    Report,
    /// Brought within the limits in both cases alike, by the least-cost PV curtailment and load
    /// shedding (at VOLL).
    Enforce,
}

/// Clearing settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClearingSpec {
    /// Formulation.
    pub model: NetworkModel,
    /// Lowest allowed voltage, p.u. (default 0.90: EN 50160's ±10 %).
    pub vmin_pu: f64,
    /// Highest allowed voltage, p.u. (default 1.10).
    pub vmax_pu: f64,
    /// What to do with violations that exist without the market.
    pub background: Background,
    /// Value of lost load, $/kWh (the cost of shedding, only when the background is enforced).
    pub voll_per_kwh: f64,
    /// Network charges in the settlement.
    pub network_charges: ChargeRule,
    /// Rate of the `distance` rule (and of the distance part of `nuc`), per kWh and km of path.
    /// Defaults: [`charges`] explains the levels.
    pub distance_rate_per_kwh_km: f64,
    /// Rate of the `uniform` rule, and the usage part of `nuc`, per kWh.
    pub uniform_rate_per_kwh: f64,
    /// Time variation of the usage part of `nuc` (flat, or §14a EnWG module 3).
    pub grid_fee_time: charges::GridFeeTime,
    /// Run an AC power flow of the cleared injections every step.
    pub ac_check: bool,
    /// Largest number of AC-feedback rounds (LinDistFlow).
    pub ac_feedback_rounds: usize,
}

/// EN 50160's supply-voltage band for LV networks, ±10 % of nominal.
pub const EN50160_BAND_PU: (f64, f64) = (0.90, 1.10);

/// A common planning band for LV feeders (tighter than EN 50160, leaving room for the MV side).
pub const PLANNING_BAND_PU: (f64, f64) = (0.95, 1.05);

/// The tie-break weight ε, $/kWh.
pub const TIE_BREAK_PER_KWH: f64 = 1e-6;

impl Default for ClearingSpec {
    fn default() -> Self {
        ClearingSpec {
            model: NetworkModel::Lindistflow,
            vmin_pu: EN50160_BAND_PU.0,
            vmax_pu: EN50160_BAND_PU.1,
            background: Background::Report,
            voll_per_kwh: 8.7,
            network_charges: ChargeRule::None,
            distance_rate_per_kwh_km: 0.03,
            uniform_rate_per_kwh: 0.03,
            grid_fee_time: charges::GridFeeTime::Flat,
            ac_check: true,
            ac_feedback_rounds: 3,
        }
    }
}

/// One agent's physical position in a step, as the correction sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agent {
    /// Its node.
    pub node: usize,
    /// Net active injection before correction, kW.
    pub p_kw: f64,
    /// Net reactive injection, kvar.
    pub q_kvar: f64,
    /// PV it may curtail (what it exports, traded or not), kW.
    pub curtailable_kw: f64,
    /// Load it may shed (what it imports, P2P or retail), kW; 0 unless shedding is allowed.
    pub sheddable_kw: f64,
    /// tan φ of its load (Q shed with P).
    pub tan_phi: f64,
}

/// A proposed trade between two agents.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TradeFlow {
    /// Selling agent.
    pub seller: usize,
    /// Buying agent.
    pub buyer: usize,
    /// Power over the step, kW.
    pub kw: f64,
}

/// One step's data for the correction.
#[derive(Debug, Clone)]
pub struct StepInput<'a> {
    /// Step length, h.
    pub dt_h: f64,
    /// The agents.
    pub agents: &'a [Agent],
    /// Proposed trades (only for the allocation: the physics does not depend on them).
    pub trades: &'a [TradeFlow],
    /// Price of energy imported at the slack, $/kWh.
    pub import_per_kwh: f64,
    /// Price of energy exported at the slack, $/kWh.
    pub export_per_kwh: f64,
    /// The limits to keep.
    pub limits: &'a Limits,
    /// Bids and asks to clear jointly with the network (the `welfare` design); `trades` is then
    /// empty and the outcome's [`StepOutcome::pair_kw`] holds the trades.
    pub book: Option<&'a PairBook>,
}

impl StepInput<'_> {
    /// Physical nodal injections (kW, kvar) before correction.
    pub fn injections(&self, n: usize) -> (Vec<f64>, Vec<f64>) {
        let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
        for a in self.agents {
            p[a.node] += a.p_kw;
            q[a.node] += a.q_kvar;
        }
        (p, q)
    }
}

/// What the correction decided for one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOutcome {
    /// Solve status (`solved` also when no optimisation was needed).
    pub status: Status,
    /// Whether an optimisation ran (false when the injections already met every limit).
    pub optimised: bool,
    /// Limits the injections violated before correction (the formulation's view).
    pub violations: Vec<Violation>,
    /// Limits the injections violated before correction in AC, when the AC check is on and the
    /// correction ran ([`Corrector::correct`]): the uncorrected proposal as the physics has it,
    /// losses, reactive power and voltage included (the formulation may not see a violation that
    /// AC does, and the AC feedback then corrects it).
    pub ac_violations_before: Vec<Violation>,
    /// Executed share of each trade.
    pub executed: Vec<f64>,
    /// PV curtailed per node, kW.
    pub curt_kw: Vec<f64>,
    /// Load shed per node, kW.
    pub shed_kw: Vec<f64>,
    /// PV curtailed per agent, kW.
    pub agent_curt_kw: Vec<f64>,
    /// Load shed per agent, kW.
    pub agent_shed_kw: Vec<f64>,
    /// Nodal price, $/kWh. This, the three price parts below and the predicted voltages and
    /// flows are shared (`Arc`): a P2P step whose physics is the baseline's takes the baseline's
    /// outcome, and copying them then costs nothing (at 10⁵ buses they are 6 MB a step).
    pub lmp_per_kwh: Arc<Vec<f64>>,
    /// Energy component, $/kWh.
    pub energy_per_kwh: f64,
    /// Congestion component per node, $/kWh.
    pub congestion_per_kwh: Arc<Vec<f64>>,
    /// Voltage component per node, $/kWh.
    pub voltage_per_kwh: Arc<Vec<f64>>,
    /// Losses component per node, $/kWh (the rest: 0 in the lossless formulations).
    pub losses_per_kwh: Arc<Vec<f64>>,
    /// Reactive nodal prices and their parts, $/kvarh (formulations with Q).
    pub reactive: Option<crate::formulation::PriceParts>,
    /// Limits binding at the optimum.
    pub binding: Vec<BindingLimit>,
    /// Predicted voltage magnitude per node, p.u. (lindistflow/socp).
    pub predicted_vm_pu: Option<Arc<Vec<f64>>>,
    /// Predicted sending-end flow per branch, kW (from→to positive).
    pub predicted_p_kw: Arc<Vec<f64>>,
    /// Predicted sending-end reactive flow per branch, kvar (empty in `dc`).
    #[serde(skip)]
    pub predicted_q_kvar: Arc<Vec<f64>>,
    /// Predicted rated flow measure per branch, kVA ([`Predicted::rated_kva`]).
    #[serde(skip)]
    pub predicted_rated_kva: Arc<Vec<f64>>,
    /// Largest relative SOC gap (socp only).
    pub socp_max_gap: Option<f64>,
    /// Solver iterations.
    pub iterations: u32,
    /// Rounds of AC feedback (voltage bands shifted by the AC error and re-solved).
    pub ac_feedback_rounds: usize,
    /// Why the problem could not be built or solved, when it could not.
    pub message: Option<String>,
    /// Under a joint clearing ([`StepInput::book`]): the power traded per offer of the book, kW.
    #[serde(skip)]
    pub pair_kw: Vec<f64>,
}

impl StepOutcome {
    /// The binding limits as one text (`; `-separated), or the solver status when it failed.
    pub fn reason(&self) -> String {
        if !self.status.is_ok() {
            return match &self.message {
                Some(m) => format!("solver: {} ({m})", self.status),
                None => format!("solver: {}", self.status),
            };
        }
        self.binding
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The correction of one feeder: its formulation, the per-topology data, and workspaces reused
/// across steps.
pub struct Corrector<'a> {
    /// The feeder.
    pub feeder: Feeder<'a>,
    form: Option<&'static dyn NetworkFormulation>,
    spec: ClearingSpec,
    /// The plain limits, shared with the steps that read them ([`Corrector::limits`]).
    limits: Arc<Limits>,
    ws: Workspace,
    last_ac: Option<crate::pf::ac::AcSolution>,
    ac_ws: Option<crate::pf::ac::AcWorkspace>,
}

/// Where the correction's own variables are in a built problem.
#[derive(Debug, Clone)]
pub struct Handles {
    /// The network rows.
    pub rows: StepRows,
    /// Curtailment per node.
    pub curt: Vec<Option<VarId>>,
    /// Shedding per node.
    pub shed: Vec<Option<VarId>>,
    /// The trade per offer of a joint clearing's book.
    pub pairs: Vec<VarId>,
}

impl<'a> Corrector<'a> {
    /// A corrector for a grid; fails when the formulation cannot represent the feeder.
    pub fn new(grid: &'a Grid, spec: &ClearingSpec) -> crate::Result<Corrector<'a>> {
        Corrector::of(Feeder::new(grid)?, spec)
    }

    /// A corrector for a feeder already built.
    pub fn of(feeder: Feeder<'a>, spec: &ClearingSpec) -> crate::Result<Corrector<'a>> {
        let form = formulation::of(spec.model);
        if let Some(f) = form {
            f.supports(&feeder).map_err(|m| {
                crate::Error::invalid(crate::Location::file("scenario").field("clearing.model"), m)
            })?;
        }
        Ok(Corrector {
            limits: Arc::new(Limits::new(&feeder, spec.vmin_pu, spec.vmax_pu)),
            ws: Workspace::new(&feeder),
            last_ac: None,
            ac_ws: None,
            feeder,
            form,
            spec: *spec,
        })
    }

    /// The formulation (`None` without a network model).
    pub fn formulation(&self) -> Option<&'static dyn NetworkFormulation> {
        self.form
    }

    /// The settings.
    pub fn spec(&self) -> &ClearingSpec {
        &self.spec
    }

    /// The plain limits (the band and the ratings).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// [`Corrector::limits`], shared: a step reads them while it corrects with `&mut self`,
    /// without copying a per-node and per-branch table (3 MB at 10⁵ buses) each step.
    pub fn shared_limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }

    /// The formulation's prediction for fixed injections (`None` without an evaluator).
    pub fn evaluate(&mut self, p_kw: &[f64], q_kvar: &[f64]) -> Option<Predicted> {
        self.form?
            .evaluate(&self.feeder, p_kw, q_kvar, &mut self.ws)
    }

    /// Assesses a step without correcting it: the formulation's evaluation of the injections and
    /// the limits they violate (pre-existing violations are reported, not acted on).
    pub fn assess(&mut self, inp: &StepInput) -> StepOutcome {
        let n = self.feeder.n_nodes();
        let (p0, q0) = inp.injections(n);
        let pred = self
            .form
            .and_then(|f| f.evaluate(&self.feeder, &p0, &q0, &mut self.ws));
        let violations = match (&pred, self.form) {
            (Some(pr), Some(f)) => f.violations(&self.feeder, pr, inp.limits, 1e-9),
            _ => Vec::new(),
        };
        self.unoptimised(inp, &p0, pred, violations)
    }

    /// Builds the correction problem of a step (see the module docs).
    pub fn build(&self, inp: &StepInput) -> Result<(Problem, Handles), String> {
        self.build_with(inp, &StepOptions::default())
    }

    fn build_with(
        &self,
        inp: &StepInput,
        opts: &StepOptions,
    ) -> Result<(Problem, Handles), String> {
        let Some(form) = self.form else {
            return Err("no network model: nothing to correct".into());
        };
        let f = &self.feeder;
        let n = f.n_nodes();
        let dt = inp.dt_h;
        let mut p = Problem::default();
        let (mut cap_c, mut cap_s, mut tan_s) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut inj = vec![NodeInjection::default(); n];
        for a in inp.agents {
            inj[a.node].p.constant += a.p_kw;
            inj[a.node].q.constant += a.q_kvar;
            cap_c[a.node] += a.curtailable_kw.max(0.0);
            cap_s[a.node] += a.sheddable_kw.max(0.0);
            tan_s[a.node] += a.sheddable_kw.max(0.0) * a.tan_phi;
        }
        let eps = TIE_BREAK_PER_KWH * dt;
        let mut curt = vec![None; n];
        let mut shed = vec![None; n];
        for i in 0..n {
            if cap_c[i] > 1e-9 {
                let v = p.var(Tag::at("curt", i), 0.0, cap_c[i], 0.0);
                p.quad_diag(v, 2.0 * eps / cap_c[i]);
                inj[i].p.terms.push((v, -1.0));
                curt[i] = Some(v);
            }
            if cap_s[i] > 1e-9 {
                let v = p.var(
                    Tag::at("shed", i),
                    0.0,
                    cap_s[i],
                    self.spec.voll_per_kwh * dt,
                );
                p.quad_diag(v, 2.0 * eps / cap_s[i]);
                inj[i].p.terms.push((v, 1.0));
                // Reactive load goes with the active load shed (the node's mean tan φ).
                inj[i].q.terms.push((v, tan_s[i] / cap_s[i]));
                shed[i] = Some(v);
            }
        }
        let imp = p.var(
            Tag::kind("p_imp"),
            0.0,
            f64::INFINITY,
            inp.import_per_kwh * dt,
        );
        let exp = p.var(
            Tag::kind("p_exp"),
            0.0,
            f64::INFINITY,
            -inp.export_per_kwh.max(0.0) * dt,
        );
        let s = f.grid.slack;
        inj[s].p.terms.push((imp, 1.0));
        inj[s].p.terms.push((exp, -1.0));
        let rows = form.add_step(f, &mut p, &inj, inp.limits, opts);
        let pairs = match inp.book {
            Some(book) => add_joint_pairs(&mut p, book, inp, &curt, &shed),
            None => Vec::new(),
        };
        Ok((
            p,
            Handles {
                rows,
                curt,
                shed,
                pairs,
            },
        ))
    }

    /// Corrects one step: evaluates the injections, and optimises only when a limit is violated
    /// (always under `socp`). With `lindistflow` and an AC model, AC feeds back: where AC finds a
    /// voltage outside the band of the optimised result, that node's band is shifted by the
    /// AC-vs-LinDistFlow error and the step re-solved (at most `ac_feedback_rounds` times). The
    /// problem is returned when one was built (to dump when it failed).
    pub fn correct(
        &mut self,
        inp: &StepInput,
        ac: Option<&crate::pf::ac::AcModel>,
    ) -> (StepOutcome, Option<Problem>) {
        self.last_ac = None;
        let n = self.feeder.n_nodes();
        let (p0, q0) = inp.injections(n);
        let Some(form) = self.form else {
            return (self.unoptimised(inp, &p0, None, Vec::new()), None);
        };
        // The step's limits until an AC-feedback round changes them (then its own copy).
        let mut limits = std::borrow::Cow::Borrowed(inp.limits);
        let mut offsets = vec![0.0; n];
        let mut rounds = 0;
        let mut first_violations = None;
        // The AC check of the uncorrected injections (computed once, in the first round).
        let mut ac_before: Option<Vec<Violation>> = None;
        loop {
            let pred = form.evaluate(&self.feeder, &p0, &q0, &mut self.ws);
            let violations = match &pred {
                Some(pr) => form.violations(&self.feeder, pr, &limits, 1e-9),
                None => Vec::new(),
            };
            let before = first_violations
                .get_or_insert_with(|| violations.clone())
                .clone();
            let (mut o, problem) = if pred.is_some() && violations.is_empty() {
                (self.unoptimised(inp, &p0, pred, Vec::new()), None)
            } else {
                let round = StepInput {
                    limits: &limits,
                    ..inp.clone()
                };
                self.optimise(&round)
            };
            o.violations = before;
            o.ac_feedback_rounds = rounds;
            let (Some(ac), true) = (ac, o.status.is_ok()) else {
                return (o, problem);
            };
            let (p, q) = cleared_injections(inp, &o, n);
            let pm: Vec<f64> = p.iter().map(|v| v * 1e-3).collect();
            let qm: Vec<f64> = q.iter().map(|v| v * 1e-3).collect();
            let ws = self.ac_ws.get_or_insert_with(|| ac.workspace());
            let mut sol = crate::pf::ac::AcSolution::default();
            ac.solve_into(&pm, &qm, &Default::default(), ws, &mut sol);
            let finite = sol.converged && sol.vm_pu.iter().all(|v| v.is_finite());
            let grid = self.feeder.grid;
            if ac_before.is_none() {
                // Unoptimised: this is the AC of the uncorrected injections; otherwise solve it.
                let v = if !o.optimised {
                    let loading = check::loading_percent(grid, &sol);
                    check::ac_check_of(&sol, &loading, grid, &self.spec, None).violations
                } else {
                    let pm: Vec<f64> = p0.iter().map(|v| v * 1e-3).collect();
                    let qm: Vec<f64> = q0.iter().map(|v| v * 1e-3).collect();
                    let mut s0 = crate::pf::ac::AcSolution::default();
                    ac.solve_into(&pm, &qm, &Default::default(), ws, &mut s0);
                    let loading = check::loading_percent(grid, &s0);
                    check::ac_check_of(&s0, &loading, grid, &self.spec, None).violations
                };
                ac_before = Some(v);
            }
            o.ac_violations_before = ac_before.clone().unwrap_or_default();
            if !finite || rounds >= self.spec.ac_feedback_rounds {
                if finite {
                    self.last_ac = Some(sol);
                }
                return (o, problem);
            }
            let tol = 1e-6;
            let mut changed = false;
            // Voltage: where AC is outside the band, shift that node's band by the formulation's
            // error (formulations with voltages).
            if let Some(vm_pred) = &o.predicted_vm_pu {
                let outside = (0..n).any(|k| {
                    let (lo, hi) = inp.limits.v_sq[k];
                    k != grid.slack
                        && (sol.vm_pu[k] > hi.sqrt() + tol || sol.vm_pu[k] < lo.sqrt() - tol)
                });
                if outside {
                    offsets = (0..n).map(|k| sol.vm_pu[k] - vm_pred[k]).collect();
                    changed = true;
                }
            }
            // Thermal: the formulation holds apparent power at nominal voltage (and DC only active
            // power, without losses); AC holds the current. A branch AC finds over its rating gets
            // as its limit the flow the formulation predicted for it, scaled down by the AC ratio
            // (so the next round acts even where the formulation saw no overload); a binding one
            // AC finds below it (a raised
            // voltage carries the same power with less current) is let up to it, so a binding
            // limit comes out at its rating in AC.
            let loading = check::loading_percent(grid, &sol);
            let binding_thermal: Vec<usize> = o
                .binding
                .iter()
                .filter_map(|b| match (b.limit.kind, b.limit.element) {
                    (formulation::LimitKind::Thermal, formulation::Element::Branch(l)) => Some(l),
                    _ => None,
                })
                .collect();
            let mut scaled = limits.s_max_kva.clone();
            for (l, s) in scaled.iter_mut().enumerate() {
                let (Some(s), Some(base)) = (s.as_mut(), inp.limits.s_max_kva[l]) else {
                    continue;
                };
                // The loading AC allows: the plain rating (or the relaxed one) in percent.
                let allowed =
                    (100.0 * base / self.feeder.s_max_kva[l].unwrap_or(base).max(1e-12)).max(100.0);
                if loading[l] > allowed + tol {
                    // The flow the formulation predicted, scaled by the AC ratio: where it did
                    // not predict the overload its limit lies above that flow, and scaling the
                    // limit alone can leave it slack for rounds.
                    let predicted = o
                        .predicted_rated_kva
                        .get(l)
                        .copied()
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .map_or(*s, |v| v.min(*s));
                    *s = predicted * (allowed / loading[l] * (1.0 - 1e-6));
                    changed = true;
                } else if binding_thermal.contains(&l)
                    && loading[l] < allowed - THERMAL_SLACK_PERCENT
                {
                    *s *= (allowed / loading[l].max(1e-9)).min(1.1) * (1.0 - 1e-6);
                    changed = true;
                }
            }
            if !changed {
                self.last_ac = Some(sol);
                return (o, problem);
            }
            let mut next = inp.limits.shifted(&offsets);
            next.s_max_kva = scaled;
            limits = std::borrow::Cow::Owned(next);
            rounds += 1;
        }
    }

    /// The formulation's own power flow of given nodal injections (kW, kvar; generator
    /// convention): the closed-form evaluation where the formulation has one (`dc`,
    /// `lindistflow`), otherwise (`socp`) the optimisation with nothing to curtail or shed,
    /// voltages free in 0–2 p.u. and no thermal limit, so that only losses and the slack's import
    /// are decided. `None` when there is no formulation or it did not solve.
    pub fn power_flow(&mut self, p_kw: &[f64], q_kvar: &[f64]) -> Option<Predicted> {
        let form = self.form?;
        if let Some(pred) = form.evaluate(&self.feeder, p_kw, q_kvar, &mut self.ws) {
            return Some(pred);
        }
        let agents: Vec<Agent> = (0..self.feeder.n_nodes())
            .map(|k| Agent {
                node: k,
                p_kw: p_kw[k],
                q_kvar: q_kvar[k],
                curtailable_kw: 0.0,
                sheddable_kw: 0.0,
                tan_phi: 0.0,
            })
            .collect();
        let mut limits = Limits::new(&self.feeder, 0.0, 2.0);
        limits.s_max_kva.iter_mut().for_each(|s| *s = None);
        let inp = StepInput {
            dt_h: 1.0,
            agents: &agents,
            trades: &[],
            import_per_kwh: 1.0,
            export_per_kwh: 0.0,
            limits: &limits,
            book: None,
        };
        let (o, _) = self.optimise(&inp);
        o.status.is_ok().then_some(Predicted {
            p_from_kw: Arc::unwrap_or_clone(o.predicted_p_kw),
            q_from_kvar: Arc::unwrap_or_clone(o.predicted_q_kvar),
            rated_kva: Arc::unwrap_or_clone(o.predicted_rated_kva),
            vm_pu: o.predicted_vm_pu.map(Arc::unwrap_or_clone),
            socp_max_gap: o.socp_max_gap,
        })
    }

    /// The AC solution of the last [`Corrector::correct`]'s final outcome, when it solved one.
    pub fn take_ac(&mut self) -> Option<crate::pf::ac::AcSolution> {
        self.last_ac.take()
    }

    fn unoptimised(
        &self,
        inp: &StepInput,
        p0: &[f64],
        pred: Option<Predicted>,
        violations: Vec<Violation>,
    ) -> StepOutcome {
        let n = self.feeder.n_nodes();
        let net_import: f64 = -p0.iter().sum::<f64>();
        let energy = if net_import > 0.0 {
            inp.import_per_kwh
        } else {
            inp.export_per_kwh
        };
        let pred = pred.unwrap_or_default();
        let (status, pair_kw) = match inp.book.map(crate::market::pairs::solve_pairs) {
            None => (Status::Solved, Vec::new()),
            Some(Ok(x)) => (Status::Solved, x.iter().map(|e| e / inp.dt_h).collect()),
            Some(Err(st)) => (st, Vec::new()),
        };
        StepOutcome {
            status,
            optimised: false,
            violations,
            ac_violations_before: Vec::new(),
            executed: vec![1.0; inp.trades.len()],
            curt_kw: vec![0.0; n],
            shed_kw: vec![0.0; n],
            agent_curt_kw: vec![0.0; inp.agents.len()],
            agent_shed_kw: vec![0.0; inp.agents.len()],
            lmp_per_kwh: Arc::new(vec![energy; n]),
            energy_per_kwh: energy,
            congestion_per_kwh: Arc::new(vec![0.0; n]),
            voltage_per_kwh: Arc::new(vec![0.0; n]),
            losses_per_kwh: Arc::new(vec![0.0; n]),
            reactive: None,
            binding: Vec::new(),
            predicted_vm_pu: pred.vm_pu.map(Arc::new),
            predicted_p_kw: Arc::new(pred.p_from_kw),
            predicted_q_kvar: Arc::new(pred.q_from_kvar),
            predicted_rated_kva: Arc::new(pred.rated_kva),
            socp_max_gap: None,
            iterations: 0,
            ac_feedback_rounds: 0,
            message: None,
            pair_kw,
        }
    }

    /// Builds and solves the correction problem of a step, whatever the evaluation says (the
    /// optimisation [`Corrector::correct`] runs when a limit is violated).
    pub fn optimise(&self, inp: &StepInput) -> (StepOutcome, Option<Problem>) {
        // SOCP: when the relaxation is not tight (fictitious losses absorb energy, typically with
        // the upper voltage limit binding), raise the cost of losses towards an energy price and
        // solve again: real losses are a few per cent of the flow, so the cost barely moves the
        // decision, while fictitious ones become as dear as the energy they burn.
        let mut opts = StepOptions::default();
        loop {
            let (o, p) = self.optimise_with(inp, &opts);
            let loose = o.socp_max_gap.is_some_and(|g| g > SOCP_GAP_TOL);
            if !loose || !o.status.is_ok() || opts.loss_weight_per_kwh >= SOCP_MAX_LOSS_WEIGHT {
                return (o, p);
            }
            opts.loss_weight_per_kwh = (opts.loss_weight_per_kwh * 10.0).min(SOCP_MAX_LOSS_WEIGHT);
        }
    }

    fn optimise_with(&self, inp: &StepInput, opts: &StepOptions) -> (StepOutcome, Option<Problem>) {
        let n = self.feeder.n_nodes();
        let (p, h) = match self.build_with(inp, opts) {
            Ok(x) => x,
            Err(msg) => {
                let mut o = failed(n, inp, Status::Failed);
                o.message = Some(msg);
                return (o, None);
            }
        };
        let sol = opt::clarabel::solve(&p, &Default::default());
        if !sol.status.is_ok() {
            let mut o = failed(n, inp, sol.status);
            o.iterations = sol.iterations;
            o.message = sol.message.clone();
            return (o, Some(p));
        }
        let Some(form) = self.form else {
            return (failed(n, inp, Status::Failed), Some(p));
        };
        let f = &self.feeder;
        let dt = inp.dt_h;
        let get = |v: Option<VarId>| v.map_or(0.0, |v| sol.x[v].max(0.0));
        let curt_kw: Vec<f64> = h.curt.iter().map(|&v| get(v)).collect();
        let shed_kw: Vec<f64> = h.shed.iter().map(|&v| get(v)).collect();
        let (pp, qp) = formulation::prices(f, &h.rows, &sol, dt);
        let pred = form.read(f, &h.rows, &sol);
        let pair_kw: Vec<f64> = h.pairs.iter().map(|&v| sol.x[v].max(0.0)).collect();
        let alloc = match inp.book {
            Some(book) => {
                let (sold, bought) = book.sold_bought_kw(&pair_kw);
                allocate::allocate_joint(inp, &curt_kw, &shed_kw, &sold, &bought)
            }
            None => allocate::allocate(inp, &curt_kw, &shed_kw),
        };
        let scale = 1e-7 * (1.0 + self.spec.voll_per_kwh) * dt;
        (
            StepOutcome {
                status: sol.status,
                optimised: true,
                violations: Vec::new(),
                ac_violations_before: Vec::new(),
                executed: alloc.executed,
                agent_curt_kw: alloc.curt_kw,
                agent_shed_kw: alloc.shed_kw,
                curt_kw,
                shed_kw,
                lmp_per_kwh: Arc::new(pp.lmp),
                energy_per_kwh: pp.energy,
                congestion_per_kwh: Arc::new(pp.congestion),
                voltage_per_kwh: Arc::new(pp.voltage),
                losses_per_kwh: Arc::new(pp.losses),
                reactive: qp,
                binding: formulation::binding(f, &h.rows, &sol, scale),
                predicted_vm_pu: pred.vm_pu.map(Arc::new),
                predicted_p_kw: Arc::new(pred.p_from_kw),
                predicted_q_kvar: Arc::new(pred.q_from_kvar),
                predicted_rated_kva: Arc::new(pred.rated_kva),
                socp_max_gap: pred.socp_max_gap,
                iterations: sol.iterations,
                ac_feedback_rounds: 0,
                message: None,
                pair_kw,
            },
            Some(p),
        )
    }
}

/// Largest SOCP gap (`socp_max_gap`) accepted as tight.
pub const SOCP_GAP_TOL: f64 = 1e-4;

/// Largest cost on losses the SOCP tightness recovery uses, $/kWh.
pub const SOCP_MAX_LOSS_WEIGHT: f64 = 1.0;

/// How far below its rating (percentage points of loading) AC may find a binding thermal limit
/// before the AC feedback lets it up.
pub const THERMAL_SLACK_PERCENT: f64 = 0.5;

/// Nodal injections (kW, kvar) after a correction's curtailment and shedding.
pub fn cleared_injections(inp: &StepInput, o: &StepOutcome, n: usize) -> (Vec<f64>, Vec<f64>) {
    let (mut p, mut q) = inp.injections(n);
    for (i, a) in inp.agents.iter().enumerate() {
        let (c, s) = (
            o.agent_curt_kw.get(i).copied().unwrap_or(0.0),
            o.agent_shed_kw.get(i).copied().unwrap_or(0.0),
        );
        p[a.node] += s - c;
        q[a.node] += s * a.tan_phi;
    }
    (p, q)
}

/// Outcome when the solver failed: nothing curtailed, trades as proposed, reported as a failure
/// (data, not a panic).
fn failed(n: usize, inp: &StepInput, status: Status) -> StepOutcome {
    StepOutcome {
        status,
        optimised: true,
        violations: Vec::new(),
        ac_violations_before: Vec::new(),
        executed: vec![1.0; inp.trades.len()],
        curt_kw: vec![0.0; n],
        shed_kw: vec![0.0; n],
        agent_curt_kw: vec![0.0; inp.agents.len()],
        agent_shed_kw: vec![0.0; inp.agents.len()],
        lmp_per_kwh: Arc::new(vec![f64::NAN; n]),
        energy_per_kwh: f64::NAN,
        congestion_per_kwh: Arc::new(vec![f64::NAN; n]),
        voltage_per_kwh: Arc::new(vec![f64::NAN; n]),
        losses_per_kwh: Arc::new(vec![f64::NAN; n]),
        reactive: None,
        binding: Vec::new(),
        predicted_vm_pu: None,
        predicted_p_kw: Arc::default(),
        predicted_q_kvar: Arc::default(),
        predicted_rated_kva: Arc::default(),
        socp_max_gap: None,
        iterations: 0,
        ac_feedback_rounds: 0,
        message: None,
        pair_kw: Vec::new(),
    }
}

/// Adds a book's trades to a correction problem: the offers' variables and each prosumer's rows
/// ([`PairBook::add_to`]), and per node the physical link — what the node's sellers sell plus what
/// is curtailed there cannot exceed their surplus, what its buyers buy plus what is shed there
/// cannot exceed their deficit. Trades never enter the power balance (they are financial).
fn add_joint_pairs(
    p: &mut Problem,
    book: &PairBook,
    inp: &StepInput,
    curt: &[Option<VarId>],
    shed: &[Option<VarId>],
) -> Vec<VarId> {
    let dt = inp.dt_h;
    let vars = book.add_to(p, dt);
    let n = curt.len();
    let (mut sells, mut buys) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    let (mut supply, mut demand) = (vec![0.0; n], vec![0.0; n]);
    for (i, a) in inp.agents.iter().enumerate() {
        supply[a.node] += book.supply_kwh.get(i).copied().unwrap_or(0.0) / dt;
        demand[a.node] += book.demand_kwh.get(i).copied().unwrap_or(0.0) / dt;
    }
    for (o, &v) in book.offers.iter().zip(&vars) {
        sells[inp.agents[o.seller].node].push((v, 1.0));
        buys[inp.agents[o.buyer].node].push((v, 1.0));
    }
    for k in 0..n {
        if let (Some(c), false) = (curt[k], sells[k].is_empty()) {
            let mut row = std::mem::take(&mut sells[k]);
            row.push((c, 1.0));
            p.row(Tag::at("sold_or_curtailed", k), Sense::Le, row, supply[k]);
        }
        if let (Some(s), false) = (shed[k], buys[k].is_empty()) {
            let mut row = std::mem::take(&mut buys[k]);
            row.push((s, 1.0));
            p.row(Tag::at("bought_or_shed", k), Sense::Le, row, demand[k]);
        }
    }
    vars
}
