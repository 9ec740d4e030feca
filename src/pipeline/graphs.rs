//! Package graphs on demand, for `gobuildr query`: the workspace, flags and
//! toolchain resolved once, then one discovery per (platform, tags) the
//! query asks for.

use std::path::Path;

use super::{discover_platforms, flags, locate_toolchain, select, Selection};
use crate::cache::Cache;
use crate::cli::Settings;
use crate::discover::PackageGraph;
use crate::failure::Failure;
use crate::goflags::BuildFlags;
use crate::rules::Platform;
use crate::toolchain::Toolchain;
use crate::workspace::config::Config;
use crate::workspace::Workspace;

/// Everything discovery needs but the platform and the tags.
pub struct GraphSource<'s> {
    pub(super) settings: &'s Settings,
    pub(super) ws: Workspace,
    pub(super) config: Config,
    pub(super) cache: Cache,
    pub(super) toolchain: Toolchain,
    pub(super) flags: BuildFlags,
    pub(super) sel: Selection,
}

impl<'s> GraphSource<'s> {
    /// Resolves the workspace, its flags, the toolchain and the requested
    /// platforms; nothing is listed yet.
    pub fn open(settings: &'s Settings) -> Result<GraphSource<'s>, Failure> {
        let ws = Workspace::find(&settings.start_dir)?;
        let config = Config::load(&ws.root)?;
        GraphSource::with(settings, ws, config)
    }

    /// The same, for a workspace and configuration already read.
    pub(super) fn with(
        settings: &'s Settings,
        ws: Workspace,
        config: Config,
    ) -> Result<GraphSource<'s>, Failure> {
        let flags = flags::build_flags(settings, &config, &ws.root)?;
        let cache = Cache::open(&settings.cache_dir)?.with_workspace_stats(&ws.root);
        let toolchain = locate_toolchain(settings, &ws, &config, &cache)?;
        let sel = select(settings, &ws, &config, &cache, &toolchain)?;
        Ok(GraphSource {
            settings,
            ws,
            config,
            cache,
            toolchain,
            flags,
            sel,
        })
    }

    pub fn root(&self) -> &Path {
        &self.ws.root
    }

    /// The platforms of the command line (the host when none were given).
    pub fn platforms(&self) -> &[Platform] {
        &self.sel.platforms
    }

    /// The build tags of gobuildr.toml and the command line.
    pub fn tags(&self) -> &[String] {
        &self.flags.tags
    }

    /// The graph of every selected package on `platform` (GOOS/GOARCH, as
    /// `Platform` prints it) built with exactly `tags`.
    pub fn graph(&self, platform: &str, tags: &[String]) -> Result<PackageGraph, Failure> {
        let known = self
            .sel
            .platforms
            .iter()
            .find(|p| p.to_string() == platform);
        let platform = match known {
            Some(p) => p.clone(),
            None => {
                let valid = self.toolchain.targets(self.cache.root())?;
                Platform::parse(platform, &valid).map_err(|e| Failure::Usage(e.to_string()))?
            }
        };
        let sel = Selection {
            labels: self.sel.labels.clone(),
            dirs: self.sel.dirs.clone(),
            platforms: vec![platform],
            tree: self.sel.tree,
        };
        let flags = BuildFlags {
            tags: tags.to_vec(),
            ..self.flags.clone()
        };
        let (s, c) = (self.settings, &self.config);
        let graphs =
            discover_platforms(s, &self.ws, c, &self.cache, &self.toolchain, &flags, &sel)?;
        graphs
            .into_iter()
            .next()
            .ok_or_else(|| Failure::Environment("bug: discovery gave no graph".into()))
    }
}
