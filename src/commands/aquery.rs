//! `gobuildr aquery`: the actions of a build as they would run, running
//! nothing: each one's kind, package, platform, argv and environment
//! (with the placeholders every machine shares), inputs by digest or by
//! the action they come from, outputs, key, and whether the cache holds
//! its result. What Bazel users reach for when a rebuild surprises them;
//! `gobuildr explain` says why an action runs, this says what it is.

use std::time::Instant;

use petgraph::graph::NodeIndex;
use serde::Serialize;

use crate::cli::args::AqueryArgs;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::{prepare, Prepared};
use crate::plan::{Action, Source};
use crate::schedule::{self, Outcome, Record};

/// The kinds of action, as messages and summaries name them.
const KINDS: [&str; 10] = [
    "symabis",
    "compile",
    "asm",
    "pack",
    "link",
    "preprofile",
    "cover",
    "covdata",
    "vet",
    "test",
];

/// One input, as the action stages it.
#[derive(Serialize)]
struct InputView {
    at: String,
    /// Its digest, when known (an output of an action that would run is
    /// not).
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    /// `file`, `generated` or `output`.
    source: &'static str,
    /// The file read, for a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The action it comes from (as messages name actions) and the
    /// output's name there, for an output.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    /// The bytes gobuildr writes, for a generated input.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

#[derive(Serialize)]
struct ActionView {
    id: usize,
    kind: String,
    package: String,
    platform: String,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    inputs: Vec<InputView>,
    outputs: Vec<OutputView>,
    /// None: an input is an output of an action that would run, so the
    /// key is known only once it has.
    key: Option<String>,
    cached: bool,
}

#[derive(Serialize)]
struct OutputView {
    name: String,
    /// From the cache, when the action is cached.
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

fn input_view(p: &Prepared, action: &Action, rec: &Record, i: usize) -> InputView {
    let input = &action.inputs[i];
    let mut v = InputView {
        at: input.at.clone(),
        digest: rec.inputs.get(i).copied().flatten().map(|d| d.to_hex()),
        source: "file",
        path: None,
        from: None,
        output: None,
        text: None,
    };
    match &input.source {
        Source::File { path, .. } => v.path = Some(path.display().to_string()),
        Source::Generated(bytes) => {
            v.source = "generated";
            v.text = Some(String::from_utf8_lossy(bytes).into_owned());
        }
        Source::Output { action, name } => {
            v.source = "output";
            v.from = Some(p.plan.describe(*action));
            v.output = Some(name.clone());
        }
    }
    v
}

fn action_view(p: &Prepared, records: &[Record], node: NodeIndex) -> ActionView {
    let (action, rec) = (&p.plan.graph[node], &records[node.index()]);
    let cached = matches!(rec.outcome, Outcome::Cached);
    let outputs = action
        .outputs
        .iter()
        .map(|name| {
            let stored = rec.outputs.iter().find(|o| o.name == *name);
            OutputView {
                name: name.clone(),
                digest: stored.map(|o| o.digest.to_hex()),
                size: stored.map(|o| o.size),
            }
        })
        .collect();
    ActionView {
        id: node.index(),
        kind: action.kind.to_string(),
        package: action.package.clone(),
        platform: action.platform.to_string(),
        argv: action.argv.clone(),
        env: action.env.clone(),
        inputs: (0..action.inputs.len())
            .map(|i| input_view(p, action, rec, i))
            .collect(),
        outputs,
        key: rec.key.map(|k| k.to_hex()),
        cached,
    }
}

/// The text form: one block an action, as `explain` names actions.
fn text(v: &ActionView) -> String {
    let state = match (&v.key, v.cached) {
        (_, true) => "cached",
        (Some(_), false) => "would run",
        (None, false) => "would run (key known once its inputs are built)",
    };
    let mut out = format!(
        "action {}: {} {} ({})\n  key: {} [{state}]\n  argv: {}\n",
        v.id,
        v.kind,
        v.package,
        v.platform,
        v.key.as_deref().unwrap_or("-"),
        v.argv.join(" ")
    );
    for (k, val) in &v.env {
        out.push_str(&format!("  env: {k}={val}\n"));
    }
    for i in &v.inputs {
        let digest = i.digest.as_deref().unwrap_or("-");
        let origin = match i.source {
            "output" => format!(
                "from {} {}",
                i.from.as_deref().unwrap_or(""),
                i.output.as_deref().unwrap_or("")
            ),
            "generated" => format!(
                "generated, {} bytes",
                i.text.as_ref().map_or(0, String::len)
            ),
            _ => i.path.clone().unwrap_or_default(),
        };
        out.push_str(&format!("  input: {} {digest} ({origin})\n", i.at));
    }
    for o in &v.outputs {
        out.push_str(&format!(
            "  output: {} {}\n",
            o.name,
            o.digest.as_deref().unwrap_or("-")
        ));
    }
    out
}

pub fn aquery(settings: &Settings, args: &AqueryArgs) -> Result<(), Failure> {
    let kinds: Vec<&str> = args.kind.iter().map(String::as_str).collect();
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(k)) {
        return Err(Failure::Usage(format!(
            "--kind {bad}: not an action kind (kinds: {})",
            KINDS.join(", ")
        )));
    }
    let package = args
        .package
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| Failure::Usage(format!("--package: {e}")))?;
    let p = prepare(settings, Instant::now())?;
    let records = schedule::dry_run(&p.plan, &p.toolchain.id, &p.cache);
    let views: Vec<ActionView> = p
        .plan
        .graph
        .node_indices()
        .filter(|n| {
            let a = &p.plan.graph[*n];
            let kind = a.kind.to_string();
            (kinds.is_empty() || kinds.contains(&kind.as_str()))
                && package.as_ref().map_or(true, |re| re.is_match(&a.package))
        })
        .map(|n| action_view(&p, &records, n))
        .collect();
    let out = if args.format == "json" {
        serde_json::to_string_pretty(&views).map_err(|e| Failure::Environment(e.to_string()))?
            + "\n"
    } else {
        views.iter().map(text).collect::<Vec<_>>().join("\n")
    };
    print!("{out}");
    let _ = p.cache.stats().save();
    Ok(())
}
