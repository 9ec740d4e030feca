//! The checksum database, offline: a real x/mod database (netfix) serves
//! signed heads and tiles over loopback HTTPS with a test CA; gobuildr must
//! prove every module hash against it and refuse every kind of lie.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::netfix::{self, Server};
use crate::support::*;

pub const GREETING: [&str; 2] = [
    "example.com/greeting v1.2.0 h1:0PWeyoeOla+ns62SJGED2YfAPwOoL+6QEMy6KuLQgcg=",
    "example.com/greeting v1.2.0/go.mod h1:8CLKfGjqdJNXRpBznlr7iO8dyI9y1F6BjBZYhWSoXw4=",
];

/// Database set-up for one server: its key file (shared by servers that
/// play the same database), records, filler count.
pub struct Db<'a> {
    pub key: &'a Path,
    pub records: &'a [&'a str],
    pub filler: usize,
    pub extra: &'a [&'a str],
}

/// Starts netfix serving `proxy_root` on routes and the database.
pub fn serve(proxy_root: &Path, db: &Db, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir_in(scratch()).unwrap().keep();
    let records = dir.join("records");
    netfix::write_records(&records, db.records);
    let filler = db.filler.to_string();
    let mut args = vec![
        "-names",
        "modproxy.test",
        "-proxy-root",
        proxy_root.to_str().unwrap(),
        "-sumdb-name",
        "sumdb.test",
        "-sumdb-skey",
        db.key.to_str().unwrap(),
        "-sumdb-records",
        records.to_str().unwrap(),
        "-sumdb-filler",
        &filler,
        "-sumdb-preload",
        "-route",
        "/ok=serve",
    ];
    args.extend_from_slice(db.extra);
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// A server whose database holds example.com/greeting v1.2.0 after
/// `filler` records, serving the test proxy.
pub fn serve_greeting(key: &Path, filler: usize, db_extra: &[&str], routes: &[&str]) -> Server {
    serve(
        proxy(),
        &Db {
            key,
            records: &GREETING,
            filler,
            extra: db_extra,
        },
        routes,
    )
}

/// gobuildr with a private cache, the server's CA as the only trust
/// source, no proxy variables and no netrc from the caller.
pub fn gobuildr(ws: &Path, cache: &Path, server: &Server, goproxy: &str) -> Gobuildr {
    let empty = scratch().join("empty-cert-dir");
    fs::create_dir_all(&empty).unwrap();
    Gobuildr::new(ws)
        .cache(cache)
        .env("GOPROXY", goproxy)
        .env("GOSUMDB", &server.vkey)
        .env("GONOSUMDB", "")
        .env("GOPRIVATE", "")
        .env("GONOPROXY", "")
        .env("SSL_CERT_FILE", &server.ca)
        .env("SSL_CERT_DIR", &empty)
        .env("NETRC", scratch().join("no-netrc"))
        .env("HTTPS_PROXY", "")
        .env("https_proxy", "")
        .env("HTTP_PROXY", "")
        .env("http_proxy", "")
        .env("NO_PROXY", "")
        .env("no_proxy", "")
}

pub fn url(server: &Server, route: &str) -> String {
    format!("https://{}/{route}", server.https)
}

pub fn key_file(tag: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("key-{tag}-"))
        .tempdir_in(scratch())
        .unwrap();
    let path = dir.path().join("skey");
    (dir, path)
}

fn fetch(g: Gobuildr) -> Output {
    g.args(["fetch", "--json"]).run()
}

#[test]
fn good_module_is_proved_built_audited_and_then_costs_no_request() {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("good");
    let server = serve_greeting(&key, 300, &[], &[]);
    let g = || gobuildr(ws.path(), cache.path(), &server, &url(&server, "ok"));
    let out = fetch(g());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(server.count("/ok/sumdb/sumdb.test/lookup/example.com/greeting@v1.2.0") == 1);
    assert!(
        server.count("/ok/sumdb/sumdb.test/tile/8/1/") >= 1,
        "{:?}",
        server.requests()
    );

    let out = g().args(["fetch", "--audit", "--json"]).run();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines = report["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["status"] == "verified"), "{report}");
    assert_eq!(report["database"]["name"], "sumdb.test");
    assert_eq!(report["database"]["tree_size"], 301);

    // Warm: the build, a no-op rebuild and a fetch ask nothing.
    let before = server.requests().len();
    let out = g().args(["build", "-q", "//..."]).run();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = g().args(["build", "-q", "//..."]).run();
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fetch(g());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.requests()[before..], [] as [String; 0]);
    assert!(ws.path().join("gobuildr-out").exists());
}

