//! Sweeps: shards merge into the single-run results byte for byte; an interrupted sweep resumes
//! without recomputing; failures are rows, not crashes; the grid order is the documented one.

use std::path::Path;
use std::process::Command;

fn netclear(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

const GRID: &[&str] = &[
    "--networks",
    "rural_1,village80",
    "--pv-shares",
    "10,50",
    "--network-models",
    "dc",
    "--days",
    "2016-06-15,2017-03-27",
    "--quiet",
];

fn sweep(out: &Path, extra: &[&str]) -> i32 {
    let mut a = vec!["sweep"];
    a.extend_from_slice(GRID);
    a.extend_from_slice(&["--out", out.to_str().unwrap()]);
    a.extend_from_slice(extra);
    let (code, _, err) = netclear(&a);
    assert!(code == 0 || code == 2, "{err}");
    code
}

#[test]
fn shards_merge_byte_identically_and_resume_skips_finished_rows() {
    let t = tempfile::tempdir().unwrap();
    let full = t.path().join("full");
    assert_eq!(sweep(&full, &["--jobs", "2"]), 0);
    let results = std::fs::read_to_string(full.join("results.csv")).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), 1 + 8, "2 feeders × 2 PV shares × 2 days");
    // Grid order: feeders, then PV shares, then days.
    assert!(lines[1].starts_with("0,rural_1,10,") && lines[1].contains("2016-06-15"));
    assert!(lines[2].starts_with("1,rural_1,10,") && lines[2].contains("2017-03-27"));
    assert!(lines[5].starts_with("4,village80,10,"));
    // 2017-03-27 is after the profiles' year: a failed row that says why, not a crashed sweep.
    assert!(
        lines[2].contains("error:") && lines[2].contains("no rows for 2017-03-27"),
        "{}",
        lines[2]
    );
    assert!(lines[1].contains(",ok,"));

    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    for (dir, s) in [(&a, "1/3"), (&b, "2/3"), (&c, "3/3")] {
        assert_eq!(sweep(dir, &["--shard", s]), 0);
    }
    let merged = t.path().join("merged.csv");
    // A missing shard is refused.
    let (code, _, err) = netclear(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("missing"), "{err}");
    assert!(!merged.exists());
    let (code, _, err) = netclear(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&merged).unwrap(),
        results,
        "merge must equal the single run"
    );

    // Resume: drop two rows, rerun, only those are recomputed, results identical.
    std::fs::remove_file(full.join("rows/3.csv")).unwrap();
    std::fs::remove_file(full.join("rows/6.csv")).unwrap();
    let mut args = vec!["sweep"];
    args.extend_from_slice(&GRID[..GRID.len() - 1]);
    args.extend_from_slice(&["--out", full.to_str().unwrap()]);
    let (code, out, _) = netclear(&args);
    assert_eq!(code, 0);
    assert!(out.contains("2 run, 6 resumed"), "{out}");
    assert_eq!(
        std::fs::read_to_string(full.join("results.csv")).unwrap(),
        results
    );
    // A different grid into the same folder is refused.
    let (code, _, err) = netclear(&[
        "sweep",
        "--pv-shares",
        "20",
        "--out",
        full.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("different sweep"), "{err}");
}

#[test]
fn keep_outputs_writes_each_scenarios_run_files() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("k");
    let (code, _, err) = netclear(&[
        "sweep",
        "--networks",
        "rural_2",
        "--pv-shares",
        "20,40",
        "--network-models",
        "none",
        "--keep-outputs",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for k in 0..2 {
        let s: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("outputs/{k}/summary.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            s["scenario"]["pv_share_percent"].as_f64().unwrap(),
            [20.0, 40.0][k]
        );
    }
}
