//! The case generator: random valid Flow IR graphs over `rep.probe`, `switch`, `finish` and
//! `dsl.emit`, with inputs and sometimes a cancel, whose outcome the model can tell without
//! knowing how fast the machine is. Deterministic: the same seed, index and settings give the
//! same case.
//!
//! Shape: nodes `n0`, `n1`, … in a topological order; each later node hangs under one or two
//! earlier ones (fan-outs, joins) or is another entry; `success`/`failure` edges leave probes,
//! case edges leave switches. Probes draw retries, `fail_times`, `fail`, timeouts (firing ones
//! ≥ 1 s shorter than the delay, others 30 s), short delays and outputs full of references;
//! switches key on inputs or on probe outputs; emits write keys of their own. A graph whose
//! outcome would be a race (a stop in a parallel branch) has its stops turned into plain
//! probes until the model can tell ([`crate::semantics::model`]).

use fastrand::Rng;
use serde_json::{Map, Value, json};

use crate::semantics::case::{Case, EMIT, FINISH, PROBE, SWITCH, case, failure, node, success};
use crate::semantics::model::{CANCEL_DELAY_MS, Graph, TIMING_MARGIN_MS, expect};

/// Values of `route` fields and switch case labels; `z` matches no case (the default).
const ROUTES: [&str; 4] = ["a", "b", "c", "z"];
/// Case labels of a switch.
const LABELS: [&str; 3] = ["a", "b", "c"];
/// The longest timeout that fires (a short one: a case waits for it on every attempt).
const FIRING_TIMEOUT_MS: u64 = 40;
/// The delay of a probe whose timeout fires.
const TIMED_OUT_DELAY_MS: u64 = FIRING_TIMEOUT_MS + TIMING_MARGIN_MS + 160;
/// The timeout of a probe whose timeout must not fire.
const GENEROUS_TIMEOUT_MS: u64 = 30_000;

/// What the generator may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The largest graph, in nodes (≥ 1).
    pub max_nodes: usize,
    /// The executor advertises `switch`.
    pub switch: bool,
    /// The executor advertises `finish`.
    pub finish: bool,
    /// The executor advertises `dsl.emit`.
    pub emit: bool,
}

impl Settings {
    /// Settings for an executor advertising `step_kinds` (which must include `rep.probe`).
    pub fn for_kinds(max_nodes: usize, step_kinds: &[String]) -> Settings {
        let has = |k: &str| step_kinds.iter().any(|s| s == k);
        Settings {
            max_nodes: max_nodes.max(1),
            switch: has(SWITCH),
            finish: has(FINISH),
            emit: has(EMIT),
        }
    }
}

