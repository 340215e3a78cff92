//! The seed community simulation (`--preset community100`, issue 16): 100 prosumers with PV and
//! home batteries trade their hourly imbalances in a double auction, the rest with a market
//! fallback, under a regulator that pays bonuses, collects penalties and bans. The parameters and
//! their seed names are in [`crate::scenario::seed_community`] and
//! `docs/presets/community100.md`.
//!
//! # One step `t` (hour of day `h = t mod 24`)
//!
//! 1. **Draws** (seeded by `(seed, step, prosumer, stream)`, [`crate::util::rng::unit`], so a run
//!    is reproducible and does not depend on evaluation order): PV
//!    `G = kW · sin(π (h − 6)/12) · 0.88 · w`, `w ~ U[0.5, 1]` for `6 ≤ h < 18`; load
//!    `L = max(0.25, base · f_L(h) · v)`, `v ~ U[0.85, 1.15]`; the price forecast
//!    `π = round₄(0.15 · f_π(h) · e)`, `e ~ U[0.95, 1.05]`, one per step. The market buys at
//!    `b = π + fee` and sells at `s = π − fee` (fee 0.03 €/kWh).
//! 2. **Battery, greedy** ([`crate::storage::greedy_step`], no power limit as in the seed): a
//!    surplus charges, a deficit discharges, within SOC 10–95 %, η = 0.95 each way.
//! 3. **Orders**: with the residual `r = G − L − charge + discharge`, a prosumer with
//!    `r > 0.01` kWh asks for `q = min(r, cap)`, one with `r < −0.01` bids for
//!    `q = min(−r, cap)` (cap = `market.trade_cap_kwh`, the seed's `MAX_TRADE_CAP` = 3 kWh);
//!    prices from the scenario's strategy ([`crate::market::strategy`]; the preset's
//!    `cap-urgency` is the seed's urgency pricing) with `retail = b`, `feed-in = s`. A banned
//!    prosumer places no order.
//! 4. **Battery balancing** (the seed's `balance_trading_offers`): when the bids exceed the asks
//!    by more than 0.05 kWh, prosumers with neither order and stored energy above the SOC floor
//!    offer, largest store first, `min(½ · deliverable, remaining excess, cap)` from their
//!    battery (an ask at the same strategy), until the excess is covered.
//! 5. **Auction**: the scenario's mechanism ([`crate::market::clear`]; the preset's `mid-price`
//!    is the seed's rule: merit order, each pair at the mid of bid and ask).
//! 6. **Market fallback and settlement** ([`crate::settlement::settle`], the one settlement):
//!    whatever an account's P2P trades do not cover — the unmatched part of an order, the part
//!    above the cap, a banned prosumer's whole imbalance — is bought at `b` or sold at `s` (with
//!    [`FeeMode::QuantityScaled`]: `π ± fee · q` for a market trade of `q` kWh). A battery's
//!    unsold balancing offer stays in the battery.
//! 7. **Regulator** ([`crate::settlement::regulator`]): the step's bonus and penalty (transfers,
//!    booked apart from the energy bill), then the bans for the next steps.
//! 8. **Network**: none (`network = "none"`, a copper plate: no power flow, no correction — the
//!    seed has no network) or, on a feeder, the AC power flow of every step's metered
//!    injections with prosumer `i` on the feeder's `(i mod n)`-th load bus
//!    ([`super::network::injections`], [`super::network::Solvers`]). The seed's market has no
//!    network limits, so nothing is corrected: the power flow reports what the trades do.
//!
//! # Laws every run obeys (tested in `tests/community100.rs`)
//!
//! Per prosumer and step: `G + discharge + bought_p2p + bought_market = L + charge + sold_p2p +
//! sold_market` (every kWh is self-consumed, stored, traded P2P or traded with the market);
//! `Σ paid_p2p = Σ received_p2p`; the SOC stays in its window.

use crate::error::Result;
use crate::market::strategy::{PriceRule, Situation};
use crate::market::{Order, Trade};
use crate::scenario::seed_community::{FeeMode, SeedCommunity};
use crate::scenario::Scenario;
use crate::settlement::regulator::{Ban, Bans, Conduct, Standing};
use crate::settlement::{self, Account, Booked, Rules};
use crate::storage::Battery;
use crate::util::rng::unit;

