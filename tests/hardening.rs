//! Issue 11: never lose a file, never panic, never accept nonsense. One test per class of the
//! issue (data loss, panics, unbounded memory, nonsense accepted, unclear refusals, the ledger),
//! each against the real binary or the library entry point the binary uses. Every one of them
//! failed before the fix it names.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs netclear in `dir`; returns (exit code, stdout, stderr).
fn nc(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(r: &(i32, String, String), needle: &str) {
    assert_eq!(r.0, 2, "expected exit 2, got {}: {}{}", r.0, r.1, r.2);
    assert!(
        r.2.contains(needle),
        "message does not say `{needle}`: {}",
        r.2
    );
}

/// A quick run folder (no network correction, no AC).
fn quick_run(dir: &Path, out: &str, extra: &[&str]) {
    let mut args = vec![
        "run",
        "--network",
        "rural_1",
        "--pv-share",
        "50",
        "--network-model",
        "none",
        "--no-ac-check",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let r = nc(dir, &args);
    assert_eq!(r.0, 0, "{}", r.2);
}

// ---------------------------------------------------------------------------------------------
// Data loss

#[test]
fn data_loss_generate_into_the_working_directory_deletes_nothing() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("keep.txt"), "mine").unwrap();
    for out in [".", "..", "./"] {
        let r = nc(
            t.path(),
            &["network", "generate", "--copies", "1", "--out", out],
        );
        assert_eq!(r.0, 2, "--out {out}: {}", r.2);
    }
    let r = nc(
        t.path(),
        &[
            "network", "generate", "--copies", "1", "--out", ".", "--force",
        ],
    );
    assert_eq!(r.0, 2);
    assert_eq!(
        fs::read_to_string(t.path().join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn data_loss_a_folder_netclear_did_not_write_is_never_replaced_and_own_results_need_force() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir(d.join("theirs")).unwrap();
    fs::write(d.join("theirs/thesis.tex"), "years of work").unwrap();
    for args in [
        vec![
            "network", "generate", "--copies", "1", "--out", "theirs", "--force",
        ],
        vec!["run", "--network", "rural_1", "--out", "theirs", "--force"],
        vec!["sweep", "--networks", "rural_1", "--out", "theirs"],
    ] {
        refused(&nc(d, &args), "did not write");
    }
    assert_eq!(
        fs::read_to_string(d.join("theirs/thesis.tex")).unwrap(),
        "years of work"
    );
    // Its own results: refused without --force, replaced with it.
    assert_eq!(
        nc(d, &["network", "generate", "--copies", "1", "--out", "g"]).0,
        0
    );
    refused(
        &nc(d, &["network", "generate", "--copies", "2", "--out", "g"]),
        "--force",
    );
    assert_eq!(
        nc(
            d,
            &["network", "generate", "--copies", "2", "--out", "g", "--force"]
        )
        .0,
        0
    );
    assert!(fs::read_to_string(d.join("g/network.toml"))
        .unwrap()
        .contains("x2"));
    // No staging or old folders left beside it.
    let leftovers: Vec<String> = fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn data_loss_output_overlapping_an_input_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    fs::create_dir(d.join("in")).unwrap();
    assert_eq!(
        nc(
            d,
            &["network", "generate", "--copies", "1", "--out", "in/feeder"]
        )
        .0,
        0
    );
    let before = fs::read_to_string(d.join("in/feeder/lines.csv")).unwrap();
    for out in ["in/feeder", "in/feeder/results", "in"] {
        refused(
            &nc(
                d,
                &["run", "--network", "in/feeder", "--out", out, "--force"],
            ),
            "overlaps the input",
        );
    }
    // The generator's base feeder is an input too.
    refused(
        &nc(
            d,
            &[
                "network",
                "generate",
                "--base",
                "in/feeder",
                "--copies",
                "2",
                "--out",
                "in/feeder",
                "--force",
            ],
        ),
        "overlaps the input",
    );
    // A time series per load is an input.
    fs::write(d.join("series.csv"), "timestamp,x_kw\n").unwrap();
    refused(
        &nc(
            d,
            &["run", "--load-series", "series.csv", "--out", "series.csv"],
        ),
        "overlaps the input",
    );
    assert_eq!(
        fs::read_to_string(d.join("series.csv")).unwrap(),
        "timestamp,x_kw\n"
    );
    // A scenario file is an input.
    fs::write(d.join("s.toml"), "seed = 1\n").unwrap();
    refused(
        &nc(d, &["run", "--scenario", "s.toml", "--out", "s.toml"]),
        "overlaps the input",
    );
    assert_eq!(
        fs::read_to_string(d.join("in/feeder/lines.csv")).unwrap(),
        before
    );
    assert_eq!(fs::read_to_string(d.join("s.toml")).unwrap(), "seed = 1\n");
}

#[test]
fn data_loss_single_output_files_never_replace_links_devices_or_foreign_files() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    quick_run(d, "r", &[]);
    fs::write(d.join("precious.txt"), "keep").unwrap();
    std::os::unix::fs::symlink(d.join("precious.txt"), d.join("link.html")).unwrap();
    for out in ["/dev/null", "link.html", "precious.txt", "r"] {
        let r = nc(d, &["report", "r", "--out", out]);
        assert_eq!(r.0, 2, "report --out {out}: {}", r.2);
    }
    assert_eq!(fs::read_to_string(d.join("precious.txt")).unwrap(), "keep");
    assert!(fs::symlink_metadata(d.join("link.html"))
        .unwrap()
        .file_type()
        .is_symlink());
    // Its own report is replaced, with --force (issue 16: --force wherever a file is replaced).
    assert_eq!(nc(d, &["report", "r"]).0, 0);
    refused(&nc(d, &["report", "r"]), "--force");
    assert_eq!(nc(d, &["report", "r", "--force"]).0, 0);
    // merge: a foreign file or a device is not replaced.
    assert_eq!(
        nc(
            d,
            &[
                "sweep",
                "--networks",
                "rural_1",
                "--network-models",
                "none",
                "--days",
                "2016-06-15",
                "--out",
                "sw",
                "--quiet"
            ]
        )
        .0,
        0
    );
    for out in ["precious.txt", "/dev/null", "sw/rows/0.csv", "sw/grid.json"] {
        let r = nc(d, &["merge", "sw", "--out", out]);
        assert_eq!(r.0, 2, "merge --out {out}: {}", r.2);
    }
    assert_eq!(fs::read_to_string(d.join("precious.txt")).unwrap(), "keep");
    // Even --force never replaces a file netclear did not write.
    let r = nc(d, &["merge", "sw", "--out", "precious.txt", "--force"]);
    assert_eq!(r.0, 2, "{}", r.2);
    assert_eq!(fs::read_to_string(d.join("precious.txt")).unwrap(), "keep");
    assert_eq!(nc(d, &["merge", "sw", "--out", "merged.csv"]).0, 0);
    refused(&nc(d, &["merge", "sw", "--out", "merged.csv"]), "--force");
    assert_eq!(
        nc(d, &["merge", "sw", "--out", "merged.csv", "--force"]).0,
        0
    );
}

#[test]
fn data_loss_a_crash_between_the_renames_of_a_swap_is_recovered() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    quick_run(d, "r", &[]);
    let summary = fs::read_to_string(d.join("r/summary.json")).unwrap();
    // A swap killed after hiding the old results (PID beyond pid_max: dead), and a stale stage.
    fs::rename(d.join("r"), d.join(".r.old-999999999")).unwrap();
    fs::create_dir(d.join(".r.staging-999999998")).unwrap();
    fs::write(d.join(".r.staging-999999998/half.csv"), "x").unwrap();
    // The next run finds them, puts the results back, and refuses to replace them without --force.
    refused(
        &nc(d, &["run", "--network", "rural_1", "--out", "r"]),
        "--force",
    );
    assert_eq!(
        fs::read_to_string(d.join("r/summary.json")).unwrap(),
        summary
    );
    assert!(!d.join(".r.old-999999999").exists());
    assert!(!d.join(".r.staging-999999998").exists());
}

