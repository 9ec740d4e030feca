//! `//go:embed`: which files each pattern selects, and the embedcfg that
//! tells the compiler.

use std::collections::BTreeMap;

use super::layout::Layout;
use super::planner::Planner;
use super::{Input, PlanError, Source, SB};
use crate::discover::Package;

/// Path-component glob match, as Go's path.Match for one element.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().position(|&c| c == ']') else {
                    return false;
                };
                let Some(&c) = n.first() else { return false };
                let class = &p[1..close];
                let (negate, class) = match class.first() {
                    Some('^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negate && rec(&p[close + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && rec(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

/// The files each `//go:embed` pattern selects, out of the package's
/// embedded files: a file matches when its leading path elements match the
/// pattern's (a file directly, or one below a matched directory).
fn embed_patterns(pkg: &Package) -> BTreeMap<String, Vec<String>> {
    pkg.embed_patterns
        .iter()
        .map(|pat| {
            let glob = pat.strip_prefix("all:").unwrap_or(pat);
            let parts: Vec<&str> = glob.split('/').collect();
            let files = pkg
                .embed_files
                .iter()
                .filter(|f| {
                    let fp: Vec<&str> = f.split('/').collect();
                    fp.len() >= parts.len() && parts.iter().zip(&fp).all(|(g, n)| glob_match(g, n))
                })
                .cloned()
                .collect();
            (pat.clone(), files)
        })
        .collect()
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Planner<'_> {
    /// With `//go:embed`: compile's -embedcfg, the embedcfg and the files.
    pub(super) fn embedcfg(
        &self,
        pkg: &Package,
        layout: &Layout,
        argv: &mut Vec<String>,
        inputs: &mut Vec<Input>,
    ) -> Result<(), PlanError> {
        if pkg.embed_patterns.is_empty() {
            return Ok(());
        }
        let list = |files: &[String]| {
            files
                .iter()
                .map(|f| json_str(f))
                .collect::<Vec<_>>()
                .join(",")
        };
        let patterns: Vec<String> = embed_patterns(pkg)
            .iter()
            .map(|(p, files)| format!("{}:[{}]", json_str(p), list(files)))
            .collect();
        let files: Vec<String> = pkg
            .embed_files
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    json_str(f),
                    json_str(&format!("{SB}/{}", layout.at(f)))
                )
            })
            .collect();
        let cfg = format!(
            "{{\"Patterns\":{{{}}},\"Files\":{{{}}}}}",
            patterns.join(","),
            files.join(",")
        );
        argv.extend(["-embedcfg".into(), format!("{SB}/obj/embedcfg")]);
        inputs.push(Input {
            at: "obj/embedcfg".into(),
            source: Source::Generated(cfg.into_bytes()),
            writable: false,
        });
        for f in &pkg.embed_files {
            inputs.push(self.src_input(pkg, layout, f)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.txt", "a.txt"));
        assert!(!glob_match("*.txt", "a.go"));
        assert!(glob_match("[a-c]?", "bz"));
        assert!(!glob_match("[^a-c]?", "bz"));
    }

    #[test]
    fn embed_selection() {
        let pkg = Package {
            embed_patterns: vec!["static".into(), "hello.txt".into(), "all:t*".into()],
            embed_files: vec![
                "hello.txt".into(),
                "static/a.css".into(),
                "static/sub/b.js".into(),
                "tpl/x".into(),
            ],
            ..Default::default()
        };
        let m = embed_patterns(&pkg);
        assert_eq!(m["static"], vec!["static/a.css", "static/sub/b.js"]);
        assert_eq!(m["hello.txt"], vec!["hello.txt"]);
        assert_eq!(m["all:t*"], vec!["tpl/x"]);
    }
}
