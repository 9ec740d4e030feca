//! Discovery: one `go list -deps -json -e` per platform, with a fixed
//! environment, turned into a package graph.
//!
//! Invariant: `go list` never sees the caller's environment (see
//! `toolenv::go_command_env`), so the graph depends only on the sources,
//! the toolchain, the platform and the tags. The result is cached under
//! `discover-v1/`, keyed by all of those ([`cache_key`]): every file of the
//! workspace by content (go.mod and go.work by meaning), so an unchanged
//! workspace is never listed twice and a changed one always is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub mod cover;

use crate::cache::Cache;
use crate::digest::{kind, Digest, KeyEncoder};
use crate::goflags::BuildFlags;
use crate::rules::Platform;
use crate::toolchain::Toolchain;
use crate::toolenv::go_command_env;
use crate::workspace::gomod;
use crate::workspace::tree::Tree;
use crate::workspace::WorkspaceError;

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("go list for {platform} failed to start: {msg}")]
    Spawn { platform: String, msg: String },
    #[error("go list for {platform} failed:\n{stderr}")]
    Failed { platform: String, stderr: String },
    #[error("go list for {platform}: unexpected output: {msg}")]
    Output { platform: String, msg: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
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
    /// Set when go list could not load the module (with GOPROXY=off: its
    /// zip is not in the module cache yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PackageError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PackageError {
    #[serde(default)]
    pub import_stack: Vec<String>,
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

/// `p [p.test]` → `p`: go list's name of a test variant, as tools see it.
pub fn tool_path(import_path: &str) -> &str {
    import_path.split_once(" [").map_or(import_path, |(p, _)| p)
}

/// The name of the test binary package of `p`.
pub fn test_main_of(import_path: &str) -> String {
    format!("{import_path}.test")
}

/// go list's name of `p` compiled for `tested`'s test binary:
/// `p [tested.test]` (`p` with its internal tests when `p` is `tested`).
pub fn test_variant_of(import_path: &str, tested: &str) -> String {
    format!("{import_path} [{}]", test_main_of(tested))
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
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
    pub ignored_go_files: Vec<String>,
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
    /// With `-test`: for a test variant, the package it is built for.
    pub for_test: String,
    /// The generated test main of a `p.test` package (go list writes it
    /// into its cache; read at once, staged as `_testmain.go`).
    pub testmain: Option<String>,
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

    /// The import path the tools see: a test variant (`p [p.test]`) is
    /// compiled as `p`.
    pub fn path(&self) -> &str {
        tool_path(&self.import_path)
    }

    /// Files gobuildr cannot build with cgo disabled and no C toolchain
    /// (.syso objects are linked as they are, as go build does).
    pub fn foreign_files(&self) -> usize {
        self.foreign_names().len()
    }

    /// The files left out by build constraints that import "C": with cgo
    /// off, go list leaves cgo files out rather than reporting them.
    pub fn cgo_ignored(&self) -> Vec<String> {
        self.ignored_go_files
            .iter()
            .filter(|f| imports_c(&self.dir.join(f)))
            .cloned()
            .collect()
    }

    /// The names of those files, for messages.
    pub fn foreign_names(&self) -> Vec<&str> {
        [
            &self.cgo_files,
            &self.c_files,
            &self.cxx_files,
            &self.m_files,
            &self.f_files,
            &self.swig_files,
            &self.swig_cxx_files,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect()
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

/// Whether a Go file imports "C" (is a cgo file).
pub fn imports_c(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| t.lines().any(|l| l.trim() == "import \"C\""))
        .unwrap_or(false)
}

/// The cgo files of a directory that go list reported as having no Go
/// files (`build constraints exclude all Go files in DIR`).
pub fn cgo_files_behind(err: &str) -> Vec<String> {
    let Some((_, dir)) = err.split_once("build constraints exclude all Go files in ") else {
        return Vec::new();
    };
    let mut files: Vec<String> = std::fs::read_dir(dir.trim())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".go") && imports_c(&Path::new(dir.trim()).join(n)))
        .collect();
    files.sort();
    files
}

/// The modules go list needed but could not load, `(path, version)`:
/// those whose zips are still to be fetched. A module go list knows
/// (`Module.Error`), or, for an import it could not place, every required
/// module whose path is a prefix of it (go's own candidates).
pub fn missing_modules(
    graphs: &[PackageGraph],
    requires: &[(String, String)],
) -> BTreeSet<(String, String)> {
    let packages = || graphs.iter().flat_map(|g| g.packages.values());
    let known = packages()
        .filter_map(|p| p.module.as_ref())
        .filter(|m| m.error.is_some() && !m.version.is_empty())
        .map(|m| (m.path.clone(), m.version.clone()));
    let unplaced = packages()
        .filter(|p| {
            p.module.is_none()
                && p.error
                    .as_ref()
                    .is_some_and(|e| e.err.contains("module lookup disabled"))
        })
        .flat_map(|p| {
            requires.iter().filter(move |(m, _)| {
                p.import_path == *m || p.import_path.starts_with(&format!("{m}/"))
            })
        })
        .cloned();
    known.chain(unplaced).collect()
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
const TEST_FIELDS: &str = ",ForTest";
const FIELDS: &str = "Dir,ImportPath,Name,Standard,Module,GoFiles,SFiles,HFiles,CgoFiles,CFiles,CXXFiles,MFiles,FFiles,SysoFiles,IgnoredGoFiles,SwigFiles,SwigCXXFiles,EmbedPatterns,EmbedFiles,Imports,ImportMap,Deps,DefaultGODEBUG,Error,DepsErrors,DepOnly";

pub struct Request<'a> {
    pub cache: &'a Cache,
    /// The workspace's files and their digest (see [`tree_digest`]).
    pub tree: Digest<kind::File>,
    pub root: &'a Path,
    pub toolchain: &'a Toolchain,
    pub platform: &'a Platform,
    /// Tags and GOEXPERIMENT are what go list reads of them.
    pub flags: &'a BuildFlags,
    /// Package directories relative to the root.
    pub dirs: &'a BTreeSet<String>,
    /// `go list -test`: test variants and test mains too.
    pub test: bool,
    /// `gobuildr test -cover`: the test mains import the coverage runtime.
    pub cover: bool,
}

/// The digest of everything `go list` reads from the workspace: every file
/// by path and content, except go.mod and go.work, which enter by meaning;
/// plus where the workspace and the module cache are (go list reports
/// absolute directories).
pub fn tree_digest(
    root: &Path,
    tree: &Tree,
    cache: &Cache,
) -> Result<Digest<kind::File>, WorkspaceError> {
    let mut e = KeyEncoder::<kind::File>::new("workspace tree");
    e.str("root", &root.to_string_lossy())
        .str("cache", &cache.root().to_string_lossy());
    for rel in &tree.files {
        let path = root.join(rel);
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let d = if name == "go.mod" || name == "go.work" {
            let text = std::fs::read_to_string(&path).map_err(|source| WorkspaceError::Io {
                path: path.clone(),
                source,
            })?;
            gomod::meaning(&path, &text)?
        } else if name.ends_with(".go") {
            // Only what go list reads of a Go file: a body edit needs no new
            // package graph.
            cache
                .stats()
                .derived(&path, list_header)
                .map_err(|source| WorkspaceError::Io {
                    path: path.clone(),
                    source,
                })?
        } else {
            cache
                .stats()
                .digest(&path)
                .map_err(|source| WorkspaceError::Io {
                    path: path.clone(),
                    source,
                })?
        };
        e.str("file", rel).digest("content", &d);
    }
    for path in &tree.external {
        let d = cache
            .stats()
            .digest(path)
            .map_err(|source| WorkspaceError::Io {
                path: path.clone(),
                source,
            })?;
        e.str("external", &path.to_string_lossy())
            .digest("content", &d);
    }
    Ok(e.finish())
}

/// The part of a Go file that go list's answer depends on: everything up to
/// the end of its imports (build constraints, `//go:debug`, the package
/// clause, the imports), plus every `//go:embed` line. Anything that does
/// not parse simply (a block comment before the imports end) is taken
/// whole.
pub fn list_header(data: &[u8]) -> Digest<kind::File> {
    let text = String::from_utf8_lossy(data);
    let mut e = KeyEncoder::<kind::File>::new("go list header");
    let mut in_block = false;
    let mut seen_package = false;
    let mut header_done = false;
    for line in text.lines() {
        let t = line.trim();
        if header_done {
            if t.starts_with("//go:embed") {
                e.str("embed", t);
            }
            continue;
        }
        if t.contains("/*") {
            let mut whole = KeyEncoder::<kind::File>::new("go list header: whole file");
            whole.bytes("file", data);
            return whole.finish();
        }
        let keep = if in_block {
            if t.starts_with(')') {
                in_block = false;
            }
            true
        } else if t.is_empty() || t.starts_with("//") {
            true
        } else if t.starts_with("package ") {
            seen_package = true;
            true
        } else if seen_package && t.starts_with("import") {
            in_block = t.ends_with('(');
            true
        } else {
            header_done = true;
            false
        };
        if keep {
            e.str("line", t);
        } else if t.starts_with("//go:embed") {
            e.str("embed", t);
        }
    }
    e.finish()
}

/// The key of one discovery: the workspace, the toolchain, the platform,
/// the tags and the requested directories.
pub fn cache_key(req: &Request) -> Digest<kind::File> {
    let mut e = KeyEncoder::<kind::File>::new("discover");
    e.digest("tree", &req.tree)
        .digest("toolchain", &req.toolchain.id)
        .strs(
            "platform",
            &req.platform
                .env()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )
        .strs("tags", &req.flags.tags)
        .str(
            "goexperiment",
            req.flags.goexperiment.as_deref().unwrap_or("(default)"),
        )
        .strs("dirs", &req.dirs.iter().cloned().collect::<Vec<_>>())
        .str("fields", FIELDS);
    e.finish()
}

fn cache_path(req: &Request) -> PathBuf {
    req.cache
        .dir(crate::cache::Bucket::Discover)
        .join(format!("{}.json", cache_key(req)))
}

fn graph(req: &Request, list: Vec<Package>) -> PackageGraph {
    let order = list.iter().map(|p| p.import_path.clone()).collect();
    PackageGraph {
        platform: req.platform.clone(),
        packages: list
            .into_iter()
            .map(|p| (p.import_path.clone(), p))
            .collect(),
        order,
    }
}

/// The package graph of one platform from the discovery cache, if nothing
/// go list reads has changed (and every package directory still exists:
/// the module cache may have been cleaned).
pub fn cached(req: &Request) -> Option<PackageGraph> {
    let list = std::fs::read(cache_path(req))
        .ok()
        .and_then(|d| serde_json::from_slice::<Vec<Package>>(&d).ok())?;
    list.iter()
        .all(|p| p.dir.as_os_str().is_empty() || p.dir.is_dir())
        .then(|| graph(req, list))
}

/// The package graph of one platform: cached, else from `go list` (and
/// then cached).
pub fn discover(req: &Request) -> Result<PackageGraph, DiscoverError> {
    // A test main depends on the test functions' names, which the
    // header-only tree digest does not see: go list runs every time.
    if req.test {
        return Ok(graph(req, with_testmains(go_list(req)?, req.cover)?));
    }
    let list = match cached(req) {
        Some(g) => return Ok(g),
        None => {
            let path = cache_path(req);
            let mut list = go_list(req)?;
            // Only links read the full dependency list: dropping it from
            // every other package makes the cached graph several times
            // smaller, and a no-op build reads it every time.
            for p in list.iter_mut().filter(|p| !p.is_main()) {
                p.deps = Vec::new();
            }
            // Errors may come from outside the workspace (an unreachable
            // proxy): never replay them.
            let clean = list.iter().all(|p| {
                (p.error.is_none() || p.excluded_by_constraints())
                    && p.deps_errors.is_empty()
                    && !p.module.as_ref().is_some_and(|m| m.error.is_some())
            });
            if clean {
                if let Ok(data) = serde_json::to_vec(&list) {
                    // Losing this only costs a go list next time.
                    let _ = crate::fsutil::write_atomic(&path, &data);
                }
            }
            list
        }
    };
    Ok(graph(req, list))
}

/// Reads each test main go list generated, and names it `_testmain.go`.
fn with_testmains(mut list: Vec<Package>, cover: bool) -> Result<Vec<Package>, DiscoverError> {
    let all = if cover { list.clone() } else { Vec::new() };
    for p in list
        .iter_mut()
        .filter(|p| p.is_main() && p.import_path.ends_with(".test"))
    {
        let Some(file) = p.go_files.first().filter(|f| Path::new(f).is_absolute()) else {
            continue;
        };
        let text = std::fs::read_to_string(file).map_err(|e| DiscoverError::Output {
            platform: format!("the test main of {}", p.import_path),
            msg: format!("{file}: {e}"),
        })?;
        if cover {
            cover::add_runtime(p, &all);
        }
        p.testmain = Some(text);
        p.go_files = vec![TESTMAIN.to_string()];
    }
    Ok(list)
}

/// The file name a test main is staged under.
pub const TESTMAIN: &str = "_testmain.go";

/// Runs `go list` once for all requested directories on one platform.
fn go_list(req: &Request) -> Result<Vec<Package>, DiscoverError> {
    let platform = req.platform.to_string();
    let mut cmd = crate::toolenv::command(&req.toolchain.go);
    cmd.current_dir(req.root)
        .env_clear()
        .envs(go_command_env(req.cache.root()))
        .envs(req.platform.env())
        // Offline: every module was fetched and verified before (fetch).
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .envs(req.flags.goexperiment.iter().map(|x| ("GOEXPERIMENT", x)))
        // The planner applies profiles itself: one package per import path.
        .args([
            "list",
            "-e",
            "-deps",
            "-pgo=off",
            &format!("-json={FIELDS}{}", if req.test { TEST_FIELDS } else { "" }),
        ]);
    if req.test {
        cmd.arg("-test");
    }
    if !req.flags.tags.is_empty() {
        cmd.arg(format!("-tags={}", req.flags.tags.join(",")));
    }
    cmd.arg("--");
    cmd.args(req.dirs.iter().map(|d| {
        if d.is_empty() {
            ".".to_string()
        } else {
            format!("./{d}")
        }
    }));
    if req.cover {
        cmd.args(cover::RUNTIME).arg(cover::COVDATA);
    }
    let out = crate::process::output(&mut cmd).map_err(|e| DiscoverError::Spawn {
        platform: platform.clone(),
        msg: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(DiscoverError::Failed {
            platform,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Package>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DiscoverError::Output {
            platform,
            msg: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::list_header;

    #[test]
    fn body_edits_do_not_change_the_header() {
        let a = "//go:build linux\n\npackage p\n\nimport (\n\t\"fmt\"\n)\n\nfunc F() { fmt.Println(1) }\n";
        let b = a.replace("Println(1)", "Println(2)");
        assert_eq!(list_header(a.as_bytes()), list_header(b.as_bytes()));
        let c = a.replace("\"fmt\"", "\"os\"");
        assert_ne!(list_header(a.as_bytes()), list_header(c.as_bytes()));
        let d = a.replace("linux", "windows");
        assert_ne!(list_header(a.as_bytes()), list_header(d.as_bytes()));
        let e = format!("{a}\n//go:embed x.txt\nvar s string\n");
        assert_ne!(list_header(a.as_bytes()), list_header(e.as_bytes()));
    }
}
