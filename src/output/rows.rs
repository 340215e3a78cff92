//! The typed rows of every CSV a run writes: one struct per file, `#[derive(Serialize,
//! Deserialize)]`, so the header is the field names (units in the names: `_kwh`, `_kw`, `_pu`,
//! `_per_kwh`, `_percent`) and the HTML report reads the same structs back. Adding an output
//! column is adding a field here and filling it where the rows are made ([`super`]).
//!
//! Numbers are written as the shortest decimal that reads back to the same `f64` ([`Num`]), so
//! files round-trip exactly and are byte-stable; `-0` is written as `0`. Money follows one rule:
//! every money column is in the scenario's currency (`currency` in `summary.json`); prices end in
//! `_per_kwh`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;

/// A text cell of the big per-step tables: borrowed from a label made once per table (a case,
/// an element, a model) when written, owned when read back — no `String` per row.
pub type Text<'a> = Cow<'a, str>;

/// A number in a CSV cell (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Num(pub f64);

thread_local! {
    /// One formatting buffer per thread: the big tables have millions of cells and a fresh
    /// [`crate::util::F64Text`] per cell costs a 352-byte clear.
    static TEXT: std::cell::RefCell<crate::util::F64Text> =
        std::cell::RefCell::new(crate::util::F64Text::new());
}

/// The newtype name a [`Num`] serializes under: the CSV writer writes its text unscanned (it
/// never needs quoting); every other serializer sees the text itself.
pub(crate) const NUM_NAME: &str = "netclear::Num";

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(NUM_NAME, &NumText(self.0))
    }
}

/// A [`Num`]'s text.
struct NumText(f64);

impl Serialize for NumText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TEXT.with(|t| match t.try_borrow_mut() {
            Ok(mut t) => s.serialize_str(t.format(self.0)),
            // Only reachable if a serializer formatted a `Num` inside `serialize_str`.
            Err(_) => s.serialize_str(crate::util::F64Text::new().format(self.0)),
        })
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Num, D::Error> {
        let s = String::deserialize(d)?;
        s.trim()
            .parse::<f64>()
            .map(Num)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a number")))
    }
}

impl From<f64> for Num {
    fn from(v: f64) -> Num {
        Num(v)
    }
}

/// An optional number: an empty cell when absent.
pub type OptNum = Option<Num>;

/// `hourly.csv`: one row per case and step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hourly {
    /// `baseline` or `p2p`.
    pub case: String,
    /// Step index.
    pub step: usize,
    /// Step start, `HH:MM`.
    pub time: String,
    /// Load, kWh.
    pub load_kwh: Num,
    /// PV, kWh.
    pub pv_kwh: Num,
    /// Own PV/battery used on site, kWh.
    pub self_consumed_kwh: Num,
    /// Traded P2P (delivered), kWh.
    pub p2p_kwh: Num,
    /// Bought from the retailer, kWh.
    pub grid_import_kwh: Num,
    /// Sold to the retailer, kWh.
    pub grid_export_kwh: Num,
    /// PV curtailed (network and batteries' own), kWh.
    pub curtailed_kwh: Num,
    /// Load shed, kWh.
    pub shed_kwh: Num,
    /// Retail price.
    pub retail_per_kwh: Num,
    /// Feed-in tariff.
    pub feed_in_per_kwh: Num,
    /// Executed-energy-weighted buyer price of the step's trades (empty without trades).
    pub p2p_avg_price_per_kwh: OptNum,
    /// Sum of the step's bills.
    pub cost: Num,
    /// Power drawn at the slack, kW (the network result: AC with losses when on).
    pub slack_import_kw: Num,
    /// Highest line loading, %.
    pub max_line_loading_percent: Num,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: Num,
    /// Branches above 100 %.
    pub n_overloaded_branches: usize,
    /// Which power flow gave the network numbers (`ac`, `dc`).
    pub network_model: String,
}

