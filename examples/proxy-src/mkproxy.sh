#!/bin/sh
# Build a file:// GOPROXY from the module sources in this directory.
# Usage: mkproxy.sh OUTDIR      (then GOPROXY=file://OUTDIR)
set -eu
src=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mkproxy.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$src"
for dir in */*@v*/; do                 # e.g. example.com/greeting@v1.2.0/
	dir=${dir%/}
	mod=${dir%@*}                      # example.com/greeting
	ver=${dir##*@}                     # v1.2.0
	case $ver in
	v1.2.0) t=2024-01-01T00:00:00Z ;;
	*)      t=2024-02-01T00:00:00Z ;;
	esac
	d="$out/$mod/@v"                   # (module paths here are all lower-case,
	mkdir -p "$d"                      #  so no !-escaping is needed)
	printf '{"Version":"%s","Time":"%s"}\n' "$ver" "$t" > "$d/$ver.info"
	cp "$dir/go.mod" "$d/$ver.mod"
	rm -f "$d/$ver.zip"
	# -D: no directory entries, -X: no extra attributes. Entry names are
	# "<module>@<version>/<relative path>".
	(cd "$src" && find "$dir" -type f | LC_ALL=C sort | zip -q -X -D "$d/$ver.zip" -@)
	echo "$ver" >> "$d/list"
done
find "$out" -name list -exec sh -c 'LC_ALL=C sort -u -o "$1" "$1"' sh {} \;
