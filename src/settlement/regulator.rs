//! The seed community's regulator (issue 16, `docs/presets/community100.md`): money transfers
//! that reward or discourage behaviour, and bans from P2P trading.
//!
//! # Incentives (per prosumer and step; the scenario's currency)
//!
//! ```text
//!   bonus   = renewable_bonus · renewable_kWh + p2p_bonus · (p2p bought + p2p sold)
//!   penalty = market_penalty · (market bought + market sold)
//! ```
//!
//! `renewable_kWh` is the prosumer's load served by its own PV and its own battery (which the
//! greedy rule charges only from its PV): `load − p2p bought − market bought`. Each kWh earns or
//! costs once, in the step it happens. (The seed multiplies its *cumulative* renewable usage and
//! market quantity by the rates every step, so a kWh of step 1 is rewarded again in every later
//! step; that is a compounding error, not a rule, and is not reproduced.) A prosumer banned in a
//! step receives no bonus and pays no penalty in it (as in the seed).
//!
//! These are **transfers between the regulator and the prosumers**, never the value of energy:
//! they are booked in [`super::Account::policy_bonus`] and [`super::Account::policy_penalty`],
//! apart from the energy bill, and the P2P and market prices do not include them.
//!
//! # Objectives (what each changes)
//!
//! | objective | renewable bonus | P2P bonus | market penalty |
//! |---|---|---|---|
//! | `maximize_renewable` (the seed's default) | yes | yes | yes |
//! | `maximize_p2p` | no | yes | yes |
//! | `maximize_profit` | no | no | no |
//!
//! The seed names the three objectives but its code applies the same incentives under each;
//! here the objective selects which transfers are paid: `maximize_p2p` rewards trading with
//! peers and not self-consumption, `maximize_profit` keeps every euro in the prosumers' energy
//! accounts (no transfers; only the balance ban can then trigger).
//!
//! # Bans (decided at the end of step `t`, from the running totals)
//!
//! * `penalties > 5 € and bonus < 5 €` (totals since the start) → banned for the next 2 steps
//!   (`excessive_market_usage`);
//! * `balance < −50 €` (money received minus paid, transfers included) → the next 3 steps
//!   (`negative_balance`);
//! * a prosumer banned in step `t + 1` already is not banned again, and a ban for a reason is not
//!   issued again within 5 steps of the last ban for that reason (issued at `t' ≥ t − 5`), as the
//!   seed's regulator does. When both rules fire in one step the longer ban holds.
//!
//! A banned prosumer places no P2P order: its whole imbalance goes to the market fallback.

use serde::{Deserialize, Serialize};

/// What the regulator aims at (module docs: which transfers each pays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Objective {
    /// All three transfers.
    MaximizeRenewable,
    /// No transfers.
    MaximizeProfit,
    /// P2P bonus and market penalty, no renewable bonus.
    MaximizeP2p,
}

/// The regulator's rates and rules.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegulatorSpec {
    /// What it aims at.
    pub objective: Objective,
    /// Bonus per kWh of own renewable energy used on site.
    pub renewable_bonus_per_kwh: f64,
    /// Bonus per kWh traded P2P (bought or sold).
    pub p2p_bonus_per_kwh: f64,
    /// Penalty per kWh traded with the market fallback (bought or sold).
    pub market_penalty_per_kwh: f64,
    /// Excessive-market-usage ban: total penalties above this…
    pub ban_penalties_above: f64,
    /// … and total bonus below this.
    pub ban_bonus_below: f64,
    /// Its length, steps.
    pub ban_market_steps: usize,
    /// Negative-balance ban: balance below this.
    pub ban_balance_below: f64,
    /// Its length, steps.
    pub ban_balance_steps: usize,
    /// No ban for the same reason within this many steps of the last one.
    pub ban_repeat_window_steps: usize,
}

impl Default for RegulatorSpec {
    fn default() -> Self {
        RegulatorSpec {
            objective: Objective::MaximizeRenewable,
            renewable_bonus_per_kwh: 0.02,
            p2p_bonus_per_kwh: 0.01,
            market_penalty_per_kwh: 0.02,
            ban_penalties_above: 5.0,
            ban_bonus_below: 5.0,
            ban_market_steps: 2,
            ban_balance_below: -50.0,
            ban_balance_steps: 3,
            ban_repeat_window_steps: 5,
        }
    }
}

