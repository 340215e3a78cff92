//! A self-contained HTML report of a run folder (or a sweep folder): no scripts, no fonts, no
//! network access — inline SVG charts whose `<title>` elements give the values on hover, a
//! printable layout, and the feeder drawn from its bus coordinates. It reads only the run folder:
//! the typed rows of [`super::rows`] and the geometry in `feeder.json`; it never reloads the
//! feeder or solves anything.
//!
//! Sections (each where its data exist): KPIs baseline vs P2P and the savings distribution;
//! hourly energy (load, PV, P2P, import, export, curtailed); prices (retail, feed-in, P2P, the
//! range of nodal prices); battery state of charge; the feeder map (lines coloured by peak
//! loading, buses by their voltage extreme, prosumers marked); for a sweep, KPIs against PV
//! share.

use super::rows::{
    BatteryRow, BranchRow, FeederGeometry, Hourly, PriceRow, ProsumerRow, VoltageRow,
};
use crate::error::{Error, Result};
use crate::table::Table;
use std::fmt::Write as _;
use std::path::Path;

const PALETTE: &[&str] = &[
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads a run file's typed rows (`None` when the file does not exist).
fn read_rows<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<Vec<T>>> {
    let p = dir.join(name);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { path: p, source: e }),
    };
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, r) in rdr.deserialize().enumerate() {
        out.push(r.map_err(|e| Error::Malformed {
            loc: crate::Location::file(p.display().to_string()).row(i as u64 + 2),
            msg: e.to_string(),
        })?);
    }
    Ok(Some(out))
}

fn read_table(dir: &Path, name: &str) -> Result<Option<Table>> {
    let p = dir.join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => Table::parse(p.display().to_string(), &t).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io { path: p, source: e }),
    }
}

/// A line chart of several series over the same x values.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[f64],
    series: &[(String, Vec<f64>)],
) -> String {
    let (w, h, ml, mr, mt, mb) = (760.0, 300.0, 60.0, 150.0, 30.0, 40.0);
    let finite = |v: &&f64| v.is_finite();
    let ymin = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(finite)
        .copied()
        .fold(0.0f64, f64::min);
    let mut ymax = series
        .iter()
        .flat_map(|s| s.1.iter())
        .filter(finite)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if !(ymax > ymin) {
        ymax = ymin + 1.0;
    }
    let (xmin, xmax) = (
        xs.first().copied().unwrap_or(0.0),
        xs.last()
            .copied()
            .unwrap_or(1.0)
            .max(xs.first().copied().unwrap_or(0.0) + 1.0),
    );
    let sx = |x: f64| ml + (x - xmin) / (xmax - xmin) * (w - ml - mr);
    let sy = |y: f64| mt + (1.0 - (y - ymin) / (ymax - ymin)) * (h - mt - mb);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<figure><figcaption>{}</figcaption><svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(title),
        esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{ml}" y1="{}" x2="{}" y2="{}" stroke="#444"/><line x1="{ml}" y1="{mt}" x2="{ml}" y2="{}" stroke="#444"/>"##,
        h - mb,
        w - mr,
        h - mb,
        h - mb
    );
    for k in 0..=4 {
        let y = ymin + (ymax - ymin) * k as f64 / 4.0;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="10" text-anchor="end">{:.3}</text><line x1="{ml}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/>"##,
            ml - 4.0,
            sy(y) + 3.0,
            y,
            sy(y),
            w - mr,
            sy(y)
        );
        let x = xmin + (xmax - xmin) * k as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="10" text-anchor="middle">{:.1}</text>"#,
            sx(x),
            h - mb + 14.0,
            x
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
        (ml + w - mr) / 2.0,
        h - 6.0,
        esc(x_label)
    );
    let _ = write!(
        s,
        r#"<text x="12" y="{}" font-size="11" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#,
        h / 2.0,
        h / 2.0,
        esc(y_label)
    );
    for (i, (name, ys)) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<String> = xs
            .iter()
            .zip(ys)
            .filter(|(_, y)| y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            r#"<polyline class="series" fill="none" stroke="{color}" stroke-width="1.8" points="{}"><title>{}</title></polyline>"#,
            pts.join(" "),
            esc(name)
        );
        for (x, y) in xs.iter().zip(ys).filter(|(_, y)| y.is_finite()) {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{color}"><title>{}: {x_label} {x} → {y:.4}</title></circle>"#,
                sx(*x),
                sy(*y),
                esc(name)
            );
        }
        let ly = mt + 14.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
            w - mr + 10.0,
            ly,
            w - mr + 24.0,
            ly + 9.0,
            esc(name)
        );
    }
    s += "</svg></figure>\n";
    s
}

