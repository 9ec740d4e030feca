//! What the user sees: progress while building, the final summary line, the
//! compiler's messages, and the machine-readable summary (`--summary-json`,
//! documented in docs/summary-json.md).

pub mod junit;
pub mod test2json;
pub mod trace;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::explain::MissReason;
use crate::plan::{ActionKind, Plan};
use crate::rules::Platform;
use crate::schedule::{Observer, Origin, Outcome, Record, Run};

/// Progress: a bar on a terminal, one line per executed action otherwise.
pub struct Progress<'a> {
    plan: &'a Plan,
    bar: Option<ProgressBar>,
    done: AtomicUsize,
    running: Mutex<Vec<NodeIndex>>,
    quiet: bool,
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
                .map(|n| self.plan.describe(*n))
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
        // gobuildr test reports test runs itself, as go test does.
        if self.plan.graph[node].kind == ActionKind::TestRun {
            if let Some(bar) = &self.bar {
                bar.set_position(done as u64);
            }
            return self.show_running();
        }
        let line = match record.outcome {
            Outcome::Executed => Some(format!(
                "[{done}/{}] {} {:.2}s",
                self.plan.graph.node_count(),
                self.plan.describe(node),
                record.seconds
            )),
            Outcome::Failed => Some(format!("FAILED {}", self.plan.describe(node))),
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
        // Tool messages (warnings too) are shown as the tool printed them;
        // under go test's output, a failure's after go's header.
        if !record.output.trim().is_empty() && !matches!(record.outcome, Outcome::Cached) {
            let header = match (&record.outcome, self.quiet) {
                (Outcome::Failed, true) => go_header(&self.plan.graph[node]),
                _ => String::new(),
            };
            let text = format!("{header}{}", record.output.trim_end());
            match &self.bar {
                Some(bar) => bar.println(text),
                None => eprintln!("{text}"),
            }
        }
        self.show_running();
    }
}

