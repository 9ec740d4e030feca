//! The real-world tier: real public Go projects, pinned by exact version,
//! fetched through the machine's real module proxy and checked against the
//! real checksum database (GOPROXY and GOSUMDB are whatever `go env` says;
//! nothing here names either). Ignored by default: `cargo test --test it
//! realworld -- --ignored`. An unreachable proxy fails them: they exist to
//! use it.
//!
//! The projects (counts for these versions, go1.26.8, linux/amd64):
//! - CLI: github.com/mikefarah/yq/v4 v4.54.3: go.sum 89 lines (46 modules),
//!   28 modules provide packages, 346 packages with std, 2 main packages
//!   (yq and examples/library).
//! - LARGE: github.com/caddyserver/caddy/v2 v2.11.9: go.sum 589 lines (247
//!   modules), 160 modules provide packages, 1159 packages, 1 main package
//!   (cmd/caddy); has assembly with relative `#include "../../..."` in
//!   github.com/cloudflare/circl.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::modules::h1_of_zip;
use crate::support::*;

/// A CLI with about 30 modules in its build.
const CLI: &str = "github.com/mikefarah/yq/v4@v4.54.3";
/// A server with 160 modules in its build and 247 in its go.sum.
const LARGE: &str = "github.com/caddyserver/caddy/v2@v2.11.9";

/// The module cache the `go` commands of these tests share (never
/// gobuildr's): the projects' own zips, the oracle's dependencies and the
/// source of the local proxy of the tampering test.
pub fn real_modcache() -> PathBuf {
    scratch().join("realworld-modcache")
}

/// `go` with the real module settings (GOPROXY, GOSUMDB, ... untouched),
/// the shared private GOMODCACHE, and no GOFLAGS or toolchain switching.
pub fn go(dir: &Path) -> Command {
    let mut cmd = Command::new("go");
    cmd.current_dir(dir)
        .env("GOMODCACHE", real_modcache())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("CGO_ENABLED", "0");
    cmd
}

/// `go env NAME` as go resolves it (environment, go env file, default).
fn go_env_value(name: &str) -> String {
    let out = Command::new("go").args(["env", name]).output().unwrap();
    assert!(out.status.success(), "go env {name}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Fails the test unless the machine's module proxy answers: these tests
/// exist to use the network, so an unreachable proxy is never a skip.
pub fn require_proxy() {
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let r = REACHABLE.get_or_init(|| {
        let tmp = tempfile::tempdir_in(scratch()).unwrap();
        // A fresh module cache, so a copy left by an earlier run proves nothing.
        let out = go(tmp.path())
            .env("GOMODCACHE", tmp.path().join("modcache"))
            .args(["mod", "download", "-json", CLI])
            .output()
            .unwrap();
        let r = if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "GOPROXY={}: go mod download {CLI} failed: {}{}",
                go_env_value("GOPROXY"),
                String::from_utf8_lossy(&out.stdout),
                stderr(&out)
            ))
        };
        let _ = Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(tmp.path())
            .status();
        r
    });
    if let Err(e) = r {
        panic!("the module proxy cannot be reached: {e}");
    }
}

/// Makes every file and directory under `p` writable by its owner (module
/// cache copies are read-only).
fn make_writable(p: &Path) {
    let meta = fs::symlink_metadata(p).unwrap();
    if meta.file_type().is_symlink() {
        return;
    }
    let mut perm = meta.permissions();
    use std::os::unix::fs::PermissionsExt;
    perm.set_mode(perm.mode() | 0o200);
    fs::set_permissions(p, perm).unwrap();
    if meta.is_dir() {
        for e in fs::read_dir(p).unwrap().flatten() {
            make_writable(&e.path());
        }
    }
}

