//! Hourly double auctions among prosumers.
//!
//! Each step, every prosumer with a surplus offers it (an *ask*: quantity and lowest acceptable
//! price) and every prosumer with a deficit bids for it (a *bid*: quantity and highest acceptable
//! price); a [`strategy`] sets the prices. A mechanism then pairs bids and asks into bilateral
//! trades. All mechanisms use the **merit order** — highest bid meets lowest ask, ties broken by
//! prosumer id so results are deterministic — except [`paper::paper_greedy`], which reproduces
//! the SmartGridComm 2024 notebook's order (buys ascending, sells descending, one trade per
//! buyer) on purpose.
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

/// Bids sorted by price descending, asks ascending; ties by prosumer id.
pub fn merit_order(bids: &[Order], asks: &[Order]) -> (Vec<Order>, Vec<Order>) {
    let mut b: Vec<Order> = bids
        .iter()
        .copied()
        .filter(|o| o.kwh > MIN_TRADE_KWH)
        .collect();
    let mut a: Vec<Order> = asks
        .iter()
        .copied()
        .filter(|o| o.kwh > MIN_TRADE_KWH)
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

/// Walks down the demand curve and up the supply curve while the bid covers the ask, pairing
/// quantities greedily. `bids`, `asks` must be in merit order.
pub fn match_merit(bids: &[Order], asks: &[Order]) -> Vec<Pair> {
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut rb = bids.first().map_or(0.0, |o| o.kwh);
    let mut ra = asks.first().map_or(0.0, |o| o.kwh);
    while i < bids.len() && j < asks.len() && bids[i].price_per_kwh >= asks[j].price_per_kwh {
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
            i += 1;
            rb = bids.get(i).map_or(0.0, |o| o.kwh);
        }
        if ra <= MIN_TRADE_KWH {
            j += 1;
            ra = asks.get(j).map_or(0.0, |o| o.kwh);
        }
    }
    pairs
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
