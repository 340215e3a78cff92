//! What the two branch-flow (DistFlow) formulations share on a radial feeder (Baran & Wu 1989):
//! one sending-end flow pair `(P_k, Q_k)` on the branch from each non-slack node `k`'s parent,
//! squared voltage magnitudes `v`, the voltage-drop coefficients of a branch, the band rows and
//! the nodal balances. [`super::lindistflow`] and [`super::socp`] add what differs (losses,
//! cones).
//!
//! **Everything is in per unit** on the feeder's base (flows, squared voltages and currents), so
//! the coefficients stay within a few orders of magnitude; injections, given in kW, enter the
//! balance rows times `κ = 1/(1000·S_base)` (so a balance dual times κ is per kW).
//!
//! Voltage drop along the branch from parent `p` to `k` (series `r + jx` p.u., ideal trafo ratio
//! `τ` on the from side):
//!
//! ```text
//!   v_k = a·v_p − s·2 (r P_k + x Q_k) [+ s (r² + x²) ℓ_k]
//!   a = 1/τ², s = 1  when the from (tap) side is the parent;   a = τ², s = τ²  otherwise.
//! ```

use super::{Encoding, Feeder, Limit, LimitKind, LimitRow, Limits, NodeInjection, StepRows};
use crate::formulation::Element;
use crate::network::electrical::Branch;
use crate::opt::{Affine, Problem, RowId, Sense, Tag, VarId};

/// The balance row of node `i`: `Σ outflow terms − scale·Σ injection terms = scale·injection
/// constant` (injections in kW; `scale` converts them to the row's units).
pub(super) fn balance_row(
    p: &mut Problem,
    kind: &'static str,
    i: usize,
    mut out: Vec<(VarId, f64)>,
    inj: &Affine,
    scale: f64,
) -> RowId {
    out.extend(inj.terms.iter().map(|&(j, v)| (j, -v * scale)));
    p.row(Tag::at(kind, i), Sense::Eq, out, inj.constant * scale)
}

/// Voltage-drop coefficients of a branch seen from its parent node (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Drop {
    /// Factor on the parent's squared voltage.
    pub a: f64,
    /// Factor on the drop terms.
    pub s: f64,
    /// Series resistance, p.u.
    pub r: f64,
    /// Series reactance, p.u.
    pub x: f64,
}

impl Drop {
    /// The coefficients of branch `br` whose parent end is node `parent`.
    pub fn of(br: &Branch, parent: usize) -> Drop {
        let t2 = br.tap * br.tap;
        let (a, s) = if br.from == parent {
            (1.0 / t2, 1.0)
        } else {
            (t2, t2)
        };
        Drop {
            a,
            s,
            r: br.r_pu,
            x: br.x_pu,
        }
    }

    /// `v_k` from the parent's `v_p` and the sending-end flows (kW, kvar), lossless.
    pub fn v_child(&self, kappa: f64, v_parent: f64, p_kw: f64, q_kvar: f64) -> f64 {
        // (κ·kW = p.u.)
        self.a * v_parent - self.s * 2.0 * kappa * (self.r * p_kw + self.x * q_kvar)
    }
}

/// A node `k` seen from its parent `par` over branch `l` (`forward`: the branch's from end is
/// the parent), with the branch's drop coefficients: one row of [`Feeder::edges`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Edge {
    pub(super) k: u32,
    pub(super) par: u32,
    pub(super) l: u32,
    pub(super) forward: bool,
    pub(super) drop: Drop,
}

impl Edge {
    /// The table of a feeder: every node with a parent, in BFS order.
    pub(super) fn table(f: &Feeder) -> Vec<Edge> {
        let mut t = Vec::with_capacity(f.n_nodes().saturating_sub(1));
        t.extend(f.topo.bfs_order().iter().filter_map(|&k| {
            let (par, l) = f.topo.parent(k)?;
            let br = &f.grid.branches[l];
            Some(Edge {
                k: k as u32,
                par: par as u32,
                l: l as u32,
                forward: br.from == par,
                drop: Drop::of(br, par),
            })
        }));
        t
    }
}

