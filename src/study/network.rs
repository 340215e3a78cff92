//! The network of each step of each case — **one truth**: one power flow per case-step of the
//! final (cleared) injections, AC when the AC check is on and it converges, DC otherwise, and the
//! model that produced it recorded. The KPIs, `lines.csv`, `line_loading.csv`,
//! `bus_voltages.csv` and the report's map all read this, nothing else.
//!
//! The P2P case shares the baseline's result (an `Arc`) in every step whose injections are
//! identical, which they are whenever nothing flexible responded to the market.

use crate::clearing::check;
use crate::clearing::ClearingSpec;
use crate::formulation::Violation;
use crate::network::electrical::{BranchElement, Grid, Injections};
use crate::network::Network;
use crate::pf::ac::{AcModel, AcSolution};
use crate::pf::dc::{DcModel, DcSolution, DcWorkspace};
use serde::Serialize;
use std::sync::Arc;

/// Which power flow produced a step's network result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowModel {
    /// AC Newton–Raphson (losses, voltages, reactive power).
    Ac,
    /// DC (lossless, no voltages): AC off, or AC did not converge.
    Dc,
}

/// The network in one step of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepNetwork {
    /// Which power flow.
    pub model: FlowModel,
    /// Whether AC was attempted and did not converge (the result is then DC).
    pub ac_failed: bool,
    /// Power drawn from the upstream grid at the slack, kW (with losses in AC).
    pub slack_import_kw: f64,
    /// The community's net consumption, lossless (`−Σ injections`), kW.
    pub net_import_kw: f64,
    /// Active losses, kW (0 in DC).
    pub losses_kw: f64,
    /// Voltage per node, p.u. (empty in DC).
    #[serde(skip)]
    pub vm_pu: Vec<f64>,
    /// Active flow at each branch's from end, kW.
    #[serde(skip)]
    pub p_from_kw: Vec<f64>,
    /// Loading per branch, %.
    #[serde(skip)]
    pub loading_percent: Vec<f64>,
    /// Highest line loading, %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: f64,
    /// Lowest voltage, p.u. (AC only).
    pub vmin_pu: Option<f64>,
    /// Highest voltage, p.u. (AC only).
    pub vmax_pu: Option<f64>,
    /// Limits violated (thermal in DC; voltage band and thermal in AC).
    pub violations: Vec<Violation>,
    /// The per-node and per-branch vectors were dropped once the step had read them
    /// ([`StepNetwork::summarised`]): such a result is the same physics as another only when it
    /// is the same result (`Arc::ptr_eq`), as the day loop keeps equal results one.
    #[serde(skip)]
    pub summarised: bool,
}

impl StepNetwork {
    /// The result without its per-node voltages, per-branch flows and loadings: what
    /// [`super::Retention::Totals`] keeps of a step once its branch peaks are folded in
    /// ([`BranchPeaks`]) — the scalars and the violations.
    pub fn summarised(&self) -> StepNetwork {
        StepNetwork {
            model: self.model,
            ac_failed: self.ac_failed,
            slack_import_kw: self.slack_import_kw,
            net_import_kw: self.net_import_kw,
            losses_kw: self.losses_kw,
            vm_pu: Vec::new(),
            p_from_kw: Vec::new(),
            loading_percent: Vec::new(),
            max_line_loading_percent: self.max_line_loading_percent,
            max_trafo_loading_percent: self.max_trafo_loading_percent,
            vmin_pu: self.vmin_pu,
            vmax_pu: self.vmax_pu,
            violations: self.violations.clone(),
            summarised: true,
        }
    }
    /// Names of the branches above 100 %.
    pub fn overloaded(&self) -> impl Iterator<Item = &str> {
        self.violations
            .iter()
            .filter(|v| v.limit.kind == crate::formulation::LimitKind::Thermal)
            .map(|v| v.name.split_once(' ').map_or(v.name.as_str(), |x| x.1))
    }
}

/// Per-topology solvers and workspaces for the network results.
pub struct Solvers {
    ac: Option<AcModel>,
    ac_ws: Option<crate::pf::ac::AcWorkspace>,
    ac_sol: AcSolution,
    dc: Arc<DcModel>,
    dc_ws: DcWorkspace,
    dc_sol: DcSolution,
    spec: ClearingSpec,
}

impl Solvers {
    /// Solvers for a grid (AC only when the AC check is on).
    pub fn new(grid: &Grid, spec: &ClearingSpec) -> crate::Result<Solvers> {
        Solvers::with_shared(grid, spec, &crate::pf::Shared::new(grid)?)
    }

    /// [`Solvers::new`] with the grid's DC model and tree already built.
    pub fn with_shared(
        grid: &Grid,
        spec: &ClearingSpec,
        shared: &crate::pf::Shared,
    ) -> crate::Result<Solvers> {
        let dc = shared.dc.clone();
        let ac = if spec.ac_check {
            Some(AcModel::with_shared(grid, shared)?)
        } else {
            None
        };
        Ok(Solvers {
            ac_ws: ac.as_ref().map(AcModel::workspace),
            ac_sol: AcSolution::default(),
            ac,
            dc_ws: dc.workspace(),
            dc,
            dc_sol: DcSolution::default(),
            spec: *spec,
        })
    }

