//! AC power flow by Newton–Raphson in polar coordinates on the sparse Jacobian.
//!
//! # Model
//!
//! The bus admittance matrix `Y` is assembled from the π branches of [`Grid`] (see
//! [`crate::network::electrical`] for the branch model, identical to pandapower's `makeYbus`).
//! Every node but the slack is a PQ node with constant-power injections; the slack holds
//! `vm_pu` and `va_degree` of the ext_grid. With `V_i = |V_i| e^{jθ_i}` and
//! `S_i = V_i (Y V)_i^*`, Newton's method solves `F(θ, |V|) = S(θ,|V|) − S_spec = 0` for the
//! `2(n−1)` unknowns:
//!
//! ```text
//!   J Δx = −F,   J = [ ∂P/∂θ  ∂P/∂|V| ]
//!                    [ ∂Q/∂θ  ∂Q/∂|V| ]
//!   i ≠ j:  ∂P_i/∂θ_j = |V_i||V_j|(G sin θ_ij − B cos θ_ij)   ∂P_i/∂|V_j| = |V_i|(G cos θ_ij + B sin θ_ij)
//!           ∂Q_i/∂θ_j = −|V_i||V_j|(G cos θ_ij + B sin θ_ij)  ∂Q_i/∂|V_j| = |V_i|(G sin θ_ij − B cos θ_ij)
//!   i = j:  ∂P_i/∂θ_i = −Q_i − B_ii|V_i|²    ∂P_i/∂|V_i| = P_i/|V_i| + G_ii|V_i|
//!           ∂Q_i/∂θ_i =  P_i − G_ii|V_i|²    ∂Q_i/∂|V_i| = Q_i/|V_i| − B_ii|V_i|
//! ```
//!
//! The Jacobian's sparsity is that of `Y` in 2×2 blocks; it is laid out once, its symbolic LU
//! (faer, COLAMD ordering) computed once, and only values change between iterations and
//! between solves of the same topology ([`AcModel`]). The off-diagonal terms are evaluated from
//! `V_i V_j* = |V_i||V_j| e^{jθ_ij}` (no trigonometry per entry). The start point is the DC
//! solution's angles (pandapower's `init="dc"`, which keeps trafo phase shifts) and flat
//! magnitudes, or, in a time series, the previous step's solution.
//!
//! # Kept Jacobian factor (chord steps)
//!
//! A numeric LU is the dearest part of an iteration. With
//! [`AcSolveOptions::reuse_jacobian`] the last factor is kept and reused (`J_old Δx = −F(x)`,
//! a chord step) as long as the mismatch falls at least tenfold per iteration; as soon as it
//! falls less, the Jacobian is rebuilt and refactorised at the current point (a full Newton
//! step), and a chord step that *increases* the mismatch is undone and replaced by a Newton step.
//! The factor is kept across the steps of a time series too. The stopping test is the same
//! mismatch `max(|ΔP|, |ΔQ|) < tol` in every case, so the converged point is Newton's; only the
//! path differs. Non-finite mismatches, voltages or flows never count as converged.
//!
//! A cold solve of village80x1266 (10⁵ nodes) with its design loads takes one factorisation
//! and 7 iterations instead of three and three; the one-off solve of the design-peak step takes
//! about 0.1 s instead of 0.16 s (`benches/ac_series.rs`, `newton_single` vs
//! `newton_single_refactor`, medians of three runs). The price: chord steps converge linearly, so the final mismatch sits just under the tolerance
//! instead of far below it, and the mismatches of 10⁵ nodes add up in the slack power
//! (2.6e-7 MW off the fully converged value at the default 1e-10 MVA there, against 6e-9 MW
//! refactorising every iteration; both far inside pandapower's agreement). Set
//! `reuse_jacobian: false`, or a smaller tolerance, when sums over 10⁵ nodes must hold to 1e-9.
//!
//! # Time series and the radial method
//!
//! [`AcModel::solve_into`] is the allocation-free entry point for a sequence of steps on one
//! topology: the state (last voltages for a warm start, Newton's last factor, the radial
//! method's tree factorisation) lives in an [`AcWorkspace`]. With [`AcMethod::Auto`] it runs the
//! current-injection fixed point of [`super::radial`] on radial grids and falls back to
//! Newton–Raphson on meshed grids or when the radial method does not converge
//! ([`AcSolution::method`] and [`AcSolution::fallback`] report which ran and why).
//! [`AcModel::solve`] is the one-off Newton solve from the DC start, as before.
//!
//! Non-convergence is an *outcome*: [`AcSolution::converged`] is false and
//! [`AcSolution::log`] holds the mismatch of every iteration.

