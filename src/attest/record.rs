//! What one verify run leaves behind (`build --record`): for every action,
//! in dependency order, what went into its key and what came out, plus the
//! stamps the run used. Verify compares two of these.

use std::path::Path;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::explain::{identity, ingredients, InputRecord};
use crate::plan::Plan;
use crate::schedule::Run;
use crate::stamp::Stamp;
use crate::toolchain::Toolchain;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub identity: String,
    pub kind: String,
    pub package: String,
    pub platform: String,
    pub argv: Vec<String>,
    pub key: String,
    /// (sandbox path, origin and digest) of every input.
    pub inputs: Vec<(String, InputRecord)>,
    /// (name, blake3) of every output.
    pub outputs: Vec<(String, String)>,
    /// For links: the binary's label and where it was published.
    pub target: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordFile {
    pub stamps: Vec<Stamp>,
    pub actions: Vec<ActionRecord>,
}

/// What a record needs besides the plan and the run.
pub struct Context<'a> {
    pub root: &'a Path,
    pub toolchain: &'a Toolchain,
    pub tags: &'a [String],
    pub stamps: &'a [Stamp],
    pub out_root: &'a Path,
}

/// Writes the record of a finished run.
pub fn write(
    path: &Path,
    plan: &Plan,
    run: &Run,
    cx: &Context,
) -> Result<(), crate::fsutil::FsError> {
    let (root, toolchain, tags, stamps, out_root) =
        (cx.root, cx.toolchain, cx.tags, cx.stamps, cx.out_root);
    let order = petgraph::algo::toposort(&plan.graph, None).unwrap_or_default();
    let actions = order
        .into_iter()
        .map(|node: NodeIndex| {
            let a = &plan.graph[node];
            let r = &run.records[node.index()];
            let ing = ingredients(plan, root, toolchain, tags, node, r);
            ActionRecord {
                identity: identity(a),
                kind: a.kind.to_string(),
                package: a.package.clone(),
                platform: a.platform.to_string(),
                argv: a.argv.clone(),
                key: r.key.map(|k| k.to_hex()).unwrap_or_default(),
                inputs: ing.inputs().into_iter().collect(),
                outputs: r
                    .outputs
                    .iter()
                    .map(|o| (o.name.clone(), o.digest.to_hex()))
                    .collect(),
                target: plan.targets.iter().find(|t| t.link == node).map(|t| {
                    (
                        t.label.clone(),
                        out_root.join(&t.out_rel).display().to_string(),
                    )
                }),
            }
        })
        .collect();
    let file = RecordFile {
        stamps: stamps.to_vec(),
        actions,
    };
    let data = serde_json::to_vec(&file).unwrap_or_default();
    crate::fsutil::write_atomic(path, &data)
}
