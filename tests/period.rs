//! Multi-day studies: the week of issue 14 with its state carried across midnight, the period's
//! totals against the days', days against single-day studies, daylight-saving days in local time,
//! and the refusals.

mod common;
use common::netclear;

use netclear::scenario::Scenario;
use netclear::study::{self, StudyResult};

fn week(battery_share: f64) -> Scenario {
    let mut s = Scenario {
        network: "village80".into(),
        days: Some("2016-06-14..2016-06-20".into()),
        ..Scenario::default()
    };
    s.storage.battery_share_percent = battery_share;
    s
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn a_week_carries_every_battery_across_midnight() {
    let r = study::run(&week(50.0)).unwrap();
    let c = &r.community;
    assert_eq!((r.days.len(), c.n_steps()), (7, 7 * 24));
    assert_eq!(c.step_label(0), "2016-06-14T00:00");
    assert_eq!(c.step_label(167), "2016-06-20T23:00");
    let mut carried = 0;
    for case in [&r.day.baseline, &r.day.p2p] {
        for (p, d) in c.prosumers.iter().zip(&case.plan.dispatch) {
            let (Some(b), Some(d)) = (&p.battery, d) else {
                continue;
            };
            let step =
                |t: usize| b.eta_charge * d.charge_kw[t] - d.discharge_kw[t] / b.eta_discharge;
            // The SOC chain holds at every step, midnights included: SOC at the end of day d
            // is where day d + 1 starts.
            let mut soc = b.soc0 * b.e_kwh;
            for t in 0..c.n_steps() {
                soc += step(t);
                assert!(
                    (soc - d.soc_kwh[t]).abs() < 1e-6,
                    "{}: step {t}: {soc} vs {}",
                    p.name,
                    d.soc_kwh[t]
                );
                assert!(d.soc_kwh[t] >= b.soc_min * b.e_kwh - 1e-6);
                assert!(d.soc_kwh[t] <= b.soc_max * b.e_kwh + 1e-6);
            }
            // The period's end rule closes the week at the start SOC.
            assert!((d.soc_kwh[167] - b.soc0 * b.e_kwh).abs() < 1e-6);
            // Midnights are the state carried, not a reset to soc0.
            carried += (1..7)
                .filter(|k| (d.soc_kwh[24 * k - 1] - b.soc0 * b.e_kwh).abs() > 0.01)
                .count();
        }
    }
    assert!(carried > 0, "no battery carried any state across midnight");
}

#[test]
fn the_weeks_totals_are_the_sums_of_its_days() {
    let r = study::run(&week(50.0)).unwrap();
    let sum = |f: &dyn Fn(&netclear::study::kpi::Kpis) -> f64, p2p: bool| -> f64 {
        r.days
            .iter()
            .map(|d| f(if p2p { &d.p2p } else { &d.baseline }))
            .sum()
    };
    type Get = fn(&netclear::study::kpi::Kpis) -> f64;
    let additive: [(&str, Get); 10] = [
        ("load_kwh", |k| k.load_kwh),
        ("pv_kwh", |k| k.pv_kwh),
        ("grid_import_kwh", |k| k.grid_import_kwh),
        ("grid_export_kwh", |k| k.grid_export_kwh),
        ("p2p_kwh", |k| k.p2p_kwh),
        ("community_cost", |k| k.community_cost),
        ("losses_kwh", |k| k.losses_kwh),
        ("battery_charge_kwh", |k| k.battery_charge_kwh),
        ("battery_discharge_kwh", |k| k.battery_discharge_kwh),
        ("community_import_kwh", |k| k.community_import_kwh),
    ];
    for (p2p, k) in [(false, &r.day.baseline.kpis), (true, &r.day.p2p.kpis)] {
        for (name, f) in additive {
            assert!(
                close(f(k), sum(&f, p2p), 1e-9),
                "{name}: {} vs {}",
                f(k),
                sum(&f, p2p)
            );
        }
        let trades: usize = r
            .days
            .iter()
            .map(|d| if p2p { d.p2p.n_trades } else { 0 })
            .sum();
        assert_eq!(k.n_trades, trades);
        let peak = r
            .days
            .iter()
            .map(|d| {
                if p2p {
                    d.p2p.peak_import_kw
                } else {
                    d.baseline.peak_import_kw
                }
            })
            .fold(0.0, f64::max);
        assert_eq!(k.peak_import_kw, peak);
    }
}

#[test]
fn without_batteries_each_day_is_the_single_day_study() {
    let mut s = week(0.0);
    s.days = Some("2016-06-14..2016-06-16".into());
    let r = study::run(&s).unwrap();
    let one = study::run(&Scenario {
        day: "2016-06-15".into(),
        days: None,
        ..s.clone()
    })
    .unwrap();
    let d = &r.days[1];
    assert_eq!(d.date, "2016-06-15");
    assert_eq!(d.baseline, one.day.baseline.kpis);
    assert_eq!(d.p2p, one.day.p2p.kpis);
}

fn pv_kwh_of_day(r: &StudyResult, from: usize, to: usize) -> f64 {
    r.community
        .prosumers
        .iter()
        .map(|p| p.pv_kw[from..to].iter().sum::<f64>())
        .sum::<f64>()
        * r.community.dt_h()
}

#[test]
fn daylight_saving_days_run_in_local_time() {
    // 2016-03-27 has 23 hours in the SimBench files (02:00 does not exist), 2016-10-30 has 25.
    for (range, dst_steps) in [
        ("2016-03-26..2016-03-28", 23usize),
        ("2016-10-29..2016-10-31", 25),
    ] {
        let mut s = week(50.0);
        s.days = Some(range.into());
        s.pv_share_percent = 100.0;
        let r = study::run(&s).unwrap();
        let steps: Vec<usize> = r.days.iter().map(|d| d.steps).collect();
        assert_eq!(steps, vec![24, dst_steps, 24], "{range}");
        // The DST day's PV energy is the file's: Σ rows of the local date × kWp × 0.25 h.
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("profiles/pv_simbench_2016_15min.csv"),
        )
        .unwrap();
        let date = &r.days[1].date;
        let col = text
            .lines()
            .next()
            .unwrap()
            .split(',')
            .position(|h| h == "pv3_kw_per_kwp")
            .unwrap();
        let per_kwp_kwh: f64 = text
            .lines()
            .filter(|l| l.starts_with(date.as_str()))
            .map(|l| l.split(',').nth(col).unwrap().parse::<f64>().unwrap() * 0.25)
            .sum();
        let kwp: f64 = r.community.prosumers.iter().map(|p| p.pv_kwp).sum();
        let got = pv_kwh_of_day(&r, 24, 24 + dst_steps);
        assert!(
            close(got, kwp * per_kwp_kwh, 1e-12),
            "{range}: {got} vs {}",
            kwp * per_kwp_kwh
        );
        // Labels keep the local clock and tell a repeated hour apart by its offset.
        let labels: Vec<String> = (24..24 + dst_steps)
            .map(|t| r.community.step_label(t))
            .collect();
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), dst_steps, "{labels:?}");
        if dst_steps == 23 {
            assert!(!labels.iter().any(|l| l.contains("T02:")), "{labels:?}");
        } else {
            assert!(labels.contains(&format!("{date}T02:00+02:00")));
            assert!(labels.contains(&format!("{date}T02:00+01:00")));
        }
    }
}