/// `trades.csv`: one row per proposed trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRow<'a> {
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: Text<'a>,
    /// Selling prosumer.
    pub seller: usize,
    /// Its bus.
    pub seller_bus: i64,
    /// Buying prosumer.
    pub buyer: usize,
    /// Its bus.
    pub buyer_bus: i64,
    /// Proposed, kWh.
    pub kwh: Num,
    /// The buyer's limit price (η-scaled).
    pub bid_per_kwh: Num,
    /// The seller's limit price.
    pub ask_per_kwh: Num,
    /// Price the buyer pays.
    pub buyer_price_per_kwh: Num,
    /// Price the seller receives.
    pub seller_price_per_kwh: Num,
    /// What the buyer pays for the executed energy.
    pub buyer_pays: Num,
    /// What the seller receives.
    pub seller_receives: Num,
    /// Executed after the network correction, kWh.
    pub executed_kwh: Num,
    /// Not executed, kWh.
    pub curtailed_kwh: Num,
    /// Why (binding limits), empty if executed in full.
    pub curtailment_reason: String,
    /// Network charge paid by the buyer.
    pub network_charge: Num,
}

/// `prosumers.csv`: one row per prosumer with its day totals (P2P case) and savings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProsumerRow {
    /// Index.
    pub prosumer: usize,
    /// Name.
    pub name: String,
    /// Bus.
    pub bus: i64,
    /// Class.
    pub class: String,
    /// Households it stands for.
    pub households: u32,
    /// Profiles used.
    pub profile: String,
    /// PV, kWp.
    pub pv_kwp: Num,
    /// Battery capacity, kWh (0 without).
    pub battery_kwh: Num,
    /// Load, kWh.
    pub load_kwh: Num,
    /// PV, kWh.
    pub pv_kwh: Num,
    /// Own use, kWh.
    pub self_consumed_kwh: Num,
    /// Bought P2P, kWh.
    pub p2p_bought_kwh: Num,
    /// Sold P2P, kWh.
    pub p2p_sold_kwh: Num,
    /// Bought from the retailer, kWh.
    pub grid_import_kwh: Num,
    /// Sold to the retailer, kWh.
    pub grid_export_kwh: Num,
    /// Bill without P2P.
    pub baseline_bill: Num,
    /// Bill with P2P.
    pub p2p_bill: Num,
    /// baseline − P2P bill.
    pub savings: Num,
}

/// `lines.csv`: each branch's peak loading per case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRow {
    /// Case.
    pub case: String,
    /// `line`, `trafo`, `switch`.
    pub kind: String,
    /// Id in its file.
    pub id: i64,
    /// From bus.
    pub from_bus: i64,
    /// To bus.
    pub to_bus: i64,
    /// Peak loading of the day, %.
    pub peak_loading_percent: Num,
    /// Step of the peak.
    pub peak_step: usize,
    /// Steps above 100 %.
    pub steps_over_limit: usize,
}

/// `nodal_prices.csv`: price per case, step and bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceRow<'a> {
    /// Case.
    pub case: Text<'a>,
    /// Step.
    pub step: usize,
    /// Bus (the node's first).
    pub bus: i64,
    /// Nodal price.
    pub lmp_per_kwh: OptNum,
    /// Energy part.
    pub energy_per_kwh: OptNum,
    /// Congestion part.
    pub congestion_per_kwh: OptNum,
    /// Voltage part.
    pub voltage_per_kwh: OptNum,
    /// Losses part (the rest; 0 in the lossless formulations).
    pub losses_per_kwh: OptNum,
    /// Reactive nodal price, $/kvarh (formulations with Q).
    pub q_lmp_per_kvarh: OptNum,
    /// Its congestion part.
    pub q_congestion_per_kvarh: OptNum,
    /// Its voltage part.
    pub q_voltage_per_kvarh: OptNum,
    /// Its losses part.
    pub q_losses_per_kvarh: OptNum,
}

