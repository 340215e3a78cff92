//! Network formulations, in the spirit of PowerModels' problem × formulation split: a problem
//! (the per-step correction in [`crate::clearing`], the day-long central optimisation in
//! [`crate::study::central`]) is written once, in terms of nodal injections; a formulation turns
//! those injections into network variables, balance rows and limits. Each formulation lives in one
//! file with everything it means:
//!
//! | formulation | file | network | losses | voltage |
//! |---|---|---|---|---|
//! | `dc` | [`dc`] | radial or meshed (angles) | no | no |
//! | `lindistflow` | [`lindistflow`] | radial | no | linearised, `v = |V|²` |
//! | `socp` | [`socp`] | radial | yes (`r ℓ`) | exact when the relaxation is tight |
//!
//! Each one provides: its variables and rows for one step ([`NetworkFormulation::add_step`]), an
//! **evaluator** of fixed injections ([`NetworkFormulation::evaluate`]: the pre-check that lets a
//! step that already meets every limit skip the solver — built from the same coefficient functions
//! as its rows, so the two cannot disagree), the read-back of predicted flows and voltages from a
//! solution ([`NetworkFormulation::read`]) and its typed limits with their duals. Congestion
//! sensitivities are shared ([`congestion_part`]): every thermal row is linear in a branch's sending-end
//! active flow, whose sensitivity to load at node `i` is a PTDF entry.
//!
//! # Units and signs
//!
//! Injections are affine expressions in kW / kvar in the generator convention (positive into the
//! network). A node's active balance row reads `Σ outflows − Σ injection terms = constant part`,
//! so its dual `∂f*/∂b` is the change of cost per kW more injected; the nodal price of load is
//! `λ_i = −dual/Δt` ($/kWh). Per-unit quantities use `κ = 1/(1000·S_base)` (kW → p.u.).

pub mod dc;
mod distflow;
pub mod lindistflow;
pub mod socp;

use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::opt::{Affine, Problem, RowId, Solution, VarId};
use crate::pf::dc::{DcModel, DcSolution, DcWorkspace};
use crate::pf::ptdf::Ptdf;
use serde::Deserialize;
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The network model (formulation) a study uses; adding one is a variant here, a file in this
/// folder and its line in [`of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NetworkModel {
    /// No correction: limits only reported (by the AC check).
    None,
    /// DC flows and thermal limits.
    Dc,
    /// Linearised DistFlow: P, Q, voltages, thermal limits (radial feeders).
    Lindistflow,
    /// Second-order-cone DistFlow relaxation with losses (radial feeders).
    Socp,
}

/// A feeder as the formulations see it: its electrical model and what is built once per
/// topology (BFS tree, PTDF, the factorised DC model, ratings in kVA).
pub struct Feeder<'a> {
    /// The electrical model.
    pub grid: &'a Grid,
    /// Its topology (shared with the day's other solvers, [`crate::pf::Shared`]).
    pub topo: Arc<Topology>,
    /// Its PTDF (path-based on radial feeders), made when first asked for ([`Feeder::ptdf`]):
    /// only the congestion part of a nodal price reads it, in a step whose thermal limit binds
    /// (at 10⁵ buses the radial PTDF has 1.5 M entries and took a twentieth of a day's run).
    ptdf: std::sync::OnceLock<Ptdf>,
    /// The branches of a radial feeder from the slack outwards, with their drop coefficients
    /// (made on the first call, [`Feeder::edges`]).
    edges: std::sync::OnceLock<Vec<distflow::Edge>>,
    /// The factorised DC model (shared with the power flows of the same grid).
    pub dc: Arc<DcModel>,
    /// Thermal rating per branch at nominal voltage, kVA (`S = √3·vn·i_max`; trafos
    /// `sn·parallel·df`); `None` when unrated.
    pub s_max_kva: Vec<Option<f64>>,
    /// kW → p.u.
    pub kappa: f64,
}

