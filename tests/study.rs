//! The day loop: conservation of energy and money, the paper reproduced to its published numbers,
//! determinism, and the `run` binary's files.

mod common;
use common::netclear;

use netclear::clearing::{ChargeRule, NetworkModel};
use netclear::scenario::{Preset, Scenario};
use netclear::study::{self, Case};
use std::path::Path;
use std::process::Command;

fn scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    for (network, model) in [
        ("cigre44", NetworkModel::None),
        ("village80", NetworkModel::None),
        ("rural_1", NetworkModel::None),
        ("cigre44", NetworkModel::Lindistflow),
        ("village80", NetworkModel::Dc),
        ("rural_1", NetworkModel::Lindistflow),
    ] {
        for mech in [
            netclear::market::Mechanism::PayAsAsk,
            netclear::market::Mechanism::Uniform,
            netclear::market::Mechanism::MidPrice,
            netclear::market::Mechanism::Mcafee,
        ] {
            for strategy in [
                netclear::market::strategy::Strategy::Fixed,
                netclear::market::strategy::Strategy::Urgency,
                netclear::market::strategy::Strategy::Zi,
            ] {
                let mut s = Scenario {
                    network: network.into(),
                    pv_share_percent: 50.0,
                    ..Scenario::default()
                };
                s.market.mechanism = mech;
                s.market.strategy = strategy;
                s.clearing.model = model;
                if network == "rural_1" && model == NetworkModel::Lindistflow {
                    // Home batteries on half the prosumers and the community battery.
                    s.storage.battery_share_percent = 50.0;
                    s.storage.vpp = true;
                }
                s.clearing.network_charges = if model == NetworkModel::None {
                    ChargeRule::None
                } else {
                    ChargeRule::Dlmp
                };
                v.push(s);
            }
        }
    }
    v
}

#[test]
fn energy_balances_per_prosumer_per_step_and_money_to_the_cent() {
    for s in scenarios() {
        let (c, r) = study::run(&s).unwrap().into_day();
        for case in [&r.baseline, &r.p2p] {
            for (t, step) in case.accounts.iter().enumerate() {
                for (i, l) in step.iter().enumerate() {
                    let what = format!("{} {:?} step {t} prosumer {i}", s.network, case.case);
                    assert!(
                        (l.load_kwh + l.battery_in_kwh
                            - (l.self_kwh + l.p2p_bought_kwh + l.grid_import_kwh + l.shed_kwh))
                            .abs()
                            < 1e-9,
                        "{what}: load"
                    );
                    assert!(
                        (l.pv_kwh + l.battery_out_kwh
                            - (l.self_kwh + l.p2p_sold_kwh + l.grid_export_kwh + l.curtailed_kwh))
                            .abs()
                            < 1e-9,
                        "{what}: pv {l:?} {:?}",
                        s.market
                    );
                    assert!(l.grid_import_kwh >= 0.0 && l.grid_export_kwh >= 0.0);
                    assert!(
                        l.p2p_bought_kwh * l.p2p_sold_kwh == 0.0,
                        "{what}: buys and sells at once"
                    );
                    let p = &c.prosumers[i];
                    assert!((l.load_kwh - p.load_kw[t] * c.dt_h()).abs() < 1e-12);
                }
                // Energy bought P2P equals energy sold P2P in every step.
                let tot = case.step_total(t);
                assert!((tot.p2p_bought_kwh - s.line_eta * tot.p2p_sold_kwh).abs() < 1e-9);
            }
        }
        // Money: P2P payments cancel inside the community up to the operator's surplus.
        let k = &r.p2p.kpis;
        let bills: f64 = (0..c.prosumers.len())
            .map(|i| r.p2p.prosumer_total(i).bill())
            .sum();
        let grid_net: f64 = (0..c.prosumers.len())
            .map(|i| {
                let l = r.p2p.prosumer_total(i);
                l.grid_paid - l.grid_received + l.network_charge
            })
            .sum();
        assert!(
            (bills - k.operator_surplus - grid_net).abs() < 0.005,
            "{}: money does not balance",
            s.network
        );
        assert!(k.operator_surplus >= -1e-12);
        // Savings of the community equal the drop in what it pays the retailer, minus the surplus.
        let base = &r.baseline.kpis;
        assert!(
            (base.community_cost - k.community_cost + k.operator_surplus + k.network_charges
                - (base.grid_import_kwh - k.grid_import_kwh) * s.tariff.retail_per_kwh
                - (k.grid_export_kwh - base.grid_export_kwh) * s.tariff.feed_in_per_kwh)
                .abs()
                < 0.005
        );
        if s.clearing.model == NetworkModel::None {
            // P2P never increases anyone's bill (individual rationality against the retailer).
            for i in 0..c.prosumers.len() {
                assert!(
                    r.p2p.prosumer_total(i).bill() <= r.baseline.prosumer_total(i).bill() + 1e-9
                );
            }
            // Physical flows coincide (trades are financial).
            for (a, b) in r.baseline.network.iter().zip(&r.p2p.network) {
                assert!((a.slack_import_kw - b.slack_import_kw).abs() < 1e-9);
            }
        } else {
            // Network charges are part of the bills; what buyers pay in them is collected.
            let charges: f64 = r.trades.iter().map(|t| t.network_charge).sum();
            assert!((charges - k.network_charges).abs() < 1e-9);
            // Executed never exceeds proposed.
            assert!(r
                .trades
                .iter()
                .all(|t| t.executed_kwh <= t.trade.kwh + 1e-12 && t.executed_kwh >= -1e-12));
            assert_eq!(k.solver_failures, 0);
        }
        // The lossless (DC) import equals net community consumption, after curtailment and
        // shedding.
        for case in [&r.baseline, &r.p2p] {
            for t in 0..c.n_steps() {
                let tot = case.step_total(t);
                let net_kw = (tot.demand_kwh() - tot.shed_kwh - tot.supply_kwh()) / c.dt_h();
                assert!((case.network[t].net_import_kw - net_kw).abs() < 1e-6);
            }
        }
        assert_eq!(r.baseline.case, Case::Baseline);
    }
}

