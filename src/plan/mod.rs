//! The action graph: for every package on every platform, what to run, with
//! which inputs and outputs, using the rules in `rules/`.
//!
//! Per package: `asm -gensymabis` when it has .s files, compile, one asm per
//! .s file, and pack; per selected main package, link. Standard-library
//! packages are ordinary actions. Argv and generated files (importcfg,
//! embedcfg) name the sandbox, the tool directory and GOROOT through the
//! placeholders [`SB`], [`TOOLDIR`] and [`GOROOT`], so they are the same on
//! every machine and can enter keys as they are.

pub mod buildinfo;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::digest::{kind, FileDigest, KeyEncoder, StatCache};
use crate::discover::{Package, PackageGraph};
use crate::fetch::GoSum;
use crate::rules::{rules, Platform};
use crate::toolchain::Toolchain;
use crate::workspace::label;

/// Environment every tool gets besides its action's own (platform,
/// GOROOT); part of every key.
pub const TOOL_ENV: [(&str, &str); 8] = [
    ("GOTOOLCHAIN", "local"),
    ("GOFLAGS", ""),
    ("GOPROXY", "off"),
    ("GOENV", "off"),
    ("GO111MODULE", "on"),
    ("TZ", "UTC"),
    ("LC_ALL", "C"),
    ("PATH", "/usr/bin:/bin"),
];

pub const SB: &str = "${SB}";
pub const TOOLDIR: &str = "${TOOLDIR}";
pub const GOROOT: &str = "${GOROOT}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Symabis,
    Compile,
    Asm,
    Pack,
    Link,
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionKind::Symabis => "symabis",
            ActionKind::Compile => "compile",
            ActionKind::Asm => "asm",
            ActionKind::Pack => "pack",
            ActionKind::Link => "link",
        })
    }
}

