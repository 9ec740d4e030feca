//! Parallel execution of the action graph.
//!
//! Ready actions start longest-path-first (the path to the end of the graph,
//! weighted by kind, so runtime and the big std packages go first). Each
//! action's key is computed when its dependencies are done, from the digests
//! of what they produced; a key found in the action cache is a hit,
//! anything else goes to the executor. Failure stops new work unless
//! `keep_going`; an interrupt cancels the executor's running actions. The
//! cache stays consistent in every case because it only ever sees complete
//! entries.
//!
//! The scheduler owns the [`ActionCache`] and [`Executor`] interfaces, so a
//! remote cache or executor is one more implementation of them; the local
//! ones live in `exec`. Which action starts when is decided by the
//! thread-free ready queue in `queue`.

mod queue;
pub mod shuffle;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use petgraph::graph::NodeIndex;

use crate::cache::{ActionEntry, OutputEntry};
use crate::digest::{ActionKey, FileDigest, ToolchainId};
use crate::plan::{Action, ActionKind, Plan, Source};
use queue::ReadyQueue;

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

/// Where an action's result came from (the summary's `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    LocalCache,
    RemoteCache,
    /// Executed here.
    Local,
    /// Executed by a remote executor.
    Remote,
}

#[derive(Debug, Clone)]
pub struct Record {
    pub outcome: Outcome,
    /// Where the result came from (None: not run, or failed before any).
    pub origin: Option<Origin>,
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
    pub breakdown: Breakdown,
}

impl Record {
    fn not_run() -> Record {
        Record {
            outcome: Outcome::NotRun,
            origin: None,
            key: None,
            inputs: Vec::new(),
            outputs: Vec::new(),
            output: String::new(),
            seconds: 0.0,
            started: 0.0,
            worker: 0,
            breakdown: Breakdown::default(),
        }
    }

