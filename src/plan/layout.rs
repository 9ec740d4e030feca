//! Where a package's files sit in the sandbox: below `src/`, raised by as
//! many directories as its assembly includes reach up.

use std::path::PathBuf;

use super::includes::{self, Includes};
use super::planner::Planner;
use super::PlanError;
use crate::discover::Package;
use crate::rules::rules;

/// Where a package's files sit in the sandbox.
pub(super) struct Layout {
    /// Below `src/`: empty, or the package's last directories
    /// (`dh/x25519/`) when its assembly includes files above it.
    pub prefix: String,
    pub includes: Includes,
}

impl Layout {
    /// Sandbox-relative place of a file given relative to the package.
    pub(super) fn at(&self, rel: &str) -> String {
        let joined = format!("{}{rel}", self.prefix);
        let mut parts: Vec<&str> = Vec::new();
        for p in joined.split('/') {
            match p {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                p => parts.push(p),
            }
        }
        format!("src/{}", parts.join("/"))
    }
}

impl Planner<'_> {
    /// The directory the package's includes reach up to (its own when
    /// they stay below it): staged as `src/`.
    fn include_root(pkg: &Package, layout: &Layout) -> PathBuf {
        let mut dir = pkg.dir.clone();
        for _ in 0..layout.includes.depth {
            dir.pop();
        }
        dir
    }

    /// Where the package's files go, after finding what its assembly
    /// includes from other directories (never needed for the standard
    /// library, whose headers sit below the packages that include them).
    pub(super) fn layout(&self, pkg: &Package) -> Result<Layout, PlanError> {
        if pkg.s_files.is_empty() || pkg.standard {
            return Ok(Layout {
                prefix: String::new(),
                includes: Includes::default(),
            });
        }
        let (limit, name) = match pkg.module.as_ref() {
            Some(m) => (
                m.dir.clone().unwrap_or_else(|| pkg.dir.clone()),
                format!("module {}", m.path),
            ),
            None => (self.req.root.to_path_buf(), "the workspace".to_string()),
        };
        let user = self.user_flags(&self.req.flags.asmflags, pkg);
        let dirs: Vec<String> = includes::relative_dirs(&user)
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        let goroot_include = self.req.toolchain.goroot.join(&rules().asm.include_dir);
        let search = includes::Search {
            dirs: &dirs,
            goroot_include: &goroot_include,
            limit: &limit,
            limit_name: &name,
        };
        let includes = includes::scan(&pkg.dir, &pkg.s_files, &search)?;
        Ok(Layout {
            prefix: includes::prefix(&pkg.dir, includes.depth),
            includes,
        })
    }

    /// The directory staged whole as `src/` for a package fixed by an
    /// identity: the package's, or the one its includes reach up to.
    pub(super) fn src_link(&self, pkg: &Package, layout: &Layout) -> Option<PathBuf> {
        self.fixed_by(pkg)?;
        Some(Self::include_root(pkg, layout))
    }

    /// What `${SB}/src/` means to the user, for rewriting tool messages.
    pub(super) fn src_display(&self, pkg: &Package, layout: &Layout) -> String {
        let dir = Self::include_root(pkg, layout);
        let root = self.req.root.join("");
        match root.to_str().and_then(|r| dir.to_str()?.strip_prefix(r)) {
            Some(rel) => format!("{rel}/"),
            None => format!("{}/", Self::trim_target(pkg)),
        }
    }
}
