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
