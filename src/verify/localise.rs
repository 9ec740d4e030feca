//! Localisation: the first action, in dependency order, whose outputs
//! differ between two runs, what differs in its inputs, and which
//! condition causes it.

use std::collections::BTreeMap;

use crate::attest::record::{ActionRecord, RecordFile};
use crate::explain::InputRecord;

use super::{run_one, RunResult, RunSpec, VerifyError};

/// Where two runs first diverge.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub action: ActionRecord,
    pub other: ActionRecord,
    pub inputs_identical: bool,
    /// (sandbox path, origin, baseline digest, other digest) of the inputs
    /// that differ.
    pub inputs: Vec<(String, String, String, String)>,
    /// argv entries only in one of the runs.
    pub argv: (Vec<String>, Vec<String>),
}

/// The first action, in dependency order, whose outputs differ.
pub fn first_divergence(base: &RecordFile, other: &RecordFile) -> Option<Divergence> {
    let by_id: BTreeMap<&str, &ActionRecord> = other
        .actions
        .iter()
        .map(|a| (a.identity.as_str(), a))
        .collect();
    let (a, b) = base.actions.iter().find_map(|a| {
        let b = by_id.get(a.identity.as_str())?;
        (a.outputs != b.outputs).then_some((a, *b))
    })?;
    Some(Divergence {
        action: a.clone(),
        other: b.clone(),
        inputs_identical: a.key == b.key,
        inputs: differing_inputs(a, b),
        argv: (only_in(&a.argv, &b.argv), only_in(&b.argv, &a.argv)),
    })
}

/// The inputs at the same sandbox path with different digests.
fn differing_inputs(a: &ActionRecord, b: &ActionRecord) -> Vec<(String, String, String, String)> {
    let theirs: BTreeMap<&String, &InputRecord> = b.inputs.iter().map(|(k, v)| (k, v)).collect();
    a.inputs
        .iter()
        .filter_map(|(at, i)| {
            let j = theirs.get(at)?;
            (i.digest != j.digest).then(|| {
                (
                    at.clone(),
                    i.origin.clone(),
                    i.digest.clone(),
                    j.digest.clone(),
                )
            })
        })
        .collect()
}

fn only_in(x: &[String], y: &[String]) -> Vec<String> {
    x.iter().filter(|s| !y.contains(s)).cloned().collect()
}

/// Volatile stamps that explain a divergence in a link's argv.
pub fn volatile_cause(d: &Divergence, record: &RecordFile) -> Vec<String> {
    record
        .stamps
        .iter()
        .filter(|s| {
            !s.volatile.is_empty()
                && d.argv
                    .0
                    .iter()
                    .any(|a| a.starts_with(&format!("-X={}=", s.var)))
        })
        .map(|s| format!("{} ({})", s.var, s.volatile.join(", ")))
        .collect()
}

