//! The sandbox: each action runs in its own temp dir, with its declared
//! inputs staged read-only at stable relative paths, a cleared and fixed
//! environment, and (on Linux, where the kernel allows) fresh user, mount
//! and network namespaces.
//!
//! Invariant: nothing of the caller's environment, working directory or
//! absolute paths reaches a tool except through the `${SB}`, `${TOOLDIR}`
//! and `${GOROOT}` placeholders, whose values never reach an output
//! (`-trimpath` rewrites them away; the linker gets an empty GOROOT).

mod namespace;
mod pack;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use crate::cache::{Cache, OutputEntry};
use crate::digest::{ActionKey, FileDigest};
use crate::plan::{tool_env, Action, Source, GOROOT, SB, TOOLDIR};
use crate::toolchain::Toolchain;

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

/// The result of running one action: kept whether it succeeded or not.
#[derive(Debug, Clone)]
pub struct ExecResult {
    pub success: bool,
    /// What the tool printed, with sandbox paths rewritten for the user.
    pub output: String,
    pub seconds: f64,
    /// The outputs, stored in the CAS (empty when the action failed).
    pub outputs: Vec<OutputEntry>,
}

/// Child processes currently running, so that Ctrl-C can stop them.
static RUNNING: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn track(pid: u32, running: bool) {
    if let Ok(mut set) = RUNNING.lock() {
        let set = set.get_or_insert_with(HashSet::new);
        if running {
            set.insert(pid);
        } else {
            set.remove(&pid);
        }
    }
}

/// Stops every running tool (on interrupt).
pub fn kill_running() {
    if let Ok(set) = RUNNING.lock() {
        for pid in set.iter().flatten() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

pub struct Executor<'a> {
    pub cache: &'a Cache,
    pub toolchain: &'a Toolchain,
    /// Stage inputs in an order shuffled by this seed (verify varies it).
    pub shuffle: Option<u64>,
    /// Namespaces are used when the kernel allows them; probed when the
    /// first action runs (a fully cached build starts no process).
    isolation: OnceLock<namespace::Isolation>,
}

impl<'a> Executor<'a> {
    pub fn new(cache: &'a Cache, toolchain: &'a Toolchain) -> Executor<'a> {
        Executor {
            cache,
            toolchain,
            shuffle: None,
            isolation: OnceLock::new(),
        }
    }

    fn isolation(&self) -> &namespace::Isolation {
        self.isolation.get_or_init(|| {
            let iso = namespace::Isolation::probe();
            if let Some(why) = iso.note() {
                eprintln!("note: Linux namespaces are not available ({why}); actions run in plain temp dirs");
            }
            iso
        })
    }

    fn substitute(&self, s: &str, sb: &Path) -> String {
        s.replace(SB, &sb.to_string_lossy())
            .replace(TOOLDIR, &self.toolchain.tool_dir.to_string_lossy())
            .replace(GOROOT, &self.toolchain.goroot.to_string_lossy())
    }

    /// Puts every input at its place in the sandbox. `blobs` gives, for
    /// each input, the CAS blob of an `Output` source.
    fn stage(
        &self,
        action: &Action,
        blobs: &[Option<PathBuf>],
        sb: &Path,
    ) -> Result<(), ExecError> {
        for d in ["obj", "pkg", "include", "tmp"] {
            let p = sb.join(d);
            fs::create_dir_all(&p).map_err(io_err(&p))?;
        }
        let src = sb.join("src");
        match &action.src_link {
            Some(dir) => std::os::unix::fs::symlink(dir, &src).map_err(io_err(&src))?,
            None => fs::create_dir(&src).map_err(io_err(&src))?,
        }
        let mut staging: Vec<(u64, (&crate::plan::Input, &Option<PathBuf>))> = action
            .inputs
            .iter()
            .zip(blobs)
            .enumerate()
            .map(|(i, x)| {
                (
                    self.shuffle
                        .map(|seed| crate::schedule::mix(seed ^ i as u64))
                        .unwrap_or(i as u64),
                    x,
                )
            })
            .collect();
        staging.sort_by_key(|(k, _)| *k);
        for (_, (input, blob)) in staging {
            if action.src_link.is_some() && input.at.starts_with("src/") {
                continue;
            }
            let dest = sb.join(&input.at);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            match (&input.source, blob) {
                (
                    Source::File {
                        path,
                        immutable: true,
                        ..
                    },
                    _,
                ) => std::os::unix::fs::symlink(path, &dest).map_err(io_err(&dest))?,
                (Source::File { path, digest, .. }, _) => {
                    // A copy, checked against the digest the key was made
                    // from: an edit during the build must not be compiled
                    // under the old key.
                    fs::copy(path, &dest).map_err(io_err(path))?;
                    if FileDigest::of_file(&dest).map_err(io_err(&dest))? != *digest {
                        return Err(ExecError::ChangedDuringBuild(path.clone()));
                    }
                    set_readonly(&dest, true)?;
                }
                (Source::Output { .. }, Some(blob)) => {
                    // Read in full before use, whatever the stat cache says.
                    if !self.cache.verify_blob_contents(blob) {
                        return Err(ExecError::CorruptBlob(blob.clone()));
                    }
                    if input.writable {
                        fs::copy(blob, &dest).map_err(io_err(blob))?;
                        set_readonly(&dest, false)?;
                    } else if fs::hard_link(blob, &dest).is_err() {
                        fs::copy(blob, &dest).map_err(io_err(blob))?;
                    }
                }
                (Source::Output { name, .. }, None) => {
                    return Err(ExecError::Io {
                        path: dest,
                        source: std::io::Error::other(format!("bug: no blob for output {name}")),
                    })
                }
                (Source::Generated(bytes), _) => {
                    let text = self.substitute(&String::from_utf8_lossy(bytes), sb);
                    fs::write(&dest, text).map_err(io_err(&dest))?;
                }
            }
        }
        Ok(())
    }

    /// Runs one action in a fresh sandbox and stores its outputs.
    pub fn run(
        &self,
        action: &Action,
        key: &ActionKey,
        blobs: &[Option<PathBuf>],
    ) -> Result<ExecResult, ExecError> {
        let start = Instant::now();
        let dir = Sandbox::create(self.cache.tmp_dir(), key)?;
        let sb = dir.0.clone();
        self.stage(action, blobs, &sb)?;
        let (success, raw) = if action.argv.first().map(String::as_str) == Some("pack") {
            pack::run(&sb, &action.argv[2], &action.argv[3..])
        } else {
            self.spawn(action, &sb)?
        };
        let output = rewrite_paths(&raw, &sb, &action.src_display);
        let mut outputs = Vec::new();
        if success {
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
        }
        Ok(ExecResult {
            success,
            output,
            seconds: start.elapsed().as_secs_f64(),
            outputs,
        })
    }

    fn spawn(&self, action: &Action, sb: &Path) -> Result<(bool, String), ExecError> {
        let argv: Vec<String> = action.argv.iter().map(|a| self.substitute(a, sb)).collect();
        let mut cmd = crate::toolenv::command(Path::new(&argv[0]));
        cmd.args(&argv[1..])
            .current_dir(sb)
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
        self.isolation().apply(&mut cmd);
        let child = crate::process::spawn(&mut cmd).map_err(|source| ExecError::Spawn {
            tool: argv[0].clone(),
            source,
        })?;
        let pid = child.id();
        track(pid, true);
        let out = child.wait_with_output();
        track(pid, false);
        let out = out.map_err(|source| ExecError::Spawn {
            tool: argv[0].clone(),
            source,
        })?;
        let mut text = String::from_utf8_lossy(&out.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.success(), text))
    }
}

