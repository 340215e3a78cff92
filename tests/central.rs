//! Central clearing with every kind of flexibility (issue 13): EVs, shiftable and curtailable
//! loads and the shared battery in the one welfare optimisation. A hand-derived one-household
//! case (and its equality with the household's own optimum), the welfare bound against the
//! auction and the greedy reference, energy conservation of every asset, no simultaneous charge
//! and discharge, the network result of every step, and the CLI run.

mod common;
use common::netclear;

use netclear::scenario::{community, ClearingMode, Scenario};
use netclear::storage::ev::{Ev, EvCharging, EV_ETA};
use netclear::storage::StorageModel;
use netclear::study::{self, central, plan, Case};

/// One household, no PV, no battery, one smart EV plugged in 18:00–06:00 needing 12 kWh; retail
/// 0.30 except 0.10 in 01:00–04:00 (inside the window), feed-in 0.05; no network model.
///
/// By hand: four cheap hours hold 4 × 7 kW × 0.92 = 25.76 kWh ≥ 12, so the optimum takes the
/// whole need at 0.10: `12 / 0.92` kWh at the meter, all in 01:00–04:00, nothing elsewhere. The
/// cost is the household's load at retail plus `0.10 × 12 / 0.92`; and with one household there
/// is nothing to coordinate, so the central objective equals the EV's own optimum.
#[test]
fn one_smart_ev_charges_in_the_cheap_hours_and_equals_the_households_own_optimum() {
    let mut s = Scenario {
        network: "village80".into(),
        ..Scenario::default()
    };
    s.clearing.model = netclear::clearing::NetworkModel::None;
    s.ev.charging = EvCharging::Smart;
    s.storage.clearing = ClearingMode::Central;
    let mut c = community::build(&s).unwrap();
    assert_eq!(c.step_minutes, 60, "an hourly day");
    let n = c.n_steps();
    c.prosumers.truncate(1);
    c.prosumers[0].pv_kw = vec![0.0; n];
    c.prosumers[0].battery = None;
    c.shared = None;
    c.shiftables.clear();
    let cheap = 1..5;
    c.retail_per_kwh = (0..n)
        .map(|t| if cheap.contains(&t) { 0.10 } else { 0.30 })
        .collect();
    c.feed_in_per_kwh = vec![0.05; n];
    let need = 12.0;
    c.evs = vec![Ev {
        prosumer: 0,
        capacity_kwh: 60.0,
        charger_kw: 7.0,
        arrival_h: 18.0,
        departure_h: 30.0,
        need_kwh: need,
        arrival_soc: 0.5,
    }];
    let (cr, failed) = central::solve(&c, &s).unwrap();
    assert!(failed.is_none() && cr.status.is_ok());
    let e = cr.plan.ev[0]
        .as_ref()
        .expect("the EV is in the central plan");
    let d = &e.dispatch;
    for t in 0..n {
        if !cheap.contains(&t) {
            assert!(d.charge_kw[t].abs() < 1e-7, "step {t}: {}", d.charge_kw[t]);
        }
        assert_eq!(d.discharge_kw[t], 0.0);
    }
    let delivered: f64 = d.charge_kw.iter().map(|c| EV_ETA * c).sum();
    assert!((delivered - need).abs() < 1e-9, "{delivered}");
    assert!((e.delivered_kwh - need).abs() < 1e-9);
    assert_eq!(e.shortfall_kwh, 0.0);
    let load_cost: f64 = (0..n)
        .map(|t| c.prosumers[0].load_kw[t] * c.retail_per_kwh[t])
        .sum();
    let by_hand = load_cost + 0.10 * need / EV_ETA;
    assert!((cr.cost - by_hand).abs() < 1e-6, "{} vs {by_hand}", cr.cost);
    // The household's own (decentralised) optimum: the same problem, nothing to coordinate.
    let own = plan::plan(&c, &s, Case::Baseline, s.storage.model);
    let own_ev = own.ev[0].as_ref().unwrap();
    assert!(
        (cr.objective - own_ev.dispatch.objective).abs() < 1e-6,
        "central {} vs own {}",
        cr.objective,
        own_ev.dispatch.objective
    );
    assert!(cr.gap <= 1e-9 && cr.lower_bound <= cr.objective);
}

