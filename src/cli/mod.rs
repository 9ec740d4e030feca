//! The command line in two stages: raw flags ([`args`]), then resolved
//! [`Settings`] in which every default is decided and every value checked.
//! No work starts before Settings exist.

pub mod args;

use std::path::{Path, PathBuf};

use crate::failure::Failure;
use crate::workspace::label::{Label, LabelError};

/// The labels of a request, as typed; Go-style ones are resolved against
/// the current directory once the workspace root is known.
#[derive(Debug)]
pub struct Labels(Vec<String>);

impl Labels {
    /// The labels as typed.
    pub fn raw(&self) -> &[String] {
        &self.0
    }

    /// Parses them relative to `cwd` (the current directory, relative to
    /// the workspace root).
    pub fn resolve(&self, cwd: &str) -> Result<Vec<Label>, LabelError> {
        self.0.iter().map(|l| Label::parse(l, cwd)).collect()
    }
}

/// Everything a build needs to know from the user, resolved.
#[derive(Debug)]
pub struct Settings {
    pub start_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub go: Option<PathBuf>,
    pub labels: Labels,
    pub tags: Vec<String>,
    /// Platform specs and set names as given, in order; empty means the host.
    /// They are checked against the toolchain once it is known.
    pub platforms: Vec<String>,
    pub jobs: usize,
    /// `--jobs` was given (else a remote executor may raise it).
    pub jobs_given: bool,
    pub keep_going: bool,
    pub out: Option<PathBuf>,
    pub summary_json: Option<PathBuf>,
    pub quiet: bool,
    pub explain: bool,
    pub profile: Option<PathBuf>,
    pub offline: bool,
    pub record: Option<PathBuf>,
    pub shuffle: Option<u64>,
    pub provenance: Option<PathBuf>,
    /// go build's flags as typed (resolved with gobuildr.toml's [build]
    /// table once the workspace is known; relative patterns and paths are
    /// relative to `start_dir`).
    pub go_flags: args::GoBuildArgs,
    /// `-o`: where binaries go instead of gobuildr-out.
    pub output: Option<Output>,
    /// The `--remote-*` flags as typed (resolved with gobuildr.toml).
    pub remote: args::RemoteArgs,
    /// `gobuildr test`: how the test binaries run.
    pub test: Option<crate::plan::TestOptions>,
    /// The command line's global flags and build flags, as typed (verify
    /// passes them on to its runs).
    pub forward_global: Vec<String>,
    pub forward_build: Vec<String>,
}

/// go build's `-o`: one file, or a directory every binary goes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    File(PathBuf),
    Dir(PathBuf),
}

impl Output {
    /// `DIR/` or an existing directory is a directory, as for go build.
    fn of(cwd: &std::path::Path, raw: &std::path::Path) -> Output {
        let path = cwd.join(raw);
        if raw.as_os_str().to_string_lossy().ends_with('/') || path.is_dir() {
            Output::Dir(path)
        } else {
            Output::File(path)
        }
    }
}

/// go build flags gobuildr refuses, with the reason.
fn refused(go: &args::GoBuildArgs) -> Option<String> {
    let cgo = "needs cgo, which gobuildr does not build (it builds with CGO_ENABLED=0)";
    [
        (go.race, "-race", cgo),
        (go.msan, "-msan", cgo),
        (go.asan, "-asan", cgo),
        (go.linkshared, "-linkshared", cgo),
        (
            go.cover,
            "-cover",
            "measures tests: use it with gobuildr test",
        ),
    ]
    .into_iter()
    .find(|(set, _, _)| *set)
    .map(|(_, flag, why)| format!("{flag} {why}"))
}