/// The source of `module@version`, as its module zip has it (go.mod,
/// go.sum, everything), in a writable temp dir under scratch().
pub fn pinned_source(module_at_version: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir_in(scratch()).unwrap();
    let out = go(tmp.path())
        .args(["mod", "download", "-json", module_at_version])
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(
        out.status.success() && info["Dir"].is_string(),
        "go mod download -json {module_at_version}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let name = module_at_version
        .rsplit_once('@')
        .unwrap()
        .0
        .rsplit('/')
        .find(|e| !(e.starts_with('v') && e[1..].chars().all(|c| c.is_ascii_digit())))
        .unwrap()
        .to_string();
    let dir = tempfile::Builder::new()
        .prefix(&format!("real-{name}-"))
        .tempdir_in(scratch())
        .unwrap();
    copy_tree(Path::new(info["Dir"].as_str().unwrap()), dir.path());
    make_writable(dir.path());
    dir
}

/// gobuildr in `dir` with the caller's real environment: only the cache is
/// set (the shared one), never GOPROXY or GOSUMDB.
pub fn real_gobuildr(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gobuildr"));
    cmd.current_dir(dir).env("GOBUILDR_CACHE", shared_cache());
    cmd
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap()
}

/// The lines of a go.sum: (module, version without `/go.mod`, "zip" or
/// "go.mod", h1).
fn go_sum_lines(path: &Path) -> Vec<(String, String, String, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [m, v, h] => Some(match v.strip_suffix("/go.mod") {
                Some(v) => (m.into(), v.into(), "go.mod".into(), h.into()),
                None => (m.into(), v.into(), "zip".into(), h.into()),
            }),
            _ => None,
        })
        .collect()
}

