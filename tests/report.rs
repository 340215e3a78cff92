//! The HTML report: self-contained (no scripts, no external resources), every chart drawn with
//! data, the feeder map complete. `report_renders_in_headless_chromium` renders it in a real
//! browser (Debian's chromium); `.ci/run` installs chromium and runs it with `--ignored`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn make_run(dir: &Path) -> PathBuf {
    let out = dir.join("run");
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            "village80",
            "--pv-share",
            "50",
            "--battery-share",
            "30",
            "--vpp",
            "--report",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    out
}

#[test]
fn report_is_self_contained_and_every_chart_has_data() {
    let t = tempfile::tempdir().unwrap();
    let out = make_run(t.path());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<script"), "no scripts");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
    for section in [
        "Baseline vs P2P",
        "Energy per step",
        "Prices",
        "Battery state of charge",
        "Feeder",
    ] {
        assert!(html.contains(section), "missing section {section}");
    }
    // Every polyline has at least two points.
    let mut n = 0;
    for part in html.split("<polyline").skip(1) {
        let pts = part
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(pts.split(' ').count() >= 2, "empty series");
        n += 1;
    }
    assert!(n >= 10, "{n} series");
    // The map draws every bus of village80 and every line and trafo.
    assert_eq!(html.matches("class=\"bus\"").count(), 80);
    assert_eq!(html.matches("class=\"branch\"").count(), 79);
    // Hover text gives values.
    assert!(html.contains("peak loading") && html.contains(" pu"));
}

#[test]
fn sweep_report_plots_kpis_against_pv_share() {
    let t = tempfile::tempdir().unwrap();
    let sw = t.path().join("sw");
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "sweep",
            "--networks",
            "rural_1",
            "--pv-shares",
            "10,30,50",
            "--network-models",
            "none",
            "--quiet",
            "--out",
            sw.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args(["report", sw.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(sw.join("report.html")).unwrap();
    assert!(html.contains("PV share (%)"));
    assert!(html.matches("<polyline").count() >= 4);
}

fn chromium() -> Option<String> {
    std::env::var("NETCLEAR_CHROMIUM").ok().or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .iter()
            .find(|p| Path::new(p).exists())
            .map(|s| s.to_string())
    })
}

#[test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs this with --ignored"]
fn report_renders_in_headless_chromium() {
    let browser = chromium().expect("chromium not found: apt-get install chromium");
    let t = tempfile::tempdir().unwrap();
    let out = make_run(t.path());
    let url = format!("file://{}", out.join("report.html").display());
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let profile = t.path().join("profile");
    let user_dir = format!("--user-data-dir={}", profile.display());
    // The rendered DOM: charts are present with drawn geometry.
    let dom = Command::new(&browser)
        .args(flags)
        .arg(&user_dir)
        .args(["--dump-dom", &url])
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.matches("<svg").count() >= 5,
        "charts in the rendered DOM"
    );
    assert!(dom_text.matches("<polyline").count() >= 10);
    let console_errors: Vec<&str> = String::from_utf8_lossy(&dom.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("error") || l.contains("Uncaught")))
        .map(|_| "console error")
        .collect();
    assert!(console_errors.is_empty(), "console errors while rendering");
    // A screenshot: the page painted something (a non-trivial PNG).
    let shot = t.path().join("report.png");
    let st = Command::new(&browser)
        .args(flags)
        .arg(&user_dir)
        .args([
            "--window-size=1000,2600",
            &format!("--screenshot={}", shot.display()),
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 30_000,
        "screenshot of {} bytes is too small to hold the charts",
        png.len()
    );
    if let Ok(keep) = std::env::var("NETCLEAR_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}

/// The three market designs of a `--compare-designs` run reach the report, one row each, with
/// the numbers of summary.json.
#[test]
fn report_compares_the_market_designs() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let st = Command::new(env!("CARGO_BIN_EXE_netclear"))
        .args([
            "run",
            "--network",
            "village80",
            "--pv-share",
            "50",
            "--network-charges",
            "nuc",
            "--compare-designs",
            "--report",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let rows = summary["market_designs"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(html.contains("<h2>Market designs</h2>"));
    for r in rows {
        let name = r["design"].as_str().unwrap();
        let cost = r["p2p"]["community_cost"].as_f64().unwrap();
        let row = format!("<tr><td>{name}</td>");
        let at = html
            .find(&row)
            .unwrap_or_else(|| panic!("no row for {name}"));
        let tail = &html[at..at + html[at..].find("</tr>").unwrap()];
        assert!(
            tail.contains(&format!("<td>{cost:.2}</td>")),
            "{name}: {tail}"
        );
    }
}
