#!/usr/bin/env bash
# End-to-end comparison of `gobuildr build` with the oracle
#   CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags=-buildid= -o DIR <pattern>
# on the examples and on a generated workspace of ~300 packages, cold (empty
# caches: std is compiled in both) and no-op (nothing changed since the last
# build). See docs/benchmarks.md for the method and the latest results.
#
# Usage: benches/e2e.sh [options]
#   --quick            one cold and one no-op sample per tool, no profile pass
#   --cold-runs N      cold samples per tool and workspace (default 3)
#   --noop-runs N      no-op samples per tool and workspace (default 10)
#   --only a,b         only these workspaces (hello multi asm embed tags moddep
#                      workspace gen300; the last is named after --size)
#   --size N           packages in the generated workspace (default 300)
#   --rev REV          build gobuildr from git revision REV (git archive into
#                      the scratch dir; target dir target/e2e-rev), so that
#                      uncommitted edits in the work tree are not measured
#   --gobuildr PATH    use this binary instead of `cargo build --release`
#   --commit LABEL     what to record as the binary's commit (with --gobuildr)
#   --no-wait          do not wait for a quiet machine before each sample
#   --max-wait S       longest wait for a quiet machine, seconds (default 300)
#   --attempts N       tries per sample when other processes disturb it (default 5)
#   --results DIR      where the TSV and reports go (default benches/results)
#   --keep             keep the scratch directory
#
# Needs: bash, go, python3 (benches/e2e_tool.py), zip (for the moddep proxy).
#
# Fairness: every sample alternates which tool goes first; both get fresh
# caches for cold runs (GOBUILDR cache dir + gobuildr-out; GOCACHE +
# GOMODCACHE + the -o dir), one untimed warm-up before the no-op samples, the
# same environment (CGO_ENABLED=0, GOTOOLCHAIN=local, GOFLAGS empty, GOENV=off,
# a file:// GOPROXY, GOSUMDB=off). Before each sample the script waits until
# the CPUs are idle, and it records the CPU time other processes used during
# the sample; a sample during which others used more than 5% of the machine
# is retaken (up to --attempts times, all recorded in the TSV) and the least
# disturbed attempt is kept.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tool="$here/e2e_tool.py"

quick=0 cold_runs=3 noop_runs=10 only="" size=300 gobuildr="" rev="" commit="" wait=1 max_wait=300
results="$here/results" keep=0 attempts=5
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--cold-runs) cold_runs=$2; shift ;;
	--noop-runs) noop_runs=$2; shift ;;
	--only) only=$2; shift ;;
	--size) size=$2; shift ;;
	--gobuildr) gobuildr=$2; shift ;;
	--rev) rev=$2; shift ;;
	--commit) commit=$2; shift ;;
	--no-wait) wait=0 ;;
	--max-wait) max_wait=$2; shift ;;
	--attempts) attempts=$2; shift ;;
	--results) results=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "e2e.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if ((quick)); then cold_runs=1 noop_runs=1; fi
gen="gen$size"
all=(hello multi asm embed tags moddep workspace "$gen")
if [[ -n $only ]]; then IFS=, read -r -a sel <<<"$only"; else sel=("${all[@]}"); fi

for c in go python3 zip; do
	command -v "$c" >/dev/null || { echo "e2e.sh: $c is required" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/gobuildr-e2e.XXXXXX")
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
if [[ -n $rev ]]; then
	commit=$(git -C "$root" rev-parse --short=12 "$rev")
	echo "building gobuildr $commit (git archive + cargo build --release)..." >&2
	mkdir -p "$work/src"
	git -C "$root" archive "$rev" | tar -x -C "$work/src"
	# git archive dates files at the commit time; cargo would take an older
	# commit's sources for fresh against a newer build in the shared target dir.
	find "$work/src" -type f -exec touch {} +
	(cd "$work/src" && CARGO_TARGET_DIR="$root/target/e2e-rev" cargo build --release --quiet)
	gobuildr="$root/target/e2e-rev/release/gobuildr"
elif [[ -z $gobuildr ]]; then
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
# A private copy: a rebuild during the run cannot swap the binary under us.
cp "$gobuildr" "$work/gobuildr"
GB="$work/gobuildr"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$results"
tsv="$results/e2e-$stamp.tsv"
report="$results/e2e-$stamp.md"

# --- the machine ---------------------------------------------------------------
{
	echo "# gobuildr e2e benchmark, $stamp"
	echo "# nproc: $(nproc)"
	echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "# memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "# kernel: $(uname -sr)"
	echo "# filesystem of scratch: $(df -T "$work" | awk 'NR==2 {print $2}')"
	echo "# go: $(go version)"
	echo "# gobuildr: $("$GB" --version 2>/dev/null || echo '?') commit $commit ($gobuildr)"
	echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# cold runs: $cold_runs, no-op runs: $noop_runs, generated workspace: $size packages"
	printf 'kind\tworkspace\tscenario\ttool\trun\tattempt\tkept\twall_s\tuser_s\tsys_s\tothers_cpu_s\tbusy_before\texit\tnote\n'
} >"$tsv"
sed -n 's/^# //p' "$tsv" | tail -n +2 >&2

# --- workspaces ------------------------------------------------------------------
mkdir -p "$work/ws" "$work/logs" "$work/summary" "$work/profile"
for ws in "${sel[@]}"; do
	case $ws in
	"$gen") "$here/genws.sh" "$work/ws/$ws" "$size" 5 ;;
	hello | multi | asm | embed | tags | moddep | workspace)
		cp -r "$root/examples/$ws" "$work/ws/$ws"
		rm -rf "$work/ws/$ws/gobuildr-out"
		;;
	*) echo "e2e.sh: unknown workspace $ws" >&2; exit 2 ;;
	esac
