//! The build information a linked binary carries (`go version -m`), as
//! go build writes it into importcfg.link's `modinfo` line.

use std::collections::BTreeMap;

use crate::workspace::GoSum;

use crate::discover::{Module, Package, PackageGraph};
use crate::goflags::{BuildFlags, BuildMode};
use crate::rules::Platform;
use crate::vcs::Stamp;

/// Magic bytes around the build info text, which the runtime and
/// `debug/buildinfo` search for.
const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// One module line of the build info (go's debug.Module).
struct InfoModule {
    path: String,
    version: String,
    sum: String,
    replace: Option<Box<InfoModule>>,
}

/// Module checksums: go.sum's, or none at all in vendor mode (go build
/// -mod=vendor records none).
fn info_module(m: &Module, sums: Option<&GoSum>) -> InfoModule {
    let version = if m.version.is_empty() {
        "(devel)".to_string()
    } else {
        m.version.clone()
    };
    let replace = m.replace.as_ref().map(|r| Box::new(info_module(r, sums)));
    let sum = if replace.is_none() && !m.version.is_empty() {
        sums.and(m.sum.clone())
            .or_else(|| {
                sums.and_then(|s| s.get(&m.path, &m.version))
                    .map(str::to_string)
            })
            .unwrap_or_default()
    } else {
        String::new()
    };
    InfoModule {
        path: m.path.clone(),
        version,
        sum,
        replace,
    }
}

fn format_module(out: &mut String, word: &str, m: &InfoModule) {
    out.push_str(&format!("{word}\t{}\t{}", m.path, m.version));
    match &m.replace {
        None => out.push_str(&format!("\t{}\n", m.sum)),
        Some(r) => {
            out.push('\n');
            format_module(out, "=>", r);
        }
    }
}

/// Whether go's BuildInfo.String would quote this value.
fn needs_quote(v: &str) -> bool {
    v.chars()
        .any(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '"' | '`'))
}

/// A Go string literal for `s` that Go's strconv.Unquote reads back as the
/// same bytes: printable ASCII kept, everything else as `\xNN`.
pub fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// What a main package's build info is made of.
pub struct InfoRequest<'a> {
    pub graph: &'a PackageGraph,
    pub main: &'a Package,
    pub flags: &'a BuildFlags,
    /// go.sum, or None in vendor mode (go build -mod=vendor records none).
    pub sums: Option<&'a GoSum>,
    pub vcs: Option<&'a Stamp>,
    /// The profile's file name when the binary is built with one.
    pub pgo: Option<&'a str>,
}

/// The version-control stamp applies to a main package of a main module
/// inside the repository (go build's rule; local replacements never).
fn vcs_for<'a>(req: &InfoRequest<'a>) -> Option<&'a Stamp> {
    let stamp = req.vcs?;
    let m = req.main.module.as_ref()?;
    let dir = m.dir.as_ref()?;
    let inside = m.version.is_empty()
        && m.main
        && !req.main.standard
        && crate::vcs::repo_of(dir).as_deref() == Some(stamp.repo.as_path())
        && crate::vcs::repo_of(&req.main.dir).as_deref() == Some(stamp.repo.as_path());
    inside.then_some(stamp)
}

