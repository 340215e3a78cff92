//! Builds the correction problem: the common recipe (trades, background changes, slack) plus the
//! formulation's network variables, balance rows and limits.

use super::{ClearingSpec, Layout, NetworkModel, StepInput};
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::opt::{Affine, Problem, Sense};

const NONE: usize = usize::MAX;

/// The correction problem of one step and where its variables are.
pub fn build_problem(
    grid: &Grid,
    topo: &Topology,
    spec: &ClearingSpec,
    inp: &StepInput,
) -> Result<(Problem, Layout), String> {
    let n = grid.n_nodes();
    let dt = inp.dt_h;
    let mut p = Problem::default();
    let mut lay = Layout {
        kappa: 1.0 / (1000.0 * grid.sn_mva),
        ..Layout::default()
    };
    // Common recipe.
    for (t, tr) in inp.trades.iter().enumerate() {
        let q = tr.kw;
        let j = p.var(
            format!("x[{t}]"),
            0.0,
            1.0,
            -(spec.trade_bonus_per_kwh + 2.0 * spec.fairness_per_kwh) * q * dt,
        );
        p.quad_diag(j, 2.0 * spec.fairness_per_kwh * q * dt);
        p.obj_constant += spec.fairness_per_kwh * q * dt;
        lay.x.push(j);
    }
    let m = spec.background_penalty_per_kwh * dt;
    for i in 0..n {
        lay.shed.push(if inp.shed_max_kw[i] > 1e-12 {
            p.var(format!("shed[{i}]"), 0.0, inp.shed_max_kw[i], m)
        } else {
            NONE
        });
        lay.curt.push(if inp.curt_max_kw[i] > 1e-12 {
            p.var(format!("curt[{i}]"), 0.0, inp.curt_max_kw[i], m)
        } else {
            NONE
        });
    }
    // Shedding comes out of what a node still imports after its P2P purchases.
    for i in 0..n {
        if lay.shed[i] == NONE {
            continue;
        }
        let mut terms = vec![(lay.shed[i], 1.0)];
        for (t, tr) in inp.trades.iter().enumerate() {
            if tr.buyer_node == i {
                terms.push((lay.x[t], tr.kw));
            }
        }
        if terms.len() > 1 {
            p.row(
                format!("shed cap {}", node_name(grid, i)),
                Sense::Le,
                terms,
                inp.shed_max_kw[i],
            );
        }
    }
    lay.p_imp = p.var("p_imp", 0.0, f64::INFINITY, inp.import_per_kwh * dt);
    lay.p_exp = p.var("p_exp", 0.0, f64::INFINITY, -inp.export_per_kwh * dt);
    // Injection terms (kW) per node, to subtract in the balance rows.
    let mut inj: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (t, tr) in inp.trades.iter().enumerate() {
        inj[tr.seller_node].push((lay.x[t], tr.kw));
    }
    for i in 0..n {
        if lay.shed[i] != NONE {
            inj[i].push((lay.shed[i], 1.0));
        }
        if lay.curt[i] != NONE {
            inj[i].push((lay.curt[i], -1.0));
        }
    }
    inj[grid.slack].push((lay.p_imp, 1.0));
    inj[grid.slack].push((lay.p_exp, -1.0));

    match spec.model {
        NetworkModel::None => return Err("no network model: nothing to correct".into()),
        NetworkModel::Dc => dc(grid, topo, &mut p, &mut lay, &inj, inp),
        NetworkModel::Lindistflow | NetworkModel::Socp => {
            if !topo.is_radial() {
                return Err(format!(
                    "{:?} needs a radial feeder; use --network-model dc",
                    spec.model
                )
                .to_lowercase());
            }
            distflow(
                grid,
                topo,
                spec,
                &mut p,
                &mut lay,
                &inj,
                inp,
                spec.model == NetworkModel::Socp,
            );
        }
    }
    Ok((p, lay))
}

fn s_max_kva(grid: &Grid, l: usize) -> Option<f64> {
    let br = &grid.branches[l];
    br.rating
        .s_max_mva(grid.nodes[br.from].vn_kv)
        .map(|s| s * 1000.0)
}

fn branch_name(grid: &Grid, l: usize) -> String {
    grid.branches[l].element.to_string()
}

fn node_name(grid: &Grid, i: usize) -> String {
    format!("bus {}", grid.nodes[i].buses[0].0)
}

