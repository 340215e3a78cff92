//! The electrical model the solvers use, derived from the user model exactly as pandapower
//! derives its internal (PYPOWER) model.
//!
//! # From buses to nodes
//!
//! 1. Out-of-service buses are removed, with every element touching them (but a line with one
//!    end at an out-of-service bus stays energised from its other end, see 3).
//! 2. Buses joined by a *closed bus-bus switch with `z_ohm = 0`* are fused into one electrical
//!    node (union–find). A closed bus-bus switch with `z_ohm > 0` becomes an impedance branch
//!    with pandapower's `switch_rx_ratio = 2`.
//! 3. **An open line or trafo switch disconnects only its own end**, as in pandapower
//!    (`_switch_branches`): the element stays energised from its other end, its open end hangs
//!    on an *auxiliary node* of its own (the bus's voltage level, no load), so a cable's charging
//!    and a trafo's magnetising current still flow. A line whose bus is out of service at one end
//!    is treated the same way (pandapower's `_branches_with_oos_buses`). Auxiliary nodes come after
//!    every real node ([`Node::auxiliary`]); they own no user bus (their `buses` names the bus of the
//!    open end, as a label), are never returned by [`Grid::node_of_bus`] and are never reported
//!    as dropped. Open at both ends, the element is
//!    isolated and left out.
//! 4. Nodes are numbered in the order their first bus appears in `buses.csv` — pandapower's
//!    `ppc` order — so the CIGRE slack node is node 0 = buses {0, 1, 20, 23}.
//! 5. Nodes that cannot be reached from the slack are **dropped and reported**
//!    ([`Grid::dropped_buses`]), as pandapower's `check_connectivity` does (it gives them NaN).
//!    Their loads and generators are ignored; `network validate` lists them.
//!
//! # Branch model (per unit on `sn_mva` and the from-bus `vn_kv`)
//!
//! Every branch is the MATPOWER π model with a complex off-nominal ratio `t = τ·e^{jφ}`:
//!
//! ```text
//!   Y_ff = (y_s + y_sh,f) / |t|²     Y_ft = −y_s / t*
//!   Y_tf = −y_s / t                   Y_tt = y_s + y_sh,t
//! ```
//!
//! * **Line**: `z = (r' + jx')·ℓ / Z_b / parallel`, `y_sh,f = y_sh,t = (g + jb)/2` with
//!   `b = 2πf·c·ℓ·Z_b·parallel`, `g = g'·ℓ·Z_b·parallel`, `Z_b = vn_kv² / sn_mva`.
//! * **Trafo** (pandapower `trafo_model="t"`): `z_k = vk%/100/sn·k`, `r_k = vkr%/100/sn·k`,
//!   `x_k = √(z_k² − r_k²)`, `k = (vn_lv_trafo / vn_lv_bus)²·sn_mva`, divided by `parallel`;
//!   magnetising admittance `y_m = g_m + j b_m` from `pfe_kw` and `i0_percent`; the T model
//!   (`z_k/2`, `y_m`, `z_k/2`) converted to an exact π by the wye–delta transform. Ratio
//!   `τ = (vn_hv'/vn_lv') / (vn_kv(hv)/vn_kv(lv))` with the ratio tap applied to `vn_hv'` or
//!   `vn_lv'`; `φ = shift_degree`.
//!
//! The DC model uses only `x` of the same π branch: `b_dc = 1 / (x·τ)`.

use super::{BusId, LineId, Network, SwitchElement, SwitchId, TapSide, TrafoId};
use crate::error::{Error, Location, Result};
use num_complex::Complex64;
use std::collections::HashMap;

/// Index of an electrical node (0-based, pandapower `ppc` order).
pub type NodeIdx = usize;

/// The user element a branch stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BranchElement {
    /// A line.
    Line(LineId),
    /// A two-winding transformer.
    Trafo(TrafoId),
    /// A closed bus-bus switch with impedance.
    Switch(SwitchId),
}

impl std::fmt::Display for BranchElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BranchElement::Line(l) => write!(f, "{l}"),
            BranchElement::Trafo(t) => write!(f, "{t}"),
            BranchElement::Switch(s) => write!(f, "{s}"),
        }
    }
}

