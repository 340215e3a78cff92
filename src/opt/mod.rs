//! A small solver-agnostic optimisation layer: a sparse problem with bounded variables, a linear
//! and convex quadratic objective, linear equality/inequality rows and second-order cones, solved
//! by a backend ([`clarabel`]). Outcomes are data ([`Status`]), never panics; any problem can be
//! dumped to JSON (`--dump-lp`) and reloaded to reproduce a failure.
//!
//! ```text
//!   minimise   ½ xᵀ P x + cᵀ x
//!   subject to a_r · x = b_r          (equality rows)
//!              a_r · x ≤ b_r          (inequality rows)
//!              ‖(g_1 x + h_1, …, g_k x + h_k)‖₂ ≤ g_0 x + h_0   (cones)
//!              lb ≤ x ≤ ub
//! ```
//!
//! **Duals.** [`Solution::dual`] of a row is the change of the optimal objective per unit increase
//! of its right-hand side, `∂f*/∂b_r` (≤ 0 for a binding `≤` row of a minimisation: relaxing it
//! can only help). With Clarabel's sign convention this is `−z_r`.

pub mod clarabel;

use serde::{Deserialize, Serialize};

/// Row sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sense {
    /// `a·x = b`.
    Eq,
    /// `a·x ≤ b`.
    Le,
}

/// A linear row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Name (for reports and dumps).
    pub name: String,
    /// Sense.
    pub sense: Sense,
    /// Sparse coefficients (variable, value).
    pub terms: Vec<(usize, f64)>,
    /// Right-hand side.
    pub rhs: f64,
}

/// An affine expression `Σ a_j x_j + constant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Affine {
    /// Sparse coefficients.
    pub terms: Vec<(usize, f64)>,
    /// Constant.
    pub constant: f64,
}

/// A second-order cone `‖(e_1, …, e_k)‖ ≤ e_0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cone {
    /// Name.
    pub name: String,
    /// `e_0, e_1, …, e_k`.
    pub exprs: Vec<Affine>,
}

/// A problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Problem {
    /// Variable names.
    pub var_names: Vec<String>,
    /// Lower bounds (may be −∞).
    pub lb: Vec<f64>,
    /// Upper bounds (may be +∞).
    pub ub: Vec<f64>,
    /// Linear objective.
    pub c: Vec<f64>,
    /// Quadratic objective entries `(i, j, P_ij)` of the symmetric `P` (give each off-diagonal
    /// pair once, `i ≤ j`).
    pub quad: Vec<(usize, usize, f64)>,
    /// Constant added to the objective.
    pub obj_constant: f64,
    /// Linear rows.
    pub rows: Vec<Row>,
    /// Cones.
    pub cones: Vec<Cone>,
}

impl Problem {
    /// Adds a variable, returns its index.
    pub fn var(&mut self, name: impl Into<String>, lb: f64, ub: f64, cost: f64) -> usize {
        self.var_names.push(name.into());
        self.lb.push(lb);
        self.ub.push(ub);
        self.c.push(cost);
        self.var_names.len() - 1
    }
    /// Number of variables.
    pub fn n_vars(&self) -> usize {
        self.var_names.len()
    }
    /// Adds `v` to `P_ii` (so the objective gains `½ v x_i²`).
    pub fn quad_diag(&mut self, i: usize, v: f64) {
        self.quad.push((i, i, v));
    }
    /// Adds a row, returns its index.
    pub fn row(
        &mut self,
        name: impl Into<String>,
        sense: Sense,
        terms: Vec<(usize, f64)>,
        rhs: f64,
    ) -> usize {
        self.rows.push(Row {
            name: name.into(),
            sense,
            terms,
            rhs,
        });
        self.rows.len() - 1
    }
    /// Adds a cone.
    pub fn cone(&mut self, name: impl Into<String>, exprs: Vec<Affine>) {
        self.cones.push(Cone {
            name: name.into(),
            exprs,
        });
    }
    /// Objective value at `x`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        let mut v = self.obj_constant + self.c.iter().zip(x).map(|(c, x)| c * x).sum::<f64>();
        for &(i, j, p) in &self.quad {
            v += if i == j {
                0.5 * p * x[i] * x[i]
            } else {
                p * x[i] * x[j]
            };
        }
        v
    }
    /// JSON text of the problem (for `--dump-lp`).
    pub fn to_json(&self) -> String {
        // Infinite bounds are written as ±1e300 so the JSON stays standard.
        let mut p = self.clone();
        for v in p.lb.iter_mut().chain(p.ub.iter_mut()) {
            if v.is_infinite() {
                *v = v.signum() * 1e300;
            }
        }
        serde_json::to_string(&p).unwrap_or_default()
    }
    /// Reads a problem written by [`Problem::to_json`].
    pub fn from_json(text: &str) -> Result<Problem, String> {
        let mut p: Problem = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for v in p.lb.iter_mut().chain(p.ub.iter_mut()) {
            if v.abs() >= 1e300 {
                *v = v.signum() * f64::INFINITY;
            }
        }
        Ok(p)
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Optimal to tolerance.
    Solved,
    /// Optimal to reduced tolerance.
    AlmostSolved,
    /// No feasible point exists.
    PrimalInfeasible,
    /// Unbounded.
    DualInfeasible,
    /// Iteration limit.
    MaxIterations,
    /// Time limit.
    MaxTime,
    /// Numerical trouble.
    NumericalError,
    /// Not solved (malformed problem or backend refusal).
    Failed,
}

impl Status {
    /// Whether `x` and the duals can be used.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Solved | Status::AlmostSolved)
    }
}

/// A solve's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// Outcome.
    pub status: Status,
    /// Primal point.
    pub x: Vec<f64>,
    /// Per row: `∂f*/∂b_r`.
    pub dual: Vec<f64>,
    /// Objective value.
    pub objective: f64,
    /// Iterations.
    pub iterations: u32,
    /// Solve time, s.
    pub solve_time_s: f64,
    /// Message from the backend when it refused the problem.
    pub message: Option<String>,
}
