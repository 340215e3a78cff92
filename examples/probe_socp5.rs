use netclear::clearing::{Agent, Background, Corrector, NetworkModel, StepInput};
use netclear::scenario::Scenario;
fn main() {
    let net = std::env::args().nth(1).unwrap_or("rural_1".into());
    let t: usize = std::env::args().nth(2).map(|v| v.parse().unwrap()).unwrap_or(3);
    let mut s = Scenario { network: net, pv_share_percent: 50.0, ..Scenario::default() };
    s.clearing.model = NetworkModel::Socp; s.clearing.vmin_pu = 0.95; s.clearing.vmax_pu = 1.05; s.clearing.background = Background::Enforce;
    let c = netclear::scenario::community::build(&s).unwrap();
    let corr = Corrector::new(&c.grid, &s.clearing).unwrap();
    let limits = corr.limits().clone();
    let agents: Vec<Agent> = c.prosumers.iter().map(|p| { let net = p.pv_kw[t] - p.load_kw[t]; Agent { node: p.node, p_kw: net, q_kvar: -p.load_kw[t]*c.load_tan_phi, curtailable_kw: 0.0, sheddable_kw: 0.0, tan_phi: c.load_tan_phi } }).collect();
    let inp = StepInput { dt_h: 1.0, agents: &agents, trades: &[], import_per_kwh: 0.25, export_per_kwh: 0.05, limits: &limits };
    let (mut pb, _) = corr.build(&inp).unwrap();
    pb.cones.retain(|c| !c.tag.to_string().starts_with("thermal"));
    pb.rows.retain(|r| { let t = r.tag.to_string(); !(t.starts_with("vmax") || t.starts_with("vmin")) });
    std::fs::write("/tmp/socp_probe.json", pb.to_json()).unwrap();
    let so = netclear::opt::clarabel::solve(&pb, &Default::default());
    println!("{:?} {}", so.status, so.iterations);
}
