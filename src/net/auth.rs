//! Credentials for HTTPS requests, as the go command's GOAUTH (Go 1.24+)
//! defines them: `off`, `netrc` (`$NETRC`, else `~/.netrc`), and
//! `command ARGS` programs that print URL prefixes and the headers for
//! them. `git DIR` is refused (it would need git's credential helpers).
//!
//! Invariants: headers are attached only to https URLs under the prefix
//! they were issued for (host, or host/path); nothing here prints a
//! credential — `Debug` shows the methods, never the headers; commands run
//! only when a request needs them, never while resolving settings.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};

use base64::Engine;

use super::NetError;

/// One netrc entry with a machine, a login and a password.
#[derive(Clone, PartialEq, Eq)]
pub struct NetrcLine {
    pub machine: String,
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for NetrcLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NetrcLine({}, {})", self.machine, self.login)
    }
}

/// Parses a netrc file as cmd/go does: `machine`, `login`, `password`
/// tokens (any layout); `macdef` skips to the next blank line; parsing
/// stops at `default`, whose entry is not used.
pub fn parse_netrc(data: &str) -> Vec<NetrcLine> {
    let mut out = Vec::new();
    let (mut machine, mut login, mut password) = (String::new(), String::new(), String::new());
    let mut in_macro = false;
    for line in data.split('\n') {
        if in_macro {
            in_macro = !line.is_empty();
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let mut i = 0;
        while i + 1 < f.len() {
            match f[i] {
                "machine" => {
                    (machine, login, password) = (f[i + 1].into(), String::new(), String::new())
                }
                "login" => login = f[i + 1].into(),
                "password" => password = f[i + 1].into(),
                "macdef" => in_macro = true,
                _ => {}
            }
            if !machine.is_empty() && !login.is_empty() && !password.is_empty() {
                out.push(NetrcLine {
                    machine: std::mem::take(&mut machine),
                    login: std::mem::take(&mut login),
                    password: std::mem::take(&mut password),
                });
            }
            i += 2;
        }
        // As in go: only a `default` left over after the pairs ends the file.
        if f.get(i) == Some(&"default") {
            break;
        }
    }
    out
}

/// Splits a command line as cmd/internal/quoted does: fields separated by
/// spaces, each optionally in single or double quotes.
pub fn split_quoted(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let q = rest.as_bytes()[0];
        if q == b'"' || q == b'\'' {
            let body = &rest[1..];
            let end = body
                .find(q as char)
                .ok_or_else(|| format!("unterminated {} string", q as char))?;
            out.push(body[..end].to_string());
            rest = body[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    Ok(out)
}

/// Headers for each URL prefix, from one GOAUTH command's output:
/// sets of URL lines, a blank line, header lines, a blank line.
pub fn parse_command_output(data: &str) -> Result<Vec<(String, Headers)>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let mut urls = Vec::new();
        loop {
            let line = next_line(&mut rest, "URLs")?;
            if line.is_empty() {
                break;
            }
            let u = url::Url::parse(line).map_err(|e| format!("could not parse URL: {e}"))?;
            urls.push(prefix_of(u.as_str()));
        }
        let mut headers = Vec::new();
        loop {
            let line = next_line(&mut rest, "headers")?;
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(": ")
                .filter(|(n, _)| !n.is_empty() && !n.contains(char::is_whitespace))
                .ok_or("invalid format: invalid header line")?;
            headers.push((name.to_string(), value.trim().to_string()));
        }
        out.extend(urls.into_iter().map(|u| (u, Headers(headers.clone()))));
    }
    Ok(out)
}

fn next_line<'a>(rest: &mut &'a str, what: &str) -> Result<&'a str, String> {
    let (line, tail) = rest
        .split_once('\n')
        .ok_or_else(|| format!("invalid format: missing empty line after {what}"))?;
    *rest = tail;
    Ok(line)
}

/// Request headers; `Debug` shows only their names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "Headers({names:?})")
    }
}

/// `https://host/path/` → `host/path`, the key credentials are stored by.
fn prefix_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

#[derive(Clone, PartialEq, Eq)]
enum Method {
    Netrc(PathBuf),
    Command(Vec<String>),
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Method::Netrc(p) => write!(f, "netrc({})", p.display()),
            // Arguments may carry tokens: only the program is shown.
            Method::Command(w) => write!(f, "command({})", w.first().map_or("", |s| s)),
        }
    }
}

