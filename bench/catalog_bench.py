#!/usr/bin/env python3
"""Benchmark the catalog commands (issue 15, goals 4 and 5): `sigil show`, `stats`, `events`, `serve` start-up
and `sigil site`, for a baseline binary and a candidate, in one run, on the SigmaHQ corpus.

Each binary gets its own empty cache folder (SIGIL_CACHE_DIR, never the user's). For each measurement both
binaries run alternately (interleaved, best of --repeat kept by CPU time), and the script prints wall time, CPU
time (user + sys of the process and its threads, the figure `perf stat -e task-clock` gives) and the ratio
candidate / baseline, with the goal beside it:

  show ID / stats / events   cold: the cache folder emptied first (the run builds the catalog and writes the
                             cache); warm: the cache written by the run before.          goal: warm <= 0.3 s
  serve                      exec until the first HTTP 200 from /api (warm cache)          goal: <= 0.5 s
  serve, first search        exec until a full-text search (/api/rules?q=...) answers: what a user waits for
                             when the search index is built after start-up              (context, no goal)
  site                       `sigil site OUT` (warm cache), and the two sites compared file by file: they must
                             be byte-identical (the script exits 1 when they are not)       goal: <= 5 s

The goal columns judge the candidate's wall time and, beside it, its CPU time: on a loaded machine the wall
time is inflated by waiting for a core, and the CPU time (which the goal cannot be lower than on one core) is
the steadier figure. Stdout of show, stats and events is compared between the binaries and between cold and
warm runs (exit 1 on a difference).

Usage: bench/catalog_bench.py --baseline BIN [--sigil BIN] [--repeat N] [--corpus DIR] [--rule ID] [--no-site]
Stdlib only.
"""

import argparse
import filecmp
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(SHARED, "corpus", "sigmahq")
TICK = os.sysconf("SC_CLK_TCK")


def run(cmd, env):
    """Runs to completion: (wall s, stdout bytes)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    wall = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err.decode(errors='replace')[-2000:]}")
    return wall, out


def cpu_children():
    """user + sys seconds of every reaped child so far (a run's CPU time is the difference)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, env):
    before = cpu_children()
    wall, out = run(cmd, env)
    return wall, cpu_children() - before, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid):
    """user + sys seconds of a running process (all threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def serve(binary, rules, env, path="/api"):
    """exec until the first 200 from `path`: (wall s, cpu s)."""
    port = free_port()
    start = time.monotonic()
    p = subprocess.Popen(
        [binary, "serve", *rules, "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        while True:
            if p.poll() is not None:
                sys.exit(f"{binary} serve exited with {p.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                    if r.status == 200:
                        r.read()
                        wall = time.monotonic() - start
                        return wall, proc_cpu(p.pid)
            except OSError:
                time.sleep(0.002)
    finally:
        p.terminate()
        p.wait()


def best(samples):
    return min(samples, key=lambda s: s[1])


def row(name, base, cand, goal=None):
    ratio = cand[1] / base[1] if base[1] else float("nan")
    goal_text = ""
    if goal is not None:
        goal_text = (f"goal <= {goal:g} s: wall {'ok' if cand[0] <= goal else 'MISSED'}, "
                     f"cpu {'ok' if cand[1] <= goal else 'MISSED'}")
    print(
        f"{name:<20} baseline {base[0]:7.3f} s wall {base[1]:7.3f} s cpu | candidate {cand[0]:7.3f} s wall "
        f"{cand[1]:7.3f} s cpu | cpu ratio {ratio:5.2f}  {goal_text}"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True, help="sigil binary to compare against (e.g. built from main)")
    ap.add_argument("--sigil", default=os.path.join(ROOT, "target", "release", "sigil"), help="candidate binary")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--corpus", default=CORPUS, help="SigmaHQ checkout (with rules* folders)")
    ap.add_argument("--rule", default="74a2b202-73e0-4693-9a3a-9d36146d0775", help="rule id for `show`")
    ap.add_argument("--no-site", action="store_true", help="skip the static export")
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.corpus, "rules")):
        sys.exit(f"no SigmaHQ checkout at {args.corpus}")
    rules = ["--rules", f"sigma={args.corpus}/rules*"]
    work = tempfile.mkdtemp(prefix="sigil-catalog-bench-")
    cache_base, cache_cand = os.path.join(work, "cache-base"), os.path.join(work, "cache-cand")
    env = dict(os.environ)
    env_base = dict(env, SIGIL_CACHE_DIR=cache_base)
    env_cand = dict(env, SIGIL_CACHE_DIR=cache_cand)
    print(f"baseline {args.baseline}\ncandidate {args.sigil}\nbest of {args.repeat} by CPU time, interleaved; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    failed = False
    try:
        commands = {
            "show": ["show", args.rule, *rules, "--format", "json"],
            "stats": ["stats", *rules, "--format", "json"],
            "events": ["events", *rules],
        }
        for name, cmd in commands.items():
            runs = {k: [] for k in ("base cold", "base warm", "cand cold", "cand warm")}
            for _ in range(args.repeat):
                outs = []
                for who, binary, env_x, cache in (("base", args.baseline, env_base, cache_base),
                                                 ("cand", args.sigil, env_cand, cache_cand)):
                    shutil.rmtree(cache, ignore_errors=True)
                    for state in ("cold", "warm"):
                        wall, cpu, out = timed([binary, *cmd], env_x)
                        runs[f"{who} {state}"].append((wall, cpu))
                        # `stats` reports its own load time; everything else must be the same.
                        outs.append(re.sub(rb'"load_ms": \d+', b"", out))
                if len(set(outs)) != 1:
                    print(f"{name}: OUTPUT DIFFERS between baseline, candidate, cold and warm runs")
                    failed = True
            row(f"{name} cold", best(runs["base cold"]), best(runs["cand cold"]))
            row(f"{name} warm", best(runs["base warm"]), best(runs["cand warm"]), 0.3)

        for path, label, goal in (("/api", "serve (warm)", 0.5),
                                  ("/api/rules?q=powershell+download", "serve, first search", None)):
            base, cand = [], []
            for _ in range(args.repeat):
                base.append(serve(args.baseline, rules, env_base, path))
                cand.append(serve(args.sigil, rules, env_cand, path))
            row(label, best(base), best(cand), goal)

        if not args.no_site:
            base, cand = [], []
            site_base, site_cand = os.path.join(work, "site-base"), os.path.join(work, "site-cand")
            for _ in range(max(1, args.repeat // 2)):
                shutil.rmtree(site_base, ignore_errors=True)
                shutil.rmtree(site_cand, ignore_errors=True)
                wall, cpu, _ = timed([args.baseline, "site", site_base, *rules], env_base)
                base.append((wall, cpu))
                wall, cpu, _ = timed([args.sigil, "site", site_cand, *rules], env_cand)
                cand.append((wall, cpu))
            row("site (warm)", best(base), best(cand), 5.0)
            diff = compare_trees(site_base, site_cand)
            if diff:
                print(f"site: OUTPUT DIFFERS ({len(diff)} files, first: {diff[:5]})")
                failed = True
            else:
                print("site: byte-identical to the baseline's")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def compare_trees(a, b):
    """Relative paths that differ (missing on one side or different bytes)."""
    def files(root):
        out = set()
        for d, _, names in os.walk(root):
            out.update(os.path.relpath(os.path.join(d, n), root) for n in names)
        return out

    fa, fb = files(a), files(b)
    diff = sorted(fa ^ fb)
    diff += [f for f in sorted(fa & fb) if not filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False)]
    return diff


if __name__ == "__main__":
    sys.exit(main())
