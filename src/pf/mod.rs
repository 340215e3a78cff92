//! Power flow: DC (susceptance matrix, sparse Cholesky), PTDF, and AC (Newton–Raphson).
//!
//! All three work on the electrical model ([`Grid`]) and take nodal injections in the
//! **generator convention** (MW/Mvar, positive into the network). Their node/branch solutions are
//! turned into the user's tables (per bus, per line, per trafo, the slack) by [`PfReport`], with
//! pandapower's result semantics: currents `i = |S| / (√3·vm·vn_kv)` at each end, line loading
//! against `max_i_ka·df·parallel`, trafo loading by current against the rated voltages.

pub mod ac;
pub mod dc;
pub mod ptdf;
pub mod radial;

use crate::network::electrical::{BranchElement, Grid};
use crate::network::topology::Topology;
use crate::network::{BusId, LineId, Network, TrafoId};
use serde::Serialize;
use std::sync::Arc;

/// What a day builds once per grid and every solver of it shares: the BFS tree
/// ([`Topology`]: the correction's formulations, the radial AC method, the network charges) and
/// the DC factorisation ([`dc::DcModel`]: the correction, the power flows, the AC start point).
/// At 10⁵ buses each is several MB and a measurable share of the day; built once, not per
/// solver.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The factorised DC model.
    pub dc: Arc<dc::DcModel>,
    /// The BFS tree from the slack.
    pub topo: Arc<Topology>,
}

impl Shared {
    /// Builds both for `grid` (fails as [`dc::DcModel::new`] does).
    pub fn new(grid: &Grid) -> crate::Result<Shared> {
        Ok(Shared {
            dc: Arc::new(dc::DcModel::new(grid)?),
            topo: Arc::new(Topology::new(grid)),
        })
    }
}

/// Which power-flow model to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PfModel {
    /// Linear, lossless, angles only (pandapower `rundcpp`).
    Dc,
    /// Full AC Newton–Raphson (pandapower `runpp`).
    Ac,
    /// LinDistFlow (Baran & Wu's linearised branch flow): the clearing's default formulation,
    /// lossless, voltages from the linear drop (angles not modelled: 0).
    Lindistflow,
    /// The SOCP relaxation of the branch-flow model (Farivar & Low), solved with nothing to
    /// curtail: losses and voltages as the clearing's `socp` sees them (angles not modelled: 0).
    Socp,
}

/// Result for one user bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusResult {
    /// The bus.
    pub bus: BusId,
    /// Voltage magnitude, p.u. (1.0 in DC). NaN for a dropped bus.
    pub vm_pu: f64,
    /// Voltage angle, degrees (includes trafo phase shifts). NaN for a dropped bus.
    pub va_degree: f64,
    /// Net injection at the bus's node in the generator convention, MW (shared by fused buses:
    /// reported on the node's first bus, 0 on the others).
    pub p_inj_mw: f64,
    /// Net reactive injection, Mvar (generator convention; 0 in DC).
    pub q_inj_mvar: f64,
}

/// Result for one line or trafo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchResult {
    /// `line` or `trafo` or `switch`.
    pub kind: &'static str,
    /// Id from the file.
    pub id: i64,
    /// Active power entering at the from (HV) end, MW.
    pub p_from_mw: f64,
    /// Reactive power entering at the from end, Mvar.
    pub q_from_mvar: f64,
    /// Active power entering at the to (LV) end, MW.
    pub p_to_mw: f64,
    /// Reactive power entering at the to end, Mvar.
    pub q_to_mvar: f64,
    /// Active losses, MW.
    pub pl_mw: f64,
    /// Reactive losses, Mvar.
    pub ql_mvar: f64,
    /// Current at the from end, kA.
    pub i_from_ka: f64,
    /// Current at the to end, kA.
    pub i_to_ka: f64,
    /// Loading, % of the thermal rating.
    pub loading_percent: f64,
}

/// A power-flow result in user terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PfReport {
    /// Feeder name.
    pub network: String,
    /// Model used.
    pub model: PfModel,
    /// Whether the solution converged (always true for DC).
    pub converged: bool,
    /// Newton iterations (0 for DC).
    pub iterations: usize,
    /// Power drawn from the upstream grid at the slack, MW (positive = import).
    pub slack_p_mw: f64,
    /// Reactive power drawn from the upstream grid, Mvar (0 in DC).
    pub slack_q_mvar: f64,
    /// Total active losses, MW (0 in DC).
    pub losses_mw: f64,
    /// One row per user bus, in file order.
    pub buses: Vec<BusResult>,
    /// Lines in file order, then trafos (out-of-service elements omitted).
    pub branches: Vec<BranchResult>,
}

