//! `gobuildr test --junit FILE`: the test events as JUnit XML, which CI
//! systems read (quick-junit writes the XML): a test suite per package and
//! platform, a test case per test with its time, output, and failure or
//! skip.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::test2json::Event;

/// The case name of what a package prints outside its tests.
const PACKAGE: &str = "[package]";

/// One test's events gathered: its final action, time and output.
#[derive(Default)]
struct Case {
    action: &'static str,
    seconds: f64,
    output: String,
}

fn cases(events: &[Event]) -> BTreeMap<String, Case> {
    let mut out: BTreeMap<String, Case> = BTreeMap::new();
    for e in events {
        // Package-level events (start, the final verdict) name no test.
        let name = e.test.clone().unwrap_or_else(|| PACKAGE.into());
        let case = out.entry(name).or_default();
        match e.action {
            "output" => case.output.push_str(e.output.as_deref().unwrap_or("")),
            "pass" | "fail" | "skip" => {
                case.action = e.action;
                case.seconds = e.elapsed.as_ref().and_then(|n| n.as_f64()).unwrap_or(0.0);
            }
            _ => {}
        }
    }
    out
}

fn case(package: &str, name: &str, c: &Case) -> TestCase {
    let status = match c.action {
        "fail" => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("{name} failed"));
            s.set_description(c.output.clone());
            s
        }
        "skip" => TestCaseStatus::skipped(),
        _ => TestCaseStatus::success(),
    };
    let mut t = TestCase::new(name.to_string(), status);
    t.set_classname(package.to_string());
    t.set_time(Duration::from_secs_f64(c.seconds.max(0.0)));
    t.set_system_out(c.output.clone());
    t
}

/// The XML of every package's events: (package, platform, events).
pub fn xml(packages: &[(String, String, Vec<Event>)]) -> Result<String, String> {
    let mut report = Report::new("gobuildr test");
    for (package, platform, events) in packages {
        let mut suite = TestSuite::new(format!("{package} ({platform})"));
        let all = cases(events);
        // The package gets a case of its own only when it failed outside
        // any test (a build failure, a panic in init, TestMain's exit).
        let test_failed = all.iter().any(|(n, c)| n != PACKAGE && c.action == "fail");
        for (name, c) in &all {
            if name != PACKAGE || (c.action == "fail" && !test_failed) {
                suite.add_test_case(case(package, name, c));
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::test2json::Converter;
    use super::*;

    #[test]
    fn tests_become_cases_with_their_verdicts() {
        let mut c = Converter::new("p", || "T".into());
        c.feed("\u{16}=== RUN   TestA\n\u{16}--- PASS: TestA (0.50s)\n\u{16}=== RUN   TestB\nboom\n\u{16}--- FAIL: TestB (0.00s)\n\u{16}FAIL\n");
        let events = c.finish("FAIL\tp\t0.600s\n", "fail", 0.6);
        let xml = xml(&[("p".into(), "linux/amd64".into(), events)]).unwrap();
        assert!(
            xml.contains(r#"<testsuite name="p (linux/amd64)" tests="2""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="TestA" classname="p" time="0.500">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<failure message="TestB failed">"#), "{xml}");
        assert!(xml.contains("boom"), "{xml}");
    }
}
