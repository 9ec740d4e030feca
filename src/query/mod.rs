//! `gobuildr query`'s language and outputs: a Bazel-style query language
//! ([`lang`]) evaluated over package graphs, one per build context
//! ([`eval`]), and the graphs as text, data and a picture ([`render`]).
//! Nothing here runs go list: the command supplies the graphs.

pub mod diff;
pub mod eval;
pub mod lang;
pub mod render;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::rc::Rc;

use crate::discover::{self, PackageGraph};
use eval::{Graph, ModuleRef, Package};

/// What the outputs show of a package besides its place in the graph.
#[derive(Debug, Clone, Default)]
pub struct Weight {
    /// Source files compiled or embedded, and their bytes.
    pub files: u64,
    pub bytes: u64,
    /// The compiled archive's size, when the action cache has it.
    pub object_bytes: Option<u64>,
}

/// One context's graph as the evaluator walks it, with each package's
/// weight and the reverse edges the counts need.
pub struct Snapshot {
    pub graph: Rc<Graph>,
    pub weights: Vec<Weight>,
    by_path: HashMap<String, usize>,
    reverse: Vec<Vec<usize>>,
}

impl Snapshot {
    /// The evaluator's view of a discovered graph; `root` is the workspace
    /// root, which labels are relative to.
    pub fn new(root: &Path, g: &PackageGraph) -> Snapshot {
        // A directory whose files this platform excludes is not built
        // (go's `./...` drops it too).
        let built: Vec<&discover::Package> = g
            .packages
            .values()
            .filter(|p| !p.excluded_by_constraints())
            .collect();
        let by_path: HashMap<String, usize> = built
            .iter()
            .enumerate()
            .map(|(i, p)| (p.import_path.clone(), i))
            .collect();
        let mut packages = Vec::with_capacity(by_path.len());
        let mut weights = Vec::with_capacity(by_path.len());
        let mut reverse = vec![Vec::new(); by_path.len()];
        // The directory labels of the packages tests are built for.
        let labels: HashMap<&str, String> = built
            .iter()
            .filter(|p| !is_test(p))
            .filter_map(|p| Some((p.import_path.as_str(), dir_label(root, p)?)))
            .collect();
        let deps: Vec<Vec<usize>> = built
            .iter()
            .map(|p| {
                p.deps
                    .iter()
                    .filter_map(|d| by_path.get(d).copied())
                    .collect()
            })
            .collect();
        for (i, p) in built.into_iter().enumerate() {
            // "C" and packages go list could not find are not in the graph.
            let imports: Vec<usize> = p
                .imports
                .iter()
                .filter_map(|imp| by_path.get(imp).copied())
                .collect();
            for &j in &imports {
                reverse[j].push(i);
            }
            packages.push(Package {
                imports,
                ..package(root, p, &labels)
            });
            weights.push(weight(p));
        }
        add_linker_deps(&mut packages, &deps, &mut reverse);
        Snapshot {
            graph: Rc::new(Graph { packages }),
            weights,
            by_path,
            reverse,
        }
    }

    pub fn index(&self, import_path: &str) -> Option<usize> {
        self.by_path.get(import_path).copied()
    }

    /// How many packages `i` imports, directly or not.
    pub fn reaches(&self, i: usize) -> usize {
        let forward = |k: usize| self.graph.packages[k].imports.as_slice();
        reach_count(i, forward)
    }

    /// How many packages of the graph import `i`, directly or not.
    pub fn reached_by(&self, i: usize) -> usize {
        reach_count(i, |k| self.reverse[k].as_slice())
    }
}

/// The packages reachable from `start` over `edges`, not counting itself.
fn reach_count<'a>(start: usize, edges: impl Fn(usize) -> &'a [usize]) -> usize {
    reach_set(start, edges).len() - 1
}

