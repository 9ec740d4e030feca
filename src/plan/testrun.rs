//! `gobuildr test`: a package's test binary (`p.test`, linked from the
//! test variant `p [p.test]`, the external `p_test` and the test main go
//! list generates) and the action that runs it in the package directory,
//! staged by content (its files and testdata/), so its result is cached
//! by what it reads and never by a modification time.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

use super::action::output_input;
use super::planner::Planner;
use super::{Action, ActionKind, Input, Plan, PlanError, Root, Source, GOROOT, SB};
use crate::discover::{test_main_of, test_variant_of, Package, PackageGraph};
use crate::rules::Platform;

/// Where the test binary is staged for its run.
const TEST_BINARY: &str = "obj/test.bin";

/// How the test binaries run (go test's flags as `-test.*` flags).
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    pub args: Vec<String>,
    /// `-count=1`: run even when a result is cached.
    pub fresh: bool,
    /// `-v`: print passing packages' output too.
    pub verbose: bool,
    /// `--test-output streamed`: output shown as the binaries print it
    /// (and not again after).
    pub streamed: bool,
    /// `-json`: print test2json events.
    pub json: bool,
    /// `--junit FILE`.
    pub junit: Option<std::path::PathBuf>,
    /// `-exec PROGRAM`: runs each test binary as `PROGRAM BINARY ARGS`
    /// (an emulator for another platform's binaries).
    pub exec: Option<std::path::PathBuf>,
    /// `-vet`: the analysers vet runs before each binary.
    pub vet: super::VetChecks,
    /// `-cover`: coverage of the packages under test.
    pub cover: Option<CoverOptions>,
}

/// `-cover`, `-covermode`, `-coverprofile`.
#[derive(Debug, Clone)]
pub struct CoverOptions {
    /// set, count or atomic.
    pub mode: String,
    /// Where the merged profile goes.
    pub profile: Option<std::path::PathBuf>,
    /// `-coverpkg`: what every test binary instruments (empty: each
    /// instruments its package under test).
    pub pkgs: Vec<CoverPattern>,
}

/// One `-coverpkg` pattern, as typed and as it matches.
#[derive(Debug, Clone)]
pub struct CoverPattern {
    pub raw: String,
    pub matcher: CoverMatch,
}

#[derive(Debug, Clone)]
pub enum CoverMatch {
    /// An import path pattern (`...` wildcards).
    Import(String),
    /// A directory, and whether the ones below it too.
    Dir {
        dir: std::path::PathBuf,
        below: bool,
    },
}

impl CoverMatch {
    pub fn matches(&self, pkg: &Package) -> bool {
        match self {
            CoverMatch::Import(p) if p == "std" => pkg.standard,
            CoverMatch::Import(p) => crate::goflags::match_pattern(p, &pkg.import_path),
            CoverMatch::Dir { dir, below } => {
                pkg.dir == *dir || (*below && pkg.dir.starts_with(dir))
            }
        }
    }
}

/// One selected package's test run on one platform.
#[derive(Debug, Clone)]
pub struct TestTarget {
    /// The package's import path, as go test prints it.
    pub package: String,
    pub platform: Platform,
    /// The run action; None: the package has no test files, or its
    /// binary cannot run here (`build_only`).
    pub run: Option<NodeIndex>,
    /// Linked but not run: the platform is not this host's and no `-exec`
    /// program was given.
    pub build_only: bool,
    /// `-cover` of a package with no tests: the action writing its
    /// profile (every block unrun), from its instrumentation's meta-data.
    pub coverage: Option<NodeIndex>,
}

/// The test mains of the roots that have tests; the others are recorded
/// as having none, and stay roots when `-cover` reports them (`meta`).
pub(super) fn test_roots(
    plan: &mut Plan,
    graph: &PackageGraph,
    roots: &[Root],
    meta: bool,
) -> Vec<Root> {
    let mut out = Vec::new();
    // go list -test names the variants and test mains too: only the
    // packages themselves are roots.
    let is_variant = |r: &&Root| {
        graph
            .packages
            .get(&r.import_path)
            .is_some_and(|p| !p.for_test.is_empty() || p.testmain.is_some())
            || r.import_path.contains(" [")
    };
    for r in roots.iter().filter(|r| !is_variant(r)) {
        let main = test_main_of(&r.import_path);
        if graph.packages.contains_key(&main) {
            out.push(Root {
                import_path: main,
                dir: r.dir.clone(),
                explicit: r.explicit,
            });
        } else if graph.packages.contains_key(&r.import_path) {
            plan.tests.push(TestTarget {
                package: r.import_path.clone(),
                platform: graph.platform.clone(),
                run: None,
                build_only: false,
                coverage: None,
            });
            if meta {
                out.push(Root {
                    import_path: r.import_path.clone(),
                    dir: r.dir.clone(),
                    explicit: r.explicit,
                });
            }
        }
    }
    out
}

