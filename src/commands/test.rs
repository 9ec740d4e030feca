//! `gobuildr test`: every selected package's tests, built and run as
//! actions (results cached by content), reported as go test reports them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::prepare;
use crate::plan::{Plan, TestTarget};
use crate::schedule::{Outcome, Run};

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
    for t in tests {
        let (passed, text) = report(&p.plan, &run, t, verbose);
        ok &= passed;
        print!("{text}");
    }
    if ok {
        Ok(())
    } else {
        println!("FAIL");
        Err(Failure::Build("tests failed".into()))
    }
}