impl<'a> Feeder<'a> {
    /// Builds the per-topology data of a grid.
    pub fn new(grid: &'a Grid) -> Result<Feeder<'a>> {
        Ok(Feeder::with_shared(grid, &crate::pf::Shared::new(grid)?))
    }

    /// [`Feeder::new`] with the grid's DC model and tree already built.
    pub fn with_shared(grid: &'a Grid, shared: &crate::pf::Shared) -> Feeder<'a> {
        let (topo, dc) = (shared.topo.clone(), shared.dc.clone());
        let s_max_kva = grid
            .branches
            .iter()
            .map(|br| {
                br.rating
                    .s_max_mva(grid.nodes[br.from].vn_kv)
                    .map(|s| s * 1000.0)
            })
            .collect();
        Feeder {
            grid,
            topo,
            ptdf: std::sync::OnceLock::new(),
            edges: std::sync::OnceLock::new(),
            dc,
            s_max_kva,
            kappa: 1.0 / (1000.0 * grid.sn_mva),
        }
    }

    /// Number of electrical nodes.
    pub fn n_nodes(&self) -> usize {
        self.grid.n_nodes()
    }

    /// Every node but the slack with the branch from its parent, in BFS order (made on the
    /// first call): the passes of the DistFlow evaluators read this one table instead of the
    /// topology and the branch records.
    fn edges(&self) -> &[distflow::Edge] {
        self.edges.get_or_init(|| distflow::Edge::table(self))
    }

    /// The PTDF (made on the first call).
    pub fn ptdf(&self) -> &Ptdf {
        self.ptdf
            .get_or_init(|| Ptdf::new(self.grid, &self.topo, &self.dc))
    }
}

/// An element a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// A branch (index in [`Grid::branches`]).
    Branch(usize),
    /// A node (index in [`Grid::nodes`]).
    Node(usize),
}

/// What kind of limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// A branch's thermal rating.
    Thermal,
    /// The upper end of the voltage band.
    Vmax,
    /// The lower end of the voltage band.
    Vmin,
}

impl LimitKind {
    /// Its name (the serde name): `thermal`, `vmax`, `vmin`.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Thermal => "thermal",
            LimitKind::Vmax => "vmax",
            LimitKind::Vmin => "vmin",
        }
    }
}

/// A network limit: kind and element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Limit {
    /// Kind.
    pub kind: LimitKind,
    /// Element.
    pub element: Element,
}

impl Limit {
    /// The limit's name in a grid: `thermal line 3`, `vmax bus 12`.
    pub fn describe(&self, grid: &Grid) -> String {
        format!(
            "{} {}",
            self.kind.as_str(),
            element_name(grid, self.element)
        )
    }
}

/// `line 3`, `trafo 0`, `bus 12` (a node is named by its first bus).
pub fn element_name(grid: &Grid, e: Element) -> String {
    match e {
        Element::Branch(l) => grid.branches[l].element.to_string(),
        Element::Node(k) => format!("bus {}", grid.nodes[k].buses[0].0),
    }
}

/// A limit that binds at an optimum, with its shadow price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BindingLimit {
    /// The limit.
    pub limit: Limit,
    /// Its name (`vmax bus 12`).
    pub name: String,
    /// Shadow price: cost saved per unit the limit is relaxed, $ per kW·h of flow or per p.u.²
    /// of voltage over the step (≥ 0).
    pub shadow_price: f64,
}

impl fmt::Display for BindingLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A limit a given state violates, and by how much.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The limit.
    pub limit: Limit,
    /// Its name.
    pub name: String,
    /// The value (loading in %, voltage in p.u.).
    pub value: f64,
    /// The limit (100 %, or the band's end in p.u.).
    pub bound: f64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit.kind {
            LimitKind::Thermal => write!(
                f,
                "{} at {:.1} %",
                element_name_only(&self.name),
                self.value
            ),
            LimitKind::Vmax => write!(
                f,
                "{} at {:.4} pu > {}",
                element_name_only(&self.name),
                self.value,
                self.bound
            ),
            LimitKind::Vmin => write!(
                f,
                "{} at {:.4} pu < {}",
                element_name_only(&self.name),
                self.value,
                self.bound
            ),
        }
    }
}

fn element_name_only(name: &str) -> &str {
    name.split_once(' ').map_or(name, |(_, e)| e)
}

/// The limits a step must keep: a squared-voltage band per node and a rating per branch. Built
/// from the clearing settings, then possibly shifted by the AC error (AC feedback) or relaxed to a
/// reference state ("the market must not worsen a pre-existing violation").
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `(v_min², v_max²)` per node, p.u.² (the slack's is not enforced).
    pub v_sq: Vec<(f64, f64)>,
    /// Rating per branch, kVA.
    pub s_max_kva: Vec<Option<f64>>,
}

