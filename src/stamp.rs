//! Link-time stamps: `[stamp]` in gobuildr.toml maps `-X` variables to
//! values with placeholders. Stable ones (`{GIT_COMMIT}`,
//! `{GIT_COMMIT_TIME}`, `{VERSION}` from the nearest tag) are the same for
//! every build of one commit; the volatile `{BUILD_TIMESTAMP}` is not, so a
//! binary stamped with it can never be reproduced (verify names it).
//! Values are resolved once per build and enter link keys through argv.

use std::collections::BTreeMap;
use std::path::Path;
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
                None if args.is_empty() => crate::vcs::rfc3339(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0),
                ),
                None => crate::vcs::git(root, args).map_err(|msg| StampError::Git {
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
    fn unknown_placeholder() {
        let t = [("main.x".to_string(), "{NOPE}".to_string())]
            .into_iter()
            .collect();
        assert!(super::resolve(&t, std::path::Path::new(".")).is_err());
    }
}
