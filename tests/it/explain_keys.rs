//! Explanations name every key ingredient: a change of the fixed tool
//! environment or of the platform variables, made through a `--rules`
//! variant, is explained as such, not as a missing cache entry.

use std::fs;
use std::path::Path;

use crate::support::*;

/// A main package that imports nothing (few standard-library actions), with
/// a nonce so its own actions always miss, whatever the shared cache holds.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("explain-keys-")
        .tempdir_in(scratch())
        .unwrap();
    write_files(
        dir.path(),
        &[
            ("go.mod", "module example.com/keys\n\ngo 1.22\n"),
            (
                "main.go",
                &format!("package main\n\nfunc main() {{ println({:?}) }}\n", nonce()),
            ),
        ],
    );
    dir
}

/// A copy of the repository's `rules/` with `from` replaced by `to` in `file`.
fn rules_with(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("rules-")
        .tempdir_in(scratch())
        .unwrap();
    copy_tree(&repo().join("rules"), dir.path());
    let path = dir.path().join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
    dir
}

/// Builds once with the built-in rules, then with `rules` and `--explain`;
/// returns what was printed and the reason tags of the summary.
fn explain_after(root: &Path, rules: &Path) -> (String, Vec<String>) {
    let platform = ["--platform", "linux/amd64"];
    Gobuildr::new(root).build_ok(root, &platform);
    let summary = root.join(".explain.json");
    let out = Gobuildr::new(root)
        .arg("--rules")
        .arg(rules)
        .args(["build", "--explain", "--summary-json"])
        .arg(&summary)
        .args(platform)
        .run();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let s = Summary::load(&summary);
    let tags = s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["reasons"].as_array().unwrap().clone())
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    (err, tags)
}

#[test]
fn tool_environment_change_is_named() {
    let ws = workspace();
    let rules = rules_with("tools.toml", "LC_ALL = \"C\"", "LC_ALL = \"C.UTF-8\"");
    let (err, tags) = explain_after(ws.path(), rules.path());
    assert!(
        err.contains("explain: compile example.com/keys (linux/amd64): tool environment changed: -[LC_ALL=C] +[LC_ALL=C.UTF-8]"),
        "{err}"
    );
    assert!(!err.contains("cache entry is gone"), "{err}");
    assert!(tags.iter().any(|t| t == "tool_env_changed"), "{tags:?}");
    assert!(!tags.iter().any(|t| t == "cache_entry_missing"), "{tags:?}");
}

#[test]
fn platform_environment_change_is_named() {
    let ws = workspace();
    let rules = rules_with(
        "platforms.toml",
        "var = \"GOAMD64\", default = \"v1\"",
        "var = \"GOAMD64\", default = \"v2\"",
    );
    let (err, tags) = explain_after(ws.path(), rules.path());
    assert!(
        err.contains("platform environment changed: -[GOAMD64=v1] +[GOAMD64=v2]"),
        "{err}"
    );
    // Named once, not again as the action's own environment.
    assert!(!err.contains("; environment changed"), "{err}");
    assert!(!err.contains("cache entry is gone"), "{err}");
    assert!(tags.iter().any(|t| t == "platform_env_changed"), "{tags:?}");
    assert!(!tags.iter().any(|t| t == "cache_entry_missing"), "{tags:?}");
}
