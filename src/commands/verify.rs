//! `gobuildr verify`: runs, comparison, localisation, report, manifest,
//! provenance. Exit code: 0 reproducible, 1 not reproducible,
//! 2 could not verify.

use std::path::Path;

use crate::attest::manifest::{self, Manifest, ManifestOutput};
use crate::attest::provenance;
use crate::cache::Cache;
use crate::cli::args::VerifyArgs;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::workspace::tree::Tree;
use crate::workspace::Workspace;

use crate::verify::hosts::HostRuns;
use crate::verify::{
    could_not, first_divergence, localise, report, run_one, RunResult, RunSpec, Variation,
};

/// The time now, as provenance states it.
fn now() -> String {
    crate::vcs::rfc3339_at(std::time::SystemTime::now())
}

pub fn verify(settings: &Settings, args: &VerifyArgs) -> Result<(), Failure> {
    let started = now();
    let variations = Variation::parse_list(&args.vary).map_err(Failure::Usage)?;
    if args.runs < 2 {
        return Err(Failure::Usage("--runs must be at least 2".into()));
    }
    let ws = Workspace::find(&settings.start_dir)?;
    let subdir = ws.subdir(&settings.start_dir);
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let scratch = tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(cache.tmp_dir())
        .map_err(could_not)?;
    let exe = std::env::current_exe().map_err(could_not)?;
    let spec = RunSpec {
        exe: &exe,
        workspace: &ws.root,
        subdir: &subdir,
        global: &settings.forward_global,
        build: &settings.forward_build,
        scratch: scratch.path(),
        main_cache: cache.root(),
    };
    let runs: Vec<RunResult> = (0..args.runs)
        .map(|i| run_one(&spec, i, if i == 0 { &[] } else { &variations }))
        .collect::<Result<_, _>>()
        .map_err(could_not)?;
    let base = &runs[0];
    let mut problems = compare_runs(&spec, &runs)?;
    let hosts = HostRuns {
        settings,
        args,
        spec: &spec,
        base,
        ws: &ws,
        cache: &cache,
    };
    problems.extend(hosts.check()?);
    let this = manifest_of(base, &ws, &cache)?;
    if let Some(path) = &args.manifest {
        let data = serde_json::to_vec_pretty(&this).map_err(could_not)?;
        crate::fsutil::write_atomic(path, &data)?;
    }
    if let Some(path) = &args.against {
        problems.extend(against(&this, path)?);
    }
    if let Some(path) = &settings.provenance {
        let external = serde_json::json!({"targets": settings.labels.raw(), "platforms": base.summary.platforms, "tags": settings.tags, "vary": crate::verify::names(&variations), "runs": args.runs});
        write_provenance(path, base, &this, external, &ws, &started)?;
    }
    let _ = cache.stats().save();
    report::verdict(&problems, this.outputs.len(), args.runs, &variations)
}

/// Every run against the baseline: where each first diverges, why, and how
/// its binaries differ.
fn compare_runs(spec: &RunSpec, runs: &[RunResult]) -> Result<Vec<String>, Failure> {
    let base = &runs[0];
    let mut problems = Vec::new();
    for run in &runs[1..] {
        let Some(d) = first_divergence(&base.record, &run.record) else {
            continue;
        };
        let culprit = localise::culprit(spec, base, run, &d).map_err(could_not)?;
        problems.extend(report::divergence(&d, run, base, culprit));
        problems.extend(report::binaries(base, run));
    }
    Ok(problems)
}

/// The outputs of a run as manifest entries (paths relative to the
/// workspace, as `gobuildr build` publishes them).
fn manifest_outputs(run: &RunResult) -> Vec<ManifestOutput> {
    run.summary
        .outputs
        .iter()
        .map(|o| {
            let full = Path::new(&o.path);
            let rel: std::path::PathBuf = full
                .components()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            ManifestOutput::of(o, &Path::new("gobuildr-out").join(rel), full)
        })
        .collect()
}

/// The manifest of the baseline's outputs.
fn manifest_of(base: &RunResult, ws: &Workspace, cache: &Cache) -> Result<Manifest, Failure> {
    let tree = Tree::walk(&ws.root, &ws.module_dirs(), &ws.local_replacements());
    Ok(Manifest {
        format: manifest::MANIFEST_VERSION.into(),
        gobuildr: env!("CARGO_PKG_VERSION").into(),
        toolchain: base.summary.toolchain.clone(),
        toolchain_id: base.summary.toolchain_id.clone(),
        sources: manifest::sources_digest(&ws.root, &tree, cache.stats()).map_err(could_not)?,
        outputs: manifest_outputs(base),
    })
}

/// The outputs that differ from a manifest written elsewhere.
fn against(this: &Manifest, path: &Path) -> Result<Vec<String>, Failure> {
    let theirs: Manifest = std::fs::read(path).map_err(could_not).and_then(|d| {
        serde_json::from_slice(&d).map_err(|e| could_not(format!("{}: {e}", path.display())))
    })?;
    Ok(manifest::compare(this, &theirs)
        .into_iter()
        .map(|(output, what)| format!("{output} differs from {}: {what}", path.display()))
        .collect())
}

fn write_provenance(
    path: &Path,
    base: &RunResult,
    this: &Manifest,
    external: serde_json::Value,
    ws: &Workspace,
    started: &str,
) -> Result<(), Failure> {
    let deps = provenance::dependencies(
        &crate::pipeline::load_sums(ws),
        &this.toolchain,
        &base.summary.toolchain_host,
        &this.toolchain_id,
    );
    let statement = provenance::statement(&this.outputs, external, &deps, started, &now());
    crate::fsutil::write_atomic(
        path,
        &serde_json::to_vec_pretty(&statement).map_err(could_not)?,
    )?;
    Ok(())
}
