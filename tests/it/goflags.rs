//! go build's own flags, with go's meaning: every combination here is
//! compared byte for byte (and by `go version -m`) with `go build` given
//! the same flags.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// A module with a main package, an internal package and assembly.
fn flags_workspace() -> tempfile::TempDir {
    let ws = tempfile::Builder::new()
        .prefix("goflags-")
        .tempdir_in(scratch())
        .unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/fl\n\ngo 1.22\n"),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/fl/internal/calc\"\n)\n\nvar version = \"dev\"\nvar msg = \"none\"\n\nfunc main() { fmt.Println(version, msg, calc.Twice(21)) }\n",
            ),
            (
                "internal/calc/calc.go",
                "package calc\n\nfunc Twice(x int) int { return add(x, x) }\n\nfunc add(a, b int) int\n",
            ),
            (
                "internal/calc/add_amd64.s",
                "#include \"textflag.h\"\n\nTEXT ·add(SB),NOSPLIT,$0-24\n\tMOVQ a+0(FP), AX\n\tADDQ b+8(FP), AX\n\tMOVQ AX, ret+16(FP)\n\tRET\n",
            ),
            (
                "internal/calc/add_other.go",
                "//go:build !amd64\n\npackage calc\n\nfunc add(a, b int) int { return a + b }\n",
            ),
        ],
    );
    fs::remove_file(ws.path().join("internal/calc/add_other.go")).unwrap();
    ws
}

