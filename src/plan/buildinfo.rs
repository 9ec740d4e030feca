//! The build information a linked binary carries (`go version -m`), as
//! go build writes it into importcfg.link's `modinfo` line.

use std::collections::BTreeMap;

use crate::fetch::GoSum;

use crate::discover::{Module, Package, PackageGraph};
use crate::rules::Platform;

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

/// The build info text of a main package, exactly as go build writes it
/// for `CGO_ENABLED=0 go build -trimpath -buildvcs=false`.
pub fn build_info(
    graph: &PackageGraph,
    main: &Package,
    tags: &[String],
    sums: Option<&GoSum>,
) -> String {
    let mut out = format!("path\t{}\n", main.import_path);
    let main_path = main
        .module
        .as_ref()
        .map(|m| m.path.clone())
        .unwrap_or_default();
    if let Some(m) = &main.module {
        format_module(&mut out, "mod", &info_module(m, sums));
    }
    // Every module that provides one of main's dependencies, once, sorted by
    // path then version.
    let mut deps: BTreeMap<(String, String), &Module> = BTreeMap::new();
    for dep in &main.deps {
        if let Some(m) = graph.packages.get(dep).and_then(|p| p.module.as_ref()) {
            if m.path != main_path {
                deps.entry((m.path.clone(), m.version.clone())).or_insert(m);
            }
        }
    }
    for m in deps.values() {
        format_module(&mut out, "dep", &info_module(m, sums));
    }
    let mut settings: Vec<(&str, String)> = vec![
        ("-buildmode", "exe".to_string()),
        ("-compiler", "gc".to_string()),
    ];
    if !tags.is_empty() {
        settings.push(("-tags", tags.join(",")));
    }
    settings.push(("-trimpath", "true".to_string()));
    if !main.default_godebug.is_empty() {
        settings.push(("DefaultGODEBUG", main.default_godebug.clone()));
    }
    let p: &Platform = &graph.platform;
    settings.push(("CGO_ENABLED", "0".to_string()));
    settings.push(("GOARCH", p.goarch.clone()));
    settings.push(("GOOS", p.goos.clone()));
    let variant = p.variant_env();
    if let Some((k, v)) = &variant {
        if !v.is_empty() {
            settings.push((k.as_str(), v.clone()));
        }
    }
    for (k, v) in settings {
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