/// go build's flags as verify passes them on to its runs.
fn forward_go(go: &args::GoBuildArgs) -> Vec<String> {
    let lists = [
        ("--ldflags", &go.ldflags),
        ("--gcflags", &go.gcflags),
        ("--asmflags", &go.asmflags),
    ];
    let single = [
        ("--buildmode", &go.buildmode),
        ("--pgo", &go.pgo),
        ("--buildvcs", &go.buildvcs),
        ("--goexperiment", &go.goexperiment),
    ];
    lists
        .into_iter()
        .flat_map(|(f, vs)| vs.iter().map(move |v| format!("{f}={v}")))
        .chain(
            single
                .into_iter()
                .filter_map(|(f, v)| v.as_ref().map(|v| format!("{f}={v}"))),
        )
        .collect()
}

/// The default cache: $GOBUILDR_CACHE, else $XDG_CACHE_HOME/gobuildr, else
/// ~/.cache/gobuildr.
fn default_cache_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("GOBUILDR_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("gobuildr")))
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("gobuildr")))
        .unwrap_or_else(|| std::env::temp_dir().join("gobuildr-cache"))
}

/// Splits `-tags a,b --tags c` into tags, in order, without empties or repeats.
fn split_tags(raw: &[String]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw.iter().flat_map(|r| r.split([',', ' '])) {
        if !t.is_empty() && !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    tags
}

/// `--platform` and `--platforms` values, split at commas, in order.
fn platforms(build: &args::BuildArgs) -> Vec<String> {
    build
        .target
        .platform
        .iter()
        .chain(&build.target.platforms)
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `--jobs`, or one per core when unset or 0.
fn jobs(given: Option<usize>) -> usize {
    given.filter(|j| *j > 0).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// The global flags verify passes on (`--go`, `--rules`), made absolute.
fn forward_global(cli: &args::Cli, cwd: &std::path::Path) -> Vec<String> {
    cli.go
        .iter()
        .map(|g| ("--go", cwd.join(g)))
        .chain(cli.rules.iter().map(|r| ("--rules", cwd.join(r))))
        .flat_map(|(f, v)| [f.to_string(), v.to_string_lossy().to_string()])
        .collect()
}

/// The build flags verify passes on, as typed.
fn forward_build(build: &args::BuildArgs) -> Vec<String> {
    build
        .labels
        .iter()
        .cloned()
        .chain(
            build
                .target
                .platform
                .iter()
                .flat_map(|p| ["--platform".to_string(), p.clone()]),
        )
        .chain(
            build
                .target
                .platforms
                .iter()
                .flat_map(|p| ["--platforms".to_string(), p.clone()]),
        )
        .chain(
            build
                .target
                .tags
                .iter()
                .flat_map(|t| ["--tags".to_string(), t.clone()]),
        )
        .chain(build.offline.then(|| "--offline".to_string()))
        .chain(forward_go(&build.go))
        .collect()
}

/// A program named without a directory, found on PATH (as go test -exec).
fn which(program: &std::path::Path) -> PathBuf {
    if program.components().count() > 1 {
        return program.to_path_buf();
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

/// go test's flags as the test binary takes them, in go test's order.
fn test_options(t: &args::TestArgs, cwd: &Path) -> Result<crate::plan::TestOptions, Failure> {
    let timeout = t.timeout.clone().unwrap_or_else(|| "10m0s".into());
    if crate::goflags::parse_duration(&timeout).is_none() {
        return Err(Failure::Usage(format!(
            "invalid value {timeout:?} for flag -timeout: a duration such as 30s or 10m"
        )));
    }
    let cover = cover_options(t, cwd).is_some();
    let mut args = vec!["-test.paniconexit0".to_string()];
    // Where go test puts them: the counters in the sandbox's temp dir,
    // the binary's own profile an output of its run.
    if cover {
        args.push(format!("-test.gocoverdir={}/tmp", crate::plan::SB));
    }
    args.push(format!("-test.timeout={timeout}"));
    if cover {
        args.push(format!(
            "-test.coverprofile={}/{}",
            crate::plan::SB,
            crate::plan::COVER_PROFILE
        ));
    }
    let flag = |name: &str, v: &Option<String>| v.as_ref().map(|v| format!("-test.{name}={v}"));
    // -json reads the binary's framing, marked for test2json.
    let framed = t.json || t.junit.is_some();
    if framed {
        args.push("-test.v=test2json".to_string());
    } else if t.verbose {
        args.push("-test.v=true".to_string());
    }
    args.extend(flag("run", &t.run));
    args.extend(flag("skip", &t.skip));
    args.extend(flag("bench", &t.bench));
    args.extend(flag("benchtime", &t.benchtime));
    args.extend(t.short.then(|| "-test.short=true".to_string()));
    args.extend(t.count.map(|n| format!("-test.count={n}")));
    args.extend(t.failfast.then(|| "-test.failfast=true".to_string()));
    Ok(crate::plan::TestOptions {
        args,
        // Benchmarks measure this machine now: never from the cache.
        fresh: t.count == Some(1) || t.bench.is_some(),
        verbose: t.verbose || t.test_output == "all",
        // Framed output (for -json, --junit) is converted after the run.
        streamed: t.test_output == "streamed" && !framed,
        json: t.json,
        junit: t.junit.clone(),
        exec: t.exec.as_ref().map(|e| which(e)),
        vet: vet_checks(t.vet.as_deref())?,
        cover: cover_options(t, cwd),
    })
}

/// -cover, -covermode and -coverprofile (either of the last two implies
/// the first, as in go test).
fn cover_options(t: &args::TestArgs, cwd: &Path) -> Option<crate::plan::CoverOptions> {
    let given = [
        t.covermode.is_some(),
        t.coverprofile.is_some(),
        t.coverpkg.is_some(),
    ];
    if !t.build.go.cover && !given.contains(&true) {
        return None;
    }
    let pkgs = t.coverpkg.iter().flat_map(|list| list.split(','));
    Some(crate::plan::CoverOptions {
        mode: t.covermode.clone().unwrap_or_else(|| "set".into()),
        profile: t.coverprofile.clone(),
        pkgs: pkgs
            .filter(|p| !p.is_empty())
            .map(|p| cover_pattern(p, cwd))
            .collect(),
    })
}

/// A -coverpkg pattern: relative ones (`./...`, `./x`, `.`) name
/// directories from where gobuildr runs, as go's do; others import paths.
fn cover_pattern(raw: &str, cwd: &Path) -> crate::plan::CoverPattern {
    use crate::plan::CoverMatch;
    let relative = raw == "." || raw == ".." || raw.starts_with("./") || raw.starts_with("../");
    let matcher = if relative {
        let (dir, below) = match raw.strip_suffix("/...") {
            Some(d) => (d, true),
            None => (raw, false),
        };
        CoverMatch::Dir {
            dir: crate::goflags::clean(&cwd.join(dir)),
            below,
        }
    } else {
        CoverMatch::Import(raw.to_string())
    };
    crate::plan::CoverPattern {
        raw: raw.to_string(),
        matcher,
    }
}

/// `-vet` as go test reads it.
fn vet_checks(value: Option<&str>) -> Result<crate::plan::VetChecks, Failure> {
    use crate::plan::VetChecks;
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(VetChecks::Default);
    };
    let bad = |why: String| Err(Failure::Usage(format!("-vet={value}: {why}")));
    let names: Vec<&str> = value.split(',').collect();
    if names.len() > 1 && names.iter().any(|n| *n == "off" || *n == "all") {
        return bad("off and all stand alone, not in a list".into());
    }
    match names[..] {
        ["off"] => return Ok(VetChecks::Off),
        ["all"] => return Ok(VetChecks::Flags(Vec::new())),
        _ => {}
    }
    let known = &crate::rules::rules().vet.analyzers;
    let mut flags = Vec::new();
    for n in names {
        if !known.iter().any(|k| k == n) {
            return bad(format!(
                "{n:?} is not an analyser go vet runs (known: {})",
                known.join(", ")
            ));
        }
        flags.push(format!("-{n}"));
    }
    Ok(VetChecks::Flags(flags))
}

impl Settings {
    pub fn resolve(cli: &args::Cli, build: &args::BuildArgs) -> Result<Settings, Failure> {
        if let Some(why) = refused(&build.go) {
            return Err(Failure::Usage(why));
        }
        Settings::resolve_checked(cli, build)
    }

    /// `gobuildr test`: its options (-cover is a test flag there) too.
    pub fn resolve_test(cli: &args::Cli, t: &args::TestArgs) -> Result<Settings, Failure> {
        let go = args::GoBuildArgs {
            cover: false,
            ..t.build.go.clone()
        };
        if let Some(why) = refused(&go) {
            return Err(Failure::Usage(why));
        }
        let mut settings = Settings::resolve_checked(cli, &t.build)?;
        settings.test = Some(test_options(t, &settings.start_dir)?);
        Ok(settings)
    }

    fn resolve_checked(cli: &args::Cli, build: &args::BuildArgs) -> Result<Settings, Failure> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let start_dir = match &cli.dir {
            Some(d) => cwd.join(d),
            None => cwd.clone(),
        };
        let labels = if build.labels.is_empty() {
            vec!["//...".to_string()]
        } else {
            build.labels.clone()
        };
        Ok(Settings {
            start_dir,
            cache_dir: cli
                .cache_dir
                .as_ref()
                .map(|d| cwd.join(d))
                .unwrap_or_else(default_cache_dir),
            go: cli.go.clone(),
            labels: Labels(labels),
            tags: split_tags(&build.target.tags),
            platforms: platforms(build),
            jobs: jobs(build.jobs),
            jobs_given: build.jobs.is_some_and(|j| j > 0),
            keep_going: build.keep_going,
            out: build.out.as_ref().map(|o| cwd.join(o)),
            summary_json: build.summary_json.as_ref().map(|p| cwd.join(p)),
            quiet: build.quiet,
            explain: build.explain,
            offline: build.offline,
            record: build.record.as_ref().map(|p| cwd.join(p)),
            shuffle: build.shuffle,
            provenance: build.provenance.as_ref().map(|p| cwd.join(p)),
            forward_global: forward_global(cli, &cwd),
            forward_build: forward_build(build),
            output: build.go.output.as_ref().map(|o| Output::of(&cwd, o)),
            go_flags: build.go.clone(),
            remote: build.remote.clone(),
            test: None,
            profile: build.profile.as_ref().map(|p| cwd.join(p)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::args::{BuildArgs, TargetArgs};

    #[test]
    fn platforms_split_at_commas_in_order() {
        let build = BuildArgs {
            target: TargetArgs {
                platform: vec!["linux/amd64, ".into()],
                platforms: vec!["darwin/arm64,,windows/amd64".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            super::platforms(&build),
            ["linux/amd64", "darwin/arm64", "windows/amd64"]
        );
    }

    #[test]
    fn jobs_default_to_the_cores() {
        assert_eq!(super::jobs(Some(3)), 3);
        assert_eq!(super::jobs(Some(0)), super::jobs(None));
        assert!(super::jobs(None) >= 1);
    }

    #[test]
    fn build_flags_forwarded_as_typed() {
        let build = BuildArgs {
            labels: vec!["//cmd/app".into()],
            target: TargetArgs {
                platform: vec!["linux/arm64".into()],
                tags: vec!["a,b".into()],
                ..Default::default()
            },
            offline: true,
            ..Default::default()
        };
        assert_eq!(
            super::forward_build(&build),
            [
                "//cmd/app",
                "--platform",
                "linux/arm64",
                "--tags",
                "a,b",
                "--offline"
            ]
        );
    }

    #[test]
    fn tags() {
        assert_eq!(
            super::split_tags(&["a,b".into(), "b c".into()]),
            vec!["a", "b", "c"]
        );
    }
}
