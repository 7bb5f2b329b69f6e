#!/usr/bin/env python3
"""Benchmark correlation rules in `sigil hunt`: events/s and peak memory with and without correlations.

Input: generated JSONL logon events (Security 4624/4625), in time order, one event per second, users drawn from
--users distinct accounts (default 100,000), --events events (default 1,000,000); every 500th event starts a burst
of failed logons for one account so that correlations fire. Written to a temporary folder, not committed.

Rules (written to the same folder): a failed-logon and a successful-logon rule, and four correlations over them:
  burst     event_count   gte 5 failures per TargetUserName in 5m
  spray     value_count   gte 3 distinct TargetUserName per IpAddress in 10m
  volume    value_sum     gt 50000 of Bytes per TargetUserName in 1h
  takeover  temporal_ordered [burst, success] per TargetUserName in 10m (a chain)

Runs, in one go, on the same files (best of --repeat):
  (a) parse      --parse-only: read and parse, no rule (the baseline)
  (b) rules      the two detection rules, no correlation
  (c) corr       the same plus the four correlations
  (d) corr 2x    (c) on twice the input (same event rate, same users): peak memory must not grow

It prints events/s and peak RSS of each, and the ratios (c)/(b) of hunt time and (d)/(c) of peak memory.
Usage: bench/corr_bench.py [--events N] [--users U] [--repeat R] [--sigil BIN] [--work DIR] [--keep]
Stdlib only.
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = re.compile(r"hunt: (\d+) files?, (\d+) events?, (\d+) detections? in ([0-9.]+)s")

RULES = """title: Failed logon
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0001
name: failed
logsource: {product: windows, service: security}
detection: {selection: {EventID: 4625}, condition: selection}
level: low
---
title: Successful logon
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0002
name: success
logsource: {product: windows, service: security}
detection: {selection: {EventID: 4624}, condition: selection}
level: informational
"""

CORRELATIONS = """title: Burst of failed logons
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0003
name: burst
correlation: {type: event_count, rules: [failed], group-by: [TargetUserName], timespan: 5m, condition: {gte: 5}}
level: medium
---
title: Password spray
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0004
correlation:
  type: value_count
  rules: [failed]
  group-by: [IpAddress]
  timespan: 10m
  condition: {gte: 3, field: TargetUserName}
level: medium
---
title: Large volume
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0005
correlation:
  type: value_sum
  rules: [success]
  group-by: [TargetUserName]
  timespan: 1h
  condition: {gt: 50000, field: Bytes}
level: low
---
title: Burst then success
id: 0b4f5c55-7d0a-4c1e-9a43-5d7e8e2f0006
correlation: {type: temporal_ordered, rules: [burst, success], group-by: [TargetUserName], timespan: 10m}
level: high
"""


def generate(path, events, users, seed=7):
    rnd = random.Random(seed)
    t0 = 1_700_000_000
    burst = []
    with open(path, "w") as out:
        for i in range(events):
            if i % 500 == 0:
                victim = f"user{rnd.randrange(users)}"
                burst = [victim] * 6
            if burst:
                user, eid = burst.pop(), 4625
                if not burst:
                    eid = 4624
            else:
                user = f"user{rnd.randrange(users)}"
                eid = 4624 if rnd.random() < 0.5 else 4625
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + i)) + "Z"
            ev = {
                "TimeCreated": ts,
                "EventRecordID": i + 1,
                "Computer": "dc1.corp.example",
                "Channel": "Security",
                "Provider_Name": "Microsoft-Windows-Security-Auditing",
                "EventID": eid,
                "TargetUserName": user,
                "IpAddress": f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(256)}",
                "LogonType": 3,
                "Bytes": rnd.randrange(2000),
            }
            out.write(json.dumps(ev))
            out.write("\n")


def measure(sigil, args, repeat):
    best = None
    for _ in range(repeat):
        cmd = ["/usr/bin/time", "-f", "MAXRSS %M", sigil, "hunt", *args, "--format", "jsonl", "--output", os.devnull]
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit(f"sigil hunt failed ({p.returncode}):\n{p.stderr[-2000:]}")
        m = SUMMARY.search(p.stderr)
        rss = re.search(r"MAXRSS (\d+)", p.stderr)
        if not m or not rss:
            sys.exit(f"cannot read the summary:\n{p.stderr[-2000:]}")
        r = (int(m.group(2)), int(m.group(3)), float(m.group(4)), int(rss.group(1)) / 1024)
        if best is None or r[2] < best[2]:
            best = r
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sigil", default=os.path.join(ROOT, "target", "release", "sigil"))
    ap.add_argument("--work")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.sigil):
        sys.exit(f"{a.sigil} is missing: cargo build --release -p sigil")
    work = a.work or tempfile.mkdtemp(prefix="sigil-corr-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        one = os.path.join(work, "events-1x.jsonl")
        two = os.path.join(work, "events-2x.jsonl")
        print(f"generating {a.events:,} and {2 * a.events:,} events, {a.users:,} users in {work}", file=sys.stderr)
        generate(one, a.events, a.users)
        generate(two, 2 * a.events, a.users)
        rules = os.path.join(work, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        both = os.path.join(work, "both.yml")
        with open(both, "w") as f:
            f.write(RULES + "---\n" + CORRELATIONS)
        runs = [
            ("parse", [one, "--parse-only"]),
            ("rules", [one, "--rules", rules]),
            ("corr", [one, "--rules", both]),
            ("corr 2x", [two, "--rules", both]),
        ]
        results = {}
        print(f"{'run':<8} {'events':>10} {'detections':>11} {'seconds':>8} {'events/s':>11} {'peak MiB':>9}")
        for name, args in runs:
            ev, det, secs, rss = measure(a.sigil, args, a.repeat)
            results[name] = (ev, det, secs, rss)
            rate = ev / secs if secs > 0 else 0
            print(f"{name:<8} {ev:>10,} {det:>11,} {secs:>8.2f} {rate:>11,.0f} {rss:>9.1f}")
        r, c, c2 = results["rules"], results["corr"], results["corr 2x"]
        print(f"hunt time, correlations / rules only: {c[2] / r[2]:.2f}x")
        print(f"hunt time, rules only / parse only:   {r[2] / results['parse'][2]:.2f}x")
        print(f"peak memory, correlations 2x / 1x input: {c2[3] / c[3]:.2f}x")
    finally:
        if not a.keep and not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
