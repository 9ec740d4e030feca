#!/usr/bin/env bash
# Where a cold build's wall time goes, gobuildr next to go build, on a
# real project: gobuildr's summary breakdown (the phases before actions;
# per action step: lookup, sandbox set-up, staging, tool, outputs,
# cleanup, cache store; the workers' idle time) and go build's own
# timeline (go build -debug-trace: its loading before the first action,
# its actions' busy time, its idle time), side by side, alternating the
# order, median of N.
#
# Usage: benches/breakdown.sh [MODULE@VERSION] [--runs N] [--packages P]
# Default: github.com/mikefarah/yq/v4@v4.54.3 . (the real-world tier's CLI).
# Needs go, python3, the module proxy.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
modver=github.com/mikefarah/yq/v4@v4.54.3
packages=.
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --packages) packages="$2"; shift 2 ;;
    *) modver="$1"; shift ;;
  esac
done
(cd "$root" && cargo build --release --quiet)
gobuildr=$root/target/release/gobuildr
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-breakdown.XXXXXX")
trap 'chmod -R u+w "$scratch" 2>/dev/null; rm -rf "$scratch"' EXIT
mkdir -p "$here/results"
out="$here/results/breakdown-$(date -u +%Y%m%dT%H%M%SZ).jsonl"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly
gomodcache=$scratch/gomodcache
src=$(GOMODCACHE="$gomodcache" go mod download -json "$modver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
ws=$scratch/ws; cp -r "$src" "$ws"; chmod -R u+w "$ws"; cd "$ws"
GOMODCACHE="$gomodcache" go mod download >/dev/null
primed=$scratch/primed
"$gobuildr" --cache-dir "$primed" build -q --buildvcs=false -o "$scratch/out/" $packages

go_run() {
  rm -rf "$scratch/gocache"
  local t0 t1; t0=$(date +%s.%N)
  GOCACHE=$scratch/gocache GOMODCACHE=$gomodcache go build -trimpath -buildvcs=false \
    -ldflags=-buildid= -debug-trace="$scratch/go-trace.json" -o "$scratch/out-go/" $packages
  t1=$(date +%s.%N)
  python3 - "$scratch/go-trace.json" "$t0" "$t1" "$1" >> "$out" <<'PY'
import json, sys
trace, t0, t1, run = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ev = json.load(open(trace))
ev = ev if isinstance(ev, list) else ev["traceEvents"]
ts = [e["ts"] for e in ev if "ts" in e]
begin = min(ts)
open_ = {}
busy, first, last, tids = 0.0, None, 0.0, set()
for e in ev:
    if not e.get("name", "").startswith("Executing action"):
        continue
    k = (e.get("tid"), e["name"])
    if e["ph"] == "B":
        open_[k] = e["ts"]
    elif e["ph"] == "E" and k in open_:
        s = open_.pop(k)
        busy += (e["ts"] - s) / 1e6
        first = s if first is None else min(first, s)
        last = max(last, e["ts"])
        tids.add(e.get("tid"))
sched = (last - first) / 1e6
print(json.dumps({"tool": "go", "run": run, "wall": t1 - t0,
    "before_actions": (first - begin) / 1e6, "busy": busy, "schedule": sched,
    "idle": max(0.0, 2 * sched - busy)}))
PY
}
gb_run() {
  rm -rf "$scratch/cache"; mkdir -p "$scratch/cache"
  for d in modcache-v1 sumdb-v1; do [ ! -d "$primed/$d" ] || cp -al "$primed/$d" "$scratch/cache/"; done
  local t0 t1; t0=$(date +%s.%N)
  "$gobuildr" --cache-dir "$scratch/cache" build -q --buildvcs=false -o "$scratch/out/" \
    --summary-json "$scratch/s.json" --profile "$scratch/profile.json" $packages
  t1=$(date +%s.%N)
  python3 - "$scratch/s.json" "$t0" "$t1" "$1" >> "$out" <<'PY'
import json, sys
s, t0, t1, run = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
b = s["breakdown"]
a = b["actions"]
print(json.dumps({"tool": "gobuildr", "run": run, "wall": t1 - t0,
    "before_actions": sum(p[2] for p in b["before_actions"]),
    "busy": sum(a.values()), "schedule": b["schedule_seconds"],
    "idle": b["idle_worker_seconds"], "steps": a}))
PY
}
for run in $(seq 1 "$runs"); do
  if [ $((run % 2)) = 1 ]; then go_run "$run"; gb_run "$run"; else gb_run "$run"; go_run "$run"; fi
done

python3 - "$out" "$modver" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = lambda t, f: statistics.median(r[f] for r in rows if r["tool"] == t)
step = lambda k: statistics.median(r["steps"][k] for r in rows if r["tool"] == "gobuildr")
print(f"{sys.argv[2]}, cold build, median of {len(rows) // 2} (seconds):\n")
print("| | go build | gobuildr |\n|---|---|---|")
for f, name in [("wall", "wall"), ("before_actions", "before the first action (loading / workspace, go list, plan)"),
                ("schedule", "first action to last"), ("busy", "actions, summed"), ("idle", "workers idle (2 x schedule - actions)")]:
    print(f"| {name} | {med('go', f):.2f} | {med('gobuildr', f):.2f} |")
print("\ngobuildr's actions by step (summed over actions):\n")
print("| step | seconds | share |\n|---|---|---|")
total = sum(step(k) for k in ["lookup", "setup", "stage", "tool", "outputs", "cleanup", "store"])
for k in ["lookup", "setup", "stage", "tool", "outputs", "cleanup", "store"]:
    print(f"| {k} | {step(k):.2f} | {100 * step(k) / total:.1f}% |")
print(f"\nraw: {sys.argv[1]}")
PY
