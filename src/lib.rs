//! gobuildr: hermetic, reproducible builds for Go, with no BUILD files.
//!
//! Reading map, in pipeline order:
//! - [`cli`]: raw flags, then resolved `Settings`.
//! - [`goflags`]: go build's own flags (per-package patterns, quoting,
//!   build mode, PGO, VCS) with go's meaning.
//! - [`workspace`]: the root (go.work / go.mod), labels, gobuildr.toml, the
//!   canonical meaning of go.mod.
//! - [`toolchain`]: which Go, and its identity digest.
//! - [`sumdb`]: the checksum database client: signed tree heads, proofs
//!   of inclusion and consistency, the pin.
//! - [`fetch`]: modules from the configured proxies, verified against go.sum
//!   and proved by the checksum database.
//! - [`discover`]: one `go list -deps -json` per platform → package graph.
//! - [`rules`]: the Go rule set and platform table, embedded from `rules/`.
//! - [`vcs`]: git, asked once: `-buildvcs` stamps, times.
//! - [`stamp`]: link-time `-X` stamps from gobuildr.toml.
//! - [`plan`]: packages × platforms → action graph.
//! - [`digest`]: typed digests and the canonical key encoder.
//! - [`cache`]: content-addressed store and action cache.
//! - [`exec`]: the sandbox each action runs in.
//! - [`schedule`]: parallel execution, cache look-ups.
//! - [`explain`]: why each action ran (typed miss reasons).
//! - [`publish`]: binaries into gobuildr-out.
//! - [`report`]: progress, summaries.
//! - [`process`]: every child process gobuildr starts, counted.
//! - [`attest`]: action records, manifests, provenance.
//! - [`verify`]: rebuilds under varied conditions, compares, localises.
//! - [`build`]: the pipeline that ties the stages together; [`failure`]
//!   sorts what can go wrong into exit codes.

pub mod attest;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod digest;
pub mod discover;
pub mod exec;
pub mod explain;
pub mod failure;
pub mod fetch;
pub mod fsutil;
pub mod goenv;
pub mod goflags;
pub mod net;
pub mod pipeline;
pub mod plan;
pub mod process;
pub mod publish;
pub mod report;
pub mod rules;
pub mod schedule;
pub mod stamp;
pub mod suggest;
pub mod sumdb;
pub mod toolchain;
pub mod toolenv;
pub mod vcs;
pub mod verify;
pub mod workspace;
