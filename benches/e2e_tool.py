#!/usr/bin/env python3
"""Helpers for benches/e2e.sh: timing one command, waiting for a quiet
machine, the medians table, and where the time of a build went.

Subcommands:
  quiet   --threshold F --max-wait S --window N
                                         wait until other processes have used
                                         less than F of the CPUs for N seconds in
                                         a row; print the busy fraction seen
                                         last and seconds waited
  run     --cwd DIR --log FILE -- ARGV   run ARGV, print "wall user sys
                                         others exit" (seconds; `others` is
                                         CPU time other processes used meanwhile)
  table   TSV                            medians of the kept samples, as Markdown
  actions SUMMARY_JSON [--actiongraph F] [--top N] [--noop SUMMARY_JSON]
                                         gobuildr's action times by kind, the
                                         slowest actions, and go build's time for
                                         the same packages (from -debug-actiongraph)
"""

import argparse
import collections
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def cpu_jiffies():
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    return total - idle, total


def cmd_quiet(a):
    """Waits for --window consecutive seconds each below the threshold."""
    start = time.monotonic()
    quiet_for = 0
    busy = 1.0
    while True:
        b0, t0 = cpu_jiffies()
        time.sleep(1.0)
        b1, t1 = cpu_jiffies()
        busy = (b1 - b0) / max(t1 - t0, 1)
        quiet_for = quiet_for + 1 if busy < a.threshold else 0
        waited = time.monotonic() - start
        if quiet_for >= a.window or waited >= a.max_wait:
            break
    print(f"{busy:.3f}\t{waited:.1f}")


