//! The build pipeline, stage by stage: workspace → toolchain → discover →
//! plan → schedule → publish → report. Each stage hands the next a typed
//! value; nothing downstream reaches back upstream.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::NodeIndex;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::cache::Cache;
use crate::cli::Settings;
use crate::discover::{self, PackageGraph};
use crate::exec::Executor;
use crate::explain::{History, MissReason};
use crate::failure::Failure;
use crate::fetch::{Fetcher, ModuleSources};
use crate::goflags::{BuildFlags, Layer, Pgo};
use crate::plan::{self, Plan, PlanRequest, Root};
use crate::publish;
use crate::report::trace::{Trace, PHASE_TRACK};
use crate::report::{self, Summary};
use crate::rules::{rules, Platform};
use crate::schedule::{self, Options};
use crate::toolchain::{pin, Toolchain};
use crate::workspace::config::Config;
use crate::workspace::gomod::GoMod;
use crate::workspace::label::{self, Label};
use crate::workspace::tree::Tree;
use crate::workspace::{GoSum, RootKind, Workspace};

/// go.sum of every module in the workspace, and go.work.sum.
pub fn load_sums(ws: &Workspace) -> GoSum {
    GoSum::load(&sum_files(ws))
}

/// The go.sum of every module in the workspace, and go.work.sum.
fn sum_files(ws: &Workspace) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ws
        .modules
        .iter()
        .map(|(d, _)| ws.root.join(d).join("go.sum"))
        .collect();
    files.push(ws.root.join("go.work.sum"));
    files
}

/// Whether the workspace builds from vendor/ (go's default when a
/// single module has vendor/modules.txt).
fn vendored(ws: &Workspace) -> bool {
    ws.kind == RootKind::Module && ws.root.join("vendor/modules.txt").is_file()
}

