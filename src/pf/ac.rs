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
//! between solves of the same topology ([`AcModel`]). The start point is the DC solution's
//! angles (pandapower's `init="dc"`, which keeps trafo phase shifts) and flat magnitudes.
//!
//! Non-convergence is an *outcome*: [`AcSolution::converged`] is false and
//! [`AcSolution::log`] holds the mismatch of every iteration.

use super::dc::DcModel;
use super::{NodalSolution, PfModel, PfReport};
use crate::error::{Error, Result};
use crate::network::electrical::Grid;
use crate::network::Network;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::sparse::linalg::lu::{factorize_symbolic_lu, NumericLu, SymbolicLu};
use faer::sparse::{SparseColMatRef, SymbolicSparseColMatRef};
use faer::{Conj, MatMut, Par};
use num_complex::Complex64;
use serde::Serialize;

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

/// One Newton iteration's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IterationRecord {
    /// Iteration number (0 = start point).
    pub iteration: usize,
    /// Largest |ΔP|, |ΔQ| mismatch, MVA.
    pub max_mismatch_mva: f64,
}

/// The outcome of an AC solve, per node and branch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcSolution {
    /// Whether the mismatch fell below the tolerance.
    pub converged: bool,
    /// Newton iterations performed.
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
}

/// The AC model of one topology: admittance matrix, Jacobian layout, symbolic LU, and the DC
/// model used for the start point.
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
    /// Jacobian CSC layout (2m × 2m).
    j_colptr: Vec<usize>,
    j_row: Vec<usize>,
    j_sym: SymbolicLu<usize>,
    branches: Vec<(usize, usize, [Complex64; 4])>,
    dc: DcModel,
}

