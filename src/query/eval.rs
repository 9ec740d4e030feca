//! Evaluation of parsed queries against package graphs, one graph per
//! build context.
//!
//! - Graph walks (`deps`, `rdeps`, `somepath`, `allpaths`/`reach`, `shared`,
//!   `cut`) and words run on the current context's graph, skip input
//!   packages that graph lacks, and tag results with the current context.
//! - Filters (`kind`, `filter`) and `modules` keep each package's own
//!   contexts, looking it up in those contexts' graphs, so they also work on
//!   the result of `platform(...)`/`tags(...)`.
//! - `cut` considers every `main` package, test mains included.
//! - Walks visit imports in import-path order, so results are deterministic.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use super::lang::{Expr, Kind, SetOp};

/// A build context: where a graph was loaded.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Context {
    /// `GOOS/GOARCH`.
    pub platform: String,
    /// Sorted and deduplicated, so equal contexts compare equal.
    pub tags: Vec<String>,
}

impl Context {
    pub fn new<T: Into<String>>(platform: &str, tags: impl IntoIterator<Item = T>) -> Context {
        Context {
            platform: platform.to_string(),
            tags: Vec::new(),
        }
        .with_tags(tags)
    }

    fn with_platform(&self, platform: &str) -> Context {
        Context {
            platform: platform.to_string(),
            tags: self.tags.clone(),
        }
    }

    fn with_tags<T: Into<String>>(&self, tags: impl IntoIterator<Item = T>) -> Context {
        let mut all = self.tags.clone();
        all.extend(tags.into_iter().map(Into::into));
        all.sort();
        all.dedup();
        Context {
            platform: self.platform.clone(),
            tags: all,
        }
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.platform)?;
        if !self.tags.is_empty() {
            write!(f, " [{}]", self.tags.join(","))?;
        }
        Ok(())
    }
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ModuleRef {
    pub path: String,
    pub version: Option<String>,
    pub replace: Option<String>,
    pub main: bool,
}

impl ModuleRef {
    /// `path@version`, or just `path` for an unversioned (main) module.
    pub fn key(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.path),
            None => self.path.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Package {
    pub import_path: String,
    /// `//cmd/app` for main-module packages; a test package's says which
    /// test it is (`//cmd/app [//cmd/app.test]`).
    pub label: Option<String>,
    /// The label of the package's directory: `//dir/...` and `//...` match
    /// on it, so they take in the directory's test packages too.
    pub dir: Option<String>,
    pub module: Option<ModuleRef>,
    pub std: bool,
    /// `package main`.
    pub main: bool,
    /// A test variant or test main.
    pub test: bool,
    /// Indices into `Graph::packages`.
    pub imports: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub packages: Vec<Package>,
}

/// Supplies graphs; the tool loads one per context on demand (it runs `go list`).
pub trait Universe {
    fn graph(&mut self, ctx: &Context) -> Result<Rc<Graph>, String>;
}

pub type Contexts = BTreeSet<Context>;

/// Packages by import path, with the contexts each was found in.
///
/// `order` is a printing order: `somepath` fills it with the path from A to
/// B; `+` appends the right side's order to the left's, `-` and `^` keep the
/// left side's order minus dropped entries, `platform`/`tags` pass it
/// through, and every other function leaves it empty. Use [`in_order`].
///
/// [`in_order`]: PackageSet::in_order
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PackageSet {
    pub packages: BTreeMap<String, Contexts>,
    pub order: Vec<String>,
}

impl PackageSet {
    /// The import paths in `order` first, then the rest sorted.
    pub fn in_order(&self) -> Vec<&str> {
        let ordered: BTreeSet<&str> = self.order.iter().map(String::as_str).collect();
        let rest = self.packages.keys().map(String::as_str);
        let rest = rest.filter(|p| !ordered.contains(p));
        self.order.iter().map(String::as_str).chain(rest).collect()
    }

