//! Micro-benchmarks of the two inner loops of every build: hashing file
//! contents (`FileDigest`) and encoding action keys (`KeyEncoder`).
//!
//! Run: `cargo bench --bench keys` (add `-- --quick` for a fast pass).
//! Uses only the public API of `gobuildr::digest`.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use gobuildr::digest::{kind, FileDigest, KeyEncoder};

/// Deterministic, incompressible-looking bytes (xorshift), so the numbers do
/// not depend on an allocator handing back zeroed pages.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    // 4 KiB: a typical Go source file; 64 KiB: a large one or a small
    // archive; 4 MiB: a std archive or a small binary.
    for &(name, size) in &[
        ("4KiB", 4usize << 10),
        ("64KiB", 64 << 10),
        ("4MiB", 4 << 20),
    ] {
        let data = pseudo_random(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("of_bytes", name), &data, |b, data| {
            b.iter(|| FileDigest::of_bytes(black_box(data)))
        });
    }

    // of_file on a 4 MiB file: after the first iteration it is in the page
    // cache, so this measures read(2) + blake3, not the disk.
    let size = 4usize << 20;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&pseudo_random(size))
        .expect("write temp file");
    file.flush().expect("flush temp file");
    let path = file.path().to_path_buf();
    g.throughput(Throughput::Bytes(size as u64));
    g.bench_function(BenchmarkId::new("of_file", "4MiB"), |b| {
        b.iter(|| FileDigest::of_file(black_box(&path)).expect("hash temp file"))
    });
    g.finish();
    drop(file);
}

/// The rule text a compile key carries (the real file, read at build time).
const COMPILE_RULE: &str = include_str!("../rules/compile.toml");

/// argv of a realistic compile action (placeholders as the planner writes
/// them), with `n_files` source files at the end.
fn compile_argv(n_files: usize) -> Vec<String> {
    let mut argv: Vec<String> = [
        "${TOOLDIR}/compile",
        "-o",
        "${SB}/obj/_pkg_.a",
        "-trimpath",
        "${SB}/src=>example.com/proj/internal/server;${SB}/obj=>",
        "-p",
        "example.com/proj/internal/server",
        "-lang=go1.22",
        "-complete",
        "-buildid",
        "gobuildr",
        "-goversion",
        "go1.26.8",
        "-c=4",
        "-nolocalimports",
        "-importcfg",
        "${SB}/obj/importcfg",
        "-pack",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..n_files {
        argv.push(format!("${{SB}}/src/file_{i:02}.go"));
    }
    argv
}

/// (sandbox path, digest) inputs: `n_archives` imported packages and
/// `n_files` sources, plus the generated importcfg.
fn inputs(n_archives: usize, n_files: usize) -> Vec<(String, FileDigest)> {
    let mut v = Vec::new();
    for i in 0..n_archives {
        let p = format!("pkg/example.com/proj/internal/dep{i:03}.a");
        v.push((p.clone(), FileDigest::of_bytes(p.as_bytes())));
    }
    v.push((
        "obj/importcfg".to_string(),
        FileDigest::of_bytes(b"# import config\n"),
    ));
    for i in 0..n_files {
        let p = format!("src/file_{i:02}.go");
        v.push((p.clone(), FileDigest::of_bytes(p.as_bytes())));
    }
    v
}

/// Encodes a key the way `plan::Action::key` does: kind, rule text,
/// toolchain, platform, argv, env, outputs, then every input.
fn encode(
    toolchain: &FileDigest,
    argv: &[String],
    env: &[String],
    inputs: &[(String, FileDigest)],
) -> gobuildr::digest::ActionKey {
    let mut e = KeyEncoder::<kind::Action>::new("action");
    e.str("kind", "compile")
        .str("rule", COMPILE_RULE)
        .digest("toolchain", toolchain)
        .str("platform", "linux/amd64")
        .strs(
            "platform-env",
            &["GOOS=linux", "GOARCH=amd64", "GOAMD64=v1"],
        )
        .strs("argv", argv)
        .strs("env", env)
        .strs("outputs", &["obj/_pkg_.a"]);
    for (at, d) in inputs {
        e.str("input", at).digest("content", d);
    }
    e.finish()
}

fn keys(c: &mut Criterion) {
    let toolchain = FileDigest::of_bytes(b"toolchain identity");
    let env: Vec<String> = [
        "GOOS=linux",
        "GOARCH=amd64",
        "GOAMD64=v1",
        "CGO_ENABLED=0",
        "GOROOT=${GOROOT}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let mut g = c.benchmark_group("action_key");
    // A typical compile: 12 sources (30 argv strings), 8 imports (20 inputs
    // with the importcfg).
    let argv = compile_argv(12);
    let ins = inputs(7, 12);
    assert_eq!(argv.len(), 30);
    assert_eq!(ins.len(), 20);
    g.bench_function("compile_30argv_20inputs", |b| {
        b.iter(|| encode(&toolchain, black_box(&argv), &env, black_box(&ins)))
    });
    // A link-sized input list: one archive per transitive dependency.
    let link_ins = inputs(300, 0);
    let link_argv = compile_argv(0);
    g.bench_function("link_300inputs", |b| {
        b.iter(|| encode(&toolchain, &link_argv, &env, black_box(&link_ins)))
    });
    // Building the inputs too (allocation of strings and digests of
    // generated files), as the scheduler does per ready action.
    g.bench_function("compile_with_input_setup", |b| {
        b.iter_batched(
            || (compile_argv(12), inputs(7, 12)),
            |(argv, ins)| encode(&toolchain, &argv, &env, &ins),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    c.bench_function("key_hex_round_trip", |b| {
        let k = encode(&toolchain, &argv, &env, &ins);
        b.iter(|| {
            let hex = black_box(&k).to_hex();
            gobuildr::digest::ActionKey::from_hex(&hex)
        })
    });
}

criterion_group!(benches, hashing, keys);
criterion_main!(benches);
