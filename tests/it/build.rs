//! `gobuildr build`: byte-identical to go build, incremental, hermetic, and
//! clear about bad input.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::*;

#[test]
fn every_example_is_byte_identical_to_go_build() {
    for name in EXAMPLES {
        let ws = example(name);
        let summary = Gobuildr::new(ws.path()).build_ok(ws.path(), &["//..."]);
        assert_matches_go_build(ws.path(), &summary, &[]);
    }
}

#[test]
fn labels_and_layout() {
    let ws = example("multi");
    let root = ws.path();
    let host = |s: &Summary| s.0["platforms"][0].as_str().unwrap().replace('/', "_");
    for label in [
        "//cmd/server",
        "./cmd/server",
        "cmd/server",
        "//cmd/server:server",
    ] {
        let s = Gobuildr::new(root).build_ok(root, &[label]);
        let outs = s.outputs();
        assert_eq!(outs.len(), 1, "{label}: {outs:?}");
        let (key, (path, _, _)) = outs.iter().next().unwrap();
        assert!(key.starts_with("//cmd/server:server "), "{key}");
        assert_eq!(path, &format!("gobuildr-out/{}/bin/server", host(&s)));
    }
    let s = Gobuildr::new(root).build_ok(root, &["//cmd/...", "-j", "2"]);
    assert_eq!(s.outputs().len(), 2);
    // Libraries are compiled but publish nothing.
    let s = Gobuildr::new(root).build_ok(root, &["//pkg/..."]);
    assert!(s.outputs().is_empty());
    assert!(s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["package"] == "example.com/multi/pkg/strutil"));
    // -C finds the root from a subdirectory; --out moves the output root.
    let elsewhere = root.join("elsewhere");
    let out = Gobuildr::new(Path::new("/"))
        .args(["build", "-q", "-C"])
        .arg(root.join("cmd"))
        .arg("--out")
        .arg(&elsewhere)
        .arg("//cmd/client")
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(elsewhere.join(format!("{}/bin/client", host(&s))).is_file());
    // Go-style labels and --out are relative to the current directory.
    let out = Gobuildr::new(&root.join("cmd"))
        .args(["build", "-q", "--out", "here", "./client", "../pkg/..."])
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(root
        .join(format!("cmd/here/{}/bin/client", host(&s)))
        .is_file());
    // A wrong :name is an error naming the label.
    let out = Gobuildr::new(root)
        .args(["build", "//cmd/server:client"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("//cmd/server:client"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn go_work_wins_over_go_mod() {
    let ws = example("workspace");
    // Started inside the app module, the root is still the go.work directory.
    let s = Gobuildr::new(&ws.path().join("app")).build_ok(ws.path(), &["//..."]);
    let labels: Vec<String> = s.outputs().keys().cloned().collect();
    assert!(
        labels.iter().any(|l| l.starts_with("//app:app ")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("//app/cmd/tool:tool ")),
        "{labels:?}"
    );
    assert!(ws.path().join("gobuildr-out").is_dir());
    assert!(!ws.path().join("app/gobuildr-out").exists());
}

#[test]
fn second_run_touch_and_reformatted_go_mod_execute_nothing() {
    let ws = example("multi");
    let root = ws.path();
    let first = Gobuildr::new(root).build_ok(root, &["//..."]);
    let again = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_eq!(again.executed(), 0, "{:?}", again.executed_actions());
    assert_eq!(first.outputs(), again.outputs());

    // Fresh mtimes everywhere (a CI checkout).
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    touch_all(root, later);
    let touched = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_eq!(touched.executed(), 0, "{:?}", touched.executed_actions());

    // Same meaning, different layout.
    fs::write(
        root.join("go.mod"),
        "// The multi example.\n\nmodule   example.com/multi   // its path\n\n\n// language version\ngo 1.22\n\n",
    )
    .unwrap();
    let reformatted = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_eq!(
        reformatted.executed(),
        0,
        "{:?}",
        reformatted.executed_actions()
    );
    assert_eq!(first.outputs(), reformatted.outputs());
}

fn touch_all(dir: &Path, when: std::time::SystemTime) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            touch_all(&p, when);
        } else {
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }
    }
}

