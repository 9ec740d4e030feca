//! Pinned toolchains: `toolchain go1.X.Y` in go.mod, or `[toolchain] go =
//! "1.X.Y"` in gobuildr.toml, selects a Go toolchain that gobuildr fetches
//! as the module `golang.org/toolchain@v0.0.1-go1.X.Y.<goos>-<goarch>`
//! through the configured proxies (the same client and GOPROXY semantics
//! as modules), checks against its recorded `h1:` hash
//! (gobuildr.toml's `sum`, or a go.sum line), and unpacks into its cache.
//!
//! Invariant: an unpacked toolchain directory is used only if it carries
//! the marker written after its zip was verified; nothing unverified is
//! ever executed.

use crate::cache::Bucket;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::fetch::{h1, Found, ModuleSources};
use crate::sumdb::Database;
use crate::workspace::GoSum;

use super::ToolchainError;

/// What the workspace asks for.
#[derive(Debug, Clone)]
pub struct Pin {
    /// `1.26.8`.
    pub version: String,
    /// The recorded hash of the toolchain zip, if any.
    pub sum: Option<String>,
    /// Where the pin came from, for reports.
    pub by: String,
    /// The host the toolchain is built for (GOOS, GOARCH): this machine's,
    /// or another one's for `verify --hosts`.
    pub host: (String, String),
}

/// Go's name for the host, as in toolchain module versions.
pub fn host() -> (String, String) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    (std::env::consts::OS.to_string(), arch.to_string())
}

impl Pin {
    pub fn module_version(&self) -> String {
        let (os, arch) = &self.host;
        format!("v0.0.1-go{}.{os}-{arch}", self.version)
    }
}

pub const MODULE: &str = "golang.org/toolchain";

/// A toolchain fetched and verified: where its `go` is, and where it came from.
pub struct Fetched {
    pub go: PathBuf,
    pub origin: String,
}

fn err(pin: &Pin, msg: impl Into<String>) -> ToolchainError {
    ToolchainError::Pin {
        version: pin.version.clone(),
        msg: msg.into(),
    }
}

/// The toolchain zip's hash: the recorded one (gobuildr.toml, else go.sum)
/// and the checksum database's, which must agree; either alone will do.
fn expected_sum(
    pin: &Pin,
    sums: &GoSum,
    sources: &ModuleSources,
    db: Option<&Database>,
) -> Result<String, ToolchainError> {
    let version = pin.module_version();
    let recorded = pin
        .sum
        .clone()
        .or_else(|| sums.get(MODULE, &version).map(str::to_string));
    let proved = match db.filter(|_| !sources.is_nosumdb(MODULE)) {
        Some(db) => {
            db.lookup(MODULE, &version)
                .map_err(|e| ToolchainError::Database {
                    version: pin.version.clone(),
                    source: Box::new(e),
                })?
                .zip
        }
        None => None,
    };
    match (recorded, proved) {
        (Some(r), Some(p)) if r != p => Err(err(
            pin,
            format!("the checksum recorded for {MODULE}@{version} by {} disagrees with the checksum database:\n  recorded: {r}\n  database: {p}\nthe toolchain was refused", pin.by),
        )),
        (Some(h), _) | (None, Some(h)) => Ok(h),
        (None, None) => Err(err(
            pin,
            format!("no recorded checksum for {MODULE}@{version} and GOSUMDB is off; add `sum = \"h1:...\"` to [toolchain] in gobuildr.toml (or its go.sum line)"),
        )),
    }
}

/// Returns the pinned toolchain's `go`, fetching and verifying it first if
/// it is not in `cache_root` yet.
pub fn ensure(
    pin: &Pin,
    sums: &GoSum,
    sources: &ModuleSources,
    db: Option<&Database>,
    offline: bool,
    cache_root: &Path,
) -> Result<Fetched, ToolchainError> {
    let version = pin.module_version();
    let want = expected_sum(pin, sums, sources, db)?;
    let dir = Bucket::Toolchains.under(cache_root).join(&version);
    let marker = dir.join(".gobuildr-verified");
    let origin = |from: &str| {
        format!(
            "{MODULE}@{version} from {from} ({want}, pinned by {})",
            pin.by
        )
    };
    if std::fs::read_to_string(&marker)
        .map(|m| m == want)
        .unwrap_or(false)
    {
        return Ok(Fetched {
            go: dir.join("bin/go"),
            origin: origin("cache"),
        });
    }
    if offline {
        return Err(err(pin, format!("{MODULE}@{version} is not in gobuildr's cache and --offline forbids downloading it")));
    }
    let found = sources
        .get(MODULE, &format!("{version}.zip"), &|_| {})
        .map_err(|e| err(pin, format!("cannot fetch {MODULE}@{version}: {e}")))?;
    let Found::Bytes { data, from } = found else {
        return Err(err(
            pin,
            format!("{MODULE}@{version} is fetched only from a module proxy, not `direct`"),
        ));
    };
    let got = h1::of_zip(&data).map_err(|e| {
        err(
            pin,
            format!("corrupt zip {MODULE}@{version} from {from} ({e}); the toolchain was refused"),
        )
    })?;
    if got != want {
        return Err(err(
            pin,
            format!("checksum mismatch for {MODULE}@{version} from {from}:\n  recorded:   {want}\n  downloaded: {got}\nthe toolchain was refused"),
        ));
    }
    unpack(&data, &format!("{MODULE}@{version}/"), &dir)
        .map_err(|e| err(pin, format!("unpacking into {}: {e}", dir.display())))?;
    std::fs::write(&marker, &want).map_err(|e| err(pin, e.to_string()))?;
    Ok(Fetched {
        go: dir.join("bin/go"),
        origin: origin(&from),
    })
}

/// Unpacks a toolchain zip into `dir` (through a temp dir renamed into
/// place). Zip entries carry no modes: the tools get their execute bits.
fn unpack(data: &[u8], prefix: &str, dir: &Path) -> std::io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::tempdir_in(parent)?;
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(std::io::Error::other)?;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).map_err(std::io::Error::other)?;
        let Some(rel) = f.name().strip_prefix(prefix).map(str::to_string) else {
            continue;
        };
        if f.is_dir() || rel.is_empty() || rel.split('/').any(|c| c == "..") {
            continue;
        }
        let dest = tmp.path().join(&rel);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)?;
        }
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        std::fs::write(&dest, &buf)?;
        let exec = rel.starts_with("bin/")
            || (rel.starts_with("pkg/tool/") && rel.matches('/').count() == 3);
        if exec {
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::rename(tmp.keep(), dir)
}
