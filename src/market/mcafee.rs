//! McAfee's (1992) dominant-strategy double auction with trade reduction, applied to orders.
//!
//! Sort bids `b₁ ≥ b₂ ≥ …` and asks `a₁ ≤ a₂ ≤ …` (merit order) and let `K` be the largest
//! index with `b_K ≥ a_K`. With `p₀ = (b_{K+1} + a_{K+1})/2` (when both exist):
//!
//! * if `a_K ≤ p₀ ≤ b_K`, the first `K` buyers and sellers trade at `p₀`;
//! * otherwise the marginal pair is excluded: the first `K − 1` buyers and sellers trade, buyers
//!   pay `b_K`, sellers receive `a_K`, and the operator keeps `(b_K − a_K)` per kWh.
//!
//! No trader's price depends on its own report, which makes truthful bidding a dominant strategy
//! for single-unit traders; the mechanism never runs a deficit. Quantities among the admitted
//! traders are paired greedily in merit order.

use super::{match_merit, merit_order, priced, Order, Trade};

/// Clears one step.
pub fn clear(bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let mut k = 0;
    while k < b.len() && k < a.len() && b[k].price_per_kwh >= a[k].price_per_kwh {
        k += 1;
    }
    if k == 0 {
        return Vec::new();
    }
    let (bk, ak) = (b[k - 1].price_per_kwh, a[k - 1].price_per_kwh);
    if let (Some(bn), Some(an)) = (b.get(k), a.get(k)) {
        let p0 = 0.5 * (bn.price_per_kwh + an.price_per_kwh);
        if ak <= p0 && p0 <= bk {
            let pairs = match_merit(&b[..k], &a[..k]);
            return priced(&b, &a, &pairs, |_, _| (p0, p0));
        }
    }
    let m = k - 1;
    let pairs = match_merit(&b[..m], &a[..m]);
    priced(&b, &a, &pairs, |_, _| (bk, ak))
}