#[test]
fn consistently_tampered_go_sum_and_zip_are_refused_naming_the_module() {
    let ws = example("moddep");
    let bad = crate::modules::tampered_proxy();
    let tampered_h1 =
        crate::modules::h1_of_zip(&bad.path().join("example.com/greeting/@v/v1.2.0.zip"));
    let sum = fs::read_to_string(ws.path().join("go.sum")).unwrap();
    let good_h1 = GREETING[0].rsplit(' ').next().unwrap();
    fs::write(ws.path().join("go.sum"), sum.replace(good_h1, &tampered_h1)).unwrap();
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("tamper");
    let server = serve(
        bad.path(),
        &Db {
            key: &key,
            records: &GREETING,
            filler: 3,
            extra: &[],
        },
        &[],
    );
    let out = gobuildr(ws.path(), cache.path(), &server, &url(&server, "ok"))
        .args(["build", "//..."])
        .run();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for want in [
        "example.com/greeting",
        "v1.2.0",
        &tampered_h1,
        good_h1,
        "go.sum",
    ] {
        assert!(err.contains(want), "{want} missing from: {err}");
    }
    assert!(!ws.path().join("gobuildr-out").exists());
    let published = cache
        .path()
        .join("modcache-v1/cache/download/example.com/greeting/@v/v1.2.0.zip");
    assert!(!published.exists(), "refused before it was published");
}

