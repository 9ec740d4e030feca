//! The stages every command shares, up to the action graph: the workspace
//! and its flags, the toolchain, the modules, discovery per platform, and
//! the plan.

mod flags;
mod graphs;
mod remote;
pub mod modules;
mod targets;
pub mod toolchain;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::cache::Cache;
use crate::cli::Settings;
use crate::discover::{self, PackageGraph};
use crate::failure::Failure;
use crate::goflags::BuildFlags;
use crate::plan::{self, Plan, PlanRequest};
use crate::rules::Platform;
use crate::toolchain::Toolchain;
use crate::workspace::config::Config;
use crate::workspace::label::Label;
use crate::workspace::tree::Tree;
use crate::workspace::Workspace;

pub use graphs::GraphSource;
pub use modules::{fetcher, fetcher_sources, load_sums, open_database, required_modules};
pub use modules::{sum_files, vendored};
pub use targets::display_path;
pub use toolchain::locate_toolchain;

/// Everything up to the action graph: what both build and explain need.
pub struct Prepared {
    pub stamps: Vec<crate::stamp::Stamp>,
    pub flags: BuildFlags,
    /// The output root, and where each target's binary goes.
    pub out_root: PathBuf,
    pub dests: Vec<PathBuf>,
    pub phases: Phases,
    pub ws: Workspace,
    pub cache: Cache,
    pub toolchain: Toolchain,
    pub platforms: Vec<Platform>,
    pub plan: Plan,
    pub remote: crate::remote::RemoteConfig,
}

/// (name, start, seconds) of each phase, from the build's start.
pub struct Phases {
    start: Instant,
    last: f64,
    pub spans: Vec<(&'static str, f64, f64)>,
}

impl Phases {
    fn new(start: Instant) -> Phases {
        Phases {
            start,
            last: 0.0,
            spans: Vec::new(),
        }
    }

    fn end(&mut self, name: &'static str) {
        let now = self.start.elapsed().as_secs_f64();
        self.spans.push((name, self.last, now - self.last));
        self.last = now;
    }
}

/// What the labels and platforms select, before discovery.
struct Selection {
    labels: Vec<Label>,
    dirs: BTreeMap<String, bool>,
    platforms: Vec<Platform>,
    tree: crate::digest::Digest<crate::digest::kind::File>,
}

pub fn prepare(settings: &Settings, start: Instant) -> Result<Prepared, Failure> {
    let mut phases = Phases::new(start);
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let remote = remote::resolve(&settings.remote, &config.remote)?;
    let GraphSource {
        ws,
        config,
        cache,
        toolchain,
        flags,
        sel,
        ..
    } = GraphSource::with(settings, ws, config)?;
    phases.end("workspace, toolchain and hashing");
    let graphs = discover_platforms(settings, &ws, &config, &cache, &toolchain, &flags, &sel)?;
    phases.end("discovery");
    let stamps = crate::stamp::resolve(&config.stamp, &ws.root)?;
    let out_root = targets::out_root(settings, &ws.root);
    let vcs = flags::vcs_stamp(&flags, &ws, &out_root)?;
    let sums = load_sums(&ws);
    let req = PlanRequest {
        stamps: &stamps,
        root: &ws.root,
        toolchain: &toolchain,
        flags: &flags,
        vcs: vcs.as_ref(),
        sums: &sums,
        vendored: vendored(&ws),
        stats: cache.stats(),
        modcache: &cache.dir(crate::cache::Bucket::Modcache),
        tests: settings.test.as_ref(),
    };
    let mut plan = Plan::default();
    for g in &graphs {
        let roots = targets::roots(&ws, g, &sel.dirs, &sel.labels)?;
        plan::plan_platform(&mut plan, &req, g, &roots)?;
    }
    // Two binaries with one path would overwrite each other: refused
    // before anything runs, for explain too.
    let dests = targets::destinations(settings, &plan, &out_root)?;
    phases.end("plan");
    Ok(Prepared {
        stamps,
        flags,
        out_root,
        dests,
        phases,
        ws,
        cache,
        toolchain,
        platforms: sel.platforms,
        plan,
        remote,
    })
}

/// The labels' directories, the platforms, and the tree's digest.
fn select(
    settings: &Settings,
    ws: &Workspace,
    config: &Config,
    cache: &Cache,
    toolchain: &Toolchain,
) -> Result<Selection, Failure> {
    let tree = Tree::walk(&ws.root, &ws.module_dirs(), &ws.local_replacements());
    let labels = settings.labels.resolve(&ws.subdir(&settings.start_dir))?;
    let dirs = targets::select_dirs(&tree, &labels, settings.test.is_some())?;
    let platforms =
        targets::resolve_platforms(&settings.platforms, config, toolchain, cache.root())?;
    let tree = discover::tree_digest(&ws.root, &tree, cache)?;
    Ok(Selection {
        labels,
        dirs,
        platforms,
        tree,
    })
}

/// One package graph per platform. Modules are fetched and verified only
/// when go list has to run: an unchanged workspace was verified when it
/// was last listed.
fn discover_platforms(
    settings: &Settings,
    ws: &Workspace,
    config: &Config,
    cache: &Cache,
    toolchain: &Toolchain,
    flags: &BuildFlags,
    sel: &Selection,
) -> Result<Vec<PackageGraph>, Failure> {
    let dirs: BTreeSet<String> = sel.dirs.keys().cloned().collect();
    let requests: Vec<discover::Request> = sel
        .platforms
        .iter()
        .map(|p| discover::Request {
            cache,
            tree: sel.tree,
            root: &ws.root,
            toolchain,
            platform: p,
            flags,
            dirs: &dirs,
            test: settings.test.is_some(),
            cover: settings.test.as_ref().is_some_and(|t| t.cover.is_some()),
        })
        .collect();
    if !vendored(ws) && requests.iter().any(|r| discover::cached(r).is_none()) {
        let fetcher = fetcher(settings, config, cache, toolchain, cache.root())?;
        modules::discover_fetching(&requests, &fetcher, ws)
    } else {
        modules::discover_all(&requests)
    }
}
