//! go test's vet: before a test binary runs, cmd/vet checks the package
//! with its internal tests and the external test package, reporting what
//! it finds; every package they import is vetted for facts only (what the
//! analysers know across packages, as `vet.out` files the importers read).
//! Flags and the analyser set are in `rules/vet.toml`.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;
use serde::Serialize;

use super::action::output_input;
use super::planner::Planner;
use super::{ActionKind, Input, PlanError, Source, GOROOT, SB, TOOLDIR};
use crate::discover::{test_variant_of, tool_path, Package};
use crate::rules::rules;

/// The facts vet writes, and where an importer's vet finds them.
const VETX: &str = "obj/vet.out";

/// Which analysers go test's vet runs (`-vet`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VetChecks {
    /// go test's curated set (rules/vet.toml).
    #[default]
    Default,
    /// `-vet=off`.
    Off,
    /// `-vet=all` (no flags: every analyser) or a list, as vet flags.
    Flags(Vec<String>),
}

/// vet.cfg, as cmd/vet's unitchecker reads it (its field names).
#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VetConfig {
    #[serde(rename = "ID")]
    id: String,
    compiler: &'static str,
    dir: String,
    import_path: String,
    go_files: Vec<String>,
    non_go_files: Vec<String>,
    ignored_files: Vec<String>,
    module_path: String,
    module_version: String,
    import_map: BTreeMap<String, String>,
    package_file: BTreeMap<String, String>,
    standard: BTreeMap<String, bool>,
    package_vetx: BTreeMap<String, String>,
    vetx_only: bool,
    vetx_output: String,
    go_version: String,
    succeed_on_typecheck_failure: bool,
}

impl VetChecks {
    /// vet's flags for a package (the standard library's own set unless
    /// the user chose the analysers, as in go test).
    fn flags(&self, standard: bool) -> Vec<String> {
        let r = &rules().vet;
        match self {
            VetChecks::Flags(f) => f.clone(),
            _ if standard => r.std_flags.clone(),
            _ => r.flags.clone(),
        }
    }
}

