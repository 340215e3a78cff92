//! The storage stage of a study: every battery's dispatch over the day, **for the case it is
//! settled in** (a counterfactual dispatches its own assets for itself).
//!
//! * **Baseline** (no P2P): every battery — the homes' and the community battery — minimises its
//!   owner's bill against the retailer's retail and feed-in prices. The community battery has no
//!   load and no PV of its own, so without a P2P market it can only arbitrage retail against
//!   feed-in (idle under a flat tariff).
//! * **P2P** case: home batteries see the retailer's prices (`settlement-only`, so their dispatch
//!   is the baseline's), or, under `coupled`, the P2P pool for the energy the pool can actually
//!   absorb or supply — the rest of the community's residual surplus and deficit at the internal
//!   price ([`internal_price`]), retail and feed-in beyond ([`crate::storage::Pool`]); homes are
//!   dispatched in prosumer order, each seeing the residual the previous ones leave. The community
//!   battery is the community's asset in its market: it minimises the community's bill against
//!   the residual the homes leave (charging from surplus that would be exported, discharging into
//!   deficit that would be imported), its own money settled by the auction like any member's.
//! * `greedy` is the rule-based reference (charge on surplus, discharge on deficit); the
//!   community battery's rule follows the community's residual in the P2P case, its own (empty)
//!   position in the baseline.
//!
//! * **EVs, shiftable and curtailable loads** ([`crate::storage::ev`],
//!   [`crate::storage::shiftable`], [`crate::storage::curtailable`]: the curtailable part last,
//!   on the household's residual, seeing the same prices as its shiftable load) are part
//!   of their household's meter (load + EV charge − EV discharge, the shiftable part at the time it
//!   runs). Each household's assets are dispatched in turn — battery, EV, shiftable load — each
//!   seeing the household's residual the previous ones leave. Baseline: retail and feed-in only.
//!   P2P case: with `pricing = pool` (the default, `--flex-pricing`), the P2P pool as a coupled
//!   home battery sees it, so P2P changes physical flows; with `retail`, the baseline's dispatch.
//!   They are dispatched whatever the storage model (their own policy decides: an EV's
//!   `--ev-charging`, the shiftable load's LP).
//!
//! * **`flex.mode`** overrides those keys for every household asset at once ([`Response`], the
//!   one place the keys become behaviour): `inner` — each household's assets minimise its own
//!   deficit first ([`INNER_WEIGHT_PER_KWH`]), in both cases alike (seed 004's inner demand
//!   response before trading: baseline and P2P are physically the same day); `price` — every
//!   asset sees the pool in the P2P case. A pool buyer pays the network charge of its trade, so
//!   the pool's price for a buyer is the internal price plus the charge it expects: the pair
//!   charges from the other prosumers weighted by their surplus in the step
//!   ([`crate::storage::Pool::buy_charge_per_kwh`]).
//!
//! Batteries are independent given prices, so the day's MILP decomposes into one small problem
//! per battery ([`crate::storage`]).

use super::Case;
use crate::market::strategy::Strategy;
use crate::market::Mechanism;
use crate::scenario::community::{Community, LoadClass};
use crate::scenario::{FlexPricing, Scenario, SettlementMode};
use crate::storage::curtailable::{CurtailDispatch, Curtailable};
use crate::storage::ev::EvDispatch;
use crate::storage::shiftable::ShiftDispatch;
use crate::storage::{dispatch_in, DayInput, Dispatch, MilpSettings, Pool, StorageModel};

/// The dispatch of every battery, EV and shiftable load for one case (index = prosumer; `None`
/// without one). Dispatches are boxed: a slot without an asset is one pointer, so that a plan of
/// 10⁵ households of which few hold assets is small to build and to copy (unboxed, the five
/// tables were 1.5 kB per household: 67 MB at 10⁵ buses, twice).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Battery per prosumer.
    pub dispatch: Vec<Option<Box<Dispatch>>>,
    /// EV per prosumer (empty: none).
    pub ev: Vec<Option<Box<EvDispatch>>>,
    /// Shiftable load per prosumer (empty: none).
    pub shift: Vec<Option<Box<ShiftDispatch>>>,
    /// The prosumer's share of the shared battery, dispatched as its own battery (empty: none;
    /// [`crate::scenario::community::SharedBattery`]).
    pub share: Vec<Option<Box<Dispatch>>>,
    /// Curtailable load per prosumer (empty: none).
    pub curtail: Vec<Option<Box<CurtailDispatch>>>,
}