done
"$root/examples/proxy-src/mkproxy.sh" "$work/proxy" >/dev/null

pattern() {
	case $1 in
	workspace) echo "./app/... ./lib/..." ;; # a bare ./... fails at a go.work root
	*) echo "./..." ;;
	esac
}

common_env=(
	CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS= GOENV=off
	GOPROXY="file://$work/proxy" GOSUMDB=off GOPATH="$work/gopath"
)

# prepare WS SCENARIO TOOL: empty the tool's caches and outputs for a cold run.
prepare() {
	local ws=$1 scenario=$2 t=$3
	[[ $scenario == cold ]] || return 0
	if [[ $t == go ]]; then
		chmod -R u+w "$work/gocache-$ws" "$work/gomod-$ws" 2>/dev/null || true
		rm -rf "$work/gocache-$ws" "$work/gomod-$ws" "$work/out-$ws"
		mkdir -p "$work/out-$ws"
	else
		chmod -R u+w "$work/gbcache-$ws" 2>/dev/null || true
		rm -rf "$work/gbcache-$ws" "$work/ws/$ws/gobuildr-out"
	fi
}

# set_cmd WS SCENARIO TOOL RUN [GO FLAGS...]: the argv to time, into CMD.
set_cmd() {
	local ws=$1 scenario=$2 t=$3 run=$4 pat
	shift 4
	read -r -a pat <<<"$(pattern "$ws")"
	if [[ $t == go ]]; then
		CMD=(env "${common_env[@]}" GOCACHE="$work/gocache-$ws" GOMODCACHE="$work/gomod-$ws"
			go build -trimpath -buildvcs=false -ldflags=-buildid= "$@" -o "$work/out-$ws/" "${pat[@]}")
	else
		CMD=(env "${common_env[@]}" "$GB" build -q -C "$work/ws/$ws" --cache-dir "$work/gbcache-$ws"
			--summary-json "$work/summary/$ws-$scenario-$run.json")
	fi
}

