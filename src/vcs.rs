//! Version-control stamping (`-buildvcs`), for git, as go build does it:
//! `vcs=git`, `vcs.revision`, `vcs.time`, `vcs.modified` in the build info
//! of a main package whose module is a main module inside the repository,
//! and the main module's version from the repository (a tag on the commit,
//! else a pseudo-version after the newest tag below it; `+dirty` when
//! modified).
//!
//! Git is asked once per build, outside any sandbox, with a fixed
//! environment; its answers enter the link keys through the build info.
//! Deliberately left out of "modified": gobuildr's own output directory,
//! which would otherwise make every second build differ from the first.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::goflags::BuildVcs;

#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    #[error("error obtaining VCS status: {0}\n\tUse --buildvcs=false to disable VCS stamping.")]
    Status(String),
}

/// What git says about the repository the workspace is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stamp {
    /// The repository's top directory.
    pub repo: PathBuf,
    /// Full commit hash (empty in a repository without commits).
    pub revision: String,
    /// Commit time, RFC 3339 in UTC (empty without commits).
    pub time: String,
    pub modified: bool,
    /// The main module's version at this commit, when it can be told.
    pub version: Option<String>,
}

/// Runs git in `dir` with a fixed environment: stdout, or stderr as error.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "UTC")
        .env("LC_ALL", "C");
    let out = crate::process::output(&mut cmd).map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// [`rfc3339`] of a moment (the epoch for one before it).