/// The DC network block: flow variables, nodal balance rows (`outflow − Σ inj = bg`), thermal
/// rows, and angles on meshed grids.
pub(crate) fn dc(
    grid: &Grid,
    topo: &Topology,
    p: &mut Problem,
    lay: &mut Layout,
    inj: &[Vec<(usize, f64)>],
    inp: &StepInput,
) {
    let n = grid.n_nodes();
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (l, br) in grid.branches.iter().enumerate() {
        let f = p.var(
            format!("f[{}]", branch_name(grid, l)),
            f64::NEG_INFINITY,
            f64::INFINITY,
            0.0,
        );
        lay.flow.push((f, 1.0));
        out[br.from].push((f, 1.0));
        out[br.to].push((f, -1.0));
        if let Some(s) = s_max_kva(grid, l) {
            let up = p.row(
                format!("thermal {} (from→to)", branch_name(grid, l)),
                Sense::Le,
                vec![(f, 1.0)],
                s,
            );
            let dn = p.row(
                format!("thermal {} (to→from)", branch_name(grid, l)),
                Sense::Le,
                vec![(f, -1.0)],
                s,
            );
            lay.thermal_rows.push((up, l, 1.0));
            lay.thermal_rows.push((dn, l, -1.0));
        }
    }
    if !topo.is_radial() {
        // KVL through angles: f = 1000·S_b·b (θ_f − θ_t − φ).
        let theta: Vec<usize> = (0..n)
            .map(|i| p.var(format!("theta[{i}]"), f64::NEG_INFINITY, f64::INFINITY, 0.0))
            .collect();
        p.row(
            "theta slack",
            Sense::Eq,
            vec![(theta[grid.slack], 1.0)],
            grid.slack_va_rad,
        );
        for (l, br) in grid.branches.iter().enumerate() {
            let k = 1000.0 * grid.sn_mva * br.b_dc_pu();
            p.row(
                format!("kvl {}", branch_name(grid, l)),
                Sense::Eq,
                vec![
                    (lay.flow[l].0, 1.0),
                    (theta[br.from], -k),
                    (theta[br.to], k),
                ],
                -k * br.shift_rad,
            );
        }
    }
    for i in 0..n {
        active_balance(grid, p, lay, i, &out[i], &inj[i], inp.bg_p_kw[i]);
    }
}

/// The active-power balance row of node `i`: `outflow − Σ injections = background`.
fn active_balance(
    grid: &Grid,
    p: &mut Problem,
    lay: &mut Layout,
    i: usize,
    out: &[(usize, f64)],
    inj: &[(usize, f64)],
    bg_kw: f64,
) {
    let mut terms = out.to_vec();
    terms.extend(inj.iter().map(|&(j, v)| (j, -v)));
    lay.balance.push(p.row(
        format!("balance P {}", node_name(grid, i)),
        Sense::Eq,
        terms,
        bg_kw,
    ));
}

