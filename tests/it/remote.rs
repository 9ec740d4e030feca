//! The remote cache and remote execution, on real servers: bazel-remote
//! for the cache, Buildbarn for execution (built from the module proxy by
//! scripts/reapi-servers.sh, hence the --ignored tier).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::reapi_servers::{free_port, BazelRemote, Buildbarn};
use super::support::*;

/// (kind package, source) of every action.
fn sources(s: &Summary) -> Vec<(String, String)> {
    s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                format!(
                    "{} {}",
                    a["kind"].as_str().unwrap(),
                    a["package"].as_str().unwrap()
                ),
                a["source"].as_str().unwrap_or("none").to_string(),
            )
        })
        .collect()
}

fn count(s: &Summary, source: &str) -> usize {
    sources(s).iter().filter(|(_, src)| src == source).count()
}

fn remote(s: &Summary, field: &str) -> u64 {
    s.0["remote"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("summary remote.{field}: {}", s.0["remote"]))
}

fn warnings(out: &std::process::Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect()
}

/// A build with a fresh local cache in `cache` and the given remote flags.
fn build_remote(ws: &Path, cache: &Path, remote: &[&str]) -> Summary {
    Gobuildr::new(ws).cache(cache).build_ok(ws, remote)
}

/// The largest blob file on bazel-remote's disk.
fn largest_blob(dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    let mut todo = vec![dir.join("cas.v2")];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push((e.metadata().unwrap().len(), p));
            }
        }
    }
    files.into_iter().max().expect("no blob on the server").1
}

fn flip_byte(path: &Path, at: u64) {
    let mut data = fs::read(path).unwrap();
    let i = (at as usize).min(data.len() - 1);
    data[i] ^= 0xff;
    let mut perm = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    fs::set_permissions(path, perm).unwrap();
    fs::write(path, data).unwrap();
}

#[test]
#[ignore = "needs the module proxy"]
fn two_checkouts_share_a_remote_cache_byte_for_byte() {
    let server = BazelRemote::start();
    let flags = ["--remote-cache", &server.addr()];
    let (ws1, c1) = (example("multi"), tempfile::tempdir().unwrap());
    let first = build_remote(ws1.path(), c1.path(), &flags);
    assert_eq!(
        count(&first, "local"),
        sources(&first).len(),
        "{:?}",
        sources(&first)
    );
    assert!(remote(&first, "bytes_uploaded") > 0);

    // Another checkout, elsewhere, with its own empty local cache.
    let (ws2, c2) = (example("multi"), tempfile::tempdir().unwrap());
    let second = build_remote(ws2.path(), c2.path(), &flags);
    let total = sources(&second).len();
    assert_eq!(
        count(&second, "remote-cache"),
        total,
        "{:?}",
        sources(&second)
    );
    assert_eq!(second.executed(), 0);
    assert_eq!(remote(&second, "cache_hits") as usize, total);
    assert!(remote(&second, "bytes_downloaded") > 0);
    assert_eq!(remote(&second, "bytes_uploaded"), 0);
    let shas = |s: &Summary| s.outputs().into_values().map(|o| o.1).collect::<Vec<_>>();
    assert_eq!(shas(&first), shas(&second));
    assert_matches_go_build(ws2.path(), &second, &[]);

    // Again with the local cache warm: nothing asked of the server.
    let again = build_remote(ws2.path(), c2.path(), &flags);
    assert_eq!(count(&again, "local-cache"), total);
    assert_eq!(
        remote(&again, "cache_hits") + remote(&again, "cache_misses"),
        0
    );
}

