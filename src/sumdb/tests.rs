//! The client against an in-memory database that signs with a test key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::note::tests::{keypair, sign};
use super::tlog::tests::MemLog;
use super::*;

/// A database served from memory; `lie` replaces looked-up record texts.
#[derive(Clone)]
struct MemDb {
    inner: Arc<Mutex<State>>,
    requests: Arc<AtomicUsize>,
}

struct State {
    log: MemLog,
    records: Vec<(String, String)>,
    sk: ed25519_dalek::SigningKey,
    vkey: String,
    lie: Option<String>,
}

impl MemDb {
    fn new(seed: u8) -> MemDb {
        let (sk, vkey) = keypair("db.test", seed);
        MemDb {
            inner: Arc::new(Mutex::new(State {
                log: MemLog::default(),
                records: Vec::new(),
                sk,
                vkey,
                lie: None,
            })),
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn add(&self, module: &str, version: &str, h: &str) {
        let mut s = self.inner.lock().unwrap();
        let text = format!("{module} {version} h1:{h}=\n{module} {version}/go.mod h1:{h}m=\n");
        s.log.append(text.as_bytes());
        s.records.push((format!("{module}@{version}"), text));
    }

    fn fill(&self, n: usize, tag: &str) {
        for i in 0..n {
            self.add(&format!("filler.test/{tag}{i}"), "v1.0.0", "AAAA");
        }
    }

    fn config(&self) -> DbConfig {
        let vkey = self.inner.lock().unwrap().vkey.clone();
        DbConfig::parse(&vkey).unwrap().unwrap()
    }

    fn signed_head(s: &State) -> String {
        let tree = s.log.tree(s.log.size());
        sign(
            "db.test",
            &s.sk,
            &s.vkey,
            &format!("go.sum database tree\n{}\n{}\n", tree.size, tree.root),
        )
    }
}

impl Remote for MemDb {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut s = self.inner.lock().unwrap();
        if path == "latest" {
            return Ok(Some(Self::signed_head(&s).into_bytes()));
        }
        if let Some(key) = path.strip_prefix("lookup/") {
            let Some(id) = s.records.iter().position(|(k, _)| k == key) else {
                return Ok(None);
            };
            let text = s.lie.clone().unwrap_or_else(|| s.records[id].1.clone());
            return Ok(Some(
                format!("{id}\n{text}\n{}", Self::signed_head(&s)).into_bytes(),
            ));
        }
        let size = s.log.size();
        for level in 0..4u32 {
            let have = size >> (level * 8);
            for index in 0..have.div_ceil(256) {
                let width = (have - index * 256).min(256);
                let t = Tile {
                    level,
                    index,
                    width,
                };
                if t.path() == path {
                    return s.log.tile(t).map(Some);
                }
            }
        }
        Ok(None)
    }

    fn describe(&self) -> String {
        "mem".into()
    }
}

fn open(db: &MemDb, cache: &Path, pin: Option<Tree>) -> Database {
    Database::new(&db.config(), Box::new(db.clone()), cache, false, pin)
}

#[test]
fn records_are_proved_cached_and_then_cost_no_request() {
    let db = MemDb::new(1);
    db.fill(300, "a");
    db.add("example.com/m", "v1.0.0", "good");
    db.fill(40, "b");
    let cache = tempfile::tempdir().unwrap();
    let rec = open(&db, cache.path(), None)
        .lookup("example.com/m", "v1.0.0")
        .unwrap();
    assert_eq!(rec.zip.as_deref(), Some("h1:good="));
    assert_eq!(rec.go_mod.as_deref(), Some("h1:goodm="));
    let before = db.requests.load(Ordering::SeqCst);
    open(&db, cache.path(), None)
        .lookup("example.com/m", "v1.0.0")
        .unwrap();
    assert_eq!(db.requests.load(Ordering::SeqCst), before);
    // The database grows; a new lookup proves the new head extends the old.
    db.fill(600, "c");
    db.add("example.com/n", "v1.0.0", "next");
    open(&db, cache.path(), None)
        .lookup("example.com/n", "v1.0.0")
        .unwrap();
    assert!(matches!(
        open(&db, cache.path(), None).lookup("example.com/absent", "v1.0.0"),
        Err(SumdbError::NotFound { .. })
    ));
}

#[test]
fn a_record_outside_the_tree_is_refused() {
    let db = MemDb::new(1);
    db.fill(10, "a");
    db.add("example.com/m", "v1.0.0", "good");
    db.inner.lock().unwrap().lie =
        Some("example.com/m v1.0.0 h1:evil=\nexample.com/m v1.0.0/go.mod h1:evilm=\n".into());
    let cache = tempfile::tempdir().unwrap();
    let got = open(&db, cache.path(), None).lookup("example.com/m", "v1.0.0");
    assert!(
        matches!(got, Err(SumdbError::NotIncluded { .. })),
        "{got:?}"
    );
    assert!(!cache.path().join("sumdb-v1/db.test/lookup").exists());
}

#[test]
fn forks_rollbacks_and_pin_drift_are_refused_naming_both_heads() {
    let honest = MemDb::new(1);
    honest.fill(300, "a");
    honest.add("example.com/m", "v1.0.0", "good");
    let cache = tempfile::tempdir().unwrap();
    open(&honest, cache.path(), None)
        .lookup("example.com/m", "v1.0.0")
        .unwrap();
    let seen = open(&honest, cache.path(), None).latest().unwrap();

    // Same key, same size, other history.
    let fork = MemDb::new(1);
    fork.fill(300, "x");
    fork.add("example.com/m", "v1.0.0", "good");
    fork.add("example.com/o", "v1.0.0", "other");
    let forked = MemDb::new(1);
    forked.fill(300, "x");
    forked.add("example.com/o", "v1.0.0", "other");
    let got = open(&forked, cache.path(), None).lookup("example.com/o", "v1.0.0");
    match got {
        Err(SumdbError::Fork { old, .. }) => assert_eq!(old, seen),
        other => panic!("{other:?}"),
    }
    let bigger = open(&fork, cache.path(), None).lookup("example.com/o", "v1.0.0");
    assert!(matches!(bigger, Err(SumdbError::Fork { .. })), "{bigger:?}");

    // Rewound and regrown to a smaller size.
    let rewound = MemDb::new(1);
    rewound.fill(100, "a");
    rewound.add("example.com/o", "v1.0.0", "other");
    let got = open(&rewound, cache.path(), None).lookup("example.com/o", "v1.0.0");
    let msg = got
        .as_ref()
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(matches!(got, Err(SumdbError::Rollback { .. })), "{msg}");
    assert!(msg.contains(&seen.to_string()), "{msg}");

    // A pin the honest database does not extend.
    let pin = forked.inner.lock().unwrap().log.tree(200);
    let pinned = tempfile::tempdir().unwrap();
    let got = open(&honest, pinned.path(), Some(pin)).lookup("example.com/m", "v1.0.0");
    assert!(matches!(got, Err(SumdbError::PinDrift { .. })), "{got:?}");
    let good_pin = honest.inner.lock().unwrap().log.tree(250);
    open(&honest, pinned.path(), Some(good_pin))
        .lookup("example.com/m", "v1.0.0")
        .unwrap();
}

#[test]
fn a_bad_signature_is_refused() {
    let db = MemDb::new(1);
    db.add("example.com/m", "v1.0.0", "good");
    let other = MemDb::new(2);
    let cfg = other.config();
    let cache = tempfile::tempdir().unwrap();
    let got = Database::new(&cfg, Box::new(db.clone()), cache.path(), false, None)
        .lookup("example.com/m", "v1.0.0");
    assert!(matches!(got, Err(SumdbError::Note { .. })), "{got:?}");
}

#[test]
fn gosumdb_forms_parse_as_go_accepts_them() {
    let (_, vkey) = keypair("db.test", 3);
    assert!(DbConfig::parse("off").unwrap().is_none());
    let c = DbConfig::parse(&format!("{vkey} https://mirror.test/db/"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.verifier.name.as_str(), c.url.as_str()),
        ("db.test", "https://mirror.test/db")
    );
    let c = DbConfig::parse(&vkey).unwrap().unwrap();
    assert_eq!(c.url, "https://db.test");
    assert!(DbConfig::parse("unknown.test").is_err());
}
