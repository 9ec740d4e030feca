//! go test -cover's additions to a test graph: the packages a covered test
//! main imports (the coverage runtime), and the registration go test
//! writes into the test main it generates (go list's test main has none).

use super::Package;

/// What a covered test main imports besides go list's test main: the
/// coverage runtime its registration calls, and what the cover tool's
/// testmain mode adds; atomic counters need sync/atomic.
pub const RUNTIME: [&str; 3] = ["internal/coverage/cfile", "runtime/coverage", "sync/atomic"];

/// The tool that reports covered packages with no tests (built from the
/// toolchain's sources, as `go tool covdata` builds it).
pub const COVDATA: &str = "cmd/covdata";

/// What a test main's coverage registration says: the mode, what the
/// coverage line names (" in PATTERNS" under -coverpkg), the packages
/// whose statements count.
pub struct Registration<'a> {
    pub mode: &'a str,
    pub covered: String,
    pub selected: Vec<&'a str>,
}

/// A test main with go test's coverage registration, as the
/// `{{if .Cover}}` parts of go's test main template write it.
pub fn register(text: &str, r: &Registration) -> String {
    let import = "\t\"testing/internal/testdeps\"\n";
    let init = "func init() {\n";
    let selected: Vec<String> = r.selected.iter().map(|p| format!("{p:?}")).collect();
    let hooks = format!(
        "{init}\n\ttestdeps.CoverMode = {:?}\n\ttestdeps.Covered = {:?}\n\
         \ttestdeps.CoverSelectedPackages = []string{{{}}}\n\
         \ttestdeps.CoverSnapshotFunc = cfile.Snapshot\n\
         \ttestdeps.CoverProcessTestDirFunc = cfile.ProcessCoverTestDir\n\
         \ttestdeps.CoverMarkProfileEmittedFunc = cfile.MarkProfileEmitted\n\n",
        r.mode,
        r.covered,
        selected.join(", ")
    );
    text.replacen(
        import,
        &format!("{import}\n\t\"internal/coverage/cfile\"\n"),
        1,
    )
    .replacen(init, &hooks, 1)
}

/// Adds the coverage runtime to a test main's imports and dependencies
/// (with what those import, from `list`).
pub fn add_runtime(main: &mut Package, list: &[Package]) {
    for extra in ["internal/coverage/cfile", "runtime/coverage"] {
        if !main.imports.iter().any(|i| i == extra) {
            main.imports.push(extra.to_string());
        }
    }
    let mut todo: Vec<String> = RUNTIME.iter().map(|s| s.to_string()).collect();
    while let Some(name) = todo.pop() {
        if main.deps.contains(&name) {
            continue;
        }
        if let Some(p) = list.iter().find(|p| p.import_path == name) {
            todo.extend(p.imports.iter().cloned());
        }
        main.deps.push(name);
    }
    main.deps.sort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_goes_where_go_tests_template_puts_it() {
        let main = "import (\n\t\"os\"\n\t\"testing\"\n\t\"testing/internal/testdeps\"\n)\n\nfunc init() {\n\ttestdeps.ModulePath = \"m\"\n}\n";
        let r = Registration {
            mode: "set",
            covered: String::new(),
            selected: vec!["m/a"],
        };
        let got = register(main, &r);
        assert!(got.contains("\t\"testing/internal/testdeps\"\n\n\t\"internal/coverage/cfile\"\n)"));
        assert!(got.contains("func init() {\n\n\ttestdeps.CoverMode = \"set\"\n"));
        assert!(got.contains("testdeps.CoverSelectedPackages = []string{\"m/a\"}\n"));
        assert!(got.ends_with("cfile.MarkProfileEmitted\n\n\ttestdeps.ModulePath = \"m\"\n}\n"));
    }
}
