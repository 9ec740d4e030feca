//! The one recipe for action keys: everything that goes into a key, as one
//! value ([`KeyIngredients`]) that the key is encoded from and that explain
//! compares field by field, so the two cannot drift apart.

use serde::{Deserialize, Serialize};

use super::{tool_env, Action, ActionKind};
use crate::digest::{kind as dk, ActionKey, FileDigest, KeyEncoder, ToolchainId};

/// The domain of action keys, with their version: bump it (v4, ...)
/// whenever [`KeyIngredients::key`] encodes differently, so old cache
/// entries are simply never found again. v3: one recipe, rule by digest,
/// inputs counted.
pub const ACTION_KEY_DOMAIN: &str = "action v3";

/// One input as it enters a key: where it appears in the sandbox, and its
/// content digest (`D`: a `FileDigest`, or `Option<FileDigest>` in
/// explanations, where a dependency's output may not be known yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInput<D> {
    pub at: String,
    pub digest: D,
}

/// Everything that goes into an action's key, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyIngredients<D = FileDigest> {
    pub kind: ActionKind,
    /// The digest of the kind's rule text (the rule's version).
    pub rule: FileDigest,
    pub toolchain: ToolchainId,
    /// GOOS, GOARCH, CGO_ENABLED and the variant, as `KEY=value`.
    pub platform_env: Vec<String>,
    pub argv: Vec<String>,
    /// The action's own tool environment (`Action.env`), as `KEY=value`.
    pub env: Vec<String>,
    /// The fixed environment of every tool (`rules/tools.toml`).
    pub tool_env: Vec<String>,
    pub outputs: Vec<String>,
    /// In input order.
    pub inputs: Vec<KeyInput<D>>,
}

