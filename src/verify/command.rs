//! The `gobuildr verify` command: runs, comparison, localisation, report,
//! manifest, provenance. Exit code: 0 reproducible, 1 not reproducible,
//! 2 could not verify.

use std::path::Path;

use crate::cache::Cache;
use crate::cli::args::VerifyArgs;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::workspace::tree::Tree;
use crate::workspace::Workspace;

use super::{
    binary, first_divergence, run_one, volatile_cause, Divergence, RunResult, RunSpec, Variation,
};
use crate::attest::manifest::{self, Manifest, ManifestOutput};
use crate::attest::provenance;

fn could_not(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(format!("could not verify: {e}"))
}

/// The outputs of a run as manifest entries (paths relative to the
/// workspace, as `gobuildr build` publishes them).
fn manifest_outputs(run: &RunResult) -> Vec<ManifestOutput> {
    run.summary["outputs"]
        .as_array()
        .map(|outs| {
            outs.iter()
                .filter_map(|o| {
                    let full = Path::new(o["path"].as_str()?);
                    let rel = full.components().rev().take(3).collect::<Vec<_>>();
                    let rel: std::path::PathBuf = rel.into_iter().rev().collect();
                    Some(ManifestOutput {
                        label: o["label"].as_str()?.to_string(),
                        platform: o["platform"].as_str()?.to_string(),
                        path: Path::new("gobuildr-out")
                            .join(rel)
                            .to_string_lossy()
                            .to_string(),
                        sha256: o["sha256"].as_str()?.to_string(),
                        blake3: o["blake3"].as_str()?.to_string(),
                        size: std::fs::metadata(full).map(|m| m.len()).unwrap_or(0),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn report(
    d: &Divergence,
    run: &RunResult,
    base: &RunResult,
    culprit: Option<String>,
) -> Vec<String> {
    let a = &d.action;
    let mut out = vec![format!(
        "first divergence: {} {} ({})",
        a.kind, a.package, a.platform
    )];
    let vol = volatile_cause(d, &base.record);
    if !vol.is_empty() {
        out.push(format!(
            "  the binary depends on a volatile stamp: {}",
            vol.join(", ")
        ));
    } else if d.inputs_identical {
        match &culprit {
            Some(c) if !c.starts_with("none") => out.push(format!(
                "  inputs identical, outputs differ under the {c} variation: the outputs depend on something that is not an input (an absolute path, the environment)"
            )),
            _ => out.push("  inputs identical, outputs differ: the action itself is nondeterministic".into()),
        }
        out.push(format!("  argv: {}", a.argv.join(" ")));
    } else {
        out.push("  its inputs differ:".into());
        for (at, origin, x, y) in &d.inputs {
            out.push(format!(
                "    {at} ({origin}): {} vs {}",
                &x[..x.len().min(12)],
                &y[..y.len().min(12)]
            ));
        }
        if !d.argv.0.is_empty() || !d.argv.1.is_empty() {
            out.push(format!(
                "    argv: -[{}] +[{}]",
                d.argv.0.join(" "),
                d.argv.1.join(" ")
            ));
        }
    }
    match culprit {
        Some(c) => out.push(format!("  caused by the variation: {c}")),
        None if vol.is_empty() => {
            out.push(format!("  seen under: {}", super::names(&run.variations)))
        }
        None => {}
    }
    for (name, x) in &a.outputs {
        if let Some((_, y)) = d.other.outputs.iter().find(|(n, _)| n == name) {
            if x != y {
                out.push(format!(
                    "  output {name}: {} vs {}",
                    &x[..12.min(x.len())],
                    &y[..12.min(y.len())]
                ));
            }
        }
    }
    out
}

/// Binaries that differ between two runs, decoded.
fn binary_report(base: &RunResult, other: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for a in base.record.actions.iter().filter(|a| a.target.is_some()) {
        let Some(b) = other
            .record
            .actions
            .iter()
            .find(|b| b.identity == a.identity)
        else {
            continue;
        };
        if a.outputs == b.outputs {
            continue;
        }
        let (Some((label, pa)), Some((_, pb))) = (&a.target, &b.target) else {
            continue;
        };
        let (Ok(x), Ok(y)) = (std::fs::read(pa), std::fs::read(pb)) else {
            continue;
        };
        out.push(format!("binary {label} ({}) differs:", a.platform));
        out.extend(
            binary::describe(&x, &y)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
    }
    out
}

fn machine_host() -> String {
    let (os, arch) = crate::toolchain::pin::host();
    format!("{os}/{arch}")
}

/// One run on a toolchain of the baseline's version built for another
/// host: from --host-goroot, else fetched like a pinned toolchain. An arm64
/// toolchain on another machine runs through qemu-aarch64-static.
fn host_run(
    settings: &Settings,
    args: &VerifyArgs,
    spec: &RunSpec,
    base: &RunResult,
    (index, host): (usize, &str),
    ws: &Workspace,
    cache: &Cache,
) -> Result<RunResult, Failure> {
    let (os, arch) = host
        .split_once('/')
        .ok_or_else(|| Failure::Usage(format!("--hosts: {host:?} is not GOOS/GOARCH")))?;
    let version = base.summary["toolchain"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("go")
        .to_string();
    let local = args.host_goroot.iter().find_map(|h| {
        h.split_once('=')
            .filter(|(k, _)| *k == host)
            .map(|(_, d)| std::path::PathBuf::from(d))
    });
    let go = match local {
        Some(dir) => dir.join("bin/go"),
        None => {
            let config = crate::workspace::config::Config::load(&ws.root)?;
            let pin = crate::toolchain::pin::Pin {
                version,
                sum: None,
                by: format!("verify --hosts {host}"),
                host: (os.to_string(), arch.to_string()),
            };
            let sources = crate::build::fetcher_sources(&config, None)?;
            let db = crate::build::open_database(settings, &config, &sources, cache)?;
            crate::toolchain::pin::ensure(
                &pin,
                &crate::build::load_sums(ws),
                &sources,
                db.as_ref(),
                settings.offline,
                cache.root(),
            )?
            .go
        }
    };
    let mut global = vec!["--go".to_string(), go.display().to_string()];
    let (_, machine_arch) = crate::toolchain::pin::host();
    let emulated = arch != machine_arch && !(arch == "386" && machine_arch == "amd64");
    if emulated {
        let qemu = format!(
            "qemu-{}-static",
            if arch == "arm64" { "aarch64" } else { arch }
        );
        let path = std::env::var_os("PATH")
            .and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(&qemu))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                could_not(format!(
                    "host {host} needs {qemu} on PATH (Debian: qemu-user-static)"
                ))
            })?;
        global.extend(["--tool-wrapper".to_string(), path.display().to_string()]);
    }
    if let Some(r) = settings.forward_global.iter().position(|g| g == "--rules") {
        global.extend(settings.forward_global[r..r + 2].iter().cloned());
    }
    let mut build = spec.build.to_vec();
    if !build
        .iter()
        .any(|b| b == "--platform" || b == "--platforms")
    {
        // The baseline built for its own host: so must this run.
        for p in base.summary["platforms"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str())
        {
            build.extend(["--platform".to_string(), p.to_string()]);
        }
    }
    let host_spec = RunSpec {
        global: &global,
        build: &build,
        ..*spec
    };
    run_one(&host_spec, 200 + index, &[]).map_err(could_not)
}

pub fn verify(settings: &Settings, args: &VerifyArgs) -> Result<(), Failure> {
    let started = crate::vcs::rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    );
    let variations = Variation::parse_list(&args.vary).map_err(Failure::Usage)?;
    if args.runs < 2 {
        return Err(Failure::Usage("--runs must be at least 2".into()));
    }
    let ws = Workspace::find(&settings.start_dir)?;
    let subdir = ws.subdir(&settings.start_dir);
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let scratch = tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(cache.tmp_dir())
        .map_err(could_not)?;
    let exe = std::env::current_exe().map_err(could_not)?;
    let spec = RunSpec {
        exe: &exe,
        workspace: &ws.root,
        subdir: &subdir,
        global: &settings.forward_global,
        build: &settings.forward_build,
        scratch: scratch.path(),
        main_cache: cache.root(),
    };
    let runs: Vec<RunResult> = (0..args.runs)
        .map(|i| run_one(&spec, i, if i == 0 { &[] } else { &variations }))
        .collect::<Result<_, _>>()
        .map_err(could_not)?;
    let base = &runs[0];
    let mut problems: Vec<String> = Vec::new();
    for run in &runs[1..] {
        let Some(d) = first_divergence(&base.record, &run.record) else {
            continue;
        };
        // Name the cause. A volatile stamp explains itself. Otherwise a
        // control run under the baseline's own conditions tells a
        // nondeterministic action (it diverges again) from one that depends
        // on a condition; then single-variation runs name the condition.
        let mut culprit = None;
        let reproduces = |r: &RunResult| {
            first_divergence(&base.record, &r.record)
                .map(|s| s.action.identity == d.action.identity)
                .unwrap_or(false)
        };
        if volatile_cause(&d, &base.record).is_empty() {
            let control = run_one(&spec, 99, &[]).map_err(could_not)?;
            if reproduces(&control) {
                culprit = Some(
                    "none: it differs between two runs under identical conditions".to_string(),
                );
            } else if run.variations.len() == 1 {
                culprit = Some(run.variations[0].to_string());
            } else {
                for (k, v) in run.variations.iter().enumerate() {
                    if reproduces(&run_one(&spec, 100 + k, &[*v]).map_err(could_not)?) {
                        culprit = Some(v.to_string());
                        break;
                    }
                }
            }
        }
        problems.extend(report(&d, run, base, culprit));
        problems.extend(binary_report(base, run));
    }
    let hosts: Vec<&str> = args
        .hosts
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    for (i, host) in hosts.into_iter().enumerate() {
        if host == machine_host() {
            continue;
        }
        let run = host_run(settings, args, &spec, base, (i, host), &ws, &cache)?;
        if let Some(d) = first_divergence(&base.record, &run.record) {
            let a = &d.action;
            problems.push(format!(
                "first divergence when built on host {host}: {} {} ({})",
                a.kind, a.package, a.platform
            ));
            for (name, x) in &a.outputs {
                if let Some((_, y)) = d
                    .other
                    .outputs
                    .iter()
                    .find(|(n, _)| n == name)
                    .filter(|(_, y)| y != x)
                {
                    problems.push(format!(
                        "  output {name}: {} vs {}",
                        &x[..12.min(x.len())],
                        &y[..12.min(y.len())]
                    ));
                }
            }
            problems.extend(binary_report(base, &run));
        } else {
            eprintln!("verify: host {host} built the same bytes");
        }
    }
    let outputs = manifest_outputs(base);
    let toolchain_id = base.summary["toolchain_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let tree = Tree::walk(&ws.root, &ws.module_dirs(), &ws.local_replacements());
    let this = Manifest {
        format: manifest::MANIFEST_VERSION.into(),
        gobuildr: env!("CARGO_PKG_VERSION").into(),
        toolchain: base.summary["toolchain"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        toolchain_id: toolchain_id.clone(),
        sources: manifest::sources_digest(&ws.root, &tree, cache.stats()).map_err(could_not)?,
        outputs: outputs.clone(),
    };
    if let Some(path) = &args.manifest {
        let data = serde_json::to_vec_pretty(&this).map_err(could_not)?;
        crate::fsutil::write_atomic(path, &data)?;
    }
    if let Some(path) = &args.against {
        let theirs: Manifest = std::fs::read(path).map_err(could_not).and_then(|d| {
            serde_json::from_slice(&d).map_err(|e| could_not(format!("{}: {e}", path.display())))
        })?;
        for (output, what) in manifest::compare(&this, &theirs) {
            problems.push(format!("{output} differs from {}: {what}", path.display()));
        }
    }
    if let Some(path) = &settings.provenance {
        let finished = crate::vcs::rfc3339(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        );
        let external = serde_json::json!({"targets": settings.labels.raw(), "platforms": base.summary["platforms"], "tags": settings.tags, "vary": super::names(&variations), "runs": args.runs});
        let statement = provenance::statement(
            &outputs,
            external,
            &provenance::dependencies(
                &ws,
                base.summary["toolchain"].as_str().unwrap_or_default(),
                base.summary["toolchain_host"].as_str().unwrap_or_default(),
                &toolchain_id,
            ),
            &started,
            &finished,
        );
        crate::fsutil::write_atomic(
            path,
            &serde_json::to_vec_pretty(&statement).map_err(could_not)?,
        )?;
    }
    let _ = cache.stats().save();
    if problems.is_empty() {
        eprintln!(
            "reproducible: {} outputs bit-identical across {} runs (varied: {})",
            outputs.len(),
            args.runs,
            super::names(&variations)
        );
        Ok(())
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Err(Failure::Build("not reproducible".into()))
    }
}