#[test]
fn data_loss_stage_swap_replaces_whole_folders_and_leaves_nothing_behind() {
    use netclear::util::atomic::Stage;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("res");
    let s = Stage::new(&dir, false).unwrap();
    s.write("a.csv", b"old").unwrap();
    s.commit().unwrap();
    assert!(Stage::new(&dir, false).is_err(), "replacing needs force");
    let s = Stage::new(&dir, true).unwrap();
    s.write("b.csv", b"new").unwrap();
    s.commit().unwrap();
    assert!(
        !dir.join("a.csv").exists(),
        "the old folder is gone, not merged"
    );
    assert_eq!(fs::read(dir.join("b.csv")).unwrap(), b"new");
    let names: Vec<PathBuf> = fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(names, vec![dir.clone()]);
    // A stage dropped without commit leaves the old results alone.
    let s = Stage::new(&dir, true).unwrap();
    s.write("c.csv", b"never").unwrap();
    drop(s);
    assert!(dir.join("b.csv").exists() && !dir.join("c.csv").exists());
}

#[test]
fn data_loss_stage_syncs_every_file_it_publishes_in_batches() {
    use netclear::util::atomic::{Stage, Synced, MARKER, PENDING_MAX};
    use std::io::Write;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("res");
    let s = Stage::new(&dir, false).unwrap();
    s.write("a.csv", b"a").unwrap();
    let mut w = s.create("b.csv").unwrap();
    w.write_all(b"b").unwrap();
    s.finish_file("b.csv", w).unwrap();
    // Written behind the stage's back: found by listing the staging folder.
    fs::write(s.path("c.csv"), b"c").unwrap();
    // Counted by hand: the marker, a and b through their handles, c found; one batch.
    let want = Synced {
        kept: 3,
        found: 1,
        batches: 1,
    };
    assert_eq!(s.sync_files().unwrap(), want);
    s.commit().unwrap();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [MARKER, "a.csv", "b.csv", "c.csv"]);
    assert_eq!(fs::read(dir.join("c.csv")).unwrap(), b"c");

    // More files than handles kept open: synced in ceil(n / PENDING_MAX) batches, none found.
    let n = 2 * PENDING_MAX + 5;
    let s = Stage::new(&dir, true).unwrap();
    for i in 1..n {
        s.write(&format!("f{i}.csv"), i.to_string().as_bytes())
            .unwrap();
    }
    let want = Synced {
        kept: n,
        found: 0,
        batches: n.div_ceil(PENDING_MAX),
    };
    assert_eq!(s.sync_files().unwrap(), want);
    s.commit().unwrap();
    assert_eq!(fs::read_dir(&dir).unwrap().count(), n);
    assert_eq!(fs::read(dir.join("f77.csv")).unwrap(), b"77");
}

