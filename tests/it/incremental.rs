//! Incremental builds: no-op without processes, early cutoff, explanations,
//! profiles, and a discovery cache that is never stale.

use std::fs;
use std::path::Path;

use crate::support::*;

/// A layered module: `low` is imported by `mid` and `cmd/a`; `mid` by both
/// binaries. Every source carries a nonce so the shared cache has never
/// seen it.
fn layered() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("layered-")
        .tempdir_in(scratch())
        .unwrap();
    let n = nonce();
    write_files(
        dir.path(),
        &[
            ("go.mod", "module example.com/layered\n\ngo 1.22\n"),
            (
                "low/low.go",
                &format!(
                    "package low\n\nconst Nonce = {n:?}\n\n// Compute is not inlined, so its body is not part of the export data.\n//\n//go:noinline\nfunc Compute(n int) int {{\n\ts := 0\n\tfor i := 0; i < n; i++ {{\n\t\ts += i * 7\n\t}}\n\treturn s\n}}\n"
                ),
            ),
            ("mid/mid.go", "package mid\n\nimport \"example.com/layered/low\"\n\nfunc Twice(n int) int { return 2 * low.Compute(n) }\n"),
            (
                "cmd/a/main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/layered/low\"\n\t\"example.com/layered/mid\"\n)\n\nfunc main() { fmt.Println(low.Compute(3), mid.Twice(4), low.Nonce) }\n",
            ),
            ("cmd/b/main.go", "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/layered/mid\"\n)\n\nfunc main() { fmt.Println(mid.Twice(5)) }\n"),
        ],
    );
    dir
}

fn assert_binaries_match(root: &Path, s: &Summary) {
    for (label, (path, _, _)) in s.outputs() {
        let label = label.split(' ').next().unwrap().to_string();
        let theirs = go_build(&root.join(label_dir(&label)), &[], &[]);
        assert!(
            fs::read(root.join(&path)).unwrap() == theirs,
            "{label} differs from go build"
        );
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = v
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn no_op_starts_no_process_and_explains_nothing_changed() {
    let ws = layered();
    let root = ws.path();
    let first = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert!(first.0["processes_spawned"].as_u64().unwrap() > 0);
    // Files written just before a build are hashed again once (their mtime
    // is too close to the hashing to be trusted); after that, never.
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let summary_path = root.join(".noop.json");
    let out = Gobuildr::new(root)
        .args(["build", "--explain", "--summary-json"])
        .arg(&summary_path)
        .arg("//...")
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let s = Summary::load(&summary_path);
    assert_eq!(
        s.0["processes_spawned"], 0,
        "a no-op must start no go list and no tool"
    );
    assert_eq!(s.executed(), 0);
    assert_eq!(s.0["files_hashed"], 0, "unchanged files are not re-read");
    assert!(
        stderr(&out).contains("explain: nothing changed"),
        "{}",
        stderr(&out)
    );

    // Fresh mtimes re-hash, but still run nothing.
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(root.join("low/low.go"))
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_eq!(touched.executed(), 0);
    assert_eq!(touched.0["processes_spawned"], 0);
    assert!(touched.0["files_hashed"].as_u64().unwrap() >= 1);
}

#[test]
fn body_edit_relinks_without_recompiling_importers() {
    let ws = layered();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let low = root.join("low/low.go");
    fs::write(
        &low,
        fs::read_to_string(&low).unwrap().replace("i * 7", "i * 9"),
    )
    .unwrap();
    let s = Gobuildr::new(root).build_ok(root, &["//...", "--explain"]);
    assert_eq!(
        s.executed_actions(),
        pairs(&[
            ("compile", "example.com/layered/low"),
            ("link", "example.com/layered/cmd/a"),
            ("link", "example.com/layered/cmd/b"),
        ])
    );
    assert_binaries_match(root, &s);
    // The reasons name the file, then the link object.
    let low_compile = s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"] == "example.com/layered/low" && a["kind"] == "compile")
        .unwrap()
        .clone();
    assert_eq!(
        low_compile["reasons"][0]["reason"], "file_changed",
        "{low_compile}"
    );
    assert_eq!(low_compile["reasons"][0]["path"], "low/low.go");
}

#[test]
fn exported_api_edit_recompiles_direct_importers() {
    let ws = layered();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let low = root.join("low/low.go");
    fs::write(
        &low,
        format!(
            "{}\n// Added is new API.\nfunc Added() int {{ return 1 }}\n",
            fs::read_to_string(&low).unwrap()
        ),
    )
    .unwrap();
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    let executed = s.executed_actions();
    for want in [
        ("compile", "example.com/layered/low"),
        ("compile", "example.com/layered/mid"),
        ("compile", "example.com/layered/cmd/a"),
    ] {
        assert!(
            executed.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} not in {executed:?}"
        );
    }
    assert!(
        executed
            .iter()
            .all(|(_, p)| p.starts_with("example.com/layered")),
        "{executed:?}"
    );
    assert_binaries_match(root, &s);
}

#[test]
fn explain_names_file_module_and_tag() {
    // A file edit.
    let ws = layered();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &["//..."]);
    fs::write(root.join("mid/mid.go"), "package mid\n\nimport \"example.com/layered/low\"\n\nfunc Twice(n int) int { return low.Compute(n) + low.Compute(n) }\n").unwrap();
    let dry = Gobuildr::new(root).args(["explain", "//cmd/b"]).run();
    assert!(dry.status.success(), "{}", stderr(&dry));
    let text = stderr(&dry);
    assert!(
        text.contains("compile example.com/layered/mid")
            && text.contains("file mid/mid.go changed"),
        "{text}"
    );
    let out = Gobuildr::new(root)
        .args(["build", "-q", "--explain", "//..."])
        .run();
    assert!(
        stderr(&out).contains("file mid/mid.go changed"),
        "{}",
        stderr(&out)
    );

    // A tag change.
    let out = Gobuildr::new(root)
        .args(["build", "-q", "--explain", "--tags", "sometag", "//..."])
        .run();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("build tags changed (\"\" → \"sometag\")"),
        "{}",
        stderr(&out)
    );

    // A dependency bump: go.mod and go.sum move example.com/greeting to v1.3.0.
    let ws = example("moddep");
    let root = ws.path();
    // A fresh main package, so its link has never run with either version.
    write_files(
        root,
        &[(
            "nonce.go",
            &format!(
                "package main\n\nvar nonce = {:?}\n\nfunc init() {{ _ = nonce }}\n",
                nonce()
            ),
        )],
    );
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let gomod = fs::read_to_string(root.join("go.mod"))
        .unwrap()
        .replace("v1.2.0", "v1.3.0");
    fs::write(root.join("go.mod"), gomod).unwrap();
    let mut sum = fs::read_to_string(root.join("go.sum")).unwrap();
    sum.push_str("example.com/greeting v1.3.0 h1:McO76bzWKpacdZrJtnn3zxop9yV0ND/uIBhfgd0UTk4=\nexample.com/greeting v1.3.0/go.mod h1:8CLKfGjqdJNXRpBznlr7iO8dyI9y1F6BjBZYhWSoXw4=\n");
    fs::write(root.join("go.sum"), sum).unwrap();
    let out = Gobuildr::new(root)
        .args(["build", "-q", "--explain", "//..."])
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("module example.com/greeting changed v1.2.0 → v1.3.0"),
        "{}",
        stderr(&out)
    );
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_binaries_match(root, &s);
}

