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

Inputs:
  evtx-regression  the .evtx files of ../shared/corpus/sigmahq-regression (202 small files, ~480 events)
  evtx-large       a large EVTX built from those samples by bench/gen_evtx.py (--evtx-chunks, default 300)
  jsonl-1x         bench/gen_jsonl.py --events N      (default N = 1,000,000; not committed, made in --work)
  jsonl-10x        bench/gen_jsonl.py --events 10*N   (to show that memory stays flat as the input grows)

Usage: bench/hunt_bench.py [--events N] [--repeat R] [--jobs J] [--work DIR] [--skip-10x] [--keep] [--sigil BIN]
Stdlib only. Needs cargo, and ../shared beside the repository.
"""

import argparse
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
    args = ap.parse_args()

    if not os.path.isdir(REGRESSION):
        sys.exit(f"{REGRESSION} not found: ../shared must sit beside the repository")
    if args.sigil:
        sigil = os.path.abspath(args.sigil)
    else:
        sh(["cargo", "build", "--release", "--quiet", "-p", "sigil"], cwd=ROOT)
        sigil = os.path.join(ROOT, "target", "release", "sigil")
    work = args.work or tempfile.mkdtemp(prefix="sigil-bench-")
    os.makedirs(work, exist_ok=True)
    rules = [os.path.join(CORPUS, f) for f in FOLDERS if os.path.isdir(os.path.join(CORPUS, f))]
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []

    inputs = [("evtx-regression", [os.path.join(REGRESSION)], "evtx")]
    big_evtx = os.path.join(work, f"large-{args.evtx_chunks}.evtx")
    if not os.path.exists(big_evtx):
        sh([sys.executable, os.path.join(ROOT, "bench", "gen_evtx.py"), "--out", big_evtx, "--chunks", str(args.evtx_chunks)])
    inputs.append(("evtx-large", [big_evtx], "evtx"))
    scales = [(1, "jsonl-1x")] + ([] if args.skip_10x else [(10, "jsonl-10x")])
    for scale, name in scales:
        path = os.path.join(work, f"events-{args.events * scale}.jsonl")
        if not os.path.exists(path):
            sh([sys.executable, os.path.join(ROOT, "bench", "gen_jsonl.py"), "--events", str(args.events * scale), "--out", path])
        inputs.append((name, [path], "jsonl"))

    rows = []
    for name, paths, _kind in inputs:
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

    if not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