/// `start` and the packages reachable from it over `edges`.
fn reach_set<'a>(start: usize, edges: impl Fn(usize) -> &'a [usize]) -> HashSet<usize> {
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        for &j in edges(i) {
            if seen.insert(j) {
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Gives each main package an edge to what the linker adds without an
/// import (runtime; runtime/cgo, runtime/race when built so): go list
/// counts them in a main package's Deps, and `deps(X)` must agree. Only
/// the topmost of them get an edge, so paths stay as short as they are.
fn add_linker_deps(packages: &mut [Package], deps: &[Vec<usize>], reverse: &mut [Vec<usize>]) {
    for i in 0..packages.len() {
        if !packages[i].main {
            continue;
        }
        let reached = reach_set(i, |k| packages[k].imports.as_slice());
        let missing: Vec<usize> = deps[i]
            .iter()
            .copied()
            .filter(|d| !reached.contains(d))
            .collect();
        let below: HashSet<usize> = missing
            .iter()
            .flat_map(|&d| {
                let mut r = reach_set(d, |k| packages[k].imports.as_slice());
                r.remove(&d);
                r
            })
            .collect();
        for d in missing.into_iter().filter(|d| !below.contains(d)) {
            packages[i].imports.push(d);
            reverse[d].push(i);
        }
    }
}

/// A package without its imports; `labels` has the directory label of
/// each workspace package by import path (for test packages' labels).
fn package(root: &Path, p: &discover::Package, labels: &HashMap<&str, String>) -> Package {
    let dir = dir_label(root, p);
    let test = is_test(p);
    let label = match &dir {
        Some(d) if test => Some(test_label(d, p, labels)),
        _ => dir.clone(),
    };
    Package {
        import_path: p.import_path.clone(),
        label,
        dir,
        module: p.module.as_ref().filter(|_| !p.standard).map(module_ref),
        std: p.standard,
        main: p.is_main(),
        test,
        imports: Vec::new(),
    }
}

/// A test variant, external test or test main (`--tests`' go list -test).
fn is_test(p: &discover::Package) -> bool {
    !p.for_test.is_empty() || p.import_path.ends_with(".test")
}

/// `//dir` for a package of the workspace.
fn dir_label(root: &Path, p: &discover::Package) -> Option<String> {
    let main_module = p.module.as_ref().is_some_and(|m| m.main);
    // Only the workspace's own packages have labels: a replacement inside
    // the tree is still a dependency.
    (main_module && !p.standard)
        .then(|| p.dir.strip_prefix(root).ok())
        .flatten()
        .map(|rel| format!("//{}", rel.to_string_lossy().replace('\\', "/")))
}

/// A test package's label, in go list's form with labels for import
/// paths: `//a [//a.test]` (a built for its test), `//a_test [//a.test]`
/// (its external test), `//a.test` (the test main), `//b [//a.test]` (b
/// built again for a's test).
fn test_label(dir: &str, p: &discover::Package, labels: &HashMap<&str, String>) -> String {
    let (own, bracket) = match p.import_path.split_once(" [") {
        Some((own, rest)) => (own, rest.strip_suffix(']')),
        None => (p.import_path.as_str(), None),
    };
    let external = !p.for_test.is_empty() && own == format!("{}_test", p.for_test);
    let suffix = match bracket {
        None => ".test",
        Some(_) if external => "_test",
        Some(_) => "",
    };
    let Some(test_main) = bracket else {
        return format!("{dir}{suffix}");
    };
    let tested = test_main.strip_suffix(".test").unwrap_or(test_main);
    let of = labels.get(tested).map_or(tested, String::as_str);
    format!("{dir}{suffix} [{of}.test]")
}

fn module_ref(m: &discover::Module) -> ModuleRef {
    let version = |v: &str| (!v.is_empty()).then(|| v.to_string());
    ModuleRef {
        path: m.path.clone(),
        version: version(&m.version),
        replace: m.replace.as_ref().map(|r| match version(&r.version) {
            Some(v) => format!("{}@{v}", r.path),
            None => r.path.clone(),
        }),
        main: m.main,
    }
}

/// The files go compiles or embeds for the package, and their size.
fn weight(p: &discover::Package) -> Weight {
    let files = [&p.go_files, &p.s_files, &p.h_files, &p.embed_files];
    let names: Vec<&String> = files.into_iter().flatten().collect();
    let bytes = names
        .iter()
        .filter_map(|f| std::fs::metadata(p.dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    Weight {
        files: names.len() as u64,
        bytes,
        object_bytes: None,
    }
}
