//! `gobuildr test`: every selected package's tests, built and run as
//! actions (results cached by content), reported as go test reports them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::{prepare, Prepared};
use crate::plan::ActionKind;
use crate::plan::{CoverOptions, TestOptions, TestTarget, COVER_PROFILE};
use crate::report::go_header;
use crate::report::test2json::{self, BuildEvent, Converter, Event};
use crate::report::TestSummary;
use crate::schedule::{Outcome, Run};
use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

/// A package's verdict for the summary.
fn summary_of(run: &Run, t: &TestTarget) -> TestSummary {
    let rec = t.run.map(|n| &run.records[n.index()]);
    let status = match rec.map(|r| (&r.outcome, r.key.is_some())) {
        None if t.build_only => "build-only",
        None => "no-test-files",
        Some((Outcome::Cached | Outcome::Executed, _)) => "ok",
        Some((Outcome::Failed, true)) => "fail",
        Some(_) => "build-failed",
    };
    TestSummary {
        package: t.package.clone(),
        platform: t.platform.to_string(),
        status,
        cached: rec.is_some_and(|r| matches!(r.outcome, Outcome::Cached)),
        seconds: rec.map_or(0.0, |r| r.seconds),
    }
}

/// What go test appends to a passing package's line under -cover: the
/// binary's own `coverage: ...` line.
fn coverage_suffix(output: &str, opts: &TestOptions) -> String {
    if opts.cover.is_none() {
        return String::new();
    }
    output
        .lines()
        .find_map(|l| l.split_once("coverage: ").map(|(_, rest)| rest))
        .map(|rest| format!("\tcoverage: {rest}"))
        .unwrap_or_default()
}

/// How the packages are reported: the options, and under -cover each
/// profile an action wrote (by action).
struct View<'a> {
    opts: &'a TestOptions,
    profiles: BTreeMap<NodeIndex, String>,
}

impl View<'_> {
    /// Reads the profile each test run (and each report of a package with
    /// no tests) wrote.
    fn read_profiles(&mut self, p: &Prepared, run: &Run) -> Result<(), Failure> {
        for node in p
            .plan
            .tests
            .iter()
            .flat_map(|t| t.run.iter().chain(&t.coverage))
        {
            let rec = &run.records[node.index()];
            for o in rec.outputs.iter().filter(|o| o.name == COVER_PROFILE) {
                let blob = p.cache.blob_path(&o.digest);
                let text = std::fs::read_to_string(&blob)
                    .map_err(|e| Failure::Environment(format!("{}: {e}", blob.display())))?;
                self.profiles.insert(*node, text);
            }
        }
        Ok(())
    }

    /// A package with no tests: under -cover, its share of statements
    /// covered (none) from its profile, when it has statements.
    fn untested_line(&self, t: &TestTarget) -> String {
        let blocks = t
            .coverage
            .and_then(|n| self.profiles.get(&n))
            .map_or(0, |p| p.lines().skip(1).count());
        if blocks == 0 {
            format!("?   \t{}\t[no test files]\n", t.package)
        } else {
            format!("\t{}\t\tcoverage: 0.0% of statements\n", t.package)
        }
    }
}

/// A run's output as its report shows it: ending in a newline, and not
/// again when it was streamed as it was printed.
fn shown_output(text: &str, rec: &crate::schedule::Record, opts: &TestOptions) -> String {
    let ran = matches!(rec.outcome, Outcome::Executed | Outcome::Failed);
    if opts.streamed && ran {
        String::new()
    } else if text.is_empty() || text.ends_with('\n') {
        text.to_string()
    } else {
        format!("{text}\n")
    }
}

