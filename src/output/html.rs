//! A self-contained HTML report of a run folder (or a sweep folder): one file, no network, no
//! external resources, no fonts. Static inline SVG charts (their `<title>` elements give the
//! values on hover) carry everything a printed page needs; one inline script adds the playback
//! and the wallets. The report reads only the run folder: the typed rows of [`super::rows`],
//! `settlement.csv` and the geometry in `feeder.json`; it never reloads the feeder, builds or
//! solves anything.
//!
//! Sections (each where its data exist): KPIs baseline vs P2P ([`super::table::KPIS`]: the
//! terminal's order, labels and units) and the savings distribution; energy over the day; prices
//! (retail, feed-in, P2P, the range of nodal prices — the y axis clipped to percentiles when an
//! outlier would flatten the rest, and the caption says so); battery state of charge (the home
//! fleet as a median with interquartile and min–max bands, the community battery as a line);
//! the feeder map with **playback** (a step slider and play button redraw line loading, bus
//! voltages and P2P flows as arrows, every storage's SOC and every prosumer's running wallet; the
//! step is read from the URL fragment, `report.html#step=12`); **wallets and money flows**
//! (balances over the day, internal settlement vs external net per step, the community battery's
//! import/export split, end-of-day balances ranked, a plain-English summary of a chosen
//! prosumer's day, CSV export of what is on screen); for a sweep, KPIs against each swept
//! dimension with their spread (median, interquartile range, min–max).
//!
//! Charts are drawn for a paper: hours of the day on the x axis, round tick values, units on
//! every axis, legends that group many series, and print CSS.
//!
//! The per-step data the script draws are one JSON blob in a `<script type="application/json"
//! id="netclear-data">` element. The script marks what it drew: the map's `data-step` and
//! `data-state`, `data-ready` on `<body>` when it finished, `data-jserrors` on `<html>` if
//! anything failed; `report.html?autotest` drives every control with input events and writes the
//! outcome to `<body data-autotest>` (the headless-Chromium test reads them).

use super::rows::{
    BatteryRow, BranchRow, FeederGeometry, Hourly, LoadingRow, PriceRow, ProsumerRow, TradeRow,
    VoltageRow,
};
use super::table::{Shown, KPIS};
use crate::error::{Error, Result};
use crate::table::Table;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
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

