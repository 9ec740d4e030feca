//! go build's per-package flags (`-gcflags`, `-asmflags`, `-ldflags`) with
//! go's meaning: each occurrence is a flag list, or `pattern=flags`, and a
//! package gets the list of the *last* occurrence whose pattern matches it
//! (no pattern: the packages named on the command line). Lists are split as
//! cmd/internal/quoted splits them: on white space, with `'…'` or `"…"`
//! around a whole field and no escapes.
//!
//! Patterns: `all`, `std`, `cmd`, relative directory patterns (`./...`,
//! `./cmd/x`, resolved against the directory the flag was given in), and
//! import-path patterns with `...` wildcards (which, as go's do, never cross
//! a `vendor` element unless the pattern names one).

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    #[error("unterminated {0} string")]
    Unterminated(char),
    #[error("missing =<value> in <pattern>=<value>")]
    MissingValue,
    #[error("missing <pattern> in <pattern>=<value>")]
    MissingPattern,
    #[error("parameter may not start with quote character {0}")]
    LeadingQuote(char),
    #[error("{0}")]
    Value(String),
}

/// A flag that could not be taken, and where it was given.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {flag}: {source}")]
pub struct SettingError {
    pub origin: String,
    pub flag: &'static str,
    pub source: FlagError,
}

/// go build's -buildmode values that gobuildr builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMode {
    /// The platform's default: pie where go defaults to it, else exe.
    #[default]
    Default,
    Exe,
    Pie,
}

impl BuildMode {
    fn parse(s: &str) -> Result<BuildMode, FlagError> {
        match s {
            "default" => Ok(BuildMode::Default),
            "exe" => Ok(BuildMode::Exe),
            "pie" => Ok(BuildMode::Pie),
            "c-archive" | "c-shared" | "shared" | "plugin" => Err(FlagError::Value(format!(
                "-buildmode={s} needs cgo, which gobuildr does not build (it builds with CGO_ENABLED=0)"
            ))),
            "archive" => Err(FlagError::Value(
                "-buildmode=archive writes package archives; gobuildr builds binaries (its cache holds the archives)".into(),
            )),
            _ => Err(FlagError::Value(format!(
                "unknown -buildmode={s} (gobuildr builds default, exe and pie)"
            ))),
        }
    }
}

/// -pgo: where each binary's profile comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pgo {
    /// `default.pgo` in a main package's directory, if there is one.
    #[default]
    Auto,
    Off,
    /// One profile for every binary (absolute path).
    File(PathBuf),
}

/// -buildvcs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildVcs {
    #[default]
    Auto,
    True,
    False,
}

/// go build's flags for one build, every layer applied.
#[derive(Debug, Clone, Default)]
pub struct BuildFlags {
    pub tags: Vec<String>,
    pub gcflags: PerPackage,
    pub asmflags: PerPackage,
    pub ldflags: PerPackage,
    pub buildmode: BuildMode,
    pub pgo: Pgo,
    pub buildvcs: BuildVcs,
    /// GOEXPERIMENT as given (None: the toolchain's default).
    pub goexperiment: Option<String>,
}

/// One source of flags: gobuildr.toml's [build] table or the command line.
#[derive(Debug)]
pub struct Layer<'a> {
    /// Where the flags were given, for messages.
    pub origin: &'a str,
    /// What relative patterns and paths are relative to.
    pub dir: &'a Path,
    pub tags: &'a [String],
    pub gcflags: &'a [String],
    pub asmflags: &'a [String],
    pub ldflags: &'a [String],
    pub buildmode: Option<&'a str>,
    pub pgo: Option<&'a str>,
    pub buildvcs: Option<&'a str>,
    pub goexperiment: Option<&'a str>,
}

impl BuildFlags {
    /// Applies the layers in order: tags and per-package flags accumulate,
    /// single-valued settings are overridden.
    pub fn resolve(layers: &[Layer]) -> Result<BuildFlags, SettingError> {
        let mut f = BuildFlags::default();
        for l in layers {
            f.apply(l).map_err(|(flag, source)| SettingError {
                origin: l.origin.to_string(),
                flag,
                source,
            })?;
        }
        Ok(f)
    }

