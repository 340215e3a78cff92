//! AC power flow on radial feeders by the current-injection fixed point, with the admittance
//! matrix factorised once per topology by tree elimination.
//!
//! # The fixed point
//!
//! With `Y` the bus admittance matrix of the π branches (the same `Y` as Newton–Raphson, built
//! from [`Branch::admittances`](crate::network::electrical::Branch::admittances): series
//! impedance, line charging, the trafo's magnetising branch through pandapower's exact T→π
//! conversion, off-nominal ratio `τ` and phase shift `φ`), constant-power injections
//! `S_i = P_i + jQ_i` (generator convention, p.u.) and the slack voltage `U_s`, the AC power
//! flow is `U_i · conj((Y U)_i) = S_i` at every non-slack node, i.e.
//!
//! ```text
//!   (Y U)_i = I_i(U) = conj(S_i / U_i)            (i ≠ s)
//! ```
//!
//! The only non-linearity is the load current `I(U)`. The fixed point (power-grid-model's
//! `iterative_current`) freezes it at the previous iterate and solves the *linear* system
//!
//! ```text
//!   Y_rr U^{k+1} = I(U^k) − Y_rs U_s
//! ```
//!
//! whose matrix never changes: it is factorised once per topology and every iteration costs
//! two triangular sweeps. On a **tree** the factorisation needs no sparse LU at all. Numbering
//! the nodes in breadth-first order from the slack (every parent before its children) and
//! eliminating leaves first produces no fill-in; with `p(k)` the parent of `k`, the pivots are
//!
//! ```text
//!   d_k = Y_kk − Σ_{c child of k} Y_kc Y_ck / d_c          (leaves first)
//! ```
//!
//! and one iteration is the backward/forward sweep of Shirmohammadi et al. written for a
//! general two-port branch:
//!
//! ```text
//!   backward (leaves → slack):  r_k = I_k(U^k) − Σ_{c child of k} (Y_kc / d_c) r_c
//!   forward  (slack → leaves):  U_k^{k+1} = (r_k − Y_{k,p(k)} U_{p(k)}^{k+1}) / d_k
//! ```
//!
//! The backward sweep accumulates the subtree currents (the branch currents of the classic
//! sweep, here including every shunt and the ideal transformer exactly because they are inside
//! `Y`); the forward sweep is the voltage drop along each branch. Because `Y_kc ≠ Y_ck` is
//! allowed, phase-shifting transformers (`Y_ft = −y_s/t*`, `Y_tf = −y_s/t`) need nothing special.
//! Cost: O(n) per iteration and O(n) once per topology; no allocation per step.
//!
//! # Convergence test, exact and for free
//!
//! Since `Y U^{k+1} = I(U^k)` holds exactly (up to rounding of the sweeps), the power mismatch
//! at the new iterate is
//!
//! ```text
//!   ΔS_i = U_i^{k+1} conj((Y U^{k+1})_i) − S_i = S_i (U_i^{k+1}/U_i^k − 1) = ΔU_i · conj(I_i(U^k))
//! ```
//!
//! so the mismatch of every node is known after each forward sweep without another product
//! with `Y`. The fixed point converges *linearly*: when it stops, every node still carries a
//! mismatch of the order of the tolerance, and these errors have the same sign along a feeder,
//! so they add up in the branch flows and the slack power (Newton's quadratic convergence
//! overshoots the tolerance by orders of magnitude and hides this). Newton's test
//! `max_i(|ΔP_i|, |ΔQ_i|) < tol` would leave the slack power of a 10⁵-node feeder wrong by up to
//! 10⁵·tol. The radial method therefore stops on the **sum**
//!
//! ```text
//!   Σ_{i ≠ s} |ΔP_i| + |ΔQ_i|  <  tol        (default 1e-10 MVA, as Newton; pandapower 1e-9)
//! ```
//!
//! which bounds, to first order, the error of the slack power and of every branch flow (each is
//! a sum of nodal mismatches over a subtree) by the tolerance, and implies Newton's test. This
//! sum is what [`AcSolution::log`](super::ac::AcSolution::log) records per iteration. Each digit
//! costs about one iteration on LV feeders, so the sum costs `log₁₀ n` iterations more than the
//! maximum would. The branch flows are then computed from the final voltages and the mismatch is
//! *recomputed* from them exactly as Newton defines it (`max |ΔP|, |ΔQ|` at every non-slack
//! node, which includes the rounding of the sweeps); only if that also passes is the solution
//! reported converged. Non-finite numbers never pass.
//!
//! # Why it converges on LV feeders, and when it does not
//!
//! The error propagates as `δU^{k+1} = Y_rr⁻¹ (∂I/∂U) δU^k`, and `|∂I_i/∂U_i| = |S_i|/|U_i|²`,
//! so the contraction factor is roughly the largest relative voltage drop `|Z S|/|U|²` the
//! injections cause: a few per cent on a normally loaded LV feeder (one more digit every
//! iteration), 0.2–0.3 at the 0.80 p.u. of a twice-overloaded feeder, and ≥ 1 near the nose
//! of the PV curve, where no solution may exist. In a time series the start point is the
//! previous step's solution, so only the change between steps has to be iterated away.
//! The iteration stops early, reporting `converged = false`, when the mismatch becomes
//! non-finite, grows for three iterations in a row, or shrinks so slowly that the iteration
//! limit cannot be reached; [`AcModel::solve_into`](super::ac::AcModel::solve_into) then falls
//! back to Newton–Raphson.
//!
//! # Angles
//!
//! `va_rad` is unwrapped along the tree: each node's angle is its parent's plus the branch's
//! nominal shift (`−φ` walking from the HV to the LV side, as in the DC model) plus the small
//! angle across the branch, so trafo phase shifts accumulate exactly as in the Newton solution
//! started from the DC angles (and as in pandapower).
//!
//! # Sources
//!
//! - D. Shirmohammadi, H. W. Hong, A. Semlyen, G. X. Luo, "A compensation-based power flow
//!   method for weakly meshed distribution and transmission networks", IEEE Trans. Power
//!   Systems 3(2), 1988 (the backward/forward sweep).
//! - power-grid-model, "Calculations: iterative current" (user manual) and
//!   `iterative_current_pf_solver.hpp`: the same fixed point with a prefactorised `Y`,
//!   convergence on the voltage change (here: on the exact power mismatch instead).
//! - W. H. Kersting, *Distribution System Modeling and Analysis*, ch. 10 (the ladder iterative
//!   technique with generalized two-port branch matrices).