fn refused(extra_db: &[&str], want: &str) {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("refuse");
    let server = serve_greeting(&key, 20, extra_db, &[]);
    let out = fetch(gobuildr(
        ws.path(),
        cache.path(),
        &server,
        &url(&server, "ok"),
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains(want) && err.contains("sumdb.test"), "{err}");
    assert!(!cache.path().join("sumdb-v1/sumdb.test/lookup").exists());
}

#[test]
fn a_bad_signature_is_refused() {
    refused(&["-sumdb-mode", "badsig"], "signature");
}

#[test]
fn a_record_not_in_the_tree_is_refused() {
    let lie = tempfile::NamedTempFile::new_in(scratch()).unwrap();
    netfix::write_records(
        lie.path(),
        &[
            "example.com/greeting v1.2.0 h1:0PWeyoeOla+ns62SJGED2YfAPwOoL+6QEMy6KuLQgcg=",
            "example.com/greeting v1.2.0/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ],
    );
    refused(
        &[
            "-sumdb-mode",
            "lie",
            "-sumdb-lie",
            lie.path().to_str().unwrap(),
        ],
        "not included",
    );
}

/// The go.sum lines of example.com/greeting v1.3.0 (real hashes).
fn greeting_13() -> [String; 2] {
    netfix::real_sums("example.com/greeting@v1.3.0")
}

/// Builds a cache that has proved greeting v1.2.0 against the honest
/// database (300 fillers, x, greeting v1.2.0 and v1.3.0), then adds
/// greeting v1.3.0's go.mod line to go.sum, so that the next fetch must ask
/// `other` (a server with the same key) for a record.
fn against_history(key: &Path, other_records: &[&str], other_filler: usize) -> (Output, String) {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let g13 = greeting_13();
    let honest = serve(
        proxy(),
        &Db {
            key,
            records: &[
                "example.com/x v1.0.0 h1:xx=",
                GREETING[0],
                GREETING[1],
                &g13[0],
                &g13[1],
            ],
            filler: 300,
            extra: &[],
        },
        &[],
    );
    let seen = honest_head(&honest);
    let out = fetch(gobuildr(
        ws.path(),
        cache.path(),
        &honest,
        &url(&honest, "ok"),
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    drop(honest);
    let sum = ws.path().join("go.sum");
    let text = fs::read_to_string(&sum).unwrap() + &g13[1] + "\n";
    fs::write(&sum, text).unwrap();
    let mut records: Vec<&str> = other_records.to_vec();
    records.extend([g13[0].as_str(), g13[1].as_str()]);
    let server = serve(
        proxy(),
        &Db {
            key,
            records: &records,
            filler: other_filler,
            extra: &[],
        },
        &[],
    );
    let out = fetch(gobuildr(
        ws.path(),
        cache.path(),
        &server,
        &url(&server, "ok"),
    ));
    (out, seen)
}

/// `<size> <root>` of the server's signed head.
fn honest_head(server: &Server) -> String {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert"])
        .arg(&server.ca)
        .arg(format!("{}/sumdb/sumdb.test/latest", url(server, "ok")))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let l: Vec<&str> = text.lines().collect();
    format!("{} {}", l[1], l[2])
}

#[test]
fn a_forked_tree_is_refused_naming_both_heads() {
    let (_k, key) = key_file("fork");
    // Same key, same size, another record in place of x.
    let (out, seen) = against_history(
        &key,
        &["example.com/y v1.0.0 h1:yy=", GREETING[0], GREETING[1]],
        300,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("forked") && err.contains(&seen), "{err}");
    assert!(err.contains("sumdb.test"), "{err}");
}

#[test]
fn a_rolled_back_tree_is_refused_naming_both_heads() {
    let (_k, key) = key_file("rollback");
    let (out, seen) = against_history(&key, &GREETING, 100);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("rolled back") && err.contains(&seen), "{err}");
}

#[test]
fn pin_drift_fails_and_a_true_pin_passes() {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("pin");
    let db = |filler, records| Db {
        key: &key,
        records,
        filler,
        extra: &[],
    };
    let other = serve(
        proxy(),
        &db(
            50,
            &["example.com/y v1.0.0 h1:yy=", GREETING[0], GREETING[1]],
        ),
        &[],
    );
    let foreign_pin = honest_head(&other);
    drop(other);
    let server = serve(proxy(), &db(300, &GREETING), &[]);
    let own_pin = honest_head(&server);
    let toml = ws.path().join("gobuildr.toml");
    let run = |pin: &str| {
        fs::write(&toml, format!("[sumdb]\npin = \"{pin}\"\n")).unwrap();
        fetch(gobuildr(
            ws.path(),
            cache.path(),
            &server,
            &url(&server, "ok"),
        ))
    };
    let out = run("not a tree head");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("gobuildr.toml"), "{}", stderr(&out));
    let out = run(&foreign_pin);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("pin") && err.contains(&foreign_pin), "{err}");
    let out = run(&own_pin);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_unreachable_database_is_an_environment_error_never_a_downgrade() {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("down");
    let server = serve_greeting(&key, 3, &[], &["-route", "/nodb=nosumdb"]);
    // The proxy does not offer the database; its own URL is closed.
    let out = gobuildr(ws.path(), cache.path(), &server, &url(&server, "nodb"))
        .env("GOSUMDB", format!("{} https://127.0.0.1:9/db", server.vkey))
        .env("GOBUILDR_HTTP_TIMEOUT", "5")
        .args(["build", "//..."])
        .run();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("sumdb.test") && err.contains("127.0.0.1:9"),
        "{err}"
    );
    assert!(!ws.path().join("gobuildr-out").exists());
    // --offline with nothing proved yet names the module.
    let out = gobuildr(ws.path(), cache.path(), &server, &url(&server, "ok"))
        .args(["fetch", "--offline"])
        .run();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("example.com/greeting"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn two_concurrent_fetches_share_one_download_each() {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let (_k, key) = key_file("concurrent");
    let server = serve_greeting(&key, 3, &[], &[]);
    let spawn = || {
        gobuildr(ws.path(), cache.path(), &server, &url(&server, "ok"))
            .args(["fetch"])
            .command()
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(
        server.count("GET 127.0.0.1 /ok/example.com/greeting/@v/v1.2.0.zip 200"),
        1
    );
    assert_eq!(
        server.count("GET 127.0.0.1 /ok/example.com/greeting/@v/v1.2.0.mod 200"),
        1
    );
}

#[test]
fn a_pinned_toolchain_is_proved_by_the_database() {
    let (tproxy, modver) = crate::modules::toolchain_proxy("1.26.98");
    let sum = crate::modules::h1_of_zip(
        &tproxy
            .path()
            .join(format!("golang.org/toolchain/@v/{modver}.zip")),
    );
    let zip_line = format!("golang.org/toolchain {modver} {sum}");
    let mod_line = format!(
        "golang.org/toolchain {modver}/go.mod h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    );
    let (_k, key) = key_file("toolchain");
    let server = serve(
        tproxy.path(),
        &Db {
            key: &key,
            records: &[&zip_line, &mod_line],
            filler: 3,
            extra: &[],
        },
        &[],
    );
    let ws = example("hello");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let toml = ws.path().join("gobuildr.toml");
    let run = |toolchain: &str| {
        fs::write(&toml, format!("[toolchain]\ngo = \"1.26.98\"\n{toolchain}")).unwrap();
        gobuildr(ws.path(), cache.path(), &server, &url(&server, "ok"))
            .arg("toolchain")
            .run()
    };
    // A recorded sum that the database contradicts is refused.
    let out = run("sum = \"h1:0PWeyoeOla+ns62SJGED2YfAPwOoL+6QEMy6KuLQgcg=\"\n");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("checksum database") && err.contains(&sum),
        "{err}"
    );
    // With no recorded sum, the database's proved hash is the record.
    let out = run("");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&sum));
    assert_eq!(server.count("lookup/golang.org/toolchain@"), 1);
}