use super::network::StepNetwork;

use crate::util::rng::stream::{
    SEED_BASE_LOAD as S_BASE, SEED_BATTERY_KWH as S_BATTERY_KWH, SEED_HAS_BATTERY as S_HAS_BATTERY,
    SEED_LOAD as S_LOAD, SEED_PRICE as S_PRICE, SEED_PV_KW as S_PV_KW, SEED_WEATHER as S_WEATHER,
};

/// One prosumer of the seed community.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedProsumer {
    /// Index.
    pub id: usize,
    /// PV size, kW.
    pub pv_kw: f64,
    /// Base consumption, kWh per hour.
    pub base_load_kwh: f64,
    /// Its battery, if any.
    pub battery: Option<Battery>,
    /// Bus on the feeder (`None` on the copper plate).
    pub bus: Option<i64>,
}

/// A prosumer's role in a step's market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Bids for its deficit.
    Buyer,
    /// Asks for its surplus.
    Seller,
    /// Offers stored energy (battery balancing).
    BatterySeller,
    /// Neither: balanced (by its battery or by chance).
    Neutral,
    /// Banned by the regulator: no order, the market fallback only.
    Banned,
}

/// One prosumer's order in one step, matched or not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderRecord {
    /// Step.
    pub step: usize,
    /// Prosumer.
    pub prosumer: usize,
    /// Role.
    pub role: Role,
    /// Quantity wanted (capped), kWh (0 for neutral and banned).
    pub desired_kwh: f64,
    /// Limit price (a bid for buyers, an ask for sellers), €/kWh.
    pub price_per_kwh: Option<f64>,
    /// Traded P2P, kWh.
    pub matched_kwh: f64,
}

/// Who is on one side of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// A prosumer.
    Prosumer(usize),
    /// The market fallback (aggregator).
    Market,
}

/// One trade: P2P or with the market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeRecord {
    /// Step.
    pub step: usize,
    /// P2P or market.
    pub p2p: bool,
    /// Seller.
    pub seller: Party,
    /// Buyer.
    pub buyer: Party,
    /// Energy, kWh.
    pub kwh: f64,
    /// Price per kWh the buyer pays.
    pub buyer_price_per_kwh: f64,
    /// Price per kWh the seller receives.
    pub seller_price_per_kwh: f64,
}

/// One step's market prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepPrices {
    /// The forecast `π`, €/kWh.
    pub forecast_per_kwh: f64,
    /// The market's buy price `π + fee` (what a prosumer pays), €/kWh.
    pub buy_per_kwh: f64,
    /// The market's sell price `π − fee` (what a prosumer receives), €/kWh.
    pub sell_per_kwh: f64,
}

/// Energy that is not in the [`Account`]: the battery's split and state.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatteryStep {
    /// Discharged into the prosumer's own load (greedy rule), kWh.
    pub own_discharge_kwh: f64,
    /// Discharged and sold P2P (balancing), kWh.
    pub sold_kwh: f64,
    /// SOC at the end of the step, kWh.
    pub soc_kwh: f64,
}

/// The regulator's account of one prosumer in one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegulatorStep {
    /// What it did.
    pub conduct: Conduct,
    /// Banned in this step.
    pub banned: bool,
    /// Totals and balance at the end of the step.
    pub standing: Standing,
}

/// A whole seed-community run.
#[derive(Debug, Clone)]
pub struct SeedRun {
    /// The scenario.
    pub scenario: Scenario,
    /// The parameters.
    pub spec: SeedCommunity,
    /// The prosumers.
    pub prosumers: Vec<SeedProsumer>,
    /// Prices per step.
    pub prices: Vec<StepPrices>,
    /// Accounts per step and prosumer (energy bill, and the regulator's transfers in
    /// `policy_bonus`/`policy_penalty`).
    pub accounts: Vec<Vec<Account>>,
    /// Battery split per step and prosumer.
    pub batteries: Vec<Vec<BatteryStep>>,
    /// Regulator per step and prosumer.
    pub regulator: Vec<Vec<RegulatorStep>>,
    /// Every order.
    pub orders: Vec<OrderRecord>,
    /// Every trade, P2P and market.
    pub trades: Vec<TradeRecord>,
    /// Every ban.
    pub bans: Vec<Ban>,
    /// The network result per step (`None` on the copper plate).
    pub network: Option<Vec<StepNetwork>>,
    /// The feeder's name (`none` on the copper plate).
    pub network_name: String,
}

