//! DC and AC power flow against pandapower 3.5.6 (`rundcpp`, `runpp`) on every oracle scenario:
//! DC to 1e-9 MW and 1e-9 degrees, AC to 1e-6 p.u., degrees and MW.

mod common;

use common::*;
use netclear::network::electrical::Grid;
use netclear::network::{BusId, LineId, TrafoId};
use netclear::pf::ac::{AcModel, AcOptions};
use netclear::pf::dc::DcModel;
use netclear::pf::PfReport;
use std::path::Path;

fn check_branches(r: &PfReport, dir: &Path, prefix: &str, tol_p: f64, tol_i: f64, tol_load: f64) {
    let what = |k: &str, id: i64, c: &str| format!("{}: {prefix} {k} {id} {c}", dir.display());
    let lines = dir.join(format!("{prefix}_line.csv"));
    for row in table(&lines).rows() {
        let id = row.int("line").unwrap();
        let b = r.line(LineId(id)).expect("line in report");
        for (col, v, tol) in [
            ("p_from_mw", b.p_from_mw, tol_p),
            ("p_to_mw", b.p_to_mw, tol_p),
            ("q_from_mvar", b.q_from_mvar, tol_p),
            ("q_to_mvar", b.q_to_mvar, tol_p),
            ("pl_mw", b.pl_mw, tol_p),
            ("ql_mvar", b.ql_mvar, tol_p),
            ("i_from_ka", b.i_from_ka, tol_i),
            ("i_to_ka", b.i_to_ka, tol_i),
            ("loading_percent", b.loading_percent, tol_load),
        ] {
            close(v, row.f64(col).unwrap(), tol, &what("line", id, col));
        }
    }
    let trafos = dir.join(format!("{prefix}_trafo.csv"));
    for row in table(&trafos).rows() {
        let id = row.int("trafo").unwrap();
        let b = r.trafo(TrafoId(id)).expect("trafo in report");
        for (col, v, tol) in [
            ("p_hv_mw", b.p_from_mw, tol_p),
            ("p_lv_mw", b.p_to_mw, tol_p),
            ("q_hv_mvar", b.q_from_mvar, tol_p),
            ("q_lv_mvar", b.q_to_mvar, tol_p),
            ("pl_mw", b.pl_mw, tol_p),
            ("i_hv_ka", b.i_from_ka, tol_i),
            ("i_lv_ka", b.i_to_ka, tol_i),
            ("loading_percent", b.loading_percent, tol_load),
        ] {
            close(v, row.f64(col).unwrap(), tol, &what("trafo", id, col));
        }
    }
}

#[test]
fn dc_matches_pandapower_on_every_oracle_scenario() {
    let scenarios = oracle_scenarios();
    assert!(
        scenarios.len() >= 8,
        "expected the shipped oracle scenarios"
    );
    for (feeder, dir) in scenarios {
        let net = scenario_network(&feeder, &dir);
        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        let dc = DcModel::new(&grid).unwrap();
        let sol = dc.solve(&inj.p_mw);
        let r = dc.report(&net, &grid, &inj.p_mw, &sol);
        for row in table(&dir.join("dc_bus.csv")).rows() {
            let bus = BusId(row.int("bus").unwrap());
            let b = r.bus(bus).unwrap();
            let what = format!("{}: dc bus {} va_degree", dir.display(), bus.0);
            close(b.va_degree, row.f64("va_degree").unwrap(), 1e-9, &what);
        }
        let eg = table(&dir.join("dc_ext_grid.csv"));
        let eg = eg.rows().next().unwrap();
        close(
            r.slack_p_mw,
            eg.f64("p_mw").unwrap(),
            1e-9,
            &format!("{}: dc ext_grid p_mw", dir.display()),
        );
        // DC: flows 1e-9 MW, currents 1e-9 kA, loading 1e-7 % (pandapower's own rounding).
        check_branches(&r, &dir, "dc", 1e-9, 1e-9, 1e-7);
    }
}

#[test]
fn ac_matches_pandapower_on_every_oracle_scenario() {
    for (feeder, dir) in oracle_scenarios() {
        let net = scenario_network(&feeder, &dir);
        let grid = Grid::from_network(&net).unwrap();
        let inj = grid.default_injections(&net);
        let ac = AcModel::new(&grid).unwrap();
        let sol = ac.solve(&inj.p_mw, &inj.q_mvar, &AcOptions::default());
        assert!(
            sol.converged,
            "{}: AC did not converge: {:?}",
            dir.display(),
            sol.log
        );
        let r = ac.report(&net, &grid, &inj.p_mw, &inj.q_mvar, &sol);
        for row in table(&dir.join("ac_bus.csv")).rows() {
            let bus = BusId(row.int("bus").unwrap());
            let b = r.bus(bus).unwrap();
            let what = |c: &str| format!("{}: ac bus {} {c}", dir.display(), bus.0);
            close(b.vm_pu, row.f64("vm_pu").unwrap(), 1e-6, &what("vm_pu"));
            close(
                b.va_degree,
                row.f64("va_degree").unwrap(),
                1e-6,
                &what("va_degree"),
            );
        }
        let eg = table(&dir.join("ac_ext_grid.csv"));
        let eg = eg.rows().next().unwrap();
        close(
            r.slack_p_mw,
            eg.f64("p_mw").unwrap(),
            1e-6,
            &format!("{}: ac ext_grid p_mw", dir.display()),
        );
        close(
            r.slack_q_mvar,
            eg.f64("q_mvar").unwrap(),
            1e-6,
            &format!("{}: ac ext_grid q_mvar", dir.display()),
        );
        check_branches(&r, &dir, "ac", 1e-6, 1e-6, 1e-4);
    }
}
