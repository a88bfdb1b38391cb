//! Shrinking a failing case: greedily take the first simpler variant that still fails, until
//! none does. Variants, most reducing first: without the cancel; without one node (its edges
//! dropped, or its one predecessor wired to its successors); without one edge; one node's
//! parameters back to their defaults; without one input. A variant must stay a valid Flow IR
//! document and determinate for the model, so shrinking never produces a case whose outcome
//! depends on timing.

use std::future::Future;

use flow_ir::EdgeOn;
use serde_json::{Map, Value, json};

use crate::semantics::case::{Case, PROBE, SWITCH};
use crate::semantics::model::expect;

/// How much work shrinking may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most executor runs.
    pub runs: usize,
}

/// What shrinking did.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// The smallest failing case found.
    pub case: Case,
    /// Variants run on the executor.
    pub runs: usize,
    /// Variants that still failed (each became the new smallest).
    pub steps: usize,
}

/// Shrinks `case`, which fails, with `fails` telling whether a variant still fails.
pub async fn shrink<F, Fut>(case: Case, mut fails: F, budget: Budget) -> Shrunk
where
    F: FnMut(Case) -> Fut,
    Fut: Future<Output = bool>,
{
    let mut shrunk = Shrunk {
        case,
        runs: 0,
        steps: 0,
    };
    'search: loop {
        for variant in variants(&shrunk.case) {
            if !admissible(&variant) {
                continue;
            }
            if shrunk.runs >= budget.runs {
                break 'search;
            }
            shrunk.runs += 1;
            if fails(variant.clone()).await {
                shrunk.case = variant;
                shrunk.steps += 1;
                continue 'search;
            }
        }
        break;
    }
    shrunk
}

/// Whether a variant may be run: a valid IR the model can tell the outcome of.
pub fn admissible(case: &Case) -> bool {
    !case.nodes.is_empty() && flow_ir::validate(&case.ir()).is_ok() && expect(case).is_ok()
}

/// The simpler variants of `case`, most reducing first.
pub fn variants(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    if case.cancel_at.is_some() {
        let mut v = case.clone();
        v.cancel_at = None;
        out.push(v);
    }
    for i in (0..case.nodes.len()).rev() {
        out.push(without_node(case, i));
        if let Some(v) = spliced(case, i) {
            out.push(v);
        }
    }
    for e in (0..case.edges.len()).rev() {
        let mut v = case.clone();
        v.edges.remove(e);
        let edge = &case.edges[e];
        drop_case(&mut v, &edge.from, edge.case.as_deref());
        out.push(v);
    }
    for i in 0..case.nodes.len() {
        out.extend(simpler_params(case, i));
    }
    for key in case.inputs.keys() {
        let mut v = case.clone();
        v.inputs.remove(key);
        out.push(v);
    }
    out.retain(|v| v != case);
    out
}

/// `case` without node `i` and its edges.
fn without_node(case: &Case, i: usize) -> Case {
    let id = case.nodes[i].id.clone();
    let mut v = case.clone();
    v.nodes.remove(i);
    let removed: Vec<_> = v
        .edges
        .iter()
        .filter(|e| e.to == id)
        .map(|e| (e.from.clone(), e.case.clone()))
        .collect();
    v.edges.retain(|e| e.from != id && e.to != id);
    for (from, label) in removed {
        drop_case(&mut v, &from, label.as_deref());
    }
    if v.cancel_at.as_deref() == Some(&id) {
        v.cancel_at = None;
    }
    v
}

/// `case` without node `i`, its only predecessor wired to its successors instead.
fn spliced(case: &Case, i: usize) -> Option<Case> {
    let id = &case.nodes[i].id;
    let incoming: Vec<_> = case.edges.iter().filter(|e| &e.to == id).collect();
    let outgoing: Vec<_> = case.edges.iter().filter(|e| &e.from == id).collect();
    let [entering] = incoming.as_slice() else {
        return None;
    };
    if outgoing.is_empty() || (entering.case.is_some() && outgoing.len() > 1) {
        return None;
    }
    let mut v = without_node(case, i);
    for out in outgoing {
        let mut wired = (*entering).clone();
        wired.to = out.to.clone();
        if let Some(label) = &wired.case {
            set_case(&mut v, &wired.from, label, &wired.to);
        }
        if !v.edges.iter().any(|e| {
            e.from == wired.from && e.to == wired.to && e.on == wired.on && e.case == wired.case
        }) {
            v.edges.push(wired);
        }
    }
    Some(v)
}

/// Removes case `label` from the switch `from` (after its edge went away); a switch left
/// without cases becomes a plain probe.
fn drop_case(case: &mut Case, from: &str, label: Option<&str>) {
    let Some(label) = label else { return };
    let Some(node) = case
        .nodes
        .iter_mut()
        .find(|n| n.id == from && n.kind == SWITCH)
    else {
        return;
    };
    if let Some(Value::Object(cases)) = node.with.get_mut("cases") {
        cases.remove(label);
        let first = cases.keys().next().cloned();
        match first {
            None => {
                node.kind = PROBE.to_owned();
                node.with = Map::new();
            }
            Some(first) => {
                if node.with.get("default").and_then(Value::as_str) == Some(label) {
                    node.with.insert("default".into(), json!(first));
                }
            }
        }
    }
}