/// go test's line for one package, after the test output it shows.
fn report(run: &Run, t: &TestTarget, view: &View) -> (bool, String) {
    let opts = view.opts;
    let verbose = opts.verbose;
    if t.build_only {
        return (
            true,
            format!(
                "?   \t{}\t[{} test binary built, not run: give -exec]\n",
                t.package, t.platform
            ),
        );
    }
    let Some(node) = t.run else {
        return (true, view.untested_line(t));
    };
    let rec = &run.records[node.index()];
    let shown = |text: &str| shown_output(text, rec, opts);
    match rec.outcome {
        Outcome::Cached => {
            let out = if verbose {
                shown(&rec.output)
            } else {
                String::new()
            };
            let cov = coverage_suffix(&rec.output, opts);
            (true, format!("{out}ok  \t{}\t(cached){cov}\n", t.package))
        }
        Outcome::Executed => {
            let out = if verbose {
                shown(&rec.output)
            } else {
                String::new()
            };
            let cov = coverage_suffix(&rec.output, opts);
            (
                true,
                format!("{out}ok  \t{}\t{:.3}s{cov}\n", t.package, rec.seconds),
            )
        }
        Outcome::Failed if rec.key.is_some() => (
            false,
            format!(
                "{}FAIL\t{}\t{:.3}s\n",
                shown(&rec.output),
                t.package,
                rec.seconds
            ),
        ),
        _ => (false, format!("FAIL\t{} [build failed]\n", t.package)),
    }
}

/// go test -json's events for one package.
fn json_events(run: &Run, t: &TestTarget, view: &View, failed: Option<String>) -> Vec<Event> {
    let c = Converter::new(&t.package, test2json::now);
    let Some(node) = t.run else {
        return c.finish(&report(run, t, view).1, "skip", 0.0);
    };
    let rec = &run.records[node.index()];
    let cov = coverage_suffix(&rec.output, view.opts);
    let (word, tail, action) = match rec.outcome {
        Outcome::Cached => ("ok  ", format!("(cached){cov}"), "pass"),
        Outcome::Executed => ("ok  ", format!("{:.3}s{cov}", rec.seconds), "pass"),
        // A key: the binary ran (and failed), as opposed to not being built.
        Outcome::Failed if rec.key.is_some() => ("FAIL", format!("{:.3}s", rec.seconds), "fail"),
        _ => {
            let line = format!("FAIL\t{} [build failed]\n", t.package);
            let failed = failed.unwrap_or_else(|| format!("{0} [{0}.test]", t.package));
            return c.build_failed(&line, &failed);
        }
    };
    let mut c = c;
    c.feed(&rec.output);
    let elapsed = if matches!(rec.outcome, Outcome::Cached) {
        0.0
    } else {
        rec.seconds
    };
    c.finish(&format!("{word}\t{}\t{tail}\n", t.package), action, elapsed)
}

/// go test's text from a framed run's events: everything with -v or on a
/// failure, else only the verdict line.
fn framed_text(events: &[Event], passed: bool, verbose: bool) -> String {
    let outputs: Vec<&str> = events
        .iter()
        .filter(|e| e.action == "output")
        .filter_map(|e| e.output.as_deref())
        .collect();
    if verbose || !passed {
        outputs.concat()
    } else {
        outputs.last().map(|s| s.to_string()).unwrap_or_default()
    }
}

/// -coverprofile: every package's profile in one file, under one mode
/// line, as go test merges them.
fn write_profile(view: &View, tests: &[&TestTarget], cover: &CoverOptions) -> Result<(), Failure> {
    let Some(path) = &cover.profile else {
        return Ok(());
    };
    let mut text = format!("mode: {}\n", cover.mode);
    for node in tests.iter().flat_map(|t| t.run.or(t.coverage)) {
        if let Some(profile) = view.profiles.get(&node) {
            text.extend(profile.lines().skip(1).map(|l| format!("{l}\n")));
        }
    }
    crate::fsutil::write_atomic(path, text.as_bytes())?;
    Ok(())
}

