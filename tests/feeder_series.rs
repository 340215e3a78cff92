//! A pandapower JSON that carries its own series (SimBench `profiles`, kept by `pp.to_json`)
//! drives the feeder's loads and static generators with them: checked against SimBench's own
//! absolute values (`simbench.get_absolute_values`, written by `tools/make_format_fixtures.py
//! --step profiles` into `tests/data/formats/simbench_profiles/`).

use netclear::scenario::{community, Scenario};
use std::collections::BTreeMap;
use std::process::Command;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/formats/simbench_profiles"
);

fn net_json() -> String {
    format!("{DIR}/net.json")
}

/// SimBench's absolute values of 2016-06-14, kW per (kind, element name), 96 quarter-hours.
fn expected() -> BTreeMap<(String, String), Vec<f64>> {
    let text = std::fs::read_to_string(format!("{DIR}/expected_2016-06-14_kw.csv")).unwrap();
    let mut out: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let v = out.entry((f[0].into(), f[1].into())).or_default();
        assert_eq!(
            v.len() * 15,
            f[2].parse::<usize>().unwrap(),
            "oracle rows in order"
        );
        v.push(f[3].parse().unwrap());
    }
    out
}

fn scenario(step: u32) -> Scenario {
    Scenario {
        network: net_json(),
        day: "2016-06-14".into(),
        step_minutes: step,
        ..Scenario::default()
    }
}

#[test]
fn the_feeders_own_series_drive_its_loads_and_pv_as_simbench_computes_them() {
    let want = expected();
    let c = community::build(&scenario(15)).unwrap();
    let mut checked = 0;
    for p in &c.prosumers {
        let Some(w) = want.get(&("load".to_string(), p.name.clone())) else {
            continue;
        };
        assert!(
            p.profile.starts_with("series "),
            "{}: {}",
            p.name,
            p.profile
        );
        assert_eq!(p.load_kw.len(), 96);
        for (t, (a, b)) in p.load_kw.iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "{} step {t}: {a} vs SimBench {b}",
                p.name
            );
        }
        checked += 1;
    }
    let n_loads = want.keys().filter(|(k, _)| k == "load").count();
    assert_eq!(
        checked, n_loads,
        "every SimBench load is a prosumer with its series"
    );
    // The generators are the PV (behind the meter at their bus): the community's PV each step
    // is SimBench's generation.
    for t in 0..96 {
        let ours: f64 = c.prosumers.iter().map(|p| p.pv_kw[t]).sum();
        let theirs: f64 = want
            .iter()
            .filter(|((k, _), _)| k == "sgen")
            .map(|(_, v)| v[t])
            .sum();
        assert!(
            (ours - theirs).abs() < 1e-9,
            "step {t}: PV {ours} vs {theirs}"
        );
    }
    let pv_total: f64 = c.prosumers.iter().flat_map(|p| &p.pv_kw).sum();
    assert!(pv_total > 1.0, "a June day has sun: {pv_total}");

    // Hourly steps hold the quarter-hours' energy (the mean of four).
    let h = community::build(&scenario(60)).unwrap();
    for (p, q) in h.prosumers.iter().zip(&c.prosumers) {
        for t in 0..24 {
            let mean = q.load_kw[4 * t..4 * t + 4].iter().sum::<f64>() / 4.0;
            assert!((p.load_kw[t] - mean).abs() < 1e-9, "{} hour {t}", p.name);
        }
    }
}

#[test]
fn the_series_can_be_ignored_and_other_days_are_refused_with_their_span() {
    let mut s = scenario(60);
    s.profiles.feeder_series = false;
    let c = community::build(&s).unwrap();
    assert!(c
        .prosumers
        .iter()
        .all(|p| !p.profile.starts_with("series ")));

    let mut s = scenario(60);
    s.day = "2016-07-01".into();
    let e = community::build(&s).unwrap_err().to_string();
    assert!(e.contains("profiles.load"), "{e}");
    assert!(e.contains("2016-06-14 to 2016-06-15"), "{e}");

    // The flag through the binary.
    let t = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            &net_json(),
            "--day",
            "2016-07-01",
            "--no-out",
        ])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            &net_json(),
            "--day",
            "2016-07-01",
            "--no-out",
        ])
        .arg("--ignore-feeder-series")
        .current_dir(t.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_profile_the_file_does_not_have_is_an_error_naming_the_load() {
    let text = std::fs::read_to_string(net_json()).unwrap();
    // Load profiles are named in the load table as `"L2-A"`; the profile columns as
    // `"L2-A_pload"`, which this replacement leaves alone.
    assert!(text.contains(r#"\"L2-A\""#));
    let bad = text.replace(r#"\"L2-A\""#, r#"\"L9-Z\""#);
    let e = netclear::network::pandapower::parse_json("bad.json", &bad, "bad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.json"), "{e}");
    assert!(e.contains("table `load`"), "{e}");
    assert!(e.contains("profile"), "{e}");
    assert!(e.contains("L9-Z_pload"), "{e}");
    // A multiplier that is not a number is named by table, row and column.
    let cell = r#"[\"14.06.2016 00:00\",0.053305,0.109551,"#;
    assert!(text.contains(cell));
    let bad = text.replace(cell, r#"[\"14.06.2016 00:00\",0.053305,null,"#);
    let e = netclear::network::pandapower::parse_json("bad.json", &bad, "bad")
        .unwrap_err()
        .to_string();
    assert!(e.contains("profiles.load"), "{e}");
    assert!(e.contains("H0-A_pload"), "{e}");
    assert!(e.contains("row 1"), "{e}");
}
