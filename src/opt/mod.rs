//! A small solver-agnostic optimisation layer: a sparse problem with bounded variables, a linear
//! and convex quadratic objective, linear equality/inequality rows and second-order cones, solved
//! by a backend ([`clarabel`]); a branch and bound over complementarity pairs on top of it
//! ([`milp`]). Outcomes are data ([`Status`]), never panics; any problem can be dumped to JSON
//! (`--dump-lp`) and reloaded to reproduce a failure.
//!
//! ```text
//!   minimise   ½ xᵀ P x + cᵀ x
//!   subject to a_r · x = b_r          (equality rows)
//!              a_r · x ≤ b_r          (inequality rows)
//!              ‖(g_1 x + h_1, …, g_k x + h_k)‖₂ ≤ g_0 x + h_0   (cones)
//!              lb ≤ x ≤ ub
//! ```
//!
//! **Handles.** [`Problem::var`] returns a [`VarId`] and [`Problem::row`] a [`RowId`]; a
//! [`Solution`] is indexed by them (`sol.x[v]`, `sol.dual[r]`), so builders keep typed handles
//! instead of raw indices and sentinels. Variables and rows carry a compact [`Tag`] (a kind and
//! up to two indices); text names are made only when a problem is dumped or a message is written.
//!
//! **Duals.** [`Solution::dual`] of a row is the change of the optimal objective per unit increase
//! of its right-hand side, `∂f*/∂b_r` (≤ 0 for a binding `≤` row of a minimisation: relaxing it
//! can only help). With Clarabel's sign convention this is `−z_r`. [`Solution::cone_dual`] gives
//! the same for each constant of each cone's expressions.

pub mod clarabel;
pub mod milp;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Handle of a variable in a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VarId(pub u32);

/// Handle of a linear row in a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowId(pub u32);

impl VarId {
    /// Position in the problem's variable list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl RowId {
    /// Position in the problem's row list.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a variable or row is, compactly: a kind and up to two indices (e.g. `("soc", battery,
/// step)`), or a free text for hand-written problems. Displayed as `kind[a,b]`.
#[derive(Debug, Clone)]
pub enum Tag {
    /// A kind with indices.
    Indexed {
        /// The kind, e.g. `curt`, `thermal`.
        kind: &'static str,
        /// First index (node, branch, battery …), if any.
        a: Option<u32>,
        /// Second index (step …), if any.
        b: Option<u32>,
    },
    /// A free name.
    Named(String),
}

impl Tag {
    /// A tag with no index.
    pub fn kind(kind: &'static str) -> Tag {
        Tag::Indexed {
            kind,
            a: None,
            b: None,
        }
    }
    /// A tag with one index.
    pub fn at(kind: &'static str, a: usize) -> Tag {
        Tag::Indexed {
            kind,
            a: Some(a as u32),
            b: None,
        }
    }
    /// A tag with two indices.
    pub fn at2(kind: &'static str, a: usize, b: usize) -> Tag {
        Tag::Indexed {
            kind,
            a: Some(a as u32),
            b: Some(b as u32),
        }
    }
}

impl From<&str> for Tag {
    fn from(s: &str) -> Tag {
        Tag::Named(s.to_string())
    }
}

impl From<String> for Tag {
    fn from(s: String) -> Tag {
        Tag::Named(s)
    }
}

/// Tags compare by their text, so a dumped and reloaded problem equals the original.
impl PartialEq for Tag {
    fn eq(&self, other: &Tag) -> bool {
        match (self, other) {
            (Tag::Named(a), Tag::Named(b)) => a == b,
            _ => self.to_string() == other.to_string(),
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::Named(s) => f.write_str(s),
            Tag::Indexed { kind, a, b } => {
                f.write_str(kind)?;
                match (a, b) {
                    (Some(a), Some(b)) => write!(f, "[{a},{b}]"),
                    (Some(a), None) => write!(f, "[{a}]"),
                    (None, Some(b)) => write!(f, "[,{b}]"),
                    (None, None) => Ok(()),
                }
            }
        }
    }
}

// Tags are written to dumps as their text; a reloaded dump holds named tags.
mod tag_text {
    use super::Tag;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &[Tag], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(t.iter().map(|t| t.to_string()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Tag>, D::Error> {
        Ok(Vec::<String>::deserialize(d)?
            .into_iter()
            .map(Tag::Named)
            .collect())
    }
}

mod one_tag_text {
    use super::Tag;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(t: &Tag, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tag, D::Error> {
        Ok(Tag::Named(String::deserialize(d)?))
    }
}

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
    /// What the row is (for reports and dumps).
    #[serde(rename = "name", with = "one_tag_text")]
    pub tag: Tag,
    /// Sense.
    pub sense: Sense,
    /// Sparse coefficients (variable, value).
    pub terms: Vec<(VarId, f64)>,
    /// Right-hand side.
    pub rhs: f64,
}

/// An affine expression `Σ a_j x_j + constant`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Affine {
    /// Sparse coefficients.
    pub terms: Vec<(VarId, f64)>,
    /// Constant.
    pub constant: f64,
}

/// A second-order cone `‖(e_1, …, e_k)‖ ≤ e_0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cone {
    /// What the cone is.
    #[serde(rename = "name", with = "one_tag_text")]
    pub tag: Tag,
    /// `e_0, e_1, …, e_k`.
    pub exprs: Vec<Affine>,
}

/// A problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Problem {
    /// What each variable is.
    #[serde(rename = "var_names", with = "tag_text")]
    pub var_tags: Vec<Tag>,
    /// Lower bounds (may be −∞).
    pub lb: Vec<f64>,
    /// Upper bounds (may be +∞).
    pub ub: Vec<f64>,
    /// Linear objective.
    pub c: Vec<f64>,
    /// Quadratic objective entries `(i, j, P_ij)` of the symmetric `P` (give each off-diagonal
    /// pair once, `i ≤ j`).
    pub quad: Vec<(VarId, VarId, f64)>,
    /// Constant added to the objective.
    pub obj_constant: f64,
    /// Linear rows.
    pub rows: Vec<Row>,
    /// Cones.
    pub cones: Vec<Cone>,
}

