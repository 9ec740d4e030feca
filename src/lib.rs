//! gobuildr: hermetic, reproducible builds for Go, with no BUILD files.
//!
//! The modules are layered, and declared below from the bottom up: a module
//! uses only modules declared before it (`tests/it/layers.rs` checks every
//! `crate::` path), so none reaches back into one that builds on it.
//!
//! ```text
//! commands    build, explain, fetch, toolchain, platforms, query, test, verify
//!             (one file each)
//! verify      rebuilds under varied conditions and hosts; localises
//! pipeline    the stages every command shares, up to the action graph
//! cli         flags → Settings          failure   what went wrong → exit code
//! ─────────────────────────────────────────────────────────────────────────
//! attest      --record, manifests, provenance
//! report      progress, summaries, traces
//! publish     binaries into gobuildr-out
//! explain     why an action ran (typed miss reasons)
//! remote      REAPI: the remote cache and executor, local first
//! exec        the local sandbox: an Executor and the local ActionCache
//! schedule    the ready queue; owns the Executor and ActionCache traits
//! ─────────────────────────────────────────────────────────────────────────
//! query       the query language over package graphs; labels, JSON, DOT,
//!             Mermaid and the HTML viewer
//! ─────────────────────────────────────────────────────────────────────────
//! plan        packages × platforms → action graph, one key recipe
//! discover    go list per platform → package graph
//! toolchain   which Go, its identity; pins fetched and proved
//! fetch       modules from the proxies, verified against go.sum
//! sumdb       the checksum database: tree heads, proofs, the pin
//! ─────────────────────────────────────────────────────────────────────────
//! workspace   root, labels, gobuildr.toml, go.mod/go.work, go.sum, globs
//! toolenv     the fixed environment of every tool
//! rules       the Go rule set and platform table (rules/)
//! stamp, vcs  link-time stamps; git asked once
//! goflags     go build's own flags, with go's meaning
//! net, goenv  HTTPS with the machine's trust; go's own settings
//! ─────────────────────────────────────────────────────────────────────────
//! cache       content-addressed store and action cache
//! digest      typed digests and the canonical key encoder
//! fsutil, suggest, process   atomic writes; "did you mean"; child processes
//! ```

pub mod fsutil;
pub mod process;
pub mod suggest;
pub mod digest;
pub mod cache;

pub mod goenv;
pub mod net;
pub mod goflags;
pub mod vcs;
pub mod stamp;
pub mod rules;
pub mod toolenv;
pub mod workspace;

pub mod sumdb;
pub mod fetch;
pub mod toolchain;
pub mod discover;
pub mod plan;

pub mod query;

pub mod schedule;
pub mod exec;
pub mod remote;
pub mod explain;
pub mod publish;
pub mod report;
pub mod attest;

pub mod failure;
pub mod cli;
pub mod pipeline;
pub mod verify;
pub mod commands;