/// The thermal limit of a branch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rating {
    /// Line current limit `max_i_ka · df · parallel`, kA (pandapower line loading).
    Current {
        /// Allowed current, kA.
        i_max_ka: f64,
    },
    /// Transformer rating, loading as pandapower's `trafo_loading="current"`.
    Trafo {
        /// Rated power of one unit, MVA.
        sn_mva: f64,
        /// Rated HV voltage, kV.
        vn_hv_kv: f64,
        /// Rated LV voltage, kV.
        vn_lv_kv: f64,
        /// Parallel units times derating factor.
        parallel_df: f64,
    },
    /// No limit (impedance switches).
    None,
}

impl Rating {
    /// Loading in percent from the currents at the two ends (kA).
    pub fn loading_percent(&self, i_from_ka: f64, i_to_ka: f64) -> f64 {
        match *self {
            Rating::Current { i_max_ka } => i_from_ka.max(i_to_ka) / i_max_ka * 100.0,
            Rating::Trafo {
                sn_mva,
                vn_hv_kv,
                vn_lv_kv,
                parallel_df,
            } => {
                (i_from_ka * vn_hv_kv).max(i_to_ka * vn_lv_kv) * 3f64.sqrt() / sn_mva * 100.0
                    / parallel_df
            }
            Rating::None => 0.0,
        }
    }

    /// The limit on apparent power at nominal voltage `vn_kv`, MVA (for optimisation).
    pub fn s_max_mva(&self, vn_kv: f64) -> Option<f64> {
        match *self {
            Rating::Current { i_max_ka } => Some(3f64.sqrt() * vn_kv * i_max_ka),
            Rating::Trafo {
                sn_mva,
                parallel_df,
                ..
            } => Some(sn_mva * parallel_df),
            Rating::None => None,
        }
    }
}

/// One π branch between two electrical nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// What it is in the user model.
    pub element: BranchElement,
    /// From node (line from-end, trafo HV side).
    pub from: NodeIdx,
    /// To node.
    pub to: NodeIdx,
    /// Series resistance, p.u.
    pub r_pu: f64,
    /// Series reactance, p.u. (> 0).
    pub x_pu: f64,
    /// Shunt admittance at the from end, p.u. (already halved for lines).
    pub y_sh_from_pu: Complex64,
    /// Shunt admittance at the to end, p.u.
    pub y_sh_to_pu: Complex64,
    /// Off-nominal ratio τ (1 for lines).
    pub tap: f64,
    /// Phase shift φ, radians (0 for lines).
    pub shift_rad: f64,
    /// Thermal limit.
    pub rating: Rating,
}

impl Branch {
    /// DC susceptance `1/(x·τ)`, p.u.
    pub fn b_dc_pu(&self) -> f64 {
        1.0 / (self.x_pu * self.tap)
    }

    /// The four entries of the branch admittance matrix `[Y_ff, Y_ft, Y_tf, Y_tt]`.
    pub fn admittances(&self) -> [Complex64; 4] {
        let ys = Complex64::new(1.0, 0.0) / Complex64::new(self.r_pu, self.x_pu);
        let t = Complex64::from_polar(self.tap, self.shift_rad);
        let yff = (ys + self.y_sh_from_pu) / (self.tap * self.tap);
        let yft = -ys / t.conj();
        let ytf = -ys / t;
        let ytt = ys + self.y_sh_to_pu;
        [yff, yft, ytf, ytt]
    }
}

/// An electrical node: one or more fused buses.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The user buses fused into this node, in file order. For an [auxiliary](Node::auxiliary)
    /// node: the bus its open switch sits at, as a label only (that bus belongs to another node).
    pub buses: Vec<BusId>,
    /// Voltage base, kV.
    pub vn_kv: f64,
    /// Whether this is an auxiliary node: the open end of a line or trafo behind an open switch
    /// (or at an out-of-service bus), pandapower's auxiliary bus. It carries no load.
    pub auxiliary: bool,
}

/// Why a bus is not part of the electrical model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The bus is out of service.
    OutOfService,
    /// No in-service path connects it to the slack.
    Unreachable,
}

