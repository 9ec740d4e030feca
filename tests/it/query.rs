//! `gobuildr query` on a small workspace laid out here, against `go list`
//! and answers known by construction; the HTML page in headless chromium.
//! The `real_` tests (ignored: they need the module proxy, as the
//! realworld tier does) query a workspace of real public modules at exact
//! versions.
//!
//! Chromium: the page tests need it (`.ci/run` installs Debian's
//! `chromium`); where it is missing they fail, saying so: no test passes
//! by skipping.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::realworld::{go, real_gobuildr, require_proxy};
use crate::support::{nonce, scratch, stderr, write_files, Gobuildr};

fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(scratch())
        .unwrap()
}

/// cmd/app imports lib/a and lib/b, cmd/tool only lib/a, lib/a imports
/// lib/b; lib/b imports os/user on windows only, unicode/utf16 with the
/// purego tag; win/ has windows-only files.
fn workspace() -> tempfile::TempDir {
    let dir = scratch_dir("query-");
    write_files(
        dir.path(),
        &[
            ("go.mod", "module example.com/q\n\ngo 1.22\n"),
            (
                "cmd/app/main.go",
                "package main\n\nimport (\n\t\"example.com/q/lib/a\"\n\t\"example.com/q/lib/b\"\n)\n\nfunc main() { a.A(); b.B() }\n",
            ),
            (
                "cmd/tool/main.go",
                "package main\n\nimport \"example.com/q/lib/a\"\n\nfunc main() { a.A() }\n",
            ),
            (
                "lib/a/a.go",
                "package a\n\nimport \"example.com/q/lib/b\"\n\nfunc A() { b.B() }\n",
            ),
            (
                "lib/b/b.go",
                "package b\n\nimport \"strings\"\n\nfunc B() { _ = strings.ToUpper(\"x\") }\n",
            ),
            (
                "win/win.go",
                "//go:build windows\n\npackage win\n",
            ),
            (
                "lib/b/b_purego.go",
                "//go:build purego\n\npackage b\n\nimport \"unicode/utf16\"\n\nvar _ = utf16.IsSurrogate\n",
            ),
            (
                "lib/b/b_windows.go",
                "//go:build windows\n\npackage b\n\nimport \"os/user\"\n\nvar _ = user.Current\n",
            ),
        ],
    );
    dir
}

fn query(dir: &Path, args: &[&str]) -> Output {
    Gobuildr::new(dir).arg("query").args(args).run()
}