impl Limits {
    /// The plain band `[vmin, vmax]` and the feeder's ratings.
    pub fn new(f: &Feeder, vmin_pu: f64, vmax_pu: f64) -> Limits {
        Limits {
            v_sq: vec![(vmin_pu * vmin_pu, vmax_pu * vmax_pu); f.n_nodes()],
            s_max_kva: f.s_max_kva.clone(),
        }
    }

    /// The band shifted per node by how much higher AC found the voltage than the formulation
    /// predicted (`offset_pu`): keep `vmin − off ≤ v ≤ vmax − off`.
    pub fn shifted(&self, offset_pu: &[f64]) -> Limits {
        let mut l = self.clone();
        for (k, b) in l.v_sq.iter_mut().enumerate() {
            let off = offset_pu.get(k).copied().unwrap_or(0.0);
            let (lo, hi) = (b.0.sqrt(), b.1.sqrt());
            *b = ((lo - off).max(0.0).powi(2), (hi - off).max(0.0).powi(2));
        }
        l
    }

    /// Widened so that a reference state (`vm_pu` per node, [`Predicted::rated_kva`] per branch)
    /// is within them: a violation the reference already has may persist, but not grow.
    pub fn relaxed_to(&self, vm_pu: Option<&[f64]>, rated_kva: &[f64]) -> Limits {
        let mut l = self.clone();
        if let Some(vm) = vm_pu {
            for (b, &v) in l.v_sq.iter_mut().zip(vm) {
                let v2 = v * v;
                *b = (b.0.min(v2), b.1.max(v2));
            }
        }
        for (s, &flow) in l.s_max_kva.iter_mut().zip(rated_kva) {
            if let Some(s) = s {
                *s = s.max(flow.abs());
            }
        }
        l
    }
}

/// Settings of a built step besides its limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOptions {
    /// Cost on losses in formulations that have them ($ per kWh lost): a small positive value
    /// keeps the SOCP relaxation tight (the optimum never burns energy in fictitious losses).
    pub loss_weight_per_kwh: f64,
}

impl Default for StepOptions {
    fn default() -> Self {
        StepOptions {
            loss_weight_per_kwh: 1e-4,
        }
    }
}

/// The injection at one node: affine in the problem's variables, kW and kvar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInjection {
    /// Active injection, kW.
    pub p: Affine,
    /// Reactive injection, kvar.
    pub q: Affine,
}

/// How a limit is encoded in a built step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Encoding {
    /// A `≤` row, linear in the branch's from→to flows: `∂row/∂P`, `∂row/∂Q` (0 for voltage
    /// rows).
    Row {
        /// The row.
        row: RowId,
        /// `∂row/∂P_from→to`.
        d_p: f64,
        /// `∂row/∂Q_from→to`.
        d_q: f64,
    },
    /// A rating cone `‖(P, Q)‖ ≤ S` (expressions 1 and 2 are the branch's flows times `scale`,
    /// and `dir` turns them into from→to).
    Cone {
        /// Index in [`crate::opt::Problem::cones`].
        cone: usize,
        /// `±1`: the sign from the cone's flow variables to from→to.
        dir: f64,
        /// Units of the cone's expressions per kW (1, or κ for p.u.).
        scale: f64,
    },
}

/// A limit of a built step and its encoding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitRow {
    /// The limit.
    pub limit: Limit,
    /// How it is encoded.
    pub encoding: Encoding,
}

/// SOCP data of one branch, for the tightness check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConeBranch {
    /// Sending-end active flow.
    pub p: VarId,
    /// Sending-end reactive flow.
    pub q: VarId,
    /// Squared current, p.u.
    pub l: VarId,
    /// Parent's squared voltage.
    pub v_parent: VarId,
    /// Factor on the parent's voltage (`1/τ²` when the parent is the from side, else 1).
    pub a: f64,
}

