//! go test -cover: the cover tool instruments a covered package's non-test
//! files (and, in its testmain mode, the test main) before the package's
//! compile, which compiles the instrumented copies with -coveragecfg.
//!
//! The tool runs on sandbox-relative paths, so the `//line` directives it
//! writes name `src/...`, which the compile's -trimpath maps as it maps
//! its own sandbox's sources: no sandbox path reaches an object.

use petgraph::graph::NodeIndex;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::action::output_input;
use super::planner::{PackageCx, Planner};
use super::{
    ActionKind, CoverOptions, Input, PlanError, Root, Source, COVER_PROFILE, GOROOT, SB, TOOLDIR,
};
use std::collections::BTreeMap;

use crate::discover::cover::{register, Registration};
use crate::discover::{tool_path, Package, PackageGraph};
use crate::rules::rules;

/// Under -coverpkg, the meta-data a test run counts, by package (see
/// `exec`, which writes go's meta-files file from it).
pub const META_INDEX: &str = "meta/index";

/// The configuration the compile reads (`-coveragecfg`).
pub(super) const COVERAGECFG: &str = "obj/coveragecfg";

/// A package's cover run, as its compile uses it.
pub(super) struct CoverStep {
    pub node: NodeIndex,
    /// The instrumented file of each covered one, by name.
    pub files: Vec<(String, String)>,
}

/// cmd/cover's -pkgcfg (covcmd.CoverPkgConfig; its field names).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PkgConfig<'a> {
    out_config: &'a str,
    pkg_path: &'a str,
    pkg_name: &'a str,
    granularity: &'a str,
    module_path: &'a str,
    local: bool,
    emit_meta_file: &'a str,
}

