//! Hourly double auctions among prosumers.
//!
//! Each step, every prosumer with a surplus offers it (an *ask*: quantity and lowest acceptable
//! price) and every prosumer with a deficit bids for it (a *bid*: quantity and highest acceptable
//! price); a [`strategy`] sets the prices. A mechanism then pairs bids and asks into bilateral
//! trades. All mechanisms use the **merit order** — highest bid meets lowest ask — except
//! [`paper::paper_greedy`], which reproduces the SmartGridComm 2024 notebook's order (buys
//! ascending, sells descending, one trade per buyer) on purpose.
//!
//! **Ties are shared pro rata.** Orders at the same price form a tier; when the traded volume
//! ends inside a tier, every order of that tier trades the same share of its quantity — never
//! "the lowest prosumer id first". The volume each order trades is decided first
//! ([`allocate_volume`]), the bilateral pairs after ([`pair`]: the allocated quantities walked in
//! merit order), so pairing is bookkeeping and does not decide who trades how much.
//!
//! | mechanism | file | pricing |
//! |---|---|---|
//! | `pay-as-ask` | [`pay_as_ask`] | each pair at the seller's ask |
//! | `mid-price` | [`mid_price`] | each pair at (bid + ask)/2 (discriminatory) |
//! | `uniform` | [`uniform`] | k-double auction: everyone at `k·b* + (1−k)·a*` of the marginal pair (k = ½) |
//! | `mcafee` | [`mcafee`] | McAfee (1992) trade reduction: truthful, weakly budget-balanced |
//!
//! Invariants every mechanism keeps (and the property tests check): no trade with its buyer's
//! bid below its seller's ask; no prosumer trades more than it offered; buyers never pay more than
//! their bid and sellers never receive less than their ask (individual rationality); the money
//! buyers pay equals what sellers receive plus the operator's surplus (non-zero only under
//! McAfee's trade reduction).

pub mod mcafee;
pub mod mid_price;
pub mod pairs;
pub mod paper;
pub mod pay_as_ask;
pub mod strategy;
pub mod uniform;

use serde::{Deserialize, Serialize};

/// Quantities below this (kWh) are not traded: they are floating-point dust.
pub const MIN_TRADE_KWH: f64 = 1e-9;

/// A bid or an ask.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Order {
    /// The prosumer.
    pub agent: usize,
    /// Energy, kWh (> 0).
    pub kwh: f64,
    /// Limit price per kWh: the most a buyer pays, the least a seller accepts.
    pub price_per_kwh: f64,
}

/// A bilateral trade in one step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Trade {
    /// Seller prosumer.
    pub seller: usize,
    /// Buyer prosumer.
    pub buyer: usize,
    /// Energy, kWh.
    pub kwh: f64,
    /// Price the buyer pays per kWh.
    pub buyer_price_per_kwh: f64,
    /// Price the seller receives per kWh (equal to the buyer's except under McAfee reduction).
    pub seller_price_per_kwh: f64,
    /// The buyer's bid (for checks and reports).
    pub bid_per_kwh: f64,
    /// The seller's ask.
    pub ask_per_kwh: f64,
}

/// The market mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mechanism {
    /// Greedy merit-order matching, each pair at the seller's ask.
    PayAsAsk,
    /// k-double auction with one clearing price (k = 0.5).
    Uniform,
    /// Merit-order matching, each pair at the mid of bid and ask.
    MidPrice,
    /// McAfee's truthful trade-reduction double auction.
    Mcafee,
    /// The 2024 paper's notebook: wrong sort order, one trade per buyer, pay-as-ask.
    PaperGreedy,
}

/// Clears one step's orders with a mechanism.
pub fn clear(mechanism: Mechanism, bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    match mechanism {
        Mechanism::PayAsAsk => pay_as_ask::clear(bids, asks),
        Mechanism::Uniform => uniform::clear(bids, asks, 0.5),
        Mechanism::MidPrice => mid_price::clear(bids, asks),
        Mechanism::Mcafee => mcafee::clear(bids, asks),
        Mechanism::PaperGreedy => paper::paper_greedy(bids, asks),
    }
}

/// Bids sorted by price descending, asks ascending; equal prices by prosumer id (a stable,
/// deterministic order for pairing; who trades how much within a tier is pro rata).
pub fn merit_order(bids: &[Order], asks: &[Order]) -> (Vec<Order>, Vec<Order>) {
    let mut b: Vec<Order> = bids
        .iter()
        .copied()
        .filter(|o| o.kwh > MIN_TRADE_KWH && o.price_per_kwh.is_finite())
        .collect();
    let mut a: Vec<Order> = asks
        .iter()
        .copied()
        .filter(|o| o.kwh > MIN_TRADE_KWH && o.price_per_kwh.is_finite())
        .collect();
    b.sort_by(|x, y| {
        y.price_per_kwh
            .total_cmp(&x.price_per_kwh)
            .then(x.agent.cmp(&y.agent))
    });
    a.sort_by(|x, y| {
        x.price_per_kwh
            .total_cmp(&y.price_per_kwh)
            .then(x.agent.cmp(&y.agent))
    });
    (b, a)
}

/// A matched pair before pricing: indices into the merit-ordered lists and the quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Index in the sorted bids.
    pub bid: usize,
    /// Index in the sorted asks.
    pub ask: usize,
    /// Energy, kWh.
    pub kwh: f64,
}

