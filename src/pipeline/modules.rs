//! The modules a workspace needs: go.sum, the required set after
//! replacements, where modules come from, and discovery that fetches as it
//! goes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::cli::Settings;
use crate::discover::{self, PackageGraph};
use crate::failure::Failure;
use crate::fetch::{Fetcher, ModuleSources};
use crate::toolchain::Toolchain;
use crate::workspace::config::Config;
use crate::workspace::{GoSum, RootKind, Workspace};

/// Every go.sum of the workspace (see [`sum_files`]), parsed.
pub fn load_sums(ws: &Workspace) -> GoSum {
    GoSum::load(&sum_files(ws))
}

/// The go.sum of every module in the workspace, and go.work.sum.
pub fn sum_files(ws: &Workspace) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ws
        .modules
        .iter()
        .map(|(d, _)| ws.root.join(d).join("go.sum"))
        .collect();
    files.push(ws.root.join("go.work.sum"));
    files
}

/// Whether the workspace builds from vendor/ (go's default when a
/// single module has vendor/modules.txt).
pub fn vendored(ws: &Workspace) -> bool {
    ws.kind == RootKind::Module && ws.root.join("vendor/modules.txt").is_file()
}

/// The modules whose zips the workspace needs: every require of every
/// workspace module, after replacements (local-directory replacements and
/// the workspace's own modules need nothing).
pub fn required_modules(ws: &Workspace) -> Vec<(String, String)> {
    let own: BTreeSet<&str> = ws.modules.iter().map(|(_, m)| m.module.as_str()).collect();
    let mut out = BTreeSet::new();
    for (_, m) in &ws.modules {
        for (path, version) in &m.requires {
            if own.contains(path.as_str()) {
                continue;
            }
            // go.work's replacements win over the module's own.
            let replaced = ws
                .work_replaces
                .iter()
                .chain(&m.replaces)
                .find(|(old, old_v, _, _)| old == path && (old_v.is_empty() || old_v == version));
            match replaced {
                Some((_, _, _, new_v)) if new_v.is_empty() => {}
                Some((_, _, new, new_v)) => {
                    out.insert((new.clone(), new_v.clone()));
                }
                None => {
                    out.insert((path.clone(), version.clone()));
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Where modules come from: gobuildr.toml's `[modules]`, else the go
/// command's own settings (environment, `go env -w`, `goroot`'s go.env).
pub fn fetcher_sources(
    config: &Config,
    goroot: Option<&Path>,
) -> Result<ModuleSources, crate::fetch::FetchError> {
    let env = crate::goenv::GoEnv::resolve(goroot, &config.modules.overrides());
    ModuleSources::new(env, config.modules.allow_direct)
        .map_err(|e| crate::fetch::FetchError::Sources(Box::new(e.into())))
}

/// The run's checksum database (None when GOSUMDB is off).
pub fn open_database(
    settings: &Settings,
    config: &Config,
    sources: &ModuleSources,
    cache: &Cache,
) -> Result<Option<crate::sumdb::Database>, Failure> {
    crate::fetch::database::open(
        sources,
        cache.root(),
        settings.offline,
        config.sumdb.pin.as_deref(),
    )
    .map_err(|e| Failure::Usage(e.to_string()))
}

pub fn fetcher<'a>(
    settings: &Settings,
    config: &Config,
    cache: &Cache,
    toolchain: &'a Toolchain,
    scratch: &'a Path,
) -> Result<Fetcher<'a>, Failure> {
    let sources = fetcher_sources(config, Some(&toolchain.goroot))?;
    let sumdb = open_database(settings, config, &sources, cache)?;
    Ok(Fetcher {
        modcache: cache.dir(crate::cache::Bucket::Modcache),
        sources,
        sumdb,
        offline: settings.offline,
        quiet: settings.quiet,
        go: &toolchain.go,
        scratch,
    })
}

/// Runs `go list` for every platform at once.
pub fn discover_all(req: &[discover::Request]) -> Result<Vec<PackageGraph>, Failure> {
    std::thread::scope(|s| {
        let handles: Vec<_> = req
            .iter()
            .map(|r| s.spawn(move || discover::discover(r)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| Failure::Environment("bug: discovery thread panicked".into()))?
                    .map_err(Failure::from)
            })
            .collect()
    })
}

/// Discovery that fetches as it goes: the go.mod files first (the module
/// graph), then, round by round, the zips of the modules go list found it
/// needs, until it needs none it lacks. Only what the build reads is
/// downloaded, and each file is verified before go list sees it.
pub fn discover_fetching(
    requests: &[discover::Request],
    fetcher: &Fetcher,
    ws: &Workspace,
) -> Result<Vec<PackageGraph>, Failure> {
    let sums = load_sums(ws);
    let requires = required_modules(ws);
    fetcher.fetch_go_mods(&requires, &sums)?;
    let mut fetched: BTreeSet<(String, String)> = BTreeSet::new();
    loop {
        let graphs = discover_all(requests)?;
        let missing: Vec<(String, String)> = discover::missing_modules(&graphs, &requires)
            .into_iter()
            .filter(|m| !fetched.contains(m))
            .collect();
        // Nothing new to fetch: what go list still reports is an error.
        if missing.is_empty() {
            return Ok(graphs);
        }
        fetcher.fetch_zips(&missing, &sums)?;
        fetched.extend(missing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::gomod::GoMod;

    fn module(dir: &str, text: &str) -> (PathBuf, GoMod) {
        let gm = GoMod::parse(Path::new(dir).join("go.mod").as_path(), text).unwrap();
        (PathBuf::from(dir), gm)
    }

    fn workspace(modules: Vec<(PathBuf, GoMod)>, work_replaces: &str) -> Workspace {
        let work = module("w", &format!("module w\n{work_replaces}"));
        Workspace {
            root: PathBuf::from("/ws"),
            kind: RootKind::Work,
            modules,
            work_replaces: work.1.replaces,
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn requires_are_merged_sorted_and_deduplicated() {
        let ws = workspace(
            vec![
                module(
                    "a",
                    "module ex.com/a\nrequire (\n  ex.com/z v1.0.0\n  ex.com/y v1.2.0\n)\n",
                ),
                module("b", "module ex.com/b\nrequire ex.com/y v1.2.0\n"),
            ],
            "",
        );
        let want = pairs(&[("ex.com/y", "v1.2.0"), ("ex.com/z", "v1.0.0")]);
        assert_eq!(required_modules(&ws), want);
    }

    #[test]
    fn workspace_modules_and_directory_replacements_need_nothing() {
        let ws = workspace(
            vec![
                module("a", "module ex.com/a\nrequire (\n  ex.com/b v0.0.0\n  ex.com/local v1.0.0\n)\nreplace ex.com/local => ../local\n"),
                module("b", "module ex.com/b\n"),
            ],
            "",
        );
        assert!(required_modules(&ws).is_empty());
    }

    #[test]
    fn replacements_by_version_and_go_work_first() {
        let ws = workspace(
            vec![module(
                "a",
                "module ex.com/a\nrequire (\n  ex.com/x v1.0.0\n  ex.com/v v1.1.0\n)\nreplace ex.com/x => ex.com/fork v1.5.0\nreplace ex.com/v v1.0.0 => ex.com/other v2.0.0\n",
            )],
            "replace ex.com/x => ex.com/workfork v1.6.0\n",
        );
        // go.work's replacement wins; a versioned replace of another
        // version does not apply.
        let want = pairs(&[("ex.com/v", "v1.1.0"), ("ex.com/workfork", "v1.6.0")]);
        assert_eq!(required_modules(&ws), want);
    }
}
