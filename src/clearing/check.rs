//! The AC check: an AC power flow of a step's cleared injections, the limits it still violates,
//! and how far the formulation's prediction was from it.

use super::{ClearingSpec, StepOutcome};
use crate::formulation::{Element, Limit, LimitKind, Violation};
use crate::network::electrical::Grid;
use crate::pf::ac::{AcModel, AcOptions, AcSolution};
use serde::Serialize;

/// What the AC power flow of a step's cleared injections shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcCheck {
    /// Whether Newton–Raphson converged (to finite values).
    pub converged: bool,
    /// Lowest voltage, p.u.
    pub vmin_pu: f64,
    /// Highest voltage, p.u.
    pub vmax_pu: f64,
    /// Active losses, kW.
    pub losses_kw: f64,
    /// Highest branch loading, %.
    pub max_loading_percent: f64,
    /// Limits violated in AC (voltage band, thermal).
    pub violations: Vec<Violation>,
    /// Largest |formulation voltage − AC voltage|, p.u. (DistFlow models).
    pub vm_error_pu: Option<f64>,
    /// Largest |formulation flow − AC flow| at the from end, kW.
    pub p_error_kw: f64,
}

/// Loading per branch (%) of an AC solution.
pub fn loading_percent(grid: &Grid, sol: &AcSolution) -> Vec<f64> {
    grid.branches
        .iter()
        .enumerate()
        .map(|(l, br)| {
            grid.branch_currents(l, sol.flows[l], sol.vm_pu[br.from], sol.vm_pu[br.to])
                .2
        })
        .collect()
}

/// Runs the AC check of injections (kW, kvar per node).
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
    ac_check_of(&sol, &loading_percent(grid, &sol), grid, spec, Some(pred))
}

/// The AC check of an AC solution already computed, with its branch loadings (%).
pub fn ac_check_of(
    sol: &AcSolution,
    loading: &[f64],
    grid: &Grid,
    spec: &ClearingSpec,
    pred: Option<&StepOutcome>,
) -> AcCheck {
    let converged = sol.converged
        && sol.vm_pu.iter().all(|v| v.is_finite())
        && sol.flows.iter().flatten().all(|v| v.is_finite());
    let mut violations = Vec::new();
    let tol = 1e-6;
    for (k, &vm) in sol.vm_pu.iter().enumerate() {
        if k == grid.slack {
            continue;
        }
        for (kind, bad, bound) in [
            (LimitKind::Vmax, vm > spec.vmax_pu + tol, spec.vmax_pu),
            (LimitKind::Vmin, vm < spec.vmin_pu - tol, spec.vmin_pu),
        ] {
            if bad {
                let limit = Limit {
                    kind,
                    element: Element::Node(k),
                };
                violations.push(Violation {
                    name: limit.describe(grid),
                    limit,
                    value: vm,
                    bound,
                });
            }
        }
    }
    for (l, &load) in loading.iter().enumerate() {
        if load > 100.0 + 1e-6 {
            let limit = Limit {
                kind: LimitKind::Thermal,
                element: Element::Branch(l),
            };
            violations.push(Violation {
                name: limit.describe(grid),
                limit,
                value: load,
                bound: 100.0,
            });
        }
    }
    let vm_error_pu = pred.and_then(|p| p.predicted_vm_pu.as_ref()).map(|v| {
        v.iter()
            .zip(&sol.vm_pu)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    });
    let p_error_kw = pred.map_or(0.0, |p| {
        p.predicted_p_kw
            .iter()
            .zip(&sol.flows)
            .map(|(a, f)| (a - f[0] * 1e3).abs())
            .fold(0.0, f64::max)
    });
    let losses: f64 = sol.flows.iter().map(|f| f[0] + f[2]).sum();
    AcCheck {
        converged,
        vmin_pu: sol.vm_pu.iter().copied().fold(f64::INFINITY, f64::min),
        vmax_pu: sol.vm_pu.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        losses_kw: losses * 1e3,
        max_loading_percent: loading.iter().copied().fold(0.0, f64::max),
        violations,
        vm_error_pu,
        p_error_kw,
    }
}

/// A formulation's own power flow of given injections, as a [`crate::pf::PfReport`] (`netclear pf
/// --model lindistflow|socp`), so that each formulation's voltages and flows can be set beside
/// AC's. Angles are not modelled (reported 0); a branch's receiving-end flow is its sending-end
/// flow less its losses `r·(P² + Q²)/V²` (zero in LinDistFlow, which is lossless); the slack's
/// import is what the injections leave, plus the losses.
pub fn formulation_power_flow(
    net: &crate::network::Network,
    grid: &Grid,
    model: crate::formulation::NetworkModel,
    inj: &crate::network::electrical::Injections,
) -> crate::Result<crate::pf::PfReport> {
    use crate::formulation::NetworkModel;
    let spec = ClearingSpec {
        model,
        ..ClearingSpec::default()
    };
    let mut corr = super::Corrector::new(grid, &spec)?;
    let p_kw: Vec<f64> = inj.p_mw.iter().map(|v| v * 1e3).collect();
    let q_kvar: Vec<f64> = inj.q_mvar.iter().map(|v| v * 1e3).collect();
    let pred = corr.power_flow(&p_kw, &q_kvar);
    let converged = pred.is_some();
    let pred = pred.unwrap_or_default();
    let n = grid.n_nodes();
    let nb = grid.branches.len();
    let vm = pred.vm_pu.clone().unwrap_or_else(|| vec![1.0; n]);
    let base = grid.sn_mva;
    let lossy = model == NetworkModel::Socp;
    let flows: Vec<[f64; 4]> = (0..nb)
        .map(|l| {
            let br = &grid.branches[l];
            let p = pred.p_from_kw.get(l).copied().unwrap_or(0.0) * 1e-3;
            let q = pred.q_from_kvar.get(l).copied().unwrap_or(0.0) * 1e-3;
            let v = vm.get(br.from).copied().unwrap_or(1.0).max(1e-6);
            let (pl, ql) = if lossy {
                let i2 = ((p / base).powi(2) + (q / base).powi(2)) / (v * v);
                (br.r_pu * i2 * base, br.x_pu * i2 * base)
            } else {
                (0.0, 0.0)
            };
            [p, q, -(p - pl), -(q - ql)]
        })
        .collect();
    let losses_p: f64 = flows.iter().map(|f| f[0] + f[2]).sum();
    let losses_q: f64 = flows.iter().map(|f| f[1] + f[3]).sum();
    let slack_p_mw = -inj.p_mw.iter().sum::<f64>() + losses_p;
    let slack_q_mvar = -inj.q_mvar.iter().sum::<f64>() + losses_q;
    let pf_model = match model {
        NetworkModel::Socp => crate::pf::PfModel::Socp,
        NetworkModel::Dc => crate::pf::PfModel::Dc,
        _ => crate::pf::PfModel::Lindistflow,
    };
    Ok(crate::pf::NodalSolution {
        model: pf_model,
        converged,
        iterations: 0,
        vm_pu: &vm,
        va_rad: &vec![0.0; n],
        p_inj_mw: &inj.p_mw,
        q_inj_mvar: &inj.q_mvar,
        flows: &flows,
        slack_p_mw,
        slack_q_mvar,
    }
    .report(net, grid))
}