use super::dc::{DcModel, DcSolution, DcWorkspace};
use super::radial::{RadialModel, RadialOptions, RadialWorkspace};
use super::{NodalSolution, PfModel, PfReport};
use crate::error::Result;
use crate::network::electrical::Grid;
use crate::network::Network;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::sparse::linalg::lu::{factorize_symbolic_lu, LuRef, NumericLu, SymbolicLu};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par};
use num_complex::Complex64;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

const ZERO: Complex64 = Complex64::new(0.0, 0.0);

/// Newton–Raphson settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AcOptions {
    /// Convergence tolerance on the largest P/Q mismatch, MVA (default 1e-10).
    pub tol_mva: f64,
    /// Iteration limit (default 30).
    pub max_iter: usize,
}

impl Default for AcOptions {
    fn default() -> Self {
        AcOptions {
            tol_mva: 1e-10,
            max_iter: 30,
        }
    }
}

/// Which AC algorithm to run, or which one produced a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AcMethod {
    /// The radial method on radial grids, Newton–Raphson on meshed grids and whenever the radial
    /// method does not converge (only ever a request, never the method of a solution).
    Auto,
    /// Newton–Raphson in polar coordinates on the sparse Jacobian (this module).
    NewtonRaphson,
    /// The current-injection fixed point on the tree ([`super::radial`]).
    IterativeCurrent,
}

/// Settings of [`AcModel::solve_into`], the time-series entry point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AcSolveOptions {
    /// The algorithm (default [`AcMethod::Auto`]).
    pub method: AcMethod,
    /// Convergence tolerance on the largest P/Q mismatch, MVA, for both methods (default 1e-10).
    pub tol_mva: f64,
    /// Newton iteration limit (default 30).
    pub max_iter_newton: usize,
    /// Radial fixed-point iteration limit (default 100).
    pub max_iter_radial: usize,
    /// Start from the previous converged step kept in the workspace (default true).
    pub warm_start: bool,
    /// Newton: keep the last LU factor of the Jacobian while the mismatch keeps falling at least
    /// tenfold per iteration, within and across steps (default true). Convergence is tested on
    /// the same mismatch either way, so the converged answer is Newton's.
    pub reuse_jacobian: bool,
}

impl Default for AcSolveOptions {
    fn default() -> Self {
        AcSolveOptions::from(AcOptions::default())
    }
}

impl From<AcOptions> for AcSolveOptions {
    fn from(o: AcOptions) -> Self {
        AcSolveOptions {
            method: AcMethod::Auto,
            tol_mva: o.tol_mva,
            max_iter_newton: o.max_iter,
            max_iter_radial: 100,
            warm_start: true,
            reuse_jacobian: true,
        }
    }
}

/// One iteration's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IterationRecord {
    /// Iteration number (Newton: 0 = start point; radial: from 1).
    pub iteration: usize,
    /// Largest mismatch, MVA: Newton `max(|ΔP|, |ΔQ|)`; radial the largest `|ΔS|`, a bound on it.
    pub max_mismatch_mva: f64,
}

/// The outcome of an AC solve, per node and branch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcSolution {
    /// Whether the mismatch fell below the tolerance (never with a non-finite result).
    pub converged: bool,
    /// Iterations performed by [`AcSolution::method`].
    pub iterations: usize,
    /// Mismatch per iteration.
    pub log: Vec<IterationRecord>,
    /// Why it stopped without converging, if it did.
    pub failure: Option<String>,
    /// Voltage magnitude per node, p.u.
    pub vm_pu: Vec<f64>,
    /// Voltage angle per node, radians.
    pub va_rad: Vec<f64>,
    /// Per branch: (p_from_mw, q_from_mvar, p_to_mw, q_to_mvar).
    pub flows: Vec<[f64; 4]>,
    /// Power drawn from the upstream grid at the slack, MW.
    pub slack_p_mw: f64,
    /// Reactive power drawn from the upstream grid, Mvar.
    pub slack_q_mvar: f64,
    /// The algorithm that produced these numbers.
    pub method: AcMethod,
    /// With [`AcMethod::Auto`]: why Newton–Raphson ran instead of the radial method (grid not
    /// radial, or the radial method did not converge, with its reason and iterations).
    pub fallback: Option<String>,
}

