//! `gobuildr test -json`: a test binary's `-test.v=test2json` output as the
//! events `go test -json` prints (test2json's: start, run, pause, cont,
//! output, pass, fail, skip), one JSON object a line, fields in go's order.
//!
//! The binary marks its framing lines (`=== RUN`, `--- PASS`, the final
//! `PASS`) with a leading 0x16 byte, so a test's own output that looks like
//! framing stays output; unmarked lines belong to the test named last.

use serde::Serialize;

const MARKER: char = '\u{16}';

/// One event, serialized with go's field order and omissions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub time: String,
    pub action: &'static str,
    pub package: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<serde_json::Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_build: Option<String>,
}

/// A build's event under go test -json (go build -json's shape): a line
/// of a failed action's output, or its failure.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BuildEvent {
    pub import_path: String,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The events of a failed build action: its text line by line (with
/// go's header), then `build-fail`.
pub fn build_failure(import_path: &str, text: &str) -> Vec<BuildEvent> {
    let event = |action, output| BuildEvent {
        import_path: import_path.to_string(),
        action,
        output,
    };
    let mut out: Vec<BuildEvent> = text
        .split_inclusive('\n')
        .map(|l| event("build-output", Some(l.to_string())))
        .collect();
    out.push(event("build-fail", None));
    out
}

/// Seconds as go's encoding/json writes a float64: `0`, `0.005`.
pub fn seconds(s: f64) -> serde_json::Number {
    let ms = (s * 1000.0).round() / 1000.0;
    if ms.fract() == 0.0 {
        serde_json::Number::from(ms as i64)
    } else {
        serde_json::Number::from_f64(ms).unwrap_or_else(|| serde_json::Number::from(0))
    }
}

/// Builds one package's events.
pub struct Converter {
    package: String,
    time: fn() -> String,
    current: Option<String>,
    pub events: Vec<Event>,
}

/// `--- PASS: name (0.01s)` → (action, name, seconds).
fn verdict(line: &str) -> Option<(&'static str, &str, f64)> {
    let line = line.trim_start();
    let (action, rest) = [
        ("pass", "--- PASS: "),
        ("fail", "--- FAIL: "),
        ("skip", "--- SKIP: "),
    ]
    .into_iter()
    .find_map(|(a, p)| line.strip_prefix(p).map(|r| (a, r)))?;
    let rest = rest.trim_end();
    let (name, time) = rest.rsplit_once(" (").unwrap_or((rest, "0s)"));
    let secs = time.trim_end_matches("s)").parse().unwrap_or(0.0);
    Some((action, name, secs))
}

impl Converter {
    pub fn new(package: &str, time: fn() -> String) -> Converter {
        let mut c = Converter {
            package: package.into(),
            time,
            current: None,
            events: Vec::new(),
        };
        c.event("start", None, None, None);
        c
    }

    fn event(
        &mut self,
        action: &'static str,
        test: Option<&str>,
        elapsed: Option<f64>,
        output: Option<&str>,
    ) {
        self.events.push(Event {
            time: (self.time)(),
            action,
            package: self.package.clone(),
            test: test.map(str::to_string),
            elapsed: elapsed.map(seconds),
            output: output.map(str::to_string),
            failed_build: None,
        });
    }

    /// The binary's output, a line at a time.
    pub fn feed(&mut self, raw: &str) {
        for line in raw.split_inclusive('\n') {
            match line.strip_prefix(MARKER) {
                Some(framed) => self.framing(framed),
                None => self.output(line),
            }
        }
    }

    fn output(&mut self, text: &str) {
        let test = self.current.clone();
        self.event("output", test.as_deref(), None, Some(text));
    }

    fn framing(&mut self, line: &str) {
        let name = |p: &str| line.strip_prefix(p).map(|n| n.trim_end().to_string());
        if let Some(n) = name("=== RUN   ") {
            self.event("run", Some(&n), None, None);
            self.current = Some(n);
            self.output(line);
        } else if let Some(n) = name("=== PAUSE ") {
            // As test2json: the pause line before the pause, so that the
            // paused test does not seem to print.
            self.current = Some(n.clone());
            self.output(line);
            self.event("pause", Some(&n), None, None);
        } else if let Some(n) = name("=== CONT  ") {
            self.event("cont", Some(&n), None, None);
            self.current = Some(n);
            self.output(line);
        } else if let Some(n) = name("=== NAME  ") {
            self.current = (!n.is_empty()).then_some(n);
        } else if let Some((action, n, secs)) = verdict(line) {
            let n = n.to_string();
            self.event("output", Some(&n), None, Some(line));
            self.event(action, Some(&n), Some(secs), None);
        } else {
            self.current = None;
            self.output(line);
        }
    }

    /// go test's own line for the package, then its verdict.
    pub fn finish(mut self, line: &str, action: &'static str, elapsed: f64) -> Vec<Event> {
        self.current = None;
        self.output(line);
        self.event(action, None, Some(elapsed), None);
        self.events
    }

    /// A package that did not build: its line, then a fail naming it.
    pub fn build_failed(mut self, line: &str, failed: &str) -> Vec<Event> {
        self.output(line);
        self.event("fail", None, Some(0.0), None);
        if let Some(last) = self.events.last_mut() {
            last.failed_build = Some(failed.to_string());
        }
        self.events
    }
}

/// Now, as go's RFC 3339 with nanoseconds (trailing zeros cut), in UTC.
pub fn now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let base =
        crate::vcs::rfc3339_at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.as_secs()));
    let nanos = format!("{:09}", t.subsec_nanos());
    let nanos = nanos.trim_end_matches('0');
    match (base.strip_suffix('Z'), nanos.is_empty()) {
        (Some(b), false) => format!("{b}.{nanos}Z"),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> String {
        "T".into()
    }

    fn pairs(events: &[Event]) -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| (e.action.to_string(), e.test.clone().unwrap_or_default()))
            .collect()
    }

    #[test]
    fn framing_lines_become_events_and_the_rest_output() {
        let raw = "\u{16}=== RUN   TestA\nhello\n=== RUN   fake\n\u{16}--- FAIL: TestA (0.25s)\n\u{16}=== NAME  \n\u{16}FAIL\n";
        let mut c = Converter::new("p", fixed);
        c.feed(raw);
        let ev = c.finish("FAIL\tp\t0.300s\n", "fail", 0.3);
        let want = [
            ("start", ""),
            ("run", "TestA"),
            ("output", "TestA"),
            ("output", "TestA"),
            ("output", "TestA"),
            ("output", "TestA"),
            ("fail", "TestA"),
            ("output", ""),
            ("output", ""),
            ("fail", ""),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, t)| (a.to_string(), t.to_string()))
            .collect();
        assert_eq!(pairs(&ev), want);
        assert_eq!(
            ev[4].output.as_deref(),
            Some("=== RUN   fake\n"),
            "unmarked framing is output"
        );
        let line = serde_json::to_string(&ev[6]).unwrap();
        assert_eq!(
            line,
            r#"{"Time":"T","Action":"fail","Package":"p","Test":"TestA","Elapsed":0.25}"#
        );
        let zero = serde_json::to_string(&Event {
            elapsed: Some(seconds(0.0)),
            ..ev.into_iter().next().unwrap()
        })
        .unwrap();
        assert_eq!(
            zero,
            r#"{"Time":"T","Action":"start","Package":"p","Elapsed":0}"#
        );
    }

    #[test]
    fn times_are_rfc3339_with_nanoseconds() {
        let t = now();
        assert!(
            t.ends_with('Z') && t.len() >= 20 && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }
}
