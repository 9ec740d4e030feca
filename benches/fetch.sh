#!/usr/bin/env bash
# Module fetch through the machine's real module proxy: `gobuildr fetch`
# against `go mod download`, on real projects pinned by exact version.
#
#   cold: gobuildr with a fresh cache dir; go with a fresh GOMODCACHE
#   warm: the same command again, everything already in the cache
#
# Both get the GOPROXY and GOSUMDB (and GONOPROXY, GONOSUMDB, GOPRIVATE,
# GOINSECURE) that `go env` reports on this machine, read at run time, so
# nothing here names a proxy (so `GOPROXY=file://DIR GOSUMDB=off benches/fetch.sh`
# measures a local proxy instead). See docs/benchmarks.md for the method.
#
# Usage: benches/fetch.sh [options] [MODULE@VERSION ...]
#   MODULE@VERSION     the projects (default github.com/caddyserver/caddy/v2@v2.11.9:
#                      ~250 modules in go.sum); each is laid out from its own module
#                      zip (`go mod download -json`, untimed) in the scratch dir
#   --runs N           cold samples per tool and project (default 5)
#   --warm-runs N      warm samples per tool and project (default: --runs)
#   --quick            one cold and one warm sample each
#   --gobuildr PATH    use this binary instead of `cargo build --release`
#   --commit LABEL     what to record as the binary's commit (with --gobuildr)
#   --fetch-args ARGS  extra arguments for `gobuildr fetch` (e.g. "--audit")
#   --no-wait          do not wait for a quiet machine before each sample
#   --max-wait S       longest wait for a quiet machine, seconds (default 120)
#   --attempts N       tries per sample when other processes disturb it (default 3)
#   --results DIR      where the TSV goes (default benches/results)
#   --keep             keep the scratch directory
#
# Needs: bash, go, python3 (benches/e2e_tool.py), a reachable module proxy.
#
# Fairness: samples alternate which tool goes first; the same environment
# for both (GOTOOLCHAIN=local, GOFLAGS empty, GOENV=off, the proxy settings
# above; SSL_CERT_FILE and the rest inherited); one fresh cache per cold
# sample; the warm samples follow one untimed warm-up each. The network is
# part of what is measured: a cold sample's time depends on the proxy's
# latency at that moment, so runs alternate and the median is reported.
# Disturbance is recorded as in e2e.sh (CPU time other processes used);
# a sample disturbed by more than 5% of the machine is retaken.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tool="$here/e2e_tool.py"

runs=5 warm_runs="" gobuildr="" commit="" fetch_args="" wait=1 max_wait=120 attempts=3
results="$here/results" keep=0 projects=()
while (($#)); do
	case $1 in
	--runs) runs=$2; shift ;;
	--warm-runs) warm_runs=$2; shift ;;
	--quick) runs=1 warm_runs=1 ;;
	--gobuildr) gobuildr=$2; shift ;;
	--commit) commit=$2; shift ;;
	--fetch-args) fetch_args=$2; shift ;;
	--no-wait) wait=0 ;;
	--max-wait) max_wait=$2; shift ;;
	--attempts) attempts=$2; shift ;;
	--results) results=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fetch.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	*@*) projects+=("$1") ;;
	*) echo "fetch.sh: $1: want MODULE@VERSION (an exact version)" >&2; exit 2 ;;
	esac
	shift
