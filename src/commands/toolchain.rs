//! `gobuildr toolchain`: which Go builds the workspace.

use crate::cache::Cache;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::pipeline::locate_toolchain;
use crate::workspace::config::Config;
use crate::workspace::Workspace;

/// from, and its identity digest.
/// `gobuildr toolchain`: which Go builds this workspace, where it came
/// from, and its identity digest.
pub fn show_toolchain(settings: &Settings) -> Result<(), Failure> {
    let ws = Workspace::find(&settings.start_dir)?;
    let config = Config::load(&ws.root)?;
    let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
    let t = locate_toolchain(settings, &ws, &config, &cache)?;
    println!("version:  {}", t.version);
    println!("go:       {}", t.go.display());
    println!("GOROOT:   {}", t.goroot.display());
    println!("host:     {}/{}", t.host_os, t.host_arch);
    println!("origin:   {}", t.origin);
    println!("identity: {}", t.id);
    let _ = cache.stats().save();
    Ok(())
}