impl Default for AcSolution {
    fn default() -> Self {
        AcSolution {
            converged: false,
            iterations: 0,
            log: Vec::new(),
            failure: None,
            vm_pu: Vec::new(),
            va_rad: Vec::new(),
            flows: Vec::new(),
            slack_p_mw: 0.0,
            slack_q_mvar: 0.0,
            method: AcMethod::NewtonRaphson,
            fallback: None,
        }
    }
}

/// The AC model of one topology: admittance matrix, Jacobian layout, symbolic LU, the DC
/// model used for the start point, and the radial model when the grid is a tree.
///
/// Newton–Raphson's symbolic LU and its workspace are made on its first solve: on a radial
/// feeder the radial method serves every step and Newton never runs, and at 10⁵ buses the
/// symbolic LU alone is a tenth of a day's study.
pub struct AcModel {
    n: usize,
    slack: usize,
    sn_mva: f64,
    slack_vm_pu: f64,
    /// Y in CSC: column j holds (i, Y_ij), rows ascending.
    y_colptr: Vec<usize>,
    y_row: Vec<usize>,
    y_val: Vec<Complex64>,
    red: Vec<usize>,
    /// The Jacobian's layout and symbolic LU, or why it failed (made on Newton's first solve).
    jac: OnceLock<std::result::Result<Jacobian, String>>,
    branches: Vec<(usize, usize, [Complex64; 4])>,
    dc: Arc<DcModel>,
    radial: std::result::Result<RadialModel, String>,
}

/// The Jacobian's CSC layout (2m × 2m: columns `[θ_0..θ_{m-1}, V_0..V_{m-1}]`, rows
/// `[P.., Q..]`; column j holds the P rows of Y's column j, slack row dropped, then the same rows
/// + m) and its symbolic LU.
struct Jacobian {
    colptr: Vec<usize>,
    row: Vec<usize>,
    sym: SymbolicLu<usize>,
}

/// Newton–Raphson's part of an [`AcWorkspace`]: its state, made on its first solve.
pub struct NewtonWorkspace {
    state: Option<NewtonState>,
    /// Numeric factorisations performed since the workspace was made (for benchmarks/tests).
    pub factorisations: usize,
}

/// Newton–Raphson state kept across steps: the last solution (warm start), the last LU factor
/// of the Jacobian, and all scratch.
struct NewtonState {
    s_spec: Vec<Complex64>,
    s_calc: Vec<Complex64>,
    v: Vec<Complex64>,
    iy: Vec<Complex64>,
    vm: Vec<f64>,
    va: Vec<f64>,
    vm_prev: Vec<f64>,
    va_prev: Vec<f64>,
    f: Vec<f64>,
    j_val: Vec<f64>,
    numeric: NumericLu<usize, f64>,
    mem: MemBuffer,
    dc_ws: DcWorkspace,
    dc_sol: DcSolution,
    /// `numeric` holds the factor of a Jacobian of this topology.
    lu_valid: bool,
    /// `vm`, `va` hold a converged solution.
    warm: bool,
}

/// Everything [`AcModel::solve_into`] keeps between the steps of a time series.
pub struct AcWorkspace {
    /// Newton–Raphson state.
    pub newton: NewtonWorkspace,
    /// Radial state (`None` on a meshed grid).
    pub radial: Option<RadialWorkspace>,
}

impl AcWorkspace {
    /// Forgets the kept solutions and factors: the next solve starts cold.
    pub fn reset(&mut self) {
        if let Some(n) = &mut self.newton.state {
            n.warm = false;
            n.lu_valid = false;
        }
        if let Some(r) = &mut self.radial {
            r.reset();
        }
    }
}

/// NaN-sticky maximum: once a NaN has been seen it stays.
#[inline(always)]
fn max_nan(acc: f64, x: f64) -> f64 {
    if x > acc || x.is_nan() {
        x
    } else {
        acc
    }
}

