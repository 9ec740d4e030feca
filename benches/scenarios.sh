#!/usr/bin/env bash
# End-to-end scenarios beyond a plain build, gobuildr against go build:
#   matrix  - a 4-platform cold build: one gobuildr run against four
#             sequential `go build` runs from empty caches; wall, CPU and
#             CPU utilisation (CPU seconds / (wall x cores)).
#   incr    - no-op, leaf edit, body edit in a widely imported package,
#             exported-API edit; each timed after a warm build, for both
#             tools, on examples/multi and a generated workspace.
# Usage: benches/scenarios.sh [matrix] [incr] [--npkg N] [--out FILE]
# Writes raw rows (TSV) to FILE (default benches/results/scenarios-<date>.tsv)
# and prints them. Uses target/release/gobuildr (built if missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
npkg=1000
out=""
want=()
while [ $# -gt 0 ]; do
  case $1 in
    --npkg) npkg=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    matrix|incr) want+=("$1"); shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=(matrix incr)
[ -x "$here/target/release/gobuildr" ] || (cd "$here" && cargo build --release -q)
gb="$here/target/release/gobuildr"
tmp=$(mktemp -d /tmp/gobuildr-scen.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
out=${out:-$here/benches/results/scenarios-$(date +%Y%m%d-%H%M%S).tsv}
mkdir -p "$(dirname "$out")"
{
  echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version), gobuildr $(git -C "$here" rev-parse --short HEAD)"
  printf 'scenario\tworkspace\ttool\twall_s\tcpu_s\tutilisation\n'
} > "$out"
cores=$(nproc)

# timed LABEL WS TOOL -- command...: one row (wall and CPU of the children).
timed() {
  local scen=$1 ws=$2 tool=$3; shift 4
  /usr/bin/time -o "$tmp/time" -f '%e %U %S' "$@" >/dev/null 2>&1 || true
  read -r wall user sys < "$tmp/time"
  local cpu util
  cpu=$(echo "$user + $sys" | bc -l)
  util=$(echo "$cpu / ($wall * $cores)" | bc -l)
  printf '%s\t%s\t%s\t%.3f\t%.2f\t%.2f\n' "$scen" "$ws" "$tool" "$wall" "$cpu" "$util" | tee -a "$out"
}

gobuild() { # dir gocache [env...] -- go build of every package, binaries to a temp dir
  local dir=$1 cache=$2; shift 2
  (cd "$dir" && env CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= GOCACHE="$cache" "$@" \
    go build -trimpath -buildvcs=false -ldflags=-buildid= -o "$tmp/go-out/" ./...)
}
export -f gobuild
export tmp

if printf '%s\n' "${want[@]}" | grep -qx matrix; then
  ws="$tmp/matrix-ws"; cp -r "$here/examples/multi" "$ws"; rm -rf "$ws/gobuildr-out"
  plats="linux/amd64 linux/arm64 darwin/arm64 windows/amd64"
  timed matrix multi-4platforms gobuildr -- "$gb" --cache-dir "$tmp/c-matrix" -C "$ws" build -q //... --platforms "${plats// /,}"
  seq_script="$tmp/seq.sh"
  {
    echo 'set -e'
    for p in $plats; do
      echo "rm -rf $tmp/go-out; gobuild $ws $tmp/gc-matrix-${p//\//_} GOOS=${p%/*} GOARCH=${p#*/}"
    done
  } > "$seq_script"
  timed matrix multi-4platforms go-sequential -- bash "$seq_script"
fi

if printf '%s\n' "${want[@]}" | grep -qx incr; then
  "$here/benches/genws.sh" "$tmp/gen" "$npkg" 5 >/dev/null
  cp -r "$here/examples/multi" "$tmp/multi"; rm -rf "$tmp/multi/gobuildr-out"
  for name in multi gen; do
    ws="$tmp/$name"
    case $name in
      multi) leaf=cmd/server/main.go; low=internal/greet/greet.go ;;
      gen) leaf=cmd/tool0/main.go; low=internal/p000/p000.go ;;
    esac
    # Warm both tools.
    "$gb" --cache-dir "$tmp/c-$name" -C "$ws" build -q //... >/dev/null 2>&1
    gobuild "$ws" "$tmp/gc-$name" >/dev/null 2>&1
    run_both() { # scenario
      timed "$1" "$name" gobuildr -- "$gb" --cache-dir "$tmp/c-$name" -C "$ws" build -q //...
      timed "$1" "$name" go -- bash -c "gobuild $ws $tmp/gc-$name"
    }
    run_both noop
    echo "func init() { println(\"leaf $RANDOM\") }" >> "$ws/$leaf"; run_both leaf-edit
    case $name in
      # A string inside a function body that is not inlined (export data unchanged).
      gen) sed -i "s/short record %q/short record (edit $RANDOM) %q/" "$ws/$low" ;;
      multi) sed -i "s/^func \\(.*\\) {$/func \\1 {\\n\\t_ = \"edit $RANDOM\"/" "$ws/$low" ;;
    esac
    run_both body-edit
    echo "func AddedAPI$RANDOM() int { return 1 }" >> "$ws/$low"; run_both api-edit
    # gobuildr's own overhead on a no-op, from its summary.
    "$gb" --cache-dir "$tmp/c-$name" -C "$ws" build -q //... --summary-json "$tmp/s.json" >/dev/null 2>&1
    printf 'noop-internal\t%s\tgobuildr\t%s\t-\t-\n' "$name" "$(python3 -c "import json;print(json.load(open('$tmp/s.json'))['seconds'])")" | tee -a "$out"
  done
fi
echo "results: $out"
