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
    /// Download and verify every module the workspace needs.
    Fetch(FetchArgs),
    /// Rebuild under varied conditions and prove the outputs bit-identical.
    Verify(VerifyArgs),
    /// List the platforms this toolchain can target, and the named sets.
    Platforms,
    /// Show which Go toolchain builds this workspace and where it came from.
    Toolchain(FetchArgs),
}

#[derive(Debug, Default, Args)]
pub struct BuildArgs {
    /// What to build: //..., //dir/..., //dir, //dir:name, ./..., ./dir (default //...).
    pub labels: Vec<String>,
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
