//! The graph of a run as the scheduler walks it (Flow IR dialect, "Entry"): each node's
//! outgoing edges, and which incoming edges are decided so far.
//!
//! An edge is *decided* when its `from` node ends: taken or not taken (see [`Route`]). A node
//! whose incoming edges are all decided is *ready* when at least one was taken, else
//! *skipped*: its own edges are decided not taken in turn (dead-path elimination). So a join
//! becomes ready once, after every predecessor on a taken path ended.
//!
//! Memory is a few integers per node and per edge: the node ids and `with` values stay in the
//! shared [`FlowIr`], and only the outputs some `with` references are kept (see
//! [`Graph::keeps_output`]).
//!
//! [`Route`]: crate::control::Route

use std::collections::{HashMap, HashSet, VecDeque};

use flow_ir::FlowIr;

use crate::control::Control;
use crate::resolve::step_references;

/// What never changes during a run: edges by source node, incoming counts, node controls.
pub(crate) struct Graph {
    /// Node `n`'s outgoing edges are `by_source[starts[n]..starts[n + 1]]` (edge indexes).
    starts: Vec<usize>,
    by_source: Vec<usize>,
    /// Per edge: the index of its `to` node.
    target: Vec<usize>,
    /// Per node: how many edges enter it.
    in_degree: Vec<usize>,
    /// Per node: its part in routing.
    control: Vec<Control>,
    /// Per node: whether some `with` references its output.
    keep_output: Vec<bool>,
}

impl Graph {
    /// Indexes a validated flow (every edge's ends exist).
    pub(crate) fn new(flow: &FlowIr) -> Graph {
        let nodes = &flow.graph.nodes;
        let index: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let ends: Vec<(usize, usize)> = flow
            .graph
            .edges
            .iter()
            .map(|e| (index[e.from.as_str()], index[e.to.as_str()]))
            .collect();
        let mut starts = vec![0; nodes.len() + 1];
        let mut in_degree = vec![0; nodes.len()];
        for &(from, to) in &ends {
            starts[from + 1] += 1;
            in_degree[to] += 1;
        }
        for n in 0..nodes.len() {
            starts[n + 1] += starts[n];
        }
        let mut filled = starts.clone();
        let mut by_source = vec![0; ends.len()];
        for (e, &(from, _)) in ends.iter().enumerate() {
            by_source[filled[from]] = e;
            filled[from] += 1;
        }
        Graph {
            starts,
            by_source,
            target: ends.iter().map(|&(_, to)| to).collect(),
            in_degree,
            control: nodes.iter().map(|n| Control::of(&n.kind)).collect(),
            keep_output: referenced_outputs(flow),
        }
    }

    /// The indexes of the edges leaving `node`, in document order.
    pub(crate) fn out_edges(&self, node: usize) -> &[usize] {
        &self.by_source[self.starts[node]..self.starts[node + 1]]
    }

    /// The node's part in routing.
    pub(crate) fn control(&self, node: usize) -> Control {
        self.control[node]
    }

    /// Whether a `with` of the flow references the node's output (`$step.<id>…`,
    /// `$.vars.<id>…`): the output of any other node is never read, so it is not kept.
    pub(crate) fn keeps_output(&self, node: usize) -> bool {
        self.keep_output[node]
    }
}

/// Per node: whether the id is a step reference's id, for every way of splitting the
/// reference's path (ids may contain dots, and the longest known id wins at resolution).
fn referenced_outputs(flow: &FlowIr) -> Vec<bool> {
    let mut prefixes: HashSet<&str> = HashSet::new();
    for node in &flow.graph.nodes {
        for value in node.with.values() {
            step_references(value, &mut |path| {
                prefixes.insert(path);
                prefixes.extend(path.match_indices('.').map(|(dot, _)| &path[..dot]));
            });
        }
    }
    flow.graph
        .nodes
        .iter()
        .map(|n| prefixes.contains(n.id.as_str()))
        .collect()
}

