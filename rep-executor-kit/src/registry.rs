//! The runs of one executor process, by run id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::run::RunHandle;

/// Every run started in this process. Runs are independent; finished runs stay so that a
/// late Poll or Cancel still gets an answer.
#[derive(Default)]
pub(crate) struct RunRegistry {
    runs: Mutex<HashMap<String, Arc<RunHandle>>>,
}

impl RunRegistry {
    /// Registers a new run; `None` when the id is taken.
    pub(crate) fn insert(&self, id: String) -> Option<Arc<RunHandle>> {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        if runs.contains_key(&id) {
            return None;
        }
        let run = Arc::new(RunHandle::new(id.clone()));
        runs.insert(id, run.clone());
        Some(run)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<RunHandle>> {
        self.runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    /// Cancels every run that is still going (the host session that started them is gone).
    pub(crate) fn cancel_all(&self) {
        let runs: Vec<_> = self
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for run in runs {
            run.cancel();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.runs.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
