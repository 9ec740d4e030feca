//! SLSA provenance: an in-toto Statement v1 with a SLSA provenance v1
//! predicate (docs/provenance.md), for `build --provenance` and `verify
//! --provenance`.

use std::collections::BTreeMap;

use crate::workspace::GoSum;

use super::manifest::ManifestOutput;

pub const BUILD_TYPE: &str =
    "https://github.com/gobuildr/gobuildr/blob/main/docs/provenance.md#gobuildr-build-v1";

/// One resolved dependency of a build, for provenance.
pub struct Dependency {
    pub uri: String,
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1 with a SLSA provenance v1 predicate.
pub fn statement(
    outputs: &[ManifestOutput],
    external: serde_json::Value,
    deps: &[Dependency],
    started: &str,
    finished: &str,
) -> serde_json::Value {
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": outputs.iter().map(|o| serde_json::json!({
            "name": o.path,
            "digest": {"sha256": o.sha256},
            "annotations": {"label": o.label, "platform": o.platform},
        })).collect::<Vec<_>>(),
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {"trimpath": true, "cgo": false, "buildvcs": false},
                "resolvedDependencies": deps.iter().map(|d| serde_json::json!({"uri": d.uri, "digest": d.digest})).collect::<Vec<_>>(),
            },
            "runDetails": {
                "builder": {"id": format!("https://github.com/gobuildr/gobuildr@v{}", env!("CARGO_PKG_VERSION"))},
                "metadata": {"startedOn": started, "finishedOn": finished},
            },
        },
    })
}

/// Module and toolchain dependencies of a build, for provenance.
/// `toolchain` is the Go version (`go1.26.8`) and `host` its GOOS/GOARCH:
/// the toolchain is named as the golang.org/toolchain module of that release
/// (stable wherever it came from), with its identity digest.
pub fn dependencies(
    sums: &GoSum,
    toolchain: &str,
    host: &str,
    toolchain_id: &str,
) -> Vec<Dependency> {
    let mut deps: Vec<Dependency> = sums
        .modules()
        .map(|(m, v, h1)| Dependency {
            uri: format!("pkg:golang/{m}@{v}"),
            digest: [("go-h1".to_string(), h1.to_string())]
                .into_iter()
                .collect(),
        })
        .collect();
    deps.push(Dependency {
        uri: format!(
            "pkg:golang/golang.org/toolchain@v0.0.1-{toolchain}.{}",
            host.replace('/', "-")
        ),
        digest: [("blake3".to_string(), toolchain_id.to_string())]
            .into_iter()
            .collect(),
    });
    deps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_names_subjects_dependencies_and_times() {
        let out = ManifestOutput {
            label: "//cmd/x".into(),
            platform: "linux/amd64".into(),
            path: "gobuildr-out/linux_amd64/x".into(),
            sha256: "ab".into(),
            blake3: "cd".into(),
            size: 2,
        };
        let dep = Dependency {
            uri: "pkg:golang/example.com/m@v1.0.0".into(),
            digest: [("go-h1".to_string(), "h1:x".to_string())].into(),
        };
        let external = serde_json::json!({"targets": ["//..."]});
        let s = statement(&[out], external.clone(), &[dep], "t0", "t1");
        assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(s["subject"][0]["name"], "gobuildr-out/linux_amd64/x");
        assert_eq!(s["subject"][0]["digest"]["sha256"], "ab");
        assert_eq!(s["subject"][0]["annotations"]["label"], "//cmd/x");
        let def = &s["predicate"]["buildDefinition"];
        assert_eq!(def["buildType"], BUILD_TYPE);
        assert_eq!(def["externalParameters"], external);
        assert_eq!(def["resolvedDependencies"][0]["digest"]["go-h1"], "h1:x");
        let meta = &s["predicate"]["runDetails"]["metadata"];
        assert_eq!(
            (&meta["startedOn"], &meta["finishedOn"]),
            (&"t0".into(), &"t1".into())
        );
    }
}
