//! The Go toolchain: where it is, what it is, and its identity digest.
//!
//! Invariant: the identity covers everything about the toolchain that can
//! change an output — its version, its host, and the bytes of the tools
//! gobuildr runs (compile, asm, link). Standard-library sources are keyed by
//! this identity (they ship with it) and are never re-hashed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod pin;

use crate::cache::Cache;
use crate::digest::{kind, FileDigest, KeyEncoder, ToolchainId};

#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("no `go` found on PATH (install Go, or pass --go /path/to/go)")]
    NotFound,
    #[error("running {go}: {msg}")]
    Run { go: PathBuf, msg: String },
    #[error("toolchain file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("pinned toolchain go{version}: {msg}")]
    Pin { version: String, msg: String },
    #[error("pinned toolchain go{version}: {source}")]
    Database {
        version: String,
        source: Box<crate::sumdb::SumdbError>,
    },
}

#[derive(Debug, Clone)]
pub struct Toolchain {
    pub go: PathBuf,
    pub goroot: PathBuf,
    pub tool_dir: PathBuf,
    /// `go1.26.8`, as passed to compile's -goversion.
    pub version: String,
    pub host_os: String,
    pub host_arch: String,
    pub id: ToolchainId,
    /// Where it came from: PATH, --go, or a pinned module (with its hash).
    pub origin: String,
    record_path: PathBuf,
    record: Record,
}

/// Remembers a record; failing to is harmless (go env runs again next time).
fn save_record(path: &Path, r: &Record) {
    if let Ok(data) = serde_json::to_vec(r) {
        let _ = crate::fsutil::write_atomic(path, &data);
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "UPPERCASE")]
struct GoEnv {
    goroot: String,
    goversion: String,
    gohostos: String,
    gohostarch: String,
    gotooldir: String,
}

/// What `go env` said about one `go` binary, remembered under
/// `toolchain-v1/` so that an unchanged toolchain is identified without
/// starting a process.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    /// The `go` binary's digest: the record is valid while it matches.
    go_digest: FileDigest,
    goroot: PathBuf,
    version: String,
    host_os: String,
    host_arch: String,
    tool_dir: PathBuf,
    /// `go tool dist list`, once asked for.
    #[serde(default)]
    targets: Option<Vec<String>>,
}

/// The tools gobuildr invokes; their bytes are the toolchain's identity.
pub const TOOLS: [&str; 3] = ["compile", "asm", "link"];

/// Finds `name` on the caller's PATH. PATH is used only to locate `go`; it
/// never reaches an action.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

use crate::toolenv::{command, go_command_env};