#[test]
#[ignore = "needs the module proxy"]
fn a_blob_altered_on_the_servers_disk_is_refused_and_rebuilt() {
    let server = BazelRemote::start();
    let flags = ["--remote-cache", &server.addr()];
    let (ws1, c1) = (example("hello"), tempfile::tempdir().unwrap());
    let first = build_remote(ws1.path(), c1.path(), &flags);
    // bazel-remote keeps blobs uncompressed in this test, so the flipped
    // byte reaches the client.
    flip_byte(&largest_blob(&server.dir), 5000);

    let (ws2, c2) = (example("hello"), tempfile::tempdir().unwrap());
    let out = Gobuildr::new(ws2.path())
        .cache(c2.path())
        .args(["build", "--summary-json"])
        .arg(ws2.path().join("s.json"))
        .args(flags)
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    let second = Summary::load(&ws2.path().join("s.json"));
    assert_eq!(remote(&second, "refused_blobs"), 1, "{}", stderr(&out));
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("does not hash to its digest"), "{w:?}");
    // The warning names the action whose result was refused: that one ran
    // here, everything else came from the server.
    let refused = w[0]
        .strip_prefix("warning: ")
        .and_then(|r| r.split_once(": not used, built here"))
        .map(|(action, _)| action.to_string())
        .unwrap_or_else(|| panic!("{w:?}"));
    for (action, source) in sources(&second) {
        let want = if action == refused {
            "local"
        } else {
            "remote-cache"
        };
        assert_eq!(source, want, "{action} ({refused} was refused)");
    }
    assert_eq!(first.outputs(), second.outputs());
    assert_matches_go_build(ws2.path(), &second, &[]);
}

#[test]
#[ignore = "needs the module proxy"]
fn a_read_only_client_never_writes_the_remote_cache() {
    let server = BazelRemote::start();
    let ro = ["--remote-cache", &server.addr(), "--remote-cache-readonly"];
    let (ws, c1) = (example("hello"), tempfile::tempdir().unwrap());
    let first = build_remote(ws.path(), c1.path(), &ro);
    assert_eq!(remote(&first, "bytes_uploaded"), 0);
    assert_eq!(count(&first, "local"), sources(&first).len());
    let c2 = tempfile::tempdir().unwrap();
    let second = build_remote(ws.path(), c2.path(), &ro);
    assert_eq!(count(&second, "remote-cache"), 0, "nothing was shared");
}

#[test]
#[ignore = "needs the module proxy"]
fn a_server_killed_mid_build_leaves_the_build_to_finish_locally() {
    let mut server = BazelRemote::start();
    let (ws, cache) = (example("multi"), tempfile::tempdir().unwrap());
    let summary = ws.path().join("s.json");
    let child = Gobuildr::new(ws.path())
        .cache(cache.path())
        .args(["build", "-q", "--summary-json"])
        .arg(&summary)
        .args(["--remote-cache", &server.addr()])
        .command()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed once results are being shared, long before the end.
    let start = Instant::now();
    while count_files(&server.dir.join("cas.v2")) < 10 {
        assert!(start.elapsed() < Duration::from_secs(120), "no uploads");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.kill();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "one warning: {w:?}");
    assert!(w[0].contains("continuing with the local cache"), "{w:?}");
    let s = Summary::load(&summary);
    assert_eq!(s.0["remote"]["fell_back"], true);
    assert!(count(&s, "local") > 0);
    assert_matches_go_build(ws.path(), &s, &[]);
}

