//! Batteries in a study day: who has one, what prices they see, and their dispatch before the
//! auction (`--clearing auction`).
//!
//! * Home batteries go to `ceil(battery_share · n)` prosumers (seeded, independent of the PV
//!   draw), sized per household: capacity and power × the prosumer's households.
//! * The community (VPP) battery is an extra agent at `vpp_bus` (default: the first LV bus below
//!   the slack, i.e. the transformer's LV busbar).
//! * Each home battery minimises its owner's bill with PV curtailment available; the VPP then
//!   minimises the community's bill against the residual (what the homes still import or
//!   export), without curtailing anyone. Batteries are independent given prices, so the day's
//!   MILP decomposes into one small problem per battery ([`crate::storage`]).
//! * Prices the dispatch sees: `settlement-only` — the retailer's retail and feed-in prices; the
//!   internal P2P price only splits money later. `coupled` — the internal price `p_int` of the
//!   step (the fixed strategy's ask under pay-as-ask and paper-greedy, the mid of bid and ask under
//!   mid-price, uniform and McAfee, the mid of feed-in and retail for the other strategies), clamped
//!   to [feed-in, retail], for both imports and exports: the battery acts as if the community
//!   absorbed every kWh at the internal price.

use super::community::{LoadClass, Prosumer};
use crate::error::{Error, Location, Result};
use crate::market::strategy::Strategy;
use crate::market::Mechanism;
use crate::network::electrical::Grid;
use crate::network::topology::Topology;
use crate::network::{BusId, Network};
use crate::scenario::{Scenario, SettlementMode};
use crate::storage::{dispatch, DayInput, MilpSettings, StorageModel};
use crate::tariff::PricingMode;

/// Gives home batteries to a seeded share of the prosumers and adds the VPP agent.
pub(super) fn assign(
    s: &Scenario,
    grid: &Grid,
    net: &Network,
    prosumers: &mut Vec<Prosumer>,
) -> Result<()> {
    let st = &s.storage;
    let n = prosumers.len();
    if !st.per_prosumer_kwh.is_empty() {
        if st.per_prosumer_kwh.len() > n {
            return Err(Error::invalid(
                Location::file("scenario").field("storage.per_prosumer_kwh"),
                format!("{} batteries for {n} prosumers", st.per_prosumer_kwh.len()),
            ));
        }
        for (i, (&e, &pw)) in st
            .per_prosumer_kwh
            .iter()
            .zip(&st.per_prosumer_kw)
            .enumerate()
        {
            if e > 0.0 && pw > 0.0 {
                prosumers[i].battery = Some(crate::storage::Battery {
                    e_kwh: e,
                    p_charge_kw: pw,
                    p_discharge_kw: pw,
                    ..st.battery
                });
            }
        }
    }
    let share = if st.per_prosumer_kwh.is_empty() {
        st.battery_share_percent
    } else {
        0.0
    };
    for i in super::community::seeded_share(n, share, s.seed, 11) {
        let p = &mut prosumers[i];
        let units = p.households.max(1) as f64;
        p.battery = Some(crate::storage::Battery {
            e_kwh: st.battery.e_kwh * units,
            p_charge_kw: st.battery.p_charge_kw * units,
            p_discharge_kw: st.battery.p_discharge_kw * units,
            ..st.battery
        });
    }
    if st.vpp {
        let node = match st.vpp_bus {
            Some(b) => grid.node_of_bus(BusId(b)).ok_or_else(|| {
                Error::invalid(
                    Location::file("scenario").field("storage.vpp_bus"),
                    format!("bus {b} is not a connected bus of {}", net.name()),
                )
            })?,
            None => {
                let topo = Topology::new(grid);
                *topo
                    .bfs_order()
                    .iter()
                    .find(|&&k| grid.nodes[k].vn_kv < 1.0)
                    .unwrap_or(&grid.slack)
            }
        };
        let n_steps = prosumers.first().map_or(24, |p| p.load_kw.len());
        prosumers.push(Prosumer {
            id: prosumers.len(),
            name: "community battery".into(),
            bus: grid.nodes[node].buses[0],
            node,
            class: LoadClass::Vpp,
            households: 0,
            profile: String::new(),
            pv_kwp: 0.0,
            load_kw: vec![0.0; n_steps],
            pv_kw: vec![0.0; n_steps],
            battery: Some(st.vpp_battery),
            dispatch: None,
        });
    }
    Ok(())
}