#[test]
fn data_loss_a_stage_that_cannot_be_synced_leaves_the_old_results() {
    use netclear::util::atomic::Stage;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("res");
    let s = Stage::new(&dir, false).unwrap();
    s.write("a.csv", b"old").unwrap();
    s.commit().unwrap();
    // Something that is not a regular file in the stage: the commit refuses to publish it.
    let s = Stage::new(&dir, true).unwrap();
    s.write("b.csv", b"new").unwrap();
    fs::create_dir(s.path("sub")).unwrap();
    let e = s.commit().unwrap_err().to_string();
    assert!(e.contains("not publish"), "{e}");
    assert_eq!(fs::read(dir.join("a.csv")).unwrap(), b"old");
    assert!(!dir.join("b.csv").exists());
    let names: Vec<PathBuf> = fs::read_dir(t.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(names, vec![dir.clone()], "the stage is removed");
}

// ---------------------------------------------------------------------------------------------
// Panics

#[test]
fn panics_header_only_profiles_and_multibyte_offsets_are_errors() {
    use netclear::profiles::SeriesFile;
    for text in [
        "timestamp,house_kw\n",
        "time_of_day,house_kw\n",
        "timestamp\n",
        "timestamp,house_kw\n2016-01-01T00:00+0€:00,1\n",
        "timestamp,house_kw\n2016-01-01T00:00:€0,1\n",
        "timestamp,house_kw\n2016-01-01T00:00€,1\n",
        "timestamp,house_kw\n2016-01-01T0€:00,1\n",
        "time_of_day,house_kw\n0€:00,1\n",
        "time_of_day,house_kw\n€,1\n",
    ] {
        assert!(SeriesFile::parse("p.csv", text).is_err(), "{text:?}");
    }
    // End to end: exit 2, not 101.
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("h.csv"), "timestamp,house_kw\n").unwrap();
    fs::write(
        t.path().join("s.toml"),
        "[profiles]\nhouseholds = \"h.csv\"\n",
    )
    .unwrap();
    let r = nc(t.path(), &["run", "--scenario", "s.toml", "--no-out"]);
    refused(&r, "h.csv");
}