/// The seed community's metrics (summary.json and the terminal).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// P2P trades (bilateral pairs).
    pub p2p_trades: usize,
    /// Market trades (one per prosumer, step and direction).
    pub market_trades: usize,
    /// `p2p_trades / market_trades` (`None` without market trades).
    pub p2p_to_market_ratio: Option<f64>,
    /// Share of all trades that are P2P, %.
    pub p2p_share_percent: f64,
    /// Energy traded P2P, kWh.
    pub p2p_kwh: f64,
    /// Energy bought from the market, kWh.
    pub market_bought_kwh: f64,
    /// Energy sold to the market, kWh.
    pub market_sold_kwh: f64,
    /// PV, kWh.
    pub pv_kwh: f64,
    /// Load, kWh.
    pub load_kwh: f64,
    /// Own renewable energy used on site (the regulator's measure), kWh.
    pub renewable_kwh: f64,
    /// Battery charge, kWh.
    pub battery_charge_kwh: f64,
    /// Battery discharge (own use and sold), kWh.
    pub battery_discharge_kwh: f64,
    /// The community's money from energy: received minus paid (P2P cancels; the market's),
    /// without the regulator's transfers, €.
    pub energy_profit: f64,
    /// `energy_profit` plus bonuses minus penalties: the seed's community profit, €.
    pub community_profit: f64,
    /// Mean final balance per prosumer, €.
    pub average_balance: f64,
    /// Bonuses the regulator paid, €.
    pub incentives_paid: f64,
    /// Penalties it collected, €.
    pub penalties_collected: f64,
    /// Bans issued.
    pub bans_issued: usize,
    /// Prosumers banned at least once.
    pub banned_prosumers: usize,
    /// Prosumers banned in the last step.
    pub banned_at_end: usize,
    /// Prosumer-steps spent banned.
    pub banned_prosumer_steps: usize,
}

/// Draws the prosumers (the seed's `initialize_prosumers`).
pub fn draw_prosumers(spec: &SeedCommunity, seed: u64) -> Vec<SeedProsumer> {
    let pick = |v: &[f64], u: f64| v[((u * v.len() as f64) as usize).min(v.len() - 1)];
    (0..spec.prosumers)
        .map(|i| {
            let has = unit(seed, 0, i, S_HAS_BATTERY) < spec.battery_share;
            let battery = has.then(|| {
                let e = pick(&spec.battery_kwh_choices, unit(seed, 0, i, S_BATTERY_KWH));
                Battery {
                    e_kwh: e,
                    // No power limit in the seed: a step can never move more than the SOC
                    // window (< E), so E per hour never binds at hourly steps.
                    p_charge_kw: e,
                    p_discharge_kw: e,
                    eta_charge: spec.battery_eta,
                    eta_discharge: spec.battery_eta,
                    soc_min: spec.battery_soc_min,
                    soc_max: spec.battery_soc_max,
                    soc0: spec.battery_soc0,
                    end_rule: crate::storage::EndRule::Free,
                    start_kwh: None,
                }
            });
            SeedProsumer {
                id: i,
                pv_kw: pick(&spec.pv_kw_choices, unit(seed, 0, i, S_PV_KW)),
                base_load_kwh: pick(&spec.base_load_kwh_choices, unit(seed, 0, i, S_BASE)),
                battery: battery.filter(|b| b.e_kwh > 0.0),
                bus: None,
            }
        })
        .collect()
}

/// The step's price forecast and the market's prices.
pub fn prices(spec: &SeedCommunity, seed: u64, t: usize) -> StepPrices {
    let h = t % 24;
    let e = 1.0 + spec.price_uncertainty * (2.0 * unit(seed, t, 0, S_PRICE) - 1.0);
    let forecast = (spec.base_price_per_kwh * spec.price_factors[h] * e * 1e4).round() / 1e4;
    StepPrices {
        forecast_per_kwh: forecast,
        buy_per_kwh: forecast + spec.market_fee_per_kwh,
        sell_per_kwh: forecast - spec.market_fee_per_kwh,
    }
}

