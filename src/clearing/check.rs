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
