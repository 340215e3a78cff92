//! DC power flow, following pandapower's `rundcpp` exactly.
//!
//! # Model
//!
//! With branch susceptances `b_l = 1/(x_l·τ_l)` (p.u.), the incidence matrix `C` (+1 at the from
//! node, −1 at the to node) and phase shifts `φ_l`:
//!
//! ```text
//!   B = Cᵀ diag(b) C,      P_shift = Cᵀ (−b ∘ φ)
//!   B_red θ_red = P_red/S_b − P_shift,red − B_red,slack θ_slack
//!   P_from,l = S_b · b_l (θ_f − θ_t − φ_l),   P_to,l = −P_from,l
//!   P_slack  = −Σ_i P_i                         (lossless)
//! ```
//!
//! `B_red` (the slack row and column removed) is symmetric positive definite for a connected
//! network with positive reactances, so it is factorised once per topology with faer's sparse
//! Cholesky (AMD ordering, symbolic analysis kept) and every new injection vector costs two
//! sparse triangular solves and one pass over the branches. [`DcWorkspace`] holds the scratch so
//! the hourly re-solve allocates nothing.

use super::{NodalSolution, PfModel, PfReport};
use crate::error::{Error, Result};
use crate::network::electrical::Grid;
use crate::network::Network;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::sparse::linalg::cholesky::{factorize_symbolic_cholesky, LltRef, SymbolicCholesky};
use faer::sparse::{SparseColMat, Triplet};
use faer::{Conj, MatMut, Par, Side};

/// The DC model of one topology, factorised.
#[derive(Debug)]
pub struct DcModel {
    n: usize,
    slack: usize,
    sn_mva: f64,
    slack_va_rad: f64,
    /// node → position in the reduced system (`usize::MAX` for the slack).
    red: Vec<usize>,
    from: Vec<usize>,
    to: Vec<usize>,
    b: Vec<f64>,
    shift: Vec<f64>,
    /// Constant part of the reduced right-hand side: −P_shift,red − B_red,slack·θ_slack.
    rhs_const: Vec<f64>,
    b_red: SparseColMat<usize, f64>,
    symbolic: SymbolicCholesky<usize>,
    l_values: Vec<f64>,
}

/// Scratch space for [`DcModel::solve_into`]; create once with [`DcModel::workspace`].
pub struct DcWorkspace {
    rhs: Vec<f64>,
    mem: MemBuffer,
}

/// Node angles, branch flows and slack power of one DC solve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DcSolution {
    /// Voltage angle per node, radians (includes phase shifts).
    pub va_rad: Vec<f64>,
    /// Active power at the from end of each branch, MW (to end is the negative).
    pub p_from_mw: Vec<f64>,
    /// Power drawn from the upstream grid, MW.
    pub slack_p_mw: f64,
}

impl DcWorkspace {
    /// The solver scratch memory (for [`DcModel::solve_reduced_in_place`]).
    pub fn mem_mut(&mut self) -> &mut MemBuffer {
        &mut self.mem
    }
}

impl DcModel {
    /// Assembles `B_red` and factorises it.
    pub fn new(grid: &Grid) -> Result<DcModel> {
        let n = grid.n_nodes();
        let slack = grid.slack;
        let mut red = vec![usize::MAX; n];
        let mut k = 0;
        for (i, r) in red.iter_mut().enumerate() {
            if i != slack {
                *r = k;
                k += 1;
            }
        }
        let m = n - 1;
        let nb = grid.branches.len();
        let (mut from, mut to, mut b, mut shift) = (
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
            Vec::with_capacity(nb),
        );
        // Triplets; faer sums duplicates when it builds the matrix.
        let mut triplets: Vec<Triplet<usize, usize, f64>> = Vec::with_capacity(4 * nb);
        let mut p_shift = vec![0.0; n];
        let mut b_slack = vec![0.0; n]; // B[i, slack]
        for br in &grid.branches {
            let bl = br.b_dc_pu();
            if !bl.is_finite() || bl <= 0.0 {
                return Err(Error::Numerical(format!(
                    "{}: DC susceptance {bl} is not positive",
                    br.element
                )));
            }
            from.push(br.from);
            to.push(br.to);
            b.push(bl);
            shift.push(br.shift_rad);
            let (f, t) = (br.from, br.to);
            p_shift[f] += -bl * br.shift_rad;
            p_shift[t] -= -bl * br.shift_rad;
            for (i, j, v) in [(f, f, bl), (t, t, bl), (f, t, -bl), (t, f, -bl)] {
                if j == slack && i != slack {
                    b_slack[i] += v;
                }
                if i != slack && j != slack {
                    triplets.push(Triplet::new(red[i], red[j], v));
                }
            }
        }
        let mut rhs_const = vec![0.0; m];
        for i in 0..n {
            if i != slack {
                rhs_const[red[i]] = -p_shift[i] - b_slack[i] * grid.slack_va_rad;
            }
        }
        let b_red = SparseColMat::<usize, f64>::try_new_from_triplets(m, m, &triplets)
            .map_err(|e| Error::Numerical(format!("assembling B: {e:?}")))?;
        let symbolic = factorize_symbolic_cholesky(
            b_red.symbolic(),
            Side::Lower,
            Default::default(),
            Default::default(),
        )
        .map_err(|e| Error::Numerical(format!("symbolic Cholesky: {e:?}")))?;
        let mut model = DcModel {
            n,
            slack,
            sn_mva: grid.sn_mva,
            slack_va_rad: grid.slack_va_rad,
            red,
            from,
            to,
            b,
            shift,
            rhs_const,
            l_values: vec![0.0; symbolic.len_val()],
            symbolic,
            b_red,
        };
        model.factorize()?;
        Ok(model)
    }

