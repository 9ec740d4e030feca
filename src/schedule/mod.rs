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
    /// Dry run: would execute (not in the cache, or a dependency would).
    WouldRun,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub outcome: Outcome,
    pub key: Option<ActionKey>,
    /// The digest of each input, in the action's input order (None: an
    /// output of a dependency not built yet, in a dry run).
    pub inputs: Vec<Option<FileDigest>>,
    pub outputs: Vec<OutputEntry>,
    /// What the tool printed (also on a cache hit: warnings survive).
    pub output: String,
    pub seconds: f64,
    /// When the worker took it up, in seconds since the run started, and
    /// which worker (for `--profile`).
    pub started: f64,
    pub worker: usize,
}

impl Record {
    fn not_run() -> Record {
        Record {
            outcome: Outcome::NotRun,
            key: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            output: String::new(),
            seconds: 0.0,
            started: 0.0,
            worker: 0,
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
    /// Start ready actions in an order shuffled by this seed instead of
    /// critical path first (verify varies it).
    pub shuffle: Option<u64>,
}

/// A well-mixed 64-bit hash (splitmix64), for seeded shuffles.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
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

/// The digests of an action's inputs, as far as they are known: an output
/// of a dependency that has not produced it is None.
fn input_digests(plan: &Plan, records: &[Record], node: NodeIndex) -> Vec<Option<FileDigest>> {
    plan.graph[node]
        .inputs
        .iter()
        .map(|input| match &input.source {
            Source::File { digest, .. } => Some(*digest),
            Source::Generated(bytes) => Some(FileDigest::of_bytes(bytes)),
            Source::Output { action, name } => records[action.index()].output_digest(name),
        })
        .collect()
}

/// The key of an action whose inputs are all known.
fn key_of(
    plan: &Plan,
    exec: &Executor,
    node: NodeIndex,
    inputs: &[Option<FileDigest>],
) -> Option<ActionKey> {
    let digests: Option<Vec<FileDigest>> = inputs.iter().copied().collect();
    digests.map(|d| plan.graph[node].key(exec.toolchain, &d))
}

/// Where each `Output` input's blob is in the CAS.
fn blobs(
    plan: &Plan,
    exec: &Executor,
    node: NodeIndex,
    inputs: &[Option<FileDigest>],
) -> Vec<Option<PathBuf>> {
    plan.graph[node]
        .inputs
        .iter()
        .zip(inputs)
        .map(|(input, d)| match (&input.source, d) {
            (Source::Output { .. }, Some(d)) => Some(exec.cache.blob_path(d)),
            _ => None,
        })
        .collect()
}

/// Without running anything: which actions are cached and which would run.
pub fn dry_run(plan: &Plan, exec: &Executor) -> Vec<Record> {
    let mut records = vec![Record::not_run(); plan.graph.node_count()];
    for node in petgraph::algo::toposort(&plan.graph, None).unwrap_or_default() {
        let inputs = input_digests(plan, &records, node);
        let key = key_of(plan, exec, node, &inputs);
        let entry = key.and_then(|k| exec.cache.get_action(&k));
        records[node.index()] = match entry {
            Some(e) => Record {
                outcome: Outcome::Cached,
                key,
                inputs,
                outputs: e.outputs,
                output: e.output,
                ..Record::not_run()
            },
            None => Record {
                outcome: Outcome::WouldRun,
                key,
                inputs,
                ..Record::not_run()
            },
        };
    }
    records
}

/// Looks the action up in the cache and runs it on a miss.
fn perform(
    plan: &Plan,
    exec: &Executor,
    node: NodeIndex,
    inputs: Vec<Option<FileDigest>>,
) -> Record {
    let Some(key) = key_of(plan, exec, node, &inputs) else {
        return failed(
            None,
            inputs,
            "bug: an input of a ready action is unknown\n".into(),
            0.0,
        );
    };
    if let Some(entry) = exec.cache.get_action(&key) {
        return Record {
            outcome: Outcome::Cached,
            key: Some(key),
            inputs,
            outputs: entry.outputs,
            output: entry.output,
            ..Record::not_run()
        };
    }
    let action = &plan.graph[node];
    match exec.run(action, &key, &blobs(plan, exec, node, &inputs)) {
        Ok(res) if res.success => {
            let entry = ActionEntry {
                outputs: res.outputs.clone(),
                output: res.output.clone(),
                seconds: res.seconds,
            };
            if let Err(e) = exec.cache.put_action(&key, &entry) {
                return failed(Some(key), inputs, format!("{e}\n"), res.seconds);
            }
            Record {
                outcome: Outcome::Executed,
                key: Some(key),
                inputs,
                outputs: res.outputs,
                output: res.output,
                seconds: res.seconds,
                ..Record::not_run()
            }
        }
        Ok(res) => failed(Some(key), inputs, res.output, res.seconds),
        Err(e) => failed(Some(key), inputs, format!("{e}\n"), 0.0),
    }
}

fn failed(
    key: Option<ActionKey>,
    inputs: Vec<Option<FileDigest>>,
    output: String,
    seconds: f64,
) -> Record {
    Record {
        outcome: Outcome::Failed,
        key,
        inputs,
        output,
        seconds,
        ..Record::not_run()
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
    // Ready actions by (priority, tie-break): the critical path first, or a
    // seeded shuffle.
    let order = |i: usize| match opts.shuffle {
        Some(seed) => (mix(seed ^ i as u64), std::cmp::Reverse(i)),
        None => (prio[i], std::cmp::Reverse(i)),
    };
    let mut ready: BinaryHeap<(u64, std::cmp::Reverse<usize>)> =
        (0..n).filter(|&i| waiting[i] == 0).map(order).collect();
    let mut records: Vec<Record> = vec![Record::not_run(); n];
    let mut blocked = vec![false; n];
    let mut running = 0usize;
    let mut stop = false;
    let mut interrupted = false;
    let jobs = opts.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let (tx, rx) = mpsc::channel::<(NodeIndex, Record)>();
    let t0 = std::time::Instant::now();

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
                        ready.push(order(e.target().index()));
                    }
                }
                continue;
            }
            let inputs = input_digests(plan, &records, node);
            let tx = tx.clone();
            running += 1;
            observer.started(node);
            scope.spawn(move |_| {
                let started = t0.elapsed().as_secs_f64();
                let mut rec = perform(plan, exec, node, inputs);
                rec.started = started;
                rec.worker = rayon::current_thread_index().unwrap_or(0);
                rec.seconds = t0.elapsed().as_secs_f64() - started;
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
                ready.push(order(t));
            }
        }
        records[node.index()] = rec;
    });
    Ok(Run {
        records,
        interrupted,
    })
}
