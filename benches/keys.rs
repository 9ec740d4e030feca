//! Micro-benchmarks of the two inner loops of every build: hashing file
//! contents (`FileDigest`) and computing action keys through the one
//! recipe, `plan::KeyIngredients` (gathering the ingredients of an action,
//! then encoding them).
//!
//! Run: `cargo bench --bench keys` (add `-- --quick` for a fast pass).
//! Uses only the public API of `gobuildr`.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use gobuildr::digest::{kind, ActionKey, FileDigest, KeyEncoder, ToolchainId};
use gobuildr::plan::{Action, ActionKind, Input, KeyIngredients, Source};
use gobuildr::rules::Platform;

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

/// A compile action with `n_archives` imported packages and `n_files`
/// sources, plus the generated importcfg, and the digests of its inputs.
fn action(n_archives: usize, n_files: usize) -> (Action, Vec<FileDigest>) {
    let mut inputs = Vec::new();
    let mut digests = Vec::new();
    let mut add = |at: String, source: Source| {
        digests.push(FileDigest::of_bytes(at.as_bytes()));
        inputs.push(Input {
            at,
            source,
            writable: false,
        });
    };
    for i in 0..n_archives {
        let at = format!("pkg/example.com/proj/internal/dep{i:03}.a");
        add(at, Source::Generated(Vec::new()));
    }
    add(
        "obj/importcfg".to_string(),
        Source::Generated(b"# import config\n".to_vec()),
    );
    for i in 0..n_files {
        add(format!("src/file_{i:02}.go"), Source::Generated(Vec::new()));
    }
    let action = Action {
        kind: ActionKind::Compile,
        package: "example.com/proj/internal/server".to_string(),
        platform: Platform::new("linux", "amd64", None),
        argv: compile_argv(n_files),
        env: [
            ("GOOS", "linux"),
            ("GOARCH", "amd64"),
            ("GOAMD64", "v1"),
            ("CGO_ENABLED", "0"),
            ("GOROOT", "${GOROOT}"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        inputs,
        outputs: vec!["obj/export.a".to_string(), "obj/_pkg_.a".to_string()],
        src_display: String::new(),
        src_link: None,
        module: None,
    };
    (action, digests)
}

/// The key, as `plan::Action::key` computes it.
fn key(action: &Action, toolchain: &ToolchainId, digests: &[FileDigest]) -> ActionKey {
    KeyIngredients::of(action, toolchain, digests).key()
}

fn keys(c: &mut Criterion) {
    let toolchain = KeyEncoder::<kind::Toolchain>::new("toolchain identity").finish();

    let mut g = c.benchmark_group("action_key");
    // A typical compile: 12 sources (30 argv strings), 8 imports (20 inputs
    // with the importcfg).
    let (compile, digests) = action(7, 12);
    assert_eq!(compile.argv.len(), 30);
    assert_eq!(compile.inputs.len(), 20);
    g.bench_function("compile_30argv_20inputs", |b| {
        b.iter(|| key(black_box(&compile), &toolchain, black_box(&digests)))
    });
    // A link-sized input list: one archive per transitive dependency.
    let (link, link_digests) = action(300, 0);
    g.bench_function("link_300inputs", |b| {
        b.iter(|| key(black_box(&link), &toolchain, black_box(&link_digests)))
    });
    // Building the action too (allocation of strings and digests), as the
    // planner and scheduler do per action.
    g.bench_function("compile_with_input_setup", |b| {
        b.iter_batched(
            || action(7, 12),
            |(a, d)| key(&a, &toolchain, &d),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    c.bench_function("key_hex_round_trip", |b| {
        let k = key(&compile, &toolchain, &digests);
        b.iter(|| {
            let hex = black_box(&k).to_hex();
            ActionKey::from_hex(&hex)
        })
    });
}

criterion_group!(benches, hashing, keys);
criterion_main!(benches);
