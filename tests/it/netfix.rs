//! The network fixture server (`tests/netfix`, a Go program): a module proxy
//! over HTTPS (fresh test CA per start) and plain HTTP, a checksum database
//! that can misbehave, per-prefix failure behaviours and an HTTP CONNECT
//! proxy, all on 127.0.0.1. Built once per run with the local Go toolchain
//! and the toolchain's own vendored golang.org/x/mod, fully offline.
//!
//! Flags (see `tests/netfix/main.go`): `-names a.test,b.test`,
//! `-proxy-root DIR`, `-route PREFIX=serve|status:N|flaky:K|auth:U:P|nosumdb|hang`
//! (repeat a prefix to stack behaviours), `-dbroute PREFIX[=BEHAVIOUR]`,
//! `-sumdb-name NAME`, `-sumdb-skey FILE`, `-sumdb-records FILE`,
//! `-sumdb-filler N`, `-sumdb-preload`, `-sumdb-mode normal|badsig|lie`,
//! `-sumdb-lie FILE`, `-connect`, `-connect-auth U:P`. `Server::start` adds
//! `-state` and `-exit-on-stdin-eof`.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::support;

/// The netfix binary, built once per test run into `scratch()/netfix`; a
/// stamp holding the digest of the Go sources and `go version` skips the
/// build on warm runs.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build)
}

