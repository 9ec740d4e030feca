//! The sandbox: each action runs in its own temp dir, with its declared
//! inputs staged read-only at stable relative paths, a cleared and fixed
//! environment, and (on Linux, where the kernel allows) fresh user, mount
//! and network namespaces.
//!
//! Invariant: nothing of the caller's environment, working directory or
//! absolute paths reaches a tool except through the `${SB}`, `${TOOLDIR}`
//! and `${GOROOT}` placeholders, whose values never reach an output
//! (`-trimpath` rewrites them away; the linker gets an empty GOROOT).

mod coverage;
mod namespace;
mod pack;
mod sandbox;
mod stage;
mod watchdog;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use crate::cache::{ActionEntry, Cache, OutputEntry};
use crate::digest::{ActionKey, FileDigest};
use crate::plan::{tool_env, Action, ActionKind, GOROOT, SB, TOOLDIR};
use crate::schedule::{
    ActionCache, ActionError, Breakdown, ExecResult, Executor, Hit, Origin, Request,
};
use crate::toolchain::Toolchain;
use sandbox::Sandbox;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("sandbox {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("starting {tool}: {source}")]
    Spawn {
        tool: String,
        source: std::io::Error,
    },
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
    #[error("{0} changed during the build; run gobuildr again")]
    ChangedDuringBuild(PathBuf),
    #[error("cache blob {0} was corrupt and has been removed; run gobuildr again to rebuild it")]
    CorruptBlob(PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
    move |source| ExecError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The pids of the tools running now, so that a cancel can stop them.
#[derive(Default)]
struct Children(Mutex<HashSet<u32>>);

impl Children {
    fn track(&self, pid: u32, running: bool) {
        if let Ok(mut set) = self.0.lock() {
            if running {
                set.insert(pid);
            } else {
                set.remove(&pid);
            }
        }
    }

    fn kill_all(&self) {
        if let Ok(set) = self.0.lock() {
            for pid in set.iter() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// The local cache directory answers the scheduler's look-ups.
impl ActionCache for Cache {
    fn lookup(&self, req: &Request) -> Option<Hit> {
        Some((self.get_action(req.key)?, Origin::LocalCache))
    }

    fn store(&self, req: &Request, entry: &ActionEntry, _: Origin) -> Result<(), ActionError> {
        Ok(self.put_action(req.key, entry)?)
    }
}

/// Runs actions here, each in its own sandbox, with outputs stored in the
/// local cache.
pub struct LocalExecutor<'a> {
    pub cache: &'a Cache,
    pub toolchain: &'a Toolchain,
    /// Stage inputs in an order shuffled by this seed (verify varies it).
    pub shuffle: Option<u64>,
    /// `--test-output streamed`: test binaries run one at a time, their
    /// output copied to stdout as they print it.
    pub stream: Option<std::sync::Mutex<()>>,
    /// Namespaces are used when the kernel allows them; probed when the
    /// first action runs (a fully cached build starts no process).
    isolation: OnceLock<namespace::Isolation>,
    running: Children,
}

impl Executor for LocalExecutor<'_> {
    fn execute(&self, req: &Request) -> Result<ExecResult, ActionError> {
        Ok(self.run(req.action, req.key, req.inputs)?)
    }

    fn cancel(&self) {
        self.running.kill_all();
    }
}

impl<'a> LocalExecutor<'a> {
    pub fn new(cache: &'a Cache, toolchain: &'a Toolchain) -> LocalExecutor<'a> {
        LocalExecutor {
            cache,
            toolchain,
            shuffle: None,
            stream: None,
            isolation: OnceLock::new(),
            running: Children::default(),
        }
    }

    fn isolation(&self) -> &namespace::Isolation {
        self.isolation.get_or_init(|| {
            let iso = namespace::Isolation::probe();
            if let Some(why) = iso.note() {
                eprintln!("note: Linux namespaces are not available ({why}); actions run in plain temp dirs");
            } else if let Some(why) = iso.unconfined() {
                eprintln!("note: test binaries can write outside their sandbox here ({why})");
            }
            iso
        })
    }

    fn substitute(&self, s: &str, sb: &Path) -> String {
        s.replace(SB, &sb.to_string_lossy())
            .replace(TOOLDIR, &self.toolchain.tool_dir.to_string_lossy())
            .replace(GOROOT, &self.toolchain.goroot.to_string_lossy())
    }

    /// Runs one action in a fresh sandbox and stores its outputs.
    fn run(
        &self,
        action: &Action,
        key: &ActionKey,
        digests: &[FileDigest],
    ) -> Result<ExecResult, ExecError> {
        let start = Instant::now();
        let mut clock = Clock(Instant::now());
        let mut b = Breakdown::default();
        let dir = Sandbox::create(self.cache.tmp_dir(), key)?;
        let sb = dir.path().to_path_buf();
        b.setup = clock.lap();
        self.stage(action, digests, &sb)?;
        b.stage = clock.lap();
        let (success, raw) = if action.argv.first().map(String::as_str) == Some("pack") {
            pack::run(&sb, &action.argv[2], &action.argv[3..])
        } else {
            self.spawn(action, &sb)?
        };
        b.tool = clock.lap();
        let outputs = if success {
            self.store_outputs(action, &sb)?
        } else {
            Vec::new()
        };
        b.outputs = clock.lap();
        let output = rewrite_paths(&raw, &sb, &action.src_display);
        drop(dir);
        b.cleanup = clock.lap();
        Ok(ExecResult {
            success,
            output,
            seconds: start.elapsed().as_secs_f64(),
            outputs,
            origin: Origin::Local,
            breakdown: b,
        })
    }

    /// Moves the outputs of a successful action into the CAS.
    fn store_outputs(&self, action: &Action, sb: &Path) -> Result<Vec<OutputEntry>, ExecError> {
        let mut outputs = Vec::new();
        for name in &action.outputs {
            let path = sb.join(name);
            let f = fs::File::options()
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            // Outputs carry no time: the CAS and gobuildr-out see mtime 0.
            f.set_modified(SystemTime::UNIX_EPOCH)
                .map_err(io_err(&path))?;
            drop(f);
            let (digest, size) = self.cache.put_file(&path)?;
            outputs.push(OutputEntry {
                name: name.clone(),
                digest,
                size,
            });
        }
        Ok(outputs)
    }

    fn spawn(&self, action: &Action, sb: &Path) -> Result<(bool, String), ExecError> {
        let argv: Vec<String> = action.argv.iter().map(|a| self.substitute(a, sb)).collect();
        // A test binary runs where go test runs it: in its package's
        // directory (staged as src/), with what it prints in one stream.
        let test = action.kind == ActionKind::TestRun;
        let mut cmd = if test {
            std::process::Command::new(&argv[0])
        } else {
            crate::toolenv::command(Path::new(&argv[0]))
        };
        cmd.args(&argv[1..])
            .current_dir(if test {
                sb.join("src")
            } else {
                sb.to_path_buf()
            })
            .env_clear()
            .envs(tool_env())
            // An empty HOME: the tools need none, and with one the Go
            // telemetry code creates config files in every sandbox (measured:
            // a third of the extra inode churn of a cold build).
            .env("HOME", "")
            .env("TMPDIR", sb.join("tmp"))
            .envs(
                action
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v, sb))),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if test {
            coverage::write_meta_files(sb)?;
            let (read, write) = merged_output().map_err(io_err(sb))?;
            let write2 = write.try_clone().map_err(io_err(sb))?;
            cmd.stdout(write).stderr(write2);
            self.isolation().apply(&mut cmd, Some(sb));
            return self.wait_merged(cmd, read, &argv);
        }
        self.isolation().apply(&mut cmd, None);
        let child = crate::process::spawn(&mut cmd).map_err(|source| ExecError::Spawn {
            tool: argv[0].clone(),
            source,
        })?;
        let pid = child.id();
        self.running.track(pid, true);
        let out = child.wait_with_output();
        self.running.track(pid, false);
        let out = out.map_err(|source| ExecError::Spawn {
            tool: argv[0].clone(),
            source,
        })?;
        let mut text = String::from_utf8_lossy(&out.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.success(), text))
    }
}