impl ActionKind {
    /// The rule text that shapes actions of this kind (part of their keys).
    pub fn rule_text(self) -> &'static str {
        let file = match self {
            ActionKind::Symabis | ActionKind::Asm => "asm.toml",
            ActionKind::Compile => "compile.toml",
            ActionKind::Pack => "pack.toml",
            ActionKind::Link => "link.toml",
        };
        rules().texts.get(file).map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk with its digest: hashed by content (workspace files)
    /// or fixed by an identity (`immutable`: standard library, modules).
    File {
        path: PathBuf,
        digest: FileDigest,
        immutable: bool,
    },
    /// An output of another action.
    Output { action: NodeIndex, name: String },
    /// Bytes gobuildr writes; placeholders are substituted when staged.
    Generated(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Input {
    /// Where the input appears, relative to the sandbox root.
    pub at: String,
    pub source: Source,
    /// The action modifies this input in place (pack appends to an archive).
    pub writable: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    pub package: String,
    pub platform: Platform,
    pub argv: Vec<String>,
    /// The fixed environment of the tool (placeholders allowed).
    pub env: Vec<(String, String)>,
    pub inputs: Vec<Input>,
    /// Sandbox-relative output paths.
    pub outputs: Vec<String>,
    /// What `${SB}/src/` means to the user, for rewriting tool messages.
    pub src_display: String,
    /// For packages fixed by an identity (standard library, modules): the
    /// package directory, staged whole as `src` (assembly may include
    /// headers from its subdirectories, e.g. runtime's cgo/abi_amd64.h).
    pub src_link: Option<PathBuf>,
    /// `path@version` of the module the package comes from, when versioned
    /// (for explanations: a version bump is named as such).
    pub module: Option<String>,
}

impl Action {
    /// The key of this action given the digests of its inputs' contents (in
    /// input order).
    pub fn key(
        &self,
        toolchain: &Toolchain,
        input_digests: &[FileDigest],
    ) -> crate::digest::ActionKey {
        let mut e = KeyEncoder::<kind::Action>::new("action");
        e.str("kind", &self.kind.to_string())
            .str("rule", self.kind.rule_text())
            .digest("toolchain", &toolchain.id)
            .strs("platform-env", &flatten(&self.platform.env()))
            .strs("argv", &self.argv)
            .strs("env", &flatten(&self.env))
            .strs(
                "tool-env",
                &TOOL_ENV
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>(),
            )
            .strs("outputs", &self.outputs);
        for (input, digest) in self.inputs.iter().zip(input_digests) {
            e.str("input", &input.at).digest("content", digest);
        }
        e.finish()
    }
}

fn flatten(env: &[(String, String)]) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// A binary to publish.
#[derive(Debug, Clone)]
pub struct Target {
    /// Canonical label, `//dir:name`.
    pub label: String,
    pub platform: Platform,
    pub link: NodeIndex,
    /// Where it goes, relative to the output root: `linux_amd64/bin/x`.
    pub out_rel: String,
}

/// A package matched by a wildcard that has no buildable files here.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub label: String,
    pub platform: Platform,
}

#[derive(Default)]
pub struct Plan {
    pub graph: DiGraph<Action, ()>,
    pub targets: Vec<Target>,
    pub skipped: Vec<Skipped>,
    /// Non-main packages the request selected, per platform (for the summary).
    pub libraries: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Packages(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A package the user selected, with how it was selected.
pub struct Root {
    pub import_path: String,
    /// Workspace-relative directory.
    pub dir: String,
    /// Named explicitly (not through a wildcard).
    pub explicit: bool,
}

pub struct PlanRequest<'a> {
    pub root: &'a Path,
    pub toolchain: &'a Toolchain,
    pub tags: &'a [String],
    pub sums: &'a GoSum,
    /// Building from vendor/ (`-mod=vendor`).
    pub vendored: bool,
    /// Link-time `-X` stamps.
    pub stamps: &'a [crate::stamp::Stamp],
    pub stats: &'a StatCache,
    /// gobuildr's module cache: only files under it are fixed by go.sum.
    pub modcache: &'a Path,
}

/// An output of an action: which action, and its sandbox-relative name.
#[derive(Clone)]
struct OutputRef {
    node: NodeIndex,
    name: String,
}

/// Where a built package's two archives are. Compile writes export data
/// (what importers compile against) apart from the link object (what the
/// linker reads, with assembly packed in), so an edit that leaves the export
/// data unchanged recompiles no importer (early cutoff; DESIGN.md fact 6).
#[derive(Clone)]
struct Archive {
    export: OutputRef,
    link: OutputRef,
}

/// Export data written by compile's -o.
const EXPORT: &str = "obj/export.a";
/// The link object written by compile's -linkobj (and extended by pack).
const LINKOBJ: &str = "obj/_pkg_.a";

/// Reports errors in the packages a request needs, as go build does.
fn check_errors(
    graph: &PackageGraph,
    roots: &[Root],
    root_dir: &Path,
) -> Result<BTreeSet<String>, PlanError> {
    let mut errors = Vec::new();
    let mut skip = BTreeSet::new();
    let relativize = |s: &str| s.replace(&format!("{}/", root_dir.display()), "");
    for r in roots {
        let Some(p) = graph.packages.get(&r.import_path) else {
            continue;
        };
        if p.excluded_by_constraints() && !r.explicit {
            skip.insert(r.import_path.clone());
        }
    }
    for name in &graph.order {
        let p = &graph.packages[name];
        if skip.contains(name) {
            continue;
        }
        if let Some(e) = &p.error {
            let mut what = format!("package {}: {}", p.import_path, relativize(&e.to_string()));
            if p.excluded_by_constraints() {
                what.push_str(&format!(" (on {})", graph.platform));
            }
            errors.push(what);
        }
        for e in &p.deps_errors {
            errors.push(relativize(&e.to_string()));
        }
        if p.foreign_files() > 0 {
            errors.push(format!(
                "package {}: C, assembly-free foreign or cgo files are not supported (gobuildr builds with CGO_ENABLED=0)",
                p.import_path
            ));
        }
    }
    let mut seen = BTreeSet::new();
    errors.retain(|e| seen.insert(e.clone()));
    if errors.is_empty() {
        Ok(skip)
    } else {
        Err(PlanError::Packages(errors.join("\n")))
    }
}

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

struct Planner<'a> {
    req: &'a PlanRequest<'a>,
    graph: &'a PackageGraph,
    plan: &'a mut Plan,
    archives: HashMap<String, Archive>,
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