/// The seed of case `index` of a run seeded `seed`.
pub fn case_seed(seed: u64, index: u64) -> u64 {
    seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Case `index` of the run seeded `seed`: a valid, determinate case.
pub fn generate(seed: u64, index: u64, settings: &Settings) -> Case {
    let mut rng = Rng::with_seed(case_seed(seed, index));
    loop {
        let mut case = draft(&mut rng, settings, &format!("fuzz-{index}"));
        if settle(&mut rng, &mut case) {
            return case;
        }
    }
}

/// A random graph; its stops may still race.
fn draft(rng: &mut Rng, settings: &Settings, name: &str) -> Case {
    let n = rng.usize(1..=settings.max_nodes);
    let kinds: Vec<&str> = (0..n).map(|i| pick_kind(rng, settings, i, n)).collect();
    let mut nodes: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| node(&format!("n{i}"), kind, json!({})))
        .collect();
    let mut edges = Vec::new();
    let mut labels: Vec<Vec<&str>> = vec![Vec::new(); n];
    for j in 1..n {
        if rng.u8(0..10) == 0 {
            continue; // another entry node
        }
        let parents = if j >= 2 && rng.u8(0..4) == 0 { 2 } else { 1 };
        let mut chosen = Vec::new();
        for _ in 0..parents {
            let p = rng.usize(0..j);
            if chosen.contains(&p) {
                continue;
            }
            chosen.push(p);
            let (from, to) = (format!("n{p}"), format!("n{j}"));
            match kinds[p] {
                PROBE if rng.u8(0..10) < 3 => edges.push(failure(&from, &to)),
                SWITCH => {
                    let free: Vec<&str> = LABELS
                        .iter()
                        .copied()
                        .filter(|l| !labels[p].contains(l))
                        .collect();
                    if let Some(&label) = free.get(rng.usize(0..free.len().max(1))) {
                        labels[p].push(label);
                        edges.push(case(&from, &to, label));
                    }
                }
                _ => edges.push(success(&from, &to)),
            }
        }
    }
    let mut case = Case::new(name, Vec::new(), edges);
    // A switch nobody hangs under becomes a probe.
    for (i, node) in nodes.iter_mut().enumerate() {
        if node.kind == SWITCH && labels[i].is_empty() {
            node.kind = PROBE.to_owned();
        }
    }
    case.nodes = nodes;
    case.inputs = json!({"route": pick(rng, &ROUTES), "k": literal(rng, 1)})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let probes_above = ancestors_by_kind(&case, PROBE);
    for (i, above) in probes_above.iter().enumerate() {
        let id = case.nodes[i].id.clone();
        match case.nodes[i].kind.as_str() {
            PROBE => fill_probe(rng, &mut case.nodes[i], above),
            SWITCH => {
                let targets: Vec<(String, String)> = case
                    .edges
                    .iter()
                    .filter(|e| e.from == id)
                    .filter_map(|e| Some((e.case.clone()?, e.to.clone())))
                    .collect();
                let cases: Map<String, Value> = targets
                    .iter()
                    .map(|(label, to)| (label.clone(), json!(to)))
                    .collect();
                let default = targets[rng.usize(0..targets.len())].0.clone();
                let key_from = match (rng.u8(0..5), above.is_empty()) {
                    (0, _) => "$input.missing".to_owned(),
                    (1 | 2, false) => {
                        let prefix = if rng.bool() { "$.vars." } else { "$step." };
                        format!("{prefix}{}.route", pick(rng, above))
                    }
                    _ => "$input.route".to_owned(),
                };
                case.nodes[i].with =
                    json!({"key_from": key_from, "cases": cases, "default": default})
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
            }
            EMIT => {
                let mut with = Map::new();
                for k in 0..rng.usize(1..=3) {
                    with.insert(format!("{id}_{k}"), value(rng, above, 2));
                }
                case.nodes[i].with = with;
            }
            _ => {}
        }
    }
    if rng.u8(0..5) == 0 {
        let probes: Vec<usize> = (0..n).filter(|&i| case.nodes[i].kind == PROBE).collect();
        if !probes.is_empty() {
            let i = probes[rng.usize(0..probes.len())];
            let node = &mut case.nodes[i];
            node.with
                .insert("delay_ms".into(), json!(CANCEL_DELAY_MS + rng.u64(0..=500)));
            node.timeout_ms = 0;
            case.cancel_at = Some(node.id.clone());
        }
    }
    case
}

fn pick_kind(rng: &mut Rng, settings: &Settings, i: usize, n: usize) -> &'static str {
    loop {
        let kind = match rng.u8(0..20) {
            0..=11 => PROBE,
            12..=14 => SWITCH,
            15..=17 => EMIT,
            _ => FINISH,
        };
        let allowed = match kind {
            SWITCH => settings.switch && i + 1 < n,
            EMIT => settings.emit,
            FINISH => settings.finish,
            _ => true,
        };
        if allowed {
            return kind;
        }
    }
}

fn fill_probe(rng: &mut Rng, node: &mut flow_ir::Node, above: &[String]) {
    let max = if rng.bool() { 0 } else { rng.u32(1..=3) };
    node.retry.max = max;
    node.retry.backoff_ms = if rng.u8(0..5) < 3 { 0 } else { rng.u64(1..=10) };
    let mut with = Map::new();
    let mut delay = if rng.u8(0..5) < 3 { 0 } else { rng.u64(1..=15) };
    match rng.u8(0..25) {
        0 | 1 => {
            node.timeout_ms = rng.u64(10..=FIRING_TIMEOUT_MS);
            delay = TIMED_OUT_DELAY_MS;
        }
        2 | 3 => node.timeout_ms = GENEROUS_TIMEOUT_MS,
        _ => {}
    }
    if delay > 0 {
        with.insert("delay_ms".into(), json!(delay));
    }
    if rng.u8(0..9) < 4 {
        with.insert("fail_times".into(), json!(rng.u32(1..=max + 1)));
    }
    if rng.u8(0..10) == 0 {
        with.insert("fail".into(), json!(true));
    }
    if rng.u8(0..5) < 4 {
        let mut output = Map::new();
        if rng.bool() {
            output.insert("route".into(), json!(pick(rng, &ROUTES)));
        }
        for k in 0..rng.usize(0..=2) {
            output.insert(format!("v{k}"), value(rng, above, 2));
        }
        with.insert("output".into(), Value::Object(output));
    }
    node.with = with;
}

/// A literal or a reference (to an input, to a probe above, or to nothing), nested up to
/// `depth` levels.
fn value(rng: &mut Rng, above: &[String], depth: u32) -> Value {
    match rng.u8(0..10) {
        0 | 1 => json!(pick(rng, &["$input.route", "$input.k", "$input.nope"])),
        2..=4 if !above.is_empty() => {
            let id = pick(rng, above);
            match rng.u8(0..5) {
                0 => json!(format!("$step.{id}")),
                1 => json!(format!("$.vars.{id}.route")),
                2 => json!(format!("$step.{id}.v0")),
                3 => json!(format!("$step.{id}.nope.deeper")),
                _ => json!(format!("$step.{id}.route")),
            }
        }
        5 => json!("$step.nosuch.x"),
        6 if depth > 0 => {
            json!({"x": value(rng, above, depth - 1), "y": [value(rng, above, depth - 1)]})
        }
        _ => literal(rng, depth),
    }
}

