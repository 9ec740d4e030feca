//! Why an action ran: every cache miss is explained by comparing what went
//! into its key ([`KeyIngredients`], the one recipe of `plan`) with what
//! went into it last time in this workspace, field by field, giving typed
//! [`MissReason`]s (shown by `--explain`, by `gobuildr explain`, and in the
//! summary JSON).
//!
//! Records are kept per workspace under `explain-v2/`, one map from action
//! identity (platform, kind, package, output) to [`Ingredients`]. They are
//! read only when something missed and rewritten only when the set of keys
//! changed, so a no-op build does not touch them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::digest::{kind, FileDigest, KeyEncoder, ToolchainId};
use crate::plan::{Action, ActionKind, KeyIngredients, Plan, Source};
use crate::schedule::{Outcome, Record};
use crate::toolchain::Toolchain;

/// One input as recorded: its content digest (empty when not known yet)
/// and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    pub origin: String,
    pub digest: String,
}

/// An action's key ingredients as recorded (an input digest is None while
/// the dependency producing it has not run), with the context that names
/// their changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingredients {
    pub key: KeyIngredients<Option<FileDigest>>,
    /// Where each input came from, by sandbox path: a workspace path,
    /// `module path@version`, `goroot`, a dependency's output, `generated`.
    pub origins: BTreeMap<String, String>,
    pub tags: Vec<String>,
    pub module: Option<String>,
    /// `path@version` of every module this action reads: its own package's
    /// and those of the dependencies whose outputs it takes.
    pub modules: BTreeSet<String>,
    /// A link's build info lines (`go version -m`): a stamp or a module
    /// change is named by what it changed.
    pub build_info: Vec<String>,
}

impl Ingredients {
    /// Each input's origin and digest, by sandbox path.
    pub fn inputs(&self) -> BTreeMap<String, InputRecord> {
        self.key
            .inputs
            .iter()
            .map(|i| {
                let record = InputRecord {
                    origin: self.origins.get(&i.at).cloned().unwrap_or_default(),
                    digest: i.digest.map(|d| d.to_hex()).unwrap_or_default(),
                };
                (i.at.clone(), record)
            })
            .collect()
    }
}

/// Why an action ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum MissReason {
    /// This workspace never ran this action before.
    NoPreviousRecord,
    ToolchainChanged {
        old: ToolchainId,
        new: ToolchainId,
    },
    /// The action's rule file in `rules/` changed.
    RuleChanged {
        kind: ActionKind,
    },
    TagsChanged {
        old: Vec<String>,
        new: Vec<String>,
    },
    /// A dependency module's version changed (go.mod / go.sum).
    ModuleChanged {
        module: String,
        old: String,
        new: String,
    },
    FileChanged {
        path: String,
        old: FileDigest,
        new: FileDigest,
    },
    FileAdded {
        path: String,
    },
    FileRemoved {
        path: String,
    },
    /// What a dependency produced (export data, link object) changed.
    DependencyChanged {
        from: String,
        old: FileDigest,
        new: FileDigest,
    },
    /// A dependency is rebuilt first, so its output is not known yet.
    DependencyWillRebuild {
        from: String,
    },
    /// A generated file (importcfg, embedcfg, build info) changed.
    GeneratedChanged {
        name: String,
    },
    /// A link's build info changed: VCS stamp, versions, settings.
    BuildInfoChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    FlagsChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// The platform variables (GOOS, GOARCH, CGO_ENABLED, the variant).
    PlatformEnvChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// The action's own tool environment, beyond what the platform explains.
    EnvChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// The fixed environment of every tool (`rules/tools.toml`).
    ToolEnvChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// The action's declared outputs.
    OutputsChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// Inputs (by sandbox path) that differ where no reason above names
    /// them, e.g. a standard-library file added with no toolchain change.
    InputsChanged {
        paths: Vec<String>,
    },
    /// The same inputs in another order.
    InputsReordered,
    /// Nothing that goes into the key changed, but the cache no longer has
    /// the entry (removed, or dropped because it was corrupt).
    CacheEntryMissing,
}

