//! The human output, pinned: what `explain` prints, the errors users meet
//! most, and the closing summary line. Paths, digests, nonces and times are
//! redacted; everything else is compared exactly (`cargo insta review`
//! after a deliberate change).

use std::path::Path;

use crate::support::*;

/// A library and a command using it; the nonce makes the workspace's own
/// actions miss whatever the shared cache holds.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("snap-")
        .tempdir_in(scratch())
        .unwrap();
    write_files(
        dir.path(),
        &[
            ("go.mod", "module example.com/snap\n\ngo 1.22\n"),
            ("lib/lib.go", &lib(&nonce())),
            (
                "cmd/snap/main.go",
                "package main\n\nimport \"example.com/snap/lib\"\n\nfunc main() { println(lib.Name()) }\n",
            ),
            ("cmd/other/main.go", "package main\n\nfunc main() {}\n"),
        ],
    );
    dir
}

fn lib(nonce: &str) -> String {
    format!(
        "package lib\n\n// Name is exported.\nfunc Name() string {{ return \"nonce-{nonce}\" }}\n"
    )
}

fn snapshot(name: &str, text: &str, root: &Path) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(&regex::escape(&root.display().to_string()), "[WS]");
    settings.add_filter(
        &regex::escape(&scratch().display().to_string()),
        "[SCRATCH]",
    );
    settings.add_filter(r"\b[0-9a-f]{12,64}\b", "[DIGEST]");
    settings.add_filter(r"\b\d+\.\d+ ?s\b", "[T]s");
    settings.add_filter(r"\[\d+/\d+\]", "[i/n]");
    // The standard library's share depends on the Go version.
    settings.add_filter(r"\b\d+ (actions|cached)\b", "[N] $1");
    settings.add_filter(r"nonce-[0-9a-z-]+", "[NONCE]");
    settings.bind(|| insta::assert_snapshot!(name, text));
}

const HOST: [&str; 2] = ["--platform", "linux/amd64"];

#[test]
fn explain_names_the_changed_file_and_what_it_reaches() {
    let ws = workspace();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &HOST);
    let same = Gobuildr::new(root).arg("explain").args(HOST).run();
    assert!(same.status.success(), "{}", stderr(&same));
    std::fs::write(root.join("lib/lib.go"), lib(&nonce())).unwrap();
    let changed = Gobuildr::new(root).arg("explain").args(HOST).run();
    assert!(changed.status.success(), "{}", stderr(&changed));
    let text = format!(
        "$ gobuildr explain (nothing changed)\n{}\n$ gobuildr explain (lib/lib.go edited)\n{}",
        stderr(&same),
        stderr(&changed)
    );
    snapshot("explain", &text, root);
}

#[test]
fn summary_lines_of_a_build_and_a_no_op() {
    let ws = workspace();
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &HOST);
    std::fs::write(root.join("lib/lib.go"), lib(&nonce())).unwrap();
    let mut text = String::new();
    for what in ["lib/lib.go edited", "no-op"] {
        let out = Gobuildr::new(root)
            .args(["build", "//..."])
            .args(HOST)
            .run();
        assert!(out.status.success(), "{}", stderr(&out));
        text.push_str(&format!(
            "$ gobuildr build //... ({what})\n{}",
            stderr(&out)
        ));
    }
    snapshot("summary", &text, root);
}

#[test]
fn errors_users_meet_first() {
    let ws = workspace();
    let root = ws.path();
    // Warm: the compile error below is the only action that runs.
    Gobuildr::new(root).build_ok(root, &HOST);
    let cases: [(&str, Vec<&str>); 4] = [
        ("unknown label", vec!["build", "//cmd/snp"]),
        (
            "unknown platform",
            vec!["build", "//...", "--platform", "linux/amd46"],
        ),
        (
            "-o FILE for two binaries",
            vec!["build", "//...", "-o", "one"],
        ),
        ("unknown flag", vec!["build", "--jobz", "2"]),
    ];
    let mut text = String::new();
    for (what, args) in cases {
        let out = Gobuildr::new(root).args(&args).run();
        text.push_str(&format!(
            "$ gobuildr {} ({what})\nexit {:?}\n{}\n",
            args.join(" "),
            out.status.code(),
            stderr(&out)
        ));
    }
    std::fs::write(
        root.join("lib/lib.go"),
        "package lib\n\nfunc Name() string { return }\n",
    )
    .unwrap();
    let out = Gobuildr::new(root)
        .args(["build", "//..."])
        .args(HOST)
        .run();
    text.push_str(&format!(
        "$ gobuildr build //... (a compile error)\nexit {:?}\n{}",
        out.status.code(),
        stderr(&out)
    ));
    snapshot("errors", &text, root);
}

#[test]
fn aquery_text_names_each_input_and_where_it_comes_from() {
    let ws = workspace();
    let out = Gobuildr::new(ws.path())
        .args([
            "aquery",
            "--kind",
            "compile",
            "--package",
            "^example.com/snap/lib$",
        ])
        .args(HOST)
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    // The toolchain's version is in compile's argv.
    let version = regex::Regex::new(r"go1\.\d+\.\d+").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let text = version.replace_all(&stdout, "go[VERSION]");
    snapshot("aquery_text", &text, ws.path());
}
