//! How the network's physical decisions reach agents and trades — the one allocation rule.
//!
//! 1. A node's curtailment is shared among its agents in proportion to what each exports
//!    (`curtailable_kw`); its shedding in proportion to what each imports (`sheddable_kw`).
//! 2. An agent's curtailment comes out of the energy it would have sold to the retailer first (its
//!    least valuable use: feed-in), then out of its trades pro rata. Its shedding comes out of
//!    what it would have bought from the retailer first, then out of its P2P purchases pro rata.
//! 3. A trade executes the smaller of the shares its seller and its buyer can still honour. What a
//!    seller cannot deliver to a buyer it sells to the retailer instead (if not curtailed); what a
//!    buyer does not receive it imports from the retailer (if not shed).
//!
//! So a seller never loses more than its feed-in on curtailed energy it did not trade, and every
//! trade that does execute keeps its price — individual rationality survives the correction.

use super::StepInput;

/// Per-agent and per-trade results of the allocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Allocation {
    /// PV curtailed per agent, kW.
    pub curt_kw: Vec<f64>,
    /// Load shed per agent, kW.
    pub shed_kw: Vec<f64>,
    /// Executed share per trade.
    pub executed: Vec<f64>,
}

/// Shares `total` among items in proportion to `weight` (all weights ≤ 0: equal shares).
fn pro_rata(total: f64, members: &[usize], weight: &[f64], out: &mut [f64]) {
    if total <= 0.0 || members.is_empty() {
        return;
    }
    let sum: f64 = members.iter().map(|&i| weight[i].max(0.0)).sum();
    for &i in members {
        out[i] += if sum > 0.0 {
            total * weight[i].max(0.0) / sum
        } else {
            total / members.len() as f64
        };
    }
}

/// Allocates per-node curtailment and shedding (kW) to the step's agents and trades.
pub fn allocate(inp: &StepInput, node_curt_kw: &[f64], node_shed_kw: &[f64]) -> Allocation {
    let na = inp.agents.len();
    let n = node_curt_kw.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in inp.agents.iter().enumerate() {
        members[a.node].push(i);
    }
    let cap_c: Vec<f64> = inp.agents.iter().map(|a| a.curtailable_kw).collect();
    let cap_s: Vec<f64> = inp.agents.iter().map(|a| a.sheddable_kw).collect();
    let mut curt = vec![0.0; na];
    let mut shed = vec![0.0; na];
    for k in 0..n {
        pro_rata(node_curt_kw[k], &members[k], &cap_c, &mut curt);
        pro_rata(
            node_shed_kw.get(k).copied().unwrap_or(0.0),
            &members[k],
            &cap_s,
            &mut shed,
        );
    }
    let (mut sold, mut bought) = (vec![0.0; na], vec![0.0; na]);
    for t in inp.trades {
        sold[t.seller] += t.kw;
        bought[t.buyer] += t.kw;
    }
    let share = |cut: f64, of: f64| {
        if of > 0.0 {
            (1.0 - cut.max(0.0) / of).clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    let x_sell: Vec<f64> = (0..na)
        .map(|i| share(curt[i] - (cap_c[i] - sold[i]).max(0.0), sold[i]))
        .collect();
    let x_buy: Vec<f64> = (0..na)
        .map(|i| share(shed[i] - (cap_s[i] - bought[i]).max(0.0), bought[i]))
        .collect();
    let executed = inp
        .trades
        .iter()
        .map(|t| x_sell[t.seller].min(x_buy[t.buyer]))
        .collect();
    Allocation {
        curt_kw: curt,
        shed_kw: shed,
        executed,
    }
}

/// The allocation of a joint clearing (trades decided with the network, [`super::StepInput::book`]):
/// a node's curtailment is shared among its agents in proportion to the surplus each did *not*
/// sell (`curtailable − sold`), its shedding in proportion to the deficit each did not buy, so that
/// no executed trade is cut (the joint problem's rows guarantee there is enough unsold energy at
/// the node). `executed` is empty: the trades are the solution's.
pub fn allocate_joint(
    inp: &StepInput,
    node_curt_kw: &[f64],
    node_shed_kw: &[f64],
    sold_kw: &[f64],
    bought_kw: &[f64],
) -> Allocation {
    let na = inp.agents.len();
    let n = node_curt_kw.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in inp.agents.iter().enumerate() {
        members[a.node].push(i);
    }
    let unsold: Vec<f64> = (0..na)
        .map(|i| (inp.agents[i].curtailable_kw - sold_kw.get(i).copied().unwrap_or(0.0)).max(0.0))
        .collect();
    let unbought: Vec<f64> = (0..na)
        .map(|i| (inp.agents[i].sheddable_kw - bought_kw.get(i).copied().unwrap_or(0.0)).max(0.0))
        .collect();
    let mut curt = vec![0.0; na];
    let mut shed = vec![0.0; na];
    for k in 0..n {
        pro_rata(node_curt_kw[k], &members[k], &unsold, &mut curt);
        pro_rata(
            node_shed_kw.get(k).copied().unwrap_or(0.0),
            &members[k],
            &unbought,
            &mut shed,
        );
    }
    Allocation {
        curt_kw: curt,
        shed_kw: shed,
        executed: Vec::new(),
    }
}
