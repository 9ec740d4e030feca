//! The link of a main package: its importcfg with the build info, its
//! flags (build mode, stamps, -ldflags), and the target it publishes.

use petgraph::graph::NodeIndex;

use super::action::packagefile;
use super::planner::{codegen, package_ref, Planner};
use super::{buildinfo, Action, ActionKind, Input, Root, Source, Target, GOROOT, SB, TOOLDIR};
use crate::discover::Package;
use crate::goflags::BuildMode;
use crate::rules::{rules, Platform};
use crate::workspace::label;

/// The link's -buildmode.
fn link_mode(mode: BuildMode, platform: &Platform) -> &'static str {
    match mode {
        BuildMode::Default => platform.link_buildmode(),
        BuildMode::Exe => "exe",
        BuildMode::Pie => "pie",
    }
}

impl Planner<'_> {
    /// The link of a main package, after its dependencies' archives.
    pub fn plan_link(&mut self, pkg: &Package, dir: &str, pgo: Option<&str>) -> NodeIndex {
        let inputs = self.link_inputs(pkg, pgo);
        let argv = self.link_argv(pkg);
        let goroot = if rules().link.clear_goroot {
            ""
        } else {
            GOROOT
        };
        let action = Action {
            kind: ActionKind::Link,
            package: pkg.import_path.clone(),
            platform: self.graph.platform.clone(),
            argv,
            env: self.tool_env(goroot),
            inputs,
            outputs: vec!["obj/a.out".into()],
            src_display: format!("{dir}/"),
            src_link: None,
            module: None,
        };
        self.add(action)
    }

    /// The link objects of the package and of every dependency planned,
    /// and the importcfg naming them, with the build info as its modinfo.
    fn link_inputs(&self, pkg: &Package, pgo: Option<&str>) -> Vec<Input> {
        let info = buildinfo::build_info(&buildinfo::InfoRequest {
            graph: self.graph,
            main: pkg,
            flags: self.req.flags,
            sums: (!self.req.vendored).then_some(self.req.sums),
            vcs: self.req.vcs,
            pgo,
        });
        let mut cfg = packagefile(&pkg.import_path);
        let mut inputs = vec![self.archive_input(&pkg.import_path, true)];
        for dep in &pkg.deps {
            if dep == "unsafe" || !self.archives.contains_key(dep) {
                continue;
            }
            cfg.push_str(&packagefile(dep));
            inputs.push(self.archive_input(dep, true));
        }
        cfg.push_str(&buildinfo::modinfo_line(&info));
        inputs.push(Input {
            at: "obj/importcfg.link".into(),
            source: Source::Generated(cfg.into_bytes()),
            writable: false,
        });
        inputs
    }

    /// link's argv, in go build's order.
    fn link_argv(&self, pkg: &Package) -> Vec<String> {
        let r = rules();
        let flags = self.req.flags;
        let platform = &self.graph.platform;
        let mut argv = vec![
            format!("{TOOLDIR}/{}", r.link.tool),
            "-o".into(),
            format!("{SB}/obj/a.out"),
            "-importcfg".into(),
            format!("{SB}/obj/importcfg.link"),
        ];
        if codegen(flags.buildmode, platform).1 {
            argv.extend(["-installsuffix".into(), "shared".into()]);
        }
        if !pkg.default_godebug.is_empty() {
            argv.push(format!("-X=runtime.godebugDefault={}", pkg.default_godebug));
        }
        argv.push(format!(
            "-buildmode={}",
            link_mode(flags.buildmode, platform)
        ));
        argv.extend(r.link.flags.iter().cloned());
        for s in self.req.stamps {
            argv.push(format!("-X={}={}", s.var, s.value));
        }
        let user = flags.ldflags.for_package(&package_ref(pkg, self.roots));
        argv.extend(user.iter().cloned());
        // go build adds its own -extld only when the user gave none.
        if !user
            .iter()
            .any(|f| f == "-extld" || f.starts_with("-extld="))
        {
            argv.push(format!("-extld={}", r.link.extld));
        }
        argv.push(format!("{SB}/pkg/{}.a", pkg.import_path));
        argv
    }
}

/// A root's link and target (a main package), or its count (a library).
pub(super) fn plan_root(
    planner: &mut Planner,
    r: &Root,
    pgo: Option<&str>,
) -> Result<(), super::PlanError> {
    let graph = planner.graph;
    let pkg = &graph.packages[&r.import_path];
    // Under gobuildr test, a root that is no test main is a package with
    // no tests that -cover reports.
    if planner.req.tests.is_some() && !r.import_path.ends_with(".test") {
        planner.plan_coverage_report(pkg);
        return Ok(());
    }
    if !pkg.is_main() {
        planner.plan.libraries += 1;
        return Ok(());
    }
    let link = planner.plan_link(pkg, &r.dir, pgo);
    if planner.req.tests.is_some() {
        return planner.plan_test_run(pkg, link, &r.dir);
    }
    let name = pkg.binary_name();
    planner.plan.targets.push(Target {
        label: label::canonical(&r.dir, &name),
        platform: graph.platform.clone(),
        link,
        out_rel: format!(
            "{}/bin/{name}{}",
            graph.platform.dir_name(),
            graph.platform.exe_suffix()
        ),
    });
    Ok(())
}
