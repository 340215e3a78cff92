//! Settlement: every prosumer's energy and money in every step, booked by one function.
//!
//! # Energy (kWh in the step, per prosumer)
//!
//! Physical quantities come first, decided before any money moves: load `L` (with any shiftable
//! part at the time it runs), PV `G`, battery charge `B_in` and discharge `B_out`, EV charge
//! `V_in` and discharge `V_out` (behind the same meter), PV curtailed `C` and load shed `S` by the
//! network (and by the battery's own dispatch). Then
//!
//! ```text
//!   demand D = L + B_in + V_in,   supply Y = G + B_out + V_out − C,   σ = min(D − S, Y)
//!   D = σ + bought + import + S          Y = σ + sold + export
//! ```
//!
//! so metered energy is physical energy: what a prosumer imports or exports through its meter,
//! `D − S − Y`, is split into what it bought or sold P2P and what it bought from or sold to the
//! retailer. P2P moves no energy that the meter does not see.
//!
//! # Money (the scenario's currency; positive = the prosumer pays)
//!
//! ```text
//!   bill = import·retail − export·feed_in + paid_p2p − received_p2p + network_charge + loss_fee
//!          + fixed_charge (first step, households only) + policy_penalty·import
//!          − policy_bonus·(σ + bought)
//! ```
//!
//! * P2P payments cancel inside the community, except the operator's surplus (McAfee), the network
//!   charges and the loss fees, which leave it (to the operator and the DSO).
//! * `line_eta = η < 1` is a **fee**, not lost energy: a buyer receives every kWh it pays for
//!   (metered), and pays `(1/η − 1)·price` per kWh on top to the network operator — the money
//!   counterpart of the seed's delivery loss. Bids are scaled by η so a buyer never pays more than
//!   its bid in total. Physical losses are in the AC power flow of both cases.
//!
//! Adding a bill term touches this file only: a field on [`Account`], its line in [`settle`] and
//! in [`Account::bill`].

pub mod regulator;

use crate::tariff::Policy;
use serde::Serialize;

/// Energy and money of one prosumer in one step (kWh, and the scenario's currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Account {
    /// Consumption, kWh.
    pub load_kwh: f64,
    /// PV generation (before curtailment), kWh.
    pub pv_kwh: f64,
    /// Own PV and battery used on site, kWh.
    pub self_kwh: f64,
    /// Bought from other prosumers, kWh.
    pub p2p_bought_kwh: f64,
    /// Sold to other prosumers, kWh.
    pub p2p_sold_kwh: f64,
    /// Bought from the retailer, kWh.
    pub grid_import_kwh: f64,
    /// Sold to the retailer, kWh.
    pub grid_export_kwh: f64,
    /// Paid to other prosumers.
    pub p2p_paid: f64,
    /// Received from other prosumers.
    pub p2p_received: f64,
    /// Paid to the retailer.
    pub grid_paid: f64,
    /// Received from the retailer (feed-in).
    pub grid_received: f64,
    /// PV held back (by the network correction or the battery's own dispatch), kWh.
    pub curtailed_kwh: f64,
    /// Load not served (network correction with the background enforced), kWh.
    pub shed_kwh: f64,
    /// Network charges paid on P2P purchases.
    pub network_charge: f64,
    /// The P2P loss fee paid on purchases (`line_eta`).
    pub loss_fee: f64,
    /// Energy into the prosumer's battery, kWh.
    pub battery_in_kwh: f64,
    /// Energy out of the prosumer's battery, kWh.
    pub battery_out_kwh: f64,
    /// Energy into the prosumer's EV (behind its meter), kWh.
    pub ev_charge_kwh: f64,
    /// Energy out of the prosumer's EV (V2G, behind its meter), kWh.
    pub ev_discharge_kwh: f64,
    /// The retailer's fixed charge (booked in the first step).
    pub fixed_charge: f64,
    /// Regulator's bonus for local renewable energy consumed.
    pub policy_bonus: f64,
    /// Regulator's penalty on energy bought from the grid.
    pub policy_penalty: f64,
}

