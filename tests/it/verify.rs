//! `gobuildr verify`: reproducible builds proven, and planted
//! nondeterminism caught and localised.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::support::*;

/// One go.work that uses a copy of every example module, so that one
/// verify builds every example's binaries in one graph.
fn all_examples() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("all-examples-")
        .tempdir_in(scratch())
        .unwrap();
    let modules = [
        "hello",
        "multi",
        "asm",
        "embed",
        "tags",
        "moddep",
        "workspace/app",
        "workspace/lib",
    ];
    for m in modules {
        copy_tree(&repo().join("examples").join(m), &dir.path().join(m));
    }
    let uses: String = modules.iter().map(|m| format!("\t./{m}\n")).collect();
    write_files(
        dir.path(),
        &[("go.work", &format!("go 1.22\n\nuse (\n{uses})\n"))],
    );
    dir
}

fn verify(root: &Path, args: &[&str]) -> Output {
    Gobuildr::new(root).arg("verify").args(args).run()
}

#[test]
fn every_example_on_every_first_class_platform_is_reproducible() {
    let ws = all_examples();
    let out = verify(
        ws.path(),
        &["//...", "--platforms", "first-class", "--vary", "all"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    // 9 binaries on 8 platforms, but linuxonly is a library: all mains.
    assert!(
        err.contains("reproducible: 72 outputs bit-identical across 2 runs"),
        "{err}"
    );
}

fn hello_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let ws = example("hello");
    write_files(ws.path(), files);
    ws
}

#[test]
fn volatile_stamp_is_named_with_its_link() {
    let ws = hello_with(&[
        ("stamp.go", "package main\n\nvar built, version string\n\nfunc init() { println(built, version) }\n"),
        ("gobuildr.toml", "[stamp]\n\"main.built\" = \"{BUILD_TIMESTAMP}\"\n"),
    ]);
    let out = verify(ws.path(), &["//...", "--vary", "env"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("first divergence: link example.com/hello (linux/amd64)"),
        "{err}"
    );
    assert!(
        err.contains("volatile stamp: main.built ({BUILD_TIMESTAMP})"),
        "{err}"
    );
}

#[test]
fn trimpath_off_rule_variant_is_localised_to_a_compile_and_the_path() {
    let ws = example("hello");
    let rules = tempfile::tempdir_in(scratch()).unwrap();
    let compile = fs::read_to_string(repo().join("rules/compile.toml")).unwrap();
    fs::write(
        rules.path().join("compile.toml"),
        compile.replace("tool = \"compile\"", "tool = \"compile\"\ntrimpath = false"),
    )
    .unwrap();
    let out = Gobuildr::new(ws.path())
        .arg("--rules")
        .arg(rules.path())
        .args(["verify", "//...", "--vary", "path,sandbox"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("first divergence: compile "), "{err}");
    assert!(
        err.contains("inputs identical, outputs differ under the sandbox variation"),
        "{err}"
    );
    assert!(
        err.contains("binary //:hello (linux/amd64) differs"),
        "{err}"
    );
}

/// A copy of the toolchain whose compile appends random bytes to the
/// archive of one package.
fn flaky_toolchain(package: &str) -> tempfile::TempDir {
    let goroot = goroot();
    let dir = tempfile::Builder::new()
        .prefix("flaky-go-")
        .tempdir_in(scratch())
        .unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::copy(goroot.join("bin/go"), root.join("bin/go")).unwrap();
    for f in ["src", "pkg/include", "VERSION", "go.env"] {
        let to = root.join(f);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(goroot.join(f), to).unwrap();
    }
    let tools = root.join("pkg/tool/linux_amd64");
    fs::create_dir_all(&tools).unwrap();
    for t in ["asm", "link"] {
        fs::copy(goroot.join("pkg/tool/linux_amd64").join(t), tools.join(t)).unwrap();
    }
    fs::copy(
        goroot.join("pkg/tool/linux_amd64/compile"),
        tools.join("compile.real"),
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\n\"$(dirname \"$0\")/compile.real\" \"$@\" || exit $?\nout=\ncase \" $* \" in *\" -p {package} \"*)\n  while [ $# -gt 0 ]; do [ \"$1\" = -linkobj ] && out=$2; shift; done\n  head -c 16 /dev/urandom >> \"$out\";;\nesac\n"
    );
    fs::write(tools.join("compile"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(tools.join("compile"), fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn nondeterministic_tool_is_named_inputs_identical_outputs_differ() {
    let ws = example("multi");
    let flaky = flaky_toolchain("example.com/multi/internal/greet");
    let out = Gobuildr::new(ws.path())
        .arg("--go")
        .arg(flaky.path().join("bin/go"))
        .args(["verify", "//cmd/server", "--vary", "jobs"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("first divergence: compile example.com/multi/internal/greet (linux/amd64)"),
        "{err}"
    );
    assert!(
        err.contains("inputs identical, outputs differ: the action itself is nondeterministic"),
        "{err}"
    );
    assert!(
        err.contains("-p example.com/multi/internal/greet"),
        "prints the argv: {err}"
    );
}

#[test]
fn against_a_tampered_manifest_and_provenance() {
    let ws = example("multi");
    let root = ws.path();
    let manifest = root.join("manifest.json");
    let provenance = root.join("provenance.json");
    let out = verify(
        root,
        &[
            "//...",
            "--vary",
            "order",
            "--manifest",
            manifest.to_str().unwrap(),
            "--provenance",
            provenance.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_slice(&fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(m["format"], "gobuildr.manifest/v1");
    assert_eq!(m["outputs"].as_array().unwrap().len(), 2);

    // The provenance statement: in-toto v1, SLSA v1, subjects whose digests
    // are those of the binaries gobuildr build publishes.
    let p: serde_json::Value = serde_json::from_slice(&fs::read(&provenance).unwrap()).unwrap();
    assert_eq!(p["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(p["predicateType"], "https://slsa.dev/provenance/v1");
    assert!(p["predicate"]["buildDefinition"]["buildType"]
        .as_str()
        .unwrap()
        .contains("docs/provenance.md"));
    assert!(p["predicate"]["buildDefinition"]["externalParameters"]["targets"].is_array());
    let deps = p["predicate"]["buildDefinition"]["resolvedDependencies"]
        .as_array()
        .unwrap();
    assert!(deps.iter().any(|d| d["uri"]
        .as_str()
        .unwrap()
        .starts_with("pkg:golang/golang.org/toolchain@v0.0.1-go")));
    assert_eq!(
        p["predicate"]["buildDefinition"]["externalParameters"]["targets"],
        serde_json::json!(["//..."])
    );
    let built = Gobuildr::new(root).build_ok(root, &["//..."]);
    let subjects = p["subject"].as_array().unwrap();
    assert_eq!(subjects.len(), 2);
    for s in subjects {
        let path = s["name"].as_str().unwrap();
        let sha = s["digest"]["sha256"].as_str().unwrap();
        assert_eq!(sha256(&fs::read(root.join(path)).unwrap()), sha, "{path}");
        assert!(built
            .outputs()
            .values()
            .any(|(p, s, _)| p == path && s == sha));
    }

    // The same manifest from "another machine", one digest altered.
    let mut other = m.clone();
    let label = other["outputs"][0]["label"].as_str().unwrap().to_string();
    other["outputs"][0]["sha256"] = serde_json::json!("0".repeat(64));
    let other_path = root.join("other.json");
    fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    let out = verify(
        root,
        &[
            "//...",
            "--vary",
            "order",
            "--against",
            other_path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{label} linux/amd64 differs from")),
        "{}",
        stderr(&out)
    );

    // build --provenance writes the same kind of statement.
    let prov2 = root.join("build-provenance.json");
    Gobuildr::new(root).build_ok(root, &["//...", "--provenance", prov2.to_str().unwrap()]);
    let p2: serde_json::Value = serde_json::from_slice(&fs::read(&prov2).unwrap()).unwrap();
    assert_eq!(p2["subject"], p["subject"]);
}

#[test]
fn verify_exits_2_when_it_cannot_build() {
    let ws = hello_with(&[("broken.go", "package main\n\nvar x int = \"no\"\n")]);
    let out = verify(ws.path(), &["//..."]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not verify"),
        "{}",
        stderr(&out)
    );
}

/// Toolchains of one Go version for linux/amd64, linux/386 and linux/arm64
/// (`scripts/host-toolchains.sh` fetches them), and qemu-aarch64-static
/// (.ci/run installs it); the reason where they cannot be had.
fn host_toolchains() -> Result<std::path::PathBuf, String> {
    let dir = scratch().join("host-toolchains");
    let script = repo().join("scripts/host-toolchains.sh");
    let out = std::process::Command::new(&script)
        .arg(&dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), stderr(&out)));
    }
    let qemu = std::process::Command::new("qemu-aarch64-static")
        .arg("--version")
        .output();
    if !qemu.map(|o| o.status.success()).unwrap_or(false) {
        return Err("qemu-aarch64-static is not installed (Debian: qemu-user-static)".into());
    }
    Ok(dir)
}

#[test]
#[ignore = "needs Go toolchains for three hosts from PyPI, and qemu-user-static"]
fn three_hosts_build_the_same_bytes() {
    // Never a skip: a missing prerequisite fails the test.
    let dir = host_toolchains().unwrap_or_else(|why| panic!("{why}"));
    // Two examples, in one workspace; two target platforms.
    let ws = tempfile::Builder::new()
        .prefix("hosts-")
        .tempdir_in(scratch())
        .unwrap();
    for m in ["hello", "multi"] {
        copy_tree(&repo().join("examples").join(m), &ws.path().join(m));
    }
    write_files(
        ws.path(),
        &[("go.work", "go 1.22\n\nuse (\n\t./hello\n\t./multi\n)\n")],
    );
    let out = Gobuildr::new(ws.path())
        .arg("--go")
        .arg(dir.join("linux-amd64/bin/go"))
        .args([
            "verify",
            "//...",
            "--platforms",
            "linux/amd64,windows/amd64",
            "--vary",
            "order",
        ])
        .args(["--hosts", "linux/amd64,linux/386,linux/arm64"])
        .arg("--host-goroot")
        .arg(format!("linux/386={}", dir.join("linux-386").display()))
        .arg("--host-goroot")
        .arg(format!("linux/arm64={}", dir.join("linux-arm64").display()))
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("host linux/386 built the same bytes"), "{err}");
    assert!(
        err.contains("host linux/arm64 built the same bytes"),
        "{err}"
    );
    assert!(err.contains("reproducible: 6 outputs"), "{err}");
}
