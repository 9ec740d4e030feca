//! Hermetic module fetch: every module a build needs comes from an
//! explicitly configured proxy list into gobuildr's own module cache, and is
//! checked against go.sum by gobuildr itself (Go's `h1:` hash, computed
//! here) before anything compiles. After this step, discovery and actions
//! run with `GOPROXY=off`.
//!
//! Invariants: a file lands in the module cache only after its hash matched
//! the go.sum line (written atomically); `direct` (fetching from version
//! control) is never used unless gobuildr.toml allows it explicitly; the
//! checksum database is never consulted — go.sum is the record.

pub mod h1;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::toolchain::go_command_env;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{file}: no go.sum line for {module} {version}{what}; add it with `go mod download {module}@{version}` (or `go mod tidy`) and commit go.sum")]
    MissingSum {
        file: String,
        module: String,
        version: String,
        what: &'static str,
    },
    #[error("checksum mismatch for {module} ({what}) from {from}:\n  go.sum:     {want}\n  downloaded: {got}\nthe download was refused; nothing was built")]
    Mismatch {
        /// `path version`.
        module: String,
        what: &'static str,
        from: String,
        want: String,
        got: String,
    },
    #[error("{module} {version} ({what}) is not in gobuildr's module cache and --offline forbids downloading it")]
    Offline {
        module: String,
        version: String,
        what: &'static str,
    },
    #[error("cannot fetch {module} {version} ({what}): {why}")]
    Unavailable {
        module: String,
        version: String,
        what: &'static str,
        why: String,
    },
    #[error("module cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Go's module path escaping for the proxy protocol and the cache: each
/// upper-case letter becomes `!` and its lower-case form.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Where modules may come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Proxy URLs in order (file://, https://), and whether `direct` is
    /// allowed after them.
    pub proxies: Vec<String>,
    pub direct: bool,
    /// Patterns (GONOPROXY, else GOPRIVATE) of modules never fetched through
    /// a proxy.
    pub noproxy: Vec<String>,
}

impl Sources {
    /// Reads `<module>/@v/<file>` from the first proxy that has it;
    /// returns the bytes and the proxy.
    pub fn get(&self, module: &str, file: &str) -> Result<(Vec<u8>, String), String> {
        let mut tried = Vec::new();
        for p in &self.proxies {
            let url = format!("{p}/{}/@v/{file}", escape(module));
            let got = if let Some(path) = url.strip_prefix("file://") {
                std::fs::read(path).map_err(|e| e.to_string())
            } else {
                ureq::get(&url)
                    .call()
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        let mut buf = Vec::new();
                        std::io::Read::read_to_end(&mut r.into_reader(), &mut buf)
                            .map_err(|e| e.to_string())?;
                        Ok(buf)
                    })
            };
            match got {
                Ok(data) => return Ok((data, p.clone())),
                Err(e) => tried.push(format!("{url}: {e}")),
            }
        }
        if tried.is_empty() {
            Err("no proxy is configured (set [modules] proxy in gobuildr.toml or GOPROXY; `direct` is used only with [modules] allow_direct = true)".into())
        } else {
            Err(tried.join("; "))
        }
    }

    /// Parses a GOPROXY list. `direct` is kept only if `allow_direct`;
    /// `off` ends the list.
    pub fn parse(list: &str, allow_direct: bool, noproxy: &str) -> Sources {
        let mut proxies = Vec::new();
        let mut direct = false;
        for entry in list
            .split([',', '|'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            match entry {
                "off" => break,
                "direct" => {
                    direct = allow_direct;
                    break;
                }
                url => proxies.push(url.trim_end_matches('/').to_string()),
            }
        }
        Sources {
            proxies,
            direct,
            noproxy: noproxy
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Go's GOPRIVATE-style match: a pattern matches a module path if it
    /// matches a prefix of its elements (path.Match per element).
    fn is_noproxy(&self, module: &str) -> bool {
        self.noproxy.iter().any(|pat| {
            let pat: Vec<&str> = pat.split('/').collect();
            let m: Vec<&str> = module.split('/').collect();
            m.len() >= pat.len()
                && pat
                    .iter()
                    .zip(&m)
                    .all(|(p, e)| crate::plan::glob_match(p, e))
        })
    }
}

/// go.sum lines: (module, version or version/go.mod) → h1 hash.
#[derive(Debug, Default)]
pub struct GoSum {
    lines: BTreeMap<(String, String), String>,
    /// Which file each came from, for messages.
    files: Vec<PathBuf>,
}

impl GoSum {
    pub fn load(files: &[PathBuf]) -> GoSum {
        let mut sum = GoSum::default();
        for f in files {
            if let Ok(text) = std::fs::read_to_string(f) {
                sum.files.push(f.clone());
                for line in text.lines() {
                    if let [m, v, h] = line.split_whitespace().collect::<Vec<_>>()[..] {
                        sum.lines
                            .insert((m.to_string(), v.to_string()), h.to_string());
                    }
                }
            }
        }
        sum
    }

    pub fn get(&self, module: &str, version: &str) -> Option<&str> {
        self.lines
            .get(&(module.to_string(), version.to_string()))
            .map(String::as_str)
    }

    /// Every module version with a line for its zip: (module, version, h1).
    pub fn modules(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.lines
            .iter()
            .filter(|((_, v), _)| !v.ends_with("/go.mod"))
            .map(|((m, v), h)| (m.as_str(), v.as_str(), h.as_str()))
    }

    /// Every module version with a `/go.mod` line.
    pub fn go_mod_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines
            .keys()
            .filter_map(|(m, v)| v.strip_suffix("/go.mod").map(|v| (m.as_str(), v)))
    }

    fn file_name(&self) -> String {
        self.files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "go.sum".into())
    }
}