    fn apply(&mut self, l: &Layer) -> Result<(), (&'static str, FlagError)> {
        for t in l.tags.iter().flat_map(|t| t.split([',', ' '])) {
            if !t.is_empty() && !self.tags.iter().any(|x| x == t) {
                self.tags.push(t.to_string());
            }
        }
        for (name, values, target) in [
            ("-gcflags", l.gcflags, &mut self.gcflags),
            ("-asmflags", l.asmflags, &mut self.asmflags),
            ("-ldflags", l.ldflags, &mut self.ldflags),
        ] {
            for v in values {
                target.add(v, l.dir).map_err(|e| (name, e))?;
            }
        }
        if let Some(m) = l.buildmode {
            self.buildmode = BuildMode::parse(m).map_err(|e| ("-buildmode", e))?;
        }
        if let Some(p) = l.pgo {
            self.pgo = match p {
                "auto" => Pgo::Auto,
                "off" => Pgo::Off,
                "" => return Err(("-pgo", FlagError::Value("empty value".into()))),
                file => Pgo::File(clean(&l.dir.join(file))),
            };
        }
        if let Some(v) = l.buildvcs {
            self.buildvcs = match v {
                "auto" => BuildVcs::Auto,
                "true" | "1" | "t" | "T" | "TRUE" | "True" => BuildVcs::True,
                "false" | "0" | "f" | "F" | "FALSE" | "False" => BuildVcs::False,
                _ => {
                    return Err((
                        "-buildvcs",
                        FlagError::Value(format!("invalid value {v:?} (auto, true or false)")),
                    ))
                }
            };
        }
        if let Some(x) = l.goexperiment {
            self.goexperiment = Some(x.to_string());
        }
        Ok(())
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Splits a flag list as go does: white-space separated fields, a field
/// that starts with a quote runs to the matching quote (taken literally).
pub fn split(s: &str) -> Result<Vec<String>, FlagError> {
    let mut fields = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(is_space);
        let Some(first) = rest.chars().next() else {
            return Ok(fields);
        };
        if first == '\'' || first == '"' {
            let body = &rest[1..];
            let end = body.find(first).ok_or(FlagError::Unterminated(first))?;
            fields.push(body[..end].to_string());
            rest = &body[end + 1..];
        } else {
            let end = rest.find(is_space).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

/// What a package is, as far as a pattern can tell.
pub struct PackageRef<'a> {
    pub import_path: &'a str,
    /// Absolute directory.
    pub dir: &'a Path,
    pub standard: bool,
    /// Named on the command line (a root of the request).
    pub cmdline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Cmdline,
    All,
    Std,
    Cmd,
    /// A relative pattern: the directory, and what below it must match
    /// (None: the directory itself).
    Dir(PathBuf, Option<String>),
    ImportPath(String),
}

impl Matcher {
    fn parse(pattern: &str, cwd: &Path) -> Matcher {
        let relative = pattern == "."
            || pattern == ".."
            || pattern.starts_with("./")
            || pattern.starts_with("../");
        match pattern {
            _ if relative => {
                let (dir, below) = match pattern.find("...") {
                    None => (pattern, None),
                    Some(i) => {
                        let j = pattern[..i].rfind('/').unwrap_or(0);
                        (&pattern[..j], Some(pattern[j + 1..].to_string()))
                    }
                };
                Matcher::Dir(clean(&cwd.join(dir)), below)
            }
            "all" => Matcher::All,
            "std" => Matcher::Std,
            "cmd" => Matcher::Cmd,
            _ => Matcher::ImportPath(pattern.to_string()),
        }
    }

    fn matches(&self, p: &PackageRef) -> bool {
        match self {
            Matcher::Cmdline => p.cmdline,
            Matcher::All => true,
            Matcher::Std => p.standard,
            Matcher::Cmd => p.standard && p.import_path.starts_with("cmd/"),
            Matcher::Dir(dir, None) => clean(p.dir) == *dir,
            Matcher::Dir(dir, Some(below)) => match clean(p.dir).strip_prefix(dir) {
                Ok(rel) => {
                    let rel = rel.to_string_lossy();
                    match_pattern(below, if rel.is_empty() { "." } else { &rel })
                }
                Err(_) => false,
            },
            Matcher::ImportPath(pattern) => match_pattern(pattern, p.import_path),
        }
    }
}

/// A path with `.` and `..` resolved lexically, as filepath.Join cleans.
pub fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The vendor marker: a `vendor` element that a wildcard may not match.
const VENDOR: &str = "\0";

/// `vendor` elements (all but the last) replaced by the marker.
fn mark_vendor(s: &str) -> String {
    let elems: Vec<&str> = s.split('/').collect();
    let last = elems.len() - 1;
    elems
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if i < last && *e == "vendor" {
                VENDOR
            } else {
                e
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// go's pkgpattern.MatchPattern: `...` matches any string (but never across
/// a vendor element); a trailing `/...` also matches the bare prefix.
pub fn match_pattern(pattern: &str, name: &str) -> bool {
    if pattern.contains(VENDOR) || name.contains(VENDOR) {
        return false;
    }
    let pattern = mark_vendor(pattern);
    let name = mark_vendor(name);
    let vendor_tail = format!("/{VENDOR}/...");
    if let Some(prefix) = pattern.strip_suffix(&vendor_tail) {
        return wild_match(&format!("{prefix}/vendor"), &name)
            || wild_match(&format!("{prefix}/{VENDOR}/..."), &name);
    }
    if pattern == format!("{VENDOR}/...") {
        return wild_match("/vendor", &name) || wild_match(&format!("/{VENDOR}/..."), &name);
    }
    match pattern.strip_suffix("/...") {
        Some(prefix) => wild_match(prefix, &name) || wild_match(&pattern, &name),
        None => wild_match(&pattern, &name),
    }
}

/// Whole-string match where `...` matches any run without the vendor marker.
fn wild_match(pattern: &str, name: &str) -> bool {
    match pattern.split_once("...") {
        None => pattern == name,
        Some((lit, rest)) => {
            let Some(tail) = name.strip_prefix(lit) else {
                return false;
            };
            let limit = tail.find(VENDOR).unwrap_or(tail.len());
            (0..=limit)
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| wild_match(rest, &tail[i..]))
        }
    }
}

/// One per-package flag, as given any number of times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerPackage {
    values: Vec<(Matcher, Vec<String>)>,
    /// The last occurrence as typed (what go records in build info).
    raw: Option<String>,
}

impl PerPackage {
    /// Adds one occurrence, `flags` or `pattern=flags`, with relative
    /// patterns resolved against `cwd`.
    pub fn add(&mut self, value: &str, cwd: &Path) -> Result<(), FlagError> {
        self.raw = Some(value.to_string());
        let v = value.trim_matches(is_space);
        let (matcher, list) = if v.is_empty() || v.starts_with('-') {
            (Matcher::Cmdline, v)
        } else {
            let i = v.find('=').ok_or(FlagError::MissingValue)?;
            if i == 0 {
                return Err(FlagError::MissingPattern);
            }
            if let Some(q) = v.chars().next().filter(|c| *c == '\'' || *c == '"') {
                return Err(FlagError::LeadingQuote(q));
            }
            (
                Matcher::parse(v[..i].trim_matches(is_space), cwd),
                &v[i + 1..],
            )
        };
        self.values.push((matcher, split(list)?));
        Ok(())
    }

    /// The flags for one package: those of the last matching occurrence.
    pub fn for_package(&self, p: &PackageRef) -> &[String] {
        self.values
            .iter()
            .rev()
            .find(|(m, _)| m.matches(p))
            .map(|(_, f)| f.as_slice())
            .unwrap_or(&[])
    }

    /// The last occurrence as typed, if any (go build's build-info value).
    pub fn raw(&self) -> Option<&str> {
        self.raw.as_deref()
    }
}

/// A duration as Go's time.ParseDuration reads it ("10m0s", "1.5h",
/// "300ms", "0"), in seconds; None if Go would refuse it.
pub fn parse_duration(s: &str) -> Option<f64> {
    let (sign, mut rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0.0);
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    (!s.is_empty()).then_some(sign * total)
}

/// Seconds as Go's time.Duration prints them: "1m1s", "11m0s", "1h0m0s",
/// "1.5s" (for a second or more, as a deadline is).
pub fn format_duration(secs: f64) -> String {
    let whole = secs.trunc() as u64;
    let frac = secs - whole as f64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    let mut sec = format!("{:.9}", s as f64 + frac);
    sec = sec.trim_end_matches('0').trim_end_matches('.').to_string();
    match (h, m) {
        (0, 0) => format!("{sec}s"),
        (0, m) => format!("{m}m{sec}s"),
        (h, m) => format!("{h}h{m}m{sec}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_go() {
        assert_eq!(
            split(" -s -w  -X 'main.msg=a b' \"-X=x.y=\" ").unwrap(),
            vec!["-s", "-w", "-X", "main.msg=a b", "-X=x.y="]
        );
        // Quotes inside a field are literal.
        assert_eq!(split("-X=a='b c'").unwrap(), vec!["-X=a='b", "c'"]);
        assert_eq!(split("''").unwrap(), vec![""]);
        assert_eq!(split("-X 'a").unwrap_err(), FlagError::Unterminated('\''));
    }

    #[test]
    fn patterns() {
        assert!(match_pattern("net/...", "net"));
        assert!(match_pattern("net/...", "net/http"));
        assert!(!match_pattern("net/...", "netx"));
        assert!(match_pattern("...", "a/b"));
        assert!(!match_pattern("a/...", "a/vendor/b"));
        assert!(match_pattern("a/vendor/...", "a/vendor/b"));
        assert!(match_pattern("a/...b", "a/xyb"));
        assert!(!match_pattern("a/b", "a/b/c"));
    }

    fn pkg<'a>(path: &'a str, dir: &'a Path, cmdline: bool) -> PackageRef<'a> {
        PackageRef {
            import_path: path,
            dir,
            standard: !path.contains('.'),
            cmdline,
        }
    }

    #[test]
    fn last_match_wins() {
        let cwd = Path::new("/w");
        let mut f = PerPackage::default();
        f.add("all=-l", cwd).unwrap();
        f.add("-N", cwd).unwrap();
        f.add("./internal/...=-m", cwd).unwrap();
        let main_dir = Path::new("/w/cmd/x");
        let int_dir = Path::new("/w/internal/a");
        assert_eq!(f.for_package(&pkg("ex.com/cmd/x", main_dir, true)), ["-N"]);
        assert_eq!(
            f.for_package(&pkg("ex.com/internal/a", int_dir, false)),
            ["-m"]
        );
        assert_eq!(
            f.for_package(&pkg("fmt", Path::new("/g/fmt"), false)),
            ["-l"]
        );
        assert_eq!(f.raw(), Some("./internal/...=-m"));
        assert!(f.add("=x", cwd).is_err());
        assert!(f.add("std", cwd).is_err());
    }

    #[test]
    fn durations_read_as_go_reads_them() {
        assert_eq!(parse_duration("10m0s"), Some(600.0));
        assert_eq!(parse_duration("1h2m3s"), Some(3723.0));
        assert_eq!(parse_duration("1.5s"), Some(1.5));
        assert_eq!(parse_duration("300ms"), Some(0.3));
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("-2s"), Some(-2.0));
        assert_eq!(format_duration(61.0), "1m1s");
        assert_eq!(format_duration(660.0), "11m0s");
        assert_eq!(format_duration(3601.5), "1h0m1.5s");
        assert_eq!(format_duration(2.0), "2s");
        for bad in ["", "10", "1x", "s", "1..2s", "abc"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
