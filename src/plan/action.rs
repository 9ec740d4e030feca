//! An action (one tool run: argv, environment, inputs, outputs) and the
//! builders the planner makes actions with.

use std::fmt;
use std::path::PathBuf;

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use super::KeyIngredients;
use crate::digest::FileDigest;
use crate::rules::{rules, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Symabis,
    Compile,
    Asm,
    Pack,
    Link,
    Preprofile,
    /// go test -cover's instrumentation of a package's files.
    Cover,
    /// go test -cover's profile of a package with no tests.
    #[serde(rename = "covdata")]
    CovData,
    /// go test's vet of a package (facts, and for the packages under test
    /// the report).
    Vet,
    /// Runs a test binary.
    #[serde(rename = "test")]
    TestRun,
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionKind::Symabis => "symabis",
            ActionKind::Compile => "compile",
            ActionKind::Asm => "asm",
            ActionKind::Pack => "pack",
            ActionKind::Link => "link",
            ActionKind::Preprofile => "preprofile",
            ActionKind::Cover => "cover",
            ActionKind::CovData => "covdata",
            ActionKind::Vet => "vet",
            ActionKind::TestRun => "test",
        })
    }
}

impl ActionKind {
    /// The rule file that shapes actions of this kind.
    fn rule_file(self) -> &'static str {
        match self {
            ActionKind::Symabis | ActionKind::Asm => "asm.toml",
            ActionKind::Compile => "compile.toml",
            ActionKind::Pack => "pack.toml",
            ActionKind::Link => "link.toml",
            ActionKind::Preprofile => "pgo.toml",
            ActionKind::Cover | ActionKind::CovData => "cover.toml",
            ActionKind::Vet => "vet.toml",
            ActionKind::TestRun => "test.toml",
        }
    }

    /// The rule text that shapes actions of this kind.
    pub fn rule_text(self) -> &'static str {
        rules()
            .texts
            .get(self.rule_file())
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The digest of [`Self::rule_text`] (part of the keys).
    pub fn rule_digest(self) -> FileDigest {
        rules()
            .digests
            .get(self.rule_file())
            .copied()
            .unwrap_or_else(|| FileDigest::of_bytes(b""))
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A file on disk with its digest: its contents' BLAKE3 (workspace
    /// files; the remote mapping relies on it), or an identity when
    /// `immutable` (standard library, modules: fixed by the toolchain or
    /// go.sum, never hashed).
    File {
        path: PathBuf,
        digest: FileDigest,
        immutable: bool,
    },
    /// An output of another action.
    Output { action: NodeIndex, name: String },
    /// Bytes gobuildr writes; placeholders are substituted when staged.
    Generated(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Input {
    /// Where the input appears, relative to the sandbox root.
    pub at: String,
    pub source: Source,
    /// The action modifies this input in place (pack appends to an archive).
    pub writable: bool,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub kind: ActionKind,
    pub package: String,
    pub platform: Platform,
    pub argv: Vec<String>,
    /// The fixed environment of the tool (placeholders allowed).
    pub env: Vec<(String, String)>,
    pub inputs: Vec<Input>,
    /// Sandbox-relative output paths.
    pub outputs: Vec<String>,
    /// What `${SB}/src/` means to the user, for rewriting tool messages.
    pub src_display: String,
    /// For packages fixed by an identity (standard library, modules): the
    /// package directory, staged whole as `src` (assembly may include
    /// headers from its subdirectories, e.g. runtime's cgo/abi_amd64.h).
    pub src_link: Option<PathBuf>,
    /// `path@version` of the module the package comes from, when versioned
    /// (for explanations: a version bump is named as such).
    pub module: Option<String>,
}

impl Action {
    /// The key of this action given the digests of its inputs' contents (in
    /// input order): see [`KeyIngredients`], the one recipe.
    pub fn key(
        &self,
        toolchain: &crate::digest::ToolchainId,
        input_digests: &[FileDigest],
    ) -> crate::digest::ActionKey {
        KeyIngredients::of(self, toolchain, input_digests).key()
    }
}

/// What every action of one package shares.
pub(super) struct ActionBase {
    pub package: String,
    pub platform: Platform,
    pub src_display: String,
    pub src_link: Option<PathBuf>,
    pub module: Option<String>,
}

impl ActionBase {
    /// An action of the package with no environment yet.
    pub(super) fn action(
        &self,
        kind: ActionKind,
        argv: Vec<String>,
        inputs: Vec<Input>,
        outputs: Vec<String>,
    ) -> Action {
        Action {
            kind,
            package: self.package.clone(),
            platform: self.platform.clone(),
            argv,
            env: Vec::new(),
            inputs,
            outputs,
            src_display: self.src_display.clone(),
            src_link: self.src_link.clone(),
            module: self.module.clone(),
        }
    }
}

/// The importcfg line naming a package's archive, staged at
/// `pkg/<import path>.a`, under the path the tools see (a test variant
/// `p [p.test]` is `p`).
pub(super) fn packagefile(import_path: &str) -> String {
    let key = crate::discover::tool_path(import_path);
    format!("packagefile {key}={}/pkg/{import_path}.a\n", super::SB)
}

/// An input that is another action's output.
pub(super) fn output_input(at: &str, action: NodeIndex, name: &str) -> Input {
    Input {
        at: at.into(),
        source: Source::Output {
            action,
            name: name.into(),
        },
        writable: false,
    }
}