impl Plan {
    /// No storage at all.
    pub fn none(n: usize) -> Plan {
        Plan {
            dispatch: vec![None; n],
            ev: vec![None; n],
            shift: vec![None; n],
            share: vec![None; n],
            curtail: vec![None; n],
        }
    }
    /// Charge and discharge of prosumer `i`'s share of the shared battery in step `t`, kWh.
    pub fn share_kwh(&self, i: usize, t: usize, dt_h: f64) -> (f64, f64) {
        match self.share.get(i).and_then(Option::as_ref) {
            Some(d) => (d.charge_kw[t] * dt_h, d.discharge_kw[t] * dt_h),
            None => (0.0, 0.0),
        }
    }
    /// The shared battery as one device: per step its charge, discharge (kW) and SOC at the end
    /// of the step (kWh), the sums over the shares; `None` without shares.
    pub fn shared_device(&self) -> Option<SharedDevice> {
        let mut shares = self.share.iter().flatten().peekable();
        let n = shares.peek()?.charge_kw.len();
        let mut d = SharedDevice {
            charge_kw: vec![0.0; n],
            discharge_kw: vec![0.0; n],
            soc_kwh: vec![0.0; n],
        };
        for x in shares {
            for t in 0..n {
                d.charge_kw[t] += x.charge_kw[t];
                d.discharge_kw[t] += x.discharge_kw[t];
                d.soc_kwh[t] += x.soc_kwh[t];
            }
        }
        Some(d)
    }
    /// EV charge and discharge of prosumer `i` in step `t`, kWh.
    pub fn ev_kwh(&self, i: usize, t: usize, dt_h: f64) -> (f64, f64) {
        match self.ev.get(i).and_then(Option::as_ref) {
            Some(e) => (
                e.dispatch.charge_kw[t] * dt_h,
                e.dispatch.discharge_kw[t] * dt_h,
            ),
            None => (0.0, 0.0),
        }
    }
    /// How much prosumer `i`'s shiftable load moves its consumption in step `t`, less what its
    /// curtailable load drops, kW.
    pub fn load_delta_kw(&self, i: usize, t: usize) -> f64 {
        self.shift
            .get(i)
            .and_then(Option::as_ref)
            .map_or(0.0, |s| s.delta_kw(t))
            - self.curtailed_kw(i, t)
    }
    /// What prosumer `i`'s curtailable load drops in step `t`, kW.
    pub fn curtailed_kw(&self, i: usize, t: usize) -> f64 {
        self.curtail
            .get(i)
            .and_then(Option::as_ref)
            .map_or(0.0, |c| c.curtailed_kw[t])
    }
    /// The curtailable loads' days.
    pub fn curtails(&self) -> impl Iterator<Item = &CurtailDispatch> {
        self.curtail.iter().flatten().map(|d| &**d)
    }
    /// The EVs' days.
    pub fn evs(&self) -> impl Iterator<Item = &EvDispatch> {
        self.ev.iter().flatten().map(|d| &**d)
    }
    /// The shiftable loads' days.
    pub fn shifts(&self) -> impl Iterator<Item = &ShiftDispatch> {
        self.shift.iter().flatten().map(|d| &**d)
    }
    /// Battery charge, discharge and own PV curtailment of prosumer `i` in step `t`, kWh.
    pub fn flows_kwh(&self, i: usize, t: usize, dt_h: f64) -> (f64, f64, f64) {
        match self.dispatch.get(i).and_then(Option::as_ref) {
            Some(d) => (
                d.charge_kw[t] * dt_h,
                d.discharge_kw[t] * dt_h,
                d.curtail_kw[t] * dt_h,
            ),
            None => (0.0, 0.0, 0.0),
        }
    }
    /// Per prosumer (of `n`), whether the plan gives it any asset: a battery, a share, an EV, a
    /// shiftable or a curtailable load.
    pub fn holders(&self, n: usize) -> Vec<bool> {
        let has = |i: usize| {
            self.dispatch.get(i).is_some_and(Option::is_some)
                || self.share.get(i).is_some_and(Option::is_some)
                || self.ev.get(i).is_some_and(Option::is_some)
                || self.shift.get(i).is_some_and(Option::is_some)
                || self.curtail.get(i).is_some_and(Option::is_some)
        };
        (0..n).map(has).collect()
    }
    /// Whether any battery (or share of the shared battery) is dispatched.
    pub fn any(&self) -> bool {
        self.dispatch.iter().any(Option::is_some) || self.share.iter().any(Option::is_some)
    }
    /// The dispatches that exist: every battery's, then every share's.
    pub fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        self.dispatch
            .iter()
            .chain(&self.share)
            .flatten()
            .map(|d| &**d)
    }
}

