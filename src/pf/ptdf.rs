//! Power transfer distribution factors, stored sparse.
//!
//! `PTDF[l, k]` is the MW of flow at branch `l`'s from end (positive from→to) per MW injected at
//! node `k` and withdrawn at the slack; the slack column is zero. DC branch flows are then
//! `P_from = PTDF · p_inj + offset`, where `offset` is the flow driven by phase shifters alone
//! (zero on radial feeders, where a shift only rotates the angles below a trafo).
//!
//! * **Radial feeders** ([`Ptdf::radial`]): an injection at `k` returns to the slack along the
//!   unique path, so `PTDF[l, k] = −1` when `l` lies on that path with its from end upstream,
//!   `+1` when its from end is downstream, else 0. Built from paths in `O(Σ depth)`, never from an
//!   inverse. This is also why pandapower's `makePTDF` (which needs a full inverse) is not needed.
//! * **Meshed grids** ([`Ptdf::by_solves`]): column `k` is `diag(b)·C·B_red⁻¹·e_k`, one pair of
//!   sparse triangular solves per node with the factorisation of [`DcModel`]; entries below
//!   1e-13 are dropped.

use super::dc::DcModel;
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use sprs::{CsMat, TriMat};

/// How a PTDF was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PtdfMethod {
    /// From tree paths (entries 0/±1).
    Radial,
    /// One sparse solve per node.
    Solves,
}

/// A sparse PTDF (branches × nodes) with the shift-driven flow offset.
#[derive(Debug, Clone)]
pub struct Ptdf {
    /// Branches × nodes, CSR.
    pub matrix: CsMat<f64>,
    /// Flow at zero injection, MW per branch (phase shifters in meshed grids).
    pub offset_mw: Vec<f64>,
    /// How it was built.
    pub method: PtdfMethod,
}

impl Ptdf {
    /// The path-based PTDF on radial feeders, the solve-based one otherwise.
    pub fn new(grid: &Grid, topo: &Topology, dc: &DcModel) -> Ptdf {
        if topo.is_radial() {
            Ptdf::radial(grid, topo)
        } else {
            Ptdf::by_solves(grid, dc)
        }
    }

    /// Path-based PTDF. Only valid when `topo.is_radial()`.
    pub fn radial(grid: &Grid, topo: &Topology) -> Ptdf {
        let nb = grid.branches.len();
        let n = grid.n_nodes();
        let mut tri = TriMat::new((nb, n));
        for k in 0..n {
            let mut v = k;
            while let Some((u, br)) = topo.parent(v) {
                // Power injected at k travels v → u on this branch.
                let sign = if grid.branches[br].from == u {
                    -1.0
                } else {
                    1.0
                };
                tri.add_triplet(br, k, sign);
                v = u;
            }
        }
        Ptdf {
            matrix: tri.to_csr(),
            offset_mw: vec![0.0; nb],
            method: PtdfMethod::Radial,
        }
    }

    /// Solve-based PTDF for any connected grid.
    pub fn by_solves(grid: &Grid, dc: &DcModel) -> Ptdf {
        let nb = grid.branches.len();
        let n = grid.n_nodes();
        let m = n - 1;
        let b = dc.b_pu();
        let mut tri = TriMat::new((nb, n));
        let mut ws = dc.workspace();
        let mut x = vec![0.0; m];
        let mut theta = vec![0.0; n];
        for k in 0..n {
            let Some(rk) = dc.reduced_index(k) else {
                continue;
            };
            x.iter_mut().for_each(|v| *v = 0.0);
            x[rk] = 1.0;
            dc.solve_reduced_in_place(&mut x, ws.mem_mut());
            for i in 0..n {
                theta[i] = dc.reduced_index(i).map_or(0.0, |r| x[r]);
            }
            for (l, br) in grid.branches.iter().enumerate() {
                let v = b[l] * (theta[br.from] - theta[br.to]);
                if v.abs() > 1e-13 {
                    tri.add_triplet(l, k, v);
                }
            }
        }
        let zero = vec![0.0; n];
        let offset_mw = dc.solve(&zero).p_from_mw;
        Ptdf {
            matrix: tri.to_csr(),
            offset_mw,
            method: PtdfMethod::Solves,
        }
    }

    /// Branch flows at the from end for injections `p_inj_mw` (generator convention), MW.
    pub fn flows_mw(&self, p_inj_mw: &[f64]) -> Vec<f64> {
        let mut out = self.offset_mw.clone();
        for (l, row) in self.matrix.outer_iterator().enumerate() {
            for (k, &v) in row.iter() {
                out[l] += v * p_inj_mw[k];
            }
        }
        out
    }

    /// Dense copy (for small feeders and output).
    pub fn to_dense(&self) -> Vec<Vec<f64>> {
        let (nb, n) = self.matrix.shape();
        let mut d = vec![vec![0.0; n]; nb];
        for (l, row) in self.matrix.outer_iterator().enumerate() {
            for (k, &v) in row.iter() {
                d[l][k] = v;
            }
        }
        d
    }
}
