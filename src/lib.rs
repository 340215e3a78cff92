//! # netclear
//!
//! Clears peer-to-peer (P2P) energy markets on real low-voltage distribution feeders while
//! respecting the physics of the network.
//!
//! ## The pipeline
//!
//! ```text
//!   files ──▶ model ──▶ storage plan ──▶ per step: market ─▶ network correction ─▶ settlement
//!                                                            (physical)           (money)
//!         ──▶ one network result per case-step ──▶ KPIs ──▶ outputs
//! ```
//!
//! Physics first, money second: the network sees physical injections only (a trade is a
//! financial contract); curtailment and shedding it decides are allocated to agents and trades by
//! one stated rule; the settlement books the money. The baseline (no P2P) and the P2P case differ
//! physically only where something flexible responded to the market.
//!
//! ## Sign convention (stated once, used everywhere)
//!
//! * **Nodal injections use the generator convention**: `p_inj = generation − consumption`,
//!   positive when power flows *into* the network at that node. A household with 3 kW of PV and
//!   1 kW of load injects `+2 kW`.
//! * Loads and static generators in `loads.csv` / `sgen.csv` store positive `p_mw` in their
//!   natural direction (as pandapower does); they are turned into injections with the sign above.
//! * Branch flows are the power *entering* the branch at an end: `p_from_mw > 0` means power flows
//!   from the from/HV end towards the to/LV end.
//! * Power at the slack (`slack_p_mw`, `slack_import_kw`) is positive when the feeder *imports*.
//! * Money: positive = the prosumer (or the community) pays.
//!
//! ## Units
//!
//! Units live in names: `p_mw`, `q_mvar`, `vm_pu`, `va_degree`, `length_km`, `r_ohm_per_km`,
//! `max_i_ka`, `sn_mva` in the feeder model and the power flows (pandapower's units); `_kw`,
//! `_kwh`, `_per_kwh` in the study. The solvers work in per unit on the feeder's `sn_mva` base and
//! each node's `vn_kv`. Every money figure is in the scenario's currency (written `$`).
//!
//! ## Layout (each layer uses only the ones above it)
//!
//! | module | role |
//! |---|---|
//! | [`util`] | dates, seeded randomness, display names, the one atomic writer |
//! | [`network`], [`table`], [`profiles`], [`element_series`], [`import`], [`tariff`] | the model: feeder tables and readers (folders, pandapower JSON, MATPOWER), the electrical model and topology, time series (shared curves, and per load and generator), retailer prices |
//! | [`scenario`] | what to run: specs with their defaults, layers (defaults → preset → file → flags), validation, community building (no dispatch) |
//! | [`pf`] | power flow: DC, PTDF, AC |
//! | [`opt`] | a solver-agnostic problem with typed handles, the Clarabel backend, branch and bound over complementarity pairs |
//! | [`formulation`] | the network formulations (`dc`, `lindistflow`, `socp`), each in one file with its evaluator |
//! | [`market`] | order strategies and one file per auction mechanism |
//! | [`storage`] | the battery block and dispatch (LP, MILP, greedy); EVs and shiftable loads over the same block |
//! | [`clearing`] | the network correction over any formulation, its allocation rule, AC check, charges |
//! | [`settlement`] | accounts and the one `settle`; the seed community's regulator (transfers, bans) |
//! | [`study`] | the one entry point: storage plans, the day loop, central clearing, network results, KPIs, comparisons; the seed community's simulation (`--preset community100`) |
//! | [`output`] | typed CSV rows, `summary.json`, the terminal table, the HTML report |
//! | [`ledger`], [`sweep`] | the settlement hash chain; grids of studies, shards and merges |
//! | [`cli`] | clap only: parse, call, print |

#![warn(missing_docs)]

pub mod clearing;
pub mod cli;
pub mod element_series;
pub mod error;
pub mod formulation;
pub mod import;
pub mod ledger;
pub mod market;
pub mod network;
pub mod opt;
pub mod output;
pub mod pf;
pub mod profiles;
pub mod scenario;
pub mod settlement;
pub mod storage;
pub mod study;
pub mod sweep;
pub mod table;
pub mod tariff;
pub mod util;

pub use error::{Error, Location, Result};
pub use util::fmt_f64;