def cmd_run(a):
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
    b0, _ = cpu_jiffies()
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(a.log, "ab") as log:
        p = subprocess.run(argv, cwd=a.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b1, _ = cpu_jiffies()
    user = r1.ru_utime - r0.ru_utime
    sys_ = r1.ru_stime - r0.ru_stime
    # CPU the whole machine spent meanwhile, minus ours: other processes.
    others = max((b1 - b0) / HZ - user - sys_, 0.0)
    print(f"{t1 - t0:.4f}\t{user:.4f}\t{sys_:.4f}\t{others:.2f}\t{p.returncode}")


def read_tsv(path):
    rows = []
    header = None
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if header is None:
                header = parts
                continue
            rows.append(dict(zip(header, parts)))
    return rows


def fmt_s(x):
    if x is None:
        return "–"
    if x < 1:
        return f"{x * 1000:.0f} ms"
    return f"{x:.2f} s"


def cmd_table(a):
    rows = read_tsv(a.tsv)
    samples = collections.defaultdict(list)
    failed = set()
    order = []
    for r in rows:
        if r.get("kind") != "sample":
            continue
        key = (r["workspace"], r["scenario"], r["tool"])
        if r["workspace"] not in order:
            order.append(r["workspace"])
        if r["exit"] != "0":
            failed.add(key)
        if r["kept"] != "1":
            continue
        samples[key].append(
            (float(r["wall_s"]), float(r["user_s"]) + float(r["sys_s"]), float(r["others_cpu_s"]))
        )
    identical = {}
    for r in rows:
        if r.get("kind") == "check":
            identical[r["workspace"]] = r.get("note", "–")  # "N/M"

    def med(key, i):
        v = [s[i] for s in samples.get(key, [])]
        return statistics.median(v) if v else None

    def ratio(x, y):
        return f"{x / y:.2f}×" if x and y else "–"

    def n(key):
        return len(samples.get(key, []))

    print("Wall time, median of the kept samples (ratio = gobuildr / go build):\n")
    print("| workspace | cold go | cold gobuildr | ratio | no-op go | no-op gobuildr | ratio | runs (cold/no-op) | binaries identical |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for ws in order:
        cg, cb = (ws, "cold", "go"), (ws, "cold", "gobuildr")
        ng, nb = (ws, "noop", "go"), (ws, "noop", "gobuildr")
        cells = []
        for k in (cg, cb):
            cells.append("FAIL" if k in failed else fmt_s(med(k, 0)))
        cells.append(ratio(med(cb, 0), med(cg, 0)))
        for k in (ng, nb):
            cells.append("FAIL" if k in failed else fmt_s(med(k, 0)))
        cells.append(ratio(med(nb, 0), med(ng, 0)))
        cells.append(f"{min(n(cg), n(cb))}/{min(n(ng), n(nb))}")
        cells.append(identical.get(ws, "–"))
        print(f"| {ws} | " + " | ".join(cells) + " |")

    print("\nCPU time (user + sys of the build and its children), median:\n")
    print("| workspace | cold go | cold gobuildr | ratio | no-op go | no-op gobuildr | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for ws in order:
        cg, cb = (ws, "cold", "go"), (ws, "cold", "gobuildr")
        ng, nb = (ws, "noop", "go"), (ws, "noop", "gobuildr")
        print(
            f"| {ws} | {fmt_s(med(cg, 1))} | {fmt_s(med(cb, 1))} | {ratio(med(cb, 1), med(cg, 1))} "
            f"| {fmt_s(med(ng, 1))} | {fmt_s(med(nb, 1))} | {ratio(med(nb, 1), med(ng, 1))} |"
        )
    noisy = [r for r in rows if r.get("kind") == "sample" and r["kept"] != "1"]
    if noisy:
        print(f"\n{len(noisy)} sample(s) discarded because other processes used the CPUs meanwhile (see TSV).")


def parse_time(s):
    # go writes RFC 3339 with nanoseconds; Python wants at most microseconds.
    if not s:
        return None
    s = s.replace("Z", "+00:00")
    head, _, tz = s.partition("+")
    if "." in head:
        base, frac = head.split(".")
        head = f"{base}.{frac[:6]:0<6}"
    return datetime.datetime.fromisoformat(head + ("+" + tz if tz else ""))


def cmd_actions(a):
    s = json.load(open(a.summary))
    acts = s.get("action_list", [])
    wall = s.get("seconds", 0.0)
    by_kind = collections.defaultdict(lambda: [0, 0, 0.0])
    for x in acts:
        k = by_kind[x["kind"]]
        k[0] += 1
        k[1] += x.get("outcome") == "executed"
        k[2] += x.get("seconds", 0.0)
    total = sum(k[2] for k in by_kind.values())
    extra = ", ".join(f"{k} {s[k]}" for k in ("processes_spawned", "files_hashed") if k in s)
    if extra:
        print(f"gobuildr cold: {extra}")
    if a.noop and os.path.exists(a.noop):
        n = json.load(open(a.noop))
        counts = n.get("actions", {})
        extra = ", ".join(f"{k} {n[k]}" for k in ("processes_spawned", "files_hashed") if k in n)
        print(f"gobuildr no-op: {n.get('seconds', 0.0):.3f} s (its own clock), "
              f"{counts.get('cached', '?')} of {counts.get('total', '?')} actions cached{', ' + extra if extra else ''}")
    print(f"gobuildr: {len(acts)} actions, {wall:.2f} s wall (its own clock), "
          f"{total:.2f} s summed over actions (average parallelism {total / wall if wall else 0:.2f})")
    print("kind\tcount\texecuted\tseconds")
    for kind, (c, e, sec) in sorted(by_kind.items(), key=lambda kv: -kv[1][2]):
        print(f"{kind}\t{c}\t{e}\t{sec:.2f}")

    go_times = {}
    go_total = None
    if a.actiongraph and os.path.exists(a.actiongraph):
        ag = json.load(open(a.actiongraph))
        starts, ends = [], []
        go_total = 0.0
        for x in ag:
            t0, t1 = parse_time(x.get("TimeStart")), parse_time(x.get("TimeDone"))
            if not (t0 and t1):
                continue
            starts.append(t0)
            ends.append(t1)
            d = (t1 - t0).total_seconds()
            if x.get("Mode") == "build":
                go_times[x.get("Package", "")] = d
                go_total += d
            elif x.get("Mode") == "link":
                go_times["link:" + x.get("Package", "")] = d
        if starts:
            span = (max(ends) - min(starts)).total_seconds()
            print(f"go build: {len(go_times)} build/link actions, {go_total:.2f} s summed "
                  f"over build actions (compile + asm + pack per package), span {span:.2f} s")

    # Per package, gobuildr's compile+asm+pack vs go's "build" action.
    per_pkg = collections.defaultdict(float)
    for x in acts:
        key = ("link:" + x["package"]) if x["kind"] == "link" else x["package"]
        per_pkg[key] += x.get("seconds", 0.0)
    both = [p for p in per_pkg if p in go_times and not p.startswith("link:")]
    if both:
        diffs = sorted(per_pkg[p] - go_times[p] for p in both)
        print(f"per package, gobuildr minus go build over the {len(both)} packages both built: "
              f"median {1000 * statistics.median(diffs):+.1f} ms, "
              f"sum {sum(diffs):+.2f} s")
    print(f"\nslowest {a.top} packages (gobuildr: compile+symabis+asm+pack seconds; go: its build action):")
    print("package\tgobuildr_s\tgo_s")
    for pkg, sec in sorted(per_pkg.items(), key=lambda kv: -kv[1])[: a.top]:
        g = go_times.get(pkg)
        print(f"{pkg}\t{sec:.2f}\t{'' if g is None else f'{g:.2f}'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quiet")
    q.add_argument("--threshold", type=float, default=0.15)
    q.add_argument("--max-wait", type=float, default=300)
    q.add_argument("--window", type=int, default=3)
    r = sub.add_parser("run")
    r.add_argument("--cwd", default=".")
    r.add_argument("--log", default="/dev/null")
    r.add_argument("argv", nargs=argparse.REMAINDER)
    t = sub.add_parser("table")
    t.add_argument("tsv")
    c = sub.add_parser("actions")
    c.add_argument("summary")
    c.add_argument("--actiongraph")
    c.add_argument("--top", type=int, default=12)
    c.add_argument("--noop", help="summary JSON of a no-op run")
    a = ap.parse_args()
    {"quiet": cmd_quiet, "run": cmd_run, "table": cmd_table, "actions": cmd_actions}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
