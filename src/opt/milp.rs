//! Mixed-integer problems of one special kind, solved by structure: an LP plus **complementarity
//! pairs** `(a, b)` of non-negative variables of which at most one may be non-zero (a battery
//! cannot charge and discharge in the same step; an EV cannot charge and feed back at once).
//! The binary `z` of the textbook model (`a ≤ A z`, `b ≤ B (1 − z)`) is never written: fixing
//! `z` is the same as fixing one side's upper bound to zero.
//!
//! 1. Solve the LP relaxation: its objective is a lower bound. If no pair has both sides above
//!    `tol`, the LP point is feasible for the MILP and therefore optimal (gap 0, [`Method::LpExact`]).
//! 2. Otherwise fix, in every violated pair, the smaller side to zero and re-solve, repeating while
//!    new violations appear: an upper bound. When it meets the bound within `gap_tol` it is proven
//!    optimal ([`Method::FixSmaller`]) — with PV curtailment available, burning energy through
//!    round-trip losses is never strictly better than curtailing, so this is the usual case.
//! 3. Otherwise best-first branch and bound over the violated pairs only (each node solves an LP
//!    with some sides fixed to zero; children of a node branch on its most violated pair), until
//!    the relative gap between the incumbent and the lowest open bound is below `gap_tol` or
//!    `max_nodes` LPs have been solved ([`Method::BranchAndBound`]); the gap is reported.
//!
//! The bound is proven: every LP bound is a relaxation of the MILP restricted to its node, and
//! the open nodes together cover every feasible point not yet dominated by the incumbent.

use super::{clarabel, Problem, Solution, Status, VarId};
use serde::Serialize;

/// Branch-and-bound settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Relative gap at which the search stops (default 1e-4 = 0.01 %).
    pub gap_tol: f64,
    /// Largest number of LPs solved (default 200).
    pub max_nodes: usize,
    /// Both sides of a pair above this count as a violation (default 1e-6).
    pub tol: f64,
    /// Settings of each LP solve.
    pub lp: clarabel::Settings,
    /// Whether a caller whose problem has a structure solved exactly without the search may use
    /// it (default true): one battery's day by the dynamic programme of
    /// [`crate::storage::dp`] when its convexity precondition holds. `false` forces this
    /// search (a reference for tests). The search itself does not read it.
    pub dp: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gap_tol: 1e-4,
            max_nodes: 200,
            tol: 1e-6,
            lp: clarabel::Settings::default(),
            dp: true,
        }
    }
}

/// How the answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The LP relaxation had no violated pair: proven optimal.
    LpExact,
    /// Fixing the smaller side of each violated pair met the LP bound: proven optimal.
    FixSmaller,
    /// Branch and bound.
    BranchAndBound,
}

/// What the search found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The best point found (its status is the last solve's when nothing feasible was found).
    pub solution: Solution,
    /// How.
    pub method: Method,
    /// Proven lower bound on the MILP objective.
    pub lower_bound: f64,
    /// Relative gap `(objective − bound)/max(|objective|, 1e-9)`; 0 when proven optimal, ∞ when
    /// no MILP-feasible point was found.
    pub gap: f64,
    /// Violated pairs in the LP relaxation.
    pub lp_violations: usize,
    /// LPs solved.
    pub nodes: usize,
}

/// Relative gap between an upper and a lower bound.
pub fn rel_gap(ub: f64, lb: f64) -> f64 {
    ((ub - lb) / ub.abs().max(1e-9)).max(0.0)
}

fn violated(sol: &Solution, pairs: &[(VarId, VarId)], tol: f64) -> Vec<usize> {
    (0..pairs.len())
        .filter(|&k| sol.x[pairs[k].0] > tol && sol.x[pairs[k].1] > tol)
        .collect()
}

fn solve_fixed(p: &Problem, fixes: &[VarId], st: &Settings) -> Solution {
    if fixes.is_empty() {
        return clarabel::solve(p, &st.lp);
    }
    let mut q = p.clone();
    for &v in fixes {
        q.ub[v.index()] = 0.0;
    }
    clarabel::solve(&q, &st.lp)
}

