//! Publishing binaries to `gobuildr-out/<platform>/bin/<name>`.
//!
//! Invariant: a published file is always complete and verified, and has
//! mtime 0 like every output. It is
//! copied from a CAS blob whose digest was just re-checked, into a temp file
//! in the destination directory, then renamed over the old one. A file that
//! already has the right contents is left alone (a no-op build writes
//! nothing).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::cache::Cache;
use crate::digest::FileDigest;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publishing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cache blob {0} for {1} is missing or corrupt; run the build again to rebuild it")]
    Corrupt(FileDigest, PathBuf),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + '_ {
    move |source| PublishError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Places blob `digest` at `dest` (executable). Returns the sha256 of it.
pub fn publish(cache: &Cache, digest: &FileDigest, dest: &Path) -> Result<String, PublishError> {
    if !cache.verify_blob(digest) {
        return Err(PublishError::Corrupt(*digest, dest.to_path_buf()));
    }
    let current = cache.stats().digest(dest).ok();
    if current != Some(*digest) {
        let dir = dest.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
        fs::copy(cache.blob_path(digest), tmp.path()).map_err(io_err(dest))?;
        // Check what was copied, not what the stat cache remembers.
        if FileDigest::of_file(tmp.path()).map_err(io_err(dest))? != *digest {
            let _ = cache.verify_blob_contents(&cache.blob_path(digest));
            return Err(PublishError::Corrupt(*digest, dest.to_path_buf()));
        }
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).map_err(io_err(dest))?;
        // Like every output, a published binary carries no time (so its
        // stat-cache entry is never too fresh to trust).
        tmp.as_file()
            .set_modified(std::time::SystemTime::UNIX_EPOCH)
            .map_err(io_err(dest))?;
        tmp.persist(dest).map_err(|e| PublishError::Io {
            path: dest.to_path_buf(),
            source: e.error,
        })?;
        cache
            .stats()
            .remember(dest, *digest)
            .map_err(io_err(dest))?;
    }
    cache
        .stats()
        .sha256(dest, *digest, || sha256_file(dest))
        .map_err(io_err(dest))
}

pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    crate::digest::stream(fs::File::open(path)?, |chunk| h.update(chunk))?;
    Ok(crate::digest::hex(&h.finalize()))
}