impl Problem {
    /// Adds a variable `lb ≤ x ≤ ub` with linear cost `cost`, returns its handle.
    pub fn var(&mut self, tag: impl Into<Tag>, lb: f64, ub: f64, cost: f64) -> VarId {
        self.var_tags.push(tag.into());
        self.lb.push(lb);
        self.ub.push(ub);
        self.c.push(cost);
        VarId((self.var_tags.len() - 1) as u32)
    }
    /// Number of variables.
    pub fn n_vars(&self) -> usize {
        self.var_tags.len()
    }
    /// Adds `v` to `P_ii` (so the objective gains `½ v x_i²`).
    pub fn quad_diag(&mut self, i: VarId, v: f64) {
        self.quad.push((i, i, v));
    }
    /// Adds a row, returns its handle.
    pub fn row(
        &mut self,
        tag: impl Into<Tag>,
        sense: Sense,
        terms: Vec<(VarId, f64)>,
        rhs: f64,
    ) -> RowId {
        self.rows.push(Row {
            tag: tag.into(),
            sense,
            terms,
            rhs,
        });
        RowId((self.rows.len() - 1) as u32)
    }
    /// Adds a cone.
    pub fn cone(&mut self, tag: impl Into<Tag>, exprs: Vec<Affine>) {
        self.cones.push(Cone {
            tag: tag.into(),
            exprs,
        });
    }
    /// Objective value at `x`.
    pub fn objective(&self, x: &[f64]) -> f64 {
        let mut v = self.obj_constant + self.c.iter().zip(x).map(|(c, x)| c * x).sum::<f64>();
        for &(i, j, p) in &self.quad {
            let (xi, xj) = (x[i.index()], x[j.index()]);
            v += if i == j {
                0.5 * p * xi * xi
            } else {
                p * xi * xj
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
    /// Reads a problem written by [`Problem::to_json`] (tags come back as their text).
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

/// How a solve ended. Its serde name (`solved`, `primal_infeasible`, …) is the one spelling used
/// in every output.
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

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::util::serde_name(self).as_str())
    }
}

/// Values per variable of a solution, indexed by [`VarId`].
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct VarValues(pub Vec<f64>);

/// Values per row of a solution, indexed by [`RowId`].
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RowValues(pub Vec<f64>);

impl std::ops::Index<VarId> for VarValues {
    type Output = f64;
    fn index(&self, v: VarId) -> &f64 {
        &self.0[v.index()]
    }
}

impl std::ops::Index<RowId> for RowValues {
    type Output = f64;
    fn index(&self, r: RowId) -> &f64 {
        &self.0[r.index()]
    }
}

/// A solve's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// Outcome.
    pub status: Status,
    /// Primal point.
    pub x: VarValues,
    /// Per row: `∂f*/∂b_r`.
    pub dual: RowValues,
    /// Per cone, per expression `e_j = g_j x + h_j`: `∂f*/∂h_j` (so for a rating cone
    /// `‖(P, Q)‖ ≤ S` the first entry is the shadow price of `S`).
    pub cone_dual: Vec<Vec<f64>>,
    /// Objective value.
    pub objective: f64,
    /// Iterations.
    pub iterations: u32,
    /// Solve time, s.
    pub solve_time_s: f64,
    /// Message from the backend when it refused the problem.
    pub message: Option<String>,
}
