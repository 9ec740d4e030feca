//! A query's result as text, data or a picture. Every format is computed
//! from the result and the graphs of the contexts it was found in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{json, Value as Json};

use super::eval::{Context, ModuleSet, Package, PackageSet, Value};
use super::Snapshot;

/// The graphs a query loaded, by context.
pub type Snapshots = BTreeMap<Context, Snapshot>;

/// `--output`'s formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Label,
    Json,
    Dot,
    Mermaid,
    Html,
}

impl Format {
    pub const NAMES: [&'static str; 5] = ["label", "json", "dot", "mermaid", "html"];

    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "label" => Format::Label,
            "json" => Format::Json,
            "dot" => Format::Dot,
            "mermaid" => Format::Mermaid,
            "html" => Format::Html,
            _ => return None,
        })
    }
}

/// The viewer, with its one placeholder for the data.
const TEMPLATE: &str = include_str!("graph.html");
const PLACEHOLDER: &str = "const DATA = /*GOBUILDR_DATA*/null;";

/// The result in `format`; an error only for modules in a graph format.
pub fn render(
    format: Format,
    query: &str,
    value: &Value,
    snaps: &Snapshots,
) -> Result<String, String> {
    match (format, value) {
        (Format::Label, Value::Packages(set)) => Ok(labels(set, snaps)),
        (Format::Label, Value::Modules(m)) => Ok(module_lines(m)),
        (Format::Json, Value::Packages(set)) => Ok(pretty(&package_objects(set, snaps))),
        (Format::Json, Value::Modules(m)) => Ok(pretty(&module_objects(m))),
        (Format::Dot, Value::Packages(set)) => Ok(dot(set, snaps)),
        (Format::Mermaid, Value::Packages(set)) => Ok(mermaid(set, snaps)),
        (Format::Html, Value::Packages(set)) => Ok(html(query, set, snaps)),
        (_, Value::Modules(_)) => Err(
            "modules(...) gives modules, not a package graph: use --output label or json".into(),
        ),
    }
}

fn pretty(v: &Json) -> String {
    // Serialising a Value cannot fail.
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// A package as found in one of its contexts.
fn find<'a>(snaps: &'a Snapshots, ctx: &Context, path: &str) -> Option<(&'a Snapshot, usize)> {
    let snap = snaps.get(ctx)?;
    Some((snap, snap.index(path)?))
}

fn entry(snap: &Snapshot, i: usize) -> &Package {
    &snap.graph.packages[i]
}

/// The package's label, else its import path.
fn display(set: &PackageSet, snaps: &Snapshots, path: &str) -> String {
    set.packages
        .get(path)
        .into_iter()
        .flatten()
        .find_map(|ctx| find(snaps, ctx, path))
        .and_then(|(s, i)| entry(s, i).label.clone())
        .unwrap_or_else(|| path.to_string())
}

/// One name a line: `order` (a somepath) first, the rest sorted.
fn labels(set: &PackageSet, snaps: &Snapshots) -> String {
    let ordered: BTreeSet<&String> = set.order.iter().collect();
    let mut rest: Vec<String> = set
        .packages
        .keys()
        .filter(|p| !ordered.contains(p))
        .map(|p| display(set, snaps, p))
        .collect();
    rest.sort();
    let first = set.order.iter().map(|p| display(set, snaps, p));
    first.chain(rest).map(|l| l + "\n").collect()
}

/// `path@version`, and ` => replacement` when replaced.
fn module_lines(modules: &ModuleSet) -> String {
    modules
        .values()
        .map(|(m, _)| match &m.replace {
            Some(r) => format!("{} => {r}\n", m.key()),
            None => format!("{}\n", m.key()),
        })
        .collect()
}

/// The module a package belongs to as the outputs name it.
fn module_name(p: &Package) -> String {
    match &p.module {
        _ if p.std => "std".to_string(),
        Some(m) => m.key(),
        None => String::new(),
    }
}

