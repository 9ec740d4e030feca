//! Hermetic module fetch: every module a build needs comes from the
//! configured proxy list ([`sources`]) into gobuildr's own module cache, and
//! is checked against go.sum by gobuildr itself (Go's `h1:` hash, computed
//! here) before anything compiles. After this step, discovery and actions
//! run with `GOPROXY=off`.
//!
//! Invariants: a file lands in the module cache only after its hash matched
//! the go.sum line, written atomically (temp file + rename) under a
//! per-version lock so concurrent runs download it once; `direct`
//! (fetching from version control) is never used unless gobuildr.toml
//! allows it explicitly.

pub mod audit;
pub mod database;
pub mod h1;
pub mod sources;

pub use sources::{Found, ModuleSources, SourceError};

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::toolenv::go_command_env;
use crate::workspace::GoSum;

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
    #[error("cannot fetch {module} {version} ({what}): {source}")]
    Source {
        module: String,
        version: String,
        what: &'static str,
        source: Box<SourceError>,
    },
    #[error("module sources: {0}")]
    Sources(Box<SourceError>),
    #[error("{0}")]
    Database(Box<crate::sumdb::SumdbError>),
    #[error("{0}")]
    DatabaseMismatch(Box<DbMismatch>),
    #[error("module cache {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub use crate::workspace::gomod::escape;

/// A go.sum line that the checksum database contradicts.
#[derive(Debug, thiserror::Error)]
#[error("{file}: the go.sum line for {module} {version} ({what}) disagrees with checksum database {db}:\n  go.sum:   {go_sum}\n  database: {database}\nthe module was refused; nothing was published or built (a go.sum written through a poisoned proxy or mirror looks like this)")]
pub struct DbMismatch {
    pub file: String,
    pub db: String,
    pub module: String,
    pub version: String,
    pub what: &'static str,
    pub go_sum: String,
    pub database: String,
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
    pub sources: ModuleSources,
    pub offline: bool,
    /// No progress bar.
    pub quiet: bool,
    pub go: &'a Path,
    pub scratch: &'a Path,
    /// The checksum database every hash is proved by (None: GOSUMDB=off).
    pub sumdb: Option<crate::sumdb::Database>,
}

/// Parallel downloads at most; enough to hide latency, few enough to be
/// polite to a proxy.
const DOWNLOADS: usize = 8;
/// go.mod files are small: their fetch is all round-trip latency.
const MOD_DOWNLOADS: usize = 16;

/// One module file to make present: (module, version, zip?).
type Job = (String, String, bool);

/// Variables a `direct` fetch (git, over the network) needs from the
/// caller: trust roots and proxies. Credentials go through GOAUTH/NETRC.
const DIRECT_PASSTHROUGH: [&str; 11] = [
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "NETRC",
    "GIT_SSH_COMMAND",
    "SSH_AUTH_SOCK",
];

/// Holds a module version's lock file (flock) until dropped.
struct VersionLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// Takes the cross-process lock of one module version. Not go's own
/// `<version>.lock`: a `direct` fetch runs go, which takes that one.
fn lock_version(dir: &Path, version: &str) -> Result<VersionLock, FetchError> {
    let path = dir.join(format!("{version}.gobuildr-lock"));
    let io = |source| FetchError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map(VersionLock)
        .map_err(|(_, errno)| io(std::io::Error::from(errno)))
}