    fn apply(mut self, op: SetOp, other: PackageSet) -> PackageSet {
        let mut order = std::mem::take(&mut self.order);
        if op == SetOp::Union {
            let seen: BTreeSet<String> = order.iter().cloned().collect();
            order.extend(other.order.into_iter().filter(|p| !seen.contains(p)));
        }
        let packages = combine_maps(op, self.packages, other.packages);
        order.retain(|p| packages.contains_key(p));
        PackageSet { packages, order }
    }
}

/// Modules by `path@version`, with the contexts their packages were found in.
pub type ModuleSet = BTreeMap<String, (ModuleRef, Contexts)>;

#[derive(Clone, PartialEq, Debug)]
pub enum Value {
    Packages(PackageSet),
    Modules(ModuleSet),
}

#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum EvalError {
    #[error("no package matches \"{0}\"")]
    NoMatch(String),
    #[error("operator '{0}' cannot combine packages with modules")]
    Mixed(SetOp),
    #[error("{0}() takes packages, not modules")]
    NeedsPackages(&'static str),
    #[error("loading the graph for {context}: {message}")]
    Load { context: Context, message: String },
}

/// What set operators need of an entry: its contexts.
trait Tagged {
    fn contexts(&mut self) -> &mut Contexts;
    fn into_contexts(self) -> Contexts;
}

impl Tagged for Contexts {
    fn contexts(&mut self) -> &mut Contexts {
        self
    }
    fn into_contexts(self) -> Contexts {
        self
    }
}

impl Tagged for (ModuleRef, Contexts) {
    fn contexts(&mut self) -> &mut Contexts {
        &mut self.1
    }
    fn into_contexts(self) -> Contexts {
        self.1
    }
}

/// Set operators compare keys only; contexts of kept keys are unioned,
/// except for `-`, which keeps the left side's.
fn combine_maps<T: Tagged>(
    op: SetOp,
    mut a: BTreeMap<String, T>,
    b: BTreeMap<String, T>,
) -> BTreeMap<String, T> {
    match op {
        SetOp::Except => a.retain(|k, _| !b.contains_key(k)),
        SetOp::Intersect => a.retain(|k, _| b.contains_key(k)),
        SetOp::Union => {}
    }
    if op == SetOp::Except {
        return a;
    }
    for (key, value) in b {
        match a.entry(key) {
            Entry::Occupied(mut e) => e.get_mut().contexts().extend(value.into_contexts()),
            Entry::Vacant(e) if op == SetOp::Union => {
                e.insert(value);
            }
            Entry::Vacant(_) => {}
        }
    }
    a
}

fn combine(op: SetOp, a: Value, b: Value) -> Result<Value, EvalError> {
    match (a, b) {
        (Value::Packages(a), Value::Packages(b)) => Ok(Value::Packages(a.apply(op, b))),
        (Value::Modules(a), Value::Modules(b)) => Ok(Value::Modules(combine_maps(op, a, b))),
        _ => Err(EvalError::Mixed(op)),
    }
}

/// Evaluates `expr` once per context and unions the results.
///
/// A word is an error only if it matched nothing in every context it was
/// evaluated in, so `golang.org/x/sys/windows` works across
/// `linux/amd64,windows/amd64`. No contexts give an empty package set.
pub fn evaluate(
    expr: &Expr,
    universe: &mut dyn Universe,
    contexts: &[Context],
) -> Result<Value, EvalError> {
    let mut evaluator = Evaluator {
        universe,
        graphs: HashMap::new(),
        words: BTreeMap::new(),
    };
    let mut result = None;
    for ctx in contexts {
        let value = evaluator.eval(expr, ctx)?;
        result = Some(match result.take() {
            None => value,
            Some(acc) => combine(SetOp::Union, acc, value)?,
        });
    }
    match evaluator.words.into_iter().find(|(_, hit)| !hit) {
        Some((word, _)) => Err(EvalError::NoMatch(word)),
        None => Ok(result.unwrap_or_else(|| Value::Packages(PackageSet::default()))),
    }
}

/// A graph with the indexes the walks need.
struct Loaded {
    graph: Rc<Graph>,
    by_path: HashMap<String, usize>,
    /// Imports sorted by import path, so walks are deterministic.
    forward: Vec<Vec<usize>>,
    reverse: Vec<Vec<usize>>,
}

impl Loaded {
    fn new(graph: Rc<Graph>) -> Result<Loaded, String> {
        let n = graph.packages.len();
        let mut by_path = HashMap::new();
        let mut forward = Vec::with_capacity(n);
        let mut reverse = vec![Vec::new(); n];
        for (i, package) in graph.packages.iter().enumerate() {
            by_path.entry(package.import_path.clone()).or_insert(i);
            if let Some(bad) = package.imports.iter().find(|&&j| j >= n) {
                return Err(format!(
                    "{} imports missing package #{bad}",
                    package.import_path
                ));
            }
            let mut imports = package.imports.clone();
            imports.sort_by(|&a, &b| {
                graph.packages[a]
                    .import_path
                    .cmp(&graph.packages[b].import_path)
            });
            imports.dedup();
            for &j in &imports {
                reverse[j].push(i);
            }
            forward.push(imports);
        }
        Ok(Loaded {
            graph,
            by_path,
            forward,
            reverse,
        })
    }