/// Which incoming edges of each node are decided, and the nodes ready to start, in the
/// order they became ready.
pub(crate) struct Frontier {
    /// Per node: incoming edges not decided yet.
    undecided: Vec<usize>,
    /// Per node: whether a decided incoming edge was taken.
    taken: Vec<bool>,
    ready: VecDeque<usize>,
    /// Edges still to decide within one [`Frontier::decide`] (kept to reuse its memory).
    pending: Vec<(usize, bool)>,
}

impl Frontier {
    /// The start of a run: the nodes without incoming edges are ready, in document order.
    pub(crate) fn new(graph: &Graph) -> Frontier {
        let ready = (0..graph.in_degree.len())
            .filter(|&n| graph.in_degree[n] == 0)
            .collect();
        Frontier {
            undecided: graph.in_degree.clone(),
            taken: vec![false; graph.in_degree.len()],
            ready,
            pending: Vec::new(),
        }
    }

    /// Decides edge `edge`: its target becomes ready, or is skipped, once its last incoming
    /// edge is decided; a skipped node's edges are decided not taken, and so on.
    pub(crate) fn decide(&mut self, graph: &Graph, edge: usize, taken: bool) {
        self.pending.push((edge, taken));
        while let Some((edge, taken)) = self.pending.pop() {
            let to = graph.target[edge];
            self.undecided[to] -= 1;
            self.taken[to] |= taken;
            if self.undecided[to] == 0 {
                if self.taken[to] {
                    self.ready.push_back(to);
                } else {
                    let skipped = graph.out_edges(to).iter().map(|&e| (e, false));
                    self.pending.extend(skipped);
                }
            }
        }
    }

    /// The node that became ready first and has not started yet.
    pub(crate) fn next_ready(&mut self) -> Option<usize> {
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A flow of `echo` nodes with these ids, `with` and edges `(from, to)`.
    fn flow(nodes: &[(&str, Value)], edges: &[(&str, &str)]) -> FlowIr {
        use flow_ir::build::{document, edge, node};
        let nodes = nodes
            .iter()
            .map(|(id, with)| node(id, "echo", with.clone()));
        let edges = edges.iter().map(|(from, to)| edge(from, to));
        let ir = document("t", nodes.collect(), edges.collect());
        flow_ir::validate(&ir).unwrap_or_else(|e| panic!("{e}"))
    }

    fn drain(frontier: &mut Frontier) -> Vec<usize> {
        std::iter::from_fn(|| frontier.next_ready()).collect()
    }

    #[test]
    fn a_join_is_ready_once_after_every_taken_predecessor_and_dead_paths_are_skipped() {
        // a → b, a → c, b → d, c → d (join), c → e → f
        let ids = ["a", "b", "c", "d", "e", "f"];
        let nodes: Vec<(&str, Value)> = ids.iter().map(|id| (*id, json!({}))).collect();
        let edges = [
            ("a", "b"),
            ("a", "c"),
            ("b", "d"),
            ("c", "d"),
            ("c", "e"),
            ("e", "f"),
        ];
        let flow = flow(&nodes, &edges);
        let graph = Graph::new(&flow);
        let mut frontier = Frontier::new(&graph);
        assert_eq!(drain(&mut frontier), [0], "a is the only entry");
        assert_eq!(graph.out_edges(0), [0, 1]);
        frontier.decide(&graph, 0, true);
        frontier.decide(&graph, 1, false);
        // c is skipped, so are e and f; d waits for b.
        assert_eq!(drain(&mut frontier), [1]);
        frontier.decide(&graph, 2, true);
        assert_eq!(drain(&mut frontier), [3], "the join, once");
    }

    #[test]
    fn only_referenced_outputs_are_kept_whatever_dots_the_ids_hold() {
        let flow = flow(
            &[
                ("read", json!({})),
                ("ns", json!({})),
                ("ns.step", json!({})),
                ("unused", json!({})),
                (
                    "use",
                    json!({"a": ["$step.read.values.x"], "b": {"c": " $.vars.ns.step.x"},
                           "d": "$input.unused", "e": "text $step.unused"}),
                ),
            ],
            &[],
        );
        let graph = Graph::new(&flow);
        let kept: Vec<bool> = (0..5).map(|n| graph.keeps_output(n)).collect();
        assert_eq!(kept, [true, true, true, false, false]);
    }
}
