#!/usr/bin/env python3
"""Benchmark `sigil hunt`: the cost of matching with the whole SigmaHQ corpus against the bare cost of reading.

For each input, in one run, on the same files:

  (a) parse  `sigil hunt INPUT --parse-only`        reads and parses every event with the same reader and
                                                      pipeline, and runs no rule;
  (b) hunt   `sigil hunt INPUT --rules <corpus>`     the whole SigmaHQ corpus (rules, rules-emerging-threats,
                                                      rules-threat-hunting, rules-placeholder, rules-compliance).

It prints events/s and peak memory (max RSS) of both, and the ratio (b)/(a) of their hunt-phase times (the time
`sigil hunt` reports for reading + matching, without loading and compiling the rules, which is shown apart).
Each measurement is repeated (--repeat, best run kept) because a shared machine is noisy.

JSONL goal (issue 15, goal 3: hunting JSONL with all SigmaHQ rules in at most 1.5x a bare serde_json parse).
For each JSONL input it also runs, interleaved with (b), best of --repeat:

  (f) floor  `jsonl_value_parse INPUT`              the example in crates/sigil_events/examples: every line parsed
                                                      to `serde_json::Value` on all cores (rayon over blocks of
                                                      lines, as sigil reads), nothing else;
  (e) empty  `sigil hunt EMPTY.jsonl --rules ...`    loading and compiling the corpus, no event.

and prints the goal ratio hunt/floor twice: on CPU time (user+sys, or `perf stat` task-clock when perf works) of
(b) minus (e) (the hunt phase; load and compile are goal 4's) over (f), which a loaded machine disturbs least, and
on wall time (the hunt phase `sigil hunt` reports, over (f)'s). With --baseline BIN it also hunts each JSONL input
with that binary (e.g. one built from main) and checks that both find the identical set of (rule, record) pairs.

Inputs:
  evtx-regression  the .evtx files of ../shared/corpus/sigmahq-regression (202 small files, ~480 events)
  evtx-large       a large EVTX built from those samples by bench/gen_evtx.py (--evtx-chunks, default 300)
  jsonl-1x         bench/gen_jsonl.py --events N      (default N = 1,000,000; not committed, made in --work)
  jsonl-10x        bench/gen_jsonl.py --events 10*N   (to show that memory stays flat as the input grows)

Usage: bench/hunt_bench.py [--events N] [--repeat R] [--jobs J] [--work DIR] [--skip-10x] [--only evtx|jsonl]
                           [--keep] [--sigil BIN] [--baseline BIN]
Stdlib only. Needs cargo, and ../shared beside the repository.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(SHARED, "corpus", "sigmahq")
REGRESSION = os.path.join(SHARED, "corpus", "sigmahq-regression", "regression_data")
FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance", "rules-dfir"]
SUMMARY = re.compile(
    r"hunt: (\d+) files?, (\d+) events?, (\d+) detections? in ([0-9.]+)s \(\d+ events/s\)\n  rules: (\d+) run \(loaded in ([0-9.]+)s\)"
)


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def perf_works():
    """Whether `perf stat -e task-clock` can count here (not in every container)."""
    if not shutil.which("perf"):
        return False
    p = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "true"], capture_output=True, text=True)
    return p.returncode == 0 and "task-clock" in p.stderr and "not supported" not in p.stderr


PERF = None


def timed(cmd):
    """Runs `cmd` once: (CPU seconds, wall seconds, peak RSS MiB, stdout, stderr). CPU time is perf's task-clock
    when perf works, else user+sys as /usr/bin/time reports them."""
    global PERF
    if PERF is None:
        PERF = perf_works()
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as perf_out:
        full = ["/usr/bin/time", "-f", "MAXRSS %M CPU %U %S", *cmd]
        if PERF:
            full = ["perf", "stat", "-x,", "-e", "task-clock", "-o", perf_out.name, "--", *full]
        start = time.monotonic()
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - start
        if p.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
        m = re.search(r"MAXRSS (\d+) CPU ([0-9.]+) ([0-9.]+)", p.stderr)
        if not m:
            sys.exit(f"cannot read /usr/bin/time's output:\n{p.stderr[-2000:]}")
        cpu = float(m[2]) + float(m[3])
        if PERF:
            line = next((l for l in perf_out.read().splitlines() if "task-clock" in l), "")
            try:
                cpu = float(line.split(",")[0]) / 1000.0
            except ValueError:
                pass
        return cpu, wall, int(m[1]) / 1024, p.stdout, p.stderr


def detections(sigil, paths, rules, jobs, out):
    """Hunts `paths` with `sigil` into `out` (JSONL); returns the multiset of (rule, record) pairs found."""
    subprocess.run(
        [sigil, "hunt", *paths, "--rules", *rules, *jobs, "--format", "jsonl", "--output", out],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    pairs = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            key = (d.get("rule_id") or d.get("rule_title"), d.get("source"), d.get("record_id"), d.get("timestamp"))
            pairs[key] = pairs.get(key, 0) + 1
    os.unlink(out)
    return pairs


def measure_jsonl(sigil, floor, paths, rules, jobs, empty, repeat):
    """Interleaved, best of `repeat` each: the floor parse, the hunt, and the hunt of an empty input (load and
    compile only). Returns a dict of the best runs."""
    best = {}
    for _ in range(repeat):
        runs = {
            "floor": [floor, *paths] + (["--threads", jobs[1]] if jobs else []),
            "empty": [sigil, "hunt", empty, "--rules", *rules, *jobs, "--format", "jsonl", "--output", os.devnull],
            "hunt": [sigil, "hunt", *paths, "--rules", *rules, *jobs, "--format", "jsonl", "--output", os.devnull],
        }
        for name, cmd in runs.items():
            cpu, wall, rss, out, err = timed(cmd)
            if name == "floor":
                m = re.search(r"events (\d+) errors \d+ seconds ([0-9.]+)", out)
                events, phase = (int(m[1]), float(m[2])) if m else (0, wall)
            else:
                m = SUMMARY.search(err)
                if not m:
                    sys.exit(f"cannot read the summary:\n{err[-2000:]}")
                events, phase = int(m[2]), float(m[4])
            run = {"cpu": cpu, "wall": wall, "phase": phase, "rss": rss, "events": events}
            peak = max(rss, best.get(name, {}).get("rss", 0))
            if name not in best or run["cpu"] < best[name]["cpu"]:
                best[name] = run
            best[name]["rss"] = peak
    return best


def measure(sigil, args, repeat):
    """Best of `repeat` runs: (events, detections, hunt seconds, compile seconds, wall seconds, peak RSS MiB)."""
    best = None
    for _ in range(repeat):
        cmd = ["/usr/bin/time", "-f", "MAXRSS %M", sigil, "hunt", *args, "--format", "jsonl", "--output", os.devnull]
        start = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - start
        if p.returncode != 0:
            sys.exit(f"sigil hunt failed ({p.returncode}):\n{p.stderr[-2000:]}")
        m = SUMMARY.search(p.stderr)
        rss = re.search(r"MAXRSS (\d+)", p.stderr)
        if not m or not rss:
            sys.exit(f"cannot read the summary:\n{p.stderr[-2000:]}")
        run = (int(m[2]), int(m[3]), float(m[4]), float(m[6]), wall, int(rss[1]) / 1024)
        if best is None or run[2] < best[2]:
            best = run
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="events in the 1x JSONL file (default 1,000,000)")
    ap.add_argument("--evtx-chunks", type=int, default=300, help="64 KiB chunks in the large EVTX (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    ap.add_argument("--jobs", type=int, default=0, help="sigil --jobs (default: all cores)")
    ap.add_argument("--work", help="folder for generated inputs (default: a temporary folder)")
    ap.add_argument("--skip-10x", action="store_true", help="do not generate and run the 10x JSONL input")
    ap.add_argument("--keep", action="store_true", help="keep generated inputs")
    ap.add_argument("--sigil", help="use this sigil binary instead of building target/release/sigil")
    ap.add_argument("--only", choices=["evtx", "jsonl"], help="run only the EVTX or only the JSONL inputs")
    ap.add_argument("--floor", help="use this jsonl_value_parse binary instead of building the example")
    ap.add_argument("--baseline", help="also hunt the JSONL inputs with this binary and check the same (rule, record) pairs")
    args = ap.parse_args()

    if not os.path.isdir(REGRESSION):
        sys.exit(f"{REGRESSION} not found: ../shared must sit beside the repository")
    if args.sigil:
        sigil = os.path.abspath(args.sigil)
    else:
        sh(["cargo", "build", "--release", "--quiet", "-p", "sigil"], cwd=ROOT)
        sigil = os.path.join(ROOT, "target", "release", "sigil")
    floor = None
    if args.only != "evtx":
        if args.floor:
            floor = os.path.abspath(args.floor)
        else:
            sh(["cargo", "build", "--release", "--quiet", "-p", "sigil_events", "--example", "jsonl_value_parse"], cwd=ROOT)
            floor = os.path.join(ROOT, "target", "release", "examples", "jsonl_value_parse")
    work = args.work or tempfile.mkdtemp(prefix="sigil-bench-")
    os.makedirs(work, exist_ok=True)
    rules = [os.path.join(CORPUS, f) for f in FOLDERS if os.path.isdir(os.path.join(CORPUS, f))]
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []

    inputs = []
    if args.only != "jsonl":
        inputs.append(("evtx-regression", [os.path.join(REGRESSION)], "evtx"))
        big_evtx = os.path.join(work, f"large-{args.evtx_chunks}.evtx")
        if not os.path.exists(big_evtx):
            sh([sys.executable, os.path.join(ROOT, "bench", "gen_evtx.py"), "--out", big_evtx, "--chunks", str(args.evtx_chunks)])
        inputs.append(("evtx-large", [big_evtx], "evtx"))
    scales = [] if args.only == "evtx" else [(1, "jsonl-1x")] + ([] if args.skip_10x else [(10, "jsonl-10x")])
    for scale, name in scales:
        path = os.path.join(work, f"events-{args.events * scale}.jsonl")
        if not os.path.exists(path):
            sh([sys.executable, os.path.join(ROOT, "bench", "gen_jsonl.py"), "--events", str(args.events * scale), "--out", path])
        inputs.append((name, [path], "jsonl"))

    empty = os.path.join(work, "empty.jsonl")
    open(empty, "w").close()
    rows = []
    goal_rows = []
    for name, paths, kind in inputs:
        only = [p for p in paths if not p.endswith(".json")]
        if name == "evtx-regression":
            # The regression folder also holds the same events as .json; keep the .evtx files only.
            only = sorted(
                os.path.join(d, f) for d, _, fs in os.walk(REGRESSION) for f in fs if f.endswith(".evtx")
            )
        print(f"== {name}", file=sys.stderr)
        a = measure(sigil, [*only, "--parse-only", *jobs], args.repeat)
        b = measure(sigil, [*only, "--rules", *rules, *jobs], args.repeat)
        rows.append((name, a, b))
        if kind == "jsonl":
            g = measure_jsonl(sigil, floor, only, rules, jobs, empty, args.repeat)
            same = None
            if args.baseline:
                out = os.path.join(work, "detections.jsonl")
                mine = detections(sigil, only, rules, jobs, out)
                theirs = detections(os.path.abspath(args.baseline), only, rules, jobs, out)
                same = (mine == theirs, sum(mine.values()), sum(theirs.values()),
                        sum(1 for k in mine if k not in theirs), sum(1 for k in theirs if k not in mine))
            goal_rows.append((name, g, same))

    print()
    print(f"sigil hunt benchmark ({os.cpu_count()} cores{', --jobs ' + str(args.jobs) if args.jobs else ''}; best of {args.repeat})")
    print(f"{'input':16} {'events':>10} | {'(a) parse ev/s':>14} {'RSS MiB':>8} | {'(b) hunt ev/s':>14} {'RSS MiB':>8} {'detections':>10} {'compile s':>9} | {'(b)/(a)':>7} {'wall (b)/(a)':>12}")
    for name, a, b in rows:
        ra = a[0] / a[2] if a[2] else float("inf")
        rb = b[0] / b[2] if b[2] else float("inf")
        ratio = b[2] / a[2] if a[2] else float("nan")
        wall = b[4] / a[4] if a[4] else float("nan")
        print(f"{name:16} {a[0]:>10} | {ra:>14,.0f} {a[5]:>8.0f} | {rb:>14,.0f} {b[5]:>8.0f} {b[1]:>10} {b[3]:>9.2f} | {ratio:>7.2f} {wall:>12.2f}")
    print()
    print("(b)/(a): hunt-phase time with the whole corpus over bare parsing (1.0 = matching is free).")
    print("wall (b)/(a) includes loading and compiling the corpus, which dominates small inputs.")
    if goal_rows:
        cpu_kind = "perf task-clock" if PERF else "user+sys"
        print()
        print(f"JSONL goal (issue 15 goal 3): hunt <= 1.5x a bare serde_json::Value parse on all cores (CPU = {cpu_kind})")
        print(f"{'input':10} {'events':>9} | {'floor cpu s':>11} {'wall s':>7} {'MiB':>5} | {'hunt cpu s':>10} {'-load s':>7} {'phase s':>7} {'MiB':>5} | {'cpu ratio':>9} {'wall ratio':>10} {'goal':>5} | same (rule, record) as --baseline")
        for name, g, same in goal_rows:
            f, h, e = g["floor"], g["hunt"], g["empty"]
            phase_cpu = h["cpu"] - e["cpu"]
            ratio = phase_cpu / f["cpu"] if f["cpu"] else float("nan")
            wall_ratio = h["phase"] / f["phase"] if f["phase"] else float("nan")
            if same is None:
                check = "not checked (no --baseline)"
            else:
                ok, n_mine, n_theirs, only_mine, only_theirs = same
                check = f"{'yes' if ok else 'NO'}: {n_mine} vs {n_theirs} detections" + (
                    "" if ok else f", {only_mine} only here, {only_theirs} only in the baseline")
            print(f"{name:10} {h['events']:>9} | {f['cpu']:>11.2f} {f['phase']:>7.2f} {f['rss']:>5.0f} | {h['cpu']:>10.2f} {e['cpu']:>7.2f} {h['phase']:>7.2f} {h['rss']:>5.0f} | {ratio:>9.2f} {wall_ratio:>10.2f} {'<=1.5':>5} | {check}")
        print()
        print("cpu ratio: (hunt CPU - CPU of hunting an empty file, i.e. without loading and compiling the rules) over the")
        print("floor's CPU; wall ratio: the hunt phase sigil reports over the floor's parse time. Best of --repeat, interleaved.")

    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