    fn package(&self, path: &str) -> Option<&Package> {
        self.by_path.get(path).map(|&i| &self.graph.packages[i])
    }

    /// Indices of the set's packages that this graph has, in import-path
    /// order; the others are not in this context and are skipped.
    fn indices(&self, set: &PackageSet) -> Vec<usize> {
        let found = set.packages.keys().filter_map(|p| self.by_path.get(p));
        found.copied().collect()
    }

    fn tagged(&self, mask: &[bool], ctx: &Context) -> PackageSet {
        let mut set = PackageSet::default();
        for (package, _) in self.graph.packages.iter().zip(mask).filter(|(_, m)| **m) {
            let contexts = set.packages.entry(package.import_path.clone()).or_default();
            contexts.insert(ctx.clone());
        }
        set
    }

    fn deps(&self, roots: &[usize], depth: Option<u32>) -> Vec<bool> {
        walk(&self.forward, roots, depth, |_| true)
    }

    /// Packages of `deps(universe)` that reach `targets` within `depth` edges.
    fn rdeps(&self, universe: &[usize], targets: &[usize], depth: Option<u32>) -> Vec<bool> {
        let within = self.deps(universe, None);
        walk(&self.reverse, targets, depth, |i| within[i])
    }

    fn allpaths(&self, from: &[usize], to: &[usize]) -> Vec<bool> {
        let down = self.deps(from, None);
        let up = walk(&self.reverse, to, None, |_| true);
        down.iter().zip(&up).map(|(a, b)| *a && *b).collect()
    }

    fn shared(&self, a: &[usize], b: &[usize]) -> Vec<bool> {
        let (a, b) = (self.deps(a, None), self.deps(b, None));
        a.iter().zip(&b).map(|(a, b)| *a && *b).collect()
    }

