//! Matching on **net surplus**: the market designs in which the network's usage charges enter
//! the bids ([`crate::scenario::MarketDesign`]).
//!
//! An auction pairs bids and asks on their prices alone and leaves the network to be billed (or
//! corrected) afterwards. Here every seller–buyer pair `(s, b)` has its own *net surplus*
//!
//! ```text
//!   w_sb = bid_b − ask_s − c_sb        (per kWh)
//! ```
//!
//! with `c_sb` the network usage charge of delivering from `s` to `b` (computed before matching,
//! [`crate::clearing::charges`]), and the step's trades `x_sb ≥ 0` (kWh) solve the transportation
//! problem
//!
//! ```text
//!   max Σ w_sb x_sb   s.t.  Σ_b x_sb ≤ q_s (each seller),  Σ_s x_sb ≤ q_b (each buyer)
//! ```
//!
//! over the pairs with `w_sb > 0`. A pair whose charge eats its surplus does not trade; among
//! buyers of equal bid, a seller serves the one the network charges least to reach. Under the
//! `welfare` design the same variables and rows join the network correction's problem
//! ([`crate::clearing::Corrector::correct`] with a [`PairBook`]), so that one optimisation decides
//! trades, curtailment and shedding together — the system-centric P2P market of Kim & Dvorkin
//! ("A P2P-dominant distribution system architecture", IEEE Trans. Power Syst. 35(4), 2020), with
//! the physics of netclear: trades are financial and never move an electron, so the network only
//! binds them through what must physically exist to be sold (a seller's uncurtailed surplus, a
//! buyer's unshed deficit).
//!
//! **Prices.** Each executed pair splits its net surplus equally: the seller receives
//! `ask_s + w_sb/2`, the buyer pays that price for the energy plus the charge `c_sb` (booked as
//! the trade's network charge), in all `bid_b − w_sb/2`. Both sides are individually rational and
//! the money balances exactly (buyer's payment = seller's receipt + charge).

use super::{Order, Trade};
use crate::opt::{self, Problem, Sense, Status, Tag, VarId};

/// Trades below this (kWh) are an interior-point solver's dust on pairs the optimum leaves out.
pub const PAIR_DUST_KWH: f64 = 1e-7;

/// One seller–buyer pair that can trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairOffer {
    /// Seller prosumer.
    pub seller: usize,
    /// Buyer prosumer.
    pub buyer: usize,
    /// The buyer's bid, per kWh.
    pub bid_per_kwh: f64,
    /// The seller's ask, per kWh.
    pub ask_per_kwh: f64,
    /// The network usage charge of the pair, per kWh.
    pub charge_per_kwh: f64,
}

impl PairOffer {
    /// `bid − ask − charge`, per kWh.
    pub fn net_surplus_per_kwh(&self) -> f64 {
        self.bid_per_kwh - self.ask_per_kwh - self.charge_per_kwh
    }
    /// The price the seller receives (and the buyer pays for the energy), per kWh.
    pub fn price_per_kwh(&self) -> f64 {
        self.ask_per_kwh + 0.5 * self.net_surplus_per_kwh()
    }
}

/// A step's pairs with positive net surplus, and each prosumer's quantity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairBook {
    /// The pairs (only those with a positive net surplus).
    pub offers: Vec<PairOffer>,
    /// Energy each prosumer offers to sell, kWh (0 for buyers).
    pub supply_kwh: Vec<f64>,
    /// Energy each prosumer bids for, kWh (0 for sellers).
    pub demand_kwh: Vec<f64>,
}

impl PairBook {
    /// The book of a step's orders; `charge(seller, buyer)` is the pair's usage charge per kWh.
    pub fn new(
        n_agents: usize,
        bids: &[Order],
        asks: &[Order],
        charge: impl Fn(usize, usize) -> f64,
    ) -> PairBook {
        let mut book = PairBook {
            offers: Vec::new(),
            supply_kwh: vec![0.0; n_agents],
            demand_kwh: vec![0.0; n_agents],
        };
        for a in asks {
            book.supply_kwh[a.agent] += a.kwh;
        }
        for b in bids {
            book.demand_kwh[b.agent] += b.kwh;
        }
        for a in asks {
            for b in bids {
                let offer = PairOffer {
                    seller: a.agent,
                    buyer: b.agent,
                    bid_per_kwh: b.price_per_kwh,
                    ask_per_kwh: a.price_per_kwh,
                    charge_per_kwh: charge(a.agent, b.agent),
                };
                if offer.net_surplus_per_kwh() > 1e-12 && offer.charge_per_kwh.is_finite() {
                    book.offers.push(offer);
                }
            }
        }
        book
    }