/// The electrical model: nodes, π branches, one slack.
#[derive(Debug, Clone)]
pub struct Grid {
    /// Feeder name.
    pub name: String,
    /// Power base, MVA.
    pub sn_mva: f64,
    /// Nodes in pandapower `ppc` order.
    pub nodes: Vec<Node>,
    /// Branches: lines, then trafos, then impedance switches, each in file order.
    pub branches: Vec<Branch>,
    /// The slack node.
    pub slack: NodeIdx,
    /// Slack voltage magnitude, p.u.
    pub slack_vm_pu: f64,
    /// Slack voltage angle, radians.
    pub slack_va_rad: f64,
    /// Buses that are not in the model, with the reason.
    pub dropped_buses: Vec<(BusId, DropReason)>,
    bus_node: HashMap<BusId, NodeIdx>,
    branch_of: HashMap<BranchElement, usize>,
}

impl Grid {
    /// Builds the electrical model of a validated network.
    pub fn from_network(net: &Network) -> Result<Grid> {
        let sn_mva = net.manifest.sn_mva;
        let n_bus = net.buses.len();
        let idx: HashMap<BusId, usize> = net
            .buses
            .iter()
            .enumerate()
            .map(|(i, b)| (b.id, i))
            .collect();
        let in_service = |b: BusId| idx.get(&b).map(|&i| net.buses[i].in_service) == Some(true);

        // 1–2: union-find over closed zero-impedance bus-bus switches.
        let mut parent: Vec<usize> = (0..n_bus).collect();
        fn find(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        // Open line/trafo switches: (element, bus at the open end).
        let mut open_lines = std::collections::HashSet::new();
        let mut open_trafos = std::collections::HashSet::new();
        for sw in &net.switches {
            match sw.element {
                SwitchElement::Bus(other)
                    if sw.closed && sw.z_ohm == 0.0 && in_service(sw.bus) && in_service(other) =>
                {
                    let a = find(&mut parent, idx[&sw.bus]);
                    let b = find(&mut parent, idx[&other]);
                    if a != b {
                        // Keep the smaller index as root so node order follows file order.
                        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                        parent[hi] = lo;
                    }
                }
                SwitchElement::Line(l) if !sw.closed => {
                    open_lines.insert((l, sw.bus));
                }
                SwitchElement::Trafo(t) if !sw.closed => {
                    open_trafos.insert((t, sw.bus));
                }
                _ => {}
            }
        }

        // 3: number the candidate nodes in order of first bus.
        let mut root_node: HashMap<usize, usize> = HashMap::new();
        let mut cand_nodes: Vec<Node> = Vec::new();
        let mut bus_cand: Vec<Option<usize>> = vec![None; n_bus];
        let mut dropped = Vec::new();
        for (i, bus) in net.buses.iter().enumerate() {
            if !bus.in_service {
                dropped.push((bus.id, DropReason::OutOfService));
                continue;
            }
            let r = find(&mut parent, i);
            let k = *root_node.entry(r).or_insert_with(|| {
                cand_nodes.push(Node {
                    buses: Vec::new(),
                    vn_kv: bus.vn_kv,
                    auxiliary: false,
                });
                cand_nodes.len() - 1
            });
            if (cand_nodes[k].vn_kv - bus.vn_kv).abs() > 1e-9 * bus.vn_kv {
                return Err(Error::invalid(
                    Location::file("switches.csv"),
                    format!(
                        "closed switch fuses {} ({} kV) with {} ({} kV): voltage levels differ",
                        cand_nodes[k].buses[0], cand_nodes[k].vn_kv, bus.id, bus.vn_kv
                    ),
                ));
            }
            cand_nodes[k].buses.push(bus.id);
            bus_cand[i] = Some(k);
        }
        let node_of = |b: BusId| idx.get(&b).and_then(|&i| bus_cand[i]);
        // The node an element end connects to: its bus's node, or a new auxiliary node when the
        // end is open (a switch) or its bus is out of service (`aux_if_oos`, lines only).
        let end_node = |cand_nodes: &mut Vec<Node>, bus: BusId, open: bool, aux_if_oos: bool| {
            let real = node_of(bus);
            if !open && real.is_some() {
                return real;
            }
            if real.is_none() && !aux_if_oos {
                return None;
            }
            let vn_kv = idx.get(&bus).map(|&i| net.buses[i].vn_kv)?;
            cand_nodes.push(Node {
                buses: vec![bus],
                vn_kv,
                auxiliary: true,
            });
            Some(cand_nodes.len() - 1)
        };

        // Branches between candidate nodes.
        let mut cand_branches: Vec<Branch> = Vec::new();
        for l in &net.lines {
            if !l.in_service {
                continue;
            }
            let open_f = open_lines.contains(&(l.id, l.from_bus));
            let open_t = open_lines.contains(&(l.id, l.to_bus));
            let real_f = node_of(l.from_bus);
            let real_t = node_of(l.to_bus);
            // Open (or out of service) at both ends: isolated, left out.
            if (open_f || real_f.is_none()) && (open_t || real_t.is_none()) {
                continue;
            }
            let (Some(f), Some(t)) = (
                end_node(&mut cand_nodes, l.from_bus, open_f, true),
                end_node(&mut cand_nodes, l.to_bus, open_t, true),
            ) else {
                continue;
            };
            if f == t {
                continue;
            }
            cand_branches.push(line_branch(
                l,
                (f, t),
                cand_nodes[f].vn_kv,
                sn_mva,
                net.manifest.f_hz,
            ));
        }
        for tr in &net.trafos {
            if !tr.in_service {
                continue;
            }
            let open_h = open_trafos.contains(&(tr.id, tr.hv_bus));
            let open_l = open_trafos.contains(&(tr.id, tr.lv_bus));
            if node_of(tr.hv_bus).is_none() || node_of(tr.lv_bus).is_none() || (open_h && open_l) {
                continue;
            }
            let (Some(f), Some(t)) = (
                end_node(&mut cand_nodes, tr.hv_bus, open_h, false),
                end_node(&mut cand_nodes, tr.lv_bus, open_l, false),
            ) else {
                continue;
            };
            if f == t {
                continue;
            }
            cand_branches.push(trafo_branch(
                tr,
                (f, t),
                &cand_nodes[f],
                &cand_nodes[t],
                sn_mva,
            )?);
        }
        let rz = 2.0 / 5f64.sqrt();
        let xz = 1.0 / 5f64.sqrt();
        for sw in &net.switches {
            if let SwitchElement::Bus(other) = sw.element {
                if !(sw.closed && sw.z_ohm > 0.0) {
                    continue;
                }
                let (Some(f), Some(t)) = (node_of(sw.bus), node_of(other)) else {
                    continue;
                };
                if f == t {
                    continue;
                }
                let vn = cand_nodes[f].vn_kv;
                let base_r = vn * vn / sn_mva;
                cand_branches.push(Branch {
                    element: BranchElement::Switch(sw.id),
                    from: f,
                    to: t,
                    r_pu: sw.z_ohm / base_r * rz,
                    x_pu: sw.z_ohm / base_r * xz,
                    y_sh_from_pu: Complex64::new(0.0, 0.0),
                    y_sh_to_pu: Complex64::new(0.0, 0.0),
                    tap: 1.0,
                    shift_rad: 0.0,
                    rating: Rating::None,
                });
            }
        }

        // The slack.
        let eg =
            net.ext_grids.iter().find(|e| e.in_service).ok_or_else(|| {
                Error::invalid(Location::file("ext_grid.csv"), "no in-service slack")
            })?;
        let slack_cand = node_of(eg.bus).ok_or_else(|| {
            Error::invalid(
                Location::file("ext_grid.csv").field("bus"),
                format!("the slack sits at {} which is out of service", eg.bus),
            )
        })?;

        // 4: keep what the slack reaches.
        let nc = cand_nodes.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); nc];
        for br in &cand_branches {
            adj[br.from].push(br.to);
            adj[br.to].push(br.from);
        }
        let mut reached = vec![false; nc];
        let mut stack = vec![slack_cand];
        reached[slack_cand] = true;
        while let Some(u) = stack.pop() {
            for &v in &adj[u] {
                if !reached[v] {
                    reached[v] = true;
                    stack.push(v);
                }
            }
        }
        let mut new_index = vec![usize::MAX; nc];
        let mut nodes = Vec::new();
        for (k, node) in cand_nodes.into_iter().enumerate() {
            if reached[k] {
                new_index[k] = nodes.len();
                nodes.push(node);
            } else if !node.auxiliary {
                for b in node.buses {
                    dropped.push((b, DropReason::Unreachable));
                }
            }
        }
        dropped.sort_by_key(|(b, _)| idx[b]);
        let branches: Vec<Branch> = cand_branches
            .into_iter()
            .filter(|b| reached[b.from])
            .map(|mut b| {
                b.from = new_index[b.from];
                b.to = new_index[b.to];
                b
            })
            .collect();
        let mut bus_node = HashMap::new();
        for (k, node) in nodes.iter().enumerate().filter(|(_, n)| !n.auxiliary) {
            for &b in &node.buses {
                bus_node.insert(b, k);
            }
        }
        let branch_of = branches
            .iter()
            .enumerate()
            .map(|(i, b)| (b.element, i))
            .collect();
        Ok(Grid {
            name: net.manifest.name.clone(),
            sn_mva,
            slack: new_index[slack_cand],
            slack_vm_pu: eg.vm_pu,
            slack_va_rad: eg.va_degree.to_radians(),
            nodes,
            branches,
            dropped_buses: dropped,
            bus_node,
            branch_of,
        })
    }

    /// Number of electrical nodes.
    pub fn n_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The node a bus belongs to (`None` if the bus was dropped or does not exist).
    pub fn node_of_bus(&self, bus: BusId) -> Option<NodeIdx> {
        self.bus_node.get(&bus).copied()
    }

    /// Currents at both ends (kA) and loading (%) of branch `l` carrying `[p_from, q_from, p_to,
    /// q_to]` (MW, Mvar) with end voltages `vm_from`, `vm_to` (p.u.): `i = |S| / (√3·vm·vn_kv)`,
    /// loading per the branch's [`Rating`]. A DC flow is `[p, 0, −p, 0]` at 1 p.u.
    pub fn branch_currents(
        &self,
        l: usize,
        flow: [f64; 4],
        vm_from: f64,
        vm_to: f64,
    ) -> (f64, f64, f64) {
        let br = &self.branches[l];
        let sqrt3 = 3f64.sqrt();
        let i_f = flow[0].hypot(flow[1]) / (vm_from * self.nodes[br.from].vn_kv) / sqrt3;
        let i_t = flow[2].hypot(flow[3]) / (vm_to * self.nodes[br.to].vn_kv) / sqrt3;
        (i_f, i_t, br.rating.loading_percent(i_f, i_t))
    }

    /// The branch index of a user element (`None` if out of service or dropped).
    pub fn branch_of(&self, element: BranchElement) -> Option<usize> {
        self.branch_of.get(&element).copied()
    }

    /// Nodal injections of the network's own in-service loads and sgens, in the generator
    /// convention (`p = Σ sgen − Σ load`), MW / Mvar. Elements on dropped buses are ignored.
    pub fn default_injections(&self, net: &Network) -> Injections {
        let mut inj = Injections::zeros(self.n_nodes());
        for l in net.loads.iter().filter(|l| l.in_service) {
            if let Some(k) = self.node_of_bus(l.bus) {
                inj.p_mw[k] -= l.p_mw * l.scaling;
                inj.q_mvar[k] -= l.q_mvar * l.scaling;
            }
        }
        for s in net.sgens.iter().filter(|s| s.in_service) {
            if let Some(k) = self.node_of_bus(s.bus) {
                inj.p_mw[k] += s.p_mw * s.scaling;
                inj.q_mvar[k] += s.q_mvar * s.scaling;
            }
        }
        inj
    }
}

