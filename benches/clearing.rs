//! Network-correction benchmarks (divan): one hour's correction under each formulation, and whole
//! days with the correction and the AC check, on the shipped feeders and synthetic 10³/10⁴-bus
//! feeders (`village80x13`, `village80x127`).
//!
//! Run: `cargo bench --bench clearing`

use netclear::clearing::{correct_step, ClearingSpec, NetworkModel, StepInput, TradeFlow};
use netclear::network::topology::Topology;
use netclear::pf::dc::DcModel;
use netclear::pf::ptdf::Ptdf;
use netclear::scenario::Scenario;
use netclear::study::{community, run_day};

fn main() {
    divan::main();
}

fn scenario(network: &str, model: NetworkModel) -> Scenario {
    let mut s = Scenario {
        network: network.into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.clearing.model = model;
    s
}

/// Noon on a feeder: every prosumer's net position, trades from the auction's pay-as-ask run.
fn noon_input(
    network: &str,
) -> (
    community::Community,
    Vec<TradeFlow>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
    Vec<f64>,
) {
    let s = scenario(network, NetworkModel::None);
    let c = community::build(&s).unwrap();
    let r = run_day(&c, &s).unwrap();
    let t = 12;
    let n = c.grid.n_nodes();
    let (mut bg, mut q, mut shed, mut curt) =
        (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let trades: Vec<TradeFlow> = r
        .trades
        .iter()
        .filter(|x| x.step == t)
        .map(|x| TradeFlow {
            seller_node: c.prosumers[x.trade.seller].node,
            buyer_node: c.prosumers[x.trade.buyer].node,
            kw: x.trade.kwh,
        })
        .collect();
    for p in &c.prosumers {
        bg[p.node] += p.pv_kw[t] - p.load_kw[t];
        q[p.node] -= p.load_kw[t] * c.load_tan_phi;
        shed[p.node] += (p.load_kw[t] - p.pv_kw[t]).max(0.0);
        curt[p.node] += (p.pv_kw[t] - p.load_kw[t]).max(0.0);
    }
    for tr in &trades {
        bg[tr.seller_node] -= tr.kw;
        curt[tr.seller_node] -= tr.kw;
    }
    (c, trades, bg, q, shed, curt)
}

#[divan::bench(args = ["cigre44/dc", "cigre44/lindistflow", "cigre44/socp", "village80/dc", "village80/lindistflow", "village80/socp", "village80x13/lindistflow"])]
fn one_hour_correction(bencher: divan::Bencher, arg: &str) {
    let (net, model) = arg.split_once('/').unwrap();
    let model = match model {
        "dc" => NetworkModel::Dc,
        "socp" => NetworkModel::Socp,
        _ => NetworkModel::Lindistflow,
    };
    let (c, trades, bg, q, shed, curt) = noon_input(net);
    let topo = Topology::new(&c.grid);
    let ptdf = Ptdf::new(&c.grid, &topo, &DcModel::new(&c.grid).unwrap());
    let spec = ClearingSpec {
        model,
        ..ClearingSpec::default()
    };
    let tan = vec![c.load_tan_phi; c.grid.n_nodes()];
    let inp = StepInput {
        dt_h: 1.0,
        trades: &trades,
        bg_p_kw: &bg,
        bg_q_kvar: &q,
        shed_max_kw: &shed,
        tan_phi: &tan,
        curt_max_kw: &curt,
        import_per_kwh: 0.25,
        export_per_kwh: 0.05,
        v_offset_pu: &[],
    };
    bencher.bench(|| {
        let (o, _) = correct_step(&c.grid, &topo, &ptdf, &spec, &inp);
        assert!(o.status.is_ok());
        o
    });
}

#[divan::bench(args = ["cigre44/dc", "cigre44/lindistflow", "cigre44/socp", "village80/dc", "village80/lindistflow", "village80/socp", "village80x13/lindistflow", "village80x127/lindistflow", "village80x127/dc"], sample_count = 10)]
fn whole_day_with_ac_check(bencher: divan::Bencher, arg: &str) {
    let (net, model) = arg.split_once('/').unwrap();
    let model = match model {
        "dc" => NetworkModel::Dc,
        "socp" => NetworkModel::Socp,
        _ => NetworkModel::Lindistflow,
    };
    let s = scenario(net, model);
    let c = community::build(&s).unwrap();
    bencher.bench(|| run_day(&c, &s).unwrap());
}