/// Laps of one action's phases.
struct Clock(Instant);

impl Clock {
    /// Seconds since the last lap.
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let s = (now - self.0).as_secs_f64();
        self.0 = now;
        s
    }
}

/// Starts a child, again after a pause while the executable is "busy".
/// A staged blob is a hard link (linker outputs are executable in the CAS,
/// so no descriptor is open for writing), but the fallback is a copy, whose
/// descriptor a child another thread forked at that moment may still hold
/// until its exec.
fn spawn_retrying(cmd: &mut std::process::Command) -> std::io::Result<std::process::Child> {
    let busy = nix::errno::Errno::ETXTBSY as i32;
    let mut pause = std::time::Duration::from_millis(5);
    for _ in 0..6 {
        match crate::process::spawn(cmd) {
            Err(e) if e.raw_os_error() == Some(busy) => std::thread::sleep(pause),
            other => return other,
        }
        pause *= 2;
    }
    crate::process::spawn(cmd)
}

/// One pipe for a child's stdout and stderr, so that their order is kept.
fn merged_output() -> std::io::Result<(std::fs::File, std::fs::File)> {
    // Close-on-exec: children other threads start must not inherit it
    // (the read would wait for them); the test's own copies are dup'ed.
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    Ok((std::fs::File::from(r), std::fs::File::from(w)))
}

