//! Network charges on executed trades, paid by the buyer ([`super::ChargeRule`]):
//!
//! * `dlmp`: `(λ_buyer − λ_seller)·kWh`, the nodal-price difference (a rebate when negative);
//! * `distance`: `rate · km · kWh`, with `km` the length of lines on the path between the two;
//! * `uniform`: `rate · kWh`.

use super::{ChargeRule, ClearingSpec, StepOutcome};
use crate::network::electrical::{BranchElement, Grid};
use crate::network::topology::Topology;
use crate::network::Network;

/// What the charge rules need of a feeder, computed once.
#[derive(Debug, Clone)]
pub struct Charges {
    rule: ChargeRule,
    distance_rate: f64,
    uniform_rate: f64,
    branch_km: Vec<f64>,
}

impl Charges {
    /// The charges of a feeder under the clearing settings.
    pub fn new(net: &Network, grid: &Grid, spec: &ClearingSpec) -> Charges {
        let km: std::collections::HashMap<_, _> =
            net.lines.iter().map(|l| (l.id, l.length_km)).collect();
        Charges {
            rule: spec.network_charges,
            distance_rate: spec.distance_rate_per_kwh_km,
            uniform_rate: spec.uniform_rate_per_kwh,
            branch_km: grid
                .branches
                .iter()
                .map(|b| match b.element {
                    BranchElement::Line(id) => km.get(&id).copied().unwrap_or(0.0),
                    _ => 0.0,
                })
                .collect(),
        }
    }

    /// Length of lines on the path between two nodes, km.
    pub fn path_km(&self, grid: &Grid, topo: &Topology, a: usize, b: usize) -> f64 {
        topo.path(grid, a, b)
            .iter()
            .map(|s| self.branch_km[s.branch])
            .sum()
    }

    /// The charge on `kwh` executed from node `seller` to node `buyer` in a step with outcome `o`
    /// (`None` outcome: no prices, so `dlmp` charges nothing).
    pub fn charge(
        &self,
        grid: &Grid,
        topo: &Topology,
        o: Option<&StepOutcome>,
        seller: usize,
        buyer: usize,
        kwh: f64,
    ) -> f64 {
        match self.rule {
            ChargeRule::None => 0.0,
            ChargeRule::Dlmp => o.map_or(0.0, |o| {
                let d = o.lmp_per_kwh[buyer] - o.lmp_per_kwh[seller];
                if d.is_finite() {
                    d * kwh
                } else {
                    0.0
                }
            }),
            ChargeRule::Distance => {
                self.distance_rate * self.path_km(grid, topo, seller, buyer) * kwh
            }
            ChargeRule::Uniform => self.uniform_rate * kwh,
        }
    }
}