/// Round tick values covering `[lo, hi]`: steps of 1, 2, 2.5 or 5 × 10^k, about `n` of them.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: as many decimals as the tick step needs, never `-0`.
fn tick_label(v: f64, step: f64) -> String {
    let d = (0..6)
        .find(|d| {
            let x = step * 10f64.powi(*d);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(6) as usize;
    let s = format!("{v:.d$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// The `q`-quantile (0–1) of sorted values, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] * (1.0 - f) + sorted[j] * f
}

/// One line of a [`Chart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name (no unit: the axis has it).
    pub name: String,
    /// One value per x (NaN: no point).
    pub ys: Vec<f64>,
}

/// A shaded band between two curves (a spread: min–max, interquartile range).
#[derive(Debug, Clone)]
pub struct Band {
    /// Legend name.
    pub name: String,
    /// Lower edge per x.
    pub lo: Vec<f64>,
    /// Upper edge per x.
    pub hi: Vec<f64>,
    /// Palette index of its colour (a band and its median line share one).
    pub color: usize,
    /// Fill opacity.
    pub opacity: f64,
}

/// A static SVG line chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Caption.
    pub title: String,
    /// x axis label with its unit.
    pub x_label: String,
    /// y axis label with its unit.
    pub y_label: String,
    /// x values.
    pub xs: Vec<f64>,
    /// x is the hour of the day (ticks every 3 h over 0–24 h).
    pub hours: bool,
    /// Lines; their colours follow the palette in order, unless `colors` says otherwise.
    pub series: Vec<Series>,
    /// Palette index per line (default: its position).
    pub colors: Vec<usize>,
    /// Bands, drawn under the lines.
    pub bands: Vec<Band>,
    /// Clip the y range to the 1st–99th percentile of the values when outliers would flatten
    /// the rest (the caption says so).
    pub clip_outliers: bool,
}

impl Chart {
    /// Renders the chart as a `<figure>` with an inline `<svg>`.
    pub fn render(&self) -> String {
        let (w, h, ml, mr, mt, mb) = (760.0, 300.0, 64.0, 170.0, 16.0, 44.0);
        let mut vals: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.ys.iter())
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.lo.iter().chain(b.hi.iter())),
            )
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        vals.sort_by(f64::total_cmp);
        let (mut ymin, mut ymax) = (
            vals.first().copied().unwrap_or(0.0).min(0.0),
            vals.last().copied().unwrap_or(1.0),
        );
        let mut note = String::new();
        if self.clip_outliers && vals.len() >= 20 {
            let (p1, p99) = (quantile(&vals, 0.01), quantile(&vals, 0.99));
            let span = (p99 - p1).max(1e-9);
            let (lo, hi) = (p1.min(0.0), p99 + 0.1 * span);
            let outside = vals.iter().filter(|v| **v < lo || **v > hi).count();
            if outside > 0 && (ymax - ymin) > 1.5 * (hi - lo) {
                note = format!(
                    " — y axis clipped to the 1st–99th percentile of the values; {outside} point(s) outside it (up to {}) are drawn at the edge",
                    crate::util::fmt_f64((ymax * 1e4).round() / 1e4)
                );
                ymin = lo;
                ymax = hi;
            }
        }
        if !(ymax > ymin) {
            ymax = ymin + 1.0;
        }
        let yt = nice_ticks(ymin, ymax, 5);
        let ystep = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
        // Extend the range to whole ticks.
        let ymin = (ymin / ystep).floor() * ystep;
        let ymax = (ymax / ystep - 1e-9).ceil() * ystep;
        let yt = nice_ticks(ymin, ymax, 5);
        let (xmin, xmax, xt) = if self.hours {
            let last = self.xs.last().copied().unwrap_or(24.0);
            let end = (last + self.xs.get(1).map_or(1.0, |x1| x1 - self.xs[0])).max(1.0);
            let end = if end <= 24.0 + 1e-9 { 24.0 } else { end.ceil() };
            let step = if end <= 24.0 { 3.0 } else { 6.0 };
            let xt: Vec<f64> = (0..=(end / step) as usize)
                .map(|k| k as f64 * step)
                .collect();
            (0.0, end, xt)
        } else {
            let a = self.xs.first().copied().unwrap_or(0.0);
            let b = self.xs.last().copied().unwrap_or(1.0).max(a + 1e-9);
            (a, b, nice_ticks(a, b, 6))
        };
        let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { 1.0 };
        let sx = |x: f64| ml + (x - xmin) / (xmax - xmin) * (w - ml - mr);
        let sy = |y: f64| mt + (1.0 - (y.clamp(ymin, ymax) - ymin) / (ymax - ymin)) * (h - mt - mb);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<figure><figcaption>{}<span class="note">{}</span></figcaption><svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
            esc(&self.title),
            esc(&note),
            esc(&self.title)
        );
        for y in &yt {
            let _ = write!(
                s,
                r##"<line x1="{ml}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="#e4e4e4"/><text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
                sy(*y),
                w - mr,
                sy(*y),
                ml - 5.0,
                sy(*y) + 4.0,
                tick_label(*y, ystep)
            );
        }
        for x in &xt {
            let _ = write!(
                s,
                r##"<line x1="{:.1}" y1="{}" x2="{:.1}" y2="{}" stroke="#444"/><text x="{:.1}" y="{}" font-size="11" text-anchor="middle">{}</text>"##,
                sx(*x),
                h - mb,
                sx(*x),
                h - mb + 4.0,
                sx(*x),
                h - mb + 16.0,
                tick_label(*x, xstep)
            );
        }
        let _ = write!(
            s,
            r##"<line x1="{ml}" y1="{}" x2="{}" y2="{}" stroke="#444"/><line x1="{ml}" y1="{mt}" x2="{ml}" y2="{}" stroke="#444"/>"##,
            h - mb,
            w - mr,
            h - mb,
            h - mb
        );
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text><text x="14" y="{}" font-size="12" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
            (ml + w - mr) / 2.0,
            h - 8.0,
            esc(&self.x_label),
            (mt + h - mb) / 2.0,
            (mt + h - mb) / 2.0,
            esc(&self.y_label)
        );
        let mut legend: Vec<(String, String, f64)> = Vec::new();
        for b in &self.bands {
            let c = PALETTE[b.color % PALETTE.len()];
            let mut pts: Vec<String> = Vec::new();
            let idx: Vec<usize> = (0..self.xs.len())
                .filter(|&i| {
                    b.lo.get(i).is_some_and(|v| v.is_finite())
                        && b.hi.get(i).is_some_and(|v| v.is_finite())
                })
                .collect();
            for &i in &idx {
                pts.push(format!("{:.1},{:.1}", sx(self.xs[i]), sy(b.hi[i])));
            }
            for &i in idx.iter().rev() {
                pts.push(format!("{:.1},{:.1}", sx(self.xs[i]), sy(b.lo[i])));
            }
            if pts.len() >= 2 {
                let _ = write!(
                    s,
                    r#"<polygon class="band" fill="{c}" fill-opacity="{}" stroke="none" points="{}"><title>{}</title></polygon>"#,
                    b.opacity,
                    pts.join(" "),
                    esc(&b.name)
                );
                legend.push((b.name.clone(), c.to_string(), b.opacity));
            }
        }
        for (i, ser) in self.series.iter().enumerate() {
            let c = PALETTE[self.colors.get(i).copied().unwrap_or(i) % PALETTE.len()];
            let pts: Vec<(f64, f64)> = self
                .xs
                .iter()
                .zip(&ser.ys)
                .filter(|(_, y)| y.is_finite())
                .map(|(x, y)| (*x, *y))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let line: Vec<String> = pts
                .iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline class="series" fill="none" stroke="{c}" stroke-width="1.8" points="{}"><title>{}</title></polyline>"#,
                line.join(" "),
                esc(&ser.name)
            );
            for (x, y) in &pts {
                let _ = write!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{c}"><title>{}: {} {} → {}</title></circle>"#,
                    sx(*x),
                    sy(*y),
                    esc(&ser.name),
                    esc(&self.x_label),
                    crate::util::fmt_f64((x * 1e3).round() / 1e3),
                    crate::util::fmt_f64((y * 1e4).round() / 1e4),
                );
            }
            legend.push((ser.name.clone(), c.to_string(), 1.0));
        }
        for (k, (name, c, op)) in legend.iter().enumerate() {
            let ly = mt + 16.0 * k as f64;
            let _ = write!(
                s,
                r#"<rect x="{}" y="{ly}" width="12" height="10" fill="{c}" fill-opacity="{op}"/><text x="{}" y="{}" font-size="11">{}</text>"#,
                w - mr + 10.0,
                w - mr + 26.0,
                ly + 9.0,
                esc(name)
            );
        }
        s += "</svg></figure>\n";
        s
    }
}