/// `{what} changed: -[removed] +[added]`.
fn lists(
    f: &mut fmt::Formatter<'_>,
    what: &str,
    removed: &[String],
    added: &[String],
) -> fmt::Result {
    write!(
        f,
        "{what} changed: -[{}] +[{}]",
        removed.join(" "),
        added.join(" ")
    )
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MissReason::*;
        match self {
            NoPreviousRecord => write!(f, "no previous record of this action in this workspace"),
            ToolchainChanged { old, new } => {
                write!(f, "toolchain changed ({} → {})", old.short(), new.short())
            }
            RuleChanged { kind } => write!(f, "rule rules/{kind}.toml changed"),
            TagsChanged { old, new } => write!(
                f,
                "build tags changed ({:?} → {:?})",
                old.join(","),
                new.join(",")
            ),
            ModuleChanged { module, old, new } => {
                write!(f, "module {module} changed {old} → {new} (go.mod/go.sum)")
            }
            FileChanged { path, old, new } => {
                write!(f, "file {path} changed ({} → {})", old.short(), new.short())
            }
            FileAdded { path } => write!(f, "file {path} added"),
            FileRemoved { path } => write!(f, "file {path} removed"),
            DependencyChanged { from, old, new } => {
                write!(f, "{from} changed ({} → {})", old.short(), new.short())
            }
            DependencyWillRebuild { from } => write!(f, "{from} is rebuilt first"),
            GeneratedChanged { name } => write!(f, "generated {name} changed"),
            BuildInfoChanged { removed, added } => write!(
                f,
                "build info changed ({} → {})",
                removed.join("; ").replace('\t', " "),
                added.join("; ").replace('\t', " ")
            ),
            FlagsChanged { removed, added } => lists(f, "flags", removed, added),
            PlatformEnvChanged { removed, added } => {
                lists(f, "platform environment", removed, added)
            }
            EnvChanged { removed, added } => lists(f, "environment", removed, added),
            ToolEnvChanged { removed, added } => lists(f, "tool environment", removed, added),
            OutputsChanged { removed, added } => lists(f, "outputs", removed, added),
            InputsChanged { paths } => write!(f, "inputs changed: {}", paths.join(", ")),
            InputsReordered => write!(f, "inputs reordered"),
            CacheEntryMissing => write!(
                f,
                "inputs unchanged, but the cache entry is gone (removed or corrupt)"
            ),
        }
    }
}

/// A stable name for an action across builds of one workspace.
pub fn identity(a: &Action) -> String {
    format!(
        "{} {} {} {}",
        a.platform,
        a.kind,
        a.package,
        a.outputs.first().map(String::as_str).unwrap_or("")
    )
}

fn origin(plan: &Plan, root: &Path, action: &Action, source: &Source) -> String {
    match source {
        Source::File {
            path,
            immutable: false,
            ..
        } => path
            .strip_prefix(root)
            .unwrap_or(path)
            .to_string_lossy()
            .to_string(),
        Source::File { .. } => match &action.module {
            Some(m) => format!("module {m}"),
            None => "goroot".to_string(),
        },
        Source::Output { action: dep, name } => {
            let d = &plan.graph[*dep];
            let what = if name.ends_with("export.a") {
                "export data"
            } else if name.ends_with("_pkg_.a") {
                "link object"
            } else {
                name.as_str()
            };
            format!("{what} of {} {} ", d.kind, d.package)
                .trim_end()
                .to_string()
        }
        Source::Generated(_) => "generated".to_string(),
    }
}

/// What went into the key of `node`, given the digests of its inputs, and
/// the context that names changes.
pub fn ingredients(
    plan: &Plan,
    root: &Path,
    toolchain: &Toolchain,
    tags: &[String],
    node: NodeIndex,
    record: &Record,
) -> Ingredients {
    let a = &plan.graph[node];
    let from_deps = a.inputs.iter().filter_map(|i| match &i.source {
        Source::Output { action, .. } => plan.graph[*action].module.clone(),
        _ => None,
    });
    Ingredients {
        key: KeyIngredients::of(a, &toolchain.id, &record.inputs),
        origins: a
            .inputs
            .iter()
            .map(|i| (i.at.clone(), origin(plan, root, a, &i.source)))
            .collect(),
        tags: tags.to_vec(),
        module: a.module.clone(),
        modules: a.module.iter().cloned().chain(from_deps).collect(),
        build_info: a
            .inputs
            .iter()
            .find_map(|i| match &i.source {
                Source::Generated(bytes) if i.at == "obj/importcfg.link" => {
                    Some(crate::plan::buildinfo::info_lines(bytes))
                }
                _ => None,
            })
            .unwrap_or_default(),
    }
}