#[test]
fn leaf_edit_runs_only_its_compile_and_link() {
    let ws = example("multi");
    let root = ws.path();
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let main_go = root.join("cmd/server/main.go");
    let text = fs::read_to_string(&main_go).unwrap();
    // A fresh string each run: the shared cache must not already know it.
    fs::write(
        &main_go,
        format!("{text}\nfunc init() {{ println({:?}) }}\n", nonce()),
    )
    .unwrap();
    let s = Gobuildr::new(root).build_ok(root, &["//..."]);
    assert_eq!(
        s.executed_actions(),
        vec![
            (
                "compile".to_string(),
                "example.com/multi/cmd/server".to_string()
            ),
            (
                "link".to_string(),
                "example.com/multi/cmd/server".to_string()
            ),
        ]
    );
    assert_matches_go_build(root, &s, &[]);
}

#[test]
fn changing_tags_reruns_only_affected_packages() {
    let ws = example("tags");
    let root = ws.path();
    // Fresh contents, so the shared cache cannot know either tag state yet.
    write_files(
        root,
        &[(
            "mode/nonce.go",
            &format!("package mode\n\nconst Nonce = {:?}\n", nonce()),
        )],
    );
    Gobuildr::new(root).build_ok(root, &["//..."]);
    let s = Gobuildr::new(root).build_ok(root, &["//...", "--tags", "prod"]);
    let executed = s.executed_actions();
    // The package with tag-selected files, the main package that imports it,
    // and the link (whose build info records -tags).
    assert_eq!(
        executed,
        vec![
            ("compile".to_string(), "example.com/tags".to_string()),
            ("compile".to_string(), "example.com/tags/mode".to_string()),
            ("link".to_string(), "example.com/tags".to_string()),
        ]
    );
    assert_matches_go_build(root, &s, &["-tags=prod"]);
}

#[test]
fn hostile_environment_changes_no_output() {
    let ws = example("asm");
    let root = ws.path();
    write_files(
        root,
        &[(
            "cmd/second/main.go",
            "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"second\") }\n",
        )],
    );
    let clean = Gobuildr::new(root).build_ok(root, &["//..."]);
    let hostile = Gobuildr::new(root)
        .env("GOFLAGS", "-mod=vendor -race -ldflags=-s")
        .env("GOPROXY", "off")
        .env("GOAMD64", "v3")
        .env("GOARM", "5")
        .env("CGO_ENABLED", "1")
        .env("CGO_CFLAGS", "-O3 -DHOSTILE")
        .env("GOEXPERIMENT", "fieldtrack")
        .env("GODEBUG", "panicnil=1")
        .env("GOPATH", "/nonexistent/gopath")
        .env("GOCACHE", "/nonexistent/gocache")
        .env("GOROOT", "/nonexistent/goroot")
        .env("GOOS", "windows")
        .env("GOARCH", "arm64")
        .env("TZ", "Pacific/Kiritimati")
        .env("LC_ALL", "tr_TR.UTF-8")
        .build_ok(root, &["//..."]);
    assert_eq!(clean.outputs(), hostile.outputs());
    assert_eq!(hostile.executed(), 0, "{:?}", hostile.executed_actions());
    assert_matches_go_build(root, &hostile, &[]);
}

#[test]
fn syntax_error_exits_1_with_the_compilers_message() {
    let ws = example("multi");
    let root = ws.path();
    write_files(
        root,
        &[("pkg/strutil/bad.go", "package strutil\n\nfunc Broken( {\n")],
    );
    let out = Gobuildr::new(root).args(["build", "//..."]).run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("pkg/strutil/bad.go:3:"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(
        !err.contains("/tmp"),
        "sandbox paths leak into messages: {err}"
    );
}

#[test]
fn package_errors_name_file_and_line() {
    let ws = example("hello");
    let root = ws.path();
    write_files(
        root,
        &[(
            "main.go",
            "package main\n\nimport \"example.com/hello/nosuch\"\n\nfunc main() { nosuch.X() }\n",
        )],
    );
    let out = Gobuildr::new(root).args(["build", "//..."]).run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("main.go:3:8"), "{err}");
    assert!(err.contains("example.com/hello/nosuch"), "{err}");
    assert!(
        !root.join("gobuildr-out").exists(),
        "nothing is published for a failed build"
    );
}