/// The efficient volume of merit-ordered `bids` and `asks`: where the demand curve (bids by
/// descending price) crosses the supply curve (asks by ascending price), and the prices of the
/// marginal bid and ask (the last ones that trade).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// Efficient volume, kWh.
    pub kwh: f64,
    /// Price of the marginal bid.
    pub bid_price: f64,
    /// Price of the marginal ask.
    pub ask_price: f64,
    /// The next bid price beyond the volume (leftover of the marginal bid, or the next bid).
    pub next_bid: Option<f64>,
    /// The next ask price beyond the volume.
    pub next_ask: Option<f64>,
    /// The marginal quantity: the smallest order in the marginal bid tier or the marginal ask
    /// tier (one unit on unit instances), capped at the volume.
    pub marginal_kwh: f64,
}

/// Where the curves cross (`None` when nothing trades).
pub fn crossing(bids: &[Order], asks: &[Order]) -> Option<Crossing> {
    let (mut i, mut j) = (0, 0);
    let mut rb = bids.first().map_or(0.0, |o| o.kwh);
    let mut ra = asks.first().map_or(0.0, |o| o.kwh);
    let mut last: Option<(usize, usize, f64)> = None;
    let mut vol = 0.0;
    while i < bids.len() && j < asks.len() && bids[i].price_per_kwh >= asks[j].price_per_kwh {
        let q = rb.min(ra);
        if q > MIN_TRADE_KWH {
            vol += q;
            last = Some((i, j, q));
        }
        rb -= q;
        ra -= q;
        if rb <= MIN_TRADE_KWH {
            i += 1;
            rb = bids.get(i).map_or(0.0, |o| o.kwh);
        }
        if ra <= MIN_TRADE_KWH {
            j += 1;
            ra = asks.get(j).map_or(0.0, |o| o.kwh);
        }
    }
    let (bi, aj, _) = last?;
    let (bp, ap) = (bids[bi].price_per_kwh, asks[aj].price_per_kwh);
    let smallest = |v: &[Order], p: f64| {
        v.iter()
            .filter(|o| o.price_per_kwh == p)
            .map(|o| o.kwh)
            .fold(f64::INFINITY, f64::min)
    };
    Some(Crossing {
        kwh: vol,
        bid_price: bp,
        ask_price: ap,
        next_bid: bids.get(i).map(|o| o.price_per_kwh),
        next_ask: asks.get(j).map(|o| o.price_per_kwh),
        marginal_kwh: smallest(bids, bp).min(smallest(asks, ap)).min(vol),
    })
}

/// How much of each merit-ordered order trades when the volume is `kwh`: tiers of equal price
/// are filled from the best price down, the last tier pro rata to its orders' quantities.
pub fn allocate_volume(orders: &[Order], kwh: f64) -> Vec<f64> {
    let mut out = vec![0.0; orders.len()];
    let mut left = kwh.max(0.0);
    let mut k = 0;
    while k < orders.len() && left > MIN_TRADE_KWH {
        let mut end = k;
        while end < orders.len() && orders[end].price_per_kwh == orders[k].price_per_kwh {
            end += 1;
        }
        let tier: f64 = orders[k..end].iter().map(|o| o.kwh).sum();
        let share = (left / tier).min(1.0);
        for m in k..end {
            out[m] = orders[m].kwh * share;
        }
        left -= tier * share;
        k = end;
    }
    out
}

/// Pairs allocated quantities of merit-ordered bids and asks greedily in merit order.
pub fn pair(bid_kwh: &[f64], ask_kwh: &[f64]) -> Vec<Pair> {
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    let next = |v: &[f64], mut k: usize| {
        while k < v.len() && v[k] <= MIN_TRADE_KWH {
            k += 1;
        }
        k
    };
    i = next(bid_kwh, i);
    j = next(ask_kwh, j);
    let mut rb = bid_kwh.get(i).copied().unwrap_or(0.0);
    let mut ra = ask_kwh.get(j).copied().unwrap_or(0.0);
    while i < bid_kwh.len() && j < ask_kwh.len() {
        let q = rb.min(ra);
        if q > MIN_TRADE_KWH {
            pairs.push(Pair {
                bid: i,
                ask: j,
                kwh: q,
            });
        }
        rb -= q;
        ra -= q;
        if rb <= MIN_TRADE_KWH {
            i = next(bid_kwh, i + 1);
            rb = bid_kwh.get(i).copied().unwrap_or(0.0);
        }
        if ra <= MIN_TRADE_KWH {
            j = next(ask_kwh, j + 1);
            ra = ask_kwh.get(j).copied().unwrap_or(0.0);
        }
    }
    pairs
}

/// The merit-order pairs at volume `kwh`, ties pro rata ([`allocate_volume`], [`pair`]).
pub fn match_volume(bids: &[Order], asks: &[Order], kwh: f64) -> Vec<Pair> {
    pair(&allocate_volume(bids, kwh), &allocate_volume(asks, kwh))
}

/// Walks down the demand curve and up the supply curve while the bid covers the ask: the pairs
/// at the efficient volume, ties pro rata. `bids`, `asks` must be in merit order.
pub fn match_merit(bids: &[Order], asks: &[Order]) -> Vec<Pair> {
    match crossing(bids, asks) {
        Some(c) => match_volume(bids, asks, c.kwh),
        None => Vec::new(),
    }
}

/// Builds trades from pairs with a pricing rule `(bid, ask) -> (buyer price, seller price)`.
pub fn priced(
    bids: &[Order],
    asks: &[Order],
    pairs: &[Pair],
    price: impl Fn(&Order, &Order) -> (f64, f64),
) -> Vec<Trade> {
    pairs
        .iter()
        .map(|p| {
            let (b, a) = (&bids[p.bid], &asks[p.ask]);
            let (pb, ps) = price(b, a);
            Trade {
                seller: a.agent,
                buyer: b.agent,
                kwh: p.kwh,
                buyer_price_per_kwh: pb,
                seller_price_per_kwh: ps,
                bid_per_kwh: b.price_per_kwh,
                ask_per_kwh: a.price_per_kwh,
            }
        })
        .collect()
}
