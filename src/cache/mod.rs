//! The on-disk cache: a content-addressed store of blobs and an action cache.
//!
//! Layout under the cache root (each directory carries its format version):
//! - `cas-v1/<2 hex>/<64 hex>`: blob contents, named by their blake3 digest;
//! - `ac-v1/<2 hex>/<64 hex>.json`: for an action key, the digests of its
//!   outputs and what the tool printed;
//! - `tmp/`: sandboxes and files being written (same filesystem, so a
//!   finished file moves into place with one rename).
//!
//! Invariants: every write is a temp file in the destination's directory
//! followed by a rename, so a reader (in this or another process) sees the
//! old entry, the new entry, or none, never a torn one. A cache hit checks
//! that every output blob still hashes to its name — re-reading it unless
//! its size, mtime and inode are those recorded when it was last verified —
//! and a blob staged as an input or published is re-read in full. A blob
//! that does not match its name is deleted, and the entry that pointed at
//! it becomes a miss.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::{ActionKey, FileDigest, StatCache};
use crate::fsutil::{write_atomic, FsError};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<FsError> for CacheError {
    fn from(e: FsError) -> CacheError {
        CacheError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CacheError + '_ {
    move |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One output of an action, as recorded in the action cache.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutputEntry {
    /// Sandbox-relative name of the output.
    pub name: String,
    pub digest: FileDigest,
    pub size: u64,
}

/// What the action cache records for one action key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionEntry {
    pub outputs: Vec<OutputEntry>,
    /// What the tool printed (warnings survive a cache hit).
    #[serde(default)]
    pub output: String,
    /// How long the action took when it ran.
    pub seconds: f64,
}

/// The cache root's directories, each named with the version of its
/// layout: a new layout takes a new name, so an old gobuildr's entries are
/// never misread (they are simply not found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Blobs by content digest.
    Cas,
    /// Action entries by action key.
    Ac,
    /// Stat-keyed digests, one file per workspace.
    Stat,
    /// Explain's previous ingredients, one file per workspace.
    Explain,
    /// Discovery results by request digest.
    Discover,
    /// What `go env` said of a `go` binary, by its digest.
    Toolchain,
    /// Fetched and verified toolchains.
    Toolchains,
    /// Verified modules, laid out as go's module cache.
    Modcache,
    /// Checksum-database tree heads and tiles.
    Sumdb,
}

impl Bucket {
    pub fn dir_name(self) -> &'static str {
        match self {
            Bucket::Cas => "cas-v1",
            Bucket::Ac => "ac-v1",
            Bucket::Stat => "stat-v1",
            Bucket::Explain => "explain-v2",
            Bucket::Discover => "discover-v1",
            Bucket::Toolchain => "toolchain-v1",
            Bucket::Toolchains => "toolchains-v1",
            Bucket::Modcache => "modcache-v1",
            Bucket::Sumdb => "sumdb-v1",
        }
    }

    /// The bucket's directory under a cache root.
    pub fn under(self, root: &Path) -> PathBuf {
        root.join(self.dir_name())
    }
}

pub struct Cache {
    root: PathBuf,
    cas: PathBuf,
    ac: PathBuf,
    tmp: PathBuf,
    /// Stat-keyed digests of blobs and of the workspace's files: a blob is
    /// re-hashed when its stat changed since it was last verified.
    stats: StatCache,
}