/// The modules whose zips the workspace needs: every require of every
/// workspace module, after replacements (local-directory replacements and
/// the workspace's own modules need nothing).
fn required_modules(ws: &Workspace) -> Vec<(String, String)> {
    let own: BTreeSet<&str> = ws.modules.iter().map(|(_, m)| m.module.as_str()).collect();
    let mut out = BTreeSet::new();
    for (_, m) in &ws.modules {
        for (path, version) in &m.requires {
            if own.contains(path.as_str()) {
                continue;
            }
            // go.work's replacements win over the module's own.
            let replaced = ws
                .work_replaces
                .iter()
                .chain(&m.replaces)
                .find(|(old, old_v, _, _)| old == path && (old_v.is_empty() || old_v == version));
            match replaced {
                Some((_, _, _, new_v)) if new_v.is_empty() => {}
                Some((_, _, new, new_v)) => {
                    out.insert((new.clone(), new_v.clone()));
                }
                None => {
                    out.insert((path.clone(), version.clone()));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// The toolchain to build with: the pinned one (gobuildr.toml's
/// [toolchain], else go.mod's `toolchain` line) if there is a pin that the
/// local `go` does not satisfy exactly, fetched and verified; else the `go`
/// on PATH (or --go).
fn locate_toolchain(
    settings: &Settings,
    ws: &Workspace,
    config: &Config,
    cache: &Cache,
) -> Result<Toolchain, Failure> {
    let local_origin = if settings.go.is_some() {
        "--go"
    } else {
        "PATH"
    };
    let pin = match (
        &config.toolchain.go,
        ws.modules.iter().find_map(|(_, m)| m.toolchain.clone()),
    ) {
        (Some(v), _) => Some(pin::Pin {
            version: v.trim_start_matches("go").to_string(),
            sum: config.toolchain.sum.clone(),
            by: "gobuildr.toml".into(),
            host: pin::host(),
        }),
        (None, Some(t)) => Some(pin::Pin {
            version: t.trim_start_matches("go").to_string(),
            sum: config.toolchain.sum.clone(),
            by: "go.mod".into(),
            host: pin::host(),
        }),
        (None, None) => None,
    };
    let Some(pin) = pin else {
        return Ok(Toolchain::locate(
            settings.go.as_deref(),
            cache,
            local_origin,
        )?);
    };
    let local = Toolchain::locate(settings.go.as_deref(), cache, local_origin).ok();
    if let Some(local) = &local {
        // gobuildr.toml pins exactly; go.mod's toolchain line is a minimum,
        // as go reads it.
        let exact = local.version == format!("go{}", pin.version);
        if exact || (pin.by == "go.mod" && newer_or_equal(&local.version, &pin.version)) {
            return Ok(local.clone());
        }
    }
    // The local go's GOROOT/go.env gives the default sources, as for go.
    let sources = fetcher_sources(config, local.as_ref().map(|t| t.goroot.as_path()))?;
    let db = open_database(settings, config, &sources, cache)?;
    let fetched = pin::ensure(
        &pin,
        &load_sums(ws),
        &sources,
        db.as_ref(),
        settings.offline,
        cache.root(),
    )?;
    Ok(Toolchain::locate(
        Some(&fetched.go),
        cache,
        &fetched.origin,
    )?)
}

/// Whether Go version `have` (`go1.26.8`) is at least `want` (`1.26.2`),
/// comparing major, minor and patch.
fn newer_or_equal(have: &str, want: &str) -> bool {
    let parse = |v: &str| -> Vec<u32> {
        v.trim_start_matches("go")
            .split('.')
            .map(|x| x.parse().unwrap_or(0))
            .collect()
    };
    parse(have) >= parse(want)
}

/// Where modules come from: gobuildr.toml's `[modules]`, else the go
/// command's own settings (environment, `go env -w`, `goroot`'s go.env).
pub fn fetcher_sources(
    config: &Config,
    goroot: Option<&Path>,
) -> Result<ModuleSources, crate::fetch::FetchError> {
    let env = crate::goenv::GoEnv::resolve(goroot, &config.modules.overrides());
    ModuleSources::new(env, config.modules.allow_direct)
        .map_err(|e| crate::fetch::FetchError::Sources(Box::new(e.into())))
}

/// The run's checksum database (None when GOSUMDB is off).
pub fn open_database(
    settings: &Settings,
    config: &Config,
    sources: &ModuleSources,
    cache: &Cache,
) -> Result<Option<crate::sumdb::Database>, Failure> {
    crate::fetch::database::open(
        sources,
        cache.root(),
        settings.offline,
        config.sumdb.pin.as_deref(),
    )
    .map_err(|e| Failure::Usage(e.to_string()))
}

fn fetcher<'a>(
    settings: &Settings,
    config: &Config,
    cache: &Cache,
    toolchain: &'a Toolchain,
    scratch: &'a Path,
) -> Result<Fetcher<'a>, Failure> {
    let sources = fetcher_sources(config, Some(&toolchain.goroot))?;
    let sumdb = open_database(settings, config, &sources, cache)?;
    Ok(Fetcher {
        modcache: cache.root().join("modcache-v1"),
        sources,
        sumdb,
        offline: settings.offline,
        quiet: settings.quiet,
        go: &toolchain.go,
        scratch,
    })
}

/// The directories the labels select, each with whether it was named
/// explicitly.
fn select_dirs(tree: &Tree, labels: &[Label]) -> Result<BTreeMap<String, bool>, Failure> {
    let all = tree.package_dirs();
    let mut selected: BTreeMap<String, bool> = BTreeMap::new();
    for l in labels {
        for d in l.select(&all)? {
            let e = selected.entry(d.clone()).or_insert(false);
            *e |= l.is_explicit();
        }
    }
    Ok(selected)
}

/// The selected packages of one platform's graph, checked against the
/// labels' `:name` parts.
fn roots(
    ws: &Workspace,
    graph: &PackageGraph,
    selected: &BTreeMap<String, bool>,
    labels: &[Label],
) -> Result<Vec<Root>, Failure> {
    let mut roots = Vec::new();
    for p in graph.packages.values().filter(|p| !p.dep_only) {
        let Some(dir) = ws.rel(&p.dir) else { continue };
        let Some(&explicit) = selected.get(&dir) else {
            continue;
        };
        for l in labels {
            if let label::Pattern::Package { dir: ldir, .. } = &l.pattern {
                if *ldir == dir && p.error.is_none() {
                    l.check_name(&p.binary_name())?;
                }
            }
        }
        roots.push(Root {
            import_path: p.import_path.clone(),
            dir,
            explicit,
        });
    }
    Ok(roots)
}

/// The platforms to build for: set names expanded (gobuildr.toml's
/// [platforms] first, then the built-in `first-class`), each checked against
/// what the toolchain can target; the host when none are given.
fn resolve_platforms(
    specs: &[String],
    config: &Config,
    toolchain: &Toolchain,
    scratch: &Path,
) -> Result<Vec<Platform>, Failure> {
    if specs.is_empty() {
        return Ok(vec![Platform::new(
            &toolchain.host_os,
            &toolchain.host_arch,
            None,
        )]);
    }
    let valid = toolchain.targets(scratch)?;
    let mut out: Vec<Platform> = Vec::new();
    for spec in specs {
        let expanded = if let Some(set) = config.platforms.get(spec) {
            set.clone()
        } else if spec == "first-class" {
            rules().platforms.first_class.clone()
        } else if !spec.contains('/') {
            let mut sets: Vec<&str> = config.platforms.keys().map(String::as_str).collect();
            sets.push("first-class");
            return Err(Failure::Usage(format!(
                "unknown platform set {spec:?} (known sets: {}; a platform is GOOS/GOARCH[/VARIANT])",
                sets.join(", ")
            )));
        } else {
            vec![spec.clone()]
        };
        if expanded.is_empty() {
            return Err(Failure::Usage(format!(
                "platform set {spec:?} in gobuildr.toml is empty"
            )));
        }
        for e in expanded {
            let p = Platform::parse(&e, &valid).map_err(|e| Failure::Usage(e.to_string()))?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// Runs `go list` for every platform at once.
fn discover_all(req: &[discover::Request]) -> Result<Vec<PackageGraph>, Failure> {
    std::thread::scope(|s| {
        let handles: Vec<_> = req
            .iter()
            .map(|r| s.spawn(move || discover::discover(r)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Failure::Environment("bug: discovery thread panicked".into()))?
                    .map_err(Failure::from)
            })
            .collect()
    })
}

/// go build's flags: gobuildr.toml's [build] table, then the command line.
fn build_flags(settings: &Settings, config: &Config, root: &Path) -> Result<BuildFlags, Failure> {
    let b = &config.build;
    let g = &settings.go_flags;
    let table = Layer {
        origin: "gobuildr.toml [build]",
        dir: root,
        tags: &b.tags,
        gcflags: b.gcflags.occurrences(),
        asmflags: b.asmflags.occurrences(),
        ldflags: b.ldflags.occurrences(),
        buildmode: b.buildmode.as_deref(),
        pgo: b.pgo.as_deref(),
        buildvcs: b.buildvcs.as_deref(),
        goexperiment: b.goexperiment.as_deref(),
    };
    let command_line = Layer {
        origin: "the command line",
        dir: &settings.start_dir,
        tags: &settings.tags,
        gcflags: &g.gcflags,
        asmflags: &g.asmflags,
        ldflags: &g.ldflags,
        buildmode: g.buildmode.as_deref(),
        pgo: g.pgo.as_deref(),
        buildvcs: g.buildvcs.as_deref(),
        goexperiment: g.goexperiment.as_deref(),
    };
    let flags =
        BuildFlags::resolve(&[table, command_line]).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Pgo::File(f) = &flags.pgo {
        if !f.is_file() {
            return Err(Failure::Usage(format!(
                "-pgo={}: no such profile file",
                f.display()
            )));
        }
    }
    Ok(flags)
}

/// The output root: -o DIR, --out, else gobuildr-out at the root.
fn out_root(settings: &Settings, root: &Path) -> PathBuf {
    match (&settings.output, &settings.out) {
        (Some(crate::cli::Output::Dir(d)), _) => d.clone(),
        (_, Some(o)) => o.clone(),
        _ => root.join("gobuildr-out"),
    }
}

/// The version-control stamp, read once (None when go would not stamp).
fn vcs_stamp(
    flags: &BuildFlags,
    ws: &Workspace,
    out_root: &Path,
) -> Result<Option<crate::vcs::Stamp>, Failure> {
    // The module at the repository's top names the version (go reads it so).
    let module_path = crate::vcs::repo_of(&ws.root)
        .and_then(|repo| GoMod::load(&repo.join("go.mod")).ok())
        .map(|m| m.module);
    crate::vcs::read(flags.buildvcs, &ws.root, module_path.as_deref(), out_root)
        .map_err(|e| Failure::Environment(e.to_string()))
}

/// Discovery that fetches as it goes: the go.mod files first (the module
/// graph), then, round by round, the zips of the modules go list found it
/// needs, until it needs none it lacks. Only what the build reads is
/// downloaded, and each file is verified before go list sees it.
fn discover_fetching(
    requests: &[discover::Request],
    fetcher: &Fetcher,
    ws: &Workspace,
) -> Result<Vec<PackageGraph>, Failure> {
    let sums = load_sums(ws);
    let requires = required_modules(ws);
    fetcher.fetch_go_mods(&requires, &sums)?;
    let mut fetched: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let graphs = discover_all(requests)?;
        let missing: Vec<(String, String)> = discover::missing_modules(&graphs, &requires)
            .into_iter()
            .filter(|m| !fetched.contains(m))
            .collect();
        // Nothing new to fetch: what go list still reports is an error.
        if missing.is_empty() {
            return Ok(graphs);
        }
        fetcher.fetch_zips(&missing, &sums)?;
        fetched.extend(missing);
    }
}

/// Everything up to the action graph: what both build and explain need.
struct Prepared {
    stamps: Vec<crate::stamp::Stamp>,
    flags: BuildFlags,
    /// The output root, and where each target's binary goes.
    out_root: PathBuf,
    dests: Vec<PathBuf>,
    /// (name, start, seconds) of each phase, from the build's start.
    phases: Vec<(&'static str, f64, f64)>,
    ws: Workspace,
    cache: Cache,
    toolchain: Toolchain,
    platforms: Vec<Platform>,
    plan: Plan,
}

fn prepare(settings: &Settings, start: Instant) -> Result<Prepared, Failure> {
    let mut phases = Vec::new();
    let mut phase_start = 0.0;
    let mut phase = |name: &'static str| {
        let now = start.elapsed().as_secs_f64();
        phases.push((name, phase_start, now - phase_start));
        phase_start = now;
    };
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let flags = build_flags(settings, &config, &ws.root)?;
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let toolchain = locate_toolchain(settings, &ws, &config, &cache)?;
    let tree = Tree::walk(&ws.root, &ws.module_dirs(), &ws.local_replacements());
    let cwd = ws.subdir(&settings.start_dir);
    let labels = settings.labels.resolve(&cwd)?;
    let selected = select_dirs(&tree, &labels)?;
    let platforms = resolve_platforms(&settings.platforms, &config, &toolchain, cache.root())?;
    let dirs: BTreeSet<String> = selected.keys().cloned().collect();
    let tree_digest = discover::tree_digest(&ws.root, &tree, &cache)?;
    phase("workspace, toolchain and hashing");
    let requests: Vec<discover::Request> = platforms
        .iter()
        .map(|p| discover::Request {
            cache: &cache,
            tree: tree_digest,
            root: &ws.root,
            toolchain: &toolchain,
            platform: p,
            flags: &flags,
            dirs: &dirs,
        })
        .collect();
    // Modules are fetched and verified only when go list has to run: an
    // unchanged workspace was verified when it was last listed.
    let vendored = vendored(&ws);
    let graphs = if !vendored && requests.iter().any(|r| discover::cached(r).is_none()) {
        let fetcher = fetcher(settings, &config, &cache, &toolchain, cache.root())?;
        discover_fetching(&requests, &fetcher, &ws)?
    } else {
        discover_all(&requests)?
    };
    phase("discovery");

    let sums = load_sums(&ws);
    let stamps = crate::stamp::resolve(&config.stamp, &ws.root)?;
    let out_root = out_root(settings, &ws.root);
    let vcs = vcs_stamp(&flags, &ws, &out_root)?;
    let req = PlanRequest {
        stamps: &stamps,
        root: &ws.root,
        toolchain: &toolchain,
        flags: &flags,
        vcs: vcs.as_ref(),
        sums: &sums,
        vendored,
        stats: cache.stats(),
        modcache: &cache.root().join("modcache-v1"),
    };
    let mut plan = Plan::default();
    for g in &graphs {
        let roots = roots(&ws, g, &selected, &labels)?;
        plan::plan_platform(&mut plan, &req, g, &roots)?;
    }
    // Two binaries with one path would overwrite each other: refused
    // before anything runs, for explain too.
    let dests = destinations(settings, &plan, &out_root)?;
    phase("plan");
    Ok(Prepared {
        stamps,
        flags,
        out_root,
        dests,
        phases,
        ws,
        cache,
        toolchain,
        platforms,
        plan,
    })
}

fn write_profile(
    path: &Path,
    plan: &Plan,
    run: &schedule::Run,
    phases: &[(&str, f64, f64)],
    schedule_start: f64,
) -> Result<(), Failure> {
    let mut trace = Trace::default();
    for (name, start, seconds) in phases {
        trace.span(
            name,
            "phase",
            PHASE_TRACK,
            *start,
            *seconds,
            serde_json::json!({}),
        );
    }
    for (i, r) in run.records.iter().enumerate() {
        if matches!(r.outcome, schedule::Outcome::NotRun) {
            continue;
        }
        let a = &plan.graph[NodeIndex::new(i)];
        trace.span(
            &format!("{} {}", a.kind, a.package),
            &a.kind.to_string(),
            r.worker + 1,
            schedule_start + r.started,
            r.seconds,
            serde_json::json!({"platform": a.platform.to_string(), "cached": matches!(r.outcome, schedule::Outcome::Cached)}),
        );
    }
    trace.write(path)?;
    Ok(())
}

fn describe(plan: &Plan, node: NodeIndex) -> String {
    let a = &plan.graph[node];
    format!("{} {} ({})", a.kind, a.package, a.platform)
}

fn print_reasons(plan: &Plan, reasons: &BTreeMap<NodeIndex, Vec<MissReason>>, cached: usize) {
    if reasons.is_empty() {
        eprintln!("explain: nothing changed; all {cached} actions are cached");
    }
    for (node, why) in reasons {
        let text: Vec<String> = why.iter().map(|r| r.to_string()).collect();
        eprintln!("explain: {}: {}", describe(plan, *node), text.join("; "));
    }
}

/// `gobuildr explain`: why each action of the request would run, without
/// running anything.
pub fn explain(settings: &Settings) -> Result<(), Failure> {
    let Prepared {
        ws,
        cache,
        toolchain,
        plan,
        flags,
        ..
    } = prepare(settings, Instant::now())?;
    let exec = Executor::new(&cache, &toolchain);
    let records = schedule::dry_run(&plan, &exec);
    let history = History::new(&cache, &ws.root);
    let reasons =
        history.explain_and_record(&plan, &ws.root, &toolchain, &flags.tags, &records, false);
    let cached = records
        .iter()
        .filter(|r| matches!(r.outcome, schedule::Outcome::Cached))
        .count();
    print_reasons(&plan, &reasons, cached);
    let _ = cache.stats().save();
    Ok(())
}

pub fn build(settings: &Settings, interrupt: &Arc<AtomicBool>) -> Result<(), Failure> {
    let start = Instant::now();
    let Prepared {
        stamps,
        flags,
        out_root,
        dests,
        phases,
        ws,
        cache,
        toolchain,
        platforms,
        plan,
    } = prepare(settings, start)?;
    let mut exec = Executor::new(&cache, &toolchain);
    exec.shuffle = settings.shuffle;
    let schedule_start = start.elapsed().as_secs_f64();
    let progress = report::Progress::new(&plan, settings.quiet);
    let run = schedule::run(
        &plan,
        &exec,
        &Options {
            jobs: settings.jobs,
            keep_going: settings.keep_going,
            shuffle: settings.shuffle,
        },
        &progress,
        interrupt,
    )
    .map_err(|e| Failure::Environment(format!("starting {} workers: {e}", settings.jobs)))?;
    progress.finish();
    let history = History::new(&cache, &ws.root);
    let reasons =
        history.explain_and_record(&plan, &ws.root, &toolchain, &flags.tags, &run.records, true);
    if settings.explain {
        print_reasons(&plan, &reasons, report::counts(&run, |_| true).cached);
    }

    let mut outputs = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for (t, dest) in plan.targets.iter().zip(&dests) {
        let rec = &run.records[t.link.index()];
        let Some(digest) = rec.output_digest("obj/a.out") else {
            continue;
        };
        match publish::publish(&cache, &digest, dest) {
            Ok(sha256) => outputs.push(report::OutputSummary {
                label: t.label.clone(),
                platform: t.platform.to_string(),
                path: display_path(&ws.root, dest),
                sha256,
                blake3: digest.to_hex(),
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if let Err(e) = cache.stats().save() {
        eprintln!(
            "warning: could not save the stat cache (files will be re-hashed next time): {e}"
        );
    }
    if let Some(path) = &settings.profile {
        write_profile(path, &plan, &run, &phases, schedule_start)?;
    }
    if let Some(path) = &settings.record {
        crate::verify::record::write(
            path,
            &plan,
            &run,
            &crate::verify::record::Context {
                root: &ws.root,
                toolchain: &toolchain,
                tags: &flags.tags,
                stamps: &stamps,
                out_root: &out_root,
            },
        )?;
    }
    let failed: Vec<_> = run.failed().collect();
    let seconds = start.elapsed().as_secs_f64();
    let summary = Summary {
        success: failed.is_empty() && errors.is_empty() && !run.interrupted,
        toolchain: toolchain.version.clone(),
        toolchain_origin: toolchain.origin.clone(),
        toolchain_host: format!("{}/{}", toolchain.host_os, toolchain.host_arch),
        toolchain_id: toolchain.id.to_hex(),
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        actions: report::counts(&run, |_| true),
        per_platform: report::per_platform(&plan, &platforms, &run),
        outputs,
        seconds,
        processes_spawned: crate::process::spawned(),
        files_hashed: cache.stats().files_hashed(),
        action_list: report::action_list(&plan, &run, &reasons),
    };
    // Provenance is a claim about what was built: only for a whole build.
    if let (Some(path), true) = (&settings.provenance, summary.success) {
        let subjects: Vec<crate::verify::manifest::ManifestOutput> = summary
            .outputs
            .iter()
            .map(|o| crate::verify::manifest::ManifestOutput {
                label: o.label.clone(),
                platform: o.platform.clone(),
                path: o.path.clone(),
                sha256: o.sha256.clone(),
                blake3: o.blake3.clone(),
                size: std::fs::metadata(ws.root.join(&o.path))
                    .map(|m| m.len())
                    .unwrap_or(0),
            })
            .collect();
        let external = serde_json::json!({"targets": settings.labels.raw(), "platforms": summary.platforms, "tags": flags.tags});
        let deps = crate::verify::command::dependencies(
            &ws,
            &summary.toolchain,
            &summary.toolchain_host,
            &summary.toolchain_id,
        );
        let now = |t: std::time::SystemTime| {
            crate::vcs::rfc3339(
                t.duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
            )
        };
        let started = now(std::time::SystemTime::now() - start.elapsed());
        let statement = crate::verify::manifest::provenance(
            &subjects,
            external,
            &deps,
            &started,
            &now(std::time::SystemTime::now()),
        );
        crate::fsutil::write_atomic(
            path,
            &serde_json::to_vec_pretty(&statement)
                .map_err(|e| Failure::Environment(e.to_string()))?,
        )?;
    }
    if let Some(path) = &settings.summary_json {
        let json =
            serde_json::to_vec_pretty(&summary).map_err(|e| Failure::Environment(e.to_string()))?;
        crate::fsutil::write_atomic(path, &json)?;
    }
    for s in &plan.skipped {
        eprintln!(
            "skipped {} on {}: build constraints exclude all its Go files",
            s.label, s.platform
        );
    }
    if run.interrupted {
        return Err(Failure::Interrupted);
    }
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|(n, _)| describe(&plan, *n)).collect();
        return Err(Failure::Build(format!(
            "build failed: {}",
            names.join(", ")
        )));
    }
    if !errors.is_empty() {
        return Err(Failure::Environment(errors.join("\n")));
    }
    for line in report::final_lines(&summary.per_platform, &run, seconds) {
        eprintln!("{line}");
    }
    Ok(())
}

/// Where each target's binary goes: `-o FILE` (exactly one binary), or
/// the output root; two binaries never share a path.
fn destinations(
    settings: &Settings,
    plan: &Plan,
    out_root: &Path,
) -> Result<Vec<PathBuf>, Failure> {
    let dests: Vec<PathBuf> = match &settings.output {
        Some(crate::cli::Output::File(f)) => {
            if plan.targets.len() != 1 {
                return Err(Failure::Usage(format!(
                    "-o {}: the request builds {} binaries, and -o FILE takes exactly one (use -o DIR/ for several)",
                    f.display(),
                    plan.targets.len()
                )));
            }
            vec![f.clone()]
        }
        Some(crate::cli::Output::Dir(d)) => plan
            .targets
            .iter()
            .map(|t| d.join(t.out_rel.rsplit('/').next().unwrap_or("a.out")))
            .collect(),
        None => plan
            .targets
            .iter()
            .map(|t| out_root.join(&t.out_rel))
            .collect(),
    };
    let mut seen: BTreeMap<&PathBuf, &plan::Target> = BTreeMap::new();
    for (t, d) in plan.targets.iter().zip(&dests) {
        if let Some(other) = seen.insert(d, t) {
            return Err(Failure::Usage(format!(
                "{} for {} and {} for {} would both be written to {}; build them separately or rename one",
                other.label,
                other.platform,
                t.label,
                t.platform,
                d.display()
            )));
        }
    }
    Ok(dests)
}

fn display_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .to_string()
}

/// `gobuildr fetch`: download and verify every module the workspace needs.
pub fn fetch(settings: &Settings, json: bool, audit: bool) -> Result<(), Failure> {
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let toolchain = locate_toolchain(settings, &ws, &config, &cache)?;
    if audit {
        let fetcher = fetcher(settings, &config, &cache, &toolchain, cache.root())?;
        return audit_sums(&ws, &fetcher, json);
    }
    if vendored(&ws) {
        eprintln!("fetch: the workspace builds from vendor/; nothing to fetch");
        return Ok(());
    }
    let fetched = fetcher(settings, &config, &cache, &toolchain, cache.root())?
        .fetch_all(&required_modules(&ws), &load_sums(&ws))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&fetched)
                .map_err(|e| Failure::Environment(e.to_string()))?
        );
    } else {
        for f in &fetched {
            eprintln!(
                "{} {} {} {} (from {})",
                f.module, f.version, f.file, f.h1, f.from
            );
        }
        eprintln!(
            "fetch: {} module files verified against go.sum",
            fetched.len()
        );
    }
    let _ = cache.stats().save();
    Ok(())
}

/// `gobuildr fetch --audit`: every go.sum line against the database.
fn audit_sums(ws: &Workspace, fetcher: &Fetcher, json: bool) -> Result<(), Failure> {
    use crate::fetch::audit::{self, Status};
    let lines = audit::read_lines(&sum_files(ws));
    let exempt = |m: &str| fetcher.sources.is_nosumdb(m);
    let report = audit::audit(&lines, fetcher.sumdb.as_ref(), &exempt)?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Environment(e.to_string()))?;
        println!("{text}");
    } else {
        for l in &report.lines {
            let db = l.database.as_deref().unwrap_or("-");
            println!(
                "{:<15} {} {} ({}) go.sum {} database {db}",
                l.status.as_str(),
                l.module,
                l.version,
                l.file,
                l.go_sum
            );
        }
    }
    if let Some(head) = report.database.as_ref() {
        eprintln!(
            "audit: {} lines: {} verified, {} mismatch, {} exempt, {} not in database {} (tree {} {})",
            report.lines.len(),
            report.count(Status::Verified),
            report.count(Status::Mismatch),
            report.count(Status::Exempt),
            report.count(Status::NotInDatabase),
            head.name,
            head.tree_size.map(|s| s.to_string()).unwrap_or_default(),
            head.root.as_deref().unwrap_or_default(),
        );
    } else {
        eprintln!("audit: GOSUMDB is off: every line is exempt");
    }
    if report.count(Status::Mismatch) > 0 {
        return Err(Failure::Build(
            "audit: go.sum disagrees with the checksum database (lines marked mismatch)".into(),
        ));
    }
    Ok(())
}

