//! Where modules come from and how they are proved: the GOPROXY list with
//! the go command's semantics, GONOPROXY/GOPRIVATE exceptions, and the
//! GOSUMDB/GONOSUMDB settings the checksum database verifier reads.
//!
//! Invariants: `,` falls through to the next entry only on 404/410, `|`
//! on any error; `off` ends the list with an error; `direct` (version
//! control) is used only when gobuildr.toml allows it; proxy URLs are
//! shown redacted. None of this enters an action key or an output.

use std::sync::Arc;

use crate::goenv::{GoEnv, Setting};
use crate::net::{self, redact, Client, LazyClient, NetConfig, NetError};
use crate::workspace::glob::prefix_match;

use super::escape;

/// One GOPROXY entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A proxy base URL (no trailing slash).
    Proxy(String),
    Direct,
    Off,
}

/// An entry and what may follow it: with `|` after it, any error falls
/// through; with `,` (or at the end), only 404/410 do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub entry: Entry,
    pub on_any_error: bool,
}

/// What one proxy said about one file.
#[derive(Debug, Clone)]
pub enum Attempt {
    Status { proxy: String, status: u16 },
    Transport { proxy: String, error: NetError },
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Attempt::Status { proxy, status } => write!(f, "{proxy}: {}", status_text(*status)),
            Attempt::Transport { error, .. } => write!(f, "{error}"),
        }
    }
}

fn status_text(status: u16) -> String {
    let name = match status {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    format!("{status} {name}").trim_end().to_string()
}

fn listed(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(|a| format!("{a}; "))
        .collect::<String>()
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("{}the list ended", listed(.attempts))]
    Exhausted { attempts: Vec<Attempt> },
    #[error("{}{}", listed(.attempts), match .attempts.last() { Some(_) => "stopped there", None => "" })]
    Stopped { attempts: Vec<Attempt> },
    #[error("{}GOPROXY=off forbids downloading modules (GOPROXY from {origin})", listed(.attempts))]
    Off {
        attempts: Vec<Attempt>,
        origin: String,
    },
    #[error("{}`direct` in GOPROXY (from {origin}) would fetch from version control, which a hermetic build does not do; set [modules] allow_direct = true in gobuildr.toml to allow it", listed(.attempts))]
    DirectRefused {
        attempts: Vec<Attempt>,
        origin: String,
    },
    #[error("it matches GONOPROXY/GOPRIVATE ({patterns}), so it is never fetched through a proxy, and gobuildr.toml does not allow `direct` (version control)")]
    Private { patterns: String },
    #[error("GOPROXY {value:?} (from {origin}): {reason}")]
    BadList {
        value: String,
        origin: String,
        reason: String,
    },
    #[error("{0}")]
    Net(NetError),
}

impl From<NetError> for SourceError {
    fn from(e: NetError) -> Self {
        SourceError::Net(e)
    }
}

impl SourceError {
    /// Whether the failure is this machine's (TLS, network, settings)
    /// rather than a source answering no.
    pub fn is_environment(&self) -> bool {
        let last = match self {
            SourceError::Exhausted { attempts }
            | SourceError::Stopped { attempts }
            | SourceError::Off { attempts, .. }
            | SourceError::DirectRefused { attempts, .. } => attempts.last(),
            SourceError::Net(_) => return true,
            _ => None,
        };
        matches!(last, Some(Attempt::Transport { .. }))
    }
}

/// Parses a GOPROXY list as cmd/go does: entries split at `,` or `|`;
/// `off` and `direct` end it; bare host names get `https://`.
pub fn parse_goproxy(list: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        let (item, on_any_error, tail) = match rest.find([',', '|']) {
            Some(i) => (&rest[..i], rest.as_bytes()[i] == b'|', &rest[i + 1..]),
            None => (rest, false, ""),
        };
        rest = tail;
        let item = item.trim();
        let entry = match item {
            "" => continue,
            "off" => Entry::Off,
            "direct" => Entry::Direct,
            url if url.contains(['.', ':', '/'])
                && !url.contains(":/")
                && !url.starts_with('/') =>
            {
                Entry::Proxy(format!("https://{}", url.trim_end_matches('/')))
            }
            url if url.contains(":/") || url.starts_with('/') => {
                Entry::Proxy(url.trim_end_matches('/').to_string())
            }
            other => return Err(format!("unknown entry {other:?}")),
        };
        let last = matches!(entry, Entry::Off | Entry::Direct);
        steps.push(Step {
            entry,
            on_any_error,
        });
        if last {
            break;
        }
    }
    if steps.is_empty() {
        return Err("the list has no entries".into());
    }
    Ok(steps)
}

