//! The crate's shape: every module may use only modules declared before it
//! in `src/lib.rs` (the layer order written there), so no two modules
//! reach into each other; and no function outside tests grows past 60
//! lines.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::repo;

/// The `pub mod` declarations of lib.rs, in order, with their rank.
fn layer_order() -> BTreeMap<String, usize> {
    let lib = fs::read_to_string(repo().join("src/lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod ")?.strip_suffix(';'))
        .enumerate()
        .map(|(i, m)| (m.to_string(), i))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to (`src/plan/keys.rs` →
/// `plan`).
fn owner(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_string()
}

/// Every `crate::name` a line of code (not a comment) names.
fn crate_refs(line: &str) -> Vec<String> {
    if line.trim_start().starts_with("//") {
        return Vec::new();
    }
    line.match_indices("crate::")
        .filter(|(i, _)| !line[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(i, m)| {
            line[i + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn no_module_uses_one_declared_after_it() {
    let rank = layer_order();
    assert!(rank.len() > 20, "lib.rs declares {} modules", rank.len());
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = Vec::new();
    for f in &files {
        let from = owner(&src, f);
        let Some(&from_rank) = rank.get(&from) else {
            continue; // lib.rs, main.rs
        };
        let text = fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            for to in crate_refs(line) {
                if rank.get(&to).is_some_and(|&r| r > from_rank) {
                    upward.push(format!("{}:{}: {from} uses {to}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "edges up the layer order of src/lib.rs:\n{}",
        upward.join("\n")
    );
}

#[test]
fn crate_refs_finds_paths_in_code_only() {
    assert_eq!(crate_refs("use crate::plan::{Plan, Root};"), ["plan"]);
    assert_eq!(
        crate_refs("    let x = crate::vcs::read(crate::digest::X);"),
        ["vcs", "digest"]
    );
    assert!(crate_refs("    // see crate::plan").is_empty());
    assert!(crate_refs("use mycrate::plan;").is_empty());
}

/// Lines of each function outside tests: from its `fn` line to the closing
/// brace at the same indentation.
fn long_functions(file: &Path, limit: usize) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut out = Vec::new();
    for (i, l) in lines[..end].iter().enumerate() {
        let body = l.trim_start();
        let indent = l.len() - body.len();
        let Some(name) = fn_name(body) else { continue };
        if body.ends_with(';') {
            continue;
        }
        let closing = " ".repeat(indent) + "}";
        let len = lines[i..end]
            .iter()
            .position(|x| x.starts_with(&closing) && !x[indent..].starts_with("} else"))
            .map_or(0, |k| k + 1);
        if len > limit {
            out.push(format!(
                "{}:{}: {name} has {len} lines",
                file.display(),
                i + 1
            ));
        }
    }
    out
}

fn fn_name(line: &str) -> Option<&str> {
    let rest = line
        .trim_start_matches("pub(crate) ")
        .trim_start_matches("pub(super) ")
        .trim_start_matches("pub ")
        .trim_start_matches("const ")
        .strip_prefix("fn ")?;
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
}

#[test]
fn no_function_outside_tests_is_longer_than_60_lines() {
    let src = repo().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs"))
        .flat_map(|f| long_functions(f, 60))
        .collect();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}