pub fn rfc3339_at(t: std::time::SystemTime) -> String {
    rfc3339(
        t.duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (UTC).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The nearest directory at or above `dir` holding `.git`.
pub fn repo_of(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Whether git can be run at all.
fn git_available() -> bool {
    ["/usr/bin/git", "/bin/git"]
        .iter()
        .any(|p| Path::new(p).exists())
}

/// The stamp for a build started in `root`, or None when go would not
/// stamp (false; no repository; auto without git). `module_path` is the
/// module at the repository's top, for the version; `out_root` is left out
/// of the modified check.
pub fn read(
    mode: BuildVcs,
    root: &Path,
    module_path: Option<&str>,
    out_root: &Path,
) -> Result<Option<Stamp>, VcsError> {
    if mode == BuildVcs::False {
        return Ok(None);
    }
    let Some(repo) = repo_of(root) else {
        return Ok(None);
    };
    if mode == BuildVcs::Auto && !git_available() {
        return Ok(None);
    }
    let mut status = vec!["status", "--porcelain"];
    let exclude = out_root
        .strip_prefix(&repo)
        .ok()
        .map(|rel| format!(":(exclude){}", rel.display()));
    if let Some(x) = &exclude {
        status.extend(["--", x.as_str()]);
    }
    let modified = !git(&repo, &status).map_err(VcsError::Status)?.is_empty();
    let log = git(
        &repo,
        &[
            "-c",
            "log.showsignature=false",
            "log",
            "-1",
            "--format=%H:%ct",
        ],
    );
    let (revision, secs) = match log {
        Ok(out) => parse_rev_time(&out)?,
        // An empty repository: status works, log does not.
        Err(_) if modified => (String::new(), None),
        Err(e) => return Err(VcsError::Status(e)),
    };
    let time = secs.map(rfc3339).unwrap_or_default();
    let version = match (module_path, secs) {
        (Some(m), Some(secs)) if !revision.is_empty() => {
            version_at(&repo, m, &revision, secs).map(|v| dirty(v, modified))
        }
        _ => None,
    };
    Ok(Some(Stamp {
        repo,
        revision,
        time,
        modified,
        version,
    }))
}

fn parse_rev_time(out: &str) -> Result<(String, Option<u64>), VcsError> {
    let bad = || VcsError::Status(format!("unrecognized git log output {out:?}"));
    let (rev, t) = out.trim().split_once(':').ok_or_else(bad)?;
    let secs: u64 = t.parse().map_err(|_| bad())?;
    Ok((rev.to_string(), Some(secs)))
}

fn dirty(v: String, modified: bool) -> String {
    match (modified, v.ends_with("+incompatible")) {
        (false, _) => v,
        (true, true) => format!("{v}.dirty"),
        (true, false) => format!("{v}+dirty"),
    }
}

/// The major version a module path asks for: `v2` for `.../v2`, else
/// None (v0 or v1).
fn path_major(module_path: &str) -> Option<String> {
    let last = module_path.rsplit('/').next()?;
    let n = last.strip_prefix('v')?;
    (n.parse::<u64>().ok()? >= 2).then(|| last.to_string())
}

/// A canonical semantic version `vX.Y.Z[-pre]` split into numbers and
/// pre-release; None for anything else (build metadata included).
fn semver(tag: &str) -> Option<(u64, u64, u64, String)> {
    let rest = tag.strip_prefix('v')?;
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, p.to_string()),
        None => (rest, String::new()),
    };
    if rest.contains('+') {
        return None;
    }
    let nums: Vec<u64> = core
        .split('.')
        .map(|n| {
            let ok = !n.is_empty() && (n == "0" || !n.starts_with('0'));
            ok.then(|| n.parse().ok()).flatten()
        })
        .collect::<Option<_>>()?;
    match nums[..] {
        [a, b, c] => Some((a, b, c, pre)),
        _ => None,
    }
}

/// Semver precedence, enough for choosing the newest tag.
fn newer(a: &(u64, u64, u64, String), b: &(u64, u64, u64, String)) -> bool {
    let core = |v: &(u64, u64, u64, String)| (v.0, v.1, v.2);
    match core(a).cmp(&core(b)) {
        std::cmp::Ordering::Equal => match (a.3.is_empty(), b.3.is_empty()) {
            (true, false) => true,
            (false, true) | (true, true) => false,
            (false, false) => a.3 > b.3,
        },
        o => o == std::cmp::Ordering::Greater,
    }
}

/// The newest tag of `tags` valid for a module of major `major`.
fn best_tag(tags: &str, major: Option<&str>) -> Option<(String, (u64, u64, u64, String))> {
    tags.lines()
        .map(|t| t.trim().trim_start_matches("refs/tags/"))
        .filter_map(|t| semver(t).map(|v| (t.to_string(), v)))
        .filter(|(_, v)| match major {
            Some(m) => format!("v{}", v.0) == m,
            None => v.0 <= 1,
        })
        .fold(None, |best, cand| match &best {
            Some(b) if !newer(&cand.1, &b.1) => best,
            _ => Some(cand),
        })
}

/// The module's version at `rev`: a tag on it, else a pseudo-version.
fn version_at(repo: &Path, module_path: &str, rev: &str, secs: u64) -> Option<String> {
    let major = path_major(module_path);
    let at = git(repo, &["tag", "--points-at", rev]).ok()?;
    if let Some((tag, _)) = best_tag(&at, major.as_deref()) {
        return Some(tag);
    }
    let merged = git(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "--merged",
            rev,
            "refs/tags",
        ],
    )
    .ok()?;
    let base = best_tag(&merged, major.as_deref());
    let time = rfc3339(secs)
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let short: String = rev.chars().take(12).collect();
    Some(match base {
        None => format!("{}.0.0-{time}-{short}", major.as_deref().unwrap_or("v0")),
        Some((tag, (_, _, _, pre))) if !pre.is_empty() => format!("{tag}.0.{time}-{short}"),
        Some((_, (a, b, c, _))) => format!("v{a}.{b}.{}-0.{time}-{short}", c + 1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn versions() {
        assert_eq!(semver("v1.2.3"), Some((1, 2, 3, String::new())));
        assert_eq!(semver("v1.2.3-rc.1"), Some((1, 2, 3, "rc.1".into())));
        assert_eq!(semver("v1.02.3"), None);
        assert_eq!(semver("1.2.3"), None);
        assert_eq!(path_major("example.com/m/v3").as_deref(), Some("v3"));
        assert_eq!(path_major("example.com/m"), None);
        let tags = "v1.2.3\nv1.10.0\nv2.0.0\nv1.10.0-rc.1\nnot-a-tag\n";
        assert_eq!(best_tag(tags, None).unwrap().0, "v1.10.0");
        assert_eq!(best_tag(tags, Some("v2")).unwrap().0, "v2.0.0");
        assert_eq!(dirty("v1.0.0".into(), true), "v1.0.0+dirty");
        assert_eq!(
            dirty("v2.0.0+incompatible".into(), true),
            "v2.0.0+incompatible.dirty"
        );
    }
}