/// cmd/go's counter variable prefix: 12 hex digits of the SHA-256 of the
/// package path, so instrumentation cannot collide with user names.
fn cover_var(pkgpath: &str) -> String {
    let sum = Sha256::digest(pkgpath.as_bytes());
    let hex: String = sum[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("goCover_{hex}_")
}

/// The instrumented copy of a file, as go names it.
fn cover_name(file: &str) -> String {
    format!("obj/{}.cover.go", file.trim_end_matches(".go"))
}

impl Planner<'_> {
    /// How a package is instrumented: a test main in testmain mode, a
    /// package under test in the request's mode.
    pub(super) fn cover_mode(&self, pkg: &Package) -> Option<String> {
        let opts = self.req.tests?.cover.as_ref()?;
        if pkg.testmain.is_some() {
            return Some("testmain".into());
        }
        self.covered
            .contains_key(&pkg.import_path)
            .then(|| opts.mode.clone())
    }

    /// Under -coverpkg, what each test run counts statements of besides
    /// what it links: the meta-data of every selected package the request
    /// names (staged under meta/, with an index the run turns into go's
    /// meta-files file, leaving out packages with no functions).
    pub(super) fn meta_inputs(&self) -> Vec<Input> {
        let Some(opts) = self.req.tests.and_then(|t| t.cover.as_ref()) else {
            return Vec::new();
        };
        if opts.pkgs.is_empty() {
            return Vec::new();
        }
        let named =
            |p: &String| self.roots.contains(p) || self.roots.contains(&format!("{p}.test"));
        let mut index = String::new();
        let mut inputs = Vec::new();
        for (p, _) in self.covered.iter().filter(|(p, m)| **m && named(p)) {
            let Some(&node) = self.cover_runs.get(p) else {
                continue;
            };
            let name = meta_name(p);
            index.push_str(&format!("{p}\t{name}\n"));
            inputs.push(output_input(
                &format!("meta/{name}"),
                node,
                &format!("obj/{name}"),
            ));
        }
        inputs.push(generated(META_INDEX, index.into_bytes()));
        inputs
    }

    /// A test main's text, with go test's coverage registration under
    /// -cover.
    pub(super) fn registered(&self, main: &Package, text: &str) -> String {
        let Some(opts) = self.req.tests.and_then(|t| t.cover.as_ref()) else {
            return text.to_string();
        };
        let tested = main.import_path.trim_end_matches(".test");
        let patterns: Vec<&str> = opts.pkgs.iter().map(|p| p.raw.as_str()).collect();
        let r = Registration {
            mode: &opts.mode,
            covered: if patterns.is_empty() {
                String::new()
            } else {
                format!(" in {}", patterns.join(", "))
            },
            selected: if patterns.is_empty() {
                vec![tested]
            } else {
                let meta = self.covered.iter().filter(|(_, m)| **m);
                meta.map(|(p, _)| p.as_str()).collect()
            },
        };
        register(text, &r)
    }

    /// The cover run of a package, if it has files to instrument.
    pub(super) fn plan_cover(&mut self, cx: &PackageCx) -> Result<Option<CoverStep>, PlanError> {
        let pkg = cx.pkg;
        let Some(mode) = self.cover_mode(pkg) else {
            return Ok(None);
        };
        let covered: Vec<&String> = pkg
            .go_files
            .iter()
            .filter(|f| !f.ends_with("_test.go"))
            .collect();
        if covered.is_empty() {
            return Ok(None);
        }
        let pkgpath = tool_path(&pkg.import_path);
        let mut outs = vec!["obj/covervars.go".to_string()];
        outs.extend(covered.iter().map(|f| cover_name(f)));
        let meta = self.covered.get(&pkg.import_path) == Some(&true);
        let meta_file = meta.then(|| format!("obj/{}", meta_name(pkgpath)));
        let mut inputs = vec![
            generated("obj/pkgcfg.txt", pkg_config(pkg, meta_file.as_deref())?),
            generated(
                "obj/coveroutfiles.txt",
                format!("{}\n", outs.join("\n")).into_bytes(),
            ),
        ];
        let mut argv = vec![format!("{TOOLDIR}/{}", rules().cover.tool)];
        for (flag, value) in [
            ("-pkgcfg", "obj/pkgcfg.txt".to_string()),
            ("-mode", mode),
            ("-var", cover_var(pkgpath)),
            ("-outfilelist", "obj/coveroutfiles.txt".to_string()),
        ] {
            argv.extend([flag.to_string(), value]);
        }
        for f in &covered {
            inputs.push(self.go_file(cx, f)?);
            argv.push(cx.layout.at(f));
        }
        let files = covered
            .iter()
            .map(|f| (f.to_string(), cover_name(f)))
            .collect();
        outs.push(COVERAGECFG.into());
        outs.extend(meta_file);
        let mut action = cx.base.action(ActionKind::Cover, argv, inputs, outs);
        action.env = self.tool_env(GOROOT);
        let node = self.add(action);
        self.cover_runs.insert(pkg.import_path.clone(), node);
        Ok(Some(CoverStep { node, files }))
    }

    /// The profile of a selected package with no tests (`covdata
    /// textfmt` of its meta-data: every block unrun), for its report line.
    /// A package with no functions writes empty meta-data, which covdata
    /// refuses: its profile is then empty, as go test then reports none.
    pub(super) fn plan_coverage_report(&mut self, pkg: &Package) {
        let (Some(covdata), Some(&cover)) = (self.covdata, self.cover_runs.get(&pkg.import_path))
        else {
            return;
        };
        let name = meta_name(tool_path(&pkg.import_path));
        let inputs = vec![
            output_input("obj/covdata", covdata, "obj/a.out"),
            output_input(&format!("meta/{name}"), cover, &format!("obj/{name}")),
        ];
        let script =
            "if [ -s \"$1\" ]; then exec \"$2\" textfmt -i=\"$3\" -o=\"$4\"; else : > \"$4\"; fi";
        let argv = ["/bin/sh", "-c", script, "covdata"]
            .iter()
            .map(|s| s.to_string())
            .chain([
                format!("{SB}/meta/{name}"),
                format!("{SB}/obj/covdata"),
                format!("{SB}/meta"),
                format!("{SB}/{COVER_PROFILE}"),
            ])
            .collect();
        let action = super::Action {
            kind: ActionKind::CovData,
            package: pkg.import_path.clone(),
            platform: self.graph.platform.clone(),
            argv,
            env: self.tool_env(GOROOT),
            inputs,
            outputs: vec![COVER_PROFILE.into()],
            src_display: String::new(),
            src_link: None,
            module: None,
        };
        let node = self.add(action);
        let platform = self.graph.platform.clone();
        if let Some(t) = self
            .plan
            .tests
            .iter_mut()
            .find(|t| t.package == pkg.import_path && t.platform == platform)
        {
            t.coverage = Some(node);
        }
    }
}

