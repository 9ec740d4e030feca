//! `//go:embed`: which files each pattern selects, and the embedcfg that
//! tells the compiler.

use std::collections::BTreeMap;

use super::layout::Layout;
use super::planner::Planner;
use super::{Input, PlanError, Source, SB};
use crate::discover::Package;
use crate::workspace::glob::prefix_match;

/// The files each `//go:embed` pattern selects, out of the package's
/// embedded files: a file matches when its leading path elements match the
/// pattern's (a file directly, or one below a matched directory).
fn embed_patterns(pkg: &Package) -> BTreeMap<String, Vec<String>> {
    pkg.embed_patterns
        .iter()
        .map(|pat| {
            let glob = pat.strip_prefix("all:").unwrap_or(pat);
            let files = pkg
                .embed_files
                .iter()
                .filter(|f| prefix_match(glob, f))
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