use super::ac::{AcMethod, AcSolution, IterationRecord};
use crate::error::{Error, Location, Result};
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use num_complex::Complex64;
use serde::Serialize;

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// Settings of the radial fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RadialOptions {
    /// Convergence tolerance, MVA (default 1e-10, as Newton), on the *sum* over the non-slack
    /// nodes of `|ΔP_i| + |ΔQ_i|` (see the module docs for why the sum); the recomputed
    /// mismatch must also pass Newton's test `max(|ΔP_i|, |ΔQ_i|) < tol`.
    pub tol_mva: f64,
    /// Iteration limit (default 100; each iteration costs two O(n) sweeps).
    pub max_iter: usize,
    /// Start from the previous step's voltages kept in the workspace (default true). The first
    /// step, and any step after a failed one, starts flat (slack voltage rotated and scaled by
    /// the trafo ratios along the path).
    pub warm_start: bool,
}

impl Default for RadialOptions {
    fn default() -> Self {
        RadialOptions {
            tol_mva: 1e-10,
            max_iter: 100,
            warm_start: true,
        }
    }
}

/// The radial AC model of one topology: breadth-first numbering, the tree factorisation of `Y`
/// and the branch admittances for the flows.
#[derive(Debug, Clone)]
pub struct RadialModel {
    n: usize,
    slack: usize,
    sn_mva: f64,
    u_slack: Complex64,
    slack_va_rad: f64,
    /// BFS position → node.
    node_of: Vec<usize>,
    /// Node → BFS position.
    pos_of: Vec<usize>,
    /// BFS position → parent position (0 for the slack itself).
    parent: Vec<u32>,
    /// 1 / d_k.
    inv_d: Vec<Complex64>,
    /// Y_{k,p(k)} / d_k (forward sweep).
    up: Vec<Complex64>,
    /// Y_{p(k),k} / d_k (backward sweep).
    down: Vec<Complex64>,
    /// Flat start per position: the slack voltage carried through the trafo ratios.
    u_flat: Vec<Complex64>,
    /// Nominal angle step from the parent (−φ from HV to LV, +φ the other way), radians.
    shift_from_parent: Vec<f64>,
    /// e^{−j·shift_from_parent}: turns `U_k·conj(U_p)` into the small angle across the branch.
    unshift: Vec<Complex64>,
    /// Branches in grid order: (from position, to position, [Y_ff, Y_ft, Y_tf, Y_tt]).
    branches: Vec<(u32, u32, [Complex64; 4])>,
}

