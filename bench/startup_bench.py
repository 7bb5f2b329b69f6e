#!/usr/bin/env python3
"""Benchmark start-up: loading and compiling every SigmaHQ rule, and `sigil check` on the same corpus.

Issue 15, goal 4: load + compile all SigmaHQ rules in at most 0.2 s. Measured, for a baseline binary and a
candidate binary in the same run, interleaved (baseline, candidate, baseline, ...), best of --repeat:

  load     `sigil hunt TINY --rules <corpus folders>` over a one-event JSONL file, so that the run is loading and
           compiling the rules: the "loaded in X s" that hunt reports (wall time, rules read, parsed, checked and
           compiled), and the CPU time (user + sys) of the whole process;
  check    `sigil check <corpus folders> --format json`: wall and CPU time of the whole process.

and, for the same goal's second half (`sigil show ID`, `stats`, `events` <= 0.3 s on the corpus), each binary with a
warm catalog cache of its own (SIGIL_CACHE_DIR in a temporary folder, written by one run first):

  show / stats / events   wall and CPU time of the whole process; stdout must be the same for both binaries.

It prints each as seconds, the ratio candidate / baseline, and the ratio to the goal (0.2 s, 0.3 s). CPU
time is the steadier figure on a shared machine; the wall time is what the goal is about.

It also compares what both binaries say, so a speed-up cannot hide a change of behaviour: the hunt summary as JSON
(rules run, skipped with their reasons, unrouted) and the `sigil check --format json` output must be identical
(timings taken out).

Usage:
  bench/startup_bench.py --baseline OLD_SIGIL [--sigil NEW_SIGIL] [--repeat N] [--no-catalog]
  bench/startup_bench.py                       (candidate only: builds target/release/sigil)

The measurement helpers (`corpus_rule_folders`, `tiny_input`, `run_timed`, `best_of`, `hunt_load`,
`check_corpus`, `print_table`) are meant to be reused by other start-up measurements (show, stats, events, web,
site): each takes a binary and returns timings, and `best_of` interleaves the binaries.

Stdlib only. Needs ../shared beside the repository (the SigmaHQ corpus).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
CORPUS = os.path.join(SHARED, "corpus", "sigmahq")
# As bench/hunt_bench.py passes them.
FOLDERS = ["rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance", "rules-dfir"]
GOAL_LOAD_S = 0.2
GOAL_CATALOG_S = 0.3
# The rule `sigil show` shows (as bench/catalog_bench.py).
SHOW_ID = "74a2b202-73e0-4693-9a3a-9d36146d0775"
LOADED = re.compile(r"rules: (\d+) run \(loaded in ([0-9.]+)s\)")


class Timing:
    """One run of a command: wall seconds, CPU seconds (user + sys of the process and its children), output."""

    def __init__(self, wall, cpu, returncode, stdout, stderr):
        self.wall = wall
        self.cpu = cpu
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def corpus_rule_folders(corpus=CORPUS):
    """The SigmaHQ rule folders that exist, in hunt_bench.py's order."""
    if not os.path.isdir(corpus):
        sys.exit(f"{corpus} not found: ../shared must sit beside the repository")
    return [os.path.join(corpus, f) for f in FOLDERS if os.path.isdir(os.path.join(corpus, f))]


def tiny_input(folder):
    """A JSONL file of one event, so that a hunt over it is (almost) only loading and compiling the rules."""
    path = os.path.join(folder, "one-event.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": "C:\\\\x.exe"}\n')
    return path


