//! The meaning of go.mod and go.work, independent of their layout.
//!
//! A go.mod is parsed into directives; comments, blank lines, block versus
//! single-line form and the order of requirements are dropped. Two files with
//! the same meaning give the same [`meaning`] digest, which is what may enter
//! a key (never the file's bytes).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::WorkspaceError;
use crate::digest::{kind, Digest, KeyEncoder};

/// One directive: its verb and its arguments (unquoted, `// indirect`
/// comments dropped: they do not change the build).
type Directive = (String, Vec<String>);

fn parse_error(path: &Path, line: usize, msg: impl Into<String>) -> WorkspaceError {
    WorkspaceError::Parse {
        path: path.to_path_buf(),
        line,
        msg: msg.into(),
    }
}

/// Splits one line into tokens: bare words and quoted strings, stopping at
/// a `//` comment.
fn tokens(path: &Path, lineno: usize, line: &str) -> Result<Vec<String>, WorkspaceError> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if line[i..].starts_with("//") {
            break;
        } else if c == '"' || c == '`' {
            chars.next();
            let mut s = String::new();
            let mut closed = false;
            while let Some((_, c2)) = chars.next() {
                if c2 == c {
                    closed = true;
                    break;
                }
                if c == '"' && c2 == '\\' {
                    if let Some((_, esc)) = chars.next() {
                        s.push(esc);
                    }
                    continue;
                }
                s.push(c2);
            }
            if !closed {
                return Err(parse_error(path, lineno, "unterminated quoted string"));
            }
            out.push(s);
        } else if c == '(' || c == ')' {
            chars.next();
            out.push(c.to_string());
        } else {
            let start = i;
            let mut end = line.len();
            while let Some(&(j, c2)) = chars.peek() {
                if c2.is_whitespace() || c2 == '(' || c2 == ')' || line[j..].starts_with("//") {
                    end = j;
                    break;
                }
                chars.next();
            }
            out.push(line[start..end].to_string());
        }
    }
    Ok(out)
}

/// Parses the directive structure shared by go.mod and go.work.
fn directives(path: &Path, text: &str) -> Result<Vec<Directive>, WorkspaceError> {
    let mut out = Vec::new();
    let mut block: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let toks = tokens(path, lineno, line)?;
        if toks.is_empty() {
            continue;
        }
        if let Some(verb) = &block {
            if toks[0] == ")" {
                block = None;
            } else {
                out.push((verb.clone(), toks));
            }
            continue;
        }
        let verb = toks[0].clone();
        let args = toks[1..].to_vec();
        if args.len() == 1 && args[0] == "(" {
            block = Some(verb);
        } else if args.first().map(|a| a == "(").unwrap_or(false)
            && args.last().map(|a| a == ")").unwrap_or(false)
        {
            // `require ()`: an empty block.
        } else {
            out.push((verb, args));
        }
    }
    if block.is_some() {
        return Err(parse_error(
            path,
            text.lines().count(),
            "unterminated block",
        ));
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String, WorkspaceError> {
    std::fs::read_to_string(path).map_err(|source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The meaning of a go.mod or go.work file as a digest: its directives
/// as a sorted set, so comments, blank lines, block versus single-line form
/// and order never change it.
pub fn meaning(path: &Path, text: &str) -> Result<Digest<kind::File>, WorkspaceError> {
    let set: BTreeSet<Directive> = directives(path, text)?.into_iter().collect();
    let mut e = KeyEncoder::<kind::File>::new("go.mod meaning");
    for (verb, args) in &set {
        e.str("verb", verb).strs("args", args);
    }
    Ok(e.finish())
}

/// `old [v] => new [v]` as (old path, old version or "", new path or
/// directory, new version or "").
pub type Replace = (String, String, String, String);

fn replace(args: &[String]) -> Replace {
    let arrow = args.iter().position(|a| a == "=>").unwrap_or(args.len());
    let (old, new) = (&args[..arrow], args.get(arrow + 1..).unwrap_or(&[]));
    let at = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
    (at(old, 0), at(old, 1), at(new, 0), at(new, 1))
}

/// Whether a replacement points at a directory (not a module version).
pub fn is_local(new: &str) -> bool {
    new.starts_with("./") || new.starts_with("../") || new.starts_with('/')
}

/// The parts of a go.mod gobuildr reads itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoMod {
    pub module: String,
    /// `require` lines: (module path, version).
    pub requires: Vec<(String, String)>,
    pub replaces: Vec<Replace>,
    /// The `toolchain` directive, if any (`go1.26.8`).
    pub toolchain: Option<String>,
}

impl GoMod {
    pub fn load(path: &Path) -> Result<GoMod, WorkspaceError> {
        Self::parse(path, &read(path)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<GoMod, WorkspaceError> {
        let mut m = GoMod::default();
        for (verb, args) in directives(path, text)? {
            match (verb.as_str(), &args[..]) {
                ("module", [p, ..]) => m.module = p.clone(),
                ("require", [p, v, ..]) => m.requires.push((p.clone(), v.clone())),
                ("toolchain", [t, ..]) => m.toolchain = Some(t.clone()),
                ("replace", _) => m.replaces.push(replace(&args)),
                _ => {}
            }
        }
        if m.module.is_empty() {
            return Err(parse_error(path, 1, "no module directive"));
        }
        Ok(m)
    }
}

/// The meaning of a go.work file: the module directories it uses.
#[derive(Debug, Clone, Default)]
pub struct GoWork {
    pub uses: Vec<PathBuf>,
    /// go.work's own replacements (they win over the modules').
    pub replaces: Vec<Replace>,
}

impl GoWork {
    pub fn load(path: &Path) -> Result<GoWork, WorkspaceError> {
        let text = read(path)?;
        let all = directives(path, &text)?;
        let replaces = all
            .iter()
            .filter(|(verb, _)| verb == "replace")
            .map(|(_, args)| replace(args))
            .collect();
        let mut uses: Vec<PathBuf> = all
            .into_iter()
            .filter(|(verb, _)| verb == "use")
            .filter_map(|(_, args)| {
                args.first()
                    .map(|a| PathBuf::from(a.trim_start_matches("./")))
            })
            .collect();
        uses.sort();
        uses.dedup();
        if uses.is_empty() {
            return Err(parse_error(path, 1, "go.work uses no modules"));
        }
        Ok(GoWork { uses, replaces })
    }
}

/// Go's module path escaping for the proxy protocol and the cache: each
/// upper-case letter becomes `!` and its lower-case form.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_does_not_change_meaning() {
        let a =
            "module example.com/x\n\ngo 1.22\n\nrequire (\n\ta v1.0.0\n\tb v2.0.0 // indirect\n)\n";
        let b = "// a comment\nmodule   \"example.com/x\" // trailing\ngo 1.22\nrequire b v2.0.0\n\n\nrequire a v1.0.0\n";
        let p = Path::new("go.mod");
        assert_eq!(meaning(p, a).unwrap(), meaning(p, b).unwrap());
        assert_eq!(GoMod::parse(p, b).unwrap().module, "example.com/x");
        let c = "module example.com/x\ngo 1.23\nrequire a v1.0.0\nrequire b v2.0.0\n";
        assert_ne!(meaning(p, a).unwrap(), meaning(p, c).unwrap());
    }
}
