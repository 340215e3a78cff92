//! The seed community (`--preset community100`, issue 16): its urgency pricing on hand-computed
//! orders, the regulator's bans on a hand-built history, the conservation laws of a full run,
//! and determinism.

mod common;
use common::netclear;

use netclear::market::strategy::{
    cap_urgency_ask, cap_urgency_bid, PriceRule, Situation, Strategy,
};
use netclear::scenario::seed_community::FeeMode;
use netclear::scenario::{Preset, Scenario};
use netclear::settlement::regulator::{BanReason, Bans, Objective, RegulatorSpec, Standing};
use netclear::study::seed_community::{self, Party, Role, SeedRun};

fn preset() -> Scenario {
    netclear::scenario::resolve(Some(Preset::Community100), None).unwrap()
}

fn run(s: &Scenario) -> SeedRun {
    seed_community::run(s).unwrap()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

// Forecast 0.15 €/kWh, fee 0.03: the market sells at 0.12 and buys at 0.18; cap 3 kWh.
const SELL: f64 = 0.12;
const BUY: f64 = 0.18;

/// (kWh, expected price, what the case shows), each computed by hand.
type Cases = [(f64, f64, &'static str)];

const ASKS: &Cases = &[
    // u = 1.5/3 = 0.5: 0.12 + 0.5·0.06 = 0.15, inside [0.1212, 0.171].
    (1.5, 0.15, "ask u=0.5"),
    // u = 0.25: 0.12 + 0.015 = 0.135.
    (0.75, 0.135, "ask u=0.25"),
    // A full 3 kWh: 0.18 would exceed 0.95·0.18 = 0.171 → the upper clamp.
    (3.0, 0.171, "ask upper clamp"),
    // Above the cap the urgency stays 1.
    (7.0, 0.171, "ask above cap"),
    // 0.006 kWh: 0.12 + 0.002·0.06 = 0.12012 < 1.01·0.12 = 0.1212 → the lower clamp.
    (0.006, 0.1212, "ask lower clamp"),
];

const BIDS: &Cases = &[
    // u = 0.5: 0.18 − 0.03 = 0.15, inside [0.126, 0.1782].
    (1.5, 0.15, "bid u=0.5"),
    // u = 2/3: 0.18 − 0.04 = 0.14.
    (2.0, 0.14, "bid u=2/3"),
    // 0.006 kWh: 0.17988 > 0.99·0.18 = 0.1782 → the upper clamp.
    (0.006, 0.1782, "bid upper clamp"),
    // A full 3 kWh: 0.12 < 1.05·0.12 = 0.126 → the lower clamp.
    (3.0, 0.126, "bid lower clamp"),
];

#[test]
fn urgency_asks_by_hand_with_both_clamps() {
    for &(q, want, what) in ASKS {
        close(cap_urgency_ask(q, 3.0, SELL, BUY), want, 1e-15, what);
    }
}

#[test]
fn urgency_bids_by_hand_with_both_clamps() {
    for &(q, want, what) in BIDS {
        close(cap_urgency_bid(q, 3.0, SELL, BUY), want, 1e-15, what);
    }
}

#[test]
fn cap_urgency_is_a_strategy_of_the_one_price_rule() {
    let rule = PriceRule {
        strategy: Strategy::CapUrgency,
        bid_per_kwh: 0.0,
        ask_per_kwh: 0.0,
        seed: 1,
        trade_cap_kwh: 3.0,
    };
    let sit = |demand: f64, supply: f64| Situation {
        step: 0,
        agent: 0,
        load_kwh: demand,
        pv_kwh: supply,
        retail_per_kwh: BUY,
        feed_in_per_kwh: SELL,
    };
    // Deficit 2.0 − 0.5 = 1.5 kWh → 0.15; surplus 0.75 kWh → 0.135.
    close(rule.bid(&sit(2.0, 0.5)), 0.15, 1e-15, "rule bid");
    close(rule.ask(&sit(0.25, 1.0)), 0.135, 1e-15, "rule ask");
}

#[test]
fn every_logged_order_is_priced_by_the_formula() {
    let r = run(&preset());
    let mut n = 0;
    for o in &r.orders {
        let pr = &r.prices[o.step];
        close(pr.buy_per_kwh - pr.sell_per_kwh, 0.06, 1e-12, "fee ± 0.03");
        let want = match o.role {
            Role::Buyer => cap_urgency_bid(o.desired_kwh, 3.0, pr.sell_per_kwh, pr.buy_per_kwh),
            Role::Seller | Role::BatterySeller => {
                cap_urgency_ask(o.desired_kwh, 3.0, pr.sell_per_kwh, pr.buy_per_kwh)
            }
            Role::Neutral | Role::Banned => {
                assert!(o.price_per_kwh.is_none() && o.desired_kwh == 0.0);
                continue;
            }
        };
        assert!(
            o.desired_kwh <= 3.0 + 1e-12,
            "orders are capped at MAX_TRADE_CAP"
        );
        close(o.price_per_kwh.unwrap(), want, 1e-15, "order price");
        n += 1;
    }
    assert!(n > 500, "a day of 100 prosumers has many orders ({n})");
    // One row per prosumer and step.
    assert_eq!(r.orders.len(), 100 * 24);
}

#[test]
fn bans_on_a_hand_built_history() {
    let spec = RegulatorSpec::default();
    let mut bans = Bans::new(5);
    let quiet = Standing::default();
    let market_heavy = Standing {
        bonus_total: 1.0,
        penalties_total: 6.0,
        balance: -5.0,
    };
    let indebted = Standing {
        bonus_total: 6.0,
        penalties_total: 0.0,
        balance: -60.0,
    };
    let both = Standing {
        bonus_total: 1.0,
        penalties_total: 6.0,
        balance: -60.0,
    };
    // Penalties above 5 but bonus exactly 5 (not below): no ban; penalties exactly 5: none.
    let edge_bonus = Standing {
        bonus_total: 5.0,
        penalties_total: 9.0,
        balance: 0.0,
    };
    let edge_penalty = Standing {
        bonus_total: 0.0,
        penalties_total: 5.0,
        balance: -50.0,
    };
    // Prosumer 0 is market-heavy from step 0 on, 1 indebted from step 3, 2 both at step 0,
    // 3 and 4 sit on the edges of the rules.
    let mut issued = Vec::new();
    for t in 0..12 {
        let st = [
            market_heavy,
            if t >= 3 { indebted } else { quiet },
            if t == 0 { both } else { quiet },
            edge_bonus,
            edge_penalty,
        ];
        for b in bans.enforce(&spec, t, &st) {
            issued.push((b.prosumer, b.step, b.reason, b.steps));
        }
    }
    assert_eq!(
        issued,
        vec![
            (0, 0, BanReason::ExcessiveMarketUsage, 2),
            (2, 0, BanReason::ExcessiveMarketUsage, 2),
            (2, 0, BanReason::NegativeBalance, 3),
            (1, 3, BanReason::NegativeBalance, 3),
            // 0's next ban: not while banned (steps 1–2), not within 5 steps of step 0 (t ≤ 5).
            (0, 6, BanReason::ExcessiveMarketUsage, 2),
            // 1's: banned 4–6, blocked through t = 8, again at 9.
            (1, 9, BanReason::NegativeBalance, 3),
        ]
    );
    let banned = |i: usize| -> Vec<usize> { (0..13).filter(|&t| bans.is_banned(i, t)).collect() };
    assert_eq!(banned(0), vec![1, 2, 7, 8]);
    assert_eq!(banned(1), vec![4, 5, 6, 10, 11, 12]);
    // Both rules at once: the longer ban holds.
    assert_eq!(banned(2), vec![1, 2, 3]);
    assert!(banned(3).is_empty() && banned(4).is_empty());
}

/// Every kWh of every prosumer in every step: `pv + discharge + bought_p2p + bought_market =
/// load + charge + sold_p2p + sold_market`, and the money of P2P cancels.
fn conservation(r: &SeedRun) {
    let spec = &r.spec;
    let mut soc: Vec<f64> = r
        .prosumers
        .iter()
        .map(|p| p.battery.map_or(0.0, |b| b.soc0 * b.e_kwh))
        .collect();
    for t in 0..r.n_steps() {
        let (mut paid, mut received) = (0.0, 0.0);
        for (i, a) in r.accounts[t].iter().enumerate() {
            let b = &r.batteries[t][i];
            let inflow = a.pv_kwh + a.battery_out_kwh + a.p2p_bought_kwh + a.grid_import_kwh;
            let outflow = a.load_kwh + a.battery_in_kwh + a.p2p_sold_kwh + a.grid_export_kwh;
            close(inflow, outflow, 1e-9, &format!("energy of {i} at {t}"));
            close(
                a.battery_out_kwh,
                b.own_discharge_kwh + b.sold_kwh,
                1e-12,
                "discharge split",
            );
            // Self-consumption, P2P, market and battery account for the load and the PV.
            close(
                a.self_kwh + a.p2p_bought_kwh + a.grid_import_kwh,
                a.load_kwh + a.battery_in_kwh,
                1e-9,
                "demand served",
            );
            close(
                a.self_kwh + a.p2p_sold_kwh + a.grid_export_kwh,
                a.pv_kwh + a.battery_out_kwh,
                1e-9,
                "supply used",
            );
            if let Some(bat) = r.prosumers[i].battery {
                soc[i] += bat.eta_charge * a.battery_in_kwh - a.battery_out_kwh / bat.eta_discharge;
                close(soc[i], b.soc_kwh, 1e-9, "SOC chain");
                assert!(soc[i] >= bat.soc_min * bat.e_kwh - 1e-9);
                assert!(soc[i] <= bat.soc_max * bat.e_kwh + 1e-9);
            } else {
                assert_eq!(a.battery_in_kwh + a.battery_out_kwh, 0.0);
            }
            paid += a.p2p_paid;
            received += a.p2p_received;
            // The regulator's transfers are the stated rates on what happened.
            let g = &r.regulator[t][i];
            let (rr, rp, rm) = spec.regulator.rates();
            let (bonus, pen) = if g.banned {
                (0.0, 0.0)
            } else {
                (
                    rr * g.conduct.renewable_kwh + rp * (a.p2p_bought_kwh + a.p2p_sold_kwh),
                    rm * (a.grid_import_kwh + a.grid_export_kwh),
                )
            };
            close(a.policy_bonus, bonus, 1e-12, "bonus");
            close(a.policy_penalty, pen, 1e-12, "penalty");
            close(
                g.conduct.renewable_kwh,
                a.load_kwh - a.p2p_bought_kwh - a.grid_import_kwh,
                1e-9,
                "renewable",
            );
        }
        close(paid, received, 1e-9, "Σ P2P payments = Σ receipts");
        // The trade log holds every kWh traded: P2P and market.
        let trades = r.trades.iter().filter(|x| x.step == t);
        let (mut p2p, mut mkt_in, mut mkt_out) = (0.0, 0.0, 0.0);
        for x in trades {
            match (x.p2p, x.seller, x.buyer) {
                (true, Party::Prosumer(_), Party::Prosumer(_)) => p2p += x.kwh,
                (false, Party::Market, Party::Prosumer(_)) => mkt_in += x.kwh,
                (false, Party::Prosumer(_), Party::Market) => mkt_out += x.kwh,
                other => panic!("a trade between {other:?}"),
            }
        }
        let acc = &r.accounts[t];
        let sum = |f: fn(&netclear::settlement::Account) -> f64| acc.iter().map(f).sum::<f64>();
        for (logged, booked, what) in [
            (p2p, sum(|a| a.p2p_bought_kwh), "P2P log vs bought"),
            (p2p, sum(|a| a.p2p_sold_kwh), "P2P log vs sold"),
            (mkt_in, sum(|a| a.grid_import_kwh), "market buys"),
            (mkt_out, sum(|a| a.grid_export_kwh), "market sales"),
        ] {
            close(logged, booked, 1e-9, what);
        }
    }
    // Metrics are the logs' sums.
    let m = r.metrics();
    assert_eq!(m.p2p_trades, r.trades.iter().filter(|x| x.p2p).count());
    close(
        m.community_profit,
        r.regulator
            .last()
            .unwrap()
            .iter()
            .map(|g| g.standing.balance)
            .sum(),
        1e-9,
        "community profit = Σ balances",
    );
}

#[test]
fn a_full_preset_run_conserves_energy_and_money() {
    let r = run(&preset());
    assert_eq!(r.prosumers.len(), 100);
    let with_battery = r.prosumers.iter().filter(|p| p.battery.is_some()).count();
    assert!(
        (70..=90).contains(&with_battery),
        "≈ 80 % batteries: {with_battery}"
    );
    for p in &r.prosumers {
        assert!((2.5..=7.0).contains(&p.pv_kw) && (0.35..=1.5).contains(&p.base_load_kwh));
        if let Some(b) = p.battery {
            assert!((5.0..=20.0).contains(&b.e_kwh));
            assert_eq!((b.soc_min, b.soc_max, b.eta_charge), (0.10, 0.95, 0.95));
        }
    }
    conservation(&r);
    let m = r.metrics();
    assert!(m.p2p_trades > 0 && m.market_trades > 0);
    // The seed's 24 h forecast: the night cheaper than the evening peak.
    assert!(r.prices[3].forecast_per_kwh < r.prices[19].forecast_per_kwh);
    // Battery balancing happens in the evening deficit.
    assert!(r.orders.iter().any(|o| o.role == Role::BatterySeller));
}

#[test]
fn banned_prosumers_trade_only_with_the_market() {
    let mut s = preset();
    let sc = s.seed_community.as_mut().unwrap();
    // Thresholds low enough that a day bans someone.
    sc.regulator.ban_penalties_above = 0.05;
    sc.regulator.ban_bonus_below = 0.5;
    let r = run(&s);
    assert!(!r.bans.is_empty(), "bans happen with these thresholds");
    conservation(&r);
    let mut banned_steps = 0;
    for (t, reg) in r.regulator.iter().enumerate() {
        for (i, g) in reg.iter().enumerate() {
            let a = &r.accounts[t][i];
            if g.banned {
                banned_steps += 1;
                assert_eq!(a.p2p_bought_kwh + a.p2p_sold_kwh, 0.0, "{i} banned at {t}");
                assert_eq!(a.policy_bonus + a.policy_penalty, 0.0);
                let o = r
                    .orders
                    .iter()
                    .find(|o| o.step == t && o.prosumer == i)
                    .unwrap();
                assert_eq!(o.role, Role::Banned);
                // Its whole imbalance went to the market.
                let net = a.pv_kwh + a.battery_out_kwh - a.load_kwh - a.battery_in_kwh;
                close(
                    a.grid_export_kwh - a.grid_import_kwh,
                    net,
                    1e-9,
                    "market takes all",
                );
            }
        }
    }
    assert_eq!(banned_steps, r.metrics().banned_prosumer_steps);
    assert!(banned_steps > 0);
}

#[test]
fn objectives_change_the_transfers_and_the_quantity_scaled_fee_is_the_seeds() {
    let mut s = preset();
    s.seed_community.as_mut().unwrap().regulator.objective = Objective::MaximizeProfit;
    let r = run(&s);
    let m = r.metrics();
    assert_eq!((m.incentives_paid, m.penalties_collected), (0.0, 0.0));
    let base = run(&preset()).metrics();
    // The transfers are money only: the energy and its bills do not change.
    close(m.energy_profit, base.energy_profit, 1e-9, "energy profit");
    close(m.p2p_kwh, base.p2p_kwh, 1e-9, "P2P energy");

    let mut s = preset();
    s.seed_community.as_mut().unwrap().regulator.objective = Objective::MaximizeP2p;
    let r = run(&s);
    for (t, reg) in r.regulator.iter().enumerate() {
        for (i, g) in reg.iter().enumerate() {
            let a = &r.accounts[t][i];
            if !g.banned {
                close(
                    a.policy_bonus,
                    0.01 * g.conduct.p2p_kwh,
                    1e-12,
                    "P2P bonus only",
                );
            }
        }
    }

    let mut s = preset();
    s.seed_community.as_mut().unwrap().fee_mode = FeeMode::QuantityScaled;
    let r = run(&s);
    conservation(&r);
    let mut n = 0;
    for x in r.trades.iter().filter(|x| !x.p2p) {
        let f = r.prices[x.step].forecast_per_kwh;
        let want = if x.buyer == Party::Market {
            f - 0.03 * x.kwh
        } else {
            f + 0.03 * x.kwh
        };
        close(x.buyer_price_per_kwh, want, 1e-12, "forecast ± 0.03·q");
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn the_greedy_rule_is_the_seeds() {
    let r = run(&preset());
    let p = r.prosumers.iter().find(|p| p.battery.is_some()).unwrap();
    let b = p.battery.unwrap();
    let e = b.e_kwh;
    // From half full: a 3 kWh surplus fits whenever 3·0.95 ≤ 0.45·E (E ≥ 6.4); a surplus
    // larger than the room fills to 95 %: input (0.95E − 0.5E)/0.95.
    let (c, d, soc) = netclear::storage::greedy_step(&b, 0.5 * e, 100.0, 1.0);
    close(c, 0.45 * e / 0.95, 1e-12, "charge to the top");
    close(soc, 0.95 * e, 1e-12, "95 %");
    assert_eq!(d, 0.0);
    // A deficit larger than the store: output (0.5E − 0.1E)·0.95, down to 10 %.
    let (c, d, soc) = netclear::storage::greedy_step(&b, 0.5 * e, -100.0, 1.0);
    close(d, 0.4 * e * 0.95, 1e-12, "discharge to the floor");
    close(soc, 0.1 * e, 1e-12, "10 %");
    assert_eq!(c, 0.0);
    // A small deficit is covered exactly, drawing deficit/η from the store.
    let (_, d, soc) = netclear::storage::greedy_step(&b, 0.5 * e, -0.5, 1.0);
    close(d, 0.5, 1e-15, "covered");
    close(soc, 0.5 * e - 0.5 / 0.95, 1e-12, "drawn with η");
}

#[test]
fn on_a_feeder_the_slack_carries_the_communitys_market_balance() {
    let mut s = preset();
    s.network = "village80".into();
    let r = run(&s);
    conservation(&r);
    let nets = r
        .network
        .as_ref()
        .expect("a feeder run has a network result per step");
    assert_eq!(nets.len(), 24);
    assert!(r.prosumers.iter().all(|p| p.bus.is_some()));
    for (t, net) in nets.iter().enumerate() {
        // P2P nets out inside the feeder: what the slack imports (less losses) is what the
        // prosumers bought from the market minus what they sold to it (kW over 1 h).
        let market: f64 = r.accounts[t]
            .iter()
            .map(|a| a.grid_import_kwh - a.grid_export_kwh)
            .sum();
        close(net.net_import_kw, market, 1e-9, "lossless balance");
        close(
            net.slack_import_kw - net.losses_kw,
            market,
            1e-6,
            "slack less losses",
        );
    }
    // The copper plate says it has no network.
    assert!(run(&preset()).network.is_none());
}

#[test]
fn same_seed_same_bytes_other_seed_other_day() {
    let tmp = tempfile::tempdir().unwrap();
    let s = preset();
    let files = [
        "prosumer_energy.csv",
        "prosumer_trading.csv",
        "all_trades.csv",
        "regulator_actions.csv",
        "community_summary.csv",
        "summary.json",
    ];
    let write = |s: &Scenario, name: &str| {
        let dir = tmp.path().join(name);
        let n = netclear::output::seed_community::write(&run(s), &dir, false).unwrap();
        assert_eq!(n, files.len());
        files.map(|f| std::fs::read(dir.join(f)).unwrap())
    };
    let (a, b) = (write(&s, "a"), write(&s, "b"));
    for (k, f) in files.iter().enumerate() {
        assert!(a[k] == b[k], "{f} differs between two runs of one seed");
        assert!(a[k].len() > 100, "{f} is written");
    }
    let mut s2 = s.clone();
    s2.seed = 2;
    let c = write(&s2, "c");
    assert!(a[0] != c[0], "another seed draws another community");
    // Every order is in the trading log, matched or not.
    let text = String::from_utf8(a[1].clone()).unwrap();
    assert_eq!(text.lines().count(), 1 + 100 * 24);
    assert!(text.lines().next().unwrap().contains("role,desired_kwh"));
}

#[test]
fn the_cli_runs_the_preset_and_refuses_what_it_does_not_use() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c100");
    let (code, stdout, stderr) = netclear(&[
        "run",
        "--preset",
        "community100",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for f in [
        "prosumer_energy.csv",
        "prosumer_trading.csv",
        "all_trades.csv",
        "regulator_actions.csv",
        "community_summary.csv",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // The terminal shows the metrics and says there is no network; summary.json holds them.
    let m = run(&preset()).metrics();
    assert!(
        stdout.contains(&format!("P2P trades                    {}", m.p2p_trades)),
        "{stdout}"
    );
    assert!(stdout.contains("copper plate: no power flow, no network correction"));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["metrics"]["market_trades"], m.market_trades);
    assert_eq!(json["network"]["network"], "none");
    assert_eq!(json["currency"], "EUR");
    // A key the seed community does not use, a copper plate without it, a sweep point: exit 2.
    let (code, _, stderr) = netclear(&[
        "run",
        "--preset",
        "community100",
        "--pv-share",
        "50",
        "--no-out",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--pv-share") && stderr.contains("seed community"),
        "{stderr}"
    );
    let (code, _, stderr) = netclear(&["run", "--network", "none", "--no-out"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("copper plate"), "{stderr}");
    assert!(netclear::study::run(&preset()).is_err());
}