/// `clearing.csv`: the correction of each case-step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearingRow {
    /// Case.
    pub case: String,
    /// Step.
    pub step: usize,
    /// Solver status (its serde name).
    pub status: String,
    /// Whether an optimisation ran.
    pub optimised: bool,
    /// AC-feedback rounds.
    pub ac_feedback_rounds: usize,
    /// Limits binding (`; `-separated).
    pub binding: String,
    /// Limits the injections violated before correction (the formulation's view).
    pub violations_before: String,
    /// Limits the injections violated before correction in AC (the uncorrected proposal's
    /// physics; empty without the AC check or when the correction did not run).
    pub ac_violations_before: String,
    /// Load shed, kW.
    pub shed_kw: Num,
    /// PV curtailed, kW.
    pub curtailed_kw: Num,
    /// Largest SOCP gap.
    pub socp_max_gap: OptNum,
    /// Formulation vs network-result voltage, p.u.
    pub vm_error_pu: OptNum,
    /// Formulation vs network-result flow, kW.
    pub p_error_kw: OptNum,
}

/// `binding_limits.csv`: one row per limit that binds in a case-step's network correction (the
/// long form of `clearing.csv`'s `binding`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindingRow {
    /// Case.
    pub case: String,
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// `thermal`, `vmax` or `vmin`.
    pub kind: String,
    /// `line 3`, `trafo 0`, `bus 12`.
    pub element: String,
    /// Shadow price (≥ 0): cost saved per unit the limit is relaxed, $ per kW·h of flow or per
    /// p.u.² of voltage over the step.
    pub dual: Num,
}

/// `batteries.csv`: every battery's day in one tidy table (both cases; the seed's
/// `battery_P{i}.csv` and `vpp.csv` stay beside it for the P2P case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteriesRow {
    /// Case.
    pub case: String,
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Prosumer index (the community battery is a prosumer of class `vpp`).
    pub prosumer: usize,
    /// Its bus.
    pub bus: i64,
    /// `home`, `community` or `share` (a member's share of the shared battery, at the shared
    /// battery's bus; the shares of a step sum to the device).
    pub kind: String,
    /// SOC at the end of the step, kWh.
    pub soc_kwh: Num,
    /// Charge, kW.
    pub charge_kw: Num,
    /// Discharge, kW.
    pub discharge_kw: Num,
    /// PV curtailed by the battery's owner, kW.
    pub curtail_kw: Num,
}

/// `network.csv`: the one network result of each case-step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRow {
    /// Case.
    pub case: String,
    /// Step.
    pub step: usize,
    /// `ac` or `dc`.
    pub model: String,
    /// Whether AC was tried and did not converge.
    pub ac_failed: bool,
    /// Power at the slack, kW.
    pub slack_import_kw: Num,
    /// Community net consumption (lossless), kW.
    pub net_import_kw: Num,
    /// Losses, kW.
    pub losses_kw: Num,
    /// Lowest voltage, p.u.
    pub vmin_pu: OptNum,
    /// Highest voltage, p.u.
    pub vmax_pu: OptNum,
    /// Highest line loading, %.
    pub max_line_loading_percent: Num,
    /// Highest trafo loading, %.
    pub max_trafo_loading_percent: Num,
    /// Violated limits (`; `-separated).
    pub violations: String,
}

/// `bus_voltages.csv`: voltage per case, step and bus (AC results).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoltageRow<'a> {
    /// Case.
    pub case: Text<'a>,
    /// Step.
    pub step: usize,
    /// Bus.
    pub bus: i64,
    /// Voltage, p.u.
    pub vm_pu: Num,
    /// `ac`.
    pub model: Text<'a>,
}

/// `line_loading.csv`: flow and loading per case, step and branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadingRow<'a> {
    /// Case.
    pub case: Text<'a>,
    /// Step.
    pub step: usize,
    /// `line 3`.
    pub element: Text<'a>,
    /// Active flow at the from end, kW.
    pub p_from_kw: Num,
    /// Loading, %.
    pub loading_percent: Num,
    /// `ac` or `dc`.
    pub model: Text<'a>,
}

