//! The real binary on shipped feeders and temp-dir fixtures: output, JSON, exit codes.

mod common;
use common::netclear;

use std::process::Command;

#[test]
fn network_list_shows_every_shipped_feeder() {
    let (code, out, _) = netclear(&["network", "list"]);
    assert_eq!(code, 0);
    for n in [
        "cigre44",
        "village80",
        "village_2",
        "rural_1",
        "rural_2",
        "suburb_1",
    ] {
        assert!(out.contains(n), "{out}");
    }
}

#[test]
fn network_show_json_has_the_facts() {
    let (code, out, _) = netclear(&["network", "show", "cigre44", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["buses"], 44);
    assert_eq!(v["nodes"], 41);
    assert_eq!(v["radial"], true);
    assert_eq!(v["leaf_buses"].as_array().unwrap().len(), 13);
    assert!((v["total_load_p_mw"].as_f64().unwrap() - 0.6866).abs() < 1e-12);
    // Aliases resolve to the same feeder.
    let (code, out2, _) = netclear(&["network", "show", "cigre_lv", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(out, out2);
}

#[test]
fn pf_json_dc_matches_the_oracle_headline_and_is_deterministic() {
    let args = [
        "pf",
        "--network",
        "cigre44",
        "--model",
        "dc",
        "--pandapower-ratings",
        "--json",
    ];
    let (code, out, _) = netclear(&args);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // pandapower rundcpp on the default loads: import 0.6866 MW, max line loading 27.97 %.
    assert!((v["slack_p_mw"].as_f64().unwrap() - 0.6866).abs() < 1e-9);
    let max_line = v["branches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "line")
        .map(|b| b["loading_percent"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!((max_line - 27.97).abs() < 0.01, "{max_line}");
    let (_, again, _) = netclear(&args);
    assert_eq!(out, again);
}

#[test]
fn pf_with_an_injections_file_and_ac_table() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("inj.csv");
    std::fs::write(&f, "bus,p_kw,q_kvar\n16,-5,-1\n18,3,0\n").unwrap();
    let (code, out, err) = netclear(&[
        "pf",
        "--network",
        "cigre44",
        "--injections",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AC power flow: converged"), "{out}");
}

#[test]
fn bad_input_exits_2_with_file_row_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("feeder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("buses.csv"), "id,vn_kv\n0,20\n1,0.4\n").unwrap();
    std::fs::write(dir.join("ext_grid.csv"), "id,bus\n0,0\n").unwrap();
    std::fs::write(
        dir.join("trafos.csv"),
        "id,hv_bus,lv_bus,sn_mva,vn_hv_kv,vn_lv_kv,vk_percent,vkr_percent\n0,0,1,0.25,20,0.4,4,oops\n",
    )
    .unwrap();
    let (code, _, err) = netclear(&["network", "validate", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("trafos.csv") && err.contains("row 2") && err.contains("vkr_percent"),
        "{err}"
    );
    let (code, _, err) = netclear(&["pf", "--network", "no-such-feeder"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown network") && err.contains("cigre44"),
        "{err}"
    );
}

#[test]
fn validate_warns_about_unreachable_buses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("feeder");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("buses.csv"), "id,vn_kv\n0,0.4\n1,0.4\n2,0.4\n").unwrap();
    std::fs::write(dir.join("ext_grid.csv"), "id,bus\n0,0\n").unwrap();
    std::fs::write(
        dir.join("lines.csv"),
        "id,from_bus,to_bus,length_km,r_ohm_per_km,x_ohm_per_km,max_i_ka\n0,0,1,0.1,0.2,0.08,0.2\n",
    )
    .unwrap();
    let (code, out, _) = netclear(&["network", "validate", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("warning: bus 2"), "{out}");
}

#[test]
fn generate_writes_a_loadable_synthetic_feeder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("v3");
    let (code, _, err) = netclear(&[
        "network",
        "generate",
        "--copies",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = netclear(&["network", "show", dir.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["buses"], 1 + 3 * 79);
    assert_eq!(v["radial"], true);
}

/// `run --help` is grouped by topic, shows the scenario defaults (from `Scenario::default`, one
/// per flag that sets a scenario key) and leaks no rustdoc or crate-internal text.
#[test]
fn run_help_is_grouped_with_defaults_and_no_internal_text() {
    let (code, out, _) = netclear(&["run", "--help"]);
    assert_eq!(code, 0);
    let mut at = 0;
    for heading in [
        "\nScenario:\n",
        "\nCommunity:\n",
        "\nMarket:\n",
        "\nTariffs and regulator:\n",
        "\nNetwork:\n",
        "\nStorage:\n",
        "\nOutput:\n",
    ] {
        let k = out[at..]
            .find(heading)
            .unwrap_or_else(|| panic!("{heading:?} in order"));
        at += k;
    }
    assert!(out.contains("[default: lindistflow]") && out.contains("[default: 0.25]"));
    assert!(out.contains("[default: cigre44]") && out.contains("[default: out]"));
    assert_eq!(
        out.matches("[default:").count(),
        netclear::cli::scenario_defaults().len() + 1,
        "every scenario default and --out"
    );
    for leak in ["[`", "`]", "crate::", "netclear::", "TODO"] {
        assert!(!out.contains(leak), "internal text {leak:?} in the help");
    }
    let (code, short, _) = netclear(&["run", "-h"]);
    assert_eq!(code, 0);
    assert!(short.contains("-q, --quiet") && short.contains("-v, --verbose"));
}

/// Contradictory flags are refused by the parser, before anything runs (exit 2, both named).
#[test]
fn contradictory_flags_are_refused() {
    for args in [
        &["run", "--no-out", "--report"][..],
        &["run", "--no-out", "--ledger"],
        &["run", "--no-out", "--out", "x"],
        &["run", "--quiet", "--verbose"],
        &["run", "--json", "--print-scenario"],
        &["run", "--planning-band", "--vmin", "0.92"],
        &[
            "sweep",
            "--days",
            "2016-01-01",
            "--days-from",
            "2016-01-01",
            "--days-to",
            "2016-01-02",
        ],
        &["sweep", "--days-from", "2016-01-01"],
    ] {
        let (code, out, err) = netclear(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(
            err.contains("cannot be used with") || err.contains("required"),
            "{args:?}: {err}"
        );
    }
}

/// A negative number after a space is a value, not a flag.
#[test]
fn negative_numbers_after_a_space_are_values() {
    let (code, out, err) = netclear(&["run", "--feed-in", "-0.02", "--print-scenario"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("feed_in_per_kwh = -0.02"), "{out}");
}

/// `--quiet --json` prints the JSON summary and nothing else; `-v` adds the files and the time.
#[test]
fn quiet_json_prints_the_summary_and_verbose_lists_files() {
    let (code, out, err) = netclear(&["run", "--network", "rural_1", "-q", "--json", "--no-out"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("only JSON on stdout");
    assert!(v["p2p"]["load_kwh"].as_f64().unwrap() > 0.0);
    assert!(err.is_empty(), "{err}");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("o");
    let (code, out, _) = netclear(&[
        "run",
        "--network",
        "rural_1",
        "-v",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    let files = out
        .lines()
        .find(|l| l.starts_with("files: "))
        .expect("files line");
    assert!(
        files.contains("summary.json") && files.contains("hourly.csv"),
        "{files}"
    );
    assert!(out
        .lines()
        .any(|l| l.starts_with("took ") && l.ends_with(" s")));
}

/// Completions and the man page come from the one clap definition: every command and flag.
#[test]
fn completions_and_man_pages_come_from_the_clap_definition() {
    let (code, bash, _) = netclear(&["completions", "bash"]);
    assert_eq!(code, 0);
    for w in [
        "_netclear()",
        "--pv-share",
        "--network-model",
        "completions",
        "sweep",
    ] {
        assert!(bash.contains(w), "bash completion lacks {w}");
    }
    let (code, zsh, _) = netclear(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef netclear"));
    let (code, man, _) = netclear(&["man"]);
    assert_eq!(code, 0);
    assert!(
        man.contains(".TH netclear 1") && man.contains("netclear\\-run"),
        "{man}"
    );
    let (code, man, _) = netclear(&["man", "run"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH netclear\\-run") || man.contains(".TH netclear-run"));
    assert!(man.contains("pv\\-share") && man.contains("[default: lindistflow]"));
    let (code, _, err) = netclear(&["man", "nosuch"]);
    assert_eq!(code, 2, "{err}");
}

/// `report` and `merge` replace an existing file only with --force.
#[test]
fn report_and_merge_replace_a_file_only_with_force() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "rural_1",
        "--report",
        "-q",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(run.join("report.html")).unwrap();
    let (code, _, err) = netclear(&["report", run.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read(run.join("report.html")).unwrap(),
        before,
        "untouched"
    );
    let (code, _, err) = netclear(&["report", run.to_str().unwrap(), "--force"]);
    assert_eq!(code, 0, "{err}");
    let sw = t.path().join("sw");
    let (code, _, err) = netclear(&[
        "sweep",
        "--networks",
        "rural_1",
        "--pv-shares",
        "10,30",
        "--network-models",
        "none",
        "-q",
        "--out",
        sw.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let merge = |out: &std::path::Path, force: bool| {
        let mut a = vec![
            "merge",
            sw.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if force {
            a.push("--force");
        }
        netclear(&a)
    };
    // A file netclear did not write: refused, even with --force (issue 11).
    let foreign = t.path().join("foreign.csv");
    std::fs::write(&foreign, "keep me\n").unwrap();
    let (code, _, err) = merge(&foreign, false);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    assert_eq!(merge(&foreign, true).0, 2);
    assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "keep me\n");
    // Its own merged file: replaced only with --force.
    let res = t.path().join("merged.csv");
    assert_eq!(merge(&res, false).0, 0);
    let (code, _, err) = merge(&res, false);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let (code, _, err) = merge(&res, true);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&res)
        .unwrap()
        .starts_with("scenario"));
}

/// Paths inside a scenario file are relative to that file, from any working directory; a
/// shipped feeder's name is not a path.
#[test]
fn scenario_paths_are_relative_to_the_scenario_file() {
    let t = tempfile::tempdir().unwrap();
    let sub = t.path().join("study");
    std::fs::create_dir(&sub).unwrap();
    let (code, _, err) = netclear(&[
        "network",
        "generate",
        "--base",
        "rural_1",
        "--copies",
        "1",
        "--out",
        sub.join("feeder").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    std::fs::write(
        sub.join("s.toml"),
        "network = \"./feeder\"\npv_share_percent = 40\n",
    )
    .unwrap();
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .current_dir(&elsewhere)
        .args(["run", "--scenario", "../study/s.toml", "--no-out", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["scenario"]["network"]
        .as_str()
        .unwrap()
        .ends_with("study/./feeder"));
    // The shipped seed scenario works from outside the repository root too.
    let out = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .current_dir(&elsewhere)
        .args([
            "run",
            "--scenario",
            concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scenarios/seed_vpp.toml"),
            "--print-scenario",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("docs/scenarios/../../profiles/example_community_5min.xlsx"),
        "{text}"
    );
    assert!(text.contains("network = \"village80\""));
}

/// Binding limits are their own long table (one row per limit, with its dual), agreeing with
/// clearing.csv's list; batteries are one tidy table that holds the seed's per-battery files.
#[test]
fn binding_limits_and_batteries_are_long_tables() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("o");
    let (code, _, err) = netclear(&[
        "run",
        "--network",
        "village80",
        "--pv-share",
        "100",
        "--pv-kwp",
        "12",
        "--vmax",
        "1.01",
        "--enforce-limits",
        "--battery-share",
        "30",
        "--vpp",
        "-q",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let read = |n: &str| {
        let text = std::fs::read_to_string(dir.join(n)).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let h = r.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
        (h, rows)
    };
    let (h, bind) = read("binding_limits.csv");
    assert_eq!(
        h.iter().collect::<Vec<_>>(),
        ["case", "step", "time", "kind", "element", "dual"]
    );
    assert!(!bind.is_empty(), "PV voltage rise at a 1.01 pu limit binds");
    let (ch, clr) = read("clearing.csv");
    let bcol = ch.iter().position(|x| x == "binding").unwrap();
    let mut from_clearing: Vec<String> = Vec::new();
    for r in &clr {
        if r[bcol].starts_with("solver") {
            continue;
        }
        for name in r[bcol].split("; ").filter(|s| !s.is_empty()) {
            from_clearing.push(format!("{},{},{name}", &r[0], &r[1]));
        }
    }
    let from_table: Vec<String> = bind
        .iter()
        .map(|r| format!("{},{},{} {}", &r[0], &r[1], &r[3], &r[4]))
        .collect();
    assert_eq!(from_table, from_clearing);
    assert!(bind.iter().all(|r| r[5].parse::<f64>().unwrap() >= 0.0));
    let (h, bat) = read("batteries.csv");
    assert_eq!(
        &h.iter().take(7).collect::<Vec<_>>(),
        &["case", "step", "time", "prosumer", "bus", "kind", "soc_kwh"]
    );
    let seed_files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("battery_P"))
        .collect();
    assert!(!seed_files.is_empty());
    for f in &seed_files {
        let i: String = f
            .trim_start_matches("battery_P")
            .trim_end_matches(".csv")
            .into();
        let (_, seed) = read(f);
        let tidy: Vec<&csv::StringRecord> = bat
            .iter()
            .filter(|r| &r[0] == "p2p" && r[3] == *i)
            .collect();
        assert_eq!(tidy.len(), seed.len(), "{f}");
        for (a, b) in tidy.iter().zip(&seed) {
            assert_eq!(
                (&a[1], &a[6], &a[7], &a[8]),
                (&b[0], &b[2], &b[3], &b[4]),
                "{f}"
            );
        }
    }
    assert!(bat.iter().any(|r| &r[5] == "community") && bat.iter().any(|r| &r[0] == "baseline"));
    // No `-0` in any money or energy cell.
    for r in bat.iter().chain(&bind) {
        assert!(r.iter().all(|c| c != "-0"), "{r:?}");
    }
}

/// `--outputs summary` (scenario key `outputs`) leaves out exactly the case × step × element
/// tables, and what it writes is the full run's files byte for byte: the full run is the
/// independent source. Only `summary.json` differs, by recording the choice in its scenario.
#[test]
fn outputs_summary_writes_the_full_runs_files_without_the_per_step_element_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (full, sum) = (dir.path().join("full"), dir.path().join("sum"));
    let base = [
        "run",
        "--network",
        "village80",
        "--battery-share",
        "10",
        "-q",
    ];
    let (code, _, err) = netclear(&[&base[..], &["--out", full.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = netclear(
        &[
            &base[..],
            &["--outputs", "summary", "--out", sum.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{err}");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&sum),
        [
            "clearing.csv",
            "feeder.json",
            "hourly.csv",
            "lines.csv",
            "network.csv",
            "p2p_vpp_summary.csv",
            "prosumers.csv",
            "summary.json"
        ]
    );
    // The full run has the per-step element tables (with batteries: batteries.csv and the
    // seed's battery_P files).
    let all = names(&full);
    for t in [
        "settlement.csv",
        "trades.csv",
        "line_loading.csv",
        "bus_voltages.csv",
        "nodal_prices.csv",
        "batteries.csv",
    ] {
        assert!(all.iter().any(|n| n == t), "{t} in {all:?}");
    }
    assert!(all.iter().any(|n| n.starts_with("battery_P")));
    for n in names(&sum) {
        if n == "summary.json" {
            continue;
        }
        assert_eq!(
            std::fs::read(sum.join(&n)).unwrap(),
            std::fs::read(full.join(&n)).unwrap(),
            "{n}"
        );
    }
    let json = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("summary.json")).unwrap()).unwrap()
    };
    let (mut a, mut b) = (json(&full), json(&sum));
    assert_eq!(a["scenario"].get("outputs"), None);
    assert_eq!(b["scenario"]["outputs"], "summary");
    b["scenario"].as_object_mut().unwrap().remove("outputs");
    a["scenario"].as_object_mut().unwrap().remove("outputs");
    assert_eq!(a, b);
}
