//! Which Go builds the workspace: a pin, satisfied locally or fetched.

use crate::cache::Cache;
use crate::cli::Settings;
use crate::failure::Failure;
use crate::toolchain::{pin, version_numbers, Toolchain};
use crate::workspace::config::Config;
use crate::workspace::Workspace;

use super::modules::{fetcher_sources, load_sums, open_database};

/// The toolchain to build with: the pinned one (gobuildr.toml's
/// [toolchain], else go.mod's `toolchain` line) if there is a pin that the
/// local `go` does not satisfy exactly, fetched and verified; else the `go`
/// on PATH (or --go).
pub fn locate_toolchain(
    settings: &Settings,
    ws: &Workspace,
    config: &Config,
    cache: &Cache,
) -> Result<Toolchain, Failure> {
    let local_origin = if settings.go.is_some() {
        "--go"
    } else {
        "PATH"
    };
    let Some(pin) = pin_of(ws, config) else {
        return Ok(Toolchain::locate(
            settings.go.as_deref(),
            cache,
            local_origin,
        )?);
    };
    let local = Toolchain::locate(settings.go.as_deref(), cache, local_origin).ok();
    if let Some(local) = &local {
        // gobuildr.toml pins exactly; go.mod's toolchain line is a minimum,
        // as go reads it.
        let exact = local.version == format!("go{}", pin.version);
        if exact
            || (pin.by == "go.mod"
                && version_numbers(&local.version) >= version_numbers(&pin.version))
        {
            return Ok(local.clone());
        }
    }
    // The local go's GOROOT/go.env gives the default sources, as for go.
    let sources = fetcher_sources(config, local.as_ref().map(|t| t.goroot.as_path()))?;
    let db = open_database(settings, config, &sources, cache)?;
    let fetched = pin::ensure(
        &pin,
        &load_sums(ws),
        &sources,
        db.as_ref(),
        settings.offline,
        cache.root(),
    )?;
    Ok(Toolchain::locate(
        Some(&fetched.go),
        cache,
        &fetched.origin,
    )?)
}

/// The pin, if any: gobuildr.toml's [toolchain] wins over go.mod's
/// `toolchain` line.
fn pin_of(ws: &Workspace, config: &Config) -> Option<pin::Pin> {
    let (version, by) = match (
        &config.toolchain.go,
        ws.modules.iter().find_map(|(_, m)| m.toolchain.clone()),
    ) {
        (Some(v), _) => (v.clone(), "gobuildr.toml"),
        (None, Some(t)) => (t, "go.mod"),
        (None, None) => return None,
    };
    Some(pin::Pin {
        version: version.trim_start_matches("go").to_string(),
        sum: config.toolchain.sum.clone(),
        by: by.into(),
        host: pin::host(),
    })
}
