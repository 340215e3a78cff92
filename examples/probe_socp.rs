use netclear::clearing::{Background, NetworkModel};
use netclear::scenario::Scenario;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = match args.get(1).map(String::as_str) { Some("dc") => NetworkModel::Dc, Some("lindistflow") => NetworkModel::Lindistflow, _ => NetworkModel::Socp };
    let vmax: f64 = std::env::args().nth(2).map(|v| v.parse().unwrap()).unwrap_or(1.05);
    let kwps: Vec<f64> = std::env::args().nth(3).map(|v| v.split(',').map(|x| x.parse().unwrap()).collect()).unwrap_or(vec![3.0, 25.0]);
    for net in ["village80", "rural_1", "suburb_1"] { for &kwp in &kwps {
        let mut s = Scenario { network: net.into(), pv_share_percent: 50.0, pv_kwp_per_household: kwp, ..Scenario::default() };
        s.clearing.model = model; s.clearing.vmin_pu = 0.95; s.clearing.vmax_pu = vmax; s.clearing.background = Background::Enforce;
        let t0 = std::time::Instant::now();
        let r = netclear::study::run(&s).unwrap();
        let b = &r.day.baseline;
        let st: std::collections::BTreeMap<String, usize> = b.clearing.iter().fold(Default::default(), |mut m, c| { *m.entry(format!("{}{}", c.outcome.status, if c.outcome.optimised {"*"} else {""})).or_default() += 1; m });
        let k = &b.kpis;
        println!("{net} {kwp}kWp {:?}: {:?} gap {:?} curt {:.2} shed {:.2} ACviol {} vmax {:?} vmin {:?} maxline {:.1} trafo {:.1} binding {} ({:.2}s)", model, st, k.socp_max_gap, k.pv_curtailed_kwh, k.load_shed_kwh, k.ac_violation_steps, k.ac_vmax_pu, k.ac_vmin_pu, k.max_line_loading_percent, k.max_trafo_loading_percent, k.steps_with_binding_limits, t0.elapsed().as_secs_f64());
    } }
}