/// `gobuildr toolchain`: which Go builds this workspace, where it came
/// from, and its identity digest.
pub fn show_toolchain(settings: &Settings) -> Result<(), Failure> {
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let t = locate_toolchain(settings, &ws, &config, &cache)?;
    println!("version:  {}", t.version);
    println!("go:       {}", t.go.display());
    println!("GOROOT:   {}", t.goroot.display());
    println!("host:     {}/{}", t.host_os, t.host_arch);
    println!("origin:   {}", t.origin);
    println!("identity: {}", t.id);
    let _ = cache.stats().save();
    Ok(())
}

/// `gobuildr platforms`: what this toolchain can target, with the variants
/// of each architecture, and the named sets.
pub fn list_platforms(settings: &Settings) -> Result<(), Failure> {
    let cache = Cache::open(&settings.cache_dir)?;
    let toolchain = Toolchain::locate(settings.go.as_deref(), &cache, "PATH")?;
    let r = rules();
    println!(
        "{} ({}/{}) can target:",
        toolchain.version, toolchain.host_os, toolchain.host_arch
    );
    for t in toolchain.targets(cache.root())? {
        let arch = t.rsplit('/').next().unwrap_or("");
        let class = if r.platforms.first_class.contains(&t) {
            "first-class"
        } else {
            ""
        };
        let mut line = format!("  {t:<18} {class:<11}");
        if let Some(v) = r.platforms.variants.get(arch) {
            let values: Vec<String> = v
                .values
                .iter()
                .map(|x| {
                    if arch == "arm" {
                        format!("v{x}")
                    } else {
                        x.clone()
                    }
                })
                .collect();
            line.push_str(&format!(
                "  variants ({}, default {}): {}",
                v.var,
                v.default,
                values.join(" ")
            ));
        }
        println!("{}", line.trim_end());
    }
    println!(
        "sets:\n  first-class = {}",
        r.platforms.first_class.join(", ")
    );
    // Named sets of the workspace, when run inside one.
    if let Ok(ws) = Workspace::find(&settings.start_dir) {
        for (name, set) in Config::load(&ws.root)?.platforms {
            println!("  {name} = {} (gobuildr.toml)", set.join(", "));
        }
    }
    Ok(())
}
