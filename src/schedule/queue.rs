//! The ready queue: which action may start next, with no threads or
//! processes in it (the driver in `mod.rs` supplies those).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use super::shuffle;

/// Longest weighted path from each node to the end of the graph.
fn priorities<N, E>(g: &DiGraph<N, E>, weight: impl Fn(&N) -> u64) -> Vec<u64> {
    let mut prio = vec![0u64; g.node_count()];
    let order = petgraph::algo::toposort(g, None).unwrap_or_default();
    for &n in order.iter().rev() {
        let below = g
            .neighbors_directed(n, Direction::Outgoing)
            .map(|m| prio[m.index()])
            .max()
            .unwrap_or(0);
        prio[n.index()] = below + weight(&g[n]);
    }
    prio
}

/// Edges run from a dependency to its dependents.
pub struct ReadyQueue {
    /// Per node, the target of each outgoing edge.
    dependents: Vec<Vec<usize>>,
    /// Per node, how many of its dependencies have not finished.
    waiting: Vec<usize>,
    /// A dependency failed: the node never starts.
    blocked: Vec<bool>,
    /// Ready nodes by (rank, tie-break): the critical path first, or a
    /// seeded shuffle; the lower index wins a tie.
    ready: BinaryHeap<(u64, Reverse<usize>)>,
    rank: Vec<u64>,
    running: usize,
    keep_going: bool,
    stopped: bool,
}

impl ReadyQueue {
    pub fn new<N, E>(
        g: &DiGraph<N, E>,
        weight: impl Fn(&N) -> u64,
        keep_going: bool,
        shuffle: Option<u64>,
    ) -> ReadyQueue {
        let n = g.node_count();
        let rank = match shuffle {
            Some(seed) => (0..n).map(|i| shuffle::rank(seed, i)).collect(),
            None => priorities(g, weight),
        };
        let dependents = g
            .node_indices()
            .map(|v| {
                g.edges_directed(v, Direction::Outgoing)
                    .map(|e| e.target().index())
                    .collect()
            })
            .collect();
        let waiting: Vec<usize> = g
            .node_indices()
            .map(|v| g.edges_directed(v, Direction::Incoming).count())
            .collect();
        let ready = (0..n)
            .filter(|&i| waiting[i] == 0)
            .map(|i| (rank[i], Reverse(i)))
            .collect();
        ReadyQueue {
            dependents,
            waiting,
            blocked: vec![false; n],
            ready,
            rank,
            running: 0,
            keep_going,
            stopped: false,
        }
    }

    /// The next action to start, counted as running until `finish`; None
    /// when nothing is ready or the run has stopped.
    pub fn next(&mut self) -> Option<NodeIndex> {
        while !self.stopped {
            let (_, Reverse(i)) = self.ready.pop()?;
            if self.blocked[i] {
                // A dependency failed under keep_going: pass the block on.
                self.release(i, false);
                continue;
            }
            self.running += 1;
            return Some(NodeIndex::new(i));
        }
        None
    }

    /// Records that a started action finished; a failure blocks its
    /// dependents and, without keep_going, stops new work.
    pub fn finish(&mut self, node: NodeIndex, ok: bool) {
        self.running -= 1;
        if !ok && !self.keep_going {
            self.stopped = true;
        }
        self.release(node.index(), ok);
    }

    /// Starts nothing more (the running actions still finish).
    pub fn cancel(&mut self) {
        self.stopped = true;
    }

    /// How many actions have started and not finished.
    pub fn running(&self) -> usize {
        self.running
    }

    fn release(&mut self, i: usize, ok: bool) {
        for &t in &self.dependents[i] {
            if !ok {
                self.blocked[t] = true;
            }
            self.waiting[t] -= 1;
            if self.waiting[t] == 0 {
                self.ready.push((self.rank[t], Reverse(t)));
            }
        }
    }
}
