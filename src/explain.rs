//! Why an action ran: every cache miss is explained by comparing what went
//! into its key ([`Ingredients`]) with what went into it last time in this
//! workspace, giving typed [`MissReason`]s (shown by `--explain`, by
//! `gobuildr explain`, and in the summary JSON).
//!
//! Records are kept per workspace under `explain-v1/`, one map from action
//! identity (platform, kind, package, output) to ingredients. They are read
//! only when something missed and rewritten only when the set of keys
//! changed, so a no-op build does not touch them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};

use crate::cache::Cache;
use crate::digest::{kind, FileDigest, KeyEncoder};
use crate::plan::{Action, Plan, Source};
use crate::schedule::{Outcome, Record};
use crate::toolchain::Toolchain;

/// One input as recorded: its content digest and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRecord {
    pub origin: String,
    pub digest: String,
}

/// Everything that went into one action's key, in a form that can be
/// compared field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingredients {
    pub toolchain: String,
    pub rule: String,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub tags: Vec<String>,
    pub module: Option<String>,
    /// `path@version` of every module this action reads: its own package's
    /// and those of the dependencies whose outputs it takes.
    pub modules: BTreeSet<String>,
    pub inputs: BTreeMap<String, InputRecord>,
    /// A link's build info lines (`go version -m`): a stamp or a module
    /// change is named by what it changed.
    #[serde(default)]
    pub build_info: Vec<String>,
}

/// Why an action ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum MissReason {
    /// This workspace never ran this action before.
    NoPreviousRecord,
    ToolchainChanged {
        old: String,
        new: String,
    },
    /// The action's rule file in `rules/` changed.
    RuleChanged {
        kind: String,
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
        old: String,
        new: String,
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
        old: String,
        new: String,
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
    EnvChanged {
        removed: Vec<String>,
        added: Vec<String>,
    },
    /// Nothing that goes into the key changed, but the cache no longer has
    /// the entry (removed, or dropped because it was corrupt).
    CacheEntryMissing,
}

