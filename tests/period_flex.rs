//! Multi-day studies with EVs, shiftable and curtailable loads (issue 13): each EV session runs
//! across midnight, its SOC carried into the next day (`netclear::storage::ev::dispatch_chained`).
mod common;

use netclear::storage::ev::EV_ETA;

fn period(text: &str) -> netclear::study::StudyResult {
    let s = netclear::scenario::resolve(None, Some(("s.toml", text))).unwrap();
    s.validate().unwrap();
    netclear::study::run(&s).unwrap()
}

/// Every EV over a 2-day period, every policy, both cases: the energy balance closes exactly
/// (Σ η·charge − discharge/η = SOC at the end − arrival state at the period's start, the trips
/// taken out at each departure: Σ delivered + closing SOC − arrival state), every departure
/// leaves with its need, and the SOC runs on across midnight.
#[test]
fn ev_sessions_cross_midnight_and_conserve_energy() {
    for policy in ["uncontrolled", "smart", "v2g"] {
        let text = format!(
            "network = \"village80\"\npv_share_percent = 50\ndays = \"2016-06-14..2016-06-15\"\n[ev]\nshare_percent = 50\ncharging = \"{policy}\"\n[flex]\nshare_percent = 50\n"
        );
        let r = period(&text);
        let dt = r.community.dt_h();
        let nd = r.days[0].steps;
        let mut n_ev = 0;
        for case in [&r.day.baseline, &r.day.p2p] {
            for e in case.plan.evs() {
                n_ev += 1;
                let d = &e.dispatch;
                assert_eq!(d.soc_kwh.len(), 2 * nd);
                assert_eq!(e.sessions.len(), 2, "one departure a day");
                let arrival = e.ev.arrival_soc * e.ev.capacity_kwh;
                let net: f64 = (0..2 * nd)
                    .map(|t| (EV_ETA * d.charge_kw[t] - d.discharge_kw[t] / EV_ETA) * dt)
                    .sum();
                let closing = d.soc_kwh[2 * nd - 1];
                let delivered: f64 = e.sessions.iter().map(|x| x.delivered_kwh).sum();
                assert!(
                    (net - (delivered + closing - arrival)).abs() < 1e-9,
                    "{policy}: EV {} balance {net} vs {delivered} + {closing} − {arrival}",
                    e.ev.prosumer
                );
                for x in &e.sessions {
                    assert!(x.shortfall_kwh == 0.0, "{policy}: {x:?}");
                    assert!(
                        (x.delivered_kwh - x.need_kwh).abs() < 1e-6,
                        "{policy}: {x:?}"
                    );
                }
                // Step by step through midnight (the SOC follows from the flows while plugged).
                let mut soc = arrival;
                for t in 0..2 * nd {
                    if t % nd == e.window.start {
                        soc = arrival; // back from the trip
                    }
                    soc += (EV_ETA * d.charge_kw[t] - d.discharge_kw[t] / EV_ETA) * dt;
                    if e.plugged(t) {
                        assert!((soc - d.soc_kwh[t]).abs() < 1e-6, "{policy} t {t}");
                    }
                }
            }
        }
        assert!(n_ev > 0);
        // Shifted energy of the period is the days' sum.
        for (k, case) in [&r.day.baseline, &r.day.p2p].into_iter().enumerate() {
            let days: f64 = r
                .days
                .iter()
                .map(|d| [&d.baseline, &d.p2p][k].flex_shifted_kwh)
                .sum();
            assert!((case.kpis.flex_shifted_kwh - days).abs() < 1e-9);
        }
    }
}

/// The refusals lifted: EVs, shiftable loads and the shared battery run over a period (exit 0).
#[test]
fn flexibility_over_a_period_runs() {
    for extra in [
        &["--ev-share", "50"][..],
        &["--flex-share", "50"][..],
        &["--shared-battery"][..],
    ] {
        let mut args = vec![
            "run",
            "--network",
            "village80",
            "--days",
            "2016-06-14..2016-06-16",
        ];
        args.extend_from_slice(extra);
        args.push("--no-out");
        let (code, _, err) = common::netclear(&args);
        assert_eq!(code, 0, "{extra:?}: {err}");
    }
}

