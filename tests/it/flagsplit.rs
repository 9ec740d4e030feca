//! A differential fuzz test of the flag parser: random `-gcflags` values
//! are given to `go build -n` (which prints the compile command it would
//! run, quoting each argument unambiguously) and to gobuildr (whose action
//! record holds the compile argv it ran); the flags each placed between
//! the fixed flags and `-nolocalimports` must be the same, and a value one
//! of them refuses the other must refuse too.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// A small deterministic generator (xorshift64*): the cases are the same
/// on every run, and a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

const FIELDS: [&str; 16] = [
    "-N",
    "-l",
    "-m=2",
    "-d=ssa/check/on",
    "-X=a=b",
    "'-q r'",
    "\"-s\tt\"",
    "-e",
    "''",
    "\"\"",
    "-x'y",
    "-D=\"z\"",
    "'-a''-b'",
    "-w\"",
    "'",
    "\"",
];
const SPACES: [&str; 5] = [" ", "  ", "\t", "\n", " \t "];

fn case(rng: &mut Rng) -> String {
    let n = 1 + rng.next() % 4;
    let mut s = String::new();
    if rng.next() % 4 == 0 {
        s.push_str(rng.pick(&SPACES));
    }
    // A value that does not start with '-' is a pattern=flags pair in go;
    // start with a flag so that the case tests splitting.
    s.push_str("-B");
    for _ in 0..n {
        s.push_str(rng.pick(&SPACES));
        s.push_str(rng.pick(&FIELDS));
    }
    s
}

/// Reads a Go-quoted string (strconv.Quote) starting at `s[0] == '"'`:
/// the value and the rest after the closing quote.
fn unquote(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 2..]),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(e) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    panic!("unterminated quoted argument in {s:?}");
}

/// The arguments of a command line go build printed.
fn go_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = line.trim_end();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let (a, r) = unquote(rest);
            args.push(a);
            rest = r.trim_start_matches(' ');
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            args.push(rest[..end].to_string());
            rest = rest[end..].trim_start_matches(' ');
        }
    }
    args
}

/// The flags between `-c=N` (and `-shared`) and `-nolocalimports`.
fn user_flags(argv: &[String]) -> Vec<String> {
    let start = argv.iter().position(|a| a.starts_with("-c=")).unwrap() + 1;
    let end = argv.iter().position(|a| a == "-nolocalimports").unwrap();
    argv[start..end]
        .iter()
        .skip_while(|a| *a == "-shared")
        .cloned()
        .collect()
}

/// go's split of `value`, or None when go refuses it.
fn go_split(ws: &Path, value: &str) -> Option<Vec<String>> {
    let out = Command::new("go")
        .current_dir(ws)
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-buildvcs=false")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .arg("build")
        .arg("-n")
        .arg("-a")
        .arg("-trimpath")
        .arg(format!("-gcflags={value}"))
        .arg(".")
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stderr).to_string();
    let line = text
        .lines()
        .find(|l| l.contains("/compile ") && l.contains(" -p main "))
        .unwrap_or_else(|| panic!("no compile of main in go build -n:\n{text}"));
    Some(user_flags(&go_args(line)))
}

/// gobuildr's split of `value` (its compile of main may fail on the flags:
/// the record still holds the argv), or None when gobuildr refuses it.
fn gobuildr_split(ws: &Path, value: &str) -> Option<Vec<String>> {
    let record = ws.join(format!("record-{}.json", nonce()));
    let out = Gobuildr::new(ws)
        .args(["build", "-q", "--record"])
        .arg(&record)
        .arg(format!("--gcflags={value}"))
        .arg(".")
        .run();
    if out.status.code() == Some(2) {
        return None;
    }
    let rec: Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    fs::remove_file(&record).unwrap();
    let main = rec["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "compile" && a["package"] == "example.com/split")
        .expect("the main package's compile in the record");
    let argv: Vec<String> = main["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    Some(user_flags(&argv))
}

#[test]
fn flag_splitting_equals_go_on_random_values() {
    let ws = tempfile::Builder::new()
        .prefix("flagsplit-")
        .tempdir_in(scratch())
        .unwrap();
    write_files(
        ws.path(),
        &[
            ("go.mod", "module example.com/split\n\ngo 1.22\n"),
            ("main.go", "package main\n\nfunc main() {}\n"),
        ],
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut refused = 0;
    for i in 0..60 {
        let value = case(&mut rng);
        let theirs = go_split(ws.path(), &value);
        let ours = gobuildr_split(ws.path(), &value);
        assert_eq!(ours, theirs, "case {i}: -gcflags={value:?}");
        refused += usize::from(theirs.is_none());
    }
    // Both kinds of case came up: the comparison covers errors too.
    assert!((1..60).contains(&refused), "{refused} of 60 refused");
}
