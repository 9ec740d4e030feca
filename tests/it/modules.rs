//! Hermetic inputs: modules fetched from the configured proxy and verified
//! against go.sum by gobuildr, vendoring, and pinned toolchains.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::support::*;

/// A copy of the test proxy in which one byte of one file of
/// example.com/greeting@v1.2.0's zip is changed.
pub fn tampered_proxy() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("tampered-proxy-")
        .tempdir_in(scratch())
        .unwrap();
    copy_tree(proxy(), dir.path());
    let zip_path = dir.path().join("example.com/greeting/@v/v1.2.0.zip");
    rewrite_zip_entry(
        &zip_path,
        |n| n.ends_with("greeting.go"),
        |data| {
            let at = data.iter().position(|b| *b == b'H').unwrap();
            data[at] = b'J';
        },
    );
    dir
}

fn proxy_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

#[test]
fn fetch_lists_what_came_from_where_and_builds_offline_after() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("moddep");
    let root = ws.path();
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .args(["fetch", "--json"])
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let fetched: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let zip = fetched
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "zip")
        .unwrap();
    assert_eq!(zip["module"], "example.com/greeting");
    assert_eq!(zip["version"], "v1.2.0");
    assert_eq!(zip["h1"], "h1:0PWeyoeOla+ns62SJGED2YfAPwOoL+6QEMy6KuLQgcg=");
    assert_eq!(zip["from"], proxy_url(proxy()));
    // Everything is local now: --offline succeeds, a second fetch is from the cache.
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .args(["fetch", "--json", "--offline"])
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"from\": \"cache\""));
}

#[test]
fn tampered_zip_stops_the_build_before_any_compile() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let bad = tampered_proxy();
    let ws = example("moddep");
    let root = ws.path();
    let summary = root.join(".s.json");
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .env("GOPROXY", proxy_url(bad.path()))
        .args(["build", "--summary-json"])
        .arg(&summary)
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("example.com/greeting v1.2.0"), "{err}");
    assert!(
        err.contains("h1:0PWeyoeOla+ns62SJGED2YfAPwOoL+6QEMy6KuLQgcg="),
        "names the go.sum hash: {err}"
    );
    assert!(
        err.contains("downloaded: h1:"),
        "names the downloaded hash: {err}"
    );
    assert!(!root.join("gobuildr-out").exists(), "nothing is published");
    assert!(!summary.exists(), "nothing compiled, so no build summary");
    assert!(!cache
        .path()
        .join("modcache-v1/cache/download/example.com/greeting/@v/v1.2.0.zip")
        .exists());
    assert!(
        !cache.path().join("ac-v1").read_dir().unwrap().any(|_| true),
        "no action ran"
    );
}

#[test]
fn missing_go_sum_line_and_offline_misses_are_named() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("moddep");
    let root = ws.path();
    fs::remove_file(root.join("go.sum")).unwrap();
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .args(["build"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no go.sum line for example.com/greeting v1.2.0"),
        "{err}"
    );
    assert!(
        err.contains("go mod download example.com/greeting@v1.2.0"),
        "{err}"
    );

    let ws = example("moddep");
    let out = Gobuildr::new(ws.path())
        .cache(cache.path())
        .args(["build", "--offline"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("example.com/greeting v1.2.0") && err.contains("--offline"),
        "{err}"
    );
}

#[test]
fn direct_is_reached_only_when_the_configuration_allows_it() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("moddep");
    let root = ws.path();
    let empty = tempfile::tempdir_in(scratch()).unwrap();
    let list = format!("{},direct", proxy_url(empty.path()));
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .env("GOPROXY", &list)
        .args(["fetch"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot fetch example.com/greeting v1.2.0"),
        "{err}"
    );
    assert!(!err.contains("direct:"), "direct must not be tried: {err}");

    write_files(
        root,
        &[(
            "gobuildr.toml",
            &format!("[modules]\nproxy = {list:?}\nallow_direct = true\n"),
        )],
    );
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .env("GOPROXY", "off")
        .args(["fetch"])
        .run();
    assert_eq!(
        out.status.code(),
        Some(1),
        "example.com is not reachable here: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("direct:"),
        "allowed, direct is tried: {}",
        stderr(&out)
    );
}

#[test]
fn vendored_workspace_is_byte_identical_to_go_build_mod_vendor() {
    let ws = example("moddep");
    let root = ws.path();
    let vendor = std::process::Command::new("go")
        .current_dir(root)
        .args(["mod", "vendor"])
        .env("GOPROXY", proxy_url(proxy()))
        .env("GOMODCACHE", scratch().join("oracle-modcache"))
        .env("GOFLAGS", "-mod=mod")
        .env("GOSUMDB", "off")
        .output()
        .unwrap();
    assert!(vendor.status.success(), "{}", stderr(&vendor));
    // No proxy at all: everything comes from vendor/.
    let s = Gobuildr::new(root)
        .env("GOPROXY", "off")
        .build_ok(root, &["//..."]);
    let (_, (path, _, _)) = s.outputs().into_iter().next().unwrap();
    let theirs = go_build(root, &[("GOPROXY", "off")], &["-mod=vendor"]);
    assert!(
        fs::read(root.join(&path)).unwrap() == theirs,
        "differs from go build -mod=vendor"
    );
    let tmp = tempfile::NamedTempFile::new_in(scratch()).unwrap();
    fs::write(tmp.path(), &theirs).unwrap();
    assert_eq!(go_version_m(&root.join(&path)), go_version_m(tmp.path()));

    // An inconsistent vendor directory is a clear error.
    let modules_txt = root.join("vendor/modules.txt");
    fs::write(
        &modules_txt,
        fs::read_to_string(&modules_txt)
            .unwrap()
            .replace("v1.2.0", "v1.2.1"),
    )
    .unwrap();
    let out = Gobuildr::new(root)
        .env("GOPROXY", "off")
        .args(["build", "-q"])
        .run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("inconsistent vendoring"),
        "{}",
        stderr(&out)
    );
}