    fn factorize(&mut self) -> Result<()> {
        let mut mem = MemBuffer::try_new(
            self.symbolic
                .factorize_numeric_llt_scratch::<f64>(Par::Seq, Default::default()),
        )
        .map_err(|_| Error::Numerical("out of memory".into()))?;
        self.symbolic
            .factorize_numeric_llt::<f64>(
                &mut self.l_values,
                self.b_red.as_ref(),
                Side::Lower,
                Default::default(),
                Par::Seq,
                MemStack::new(&mut mem),
                Default::default(),
            )
            .map_err(|e| Error::Numerical(format!("B is not positive definite: {e:?}")))?;
        Ok(())
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.n
    }

    /// Number of branches.
    pub fn n_branches(&self) -> usize {
        self.b.len()
    }

    /// Branch susceptances `1/(x·τ)`, p.u.
    pub fn b_pu(&self) -> &[f64] {
        &self.b
    }

    /// A workspace for allocation-free solves.
    pub fn workspace(&self) -> DcWorkspace {
        DcWorkspace {
            rhs: vec![0.0; self.n - 1],
            mem: MemBuffer::new(self.symbolic.solve_in_place_scratch::<f64>(1, Par::Seq)),
        }
    }

    /// Solves `B_red x = rhs` in place (rhs in reduced node order), using the factorisation.
    pub fn solve_reduced_in_place(&self, rhs: &mut [f64], ws_mem: &mut MemBuffer) {
        let llt = LltRef::<usize, f64>::new(&self.symbolic, &self.l_values);
        let m = rhs.len();
        let mat = MatMut::from_column_major_slice_mut(rhs, m, 1);
        llt.solve_in_place_with_conj(Conj::No, mat, Par::Seq, MemStack::new(ws_mem));
    }

    /// Solves for injections `p_inj_mw` (generator convention, one per node), writing into `out`.
    /// Allocates nothing once `out` has the right sizes.
    pub fn solve_into(&self, p_inj_mw: &[f64], ws: &mut DcWorkspace, out: &mut DcSolution) {
        assert_eq!(p_inj_mw.len(), self.n, "one injection per node");
        let inv_sn = 1.0 / self.sn_mva;
        for i in 0..self.n {
            let r = self.red[i];
            if r != usize::MAX {
                ws.rhs[r] = p_inj_mw[i] * inv_sn + self.rhs_const[r];
            }
        }
        self.solve_reduced_in_place(&mut ws.rhs, &mut ws.mem);
        out.va_rad.resize(self.n, 0.0);
        for i in 0..self.n {
            let r = self.red[i];
            out.va_rad[i] = if r == usize::MAX {
                self.slack_va_rad
            } else {
                ws.rhs[r]
            };
        }
        out.p_from_mw.resize(self.b.len(), 0.0);
        for l in 0..self.b.len() {
            out.p_from_mw[l] = self.sn_mva
                * self.b[l]
                * (out.va_rad[self.from[l]] - out.va_rad[self.to[l]] - self.shift[l]);
        }
        out.slack_p_mw = -p_inj_mw.iter().sum::<f64>();
    }

    /// Convenience: allocate and solve.
    pub fn solve(&self, p_inj_mw: &[f64]) -> DcSolution {
        let mut ws = self.workspace();
        let mut out = DcSolution::default();
        self.solve_into(p_inj_mw, &mut ws, &mut out);
        out
    }

    /// The slack node.
    pub fn slack(&self) -> usize {
        self.slack
    }

    /// Reduced index of a node (`None` for the slack).
    pub fn reduced_index(&self, node: usize) -> Option<usize> {
        let r = self.red[node];
        (r != usize::MAX).then_some(r)
    }

    /// Maps a solution to the user's tables.
    pub fn report(
        &self,
        net: &Network,
        grid: &Grid,
        p_inj_mw: &[f64],
        sol: &DcSolution,
    ) -> PfReport {
        let vm = vec![1.0; self.n];
        let q = vec![0.0; self.n];
        let flows: Vec<[f64; 4]> = sol.p_from_mw.iter().map(|&p| [p, 0.0, -p, 0.0]).collect();
        NodalSolution {
            model: PfModel::Dc,
            converged: true,
            iterations: 0,
            vm_pu: &vm,
            va_rad: &sol.va_rad,
            p_inj_mw,
            q_inj_mvar: &q,
            flows: &flows,
            slack_p_mw: sol.slack_p_mw,
            slack_q_mvar: 0.0,
        }
        .report(net, grid)
    }
}

/// One-shot DC power flow of a network with given nodal injections (generator convention).
pub fn run_dc(net: &Network, grid: &Grid, p_inj_mw: &[f64]) -> Result<PfReport> {
    let model = DcModel::new(grid)?;
    let sol = model.solve(p_inj_mw);
    Ok(model.report(net, grid, p_inj_mw, &sol))
}