#[test]
fn the_cli_writes_the_week_with_dated_time_columns_and_refuses_what_it_cannot_do() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("week");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "village80",
        "--battery-share",
        "50",
        "--days",
        "2016-06-14..2016-06-20",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let hourly = std::fs::read_to_string(out.join("hourly.csv")).unwrap();
    let rows: Vec<&str> = hourly.lines().collect();
    assert_eq!(rows.len(), 1 + 2 * 168);
    assert!(
        rows[1].starts_with("baseline,0,2016-06-14T00:00,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[168].starts_with("baseline,167,2016-06-20T23:00,"),
        "{}",
        rows[168]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["days"].as_array().unwrap().len(), 7);
    assert_eq!(summary["network"]["steps"], 168);
    assert_eq!(summary["scenario"]["days"], "2016-06-14..2016-06-20");
    for (args, needle) in [
        (
            vec!["--days", "2016-06-20..2016-06-14"],
            "TO is before FROM",
        ),
        (vec!["--days", "2016-06-14"], "FROM..TO"),
        (vec!["--days", "2016-02-30..2016-03-02"], "YYYY-MM-DD"),
        (
            vec!["--days", "2016-06-14..2016-06-15", "--preset", "paper2024"],
            "preset",
        ),
        (
            vec!["--days", "2016-06-14..2016-06-15", "--clearing", "central"],
            "central",
        ),
    ] {
        let mut a = vec!["run", "--network", "village80", "--no-out", "--quiet"];
        a.extend(args);
        let (code, _, err) = netclear(&a);
        assert_eq!(code, 2, "{a:?}: {err}");
        assert!(err.contains("days") && err.contains(needle), "{a:?}: {err}");
    }
}
