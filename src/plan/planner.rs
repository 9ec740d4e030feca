//! The planner of one platform's actions: every package a group of roots
//! needs (a group per PGO profile, see [`super::pgo`]), then a link per main
//! package (see [`super::link`]). A package's compile, assembly and embed
//! actions are in [`super::compile`], [`super::asm`] and [`super::embed`].
//! Flags follow go build's argv order, so that every flag the user gives
//! lands where go puts it: compile `defaults, forced, -gcflags`; asm
//! `defaults, forced, -asmflags, variant defines`; link `defaults,
//! -buildmode, -buildid, stamps, -ldflags, -extld`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use petgraph::graph::NodeIndex;

use super::action::{output_input, ActionBase};
use super::layout::Layout;
use super::{Action, ActionKind, Input, Plan, PlanError, PlanRequest, Source, EXPORT, LINKOBJ, SB};
use crate::digest::{kind, KeyEncoder};
use crate::discover::{Package, PackageGraph};
use crate::goflags::{BuildMode, PackageRef, PerPackage};
use crate::rules::Platform;

/// An output of an action: which action, and its sandbox-relative name.
#[derive(Clone)]
pub(super) struct OutputRef {
    pub node: NodeIndex,
    pub name: String,
}

/// Where a built package's two archives are. Compile writes export data
/// (what importers compile against) apart from the link object (what the
/// linker reads, with assembly packed in), so an edit that leaves the export
/// data unchanged recompiles no importer (early cutoff; DESIGN.md fact 6).
#[derive(Clone)]
pub(super) struct Archive {
    pub export: OutputRef,
    pub link: OutputRef,
}

pub(super) struct Planner<'a> {
    pub req: &'a PlanRequest<'a>,
    pub graph: &'a PackageGraph,
    pub plan: &'a mut Plan,
    pub archives: HashMap<String, Archive>,
    /// Each package's vet (and whether it reports), once planned.
    pub vets: HashMap<(String, bool), NodeIndex>,
    /// `-cover`: the packages instrumented (and whether each writes its
    /// meta-data for a report of its own), their cover runs, and the
    /// covdata tool that reports packages with no tests.
    pub covered: BTreeMap<String, bool>,
    pub cover_runs: HashMap<String, NodeIndex>,
    pub covdata: Option<NodeIndex>,
    /// The packages the request names (go's command-line packages).
    pub roots: &'a BTreeSet<String>,
    /// The preprocessed profile this group compiles with.
    pub profile: Option<NodeIndex>,
}

/// The package's per-package flag view.
pub(super) fn package_ref<'p>(pkg: &'p Package, roots: &BTreeSet<String>) -> PackageRef<'p> {
    PackageRef {
        import_path: &pkg.import_path,
        dir: &pkg.dir,
        standard: pkg.standard,
        cmdline: roots.contains(&pkg.import_path),
    }
}

/// What the build mode asks of code generation: `-shared`, and whether
/// `-installsuffix shared` goes with it (only for an explicit mode).
pub(super) fn codegen(mode: BuildMode, platform: &Platform) -> (bool, bool) {
    match mode {
        BuildMode::Default => (platform.shared_codegen(), false),
        BuildMode::Exe => (false, false),
        BuildMode::Pie => {
            let shared = !matches!(platform.goos.as_str(), "aix" | "windows");
            (shared, shared)
        }
    }
}

