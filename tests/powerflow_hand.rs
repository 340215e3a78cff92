//! Power flow on hand-derived 2–3 bus cases and conservation laws on every shipped feeder.

mod common;

use common::*;
use netclear::network::electrical::Grid;
use netclear::network::{registry, BusId};
use netclear::pf::ac::{AcModel, AcOptions};
use netclear::pf::dc::DcModel;

/// Two 0.4 kV buses, 1 km of line with x = 0.1 Ω/km: Z_b = 0.16 Ω, x = 0.625 p.u.,
/// b = 1.6 p.u.; a 0.1 MW load gives θ₁ = −0.1/1.6 rad and 0.1 MW on the line.
#[test]
fn dc_two_bus_closed_form() {
    let net = mini_net(
        vec![bus(0, 0.4), bus(1, 0.4)],
        vec![line(0, 0, 1, 1.0, 0.2, 0.1)],
        vec![],
        vec![load(0, 1, 0.1, 0.0)],
        0,
    );
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let dc = DcModel::new(&grid).unwrap();
    let sol = dc.solve(&inj.p_mw);
    close(sol.va_rad[1], -0.1 / 1.6, 1e-15, "theta_1");
    close(sol.p_from_mw[0], 0.1, 1e-15, "flow");
    close(sol.slack_p_mw, 0.1, 1e-15, "import");
    let r = dc.report(&net, &grid, &inj.p_mw, &sol);
    // i = 0.1 MW / (√3 · 0.4 kV) = 0.1443 kA; 0.2 kA rating → 72.17 %.
    let i = 0.1 / (3f64.sqrt() * 0.4);
    close(r.branches[0].i_from_ka, i, 1e-15, "current");
    close(
        r.branches[0].loading_percent,
        i / 0.2 * 100.0,
        1e-12,
        "loading",
    );
}

/// Two buses, series z = r + jx (p.u.), load S = P + jQ, slack at 1∠0:
/// |V₂|² = [(1 − 2(rP + xQ)) + √((1 − 2(rP + xQ))² − 4|z|²|S|²)] / 2 and losses r|S|²/|V₂|².
#[test]
fn ac_two_bus_closed_form() {
    let (p, q) = (0.05, 0.02); // MW, Mvar on a 1 MVA base
    let net = mini_net(
        vec![bus(0, 0.4), bus(1, 0.4)],
        vec![line(0, 0, 1, 0.2, 0.4, 0.1)],
        vec![],
        vec![load(0, 1, p, q)],
        0,
    );
    let zb = 0.16;
    let (r, x) = (0.4 * 0.2 / zb, 0.1 * 0.2 / zb);
    let a = 1.0 - 2.0 * (r * p + x * q);
    let v2sq = (a + (a * a - 4.0 * (r * r + x * x) * (p * p + q * q)).sqrt()) / 2.0;
    let losses = r * (p * p + q * q) / v2sq;
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let ac = AcModel::new(&grid).unwrap();
    let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &AcOptions::default());
    assert!(sol.converged);
    close(sol.vm_pu[1], v2sq.sqrt(), 1e-10, "|V2|");
    close(sol.slack_p_mw, p + losses, 1e-10, "import P");
    close(sol.slack_q_mvar, q + losses * x / r, 1e-10, "import Q");
}

