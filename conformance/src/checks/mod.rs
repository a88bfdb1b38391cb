//! The bodies of the catalogue's tests, one module per area, and what they share.

pub mod cancel;
pub mod framing;
pub mod lifecycle;
pub mod process;
pub mod rpc;
pub mod runs;
pub mod semantics;
pub mod start;
pub mod wire;

use rep_host::Tap;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::conn::{Connection, Target};
use crate::flows::{Expect, Flow};
use crate::recording::TestRecording;
use crate::verdict::{Failure, Skip};
use crate::wire::FrameLog;

/// What the suite learnt before the tests: the executor's capabilities and the flows it can
/// be asked to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The `Runtime.Capabilities` result of a first probe, when it answered with an object.
    pub capabilities: Option<Map<String, Value>>,
    /// The advertised step kinds (empty when unknown).
    pub step_kinds: Vec<String>,
    /// The built-in flows the advertised kinds allow, then the fixtures.
    pub flows: Vec<Flow>,
}

impl Plan {
    /// Flows that run to their end quickly (every flow but the long-running ones).
    pub fn runnable(&self) -> Vec<&Flow> {
        self.flows.iter().filter(|f| !f.long_running).collect()
    }

    /// Runnable flows expected to end with `expect`.
    pub fn expecting(&self, expect: Expect) -> Vec<&Flow> {
        self.runnable()
            .into_iter()
            .filter(|f| f.expect == expect)
            .collect()
    }

    /// The first runnable flow expected to complete.
    ///
    /// # Errors
    /// A skip when there is none.
    pub fn completing(&self) -> Result<&Flow, Skip> {
        self.expecting(Expect::Completed)
            .into_iter()
            .next()
            .ok_or_else(|| self.no_flow("a flow that completes"))
    }

    /// Every runnable flow.
    ///
    /// # Errors
    /// A skip when there is none.
    pub fn all_runnable(&self) -> Result<Vec<&Flow>, Skip> {
        let flows = self.runnable();
        if flows.is_empty() {
            return Err(self.no_flow("a flow to run"));
        }
        Ok(flows)
    }

    /// Whether the executor advertises step kind `kind`.
    pub fn advertises(&self, kind: &str) -> bool {
        self.step_kinds.iter().any(|k| k == kind)
    }

    /// A step kind the executor advertises (`finish` when none is known).
    pub fn advertised_kind(&self) -> &str {
        if self.advertises("finish") {
            return "finish";
        }
        self.step_kinds.first().map_or("finish", String::as_str)
    }

    /// The skip of a test that needs `what` and has no flow for it.
    pub fn no_flow(&self, what: &str) -> Skip {
        let hint = if self.advertises("finish") {
            "give --fixtures DIR with a flow the executor runs".to_owned()
        } else {
            "advertise the control kind `finish` (the built-in flows use it), or give --fixtures DIR with a flow the executor runs".to_owned()
        };
        Skip::new(format!("no runnable flow (needs {what})"), hint)
    }
}

/// What a test body sees: the executor, the plan, and its deadline.
pub struct Ctx<'a> {
    /// The executor under test.
    pub target: &'a Target,
    /// What the probe learnt.
    pub plan: &'a Plan,
    /// When the test's time budget ends.
    pub deadline: Instant,
    /// Where its sessions are recorded (`run --record DIR`), if anywhere.
    pub recording: Option<&'a TestRecording>,
    /// The test's id.
    pub test: &'static str,
    /// Every frame of the suite run (REP-WIRE-001).
    pub frames: &'a FrameLog,
}

impl Ctx<'_> {
    /// A fresh executor process for this test.
    ///
    /// # Errors
    /// When it cannot be started.
    pub fn connect(&self) -> Result<Connection, Failure> {
        let tap = self
            .recording
            .map_or_else(Tap::none, |r| r.next(self.target));
        let mut conn = Connection::spawn(self.target, self.deadline, &tap)?;
        conn.tap(self.frames.tap(self.test));
        Ok(conn)
    }
}

/// An IR the executor could run but for what a test changes: the first runnable flow's, else
/// a one-node flow of an advertised kind.
pub fn flows_for_errors(plan: &Plan) -> Value {
    plan.runnable().first().map_or_else(
        || crate::flows::single(plan.advertised_kind()),
        |f| f.ir.clone(),
    )
}

/// `1 flow`, `2 flows`: a count with its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
