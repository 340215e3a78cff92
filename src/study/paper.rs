//! The SmartGridComm 2024 study (Fernandes, Christin, Kar) next to its corrected version.
//!
//! `--preset paper2024` reproduces the notebook: CIGRE LV, its leaf placement (loads on
//! `leaves[0::2][:n]`, PV on `leaves[1::2][:n]`, `n = int(0.5·#leaves)`), residential median
//! Cluster_0 loads and 3 kWp solar Cluster_1, fixed bid 0.20 / ask 0.05 $/kWh and the notebook's
//! matching (`paper-greedy`). `--preset paper2024-corrected` fixes what can be fixed at the
//! market level (merit order, several trades per buyer, no PV on the MV slack bus) and evaluates
//! the result with the real network model (line lengths, per-unit impedances, power balance at
//! every node with a single slack), and both are reported side by side. See
//! `docs/paper2024.md` for each defect and its effect.

use super::DayResult;
use crate::fmt_f64 as f;
use crate::scenario::community::Community;
use serde::Serialize;

/// One hour of the paper's table.
#[derive(Debug, Clone, Serialize)]
pub struct PaperHour {
    /// Hour of day.
    pub hour: usize,
    /// Total load, kWh.
    pub total_load_kwh: f64,
    /// Number of trades.
    pub n_trades: usize,
    /// P2P volume, kWh (the paper's LP executes every trade fully).
    pub p2p_kwh: f64,
    /// P2P / load, %.
    pub pct_load_by_p2p: f64,
    /// Load not covered by P2P, kWh (the paper's "inverted slack").
    pub grid_kwh: f64,
}

/// Day figures of one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// `paper2024` or `paper2024-corrected`.
    pub name: String,
    /// Feeder.
    pub network: String,
    /// Load buses.
    pub load_buses: Vec<i64>,
    /// PV buses.
    pub pv_buses: Vec<i64>,
    /// Total load, kWh.
    pub load_kwh: f64,
    /// Total PV, kWh.
    pub pv_kwh: f64,
    /// P2P volume, kWh.
    pub p2p_kwh: f64,
    /// P2P / load, %.
    pub p2p_pct_of_load: f64,
    /// Trades.
    pub n_trades: usize,
    /// Largest number of sellers one buyer traded with in an hour.
    pub max_sellers_per_buyer: usize,
    /// Highest real line loading (DC, shipped ratings), %.
    pub max_line_loading_percent: f64,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: f64,
    /// Peak import from the upstream grid, kW.
    pub peak_import_kw: f64,
    /// Hourly table.
    pub hours: Vec<PaperHour>,
}

/// The two variants side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// As the notebook computes it.
    pub paper: Variant,
    /// With the defects fixed.
    pub corrected: Option<Variant>,
    /// The single-timestep study (`paper2024-single-step`): the notebook's LP at hour 11 with
    /// the trades ×100, beside netclear's correction of the same trades.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_step: Option<super::paper_step::SingleStep>,
}

/// The day figures of a run.
pub fn variant(name: &str, c: &Community, r: &DayResult) -> Variant {
    let hours: Vec<PaperHour> = (0..c.n_steps())
        .map(|t| {
            let tot = r.p2p.step_total(t);
            let n = r.trades.iter().filter(|x| x.step == t).count();
            PaperHour {
                hour: t,
                total_load_kwh: tot.load_kwh,
                n_trades: n,
                p2p_kwh: tot.p2p_bought_kwh,
                pct_load_by_p2p: if tot.load_kwh > 0.0 {
                    100.0 * tot.p2p_bought_kwh / tot.load_kwh
                } else {
                    0.0
                },
                grid_kwh: tot.load_kwh - tot.p2p_bought_kwh,
            }
        })
        .collect();
    let mut max_sellers = 0;
    for t in 0..c.n_steps() {
        for p in &c.prosumers {
            let n = r
                .trades
                .iter()
                .filter(|x| x.step == t && x.trade.buyer == p.id)
                .count();
            max_sellers = max_sellers.max(n);
        }
    }
    let k = &r.p2p.kpis;
    Variant {
        name: name.into(),
        network: c.network.manifest.name.clone(),
        load_buses: c
            .prosumers
            .iter()
            .filter(|p| p.households > 0)
            .map(|p| p.bus.0)
            .collect(),
        pv_buses: c
            .prosumers
            .iter()
            .filter(|p| p.pv_kwp > 0.0)
            .map(|p| p.bus.0)
            .collect(),
        load_kwh: k.load_kwh,
        pv_kwh: k.pv_kwh,
        p2p_kwh: k.p2p_kwh,
        p2p_pct_of_load: 100.0 * k.p2p_share_of_load,
        n_trades: k.n_trades,
        max_sellers_per_buyer: max_sellers,
        max_line_loading_percent: k.max_line_loading_percent,
        max_trafo_loading_percent: k.max_trafo_loading_percent,
        peak_import_kw: k.peak_import_kw,
        hours,
    }
}