    /// Adds the trade variables (kW, so that `x·dt` is the step's kWh) with their surplus as a
    /// negative cost, and each prosumer's quantity row, to `p`; returns the variables, one per
    /// offer.
    pub fn add_to(&self, p: &mut Problem, dt_h: f64) -> Vec<VarId> {
        let n = self.supply_kwh.len();
        let mut sells: Vec<Vec<(VarId, f64)>> = vec![Vec::new(); n];
        let mut buys: Vec<Vec<(VarId, f64)>> = vec![Vec::new(); n];
        let vars: Vec<VarId> = self
            .offers
            .iter()
            .map(|o| {
                let ub = self.supply_kwh[o.seller].min(self.demand_kwh[o.buyer]) / dt_h;
                let v = p.var(
                    Tag::at2("pair", o.seller, o.buyer),
                    0.0,
                    ub,
                    -o.net_surplus_per_kwh() * dt_h,
                );
                sells[o.seller].push((v, 1.0));
                buys[o.buyer].push((v, 1.0));
                v
            })
            .collect();
        for i in 0..n {
            if sells[i].len() > 1 {
                let row = std::mem::take(&mut sells[i]);
                p.row(
                    Tag::at("sells", i),
                    Sense::Le,
                    row,
                    self.supply_kwh[i] / dt_h,
                );
            }
            if buys[i].len() > 1 {
                let row = std::mem::take(&mut buys[i]);
                p.row(
                    Tag::at("buys", i),
                    Sense::Le,
                    row,
                    self.demand_kwh[i] / dt_h,
                );
            }
        }
        vars
    }

    /// Energy each prosumer sells and buys under a solution (`x_kw` per offer), kW.
    pub fn sold_bought_kw(&self, x_kw: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = self.supply_kwh.len();
        let (mut sold, mut bought) = (vec![0.0; n], vec![0.0; n]);
        for (o, &x) in self.offers.iter().zip(x_kw) {
            sold[o.seller] += x.max(0.0);
            bought[o.buyer] += x.max(0.0);
        }
        (sold, bought)
    }

    /// The trades of a solution (`x_kw[k]` for offer `k`), at the split-surplus price.
    pub fn trades(&self, x_kw: &[f64], dt_h: f64) -> Vec<Trade> {
        self.offers
            .iter()
            .zip(x_kw)
            .filter_map(|(o, &x)| {
                let kwh = x.max(0.0) * dt_h;
                (kwh > PAIR_DUST_KWH).then(|| Trade {
                    seller: o.seller,
                    buyer: o.buyer,
                    kwh,
                    buyer_price_per_kwh: o.price_per_kwh(),
                    seller_price_per_kwh: o.price_per_kwh(),
                    bid_per_kwh: o.bid_per_kwh,
                    ask_per_kwh: o.ask_per_kwh,
                })
            })
            .collect()
    }

    /// The pair charge of a trade of this book, per kWh (0 if the pair is not in the book).
    pub fn charge_per_kwh(&self, seller: usize, buyer: usize) -> f64 {
        self.offers
            .iter()
            .find(|o| o.seller == seller && o.buyer == buyer)
            .map_or(0.0, |o| o.charge_per_kwh)
    }
}

/// Matches a book on net surplus alone (no network rows): the `charges-in-bids` design. A
/// failure of the solver is returned as its status (data, not a panic).
pub fn match_pairs(book: &PairBook) -> Result<Vec<Trade>, Status> {
    Ok(book.trades(&solve_pairs(book)?, 1.0))
}

/// The net-surplus optimum of a book alone: energy per offer, kWh.
pub fn solve_pairs(book: &PairBook) -> Result<Vec<f64>, Status> {
    if book.offers.is_empty() {
        return Ok(Vec::new());
    }
    // Quantities in kWh (dt = 1): the book is already per step.
    let mut p = Problem::default();
    let vars = book.add_to(&mut p, 1.0);
    let sol = opt::clarabel::solve(&p, &Default::default());
    if !sol.status.is_ok() {
        return Err(sol.status);
    }
    Ok(vars.iter().map(|&v| sol.x[v].max(0.0)).collect())
}
