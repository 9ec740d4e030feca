//! `gobuildr.toml`: optional settings at the workspace root.
//!
//! Everything in it that can change an output is explicit here, never taken
//! from the caller's environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::WorkspaceError;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Named platform sets: `release = ["linux/amd64", ...]`.
    #[serde(default)]
    pub platforms: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub modules: ModulesConfig,
    #[serde(default)]
    pub toolchain: ToolchainConfig,
    #[serde(default)]
    pub sumdb: SumdbConfig,
    /// Link-time `-X` variables: `"main.version" = "{VERSION}"`.
    #[serde(default)]
    pub stamp: BTreeMap<String, String>,
    /// The project's default go build flags.
    #[serde(default)]
    pub build: BuildConfig,
    /// A shared cache and executor (REAPI); the command line overrides.
    #[serde(default)]
    pub remote: RemoteToml,
}

/// `[remote]`: where the team's cache and build farm are. Nothing here can
/// change an output; headers are for what is not secret (tokens belong on
/// the command line, from the CI's secret store).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteToml {
    pub cache: Option<String>,
    pub executor: Option<String>,
    pub instance: Option<String>,
    pub readonly: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The executor's platform properties: `{ OSFamily = "Linux" }`.
    #[serde(default)]
    pub platform: BTreeMap<String, String>,
}

/// A per-package flag in gobuildr.toml: one occurrence (`"-s -w"`) or
/// several in order (`["all=-l", "-N"]`), each as go build takes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FlagList {
    One(String),
    Many(Vec<String>),
}

impl Default for FlagList {
    fn default() -> Self {
        FlagList::Many(Vec::new())
    }
}

impl FlagList {
    pub fn occurrences(&self) -> &[String] {
        match self {
            FlagList::One(s) => std::slice::from_ref(s),
            FlagList::Many(v) => v,
        }
    }
}

/// `[build]`: a project's release configuration, committed with the code.
/// The command line adds to it (tags, one more occurrence of each
/// per-package flag) or overrides it (the single-valued settings).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub ldflags: FlagList,
    #[serde(default)]
    pub gcflags: FlagList,
    #[serde(default)]
    pub asmflags: FlagList,
    pub buildmode: Option<String>,
    pub pgo: Option<String>,
    pub buildvcs: Option<String>,
    pub goexperiment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolchainConfig {
    /// Pin the Go toolchain: `go = "1.26.8"` (fetched as a module).
    pub go: Option<String>,
    /// The `h1:` hash of the pinned toolchain's module zip for this host
    /// (as the checksum database records it).
    pub sum: Option<String>,
}

/// The checksum database's pinned history.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumdbConfig {
    /// A tree head, `<size> <base64 root>`, that the database must extend.
    pub pin: Option<String>,
}

/// Where modules come from and how they are proved. Each key overrides
/// the go setting it names (environment, `go env -w`, `$GOROOT/go.env`);
/// none of them can change an output, so none enters an action key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulesConfig {
    /// GOPROXY: the proxy list modules are fetched from.
    pub proxy: Option<String>,
    /// GONOPROXY.
    pub noproxy: Option<String>,
    /// GOPRIVATE.
    pub private: Option<String>,
    /// GONOSUMDB.
    pub nosumdb: Option<String>,
    /// GOSUMDB.
    pub sumdb: Option<String>,
    /// GOINSECURE.
    pub insecure: Option<String>,
    /// GOAUTH.
    pub auth: Option<String>,
    /// Let `direct` in the proxy list fetch from version control.
    #[serde(default)]
    pub allow_direct: bool,
}

impl ModulesConfig {
    /// The keys that are set, by go env name, for [`crate::goenv`].
    pub fn overrides(&self) -> crate::goenv::Overrides {
        let keys = [
            ("GOPROXY", "proxy", &self.proxy),
            ("GONOPROXY", "noproxy", &self.noproxy),
            ("GOPRIVATE", "private", &self.private),
            ("GONOSUMDB", "nosumdb", &self.nosumdb),
            ("GOSUMDB", "sumdb", &self.sumdb),
            ("GOINSECURE", "insecure", &self.insecure),
            ("GOAUTH", "auth", &self.auth),
        ];
        keys.into_iter()
            .filter_map(|(env, key, v)| v.clone().map(|v| (env, (v, key))))
            .collect()
    }
}

pub const FILE_NAME: &str = "gobuildr.toml";

impl Config {
    /// Loads `gobuildr.toml` from the root, or the defaults if there is none.
    pub fn load(root: &Path) -> Result<Config, WorkspaceError> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(WorkspaceError::Io { path, source }),
        };
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1);
            WorkspaceError::Parse {
                path,
                line,
                msg: e.message().to_string(),
            }
        })
    }
}