fn kpi_table(summary: &serde_json::Value) -> String {
    let (b, p) = (&summary["baseline"], &summary["p2p"]);
    let mut s = String::from(
        "<table><tr><th>indicator</th><th>baseline</th><th>P2P</th><th>change</th></tr>",
    );
    if let Some(m) = p.as_object() {
        for (k, v) in m {
            if let (Some(x), Some(y)) = (b[k].as_f64(), v.as_f64()) {
                let z = |v: f64| if v.abs() < 5e-5 { 0.0 } else { v };
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:+.4}</td></tr>",
                    esc(k),
                    z(x),
                    z(y),
                    z(y - x)
                );
            }
        }
    }
    s + "</table>\n"
}

/// The three market designs side by side (`--compare-designs`), from `summary.json`.
fn designs_table(summary: &serde_json::Value) -> String {
    let Some(rows) = summary["market_designs"].as_array() else {
        return String::new();
    };
    let mut s = String::from(
        "<h2>Market designs</h2>\n<p>The same day cleared three ways: the auction then the network \
         correction; the network usage charges in the bids (matching on net surplus); one welfare \
         optimisation of trades and network together.</p>\n<table><tr><th>design</th>\
         <th>proposed (kWh)</th><th>delivered (kWh)</th><th>undone by the network (kWh)</th>\
         <th>net trade surplus ($)</th><th>network charges ($)</th><th>community cost ($)</th>\
         <th>PV curtailed (kWh)</th></tr>",
    );
    for r in rows {
        let k = &r["p2p"];
        let f = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            esc(r["design"].as_str().unwrap_or("?")),
            f(&r["proposed_kwh"]),
            f(&k["p2p_kwh"]),
            f(&k["p2p_curtailed_kwh"]),
            f(&r["net_trade_surplus"]),
            f(&k["network_charges"]),
            f(&k["community_cost"]),
            f(&k["pv_curtailed_kwh"]),
        );
    }
    s + "</table>\n"
}

fn color_scale(v: f64, lo: f64, hi: f64) -> String {
    let t = ((v - lo) / (hi - lo).max(1e-12)).clamp(0.0, 1.0);
    let (r, g, b) = if t < 0.5 {
        (2.0 * t, 0.7, 0.2)
    } else {
        (1.0, 0.7 * (2.0 - 2.0 * t), 0.2)
    };
    format!(
        "rgb({},{},{})",
        (r * 255.0) as u8,
        (g * 255.0) as u8,
        (b * 255.0) as u8
    )
}

