//! `gobuildr query --diff OLD NEW`: what changed between two `--output
//! json` snapshots, per platform: packages and modules added, removed or
//! changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value as Json;

/// What a snapshot says of one platform (with its tags).
#[derive(Default)]
struct Side {
    /// import path → (module, files, bytes)
    packages: BTreeMap<String, (String, u64, u64)>,
    /// module path → version ("" for a main module)
    modules: BTreeMap<String, String>,
}

/// Reads both snapshots and describes the differences, one a line.
pub fn diff_files(old: &Path, new: &Path) -> Result<String, String> {
    Ok(diff(&load(old)?, &load(new)?))
}

fn load(path: &Path) -> Result<BTreeMap<String, Side>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--diff: reading {}: {e}", path.display()))?;
    let bad = |why: &str| {
        format!(
            "--diff: {} is not a query --output json snapshot: {why}",
            path.display()
        )
    };
    let json: Json = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let items = json.as_array().ok_or_else(|| bad("not an array"))?;
    let mut sides: BTreeMap<String, Side> = BTreeMap::new();
    for item in items {
        let str_of = |k: &str| item.get(k).and_then(Json::as_str);
        let platform = str_of("platform").ok_or_else(|| bad("an entry has no platform"))?;
        let side = sides.entry(context_name(platform, item)).or_default();
        let module = str_of("module").unwrap_or("");
        if module != "std" && !module.is_empty() {
            let (path, version) = module.split_once('@').unwrap_or((module, ""));
            side.modules.insert(path.to_string(), version.to_string());
        }
        if let Some(p) = str_of("import_path") {
            let num = |k: &str| item.get(k).and_then(Json::as_u64).unwrap_or(0);
            let facts = (module.to_string(), num("files"), num("bytes"));
            side.packages.insert(p.to_string(), facts);
        }
    }
    Ok(sides)
}

/// `linux/amd64`, or `linux/amd64 [purego]` with tags.
fn context_name(platform: &str, item: &Json) -> String {
    let tags: Vec<&str> = item
        .get("tags")
        .and_then(Json::as_array)
        .map(|t| t.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    if tags.is_empty() {
        platform.to_string()
    } else {
        format!("{platform} [{}]", tags.join(","))
    }
}

fn diff(old: &BTreeMap<String, Side>, new: &BTreeMap<String, Side>) -> String {
    let empty = Side::default();
    let mut out = String::new();
    let contexts: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for ctx in contexts {
        let (a, b) = (
            old.get(ctx).unwrap_or(&empty),
            new.get(ctx).unwrap_or(&empty),
        );
        let mut lines = Vec::new();
        compare(
            &a.modules,
            &b.modules,
            &mut lines,
            |name, v| {
                if v.is_empty() {
                    format!("module {name}")
                } else {
                    format!("module {name}@{v}")
                }
            },
            |name, x, y| format!("module {name}: {x} → {y}"),
        );
        compare(
            &a.packages,
            &b.packages,
            &mut lines,
            |name, p| format!("package {name} ({})", p.0),
            package_change,
        );
        if !lines.is_empty() {
            let _ = writeln!(out, "{ctx}:");
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    if out.is_empty() {
        out.push_str("no differences\n");
    }
    out
}

/// `+ added`, `- removed` and `~ changed` lines of one kind of entry.
fn compare<T: PartialEq>(
    a: &BTreeMap<String, T>,
    b: &BTreeMap<String, T>,
    lines: &mut Vec<String>,
    show: impl Fn(&str, &T) -> String,
    change: impl Fn(&str, &T, &T) -> String,
) {
    for (name, x) in a {
        match b.get(name) {
            None => lines.push(format!("- {}", show(name, x))),
            Some(y) if x != y => lines.push(format!("~ {}", change(name, x, y))),
            Some(_) => {}
        }
    }
    for (name, y) in b.iter().filter(|(n, _)| !a.contains_key(*n)) {
        lines.push(format!("+ {}", show(name, y)));
    }
}

fn package_change(name: &str, x: &(String, u64, u64), y: &(String, u64, u64)) -> String {
    let mut parts = Vec::new();
    if x.0 != y.0 {
        parts.push(format!("module {} → {}", x.0, y.0));
    }
    if x.1 != y.1 {
        parts.push(format!("files {} → {}", x.1, y.1));
    }
    if x.2 != y.2 {
        parts.push(format!("bytes {} → {}", x.2, y.2));
    }
    format!("package {name}: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{diff, Side};

    fn side(packages: &[(&str, &str, u64)], modules: &[(&str, &str)]) -> BTreeMap<String, Side> {
        let side = Side {
            packages: packages
                .iter()
                .map(|(p, m, b)| (p.to_string(), (m.to_string(), 1, *b)))
                .collect(),
            modules: modules
                .iter()
                .map(|(p, v)| (p.to_string(), v.to_string()))
                .collect(),
        };
        BTreeMap::from([("linux/amd64".to_string(), side)])
    }

    #[test]
    fn versions_packages_and_bytes() {
        let old = side(
            &[("x/sys/unix", "x/sys@v1", 10), ("gone", "std", 1)],
            &[("x/sys", "v1"), ("m", "")],
        );
        let new = side(
            &[("x/sys/unix", "x/sys@v2", 12), ("fresh", "std", 1)],
            &[("x/sys", "v2"), ("m", "")],
        );
        let want = "linux/amd64:\n  ~ module x/sys: v1 → v2\n  - package gone (std)\n  \
                    ~ package x/sys/unix: module x/sys@v1 → x/sys@v2, bytes 10 → 12\n  \
                    + package fresh (std)\n";
        assert_eq!(diff(&old, &new), want);
        assert_eq!(diff(&old, &old), "no differences\n");
        let only_new = diff(&BTreeMap::new(), &new);
        assert!(only_new.contains("+ module m\n"), "{only_new}");
    }
}
