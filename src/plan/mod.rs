//! The action graph: for every package on every platform, what to run, with
//! which inputs and outputs, using the rules in `rules/`.
//!
//! Per package: `asm -gensymabis` when it has .s files, compile, one asm per
//! .s file, and pack; per selected main package, link. Standard-library
//! packages are ordinary actions. Argv and generated files (importcfg,
//! embedcfg) name the sandbox, the tool directory and GOROOT through the
//! placeholders [`SB`], [`TOOLDIR`] and [`GOROOT`], so they are the same on
//! every machine and can enter keys as they are.

pub mod buildinfo;
mod includes;
mod keys;
mod planner;

pub use keys::{KeyIngredients, KeyInput, ACTION_KEY_DOMAIN};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

use crate::digest::{kind, FileDigest, KeyEncoder, StatCache};
use crate::discover::{Package, PackageGraph};
use crate::goflags::{BuildFlags, Pgo};
use crate::rules::{rules, Platform};
use crate::toolchain::Toolchain;
use crate::workspace::glob::glob_match;
use crate::workspace::label;
use crate::workspace::GoSum;

/// The environment every tool gets besides its action's own (platform,
/// GOROOT): `[env]` of `rules/tools.toml`, in file order; part of every key.
pub fn tool_env() -> impl Iterator<Item = (&'static str, &'static str)> {
    rules()
        .tools
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
}

pub const SB: &str = "${SB}";
pub const TOOLDIR: &str = "${TOOLDIR}";
pub const GOROOT: &str = "${GOROOT}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Symabis,
    Compile,
    Asm,
    Pack,
    Link,
    Preprofile,
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionKind::Symabis => "symabis",
            ActionKind::Compile => "compile",
            ActionKind::Asm => "asm",
            ActionKind::Pack => "pack",
            ActionKind::Link => "link",
            ActionKind::Preprofile => "preprofile",
        })
    }
}