fn feeder_map(dir: &Path) -> Result<String> {
    let gp = dir.join("feeder.json");
    let geo: FeederGeometry = match std::fs::read_to_string(&gp) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| Error::Malformed {
            loc: crate::Location::file(gp.display().to_string()),
            msg: e.to_string(),
        })?,
        Err(_) => return Ok(String::from("<p>(no feeder.json in the run folder)</p>")),
    };
    let name = geo.name.clone();
    let pos: std::collections::HashMap<i64, (f64, f64)> =
        geo.buses.iter().map(|b| (b.id, (b.x, b.y))).collect();
    if pos.is_empty() {
        return Ok(String::from("<p>(the feeder has no bus coordinates)</p>"));
    }
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pos.values() {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let (w, h, m) = (760.0, 460.0, 30.0);
    let sx = |x: f64| m + (x - x0) / (x1 - x0).max(1e-9) * (w - 2.0 * m - 160.0);
    let sy = |y: f64| m + (y - y0) / (y1 - y0).max(1e-9) * (h - 2.0 * m);
    let mut load: std::collections::HashMap<(String, i64), f64> = Default::default();
    for r in read_rows::<BranchRow>(dir, "lines.csv")?.unwrap_or_default() {
        if r.case == "p2p" {
            load.insert((r.kind, r.id), r.peak_loading_percent.0);
        }
    }
    let mut vext: std::collections::HashMap<i64, f64> = Default::default();
    for r in read_rows::<VoltageRow>(dir, "bus_voltages.csv")?.unwrap_or_default() {
        if r.case == "p2p" {
            let e = vext.entry(r.bus).or_insert(1.0);
            if (r.vm_pu.0 - 1.0).abs() > (*e - 1.0).abs() {
                *e = r.vm_pu.0;
            }
        }
    }
    let mut pros: std::collections::HashMap<i64, (String, f64)> = Default::default();
    for r in read_rows::<ProsumerRow>(dir, "prosumers.csv")?.unwrap_or_default() {
        pros.insert(r.bus, (r.name, r.pv_kwp.0));
    }
    let mut s = format!(
        r#"<figure><figcaption>Feeder {} — lines by peak loading (P2P case), buses by their largest voltage deviation</figcaption><svg class="chart map" viewBox="0 0 {w} {h}" role="img" aria-label="feeder map">"#,
        esc(&name)
    );
    let mut seg = |a: i64, b: i64, label: String, value: Option<f64>| {
        if let (Some(&(xa, ya)), Some(&(xb, yb))) = (pos.get(&a), pos.get(&b)) {
            let c = value.map_or("#999".to_string(), |v| color_scale(v, 0.0, 100.0));
            let _ = write!(
                s,
                r#"<line class="branch" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="3"><title>{} — peak loading {}</title></line>"#,
                sx(xa),
                sy(ya),
                sx(xb),
                sy(yb),
                esc(&label),
                value.map_or("n/a".into(), |v| format!("{v:.1} %"))
            );
        }
    };
    for br in &geo.branches {
        let value = (br.kind != "switch")
            .then(|| load.get(&(br.kind.clone(), br.id)).copied())
            .flatten();
        seg(
            br.from_bus,
            br.to_bus,
            format!("{} {}", br.kind, br.id),
            value,
        );
    }
    for b in &geo.buses {
        let (x, y) = (b.x, b.y);
        let v = vext.get(&b.id).copied();
        let c = v.map_or("#666".to_string(), |v| {
            color_scale((v - 1.0).abs(), 0.0, 0.05)
        });
        let (r, extra) = match pros.get(&b.id) {
            Some((n, kwp)) if *kwp > 0.0 => {
                (6.0, format!(", prosumer {} with {kwp:.1} kWp PV", esc(n)))
            }
            Some((n, _)) => (5.0, format!(", prosumer {}", esc(n))),
            None => (3.0, String::new()),
        };
        let stroke = if pros.get(&b.id).is_some_and(|p| p.1 > 0.0) {
            "#e6a800"
        } else {
            "#333"
        };
        let _ = write!(
            s,
            r#"<circle class="bus" cx="{:.1}" cy="{:.1}" r="{r}" fill="{c}" stroke="{stroke}" stroke-width="1.5"><title>bus {}: {}{extra}</title></circle>"#,
            sx(x),
            sy(y),
            b.id,
            v.map_or("no voltage".into(), |v| format!("{v:.4} pu"))
        );
    }
    let lx = w - 150.0;
    let _ = write!(
        s,
        r##"<text x="{lx}" y="40" font-size="11">line loading</text><rect x="{lx}" y="46" width="12" height="10" fill="{}"/><text x="{}" y="55" font-size="10">0 %</text><rect x="{lx}" y="60" width="12" height="10" fill="{}"/><text x="{}" y="69" font-size="10">50 %</text><rect x="{lx}" y="74" width="12" height="10" fill="{}"/><text x="{}" y="83" font-size="10">≥ 100 %</text><text x="{lx}" y="104" font-size="11">bus |V − 1|: green 0 → red 5 %</text><circle cx="{}" cy="120" r="6" fill="#fff" stroke="#e6a800" stroke-width="1.5"/><text x="{}" y="124" font-size="10">prosumer with PV</text>"##,
        color_scale(0.0, 0.0, 100.0),
        lx + 16.0,
        color_scale(50.0, 0.0, 100.0),
        lx + 16.0,
        color_scale(100.0, 0.0, 100.0),
        lx + 16.0,
        lx + 6.0,
        lx + 16.0
    );
    s += "</svg></figure>\n";
    Ok(s)
}