impl Cache {
    pub fn open(root: &Path) -> Result<Cache, CacheError> {
        let cache = Cache {
            root: root.to_path_buf(),
            cas: Bucket::Cas.under(root),
            ac: Bucket::Ac.under(root),
            tmp: root.join("tmp"),
            stats: StatCache::default(),
        };
        for d in [&cache.cas, &cache.ac, &cache.tmp] {
            fs::create_dir_all(d).map_err(io_err(d))?;
        }
        Ok(cache)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// One of the root's directories.
    pub fn dir(&self, bucket: Bucket) -> PathBuf {
        bucket.under(&self.root)
    }

    /// Uses the persistent stat cache of one workspace (kept under
    /// `stat-v1/`, named by the workspace root).
    pub fn with_workspace_stats(mut self, workspace_root: &Path) -> Cache {
        let name = FileDigest::of_bytes(workspace_root.to_string_lossy().as_bytes());
        self.stats = StatCache::load(&self.dir(Bucket::Stat).join(format!("{name}.json")));
        self
    }

    pub fn stats(&self) -> &StatCache {
        &self.stats
    }

    /// Where sandboxes and in-flight files live.
    pub fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    fn sharded(dir: &Path, hex: &str, suffix: &str) -> PathBuf {
        dir.join(&hex[..2]).join(format!("{hex}{suffix}"))
    }

    pub fn blob_path(&self, d: &FileDigest) -> PathBuf {
        Self::sharded(&self.cas, &d.to_hex(), "")
    }

    fn action_path(&self, k: &ActionKey) -> PathBuf {
        Self::sharded(&self.ac, &k.to_hex(), ".json")
    }

    /// Moves a finished file (on the cache's filesystem) into the store and
    /// returns its digest and size. The file is hashed, made read-only and
    /// renamed into place; an identical blob already there is kept.
    pub fn put_file(&self, path: &Path) -> Result<(FileDigest, u64), CacheError> {
        let digest = FileDigest::of_file(path).map_err(io_err(path))?;
        let size = fs::metadata(path).map_err(io_err(path))?.len();
        let dest = self.blob_path(&digest);
        // A blob already there (another action, or another process, made
        // the same bytes) is kept if it reads back right — replacing it
        // would change its inode under other users' stat caches — and
        // replaced if it is corrupt.
        if FileDigest::of_file(&dest)
            .map(|d| d == digest)
            .unwrap_or(false)
        {
            self.stats.remember(&dest, digest).map_err(io_err(&dest))?;
            return Ok((digest, size));
        }
        let dir = dest.parent().unwrap_or(&self.cas);
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let mut perm = fs::metadata(path).map_err(io_err(path))?.permissions();
        perm.set_readonly(true);
        fs::set_permissions(path, perm).map_err(io_err(path))?;
        if fs::rename(path, &dest).is_err() {
            // Another filesystem (should not happen): copy atomically.
            write_atomic(&dest, &fs::read(path).map_err(io_err(path))?)?;
        }
        self.stats.remember(&dest, digest).map_err(io_err(&dest))?;
        Ok((digest, size))
    }

    /// True if the blob is present and its contents hash to its name. A blob
    /// that does not is removed, so that whoever needs it rebuilds it.
    pub fn verify_blob(&self, d: &FileDigest) -> bool {
        let path = self.blob_path(d);
        match self.stats.blob_digest(&path) {
            Ok(actual) if actual == *d => true,
            Ok(_) => {
                let _ = fs::remove_file(&path);
                self.stats.forget(&path);
                false
            }
            Err(_) => false,
        }
    }

    /// Re-reads a blob in full (when it is about to be used as an input or
    /// published); a blob that does not match its name is removed.
    pub fn verify_blob_contents(&self, path: &Path) -> bool {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        match (FileDigest::from_hex(&name), FileDigest::of_file(path)) {
            (Some(want), Ok(have)) if want == have => true,
            _ => {
                let _ = fs::remove_file(path);
                self.stats.forget(path);
                false
            }
        }
    }

    /// The action entry for a key, if present, parseable and with every
    /// output blob intact. Anything less is a miss.
    pub fn get_action(&self, k: &ActionKey) -> Option<ActionEntry> {
        let path = self.action_path(k);
        let data = fs::read(&path).ok()?;
        let entry: ActionEntry = match serde_json::from_slice(&data) {
            Ok(e) => e,
            Err(_) => {
                let _ = fs::remove_file(&path);
                return None;
            }
        };
        if entry.outputs.iter().all(|o| self.verify_blob(&o.digest)) {
            Some(entry)
        } else {
            let _ = fs::remove_file(&path);
            None
        }
    }

    /// Records an action entry (after all its blobs are stored).
    pub fn put_action(&self, k: &ActionKey, entry: &ActionEntry) -> Result<(), CacheError> {
        let data = serde_json::to_vec(entry).map_err(|e| CacheError::Io {
            path: self.action_path(k),
            source: e.into(),
        })?;
        Ok(write_atomic(&self.action_path(k), &data)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ActionKey {
        ActionKey::from_hex(&blake3::hash(s.as_bytes()).to_hex()).unwrap()
    }

    fn stored(cache: &Cache, dir: &Path, text: &str) -> OutputEntry {
        let f = dir.join("out");
        fs::write(&f, text).unwrap();
        let (digest, size) = cache.put_file(&f).unwrap();
        OutputEntry {
            name: "obj/out".into(),
            digest,
            size,
        }
    }

    fn entry(outputs: Vec<OutputEntry>) -> ActionEntry {
        ActionEntry {
            outputs,
            output: "warning".into(),
            seconds: 1.5,
        }
    }

    #[test]
    fn an_entry_round_trips_with_its_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("c")).unwrap();
        let out = stored(&cache, dir.path(), "bytes");
        assert_eq!(out.digest, FileDigest::of_bytes(b"bytes"));
        cache.put_action(&key("a"), &entry(vec![out])).unwrap();
        let got = cache.get_action(&key("a")).unwrap();
        assert_eq!(got.output, "warning");
        assert_eq!(
            fs::read(cache.blob_path(&got.outputs[0].digest)).unwrap(),
            b"bytes"
        );
        assert!(cache.get_action(&key("b")).is_none());
    }

    #[test]
    fn an_entry_whose_blob_is_gone_or_corrupt_is_a_miss_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("c")).unwrap();
        let out = stored(&cache, dir.path(), "bytes");
        let blob = cache.blob_path(&out.digest);
        cache.put_action(&key("a"), &entry(vec![out])).unwrap();
        let mut perms = fs::metadata(&blob).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&blob, perms).unwrap();
        fs::write(&blob, "other").unwrap();
        assert!(cache.get_action(&key("a")).is_none());
        assert!(!cache.action_path(&key("a")).exists());
    }

    #[test]
    fn an_unparseable_entry_is_a_miss_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("c")).unwrap();
        let path = cache.action_path(&key("a"));
        write_atomic(&path, b"{not json").unwrap();
        assert!(cache.get_action(&key("a")).is_none());
        assert!(!path.exists());
    }

    #[test]
    fn buckets_are_versioned_directories_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("c")).unwrap();
        assert_eq!(cache.dir(Bucket::Cas), cache.root().join("cas-v1"));
        assert_eq!(Bucket::Explain.dir_name(), "explain-v2");
        assert!(cache.dir(Bucket::Ac).is_dir());
    }
}