/// State kept across the steps of a time series: the last voltages (warm start) and the
/// scratch of the sweeps. Create with [`RadialModel::workspace`]; nothing is allocated per step.
#[derive(Debug, Clone)]
pub struct RadialWorkspace {
    /// Voltage per position, p.u.
    u: Vec<Complex64>,
    /// Own current injection per position (at the previous iterate).
    cur: Vec<Complex64>,
    /// Accumulated (subtree) current per position.
    acc: Vec<Complex64>,
    /// conj(S) per position, p.u.
    s_conj: Vec<Complex64>,
    /// Power leaving each position on its branches, p.u.
    s_calc: Vec<Complex64>,
    /// Unwrapped angle per position, radians.
    va_pos: Vec<f64>,
    /// `u` holds a converged solution.
    warm: bool,
}

impl RadialWorkspace {
    /// Forgets the kept voltages: the next solve starts flat.
    pub fn reset(&mut self) {
        self.warm = false;
    }
}

/// `arg(w)` for `w` near the positive real axis (the angle across one branch once the nominal
/// shift is removed): the odd series of `atan(t)`, `t = Im w / Re w`, for `|t| ≤ 1/16`, where
/// the first omitted term is below 2⁻⁷⁰ relative; `atan2` otherwise.
#[inline(always)]
fn arg_near_real(w: Complex64) -> f64 {
    let t = w.im / w.re;
    if w.re > 0.0 && t.abs() <= 0.0625 {
        let t2 = t * t;
        // atan t = t (1 − t²/3 + t⁴/5 − … − t¹⁴/15), Horner in t².
        let mut acc = -1.0 / 15.0;
        acc = acc * t2 + 1.0 / 13.0;
        acc = acc * t2 - 1.0 / 11.0;
        acc = acc * t2 + 1.0 / 9.0;
        acc = acc * t2 - 1.0 / 7.0;
        acc = acc * t2 + 1.0 / 5.0;
        acc = acc * t2 - 1.0 / 3.0;
        t + t * t2 * acc
    } else {
        w.im.atan2(w.re)
    }
}

impl RadialModel {
    /// Builds the tree factorisation. Fails with [`Error::Invalid`] if the grid is not radial
    /// (meshed, or with parallel branches) and with [`Error::Numerical`] if a pivot of the tree
    /// elimination is zero or not finite (degenerate branch data such as r = 1e308 Ω).
    pub fn new(grid: &Grid) -> Result<RadialModel> {
        RadialModel::with_topology(grid, &Topology::new(grid))
    }