fn literal(rng: &mut Rng, depth: u32) -> Value {
    match rng.u8(0..6) {
        0 => json!(rng.i32(-100..=100)),
        1 => json!(rng.bool()),
        2 => Value::Null,
        3 if depth > 0 => json!([literal(rng, depth - 1), "s"]),
        4 => json!(rng.u16(0..1000) as f64 / 8.0),
        _ => json!(pick(rng, &ROUTES)),
    }
}

fn pick<T: Clone>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())].clone()
}

/// For each node, the ids of its ancestors of `kind`.
fn ancestors_by_kind(case: &Case, kind: &str) -> Vec<Vec<String>> {
    let Ok(graph) = Graph::new(case) else {
        return vec![Vec::new(); case.nodes.len()];
    };
    graph
        .ancestors
        .iter()
        .map(|above| {
            above
                .iter()
                .filter(|&&a| case.nodes[a].kind == kind)
                .map(|&a| case.nodes[a].id.clone())
                .collect()
        })
        .collect()
}

/// Turns stops into plain probes, one at a time in random order, until the model can tell
/// the outcome; false when it still cannot.
fn settle(rng: &mut Rng, case: &mut Case) -> bool {
    for _ in 0..=case.nodes.len() + 1 {
        if expect(case).is_ok() {
            return true;
        }
        if let Some(id) = case.cancel_at.take() {
            // Without its cancel, the long delay would only slow the case down.
            if let Some(node) = case.nodes.iter_mut().find(|n| n.id == id) {
                node.with.remove("delay_ms");
            }
            continue;
        }
        let stops: Vec<usize> = (0..case.nodes.len())
            .filter(|&i| could_stop(case, i))
            .collect();
        let Some(&i) = stops.get(rng.usize(0..stops.len().max(1))) else {
            return false;
        };
        let node = &mut case.nodes[i];
        if node.kind == FINISH {
            node.kind = PROBE.to_owned();
        }
        node.with.remove("fail");
        node.with.remove("fail_times");
        if node.timeout_ms > 0 && node.timeout_ms < GENEROUS_TIMEOUT_MS {
            node.timeout_ms = 0;
            node.with.remove("delay_ms");
        }
    }
    false
}

/// Whether node `i` may end the run: a `finish`, or a probe that may fail without a failure
/// edge.
fn could_stop(case: &Case, i: usize) -> bool {
    let node = &case.nodes[i];
    let handled = case
        .edges
        .iter()
        .any(|e| e.from == node.id && e.on == flow_ir::EdgeOn::Failure);
    match node.kind.as_str() {
        FINISH => true,
        PROBE if !handled => {
            node.with.contains_key("fail")
                || node.with.contains_key("fail_times")
                || (node.timeout_ms > 0 && node.timeout_ms < GENEROUS_TIMEOUT_MS)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_kinds(max_nodes: usize) -> Settings {
        Settings {
            max_nodes,
            switch: true,
            finish: true,
            emit: true,
        }
    }

    #[test]
    fn generated_cases_are_valid_determinate_and_repeatable() {
        let settings = all_kinds(8);
        let mut kinds = std::collections::BTreeSet::new();
        let (mut cancels, mut failed, mut completed) = (0, 0, 0);
        for index in 0..300 {
            let case = generate(7, index, &settings);
            assert_eq!(case, generate(7, index, &settings), "case {index}");
            assert!(case.nodes.len() <= 8);
            if let Err(e) = flow_ir::validate(&case.ir()) {
                panic!("case {index}: {e}\n{}", case.ir());
            }
            let expected = expect(&case).unwrap();
            kinds.extend(case.kinds());
            cancels += usize::from(case.cancel_at.is_some());
            match expected.status {
                crate::semantics::model::Status::Failed => failed += 1,
                crate::semantics::model::Status::Completed => completed += 1,
            }
        }
        assert_eq!(kinds.len(), 4, "{kinds:?}");
        assert!(cancels > 20, "{cancels} cancels in 300 cases");
        assert!(
            failed > 30 && completed > 100,
            "{failed} failed, {completed} completed"
        );
        assert_ne!(generate(7, 0, &settings), generate(8, 0, &settings));
    }

    #[test]
    fn only_advertised_kinds_are_used() {
        let settings = Settings {
            max_nodes: 6,
            switch: false,
            finish: false,
            emit: false,
        };
        for index in 0..100 {
            assert_eq!(generate(1, index, &settings).kinds(), ["rep.probe"]);
        }
    }
}