fn count_files(dir: &Path) -> usize {
    let Ok(rd) = fs::read_dir(dir) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            if e.path().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// Nothing listens: one warning, then the local cache and executor; the
/// header's value (a token) is never shown. (A build the local cache
/// answers whole never connects, so each run has a new main package.)
#[test]
fn an_unreachable_server_is_warned_about_once_and_tokens_stay_secret() {
    let ws = example("hello");
    let url = format!("grpc://127.0.0.1:{}", free_port());
    for flag in ["--remote-cache", "--remote-executor"] {
        let main = ws.path().join("main.go");
        let src = fs::read_to_string(&main).unwrap();
        fs::write(&main, format!("{src}\nvar _ = \"{}\"\n", nonce())).unwrap();
        let out = Gobuildr::new(ws.path())
            .args(["build", "-q", flag, &url])
            .args(["--remote-header", "Authorization=Bearer s3cr3t-t0ken"])
            .run();
        assert!(out.status.success(), "{flag}: {}", stderr(&out));
        let w = warnings(&out);
        assert_eq!(w.len(), 1, "{flag}: {w:?}");
        assert!(w[0].contains(&url), "{w:?}");
        assert!(!stderr(&out).contains("s3cr3t"), "{}", stderr(&out));
    }
}

#[test]
fn bad_remote_settings_are_usage_errors_that_name_them() {
    let ws = example("hello");
    for (args, names) in [
        (
            vec!["--remote-cache", "http://127.0.0.1:1"],
            "http://127.0.0.1:1",
        ),
        (vec!["--remote-executor", "127.0.0.1:1"], "127.0.0.1:1"),
        (
            vec![
                "--remote-cache",
                "grpc://h:1",
                "--remote-header",
                "tok3n-only",
            ],
            "--remote-header",
        ),
    ] {
        let out = Gobuildr::new(ws.path()).arg("build").args(&args).run();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(names), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("tok3n"), "{}", stderr(&out));
    }
}

/// A module with assembly, an embed and two packages.
fn asm_embed_workspace(root: &Path) {
    copy_tree(&repo().join("examples/asm"), root);
    write_files(
        root,
        &[
            (
                "notes/notes.go",
                "package notes\n\nimport _ \"embed\"\n\n//go:embed notes.txt\nvar Text string\n",
            ),
            ("notes/notes.txt", "remote notes\n"),
        ],
    );
    let main = root.join("cmd/asmdemo/main.go");
    let src = fs::read_to_string(&main).unwrap();
    let src = src.replacen("import (", "import (\n\t_ \"example.com/asm/notes\"", 1);
    fs::write(&main, src).unwrap();
}

#[test]
#[ignore = "needs the module proxy"]
fn buildbarn_executes_every_tool_action_and_the_binaries_match() {
    let bb = Buildbarn::start();
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    asm_embed_workspace(ws.path());
    let cache = tempfile::tempdir().unwrap();
    let s = build_remote(ws.path(), cache.path(), &["--remote-executor", &bb.addr()]);
    for (action, source) in sources(&s) {
        let want = if action.starts_with("pack ") {
            "local"
        } else {
            "remote"
        };
        assert_eq!(source, want, "{action}\n{}", bb.logs());
    }
    assert!(remote(&s, "executed") > 100);
    let local = Gobuildr::new(ws.path()).build_ok(ws.path(), &[]);
    assert_eq!(s.outputs(), local.outputs(), "remote and local binaries");
    assert_matches_go_build(ws.path(), &s, &[]);
}