#[test]
fn discovery_cache_never_serves_a_stale_graph() {
    let ws = layered();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &["//..."]);
    // A new file the binary uses.
    write_files(
        root,
        &[(
            "mid/extra.go",
            "package mid\n\nfunc Extra() string { return \"extra\" }\n",
        )],
    );
    fs::write(root.join("cmd/b/main.go"), "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/layered/mid\"\n)\n\nfunc main() { fmt.Println(mid.Twice(5), mid.Extra()) }\n").unwrap();
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_binaries_match(root, &s);
    // The file deleted again (and its use).
    fs::remove_file(root.join("mid/extra.go")).unwrap();
    fs::write(root.join("cmd/b/main.go"), "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/layered/mid\"\n)\n\nfunc main() { fmt.Println(mid.Twice(5)) }\n").unwrap();
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_binaries_match(root, &s);
    // A file excluded by //go:build ignore: go list must see it go.
    write_files(
        root,
        &[(
            "mid/broken.go",
            "package mid\n\nfunc Broken() int { return \"not an int\" }\n",
        )],
    );
    let out = Gobuildr::new(root).args(["build", "-q", "//..."]).run();
    assert_eq!(out.status.code(), Some(1));
    write_files(
        root,
        &[(
            "mid/broken.go",
            "//go:build ignore\n\npackage mid\n\nfunc Broken() int { return \"not an int\" }\n",
        )],
    );
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_binaries_match(root, &s);
}

#[test]
fn profile_is_a_chrome_trace_of_every_action() {
    let ws = layered();
    let root = ws.path();
    let trace = root.join("trace.json");
    let s = Gobuildr::new(root).build_ok(root, &["//...", "--profile", trace.to_str().unwrap()]);
    let t: serde_json::Value = serde_json::from_slice(&fs::read(&trace).unwrap()).unwrap();
    let events = t["traceEvents"].as_array().unwrap();
    let spans: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    let actions = s.0["actions"]["total"].as_u64().unwrap() as usize;
    let is_action = |e: &&&serde_json::Value| e["cat"] != "phase" && e["cat"] != "step";
    assert_eq!(spans.iter().filter(is_action).count(), actions);
    assert!(spans.iter().any(|e| e["name"] == "discovery"));
    for e in &spans {
        assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0);
        assert!(e["tid"].as_u64().is_some());
    }
    // Each executed action's steps lie inside it, the tool among them.
    let f = |e: &serde_json::Value, k: &str| e[k].as_f64().unwrap();
    for a in spans.iter().filter(is_action) {
        let (start, end) = (f(a, "ts"), f(a, "ts") + f(a, "dur"));
        let steps: Vec<&&serde_json::Value> = spans
            .iter()
            .filter(|e| e["cat"] == "step" && e["tid"] == a["tid"])
            .filter(|e| f(e, "ts") >= start && f(e, "ts") < end)
            .collect();
        let inside = steps.iter().all(|e| f(e, "ts") + f(e, "dur") <= end + 1.0);
        assert!(inside, "{a} {steps:?}");
        if a["args"]["cached"] == false {
            assert!(steps.iter().any(|e| e["name"] == "tool"), "{a}");
        }
    }
    // The summary's breakdown: the actions' phases, and the time before.
    let b = &s.0["breakdown"];
    assert!(b["actions"]["tool"].as_f64().unwrap() > 0.0, "{b}");
    let names: Vec<&str> = b["before_actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"discovery") && names.contains(&"plan"),
        "{b}"
    );
    assert!(b["workers"].as_u64().unwrap() >= 1);
}
