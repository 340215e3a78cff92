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
        }
    }
}

pub use crate::util::rng::{splitmix64, unit};