fn set_readonly(path: &Path, ro: bool) -> Result<(), ExecError> {
    let mut perm = fs::metadata(path).map_err(io_err(path))?.permissions();
    perm.set_readonly(ro);
    fs::set_permissions(path, perm).map_err(io_err(path))
}

/// Read-only staged copies would stop the temp dir's removal on some
/// systems; give directories back their write bit.
fn make_removable(sb: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(sb, fs::Permissions::from_mode(0o755));
}

/// A sandbox directory, removed when dropped. Its name comes from the
/// action key, so a rebuild of the same action in the same cache uses the
/// same path (a tool that leaks its sandbox path into an output is then
/// caught only when verify varies the sandbox root, and named for it).
struct Sandbox(PathBuf);

impl Sandbox {
    fn create(tmp: &Path, key: &ActionKey) -> Result<Sandbox, ExecError> {
        let base = format!("sb-{}", &key.to_hex()[..16]);
        let mut n = 0;
        loop {
            let dir = if n == 0 {
                tmp.join(&base)
            } else {
                tmp.join(format!("{base}-{n}"))
            };
            match fs::create_dir(&dir) {
                Ok(()) => return Ok(Sandbox(dir)),
                // Another process (or a leftover) has this name: next one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(io_err(tmp)(e)),
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        make_removable(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Tool messages name sandbox files; show them as the user knows them.
fn rewrite_paths(text: &str, sb: &Path, src_display: &str) -> String {
    let sb = sb.to_string_lossy();
    text.replace(&format!("{sb}/src/"), src_display)
        .replace(&format!("{sb}/"), "")
}
