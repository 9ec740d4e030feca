//! `gobuildr test` against `go test` on the same workspace: per package
//! the same verdict and the same tests run; results cached by content.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::support::*;

/// A module with an internal and an external test package, testdata, a
/// package the external tests import that imports the package under test
/// (recompiled against the test variant), a failing package, an example
/// and a package with no tests.
fn lay_out(root: &Path) {
    write_files(
        root,
        &[
            ("go.mod", "module example.com/tws\n\ngo 1.22\n"),
            ("lib/lib.go", "package lib\n\nfunc Double(x int) int { return 2 * x }\n\nvar hook = 0\n"),
            ("lib/lib_test.go", "package lib\n\nimport \"testing\"\n\nfunc TestDouble(t *testing.T) {\n\tif Double(2) != 4 {\n\t\tt.Fatal(\"bad\")\n\t}\n\thook = 1\n}\n\nfunc TestShortOnly(t *testing.T) {\n\tif testing.Short() {\n\t\tt.Skip(\"short\")\n\t}\n}\n"),
            ("lib/ext_test.go", "package lib_test\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n\t\"testing\"\n\n\t\"example.com/tws/q\"\n)\n\nfunc TestData(t *testing.T) {\n\tb, err := os.ReadFile(\"testdata/input.txt\")\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tif strings.Fields(string(b))[0] != \"hello\" {\n\t\tt.Fatalf(\"got %q\", b)\n\t}\n\tif q.Quad(1) != 4 {\n\t\tt.Fatal(\"quad\")\n\t}\n}\n\nfunc Example() {\n\tfmt.Println(q.Quad(2))\n\t// Output: 8\n}\n"),
            ("lib/testdata/input.txt", "hello\n"),
            ("lib/bench_test.go", "package lib\n\nimport \"testing\"\n\nfunc BenchmarkDouble(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tDouble(i)\n\t}\n}\n"),
            ("q/q.go", "package q\n\nimport \"example.com/tws/lib\"\n\nfunc Quad(x int) int { return lib.Double(lib.Double(x)) }\n"),
            ("bad/bad.go", "package bad\n"),
            ("bad/bad_test.go", "package bad\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nfunc TestFails(t *testing.T) {\n\tfmt.Println(\"to stdout\")\n\tt.Errorf(\"this fails\")\n}\n\nfunc TestPasses(t *testing.T) {}\n"),
            ("app/main.go", "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/tws/q\"\n)\n\nfunc main() { fmt.Println(q.Quad(2)) }\n"),
        ],
    );
}

/// Per package: its verdict word (`ok`, `FAIL`, `?`) and the sorted
/// `--- PASS/FAIL/SKIP: Name` lines of a `-v` run.
fn verdicts(stdout: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut tests = Vec::new();
    for line in stdout.lines() {
        if let Some(t) = line.trim_start().strip_prefix("--- ") {
            tests.push(t.split(" (").next().unwrap_or(t).to_string());
            continue;
        }
        let mut f = line.split('\t');
        let (Some(word), Some(pkg)) = (f.next(), f.next()) else {
            continue;
        };
        let word = word.trim();
        if ["ok", "FAIL", "?"].contains(&word) {
            let pkg = pkg.trim_end_matches(" [build failed]").to_string();
            tests.sort();
            out.insert(pkg, (word.to_string(), std::mem::take(&mut tests)));
        }
    }
    out
}

fn go_test(ws: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut go = Command::new("go");
    go.current_dir(ws)
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local");
    go_test_with(go, args)
}