/// The shared variables of a step.
pub(super) struct Tree {
    /// `P_k` (p.u.) on the branch into node `k` from its parent (`None` at the slack).
    pub pk: Vec<Option<VarId>>,
    /// `Q_k` (p.u.).
    pub qk: Vec<Option<VarId>>,
    /// Outflow terms per node (active).
    pub p_out: Vec<Vec<(VarId, f64)>>,
    /// Outflow terms per node (reactive).
    pub q_out: Vec<Vec<(VarId, f64)>>,
    /// Reactive import at the slack.
    pub q_slack: VarId,
}

/// Creates `P_k`, `Q_k` per branch, `v` per node (slack fixed) and the outflow lists; records the
/// flows and voltages in `rows`.
pub(super) fn tree(f: &Feeder, p: &mut Problem, rows: &mut StepRows) -> Tree {
    let grid = f.grid;
    let n = grid.n_nodes();
    let nb = grid.branches.len();
    rows.balance_scale = f.kappa;
    rows.flow_scale = f.kappa;
    rows.v_sq = (0..n)
        .map(|i| p.var(Tag::at("v", i), 0.0, f64::INFINITY, 0.0))
        .collect();
    p.row(
        Tag::kind("v slack"),
        Sense::Eq,
        vec![(rows.v_sq[grid.slack], 1.0)],
        grid.slack_vm_pu * grid.slack_vm_pu,
    );
    let q_slack = p.var(Tag::kind("q_slack"), f64::NEG_INFINITY, f64::INFINITY, 0.0);
    let mut t = Tree {
        pk: vec![None; n],
        qk: vec![None; n],
        p_out: vec![Vec::new(); n],
        q_out: vec![Vec::new(); n],
        q_slack,
    };
    let placeholder = (rows.v_sq[grid.slack], 0.0);
    rows.flow_p = vec![placeholder; nb];
    rows.flow_q = vec![placeholder; nb];
    for &k in f.topo.bfs_order() {
        let Some((par, l)) = f.topo.parent(k) else {
            continue;
        };
        let br = &grid.branches[l];
        let pk = p.var(Tag::at("P", l), f64::NEG_INFINITY, f64::INFINITY, 0.0);
        let qk = p.var(Tag::at("Q", l), f64::NEG_INFINITY, f64::INFINITY, 0.0);
        let dir = if br.from == par { 1.0 } else { -1.0 };
        rows.flow_p[l] = (pk, dir);
        rows.flow_q[l] = (qk, dir);
        t.p_out[par].push((pk, 1.0));
        t.q_out[par].push((qk, 1.0));
        t.p_out[k].push((pk, -1.0));
        t.q_out[k].push((qk, -1.0));
        t.pk[k] = Some(pk);
        t.qk[k] = Some(qk);
    }
    t
}

/// The voltage-drop row of the branch into `k`, with extra terms (SOCP's losses).
pub(super) fn drop_row(
    f: &Feeder,
    p: &mut Problem,
    rows: &StepRows,
    t: &Tree,
    k: usize,
    extra: &[(VarId, f64)],
) {
    let (Some((par, l)), Some(pk), Some(qk)) = (f.topo.parent(k), t.pk[k], t.qk[k]) else {
        return;
    };
    let d = Drop::of(&f.grid.branches[l], par);
    let mut terms = vec![
        (rows.v_sq[k], 1.0),
        (rows.v_sq[par], -d.a),
        (pk, 2.0 * d.r * d.s),
        (qk, 2.0 * d.x * d.s),
    ];
    terms.extend_from_slice(extra);
    p.row(Tag::at("voltage drop", l), Sense::Eq, terms, 0.0);
}

