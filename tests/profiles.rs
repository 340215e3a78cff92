//! Time-series loading: units, day selection, resampling conservation, and bad files.

use netclear::profiles::{read_day, resample, source_text, Unit};

#[test]
fn reads_a_day_from_the_shipped_households_and_conserves_energy_when_resampling() {
    let (label, text) = source_text("builtin:households").unwrap();
    let d = read_day(&label, &text, Some("2016-06-15"), &[]).unwrap();
    assert_eq!(d.step_minutes, 15);
    assert_eq!(d.len(), 96);
    assert_eq!(d.series.len(), 5);
    assert!(d.series.iter().all(|s| s.unit == Unit::Kw));
    for step in [5, 15, 60] {
        let r = d.resampled(step).unwrap();
        assert_eq!(r.len(), 1440 / step as usize);
        for (a, b) in d.series.iter().zip(&r.series) {
            let ea: f64 = a.values.iter().sum::<f64>() * 0.25;
            let eb: f64 = b.values.iter().sum::<f64>() * step as f64 / 60.0;
            assert!(
                (ea - eb).abs() < 1e-9,
                "{}: {ea} vs {eb} kWh at {step} min",
                a.name
            );
        }
    }
}

#[test]
fn five_minute_prices_and_typical_days() {
    let (label, text) = source_text("builtin:aemo").unwrap();
    let d = read_day(&label, &text, Some("2020-01-02"), &["nsw1_rrp_aud_per_mwh"]).unwrap();
    assert_eq!((d.step_minutes, d.len()), (5, 288));
    let s = d.get("nsw1_rrp_aud_per_mwh").unwrap();
    assert_eq!(s.unit, Unit::PerMwh);
    // The published daily mean for NSW1 on 2 Jan 2020 is 57.8 AUD/MWh.
    let mean = s.values.iter().sum::<f64>() / 288.0;
    assert!((mean - 57.8).abs() < 0.05, "{mean}");
    assert!((s.per_kwh()[0] - s.values[0] / 1000.0).abs() < 1e-15);
    let h = d.resampled(60).unwrap();
    assert_eq!(h.len(), 24);
    let (label, text) = source_text("builtin:paper2024").unwrap();
    let p = read_day(&label, &text, None, &[]).unwrap();
    assert_eq!(
        (p.date.as_str(), p.step_minutes, p.len()),
        ("typical", 60, 24)
    );
}