// ---------------------------------------------------------------------------------------------
// Unbounded memory from tiny inputs

#[test]
fn memory_absurd_sizes_are_refused_before_allocation() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    refused(
        &nc(
            d,
            &[
                "network",
                "generate",
                "--copies",
                "99999999999",
                "--out",
                "g",
            ],
        ),
        "limit",
    );
    refused(
        &nc(d, &["run", "--network", "village80x99999999", "--no-out"]),
        "limit",
    );
    // A household peak of 1e-6 kW would make billions of households.
    refused(
        &nc(
            d,
            &["run", "--network", "cigre44", "--no-out", "--no-ac-check"],
        )
        .0
        .eq(&0)
        .then_some(())
        .map_or_else(
            || panic!("the plain run must work"),
            |_| {
                fs::write(d.join("s.toml"), "household_peak_kw = 1e-6\n").unwrap();
                nc(
                    d,
                    &[
                        "run",
                        "--network",
                        "cigre44",
                        "--scenario",
                        "s.toml",
                        "--no-out",
                    ],
                )
            },
        ),
        "limit",
    );
    // A load of 1e12 MW would be 2e14 households of 5.1 kW.
    assert_eq!(
        nc(
            d,
            &["network", "generate", "--base", "cigre44", "--copies", "1", "--out", "big"]
        )
        .0,
        0
    );
    let loads = fs::read_to_string(d.join("big/loads.csv")).unwrap();
    let mut rows: Vec<String> = loads.lines().map(str::to_string).collect();
    let col = rows[0].split(',').position(|c| c == "p_mw").unwrap();
    let mut cells: Vec<String> = rows[1].split(',').map(str::to_string).collect();
    cells[col] = "1e12".into();
    rows[1] = cells.join(",");
    fs::write(d.join("big/loads.csv"), rows.join("\n") + "\n").unwrap();
    refused(
        &nc(d, &["run", "--network", "big", "--no-out", "--no-ac-check"]),
        "households of load 0",
    );
    // An import column naming prosumer 99,999,999,999.
    let csv = "timestamp,P1,P99999999999\n00:00,1,1\n12:00,1,1\n";
    let e = netclear::import::from_bytes("i.csv", "csv", csv.as_bytes().to_vec()).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    // A sweep grid whose product is astronomical is refused without being materialised.
    let grid = netclear::sweep::Grid {
        seeds: (0..1000).collect(),
        pv_shares: (0..1000).map(f64::from).map(|x| x / 10.0).collect(),
        days: vec!["2016-06-15".into(); 1000],
        ..Default::default()
    };
    let s = netclear::sweep::Sweep {
        base: Default::default(),
        grid,
    };
    assert!(s.len().is_none());
    assert!(s.validate().unwrap_err().to_string().contains("limit"));
}

// ---------------------------------------------------------------------------------------------
// Nonsense accepted