/// Nodal injections in the generator convention (positive = power into the network).
#[derive(Debug, Clone, PartialEq)]
pub struct Injections {
    /// Active power per node, MW.
    pub p_mw: Vec<f64>,
    /// Reactive power per node, Mvar.
    pub q_mvar: Vec<f64>,
}

impl Injections {
    /// All zero.
    pub fn zeros(n: usize) -> Self {
        Injections {
            p_mw: vec![0.0; n],
            q_mvar: vec![0.0; n],
        }
    }
}

/// The π branch of a line between nodes `from` and `to`, in p.u. on `sn_mva` and the from
/// node's `vn_kv` (see module docs).
pub(crate) fn line_branch(
    l: &super::Line,
    (from, to): (NodeIdx, NodeIdx),
    vn_kv: f64,
    sn_mva: f64,
    f_hz: f64,
) -> Branch {
    let base_r = vn_kv * vn_kv / sn_mva;
    let par = l.parallel as f64;
    let b = 2.0 * f_hz * std::f64::consts::PI * l.c_nf_per_km * 1e-9 * base_r * l.length_km * par;
    let g = l.g_us_per_km * 1e-6 * base_r * l.length_km * par;
    let ysh = Complex64::new(g, b) / 2.0;
    Branch {
        element: BranchElement::Line(l.id),
        from,
        to,
        r_pu: l.r_ohm_per_km * l.length_km / base_r / par,
        x_pu: l.x_ohm_per_km * l.length_km / base_r / par,
        y_sh_from_pu: ysh,
        y_sh_to_pu: ysh,
        tap: 1.0,
        shift_rad: 0.0,
        rating: Rating::Current {
            i_max_ka: l.max_i_ka * l.df * par,
        },
    }
}

