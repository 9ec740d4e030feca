//! `gobuildr verify`: rebuild under varied conditions, prove the outputs
//! bit-identical, and when they are not, name the first action that
//! diverges and why.
//!
//! Each run is a separate `gobuildr build` process with a fresh, private
//! cache (so every action executes afresh and no run reuses another's
//! outputs), its own sandbox root, and the variations chosen for it. Run 0
//! is the baseline; every other run applies the variations. Runs leave
//! records (`attest::record`) that are compared action by action in
//! dependency order (`localise`); `hosts` repeats the build with
//! toolchains built for other hosts; `report` words the verdict.

pub mod binary;
pub mod hosts;
pub mod localise;
pub mod report;
mod run;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::attest::record::RecordFile;

/// A verification that could not be carried out (not a divergence).
pub fn could_not(e: impl std::fmt::Display) -> crate::failure::Failure {
    crate::failure::Failure::Usage(format!("could not verify: {e}"))
}

pub use localise::{first_divergence, volatile_cause, Divergence};
pub use run::run_one;

/// A condition a run can vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variation {
    /// The workspace's absolute path (a copy of the sources elsewhere).
    Path,
    /// The sandbox root (the cache, and so every sandbox, at another path).
    Sandbox,
    /// The caller's environment: junk variables, TZ, LANG/LC_ALL, HOME, umask.
    Env,
    /// Parallelism: -j 1 against the default.
    Jobs,
    /// The order in which ready actions start and inputs are staged.
    Order,
}

pub const ALL: [Variation; 5] = [
    Variation::Path,
    Variation::Sandbox,
    Variation::Env,
    Variation::Jobs,
    Variation::Order,
];

impl fmt::Display for Variation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Variation::Path => "path",
            Variation::Sandbox => "sandbox",
            Variation::Env => "env",
            Variation::Jobs => "jobs",
            Variation::Order => "order",
        })
    }
}

impl Variation {
    /// Parses `--vary` values: `all`, or names (`staging` is `order`).
    pub fn parse_list(items: &[String]) -> Result<Vec<Variation>, String> {
        let mut out = Vec::new();
        for item in items
            .iter()
            .flat_map(|i| i.split(','))
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let v: &[Variation] = match item {
                "all" => &ALL,
                "path" => &[Variation::Path],
                "sandbox" => &[Variation::Sandbox],
                "env" | "environment" => &[Variation::Env],
                "jobs" | "parallelism" => &[Variation::Jobs],
                "order" | "staging" => &[Variation::Order],
                other => {
                    return Err(format!(
                        "unknown variation {other:?} (known: all, path, sandbox, env, jobs, order)"
                    ))
                }
            };
            out.extend_from_slice(v);
        }
        if out.is_empty() {
            out.extend_from_slice(&ALL);
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// How to start one `gobuildr build` for verify.
pub struct RunSpec<'a> {
    pub exe: &'a Path,
    pub workspace: &'a Path,
    /// Where the user stood, relative to the root (Go-style labels are
    /// relative to it).
    pub subdir: &'a str,
    /// Global flags to pass on (--go, --rules).
    pub global: &'a [String],
    /// Build flags to pass on (labels, --platforms, --tags).
    pub build: &'a [String],
    pub scratch: &'a Path,
    /// The user's cache, whose verified downloads each run starts with.
    pub main_cache: &'a Path,
}

/// One finished run.
pub struct RunResult {
    pub variations: Vec<Variation>,
    pub record: RecordFile,
    pub summary: crate::report::BuiltSummary,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("run {run} ({variations}) failed to build:\n{stderr}")]
    Build {
        run: usize,
        variations: String,
        stderr: String,
    },
    #[error("verify scratch {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Variations as messages and run directories name them.
pub fn names(v: &[Variation]) -> String {
    if v.is_empty() {
        "baseline".into()
    } else {
        v.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