    /// [`RadialModel::new`] with the grid's BFS tree already built.
    pub fn with_topology(grid: &Grid, topo: &Topology) -> Result<RadialModel> {
        let n = grid.n_nodes();
        if !topo.is_radial() {
            return Err(Error::invalid(
                Location::file(grid.name.clone()),
                format!(
                    "not radial ({} branches for {} nodes): the radial AC method needs a tree",
                    grid.branches.len(),
                    n
                ),
            ));
        }
        if n > u32::MAX as usize {
            return Err(Error::invalid(
                Location::file(grid.name.clone()),
                format!("{n} nodes: the radial method indexes nodes with 32 bits"),
            ));
        }
        let node_of: Vec<usize> = topo.bfs_order().to_vec();
        debug_assert_eq!(node_of.len(), n);
        let mut pos_of = vec![0usize; n];
        for (k, &i) in node_of.iter().enumerate() {
            pos_of[i] = k;
        }
        let branches: Vec<(u32, u32, [Complex64; 4])> = grid
            .branches
            .iter()
            .map(|b| (pos_of[b.from] as u32, pos_of[b.to] as u32, b.admittances()))
            .collect();
        let mut parent = vec![0u32; n];
        let mut d = vec![ZERO; n];
        let mut y_up = vec![ZERO; n];
        let mut y_down = vec![ZERO; n];
        let mut shift_from_parent = vec![0.0; n];
        let mut u_flat = vec![ZERO; n];
        let u_slack = Complex64::from_polar(grid.slack_vm_pu, grid.slack_va_rad);
        for &(f, t, y) in &branches {
            d[f as usize] += y[0];
            d[t as usize] += y[3];
        }
        u_flat[0] = u_slack;
        for k in 1..n {
            let node = node_of[k];
            let Some((pnode, br)) = topo.parent(node) else {
                return Err(Error::Numerical(format!("node {node} has no BFS parent")));
            };
            let p = pos_of[pnode];
            parent[k] = p as u32;
            let b = &grid.branches[br];
            let y = branches[br].2;
            let ratio = Complex64::from_polar(b.tap, b.shift_rad);
            if b.from == pnode {
                // Walking HV → LV: U_to ≈ U_from / t.
                y_up[k] = y[2];
                y_down[k] = y[1];
                shift_from_parent[k] = -b.shift_rad;
                u_flat[k] = u_flat[p] / ratio;
            } else {
                y_up[k] = y[1];
                y_down[k] = y[2];
                shift_from_parent[k] = b.shift_rad;
                u_flat[k] = u_flat[p] * ratio;
            }
        }
        // Tree elimination, leaves first (children have larger positions than their parent).
        let mut inv_d = vec![ZERO; n];
        let mut up = vec![ZERO; n];
        let mut down = vec![ZERO; n];
        for k in (1..n).rev() {
            let dk = d[k];
            let inv = Complex64::new(1.0, 0.0) / dk;
            let scale = dk.norm();
            if !(scale.is_finite() && scale > 0.0 && inv.re.is_finite() && inv.im.is_finite()) {
                return Err(Error::Numerical(format!(
                    "tree elimination: pivot {dk} at node {} is zero or not finite",
                    node_of[k]
                )));
            }
            inv_d[k] = inv;
            up[k] = y_up[k] * inv;
            down[k] = y_down[k] * inv;
            let p = parent[k] as usize;
            d[p] -= y_down[k] * y_up[k] * inv;
        }
        let unshift = shift_from_parent
            .iter()
            .map(|&s| Complex64::from_polar(1.0, -s))
            .collect();
        Ok(RadialModel {
            n,
            slack: grid.slack,
            sn_mva: grid.sn_mva,
            u_slack,
            slack_va_rad: grid.slack_va_rad,
            node_of,
            pos_of,
            parent,
            inv_d,
            up,
            down,
            u_flat,
            shift_from_parent,
            unshift,
            branches,
        })
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.n
    }

    /// BFS position of a node (0 = the slack).
    pub fn position(&self, node: usize) -> usize {
        self.pos_of[node]
    }

    /// A workspace for allocation-free solves (cold: the first solve starts flat).
    pub fn workspace(&self) -> RadialWorkspace {
        RadialWorkspace {
            u: self.u_flat.clone(),
            cur: vec![ZERO; self.n],
            acc: vec![ZERO; self.n],
            s_conj: vec![ZERO; self.n],
            s_calc: vec![ZERO; self.n],
            va_pos: vec![0.0; self.n],
            warm: false,
        }
    }

    /// Convenience: allocate a workspace and solve once from a flat start.
    pub fn solve(&self, p_inj_mw: &[f64], q_inj_mvar: &[f64], opt: &RadialOptions) -> AcSolution {
        let mut ws = self.workspace();
        let mut out = AcSolution::default();
        self.solve_into(p_inj_mw, q_inj_mvar, opt, &mut ws, &mut out);
        out
    }