/// Names the cause of a divergence that no volatile stamp explains (None
/// when one does). A control run under the baseline's own conditions tells
/// a nondeterministic action (it diverges again) from one that depends on
/// a condition; then single-variation runs name the condition.
pub fn culprit(
    spec: &RunSpec,
    base: &RunResult,
    run: &RunResult,
    d: &Divergence,
) -> Result<Option<String>, VerifyError> {
    if !volatile_cause(d, &base.record).is_empty() {
        return Ok(None);
    }
    let reproduces = |r: &RunResult| {
        first_divergence(&base.record, &r.record)
            .is_some_and(|s| s.action.identity == d.action.identity)
    };
    if reproduces(&run_one(spec, 99, &[])?) {
        return Ok(Some(
            "none: it differs between two runs under identical conditions".to_string(),
        ));
    }
    if let [only] = run.variations[..] {
        return Ok(Some(only.to_string()));
    }
    for (k, v) in run.variations.iter().enumerate() {
        if reproduces(&run_one(spec, 100 + k, &[*v])?) {
            return Ok(Some(v.to_string()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::Stamp;

    fn action(id: &str, key: &str, inputs: &[(&str, &str)], output: &str) -> ActionRecord {
        ActionRecord {
            identity: id.into(),
            kind: "compile".into(),
            package: id.into(),
            platform: "linux/amd64".into(),
            argv: vec!["compile".into(), "-p".into(), id.into()],
            key: key.into(),
            inputs: inputs
                .iter()
                .map(|(at, digest)| {
                    let origin = format!("origin of {at}");
                    let digest = digest.to_string();
                    (at.to_string(), InputRecord { origin, digest })
                })
                .collect(),
            outputs: vec![("pkg.a".into(), output.into())],
            target: None,
        }
    }

    fn record(actions: Vec<ActionRecord>) -> RecordFile {
        RecordFile {
            stamps: Vec::new(),
            actions,
        }
    }

    /// Three actions in dependency order; in the other run (recorded in
    /// another order) `mid` differs through one of its inputs, and so
    /// `top`, which depends on it.
    fn runs() -> (RecordFile, RecordFile) {
        let base = record(vec![
            action("leaf", "k1", &[("a.go", "d1")], "o1"),
            action("mid", "k2", &[("b.go", "d2"), ("c.go", "d3")], "o2"),
            action("top", "k3", &[("mid.a", "o2")], "o3"),
        ]);
        let other = record(vec![
            action("top", "k3x", &[("mid.a", "o2x")], "o3x"),
            action("mid", "k2x", &[("b.go", "d2"), ("c.go", "d3x")], "o2x"),
            action("leaf", "k1", &[("a.go", "d1")], "o1"),
        ]);
        (base, other)
    }

    #[test]
    fn names_the_first_diverging_action_in_dependency_order() {
        let (base, other) = runs();
        let d = first_divergence(&base, &other).expect("the runs diverge");
        assert_eq!(d.action.identity, "mid");
        assert_eq!(d.other.outputs, vec![("pkg.a".into(), "o2x".into())]);
        assert!(!d.inputs_identical);
        let inputs = vec![(
            "c.go".to_string(),
            "origin of c.go".to_string(),
            "d3".to_string(),
            "d3x".to_string(),
        )];
        assert_eq!(d.inputs, inputs);
        assert_eq!(d.argv, (Vec::new(), Vec::new()));
    }

    #[test]
    fn identical_runs_do_not_diverge() {
        let (base, _) = runs();
        assert!(first_divergence(&base, &base.clone()).is_none());
    }

    #[test]
    fn actions_only_in_one_run_are_not_compared() {
        let (base, mut other) = runs();
        other.actions.retain(|a| a.identity != "mid");
        let d = first_divergence(&base, &other).expect("top still diverges");
        assert_eq!(d.action.identity, "top");
    }

    #[test]
    fn same_key_different_outputs_is_inputs_identical() {
        let (base, mut other) = runs();
        other.actions[1] = action("mid", "k2", &[("b.go", "d2"), ("c.go", "d3")], "o2x");
        let d = first_divergence(&base, &other).expect("the runs diverge");
        assert_eq!(d.action.identity, "mid");
        assert!(d.inputs_identical);
        assert!(d.inputs.is_empty());
    }

    #[test]
    fn argv_differences_and_the_volatile_stamp_behind_them() {
        let (mut base, mut other) = runs();
        base.actions[1].argv.push("-X=main.when=1".into());
        other.actions[1].argv.push("-X=main.when=2".into());
        base.stamps = vec![Stamp {
            var: "main.when".into(),
            value: "{BUILD_TIMESTAMP}".into(),
            volatile: vec!["{BUILD_TIMESTAMP}".into()],
        }];
        let d = first_divergence(&base, &other).expect("the runs diverge");
        assert_eq!(
            d.argv,
            (vec!["-X=main.when=1".into()], vec!["-X=main.when=2".into()])
        );
        assert_eq!(
            volatile_cause(&d, &base),
            vec!["main.when ({BUILD_TIMESTAMP})".to_string()]
        );
        base.stamps[0].volatile.clear();
        assert!(volatile_cause(&d, &base).is_empty());
    }
}