fn write_atomic(dest: &Path, data: &[u8]) -> Result<(), FetchError> {
    crate::fsutil::write_atomic(dest, data).map_err(|e| FetchError::Io {
        path: dest.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// One job's module file, named every way fetching it needs.
struct ModFile<'a> {
    module: &'a str,
    version: &'a str,
    zip: bool,
    /// "zip" or "go.mod", for messages and reports.
    what: &'static str,
    /// Its name in the module's download directory.
    name: String,
}

impl<'a> ModFile<'a> {
    fn of(job: &'a Job) -> ModFile<'a> {
        let (module, version, zip) = (job.0.as_str(), job.1.as_str(), job.2);
        let (what, ext) = if zip {
            ("zip", "zip")
        } else {
            ("go.mod", "mod")
        };
        ModFile {
            module,
            version,
            zip,
            what,
            name: format!("{version}.{ext}"),
        }
    }

    /// Its go.sum hash, which must be there: go.sum is never filled in.
    fn want<'s>(&self, sums: &'s GoSum) -> Result<&'s str, FetchError> {
        let sum_version = if self.zip {
            self.version.to_string()
        } else {
            format!("{}/go.mod", self.version)
        };
        sums.get(self.module, &sum_version)
            .ok_or_else(|| FetchError::MissingSum {
                file: sums.file_name(),
                module: self.module.to_string(),
                version: self.version.to_string(),
                what: if self.zip { "" } else { " (its go.mod)" },
            })
    }

    fn hash(&self, data: &[u8]) -> Result<String, zip::result::ZipError> {
        if self.zip {
            h1::of_zip(data)
        } else {
            Ok(h1::of_mod(data))
        }
    }

    /// Whether `dest` already holds the file with hash `want`.
    fn cached(&self, dest: &Path, want: &str) -> bool {
        std::fs::read(dest)
            .ok()
            .is_some_and(|data| self.hash(&data).ok().as_deref() == Some(want))
    }

    /// Checks downloaded bytes against the go.sum hash.
    fn check(&self, data: &[u8], want: &str, from: &str) -> Result<(), FetchError> {
        let got = self.hash(data).map_err(|e| FetchError::Unavailable {
            module: self.module.into(),
            version: self.version.into(),
            what: self.what,
            why: format!("unreadable zip from {from}: {e}"),
        })?;
        if got != want {
            return Err(FetchError::Mismatch {
                module: format!("{} {}", self.module, self.version),
                what: self.what,
                from: from.into(),
                want: want.into(),
                got,
            });
        }
        Ok(())
    }
}

/// A progress bar over module files, with the bytes downloaded; hidden
/// when quiet or when stderr is not a terminal.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    bytes: std::sync::atomic::AtomicU64,
}

