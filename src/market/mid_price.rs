//! Mid-price (discriminatory) auction: merit-order matching, each pair at (bid + ask)/2, so
//! the gains of every trade are split equally between its two sides.

use super::{match_merit, merit_order, priced, Order, Trade};

/// Clears one step.
pub fn clear(bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let pairs = match_merit(&b, &a);
    priced(&b, &a, &pairs, |bid, ask| {
        let p = 0.5 * (bid.price_per_kwh + ask.price_per_kwh);
        (p, p)
    })
}
