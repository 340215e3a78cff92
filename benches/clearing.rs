//! Network-correction benchmarks (divan): one hour's correction under each formulation, and whole
//! days with the correction and the AC check, on the shipped feeders and synthetic 10³/10⁴-bus
//! feeders (`village80x13`, `village80x127`).
//!
//! and a village80 day under each market design.
//!
//! Run: `cargo bench --bench clearing`

use netclear::clearing::{Agent, Background, Corrector, NetworkModel, StepInput, TradeFlow};
use netclear::scenario::community;
use netclear::scenario::Scenario;
use netclear::study::run_day;

fn main() {
    divan::main();
}

/// The benchmark scenario: 50 % PV, the planning band 0.95–1.05 pu enforced (so the correction
/// has work to do, as the default did before EN 50160 became the default band).
fn scenario(network: &str, model: NetworkModel) -> Scenario {
    let mut s = Scenario {
        network: network.into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.clearing.model = model;
    s.clearing.vmin_pu = 0.95;
    s.clearing.vmax_pu = 1.05;
    s.clearing.background = Background::Enforce;
    s
}

/// Noon on a feeder: every prosumer's position as an agent, trades from the auction's
/// pay-as-ask run.
fn noon_input(network: &str) -> (community::Community, Vec<Agent>, Vec<TradeFlow>) {
    let s = scenario(network, NetworkModel::None);
    let c = community::build(&s).unwrap();
    let r = run_day(&c, &s).unwrap();
    let t = 12;
    let trades: Vec<TradeFlow> = r
        .trades
        .iter()
        .filter(|x| x.step == t)
        .map(|x| TradeFlow {
            seller: x.trade.seller,
            buyer: x.trade.buyer,
            kw: x.trade.kwh,
        })
        .collect();
    let agents = c
        .prosumers
        .iter()
        .map(|p| {
            let net = p.pv_kw[t] - p.load_kw[t];
            Agent {
                node: p.node,
                p_kw: net,
                q_kvar: -p.load_kw[t] * c.load_tan_phi,
                curtailable_kw: net.max(0.0),
                sheddable_kw: (-net).max(0.0),
                tan_phi: c.load_tan_phi,
            }
        })
        .collect();
    (c, agents, trades)
}

#[divan::bench(args = ["cigre44/dc", "cigre44/lindistflow", "cigre44/socp", "village80/dc", "village80/lindistflow", "village80/socp", "village80x13/lindistflow"])]
fn one_hour_correction(bencher: divan::Bencher, arg: &str) {
    let (net, model) = arg.split_once('/').unwrap();
    let model = match model {
        "dc" => NetworkModel::Dc,
        "socp" => NetworkModel::Socp,
        _ => NetworkModel::Lindistflow,
    };
    let (c, agents, trades) = noon_input(net);
    let spec = scenario(net, model).clearing;
    let corr = Corrector::new(&c.grid, &spec).unwrap();
    let limits = corr.limits().clone();
    let inp = StepInput {
        dt_h: 1.0,
        agents: &agents,
        trades: &trades,
        import_per_kwh: 0.25,
        export_per_kwh: 0.05,
        limits: &limits,
        book: None,
    };
    bencher.bench(|| {
        let (o, _) = corr.optimise(&inp);
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

/// A whole village80 day (the benchmark scenario, lindistflow, usage charges `nuc`) under each
/// market design: the auction then the correction, the charges in the bids (one net-surplus LP
/// per step), and the joint welfare clearing (trades in the correction's problem).
#[divan::bench(args = ["auction-then-correct", "charges-in-bids", "welfare"], sample_count = 10)]
fn whole_day_market_design(bencher: divan::Bencher, arg: &str) {
    let mut s = scenario("village80", NetworkModel::Lindistflow);
    s.clearing.network_charges = netclear::clearing::ChargeRule::Nuc;
    s.market.design = match arg {
        "charges-in-bids" => netclear::scenario::MarketDesign::ChargesInBids,
        "welfare" => netclear::scenario::MarketDesign::Welfare,
        _ => netclear::scenario::MarketDesign::AuctionThenCorrect,
    };
    let c = community::build(&s).unwrap();
    bencher.bench(|| run_day(&c, &s).unwrap());
}
