//! Discovery: one `go list -deps -json -e` per platform, with a fixed
//! environment, turned into a package graph.
//!
//! Invariant: `go list` never sees the caller's environment (see
//! `toolchain::go_command_env`), so the graph depends only on the sources,
//! the toolchain, the platform and the tags.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::rules::Platform;
use crate::toolchain::{go_command_env, Toolchain};

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("go list for {platform} failed to start: {msg}")]
    Spawn { platform: String, msg: String },
    #[error("go list for {platform} failed:\n{stderr}")]
    Failed { platform: String, stderr: String },
    #[error("go list for {platform}: unexpected output: {msg}")]
    Output { platform: String, msg: String },
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Module {
    pub path: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub main: bool,
    #[serde(default)]
    pub dir: Option<PathBuf>,
    #[serde(default)]
    pub go_version: Option<String>,
    #[serde(default)]
    pub replace: Option<Box<Module>>,
    #[serde(default)]
    pub sum: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PackageError {
    #[serde(default)]
    pub pos: String,
    #[serde(default)]
    pub err: String,
}

impl std::fmt::Display for PackageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pos.is_empty() {
            f.write_str(&self.err)
        } else {
            write!(f, "{}: {}", self.pos, self.err)
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Package {
    pub dir: PathBuf,
    pub import_path: String,
    pub name: String,
    pub standard: bool,
    pub module: Option<Module>,
    pub go_files: Vec<String>,
    pub s_files: Vec<String>,
    pub h_files: Vec<String>,
    pub cgo_files: Vec<String>,
    pub c_files: Vec<String>,
    pub cxx_files: Vec<String>,
    pub m_files: Vec<String>,
    pub f_files: Vec<String>,
    pub syso_files: Vec<String>,
    pub swig_files: Vec<String>,
    #[serde(rename = "SwigCXXFiles")]
    pub swig_cxx_files: Vec<String>,
    pub embed_patterns: Vec<String>,
    pub embed_files: Vec<String>,
    pub imports: Vec<String>,
    pub import_map: BTreeMap<String, String>,
    pub deps: Vec<String>,
    #[serde(rename = "DefaultGODEBUG")]
    pub default_godebug: String,
    pub error: Option<PackageError>,
    pub deps_errors: Vec<PackageError>,
    pub dep_only: bool,
}

impl Package {
    /// go build's rule: a package whose files are all excluded by build
    /// constraints on this platform.
    pub fn excluded_by_constraints(&self) -> bool {
        self.error
            .as_ref()
            .map(|e| e.err.contains("build constraints exclude all Go files"))
            .unwrap_or(false)
    }

    pub fn is_main(&self) -> bool {
        self.name == "main"
    }

    /// Files gobuildr cannot build with cgo disabled and no C toolchain.
    pub fn foreign_files(&self) -> usize {
        self.cgo_files.len()
            + self.c_files.len()
            + self.cxx_files.len()
            + self.m_files.len()
            + self.f_files.len()
            + self.syso_files.len()
            + self.swig_files.len()
            + self.swig_cxx_files.len()
    }

    /// The binary name go build gives a main package: the last element of
    /// its import path, skipping a trailing major version (`/v2`).
    pub fn binary_name(&self) -> String {
        let mut elems = self.import_path.rsplit('/');
        let last = elems.next().unwrap_or("main");
        let is_major = last.len() > 1
            && last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit());
        match (is_major, elems.next()) {
            (true, Some(prev)) => prev.to_string(),
            _ => last.to_string(),
        }
    }
}

/// The package graph for one platform.
#[derive(Debug, Clone)]
pub struct PackageGraph {
    pub platform: Platform,
    /// Every package, by import path, in `go list -deps` order (dependencies
    /// before dependents).
    pub packages: BTreeMap<String, Package>,
    pub order: Vec<String>,
}

/// The fields of `go list -json` gobuildr reads; asking for only these makes
/// go list cheaper.
const FIELDS: &str = "Dir,ImportPath,Name,Standard,Module,GoFiles,SFiles,HFiles,CgoFiles,CFiles,CXXFiles,MFiles,FFiles,SysoFiles,SwigFiles,SwigCXXFiles,EmbedPatterns,EmbedFiles,Imports,ImportMap,Deps,DefaultGODEBUG,Error,DepsErrors,DepOnly";

pub struct Request<'a> {
    pub root: &'a Path,
    pub toolchain: &'a Toolchain,
    pub scratch: &'a Path,
    pub platform: &'a Platform,
    pub tags: &'a [String],
    /// Package directories relative to the root.
    pub dirs: &'a BTreeSet<String>,
    /// Where modules are fetched from (a GOPROXY list).
    pub proxy: &'a str,
}

/// Runs `go list` once for all requested directories on one platform.
pub fn discover(req: &Request) -> Result<PackageGraph, DiscoverError> {
    let platform = req.platform.to_string();
    let mut cmd = Command::new(&req.toolchain.go);
    cmd.current_dir(req.root)
        .env_clear()
        .envs(go_command_env(req.scratch))
        .envs(req.platform.env())
        .env("GOPROXY", req.proxy)
        .args(["list", "-e", "-deps", &format!("-json={FIELDS}")]);
    // Checksum-database settings never change an output, only whether a
    // download is trusted, so the caller's choices pass through.
    for var in [
        "GOSUMDB",
        "GONOSUMDB",
        "GOPRIVATE",
        "GONOPROXY",
        "GOINSECURE",
    ] {
        if let Ok(v) = std::env::var(var) {
            cmd.env(var, v);
        }
    }
    if !req.tags.is_empty() {
        cmd.arg(format!("-tags={}", req.tags.join(",")));
    }
    cmd.arg("--");
    cmd.args(req.dirs.iter().map(|d| {
        if d.is_empty() {
            ".".to_string()
        } else {
            format!("./{d}")
        }
    }));
    let out = cmd.output().map_err(|e| DiscoverError::Spawn {
        platform: platform.clone(),
        msg: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(DiscoverError::Failed {
            platform,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let mut packages = BTreeMap::new();
    let mut order = Vec::new();
    for p in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Package>() {
        let p = p.map_err(|e| DiscoverError::Output {
            platform: platform.clone(),
            msg: e.to_string(),
        })?;
        order.push(p.import_path.clone());
        packages.insert(p.import_path.clone(), p);
    }
    Ok(PackageGraph {
        platform: req.platform.clone(),
        packages,
        order,
    })
}
