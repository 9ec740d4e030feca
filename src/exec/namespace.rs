//! Linux namespaces for actions: a fresh user namespace (so no privileges
//! are needed), a mount namespace in which the staged inputs are read-only
//! bind mounts, and an empty network namespace, so a tool cannot reach the
//! network. Probed once; where the kernel refuses, actions run in plain
//! temp dirs and the reason is reported once.

use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

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
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => return Isolation::TempDir { why: e.to_string() },
        };
        for d in ["src", "pkg", "include"] {
            let _ = std::fs::create_dir(dir.path().join(d));
        }
        let mut cmd = Command::new("/bin/true");
        cmd.current_dir(dir.path());
        ns.apply(&mut cmd, dir.path());
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

    /// Arranges for `cmd` to start in fresh namespaces with the sandbox's
    /// input directories read-only.
    pub fn apply(&self, cmd: &mut Command, sb: &Path) {
        let Isolation::Namespaces { uid, gid } = self else {
            return;
        };
        let uid_map = format!("0 {uid} 1\n").into_bytes();
        let gid_map = format!("0 {gid} 1\n").into_bytes();
        let ro_dirs: Vec<CString> = ["src", "pkg", "include"]
            .iter()
            .filter_map(|d| CString::new(sb.join(d).to_string_lossy().as_bytes()).ok())
            .collect();
        let root = c"/";
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
                // Nothing mounted here propagates back to the host.
                mount(
                    None::<&std::ffi::CStr>,
                    root,
                    None::<&std::ffi::CStr>,
                    MsFlags::MS_REC | MsFlags::MS_PRIVATE,
                    None::<&std::ffi::CStr>,
                )?;
                for d in &ro_dirs {
                    let d = d.as_c_str();
                    mount(
                        Some(d),
                        d,
                        None::<&std::ffi::CStr>,
                        MsFlags::MS_BIND | MsFlags::MS_REC,
                        None::<&std::ffi::CStr>,
                    )?;
                    mount(
                        None::<&std::ffi::CStr>,
                        d,
                        None::<&std::ffi::CStr>,
                        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                        None::<&std::ffi::CStr>,
                    )?;
                }
                Ok(())
            });
        }
    }
}
