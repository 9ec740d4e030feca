//! The errors in the packages a request needs, reported before any
//! planning, as go build reports them; cgo and foreign files refused.

use std::collections::BTreeSet;
use std::path::Path;

use super::{PlanError, Root};
use crate::discover::{Package, PackageGraph};

/// What a package needs that gobuildr does not build: cgo (go list hides
/// cgo files when cgo is off: they are found behind its errors) and files
/// for other compilers.
fn unsupported_in(p: &Package) -> Vec<String> {
    let mut cgo = match &p.error {
        Some(_) if p.excluded_by_constraints() => vec![(p.import_path.clone(), p.cgo_ignored())],
        _ => Vec::new(),
    };
    for e in &p.deps_errors {
        let pkg = e.import_stack.last().cloned().unwrap_or_default();
        cgo.push((pkg, crate::discover::cgo_files_behind(&e.err)));
    }
    let mut out: Vec<String> = cgo
        .into_iter()
        .filter(|(_, files)| !files.is_empty())
        .map(|(pkg, files)| {
            format!(
                "package {pkg}: needs cgo ({} import \"C\"), which gobuildr does not build: it builds with CGO_ENABLED=0",
                files.join(", ")
            )
        })
        .collect();
    if p.foreign_files() > 0 {
        out.push(format!(
            "package {}: {} cgo, C, C++, Objective-C, Fortran or SWIG files ({}) are not supported: gobuildr builds with CGO_ENABLED=0",
            p.import_path,
            p.foreign_files(),
            p.foreign_names().join(", ")
        ));
    }
    out
}

/// Reports errors in the packages a request needs, as go build does.
pub(super) fn check_errors(
    graph: &PackageGraph,
    roots: &[Root],
    root_dir: &Path,
) -> Result<BTreeSet<String>, PlanError> {
    let mut errors = Vec::new();
    let mut unsupported = Vec::new();
    let mut skip = BTreeSet::new();
    let relativize = |s: &str| s.replace(&format!("{}/", root_dir.display()), "");
    for r in roots {
        let Some(p) = graph.packages.get(&r.import_path) else {
            continue;
        };
        if p.excluded_by_constraints() && !r.explicit {
            skip.insert(r.import_path.clone());
        }
    }
    for name in &graph.order {
        let p = &graph.packages[name];
        if skip.contains(name) {
            continue;
        }
        let refused = unsupported_in(p);
        if !refused.is_empty() {
            unsupported.extend(refused);
            continue;
        }
        if let Some(e) = &p.error {
            let mut what = format!("package {}: {}", p.import_path, relativize(&e.to_string()));
            if p.excluded_by_constraints() {
                what.push_str(&format!(" (on {})", graph.platform));
            }
            errors.push(what);
        }
        for e in &p.deps_errors {
            errors.push(relativize(&e.to_string()));
        }
    }
    let mut seen = BTreeSet::new();
    unsupported.retain(|e| seen.insert(e.clone()));
    if !unsupported.is_empty() {
        return Err(PlanError::Unsupported(unsupported.join("\n")));
    }
    errors.retain(|e| seen.insert(e.clone()));
    if errors.is_empty() {
        Ok(skip)
    } else {
        Err(PlanError::Packages(errors.join("\n")))
    }
}
