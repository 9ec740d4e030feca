//! Link-time stamps: `[stamp]` in gobuildr.toml maps `-X` variables to
//! values with placeholders. Stable ones (`{GIT_COMMIT}`,
//! `{GIT_COMMIT_TIME}`, `{VERSION}` from the nearest tag) are the same for
//! every build of one commit; the volatile `{BUILD_TIMESTAMP}` is not, so a
//! binary stamped with it can never be reproduced (verify names it).
//! Values are resolved once per build and enter link keys through argv.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub var: String,
    pub value: String,
    /// The placeholders that make it differ from build to build.
    pub volatile: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("gobuildr.toml [stamp] {var}: unknown placeholder {placeholder} (known: {{GIT_COMMIT}}, {{GIT_COMMIT_TIME}}, {{VERSION}}, {{BUILD_TIMESTAMP}})")]
    Unknown { var: String, placeholder: String },
    #[error("gobuildr.toml [stamp] {var}: {placeholder} needs `git {args}` to succeed in the workspace: {msg}")]
    Git {
        var: String,
        placeholder: String,
        args: String,
        msg: String,
    },
}

pub const VOLATILE: [&str; 1] = ["{BUILD_TIMESTAMP}"];

fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.current_dir(root)
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

/// Resolves every stamp of the table.
pub fn resolve(table: &BTreeMap<String, String>, root: &Path) -> Result<Vec<Stamp>, StampError> {
    // Each placeholder is resolved once per build, so every stamp sees the
    // same value (one timestamp, one git call).
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for (var, template) in table {
        let mut value = template.clone();
        let mut volatile = Vec::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else {
                break;
            };
            let placeholder = &rest[start..start + len + 1];
            rest = &rest[start + len + 1..];
            let args: &[&str] = match placeholder {
                "{GIT_COMMIT}" => &["rev-parse", "HEAD"],
                "{GIT_COMMIT_TIME}" => &[
                    "log",
                    "-1",
                    "--format=%cd",
                    "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
                ],
                "{VERSION}" => &["describe", "--tags", "--abbrev=0"],
                "{BUILD_TIMESTAMP}" => &[],
                _ => {
                    return Err(StampError::Unknown {
                        var: var.clone(),
                        placeholder: placeholder.to_string(),
                    })
                }
            };
            let resolved = match known.get(placeholder) {
                Some(v) => v.clone(),
                None if args.is_empty() => rfc3339(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                ),
                None => git(root, args).map_err(|msg| StampError::Git {
                    var: var.clone(),
                    placeholder: placeholder.to_string(),
                    args: args.join(" "),
                    msg,
                })?,
            };
            if VOLATILE.contains(&placeholder) && !volatile.contains(&placeholder.to_string()) {
                volatile.push(placeholder.to_string());
            }
            known.insert(placeholder.to_string(), resolved.clone());
            value = value.replace(placeholder, &resolved);
        }
        out.push(Stamp {
            var: var.clone(),
            value,
            volatile,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn unknown_placeholder() {
        let t = [("main.x".to_string(), "{NOPE}".to_string())]
            .into_iter()
            .collect();
        assert!(super::resolve(&t, std::path::Path::new(".")).is_err());
    }
}