# sample WS SCENARIO TOOL RUN: one timed run. If other processes used more
# than 5% of the machine meanwhile, it is retaken (up to $attempts times) and
# the least disturbed attempt is kept; every attempt goes into the TSV.
sample() {
	local ws=$1 scenario=$2 t=$3 run=$4 attempt busy res wall user sys others rc noise
	local best=0 best_noise="" rows=() noises=() walls=() cpus=() rcs=() i
	for ((attempt = 1; attempt <= attempts; attempt++)); do
		prepare "$ws" "$scenario" "$t"
		busy=-
		# Cold samples want a longer quiet spell before them than no-op ones.
		if ((wait)); then
			busy=$(python3 "$tool" quiet --max-wait "$max_wait" --window "$([[ $scenario == cold ]] && echo 3 || echo 1)" | cut -f1)
		fi
		set_cmd "$ws" "$scenario" "$t" "$run"
		res=$(python3 "$tool" run --cwd "$work/ws/$ws" --log "$work/logs/$ws-$scenario-$t.log" -- "${CMD[@]}")
		IFS=$'\t' read -r wall user sys others rc <<<"$res"
		# Share of the machine other processes used, beyond a 0.05 s allowance.
		noise=$(awk -v o="$others" -v w="$wall" -v n="$(nproc)" 'BEGIN { x = (o - 0.05) / (w * n); printf "%.4f", x < 0 ? 0 : x }')
		rows+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s' "$wall" "$user" "$sys" "$others" "$busy" "$rc" "$noise")")
		noises+=("$noise") walls+=("$wall") rcs+=("$rc")
		cpus+=("$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')")
		if [[ -z $best_noise ]] || awk -v a="$noise" -v b="$best_noise" 'BEGIN { exit !(a < b) }'; then
			best=$((attempt - 1)) best_noise=$noise
		fi
		if ((!wait)) || awk -v a="$noise" 'BEGIN { exit !(a <= 0.05) }'; then break; fi
	done
	for i in "${!rows[@]}"; do
		IFS=$'\t' read -r wall user sys others busy rc noise <<<"${rows[$i]}"
		printf 'sample\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$ws" "$scenario" "$t" "$run" "$((i + 1))" "$((i == best))" "$wall" "$user" "$sys" "$others" "$busy" "$rc" \
			"$( ((i == best)) || echo "discarded: others used the CPUs (share $noise)")" >>"$tsv"
	done
	rc=${rcs[$best]}
	printf '  %-10s %-5s %-9s run %-2s %8.3f s wall %8.3f s cpu  (attempts %d, disturbance %s)%s\n' "$ws" "$scenario" "$t" "$run" \
		"${walls[$best]}" "${cpus[$best]}" "${#rows[@]}" "$best_noise" \
		"$( ((rc == 0)) || echo "  FAILED (exit $rc, see log)")" >&2
	if ((rc != 0)); then
		echo "---- last lines of $work/logs/$ws-$scenario-$t.log" >&2
		tail -n 15 "$work/logs/$ws-$scenario-$t.log" >&2
	fi
}

# check WS: are gobuildr's binaries byte-identical to go build's?
check() {
	local ws=$1 same=0 total=0 f name bad=""
	for f in "$work/out-$ws"/*; do
		[[ -f $f ]] || continue
		name=$(basename "$f")
		total=$((total + 1))
		if cmp -s "$f" "$work/ws/$ws/gobuildr-out/linux_amd64/bin/$name"; then
			same=$((same + 1))
		else
			bad="$bad $name"
		fi
	done
	printf 'check\t%s\tcold\tboth\t\t\t\t\t\t\t\t\t\t%s/%s%s\n' "$ws" "$same" "$total" "${bad:+ differ:$bad}" >>"$tsv"
}

for ws in "${sel[@]}"; do
	echo "== $ws" >&2
	order=(go gobuildr)
	for ((r = 1; r <= cold_runs; r++)); do
		for t in "${order[@]}"; do sample "$ws" cold "$t" "$r"; done
		order=("${order[1]}" "${order[0]}")
	done
	check "$ws"
	# One untimed warm-up each, then the no-op samples.
	for t in go gobuildr; do
		set_cmd "$ws" noop "$t" warmup
		python3 "$tool" run --cwd "$work/ws/$ws" -- "${CMD[@]}" >/dev/null
	done
	for ((r = 1; r <= noop_runs; r++)); do
		for t in "${order[@]}"; do sample "$ws" noop "$t" "$r"; done
		order=("${order[1]}" "${order[0]}")
	done
	# Profile pass (untimed): go build's own per-package times on a cold cache,
	# to set beside gobuildr's action times from its last cold sample.
	if ((!quick)); then
		prepare "$ws" cold go
		if ((wait)); then python3 "$tool" quiet --max-wait "$max_wait" --window 3 >/dev/null; fi
		set_cmd "$ws" cold go profile -debug-actiongraph="$work/profile/$ws.json"
		python3 "$tool" run --cwd "$work/ws/$ws" -- "${CMD[@]}" >/dev/null
	fi
done

# --- report -------------------------------------------------------------------------
{
	echo "# gobuildr e2e benchmark $stamp"
	echo
	sed -n 's/^# \(.*: .*\)/- \1/p' "$tsv"
	echo
	python3 "$tool" table "$tsv"
	echo
	for ws in "${sel[@]}"; do
		s="$work/summary/$ws-cold-$cold_runs.json"
		[[ -f $s ]] || continue
		echo "## Where the time went: $ws (last cold gobuildr sample)"
		echo
		echo '```'
		python3 "$tool" actions "$s" --actiongraph "$work/profile/$ws.json" --top 10 \
			--noop "$work/summary/$ws-noop-$noop_runs.json"
		echo '```'
		echo
	done
} >"$report"
echo >&2
python3 "$tool" table "$tsv"
echo >&2
echo "raw samples: $tsv" >&2
echo "report:      $report" >&2
