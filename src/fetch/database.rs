//! Reaching the checksum database as the go command does: through the
//! first proxy of the list that answers `<proxy>/sumdb/<name>/supported`,
//! else at the database's own URL. The choice is made on the first request
//! a run needs, so a run that finds every record proved in the cache makes
//! no request at all.

use std::path::Path;
use std::sync::OnceLock;

use super::sources::{Entry, ModuleSources};
use crate::net::redact;
use crate::sumdb::tlog::Tree;
use crate::sumdb::{Database, DbConfig, Remote};

/// Why the database settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DbSettingError {
    #[error("GOSUMDB={value:?} (from {origin}): {source}")]
    Gosumdb {
        value: String,
        origin: String,
        source: crate::sumdb::note::NoteError,
    },
    #[error("gobuildr.toml: [sumdb] pin = {0:?} is not a tree head; want \"<size> <base64 root>\" as `gobuildr fetch --audit` prints it")]
    Pin(String),
}

/// The run's checksum database, or None when GOSUMDB is off.
pub fn open(
    sources: &ModuleSources,
    cache_root: &Path,
    offline: bool,
    pin: Option<&str>,
) -> Result<Option<Database>, DbSettingError> {
    let Some(value) = sources.sumdb.as_deref() else {
        return Ok(None);
    };
    let config = DbConfig::parse(value).map_err(|source| DbSettingError::Gosumdb {
        value: value.to_string(),
        origin: sources
            .goenv
            .setting("GOSUMDB")
            .map(|s| s.origin.to_string())
            .unwrap_or_else(|| "go's default".into()),
        source,
    })?;
    let Some(config) = config else {
        return Ok(None);
    };
    let pin = pin
        .map(|p| Tree::parse_pin(p).ok_or_else(|| DbSettingError::Pin(p.to_string())))
        .transpose()?;
    let proxies = match &sources.proxies {
        Ok(steps) => steps
            .iter()
            .map_while(|s| match &s.entry {
                Entry::Proxy(url) => Some((url.clone(), s.on_any_error)),
                Entry::Direct | Entry::Off => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let remote = DbRemote::new(sources.clone(), &config.verifier.name, proxies, &config.url);
    Ok(Some(Database::new(
        &config,
        Box::new(remote),
        cache_root,
        offline,
        pin,
    )))
}

/// The database's remote side for one run.
pub struct DbRemote {
    sources: ModuleSources,
    name: String,
    /// Proxy URLs to ask, in order, before the database's own URL, each
    /// with whether any error (`|`) or only 404/410 (`,`) moves on.
    proxies: Vec<(String, bool)>,
    own_url: String,
    base: OnceLock<Result<String, String>>,
}

impl DbRemote {
    fn new(
        sources: ModuleSources,
        name: &str,
        proxies: Vec<(String, bool)>,
        own_url: &str,
    ) -> DbRemote {
        DbRemote {
            sources,
            name: name.to_string(),
            proxies,
            own_url: own_url.to_string(),
            base: OnceLock::new(),
        }
    }

    /// The first proxy that serves the database, else its own URL. The
    /// GOPROXY list's rules apply: after `,` only 404/410 move on, after
    /// `|` any error does.
    fn choose(&self) -> Result<String, String> {
        for (p, on_any_error) in &self.proxies {
            let base = format!("{p}/sumdb/{}", self.name);
            let failure = match self.fetch(&format!("{base}/supported")) {
                Ok(r) if r.is_success() => return Ok(base),
                Ok(r) if r.is_not_found() => continue,
                Ok(r) => format!("{}/supported: {}", redact(&base), r.status),
                Err(e) => e.to_string(),
            };
            if !on_any_error {
                return Err(failure);
            }
        }
        Ok(self.own_url.clone())
    }

    fn fetch(&self, url: &str) -> Result<crate::net::Response, crate::net::NetError> {
        if url.starts_with("file://") {
            return crate::net::file_get(url);
        }
        self.sources.client()?.get(url)
    }

    fn base(&self) -> Result<&str, String> {
        self.base
            .get_or_init(|| self.choose())
            .as_deref()
            .map_err(Clone::clone)
    }
}

impl Remote for DbRemote {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let url = format!("{}/{path}", self.base()?);
        match self.fetch(&url) {
            Ok(r) if r.is_success() => Ok(Some(r.body)),
            Ok(r) if r.is_not_found() => Ok(None),
            Ok(r) => Err(format!("{}: {}", redact(&url), r.status)),
            Err(e) => Err(e.to_string()),
        }
    }

    fn describe(&self) -> String {
        match self.base.get() {
            Some(Ok(b)) => redact(b),
            _ => redact(&self.own_url),
        }
    }
}
