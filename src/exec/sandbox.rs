//! The sandbox directory of one action.

use std::fs;
use std::path::{Path, PathBuf};

use super::{io_err, ExecError};
use crate::digest::ActionKey;

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
pub struct Sandbox(PathBuf);

impl Sandbox {
    pub fn create(tmp: &Path, key: &ActionKey) -> Result<Sandbox, ExecError> {
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

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        make_removable(&self.0);
        let _ = fs::remove_dir_all(&self.0);
    }
}
