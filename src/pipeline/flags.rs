//! go build's flags for the request, and the version-control stamp.

use std::path::Path;

use crate::cli::Settings;
use crate::failure::Failure;
use crate::goflags::{BuildFlags, Layer, Pgo};
use crate::workspace::config::Config;
use crate::workspace::gomod::GoMod;
use crate::workspace::Workspace;

/// go build's flags: gobuildr.toml's [build] table, then the command line.
pub fn build_flags(
    settings: &Settings,
    config: &Config,
    root: &Path,
) -> Result<BuildFlags, Failure> {
    let b = &config.build;
    let g = &settings.go_flags;
    let table = Layer {
        origin: "gobuildr.toml [build]",
        dir: root,
        tags: &b.tags,
        gcflags: b.gcflags.occurrences(),
        asmflags: b.asmflags.occurrences(),
        ldflags: b.ldflags.occurrences(),
        buildmode: b.buildmode.as_deref(),
        pgo: b.pgo.as_deref(),
        buildvcs: b.buildvcs.as_deref(),
        goexperiment: b.goexperiment.as_deref(),
    };
    let command_line = Layer {
        origin: "the command line",
        dir: &settings.start_dir,
        tags: &settings.tags,
        gcflags: &g.gcflags,
        asmflags: &g.asmflags,
        ldflags: &g.ldflags,
        buildmode: g.buildmode.as_deref(),
        pgo: g.pgo.as_deref(),
        buildvcs: g.buildvcs.as_deref(),
        goexperiment: g.goexperiment.as_deref(),
    };
    let flags =
        BuildFlags::resolve(&[table, command_line]).map_err(|e| Failure::Usage(e.to_string()))?;
    if let Pgo::File(f) = &flags.pgo {
        if !f.is_file() {
            return Err(Failure::Usage(format!(
                "-pgo={}: no such profile file",
                f.display()
            )));
        }
    }
    Ok(flags)
}

/// The version-control stamp, read once (None when go would not stamp).
pub fn vcs_stamp(
    flags: &BuildFlags,
    ws: &Workspace,
    out_root: &Path,
) -> Result<Option<crate::vcs::Stamp>, Failure> {
    // The module at the repository's top names the version (go reads it so).
    let module_path = crate::vcs::repo_of(&ws.root)
        .and_then(|repo| GoMod::load(&repo.join("go.mod")).ok())
        .map(|m| m.module);
    crate::vcs::read(flags.buildvcs, &ws.root, module_path.as_deref(), out_root)
        .map_err(|e| Failure::Environment(e.to_string()))
}