/// One object per package and context.
fn package_objects(set: &PackageSet, snaps: &Snapshots) -> Json {
    let mut out = Vec::new();
    for path in set.in_order() {
        for ctx in &set.packages[path] {
            let Some((snap, i)) = find(snaps, ctx, path) else {
                continue;
            };
            let p = entry(snap, i);
            let w = &snap.weights[i];
            out.push(json!({
                "import_path": p.import_path,
                "label": p.label,
                "module": module_name(p),
                "platform": ctx.platform,
                "tags": ctx.tags,
                "std": p.std,
                "main": p.main,
                "files": w.files,
                "bytes": w.bytes,
                "object_bytes": w.object_bytes,
                "reaches": snap.reaches(i),
                "reached_by": snap.reached_by(i),
            }));
        }
    }
    Json::Array(out)
}

/// One object per module and context.
fn module_objects(modules: &ModuleSet) -> Json {
    let mut out = Vec::new();
    for (key, (m, contexts)) in modules {
        for ctx in contexts {
            out.push(json!({
                "module": key,
                "path": m.path,
                "version": m.version,
                "replace": m.replace,
                "main": m.main,
                "platform": ctx.platform,
                "tags": ctx.tags,
            }));
        }
    }
    Json::Array(out)
}

/// The set's packages found in `ctx` (by index) and the imports among them.
fn induced(set: &PackageSet, ctx: &Context, snap: &Snapshot) -> (Vec<usize>, Vec<(usize, usize)>) {
    let nodes: Vec<usize> = set
        .packages
        .iter()
        .filter(|(_, cs)| cs.contains(ctx))
        .filter_map(|(p, _)| snap.index(p))
        .collect();
    let inside: BTreeSet<usize> = nodes.iter().copied().collect();
    let edges = nodes
        .iter()
        .flat_map(|&i| entry(snap, i).imports.iter().map(move |&j| (i, j)))
        .filter(|(_, j)| inside.contains(j))
        .collect();
    (nodes, edges)
}

/// Every package's name and the union of each context's induced edges.
fn names_and_edges(set: &PackageSet, snaps: &Snapshots) -> (Vec<String>, BTreeSet<(usize, usize)>) {
    let names: Vec<String> = set
        .in_order()
        .iter()
        .map(|p| display(set, snaps, p))
        .collect();
    let at: BTreeMap<&str, usize> = set.in_order().into_iter().zip(0..).collect();
    let mut edges = BTreeSet::new();
    for (ctx, snap) in snaps {
        let (_, pairs) = induced(set, ctx, snap);
        for (a, b) in pairs {
            let name = |i: usize| at.get(entry(snap, i).import_path.as_str()).copied();
            if let (Some(a), Some(b)) = (name(a), name(b)) {
                edges.insert((a, b));
            }
        }
    }
    (names, edges)
}

