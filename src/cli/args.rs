//! Raw command-line flags, as clap parses them. Nothing is resolved here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gobuildr",
    version,
    about = "Hermetic, reproducible builds for Go modules and workspaces"
)]
pub struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Cache directory (default: $GOBUILDR_CACHE, else $XDG_CACHE_HOME/gobuildr).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The `go` command to use (default: `go` on PATH).
    #[arg(long, global = true, value_name = "PATH")]
    pub go: Option<PathBuf>,
    /// Use the rule files in DIR (compile.toml, link.toml, ...) in place of
    /// the built-in ones: a rule variant.
    #[arg(long, global = true, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Run `go` and every tool through PROGRAM (e.g. qemu-aarch64-static
    /// for an arm64 toolchain on an amd64 machine).
    #[arg(long, global = true, value_name = "PROGRAM")]
    pub tool_wrapper: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build packages and binaries.
    Build(BuildArgs),
    /// Say why each action of the request would run, without building.
    Explain(BuildArgs),
    /// Print the actions of a build (argv, inputs by digest, outputs, key,
    /// cached), without building.
    Aquery(AqueryArgs),
    /// Download and verify every module the workspace needs.
    Fetch(FetchArgs),
    /// Rebuild under varied conditions and prove the outputs bit-identical.
    Verify(VerifyArgs),
    /// List the platforms this toolchain can target, and the named sets.
    Platforms,
    /// Show which Go toolchain builds this workspace and where it came from.
    Toolchain(FetchArgs),
    /// Run the tests of packages, with results cached by content.
    Test(TestArgs),
    /// Query the package graph as it is built, per platform and tags
    /// (the language is in docs/query.md).
    Query(QueryArgs),
}

/// `gobuildr aquery [LABELS] [build flags]`.
#[derive(Debug, Args)]
pub struct AqueryArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// text (one block an action) or json (an array).
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
    /// Only actions of this kind: compile, asm, symabis, pack, link,
    /// preprofile, vet, cover, covdata, test (repeatable).
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// Only actions whose package's import path matches REGEX.
    #[arg(long, value_name = "REGEX")]
    pub package: Option<String>,
}

/// `gobuildr query EXPR`, or `gobuildr query --diff OLD NEW`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query, e.g. 'deps(//cmd/app) - std'.
    #[arg(required_unless_present = "diff", value_name = "EXPR")]
    pub expr: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// What to print: one label a line, JSON objects, a DOT or Mermaid
    /// graph, or a self-contained interactive HTML page.
    #[arg(long, value_parser = ["label", "json", "dot", "mermaid", "html"], default_value = "label")]
    pub output: String,
    /// Write the output to FILE instead of stdout.
    #[arg(short = 'o', value_name = "FILE")]
    pub out_file: Option<PathBuf>,
    /// Compare two --output json snapshots: packages and modules added,
    /// removed or changed, per platform.
    #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "expr")]
    pub diff: Vec<PathBuf>,
    /// Never download: fail if a module is not in gobuildr's cache.
    #[arg(long)]
    pub offline: bool,
    /// Test packages too (go list -test): each package's test variant,
    /// external test and test main, as `kind(test, X)` finds them.
    #[arg(long)]
    pub tests: bool,
}

impl QueryArgs {
    /// The build flags a query shares with build: every package of the
    /// workspace, on these platforms, with these tags.
    pub fn build_args(&self) -> BuildArgs {
        BuildArgs {
            target: self.target.clone(),
            offline: self.offline,
            ..Default::default()
        }
    }
}

/// go test's flags, with go test's meaning (`-run` as well as `--run`).
#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Run only the tests, examples and fuzz seeds matching REGEXP.
    #[arg(long, value_name = "REGEXP")]
    pub run: Option<String>,
    /// Skip the tests matching REGEXP.
    #[arg(long, value_name = "REGEXP")]
    pub skip: Option<String>,
    /// Run each test N times; -count=1 bypasses the test cache, as in go.
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// Tell long-running tests to shorten their run time.
    #[arg(long)]
    pub short: bool,
    /// Verbose: print every test's output and result.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// Fail a test binary that runs longer than D (default 10m).
    #[arg(long, value_name = "D")]
    pub timeout: Option<String>,
    /// Do not start new tests after the first failure.
    #[arg(long)]
    pub failfast: bool,
    /// Print go test -json's events (test2json) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run each test binary as `PROGRAM BINARY ARGS` (e.g. an emulator for
    /// --platform linux/arm64); without it, other platforms' test binaries
    /// are built, not run.
    #[arg(long = "exec", value_name = "PROGRAM")]
    pub exec: Option<PathBuf>,
    /// Run benchmarks matching REGEXP (never cached).
    #[arg(long, value_name = "REGEXP")]
    pub bench: Option<String>,
    /// Run each benchmark for D (as go test -benchtime).
    #[arg(long, value_name = "D")]
    pub benchtime: Option<String>,
    /// Which test output to show: errors (of failing packages; the
    /// default), all (every package's, as with -v), or streamed (as the
    /// binaries print it, one binary at a time).
    #[arg(long, value_parser = ["errors", "all", "streamed"], default_value = "errors")]
    pub test_output: String,
    /// Write a JUnit XML report of every test to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Coverage counting: set, count or atomic (implies --cover).
    #[arg(long, value_parser = ["set", "count", "atomic"], value_name = "MODE")]
    pub covermode: Option<String>,
    /// Instrument the packages matching these comma-separated patterns in
    /// every test binary, in place of each package under test (implies
    /// --cover).
    #[arg(long, value_name = "PATTERNS")]
    pub coverpkg: Option<String>,
    /// Write the coverage profile of every package to FILE, merged
    /// (implies --cover).
    #[arg(long, value_name = "FILE")]
    pub coverprofile: Option<PathBuf>,
    /// go vet's checks before each test binary: off, all, or a
    /// comma-separated list of analysers (default: go test's set).
    #[arg(long, value_name = "LIST")]
    pub vet: Option<String>,
}

