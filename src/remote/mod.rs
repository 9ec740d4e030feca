//! A shared cache and a build farm over the Remote Execution API (REAPI
//! v2), on existing servers (bazel-remote, Buildbarn, ...).
//!
//! Every action maps to a REAPI `Action` (a `Command`, an input root
//! `Directory` tree, a platform), so its Action digest is the key any
//! REAPI server understands (`mapping`). The local cache is always asked
//! first; a remote hit's outputs are fetched, checked against their
//! digests and stored locally (`backend::RemoteCache`). Actions run on the
//! remote executor when one is configured and they can run there, else
//! here (`backend::RemoteExecutor`).
//!
//! Invariant: the remote side can only make a build faster, never wrong
//! or failed. A server that is down or stops answering is warned about
//! once and then left alone; a blob that does not hash to its digest is
//! refused and the action rebuilt; headers (tokens) are never printed.
//!
//! The bindings are the `bazel-remote-apis` crate: tonic/prost code
//! generated from the upstream remote-apis protos, with the bytestream and
//! longrunning services REAPI needs.

mod backend;
mod cas;
mod conn;
mod mapping;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use backend::{RemoteCache, RemoteExecutor, Slots};
use bazel_remote_apis::build::bazel::remote::execution::v2::ServerCapabilities;
pub use conn::Endpoint;
use mapping::{DigestFn, Mapper};

use crate::cache::Cache;
use crate::toolchain::Toolchain;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("remote endpoint {url}: {why}")]
    Endpoint { url: String, why: String },
    #[error("{server}: {}", describe(status))]
    Status {
        server: String,
        status: Box<tonic::Status>,
    },
    #[error("{server}: blob {digest} does not hash to its digest (corrupt or truncated); refused")]
    Corrupt { server: String, digest: String },
    #[error("{server}: the result of action {action} lacks output {output}")]
    MissingOutput {
        server: String,
        action: String,
        output: String,
    },
    #[error("{server}: {what}")]
    Protocol { server: String, what: String },
    #[error("reading {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cache: {0}")]
    Cache(#[from] crate::cache::CacheError),
    #[error("{0} is not reachable (warned above)")]
    Down(String),
    #[error("interrupted")]
    Interrupted,
}

/// A status as a person reads it: what went wrong and, for transport
/// errors, the innermost cause (`Connection refused`).
fn describe(status: &tonic::Status) -> String {
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(status);
    let mut last = None;
    while let Some(c) = cause {
        last = Some(c.to_string());
        cause = c.source();
    }
    let code = format!("{:?}", status.code()).to_lowercase();
    match (status.message(), last) {
        ("", None) => code,
        (m, None) => format!("{code}: {m}"),
        (m, Some(root)) => format!("{code}: {m}: {root}"),
    }
}

impl RemoteError {
    /// The server could not be reached or stopped answering (as opposed to
    /// answering with something wrong).
    pub fn is_unavailable(&self) -> bool {
        match self {
            RemoteError::Status { status, .. } => conn::unavailable(status.code()),
            RemoteError::Down(_) => true,
            _ => false,
        }
    }
}

/// What the user asked for: `--remote-*` flags over gobuildr.toml's
/// `[remote]`.
#[derive(Debug, Clone, Default)]
pub struct RemoteConfig {
    pub cache: Option<String>,
    pub executor: Option<String>,
    pub instance: String,
    /// Sent with every call; never printed.
    pub headers: Vec<(String, String)>,
    /// Read the remote cache, never write it.
    pub readonly: bool,
    /// The executor's platform properties (default OSFamily and ISA of
    /// this host).
    pub platform: Vec<(String, String)>,
}

impl RemoteConfig {
    pub fn enabled(&self) -> bool {
        self.cache.is_some() || self.executor.is_some()
    }

    /// The platform properties, defaults filled in, sorted as REAPI wants.
    fn properties(&self) -> Vec<(String, String)> {
        let mut props: std::collections::BTreeMap<String, String> = [
            ("OSFamily".to_string(), os_family()),
            ("ISA".to_string(), isa()),
        ]
        .into_iter()
        .collect();
        props.extend(self.platform.iter().cloned());
        props.into_iter().collect()
    }
}

