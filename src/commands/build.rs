//! `gobuildr build`: prepare, schedule, publish, record, summarise.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use petgraph::graph::NodeIndex;

use crate::cli::Settings;
use crate::exec::LocalExecutor;
use crate::explain::{History, MissReason};
use crate::failure::Failure;
use crate::pipeline::{display_path, prepare, Prepared};
use crate::plan::Plan;
use crate::publish;
use crate::remote::{Remote, RemoteCache, RemoteExecutor, RemoteSummary, Slots};
use crate::report::trace::{Trace, PHASE_TRACK};
use crate::report::{self, OutputSummary, Summary};
use crate::schedule::{self, Options, Run};

use super::explain::print_reasons;

pub fn build(settings: &Settings, interrupt: &Arc<AtomicBool>) -> Result<(), Failure> {
    let start = Instant::now();
    let p = prepare(settings, start)?;
    let schedule_start = start.elapsed().as_secs_f64();
    let (run, remote) = run_actions(settings, &p, interrupt)?;
    let history = History::new(&p.cache, &p.ws.root);
    let reasons = history.explain_and_record(
        &p.plan,
        &p.ws.root,
        &p.toolchain,
        &p.flags.tags,
        &run.records,
        true,
    );
    if settings.explain {
        print_reasons(&p.plan, &reasons, report::counts(&run, |_| true).cached);
    }
    let (outputs, errors) = publish_all(&p, &run);
    if let Err(e) = p.cache.stats().save() {
        eprintln!(
            "warning: could not save the stat cache (files will be re-hashed next time): {e}"
        );
    }
    if let Some(path) = &settings.profile {
        write_profile(path, &p, &run, schedule_start)?;
    }
    if let Some(path) = &settings.record {
        write_record(path, &p, &run)?;
    }
    let mut summary = summarise(&p, &run, &reasons, outputs, errors.is_empty(), start);
    summary.remote = remote;
    // Provenance is a claim about what was built: only for a whole build.
    if let (Some(path), true) = (&settings.provenance, summary.success) {
        write_provenance(path, settings, &p, &summary, start)?;
    }
    if let Some(path) = &settings.summary_json {
        let json =
            serde_json::to_vec_pretty(&summary).map_err(|e| Failure::Environment(e.to_string()))?;
        crate::fsutil::write_atomic(path, &json)?;
    }
    finish(&p.plan, &run, &summary, errors)
}

/// Every action through the scheduler, with progress: locally, or with
/// the remote cache and executor in front of the local ones.
pub(super) fn run_actions(
    settings: &Settings,
    p: &Prepared,
    interrupt: &Arc<AtomicBool>,
) -> Result<(Run, Option<RemoteSummary>), Failure> {
    let mut local = LocalExecutor::new(&p.cache, &p.toolchain);
    local.shuffle = settings.shuffle;
    if settings.test.as_ref().is_some_and(|t| t.streamed) {
        local.stream = Some(std::sync::Mutex::new(()));
    }
    if !p.remote.enabled() {
        let run = schedule_all(settings, p, &p.cache, &local, settings.jobs, interrupt)?;
        return Ok((run, None));
    }
    let remote = Remote::connect(&p.remote, &p.cache, &p.toolchain)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let cache = RemoteCache {
        remote: &remote,
        local: &p.cache,
    };
    let exec = RemoteExecutor {
        remote: &remote,
        local: &local,
        slots: Slots::new(settings.jobs),
    };
    // A farm runs more at once than this machine's cores.
    let jobs = match (remote.executes(), settings.jobs_given) {
        (true, false) => settings.jobs * REMOTE_JOBS_PER_CORE,
        _ => settings.jobs,
    };
    let run = schedule_all(settings, p, &cache, &exec, jobs, interrupt)?;
    Ok((run, Some(remote.summary())))
}

/// Parallel actions per local core when a remote executor runs them.
const REMOTE_JOBS_PER_CORE: usize = 4;

fn schedule_all(
    settings: &Settings,
    p: &Prepared,
    cache: &dyn schedule::ActionCache,
    executor: &dyn schedule::Executor,
    jobs: usize,
    interrupt: &Arc<AtomicBool>,
) -> Result<Run, Failure> {
    let progress = report::Progress::new(&p.plan, settings.quiet);
    let run = schedule::run(
        &p.plan,
        &schedule::Backend {
            toolchain: &p.toolchain.id,
            cache,
            executor,
        },
        &Options {
            jobs,
            // go test goes on past a failing package; -count=1 reruns.
            keep_going: settings.keep_going || settings.test.is_some(),
            shuffle: settings.shuffle,
            always_run: settings
                .test
                .as_ref()
                .filter(|t| t.fresh)
                .map(|_| crate::plan::ActionKind::TestRun),
        },
        &progress,
        interrupt,
    )
    .map_err(|e| Failure::Environment(format!("starting {jobs} workers: {e}")))?;
    progress.finish();
    Ok(run)
}