/// `e^{jθ}` for a Newton angle step: the Taylor series to θ⁹ for |θ| ≤ 1/16 (first omitted
/// term below 1e-19), `sin_cos` otherwise.
#[inline(always)]
fn rotation(th: f64) -> Complex64 {
    if th.abs() <= 0.0625 {
        let t2 = th * th;
        let c = 1.0 - t2 * (0.5 - t2 * (1.0 / 24.0 - t2 * (1.0 / 720.0 - t2 / 40320.0)));
        let s = th
            * (1.0 - t2 * (1.0 / 6.0 - t2 * (1.0 / 120.0 - t2 * (1.0 / 5040.0 - t2 / 362880.0))));
        Complex64::new(c, s)
    } else {
        let (s, c) = th.sin_cos();
        Complex64::new(c, s)
    }
}

/// Chord steps (kept Jacobian) continue while the mismatch falls at least by this factor.
const CHORD_RATIO: f64 = 0.1;

impl AcModel {
    /// Assembles `Y`, lays out the Jacobian and computes its symbolic LU; on a radial grid also
    /// the tree factorisation of the radial method.
    pub fn new(grid: &Grid) -> Result<AcModel> {
        AcModel::with_shared(grid, &super::Shared::new(grid)?)
    }

    /// [`AcModel::new`] with the grid's DC model and tree already built (one factorisation
    /// serves the power flows, the AC start point and the network correction).
    pub fn with_shared(grid: &Grid, shared: &super::Shared) -> Result<AcModel> {
        let dc = shared.dc.clone();
        let n = grid.n_nodes();
        let slack = grid.slack;
        let mut cols: Vec<Vec<(usize, Complex64)>> = vec![Vec::new(); n];
        let mut branches = Vec::with_capacity(grid.branches.len());
        for br in &grid.branches {
            let y = br.admittances();
            let (f, t) = (br.from, br.to);
            for (i, j, v) in [(f, f, y[0]), (f, t, y[1]), (t, f, y[2]), (t, t, y[3])] {
                cols[j].push((i, v));
            }
            branches.push((f, t, y));
        }
        // Make sure every diagonal is present (isolated-by-data nodes are impossible after
        // reachability filtering, but a zero diagonal must still be structurally there).
        for (j, c) in cols.iter_mut().enumerate() {
            c.push((j, ZERO));
        }
        let (mut y_colptr, mut y_row, mut y_val) = (vec![0], Vec::new(), Vec::<Complex64>::new());
        for c in &mut cols {
            c.sort_by_key(|&(i, _)| i);
            let mut last = usize::MAX;
            for &(i, v) in c.iter() {
                match y_val.last_mut() {
                    Some(x) if i == last => *x += v,
                    _ => {
                        y_row.push(i);
                        y_val.push(v);
                        last = i;
                    }
                }
            }
            y_colptr.push(y_row.len());
        }
        let mut red = vec![usize::MAX; n];
        let mut k = 0;
        for (i, r) in red.iter_mut().enumerate() {
            if i != slack {
                *r = k;
                k += 1;
            }
        }
        let radial = RadialModel::with_topology(grid, &shared.topo).map_err(|e| e.to_string());
        Ok(AcModel {
            n,
            slack,
            sn_mva: grid.sn_mva,
            slack_vm_pu: grid.slack_vm_pu,
            y_colptr,
            y_row,
            y_val,
            red,
            jac: OnceLock::new(),
            branches,
            dc,
            radial,
        })
    }

    /// The DC model built alongside (same topology).
    pub fn dc(&self) -> &DcModel {
        &self.dc
    }

    /// The radial model, or why there is none (meshed grid, degenerate pivot).
    pub fn radial(&self) -> std::result::Result<&RadialModel, &str> {
        self.radial.as_ref().map_err(|e| e.as_str())
    }

    /// A workspace for [`AcModel::solve_into`] (cold: the first solve starts from DC angles for
    /// Newton, flat for the radial method).
    pub fn workspace(&self) -> AcWorkspace {
        AcWorkspace {
            newton: NewtonWorkspace {
                state: None,
                factorisations: 0,
            },
            radial: self.radial.as_ref().ok().map(|r| r.workspace()),
        }
    }

    /// Solves for injections (generator convention, MW/Mvar per node) by Newton–Raphson from
    /// the DC angles and flat magnitudes (pandapower's `init="dc"`). Kept for one-off solves;
    /// for time series use [`AcModel::solve_into`].
    pub fn solve(&self, p_inj_mw: &[f64], q_inj_mvar: &[f64], opt: &AcOptions) -> AcSolution {
        let mut ws = self.workspace();
        let mut out = AcSolution::default();
        let o = AcSolveOptions {
            method: AcMethod::NewtonRaphson,
            warm_start: false,
            ..AcSolveOptions::from(*opt)
        };
        self.solve_into(p_inj_mw, q_inj_mvar, &o, &mut ws, &mut out);
        out
    }

