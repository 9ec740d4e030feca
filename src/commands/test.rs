//! `gobuildr test`: every selected package's tests, built and run as
//! actions (results cached by content), reported as go test reports them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::prepare;
use crate::plan::TestTarget;
use crate::report::test2json::{self, Converter, Event};
use crate::report::TestSummary;
use crate::schedule::{Outcome, Run};
use std::collections::BTreeMap;

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

/// go test's line for one package, after the test output it shows.
fn report(run: &Run, t: &TestTarget, verbose: bool) -> (bool, String) {
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
        return (true, format!("?   \t{}\t[no test files]\n", t.package));
    };
    let rec = &run.records[node.index()];
    let shown = |text: &str| -> String {
        if text.is_empty() || text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        }
    };
    match rec.outcome {
        Outcome::Cached => {
            let out = if verbose {
                shown(&rec.output)
            } else {
                String::new()
            };
            (true, format!("{out}ok  \t{}\t(cached)\n", t.package))
        }
        Outcome::Executed => {
            let out = if verbose {
                shown(&rec.output)
            } else {
                String::new()
            };
            (
                true,
                format!("{out}ok  \t{}\t{:.3}s\n", t.package, rec.seconds),
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
fn json_events(run: &Run, t: &TestTarget) -> Vec<Event> {
    let c = Converter::new(&t.package, test2json::now);
    let Some(node) = t.run else {
        return c.finish(&report(run, t, false).1, "skip", 0.0);
    };
    let rec = &run.records[node.index()];
    let (word, tail, action) = match rec.outcome {
        Outcome::Cached => ("ok  ", "(cached)".to_string(), "pass"),
        Outcome::Executed => ("ok  ", format!("{:.3}s", rec.seconds), "pass"),
        // A key: the binary ran (and failed), as opposed to not being built.
        Outcome::Failed if rec.key.is_some() => ("FAIL", format!("{:.3}s", rec.seconds), "fail"),
        _ => {
            let line = format!("FAIL\t{} [build failed]\n", t.package);
            return c.build_failed(&line, &format!("{0} [{0}.test]", t.package));
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
    let mut ok = true;
    let mut suites = Vec::new();
    for t in &tests {
        let (passed, text) = report(&run, t, opts.verbose);
        ok &= passed;
        if !opts.framed() {
            print!("{text}");
            continue;
        }
        let events = json_events(&run, t);
        if opts.json {
            for e in &events {
                println!("{}", serde_json::to_string(e).unwrap_or_default());
            }
        } else {
            print!("{}", framed_text(&events, passed, opts.verbose));
        }
        suites.push((t.package.clone(), t.platform.to_string(), events));
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