/// Multiset difference of two lists: (only in old, only in new).
fn diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let mut count: HashMap<&String, i64> = HashMap::new();
    for o in old {
        *count.entry(o).or_default() += 1;
    }
    for n in new {
        *count.entry(n).or_default() -= 1;
    }
    let removed = old
        .iter()
        .filter(|o| count.get(o).copied().unwrap_or(0) > 0)
        .cloned()
        .collect();
    let added = new
        .iter()
        .filter(|n| count.get(n).copied().unwrap_or(0) < 0)
        .cloned()
        .collect();
    (removed, added)
}

type Lists = (Vec<String>, Vec<String>);

/// How a list changed: the entries only in one of them, or, when only the
/// order differs, both lists whole.
fn changed(old: &[String], new: &[String]) -> Option<Lists> {
    if old == new {
        return None;
    }
    let (removed, added) = diff(old, new);
    Some(if removed.is_empty() && added.is_empty() {
        (old.to_vec(), new.to_vec())
    } else {
        (removed, added)
    })
}

/// Pushes `make(removed, added)` for a change.
fn push_diff(
    out: &mut Vec<MissReason>,
    change: Option<Lists>,
    make: fn(Vec<String>, Vec<String>) -> MissReason,
) {
    if let Some((removed, added)) = change {
        out.push(make(removed, added));
    }
}

/// Why an action with ingredients `new` missed, given its previous ones.
pub fn reasons(old: Option<&Ingredients>, new: &Ingredients) -> Vec<MissReason> {
    use MissReason::*;
    let Some(old) = old else {
        return vec![NoPreviousRecord];
    };
    // Destructured without `..`: a new key ingredient does not compile until
    // its change is named here too.
    // In the order the reasons are named.
    let KeyIngredients {
        toolchain,
        rule,
        kind,
        inputs: _, // by input_changes
        argv,
        platform_env,
        env,
        tool_env,
        outputs,
    } = &new.key;
    let was = &old.key;
    let mut out = Vec::new();
    if was.toolchain != *toolchain {
        out.push(ToolchainChanged {
            old: was.toolchain,
            new: *toolchain,
        });
    }
    if was.rule != *rule || was.kind != *kind {
        out.push(RuleChanged { kind: *kind });
    }
    // Tags reach a key only through the files go list selects (reported as
    // files) and the build info of links.
    if old.tags != new.tags && *kind == ActionKind::Link {
        out.push(TagsChanged {
            old: old.tags.clone(),
            new: new.tags.clone(),
        });
    }
    out.extend(module_changes(old, new));
    out.extend(input_changes(old, new));
    out.extend(list_changes(
        was,
        [argv, platform_env, env, tool_env, outputs],
    ));
    if *was == new.key {
        out.push(CacheEntryMissing);
    } else if out.is_empty() {
        out.push(unnamed_input_change(was, &new.key));
    }
    out
}

/// Changes of the list ingredients: argv, platform env, action env, tool
/// env, outputs (the new values, in that order).
fn list_changes(
    was: &KeyIngredients<Option<FileDigest>>,
    now: [&Vec<String>; 5],
) -> Vec<MissReason> {
    use MissReason::*;
    let [argv, platform_env, env, tool_env, outputs] = now;
    let mut out = Vec::new();
    push_diff(&mut out, changed(&was.argv, argv), |removed, added| {
        FlagsChanged { removed, added }
    });
    let platform = changed(&was.platform_env, platform_env);
    // The action's env repeats the platform variables: name them once.
    let env = changed(&was.env, env).and_then(|(mut removed, mut added)| {
        if let Some((gone, came)) = &platform {
            removed.retain(|e| !gone.contains(e));
            added.retain(|e| !came.contains(e));
        }
        (!removed.is_empty() || !added.is_empty()).then_some((removed, added))
    });
    push_diff(&mut out, platform, |removed, added| PlatformEnvChanged {
        removed,
        added,
    });
    push_diff(&mut out, env, |removed, added| EnvChanged {
        removed,
        added,
    });
    push_diff(
        &mut out,
        changed(&was.tool_env, tool_env),
        |removed, added| ToolEnvChanged { removed, added },
    );
    push_diff(
        &mut out,
        changed(&was.outputs, outputs),
        |removed, added| OutputsChanged { removed, added },
    );
    out
}

