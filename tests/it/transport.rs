//! Transport, offline: the GOPROXY list's fall-through rules, retries,
//! credentials from .netrc, an HTTP CONNECT proxy, and TLS errors, against
//! netfix over loopback HTTPS with a test CA.

use std::fs;
use std::process::Output;

use crate::checksum_db::{gobuildr, key_file, serve_greeting, url};
use crate::netfix::Server;
use crate::support::*;

fn server(extra: &[&str]) -> (Server, tempfile::TempDir) {
    let (k, key) = key_file("transport");
    let s = serve_greeting(&key, 3, &[], extra);
    (s, k)
}

fn fetch_with(s: &Server, goproxy: &str, env: &[(&str, &str)]) -> Output {
    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let mut g = gobuildr(ws.path(), cache.path(), s, goproxy);
    for (k, v) in env {
        g = g.env(k, v);
    }
    g.args(["fetch"]).run()
}

#[test]
fn comma_falls_through_only_on_404_and_pipe_on_any_error() {
    let (s, _k) = server(&[
        "-route",
        "/gone=status:404",
        "-route",
        "/broken=status:500",
        "-route",
        "/flaky=flaky:2",
    ]);
    let ok = url(&s, "ok");
    let out = fetch_with(&s, &format!("{},{ok}", url(&s, "gone")), &[]);
    assert!(out.status.success(), "404 then ok: {}", stderr(&out));

    let out = fetch_with(&s, &format!("{},{ok}", url(&s, "broken")), &[]);
    let err = stderr(&out);
    assert_ne!(
        out.status.code(),
        Some(0),
        "a 500 must not fall through ','"
    );
    assert!(err.contains("500") && err.contains("/broken"), "{err}");
    // Retried, boundedly, before giving up (the first request to the
    // proxy asks whether it serves the checksum database).
    let tries = s.count("/broken/example.com/greeting/@v/v1.2.0.zip 500");
    assert!(
        (2..=5).contains(&tries),
        "{tries} tries: {:?}",
        s.requests()
    );

    let out = fetch_with(&s, &format!("{}|{ok}", url(&s, "broken")), &[]);
    assert!(out.status.success(), "500 then '|': {}", stderr(&out));

    // Transient 503s are retried on the same proxy.
    let out = fetch_with(&s, &url(&s, "flaky"), &[]);
    assert!(out.status.success(), "flaky: {}", stderr(&out));
}

#[test]
fn off_and_direct_are_refused_with_reasons() {
    let (s, _k) = server(&[]);
    let out = fetch_with(&s, "off", &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("off"), "{}", stderr(&out));
    let out = fetch_with(&s, "direct", &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("direct") && stderr(&out).contains("version control"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn netrc_credentials_reach_the_proxy_and_are_never_printed() {
    let (s, _k) = server(&["-route", "/private=auth:builder:s3cr3t-pw"]);
    let netrc = tempfile::NamedTempFile::new_in(scratch()).unwrap();
    fs::write(
        netrc.path(),
        "machine 127.0.0.1 login builder password s3cr3t-pw\n",
    )
    .unwrap();
    let private = url(&s, "private");
    let out = fetch_with(&s, &private, &[]);
    assert_ne!(out.status.code(), Some(0), "no credentials: refused");
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));

    let ws = example("moddep");
    let cache = tempfile::tempdir_in(scratch()).unwrap();
    let trace = ws.path().join("trace.json");
    let summary = ws.path().join("summary.json");
    let out = gobuildr(ws.path(), cache.path(), &s, &private)
        .env("NETRC", netrc.path())
        .args(["build", "//...", "--explain", "--profile"])
        .arg(&trace)
        .arg("--summary-json")
        .arg(&summary)
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(s.count("/private/example.com/greeting/@v/v1.2.0.zip 200 auth=yes") == 1);
    let mut seen = String::from_utf8_lossy(&out.stdout).to_string() + &stderr(&out);
    seen += &fs::read_to_string(&trace).unwrap();
    seen += &fs::read_to_string(&summary).unwrap();
    assert!(!seen.contains("s3cr3t-pw"), "a password was printed");
    // Credentials in a proxy URL are redacted from errors.
    let out = fetch_with(&s, &format!("https://u:hunter2pw@{}/broken", s.https), &[]);
    assert!(!stderr(&out).contains("hunter2pw"), "{}", stderr(&out));
}

#[test]
fn https_proxy_tunnels_and_no_proxy_bypasses() {
    let (s, _k) = server(&["-connect"]);
    let port = s.https_port();
    // The name resolves nowhere: only the CONNECT proxy can reach it.
    let goproxy = format!("https://modproxy.test:{port}/ok");
    let proxy = format!("http://{}", s.connect.clone().unwrap());
    let out = fetch_with(&s, &goproxy, &[("HTTPS_PROXY", &proxy)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(s.count(&format!("CONNECT modproxy.test:{port} 200")) >= 1);
    let out = fetch_with(
        &s,
        &goproxy,
        &[("https_proxy", &proxy), ("no_proxy", ".test")],
    );
    assert_ne!(out.status.code(), Some(0), "NO_PROXY bypasses the proxy");
    assert!(stderr(&out).contains("modproxy.test"), "{}", stderr(&out));
}

#[test]
fn an_untrusted_certificate_names_the_host_and_the_trust_sources() {
    let (s, _k) = server(&[]);
    let out = fetch_with(
        &s,
        &url(&s, "ok"),
        &[("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt")],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("127.0.0.1") && err.contains("SSL_CERT_FILE"),
        "{err}"
    );
}
