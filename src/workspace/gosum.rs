//! go.sum files: one `module version h1:hash` line per module zip, and
//! `module version/go.mod h1:hash` per go.mod. Readers here are lenient
//! as before: a missing file is skipped, and so is a line that is not
//! three fields (blank or malformed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// go.sum lines: (module, version or version/go.mod) → h1 hash.
#[derive(Debug, Default)]
pub struct GoSum {
    lines: BTreeMap<(String, String), String>,
    /// Which file each came from, for messages.
    files: Vec<PathBuf>,
}

/// One go.sum line: file, module, version (`v` or `v/go.mod`), hash.
pub struct SumLine {
    pub file: PathBuf,
    pub module: String,
    pub version: String,
    pub hash: String,
}

/// The fields of one go.sum line, if it has exactly three.
fn fields(line: &str) -> Option<[&str; 3]> {
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        [m, v, h] => Some([m, v, h]),
        _ => None,
    }
}

/// Each readable file's path and text, in order.
fn texts(files: &[PathBuf]) -> impl Iterator<Item = (&Path, String)> {
    files
        .iter()
        .filter_map(|f| Some((f.as_path(), std::fs::read_to_string(f).ok()?)))
}

/// Reads every line of the given go.sum files (missing files are skipped).
pub fn read_lines(files: &[PathBuf]) -> Vec<SumLine> {
    let mut out = Vec::new();
    for (file, text) in texts(files) {
        out.extend(text.lines().filter_map(fields).map(|[m, v, h]| SumLine {
            file: file.to_path_buf(),
            module: m.into(),
            version: v.into(),
            hash: h.into(),
        }));
    }
    out
}

impl GoSum {
    /// Loads the files; for a line repeated (in one file or several), the
    /// last one read wins.
    pub fn load(files: &[PathBuf]) -> GoSum {
        let mut sum = GoSum::default();
        for (file, text) in texts(files) {
            sum.files.push(file.to_path_buf());
            for [m, v, h] in text.lines().filter_map(fields) {
                sum.lines
                    .insert((m.to_string(), v.to_string()), h.to_string());
            }
        }
        sum
    }

    pub fn get(&self, module: &str, version: &str) -> Option<&str> {
        self.lines
            .get(&(module.to_string(), version.to_string()))
            .map(String::as_str)
    }

    /// Every module version with a line for its zip: (module, version, h1).
    pub fn modules(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.lines
            .iter()
            .filter(|((_, v), _)| !v.ends_with("/go.mod"))
            .map(|((m, v), h)| (m.as_str(), v.as_str(), h.as_str()))
    }

    /// Every module version with a `/go.mod` line.
    pub fn go_mod_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lines
            .keys()
            .filter_map(|(m, v)| v.strip_suffix("/go.mod").map(|v| (m.as_str(), v)))
    }

    /// The first file read, for messages ("go.sum" if none was).
    pub(crate) fn file_name(&self) -> String {
        self.files
            .first()
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "go.sum".into())
    }
}

#[cfg(test)]
mod tests {
    use super::{read_lines, GoSum};
    use std::path::PathBuf;

    const A: &str = "example.com/a v1.0.0 h1:zip=\nexample.com/a v1.0.0/go.mod h1:mod=\n";

    fn files(texts: &[&str]) -> (tempfile::TempDir, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let paths = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = dir.path().join(format!("{i}.sum"));
                std::fs::write(&p, t).unwrap();
                p
            })
            .collect();
        (dir, paths)
    }

    #[test]
    fn zip_and_go_mod_lines() {
        let (_d, f) = files(&[A]);
        let sum = GoSum::load(&f);
        assert_eq!(sum.get("example.com/a", "v1.0.0"), Some("h1:zip="));
        assert_eq!(sum.get("example.com/a", "v1.0.0/go.mod"), Some("h1:mod="));
        assert_eq!(sum.get("example.com/a", "v1.1.0"), None);
        let modules: Vec<_> = sum.modules().collect();
        assert_eq!(modules, [("example.com/a", "v1.0.0", "h1:zip=")]);
        let mods: Vec<_> = sum.go_mod_entries().collect();
        assert_eq!(mods, [("example.com/a", "v1.0.0")]);
    }

    #[test]
    fn duplicates_are_one_line_and_the_last_wins() {
        let (_d, f) = files(&[A, A, "example.com/a v1.0.0 h1:other=\n"]);
        let sum = GoSum::load(&f);
        assert_eq!(sum.modules().count(), 1);
        assert_eq!(sum.get("example.com/a", "v1.0.0"), Some("h1:other="));
        // The raw lines keep every repeat, each with its file.
        let lines = read_lines(&f);
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[4].file, f[2]);
        assert_eq!(lines[4].hash, "h1:other=");
    }

    #[test]
    fn blank_and_malformed_lines_are_skipped() {
        let text = "\n  \nexample.com/a v1.0.0\nexample.com/b v1 h1:x= extra\nexample.com/c v1.2.0 h1:c=\n";
        let (_d, f) = files(&[text]);
        let sum = GoSum::load(&f);
        let modules: Vec<_> = sum.modules().collect();
        assert_eq!(modules, [("example.com/c", "v1.2.0", "h1:c=")]);
        let lines = read_lines(&f);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].module.as_str(), lines[0].version.as_str()),
            ("example.com/c", "v1.2.0")
        );
    }

    #[test]
    fn messages_name_the_first_file_read() {
        let (d, mut f) = files(&[A]);
        f.insert(0, d.path().join("missing.sum"));
        let sum = GoSum::load(&f);
        assert_eq!(sum.file_name(), f[1].display().to_string());
        assert_eq!(GoSum::load(&f[..1]).file_name(), "go.sum");
        assert!(read_lines(&f[..1]).is_empty());
    }
}
