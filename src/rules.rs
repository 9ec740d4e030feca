//! The Go rule set, as data embedded from `rules/`.
//!
//! Each action kind has one rule file; its full text is part of the key of
//! every action of that kind, so editing a rule re-runs exactly the actions
//! it shapes. The platform table (variants, defaults, pie platforms) and the
//! fixed tool environment (`tools.toml`) live here too. Logic that decides
//! flags per package stays in `plan`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::digest::FileDigest;

pub const COMPILE_TOML: &str = include_str!("../rules/compile.toml");
pub const ASM_TOML: &str = include_str!("../rules/asm.toml");
pub const PACK_TOML: &str = include_str!("../rules/pack.toml");
pub const LINK_TOML: &str = include_str!("../rules/link.toml");
pub const PGO_TOML: &str = include_str!("../rules/pgo.toml");
pub const VET_TOML: &str = include_str!("../rules/vet.toml");
pub const COVER_TOML: &str = include_str!("../rules/cover.toml");
pub const PLATFORMS_TOML: &str = include_str!("../rules/platforms.toml");
pub const TOOLS_TOML: &str = include_str!("../rules/tools.toml");

#[derive(Debug, Deserialize)]
pub struct CompileRule {
    pub tool: String,
    /// Rewrite source and sandbox paths out of objects (go build
    /// -trimpath); a rule variant without it is not reproducible.
    #[serde(default = "yes")]
    pub trimpath: bool,
    pub buildid: String,
    pub concurrency: u32,
    pub incomplete_std: Vec<String>,
    pub default_lang: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct AsmRule {
    pub tool: String,
    pub include_dir: String,
    pub std_since: String,
}

#[derive(Debug, Deserialize)]
pub struct PackRule {
    pub mode: String,
}

#[derive(Debug, Deserialize)]
pub struct LinkRule {
    pub tool: String,
    pub flags: Vec<String>,
    pub clear_goroot: bool,
    pub extld: String,
}

#[derive(Debug, Deserialize)]
pub struct PgoRule {
    pub tool: String,
}

/// go test -cover's instrumentation (`cover.toml`).
#[derive(Debug, Deserialize)]
pub struct CoverRule {
    pub tool: String,
    pub granularity: String,
}

/// go test's vet run (`vet.toml`).
#[derive(Debug, Deserialize)]
pub struct VetRule {
    pub tool: String,
    pub flags: Vec<String>,
    pub std_flags: Vec<String>,
    pub term: String,
    pub analyzers: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Variant {
    pub var: String,
    pub default: String,
    pub values: Vec<String>,
}

/// What every tool runs with (`tools.toml`).
#[derive(Debug, Deserialize)]
pub struct ToolsRule {
    /// `[env]`, in file order: the order is part of every key.
    #[serde(deserialize_with = "ordered")]
    pub env: Vec<(String, String)>,
}

/// A table of strings as (key, value) pairs in document order (a map type
/// would sort them).
fn ordered<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table of strings")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(pair) = m.next_entry()? {
                out.push(pair);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Pairs)
}

#[derive(Debug, Deserialize)]
pub struct PlatformTable {
    pub variants: BTreeMap<String, Variant>,
    pub pie_goos: Vec<String>,
    pub shared_codegen_goos: Vec<String>,
    pub first_class: Vec<String>,
}

pub struct Rules {
    pub compile: CompileRule,
    pub asm: AsmRule,
    pub pack: PackRule,
    pub link: LinkRule,
    pub pgo: PgoRule,
    pub vet: VetRule,
    pub cover: CoverRule,
    pub platforms: PlatformTable,
    pub tools: ToolsRule,
    /// The text of each rule file in effect (a kind's rule file enters its
    /// keys by digest).
    pub texts: BTreeMap<&'static str, String>,
    /// The digest of each text, computed once rather than per action key.
    pub digests: BTreeMap<&'static str, FileDigest>,
}