    /// The time-series entry point: solves one step into `out`, keeping state in `ws` (warm
    /// start from the previous converged step, the radial factorisation, Newton's last LU
    /// factor). After the first step nothing is allocated (tested with a counting allocator),
    /// except inside faer's numeric LU when Newton refactorises, and a failure message.
    ///
    /// With [`AcMethod::Auto`], the radial method runs on radial grids; when the grid is meshed
    /// or the radial method does not converge, Newton–Raphson runs and
    /// [`AcSolution::fallback`] says why. With [`AcMethod::IterativeCurrent`] on a meshed grid,
    /// the solution is not converged and [`AcSolution::failure`] says why.
    ///
    /// # Panics
    /// If the injections do not have one entry per node, or `ws` belongs to another model.
    pub fn solve_into(
        &self,
        p_inj_mw: &[f64],
        q_inj_mvar: &[f64],
        opt: &AcSolveOptions,
        ws: &mut AcWorkspace,
        out: &mut AcSolution,
    ) {
        assert_eq!(p_inj_mw.len(), self.n, "one active injection per node");
        assert_eq!(q_inj_mvar.len(), self.n, "one reactive injection per node");
        let ropt = RadialOptions {
            tol_mva: opt.tol_mva,
            max_iter: opt.max_iter_radial,
            warm_start: opt.warm_start,
        };
        match opt.method {
            AcMethod::NewtonRaphson => self.newton_into(p_inj_mw, q_inj_mvar, opt, ws, out),
            AcMethod::IterativeCurrent => match (&self.radial, &mut ws.radial) {
                (Ok(r), Some(rws)) => r.solve_into(p_inj_mw, q_inj_mvar, &ropt, rws, out),
                (Err(why), _) => {
                    self.not_solved(out, format!("radial method not available: {why}"))
                }
                (Ok(_), None) => self.not_solved(out, "workspace has no radial state".to_string()),
            },
            AcMethod::Auto => {
                let why = match (&self.radial, &mut ws.radial) {
                    (Ok(r), Some(rws)) => {
                        r.solve_into(p_inj_mw, q_inj_mvar, &ropt, rws, out);
                        if out.converged {
                            return;
                        }
                        format!(
                            "radial method did not converge after {} iterations: {}",
                            out.iterations,
                            out.failure.as_deref().unwrap_or("unknown reason")
                        )
                    }
                    (Err(why), _) => format!("radial method not available: {why}"),
                    (Ok(_), None) => "workspace has no radial state".to_string(),
                };
                self.newton_into(p_inj_mw, q_inj_mvar, opt, ws, out);
                out.fallback = Some(why);
            }
        }
    }

