#!/usr/bin/env bash
# Regenerates the pictures of docs/query.md under docs/images/ from real
# queries: the HTML viewer on examples/multi, the clustered viewer and a
# graphviz rendering on github.com/mikefarah/yq/v4 (fetched at an exact
# version through the machine's own module proxy, as `go env` has it).
# Needs chromium, graphviz (dot) and pngquant: Debian's packages, installed
# here when missing. pngquant keeps each picture small (about 150 KB at most).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=$repo/docs/images
yq=github.com/mikefarah/yq/v4@v4.54.3

if ! command -v chromium >/dev/null || ! command -v dot >/dev/null || ! command -v pngquant >/dev/null; then
  apt-get update && apt-get install -y chromium graphviz pngquant
fi
cargo build -j1 --quiet
gobuildr=$repo/target/debug/gobuildr
tmp=$(mktemp -d)
# Module cache copies are read-only; make them removable.
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
export GOBUILDR_CACHE=$tmp/cache GOMODCACHE=$tmp/modcache GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$out"

# shot PAGE HASH PNG COLOURS: a 1200x800 screenshot of the page, quantized.
shot() {
  chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 \
    --window-size=1200,800 --screenshot="$tmp/shot.png" "file://$1#$2" 2>/dev/null
  pngquant --force "$4" --output "$out/$3" "$tmp/shot.png"
}

# (i) The viewer on a small example, one package selected.
"$gobuildr" query 'deps(//...)' --output html -o "$tmp/multi.html" -C examples/multi
shot "$tmp/multi.html" select=example.com/multi/cmd/client query-html.png 64

# (ii) 318 packages with std expanded: above 150 the viewer shows one node
# per module until one is opened.
src=$(go mod download -json "$yq" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
cp -r "$src" "$tmp/yq"
chmod -R u+w "$tmp/yq"
"$gobuildr" query 'deps(//...)' --output html -o "$tmp/yq.html" -C "$tmp/yq"
shot "$tmp/yq.html" expand=std query-clusters.png 48

# (iii) --output dot through graphviz: yq's packages and what they import
# directly, std left out.
"$gobuildr" query 'deps(//..., 1) - std' --output dot -C "$tmp/yq" |
  dot -Tpng -Grankdir=LR -Gdpi=60 -o "$tmp/dot.png"
pngquant --force 32 --output "$out/query-dot.png" "$tmp/dot.png"
ls -l "$out"