/// `-coverpkg`: what every test binary instruments, each with whether it
/// writes meta-data (the packages themselves do; their test variants, the
/// same files, do not). As go selects: matching packages the tests reach,
/// with Go files, never unsafe, nor in atomic mode the atomics it uses.
pub(super) fn selected(
    graph: &PackageGraph,
    roots: &[&Root],
    cover: &CoverOptions,
) -> BTreeMap<String, bool> {
    let reached = super::closure(graph, roots.iter().map(|r| &r.import_path));
    let atomics = ["sync/atomic", "internal/runtime/atomic"];
    let chosen = |p: &Package| {
        cover.pkgs.iter().any(|c| c.matcher.matches(p))
            && !p.go_files.is_empty()
            && p.import_path != "unsafe"
            && !(cover.mode == "atomic" && atomics.contains(&p.import_path.as_str()))
    };
    let mut out = BTreeMap::new();
    for name in reached {
        let pkg = &graph.packages[name];
        if pkg.testmain.is_some() {
            continue;
        }
        let plain = graph.packages.get(tool_path(name)).filter(|p| chosen(p));
        if let Some(p) = plain {
            out.insert(name.clone(), p.import_path == *name);
            out.insert(p.import_path.clone(), true);
        }
    }
    out
}

/// The cover tool's -pkgcfg for a package.
fn pkg_config(pkg: &Package, meta_file: Option<&str>) -> Result<Vec<u8>, PlanError> {
    let cfg = PkgConfig {
        out_config: COVERAGECFG,
        pkg_path: tool_path(&pkg.import_path),
        pkg_name: &pkg.name,
        granularity: &rules().cover.granularity,
        module_path: pkg.module.as_ref().map_or("", |m| m.path.as_str()),
        local: false,
        emit_meta_file: meta_file.unwrap_or(""),
    };
    serde_json::to_vec(&cfg).map_err(|e| PlanError::Packages(e.to_string()))
}

/// cmd/go's name for a package's meta-data file (covcmd.MetaFileForPackage).
fn meta_name(pkgpath: &str) -> String {
    let sum = Sha256::digest(pkgpath.as_bytes());
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    format!("covmeta.{hex}")
}

impl CoverStep {
    /// compile's flags for the instrumented package: -coveragecfg after
    /// -goversion, as go puts it, and the relative sources the cover
    /// tool's //line directives name mapped as the sandbox's are.
    pub(super) fn compile_flags(&self, planner: &Planner, cx: &PackageCx) -> Vec<String> {
        let rel = cx.layout.at("");
        let target = Planner::trim_target(cx.pkg);
        let trimpath = format!("{}=>{target};{}", rel.trim_end_matches('/'), cx.trimpath);
        let mut argv = planner.compile_flags(cx.pkg, &cx.pkgpath, &trimpath);
        let at = argv
            .iter()
            .position(|a| a == "-goversion")
            .map_or(argv.len(), |i| i + 2);
        argv.insert(at, format!("-coveragecfg={SB}/{COVERAGECFG}"));
        argv
    }

    /// The compile's inputs from this run: the counters' file, then the
    /// configuration.
    pub(super) fn fixed_inputs(&self) -> Vec<Input> {
        [("obj/covervars.go"), (COVERAGECFG)]
            .iter()
            .map(|name| output_input(name, self.node, name))
            .collect()
    }

    /// The instrumented copy of `file`, if it is one of the covered files.
    pub(super) fn copy_of(&self, file: &str) -> Option<Input> {
        let (_, name) = self.files.iter().find(|(f, _)| f == file)?;
        Some(output_input(name, self.node, name))
    }
}

fn generated(at: &str, bytes: Vec<u8>) -> Input {
    Input {
        at: at.into(),
        source: Source::Generated(bytes),
        writable: false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counter_names_are_cmd_gos() {
        // go test -cover -x on example.com/cv/a names goCover_6668b28aade2_.
        assert_eq!(
            super::cover_var("example.com/cv/a"),
            "goCover_6668b28aade2_"
        );
        assert_eq!(super::cover_name("a.go"), "obj/a.cover.go");
    }
}
