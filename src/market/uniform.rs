//! k-double auction (Satterthwaite & Williams): merit-order matching, then every trade clears at
//! one price `p = k·b* + (1 − k)·a*`, where `b*` and `a*` are the bid and ask of the marginal
//! (last) matched pair. Since every matched bid is ≥ b* ≥ p ≥ a* ≥ every matched ask, the price is
//! individually rational for all.

use super::{crossing, match_volume, merit_order, priced, Order, Trade};

/// Clears one step with weight `k` ∈ [0, 1] on the marginal bid.
pub fn clear(bids: &[Order], asks: &[Order], k: f64) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let Some(c) = crossing(&b, &a) else {
        return Vec::new();
    };
    let p = k * c.bid_price + (1.0 - k) * c.ask_price;
    priced(&b, &a, &match_volume(&b, &a, c.kwh), |_, _| (p, p))
}
