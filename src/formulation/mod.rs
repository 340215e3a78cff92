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
//! sensitivities are shared ([`congestion`]): every thermal row is linear in a branch's sending-end
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

use serde::Deserialize;
use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::opt::{Affine, Problem, RowId, Solution, VarId};
use crate::pf::dc::{DcModel, DcSolution, DcWorkspace};
use crate::pf::ptdf::Ptdf;
use serde::Serialize;
use std::fmt;

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
    /// Its topology.
    pub topo: Topology,
    /// Its PTDF (path-based on radial feeders).
    pub ptdf: Ptdf,
    /// The factorised DC model.
    pub dc: DcModel,
    /// Thermal rating per branch at nominal voltage, kVA (`S = √3·vn·i_max`; trafos
    /// `sn·parallel·df`); `None` when unrated.
    pub s_max_kva: Vec<Option<f64>>,
    /// kW → p.u.
    pub kappa: f64,
}

impl<'a> Feeder<'a> {
    /// Builds the per-topology data of a grid.
    pub fn new(grid: &'a Grid) -> Result<Feeder<'a>> {
        let topo = Topology::new(grid);
        let dc = DcModel::new(grid)?;
        let ptdf = Ptdf::new(grid, &topo, &dc);
        let s_max_kva = grid
            .branches
            .iter()
            .map(|br| {
                br.rating
                    .s_max_mva(grid.nodes[br.from].vn_kv)
                    .map(|s| s * 1000.0)
            })
            .collect();
        Ok(Feeder {
            grid,
            topo,
            ptdf,
            dc,
            s_max_kva,
            kappa: 1.0 / (1000.0 * grid.sn_mva),
        })
    }

    /// Number of electrical nodes.
    pub fn n_nodes(&self) -> usize {
        self.grid.n_nodes()
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

/// The injection at one node: affine in the problem's variables, kW and kvar.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInjection {
    /// Active injection, kW.
    pub p: Affine,
    /// Reactive injection, kvar.
    pub q: Affine,
}

/// A limit row of a built step and how it depends on its branch's sending-end active flow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitRow {
    /// The row.
    pub row: RowId,
    /// The limit it encodes.
    pub limit: Limit,
    /// `∂row/∂P` where `P` is the branch's active flow from→to, kW (0 for voltage rows).
    pub d_row_d_p: f64,
}

/// SOCP data of one branch, for the tightness check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConeBranch {
    /// Sending-end active flow (kW).
    pub p: VarId,
    /// Sending-end reactive flow (kvar).
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
    /// Limit rows.
    pub limits: Vec<LimitRow>,
    /// Per branch: the variable of its active flow and the sign that turns it into from→to.
    pub flow_p: Vec<(VarId, f64)>,
    /// Per branch: its reactive flow variable and sign (empty without Q).
    pub flow_q: Vec<(VarId, f64)>,
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

/// Binding limits of a solved step: limit rows whose dual exceeds `tol` in magnitude.
pub fn binding(f: &Feeder, rows: &StepRows, sol: &Solution, tol: f64) -> Vec<BindingLimit> {
    let mut out: Vec<BindingLimit> = Vec::new();
    for lr in &rows.limits {
        let d = sol.dual[lr.row];
        if d.abs() <= tol {
            continue;
        }
        // Several rows (polygon facets) can encode one limit: report it once, with the
        // largest shadow price.
        if let Some(b) = out.iter_mut().find(|b| b.limit == lr.limit) {
            b.shadow_price = b.shadow_price.max(-d);
            continue;
        }
        out.push(BindingLimit {
            limit: lr.limit,
            name: lr.limit.describe(f.grid),
            shadow_price: -d,
        });
    }
    out
}

/// Congestion part of the nodal prices ($/kWh per node): `−Σ_r dual_r · ∂row_r/∂P_l ·
/// ∂P_l/∂load_i / Δt` over the thermal rows, where `∂P_l/∂load_i = −PTDF[l, i]`.
pub fn congestion(f: &Feeder, rows: &StepRows, sol: &Solution, dt_h: f64) -> Vec<f64> {
    let mut out = vec![0.0; f.n_nodes()];
    for lr in &rows.limits {
        let (LimitKind::Thermal, Element::Branch(l)) = (lr.limit.kind, lr.limit.element) else {
            continue;
        };
        let d = sol.dual[lr.row];
        if d.abs() < 1e-12 || lr.d_row_d_p == 0.0 {
            continue;
        }
        if let Some(row) = f.ptdf.matrix.outer_view(l) {
            for (i, &v) in row.iter() {
                out[i] += -d * lr.d_row_d_p * (-v) / dt_h;
            }
        }
    }
    out
}