fn go_test_with(mut go: Command, args: &[&str]) -> (Option<i32>, String) {
    let out = go
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-buildvcs=false")
        .args(["test", "-v"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn gobuildr_test(ws: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = Gobuildr::new(ws).args(["test", "-q"]).args(args).run();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_examples_tests_equal_go_tests() {
    let ws = example("asm");
    let (go_code, go_out) = go_test(ws.path(), &["./..."]);
    let (code, out) = gobuildr_test(ws.path(), &["-v", "./..."]);
    assert_eq!(code, go_code, "{out}");
    assert_eq!(verdicts(&out), verdicts(&go_out), "{out}");
    assert!(verdicts(&out).values().any(|(_, t)| !t.is_empty()), "{out}");
}

#[test]
fn verdicts_and_tests_run_equal_go_tests() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    for args in [
        vec!["./..."],
        vec!["-run", "TestData|TestFails", "./..."],
        vec!["-short", "./lib"],
    ] {
        let mut with_v = vec!["-v"];
        with_v.extend(&args);
        let (go_code, go_out) = go_test(ws.path(), &args);
        let (our_code, our_out) = gobuildr_test(ws.path(), &with_v);
        assert_eq!(our_code, go_code, "{args:?}\n{our_out}");
        let (theirs, ours) = (verdicts(&go_out), verdicts(&our_out));
        assert!(!theirs.is_empty());
        assert_eq!(
            ours, theirs,
            "{args:?}\ngo test:\n{go_out}\ngobuildr:\n{our_out}"
        );
    }
}

/// (test actions executed, cached) of a run, from its summary.
fn test_actions(ws: &Path, cache: &Path, args: &[&str]) -> (usize, usize, String) {
    let summary = ws.join("test-summary.json");
    let out = Gobuildr::new(ws)
        .cache(cache)
        .args(["test", "-q", "--summary-json"])
        .arg(&summary)
        .args(args)
        .run();
    let s = Summary::load(&summary);
    let runs: Vec<&serde_json::Value> = s.0["action_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "test")
        .collect();
    let count = |o: &str| runs.iter().filter(|a| a["outcome"] == o).count();
    let failed = count("failed");
    (
        count("executed") + failed,
        count("cached"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn test_results_are_cached_by_content_never_by_time() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    let cache = shared_cache();
    let pkgs = ["./lib", "./q", "./app"];
    test_actions(ws.path(), &cache, &pkgs);
    let (ran, cached, out) = test_actions(ws.path(), &cache, &pkgs);
    assert_eq!(
        (ran, cached),
        (0, 1),
        "second run: no test binary runs\n{out}"
    );
    assert!(out.contains("ok  \texample.com/tws/lib\t(cached)"), "{out}");
    for e in walk(ws.path()) {
        let f = fs::File::options().write(true).open(&e).unwrap();
        f.set_modified(std::time::SystemTime::now()).unwrap();
    }
    assert_eq!(
        test_actions(ws.path(), &cache, &pkgs).0,
        0,
        "touch changes nothing"
    );
    assert_eq!(
        test_actions(ws.path(), &cache, &["-count=1", "./lib"]).0,
        1,
        "-count=1 reruns"
    );
    // New content (the shared cache may know any content seen before).
    let edit = format!("hello {}\n", nonce());
    fs::write(ws.path().join("lib/testdata/input.txt"), edit).unwrap();
    let (ran, _, out) = test_actions(ws.path(), &cache, &pkgs);
    assert_eq!(ran, 1, "a testdata edit reruns exactly that package\n{out}");
    // A failing package is never served from the cache.
    for _ in 0..2 {
        let (ran, cached, out) = test_actions(ws.path(), &cache, &["./bad"]);
        assert_eq!((ran, cached), (1, 0), "{out}");
        assert!(out.contains("FAIL\texample.com/tws/bad\t"), "{out}");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Real modules' own test suites, through the machine's module proxy:
/// the same verdicts and the same tests as go test, for ./... and -short.
#[test]
#[ignore = "needs the module proxy"]
fn real_modules_test_suites_equal_go_tests() {
    use super::realworld::{go, pinned_source, real_gobuildr, require_proxy};
    require_proxy();
    let share = regex::Regex::new(r"coverage: [0-9.]+%").unwrap();
    for module in [
        "github.com/google/go-cmp@v0.6.0",
        "github.com/spf13/pflag@v1.0.10",
    ] {
        let ws = pinned_source(module);
        for args in [vec!["./..."], vec!["-short", "./..."]] {
            let (go_code, go_out) = go_test_with(go(ws.path()), &args);
            let out = real_gobuildr(ws.path())
                .args(["test", "-q", "--buildvcs=false", "-v"])
                .args(&args)
                .output()
                .unwrap();
            let our_out = String::from_utf8_lossy(&out.stdout).into_owned();
            assert_eq!(
                out.status.code(),
                go_code,
                "{module} {args:?}\n{our_out}{}",
                stderr(&out)
            );
            let theirs = verdicts(&go_out);
            assert!(
                theirs.values().any(|(_, t)| !t.is_empty()),
                "{module}: {go_out}"
            );
            assert_eq!(verdicts(&our_out), theirs, "{module} {args:?}");
        }
        let ours = real_gobuildr(ws.path());
        let mut theirs = go(ws.path());
        theirs.env("GOFLAGS", "-mod=mod -buildvcs=false");
        assert_same_json(theirs, ws.path(), ours, &["./..."]);
        // Coverage of a real suite: which packages report a share, and the
        // profile's blocks, as go test's. (Counts can differ run to run:
        // go-cmp's value tests sort by pointer, and hit a branch or not.)
        let (go_prof, our_prof) = (ws.path().join("go.cover"), ws.path().join("ours.cover"));
        let go_out = go(ws.path())
            .env("CGO_ENABLED", "0")
            .args(["test", "-coverprofile"])
            .arg(&go_prof)
            .arg("./...")
            .output()
            .unwrap();
        let out = real_gobuildr(ws.path())
            .args(["test", "-q", "--buildvcs=false", "-coverprofile"])
            .arg(&our_prof)
            .arg("./...")
            .output()
            .unwrap();
        let (theirs, ours) = (
            String::from_utf8_lossy(&go_out.stdout),
            String::from_utf8_lossy(&out.stdout),
        );
        let shares = |s: &str| share.replace_all(&timeless(s), "coverage: N%").into_owned();
        assert_eq!(shares(&ours), shares(&theirs), "{module}\n{}", stderr(&out));
        let blocks = |p: &Path| -> Vec<String> {
            let lines = sorted_lines(p).into_iter();
            lines
                .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
                .collect()
        };
        assert_eq!(blocks(&our_prof), blocks(&go_prof), "{module}");
    }
}

/// Per package and test, the actions of a -json stream, in order (the
/// order across tests is the run's: parallel tests interleave as they
/// happen to, in go test as here).
fn json_pairs(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(pkg) = e["Package"].as_str() else {
            continue;
        };
        let test = e["Test"].as_str().unwrap_or("");
        out.entry(format!("{pkg} {test}"))
            .or_default()
            .push(e["Action"].as_str().unwrap_or("").to_string());
    }
    out
}

fn assert_same_json(go: Command, ws: &Path, ours: Command, args: &[&str]) {
    let mut go = go;
    let theirs = go.args(["test", "-json"]).args(args).output().unwrap();
    let mut ours = ours;
    let mine = ours
        .args(["test", "-json", "-q", "--buildvcs=false"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(mine.status.code(), theirs.status.code(), "{}", ws.display());
    let (theirs, mine) = (
        String::from_utf8_lossy(&theirs.stdout).into_owned(),
        String::from_utf8_lossy(&mine.stdout).into_owned(),
    );
    let want = json_pairs(&theirs);
    assert!(!want.is_empty(), "{theirs}");
    for (pkg, pairs) in &want {
        assert_eq!(
            json_pairs(&mine).get(pkg),
            Some(pairs),
            "{pkg} {args:?}\ngo:\n{theirs}\ngobuildr:\n{mine}"
        );
    }
    assert_eq!(json_pairs(&mine).len(), want.len());
}

#[test]
fn json_events_follow_go_tests_sequence() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    for args in [vec!["./..."], vec!["-run", "TestData", "-v", "./lib"]] {
        let mut go = Command::new("go");
        go.current_dir(ws.path())
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .env("GOFLAGS", "-buildvcs=false");
        assert_same_json(go, ws.path(), Gobuildr::new(ws.path()).command(), &args);
    }
}

/// --junit: a case per test go test runs, in a suite per package, with
/// the failure where go test reports one.
#[test]
fn junit_names_every_test_go_test_runs() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    let (_, go_out) = go_test(ws.path(), &["./..."]);
    let xml_path = ws.path().join("junit.xml");
    let out = Gobuildr::new(ws.path())
        .args(["test", "-q", "--junit"])
        .arg(&xml_path)
        .arg("./...")
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let xml = fs::read_to_string(&xml_path).unwrap();
    for (pkg, (_, tests)) in verdicts(&go_out) {
        for t in tests {
            let name = t.split(": ").nth(1).unwrap();
            let case = format!(r#"<testcase name="{name}" classname="{pkg}""#);
            assert!(xml.contains(&case), "{case}\n{xml}");
        }
    }
    assert!(xml.contains(r#"<testsuite name="example.com/tws/bad (linux/amd64)" tests="2" skipped="0" errors="0" failures="1">"#), "{xml}");
    assert!(
        xml.contains(r#"<failure message="TestFails failed">"#),
        "{xml}"
    );
}

/// Benchmarks run every time (they measure this machine now), and their
/// results are go test's.
#[test]
fn benchmarks_are_never_served_from_the_cache() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    let args = [
        "-run",
        "^$",
        "-bench",
        "Double",
        "-benchtime",
        "10x",
        "./lib",
    ];
    for _ in 0..2 {
        let (ran, cached, out) = test_actions(ws.path(), &shared_cache(), &args);
        assert_eq!((ran, cached), (1, 0), "{out}");
    }
    let verbose: Vec<&str> = std::iter::once("-v").chain(args).collect();
    let (_, out) = gobuildr_test(ws.path(), &verbose);
    assert!(out.contains("BenchmarkDouble"), "{out}");
}

/// Another platform's test binaries are built, not run, unless -exec
/// names a program to run them with (here the arm64 emulator).
#[test]
#[ignore = "needs qemu-user-static (installed by .ci/run)"]
fn another_platforms_tests_run_under_exec() {
    let qemu = "/usr/bin/qemu-aarch64-static";
    assert!(
        Path::new(qemu).exists(),
        "{qemu} is missing: apt-get install qemu-user-static"
    );
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    lay_out(ws.path());
    let (code, out) = gobuildr_test(ws.path(), &["--platform", "linux/arm64", "./lib"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("[linux/arm64 test binary built, not run: give -exec]"),
        "{out}"
    );
    let (code, out) = gobuildr_test(
        ws.path(),
        &["--platform", "linux/arm64", "-exec", qemu, "-v", "./lib"],
    );
    assert_eq!(code, Some(0), "{out}");
    let (_, native) = gobuildr_test(ws.path(), &["-v", "./lib"]);
    assert_eq!(
        verdicts(&out),
        verdicts(&native),
        "arm64 under qemu as amd64 here"
    );
}

/// Test packages that do what a hermetic run must refuse, each alone in a
/// package of test files only (go test runs those too).
fn lay_out_escapes(root: &Path, target: &Path) {
    let test = |name: &str, imports: &str, body: &str| {
        format!("package {name}\n\nimport (\n{imports}\t\"testing\"\n)\n\n{body}\n")
    };
    write_files(
        root,
        &[
            ("go.mod", "module example.com/esc\n\ngo 1.22\n"),
            ("home/home_test.go", &test("home", "\t\"os\"\n", "func TestHome(t *testing.T) {\n\tif _, err := os.UserHomeDir(); err != nil {\n\t\tt.Fatal(err)\n\t}\n}")),
            ("outside/outside_test.go", &test("outside", "\t\"os\"\n", &format!("func TestWrite(t *testing.T) {{\n\tif err := os.WriteFile({:?}, []byte(\"x\"), 0o644); err != nil {{\n\t\tt.Fatal(err)\n\t}}\n}}", target))),
            ("inside/inside_test.go", &test("inside", "\t\"os\"\n\t\"path/filepath\"\n", "func TestWrite(t *testing.T) {\n\tif err := os.WriteFile(filepath.Join(t.TempDir(), \"f\"), nil, 0o644); err != nil {\n\t\tt.Fatal(err)\n\t}\n\tif err := os.WriteFile(\"golden.out\", nil, 0o644); err != nil {\n\t\tt.Fatal(err)\n\t}\n}")),
            ("dial/dial_test.go", &test("dial", "\t\"net\"\n\t\"time\"\n", "func TestDial(t *testing.T) {\n\tc, err := net.DialTimeout(\"tcp\", \"192.0.2.1:80\", 5*time.Second)\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tc.Close()\n}")),
            ("hang/hang_test.go", &test("hang", "", "func TestHang(t *testing.T) {\n\tselect {}\n}")),
        ],
    );
}

#[test]
fn tests_cannot_escape_their_sandbox_and_hangs_are_killed() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    // Somewhere the user (and the test, as go test runs it) can write.
    let target = ws.path().join("escaped");
    lay_out_escapes(ws.path(), &target);
    let out = Gobuildr::new(ws.path())
        .args(["test", "-timeout", "3s", "//..."])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let v = verdicts(&text);
    let word = |p: &str| v[&format!("example.com/esc/{p}")].0.clone();
    assert_eq!(word("inside"), "ok", "{text}");
    for p in ["home", "outside", "dial", "hang"] {
        assert_eq!(word(p), "FAIL", "{p}: {text}");
    }
    assert!(text.contains("$HOME is not defined"), "{text}");
    assert!(text.contains("network is unreachable"), "{text}");
    assert!(text.contains("panic: test timed out after 3s"), "{text}");
    assert!(text.contains("read-only file system"), "{text}");
    assert!(!target.exists(), "a test wrote outside its sandbox");
    // go test lets the same test write there: the refusal is the sandbox's.
    let (code, _) = go_test(ws.path(), &["./outside"]);
    assert_eq!(code, Some(0));
    assert!(target.exists());
}

#[test]
fn vet_fails_packages_as_go_test_does() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/vt\n\ngo 1.22\n"),
            ("p/p.go", "package p\n\nimport \"fmt\"\n\nfunc Say(s string) string { return fmt.Sprintf(\"%s\", s) }\n"),
            ("p/p_test.go", "package p\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nfunc TestSay(t *testing.T) {\n\tfmt.Printf(\"%d\\n\", \"x\")\n}\n"),
            ("q/q_test.go", "package q_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/vt/p\"\n)\n\nfunc TestQ(t *testing.T) {\n\tif p.Say(\"a\") != \"a\" {\n\t\tt.Errorf(\"%d\", p.Say(\"a\"))\n\t}\n}\n"),
            ("ok/ok.go", "package ok\n"),
            ("ok/ok_test.go", "package ok\n\nimport \"testing\"\n\nfunc TestOK(t *testing.T) {}\n"),
        ],
    );
    for args in [
        vec!["./..."],
        vec!["-vet=off", "./..."],
        vec!["-vet=atomic", "./..."],
    ] {
        let (go_code, go_out) = go_test(ws.path(), &args);
        let mut with_v = vec!["-v"];
        with_v.extend(&args);
        let out = Gobuildr::new(ws.path()).args(["test"]).args(&with_v).run();
        let ours = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), go_code, "{args:?}\n{ours}");
        assert_eq!(
            verdicts(&ours),
            verdicts(&go_out),
            "{args:?}\n{ours}\n{go_out}"
        );
        if args.len() == 1 {
            // go's report, header lines and all.
            let err = stderr(&out);
            for want in [
                "# example.com/vt/p\n# [example.com/vt/p]\np/p_test.go:9:14: fmt.Printf format %d has arg \"x\" of wrong type string",
                "# example.com/vt/q_test\n# [example.com/vt/q_test]\nq/q_test.go:11:13:",
            ] {
                assert!(err.contains(want), "{want}\n---\n{err}");
            }
        }
    }
    let out = Gobuildr::new(ws.path())
        .args(["test", "-vet=nosuch", "./..."])
        .run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"nosuch\" is not an analyser"),
        "{}",
        stderr(&out)
    );
}

/// A binary whose own -test.timeout alarm never starts (TestMain waits
/// before m.Run) is stopped by go test's backstop: SIGQUIT a minute after
/// the timeout, with go's line. Takes that minute.
#[test]
fn a_wedged_binary_is_killed_a_minute_after_its_timeout() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/wedge\n\ngo 1.22\n"),
            ("w/w_test.go", "package w\n\nimport (\n\t\"os\"\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestMain(m *testing.M) {\n\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}\n\tos.Exit(m.Run())\n}\n\nfunc TestNothing(t *testing.T) {}\n"),
        ],
    );
    let out = Gobuildr::new(ws.path())
        .args(["test", "-timeout", "1s", "//..."])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "*** Test killed with quit: ran too long (1m1s).\nFAIL\texample.com/wedge/w\t"
        ),
        "{text}"
    );
}