done
warm_runs=${warm_runs:-$runs}
((${#projects[@]})) || projects=(github.com/caddyserver/caddy/v2@v2.11.9)

for c in go python3; do
	command -v "$c" >/dev/null || { echo "fetch.sh: $c is required" >&2; exit 2; }
done

# The machine's module settings, as go itself resolves them (go env file,
# environment, defaults). Passed explicitly to both tools below.
proxy_vars=(GOPROXY GOSUMDB GONOPROXY GONOSUMDB GOPRIVATE GOINSECURE)
mapfile -t proxy_vals < <(go env "${proxy_vars[@]}")
common_env=(GOTOOLCHAIN=local GOFLAGS= GOENV=off CGO_ENABLED=0)
for i in "${!proxy_vars[@]}"; do
	common_env+=("${proxy_vars[$i]}=${proxy_vals[$i]}")
done
case ${proxy_vals[0]} in
off | "") echo "fetch.sh: go env GOPROXY is '${proxy_vals[0]}': nothing to fetch from" >&2; exit 3 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-fetch.XXXXXX")
cleanup() {
	if ((keep)); then
		echo "scratch kept in $work" >&2
	else
		chmod -R u+w "$work" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# --- the binary under test ---------------------------------------------------
if [[ -z $gobuildr ]]; then
	echo "building gobuildr (cargo build --release)..." >&2
	(cd "$root" && cargo build --release --quiet)
	gobuildr="${CARGO_TARGET_DIR:-$root/target}/release/gobuildr"
	commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$root" status --porcelain -- src rules Cargo.toml Cargo.lock 2>/dev/null) ]]; then
		commit="$commit-dirty"
	fi
elif [[ -z $commit ]]; then
	commit="unknown (external binary; repository HEAD is $(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo '?'))"
fi
cp "$gobuildr" "$work/gobuildr"
GB="$work/gobuildr"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
tsv="$results/fetch-$stamp.tsv"

# --- the projects (untimed): each one's own module zip, made writable -------------
mkdir -p "$work/ws" "$work/logs" "$work/setup"
names=()
for p in "${projects[@]}"; do
	name=$(basename "${p%@*}")@${p##*@}
	[[ $name == v[0-9]*@* ]] && name=$(basename "$(dirname "${p%@*}")")@${p##*@} # .../caddy/v2@v → caddy@v
	json=$(cd "$work/setup" && env "${common_env[@]}" GOFLAGS=-mod=mod GOMODCACHE="$work/setup/modcache" \
		go mod download -json "$p") || {
		echo "fetch.sh: cannot download $p through the proxy:" >&2
		echo "$json" >&2
		exit 3
	}
	dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$json")
	cp -r "$dir" "$work/ws/$name"
	chmod -R u+w "$work/ws/$name"
	if grep -q '^toolchain ' "$work/ws/$name/go.mod"; then
		echo "note: $p's go.mod has a toolchain line; GOTOOLCHAIN=local ignores it" >&2
	fi
	names+=("$name")
done

# --- the machine ---------------------------------------------------------------
{
	echo "# gobuildr fetch benchmark, $stamp"
	echo "# nproc: $(nproc)"
	echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "# memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "# kernel: $(uname -sr)"
	echo "# filesystem of scratch: $(df -T "$work" | awk 'NR==2 {print $2}')"
	echo "# go: $(go version)"
	echo "# gobuildr: $("$GB" --version 2>/dev/null || echo '?') commit $commit ($gobuildr)"
	echo "# gobuildr fetch args: ${fetch_args:-none}"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# cold runs: $runs, warm runs: $warm_runs"
	for i in "${!projects[@]}"; do
		ws="$work/ws/${names[$i]}"
		echo "# project ${names[$i]}: ${projects[$i]}, go.sum $(wc -l <"$ws/go.sum") lines," \
			"$(awk '{print $1}' "$ws/go.sum" | sort -u | wc -l) modules," \
			"$(cd "$ws" && env "${common_env[@]}" GOMODCACHE="$work/setup/modcache" GOFLAGS=-mod=mod go list -m all 2>/dev/null | tail -n +2 | wc -l) other modules in the build list"
	done
	printf 'kind\tworkspace\tscenario\ttool\trun\tattempt\tkept\twall_s\tuser_s\tsys_s\tothers_cpu_s\tbusy_before\texit\tnote\n'
} >"$tsv"
sed -n 's/^# //p' "$tsv" | tail -n +2 >&2

# prepare WS SCENARIO TOOL: empty the tool's cache for a cold run.
prepare() {
	local ws=$1 scenario=$2 t=$3
	[[ $scenario == cold ]] || return 0
	if [[ $t == go ]]; then
		chmod -R u+w "$work/gomod-$ws" 2>/dev/null || true
		rm -rf "$work/gomod-$ws"
	else
		chmod -R u+w "$work/gbcache-$ws" 2>/dev/null || true
		rm -rf "$work/gbcache-$ws"
	fi
}

# set_cmd WS TOOL: the argv to time, into CMD.
set_cmd() {
	local ws=$1 t=$2 extra
	if [[ $t == go ]]; then
		CMD=(env "${common_env[@]}" GOCACHE="$work/gocache" GOMODCACHE="$work/gomod-$ws"
			go mod download)
	else
		read -r -a extra <<<"$fetch_args"
		CMD=(env "${common_env[@]}" "$GB" fetch -C "$work/ws/$ws" --cache-dir "$work/gbcache-$ws" "${extra[@]}")
	fi
}

# sample WS SCENARIO TOOL RUN: one timed run, retaken (up to $attempts) if
# other processes used more than 5% of the machine meanwhile; every attempt
# goes into the TSV, the least disturbed one is kept.
sample() {
	local ws=$1 scenario=$2 t=$3 run=$4 attempt busy res wall user sys others rc noise
	local best=0 best_noise="" rows=() walls=() rcs=() i
	for ((attempt = 1; attempt <= attempts; attempt++)); do
		prepare "$ws" "$scenario" "$t"
		busy=-
		if ((wait)); then
			busy=$(python3 "$tool" quiet --max-wait "$max_wait" --window "$([[ $scenario == cold ]] && echo 2 || echo 1)" | cut -f1)
		fi
		set_cmd "$ws" "$t"
		res=$(python3 "$tool" run --cwd "$work/ws/$ws" --log "$work/logs/$ws-$scenario-$t.log" -- "${CMD[@]}")
		IFS=$'\t' read -r wall user sys others rc <<<"$res"
		noise=$(awk -v o="$others" -v w="$wall" -v n="$(nproc)" 'BEGIN { x = (o - 0.05) / (w * n); printf "%.4f", x < 0 ? 0 : x }')
		rows+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$wall" "$user" "$sys" "$others" "$busy" "$rc" "$noise")")
		walls+=("$wall") rcs+=("$rc")
		if [[ -z $best_noise ]] || awk -v a="$noise" -v b="$best_noise" 'BEGIN { exit !(a < b) }'; then
			best=$((attempt - 1)) best_noise=$noise
		fi
		# A failed run is not retaken: it fails the same way again.
		if ((!wait)) || ((rc != 0)) || awk -v a="$noise" 'BEGIN { exit !(a <= 0.05) }'; then break; fi
	done
	for i in "${!rows[@]}"; do
		IFS=$'\t' read -r wall user sys others busy rc noise <<<"${rows[$i]}"
		printf 'sample\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$ws" "$scenario" "$t" "$run" "$((i + 1))" "$((i == best))" "$wall" "$user" "$sys" "$others" "$busy" "$rc" \
			"$( ((i == best)) || echo "discarded: others used the CPUs (share $noise)")" >>"$tsv"
	done
	rc=${rcs[$best]}
	printf '  %-16s %-4s %-9s run %-2s %8.3f s wall  (attempts %d, disturbance %s)%s\n' "$ws" "$scenario" "$t" "$run" \
		"${walls[$best]}" "${#rows[@]}" "$best_noise" \
		"$( ((rc == 0)) || echo "  FAILED (exit $rc)")" >&2
	if ((rc != 0)); then
		echo "---- last lines of $work/logs/$ws-$scenario-$t.log" >&2
		tail -n 5 "$work/logs/$ws-$scenario-$t.log" >&2
	fi
	return 0
}

# check WS: what each tool has in its download cache after the cold samples,
# and whether gobuildr's files are byte-identical to go's (same proxy bytes).
check() {
	local ws=$1 g="$work/gomod-$ws/cache/download" b="$work/gbcache-$ws/modcache-v1/cache/download"
	local gz gm bz bm same=0 total=0 bad="" f rel
	count() { if [[ -d $1 ]]; then find "$1" -name "$2" | wc -l; else echo 0; fi; }
	gz=$(count "$g" '*.zip') gm=$(count "$g" '*.mod') bz=$(count "$b" '*.zip') bm=$(count "$b" '*.mod')
	while IFS= read -r f; do
		rel=${f#"$g/"}
		total=$((total + 1))
		if cmp -s "$f" "$b/$rel"; then same=$((same + 1)); else bad="$bad ${rel%%/@v/*}@$(basename "${rel%.*}")"; fi
	done < <([[ -d $g ]] && find "$g" \( -name '*.zip' -o -name '*.mod' \) | sort)
	bad=$(tr ' ' '\n' <<<"$bad" | sort -u | tr '\n' ' ' | sed 's/^ *//; s/ *$//')
	printf 'check\t%s\tcold\tboth\t\t\t\t\t\t\t\t\t\tgo: %s zips %s go.mod; gobuildr: %s zips %s go.mod; identical to go'"'"'s %s/%s%s\n' \
		"$ws" "$gz" "$gm" "$bz" "$bm" "$same" "$total" "${bad:+; missing or different: $(cut -c1-300 <<<"$bad")}" >>"$tsv"
	echo "  check: go $gz zips $gm go.mod; gobuildr $bz zips $bm go.mod; $same/$total of go's files identical in gobuildr's cache" >&2
}

for ws in "${names[@]}"; do
	echo "== $ws" >&2
	order=(go gobuildr)
	for ((r = 1; r <= runs; r++)); do
		for t in "${order[@]}"; do sample "$ws" cold "$t" "$r"; done
		order=("${order[1]}" "${order[0]}")
	done
	check "$ws"
	# One untimed warm-up each (the caches are complete after a cold run
	# unless it failed), then the warm samples.
	for t in go gobuildr; do
		set_cmd "$ws" "$t"
		python3 "$tool" run --cwd "$work/ws/$ws" -- "${CMD[@]}" >/dev/null
	done
	for ((r = 1; r <= warm_runs; r++)); do
		for t in "${order[@]}"; do sample "$ws" warm "$t" "$r"; done
		order=("${order[1]}" "${order[0]}")
	done
done

# --- report ----------------------------------------------------------------------
echo >&2
python3 - "$tsv" <<'EOF'
import collections, statistics, sys
rows, header = [], None
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    parts = line.rstrip("\n").split("\t")
    if header is None:
        header = parts
        continue
    rows.append(dict(zip(header, parts)))
wall, cpu, failed, order, checks = collections.defaultdict(list), collections.defaultdict(list), set(), [], {}
for r in rows:
    if r["kind"] == "check":
        checks[r["workspace"]] = r["note"]
    if r["kind"] != "sample":
        continue
    if r["workspace"] not in order:
        order.append(r["workspace"])
    key = (r["workspace"], r["scenario"], r["tool"])
    if r["exit"] != "0":
        failed.add(key)
    if r["kept"] == "1" and r["exit"] == "0":
        wall[key].append(float(r["wall_s"]))
        cpu[key].append(float(r["user_s"]) + float(r["sys_s"]))
def fmt(v):
    if not v:
        return "–"
    x = statistics.median(v)
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"
def cell(d, k):
    return "FAIL" if k in failed else fmt(d[k])
def ratio(d, a, b):
    return f"{statistics.median(d[a]) / statistics.median(d[b]):.2f}×" if d[a] and d[b] and a not in failed and b not in failed else "–"
for title, d in (("Wall time", wall), ("CPU time (user + sys of the tool and its children)", cpu)):
    print(f"{title}, median of the kept samples (ratio = gobuildr / go mod download):\n")
    print("| project | cold go | cold gobuildr | ratio | warm go | warm gobuildr | ratio | runs (cold/warm) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for ws in order:
        k = {(s, t): (ws, s, t) for s in ("cold", "warm") for t in ("go", "gobuildr")}
        n = lambda s: min(len(wall[k[(s, "go")]]), len(wall[k[(s, "gobuildr")]]))
        print(f"| {ws} | {cell(d, k['cold', 'go'])} | {cell(d, k['cold', 'gobuildr'])} | {ratio(d, k['cold', 'gobuildr'], k['cold', 'go'])} "
              f"| {cell(d, k['warm', 'go'])} | {cell(d, k['warm', 'gobuildr'])} | {ratio(d, k['warm', 'gobuildr'], k['warm', 'go'])} | {n('cold')}/{n('warm')} |")
    print()
for ws, note in checks.items():
    print(f"{ws}: {note}")
EOF
echo >&2
echo "raw samples: $tsv" >&2