impl PfReport {
    /// Highest line loading, %.
    pub fn max_line_loading_percent(&self) -> f64 {
        self.max_loading("line")
    }
    /// Highest trafo loading, %.
    pub fn max_trafo_loading_percent(&self) -> f64 {
        self.max_loading("trafo")
    }
    fn max_loading(&self, kind: &str) -> f64 {
        self.branches
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.loading_percent)
            .fold(0.0, f64::max)
    }
    /// Lowest and highest bus voltage, p.u. (over buses in the model).
    pub fn vm_range_pu(&self) -> (f64, f64) {
        self.buses
            .iter()
            .filter(|b| b.vm_pu.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), b| {
                (lo.min(b.vm_pu), hi.max(b.vm_pu))
            })
    }
    /// The row for a line.
    pub fn line(&self, id: LineId) -> Option<&BranchResult> {
        self.branches
            .iter()
            .find(|b| b.kind == "line" && b.id == id.0)
    }
    /// The row for a trafo.
    pub fn trafo(&self, id: TrafoId) -> Option<&BranchResult> {
        self.branches
            .iter()
            .find(|b| b.kind == "trafo" && b.id == id.0)
    }
    /// The row for a bus.
    pub fn bus(&self, id: BusId) -> Option<&BusResult> {
        self.buses.iter().find(|b| b.bus == id)
    }
}

/// Per-node and per-branch quantities a solver produces; [`NodalSolution::report`] maps them to
/// the user's tables.
#[derive(Debug, Clone)]
pub(crate) struct NodalSolution<'a> {
    pub model: PfModel,
    pub converged: bool,
    pub iterations: usize,
    pub vm_pu: &'a [f64],
    pub va_rad: &'a [f64],
    pub p_inj_mw: &'a [f64],
    pub q_inj_mvar: &'a [f64],
    /// (p_from, q_from, p_to, q_to) per branch, MW/Mvar.
    pub flows: &'a [[f64; 4]],
    pub slack_p_mw: f64,
    pub slack_q_mvar: f64,
}

impl NodalSolution<'_> {
    pub(crate) fn report(&self, net: &Network, grid: &Grid) -> PfReport {
        let mut buses = Vec::with_capacity(net.buses.len());
        let mut first_of_node = vec![true; grid.n_nodes()];
        for b in &net.buses {
            match grid.node_of_bus(b.id) {
                Some(k) => {
                    let first = std::mem::replace(&mut first_of_node[k], false);
                    buses.push(BusResult {
                        bus: b.id,
                        vm_pu: self.vm_pu[k],
                        va_degree: self.va_rad[k].to_degrees(),
                        p_inj_mw: if first { self.p_inj_mw[k] } else { 0.0 },
                        q_inj_mvar: if first { self.q_inj_mvar[k] } else { 0.0 },
                    });
                }
                None => buses.push(BusResult {
                    bus: b.id,
                    vm_pu: f64::NAN,
                    va_degree: f64::NAN,
                    p_inj_mw: 0.0,
                    q_inj_mvar: 0.0,
                }),
            }
        }
        let mut branches = Vec::with_capacity(grid.branches.len());
        let mut losses = 0.0;
        for (i, br) in grid.branches.iter().enumerate() {
            let [pf, qf, pt, qt] = self.flows[i];
            let (i_from, i_to, loading_percent) =
                grid.branch_currents(i, self.flows[i], self.vm_pu[br.from], self.vm_pu[br.to]);
            let (kind, id) = match br.element {
                BranchElement::Line(l) => ("line", l.0),
                BranchElement::Trafo(t) => ("trafo", t.0),
                BranchElement::Switch(s) => ("switch", s.0),
            };
            losses += pf + pt;
            branches.push(BranchResult {
                kind,
                id,
                p_from_mw: pf,
                q_from_mvar: qf,
                p_to_mw: pt,
                q_to_mvar: qt,
                pl_mw: pf + pt,
                ql_mvar: qf + qt,
                i_from_ka: i_from,
                i_to_ka: i_to,
                loading_percent,
            });
        }
        PfReport {
            network: grid.name.clone(),
            model: self.model,
            converged: self.converged,
            iterations: self.iterations,
            slack_p_mw: self.slack_p_mw,
            slack_q_mvar: self.slack_q_mvar,
            losses_mw: losses,
            buses,
            branches,
        }
    }
}