fn audits_clean(module_at_version: &str) {
    let src = pinned_source(module_at_version);
    let root = src.path();
    let mut cmd = real_gobuildr(root);
    cmd.args(["fetch", "--audit", "--json"]);
    let out = run(cmd);
    assert!(
        out.status.success(),
        "gobuildr fetch --audit of {module_at_version} (exit {:?}): {}",
        out.status.code(),
        stderr(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fetch --audit --json printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let db = &report["database"];
    let sumdb = go_env_value("GOSUMDB");
    let sumdb_name = sumdb.split(['+', ' ']).next().unwrap();
    assert_eq!(db["name"].as_str(), Some(sumdb_name), "{db}");
    assert!(db["tree_size"].as_u64().is_some_and(|n| n > 0), "{db}");
    assert!(db["root"].as_str().is_some_and(|r| !r.is_empty()), "{db}");

    let want = go_sum_lines(&root.join("go.sum"));
    let lines = report["lines"].as_array().expect("a `lines` array");
    assert_eq!(
        lines.len(),
        want.len(),
        "one audit line per go.sum line of {module_at_version}"
    );
    let mut got = BTreeSet::new();
    for l in lines {
        assert_eq!(l["status"], "verified", "{l}");
        assert_eq!(l["go_sum"], l["database"], "{l}");
        got.insert((
            l["module"].as_str().unwrap().to_string(),
            l["version"].as_str().unwrap().to_string(),
            l["file"].as_str().unwrap().to_string(),
            l["go_sum"].as_str().unwrap().to_string(),
        ));
    }
    let want: BTreeSet<_> = want.into_iter().collect();
    assert_eq!(got, want, "the audited lines are go.sum's");
}

#[test]
#[ignore = "needs the module proxy"]
fn real_go_sum_audits_clean_against_the_real_database() {
    require_proxy();
    audits_clean(CLI);
    audits_clean(LARGE);
}

/// Puts every module file gobuildr will ask a proxy for into the shared
/// module cache: the zips `go mod download` fetches for the go.mod's
/// requirements, and the go.mod of every go.sum line (some are not in the
/// pruned module graph that go reads).
fn download_everything(root: &Path) {
    let out = go(root).args(["mod", "download"]).output().unwrap();
    assert!(out.status.success(), "go mod download: {}", stderr(&out));
    let dl = real_modcache().join("cache/download");
    let missing: Vec<String> = go_sum_lines(&root.join("go.sum"))
        .into_iter()
        .filter(|(m, v, _, _)| {
            !dl.join(escape_path(m))
                .join("@v")
                .join(format!("{v}.mod"))
                .exists()
        })
        .map(|(m, v, _, _)| format!("{m}@{v}"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        // Outside the project, so its go.mod and go.sum stay as they are;
        // `go list -m` fetches each one's .info and .mod, not its zip.
        let tmp = tempfile::tempdir_in(scratch()).unwrap();
        let out = go(tmp.path())
            .args(["list", "-m", "-json"])
            .args(&missing)
            .output()
            .unwrap();
        assert!(out.status.success(), "go list -m: {}", stderr(&out));
    }
}

/// Go's case-encoding of module paths in proxies and module caches.
fn escape_path(m: &str) -> String {
    m.chars()
        .flat_map(|c| {
            if c.is_ascii_uppercase() {
                vec!['!', c.to_ascii_lowercase()]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The first requirement of go.mod not marked `// indirect`: (module, version).
fn first_direct_requirement(go_mod: &str) -> (String, String) {
    let mut in_block = false;
    for line in go_mod.lines().map(str::trim) {
        if line.starts_with("require (") {
            in_block = true;
            continue;
        }
        if in_block && line == ")" {
            in_block = false;
            continue;
        }
        let req = if in_block {
            line
        } else if let Some(r) = line.strip_prefix("require ") {
            r
        } else {
            continue;
        };
        if req.contains("// indirect") {
            continue;
        }
        if let [m, v, ..] = req.split_whitespace().collect::<Vec<_>>()[..] {
            return (m.to_string(), v.to_string());
        }
    }
    panic!("no direct requirement in go.mod");
}

#[test]
#[ignore = "needs the module proxy"]
fn altered_dependency_is_refused_by_the_database() {
    require_proxy();
    let src = pinned_source(CLI);
    let root = src.path();
    download_everything(root);

    // A local proxy: a copy of the real downloads.
    let proxy = tempfile::Builder::new()
        .prefix("real-proxy-")
        .tempdir_in(scratch())
        .unwrap();
    copy_tree(&real_modcache().join("cache/download"), proxy.path());
    make_writable(proxy.path());

    // One dependency's zip, with a comment added to one of its Go files.
    let (module, version) =
        first_direct_requirement(&fs::read_to_string(root.join("go.mod")).unwrap());
    let zip_path = proxy
        .path()
        .join(escape_path(&module))
        .join("@v")
        .join(format!("{version}.zip"));
    let genuine = h1_of_zip(&zip_path);
    rewrite_zip_entry(
        &zip_path,
        |n| n.ends_with(".go") && !n.ends_with("_test.go"),
        |data| data.extend_from_slice(b"\n// altered by gobuildr's real-world test\n"),
    );
    let altered = h1_of_zip(&zip_path);
    assert_ne!(genuine, altered);

    // go.sum agrees with the altered zip; only the database can tell.
    let go_sum = root.join("go.sum");
    let text = fs::read_to_string(&go_sum).unwrap();
    let line = format!("{module} {version} {genuine}");
    assert!(
        text.lines().any(|l| l == line),
        "go.sum has the genuine hash: {line}"
    );
    fs::write(
        &go_sum,
        text.replace(&line, &format!("{module} {version} {altered}")),
    )
    .unwrap();

    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let mut cmd = real_gobuildr(root);
    cmd.env("GOBUILDR_CACHE", cache.path())
        // The altered copy first; after it the machine's own list, through
        // which (as go does) the checksum database is reached when the
        // local proxy does not serve it.
        .env(
            "GOPROXY",
            format!(
                "file://{},{}",
                proxy.path().display(),
                go_env_value("GOPROXY")
            ),
        )
        .env("GOSUMDB", go_env_value("GOSUMDB"))
        .args(["build", "-q", "//..."]);
    let out = run(cmd);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "an altered go.sum line passed (exit {:?}): {err}",
        out.status.code()
    );
    assert!(
        err.contains(&module) && err.contains(&version),
        "names the module and version: {err}"
    );
    assert!(
        err.contains(&altered),
        "names go.sum's (altered) hash: {err}"
    );
    assert!(
        err.contains(&genuine),
        "names the database's (genuine) hash: {err}"
    );
    assert!(!root.join("gobuildr-out").exists(), "nothing is published");
}
