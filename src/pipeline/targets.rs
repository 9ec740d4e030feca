//! What a request selects (directories, packages, platforms) and where
//! each binary goes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli::Settings;
use crate::discover::PackageGraph;
use crate::failure::Failure;
use crate::plan::{self, Plan, Root};
use crate::rules::{rules, Platform};
use crate::toolchain::Toolchain;
use crate::workspace::config::Config;
use crate::workspace::label::{self, Label};
use crate::workspace::tree::Tree;
use crate::workspace::Workspace;

/// The directories the labels select, each with whether it was named
/// explicitly.
pub fn select_dirs(
    tree: &Tree,
    labels: &[Label],
    tests: bool,
) -> Result<BTreeMap<String, bool>, Failure> {
    let all = tree.package_dirs(tests);
    let mut selected: BTreeMap<String, bool> = BTreeMap::new();
    for l in labels {
        for d in l.select(&all)? {
            let e = selected.entry(d.clone()).or_insert(false);
            *e |= l.is_explicit();
        }
    }
    Ok(selected)
}

/// The selected packages of one platform's graph, checked against the
/// labels' `:name` parts.
pub fn roots(
    ws: &Workspace,
    graph: &PackageGraph,
    selected: &BTreeMap<String, bool>,
    labels: &[Label],
) -> Result<Vec<Root>, Failure> {
    let mut roots = Vec::new();
    for p in graph.packages.values().filter(|p| !p.dep_only) {
        let Some(dir) = ws.rel(&p.dir) else { continue };
        let Some(&explicit) = selected.get(&dir) else {
            continue;
        };
        for l in labels {
            if let label::Pattern::Package { dir: ldir, .. } = &l.pattern {
                if *ldir == dir && p.error.is_none() {
                    l.check_name(&p.binary_name())?;
                }
            }
        }
        roots.push(Root {
            import_path: p.import_path.clone(),
            dir,
            explicit,
        });
    }
    Ok(roots)
}

/// The platforms to build for: set names expanded (gobuildr.toml's
/// [platforms] first, then the built-in `first-class`), each checked against
/// what the toolchain can target; the host when none are given.
pub fn resolve_platforms(
    specs: &[String],
    config: &Config,
    toolchain: &Toolchain,
    scratch: &Path,
) -> Result<Vec<Platform>, Failure> {
    if specs.is_empty() {
        return Ok(vec![Platform::new(
            &toolchain.host_os,
            &toolchain.host_arch,
            None,
        )]);
    }
    let valid = toolchain.targets(scratch)?;
    let mut out: Vec<Platform> = Vec::new();
    for spec in specs {
        let expanded = if let Some(set) = config.platforms.get(spec) {
            set.clone()
        } else if spec == "first-class" {
            rules().platforms.first_class.clone()
        } else if !spec.contains('/') {
            let mut sets: Vec<&str> = config.platforms.keys().map(String::as_str).collect();
            sets.push("first-class");
            return Err(Failure::Usage(format!(
                "unknown platform set {spec:?} (known sets: {}; a platform is GOOS/GOARCH[/VARIANT])",
                sets.join(", ")
            )));
        } else {
            vec![spec.clone()]
        };
        if expanded.is_empty() {
            return Err(Failure::Usage(format!(
                "platform set {spec:?} in gobuildr.toml is empty"
            )));
        }
        for e in expanded {
            let p = Platform::parse(&e, &valid).map_err(|e| Failure::Usage(e.to_string()))?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// The output root: -o DIR, --out, else gobuildr-out at the root.
pub fn out_root(settings: &Settings, root: &Path) -> PathBuf {
    match (&settings.output, &settings.out) {
        (Some(crate::cli::Output::Dir(d)), _) => d.clone(),
        (_, Some(o)) => o.clone(),
        _ => root.join("gobuildr-out"),
    }
}

/// Where each target's binary goes: `-o FILE` (exactly one binary), or
/// the output root; two binaries never share a path.
pub fn destinations(
    settings: &Settings,
    plan: &Plan,
    out_root: &Path,
) -> Result<Vec<PathBuf>, Failure> {
    let dests: Vec<PathBuf> = match &settings.output {
        Some(crate::cli::Output::File(f)) => {
            if plan.targets.len() != 1 {
                return Err(Failure::Usage(format!(
                    "-o {}: the request builds {} binaries, and -o FILE takes exactly one (use -o DIR/ for several)",
                    f.display(),
                    plan.targets.len()
                )));
            }
            vec![f.clone()]
        }
        Some(crate::cli::Output::Dir(d)) => plan
            .targets
            .iter()
            .map(|t| d.join(t.out_rel.rsplit('/').next().unwrap_or("a.out")))
            .collect(),
        None => plan
            .targets
            .iter()
            .map(|t| out_root.join(&t.out_rel))
            .collect(),
    };
    let mut seen: BTreeMap<&PathBuf, &plan::Target> = BTreeMap::new();
    for (t, d) in plan.targets.iter().zip(&dests) {
        if let Some(other) = seen.insert(d, t) {
            return Err(Failure::Usage(format!(
                "{} for {} and {} for {} would both be written to {}; build them separately or rename one",
                other.label,
                other.platform,
                t.label,
                t.platform,
                d.display()
            )));
        }
    }
    Ok(dests)
}

pub fn display_path(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .to_string()
}