/// go test's lines with their times (and `(cached)`) made comparable.
fn timeless(stdout: &str) -> String {
    stdout
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split('\t').collect();
            if f.len() > 2 && (f[2].ends_with('s') || f[2] == "(cached)") {
                f[2] = "T";
            }
            f.join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// -cover, -covermode, -coverpkg and -coverprofile: go test's lines (the
/// coverage share of each package, packages without tests included) and
/// its merged profile, line for line.
#[test]
fn coverage_equals_go_tests() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/cv\n\ngo 1.22\n"),
            ("a/a.go", "package a\n\nfunc F(x int) int {\n\tif x > 0 {\n\t\treturn 1\n\t}\n\treturn 0\n}\n"),
            ("a/a_test.go", "package a\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) { F(1) }\n"),
            ("b/b.go", "package b\n\nfunc G() int { return 2 }\n"),
            ("c/c.go", "package c\n\nimport \"example.com/cv/b\"\n\nfunc H() int { return b.G() }\n"),
            ("c/x_test.go", "package c_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/cv/c\"\n)\n\nfunc TestH(t *testing.T) { c.H() }\n"),
            ("app/main.go", "package main\n\nfunc main() { println(1) }\n"),
            ("empty/e.go", "package empty\n\ntype T int\n"),
        ],
    );
    let (go_prof, our_prof) = (ws.path().join("go.out"), ws.path().join("ours.out"));
    for flags in [
        vec!["-cover"],
        vec!["-covermode=count"],
        vec!["-covermode=atomic"],
        vec!["-coverpkg=./..."],
        vec!["-coverpkg=example.com/cv/b"],
    ] {
        let profile = |p: &Path| format!("-coverprofile={}", p.display());
        let mut go = Command::new("go");
        go.current_dir(ws.path())
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-buildvcs=false")
            .env("CGO_ENABLED", "0")
            .arg("test")
            .args(&flags)
            .arg(profile(&go_prof))
            .arg("./...");
        let go_out = go.output().unwrap();
        let out = Gobuildr::new(ws.path())
            .arg("test")
            .args(&flags)
            .arg(profile(&our_prof))
            .arg("./...")
            .run();
        let (theirs, ours) = (
            String::from_utf8_lossy(&go_out.stdout),
            String::from_utf8_lossy(&out.stdout),
        );
        assert_eq!(
            out.status.code(),
            go_out.status.code(),
            "{flags:?}\n{ours}\n{}",
            stderr(&out)
        );
        assert_eq!(timeless(&ours), timeless(&theirs), "{flags:?}");
        assert!(ours.contains("coverage: "), "{ours}");
        // go merges in the order runs finish; the lines are the same.
        assert_eq!(sorted_lines(&our_prof), sorted_lines(&go_prof), "{flags:?}");
    }
}