    /// Inputs for files of the package's directory, staged under `src/`.
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

    fn src_input(&self, pkg: &Package, rel: &str) -> Result<Input, PlanError> {
        let path = pkg.dir.join(rel);
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
            at: format!("src/{rel}"),
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
        Input {
            at: format!("pkg/{import_path}.a"),
            source: Source::Output {
                action: r.node,
                name: r.name.clone(),
            },
            writable: false,
        }
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

    fn tool_env(&self) -> Vec<(String, String)> {
        let mut env = self.graph.platform.env();
        env.push(("GOROOT".into(), GOROOT.into()));
        env
    }

    fn asm_base_args(&self, pkg: &Package, pkgpath: &str, trimpath: &str) -> Vec<String> {
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
        if p.shared_codegen() {
            args.push("-shared".into());
        }
        if pkg.standard && self.req.toolchain.at_least(&rules().asm.std_since) {
            args.push("-std".into());
        }
        if let Some((var, value)) = p.variant_env() {
            let defines: Vec<String> = match p.goarch.as_str() {
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
                    let lse = value.starts_with("v9") || value.contains(",lse") || {
                        let minor: u32 = value
                            .trim_start_matches("v8.")
                            .split(',')
                            .next()
                            .and_then(|m| m.parse().ok())
                            .unwrap_or(0);
                        minor >= 1
                    };
                    if lse {
                        vec!["GOARM64_LSE".into()]
                    } else {
                        vec![]
                    }
                }
                _ => vec![format!("{var}_{value}")],
            };
            for d in defines {
                args.push("-D".into());
                args.push(d);
            }
        }
        args
    }

