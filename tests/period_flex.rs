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
