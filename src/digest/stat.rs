//! The stat cache: file digests remembered by (size, mtime, ctime, inode),
//! so unchanged files are never re-read.
//!
//! Invariant: a remembered digest is used only while every one of those
//! fields is unchanged and the file was not modified within [`RACY`] of when
//! it was hashed (an edit in the same clock tick could otherwise hide).
//! A changed mtime alone only re-hashes; the digest decides what rebuilds.
//! The file is a hint: if it is lost, torn or shared by two processes, the
//! worst case is re-hashing.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::FileDigest;

/// Files modified this close to the moment they were hashed are re-hashed
/// next time: file timestamps advance in coarse kernel ticks, so an edit
/// right after hashing could keep the same mtime.
const RACY_NS: i128 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
}

impl Stat {
    fn of(meta: &std::fs::Metadata) -> Stat {
        Stat {
            size: meta.len(),
            mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
            ino: meta.ino(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    stat: Stat,
    digest: FileDigest,
    /// Only for published outputs, whose sha256 the summary reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// A digest derived from the contents (for Go files: the part go list
    /// reads), valid while `digest` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    derived: Option<FileDigest>,
    /// Hashed too soon after its last modification to be trusted later.
    #[serde(default)]
    racy: bool,
}

#[derive(Default)]
pub struct StatCache {
    file: Option<PathBuf>,
    entries: Mutex<HashMap<PathBuf, Entry>>,
    dirty: AtomicBool,
    /// How many files were actually read and hashed (for reports).
    hashed: std::sync::atomic::AtomicUsize,
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

impl StatCache {
    /// Loads the cache kept in `file` (missing or unreadable: empty).
    pub fn load(file: &Path) -> StatCache {
        let entries = std::fs::read(file)
            .ok()
            .and_then(|d| serde_json::from_slice::<HashMap<PathBuf, Entry>>(&d).ok())
            .unwrap_or_default();
        StatCache {
            file: Some(file.to_path_buf()),
            entries: Mutex::new(entries),
            ..Default::default()
        }
    }

    fn lookup(&self, path: &Path, stat: &Stat, ctime_matters: bool) -> Option<Entry> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(path)
            .filter(|e| {
                let same = e.stat.size == stat.size
                    && e.stat.mtime_ns == stat.mtime_ns
                    && e.stat.ino == stat.ino;
                same && (!ctime_matters || e.stat.ctime_ns == stat.ctime_ns) && !e.racy
            })
            .cloned()
    }

    fn record(&self, path: &Path, stat: Stat, digest: FileDigest, sha256: Option<String>) {
        let racy = now_ns() - stat.mtime_ns < RACY_NS;
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(
                path.to_path_buf(),
                Entry {
                    stat,
                    digest,
                    sha256,
                    derived: None,
                    racy,
                },
            );
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// The digest of a file, re-read only if its stat changed.
    pub fn digest(&self, path: &Path) -> std::io::Result<FileDigest> {
        self.digest_checked(path, true)
    }

    /// The digest of a CAS blob: like [`StatCache::digest`], but a changed
    /// ctime alone is no reason to re-read, because staging hard-links
    /// blobs (which changes their ctime) and nothing else writes them.
    pub fn blob_digest(&self, path: &Path) -> std::io::Result<FileDigest> {
        self.digest_checked(path, false)
    }

    fn digest_checked(&self, path: &Path, ctime_matters: bool) -> std::io::Result<FileDigest> {
        let stat = Stat::of(&std::fs::metadata(path)?);
        if let Some(e) = self.lookup(path, &stat, ctime_matters) {
            return Ok(e.digest);
        }
        let d = FileDigest::of_file(path)?;
        self.hashed.fetch_add(1, Ordering::Relaxed);
        // Keep a known sha256 if the contents did not change.
        let sha = self.entries.lock().ok().and_then(|e| {
            e.get(path)
                .filter(|e| e.digest == d)
                .and_then(|e| e.sha256.clone())
        });
        self.record(path, stat, d, sha);
        Ok(d)
    }

    /// The sha256 of a file whose blake3 digest is known to be `digest`
    /// (computed once per content, then remembered).
    pub fn sha256(
        &self,
        path: &Path,
        digest: FileDigest,
        compute: impl FnOnce() -> std::io::Result<String>,
    ) -> std::io::Result<String> {
        let stat = Stat::of(&std::fs::metadata(path)?);
        if let Some(sha) = self
            .lookup(path, &stat, true)
            .filter(|e| e.digest == digest)
            .and_then(|e| e.sha256)
        {
            return Ok(sha);
        }
        let sha = compute()?;
        self.record(path, stat, digest, Some(sha.clone()));
        Ok(sha)
    }

    /// A digest derived from a file's contents by `derive`, computed once
    /// per content (the file is read only when its content digest changed).
    pub fn derived(
        &self,
        path: &Path,
        derive: impl FnOnce(&[u8]) -> FileDigest,
    ) -> std::io::Result<FileDigest> {
        let content = self.digest(path)?;
        let known = self.entries.lock().ok().and_then(|e| {
            e.get(path)
                .filter(|e| e.digest == content)
                .and_then(|e| e.derived)
        });
        if let Some(d) = known {
            return Ok(d);
        }
        let d = derive(&std::fs::read(path)?);
        if let Ok(mut entries) = self.entries.lock() {
            if let Some(e) = entries.get_mut(path).filter(|e| e.digest == content) {
                e.derived = Some(d);
                self.dirty.store(true, Ordering::Relaxed);
            }
        }
        Ok(d)
    }

    /// Records a file whose digest the caller just computed (a blob moved
    /// into the CAS), so it is not hashed again.
    pub fn remember(&self, path: &Path, digest: FileDigest) -> std::io::Result<()> {
        let stat = Stat::of(&std::fs::metadata(path)?);
        self.record(path, stat, digest, None);
        Ok(())
    }

    /// Forgets a file (after it was found corrupt or replaced).
    pub fn forget(&self, path: &Path) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.remove(path).is_some() {
                self.dirty.store(true, Ordering::Relaxed);
            }
        }
    }

    /// How many files this run had to read.
    pub fn files_hashed(&self) -> usize {
        self.hashed.load(Ordering::Relaxed)
    }

    /// Writes the cache back if anything changed (atomically).
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.load(Ordering::Relaxed) {
            return Ok(());
        }
        let data = {
            let entries = self
                .entries
                .lock()
                .map_err(|_| std::io::Error::other("stat cache lock poisoned"))?;
            serde_json::to_vec(&*entries)?
        };
        crate::fsutil::write_atomic(file, &data).map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rehashes_on_change_only() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, "one").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let c = StatCache::load(&dir.path().join("stats.json"));
        let d1 = c.digest(&f).unwrap();
        assert_eq!(c.digest(&f).unwrap(), d1);
        assert_eq!(c.files_hashed(), 1);
        std::fs::write(&f, "two").unwrap();
        assert_ne!(c.digest(&f).unwrap(), d1);
        assert_eq!(c.files_hashed(), 2);
        c.save().unwrap();
        let c2 = StatCache::load(&dir.path().join("stats.json"));
        // Just written: racy, so hashed again once.
        c2.digest(&f).unwrap();
        assert_eq!(c2.files_hashed(), 1);
    }
}