    fn plan_package(&mut self, pkg: &Package) -> Result<(), PlanError> {
        let r = rules();
        let platform = self.graph.platform.clone();
        let pkgpath = if pkg.is_main() {
            "main".to_string()
        } else {
            pkg.import_path.clone()
        };
        let trimpath = format!("{SB}/src=>{};{SB}/obj=>", Self::trim_target(pkg));
        let src_display = match self
            .req
            .root
            .join("")
            .to_str()
            .and_then(|root| pkg.dir.to_str()?.strip_prefix(root))
        {
            Some(rel) => format!("{rel}/"),
            _ => format!("{}/", Self::trim_target(pkg)),
        };
        let src_link = self.fixed_by(pkg).map(|_| pkg.dir.clone());
        let base = |kind: ActionKind,
                    argv: Vec<String>,
                    inputs: Vec<Input>,
                    outputs: Vec<String>,
                    env: Vec<(String, String)>| Action {
            kind,
            package: pkg.import_path.clone(),
            platform: platform.clone(),
            argv,
            env,
            inputs,
            outputs,
            src_display: src_display.clone(),
            src_link: src_link.clone(),
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
            for h in &pkg.h_files {
                header_inputs.push(self.src_input(pkg, h)?);
            }
        }

        // asm -gensymabis
        let symabis = if has_asm {
            let mut argv = self.asm_base_args(pkg, &pkgpath, &trimpath);
            argv.extend([
                "-gensymabis".into(),
                "-o".into(),
                format!("{SB}/obj/symabis"),
            ]);
            let mut inputs = header_inputs.clone();
            inputs.push(Input {
                at: "obj/go_asm.h".into(),
                source: Source::Generated(Vec::new()),
                writable: false,
            });
            for s in &pkg.s_files {
                argv.push(format!("{SB}/src/{s}"));
                inputs.push(self.src_input(pkg, s)?);
            }
            let node = self.add(base(
                ActionKind::Symabis,
                argv,
                inputs,
                vec!["obj/symabis".into()],
                self.tool_env(),
            ));
            Some(node)
        } else {
            None
        };

        // compile
        let lang = if pkg.standard {
            self.req.toolchain.lang()
        } else {
            match pkg.module.as_ref().and_then(|m| m.go_version.clone()) {
                Some(v) => crate::toolchain::lang_of(&v),
                None => r.compile.default_lang.clone(),
            }
        };
        let mut argv = vec![
            format!("{TOOLDIR}/{}", r.compile.tool),
            "-o".into(),
            format!("{SB}/{EXPORT}"),
            "-linkobj".into(),
            format!("{SB}/{LINKOBJ}"),
        ];
        if r.compile.trimpath {
            argv.extend(["-trimpath".into(), trimpath.clone()]);
        }
        argv.extend(["-p".into(), pkgpath.clone(), format!("-lang={lang}")]);
        if pkg.standard {
            argv.push("-std".into());
        }
        let complete = !has_asm
            && pkg.foreign_files() == 0
            && !(pkg.standard && r.compile.incomplete_std.contains(&pkg.import_path));
        if complete {
            argv.push("-complete".into());
        }
        argv.extend(["-buildid".into(), r.compile.buildid.clone()]);
        if platform.goos == "plan9" || platform.goarch == "wasm" {
            argv.push("-dwarf=false".into());
        }
        argv.extend(["-goversion".into(), self.req.toolchain.version.clone()]);
        let mut inputs = Vec::new();
        if let Some(node) = symabis {
            argv.extend(["-symabis".into(), format!("{SB}/obj/symabis")]);
            inputs.push(Input {
                at: "obj/symabis".into(),
                source: Source::Output {
                    action: node,
                    name: "obj/symabis".into(),
                },
                writable: false,
            });
        }
        argv.push(format!("-c={}", r.compile.concurrency));
        if platform.shared_codegen() {
            argv.push("-shared".into());
        }
        argv.extend([
            "-nolocalimports".into(),
            "-importcfg".into(),
            format!("{SB}/obj/importcfg"),
        ]);
        let mut importcfg = String::from("# import config\n");
        let mut imports: BTreeSet<&String> = BTreeSet::new();
        for imp in &pkg.imports {
            if imp == "unsafe" || imp == "C" {
                continue;
            }
            imports.insert(imp);
        }
        for (from, to) in &pkg.import_map {
            if from != to {
                importcfg.push_str(&format!("importmap {from}={to}\n"));
            }
        }
        for imp in &imports {
            importcfg.push_str(&format!("packagefile {imp}={SB}/pkg/{imp}.a\n"));
            inputs.push(self.archive_input(imp, false));
        }
        inputs.push(Input {
            at: "obj/importcfg".into(),
            source: Source::Generated(importcfg.into_bytes()),
            writable: false,
        });
        if !pkg.embed_patterns.is_empty() {
            let patterns = embed_patterns(pkg);
            let mut cfg = String::from("{\"Patterns\":{");
            cfg.push_str(
                &patterns
                    .iter()
                    .map(|(p, files)| {
                        format!(
                            "{}:[{}]",
                            json_str(p),
                            files
                                .iter()
                                .map(|f| json_str(f))
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            );
            cfg.push_str("},\"Files\":{");
            cfg.push_str(
                &pkg.embed_files
                    .iter()
                    .map(|f| format!("{}:{}", json_str(f), json_str(&format!("{SB}/src/{f}"))))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            cfg.push_str("}}");
            argv.extend(["-embedcfg".into(), format!("{SB}/obj/embedcfg")]);
            inputs.push(Input {
                at: "obj/embedcfg".into(),
                source: Source::Generated(cfg.into_bytes()),
                writable: false,
            });
            for f in &pkg.embed_files {
                inputs.push(self.src_input(pkg, f)?);
            }
        }
        argv.push("-pack".into());
        let mut outputs = vec![EXPORT.to_string(), LINKOBJ.to_string()];
        if has_asm {
            argv.extend(["-asmhdr".into(), format!("{SB}/obj/go_asm.h")]);
            outputs.push("obj/go_asm.h".into());
        }
        for f in &pkg.go_files {
            argv.push(format!("{SB}/src/{f}"));
            inputs.push(self.src_input(pkg, f)?);
        }
        let compile = self.add(base(
            ActionKind::Compile,
            argv,
            inputs,
            outputs,
            self.tool_env(),
        ));

        let export = OutputRef {
            node: compile,
            name: EXPORT.into(),
        };
        if !has_asm {
            let link = OutputRef {
                node: compile,
                name: LINKOBJ.into(),
            };
            self.archives
                .insert(pkg.import_path.clone(), Archive { export, link });
            return Ok(());
        }

        // asm per .s file, then pack
        let mut objects = Vec::new();
        for s in &pkg.s_files {
            let obj = format!("obj/{}.o", s.trim_end_matches(".s"));
            let mut argv = self.asm_base_args(pkg, &pkgpath, &trimpath);
            argv.extend(["-o".into(), format!("{SB}/{obj}"), format!("{SB}/src/{s}")]);
            let mut inputs = header_inputs.clone();
            inputs.push(Input {
                at: "obj/go_asm.h".into(),
                source: Source::Output {
                    action: compile,
                    name: "obj/go_asm.h".into(),
                },
                writable: false,
            });
            inputs.push(self.src_input(pkg, s)?);
            let node = self.add(base(
                ActionKind::Asm,
                argv,
                inputs,
                vec![obj.clone()],
                self.tool_env(),
            ));
            objects.push((node, obj));
        }
        let mut argv = vec!["pack".to_string(), "r".into(), LINKOBJ.into()];
        let mut inputs = vec![Input {
            at: LINKOBJ.into(),
            source: Source::Output {
                action: compile,
                name: LINKOBJ.into(),
            },
            writable: true,
        }];
        for (node, obj) in objects {
            argv.push(obj.clone());
            inputs.push(Input {
                at: obj.clone(),
                source: Source::Output {
                    action: node,
                    name: obj,
                },
                writable: false,
            });
        }
        let pack = self.add(base(
            ActionKind::Pack,
            argv,
            inputs,
            vec![LINKOBJ.into()],
            Vec::new(),
        ));
        let link = OutputRef {
            node: pack,
            name: LINKOBJ.into(),
        };
        self.archives
            .insert(pkg.import_path.clone(), Archive { export, link });
        Ok(())
    }

    fn plan_link(&mut self, pkg: &Package, dir: &str) -> NodeIndex {
        let r = rules();
        let platform = self.graph.platform.clone();
        let info = buildinfo::build_info(
            self.graph,
            pkg,
            self.req.tags,
            (!self.req.vendored).then_some(self.req.sums),
        );
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
        if !pkg.default_godebug.is_empty() {
            argv.push(format!("-X=runtime.godebugDefault={}", pkg.default_godebug));
        }
        for s in self.req.stamps {
            argv.push(format!("-X={}={}", s.var, s.value));
        }
        argv.push(format!("-buildmode={}", platform.link_buildmode()));
        argv.extend(r.link.flags.iter().cloned());
        argv.push(format!("{SB}/pkg/{}.a", pkg.import_path));
        let mut env = platform.env();
        env.push((
            "GOROOT".into(),
            if r.link.clear_goroot {
                String::new()
            } else {
                GOROOT.into()
            },
        ));
        let action = Action {
            kind: ActionKind::Link,
            package: pkg.import_path.clone(),
            platform,
            argv,
            env,
            inputs,
            outputs: vec!["obj/a.out".into()],
            src_display: format!("{dir}/"),
            src_link: None,
            module: None,
        };
        self.add(action)
    }
}

/// Adds one platform's packages and links to the plan.
pub fn plan_platform(
    plan: &mut Plan,
    req: &PlanRequest,
    graph: &PackageGraph,
    roots: &[Root],
) -> Result<(), PlanError> {
    let skip = check_errors(graph, roots, req.root)?;
    let mut planner = Planner {
        req,
        graph,
        plan,
        archives: HashMap::new(),
    };
    for name in &graph.order {
        if skip.contains(name) || name == "unsafe" {
            continue;
        }
        let pkg = &graph.packages[name];
        planner.plan_package(pkg)?;
    }
    for r in roots {
        let Some(pkg) = graph.packages.get(&r.import_path) else {
            continue;
        };
        if skip.contains(&r.import_path) {
            planner.plan.skipped.push(Skipped {
                label: format!("//{}", r.dir),
                platform: graph.platform.clone(),
            });
            continue;
        }
        if !pkg.is_main() {
            planner.plan.libraries += 1;
            continue;
        }
        let name = pkg.binary_name();
        let link = planner.plan_link(pkg, &r.dir);
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
    }
    Ok(())
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