/// `battery_P{i}.csv` / `vpp.csv`: one battery's day (the P2P case's dispatch; the seed's
/// layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryRow {
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// SOC at the end of the step, kWh.
    pub soc_kwh: Num,
    /// Charge, kW.
    pub charge_kw: Num,
    /// Discharge, kW.
    pub discharge_kw: Num,
    /// PV curtailed by the battery's owner, kW.
    pub curtail_kw: Num,
}

/// `evs.csv`: every EV's day in both cases (tidy: case × step × EV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvRow {
    /// Step.
    pub step: usize,
    /// The prosumer the EV charges behind.
    pub prosumer: usize,
    /// `baseline` or `p2p`.
    pub case: String,
    /// Charge, kW (at the meter): what it physically drew, the plan less `throttled_kw`.
    pub charge_kw: Num,
    /// Charging the network correction throttled, kW.
    pub throttled_kw: Num,
    /// Discharge (V2G), kW (at the meter).
    pub discharge_kw: Num,
    /// SOC at the end of the step, kWh (away: what it left with).
    pub soc_kwh: Num,
    /// Whether it is plugged in.
    pub plugged: bool,
}

/// `flex_loads.csv`: every flexible household's shiftable and curtailable load in both cases (tidy:
/// case × step × load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlexRow {
    /// Step.
    pub step: usize,
    /// The prosumer.
    pub prosumer: usize,
    /// `baseline` or `p2p`.
    pub case: String,
    /// The shiftable part as the profile has it, kW.
    pub reference_kw: Num,
    /// The shiftable part as dispatched, kW.
    pub load_kw: Num,
    /// Load the household dropped (its curtailable part), kW.
    pub curtailed_kw: Num,
    /// Whether the step is in the load's window.
    pub in_window: bool,
}

/// `wallets.csv`: every prosumer's wallet per case and step (tidy: case × step × prosumer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalletRow<'a> {
    /// Case.
    pub case: Text<'a>,
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: Text<'a>,
    /// Prosumer.
    pub prosumer: usize,
    /// The step's bill (positive = the prosumer pays), in the scenario's currency.
    pub bill: Num,
    /// Running balance at the end of the step: what it received minus what it paid since the
    /// start, `−Σ bill`, in the scenario's currency.
    pub balance: Num,
}

/// `settlements.csv`: the seed's list of executed P2P trades (P2P case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettlementsRow {
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Selling prosumer.
    pub seller: usize,
    /// Buying prosumer.
    pub buyer: usize,
    /// Energy delivered, kWh.
    pub energy_kwh: Num,
    /// Price the buyer pays per kWh (what the seller receives unless the mechanism keeps a
    /// surplus: trades.csv has both).
    pub price_per_kwh: Num,
}

/// `p2p_vpp_summary.csv`: the seed's per-step community summary (P2P case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VppSummaryRow {
    /// Step.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Bought from the retailer, kWh.
    pub external_buy_kwh: Num,
    /// Sold to the retailer, kWh.
    pub external_sell_kwh: Num,
    /// Community battery charge, kWh.
    pub vpp_charge_kwh: Num,
    /// Community battery discharge, kWh.
    pub vpp_discharge_kwh: Num,
    /// Traded P2P, kWh.
    pub internal_traded_kwh: Num,
    /// Executed-energy-weighted P2P price.
    pub internal_price_per_kwh: OptNum,
}