/// A radial trafo's phase shift rotates the LV angles by −shift and leaves flows unchanged.
#[test]
fn trafo_phase_shift_rotates_angles_not_flows() {
    let mk = |shift| {
        mini_net(
            vec![bus(0, 20.0), bus(1, 0.4), bus(2, 0.4)],
            vec![line(0, 1, 2, 0.1, 0.2, 0.08)],
            vec![trafo(0, 0, 1, shift)],
            vec![load(0, 2, 0.03, 0.01)],
            0,
        )
    };
    let (a, b) = (mk(0.0), mk(150.0));
    let (ga, gb) = (
        Grid::from_network(&a).unwrap(),
        Grid::from_network(&b).unwrap(),
    );
    let ia = ga.default_injections(&a);
    let sa = AcModel::new(&ga)
        .unwrap()
        .solve(&ia.p_mw, &ia.q_mvar, &AcOptions::default());
    let sb = AcModel::new(&gb)
        .unwrap()
        .solve(&ia.p_mw, &ia.q_mvar, &AcOptions::default());
    for k in 1..3 {
        close(
            sb.va_rad[k] - sa.va_rad[k],
            -150f64.to_radians(),
            1e-10,
            "angle offset",
        );
        close(sb.vm_pu[k], sa.vm_pu[k], 1e-12, "vm");
    }
    for (fa, fb) in sa.flows.iter().zip(&sb.flows) {
        for c in 0..4 {
            close(fa[c], fb[c], 1e-12, "flow");
        }
    }
    let da = DcModel::new(&ga).unwrap().solve(&ia.p_mw);
    let db = DcModel::new(&gb).unwrap().solve(&ia.p_mw);
    close(
        db.va_rad[2] - da.va_rad[2],
        -150f64.to_radians(),
        1e-12,
        "dc angle offset",
    );
    close(db.p_from_mw[0], da.p_from_mw[0], 1e-13, "dc flow");
}

/// At every node the power leaving on branches equals the injection (DC exactly; AC with the
/// branch flows at each end, losses included), on every shipped feeder with its default loads.
#[test]
fn flows_balance_injections_at_every_node() {
    for name in registry::shipped_names() {
        let net = registry::resolve(name).unwrap();
        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        let n = grid.n_nodes();

        let dc = DcModel::new(&grid).unwrap().solve(&inj.p_mw);
        let mut out = vec![0.0; n];
        for (l, br) in grid.branches.iter().enumerate() {
            out[br.from] += dc.p_from_mw[l];
            out[br.to] -= dc.p_from_mw[l];
        }
        for k in 0..n {
            let want = inj.p_mw[k] + if k == grid.slack { dc.slack_p_mw } else { 0.0 };
            close(
                out[k],
                want,
                1e-10,
                &format!("{name} DC balance at node {k}"),
            );
        }

        let ac = AcModel::new(&grid)
            .unwrap()
            .solve(&inj.p_mw, &inj.q_mvar, &AcOptions::default());
        assert!(ac.converged, "{name}: {:?}", ac.log);
        let (mut p, mut q) = (vec![0.0; n], vec![0.0; n]);
        for (l, br) in grid.branches.iter().enumerate() {
            let [pf, qf, pt, qt] = ac.flows[l];
            p[br.from] += pf;
            q[br.from] += qf;
            p[br.to] += pt;
            q[br.to] += qt;
        }
        for k in 0..n {
            let (wp, wq) = if k == grid.slack {
                (inj.p_mw[k] + ac.slack_p_mw, inj.q_mvar[k] + ac.slack_q_mvar)
            } else {
                (inj.p_mw[k], inj.q_mvar[k])
            };
            close(p[k], wp, 1e-9, &format!("{name} AC P balance at node {k}"));
            close(q[k], wq, 1e-9, &format!("{name} AC Q balance at node {k}"));
        }
        // Losses are what the slack supplies beyond the net load.
        let losses: f64 = ac.flows.iter().map(|f| f[0] + f[2]).sum();
        close(
            ac.slack_p_mw + inj.p_mw.iter().sum::<f64>(),
            losses,
            1e-9,
            &format!("{name} losses"),
        );
        assert!(losses > 0.0);
    }
}