/// Solves `p` with the complementarity `pairs` (see the module docs).
pub fn solve(p: &Problem, pairs: &[(VarId, VarId)], st: &Settings) -> Outcome {
    let root = clarabel::solve(p, &st.lp);
    let lb = root.objective;
    if !root.status.is_ok() {
        return Outcome {
            solution: root,
            method: Method::LpExact,
            lower_bound: f64::NAN,
            gap: f64::INFINITY,
            lp_violations: 0,
            nodes: 1,
        };
    }
    let sim = violated(&root, pairs, st.tol);
    let lp_violations = sim.len();
    if sim.is_empty() {
        return Outcome {
            solution: root,
            method: Method::LpExact,
            lower_bound: lb,
            gap: 0.0,
            lp_violations,
            nodes: 1,
        };
    }
    let smaller = |sol: &Solution, k: usize| {
        let (a, b) = pairs[k];
        if sol.x[a] >= sol.x[b] {
            b
        } else {
            a
        }
    };
    // 2. Fix the smaller side, repeating while new violations appear.
    let mut fixes: Vec<VarId> = Vec::new();
    let mut cur = root.clone();
    let mut nodes = 1;
    let mut incumbent: Option<Solution> = None;
    for _ in 0..5 {
        let s = violated(&cur, pairs, st.tol);
        if s.is_empty() {
            incumbent = Some(cur.clone());
            break;
        }
        fixes.extend(s.iter().map(|&k| smaller(&cur, k)));
        let next = solve_fixed(p, &fixes, st);
        nodes += 1;
        if !next.status.is_ok() {
            break;
        }
        cur = next;
    }
    if let Some(inc) = &incumbent {
        if rel_gap(inc.objective, lb) <= st.gap_tol {
            return Outcome {
                gap: rel_gap(inc.objective, lb),
                solution: incumbent.unwrap_or(root),
                method: Method::FixSmaller,
                lower_bound: lb,
                lp_violations,
                nodes,
            };
        }
    }
    // 3. Best-first branch and bound.
    let mut best = incumbent;
    let mut open: Vec<(f64, Vec<VarId>, Solution)> = vec![(lb, Vec::new(), root.clone())];
    let mut proven_lb = lb;
    while let Some(pos) = open
        .iter()
        .enumerate()
        .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
        .map(|(i, _)| i)
    {
        let bound = open[pos].0;
        proven_lb = bound;
        if let Some(inc) = &best {
            if rel_gap(inc.objective, bound) <= st.gap_tol {
                break;
            }
        }
        if nodes >= st.max_nodes {
            break;
        }
        let (bound, fx, sol) = open.swap_remove(pos);
        let s = violated(&sol, pairs, st.tol);
        let Some(&k) = s.iter().max_by(|&&a, &&b| {
            let m = |k: usize| sol.x[pairs[k].0].min(sol.x[pairs[k].1]);
            m(a).total_cmp(&m(b))
        }) else {
            if best
                .as_ref()
                .is_none_or(|inc| sol.objective < inc.objective)
            {
                best = Some(sol);
            }
            continue;
        };
        for side in [pairs[k].0, pairs[k].1] {
            let mut f2 = fx.clone();
            f2.push(side);
            let child = solve_fixed(p, &f2, st);
            nodes += 1;
            if !child.status.is_ok() {
                continue;
            }
            if best
                .as_ref()
                .is_some_and(|inc| child.objective >= inc.objective)
            {
                continue;
            }
            open.push((child.objective.max(bound), f2, child));
        }
    }
    if open.is_empty() {
        // The search is complete: the incumbent is optimal.
        if let Some(b) = &best {
            proven_lb = b.objective;
        }
    }
    match best {
        Some(inc) => {
            let lower_bound = proven_lb.min(inc.objective);
            Outcome {
                gap: rel_gap(inc.objective, lower_bound),
                solution: inc,
                method: Method::BranchAndBound,
                lower_bound,
                lp_violations,
                nodes,
            }
        }
        None => Outcome {
            solution: Solution {
                status: Status::MaxIterations,
                ..cur
            },
            method: Method::BranchAndBound,
            lower_bound: proven_lb,
            gap: f64::INFINITY,
            lp_violations,
            nodes,
        },
    }
}