/// `paper_hourly.csv`: the paper's hourly table (and the corrected columns beside it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperHourRow {
    /// Hour.
    pub hour: usize,
    /// Paper: load, kWh.
    pub paper_total_load_kwh: Num,
    /// Paper: trades.
    pub paper_n_trades: usize,
    /// Paper: P2P, kWh.
    pub paper_p2p_kwh: Num,
    /// Paper: P2P / load, %.
    pub paper_pct_load_by_p2p: Num,
    /// Paper: load not covered by P2P, kWh.
    pub paper_grid_kwh: Num,
    /// Corrected: load, kWh.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected_total_load_kwh: OptNum,
    /// Corrected: trades.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected_n_trades: Option<usize>,
    /// Corrected: P2P, kWh.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected_p2p_kwh: OptNum,
    /// Corrected: P2P / load, %.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected_pct_load_by_p2p: OptNum,
    /// Corrected: load not covered by P2P, kWh.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub corrected_grid_kwh: OptNum,
}

/// The feeder drawing the report needs (`feeder.json`): bus coordinates and branch ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeederGeometry {
    /// Feeder name.
    pub name: String,
    /// Buses with coordinates.
    pub buses: Vec<GeoBus>,
    /// Lines, trafos and bus-bus switches.
    pub branches: Vec<GeoBranch>,
}

/// A bus of [`FeederGeometry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoBus {
    /// Bus id.
    pub id: i64,
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

/// A branch of [`FeederGeometry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoBranch {
    /// `line`, `trafo`, `switch`.
    pub kind: String,
    /// Id in its file.
    pub id: i64,
    /// One end.
    pub from_bus: i64,
    /// Other end.
    pub to_bus: i64,
}

/// The seed community's `prosumer_energy.csv`: one row per step and prosumer (money in €).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedEnergyRow {
    /// Step index.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Prosumer.
    pub prosumer: usize,
    /// Its feeder bus (empty on the copper plate).
    pub bus: Option<i64>,
    /// PV, kWh.
    pub pv_kwh: Num,
    /// Load, kWh.
    pub load_kwh: Num,
    /// `pv − load` before the battery, kWh.
    pub imbalance_before_battery_kwh: Num,
    /// Battery charge (from own PV), kWh.
    pub battery_charge_kwh: Num,
    /// Battery discharge into own load, kWh.
    pub battery_discharge_own_kwh: Num,
    /// Battery discharge sold P2P (balancing), kWh.
    pub battery_discharge_sold_kwh: Num,
    /// SOC at the end of the step, kWh (empty without a battery).
    pub soc_kwh: OptNum,
    /// Own PV and battery used on site, kWh.
    pub self_consumed_kwh: Num,
    /// Bought P2P, kWh.
    pub p2p_bought_kwh: Num,
    /// Sold P2P, kWh.
    pub p2p_sold_kwh: Num,
    /// Bought from the market fallback, kWh.
    pub market_bought_kwh: Num,
    /// Sold to the market fallback, kWh.
    pub market_sold_kwh: Num,
    /// Energy bill (P2P and market; positive = pays), €.
    pub energy_bill: Num,
    /// The regulator's bonus (a transfer, not energy), €.
    pub bonus: Num,
    /// The regulator's penalty (a transfer, not energy), €.
    pub penalty: Num,
    /// Running balance (received − paid, transfers included), €.
    pub balance: Num,
    /// Banned in this step.
    pub banned: bool,
}

/// The seed community's `prosumer_trading.csv`: every prosumer's order in every step, matched
/// or not (neutral and banned prosumers have a row without a price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedOrderRow {
    /// Step index.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Prosumer.
    pub prosumer: usize,
    /// `buyer`, `seller`, `battery_seller`, `neutral` or `banned`.
    pub role: String,
    /// Quantity wanted (at most the trade cap), kWh.
    pub desired_kwh: Num,
    /// Urgency `desired / cap`.
    pub urgency: Num,
    /// Bid, €/kWh (buyers).
    pub bid_per_kwh: OptNum,
    /// Ask, €/kWh (sellers).
    pub ask_per_kwh: OptNum,
    /// The market's buy price `forecast + fee`, €/kWh.
    pub grid_buy_per_kwh: Num,
    /// The market's sell price `forecast − fee`, €/kWh.
    pub grid_sell_per_kwh: Num,
    /// Traded P2P, kWh.
    pub matched_kwh: Num,
    /// Not traded P2P (left to the market, or to the battery for a battery seller), kWh.
    pub unmatched_kwh: Num,
}