    fn cached(key: ActionKey, inputs: Vec<Option<FileDigest>>, hit: Hit) -> Record {
        let (entry, origin) = hit;
        Record {
            outcome: Outcome::Cached,
            origin: Some(origin),
            key: Some(key),
            inputs,
            outputs: entry.outputs,
            output: entry.output,
            ..Record::not_run()
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
    /// Actions of this kind run even when cached, and are not stored
    /// (`gobuildr test -count=1`).
    pub always_run: Option<ActionKind>,
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

/// Why an action could not be run or its entry stored: shown to the user
/// as the action's output.
pub type ActionError = Box<dyn std::error::Error + Send + Sync>;

/// Where an action's wall time went, in seconds (`--profile`, and the
/// summary's `breakdown`): looking it up (key and cache), its sandbox's
/// set-up, staging its inputs, the tool itself, moving and hashing its
/// outputs into the store, writing its cache entry, removing the sandbox.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Breakdown {
    pub lookup: f64,
    pub setup: f64,
    pub stage: f64,
    pub tool: f64,
    pub outputs: f64,
    pub store: f64,
    pub cleanup: f64,
}

impl Breakdown {
    /// The phases in the order an action goes through them.
    pub fn phases(&self) -> [(&'static str, f64); 7] {
        [
            ("lookup", self.lookup),
            ("setup", self.setup),
            ("stage", self.stage),
            ("tool", self.tool),
            ("outputs", self.outputs),
            ("cleanup", self.cleanup),
            ("store", self.store),
        ]
    }

    /// Adds another action's.
    pub fn add(&mut self, o: &Breakdown) {
        self.lookup += o.lookup;
        self.setup += o.setup;
        self.stage += o.stage;
        self.tool += o.tool;
        self.outputs += o.outputs;
        self.store += o.store;
        self.cleanup += o.cleanup;
    }
}

/// The result of running one action: kept whether it succeeded or not.
#[derive(Debug, Clone)]
pub struct ExecResult {
    pub success: bool,
    /// What the tool printed, with sandbox paths rewritten for the user.
    pub output: String,
    pub seconds: f64,
    /// The outputs, stored in the CAS (empty when the action failed).
    pub outputs: Vec<OutputEntry>,
    /// Local or Remote.
    pub origin: Origin,
    /// Where the executor's time went (lookup and store are the
    /// scheduler's).
    pub breakdown: Breakdown,
}

/// One action, ready: its key and the digests of its inputs, in input
/// order.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub action: &'a Action,
    pub key: &'a ActionKey,
    pub inputs: &'a [FileDigest],
}

/// A cache hit: the entry, and which cache had it.
pub type Hit = (ActionEntry, Origin);

/// Where finished actions are remembered by key.
pub trait ActionCache: Sync {
    /// The entry for an action, if it is complete (anything less is a
    /// miss); its outputs are in the local CAS when it is returned.
    fn lookup(&self, req: &Request) -> Option<Hit>;
    /// Records the entry of an action that ran successfully (`origin` says
    /// where), once every output it names is stored.
    fn store(&self, req: &Request, entry: &ActionEntry, origin: Origin) -> Result<(), ActionError>;
}

/// What runs an action whose key missed the cache.
pub trait Executor: Sync {
    /// Runs the action. A successful result's outputs are stored in the
    /// local CAS, where the cache's entries can name them.
    fn execute(&self, req: &Request) -> Result<ExecResult, ActionError>;
    /// Stops every action running now (on interrupt); they finish as
    /// failures.
    fn cancel(&self);
}

/// What a run looks actions up in and runs them with.
pub struct Backend<'a> {
    /// Enters every action key.
    pub toolchain: &'a ToolchainId,
    pub cache: &'a dyn ActionCache,
    pub executor: &'a dyn Executor,
}

fn weight(kind: ActionKind) -> u64 {
    match kind {
        ActionKind::Compile | ActionKind::Link => 4,
        _ => 1,
    }
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

/// Every input digest, if all are known.
fn known(inputs: &[Option<FileDigest>]) -> Option<Vec<FileDigest>> {
    inputs.iter().copied().collect()
}

/// Without running anything: which actions are cached and which would run.
pub fn dry_run(plan: &Plan, toolchain: &ToolchainId, cache: &dyn ActionCache) -> Vec<Record> {
    let mut records = vec![Record::not_run(); plan.graph.node_count()];
    for node in petgraph::algo::toposort(&plan.graph, None).unwrap_or_default() {
        let inputs = input_digests(plan, &records, node);
        let action = &plan.graph[node];
        let digests = known(&inputs);
        let key = digests.as_ref().map(|d| action.key(toolchain, d));
        let hit = key.zip(digests).and_then(|(k, d)| {
            let req = Request {
                action,
                key: &k,
                inputs: &d,
            };
            Some((k, cache.lookup(&req)?))
        });
        records[node.index()] = match hit {
            Some((k, hit)) => Record::cached(k, inputs, hit),
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

/// Looks the action up in the cache; only a miss reaches the executor.
fn perform(
    plan: &Plan,
    backend: &Backend,
    fresh: Option<ActionKind>,
    node: NodeIndex,
    inputs: Vec<Option<FileDigest>>,
) -> Record {
    let action = &plan.graph[node];
    let Some(digests) = known(&inputs) else {
        let bug = "bug: an input of a ready action is unknown\n";
        return Record::failed(None, inputs, bug.into(), 0.0);
    };
    let t = Instant::now();
    let key = action.key(backend.toolchain, &digests);
    let req = Request {
        action,
        key: &key,
        inputs: &digests,
    };
    let fresh = fresh == Some(action.kind);
    let hit = if fresh {
        None
    } else {
        backend.cache.lookup(&req)
    };
    let lookup = t.elapsed().as_secs_f64();
    let mut rec = match hit {
        Some(hit) => Record::cached(key, inputs, hit),
        None => execute(backend, &req, inputs, !fresh),
    };
    rec.breakdown.lookup = lookup;
    rec
}

/// Runs an action and stores the entry of a success.
fn execute(
    backend: &Backend,
    req: &Request,
    inputs: Vec<Option<FileDigest>>,
    store: bool,
) -> Record {
    let key = *req.key;
    let res = match backend.executor.execute(req) {
        Ok(res) if res.success => res,
        Ok(res) => return Record::failed(Some(key), inputs, res.output, res.seconds),
        Err(e) => return Record::failed(Some(key), inputs, format!("{e}\n"), 0.0),
    };
    let entry = ActionEntry {
        outputs: res.outputs,
        output: res.output,
        seconds: res.seconds,
    };
    let t = Instant::now();
    let stored = if store {
        backend.cache.store(req, &entry, res.origin)
    } else {
        Ok(())
    };
    if let Err(e) = stored {
        return Record::failed(Some(key), inputs, format!("{e}\n"), res.seconds);
    }
    let mut breakdown = res.breakdown;
    breakdown.store = t.elapsed().as_secs_f64();
    Record {
        outcome: Outcome::Executed,
        origin: Some(res.origin),
        key: Some(key),
        inputs,
        outputs: entry.outputs,
        output: entry.output,
        seconds: res.seconds,
        breakdown,
        ..Record::not_run()
    }
}

/// Does `work` on the current worker and notes when, where and how long.
fn timed(t0: Instant, work: impl FnOnce() -> Record) -> Record {
    let started = t0.elapsed().as_secs_f64();
    let mut rec = work();
    rec.started = started;
    rec.worker = rayon::current_thread_index().unwrap_or(0);
    rec.seconds = t0.elapsed().as_secs_f64() - started;
    rec
}

/// How long the driver waits for a finished action before it looks at the
/// interrupt flag.
const POLL: Duration = Duration::from_millis(50);

/// Runs the plan. Returns a record per action (indexed by node).
pub fn run(
    plan: &Plan,
    backend: &Backend,
    opts: &Options,
    observer: &dyn Observer,
    interrupt: &Arc<AtomicBool>,
) -> Result<Run, rayon::ThreadPoolBuildError> {
    let jobs = opts.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build()?;
    let mut queue = ReadyQueue::new(
        &plan.graph,
        |a| weight(a.kind),
        opts.keep_going,
        opts.shuffle,
    );
    let mut records: Vec<Record> = vec![Record::not_run(); plan.graph.node_count()];
    let mut interrupted = false;
    let (tx, rx) = mpsc::channel::<(NodeIndex, Record)>();
    let t0 = Instant::now();

    pool.in_place_scope(|scope| loop {
        while queue.running() < jobs {
            let Some(node) = queue.next() else {
                break;
            };
            let inputs = input_digests(plan, &records, node);
            let tx = tx.clone();
            observer.started(node);
            scope.spawn(move |_| {
                let rec = timed(t0, || perform(plan, backend, opts.always_run, node, inputs));
                let _ = tx.send((node, rec));
            });
        }
        if queue.running() == 0 {
            break;
        }
        match rx.recv_timeout(POLL) {
            Ok((node, rec)) => {
                observer.finished(node, &rec);
                queue.finish(node, !matches!(rec.outcome, Outcome::Failed));
                records[node.index()] = rec;
            }
            Err(_) => {
                if interrupt.load(Ordering::SeqCst) && !interrupted {
                    interrupted = true;
                    queue.cancel();
                    backend.executor.cancel();
                }
            }
        }
    });
    Ok(Run {
        records,
        interrupted,
    })
}