/// Reads nodal injections from a CSV file in the **generator convention**: a `bus` column plus
/// `p_mw` or `p_kw`, and optionally `q_mvar` or `q_kvar`. Several rows for one bus add up; buses
/// not listed inject nothing. A bus that is unknown or not connected to the slack is an error
/// naming the row.
pub fn read_injections(
    path: &std::path::Path,
    grid: &Grid,
    net: &Network,
) -> crate::Result<crate::network::electrical::Injections> {
    let text = crate::util::limits::read_text(path, crate::util::limits::MAX_DATA_BYTES)?;
    parse_injections(&path.display().to_string(), &text, grid, net)
}

/// The rules of an injection file beyond its columns: exactly one unit per quantity (`p_mw` or
/// `p_kw`, `q_mvar` or `q_kvar`: with both, one would be silently ignored), and every value within [`crate::util::limits::MAX_INJECTION_MW`] so that no sum of
/// them overflows.
fn check_injections(t: &crate::table::Table) -> crate::Result<()> {
    use crate::error::Error;
    for (a, b, scale) in [("p_mw", "p_kw", 1e-3), ("q_mvar", "q_kvar", 1e-3)] {
        if t.has_column(a) && t.has_column(b) {
            return Err(Error::invalid(
                t.loc().row(1).field(b),
                format!("both `{a}` and `{b}`: give each quantity in one unit only"),
            ));
        }
        for (col, s) in [(a, 1.0), (b, scale)] {
            if !t.has_column(col) {
                continue;
            }
            for row in t.rows() {
                if let Some(v) = row.opt_f64(col)? {
                    if (v * s).abs() > crate::util::limits::MAX_INJECTION_MW {
                        return Err(Error::OutOfRange {
                            loc: row.loc(col),
                            value: v,
                            requirement: "within ±10,000 MW (netclear's limit for one injection)",
                        });
                    }
                }
            }
        }
    }
    if t.len() > crate::util::limits::MAX_BUSES * 10 {
        return Err(crate::util::limits::exceeded(
            t.loc(),
            "the number of injection rows",
            t.len(),
            crate::util::limits::MAX_BUSES * 10,
        ));
    }
    Ok(())
}

/// [`read_injections`] on text already in memory (`file` names it in errors).
pub fn parse_injections(
    file: &str,
    text: &str,
    grid: &Grid,
    net: &Network,
) -> crate::Result<crate::network::electrical::Injections> {
    use crate::error::Error;
    let t = crate::table::Table::parse(file, text)?;
    t.require_columns(&["bus"])?;
    check_injections(&t)?;
    let (p_col, p_scale) = if t.has_column("p_mw") {
        ("p_mw", 1.0)
    } else if t.has_column("p_kw") {
        ("p_kw", 1e-3)
    } else {
        return Err(Error::MissingColumn {
            loc: t.loc(),
            column: "p_mw (or p_kw)".into(),
        });
    };
    let q = if t.has_column("q_mvar") {
        Some(("q_mvar", 1.0))
    } else if t.has_column("q_kvar") {
        Some(("q_kvar", 1e-3))
    } else {
        None
    };
    let mut inj = crate::network::electrical::Injections::zeros(grid.n_nodes());
    for row in t.rows() {
        let bus = BusId(row.int("bus")?);
        if net.bus_index(bus).is_none() {
            return Err(Error::UnknownBus {
                loc: row.loc("bus"),
                bus: bus.0,
            });
        }
        let Some(k) = grid.node_of_bus(bus) else {
            return Err(Error::invalid(
                row.loc("bus"),
                format!("{bus} is out of service or not connected to the slack"),
            ));
        };
        inj.p_mw[k] += row.f64(p_col)? * p_scale;
        if let Some((c, s)) = q {
            inj.q_mvar[k] += row.f64_or(c, 0.0)? * s;
        }
    }
    Ok(inj)
}