/// A binary in a temp dir of its own.
struct Built {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl std::ops::Deref for Built {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

/// Builds `.` with gobuildr (`ours`) into a file, and with go build
/// (`theirs`, after `-ldflags=-buildid=`), and asserts the two binaries
/// and their build info are equal. Returns the binary.
fn same_as_go(ws: &Path, ours: &[&str], theirs: &[&str], env: &[(&str, &str)]) -> Built {
    let out_dir = tempfile::tempdir_in(scratch()).unwrap();
    let bin = out_dir.path().join("gb");
    let out = Gobuildr::new(ws)
        .args(["build", "-q", "-o"])
        .arg(&bin)
        .args(ours)
        .arg(".")
        .run();
    assert!(out.status.success(), "gobuildr {ours:?}: {}", stderr(&out));
    let mine = fs::read(&bin).unwrap();
    let go = go_build(ws, env, theirs);
    let tmp = tempfile::NamedTempFile::new_in(scratch()).unwrap();
    fs::write(tmp.path(), &go).unwrap();
    assert_eq!(
        go_version_m(&bin),
        go_version_m(tmp.path()),
        "build info, gobuildr {ours:?} vs go build {theirs:?}"
    );
    assert!(
        mine == go,
        "gobuildr {ours:?} differs from go build {theirs:?}"
    );
    Built {
        _dir: out_dir,
        path: bin,
    }
}

fn run_bin(bin: &Path) -> String {
    let out = Command::new(bin).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn ldflags_gcflags_asmflags_and_buildmode_equal_go_build() {
    let ws = flags_workspace();
    let ws = ws.path();
    let bin = same_as_go(
        ws,
        &["--ldflags", "-s -w -X main.version=1.2.3 -X 'main.msg=a b'"],
        &["-ldflags=-s -w -X main.version=1.2.3 -X 'main.msg=a b' -buildid="],
        &[],
    );
    assert_eq!(run_bin(&bin), "1.2.3 a b 42");
    // Patterns: all, a relative pattern, an import path; the last match wins.
    same_as_go(ws, &["--gcflags=all=-l"], &["-gcflags=all=-l"], &[]);
    same_as_go(
        ws,
        &["--gcflags=all=-l", "--gcflags=./internal/...=-N -l"],
        &["-gcflags=all=-l", "-gcflags=./internal/...=-N -l"],
        &[],
    );
    same_as_go(ws, &["--gcflags=std=-B"], &["-gcflags=std=-B"], &[]);
    same_as_go(
        ws,
        &["--asmflags=example.com/fl/...=-D=EXTRA"],
        &["-asmflags=example.com/fl/...=-D=EXTRA"],
        &[],
    );
    same_as_go(ws, &["--buildmode=pie"], &["-buildmode=pie"], &[]);
    same_as_go(ws, &["--buildmode=exe"], &["-buildmode=exe"], &[]);
    same_as_go(
        ws,
        &["--buildmode=pie", "--platform", "windows/amd64"],
        &["-buildmode=pie"],
        &[("GOOS", "windows"), ("GOARCH", "amd64")],
    );
    same_as_go(
        ws,
        &["--goexperiment=nogreenteagc"],
        &[],
        &[("GOEXPERIMENT", "nogreenteagc")],
    );
}

#[test]
fn go_style_single_dash_flags_and_output_paths() {
    let ws = flags_workspace();
    let ws = ws.path();
    // As a release script writes them.
    let bin = same_as_go(
        ws,
        &[
            "-ldflags",
            "-X main.version=9",
            "-trimpath",
            "-gcflags",
            "-l",
        ],
        &["-ldflags=-X main.version=9 -buildid=", "-gcflags=-l"],
        &[],
    );
    assert_eq!(run_bin(&bin), "9 none 42");
    // -o DIR/ takes every binary; -o FILE refuses two.
    let multi = example("multi");
    let dir = multi.path().join("bins/");
    let out = Gobuildr::new(multi.path())
        .args(["build", "-q", "-o"])
        .arg(&dir)
        .arg("//cmd/...")
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.join("client").is_file() && dir.join("server").is_file());
    assert!(!multi.path().join("gobuildr-out").exists());
    let out = Gobuildr::new(multi.path())
        .args(["build", "-q", "-o", "one", "//cmd/..."])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("-o DIR/"), "{}", stderr(&out));
    assert!(!multi.path().join("one").exists());
}

#[test]
fn refused_flags_and_cgo_name_the_reason_and_exit_2() {
    let ws = flags_workspace();
    let ws = ws.path();
    for (args, says) in [
        (&["--race"][..], "-race needs cgo"),
        (&["-msan"][..], "-msan needs cgo"),
        (
            &["--buildmode=c-shared"][..],
            "-buildmode=c-shared needs cgo",
        ),
        (&["--buildmode=plugin"][..], "needs cgo"),
        (&["--buildmode=nope"][..], "unknown -buildmode=nope"),
        (&["--gcflags=std"][..], "missing =<value>"),
        (&["--ldflags=-X 'a"][..], "unterminated ' string"),
        (&["--buildvcs=maybe"][..], "invalid value"),
        (&["--pgo=missing.pprof"][..], "no such profile"),
    ] {
        let out = Gobuildr::new(ws).arg("build").args(args).run();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    write_files(
        ws,
        &[(
            "internal/c/c.go",
            "package c\n\n// int one() { return 1; }\nimport \"C\"\n\nfunc One() int { return int(C.one()) }\n",
        )],
    );
    write_files(
        ws,
        &[(
            "main.go",
            "package main\n\nimport _ \"example.com/fl/internal/c\"\n\nfunc main() {}\n",
        )],
    );
    // With cgo off, go list leaves cgo files out: named all the same.
    let out = Gobuildr::new(ws).args(["build", "-q"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("example.com/fl/internal/c")
            && err.contains("c.go import \"C\"")
            && err.contains("CGO_ENABLED=0"),
        "{err}"
    );
    assert!(!ws.join("gobuildr-out").exists());
}

#[test]
fn build_table_holds_the_release_flags_and_the_command_line_adds_to_it() {
    let ws = flags_workspace();
    let ws = ws.path();
    write_files(
        ws,
        &[(
            "gobuildr.toml",
            "[build]\nldflags = \"-s -w -X main.version=from-table\"\ngcflags = [\"all=-l\"]\ntags = [\"release\"]\n",
        )],
    );
    let bin = same_as_go(
        ws,
        &[],
        &[
            "-ldflags=-s -w -X main.version=from-table -buildid=",
            "-gcflags=all=-l",
            "-tags=release",
        ],
        &[],
    );
    assert_eq!(run_bin(&bin), "from-table none 42");
    // One more occurrence from the command line: go's last-match rule.
    let bin = same_as_go(
        ws,
        &["--ldflags=-X main.msg=cli", "--tags", "extra"],
        &[
            "-ldflags=-X main.msg=cli -buildid=",
            "-gcflags=all=-l",
            "-tags=release,extra",
        ],
        &[],
    );
    assert_eq!(run_bin(&bin), "dev cli 42");
    // The caller's GOFLAGS never changes an output.
    let a = Gobuildr::new(ws).build_ok(ws, &["."]);
    let b = Gobuildr::new(ws)
        .env("GOFLAGS", "-ldflags=-X=main.version=env")
        .env("GOEXPERIMENT", "nogreenteagc")
        .build_ok(ws, &["."]);
    assert_eq!(a.outputs(), b.outputs());
    assert_eq!(b.executed(), 0);
}

#[test]
fn gcflags_enter_exactly_the_keys_of_the_packages_they_match() {
    let ws = flags_workspace();
    let ws = ws.path();
    // New contents each run, so the first build here is not a cache hit.
    // (A string the object keeps: a comment would compile to the same bytes.)
    let calc = ws.join("internal/calc/calc.go");
    let text = fs::read_to_string(&calc).unwrap();
    fs::write(&calc, format!("{text}\nvar Run = \"{}\"\n", nonce())).unwrap();
    Gobuildr::new(ws).build_ok(ws, &["."]);
    let s = Gobuildr::new(ws).build_ok(ws, &[".", "--gcflags=./internal/...=-dwarf=false"]);
    let mut ran = s.executed_actions();
    ran.sort();
    assert_eq!(
        ran,
        vec![
            (
                "compile".to_string(),
                "example.com/fl/internal/calc".to_string()
            ),
            ("link".to_string(), "example.com/fl".to_string()),
            (
                "pack".to_string(),
                "example.com/fl/internal/calc".to_string()
            ),
        ],
        "only the matched package's compile (and what reads it) reruns"
    );
}

/// A CPU profile of a real program, made once per test run.
fn cpu_profile() -> &'static Path {
    static PROFILE: OnceLock<PathBuf> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let dir = scratch().join(format!("pgo-profile-{}", std::process::id()));
        write_files(
            &dir,
            &[
                ("go.mod", "module example.com/prof\n\ngo 1.22\n"),
                (
                    "main.go",
                    "package main\n\nimport (\n\t\"crypto/sha256\"\n\t\"fmt\"\n\t\"os\"\n\t\"runtime/pprof\"\n\t\"sort\"\n\t\"strings\"\n)\n\nfunc work(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\th := sha256.Sum256([]byte(fmt.Sprint(i)))\n\t\tp := strings.Split(fmt.Sprintf(\"%x\", h), \"a\")\n\t\tsort.Strings(p)\n\t\ts += len(p)\n\t}\n\treturn s\n}\n\nfunc main() {\n\tf, _ := os.Create(os.Args[1])\n\tpprof.StartCPUProfile(f)\n\tfmt.Println(work(300000))\n\tpprof.StopCPUProfile()\n\tf.Close()\n}\n",
                ),
            ],
        );
        let profile = dir.join("cpu.pprof");
        let out = Command::new("go")
            .current_dir(&dir)
            .env("GOFLAGS", "-buildvcs=false")
            .args(["run", "."])
            .arg(&profile)
            .output()
            .unwrap();
        assert!(out.status.success(), "go run: {}", stderr(&out));
        profile
    })
}

