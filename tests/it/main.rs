//! Integration tests: drive the real `gobuildr` binary on real workspaces
//! (copies of `examples/`, or ones laid out in temp dirs) and compare with
//! the real `go build`. Offline: modules come from a `file://` GOPROXY built
//! from `examples/proxy-src`.

mod support;

mod aquery;
mod build;
mod checksum_db;
mod explain_keys;
mod flagsplit;
mod goflags;
mod incremental;
mod layers;
mod matrix;
mod modules;
mod netfix;
mod projects;
mod query;
mod realworld;
mod reapi_servers;
mod remote;
mod snapshots;
mod test_cmd;
mod transport;
mod verify;