/// The shared battery as one device over the day ([`Plan::shared_device`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SharedDevice {
    /// Charge per step, kW (Σ of the shares').
    pub charge_kw: Vec<f64>,
    /// Discharge per step, kW.
    pub discharge_kw: Vec<f64>,
    /// SOC at the end of each step, kWh.
    pub soc_kwh: Vec<f64>,
}

/// The internal P2P price a battery expects in each step: the fixed strategy's ask under
/// pay-as-ask and paper-greedy, the mid of bid and ask under the other mechanisms, the mid of
/// feed-in and retail for the other strategies; always within [feed-in, retail].
pub fn internal_price(s: &Scenario, retail: &[f64], fit: &[f64]) -> Vec<f64> {
    let m = &s.market;
    retail
        .iter()
        .zip(fit)
        .map(|(&r, &f)| {
            let p = match (m.strategy, m.mechanism) {
                (Strategy::Fixed, Mechanism::PayAsAsk | Mechanism::PaperGreedy) => m.ask_per_kwh,
                (Strategy::Fixed, _) => 0.5 * (m.bid_per_kwh + m.ask_per_kwh),
                _ => 0.5 * (r + f),
            };
            p.clamp(f.min(r), r.max(f))
        })
        .collect()
}

/// What a household's flexible asset decides against in one case ([`Response`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sees {
    /// The retailer's retail and feed-in prices.
    Retail,
    /// The P2P pool (price plus the expected network charge), retail and feed-in beyond.
    Pool,
    /// Its own imbalance ([`INNER_WEIGHT_PER_KWH`]), the retailer's prices breaking ties.
    Inner,
}

/// What each kind of a household's flexibility responds to in a case: the one place the
/// scenario's keys (`flex.mode`; unset: `storage.settlement`, `ev.pricing`, `flex.pricing`)
/// become behaviour. The community (VPP) battery is the community's asset, not a household's:
/// it serves the community's residual in the P2P case whatever the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Home batteries and shares of the shared battery.
    pub battery: Sees,
    /// EVs.
    pub ev: Sees,
    /// Shiftable and curtailable loads.
    pub flex: Sees,
}

impl Response {
    /// The response of `case` under scenario `s`.
    pub fn of(s: &Scenario, case: Case) -> Response {
        use crate::scenario::FlexMode;
        let all = |x: Sees| Response {
            battery: x,
            ev: x,
            flex: x,
        };
        match (s.flex.mode, case) {
            (Some(FlexMode::Inner), _) => all(Sees::Inner),
            (_, Case::Baseline) => all(Sees::Retail),
            (Some(FlexMode::Price), Case::P2p) => all(Sees::Pool),
            (None, Case::P2p) => {
                let pool = |yes: bool| if yes { Sees::Pool } else { Sees::Retail };
                Response {
                    battery: pool(s.storage.settlement == SettlementMode::Coupled),
                    ev: pool(s.ev.pricing == FlexPricing::Pool),
                    flex: pool(s.flex.pricing == FlexPricing::Pool),
                }
            }
        }
    }
}

/// The weight of a kWh of imbalance in the inner mode's dispatch, $/kWh, added to the retail
/// price of every kWh the household imports: its assets minimise what it draws first (two
/// orders of magnitude above any retail price, so no tariff spread outweighs a kWh of deficit)
/// and its bill only among equal deficits.
///
/// Why the import alone: a household's imbalance is `Σ_t |net_t|·Δt`, and its flexible assets
/// can lower the export part only by taking surplus that then covers a later deficit (a battery,
/// an EV, a shifted load: each such kWh lowers the import too, by the round-trip efficiency) or
/// by wasting it. Weighting the export as well would reward the waste — a battery "charging and
/// discharging at once" to burn surplus, which the MILP forbids but its relaxation loves, so
/// that branch and bound no longer closes its gap. With the import weighted, every kWh of own
/// surplus stored or shifted into an own deficit is worth `W·η` and arbitrage against the grid
/// costs `W·(1/η − 1)` per kWh, which no tariff spread repays: the dispatch minimises the
/// imbalance without wasting energy. Curtailable load (discomfort 0.50 $/kWh by default) is
/// used to its limit before importing: seed 004's "demand response reaches its upper limit"
/// before trading. A dispatch decision only: every bill is settled at the real prices
/// ([`crate::settlement`]).
pub const INNER_WEIGHT_PER_KWH: f64 = 10.0;

