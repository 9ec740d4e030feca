//! The real-world projects tier: each project of tests/realworld/
//! projects.toml, pinned, fetched through the machine's module proxy, built
//! by gobuildr and by go build with the same flags on each of its
//! platforms: every binary byte-identical, `go version -m` equal. Ignored
//! by default (`cargo test -- --ignored`); an unreachable proxy fails it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::realworld::{go, pinned_source, real_gobuildr, require_proxy, run};
use crate::support::*;

#[derive(Debug, Deserialize)]
struct Projects {
    project: Vec<Project>,
}

#[derive(Debug, Deserialize)]
struct Project {
    name: String,
    module: String,
    version: String,
    packages: Vec<String>,
    platforms: Vec<String>,
    runs: Vec<Vec<String>>,
    #[serde(default)]
    layout: Option<String>,
    #[serde(default)]
    work_with: Option<String>,
    #[allow(dead_code)]
    shape: String,
}

fn project(name: &str) -> Project {
    let text = fs::read_to_string(repo().join("tests/realworld/projects.toml")).unwrap();
    let all: Projects = toml::from_str(&text).unwrap();
    all.project
        .into_iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no project {name} in projects.toml"))
}

/// The workspace a project is built in, laid out as its `layout` says.
/// Returns the temp dirs to keep and the directory to build in.
fn lay_out(p: &Project) -> (Vec<tempfile::TempDir>, std::path::PathBuf) {
    let src = pinned_source(&format!("{}@{}", p.module, p.version));
    let root = src.path().to_path_buf();
    match p.layout.as_deref() {
        None | Some("module") => (vec![src], root),
        Some("vendor") => {
            let out = go(&root).args(["mod", "vendor"]).output().unwrap();
            assert!(out.status.success(), "go mod vendor: {}", stderr(&out));
            (vec![src], root)
        }
        Some("work") => {
            let other = pinned_source(p.work_with.as_deref().expect("work_with"));
            let ws = tempfile::tempdir_in(scratch()).unwrap();
            copy_tree(&root, &ws.path().join("main"));
            copy_tree(other.path(), &ws.path().join("dep"));
            fs::write(
                ws.path().join("go.work"),
                "go 1.24.0\n\nuse (\n\t./main\n\t./dep\n)\n",
            )
            .unwrap();
            let dir = ws.path().join("main");
            (vec![src, other, ws], dir)
        }
        Some(other) => panic!("{}: unknown layout {other}", p.name),
    }
}

/// go build's flags for one run: the same, with an empty build ID.
fn go_flags(run: &[String]) -> Vec<String> {
    let mut flags: Vec<String> = run
        .iter()
        .map(|f| match f.strip_prefix("-ldflags=") {
            Some(l) => format!("-ldflags={l} -buildid="),
            None => f.clone(),
        })
        .collect();
    if !run.iter().any(|f| f.starts_with("-ldflags=")) {
        flags.insert(0, "-ldflags=-buildid=".into());
    }
    flags
}

/// The binaries `dir` holds, by file name.
fn binaries(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// One platform, one run: gobuildr's binaries equal go build's.
fn compare(p: &Project, dir: &Path, platform: &str, flags: &[String]) {
    let ours = tempfile::tempdir_in(scratch()).unwrap();
    let mut cmd = real_gobuildr(dir);
    cmd.args([
        "build",
        "-q",
        "--buildvcs=false",
        "--platform",
        platform,
        "-o",
    ])
    .arg(format!("{}/", ours.path().display()))
    .args(flags)
    .args(&p.packages);
    let out = run(cmd);
    let what = format!("{} {} for {platform} with {flags:?}", p.name, p.version);
    assert!(out.status.success(), "gobuildr: {what}: {}", stderr(&out));
    let theirs = tempfile::tempdir_in(scratch()).unwrap();
    let (goos, goarch) = platform.split_once('/').unwrap();
    let mod_flag = if p.layout.as_deref() == Some("vendor") {
        "-mod=vendor"
    } else {
        "-mod=readonly"
    };
    let out = go(dir)
        .env("GOFLAGS", mod_flag)
        .env("GOOS", goos)
        .env("GOARCH", goarch)
        .args(["build", "-trimpath", "-buildvcs=false", "-o"])
        .arg(format!("{}/", theirs.path().display()))
        .args(go_flags(flags))
        .args(&p.packages)
        .output()
        .unwrap();
    assert!(out.status.success(), "go build: {what}: {}", stderr(&out));
    let (mine, go_bins) = (binaries(ours.path()), binaries(theirs.path()));
    assert_eq!(
        mine.keys().collect::<Vec<_>>(),
        go_bins.keys().collect::<Vec<_>>(),
        "{what}: the same binaries"
    );
    for name in mine.keys() {
        let (a, b) = (ours.path().join(name), theirs.path().join(name));
        assert_eq!(
            go_version_m(&a),
            go_version_m(&b),
            "{what}: build info of {name}"
        );
        assert!(
            mine[name] == go_bins[name],
            "{what}: {name} differs from go build's"
        );
    }
}

fn builds_like_go(name: &str) {
    require_proxy();
    let p = project(name);
    let (_keep, dir) = lay_out(&p);
    // Every run on the first platform; the first run on the others (a
    // flag set such as all=-l rebuilds the standard library each time).
    for (i, platform) in p.platforms.iter().enumerate() {
        let runs = if i == 0 { &p.runs[..] } else { &p.runs[..1] };
        for flags in runs {
            compare(&p, &dir, platform, flags);
        }
    }
}

#[test]
#[ignore = "needs the module proxy"]
fn yq_a_cli_with_many_dependencies() {
    builds_like_go("yq");
}

#[test]
#[ignore = "needs the module proxy"]
fn caddy_large_with_cross_directory_assembly_includes() {
    builds_like_go("caddy");
}

#[test]
#[ignore = "needs the module proxy"]
fn compress_heavy_assembly_on_every_first_class_platform() {
    builds_like_go("compress");
}

#[test]
#[ignore = "needs the module proxy"]
fn tailscale_links_its_syso_manifest() {
    builds_like_go("tailscale");
}

#[test]
#[ignore = "needs the module proxy"]
fn mtg_default_pgo_on_and_off() {
    builds_like_go("mtg");
}

#[test]
#[ignore = "needs the module proxy"]
fn age_release_flags() {
    builds_like_go("age");
}

#[test]
#[ignore = "needs the module proxy"]
fn gops_vendored_on_every_first_class_platform() {
    builds_like_go("gops");
}

#[test]
#[ignore = "needs the module proxy"]
fn gojq_in_a_go_work_workspace() {
    builds_like_go("gojq");
}
