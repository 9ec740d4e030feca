//! One platform's actions: every package a group of roots needs (a group
//! per PGO profile, see [`super::pgo`]), then a link per main package.
//! Flags follow go build's argv order, so that every flag the user gives
//! lands where go puts it: compile `defaults, forced, -gcflags`; asm
//! `defaults, forced, -asmflags, variant defines`; link `defaults,
//! -buildmode, -buildid, stamps, -ldflags, -extld`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use petgraph::graph::NodeIndex;

use super::includes::{self, Includes};
use super::*;
use crate::goflags::{BuildMode, PackageRef, PerPackage};

/// Where a package's files sit in the sandbox.
struct Layout {
    /// Below `src/`: empty, or the package's last directories
    /// (`dh/x25519/`) when its assembly includes files above it.
    prefix: String,
    includes: Includes,
}

impl Layout {
    /// Sandbox-relative place of a file given relative to the package.
    fn at(&self, rel: &str) -> String {
        let joined = format!("{}{rel}", self.prefix);
        let mut parts: Vec<&str> = Vec::new();
        for p in joined.split('/') {
            match p {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                p => parts.push(p),
            }
        }
        format!("src/{}", parts.join("/"))
    }
}

pub(super) struct Planner<'a> {
    pub req: &'a PlanRequest<'a>,
    pub graph: &'a PackageGraph,
    pub plan: &'a mut Plan,
    pub archives: HashMap<String, Archive>,
    /// The packages the request names (go's command-line packages).
    pub roots: &'a BTreeSet<String>,
    /// The preprocessed profile this group compiles with.
    pub profile: Option<NodeIndex>,
}

/// The package's per-package flag view.
fn package_ref<'p>(pkg: &'p Package, roots: &BTreeSet<String>) -> PackageRef<'p> {
    PackageRef {
        import_path: &pkg.import_path,
        dir: &pkg.dir,
        standard: pkg.standard,
        cmdline: roots.contains(&pkg.import_path),
    }
}

/// What the build mode asks of code generation: `-shared`, and whether
/// `-installsuffix shared` goes with it (only for an explicit mode).
fn codegen(mode: BuildMode, platform: &Platform) -> (bool, bool) {
    match mode {
        BuildMode::Default => (platform.shared_codegen(), false),
        BuildMode::Exe => (false, false),
        BuildMode::Pie => {
            let shared = !matches!(platform.goos.as_str(), "aix" | "windows");
            (shared, shared)
        }
    }
}

/// The link's -buildmode.
pub(super) fn link_mode(mode: BuildMode, platform: &Platform) -> &'static str {
    match mode {
        BuildMode::Default => platform.link_buildmode(),
        BuildMode::Exe => "exe",
        BuildMode::Pie => "pie",
    }
}