/// GOAUTH, parsed, with the credentials found so far.
pub struct Auth {
    /// In GOAUTH order; later entries are applied first so earlier ones win.
    methods: Vec<Method>,
    first: Once,
    store: Mutex<BTreeMap<String, Headers>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.store.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("Auth")
            .field("methods", &self.methods)
            .field("prefixes", &n)
            .finish()
    }
}

fn auth_err(reason: impl Into<String>) -> NetError {
    NetError::Config {
        setting: "GOAUTH".into(),
        reason: reason.into(),
    }
}

impl Auth {
    /// Parses GOAUTH (`;`-separated). `netrc` is the file netrc entries
    /// are read from (`$NETRC`, else `~/.netrc`).
    pub fn parse(goauth: &str, netrc: Option<PathBuf>) -> Result<Auth, NetError> {
        let entries: Vec<&str> = goauth.split(';').map(str::trim).collect();
        let mut methods = Vec::new();
        for e in &entries {
            let words = split_quoted(e).map_err(|r| auth_err(format!("{e:?}: {r}")))?;
            match words.first().map(String::as_str) {
                None => return Err(auth_err("empty command in the list")),
                Some("off") if entries.len() == 1 => {}
                Some("off") => return Err(auth_err("`off` cannot be combined with other methods")),
                Some("netrc") => methods.extend(netrc.clone().map(Method::Netrc)),
                Some("git") => return Err(auth_err("`git DIR` is not supported by gobuildr (it would run git credential helpers); use netrc or a command")),
                Some(_) => methods.push(Method::Command(words)),
            }
        }
        Ok(Auth {
            methods,
            first: Once::new(),
            store: Mutex::new(BTreeMap::new()),
        })
    }

    /// Whether any method is configured (GOAUTH is not `off`).
    pub fn enabled(&self) -> bool {
        !self.methods.is_empty()
    }

    /// The headers for an https URL: the first request runs every method
    /// once (as go does before its first HTTPS fetch).
    pub fn headers_for(&self, url: &str) -> Result<Headers, NetError> {
        if !url.starts_with("https://") || !self.enabled() {
            return Ok(Headers::default());
        }
        let mut failed = None;
        self.first.call_once(|| failed = self.run_all(None).err());
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(self.lookup(url))
    }

    /// After a 4xx: runs the commands again with the URL and the response
    /// (status line and headers) on stdin, as go does; returns the new
    /// headers for the URL.
    pub fn refresh(&self, url: &str, response: &str) -> Result<Headers, NetError> {
        self.run_all(Some((url, response)))?;
        Ok(self.lookup(url))
    }

    fn lookup(&self, url: &str) -> Headers {
        let Ok(store) = self.store.lock() else {
            return Headers::default();
        };
        let mut prefix = prefix_of(url.split(['?', '#']).next().unwrap_or(url));
        loop {
            if let Some(h) = store.get(&prefix) {
                return h.clone();
            }
            match prefix.rfind('/') {
                Some(i) => prefix.truncate(i),
                None => break,
            }
        }
        // A netrc machine names a host; as curl reads it, it also covers
        // that host on a non-default port (go alone would need host:port).
        prefix
            .rsplit_once(':')
            .and_then(|(host, _)| store.get(host))
            .cloned()
            .unwrap_or_default()
    }

    fn store(&self, prefix: String, headers: Headers) {
        if let Ok(mut s) = self.store.lock() {
            if headers.0.is_empty() {
                s.remove(&prefix);
            } else {
                s.insert(prefix, headers);
            }
        }
    }

    fn run_all(&self, retry: Option<(&str, &str)>) -> Result<(), NetError> {
        for m in self.methods.iter().rev() {
            match m {
                Method::Netrc(path) if retry.is_none() => self.load_netrc(path)?,
                Method::Netrc(_) => {}
                Method::Command(words) => {
                    for (prefix, h) in run_command(words, retry)? {
                        self.store(prefix, h);
                    }
                }
            }
        }
        Ok(())
    }

    fn load_netrc(&self, path: &std::path::Path) -> Result<(), NetError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(auth_err(format!("netrc {}: {e}", path.display()))),
        };
        for l in parse_netrc(&text).into_iter().rev() {
            self.store(l.machine, basic(&l.login, &l.password));
        }
        Ok(())
    }
}

/// An `Authorization: Basic` header.
pub fn basic(user: &str, password: &str) -> Headers {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Headers(vec![("Authorization".into(), format!("Basic {token}"))])
}

