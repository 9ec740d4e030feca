//! Parallel execution of the action graph.
//!
//! Ready actions start longest-path-first (the path to the end of the graph,
//! weighted by kind, so runtime and the big std packages go first). Each
//! action's key is computed when its dependencies are done, from the digests
//! of what they produced; a key found in the action cache is a hit,
//! anything else runs in the sandbox. Failure stops new work unless
//! `keep_going`; an interrupt kills the running tools. The cache stays
//! consistent in every case because it only ever sees complete entries.

use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::cache::{ActionEntry, OutputEntry};
use crate::digest::{ActionKey, FileDigest};
use crate::exec::Executor;
use crate::plan::{ActionKind, Plan, Source};

/// What happened to one action.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Not reached (a dependency failed, or the build stopped first).
    NotRun,
    Cached,
    Executed,
    Failed,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub outcome: Outcome,
    pub key: Option<ActionKey>,
    pub outputs: Vec<OutputEntry>,
    /// What the tool printed (also on a cache hit: warnings survive).
    pub output: String,
    pub seconds: f64,
}

impl Record {
    fn not_run() -> Record {
        Record {
            outcome: Outcome::NotRun,
            key: None,
            outputs: Vec::new(),
            output: String::new(),
            seconds: 0.0,
        }
    }

    pub fn output_digest(&self, name: &str) -> Option<FileDigest> {
        self.outputs
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.digest)
    }
}

pub struct Options {
    pub jobs: usize,
    pub keep_going: bool,
}

/// Called as actions start and finish (progress display).
pub trait Observer: Sync {
    fn started(&self, node: NodeIndex);
    fn finished(&self, node: NodeIndex, record: &Record);
}

pub struct Run {
    pub records: Vec<Record>,
    pub interrupted: bool,
}

impl Run {
    pub fn failed(&self) -> impl Iterator<Item = (NodeIndex, &Record)> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.outcome, Outcome::Failed))
            .map(|(i, r)| (NodeIndex::new(i), r))
    }
}

fn weight(kind: ActionKind) -> u64 {
    match kind {
        ActionKind::Compile | ActionKind::Link => 4,
        _ => 1,
    }
}

/// Longest weighted path from each node to the end of the graph.
fn priorities(plan: &Plan) -> Vec<u64> {
    let g = &plan.graph;
    let mut prio = vec![0u64; g.node_count()];
    let order = petgraph::algo::toposort(g, None).unwrap_or_default();
    for &n in order.iter().rev() {
        let below = g
            .neighbors_directed(n, Direction::Outgoing)
            .map(|m| prio[m.index()])
            .max()
            .unwrap_or(0);
        prio[n.index()] = below + weight(g[n].kind);
    }
    prio
}

/// Computes the key of a ready action from its inputs' digests.
fn key_of(
    plan: &Plan,
    exec: &Executor,
    records: &[Record],
    node: NodeIndex,
) -> (ActionKey, Vec<Option<PathBuf>>) {
    let action = &plan.graph[node];
    let mut digests = Vec::with_capacity(action.inputs.len());
    let mut blobs = Vec::with_capacity(action.inputs.len());
    for input in &action.inputs {
        let (d, blob) = match &input.source {
            Source::File { digest, .. } => (*digest, None),
            Source::Generated(bytes) => (FileDigest::of_bytes(bytes), None),
            Source::Output { action, name } => {
                // A dependency that succeeded always recorded this output.
                let d = records[action.index()]
                    .output_digest(name)
                    .unwrap_or_else(|| FileDigest::of_bytes(b""));
                (d, Some(exec.cache.blob_path(&d)))
            }
        };
        digests.push(d);
        blobs.push(blob);
    }
    (action.key(exec.toolchain, &digests), blobs)
}

