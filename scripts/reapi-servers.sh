#!/usr/bin/env bash
# Builds real REAPI servers for the integration tests and CI:
#
#   scripts/reapi-servers.sh DIR
#
# into DIR/bin: bazel-remote (cache only) and Buildbarn's bb_storage,
# bb_scheduler, bb_worker and bb_runner (remote execution). Idempotent: a
# binary already in DIR/bin is not rebuilt. Sources come from the module
# proxy the go command is configured with (`go env GOPROXY`), downloaded into
# the normal module cache; they are built in copies under DIR/src, because
# Buildbarn builds with Bazel and patches some dependencies that a plain
# `go build` must have patched too:
#   - bb-storage: google.golang.org/genproto/googleapis/bytestream
#     (RegisterByteStreamServer takes a grpc.ServiceRegistrar),
#   - bb-remote-execution: github.com/hanwen/go-fuse/v2 (three patches).
# The versions are pinned: the proxy refuses these modules' version lists.
set -euo pipefail

DIR=${1:?usage: $0 DIR}
mkdir -p "$DIR/bin" "$DIR/src"
DIR=$(cd "$DIR" && pwd)
BIN=$DIR/bin
SRC=$DIR/src

BAZEL_REMOTE=github.com/buchgr/bazel-remote/v2@v2.6.1
BB_STORAGE=github.com/buildbarn/bb-storage@v0.0.0-20260805174928-33530b6bb903
BB_RE=github.com/buildbarn/bb-remote-execution@v0.0.0-20250820081613-efef252cdf4f
GO_FUSE=github.com/hanwen/go-fuse/v2@v2.5.1

# Buildbarn has no record in the checksum database.
export GONOSUMDB=github.com/buildbarn${GONOSUMDB:+,$GONOSUMDB}
export GOFLAGS="-mod=mod ${GOFLAGS:-}"

log() { printf 'reapi-servers: %s\n' "$*" >&2; }

# mod_dir MODULE@VERSION: downloads it, prints its module-cache directory.
mod_dir() {
  (cd "$SRC" && go mod download -json "$1") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# copy_mod MODULE@VERSION NAME: a fresh writable copy at $SRC/NAME.
copy_mod() {
  local from
  from=$(mod_dir "$1")
  [ -n "$from" ] || { log "cannot download $1"; exit 1; }
  rm -rf "${SRC:?}/$2"
  cp -r "$from" "$SRC/$2"
  chmod -R u+w "$SRC/$2"
}

# needs NAME...: true if any of the binaries is missing.
needs() {
  local b
  for b in "$@"; do [ -x "$BIN/$b" ] || return 0; done
  return 1
}

# timed NAME COMMAND...: runs it and logs how long it took.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  log "$name built in $((SECONDS - start)) s"
}

build_bazel_remote() {
  copy_mod "$BAZEL_REMOTE" bazel-remote
  (cd "$SRC/bazel-remote" && CGO_ENABLED=1 go build -o "$BIN/bazel-remote.tmp" .)
  mv "$BIN/bazel-remote.tmp" "$BIN/bazel-remote"
}

# patch_dep MODDIR DEP@VERSION NAME PATCH...: copies DEP, applies the patches
# (Bazel-style: -p0, paths relative to the dependency's root) and replaces
# DEP in MODDIR with the copy.
patch_dep() {
  local moddir=$1 dep=$2 name=$3 p
  shift 3
  copy_mod "$dep" "$name"
  for p in "$@"; do
    patch -s -p0 -f --no-backup-if-mismatch -d "$SRC/$name" <"$p"
  done
  (cd "$moddir" && go mod edit -replace "${dep%@*}=$SRC/$name")
}

build_bb_storage() {
  copy_mod "$BB_STORAGE" bb-storage
  local m=$SRC/bb-storage bs
  bs=$(cd "$m" && go list -m -f '{{.Path}}@{{.Version}}' \
    google.golang.org/genproto/googleapis/bytestream)
  patch_dep "$m" "$bs" bytestream \
    "$m/patches/org_golang_google_genproto_googleapis_bytestream/service-registrar.diff"
  (cd "$m" && go build -o "$BIN/bb_storage.tmp" ./cmd/bb_storage)
  mv "$BIN/bb_storage.tmp" "$BIN/bb_storage"
}

build_bb_remote_execution() {
  copy_mod "$BB_RE" bb-remote-execution
  local m=$SRC/bb-remote-execution p
  local fp=$m/patches/com_github_hanwen_go_fuse_v2
  # bb_worker links go-fuse even with a native build directory. (The
  # bytestream patch is only needed by bb_storage's main.)
  patch_dep "$m" "$GO_FUSE" go-fuse \
    "$fp/direntrylist-offsets-and-testability.diff" \
    "$fp/writeback-cache.diff" "$fp/notify-testability.diff"
  for p in bb_scheduler bb_worker bb_runner; do
    (cd "$m" && go build -o "$BIN/$p.tmp" "./cmd/$p")
    mv "$BIN/$p.tmp" "$BIN/$p"
  done
}

# A throwaway module so that `go mod download` runs outside any workspace.
[ -f "$SRC/go.mod" ] || (cd "$SRC" && go mod init reapi-servers-src >/dev/null 2>&1)

if needs bazel-remote; then timed bazel-remote build_bazel_remote; fi
if needs bb_storage; then timed bb_storage build_bb_storage; fi
if needs bb_scheduler bb_worker bb_runner; then
  timed bb_scheduler+bb_worker+bb_runner build_bb_remote_execution
fi
log "servers in $BIN"
