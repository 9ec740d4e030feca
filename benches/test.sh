#!/usr/bin/env bash
# gobuildr test against go test on a real module's own test suite, side by
# side, alternating the order, median of N:
#   cold   empty caches (both tools; modules already downloaded)
#   warm   again, nothing changed (both serve every result from a cache)
#   touch  every file's modification time changed, contents not
#          (go test's cache reads times and sizes of the files tests open;
#          gobuildr's keys are contents)
#   clone  the same tree copied to another path, as a fresh CI checkout
#          is, with the caches warm
# Each row also counts the test binaries each tool ran (go test -json:
# packages whose result is not "(cached)").
#
# Usage: benches/test.sh [MODULE@VERSION] [--runs N]
# Default: github.com/google/go-cmp@v0.6.0. Needs go, python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
modver=github.com/google/go-cmp@v0.6.0
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    *) modver="$1"; shift ;;
  esac
done
(cd "$root" && cargo build --release --quiet)
gobuildr=$root/target/release/gobuildr
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-test-bench.XXXXXX")
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
mkdir -p "$here/results"
tsv="$here/results/test-$(date -u +%Y%m%dT%H%M%SZ).tsv"
printf 'tool\tkind\trun\tseconds\tbinaries_run\n' > "$tsv"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
src=$(go mod download -json "$modver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
ws=$scratch/ws; cp -r "$src" "$ws"; chmod -R u+w "$ws"; cd "$ws"
go mod download >/dev/null

now() { date +%s.%N; }
# Binaries run: packages whose verdict line is not "(cached)" nor "[no test files]".
ran() { grep -E '^(ok|FAIL)' "$1" | grep -vc '(cached)' || true; }
sample() {
  local tool=$1 kind=$2 run=$3 t0 t1
  t0=$(now)
  if [ "$tool" = go ]; then
    GOCACHE=$scratch/gocache go test ./... > "$scratch/out" 2>&1 || true
  else
    "$gobuildr" --cache-dir "$scratch/gbcache" test --buildvcs=false ./... > "$scratch/out" 2>&1 || true
  fi
  t1=$(now)
  printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$kind" "$run" \
    "$(python3 -c "print(round($t1-$t0,3))")" "$(ran "$scratch/out")" >> "$tsv"
}
for run in $(seq 1 "$runs"); do
  order="go gobuildr"; [ $((run % 2)) = 1 ] || order="gobuildr go"
  rm -rf "$scratch/gocache" "$scratch/gbcache"
  for tool in $order; do sample "$tool" cold "$run"; done
  for tool in $order; do sample "$tool" warm "$run"; done
  find . -type f -exec touch {} +
  for tool in $order; do sample "$tool" touch "$run"; done
  cp -r "$ws" "$scratch/clone-$run"
  (cd "$scratch/clone-$run" && for tool in $order; do sample "$tool" clone "$run"; done)
done

python3 - "$tsv" "$modver" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = lambda t, k, f: statistics.median(float(r[f]) for r in rows if (r["tool"], r["kind"]) == (t, k))
print(f"{sys.argv[2]}, own test suite, median of {len(rows) // 8}:\n")
print("| case | go test s | gobuildr test s | ratio | binaries run (go / gobuildr) |")
print("|---|---|---|---|---|")
for k in ["cold", "warm", "touch", "clone"]:
    g, b = med("go", k, "seconds"), med("gobuildr", k, "seconds")
    print(f"| {k} | {g:.2f} | {b:.2f} | {b / g:.2f} | {med('go', k, 'binaries_run'):.0f} / {med('gobuildr', k, 'binaries_run'):.0f} |")
print(f"\nraw samples: {sys.argv[1]}")
EOF
