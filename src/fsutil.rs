//! Small file-system helpers every layer may use.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation that failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FsError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl FsError {
    pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
        move |source| FsError {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Writes a file so that readers see either the old contents or the new,
/// never a partial file: temp file in the same directory, then rename. No
/// fsync: a torn file after a power loss fails its digest check on read.
pub fn write_atomic(dest: &Path, data: &[u8]) -> Result<(), FsError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(FsError::at(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(FsError::at(dir))?;
    tmp.write_all(data).map_err(FsError::at(dest))?;
    tmp.persist(dest).map_err(|e| FsError {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_and_names_bad_paths() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a/b/c.txt");
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(f.parent().unwrap()).unwrap().count(), 1);
        let blocked = f.join("under-a-file");
        let err = write_atomic(&blocked, b"x").unwrap_err();
        assert!(
            err.to_string().starts_with(&f.display().to_string()),
            "{err}"
        );
    }
}