/// Whether `path` matches any of the comma-separated glob patterns as
/// cmd/go's `module.MatchPrefixPatterns` does: a pattern matches a prefix
/// of the path with as many elements.
pub fn matches_prefix_patterns(patterns: &str, path: &str) -> bool {
    patterns
        .split(',')
        .map(|p| p.trim().trim_end_matches('/'))
        .filter(|p| !p.is_empty())
        .any(|pat| prefix_match(pat, path))
}

/// What a successful look-up found.
#[derive(Debug)]
pub enum Found {
    Bytes {
        data: Vec<u8>,
        from: String,
    },
    /// The list reached `direct` and gobuildr.toml allows it: the caller
    /// fetches from version control.
    Direct,
}

/// The resolved module sources, shared by module fetch, pinned
/// toolchains and the checksum database.
#[derive(Debug, Clone)]
pub struct ModuleSources {
    /// The parsed GOPROXY list, or why it cannot be used (reported only
    /// when something must be downloaded).
    pub proxies: Result<Vec<Step>, SourceError>,
    pub allow_direct: bool,
    /// GONOPROXY (default GOPRIVATE): modules never fetched via a proxy.
    pub noproxy: String,
    /// GOSUMDB, or None when it is `off`.
    pub sumdb: Option<String>,
    /// GONOSUMDB (default GOPRIVATE): modules the database is not asked about.
    pub nosumdb: String,
    pub insecure: String,
    /// Every resolved setting, with where it came from.
    pub goenv: GoEnv,
    client: Arc<LazyClient>,
}

fn origin(s: Option<&Setting>) -> String {
    s.map(|s| s.origin.to_string())
        .unwrap_or_else(|| "go's default".into())
}

impl ModuleSources {
    /// From resolved go settings; `allow_direct` is gobuildr.toml's.
    pub fn new(goenv: GoEnv, allow_direct: bool) -> Result<ModuleSources, NetError> {
        let config = NetConfig::from_env(goenv.get("GOAUTH"))?;
        Ok(ModuleSources::with_config(goenv, allow_direct, config))
    }

    pub fn with_config(goenv: GoEnv, allow_direct: bool, config: NetConfig) -> ModuleSources {
        let value = goenv.get("GOPROXY").to_string();
        let proxies = parse_goproxy(&value).map_err(|reason| SourceError::BadList {
            value: redact(&value),
            origin: origin(goenv.setting("GOPROXY")),
            reason,
        });
        let sumdb = Some(goenv.get("GOSUMDB").to_string()).filter(|s| s != "off" && !s.is_empty());
        ModuleSources {
            proxies,
            allow_direct,
            noproxy: goenv.get("GONOPROXY").to_string(),
            sumdb,
            nosumdb: goenv.get("GONOSUMDB").to_string(),
            insecure: goenv.get("GOINSECURE").to_string(),
            client: Arc::new(LazyClient::new(config)),
            goenv,
        }
    }

    /// The run's HTTP client (built on first use).
    pub fn client(&self) -> Result<&Client, NetError> {
        self.client.get()
    }

    pub fn is_noproxy(&self, module: &str) -> bool {
        matches_prefix_patterns(&self.noproxy, module)
    }

    /// Whether the checksum database is skipped for `module` (GOSUMDB=off
    /// or a GONOSUMDB/GOPRIVATE match).
    pub fn is_nosumdb(&self, module: &str) -> bool {
        self.sumdb.is_none() || matches_prefix_patterns(&self.nosumdb, module)
    }

    /// GETs `<proxy>/<module>/@v/<file>` along the GOPROXY list.
    pub fn get(
        &self,
        module: &str,
        file: &str,
        on_bytes: &dyn Fn(u64),
    ) -> Result<Found, SourceError> {
        if self.is_noproxy(module) {
            return match self.allow_direct {
                true => Ok(Found::Direct),
                false => Err(SourceError::Private {
                    patterns: self.noproxy.clone(),
                }),
            };
        }
        let steps = self.proxies.as_ref().map_err(Clone::clone)?;
        let mut attempts = Vec::new();
        for step in steps {
            let base = match &step.entry {
                Entry::Off => return Err(self.off(attempts)),
                Entry::Direct if self.allow_direct => return Ok(Found::Direct),
                Entry::Direct => return Err(self.direct_refused(attempts)),
                Entry::Proxy(base) => base,
            };
            let url = format!("{base}/{}/@v/{file}", escape(module));
            let got = if url.starts_with("file://") {
                net::file_get(&url)
            } else {
                self.client()
                    .map_err(SourceError::Net)?
                    .get_observed(&url, on_bytes)
            };
            let proxy = redact(base);
            match got {
                Ok(r) if r.is_success() => {
                    return Ok(Found::Bytes {
                        data: r.body,
                        from: proxy,
                    })
                }
                Ok(r) => {
                    let not_found = r.is_not_found();
                    attempts.push(Attempt::Status {
                        proxy,
                        status: r.status,
                    });
                    if !falls_through(step, not_found) {
                        return Err(SourceError::Stopped { attempts });
                    }
                }
                Err(error) => {
                    attempts.push(Attempt::Transport { proxy, error });
                    if !falls_through(step, false) {
                        return Err(SourceError::Stopped { attempts });
                    }
                }
            }
        }
        Err(SourceError::Exhausted { attempts })
    }