/// go test -json's build events: every failed build action's output,
/// under go's header, then its failure.
fn build_events(p: &Prepared, run: &Run) -> Vec<BuildEvent> {
    let mut out = Vec::new();
    for node in p.plan.graph.node_indices() {
        let (action, rec) = (&p.plan.graph[node], &run.records[node.index()]);
        if action.kind != ActionKind::TestRun && matches!(rec.outcome, Outcome::Failed) {
            let text = format!("{}{}", go_header(action), rec.output);
            out.extend(test2json::build_failure(&action.package, &text));
        }
    }
    out
}

/// The package whose build kept a test binary from being built: the first
/// failed action among the run's inputs, transitively.
fn failed_build(p: &Prepared, run: &Run, node: NodeIndex) -> Option<String> {
    let graph = &p.plan.graph;
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        for dep in graph.neighbors_directed(n, petgraph::Direction::Incoming) {
            if seen.insert(dep) {
                todo.push(dep);
            }
        }
    }
    seen.into_iter()
        .find(|n| matches!(run.records[n.index()].outcome, Outcome::Failed))
        .map(|n| graph[n].package.clone())
}

/// Prints each package's report (text, or -json events), and returns
/// whether all passed, and the events for --junit.
fn print_reports(p: &Prepared, run: &Run, tests: &[&TestTarget], view: &View) -> (bool, Suites) {
    let opts = view.opts;
    let mut ok = true;
    let mut suites = Vec::new();
    if opts.json {
        for e in build_events(p, run) {
            println!("{}", serde_json::to_string(&e).unwrap_or_default());
        }
    }
    for t in tests {
        let (passed, text) = report(run, t, view);
        ok &= passed;
        if !opts.framed() {
            print!("{text}");
            continue;
        }
        let failed = t.run.and_then(|n| failed_build(p, run, n));
        let events = json_events(run, t, view, failed);
        if opts.json {
            for e in &events {
                println!("{}", serde_json::to_string(e).unwrap_or_default());
            }
        } else {
            print!("{}", framed_text(&events, passed, opts.verbose));
        }
        suites.push((t.package.clone(), t.platform.to_string(), events));
    }
    (ok, suites)
}

type Suites = Vec<(String, String, Vec<Event>)>;

pub fn test(settings: &Settings, interrupt: &Arc<AtomicBool>) -> Result<(), Failure> {
    let start = Instant::now();
    let p = prepare(settings, start)?;
    let (run, _) = super::build::run_actions(settings, &p, interrupt)?;
    if run.interrupted {
        return Err(Failure::Interrupted);
    }
    let mut tests: Vec<&TestTarget> = p.plan.tests.iter().collect();
    tests.sort_by(|a, b| {
        (&a.package, a.platform.to_string()).cmp(&(&b.package, b.platform.to_string()))
    });
    let opts = settings.test.clone().unwrap_or_default();
    let mut view = View {
        opts: &opts,
        profiles: BTreeMap::new(),
    };
    if opts.cover.is_some() {
        view.read_profiles(&p, &run)?;
    }
    let (ok, suites) = print_reports(&p, &run, &tests, &view);
    if let Some(cover) = &opts.cover {
        write_profile(&view, &tests, cover)?;
    }
    if let Some(path) = &opts.junit {
        let xml = crate::report::junit::xml(&suites).map_err(Failure::Environment)?;
        crate::fsutil::write_atomic(path, xml.as_bytes())?;
    }
    if let Some(path) = &settings.summary_json {
        let mut summary =
            super::build::summarise(&p, &run, &BTreeMap::new(), Vec::new(), true, start);
        summary.success = ok;
        summary.tests = tests.iter().map(|t| summary_of(&run, t)).collect();
        let json =
            serde_json::to_vec_pretty(&summary).map_err(|e| Failure::Environment(e.to_string()))?;
        crate::fsutil::write_atomic(path, &json)?;
    }
    if ok {
        Ok(())
    } else {
        if !opts.json {
            println!("FAIL");
        }
        Err(Failure::Build("tests failed".into()))
    }
}
