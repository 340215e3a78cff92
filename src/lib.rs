//! # netclear
//!
//! Clears peer-to-peer (P2P) energy markets on real low-voltage distribution feeders while
//! respecting the physics of the network.
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
//! * Power at the slack (`slack_p_mw`) is positive when the feeder *imports* from the upstream grid.
//!
//! ## Units
//!
//! Units live in names: `p_mw`, `q_mvar`, `vm_pu`, `va_degree`, `length_km`, `r_ohm_per_km`,
//! `max_i_ka`, `sn_mva`. Internally the solvers work in per unit on the feeder's `sn_mva` base
//! and each node's `vn_kv`.
//!
//! ## Layout
//!
//! * [`network`] — the user model (tables as the files state them), the electrical model the
//!   solvers use ([`network::electrical`]), topology ([`network::topology`]), shipped feeders
//!   ([`network::registry`]) and a synthetic feeder generator ([`network::synthetic`]).
//! * [`pf`] — DC power flow, PTDF, AC Newton–Raphson.
//! * [`cli`] — the command line, a thin layer over the library.

#![warn(missing_docs)]

pub mod clearing;
pub mod cli;
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