impl AcModel {
    /// Assembles `Y`, lays out the Jacobian and computes its symbolic LU.
    pub fn new(grid: &Grid) -> Result<AcModel> {
        let n = grid.n_nodes();
        let slack = grid.slack;
        let dc = DcModel::new(grid)?;
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
            c.push((j, Complex64::new(0.0, 0.0)));
        }
        let (mut y_colptr, mut y_row, mut y_val) = (vec![0], Vec::new(), Vec::new());
        for c in &mut cols {
            c.sort_by_key(|&(i, _)| i);
            let mut last = usize::MAX;
            for &(i, v) in c.iter() {
                if i == last {
                    *y_val.last_mut().expect("entry exists") += v;
                } else {
                    y_row.push(i);
                    y_val.push(v);
                    last = i;
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
        let m = n - 1;
        // Jacobian layout: columns [θ_0..θ_{m-1}, V_0..V_{m-1}], rows [P.., Q..].
        let mut j_colptr = vec![0usize];
        let mut j_row = Vec::new();
        for _block in 0..2 {
            for j in 0..n {
                if j == slack {
                    continue;
                }
                let rows: Vec<usize> = (y_colptr[j]..y_colptr[j + 1])
                    .map(|p| y_row[p])
                    .filter(|&i| i != slack)
                    .map(|i| red[i])
                    .collect();
                j_row.extend(rows.iter().copied());
                j_row.extend(rows.iter().map(|r| r + m));
                j_colptr.push(j_row.len());
            }
        }
        let sym = SymbolicSparseColMatRef::new_checked(2 * m, 2 * m, &j_colptr, None, &j_row);
        let j_sym = factorize_symbolic_lu(sym, Default::default())
            .map_err(|e| Error::Numerical(format!("symbolic LU of the Jacobian: {e:?}")))?;
        Ok(AcModel {
            n,
            slack,
            sn_mva: grid.sn_mva,
            slack_vm_pu: grid.slack_vm_pu,
            y_colptr,
            y_row,
            y_val,
            red,
            j_colptr,
            j_row,
            j_sym,
            branches,
            dc,
        })
    }

    /// The DC model built alongside (same topology).
    pub fn dc(&self) -> &DcModel {
        &self.dc
    }

    /// Solves for injections (generator convention, MW/Mvar per node).
    pub fn solve(&self, p_inj_mw: &[f64], q_inj_mvar: &[f64], opt: &AcOptions) -> AcSolution {
        let n = self.n;
        let m = n - 1;
        let sn = self.sn_mva;
        let s_spec: Vec<Complex64> = (0..n)
            .map(|i| Complex64::new(p_inj_mw[i], q_inj_mvar[i]) / sn)
            .collect();
        // Start: DC angles, flat magnitudes at the slack set point.
        let dc = self.dc.solve(p_inj_mw);
        let mut va = dc.va_rad;
        let mut vm = vec![self.slack_vm_pu; n];
        let mut s_calc = vec![Complex64::new(0.0, 0.0); n];
        let mut f = vec![0.0; 2 * m];
        let mut j_val = vec![0.0; self.j_row.len()];
        let mut log = Vec::new();
        let mut numeric = NumericLu::<usize, f64>::new();
        let mut mem = MemBuffer::new(
            self.j_sym
                .factorize_numeric_lu_scratch::<f64>(Par::Seq, Default::default())
                .or(self.j_sym.solve_in_place_scratch::<f64>(1, Par::Seq)),
        );
        let mut converged = false;
        let mut failure = None;
        let mut iterations = 0;
        let tol = opt.tol_mva / sn;
        loop {
            self.injections(&vm, &va, &mut s_calc);
            let mut worst: f64 = 0.0;
            for i in 0..n {
                let r = self.red[i];
                if r == usize::MAX {
                    continue;
                }
                let d = s_calc[i] - s_spec[i];
                f[r] = d.re;
                f[r + m] = d.im;
                worst = worst.max(d.re.abs()).max(d.im.abs());
            }
            if !worst.is_finite() {
                failure = Some("mismatch became NaN/inf (diverged)".into());
                log.push(IterationRecord {
                    iteration: iterations,
                    max_mismatch_mva: worst * sn,
                });
                break;
            }
            log.push(IterationRecord {
                iteration: iterations,
                max_mismatch_mva: worst * sn,
            });
            if worst < tol {
                converged = true;
                break;
            }
            if iterations >= opt.max_iter {
                failure = Some(format!(
                    "no convergence in {} iterations (mismatch {:.3e} MVA)",
                    opt.max_iter,
                    worst * sn
                ));
                break;
            }
            self.jacobian(&vm, &va, &s_calc, &mut j_val);
            let jac = SparseColMatRef::new(
                SymbolicSparseColMatRef::new_checked(
                    2 * m,
                    2 * m,
                    &self.j_colptr,
                    None,
                    &self.j_row,
                ),
                &j_val,
            );
            let lu = match self.j_sym.factorize_numeric_lu(
                &mut numeric,
                jac,
                Par::Seq,
                MemStack::new(&mut mem),
                Default::default(),
            ) {
                Ok(lu) => lu,
                Err(e) => {
                    failure = Some(format!("singular Jacobian: {e:?}"));
                    break;
                }
            };
            for v in f.iter_mut() {
                *v = -*v;
            }
            lu.solve_in_place_with_conj(
                Conj::No,
                MatMut::from_column_major_slice_mut(&mut f, 2 * m, 1),
                Par::Seq,
                MemStack::new(&mut mem),
            );
            for i in 0..n {
                let r = self.red[i];
                if r != usize::MAX {
                    va[i] += f[r];
                    vm[i] += f[r + m];
                }
            }
            iterations += 1;
        }
        // Branch flows and slack power at the final point.
        let v: Vec<Complex64> = (0..n)
            .map(|i| Complex64::from_polar(vm[i], va[i]))
            .collect();
        let flows = self
            .branches
            .iter()
            .map(|&(fb, tb, y)| {
                let i_f = y[0] * v[fb] + y[1] * v[tb];
                let i_t = y[2] * v[fb] + y[3] * v[tb];
                let s_f = v[fb] * i_f.conj() * sn;
                let s_t = v[tb] * i_t.conj() * sn;
                [s_f.re, s_f.im, s_t.re, s_t.im]
            })
            .collect();
        self.injections(&vm, &va, &mut s_calc);
        let s_slack = (s_calc[self.slack] - s_spec[self.slack]) * sn;
        AcSolution {
            converged,
            iterations,
            log,
            failure,
            vm_pu: vm,
            va_rad: va,
            flows,
            slack_p_mw: s_slack.re,
            slack_q_mvar: s_slack.im,
        }
    }

    /// `S_i = V_i (Y V)_i^*` for all nodes (p.u.).
    fn injections(&self, vm: &[f64], va: &[f64], s: &mut [Complex64]) {
        let v: Vec<Complex64> = (0..self.n)
            .map(|i| Complex64::from_polar(vm[i], va[i]))
            .collect();
        let mut iy = vec![Complex64::new(0.0, 0.0); self.n];
        for j in 0..self.n {
            for p in self.y_colptr[j]..self.y_colptr[j + 1] {
                iy[self.y_row[p]] += self.y_val[p] * v[j];
            }
        }
        for i in 0..self.n {
            s[i] = v[i] * iy[i].conj();
        }
    }

    fn jacobian(&self, vm: &[f64], va: &[f64], s: &[Complex64], out: &mut [f64]) {
        let m = self.n - 1;
        let mut pos = 0;
        for block in 0..2 {
            for j in 0..self.n {
                if j == self.slack {
                    continue;
                }
                let entries: Vec<(usize, Complex64)> = (self.y_colptr[j]..self.y_colptr[j + 1])
                    .map(|p| (self.y_row[p], self.y_val[p]))
                    .filter(|&(i, _)| i != self.slack)
                    .collect();
                let k = entries.len();
                for (e, &(i, y)) in entries.iter().enumerate() {
                    let (g, b) = (y.re, y.im);
                    let (dp, dq) = if i == j {
                        let (p, q) = (s[i].re, s[i].im);
                        if block == 0 {
                            (-q - b * vm[i] * vm[i], p - g * vm[i] * vm[i])
                        } else {
                            (p / vm[i] + g * vm[i], q / vm[i] - b * vm[i])
                        }
                    } else {
                        let t = va[i] - va[j];
                        let (st, ct) = t.sin_cos();
                        if block == 0 {
                            (
                                vm[i] * vm[j] * (g * st - b * ct),
                                -vm[i] * vm[j] * (g * ct + b * st),
                            )
                        } else {
                            (vm[i] * (g * ct + b * st), vm[i] * (g * st - b * ct))
                        }
                    };
                    out[pos + e] = dp;
                    out[pos + k + e] = dq;
                }
                pos += 2 * k;
            }
        }
        debug_assert_eq!(pos, out.len());
        let _ = m;
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