/// Module version changes among the modules the action reads.
fn module_changes(old: &Ingredients, new: &Ingredients) -> Vec<MissReason> {
    let versions = |i: &Ingredients| -> BTreeMap<String, String> {
        i.modules
            .iter()
            .filter_map(|m| m.split_once('@'))
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect()
    };
    let old_versions = versions(old);
    versions(new)
        .into_iter()
        .filter_map(|(module, new_v)| {
            let old_v = old_versions.get(&module).filter(|v| **v != new_v)?;
            Some(MissReason::ModuleChanged {
                module,
                old: old_v.clone(),
                new: new_v,
            })
        })
        .collect()
}

/// An input as compared: its origin and digest.
type Seen<'a> = (&'a str, Option<FileDigest>);

fn by_path(i: &Ingredients) -> BTreeMap<&str, Seen<'_>> {
    i.key
        .inputs
        .iter()
        .map(|k| {
            let origin = i.origins.get(&k.at).map(String::as_str).unwrap_or("");
            (k.at.as_str(), (origin, k.digest))
        })
        .collect()
}

/// Fixed by a module version or the toolchain: named through those, not
/// file by file.
fn fixed(origin: &str) -> bool {
    origin.starts_with("module ") || origin == "goroot"
}

/// Inputs added, changed and removed, by sandbox path.
fn input_changes(old: &Ingredients, new: &Ingredients) -> Vec<MissReason> {
    let (was, now) = (by_path(old), by_path(new));
    let mut out: Vec<MissReason> = now
        .iter()
        .filter_map(|(at, n)| input_change(old, new, at, was.get(at), *n))
        .collect();
    for (at, (origin, _)) in &was {
        if !(now.contains_key(at) || fixed(origin)) {
            out.push(MissReason::FileRemoved {
                path: origin.to_string(),
            });
        }
    }
    out
}

/// How one input at `at` changed, if that is named input by input.
fn input_change(
    old: &Ingredients,
    new: &Ingredients,
    at: &str,
    was: Option<&Seen>,
    (origin, digest): Seen,
) -> Option<MissReason> {
    use MissReason::*;
    let Some(&(_, was)) = was else {
        return (!fixed(origin)).then(|| FileAdded {
            path: origin.to_string(),
        });
    };
    if was == digest {
        return None;
    }
    let Some(new_digest) = digest else {
        return Some(DependencyWillRebuild {
            from: origin.to_string(),
        });
    };
    // Recorded ingredients have every digest; the fallback names the rest.
    let old_digest = was?;
    if old.module != new.module && origin.starts_with("module ") {
        return None;
    }
    Some(
        if origin == "generated" && old.build_info != new.build_info {
            let (removed, added) = diff(&old.build_info, &new.build_info);
            BuildInfoChanged { removed, added }
        } else if origin == "generated" {
            GeneratedChanged { name: at.into() }
        } else if at.starts_with("pkg/") || at.starts_with("obj/") {
            DependencyChanged {
                from: origin.to_string(),
                old: old_digest,
                new: new_digest,
            }
        } else {
            FileChanged {
                path: origin.to_string(),
                old: old_digest,
                new: new_digest,
            }
        },
    )
}

