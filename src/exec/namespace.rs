//! Linux namespaces for actions: a fresh user namespace (no privileges are
//! needed, and the tool runs as an unprivileged uid inside it, so the
//! read-only staged inputs really are read-only to it), a fresh mount
//! namespace, and an empty network namespace, so a tool cannot reach the
//! network. Probed once; where the kernel refuses, actions run in plain
//! temp dirs and the reason is reported once.
//!
//! No per-action mounts for tools: bind mounts made every action cost more
//! than the tools themselves on a many-package build (measured in
//! docs/benchmarks.md). Test binaries are user code, and few: they get a
//! read-only view of every file system but their sandbox (`confine`).

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::sched::{unshare, CloneFlags};

/// The uid and gid a tool has inside its user namespace: not root, so it
/// has no capabilities and file permissions apply to it.
const INSIDE_ID: u32 = 65534;

pub enum Isolation {
    Namespaces {
        uid: u32,
        gid: u32,
        /// Why writes outside the sandbox cannot be refused, if they cannot.
        unconfined: Option<String>,
    },
    TempDir {
        why: String,
    },
}

/// The kernel's `struct mount_attr` (linux/mount.h), which the libc crate
/// does not define.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: nix::libc::c_uint = 0x8000;

fn check(rc: nix::libc::c_long) -> std::io::Result<()> {
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Sets or clears read-only on the mount tree at `path`.
fn set_read_only(path: &CStr, on: bool) -> std::io::Result<()> {
    let (set, clr) = if on {
        (MOUNT_ATTR_RDONLY, 0)
    } else {
        (0, MOUNT_ATTR_RDONLY)
    };
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr(2) with a NUL-terminated path and a live
    // struct of the size passed.
    check(unsafe {
        nix::libc::syscall(
            nix::libc::SYS_mount_setattr,
            nix::libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
}

/// In the child's own mount namespace: every mount read-only but a bind
/// mount of the sandbox. Runs between fork and exec (no allocation).
fn confine_writes(sandbox: &CStr) -> std::io::Result<()> {
    use nix::libc::{mount, MS_BIND, MS_PRIVATE, MS_REC};
    let none = std::ptr::null();
    // SAFETY: mount(2) on NUL-terminated paths; private first, so nothing
    // done here propagates to the host's mounts.
    unsafe {
        check(mount(none, c"/".as_ptr(), none, MS_REC | MS_PRIVATE, none.cast()).into())?;
        check(
            mount(
                sandbox.as_ptr(),
                sandbox.as_ptr(),
                none,
                MS_BIND | MS_REC,
                none.cast(),
            )
            .into(),
        )?;
    }
    set_read_only(c"/", true)?;
    set_read_only(sandbox, false)?;
    // The working directory was entered before these mounts, on the mount
    // now read-only: enter it again by name, through the sandbox's mount.
    let mut cwd = [0u8; 4096];
    // SAFETY: getcwd into a stack buffer of the length given; chdir on
    // the NUL-terminated result.
    unsafe {
        if nix::libc::getcwd(cwd.as_mut_ptr().cast(), cwd.len()).is_null() {
            return Err(std::io::Error::last_os_error());
        }
        check(nix::libc::chdir(cwd.as_ptr().cast()).into())
    }
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
        let (uid, gid) = (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
        let plain = Isolation::Namespaces {
            uid,
            gid,
            unconfined: Some(String::new()),
        };
        if let Err(why) = plain.try_true(None) {
            return Isolation::TempDir { why };
        }
        let confined = Isolation::Namespaces {
            uid,
            gid,
            unconfined: None,
        };
        let unconfined = tempfile::tempdir()
            .map_err(|e| e.to_string())
            .and_then(|dir| confined.try_true(Some(dir.path())))
            .err();
        Isolation::Namespaces {
            uid,
            gid,
            unconfined,
        }
    }

    fn try_true(&self, confine: Option<&Path>) -> Result<(), String> {
        let mut cmd = Command::new("/bin/true");
        cmd.current_dir("/");
        self.apply(&mut cmd, confine);
        match crate::process::spawn(&mut cmd).and_then(|mut c| c.wait()) {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("namespace probe exited with {s}")),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Isolation::Namespaces { .. } => None,
            Isolation::TempDir { why } => Some(why),
        }
    }

    /// Why confined children could write outside their sandbox, if so.
    pub fn unconfined(&self) -> Option<&str> {
        match self {
            Isolation::Namespaces { unconfined, .. } => unconfined.as_deref(),
            Isolation::TempDir { why } => Some(why),
        }
    }

    /// Arranges for `cmd` to start in fresh namespaces.
    /// With `confine`, only that directory is writable to the child.
    pub fn apply(&self, cmd: &mut Command, confine: Option<&Path>) {
        let Isolation::Namespaces {
            uid,
            gid,
            unconfined,
        } = self
        else {
            return;
        };
        let confine = confine
            .filter(|_| unconfined.is_none())
            .and_then(|p| CString::new(p.as_os_str().as_bytes()).ok());
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
                match &confine {
                    Some(dir) => confine_writes(dir),
                    None => Ok(()),
                }
            });
        }
    }
}
