//! k-double auction (Satterthwaite & Williams): merit-order matching, then every trade clears at
//! one price `p = k·b* + (1 − k)·a*`, where `b*` and `a*` are the bid and ask of the marginal
//! (last) matched pair. Since every matched bid is ≥ b* ≥ p ≥ a* ≥ every matched ask, the price is
//! individually rational for all.

use super::{match_merit, merit_order, priced, Order, Trade};

/// Clears one step with weight `k` ∈ [0, 1] on the marginal bid.
pub fn clear(bids: &[Order], asks: &[Order], k: f64) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let pairs = match_merit(&b, &a);
    let Some(last) = pairs.last() else {
        return Vec::new();
    };
    let p = k * b[last.bid].price_per_kwh + (1.0 - k) * a[last.ask].price_per_kwh;
    priced(&b, &a, &pairs, |_, _| (p, p))
}
