//! The scheduler over hand-built plans, with a fake cache and executor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use petgraph::graph::{DiGraph, NodeIndex};

use super::queue::ReadyQueue;
use super::*;
use crate::plan::Input;
use crate::rules::Platform;

/// A plan with one action per `(name, kind)`; an edge `(d, n)` makes
/// action `n` read the output of action `d`.
fn plan(actions: &[(&str, ActionKind)], edges: &[(usize, usize)]) -> Plan {
    let mut graph = DiGraph::new();
    for (name, kind) in actions {
        graph.add_node(Action {
            kind: *kind,
            package: name.to_string(),
            platform: Platform::new("linux", "amd64", None),
            argv: vec![name.to_string()],
            env: Vec::new(),
            inputs: vec![Input {
                at: "name".into(),
                source: Source::Generated(name.as_bytes().to_vec()),
                writable: false,
            }],
            outputs: vec!["out".into()],
            src_display: String::new(),
            src_link: None,
            module: None,
        });
    }
    for &(d, n) in edges {
        let (d, n) = (NodeIndex::new(d), NodeIndex::new(n));
        graph[n].inputs.push(Input {
            at: format!("dep{}", d.index()),
            source: Source::Output {
                action: d,
                name: "out".into(),
            },
            writable: false,
        });
        graph.add_edge(d, n, ());
    }
    Plan {
        graph,
        targets: Vec::new(),
        skipped: Vec::new(),
        libraries: 0,
        tests: Vec::new(),
    }
}

#[derive(Default)]
struct FakeCache {
    entries: Mutex<HashMap<ActionKey, ActionEntry>>,
}

impl ActionCache for FakeCache {
    fn lookup(&self, req: &Request) -> Option<Hit> {
        let entry = self.entries.lock().unwrap().get(req.key).cloned()?;
        Some((entry, Origin::LocalCache))
    }

    fn store(&self, req: &Request, entry: &ActionEntry, _: Origin) -> Result<(), ActionError> {
        self.entries.lock().unwrap().insert(*req.key, entry.clone());
        Ok(())
    }
}