#[test]
fn pgo_auto_off_and_file_equal_go_build() {
    let profile = cpu_profile();
    let ws = tempfile::Builder::new()
        .prefix("pgo-")
        .tempdir_in(scratch())
        .unwrap();
    let ws = ws.path();
    copy_tree(profile.parent().unwrap(), ws);
    fs::rename(ws.join("cpu.pprof"), ws.join("default.pgo")).unwrap();
    let auto = same_as_go(ws, &[], &[], &[]);
    assert!(go_version_m(&auto).contains("build\t-pgo=default.pgo"));
    let off = same_as_go(ws, &["--pgo=off"], &["-pgo=off"], &[]);
    assert_ne!(fs::read(&*auto).unwrap(), fs::read(&*off).unwrap());
    let file = profile.to_str().unwrap();
    same_as_go(ws, &["--pgo", file], &[&format!("-pgo={file}")], &[]);
    // The preprocessed profile is an action of its own, cached by content.
    let s = Gobuildr::new(ws).build_ok(ws, &["."]);
    let pre: Vec<_> = s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "preprofile")
        .collect();
    assert_eq!(pre.len(), 1, "{pre:?}");
    assert_eq!(s.executed(), 0);
    // Every package of the binary, std too, is compiled with the profile.
    let key_of = |s: &Summary, pkg: &str| {
        s.0["action_list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "compile" && a["package"] == pkg)
            .map(|a| a["key"].as_str().unwrap().to_string())
            .unwrap()
    };
    let without = Gobuildr::new(ws).build_ok(ws, &[".", "--pgo=off"]);
    assert_eq!(without.executed(), 0, "both variants stay cached");
    for pkg in ["fmt", "example.com/prof"] {
        assert_ne!(key_of(&s, pkg), key_of(&without, pkg), "{pkg}");
    }
}

