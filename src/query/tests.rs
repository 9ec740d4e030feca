//! The query language's unit tests, on a small hand-made graph.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::eval::{
    evaluate, Context, EvalError, Graph, ModuleRef, Package, PackageSet, Universe, Value,
};
use super::lang::{parse, Expr, SetOp};

/// How a test package is classified.
enum K {
    Bin(&'static str),
    Lib(&'static str),
    TestMain,
    Dep(&'static str, &'static str),
    Std,
}

fn main_module() -> ModuleRef {
    ModuleRef {
        path: "example.com/app".into(),
        version: None,
        replace: None,
        main: true,
    }
}

fn package(path: &str, kind: &K) -> Package {
    let mut p = Package {
        import_path: path.into(),
        label: None,
        dir: None,
        module: Some(main_module()),
        std: false,
        main: false,
        test: false,
        imports: Vec::new(),
    };
    match kind {
        K::Bin(label) => (p.label, p.main) = (Some(label.to_string()), true),
        K::Lib(label) => p.label = Some(label.to_string()),
        K::TestMain => (p.main, p.test) = (true, true),
        K::Dep(module, version) => {
            p.module = Some(ModuleRef {
                path: module.to_string(),
                version: Some(version.to_string()),
                replace: None,
                main: false,
            })
        }
        K::Std => (p.module, p.std) = (None, true),
    }
    p.dir = p.label.clone();
    p
}

/// A small app; windows swaps x/sys/unix for x/sys/windows and adds
/// internal/syscall/windows; `purego` drops core's x/sys import.
fn specs(windows: bool, purego: bool) -> Vec<(&'static str, K, Vec<&'static str>)> {
    const CORE: &str = "example.com/app/internal/core";
    let sys = if windows {
        "golang.org/x/sys/windows"
    } else {
        "golang.org/x/sys/unix"
    };
    let mut core = vec!["fmt", "github.com/google/go-cmp/cmp"];
    if !purego {
        core.push(sys);
    }
    let mut low = vec!["syscall"];
    if windows {
        low.push("internal/syscall/windows");
    }
    let mut specs: Vec<(&str, K, Vec<&str>)> = vec![
        (
            "example.com/app/cmd/app",
            K::Bin("//cmd/app"),
            vec![CORE, "example.com/app/internal/ui", "fmt"],
        ),
        (
            "example.com/app/cmd/tool",
            K::Bin("//cmd/tool"),
            vec![CORE, "os"],
        ),
        ("example.com/app/cmd", K::Lib("//cmd"), vec![]),
        ("example.com/app/cmdx", K::Lib("//cmdx"), vec![]),
        (CORE, K::Lib("//internal/core"), core),
        (
            "example.com/app/internal/ui",
            K::Lib("//internal/ui"),
            vec!["fmt"],
        ),
        (
            "example.com/app/internal/core.test",
            K::TestMain,
            vec![CORE, "testing"],
        ),
        (sys, K::Dep("golang.org/x/sys", "v0.20.0"), low.clone()),
        (
            "github.com/google/go-cmp/cmp",
            K::Dep("github.com/google/go-cmp", "v0.6.0"),
            vec!["fmt"],
        ),
        ("fmt", K::Std, vec!["os"]),
        ("os", K::Std, low),
        ("syscall", K::Std, vec![]),
        ("testing", K::Std, vec!["fmt"]),
    ];
    if windows {
        specs.push(("internal/syscall/windows", K::Std, vec!["syscall"]));
    }
    specs
}

fn graph(windows: bool, purego: bool) -> Graph {
    let specs = specs(windows, purego);
    let index = |path: &str| specs.iter().position(|s| s.0 == path).expect(path);
    let packages = specs
        .iter()
        .map(|(path, kind, imports)| Package {
            imports: imports.iter().map(|i| index(i)).collect(),
            ..package(path, kind)
        })
        .collect();
    Graph { packages }
}

#[derive(Default)]
struct TestUniverse {
    loads: Vec<Context>,
}

impl Universe for TestUniverse {
    fn graph(&mut self, ctx: &Context) -> Result<Rc<Graph>, String> {
        self.loads.push(ctx.clone());
        let windows = match ctx.platform.as_str() {
            "linux/amd64" => false,
            "windows/amd64" => true,
            other => return Err(format!("no graph for {other}")),
        };
        let purego = ctx.tags.iter().any(|t| t == "purego");
        Ok(Rc::new(graph(windows, purego)))
    }
}

fn linux() -> Context {
    Context::new("linux/amd64", Vec::<String>::new())
}

fn windows() -> Context {
    Context::new("windows/amd64", Vec::<String>::new())
}

fn run(query: &str, contexts: &[Context]) -> Result<Value, EvalError> {
    let expr = parse(query).unwrap_or_else(|e| panic!("{}", e.render(query)));
    evaluate(&expr, &mut TestUniverse::default(), contexts)
}

fn set(query: &str) -> PackageSet {
    match run(query, &[linux()]) {
        Ok(Value::Packages(set)) => set,
        other => panic!("{query}: {other:?}"),
    }
}

/// The import paths a query gives on linux, sorted.
fn paths(query: &str) -> Vec<String> {
    set(query).packages.into_keys().collect()
}

fn sorted(paths: &[&str]) -> Vec<String> {
    let set: BTreeSet<String> = paths.iter().map(|p| p.to_string()).collect();
    set.into_iter().collect()
}

const APP: &str = "example.com/app/cmd/app";
const TOOL: &str = "example.com/app/cmd/tool";
const CORE: &str = "example.com/app/internal/core";
const UI: &str = "example.com/app/internal/ui";
const UNIX: &str = "golang.org/x/sys/unix";
const CMP: &str = "github.com/google/go-cmp/cmp";

#[test]
fn deps_include_roots_and_honour_depth() {
    let all = [APP, CORE, UI, "fmt", UNIX, CMP, "os", "syscall"];
    assert_eq!(paths("deps(//cmd/app)"), sorted(&all));
    assert_eq!(paths("deps(//cmd/app, 0)"), sorted(&[APP]));
    assert_eq!(paths("deps(//cmd/app, 1)"), sorted(&[APP, CORE, UI, "fmt"]));
    let two = [APP, CORE, UI, "fmt", UNIX, CMP, "os"];
    assert_eq!(paths("deps(//cmd/app, 2)"), sorted(&two));
}

#[test]
fn rdeps_within_universe_and_depth() {
    let users = [APP, TOOL, CORE, UI, CMP, "fmt"];
    assert_eq!(paths("rdeps(//..., fmt)"), sorted(&users));
    assert_eq!(
        paths("rdeps(//..., fmt, 1)"),
        sorted(&[APP, CORE, UI, CMP, "fmt"])
    );
    assert_eq!(
        paths("rdeps(//cmd/tool, fmt)"),
        sorted(&[TOOL, CORE, CMP, "fmt"])
    );
    // testing imports fmt but is outside deps(//...).
    assert!(!paths("rdeps(//..., fmt)").contains(&"testing".to_string()));
}

#[test]
fn somepath_is_shortest_and_ordered() {
    let path = set("somepath(//cmd/app, syscall)");
    assert_eq!(path.in_order(), vec![APP, CORE, UNIX, "syscall"]);
    assert_eq!(set("somepath(//cmd/app, //cmd/tool)").packages.len(), 0);
    assert_eq!(
        set("somepath(//cmd/app, //cmd/app + fmt)").in_order(),
        vec![APP]
    );
    // Filtering keeps the surviving part of the order.
    let std = set("kind(std, somepath(//cmd/tool, syscall))");
    assert_eq!(std.in_order(), vec!["os", "syscall"]);
}

#[test]
fn allpaths_and_reach() {
    let expected = sorted(&[APP, CORE, UI, CMP, "fmt", "os"]);
    assert_eq!(paths("allpaths(//cmd/app, os)"), expected);
    assert_eq!(paths("reach(//cmd/app, os)"), expected);
    assert_eq!(
        paths("allpaths(//internal/ui, //cmd/app)"),
        Vec::<String>::new()
    );
}

#[test]
fn kinds() {
    assert_eq!(paths("kind(main, //...)"), sorted(&[APP, TOOL]));
    let test = "example.com/app/internal/core.test";
    assert_eq!(paths(&format!("kind(test, deps({test}))")), sorted(&[test]));
    assert_eq!(
        paths("kind(std, deps(//cmd/app))"),
        sorted(&["fmt", "os", "syscall"])
    );
    assert_eq!(paths("kind(module, deps(//cmd/app))"), sorted(&[UNIX, CMP]));
    let libs = [CORE, UI, "example.com/app/cmd", "example.com/app/cmdx"];
    assert_eq!(paths("kind(lib, //...)"), sorted(&libs));
}

#[test]
fn filter_by_regex() {
    assert_eq!(
        paths(r#"filter("^golang\.org/", deps(//cmd/app))"#),
        sorted(&[UNIX])
    );
    assert_eq!(
        paths("filter(internal, deps(//cmd/app))"),
        sorted(&[CORE, UI])
    );
}

#[test]
fn modules_of_non_std_packages() {
    let Ok(Value::Modules(modules)) = run("modules(deps(//cmd/app))", &[linux()]) else {
        panic!("expected modules");
    };
    let keys: Vec<&str> = modules.keys().map(String::as_str).collect();
    let want = [
        "example.com/app",
        "github.com/google/go-cmp@v0.6.0",
        "golang.org/x/sys@v0.20.0",
    ];
    assert_eq!(keys, want);
    assert_eq!(modules["example.com/app"].0, main_module());
    assert_eq!(
        modules["golang.org/x/sys@v0.20.0"].1,
        BTreeSet::from([linux()])
    );
    let Ok(Value::Modules(none)) = run("modules(std)", &[linux()]) else {
        panic!("expected modules");
    };
    assert!(none.is_empty());
}

#[test]
fn shared_is_intersection_of_deps() {
    let both = sorted(&[CORE, UNIX, CMP, "fmt", "os", "syscall"]);
    assert_eq!(paths("shared(//cmd/app, //cmd/tool)"), both);
    assert_eq!(paths("deps(//cmd/app) ^ deps(//cmd/tool)"), both);
}

#[test]
fn cut_is_what_mains_would_lose() {
    assert_eq!(paths("cut(golang.org/x/sys/unix)"), sorted(&[UNIX]));
    // tool reaches fmt only through core; app imports fmt directly.
    assert_eq!(
        paths("cut(//internal/core)"),
        sorted(&[CORE, UNIX, CMP, "fmt"])
    );
    assert_eq!(paths("cut(//cmd)"), Vec::<String>::new());
}

#[test]
fn platform_difference() {
    let q = "platform(windows/amd64, deps(//cmd/app)) - platform(linux/amd64, deps(//cmd/app))";
    let only = set(q);
    let want = sorted(&["golang.org/x/sys/windows", "internal/syscall/windows"]);
    assert_eq!(only.packages.keys().cloned().collect::<Vec<_>>(), want);
    assert!(only
        .packages
        .values()
        .all(|c| *c == BTreeSet::from([windows()])));
}

#[test]
fn tags_change_the_graph() {
    assert_eq!(
        paths("deps(//cmd/app) - tags(purego, deps(//cmd/app))"),
        sorted(&[UNIX])
    );
    let pure = set(r#"tags("purego,foo", //cmd/app)"#);
    let ctx = Context::new("linux/amd64", ["purego", "foo"]);
    assert_eq!(ctx.tags, ["foo", "purego"]);
    assert_eq!(pure.packages[APP], BTreeSet::from([ctx]));
}

#[test]
fn set_operators_are_left_associative() {
    // (deps(app) - deps(tool)) + fmt, not deps(app) - (deps(tool) + fmt).
    let q = "deps(//cmd/app) - deps(//cmd/tool) + fmt";
    assert_eq!(paths(q), sorted(&[APP, UI, "fmt"]));
    let k = "deps(//cmd/app) except deps(//cmd/tool) union fmt";
    assert_eq!(paths(k), paths(q));
    assert_eq!(
        paths("(//cmd/app union //cmd/tool) intersect //cmd/tool"),
        sorted(&[TOOL])
    );
    assert_eq!(paths("//cmd/app ^ fmt"), Vec::<String>::new());
}

#[test]
fn set_operators_merge_contexts() {
    let q = "platform(windows/amd64, fmt) ^ platform(linux/amd64, fmt + os)";
    assert_eq!(set(q).packages["fmt"], BTreeSet::from([linux(), windows()]));
    let q = "platform(windows/amd64, fmt) - platform(linux/amd64, os)";
    assert_eq!(set(q).packages["fmt"], BTreeSet::from([windows()]));
}

#[test]
fn words() {
    let cmd = sorted(&["example.com/app/cmd", APP, TOOL]);
    assert_eq!(paths("//cmd/..."), cmd);
    assert_eq!(paths("./cmd/..."), cmd);
    assert_eq!(paths("./..."), paths("//..."));
    assert_eq!(
        paths("//..."),
        paths("kind(main, //...) + kind(lib, //...)")
    );
    assert_eq!(paths("std"), sorted(&["fmt", "os", "syscall", "testing"]));
    assert_eq!(paths("golang.org/x/sys/..."), sorted(&[UNIX]));
    assert_eq!(paths("github.com/google/go-cmp/cmp"), sorted(&[CMP]));
    assert_eq!(paths(r#""fmt""#), sorted(&["fmt"]));
}

#[test]
fn evaluate_unions_contexts() {
    let Ok(Value::Packages(set)) = run("deps(//cmd/app)", &[linux(), windows()]) else {
        panic!("expected packages");
    };
    assert_eq!(set.packages["fmt"], BTreeSet::from([linux(), windows()]));
    assert_eq!(set.packages[UNIX], BTreeSet::from([linux()]));
    assert_eq!(
        set.packages["internal/syscall/windows"],
        BTreeSet::from([windows()])
    );
    assert_eq!(run("fmt", &[]), Ok(Value::Packages(PackageSet::default())));
}

#[test]
fn graphs_load_once_per_context() {
    let expr = parse("deps(//cmd/app) + platform(windows/amd64, std) + rdeps(//..., fmt)");
    let mut universe = TestUniverse::default();
    assert!(evaluate(&expr.unwrap(), &mut universe, &[linux()]).is_ok());
    assert_eq!(universe.loads, [linux(), windows()]);
}

#[test]
fn unknown_word_is_an_error() {
    let err = run("deps(nosuch/pkg)", &[linux()]);
    assert_eq!(err, Err(EvalError::NoMatch("nosuch/pkg".into())));
    assert_eq!(
        err.unwrap_err().to_string(),
        r#"no package matches "nosuch/pkg""#
    );
    // A word found in one of the contexts is fine.
    let win = "golang.org/x/sys/windows";
    assert_eq!(run(win, &[linux()]), Err(EvalError::NoMatch(win.into())));
    assert!(run(win, &[linux(), windows()]).is_ok());
}

#[test]
fn mixing_modules_and_packages_is_an_error() {
    let err = run("modules(//...) - //...", &[linux()]).unwrap_err();
    assert_eq!(err, EvalError::Mixed(SetOp::Except));
    assert_eq!(
        err.to_string(),
        "operator '-' cannot combine packages with modules"
    );
    let err = run("deps(modules(//...))", &[linux()]).unwrap_err();
    assert_eq!(err.to_string(), "deps() takes packages, not modules");
    assert!(matches!(
        run("modules(//...) + modules(std)", &[linux()]),
        Ok(Value::Modules(_))
    ));
}

#[test]
fn load_errors_name_the_context() {
    let err = run("platform(plan9/386, std)", &[linux()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "loading the graph for plan9/386: no graph for plan9/386"
    );
}

#[test]
fn lexing_of_operators_and_words() {
    let word = |w: &str| Box::new(Expr::Word(w.into()));
    let minus = Expr::Set(SetOp::Except, word("a"), word("b"));
    assert_eq!(parse("a -b"), Ok(minus.clone()));
    assert_eq!(parse("(a)-b"), Ok(minus));
    assert_eq!(parse("go-cmp+x"), Ok(Expr::Word("go-cmp+x".into())));
    assert_eq!(
        parse(r#""a \"q\" \. \\""#),
        Ok(Expr::Word(r#"a "q" \. \"#.into()))
    );
    let left = Expr::Set(SetOp::Except, word("a"), word("b"));
    let q = Expr::Set(SetOp::Union, Box::new(left), word("c"));
    assert_eq!(parse("a - b + c"), Ok(q));
    let deps = Expr::Deps {
        of: word("x"),
        depth: Some(3),
    };
    assert_eq!(parse("deps ( x , 3 )"), Ok(deps));
}

/// (query, column, message)
const PARSE_ERRORS: &[(&str, usize, &str)] = &[
    ("dep(//x)", 1, "unknown function 'dep'"),
    ("//a + frob(//x)", 7, "unknown function 'frob'"),
    ("frob(//x //y)", 1, "unknown function 'frob'"),
    (
        "deps(//x",
        9,
        "expected ',' or ')', found the end of the query",
    ),
    ("deps(//x //y)", 10, "expected ',' or ')', found word '//y'"),
    ("(//x + //y", 11, "expected ')', found the end of the query"),
    ("deps(//x, 1, 2)", 1, "deps takes 1 or 2 arguments, got 3"),
    ("somepath(//x)", 1, "somepath takes 2 arguments, got 1"),
    ("cut()", 1, "cut takes 1 argument, got 0"),
    (
        "//x +",
        6,
        "unexpected end of the query, expected an expression",
    ),
    ("", 1, "unexpected end of the query, expected an expression"),
    ("+ //x", 1, "expected an expression, found operator '+'"),
    (
        "//x - ^ //y",
        7,
        "expected an expression, found operator '^'",
    ),
    (
        "//x //y",
        5,
        "expected an operator or the end of the query, found word '//y'",
    ),
    (
        "//x)",
        4,
        "expected an operator or the end of the query, found ')'",
    ),
    ("deps(//x, two)", 11, "depth must be a non-negative integer"),
    (
        "kind(binary, //x)",
        6,
        "unknown kind 'binary', expected main, test, std, module or lib",
    ),
    (
        "platform(linux, //x)",
        10,
        "expected GOOS/GOARCH, found 'linux'",
    ),
    ("tags(\",\", //x)", 6, "expected comma-separated build tags"),
    ("kind(deps(x), //x)", 6, "expected a word here"),
    ("//x + \"abc", 7, "unterminated string"),
    ("//x # y", 5, "unexpected character '#'"),
];

#[test]
fn parse_errors_have_columns() {
    for &(query, column, message) in PARSE_ERRORS {
        let err = parse(query).expect_err(query);
        assert_eq!(
            (err.column, err.message.as_str()),
            (column, message),
            "{query}"
        );
    }
    let err = parse(r#"filter("(", //x)"#).unwrap_err();
    assert_eq!(err.column, 8);
    assert!(err.message.starts_with("invalid regex"), "{}", err.message);
}

#[test]
fn render_puts_a_caret_under_the_column() {
    let query = "deps(//x, 1, 2) + bogus(//y)";
    let err = parse(query).unwrap_err();
    assert_eq!(
        err.render(query),
        format!("{query}\n^ deps takes 1 or 2 arguments, got 3")
    );
    let query = "//x +\tfrob(y)";
    let err = parse(query).unwrap_err();
    assert_eq!(
        err.render(query),
        format!("{query}\n     \t^ unknown function 'frob'")
    );
    assert_eq!(err.to_string(), "column 7: unknown function 'frob'");
}
