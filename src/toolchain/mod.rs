//! The Go toolchain: where it is, what it is, and its identity digest.
//!
//! Invariant: the identity covers everything about the toolchain that can
//! change an output — its version, its host, and the bytes of the tools
//! gobuildr runs (compile, asm, link). Standard-library sources are keyed by
//! this identity (they ship with it) and are never re-hashed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

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

impl Toolchain {
    /// Locates `go` (the given path, else PATH) and fingerprints it.
    pub fn locate(explicit: Option<&Path>, scratch: &Path) -> Result<Toolchain, ToolchainError> {
        let go = match explicit {
            Some(p) => p.to_path_buf(),
            None => which("go").ok_or(ToolchainError::NotFound)?,
        };
        let out = Command::new(&go)
            .args([
                "env",
                "-json",
                "GOROOT",
                "GOVERSION",
                "GOHOSTOS",
                "GOHOSTARCH",
                "GOTOOLDIR",
            ])
            .env_clear()
            .envs(go_command_env(scratch))
            .output()
            .map_err(|e| ToolchainError::Run {
                go: go.clone(),
                msg: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(ToolchainError::Run {
                go,
                msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let env: GoEnv = serde_json::from_slice(&out.stdout).map_err(|e| ToolchainError::Run {
            go: go.clone(),
            msg: format!("unexpected `go env -json` output: {e}"),
        })?;
        let tool_dir = PathBuf::from(&env.gotooldir);
        let mut enc = KeyEncoder::<kind::Toolchain>::new("toolchain");
        enc.str("version", &env.goversion)
            .str("host", &format!("{}/{}", env.gohostos, env.gohostarch));
        for tool in TOOLS {
            let path = tool_dir.join(tool);
            let d =
                FileDigest::of_file(&path).map_err(|source| ToolchainError::Io { path, source })?;
            enc.str("tool", tool).digest("bytes", &d);
        }
        Ok(Toolchain {
            go,
            goroot: PathBuf::from(env.goroot),
            tool_dir,
            version: env.goversion,
            host_os: env.gohostos,
            host_arch: env.gohostarch,
            id: enc.finish(),
        })
    }

    /// The GOOS/GOARCH pairs this toolchain can target (`go tool dist list`).
    pub fn targets(&self, scratch: &Path) -> Result<Vec<String>, ToolchainError> {
        let out = Command::new(&self.go)
            .args(["tool", "dist", "list"])
            .env_clear()
            .envs(go_command_env(scratch))
            .output()
            .map_err(|e| ToolchainError::Run {
                go: self.go.clone(),
                msg: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(ToolchainError::Run {
                go: self.go.clone(),
                msg: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// The language version of this toolchain: `go1.26` for `go1.26.8`.
    pub fn lang(&self) -> String {
        lang_of(&self.version)
    }
}

/// `go1.26.8` → `go1.26`; `1.22` → `go1.22`; `1.21.0` → `go1.21`.
pub fn lang_of(version: &str) -> String {
    let v = version.trim_start_matches("go");
    let mut parts = v.split(['.', 'r', 'b']);
    let major = parts.next().unwrap_or("1");
    let minor = parts.next().unwrap_or("0");
    format!("go{major}.{minor}")
}

/// The fixed environment for running the `go` command itself (discovery and
/// identity): nothing of the caller's leaks in. GOENV=off keeps the user's
/// `go env -w` settings out; scratch holds go's own caches.
pub fn go_command_env(scratch: &Path) -> Vec<(String, String)> {
    let s = |p: &str| scratch.join(p).to_string_lossy().to_string();
    [
        ("GOENV", "off".to_string()),
        ("GOTOOLCHAIN", "local".to_string()),
        ("GOFLAGS", String::new()),
        ("CGO_ENABLED", "0".to_string()),
        ("HOME", s("home")),
        ("GOCACHE", s("gocache")),
        ("GOPATH", s("gopath")),
        ("GOMODCACHE", s("modcache-v1")),
        ("TZ", "UTC".to_string()),
        ("LC_ALL", "C".to_string()),
        ("PATH", "/usr/bin:/bin".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lang() {
        assert_eq!(super::lang_of("go1.26.8"), "go1.26");
        assert_eq!(super::lang_of("1.22"), "go1.22");
        assert_eq!(super::lang_of("go1.27rc1"), "go1.27");
    }
}
