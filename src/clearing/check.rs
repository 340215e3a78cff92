//! Checks around the correction: a fast pre-check that skips the optimisation when the proposal
//! already meets every limit of the formulation, and the AC power flow of the cleared injections.

use super::{ClearingSpec, NetworkModel, StepInput, StepOutcome};
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::opt::Status;
use crate::pf::ac::{AcModel, AcOptions};
use crate::pf::dc::{DcModel, DcSolution, DcWorkspace};
use serde::Serialize;

/// Injections (kW, kvar) of a proposal executed in full, no background change.
pub fn proposal_injections(grid: &Grid, inp: &StepInput) -> (Vec<f64>, Vec<f64>) {
    let mut p = inp.bg_p_kw.to_vec();
    for t in inp.trades {
        p[t.seller_node] += t.kw;
    }
    let _ = grid;
    (p, inp.bg_q_kvar.to_vec())
}

/// LinDistFlow evaluated on the tree for given injections: sending-end `P_k, Q_k` (kW, kvar) into
/// each node from its parent and squared voltages.
pub fn lindistflow_eval(
    grid: &Grid,
    topo: &Topology,
    p_kw: &[f64],
    q_kvar: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = grid.n_nodes();
    let kappa = 1.0 / (1000.0 * grid.sn_mva);
    let (mut pk, mut qk) = (vec![0.0; n], vec![0.0; n]);
    for &k in topo.bfs_order().iter().rev() {
        // Flow into k from its parent = load of the subtree = −Σ injections.
        pk[k] -= p_kw[k];
        qk[k] -= q_kvar[k];
        if let Some((par, _)) = topo.parent(k) {
            let (a, b) = (pk[k], qk[k]);
            pk[par] += a;
            qk[par] += b;
        }
    }
    let mut v = vec![0.0; n];
    v[grid.slack] = grid.slack_vm_pu * grid.slack_vm_pu;
    for &k in topo.bfs_order() {
        let Some((par, l)) = topo.parent(k) else {
            continue;
        };
        let br = &grid.branches[l];
        let drop = 2.0 * kappa * (br.r_pu * pk[k] + br.x_pu * qk[k]);
        v[k] = if br.from == par {
            v[par] / (br.tap * br.tap) - drop
        } else {
            br.tap * br.tap * (v[par] - drop)
        };
    }
    (pk, qk, v)
}

/// When the proposal meets every limit of a linear formulation, the optimum is to execute it in
/// full; this returns that outcome without solving (uniform prices at the slack's marginal
/// price). `None` when an optimisation is needed (or for `socp`, whose losses always price).
#[allow(clippy::too_many_arguments)]
pub fn precheck(
    grid: &Grid,
    topo: &Topology,
    dc: &DcModel,
    ws: &mut DcWorkspace,
    sol: &mut DcSolution,
    spec: &ClearingSpec,
    inp: &StepInput,
) -> Option<StepOutcome> {
    let n = grid.n_nodes();
    let (p, q) = proposal_injections(grid, inp);
    let c8 = (std::f64::consts::PI / 8.0).cos();
    let margin = 1.0 - 1e-9;
    let mut predicted_p_kw = vec![0.0; grid.branches.len()];
    let mut predicted_vm = None;
    match spec.model {
        NetworkModel::Dc => {
            let mw: Vec<f64> = p.iter().map(|v| v * 1e-3).collect();
            dc.solve_into(&mw, ws, sol);
            for (l, br) in grid.branches.iter().enumerate() {
                let f = sol.p_from_mw[l] * 1e3;
                predicted_p_kw[l] = f;
                if let Some(s) = br.rating.s_max_mva(grid.nodes[br.from].vn_kv) {
                    if f.abs() > s * 1e3 * margin {
                        return None;
                    }
                }
            }
        }
        NetworkModel::Lindistflow => {
            if !topo.is_radial() {
                return None;
            }
            let (pk, qk, v) = lindistflow_eval(grid, topo, &p, &q);
            for k in 0..n {
                let (lo, hi) = spec.v_band_sq(inp.v_offset_pu.get(k).copied().unwrap_or(0.0));
                if k != grid.slack && (v[k] > hi * margin || v[k] < lo / margin) {
                    return None;
                }
                let Some((par, l)) = topo.parent(k) else {
                    continue;
                };
                let br = &grid.branches[l];
                predicted_p_kw[l] = if br.from == par { pk[k] } else { -pk[k] };
                if let Some(s) = br.rating.s_max_mva(grid.nodes[br.from].vn_kv) {
                    // Inscribed octagon: max over the 8 normals.
                    let worst = (0..8)
                        .map(|j| {
                            let (sa, ca) = (j as f64 * std::f64::consts::FRAC_PI_4).sin_cos();
                            ca * pk[k] + sa * qk[k]
                        })
                        .fold(f64::NEG_INFINITY, f64::max);
                    if worst > s * 1e3 * c8 * margin {
                        return None;
                    }
                }
            }
            predicted_vm = Some(v.iter().map(|x| x.max(0.0).sqrt()).collect());
        }
        _ => return None,
    }
    let net_import: f64 = -p.iter().sum::<f64>();
    let energy = if net_import > 0.0 {
        inp.import_per_kwh
    } else {
        inp.export_per_kwh
    };
    Some(StepOutcome {
        status: Status::Solved,
        optimised: false,
        executed: vec![1.0; inp.trades.len()],
        shed_kw: vec![0.0; n],
        curt_kw: vec![0.0; n],
        lmp_per_kwh: vec![energy; n],
        energy_per_kwh: energy,
        congestion_per_kwh: vec![0.0; n],
        voltage_per_kwh: vec![0.0; n],
        binding: Vec::new(),
        predicted_vm_pu: predicted_vm,
        predicted_p_kw,
        socp_max_gap: None,
        iterations: 0,
        ac_feedback_rounds: 0,
    })
}