fn os_family() -> String {
    let os = std::env::consts::OS;
    let mut chars = os.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn isa() -> String {
    std::env::consts::ARCH.replace('_', "-")
}

/// What the remote side did in a build (the summary's `remote`).
#[derive(Debug, Default, serde::Serialize)]
pub struct RemoteSummary {
    pub cache: Option<String>,
    pub executor: Option<String>,
    pub digest_function: String,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub executed: u64,
    pub bytes_uploaded: u64,
    pub bytes_downloaded: u64,
    /// Blobs refused because they did not hash to their digest.
    pub refused_blobs: u64,
    /// Seconds spent waiting on the servers, summed over actions.
    pub seconds: f64,
    /// True if a server became unreachable and the build went on locally.
    pub fell_back: bool,
}

#[derive(Default)]
struct Stats {
    hits: AtomicU64,
    misses: AtomicU64,
    executed: AtomicU64,
    up: AtomicU64,
    down: AtomicU64,
    refused: AtomicU64,
    micros: AtomicU64,
}

fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The connection to the servers, what they offered, and what happened.
pub struct Remote<'a> {
    conn: conn::Conn,
    mapper: Mapper<'a>,
    config: RemoteConfig,
    stats: Stats,
    session: OnceLock<Session>,
    /// Set once a server is found unreachable: from then on, local only.
    down: AtomicBool,
    warned: Mutex<bool>,
}

/// What the server offered, asked once, at the first action that needs it
/// (a build the local cache answers never connects).
pub struct Session {
    pub digest_fn: DigestFn,
    /// The largest batch of blobs in one call.
    pub max_batch: usize,
}

impl Session {
    fn of(caps: Option<&ServerCapabilities>) -> Session {
        let advertised = caps
            .and_then(|c| c.cache_capabilities.as_ref())
            .map_or(0, |c| c.max_batch_total_size_bytes.max(0) as usize);
        Session {
            digest_fn: DigestFn::choose(caps),
            max_batch: match advertised {
                0 => cas::BATCH_LIMIT,
                n => n.min(cas::BATCH_LIMIT),
            },
        }
    }
}

impl<'a> Remote<'a> {
    pub fn connect(
        config: &RemoteConfig,
        cache: &'a Cache,
        toolchain: &'a Toolchain,
    ) -> Result<Remote<'a>, RemoteError> {
        Ok(Remote {
            conn: conn::Conn::open(config)?,
            mapper: Mapper::new(cache, toolchain, config.properties()),
            config: config.clone(),
            stats: Stats::default(),
            session: OnceLock::new(),
            down: AtomicBool::new(false),
            warned: Mutex::new(false),
        })
    }

    /// Asks the cache server what it supports, once. A server that does
    /// not answer is warned about, and the build goes on locally; one that
    /// cannot say gets SHA-256 and small batches.
    fn negotiate(&self) -> Result<(), RemoteError> {
        if self.session.get().is_some() {
            return Ok(());
        }
        if self.is_down() {
            return Err(RemoteError::Down(self.conn.cache_name.clone()));
        }
        match self.conn.capabilities() {
            Ok(caps) => {
                let _ = self.session.set(Session::of(Some(&caps)));
                Ok(())
            }
            Err(e) if e.is_unavailable() => {
                self.unreachable(&e);
                Err(e)
            }
            Err(_) => {
                let _ = self.session.set(Session::of(None));
                Ok(())
            }
        }
    }

    fn session(&self) -> &Session {
        self.session.get_or_init(|| Session::of(None))
    }

    fn digest_fn(&self) -> DigestFn {
        self.session().digest_fn
    }

    /// Abandons every call in flight and refuses new ones (on interrupt).
    pub fn cancel(&self) {
        self.conn.cancel();
    }

    pub fn executes(&self) -> bool {
        self.config.executor.is_some()
    }

    fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }

    /// Notes a failed call: an unreachable server is warned about once and
    /// not asked again; anything else is the caller's to report.
    fn unreachable(&self, e: &RemoteError) {
        if !e.is_unavailable() {
            return;
        }
        self.down.store(true, Ordering::SeqCst);
        if let Ok(mut warned) = self.warned.lock() {
            if !*warned {
                *warned = true;
                eprintln!("warning: {e}; continuing with the local cache and local execution");
            }
        }
    }

    /// A warning about one action's remote step that did not stop it.
    fn warn(&self, what: &str, e: &RemoteError) {
        if e.is_unavailable() {
            self.unreachable(e);
        } else {
            eprintln!("warning: {what}: {e}");
        }
    }

    pub fn summary(&self) -> RemoteSummary {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        RemoteSummary {
            cache: self.config.cache.clone().or(self.config.executor.clone()),
            executor: self.config.executor.clone(),
            digest_function: self.session.get().map_or("", |s| s.digest_fn.name()).into(),
            cache_hits: get(&self.stats.hits),
            cache_misses: get(&self.stats.misses),
            executed: get(&self.stats.executed),
            bytes_uploaded: get(&self.stats.up),
            bytes_downloaded: get(&self.stats.down),
            refused_blobs: get(&self.stats.refused),
            seconds: get(&self.stats.micros) as f64 / 1e6,
            fell_back: self.is_down(),
        }
    }
}