/// The packages `-cover` instruments, each with whether it writes its
/// meta-data for a report of its own: each tested package with its
/// internal tests (`p [p.test]`, or `p` when it has none), and each
/// selected package with no tests, as go test does.
pub(super) fn covered(
    graph: &PackageGraph,
    roots: &[&Root],
    cover: Option<&CoverOptions>,
) -> BTreeMap<String, bool> {
    let Some(cover) = cover else {
        return BTreeMap::new();
    };
    if !cover.pkgs.is_empty() {
        return super::cover::selected(graph, roots, cover);
    }
    roots
        .iter()
        .map(|r| match r.import_path.strip_suffix(".test") {
            Some(p) => {
                let variant = test_variant_of(p, p);
                if graph.packages.contains_key(&variant) {
                    (variant, false)
                } else {
                    (p.to_string(), false)
                }
            }
            None => (r.import_path.clone(), true),
        })
        .collect()
}

/// Whether this host runs `platform`'s binaries (386 ones on amd64 too).
pub(super) fn runs_on_host(toolchain: &crate::toolchain::Toolchain, p: &Platform) -> bool {
    let (os, arch) = (&toolchain.host_os, &toolchain.host_arch);
    p.goos == *os && (p.goarch == *arch || (p.goarch == "386" && arch == "amd64"))
}

/// Every regular file of `dir`, and of `dir/testdata` recursively, as
/// paths relative to `dir`, sorted.
fn staged_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, rel)) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let sub = format!("{rel}{name}");
            match e.file_type() {
                Ok(t) if t.is_file() => out.push(sub),
                Ok(t) if t.is_dir() && (!rel.is_empty() || name == "testdata") => {
                    todo.push((e.path(), format!("{sub}/")))
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

impl TestOptions {
    /// The binaries mark their framing for test2json (-json, --junit).
    pub fn framed(&self) -> bool {
        self.json || self.junit.is_some()
    }
}

impl Planner<'_> {
    /// The test binary, and the package directory's files and testdata
    /// by content.
    fn run_inputs(&mut self, pkg: &Package, link: NodeIndex) -> Result<Vec<Input>, PlanError> {
        let mut inputs = vec![output_input(TEST_BINARY, link, "obj/a.out")];
        // After vet, as in go test: a vet report fails the package unrun.
        for (i, vet) in self
            .plan_test_vets(&pkg.import_path)?
            .into_iter()
            .enumerate()
        {
            inputs.push(output_input(&format!("obj/vet{i}.out"), vet, "obj/vet.out"));
        }
        inputs.extend(self.meta_inputs());
        for rel in staged_files(&pkg.dir) {
            let path = pkg.dir.join(&rel);
            let digest = self.hashed(&path)?;
            inputs.push(Input {
                at: format!("src/{rel}"),
                source: Source::File {
                    path,
                    digest,
                    immutable: false,
                },
                writable: false,
            });
        }
        Ok(inputs)
    }

    /// The run of a linked test binary, in its package's directory.
    pub(super) fn plan_test_run(
        &mut self,
        main: &Package,
        link: NodeIndex,
        dir: &str,
    ) -> Result<(), PlanError> {
        let Some(opts) = self.req.tests else {
            return Ok(());
        };
        let package = main.import_path.trim_end_matches(".test").to_string();
        let Some(pkg) = self.graph.packages.get(&package) else {
            return Ok(());
        };
        let platform = self.graph.platform.clone();
        let build_only =
            !runs_on_host(self.req.toolchain, &self.graph.platform) && opts.exec.is_none();
        let run = if build_only {
            None
        } else {
            let mut argv: Vec<String> = opts.exec.iter().map(|e| e.display().to_string()).collect();
            argv.push(format!("{SB}/{TEST_BINARY}"));
            argv.extend(opts.args.iter().cloned());
            let inputs = self.run_inputs(pkg, link)?;
            let mut env = self.tool_env(GOROOT);
            // As go test sets it, for tests that build covered tools.
            if opts.cover.is_some() {
                env.push(("GOCOVERDIR".into(), format!("{SB}/tmp")));
            }
            Some(
                self.add(Action {
                    kind: ActionKind::TestRun,
                    package: package.clone(),
                    platform: platform.clone(),
                    argv,
                    env,
                    inputs,
                    outputs: opts
                        .cover
                        .iter()
                        .map(|_| super::COVER_PROFILE.to_string())
                        .collect(),
                    src_display: if dir.is_empty() {
                        String::new()
                    } else {
                        format!("{dir}/")
                    },
                    src_link: None,
                    module: None,
                }),
            )
        };
        self.plan.tests.push(TestTarget {
            package,
            platform,
            run,
            build_only,
            coverage: None,
        });
        Ok(())
    }
}