impl Planner<'_> {
    fn add(&mut self, action: Action) -> NodeIndex {
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
    fn fixed_by(&self, pkg: &Package) -> Option<String> {
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

    /// A file of the package (relative to its directory), staged read-only.
    fn src_input(&self, pkg: &Package, layout: &Layout, rel: &str) -> Result<Input, PlanError> {
        let path = crate::goflags::clean(&pkg.dir.join(rel));
        let (digest, immutable) = match self.fixed_by(pkg) {
            Some(id) => {
                let mut e = KeyEncoder::<kind::File>::new("fixed-file");
                e.str("fixed-by", &id)
                    .str("path", &format!("{}/{}", pkg.import_path, rel));
                (e.finish(), true)
            }
            None => {
                let d = self
                    .req
                    .stats
                    .digest(&path)
                    .map_err(|source| PlanError::Io {
                        path: path.clone(),
                        source,
                    })?;
                (d, false)
            }
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

    fn include_inputs(&self) -> Result<Vec<Input>, PlanError> {
        let dir = self.req.toolchain.goroot.join(&rules().asm.include_dir);
        let rd = std::fs::read_dir(&dir).map_err(|source| PlanError::Io {
            path: dir.clone(),
            source,
        })?;
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|n| {
                let mut e = KeyEncoder::<kind::File>::new("goroot-file");
                e.digest("toolchain", &self.req.toolchain.id)
                    .str("path", &format!("pkg/include/{n}"));
                Input {
                    at: format!("include/{n}"),
                    source: Source::File {
                        path: dir.join(&n),
                        digest: e.finish(),
                        immutable: true,
                    },
                    writable: false,
                }
            })
            .collect())
    }

    /// A dependency's archive at `pkg/<import path>.a`: its export data for
    /// a compile, its link object for a link.
    fn archive_input(&self, import_path: &str, for_link: bool) -> Input {
        let a = &self.archives[import_path];
        let r = if for_link { &a.link } else { &a.export };
        output_input(&format!("pkg/{import_path}.a"), r.node, &r.name)
    }

    /// The `-trimpath` rewrite of the package's source directory, as go
    /// build -trimpath computes it.
    fn trim_target(pkg: &Package) -> String {
        match &pkg.module {
            Some(m) if !m.version.is_empty() => format!(
                "{}@{}{}",
                m.path,
                m.version,
                pkg.import_path.strip_prefix(&m.path).unwrap_or("")
            ),
            _ => pkg.import_path.clone(),
        }
    }

    /// The environment of every tool: platform, GOEXPERIMENT, GOROOT.
    fn tool_env(&self, goroot: &str) -> Vec<(String, String)> {
        let mut env = self.graph.platform.env();
        if let Some(x) = &self.req.flags.goexperiment {
            env.push(("GOEXPERIMENT".into(), x.clone()));
        }
        env.push(("GOROOT".into(), goroot.into()));
        env
    }

    fn asm_base_args(
        &self,
        pkg: &Package,
        layout: &Layout,
        pkgpath: &str,
        trimpath: &str,
    ) -> Vec<String> {
        let p = &self.graph.platform;
        let mut args = vec![
            format!("{TOOLDIR}/{}", rules().asm.tool),
            "-p".into(),
            pkgpath.into(),
            "-trimpath".into(),
            trimpath.into(),
            "-I".into(),
            format!("{SB}/obj/"),
            "-I".into(),
            format!("{SB}/include"),
            "-D".into(),
            format!("GOOS_{}", p.goos),
            "-D".into(),
            format!("GOARCH_{}", p.goarch),
        ];
        if codegen(self.req.flags.buildmode, p).0 {
            args.push("-shared".into());
        }
        if pkg.standard && self.req.toolchain.at_least(&rules().asm.std_since) {
            args.push("-std".into());
        }
        // The assembler runs in the sandbox, not the package directory: a
        // relative -I names the staged copy of that directory.
        let mut user = self.user_flags(&self.req.flags.asmflags, pkg);
        for (at, dir) in includes::relative_dirs(&user) {
            let staged = format!("{SB}/{}", layout.at(&dir));
            user[at] = match user[at].split_once('=') {
                Some((flag, _)) => format!("{flag}={staged}"),
                None => staged,
            };
        }
        args.extend(user);
        for d in variant_defines(p) {
            args.push("-D".into());
            args.push(d);
        }
        args
    }

    /// The package's share of a per-package flag.
    fn user_flags(&self, flag: &PerPackage, pkg: &Package) -> Vec<String> {
        flag.for_package(&package_ref(pkg, self.roots)).to_vec()
    }

    /// The directory the package's includes reach up to (its own when
    /// they stay below it): staged as `src/`.
    fn include_root(pkg: &Package, layout: &Layout) -> PathBuf {
        let mut dir = pkg.dir.clone();
        for _ in 0..layout.includes.depth {
            dir.pop();
        }
        dir
    }

    /// Where the package's files go, after finding what its assembly
    /// includes from other directories (never needed for the standard
    /// library, whose headers sit below the packages that include them).
    fn layout(&self, pkg: &Package) -> Result<Layout, PlanError> {
        if pkg.s_files.is_empty() || pkg.standard {
            return Ok(Layout {
                prefix: String::new(),
                includes: Includes::default(),
            });
        }
        let (limit, name) = match pkg.module.as_ref() {
            Some(m) => (
                m.dir.clone().unwrap_or_else(|| pkg.dir.clone()),
                format!("module {}", m.path),
            ),
            None => (self.req.root.to_path_buf(), "the workspace".to_string()),
        };
        let user = self.user_flags(&self.req.flags.asmflags, pkg);
        let dirs: Vec<String> = includes::relative_dirs(&user)
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        let goroot_include = self.req.toolchain.goroot.join(&rules().asm.include_dir);
        let search = includes::Search {
            dirs: &dirs,
            goroot_include: &goroot_include,
            limit: &limit,
            limit_name: &name,
        };
        let includes = includes::scan(&pkg.dir, &pkg.s_files, &search)?;
        Ok(Layout {
            prefix: includes::prefix(&pkg.dir, includes.depth),
            includes,
        })
    }

    /// The directory staged whole as `src/` for a package fixed by an
    /// identity: the package's, or the one its includes reach up to.
    fn src_link(&self, pkg: &Package, layout: &Layout) -> Option<PathBuf> {
        self.fixed_by(pkg)?;
        Some(Self::include_root(pkg, layout))
    }

    fn plan_package(&mut self, pkg: &Package) -> Result<(), PlanError> {
        let layout = self.layout(pkg)?;
        let pkgpath = if pkg.is_main() {
            "main".to_string()
        } else {
            pkg.import_path.clone()
        };
        let src_dir = format!("{SB}/{}", layout.at(""));
        let src_dir = src_dir.trim_end_matches('/');
        let trimpath = format!("{src_dir}=>{};{SB}/obj=>", Self::trim_target(pkg));
        let display = self.src_display(pkg, &layout);
        let base = ActionBase {
            package: pkg.import_path.clone(),
            platform: self.graph.platform.clone(),
            src_display: display,
            src_link: self.src_link(pkg, &layout),
            module: pkg
                .module
                .as_ref()
                .filter(|m| !m.version.is_empty())
                .map(|m| format!("{}@{}", m.path, m.version)),
        };
        let has_asm = !pkg.s_files.is_empty();
        let mut header_inputs = Vec::new();
        if has_asm {
            header_inputs.extend(self.include_inputs()?);
            for h in pkg.h_files.iter().chain(&layout.includes.files) {
                header_inputs.push(self.src_input(pkg, &layout, h)?);
            }
        }
        let cx = PackageCx {
            pkg,
            layout,
            base,
            pkgpath,
            trimpath,
        };
        let symabis = if has_asm {
            Some(self.plan_symabis(&cx, &header_inputs)?)
        } else {
            None
        };
        let compile = self.plan_compile(&cx, symabis)?;
        let PackageCx {
            layout,
            base,
            pkgpath,
            trimpath,
            ..
        } = cx;
        let export = OutputRef {
            node: compile,
            name: EXPORT.into(),
        };
        let mut objects = Vec::new();
        for s in &pkg.s_files {
            let obj = format!("obj/{}.o", s.trim_end_matches(".s"));
            let mut argv = self.asm_base_args(pkg, &layout, &pkgpath, &trimpath);
            argv.extend([
                "-o".into(),
                format!("{SB}/{obj}"),
                format!("{SB}/{}", layout.at(s)),
            ]);
            let mut inputs = header_inputs.clone();
            inputs.push(output_input("obj/go_asm.h", compile, "obj/go_asm.h"));
            inputs.push(self.src_input(pkg, &layout, s)?);
            let action = base.action(ActionKind::Asm, argv, inputs, vec![obj.clone()]);
            let node = self.add(Action {
                env: self.tool_env(GOROOT),
                ..action
            });
            objects.push(output_input(&obj, node, &obj));
        }
        for f in &pkg.syso_files {
            objects.push(self.src_input(pkg, &layout, f)?);
        }
        let link = if objects.is_empty() {
            OutputRef {
                node: compile,
                name: LINKOBJ.into(),
            }
        } else {
            let node = self.plan_pack(&base, compile, objects);
            OutputRef {
                node,
                name: LINKOBJ.into(),
            }
        };
        self.archives
            .insert(pkg.import_path.clone(), Archive { export, link });
        Ok(())
    }

    /// What `${SB}/src/` means to the user, for rewriting tool messages.
    fn src_display(&self, pkg: &Package, layout: &Layout) -> String {
        let dir = Self::include_root(pkg, layout);
        let root = self.req.root.join("");
        match root.to_str().and_then(|r| dir.to_str()?.strip_prefix(r)) {
            Some(rel) => format!("{rel}/"),
            None => format!("{}/", Self::trim_target(pkg)),
        }
    }

    fn plan_symabis(&mut self, cx: &PackageCx, headers: &[Input]) -> Result<NodeIndex, PlanError> {
        let PackageCx {
            pkg,
            layout,
            base,
            pkgpath,
            trimpath,
        } = cx;
        let mut argv = self.asm_base_args(pkg, layout, pkgpath, trimpath);
        argv.extend([
            "-gensymabis".into(),
            "-o".into(),
            format!("{SB}/obj/symabis"),
        ]);
        let mut inputs = headers.to_vec();
        inputs.push(Input {
            at: "obj/go_asm.h".into(),
            source: Source::Generated(Vec::new()),
            writable: false,
        });
        for s in &pkg.s_files {
            argv.push(format!("{SB}/{}", layout.at(s)));
            inputs.push(self.src_input(pkg, layout, s)?);
        }
        let action = base.action(
            ActionKind::Symabis,
            argv,
            inputs,
            vec!["obj/symabis".into()],
        );
        Ok(self.add(Action {
            env: self.tool_env(GOROOT),
            ..action
        }))
    }

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
    fn compile_flags(&self, pkg: &Package, pkgpath: &str, trimpath: &str) -> Vec<String> {
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

    fn importcfg(&self, pkg: &Package, inputs: &mut Vec<Input>) {
        let mut cfg = String::from("# import config\n");
        let imports: BTreeSet<&String> = pkg
            .imports
            .iter()
            .filter(|i| *i != "unsafe" && *i != "C")
            .collect();
        for (from, to) in &pkg.import_map {
            if from != to {
                cfg.push_str(&format!("importmap {from}={to}\n"));
            }
        }
        for imp in &imports {
            cfg.push_str(&format!("packagefile {imp}={SB}/pkg/{imp}.a\n"));
            inputs.push(self.archive_input(imp, false));
        }
        inputs.push(Input {
            at: "obj/importcfg".into(),
            source: Source::Generated(cfg.into_bytes()),
            writable: false,
        });
    }

    fn embedcfg(
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

    fn plan_compile(
        &mut self,
        cx: &PackageCx,
        symabis: Option<NodeIndex>,
    ) -> Result<NodeIndex, PlanError> {
        let PackageCx {
            pkg,
            layout,
            base,
            pkgpath,
            trimpath,
        } = cx;
        let mut argv = self.compile_flags(pkg, pkgpath, trimpath);
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
        for f in &pkg.go_files {
            argv.push(format!("{SB}/{}", layout.at(f)));
            inputs.push(self.src_input(pkg, layout, f)?);
        }
        let action = base.action(ActionKind::Compile, argv, inputs, outputs);
        Ok(self.add(Action {
            env: self.tool_env(GOROOT),
            ..action
        }))
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

    /// The preprofile action of a profile file.
    pub fn plan_preprofile(
        &mut self,
        profile: &Path,
        display: &str,
    ) -> Result<NodeIndex, PlanError> {
        let digest = self
            .req
            .stats
            .digest(profile)
            .map_err(|source| PlanError::Io {
                path: profile.to_path_buf(),
                source,
            })?;
        let argv = vec![
            format!("{TOOLDIR}/{}", rules().pgo.tool),
            "-o".into(),
            format!("{SB}/{PREPROFILE}"),
            "-i".into(),
            format!("{SB}/src/profile.pgo"),
        ];
        let input = Input {
            at: "src/profile.pgo".into(),
            source: Source::File {
                path: profile.to_path_buf(),
                digest,
                immutable: false,
            },
            writable: false,
        };
        let action = Action {
            kind: ActionKind::Preprofile,
            package: display.to_string(),
            platform: self.graph.platform.clone(),
            argv,
            env: self.tool_env(GOROOT),
            inputs: vec![input],
            outputs: vec![PREPROFILE.into()],
            src_display: String::new(),
            src_link: None,
            module: None,
        };
        Ok(self.add(action))
    }

    /// Every package of `names` (in dependency order).
    pub fn plan_packages(&mut self, names: &[&String]) -> Result<(), PlanError> {
        for name in names {
            let pkg = &self.graph.packages[*name];
            self.plan_package(pkg)?;
        }
        Ok(())
    }

    pub fn plan_link(&mut self, pkg: &Package, dir: &str, pgo: Option<&str>) -> NodeIndex {
        let r = rules();
        let flags = self.req.flags;
        let platform = self.graph.platform.clone();
        let info = buildinfo::build_info(&buildinfo::InfoRequest {
            graph: self.graph,
            main: pkg,
            flags,
            sums: (!self.req.vendored).then_some(self.req.sums),
            vcs: self.req.vcs,
            pgo,
        });
        let mut cfg = format!(
            "packagefile {}={SB}/pkg/{}.a\n",
            pkg.import_path, pkg.import_path
        );
        let mut inputs = vec![self.archive_input(&pkg.import_path, true)];
        for dep in &pkg.deps {
            if dep == "unsafe" || !self.archives.contains_key(dep) {
                continue;
            }
            cfg.push_str(&format!("packagefile {dep}={SB}/pkg/{dep}.a\n"));
            inputs.push(self.archive_input(dep, true));
        }
        cfg.push_str(&buildinfo::modinfo_line(&info));
        inputs.push(Input {
            at: "obj/importcfg.link".into(),
            source: Source::Generated(cfg.into_bytes()),
            writable: false,
        });
        let mut argv = vec![
            format!("{TOOLDIR}/{}", r.link.tool),
            "-o".into(),
            format!("{SB}/obj/a.out"),
            "-importcfg".into(),
            format!("{SB}/obj/importcfg.link"),
        ];
        if codegen(flags.buildmode, &platform).1 {
            argv.extend(["-installsuffix".into(), "shared".into()]);
        }
        if !pkg.default_godebug.is_empty() {
            argv.push(format!("-X=runtime.godebugDefault={}", pkg.default_godebug));
        }
        argv.push(format!(
            "-buildmode={}",
            link_mode(flags.buildmode, &platform)
        ));
        argv.extend(r.link.flags.iter().cloned());
        for s in self.req.stamps {
            argv.push(format!("-X={}={}", s.var, s.value));
        }
        let user = flags.ldflags.for_package(&package_ref(pkg, self.roots));
        argv.extend(user.iter().cloned());
        if !user
            .iter()
            .any(|f| f == "-extld" || f.starts_with("-extld="))
        {
            argv.push(format!("-extld={}", r.link.extld));
        }
        argv.push(format!("{SB}/pkg/{}.a", pkg.import_path));
        let goroot = if r.link.clear_goroot { "" } else { GOROOT };
        let action = Action {
            kind: ActionKind::Link,
            package: pkg.import_path.clone(),
            platform,
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
}

/// An input that is another action's output.
fn output_input(at: &str, action: NodeIndex, name: &str) -> Input {
    Input {
        at: at.into(),
        source: Source::Output {
            action,
            name: name.into(),
        },
        writable: false,
    }
}

/// The assembler's `-D` defines for the platform's variant, as go build
/// derives them (each level implies those below it).
fn variant_defines(p: &Platform) -> Vec<String> {
    let Some((var, value)) = p.variant_env() else {
        return Vec::new();
    };
    match p.goarch.as_str() {
        "arm" => ["7", "6", "5"]
            .iter()
            .skip_while(|v| !value.contains(*v))
            .map(|v| format!("GOARM_{v}"))
            .collect(),
        "ppc64" | "ppc64le" => ["power10", "power9", "power8"]
            .iter()
            .skip_while(|v| **v != value)
            .map(|v| format!("GOPPC64_{v}"))
            .collect(),
        "arm64" => {
            let minor: u32 = value
                .trim_start_matches("v8.")
                .split(',')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            let lse = value.starts_with("v9") || value.contains(",lse") || minor >= 1;
            if lse {
                vec!["GOARM64_LSE".into()]
            } else {
                vec![]
            }
        }
        _ => vec![format!("{var}_{value}")],
    }
}

/// One package being planned: what its actions are made from.
struct PackageCx<'p> {
    pkg: &'p Package,
    layout: Layout,
    base: ActionBase,
    pkgpath: String,
    trimpath: String,
}

/// What every action of one package shares.
struct ActionBase {
    package: String,
    platform: Platform,
    src_display: String,
    src_link: Option<PathBuf>,
    module: Option<String>,
}

impl ActionBase {
    fn action(
        &self,
        kind: ActionKind,
        argv: Vec<String>,
        inputs: Vec<Input>,
        outputs: Vec<String>,
    ) -> Action {
        Action {
            kind,
            package: self.package.clone(),
            platform: self.platform.clone(),
            argv,
            env: Vec::new(),
            inputs,
            outputs,
            src_display: self.src_display.clone(),
            src_link: self.src_link.clone(),
            module: self.module.clone(),
        }
    }
}
