//! Feeder topology on a petgraph graph of the electrical nodes: islands, radiality, leaves, paths
//! and depth from the slack.
//!
//! LV feeders are almost always radial (a tree rooted at the slack). Radiality is what makes the
//! path-based PTDF (entries 0 or ±1) and LinDistFlow exact, so [`Topology::is_radial`] is checked
//! rather than assumed; every method here also works on meshed grids (paths are then shortest in
//! hops, and the BFS tree is a spanning tree).

use super::electrical::{Grid, NodeIdx};
use super::{BusId, Network, SwitchElement};
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;
use std::collections::{HashMap, VecDeque};

/// One step of a path: a branch and whether it is walked from its `from` to its `to` node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStep {
    /// Branch index in [`Grid::branches`].
    pub branch: usize,
    /// `true` when walked from→to.
    pub forward: bool,
}

/// Topology of a [`Grid`].
#[derive(Debug, Clone)]
pub struct Topology {
    graph: UnGraph<NodeIdx, usize>,
    slack: NodeIdx,
    /// BFS parent node and the branch to it (`None` at the slack).
    parent: Vec<Option<(NodeIdx, usize)>>,
    depth: Vec<usize>,
    /// Nodes in BFS order from the slack (parents before children).
    order: Vec<NodeIdx>,
}

impl Topology {
    /// Builds the graph and the BFS tree from the slack.
    pub fn new(grid: &Grid) -> Topology {
        let n = grid.n_nodes();
        let mut graph = UnGraph::with_capacity(n, grid.branches.len());
        for k in 0..n {
            graph.add_node(k);
        }
        for (i, b) in grid.branches.iter().enumerate() {
            graph.add_edge(NodeIndex::new(b.from), NodeIndex::new(b.to), i);
        }
        let mut parent = vec![None; n];
        let mut depth = vec![usize::MAX; n];
        let mut order = Vec::with_capacity(n);
        let mut queue = VecDeque::new();
        depth[grid.slack] = 0;
        queue.push_back(grid.slack);
        while let Some(u) = queue.pop_front() {
            order.push(u);
            // Deterministic: visit edges in branch order.
            let mut edges: Vec<(usize, usize)> = graph
                .edges(NodeIndex::new(u))
                .map(|e| {
                    let other = if e.source().index() == u {
                        e.target().index()
                    } else {
                        e.source().index()
                    };
                    (*e.weight(), other)
                })
                .collect();
            edges.sort_unstable();
            for (br, v) in edges {
                if depth[v] == usize::MAX {
                    depth[v] = depth[u] + 1;
                    parent[v] = Some((u, br));
                    queue.push_back(v);
                }
            }
        }
        Topology {
            graph,
            slack: grid.slack,
            parent,
            depth,
            order,
        }
    }

    /// The petgraph graph (node weight = node index, edge weight = branch index).
    pub fn graph(&self) -> &UnGraph<NodeIdx, usize> {
        &self.graph
    }

    /// Number of connected components of the electrical model (1 after slack-reachability
    /// filtering; kept for networks built by other means).
    pub fn n_islands(&self) -> usize {
        petgraph::algo::connected_components(&self.graph)
    }

    /// A connected graph with `n − 1` branches: a tree, i.e. a radial feeder.
    pub fn is_radial(&self) -> bool {
        self.n_islands() == 1 && self.graph.edge_count() + 1 == self.graph.node_count()
    }

    /// Degree-1 nodes (leaves of the electrical graph), ascending.
    pub fn leaves(&self) -> Vec<NodeIdx> {
        self.graph
            .node_indices()
            .filter(|&v| self.graph.edges(v).count() == 1)
            .map(|v| v.index())
            .collect()
    }

    /// Hops from the slack.
    pub fn depth(&self, node: NodeIdx) -> usize {
        self.depth[node]
    }

    /// Largest depth in the feeder.
    pub fn max_depth(&self) -> usize {
        self.depth.iter().copied().max().unwrap_or(0)
    }

    /// BFS parent of a node and the branch leading to it (`None` at the slack).
    pub fn parent(&self, node: NodeIdx) -> Option<(NodeIdx, usize)> {
        self.parent[node]
    }

    /// Nodes in BFS order from the slack: every node comes after its parent.
    pub fn bfs_order(&self) -> &[NodeIdx] {
        &self.order
    }

    /// The slack node.
    pub fn slack(&self) -> NodeIdx {
        self.slack
    }

    /// Path from the slack down to `node` along the BFS tree, in walking order.
    pub fn path_from_slack(&self, grid: &Grid, node: NodeIdx) -> Vec<PathStep> {
        let mut steps = Vec::with_capacity(self.depth[node]);
        let mut v = node;
        while let Some((u, br)) = self.parent[v] {
            steps.push(PathStep {
                branch: br,
                forward: grid.branches[br].from == u,
            });
            v = u;
        }
        steps.reverse();
        steps
    }

