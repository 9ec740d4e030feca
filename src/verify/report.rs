//! How verify words its verdict: the first divergence of each run, how
//! differing binaries differ, the final line.

use crate::failure::Failure;

use super::{binary, names, volatile_cause, Divergence, RunResult, Variation};

/// The first 12 characters of a digest, enough to tell two apart.
fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

/// The first divergence of `run` from `base`, why, and what caused it.
pub fn divergence(
    d: &Divergence,
    run: &RunResult,
    base: &RunResult,
    culprit: Option<String>,
) -> Vec<String> {
    let a = &d.action;
    let mut out = vec![format!(
        "first divergence: {} {} ({})",
        a.kind, a.package, a.platform
    )];
    let vol = volatile_cause(d, &base.record);
    if !vol.is_empty() {
        out.push(format!(
            "  the binary depends on a volatile stamp: {}",
            vol.join(", ")
        ));
    } else if d.inputs_identical {
        out.extend(identical_inputs(d, culprit.as_deref()));
    } else {
        out.extend(differing_inputs(d));
    }
    match culprit {
        Some(c) => out.push(format!("  caused by the variation: {c}")),
        None if vol.is_empty() => out.push(format!("  seen under: {}", names(&run.variations))),
        None => {}
    }
    out.extend(differing_outputs(d));
    out
}

/// Outputs differ though the inputs do not: the action reads something
/// that is not an input, or is nondeterministic.
fn identical_inputs(d: &Divergence, culprit: Option<&str>) -> Vec<String> {
    let why = match culprit {
        Some(c) if !c.starts_with("none") => format!(
            "  inputs identical, outputs differ under the {c} variation: the outputs depend on something that is not an input (an absolute path, the environment)"
        ),
        _ => "  inputs identical, outputs differ: the action itself is nondeterministic".into(),
    };
    vec![why, format!("  argv: {}", d.action.argv.join(" "))]
}

fn differing_inputs(d: &Divergence) -> Vec<String> {
    let mut out = vec!["  its inputs differ:".to_string()];
    for (at, origin, x, y) in &d.inputs {
        out.push(format!("    {at} ({origin}): {} vs {}", short(x), short(y)));
    }
    if !d.argv.0.is_empty() || !d.argv.1.is_empty() {
        out.push(format!(
            "    argv: -[{}] +[{}]",
            d.argv.0.join(" "),
            d.argv.1.join(" ")
        ));
    }
    out
}

/// The diverging action's outputs whose digests differ.
fn differing_outputs(d: &Divergence) -> Vec<String> {
    d.action
        .outputs
        .iter()
        .filter_map(|(name, x)| {
            let (_, y) = d.other.outputs.iter().find(|(n, _)| n == name)?;
            (x != y).then(|| format!("  output {name}: {} vs {}", short(x), short(y)))
        })
        .collect()
}

/// The first divergence of a build on another host.
pub fn host_divergence(host: &str, d: &Divergence) -> Vec<String> {
    let a = &d.action;
    let mut out = vec![format!(
        "first divergence when built on host {host}: {} {} ({})",
        a.kind, a.package, a.platform
    )];
    out.extend(differing_outputs(d));
    out
}

/// Binaries that differ between two runs, decoded.
pub fn binaries(base: &RunResult, other: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for a in base.record.actions.iter().filter(|a| a.target.is_some()) {
        let Some(b) = other
            .record
            .actions
            .iter()
            .find(|b| b.identity == a.identity)
        else {
            continue;
        };
        if a.outputs == b.outputs {
            continue;
        }
        let (Some((label, pa)), Some((_, pb))) = (&a.target, &b.target) else {
            continue;
        };
        let (Ok(x), Ok(y)) = (std::fs::read(pa), std::fs::read(pb)) else {
            continue;
        };
        out.push(format!("binary {label} ({}) differs:", a.platform));
        out.extend(
            binary::describe(&x, &y)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    out
}

/// Prints the verdict: reproducible, or every problem found.
pub fn verdict(
    problems: &[String],
    outputs: usize,
    runs: usize,
    variations: &[Variation],
) -> Result<(), Failure> {
    if problems.is_empty() {
        eprintln!(
            "reproducible: {outputs} outputs bit-identical across {runs} runs (varied: {})",
            names(variations)
        );
        return Ok(());
    }
    for p in problems {
        eprintln!("{p}");
    }
    Err(Failure::Build("not reproducible".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::record::{ActionRecord, RecordFile};

    fn action(output: &str) -> ActionRecord {
        ActionRecord {
            identity: "compile example.com/x linux/amd64".into(),
            kind: "compile".into(),
            package: "example.com/x".into(),
            platform: "linux/amd64".into(),
            argv: vec!["compile".into()],
            key: "k".into(),
            inputs: Vec::new(),
            outputs: vec![("pkg.a".into(), output.into())],
            target: None,
        }
    }

    fn run(variations: Vec<Variation>) -> RunResult {
        RunResult {
            variations,
            record: RecordFile {
                stamps: Vec::new(),
                actions: Vec::new(),
            },
            summary: crate::report::BuiltSummary {
                toolchain: "go1.26.8".into(),
                toolchain_host: "linux/amd64".into(),
                toolchain_id: String::new(),
                platforms: Vec::new(),
                outputs: Vec::new(),
            },
        }
    }

    #[test]
    fn words_a_divergence_through_its_inputs() {
        let d = Divergence {
            action: action("0123456789abcdef"),
            other: action("fedcba9876543210"),
            inputs_identical: false,
            inputs: vec![(
                "x.go".into(),
                "x/x.go".into(),
                "aaaaaaaaaaaaaaaa".into(),
                "bbbbbbbbbbbbbbbb".into(),
            )],
            argv: (Vec::new(), vec!["-trimpath=".into()]),
        };
        let lines = divergence(&d, &run(vec![Variation::Path]), &run(Vec::new()), None);
        assert_eq!(
            lines,
            vec![
                "first divergence: compile example.com/x (linux/amd64)",
                "  its inputs differ:",
                "    x.go (x/x.go): aaaaaaaaaaaa vs bbbbbbbbbbbb",
                "    argv: -[] +[-trimpath=]",
                "  seen under: path",
                "  output pkg.a: 0123456789ab vs fedcba987654",
            ]
        );
        assert_eq!(
            host_divergence("linux/arm64", &d),
            vec![
                "first divergence when built on host linux/arm64: compile example.com/x (linux/amd64)",
                "  output pkg.a: 0123456789ab vs fedcba987654",
            ]
        );
    }
}
