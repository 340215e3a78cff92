//! The SmartGridComm 2024 notebook's `match_orders`, reproduced on purpose (`paper-greedy`).
//!
//! Buys are sorted by price **ascending** and sells **descending** (the inverted merit order;
//! with the paper's fixed prices all keys are equal and a stable sort keeps the input order),
//! and each buyer, in that order, makes **at most one trade**: with the first seller that still
//! has energy and whose ask its bid covers, for `min(demand, remaining supply)`, at the seller's
//! ask. A buyer that empties a seller does not go on to the next one. The input order of `bids`
//! and `asks` matters and is the caller's: the paper iterates PV buses first, then load buses.

use super::{Order, Trade};

/// Clears one step the way the paper's notebook does.
pub fn paper_greedy(bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    let mut b: Vec<Order> = bids.to_vec();
    let mut a: Vec<Order> = asks.to_vec();
    b.sort_by(|x, y| x.price_per_kwh.total_cmp(&y.price_per_kwh));
    a.sort_by(|x, y| y.price_per_kwh.total_cmp(&x.price_per_kwh));
    let mut remaining: Vec<f64> = a.iter().map(|o| o.kwh).collect();
    let mut trades = Vec::new();
    for bid in &b {
        if bid.kwh <= 0.0 {
            continue;
        }
        for (j, ask) in a.iter().enumerate() {
            if remaining[j] <= 0.0
                || ask.agent == bid.agent
                || bid.price_per_kwh < ask.price_per_kwh
            {
                continue;
            }
            let q = bid.kwh.min(remaining[j]);
            remaining[j] -= q;
            if q > 0.0 {
                trades.push(Trade {
                    seller: ask.agent,
                    buyer: bid.agent,
                    kwh: q,
                    buyer_price_per_kwh: ask.price_per_kwh,
                    seller_price_per_kwh: ask.price_per_kwh,
                    bid_per_kwh: bid.price_per_kwh,
                    ask_per_kwh: ask.price_per_kwh,
                });
            }
            break;
        }
    }
    trades
}