/// Packs the installed GOROOT (what a build needs of it) as the module
/// golang.org/toolchain@v0.0.1-go<version>.linux-amd64 into a proxy.
pub fn toolchain_proxy(version: &str) -> (tempfile::TempDir, String) {
    let goroot = goroot();
    let (os, arch) = ("linux", "amd64");
    let modver = format!("v0.0.1-go{version}.{os}-{arch}");
    let dir = tempfile::Builder::new()
        .prefix("toolchain-proxy-")
        .tempdir_in(scratch())
        .unwrap();
    let at = dir.path().join("golang.org/toolchain/@v");
    fs::create_dir_all(&at).unwrap();
    let mut files = Vec::new();
    for top in ["VERSION", "go.env", "bin/go", "pkg/include"] {
        collect(&goroot, &goroot.join(top), &mut files);
    }
    for tool in ["compile", "asm", "link"] {
        files.push(format!("pkg/tool/{os}_{arch}/{tool}"));
    }
    collect(&goroot, &goroot.join("src"), &mut files);
    files.retain(|f| {
        !f.starts_with("src/cmd/") && !f.contains("/testdata/") && !f.ends_with("_test.go")
    });
    let mut w = zip::ZipWriter::new(fs::File::create(at.join(format!("{modver}.zip"))).unwrap());
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for f in &files {
        w.start_file(format!("golang.org/toolchain@{modver}/{f}"), opts)
            .unwrap();
        w.write_all(&fs::read(goroot.join(f)).unwrap()).unwrap();
    }
    w.finish().unwrap();
    fs::write(at.join("list"), format!("{modver}\n")).unwrap();
    (dir, modver)
}

fn collect(base: &Path, p: &Path, out: &mut Vec<String>) {
    if p.is_dir() {
        for e in fs::read_dir(p).unwrap().flatten() {
            collect(base, &e.path(), out);
        }
    } else {
        out.push(p.strip_prefix(base).unwrap().to_string_lossy().to_string());
    }
}

/// Go's h1 of a zip, computed by the real `go` through `go mod download`
/// would need network access; the dirhash is simple enough to compute here
/// independently of gobuildr's code.
pub fn h1_of_zip(path: &Path) -> String {
    use sha2::Digest;
    let mut archive = zip::ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut lines = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        lines.push(format!("{}  {}\n", sha256(&data), f.name()));
    }
    lines.sort_by(|a, b| a.split("  ").nth(1).cmp(&b.split("  ").nth(1)));
    let summary = sha2::Sha256::digest(lines.concat().as_bytes());
    let out = std::process::Command::new("base64")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    out.stdin.as_ref().unwrap().write_all(&summary).unwrap();
    let b64 = String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap();
    format!("h1:{}", b64.trim())
}

#[test]
fn pinned_toolchain_is_fetched_verified_used_and_reported() {
    let (tproxy, modver) = toolchain_proxy("1.26.99");
    let zip = tproxy
        .path()
        .join(format!("golang.org/toolchain/@v/{modver}.zip"));
    let sum = h1_of_zip(&zip);
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("hello");
    let root = ws.path();
    write_files(
        root,
        &[(
            "gobuildr.toml",
            &format!("[toolchain]\ngo = \"1.26.99\"\nsum = {sum:?}\n"),
        )],
    );
    let run = |extra: &[&str]| {
        Gobuildr::new(root)
            .cache(cache.path())
            .env("GOPROXY", proxy_url(tproxy.path()))
            .args(extra)
            .run()
    };
    let out = run(&["toolchain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains(&format!("golang.org/toolchain@{modver}")),
        "{text}"
    );
    assert!(text.contains(&sum), "{text}");
    assert!(
        text.contains(&cache.path().join("toolchains-v1").display().to_string()),
        "the pinned go is used: {text}"
    );
    let summary = root.join(".s.json");
    let out = run(&["build", "-q", "--summary-json", summary.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = Summary::load(&summary);
    assert!(
        s.0["toolchain_origin"].as_str().unwrap().contains(&modver),
        "{}",
        s.0["toolchain_origin"]
    );
    // Same tools, same bytes as go build with the installed toolchain.
    let (_, (path, _, _)) = s.outputs().into_iter().next().unwrap();
    assert!(fs::read(root.join(&path)).unwrap() == go_build(root, &[], &[]));

    // A tampered toolchain zip is refused.
    let cache2 = tempfile::tempdir_in(scratch()).unwrap();
    let mut data = fs::read(&zip).unwrap();
    let n = data.len() / 2;
    data[n] ^= 0xff;
    fs::write(&zip, data).unwrap();
    let out = Gobuildr::new(root)
        .cache(cache2.path())
        .env("GOPROXY", proxy_url(tproxy.path()))
        .args(["build", "-q"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("golang.org/toolchain")
            && (err.contains("checksum mismatch") || err.contains("corrupt zip")),
        "{err}"
    );
    assert!(!cache2.path().join("toolchains-v1").join(&modver).exists());
}