/// The seed community's `all_trades.csv`: every P2P and market trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedTradeRow {
    /// Step index.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// `p2p` or `market`.
    pub kind: String,
    /// Seller: a prosumer index or `market`.
    pub seller: String,
    /// Buyer: a prosumer index or `market`.
    pub buyer: String,
    /// Energy, kWh.
    pub kwh: Num,
    /// Price per kWh (the buyer's), €/kWh.
    pub price_per_kwh: Num,
    /// What the buyer pays, €.
    pub amount: Num,
}

/// The seed community's `regulator_actions.csv`: one row per step and prosumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedRegulatorRow {
    /// Step index.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Prosumer.
    pub prosumer: usize,
    /// Own renewable energy used on site, kWh.
    pub renewable_kwh: Num,
    /// Traded P2P (bought + sold), kWh.
    pub p2p_kwh: Num,
    /// Traded with the market (bought + sold), kWh.
    pub market_kwh: Num,
    /// Bonus paid this step, €.
    pub bonus: Num,
    /// Penalty collected this step, €.
    pub penalty: Num,
    /// Bonus since the start, €.
    pub bonus_total: Num,
    /// Penalties since the start, €.
    pub penalties_total: Num,
    /// Balance at the end of the step, €.
    pub balance: Num,
    /// Banned in this step.
    pub banned: bool,
    /// A ban issued at the end of this step: its reason (empty when none).
    pub ban_issued: String,
    /// Its length, steps (0 when none).
    pub ban_steps: usize,
}

/// The seed community's `community_summary.csv`: one row per step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeedSummaryRow {
    /// Step index.
    pub step: usize,
    /// Step start.
    pub time: String,
    /// Price forecast, €/kWh.
    pub forecast_per_kwh: Num,
    /// Market buy price, €/kWh.
    pub grid_buy_per_kwh: Num,
    /// Market sell price, €/kWh.
    pub grid_sell_per_kwh: Num,
    /// PV, kWh.
    pub pv_kwh: Num,
    /// Load, kWh.
    pub load_kwh: Num,
    /// Battery charge, kWh.
    pub battery_charge_kwh: Num,
    /// Battery discharge (own use and sold), kWh.
    pub battery_discharge_kwh: Num,
    /// Buyers.
    pub buyers: usize,
    /// Sellers (PV surplus).
    pub sellers: usize,
    /// Battery sellers (balancing).
    pub battery_sellers: usize,
    /// Banned prosumers.
    pub banned: usize,
    /// P2P trades.
    pub p2p_trades: usize,
    /// P2P energy, kWh.
    pub p2p_kwh: Num,
    /// Energy-weighted P2P price, €/kWh.
    pub p2p_avg_price_per_kwh: OptNum,
    /// Market trades.
    pub market_trades: usize,
    /// Bought from the market, kWh.
    pub market_bought_kwh: Num,
    /// Sold to the market, kWh.
    pub market_sold_kwh: Num,
    /// Bonuses paid, €.
    pub bonus: Num,
    /// Penalties collected, €.
    pub penalty: Num,
    /// `none` (copper plate: no power flow, no correction) or the power flow (`ac`, `dc`).
    pub network_model: String,
    /// Import at the feeder's slack, kW (empty on the copper plate).
    pub slack_import_kw: OptNum,
    /// Losses, kW.
    pub losses_kw: OptNum,
    /// Lowest voltage, p.u.
    pub vmin_pu: OptNum,
    /// Highest voltage, p.u.
    pub vmax_pu: OptNum,
    /// Highest line loading, %.
    pub max_line_loading_percent: OptNum,
}