    /// A shortest path from any of `from` to any of `to`, by BFS that tries
    /// sources and imports in import-path order; empty if there is none.
    fn somepath(&self, from: &[usize], to: &[usize]) -> Vec<usize> {
        let n = self.forward.len();
        let target = mask_of(n, to);
        let mut parent: Vec<Option<usize>> = vec![None; n];
        let mut seen = mask_of(n, from);
        let mut queue: VecDeque<usize> = from.iter().copied().collect();
        while let Some(i) = queue.pop_front() {
            if target[i] {
                let (mut path, mut at) = (vec![i], i);
                while let Some(p) = parent[at] {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return path;
            }
            for &j in &self.forward[i] {
                if !seen[j] {
                    seen[j] = true;
                    parent[j] = Some(i);
                    queue.push_back(j);
                }
            }
        }
        Vec::new()
    }

    /// For each main package reaching any of `removed`: what it would lose.
    fn cut(&self, removed: &[usize]) -> Vec<bool> {
        let n = self.forward.len();
        let gone = mask_of(n, removed);
        let mut out = vec![false; n];
        let mains = (0..n).filter(|&i| self.graph.packages[i].main);
        for main in mains {
            let all = self.deps(&[main], None);
            if !removed.iter().any(|&r| all[r]) {
                continue;
            }
            let kept = walk(&self.forward, &[main], None, |i| !gone[i]);
            for i in (0..n).filter(|&i| all[i] && !kept[i]) {
                out[i] = true;
            }
        }
        out
    }
}

fn mask_of(n: usize, indices: &[usize]) -> Vec<bool> {
    let mut mask = vec![false; n];
    for &i in indices {
        mask[i] = true;
    }
    mask
}

/// Breadth-first reach over `edges` from `roots`, through packages `allow`
/// accepts, at most `depth` edges deep. BFS reaches each package first by a
/// shortest path, so the depth cut is exact.
fn walk(
    edges: &[Vec<usize>],
    roots: &[usize],
    depth: Option<u32>,
    allow: impl Fn(usize) -> bool,
) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut queue = VecDeque::new();
    for &root in roots.iter().filter(|&&r| allow(r)) {
        if !seen[root] {
            seen[root] = true;
            queue.push_back((root, 0));
        }
    }
    while let Some((i, d)) = queue.pop_front() {
        if depth.is_some_and(|limit| d >= limit) {
            continue;
        }
        for &j in &edges[i] {
            if allow(j) && !seen[j] {
                seen[j] = true;
                queue.push_back((j, d + 1));
            }
        }
    }
    seen
}

/// What a word denotes, after `./x` is read as `//x`.
enum Matcher<'a> {
    AllLabels,
    LabelTree(String),
    Label(String),
    Std,
    PathTree(&'a str),
    Path(&'a str),
}

impl<'a> Matcher<'a> {
    fn new(word: &'a str) -> Matcher<'a> {
        let label = match word.strip_prefix("./") {
            Some(rest) => Some(format!("//{rest}")),
            None => word.starts_with("//").then(|| word.to_string()),
        };
        match label {
            Some(l) if l == "//..." => Matcher::AllLabels,
            Some(l) => match l.strip_suffix("/...") {
                Some(base) => Matcher::LabelTree(base.to_string()),
                None => Matcher::Label(l),
            },
            None if word == "std" => Matcher::Std,
            None => match word.strip_suffix("/...") {
                Some(base) => Matcher::PathTree(base),
                None => Matcher::Path(word),
            },
        }
    }

    fn matches(&self, package: &Package) -> bool {
        let (label, dir) = (package.label.as_deref(), package.dir.as_deref());
        let path = package.import_path.as_str();
        match self {
            Matcher::AllLabels => dir.is_some(),
            Matcher::LabelTree(base) => dir.is_some_and(|d| under(d, base)),
            Matcher::Label(want) => label == Some(want.as_str()),
            Matcher::Std => package.std,
            Matcher::PathTree(base) => under(path, base),
            Matcher::Path(want) => path == *want,
        }
    }
}

/// `path` is `base` or below it.
fn under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn is_kind(kind: Kind, p: &Package) -> bool {
    let main_module = p.module.as_ref().is_some_and(|m| m.main);
    match kind {
        Kind::Main => p.main && !p.test,
        Kind::Test => p.test,
        Kind::Std => p.std,
        Kind::Module => !p.std && !p.test && p.module.is_some() && !main_module,
        Kind::Lib => !p.main && !p.test && main_module,
    }
}

struct Evaluator<'u> {
    universe: &'u mut dyn Universe,
    graphs: HashMap<Context, Rc<Loaded>>,
    /// Every word evaluated, and whether it matched in some context.
    words: BTreeMap<String, bool>,
}

impl Evaluator<'_> {
    /// Loads each context's graph once, however often the query needs it.
    fn load(&mut self, ctx: &Context) -> Result<Rc<Loaded>, EvalError> {
        if let Some(loaded) = self.graphs.get(ctx) {
            return Ok(Rc::clone(loaded));
        }
        let load_error = |message| EvalError::Load {
            context: ctx.clone(),
            message,
        };
        let graph = self.universe.graph(ctx).map_err(load_error)?;
        let loaded = Rc::new(Loaded::new(graph).map_err(load_error)?);
        self.graphs.insert(ctx.clone(), Rc::clone(&loaded));
        Ok(loaded)
    }

    fn eval(&mut self, expr: &Expr, ctx: &Context) -> Result<Value, EvalError> {
        let set = match expr {
            Expr::Word(word) => self.word(word, ctx)?,
            Expr::Set(op, a, b) => {
                let a = self.eval(a, ctx)?;
                return combine(*op, a, self.eval(b, ctx)?);
            }
            Expr::Platform(platform, x) => return self.eval(x, &ctx.with_platform(platform)),
            Expr::Tags(tags, x) => return self.eval(x, &ctx.with_tags(tags.iter().cloned())),
            Expr::Modules(x) => {
                let set = self.packages(x, ctx, "modules")?;
                return Ok(Value::Modules(self.modules(&set)?));
            }
            Expr::Kind(kind, x) => {
                let set = self.packages(x, ctx, "kind")?;
                self.kind(*kind, set)?
            }
            Expr::Filter(re, x) => {
                let mut set = self.packages(x, ctx, "filter")?;
                set.packages.retain(|path, _| re.0.is_match(path));
                set.order.retain(|path| re.0.is_match(path));
                set
            }
            Expr::Deps { of, depth } => self.unary(of, ctx, "deps", |g, x| g.deps(x, *depth))?,
            Expr::Cut(x) => self.unary(x, ctx, "cut", Loaded::cut)?,
            Expr::Rdeps {
                universe,
                of,
                depth,
            } => self.binary(universe, of, ctx, "rdeps", |g, u, x| g.rdeps(u, x, *depth))?,
            Expr::Allpaths(a, b) => self.binary(a, b, ctx, "allpaths", Loaded::allpaths)?,
            Expr::Shared(a, b) => self.binary(a, b, ctx, "shared", Loaded::shared)?,
            Expr::Somepath(a, b) => self.somepath(a, b, ctx)?,
        };
        Ok(Value::Packages(set))
    }

    /// A graph walk from one argument's packages, tagged with `ctx`.
    fn unary(
        &mut self,
        x: &Expr,
        ctx: &Context,
        func: &'static str,
        walk: impl FnOnce(&Loaded, &[usize]) -> Vec<bool>,
    ) -> Result<PackageSet, EvalError> {
        let (g, x) = self.roots(x, ctx, func)?;
        Ok(g.tagged(&walk(&g, &x), ctx))
    }

    fn binary(
        &mut self,
        a: &Expr,
        b: &Expr,
        ctx: &Context,
        func: &'static str,
        walk: impl FnOnce(&Loaded, &[usize], &[usize]) -> Vec<bool>,
    ) -> Result<PackageSet, EvalError> {
        let (_, a) = self.roots(a, ctx, func)?;
        let (g, b) = self.roots(b, ctx, func)?;
        Ok(g.tagged(&walk(&g, &a, &b), ctx))
    }

    /// Like `binary`, but also records the path order.
    fn somepath(&mut self, a: &Expr, b: &Expr, ctx: &Context) -> Result<PackageSet, EvalError> {
        let (_, a) = self.roots(a, ctx, "somepath")?;
        let (g, b) = self.roots(b, ctx, "somepath")?;
        let path = g.somepath(&a, &b);
        let mut set = g.tagged(&mask_of(g.forward.len(), &path), ctx);
        let names = path
            .iter()
            .map(|&i| g.graph.packages[i].import_path.clone());
        set.order = names.collect();
        Ok(set)
    }

    fn packages(
        &mut self,
        expr: &Expr,
        ctx: &Context,
        func: &'static str,
    ) -> Result<PackageSet, EvalError> {
        match self.eval(expr, ctx)? {
            Value::Packages(set) => Ok(set),
            Value::Modules(_) => Err(EvalError::NeedsPackages(func)),
        }
    }

    /// Evaluates an argument and finds its packages in the current graph.
    fn roots(
        &mut self,
        expr: &Expr,
        ctx: &Context,
        func: &'static str,
    ) -> Result<(Rc<Loaded>, Vec<usize>), EvalError> {
        let set = self.packages(expr, ctx, func)?;
        let g = self.load(ctx)?;
        let roots = g.indices(&set);
        Ok((g, roots))
    }

    fn word(&mut self, word: &str, ctx: &Context) -> Result<PackageSet, EvalError> {
        let g = self.load(ctx)?;
        let matcher = Matcher::new(word);
        let mask: Vec<bool> = g
            .graph
            .packages
            .iter()
            .map(|p| matcher.matches(p))
            .collect();
        *self.words.entry(word.to_string()).or_insert(false) |= mask.contains(&true);
        Ok(g.tagged(&mask, ctx))
    }

    /// Keeps, per package, the contexts whose graph classifies it as `kind`.
    fn kind(&mut self, kind: Kind, set: PackageSet) -> Result<PackageSet, EvalError> {
        let mut out = PackageSet::default();
        for (path, contexts) in set.packages {
            let mut kept = Contexts::new();
            for ctx in contexts {
                if self
                    .load(&ctx)?
                    .package(&path)
                    .is_some_and(|p| is_kind(kind, p))
                {
                    kept.insert(ctx);
                }
            }
            if !kept.is_empty() {
                out.packages.insert(path, kept);
            }
        }
        out.order = set.order;
        out.order.retain(|p| out.packages.contains_key(p));
        Ok(out)
    }

    /// The modules of the set's non-std packages, looked up in the contexts
    /// each package was found in.
    fn modules(&mut self, set: &PackageSet) -> Result<ModuleSet, EvalError> {
        let mut out = ModuleSet::new();
        for (path, contexts) in &set.packages {
            for ctx in contexts {
                let g = self.load(ctx)?;
                let module = g
                    .package(path)
                    .filter(|p| !p.std)
                    .and_then(|p| p.module.as_ref());
                if let Some(m) = module {
                    let entry = out
                        .entry(m.key())
                        .or_insert_with(|| (m.clone(), Contexts::new()));
                    entry.1.insert(ctx.clone());
                }
            }
        }
        Ok(out)
    }
}