fn run_command(
    words: &[String],
    retry: Option<(&str, &str)>,
) -> Result<Vec<(String, Headers)>, NetError> {
    let name = words.first().cloned().unwrap_or_default();
    let fail = |r: String| auth_err(format!("command {name}: {r}"));
    let mut cmd = Command::new(&name);
    cmd.args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((url, _)) = retry {
        cmd.arg(url);
    }
    let mut child = crate::process::spawn(&mut cmd).map_err(|e| fail(e.to_string()))?;
    if let (Some(mut stdin), Some((_, resp))) = (child.stdin.take(), retry) {
        let _ = stdin.write_all(resp.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(fail(format!("{}: {}", out.status, err.trim())));
    }
    parse_command_output(&String::from_utf8_lossy(&out.stdout)).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_parsing_follows_go() {
        let lines = parse_netrc(
            "machine a.example login alice password one\n\
             machine b.example\n  login bob\n  password two\n\
             macdef init\nmachine hidden.example login x password y\n\n\
             machine c.example login carol password three\n\
             default login anon password anon\n\
             machine d.example login dan password four\n\
             default\n\
             machine after.example login e password five\n",
        );
        let got: Vec<(&str, &str, &str)> = lines
            .iter()
            .map(|l| (l.machine.as_str(), l.login.as_str(), l.password.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a.example", "alice", "one"),
                ("b.example", "bob", "two"),
                ("c.example", "carol", "three"),
                ("d.example", "dan", "four"),
            ]
        );
        assert!(!format!("{lines:?}").contains("one"));
    }

    #[test]
    fn netrc_credentials_go_only_to_their_host_over_https() {
        let dir = tempfile::tempdir().unwrap();
        let netrc = dir.path().join("netrc");
        std::fs::write(
            &netrc,
            "machine a.example login alice password first\nmachine a.example login alice password second\n",
        )
        .unwrap();
        let auth = Auth::parse("netrc", Some(netrc)).unwrap();
        let h = auth.headers_for("https://a.example/mod/@v/list").unwrap();
        assert_eq!(h, basic("alice", "first"));
        assert!(!format!("{h:?} {auth:?}").contains("Basic"));
        assert_eq!(
            auth.headers_for("https://b.example/x").unwrap(),
            Headers::default()
        );
        assert_eq!(
            auth.headers_for("https://a.example.evil/x").unwrap(),
            Headers::default()
        );
        assert_eq!(
            auth.headers_for("http://a.example/x").unwrap(),
            Headers::default()
        );
        assert_eq!(
            auth.headers_for("https://a.example:8443/x").unwrap(),
            basic("alice", "first")
        );
        let off = Auth::parse("off", None).unwrap();
        assert!(!off.enabled());
        assert!(Auth::parse("off;netrc", None).is_err());
        let git = Auth::parse("git /tmp", None).unwrap_err().to_string();
        assert!(git.contains("not supported"), "{git}");
    }

    #[test]
    fn command_output_and_prefixes() {
        let out = "https://a.example\nhttps://b.example/api/\n\nAuthorization: Bearer t1\n\nhttps://c.example/\n\nX-Token: t2\n\n";
        let sets = parse_command_output(out).unwrap();
        let prefixes: Vec<&str> = sets.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(prefixes, ["a.example", "b.example/api", "c.example"]);
        assert!(parse_command_output("https://a.example\n").is_err());
        assert!(parse_command_output("https://a.example\n\nbad header\n\n").is_err());
        assert_eq!(
            split_quoted(r#"prog 'a b' "c d" e"#).unwrap(),
            ["prog", "a b", "c d", "e"]
        );
    }

    #[test]
    fn command_is_run_once_and_its_headers_scoped() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("auth.sh");
        let count = dir.path().join("count");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> {}\nprintf 'https://a.example/private\\n\\nAuthorization: Bearer tok\\n\\n'\n",
                count.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let auth = Auth::parse(&format!("'{}'", script.display()), None).unwrap();
        let h = auth
            .headers_for("https://a.example/private/mod/@v/v1.zip")
            .unwrap();
        assert_eq!(
            h.0,
            [("Authorization".to_string(), "Bearer tok".to_string())]
        );
        assert!(auth
            .headers_for("https://a.example/public")
            .unwrap()
            .0
            .is_empty());
        let runs = std::fs::read_to_string(&count).unwrap();
        assert_eq!(runs.lines().count(), 1);
    }
}