    /// Solves for injections (generator convention, MW/Mvar per node in grid order) and writes
    /// every field of `out`. Allocates nothing once `out` and `ws` have been used once (the
    /// iteration log keeps its capacity; only a failure message is formatted).
    ///
    /// # Panics
    /// If `p_inj_mw` or `q_inj_mvar` does not have one entry per node.
    pub fn solve_into(
        &self,
        p_inj_mw: &[f64],
        q_inj_mvar: &[f64],
        opt: &RadialOptions,
        ws: &mut RadialWorkspace,
        out: &mut AcSolution,
    ) {
        let n = self.n;
        assert_eq!(p_inj_mw.len(), n, "one active injection per node");
        assert_eq!(q_inj_mvar.len(), n, "one reactive injection per node");
        assert_eq!(ws.u.len(), n, "workspace of another model");
        let inv_sn = 1.0 / self.sn_mva;
        if !(opt.warm_start && ws.warm) {
            ws.u.copy_from_slice(&self.u_flat);
        }
        ws.warm = false;
        ws.u[0] = self.u_slack;
        out.log.clear();
        out.failure = None;
        out.fallback = None;
        out.method = AcMethod::IterativeCurrent;
        out.converged = false;

        // Slices of length exactly n: indexing by k < n needs no bounds check.
        let (u, cur, acc, s_conj) = (
            &mut ws.u[..n],
            &mut ws.cur[..n],
            &mut ws.acc[..n],
            &mut ws.s_conj[..n],
        );
        let (parent, inv_d, up, down, node_of) = (
            &self.parent[..n],
            &self.inv_d[..n],
            &self.up[..n],
            &self.down[..n],
            &self.node_of[..n],
        );
        // conj(S) in positions, and the currents at the start point.
        s_conj[0] = ZERO;
        cur[0] = ZERO;
        for k in 1..n {
            let i = node_of[k];
            let sc = Complex64::new(p_inj_mw[i] * inv_sn, -q_inj_mvar[i] * inv_sn);
            s_conj[k] = sc;
            let uk = u[k];
            let c = sc * uk * (1.0 / uk.norm_sqr());
            cur[k] = c;
            acc[k] = c;
        }
        let tol = opt.tol_mva * inv_sn;
        let mut iterations = 0;
        let mut prev = f64::INFINITY;
        let mut growing = 0;
        let mut stop: Option<String> = None;
        let mut small = false;
        while iterations < opt.max_iter {
            iterations += 1;
            // Backward sweep: subtree currents.
            acc[0] = ZERO;
            for k in (1..n).rev() {
                let a = acc[k];
                acc[parent[k] as usize] -= down[k] * a;
            }
            // Forward sweep: voltages, the mismatch they leave (ΔS = ΔU·conj(I_old)), and the
            // currents of the next iteration.
            let mut l1 = 0.0;
            for k in 1..n {
                let up_u = u[parent[k] as usize];
                let new = inv_d[k] * acc[k] - up[k] * up_u;
                let ds = (new - u[k]) * cur[k].conj();
                l1 += ds.re.abs() + ds.im.abs();
                u[k] = new;
                let c = s_conj[k] * new * (1.0 / new.norm_sqr());
                cur[k] = c;
                acc[k] = c;
            }
            out.log.push(IterationRecord {
                iteration: iterations,
                max_mismatch_mva: l1 * self.sn_mva,
            });
            if !l1.is_finite() {
                stop = Some("mismatch became NaN/inf (diverged)".into());
                break;
            }
            if l1 < tol {
                small = true;
                break;
            }
            // Give up early when the iteration cannot reach the tolerance.
            let q = l1 / prev;
            prev = l1;
            if q >= 1.0 {
                growing += 1;
                if growing >= 3 {
                    stop = Some(format!(
                        "fixed point diverges (mismatch {:.3e} MVA grew 3 iterations in a row)",
                        l1 * self.sn_mva
                    ));
                    break;
                }
            } else {
                growing = 0;
                if iterations >= 4 && q > 0.0 {
                    let left = (tol / l1).ln() / q.ln();
                    if iterations as f64 + left > opt.max_iter as f64 {
                        stop = Some(format!(
                            "fixed point too slow (contraction {q:.3} per iteration, mismatch \
                             {:.3e} MVA after {iterations} iterations)",
                            l1 * self.sn_mva
                        ));
                        break;
                    }
                }
            }
        }
        out.iterations = iterations;
        if !small && stop.is_none() {
            stop = Some(format!(
                "no convergence in {} iterations (mismatch {:.3e} MVA)",
                opt.max_iter,
                prev * self.sn_mva
            ));
        }
        let own_slack_mva = Complex64::new(p_inj_mw[self.slack], q_inj_mvar[self.slack]);
        let worst = self.finish(own_slack_mva, ws, out);
        if small {
            let finite =
                worst.is_finite() && out.slack_p_mw.is_finite() && out.slack_q_mvar.is_finite();
            if worst < tol && finite {
                out.converged = true;
                ws.warm = true;
            } else {
                stop = Some(format!(
                    "recomputed mismatch {:.3e} MVA is above the tolerance (rounding)",
                    worst * self.sn_mva
                ));
            }
        }
        out.failure = stop;
    }

