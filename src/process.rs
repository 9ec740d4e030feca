//! Every child process gobuildr starts is counted here, so a no-op build
//! can prove it started none (`processes_spawned` in the summary).

use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

static SPAWNED: AtomicUsize = AtomicUsize::new(0);

/// Runs a command to completion, capturing its output.
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    SPAWNED.fetch_add(1, Ordering::Relaxed);
    cmd.output()
}

/// Starts a command.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    SPAWNED.fetch_add(1, Ordering::Relaxed);
    cmd.spawn()
}

/// How many processes this run has started.
pub fn spawned() -> usize {
    SPAWNED.load(Ordering::Relaxed)
}
