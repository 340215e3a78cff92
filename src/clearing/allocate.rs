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

/// The agents at each node, in agent order: node `k`'s are `idx[start[k]..start[k + 1]]` (one
/// counting sort, not a list per node: at 10⁵ buses a step has 43 000 agents). Empty when no
/// node has anything to share (`any` false): every share is then zero without it.
struct Members {
    start: Vec<usize>,
    idx: Vec<usize>,
}

impl Members {
    fn of(inp: &StepInput, n: usize, any: bool) -> Members {
        if !any {
            return Members {
                start: Vec::new(),
                idx: Vec::new(),
            };
        }
        let mut start = vec![0usize; n + 1];
        for a in inp.agents {
            start[a.node + 1] += 1;
        }
        for k in 0..n {
            start[k + 1] += start[k];
        }
        let mut fill = start.clone();
        let mut idx = vec![0usize; inp.agents.len()];
        for (i, a) in inp.agents.iter().enumerate() {
            idx[fill[a.node]] = i;
            fill[a.node] += 1;
        }
        Members { start, idx }
    }

    fn at(&self, k: usize) -> &[usize] {
        match (self.start.get(k), self.start.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.idx[a..b],
            _ => &[],
        }
    }
}

/// Whether any node has curtailment or shedding that [`pro_rata`] would share (a positive total,
/// or a NaN, which it passes on).
fn any_positive(node_curt_kw: &[f64], node_shed_kw: &[f64]) -> bool {
    node_curt_kw
        .iter()
        .chain(node_shed_kw)
        .any(|&v| !(v <= 0.0))
}

/// Allocates per-node curtailment and shedding (kW) to the step's agents and trades.
pub fn allocate(inp: &StepInput, node_curt_kw: &[f64], node_shed_kw: &[f64]) -> Allocation {
    let na = inp.agents.len();
    let n = node_curt_kw.len();
    let members = Members::of(inp, n, any_positive(node_curt_kw, node_shed_kw));
    let cap_c: Vec<f64> = inp.agents.iter().map(|a| a.curtailable_kw).collect();
    let cap_s: Vec<f64> = inp.agents.iter().map(|a| a.sheddable_kw).collect();
    let mut curt = vec![0.0; na];
    let mut shed = vec![0.0; na];
    for k in 0..n {
        pro_rata(node_curt_kw[k], members.at(k), &cap_c, &mut curt);
        pro_rata(
            node_shed_kw.get(k).copied().unwrap_or(0.0),
            members.at(k),
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
    let members = Members::of(inp, n, any_positive(node_curt_kw, node_shed_kw));
    let unsold: Vec<f64> = (0..na)
        .map(|i| (inp.agents[i].curtailable_kw - sold_kw.get(i).copied().unwrap_or(0.0)).max(0.0))
        .collect();
    let unbought: Vec<f64> = (0..na)
        .map(|i| (inp.agents[i].sheddable_kw - bought_kw.get(i).copied().unwrap_or(0.0)).max(0.0))
        .collect();
    let mut curt = vec![0.0; na];
    let mut shed = vec![0.0; na];
    for k in 0..n {
        pro_rata(node_curt_kw[k], members.at(k), &unsold, &mut curt);
        pro_rata(
            node_shed_kw.get(k).copied().unwrap_or(0.0),
            members.at(k),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clearing::{Agent, TradeFlow};
    use crate::formulation::Limits;

    fn agent(node: usize, curtailable_kw: f64, sheddable_kw: f64) -> Agent {
        Agent {
            node,
            p_kw: 0.0,
            q_kvar: 0.0,
            curtailable_kw,
            sheddable_kw,
            tan_phi: 0.0,
        }
    }

    /// Two sellers at node 0 (4 and 2 kW curtailable), a buyer at node 1 (5 kW sheddable),
    /// trades 0→2 of 2 kW and 1→2 of 1 kW. Node 0 curtails 4.5 kW: 3 and 1.5 (4 : 2); each
    /// seller first loses the energy it did not sell (2 and 1 kW), then half of its trades.
    /// Node 1 sheds 3 kW: 2 of it beyond its untraded 2 kW, a third of its 3 kW bought. A trade
    /// executes the smaller share: 0.5 both. Hand-derived.
    #[test]
    fn shares_follow_the_rule_by_hand() {
        let agents = [agent(0, 4.0, 0.0), agent(0, 2.0, 0.0), agent(1, 0.0, 5.0)];
        let trades = [
            TradeFlow {
                seller: 0,
                buyer: 2,
                kw: 2.0,
            },
            TradeFlow {
                seller: 1,
                buyer: 2,
                kw: 1.0,
            },
        ];
        let limits = Limits {
            v_sq: vec![(0.81, 1.21); 2],
            s_max_kva: vec![None],
        };
        let inp = StepInput {
            dt_h: 1.0,
            agents: &agents,
            trades: &trades,
            import_per_kwh: 0.3,
            export_per_kwh: 0.05,
            limits: &limits,
            book: None,
        };
        let a = allocate(&inp, &[4.5, 0.0], &[0.0, 3.0]);
        assert_eq!(a.curt_kw, vec![3.0, 1.5, 0.0]);
        assert_eq!(a.shed_kw, vec![0.0, 0.0, 3.0]);
        assert_eq!(a.executed, vec![0.5, 0.5]);
        // Nothing to share: no agent is touched and every trade executes in full.
        let none = allocate(&inp, &[0.0, 0.0], &[0.0, 0.0]);
        assert_eq!(none.curt_kw, vec![0.0; 3]);
        assert_eq!(none.shed_kw, vec![0.0; 3]);
        assert_eq!(none.executed, vec![1.0, 1.0]);
        // A NaN total is passed on to its node's agents, never silently dropped.
        let nan = allocate(&inp, &[f64::NAN, 0.0], &[0.0, 0.0]);
        assert!(nan.curt_kw[0].is_nan() && nan.curt_kw[1].is_nan());
        assert_eq!(nan.curt_kw[2], 0.0);
    }
}