impl Planner<'_> {
    /// The vet actions a test run waits for: the package's own (with its
    /// internal tests) and its external test package's, both reporting.
    pub(super) fn plan_test_vets(&mut self, package: &str) -> Result<Vec<NodeIndex>, PlanError> {
        let Some(opts) = self.req.tests else {
            return Ok(Vec::new());
        };
        if opts.vet == VetChecks::Off {
            return Ok(Vec::new());
        }
        let graph = self.graph;
        let internal = test_variant_of(package, package);
        let ptest = graph
            .packages
            .get(&internal)
            .or(graph.packages.get(package));
        let external = test_variant_of(&format!("{package}_test"), package);
        let pxtest = graph.packages.get(&external);
        let mut out = Vec::new();
        for pkg in ptest.into_iter().chain(pxtest) {
            if !pkg.go_files.is_empty() {
                out.push(self.plan_vet(pkg, true)?);
            }
        }
        Ok(out)
    }

    /// A package's vet, after its imports' (for their facts).
    fn plan_vet(&mut self, pkg: &Package, report: bool) -> Result<NodeIndex, PlanError> {
        let memo = (pkg.import_path.clone(), report);
        if let Some(&node) = self.vets.get(&memo) {
            return Ok(node);
        }
        let graph = self.graph;
        let mut facts = Vec::new();
        // A test variant's list repeats what both its file sets import.
        let imports: std::collections::BTreeSet<&String> = pkg.imports.iter().collect();
        for imp in imports {
            if let (Some(dep), true) = (graph.packages.get(imp), self.archives.contains_key(imp)) {
                facts.push((dep, self.plan_vet(dep, false)?));
            }
        }
        let node = self.add_vet(pkg, report, &facts)?;
        self.vets.insert(memo, node);
        Ok(node)
    }

    /// vet.cfg's view of the imports: how source names them, their export
    /// data and facts (staged), and which are the standard library's.
    fn vet_imports(
        &self,
        pkg: &Package,
        facts: &[(&Package, NodeIndex)],
        cfg: &mut VetConfig,
        inputs: &mut Vec<Input>,
    ) {
        for imp in pkg
            .imports
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            let tool = tool_path(imp);
            let raw = pkg.import_map.iter().find(|(_, to)| *to == imp);
            let raw = raw.map_or(tool, |(from, _)| from.as_str());
            cfg.import_map.insert(raw.into(), tool.into());
        }
        for (dep, node) in facts {
            let (imp, tool) = (&dep.import_path, tool_path(&dep.import_path));
            cfg.package_file
                .insert(tool.into(), format!("{SB}/pkg/{imp}.a"));
            inputs.push(self.archive_input(imp, false));
            cfg.package_vetx
                .insert(tool.into(), format!("{SB}/vetx/{imp}.out"));
            inputs.push(output_input(&format!("vetx/{imp}.out"), *node, VETX));
            if dep.standard {
                cfg.standard.insert(tool.into(), true);
            }
        }
    }

    fn add_vet(
        &mut self,
        pkg: &Package,
        report: bool,
        facts: &[(&Package, NodeIndex)],
    ) -> Result<NodeIndex, PlanError> {
        let cx = self.package_cx(pkg)?;
        let mut cfg = self.vet_config(pkg, report);
        // After the package's own compile, as in go: a package that does
        // not compile is not vetted (the compiler's errors say it all).
        let mut inputs = vec![self.archive_input(&pkg.import_path, false)];
        inputs[0].at = "obj/self.a".into();
        self.vet_imports(pkg, facts, &mut cfg, &mut inputs);
        let files = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .map(|f| format!("{SB}/{}", cx.layout.at(f)))
                .collect()
        };
        cfg.go_files = files(&pkg.go_files);
        let others: Vec<String> = pkg.s_files.iter().chain(&pkg.h_files).cloned().collect();
        cfg.non_go_files = files(&others);
        cfg.ignored_files = files(&pkg.ignored_go_files);
        for f in pkg
            .go_files
            .iter()
            .chain(&others)
            .chain(&pkg.ignored_go_files)
        {
            inputs.push(self.src_input(pkg, &cx.layout, f)?);
        }
        let json =
            serde_json::to_vec_pretty(&cfg).map_err(|e| PlanError::Packages(e.to_string()))?;
        inputs.push(Input {
            at: "obj/vet.cfg".into(),
            source: Source::Generated(json),
            writable: false,
        });
        let r = &rules().vet;
        let mut argv = vec![format!("{TOOLDIR}/{}", r.tool)];
        let checks = self.req.tests.map(|t| t.vet.clone()).unwrap_or_default();
        argv.extend(checks.flags(pkg.standard));
        argv.push(format!("{SB}/obj/vet.cfg"));
        let mut action = cx
            .base
            .action(ActionKind::Vet, argv, inputs, vec![VETX.into()]);
        action.env = self.tool_env(GOROOT);
        action.env.push(("TERM".into(), r.term.clone()));
        Ok(self.add(action))
    }

    /// The parts of vet.cfg that depend on the package alone.
    fn vet_config(&self, pkg: &Package, report: bool) -> VetConfig {
        let module = pkg.module.as_ref();
        let go_version = match module {
            None => self.req.toolchain.version.clone(),
            Some(m) => m.go_version.as_ref().map_or_else(
                || rules().compile.default_lang.clone(),
                |v| format!("go{v}"),
            ),
        };
        VetConfig {
            id: tool_path(&pkg.import_path).into(),
            compiler: "gc",
            dir: format!("{SB}/src"),
            import_path: tool_path(&pkg.import_path).into(),
            module_path: module.map(|m| m.path.clone()).unwrap_or_default(),
            module_version: module.map(|m| m.version.clone()).unwrap_or_default(),
            vetx_only: !report,
            vetx_output: format!("{SB}/{VETX}"),
            go_version,
            ..VetConfig::default()
        }
    }
}
