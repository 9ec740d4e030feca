//! `gobuildr fetch`: every module the workspace needs, downloaded and
//! verified; `--audit`: go.sum against the checksum database.

use crate::cache::Cache;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::fetch::Fetcher;
use crate::pipeline::{
    fetcher, load_sums, locate_toolchain, required_modules, sum_files, vendored,
};
use crate::workspace::config::Config;
use crate::workspace::Workspace;

/// `gobuildr fetch`: download and verify every module the workspace needs.
pub fn fetch(settings: &Settings, json: bool, audit: bool) -> Result<(), Failure> {
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let toolchain = locate_toolchain(settings, &ws, &config, &cache)?;
    if audit {
        let fetcher = fetcher(settings, &config, &cache, &toolchain, cache.root())?;
        return audit_sums(&ws, &fetcher, json);
    }
    if vendored(&ws) {
        eprintln!("fetch: the workspace builds from vendor/; nothing to fetch");
        return Ok(());
    }
    let fetched = fetcher(settings, &config, &cache, &toolchain, cache.root())?
        .fetch_all(&required_modules(&ws), &load_sums(&ws))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&fetched)
                .map_err(|e| Failure::Environment(e.to_string()))?
        );
    } else {
        for f in &fetched {
            eprintln!(
                "{} {} {} {} (from {})",
                f.module, f.version, f.file, f.h1, f.from
            );
        }
        eprintln!(
            "fetch: {} module files verified against go.sum",
            fetched.len()
        );
    }
    let _ = cache.stats().save();
    Ok(())
}

/// `gobuildr fetch --audit`: every go.sum line against the database.
fn audit_sums(ws: &Workspace, fetcher: &Fetcher, json: bool) -> Result<(), Failure> {
    use crate::fetch::audit::{self, Status};
    let lines = audit::read_lines(&sum_files(ws));
    let exempt = |m: &str| fetcher.sources.is_nosumdb(m);
    let report = audit::audit(&lines, fetcher.sumdb.as_ref(), &exempt)?;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Environment(e.to_string()))?;
        println!("{text}");
    } else {
        for l in &report.lines {
            let db = l.database.as_deref().unwrap_or("-");
            println!(
                "{:<15} {} {} ({}) go.sum {} database {db}",
                l.status.as_str(),
                l.module,
                l.version,
                l.file,
                l.go_sum
            );
        }
    }
    if let Some(head) = report.database.as_ref() {
        eprintln!(
            "audit: {} lines: {} verified, {} mismatch, {} exempt, {} not in database {} (tree {} {})",
            report.lines.len(),
            report.count(Status::Verified),
            report.count(Status::Mismatch),
            report.count(Status::Exempt),
            report.count(Status::NotInDatabase),
            head.name,
            head.tree_size.map(|s| s.to_string()).unwrap_or_default(),
            head.root.as_deref().unwrap_or_default(),
        );
    } else {
        eprintln!("audit: GOSUMDB is off: every line is exempt");
    }
    if report.count(Status::Mismatch) > 0 {
        return Err(Failure::Build(
            "audit: go.sum disagrees with the checksum database (lines marked mismatch)".into(),
        ));
    }
    Ok(())
}
