//! Assembly: the `asm -gensymabis` action, one asm action per .s file,
//! and the headers they include.

use petgraph::graph::NodeIndex;

use super::action::output_input;
use super::includes;
use super::layout::Layout;
use super::planner::{codegen, PackageCx, Planner};
use super::{Action, ActionKind, Input, PlanError, Source, GOROOT, SB, TOOLDIR};
use crate::digest::{kind, KeyEncoder};
use crate::discover::Package;
use crate::rules::{rules, Platform};

impl Planner<'_> {
    /// GOROOT's assembly headers, staged as `include/` and fixed by the
    /// toolchain.
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

    /// asm's flags before its output and sources, in go build's order.
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

    /// The headers every assembly action of the package reads: GOROOT's
    /// include directory, the package's .h files and what its assembly
    /// includes from elsewhere (none without assembly).
    pub(super) fn header_inputs(&self, cx: &PackageCx) -> Result<Vec<Input>, PlanError> {
        let PackageCx { pkg, layout, .. } = cx;
        if pkg.s_files.is_empty() {
            return Ok(Vec::new());
        }
        let mut inputs = self.include_inputs()?;
        for h in pkg.h_files.iter().chain(&layout.includes.files) {
            inputs.push(self.src_input(pkg, layout, h)?);
        }
        Ok(inputs)
    }

    /// One asm action per .s file, after compile (which writes go_asm.h):
    /// their objects, as inputs of pack.
    pub(super) fn plan_asm(
        &mut self,
        cx: &PackageCx,
        headers: &[Input],
        compile: NodeIndex,
    ) -> Result<Vec<Input>, PlanError> {
        let (pkg, layout, base) = (cx.pkg, &cx.layout, &cx.base);
        let (pkgpath, trimpath) = (&cx.pkgpath, &cx.trimpath);
        let mut objects = Vec::new();
        for s in &pkg.s_files {
            let obj = format!("obj/{}.o", s.trim_end_matches(".s"));
            let mut argv = self.asm_base_args(pkg, layout, pkgpath, trimpath);
            argv.extend([
                "-o".into(),
                format!("{SB}/{obj}"),
                format!("{SB}/{}", layout.at(s)),
            ]);
            let mut inputs = headers.to_vec();
            inputs.push(output_input("obj/go_asm.h", compile, "obj/go_asm.h"));
            inputs.push(self.src_input(pkg, layout, s)?);
            let action = base.action(ActionKind::Asm, argv, inputs, vec![obj.clone()]);
            let node = self.add(Action {
                env: self.tool_env(GOROOT),
                ..action
            });
            objects.push(output_input(&obj, node, &obj));
        }
        Ok(objects)
    }

    /// The `asm -gensymabis` action over all .s files, before compile.
    pub(super) fn plan_symabis(
        &mut self,
        cx: &PackageCx,
        headers: &[Input],
    ) -> Result<NodeIndex, PlanError> {
        let (pkg, layout, base) = (cx.pkg, &cx.layout, &cx.base);
        let (pkgpath, trimpath) = (&cx.pkgpath, &cx.trimpath);
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