/// village80, 50 % PV, 50 % home batteries (MILP), 50 % V2G EVs, 50 % flexible households with
/// a curtailable part: the welfare optimum is no worse than the auction or the greedy reference,
/// every EV and shiftable load conserves its energy, no battery or EV charges and discharges at
/// once, and every step's network result is within the limits or reports the violation.
#[test]
fn central_with_v2g_and_flexible_loads_bounds_the_auction_and_conserves_energy() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.storage.battery_share_percent = 50.0;
    s.storage.model = StorageModel::Milp;
    s.ev.share_percent = 50.0;
    s.ev.charging = EvCharging::V2g;
    s.flex.share_percent = 50.0;
    s.flex.curtail_fraction = 0.1;
    s.storage.clearing = ClearingMode::Central;
    let r = study::run(&s).unwrap();
    let cr = r.central.as_ref().unwrap();
    assert!(cr.status.is_ok());
    assert!(cr.gap <= 1e-4, "gap {}", cr.gap);
    let dz = r.comparisons.decentralisation.as_ref().unwrap();
    assert!(dz.central_cost <= dz.auction_cost + 1e-6, "{dz:?}");
    assert!(dz.central_cost <= dz.greedy_cost + 1e-6, "{dz:?}");
    assert!((dz.central_cost - cr.cost).abs() < 1e-6);
    let c = &r.community;
    let dt = c.dt_h();
    let p2p = &r.day.p2p;
    assert!(!c.evs.is_empty() && !c.shiftables.is_empty());
    assert_eq!(p2p.plan.evs().count(), c.evs.len());
    assert_eq!(p2p.plan.shifts().count(), c.shiftables.len());
    for e in p2p.plan.evs() {
        let d = &e.dispatch;
        let got: f64 = d
            .charge_kw
            .iter()
            .zip(&d.discharge_kw)
            .map(|(c, x)| (EV_ETA * c - x / EV_ETA) * dt)
            .sum();
        assert!(
            (got - (e.need_kwh - e.shortfall_kwh)).abs() < 1e-9,
            "EV {}",
            e.ev.prosumer
        );
        for t in 0..c.n_steps() {
            assert!(d.charge_kw[t].min(d.discharge_kw[t]) == 0.0, "EV at {t}");
            if !e.plugged(t) {
                assert_eq!((d.charge_kw[t], d.discharge_kw[t]), (0.0, 0.0));
            }
        }
    }
    for f in p2p.plan.shifts() {
        let e: f64 = f.load_kw.iter().sum::<f64>() * dt;
        assert!(
            (e - f.load.energy_kwh).abs() < 1e-9,
            "{e} vs {}",
            f.load.energy_kwh
        );
    }
    for d in p2p.plan.dispatch.iter().flatten() {
        assert!(d
            .charge_kw
            .iter()
            .zip(&d.discharge_kw)
            .all(|(c, x)| c.min(*x) == 0.0));
    }
    // The accounts carry the plan: EV charging and the shifted and dropped load.
    let k = &p2p.kpis;
    assert!((k.ev_needed_kwh - c.evs.iter().map(|e| e.need_kwh).sum::<f64>()).abs() < 1e-9);
    assert!((k.ev_delivered_kwh + k.ev_unmet_kwh - k.ev_needed_kwh).abs() < 1e-9);
    let ev_kwh: f64 = p2p.accounts.iter().flatten().map(|a| a.ev_charge_kwh).sum();
    let planned: f64 = p2p
        .plan
        .evs()
        .map(|e| e.dispatch.charge_kw.iter().sum::<f64>() * dt)
        .sum();
    assert!((ev_kwh - planned).abs() < 1e-9);
    assert!(
        (k.load_kwh + k.flex_curtailed_kwh - r.day.baseline.kpis.load_kwh).abs() < 1e-9,
        "shifting conserves the load; only the dropped part leaves it"
    );
    // Every step: within the band and the ratings, or the violation reported as data.
    let (lo, hi) = (s.clearing.vmin_pu, s.clearing.vmax_pu);
    for (t, net) in p2p.network.iter().enumerate() {
        let within = net.max_line_loading_percent <= 100.0 + 1e-6
            && net.vmin_pu.is_none_or(|v| v >= lo - 1e-6)
            && net.vmax_pu.is_none_or(|v| v <= hi + 1e-6);
        assert!(within || !net.violations.is_empty(), "step {t}");
    }
}

