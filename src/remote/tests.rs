use super::mapping::{script, DigestFn};
use super::Endpoint;
use crate::plan::{Action, ActionKind};
use crate::rules::Platform;

fn action(argv: &[&str], env: &[(&str, &str)]) -> Action {
    Action {
        kind: ActionKind::Compile,
        package: "p".into(),
        platform: Platform::new("linux", "amd64", None),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        inputs: Vec::new(),
        outputs: vec!["obj/export.a".into()],
        src_display: String::new(),
        src_link: None,
        module: None,
    }
}

#[test]
fn the_shell_line_puts_the_sandbox_path_where_the_placeholders_are() {
    let a = action(
        &["${TOOLDIR}/compile", "-trimpath", "${SB}/src=>x", "it's"],
        &[("GOROOT", "${GOROOT}"), ("GOOS", "linux")],
    );
    let s = script(&a);
    assert!(
        s.starts_with("SB=$(pwd -P) && printf 'gobuildr-sandbox %s\\n' \"$SB\" >&2"),
        "{s}"
    );
    assert!(s.contains(" GOROOT=''\"$SB\"'/goroot'"), "{s}");
    assert!(
        !s.contains("GOOS"),
        "fixed values go in the Command's env: {s}"
    );
    assert!(
        s.ends_with("exec ''\"$SB\"'/tool/compile' '-trimpath' ''\"$SB\"'/src=>x' 'it'\\''s'"),
        "{s}"
    );
}

#[test]
fn the_shell_line_runs_as_the_local_sandbox_would() {
    let dir = tempfile::tempdir().unwrap();
    let a = action(
        &[
            "/bin/sh",
            "-c",
            "echo \"$1\" > out",
            "x",
            "${SB}/obj/y it's",
        ],
        &[],
    );
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &script(&a)])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let sb = dir.path().canonicalize().unwrap();
    let text = std::fs::read_to_string(dir.path().join("out")).unwrap();
    assert_eq!(text, format!("{}/obj/y it's\n", sb.display()));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr, format!("gobuildr-sandbox {}\n", sb.display()));
}

#[test]
fn digests_are_the_servers_functions() {
    let d = DigestFn::Sha256.of_bytes(b"");
    assert_eq!(
        d.hash,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(d.size_bytes, 0);
    let b = DigestFn::Blake3.of_bytes(b"abc");
    assert_eq!(b.hash, blake3::hash(b"abc").to_hex().to_string());
    assert_eq!(b.size_bytes, 3);
}

#[test]
fn endpoints_are_grpc_or_grpcs_host_port() {
    assert!(Endpoint::parse("grpc://127.0.0.1:9092").is_ok());
    assert!(Endpoint::parse("grpcs://cache.internal:443").is_ok());
    for bad in [
        "http://h:1",
        "h:1",
        "grpc://",
        "grpc://u:p@h:1",
        "grpc://h:1/x",
    ] {
        let e = Endpoint::parse(bad).unwrap_err().to_string();
        assert!(e.contains(bad), "{bad}: {e}");
    }
}