/// Renders the report of a run folder (`summary.json` + CSVs) or a sweep folder (`results.csv`).
pub fn render(dir: &Path) -> Result<String> {
    let mut body = String::new();
    let summary_path = dir.join("summary.json");
    let title;
    if let Ok(text) = std::fs::read_to_string(&summary_path) {
        let summary: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::Malformed {
                loc: crate::Location::file(summary_path.display().to_string()),
                msg: e.to_string(),
            })?;
        title = format!(
            "netclear — {} on {}",
            summary["scenario"]["network"].as_str().unwrap_or("?"),
            summary["scenario"]["day"].as_str().unwrap_or("?")
        );
        body += "<h2>Baseline vs P2P</h2>\n";
        body += &kpi_table(&summary);
        body += &designs_table(&summary);
        if let Some(rows) = read_rows::<ProsumerRow>(dir, "prosumers.csv")? {
            let mut sav: Vec<f64> = rows.iter().map(|r| r.savings.0).collect();
            sav.sort_by(f64::total_cmp);
            let xs: Vec<f64> = (0..sav.len()).map(|i| i as f64).collect();
            body += &line_chart(
                "Savings per prosumer against the baseline (sorted)",
                "prosumer rank",
                "$ per day",
                &xs,
                &[("savings".into(), sav)],
            );
        }
        if let Some(rows) = read_rows::<Hourly>(dir, "hourly.csv")? {
            let p2p: Vec<&Hourly> = rows.iter().filter(|r| r.case == "p2p").collect();
            let xs: Vec<f64> = p2p.iter().map(|r| r.step as f64).collect();
            let col = |f: fn(&Hourly) -> f64| -> Vec<f64> { p2p.iter().map(|r| f(r)).collect() };
            let series: Vec<(String, Vec<f64>)> = vec![
                ("load_kwh".into(), col(|r| r.load_kwh.0)),
                ("pv_kwh".into(), col(|r| r.pv_kwh.0)),
                ("p2p_kwh".into(), col(|r| r.p2p_kwh.0)),
                ("grid_import_kwh".into(), col(|r| r.grid_import_kwh.0)),
                ("grid_export_kwh".into(), col(|r| r.grid_export_kwh.0)),
                ("curtailed_kwh".into(), col(|r| r.curtailed_kwh.0)),
            ];
            body += "<h2>Energy per step (P2P case)</h2>\n";
            body += &line_chart("Energy per step", "step", "kWh", &xs, &series);
            let mut prices: Vec<(String, Vec<f64>)> = vec![
                ("retail_per_kwh".into(), col(|r| r.retail_per_kwh.0)),
                ("feed_in_per_kwh".into(), col(|r| r.feed_in_per_kwh.0)),
                (
                    "p2p_avg_price_per_kwh".into(),
                    col(|r| r.p2p_avg_price_per_kwh.map_or(f64::NAN, |v| v.0)),
                ),
            ];
            if let Some(np) = read_rows::<PriceRow>(dir, "nodal_prices.csv")? {
                let (mut lo, mut hi) = (
                    vec![f64::INFINITY; xs.len()],
                    vec![f64::NEG_INFINITY; xs.len()],
                );
                for r in np.iter().filter(|r| r.case == "p2p") {
                    if let (Some(l), Some(v)) = (lo.get_mut(r.step), r.lmp_per_kwh) {
                        *l = l.min(v.0);
                        hi[r.step] = hi[r.step].max(v.0);
                    }
                }
                prices.push(("nodal price, lowest".into(), lo));
                prices.push(("nodal price, highest".into(), hi));
            }
            body += "<h2>Prices</h2>\n";
            body += &line_chart("Prices per step", "step", "$ per kWh", &xs, &prices);
        }
        let mut soc: Vec<(String, Vec<f64>)> = Vec::new();
        let mut xs_soc = Vec::new();
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().to_string())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.starts_with("battery_P") || f.as_str() == "vpp.csv")
        {
            if let Some(rows) = read_rows::<BatteryRow>(dir, f)? {
                xs_soc = rows.iter().map(|r| r.step as f64).collect();
                soc.push((
                    f.trim_end_matches(".csv").to_string(),
                    rows.iter().map(|r| r.soc_kwh.0).collect(),
                ));
            }
        }
        if !soc.is_empty() {
            body += "<h2>Battery state of charge</h2>\n";
            body += &line_chart("State of charge", "step", "kWh", &xs_soc, &soc);
        }
        body += "<h2>Feeder</h2>\n";
        body += &feeder_map(dir)?;
    } else if let Some(t) = read_table(dir, "results.csv")? {
        title = "netclear — sweep".to_string();
        let mut nets: Vec<String> = t
            .rows()
            .filter_map(|r| r.raw("network").map(String::from))
            .collect();
        nets.sort();
        nets.dedup();
        // Every swept numeric dimension with more than one value gets its charts; the KPI is
        // averaged over the other dimensions (days, seeds, …) for each feeder.
        let dims = [
            ("pv_share_percent", "PV share (%)"),
            ("battery_kwh", "battery per household (kWh)"),
            ("price_cap_per_kwh", "P2P price cap ($/kWh)"),
        ];
        for (dim, label) in dims {
            let mut xs: Vec<f64> = t.rows().filter_map(|r| r.f64(dim).ok()).collect();
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            if xs.len() < 2 {
                continue;
            }
            let _ = writeln!(
                body,
                "<h2>KPIs against {} (mean over the other dimensions)</h2>",
                esc(label)
            );
            for kpi in [
                "p2p_self_sufficiency",
                "p2p_p2p_share_of_load",
                "p2p_community_cost",
                "p2p_max_line_loading_percent",
            ] {
                let series: Vec<(String, Vec<f64>)> = nets
                    .iter()
                    .map(|n| {
                        let ys = xs
                            .iter()
                            .map(|x| {
                                let v: Vec<f64> = t
                                    .rows()
                                    .filter(|r| {
                                        r.raw("network") == Some(n.as_str())
                                            && r.f64(dim).ok() == Some(*x)
                                            && r.raw("status") == Some("ok")
                                    })
                                    .filter_map(|r| r.f64(kpi).ok())
                                    .collect();
                                if v.is_empty() {
                                    f64::NAN
                                } else {
                                    v.iter().sum::<f64>() / v.len() as f64
                                }
                            })
                            .collect();
                        (n.clone(), ys)
                    })
                    .collect();
                body += &line_chart(kpi, label, kpi, &xs, &series);
            }
        }
        if !body.contains("<h2>") {
            body += "<p>The sweep varies no numeric dimension; see results.csv.</p>\n";
        }
    } else {
        return Err(Error::invalid(
            crate::Location::file(dir.display().to_string()),
            "neither a run folder (summary.json) nor a sweep folder (results.csv)",
        ));
    }
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 900px; margin: 1em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
td:first-child {{ text-align: left; }} figure {{ margin: 1em 0; }} figcaption {{ font-weight: 600; margin-bottom: .3em; }}
svg.chart {{ width: 100%; height: auto; background: #fff; }}
@media print {{ h2 {{ break-before: auto; }} figure {{ break-inside: avoid; }} }}
</style></head>
<body><h1>{t}</h1>
{body}<footer><p>Generated by netclear {v}. Self-contained: no scripts, no external resources.</p></footer>
</body></html>
"#,
        t = esc(&title),
        v = env!("CARGO_PKG_VERSION"),
    ))
}