#[test]
fn unknown_label_exits_2_and_suggests() {
    let ws = example("multi");
    let out = Gobuildr::new(ws.path())
        .args(["build", "//cmd/sever"])
        .run();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("//cmd/sever"), "{err}");
    assert!(err.contains("//cmd/server"), "{err}");
    let out = Gobuildr::new(ws.path()).args(["build", "//../x"]).run();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_go_mod_is_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = Gobuildr::new(dir.path()).args(["build", "//..."]).run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no go.mod"), "{}", stderr(&out));
}

#[test]
fn corrupt_cache_blob_is_detected_and_rebuilt() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("hello");
    let root = ws.path();
    let first = Gobuildr::new(root)
        .cache(cache.path())
        .build_ok(root, &["//..."]);
    let (_, (path, sha, blake3)) = first.outputs().into_iter().next().unwrap();
    // Flip a byte in the binary's blob and in the runtime archive's blob.
    let blob = |hex: &str| cache.path().join("cas-v1").join(&hex[..2]).join(hex);
    let runtime_key = first.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"] == "runtime" && a["kind"] == "pack")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    let entry: serde_json::Value = serde_json::from_slice(
        &fs::read(
            cache
                .path()
                .join("ac-v1")
                .join(&runtime_key[..2])
                .join(format!("{runtime_key}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    let runtime_blob = entry["outputs"][0]["digest"].as_str().unwrap().to_string();
    for hex in [blake3.as_str(), runtime_blob.as_str()] {
        let p = blob(hex);
        let mut data = fs::read(&p).unwrap();
        data[1000] ^= 0xff;
        let mut perm = fs::metadata(&p).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        fs::set_permissions(&p, perm).unwrap();
        fs::write(&p, data).unwrap();
    }
    fs::remove_dir_all(root.join("gobuildr-out")).unwrap();
    let second = Gobuildr::new(root)
        .cache(cache.path())
        .build_ok(root, &["//..."]);
    let executed = second.executed_actions();
    assert!(
        executed.contains(&("pack".to_string(), "runtime".to_string())),
        "{executed:?}"
    );
    assert!(
        executed.contains(&("link".to_string(), "example.com/hello".to_string())),
        "{executed:?}"
    );
    assert_eq!(
        second.outputs().into_values().next().unwrap(),
        (path.clone(), sha, blake3)
    );
    assert_matches_go_build(root, &second, &[]);
}

#[test]
fn two_processes_share_one_cache() {
    let a = example("multi");
    let b = example("multi");
    // Unique sources, so both processes miss on the same new actions at once.
    let nonce = nonce();
    for ws in [a.path(), b.path()] {
        write_files(
            ws,
            &[(
                "internal/greet/nonce.go",
                &format!("package greet\n\nconst Nonce = {nonce:?}\n"),
            )],
        );
    }
    let spawn = |ws: &Path| {
        Gobuildr::new(ws)
            .args(["build", "-q", "--summary-json"])
            .arg(ws.join(".summary.json"))
            .arg("//...")
            .command()
            .spawn()
            .unwrap()
    };
    let (mut pa, mut pb) = (spawn(a.path()), spawn(b.path()));
    assert!(pa.wait().unwrap().success());
    assert!(pb.wait().unwrap().success());
    let sa = Summary::load(&a.path().join(".summary.json"));
    let sb = Summary::load(&b.path().join(".summary.json"));
    assert_eq!(sa.outputs(), sb.outputs());
    assert_matches_go_build(a.path(), &sa, &[]);
}

#[test]
fn interrupt_stops_tools_and_leaves_the_cache_consistent() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("hello");
    let root = ws.path();
    let mut child = Gobuildr::new(root)
        .cache(cache.path())
        .args(["build", "-q", "//..."])
        .command()
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!root.join("gobuildr-out").exists());
    let s = Gobuildr::new(root)
        .cache(cache.path())
        .build_ok(root, &["//..."]);
    assert!(
        s.0["actions"]["cached"].as_u64().unwrap() > 0,
        "the interrupted run's finished actions are kept"
    );
    assert_matches_go_build(root, &s, &[]);
}

