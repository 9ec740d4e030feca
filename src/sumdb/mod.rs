//! The checksum database client: every module hash gobuildr uses is looked
//! up in the configured database (GOSUMDB), and the answer is believed only
//! after it is proved: the tree head is signed by the database's key, the
//! record is included in that tree, and the tree extends every tree head
//! seen before (and the configured pin). Nothing here falls back to
//! trusting go.sum: an unreachable or lying database is an error.
//!
//! Cache (`sumdb-v1/<name>/` in gobuildr's cache): `latest` (the newest
//! proved tree head), `tile/...` (tiles that took part in a proof),
//! `lookup/<module>@<version>` (proved records), `pin` (the newest head
//! proved to extend the pin). Files are written only after their proof, so
//! a warm run needs no request at all.

pub mod note;
pub mod tlog;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use note::{NoteError, Verifier};
use tlog::{Proof, ProofError, Tile, TileSource, Tree};

/// How the database is reached: GET a path under its URL. `Ok(None)` is
/// "not found" (404/410).
pub trait Remote: Send + Sync {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    /// The URL it reaches, without credentials, for messages.
    fn describe(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
pub enum SumdbError {
    #[error("checksum database {db}: {why}")]
    Unreachable { db: String, why: String },
    #[error("checksum database {db}: {source}")]
    Note { db: String, source: NoteError },
    #[error("checksum database {db}: malformed answer for {what}")]
    Malformed { db: String, what: String },
    #[error("checksum database {db} has no record of {module} {version}")]
    NotFound {
        db: String,
        module: String,
        version: String,
    },
    #[error("checksum database {db}: the record it gave for {module} {version} is not included in its signed tree {tree}; refused")]
    NotIncluded {
        db: String,
        module: String,
        version: String,
        tree: Tree,
    },
    #[error("checksum database {db} forked: it signed tree {new}, which does not extend tree {old} seen before; refused")]
    Fork { db: String, old: Tree, new: Tree },
    #[error("checksum database {db} rolled back: it signed tree {new}, older than tree {old} seen before and not a prefix of it; refused")]
    Rollback { db: String, old: Tree, new: Tree },
    #[error("checksum database {db} drifted from the pin in gobuildr.toml: tree {tree} does not extend the pinned tree {pin}")]
    PinDrift { db: String, pin: Tree, tree: Tree },
    #[error("{module} {version} has not been proved by checksum database {db} yet, and --offline forbids asking it")]
    Offline {
        db: String,
        module: String,
        version: String,
    },
    #[error("checksum database cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The hashes the database holds for one module version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub zip: Option<String>,
    pub go_mod: Option<String>,
}

impl Record {
    /// The hash for the zip (`go_mod` false) or the go.mod.
    pub fn hash(&self, go_mod: bool) -> Option<&str> {
        if go_mod {
            self.go_mod.as_deref()
        } else {
            self.zip.as_deref()
        }
    }

    fn parse(text: &str, module: &str, version: &str) -> Option<Record> {
        let mut rec = Record {
            zip: None,
            go_mod: None,
        };
        let gomod_version = format!("{version}/go.mod");
        for line in text.lines() {
            let [m, v, h] = line.split(' ').collect::<Vec<_>>()[..] else {
                return None;
            };
            if m != module {
                return None;
            }
            if v == version {
                rec.zip = Some(h.to_string());
            } else if v == gomod_version {
                rec.go_mod = Some(h.to_string());
            } else {
                return None;
            }
        }
        (rec.zip.is_some() || rec.go_mod.is_some()).then_some(rec)
    }
}

/// GOSUMDB, parsed: which key, and where the database is when no proxy
/// offers it.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub verifier: Verifier,
    /// The database's own URL (`https://<name>` unless GOSUMDB gives one).
    pub url: String,
}

impl DbConfig {
    /// Parses GOSUMDB: `off` (None), `name`, `name url`, `name+key`,
    /// `name+key url`.
    pub fn parse(gosumdb: &str) -> Result<Option<DbConfig>, NoteError> {
        let mut words = gosumdb.split_whitespace();
        let Some(first) = words.next() else {
            return Ok(None);
        };
        if first == "off" {
            return Ok(None);
        }
        let verifier = if first.contains('+') {
            Verifier::parse(first)?
        } else {
            Verifier::known(first)?
        };
        let url = match words.next() {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("https://{}", verifier.name),
        };
        Ok(Some(DbConfig { verifier, url }))
    }
}

/// The database for one run.
pub struct Database {
    verifier: Verifier,
    remote: Box<dyn Remote>,
    dir: PathBuf,
    offline: bool,
    pin: Option<Tree>,
    /// Tiles read this run (proved or not yet), by path.
    tiles: Mutex<BTreeMap<String, Vec<u8>>>,
    /// Serialises proofs that move `latest`.
    latest: Mutex<()>,
    /// One lookup per module version at a time (its zip and go.mod are
    /// checked in parallel; the second finds the first's proved record).
    inflight: Mutex<BTreeMap<String, std::sync::Arc<Mutex<()>>>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SumdbError + '_ {
    move |source| SumdbError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Database {
    pub fn new(
        config: &DbConfig,
        remote: Box<dyn Remote>,
        cache_root: &Path,
        offline: bool,
        pin: Option<Tree>,
    ) -> Database {
        Database {
            dir: crate::cache::Bucket::Sumdb
                .under(cache_root)
                .join(crate::workspace::gomod::escape(&config.verifier.name)),
            verifier: config.verifier.clone(),
            remote,
            offline,
            pin,
            tiles: Mutex::new(BTreeMap::new()),
            latest: Mutex::new(()),
            inflight: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    fn db(&self) -> String {
        format!("{} ({})", self.verifier.name, self.remote.describe())
    }

    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, SumdbError> {
        self.remote
            .get(path)
            .map_err(|why| SumdbError::Unreachable { db: self.db(), why })
    }

    fn record_path(&self, module: &str, version: &str) -> PathBuf {
        self.dir.join("lookup").join(format!(
            "{}@{version}",
            crate::workspace::gomod::escape(module)
        ))
    }

    /// The proved record for `module version`: from the cache, else asked
    /// of the database and proved.
    pub fn lookup(&self, module: &str, version: &str) -> Result<Record, SumdbError> {
        let poisoned = || SumdbError::Unreachable {
            db: self.db(),
            why: "a lookup panicked".into(),
        };
        let slot = self
            .inflight
            .lock()
            .map_err(|_| poisoned())?
            .entry(format!("{module}@{version}"))
            .or_default()
            .clone();
        let _one = slot.lock().map_err(|_| poisoned())?;
        self.lookup_once(module, version)
    }

    fn lookup_once(&self, module: &str, version: &str) -> Result<Record, SumdbError> {
        let cached = self.record_path(module, version);
        if let Ok(text) = std::fs::read_to_string(&cached) {
            if let Some(r) = Record::parse(&text, module, version) {
                self.ensure_pin()?;
                return Ok(r);
            }
        }
        if self.offline {
            return Err(SumdbError::Offline {
                db: self.db(),
                module: module.into(),
                version: version.into(),
            });
        }
        let path = format!(
            "lookup/{}@{version}",
            crate::workspace::gomod::escape(module)
        );
        let body = self.get(&path)?.ok_or_else(|| SumdbError::NotFound {
            db: self.db(),
            module: module.into(),
            version: version.into(),
        })?;
        let malformed = || SumdbError::Malformed {
            db: self.db(),
            what: path.clone(),
        };
        let (id, text, note) = split_lookup(&body).ok_or_else(malformed)?;
        let record = Record::parse(text, module, version).ok_or_else(malformed)?;
        let tree = self.open_tree(note)?;
        self.advance(tree, Some((id, text.as_bytes())), module, version)?;
        crate::fsutil::write_atomic(&cached, text.as_bytes())
            .map_err(|e| io(&cached)(std::io::Error::other(e.to_string())))?;
        Ok(record)
    }

    fn open_tree(&self, note: &[u8]) -> Result<Tree, SumdbError> {
        let text = self
            .verifier
            .open(note)
            .map_err(|source| SumdbError::Note {
                db: self.db(),
                source,
            })?;
        Tree::parse_note_text(text).ok_or_else(|| SumdbError::Malformed {
            db: self.db(),
            what: "signed tree head".into(),
        })
    }

    fn cached_latest(&self) -> Option<Tree> {
        let text = std::fs::read_to_string(self.dir.join("latest")).ok()?;
        Tree::parse_pin(&text)
    }

    /// With a pin, proves (once per newest head) that the database extends
    /// it, from the newest head known (fetched if none is).
    fn ensure_pin(&self) -> Result<(), SumdbError> {
        let Some(pin) = self.pin else {
            return Ok(());
        };
        let proved = std::fs::read_to_string(self.dir.join("pin")).ok();
        if let Some(latest) = self.cached_latest() {
            if proved.as_deref() == Some(&format!("{pin} => {latest}")) {
                return Ok(());
            }
        }
        if self.offline {
            return Err(SumdbError::Unreachable {
                db: self.db(),
                why: "the pin is not proved against a cached tree head, and --offline forbids asking the database".into(),
            });
        }
        let note = self.get("latest")?.ok_or_else(|| SumdbError::Unreachable {
            db: self.db(),
            why: "latest: not found".into(),
        })?;
        let tree = self.open_tree(&note)?;
        self.advance(tree, None, "", "")
    }

    /// Moves to a newly signed tree head: proves it consistent with the
    /// newest head seen before and the pin, and (if given) the record's
    /// inclusion; caches the proved tiles and head.
    fn advance(
        &self,
        signed: Tree,
        record: Option<(u64, &[u8])>,
        module: &str,
        version: &str,
    ) -> Result<(), SumdbError> {
        let _guard = self.latest.lock().map_err(|_| SumdbError::Unreachable {
            db: self.db(),
            why: "a proof panicked".into(),
        })?;
        let known = self.cached_latest();
        let newest = self.newest(known, signed)?;
        let mut older: Vec<Tree> = [known, Some(signed), self.pin]
            .into_iter()
            .flatten()
            .filter(|t| *t != newest)
            .collect();
        older.dedup();
        let consistency = Proof {
            newest,
            older: &older,
            record: None,
        };
        let mut src = Tiles { db: self };
        let mut proved = consistency
            .check(&mut src)
            .map_err(|e| self.consistency_error(e, known, signed, newest))?;
        if let Some(record) = record {
            proved.extend(self.prove_inclusion(signed, record, module, version)?);
        }
        self.store_proved(&proved, newest)
    }

    /// The newest of the cached head and a newly signed one; refused if
    /// they fork (same size, other root) or the pin is beyond it.
    fn newest(&self, known: Option<Tree>, signed: Tree) -> Result<Tree, SumdbError> {
        let db = self.db();
        if let Some(old) = known.filter(|k| k.size == signed.size && k.root != signed.root) {
            return Err(SumdbError::Fork {
                db,
                old,
                new: signed,
            });
        }
        let newest = match known {
            Some(k) if k.size > signed.size => k,
            _ => signed,
        };
        if let Some(pin) = self.pin.filter(|p| p.size > newest.size) {
            return Err(SumdbError::PinDrift {
                db,
                pin,
                tree: newest,
            });
        }
        Ok(newest)
    }

    /// Proves record `id` (with `text`) is in the `signed` tree; the
    /// tiles that prove it.
    fn prove_inclusion(
        &self,
        signed: Tree,
        (id, text): (u64, &[u8]),
        module: &str,
        version: &str,
    ) -> Result<Vec<(Tile, Vec<u8>)>, SumdbError> {
        if id >= signed.size {
            return Err(self.not_included(module, version, signed));
        }
        let inclusion = Proof {
            newest: signed,
            older: &[],
            record: Some((id, text)),
        };
        let mut src = Tiles { db: self };
        inclusion
            .check(&mut src)
            .map_err(|_| self.not_included(module, version, signed))
    }

    fn not_included(&self, module: &str, version: &str, tree: Tree) -> SumdbError {
        SumdbError::NotIncluded {
            db: self.db(),
            module: module.into(),
            version: version.into(),
            tree,
        }
    }

    /// Names what a failed consistency proof means: which head the tiles
    /// of the newest one could not reproduce.
    fn consistency_error(
        &self,
        e: ProofError,
        known: Option<Tree>,
        signed: Tree,
        newest: Tree,
    ) -> SumdbError {
        let db = self.db();
        let failed = match e {
            ProofError::Mismatch { want, .. } => want,
            // Tiles of a tree seen before that the database cannot serve.
            ProofError::Tiles(_) if newest != signed => newest,
            ProofError::Tiles(why) => return SumdbError::Unreachable { db, why },
        };
        match (known, self.pin) {
            (_, Some(pin)) if failed == pin => SumdbError::PinDrift {
                db,
                pin,
                tree: newest,
            },
            (Some(old), _) if signed.size < old.size => SumdbError::Rollback {
                db,
                old,
                new: signed,
            },
            // Either the new head does not extend the old, or its tiles
            // disagree with tiles proved before: two histories.
            (Some(old), _) => SumdbError::Fork {
                db,
                old,
                new: signed,
            },
            _ => SumdbError::Malformed {
                db,
                what: format!("tiles of tree {signed} (they do not hash to its root)"),
            },
        }
    }

    /// Caches tiles and the head that a proof just used.
    fn store_proved(&self, tiles: &[(Tile, Vec<u8>)], newest: Tree) -> Result<(), SumdbError> {
        let write = |path: PathBuf, data: &[u8]| {
            crate::fsutil::write_atomic(&path, data)
                .map_err(|e| io(&path)(std::io::Error::other(e.to_string())))
        };
        for (tile, data) in tiles {
            let path = self.dir.join(tile.path());
            if !path.exists() {
                write(path, data)?;
            }
        }
        write(self.dir.join("latest"), newest.to_string().as_bytes())?;
        if let Some(pin) = self.pin {
            write(
                self.dir.join("pin"),
                format!("{pin} => {newest}").as_bytes(),
            )?;
        }
        Ok(())
    }

    /// The newest proved tree head, for reports.
    pub fn latest(&self) -> Option<Tree> {
        self.cached_latest()
    }
}

/// Tiles from this run's memory, the cache, or the database.
struct Tiles<'a> {
    db: &'a Database,
}

impl TileSource for Tiles<'_> {
    fn tile(&mut self, tile: Tile) -> Result<Vec<u8>, String> {
        let path = tile.path();
        let mut mem = self.db.tiles.lock().map_err(|_| "tile cache poisoned")?;
        if let Some(d) = mem.get(&path) {
            return Ok(d.clone());
        }
        let data = match std::fs::read(self.db.dir.join(&path)) {
            Ok(d) => d,
            Err(_) if self.db.offline => return Err(format!("{path} is not cached (--offline)")),
            Err(_) => self
                .db
                .remote
                .get(&path)?
                .ok_or_else(|| format!("{path}: not found"))?,
        };
        mem.insert(path, data.clone());
        Ok(data)
    }
}

/// Splits a lookup answer: record id, record text, signed tree head.
fn split_lookup(body: &[u8]) -> Option<(u64, &str, &[u8])> {
    let text = std::str::from_utf8(body).ok()?;
    let (id, rest) = text.split_once('\n')?;
    let end = rest.find("\n\n")?;
    Some((
        id.trim().parse().ok()?,
        &rest[..end + 1],
        &body[id.len() + end + 3..],
    ))
}

#[cfg(test)]
mod tests;