    /// The Jacobian's layout and symbolic LU, made on the first call.
    fn jacobian_layout(&self) -> std::result::Result<&Jacobian, &str> {
        self.jac
            .get_or_init(|| {
                let (n, slack, m) = (self.n, self.slack, self.n - 1);
                let (y_colptr, y_row) = (&self.y_colptr, &self.y_row);
                let mut colptr = vec![0usize];
                let mut row = Vec::new();
                for _block in 0..2 {
                    for j in 0..n {
                        if j == slack {
                            continue;
                        }
                        let start = row.len();
                        for p in y_colptr[j]..y_colptr[j + 1] {
                            if y_row[p] != slack {
                                row.push(self.red[y_row[p]]);
                            }
                        }
                        let end = row.len();
                        for e in start..end {
                            row.push(row[e] + m);
                        }
                        colptr.push(row.len());
                    }
                }
                let pattern =
                    SymbolicSparseColMatRef::new_checked(2 * m, 2 * m, &colptr, None, &row);
                let sym = factorize_symbolic_lu(pattern, Default::default())
                    .map_err(|e| format!("symbolic LU of the Jacobian: {e:?}"))?;
                Ok(Jacobian { colptr, row, sym })
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// Newton's state for this model, cold.
    fn newton_state(&self, jac: &Jacobian) -> NewtonState {
        let sym = &jac.sym;
        let m = self.n - 1;
        let req = StackReq::any_of(&[
            sym.factorize_numeric_lu_scratch::<f64>(Par::Seq, Default::default()),
            sym.solve_in_place_scratch::<f64>(1, Par::Seq),
        ]);
        NewtonState {
            s_spec: vec![ZERO; self.n],
            s_calc: vec![ZERO; self.n],
            v: vec![ZERO; self.n],
            iy: vec![ZERO; self.n],
            vm: vec![self.slack_vm_pu; self.n],
            va: vec![0.0; self.n],
            vm_prev: vec![0.0; self.n],
            va_prev: vec![0.0; self.n],
            f: vec![0.0; 2 * m],
            j_val: vec![0.0; jac.row.len()],
            numeric: NumericLu::new(),
            mem: MemBuffer::new(req),
            dc_ws: self.dc.workspace(),
            dc_sol: DcSolution::default(),
            lu_valid: false,
            warm: false,
        }
    }

    fn not_solved(&self, out: &mut AcSolution, why: String) {
        out.converged = false;
        out.iterations = 0;
        out.log.clear();
        out.failure = Some(why);
        out.fallback = None;
        out.method = AcMethod::IterativeCurrent;
        out.vm_pu.clear();
        out.vm_pu.resize(self.n, f64::NAN);
        out.va_rad.clear();
        out.va_rad.resize(self.n, f64::NAN);
        out.flows.clear();
        out.flows.resize(self.branches.len(), [f64::NAN; 4]);
        out.slack_p_mw = f64::NAN;
        out.slack_q_mvar = f64::NAN;
    }

    /// Newton–Raphson with an optionally kept Jacobian factor (chord steps while the mismatch
    /// falls at least tenfold per iteration; a chord step that increases it is undone).
    fn newton_into(
        &self,
        p_inj_mw: &[f64],
        q_inj_mvar: &[f64],
        opt: &AcSolveOptions,
        ws: &mut AcWorkspace,
        out: &mut AcSolution,
    ) {
        let jac = match self.jacobian_layout() {
            Ok(jac) => jac,
            Err(why) => return self.not_solved(out, why.to_string()),
        };
        let sym = &jac.sym;
        let nw = &mut ws.newton;
        let ws = nw.state.get_or_insert_with(|| self.newton_state(jac));
        let n = self.n;
        let m = n - 1;
        let sn = self.sn_mva;
        let inv_sn = 1.0 / sn;
        for i in 0..n {
            ws.s_spec[i] = Complex64::new(p_inj_mw[i], q_inj_mvar[i]) * inv_sn;
        }
        if !(opt.warm_start && ws.warm) {
            // Start: DC angles, flat magnitudes at the slack set point.
            self.dc.solve_into(p_inj_mw, &mut ws.dc_ws, &mut ws.dc_sol);
            ws.va.copy_from_slice(&ws.dc_sol.va_rad);
            ws.vm.iter_mut().for_each(|v| *v = self.slack_vm_pu);
        }
        if !opt.reuse_jacobian {
            ws.lu_valid = false;
        }
        ws.warm = false;
        self.polar_to_rect(ws);
        out.log.clear();
        out.failure = None;
        out.fallback = None;
        out.method = AcMethod::NewtonRaphson;
        let mut converged = false;
        let mut iterations = 0;
        let tol = opt.tol_mva * inv_sn;
        let mut prev_worst = f64::INFINITY;
        let mut last_chord = false;
        let mut ratio_ok = true;
        loop {
            self.injections(ws);
            let mut worst: f64 = 0.0;
            for i in 0..n {
                let r = self.red[i];
                if r == usize::MAX {
                    continue;
                }
                let d = ws.s_calc[i] - ws.s_spec[i];
                ws.f[r] = d.re;
                ws.f[r + m] = d.im;
                worst = max_nan(max_nan(worst, d.re.abs()), d.im.abs());
            }
            out.log.push(IterationRecord {
                iteration: iterations,
                max_mismatch_mva: worst * sn,
            });
            if last_chord && (worst >= prev_worst || worst.is_nan()) {
                // The kept Jacobian made things worse (or non-finite): undo, refactor there.
                out.log.pop();
                ws.vm.copy_from_slice(&ws.vm_prev);
                ws.va.copy_from_slice(&ws.va_prev);
                self.polar_to_rect(ws);
                ws.lu_valid = false;
                last_chord = false;
                if iterations >= opt.max_iter_newton {
                    self.injections(ws);
                    out.failure = Some(format!(
                        "no convergence in {} iterations",
                        opt.max_iter_newton
                    ));
                    break;
                }
                continue;
            }
            if !worst.is_finite() {
                out.failure = Some("mismatch became NaN/inf (diverged)".into());
                break;
            }
            if worst < tol {
                converged = true;
                break;
            }
            if iterations >= opt.max_iter_newton {
                out.failure = Some(format!(
                    "no convergence in {} iterations (mismatch {:.3e} MVA)",
                    opt.max_iter_newton,
                    worst * sn
                ));
                break;
            }
            ratio_ok = ratio_ok && worst <= CHORD_RATIO * prev_worst;
            let chord = opt.reuse_jacobian && ws.lu_valid && ratio_ok;
            if !chord {
                self.jacobian(ws);
                let jac = SparseColMatRef::new(
                    SymbolicSparseColMatRef::new_checked(2 * m, 2 * m, &jac.colptr, None, &jac.row),
                    &ws.j_val,
                );
                nw.factorisations += 1;
                if let Err(e) = sym.factorize_numeric_lu(
                    &mut ws.numeric,
                    jac,
                    Par::Seq,
                    MemStack::new(&mut ws.mem),
                    Default::default(),
                ) {
                    ws.lu_valid = false;
                    out.failure = Some(format!("singular Jacobian: {e:?}"));
                    break;
                }
                ws.lu_valid = true;
                ratio_ok = true;
            }
            prev_worst = worst;
            for v in ws.f.iter_mut() {
                *v = -*v;
            }
            LuRef::new_unchecked(sym, &ws.numeric).solve_in_place_with_conj(
                Conj::No,
                MatMut::from_column_major_slice_mut(&mut ws.f, 2 * m, 1),
                Par::Seq,
                MemStack::new(&mut ws.mem),
            );
            ws.vm_prev.copy_from_slice(&ws.vm);
            ws.va_prev.copy_from_slice(&ws.va);
            // x += Δx, and V = |V|e^{jθ} updated by the same step without trigonometry:
            // V ← V · (|V|+Δ|V|)/|V| · e^{jΔθ}.
            for i in 0..n {
                let r = self.red[i];
                if r != usize::MAX {
                    let (dth, dvm) = (ws.f[r], ws.f[r + m]);
                    let vm_old = ws.vm[i];
                    ws.va[i] += dth;
                    ws.vm[i] += dvm;
                    ws.v[i] *= rotation(dth) * (ws.vm[i] / vm_old);
                }
            }
            last_chord = chord;
            iterations += 1;
        }
        // Branch flows and slack power at the final point (`v`, `s_calc` are current).
        out.flows.resize(self.branches.len(), [0.0; 4]);
        let mut finite = true;
        for (l, &(fb, tb, y)) in self.branches.iter().enumerate() {
            let (vf, vt) = (ws.v[fb], ws.v[tb]);
            let i_f = y[0] * vf + y[1] * vt;
            let i_t = y[2] * vf + y[3] * vt;
            let s_f = vf * i_f.conj() * sn;
            let s_t = vt * i_t.conj() * sn;
            let fl = [s_f.re, s_f.im, s_t.re, s_t.im];
            finite &= fl.iter().all(|x| x.is_finite());
            out.flows[l] = fl;
        }
        let s_slack = (ws.s_calc[self.slack] - ws.s_spec[self.slack]) * sn;
        out.slack_p_mw = s_slack.re;
        out.slack_q_mvar = s_slack.im;
        finite &= s_slack.re.is_finite() && s_slack.im.is_finite();
        finite &= ws.vm.iter().chain(&ws.va).all(|x| x.is_finite());
        if converged && !finite {
            converged = false;
            out.failure = Some("non-finite voltages or flows".into());
        }
        if !converged {
            ws.lu_valid = false;
        }
        out.converged = converged;
        out.iterations = iterations;
        out.vm_pu.clear();
        out.vm_pu.extend_from_slice(&ws.vm);
        out.va_rad.clear();
        out.va_rad.extend_from_slice(&ws.va);
        ws.warm = converged;
    }

    /// `v = vm·e^{jθ}` for all nodes.
    fn polar_to_rect(&self, ws: &mut NewtonState) {
        for ((v, &vm), &va) in ws.v.iter_mut().zip(&ws.vm).zip(&ws.va) {
            *v = Complex64::from_polar(vm, va);
        }
    }

    /// `S_i = V_i (Y V)_i^*` for all nodes (p.u.), at `ws.v`.
    fn injections(&self, ws: &mut NewtonState) {
        ws.iy.fill(ZERO);
        for j in 0..self.n {
            let vj = ws.v[j];
            for p in self.y_colptr[j]..self.y_colptr[j + 1] {
                ws.iy[self.y_row[p]] += self.y_val[p] * vj;
            }
        }
        for i in 0..self.n {
            ws.s_calc[i] = ws.v[i] * ws.iy[i].conj();
        }
    }

    /// The Jacobian values at `ws.v` (with `ws.s_calc` at the same point), in the CSC layout.
    fn jacobian(&self, ws: &mut NewtonState) {
        let (vm, v, s, out) = (&ws.vm, &ws.v, &ws.s_calc, &mut ws.j_val);
        let mut pos = 0;
        for block in 0..2 {
            for j in 0..self.n {
                if j == self.slack {
                    continue;
                }
                let col = pos;
                let mut e = 0;
                // Number of non-slack rows in this column.
                let k = (self.y_colptr[j]..self.y_colptr[j + 1])
                    .filter(|&p| self.y_row[p] != self.slack)
                    .count();
                for p in self.y_colptr[j]..self.y_colptr[j + 1] {
                    let i = self.y_row[p];
                    if i == self.slack {
                        continue;
                    }
                    let y = self.y_val[p];
                    let (g, b) = (y.re, y.im);
                    let (dp, dq) = if i == j {
                        let (p, q) = (s[i].re, s[i].im);
                        if block == 0 {
                            (-q - b * vm[i] * vm[i], p - g * vm[i] * vm[i])
                        } else {
                            (p / vm[i] + g * vm[i], q / vm[i] - b * vm[i])
                        }
                    } else {
                        // w = V_i V_j* = |V_i||V_j| e^{jθ_ij}.
                        let w = v[i] * v[j].conj();
                        if block == 0 {
                            (g * w.im - b * w.re, -(g * w.re + b * w.im))
                        } else {
                            ((g * w.re + b * w.im) / vm[j], (g * w.im - b * w.re) / vm[j])
                        }
                    };
                    out[col + e] = dp;
                    out[col + k + e] = dq;
                    e += 1;
                }
                pos += 2 * k;
            }
        }
        debug_assert_eq!(pos, out.len());
    }

    /// Maps a solution to the user's tables.
    pub fn report(
        &self,
        net: &Network,
        grid: &Grid,
        p_inj_mw: &[f64],
        q_inj_mvar: &[f64],
        sol: &AcSolution,
    ) -> PfReport {
        NodalSolution {
            model: PfModel::Ac,
            converged: sol.converged,
            iterations: sol.iterations,
            vm_pu: &sol.vm_pu,
            va_rad: &sol.va_rad,
            p_inj_mw,
            q_inj_mvar,
            flows: &sol.flows,
            slack_p_mw: sol.slack_p_mw,
            slack_q_mvar: sol.slack_q_mvar,
        }
        .report(net, grid)
    }
}

/// One-shot AC power flow with given nodal injections (generator convention).
pub fn run_ac(
    net: &Network,
    grid: &Grid,
    p_inj_mw: &[f64],
    q_inj_mvar: &[f64],
    opt: &AcOptions,
) -> Result<(PfReport, AcSolution)> {
    let model = AcModel::new(grid)?;
    let sol = model.solve(p_inj_mw, q_inj_mvar, opt);
    Ok((model.report(net, grid, p_inj_mw, q_inj_mvar, &sol), sol))
}

#[cfg(test)]
mod tests {
    use super::rotation;

    /// The series rotation equals `sin_cos` to rounding on both sides of its switch-over.
    #[test]
    fn rotation_matches_sin_cos() {
        for i in -2000..=2000 {
            let th = i as f64 * 1e-4;
            let (s, c) = th.sin_cos();
            let r = rotation(th);
            assert!((r.re - c).abs() <= 2.0 * f64::EPSILON, "cos {th}");
            assert!(
                (r.im - s).abs() <= 2.0 * f64::EPSILON * s.abs().max(1e-300),
                "sin {th}"
            );
        }
    }
}