fn go_output(args: &[&str]) -> String {
    let out = Command::new("go")
        .args(args)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go {args:?}: {}",
        support::stderr(&out)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn build() -> PathBuf {
    let src = support::repo().join("tests/netfix");
    let mut files: Vec<PathBuf> = fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "go"))
        .collect();
    files.sort();
    let mut h = blake3::Hasher::new();
    h.update(go_output(&["version"]).as_bytes());
    h.update(b"\0netfix build v1\0");
    for f in &files {
        let text = fs::read(f).unwrap();
        h.update(f.file_name().unwrap().as_encoded_bytes());
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(&text);
    }
    let digest = h.finalize().to_hex().to_string();
    let bin = support::scratch().join("netfix");
    let stamp = support::scratch().join("netfix.stamp");
    if bin.is_file() && fs::read_to_string(&stamp).ok().as_deref() == Some(digest.as_str()) {
        return bin;
    }

    let goroot = PathBuf::from(go_output(&["env", "GOROOT"]));
    let dir = tempfile::Builder::new()
        .prefix("netfix-build-")
        .tempdir_in(support::scratch())
        .unwrap();
    let xmod = dir.path().join("xmod");
    support::copy_tree(&goroot.join("src/cmd/vendor/golang.org/x/mod"), &xmod);
    fs::write(xmod.join("go.mod"), "module golang.org/x/mod\n\ngo 1.24\n").unwrap();
    fs::write(
        dir.path().join("go.mod"),
        "module netfix\n\ngo 1.24\n\nrequire golang.org/x/mod v0.0.0\n\n\
         replace golang.org/x/mod => ./xmod\n",
    )
    .unwrap();
    for f in &files {
        fs::copy(f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    let out = Command::new("go")
        .current_dir(dir.path())
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOWORK", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOSUMDB", "off")
        .env("CGO_ENABLED", "0")
        .args(["build", "-trimpath", "-buildvcs=false", "-o", "netfix", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building netfix failed:\n{}",
        support::stderr(&out)
    );
    // Renames are atomic: a concurrent run sees the old or the new binary.
    fs::rename(dir.path().join("netfix"), &bin).unwrap();
    let tmp = dir.path().join("stamp");
    fs::write(&tmp, &digest).unwrap();
    fs::rename(&tmp, &stamp).unwrap();
    bin
}

/// A running netfix process; killed on drop.
pub struct Server {
    /// "127.0.0.1:PORT" of the TLS listener.
    pub https: String,
    /// "127.0.0.1:PORT" of the plain HTTP listener (same handler).
    pub http: String,
    /// "127.0.0.1:PORT" of the CONNECT proxy, with `-connect`.
    pub connect: Option<String>,
    /// The database's verifier key ("name+hash+key"), or "" without one.
    pub vkey: String,
    /// The test CA that signed the server certificate.
    pub ca: PathBuf,
    /// The state directory (ca.pem, ready.json, requests.log, stderr.log).
    pub state: PathBuf,
    child: Child,
    _dir: TempDir,
}

impl Server {
    /// Starts netfix with `args` and waits (up to 20 s) until it is ready.
    pub fn start(args: &[&str]) -> Server {
        let dir = tempfile::Builder::new()
            .prefix("netfix-")
            .tempdir_in(support::scratch())
            .unwrap();
        let state = dir.path().to_path_buf();
        let stderr = fs::File::create(state.join("stderr.log")).unwrap();
        let mut child = Command::new(binary())
            .arg("-state")
            .arg(&state)
            .arg("-exit-on-stdin-eof")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let ready = state.join("ready.json");
        let deadline = Instant::now() + Duration::from_secs(20);
        let info: Value = loop {
            if let Ok(text) = fs::read(&ready) {
                break serde_json::from_slice(&text).unwrap();
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "netfix {args:?} exited ({status}):\n{}",
                    fs::read_to_string(state.join("stderr.log")).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "netfix {args:?} not ready after 20 s:\n{}",
                    fs::read_to_string(state.join("stderr.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let field = |k: &str| info[k].as_str().unwrap_or_default().to_string();
        let connect = field("connect");
        Server {
            https: field("https"),
            http: field("http"),
            connect: (!connect.is_empty()).then_some(connect),
            vkey: field("vkey"),
            ca: state.join("ca.pem"),
            state,
            child,
            _dir: dir,
        }
    }

    /// Port of the TLS listener.
    pub fn https_port(&self) -> u16 {
        port(&self.https)
    }

    /// Port of the plain HTTP listener.
    pub fn http_port(&self) -> u16 {
        port(&self.http)
    }

    /// Port of the CONNECT proxy (panics without `-connect`).
    pub fn connect_port(&self) -> u16 {
        port(
            self.connect
                .as_deref()
                .expect("netfix started without -connect"),
        )
    }

    /// The database name: the part of `vkey` before the first '+'.
    pub fn sumdb_name(&self) -> &str {
        self.vkey.split('+').next().unwrap()
    }

    /// Lines of requests.log: `METHOD HOST PATH STATUS auth=yes|no` (HOST
    /// without port; hanging requests are logged on arrival with status 0),
    /// `CONNECT host:port STATUS auth=yes|no`, `PROXY METHOD URL STATUS auth=..`.
    pub fn requests(&self) -> Vec<String> {
        fs::read_to_string(self.state.join("requests.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// How many request lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.requests()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Writes go.sum-format lines (one per element) to `path`.
pub fn write_records(path: &Path, lines: &[impl AsRef<str>]) {
    let mut text = String::new();
    for l in lines {
        text.push_str(l.as_ref());
        text.push('\n');
    }
    fs::write(path, text).unwrap();
}

/// The real go.sum lines (`mod ver h1:..`, `mod ver/go.mod h1:..`) of a
/// module version in the test proxy, as the go command computes them.
pub fn real_sums(mod_at_version: &str) -> [String; 2] {
    let dir = tempfile::tempdir_in(support::scratch()).unwrap();
    let out = Command::new("go")
        .current_dir(dir.path())
        .env("GOPROXY", format!("file://{}", support::proxy().display()))
        .env("GOSUMDB", "off")
        .env("GOFLAGS", "-modcacherw")
        .env("GOTOOLCHAIN", "local")
        .env("GOMODCACHE", dir.path().join("modcache"))
        .args(["mod", "download", "-json", mod_at_version])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go mod download: {}",
        support::stderr(&out)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (path, version) = (v["Path"].as_str().unwrap(), v["Version"].as_str().unwrap());
    [
        format!("{path} {version} {}", v["Sum"].as_str().unwrap()),
        format!(
            "{path} {version}/go.mod {}",
            v["GoModSum"].as_str().unwrap()
        ),
    ]
}

/// `curl -sS` with `args`; returns (HTTP status, body).
fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let dir = tempfile::tempdir_in(support::scratch()).unwrap();
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "-o"])
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        support::stderr(&out)
    );
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    (status, fs::read(&body).unwrap_or_default())
}

#[test]
fn netfix_serves_modules_and_a_database_over_tls() {
    let t = Instant::now();
    binary();
    eprintln!("netfix binary ready in {:?}", t.elapsed());

    let tmp = tempfile::tempdir_in(support::scratch()).unwrap();
    let records = tmp.path().join("records");
    let sums = real_sums("example.com/greeting@v1.2.0");
    write_records(&records, &sums);
    let proxy = support::proxy().to_str().unwrap();
    let name = "sum.netfix.test";

    let t = Instant::now();
    let srv = Server::start(&[
        "-names",
        "modproxy.test,nowhere.test",
        "-proxy-root",
        proxy,
        "-route",
        "/ok=serve",
        "-sumdb-name",
        name,
        "-sumdb-records",
        records.to_str().unwrap(),
        "-connect",
    ]);
    eprintln!("netfix started in {:?}", t.elapsed());
    assert_eq!(srv.sumdb_name(), name);
    let ca = srv.ca.to_str().unwrap();
    let port = srv.https_port();
    let resolve = format!("modproxy.test:{port}:127.0.0.1");
    let base = format!("https://modproxy.test:{port}");

    // The module proxy, over TLS with the test CA and a DNS name.
    let (status, body) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("{base}/ok/example.com/greeting/@v/v1.2.0.mod"),
    ]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        fs::read(support::proxy().join("example.com/greeting/@v/v1.2.0.mod")).unwrap()
    );
    assert_eq!(
        srv.count("GET modproxy.test /ok/example.com/greeting/@v/v1.2.0.mod 200 auth=no"),
        1,
        "{:?}",
        srv.requests()
    );

    // The database behind the proxy.
    let (status, body) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("{base}/ok/sumdb/{name}/supported"),
    ]);
    assert_eq!((status, body.len()), (200, 0));
    let (status, body) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("{base}/ok/sumdb/{name}/latest"),
    ]);
    assert_eq!(status, 200);
    let note = String::from_utf8(body).unwrap();
    assert!(note.starts_with("go.sum database tree\n"), "{note}");
    assert!(note.contains(&format!("\n\n\u{2014} {name} ")), "{note}");
    let (status, _) = curl(&[
        "--cacert",
        ca,
        "--resolve",
        &resolve,
        &format!("{base}/nope/example.com/greeting/@v/list"),
    ]);
    assert_eq!(status, 404);

    // Through the CONNECT proxy, to a name that does not resolve.
    let (status, body) = curl(&[
        "--proxy",
        &format!("http://127.0.0.1:{}", srv.connect_port()),
        "--cacert",
        ca,
        "https://nowhere.test/ok/example.com/greeting/@v/list",
    ]);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        fs::read(support::proxy().join("example.com/greeting/@v/list")).unwrap()
    );
    assert_eq!(srv.count("CONNECT nowhere.test:443 200 auth=no"), 1);
    assert_eq!(
        srv.count("GET nowhere.test /ok/example.com/greeting/@v/list 200"),
        1
    );

    // The go command itself accepts the database (and the TLS setup).
    let gotmp = tmp.path().join("go");
    fs::create_dir_all(&gotmp).unwrap();
    let out = Command::new("go")
        .current_dir(&gotmp)
        .env_remove("GONOSUMDB")
        .env_remove("GONOSUMCHECK")
        .env_remove("GOPRIVATE")
        .env_remove("GONOPROXY")
        .env_remove("GOINSECURE")
        .env("GOPROXY", format!("https://127.0.0.1:{port}/ok"))
        .env("GOSUMDB", &srv.vkey)
        .env("SSL_CERT_FILE", &srv.ca)
        .env("GOFLAGS", "-mod=mod -modcacherw")
        .env("GOTOOLCHAIN", "local")
        .env("GOMODCACHE", gotmp.join("modcache"))
        // go keeps the latest signed tree per database name in
        // $GOPATH/pkg/sumdb: a fresh key per start needs a fresh GOPATH.
        .env("GOPATH", gotmp.join("gopath"))
        .args(["mod", "download", "-json", "example.com/greeting@v1.2.0"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !stdout.contains("\"Error\""),
        "go mod download via netfix failed:\n{stdout}\n{}\n{:#?}",
        support::stderr(&out),
        srv.requests()
    );
    let lookup = format!("/ok/sumdb/{name}/lookup/example.com/greeting@v1.2.0 200");
    assert_eq!(srv.count(&lookup), 1, "{:#?}", srv.requests());
    assert!(srv.count(&format!("/ok/sumdb/{name}/tile/")) >= 1);
}