/// `git` in `dir` with a fixed identity.
fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_COMMITTER_DATE", "2024-05-06T07:08:09Z")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09Z")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

#[test]
fn buildvcs_stamps_git_exactly_as_go_build() {
    let ws = flags_workspace();
    let ws = ws.path();
    fs::write(ws.join(".gitignore"), "gobuildr-out/\n").unwrap();
    git(ws, &["init", "-q"]);
    // The tests' summaries are not the project's files.
    fs::write(ws.join(".git/info/exclude"), ".summary.json\n").unwrap();
    git(ws, &["add", "-A"]);
    // Commits with fixed dates have the same hash every run: name the run.
    let run = nonce();
    git(ws, &["commit", "-q", "-m", &format!("one {run}")]);
    let vcs = ["--buildvcs=auto"];
    let go_vcs = ["-buildvcs=auto"];
    // No tag: a pseudo-version; then a tag; then uncommitted changes.
    let bin = same_as_go(ws, &vcs, &go_vcs, &[]);
    let info = go_version_m(&bin);
    assert!(info.contains("build\tvcs=git"), "{info}");
    assert!(
        info.contains("build\tvcs.time=2024-05-06T07:08:09Z"),
        "{info}"
    );
    assert!(info.contains("v0.0.0-20240506070809-"), "{info}");
    git(ws, &["tag", "v1.4.0"]);
    let bin = same_as_go(ws, &vcs, &go_vcs, &[]);
    assert!(go_version_m(&bin).contains("example.com/fl\tv1.4.0\t"));
    // gobuildr's own output directory is not a modification.
    Gobuildr::new(ws).build_ok(ws, &[".", "--buildvcs=true"]);
    fs::remove_file(ws.join(".gitignore")).unwrap();
    git(ws, &["commit", "-q", "-a", "-m", &format!("two {run}")]);
    // Git's answers are in the link key, and --explain names them.
    let out = Gobuildr::new(ws)
        .args(["build", "-q", "--explain", "--buildvcs=true", "."])
        .run();
    let err = stderr(&out);
    assert!(
        err.contains("link example.com/fl")
            && err.contains("build info changed")
            && err.contains("vcs.revision="),
        "{err}"
    );
    let s = Gobuildr::new(ws).build_ok(ws, &[".", "--buildvcs=true"]);
    let (path, _, _) = s.outputs().into_values().next().unwrap();
    assert!(go_version_m(&ws.join(path)).contains("vcs.modified=false"));
    fs::write(ws.join("notes.txt"), "x").unwrap();
    let bin = same_as_go(ws, &vcs, &go_vcs, &[]);
    let info = go_version_m(&bin);
    assert!(
        info.contains("vcs.modified=true") && info.contains("v1.4.1-0.20240506070809-"),
        "{info}"
    );
    assert!(info.contains("+dirty"), "{info}");
    // false stamps nothing.
    let bin = same_as_go(ws, &["--buildvcs=false"], &["-buildvcs=false"], &[]);
    assert!(!go_version_m(&bin).contains("vcs"));
}

