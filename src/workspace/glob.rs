//! Glob patterns over slash-separated paths, as the go command matches
//! them: one element at a time (`path.Match`), for `//go:embed` patterns
//! and GOPRIVATE-style module path lists.

/// Path-component glob match, as Go's path.Match for one element.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn rec(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| rec(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && rec(&p[1..], &n[1..]),
            Some('[') => {
                let Some(close) = p.iter().position(|&c| c == ']') else {
                    return false;
                };
                let Some(&c) = n.first() else { return false };
                let class = &p[1..close];
                let (negate, class) = match class.first() {
                    Some('^') => (true, &class[1..]),
                    _ => (false, class),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= class[i] <= c && c <= class[i + 2];
                        i += 3;
                    } else {
                        hit |= class[i] == c;
                        i += 1;
                    }
                }
                hit != negate && rec(&p[close + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && rec(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && rec(&p[1..], &n[1..]),
        }
    }
    rec(&p, &n)
}

/// Whether the pattern's elements match the leading elements of `path`
/// (as many as the pattern has): `a/*` matches `a/b` and `a/b/c`.
pub fn prefix_match(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let elems: Vec<&str> = path.split('/').collect();
    elems.len() >= pat.len() && pat.iter().zip(&elems).all(|(p, e)| glob_match(p, e))
}

#[cfg(test)]
mod tests {
    use super::{glob_match, prefix_match};

    #[test]
    fn literals_and_wildcards() {
        assert!(glob_match("a.txt", "a.txt"));
        assert!(!glob_match("a.txt", "a.txtx"));
        assert!(glob_match("*.txt", "a.txt"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("*.txt", "a.go"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(glob_match("?", "é"));
        assert!(!glob_match("?", ""));
        assert!(!glob_match("", "a"));
    }

    #[test]
    fn classes() {
        assert!(glob_match("[a-c]?", "bz"));
        assert!(!glob_match("[^a-c]?", "bz"));
        assert!(glob_match("[^a-c]?", "dz"));
        assert!(glob_match("[xyz]", "y"));
        assert!(!glob_match("[xyz]", "a"));
        assert!(!glob_match("[a-c]", ""));
    }

    #[test]
    fn escapes_and_bad_patterns() {
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("\\*", "a"));
        // An unclosed class matches nothing.
        assert!(!glob_match("[a", "a"));
    }

    #[test]
    fn prefixes() {
        assert!(prefix_match("example.com/*", "example.com/a"));
        assert!(prefix_match("example.com/*", "example.com/a/b"));
        assert!(!prefix_match("example.com/*", "example.com"));
        assert!(!prefix_match("*.corp", "example.com/x"));
        assert!(prefix_match("*.corp", "git.corp/x"));
    }
}