/// A line chart of several series over the same x values (x as plain numbers).
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[f64],
    series: &[(String, Vec<f64>)],
) -> String {
    Chart {
        title: title.into(),
        x_label: x_label.into(),
        y_label: y_label.into(),
        xs: xs.to_vec(),
        series: series
            .iter()
            .map(|(n, ys)| Series {
                name: n.clone(),
                ys: ys.clone(),
            })
            .collect(),
        ..Default::default()
    }
    .render()
}

/// The KPI table: [`KPIS`] in the terminal's order, with labels and units.
fn kpi_table(summary: &Value) -> String {
    let (b, p) = (&summary["baseline"], &summary["p2p"]);
    let show = Shown::of_summary(summary);
    let mut s = String::from(
        "<table class=\"kpis\"><tr><th>indicator</th><th>baseline</th><th>P2P</th><th>change</th></tr>",
    );
    let z = |v: f64, d: usize| {
        let r = format!("{v:.d$}");
        if r.trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            r.trim_start_matches(['-', '+']).to_string()
        } else {
            r
        }
    };
    for k in KPIS.iter().filter(|k| show.shows(k.when)) {
        let Some(y) = k.value(p) else { continue };
        let d = k.decimals;
        match k.value(b).filter(|_| !k.p2p_only) {
            Some(x) => {
                let ch = z(y - x, d);
                let ch = if ch.starts_with('-') || ch.chars().all(|c| c == '0' || c == '.') {
                    ch
                } else {
                    format!("+{ch}")
                };
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&k.heading()),
                    z(x, d),
                    z(y, d),
                    ch
                );
            }
            None => {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td>-</td><td>{}</td><td></td></tr>",
                    esc(&k.heading()),
                    z(y, d)
                );
            }
        }
    }
    s + "</table>\n"
}

/// The price of decentralisation across the flexibility modes (central clearing), from
/// `summary.json`.
fn modes_table(summary: &Value) -> String {
    let Some(rows) = summary["decentralisation"]["modes"].as_array() else {
        return String::new();
    };
    let mut s = String::from(
        "<h2>Price of decentralisation</h2>\n<p>The same day with the flexibility (batteries, EVs, \
         flexible loads) decided three ways, each the P2P case: one central optimisation of all \
         flexibility, pool and network; inner demand response (each household first minimises its \
         own imbalance, then trades the rest); price-responsive (every asset sees the pool's price \
         and network charges). Welfare cost = the community's bill with the retailer, shed load at \
         VOLL and the discomfort of curtailed load.</p>\n<table><tr><th>mode</th>\
         <th>welfare cost ($)</th><th>price of decentralisation ($)</th>\
         <th>slack import (kWh)</th><th>slack export (kWh)</th><th>peak import (kW)</th>\
         <th>losses (kWh)</th></tr>",
    );
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.3}</td></tr>",
            esc(r["mode"].as_str().unwrap_or("?")),
            f("welfare_cost"),
            f("price_of_decentralisation"),
            f("slack_import_kwh"),
            f("slack_export_kwh"),
            f("peak_import_kw"),
            f("losses_kwh"),
        );
    }
    s + "</table>\n"
}

/// The three market designs side by side (`--compare-designs`), from `summary.json`.
fn designs_table(summary: &Value) -> String {
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
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
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

/// A number for the JSON blob, rounded to 1e-4 (no `-0`).
fn r4(v: f64) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    let r = (v * 1e4).round() / 1e4;
    json!(if r == 0.0 { 0.0 } else { r })
}

/// What the feeder map and the playback need from the run folder.
struct MapData {
    svg: String,
    /// Branch key (`line 3`) → drawn.
    branch_keys: Vec<String>,
    /// Bus id → drawn position.
    bus_pos: BTreeMap<i64, (f64, f64)>,
}

