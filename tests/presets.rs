//! The seeds' communities as presets (issue 16): `multiagent5` (seed 003) and `vpp4` (the
//! microgrid/VPP seed). Each runs end to end; the tests check the seed's parameters in the
//! resolved scenario (what `--print-scenario` prints), the energy balance of every household in
//! every step, the money laws (Σ P2P payments = Σ P2P receipts), the Gini of benefits against the
//! hand formula on the written `prosumers.csv`, and that the written seed files are the same
//! rows as the tidy tables.

use netclear::output::{write_run, WriteOptions};
use netclear::scenario::{self, community::LoadClass, Preset, Scenario};
use netclear::settlement::Account;
use netclear::study::{self, kpi::gini};
use std::path::Path;

fn balanced(a: &Account) -> bool {
    let d = a.demand_kwh() - (a.self_kwh + a.p2p_bought_kwh + a.grid_import_kwh + a.shed_kwh);
    let y = a.supply_kwh() - (a.self_kwh + a.p2p_sold_kwh + a.grid_export_kwh);
    d.abs() < 1e-9 && y.abs() < 1e-9
}

/// Rows of a CSV as (header, records).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

/// Gini by its definition: mean absolute difference over all ordered pairs / (2 · mean).
fn gini_by_hand(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let mut s = 0.0;
    for a in x {
        for b in x {
            s += (a - b).abs();
        }
    }
    s / (2.0 * n * n * mean)
}

#[test]
fn gini_against_hand_values() {
    // {1, 2, 3, 4}: Σ|xᵢ − xⱼ| over ordered pairs = 2·(1+2+3+1+2+1) = 20; 2n²x̄ = 2·16·2.5 = 80.
    assert!((gini(&[1.0, 2.0, 3.0, 4.0]).unwrap() - 0.25).abs() < 1e-15);
    // Everyone equal: 0. One holds everything of n = 4: (n − 1)/n = 0.75.
    assert_eq!(gini(&[2.0; 5]), Some(0.0));
    assert!((gini(&[0.0, 0.0, 0.0, 8.0]).unwrap() - 0.75).abs() < 1e-15);
    // No mean benefit: undefined.
    assert_eq!(gini(&[0.0, 0.0]), None);
}

/// The laws every preset's day obeys, and the Gini and wallets as written.
fn check_run(r: &study::StudyResult, dir: &Path) {
    let c = &r.community;
    for case in [&r.day.baseline, &r.day.p2p] {
        for (t, step) in case.accounts.iter().enumerate() {
            assert!(step.iter().all(balanced), "energy balance at step {t}");
            let (paid, received) = step
                .iter()
                .fold((0.0, 0.0), |(p, q), a| (p + a.p2p_paid, q + a.p2p_received));
            assert!((paid - received).abs() < 1e-12, "P2P money at step {t}");
        }
    }
    assert!(r.day.p2p.kpis.p2p_kwh > 0.1, "the households trade");
    // The Gini of benefits on the written prosumers.csv (members: not the community battery).
    let (h, rows) = csv(&dir.join("prosumers.csv"));
    let benefits: Vec<f64> = rows
        .iter()
        .filter(|r| r[col(&h, "class")] != "vpp")
        .map(|r| {
            let b: f64 = r[col(&h, "baseline_bill")].parse().unwrap();
            let p: f64 = r[col(&h, "p2p_bill")].parse().unwrap();
            assert!((b - p - r[col(&h, "savings")].parse::<f64>().unwrap()).abs() < 1e-9);
            b - p
        })
        .collect();
    let g = r.day.p2p.kpis.savings_gini.expect("a Gini");
    assert!((0.0..=1.0).contains(&g) && benefits.iter().all(|&b| b >= -1e-9));
    assert!((g - gini_by_hand(&benefits)).abs() < 1e-9, "{g} vs hand");
    // Wallets: each household's last balance is minus its day's bill, in both cases.
    let (h, rows) = csv(&dir.join("wallets.csv"));
    let last = c.n_steps() - 1;
    for (case, name) in [(&r.day.baseline, "baseline"), (&r.day.p2p, "p2p")] {
        for (i, _) in c.prosumers.iter().enumerate() {
            let row = rows
                .iter()
                .find(|r| {
                    r[col(&h, "case")] == name
                        && r[col(&h, "step")] == last.to_string()
                        && r[col(&h, "prosumer")] == i.to_string()
                })
                .unwrap();
            let bal: f64 = row[col(&h, "balance")].parse().unwrap();
            assert!((bal + case.prosumer_total(i).bill()).abs() < 1e-9);
        }
    }
    assert_eq!(rows.len(), 2 * c.n_steps() * c.prosumers.len());
}

