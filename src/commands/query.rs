//! `gobuildr query`: a query over the package graphs as go list gives them,
//! one per platform and tags, printed as labels, JSON, DOT, Mermaid or an
//! interactive page.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use crate::cli::args::QueryArgs;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::{prepare, GraphSource};
use crate::plan::ActionKind;
use crate::query::eval::{self, Context, EvalError, Graph, Universe};
use crate::query::render::{render, Format, Snapshots};
use crate::query::{diff, lang, Snapshot};
use crate::schedule;

pub fn query(settings: &Settings, q: &QueryArgs) -> Result<(), Failure> {
    if let [old, new] = q.diff.as_slice() {
        let text = diff::diff_files(old, new).map_err(Failure::Usage)?;
        return emit(q.out_file.as_deref(), &text);
    }
    let Some(source) = q.expr.as_deref() else {
        return Err(Failure::Usage(
            "query: give a query or --diff OLD NEW".into(),
        ));
    };
    let format = Format::parse(&q.output)
        .ok_or_else(|| Failure::Usage(format!("unknown --output {:?}", q.output)))?;
    let expr = lang::parse(source)
        .map_err(|e| Failure::Usage(format!("bad query:\n{}", e.render(source))))?;
    let graphs = GraphSource::open(settings)?;
    let tags = graphs.tags().to_vec();
    let contexts: Vec<Context> = graphs
        .platforms()
        .iter()
        .map(|p| Context::new(&p.to_string(), tags.iter().cloned()))
        .collect();
    let mut loader = Loader {
        graphs: &graphs,
        snaps: Snapshots::new(),
        failure: None,
    };
    let value = eval::evaluate(&expr, &mut loader, &contexts).map_err(|e| loader.sort(e))?;
    if matches!(format, Format::Json | Format::Html) {
        let build = Context::new("", tags);
        add_object_sizes(&mut loader.snaps, &build.tags, &object_sizes(settings));
    }
    let text = render(format, source, &value, &loader.snaps).map_err(Failure::Usage)?;
    emit(q.out_file.as_deref(), &text)
}

/// Loads each context's graph through discovery, keeping it for the
/// outputs.
struct Loader<'a, 's> {
    graphs: &'a GraphSource<'s>,
    snaps: Snapshots,
    /// Why the last load failed, so the exit code says whose fault it was.
    failure: Option<Failure>,
}

impl Universe for Loader<'_, '_> {
    fn graph(&mut self, ctx: &Context) -> Result<Rc<Graph>, String> {
        match self.graphs.graph(&ctx.platform, &ctx.tags) {
            Ok(g) => {
                let snap = Snapshot::new(self.graphs.root(), &g);
                let graph = Rc::clone(&snap.graph);
                self.snaps.insert(ctx.clone(), snap);
                Ok(graph)
            }
            Err(f) => {
                let message = f.to_string();
                self.failure = Some(f);
                Err(message)
            }
        }
    }
}

impl Loader<'_, '_> {
    /// An evaluation error as a failure: a failed load keeps its kind (a
    /// bad platform is the user's, a failing go list the build's).
    fn sort(&mut self, e: EvalError) -> Failure {
        let message = e.to_string();
        match (&e, self.failure.take()) {
            (EvalError::Load { .. }, Some(Failure::Build(_))) => Failure::Build(message),
            (EvalError::Load { .. }, Some(Failure::Environment(_))) => {
                Failure::Environment(message)
            }
            (EvalError::Load { .. }, Some(Failure::Interrupted)) => Failure::Interrupted,
            _ => Failure::Usage(message),
        }
    }
}

/// The compiled archive of each (platform, package) a build of the
/// request would find in the action cache: a dry run of the build's plan.
/// Empty when the request cannot be planned (the sizes are then unknown,
/// and the query's answer stands).
fn object_sizes(settings: &Settings) -> BTreeMap<(String, String), u64> {
    let Ok(p) = prepare(settings, Instant::now()) else {
        return BTreeMap::new();
    };
    let records = schedule::dry_run(&p.plan, &p.toolchain.id, &p.cache);
    let mut sizes = BTreeMap::new();
    for node in p.plan.graph.node_indices() {
        let a = &p.plan.graph[node];
        // pack appends assembly objects to the compiled archive: the larger
        // one is what links.
        if !matches!(a.kind, ActionKind::Compile | ActionKind::Pack) {
            continue;
        }
        let outputs = records[node.index()].outputs.iter();
        let archive = outputs
            .filter(|o| o.name.ends_with(".a"))
            .map(|o| o.size)
            .max();
        if let Some(size) = archive {
            let e = sizes
                .entry((a.platform.to_string(), a.package.clone()))
                .or_insert(0);
            *e = size.max(*e);
        }
    }
    sizes
}

/// Sets the sizes on the graphs of the contexts the build plans: the
/// command line's platforms with exactly its tags.
fn add_object_sizes(
    snaps: &mut Snapshots,
    tags: &[String],
    sizes: &BTreeMap<(String, String), u64>,
) {
    for (ctx, snap) in snaps.iter_mut().filter(|(c, _)| c.tags == tags) {
        for ((platform, package), size) in sizes {
            match snap.index(package) {
                Some(i) if *platform == ctx.platform => snap.weights[i].object_bytes = Some(*size),
                _ => {}
            }
        }
    }
}

/// Writes the output to `-o FILE`, else to stdout.
fn emit(file: Option<&Path>, text: &str) -> Result<(), Failure> {
    if let Some(f) = file {
        // A plain write: the page or snapshot is the user's file, with
        // their umask.
        return std::fs::write(f, text)
            .map_err(|e| Failure::Environment(format!("writing {}: {e}", f.display())));
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A reader that stopped early (| head) is not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Environment(format!("writing the output: {e}")))
        }
        _ => Ok(()),
    }
}