/// The π branch of a two-winding trafo between nodes `from` (HV) and `to` (see module docs).
pub(crate) fn trafo_branch(
    tr: &super::Trafo,
    (from, to): (NodeIdx, NodeIdx),
    hv: &Node,
    lv: &Node,
    sn_mva: f64,
) -> Result<Branch> {
    let loc = || Location::file("trafos.csv").field("id");
    let step = (tr.tap_pos - tr.tap_neutral) * tr.tap_step_percent / 100.0;
    let (vn_hv_t, vn_lv_t) = match tr.tap_side {
        Some(TapSide::Hv) => (tr.vn_hv_kv * (1.0 + step), tr.vn_lv_kv),
        Some(TapSide::Lv) => (tr.vn_hv_kv, tr.vn_lv_kv * (1.0 + step)),
        None => (tr.vn_hv_kv, tr.vn_lv_kv),
    };
    if !(vn_hv_t > 0.0 && vn_lv_t > 0.0) {
        return Err(Error::invalid(
            loc(),
            format!("{}: tap position gives a non-positive rated voltage", tr.id),
        ));
    }
    let ratio = (vn_hv_t / vn_lv_t) / (hv.vn_kv / lv.vn_kv);
    let par = tr.parallel as f64;
    let k = (vn_lv_t / lv.vn_kv).powi(2) * sn_mva;
    let z = tr.vk_percent / 100.0 / tr.sn_mva * k;
    let r = tr.vkr_percent / 100.0 / tr.sn_mva * k;
    let x = (z * z - r * r).sqrt();
    let (mut r, mut x) = (r / par, x / par);

    // Magnetising admittance on the LV bus base.
    let base_z = lv.vn_kv * lv.vn_kv / sn_mva;
    let pfe_mw = tr.pfe_kw * 1e-3;
    let ym_mva = tr.i0_percent / 100.0 * tr.sn_mva;
    let b_mva = -(ym_mva * ym_mva - pfe_mw * pfe_mw).max(0.0).sqrt();
    let scale = base_z * par / (tr.vn_lv_kv * tr.vn_lv_kv) / (vn_lv_t / tr.vn_lv_kv).powi(2);
    let (g, b) = (pfe_mw * scale, b_mva * scale);
    let (mut y_f, mut y_t) = (Complex64::new(0.0, 0.0), Complex64::new(0.0, 0.0));
    if g != 0.0 || b != 0.0 {
        // T → π (wye–delta), leakage split 50/50 between the windings.
        let za = Complex64::new(r, x) * 0.5;
        let zb = za;
        let zc = Complex64::new(1.0, 0.0) / Complex64::new(g, b);
        let zsum = za * zb + za * zc + zb * zc;
        let zab = zsum / zc;
        let zac = zsum / zb;
        let zbc = zsum / za;
        r = zab.re;
        x = zab.im;
        y_f = Complex64::new(1.0, 0.0) / zac;
        y_t = Complex64::new(1.0, 0.0) / zbc;
    }
    if x.is_nan() || x <= 0.0 {
        return Err(Error::invalid(
            loc(),
            format!("{}: non-positive series reactance {x} p.u.", tr.id),
        ));
    }
    Ok(Branch {
        element: BranchElement::Trafo(tr.id),
        from,
        to,
        r_pu: r,
        x_pu: x,
        y_sh_from_pu: y_f,
        y_sh_to_pu: y_t,
        tap: ratio,
        shift_rad: tr.shift_degree.to_radians(),
        rating: Rating::Trafo {
            sn_mva: tr.sn_mva,
            vn_hv_kv: tr.vn_hv_kv,
            vn_lv_kv: tr.vn_lv_kv,
            parallel_df: par * tr.df,
        },
    })
}
