//! Shared fixtures: the gobuildr binary, a warm shared cache, the test
//! module proxy, workspace copies and the go build oracle.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Scratch space that survives between test runs (warm caches).
pub fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The cache every test shares unless a cold or private cache is the point.
pub fn shared_cache() -> PathBuf {
    scratch().join("shared-cache")
}

/// Builds the file:// module proxy from examples/proxy-src, once per run:
/// `<mod>/@v/{list,<v>.info,<v>.mod,<v>.zip}`, zips in Go's module zip
/// layout (`<mod>@<v>/<file>` entries).
pub fn proxy() -> &'static Path {
    static PROXY: OnceLock<PathBuf> = OnceLock::new();
    PROXY.get_or_init(|| {
        // Rebuilt on every run from the sources in the repository.
        let out = scratch().join("proxy");
        let _ = fs::remove_dir_all(&out);
        let src = repo().join("examples/proxy-src");
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for host in fs::read_dir(&src)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
        {
            for m in fs::read_dir(host.path()).unwrap().flatten() {
                let name = m.file_name().to_string_lossy().to_string();
                let Some((module, version)) = name.split_once('@') else {
                    continue;
                };
                let module = format!("{}/{module}", host.file_name().to_string_lossy());
                let dir = out.join(&module).join("@v");
                fs::create_dir_all(&dir).unwrap();
                fs::write(
                    dir.join(format!("{version}.info")),
                    format!("{{\"Version\":\"{version}\",\"Time\":\"2024-01-01T00:00:00Z\"}}\n"),
                )
                .unwrap();
                fs::copy(m.path().join("go.mod"), dir.join(format!("{version}.mod"))).unwrap();
                let mut zip = zip::ZipWriter::new(
                    fs::File::create(dir.join(format!("{version}.zip"))).unwrap(),
                );
                let mut files = Vec::new();
                collect_files(&m.path(), &m.path(), &mut files);
                files.sort();
                for rel in files {
                    zip.start_file(
                        format!("{module}@{version}/{rel}"),
                        zip::write::SimpleFileOptions::default(),
                    )
                    .unwrap();
                    zip.write_all(&fs::read(m.path().join(&rel)).unwrap())
                        .unwrap();
                }
                zip.finish().unwrap();
                versions
                    .entry(module)
                    .or_default()
                    .push(version.to_string());
            }
        }
        for (module, vs) in versions {
            fs::write(out.join(&module).join("@v/list"), vs.join("\n") + "\n").unwrap();
        }
        out
    })
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(base, &p, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().to_string());
        }
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        if name == "gobuildr-out" {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(&name));
        } else {
            fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

/// Every example workspace under `examples/` (proxy-src holds module
/// sources, not a workspace).
pub const EXAMPLES: [&str; 7] = [
    "hello",
    "multi",
    "asm",
    "embed",
    "tags",
    "moddep",
    "workspace",
];

/// A private copy of `examples/<name>` in a temp dir.
pub fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("ex-{name}-"))
        .tempdir_in(scratch())
        .unwrap();
    copy_tree(&repo().join("examples").join(name), dir.path());
    dir
}

/// Writes files (path → contents) under `root`.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

/// A gobuildr invocation with the test proxy and the shared cache. Like
/// the oracle (`go build -buildvcs=false`), it stamps no version-control
/// information unless a test asks for it: the tests' workspaces sit inside
/// this repository's checkout.
pub struct Gobuildr {
    cmd: Command,
    args: Vec<std::ffi::OsString>,
}

