//! Price strategies: how a prosumer prices its bid or ask in a step.
//!
//! With retail price `r` and feed-in tariff `f` of the step (a prosumer never wants to buy above
//! `r` or sell below `f`, since the retailer is always there):
//!
//! * `fixed`: every buyer bids `bid_per_kwh`, every seller asks `ask_per_kwh` (the paper: 0.20 and
//!   0.05 $/kWh).
//! * `urgency`: a buyer whose own PV covers none of its load is most urgent. Its urgency is
//!   `u = deficit / load` and it bids `f + (r − f)·u`; a seller's urgency is the share of its PV
//!   it cannot use itself, `u = surplus / pv`, and it asks `r − (r − f)·u`. Fully dependent
//!   buyers bid the retail price; sellers with nothing to self-consume ask the feed-in tariff.
//! * `cap-urgency`: the seed community's rule (issue 16, `docs/presets/community100.md`). The
//!   urgency is the order's share of the largest trade a prosumer may place in a step,
//!   `u = min(q, cap)/cap` (`cap` = `trade_cap_kwh`, the seed's `MAX_TRADE_CAP` = 3 kWh), with
//!   the grid's sell price `s` (here the feed-in tariff) and buy price `b` (retail). Asks start
//!   at `s` plus an urgency premium, bids at `b` minus an urgency discount; the seed states the
//!   direction and the bounds but not the size, and we take the linear form its ask code uses,
//!   the spread times the urgency, for both:
//!
//!   ```text
//!     ask = min(max(s + u·(b − s), 1.01·s), 0.95·b)
//!     bid = max(min(b − u·(b − s), 0.99·b), 1.05·s)
//!   ```
//!
//!   (clamped in the seed's order: should the two bounds ever cross, an ask takes its upper and
//!   a bid its lower one). A seller with a full 3 kWh to place asks `0.95·b`; a buyer with a
//!   full 3 kWh to buy bids `1.05·s`; small orders sit at the other end. The seed also draws a
//!   multiplicative noise (0.98–1.05 on asks); it is not drawn here, so prices are exactly the
//!   formula ([`cap_urgency_ask`], [`cap_urgency_bid`]).
//! * `zi`: zero intelligence constrained (Gode & Sunder 1993): bids and asks drawn uniformly from
//!   `[f, r]`, from a generator seeded by (seed, step, prosumer), so runs are reproducible.
//!
//! Every strategy's prices are bounded by the step's own tariff: no bid above `r`, no ask below
//! `f` (under time-of-use or wholesale-pass tariffs a fixed 0.05 ask would otherwise sell below
//! feed-in, or a fixed 0.20 bid buy above a 0.10 retail price). Every mechanism prices trades
//! between matched bids and asks, so every P2P price lies in `[f, r]`.

use serde::{Deserialize, Serialize};

/// How prices are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Constant bid and ask.
    Fixed,
    /// Between feed-in and retail by how much of the need is unmet.
    Urgency,
    /// Zero intelligence (uniform random within [feed-in, retail]).
    Zi,
    /// The seed community's urgency: the order's share of the per-step trade cap moves asks up
    /// from the sell price and bids down from the buy price, within the seed's bounds.
    CapUrgency,
}

/// Everything a strategy may look at for one prosumer in one step.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// The step.
    pub step: usize,
    /// The prosumer.
    pub agent: usize,
    /// Its load in the step, kWh.
    pub load_kwh: f64,
    /// Its PV in the step, kWh.
    pub pv_kwh: f64,
    /// Retail price of the step.
    pub retail_per_kwh: f64,
    /// Feed-in tariff of the step.
    pub feed_in_per_kwh: f64,
}

/// Strategy parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceRule {
    /// Which strategy.
    pub strategy: Strategy,
    /// Bid for `fixed`, per kWh.
    pub bid_per_kwh: f64,
    /// Ask for `fixed`, per kWh.
    pub ask_per_kwh: f64,
    /// Seed for `zi`.
    pub seed: u64,
    /// The largest order of one prosumer in one step, kWh (`cap-urgency`'s urgency scale).
    pub trade_cap_kwh: f64,
}

impl PriceRule {
    /// The buyer's limit price, at most the step's retail price.
    pub fn bid(&self, s: &Situation) -> f64 {
        self.raw_bid(s).min(s.retail_per_kwh)
    }

    /// The seller's limit price, at least the step's feed-in tariff.
    pub fn ask(&self, s: &Situation) -> f64 {
        self.raw_ask(s).max(s.feed_in_per_kwh)
    }

    fn raw_bid(&self, s: &Situation) -> f64 {
        let (r, f) = (s.retail_per_kwh, s.feed_in_per_kwh);
        match self.strategy {
            Strategy::Fixed => self.bid_per_kwh,
            Strategy::Urgency => {
                let u = if s.load_kwh > 0.0 {
                    ((s.load_kwh - s.pv_kwh).max(0.0) / s.load_kwh).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                f + (r - f) * u
            }
            Strategy::Zi => {
                f + (r - f) * unit(self.seed, s.step, s.agent, crate::util::rng::stream::ZI_BID)
            }
            Strategy::CapUrgency => {
                cap_urgency_bid((s.load_kwh - s.pv_kwh).max(0.0), self.trade_cap_kwh, f, r)
            }
        }
    }

    fn raw_ask(&self, s: &Situation) -> f64 {
        let (r, f) = (s.retail_per_kwh, s.feed_in_per_kwh);
        match self.strategy {
            Strategy::Fixed => self.ask_per_kwh,
            Strategy::Urgency => {
                let u = if s.pv_kwh > 0.0 {
                    ((s.pv_kwh - s.load_kwh).max(0.0) / s.pv_kwh).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                r - (r - f) * u
            }
            Strategy::Zi => {
                f + (r - f) * unit(self.seed, s.step, s.agent, crate::util::rng::stream::ZI_ASK)
            }
            Strategy::CapUrgency => {
                cap_urgency_ask((s.pv_kwh - s.load_kwh).max(0.0), self.trade_cap_kwh, f, r)
            }
        }
    }
}

/// The urgency of an order of `q_kwh` under a per-step trade cap: `min(q, cap)/cap` in [0, 1].
pub fn cap_urgency(q_kwh: f64, cap_kwh: f64) -> f64 {
    if cap_kwh > 0.0 {
        (q_kwh / cap_kwh).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// The `cap-urgency` ask of a seller placing `q_kwh` (module docs): the grid's sell price plus
/// the urgency premium `u·(buy − sell)`, within `[1.01·sell, 0.95·buy]`.
pub fn cap_urgency_ask(q_kwh: f64, cap_kwh: f64, sell: f64, buy: f64) -> f64 {
    let u = cap_urgency(q_kwh, cap_kwh);
    (sell + u * (buy - sell)).max(1.01 * sell).min(0.95 * buy)
}

/// The `cap-urgency` bid of a buyer wanting `q_kwh` (module docs): the grid's buy price minus
/// the urgency discount `u·(buy − sell)`, within `[1.05·sell, 0.99·buy]`.
pub fn cap_urgency_bid(q_kwh: f64, cap_kwh: f64, sell: f64, buy: f64) -> f64 {
    let u = cap_urgency(q_kwh, cap_kwh);
    (buy - u * (buy - sell)).min(0.99 * buy).max(1.05 * sell)
}

pub use crate::util::rng::{splitmix64, unit};