#[test]
fn nonsense_impossible_days_and_bad_tariff_sub_tables_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    refused(&nc(d, &["run", "--day", "2016-02-30", "--no-out"]), "--day");
    for (toml, field) in [
        ("day = \"2015-02-29\"\n", "day"),
        (
            "[retailer]\nwholesale_day = \"2020-13-01\"\n",
            "retailer.wholesale_day",
        ),
        (
            "[retailer.time_of_use]\npeak_per_kwh = nan\n",
            "retailer.time_of_use.peak_per_kwh",
        ),
        (
            "[retailer.time_of_use]\npeak_hours = [17, 30]\n",
            "retailer.time_of_use.peak_hours",
        ),
        (
            "[retailer.wholesale_pass]\nmarkup_per_kwh = nan\n",
            "retailer.wholesale_pass.markup_per_kwh",
        ),
        (
            "[retailer.wholesale_pass]\nbeta_fit = inf\n",
            "retailer.wholesale_pass.beta_fit",
        ),
        (
            "[retailer]\ndaily_fixed_charge = 1e308\n",
            "retailer.daily_fixed_charge",
        ),
        (
            "[market]\nprice_cap_per_kwh = -0.1\n",
            "market.price_cap_per_kwh",
        ),
        (
            "[market]\nprice_cap_per_kwh = nan\n",
            "market.price_cap_per_kwh",
        ),
        ("pv_kwp_per_household = 1e300\n", "pv_kwp_per_household"),
        (
            "[storage.battery]\ne_kwh = 1e300\n",
            "storage.battery.e_kwh",
        ),
    ] {
        fs::write(d.join("s.toml"), toml).unwrap();
        let r = nc(d, &["run", "--scenario", "s.toml", "--no-out"]);
        refused(&r, &format!("field `{field}`"));
        assert!(r.2.contains("s.toml"), "{}", r.2);
    }
    for args in [
        vec!["sweep", "--battery-kwh", "-5", "--out", "sw"],
        vec!["sweep", "--price-caps", "-1", "--out", "sw"],
        vec!["sweep", "--price-caps", "NaN", "--out", "sw"],
        vec!["sweep", "--days", "2016-02-30", "--out", "sw"],
        vec!["sweep", "--seeds", "18446744073709551615", "--out", "sw"],
    ] {
        let r = nc(d, &args);
        assert_eq!(r.0, 2, "{args:?}: {}", r.2);
    }
    assert!(
        !d.join("sw").exists(),
        "nothing is written for a refused grid"
    );
}