#[test]
fn keep_going_builds_what_does_not_depend_on_a_failure() {
    let ws = example("multi");
    let root = ws.path();
    // strutil is imported by the client only; the server still builds.
    write_files(
        root,
        &[(
            "pkg/strutil/bad.go",
            "package strutil\n\nvar x int = \"not an int\"\n",
        )],
    );
    let summary_path = root.join(".summary.json");
    let out = Gobuildr::new(root)
        .args(["build", "-q", "--keep-going", "-j", "1", "--summary-json"])
        .arg(&summary_path)
        .arg("//...")
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pkg/strutil/bad.go:3"),
        "{}",
        stderr(&out)
    );
    let s = Summary::load(&summary_path);
    let labels: Vec<String> = s.outputs().into_keys().collect();
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert!(labels[0].starts_with("//cmd/server:server "), "{labels:?}");
    assert_eq!(s.0["success"], false);
    assert!(root
        .join(&s.outputs().into_values().next().unwrap().0)
        .is_file());
}

#[test]
fn two_binaries_with_one_name_are_refused() {
    let ws = example("hello");
    let root = ws.path();
    let main = "package main\n\nfunc main() {}\n";
    write_files(root, &[("a/tool/main.go", main), ("b/tool/main.go", main)]);
    let out = Gobuildr::new(root).args(["build", "//..."]).run();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("//a/tool:tool") && err.contains("//b/tool:tool"),
        "{err}"
    );
    // One at a time is fine.
    Gobuildr::new(root).build_ok(root, &["//a/tool"]);
}

#[test]
fn blob_corrupted_behind_the_stat_cache_is_never_published() {
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let ws = example("hello");
    let root = ws.path();
    let first = Gobuildr::new(root)
        .cache(cache.path())
        .build_ok(root, &["//..."]);
    let (_, (path, sha, blake3)) = first.outputs().into_iter().next().unwrap();
    // Same size, same mtime, same inode: only a full read can tell.
    let blob = cache.path().join("cas-v1").join(&blake3[..2]).join(&blake3);
    let meta = fs::metadata(&blob).unwrap();
    let mut perm = meta.permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    fs::set_permissions(&blob, perm).unwrap();
    let mut data = fs::read(&blob).unwrap();
    data[2000] ^= 0x55;
    fs::write(&blob, &data).unwrap();
    fs::File::options()
        .write(true)
        .open(&blob)
        .unwrap()
        .set_modified(meta.modified().unwrap())
        .unwrap();
    fs::remove_dir_all(root.join("gobuildr-out")).unwrap();
    let out = Gobuildr::new(root)
        .cache(cache.path())
        .args(["build", "-q", "//..."])
        .run();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("corrupt"), "{}", stderr(&out));
    assert!(
        !root.join(&path).exists(),
        "a corrupt binary must not be published"
    );
    // The bad blob was dropped: the next build rebuilds it.
    let again = Gobuildr::new(root)
        .cache(cache.path())
        .build_ok(root, &["//..."]);
    assert_eq!(
        again.outputs().into_values().next().unwrap(),
        (path, sha, blake3)
    );
}

/// A workspace of libraries only, built twice: the second build plans
/// from the discovery cache (which keeps no dependency lists for
/// libraries) and must still plan every import.
#[test]
fn a_library_only_workspace_builds_from_the_discovery_cache() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/libs\n\ngo 1.22\n"),
            (
                "a/a.go",
                "package a\n\nimport \"fmt\"\n\nfunc Say() string { return fmt.Sprint(1) }\n",
            ),
            ("b/b_test.go", "package b\n"),
        ],
    );
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    for _ in 0..2 {
        let out = Gobuildr::new(ws.path())
            .cache(cache.path())
            .args(["build", "//..."])
            .run();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}