/// Retail and feed-in prices per step.
pub(super) fn retail_prices(s: &Scenario, n_steps: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    match s.retailer.pricing {
        PricingMode::Fixed => Ok((
            vec![s.tariff.retail_per_kwh; n_steps],
            vec![s.tariff.feed_in_per_kwh; n_steps],
        )),
        PricingMode::TimeOfUse => Ok((
            s.retailer.time_of_use.prices(s.step_minutes),
            vec![s.tariff.feed_in_per_kwh; n_steps],
        )),
        PricingMode::WholesalePass => {
            let r = &s.retailer;
            let (label, text) = crate::profiles::source_text(&r.wholesale_file)?;
            let day = (r.wholesale_day != "typical").then_some(r.wholesale_day.as_str());
            let d = crate::profiles::read_day(&label, &text, day, &[r.wholesale_column.as_str()])?
                .resampled(s.step_minutes)?;
            let w = d.get(&r.wholesale_column)?;
            if !matches!(
                w.unit,
                crate::profiles::Unit::PerMwh | crate::profiles::Unit::PerKwh
            ) {
                return Err(Error::invalid(
                    Location::file(label).field(&r.wholesale_column),
                    "the wholesale column must be a price (_per_mwh or _per_kwh)",
                ));
            }
            Ok(r.wholesale_pass.prices(&w.per_kwh()))
        }
    }
}

/// The internal P2P price a `coupled` dispatch sees in each step.
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

/// Dispatches every battery for the auction mode: homes first, then the VPP on the residual.
pub fn plan(c: &mut super::community::Community, s: &Scenario) {
    let model = s.storage.model;
    if model == StorageModel::None {
        return;
    }
    let dt = c.dt_h();
    let n_steps = c.n_steps();
    let (imp, exp) = match s.storage.settlement {
        SettlementMode::SettlementOnly => (c.retail_per_kwh.clone(), c.feed_in_per_kwh.clone()),
        SettlementMode::Coupled => {
            let p = internal_price(s, &c.retail_per_kwh, &c.feed_in_per_kwh);
            (p.clone(), p)
        }
    };
    let settings = MilpSettings::default();
    let mut residual = vec![0.0; n_steps];
    for p in c.prosumers.iter_mut().filter(|p| p.class != LoadClass::Vpp) {
        match &p.battery {
            Some(b) => {
                let inp = DayInput {
                    dt_h: dt,
                    load_kw: &p.load_kw,
                    pv_kw: &p.pv_kw,
                    import_per_kwh: &imp,
                    export_per_kwh: &exp,
                    allow_curtailment: true,
                };
                let d = dispatch(b, &inp, model, &settings);
                for t in 0..n_steps {
                    residual[t] += d.import_kw[t] - d.export_kw[t];
                }
                p.dispatch = Some(d);
            }
            None => {
                for t in 0..n_steps {
                    residual[t] += p.load_kw[t] - p.pv_kw[t];
                }
            }
        }
    }
    if let Some(v) = c.prosumers.iter_mut().find(|p| p.class == LoadClass::Vpp) {
        if let Some(b) = &v.battery {
            let deficit: Vec<f64> = residual.iter().map(|x| x.max(0.0)).collect();
            let surplus: Vec<f64> = residual.iter().map(|x| (-x).max(0.0)).collect();
            let inp = DayInput {
                dt_h: dt,
                load_kw: &deficit,
                pv_kw: &surplus,
                import_per_kwh: &imp,
                export_per_kwh: &exp,
                allow_curtailment: false,
            };
            v.dispatch = Some(dispatch(b, &inp, model, &settings));
        }
    }
}
