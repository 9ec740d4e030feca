//! What the user sees: progress while building, the final summary line, the
//! compiler's messages, and the machine-readable summary (`--summary-json`,
//! documented in docs/summary-json.md).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::plan::{ActionKind, Plan};
use crate::schedule::{Observer, Outcome, Record, Run};

/// Progress: a bar on a terminal, one line per executed action otherwise.
pub struct Progress<'a> {
    plan: &'a Plan,
    bar: Option<ProgressBar>,
    done: AtomicUsize,
    running: Mutex<Vec<NodeIndex>>,
    quiet: bool,
}

fn describe(plan: &Plan, node: NodeIndex) -> String {
    let a = &plan.graph[node];
    format!("{} {} ({})", a.kind, a.package, a.platform)
}

impl<'a> Progress<'a> {
    pub fn new(plan: &'a Plan, quiet: bool) -> Progress<'a> {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(plan.graph.node_count() as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} actions {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            plan,
            bar,
            done: AtomicUsize::new(0),
            running: Mutex::new(Vec::new()),
            quiet,
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn show_running(&self) {
        if let (Some(bar), Ok(running)) = (&self.bar, self.running.lock()) {
            let names: Vec<String> = running
                .iter()
                .take(3)
                .map(|n| describe(self.plan, *n))
                .collect();
            bar.set_message(names.join(", "));
        }
    }
}

impl Observer for Progress<'_> {
    fn started(&self, node: NodeIndex) {
        if let Ok(mut r) = self.running.lock() {
            r.push(node);
        }
        self.show_running();
    }

    fn finished(&self, node: NodeIndex, record: &Record) {
        if let Ok(mut r) = self.running.lock() {
            r.retain(|n| *n != node);
        }
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let line = match record.outcome {
            Outcome::Executed => Some(format!(
                "[{done}/{}] {} {:.2}s",
                self.plan.graph.node_count(),
                describe(self.plan, node),
                record.seconds
            )),
            Outcome::Failed => Some(format!("FAILED {}", describe(self.plan, node))),
            _ => None,
        };
        match &self.bar {
            Some(bar) => {
                bar.set_position(done as u64);
                if let (Some(l), Outcome::Failed) = (&line, &record.outcome) {
                    bar.println(l);
                }
            }
            None => {
                if let Some(l) = line {
                    if !self.quiet {
                        eprintln!("{l}");
                    }
                }
            }
        }
        // Tool messages (warnings too) are shown as the tool printed them.
        if !record.output.trim().is_empty() && !matches!(record.outcome, Outcome::Cached) {
            match &self.bar {
                Some(bar) => bar.println(record.output.trim_end()),
                None => eprintln!("{}", record.output.trim_end()),
            }
        }
        self.show_running();
    }
}

#[derive(Debug, Serialize)]
pub struct ActionCounts {
    pub total: usize,
    pub executed: usize,
    pub cached: usize,
    pub failed: usize,
    pub not_run: usize,
}

#[derive(Debug, Serialize)]
pub struct OutputSummary {
    pub label: String,
    pub platform: String,
    pub path: String,
    pub sha256: String,
    pub blake3: String,
}

#[derive(Debug, Serialize)]
pub struct ActionSummary {
    pub kind: ActionKind,
    pub package: String,
    pub platform: String,
    pub key: String,
    pub cached: bool,
    pub outcome: &'static str,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct SkippedSummary {
    pub label: String,
    pub platform: String,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub success: bool,
    pub toolchain: String,
    pub platforms: Vec<String>,
    pub actions: ActionCounts,
    pub outputs: Vec<OutputSummary>,
    pub skipped: Vec<SkippedSummary>,
    pub seconds: f64,
    pub action_list: Vec<ActionSummary>,
}

pub fn counts(run: &Run) -> ActionCounts {
    let count = |f: fn(&Outcome) -> bool| run.records.iter().filter(|r| f(&r.outcome)).count();
    ActionCounts {
        total: run.records.len(),
        executed: count(|o| matches!(o, Outcome::Executed)),
        cached: count(|o| matches!(o, Outcome::Cached)),
        failed: count(|o| matches!(o, Outcome::Failed)),
        not_run: count(|o| matches!(o, Outcome::NotRun)),
    }
}

pub fn action_list(plan: &Plan, run: &Run) -> Vec<ActionSummary> {
    run.records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = &plan.graph[NodeIndex::new(i)];
            ActionSummary {
                kind: a.kind,
                package: a.package.clone(),
                platform: a.platform.to_string(),
                key: r.key.map(|k| k.to_hex()).unwrap_or_default(),
                cached: matches!(r.outcome, Outcome::Cached),
                outcome: match r.outcome {
                    Outcome::NotRun => "not_run",
                    Outcome::Cached => "cached",
                    Outcome::Executed => "executed",
                    Outcome::Failed => "failed",
                },
                seconds: r.seconds,
            }
        })
        .collect()
}

/// `built 3 targets for linux/amd64: 214 actions, 2 executed, 212 cached, 0.4 s`
pub fn final_line(plan: &Plan, platforms: &[String], run: &Run, seconds: f64) -> String {
    let c = counts(run);
    let targets = plan.targets.len();
    let libs = plan.libraries;
    let mut what = format!("{targets} target{}", if targets == 1 { "" } else { "s" });
    if libs > 0 {
        what.push_str(&format!(
            " and {libs} package{}",
            if libs == 1 { "" } else { "s" }
        ));
    }
    format!(
        "built {what} for {}: {} actions, {} executed, {} cached, {seconds:.1} s",
        platforms.join(", "),
        c.total,
        c.executed,
        c.cached
    )
}