fn set_case(case: &mut Case, from: &str, label: &str, to: &str) {
    if let Some(node) = case
        .nodes
        .iter_mut()
        .find(|n| n.id == from && n.kind == SWITCH)
        && let Some(Value::Object(cases)) = node.with.get_mut("cases")
    {
        cases.insert(label.to_owned(), json!(to));
    }
}

/// Node `i` with one parameter back to its default (each a variant).
fn simpler_params(case: &Case, i: usize) -> Vec<Case> {
    let node = &case.nodes[i];
    let mut out = Vec::new();
    let mut variant = |edit: &dyn Fn(&mut flow_ir::Node)| {
        let mut v = case.clone();
        edit(&mut v.nodes[i]);
        out.push(v);
    };
    if node.retry.max > 0 {
        variant(&|n| n.retry.max = 0);
        variant(&|n| n.retry.max -= 1);
    }
    if node.retry.backoff_ms > 0 {
        variant(&|n| n.retry.backoff_ms = 0);
    }
    if node.timeout_ms > 0 {
        variant(&|n| {
            n.timeout_ms = 0;
            n.with.remove("delay_ms");
        });
    }
    for key in ["fail", "fail_times", "delay_ms", "output"] {
        if node.kind == PROBE && node.with.contains_key(key) {
            variant(&|n| {
                n.with.remove(key);
            });
        }
    }
    if node.kind == PROBE
        && let Some(Value::Object(output)) = node.with.get("output")
        && output.len() > 1
    {
        for key in output.keys() {
            variant(&|n| {
                if let Some(Value::Object(o)) = n.with.get_mut("output") {
                    o.remove(key);
                }
            });
        }
    }
    if node.kind != PROBE && node.kind != SWITCH && node.with.len() > 1 {
        for key in node.with.keys() {
            variant(&|n| {
                n.with.remove(key);
            });
        }
    }
    if node.kind != PROBE && node.kind != SWITCH {
        // An emit or finish as a plain probe, keeping its edges.
        let failure_out = case
            .edges
            .iter()
            .any(|e| e.from == node.id && e.on == EdgeOn::Failure);
        if !failure_out {
            variant(&|n| {
                n.kind = PROBE.to_owned();
                n.with = Map::new();
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::generate::{Settings, generate};
    use crate::semantics::case::{case, node, probe, success, switch};

    #[test]
    fn variants_of_generated_cases_are_mostly_admissible_and_always_simpler() {
        let settings = Settings {
            max_nodes: 8,
            switch: true,
            finish: true,
            emit: true,
        };
        let (mut admitted, mut total) = (0, 0);
        for index in 0..60 {
            let case = generate(3, index, &settings);
            for v in variants(&case) {
                total += 1;
                admitted += usize::from(admissible(&v));
                assert!(v.nodes.len() <= case.nodes.len());
            }
        }
        assert!(admitted * 2 > total, "{admitted} of {total} admissible");
    }

    #[test]
    fn removing_a_switch_target_keeps_the_switch_valid() {
        let c = Case::new(
            "t",
            vec![
                switch("s", "$input.r", &[("a", "x"), ("b", "y")], "a"),
                probe("x", json!({})),
                probe("y", json!({})),
            ],
            vec![case("s", "x", "a"), case("s", "y", "b")],
        );
        let v = without_node(&c, 1);
        assert!(admissible(&v), "{}", v.ir());
        assert_eq!(v.nodes[0].with["default"], "b");
        let lone = without_node(&v, 1);
        assert_eq!(lone.nodes[0].kind, PROBE);
    }

    #[tokio::test]
    async fn shrinking_keeps_what_makes_the_case_fail() {
        // "Fails" while the case still has a node with retry.max ≥ 2.
        let c = Case::new(
            "t",
            vec![
                probe("a", json!({"output": {"v": 1}})),
                crate::semantics::case::retried(probe("b", json!({"fail_times": 2})), 3, 5),
                node(
                    "e",
                    crate::semantics::case::EMIT,
                    json!({"e_v": "$step.a.v"}),
                ),
            ],
            vec![success("a", "b"), success("b", "e")],
        );
        let shrunk = shrink(
            c,
            |v: Case| async move { v.nodes.iter().any(|n| n.retry.max >= 2) },
            Budget { runs: 500 },
        )
        .await;
        assert_eq!(shrunk.case.nodes.len(), 1, "{}", shrunk.case.ir());
        assert_eq!(shrunk.case.nodes[0].retry.max, 2);
        assert_eq!(shrunk.case.nodes[0].retry.backoff_ms, 0);
        assert!(shrunk.case.nodes[0].with.is_empty());
        assert!(shrunk.case.inputs.is_empty());
    }
}
