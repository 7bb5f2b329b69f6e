#!/usr/bin/env python3
"""Benchmark `sigil hunt` on EVTX against the floor of issue 15 (goals 1 and 2).

The floor: the evtx crate parsing every record into `serde_json::Value` on all cores
(crates/sigil_events/examples/evtx_floor.rs), run two ways and the faster kept: the crate's own
`records_json_value()` pipeline on all cores file by file (`--mode crate`), and rayon over the
chunks of all files with the crate's per-record `into_json_value` (`--mode chunks`).

Inputs (made in --work, hard links only for the replicas, so 10x costs no extra disk):
  1x   a large EVTX from bench/gen_evtx.py (--size-mb, default ~1000 MB) plus the SigmaHQ regression
       .evtx samples replicated (--replicas copies, default 20), all in one folder;
  10x  ten hard-linked replicas of the 1x folder (--skip-10x to leave it out).

For each input, interleaved and repeated (--repeat, best kept):
  floor   evtx_floor INPUT
  hunt    sigil hunt INPUT --rules <all SigmaHQ folders> --format jsonl --output /dev/null
and with --baseline BIN the same hunt with that binary (e.g. one built from main).

Printed per input: events, events/s, seconds and CPU seconds (user+sys) of floor and hunt, the
hunt/floor ratios, and peak RSS (max RSS from /usr/bin/time), each beside its goal:
  goal 1: hunt/floor <= 1.0 (hunt's reading + matching time, as `sigil hunt` reports it, over the
          floor's; the CPU ratio over whole processes, rule loading included, is shown beside it)
  goal 2: peak RSS <= 100 MiB, at 1x and at 10x.
With --baseline, the detections of both binaries on the 1x input are compared as sets of
(rule id, source file, record id); any difference fails the run (exit 1).

Usage: bench/evtx_bench.py [--size-mb N] [--replicas R] [--repeat N] [--skip-10x] [--baseline BIN]
                           [--work DIR] [--keep] [--sigil BIN] [--floor BIN] [--jobs J]
Stdlib only. Needs cargo (unless --sigil and --floor are given) and ../shared beside the repository.
Numbers from a shared, loaded machine are noisy: compare ratios measured in one run only.
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
SUMMARY = re.compile(r"hunt: (\d+) files?, (\d+) events?, (\d+) detections? in ([0-9.]+)s")
FLOOR = re.compile(r"floor: (\d+) files, (\d+) records, (\d+) errors in ([0-9.]+)s")
TIME = re.compile(r"TIME (\d+) ([0-9.]+) ([0-9.]+) ([0-9.]+)")
DETECTION = re.compile(rb'^\{"rule_id":"([^"]*)".*?"record_id":(\d+|null),"source":"((?:[^"\\]|\\.)*)"')
CHUNK = 65536
GOAL_RATIO = 1.0
GOAL_MIB = 100.0


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    return subprocess.run(cmd, check=True, **kw)


def timed(cmd, stdout=subprocess.DEVNULL):
    """Run under /usr/bin/time: (stderr text, max RSS MiB, wall s, user+sys s)."""
    p = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %M %e %U %S", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True
    )
    m = TIME.search(p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"{' '.join(cmd[:2])} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p.stderr, int(m[1]) / 1024, float(m[2]), float(m[3]) + float(m[4])


def measure_floor(floor, inputs, jobs, mode):
    p = subprocess.run(
        ["/usr/bin/time", "-f", "TIME %M %e %U %S", floor, "--mode", mode, *(["--threads", str(jobs)] if jobs else []), *inputs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    m, t = FLOOR.search(p.stdout), TIME.search(p.stderr)
    if p.returncode != 0 or not m or not t:
        sys.exit(f"evtx_floor failed ({p.returncode}):\n{p.stdout[-1000:]}{p.stderr[-2000:]}")
    return {"events": int(m[2]), "secs": float(m[4]), "cpu": float(t[3]) + float(t[4]), "rss": int(t[1]) / 1024, "mode": mode}


def measure_hunt(sigil, inputs, rules, jobs, output=os.devnull):
    cmd = [sigil, "hunt", *inputs, "--rules", *rules, "--format", "jsonl", "--output", output]
    err, rss, _wall, cpu = timed(cmd + (["--jobs", str(jobs)] if jobs else []))
    m = SUMMARY.search(err)
    if not m:
        sys.exit(f"cannot read the hunt summary:\n{err[-2000:]}")
    return {"events": int(m[2]), "detections": int(m[3]), "secs": float(m[4]), "cpu": cpu, "rss": rss}


def best(runs):
    """Fastest run by time, with the largest RSS seen (peak memory is not noise to drop)."""
    top = dict(min(runs, key=lambda r: r["secs"]))
    top["cpu"] = min(r["cpu"] for r in runs if r.get("mode") == top.get("mode"))
    top["rss"] = max(r["rss"] for r in runs)
    return top


def detections(path):
    """The set of (rule id, source, record id) in a JSONL detections file."""
    out = set()
    with open(path, "rb") as f:
        for line in f:
            m = DETECTION.match(line)
            if not m:
                sys.exit(f"{path}: unexpected detection line: {line[:200]!r}")
            out.add((m[1], m[3], m[2]))
    return out


def make_inputs(work, size_mb, replicas, skip_10x):
    tag = f"{size_mb}mb-{replicas}r"
    one = os.path.join(work, f"1x-{tag}")
    chunks = max(1, size_mb * 1_000_000 // CHUNK)
    if not os.path.isdir(one):
        tmp = one + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        sh([sys.executable, os.path.join(ROOT, "bench", "gen_evtx.py"), "--out", os.path.join(tmp, "large.evtx"), "--chunks", str(chunks)])
        samples = sorted(os.path.join(d, f) for d, _, fs in os.walk(REGRESSION) for f in fs if f.endswith(".evtx"))
        for r in range(replicas):
            folder = os.path.join(tmp, f"regression-{r:02}")
            os.makedirs(folder)
            for i, sample in enumerate(samples):
                os.link(sample, os.path.join(folder, f"{i:04}-{os.path.basename(sample)}"))
        os.rename(tmp, one)
    inputs = [("1x", [one])]
    if not skip_10x:
        ten = os.path.join(work, f"10x-{tag}")
        if not os.path.isdir(ten):
            for r in range(10):
                for d, _, fs in os.walk(one):
                    target = os.path.join(ten, f"copy-{r}", os.path.relpath(d, one))
                    os.makedirs(target, exist_ok=True)
                    for f in fs:
                        os.link(os.path.join(d, f), os.path.join(target, f))
        inputs.append(("10x", [ten]))
    return inputs


def mark(ok):
    return "ok" if ok else "MISSED"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1000, help="size of the generated large EVTX in MB (default 1000)")
    ap.add_argument("--replicas", type=int, default=20, help="copies of the regression .evtx samples (default 20)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement, interleaved, best kept (default 3)")
    ap.add_argument("--jobs", type=int, default=0, help="threads for both floor and hunt (default: all cores)")
    ap.add_argument("--skip-10x", action="store_true", help="do not run the 10x input")
    ap.add_argument("--baseline", help="also run this sigil binary and check its detections equal ours on 1x")
    ap.add_argument("--work", help="folder for generated inputs (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep generated inputs")
    ap.add_argument("--sigil", help="use this sigil binary instead of building target/release/sigil")
    ap.add_argument("--floor", help="use this evtx_floor binary instead of building the example")
    args = ap.parse_args()

    if not os.path.isdir(REGRESSION):
        sys.exit(f"{REGRESSION} not found: ../shared must sit beside the repository")
    if not args.sigil:
        sh(["cargo", "build", "--release", "--quiet", "-p", "sigil"], cwd=ROOT)
    if not args.floor:
        sh(["cargo", "build", "--release", "--quiet", "-p", "sigil_events", "--example", "evtx_floor"], cwd=ROOT)
    sigil = os.path.abspath(args.sigil or os.path.join(ROOT, "target", "release", "sigil"))
    floor = os.path.abspath(args.floor or os.path.join(ROOT, "target", "release", "examples", "evtx_floor"))
    baseline = os.path.abspath(args.baseline) if args.baseline else None
    work = args.work or tempfile.mkdtemp(prefix="sigil-evtx-bench-")
    os.makedirs(work, exist_ok=True)
    rules = [os.path.join(CORPUS, f) for f in FOLDERS if os.path.isdir(os.path.join(CORPUS, f))]

    status = 0
    rows = []
    try:
        inputs = make_inputs(work, args.size_mb, args.replicas, args.skip_10x)
        for name, paths in inputs:
            runs = {"floor": [], "hunt": [], "base": []}
            for i in range(args.repeat):
                print(f"== {name} run {i + 1}/{args.repeat}", file=sys.stderr)
                # Both ways of spreading the floor's work; the faster one is the floor.
                runs["floor"].append(measure_floor(floor, paths, args.jobs, "chunks"))
                runs["floor"].append(measure_floor(floor, paths, args.jobs, "crate"))
                runs["hunt"].append(measure_hunt(sigil, paths, rules, args.jobs))
                if baseline:
                    runs["base"].append(measure_hunt(baseline, paths, rules, args.jobs))
            rows.append((name, {k: best(v) for k, v in runs.items() if v}))

        if baseline:
            name, paths = inputs[0]
            print(f"== comparing detections with the baseline on {name}", file=sys.stderr)
            ours, theirs = os.path.join(work, "ours.jsonl"), os.path.join(work, "base.jsonl")
            measure_hunt(sigil, paths, rules, args.jobs, ours)
            measure_hunt(baseline, paths, rules, args.jobs, theirs)
            a, b = detections(ours), detections(theirs)
            os.remove(ours)
            os.remove(theirs)
            same = a == b
            status |= 0 if same else 1
            check = f"detections on {name}: {len(a)} (rule, source, record) here, {len(b)} in the baseline: " + (
                "identical sets" if same else f"DIFFERENT ({len(a - b)} only here, {len(b - a)} only in the baseline)"
            )
        else:
            check = "detections not compared (no --baseline)"
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"sigil hunt on EVTX vs the floor ({os.cpu_count()} cores, best of {args.repeat}, runs interleaved)")
    head = f"{'input':5} {'events':>9} | {'floor s':>7} {'cpu s':>6} {'ev/s':>9} {'MiB':>5} | {'hunt s':>7} {'cpu s':>6} {'ev/s':>9} {'MiB':>5}"
    head += f" | {'hunt/floor (goal <=1.0)':>24} {'cpu ratio':>9} | {'peak MiB (goal <=100)':>21}"
    if baseline:
        head += f" | {'base s':>7} {'cpu s':>6} {'MiB':>5} {'hunt/base':>9}"
    print(head)
    for name, r in rows:
        f, h = r["floor"], r["hunt"]
        ratio = h["secs"] / f["secs"] if f["secs"] else float("nan")
        cpu = h["cpu"] / f["cpu"] if f["cpu"] else float("nan")
        line = f"{name:5} {h['events']:>9} | {f['secs']:>7.2f} {f['cpu']:>6.2f} {f['events'] / max(f['secs'], 1e-9):>9,.0f} {f['rss']:>5.0f}"
        line += f" | {h['secs']:>7.2f} {h['cpu']:>6.2f} {h['events'] / max(h['secs'], 1e-9):>9,.0f} {h['rss']:>5.0f}"
        line += f" | {ratio:>17.2f} {mark(ratio <= GOAL_RATIO):>6} {cpu:>9.2f} | {h['rss']:>14.0f} {mark(h['rss'] <= GOAL_MIB):>6}"
        if baseline:
            b = r["base"]
            line += f" | {b['secs']:>7.2f} {b['cpu']:>6.2f} {b['rss']:>5.0f} {h['secs'] / max(b['secs'], 1e-9):>9.2f}"
        print(line)
    print()
    print("hunt s: reading + matching as `sigil hunt` reports it (rule loading excluded); cpu s: user+sys of the")
    print("whole process (hunt's includes loading and compiling the rules). floor: evtx crate, records to Value,")
    print("the faster of its two modes: " + ", ".join(f"{name} {r['floor']['mode']}" for name, r in rows) + ".")
    if len(rows) == 2:
        grow = rows[1][1]["hunt"]["rss"] / max(rows[0][1]["hunt"]["rss"], 1e-9)
        print(f"peak RSS 10x/1x: {grow:.2f} (flat = 1.0)")
    print(check)
    sys.exit(status)


if __name__ == "__main__":
    main()