impl Gobuildr {
    pub fn new(dir: &Path) -> Gobuildr {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gobuildr"));
        cmd.current_dir(dir)
            .env("GOBUILDR_CACHE", shared_cache())
            .env("GOPROXY", format!("file://{}", proxy().display()))
            .env("GOSUMDB", "off");
        Gobuildr {
            cmd,
            args: Vec::new(),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn cache(self, dir: &Path) -> Self {
        self.env("GOBUILDR_CACHE", dir)
    }

    pub fn command(mut self) -> Command {
        let builds = ["build", "explain", "verify", "aquery"];
        let sub = self.args.iter().position(|a| builds.iter().any(|b| a == b));
        let chosen = self
            .args
            .iter()
            .any(|a| a.to_string_lossy().contains("buildvcs"));
        if let (Some(i), false) = (sub, chosen) {
            self.args.insert(i + 1, "--buildvcs=false".into());
        }
        self.cmd.args(&self.args);
        self.cmd
    }

    pub fn run(self) -> Output {
        self.command().output().unwrap()
    }

    /// Runs `build` with a summary; panics with the output unless it succeeds.
    pub fn build_ok(self, dir: &Path, extra: &[&str]) -> Summary {
        let summary_path = dir.join(".summary.json");
        let out = self
            .args(["build", "-q", "--summary-json"])
            .args([&summary_path])
            .args(extra)
            .run();
        assert!(
            out.status.success(),
            "gobuildr build {extra:?} failed: {}",
            stderr(&out)
        );
        Summary::load(&summary_path)
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The parsed `--summary-json`.
pub struct Summary(pub Value);

impl Summary {
    pub fn load(path: &Path) -> Summary {
        Summary(serde_json::from_slice(&fs::read(path).unwrap()).unwrap())
    }

    pub fn executed(&self) -> u64 {
        self.0["actions"]["executed"].as_u64().unwrap()
    }

    /// (kind, package) of every executed action, sorted.
    pub fn executed_actions(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.0["action_list"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "executed")
            .map(|a| {
                (
                    a["kind"].as_str().unwrap().to_string(),
                    a["package"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// label → (path, sha256, blake3) per output.
    pub fn outputs(&self) -> BTreeMap<String, (String, String, String)> {
        self.0["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    format!(
                        "{} {}",
                        o["label"].as_str().unwrap(),
                        o["platform"].as_str().unwrap()
                    ),
                    (
                        o["path"].as_str().unwrap().to_string(),
                        o["sha256"].as_str().unwrap().to_string(),
                        o["blake3"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect()
    }
}

/// The oracle: `CGO_ENABLED=0 go build -trimpath -buildvcs=false
/// -ldflags=-buildid=` of the package in `pkg_dir`, with the test proxy.
pub fn go_build(pkg_dir: &Path, env: &[(&str, &str)], flags: &[&str]) -> Vec<u8> {
    let out_dir = tempfile::tempdir_in(scratch()).unwrap();
    let bin = out_dir.path().join("bin");
    let mut cmd = Command::new("go");
    cmd.current_dir(pkg_dir)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", format!("file://{}", proxy().display()))
        .env("GOSUMDB", "off")
        .env("GOMODCACHE", scratch().join("oracle-modcache"))
        .envs(env.iter().copied())
        .args([
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags=-buildid=",
            "-o",
        ])
        .arg(&bin)
        .args(flags)
        .arg(".");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "go build in {} failed: {}",
        pkg_dir.display(),
        stderr(&out)
    );
    fs::read(&bin).unwrap()
}

/// `go version -m` of a binary, without the first line (which names the file).
pub fn go_version_m(bin: &Path) -> String {
    let out = Command::new("go")
        .arg("version")
        .arg("-m")
        .arg(bin)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the package of a canonical label lives: `//cmd/x:x` → `cmd/x`.
pub fn label_dir(label: &str) -> &str {
    label.trim_start_matches("//").split(':').next().unwrap()
}

/// A string no earlier run used: makes sources the shared cache cannot know.
pub fn nonce() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!(
        "{}-{}-{}",
        t.as_secs(),
        t.subsec_nanos(),
        std::process::id()
    )
}

/// The installed Go's GOROOT.
pub fn goroot() -> PathBuf {
    let out = Command::new("go").args(["env", "GOROOT"]).output().unwrap();
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// go build's environment for a platform spec `GOOS/GOARCH[/VARIANT]`.
fn go_env(platform: &str) -> Vec<(&'static str, String)> {
    let parts: Vec<&str> = platform.split('/').collect();
    let mut env = vec![
        ("GOOS", parts[0].to_string()),
        ("GOARCH", parts[1].to_string()),
    ];
    if let Some(v) = parts.get(2) {
        let var = match parts[1] {
            "arm" => "GOARM",
            "amd64" => "GOAMD64",
            "386" => "GO386",
            other => panic!("no variant variable for {other}"),
        };
        env.push((var, v.trim_start_matches('v').to_string()));
        if parts[1] == "amd64" {
            env.last_mut().unwrap().1 = v.to_string();
        }
    }
    env
}

/// Every output of a build is byte-identical to go build's of the same
/// package for the same platform (with `flags`), with the same `go version
/// -m` build info, and has the sha256 the summary reports.
pub fn assert_matches_go_build(ws: &Path, summary: &Summary, flags: &[&str]) {
    let outputs = summary.outputs();
    assert!(!outputs.is_empty(), "no outputs in {}", ws.display());
    for (key, (path, sha, _)) in outputs {
        let (label, platform) = key.split_once(' ').unwrap();
        let env = go_env(platform);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let theirs = go_build(&ws.join(label_dir(label)), &env, flags);
        let ours = ws.join(&path);
        let ours_bytes = fs::read(&ours).unwrap();
        assert_eq!(
            sha256(&ours_bytes),
            sha,
            "summary sha256 of {label} for {platform}"
        );
        assert!(
            ours_bytes == theirs,
            "{label} for {platform} ({path}) differs from go build {flags:?}"
        );
        let tmp = tempfile::NamedTempFile::new_in(scratch()).unwrap();
        fs::write(tmp.path(), &theirs).unwrap();
        assert_eq!(
            go_version_m(&ours),
            go_version_m(tmp.path()),
            "build info of {label} for {platform}"
        );
    }
}

/// Rewrites a module zip in place with the first entry `pick` accepts
/// changed by `edit`; returns that entry's name.
pub fn rewrite_zip_entry(
    zip_path: &Path,
    pick: impl Fn(&str) -> bool,
    edit: impl FnOnce(&mut Vec<u8>),
) -> String {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(fs::File::open(zip_path).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        entries.push((f.name().to_string(), data));
    }
    let (name, data) = entries
        .iter_mut()
        .find(|(n, _)| pick(n))
        .expect("an entry to rewrite");
    edit(data);
    let name = name.clone();
    let mut w = zip::ZipWriter::new(fs::File::create(zip_path).unwrap());
    for (n, data) in entries {
        w.start_file(n, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap();
    name
}
