//! What a case keeps of its day's accounts: every step's account of every prosumer
//! ([`Retention::Steps`]), or only the sums the KPIs and the summary files are made of
//! ([`Retention::Totals`]).
//!
//! # Why
//!
//! A day's accounts are `steps × prosumers × 22` numbers per case: at 10⁵ buses (village80
//! copied 1,270 times, 63,500 households, 24 steps) that is 0.57 GB of the day's 1.5 GB, and
//! nothing in `--no-out` or `--outputs summary` reads one of them individually — the KPIs, the
//! per-step totals (`hourly.csv`) and the per-prosumer totals (`prosumers.csv`) are sums. The
//! day loop therefore folds each step into a [`Totals`] as it goes, and keeps the step itself only
//! when a consumer needs it (the per-step tables, the report, the ledger, the central mode's
//! comparisons). The same goes for the per-node vectors of the network correction's outcome
//! ([`super::StepClearing::summarised`]), the per-node and per-branch vectors of each step's
//! power flow ([`super::network::StepNetwork::summarised`], the branch peaks folded in step by
//! step) and the trades: what the KPIs, the market-design comparison and `hourly.csv` read of them
//! are sums ([`TradeTotals`]; at 10⁵ buses a day makes 776 000 trades, 81 MB).
//!
//! # The law
//!
//! Totals are folded in the order the per-step sums are taken (steps in order, prosumers in
//! order within a step), each sum starting where `Iterator::sum` starts it, so a KPI or a total
//! computed from [`Totals`] is the *same floating-point number* as the sum over the kept steps —
//! `tests/study.rs` checks both retentions give byte-identical KPIs and summary files.

use super::StepTrade;
use crate::settlement::Account;

/// Which of a day's per-step results a study keeps (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retention {
    /// Every step's accounts and the correction's per-node vectors (every output file).
    #[default]
    Steps,
    /// Only the sums ([`Totals`], [`TradeTotals`], the branch peaks) and the per-step scalars:
    /// the KPIs, `summary.json` and the summary files, in a fraction of the memory.
    Totals,
}

impl Retention {
    /// Whether the steps are kept.
    pub fn keeps_steps(self) -> bool {
        self == Retention::Steps
    }
}

/// The sums of a case's accounts (module docs). `Iterator::sum` of `f64` starts at `-0.0`, and
/// [`Account::add`] at `+0.0`; each field below starts as the sum it replaces did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Every account of the day (steps in order, prosumers in order).
    pub all: Account,
    /// Per step: the community's total ([`super::CaseResult::step_total`]).
    pub steps: Vec<Account>,
    /// Per step: the community's bill, `Σ_i bill`, $.
    pub step_bills: Vec<f64>,
    /// Per prosumer: the day's total ([`super::CaseResult::prosumer_total`]).
    pub prosumers: Vec<Account>,
    /// Per prosumer: the day's bill, `Σ_t bill`, $ (as `Iterator::sum`).
    pub bills: Vec<f64>,
    /// Per prosumer: the day's charging the correction throttled, kWh (as `Iterator::sum`).
    pub ev_throttled_kwh: Vec<f64>,
    /// Energy the community drew through its meters, net per step, kWh (lossless).
    pub community_import_kwh: f64,
    /// Energy the community fed out, net per step, kWh.
    pub community_export_kwh: f64,
}

impl Totals {
    /// The totals of a day's (or a period's) kept steps.
    pub fn of(steps: &[Vec<Account>]) -> Totals {
        let mut t = Totals::default();
        for step in steps {
            t.add_step(step);
        }
        t
    }

    /// Folds one step's accounts (one per prosumer) in.
    pub fn add_step(&mut self, step: &[Account]) {
        if self.prosumers.len() < step.len() {
            self.prosumers.resize(step.len(), Account::default());
            self.bills.resize(step.len(), -0.0);
            self.ev_throttled_kwh.resize(step.len(), -0.0);
        }
        let mut total = Account::default();
        let mut bill = -0.0;
        let mut net = 0.0;
        for (i, a) in step.iter().enumerate() {
            self.all.add(a);
            total.add(a);
            let b = a.bill();
            bill += b;
            self.prosumers[i].add(a);
            self.bills[i] += b;
            self.ev_throttled_kwh[i] += a.ev_throttled_kwh;
            net -= a.injection_kw(1.0);
        }
        self.community_import_kwh += net.max(0.0);
        self.community_export_kwh += (-net).max(0.0);
        self.steps.push(total);
        self.step_bills.push(bill);
    }

