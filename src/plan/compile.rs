//! The compile action of a package: its flags in go build's order and its
//! importcfg.

use std::collections::BTreeSet;

use petgraph::graph::NodeIndex;

use super::action::{output_input, packagefile};
use super::cover::COVERAGECFG;
use super::planner::{codegen, PackageCx, Planner};
use super::{
    Action, ActionKind, Input, PlanError, Source, EXPORT, GOROOT, LINKOBJ, PREPROFILE, SB, TOOLDIR,
};
use crate::discover::Package;
use crate::rules::rules;

impl Planner<'_> {
    /// The -lang of the package: the toolchain's for the standard library,
    /// its module's go line otherwise.
    fn compile_lang(&self, pkg: &Package) -> String {
        if pkg.standard {
            return self.req.toolchain.lang();
        }
        match pkg.module.as_ref().and_then(|m| m.go_version.clone()) {
            Some(v) => crate::toolchain::lang_of(&v),
            None => rules().compile.default_lang.clone(),
        }
    }

    /// compile's flags up to `-importcfg`, in go build's order.
    pub(super) fn compile_flags(
        &self,
        pkg: &Package,
        pkgpath: &str,
        trimpath: &str,
    ) -> Vec<String> {
        let r = rules();
        let platform = &self.graph.platform;
        let mut argv = vec![
            format!("{TOOLDIR}/{}", r.compile.tool),
            "-o".into(),
            format!("{SB}/{EXPORT}"),
            "-linkobj".into(),
            format!("{SB}/{LINKOBJ}"),
        ];
        if r.compile.trimpath {
            argv.extend(["-trimpath".into(), trimpath.to_string()]);
        }
        let lang = self.compile_lang(pkg);
        argv.extend(["-p".into(), pkgpath.to_string(), format!("-lang={lang}")]);
        if pkg.standard {
            argv.push("-std".into());
        }
        let complete = pkg.s_files.is_empty()
            && pkg.syso_files.is_empty()
            && pkg.foreign_files() == 0
            && !(pkg.standard && r.compile.incomplete_std.contains(&pkg.import_path));
        if complete {
            argv.push("-complete".into());
        }
        let (shared, suffix) = codegen(self.req.flags.buildmode, platform);
        if suffix {
            argv.extend(["-installsuffix".into(), "shared".into()]);
        }
        argv.extend(["-buildid".into(), r.compile.buildid.clone()]);
        if platform.goos == "plan9" || platform.goarch == "wasm" {
            argv.push("-dwarf=false".into());
        }
        argv.extend(["-goversion".into(), self.req.toolchain.version.clone()]);
        if self.profile.is_some() {
            argv.push(format!("-pgoprofile={SB}/{PREPROFILE}"));
        }
        if !pkg.s_files.is_empty() {
            argv.extend(["-symabis".into(), format!("{SB}/obj/symabis")]);
        }
        argv.push(format!("-c={}", r.compile.concurrency));
        if shared {
            argv.push("-shared".into());
        }
        argv.extend(self.user_flags(&self.req.flags.gcflags, pkg));
        argv.extend([
            "-nolocalimports".into(),
            "-importcfg".into(),
            format!("{SB}/obj/importcfg"),
        ]);
        argv
    }

    /// The importcfg naming each import's export data, and those archives.
    fn importcfg(&self, pkg: &Package, inputs: &mut Vec<Input>) {
        let mut cfg = String::from("# import config\n");
        let mut imports: BTreeSet<&String> = pkg
            .imports
            .iter()
            .filter(|i| *i != "unsafe" && *i != "C")
            .collect();
        // What the cover tool's output imports: sync/atomic for atomic
        // counters, runtime/coverage in a main package.
        let (atomic, runtime) = ("sync/atomic".to_string(), "runtime/coverage".to_string());
        let mode = self.cover_mode(pkg);
        if mode.as_deref() == Some("atomic") && pkg.import_path != atomic {
            imports.insert(&atomic);
        }
        if mode.is_some() && pkg.is_main() {
            imports.insert(&runtime);
        }
        // A test variant's map (`p` → `p [p.test]`) is go list's naming,
        // not an importmap: the tools see the variant as `p`.
        for (from, to) in &pkg.import_map {
            let to = crate::discover::tool_path(to);
            if from != to {
                cfg.push_str(&format!("importmap {from}={to}\n"));
            }
        }
        for imp in &imports {
            cfg.push_str(&packagefile(imp));
            inputs.push(self.archive_input(imp, false));
        }
        inputs.push(Input {
            at: "obj/importcfg".into(),
            source: Source::Generated(cfg.into_bytes()),
            writable: false,
        });
    }

    /// A Go file of the package as compile and cover read it: the test
    /// main's text is generated.
    pub(super) fn go_file(&self, cx: &PackageCx, f: &str) -> Result<Input, PlanError> {
        Ok(match &cx.pkg.testmain {
            Some(text) => Input {
                at: cx.layout.at(f),
                source: Source::Generated(self.registered(cx.pkg, text).into_bytes()),
                writable: false,
            },
            None => self.src_input(cx.pkg, &cx.layout, f)?,
        })
    }

    /// The compile action: export data and link object, and go_asm.h for
    /// the package's assembly.
    pub(super) fn plan_compile(
        &mut self,
        cx: &PackageCx,
        symabis: Option<NodeIndex>,
    ) -> Result<NodeIndex, PlanError> {
        let (pkg, layout, base) = (cx.pkg, &cx.layout, &cx.base);
        let cover = self.plan_cover(cx)?;
        let mut argv = match &cover {
            Some(step) => step.compile_flags(self, cx),
            None => self.compile_flags(pkg, &cx.pkgpath, &cx.trimpath),
        };
        let mut inputs = Vec::new();
        if let Some(node) = symabis {
            inputs.push(output_input("obj/symabis", node, "obj/symabis"));
        }
        if let Some(node) = self.profile {
            inputs.push(output_input(PREPROFILE, node, PREPROFILE));
        }
        self.importcfg(pkg, &mut inputs);
        self.embedcfg(pkg, layout, &mut argv, &mut inputs)?;
        argv.push("-pack".into());
        let mut outputs = vec![EXPORT.to_string(), LINKOBJ.to_string()];
        if !pkg.s_files.is_empty() {
            argv.extend(["-asmhdr".into(), format!("{SB}/obj/go_asm.h")]);
            outputs.push("obj/go_asm.h".into());
        }
        let mut sources = cover.as_ref().map(|c| c.fixed_inputs()).unwrap_or_default();
        for f in &pkg.go_files {
            sources.push(match cover.as_ref().and_then(|c| c.copy_of(f)) {
                Some(copy) => copy,
                None => self.go_file(cx, f)?,
            });
        }
        for s in sources {
            // The configuration is a flag's value, not a file to compile.
            if s.at != COVERAGECFG {
                argv.push(format!("{SB}/{}", s.at));
            }
            inputs.push(s);
        }
        let action = base.action(ActionKind::Compile, argv, inputs, outputs);
        Ok(self.add(Action {
            env: self.tool_env(GOROOT),
            ..action
        }))
    }
}