/// Plans every battery, EV and shiftable load of the community for `case`; batteries with
/// storage model `model` (none with `none`).
pub fn plan(c: &Community, s: &Scenario, case: Case, model: StorageModel) -> Plan {
    plan_horizon(c, &Carry::default(), s, case, model)
}

/// A household's residual day (after its assets dispatched so far) and the pool the others leave.
struct Residual {
    load: Vec<f64>,
    pv: Vec<f64>,
    sur: Vec<f64>,
    def: Vec<f64>,
    /// The network charge expected per kWh bought from the pool (empty: none).
    charge: Vec<f64>,
}

impl Residual {
    /// The day (or horizon) to dispatch against, at the retailer's prices `retail` and `fit`
    /// (cut to the residual's steps).
    fn inp<'a>(&'a self, dt_h: f64, retail: &'a [f64], fit: &'a [f64]) -> DayInput<'a> {
        let n = self.load.len();
        DayInput {
            dt_h,
            load_kw: &self.load,
            pv_kw: &self.pv,
            import_per_kwh: &retail[..n],
            export_per_kwh: &fit[..n],
            allow_curtailment: false,
        }
    }
    /// The pool at the internal price `p_int` (cut to the residual's steps).
    fn pool<'a>(&'a self, p_int: &'a [f64]) -> Pool<'a> {
        Pool {
            price_per_kwh: &p_int[..self.load.len()],
            import_cap_kw: &self.sur,
            export_cap_kw: &self.def,
            buy_charge_per_kwh: &self.charge,
        }
    }
}

/// What a day of a multi-day study inherits and sees ([`super::period`]).
#[derive(Debug, Clone, Default)]
pub struct Carry {
    /// SOC at the start of the day per prosumer, kWh, per case (`[baseline, p2p]`): the end of
    /// the previous day. Empty or `None`: the battery's `soc0`.
    pub start_kwh: [Vec<Option<f64>>; 2],
    /// The next day, planned as a look-ahead: every battery is dispatched over this day and the
    /// next, its end rule applied at the end of the next day, and only this day's steps kept.
    /// `None` on the last day of a period (and in single-day studies): the end rule applies at
    /// this day's end.
    pub next: Option<Community>,
    /// SOC of prosumer `i`'s share of the shared battery at the start of the day, per case, as
    /// `start_kwh` (empty or `None`: the share's `soc0`).
    pub share_kwh: [Vec<Option<f64>>; 2],
    /// SOC of prosumer `i`'s EV at the start of the day (the session plugged in across
    /// midnight), per case; empty or `None`: its arrival state ([`crate::storage::ev`]).
    pub ev_kwh: [Vec<Option<f64>>; 2],
    /// A day of a multi-day study: EV sessions run across midnight into the next day
    /// ([`crate::storage::ev::dispatch_chained`]) instead of wrapping within the day.
    pub chained: bool,
}

impl Carry {
    /// The start SOC of prosumer `i`'s battery in `case`.
    pub fn start(&self, case: Case, i: usize) -> Option<f64> {
        Self::of(&self.start_kwh, case, i)
    }
    /// The start SOC of prosumer `i`'s share of the shared battery in `case`.
    pub fn share_start(&self, case: Case, i: usize) -> Option<f64> {
        Self::of(&self.share_kwh, case, i)
    }
    /// The SOC of prosumer `i`'s EV at the day's midnight in `case`.
    pub fn ev_start(&self, case: Case, i: usize) -> Option<f64> {
        Self::of(&self.ev_kwh, case, i)
    }
    fn of(v: &[Vec<Option<f64>>; 2], case: Case, i: usize) -> Option<f64> {
        v[usize::from(case == Case::P2p)].get(i).copied().flatten()
    }
    /// What a day hands to the next: every battery's, share's and EV's SOC at the end of the
    /// day `p` planned for `case` (into this carry's slots of that case).
    pub fn hand_on(&mut self, case: Case, p: &Plan) {
        let k = usize::from(case == Case::P2p);
        let last = |d: Option<&Dispatch>| d.and_then(|d| d.soc_kwh.last().copied());
        self.start_kwh[k] = p.dispatch.iter().map(|d| last(d.as_deref())).collect();
        self.share_kwh[k] = p.share.iter().map(|d| last(d.as_deref())).collect();
        self.ev_kwh[k] =
            p.ev.iter()
                .map(|e| last(e.as_ref().map(|e| &e.dispatch)))
                .collect();
    }
}