    fn off(&self, attempts: Vec<Attempt>) -> SourceError {
        SourceError::Off {
            attempts,
            origin: origin(self.goenv.setting("GOPROXY")),
        }
    }

    fn direct_refused(&self, attempts: Vec<Attempt>) -> SourceError {
        SourceError::DirectRefused {
            attempts,
            origin: origin(self.goenv.setting("GOPROXY")),
        }
    }
}

/// Whether the list goes on to the next entry after this one failed.
pub fn falls_through(step: &Step, not_found: bool) -> bool {
    not_found || step.on_any_error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goenv::Overrides;

    fn p(url: &str, on_any_error: bool) -> Step {
        Step {
            entry: Entry::Proxy(url.into()),
            on_any_error,
        }
    }

    #[test]
    fn goproxy_lists_parse_like_go() {
        assert_eq!(
            parse_goproxy("https://a.example/,b.example|file:///srv/p,direct,https://ignored")
                .unwrap(),
            [
                p("https://a.example", false),
                p("https://b.example", true),
                p("file:///srv/p", false),
                Step {
                    entry: Entry::Direct,
                    on_any_error: false
                },
            ]
        );
        assert_eq!(
            parse_goproxy(" off ").unwrap(),
            [Step {
                entry: Entry::Off,
                on_any_error: false
            }]
        );
        assert!(parse_goproxy("").is_err());
        assert!(parse_goproxy(" , ").is_err());
        assert!(parse_goproxy("bogus").is_err());
    }

    #[test]
    fn fall_through_decisions() {
        assert!(falls_through(&p("a", false), true));
        assert!(!falls_through(&p("a", false), false));
        assert!(falls_through(&p("a", true), false));
    }

    fn sources(goproxy: &str, allow_direct: bool, private: &str) -> ModuleSources {
        let mut o = Overrides::new();
        o.insert("GOPROXY", (goproxy.to_string(), "proxy"));
        o.insert("GOPRIVATE", (private.to_string(), "private"));
        o.insert("GOSUMDB", ("off".to_string(), "sumdb"));
        let env = GoEnv::resolve_with(&|_| None, None, &o);
        let config = NetConfig::from_lookup("off", &|_| None).unwrap();
        ModuleSources::with_config(env, allow_direct, config)
    }

    #[test]
    fn get_walks_the_list() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(b.path().join("example.com/m/@v")).unwrap();
        std::fs::write(b.path().join("example.com/m/@v/v1.0.0.mod"), "module x").unwrap();
        let (fa, fb) = (
            format!("file://{}", a.path().display()),
            format!("file://{}", b.path().display()),
        );
        let s = sources(&format!("{fa},{fb}"), false, "");
        match s.get("example.com/m", "v1.0.0.mod", &|_| {}).unwrap() {
            Found::Bytes { data, from } => {
                assert_eq!((data.as_slice(), from), (&b"module x"[..], fb.clone()))
            }
            Found::Direct => panic!("direct"),
        }
        let e = sources(&format!("{fa},off"), false, "")
            .get("example.com/m", "v1.0.0.mod", &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("404 Not Found") && e.contains("GOPROXY=off"),
            "{e}"
        );
        let e = sources(&format!("{fa},direct"), false, "")
            .get("example.com/m", "v1.0.0.mod", &|_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("version control") && !e.contains("direct:"),
            "{e}"
        );
        let s = sources(&format!("{fa},direct"), true, "");
        assert!(matches!(
            s.get("example.com/m", "v1.0.0.mod", &|_| {}),
            Ok(Found::Direct)
        ));
        let s = sources(&fb, false, "example.com/*");
        let e = s.get("example.com/m", "v1.0.0.mod", &|_| {}).unwrap_err();
        assert!(matches!(e, SourceError::Private { .. }), "{e}");
        assert!(s.is_nosumdb("example.com/m"));
    }

    #[test]
    fn prefix_patterns() {
        assert!(matches_prefix_patterns("corp.example", "corp.example/a/b"));
        assert!(matches_prefix_patterns(
            "x.example, *.corp.example/",
            "git.corp.example/m"
        ));
        assert!(!matches_prefix_patterns(
            "corp.example/a/b",
            "corp.example/a"
        ));
        assert!(!matches_prefix_patterns("", "anything"));
    }
}