fn flatten<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn owned(env: &[(String, String)]) -> Vec<String> {
    flatten(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl<D: Clone> KeyIngredients<D> {
    /// The ingredients of `action`, given its inputs' digests in input order.
    pub fn of(action: &Action, toolchain: &ToolchainId, digests: &[D]) -> Self {
        KeyIngredients {
            kind: action.kind,
            rule: action.kind.rule_digest(),
            toolchain: *toolchain,
            platform_env: owned(&action.platform.env()),
            argv: action.argv.clone(),
            env: owned(&action.env),
            tool_env: flatten(tool_env()),
            outputs: action.outputs.clone(),
            inputs: action
                .inputs
                .iter()
                .zip(digests)
                .map(|(i, d)| KeyInput {
                    at: i.at.clone(),
                    digest: d.clone(),
                })
                .collect(),
        }
    }
}

impl<D> KeyIngredients<D> {
    /// The same ingredients with each input digest passed through `f`, if
    /// `f` gives one for every input.
    pub fn try_map<E>(&self, f: impl Fn(&D) -> Option<E>) -> Option<KeyIngredients<E>> {
        // A struct literal without `..`: a new field must be carried over.
        let inputs = self
            .inputs
            .iter()
            .map(|i| {
                f(&i.digest).map(|digest| KeyInput {
                    at: i.at.clone(),
                    digest,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(KeyIngredients {
            kind: self.kind,
            rule: self.rule,
            toolchain: self.toolchain,
            platform_env: self.platform_env.clone(),
            argv: self.argv.clone(),
            env: self.env.clone(),
            tool_env: self.tool_env.clone(),
            outputs: self.outputs.clone(),
            inputs,
        })
    }
}

impl KeyIngredients<Option<FileDigest>> {
    /// The ingredients with every input digest known, if they all are.
    pub fn complete(&self) -> Option<KeyIngredients> {
        self.try_map(|d| *d)
    }
}

impl KeyIngredients {
    /// The action key: every field, in a fixed order.
    pub fn key(&self) -> ActionKey {
        // Destructured without `..`, so a field added to the struct but not
        // encoded here does not compile (a test cannot check that).
        let KeyIngredients {
            kind,
            rule,
            toolchain,
            platform_env,
            argv,
            env,
            tool_env,
            outputs,
            inputs,
        } = self;
        let mut e = KeyEncoder::<dk::Action>::new(ACTION_KEY_DOMAIN);
        e.str("kind", &kind.to_string())
            .digest("rule", rule)
            .digest("toolchain", toolchain)
            .strs("platform-env", platform_env)
            .strs("argv", argv)
            .strs("env", env)
            .strs("tool-env", tool_env)
            .strs("outputs", outputs)
            .count("inputs", inputs.len());
        for KeyInput { at, digest } in inputs {
            e.str("input", at).digest("content", digest);
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Input, Source};
    use crate::rules::Platform;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A fixed, fully specified set of ingredients (nothing read from the
    /// rules in effect).
    fn fixed() -> KeyIngredients {
        KeyIngredients {
            kind: ActionKind::Compile,
            rule: FileDigest::of_bytes(b"tool = \"compile\"\n"),
            toolchain: ToolchainId::from_hex(&"ab".repeat(32)).expect("hex"),
            platform_env: strings(&["GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOAMD64=v1"]),
            argv: strings(&["${TOOLDIR}/compile", "-o", "${SB}/obj/export.a", "-p", "x"]),
            env: strings(&["GOOS=linux", "GOARCH=amd64", "GOROOT=${GOROOT}"]),
            tool_env: strings(&["GOTOOLCHAIN=local", "PATH=/usr/bin:/bin"]),
            outputs: strings(&["obj/export.a", "obj/_pkg_.a"]),
            inputs: vec![
                KeyInput {
                    at: "src/x.go".into(),
                    digest: FileDigest::of_bytes(b"package x\n"),
                },
                KeyInput {
                    at: "obj/importcfg".into(),
                    digest: FileDigest::of_bytes(b"# import config\n"),
                },
            ],
        }
    }

    /// Pins the encoding. If this fails after a deliberate change of how
    /// keys are encoded, bump [`ACTION_KEY_DOMAIN`] (and
    /// `KEY_FORMAT_VERSION` if the encoder itself changed), then update the
    /// literal; if the change was not deliberate, it is a bug.
    #[test]
    fn golden_key() {
        assert_eq!(
            fixed().key().to_hex(),
            "578823e537e3aca94e1e33fe3b609294d54237b979512dd875bf894f7b8c95af"
        );
    }

    #[test]
    fn of_takes_every_field_from_the_action() {
        let action = Action {
            kind: ActionKind::Pack,
            package: "x".into(),
            platform: Platform::new("linux", "amd64", None),
            argv: strings(&["pack"]),
            env: vec![("GOROOT".into(), "${GOROOT}".into())],
            inputs: vec![Input {
                at: "obj/a.o".into(),
                source: Source::Generated(b"o".to_vec()),
                writable: false,
            }],
            outputs: strings(&["obj/_pkg_.a"]),
            src_display: String::new(),
            src_link: None,
            module: None,
        };
        let d = FileDigest::of_bytes(b"o");
        let id = fixed().toolchain;
        let k = KeyIngredients::of(&action, &id, &[d]);
        assert_eq!(k.kind, ActionKind::Pack);
        assert_eq!(k.rule, ActionKind::Pack.rule_digest());
        assert_eq!(k.toolchain, id);
        assert_eq!(
            k.platform_env[..2],
            strings(&["GOOS=linux", "GOARCH=amd64"])
        );
        assert!(k.platform_env.contains(&"GOAMD64=v1".to_string()));
        assert_eq!(k.argv, action.argv);
        assert_eq!(k.env, strings(&["GOROOT=${GOROOT}"]));
        assert_eq!(k.tool_env.len(), 8);
        assert_eq!(k.tool_env[0], "GOTOOLCHAIN=local");
        assert_eq!(k.outputs, action.outputs);
        assert_eq!(k.inputs.len(), 1);
        assert_eq!(
            (k.inputs[0].at.as_str(), k.inputs[0].digest),
            ("obj/a.o", d)
        );
        assert_eq!(k.key(), action_key(&action, &id, &[d]));
    }

    /// `Action::key` without a whole `Toolchain`.
    fn action_key(a: &Action, id: &ToolchainId, d: &[FileDigest]) -> ActionKey {
        KeyIngredients::of(a, id, d).key()
    }

    #[test]
    fn complete_needs_every_digest() {
        let mut partial = fixed().try_map(|d| Some(Some(*d))).expect("all mapped");
        assert_eq!(partial.complete(), Some(fixed()));
        partial.inputs[1].digest = None;
        assert_eq!(partial.complete(), None);
    }
}