impl ActionKind {
    /// The rule file that shapes actions of this kind.
    fn rule_file(self) -> &'static str {
        match self {
            ActionKind::Symabis | ActionKind::Asm => "asm.toml",
            ActionKind::Compile => "compile.toml",
            ActionKind::Pack => "pack.toml",
            ActionKind::Link => "link.toml",
            ActionKind::Preprofile => "pgo.toml",
        }
    }

    /// The rule text that shapes actions of this kind.
    pub fn rule_text(self) -> &'static str {
        rules()
            .texts
            .get(self.rule_file())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The digest of [`Self::rule_text`] (part of the keys).
    pub fn rule_digest(self) -> FileDigest {
        rules()
            .digests
            .get(self.rule_file())
            .copied()
            .unwrap_or_else(|| FileDigest::of_bytes(b""))
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk with its digest: hashed by content (workspace files)
    /// or fixed by an identity (`immutable`: standard library, modules).
    File {
        path: PathBuf,
        digest: FileDigest,
        immutable: bool,
    },
    /// An output of another action.
    Output { action: NodeIndex, name: String },
    /// Bytes gobuildr writes; placeholders are substituted when staged.
    Generated(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Input {
    /// Where the input appears, relative to the sandbox root.
    pub at: String,
    pub source: Source,
    /// The action modifies this input in place (pack appends to an archive).
    pub writable: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    pub package: String,
    pub platform: Platform,
    pub argv: Vec<String>,
    /// The fixed environment of the tool (placeholders allowed).
    pub env: Vec<(String, String)>,
    pub inputs: Vec<Input>,
    /// Sandbox-relative output paths.
    pub outputs: Vec<String>,
    /// What `${SB}/src/` means to the user, for rewriting tool messages.
    pub src_display: String,
    /// For packages fixed by an identity (standard library, modules): the
    /// package directory, staged whole as `src` (assembly may include
    /// headers from its subdirectories, e.g. runtime's cgo/abi_amd64.h).
    pub src_link: Option<PathBuf>,
    /// `path@version` of the module the package comes from, when versioned
    /// (for explanations: a version bump is named as such).
    pub module: Option<String>,
}

impl Action {
    /// The key of this action given the digests of its inputs' contents (in
    /// input order): see [`KeyIngredients`], the one recipe.
    pub fn key(
        &self,
        toolchain: &crate::digest::ToolchainId,
        input_digests: &[FileDigest],
    ) -> crate::digest::ActionKey {
        KeyIngredients::of(self, toolchain, input_digests).key()
    }
}

/// A binary to publish.
#[derive(Debug, Clone)]
pub struct Target {
    /// Canonical label, `//dir:name`.
    pub label: String,
    pub platform: Platform,
    pub link: NodeIndex,
    /// Where it goes, relative to the output root: `linux_amd64/bin/x`.
    pub out_rel: String,
}

/// A package matched by a wildcard that has no buildable files here.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub label: String,
    pub platform: Platform,
}

#[derive(Default)]
pub struct Plan {
    pub graph: DiGraph<Action, ()>,
    pub targets: Vec<Target>,
    pub skipped: Vec<Skipped>,
    /// Non-main packages the request selected, per platform (for the summary).
    pub libraries: usize,
}

impl Plan {
    /// An action as messages name it: `compile example.com/x (linux/amd64)`.
    pub fn describe(&self, node: NodeIndex) -> String {
        let a = &self.graph[node];
        format!("{} {} ({})", a.kind, a.package, a.platform)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Packages(String),
    /// Something real code contains that gobuildr does not build (cgo,
    /// an include outside the module): a usage error, never a wrong binary.
    #[error("{0}")]
    Unsupported(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A package the user selected, with how it was selected.
pub struct Root {
    pub import_path: String,
    /// Workspace-relative directory.
    pub dir: String,
    /// Named explicitly (not through a wildcard).
    pub explicit: bool,
}

pub struct PlanRequest<'a> {
    pub root: &'a Path,
    pub toolchain: &'a Toolchain,
    /// go build's flags (tags, per-package flags, build mode, PGO, ...).
    pub flags: &'a BuildFlags,
    /// The main module's version-control stamp, when there is one.
    pub vcs: Option<&'a crate::vcs::Stamp>,
    pub sums: &'a GoSum,
    /// Building from vendor/ (`-mod=vendor`).
    pub vendored: bool,
    /// Link-time `-X` stamps.
    pub stamps: &'a [crate::stamp::Stamp],
    pub stats: &'a StatCache,
    /// gobuildr's module cache: only files under it are fixed by go.sum.
    pub modcache: &'a Path,
}

/// An output of an action: which action, and its sandbox-relative name.
#[derive(Clone)]
struct OutputRef {
    node: NodeIndex,
    name: String,
}

/// Where a built package's two archives are. Compile writes export data
/// (what importers compile against) apart from the link object (what the
/// linker reads, with assembly packed in), so an edit that leaves the export
/// data unchanged recompiles no importer (early cutoff; DESIGN.md fact 6).
#[derive(Clone)]
struct Archive {
    export: OutputRef,
    link: OutputRef,
}

/// Export data written by compile's -o.
const EXPORT: &str = "obj/export.a";
/// The link object written by compile's -linkobj (and extended by pack).
const LINKOBJ: &str = "obj/_pkg_.a";
/// The preprocessed PGO profile.
const PREPROFILE: &str = "obj/pgo.preprofile";

/// What a package needs that gobuildr does not build: cgo (go list hides
/// cgo files when cgo is off: they are found behind its errors) and files
/// for other compilers.
fn unsupported_in(p: &Package) -> Vec<String> {
    let mut cgo = match &p.error {
        Some(_) if p.excluded_by_constraints() => vec![(p.import_path.clone(), p.cgo_ignored())],
        _ => Vec::new(),
    };
    for e in &p.deps_errors {
        let pkg = e.import_stack.last().cloned().unwrap_or_default();
        cgo.push((pkg, crate::discover::cgo_files_behind(&e.err)));
    }
    let mut out: Vec<String> = cgo
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(pkg, files)| {
            format!(
                "package {pkg}: needs cgo ({} import \"C\"), which gobuildr does not build: it builds with CGO_ENABLED=0",
                files.join(", ")
            )
        })
        .collect();
    if p.foreign_files() > 0 {
        out.push(format!(
            "package {}: {} cgo, C, C++, Objective-C, Fortran or SWIG files ({}) are not supported: gobuildr builds with CGO_ENABLED=0",
            p.import_path,
            p.foreign_files(),
            p.foreign_names().join(", ")
        ));
    }
    out
}

/// Reports errors in the packages a request needs, as go build does.
fn check_errors(
    graph: &PackageGraph,
    roots: &[Root],
    root_dir: &Path,
) -> Result<BTreeSet<String>, PlanError> {
    let mut errors = Vec::new();
    let mut unsupported = Vec::new();
    let mut skip = BTreeSet::new();
    let relativize = |s: &str| s.replace(&format!("{}/", root_dir.display()), "");
    for r in roots {
        let Some(p) = graph.packages.get(&r.import_path) else {
            continue;
        };
        if p.excluded_by_constraints() && !r.explicit {
            skip.insert(r.import_path.clone());
        }
    }
    for name in &graph.order {
        let p = &graph.packages[name];
        if skip.contains(name) {
            continue;
        }
        let refused = unsupported_in(p);
        if !refused.is_empty() {
            unsupported.extend(refused);
            continue;
        }
        if let Some(e) = &p.error {
            let mut what = format!("package {}: {}", p.import_path, relativize(&e.to_string()));
            if p.excluded_by_constraints() {
                what.push_str(&format!(" (on {})", graph.platform));
            }
            errors.push(what);
        }
        for e in &p.deps_errors {
            errors.push(relativize(&e.to_string()));
        }
    }
    let mut seen = BTreeSet::new();
    unsupported.retain(|e| seen.insert(e.clone()));
    if !unsupported.is_empty() {
        return Err(PlanError::Unsupported(unsupported.join("\n")));
    }
    errors.retain(|e| seen.insert(e.clone()));
    if errors.is_empty() {
        Ok(skip)
    } else {
        Err(PlanError::Packages(errors.join("\n")))
    }
}

/// The files each `//go:embed` pattern selects, out of the package's
/// embedded files: a file matches when its leading path elements match the
/// pattern's (a file directly, or one below a matched directory).
fn embed_patterns(pkg: &Package) -> BTreeMap<String, Vec<String>> {
    pkg.embed_patterns
        .iter()
        .map(|pat| {
            let glob = pat.strip_prefix("all:").unwrap_or(pat);
            let parts: Vec<&str> = glob.split('/').collect();
            let files = pkg
                .embed_files
                .iter()
                .filter(|f| {
                    let fp: Vec<&str> = f.split('/').collect();
                    fp.len() >= parts.len() && parts.iter().zip(&fp).all(|(g, n)| glob_match(g, n))
                })
                .cloned()
                .collect();
            (pat.clone(), files)
        })
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The profile a root builds with, if any: -pgo=FILE for every package,
/// -pgo=auto a main package's own default.pgo.
fn profile_of(flags: &BuildFlags, pkg: &Package) -> Option<PathBuf> {
    match &flags.pgo {
        Pgo::Off => None,
        Pgo::File(f) => Some(f.clone()),
        Pgo::Auto => Some(pkg.dir.join("default.pgo")).filter(|p| pkg.is_main() && p.is_file()),
    }
}

/// Adds one platform's packages and links to the plan. Roots are grouped
/// by profile: each group's packages are planned once, compiled with its
/// profile (go build splits the package graph the same way).
pub fn plan_platform(
    plan: &mut Plan,
    req: &PlanRequest,
    graph: &PackageGraph,
    roots: &[Root],
) -> Result<(), PlanError> {
    let skip = check_errors(graph, roots, req.root)?;
    let cmdline: BTreeSet<String> = roots.iter().map(|r| r.import_path.clone()).collect();
    let mut groups: BTreeMap<Option<PathBuf>, Vec<&Root>> = BTreeMap::new();
    for r in roots {
        let Some(pkg) = graph.packages.get(&r.import_path) else {
            continue;
        };
        if skip.contains(&r.import_path) {
            plan.skipped.push(Skipped {
                label: format!("//{}", r.dir),
                platform: graph.platform.clone(),
            });
            continue;
        }
        groups
            .entry(profile_of(req.flags, pkg))
            .or_default()
            .push(r);
    }
    for (profile, group) in groups {
        let mut planner = planner::Planner {
            req,
            graph,
            plan,
            archives: HashMap::new(),
            roots: &cmdline,
            profile: None,
        };
        if let Some(file) = &profile {
            let display = display_rel(req.root, file);
            planner.profile = Some(planner.plan_preprofile(file, &display)?);
        }
        let needed: BTreeSet<&String> = group
            .iter()
            .filter_map(|r| graph.packages.get(&r.import_path))
            .flat_map(|p| p.deps.iter().chain(std::iter::once(&p.import_path)))
            .collect();
        let names: Vec<&String> = graph
            .order
            .iter()
            .filter(|n| needed.contains(n) && !skip.contains(*n) && *n != "unsafe")
            .collect();
        planner.plan_packages(&names)?;
        let pgo_name = profile
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string());
        for r in group {
            plan_root(&mut planner, r, pgo_name.as_deref());
        }
    }
    Ok(())
}

/// `path` relative to the workspace root when it is inside it.
fn display_rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .to_string()
}

/// A root's link and target (a main package), or its count (a library).
fn plan_root(planner: &mut planner::Planner, r: &Root, pgo: Option<&str>) {
    let graph = planner.graph;
    let pkg = &graph.packages[&r.import_path];
    if !pkg.is_main() {
        planner.plan.libraries += 1;
        return;
    }
    let name = pkg.binary_name();
    let link = planner.plan_link(pkg, &r.dir, pgo);
    planner.plan.targets.push(Target {
        label: label::canonical(&r.dir, &name),
        platform: graph.platform.clone(),
        link,
        out_rel: format!(
            "{}/bin/{name}{}",
            graph.platform.dir_name(),
            graph.platform.exe_suffix()
        ),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_selection() {
        let pkg = Package {
            embed_patterns: vec!["static".into(), "hello.txt".into(), "all:t*".into()],
            embed_files: vec![
                "hello.txt".into(),
                "static/a.css".into(),
                "static/sub/b.js".into(),
                "tpl/x".into(),
            ],
            ..Default::default()
        };
        let m = embed_patterns(&pkg);
        assert_eq!(m["static"], vec!["static/a.css", "static/sub/b.js"]);
        assert_eq!(m["hello.txt"], vec!["hello.txt"]);
        assert_eq!(m["all:t*"], vec!["tpl/x"]);
    }
}