/// A 2-day period is its two days chained through `plan::plan_horizon`: day 1 planned with day
/// 2 as its look-ahead, day 2 from the state day 1 hands on (batteries, EVs), in each case; the
/// period's plan is the two days' plans end to end, bit for bit.
#[test]
fn a_two_day_period_is_two_chained_days() {
    use netclear::scenario::community;
    use netclear::study::{plan, Case};
    let text = "network = \"village80\"\npv_share_percent = 50\ndays = \"2016-06-14..2016-06-15\"\n[storage]\nbattery_share_percent = 50\n[ev]\nshare_percent = 50\ncharging = \"smart\"\n";
    let s = netclear::scenario::resolve(None, Some(("s.toml", text))).unwrap();
    let r = netclear::study::run(&s).unwrap();
    let day = |d: &str| {
        let sd = netclear::scenario::Scenario {
            day: d.into(),
            days: None,
            ..s.clone()
        };
        (community::build(&sd).unwrap().dated(d), sd)
    };
    let (c1, s1) = day("2016-06-14");
    let (c2, s2) = day("2016-06-15");
    let n1 = c1.n_steps();
    for (case, got) in [(Case::Baseline, &r.day.baseline), (Case::P2p, &r.day.p2p)] {
        let first = plan::Carry {
            chained: true,
            next: Some(c2.clone()),
            ..plan::Carry::default()
        };
        let p1 = plan::plan_horizon(&c1, &first, &s1, case, s.storage.model);
        let mut second = plan::Carry {
            chained: true,
            ..plan::Carry::default()
        };
        second.hand_on(case, &p1);
        let p2 = plan::plan_horizon(&c2, &second, &s2, case, s.storage.model);
        let mut n_assets = 0;
        for i in 0..c1.prosumers.len() {
            if let Some(d) = &got.plan.dispatch[i] {
                n_assets += 1;
                let (a, b) = (
                    p1.dispatch[i].as_ref().unwrap(),
                    p2.dispatch[i].as_ref().unwrap(),
                );
                assert_eq!(
                    d.charge_kw[..n1],
                    a.charge_kw[..],
                    "{case:?} battery {i} day 1"
                );
                assert_eq!(
                    d.charge_kw[n1..],
                    b.charge_kw[..],
                    "{case:?} battery {i} day 2"
                );
                assert_eq!(d.soc_kwh[n1..], b.soc_kwh[..]);
            }
        }
        for e in got.plan.evs() {
            n_assets += 1;
            let i = e.ev.prosumer;
            let (a, b) = (p1.ev[i].as_ref().unwrap(), p2.ev[i].as_ref().unwrap());
            assert_eq!(
                e.dispatch.charge_kw[..n1],
                a.dispatch.charge_kw[..],
                "{case:?} EV {i}"
            );
            assert_eq!(
                e.dispatch.charge_kw[n1..],
                b.dispatch.charge_kw[..],
                "{case:?} EV {i}"
            );
            assert!((e.delivered_kwh - (a.delivered_kwh + b.delivered_kwh)).abs() < 1e-9);
        }
        assert!(n_assets > 0);
    }
}