/// Each built binary into its destination; the errors of those that
/// could not be written.
fn publish_all(p: &Prepared, run: &Run) -> (Vec<OutputSummary>, Vec<String>) {
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    for (t, dest) in p.plan.targets.iter().zip(&p.dests) {
        let rec = &run.records[t.link.index()];
        let Some(digest) = rec.output_digest("obj/a.out") else {
            continue;
        };
        match publish::publish(&p.cache, &digest, dest) {
            Ok(sha256) => outputs.push(OutputSummary {
                label: t.label.clone(),
                platform: t.platform.to_string(),
                path: display_path(&p.ws.root, dest),
                sha256,
                blake3: digest.to_hex(),
            }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (outputs, errors)
}

pub(super) fn summarise(
    p: &Prepared,
    run: &Run,
    reasons: &std::collections::BTreeMap<NodeIndex, Vec<MissReason>>,
    outputs: Vec<OutputSummary>,
    published: bool,
    start: Instant,
) -> Summary {
    let t = &p.toolchain;
    Summary {
        success: run.failed().next().is_none() && published && !run.interrupted,
        toolchain: t.version.clone(),
        toolchain_origin: t.origin.clone(),
        toolchain_host: format!("{}/{}", t.host_os, t.host_arch),
        toolchain_id: t.id.to_hex(),
        platforms: p.platforms.iter().map(|p| p.to_string()).collect(),
        actions: report::counts(run, |_| true),
        per_platform: report::per_platform(&p.plan, &p.platforms, run),
        outputs,
        seconds: start.elapsed().as_secs_f64(),
        processes_spawned: crate::process::spawned(),
        files_hashed: p.cache.stats().files_hashed(),
        action_list: report::action_list(&p.plan, run, reasons),
        remote: None,
        tests: Vec::new(),
        breakdown: report::time_breakdown(run, &p.phases.spans),
    }
}

/// Skipped packages, then the build's verdict: the first failure kind in
/// order interrupt, action failure, publishing; else the final lines.
fn finish(plan: &Plan, run: &Run, summary: &Summary, errors: Vec<String>) -> Result<(), Failure> {
    for s in &plan.skipped {
        eprintln!(
            "skipped {} on {}: build constraints exclude all its Go files",
            s.label, s.platform
        );
    }
    if run.interrupted {
        return Err(Failure::Interrupted);
    }
    let failed: Vec<String> = run.failed().map(|(n, _)| plan.describe(n)).collect();
    if !failed.is_empty() {
        return Err(Failure::Build(format!(
            "build failed: {}",
            failed.join(", ")
        )));
    }
    if !errors.is_empty() {
        return Err(Failure::Environment(errors.join("\n")));
    }
    for line in report::final_lines(&summary.per_platform, run, summary.seconds) {
        eprintln!("{line}");
    }
    Ok(())
}

/// `--profile`: phases and every action as a Chrome trace.
fn write_profile(path: &Path, p: &Prepared, run: &Run, schedule_start: f64) -> Result<(), Failure> {
    let mut trace = Trace::default();
    for (name, start, seconds) in &p.phases.spans {
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
        let a = &p.plan.graph[NodeIndex::new(i)];
        let args = serde_json::json!({"platform": a.platform.to_string(), "cached": matches!(r.outcome, schedule::Outcome::Cached), "source": r.origin});
        let start = schedule_start + r.started;
        trace.span(
            &format!("{} {}", a.kind, a.package),
            &a.kind.to_string(),
            r.worker + 1,
            start,
            r.seconds,
            args,
        );
        // Its phases, nested under it in the viewer.
        let mut at = start;
        for (phase, seconds) in r.breakdown.phases() {
            if seconds > 0.0 {
                trace.span(
                    phase,
                    "step",
                    r.worker + 1,
                    at,
                    seconds,
                    serde_json::json!({}),
                );
                at += seconds;
            }
        }
    }
    trace.write(path)?;
    Ok(())
}

/// `--record`: what `verify --against` compares with.
fn write_record(path: &Path, p: &Prepared, run: &Run) -> Result<(), Failure> {
    let context = crate::attest::record::Context {
        root: &p.ws.root,
        toolchain: &p.toolchain,
        tags: &p.flags.tags,
        stamps: &p.stamps,
        out_root: &p.out_root,
    };
    Ok(crate::attest::record::write(path, &p.plan, run, &context)?)
}

/// `--provenance`: an in-toto statement of the outputs and what built them.
fn write_provenance(
    path: &Path,
    settings: &Settings,
    p: &Prepared,
    summary: &Summary,
    start: Instant,
) -> Result<(), Failure> {
    use crate::attest::manifest::ManifestOutput;
    use crate::attest::provenance;
    let subjects: Vec<ManifestOutput> = summary
        .outputs
        .iter()
        .map(|o| ManifestOutput::of(o, Path::new(&o.path), &p.ws.root.join(&o.path)))
        .collect();
    let external = serde_json::json!({"targets": settings.labels.raw(), "platforms": summary.platforms, "tags": p.flags.tags});
    let deps = provenance::dependencies(
        &crate::pipeline::load_sums(&p.ws),
        &summary.toolchain,
        &summary.toolchain_host,
        &summary.toolchain_id,
    );
    let now = SystemTime::now();
    let started = crate::vcs::rfc3339_at(now - start.elapsed());
    let statement = provenance::statement(
        &subjects,
        external,
        &deps,
        &started,
        &crate::vcs::rfc3339_at(now),
    );
    let json =
        serde_json::to_vec_pretty(&statement).map_err(|e| Failure::Environment(e.to_string()))?;
    Ok(crate::fsutil::write_atomic(path, &json)?)
}