/// Where a built step's network parts are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepRows {
    /// Active balance row per node.
    pub balance_p: Vec<RowId>,
    /// Reactive balance row per node (empty when the formulation has no Q).
    pub balance_q: Vec<RowId>,
    /// Units of the balance rows per kW (1 for rows in kW, κ for rows in p.u.): a balance dual
    /// times this is `∂f*/∂p` per kW.
    pub balance_scale: f64,
    /// Limits and their encodings.
    pub limits: Vec<LimitRow>,
    /// Per branch: the variable of its active flow and the sign that turns it into from→to.
    pub flow_p: Vec<(VarId, f64)>,
    /// Per branch: its reactive flow variable and sign (empty without Q).
    pub flow_q: Vec<(VarId, f64)>,
    /// Units of the flow variables per kW (1, or κ).
    pub flow_scale: f64,
    /// Squared voltage per node (empty without voltages).
    pub v_sq: Vec<VarId>,
    /// Cone data (SOCP only).
    pub cones: Vec<ConeBranch>,
}

/// The state a formulation predicts for fixed injections or reads from a solution.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Predicted {
    /// Active flow per branch at the sending end, from→to positive, kW.
    pub p_from_kw: Vec<f64>,
    /// Reactive flow per branch at the sending end, kvar (empty in `dc`).
    pub q_from_kvar: Vec<f64>,
    /// Per branch, the flow measure the formulation holds against the rating, kVA: `|P|` in
    /// `dc`, the polygon's gauge in `lindistflow` (so that `rated_kva ≤ S` is exactly its rows),
    /// `√(P² + Q²)` in `socp`.
    pub rated_kva: Vec<f64>,
    /// Voltage magnitude per node, p.u. (formulations with voltages).
    pub vm_pu: Option<Vec<f64>>,
    /// Largest relative SOC gap `(v ℓ − P² − Q²)/(v ℓ)` (SOCP only).
    pub socp_max_gap: Option<f64>,
}

/// Scratch space for [`NetworkFormulation::evaluate`].
pub struct Workspace {
    dc_ws: DcWorkspace,
    dc_sol: DcSolution,
    buf: Vec<f64>,
}

impl Workspace {
    /// A workspace for a feeder.
    pub fn new(f: &Feeder) -> Workspace {
        Workspace {
            dc_ws: f.dc.workspace(),
            dc_sol: DcSolution::default(),
            buf: Vec::new(),
        }
    }
}

/// A network formulation (see the module docs).
pub trait NetworkFormulation: Send + Sync {
    /// Which one.
    fn model(&self) -> NetworkModel;

    /// Whether it can represent this feeder (the DistFlow models need a radial one).
    fn supports(&self, f: &Feeder) -> std::result::Result<(), String>;

    /// Adds one step: network variables, one active (and reactive) balance row per node on the
    /// given injections, and the limits.
    fn add_step(
        &self,
        f: &Feeder,
        p: &mut Problem,
        inj: &[NodeInjection],
        lim: &Limits,
        opts: &StepOptions,
    ) -> StepRows;

    /// Evaluates fixed injections (kW, kvar per node) without optimising. `None` when the
    /// formulation has no exact evaluator (SOCP: always optimise).
    fn evaluate(
        &self,
        f: &Feeder,
        p_kw: &[f64],
        q_kvar: &[f64],
        ws: &mut Workspace,
    ) -> Option<Predicted>;

    /// The predicted state of a solved step.
    fn read(&self, f: &Feeder, rows: &StepRows, sol: &Solution) -> Predicted;

    /// Limits a predicted state violates (tolerance `tol` relative).
    fn violations(&self, f: &Feeder, pred: &Predicted, lim: &Limits, tol: f64) -> Vec<Violation> {
        violations_of(f, pred, lim, tol)
    }
}

/// The formulation of a model (`None` for [`NetworkModel::None`]).
pub fn of(model: NetworkModel) -> Option<&'static dyn NetworkFormulation> {
    match model {
        NetworkModel::None => None,
        NetworkModel::Dc => Some(&dc::Dc),
        NetworkModel::Lindistflow => Some(&lindistflow::LinDistFlow),
        NetworkModel::Socp => Some(&socp::Socp),
    }
}

