#!/usr/bin/env python3
"""Benchmark the cost of `sigil hunt`'s progress line: the same hunt with the line drawn and without it.

Both runs happen in a pseudo-terminal (`script`), so stderr is a terminal in both and the only difference is
`--no-progress`. The runs are interleaved (on, off, on, off, ...) and the best of --repeat is kept for each, since a
shared machine is noisy. Prints the hunt-phase seconds (as `sigil hunt` reports them) and the ratio on/off.

Input: a large EVTX built by bench/gen_evtx.py (--chunks, default 2000: ~128 MiB), hunted with the SigmaHQ corpus
(../shared/corpus/sigmahq/rules) when present, else the bundled rules.

Usage: bench/progress_bench.py [--chunks N] [--repeat R] [--sigil BIN] [--work DIR]
Stdlib only; needs `script` (util-linux).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
RULES = os.path.join(SHARED, "corpus", "sigmahq", "rules")
SUMMARY = re.compile(r"hunt: \d+ files?, (\d+) events?, (\d+) detections? in ([0-9.]+)s")


def run(sigil, evtx, rules, progress):
    args = [sigil, "hunt", evtx, "--format", "jsonl", "--output", os.devnull, "--color", "never"]
    if rules:
        args += ["--rules", rules]
    if not progress:
        args.append("--no-progress")
    cmd = " ".join(f"'{a}'" for a in args)
    p = subprocess.run(["script", "-qefc", cmd, "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    if p.returncode != 0:
        sys.exit(f"sigil hunt failed ({p.returncode}):\n{p.stdout[-2000:]}")
    m = SUMMARY.search(p.stdout)
    if not m:
        sys.exit(f"cannot read the summary:\n{p.stdout[-2000:]}")
    drawn = "hunting:" in p.stdout
    if drawn != progress:
        sys.exit(f"progress line {'missing' if progress else 'drawn'} (progress={progress})")
    return int(m[1]), int(m[2]), float(m[3])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sigil", default=os.path.join(ROOT, "target", "release", "sigil"))
    ap.add_argument("--work")
    args = ap.parse_args()
    if not shutil.which("script"):
        sys.exit("needs `script` (util-linux)")
    work = args.work or tempfile.mkdtemp(prefix="sigil-progress-")
    evtx = os.path.join(work, "big.evtx")
    if not os.path.exists(evtx):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gen_evtx.py"), "--out", evtx, "--chunks",
                        str(args.chunks)], check=True)
    rules = RULES if os.path.isdir(RULES) else None
    best = {True: None, False: None}
    for _ in range(args.repeat):
        for progress in (True, False):
            events, detections, secs = run(args.sigil, evtx, rules, progress)
            if best[progress] is None or secs < best[progress][2]:
                best[progress] = (events, detections, secs)
    on, off = best[True], best[False]
    assert on[:2] == off[:2], f"different results: {on} {off}"
    print(f"input: {os.path.getsize(evtx) / 2**20:.0f} MiB EVTX, {on[0]} events, {on[1]} detections; "
          f"rules: {'SigmaHQ' if rules else 'bundled'}; best of {args.repeat}, interleaved")
    print(f"progress on : {on[2]:.3f}s ({on[0] / on[2]:,.0f} events/s)")
    print(f"progress off: {off[2]:.3f}s ({off[0] / off[2]:,.0f} events/s)")
    print(f"ratio on/off: {on[2] / off[2]:.3f}")
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