#[test]
fn nonsense_imports_and_injections_are_refused() {
    use netclear::import::from_bytes;
    let day = |header: &str, row: &str| {
        let mut s = format!("{header}\n");
        for h in 0..24 {
            s += &format!("{h:02}:00,{row}\n");
        }
        s
    };
    for (csv, why) in [
        (day("time,P1,Load1", "-1,1"), ">= 0"),
        (day("time,P1,Load1", "1,-0.5"), ">= 0"),
        (day("time,P0,P1", "1,1"), "numbered 1"),
        (day("time,P1,P3", "1,1"), "prosumer 2"),
        (day("time,P1,Load1,load_1", "1,1,1"), "ambiguous load"),
    ] {
        let e = from_bytes("i.csv", "csv", csv.into_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{e}");
    }
    assert!(from_bytes("i.csv", "csv", day("time,P1,Load1", "1,1").into_bytes()).is_ok());
    // The library refuses them too, naming the file, row and field.
    let net = netclear::network::registry::resolve("cigre44").unwrap();
    let grid = netclear::network::electrical::Grid::from_network(&net).unwrap();
    let e = netclear::pf::parse_injections("inj.csv", "bus,p_mw,p_kw\n1,0.001,1\n", &grid, &net)
        .unwrap_err()
        .to_string();
    assert!(e.contains("inj.csv, row 1, field `p_kw`"), "{e}");
    let t = tempfile::tempdir().unwrap();
    for (inj, why) in [
        ("bus,p_mw,p_kw\n1,0.001,1\n", "both"),
        ("bus,p_kw,q_kvar,q_mvar\n1,1,1,0.001\n", "both"),
        ("bus,p_mw\n1,1e300\n", "10,000 MW"),
    ] {
        fs::write(t.path().join("inj.csv"), inj).unwrap();
        refused(
            &nc(
                t.path(),
                &["pf", "--network", "cigre44", "--injections", "inj.csv"],
            ),
            why,
        );
    }
}

#[test]
fn nonsense_an_ac_result_with_non_finite_values_is_never_converged() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    assert_eq!(
        nc(
            d,
            &["network", "generate", "--base", "cigre44", "--copies", "1", "--out", "g"]
        )
        .0,
        0
    );
    let lines = fs::read_to_string(d.join("g/lines.csv")).unwrap();
    let mut rows: Vec<String> = lines.lines().map(str::to_string).collect();
    let col = rows[0]
        .split(',')
        .position(|c| c == "r_ohm_per_km")
        .unwrap();
    let mut cells: Vec<String> = rows[1].split(',').map(str::to_string).collect();
    cells[col] = "1e308".into();
    rows[1] = cells.join(",");
    fs::write(d.join("g/lines.csv"), rows.join("\n") + "\n").unwrap();
    let r = nc(d, &["pf", "--network", "g", "--model", "ac", "--json"]);
    if r.0 == 0 {
        let v: serde_json::Value = serde_json::from_str(&r.1).unwrap();
        let finite = |x: &serde_json::Value| x.as_f64().is_some_and(f64::is_finite);
        let all_finite = v["buses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| finite(&b["vm_pu"]) && finite(&b["va_degree"]))
            && finite(&v["slack_p_mw"]);
        assert!(
            !v["converged"].as_bool().unwrap() || all_finite,
            "converged with non-finite values"
        );
    } else {
        assert_eq!(r.0, 2, "{}", r.2);
    }
}

#[test]
fn nonsense_merge_and_resume_refuse_garbage_rows_and_reports_refuse_corrupt_folders() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let sweep = [
        "sweep",
        "--networks",
        "rural_1",
        "--pv-shares",
        "10,50",
        "--network-models",
        "none",
        "--days",
        "2016-06-15",
        "--out",
        "sw",
        "--quiet",
    ];
    assert_eq!(nc(d, &sweep).0, 0);
    let good = fs::read_to_string(d.join("sw/rows/1.csv")).unwrap();
    let row0 = fs::read_to_string(d.join("sw/rows/0.csv")).unwrap();
    for (bad, why) in [
        ("garbage\n".to_string(), "fields"),
        (String::new(), "newline"),
        (good.trim_end().to_string(), "newline"),
        (format!("{good}{good}"), "more than one row"),
        (row0.clone(), "scenario 0"),
        (good.replacen(",ok,", ",fine,", 1), "status"),
    ] {
        fs::write(d.join("sw/rows/1.csv"), &bad).unwrap();
        refused(&nc(d, &["merge", "sw", "--out", "m.csv"]), why);
        refused(&nc(d, &sweep), "1.csv");
    }
    fs::write(d.join("sw/rows/1.csv"), &good).unwrap();
    fs::write(d.join("sw/rows/notes.txt"), "x").unwrap();
    refused(&nc(d, &["merge", "sw", "--out", "m.csv"]), "notes.txt");
    fs::remove_file(d.join("sw/rows/notes.txt")).unwrap();
    assert_eq!(nc(d, &["merge", "sw", "--out", "m.csv"]).0, 0);
    assert_eq!(
        fs::read_to_string(d.join("m.csv")).unwrap(),
        fs::read_to_string(d.join("sw/results.csv")).unwrap()
    );
    // Reports: a folder netclear did not write, a corrupt summary, a corrupt results.csv.
    fs::create_dir(d.join("fake")).unwrap();
    fs::write(d.join("fake/summary.json"), "{}").unwrap();
    refused(&nc(d, &["report", "fake"]), "marker");
    quick_run(d, "r", &[]);
    fs::write(
        d.join("r/summary.json"),
        "{\"scenario\": {\"day\": \"2016-02-30\"}}",
    )
    .unwrap();
    refused(&nc(d, &["report", "r"]), "summary.json");
    fs::write(d.join("sw/results.csv"), "scenario,network\n0,x\n").unwrap();
    refused(&nc(d, &["report", "sw"]), "results.csv");
}