fn feeder_map(dir: &Path) -> Result<Option<MapData>> {
    let gp = dir.join("feeder.json");
    let geo: FeederGeometry = match std::fs::read_to_string(&gp) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| Error::Malformed {
            loc: crate::Location::file(gp.display().to_string()),
            msg: e.to_string(),
        })?,
        Err(_) => return Ok(None),
    };
    let name = geo.name.clone();
    let pos: HashMap<i64, (f64, f64)> = geo.buses.iter().map(|b| (b.id, (b.x, b.y))).collect();
    if pos.is_empty() {
        return Ok(None);
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
    let mut load: HashMap<(String, i64), f64> = Default::default();
    for r in read_rows::<BranchRow>(dir, "lines.csv")?.unwrap_or_default() {
        if r.case == "p2p" {
            load.insert((r.kind, r.id), r.peak_loading_percent.0);
        }
    }
    let mut vext: HashMap<i64, f64> = Default::default();
    for r in read_rows::<VoltageRow>(dir, "bus_voltages.csv")?.unwrap_or_default() {
        if r.case == "p2p" {
            let e = vext.entry(r.bus).or_insert(1.0);
            if (r.vm_pu.0 - 1.0).abs() > (*e - 1.0).abs() {
                *e = r.vm_pu.0;
            }
        }
    }
    let mut pros: HashMap<i64, (String, f64)> = Default::default();
    for r in read_rows::<ProsumerRow>(dir, "prosumers.csv")?.unwrap_or_default() {
        pros.insert(r.bus, (r.name, r.pv_kwp.0));
    }
    let mut s = format!(
        r##"<figure><figcaption>Feeder {} — <span id="map-caption">lines by peak loading (P2P case), buses by their largest voltage deviation</span></figcaption><svg id="map" class="chart map" viewBox="0 0 {w} {h}" role="img" aria-label="feeder map" data-step="peak"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f4fb4"/></marker></defs>"##,
        esc(&name)
    );
    let mut branch_keys = Vec::new();
    for br in &geo.branches {
        let (Some(&(xa, ya)), Some(&(xb, yb))) = (pos.get(&br.from_bus), pos.get(&br.to_bus))
        else {
            continue;
        };
        let key = format!("{} {}", br.kind, br.id);
        let value = (br.kind != "switch")
            .then(|| load.get(&(br.kind.clone(), br.id)).copied())
            .flatten();
        let c = value.map_or("#999".to_string(), |v| color_scale(v, 0.0, 100.0));
        let _ = write!(
            s,
            r#"<line class="branch" data-el="{}" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{c}" stroke-width="3"><title>{} — peak loading {}</title></line>"#,
            esc(&key),
            sx(xa),
            sy(ya),
            sx(xb),
            sy(yb),
            esc(&key),
            value.map_or("n/a".into(), |v| format!("{v:.1} %"))
        );
        branch_keys.push(key);
    }
    s += r#"<g id="flows"></g>"#;
    let mut bus_pos = BTreeMap::new();
    for b in &geo.buses {
        let (x, y) = (sx(b.x), sy(b.y));
        bus_pos.insert(b.id, (x, y));
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
            r#"<circle class="bus" data-bus="{}" cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{c}" stroke="{stroke}" stroke-width="1.5"><title>bus {}: {}{extra}</title></circle>"#,
            b.id,
            b.id,
            v.map_or("no voltage".into(), |v| format!("{v:.4} pu"))
        );
    }
    let lx = w - 150.0;
    let _ = write!(
        s,
        r##"<text x="{lx}" y="40" font-size="11">line loading</text><rect x="{lx}" y="46" width="12" height="10" fill="{}"/><text x="{}" y="55" font-size="10">0 %</text><rect x="{lx}" y="60" width="12" height="10" fill="{}"/><text x="{}" y="69" font-size="10">50 %</text><rect x="{lx}" y="74" width="12" height="10" fill="{}"/><text x="{}" y="83" font-size="10">≥ 100 %</text><text x="{lx}" y="104" font-size="11">bus |V−1|: 0 → 5 %</text><circle cx="{}" cy="120" r="6" fill="#fff" stroke="#e6a800" stroke-width="1.5"/><text x="{}" y="124" font-size="10">prosumer with PV</text><line x1="{lx}" y1="140" x2="{}" y2="140" stroke="#1f4fb4" stroke-width="2" marker-end="url(#arrow)"/><text x="{}" y="144" font-size="10">P2P flow (width ∝ kWh)</text>"##,
        color_scale(0.0, 0.0, 100.0),
        lx + 16.0,
        color_scale(50.0, 0.0, 100.0),
        lx + 16.0,
        color_scale(100.0, 0.0, 100.0),
        lx + 16.0,
        lx + 6.0,
        lx + 16.0,
        lx + 24.0,
        lx + 30.0
    );
    s += "</svg></figure>\n";
    Ok(Some(MapData {
        svg: s,
        branch_keys,
        bus_pos,
    }))
}

/// A storage's day: its name, capacity and SOC per step.
struct Storage {
    name: String,
    prosumer: Option<usize>,
    vpp: bool,
    capacity_kwh: f64,
    soc_kwh: Vec<f64>,
}

fn storages(dir: &Path, pros: &[ProsumerRow]) -> Result<Vec<Storage>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|f| {
        (
            f.trim_start_matches("battery_P")
                .trim_end_matches(".csv")
                .parse::<usize>()
                .unwrap_or(usize::MAX),
            f.clone(),
        )
    });
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| (f.starts_with("battery_P") && f.ends_with(".csv")) || f.as_str() == "vpp.csv")
    {
        let Some(rows) = read_rows::<BatteryRow>(dir, f)? else {
            continue;
        };
        let vpp = f == "vpp.csv";
        let prosumer = if vpp {
            pros.iter().find(|p| p.class == "vpp").map(|p| p.prosumer)
        } else {
            f.trim_start_matches("battery_P")
                .trim_end_matches(".csv")
                .parse()
                .ok()
        };
        let soc: Vec<f64> = rows.iter().map(|r| r.soc_kwh.0).collect();
        let cap = prosumer
            .and_then(|i| pros.iter().find(|p| p.prosumer == i))
            .map(|p| p.battery_kwh.0)
            .filter(|c| *c > 0.0)
            .unwrap_or_else(|| soc.iter().copied().fold(0.0, f64::max).max(1e-9));
        out.push(Storage {
            name: if vpp {
                "community battery".into()
            } else {
                prosumer
                    .and_then(|i| pros.iter().find(|p| p.prosumer == i))
                    .map_or(f.trim_end_matches(".csv").to_string(), |p| p.name.clone())
            },
            prosumer,
            vpp,
            capacity_kwh: cap,
            soc_kwh: soc,
        });
    }
    Ok(out)
}