impl Comparison {
    /// `paper_hourly.csv`: the paper's hourly table, with the corrected columns beside it.
    pub fn hourly_csv(&self) -> String {
        let mut s = String::from("hour,paper_total_load_kwh,paper_n_trades,paper_p2p_kwh,paper_pct_load_by_p2p,paper_grid_kwh");
        if self.corrected.is_some() {
            s += ",corrected_total_load_kwh,corrected_n_trades,corrected_p2p_kwh,corrected_pct_load_by_p2p,corrected_grid_kwh";
        }
        s.push('\n');
        for (i, h) in self.paper.hours.iter().enumerate() {
            s += &format!(
                "{},{},{},{},{},{}",
                h.hour,
                f(h.total_load_kwh),
                h.n_trades,
                f(h.p2p_kwh),
                f(h.pct_load_by_p2p),
                f(h.grid_kwh)
            );
            if let Some(c) = &self.corrected {
                let h = &c.hours[i];
                s += &format!(
                    ",{},{},{},{},{}",
                    f(h.total_load_kwh),
                    h.n_trades,
                    f(h.p2p_kwh),
                    f(h.pct_load_by_p2p),
                    f(h.grid_kwh)
                );
            }
            s.push('\n');
        }
        s
    }

    /// Side-by-side terminal table (the single-timestep study's own, for its preset).
    pub fn table(&self) -> String {
        if let Some(ss) = &self.single_step {
            return ss.table();
        }
        let p = &self.paper;
        let mut t = format!("\nSmartGridComm 2024 study on {}\n", p.network);
        let c = self.corrected.as_ref();
        t += &format!(
            "{:<34} {:>16} {:>16}\n",
            "",
            "paper (as coded)",
            if c.is_some() { "corrected" } else { "" }
        );
        let mut row = |name: &str, a: String, b: Option<String>| {
            t += &format!("{:<34} {:>16} {:>16}\n", name, a, b.unwrap_or_default());
        };
        row(
            "load buses",
            format!("{:?}", p.load_buses).replace(' ', ""),
            c.map(|c| format!("{:?}", c.load_buses).replace(' ', "")),
        );
        row(
            "PV buses",
            format!("{:?}", p.pv_buses).replace(' ', ""),
            c.map(|c| format!("{:?}", c.pv_buses).replace(' ', "")),
        );
        row(
            "daily load (kWh)",
            format!("{:.3}", p.load_kwh),
            c.map(|c| format!("{:.3}", c.load_kwh)),
        );
        row(
            "daily PV (kWh)",
            format!("{:.3}", p.pv_kwh),
            c.map(|c| format!("{:.3}", c.pv_kwh)),
        );
        row(
            "P2P traded (kWh)",
            format!("{:.3}", p.p2p_kwh),
            c.map(|c| format!("{:.3}", c.p2p_kwh)),
        );
        row(
            "P2P share of load (%)",
            format!("{:.2}", p.p2p_pct_of_load),
            c.map(|c| format!("{:.2}", c.p2p_pct_of_load)),
        );
        row(
            "trades",
            p.n_trades.to_string(),
            c.map(|c| c.n_trades.to_string()),
        );
        row(
            "max sellers per buyer and hour",
            p.max_sellers_per_buyer.to_string(),
            c.map(|c| c.max_sellers_per_buyer.to_string()),
        );
        row(
            "peak import (kW, DC)",
            format!("{:.2}", p.peak_import_kw),
            c.map(|c| format!("{:.2}", c.peak_import_kw)),
        );
        row(
            "max line loading (%, real ratings)",
            format!("{:.2}", p.max_line_loading_percent),
            c.map(|c| format!("{:.2}", c.max_line_loading_percent)),
        );
        row(
            "max trafo loading (%)",
            format!("{:.2}", p.max_trafo_loading_percent),
            c.map(|c| format!("{:.2}", c.max_trafo_loading_percent)),
        );
        t
    }
}