/// The `build` lines, in go build's order (sorted by key when a profile
/// is added, as go does).
fn settings(req: &InfoRequest, vcs: Option<&Stamp>) -> Vec<(String, String)> {
    let f = req.flags;
    let mut s: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| s.push((k.to_string(), v));
    if let Some(raw) = f.asmflags.raw() {
        set("-asmflags", raw.to_string());
    }
    let mode = match f.buildmode {
        BuildMode::Default | BuildMode::Exe => "exe",
        BuildMode::Pie => "pie",
    };
    set("-buildmode", mode.to_string());
    set("-compiler", "gc".to_string());
    if let Some(raw) = f.gcflags.raw().filter(|r| !r.is_empty()) {
        set("-gcflags", raw.to_string());
    }
    // -ldflags is never recorded under -trimpath (it may name host paths).
    if !f.tags.is_empty() {
        set("-tags", f.tags.join(","));
    }
    set("-trimpath", "true".to_string());
    if !req.main.default_godebug.is_empty() {
        set("DefaultGODEBUG", req.main.default_godebug.clone());
    }
    let p: &Platform = &req.graph.platform;
    set("CGO_ENABLED", "0".to_string());
    set("GOARCH", p.goarch.clone());
    if let Some(x) = f.goexperiment.as_ref().filter(|x| !x.is_empty()) {
        set("GOEXPERIMENT", x.clone());
    }
    set("GOOS", p.goos.clone());
    if let Some((k, v)) = p.variant_env().filter(|(_, v)| !v.is_empty()) {
        set(&k, v);
    }
    if let Some(st) = vcs {
        set("vcs", "git".to_string());
        if !st.revision.is_empty() {
            set("vcs.revision", st.revision.clone());
        }
        if !st.time.is_empty() {
            set("vcs.time", st.time.clone());
        }
        set("vcs.modified", st.modified.to_string());
    }
    if let Some(name) = req.pgo {
        s.push(("-pgo".to_string(), name.to_string()));
        s.sort();
    }
    s
}

/// The build info text of a main package, exactly as go build writes it
/// for `CGO_ENABLED=0 go build -trimpath` with the same flags.
pub fn build_info(req: &InfoRequest) -> String {
    let main = req.main;
    let mut out = format!("path\t{}\n", main.import_path);
    let main_path = main
        .module
        .as_ref()
        .map(|m| m.path.clone())
        .unwrap_or_default();
    let vcs = vcs_for(req);
    if let Some(m) = &main.module {
        let mut info = info_module(m, req.sums);
        if let Some(v) = vcs.and_then(|st| st.version.clone()) {
            info.version = v;
        }
        format_module(&mut out, "mod", &info);
    }
    // Every module that provides one of main's dependencies, once, sorted by
    // path then version.
    let mut deps: BTreeMap<(String, String), &Module> = BTreeMap::new();
    for dep in &main.deps {
        if let Some(m) = req.graph.packages.get(dep).and_then(|p| p.module.as_ref()) {
            if m.path != main_path {
                deps.entry((m.path.clone(), m.version.clone())).or_insert(m);
            }
        }
    }
    for m in deps.values() {
        format_module(&mut out, "dep", &info_module(m, req.sums));
    }
    for (k, v) in settings(req, vcs) {
        let v = if needs_quote(&v) {
            go_quote(v.as_bytes())
        } else {
            v
        };
        out.push_str(&format!("build\t{k}={v}\n"));
    }
    out
}

/// The `modinfo` line of importcfg.link for this build info.
pub fn modinfo_line(info: &str) -> String {
    let mut data = INFO_START.to_vec();
    data.extend_from_slice(info.as_bytes());
    data.extend_from_slice(&INFO_END);
    format!("modinfo {}\n", go_quote(&data))
}

/// The build info lines (`mod`, `dep`, `build`) an importcfg.link carries,
/// read back from its `modinfo` line (for explanations).
pub fn info_lines(importcfg: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(importcfg);
    let Some(quoted) = text.lines().find_map(|l| l.strip_prefix("modinfo \"")) else {
        return Vec::new();
    };
    let raw = quoted.trim_end_matches('"').as_bytes();
    let mut bytes = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        match (raw[i], raw.get(i + 1)) {
            (b'\\', Some(b'x')) => {
                let hex = raw
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok());
                bytes.extend(hex.and_then(|h| u8::from_str_radix(h, 16).ok()));
                i += 4;
            }
            (b'\\', Some(&c)) => {
                bytes.push(c);
                i += 2;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.starts_with("mod\t") || l.starts_with("dep\t") || l.starts_with("build\t"))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn info_lines_read_back() {
        let info = "path\tx\nmod\tx\t(devel)\t\nbuild\tvcs.revision=abc\nbuild\t-tags=\"a b\"\n";
        let cfg = format!("packagefile x=y\n{}", super::modinfo_line(info));
        assert_eq!(
            super::info_lines(cfg.as_bytes()),
            vec![
                "mod\tx\t(devel)\t",
                "build\tvcs.revision=abc",
                "build\t-tags=\"a b\""
            ]
        );
    }
}