#[test]
fn multiagent5_runs_with_the_seeds_parameters() {
    let s = scenario::resolve(Some(Preset::Multiagent5), None).unwrap();
    // The resolved scenario (as `--print-scenario` prints it) carries the seed's numbers.
    let toml = s.to_toml();
    for key in [
        "preset = \"multiagent5\"",
        "step_minutes = 30",
        "import = \"builtin:multiagent5\"",
        "retail_per_kwh = 0.15",
        "feed_in_per_kwh = 0.05",
        "shared = true",
        "compare_greedy = true",
    ] {
        assert!(toml.contains(key), "{key} in\n{toml}");
    }
    assert_eq!(Scenario::from_toml("printed", &toml).unwrap(), s);
    let r = study::run(&s).unwrap();
    let c = &r.community;
    assert_eq!(c.n_steps(), 48);
    assert_eq!(c.prosumers.len(), 5);
    // 5 kWp of PV each (the shipped day: 5 × SimBench PV3 on 2016-03-15); the seed's 10 kWh /
    // 5 kW battery per household as equal shares of the 50 kWh / 25 kW shared battery.
    let peak = c
        .prosumers
        .iter()
        .map(|p| p.pv_kw.iter().copied().fold(0.0, f64::max));
    assert!(peak.clone().all(|x| x > 2.0 && x <= 5.0 + 1e-9));
    let sb = c.shared.as_ref().unwrap();
    for i in 0..5 {
        let b = sb.share_battery(i).unwrap();
        assert!((b.e_kwh - 10.0).abs() < 1e-12 && (b.p_charge_kw - 5.0).abs() < 1e-12);
    }
    assert!(c.retail_per_kwh.iter().all(|&p| p == 0.15));
    assert!(c.feed_in_per_kwh.iter().all(|&p| p == 0.05));
    // The three battery models, optimal and greedy.
    let k = r.comparisons.battery_kinds.as_ref().unwrap();
    let g = r.comparisons.battery_kinds_greedy.as_ref().unwrap();
    assert_eq!(
        (k.model, g.model),
        (
            netclear::storage::StorageModel::Milp,
            netclear::storage::StorageModel::Greedy
        )
    );
    assert!(k.both.is_none() && g.both.is_none());
    // The shared run is the study's own P2P case; the shares at home hold the same capacity.
    assert_eq!(k.shared.community_cost, r.day.p2p.kpis.community_cost);
    // The greedy rule is the same at home and in a share (it sees only its member's residual).
    assert!((g.individual.community_cost - g.shared.community_cost).abs() < 1e-9);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    write_run(&r, &out, &WriteOptions::default()).unwrap();
    check_run(&r, &out);
}

