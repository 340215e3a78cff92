//! McAfee's (1992) dominant-strategy double auction with trade reduction, for divisible orders.
//!
//! Merit-order the bids `b₁ ≥ b₂ ≥ …` and asks `a₁ ≤ a₂ ≤ …` and walk the two step curves to
//! their crossing: the efficient volume `Q*`, the marginal bid and ask prices `b_K`, `a_K` (the
//! last ones that trade), and the next prices beyond `Q*` (`b_{K+1}`: what is left of the marginal
//! bid, or the next bid; likewise `a_{K+1}`). With `p₀ = (b_{K+1} + a_{K+1})/2` when both exist:
//!
//! * if `a_K ≤ p₀ ≤ b_K`, the volume `Q*` trades at `p₀`;
//! * otherwise the **marginal quantity** is excluded: `Q* − q_K` trades, where `q_K` is the
//!   smallest order in the marginal bid tier or the marginal ask tier (one unit on unit
//!   instances: classic McAfee, which excludes the marginal pair of single-unit traders); buyers
//!   pay `b_K`, sellers receive `a_K`, and the operator keeps `(b_K − a_K)` per kWh. Defining
//!   `q_K` by tiers, not by the last pair of a walk, keeps it independent of how equal prices are
//!   ordered.
//!
//! Who trades is decided pro rata within tiers of equal price ([`super::allocate_volume`]). No
//! trader's price depends on its own report, which makes truthful bidding a dominant strategy for
//! single-unit traders; the mechanism never runs a deficit. Where the old rule excluded the
//! marginal *orders*, one buyer of 3 kWh facing three 1 kWh sellers traded nothing; now it trades
//! 2 kWh.

use super::{crossing, match_volume, merit_order, priced, Order, Trade};

/// Clears one step.
pub fn clear(bids: &[Order], asks: &[Order]) -> Vec<Trade> {
    let (b, a) = merit_order(bids, asks);
    let Some(c) = crossing(&b, &a) else {
        return Vec::new();
    };
    if let (Some(bn), Some(an)) = (c.next_bid, c.next_ask) {
        let p0 = 0.5 * (bn + an);
        if c.ask_price <= p0 && p0 <= c.bid_price {
            let pairs = match_volume(&b, &a, c.kwh);
            return priced(&b, &a, &pairs, |_, _| (p0, p0));
        }
    }
    let pairs = match_volume(&b, &a, c.kwh - c.marginal_kwh);
    priced(&b, &a, &pairs, |_, _| (c.bid_price, c.ask_price))
}
