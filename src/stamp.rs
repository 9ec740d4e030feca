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
    table
        .iter()
        .map(|(var, template)| resolve_one(var, template, &mut known, root))
        .collect()
}

/// Resolves one stamp, with the values in `known` and adding to them.
fn resolve_one(
    var: &str,
    template: &str,
    known: &mut BTreeMap<String, String>,
    root: &Path,
) -> Result<Stamp, StampError> {
    let mut value = template.to_string();
    let mut volatile = Vec::new();
    for placeholder in placeholders(template) {
        let resolved = match known.get(placeholder) {
            Some(v) => v.clone(),
            None => resolve_placeholder(var, placeholder, root)?,
        };
        if VOLATILE.contains(&placeholder) && !volatile.contains(&placeholder.to_string()) {
            volatile.push(placeholder.to_string());
        }
        known.insert(placeholder.to_string(), resolved.clone());
        value = value.replace(placeholder, &resolved);
    }
    Ok(Stamp {
        var: var.to_string(),
        value,
        volatile,
    })
}

/// The `{...}` placeholders of a template, in order, repeats included.
fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push(&rest[start..start + len + 1]);
        rest = &rest[start + len + 1..];
    }
    out
}

/// A placeholder's value now: the build time, or what git says.
fn resolve_placeholder(var: &str, placeholder: &str, root: &Path) -> Result<String, StampError> {
    let args: &[&str] = match placeholder {
        "{GIT_COMMIT}" => &["rev-parse", "HEAD"],
        "{GIT_COMMIT_TIME}" => &[
            "log",
            "-1",
            "--format=%cd",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        ],
        "{VERSION}" => &["describe", "--tags", "--abbrev=0"],
        "{BUILD_TIMESTAMP}" => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            return Ok(crate::vcs::rfc3339(now));
        }
        _ => {
            return Err(StampError::Unknown {
                var: var.to_string(),
                placeholder: placeholder.to_string(),
            })
        }
    };
    crate::vcs::git(root, args).map_err(|msg| StampError::Git {
        var: var.to_string(),
        placeholder: placeholder.to_string(),
        args: args.join(" "),
        msg,
    })
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

    #[test]
    fn placeholders_in_order() {
        assert_eq!(
            super::placeholders("{VERSION}-{GIT_COMMIT}+{VERSION}{unclosed"),
            ["{VERSION}", "{GIT_COMMIT}", "{VERSION}"]
        );
        assert!(super::placeholders("plain } text").is_empty());
    }

    #[test]
    fn build_timestamp_is_volatile_and_shared() {
        let t = [
            ("main.a".to_string(), "at {BUILD_TIMESTAMP}".to_string()),
            (
                "main.b".to_string(),
                "{BUILD_TIMESTAMP}/{BUILD_TIMESTAMP}".to_string(),
            ),
            ("main.c".to_string(), "fixed".to_string()),
        ]
        .into_iter()
        .collect();
        let s = super::resolve(&t, std::path::Path::new(".")).unwrap();
        let time = s[0].value.strip_prefix("at ").unwrap();
        assert_eq!(s[1].value, format!("{time}/{time}"));
        assert_eq!(s[0].volatile, ["{BUILD_TIMESTAMP}"]);
        assert_eq!(s[1].volatile, ["{BUILD_TIMESTAMP}"]);
        assert_eq!((s[2].value.as_str(), s[2].volatile.len()), ("fixed", 0));
    }
}
