//! Linux namespaces for actions: a fresh user namespace (no privileges are
//! needed, and the tool runs as an unprivileged uid inside it, so the
//! read-only staged inputs really are read-only to it), a fresh mount
//! namespace, and an empty network namespace, so a tool cannot reach the
//! network. Probed once; where the kernel refuses, actions run in plain
//! temp dirs and the reason is reported once.
//!
//! No per-action mounts: bind mounts made every action cost more than the
//! tools themselves on a many-package build (measured in docs/benchmarks.md).

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sched::{unshare, CloneFlags};

/// The uid and gid a tool has inside its user namespace: not root, so it
/// has no capabilities and file permissions apply to it.
const INSIDE_ID: u32 = 65534;

pub enum Isolation {
    Namespaces { uid: u32, gid: u32 },
    TempDir { why: String },
}

/// Writes `data` to `path` with raw syscalls: runs between fork and exec,
/// where allocating is not allowed.
fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: plain syscalls on a NUL-terminated path and a live buffer.
    unsafe {
        let fd = nix::libc::open(path.as_ptr(), nix::libc::O_WRONLY);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let n = nix::libc::write(fd, data.as_ptr().cast(), data.len());
        nix::libc::close(fd);
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

impl Isolation {
    /// Tries the namespaces on a trivial child; falls back if refused.
    pub fn probe() -> Isolation {
        let ns = Isolation::Namespaces {
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
        };
        let mut cmd = Command::new("/bin/true");
        cmd.current_dir("/");
        ns.apply(&mut cmd);
        match crate::process::spawn(&mut cmd).and_then(|mut c| c.wait()) {
            Ok(s) if s.success() => ns,
            Ok(s) => Isolation::TempDir {
                why: format!("namespace probe exited with {s}"),
            },
            Err(e) => Isolation::TempDir { why: e.to_string() },
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Isolation::Namespaces { .. } => None,
            Isolation::TempDir { why } => Some(why),
        }
    }

    /// Arranges for `cmd` to start in fresh namespaces.
    pub fn apply(&self, cmd: &mut Command) {
        let Isolation::Namespaces { uid, gid } = self else {
            return;
        };
        let uid_map = format!("{INSIDE_ID} {uid} 1\n").into_bytes();
        let gid_map = format!("{INSIDE_ID} {gid} 1\n").into_bytes();
        // SAFETY: the closure runs in the forked child before exec; it only
        // makes syscalls on data prepared above (no allocation, no locks).
        unsafe {
            cmd.pre_exec(move || {
                unshare(
                    CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET,
                )?;
                write_proc(c"/proc/self/setgroups", b"deny")?;
                write_proc(c"/proc/self/uid_map", &uid_map)?;
                write_proc(c"/proc/self/gid_map", &gid_map)?;
                Ok(())
            });
        }
    }
}