    /// The AC model, when the AC check is on.
    pub fn ac(&self) -> Option<&AcModel> {
        self.ac.as_ref()
    }

    /// The network result of injections; `known` is an AC solution of exactly these injections
    /// computed elsewhere (the clearing's AC feedback), reused instead of solving again.
    pub fn solve(
        &mut self,
        grid: &Grid,
        inj: &Injections,
        known: Option<AcSolution>,
    ) -> StepNetwork {
        let net_import_kw = -inj.p_mw.iter().sum::<f64>() * 1e3;
        let mut ac_failed = false;
        if let (Some(ac), Some(ws)) = (&self.ac, self.ac_ws.as_mut()) {
            // A time series on one topology: warm-started, the radial method on radial feeders
            // (Newton–Raphson on meshed ones or when it fails).
            // The solution is read in place: the step keeps its voltages and from-end flows only.
            let sol = match &known {
                Some(s) => s,
                None => {
                    ac.solve_into(
                        &inj.p_mw,
                        &inj.q_mvar,
                        &Default::default(),
                        ws,
                        &mut self.ac_sol,
                    );
                    &self.ac_sol
                }
            };
            let loading = check::loading_percent(grid, sol);
            let chk = check::ac_check_of(sol, &loading, grid, &self.spec, None);
            if chk.converged {
                let (ml, mt) = max_by_kind(grid, &loading);
                return StepNetwork {
                    model: FlowModel::Ac,
                    ac_failed: false,
                    slack_import_kw: sol.slack_p_mw * 1e3,
                    net_import_kw,
                    losses_kw: chk.losses_kw,
                    p_from_kw: sol.flows.iter().map(|f| f[0] * 1e3).collect(),
                    vm_pu: sol.vm_pu.clone(),
                    loading_percent: loading,
                    max_line_loading_percent: ml,
                    max_trafo_loading_percent: mt,
                    vmin_pu: Some(chk.vmin_pu),
                    vmax_pu: Some(chk.vmax_pu),
                    violations: chk.violations,
                    summarised: false,
                };
            }
            ac_failed = true;
        }
        self.dc
            .solve_into(&inj.p_mw, &mut self.dc_ws, &mut self.dc_sol);
        let loading: Vec<f64> = (0..grid.branches.len())
            .map(|l| {
                let pf = self.dc_sol.p_from_mw[l];
                grid.branch_currents(l, [pf, 0.0, -pf, 0.0], 1.0, 1.0).2
            })
            .collect();
        let (ml, mt) = max_by_kind(grid, &loading);
        let violations = loading
            .iter()
            .enumerate()
            .filter(|(_, &v)| v > 100.0 + 1e-9)
            .map(|(l, &v)| {
                let limit = crate::formulation::Limit {
                    kind: crate::formulation::LimitKind::Thermal,
                    element: crate::formulation::Element::Branch(l),
                };
                Violation {
                    name: limit.describe(grid),
                    limit,
                    value: v,
                    bound: 100.0,
                }
            })
            .collect();
        StepNetwork {
            model: FlowModel::Dc,
            ac_failed,
            slack_import_kw: self.dc_sol.slack_p_mw * 1e3,
            net_import_kw,
            losses_kw: 0.0,
            vm_pu: Vec::new(),
            p_from_kw: self.dc_sol.p_from_mw.iter().map(|v| v * 1e3).collect(),
            loading_percent: loading,
            max_line_loading_percent: ml,
            max_trafo_loading_percent: mt,
            vmin_pu: None,
            vmax_pu: None,
            violations,
            summarised: false,
        }
    }
}

fn max_by_kind(grid: &Grid, loading: &[f64]) -> (f64, f64) {
    let (mut ml, mut mt) = (0.0f64, 0.0f64);
    for (br, &v) in grid.branches.iter().zip(loading) {
        match br.element {
            BranchElement::Line(_) => ml = ml.max(v),
            BranchElement::Trafo(_) => mt = mt.max(v),
            BranchElement::Switch(_) => {}
        }
    }
    (ml, mt)
}

/// Peak loading of one branch over the day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchPeak {
    /// The branch's element (`line 3`, `trafo 0` as text).
    #[serde(serialize_with = "crate::util::serialize_display")]
    pub element: BranchElement,
    /// `line` / `trafo` / `switch`.
    pub kind: &'static str,
    /// Id in its file.
    pub id: i64,
    /// From bus (HV side for trafos).
    pub from_bus: i64,
    /// To bus.
    pub to_bus: i64,
    /// Highest loading of the day, %.
    pub peak_loading_percent: f64,
    /// Step at which it occurred.
    pub peak_step: usize,
    /// Steps above 100 %.
    pub steps_over_limit: usize,
}