#[test]
fn resample_rules() {
    assert_eq!(
        resample(&[1.0, 3.0, 2.0, 2.0], 15, 30).unwrap(),
        vec![2.0, 2.0]
    );
    assert_eq!(
        resample(&[1.0, 2.0], 60, 20).unwrap(),
        vec![1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    );
    assert!(resample(&[1.0, 2.0, 3.0], 15, 60).is_err());
    assert!(resample(&[1.0], 15, 40).is_err());
}

fn err(text: &str, date: Option<&str>) -> String {
    read_day("bad.csv", text, date, &[])
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_files_are_clear_errors() {
    let day = |f: &dyn Fn(usize) -> String| {
        let mut s = String::from("timestamp,a_kw\n");
        for h in 0..24 {
            s += &f(h);
        }
        s
    };
    let ok = day(&|h| format!("2020-01-01T{h:02}:00:00,1.0\n"));
    assert!(read_day("ok.csv", &ok, Some("2020-01-01"), &[]).is_ok());
    // unknown unit
    let e = err(&ok.replace("a_kw", "a_kwatts"), Some("2020-01-01"));
    assert!(
        e.contains("bad.csv") && e.contains("a_kwatts") && e.contains("unknown unit"),
        "{e}"
    );
    // gap
    let e = err(
        &ok.replace("2020-01-01T05:00:00,1.0\n", ""),
        Some("2020-01-01"),
    );
    assert!(e.contains("row 7") && e.contains("gap"), "{e}");
    // non-monotonic
    let e = err(&ok.replace("T03:00", "T01:00"), Some("2020-01-01"));
    assert!(e.contains("row 5") && e.contains("not increasing"), "{e}");
    // NaN
    let e = err(
        &ok.replace("T04:00:00,1.0", "T04:00:00,NaN"),
        Some("2020-01-01"),
    );
    assert!(
        e.contains("row 6") && e.contains("a_kw") && e.contains("not finite"),
        "{e}"
    );
    // wrong length (incomplete day)
    let short: String = ok.lines().take(20).map(|l| format!("{l}\n")).collect();
    let e = err(&short, Some("2020-01-01"));
    assert!(e.contains("needs 24"), "{e}");
    // day not in file
    let e = err(&ok, Some("2021-05-05"));
    assert!(e.contains("no rows"), "{e}");
    // unparsable time
    let e = err(
        &ok.replace("2020-01-01T07:00:00", "yesterday"),
        Some("2020-01-01"),
    );
    assert!(e.contains("row 9") && e.contains("yesterday"), "{e}");
    // first column
    let e = err(&ok.replace("timestamp", "when"), Some("2020-01-01"));
    assert!(e.contains("timestamp"), "{e}");
}

#[test]
fn dst_change_days_are_read_in_local_time_and_incomplete_days_refused() {
    let (label, text) = source_text("builtin:households").unwrap();
    // 2016-03-27: clocks go from 02:00 to 03:00 (CET → CEST): 23 hours, 92 quarter-hours.
    let d = read_day(&label, &text, Some("2016-03-27"), &[]).unwrap();
    assert_eq!(d.len(), 92);
    assert!(d.clocks_change());
    assert!(!d.local_minutes.iter().any(|m| (120..180).contains(m)));
    assert_eq!(
        (d.label(7), d.label(8)),
        ("01:45+01:00".into(), "03:00+02:00".into())
    );
    // Its energy is the file's rows' (and resampling keeps it).
    let h = d.resampled(60).unwrap();
    assert_eq!(h.len(), 23);
    for (a, b) in d.series.iter().zip(&h.series) {
        let (ea, eb) = (
            a.values.iter().sum::<f64>() * 0.25,
            b.values.iter().sum::<f64>(),
        );
        assert!((ea - eb).abs() < 1e-9);
    }
    // 2016-10-30: 25 hours, the repeated hour told apart by its offset.
    let d = read_day(&label, &text, Some("2016-10-30"), &[]).unwrap();
    assert_eq!(d.len(), 100);
    assert_eq!(
        (d.label(8), d.label(12)),
        ("02:00+02:00".into(), "02:00+01:00".into())
    );
    // A row missing inside the file is a gap; a file that stops mid-day an incomplete day.
    let cut: String = text
        .lines()
        .filter(|l| !l.starts_with("2016-06-15T12:00"))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = netclear::profiles::SeriesFile::parse(&label, &cut)
        .unwrap_err()
        .to_string();
    assert!(e.contains("gap"), "{e}");
    let head: String = text.lines().take(50).map(|l| format!("{l}\n")).collect();
    let e = read_day(&label, &head, Some("2016-01-01"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("49 rows") && e.contains("incomplete"), "{e}");
    // Offsets make the DST switch regular on UTC instants: the file as a whole is valid.
    assert!(read_day(&label, &text, Some("2016-03-28"), &[]).is_ok());
}

/// The day reader's fast path for built-in files (only the day's lines are parsed) against the
/// whole-file parse, the independent source: every local date of every built-in `timestamp`
/// file, all columns and one column, must give the same day (or the same error).
#[test]
fn builtin_days_match_the_whole_file() {
    use netclear::profiles::{cached, day_of, BUILTIN};
    let mut checked = 0;
    for (name, _, text) in BUILTIN {
        let spec = format!("builtin:{name}");
        let whole = cached(&spec).unwrap();
        let mut dates: Vec<&str> = text.lines().skip(1).filter_map(|l| l.get(..10)).collect();
        dates.dedup();
        if text.starts_with("time_of_day") {
            assert_eq!(
                day_of(&spec, None, &[]).unwrap(),
                whole.day(None, &[]).unwrap()
            );
            continue;
        }
        let first_col = text.lines().next().unwrap().split(',').nth(1).unwrap();
        let first_col = if first_col == "interval_end" {
            text.lines().next().unwrap().split(',').nth(2).unwrap()
        } else {
            first_col
        };
        for d in &dates {
            for cols in [&[][..], &[first_col][..]] {
                let fast = day_of(&spec, Some(d), cols).map_err(|e| e.to_string());
                let full = whole.day(Some(d), cols).map_err(|e| e.to_string());
                assert_eq!(fast, full, "{spec} {d} {cols:?}");
            }
            checked += 1;
        }
        // Dates the file does not hold and malformed dates fail as the whole file fails.
        for d in ["1999-01-01", "2016-13-01", "nonsense"] {
            assert_eq!(
                day_of(&spec, Some(d), &[]).map_err(|e| e.to_string()),
                whole.day(Some(d), &[]).map_err(|e| e.to_string())
            );
        }
    }
    // 366 days of 2016 in households and pv, the TMY3 year (365 days), a week of commercial,
    // one day of AEMO prices.
    assert_eq!(checked, 366 + 366 + 365 + 7 + 1);
}

/// The stochastic household model: every village80 home its own curve (≥ 30 distinct shapes),
/// each unit's energy `scale × base-day energy` recomputed here from the file, the same
/// community for the same seed and another for another seed.
#[test]
fn stochastic_households_are_distinct_conserve_energy_and_follow_the_seed() {
    use netclear::scenario::community::{build, LoadClass};
    use netclear::scenario::household_model::{HouseholdModel, ANNUAL_KWH_MEAN};
    use netclear::scenario::Scenario;
    let mut s = Scenario {
        network: "village80".into(),
        step_minutes: 15,
        ..Scenario::default()
    };
    s.profiles.household_model = HouseholdModel::Stochastic;
    let c = build(&s).unwrap();
    let homes: Vec<_> = c
        .prosumers
        .iter()
        .filter(|p| p.class == LoadClass::Residential)
        .collect();
    assert!(homes.len() >= 30, "{} homes", homes.len());
    // Distinct shapes (curves divided by their energy), not only distinct scales.
    let shape = |v: &[f64]| -> Vec<f64> {
        let e: f64 = v.iter().sum();
        v.iter().map(|x| x / e).collect()
    };
    let shapes: Vec<Vec<f64>> = homes.iter().map(|p| shape(&p.load_kw)).collect();
    let mut distinct: Vec<&Vec<f64>> = Vec::new();
    for sh in &shapes {
        if !distinct
            .iter()
            .any(|d| d.iter().zip(sh).all(|(a, b)| (a - b).abs() < 1e-12))
        {
            distinct.push(sh);
        }
    }
    assert!(distinct.len() >= 30, "{} distinct shapes", distinct.len());
    // Conservation, against the file read independently.
    let (l, t) = netclear::profiles::source_text("builtin:households").unwrap();
    let mut annual = Vec::new();
    for p in &homes {
        assert_eq!(p.draws.len() as u32, p.households);
        let e_kwh: f64 = p.load_kw.iter().sum::<f64>() * 0.25;
        let drawn: f64 = p.draws.iter().map(|d| d.day_kwh).sum();
        assert!((e_kwh - drawn).abs() < 1e-9 * e_kwh.max(1.0), "{}", p.name);
        for d in &p.draws {
            let day = netclear::profiles::read_day(&l, &t, Some(&d.date), &[&d.column]).unwrap();
            let base: f64 = day.series[0].values.iter().sum::<f64>() * 0.25;
            assert!((d.base_day_kwh - base).abs() < 1e-9, "{d:?}");
            assert!((d.day_kwh - d.scale * base).abs() < 1e-9, "{d:?}");
            assert!(d.shift_minutes.abs() <= 60 && d.shift_minutes % 15 == 0);
            // Same weekday type (2016-06-15 is a Wednesday), within a week.
            let wd = netclear::profiles::weekday(&d.date).unwrap();
            assert!(wd < 5, "{}", d.date);
            assert!(("2016-06-08".."2016-06-23").contains(&d.date.as_str()));
            annual.push(d.annual_kwh);
        }
    }
    // The draws spread as the fitted lognormal (mean 2,783 kWh/a): the sample mean within
    // 3 standard errors (CV 0.335).
    let n = annual.len() as f64;
    let mean = annual.iter().sum::<f64>() / n;
    assert!(
        (mean - ANNUAL_KWH_MEAN).abs() < 3.0 * 0.335 * ANNUAL_KWH_MEAN / n.sqrt(),
        "mean {mean} of {n}"
    );
    // Deterministic with the seed; another seed, another community.
    let again = build(&s).unwrap();
    for (a, b) in c.prosumers.iter().zip(&again.prosumers) {
        assert_eq!(a.load_kw, b.load_kw);
        assert_eq!(a.draws, b.draws);
    }
    let other = build(&Scenario {
        seed: s.seed + 1,
        ..s.clone()
    })
    .unwrap();
    assert!(c
        .prosumers
        .iter()
        .zip(&other.prosumers)
        .any(|(a, b)| a.load_kw != b.load_kw));
    // The measured model is unchanged: no draws, the file's curves.
    let measured = build(&Scenario {
        profiles: netclear::scenario::Profiles::default(),
        ..s.clone()
    })
    .unwrap();
    assert!(measured.prosumers.iter().all(|p| p.draws.is_empty()));
}

/// The shipped TMY3 PV (a typical year, 1990) serves any study date by its month and day, and a
/// PV column mix gives each PV prosumer one of the columns, drawn by the seed.
#[test]
fn tmy3_pv_by_day_of_year_and_a_pv_column_mix() {
    use netclear::scenario::community::build;
    use netclear::scenario::Scenario;
    let mut s = Scenario {
        network: "village80".into(),
        step_minutes: 60,
        pv_share_percent: 100.0,
        ..Scenario::default()
    };
    s.profiles.pv = "builtin:pv_tmy3".into();
    s.profiles.pv_column = "pv_kw_per_kwp".into();
    let c = build(&s).unwrap();
    let (l, t) = source_text("builtin:pv_tmy3").unwrap();
    let tmy = read_day(&l, &t, Some("1990-06-15"), &["pv_kw_per_kwp"]).unwrap();
    assert_eq!(tmy.len(), 24);
    let day_kwh_per_kwp: f64 = tmy.series[0].values.iter().sum();
    assert!(day_kwh_per_kwp > 1.0, "{day_kwh_per_kwp}");
    for p in &c.prosumers {
        assert!(p.pv_kwp > 0.0);
        for (a, b) in p.pv_kw.iter().zip(&tmy.series[0].values) {
            assert!((a - p.pv_kwp * b).abs() < 1e-12);
        }
    }
    // 2016-02-29 has no match in the 1990 TMY: 28 February stands in.
    let feb = build(&Scenario {
        day: "2016-02-29".into(),
        ..s.clone()
    })
    .unwrap();
    let tmy = read_day(&l, &t, Some("1990-02-28"), &["pv_kw_per_kwp"]).unwrap();
    assert_eq!(
        feb.prosumers[0].pv_kw,
        tmy.series[0]
            .values
            .iter()
            .map(|v| v * feb.prosumers[0].pv_kwp)
            .collect::<Vec<_>>()
    );
    // A mix of the four SimBench orientations: every column used, each prosumer's PV its own.
    let cols = [
        "pv1_kw_per_kwp",
        "pv3_kw_per_kwp",
        "pv5_kw_per_kwp",
        "pv8_kw_per_kwp",
    ];
    let mut m = Scenario {
        network: "village80".into(),
        step_minutes: 15,
        pv_share_percent: 100.0,
        ..Scenario::default()
    };
    m.profiles.pv_columns = cols.iter().map(|c| c.to_string()).collect();
    let c = build(&m).unwrap();
    let (l, t) = source_text("builtin:pv").unwrap();
    let pv = read_day(&l, &t, Some("2016-06-15"), &cols).unwrap();
    let mut used = [0usize; 4];
    for p in &c.prosumers {
        let k = cols
            .iter()
            .position(|col| p.profile.ends_with(col))
            .expect("the profile names the PV column");
        used[k] += 1;
        for (a, b) in p.pv_kw.iter().zip(&pv.series[k].values) {
            assert!((a - p.pv_kwp * b).abs() < 1e-12);
        }
    }
    assert!(used.iter().all(|&n| n > 0), "{used:?}");
    assert_eq!(
        build(&m).unwrap().prosumers[3].profile,
        c.prosumers[3].profile
    );
}
