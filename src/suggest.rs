//! "Did you mean": the known names closest to a misspelt one.

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to `n` candidates closest to `wanted`, comparing whole names and their
/// last `/` elements (so `cmd/sever` finds `cmd/server`, and `nosuch/arch`
/// finds platforms ending in a similar arch), within a sane distance.
pub fn closest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
) -> Vec<String> {
    let last = |s: &str| s.rsplit('/').next().unwrap_or("").to_string();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let full = edit_distance(wanted, c);
            let tail = edit_distance(&last(wanted), &last(c)) + 1;
            (full.min(tail), c)
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .filter(|(score, _)| *score <= wanted.len().max(3))
        .take(n)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn closest() {
        let c = super::closest("cmd/sever", ["cmd/server", "internal/x", "cmd/client"], 2);
        assert_eq!(c[0], "cmd/server");
    }
}
