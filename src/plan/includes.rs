//! The files a package's assembly includes through relative paths
//! (`#include "../../math/fp25519/fp_amd64.h"`, `#include "cgo/abi.h"`),
//! found by the assembler's own rule: a name is tried relative to the
//! directory of the `.s` file being assembled (the package directory, also
//! for names in nested headers), then in the `-I` directories (the object
//! directory for go_asm.h and GOROOT's pkg/include, both staged apart).
//!
//! Found files are staged at their place relative to the package, so the
//! sandbox must reach as many levels above the package as the deepest `..`:
//! that depth decides where the package's own files are staged.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use crate::goflags::clean;

use super::PlanError;

/// What a package's assembly reads beyond its own directory's files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Includes {
    /// Included files, relative to the package directory (may start with
    /// `..`), normalised, without the package's own top-level headers.
    pub files: Vec<String>,
    /// How many directories above the package the includes reach.
    pub depth: usize,
}

/// The quoted name of a `#include "name"` line, if the line is one.
fn include_name(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let rest = rest.strip_prefix("include")?.trim_start();
    let rest = rest.strip_prefix('"')?;
    rest.split_once('"').map(|(name, _)| name)
}

/// `rel` with `.` and inner `..` resolved; leading `..` kept.
fn normalise(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in rel.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match parts.last() {
                Some(p) if p != ".." => {
                    parts.pop();
                }
                _ => parts.push("..".into()),
            },
            Component::Normal(n) => parts.push(n.to_string_lossy().to_string()),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Scans the package's `.s` files and what they include, transitively.
/// `limit` is the directory includes may not escape (the module root),
/// `module` names it in the error.
pub fn scan(
    pkg_dir: &Path,
    s_files: &[String],
    limit: &Path,
    module: &str,
) -> Result<Includes, PlanError> {
    let mut queue: Vec<String> = s_files.to_vec();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut found = Includes::default();
    while let Some(file) = queue.pop() {
        let path = pkg_dir.join(&file);
        let text = std::fs::read(&path).map_err(|source| PlanError::Io {
            path: path.clone(),
            source,
        })?;
        for name in String::from_utf8_lossy(&text)
            .lines()
            .filter_map(include_name)
        {
            let Some(rel) = normalise(Path::new(name)) else {
                continue;
            };
            let target = pkg_dir.join(&rel);
            if !target.is_file() || seen.contains(&rel) {
                continue;
            }
            if !clean(&target).starts_with(clean(limit)) {
                return Err(PlanError::Unsupported(format!(
                    "{}: #include \"{name}\" reads {}, outside {module}",
                    path.display(),
                    clean(&target).display()
                )));
            }
            seen.insert(rel.clone());
            let up = rel.split('/').take_while(|p| *p == "..").count();
            found.depth = found.depth.max(up);
            if rel.contains('/') {
                found.files.push(rel.clone());
            }
            queue.push(rel);
        }
    }
    found.files.sort();
    Ok(found)
}

/// The last `depth` elements of the package directory: where the package's
/// files sit below the staged `src/` (empty, or ending in `/`).
pub fn prefix(pkg_dir: &Path, depth: usize) -> String {
    let elems: Vec<String> = pkg_dir
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().to_string()),
            _ => None,
        })
        .collect();
    let keep = depth.min(elems.len());
    elems[elems.len() - keep..]
        .iter()
        .map(|e| format!("{e}/"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(include_name("#include \"a.h\""), Some("a.h"));
        assert_eq!(
            include_name("  # include  \"../x/b.h\" // c"),
            Some("../x/b.h")
        );
        assert_eq!(include_name("#include <stdio.h>"), None);
        assert_eq!(include_name("MOVQ $1, AX"), None);
    }

    #[test]
    fn cross_directory() {
        let t = tempfile::tempdir().unwrap();
        let m = t.path().join("mod");
        std::fs::create_dir_all(m.join("dh/x")).unwrap();
        std::fs::create_dir_all(m.join("math/fp")).unwrap();
        std::fs::create_dir_all(m.join("dh/x/sub")).unwrap();
        std::fs::write(
            m.join("dh/x/a.s"),
            "#include \"textflag.h\"\n#include \"../../math/fp/fp.h\"\n#include \"sub/s.h\"\n",
        )
        .unwrap();
        std::fs::write(
            m.join("math/fp/fp.h"),
            "#include \"../../math/fp/more.h\"\n",
        )
        .unwrap();
        std::fs::write(m.join("math/fp/more.h"), "").unwrap();
        std::fs::write(m.join("dh/x/sub/s.h"), "").unwrap();
        let inc = scan(&m.join("dh/x"), &["a.s".into()], &m, "mod").unwrap();
        assert_eq!(inc.depth, 2);
        assert_eq!(
            inc.files,
            vec!["../../math/fp/fp.h", "../../math/fp/more.h", "sub/s.h"]
        );
        assert_eq!(prefix(&m.join("dh/x"), 2), "dh/x/");
        let err = scan(&m.join("dh/x"), &["a.s".into()], &m.join("dh"), "mod/dh").unwrap_err();
        assert!(err.to_string().contains("outside mod/dh"), "{err}");
    }
}