/// A prosumer's PV and load in step `t`, kWh.
pub fn energy(spec: &SeedCommunity, seed: u64, t: usize, p: &SeedProsumer) -> (f64, f64) {
    let h = t % 24;
    let pv = if h >= spec.pv_sunrise_h && h < spec.pv_sunset_h {
        let angle = std::f64::consts::PI * (h - spec.pv_sunrise_h) as f64
            / (spec.pv_sunset_h - spec.pv_sunrise_h) as f64;
        let w = spec.pv_weather_min + (1.0 - spec.pv_weather_min) * unit(seed, t, p.id, S_WEATHER);
        (p.pv_kw * angle.sin() * spec.pv_system_efficiency * w).max(0.0)
    } else {
        0.0
    };
    let v = 1.0 + spec.load_variation * (2.0 * unit(seed, t, p.id, S_LOAD) - 1.0);
    let load = (p.base_load_kwh * spec.load_factors[h] * v).max(spec.load_min_kwh);
    (pv, load)
}

/// The market fallback's price per kWh for a trade of `q` kWh (buying when `buy`).
pub fn market_price(spec: &SeedCommunity, pr: &StepPrices, q: f64, buy: bool) -> f64 {
    let fee = match spec.fee_mode {
        FeeMode::Fixed => spec.market_fee_per_kwh,
        FeeMode::QuantityScaled => spec.market_fee_per_kwh * q,
    };
    if buy {
        pr.forecast_per_kwh + fee
    } else {
        pr.forecast_per_kwh - fee
    }
}