/// Limits violated by a predicted state: the voltage band per node (not the slack) and the
/// apparent flow against each rating.
pub fn violations_of(f: &Feeder, pred: &Predicted, lim: &Limits, tol: f64) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(vm) = &pred.vm_pu {
        for (k, &v) in vm.iter().enumerate() {
            if k == f.grid.slack {
                continue;
            }
            let (lo, hi) = lim.v_sq[k];
            let v2 = v * v;
            for (kind, bad, bound) in [
                (LimitKind::Vmax, v2 > hi * (1.0 + tol), hi.sqrt()),
                (LimitKind::Vmin, v2 < lo * (1.0 - tol), lo.sqrt()),
            ] {
                if bad {
                    let limit = Limit {
                        kind,
                        element: Element::Node(k),
                    };
                    out.push(Violation {
                        name: limit.describe(f.grid),
                        limit,
                        value: v,
                        bound,
                    });
                }
            }
        }
    }
    for (l, s) in lim.s_max_kva.iter().enumerate() {
        let (Some(s), Some(&flow)) = (s, pred.rated_kva.get(l)) else {
            continue;
        };
        if flow > s * (1.0 + tol) {
            let limit = Limit {
                kind: LimitKind::Thermal,
                element: Element::Branch(l),
            };
            out.push(Violation {
                name: limit.describe(f.grid),
                limit,
                value: 100.0 * flow / s,
                bound: 100.0,
            });
        }
    }
    out
}

/// The shadow price of a limit at a solution: the cost saved per unit it is relaxed (≥ 0), in $
/// per unit of its row over the step.
fn shadow(lr: &LimitRow, sol: &Solution) -> f64 {
    match lr.encoding {
        Encoding::Row { row, .. } => -sol.dual[row],
        Encoding::Cone { cone, .. } => sol
            .cone_dual
            .get(cone)
            .and_then(|d| d.first())
            .map_or(0.0, |d| -d),
    }
}

/// Binding limits of a solved step: limits whose shadow price exceeds `tol`.
pub fn binding(f: &Feeder, rows: &StepRows, sol: &Solution, tol: f64) -> Vec<BindingLimit> {
    let mut out: Vec<BindingLimit> = Vec::new();
    for lr in &rows.limits {
        let d = shadow(lr, sol);
        if d.abs() <= tol {
            continue;
        }
        // Several rows (polygon facets) can encode one limit: report it once, with the
        // largest shadow price.
        if let Some(b) = out.iter_mut().find(|b| b.limit == lr.limit) {
            b.shadow_price = b.shadow_price.max(d);
            continue;
        }
        out.push(BindingLimit {
            limit: lr.limit,
            name: lr.limit.describe(f.grid),
            shadow_price: d,
        });
    }
    out
}

/// A nodal price and its parts, $/kWh (active) or $/kvarh (reactive), per node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PriceParts {
    /// The nodal price: the cost of one more unit of load at the node.
    pub lmp: Vec<f64>,
    /// Energy part: the slack's price.
    pub energy: f64,
    /// Congestion part: thermal limits.
    pub congestion: Vec<f64>,
    /// Voltage part: the voltage band.
    pub voltage: Vec<f64>,
    /// Losses (and, in `socp`, the second-order terms the linear sensitivities leave out): the
    /// rest, so that `lmp = energy + losses + congestion + voltage` exactly.
    pub losses: Vec<f64>,
}

/// Active and reactive nodal prices of a solved step, decomposed (as MESMO does): energy at the
/// slack, congestion from the thermal duals times PTDF sensitivities, voltage from the band's
/// duals times LinDistFlow voltage sensitivities ([`voltage_part`]), and losses as the rest.
pub fn prices(
    f: &Feeder,
    rows: &StepRows,
    sol: &Solution,
    dt_h: f64,
) -> (PriceParts, Option<PriceParts>) {
    let lmp_of = |balance: &[RowId]| -> Vec<f64> {
        balance
            .iter()
            .map(|&r| -sol.dual[r] * rows.balance_scale / dt_h)
            .collect()
    };
    let w = voltage_weights(f, rows, sol);
    let build = |lmp: Vec<f64>, reactive: bool| {
        let energy = lmp[f.grid.slack];
        let congestion = congestion_part(f, rows, sol, dt_h, reactive);
        let voltage = match &w {
            Some(w) => voltage_part(f, w, reactive)
                .into_iter()
                .map(|v| v / dt_h)
                .collect(),
            None => vec![0.0; lmp.len()],
        };
        let losses = (0..lmp.len())
            .map(|i| lmp[i] - energy - congestion[i] - voltage[i])
            .collect();
        PriceParts {
            lmp,
            energy,
            congestion,
            voltage,
            losses,
        }
    };
    let p = build(lmp_of(&rows.balance_p), false);
    let q = (!rows.balance_q.is_empty()).then(|| build(lmp_of(&rows.balance_q), true));
    (p, q)
}

