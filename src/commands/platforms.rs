//! `gobuildr platforms`: what the toolchain can target, and the sets.

use crate::cache::Cache;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::rules::rules;
use crate::toolchain::Toolchain;
use crate::workspace::config::Config;
use crate::workspace::Workspace;

/// of each architecture, and the named sets.
/// `gobuildr platforms`: what this toolchain can target, with the variants
/// of each architecture, and the named sets.
pub fn list_platforms(settings: &Settings) -> Result<(), Failure> {
    let cache = Cache::open(&settings.cache_dir)?;
    let toolchain = Toolchain::locate(settings.go.as_deref(), &cache, "PATH")?;
    let r = rules();
    println!(
        "{} ({}/{}) can target:",
        toolchain.version, toolchain.host_os, toolchain.host_arch
    );
    for t in toolchain.targets(cache.root())? {
        let arch = t.rsplit('/').next().unwrap_or("");
        let class = if r.platforms.first_class.contains(&t) {
            "first-class"
        } else {
            ""
        };
        let mut line = format!("  {t:<18} {class:<11}");
        if let Some(v) = r.platforms.variants.get(arch) {
            let values: Vec<String> = v
                .values
                .iter()
                .map(|x| {
                    if arch == "arm" {
                        format!("v{x}")
                    } else {
                        x.clone()
                    }
                })
                .collect();
            line.push_str(&format!(
                "  variants ({}, default {}): {}",
                v.var,
                v.default,
                values.join(" ")
            ));
        }
        println!("{}", line.trim_end());
    }
    println!(
        "sets:\n  first-class = {}",
        r.platforms.first_class.join(", ")
    );
    // Named sets of the workspace, when run inside one.
    if let Ok(ws) = Workspace::find(&settings.start_dir) {
        for (name, set) in Config::load(&ws.root)?.platforms {
            println!("  {name} = {} (gobuildr.toml)", set.join(", "));
        }
    }
    Ok(())
}
