//! The command line in two stages: raw flags ([`args`]), then resolved
//! [`Settings`] in which every default is decided and every value checked.
//! No work starts before Settings exist.

pub mod args;

use std::path::PathBuf;

use crate::workspace::label::{Label, LabelError};

/// The labels of a request, as typed; Go-style ones are resolved against
/// the current directory once the workspace root is known.
#[derive(Debug)]
pub struct Labels(Vec<String>);

impl Labels {
    /// The labels as typed.
    pub fn raw(&self) -> &[String] {
        &self.0
    }

    /// Parses them relative to `cwd` (the current directory, relative to
    /// the workspace root).
    pub fn resolve(&self, cwd: &str) -> Result<Vec<Label>, LabelError> {
        self.0.iter().map(|l| Label::parse(l, cwd)).collect()
    }
}

/// Everything a build needs to know from the user, resolved.
#[derive(Debug)]
pub struct Settings {
    pub start_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub go: Option<PathBuf>,
    pub labels: Labels,
    pub tags: Vec<String>,
    /// Platform specs and set names as given, in order; empty means the host.
    /// They are checked against the toolchain once it is known.
    pub platforms: Vec<String>,
    pub jobs: usize,
    pub keep_going: bool,
    pub out: Option<PathBuf>,
    pub summary_json: Option<PathBuf>,
    pub quiet: bool,
    pub explain: bool,
    pub profile: Option<PathBuf>,
    pub offline: bool,
    pub record: Option<PathBuf>,
    pub shuffle: Option<u64>,
    pub provenance: Option<PathBuf>,
    /// The command line's global flags and build flags, as typed (verify
    /// passes them on to its runs).
    pub forward_global: Vec<String>,
    pub forward_build: Vec<String>,
}

/// The default cache: $GOBUILDR_CACHE, else $XDG_CACHE_HOME/gobuildr, else
/// ~/.cache/gobuildr.
fn default_cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("GOBUILDR_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("gobuildr")))
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("gobuildr")))
        .unwrap_or_else(|| std::env::temp_dir().join("gobuildr-cache"))
}

/// Splits `-tags a,b --tags c` into tags, in order, without empties or repeats.
fn split_tags(raw: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw.iter().flat_map(|r| r.split([',', ' '])) {
        if !t.is_empty() && !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    tags
}

impl Settings {
    pub fn resolve(cli: &args::Cli, build: &args::BuildArgs) -> Result<Settings, LabelError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let start_dir = match &cli.dir {
            Some(d) => cwd.join(d),
            None => cwd.clone(),
        };
        let labels = if build.labels.is_empty() {
            vec!["//...".to_string()]
        } else {
            build.labels.clone()
        };
        let jobs = build.jobs.filter(|j| *j > 0).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        Ok(Settings {
            start_dir,
            cache_dir: cli
                .cache_dir
                .as_ref()
                .map(|d| cwd.join(d))
                .unwrap_or_else(default_cache_dir),
            go: cli.go.clone(),
            labels: Labels(labels),
            tags: split_tags(&build.tags),
            platforms: build
                .platform
                .iter()
                .chain(&build.platforms)
                .flat_map(|p| p.split(','))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
            jobs,
            keep_going: build.keep_going,
            out: build.out.as_ref().map(|o| cwd.join(o)),
            summary_json: build.summary_json.as_ref().map(|p| cwd.join(p)),
            quiet: build.quiet,
            explain: build.explain,
            offline: build.offline,
            record: build.record.as_ref().map(|p| cwd.join(p)),
            shuffle: build.shuffle,
            provenance: build.provenance.as_ref().map(|p| cwd.join(p)),
            forward_global: cli
                .go
                .iter()
                .map(|g| ("--go", cwd.join(g)))
                .chain(cli.rules.iter().map(|r| ("--rules", cwd.join(r))))
                .flat_map(|(f, v)| [f.to_string(), v.to_string_lossy().to_string()])
                .collect(),
            forward_build: build
                .labels
                .iter()
                .cloned()
                .chain(
                    build
                        .platform
                        .iter()
                        .flat_map(|p| ["--platform".to_string(), p.clone()]),
                )
                .chain(
                    build
                        .platforms
                        .iter()
                        .flat_map(|p| ["--platforms".to_string(), p.clone()]),
                )
                .chain(
                    build
                        .tags
                        .iter()
                        .flat_map(|t| ["--tags".to_string(), t.clone()]),
                )
                .chain(build.offline.then(|| "--offline".to_string()))
                .collect(),
            profile: build.profile.as_ref().map(|p| cwd.join(p)),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags() {
        assert_eq!(
            super::split_tags(&["a,b".into(), "b c".into()]),
            vec!["a", "b", "c"]
        );
    }
}