#[derive(Default)]
struct FakeExecutor {
    /// The actions executed, by name, in the order they started.
    calls: Mutex<Vec<String>>,
    /// Actions that fail.
    fail: Vec<&'static str>,
    /// An action that raises this interrupt flag, then runs until cancelled.
    hang: Option<(&'static str, Arc<AtomicBool>)>,
    cancelled: AtomicBool,
}

impl FakeExecutor {
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn wait_for_cancel(&self, interrupt: &AtomicBool) {
        interrupt.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while !self.cancelled.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Executor for FakeExecutor {
    fn execute(&self, req: &Request) -> Result<ExecResult, ActionError> {
        let (action, key) = (req.action, req.key);
        self.calls.lock().unwrap().push(action.package.clone());
        let mut success = !self.fail.contains(&action.package.as_str());
        if let Some((name, interrupt)) = &self.hang {
            if action.package == *name {
                self.wait_for_cancel(interrupt);
                success = false;
            }
        }
        let outputs = action
            .outputs
            .iter()
            .filter(|_| success)
            .map(|name| OutputEntry {
                name: name.clone(),
                digest: FileDigest::of_bytes(key.to_hex().as_bytes()),
                size: 0,
            })
            .collect();
        Ok(ExecResult {
            success,
            output: String::new(),
            seconds: 0.0,
            outputs,
            origin: Origin::Local,
            breakdown: Breakdown::default(),
        })
    }

    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }
}

struct NoObserver;

impl Observer for NoObserver {
    fn started(&self, _: NodeIndex) {}
    fn finished(&self, _: NodeIndex, _: &Record) {}
}

fn options(jobs: usize, keep_going: bool) -> Options {
    Options {
        jobs,
        keep_going,
        shuffle: None,
        always_run: None,
    }
}

fn run_plan(
    plan: &Plan,
    executor: &FakeExecutor,
    cache: &FakeCache,
    opts: &Options,
    interrupt: &Arc<AtomicBool>,
) -> Run {
    let toolchain = ToolchainId::from_hex(&"ab".repeat(32)).unwrap();
    let backend = Backend {
        toolchain: &toolchain,
        cache,
        executor,
    };
    run(plan, &backend, opts, &NoObserver, interrupt).unwrap()
}

fn simple_run(plan: &Plan, executor: &FakeExecutor, opts: &Options) -> Run {
    let interrupt = Arc::new(AtomicBool::new(false));
    run_plan(plan, executor, &FakeCache::default(), opts, &interrupt)
}

/// The outcome of each action, by name.
fn outcomes(plan: &Plan, run: &Run) -> Vec<(String, String)> {
    run.records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = plan.graph[NodeIndex::new(i)].package.clone();
            (name, format!("{:?}", r.outcome))
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

use ActionKind::{Asm, Compile};

#[test]
fn dependencies_run_before_dependents() {
    let p = plan(
        &[
            ("a", Compile),
            ("b", Compile),
            ("c", Asm),
            ("d", Compile),
            ("e", Asm),
        ],
        &[(0, 1), (0, 2), (1, 3), (2, 3)],
    );
    let exec = FakeExecutor::default();
    let r = simple_run(&p, &exec, &options(3, false));
    assert!(r
        .records
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Executed)));
    let calls = exec.calls();
    let at = |name: &str| calls.iter().position(|c| c == name).unwrap();
    for (d, n) in [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")] {
        assert!(at(d) < at(n), "{calls:?}");
    }
    // The dependent saw its dependency's output.
    assert_eq!(r.records[1].inputs[1], r.records[0].output_digest("out"));
}

#[test]
fn the_critical_path_starts_first() {
    // The lone action has the lowest index, which wins ties.
    let p = plan(
        &[("lone", Compile), ("a", Compile), ("b", Compile)],
        &[(1, 2)],
    );
    let exec = FakeExecutor::default();
    simple_run(&p, &exec, &options(1, false));
    assert_eq!(exec.calls(), ["a", "lone", "b"]);
    // Weighted by kind: one compile outweighs a chain of three asm.
    let p = plan(
        &[("x", Asm), ("y", Asm), ("z", Asm), ("lone", Compile)],
        &[(0, 1), (1, 2)],
    );
    let exec = FakeExecutor::default();
    simple_run(&p, &exec, &options(1, false));
    assert_eq!(exec.calls(), ["lone", "x", "y", "z"]);
}

fn failing_plan() -> Plan {
    plan(
        &[
            ("lone", Compile),
            ("a", Compile),
            ("b", Compile),
            ("c", Asm),
        ],
        &[(1, 2), (2, 3)],
    )
}

#[test]
fn a_failure_blocks_dependents_and_stops_new_work() {
    let p = failing_plan();
    let exec = FakeExecutor {
        fail: vec!["a"],
        ..FakeExecutor::default()
    };
    let r = simple_run(&p, &exec, &options(1, false));
    assert_eq!(exec.calls(), ["a"]);
    assert_eq!(
        outcomes(&p, &r),
        pairs(&[
            ("lone", "NotRun"),
            ("a", "Failed"),
            ("b", "NotRun"),
            ("c", "NotRun")
        ])
    );
    assert_eq!(r.failed().map(|(n, _)| n.index()).collect::<Vec<_>>(), [1]);
    assert!(!r.interrupted);
}

#[test]
fn keep_going_runs_independent_branches() {
    let p = failing_plan();
    let exec = FakeExecutor {
        fail: vec!["a"],
        ..FakeExecutor::default()
    };
    let r = simple_run(&p, &exec, &options(1, true));
    assert_eq!(exec.calls(), ["a", "lone"]);
    assert_eq!(
        outcomes(&p, &r),
        pairs(&[
            ("lone", "Executed"),
            ("a", "Failed"),
            ("b", "NotRun"),
            ("c", "NotRun")
        ])
    );
}

#[test]
fn an_interrupt_cancels_the_executor() {
    let p = plan(&[("a", Compile), ("b", Compile), ("c", Asm)], &[(0, 1)]);
    let interrupt = Arc::new(AtomicBool::new(false));
    let exec = FakeExecutor {
        hang: Some(("a", Arc::clone(&interrupt))),
        ..FakeExecutor::default()
    };
    let r = run_plan(
        &p,
        &exec,
        &FakeCache::default(),
        &options(1, true),
        &interrupt,
    );
    assert!(r.interrupted);
    assert!(exec.cancelled.load(Ordering::SeqCst));
    assert_eq!(exec.calls(), ["a"]);
    assert_eq!(
        outcomes(&p, &r),
        pairs(&[("a", "Failed"), ("b", "NotRun"), ("c", "NotRun")])
    );
}

#[test]
fn a_cache_hit_skips_the_executor() {
    let p = plan(&[("a", Compile), ("b", Compile)], &[(0, 1)]);
    let cache = FakeCache::default();
    let interrupt = Arc::new(AtomicBool::new(false));
    let first = FakeExecutor::default();
    let cold = run_plan(&p, &first, &cache, &options(2, false), &interrupt);
    assert_eq!(first.calls(), ["a", "b"]);
    let second = FakeExecutor::default();
    let warm = run_plan(&p, &second, &cache, &options(2, false), &interrupt);
    assert!(second.calls().is_empty());
    assert_eq!(
        outcomes(&p, &warm),
        pairs(&[("a", "Cached"), ("b", "Cached")])
    );
    for (c, w) in cold.records.iter().zip(&warm.records) {
        assert_eq!((c.key, &c.outputs), (w.key, &w.outputs));
    }
    let toolchain = ToolchainId::from_hex(&"ab".repeat(32)).unwrap();
    let dry = dry_run(&p, &toolchain, &cache);
    assert!(dry.iter().all(|r| matches!(r.outcome, Outcome::Cached)));
}

/// The order in which a queue over `n` independent nodes starts them.
fn start_order(n: usize, shuffle: Option<u64>) -> Vec<usize> {
    let mut g = DiGraph::<(), ()>::new();
    for _ in 0..n {
        g.add_node(());
    }
    let mut q = ReadyQueue::new(&g, |_| 1, false, shuffle);
    let mut order = Vec::new();
    while let Some(node) = q.next() {
        order.push(node.index());
        q.finish(node, true);
    }
    order
}

#[test]
fn the_seeded_shuffle_is_deterministic() {
    let a = start_order(32, Some(7));
    assert_eq!(a, start_order(32, Some(7)));
    assert_ne!(a, start_order(32, Some(8)));
    // Highest rank first, exactly as `--shuffle` has always ordered.
    let mut expected: Vec<usize> = (0..32).collect();
    expected.sort_by_key(|&i| std::cmp::Reverse(shuffle::rank(7, i)));
    assert_eq!(a, expected);
    // Without a seed, ties go to the lowest index.
    assert_eq!(start_order(4, None), [0, 1, 2, 3]);
}

#[test]
fn a_blocked_node_passes_the_block_on() {
    // 0 -> 1 -> 2, and 3 alone.
    let mut g = DiGraph::<(), ()>::new();
    let n: Vec<NodeIndex> = (0..4).map(|_| g.add_node(())).collect();
    g.add_edge(n[0], n[1], ());
    g.add_edge(n[1], n[2], ());
    let mut q = ReadyQueue::new(&g, |_| 1, true, None);
    assert_eq!(q.next(), Some(n[0]));
    assert_eq!(q.next(), Some(n[3]));
    assert_eq!(q.running(), 2);
    q.finish(n[0], false);
    q.finish(n[3], true);
    assert_eq!(q.next(), None);
    assert_eq!(q.running(), 0);
}