/// The first `n_day` steps of a dispatch `d` planned over the horizon of `inp` (and `pool`).
fn keep_day(d: Dispatch, inp: &DayInput, pool: Option<&Pool>, n_day: usize) -> Dispatch {
    if d.charge_kw.len() <= n_day {
        return d;
    }
    let day = DayInput {
        load_kw: &inp.load_kw[..n_day],
        pv_kw: &inp.pv_kw[..n_day],
        import_per_kwh: &inp.import_per_kwh[..n_day],
        export_per_kwh: &inp.export_per_kwh[..n_day],
        ..*inp
    };
    let pool = pool.map(|pl| Pool {
        price_per_kwh: &pl.price_per_kwh[..n_day],
        import_cap_kw: &pl.import_cap_kw[..n_day],
        export_cap_kw: &pl.export_cap_kw[..n_day],
        buy_charge_per_kwh: &pl.buy_charge_per_kwh[..n_day.min(pl.buy_charge_per_kwh.len())],
    });
    d.first_steps(&day, pool.as_ref())
}

/// Asset-steps (optimised assets × steps) from which the independent households of a plan are
/// planned on every core: below it, starting the thread pool costs more than it saves (a
/// village80 hourly day with batteries is about 10³).
const PARALLEL_ASSET_STEPS: usize = 5_000;

/// One household's dispatches (see [`plan_horizon`]).
#[derive(Default)]
struct Assets {
    dispatch: Option<Dispatch>,
    share: Option<Dispatch>,
    ev: Option<EvDispatch>,
    shift: Option<ShiftDispatch>,
    curtail: Option<CurtailDispatch>,
}

impl Assets {
    fn store(self, out: &mut Plan, i: usize) {
        out.dispatch[i] = self.dispatch.map(Box::new);
        out.share[i] = self.share.map(Box::new);
        out.ev[i] = self.ev.map(Box::new);
        out.shift[i] = self.shift.map(Box::new);
        out.curtail[i] = self.curtail.map(Box::new);
    }
}

/// [`plan`] for one day of a multi-day study: batteries start from the carried SOC and, when
/// `carry.next` is given, are planned over this day and the next (a one-day look-ahead, so that
/// a battery does not empty itself at midnight for want of a tomorrow), keeping this day.
pub fn plan_horizon(
    c: &Community,
    carry: &Carry,
    s: &Scenario,
    case: Case,
    model: StorageModel,
) -> Plan {
    plan_horizon_from(c, carry, s, case, model, PARALLEL_ASSET_STEPS)
}