/// A COFF object with an empty resource directory, as resource compilers
/// write for Windows binaries (icons, manifests, version info).
fn resource_syso() -> Vec<u8> {
    let data = [0u8; 16];
    let mut o = Vec::new();
    let sym_offset = 20 + 40 + data.len() as u32;
    o.extend(0x8664u16.to_le_bytes());
    o.extend(1u16.to_le_bytes());
    o.extend(0u32.to_le_bytes());
    o.extend(sym_offset.to_le_bytes());
    o.extend(1u32.to_le_bytes());
    o.extend([0u8; 4]);
    o.extend(b".rsrc\0\0\0");
    o.extend([0u8; 8]);
    o.extend((data.len() as u32).to_le_bytes());
    o.extend(60u32.to_le_bytes());
    o.extend([0u8; 12]);
    o.extend(0x4000_0040u32.to_le_bytes());
    o.extend(data);
    o.extend(b".rsrc\0\0\0");
    o.extend(0u32.to_le_bytes());
    o.extend(1i16.to_le_bytes());
    o.extend(0u16.to_le_bytes());
    o.extend([3u8, 0]);
    o.extend(4u32.to_le_bytes());
    o
}

#[test]
fn syso_files_are_linked_as_go_links_them() {
    let ws = flags_workspace();
    let ws = ws.path();
    let win = [("GOOS", "windows"), ("GOARCH", "amd64")];
    let plain = same_as_go(ws, &["--platform", "windows/amd64"], &[], &win);
    fs::write(ws.join("rsrc_windows_amd64.syso"), resource_syso()).unwrap();
    let with = same_as_go(ws, &["--platform", "windows/amd64"], &[], &win);
    assert_ne!(fs::read(&*plain).unwrap(), fs::read(&*with).unwrap());
}

