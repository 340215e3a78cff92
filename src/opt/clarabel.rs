//! Clarabel backend for [`Problem`].
//!
//! Rows become cones in this order: equality rows (zero cone), inequality rows and finite
//! bounds (non-negative cone), then each second-order cone. Clarabel solves
//! `min ½xᵀPx + qᵀx s.t. Ax + s = b, s ∈ K`; an inequality `a·x ≤ b` is the row `(a, b)` with
//! `s ≥ 0`, and a cone `‖e_{1..k}‖ ≤ e_0` with `e_j = g_j x + h_j` is the block `(−g_j, h_j)`.

use super::{Problem, RowValues, Sense, Solution, Status, VarId, VarValues};
use ::clarabel::algebra::CscMatrix;
use ::clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};

/// Settings for the Clarabel backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Iteration limit (default 200).
    pub max_iter: u32,
    /// Time limit, s (default 60).
    pub time_limit_s: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_iter: 200,
            time_limit_s: 60.0,
        }
    }
}

/// Solves a problem with Clarabel.
pub fn solve(p: &Problem, settings: &Settings) -> Solution {
    let n = p.n_vars();
    let fail = |msg: String| Solution {
        status: Status::Failed,
        x: VarValues(vec![f64::NAN; n]),
        dual: RowValues(vec![f64::NAN; p.rows.len()]),
        cone_dual: vec![Vec::new(); p.cones.len()],
        objective: f64::NAN,
        iterations: 0,
        solve_time_s: 0.0,
        message: Some(msg),
    };
    // Validate: finite data, indices in range.
    for (k, r) in p.rows.iter().enumerate() {
        if !r.rhs.is_finite()
            || r.terms
                .iter()
                .any(|&(j, v)| j.index() >= n || !v.is_finite())
        {
            return fail(format!(
                "row {k} `{}` has a bad index or a non-finite value",
                r.tag
            ));
        }
    }
    if p.c.iter().any(|v| !v.is_finite())
        || p.quad
            .iter()
            .any(|&(i, j, v)| i.index() >= n || j.index() >= n || !v.is_finite())
    {
        return fail("objective has a bad index or a non-finite value".into());
    }
    let (mut ri, mut rj, mut rv, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut m = 0;
    let mut dual_row: Vec<usize> = vec![usize::MAX; p.rows.len()];
    let mut cones: Vec<SupportedConeT<f64>> = Vec::new();
    let mut push_row = |terms: &[(VarId, f64)], rhs: f64, m: &mut usize| {
        for &(j, v) in terms {
            ri.push(*m);
            rj.push(j.index());
            rv.push(v);
        }
        b.push(rhs);
        *m += 1;
    };
    // A variable fixed by its bounds (lb = ub, as branch and bound fixes them) is one equality,
    // not two opposite inequalities (which leave an interior-point method no interior).
    let fixed = |j: usize| p.lb[j].is_finite() && p.lb[j] == p.ub[j];
    let n_eq = p.rows.iter().filter(|r| r.sense == Sense::Eq).count()
        + (0..n).filter(|&j| fixed(j)).count();
    for (k, r) in p
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.sense == Sense::Eq)
    {
        dual_row[k] = m;
        push_row(&r.terms, r.rhs, &mut m);
    }
    for j in (0..n).filter(|&j| fixed(j)) {
        push_row(&[(VarId(j as u32), 1.0)], p.lb[j], &mut m);
    }
    if n_eq > 0 {
        cones.push(SupportedConeT::ZeroConeT(n_eq));
    }
    let start_le = m;
    for (k, r) in p
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.sense == Sense::Le)
    {
        dual_row[k] = m;
        push_row(&r.terms, r.rhs, &mut m);
    }
    for j in 0..n {
        if p.lb[j] > p.ub[j] {
            return fail(format!("variable `{}` has lb > ub", p.var_tags[j]));
        }
        let v = VarId(j as u32);
        if fixed(j) {
            continue;
        }
        if p.ub[j].is_finite() {
            push_row(&[(v, 1.0)], p.ub[j], &mut m);
        }
        if p.lb[j].is_finite() {
            push_row(&[(v, -1.0)], -p.lb[j], &mut m);
        }
    }
    if m > start_le {
        cones.push(SupportedConeT::NonnegativeConeT(m - start_le));
    }
    let mut cone_start = Vec::with_capacity(p.cones.len());
    for c in &p.cones {
        cone_start.push(m);
        if c.exprs.len() < 2 {
            return fail(format!("cone `{}` needs at least 2 expressions", c.tag));
        }
        for e in &c.exprs {
            let neg: Vec<(VarId, f64)> = e.terms.iter().map(|&(j, v)| (j, -v)).collect();
            if neg.iter().any(|&(j, v)| j.index() >= n || !v.is_finite()) || !e.constant.is_finite()
            {
                return fail(format!("cone `{}` has a bad index or value", c.tag));
            }
            push_row(&neg, e.constant, &mut m);
        }
        cones.push(SupportedConeT::SecondOrderConeT(c.exprs.len()));
    }
    let a = CscMatrix::new_from_triplets(m, n, ri, rj, rv);
    // P: upper triangle.
    let (mut pi, mut pj, mut pv) = (Vec::new(), Vec::new(), Vec::new());
    for &(i, j, v) in &p.quad {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        pi.push(i.index());
        pj.push(j.index());
        pv.push(v);
    }
    let pm = CscMatrix::new_from_triplets(n, n, pi, pj, pv);
    let s = DefaultSettings::<f64> {
        verbose: false,
        max_iter: settings.max_iter,
        time_limit: settings.time_limit_s,
        ..DefaultSettings::default()
    };
    let mut solver = match DefaultSolver::new(&pm, &p.c, &a, &b, &cones, s) {
        Ok(s) => s,
        Err(e) => return fail(format!("Clarabel refused the problem: {e:?}")),
    };
    solver.solve();
    let sol = &solver.solution;
    let status = match sol.status {
        SolverStatus::Solved => Status::Solved,
        SolverStatus::AlmostSolved => Status::AlmostSolved,
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            Status::PrimalInfeasible
        }
        SolverStatus::DualInfeasible | SolverStatus::AlmostDualInfeasible => Status::DualInfeasible,
        SolverStatus::MaxIterations => Status::MaxIterations,
        SolverStatus::MaxTime => Status::MaxTime,
        SolverStatus::NumericalError | SolverStatus::InsufficientProgress => Status::NumericalError,
        _ => Status::Failed,
    };
    // A point with a non-finite value is never a solution, whatever the solver says.
    let status = if status.is_ok() && sol.x.iter().chain(&sol.z).any(|v| !v.is_finite()) {
        Status::NumericalError
    } else {
        status
    };
    let dual = RowValues(dual_row.iter().map(|&r| -sol.z[r]).collect());
    let cone_dual = p
        .cones
        .iter()
        .zip(&cone_start)
        .map(|(c, &start)| (0..c.exprs.len()).map(|j| -sol.z[start + j]).collect())
        .collect();
    Solution {
        status,
        objective: p.objective(&sol.x),
        x: VarValues(sol.x.clone()),
        dual,
        cone_dual,
        iterations: sol.iterations,
        solve_time_s: sol.solve_time,
        message: None,
    }
}