#[test]
#[ignore = "needs the module proxy"]
fn a_remote_compile_error_reads_as_a_local_one() {
    let bb = Buildbarn::start();
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    copy_tree(&repo().join("examples/hello"), ws.path());
    let main = ws.path().join("main.go");
    let src = fs::read_to_string(&main).unwrap();
    fs::write(
        &main,
        src.replacen("func main() {", "func main() {\n\tundefinedThing()", 1),
    )
    .unwrap();
    let local = Gobuildr::new(ws.path()).args(["build", "-q"]).run();
    let cache = tempfile::tempdir().unwrap();
    let remote = Gobuildr::new(ws.path())
        .cache(cache.path())
        .args(["build", "-q", "--remote-executor", &bb.addr()])
        .run();
    assert_eq!(remote.status.code(), local.status.code());
    assert_eq!(remote.status.code(), Some(1));
    let failure = |o: &std::process::Output| {
        stderr(o)
            .lines()
            .filter(|l| l.contains("undefinedThing"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(!failure(&local).is_empty(), "{}", stderr(&local));
    assert_eq!(failure(&remote), failure(&local), "{}", stderr(&remote));
}

/// A test CA and a certificate it signs for 127.0.0.1, made with openssl:
/// (ca.pem, server.pem, server.key) in `dir`.
fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (Debian package openssl) is needed");
        assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=gobuildr test CA",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// grpcs:// verifies the server against the platform's roots, as
/// SSL_CERT_FILE names them: trusted, the cache is used; not trusted, one
/// warning and a local build.
#[test]
#[ignore = "needs the module proxy"]
fn grpcs_trusts_the_roots_ssl_cert_file_names() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_certificates(certs.path());
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let server = BazelRemote::start_with(&["--tls_cert_file", &cert, "--tls_key_file", &key]);
    let url = format!("grpcs://127.0.0.1:{}", server.port);
    let ws = example("hello");
    let (c1, c2, c3) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let trusted = |cache: &Path| {
        Gobuildr::new(ws.path())
            .cache(cache)
            .env("SSL_CERT_FILE", &ca)
    };
    trusted(c1.path()).build_ok(ws.path(), &["--remote-cache", &url]);
    let hit = trusted(c2.path()).build_ok(ws.path(), &["--remote-cache", &url]);
    assert_eq!(count(&hit, "remote-cache"), sources(&hit).len());

    let untrusted = Gobuildr::new(ws.path())
        .cache(c3.path())
        // The platform's bundle: the test CA is not in it.
        .env("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")
        .args(["build", "-q", "--remote-cache", &url])
        .run();
    assert!(untrusted.status.success(), "{}", stderr(&untrusted));
    let w = warnings(&untrusted);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains(&url), "{w:?}");
}

/// A cache that offers BLAKE3 (bb_storage, no executor) is used with it:
/// digests are the local ones, and a second checkout hits every action.
#[test]
#[ignore = "needs the module proxy"]
fn a_cache_that_offers_blake3_is_used_with_blake3() {
    let bb = Buildbarn::start_cache_only();
    let flags = ["--remote-cache", &bb.addr()];
    let (ws1, c1) = (example("hello"), tempfile::tempdir().unwrap());
    let first = build_remote(ws1.path(), c1.path(), &flags);
    assert_eq!(
        first.0["remote"]["digest_function"],
        "blake3",
        "{}",
        bb.logs()
    );
    let (ws2, c2) = (example("hello"), tempfile::tempdir().unwrap());
    let second = build_remote(ws2.path(), c2.path(), &flags);
    assert_eq!(
        count(&second, "remote-cache"),
        sources(&second).len(),
        "{}",
        bb.logs()
    );
    assert_eq!(first.outputs(), second.outputs());
}

/// gobuildr.toml's [remote] is read, and a flag overrides it.
#[test]
fn the_remote_table_is_read_and_flags_override_it() {
    let ws = example("hello");
    let (from_file, from_flag) = (free_port(), free_port());
    fs::write(
        ws.path().join("gobuildr.toml"),
        format!("[remote]\ncache = \"grpc://127.0.0.1:{from_file}\"\nreadonly = true\n"),
    )
    .unwrap();
    for (extra, port) in [
        (vec![], from_file),
        (
            vec![
                "--remote-cache".to_string(),
                format!("grpc://127.0.0.1:{from_flag}"),
            ],
            from_flag,
        ),
    ] {
        let main = ws.path().join("main.go");
        let src = fs::read_to_string(&main).unwrap();
        fs::write(&main, format!("{src}\nvar _ = \"{}\"\n", nonce())).unwrap();
        let out = Gobuildr::new(ws.path())
            .args(["build", "-q"])
            .args(&extra)
            .run();
        assert!(out.status.success(), "{}", stderr(&out));
        let w = warnings(&out);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains(&format!("127.0.0.1:{port}")), "{w:?}");
    }
    fs::write(
        ws.path().join("gobuildr.toml"),
        "[remote]\ncache = \"ftp://x\"\n",
    )
    .unwrap();
    let out = Gobuildr::new(ws.path()).args(["build", "-q"]).run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("gobuildr.toml [remote] cache"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("ftp://x"), "{}", stderr(&out));
}
