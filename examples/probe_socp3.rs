use netclear::clearing::{Agent, Background, Corrector, NetworkModel, StepInput};
use netclear::scenario::Scenario;
fn main() {
    let mut s = Scenario { network: "village80".into(), pv_share_percent: 50.0, pv_kwp_per_household: 25.0, ..Scenario::default() };
    s.clearing.model = NetworkModel::Socp; s.clearing.vmin_pu = 0.95; s.clearing.vmax_pu = 1.05; s.clearing.background = Background::Enforce;
    let c = netclear::scenario::community::build(&s).unwrap();
    let corr = Corrector::new(&c.grid, &s.clearing).unwrap();
    let limits = corr.limits().clone();
    let ac = netclear::pf::ac::AcModel::new(&c.grid).unwrap();
    for t in [10usize, 12, 14] {
        let agents: Vec<Agent> = c.prosumers.iter().map(|p| { let net = p.pv_kw[t] - p.load_kw[t]; Agent { node: p.node, p_kw: net, q_kvar: -p.load_kw[t]*c.load_tan_phi, curtailable_kw: net.max(0.0), sheddable_kw: (-net).max(0.0), tan_phi: c.load_tan_phi } }).collect();
        let inp = StepInput { dt_h: 1.0, agents: &agents, trades: &[], import_per_kwh: 0.25, export_per_kwh: 0.05, limits: &limits };
        let (o, _) = corr.optimise(&inp);
        let (p, q) = netclear::clearing::cleared_injections(&inp, &o, c.grid.n_nodes());
        let sol = ac.solve(&p.iter().map(|v| v*1e-3).collect::<Vec<_>>(), &q.iter().map(|v| v*1e-3).collect::<Vec<_>>(), &Default::default());
        let vmax_ac = sol.vm_pu.iter().cloned().fold(0.0, f64::max);
        let vmax_pred = o.predicted_vm_pu.as_ref().unwrap().iter().cloned().fold(0.0, f64::max);
        let inj: f64 = agents.iter().map(|a| a.p_kw).sum();
        let agents0: Vec<Agent> = agents.iter().map(|a| Agent { curtailable_kw: 0.0, sheddable_kw: 0.0, ..*a }).collect();
        let inp0 = StepInput { agents: &agents0, ..inp.clone() };
        let (pb, _) = corr.build(&inp).unwrap();
        let (pb0, _) = corr.build(&inp0).unwrap();
        let s1 = netclear::opt::clarabel::solve(&pb, &Default::default());
        let s0 = netclear::opt::clarabel::solve(&pb0, &Default::default());
        println!("   obj with curtailment {:.6} ({:?}), without {:.6} ({:?})", s1.objective, s1.status, s0.objective, s0.status);
        for (name, pb, so) in [("with", &pb, &s1), ("without", &pb0, &s0)] {
            let mut imp = 0.0; let mut exp = 0.0; let mut curt = 0.0; let mut loss = 0.0;
            for (j, tag) in pb.var_tags.iter().enumerate() {
                let tg = tag.to_string(); let x = so.x.0[j];
                if tg == "p_imp" { imp = x } else if tg == "p_exp" { exp = x } else if tg.starts_with("curt[") { curt += x } else if tg.starts_with("l[") {
                    let l: usize = tg[2..tg.len()-1].parse().unwrap(); loss += c.grid.branches[l].r_pu * x * 1000.0 }
            }
            println!("   {name}: imp {imp:.4} exp {exp:.4} curt {curt:.3} losses {loss:.4} kW");
        }
        let lind = netclear::clearing::ClearingSpec { model: NetworkModel::Lindistflow, ..s.clearing };
        let cl = Corrector::new(&c.grid, &lind).unwrap();
        let (ol, _) = cl.optimise(&inp);
        println!("   lindistflow optimise: {} curt {:.3}", ol.status, ol.curt_kw.iter().sum::<f64>());
        println!("t{t}: {} it {} curt {:.2} of {:.1} net inj, gap {:?}, vmax pred {:.4} ac {:.4}, slack pred ? ac {:.2} kW, binding {:?}", o.status, o.iterations, o.curt_kw.iter().sum::<f64>(), inj, o.socp_max_gap, vmax_pred, vmax_ac, sol.slack_p_mw*1e3, o.binding.iter().take(4).map(|b| b.name.clone()).collect::<Vec<_>>());
    }
}
#[allow(dead_code)]
fn unused() {}