/// `v_min² ≤ v_k ≤ v_max²` at every non-slack node.
pub(super) fn band_rows(f: &Feeder, p: &mut Problem, rows: &mut StepRows, lim: &Limits) {
    for k in 0..f.n_nodes() {
        if k == f.grid.slack {
            continue;
        }
        let (lo, hi) = lim.v_sq[k];
        let v = rows.v_sq[k];
        for (kind, coef, rhs) in [(LimitKind::Vmax, 1.0, hi), (LimitKind::Vmin, -1.0, -lo)] {
            let row = p.row(Tag::at(kind.as_str(), k), Sense::Le, vec![(v, coef)], rhs);
            rows.limits.push(LimitRow {
                limit: Limit {
                    kind,
                    element: Element::Node(k),
                },
                encoding: Encoding::Row {
                    row,
                    d_p: 0.0,
                    d_q: 0.0,
                },
            });
        }
    }
}

/// The active and reactive balance rows.
pub(super) fn balances(
    f: &Feeder,
    p: &mut Problem,
    rows: &mut StepRows,
    t: Tree,
    inj: &[NodeInjection],
) {
    let slack = f.grid.slack;
    for (i, (po, mut qo)) in t.p_out.into_iter().zip(t.q_out).enumerate() {
        rows.balance_p
            .push(balance_row(p, "balance P", i, po, &inj[i].p, f.kappa));
        if i == slack {
            qo.push((t.q_slack, -1.0));
        }
        rows.balance_q
            .push(balance_row(p, "balance Q", i, qo, &inj[i].q, f.kappa));
    }
}

/// Sending-end flows into every node from its parent for fixed injections: the subtree sums
/// `P_k = −Σ_{j ∈ subtree(k)} p_j` (lossless).
pub(super) fn subtree_flows(f: &Feeder, p_kw: &[f64], q_kvar: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = f.n_nodes();
    let (mut pk, mut qk) = (vec![0.0; n], vec![0.0; n]);
    // Children before parents (reverse BFS), the slack last.
    for e in f.edges().iter().rev() {
        let (k, par) = (e.k as usize, e.par as usize);
        pk[k] -= p_kw[k];
        qk[k] -= q_kvar[k];
        let (a, b) = (pk[k], qk[k]);
        pk[par] += a;
        qk[par] += b;
    }
    // The BFS tree's only root.
    let k = f.topo.slack();
    pk[k] -= p_kw[k];
    qk[k] -= q_kvar[k];
    (pk, qk)
}

/// The exact rating cone `‖(P_k, Q_k)‖ ≤ κ·S` of the branch into `k` (flows in p.u.).
pub(super) fn rating_cone(
    f: &Feeder,
    p: &mut Problem,
    rows: &mut StepRows,
    t: &Tree,
    k: usize,
    lim: &Limits,
) {
    let (Some((_, l)), Some(pk), Some(qk)) = (f.topo.parent(k), t.pk[k], t.qk[k]) else {
        return;
    };
    let Some(s) = lim.s_max_kva[l] else {
        return;
    };
    let aff = |terms: Vec<(VarId, f64)>, constant: f64| Affine { terms, constant };
    let cone = p.cones.len();
    p.cone(
        Tag::at("thermal", l),
        vec![
            aff(vec![], s * f.kappa),
            aff(vec![(pk, 1.0)], 0.0),
            aff(vec![(qk, 1.0)], 0.0),
        ],
    );
    rows.limits.push(LimitRow {
        limit: Limit {
            kind: LimitKind::Thermal,
            element: Element::Branch(l),
        },
        encoding: Encoding::Cone {
            cone,
            dir: rows.flow_p[l].1,
            scale: f.kappa,
        },
    });
}

/// The branch-flow formulations hold only on radial feeders (their tree recursion has no loops).
pub(super) fn require_radial(f: &Feeder, name: &str) -> Result<(), String> {
    if f.topo.is_radial() {
        Ok(())
    } else {
        Err(format!(
            "{name} needs a radial feeder; use --network-model dc"
        ))
    }
}