fn hourly(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn paper2024_reproduces_the_published_cigre44_numbers() {
    let s = Scenario::preset(Preset::Paper2024);
    let (c, r) = study::run(&s).unwrap().into_day();
    let k = &r.p2p.kpis;
    // Published: daily load 334.045 kWh, P2P 44.568 kWh (13.34 %).
    assert!((k.load_kwh - 334.045).abs() < 5e-4, "{}", k.load_kwh);
    assert!((k.p2p_kwh - 44.568).abs() < 5e-4, "{}", k.p2p_kwh);
    assert!((100.0 * k.p2p_share_of_load - 13.34).abs() < 5e-3);
    let leaves: Vec<i64> = c.prosumers.iter().map(|p| p.bus.0).collect();
    assert_eq!(leaves, vec![16, 18, 22, 36, 40, 42, 12, 17, 19, 35, 37, 41]);
    // Hour by hour against the independent reproduction of the notebook.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/paper_repro");
    let t = netclear::table::Table::parse(
        "t",
        &std::fs::read_to_string(dir.join("cigre44_24h_table.csv")).unwrap(),
    )
    .unwrap();
    for (h, row) in t.rows().enumerate() {
        let tot = r.p2p.step_total(h);
        assert!(
            (tot.load_kwh - 1e3 * row.f64("total_load_mwh").unwrap()).abs() < 1e-9,
            "hour {h} load"
        );
        assert!(
            (tot.p2p_bought_kwh - 1e3 * row.f64("p2p_mwh").unwrap()).abs() < 1e-9,
            "hour {h} p2p"
        );
        let n = r.trades.iter().filter(|x| x.step == h).count() as i64;
        assert_eq!(n, row.int("n_trades").unwrap(), "hour {h} trades");
        // Each buyer makes at most one trade per hour in the notebook.
        let mut buyers: Vec<usize> = r
            .trades
            .iter()
            .filter(|x| x.step == h)
            .map(|x| x.trade.buyer)
            .collect();
        let len = buyers.len();
        buyers.dedup();
        assert_eq!(buyers.len(), len);
    }
    // Every matched trade, seller and buyer bus and quantity.
    let m = netclear::table::Table::parse(
        "m",
        &std::fs::read_to_string(dir.join("cigre44_24h_matches.csv")).unwrap(),
    )
    .unwrap();
    assert_eq!(m.len(), r.trades.len());
    for (row, tr) in m.rows().zip(&r.trades) {
        assert_eq!(tr.step as i64, row.int("hour").unwrap());
        assert_eq!(
            c.prosumers[tr.trade.seller].bus.0,
            row.int("seller").unwrap()
        );
        assert_eq!(c.prosumers[tr.trade.buyer].bus.0, row.int("buyer").unwrap());
        let q = 1e3 * row.f64("q_mw").unwrap();
        assert!(
            (tr.trade.kwh - q).abs() <= 1e-12 * q.abs().max(1e-20) + 1e-30,
            "{} vs {q}",
            tr.trade.kwh
        );
        assert_eq!(tr.trade.buyer_price_per_kwh, row.f64("price").unwrap());
    }
}

#[test]
fn paper2024_on_village80_matches_the_committed_code() {
    let s = Scenario {
        network: "village80".into(),
        ..Scenario::preset(Preset::Paper2024)
    };
    let (c, r) = study::run(&s).unwrap().into_day();
    assert_eq!(c.prosumers.len(), 40);
    assert!(
        c.prosumers.iter().any(|p| p.bus.0 == 0 && p.pv_kwp > 0.0),
        "the paper puts PV on the 20 kV slack bus"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/paper_repro");
    let t = netclear::table::Table::parse(
        "t",
        &std::fs::read_to_string(dir.join("village80_24h_table_committed_code.csv")).unwrap(),
    )
    .unwrap();
    for (h, row) in t.rows().enumerate() {
        let tot = r.p2p.step_total(h);
        assert!(
            (tot.load_kwh - 1e3 * row.f64("total_load_mwh").unwrap()).abs() < 1e-9,
            "hour {h}"
        );
        assert!(
            (tot.p2p_bought_kwh - 1e3 * row.f64("p2p_mwh").unwrap()).abs() < 1e-9,
            "hour {h}"
        );
    }
    // Corrected: no PV on the MV bus, several sellers per buyer.
    let s = Scenario {
        network: "village80".into(),
        ..Scenario::preset(Preset::Paper2024Corrected)
    };
    let (c2, r2) = study::run(&s).unwrap().into_day();
    assert!(c2.prosumers.iter().all(|p| p.bus.0 != 0));
    assert!(r2.p2p.kpis.p2p_kwh < r.p2p.kpis.p2p_kwh);
    // The corrected volume is all PV that the 20 LV PV buses produce (PV < load every hour).
    assert!((r2.p2p.kpis.p2p_kwh - r2.p2p.kpis.pv_kwh).abs() < 1e-9);
}

#[test]
fn run_writes_tidy_files_deterministically_and_never_clobbers() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let args = |o: &Path| {
        vec![
            "run".to_string(),
            "--network".into(),
            "village80".into(),
            "--pv-share".into(),
            "30".into(),
            "--seed".into(),
            "7".into(),
            "--mechanism".into(),
            "uniform".into(),
            "--strategy".into(),
            "zi".into(),
            "--quiet".into(),
            "--out".into(),
            o.display().to_string(),
        ]
    };
    let run = |o: &Path| {
        let v = args(o);
        netclear(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(run(&a).0, 0);
    assert_eq!(run(&b).0, 0);
    for f in [
        "summary.json",
        "hourly.csv",
        "trades.csv",
        "prosumers.csv",
        "lines.csv",
    ] {
        let x = std::fs::read(a.join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs between identical runs"
        );
        assert!(!x.is_empty());
    }
    // hourly.csv: 24 steps × 2 cases, one header.
    assert_eq!(hourly(&a.join("hourly.csv")).len(), 48);
    // A second run into the same folder without --force fails and leaves the files intact.
    let before = std::fs::read(a.join("summary.json")).unwrap();
    let (code, _, err) = run(&a);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(before, std::fs::read(a.join("summary.json")).unwrap());
    // A failing run (bad flag value) leaves nothing behind either.
    let c = tmp.path().join("c");
    let (code, _, err) = netclear(&["run", "--pv-share", "130", "--out", c.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("pv_share_percent"), "{err}");
    assert!(!c.exists());
    // No staging debris.
    let debris: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(debris.is_empty());
    // --force replaces.
    let mut v = args(&a);
    v[6] = "8".into();
    v.push("--force".into());
    let (code, _, _) = netclear(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0);
    assert_ne!(before, std::fs::read(a.join("summary.json")).unwrap());
}

#[test]
fn print_scenario_round_trips_to_identical_results() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, toml, _) = netclear(&[
        "run",
        "--network",
        "rural_1",
        "--pv-share",
        "50",
        "--seed",
        "3",
        "--mechanism",
        "mcafee",
        "--print-scenario",
    ]);
    assert_eq!(code, 0);
    let f = tmp.path().join("s.toml");
    std::fs::write(&f, &toml).unwrap();
    let o1 = tmp.path().join("o1");
    let o2 = tmp.path().join("o2");
    assert_eq!(
        netclear(&[
            "run",
            "--network",
            "rural_1",
            "--pv-share",
            "50",
            "--seed",
            "3",
            "--mechanism",
            "mcafee",
            "--quiet",
            "--out",
            o1.to_str().unwrap()
        ])
        .0,
        0
    );
    assert_eq!(
        netclear(&[
            "run",
            "--scenario",
            f.to_str().unwrap(),
            "--quiet",
            "--out",
            o2.to_str().unwrap()
        ])
        .0,
        0
    );
    assert_eq!(
        std::fs::read(o1.join("summary.json")).unwrap(),
        std::fs::read(o2.join("summary.json")).unwrap()
    );
    // A bad scenario file names the file and field.
    std::fs::write(&f, "pv_share_percent = \"lots\"\n").unwrap();
    let (code, _, err) = netclear(&["run", "--scenario", f.to_str().unwrap(), "--no-out"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("s.toml") && err.contains("pv_share_percent"),
        "{err}"
    );
}

#[test]
fn pv_share_places_pv_deterministically_by_seed() {
    let pv = |seed, share| {
        let s = Scenario {
            network: "village80".into(),
            seed,
            pv_share_percent: share,
            ..Scenario::default()
        };
        let c = netclear::scenario::community::build(&s).unwrap();
        c.prosumers
            .iter()
            .filter(|p| p.pv_kwp > 0.0)
            .map(|p| p.bus.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(pv(1, 30.0), pv(1, 30.0));
    assert_ne!(pv(1, 30.0), pv(2, 30.0));
    // ceil(30 % of 47 loads) = 15; 10 % → 5; 50 % → 24.
    assert_eq!(pv(1, 30.0).len(), 15);
    assert_eq!(pv(1, 10.0).len(), 5);
    assert_eq!(pv(1, 50.0).len(), 24);
    assert_eq!(pv(1, 0.0).len(), 0);
}

#[test]
fn paper_corrected_preset_prints_both_side_by_side() {
    let (code, out, err) = netclear(&["run", "--preset", "paper2024-corrected", "--no-out"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paper (as coded)") && out.contains("corrected"));
    assert!(out.contains("334.045") && out.contains("44.568") && out.contains("13.34"));
}

#[test]
fn network_charge_rules_are_applied_to_executed_trades() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.clearing.model = NetworkModel::Lindistflow;
    s.clearing.network_charges = ChargeRule::Uniform;
    let (_, r) = study::run(&s).unwrap().into_day();
    let vol: f64 = r.trades.iter().map(|t| t.executed_kwh).sum();
    assert!(vol > 1.0);
    assert!((r.p2p.kpis.network_charges - s.clearing.uniform_rate_per_kwh * vol).abs() < 1e-9);
    // Buyers pay them: their bills rise by exactly the charges against a run without.
    let mut s0 = s.clone();
    s0.clearing.network_charges = ChargeRule::None;
    let (_, r0) = study::run(&s0).unwrap().into_day();
    assert!(
        (r.p2p.kpis.community_cost - r0.p2p.kpis.community_cost - r.p2p.kpis.network_charges).abs()
            < 1e-9
    );

    s.clearing.network_charges = ChargeRule::Distance;
    let (c, r) = study::run(&s).unwrap().into_day();
    let topo = netclear::network::topology::Topology::new(&c.grid);
    for t in r.trades.iter().take(20) {
        let (a, b) = (
            c.prosumers[t.trade.seller].node,
            c.prosumers[t.trade.buyer].node,
        );
        let km: f64 = topo
            .path(&c.grid, a, b)
            .iter()
            .map(|st| match c.grid.branches[st.branch].element {
                netclear::network::electrical::BranchElement::Line(id) => {
                    c.network
                        .lines
                        .iter()
                        .find(|l| l.id == id)
                        .unwrap()
                        .length_km
                }
                _ => 0.0,
            })
            .sum();
        assert!(km > 0.0);
        assert!(
            (t.network_charge - s.clearing.distance_rate_per_kwh_km * km * t.executed_kwh).abs()
                < 1e-12
        );
    }
    // DLMP charges need prices: refused without a network model.
    s.clearing.model = NetworkModel::None;
    s.clearing.network_charges = ChargeRule::Dlmp;
    assert!(s
        .validate()
        .unwrap_err()
        .to_string()
        .contains("network_charges"));
}

#[test]
fn every_output_csv_is_rectangular_and_has_units_in_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "village80",
        "--pv-share",
        "50",
        "--network-charges",
        "dlmp",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let mut n = 0;
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "csv") {
            n += 1;
            let text = std::fs::read_to_string(&p).unwrap();
            let mut rdr = csv::ReaderBuilder::new()
                .flexible(false)
                .from_reader(text.as_bytes());
            let width = rdr.headers().unwrap().len();
            let mut rows = 0;
            for rec in rdr.records() {
                let rec = rec.unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert_eq!(rec.len(), width, "{}", p.display());
                rows += 1;
            }
            assert!(rows > 0, "{} is empty", p.display());
        }
    }
    assert!(n >= 9, "{n} csv files");
}

#[test]
fn imported_workbook_drives_a_five_minute_day_with_batteries() {
    let wb = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/example_community_5min.xlsx");
    let mut s = Scenario {
        network: "village80".into(),
        step_minutes: 5,
        import: Some(wb.display().to_string()),
        ..Scenario::default()
    };
    s.retailer.pricing = netclear::tariff::PricingMode::WholesalePass;
    s.storage.battery_share_percent = 100.0;
    s.storage.vpp = true;
    let (c, r) = study::run(&s).unwrap().into_day();
    assert_eq!(c.n_steps(), 288);
    assert_eq!(
        c.prosumers.len(),
        5,
        "4 imported prosumers and the community battery"
    );
    let d = netclear::import::read(&wb).unwrap();
    assert_eq!(c.prosumers[0].load_kw, d.load_kw[0]);
    // Retail follows wholesale + 0.08 with a 0.10 floor.
    let w = d.price_per_kwh.unwrap();
    for t in 0..288 {
        assert!((c.retail_per_kwh[t] - (w[t] + 0.08).max(0.10)).abs() < 1e-12);
    }
    // Every dispatch proven optimal and within its SOC window, ending where it started.
    for plan in [&r.baseline.plan, &r.p2p.plan] {
        for p in &c.prosumers {
            if let (Some(b), Some(dp)) = (&p.battery, &plan.dispatch[p.id]) {
                assert!(dp.gap <= 1e-4);
                assert!((dp.soc_kwh[287] - b.soc0 * b.e_kwh).abs() < 1e-9);
            }
        }
    }
    assert!(r.p2p.kpis.battery_cycles > 0.0);
}

/// The central optimum is a lower bound on what the decentralised auction achieves on the same
/// day (batteries included), its accounts conserve energy, and its pool balances.
#[test]
fn central_clearing_bounds_the_auction_and_conserves_energy() {
    for network in ["village80", "rural_1"] {
        let mut s = Scenario {
            network: network.into(),
            pv_share_percent: 50.0,
            ..Scenario::default()
        };
        s.storage.battery_share_percent = 50.0;
        s.storage.vpp = true;
        let c = netclear::scenario::community::build(&s).unwrap();
        let auction = study::run_day(&c, &s).unwrap();
        s.storage.clearing = netclear::scenario::ClearingMode::Central;
        let res = study::run(&s).unwrap();
        let cr = res.central.as_ref().unwrap();
        let central = &res.day;
        assert!(cr.status.is_ok());
        let voll = s.clearing.voll_per_kwh;
        let (ca, cc) = (
            study::grid_cost(&auction.p2p, voll),
            study::grid_cost(&central.p2p, voll),
        );
        assert!(cc <= ca + 1e-6, "{network}: central {cc} > auction {ca}");
        assert!((cc - cr.cost).abs() < 1e-6);
        for (t, step) in central.p2p.accounts.iter().enumerate() {
            let mut sold = 0.0;
            let mut bought = 0.0;
            for l in step {
                assert!(
                    (l.demand_kwh()
                        - (l.self_kwh + l.p2p_bought_kwh + l.grid_import_kwh + l.shed_kwh))
                        .abs()
                        < 1e-6,
                    "{network} step {t}"
                );
                assert!(
                    (l.pv_kwh + l.battery_out_kwh
                        - (l.self_kwh + l.p2p_sold_kwh + l.grid_export_kwh + l.curtailed_kwh))
                        .abs()
                        < 1e-6
                );
                sold += l.p2p_sold_kwh;
                bought += l.p2p_bought_kwh;
            }
            assert!(
                (bought - s.line_eta * sold).abs() < 1e-5,
                "{network} step {t}: pool {bought} vs {sold}"
            );
        }
    }
}

#[test]
fn seed_vpp_scenario_runs_with_explicit_batteries_and_compares_kinds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let out_s = out.to_str().unwrap();
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .current_dir(root)
        .args([
            "run",
            "--scenario",
            "docs/scenarios/seed_vpp.toml",
            "--quiet",
            "--out",
            out_s,
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        v["storage"]["batteries"], 4,
        "3 home batteries (one of the 4 is 0 kWh) + the VPP"
    );
    assert!(v["battery_kinds"]["both"]["community_cost"].is_number());
    assert!(v["without_storage"]["p2p"]["community_cost"].is_number());
    for f in [
        "battery_P0.csv",
        "battery_P1.csv",
        "battery_P3.csv",
        "vpp.csv",
        "p2p_vpp_summary.csv",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(!out.join("battery_P2.csv").exists());
    // The fixed daily charge is in every prosumer's bill.
    let k = &v["p2p"];
    assert!(k["community_cost"].as_f64().unwrap() > 4.0 * 0.9 - 10.0);
}

#[test]
fn regulator_policy_and_time_of_use_are_settled_and_reported() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.retailer.pricing = netclear::tariff::PricingMode::TimeOfUse;
    s.retailer.policy.local_renewable_bonus_per_kwh = 0.02;
    s.retailer.policy.grid_purchase_penalty_per_kwh = 0.05;
    let (c, r) = study::run(&s).unwrap().into_day();
    // Time of use: 0.15 off-peak, 0.25 shoulder 07–17, 0.40 peak 17–22.
    assert_eq!(c.retail_per_kwh[3], 0.15);
    assert_eq!(c.retail_per_kwh[12], 0.25);
    assert_eq!(c.retail_per_kwh[18], 0.40);
    assert_eq!(c.retail_per_kwh[22], 0.15);
    for case in [&r.baseline, &r.p2p] {
        let k = &case.kpis;
        let local: f64 = case
            .accounts
            .iter()
            .flatten()
            .map(|l| l.self_kwh + l.p2p_bought_kwh)
            .sum();
        assert!((k.policy_bonus - 0.02 * local).abs() < 1e-9);
        assert!((k.policy_penalty - 0.05 * k.grid_import_kwh).abs() < 1e-9);
    }
    // P2P raises local consumption: more bonus, less penalty.
    assert!(r.p2p.kpis.policy_bonus > r.baseline.kpis.policy_bonus);
    assert!(r.p2p.kpis.policy_penalty < r.baseline.kpis.policy_penalty);
}

/// Keeping only the totals (`Retention::Totals`, what `--no-out`, `--outputs summary` and a
/// sweep row use) gives the same numbers as keeping every step: every KPI of both cases and of
/// every comparison, bit for bit (`summary_json`), on days with batteries, EVs, flexible loads,
/// a LinDistFlow correction that binds and sheds, and DC. The steps-kept run is the independent
/// source; the totals-only run keeps no accounts.
#[test]
fn keeping_only_totals_gives_the_same_kpis_and_summary() {
    let mut cases = Vec::new();
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 60.0,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 30.0;
    s.clearing.model = NetworkModel::Lindistflow;
    s.clearing.background = netclear::clearing::Background::Enforce;
    cases.push(s.clone());
    s.clearing.model = NetworkModel::Dc;
    s.storage.battery_share_percent = 0.0;
    cases.push(s.clone());
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/scenarios/ev_congestion.toml"
    );
    let ev = Scenario::from_toml(file, &std::fs::read_to_string(file).unwrap()).unwrap();
    cases.push(ev);
    // The paper's figures count trades per hour and per buyer: they need the trades themselves.
    for p in [
        netclear::scenario::Preset::Paper2024,
        netclear::scenario::Preset::Paper2024Corrected,
    ] {
        cases.push(Scenario::preset(p));
    }
    let mut physics_differ = 0;
    for (k, s) in cases.iter().enumerate() {
        let steps = study::run_retaining(s, study::Retention::Steps, &mut |_, _| {}).unwrap();
        let totals = study::run_retaining(s, study::Retention::Totals, &mut |_, _| {}).unwrap();
        assert!(!steps.day.p2p.accounts.is_empty());
        // The paper presets keep their steps whatever is asked (their figures count trades).
        if s.preset.is_none() {
            assert!(totals.day.p2p.accounts.is_empty() && totals.day.baseline.accounts.is_empty());
            assert!(totals.day.trades.is_empty());
            // The totals-only day drops each step's per-branch loadings once read: the branch
            // peaks (folded in step by step) and whether the two cases are the same physics stay.
            assert!(totals
                .day
                .p2p
                .network
                .iter()
                .all(|n| n.loading_percent.is_empty()));
        }
        assert_eq!(steps.day.trade_totals, totals.day.trade_totals);
        assert_eq!(
            steps.day.trade_totals,
            study::TradeTotals::of(&steps.day.trades)
        );
        let same = steps.day.p2p.same_physics(&steps.day.baseline);
        assert_eq!(same, totals.day.p2p.same_physics(&totals.day.baseline));
        physics_differ += usize::from(!same);
        for (a, b) in [
            (&steps.day.baseline, &totals.day.baseline),
            (&steps.day.p2p, &totals.day.p2p),
        ] {
            assert_eq!(a.branches, b.branches, "scenario {k}");
            assert!(a.branches.iter().any(|p| p.peak_loading_percent > 0.0));
        }
        assert_eq!(
            netclear::output::summary_json(&steps).unwrap(),
            netclear::output::summary_json(&totals).unwrap(),
            "scenario {k}"
        );
        for (a, b) in [
            (&steps.day.baseline, &totals.day.baseline),
            (&steps.day.p2p, &totals.day.p2p),
        ] {
            assert_eq!(a.totals, b.totals, "scenario {k}");
            for t in 0..a.accounts.len() {
                let mut sum = netclear::settlement::Account::default();
                for x in &a.accounts[t] {
                    sum.add(x);
                }
                assert_eq!(a.step_total(t), sum);
            }
        }
        // The per-step tables need the steps: asked of a totals-only study, a clear error.
        let dir = tempfile::tempdir().unwrap();
        let written = netclear::output::write_run(
            &totals,
            &dir.path().join("out"),
            &netclear::output::WriteOptions::default(),
        );
        if s.preset.is_none() {
            let err = written.unwrap_err();
            assert!(err.to_string().contains("totals"), "{err}");
        }
    }
    // Flexible assets answer the market in some of these days: their physics differ.
    assert!(physics_differ > 0);
}
