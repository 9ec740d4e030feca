//! Staging: every input of an action at its place in the sandbox.

use std::fs;
use std::path::Path;

use super::{io_err, ExecError, LocalExecutor};
use crate::digest::FileDigest;
use crate::plan::{Action, Input, Source};
use crate::schedule::shuffle;

fn set_readonly(path: &Path, ro: bool) -> Result<(), ExecError> {
    let mut perm = fs::metadata(path).map_err(io_err(path))?.permissions();
    perm.set_readonly(ro);
    fs::set_permissions(path, perm).map_err(io_err(path))
}

/// The sandbox's fixed directories, and `src` (the package directory
/// itself for a `src_link` action).
fn make_dirs(action: &Action, sb: &Path) -> Result<(), ExecError> {
    for d in ["obj", "pkg", "include", "tmp"] {
        let p = sb.join(d);
        fs::create_dir_all(&p).map_err(io_err(&p))?;
    }
    let src = sb.join("src");
    match &action.src_link {
        Some(dir) => std::os::unix::fs::symlink(dir, &src).map_err(io_err(&src)),
        None => fs::create_dir(&src).map_err(io_err(&src)),
    }
}

/// A blob at `dest`: hard-linked, else copied. Never through a file that
/// is already there: that could be a link to another blob, and writing it
/// would corrupt the store (two inputs at one place is a planning bug).
fn link_or_copy(blob: &Path, dest: &Path) -> Result<(), ExecError> {
    match fs::hard_link(blob, dest) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(io_err(dest)(e)),
        Err(_) => copy_new(blob, dest),
    }
}

/// Copies `from` to a new file `dest` (never through an existing one).
fn copy_new(from: &Path, dest: &Path) -> Result<(), ExecError> {
    let mut src = fs::File::open(from).map_err(io_err(from))?;
    let mut out = fs::File::create_new(dest).map_err(io_err(dest))?;
    std::io::copy(&mut src, &mut out).map_err(io_err(dest))?;
    Ok(())
}

impl LocalExecutor<'_> {
    /// Puts every input at its place in the sandbox. `digests` are the
    /// inputs' digests, in input order (an `Output` source's blob is named
    /// by its digest).
    pub(super) fn stage(
        &self,
        action: &Action,
        digests: &[FileDigest],
        sb: &Path,
    ) -> Result<(), ExecError> {
        make_dirs(action, sb)?;
        for (input, digest) in self.staging_order(action.inputs.iter().zip(digests).collect()) {
            if action.src_link.is_some() && input.at.starts_with("src/") {
                continue;
            }
            let dest = sb.join(&input.at);
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io_err(parent))?;
            }
            self.stage_one(input, digest, &dest, sb)?;
        }
        Ok(())
    }

    /// `items` in input order, or shuffled by the seed.
    fn staging_order<T>(&self, items: Vec<T>) -> Vec<T> {
        let mut keyed: Vec<(u64, T)> = items
            .into_iter()
            .enumerate()
            .map(|(i, x)| {
                let rank = self.shuffle.map_or(i as u64, |seed| shuffle::rank(seed, i));
                (rank, x)
            })
            .collect();
        keyed.sort_by_key(|(rank, _)| *rank);
        keyed.into_iter().map(|(_, x)| x).collect()
    }

    fn stage_one(
        &self,
        input: &Input,
        digest: &FileDigest,
        dest: &Path,
        sb: &Path,
    ) -> Result<(), ExecError> {
        match &input.source {
            Source::File {
                path,
                immutable: true,
                ..
            } => std::os::unix::fs::symlink(path, dest).map_err(io_err(dest)),
            Source::File { path, digest, .. } => {
                // A copy, checked against the digest the key was made
                // from: an edit during the build must not be compiled
                // under the old key.
                copy_new(path, dest)?;
                if FileDigest::of_file(dest).map_err(io_err(dest))? != *digest {
                    return Err(ExecError::ChangedDuringBuild(path.clone()));
                }
                set_readonly(dest, true)
            }
            Source::Output { .. } => {
                let blob = self.cache.blob_path(digest);
                // Read in full before use, whatever the stat cache says.
                if !self.cache.verify_blob_contents(&blob) {
                    return Err(ExecError::CorruptBlob(blob));
                }
                if input.writable {
                    copy_new(&blob, dest)?;
                    set_readonly(dest, false)
                } else {
                    link_or_copy(&blob, dest)
                }
            }
            Source::Generated(bytes) => {
                let text = self.substitute(&String::from_utf8_lossy(bytes), sb);
                let mut out = fs::File::create_new(dest).map_err(io_err(dest))?;
                std::io::Write::write_all(&mut out, text.as_bytes()).map_err(io_err(dest))
            }
        }
    }
}