impl Account {
    /// An account with its physical quantities (kWh) set and no money.
    pub fn physical(load: f64, pv: f64, b_in: f64, b_out: f64, curtailed: f64) -> Account {
        Account {
            load_kwh: load,
            pv_kwh: pv,
            battery_in_kwh: b_in,
            battery_out_kwh: b_out,
            curtailed_kwh: curtailed,
            ..Account::default()
        }
    }
    /// This account with its EV's charge and discharge (kWh) behind the meter.
    pub fn with_ev(mut self, charge_kwh: f64, discharge_kwh: f64) -> Account {
        self.ev_charge_kwh = charge_kwh;
        self.ev_discharge_kwh = discharge_kwh;
        self
    }
    /// Net bill (positive = the prosumer pays).
    pub fn bill(&self) -> f64 {
        self.p2p_paid
            + self.grid_paid
            + self.network_charge
            + self.loss_fee
            + self.fixed_charge
            + self.policy_penalty
            - self.p2p_received
            - self.grid_received
            - self.policy_bonus
    }
    /// What the prosumer consumes: load plus battery and EV charging, kWh.
    pub fn demand_kwh(&self) -> f64 {
        self.load_kwh + self.battery_in_kwh + self.ev_charge_kwh
    }
    /// What the prosumer can supply: PV plus battery and EV discharge minus curtailment, kWh.
    pub fn supply_kwh(&self) -> f64 {
        self.pv_kwh + self.battery_out_kwh + self.ev_discharge_kwh - self.curtailed_kwh
    }
    /// Surplus it can export (traded or not), kWh.
    pub fn surplus_kwh(&self) -> f64 {
        (self.supply_kwh() - self.demand_kwh() + self.shed_kwh).max(0.0)
    }
    /// Deficit it must import (traded or not), kWh.
    pub fn deficit_kwh(&self) -> f64 {
        (self.demand_kwh() - self.shed_kwh - self.supply_kwh()).max(0.0)
    }
    /// Net injection into the network through its meter, kW over a step of `dt_h` hours.
    pub fn injection_kw(&self, dt_h: f64) -> f64 {
        (self.supply_kwh() - self.demand_kwh() + self.shed_kwh) / dt_h
    }
    /// Adds another account's quantities (totals over steps or prosumers).
    pub fn add(&mut self, o: &Account) {
        self.load_kwh += o.load_kwh;
        self.pv_kwh += o.pv_kwh;
        self.self_kwh += o.self_kwh;
        self.p2p_bought_kwh += o.p2p_bought_kwh;
        self.p2p_sold_kwh += o.p2p_sold_kwh;
        self.grid_import_kwh += o.grid_import_kwh;
        self.grid_export_kwh += o.grid_export_kwh;
        self.p2p_paid += o.p2p_paid;
        self.p2p_received += o.p2p_received;
        self.grid_paid += o.grid_paid;
        self.grid_received += o.grid_received;
        self.curtailed_kwh += o.curtailed_kwh;
        self.shed_kwh += o.shed_kwh;
        self.network_charge += o.network_charge;
        self.loss_fee += o.loss_fee;
        self.battery_in_kwh += o.battery_in_kwh;
        self.battery_out_kwh += o.battery_out_kwh;
        self.ev_charge_kwh += o.ev_charge_kwh;
        self.ev_discharge_kwh += o.ev_discharge_kwh;
        self.fixed_charge += o.fixed_charge;
        self.policy_bonus += o.policy_bonus;
        self.policy_penalty += o.policy_penalty;
    }
}

/// A prosumer's P2P position in a step: from bilateral trades (the auction) or from the pool
/// (central clearing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Position {
    /// Energy received, kWh.
    pub bought_kwh: f64,
    /// Energy delivered, kWh.
    pub sold_kwh: f64,
    /// Paid to sellers.
    pub paid: f64,
    /// Received from buyers.
    pub received: f64,
    /// Network charges.
    pub network_charge: f64,
    /// Loss fee.
    pub loss_fee: f64,
}

/// One executed trade as the settlement books it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Booked {
    /// Seller.
    pub seller: usize,
    /// Buyer.
    pub buyer: usize,
    /// Energy delivered, kWh.
    pub kwh: f64,
    /// Price the buyer pays per kWh.
    pub buyer_price_per_kwh: f64,
    /// Price the seller receives per kWh.
    pub seller_price_per_kwh: f64,
    /// Network charge on it, paid by the buyer.
    pub network_charge: f64,
}