impl Planner<'_> {
    /// Adds an action, after every action whose output it reads.
    pub(super) fn add(&mut self, action: Action) -> NodeIndex {
        let deps: Vec<NodeIndex> = action
            .inputs
            .iter()
            .filter_map(|i| match &i.source {
                Source::Output { action, .. } => Some(*action),
                _ => None,
            })
            .collect();
        let node = self.plan.graph.add_node(action);
        for d in deps {
            self.plan.graph.update_edge(d, node, ());
        }
        node
    }

    /// What fixes the contents of a package's files without reading them:
    /// the toolchain for the standard library, the go.sum hash for a module
    /// in the module cache (verified when it was fetched). None: the files
    /// are hashed (the workspace, vendor/, local replacements).
    pub(super) fn fixed_by(&self, pkg: &Package) -> Option<String> {
        if pkg.standard {
            return Some(format!("goroot {}", self.req.toolchain.id));
        }
        // A local replacement (or anything else outside the verified module
        // cache) is hashed like the workspace.
        if !pkg.dir.starts_with(self.req.modcache) {
            return None;
        }
        let m = pkg.module.as_ref().filter(|m| !m.version.is_empty())?;
        self.req
            .sums
            .get(&m.path, &m.version)
            .map(|h1| format!("module {}@{} {h1}", m.path, m.version))
    }

    /// A workspace file's digest, by content (through the stat cache).
    pub(super) fn hashed(
        &self,
        path: &std::path::Path,
    ) -> Result<crate::digest::FileDigest, PlanError> {
        self.req.stats.digest(path).map_err(|source| PlanError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// A file of the package (relative to its directory), staged read-only.
    pub(super) fn src_input(
        &self,
        pkg: &Package,
        layout: &Layout,
        rel: &str,
    ) -> Result<Input, PlanError> {
        let path = crate::goflags::clean(&pkg.dir.join(rel));
        let (digest, immutable) = match self.fixed_by(pkg) {
            Some(id) => {
                let mut e = KeyEncoder::<kind::File>::new("fixed-file");
                e.str("fixed-by", &id)
                    .str("path", &format!("{}/{}", pkg.import_path, rel));
                (e.finish(), true)
            }
            None => (self.hashed(&path)?, false),
        };
        Ok(Input {
            at: layout.at(rel),
            source: Source::File {
                path,
                digest,
                immutable,
            },
            writable: false,
        })
    }

    /// A dependency's archive at `pkg/<import path>.a`: its export data for
    /// a compile, its link object for a link.
    pub(super) fn archive_input(&self, import_path: &str, for_link: bool) -> Input {
        let a = &self.archives[import_path];
        let r = if for_link { &a.link } else { &a.export };
        output_input(&format!("pkg/{import_path}.a"), r.node, &r.name)
    }

    /// The `-trimpath` rewrite of the package's source directory, as go
    /// build -trimpath computes it.
    pub(super) fn trim_target(pkg: &Package) -> String {
        match &pkg.module {
            Some(m) if !m.version.is_empty() => format!(
                "{}@{}{}",
                m.path,
                m.version,
                pkg.path().strip_prefix(&m.path).unwrap_or("")
            ),
            _ => pkg.path().to_string(),
        }
    }

    /// The environment of every tool: platform, GOEXPERIMENT, GOROOT.
    pub(super) fn tool_env(&self, goroot: &str) -> Vec<(String, String)> {
        let mut env = self.graph.platform.env();
        if let Some(x) = &self.req.flags.goexperiment {
            env.push(("GOEXPERIMENT".into(), x.clone()));
        }
        env.push(("GOROOT".into(), goroot.into()));
        env
    }

    /// The package's share of a per-package flag.
    pub(super) fn user_flags(&self, flag: &PerPackage, pkg: &Package) -> Vec<String> {
        flag.for_package(&package_ref(pkg, self.roots)).to_vec()
    }

    /// A package's actions: symabis (with assembly), compile, one asm per
    /// .s file, and pack when there are objects to add to the archive.
    fn plan_package(&mut self, pkg: &Package) -> Result<(), PlanError> {
        let cx = self.package_cx(pkg)?;
        let headers = self.header_inputs(&cx)?;
        let symabis = if pkg.s_files.is_empty() {
            None
        } else {
            Some(self.plan_symabis(&cx, &headers)?)
        };
        let compile = self.plan_compile(&cx, symabis)?;
        let mut objects = self.plan_asm(&cx, &headers, compile)?;
        for f in &pkg.syso_files {
            objects.push(self.src_input(pkg, &cx.layout, f)?);
        }
        let link = if objects.is_empty() {
            compile
        } else {
            self.plan_pack(&cx.base, compile, objects)
        };
        let archive = Archive {
            export: OutputRef {
                node: compile,
                name: EXPORT.into(),
            },
            link: OutputRef {
                node: link,
                name: LINKOBJ.into(),
            },
        };
        self.archives.insert(pkg.import_path.clone(), archive);
        Ok(())
    }

    /// What the package's actions are made from.
    pub(super) fn package_cx<'p>(&self, pkg: &'p Package) -> Result<PackageCx<'p>, PlanError> {
        let layout = self.layout(pkg)?;
        let pkgpath = if pkg.is_main() {
            "main".to_string()
        } else {
            pkg.path().to_string()
        };
        let src_dir = format!("{SB}/{}", layout.at(""));
        let src_dir = src_dir.trim_end_matches('/');
        let trimpath = format!("{src_dir}=>{};{SB}/obj=>", Self::trim_target(pkg));
        let base = ActionBase {
            package: pkg.import_path.clone(),
            platform: self.graph.platform.clone(),
            src_display: self.src_display(pkg, &layout),
            src_link: self.src_link(pkg, &layout),
            module: pkg
                .module
                .as_ref()
                .filter(|m| !m.version.is_empty())
                .map(|m| format!("{}@{}", m.path, m.version)),
        };
        Ok(PackageCx {
            pkg,
            layout,
            base,
            pkgpath,
            trimpath,
        })
    }

    /// `pack r` of the assembler's objects and the .syso files, in go
    /// build's order, onto the compiler's link object.
    fn plan_pack(
        &mut self,
        base: &ActionBase,
        compile: NodeIndex,
        objects: Vec<Input>,
    ) -> NodeIndex {
        let mut argv = vec!["pack".to_string(), "r".into(), LINKOBJ.into()];
        let mut inputs = vec![Input {
            writable: true,
            ..output_input(LINKOBJ, compile, LINKOBJ)
        }];
        for o in objects {
            argv.push(o.at.clone());
            inputs.push(o);
        }
        let action = base.action(ActionKind::Pack, argv, inputs, vec![LINKOBJ.into()]);
        self.add(action)
    }

    /// Every package of `names` (in dependency order).
    pub fn plan_packages(&mut self, names: &[&String]) -> Result<(), PlanError> {
        for name in names {
            let pkg = &self.graph.packages[*name];
            self.plan_package(pkg)?;
        }
        Ok(())
    }
}

/// One package being planned: what its actions are made from.
pub(super) struct PackageCx<'p> {
    pub pkg: &'p Package,
    pub layout: Layout,
    pub base: ActionBase,
    pub pkgpath: String,
    pub trimpath: String,
}