/// One module file that was checked, for `gobuildr fetch --json`.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    pub module: String,
    pub version: String,
    /// "zip" or "go.mod".
    pub file: &'static str,
    pub h1: String,
    /// The proxy it was downloaded from, or "cache" if it was already there.
    pub from: String,
}

pub struct Fetcher<'a> {
    /// gobuildr's GOMODCACHE.
    pub modcache: PathBuf,
    pub sources: Sources,
    pub offline: bool,
    pub go: &'a Path,
    pub scratch: &'a Path,
}

impl Fetcher<'_> {
    fn download_dir(&self, module: &str) -> PathBuf {
        self.modcache
            .join("cache/download")
            .join(escape(module))
            .join("@v")
    }

    /// Has `go mod download` fetch one module from version control, when
    /// the configuration allows `direct`. Its files are verified like any.
    fn download_direct(
        &self,
        module: &str,
        version: &str,
        file: &str,
    ) -> Result<(Vec<u8>, String), String> {
        let mut cmd = crate::toolchain::command(self.go);
        cmd.args(["mod", "download", &format!("{module}@{version}")])
            .env_clear()
            .envs(go_command_env(self.scratch))
            .env("GOMODCACHE", &self.modcache)
            .env("GOPROXY", "direct")
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-mod=mod");
        let out = crate::process::output(&mut cmd).map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let path = self.download_dir(module).join(file);
        std::fs::read(&path)
            .map(|d| (d, "direct".into()))
            .map_err(|e| e.to_string())
    }

    /// Makes one module file (the zip or the go.mod) present and verified.
    fn ensure(
        &self,
        sums: &GoSum,
        module: &str,
        version: &str,
        zip: bool,
    ) -> Result<Fetched, FetchError> {
        let (what, sum_version, file) = if zip {
            ("zip", version.to_string(), format!("{version}.zip"))
        } else {
            (
                "go.mod",
                format!("{version}/go.mod"),
                format!("{version}.mod"),
            )
        };
        let want = sums
            .get(module, &sum_version)
            .ok_or_else(|| FetchError::MissingSum {
                file: sums.file_name(),
                module: module.to_string(),
                version: version.to_string(),
                what: if zip { "" } else { " (its go.mod)" },
            })?;
        let dir = self.download_dir(module);
        let dest = dir.join(&file);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| FetchError::Io { path, source }
        };
        let hash = |data: &[u8]| {
            if zip {
                h1::of_zip(data)
            } else {
                Ok(h1::of_mod(data))
            }
        };
        if let Ok(data) = std::fs::read(&dest) {
            if hash(&data).ok().as_deref() == Some(want) {
                return Ok(Fetched {
                    module: module.into(),
                    version: version.into(),
                    file: what,
                    h1: want.into(),
                    from: "cache".into(),
                });
            }
        }
        if self.offline {
            return Err(FetchError::Offline {
                module: module.into(),
                version: version.into(),
                what,
            });
        }
        let unavailable = |why: String| FetchError::Unavailable {
            module: module.into(),
            version: version.into(),
            what,
            why,
        };
        let (data, from) = if self.sources.is_noproxy(module) {
            if !self.sources.direct {
                return Err(unavailable("it matches GONOPROXY/GOPRIVATE, so it is not fetched through a proxy, and gobuildr.toml does not allow `direct`".into()));
            }
            self.download_direct(module, version, &file)
                .map_err(unavailable)?
        } else {
            match self.sources.get(module, &file) {
                Ok(x) => x,
                Err(e) if self.sources.direct => self
                    .download_direct(module, version, &file)
                    .map_err(|d| unavailable(format!("{e}; direct: {d}")))?,
                Err(e) => return Err(unavailable(e)),
            }
        };
        let got = hash(&data).map_err(|e| unavailable(format!("unreadable zip: {e}")))?;
        if got != want {
            return Err(FetchError::Mismatch {
                module: format!("{module} {version}"),
                what,
                from,
                want: want.into(),
                got,
            });
        }
        crate::cache::write_atomic(&dest, &data).map_err(|e| FetchError::Io {
            path: dest.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if zip {
            // go reads the recorded hash next to the zip.
            std::fs::write(dir.join(format!("{version}.ziphash")), want).map_err(io(&dir))?;
        }
        Ok(Fetched {
            module: module.into(),
            version: version.into(),
            file: what,
            h1: want.into(),
            from,
        })
    }

    /// Fetches and verifies everything the workspace's modules require:
    /// the zip and go.mod of every required module (after replacements),
    /// and the go.mod of every other module go.sum lists (go reads them to
    /// compute the build list).
    pub fn fetch_all(
        &self,
        requires: &[(String, String)],
        sums: &GoSum,
    ) -> Result<Vec<Fetched>, FetchError> {
        let mut out = Vec::new();
        let mut mods: std::collections::BTreeSet<(String, String)> = sums
            .go_mod_entries()
            .map(|(m, v)| (m.to_string(), v.to_string()))
            .collect();
        for (m, v) in requires {
            out.push(self.ensure(sums, m, v, true)?);
            mods.insert((m.clone(), v.clone()));
        }
        for (m, v) in mods {
            out.push(self.ensure(sums, &m, &v, false)?);
        }
        Ok(out)
    }
}
