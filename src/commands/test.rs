//! `gobuildr test`: every selected package's tests, built and run as
//! actions (results cached by content), reported as go test reports them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::prepare;
use crate::plan::{Plan, TestTarget};
use crate::report::TestSummary;
use crate::schedule::{Outcome, Run};
use std::collections::BTreeMap;

/// A package's verdict for the summary.
fn summary_of(run: &Run, t: &TestTarget) -> TestSummary {
    let rec = t.run.map(|n| &run.records[n.index()]);
    let status = match rec.map(|r| (&r.outcome, r.key.is_some())) {
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
fn report(plan: &Plan, run: &Run, t: &TestTarget, verbose: bool) -> (bool, String) {
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
        Outcome::Failed if rec.key.is_some() && !plan.graph[node].argv.is_empty() => (
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

pub fn test(settings: &Settings, interrupt: &Arc<AtomicBool>) -> Result<(), Failure> {
    let start = Instant::now();
    let p = prepare(settings, start)?;
    let (run, _) = super::build::run_actions(settings, &p, interrupt)?;
    if run.interrupted {
        return Err(Failure::Interrupted);
    }
    let verbose = settings.test.as_ref().is_some_and(|t| t.verbose);
    let mut tests: Vec<&TestTarget> = p.plan.tests.iter().collect();
    tests.sort_by(|a, b| {
        (&a.package, a.platform.to_string()).cmp(&(&b.package, b.platform.to_string()))
    });
    let mut ok = true;
    for t in &tests {
        let (passed, text) = report(&p.plan, &run, t, verbose);
        ok &= passed;
        print!("{text}");
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
        println!("FAIL");
        Err(Failure::Build("tests failed".into()))
    }
}