    /// The path from `a` to `b`. On a radial feeder it is the unique path (through the lowest
    /// common ancestor); on a meshed grid the path through the BFS spanning tree.
    pub fn path(&self, grid: &Grid, a: NodeIdx, b: NodeIdx) -> Vec<PathStep> {
        let (mut u, mut v) = (a, b);
        let mut up = Vec::new(); // a → lca
        let mut down = Vec::new(); // lca → b (collected reversed)
        while self.depth[u] > self.depth[v] {
            let (p, br) = self.parent[u].expect("non-slack node has a parent");
            up.push(PathStep {
                branch: br,
                forward: grid.branches[br].from == u,
            });
            u = p;
        }
        while self.depth[v] > self.depth[u] {
            let (p, br) = self.parent[v].expect("non-slack node has a parent");
            down.push(PathStep {
                branch: br,
                forward: grid.branches[br].from == p,
            });
            v = p;
        }
        while u != v {
            let (pu, bu) = self.parent[u].expect("non-slack node has a parent");
            up.push(PathStep {
                branch: bu,
                forward: grid.branches[bu].from == u,
            });
            u = pu;
            let (pv, bv) = self.parent[v].expect("non-slack node has a parent");
            down.push(PathStep {
                branch: bv,
                forward: grid.branches[bv].from == pv,
            });
            v = pv;
        }
        down.reverse();
        up.extend(down);
        up
    }
}

/// Islands of the *user* model: groups of in-service buses joined by in-service lines, trafos
/// and closed switches (any impedance). Sorted by their first bus in file order.
pub fn bus_islands(net: &Network) -> Vec<Vec<BusId>> {
    let idx: HashMap<BusId, usize> = net
        .buses
        .iter()
        .enumerate()
        .filter(|(_, b)| b.in_service)
        .map(|(i, b)| (b.id, i))
        .collect();
    let mut uf = UnionFind::<usize>::new(net.buses.len());
    for (a, b) in user_edges(net) {
        if let (Some(&i), Some(&j)) = (idx.get(&a), idx.get(&b)) {
            uf.union(i, j);
        }
    }
    let mut groups: Vec<Vec<BusId>> = Vec::new();
    let mut root_group: HashMap<usize, usize> = HashMap::new();
    for (i, b) in net.buses.iter().enumerate() {
        if !b.in_service {
            continue;
        }
        let r = uf.find(i);
        let g = *root_group.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(b.id);
    }
    groups
}

/// Edges of the user-bus multigraph as pandapower's `create_nxgraph` inserts them: in-service
/// lines, then in-service trafos, then closed bus-bus switches.
fn user_edges(net: &Network) -> Vec<(BusId, BusId)> {
    let open_line: std::collections::HashSet<_> = net
        .switches
        .iter()
        .filter_map(|s| match s.element {
            SwitchElement::Line(l) if !s.closed => Some(l),
            _ => None,
        })
        .collect();
    let open_trafo: std::collections::HashSet<_> = net
        .switches
        .iter()
        .filter_map(|s| match s.element {
            SwitchElement::Trafo(t) if !s.closed => Some(t),
            _ => None,
        })
        .collect();
    let mut e = Vec::new();
    for l in &net.lines {
        if l.in_service && !open_line.contains(&l.id) {
            e.push((l.from_bus, l.to_bus));
        }
    }
    for t in &net.trafos {
        if t.in_service && !open_trafo.contains(&t.id) {
            e.push((t.hv_bus, t.lv_bus));
        }
    }
    for s in &net.switches {
        if let SwitchElement::Bus(o) = s.element {
            if s.closed {
                e.push((s.bus, o));
            }
        }
    }
    e
}

/// Degree-1 buses of the user-bus multigraph in pandapower/networkx *graph order* (the order in
/// which `create_nxgraph` first meets each bus: lines, then trafos, then switches, then isolated
/// buses). This is the list the SmartGridComm 2024 paper places its loads and PV on; in
/// `village_1` the 20 kV slack bus is a leaf and comes last.
pub fn leaf_buses_graph_order(net: &Network) -> Vec<BusId> {
    let in_service: std::collections::HashSet<BusId> = net
        .buses
        .iter()
        .filter(|b| b.in_service)
        .map(|b| b.id)
        .collect();
    let mut order: Vec<BusId> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut degree: HashMap<BusId, usize> = HashMap::new();
    for (a, b) in user_edges(net) {
        for x in [a, b] {
            if seen.insert(x) {
                order.push(x);
            }
        }
        if in_service.contains(&a) && in_service.contains(&b) {
            *degree.entry(a).or_default() += 1;
            *degree.entry(b).or_default() += 1;
        }
    }
    order
        .into_iter()
        .filter(|b| in_service.contains(b) && degree.get(b) == Some(&1))
        .collect()
}
