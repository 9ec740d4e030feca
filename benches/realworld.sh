#!/usr/bin/env bash
# The real-world tier's projects (tests/realworld/projects.toml), gobuildr
# against go build, side by side:
#   cold: empty build caches (both tools), modules already downloaded and
#         verified (go: a primed GOMODCACHE; gobuildr: a copy of a primed
#         module cache and checksum-database cache), so compiling is measured
#         and not the network;
#   warm: the same build again, nothing changed.
# Each sample alternates which tool goes first; the report gives medians.
# Both tools build the project's listed main packages for linux/amd64 with
# its first run's flags (-buildvcs=false for both), as the tests do.
#
# Usage: benches/realworld.sh [--only a,b] [--cold-runs N] [--warm-runs N]
#                             [--gobuildr PATH] [--results DIR]
# Needs: bash, go, python3 (3.11: tomllib), the module proxy `go env` names.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
only=""
cold_runs=3
warm_runs=5
gobuildr=""
results="$here/results"
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    --cold-runs) cold_runs="$2"; shift 2 ;;
    --warm-runs) warm_runs="$2"; shift 2 ;;
    --gobuildr) gobuildr="$2"; shift 2 ;;
    --results) results="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$gobuildr" ]; then
  (cd "$root" && cargo build --release --quiet)
  gobuildr="$root/target/release/gobuildr"
fi
gobuildr=$(realpath "$gobuildr")
mkdir -p "$results"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-realworld.XXXXXX")
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
tsv="$results/realworld-$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'project\ttool\tkind\trun\tseconds\n' > "$tsv"

# project name, module@version, packages, flags: one line each.
projects=$(python3 - "$root/tests/realworld/projects.toml" "$only" <<'EOF'
import sys, tomllib
only = [x for x in sys.argv[2].split(",") if x]
for p in tomllib.load(open(sys.argv[1], "rb"))["project"]:
    if p.get("layout", "module") != "module" or (only and p["name"] not in only):
        continue
    flags = p["runs"][0]
    print("\t".join([p["name"], f'{p["module"]}@{p["version"]}',
                     " ".join(p["packages"]), "\x1f".join(flags)]))
EOF
)

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOOS=linux GOARCH=amd64
gomodcache="$scratch/gomodcache"
primed="$scratch/gobuildr-primed"

now() { date +%s.%N; }

# go build -o DIR/ with the project's flags; $1 = GOCACHE.
run_go() {
  local cache=$1 out=$2; shift 2
  GOCACHE="$cache" GOMODCACHE="$gomodcache" go build -trimpath -buildvcs=false \
    -o "$out/" "${go_flags[@]}" $packages
}
# gobuildr build -o DIR/; $1 = cache dir.
run_gobuildr() {
  local cache=$1 out=$2
  "$gobuildr" --cache-dir "$cache" build -q --buildvcs=false -o "$out/" \
    "${gb_flags[@]}" $packages
}
sample() {
  local name=$1 tool=$2 kind=$3 run=$4; shift 4
  local t0 t1
  t0=$(now); "$@" >/dev/null 2>&1; t1=$(now)
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$tool" "$kind" "$run" \
    "$(python3 -c "print(round($t1-$t0,3))")" >> "$tsv"
}

while IFS=$'\t' read -r name modver packages flags; do
  [ -n "$name" ] || continue
  echo "== $name ($modver)" >&2
  src=$(GOMODCACHE="$gomodcache" go mod download -json "$modver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  ws="$scratch/ws-$name"; cp -r "$src" "$ws"; chmod -R u+w "$ws"
  IFS=$'\x1f' read -r -a gb_flags <<< "$flags"
  go_flags=()
  ld=0
  for f in "${gb_flags[@]}"; do
    case "$f" in
      -ldflags=*) go_flags+=("$f -buildid="); ld=1 ;;
      *) go_flags+=("$f") ;;
    esac
  done
  [ $ld = 1 ] || go_flags=(-ldflags=-buildid= "${go_flags[@]}")
  cd "$ws"
  # Prime both module caches (not measured).
  GOMODCACHE="$gomodcache" go mod download >/dev/null
  rm -rf "$primed"; run_gobuildr "$primed" "$scratch/out-prime" >/dev/null
  for run in $(seq 1 "$cold_runs"); do
    for tool in $( [ $((run % 2)) = 1 ] && echo "go gobuildr" || echo "gobuildr go"); do
      out="$scratch/out-$tool"; rm -rf "$out" "$scratch/cache-$tool"
      if [ $tool = go ]; then
        sample "$name" go cold "$run" run_go "$scratch/cache-go" "$out"
      else
        mkdir -p "$scratch/cache-gobuildr"
        for d in modcache-v1 sumdb-v1; do
          [ ! -d "$primed/$d" ] || cp -al "$primed/$d" "$scratch/cache-gobuildr/"
        done
        sample "$name" gobuildr cold "$run" run_gobuildr "$scratch/cache-gobuildr" "$out"
      fi
    done
  done
  for run in $(seq 1 "$warm_runs"); do
    for tool in $( [ $((run % 2)) = 1 ] && echo "go gobuildr" || echo "gobuildr go"); do
      out="$scratch/out-$tool"
      if [ $tool = go ]; then
        sample "$name" go warm "$run" run_go "$scratch/cache-go" "$out"
      else
        sample "$name" gobuildr warm "$run" run_gobuildr "$scratch/cache-gobuildr" "$out"
      fi
    done
  done
  cd "$root"
done <<< "$projects"

python3 - "$tsv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
keys = sorted({(r["project"], r["kind"]) for r in rows}, key=lambda k: (k[0], k[1] != "cold"))
print("| project | kind | go build (median s) | gobuildr (median s) | ratio |")
print("|---|---|---|---|---|")
for p, k in keys:
    med = {t: statistics.median(float(r["seconds"]) for r in rows
                                if (r["project"], r["kind"], r["tool"]) == (p, k, t))
           for t in ("go", "gobuildr")}
    print(f"| {p} | {k} | {med['go']:.2f} | {med['gobuildr']:.2f} | {med['gobuildr']/med['go']:.2f} |")
print(f"\nraw samples: {sys.argv[1]}")
EOF