#[allow(clippy::too_many_arguments)]
/// The DistFlow network block (LinDistFlow, or the SOCP relaxation when `socp`).
pub(crate) fn distflow(
    grid: &Grid,
    topo: &Topology,
    spec: &ClearingSpec,
    p: &mut Problem,
    lay: &mut Layout,
    inj: &[Vec<(usize, f64)>],
    inp: &StepInput,
    socp: bool,
) {
    let n = grid.n_nodes();
    let kappa = lay.kappa;
    let nb = grid.branches.len();
    lay.flow = vec![(NONE, 1.0); nb];
    lay.v = (0..n)
        .map(|i| {
            p.var(
                format!("v[{}]", node_name(grid, i)),
                0.0,
                f64::INFINITY,
                0.0,
            )
        })
        .collect();
    p.row(
        "v slack",
        Sense::Eq,
        vec![(lay.v[grid.slack], 1.0)],
        grid.slack_vm_pu * grid.slack_vm_pu,
    );
    let q_slack = p.var("q_slack", f64::NEG_INFINITY, f64::INFINITY, 0.0);
    // Per node k ≠ slack: P_k, Q_k (kW, kvar) from its parent, sending end.
    let mut pk = vec![NONE; n];
    let mut qk = vec![NONE; n];
    let mut lk = vec![NONE; n];
    let mut p_out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut q_out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let c8 = (std::f64::consts::PI / 8.0).cos();
    for &k in topo.bfs_order() {
        let Some((par, l)) = topo.parent(k) else {
            continue;
        };
        let br = &grid.branches[l];
        let name = branch_name(grid, l);
        pk[k] = p.var(format!("P[{name}]"), f64::NEG_INFINITY, f64::INFINITY, 0.0);
        qk[k] = p.var(format!("Q[{name}]"), f64::NEG_INFINITY, f64::INFINITY, 0.0);
        // Sending-end flow reported from→to.
        lay.flow[l] = (pk[k], if br.from == par { 1.0 } else { -1.0 });
        let (r, x) = (br.r_pu, br.x_pu);
        // Ideal transformer on the from side: v_to = v_from/τ² − …
        let (a_par, scale) = if br.from == par {
            (1.0 / (br.tap * br.tap), 1.0)
        } else {
            (br.tap * br.tap, br.tap * br.tap)
        };
        // Outflow at parent: +P_k; inflow at k: −(P_k − losses).
        p_out[par].push((pk[k], 1.0));
        q_out[par].push((qk[k], 1.0));
        p_out[k].push((pk[k], -1.0));
        q_out[k].push((qk[k], -1.0));
        let mut vrow = vec![
            (lay.v[k], 1.0),
            (lay.v[par], -a_par),
            (pk[k], 2.0 * kappa * r * scale),
            (qk[k], 2.0 * kappa * x * scale),
        ];
        if socp {
            lk[k] = p.var(format!("l[{name}]"), 0.0, f64::INFINITY, 0.0);
            // Losses r·ℓ (p.u.) appear at the receiving end: in kW, r·ℓ/κ.
            p_out[k].push((lk[k], r / kappa));
            q_out[k].push((lk[k], x / kappa));
            vrow.push((lk[k], -(r * r + x * x) * scale));
            // P² + Q² ≤ v_p' ℓ  ⇔  ‖(2κP, 2κQ, v_p' − ℓ)‖ ≤ v_p' + ℓ, v_p' = a_par·v_p (from = parent).
            let ap = if br.from == par { a_par } else { 1.0 };
            p.cone(
                format!("flow-current {name}"),
                vec![
                    Affine {
                        terms: vec![(lay.v[par], ap), (lk[k], 1.0)],
                        constant: 0.0,
                    },
                    Affine {
                        terms: vec![(pk[k], 2.0 * kappa)],
                        constant: 0.0,
                    },
                    Affine {
                        terms: vec![(qk[k], 2.0 * kappa)],
                        constant: 0.0,
                    },
                    Affine {
                        terms: vec![(lay.v[par], ap), (lk[k], -1.0)],
                        constant: 0.0,
                    },
                ],
            );
            lay.soc.push((pk[k], qk[k], lk[k], lay.v[par], ap));
        }
        p.row(format!("voltage drop {name}"), Sense::Eq, vrow, 0.0);
        let (lo, hi) = spec.v_band_sq(inp.v_offset_pu.get(k).copied().unwrap_or(0.0));
        p.row(
            format!("vmax {}", node_name(grid, k)),
            Sense::Le,
            vec![(lay.v[k], 1.0)],
            hi,
        );
        p.row(
            format!("vmin {}", node_name(grid, k)),
            Sense::Le,
            vec![(lay.v[k], -1.0)],
            -lo,
        );
        if let Some(s) = s_max_kva(grid, l) {
            if socp {
                p.cone(
                    format!("thermal {name}"),
                    vec![
                        Affine {
                            terms: vec![],
                            constant: s,
                        },
                        Affine {
                            terms: vec![(pk[k], 1.0)],
                            constant: 0.0,
                        },
                        Affine {
                            terms: vec![(qk[k], 1.0)],
                            constant: 0.0,
                        },
                    ],
                );
            } else {
                for j in 0..8 {
                    let a = j as f64 * std::f64::consts::FRAC_PI_4;
                    let (sa, ca) = a.sin_cos();
                    let mut terms = Vec::new();
                    if ca.abs() > 1e-12 {
                        terms.push((pk[k], ca));
                    }
                    if sa.abs() > 1e-12 {
                        terms.push((qk[k], sa));
                    }
                    let row = p.row(
                        format!("thermal {name} ({}°)", j * 45),
                        Sense::Le,
                        terms,
                        s * c8,
                    );
                    // ∂row/∂P_k = cos α; P_k is the flow parent→child: orientation sign applied
                    // through lay.flow's direction.
                    lay.thermal_rows
                        .push((row, l, if ca.abs() > 1e-12 { ca } else { 0.0 }));
                }
            }
        }
    }
    for i in 0..n {
        active_balance(grid, p, lay, i, &p_out[i], &inj[i], inp.bg_p_kw[i]);
        let mut qt = q_out[i].clone();
        if lay.shed[i] != NONE {
            qt.push((lay.shed[i], -inp.tan_phi[i]));
        }
        if i == grid.slack {
            qt.push((q_slack, -1.0));
        }
        p.row(
            format!("balance Q {}", node_name(grid, i)),
            Sense::Eq,
            qt,
            inp.bg_q_kvar[i],
        );
    }
}