/// --test-output streamed: each binary's output as it prints it, one
/// binary at a time (never interleaved), shown once, before the verdicts.
#[test]
fn streamed_output_comes_once_and_never_interleaved() {
    let ws = tempfile::tempdir_in(scratch()).unwrap();
    let test = |p: &str| {
        format!("package {p}\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestX(t *testing.T) {{\n\tfmt.Println(\"start {p}\")\n\ttime.Sleep(300 * time.Millisecond)\n\tfmt.Println(\"end {p}\")\n}}\n")
    };
    let (a, b) = (test("a"), test("b"));
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/st\n\ngo 1.22\n"),
            ("a/x_test.go", &a),
            ("b/x_test.go", &b),
        ],
    );
    let out = Gobuildr::new(ws.path())
        .args([
            "test",
            "-j",
            "2",
            "--test-output",
            "streamed",
            "-count=1",
            "//...",
        ])
        .run();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    for p in ["a", "b"] {
        let start = lines
            .iter()
            .position(|l| *l == format!("start {p}"))
            .unwrap();
        assert_eq!(lines[start + 1], format!("end {p}"), "interleaved:\n{text}");
        assert_eq!(text.matches(&format!("start {p}")).count(), 1, "{text}");
    }
    let first_verdict = lines.iter().position(|l| l.starts_with("ok  ")).unwrap();
    assert!(
        lines[..first_verdict]
            .iter()
            .filter(|l| l.starts_with("end "))
            .count()
            == 2,
        "{text}"
    );
}