#[derive(Debug, thiserror::Error)]
#[error("rule file {path}: {msg}")]
pub struct RulesError {
    path: String,
    msg: String,
}

const FILES: [(&str, &str); 9] = [
    ("compile.toml", COMPILE_TOML),
    ("asm.toml", ASM_TOML),
    ("pack.toml", PACK_TOML),
    ("link.toml", LINK_TOML),
    ("pgo.toml", PGO_TOML),
    ("vet.toml", VET_TOML),
    ("cover.toml", COVER_TOML),
    ("platforms.toml", PLATFORMS_TOML),
    ("tools.toml", TOOLS_TOML),
];

static RULES: OnceLock<Rules> = OnceLock::new();

fn load(dir: Option<&Path>) -> Result<Rules, RulesError> {
    let mut texts = BTreeMap::new();
    for (name, embedded) in FILES {
        let text = match dir.map(|d| d.join(name)).filter(|p| p.is_file()) {
            Some(p) => std::fs::read_to_string(&p).map_err(|e| RulesError {
                path: p.display().to_string(),
                msg: e.to_string(),
            })?,
            None => embedded.to_string(),
        };
        texts.insert(name, text);
    }
    fn parse<T: serde::de::DeserializeOwned>(
        texts: &BTreeMap<&str, String>,
        name: &str,
    ) -> Result<T, RulesError> {
        toml::from_str(&texts[name]).map_err(|e| RulesError {
            path: name.to_string(),
            msg: e.to_string(),
        })
    }
    Ok(Rules {
        compile: parse(&texts, "compile.toml")?,
        asm: parse(&texts, "asm.toml")?,
        pack: parse(&texts, "pack.toml")?,
        link: parse(&texts, "link.toml")?,
        pgo: parse(&texts, "pgo.toml")?,
        vet: parse(&texts, "vet.toml")?,
        cover: parse(&texts, "cover.toml")?,
        platforms: parse(&texts, "platforms.toml")?,
        tools: parse(&texts, "tools.toml")?,
        digests: texts
            .iter()
            .map(|(name, text)| (*name, FileDigest::of_bytes(text.as_bytes())))
            .collect(),
        texts,
    })
}

/// Uses the rule files in `dir` in place of the embedded ones (a rule
/// variant). Must run before the rules are first used.
pub fn use_rules_from(dir: &Path) -> Result<(), RulesError> {
    if !dir.is_dir() {
        return Err(RulesError {
            path: dir.display().to_string(),
            msg: "not a directory of rule files".into(),
        });
    }
    let r = load(Some(dir))?;
    let _ = RULES.set(r);
    Ok(())
}

/// The rules in effect: the embedded ones unless a variant was loaded. The
/// embedded files are checked by unit tests, so failing to parse them is a
/// bug in gobuildr itself.
pub fn rules() -> &'static Rules {
    RULES.get_or_init(|| load(None).unwrap_or_else(|e| panic!("bug: embedded {e}")))
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("unknown platform {spec:?}: the toolchain cannot target it{suggest}")]
    Unknown { spec: String, suggest: String },
    #[error("platform {spec:?}: {goarch} has no variant {variant:?} (valid: {valid})")]
    Variant {
        spec: String,
        goarch: String,
        variant: String,
        valid: String,
    },
}

