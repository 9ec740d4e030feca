//! The workspace: where its root is, what its labels mean, its optional
//! `gobuildr.toml`, and the canonical meaning of its go.mod / go.work files.
//!
//! Invariant: the root is found once, from the starting directory upwards
//! (a go.work anywhere above wins over the nearest go.mod), and every path
//! the rest of gobuildr shows or keys is relative to it.

pub mod config;
pub mod glob;
pub mod gomod;
pub mod gosum;
pub mod label;
pub mod tree;

pub use gosum::GoSum;

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("no go.mod or go.work found in {0} or any parent directory (gobuildr builds Go modules; run `go mod init` first)")]
    NoModule(PathBuf),
    #[error("{0}: {1}")]
    NoDirectory(PathBuf, std::io::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {msg}")]
    Parse {
        path: PathBuf,
        line: usize,
        msg: String,
    },
}

/// Which file made the root a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    Work,
    Module,
}

#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub kind: RootKind,
    /// Module directories (relative to the root) and their parsed go.mod.
    pub modules: Vec<(PathBuf, gomod::GoMod)>,
    /// go.work's replacements (none for a single module).
    pub work_replaces: Vec<gomod::Replace>,
}

impl Workspace {
    /// Finds and loads the workspace containing `start`.
    pub fn find(start: &Path) -> Result<Workspace, WorkspaceError> {
        let start = start
            .canonicalize()
            .map_err(|e| WorkspaceError::NoDirectory(start.to_path_buf(), e))?;
        let (root, kind) = start
            .ancestors()
            .find(|d| d.join("go.work").is_file())
            .map(|d| (d.to_path_buf(), RootKind::Work))
            .or_else(|| {
                start
                    .ancestors()
                    .find(|d| d.join("go.mod").is_file())
                    .map(|d| (d.to_path_buf(), RootKind::Module))
            })
            .ok_or_else(|| WorkspaceError::NoModule(start.clone()))?;
        let (module_dirs, work_replaces) = match kind {
            RootKind::Module => (vec![PathBuf::new()], Vec::new()),
            RootKind::Work => {
                let w = gomod::GoWork::load(&root.join("go.work"))?;
                (w.uses, w.replaces)
            }
        };
        let mut modules = Vec::new();
        for dir in module_dirs {
            let m = gomod::GoMod::load(&root.join(&dir).join("go.mod"))?;
            modules.push((dir, m));
        }
        Ok(Workspace {
            root,
            kind,
            modules,
            work_replaces,
        })
    }

    /// Directories that replace modules (`replace m => ../dir`), absolute:
    /// their files are read like the workspace's.
    pub fn local_replacements(&self) -> Vec<PathBuf> {
        let from_work = self.work_replaces.iter().map(|r| (PathBuf::new(), r));
        let from_mods = self
            .modules
            .iter()
            .flat_map(|(d, m)| m.replaces.iter().map(move |r| (d.clone(), r)));
        let mut out: Vec<PathBuf> = from_work
            .chain(from_mods)
            .filter(|(_, r)| gomod::is_local(&r.2))
            .map(|(d, r)| self.root.join(d).join(&r.2))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The module directories, relative to the root.
    pub fn module_dirs(&self) -> Vec<String> {
        self.modules
            .iter()
            .map(|(d, _)| d.to_string_lossy().to_string())
            .collect()
    }

    /// Where `dir` is relative to the root ("" for the root, or outside).
    pub fn subdir(&self, dir: &Path) -> String {
        dir.canonicalize()
            .ok()
            .and_then(|d| self.rel(&d))
            .unwrap_or_default()
    }

    /// Path relative to the root, with `/` separators, or None if outside.
    pub fn rel(&self, path: &Path) -> Option<String> {
        path.strip_prefix(&self.root)
            .ok()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
    }
}