#[test]
fn assembly_includes_from_other_directories_are_staged_and_keyed() {
    let ws = tempfile::Builder::new()
        .prefix("asminc-")
        .tempdir_in(scratch())
        .unwrap();
    let ws = ws.path();
    // A fresh .s file each run: go build's cache would otherwise serve an
    // object assembled against another run's header.
    let run = nonce();
    write_files(
        ws,
        &[
            ("dh/x/run.s", &format!("// {run}\n")),
            ("go.mod", "module example.com/inc\n\ngo 1.22\n"),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/inc/dh/x\"\n)\n\nfunc main() { fmt.Println(x.Seven()) }\n",
            ),
            ("dh/x/x.go", "package x\n\nfunc Seven() int\n"),
            (
                "dh/x/x_amd64.s",
                "#include \"textflag.h\"\n#include \"../../math/fp/fp_amd64.h\"\n\nTEXT ·Seven(SB),NOSPLIT,$0-8\n\tSEVEN(AX)\n\tMOVQ AX, ret+0(FP)\n\tRET\n",
            ),
            ("math/fp/fp_amd64.h", "#include \"../../math/fp/val.h\"\n#define SEVEN(r) MOVQ $VAL, r\n"),
            ("math/fp/val.h", "#define VAL 7\n"),
            ("math/fp/fp.go", "package fp\n"),
        ],
    );
    let bin = same_as_go(ws, &[], &[], &[]);
    assert_eq!(run_bin(&bin), "7");
    // The nested header is in the key: an edit reruns the assembly. (go
    // build's own cache does not notice this edit: its asm action ID
    // covers only the package directory's headers. So no oracle here.)
    fs::write(
        ws.join("math/fp/val.h"),
        format!("#define VAL 8 // {run}\n"),
    )
    .unwrap();
    let s = Gobuildr::new(ws).build_ok(ws, &["."]);
    let ran = s.executed_actions();
    assert!(
        ran.contains(&("asm".into(), "example.com/inc/dh/x".into())),
        "{ran:?}"
    );
    let (path, _, _) = s.outputs().into_values().next().unwrap();
    assert_eq!(run_bin(&ws.join(path)), "8");
    // An include that leaves the module is refused, naming the file.
    write_files(
        ws,
        &[(
            "dh/x/x_amd64.s",
            "#include \"textflag.h\"\n#include \"../../../outside.h\"\n\nTEXT ·Seven(SB),NOSPLIT,$0-8\n\tRET\n",
        )],
    );
    fs::write(ws.join("../outside.h"), "").unwrap();
    let out = Gobuildr::new(ws).args(["build", "-q"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("x_amd64.s") && stderr(&out).contains("outside"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn godebug_defaults_from_go_mod_and_go_debug_lines_equal_go_build() {
    let ws = flags_workspace();
    let ws = ws.path();
    write_files(
        ws,
        &[(
            "go.mod",
            "module example.com/fl\n\ngo 1.22\n\ngodebug (\n\tpanicnil=1\n)\n",
        )],
    );
    let main = fs::read_to_string(ws.join("main.go")).unwrap();
    fs::write(
        ws.join("main.go"),
        format!("//go:debug asynctimerchan=0\n{main}"),
    )
    .unwrap();
    let bin = same_as_go(ws, &[], &[], &[]);
    let info = go_version_m(&bin);
    assert!(
        info.contains("panicnil=1") && info.contains("asynctimerchan=0"),
        "{info}"
    );
}

#[test]
fn stamps_compose_with_ldflags_x() {
    let ws = flags_workspace();
    let ws = ws.path();
    write_files(
        ws,
        &[(
            "gobuildr.toml",
            "[stamp]\n\"main.msg\" = \"stamped\"\n\"main.version\" = \"from-stamp\"\n",
        )],
    );
    // -ldflags come after the stamps: its -X wins for a variable both set.
    let bin = same_as_go(
        ws,
        &["--ldflags=-X main.version=cli"],
        &["-ldflags=-X=main.msg=stamped -X=main.version=from-stamp -X main.version=cli -buildid="],
        &[],
    );
    assert_eq!(run_bin(&bin), "cli stamped 42");
}

#[test]
fn asmflags_include_directories_are_staged_and_keyed() {
    let ws = tempfile::Builder::new()
        .prefix("asmdir-")
        .tempdir_in(scratch())
        .unwrap();
    let ws = ws.path();
    let run = nonce();
    write_files(
        ws,
        &[
            ("go.mod", "module example.com/incdir\n\ngo 1.22\n"),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/incdir/asm/x\"\n)\n\nfunc main() { fmt.Println(x.Five()) }\n",
            ),
            ("asm/x/x.go", "package x\n\nfunc Five() int\n"),
            ("asm/x/run.s", &format!("// {run}\n")),
            (
                "asm/x/x_amd64.s",
                "#include \"textflag.h\"\n#include \"five.h\"\n\nTEXT ·Five(SB),NOSPLIT,$0-8\n\tMOVQ $FIVE, AX\n\tMOVQ AX, ret+0(FP)\n\tRET\n",
            ),
            ("common/five.h", "#define FIVE 5\n"),
        ],
    );
    let flag = "-asmflags=example.com/incdir/...=-I ../../common";
    let bin = same_as_go(ws, &[flag], &[flag], &[]);
    assert_eq!(run_bin(&bin), "5");
    fs::write(
        ws.join("common/five.h"),
        format!("#define FIVE 6 // {run}\n"),
    )
    .unwrap();
    let s = Gobuildr::new(ws).build_ok(ws, &[".", flag]);
    assert!(
        s.executed_actions()
            .contains(&("asm".into(), "example.com/incdir/asm/x".into())),
        "a header found through -I is in the key"
    );
    let (path, _, _) = s.outputs().into_values().next().unwrap();
    assert_eq!(run_bin(&ws.join(path)), "6");
}