fn short(d: &str) -> &str {
    &d[..d.len().min(12)]
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MissReason::*;
        match self {
            NoPreviousRecord => write!(f, "no previous record of this action in this workspace"),
            ToolchainChanged { old, new } => {
                write!(f, "toolchain changed ({} → {})", short(old), short(new))
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
                write!(f, "file {path} changed ({} → {})", short(old), short(new))
            }
            FileAdded { path } => write!(f, "file {path} added"),
            FileRemoved { path } => write!(f, "file {path} removed"),
            DependencyChanged { from, old, new } => {
                write!(f, "{from} changed ({} → {})", short(old), short(new))
            }
            DependencyWillRebuild { from } => write!(f, "{from} is rebuilt first"),
            GeneratedChanged { name } => write!(f, "generated {name} changed"),
            BuildInfoChanged { removed, added } => write!(
                f,
                "build info changed ({} → {})",
                removed.join("; ").replace('\t', " "),
                added.join("; ").replace('\t', " ")
            ),
            FlagsChanged { removed, added } => write!(
                f,
                "flags changed: -[{}] +[{}]",
                removed.join(" "),
                added.join(" ")
            ),
            EnvChanged { removed, added } => write!(
                f,
                "environment changed: -[{}] +[{}]",
                removed.join(" "),
                added.join(" ")
            ),
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

/// What went into the key of `node`, given the digests of its inputs.
pub fn ingredients(
    plan: &Plan,
    root: &Path,
    toolchain: &Toolchain,
    tags: &[String],
    node: NodeIndex,
    record: &Record,
) -> Ingredients {
    let a = &plan.graph[node];
    let inputs = a
        .inputs
        .iter()
        .zip(&record.inputs)
        .map(|(i, d)| {
            (
                i.at.clone(),
                InputRecord {
                    origin: origin(plan, root, a, &i.source),
                    digest: d.map(|d| d.to_hex()).unwrap_or_default(),
                },
            )
        })
        .collect();
    Ingredients {
        toolchain: toolchain.id.to_hex(),
        rule: FileDigest::of_bytes(a.kind.rule_text().as_bytes()).to_hex(),
        argv: a.argv.clone(),
        env: a.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        tags: tags.to_vec(),
        module: a.module.clone(),
        modules: a
            .module
            .iter()
            .cloned()
            .chain(a.inputs.iter().filter_map(|i| match &i.source {
                Source::Output { action, .. } => plan.graph[*action].module.clone(),
                _ => None,
            }))
            .collect(),
        inputs,
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

/// Why an action with ingredients `new` missed, given its previous ones.
pub fn reasons(kind: &str, old: Option<&Ingredients>, new: &Ingredients) -> Vec<MissReason> {
    use MissReason::*;
    let Some(old) = old else {
        return vec![NoPreviousRecord];
    };
    let mut out = Vec::new();
    if old.toolchain != new.toolchain {
        out.push(ToolchainChanged {
            old: old.toolchain.clone(),
            new: new.toolchain.clone(),
        });
    }
    if old.rule != new.rule {
        out.push(RuleChanged {
            kind: kind.to_string(),
        });
    }
    // Tags reach a key only through the files go list selects (reported as
    // files) and the build info of links.
    if old.tags != new.tags && kind == "link" {
        out.push(TagsChanged {
            old: old.tags.clone(),
            new: new.tags.clone(),
        });
    }
    let versions = |i: &Ingredients| -> BTreeMap<String, String> {
        i.modules
            .iter()
            .filter_map(|m| m.split_once('@'))
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect()
    };
    let old_versions = versions(old);
    for (module, new_v) in versions(new) {
        if let Some(old_v) = old_versions.get(&module).filter(|v| **v != new_v) {
            out.push(ModuleChanged {
                module,
                old: old_v.clone(),
                new: new_v,
            });
        }
    }
    let module_changed = old.module != new.module;
    for (at, n) in &new.inputs {
        match old.inputs.get(at) {
            None if n.origin.starts_with("module ") || n.origin == "goroot" => {}
            None => out.push(FileAdded {
                path: n.origin.clone(),
            }),
            Some(o) if o.digest == n.digest => {}
            Some(_) if n.digest.is_empty() => out.push(DependencyWillRebuild {
                from: n.origin.clone(),
            }),
            Some(_) if module_changed && n.origin.starts_with("module ") => {}
            Some(_) if n.origin == "generated" && old.build_info != new.build_info => {
                let (removed, added) = diff(&old.build_info, &new.build_info);
                out.push(BuildInfoChanged { removed, added });
            }
            Some(_) if n.origin == "generated" => out.push(GeneratedChanged { name: at.clone() }),
            Some(o) if at.starts_with("pkg/") || at.starts_with("obj/") => {
                out.push(DependencyChanged {
                    from: n.origin.clone(),
                    old: o.digest.clone(),
                    new: n.digest.clone(),
                })
            }
            Some(o) => out.push(FileChanged {
                path: n.origin.clone(),
                old: o.digest.clone(),
                new: n.digest.clone(),
            }),
        }
    }
    for (at, o) in &old.inputs {
        if !(new.inputs.contains_key(at) || o.origin.starts_with("module ") || o.origin == "goroot")
        {
            out.push(FileRemoved {
                path: o.origin.clone(),
            });
        }
    }
    let (removed, added) = diff(&old.argv, &new.argv);
    if !removed.is_empty() || !added.is_empty() {
        out.push(FlagsChanged { removed, added });
    }
    let (removed, added) = diff(&old.env, &new.env);
    if !removed.is_empty() || !added.is_empty() {
        out.push(EnvChanged { removed, added });
    }
    if out.is_empty() {
        out.push(CacheEntryMissing);
    }
    out
}

/// The previous build's ingredients of one workspace.
pub struct History {
    path: PathBuf,
    fingerprint_path: PathBuf,
}

impl History {
    pub fn new(cache: &Cache, root: &Path) -> History {
        let name = FileDigest::of_bytes(root.to_string_lossy().as_bytes());
        let dir = cache.root().join("explain-v1");
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
            out.insert(
                node,
                reasons(&a.kind.to_string(), history.get(&identity(a)), &new),
            );
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