/// The shared battery under central clearing: one device at its bus, every member's share its
/// fraction of it (so the shares' sum is the device and each share is within its own limits).
#[test]
fn central_operates_the_shared_battery_as_one_device() {
    let mut s = Scenario {
        network: "village80".into(),
        pv_share_percent: 50.0,
        ..Scenario::default()
    };
    s.storage.shared = true;
    s.storage.model = StorageModel::Milp;
    let auction = {
        let c = community::build(&s).unwrap();
        study::grid_cost(
            &study::run_day(&c, &s).unwrap().p2p,
            s.clearing.voll_per_kwh,
        )
    };
    s.storage.clearing = ClearingMode::Central;
    let r = study::run(&s).unwrap();
    let sb = r.community.shared.as_ref().unwrap();
    let dev = r.day.p2p.plan.shared_device().expect("shares in the plan");
    let dt = r.community.dt_h();
    assert!(
        dev.charge_kw.iter().sum::<f64>() * dt > 1.0,
        "the device moved energy"
    );
    for t in 0..r.community.n_steps() {
        assert!(dev.charge_kw[t].min(dev.discharge_kw[t]) == 0.0);
        assert!(dev.charge_kw[t] <= sb.battery.p_charge_kw + 1e-9);
        let e = &sb.battery;
        assert!(dev.soc_kwh[t] >= e.soc_min * e.e_kwh - 1e-6);
        assert!(dev.soc_kwh[t] <= e.soc_max * e.e_kwh + 1e-6);
        for &(i, f) in &sb.shares {
            let d = r.day.p2p.plan.share[i].as_ref().unwrap();
            assert!((d.charge_kw[t] - f * dev.charge_kw[t]).abs() < 1e-12);
        }
        // The accounts put the device's energy behind the members' meters.
        let booked: f64 = r.day.p2p.accounts[t].iter().map(|a| a.share_in_kwh).sum();
        assert!((booked - dev.charge_kw[t] * dt).abs() < 1e-9);
    }
    let central = study::grid_cost(&r.day.p2p, s.clearing.voll_per_kwh);
    assert!(
        central <= auction + 1e-6,
        "central {central} > auction {auction}"
    );
}

/// The command: village80 with V2G EVs and flexible loads, cleared centrally, exits 0 and
/// writes the EV and flexible-load tables.
#[test]
fn cli_central_with_evs_and_flexible_loads_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "village80",
        "--pv-share",
        "50",
        "--ev-share",
        "50",
        "--ev-charging",
        "v2g",
        "--flex-share",
        "50",
        "--clearing",
        "central",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let dz = &v["decentralisation"];
    assert!(dz["central_cost"].as_f64().unwrap() <= dz["auction_cost"].as_f64().unwrap() + 1e-6);
    let k = &v["p2p"];
    assert!(k["ev_needed_kwh"].as_f64().unwrap() > 0.0);
    assert!(k["ev_max_gap"].as_f64().unwrap() <= 1e-4);
    for f in ["evs.csv", "flex_loads.csv"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(
            text.lines().any(|l| l.contains("p2p")),
            "{f} has the central case"
        );
    }
}
