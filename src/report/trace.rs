//! `--profile`: the build as a Chrome trace-event file (open it in Perfetto
//! or chrome://tracing): one complete event per action on the worker that
//! ran it, and the phases before scheduling on their own track.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Serialize)]
struct Event {
    name: String,
    cat: String,
    ph: &'static str,
    /// Microseconds since the build started.
    ts: f64,
    dur: f64,
    pid: u32,
    tid: usize,
    args: serde_json::Value,
}

#[derive(Default)]
pub struct Trace {
    events: Vec<Event>,
}

/// Track 0 holds the phases; workers are tracks 1..=N.
pub const PHASE_TRACK: usize = 0;

impl Trace {
    /// Adds a span: `start` and `seconds` in seconds since the build began.
    pub fn span(
        &mut self,
        name: &str,
        cat: &str,
        track: usize,
        start: f64,
        seconds: f64,
        args: serde_json::Value,
    ) {
        self.events.push(Event {
            name: name.to_string(),
            cat: cat.to_string(),
            ph: "X",
            ts: start * 1e6,
            dur: seconds * 1e6,
            pid: 1,
            tid: track,
            args,
        });
    }

    pub fn write(&self, path: &Path) -> Result<(), crate::fsutil::FsError> {
        let mut events: Vec<serde_json::Value> = vec![serde_json::json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": PHASE_TRACK, "args": {"name": "phases"}
        })];
        let workers: std::collections::BTreeSet<usize> = self
            .events
            .iter()
            .map(|e| e.tid)
            .filter(|t| *t != PHASE_TRACK)
            .collect();
        for w in workers {
            events.push(serde_json::json!({
                "name": "thread_name", "ph": "M", "pid": 1, "tid": w, "args": {"name": format!("worker {w}")}
            }));
        }
        events.extend(
            self.events
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok()),
        );
        let data = serde_json::to_vec(
            &serde_json::json!({ "traceEvents": events, "displayTimeUnit": "ms" }),
        )
        .unwrap_or_default();
        crate::fsutil::write_atomic(path, &data)
    }
}
