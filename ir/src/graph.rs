//! Cycle detection over the step graph (a check beyond Flow IR v1.0.0 rules 1–7: the reference
//! compiler emits acyclic graphs and executors walk them from the entry nodes).

use std::collections::HashMap;

use crate::model::FlowIr;

/// The first cycle in the graph of `ir`, as the node ids on it in edge order, starting with the
/// first of them met in a depth-first walk from the nodes in document order (e.g.
/// `["a", "b"]` for `a → b → a`, `["a"]` for a self-loop). `None` when the graph is acyclic.
/// Edges naming unknown nodes are ignored (rule 3 reports them).
pub fn find_cycle(ir: &FlowIr) -> Option<Vec<String>> {
    let nodes: Vec<&str> = ir.graph.nodes.iter().map(|n| n.id.as_str()).collect();
    let edges: Vec<(&str, &str)> = ir
        .graph
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    cycle_in(&nodes, &edges)
}

/// Depth-first search for a cycle over node ids `nodes` (first occurrence of a duplicate id
/// wins) and directed `edges` (from, to). Iterative, so deep graphs cannot overflow the stack.
pub(crate) fn cycle_in(nodes: &[&str], edges: &[(&str, &str)]) -> Option<Vec<String>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, id) in nodes.iter().enumerate() {
        index.entry(id).or_insert(i);
    }
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (from, to) in edges {
        if let (Some(&f), Some(&t)) = (index.get(from), index.get(to)) {
            successors[f].push(t);
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Stack of (node, next successor to look at); the stack is the current path.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            match successors[node].get(next) {
                Some(&succ) => {
                    top.1 += 1;
                    match mark[succ] {
                        Mark::New => {
                            mark[succ] = Mark::OnPath;
                            stack.push((succ, 0));
                        }
                        Mark::OnPath => {
                            let from = stack.iter().position(|&(n, _)| n == succ)?;
                            return Some(
                                stack[from..]
                                    .iter()
                                    .map(|&(n, _)| nodes[n].to_string())
                                    .collect(),
                            );
                        }
                        Mark::Done => {}
                    }
                }
                None => {
                    mark[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acyclic_graphs() {
        assert_eq!(
            cycle_in(&["a", "b", "c"], &[("a", "b"), ("a", "c"), ("b", "c")]),
            None
        );
        assert_eq!(cycle_in(&["a"], &[("a", "zz")]), None);
        assert_eq!(cycle_in(&[], &[]), None);
    }

    #[test]
    fn finds_cycles() {
        assert_eq!(
            cycle_in(
                &["a", "b", "c", "d"],
                &[("a", "b"), ("b", "c"), ("c", "d"), ("d", "b")]
            ),
            Some(vec!["b".into(), "c".into(), "d".into()])
        );
        assert_eq!(cycle_in(&["a"], &[("a", "a")]), Some(vec!["a".into()]));
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let ids: Vec<String> = (0..100_000).map(|i| format!("n{i}")).collect();
        let nodes: Vec<&str> = ids.iter().map(String::as_str).collect();
        let edges: Vec<(&str, &str)> = nodes.windows(2).map(|w| (w[0], w[1])).collect();
        assert_eq!(cycle_in(&nodes, &edges), None);
    }
}