/// The lines go prints above a failed tool's output: `# p [p.test]` for a
/// compile; for vet, which go describes by the path the tools see, that
/// path and, for a test variant, the path again in brackets.
pub fn go_header(action: &crate::plan::Action) -> String {
    let tool = crate::discover::tool_path(&action.package);
    match action.kind {
        ActionKind::Vet if tool != action.package => format!("# {tool}\n# [{tool}]\n"),
        _ => format!("# {}\n", action.package),
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

#[derive(Debug, Serialize, Deserialize)]
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
    /// Where the result came from: local-cache, remote-cache, local or
    /// remote (null when not run).
    pub source: Option<Origin>,
    pub seconds: f64,
    /// Why it ran (empty when cached).
    pub reasons: Vec<MissReason>,
}

/// One platform's share of the build.
#[derive(Debug, Serialize)]
pub struct PlatformSummary {
    pub platform: String,
    pub actions: ActionCounts,
    pub targets: usize,
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub success: bool,
    /// The Go version that built everything, where it came from, and its
    /// identity digest (part of every key).
    pub toolchain: String,
    pub toolchain_origin: String,
    pub toolchain_host: String,
    pub toolchain_id: String,
    pub platforms: Vec<String>,
    pub actions: ActionCounts,
    pub per_platform: Vec<PlatformSummary>,
    pub outputs: Vec<OutputSummary>,
    pub seconds: f64,
    /// Child processes started (go env, go list, tools); 0 on a no-op.
    pub processes_spawned: usize,
    /// Files read and hashed because their stat changed or was unknown.
    pub files_hashed: usize,
    pub action_list: Vec<ActionSummary>,
    /// What the remote cache and executor did (absent when not used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<crate::remote::RemoteSummary>,
    /// `gobuildr test`: each package's verdict (absent for a build).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestSummary>,
    /// Where the wall time went.
    pub breakdown: TimeBreakdown,
}

/// Where a build's wall time went: the phases before any action (each
/// `[name, start, seconds]`), the actions' own phases summed over every
/// action looked up or run, and the workers' idle time while the graph
/// ran (waiting on the critical path, or on too few ready actions).
#[derive(Debug, Serialize)]
pub struct TimeBreakdown {
    pub before_actions: Vec<(&'static str, f64, f64)>,
    pub actions: crate::schedule::Breakdown,
    /// From the first action's start to the last one's end.
    pub schedule_seconds: f64,
    pub workers: usize,
    pub idle_worker_seconds: f64,
}

/// The breakdown of a run after `phases` (its workers: those that took
/// up an action).
pub fn time_breakdown(run: &Run, phases: &[(&'static str, f64, f64)]) -> TimeBreakdown {
    let mut actions = crate::schedule::Breakdown::default();
    let (mut first, mut last, mut busy) = (f64::MAX, 0.0f64, 0.0);
    let mut workers = std::collections::BTreeSet::new();
    for r in run
        .records
        .iter()
        .filter(|r| !matches!(r.outcome, Outcome::NotRun))
    {
        actions.add(&r.breakdown);
        workers.insert(r.worker);
        first = first.min(r.started);
        last = last.max(r.started + r.seconds);
        busy += r.seconds;
    }
    let wall = if first == f64::MAX { 0.0 } else { last - first };
    TimeBreakdown {
        before_actions: phases.to_vec(),
        actions,
        schedule_seconds: wall,
        workers: workers.len(),
        idle_worker_seconds: (workers.len() as f64 * wall - busy).max(0.0),
    }
}

/// One package's test verdict on one platform.
#[derive(Debug, Serialize)]
pub struct TestSummary {
    pub package: String,
    pub platform: String,
    /// `ok`, `fail`, `build-failed` or `no-test-files`.
    pub status: &'static str,
    pub cached: bool,
    pub seconds: f64,
}

/// What another gobuildr's `--summary-json` says about the toolchain and
/// the outputs: the part of [`Summary`] that verify reads back.
#[derive(Debug, Deserialize)]
pub struct BuiltSummary {
    pub toolchain: String,
    pub toolchain_host: String,
    pub toolchain_id: String,
    pub platforms: Vec<String>,
    pub outputs: Vec<OutputSummary>,
}

/// Counts of the actions for which `select(node)` holds.
pub fn counts(run: &Run, select: impl Fn(NodeIndex) -> bool) -> ActionCounts {
    let picked: Vec<&Record> = run
        .records
        .iter()
        .enumerate()
        .filter(|(i, _)| select(NodeIndex::new(*i)))
        .map(|(_, r)| r)
        .collect();
    let count = |f: fn(&Outcome) -> bool| picked.iter().filter(|r| f(&r.outcome)).count();
    ActionCounts {
        total: picked.len(),
        executed: count(|o| matches!(o, Outcome::Executed)),
        cached: count(|o| matches!(o, Outcome::Cached)),
        failed: count(|o| matches!(o, Outcome::Failed)),
        not_run: count(|o| matches!(o, Outcome::NotRun)),
    }
}

pub fn action_list(
    plan: &Plan,
    run: &Run,
    reasons: &BTreeMap<NodeIndex, Vec<MissReason>>,
) -> Vec<ActionSummary> {
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
                    Outcome::WouldRun => "would_run",
                },
                source: r.origin,
                seconds: r.seconds,
                reasons: reasons.get(&NodeIndex::new(i)).cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// Per platform, in the order given.
pub fn per_platform(plan: &Plan, platforms: &[Platform], run: &Run) -> Vec<PlatformSummary> {
    platforms
        .iter()
        .map(|p| PlatformSummary {
            platform: p.to_string(),
            actions: counts(run, |n| plan.graph[n].platform == *p),
            targets: plan.targets.iter().filter(|t| t.platform == *p).count(),
            skipped: plan
                .skipped
                .iter()
                .filter(|s| s.platform == *p)
                .map(|s| s.label.clone())
                .collect(),
        })
        .collect()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// `built 3 targets for linux/amd64: 214 actions, 2 executed, 212 cached, 0.4 s`,
/// one line per platform, and a total line when there are several.
pub fn final_lines(per_platform: &[PlatformSummary], run: &Run, seconds: f64) -> Vec<String> {
    let line = |targets: usize, what: &str, c: &ActionCounts| {
        format!(
            "built {} for {what}: {}, {} executed, {} cached",
            plural(targets, "target"),
            plural(c.total, "action"),
            c.executed,
            c.cached
        )
    };
    let mut lines: Vec<String> = per_platform
        .iter()
        .map(|p| line(p.targets, &p.platform, &p.actions))
        .collect();
    if per_platform.len() > 1 {
        let targets = per_platform.iter().map(|p| p.targets).sum();
        lines.push(line(
            targets,
            &plural(per_platform.len(), "platform"),
            &counts(run, |_| true),
        ));
    }
    if let Some(last) = lines.last_mut() {
        last.push_str(&format!(", {seconds:.1} s"));
    }
    lines
}
