//! URLs as they may be shown: in logs, errors, summaries and `Debug`.
//!
//! Invariant: a shown URL never carries userinfo (user names, passwords,
//! tokens); the query is kept (module proxy URLs carry no secrets there,
//! and GOPROXY values are the user's own configuration).

/// `scheme://user:pass@host/path` → `scheme://host/path`. Text that does
/// not parse as a URL is cut at any `@` before the path, so nothing that
/// might be a credential survives.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.has_host() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => redact_unparsed(url),
    }
}

fn redact_unparsed(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), url),
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn userinfo_is_removed() {
        assert_eq!(
            redact("https://u:secret@proxy.example:8443/mod/@v/list"),
            "https://proxy.example:8443/mod/@v/list"
        );
        assert_eq!(redact("http://token@h.example/"), "http://h.example/");
        assert_eq!(redact("https://h.example/a"), "https://h.example/a");
        assert_eq!(redact("file:///tmp/proxy"), "file:///tmp/proxy");
        assert_eq!(redact("u:p@host.example:3128"), "host.example:3128");
        assert_eq!(redact("ht!tp://u:p@h/x"), "ht!tp://h/x");
        assert!(!redact("https://u:p%40ss@h.example").contains("p%40ss"));
    }
}