#[test]
fn vpp4_runs_with_the_seeds_parameters_and_writes_its_files() {
    let s = scenario::resolve(Some(Preset::Vpp4), None).unwrap();
    assert_eq!(s.storage.per_prosumer_kwh, vec![10.0, 6.0, 0.0, 5.0]);
    assert_eq!(s.storage.per_prosumer_kw, vec![5.0, 3.0, 0.0, 3.0]);
    assert!(s.storage.vpp && s.line_eta == 0.97 && s.step_minutes == 5);
    let wp = &s.retailer.wholesale_pass;
    assert_eq!(
        (
            wp.markup_per_kwh,
            wp.beta_fit,
            wp.floor_per_kwh,
            wp.fit_cap_per_kwh
        ),
        (0.08, 0.8, 0.10, 0.12)
    );
    let b = &s.storage.battery;
    assert_eq!(
        (b.eta_charge, b.eta_discharge, b.soc_min, b.soc_max, b.soc0),
        (0.95, 0.95, 0.1, 0.9, 0.5)
    );
    let v = &s.storage.vpp_battery;
    assert_eq!(
        (v.e_kwh, v.p_charge_kw, v.p_discharge_kw, v.soc0),
        (50.0, 10.0, 10.0, 0.5)
    );
    let toml = s.to_toml();
    assert!(toml.contains("preset = \"vpp4\"") && toml.contains("line_eta = 0.97"));
    let r = study::run(&s).unwrap();
    let c = &r.community;
    assert_eq!(c.n_steps(), 288);
    let homes: Vec<_> = c
        .prosumers
        .iter()
        .filter(|p| p.class != LoadClass::Vpp)
        .collect();
    assert_eq!(homes.len(), 4);
    let caps: Vec<f64> = homes
        .iter()
        .map(|p| p.battery.map_or(0.0, |b| b.e_kwh))
        .collect();
    assert_eq!(caps, vec![10.0, 6.0, 0.0, 5.0]);
    // Retail = max(wholesale + 0.08, 0.10); feed-in = min(0.8 · wholesale, 0.12).
    let imported = netclear::import::read_source("builtin:example_community", None).unwrap();
    let w = imported.price_per_kwh.unwrap();
    for t in 0..288 {
        assert!((c.retail_per_kwh[t] - (w[t] + 0.08).max(0.10)).abs() < 1e-12);
        assert!((c.feed_in_per_kwh[t] - (0.8 * w[t]).min(0.12)).abs() < 1e-12);
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    write_run(&r, &out, &WriteOptions::default()).unwrap();
    check_run(&r, &out);
    // battery_P{i}.csv: one per prosumer with a battery, the P2P rows of batteries.csv.
    let (bh, brows) = csv(&out.join("batteries.csv"));
    for (i, p) in homes.iter().enumerate() {
        let f = out.join(format!("battery_P{i}.csv"));
        assert_eq!(f.exists(), p.battery.is_some(), "battery_P{i}.csv");
        if !f.exists() {
            continue;
        }
        let (h, rows) = csv(&f);
        let tidy: Vec<&Vec<String>> = brows
            .iter()
            .filter(|r| r[col(&bh, "case")] == "p2p" && r[col(&bh, "prosumer")] == i.to_string())
            .collect();
        assert_eq!(rows.len(), tidy.len());
        for (a, b) in rows.iter().zip(tidy) {
            for name in ["step", "soc_kwh", "charge_kw", "discharge_kw"] {
                assert_eq!(a[col(&h, name)], b[col(&bh, name)]);
            }
        }
    }
    // settlements.csv: every executed trade of trades.csv, the same energy and price.
    let (sh, srows) = csv(&out.join("settlements.csv"));
    let executed: Vec<_> = r
        .day
        .trades
        .iter()
        .filter(|t| t.executed_kwh > 0.0)
        .collect();
    assert_eq!(srows.len(), executed.len());
    let total: f64 = srows
        .iter()
        .map(|r| r[col(&sh, "energy_kwh")].parse::<f64>().unwrap())
        .sum();
    assert!((total - r.day.p2p.kpis.p2p_kwh).abs() < 1e-9);
    // p2p_vpp_summary.csv: external buy and sell are the community's grid import and export.
    let (vh, vrows) = csv(&out.join("p2p_vpp_summary.csv"));
    let buy: f64 = vrows
        .iter()
        .map(|r| r[col(&vh, "external_buy_kwh")].parse::<f64>().unwrap())
        .sum();
    assert!((buy - r.day.p2p.kpis.grid_import_kwh).abs() < 1e-9);
}