/// The AC power flow of a step's cleared injections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcCheck {
    /// Whether Newton–Raphson converged.
    pub converged: bool,
    /// Lowest voltage, p.u.
    pub vmin_pu: f64,
    /// Highest voltage, p.u.
    pub vmax_pu: f64,
    /// Active losses, kW.
    pub losses_kw: f64,
    /// Highest branch loading, %.
    pub max_loading_percent: f64,
    /// Limits violated in AC (voltage band, thermal), in words.
    pub violations: Vec<String>,
    /// Largest |formulation voltage − AC voltage|, p.u. (DistFlow models).
    pub vm_error_pu: Option<f64>,
    /// Largest |formulation flow − AC flow| at the from end, kW.
    pub p_error_kw: f64,
    /// Voltage per node, p.u. (kept for the per-step output files; empty if not converged).
    #[serde(skip)]
    pub vm_pu: Vec<f64>,
    /// From-end active flow per branch, kW.
    #[serde(skip)]
    pub p_from_kw: Vec<f64>,
    /// Loading per branch, %.
    #[serde(skip)]
    pub loading_percent: Vec<f64>,
}

/// Runs the AC check.
pub fn ac_check(
    ac: &AcModel,
    grid: &Grid,
    p_kw: &[f64],
    q_kvar: &[f64],
    spec: &ClearingSpec,
    pred: &StepOutcome,
) -> AcCheck {
    let pm: Vec<f64> = p_kw.iter().map(|v| v * 1e-3).collect();
    let qm: Vec<f64> = q_kvar.iter().map(|v| v * 1e-3).collect();
    let sol = ac.solve(&pm, &qm, &AcOptions::default());
    ac_check_of(sol, grid, spec, pred)
}

/// The AC check of an AC solution already computed for a step's cleared injections.
pub fn ac_check_of(
    sol: crate::pf::ac::AcSolution,
    grid: &Grid,
    spec: &ClearingSpec,
    pred: &StepOutcome,
) -> AcCheck {
    let mut violations = Vec::new();
    let tol = 1e-6;
    for (i, &vm) in sol.vm_pu.iter().enumerate() {
        if i == grid.slack {
            continue;
        }
        if vm > spec.vmax_pu + tol {
            violations.push(format!(
                "bus {} at {vm:.4} pu > {}",
                grid.nodes[i].buses[0].0, spec.vmax_pu
            ));
        }
        if vm < spec.vmin_pu - tol {
            violations.push(format!(
                "bus {} at {vm:.4} pu < {}",
                grid.nodes[i].buses[0].0, spec.vmin_pu
            ));
        }
    }
    let mut max_loading: f64 = 0.0;
    let mut loading_percent = Vec::with_capacity(grid.branches.len());
    for (l, br) in grid.branches.iter().enumerate() {
        let (_, _, load) =
            grid.branch_currents(l, sol.flows[l], sol.vm_pu[br.from], sol.vm_pu[br.to]);
        max_loading = max_loading.max(load);
        loading_percent.push(load);
        if load > 100.0 + 1e-6 {
            violations.push(format!("{} at {load:.1} %", br.element));
        }
    }
    let vm_error_pu = pred.predicted_vm_pu.as_ref().map(|v| {
        v.iter()
            .zip(&sol.vm_pu)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    });
    let p_error_kw = pred
        .predicted_p_kw
        .iter()
        .zip(&sol.flows)
        .map(|(a, f)| (a - f[0] * 1e3).abs())
        .fold(0.0, f64::max);
    let losses: f64 = sol.flows.iter().map(|f| f[0] + f[2]).sum();
    AcCheck {
        converged: sol.converged,
        vmin_pu: sol.vm_pu.iter().copied().fold(f64::INFINITY, f64::min),
        vmax_pu: sol.vm_pu.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        losses_kw: losses * 1e3,
        max_loading_percent: max_loading,
        violations,
        vm_error_pu,
        p_error_kw,
        p_from_kw: if sol.converged {
            sol.flows.iter().map(|f| f[0] * 1e3).collect()
        } else {
            Vec::new()
        },
        loading_percent: if sol.converged {
            loading_percent
        } else {
            Vec::new()
        },
        vm_pu: if sol.converged { sol.vm_pu } else { Vec::new() },
    }
}