    /// Voltages in polar form per node, flows per branch and slack power; returns Newton's
    /// mismatch `max(|ΔP_i|, |ΔQ_i|)` over the non-slack nodes, recomputed from the flows (p.u.),
    /// or NaN if any voltage, angle or flow is not finite.
    fn finish(
        &self,
        own_slack_mva: Complex64,
        ws: &mut RadialWorkspace,
        out: &mut AcSolution,
    ) -> f64 {
        let n = self.n;
        let sn = self.sn_mva;
        out.vm_pu.resize(n, 0.0);
        out.va_rad.resize(n, 0.0);
        let (u, va_pos, s_calc) = (&ws.u[..n], &mut ws.va_pos[..n], &mut ws.s_calc[..n]);
        let (parent, node_of) = (&self.parent[..n], &self.node_of[..n]);
        let (shift_from_parent, unshift) = (&self.shift_from_parent[..n], &self.unshift[..n]);
        let (vm_out, va_out) = (&mut out.vm_pu[..n], &mut out.va_rad[..n]);
        va_pos[0] = self.slack_va_rad;
        vm_out[self.slack] = u[0].norm_sqr().sqrt();
        va_out[self.slack] = self.slack_va_rad;
        // NaN/inf anywhere makes the sum non-finite.
        let mut guard = 0.0;
        for k in 1..n {
            let uk = u[k];
            let p = parent[k] as usize;
            // Angle across the branch, nominal shift removed, unwrapped along the tree.
            let shift = shift_from_parent[k];
            let mut w = uk * u[p].conj();
            if shift != 0.0 {
                w *= unshift[k];
            }
            let va = va_pos[p] + shift + arg_near_real(w);
            va_pos[k] = va;
            let vm = uk.norm_sqr().sqrt();
            guard += va + vm;
            let i = node_of[k];
            vm_out[i] = vm;
            va_out[i] = va;
        }
        out.flows.resize(self.branches.len(), [0.0; 4]);
        s_calc.fill(ZERO);
        for (fl, &(f, t, y)) in out.flows.iter_mut().zip(&self.branches) {
            let (f, t) = (f as usize, t as usize);
            let (uf, ut) = (u[f], u[t]);
            let i_f = y[0] * uf + y[1] * ut;
            let i_t = y[2] * uf + y[3] * ut;
            let s_f = uf * i_f.conj();
            let s_t = ut * i_t.conj();
            s_calc[f] += s_f;
            s_calc[t] += s_t;
            *fl = [s_f.re * sn, s_f.im * sn, s_t.re * sn, s_t.im * sn];
        }
        // Mismatch S_calc − S = S_calc − conj(s_conj) at every non-slack position.
        let mut worst: f64 = 0.0;
        for (sc, sj) in s_calc[1..].iter().zip(&ws.s_conj[1..]) {
            let d = sc - sj.conj();
            worst = worst.max(d.re.abs()).max(d.im.abs());
            guard += d.re + d.im;
        }
        if !guard.is_finite() {
            worst = f64::NAN;
        }
        // Drawn from the upstream grid: what the slack's branches carry minus its own injection.
        let s_slack = s_calc[0] * sn - own_slack_mva;
        out.slack_p_mw = s_slack.re;
        out.slack_q_mvar = s_slack.im;
        worst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The series arctangent equals `atan2` to rounding on both sides of its switch-over.
    #[test]
    fn arg_near_real_matches_atan2() {
        for i in -2000..=2000 {
            let t = i as f64 * 1e-4; // |t| up to 0.2, across the 1/16 switch-over
            for r in [0.5, 1.0, 1.7] {
                let w = Complex64::new(r, r * t);
                let exact = w.im.atan2(w.re);
                let got = arg_near_real(w);
                assert!(
                    (got - exact).abs() <= 4.0 * f64::EPSILON * exact.abs().max(1e-300),
                    "t = {t}: {got:e} vs {exact:e}"
                );
            }
        }
        // Far from the real axis and on the negative side it is atan2 itself.
        for w in [Complex64::new(-1.0, 0.01), Complex64::new(0.1, 2.0)] {
            assert_eq!(arg_near_real(w), w.im.atan2(w.re));
        }
    }
}
