#!/usr/bin/env python3
"""Benchmark: the same Sigma rules over the same flat events with `sigil hunt` and with the queries of
`sigil convert` on ClickHouse (chdb) and DuckDB (a query per rule, and --single-query) and Spark local.
Prints, for each step as it finishes, wall and CPU seconds, events/s, peak memory and the ratio to `sigil hunt`
measured in the same run; then the table of all steps.

Every step runs in its own process (peak memory and CPU time are that process's and its children's), reading the
Parquet file `sigil export` wrote from the same JSONL file `sigil hunt` reads. Matching rows are counted and
printed so that a disagreement shows. Each step has a time limit (--step-timeout); a step past it is killed with
its children (a JVM included) and reported as such, and the next step runs.

A query per rule is a scan per rule: 3,000 rules over 1 M events would take hours on chdb, so --per-rule-sample N
runs the queries of N rules drawn at random (fixed --seed, the same sample every run) and extrapolates the time to
the whole set (the output says so); the match count is the sample's.

--fallback-cost also runs the single query written with `--exact-field-names` (no field-name case/space fallback,
no dotted-prefix reading) on chdb and DuckDB, to show what `sigil hunt`'s field-name fallback costs in SQL.

Usage (the engines come from the venv .ci/run creates):
  .venv/bin/python bench/convert_bench.py --events 1000000 --rules ../shared/corpus/sigmahq/rules --fallback-cost
  .venv/bin/python bench/convert_bench.py --events 100000 --rules ../shared/corpus/sigmahq/rules/windows --spark
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def say(text):
    print(text, flush=True)


def run(cmd, stdin_text=None, timeout=None):
    """Runs cmd in its own process group. Returns (wall s, stdout, stderr, status); status None when the time
    limit killed it (with its children)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return time.perf_counter() - t0, out, err, None
    return time.perf_counter() - t0, out, err, p.returncode


