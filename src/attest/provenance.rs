//! SLSA provenance: an in-toto Statement v1 with a SLSA provenance v1
//! predicate (docs/provenance.md), for `build --provenance` and `verify
//! --provenance`.

use std::collections::BTreeMap;

use crate::workspace::Workspace;

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
    ws: &Workspace,
    toolchain: &str,
    host: &str,
    toolchain_id: &str,
) -> Vec<Dependency> {
    let sums = crate::build::load_sums(ws);
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
