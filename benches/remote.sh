#!/usr/bin/env bash
# The remote cache and remote execution on a real project, side by side:
#   go          go build from an empty GOCACHE (reference)
#   local       gobuildr from an empty local cache, no remote
#   remote-hit  gobuildr from an empty local cache, with a bazel-remote the
#               first (unmeasured) build filled: what a fresh CI machine or
#               a second checkout pays
#   remote-exec gobuildr from an empty local cache against a fresh Buildbarn
#               (2 worker slots on this machine) with an empty cache
# Modules are downloaded before (a primed module cache is copied in), so
# building is measured, not the network. Samples alternate the order; the
# report gives medians and the bytes each remote mode moved.
#
# Usage: benches/remote.sh [MODULE@VERSION [PACKAGES]] [--runs N]
# Default: github.com/mikefarah/yq/v4@v4.54.3 . (the real-world tier's CLI).
# Needs: go, python3, the servers of scripts/reapi-servers.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
modver=github.com/mikefarah/yq/v4@v4.54.3
packages=.
runs=3
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -lt 1 ] || modver=${args[0]}
[ ${#args[@]} -lt 2 ] || packages=${args[1]}

(cd "$root" && cargo build --release --quiet)
gobuildr=$root/target/release/gobuildr
"$root/scripts/reapi-servers.sh" "$root/target/reapi-servers" >/dev/null
bin=$root/target/reapi-servers/bin
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-remote.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"
}
trap cleanup EXIT
mkdir -p "$here/results"
tsv="$here/results/remote-$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'mode\trun\tseconds\tdownloaded\tuploaded\texecuted_remotely\n' > "$tsv"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
gomodcache=$scratch/gomodcache
src=$(GOMODCACHE="$gomodcache" go mod download -json "$modver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
ws=$scratch/ws; cp -r "$src" "$ws"; chmod -R u+w "$ws"; cd "$ws"
GOMODCACHE="$gomodcache" go mod download >/dev/null
primed=$scratch/primed
"$gobuildr" --cache-dir "$primed" build -q --buildvcs=false -o "$scratch/out/" $packages

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A server in the background until it prints `ready`.
start() {
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do grep -q '^ready' "$log" && return 0; sleep 0.1; done
  echo "server did not start: $*" >&2; cat "$log" >&2; exit 1
}
# An empty local cache with the primed modules and checksum database.
fresh_cache() {
  rm -rf "$1"; mkdir -p "$1"
  for d in modcache-v1 sumdb-v1; do [ ! -d "$primed/$d" ] || cp -al "$primed/$d" "$1/"; done
}
now() { date +%s.%N; }
# mode run command...: times it and records the summary's remote counters.
sample() {
  local mode=$1 run=$2; shift 2
  local t0 t1
  rm -f "$scratch/s.json"
  t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
  python3 - "$mode" "$run" "$t0" "$t1" "$scratch/s.json" >> "$tsv" <<'EOF'
import json, os, sys
mode, run, t0, t1, path = sys.argv[1:]
r = json.load(open(path)).get("remote", {}) if os.path.exists(path) else {}
print("\t".join([mode, run, str(round(float(t1) - float(t0), 3)),
                 str(r.get("bytes_downloaded", 0)), str(r.get("bytes_uploaded", 0)),
                 str(r.get("executed", 0))]))
EOF
}
gb() { "$gobuildr" --cache-dir "$scratch/cache" build -q --buildvcs=false -o "$scratch/out/" --summary-json "$scratch/s.json" "$@" $packages; }
go_cold() { rm -rf "$scratch/gocache"; GOCACHE=$scratch/gocache GOMODCACHE=$gomodcache go build -trimpath -buildvcs=false -ldflags=-buildid= -o "$scratch/out-go/" $packages; }

cache_port=$(port)
start "$scratch/bazel-remote.log" "$root/scripts/reapi-start.sh" bazel-remote "$scratch/bazel-remote" "$cache_port"
fresh_cache "$scratch/cache"; gb --remote-cache "grpc://127.0.0.1:$cache_port"   # fills the remote cache

exec_run() {
  local bb_port; bb_port=$(port)
  start "$scratch/bb.log" "$root/scripts/reapi-start.sh" buildbarn "$scratch/bb-$1" "$bb_port"
  fresh_cache "$scratch/cache"
  sample remote-exec "$1" gb --remote-executor "grpc://127.0.0.1:$bb_port"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
}
for run in $(seq 1 "$runs"); do
  modes="go local remote-hit remote-exec"
  [ $((run % 2)) = 1 ] || modes="remote-exec remote-hit local go"
  for mode in $modes; do
    case $mode in
      go) sample go "$run" go_cold ;;
      local) fresh_cache "$scratch/cache"; sample local "$run" gb ;;
      remote-hit) fresh_cache "$scratch/cache"; sample remote-hit "$run" gb --remote-cache "grpc://127.0.0.1:$cache_port" ;;
      remote-exec) exec_run "$run" ;;
    esac
  done
done

python3 - "$tsv" "$modver" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = lambda m, f: statistics.median(float(r[f]) for r in rows if r["mode"] == m)
local = med("local", "seconds")
print(f"{sys.argv[2]}, cold builds, median of {len([r for r in rows if r['mode'] == 'go'])}:\n")
print("| mode | seconds | × local cold | downloaded MB | uploaded MB | executed remotely |")
print("|---|---|---|---|---|---|")
for m in ["go", "local", "remote-hit", "remote-exec"]:
    s = med(m, "seconds")
    print(f"| {m} | {s:.2f} | {s / local:.2f} | {med(m, 'downloaded') / 1e6:.1f} | "
          f"{med(m, 'uploaded') / 1e6:.1f} | {med(m, 'executed_remotely'):.0f} |")
print(f"\nraw samples: {sys.argv[1]}")
EOF
