//! Pay-as-ask: merit-order matching (highest bid with lowest ask, a buyer may trade with several
//! sellers), every pair priced at the seller's ask. The corrected form of the 2024 paper's
//! greedy matching.

use super::{match_merit, merit_order, priced, Order, Trade};

/// Clears one step.
pub fn clear(bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let pairs = match_merit(&b, &a);
    priced(&b, &a, &pairs, |_, ask| {
        (ask.price_per_kwh, ask.price_per_kwh)
    })
}
