use netclear::clearing::{Agent, Background, Corrector, NetworkModel, StepInput};
use netclear::scenario::Scenario;
fn main() {
    for (net, kwp) in [("village80", 25.0), ("suburb_1", 3.0), ("rural_1", 3.0)] {
    let mut s = Scenario { network: net.into(), pv_share_percent: 50.0, pv_kwp_per_household: kwp, ..Scenario::default() };
    s.clearing.model = NetworkModel::Socp; s.clearing.vmin_pu = 0.95; s.clearing.vmax_pu = 1.05; s.clearing.background = Background::Enforce;
    let c = netclear::scenario::community::build(&s).unwrap();
    let corr = Corrector::new(&c.grid, &s.clearing).unwrap();
    let limits = corr.limits().clone();
    let mut st = std::collections::BTreeMap::<String, usize>::new(); let mut its = 0;
    for t in 0..24 {
        let agents: Vec<Agent> = c.prosumers.iter().map(|p| { let net = p.pv_kw[t] - p.load_kw[t]; Agent { node: p.node, p_kw: net, q_kvar: -p.load_kw[t]*c.load_tan_phi, curtailable_kw: net.max(0.0), sheddable_kw: (-net).max(0.0), tan_phi: c.load_tan_phi } }).collect();
        let inp = StepInput { dt_h: 1.0, agents: &agents, trades: &[], import_per_kwh: 0.25, export_per_kwh: 0.05, limits: &limits };
        let (mut pb, _) = corr.build(&inp).unwrap();
        let mode = std::env::var("MODE").unwrap_or_default();
        if mode.contains("nothermal") { pb.cones.retain(|c| !c.tag.to_string().starts_with("thermal")); }
        if mode.contains("noquad") { pb.quad.clear(); }
        if mode.contains("nolcost") { for (j, t) in pb.var_tags.iter().enumerate() { if t.to_string().starts_with("l[") { pb.c[j] = 0.0; } } }
        if mode.contains("nocurt") { for (j, t) in pb.var_tags.iter().enumerate() { let t = t.to_string(); if t.starts_with("curt[") || t.starts_with("shed[") { pb.ub[j] = 0.0; } } }
        if mode.contains("vbound") { for (j, t) in pb.var_tags.iter().enumerate() { if t.to_string().starts_with("v[") { pb.ub[j] = 2.0; } } }
        if mode.contains("nobandrows") { pb.rows.retain(|r| { let t = r.tag.to_string(); !(t.starts_with("vmax") || t.starts_with("vmin")) }); }
        let so = netclear::opt::clarabel::solve(&pb, &Default::default());
        *st.entry(format!("{:?}", so.status)).or_default() += 1; its += so.iterations;
    }
    println!("{net} {kwp}: {:?} iters {its}", st);
    }
}
