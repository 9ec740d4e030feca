//! The fixed environment gobuildr runs Go programs in, and how they are
//! started: the `go` command itself (discovery, identity, module
//! downloads) and, through [`command`], every toolchain binary. Nothing of
//! the caller's environment leaks in.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A program every toolchain binary runs through (an emulator such as
/// qemu-aarch64-static for a toolchain built for another architecture);
/// set once at startup.
static WRAPPER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Runs `go` and every tool through `wrapper` from now on.
pub fn use_wrapper(wrapper: PathBuf) {
    let _ = WRAPPER.set(wrapper);
}

/// A command that runs a toolchain binary (through the wrapper, if any).
pub fn command(program: &Path) -> Command {
    match WRAPPER.get() {
        Some(w) => {
            let mut c = Command::new(w);
            c.arg(program);
            c
        }
        None => Command::new(program),
    }
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
        ("GOMODCACHE", s(crate::cache::Bucket::Modcache.dir_name())),
        ("TZ", "UTC".to_string()),
        ("LC_ALL", "C".to_string()),
        ("PATH", "/usr/bin:/bin".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
