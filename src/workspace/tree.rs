//! The workspace's files: one walk that yields every file `go list` and
//! the tools could read (for the discovery key) and the package directories
//! labels select from.
//!
//! Skipped: files and directories whose names start with `.` (VCS data,
//! editor files; go ignores them too, except for `//go:embed all:`
//! patterns, whose files still enter compile keys by content), gobuildr's
//! own output, and nested modules that are not part of the workspace.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub struct Tree {
    /// Every file, relative to the root, `/`-separated, sorted.
    pub files: Vec<String>,
    /// Files of local replacement directories (`replace m => ../dir`),
    /// absolute: go list reads them too, but they hold no labels.
    pub external: Vec<PathBuf>,
}

impl Tree {
    /// Walks the workspace's modules (directories relative to `root`) and
    /// the local replacement directories.
    pub fn walk(root: &Path, modules: &[String], replacements: &[PathBuf]) -> Tree {
        let mut files = Vec::new();
        for m in modules {
            walk(root, &root.join(m), modules, &mut files);
        }
        files.sort();
        files.dedup();
        let mut external = Vec::new();
        for dir in replacements.iter().filter(|d| !d.starts_with(root)) {
            let mut rel = Vec::new();
            walk(dir, dir, &[], &mut rel);
            external.extend(rel.into_iter().map(|r| dir.join(r)));
        }
        external.sort();
        Tree { files, external }
    }

    /// Directories holding at least one non-test .go file, as go's `./...`
    /// sees them: nothing under testdata or vendor, or under a directory
    /// whose name starts with `.` or `_`.
    /// With `tests`, a directory of test files only is a package too, as
    /// for go test.
    pub fn package_dirs(&self, tests: bool) -> BTreeSet<String> {
        self.files
            .iter()
            .filter_map(|f| {
                let (dir, name) = f.rsplit_once('/').unwrap_or(("", f));
                let go = name.ends_with(".go")
                    && (tests || !name.ends_with("_test.go"))
                    && !name.starts_with(['.', '_']);
                let hidden = dir
                    .split('/')
                    .any(|c| c == "testdata" || c == "vendor" || c.starts_with(['.', '_']));
                (go && !hidden).then(|| dir.to_string())
            })
            .collect()
    }
}

fn walk(root: &Path, dir: &Path, modules: &[String], out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(ft) = e.file_type() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let path = e.path();
        let rel = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if ft.is_dir() {
            if name == "gobuildr-out" || modules.contains(&rel) {
                continue;
            }
            if path.join("go.mod").is_file() {
                continue;
            }
            walk(root, &path, modules, out);
        } else if ft.is_file() {
            out.push(rel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_dirs_follow_go_rules() {
        let t = Tree {
            files: [
                "a.go",
                "cmd/x/main.go",
                "cmd/x/x_test.go",
                "testdata/t.go",
                "_skip/s.go",
                "only_test/t_test.go",
                "vendor/v/v.go",
                "assets/a.txt",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            external: Vec::new(),
        };
        let dirs: Vec<String> = t.package_dirs(false).into_iter().collect();
        assert_eq!(dirs, vec!["", "cmd/x"]);
        let dirs: Vec<String> = t.package_dirs(true).into_iter().collect();
        assert_eq!(dirs, vec!["", "cmd/x", "only_test"]);
    }
}