    /// The number of steps folded in.
    pub fn n_steps(&self) -> usize {
        self.steps.len()
    }
}

/// The sums of a day's trades (module docs), folded trade by trade in the order of the trade
/// list; every sum starts where `Iterator::sum` starts it (`-0.0`), the per-step ones at `0.0` as
/// `hourly.csv`'s did.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeTotals {
    /// Trades.
    pub n: usize,
    /// Energy the auction proposed, `Σ kwh`.
    pub proposed_kwh: f64,
    /// Energy executed after the network correction, `Σ executed_kwh`.
    pub executed_kwh: f64,
    /// What the buyers paid, `Σ executed_kwh · buyer_price_per_kwh`.
    pub paid: f64,
    /// What the sellers received, `Σ executed_kwh · seller_price_per_kwh`.
    pub received: f64,
    /// Energy the correction curtailed, `Σ (kwh − executed_kwh)`.
    pub curtailed_kwh: f64,
    /// Bid–ask surplus of the executed energy less the network charges,
    /// `Σ ((bid − ask) · executed_kwh − network_charge)`.
    pub net_surplus: f64,
    /// Per step: the energy executed and what its buyers paid.
    pub steps: Vec<(f64, f64)>,
}

impl Default for TradeTotals {
    fn default() -> TradeTotals {
        TradeTotals {
            n: 0,
            proposed_kwh: -0.0,
            executed_kwh: -0.0,
            paid: -0.0,
            received: -0.0,
            curtailed_kwh: -0.0,
            net_surplus: -0.0,
            steps: Vec::new(),
        }
    }
}

impl TradeTotals {
    /// The sums of a trade list.
    pub fn of(trades: &[StepTrade]) -> TradeTotals {
        let mut t = TradeTotals::default();
        for x in trades {
            t.add(x);
        }
        t
    }

    /// Folds one trade in.
    pub fn add(&mut self, x: &StepTrade) {
        let (tr, e) = (&x.trade, x.executed_kwh);
        self.n += 1;
        self.proposed_kwh += tr.kwh;
        self.executed_kwh += e;
        self.paid += e * tr.buyer_price_per_kwh;
        self.received += e * tr.seller_price_per_kwh;
        self.curtailed_kwh += tr.kwh - e;
        self.net_surplus += (tr.bid_per_kwh - tr.ask_per_kwh) * e - x.network_charge;
        if self.steps.len() <= x.step {
            self.steps.resize(x.step + 1, (0.0, 0.0));
        }
        let (vol, paid) = &mut self.steps[x.step];
        *vol += e;
        *paid += e * tr.buyer_price_per_kwh;
    }

    /// Step `t`'s executed energy and payment (zero without trades).
    pub fn step(&self, t: usize) -> (f64, f64) {
        self.steps.get(t).copied().unwrap_or((0.0, 0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(load: f64, pv: f64, paid: f64) -> Account {
        Account {
            load_kwh: load,
            pv_kwh: pv,
            grid_paid: paid,
            ..Account::default()
        }
    }

    /// The fold equals the sums it replaces, bit for bit (the law in the module docs), on
    /// values whose sums round differently in other orders.
    #[test]
    fn totals_are_the_sums_over_the_steps_bit_for_bit() {
        let steps: Vec<Vec<Account>> = (0..7)
            .map(|t| {
                (0..5)
                    .map(|i| {
                        let x = 0.1 * (t * 5 + i) as f64 + 1e-17 * (i as f64);
                        account(x, 0.3 * x, 0.07 * x)
                    })
                    .collect()
            })
            .collect();
        let t = Totals::of(&steps);
        for i in 0..5 {
            let mut want = Account::default();
            for s in &steps {
                want.add(&s[i]);
            }
            assert_eq!(t.prosumers[i], want);
            let bill: f64 = steps.iter().map(|s| s[i].bill()).sum();
            assert_eq!(t.bills[i].to_bits(), bill.to_bits());
        }
        for (k, s) in steps.iter().enumerate() {
            let mut want = Account::default();
            for a in s {
                want.add(a);
            }
            assert_eq!(t.steps[k], want);
            let bill: f64 = s.iter().map(Account::bill).sum();
            assert_eq!(t.step_bills[k].to_bits(), bill.to_bits());
        }
        // A prosumer that never pays: `Iterator::sum`'s −0.0, not +0.0.
        let zero = Totals::of(&[vec![Account::default()]]);
        let want: f64 = [Account::default()].iter().map(Account::bill).sum();
        assert_eq!(zero.bills[0].to_bits(), want.to_bits());
        assert_eq!(t.n_steps(), 7);
    }
}
