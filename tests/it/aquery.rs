//! `gobuildr aquery`: the actions a build would run, with the keys, input
//! digests and outputs the build then really uses.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

use crate::support::*;

fn aquery(ws: &std::path::Path, cache: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let out = Gobuildr::new(ws)
        .cache(cache)
        .args(["aquery", "--format", "json"])
        .args(extra)
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// (kind, package, platform) → key, of aquery's actions or a build's.
fn keys<'a>(actions: impl Iterator<Item = &'a Value>) -> BTreeMap<(String, String, String), Value> {
    actions
        .map(|a| {
            let s = |f: &str| a[f].as_str().unwrap_or_default().to_string();
            ((s("kind"), s("package"), s("platform")), a["key"].clone())
        })
        .collect()
}

#[test]
fn aquery_shows_the_actions_the_build_runs() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    let main = format!(
        "package main\n\nimport \"example.com/aq/lib\"\n\nfunc main() {{ println(lib.N, {:?}) }}\n",
        nonce()
    );
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/aq\n\ngo 1.22\n"),
            ("lib/lib.go", "package lib\n\nconst N = 1\n"),
            ("cmd/aq/main.go", &main),
        ],
    );
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let before = aquery(ws.path(), cache.path(), &[]);
    assert!(before.iter().all(|a| a["cached"] == false));
    let link = before.iter().find(|a| a["kind"] == "link").unwrap();
    // Its inputs are outputs of actions not run yet: no key yet.
    assert!(link["key"].is_null(), "{link}");
    let lib = before
        .iter()
        .find(|a| a["kind"] == "compile" && a["package"] == "example.com/aq/lib")
        .unwrap();
    let src = lib["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["at"] == "src/lib.go")
        .unwrap();
    let want = blake3::hash(&fs::read(ws.path().join("lib/lib.go")).unwrap())
        .to_hex()
        .to_string();
    assert_eq!(src["digest"], want.as_str(), "{src}");
    assert_eq!(src["source"], "file");
    assert!(lib["argv"][0].as_str().unwrap().ends_with("/compile"));

    let summary = ws.path().join("s.json");
    let out = Gobuildr::new(ws.path())
        .cache(cache.path())
        .args(["build", "--summary-json"])
        .arg(&summary)
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let built = Summary::load(&summary);
    let after = aquery(ws.path(), cache.path(), &[]);
    assert!(after.iter().all(|a| a["cached"] == true));
    // The keys aquery shows are the keys the build used, action for action.
    let built_keys = keys(built.0["action_list"].as_array().unwrap().iter());
    assert_eq!(keys(after.iter()), built_keys);
    let link = after.iter().find(|a| a["kind"] == "link").unwrap();
    assert!(link["outputs"][0]["digest"].is_string(), "{link}");
    // Filters.
    let links = aquery(ws.path(), cache.path(), &["--kind", "link"]);
    assert_eq!(links.len(), 1);
    let only_lib = aquery(
        ws.path(),
        cache.path(),
        &["--package", "^example.com/aq/lib$"],
    );
    assert!(only_lib
        .iter()
        .all(|a| a["package"] == "example.com/aq/lib"));
    let out = Gobuildr::new(ws.path())
        .args(["aquery", "--kind", "nope"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind nope: not an action kind"));
}
