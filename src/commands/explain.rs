//! `gobuildr explain`: why each action would run, running nothing.

use std::collections::BTreeMap;
use std::time::Instant;

use petgraph::graph::NodeIndex;

use crate::cli::Settings;
use crate::explain::{History, MissReason};
use crate::failure::Failure;
use crate::pipeline::{prepare, Prepared};
use crate::plan::Plan;
use crate::schedule;

pub fn print_reasons(plan: &Plan, reasons: &BTreeMap<NodeIndex, Vec<MissReason>>, cached: usize) {
    if reasons.is_empty() {
        eprintln!("explain: nothing changed; all {cached} actions are cached");
    }
    for (node, why) in reasons {
        let text: Vec<String> = why.iter().map(|r| r.to_string()).collect();
        eprintln!("explain: {}: {}", plan.describe(*node), text.join("; "));
    }
}

/// `gobuildr explain`: why each action of the request would run, without
/// running anything.
pub fn explain(settings: &Settings) -> Result<(), Failure> {
    let Prepared {
        ws,
        cache,
        toolchain,
        plan,
        flags,
        ..
    } = prepare(settings, Instant::now())?;
    let records = schedule::dry_run(&plan, &toolchain.id, &cache);
    let history = History::new(&cache, &ws.root);
    let reasons =
        history.explain_and_record(&plan, &ws.root, &toolchain, &flags.tags, &records, false);
    let cached = records
        .iter()
        .filter(|r| matches!(r.outcome, schedule::Outcome::Cached))
        .count();
    print_reasons(&plan, &reasons, cached);
    let _ = cache.stats().save();
    Ok(())
}