/// Looks the action up in the cache and runs it on a miss.
fn perform(
    plan: &Plan,
    exec: &Executor,
    key: ActionKey,
    blobs: &[Option<PathBuf>],
    node: NodeIndex,
) -> Record {
    if let Some(entry) = exec.cache.get_action(&key) {
        return Record {
            outcome: Outcome::Cached,
            key: Some(key),
            outputs: entry.outputs,
            output: entry.output,
            seconds: 0.0,
        };
    }
    let action = &plan.graph[node];
    match exec.run(action, blobs) {
        Ok(res) if res.success => {
            let entry = ActionEntry {
                outputs: res.outputs.clone(),
                output: res.output.clone(),
                seconds: res.seconds,
            };
            if let Err(e) = exec.cache.put_action(&key, &entry) {
                return failed(key, format!("{e}\n"), res.seconds);
            }
            Record {
                outcome: Outcome::Executed,
                key: Some(key),
                outputs: res.outputs,
                output: res.output,
                seconds: res.seconds,
            }
        }
        Ok(res) => failed(key, res.output, res.seconds),
        Err(e) => failed(key, format!("{e}\n"), 0.0),
    }
}

fn failed(key: ActionKey, output: String, seconds: f64) -> Record {
    Record {
        outcome: Outcome::Failed,
        key: Some(key),
        outputs: Vec::new(),
        output,
        seconds,
    }
}

/// Runs the plan. Returns a record per action (indexed by node).
pub fn run(
    plan: &Plan,
    exec: &Executor,
    opts: &Options,
    observer: &dyn Observer,
    interrupt: &Arc<AtomicBool>,
) -> Result<Run, rayon::ThreadPoolBuildError> {
    let g = &plan.graph;
    let n = g.node_count();
    let prio = priorities(plan);
    let mut waiting: Vec<usize> = (0..n)
        .map(|i| {
            g.edges_directed(NodeIndex::new(i), Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<(u64, std::cmp::Reverse<usize>)> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| (prio[i], std::cmp::Reverse(i)))
        .collect();
    let mut records: Vec<Record> = vec![Record::not_run(); n];
    let mut blocked = vec![false; n];
    let mut running = 0usize;
    let mut stop = false;
    let mut interrupted = false;
    let jobs = opts.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let (tx, rx) = mpsc::channel::<(NodeIndex, Record)>();

    pool.in_place_scope(|scope| loop {
        while !stop && running < jobs {
            let Some((_, std::cmp::Reverse(i))) = ready.pop() else {
                break;
            };
            let node = NodeIndex::new(i);
            if blocked[i] {
                // A dependency failed under --keep-going: pass the block on.
                for e in g.edges_directed(node, Direction::Outgoing) {
                    blocked[e.target().index()] = true;
                    waiting[e.target().index()] -= 1;
                    if waiting[e.target().index()] == 0 {
                        ready.push((
                            prio[e.target().index()],
                            std::cmp::Reverse(e.target().index()),
                        ));
                    }
                }
                continue;
            }
            let (key, blobs) = key_of(plan, exec, &records, node);
            let tx = tx.clone();
            running += 1;
            observer.started(node);
            scope.spawn(move |_| {
                let rec = perform(plan, exec, key, &blobs, node);
                let _ = tx.send((node, rec));
            });
        }
        if running == 0 {
            break;
        }
        let (node, rec) = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(x) => x,
            Err(_) => {
                if interrupt.load(Ordering::SeqCst) && !interrupted {
                    interrupted = true;
                    stop = true;
                    crate::exec::kill_running();
                }
                continue;
            }
        };
        running -= 1;
        observer.finished(node, &rec);
        let ok = !matches!(rec.outcome, Outcome::Failed);
        if !ok && !opts.keep_going {
            stop = true;
        }
        for e in g.edges_directed(node, Direction::Outgoing) {
            let t = e.target().index();
            if !ok {
                blocked[t] = true;
            }
            waiting[t] -= 1;
            if waiting[t] == 0 {
                ready.push((prio[t], std::cmp::Reverse(t)));
            }
        }
        records[node.index()] = rec;
    });
    Ok(Run {
        records,
        interrupted,
    })
}