fn dot(set: &PackageSet, snaps: &Snapshots) -> String {
    let (names, edges) = names_and_edges(set, snaps);
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph gobuildr {\n  node [shape=box];\n");
    for n in &names {
        let _ = writeln!(out, "  {};", q(n));
    }
    for (a, b) in edges {
        let _ = writeln!(out, "  {} -> {};", q(&names[a]), q(&names[b]));
    }
    out + "}\n"
}

fn mermaid(set: &PackageSet, snaps: &Snapshots) -> String {
    let (names, edges) = names_and_edges(set, snaps);
    let mut out = String::from("graph LR\n");
    for (i, n) in names.iter().enumerate() {
        let _ = writeln!(out, "  n{i}[\"{}\"]", n.replace('"', "#quot;"));
    }
    for (a, b) in edges {
        let _ = writeln!(out, "  n{a} --> n{b}");
    }
    out
}

/// The viewer with the induced graph of every context of the result.
fn html(query: &str, set: &PackageSet, snaps: &Snapshots) -> String {
    let platforms: Vec<Json> = snaps
        .iter()
        .filter(|(ctx, _)| set.packages.values().any(|cs| cs.contains(ctx)))
        .map(|(ctx, snap)| viewer_platform(set, ctx, snap))
        .collect();
    let data = json!({"query": query, "platforms": platforms});
    // The data sits in a <script>: no `</` may end it early.
    let data = data.to_string().replace("</", "<\\/");
    TEMPLATE.replacen(PLACEHOLDER, &format!("const DATA = {data};"), 1)
}

fn viewer_platform(set: &PackageSet, ctx: &Context, snap: &Snapshot) -> Json {
    let (nodes, edges) = induced(set, ctx, snap);
    let id = |i: usize| entry(snap, i).import_path.clone();
    let nodes: Vec<Json> = nodes
        .iter()
        .map(|&i| {
            let p = entry(snap, i);
            json!({
                "id": p.import_path,
                "label": p.label.clone().unwrap_or_else(|| p.import_path.clone()),
                "module": module_name(p),
                "std": p.std,
                "main": p.main,
                "files": snap.weights[i].files,
                "bytes": snap.weights[i].bytes,
                "object_bytes": snap.weights[i].object_bytes,
            })
        })
        .collect();
    let edges: Vec<Json> = edges.iter().map(|&(a, b)| json!([id(a), id(b)])).collect();
    json!({"platform": ctx.platform, "tags": ctx.tags, "nodes": nodes, "edges": edges})
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::{render, Format, Snapshots};
    use crate::discover::{Module, Package, PackageGraph};
    use crate::query::eval::{evaluate, Context, Graph, Universe, Value};
    use crate::query::{lang, Snapshot};
    use crate::rules::Platform;

    /// //cmd/app → //lib → fmt, in /ws.
    fn graph() -> PackageGraph {
        let main = Module {
            path: "m".into(),
            main: true,
            ..Module::default()
        };
        let pkg = |path: &str, dir: &str, imports: &[&str]| Package {
            import_path: path.into(),
            dir: PathBuf::from(dir),
            name: if path.ends_with("app") { "main" } else { "x" }.into(),
            standard: path == "fmt",
            module: (path != "fmt").then(|| main.clone()),
            imports: imports.iter().map(|s| s.to_string()).collect(),
            ..Package::default()
        };
        let packages = [
            pkg("m/cmd/app", "/ws/cmd/app", &["m/lib"]),
            pkg("m/lib", "/ws/lib", &["fmt"]),
            pkg("fmt", "/goroot/src/fmt", &[]),
        ];
        PackageGraph {
            platform: Platform::new("linux", "amd64", None),
            order: packages.iter().map(|p| p.import_path.clone()).collect(),
            packages: packages
                .into_iter()
                .map(|p| (p.import_path.clone(), p))
                .collect(),
        }
    }

    struct One(Snapshots);

    impl Universe for One {
        fn graph(&mut self, ctx: &Context) -> Result<std::rc::Rc<Graph>, String> {
            let snap = Snapshot::new(Path::new("/ws"), &graph());
            let g = std::rc::Rc::clone(&snap.graph);
            self.0.insert(ctx.clone(), snap);
            Ok(g)
        }
    }

    fn run(query: &str, format: Format) -> String {
        let mut u = One(BTreeMap::new());
        let expr = lang::parse(query).unwrap();
        let ctx = Context::new("linux/amd64", Vec::<String>::new());
        let value: Value = evaluate(&expr, &mut u, &[ctx]).unwrap();
        render(format, query, &value, &u.0).unwrap()
    }

    #[test]
    fn labels_sorted_and_paths_in_order() {
        assert_eq!(
            run("deps(//cmd/app)", Format::Label),
            "//cmd/app\n//lib\nfmt\n"
        );
        assert_eq!(
            run("somepath(//cmd/app, fmt)", Format::Label),
            "//cmd/app\n//lib\nfmt\n"
        );
        assert_eq!(
            run("rdeps(//..., fmt) - fmt", Format::Label),
            "//cmd/app\n//lib\n"
        );
    }

    #[test]
    fn html_data_cannot_close_the_script() {
        let page = run("deps(//lib) - filter('</script>', std)", Format::Html);
        assert!(!page.contains("GOBUILDR_DATA"));
        assert!(page.contains(r#"filter('<\/script>', std)"#));
        assert_eq!(
            page.matches("</script>").count(),
            super::TEMPLATE.matches("</script>").count()
        );
        assert!(page.contains(r#""edges":[["m/lib","fmt"]]"#), "{page}");
    }
}
