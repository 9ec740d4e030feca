//! Labels: how users name packages.
//!
//! Accepted forms (all relative to the workspace root): `//...`,
//! `//dir/...`, `//dir`, `//dir:name`, and Go-style `./...`, `./dir`,
//! `dir`, `dir/...`. A label prints back exactly as the user wrote it; the
//! canonical form of a package is `//dir:name` (`//:name` at the root).

use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("invalid label {label:?}: {why}")]
    Invalid { label: String, why: &'static str },
    #[error("label {label} matches no package in the workspace{suggest}")]
    NoMatch { label: String, suggest: String },
    #[error("label {label} names binary {want:?}, but the package there builds {have:?}")]
    WrongName {
        label: String,
        want: String,
        have: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Every package at or below a directory ("" is the root).
    Below(String),
    /// The package in one directory, optionally with its binary name.
    Package { dir: String, name: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    raw: String,
    pub pattern: Pattern,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Resolves `dir` against `base` (both relative to the workspace root).
fn clean_dir(label: &str, base: &str, dir: &str) -> Result<String, LabelError> {
    let dir = dir.trim_end_matches('/');
    let invalid = |why| LabelError::Invalid {
        label: label.to_string(),
        why,
    };
    if dir.starts_with('/') {
        return Err(invalid(
            "absolute paths are not labels; use //dir relative to the workspace root",
        ));
    }
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in dir.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.pop().is_some() => {}
            ".." => return Err(invalid("labels cannot leave the workspace (..)")),
            p if p.contains("...") => {
                return Err(invalid("... is only allowed as the last element"))
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

impl Label {
    /// Parses a label. `//` labels are relative to the workspace root;
    /// Go-style ones (`./dir`, `dir/...`, `..`) to `cwd`, the current
    /// directory relative to the root.
    pub fn parse(raw: &str, cwd: &str) -> Result<Label, LabelError> {
        let (body, base) = if let Some(rest) = raw.strip_prefix("//") {
            (rest, "")
        } else if raw == "." {
            ("", cwd)
        } else {
            (raw.strip_prefix("./").unwrap_or(raw), cwd)
        };
        if body.is_empty() && raw.is_empty() {
            return Err(LabelError::Invalid {
                label: raw.to_string(),
                why: "empty label",
            });
        }
        let pattern = if body == "..." {
            Pattern::Below(clean_dir(raw, base, "")?)
        } else if let Some(dir) = body.strip_suffix("/...") {
            Pattern::Below(clean_dir(raw, base, dir)?)
        } else {
            let (dir, name) = match body.split_once(':') {
                Some((d, n)) if !n.is_empty() && !n.contains('/') => (d, Some(n.to_string())),
                Some(_) => {
                    return Err(LabelError::Invalid {
                        label: raw.to_string(),
                        why: "the name after ':' must be a plain binary name",
                    })
                }
                None => (body, None),
            };
            Pattern::Package {
                dir: clean_dir(raw, base, dir)?,
                name,
            }
        };
        Ok(Label {
            raw: raw.to_string(),
            pattern,
        })
    }

    /// Whether the user named one package (not a wildcard).
    pub fn is_explicit(&self) -> bool {
        matches!(self.pattern, Pattern::Package { .. })
    }

    /// The package directories (relative to the root) this label selects out
    /// of `dirs`, or an error that suggests the closest ones.
    pub fn select<'a>(&self, dirs: &'a BTreeSet<String>) -> Result<Vec<&'a String>, LabelError> {
        let found: Vec<&String> = match &self.pattern {
            Pattern::Below(base) => dirs
                .iter()
                .filter(|d| base.is_empty() || *d == base || d.starts_with(&format!("{base}/")))
                .collect(),
            Pattern::Package { dir, .. } => dirs.iter().filter(|d| *d == dir).collect(),
        };
        if found.is_empty() {
            let wanted = match &self.pattern {
                Pattern::Below(d) | Pattern::Package { dir: d, .. } => d.as_str(),
            };
            return Err(LabelError::NoMatch {
                label: self.raw.clone(),
                suggest: suggestions(wanted, dirs),
            });
        }
        Ok(found)
    }

    /// Checks a `:name` suffix against the binary name of the package found.
    pub fn check_name(&self, have: &str) -> Result<(), LabelError> {
        match &self.pattern {
            Pattern::Package {
                name: Some(want), ..
            } if want != have => Err(LabelError::WrongName {
                label: self.raw.clone(),
                want: want.clone(),
                have: have.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

/// The canonical label of the package in `dir` whose binary is `name`.
pub fn canonical(dir: &str, name: &str) -> String {
    format!("//{dir}:{name}")
}

fn suggestions(wanted: &str, dirs: &BTreeSet<String>) -> String {
    let close: Vec<String> = crate::suggest::closest(wanted, dirs.iter().map(String::as_str), 3)
        .into_iter()
        .map(|d| format!("//{d}"))
        .collect();
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            Label::parse("//...", "").unwrap().pattern,
            Pattern::Below(String::new())
        );
        assert_eq!(
            Label::parse("./...", "").unwrap().pattern,
            Pattern::Below(String::new())
        );
        assert_eq!(
            Label::parse("//pkg/...", "").unwrap().pattern,
            Pattern::Below("pkg".into())
        );
        assert_eq!(
            Label::parse("//cmd/x:x", "").unwrap().pattern,
            Pattern::Package {
                dir: "cmd/x".into(),
                name: Some("x".into())
            }
        );
        assert_eq!(
            Label::parse("./cmd/x", "").unwrap().pattern,
            Label::parse("cmd/x", "").unwrap().pattern
        );
        assert!(Label::parse("//../x", "").is_err());
        assert_eq!(
            Label::parse("//cmd/x:x", "").unwrap().to_string(),
            "//cmd/x:x"
        );
        // Go-style labels are relative to the current directory.
        assert_eq!(
            Label::parse("./...", "cmd").unwrap().pattern,
            Pattern::Below("cmd".into())
        );
        assert_eq!(
            Label::parse("../pkg", "cmd").unwrap().pattern,
            Pattern::Package {
                dir: "pkg".into(),
                name: None
            }
        );
        assert!(Label::parse("../..", "cmd").is_err());
    }

    #[test]
    fn suggests_close_dirs() {
        let dirs: BTreeSet<String> = ["cmd/server", "cmd/client", "internal/greet"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let err = Label::parse("//cmd/sever", "")
            .unwrap()
            .select(&dirs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("//cmd/server"), "{err}");
    }
}
