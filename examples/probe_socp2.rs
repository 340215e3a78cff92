use netclear::clearing::{Agent, Background, Corrector, NetworkModel, StepInput};
use netclear::scenario::Scenario;
fn main() {
    let net = std::env::args().nth(1).unwrap_or("village80".into());
    let mut s = Scenario { network: net, pv_share_percent: 50.0, ..Scenario::default() };
    s.clearing.model = NetworkModel::Socp; s.clearing.vmin_pu = 0.95; s.clearing.vmax_pu = 1.05; s.clearing.background = Background::Enforce;
    let c = netclear::scenario::community::build(&s).unwrap();
    let corr = Corrector::new(&c.grid, &s.clearing).unwrap();
    let limits = corr.limits().clone();
    for t in [3usize, 12, 19] {
        let agents: Vec<Agent> = c.prosumers.iter().map(|p| { let net = p.pv_kw[t] - p.load_kw[t]; Agent { node: p.node, p_kw: net, q_kvar: -p.load_kw[t]*c.load_tan_phi, curtailable_kw: net.max(0.0), sheddable_kw: (-net).max(0.0), tan_phi: c.load_tan_phi } }).collect();
        let inp = StepInput { dt_h: 1.0, agents: &agents, trades: &[], import_per_kwh: 0.25, export_per_kwh: 0.05, limits: &limits };
        let (p, _) = corr.build(&inp).unwrap();
        let sol = netclear::opt::clarabel::solve(&p, &Default::default());
        let (o, _) = corr.optimise(&inp);
        println!("t{t}: status {:?} iters {} obj {:.6} | outcome {} gap {:?} iters {} binding {:?} curt {:.3}", sol.status, sol.iterations, sol.objective, o.status, o.socp_max_gap, o.iterations, o.binding.iter().map(|b| (&b.name, b.shadow_price)).collect::<Vec<_>>(), o.curt_kw.iter().sum::<f64>());
        // coefficient range
        let mut mn = f64::INFINITY; let mut mx: f64 = 0.0;
        for r in &p.rows { for &(_, v) in &r.terms { if v != 0.0 { mn = mn.min(v.abs()); mx = mx.max(v.abs()); } } }
        for cn in &p.cones { for e in &cn.exprs { for &(_, v) in &e.terms { if v != 0.0 { mn = mn.min(v.abs()); mx = mx.max(v.abs()); } } } }
        let cmax = p.c.iter().fold(0.0f64, |a, v| a.max(v.abs())); let cmin = p.c.iter().filter(|v| **v != 0.0).fold(f64::INFINITY, |a, v| a.min(v.abs()));
        println!("   coeff range {mn:.2e}..{mx:.2e}, cost {cmin:.2e}..{cmax:.2e}, vars {} rows {} cones {}", p.n_vars(), p.rows.len(), p.cones.len());
    }
}
