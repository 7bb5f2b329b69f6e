#!/usr/bin/env python3
"""Benchmark: the same Sigma rules over the same flat events with `sigil hunt` and with the queries of
`sigil convert` on ClickHouse (chdb: a query per rule, and --single-query), DuckDB (single query) and Spark local
(single query). Prints events/s and peak memory (max RSS of the process that ran the step) side by side, and each
engine's time as a ratio to `sigil hunt` measured in the same run.

Every engine step runs in its own process (peak memory is that process's), reading the Parquet file
`sigil export` wrote from the same JSONL file `sigil hunt` reads. Matching rows are counted, and the counts are
printed so that a disagreement shows.

Usage (the engines come from the venv .ci/run creates):
  .venv/bin/python bench/convert_bench.py --events 1000000 --rules ../shared/corpus/sigmahq/rules
  .venv/bin/python bench/convert_bench.py --events 100000 --rules ../shared/corpus/sigmahq/rules/windows/process_creation --spark

--per-rule-limit N runs only the first N per-rule queries on chdb and scales the time up (said so in the output):
3,000 rules are 3,000 scans, which is the point of --single-query.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd, stdin_text=None):
    """Runs cmd and returns (seconds, peak MiB, stdout) using wait4 for the child's peak RSS."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    out, err = p.communicate(stdin_text)
    dt = time.perf_counter() - t0
    return dt, out, err, p


ENGINE = r'''
import json, resource, sys, time
req = json.load(sys.stdin)
engine, path, queries = req["engine"], req["path"], req["queries"]
t0 = time.perf_counter()
count = 0
if engine == "clickhouse":
    from chdb import session
    s = session.Session()
    s.query(f"CREATE VIEW events AS SELECT * FROM file('{path}', Parquet)")
    for q in queries:
        r = s.query(f"SELECT count() FROM ({q}) AS q SETTINGS max_query_size = 1000000000, max_ast_elements = 100000000, max_expanded_ast_elements = 100000000", "CSV")
        count += int(str(r).strip() or 0)
elif engine == "duckdb":
    import duckdb
    c = duckdb.connect()
    c.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{path}')")
    for q in queries:
        count += c.execute(f"SELECT count(*) FROM ({q}) AS q").fetchone()[0]
elif engine == "spark":
    from pyspark.sql import SparkSession
    sp = (SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false")
          .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "4g").getOrCreate())
    sp.sparkContext.setLogLevel("ERROR")
    t0 = time.perf_counter()
    sp.read.parquet(path).createOrReplaceTempView("events")
    for q in queries:
        count += sp.sql(f"SELECT count(*) FROM ({q}) AS q").collect()[0][0]
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "rows": count, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def engine_step(python, engine, path, queries):
    dt, out, err, p = timed([python, "-c", ENGINE], json.dumps({"engine": engine, "path": path, "queries": queries}))
    if p.returncode != 0:
        sys.stderr.write(err[-3000:])
        return None
    r = json.loads(out.strip().splitlines()[-1])
    r["wall"] = dt
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rules", default=os.path.join(ROOT, "../shared/corpus/sigmahq/rules"))
    ap.add_argument("--sigil", help="sigil binary (default: build target/release/sigil)")
    ap.add_argument("--python", default=sys.executable, help="python with chdb, duckdb and pyspark")
    ap.add_argument("--per-rule-limit", type=int, default=200)
    ap.add_argument("--spark", action="store_true", help="also run Spark local (slow to start)")
    ap.add_argument("--work", help="folder for generated files (default: temporary)")
    args = ap.parse_args()

    sigil = args.sigil
    if not sigil:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "sigil"], cwd=ROOT, check=True)
        sigil = os.path.join(ROOT, "target/release/sigil")
    work = args.work or tempfile.mkdtemp(prefix="sigil-convert-bench-")
    jsonl = os.path.join(work, "events.jsonl")
    parquet = os.path.join(work, "events.parquet")
    if not os.path.exists(jsonl):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_jsonl.py"), "--events", str(args.events), "--out", jsonl], check=True)
    dt, _, err, p = timed([sigil, "export", jsonl, "--to", parquet, "--quiet"])
    print(f"export: {args.events} events to Parquet in {dt:.1f}s ({args.events / dt:,.0f} events/s), "
          f"{os.path.getsize(parquet) / 2**20:.0f} MiB (JSONL {os.path.getsize(jsonl) / 2**20:.0f} MiB)")

    rows = []
    # sigil hunt (baseline): every rule, unrouted ones on every event like the converted queries.
    out_file = os.path.join(work, "detections.jsonl")
    dt, rss = peak_of([sigil, "hunt", jsonl, "--rules", args.rules, "--all-logsources", "--format", "jsonl", "--quiet",
                       "--output", out_file])
    with open(out_file) as f:
        hunt_rows = sum(1 for _ in f)
    base = dt
    rows.append(("sigil hunt", dt, rss, hunt_rows, "detections"))

    def convert(target, single):
        cmd = [sigil, "convert", "--target", target, "--rules", args.rules, "--format", "json"]
        if single:
            cmd.append("--single-query")
        _, out, err, p = timed(cmd)
        return json.loads(out)

    ch_rules = [e["query"] for e in convert("clickhouse", False) if e["query"]]
    limit = min(args.per_rule_limit, len(ch_rules))
    r = engine_step(args.python, "clickhouse", parquet, ch_rules[:limit])
    if r:
        scale = len(ch_rules) / max(limit, 1)
        note = f"first {limit} of {len(ch_rules)} queries, time x{scale:.1f}" if limit < len(ch_rules) else ""
        rows.append(("chdb, query per rule", r["seconds"] * scale, r["peak_mib"], r["rows"], note))
    for target, name in (("clickhouse", "chdb, single query"), ("duckdb", "DuckDB, single query")) + (
            (("spark", "Spark local, single query"),) if args.spark else ()):
        q = convert(target, True)["query"]
        r = engine_step(args.python, target, parquet, [q])
        if r:
            rows.append((name, r["seconds"], r["peak_mib"], r["rows"], "events matching >= 1 rule"))
    print(f"\n{args.events:,} events, rules from {args.rules}\n")
    print(f"{'engine':28} {'seconds':>9} {'events/s':>12} {'vs hunt':>8} {'peak MiB':>9} {'matches':>9}  note")
    for name, secs, mib, n, note in rows:
        print(f"{name:28} {secs:9.1f} {args.events / secs:12,.0f} {secs / base:7.1f}x {mib:9.0f} {n:9}  {note}")


def peak_of(cmd):
    """Runs cmd; returns (seconds, peak RSS in MiB) of that process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
    return time.perf_counter() - t0, ru.ru_maxrss / 1024


if __name__ == "__main__":
    main()
