//! PTDF: against pandapower's `makePTDF` on CIGRE LV (1e-9), path-based vs solve-based on every
//! shipped feeder, and a hand-derived meshed triangle.

mod common;

use common::*;
use netclear::network::electrical::{BranchElement, Grid};
use netclear::network::topology::Topology;
use netclear::network::{registry, BusId, LineId, TrafoId};
use netclear::pf::dc::DcModel;
use netclear::pf::ptdf::{Ptdf, PtdfMethod};
use std::path::Path;

#[test]
fn radial_ptdf_matches_pandapower_makeptdf_on_cigre_lv() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ptdf/cigre_lv");
    let net = registry::resolve("cigre44").unwrap();
    let grid = Grid::from_network(&net).unwrap();
    let topo = Topology::new(&grid);
    assert!(topo.is_radial());
    let ptdf = Ptdf::new(&grid, &topo, &DcModel::new(&grid).unwrap());
    assert_eq!(ptdf.method, PtdfMethod::Radial);
    let dense = ptdf.to_dense();
    let t = table(&dir.join("ptdf_bus.csv"));
    let mut checked = 0;
    for row in t.rows() {
        let name = row.str("branch").unwrap();
        let (kind, id) = name.split_once('_').unwrap();
        let id: i64 = id.parse().unwrap();
        let el = match kind {
            "line" => BranchElement::Line(LineId(id)),
            _ => BranchElement::Trafo(TrafoId(id)),
        };
        let br = grid.branch_of(el).unwrap();
        for b in &net.buses {
            let col = format!("bus_{}", b.id.0);
            let node = grid.node_of_bus(b.id).unwrap();
            close(
                dense[br][node],
                row.f64(&col).unwrap(),
                1e-9,
                &format!("PTDF[{name}, {col}]"),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 40 * 44);
}

#[test]
fn path_and_solve_ptdfs_agree_on_every_shipped_feeder_and_reproduce_dc_flows() {
    for name in registry::shipped_names() {
        let net = registry::resolve(name).unwrap();
        let grid = Grid::from_network(&net).unwrap();
        let topo = Topology::new(&grid);
        let dc = DcModel::new(&grid).unwrap();
        let a = Ptdf::radial(&grid, &topo);
        let b = Ptdf::by_solves(&grid, &dc);
        let (da, db) = (a.to_dense(), b.to_dense());
        for (l, (ra, rb)) in da.iter().zip(&db).enumerate() {
            for (k, (x, y)) in ra.iter().zip(rb).enumerate() {
                close(*x, *y, 1e-9, &format!("{name} PTDF[{l},{k}]"));
            }
        }
        let inj = grid.default_injections(&net);
        let flows = a.flows_mw(&inj.p_mw);
        let sol = dc.solve(&inj.p_mw);
        for (l, (f, g)) in flows.iter().zip(&sol.p_from_mw).enumerate() {
            close(*f, *g, 1e-9, &format!("{name} flow {l}"));
        }
    }
}

/// Triangle 0–1–2 with equal reactances, slack at 0. An injection at 2 splits 2/3 on the direct
/// branch and 1/3 around through node 1 (current divider).
#[test]
fn meshed_triangle_ptdf_is_the_current_divider() {
    let net = mini_net(
        vec![bus(0, 0.4), bus(1, 0.4), bus(2, 0.4)],
        vec![
            line(0, 0, 1, 0.1, 0.2, 0.1),
            line(1, 1, 2, 0.1, 0.2, 0.1),
            line(2, 0, 2, 0.1, 0.2, 0.1),
        ],
        vec![],
        vec![],
        0,
    );
    let grid = Grid::from_network(&net).unwrap();
    let topo = Topology::new(&grid);
    assert!(!topo.is_radial());
    let ptdf = Ptdf::new(&grid, &topo, &DcModel::new(&grid).unwrap());
    assert_eq!(ptdf.method, PtdfMethod::Solves);
    let d = ptdf.to_dense();
    let n2 = grid.node_of_bus(BusId(2)).unwrap();
    let n1 = grid.node_of_bus(BusId(1)).unwrap();
    // line 0: 0→1, line 1: 1→2, line 2: 0→2
    close(d[0][n2], -1.0 / 3.0, 1e-12, "0-1 per MW at 2");
    close(d[1][n2], -1.0 / 3.0, 1e-12, "1-2 per MW at 2");
    close(d[2][n2], -2.0 / 3.0, 1e-12, "0-2 per MW at 2");
    close(d[0][n1], -2.0 / 3.0, 1e-12, "0-1 per MW at 1");
    close(d[1][n1], 1.0 / 3.0, 1e-12, "1-2 per MW at 1");
    close(d[2][n1], -1.0 / 3.0, 1e-12, "0-2 per MW at 1");
}