class Usage:
    """CPU seconds of the children that ended since the last call (RUSAGE_CHILDREN deltas)."""

    def __init__(self):
        import resource
        self.resource = resource
        self.last = self._cpu()

    def _cpu(self):
        ru = self.resource.getrusage(self.resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def step(self):
        now = self._cpu()
        cpu, self.last = now - self.last, now
        return cpu


ENGINE = r'''
import json, os, resource, sys, time
req = json.load(sys.stdin)
engine, path, queries = req["engine"], req["path"], req["queries"]
t_start = time.perf_counter()
counts = []
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
c0 = None
if engine == "clickhouse":
    from chdb import session
    s = session.Session()
    s.query(f"CREATE VIEW events AS SELECT * FROM file('{path}', Parquet)")
    # The parser's limits apply before a query's own SETTINGS clause is read.
    for name in ("max_query_size", "max_parser_backtracks", "max_parser_depth"):
        s.query(f"SET {name} = 1000000000")
    t0, c0 = time.perf_counter(), cpu()
    for q in queries:
        r = s.query(f"SELECT count() FROM ({q}) AS q SETTINGS max_query_size = 1000000000, max_ast_elements = 100000000, max_expanded_ast_elements = 100000000, max_parser_backtracks = 1000000000", "CSV")
        counts.append(int(str(r).strip() or 0))
elif engine == "duckdb":
    import duckdb
    c = duckdb.connect()
    c.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
    t0, c0 = time.perf_counter(), cpu()
    for q in queries:
        counts.append(c.execute(f"SELECT count(*) FROM ({q}) AS q").fetchone()[0])
elif engine == "spark":
    from pyspark.sql import SparkSession
    sp = (SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "4g")
          .config("spark.driver.extraJavaOptions", "-Xss512m").getOrCreate())
    sp.sparkContext.setLogLevel("ERROR")
    sp.read.parquet(path).createOrReplaceTempView("events")
    t0 = time.perf_counter()
    for q in queries:
        counts.append(sp.sql(f"SELECT count(*) FROM ({q}) AS q").collect()[0][0])
    sp.stop()
dt = time.perf_counter() - t0
loop_cpu = None if c0 is None else cpu() - c0
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"seconds": dt, "startup": t0 - t_start, "counts": counts, "cpu": loop_cpu, "peak_mib": peak / 1024}))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rules", default=os.path.join(ROOT, "../shared/corpus/sigmahq/rules"))
    ap.add_argument("--sigil", help="sigil binary (default: build target/release/sigil)")
    ap.add_argument("--convert-sigil", help="sigil binary that writes the queries (default: --sigil), e.g. a branch's "
                    "build measured against the release build of main doing the hunt and the export")
    ap.add_argument("--python", default=sys.executable, help="python with chdb, duckdb and pyspark")
    ap.add_argument("--per-rule-sample", type=int, default=50,
                    help="rules whose own query runs on chdb (and Spark), drawn at random; time extrapolated")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--step-timeout", type=float, default=900, help="seconds before a step is killed")
    ap.add_argument("--spark", action="store_true", help="also run Spark local, the per-rule sample (slow to start)")
    ap.add_argument("--spark-single", action="store_true",
                    help="also run Spark's single query (a whole rule set is beyond Catalyst: see docs/python.md)")
    ap.add_argument("--fallback-cost", action="store_true",
                    help="also run the single queries written with --exact-field-names on chdb and DuckDB")
    ap.add_argument("--engines", default="clickhouse,duckdb", help="SQL engines of the single query (comma-separated)")
    ap.add_argument("--work", help="folder for generated files (default: temporary)")
    args = ap.parse_args()

    sigil = args.sigil
    if not sigil:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "sigil"], cwd=ROOT, check=True)
        sigil = os.path.join(ROOT, "target/release/sigil")
    convert_sigil = args.convert_sigil or sigil
    work = args.work or tempfile.mkdtemp(prefix="sigil-convert-bench-")
    jsonl = os.path.join(work, "events.jsonl")
    parquet = os.path.join(work, "events.parquet")
    usage = Usage()
    say(f"load average at start: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    if not os.path.exists(jsonl):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_jsonl.py"), "--events", str(args.events), "--out",
                        jsonl], check=True)
    usage.step()
    dt, _, err, status = run([sigil, "export", jsonl, "--to", parquet, "--quiet"], timeout=args.step_timeout)
    if status != 0:
        raise SystemExit(f"export failed or timed out: {err[-2000:]}")
    say(f"export: {args.events:,} events to Parquet in {dt:.1f}s, CPU {usage.step():.1f}s "
        f"({args.events / dt:,.0f} events/s), {os.path.getsize(parquet) / 2**20:.0f} MiB "
        f"(JSONL {os.path.getsize(jsonl) / 2**20:.0f} MiB)")

    rows = []
    base = {}

    def report(name, wall, cpu, mib, matches, note=""):
        if not base:
            base.update(wall=wall, cpu=cpu)
        rows.append((name, wall, cpu, mib, matches, note))
        say(f"{name}: {wall:.1f}s wall ({wall / base['wall']:.2f}x hunt), CPU {cpu:.1f}s ({cpu / base['cpu']:.2f}x "
            f"hunt), {args.events / wall:,.0f} events/s, peak {mib:.0f} MiB, {matches} {note}".rstrip())

    # sigil hunt (baseline): every rule, unrouted ones on every event like the converted queries.
    out_file = os.path.join(work, "detections.jsonl")
    t0 = time.perf_counter()
    p = subprocess.Popen([sigil, "hunt", jsonl, "--rules", args.rules, "--all-logsources", "--format", "jsonl",
                          "--quiet", "--output", out_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    usage.step()
    if status != 0:
        raise SystemExit(f"sigil hunt failed ({status})")
    with open(out_file) as f:
        hunt_rows = sum(1 for _ in f)
    report("sigil hunt", wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, hunt_rows, "detections")

    def convert(target, single, exact=False):
        cmd = [convert_sigil, "convert", "--target", target, "--rules", args.rules, "--format", "json"]
        if single:
            cmd.append("--single-query")
        if exact:
            cmd.append("--exact-field-names")
        _, out, err, status = run(cmd, timeout=args.step_timeout)
        if status != 0:
            raise SystemExit(f"convert failed: {err[-2000:]}")
        return json.loads(out)

    def engine_step(name, engine, queries, note, scale=1.0):
        usage.step()
        wall, out, err, status = run([args.python, "-c", ENGINE],
                                           json.dumps({"engine": engine, "path": parquet, "queries": queries}),
                                           timeout=args.step_timeout)
        cpu = usage.step()
        if status is None:
            say(f"{name}: killed after the {args.step_timeout:.0f}s limit")
            rows.append((name, None, None, None, None, f"did not finish in {args.step_timeout:.0f}s"))
            return None
        if status != 0:
            say(f"{name}: failed: {err.strip()[-1500:]}")
            rows.append((name, None, None, None, None, "failed"))
            return None
        r = json.loads(out.strip().splitlines()[-1])
        # The engine's own time (start-up and view creation excluded), scaled for samples. CPU: the engine
        # process's around its queries (threads included); Spark's JVM is another process, so there the whole step's
        # CPU (start-up included) of every process it ran.
        secs = r["seconds"] * scale
        extra = ""
        if r["cpu"] is not None:
            cpu = r["cpu"] * scale
        else:
            cpu *= scale
            extra = ", CPU incl. start-up"
        report(name, secs, cpu, r["peak_mib"], sum(r["counts"]),
               note + f" (start-up {r['startup']:.1f}s not counted{extra})")
        return r

    per_rule = [e for e in convert("clickhouse", False) if e["query"]] if args.per_rule_sample else []
    rng = random.Random(args.seed)
    sample = sorted(rng.sample(range(len(per_rule)), min(args.per_rule_sample, len(per_rule))))
    scale = len(per_rule) / max(len(sample), 1)
    sample_note = (f"rows matched by {len(sample)} random rules (seed {args.seed}) of {len(per_rule)}; "
                   f"time x{scale:.1f}")
    if sample:
        engine_step("chdb, query per rule", "clickhouse", [per_rule[i]["query"] for i in sample], sample_note, scale)
        if "duckdb" in args.engines.split(","):
            per_rule_duckdb = [e for e in convert("duckdb", False) if e["query"]]
            engine_step("DuckDB, query per rule", "duckdb", [per_rule_duckdb[i]["query"] for i in sample], sample_note,
                        scale)

    steps = [(t, n) for t, n in (("clickhouse", "chdb, single query"), ("duckdb", "DuckDB, single query"))
             if t in args.engines.split(",")]
    for target, name in steps:
        q = convert(target, True)["query"]
        say(f"{name}: {len(q) / 2**20:.1f} MiB of SQL")
        engine_step(name, target, [q], "events matching >= 1 rule")
        if args.fallback_cost:
            q = convert(target, True, exact=True)["query"]
            say(f"{name}, exact field names: {len(q) / 2**20:.1f} MiB of SQL")
            engine_step(name + ", exact names", target, [q], "events matching >= 1 rule")
    if args.spark and sample:
        per_rule_spark = [e for e in convert("spark", False) if e["query"]]
        engine_step("Spark local, query per rule", "spark", [per_rule_spark[i]["query"] for i in sample],
                    sample_note, scale)
    if args.spark_single:
        q = convert("spark", True)["query"]
        say(f"Spark local, single query: {len(q) / 2**20:.1f} MiB of SQL")
        engine_step("Spark local, single query", "spark", [q], "events matching >= 1 rule")

    say(f"\n{args.events:,} events, rules from {args.rules}; load average now {os.getloadavg()[0]:.1f}\n")
    say(f"{'engine':36} {'wall s':>8} {'CPU s':>8} {'events/s':>11} {'wall/hunt':>9} {'CPU/hunt':>9} "
        f"{'peak MiB':>9} {'matches':>9}  note")
    for name, wall, cpu, mib, n, note in rows:
        if wall is None:
            say(f"{name:36} {'-':>8} {'-':>8} {'-':>11} {'-':>9} {'-':>9} {'-':>9} {'-':>9}  {note}")
            continue
        say(f"{name:36} {wall:8.1f} {cpu:8.1f} {args.events / wall:11,.0f} {wall / base['wall']:8.2f}x "
            f"{cpu / base['cpu']:8.2f}x {mib:9.0f} {n:9}  {note}")


if __name__ == "__main__":
    main()
