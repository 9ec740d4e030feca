//! The workspace: where its root is, what its labels mean, its optional
//! `gobuildr.toml`, and the canonical meaning of its go.mod / go.work files.
//!
//! Invariant: the root is found once, from the starting directory upwards
//! (a go.work anywhere above wins over the nearest go.mod), and every path
//! the rest of gobuildr shows or keys is relative to it.

pub mod config;
pub mod gomod;
pub mod label;
pub mod tree;

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
        let module_dirs = match kind {
            RootKind::Module => vec![PathBuf::new()],
            RootKind::Work => gomod::GoWork::load(&root.join("go.work"))?.uses,
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
        })
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