/// Names the inputs that differ when no other reason does (the keys differ
/// only in inputs fixed by a module or the toolchain, or in their order).
fn unnamed_input_change(
    old: &KeyIngredients<Option<FileDigest>>,
    new: &KeyIngredients<Option<FileDigest>>,
) -> MissReason {
    let digests = |k: &KeyIngredients<Option<FileDigest>>| -> BTreeMap<String, Option<FileDigest>> {
        k.inputs.iter().map(|i| (i.at.clone(), i.digest)).collect()
    };
    let (was, now) = (digests(old), digests(new));
    let paths: BTreeSet<String> = was
        .keys()
        .chain(now.keys())
        .filter(|at| was.get(*at) != now.get(*at))
        .cloned()
        .collect();
    if paths.is_empty() {
        MissReason::InputsReordered
    } else {
        MissReason::InputsChanged {
            paths: paths.into_iter().collect(),
        }
    }
}

/// The previous build's ingredients of one workspace.
pub struct History {
    path: PathBuf,
    fingerprint_path: PathBuf,
}

impl History {
    pub fn new(cache: &Cache, root: &Path) -> History {
        let name = FileDigest::of_bytes(root.to_string_lossy().as_bytes());
        let dir = cache.dir(crate::cache::Bucket::Explain);
        History {
            path: dir.join(format!("{name}.json")),
            fingerprint_path: dir.join(format!("{name}.fp")),
        }
    }

