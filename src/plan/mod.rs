//! The action graph: for every package on every platform, what to run, with
//! which inputs and outputs, using the rules in `rules/`.
//!
//! Per package: `asm -gensymabis` when it has .s files, compile, one asm per
//! .s file, and pack; per selected main package, link. Standard-library
//! packages are ordinary actions. Argv and generated files (importcfg,
//! embedcfg) name the sandbox, the tool directory and GOROOT through the
//! placeholders [`SB`], [`TOOLDIR`] and [`GOROOT`], so they are the same on
//! every machine and can enter keys as they are.

mod action;
mod asm;
pub mod buildinfo;
mod check;
mod compile;
mod cover;
pub use cover::META_INDEX;
mod embed;
mod includes;
mod keys;
mod layout;
mod link;
mod pgo;
mod planner;
mod testrun;
mod vet;

pub use action::{Action, ActionKind, Input, Source};
pub use keys::{KeyIngredients, KeyInput, ACTION_KEY_DOMAIN};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::digest::StatCache;
use crate::discover::PackageGraph;
use crate::goflags::BuildFlags;
use crate::rules::{rules, Platform};
use crate::toolchain::Toolchain;
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
    /// `gobuildr test`: each selected package's test run, per platform.
    pub tests: Vec<testrun::TestTarget>,
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
    /// `gobuildr test`: the flags each test binary runs with.
    pub tests: Option<&'a testrun::TestOptions>,
}

/// Export data written by compile's -o.
const EXPORT: &str = "obj/export.a";
/// The link object written by compile's -linkobj (and extended by pack).
const LINKOBJ: &str = "obj/_pkg_.a";
/// The preprocessed PGO profile.
const PREPROFILE: &str = "obj/pgo.preprofile";
/// A covered test binary's profile (`-test.coverprofile`).
pub const COVER_PROFILE: &str = "obj/cover.out";

/// Adds one platform's packages and links to the plan. Roots are grouped
/// by profile: each group's packages are planned once, compiled with its
/// profile (go build splits the package graph the same way).
pub use testrun::{CoverMatch, CoverOptions, CoverPattern, TestOptions, TestTarget};
pub use vet::VetChecks;

pub fn plan_platform(
    plan: &mut Plan,
    req: &PlanRequest,
    graph: &PackageGraph,
    roots: &[Root],
) -> Result<(), PlanError> {
    // -cover reports packages with no tests through covdata, which runs
    // here: only for a platform this host runs.
    let cover = req.tests.is_some_and(|t| t.cover.is_some());
    let meta = cover && testrun::runs_on_host(req.toolchain, &graph.platform);
    let test_roots;
    let roots = if req.tests.is_some() {
        test_roots = testrun::test_roots(plan, graph, roots, meta);
        &test_roots[..]
    } else {
        roots
    };
    let skip = check::check_errors(graph, roots, req.root)?;
    let cmdline: BTreeSet<String> = roots.iter().map(|r| r.import_path.clone()).collect();
    let groups = profile_groups(plan, req, graph, roots, &skip);
    for (profile, group) in groups {
        let mut planner = planner::Planner {
            req,
            graph,
            plan,
            archives: HashMap::new(),
            vets: HashMap::new(),
            covered: testrun::covered(graph, &group, req.tests.and_then(|t| t.cover.as_ref())),
            cover_runs: HashMap::new(),
            covdata: None,
            roots: &cmdline,
            profile: None,
        };
        if let Some(file) = &profile {
            let display = display_rel(req.root, file);
            planner.profile = Some(planner.plan_preprofile(file, &display)?);
        }
        let pgo_name = profile
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().to_string());
        plan_group(&mut planner, &group, &skip, meta, pgo_name.as_deref())?;
    }
    Ok(())
}

/// One profile group's packages, then its roots (and under -cover, the
/// covdata tool when this host reports packages with no tests).
fn plan_group(
    planner: &mut planner::Planner,
    group: &[&Root],
    skip: &BTreeSet<String>,
    host_reports: bool,
    pgo_name: Option<&str>,
) -> Result<(), PlanError> {
    let graph = planner.graph;
    let cover = planner.req.tests.is_some_and(|t| t.cover.is_some());
    let reports = host_reports && planner.covered.values().any(|meta| *meta);
    // Every package that writes meta-data is planned (with -coverpkg, a
    // package under test itself, beside its test variant).
    let meta: Vec<&String> = planner
        .covered
        .iter()
        .filter(|(_, m)| **m)
        .filter_map(|(p, _)| graph.packages.get_key_value(p).map(|(k, _)| k))
        .collect();
    let roots: Vec<&String> = group.iter().map(|r| &r.import_path).chain(meta).collect();
    let names = group_packages(graph, &roots, skip, cover, reports);
    planner.plan_packages(&names)?;
    let covdata = crate::discover::cover::COVDATA;
    if let Some(pkg) = graph.packages.get(covdata).filter(|_| reports) {
        planner.covdata = Some(planner.plan_link(pkg, "", None));
    }
    for r in group {
        link::plan_root(planner, r, pgo_name)?;
    }
    Ok(())
}

/// The packages a group of roots needs, in planning order: under -cover,
/// first what instrumented code imports (go list saw no such imports, so
/// its order does not put them first), and covdata's packages when it
/// reports packages with no tests.
fn group_packages<'g>(
    graph: &'g PackageGraph,
    roots: &[&'g String],
    skip: &BTreeSet<String>,
    cover: bool,
    reports: bool,
) -> Vec<&'g String> {
    use crate::discover::cover::{COVDATA, RUNTIME};
    let names = |set: &BTreeSet<&String>| -> Vec<&'g String> {
        graph
            .order
            .iter()
            .filter(|n| set.contains(n) && !skip.contains(*n) && *n != "unsafe")
            .collect()
    };
    let extra: Vec<String> = RUNTIME
        .iter()
        .filter(|_| cover)
        .chain(std::iter::once(&COVDATA).filter(|_| reports))
        .map(|s| s.to_string())
        .collect();
    let first = closure(
        graph,
        extra
            .iter()
            .filter_map(|e| graph.packages.get_key_value(e).map(|(k, _)| k)),
    );
    let rest = closure(graph, roots.iter().copied());
    let mut out = names(&first);
    out.extend(names(&rest).into_iter().filter(|n| !first.contains(n)));
    out
}

/// The packages `roots` import, transitively, and the roots. Walked by
/// imports (and dependency lists where kept): the discovery cache keeps
/// full dependency lists for main packages only.
pub(super) fn closure<'g>(
    graph: &'g PackageGraph,
    roots: impl Iterator<Item = &'g String>,
) -> BTreeSet<&'g String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&String> = roots.collect();
    while let Some(name) = todo.pop() {
        let Some((key, pkg)) = graph.packages.get_key_value(name) else {
            continue;
        };
        if seen.insert(key) {
            // A main package's deps add what every binary links without
            // importing it (runtime and its own dependencies).
            todo.extend(pkg.imports.iter().chain(&pkg.deps));
        }
    }
    seen
}

/// The roots by the PGO profile they build with; the skipped ones are
/// recorded as such.
fn profile_groups<'r>(
    plan: &mut Plan,
    req: &PlanRequest,
    graph: &PackageGraph,
    roots: &'r [Root],
    skip: &BTreeSet<String>,
) -> BTreeMap<Option<PathBuf>, Vec<&'r Root>> {
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
            .entry(pgo::profile_of(req.flags, pkg))
            .or_default()
            .push(r);
    }
    groups
}

/// `path` relative to the workspace root when it is inside it.
fn display_rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .to_string()
}
