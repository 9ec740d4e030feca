//! One verify run: a `gobuildr build` process with a fresh cache, under the
//! variations chosen for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::de::DeserializeOwned;

use crate::attest::record::RecordFile;

use super::{io_err, names, RunResult, RunSpec, Variation, VerifyError};

/// Where one run keeps its files.
struct RunDir(PathBuf);

impl RunDir {
    fn summary(&self) -> PathBuf {
        self.0.join("summary.json")
    }
    fn record(&self) -> PathBuf {
        self.0.join("record.json")
    }
}

/// Runs one build with the given variations (seeded by `run`).
pub fn run_one(
    spec: &RunSpec,
    run: usize,
    variations: &[Variation],
) -> Result<RunResult, VerifyError> {
    let dir = RunDir(spec.scratch.join(format!(
        "run-{run}-{}",
        names(variations).replace(", ", "-")
    )));
    std::fs::create_dir_all(&dir.0).map_err(io_err(&dir.0))?;
    let ws = workspace(spec, &dir, variations)?;
    let cache = fresh_cache(spec, &dir, variations)?;
    let mut cmd = build_command(spec, &ws, &cache, &dir);
    vary(&mut cmd, run, variations, &dir);
    let out = crate::process::output(&mut cmd).map_err(io_err(spec.exe))?;
    finish(&out, run, variations, &dir)
}

/// The workspace the run builds: the user's, or a copy elsewhere when the
/// path is varied.
fn workspace(
    spec: &RunSpec,
    dir: &RunDir,
    variations: &[Variation],
) -> Result<PathBuf, VerifyError> {
    if !variations.contains(&Variation::Path) {
        return Ok(spec.workspace.to_path_buf());
    }
    let copy = dir.0.join("elsewhere").join("workspace");
    copy_tree(spec.workspace, &copy).map_err(io_err(&copy))?;
    Ok(copy)
}

/// An empty cache seeded with the main cache's verified downloads.
fn fresh_cache(
    spec: &RunSpec,
    dir: &RunDir,
    variations: &[Variation],
) -> Result<PathBuf, VerifyError> {
    // Fresh every run; at one path unless the sandbox root is varied, so
    // that (with sandboxes named by action key) only that variation moves
    // the sandboxes.
    let cache = if variations.contains(&Variation::Sandbox) {
        dir.0.join("a/much/deeper/sandbox/root/cache")
    } else {
        spec.scratch.join("cache")
    };
    if cache.exists() {
        std::fs::remove_dir_all(&cache).map_err(io_err(&cache))?;
    }
    // Downloads are inputs, not outputs: every run starts with the modules
    // and toolchains the main cache has already verified (hard links), so
    // verify works offline. Actions still all run afresh.
    use crate::cache::Bucket;
    let download = Path::new(Bucket::Modcache.dir_name()).join("cache/download");
    for sub in [download.as_path(), Path::new(Bucket::Toolchains.dir_name())] {
        let from = spec.main_cache.join(sub);
        if from.is_dir() {
            link_tree(&from, &cache.join(sub)).map_err(io_err(&from))?;
        }
    }
    Ok(cache)
}

/// `gobuildr build` as every run starts it.
fn build_command(spec: &RunSpec, ws: &Path, cache: &Path, dir: &RunDir) -> Command {
    let mut cmd = Command::new(spec.exe);
    cmd.args(spec.global)
        .arg("-C")
        .arg(ws.join(spec.subdir))
        .arg("--cache-dir")
        .arg(cache)
        .arg("build")
        .args(spec.build)
        .args(["-q", "--summary-json"])
        .arg(dir.summary())
        .arg("--record")
        .arg(dir.record())
        .arg("--out")
        .arg(dir.0.join("out"));
    cmd
}

/// Applies the variations that are flags or the process environment.
fn vary(cmd: &mut Command, run: usize, variations: &[Variation], dir: &RunDir) {
    if variations.contains(&Variation::Jobs) {
        cmd.args(["-j", "1"]);
    }
    if variations.contains(&Variation::Order) {
        cmd.args(["--shuffle", &(0x5eed_u64 + run as u64).to_string()]);
    }
    if variations.contains(&Variation::Env) {
        vary_env(cmd, run, &dir.0.join("home"));
    }
}

/// Junk and hostile variables, another time zone and locale, another HOME,
/// a tight umask.
fn vary_env(cmd: &mut Command, run: usize, home: &Path) {
    let _ = std::fs::create_dir_all(home);
    cmd.env("TZ", "Pacific/Kiritimati")
        .env("LANG", "tr_TR.UTF-8")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("HOME", home)
        .env("GOBUILDR_VERIFY_JUNK", format!("run {run}"))
        .env("GOFLAGS", "-race -ldflags=-s")
        .env("GOAMD64", "v3")
        .env("CGO_ENABLED", "1");
    // SAFETY: umask is async-signal-safe and only affects the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
            Ok(())
        });
    }
}

/// The run's record and summary, if the build succeeded and left both.
fn finish(
    out: &Output,
    run: usize,
    variations: &[Variation],
    dir: &RunDir,
) -> Result<RunResult, VerifyError> {
    let record = read_json::<RecordFile>(&dir.record());
    let summary = read_json::<crate::report::BuiltSummary>(&dir.summary());
    match (out.status.success(), record, summary) {
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

fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    std::fs::read(path)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
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
