//! `gobuildr verify`: rebuild under varied conditions, prove the outputs
//! bit-identical, and when they are not, name the first action that
//! diverges and why.
//!
//! Each run is a separate `gobuildr build` process with a fresh, private
//! cache (so every action executes afresh and no run reuses another's
//! outputs), its own sandbox root, and the variations chosen for it. Run 0
//! is the baseline; every other run applies the variations. Runs leave
//! records (`attest::record`) that are compared action by action in dependency
//! order.

pub mod binary;
pub mod command;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::attest::record::{ActionRecord, RecordFile};

/// A condition a run can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variation {
    /// The workspace's absolute path (a copy of the sources elsewhere).
    Path,
    /// The sandbox root (the cache, and so every sandbox, at another path).
    Sandbox,
    /// The caller's environment: junk variables, TZ, LANG/LC_ALL, HOME, umask.
    Env,
    /// Parallelism: -j 1 against the default.
    Jobs,
    /// The order in which ready actions start and inputs are staged.
    Order,
}

pub const ALL: [Variation; 5] = [
    Variation::Path,
    Variation::Sandbox,
    Variation::Env,
    Variation::Jobs,
    Variation::Order,
];

impl fmt::Display for Variation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variation::Path => "path",
            Variation::Sandbox => "sandbox",
            Variation::Env => "env",
            Variation::Jobs => "jobs",
            Variation::Order => "order",
        })
    }
}