// ---------------------------------------------------------------------------------------------
// Unclear refusals

#[test]
fn refusals_name_the_flag_or_the_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    refused(&nc(d, &["run", "--seed", "-1", "--no-out"]), "--seed");
    refused(
        &nc(d, &["network", "generate", "--copies", "-1", "--out", "g"]),
        "--copies",
    );
    refused(
        &nc(d, &["run", "--pv-share", "150", "--no-out"]),
        "--pv-share",
    );
    fs::write(
        d.join("s.toml"),
        "# my study\nseed = 4\npv_share_percent = 150\n",
    )
    .unwrap();
    refused(
        &nc(d, &["run", "--scenario", "s.toml", "--no-out"]),
        "s.toml, row 3, field `pv_share_percent`",
    );
    fs::write(
        d.join("s.toml"),
        "[market]\nbid_per_kwh = 0.2\nask_per_kwh = inf\n",
    )
    .unwrap();
    refused(
        &nc(d, &["run", "--scenario", "s.toml", "--no-out"]),
        "s.toml, row 3, field `market.ask_per_kwh`",
    );
    // The largest seed prints and reads back; one above it is refused by name.
    let r = nc(
        d,
        &["run", "--seed", "9223372036854775807", "--print-scenario"],
    );
    assert_eq!(r.0, 0, "{}", r.2);
    fs::write(d.join("p.toml"), &r.1).unwrap();
    let again = nc(d, &["run", "--scenario", "p.toml", "--print-scenario"]);
    assert_eq!(again.0, 0, "{}", again.2);
    assert_eq!(again.1, r.1);
    refused(
        &nc(d, &["run", "--seed", "9223372036854775808", "--no-out"]),
        "--seed",
    );
}

// ---------------------------------------------------------------------------------------------
// The ledger

fn blocks(text: &str) -> Vec<netclear::ledger::Block> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Re-chains blocks the way a forger who knows the format would: every leaf, root, balance and
/// hash recomputed.
fn rechain(mut bs: Vec<netclear::ledger::Block>) -> String {
    use netclear::ledger::{block_hash, merkle_root, trade_leaf};
    let n = bs.last().unwrap().balances.as_ref().unwrap().len();
    let (mut credits, mut money) = (vec![0.0; n], vec![0.0; n]);
    let mut prev = "0".repeat(64);
    let mut out = String::new();
    for b in &mut bs {
        if let Some(trades) = &mut b.trades {
            for t in trades.iter_mut() {
                t.leaf = trade_leaf(t);
                credits[t.seller] += t.delivered_kwh;
                money[t.seller] += t.received;
                money[t.buyer] -= t.paid;
            }
            b.merkle_root = Some(merkle_root(
                &trades.iter().map(|t| t.leaf.clone()).collect::<Vec<_>>(),
            ));
        }
        if let Some(bal) = &mut b.balances {
            for (k, x) in bal.iter_mut().enumerate() {
                x.credits = credits[k];
                x.p2p_money = money[k];
            }
        }
        b.prev_hash = prev.clone();
        b.hash = block_hash(b);
        prev = b.hash.clone();
        out += &serde_json::to_string(b).unwrap();
        out.push('\n');
    }
    out
}