/// Each branch's peak over a case's day.
pub fn branch_peaks(net: &Network, grid: &Grid, steps: &[Arc<StepNetwork>]) -> Vec<BranchPeak> {
    let mut peaks = BranchPeaks::new(net, grid);
    for (t, s) in steps.iter().enumerate() {
        peaks.add(t, s);
    }
    peaks.finish()
}

/// Each branch's peak over a case's day, folded in step by step (so that a step's loadings
/// need not be kept: [`StepNetwork::summarised`]).
#[derive(Debug, Clone, Default)]
pub struct BranchPeaks {
    peaks: Vec<BranchPeak>,
}

impl BranchPeaks {
    /// No step yet: every branch of `grid` at zero.
    pub fn new(net: &Network, grid: &Grid) -> BranchPeaks {
        let lines: std::collections::HashMap<_, _> = net.lines.iter().map(|l| (l.id, l)).collect();
        let trafos: std::collections::HashMap<_, _> =
            net.trafos.iter().map(|t| (t.id, t)).collect();
        let peaks = grid
            .branches
            .iter()
            .map(|br| {
                let (kind, id, fb, tb) = match br.element {
                    BranchElement::Line(x) => {
                        let line = lines.get(&x);
                        (
                            "line",
                            x.0,
                            line.map_or(-1, |v| v.from_bus.0),
                            line.map_or(-1, |v| v.to_bus.0),
                        )
                    }
                    BranchElement::Trafo(x) => {
                        let t = trafos.get(&x);
                        (
                            "trafo",
                            x.0,
                            t.map_or(-1, |v| v.hv_bus.0),
                            t.map_or(-1, |v| v.lv_bus.0),
                        )
                    }
                    BranchElement::Switch(x) => ("switch", x.0, -1, -1),
                };
                BranchPeak {
                    element: br.element,
                    kind,
                    id,
                    from_bus: fb,
                    to_bus: tb,
                    peak_loading_percent: 0.0,
                    peak_step: 0,
                    steps_over_limit: 0,
                }
            })
            .collect();
        BranchPeaks { peaks }
    }

    /// Folds step `t`'s loadings in (the first step of a tie keeps the peak).
    pub fn add(&mut self, t: usize, s: &StepNetwork) {
        for (l, peak) in self.peaks.iter_mut().enumerate() {
            let v = s.loading_percent.get(l).copied().unwrap_or(0.0);
            if v > peak.peak_loading_percent {
                peak.peak_loading_percent = v;
                peak.peak_step = t;
            }
            if v > 100.0 + 1e-9 {
                peak.steps_over_limit += 1;
            }
        }
    }

    /// The peaks.
    pub fn finish(self) -> Vec<BranchPeak> {
        self.peaks
    }
}

/// The shared battery's net injection (discharge − charge of every share), kW.
pub fn shared_injection_kw(accounts: &[crate::settlement::Account], dt_h: f64) -> f64 {
    accounts.iter().map(|a| a.share_injection_kw(dt_h)).sum()
}

/// The nodal injections (MW, Mvar) of a case-step from its accounts: the one derivation. Each
/// prosumer's metered injection `(supply − demand + shed)/Δt` at its node, without its share of
/// a shared battery, which is the one device at the battery's node (the sum of the shares);
/// reactive power is its served load times the community's tan φ (PV and batteries at unit
/// power factor).
pub fn injections(
    c: &crate::scenario::community::Community,
    accounts: &[crate::settlement::Account],
) -> Injections {
    injections_at(c, &prosumer_nodes(c), accounts)
}

/// Each prosumer's node, in prosumer order.
pub fn prosumer_nodes(c: &crate::scenario::community::Community) -> Vec<usize> {
    c.prosumers.iter().map(|p| p.node).collect()
}

/// [`injections`] with the prosumers' nodes given (`nodes[i]`: prosumer `i`'s, as
/// [`prosumer_nodes`]): a day reads them from one small table each step rather than from every
/// prosumer's record (at 10⁵ buses 13 MB of records, out of cache, twice a step).
pub fn injections_at(
    c: &crate::scenario::community::Community,
    nodes: &[usize],
    accounts: &[crate::settlement::Account],
) -> Injections {
    let dt = c.dt_h();
    let mut inj = Injections::zeros(c.grid.n_nodes());
    for (&node, a) in nodes.iter().zip(accounts) {
        inj.p_mw[node] += a.meter_injection_kw(dt) * 1e-3;
        inj.q_mvar[node] -= (a.load_kwh - a.shed_kwh).max(0.0) / dt * c.load_tan_phi * 1e-3;
    }
    // A shared battery is one device at its own bus: the sum of its shares.
    if let Some(sb) = &c.shared {
        inj.p_mw[sb.node] += shared_injection_kw(accounts, dt) * 1e-3;
    }
    inj
}