impl Bar {
    fn new(len: usize, quiet: bool) -> Bar {
        use std::io::IsTerminal;
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(len as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} module files {wide_msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Bar {
            bar,
            bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn add_bytes(&self, n: u64) {
        let total = self
            .bytes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed)
            + n;
        if let Some(b) = &self.bar {
            b.set_message(format!("{} downloaded", indicatif::HumanBytes(total)));
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
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
        let mut cmd = crate::toolenv::command(self.go);
        cmd.args(["mod", "download", &format!("{module}@{version}")])
            .env_clear()
            .envs(go_command_env(self.scratch))
            .env("GOMODCACHE", &self.modcache)
            .env("GOPROXY", "direct")
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOINSECURE", &self.sources.insecure)
            .env("GOAUTH", self.sources.goenv.get("GOAUTH"));
        for k in DIRECT_PASSTHROUGH {
            if let Some(v) = std::env::var_os(k) {
                cmd.env(k, v);
            }
        }
        let out = crate::process::output(&mut cmd).map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let path = self.download_dir(module).join(file);
        std::fs::read(&path)
            .map(|d| (d, "direct".into()))
            .map_err(|e| e.to_string())
    }

    /// Downloads one file along the proxy list (or `direct`).
    fn download(
        &self,
        module: &str,
        version: &str,
        file: &str,
        what: &'static str,
        bar: &Bar,
    ) -> Result<(Vec<u8>, String), FetchError> {
        let found = self
            .sources
            .get(module, file, &|n| bar.add_bytes(n))
            .map_err(|source| FetchError::Source {
                module: module.into(),
                version: version.into(),
                what,
                source: Box::new(source),
            })?;
        match found {
            Found::Bytes { data, from } => Ok((data, from)),
            Found::Direct => {
                self.download_direct(module, version, file)
                    .map_err(|d| FetchError::Unavailable {
                        module: module.into(),
                        version: version.into(),
                        what,
                        why: format!("direct: {d}"),
                    })
            }
        }
    }

    /// Makes one module file (the zip or the go.mod) present and verified.
    fn ensure(&self, sums: &GoSum, job: &Job, bar: &Bar) -> Result<Fetched, FetchError> {
        let file = ModFile::of(job);
        let (module, version, what) = (file.module, file.version, file.what);
        let want = file.want(sums)?;
        let dir = self.download_dir(module);
        let dest = dir.join(&file.name);
        let fetched = |from: String| Fetched {
            module: module.into(),
            version: version.into(),
            file: what,
            h1: want.into(),
            from,
        };
        // A cached file is proved like a downloaded one.
        let from_cache = || -> Result<Option<Fetched>, FetchError> {
            if !file.cached(&dest, want) {
                return Ok(None);
            }
            self.prove(sums, module, version, what, want)?;
            Ok(Some(fetched("cache".into())))
        };
        if let Some(f) = from_cache()? {
            return Ok(f);
        }
        if self.offline {
            return Err(FetchError::Offline {
                module: module.into(),
                version: version.into(),
                what,
            });
        }
        let _lock = lock_version(&dir, version)?;
        // Another process may have published it while we waited.
        if let Some(f) = from_cache()? {
            return Ok(f);
        }
        let (data, from) = self.download(module, version, &file.name, what, bar)?;
        file.check(&data, want, &from)?;
        // Proved before it is published: nothing the database refuses
        // reaches the module cache.
        self.prove(sums, module, version, what, want)?;
        if file.zip {
            // go reads the recorded hash next to the zip; written first so
            // a published zip always has it.
            write_atomic(&dir.join(format!("{version}.ziphash")), want.as_bytes())?;
        }
        write_atomic(&dest, &data)?;
        Ok(fetched(from))
    }

    /// Checks a go.sum hash against the checksum database, unless
    /// GOSUMDB is off or GONOSUMDB/GOPRIVATE exempts the module.
    fn prove(
        &self,
        sums: &GoSum,
        module: &str,
        version: &str,
        what: &'static str,
        want: &str,
    ) -> Result<(), FetchError> {
        let Some(db) = self
            .sumdb
            .as_ref()
            .filter(|_| !self.sources.is_nosumdb(module))
        else {
            return Ok(());
        };
        let record = db
            .lookup(module, version)
            .map_err(|e| FetchError::Database(Box::new(e)))?;
        match record.hash(what == "go.mod") {
            Some(h) if h == want => Ok(()),
            other => Err(FetchError::DatabaseMismatch(Box::new(DbMismatch {
                file: sums.file_name(),
                db: db.name().to_string(),
                module: module.into(),
                version: version.into(),
                what,
                go_sum: want.into(),
                database: other.unwrap_or("(no hash)").into(),
            }))),
        }
    }

    /// The files to make present, in report order: the zip of every
    /// required module, then the go.mod of every module required or
    /// listed in go.sum (go reads them to compute the build list).
    fn jobs(requires: &[(String, String)], sums: &GoSum) -> Vec<Job> {
        let mut mods: std::collections::BTreeSet<(String, String)> = sums
            .go_mod_entries()
            .map(|(m, v)| (m.to_string(), v.to_string()))
            .collect();
        let mut jobs = Vec::new();
        for (m, v) in requires {
            jobs.push((m.clone(), v.clone(), true));
            mods.insert((m.clone(), v.clone()));
        }
        jobs.extend(mods.into_iter().map(|(m, v)| (m, v, false)));
        jobs
    }

    /// Fetches and verifies everything the workspace's modules require,
    /// up to [`DOWNLOADS`] at a time; the result (and the first error) is
    /// in [`Fetcher::jobs`] order whatever order downloads finish in.
    pub fn fetch_all(
        &self,
        requires: &[(String, String)],
        sums: &GoSum,
    ) -> Result<Vec<Fetched>, FetchError> {
        self.run_jobs(&Self::jobs(requires, sums), sums, DOWNLOADS)
    }

    /// Only the go.mod files of [`Fetcher::fetch_all`]: what go list reads
    /// to load the module graph. Zips follow as go list finds it needs them
    /// ([`Fetcher::fetch_zips`]), as go build fetches only what it builds.
    pub fn fetch_go_mods(
        &self,
        requires: &[(String, String)],
        sums: &GoSum,
    ) -> Result<Vec<Fetched>, FetchError> {
        let jobs: Vec<Job> = Self::jobs(requires, sums)
            .into_iter()
            .filter(|j| !j.2)
            .collect();
        self.run_jobs(&jobs, sums, MOD_DOWNLOADS)
    }

    /// The zips of these module versions, fetched and verified.
    pub fn fetch_zips(
        &self,
        modules: &[(String, String)],
        sums: &GoSum,
    ) -> Result<Vec<Fetched>, FetchError> {
        let jobs: Vec<Job> = modules
            .iter()
            .map(|(m, v)| (m.clone(), v.clone(), true))
            .collect();
        self.run_jobs(&jobs, sums, DOWNLOADS)
    }

    fn run_jobs(
        &self,
        jobs: &[Job],
        sums: &GoSum,
        threads: usize,
    ) -> Result<Vec<Fetched>, FetchError> {
        use rayon::prelude::*;
        let bar = Bar::new(jobs.len(), self.quiet);
        let run = |job: &Job| {
            let r = self.ensure(sums, job, &bar);
            bar.done();
            r
        };
        let results: Vec<Result<Fetched, FetchError>> =
            match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) => pool.install(|| jobs.par_iter().map(run).collect()),
                // No threads to be had: one at a time is still correct.
                Err(_) => jobs.iter().map(run).collect(),
            };
        bar.finish();
        results.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{FetchError, Fetcher, GoSum, Job, ModFile};

    fn sums(text: &str) -> (tempfile::TempDir, GoSum) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("go.sum");
        std::fs::write(&file, text).unwrap();
        let sums = GoSum::load(&[file]);
        (dir, sums)
    }

    fn job(m: &str, v: &str, zip: bool) -> Job {
        (m.into(), v.into(), zip)
    }

    #[test]
    fn jobs_are_required_zips_then_every_go_mod() {
        let (_d, sums) = sums(
            "example.com/c v1.3.0/go.mod h1:c=\nexample.com/a v1.0.0/go.mod h1:a=\nexample.com/x v9.0.0 h1:x=\n",
        );
        let requires = [
            ("example.com/b".to_string(), "v1.2.0".to_string()),
            ("example.com/a".to_string(), "v1.0.0".to_string()),
        ];
        assert_eq!(
            Fetcher::jobs(&requires, &sums),
            [
                job("example.com/b", "v1.2.0", true),
                job("example.com/a", "v1.0.0", true),
                job("example.com/a", "v1.0.0", false),
                job("example.com/b", "v1.2.0", false),
                job("example.com/c", "v1.3.0", false),
            ]
        );
        // A go.sum zip line alone requires nothing.
        assert!(Fetcher::jobs(&[], &sums).iter().all(|j| !j.2));
    }

    #[test]
    fn module_files_name_their_go_sum_line() {
        let (_d, sums) = sums("example.com/a v1.0.0 h1:zip=\n");
        let zip = job("example.com/a", "v1.0.0", true);
        let file = ModFile::of(&zip);
        assert_eq!((file.name.as_str(), file.what), ("v1.0.0.zip", "zip"));
        assert_eq!(file.want(&sums).unwrap(), "h1:zip=");
        let go_mod = job("example.com/a", "v1.0.0", false);
        let file = ModFile::of(&go_mod);
        assert_eq!((file.name.as_str(), file.what), ("v1.0.0.mod", "go.mod"));
        let err = file.want(&sums).unwrap_err().to_string();
        assert!(
            err.contains("go.sum: no go.sum line for example.com/a v1.0.0 (its go.mod)"),
            "{err}"
        );
    }

    #[test]
    fn downloads_must_match_go_sum() {
        let data = b"module example.com/a\n";
        let want = super::h1::of_mod(data);
        let go_mod = job("example.com/a", "v1.0.0", false);
        let file = ModFile::of(&go_mod);
        assert!(file.check(data, &want, "proxy").is_ok());
        let err = file.check(b"module evil\n", &want, "proxy").unwrap_err();
        assert!(matches!(err, FetchError::Mismatch { from, .. } if from == "proxy"));
        let zip = job("example.com/a", "v1.0.0", true);
        let err = ModFile::of(&zip).check(b"not a zip", &want, "proxy");
        assert!(matches!(err, Err(FetchError::Unavailable { .. })));
    }

    #[test]
    fn cached_only_with_the_right_hash() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("v1.0.0.mod");
        std::fs::write(&dest, "module example.com/a\n").unwrap();
        let go_mod = job("example.com/a", "v1.0.0", false);
        let file = ModFile::of(&go_mod);
        assert!(file.cached(&dest, &super::h1::of_mod(b"module example.com/a\n")));
        assert!(!file.cached(&dest, "h1:other="));
        assert!(!file.cached(&dir.path().join("absent"), "h1:other="));
    }
}