#[test]
fn ledger_forged_balances_bad_trades_and_rechained_ledgers_are_caught() {
    use netclear::ledger::{verify, verify_with, Context};
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    quick_run(d, "r", &["--ledger"]);
    let text = fs::read_to_string(d.join("r/ledger.jsonl")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("r/summary.json")).unwrap()).unwrap();
    let head = summary["ledger_head"].as_str().unwrap().to_string();
    assert_eq!(
        netclear::ledger::head(&text).as_deref(),
        Some(head.as_str())
    );
    let r = nc(d, &["ledger", "verify", "r/ledger.jsonl"]);
    assert_eq!(r.0, 0, "{}", r.2);
    assert!(r.1.contains("matches"), "{}", r.1);
    // Re-chaining what was written changes nothing.
    assert_eq!(rechain(blocks(&text)), text);

    // A forged balance, its block re-hashed: the balances are recomputed from the trades.
    let mut bs = blocks(&text);
    let last = bs.len() - 1;
    bs[last].balances.as_mut().unwrap()[0].credits += 1.0;
    bs[last].hash = netclear::ledger::block_hash(&bs[last]);
    let forged: String = bs
        .iter()
        .map(|b| serde_json::to_string(b).unwrap() + "\n")
        .collect();
    let e = verify("l", &forged).unwrap_err().to_string();
    assert!(
        e.contains("does not equal the sum of its chained trades"),
        "{e}"
    );

    // Trades with an unknown prosumer, with itself, or negative energy, consistently re-chained.
    let step = bs
        .iter()
        .position(|b| b.trades.as_ref().is_some_and(|t| !t.is_empty()))
        .unwrap();
    for (edit, why) in [
        (0, "not one of the"),
        (1, "with itself"),
        (2, "must be finite and > 0"),
    ] {
        let mut bs = blocks(&text);
        let tr = &mut bs[step].trades.as_mut().unwrap()[0];
        match edit {
            0 => tr.buyer = 10_000,
            1 => tr.buyer = tr.seller,
            _ => {
                tr.kwh = -1.0;
                tr.delivered_kwh = -1.0;
            }
        }
        let l = if edit == 0 {
            // rechain() itself would index past the prosumers: hash only.
            let mut prev = "0".repeat(64);
            let mut out = String::new();
            for b in &mut bs {
                if let Some(ts) = &mut b.trades {
                    for t in ts.iter_mut() {
                        t.leaf = netclear::ledger::trade_leaf(t);
                    }
                    b.merkle_root = Some(netclear::ledger::merkle_root(
                        &ts.iter().map(|t| t.leaf.clone()).collect::<Vec<_>>(),
                    ));
                }
                b.prev_hash = prev.clone();
                b.hash = netclear::ledger::block_hash(b);
                prev = b.hash.clone();
                out += &(serde_json::to_string(b).unwrap() + "\n");
            }
            out
        } else {
            rechain(bs)
        };
        let e = verify("l", &l).unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }

    // A re-chained ledger with a trade raised: consistent on its own, caught by the head.
    let mut bs = blocks(&text);
    let tr = &mut bs[step].trades.as_mut().unwrap()[0];
    tr.kwh *= 2.0;
    tr.delivered_kwh *= 2.0;
    tr.paid *= 2.0;
    tr.received *= 2.0;
    let rechained = rechain(bs);
    assert!(
        verify("l", &rechained).is_ok(),
        "a hash chain alone cannot tell"
    );
    let ctx = Context {
        prosumers: None,
        head: Some((head.clone(), "summary.json".into())),
    };
    let e = verify_with("l", &rechained, &ctx).unwrap_err().to_string();
    assert!(e.contains("re-chained"), "{e}");
    fs::write(d.join("r/ledger.jsonl"), &rechained).unwrap();
    refused(
        &nc(d, &["ledger", "verify", "r/ledger.jsonl"]),
        "re-chained",
    );
    fs::write(d.join("loose.jsonl"), &rechained).unwrap();
    refused(
        &nc(
            d,
            &["ledger", "verify", "loose.jsonl", "--expect-head", &head],
        ),
        "re-chained",
    );
    refused(
        &nc(
            d,
            &["ledger", "verify", "loose.jsonl", "--expect-head", "abc"],
        ),
        "--expect-head",
    );
}
