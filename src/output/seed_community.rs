//! The seed community's outputs (`--preset community100`): its five logs as tidy CSV through
//! the typed rows of [`super::rows`] — `prosumer_energy.csv`, `prosumer_trading.csv`,
//! `all_trades.csv`, `regulator_actions.csv`, `community_summary.csv` — plus `summary.json` (the
//! scenario, the network mode and the [`Metrics`]) and the terminal table. Written atomically
//! through one [`Stage`] like every run folder.

use super::rows::{
    Num, SeedEnergyRow, SeedOrderRow, SeedRegulatorRow, SeedSummaryRow, SeedTradeRow,
};
use super::{clean_negative_zero, csv_file};
use crate::error::{Error, Result};
use crate::study::seed_community::{Metrics, Party, Role, SeedRun};
use crate::util::atomic::Stage;
use crate::util::serde_name;
use serde::Serialize;
use std::path::Path;

/// What the network part of the run was.
#[derive(Debug, Serialize)]
pub struct NetworkMode {
    /// `none` or the feeder's name.
    pub network: String,
    /// In words.
    pub description: String,
}

/// `summary.json` of a seed-community run.
#[derive(Debug, Serialize)]
pub struct SeedSummary<'a> {
    /// netclear version.
    pub netclear_version: &'static str,
    /// The resolved scenario.
    pub scenario: &'a crate::scenario::Scenario,
    /// Money unit of every money figure.
    pub currency: &'static str,
    /// The network.
    pub network: NetworkMode,
    /// The metrics.
    pub metrics: Metrics,
}

/// The network mode of a run, in words.
pub fn network_mode(r: &SeedRun) -> NetworkMode {
    let description = match &r.network {
        None => "copper plate: no power flow, no network correction (the seed has no network)"
            .to_string(),
        Some(_) => format!(
            "{} prosumers on the load buses of {} (prosumer i on the (i mod n)-th); one power \
             flow of the metered injections per step, no correction (the seed's market has no \
             network limits)",
            r.prosumers.len(),
            r.network_name
        ),
    };
    NetworkMode {
        network: r.network_name.clone(),
        description,
    }
}

/// `summary.json`, as text.
pub fn summary_json(r: &SeedRun) -> Result<String> {
    let s = SeedSummary {
        netclear_version: env!("CARGO_PKG_VERSION"),
        scenario: &r.scenario,
        currency: "EUR",
        network: network_mode(r),
        metrics: r.metrics(),
    };
    let mut v = serde_json::to_value(&s).map_err(|e| Error::Numerical(e.to_string()))?;
    clean_negative_zero(&mut v);
    serde_json::to_string_pretty(&v)
        .map(|t| t + "\n")
        .map_err(|e| Error::Numerical(e.to_string()))
}

fn party(p: Party) -> String {
    match p {
        Party::Prosumer(i) => i.to_string(),
        Party::Market => "market".into(),
    }
}