impl Variation {
    /// Parses `--vary` values: `all`, or names (`staging` is `order`).
    pub fn parse_list(items: &[String]) -> Result<Vec<Variation>, String> {
        let mut out = Vec::new();
        for item in items
            .iter()
            .flat_map(|i| i.split(','))
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let v: &[Variation] = match item {
                "all" => &ALL,
                "path" => &[Variation::Path],
                "sandbox" => &[Variation::Sandbox],
                "env" | "environment" => &[Variation::Env],
                "jobs" | "parallelism" => &[Variation::Jobs],
                "order" | "staging" => &[Variation::Order],
                other => {
                    return Err(format!(
                        "unknown variation {other:?} (known: all, path, sandbox, env, jobs, order)"
                    ))
                }
            };
            out.extend_from_slice(v);
        }
        if out.is_empty() {
            out.extend_from_slice(&ALL);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// How to start one `gobuildr build` for verify.
pub struct RunSpec<'a> {
    pub exe: &'a Path,
    pub workspace: &'a Path,
    /// Where the user stood, relative to the root (Go-style labels are
    /// relative to it).
    pub subdir: &'a str,
    /// Global flags to pass on (--go, --rules).
    pub global: &'a [String],
    /// Build flags to pass on (labels, --platforms, --tags).
    pub build: &'a [String],
    pub scratch: &'a Path,
    /// The user's cache, whose verified downloads each run starts with.
    pub main_cache: &'a Path,
}

/// One finished run.
pub struct RunResult {
    pub variations: Vec<Variation>,
    pub record: RecordFile,
    pub summary: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("run {run} ({variations}) failed to build:\n{stderr}")]
    Build {
        run: usize,
        variations: String,
        stderr: String,
    },
    #[error("verify scratch {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_name() == "gobuildr-out" {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}

/// Recreates a tree of files as hard links (copies across filesystems).
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            link_tree(&e.path(), &dest)?;
        } else if std::fs::hard_link(e.path(), &dest).is_err() {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

fn names(v: &[Variation]) -> String {
    if v.is_empty() {
        "baseline".into()
    } else {
        v.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Runs one build with the given variations (seeded by `run`).
pub fn run_one(
    spec: &RunSpec,
    run: usize,
    variations: &[Variation],
) -> Result<RunResult, VerifyError> {
    let dir = spec.scratch.join(format!(
        "run-{run}-{}",
        names(variations).replace(", ", "-")
    ));
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let ws = if variations.contains(&Variation::Path) {
        let copy = dir.join("elsewhere").join("workspace");
        copy_tree(spec.workspace, &copy).map_err(io_err(&copy))?;
        copy
    } else {
        spec.workspace.to_path_buf()
    };
    // Fresh every run; at one path unless the sandbox root is varied, so
    // that (with sandboxes named by action key) only that variation moves
    // the sandboxes.
    let cache = if variations.contains(&Variation::Sandbox) {
        dir.join("a/much/deeper/sandbox/root/cache")
    } else {
        spec.scratch.join("cache")
    };
    if cache.exists() {
        std::fs::remove_dir_all(&cache).map_err(io_err(&cache))?;
    }
    // Downloads are inputs, not outputs: every run starts with the modules
    // and toolchains the main cache has already verified (hard links), so
    // verify works offline. Actions still all run afresh.
    for sub in ["modcache-v1/cache/download", "toolchains-v1"] {
        let from = spec.main_cache.join(sub);
        if from.is_dir() {
            link_tree(&from, &cache.join(sub)).map_err(io_err(&from))?;
        }
    }
    let (summary, rec) = (dir.join("summary.json"), dir.join("record.json"));
    let mut cmd = Command::new(spec.exe);
    cmd.args(spec.global)
        .arg("-C")
        .arg(ws.join(spec.subdir))
        .arg("--cache-dir")
        .arg(&cache)
        .arg("build")
        .args(spec.build)
        .args(["-q", "--summary-json"])
        .arg(&summary)
        .arg("--record")
        .arg(&rec)
        .arg("--out")
        .arg(dir.join("out"));
    if variations.contains(&Variation::Jobs) {
        cmd.args(["-j", "1"]);
    }
    if variations.contains(&Variation::Order) {
        cmd.args(["--shuffle", &(0x5eed_u64 + run as u64).to_string()]);
    }
    if variations.contains(&Variation::Env) {
        let home = dir.join("home");
        let _ = std::fs::create_dir_all(&home);
        cmd.env("TZ", "Pacific/Kiritimati")
            .env("LANG", "tr_TR.UTF-8")
            .env("LC_ALL", "tr_TR.UTF-8")
            .env("HOME", &home)
            .env("GOBUILDR_VERIFY_JUNK", format!("run {run}"))
            .env("GOFLAGS", "-race -ldflags=-s")
            .env("GOAMD64", "v3")
            .env("CGO_ENABLED", "1");
        // SAFETY: umask is async-signal-safe and only affects the child.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
                Ok(())
            });
        }
    }
    let out = crate::process::output(&mut cmd).map_err(io_err(spec.exe))?;
    let load = |p: &Path| {
        std::fs::read(p)
            .ok()
            .and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok())
    };
    let record = std::fs::read(&rec)
        .ok()
        .and_then(|d| serde_json::from_slice::<RecordFile>(&d).ok());
    match (out.status.success(), record, load(&summary)) {
        (true, Some(record), Some(summary)) => Ok(RunResult {
            variations: variations.to_vec(),
            record,
            summary,
        }),
        _ => Err(VerifyError::Build {
            run,
            variations: names(variations),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// Where two runs first diverge.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub action: ActionRecord,
    pub other: ActionRecord,
    pub inputs_identical: bool,
    /// (sandbox path, origin, baseline digest, other digest) of the inputs
    /// that differ.
    pub inputs: Vec<(String, String, String, String)>,
    /// argv entries only in one of the runs.
    pub argv: (Vec<String>, Vec<String>),
}

/// The first action, in dependency order, whose outputs differ.
pub fn first_divergence(base: &RecordFile, other: &RecordFile) -> Option<Divergence> {
    let by_id: BTreeMap<&str, &ActionRecord> = other
        .actions
        .iter()
        .map(|a| (a.identity.as_str(), a))
        .collect();
    for a in &base.actions {
        let Some(b) = by_id.get(a.identity.as_str()) else {
            continue;
        };
        if a.outputs == b.outputs {
            continue;
        }
        let theirs: BTreeMap<&String, &crate::explain::InputRecord> =
            b.inputs.iter().map(|(k, v)| (k, v)).collect();
        let inputs = a
            .inputs
            .iter()
            .filter_map(|(at, i)| {
                let j = theirs.get(at)?;
                (i.digest != j.digest).then(|| {
                    (
                        at.clone(),
                        i.origin.clone(),
                        i.digest.clone(),
                        j.digest.clone(),
                    )
                })
            })
            .collect();
        let only = |x: &[String], y: &[String]| {
            x.iter()
                .filter(|s| !y.contains(s))
                .cloned()
                .collect::<Vec<_>>()
        };
        return Some(Divergence {
            action: a.clone(),
            other: (*b).clone(),
            inputs_identical: a.key == b.key,
            inputs,
            argv: (only(&a.argv, &b.argv), only(&b.argv, &a.argv)),
        });
    }
    None
}

/// Volatile stamps that explain a divergence in a link's argv.
pub fn volatile_cause(d: &Divergence, record: &RecordFile) -> Vec<String> {
    record
        .stamps
        .iter()
        .filter(|s| {
            !s.volatile.is_empty()
                && d.argv
                    .0
                    .iter()
                    .any(|a| a.starts_with(&format!("-X={}=", s.var)))
        })
        .map(|s| format!("{} ({})", s.var, s.volatile.join(", ")))
        .collect()
}