/// The query's stdout; panics unless it succeeds.
fn query_ok(dir: &Path, args: &[&str]) -> String {
    let out = query(dir, args);
    assert!(out.status.success(), "query {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let text = query_ok(dir, &[args, &["--output", "json"]].concat());
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The import paths of a json result.
fn import_paths(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|o| o["import_path"].as_str().unwrap().to_string())
        .collect()
}

/// `go list -deps ./cmd/app` for GOOS, as the brief's oracle runs it.
fn go_list_deps(dir: &Path, goos: &str) -> BTreeSet<String> {
    let out = Command::new("go")
        .current_dir(dir)
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOOS", goos)
        .env("GOARCH", "amd64")
        .args(["list", "-deps", "./cmd/app"])
        .output()
        .unwrap();
    assert!(out.status.success(), "go list: {}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn query_deps_equal_go_list_per_platform() {
    let ws = workspace();
    let dir = ws.path();
    for goos in ["linux", "windows"] {
        let platform = format!("{goos}/amd64");
        let got = import_paths(&json(dir, &["deps(//cmd/app)", "--platform", &platform]));
        assert_eq!(got, go_list_deps(dir, goos), "{platform}");
    }
    let linux = go_list_deps(dir, "linux");
    let windows = go_list_deps(dir, "windows");
    let only: BTreeSet<String> = windows.difference(&linux).cloned().collect();
    assert!(only.contains("os/user"), "{only:?}");
    let q = "platform(windows/amd64, deps(//cmd/app)) - platform(linux/amd64, deps(//cmd/app))";
    let got = json(dir, &[q]);
    assert_eq!(import_paths(&got), only);
    assert!(got.iter().all(|o| o["platform"] == "windows/amd64"));
    // The label output says the same, one import path a line, sorted.
    let text = lines(&query_ok(dir, &[q]));
    assert_eq!(text, only.into_iter().collect::<Vec<_>>());
}

#[test]
fn query_walks_have_known_answers() {
    let ws = workspace();
    let dir = ws.path();
    let run = |q: &str| lines(&query_ok(dir, &[q]));
    let all = ["//cmd/app", "//cmd/tool", "//lib/a", "//lib/b"];
    assert_eq!(run("rdeps(//..., //lib/b)"), all);
    // A directory of windows-only files is a package on windows only.
    assert_eq!(run("//..."), all);
    assert_eq!(run("platform(windows/amd64, //win/...)"), ["//win"]);
    assert_eq!(
        run("rdeps(//..., //lib/b, 1)"),
        ["//cmd/app", "//lib/a", "//lib/b"]
    );
    assert_eq!(
        run("rdeps(//cmd/tool, //lib/b)"),
        ["//cmd/tool", "//lib/a", "//lib/b"]
    );
    // somepath prints the path in order, not sorted.
    assert_eq!(
        run("somepath(//cmd/tool, strings)"),
        ["//cmd/tool", "//lib/a", "//lib/b", "strings"]
    );
    assert_eq!(run("somepath(//lib/a, //cmd/app)"), Vec::<String>::new());
    assert_eq!(
        run("allpaths(//cmd/app, //lib/b)"),
        ["//cmd/app", "//lib/a", "//lib/b"]
    );
    assert_eq!(
        run("allpaths(//cmd/tool, strings)"),
        ["//cmd/tool", "//lib/a", "//lib/b", "strings"]
    );
    assert_eq!(run("deps(//cmd/...) - std"), all);
    assert_eq!(run("kind(main, //...)"), ["//cmd/app", "//cmd/tool"]);
    assert_eq!(run("filter(lib, //...)"), ["//lib/a", "//lib/b"]);
    assert_eq!(run("deps(//cmd/tool, 1)"), ["//cmd/tool", "//lib/a"]);
    assert_eq!(run("modules(deps(//...))"), ["example.com/q"]);
    // Tags change the graph: in the query, and from the command line.
    let purego = run("tags(purego, deps(//cmd/app)) - deps(//cmd/app)");
    assert_eq!(purego, ["unicode/utf16"]);
    let tagged = query_ok(dir, &["deps(//lib/b) ^ unicode/utf16", "--tags", "purego"]);
    assert_eq!(lines(&tagged), ["unicode/utf16"]);
}

#[test]
fn query_json_has_weight_and_reach() {
    let ws = workspace();
    let dir = ws.path();
    let items = json(
        dir,
        &[
            "deps(//cmd/app)",
            "--platforms",
            "linux/amd64,windows/amd64",
        ],
    );
    let find = |path: &str, platform: &str| {
        items
            .iter()
            .find(|o| o["import_path"] == path && o["platform"] == platform)
            .unwrap_or_else(|| panic!("{path} on {platform}"))
            .clone()
    };
    let size = |f: &str| std::fs::metadata(dir.join(f)).unwrap().len();
    let b = find("example.com/q/lib/b", "linux/amd64");
    assert_eq!(b["label"], "//lib/b");
    assert_eq!(b["module"], "example.com/q");
    assert_eq!(b["std"], false);
    assert_eq!(b["files"], 1);
    assert_eq!(b["bytes"], size("lib/b/b.go"));
    assert_eq!(b["reached_by"], 3, "app, tool and a");
    let wb = find("example.com/q/lib/b", "windows/amd64");
    assert_eq!(wb["files"], 2);
    assert_eq!(wb["bytes"], size("lib/b/b.go") + size("lib/b/b_windows.go"));
    let app = find("example.com/q/cmd/app", "linux/amd64");
    assert_eq!(app["reaches"], go_list_deps(dir, "linux").len() - 1);
    assert_eq!(app["reached_by"], 0);
    assert_eq!(app["main"], true);
    let strings = find("strings", "linux/amd64");
    assert_eq!(
        (&strings["std"], &strings["module"]),
        (&Value::Bool(true), &Value::from("std"))
    );
    assert!(strings["label"].is_null());
    // One object per package and platform.
    let per_platform = |p: &str| items.iter().filter(|o| o["platform"] == p).count();
    assert_eq!(
        per_platform("linux/amd64"),
        go_list_deps(dir, "linux").len()
    );
    assert_eq!(
        per_platform("windows/amd64"),
        go_list_deps(dir, "windows").len()
    );
    let modules = json(dir, &["modules(deps(//...))"]);
    assert_eq!(modules.len(), 1);
    assert_eq!(modules[0]["module"], "example.com/q");
    assert_eq!(modules[0]["main"], true);
}

#[test]
fn query_graph_outputs() {
    let ws = workspace();
    let dir = ws.path();
    let dot = query_ok(dir, &["deps(//cmd/app) - std", "--output", "dot"]);
    for edge in [
        "\"//cmd/app\" -> \"//lib/a\";",
        "\"//cmd/app\" -> \"//lib/b\";",
        "\"//lib/a\" -> \"//lib/b\";",
    ] {
        assert!(dot.contains(edge), "{dot}");
    }
    assert_eq!(dot.matches("->").count(), 3, "{dot}");
    let mermaid = query_ok(dir, &["deps(//cmd/tool) - std", "--output", "mermaid"]);
    assert_eq!(
        mermaid,
        "graph LR\n  n0[\"//cmd/tool\"]\n  n1[\"//lib/a\"]\n  n2[\"//lib/b\"]\n  n0 --> n1\n  n1 --> n2\n"
    );
    let file = dir.join("out.txt");
    let out = query(dir, &["//lib/...", "-o", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "//lib/a\n//lib/b\n"
    );
}

#[test]
fn query_errors_name_the_problem() {
    let ws = workspace();
    let dir = ws.path();
    let q = "deps(//cmd/app) + frob(//lib/a)";
    let out = query(dir, &[q]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let caret = format!("{q}\n{}^ unknown function 'frob'", " ".repeat(18));
    assert!(stderr(&out).contains(&caret), "{}", stderr(&out));
    let out = query(dir, &["deps(//cmd/app"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{}^ expected ',' or ')'", " ".repeat(14))));
    let out = query(dir, &["deps(//no/such)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no package matches \"//no/such\""),
        "{}",
        stderr(&out)
    );
    let out = query(dir, &["platform(plan9/sparc, std)"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("plan9/sparc"), "{}", stderr(&out));
    let out = query(dir, &["modules(//...)", "--output", "dot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("use --output label or json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn query_diff_of_snapshots() {
    let ws = workspace();
    let dir = ws.path();
    let snapshot = |name: &str| {
        let path = dir.join(name);
        let args = [
            "deps(//cmd/app)",
            "--output",
            "json",
            "-o",
            path.to_str().unwrap(),
        ];
        query_ok(dir, &args);
        path
    };
    let old = snapshot("old.json");
    write_files(
        dir,
        &[(
            "lib/a/a.go",
            "package a\n\nimport (\n\t\"strconv\"\n\n\t\"example.com/q/lib/b\"\n)\n\nfunc A() { b.B(); _ = strconv.Itoa(1) }\n",
        )],
    );
    let new = snapshot("new.json");
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    let text = query_ok(dir, &["--diff", old, new]);
    assert!(text.contains("+ package strconv (std)"), "{text}");
    assert!(
        text.contains("~ package example.com/q/lib/a: bytes "),
        "{text}"
    );
    assert!(!text.contains("- package"), "{text}");
    assert_eq!(query_ok(dir, &["--diff", old, old]), "no differences\n");
    let out = query(dir, &["--diff", old, "/nonexistent.json"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Chromium on PATH; the page tests fail where it is missing.
fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
        .expect("chromium is not installed: apt-get install -y chromium (as .ci/run does)")
}

/// The page's state element after chromium ran it with `hash`.
fn page_state(browser: &Path, page: &Path, hash: &str) -> Value {
    let url = format!("file://{}#{hash}", page.display());
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(["--virtual-time-budget=5000", "--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom
        .find("<pre id=\"gobuildr-state\"")
        .unwrap_or_else(|| panic!("no state in the page: {}", stderr(&out)));
    let body = &dom[start..];
    let body = &body[body.find('>').unwrap() + 1..body.find("</pre>").unwrap()];
    let text = body
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn query_html_in_chromium() {
    let browser = chromium();
    let ws = workspace();
    let dir = ws.path();
    let page = dir.join("graph.html");
    // A `</script>` in the query must not end the page's script.
    let q = "deps(//cmd/app) - filter(\"</script>\", std)";
    let args = [
        q,
        "--platforms",
        "linux/amd64,windows/amd64",
        "--output",
        "html",
    ];
    query_ok(dir, &[&args[..], &["-o", page.to_str().unwrap()]].concat());
    let linux = go_list_deps(dir, "linux");
    let state = page_state(&browser, &page, "search=lib/a");
    assert_eq!(state["ready"], true, "{state}");
    assert_eq!(state["errors"], Value::Array(vec![]), "{state}");
    assert_eq!(state["platform"], "linux/amd64");
    assert_eq!(state["total_packages"], linux.len());
    // Three workspace packages and std collapsed into one node.
    assert_eq!(state["visible_nodes"], 4, "{state}");
    assert_eq!(
        state["search_matches"],
        serde_json::json!(["example.com/q/lib/a"])
    );
    let state = page_state(
        &browser,
        &page,
        "platform=windows/amd64&expand=std&search=os/user",
    );
    assert_eq!(state["errors"], Value::Array(vec![]), "{state}");
    let windows = go_list_deps(dir, "windows");
    assert_eq!(state["total_packages"], windows.len());
    assert_eq!(state["visible_nodes"], windows.len(), "{state}");
    assert_eq!(state["search_matches"], serde_json::json!(["os/user"]));
    let state = page_state(&browser, &page, "select=example.com/q/lib/a");
    assert_eq!(
        state["highlighted_rdeps"],
        serde_json::json!(["example.com/q/cmd/app"])
    );
    assert_eq!(
        state["highlighted_deps"],
        serde_json::json!(["example.com/q/lib/b", "std"])
    );
}

#[test]
fn query_object_sizes_come_from_the_cache() {
    let ws = workspace();
    let dir = ws.path();
    // A package no earlier run compiled.
    let source = format!(
        "// {}\npackage b\n\nimport \"strings\"\n\nfunc B() {{ _ = strings.ToUpper(\"x\") }}\n",
        nonce()
    );
    write_files(dir, &[("lib/b/b.go", &source)]);
    let size_of = |items: &[Value], path: &str| {
        items.iter().find(|o| o["import_path"] == path).unwrap()["object_bytes"].clone()
    };
    let before = json(dir, &["deps(//cmd/app)"]);
    assert!(size_of(&before, "example.com/q/lib/b").is_null());
    let out = Gobuildr::new(dir).args(["build", "-q", "//cmd/app"]).run();
    assert!(out.status.success(), "{}", stderr(&out));
    let after = json(dir, &["deps(//cmd/app)"]);
    for path in ["example.com/q/lib/b", "example.com/q/cmd/app", "strings"] {
        let size = size_of(&after, path).as_u64().unwrap_or(0);
        assert!(size > 100, "{path}: {size}");
    }
    // Another platform's or tag's graph was not built: unknown.
    let other = json(dir, &["tags(purego, //lib/b)"]);
    assert!(size_of(&other, "example.com/q/lib/b").is_null());
}

/// `go list -deps ARGS` with GOOS=linux unless `env` says otherwise, offline.
fn go_list(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> BTreeSet<String> {
    let mut cmd = Command::new("go");
    cmd.current_dir(dir)
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0")
        .env("GOTOOLCHAIN", "local")
        .env("GOOS", "linux")
        .env("GOARCH", "amd64")
        .envs(env.iter().copied());
    let out = cmd.args(["list", "-deps"]).args(args).output().unwrap();
    assert!(out.status.success(), "go list {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A package with a `purego` file and its `!purego` twin, each importing
/// a std package the other does not; cmd/app imports it.
fn tagged_workspace() -> tempfile::TempDir {
    let dir = scratch_dir("query-tags-");
    write_files(
        dir.path(),
        &[
            ("go.mod", "module example.com/t\n\ngo 1.22\n"),
            (
                "cmd/app/main.go",
                "package main\n\nimport \"example.com/t/hash\"\n\nfunc main() { hash.Sum() }\n",
            ),
            (
                "hash/hash_purego.go",
                "//go:build purego\n\npackage hash\n\nimport \"unicode/utf16\"\n\nfunc Sum() { _ = utf16.IsSurrogate('x') }\n",
            ),
            (
                "hash/hash_fast.go",
                "//go:build !purego\n\npackage hash\n\nimport \"container/list\"\n\nfunc Sum() { _ = list.New() }\n",
            ),
        ],
    );
    dir
}

#[test]
fn query_tags_equal_go_list_tags() {
    let ws = tagged_workspace();
    let dir = ws.path();
    let plain = go_list(dir, &[], &["./..."]);
    let purego = go_list(dir, &[], &["-tags", "purego", "./..."]);
    assert!(plain.contains("container/list") && !plain.contains("unicode/utf16"));
    assert!(purego.contains("unicode/utf16") && !purego.contains("container/list"));
    let args = |q: &'static str| [q, "--platform", "linux/amd64"];
    assert_eq!(import_paths(&json(dir, &args("deps(//...)"))), plain);
    let flag = json(
        dir,
        &[&args("deps(//...)")[..], &["--tags", "purego"]].concat(),
    );
    assert_eq!(import_paths(&flag), purego);
    let func = json(dir, &args("tags(\"purego\", deps(//...))"));
    assert_eq!(import_paths(&func), purego);
    // Each object says the tags it was found with.
    for items in [&flag, &func] {
        assert!(items
            .iter()
            .all(|o| o["tags"] == serde_json::json!(["purego"])));
    }
    // The twins differ by exactly the std package each file imports.
    let q = "tags(purego, deps(//...)) - deps(//...)";
    assert_eq!(lines(&query_ok(dir, &args(q))), ["unicode/utf16"]);
    let q = "deps(//...) - tags(purego, deps(//...))";
    assert_eq!(lines(&query_ok(dir, &args(q))), ["container/list"]);
    // runtime, which no file imports, is the linker's: one step from main.
    let q = "somepath(//cmd/app, runtime)";
    assert_eq!(lines(&query_ok(dir, &args(q))), ["//cmd/app", "runtime"]);
}

/// fatih/color: on windows it imports golang.org/x/sys/windows, elsewhere
/// only (through go-isatty) golang.org/x/sys/unix.
const COLOR: (&str, &str) = ("github.com/fatih/color", "v1.18.0");
/// x/sys, required directly above color's own v0.25.0, at two versions.
const SYS_OLD: &str = "v0.43.0";
const SYS_NEW: &str = "v0.44.0";

/// A workspace whose one command imports fatih/color, with x/sys required
/// at `sys`, go.sum as `go mod tidy` writes it from the real proxy.
fn real_workspace(sys: &str) -> tempfile::TempDir {
    let dir = scratch_dir("query-real-");
    let go_mod = format!(
        "module example.com/tty\n\ngo 1.22\n\nrequire (\n\t{} {}\n\tgolang.org/x/sys {sys}\n)\n",
        COLOR.0, COLOR.1
    );
    write_files(
        dir.path(),
        &[
            ("go.mod", &go_mod),
            (
                "cmd/tty/main.go",
                "package main\n\nimport \"github.com/fatih/color\"\n\nfunc main() { color.Red(\"tty\") }\n",
            ),
        ],
    );
    go_ok(dir.path(), &["mod", "tidy"]);
    dir
}

/// Runs the real-world `go` (the machine's module settings); its stdout.
fn go_ok(dir: &Path, args: &[&str]) -> String {
    let out = go(dir).args(args).output().unwrap();
    assert!(out.status.success(), "go {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The real query's stdout; panics unless it succeeds.
fn real_query(dir: &Path, args: &[&str]) -> String {
    let out = real_gobuildr(dir).arg("query").args(args).output().unwrap();
    assert!(out.status.success(), "query {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs the module proxy"]
fn real_platform_difference_equals_go_list() {
    require_proxy();
    let ws = real_workspace(SYS_OLD);
    let dir = ws.path();
    let list = |goos: &str| -> BTreeSet<String> {
        let mut cmd = go(dir);
        cmd.env("GOOS", goos).env("GOARCH", "amd64");
        let out = cmd.args(["list", "-deps", "./..."]).output().unwrap();
        assert!(out.status.success(), "go list: {}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let (windows, linux) = (list("windows"), list("linux"));
    let only: BTreeSet<String> = windows.difference(&linux).cloned().collect();
    assert!(only.contains("golang.org/x/sys/windows"), "{only:?}");
    let x = "deps(//...)";
    let q = format!("platform(windows/amd64, {x}) - platform(linux/amd64, {x})");
    let got: Vec<String> = real_query(dir, &[&q]).lines().map(str::to_string).collect();
    assert_eq!(got, only.into_iter().collect::<Vec<_>>());
    // And each side on its own is go list's.
    for (goos, want) in [("windows", &windows), ("linux", &linux)] {
        let q = format!("platform({goos}/amd64, {x})");
        let text = real_query(dir, &[&q, "--output", "json"]);
        let items: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(&import_paths(&items), want, "{goos}");
    }
}

#[test]
#[ignore = "needs the module proxy"]
fn real_diff_shows_one_version_bump() {
    require_proxy();
    let ws = real_workspace(SYS_OLD);
    let dir = ws.path();
    let snapshot = |name: &str| {
        let path = dir.join(name);
        let q = "modules(deps(//...))";
        let platforms = "linux/amd64,windows/amd64";
        let out = path.to_str().unwrap();
        real_query(
            dir,
            &[q, "--platforms", platforms, "--output", "json", "-o", out],
        );
        path
    };
    let old = snapshot("old.json");
    go_ok(dir, &["get", &format!("golang.org/x/sys@{SYS_NEW}")]);
    let go_mod = std::fs::read_to_string(dir.join("go.mod")).unwrap();
    assert!(
        go_mod.contains(&format!("golang.org/x/sys {SYS_NEW}")),
        "{go_mod}"
    );
    let new = snapshot("new.json");
    let text = real_query(
        dir,
        &["--diff", old.to_str().unwrap(), new.to_str().unwrap()],
    );
    let change = format!("  ~ module golang.org/x/sys: {SYS_OLD} → {SYS_NEW}\n");
    assert_eq!(
        text,
        format!("linux/amd64:\n{change}windows/amd64:\n{change}")
    );
}

#[test]
fn query_tests_adds_go_list_test_packages() {
    let ws = tagged_workspace();
    let dir = ws.path();
    write_files(
        dir,
        &[
            (
                "hash/hash_test.go",
                "package hash\n\nimport \"testing\"\n\nfunc TestSum(t *testing.T) { Sum() }\n",
            ),
            (
                "hash/x_test.go",
                "package hash_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/t/b\"\n\t\"example.com/t/hash\"\n)\n\nfunc TestX(t *testing.T) { hash.Sum(); b.B() }\n",
            ),
            // Imported by the external test, so built again for it.
            (
                "b/b.go",
                "package b\n\nimport \"example.com/t/hash\"\n\nfunc B() { hash.Sum() }\n",
            ),
        ],
    );
    let linux = ["--platform", "linux/amd64"];
    let with = |q: &'static str| [&[q, "--tests"][..], &linux].concat();
    let tests = [
        "//b [//hash.test]",
        "//hash [//hash.test]",
        "//hash.test",
        "//hash_test [//hash.test]",
    ];
    assert_eq!(lines(&query_ok(dir, &with("kind(test, //...)"))), tests);
    // The universe is go list -test's.
    let got = import_paths(&json(dir, &with("deps(//...)")));
    assert_eq!(got, go_list(dir, &[], &["-test", "./..."]));
    assert!(got.contains("testing"));
    // `//hash` is the package itself, its directory holds the rest.
    assert_eq!(lines(&query_ok(dir, &with("//hash"))), ["//hash"]);
    let q = "rdeps(//..., \"//hash [//hash.test]\", 1)";
    assert_eq!(lines(&query_ok(dir, &with(q))), tests);
    let q = "kind(main, //...) + kind(lib, //...)";
    assert_eq!(
        lines(&query_ok(dir, &with(q))),
        ["//b", "//cmd/app", "//hash"]
    );
    // Without --tests there are none, as go list without -test has none.
    let plain = [&["kind(test, //...)"][..], &linux].concat();
    assert_eq!(query_ok(dir, &plain), "");
}
