//! Time series per load and per generator (`--load-series`, `--pv-series`): wide and long files
//! at their own step, resampled energy-conserving, reach exactly the loads they name; bad files
//! are exit-2 errors naming file, row and column.

use netclear::scenario::{community, Scenario};
use std::path::Path;
use std::process::Command;

/// A 30-minute wide file for 2016-06-15 with loads 3 and 7 of village80: load 3 draws
/// `1 + (k mod 4)` kW in half-hour `k`, load 7 a constant 0.5 kW.
fn wide(dir: &Path, unit: &str, scale: f64) -> String {
    let mut s = format!("timestamp,3_{unit},7_{unit}\n");
    for k in 0..48 {
        let (h, m) = (k / 2, 30 * (k % 2));
        s += &format!(
            "2016-06-15T{h:02}:{m:02}:00+02:00,{},{}\n",
            (1.0 + (k % 4) as f64) * scale,
            0.5 * scale
        );
    }
    let p = dir.join(format!("loads_{unit}.csv"));
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

fn long(dir: &Path) -> String {
    let mut s = String::from("timestamp,name,p_kw\n");
    for name in ["7", "3"] {
        for k in 0..48 {
            let (h, m) = (k / 2, 30 * (k % 2));
            let v = if name == "3" {
                1.0 + (k % 4) as f64
            } else {
                0.5
            };
            s += &format!("2016-06-15T{h:02}:{m:02}:00+02:00,{name},{v}\n");
        }
    }
    let p = dir.join("loads_long.csv");
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

fn scenario(load_series: Option<String>, pv_series: Option<String>, step: u32) -> Scenario {
    let mut s = Scenario {
        network: "village80".into(),
        step_minutes: step,
        ..Scenario::default()
    };
    s.profiles.load_series = load_series;
    s.profiles.pv_series = pv_series;
    s
}

#[test]
fn wide_and_long_files_reach_the_loads_they_name_at_any_step() {
    let t = tempfile::tempdir().unwrap();
    let plain = community::build(&scenario(None, None, 60)).unwrap();
    for file in [
        wide(t.path(), "kw", 1.0),
        wide(t.path(), "mw", 1e-3),
        long(t.path()),
    ] {
        // Hourly: the mean of each hour's two half-hours, by hand: hour h covers k = 2h, 2h+1,
        // so load 3 is (1 + 2h mod 4 + 1 + (2h+1) mod 4) / 2 = 1.5 or 3.5 kW.
        let c = community::build(&scenario(Some(file.clone()), None, 60)).unwrap();
        let p3 = c.prosumers.iter().find(|p| p.name == "load 3").unwrap();
        let p7 = c.prosumers.iter().find(|p| p.name == "load 7").unwrap();
        for h in 0..24 {
            let want = if h % 2 == 0 { 1.5 } else { 3.5 };
            assert!(
                (p3.load_kw[h] - want).abs() < 1e-12,
                "{file} h{h}: {}",
                p3.load_kw[h]
            );
            assert!((p7.load_kw[h] - 0.5).abs() < 1e-12);
        }
        // The day's energy at every step is the file's: 24 h × 2.5 kW mean = 60 kWh.
        for step in [5u32, 10, 15, 30, 60] {
            let c = community::build(&scenario(Some(file.clone()), None, step)).unwrap();
            let p3 = c.prosumers.iter().find(|p| p.name == "load 3").unwrap();
            let e: f64 = p3.load_kw.iter().sum::<f64>() * step as f64 / 60.0;
            assert!((e - 60.0).abs() < 1e-9, "{step}: {e}");
        }
        // Every other load keeps its drawn household curves (the same draws as without a file).
        for (p, q) in c.prosumers.iter().zip(&plain.prosumers) {
            if p.name != "load 3" && p.name != "load 7" {
                assert_eq!(p.load_kw, q.load_kw, "{}", p.name);
            }
        }
    }
}

#[test]
fn generator_series_are_the_pv_at_their_buses() {
    let t = tempfile::tempdir().unwrap();
    // Static generators 0 (bus 16, 29.8 kW rated) and 1 (bus 18): a 15-minute triangle at noon.
    let mut s = String::from("timestamp,0_kw,1_kw\n");
    for q in 0..96 {
        let v = (8.0 - ((q as f64) - 48.0).abs()).max(0.0);
        s += &format!(
            "2016-06-15T{:02}:{:02},{v},{}\n",
            q / 4,
            15 * (q % 4),
            2.0 * v
        );
    }
    let f = t.path().join("pv.csv");
    std::fs::write(&f, s).unwrap();
    let c = community::build(&scenario(None, Some(f.display().to_string()), 60)).unwrap();
    let with_pv: Vec<_> = c.prosumers.iter().filter(|p| p.pv_kwp > 0.0).collect();
    assert_eq!(with_pv.len(), 2, "only the generators' buses have PV");
    let g0 = with_pv.iter().find(|p| p.bus.0 == 16).unwrap();
    assert!((g0.pv_kwp - 29.8).abs() < 1e-9);
    // Σ of the triangle: 8² quarter-hours·kW = 64 → 16 kWh; generator 1 twice that.
    let e = |p: &netclear::scenario::community::Prosumer| p.pv_kw.iter().sum::<f64>();
    assert!((e(g0) - 16.0).abs() < 1e-9, "{}", e(g0));
    let g1 = with_pv.iter().find(|p| p.bus.0 == 18).unwrap();
    assert!((e(g1) - 32.0).abs() < 1e-9);
}

fn netclear(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn bad_series_files_are_exit_2_errors_naming_file_row_and_column() {
    let t = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(wide(t.path(), "kw", 1.0)).unwrap();
    let long_good = std::fs::read_to_string(long(t.path())).unwrap();
    let nth_line = |s: &str, n: usize, f: &dyn Fn(&str) -> String| -> String {
        s.lines()
            .enumerate()
            .map(|(i, l)| if i == n { f(l) } else { l.to_string() } + "\n")
            .collect()
    };
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "nomatch",
            good.replacen("7_kw", "Load 99_kw", 1),
            vec!["row 1", "Load 99_kw", "matches no load"],
        ),
        (
            "nan",
            nth_line(&good, 5, &|l| l.replacen(",0.5", ",NaN", 1)),
            vec!["row 6", "7_kw"],
        ),
        (
            "negative",
            nth_line(&good, 9, &|l| l.replacen(",0.5", ",-0.5", 1)),
            vec!["row 10", "7_kw", "negative"],
        ),
        (
            "gap",
            nth_line(&good, 12, &|_| String::new()).replace("\n\n", "\n"),
            vec!["row 13", "gap"],
        ),
        (
            "unit",
            good.replacen("3_kw", "3_kwh", 1),
            vec!["row 1", "3_kwh"],
        ),
        (
            "long_gap",
            long_good
                .lines()
                .filter(|l| !l.starts_with("2016-06-15T05:00:00+02:00,3"))
                .map(|l| format!("{l}\n"))
                .collect(),
            vec!["`3` has no value at 2016-06-15T05:00"],
        ),
        (
            "long_negative",
            nth_line(&long_good, 3, &|l| l.replacen(",0.5", ",-1", 1)),
            vec!["row 4", "p_kw", "negative"],
        ),
    ];
    for (name, text, needles) in cases {
        let f = t.path().join(format!("{name}.csv"));
        std::fs::write(&f, text).unwrap();
        let (code, err) = netclear(&[
            "run",
            "--network",
            "village80",
            "--no-out",
            "--quiet",
            "--load-series",
            f.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains(f.to_str().unwrap()), "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: `{n}` not in {err}");
        }
    }
}
