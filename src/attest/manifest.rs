//! Manifests: every output of a build, with digests, the toolchain, the
//! sources (docs/manifest.md).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::{kind, KeyEncoder, StatCache};
use crate::report::OutputSummary;
use crate::workspace::tree::Tree;

pub const MANIFEST_VERSION: &str = "gobuildr.manifest/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestOutput {
    pub label: String,
    pub platform: String,
    /// Relative to the workspace root, as `gobuildr build` publishes it.
    pub path: String,
    pub sha256: String,
    pub blake3: String,
    pub size: u64,
}

impl ManifestOutput {
    /// A published output, named by `path` (as the manifest states it) and
    /// measured at `file`.
    pub fn of(o: &OutputSummary, path: &Path, file: &Path) -> ManifestOutput {
        ManifestOutput {
            label: o.label.clone(),
            platform: o.platform.clone(),
            path: path.to_string_lossy().to_string(),
            sha256: o.sha256.clone(),
            blake3: o.blake3.clone(),
            size: std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub gobuildr: String,
    pub toolchain: String,
    pub toolchain_id: String,
    /// blake3 over every workspace file (relative path and content).
    pub sources: String,
    pub outputs: Vec<ManifestOutput>,
}

/// The digest of the workspace's sources: relative paths and contents, so
/// the same tree at another path has the same digest.
pub fn sources_digest(root: &Path, tree: &Tree, stats: &StatCache) -> std::io::Result<String> {
    let mut e = KeyEncoder::<kind::File>::new("sources");
    for rel in &tree.files {
        e.str("file", rel)
            .digest("content", &stats.digest(&root.join(rel))?);
    }
    Ok(e.finish().to_hex())
}

/// Outputs that differ between this build and a manifest from elsewhere:
/// (label platform, what differs).
pub fn compare(ours: &Manifest, theirs: &Manifest) -> Vec<(String, String)> {
    let key = |o: &ManifestOutput| format!("{} {}", o.label, o.platform);
    let mine: BTreeMap<String, &ManifestOutput> =
        ours.outputs.iter().map(|o| (key(o), o)).collect();
    let other: BTreeMap<String, &ManifestOutput> =
        theirs.outputs.iter().map(|o| (key(o), o)).collect();
    let mut out = Vec::new();
    for (k, o) in &mine {
        match other.get(k) {
            None => out.push((k.clone(), "not in the other manifest".to_string())),
            Some(t) if t.sha256 != o.sha256 => out.push((
                k.clone(),
                format!("sha256 {} here, {} there", o.sha256, t.sha256),
            )),
            Some(_) => {}
        }
    }
    for k in other.keys().filter(|k| !mine.contains_key(*k)) {
        out.push((k.clone(), "only in the other manifest".to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(label: &str, sha256: &str) -> ManifestOutput {
        ManifestOutput {
            label: label.into(),
            platform: "linux/amd64".into(),
            path: format!("gobuildr-out/linux_amd64/{label}"),
            sha256: sha256.into(),
            blake3: "b".into(),
            size: 1,
        }
    }

    fn manifest(outputs: Vec<ManifestOutput>) -> Manifest {
        Manifest {
            format: MANIFEST_VERSION.into(),
            gobuildr: "0".into(),
            toolchain: "go1.26.8".into(),
            toolchain_id: "t".into(),
            sources: "s".into(),
            outputs,
        }
    }

    #[test]
    fn compare_names_changed_missing_and_extra_outputs() {
        let ours = manifest(vec![output("//a", "1"), output("//b", "2")]);
        let theirs = manifest(vec![output("//a", "9"), output("//c", "3")]);
        assert_eq!(
            compare(&ours, &theirs),
            vec![
                (
                    "//a linux/amd64".to_string(),
                    "sha256 1 here, 9 there".to_string()
                ),
                (
                    "//b linux/amd64".to_string(),
                    "not in the other manifest".to_string()
                ),
                (
                    "//c linux/amd64".to_string(),
                    "only in the other manifest".to_string()
                ),
            ]
        );
        assert!(compare(&ours, &ours.clone()).is_empty());
    }
}