/// A target platform: GOOS/GOARCH and the value of its variant variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub goos: String,
    pub goarch: String,
    /// The variant as the user wrote it (`v3` in `linux/amd64/v3`), if any.
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.goos, self.goarch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl Platform {
    pub fn new(goos: &str, goarch: &str, variant: Option<&str>) -> Platform {
        Platform {
            goos: goos.to_string(),
            goarch: goarch.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Parses `GOOS/GOARCH[/VARIANT]`, checking the pair against what the
    /// toolchain can target (`go tool dist list`) and the variant against the
    /// platform table. GOARM variants are written `v6` (or `6`).
    pub fn parse(spec: &str, valid: &[String]) -> Result<Platform, PlatformError> {
        let parts: Vec<&str> = spec.split('/').collect();
        let unknown = || PlatformError::Unknown {
            spec: spec.to_string(),
            suggest: {
                let close = crate::suggest::closest(spec, valid.iter().map(String::as_str), 4);
                if close.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", close.join(", "))
                }
            },
        };
        let (goos, goarch, variant) = match parts[..] {
            [os, arch] => (os, arch, None),
            [os, arch, v] => (os, arch, Some(v)),
            _ => return Err(unknown()),
        };
        if !valid.iter().any(|v| *v == format!("{goos}/{goarch}")) {
            return Err(unknown());
        }
        let variant = match variant {
            None => None,
            Some(v) => {
                let table = rules().platforms.variants.get(goarch);
                let value = if goarch == "arm" {
                    v.trim_start_matches('v')
                } else {
                    v
                };
                let ok = table
                    .map(|t| t.values.iter().any(|x| x == value))
                    .unwrap_or(false);
                if !ok {
                    return Err(PlatformError::Variant {
                        spec: spec.to_string(),
                        goarch: goarch.to_string(),
                        variant: v.to_string(),
                        valid: table
                            .map(|t| t.values.join(", "))
                            .unwrap_or_else(|| "none".into()),
                    });
                }
                Some(if goarch == "arm" {
                    format!("v{value}")
                } else {
                    value.to_string()
                })
            }
        };
        Ok(Platform {
            goos: goos.to_string(),
            goarch: goarch.to_string(),
            variant,
        })
    }

    /// The variant variable and its effective value (`GOAMD64`, `v1`;
    /// `GOARM`, `6` for variant `v6`).
    pub fn variant_env(&self) -> Option<(String, String)> {
        rules().platforms.variants.get(&self.goarch).map(|v| {
            let value = match &self.variant {
                Some(x) if self.goarch == "arm" => x.trim_start_matches('v').to_string(),
                Some(x) => x.clone(),
                None => v.default.clone(),
            };
            (v.var.clone(), value)
        })
    }

    /// The directory name under gobuildr-out: `linux_amd64`, `linux_arm_v6`.
    pub fn dir_name(&self) -> String {
        self.to_string().replace('/', "_")
    }

    /// The environment that selects this platform, for go list and tools.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("GOOS".to_string(), self.goos.clone()),
            ("GOARCH".to_string(), self.goarch.clone()),
            ("CGO_ENABLED".to_string(), "0".to_string()),
        ];
        env.extend(self.variant_env());
        env
    }

    pub fn exe_suffix(&self) -> &'static str {
        if self.goos == "windows" {
            ".exe"
        } else {
            ""
        }
    }

    /// go build's default link mode for this platform: `exe` or `pie`.
    pub fn link_buildmode(&self) -> &'static str {
        if rules().platforms.pie_goos.contains(&self.goos) {
            "pie"
        } else {
            "exe"
        }
    }

    /// Whether compile and asm get `-shared` (pie code generation).
    pub fn shared_codegen(&self) -> bool {
        rules().platforms.shared_codegen_goos.contains(&self.goos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_parse() {
        let r = rules();
        assert_eq!(r.compile.tool, "compile");
        assert_eq!(r.platforms.first_class.len(), 8);
    }

    #[test]
    fn tool_env_keeps_file_order() {
        let names: Vec<&str> = rules().tools.env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "GOTOOLCHAIN",
                "GOFLAGS",
                "GOPROXY",
                "GOENV",
                "GO111MODULE",
                "TZ",
                "LC_ALL",
                "PATH"
            ]
        );
        assert_eq!(rules().tools.env[7].1, "/usr/bin:/bin");
    }

    #[test]
    fn variant_defaults() {
        let p = Platform::new("linux", "amd64", None);
        assert_eq!(p.variant_env(), Some(("GOAMD64".into(), "v1".into())));
        assert_eq!(
            Platform::new("linux", "arm", Some("6")).dir_name(),
            "linux_arm_6"
        );
    }
}