#[test]
fn ac_non_convergence_is_reported_with_its_iteration_log() {
    // 5 MW through 1 km of LV cable: far beyond the nose of the PV curve.
    let net = mini_net(
        vec![bus(0, 0.4), bus(1, 0.4)],
        vec![line(0, 0, 1, 1.0, 0.2, 0.08)],
        vec![],
        vec![load(0, 1, 5.0, 1.0)],
        0,
    );
    let grid = Grid::from_network(&net).unwrap();
    let inj = grid.default_injections(&net);
    let sol = AcModel::new(&grid).unwrap().solve(
        &inj.p_mw,
        &inj.q_mvar,
        &AcOptions {
            tol_mva: 1e-10,
            max_iter: 15,
        },
    );
    assert!(!sol.converged);
    assert!(sol.failure.is_some());
    assert!(!sol.log.is_empty() && sol.log.len() <= 16);
    assert!(
        sol.log.last().unwrap().max_mismatch_mva > 1e-10
            || !sol.log.last().unwrap().max_mismatch_mva.is_finite()
    );
}

#[test]
fn cigre_switch_fusion_and_leaves_match_pandapower() {
    let net = registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    assert_eq!(grid.n_nodes(), 41);
    let slack = grid.node_of_bus(BusId(0)).unwrap();
    assert_eq!(slack, 0);
    for b in [1, 20, 23] {
        assert_eq!(grid.node_of_bus(BusId(b)), Some(0));
    }
    assert_eq!(grid.node_of_bus(BusId(2)), Some(1));
    let leaves: Vec<i64> = netclear::network::topology::leaf_buses_graph_order(&net)
        .iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(
        leaves,
        vec![12, 16, 17, 18, 19, 22, 35, 36, 37, 40, 41, 42, 43]
    );
    // village_1: 40 leaves, the 20 kV slack bus last (pandapower graph order).
    let v = registry::resolve("village_1").unwrap();
    let vl = netclear::network::topology::leaf_buses_graph_order(&v);
    assert_eq!(vl.len(), 40);
    assert_eq!(vl.first(), Some(&BusId(11)));
    assert_eq!(vl.last(), Some(&BusId(0)));
}

#[test]
fn open_switch_drops_and_reports_the_cut_off_subfeeder() {
    let mut net = registry::resolve("cigre44").unwrap();
    // Open S2 (bus 0 – bus 20, the industrial sub-feeder's MV side).
    net.switches[1].closed = false;
    let grid = Grid::from_network(&net).unwrap();
    let dropped: Vec<i64> = grid.dropped_buses.iter().map(|(b, _)| b.0).collect();
    assert_eq!(dropped, vec![20, 21, 22]);
    assert_eq!(grid.n_nodes(), 41 - 2); // bus 20 was fused into the slack node before
                                        // A switch with impedance becomes a branch (switch_rx_ratio = 2).
    let mut net = registry::resolve("cigre44").unwrap();
    net.switches[1].z_ohm = 0.5;
    let grid = Grid::from_network(&net).unwrap();
    assert_eq!(grid.n_nodes(), 42);
    let sw = grid
        .branches
        .iter()
        .find(|b| {
            matches!(
                b.element,
                netclear::network::electrical::BranchElement::Switch(_)
            )
        })
        .unwrap();
    let zb = 20.0 * 20.0 / 1.0;
    close(sw.r_pu, 0.5 / zb * 2.0 / 5f64.sqrt(), 1e-15, "switch r");
    close(sw.x_pu, 0.5 / zb / 5f64.sqrt(), 1e-15, "switch x");
}

#[test]
fn paths_and_depths_on_a_radial_feeder() {
    let net = registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let topo = netclear::network::topology::Topology::new(&grid);
    let a = grid.node_of_bus(BusId(12)).unwrap();
    let b = grid.node_of_bus(BusId(16)).unwrap();
    let path = topo.path(&grid, a, b);
    // Walking the path from a must end at b, each step along its branch.
    let mut at = a;
    for s in &path {
        let br = &grid.branches[s.branch];
        assert_eq!(if s.forward { br.from } else { br.to }, at);
        at = if s.forward { br.to } else { br.from };
    }
    assert_eq!(at, b);
    assert_eq!(topo.depth(grid.slack), 0);
    assert_eq!(topo.path_from_slack(&grid, a).len(), topo.depth(a));
}