/// The battery chart: the home fleet as median, interquartile and min–max bands of SOC in % of
/// capacity (25 batteries are a spread, not 25 colours), the community battery as its own line.
fn battery_chart(st: &[Storage], hours: &[f64]) -> String {
    let homes: Vec<&Storage> = st.iter().filter(|s| !s.vpp).collect();
    let n = hours.len();
    let mut c = Chart {
        title: format!(
            "State of charge{}",
            if homes.is_empty() {
                String::new()
            } else {
                let cap: f64 = homes.iter().map(|s| s.capacity_kwh).sum();
                format!(
                    " — {} home batteries ({} kWh in total) as a spread, the community battery as a line",
                    homes.len(),
                    crate::util::fmt_f64((cap * 10.0).round() / 10.0)
                )
            }
        ),
        x_label: "hour of day (h)".into(),
        y_label: "state of charge (% of capacity)".into(),
        xs: hours.to_vec(),
        hours: true,
        ..Default::default()
    };
    if !homes.is_empty() {
        let mut q = vec![[f64::NAN; 5]; n];
        let mut total = vec![0.0; n];
        for (t, qt) in q.iter_mut().enumerate() {
            let mut v: Vec<f64> = homes
                .iter()
                .filter_map(|s| s.soc_kwh.get(t).map(|x| 100.0 * x / s.capacity_kwh))
                .collect();
            v.sort_by(f64::total_cmp);
            for (k, p) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
                qt[k] = quantile(&v, *p);
            }
            let cap: f64 = homes.iter().map(|s| s.capacity_kwh).sum();
            total[t] = 100.0 * homes.iter().filter_map(|s| s.soc_kwh.get(t)).sum::<f64>() / cap;
        }
        let col = |k: usize| q.iter().map(|x| x[k]).collect::<Vec<f64>>();
        c.bands.push(Band {
            name: "home batteries, min–max".into(),
            lo: col(0),
            hi: col(4),
            color: 0,
            opacity: 0.15,
        });
        c.bands.push(Band {
            name: "home batteries, quartiles".into(),
            lo: col(1),
            hi: col(3),
            color: 0,
            opacity: 0.3,
        });
        c.series.push(Series {
            name: "home batteries, median".into(),
            ys: col(2),
        });
        c.colors.push(0);
        c.series.push(Series {
            name: "home fleet, total".into(),
            ys: total,
        });
        c.colors.push(2);
    }
    for s in st.iter().filter(|s| s.vpp) {
        c.series.push(Series {
            name: s.name.clone(),
            ys: s
                .soc_kwh
                .iter()
                .map(|x| 100.0 * x / s.capacity_kwh)
                .collect(),
        });
        c.colors.push(1);
    }
    c.render()
}