/// Runs the seed community a scenario describes (module docs). Fails when the scenario has no
/// `[seed_community]`, or on a feeder that cannot be loaded.
pub fn run(s: &Scenario) -> Result<SeedRun> {
    s.validate()?;
    let spec = s.seed_community.clone().ok_or_else(|| {
        crate::Error::invalid(crate::Location::file("scenario"), "no [seed_community]")
    })?;
    let mut prosumers = draw_prosumers(&spec, s.seed);
    let n = prosumers.len();
    let rule = PriceRule {
        strategy: s.market.strategy,
        bid_per_kwh: s.market.bid_per_kwh,
        ask_per_kwh: s.market.ask_per_kwh,
        seed: s.seed,
        trade_cap_kwh: s.market.trade_cap_kwh,
    };
    let cap = s.market.trade_cap_kwh;

    // The feeder, when there is one: the prosumers on its load buses.
    let feeder = if s.network == crate::scenario::NO_NETWORK {
        None
    } else {
        let base = Scenario {
            network: s.network.clone(),
            pv_share_percent: 0.0,
            pandapower_ratings: s.pandapower_ratings,
            load_power_factor: s.load_power_factor,
            clearing: s.clearing,
            seed: s.seed,
            ..Scenario::default()
        };
        let mut c = crate::scenario::community::build(&base)?;
        let sites: Vec<_> = c.prosumers.iter().map(|p| (p.bus, p.node)).collect();
        if sites.is_empty() {
            return Err(crate::Error::invalid(
                crate::Location::file(&s.network),
                "the feeder has no load buses to place the prosumers on",
            ));
        }
        let template = c.prosumers[0].clone();
        c.prosumers = (0..n)
            .map(|i| {
                let (bus, node) = sites[i % sites.len()];
                crate::scenario::community::Prosumer {
                    id: i,
                    name: format!("prosumer {i}"),
                    bus,
                    node,
                    households: 1,
                    pv_kwp: prosumers[i].pv_kw,
                    load_kw: Vec::new(),
                    pv_kw: Vec::new(),
                    battery: prosumers[i].battery,
                    ..template.clone()
                }
            })
            .collect();
        c.step_minutes = 60;
        for (p, cp) in prosumers.iter_mut().zip(&c.prosumers) {
            p.bus = Some(cp.bus.0);
        }
        let solvers = super::network::Solvers::new(&c.grid, &s.clearing)?;
        Some((c, solvers))
    };
    let mut feeder = feeder;

    let mut soc: Vec<f64> = prosumers
        .iter()
        .map(|p| p.battery.map_or(0.0, |b| b.start_soc_kwh()))
        .collect();
    let mut bans = Bans::new(n);
    let mut standing = vec![Standing::default(); n];
    let mut out = SeedRun {
        scenario: s.clone(),
        spec: spec.clone(),
        prosumers: Vec::new(),
        prices: Vec::new(),
        accounts: Vec::new(),
        batteries: Vec::new(),
        regulator: Vec::new(),
        orders: Vec::new(),
        trades: Vec::new(),
        bans: Vec::new(),
        network: feeder.as_ref().map(|_| Vec::new()),
        network_name: s.network.clone(),
    };
    let rules = Rules {
        policy: crate::tariff::Policy::default(),
        daily_fixed_charge: 0.0,
    };
    let pays_fixed = vec![false; n];

    for t in 0..spec.steps {
        let pr = prices(&spec, s.seed, t);
        // 1–2: draws and the greedy battery.
        let mut accounts = Vec::with_capacity(n);
        let mut bat = vec![BatteryStep::default(); n];
        let mut residual = vec![0.0; n];
        for (i, p) in prosumers.iter().enumerate() {
            let (pv, load) = energy(&spec, s.seed, t, p);
            let (mut c, mut d) = (0.0, 0.0);
            if let Some(b) = &p.battery {
                let (ci, di, si) = crate::storage::greedy_step(b, soc[i], pv - load, 1.0);
                (c, d, soc[i]) = (ci, di, si);
            }
            bat[i].own_discharge_kwh = d;
            residual[i] = pv - load - c + d;
            accounts.push(Account::physical(load, pv, c, d, 0.0));
        }
        // 3: orders.
        let mut roles = vec![Role::Neutral; n];
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        let situation = |i: usize, demand: f64, supply: f64| Situation {
            step: t,
            agent: i,
            load_kwh: demand,
            pv_kwh: supply,
            retail_per_kwh: pr.buy_per_kwh,
            feed_in_per_kwh: pr.sell_per_kwh,
        };
        for i in 0..n {
            let r = residual[i];
            if bans.is_banned(i, t) {
                roles[i] = Role::Banned;
            } else if r > spec.min_order_kwh {
                roles[i] = Role::Seller;
                let q = r.min(cap);
                asks.push(Order {
                    agent: i,
                    kwh: q,
                    price_per_kwh: rule.ask(&situation(i, 0.0, q)),
                });
            } else if r < -spec.min_order_kwh {
                roles[i] = Role::Buyer;
                let q = (-r).min(cap);
                bids.push(Order {
                    agent: i,
                    kwh: q,
                    price_per_kwh: rule.bid(&situation(i, q, 0.0)),
                });
            }
        }
        // 4: battery balancing.
        let demand: f64 = bids.iter().map(|o| o.kwh).sum();
        let supply: f64 = asks.iter().map(|o| o.kwh).sum();
        let mut excess = demand - supply;
        if excess > spec.balancing_threshold_kwh {
            let mut cands: Vec<(usize, f64)> = (0..n)
                // A neutral prosumer with a tiny deficit left (≤ min_order_kWh) is not asked:
                // what it sells must be surplus at its meter.
                .filter(|&i| roles[i] == Role::Neutral && residual[i] >= 0.0)
                .filter_map(|i| {
                    let b = prosumers[i].battery?;
                    let avail = soc[i] - b.soc_min * b.e_kwh;
                    (avail > 1e-12).then_some((i, avail))
                })
                .collect();
            cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            for (i, avail) in cands {
                let eta = prosumers[i].battery.map_or(1.0, |b| b.eta_discharge);
                let q = (spec.balancing_battery_share * avail * eta)
                    .min(excess)
                    .min(cap);
                if q <= crate::market::MIN_TRADE_KWH {
                    continue;
                }
                roles[i] = Role::BatterySeller;
                asks.push(Order {
                    agent: i,
                    kwh: q,
                    price_per_kwh: rule.ask(&situation(i, 0.0, q)),
                });
                excess -= q;
                if excess <= spec.balancing_threshold_kwh {
                    break;
                }
            }
        }
        // 5: the auction.
        let trades: Vec<Trade> = crate::market::clear(s.market.mechanism, &bids, &asks);
        let mut matched = vec![0.0; n];
        for tr in &trades {
            matched[tr.buyer] += tr.kwh;
            matched[tr.seller] += tr.kwh;
        }
        for o in bids.iter().chain(&asks) {
            out.orders.push(OrderRecord {
                step: t,
                prosumer: o.agent,
                role: roles[o.agent],
                desired_kwh: o.kwh,
                price_per_kwh: Some(o.price_per_kwh),
                matched_kwh: matched[o.agent],
            });
        }
        for i in (0..n).filter(|&i| matches!(roles[i], Role::Neutral | Role::Banned)) {
            out.orders.push(OrderRecord {
                step: t,
                prosumer: i,
                role: roles[i],
                desired_kwh: 0.0,
                price_per_kwh: None,
                matched_kwh: 0.0,
            });
        }
        let first = out.orders.len() - n;
        out.orders[first..].sort_by_key(|o| o.prosumer);
        // Battery sellers deliver what they sold from their store.
        for i in (0..n).filter(|&i| roles[i] == Role::BatterySeller) {
            if let Some(b) = prosumers[i].battery {
                let q = matched[i];
                bat[i].sold_kwh = q;
                soc[i] -= q / b.eta_discharge;
                accounts[i].battery_out_kwh += q;
            }
        }
        for (i, p) in prosumers.iter().enumerate() {
            if p.battery.is_some() {
                bat[i].soc_kwh = soc[i];
            }
        }
        // 6: the settlement, with the market fallback as the retailer.
        let booked: Vec<Booked> = trades
            .iter()
            .map(|tr| Booked {
                seller: tr.seller,
                buyer: tr.buyer,
                kwh: tr.kwh,
                buyer_price_per_kwh: tr.buyer_price_per_kwh,
                seller_price_per_kwh: tr.seller_price_per_kwh,
                network_charge: 0.0,
            })
            .collect();
        let positions = settlement::positions_from_trades(n, &booked, 1.0);
        settlement::settle(
            &mut accounts,
            &positions,
            pr.buy_per_kwh,
            pr.sell_per_kwh,
            &rules,
            false,
            &pays_fixed,
        );
        if spec.fee_mode == FeeMode::QuantityScaled {
            for a in &mut accounts {
                a.grid_paid = a.grid_import_kwh * market_price(&spec, &pr, a.grid_import_kwh, true);
                a.grid_received =
                    a.grid_export_kwh * market_price(&spec, &pr, a.grid_export_kwh, false);
            }
        }
        for tr in &trades {
            out.trades.push(TradeRecord {
                step: t,
                p2p: true,
                seller: Party::Prosumer(tr.seller),
                buyer: Party::Prosumer(tr.buyer),
                kwh: tr.kwh,
                buyer_price_per_kwh: tr.buyer_price_per_kwh,
                seller_price_per_kwh: tr.seller_price_per_kwh,
            });
        }
        for (i, a) in accounts.iter().enumerate() {
            if a.grid_export_kwh > crate::market::MIN_TRADE_KWH {
                let p = a.grid_received / a.grid_export_kwh;
                out.trades.push(TradeRecord {
                    step: t,
                    p2p: false,
                    seller: Party::Prosumer(i),
                    buyer: Party::Market,
                    kwh: a.grid_export_kwh,
                    buyer_price_per_kwh: p,
                    seller_price_per_kwh: p,
                });
            }
            if a.grid_import_kwh > crate::market::MIN_TRADE_KWH {
                let p = a.grid_paid / a.grid_import_kwh;
                out.trades.push(TradeRecord {
                    step: t,
                    p2p: false,
                    seller: Party::Market,
                    buyer: Party::Prosumer(i),
                    kwh: a.grid_import_kwh,
                    buyer_price_per_kwh: p,
                    seller_price_per_kwh: p,
                });
            }
        }
        // 7: the regulator.
        let mut reg = Vec::with_capacity(n);
        for (i, a) in accounts.iter_mut().enumerate() {
            let banned = bans.is_banned(i, t);
            let conduct = Conduct {
                renewable_kwh: (a.load_kwh - a.p2p_bought_kwh - a.grid_import_kwh).max(0.0),
                p2p_kwh: a.p2p_bought_kwh + a.p2p_sold_kwh,
                market_kwh: a.grid_import_kwh + a.grid_export_kwh,
            };
            let (bonus, penalty) = if banned {
                (0.0, 0.0)
            } else {
                spec.regulator.incentives(&conduct)
            };
            a.policy_bonus = bonus;
            a.policy_penalty = penalty;
            let st = &mut standing[i];
            st.bonus_total += bonus;
            st.penalties_total += penalty;
            st.balance -= a.bill();
            reg.push(RegulatorStep {
                conduct,
                banned,
                standing: *st,
            });
        }
        out.bans.extend(bans.enforce(&spec.regulator, t, &standing));
        // 8: the network.
        if let (Some((c, solvers)), Some(nets)) = (feeder.as_mut(), out.network.as_mut()) {
            let inj = super::network::injections(c, &accounts);
            nets.push(solvers.solve(&c.grid, &inj, None));
        }
        out.prices.push(pr);
        out.accounts.push(accounts);
        out.batteries.push(bat);
        out.regulator.push(reg);
    }
    out.prosumers = prosumers;
    Ok(out)
}

