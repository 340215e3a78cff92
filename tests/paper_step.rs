//! The 2024 paper's single-timestep study (`--preset paper2024-single-step`): the notebook's LP
//! at hour 11 against the independent HiGHS reproduction and the notebook's printed values
//! (`tests/data/paper_repro/cigre44_single_timestep_h11.json`), and laws of its corrected variant.

use netclear::scenario::{Preset, Scenario};
use netclear::study::{self, paper_step};
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

fn reference() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/paper_repro/cigre44_single_timestep_h11.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn single_step() -> &'static paper_step::SingleStep {
    static R: OnceLock<paper_step::SingleStep> = OnceLock::new();
    R.get_or_init(|| {
        let r = study::run(&Scenario::preset(Preset::Paper2024SingleStep)).unwrap();
        r.comparisons.paper.unwrap().single_step.unwrap()
    })
}

#[test]
fn the_matches_at_hour_11_are_the_notebooks() {
    let r = single_step();
    let j = reference();
    assert_eq!(r.hour as u64, j["hour"].as_u64().unwrap());
    let m = j["seller_matches"].as_array().unwrap();
    assert_eq!(r.trades.len(), m.len());
    for (t, row) in r.trades.iter().zip(m) {
        assert_eq!(t.seller_bus as f64, f(&row[0]));
        assert_eq!(t.buyer_bus as f64, f(&row[1]));
        assert!((t.q_mw - f(&row[2])).abs() < 1e-15, "{} {}", t.q_mw, row[2]);
        assert!((t.price_per_kwh - f(&row[3])).abs() < 1e-15);
    }
}

#[test]
fn the_notebooks_lp_reproduces_its_optimum() {
    let r = single_step();
    let j = reference();
    eprintln!("{r:#?}");
    // Normal case: every trade executed in full.
    let n = &j["normal"];
    assert!((r.normal.objective_mw - f(&n["objective"])).abs() < 1e-9);
    for x in &r.normal.x {
        assert!((x - 1.0).abs() < 1e-6, "{x}");
    }
    assert!((r.normal.slack_power_mw - f(&n["slack_power"])).abs() < 1e-9);
    assert!((r.normal.total_demand_mw - f(&n["total_demand"])).abs() < 1e-9);
    // Extreme ×100: the optimum (HiGHS 0.25555288904394324; Gurobi printed 0.255552889).
    let e = &j["extreme_x100"];
    assert!(
        (r.extreme.objective_mw - f(&e["objective"])).abs() < 1e-7,
        "{} vs {}",
        r.extreme.objective_mw,
        e["objective"]
    );
    let printed = &j["notebook_reported_extreme"];
    assert!((r.extreme.objective_mw - f(&printed["objective"])).abs() < 5e-10);
    assert!((r.extreme.slack_power_mw - f(&e["slack_power"])).abs() < 1e-9);
    assert!((r.extreme.total_demand_mw - f(&e["total_demand"])).abs() < 1e-9);
    // x is not unique; the sums over the first three and the last three trades are.
    let hx: Vec<f64> = e["x"].as_array().unwrap().iter().map(f).collect();
    let gx: Vec<f64> = printed["x"].as_array().unwrap().iter().map(f).collect();
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    for (a, b) in [(0, 3), (3, 6)] {
        assert!((sum(&r.extreme.x[a..b]) - sum(&hx[a..b])).abs() < 1e-6);
        // Gurobi's printed x (6 decimals) gives the same sums.
        assert!((sum(&gx[a..b]) - sum(&hx[a..b])).abs() < 2e-6);
    }
}
