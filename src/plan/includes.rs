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
/// Where a scan looks and how far it may go.
pub struct Search<'a> {
    /// The user's relative `-I` directories (from -asmflags), in order.
    pub dirs: &'a [String],
    /// GOROOT's pkg/include: searched before the user's directories.
    pub goroot_include: &'a Path,
    /// The directory includes may not escape, and its name for messages.
    pub limit: &'a Path,
    pub limit_name: &'a str,
}

/// The relative `-I` directories of an assembler flag list
/// (`-I dir`, `-I=dir`, `--I=dir`).
pub fn relative_dirs(flags: &[String]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < flags.len() {
        let f = flags[i].trim_start_matches('-');
        let (at, dir) = match f.strip_prefix("I") {
            Some("") if flags[i].starts_with('-') => (i + 1, flags.get(i + 1).cloned()),
            Some(v) if flags[i].starts_with('-') && v.starts_with('=') => {
                (i, Some(v[1..].to_string()))
            }
            _ => (i, None),
        };
        if let Some(d) = dir.filter(|d| !Path::new(d).is_absolute()) {
            out.push((at, d));
        }
        i = at + 1;
    }
    out
}

/// Where `name` resolves, relative to the package directory, by the
/// assembler's order: the package directory, GOROOT's pkg/include (staged
/// apart: None), then the user's directories.
fn resolve(pkg_dir: &Path, name: &str, search: &Search) -> Option<String> {
    let here = normalise(Path::new(name))?;
    if pkg_dir.join(&here).is_file() {
        return Some(here);
    }
    if name == "go_asm.h" || search.goroot_include.join(name).is_file() {
        return None;
    }
    search
        .dirs
        .iter()
        .filter_map(|d| normalise(&Path::new(d).join(name)))
        .find(|rel| pkg_dir.join(rel).is_file())
}

pub fn scan(pkg_dir: &Path, s_files: &[String], search: &Search) -> Result<Includes, PlanError> {
    let (limit, module) = (search.limit, search.limit_name);
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
            let Some(rel) = resolve(pkg_dir, name, search) else {
                continue;
            };
            let target = pkg_dir.join(&rel);
            if seen.contains(&rel) {
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
    fn include_flags() {
        let f = |v: &[&str]| relative_dirs(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            f(&["-I", "../c", "-D=X", "-I=inc", "-I", "/abs"]),
            vec![(1, "../c".to_string()), (3, "inc".to_string())]
        );
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
        let goroot = t.path().join("goroot");
        let limit_dh = m.join("dh");
        let search = |limit: &'static str| Search {
            dirs: &[],
            goroot_include: &goroot,
            limit: if limit == "mod" { &m } else { &limit_dh },
            limit_name: limit,
        };
        let inc = scan(&m.join("dh/x"), &["a.s".into()], &search("mod")).unwrap();
        assert_eq!(inc.depth, 2);
        assert_eq!(
            inc.files,
            vec!["../../math/fp/fp.h", "../../math/fp/more.h", "sub/s.h"]
        );
        assert_eq!(prefix(&m.join("dh/x"), 2), "dh/x/");
        let err = scan(&m.join("dh/x"), &["a.s".into()], &search("mod/dh")).unwrap_err();
        assert!(err.to_string().contains("outside mod/dh"), "{err}");
    }
}
