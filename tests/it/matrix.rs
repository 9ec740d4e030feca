//! Matrix builds: many platforms in one action graph.

use crate::support::*;

/// The acceptance matrix: Go's first-class ports plus two variants.
const MATRIX: &str = "first-class,linux/arm/v6,linux/amd64/v3";

#[test]
fn every_example_on_the_matrix_is_byte_identical_to_go_build() {
    for name in EXAMPLES {
        let ws = example(name);
        let s = Gobuildr::new(ws.path()).build_ok(ws.path(), &["//...", "--platforms", MATRIX]);
        let platforms: Vec<&str> = s.0["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(platforms.len(), 10, "{platforms:?}");
        for p in &platforms {
            let dir = ws
                .path()
                .join("gobuildr-out")
                .join(p.replace('/', "_"))
                .join("bin");
            assert!(dir.is_dir(), "{name}: no output for {p}");
        }
        let exe = s
            .outputs()
            .into_iter()
            .filter(|(k, _)| k.contains("windows/"))
            .all(|(_, (path, _, _))| path.ends_with(".exe"));
        assert!(exe, "windows binaries end in .exe");
        assert_matches_go_build(ws.path(), &s, &[]);
    }
}

#[test]
fn rerun_executes_nothing_and_a_new_platform_only_its_own_actions() {
    let ws = example("hello");
    let root = ws.path();
    let nonce = nonce();
    write_files(
        root,
        &[(
            "nonce.go",
            &format!("package main\n\nvar nonce = {nonce:?}\n\nfunc init() {{ _ = nonce }}\n"),
        )],
    );
    Gobuildr::new(root).build_ok(root, &["//...", "--platforms", "linux/amd64,windows/amd64"]);
    let again =
        Gobuildr::new(root).build_ok(root, &["//...", "--platforms", "linux/amd64,windows/amd64"]);
    assert_eq!(again.executed(), 0, "{:?}", again.executed_actions());
    let more = Gobuildr::new(root).build_ok(
        root,
        &[
            "//...",
            "--platforms",
            "linux/amd64,windows/amd64",
            "--platform",
            "linux/riscv64",
        ],
    );
    let executed: Vec<&serde_json::Value> = more.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "executed")
        .collect();
    assert!(!executed.is_empty());
    for a in executed {
        assert_eq!(a["platform"], "linux/riscv64", "{a}");
    }
    let per: std::collections::BTreeMap<String, u64> = more.0["per_platform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_string(),
                p["actions"]["executed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per["linux/amd64"], 0);
    assert_eq!(per["windows/amd64"], 0);
    assert!(per["linux/riscv64"] > 0);
    assert_matches_go_build(root, &more, &[]);
}

#[test]
fn linux_only_package_is_skipped_on_windows_unless_named() {
    let ws = example("tags");
    let root = ws.path();
    let s =
        Gobuildr::new(root).build_ok(root, &["//...", "--platforms", "linux/amd64,windows/amd64"]);
    let per = s.0["per_platform"].as_array().unwrap();
    let windows = per
        .iter()
        .find(|p| p["platform"] == "windows/amd64")
        .unwrap();
    let linux = per.iter().find(|p| p["platform"] == "linux/amd64").unwrap();
    assert_eq!(windows["skipped"], serde_json::json!(["//linuxonly"]));
    assert_eq!(linux["skipped"], serde_json::json!([]));
    assert_eq!(s.outputs().len(), 2, "{:?}", s.outputs());
    assert!(s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["package"] == "example.com/tags/linuxonly" && a["platform"] == "linux/amd64"));

    let out = Gobuildr::new(root)
        .args(["build", "//linuxonly", "--platform", "windows/amd64"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("example.com/tags/linuxonly"), "{err}");
    assert!(
        err.contains("build constraints exclude all Go files"),
        "{err}"
    );
    assert!(err.contains("windows/amd64"), "{err}");
}

#[test]
fn unknown_platform_exits_2_naming_close_matches() {
    let ws = example("hello");
    let out = Gobuildr::new(ws.path())
        .args(["build", "--platforms", "nosuch/arch"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("nosuch/arch"), "{err}");
    assert!(
        err.contains("did you mean") && err.contains("linux/arm"),
        "{err}"
    );
    let out = Gobuildr::new(ws.path())
        .args(["build", "--platforms", "linux/amd46"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("linux/amd64"), "{}", stderr(&out));
    let out = Gobuildr::new(ws.path())
        .args(["build", "--platform", "linux/amd64/v9"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("v1, v2, v3, v4"), "{}", stderr(&out));
    assert!(!ws.path().join("gobuildr-out").exists());
}

#[test]
fn named_sets_come_from_gobuildr_toml() {
    let ws = example("hello");
    let root = ws.path();
    write_files(
        root,
        &[(
            "gobuildr.toml",
            "[platforms]\nrelease = [\"linux/amd64\", \"linux/arm64\"]\n",
        )],
    );
    let s = Gobuildr::new(root).build_ok(root, &["//...", "--platforms", "release"]);
    assert_eq!(
        s.0["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    let out = Gobuildr::new(root).arg("platforms").run();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("release = linux/amd64, linux/arm64"),
        "{text}"
    );
    assert!(text.contains("windows/arm64"), "{text}");
    // A broken config names the file and line.
    write_files(
        root,
        &[("gobuildr.toml", "[platforms]\nrelease = linux/amd64\n")],
    );
    let out = Gobuildr::new(root)
        .args(["build", "--platforms", "release"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gobuildr.toml:2"), "{}", stderr(&out));
}