/// What is built for: the platforms and build tags (build, test, query).
#[derive(Debug, Default, Clone, Args)]
pub struct TargetArgs {
    /// A target platform, GOOS/GOARCH[/VARIANT] (repeatable; default: the host).
    #[arg(long = "platform", value_name = "PLATFORM")]
    pub platform: Vec<String>,
    /// Target platforms, comma-separated, or named sets: `first-class`, or a
    /// set from gobuildr.toml's [platforms] table.
    #[arg(long = "platforms", value_name = "LIST")]
    pub platforms: Vec<String>,
    /// Build tags, comma-separated (as go build -tags).
    #[arg(long, value_name = "TAGS")]
    pub tags: Vec<String>,
}

#[derive(Debug, Default, Args)]
pub struct BuildArgs {
    /// What to build: //..., //dir/..., //dir, //dir:name, ./..., ./dir (default //...).
    pub labels: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Parallel actions (default: the number of cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Keep building what does not depend on a failed action.
    #[arg(long)]
    pub keep_going: bool,
    /// Output root (default: gobuildr-out at the workspace root).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write a machine-readable summary of the build to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Print only errors and the final line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Never download: fail if a module is not in gobuildr's cache.
    #[arg(long)]
    pub offline: bool,
    /// Print why each executed action ran.
    #[arg(long)]
    pub explain: bool,
    /// Write the build as a Chrome trace (Perfetto, chrome://tracing).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Write an in-toto / SLSA provenance statement for the outputs to FILE.
    #[arg(long, value_name = "FILE")]
    pub provenance: Option<PathBuf>,
    /// Write every action's inputs and outputs to FILE (used by verify).
    #[arg(long, value_name = "FILE", hide = true)]
    pub record: Option<PathBuf>,
    /// Start ready actions and stage inputs in an order shuffled by SEED
    /// (used by verify to vary them).
    #[arg(long, value_name = "SEED", hide = true)]
    pub shuffle: Option<u64>,
    #[command(flatten)]
    pub go: GoBuildArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// A shared cache and build farm over the Remote Execution API; each
/// overrides gobuildr.toml's [remote] table.
#[derive(Debug, Default, Clone, Args)]
pub struct RemoteArgs {
    /// Remote cache, grpc://HOST:PORT or grpcs://HOST:PORT (REAPI v2).
    #[arg(long, value_name = "URL")]
    pub remote_cache: Option<String>,
    /// Remote executor, grpc://HOST:PORT or grpcs://HOST:PORT (REAPI v2);
    /// also the cache unless --remote-cache names another.
    #[arg(long, value_name = "URL")]
    pub remote_executor: Option<String>,
    /// The REAPI instance name.
    #[arg(long, value_name = "NAME")]
    pub remote_instance: Option<String>,
    /// A header sent with every remote call, e.g. a token (repeatable;
    /// never printed).
    #[arg(long, value_name = "NAME=VALUE")]
    pub remote_header: Vec<String>,
    /// Read the remote cache, never write to it (untrusted jobs).
    #[arg(long)]
    pub remote_cache_readonly: bool,
    /// A platform property the executor matches workers by (repeatable;
    /// default OSFamily and ISA of this host).
    #[arg(long, value_name = "NAME=VALUE")]
    pub remote_platform: Vec<String>,
}

/// go build's own flags, with go's meaning. Each adds to (or overrides)
/// gobuildr.toml's [build] table; the caller's GOFLAGS never applies.
#[derive(Debug, Default, Clone, Args)]
pub struct GoBuildArgs {
    /// Linker flags, `[pattern=]flags` as go build -ldflags (repeatable;
    /// for each package the last matching one applies).
    #[arg(long, value_name = "[PATTERN=]FLAGS", allow_hyphen_values = true)]
    pub ldflags: Vec<String>,
    /// Compiler flags, `[pattern=]flags` as go build -gcflags (repeatable).
    #[arg(long, value_name = "[PATTERN=]FLAGS", allow_hyphen_values = true)]
    pub gcflags: Vec<String>,
    /// Assembler flags, `[pattern=]flags` as go build -asmflags (repeatable).
    #[arg(long, value_name = "[PATTERN=]FLAGS", allow_hyphen_values = true)]
    pub asmflags: Vec<String>,
    /// Write the binary to FILE, or every binary into DIR/ (as go build -o).
    #[arg(short = 'o', long = "output", value_name = "FILE|DIR/")]
    pub output: Option<PathBuf>,
    /// Build mode: default, exe or pie (modes that need cgo are refused).
    #[arg(long, value_name = "MODE")]
    pub buildmode: Option<String>,
    /// Profile-guided optimisation: auto (a main package's default.pgo),
    /// off, or a profile FILE for every binary (default: auto, as go).
    #[arg(long, value_name = "auto|off|FILE")]
    pub pgo: Option<String>,
    /// Stamp version-control information: auto, true or false (default:
    /// auto, as go).
    #[arg(long, value_name = "auto|true|false")]
    pub buildvcs: Option<String>,
    /// GOEXPERIMENT for the build (comma-separated, as the variable).
    #[arg(long, value_name = "LIST")]
    pub goexperiment: Option<String>,
    /// Accepted for go build compatibility: gobuildr always trims paths.
    #[arg(long)]
    pub trimpath: bool,
    /// Refused: -race needs cgo, which gobuildr does not build.
    #[arg(long, hide = true)]
    pub race: bool,
    /// Refused: -msan needs cgo.
    #[arg(long, hide = true)]
    pub msan: bool,
    /// Refused: -asan needs cgo.
    #[arg(long, hide = true)]
    pub asan: bool,
    /// gobuildr test: measure the coverage of the packages under test
    /// (refused by build).
    #[arg(long)]
    pub cover: bool,
    /// Refused: -linkshared needs shared libraries built with cgo.
    #[arg(long, hide = true)]
    pub linkshared: bool,
}

/// go build's single-dash long flags (`-ldflags`, `-o`, `-trimpath`) are
/// rewritten to gobuildr's double-dash ones, so a release script's flags can
/// be pasted as they are.
pub fn go_style(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const VALUED: [&str; 19] = [
        "exec",
        "coverpkg",
        "covermode",
        "coverprofile",
        "vet",
        "bench",
        "benchtime",
        "run",
        "skip",
        "count",
        "timeout",
        "ldflags",
        "gcflags",
        "asmflags",
        "buildmode",
        "pgo",
        "buildvcs",
        "goexperiment",
        "tags",
    ];
    const SWITCHES: [&str; 9] = [
        "json",
        "trimpath",
        "race",
        "msan",
        "asan",
        "cover",
        "linkshared",
        "short",
        "failfast",
    ];
    let mut out = Vec::new();
    // A flag's value (`--gcflags -race`) and anything after `--` stay as typed.
    let mut verbatim = false;
    let mut after_dashes = false;
    for a in args {
        let name = a.trim_start_matches('-');
        let bare = name.split('=').next().unwrap_or("");
        let is_go_flag = a.starts_with('-') && (VALUED.contains(&bare) || SWITCHES.contains(&bare));
        let rewrite = is_go_flag && !verbatim && !after_dashes && !a.starts_with("--");
        let next_verbatim =
            is_go_flag && !verbatim && VALUED.contains(&bare) && !name.contains('=');
        after_dashes |= a == "--" && !verbatim;
        verbatim = next_verbatim;
        out.push(if rewrite { format!("-{a}") } else { a });
    }
    out
}

#[derive(Debug, Default, Args)]
pub struct FetchArgs {
    /// Print what was fetched, from where, with hashes, as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only check what is already in gobuildr's module cache.
    #[arg(long)]
    pub offline: bool,
    /// Check every line of every go.sum in the workspace against the
    /// checksum database (not only what the build needs) and report each:
    /// verified, mismatch, exempt, not-in-database. Exit 1 on a mismatch.
    #[arg(long)]
    pub audit: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// How many builds to compare (run 0 is the baseline).
    #[arg(long, default_value_t = 2)]
    pub runs: usize,
    /// What to vary: all, or a list of path, sandbox, env, jobs, order.
    #[arg(long, value_name = "LIST")]
    pub vary: Vec<String>,
    /// Write a manifest of every output to FILE.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Compare the outputs with a manifest written elsewhere.
    #[arg(long, value_name = "FILE")]
    pub against: Option<PathBuf>,
    /// Repeat the build with toolchains of the same version built for these
    /// hosts (GOOS/GOARCH, comma-separated): they must give the same bytes.
    #[arg(long, value_name = "LIST")]
    pub hosts: Vec<String>,
    /// Where the toolchain for a host is (HOST=GOROOT), instead of fetching
    /// golang.org/toolchain@v0.0.1-go<version>.<os>-<arch>.
    #[arg(long, value_name = "HOST=DIR")]
    pub host_goroot: Vec<String>,
}