/// The per-step data of the playback and the wallets (the JSON blob the script draws).
fn playback_data(
    dir: &Path,
    summary: &Value,
    map: Option<&MapData>,
    pros: &[ProsumerRow],
    st: &[Storage],
    labels: &[String],
    hours: &[f64],
) -> Result<Value> {
    let n = labels.len();
    let mut loading: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    if let Some(m) = map {
        for k in &m.branch_keys {
            loading.insert(k.clone(), vec![Value::Null; n]);
        }
    }
    for r in read_rows::<LoadingRow>(dir, "line_loading.csv")?.unwrap_or_default() {
        if r.case == "p2p" && r.step < n {
            if let Some(v) = loading.get_mut(r.element.as_ref()) {
                v[r.step] = r4(r.loading_percent.0);
            }
        }
    }
    let mut vm: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in read_rows::<VoltageRow>(dir, "bus_voltages.csv")?.unwrap_or_default() {
        if r.case == "p2p" && r.step < n {
            vm.entry(r.bus.to_string())
                .or_insert_with(|| vec![Value::Null; n])[r.step] =
                json!((r.vm_pu.0 * 1e5).round() / 1e5);
        }
    }
    // P2P flows between buses per step (executed energy), the same bus's trades left out.
    let mut flows: Vec<BTreeMap<(i64, i64), f64>> = vec![BTreeMap::new(); n];
    for r in read_rows::<TradeRow>(dir, "trades.csv")?.unwrap_or_default() {
        if r.step < n && r.executed_kwh.0 > 0.0 && r.seller_bus != r.buyer_bus {
            *flows[r.step]
                .entry((r.seller_bus, r.buyer_bus))
                .or_default() += r.executed_kwh.0;
        }
    }
    let flows: Vec<Value> = flows
        .iter()
        .map(|m| Value::Array(m.iter().map(|((a, b), k)| json!([a, b, r4(*k)])).collect()))
        .collect();
    // Money and energy per prosumer and step (P2P case) from settlement.csv.
    let fields = [
        "bill",
        "p2p_paid",
        "p2p_received",
        "grid_paid",
        "grid_received",
        "p2p_bought_kwh",
        "p2p_sold_kwh",
        "grid_import_kwh",
        "grid_export_kwh",
        "load_kwh",
        "pv_kwh",
    ];
    let np = pros.len();
    let mut per: Vec<Vec<Vec<f64>>> = vec![vec![vec![0.0; n]; fields.len()]; np];
    if let Some(t) = read_table(dir, "settlement.csv")? {
        for row in t.rows() {
            if row.raw("case") != Some("p2p") {
                continue;
            }
            let (Ok(step), Ok(i)) = (row.int("step"), row.int("prosumer")) else {
                continue;
            };
            let (step, i) = (step as usize, i as usize);
            if step >= n || i >= np {
                continue;
            }
            for (k, f) in fields.iter().enumerate() {
                per[i][k][step] = row.f64_or(f, 0.0)?;
            }
        }
    }
    let prosumers: Vec<Value> = pros
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut o = serde_json::Map::new();
            o.insert("id".into(), json!(p.prosumer));
            o.insert("name".into(), json!(p.name));
            o.insert("bus".into(), json!(p.bus));
            o.insert("class".into(), json!(p.class));
            o.insert("pv_kwp".into(), r4(p.pv_kwp.0));
            o.insert("battery_kwh".into(), r4(p.battery_kwh.0));
            o.insert("baseline_bill".into(), r4(p.baseline_bill.0));
            o.insert("p2p_bill".into(), r4(p.p2p_bill.0));
            o.insert("savings".into(), r4(p.savings.0));
            for (k, f) in fields.iter().enumerate() {
                o.insert(
                    (*f).into(),
                    Value::Array(per[i][k].iter().map(|v| r4(*v)).collect()),
                );
            }
            Value::Object(o)
        })
        .collect();
    let storage: Vec<Value> = st
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "prosumer": s.prosumer,
                "vpp": s.vpp,
                "capacity_kwh": r4(s.capacity_kwh),
                "soc_kwh": s.soc_kwh.iter().map(|v| r4(*v)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let buses: BTreeMap<String, Value> = map
        .map(|m| {
            m.bus_pos
                .iter()
                .map(|(b, (x, y))| (b.to_string(), json!([r4(*x), r4(*y)])))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({
        "currency": summary["currency"].as_str().unwrap_or("$"),
        "step_minutes": summary["network"]["step_minutes"],
        "labels": labels,
        "hours": hours.iter().map(|h| r4(*h)).collect::<Vec<_>>(),
        "vmin_pu": summary["scenario"]["clearing"]["vmin_pu"],
        "vmax_pu": summary["scenario"]["clearing"]["vmax_pu"],
        "loading": loading,
        "vm": vm,
        "flows": flows,
        "bus_xy": buses,
        "prosumers": prosumers,
        "storage": storage,
    }))
}

/// The JSON blob as the content of a `<script type="application/json">` (no `</` inside).
fn json_in_script(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The inline script: installs an error recorder first, so a failure anywhere is visible in the
/// DOM (`<html data-jserrors>`).
const ERROR_GUARD: &str = r#"(function(){var d=document.documentElement;function rec(m){d.setAttribute('data-jserrors',(d.getAttribute('data-jserrors')||'')+m+'; ');}window.addEventListener('error',function(e){rec(String(e.message||e));});window.addEventListener('unhandledrejection',function(e){rec('rejection '+String(e.reason));});})();"#;

/// Playback and wallets (plain JS over SVG, no libraries).
const SCRIPT: &str = include_str!("report.js");

fn playback_section() -> String {
    String::from(
        r##"<div class="controls noprint" id="playback"><button type="button" id="play">Play</button> <label for="step">step</label> <input type="range" id="step" min="0" max="0" value="0"> <output id="step-label" for="step"></output> <span class="hint">(link to this moment: <a id="step-link" href="#step=0">#step=0</a>)</span></div>
<p class="noscript-note">Without scripts the map shows the day's peak values; with them, the slider replays the day step by step.</p>
"##,
    )
}

fn wallets_section() -> String {
    String::from(
        r##"<h2>Wallets and money flows</h2>
<p>Money follows one sign rule here: a wallet is what a prosumer has received minus what it has paid since midnight (P2P case), in the scenario's currency; credits are the P2P energy it delivered minus what it received, in kWh (1 credit = 1 kWh, as in the ledger).</p>
<div class="controls"><label for="who">prosumer</label> <select id="who"></select> <a id="csv-day" download="netclear_day.csv" href="#">download the chosen prosumer's day and the money flows on screen (CSV)</a> · <a id="csv-rank" download="netclear_balances.csv" href="#">download the ranked balances (CSV)</a></div>
<p id="day-summary" class="summary"></p>
<figure><figcaption>Wallet over the day: the chosen prosumer, the others in grey</figcaption><svg id="wallet-chart" class="chart" viewBox="0 0 760 300" role="img" aria-label="wallets"></svg></figure>
<figure><figcaption>Energy credits over the day: the chosen prosumer</figcaption><svg id="credit-chart" class="chart" viewBox="0 0 760 300" role="img" aria-label="credits"></svg></figure>
<figure><figcaption>Money per step: internal settlement (paid between prosumers) vs external net (received from minus paid to the retailer)</figcaption><svg id="money-chart" class="chart" viewBox="0 0 760 300" role="img" aria-label="money flows"></svg></figure>
<figure id="vpp-figure"><figcaption>Community battery: what it bought and sold, from peers and from the retailer</figcaption><svg id="vpp-chart" class="chart" viewBox="0 0 760 300" role="img" aria-label="community battery"></svg></figure>
<figure><figcaption>End-of-day balances, ranked</figcaption><svg id="rank-chart" class="chart" viewBox="0 0 760 300" role="img" aria-label="balances ranked"></svg></figure>
"##,
    )
}

/// Renders the report of a run folder (`summary.json` + CSVs) or a sweep folder (`results.csv`).
pub fn render(dir: &Path) -> Result<String> {
    let mut body = String::new();
    let summary_path = dir.join("summary.json");
    let title;
    let mut script = String::new();
    if let Ok(text) = std::fs::read_to_string(&summary_path) {
        let summary: Value = serde_json::from_str(&text).map_err(|e| Error::Malformed {
            loc: crate::Location::file(summary_path.display().to_string()),
            msg: e.to_string(),
        })?;
        title = format!(
            "netclear — {} on {}",
            summary["scenario"]["network"].as_str().unwrap_or("?"),
            summary["scenario"]["day"].as_str().unwrap_or("?")
        );
        let cur = summary["currency"].as_str().unwrap_or("$").to_string();
        let step_h = summary["network"]["step_minutes"].as_f64().unwrap_or(60.0) / 60.0;
        body += "<h2>Baseline vs P2P</h2>\n";
        body += &kpi_table(&summary);
        body += &designs_table(&summary);
        body += &modes_table(&summary);
        let pros = read_rows::<ProsumerRow>(dir, "prosumers.csv")?.unwrap_or_default();
        if !pros.is_empty() {
            let mut sav: Vec<f64> = pros.iter().map(|r| r.savings.0).collect();
            sav.sort_by(f64::total_cmp);
            let xs: Vec<f64> = (1..=sav.len()).map(|i| i as f64).collect();
            body += &line_chart(
                "Savings per prosumer against the baseline (sorted)",
                "prosumer rank (1 = smallest saving)",
                &format!("saving ({cur} per day)"),
                &xs,
                &[("saving".into(), sav)],
            );
        }
        let mut labels: Vec<String> = Vec::new();
        if let Some(rows) = read_rows::<Hourly>(dir, "hourly.csv")? {
            let p2p: Vec<&Hourly> = rows.iter().filter(|r| r.case == "p2p").collect();
            labels = p2p.iter().map(|r| r.time.clone()).collect();
            let xs: Vec<f64> = p2p.iter().map(|r| r.step as f64 * step_h).collect();
            let col = |f: fn(&Hourly) -> f64| -> Vec<f64> { p2p.iter().map(|r| f(r)).collect() };
            let energy = Chart {
                title: "Energy per step".into(),
                x_label: "hour of day (h)".into(),
                y_label: "energy per step (kWh)".into(),
                xs: xs.clone(),
                hours: true,
                series: [
                    ("load", col(|r| r.load_kwh.0)),
                    ("PV", col(|r| r.pv_kwh.0)),
                    ("P2P traded", col(|r| r.p2p_kwh.0)),
                    ("grid import", col(|r| r.grid_import_kwh.0)),
                    ("grid export", col(|r| r.grid_export_kwh.0)),
                    ("PV curtailed", col(|r| r.curtailed_kwh.0)),
                ]
                .into_iter()
                .map(|(n, ys)| Series { name: n.into(), ys })
                .collect(),
                ..Default::default()
            };
            body += "<h2>Energy per step (P2P case)</h2>\n";
            body += &energy.render();
            let mut prices = Chart {
                title: "Prices per step".into(),
                x_label: "hour of day (h)".into(),
                y_label: format!("price ({cur}/kWh)"),
                xs: xs.clone(),
                hours: true,
                clip_outliers: true,
                series: vec![
                    Series {
                        name: "retail".into(),
                        ys: col(|r| r.retail_per_kwh.0),
                    },
                    Series {
                        name: "feed-in".into(),
                        ys: col(|r| r.feed_in_per_kwh.0),
                    },
                    Series {
                        name: "P2P average".into(),
                        ys: col(|r| r.p2p_avg_price_per_kwh.map_or(f64::NAN, |v| v.0)),
                    },
                ],
                ..Default::default()
            };
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
                let fin = |v: Vec<f64>| {
                    v.into_iter()
                        .map(|x| if x.is_finite() { x } else { f64::NAN })
                        .collect::<Vec<_>>()
                };
                prices.series.push(Series {
                    name: "nodal price, lowest".into(),
                    ys: fin(lo),
                });
                prices.series.push(Series {
                    name: "nodal price, highest".into(),
                    ys: fin(hi),
                });
            }
            body += "<h2>Prices</h2>\n";
            body += &prices.render();
        }
        let hours: Vec<f64> = (0..labels.len()).map(|t| t as f64 * step_h).collect();
        let st = storages(dir, &pros)?;
        if !st.is_empty() {
            body += "<h2>Battery state of charge</h2>\n";
            body += &battery_chart(&st, &hours);
        }
        body += "<h2>Feeder</h2>\n";
        let map = feeder_map(dir)?;
        match &map {
            Some(m) => {
                body += &playback_section();
                body += &m.svg;
                body += r#"<div class="two"><figure><figcaption>State of charge of every storage at this step</figcaption><svg id="soc-now" class="chart" viewBox="0 0 760 220" role="img" aria-label="storage at this step"></svg></figure><figure><figcaption>Running wallet of every prosumer at this step</figcaption><svg id="wallet-now" class="chart" viewBox="0 0 760 220" role="img" aria-label="wallets at this step"></svg></figure></div>"#;
                body += "\n";
            }
            None => body += "<p>(no feeder.json with bus coordinates in the run folder)</p>\n",
        }
        if !pros.is_empty() && !labels.is_empty() {
            body += &wallets_section();
            let data = playback_data(dir, &summary, map.as_ref(), &pros, &st, &labels, &hours)?;
            let _ = write!(
                script,
                "<script type=\"application/json\" id=\"netclear-data\">{}</script>\n<script>{SCRIPT}</script>\n",
                json_in_script(&data)
            );
        }
    } else if let Some(t) = read_table(dir, "results.csv")? {
        title = "netclear — sweep".to_string();
        body += &sweep_charts(&t);
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
<script>{guard}</script>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 1em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
td:first-child {{ text-align: left; }} figure {{ margin: 1em 0; }} figcaption {{ font-weight: 600; margin-bottom: .3em; }}
figcaption .note {{ font-weight: 400; font-style: italic; }}
svg.chart {{ width: 100%; height: auto; background: #fff; }}
.controls {{ margin: .5em 0; font-size: 14px; }} .controls input[type=range] {{ width: 50%; vertical-align: middle; }}
.hint {{ color: #666; font-size: 12px; }} .summary {{ background: #f6f6f6; padding: .5em .8em; border-left: 3px solid #1f77b4; }}
.two {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }}
html[data-ready] .noscript-note {{ display: none; }}
@media print {{
  body {{ max-width: none; margin: 0; font-size: 11pt; }}
  .noprint, .controls, .hint {{ display: none; }}
  h2 {{ break-after: avoid; }} figure, table {{ break-inside: avoid; }}
  a {{ color: inherit; text-decoration: none; }}
  svg.chart {{ max-height: 9cm; }}
}}
</style></head>
<body><h1>{t}</h1>
{body}<footer><p>Generated by netclear {v}. Self-contained: inline scripts only, no external resources.</p></footer>
{script}</body></html>
"#,
        t = esc(&title),
        guard = ERROR_GUARD,
        v = env!("CARGO_PKG_VERSION"),
    ))
}

/// A sweep's charts: every swept numeric dimension with more than one value, each KPI against it
/// per feeder as the median over the other dimensions (days, seeds, …) with the interquartile
/// range and min–max as bands.
fn sweep_charts(t: &Table) -> String {
    let mut body = String::new();
    let mut nets: Vec<String> = t
        .rows()
        .filter_map(|r| r.raw("network").map(String::from))
        .collect();
    nets.sort();
    nets.dedup();
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
            "<h2>KPIs against {} (median, quartiles and range over the other dimensions)</h2>",
            esc(label)
        );
        for kpi in [
            "p2p_self_sufficiency",
            "p2p_p2p_share_of_load",
            "p2p_community_cost",
            "p2p_max_line_loading_percent",
        ] {
            let def = KPIS.iter().find(|k| format!("p2p_{}", k.key) == kpi);
            let scale = def.map_or(1.0, |d| d.scale);
            let heading = def.map_or(kpi.to_string(), |d| d.heading());
            let mut c = Chart {
                title: format!("{}, P2P case", def.map_or(kpi, |d| d.label)),
                x_label: label.into(),
                y_label: heading,
                xs: xs.clone(),
                ..Default::default()
            };
            for (ni, n) in nets.iter().enumerate() {
                let mut q = vec![[f64::NAN; 5]; xs.len()];
                for (i, x) in xs.iter().enumerate() {
                    let mut v: Vec<f64> = t
                        .rows()
                        .filter(|r| {
                            r.raw("network") == Some(n.as_str())
                                && r.f64(dim).ok() == Some(*x)
                                && r.raw("status") == Some("ok")
                        })
                        .filter_map(|r| r.f64(kpi).ok())
                        .map(|v| v * scale)
                        .collect();
                    v.sort_by(f64::total_cmp);
                    for (k, p) in [0.0, 0.25, 0.5, 0.75, 1.0].iter().enumerate() {
                        q[i][k] = quantile(&v, *p);
                    }
                }
                let col = |k: usize| q.iter().map(|x| x[k]).collect::<Vec<f64>>();
                let spread = q.iter().any(|x| x[4] > x[0]);
                if spread {
                    c.bands.push(Band {
                        name: format!("{n}, min–max"),
                        lo: col(0),
                        hi: col(4),
                        color: ni,
                        opacity: 0.12,
                    });
                    c.bands.push(Band {
                        name: format!("{n}, quartiles"),
                        lo: col(1),
                        hi: col(3),
                        color: ni,
                        opacity: 0.3,
                    });
                }
                c.series.push(Series {
                    name: format!("{n}, median"),
                    ys: col(2),
                });
                c.colors.push(ni);
            }
            body += &c.render();
        }
    }
    if !body.contains("<h2>") {
        body += "<p>The sweep varies no numeric dimension; see results.csv.</p>\n";
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        assert!(close(
            &nice_ticks(0.0, 1.0, 5),
            &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        ));
        assert!(close(&nice_ticks(-3.0, 17.0, 5), &[0.0, 5.0, 10.0, 15.0]));
        let t = nice_ticks(0.05, 0.4, 5);
        assert!(close(&t, &[0.1, 0.2, 0.3, 0.4]), "{t:?}");
        assert_eq!(tick_label(0.6000000000000001, 0.2), "0.6");
        assert_eq!(tick_label(-0.0, 0.5), "0.0");
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        assert_eq!(tick_label(12.0, 3.0), "12");
        assert_eq!(tick_label(-1e-17, 2.5), "0.0");
    }

    #[test]
    fn an_outlier_is_clipped_and_the_caption_says_so() {
        let xs: Vec<f64> = (0..24).map(f64::from).collect();
        let mut ys = vec![0.25; 24];
        ys[3] = 8.7;
        let c = Chart {
            title: "p".into(),
            xs: xs.clone(),
            hours: true,
            clip_outliers: true,
            series: vec![
                Series {
                    name: "a".into(),
                    ys,
                },
                Series {
                    name: "b".into(),
                    ys: vec![0.05; 24],
                },
            ],
            ..Default::default()
        };
        let s = c.render();
        assert!(s.contains("clipped to the 1st–99th percentile"), "{s}");
        assert!(!s.contains(">8<"), "the outlier sets no tick");
        let c = Chart {
            clip_outliers: false,
            ..c
        };
        assert!(!c.render().contains("clipped"));
    }
}
