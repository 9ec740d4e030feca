//! `verify --hosts`: the build repeated with toolchains of the baseline's
//! version built for other hosts, which must give the same bytes.

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::cli::args::VerifyArgs;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::workspace::Workspace;

use super::could_not;
use super::{first_divergence, report, run_one, RunResult, RunSpec};

/// What every run on another host shares.
pub struct HostRuns<'a> {
    pub settings: &'a Settings,
    pub args: &'a VerifyArgs,
    pub spec: &'a RunSpec<'a>,
    pub base: &'a RunResult,
    pub ws: &'a Workspace,
    pub cache: &'a Cache,
}

fn machine_host() -> String {
    let (os, arch) = crate::toolchain::pin::host();
    format!("{os}/{arch}")
}

impl HostRuns<'_> {
    /// Builds on every --hosts entry but this machine; the problems found.
    pub fn check(&self) -> Result<Vec<String>, Failure> {
        let hosts: Vec<&str> = self
            .args
            .hosts
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let mut problems = Vec::new();
        for (i, host) in hosts.into_iter().enumerate() {
            if host == machine_host() {
                continue;
            }
            let run = self.run(i, host)?;
            match first_divergence(&self.base.record, &run.record) {
                Some(d) => {
                    problems.extend(report::host_divergence(host, &d));
                    problems.extend(report::binaries(self.base, &run));
                }
                None => eprintln!("verify: host {host} built the same bytes"),
            }
        }
        Ok(problems)
    }

    /// One run on a toolchain of the baseline's version built for another
    /// host.
    fn run(&self, index: usize, host: &str) -> Result<RunResult, Failure> {
        let (os, arch) = host
            .split_once('/')
            .ok_or_else(|| Failure::Usage(format!("--hosts: {host:?} is not GOOS/GOARCH")))?;
        let go = self.go(host, os, arch)?;
        let global = self.global_flags(host, arch, &go)?;
        let build = self.build_flags();
        let host_spec = RunSpec {
            global: &global,
            build: &build,
            ..*self.spec
        };
        run_one(&host_spec, 200 + index, &[]).map_err(could_not)
    }

    /// The host's `go`: from --host-goroot, else fetched like a pinned
    /// toolchain.
    fn go(&self, host: &str, os: &str, arch: &str) -> Result<PathBuf, Failure> {
        let local = self.args.host_goroot.iter().find_map(|h| {
            h.split_once('=')
                .filter(|(k, _)| *k == host)
                .map(|(_, d)| PathBuf::from(d))
        });
        match local {
            Some(dir) => Ok(dir.join("bin/go")),
            None => self.fetch_go(host, os, arch),
        }
    }

    fn fetch_go(&self, host: &str, os: &str, arch: &str) -> Result<PathBuf, Failure> {
        let version = self
            .base
            .summary
            .toolchain
            .trim_start_matches("go")
            .to_string();
        let config = crate::workspace::config::Config::load(&self.ws.root)?;
        let pin = crate::toolchain::pin::Pin {
            version,
            sum: None,
            by: format!("verify --hosts {host}"),
            host: (os.to_string(), arch.to_string()),
        };
        let sources = crate::pipeline::fetcher_sources(&config, None)?;
        let db = crate::pipeline::open_database(self.settings, &config, &sources, self.cache)?;
        Ok(crate::toolchain::pin::ensure(
            &pin,
            &crate::pipeline::load_sums(self.ws),
            &sources,
            db.as_ref(),
            self.settings.offline,
            self.cache.root(),
        )?
        .go)
    }

    /// The global flags of the run: its `go`, an emulator for its tools if
    /// needed, and the user's --rules.
    fn global_flags(&self, host: &str, arch: &str, go: &Path) -> Result<Vec<String>, Failure> {
        let mut global = vec!["--go".to_string(), go.display().to_string()];
        if let Some(qemu) = emulator(host, arch)? {
            global.extend(["--tool-wrapper".to_string(), qemu.display().to_string()]);
        }
        let forward = &self.settings.forward_global;
        if let Some(r) = forward.iter().position(|g| g == "--rules") {
            global.extend(forward[r..r + 2].iter().cloned());
        }
        Ok(global)
    }

    /// The build flags of the run: the user's, and the baseline's platforms
    /// unless the user named some.
    fn build_flags(&self) -> Vec<String> {
        let mut build = self.spec.build.to_vec();
        if !build
            .iter()
            .any(|b| b == "--platform" || b == "--platforms")
        {
            // The baseline built for its own host: so must this run.
            for p in &self.base.summary.platforms {
                build.extend(["--platform".to_string(), p.to_string()]);
            }
        }
        build
    }
}

/// The qemu user-mode emulator a toolchain for another architecture runs
/// through (None when this machine runs it natively).
fn emulator(host: &str, arch: &str) -> Result<Option<PathBuf>, Failure> {
    let (_, machine_arch) = crate::toolchain::pin::host();
    if arch == machine_arch || (arch == "386" && machine_arch == "amd64") {
        return Ok(None);
    }
    let qemu = format!(
        "qemu-{}-static",
        if arch == "arm64" { "aarch64" } else { arch }
    );
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(&qemu))
                .find(|p| p.is_file())
        })
        .map(Some)
        .ok_or_else(|| {
            could_not(format!(
                "host {host} needs {qemu} on PATH (Debian: qemu-user-static)"
            ))
        })
}