/// The loss fee per kWh a buyer pays on a P2P price `price` with delivery factor `eta`.
pub fn loss_fee_per_kwh(price: f64, eta: f64) -> f64 {
    (1.0 / eta - 1.0) * price
}

/// Positions of `n` prosumers from executed trades.
pub fn positions_from_trades(n: usize, trades: &[Booked], line_eta: f64) -> Vec<Position> {
    let mut pos = vec![Position::default(); n];
    for t in trades {
        let b = &mut pos[t.buyer];
        b.bought_kwh += t.kwh;
        b.paid += t.kwh * t.buyer_price_per_kwh;
        b.network_charge += t.network_charge;
        b.loss_fee += t.kwh * loss_fee_per_kwh(t.buyer_price_per_kwh, line_eta);
        let s = &mut pos[t.seller];
        s.sold_kwh += t.kwh;
        s.received += t.kwh * t.seller_price_per_kwh;
    }
    pos
}

/// Positions from a pool that matches the step's surpluses to its deficits pro rata, at one
/// internal price: the pool volume is `V = min(Σ surplus, Σ deficit)`; every prosumer with a
/// surplus sells `V·s_i/Σs`, every one with a deficit buys `V·d_i/Σd`.
pub fn positions_from_pool(
    accounts: &[Account],
    price_per_kwh: f64,
    line_eta: f64,
) -> Vec<Position> {
    let s: Vec<f64> = accounts.iter().map(Account::surplus_kwh).collect();
    let d: Vec<f64> = accounts.iter().map(Account::deficit_kwh).collect();
    let (ts, td) = (s.iter().sum::<f64>(), d.iter().sum::<f64>());
    let v = ts.min(td);
    accounts
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let sold = if ts > 0.0 { v * s[i] / ts } else { 0.0 };
            let bought = if td > 0.0 { v * d[i] / td } else { 0.0 };
            Position {
                bought_kwh: bought,
                sold_kwh: sold,
                paid: bought * price_per_kwh,
                received: sold * price_per_kwh,
                network_charge: 0.0,
                loss_fee: bought * loss_fee_per_kwh(price_per_kwh, line_eta),
            }
        })
        .collect()
}

/// The bill rules of a study (besides the step's prices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// Regulator policy.
    pub policy: Policy,
    /// Fixed charge per household prosumer and day.
    pub daily_fixed_charge: f64,
}

/// Books one step: P2P positions, the residual with the retailer at `retail`/`feed_in`, policy
/// and fixed charges, into accounts that already hold their physical quantities. `first_step`
/// books the daily fixed charge for the prosumers `pays_fixed` marks.
pub fn settle(
    accounts: &mut [Account],
    positions: &[Position],
    retail_per_kwh: f64,
    feed_in_per_kwh: f64,
    rules: &Rules,
    first_step: bool,
    pays_fixed: &[bool],
) {
    for (i, a) in accounts.iter_mut().enumerate() {
        let p = positions.get(i).copied().unwrap_or_default();
        a.self_kwh = (a.demand_kwh() - a.shed_kwh).min(a.supply_kwh()).max(0.0);
        a.p2p_bought_kwh = p.bought_kwh;
        a.p2p_sold_kwh = p.sold_kwh;
        a.p2p_paid = p.paid;
        a.p2p_received = p.received;
        a.network_charge = p.network_charge;
        a.loss_fee = p.loss_fee;
        a.grid_import_kwh = (a.demand_kwh() - a.shed_kwh - a.self_kwh - a.p2p_bought_kwh).max(0.0);
        a.grid_export_kwh = (a.supply_kwh() - a.self_kwh - a.p2p_sold_kwh).max(0.0);
        a.grid_paid = a.grid_import_kwh * retail_per_kwh;
        a.grid_received = a.grid_export_kwh * feed_in_per_kwh;
        a.policy_bonus =
            rules.policy.local_renewable_bonus_per_kwh * (a.self_kwh + a.p2p_bought_kwh);
        a.policy_penalty = rules.policy.grid_purchase_penalty_per_kwh * a.grid_import_kwh;
        a.fixed_charge = if first_step && pays_fixed.get(i).copied().unwrap_or(true) {
            rules.daily_fixed_charge
        } else {
            0.0
        };
    }
}