impl SeedRun {
    /// Number of steps.
    pub fn n_steps(&self) -> usize {
        self.prices.len()
    }

    /// Step start label: `HH:00` on the first day, `dD HH:00` after it.
    pub fn step_label(&self, t: usize) -> String {
        let (d, h) = (t / 24, t % 24);
        if self.n_steps() <= 24 {
            format!("{h:02}:00")
        } else {
            format!("d{} {h:02}:00", d + 1)
        }
    }

    /// The run's metrics.
    pub fn metrics(&self) -> Metrics {
        let mut m = Metrics::default();
        for tr in &self.trades {
            if tr.p2p {
                m.p2p_trades += 1;
                m.p2p_kwh += tr.kwh;
            } else {
                m.market_trades += 1;
            }
        }
        for (accs, bats) in self.accounts.iter().zip(&self.batteries) {
            for (a, b) in accs.iter().zip(bats) {
                m.market_bought_kwh += a.grid_import_kwh;
                m.market_sold_kwh += a.grid_export_kwh;
                m.pv_kwh += a.pv_kwh;
                m.load_kwh += a.load_kwh;
                m.battery_charge_kwh += a.battery_in_kwh;
                m.battery_discharge_kwh += b.own_discharge_kwh + b.sold_kwh;
                m.energy_profit -= a.bill() - a.policy_penalty + a.policy_bonus;
                m.incentives_paid += a.policy_bonus;
                m.penalties_collected += a.policy_penalty;
            }
        }
        for reg in &self.regulator {
            for r in reg {
                m.renewable_kwh += r.conduct.renewable_kwh;
                m.banned_prosumer_steps += usize::from(r.banned);
            }
        }
        m.community_profit = m.energy_profit + m.incentives_paid - m.penalties_collected;
        let n = self.prosumers.len().max(1);
        m.average_balance = self
            .regulator
            .last()
            .map_or(0.0, |r| r.iter().map(|x| x.standing.balance).sum::<f64>())
            / n as f64;
        m.p2p_to_market_ratio =
            (m.market_trades > 0).then(|| m.p2p_trades as f64 / m.market_trades as f64);
        let all = m.p2p_trades + m.market_trades;
        m.p2p_share_percent = if all > 0 {
            100.0 * m.p2p_trades as f64 / all as f64
        } else {
            0.0
        };
        m.bans_issued = self.bans.len();
        let mut who: Vec<usize> = self.bans.iter().map(|b| b.prosumer).collect();
        who.sort_unstable();
        who.dedup();
        m.banned_prosumers = who.len();
        m.banned_at_end = self
            .regulator
            .last()
            .map_or(0, |r| r.iter().filter(|x| x.banned).count());
        m
    }
}