/// Per node, `w_k = d_vmax,k − d_vmin,k`: the band duals (∂f*/∂rhs, $ per p.u.² over the step).
fn voltage_weights(f: &Feeder, rows: &StepRows, sol: &Solution) -> Option<Vec<f64>> {
    if rows.v_sq.is_empty() {
        return None;
    }
    let mut w = vec![0.0; f.n_nodes()];
    for lr in &rows.limits {
        let (Element::Node(k), Encoding::Row { row, .. }) = (lr.limit.element, lr.encoding) else {
            continue;
        };
        match lr.limit.kind {
            LimitKind::Vmax => w[k] += sol.dual[row],
            LimitKind::Vmin => w[k] -= sol.dual[row],
            LimitKind::Thermal => {}
        }
    }
    Some(w)
}

/// The voltage part of the nodal prices of load (per step, $ per kW or kvar): `Σ_k w_k ∂v_k/∂p_i`
/// with LinDistFlow's sensitivities on the tree, in two passes: bottom-up
/// `W(c) = w_c + Σ_children a_m W(d)`, top-down `part_i = Σ_{l on path(i)} s_l 2κ r_l W(child(l))`
/// (`x_l` for reactive power). Exact for LinDistFlow; for SOCP the linear part of it.
pub fn voltage_part(f: &Feeder, w: &[f64], reactive: bool) -> Vec<f64> {
    let n = f.n_nodes();
    let mut big_w = w.to_vec();
    for e in f.edges().iter().rev() {
        // W(parent) gains a_(branch into k) · W(k): a deeper node's voltage follows its
        // parent's scaled by the branch's a.
        big_w[e.par as usize] += e.drop.a * big_w[e.k as usize];
    }
    let mut part = vec![0.0; n];
    for e in f.edges() {
        let (k, par, d) = (e.k as usize, e.par as usize, e.drop);
        let c = if reactive { d.x } else { d.r };
        // More load at i raises the flow P_l into i's subtree by 1 kW, which lowers v below it
        // by s·2κ·r per kW, scaled down the tree by the a's (W(k) holds them).
        part[k] = part[par] + d.s * 2.0 * f.kappa * c * big_w[k];
    }
    part
}

/// Congestion part of the nodal prices of load ($/kWh, or $/kvarh when `reactive`): for every
/// thermal limit, its dual times the sensitivity of its flow to load at node `i`,
/// `∂P_l/∂load_i = −PTDF[l, i]` (the same incidence for reactive power on a radial feeder).
pub fn congestion_part(
    f: &Feeder,
    rows: &StepRows,
    sol: &Solution,
    dt_h: f64,
    reactive: bool,
) -> Vec<f64> {
    let mut out = vec![0.0; f.n_nodes()];
    for lr in &rows.limits {
        let (LimitKind::Thermal, Element::Branch(l)) = (lr.limit.kind, lr.limit.element) else {
            continue;
        };
        // Δf per kW more flow from→to on branch l.
        let df_dflow = match lr.encoding {
            Encoding::Row { row, d_p, d_q } => {
                let d = sol.dual[row];
                // A flow change δ acts like the rhs falling by ∂row/∂flow·δ.
                -d * if reactive { d_q } else { d_p }
            }
            Encoding::Cone { cone, dir, scale } => {
                let Some(cd) = sol.cone_dual.get(cone) else {
                    continue;
                };
                let j = if reactive { 2 } else { 1 };
                // Expression j = flow·scale (in the cone's variable orientation).
                cd.get(j).copied().unwrap_or(0.0) * dir * scale
            }
        };
        if df_dflow.abs() < 1e-15 {
            continue;
        }
        if let Some(row) = f.ptdf().matrix.outer_view(l) {
            for (i, &v) in row.iter() {
                // ∂flow/∂load_i = −PTDF; λ = ∂f/∂load / Δt.
                out[i] += df_dflow * (-v) / dt_h;
            }
        }
    }
    out
}
