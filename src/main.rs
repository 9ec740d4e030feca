//! Parse, run, map the outcome to an exit code. Nothing else.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use clap::Parser;
use gobuildr::cli::{args, Settings};
use gobuildr::failure::Failure;

fn run() -> Result<(), Failure> {
    let cli = args::Cli::parse_from(args::go_style(std::env::args()));
    if let Some(w) = &cli.tool_wrapper {
        gobuildr::toolenv::use_wrapper(w.clone());
    }
    if let Some(dir) = &cli.rules {
        gobuildr::rules::use_rules_from(dir).map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupt))
        .map_err(|e| Failure::Environment(format!("installing the Ctrl-C handler: {e}")))?;
    dispatch(&cli, &interrupt)
}

/// The subcommand, with its settings.
fn dispatch(cli: &args::Cli, interrupt: &Arc<AtomicBool>) -> Result<(), Failure> {
    match &cli.command {
        args::Command::Build(b) => {
            let settings = Settings::resolve(cli, b)?;
            gobuildr::commands::build::build(&settings, interrupt)
        }
        args::Command::Aquery(a) => {
            let settings = Settings::resolve(cli, &a.build)?;
            gobuildr::commands::aquery::aquery(&settings, a)
        }
        args::Command::Explain(b) => {
            let settings = Settings::resolve(cli, b)?;
            gobuildr::commands::explain::explain(&settings)
        }
        args::Command::Fetch(f) => {
            let build = args::BuildArgs {
                offline: f.offline,
                ..Default::default()
            };
            let settings = Settings::resolve(cli, &build)?;
            gobuildr::commands::fetch::fetch(&settings, f.json, f.audit)
        }
        args::Command::Toolchain(f) => {
            let build = args::BuildArgs {
                offline: f.offline,
                ..Default::default()
            };
            gobuildr::commands::toolchain::show_toolchain(&Settings::resolve(cli, &build)?)
        }
        args::Command::Verify(v) => {
            let settings = Settings::resolve(cli, &v.build)?;
            gobuildr::commands::verify::verify(&settings, v)
        }
        args::Command::Test(t) => {
            let mut settings = Settings::resolve_test(cli, t)?;
            // go test prints no build progress; failures still show.
            settings.quiet = true;
            gobuildr::commands::test::test(&settings, interrupt)
        }
        args::Command::Query(q) => {
            let mut settings = Settings::resolve(cli, &q.build_args())?;
            // Discovery lists test packages when a test is requested.
            settings.test = q.tests.then(gobuildr::plan::TestOptions::default);
            gobuildr::commands::query::query(&settings, q)
        }
        args::Command::Platforms => {
            let settings = Settings::resolve(cli, &args::BuildArgs::default())?;
            gobuildr::commands::platforms::list_platforms(&settings)
        }
    }
}

fn main() {
    // Output piped into `head` ends like any Unix tool's: quietly, at the
    // first write after the reader left (Rust ignores SIGPIPE, and print!
    // would panic). Sockets are unaffected: the standard library sends
    // with MSG_NOSIGNAL.
    // SAFETY: restoring a signal's default disposition before any thread
    // or handler exists.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    if let Err(e) = run() {
        eprintln!("gobuildr: {e}");
        std::process::exit(e.exit_code());
    }
}