    pub fn load(&self) -> BTreeMap<String, Ingredients> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default()
    }

    /// Explains every executed (or would-run) action and remembers this
    /// build's ingredients. Returns the reasons by node.
    pub fn explain_and_record(
        &self,
        plan: &Plan,
        root: &Path,
        toolchain: &Toolchain,
        tags: &[String],
        records: &[Record],
        save: bool,
    ) -> BTreeMap<NodeIndex, Vec<MissReason>> {
        let missed: Vec<usize> = (0..records.len())
            .filter(|&i| {
                matches!(
                    records[i].outcome,
                    Outcome::Executed | Outcome::WouldRun | Outcome::Failed
                )
            })
            .collect();
        let mut fp = KeyEncoder::<kind::File>::new("explain fingerprint");
        for (i, r) in records.iter().enumerate() {
            fp.str("action", &identity(&plan.graph[NodeIndex::new(i)]))
                .str("key", &r.key.map(|k| k.to_hex()).unwrap_or_default());
        }
        let fingerprint = fp.finish().to_hex();
        let unchanged = std::fs::read_to_string(&self.fingerprint_path)
            .map(|f| f == fingerprint)
            .unwrap_or(false);
        if missed.is_empty() && unchanged {
            return BTreeMap::new();
        }
        let mut history = self.load();
        let mut out = BTreeMap::new();
        for i in missed {
            let node = NodeIndex::new(i);
            let a = &plan.graph[node];
            let new = ingredients(plan, root, toolchain, tags, node, &records[i]);
            out.insert(node, reasons(history.get(&identity(a)), &new));
        }
        if save {
            for (i, r) in records.iter().enumerate() {
                if r.key.is_some() {
                    let node = NodeIndex::new(i);
                    history.insert(
                        identity(&plan.graph[node]),
                        ingredients(plan, root, toolchain, tags, node, r),
                    );
                }
            }
            // The history is a diagnostic aid; failing to save it is harmless.
            if let Ok(data) = serde_json::to_vec(&history) {
                let _ = crate::fsutil::write_atomic(&self.path, &data);
                let _ = crate::fsutil::write_atomic(&self.fingerprint_path, fingerprint.as_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::KeyInput;
    use MissReason::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn d(s: &str) -> FileDigest {
        FileDigest::of_bytes(s.as_bytes())
    }

    fn input(at: &str, content: &str) -> KeyInput<Option<FileDigest>> {
        KeyInput {
            at: at.into(),
            digest: Some(d(content)),
        }
    }

    /// A compile of a workspace package with one source, one dependency's
    /// export data, one standard-library file and a generated importcfg.
    fn base() -> Ingredients {
        let key = KeyIngredients {
            kind: ActionKind::Compile,
            rule: d("rule"),
            toolchain: ToolchainId::from_hex(&"ab".repeat(32)).expect("hex"),
            platform_env: strings(&["GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOAMD64=v1"]),
            argv: strings(&["${TOOLDIR}/compile", "-p", "x"]),
            env: strings(&[
                "GOOS=linux",
                "GOARCH=amd64",
                "GOAMD64=v1",
                "GOROOT=${GOROOT}",
            ]),
            tool_env: strings(&["GOTOOLCHAIN=local", "LC_ALL=C"]),
            outputs: strings(&["obj/export.a"]),
            inputs: vec![
                input("src/x.go", "package x"),
                input("pkg/dep.a", "dep"),
                input("goroot/src/a.go", "std"),
                input("obj/importcfg", "cfg"),
            ],
        };
        let origins = [
            ("src/x.go", "x/x.go"),
            ("pkg/dep.a", "export data of compile example.com/dep"),
            ("goroot/src/a.go", "goroot"),
            ("obj/importcfg", "generated"),
        ];
        Ingredients {
            key,
            origins: origins
                .iter()
                .map(|(a, o)| (a.to_string(), o.to_string()))
                .collect(),
            tags: Vec::new(),
            module: None,
            modules: BTreeSet::new(),
            build_info: Vec::new(),
        }
    }

    /// Changing one ingredient changes the key, and `reasons` names it
    /// (never as a missing cache entry).
    fn names(change: impl FnOnce(&mut KeyIngredients<Option<FileDigest>>), expected: MissReason) {
        let mut new = base();
        change(&mut new.key);
        names_change(&new, expected);
    }

    fn names_change(new: &Ingredients, expected: MissReason) {
        let old = base();
        let key = |i: &Ingredients| i.key.complete().map(|k| k.key());
        assert!(key(&old).is_some());
        assert_ne!(key(&old), key(new), "the key must change");
        assert_eq!(reasons(Some(&old), new), vec![expected]);
    }

    fn lists(removed: &[&str], added: &[&str]) -> (Vec<String>, Vec<String>) {
        (strings(removed), strings(added))
    }

    #[test]
    fn kind() {
        names(
            |k| k.kind = ActionKind::Asm,
            RuleChanged {
                kind: ActionKind::Asm,
            },
        );
    }

    #[test]
    fn rule() {
        names(
            |k| k.rule = d("rule v2"),
            RuleChanged {
                kind: ActionKind::Compile,
            },
        );
    }

    #[test]
    fn toolchain() {
        let new = ToolchainId::from_hex(&"cd".repeat(32)).expect("hex");
        let old = base().key.toolchain;
        names(|k| k.toolchain = new, ToolchainChanged { old, new });
    }

    #[test]
    fn platform_env() {
        // The action env carries the same variable: named once.
        let (removed, added) = lists(&["GOAMD64=v1"], &["GOAMD64=v2"]);
        names(
            |k| {
                k.platform_env[3] = "GOAMD64=v2".into();
                k.env[2] = "GOAMD64=v2".into();
            },
            PlatformEnvChanged { removed, added },
        );
    }

    #[test]
    fn argv() {
        let (removed, added) = lists(&["x"], &["y"]);
        names(|k| k.argv[2] = "y".into(), FlagsChanged { removed, added });
    }

    #[test]
    fn env() {
        let (removed, added) = lists(&[], &["GOEXPERIMENT=jsonv2"]);
        names(
            |k| k.env.push("GOEXPERIMENT=jsonv2".into()),
            EnvChanged { removed, added },
        );
    }

    #[test]
    fn tool_env() {
        let (removed, added) = lists(&["LC_ALL=C"], &["LC_ALL=C.UTF-8"]);
        names(
            |k| k.tool_env[1] = "LC_ALL=C.UTF-8".into(),
            ToolEnvChanged { removed, added },
        );
    }

    #[test]
    fn tool_env_order() {
        let (removed, added) = lists(
            &["GOTOOLCHAIN=local", "LC_ALL=C"],
            &["LC_ALL=C", "GOTOOLCHAIN=local"],
        );
        names(|k| k.tool_env.swap(0, 1), ToolEnvChanged { removed, added });
    }

    #[test]
    fn outputs() {
        let (removed, added) = lists(&[], &["obj/_pkg_.a"]);
        names(
            |k| k.outputs.push("obj/_pkg_.a".into()),
            OutputsChanged { removed, added },
        );
    }

    #[test]
    fn input_file_content() {
        let (old, new) = (d("package x"), d("package x // edited"));
        let path = "x/x.go".to_string();
        names(
            |k| k.inputs[0].digest = Some(new),
            FileChanged { path, old, new },
        );
    }

    #[test]
    fn input_dependency_output() {
        let (old, new) = (d("dep"), d("dep 2"));
        let from = "export data of compile example.com/dep".to_string();
        names(
            |k| k.inputs[1].digest = Some(new),
            DependencyChanged { from, old, new },
        );
    }

    #[test]
    fn input_generated() {
        let name = "obj/importcfg".to_string();
        names(
            |k| k.inputs[3].digest = Some(d("cfg 2")),
            GeneratedChanged { name },
        );
    }

    #[test]
    fn input_removed() {
        let path = "x/x.go".to_string();
        names(|k| drop(k.inputs.remove(0)), FileRemoved { path });
    }

    #[test]
    fn input_order() {
        names(|k| k.inputs.swap(0, 1), InputsReordered);
    }

    #[test]
    fn input_fixed_by_toolchain_without_other_reason() {
        // Standard-library files come and go with the toolchain, so they are
        // not named one by one; when nothing else explains the change, the
        // path is named rather than a missing entry.
        let mut new = base();
        new.key.inputs.push(input("goroot/src/b.go", "std b"));
        new.origins
            .insert("goroot/src/b.go".into(), "goroot".into());
        let paths = strings(&["goroot/src/b.go"]);
        names_change(&new, InputsChanged { paths });
    }

    #[test]
    fn input_added() {
        let mut new = base();
        new.key.inputs.push(input("src/y.go", "package x"));
        new.origins.insert("src/y.go".into(), "x/y.go".into());
        let path = "x/y.go".to_string();
        names_change(&new, FileAdded { path });
    }

    #[test]
    fn unknown_dependency_output() {
        let mut new = base();
        new.key.inputs[1].digest = None;
        let from = "export data of compile example.com/dep".to_string();
        assert_eq!(
            reasons(Some(&base()), &new),
            vec![DependencyWillRebuild { from }]
        );
    }

    #[test]
    fn missing_entry_only_when_the_key_is_equal() {
        assert_eq!(reasons(Some(&base()), &base()), vec![CacheEntryMissing]);
        assert_eq!(reasons(None, &base()), vec![NoPreviousRecord]);
        // Tags alone do not change a key: the entry is missing too.
        let mut link = base();
        link.key.kind = ActionKind::Link;
        let mut tagged = link.clone();
        tagged.tags = strings(&["netgo"]);
        let why = reasons(Some(&link), &tagged);
        assert_eq!(why.last(), Some(&CacheEntryMissing), "{why:?}");
    }

    #[test]
    fn display_and_json_tags() {
        let (removed, added) = lists(&["LC_ALL=C"], &["LC_ALL=C.UTF-8"]);
        let r = ToolEnvChanged { removed, added };
        assert_eq!(
            r.to_string(),
            "tool environment changed: -[LC_ALL=C] +[LC_ALL=C.UTF-8]"
        );
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["reason"], "tool_env_changed");
        let r = FileChanged {
            path: "a.go".into(),
            old: d("a"),
            new: d("b"),
        };
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["old"], d("a").to_hex());
        assert_eq!(
            r.to_string(),
            format!(
                "file a.go changed ({} → {})",
                d("a").short(),
                d("b").short()
            )
        );
        let (removed, added) = lists(&["-p"], &[]);
        let r = FlagsChanged { removed, added };
        assert_eq!(r.to_string(), "flags changed: -[-p] +[]");
    }

    #[test]
    fn records_round_trip() {
        let mut i = base();
        i.key.inputs[1].digest = None;
        let json = serde_json::to_vec(&i).expect("json");
        let back: Ingredients = serde_json::from_slice(&json).expect("parse");
        assert_eq!(back, i);
        assert_eq!(i.inputs()["pkg/dep.a"].digest, "");
        assert_eq!(i.inputs()["src/x.go"].origin, "x/x.go");
    }
}