/// On the days the clocks change (2016-03-27: 23 hourly steps; 2016-10-30: 25) EVs and
/// shiftable loads keep local time: a car arriving at 18:00 and leaving at 07:30 the next
/// morning (rounded to 08:00 on the hourly clock) is plugged exactly in the steps labelled
/// 18:00–23:00 and 00:00–07:00, an uncontrolled car charges from the step labelled 18:00, and
/// a shiftable load's 07:00–23:00 window covers exactly the steps labelled 07:00–22:00.
#[test]
fn windows_keep_local_time_on_the_days_the_clocks_change() {
    use netclear::scenario::community;
    for (day, n) in [("2016-03-27", 23), ("2016-10-30", 25), ("2016-06-14", 24)] {
        let text = format!(
            "network = \"village80\"\nday = \"{day}\"\n[ev]\ncharging = \"uncontrolled\"\n[[ev.fleet]]\nprosumer = 0\ncapacity_kwh = 60.0\ncharger_kw = 3.7\narrival_h = 18.0\ndeparture_h = 31.5\nneed_kwh = 10.0\narrival_soc = 0.5\n[flex]\nshare_percent = 100\n"
        );
        let s = netclear::scenario::resolve(None, Some(("s.toml", &text))).unwrap();
        let c = community::build(&s).unwrap();
        assert_eq!(c.n_steps(), n, "{day}");
        let hour = |t: usize| -> u32 { c.times[t][..2].parse().unwrap() };
        let r = netclear::study::run(&s).unwrap();
        let e = r.day.baseline.plan.evs().next().expect("the EV");
        for t in 0..n {
            let h = hour(t);
            let want = !(8..18).contains(&h);
            assert_eq!(e.plugged(t), want, "{day} step {t} ({})", c.times[t]);
            if h == 18 {
                assert!(e.dispatch.charge_kw[t] > 3.0, "{day}: charges on arrival");
            }
            if !want {
                assert_eq!(e.dispatch.charge_kw[t], 0.0);
            }
        }
        let f = &c.shiftables[0];
        for t in 0..n {
            let inside = (7..23).contains(&hour(t));
            assert_eq!(
                f.reference_kw[t] > 0.0,
                inside && c.prosumers[f.prosumer].load_kw[t] > 0.0,
                "{day} step {t}"
            );
        }
    }
}

/// A period across the spring clock change: `evs.csv`'s `plugged` column follows each day's own
/// clock (the car arriving at 18:00 local is plugged at every step labelled 18:00–07:00 and at
/// none labelled 08:00–17:00, on each of the three days).
#[test]
fn a_periods_plugged_column_follows_each_days_clock() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let scenario = dir.path().join("s.toml");
    std::fs::write(
        &scenario,
        "network = \"village80\"\ndays = \"2016-03-26..2016-03-28\"\n[ev]\ncharging = \"smart\"\n[[ev.fleet]]\nprosumer = 0\ncapacity_kwh = 60.0\ncharger_kw = 3.7\narrival_h = 18.0\ndeparture_h = 31.5\nneed_kwh = 10.0\narrival_soc = 0.5\n",
    )
    .unwrap();
    let (code, _, err) = common::netclear(&[
        "run",
        "--scenario",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let evs = std::fs::read_to_string(out.join("evs.csv")).unwrap();
    let hourly = std::fs::read_to_string(out.join("hourly.csv")).unwrap();
    // step → local hour, from the hourly table's labels (`YYYY-MM-DDTHH:MM…`).
    let mut hour = std::collections::HashMap::new();
    let hh: Vec<&str> = hourly.lines().next().unwrap().split(',').collect();
    let (ks, kt) = (
        hh.iter().position(|c| *c == "step").unwrap(),
        hh.iter().position(|c| *c == "time").unwrap(),
    );
    for l in hourly.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        hour.insert(f[ks].to_string(), f[kt][11..13].parse::<u32>().unwrap());
    }
    assert_eq!(hour.len(), 24 + 23 + 24);
    let h: Vec<&str> = evs.lines().next().unwrap().split(',').collect();
    let col = |n: &str| h.iter().position(|c| *c == n).unwrap();
    let (cs, cp) = (col("step"), col("plugged"));
    let mut n = 0;
    for l in evs.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        let hr = hour[f[cs]];
        assert_eq!(
            f[cp] == "true",
            !(8..18).contains(&hr),
            "step {} hour {hr}",
            f[cs]
        );
        n += 1;
    }
    assert_eq!(n, 2 * 71, "both cases, every step");
}