impl LocalExecutor<'_> {
    /// Runs a child whose output goes to `read`'s pipe; returns success
    /// and everything it printed.
    fn wait_merged(
        &self,
        mut cmd: std::process::Command,
        mut read: std::fs::File,
        argv: &[String],
    ) -> Result<(bool, String), ExecError> {
        let spawn_err = |source| ExecError::Spawn {
            tool: argv[0].clone(),
            source,
        };
        // Streamed: one binary at a time, so outputs do not interleave.
        let _turn = self
            .stream
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut child = spawn_retrying(&mut cmd).map_err(spawn_err)?;
        // The parent's copies of the write end must close for EOF.
        drop(cmd);
        let pid = child.id();
        self.running.track(pid, true);
        let watchdog = watchdog::deadline(argv).map(|after| watchdog::Watchdog::arm(pid, after));
        let mut out = Vec::new();
        let read_result = read_output(&mut read, &mut out, self.stream.is_some());
        // Exited but not reaped: the watchdog's signals cannot reach a
        // process that took over the pid.
        let _ = nix::sys::wait::waitid(
            nix::sys::wait::Id::Pid(nix::unistd::Pid::from_raw(pid as i32)),
            nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
        );
        if let Some(line) = watchdog.and_then(watchdog::Watchdog::disarm) {
            out.extend_from_slice(line.as_bytes());
        }
        let status = child.wait();
        self.running.track(pid, false);
        read_result.map_err(spawn_err)?;
        let status = status.map_err(spawn_err)?;
        Ok((status.success(), String::from_utf8_lossy(&out).into_owned()))
    }
}

/// Reads a child's output to its end, copying it to stdout as it comes
/// when `stream`.
fn read_output(read: &mut std::fs::File, out: &mut Vec<u8>, stream: bool) -> std::io::Result<()> {
    use std::io::{Read, Write};
    if !stream {
        return read.read_to_end(out).map(drop);
    }
    let mut buf = [0u8; 8192];
    loop {
        let n = read.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        out.extend_from_slice(&buf[..n]);
        let mut stdout = std::io::stdout().lock();
        // A closed stdout must not fail the test run.
        let _ = stdout.write_all(&buf[..n]).and_then(|()| stdout.flush());
    }
}

/// Tool messages name sandbox files; show them as the user knows them.
pub fn rewrite_paths(text: &str, sb: &Path, src_display: &str) -> String {
    let sb = sb.to_string_lossy();
    text.replace(&format!("{sb}/src/"), src_display)
        .replace(&format!("{sb}/"), "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn kill_all_stops_tracked_children_only() {
        let children = Children::default();
        let mut tracked = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let mut done = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        children.track(tracked.id(), true);
        children.track(done.id(), true);
        children.track(done.id(), false);
        children.kill_all();
        assert_eq!(tracked.wait().unwrap().signal(), Some(9));
        assert_eq!(
            done.try_wait().unwrap(),
            None,
            "an untracked child keeps running"
        );
        done.kill().unwrap();
        done.wait().unwrap();
    }

    #[test]
    fn tool_messages_name_files_as_the_user_knows_them() {
        let sb = Path::new("/tmp/sb-1");
        let text = "/tmp/sb-1/src/a.go:3: bad\n/tmp/sb-1/obj/x.o: note\n";
        assert_eq!(
            rewrite_paths(text, sb, "pkg/a/"),
            "pkg/a/a.go:3: bad\nobj/x.o: note\n"
        );
    }
}