fn run_go(go: &Path, args: &[&str], scratch: &Path) -> Result<Vec<u8>, ToolchainError> {
    let mut cmd = command(go);
    cmd.args(args).env_clear().envs(go_command_env(scratch));
    let out = crate::process::output(&mut cmd).map_err(|e| ToolchainError::Run {
        go: go.to_path_buf(),
        msg: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ToolchainError::Run {
            go: go.to_path_buf(),
            msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// An I/O error on `path`, as a toolchain error.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ToolchainError {
    let path = path.to_path_buf();
    move |source| ToolchainError::Io { path, source }
}

/// The `go` to use (the given path, else PATH's), canonical.
fn find_go(explicit: Option<&Path>) -> Result<PathBuf, ToolchainError> {
    let go = match explicit {
        Some(p) => p.to_path_buf(),
        None => which("go").ok_or(ToolchainError::NotFound)?,
    };
    go.canonicalize().map_err(io_error(&go))
}

impl Record {
    /// What `go env` says about `go` (whose digest is `go_digest`).
    fn ask(go: &Path, go_digest: FileDigest, scratch: &Path) -> Result<Record, ToolchainError> {
        let out = run_go(
            go,
            &[
                "env",
                "-json",
                "GOROOT",
                "GOVERSION",
                "GOHOSTOS",
                "GOHOSTARCH",
                "GOTOOLDIR",
            ],
            scratch,
        )?;
        let env: GoEnv = serde_json::from_slice(&out).map_err(|e| ToolchainError::Run {
            go: go.to_path_buf(),
            msg: format!("unexpected `go env -json` output: {e}"),
        })?;
        Ok(Record {
            go_digest,
            goroot: PathBuf::from(env.goroot),
            version: env.goversion,
            host_os: env.gohostos,
            host_arch: env.gohostarch,
            tool_dir: PathBuf::from(env.gotooldir),
            targets: None,
        })
    }

    /// The remembered record at `path`, if it is for this `go` binary.
    fn load(path: &Path, go_digest: &FileDigest) -> Option<Record> {
        std::fs::read(path)
            .ok()
            .and_then(|d| serde_json::from_slice::<Record>(&d).ok())
            .filter(|r| r.go_digest == *go_digest)
    }

    /// The toolchain's identity: its version, host and tools' bytes.
    fn identity(&self, cache: &Cache) -> Result<ToolchainId, ToolchainError> {
        let mut enc = KeyEncoder::<kind::Toolchain>::new("toolchain");
        enc.str("version", &self.version)
            .str("host", &format!("{}/{}", self.host_os, self.host_arch));
        for tool in TOOLS {
            let path = self.tool_dir.join(tool);
            let d = cache.stats().digest(&path).map_err(io_error(&path))?;
            enc.str("tool", tool).digest("bytes", &d);
        }
        Ok(enc.finish())
    }
}

impl Toolchain {
    /// Locates `go` (the given path, else PATH) and fingerprints it: `go env`
    /// runs only when this `go` binary was not seen before (or changed).
    pub fn locate(
        explicit: Option<&Path>,
        cache: &Cache,
        origin: &str,
    ) -> Result<Toolchain, ToolchainError> {
        let go = find_go(explicit)?;
        let go_digest = cache.stats().digest(&go).map_err(io_error(&go))?;
        let record_path = cache.dir(crate::cache::Bucket::Toolchain).join(format!(
            "{}.json",
            FileDigest::of_bytes(go.to_string_lossy().as_bytes())
        ));
        let record = match Record::load(&record_path, &go_digest) {
            Some(r) => r,
            None => {
                let r = Record::ask(&go, go_digest, cache.root())?;
                save_record(&record_path, &r);
                r
            }
        };
        Ok(Toolchain {
            go,
            goroot: record.goroot.clone(),
            tool_dir: record.tool_dir.clone(),
            version: record.version.clone(),
            host_os: record.host_os.clone(),
            host_arch: record.host_arch.clone(),
            id: record.identity(cache)?,
            origin: origin.to_string(),
            record_path,
            record,
        })
    }

    /// The GOOS/GOARCH pairs this toolchain can target (`go tool dist
    /// list`, asked once per toolchain).
    pub fn targets(&self, scratch: &Path) -> Result<Vec<String>, ToolchainError> {
        if let Some(t) = &self.record.targets {
            return Ok(t.clone());
        }
        let out = run_go(&self.go, &["tool", "dist", "list"], scratch)?;
        let targets: Vec<String> = String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_string)
            .collect();
        let mut r = self.record.clone();
        r.targets = Some(targets.clone());
        save_record(&self.record_path, &r);
        Ok(targets)
    }

    /// Whether this toolchain is at least Go `version` (`1.27`).
    pub fn at_least(&self, version: &str) -> bool {
        lang_at_least(&self.version, version)
    }

    /// The language version of this toolchain: `go1.26` for `go1.26.8`.
    pub fn lang(&self) -> String {
        lang_of(&self.version)
    }
}

/// The numbers of a Go version, which order versions when compared as
/// lists: `go1.26.8` → [1, 26, 8]; a part that is no number counts as 0.
pub fn version_numbers(version: &str) -> Vec<u32> {
    version
        .trim_start_matches("go")
        .split('.')
        .map(|x| x.parse().unwrap_or(0))
        .collect()
}

/// Whether Go `have`'s language version (major and minor) is at least
/// `want`'s: `go1.27rc1` is at least `1.27`.
fn lang_at_least(have: &str, want: &str) -> bool {
    version_numbers(&lang_of(have)) >= version_numbers(&lang_of(want))
}

/// `go1.26.8` → `go1.26`; `1.22` → `go1.22`; `1.21.0` → `go1.21`.
pub fn lang_of(version: &str) -> String {
    let v = version.trim_start_matches("go");
    let mut parts = v.split(['.', 'r', 'b']);
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    format!("go{major}.{minor}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_order_versions() {
        use super::version_numbers as n;
        assert_eq!(n("go1.26.8"), [1, 26, 8]);
        assert_eq!(n("1.22"), [1, 22]);
        assert!(n("go1.26.10") > n("go1.26.9"));
        assert!(n("go1.27") > n("go1.26.9"));
        assert!(n("go1.26.0") > n("go1.26"));
        assert_eq!(n("go1.27rc1"), [1, 0]);
    }

    #[test]
    fn lang_versions_compare_major_and_minor() {
        use super::lang_at_least as at_least;
        assert!(at_least("go1.27rc1", "1.27"));
        assert!(at_least("go1.26.8", "1.26.9"));
        assert!(!at_least("go1.26.8", "1.27"));
        assert!(at_least("go1.100.0", "1.27"));
    }

    #[test]
    fn lang() {
        assert_eq!(super::lang_of("go1.26.8"), "go1.26");
        assert_eq!(super::lang_of("1.22"), "go1.22");
        assert_eq!(super::lang_of("go1.27rc1"), "go1.27");
    }
}