/// What a prosumer did in a step, as the regulator sees it (kWh).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Conduct {
    /// Own PV and battery energy used on site.
    pub renewable_kwh: f64,
    /// Traded P2P, bought plus sold.
    pub p2p_kwh: f64,
    /// Traded with the market fallback, bought plus sold.
    pub market_kwh: f64,
}

impl RegulatorSpec {
    /// The rates the objective pays: (renewable bonus, P2P bonus, market penalty) per kWh.
    pub fn rates(&self) -> (f64, f64, f64) {
        match self.objective {
            Objective::MaximizeRenewable => (
                self.renewable_bonus_per_kwh,
                self.p2p_bonus_per_kwh,
                self.market_penalty_per_kwh,
            ),
            Objective::MaximizeP2p => (0.0, self.p2p_bonus_per_kwh, self.market_penalty_per_kwh),
            Objective::MaximizeProfit => (0.0, 0.0, 0.0),
        }
    }

    /// The step's (bonus, penalty) of a prosumer that is not banned.
    pub fn incentives(&self, c: &Conduct) -> (f64, f64) {
        let (r, p, m) = self.rates();
        (r * c.renewable_kwh + p * c.p2p_kwh, m * c.market_kwh)
    }
}

/// Why a prosumer was banned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BanReason {
    /// High penalties, low bonus.
    ExcessiveMarketUsage,
    /// Balance below the floor.
    NegativeBalance,
}

/// A ban issued at the end of step `step`: the prosumer is banned in steps
/// `step + 1 ..= step + steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ban {
    /// The prosumer.
    pub prosumer: usize,
    /// The step at whose end it was issued.
    pub step: usize,
    /// Why.
    pub reason: BanReason,
    /// How many steps it lasts.
    pub steps: usize,
}

/// A prosumer's running totals since the start (the scenario's currency).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Standing {
    /// Bonus received.
    pub bonus_total: f64,
    /// Penalties paid.
    pub penalties_total: f64,
    /// Money received minus money paid, transfers included.
    pub balance: f64,
}

/// Every ban issued so far and who is banned when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bans {
    /// Last step each prosumer is banned in (`None`: never banned).
    until: Vec<Option<usize>>,
    /// Every ban issued, in order.
    pub issued: Vec<Ban>,
}

impl Bans {
    /// No bans among `n` prosumers.
    pub fn new(n: usize) -> Bans {
        Bans {
            until: vec![None; n],
            issued: Vec::new(),
        }
    }

    /// Whether prosumer `i` is banned in step `t`.
    pub fn is_banned(&self, i: usize, t: usize) -> bool {
        self.issued
            .iter()
            .any(|b| b.prosumer == i && b.step < t && t <= b.step + b.steps)
    }

    /// Applies the rules at the end of step `t` to every prosumer's standing; returns the bans
    /// issued (module docs).
    pub fn enforce(&mut self, spec: &RegulatorSpec, t: usize, standings: &[Standing]) -> Vec<Ban> {
        let mut new = Vec::new();
        for (i, s) in standings.iter().enumerate() {
            if self.is_banned(i, t + 1) {
                continue;
            }
            let recent = |reason: BanReason| {
                self.issued.iter().any(|b| {
                    b.prosumer == i
                        && b.reason == reason
                        && b.step + spec.ban_repeat_window_steps >= t
                })
            };
            let mut fire = |reason: BanReason, steps: usize| {
                if !recent(reason) && steps > 0 {
                    new.push(Ban {
                        prosumer: i,
                        step: t,
                        reason,
                        steps,
                    });
                }
            };
            if s.penalties_total > spec.ban_penalties_above && s.bonus_total < spec.ban_bonus_below
            {
                fire(BanReason::ExcessiveMarketUsage, spec.ban_market_steps);
            }
            if s.balance < spec.ban_balance_below {
                fire(BanReason::NegativeBalance, spec.ban_balance_steps);
            }
        }
        for b in &new {
            let end = b.step + b.steps;
            let u = &mut self.until[b.prosumer];
            *u = Some(u.map_or(end, |x| x.max(end)));
        }
        self.issued.extend(new.iter().copied());
        new
    }

    /// The last step prosumer `i` is banned in, if it was ever banned.
    pub fn banned_until(&self, i: usize) -> Option<usize> {
        self.until.get(i).copied().flatten()
    }
}