/// Writes the run folder; returns the number of files.
pub fn write(r: &SeedRun, dir: &Path, force: bool) -> Result<usize> {
    let stage = Stage::new(dir, force)?;
    stage.write("summary.json", summary_json(r)?.as_bytes())?;
    let n = r.prosumers.len();
    let cap = r.scenario.market.trade_cap_kwh;

    csv_file(
        &stage,
        "prosumer_energy.csv",
        (0..r.n_steps()).flat_map(|t| {
            (0..n).map(move |i| {
                let a = &r.accounts[t][i];
                let b = &r.batteries[t][i];
                let g = &r.regulator[t][i];
                SeedEnergyRow {
                    step: t,
                    time: r.step_label(t),
                    prosumer: i,
                    bus: r.prosumers[i].bus,
                    pv_kwh: a.pv_kwh.into(),
                    load_kwh: a.load_kwh.into(),
                    imbalance_before_battery_kwh: (a.pv_kwh - a.load_kwh).into(),
                    battery_charge_kwh: a.battery_in_kwh.into(),
                    battery_discharge_own_kwh: b.own_discharge_kwh.into(),
                    battery_discharge_sold_kwh: b.sold_kwh.into(),
                    soc_kwh: r.prosumers[i].battery.map(|_| Num(b.soc_kwh)),
                    self_consumed_kwh: a.self_kwh.into(),
                    p2p_bought_kwh: a.p2p_bought_kwh.into(),
                    p2p_sold_kwh: a.p2p_sold_kwh.into(),
                    market_bought_kwh: a.grid_import_kwh.into(),
                    market_sold_kwh: a.grid_export_kwh.into(),
                    energy_bill: (a.bill() - a.policy_penalty + a.policy_bonus).into(),
                    bonus: a.policy_bonus.into(),
                    penalty: a.policy_penalty.into(),
                    balance: g.standing.balance.into(),
                    banned: g.banned,
                }
            })
        }),
    )?;

    csv_file(
        &stage,
        "prosumer_trading.csv",
        r.orders.iter().map(|o| {
            let pr = &r.prices[o.step];
            let buyer = o.role == Role::Buyer;
            let priced = matches!(o.role, Role::Seller | Role::BatterySeller);
            SeedOrderRow {
                step: o.step,
                time: r.step_label(o.step),
                prosumer: o.prosumer,
                role: serde_name(&o.role),
                desired_kwh: o.desired_kwh.into(),
                urgency: crate::market::strategy::cap_urgency(o.desired_kwh, cap).into(),
                bid_per_kwh: o.price_per_kwh.filter(|_| buyer).map(Num),
                ask_per_kwh: o.price_per_kwh.filter(|_| priced).map(Num),
                grid_buy_per_kwh: pr.buy_per_kwh.into(),
                grid_sell_per_kwh: pr.sell_per_kwh.into(),
                matched_kwh: o.matched_kwh.into(),
                unmatched_kwh: (o.desired_kwh - o.matched_kwh).max(0.0).into(),
            }
        }),
    )?;

    csv_file(
        &stage,
        "all_trades.csv",
        r.trades.iter().map(|x| SeedTradeRow {
            step: x.step,
            time: r.step_label(x.step),
            kind: if x.p2p { "p2p" } else { "market" }.into(),
            seller: party(x.seller),
            buyer: party(x.buyer),
            kwh: x.kwh.into(),
            price_per_kwh: x.buyer_price_per_kwh.into(),
            amount: (x.kwh * x.buyer_price_per_kwh).into(),
        }),
    )?;

    csv_file(
        &stage,
        "regulator_actions.csv",
        (0..r.n_steps()).flat_map(|t| {
            (0..n).map(move |i| {
                let g = &r.regulator[t][i];
                let a = &r.accounts[t][i];
                // The longest ban issued to this prosumer at the end of this step.
                let ban = r
                    .bans
                    .iter()
                    .filter(|b| b.step == t && b.prosumer == i)
                    .max_by_key(|b| b.steps);
                SeedRegulatorRow {
                    step: t,
                    time: r.step_label(t),
                    prosumer: i,
                    renewable_kwh: g.conduct.renewable_kwh.into(),
                    p2p_kwh: g.conduct.p2p_kwh.into(),
                    market_kwh: g.conduct.market_kwh.into(),
                    bonus: a.policy_bonus.into(),
                    penalty: a.policy_penalty.into(),
                    bonus_total: g.standing.bonus_total.into(),
                    penalties_total: g.standing.penalties_total.into(),
                    balance: g.standing.balance.into(),
                    banned: g.banned,
                    ban_issued: ban.map(|b| serde_name(&b.reason)).unwrap_or_default(),
                    ban_steps: ban.map_or(0, |b| b.steps),
                }
            })
        }),
    )?;

    csv_file(
        &stage,
        "community_summary.csv",
        (0..r.n_steps()).map(|t| {
            let pr = &r.prices[t];
            let (mut pv, mut load, mut ch, mut dis, mut bought, mut sold, mut bonus, mut pen) =
                (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
            for (a, b) in r.accounts[t].iter().zip(&r.batteries[t]) {
                pv += a.pv_kwh;
                load += a.load_kwh;
                ch += a.battery_in_kwh;
                dis += b.own_discharge_kwh + b.sold_kwh;
                bought += a.grid_import_kwh;
                sold += a.grid_export_kwh;
                bonus += a.policy_bonus;
                pen += a.policy_penalty;
            }
            let roles = r.orders.iter().filter(|o| o.step == t);
            let count = |role: Role| roles.clone().filter(|o| o.role == role).count();
            let trades = r.trades.iter().filter(|x| x.step == t);
            let (mut p2p_n, mut p2p_kwh, mut p2p_paid, mut mkt_n) = (0, 0.0, 0.0, 0);
            for x in trades {
                if x.p2p {
                    p2p_n += 1;
                    p2p_kwh += x.kwh;
                    p2p_paid += x.kwh * x.buyer_price_per_kwh;
                } else {
                    mkt_n += 1;
                }
            }
            let net = r.network.as_ref().map(|v| &v[t]);
            SeedSummaryRow {
                step: t,
                time: r.step_label(t),
                forecast_per_kwh: pr.forecast_per_kwh.into(),
                grid_buy_per_kwh: pr.buy_per_kwh.into(),
                grid_sell_per_kwh: pr.sell_per_kwh.into(),
                pv_kwh: pv.into(),
                load_kwh: load.into(),
                battery_charge_kwh: ch.into(),
                battery_discharge_kwh: dis.into(),
                buyers: count(Role::Buyer),
                sellers: count(Role::Seller),
                battery_sellers: count(Role::BatterySeller),
                banned: count(Role::Banned),
                p2p_trades: p2p_n,
                p2p_kwh: p2p_kwh.into(),
                p2p_avg_price_per_kwh: (p2p_kwh > 0.0).then(|| Num(p2p_paid / p2p_kwh)),
                market_trades: mkt_n,
                market_bought_kwh: bought.into(),
                market_sold_kwh: sold.into(),
                bonus: bonus.into(),
                penalty: pen.into(),
                network_model: net.map_or("none".into(), |x| serde_name(&x.model)),
                slack_import_kw: net.map(|x| Num(x.slack_import_kw)),
                losses_kw: net.map(|x| Num(x.losses_kw)),
                vmin_pu: net.and_then(|x| x.vmin_pu).map(Num),
                vmax_pu: net.and_then(|x| x.vmax_pu).map(Num),
                max_line_loading_percent: net.map(|x| Num(x.max_line_loading_percent)),
            }
        }),
    )?;
    stage.commit()?;
    Ok(6)
}

/// The terminal table of a seed-community run.
pub fn table(r: &SeedRun) -> String {
    let m = r.metrics();
    let f = |v: f64, d: usize| format!("{v:.d$}");
    let mode = network_mode(r);
    let mut rows: Vec<(String, String)> = vec![
        ("prosumers".into(), r.prosumers.len().to_string()),
        ("steps (h)".into(), r.n_steps().to_string()),
        ("network".into(), mode.description),
        ("P2P trades".into(), m.p2p_trades.to_string()),
        ("market trades".into(), m.market_trades.to_string()),
        (
            "P2P / market trades".into(),
            m.p2p_to_market_ratio.map_or("—".into(), |v| f(v, 2)),
        ),
        ("P2P share of trades (%)".into(), f(m.p2p_share_percent, 1)),
        ("P2P energy (kWh)".into(), f(m.p2p_kwh, 1)),
        ("market bought (kWh)".into(), f(m.market_bought_kwh, 1)),
        ("market sold (kWh)".into(), f(m.market_sold_kwh, 1)),
        ("renewable used on site (kWh)".into(), f(m.renewable_kwh, 1)),
        ("energy profit (€)".into(), f(m.energy_profit, 2)),
        ("incentives paid (€)".into(), f(m.incentives_paid, 2)),
        (
            "penalties collected (€)".into(),
            f(m.penalties_collected, 2),
        ),
        ("community profit (€)".into(), f(m.community_profit, 2)),
        ("average balance (€)".into(), f(m.average_balance, 2)),
        ("bans issued".into(), m.bans_issued.to_string()),
        (
            "banned prosumers (ever)".into(),
            m.banned_prosumers.to_string(),
        ),
        ("banned at the end".into(), m.banned_at_end.to_string()),
    ];
    let objective = serde_name(&r.spec.regulator.objective);
    rows.insert(3, ("regulator objective".into(), objective));
    let w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut s = String::from("seed community (community100)\n");
    for (k, v) in rows {
        s += &format!("  {k:<w$}  {v}\n");
    }
    s
}