def run_timed(cmd, ok_codes=(0,), env=None):
    """Runs `cmd` once (with `env` if given); returns a Timing. The CPU time comes from the kernel's accounting of
    the child (wait4), the same figure as `perf stat -e task-clock` or user+sys of /usr/bin/time."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        t = Timing(wall, usage.ru_utime + usage.ru_stime, p.returncode, out.read().decode(), err.read().decode())
    if t.returncode not in ok_codes:
        sys.exit(f"{' '.join(cmd)} failed ({t.returncode}):\n{t.stderr[-2000:]}")
    return t


def best_of(binaries, measure, repeat, key=lambda t: t.cpu):
    """Runs `measure(binary)` `repeat` times per binary, interleaved, and keeps each binary's best run by `key`.
    `measure` returns a Timing (or anything `key` takes). Returns {binary: best}."""
    best = {}
    for _ in range(repeat):
        for b in binaries:
            t = measure(b)
            if b not in best or key(t) < key(best[b]):
                best[b] = t
    return best


def hunt_args(tiny, folders):
    args = [tiny]
    for f in folders:
        args += ["--rules", f]
    return args


def hunt_load(sigil, tiny, folders):
    """`sigil hunt` over the one-event file with every rule: a Timing with `.loaded` (the seconds hunt reports for
    loading and compiling the rules) and `.rules` (rules run)."""
    t = run_timed([sigil, "hunt", *hunt_args(tiny, folders), "--format", "jsonl", "--output", os.devnull, "--no-progress"])
    m = LOADED.search(t.stderr)
    if not m:
        sys.exit(f"cannot read 'rules: N run (loaded in X s)' from sigil hunt:\n{t.stderr[-2000:]}")
    t.rules, t.loaded = int(m[1]), float(m[2])
    return t


def hunt_summary(sigil, tiny, folders):
    """The hunt summary as JSON, timings removed: what must not change between binaries."""
    t = run_timed([sigil, "hunt", *hunt_args(tiny, folders), "--format", "json", "--verbose", "--no-progress"])
    return strip_timings(json.loads(t.stdout))


def check_corpus(sigil, folders):
    """`sigil check` on the corpus folders (JSON output); exit 1 (errors found) is expected on SigmaHQ."""
    return run_timed([sigil, "check", *folders, "--format", "json"], ok_codes=(0, 1))


def catalog_commands(corpus=CORPUS):
    """The catalog commands of goal 4, as bench/catalog_bench.py runs them: {name: arguments}."""
    rules = ["--rules", f"sigma={corpus}/rules*"]
    return {
        "show": ["show", SHOW_ID, *rules, "--format", "json"],
        "stats": ["stats", *rules, "--format", "json"],
        "events": ["events", *rules],
    }


def catalog_warm(sigil, args, cache):
    """One run of a catalog command with the catalog cache in `cache` (written by an earlier run): a Timing."""
    return run_timed([sigil, *args], env=dict(os.environ, SIGIL_CACHE_DIR=cache))


def strip_timings(value):
    """`value` without keys that hold times (they differ run to run)."""
    if isinstance(value, dict):
        return {k: strip_timings(v) for k, v in value.items() if not re.search(r"(^|_)(seconds?|secs|time|elapsed|loaded)($|_)", k)}
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def print_table(title, rows, names):
    """rows: (label, {binary: seconds}, goal or None); names: (baseline, candidate) binaries or (candidate,)."""
    print(title)
    head = f"{'measure':34} " + " ".join(f"{n:>12}" for n in ("baseline s", "candidate s")[-len(names):])
    if len(names) == 2:
        head += f" {'cand/base':>10}"
    head += f" {'goal s':>7} {'cand/goal':>10}"
    print(head)
    for label, values, goal in rows:
        line = f"{label:34} " + " ".join(f"{values[n]:>12.3f}" for n in names)
        if len(names) == 2:
            base = values[names[0]]
            line += f" {values[names[1]] / base if base else float('nan'):>10.2f}"
        if goal:
            line += f" {goal:>7.2f} {values[names[-1]] / goal:>10.2f}"
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", help="the baseline sigil binary (e.g. a release build of main)")
    ap.add_argument("--sigil", help="the candidate binary (default: build target/release/sigil)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per binary and measure, best kept (default 5)")
    ap.add_argument("--no-compare", action="store_true", help="do not compare the outputs of the two binaries")
    ap.add_argument("--no-catalog", action="store_true", help="do not measure show, stats and events")
    args = ap.parse_args()

    if args.sigil:
        sigil = os.path.abspath(args.sigil)
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sigil"], cwd=ROOT, check=True)
        sigil = os.path.join(ROOT, "target", "release", "sigil")
    names = (os.path.abspath(args.baseline), sigil) if args.baseline else (sigil,)
    if len(set(names)) != len(names):
        sys.exit("--baseline and --sigil name the same binary")
    folders = corpus_rule_folders()

    with tempfile.TemporaryDirectory(prefix="sigil-startup-") as work:
        tiny = tiny_input(work)
        if len(names) == 2 and not args.no_compare:
            same_hunt = hunt_summary(names[0], tiny, folders) == hunt_summary(names[1], tiny, folders)
            base_check, cand_check = (json.loads(check_corpus(n, folders).stdout) for n in names)
            same_check = strip_timings(base_check) == strip_timings(cand_check)
            print(f"hunt summary (skipped rules and reasons) identical: {'yes' if same_hunt else 'NO'}")
            print(f"sigil check --format json identical:                {'yes' if same_check else 'NO'}")
            if not (same_hunt and same_check):
                print("the candidate changes results: the timings below do not compare like with like", file=sys.stderr)
        load = best_of(names, lambda b: hunt_load(b, tiny, folders), args.repeat, key=lambda t: t.loaded)
        load_cpu = best_of(names, lambda b: hunt_load(b, tiny, folders), args.repeat)
        check = best_of(names, lambda b: check_corpus(b, folders), args.repeat)
        catalog = {}
        if not args.no_catalog:
            caches = {n: os.path.join(work, f"cache-{i}") for i, n in enumerate(names)}
            for name, cmd in catalog_commands().items():
                # The first run writes each binary's cache; the outputs must agree.
                # `stats` reports its own load time; everything else must be the same.
                outputs = {re.sub(r'"load_ms": \d+', "", catalog_warm(n, cmd, caches[n]).stdout) for n in names}
                if len(outputs) != 1:
                    print(f"sigil {name}: OUTPUT DIFFERS between the binaries", file=sys.stderr)
                catalog[name] = (best_of(names, lambda b: catalog_warm(b, cmd, caches[b]), args.repeat), len(outputs) == 1)

    rules = {load[n].rules for n in names}
    print()
    print_table(
        f"start-up ({os.cpu_count()} cores, best of {args.repeat}, interleaved; {'/'.join(map(str, sorted(rules)))} rules run)",
        [
            ("hunt: loaded in (wall, reported)", {n: load[n].loaded for n in names}, GOAL_LOAD_S),
            ("hunt, tiny input: process CPU", {n: load_cpu[n].cpu for n in names}, None),
            ("hunt, tiny input: process wall", {n: load[n].wall for n in names}, None),
            ("check corpus: process CPU", {n: check[n].cpu for n in names}, None),
            ("check corpus: process wall", {n: check[n].wall for n in names}, None),
        ]
        + [
            row
            for name, (best, _) in catalog.items()
            for row in (
                (f"{name} (warm cache): process CPU", {n: best[n].cpu for n in names}, GOAL_CATALOG_S),
                (f"{name} (warm cache): process wall", {n: best[n].wall for n in names}, GOAL_CATALOG_S),
            )
        ],
        names,
    )
    if catalog and len(names) == 2:
        same = all(ok for _, ok in catalog.values())
        print(f"show / stats / events output identical:             {'yes' if same else 'NO'}")
    print()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
    print("cand/base < 1 is faster; cand/goal <= 1 meets issue 15's goal 4 (load + compile all SigmaHQ rules <= 0.2 s;")
    print("show, stats and events <= 0.3 s).")
    print("On a loaded machine compare the CPU rows and the ratios, not the absolute wall times.")


if __name__ == "__main__":
    main()