/// [`plan_horizon`], planning independent households on every core from `parallel_from`
/// asset-steps on.
fn plan_horizon_from(
    c: &Community,
    carry: &Carry,
    s: &Scenario,
    case: Case,
    model: StorageModel,
    parallel_from: usize,
) -> Plan {
    let np = c.prosumers.len();
    let dt = c.dt_h();
    let n_day = c.n_steps();
    let next = carry
        .next
        .as_ref()
        .filter(|x| x.prosumers.len() == np && x.step_minutes == c.step_minutes);
    let cat = |a: &[f64], b: Option<&[f64]>| -> Vec<f64> {
        a.iter().chain(b.unwrap_or(&[])).copied().collect()
    };
    let retail = cat(&c.retail_per_kwh, next.map(|x| x.retail_per_kwh.as_slice()));
    let fit = cat(
        &c.feed_in_per_kwh,
        next.map(|x| x.feed_in_per_kwh.as_slice()),
    );
    let loads: Vec<Vec<f64>> = (0..np)
        .map(|i| {
            cat(
                &c.prosumers[i].load_kw,
                next.map(|x| x.prosumers[i].load_kw.as_slice()),
            )
        })
        .collect();
    let pvs: Vec<Vec<f64>> = (0..np)
        .map(|i| {
            cat(
                &c.prosumers[i].pv_kw,
                next.map(|x| x.prosumers[i].pv_kw.as_slice()),
            )
        })
        .collect();
    let n = retail.len();
    let settings = MilpSettings::default();
    let zero = vec![0.0; n];
    let p_int = internal_price(s, &retail, &fit);
    // Net import per prosumer and step, updated as batteries are dispatched.
    let mut net: Vec<Vec<f64>> = (0..np)
        .map(|i| (0..n).map(|t| loads[i][t] - pvs[i][t]).collect())
        .collect();
    let totals = |net: &[Vec<f64>], skip: usize| -> (Vec<f64>, Vec<f64>) {
        let (mut sur, mut def) = (vec![0.0; n], vec![0.0; n]);
        for (j, r) in net.iter().enumerate() {
            if j == skip {
                continue;
            }
            for t in 0..n {
                sur[t] += (-r[t]).max(0.0);
                def[t] += r[t].max(0.0);
            }
        }
        (sur, def)
    };
    let mut out = Plan::none(np);
    let resp = Response::of(s, case);
    let coupled = resp.battery == Sees::Pool;
    let ev_pool = resp.ev == Sees::Pool;
    let shift_pool = resp.flex == Sees::Pool;
    // The inner mode's prices (a household's own imbalance first, [`INNER_WEIGHT_PER_KWH`]).
    let inner_retail: Vec<f64> = retail.iter().map(|r| r + INNER_WEIGHT_PER_KWH).collect();
    let prices = |x: Sees| -> (&[f64], &[f64]) {
        if x == Sees::Inner {
            (&inner_retail, &fit)
        } else {
            (&retail, &fit)
        }
    };
    // The network charge per kWh a buyer at prosumer `i` expects from the pool: the pair
    // charges from every other prosumer weighted by its surplus in the step (the charges of
    // the state without the market are not known before the day: `dlmp` charges nothing ahead,
    // `nuc` its usage and distance part at a flat rate, [`Charges::charge`]).
    let charges = (s.clearing.network_charges != crate::clearing::ChargeRule::None
        && (coupled || ev_pool || shift_pool))
        .then(|| {
            (
                crate::clearing::charges::Charges::new(&c.network, &c.grid, &s.clearing),
                crate::network::topology::Topology::new(&c.grid),
            )
        });
    let expected_charge = |net: &[Vec<f64>], i: usize, len: usize| -> Vec<f64> {
        let Some((ch, topo)) = &charges else {
            return Vec::new();
        };
        let pair: Vec<f64> = (0..np)
            .map(|j| {
                let (a, b) = (c.prosumers[j].node, c.prosumers[i].node);
                ch.charge(&c.grid, topo, None, None, a, b, 1.0)
            })
            .collect();
        (0..len)
            .map(|t| {
                let (mut w, mut sum) = (0.0, 0.0);
                for (j, r) in net.iter().enumerate() {
                    let sj = (-r[t]).max(0.0);
                    if j != i && sj > 0.0 {
                        w += sj;
                        sum += sj * pair[j];
                    }
                }
                if w > 0.0 {
                    sum / w
                } else {
                    0.0
                }
            })
            .collect()
    };
    // A household's residual over this day as a day to dispatch its next asset against
    // (shiftable loads, and EVs of a single-day study, repeat their day: their windows wrap
    // within it; a period's EV sessions cross midnight, `Carry::chained`).
    // (`len` steps: the day's, or the horizon's for a share of the shared battery and an EV's
    // evening session).
    let split = |r: &[f64], len: usize| -> (Vec<f64>, Vec<f64>) {
        (
            r[..len].iter().map(|x| x.max(0.0)).collect(),
            r[..len].iter().map(|x| (-x).max(0.0)).collect(),
        )
    };
    let day_totals = |net: &[Vec<f64>], skip: usize, len: usize| -> (Vec<f64>, Vec<f64>) {
        let (mut sur, mut def) = totals(net, skip);
        sur.truncate(len);
        def.truncate(len);
        (sur, def)
    };
    // What a household's next flexible asset sees over `len` steps: its residual `r` and, when
    // it sees the pool, what the others leave in it.
    let residual = |net: &[Vec<f64>], i: usize, r: &[f64], sees_pool: bool, len: usize| {
        let (sur, def, charge) = if sees_pool {
            let (sur, def) = day_totals(net, i, len);
            (sur, def, expected_charge(net, i, len))
        } else {
            (Vec::new(), Vec::new(), Vec::new())
        };
        let (load, pv) = split(r, len);
        Residual {
            load,
            pv,
            sur,
            def,
            charge,
        }
    };
    // Homes first (in prosumer order), then the community battery.
    let mut order: Vec<usize> = (0..np)
        .filter(|&i| c.prosumers[i].class != LoadClass::Vpp)
        .collect();
    order.extend((0..np).filter(|&i| c.prosumers[i].class == LoadClass::Vpp));
    // One household's assets in order (battery, share, EV, shiftable and curtailable load),
    // each against `mine`, the household's net import as the assets before it left it; where an
    // asset sees the pool, against the others' too (`net`, whose entry `i` it never reads).
    let household = |i: usize, mine: &mut Vec<f64>, net: &[Vec<f64>]| -> Assets {
        let mut a = Assets::default();
        let p = &c.prosumers[i];
        if let (Some(b), true) = (&p.battery, model != StorageModel::None) {
            let b = &crate::storage::Battery {
                start_kwh: carry.start(case, i).or(b.start_kwh),
                ..*b
            };
            let vpp = p.class == LoadClass::Vpp;
            let sees_pool = case == Case::P2p && coupled && !vpp;
            let for_community = case == Case::P2p && vpp;
            let (sur, def) = if sees_pool || for_community {
                totals(net, i)
            } else {
                (Vec::new(), Vec::new())
            };
            let charge = if sees_pool {
                expected_charge(net, i, n)
            } else {
                Vec::new()
            };
            let d = if for_community {
                // The community battery serves the community's residual.
                let inp = DayInput {
                    dt_h: dt,
                    load_kw: &def,
                    pv_kw: &sur,
                    import_per_kwh: &retail,
                    export_per_kwh: &fit,
                    allow_curtailment: false,
                };
                let d = dispatch_in(b, &inp, None, model, &settings);
                (d, inp, None)
            } else {
                // A home's battery in the inner mode minimises its home's imbalance; the
                // community battery has no home and keeps the prices.
                let (imp, exp) = prices(if vpp { Sees::Retail } else { resp.battery });
                let inp = DayInput {
                    dt_h: dt,
                    load_kw: if vpp { &zero } else { &loads[i] },
                    pv_kw: if vpp { &zero } else { &pvs[i] },
                    import_per_kwh: imp,
                    export_per_kwh: exp,
                    allow_curtailment: !vpp,
                };
                let pool = Pool {
                    price_per_kwh: &p_int,
                    import_cap_kw: &sur,
                    export_cap_kw: &def,
                    buy_charge_per_kwh: &charge,
                };
                let pool = sees_pool.then_some(pool);
                let d = dispatch_in(b, &inp, pool.as_ref(), model, &settings);
                (d, inp, pool)
            };
            let (d, inp, pool) = d;
            for t in 0..n {
                // The battery's own meter: the community battery draws only what it charges.
                mine[t] = if vpp {
                    d.charge_kw[t] - d.discharge_kw[t]
                } else {
                    d.import_kw[t] - d.export_kw[t]
                };
            }
            // Keep this day of the look-ahead horizon.
            a.dispatch = Some(keep_day(d, &inp, pool.as_ref(), n_day));
        }
        if let (Some(b), true) = (
            c.shared.as_ref().and_then(|sb| sb.share_battery(i)),
            model != StorageModel::None,
        ) {
            // The member's share of the shared battery, dispatched as its own battery against
            // the residual its meter leaves (and the pool under `coupled`, as a home battery).
            // Over the look-ahead horizon from its carried SOC, as a home battery.
            let b = crate::storage::Battery {
                start_kwh: carry.share_start(case, i).or(b.start_kwh),
                ..b
            };
            let sees_pool = case == Case::P2p && coupled;
            let hor = residual(net, i, mine, sees_pool, n);
            let (imp, exp) = prices(resp.battery);
            let (inp, pool) = (hor.inp(dt, imp, exp), hor.pool(&p_int));
            let pool = sees_pool.then_some(pool);
            let d = dispatch_in(&b, &inp, pool.as_ref(), model, &settings);
            for t in 0..d.charge_kw.len() {
                mine[t] += d.charge_kw[t] - d.discharge_kw[t];
            }
            a.share = Some(keep_day(d, &inp, pool.as_ref(), n_day));
        }
        if let Some(ev) = c.evs.iter().find(|e| e.prosumer == i) {
            let (imp, exp) = prices(resp.ev);
            let day = residual(net, i, mine, ev_pool, n_day);
            let (inp, pool) = (day.inp(dt, imp, exp), day.pool(&p_int));
            let d = if carry.chained {
                // A period's day: the session plugged in at midnight, then this evening's over
                // the horizon (the next day, or this one standing in for it on the last day).
                let hor = residual(net, i, mine, ev_pool, n);
                let (hinp, hpool) = (hor.inp(dt, imp, exp), hor.pool(&p_int));
                crate::storage::ev::dispatch_chained(
                    ev,
                    s.ev.charging,
                    c.step_minutes,
                    carry.ev_start(case, i),
                    &inp,
                    &hinp,
                    ev_pool.then_some(&pool),
                    ev_pool.then_some(&hpool),
                    &settings,
                )
            } else {
                crate::storage::ev::dispatch(
                    ev,
                    s.ev.charging,
                    c.step_minutes,
                    &inp,
                    ev_pool.then_some(&pool),
                    &settings,
                )
            };
            for t in 0..n {
                mine[t] += d.dispatch.charge_kw[t % n_day] - d.dispatch.discharge_kw[t % n_day];
            }
            a.ev = Some(d);
        }
        if let Some(f) = c.shiftables.iter().find(|f| f.prosumer == i) {
            let rest: Vec<f64> = (0..n)
                .map(|t| mine[t] - f.reference_kw[t % n_day])
                .collect();
            let (imp, exp) = prices(resp.flex);
            let day = residual(net, i, &rest, shift_pool, n_day);
            let (inp, pool) = (day.inp(dt, imp, exp), day.pool(&p_int));
            let d = crate::storage::shiftable::dispatch(
                f,
                &inp,
                shift_pool.then_some(&pool),
                &settings,
            );
            for t in 0..n {
                mine[t] = rest[t] + d.load_kw[t % n_day];
            }
            a.shift = Some(d);
            // The curtailable part of the same household, last: on what the others leave.
            if s.flex.curtail_fraction > 0.0 {
                let day = residual(net, i, mine, shift_pool, n_day);
                let (inp, pool) = (day.inp(dt, imp, exp), day.pool(&p_int));
                let l = Curtailable::of(
                    i,
                    &p.load_kw[..n_day],
                    s.flex.curtail_fraction,
                    s.flex.curtail_cost_per_kwh,
                );
                let d =
                    crate::storage::curtailable::dispatch(&l, &inp, shift_pool.then_some(&pool));
                for t in 0..n {
                    mine[t] -= d.curtailed_kw[t % n_day];
                }
                a.curtail = Some(d);
            }
        }
        a
    };
    // Where nothing in this case sees the pool (nor serves the community), a household's
    // dispatch reads only its own residual: the households are independent and, when there is
    // enough to optimise, are planned on every core; the plan is the same either way (each
    // household is computed by the same code from the same inputs). Otherwise in order: each
    // sees what the ones before it left in the pool.
    let serves_community = case == Case::P2p
        && c.prosumers
            .iter()
            .any(|p| p.class == LoadClass::Vpp && p.battery.is_some());
    let independent = !(coupled || ev_pool || shift_pool || serves_community);
    let work: usize = order
        .iter()
        .map(|&i| {
            let p = &c.prosumers[i];
            let k = usize::from(p.battery.is_some() && model != StorageModel::None)
                + usize::from(c.evs.iter().any(|e| e.prosumer == i))
                + usize::from(c.shiftables.iter().any(|f| f.prosumer == i));
            k * n
        })
        .sum();
    if independent && work >= parallel_from {
        use rayon::prelude::*;
        let planned: Vec<(usize, Assets)> = order
            .par_iter()
            .map(|&i| {
                let mut mine = net[i].clone();
                (i, household(i, &mut mine, &net))
            })
            .collect();
        for (i, a) in planned {
            a.store(&mut out, i);
        }
    } else {
        for i in order {
            let mut mine = net[i].clone();
            let a = household(i, &mut mine, &net);
            net[i] = mine;
            a.store(&mut out, i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent households planned on every core give the plan of the sequential loop, bit
    /// for bit: batteries (home and community), EVs (smart and V2G), shiftable and curtailable
    /// loads, one day and a look-ahead horizon.
    #[test]
    fn parallel_households_give_the_sequential_plan() {
        let mut cases = Vec::new();
        for (ev, flex, bat) in [
            (crate::storage::ev::EvCharging::Smart, 50.0, 0.0),
            (crate::storage::ev::EvCharging::V2g, 30.0, 40.0),
        ] {
            let mut s = Scenario {
                network: "village80".into(),
                pv_share_percent: 50.0,
                step_minutes: 15,
                ..Scenario::default()
            };
            s.ev.share_percent = 60.0;
            s.ev.charging = ev;
            s.flex.share_percent = flex;
            s.flex.curtail_fraction = 0.2;
            s.storage.battery_share_percent = bat;
            cases.push(s);
        }
        for s in &cases {
            let c = crate::scenario::community::build(s).unwrap();
            assert!(!c.evs.is_empty());
            let carry = Carry::default();
            let seq = plan_horizon_from(&c, &carry, s, Case::Baseline, s.storage.model, usize::MAX);
            let par = plan_horizon_from(&c, &carry, s, Case::Baseline, s.storage.model, 0);
            assert!(seq.evs().next().is_some());
            assert_eq!(seq, par);
            // Two threads or one: the same plan.
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| plan_horizon_from(&c, &carry, s, Case::Baseline, s.storage.model, 0));
            assert_eq!(one, par);
        }
    }
}
