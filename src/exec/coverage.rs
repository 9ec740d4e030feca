//! -coverpkg's meta-files file: go test writes it from the build, listing
//! the meta-data of every selected package a test binary should count
//! besides what it links, but only the non-empty ones (a package with no
//! functions writes empty meta-data, which the coverage runtime refuses).
//! That is known once the meta-data exists, so the run writes it here,
//! naming the files where this sandbox has them.

use std::path::Path;

use serde::Serialize;

use super::{io_err, ExecError};

/// internal/coverage's MetaFileCollection, in its field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetaFileCollection {
    import_paths: Vec<String>,
    meta_file_fragments: Vec<String>,
}

/// Writes `tmp/metafiles.txt` (the run's -test.gocoverdir) from the
/// staged index, if the run has one.
pub fn write_meta_files(sb: &Path) -> Result<(), ExecError> {
    let index = sb.join(crate::plan::META_INDEX);
    let Ok(text) = std::fs::read_to_string(&index) else {
        return Ok(());
    };
    let mut c = MetaFileCollection {
        import_paths: Vec::new(),
        meta_file_fragments: Vec::new(),
    };
    for (pkg, name) in text.lines().filter_map(|l| l.split_once('\t')) {
        let file = sb.join("meta").join(name);
        if std::fs::metadata(&file).is_ok_and(|m| m.len() > 0) {
            c.import_paths.push(pkg.to_string());
            c.meta_file_fragments
                .push(file.to_string_lossy().into_owned());
        }
    }
    let out = sb.join("tmp/metafiles.txt");
    let json = serde_json::to_vec(&c).map_err(|e| io_err(&out)(std::io::Error::other(e)))?;
    std::fs::write(&out, json).map_err(io_err(&out))
}
