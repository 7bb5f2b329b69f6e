#!/usr/bin/env python3
"""The sigil engine inside Spark (the Python package, crates/sigil_py) against `sigil hunt` and against Spark SQL
running the converted single query, on the same generated events; and the cost of the Python boundary per batch.

Steps, each timed in its own process (Spark started before its clock starts, as in convert_bench.py):

  sigil hunt                 the JSONL file, all cores (the baseline: ratios are against it, from the same run)
  Spark local[2] + sigil     the Parquet table from `sigil export`, mapInArrow(engine.match_arrow), count
  Spark local[2] SQL         the same table, `sigil convert --target spark --single-query`, count

The boundary: match_arrow on batches of 8,192 events against the same batches with no rows (what crossing costs
whatever the batch holds: argument conversion, the C data interface both ways, building the result), in one
process, best of several rounds.

Needs a Python with pyspark, pyarrow and the sigil package (`pip install ./crates/sigil_py`):

  .venv/bin/python bench/py_bench.py --events 1000000 --rules ../shared/corpus/sigmahq/rules/windows
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

STEP = r'''
import json, sys, time
req = json.load(sys.stdin)
from pyspark.sql import SparkSession
sp = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
      .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", req["memory"])
      # Catalyst recurses over the expression tree of the converted single query (~7.5 MB of SQL for the Windows
      # rules): the default thread stack overflows while parsing it.
      .config("spark.driver.extraJavaOptions", "-Xss512m").getOrCreate())
sp.sparkContext.setLogLevel("ERROR")
events = sp.read.parquet(req["path"])
if req["step"] == "package":
    import sigil
    from pyspark.sql.pandas.types import from_arrow_schema
    engine = sigil.Engine(rules=[req["rules"]])
    schema = from_arrow_schema(sigil.match_schema())
    t0 = time.perf_counter()
    n = events.mapInArrow(lambda it: (engine.match_arrow(b) for b in it), schema).count()
else:
    events.createOrReplaceTempView("events")
    t0 = time.perf_counter()
    n = sp.sql(f"SELECT count(*) FROM ({req['query']}) AS q").collect()[0][0]
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": n}))
'''

BOUNDARY = r'''
import json, sys, time
import pyarrow.parquet as pq
import sigil
req = json.load(sys.stdin)
engine = sigil.Engine(rules=[req["rules"]])
batches = pq.ParquetFile(req["path"]).iter_batches(batch_size=8192)
batches = [next(batches) for _ in range(req["batches"])]
empty = batches[0].slice(0, 0)
def best(f, rounds=5):
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter(); f(); out.append(time.perf_counter() - t0)
    return min(out)
full = best(lambda: [engine.match_arrow(b) for b in batches]) / len(batches)
calls = 2000
none = best(lambda: [engine.match_arrow(empty) for _ in range(calls)]) / calls
print(json.dumps({"per_batch": full, "per_call": none, "rows": batches[0].num_rows}))
'''


def run_py(python, code, req, timeout=None):
    """Runs one step in its own Python process; None when it did not finish within `timeout` seconds."""
    # Spark's Python workers must run the interpreter that has the sigil package, not whatever `python3` is first
    # on PATH.
    env = dict(os.environ, PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python)
    # Its own process group, so that a step past its time is stopped with the JVM it started.
    proc = subprocess.Popen([python, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(json.dumps(req), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        print(f"  step did not finish within {timeout} s", file=sys.stderr, flush=True)
        return None
    p = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if p.returncode != 0:
        # A JVM failure is a long stack trace; its cause is the first line naming an Error or Exception.
        lines = p.stderr.splitlines()
        cause = next((l for l in lines if "java.lang." in l and ("Error" in l or "Exception" in l)), None) or next(
            (l for l in lines if ("Error" in l or "Exception" in l) and "raise " not in l), p.stderr[-500:])
        print(f"  step failed: {cause[:300]}", file=sys.stderr, flush=True)
        return {"failed": cause[:120]}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"  done: {out}", file=sys.stderr, flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--rules", default=os.path.join(ROOT, "../shared/corpus/sigmahq/rules/windows"))
    ap.add_argument("--sigil", help="sigil binary (default: build target/release/sigil)")
    ap.add_argument("--python", default=sys.executable, help="python with pyspark, pyarrow and sigil")
    ap.add_argument("--work", help="folder for generated files (default: temporary)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds a Spark step may take (default 900)")
    ap.add_argument("--driver-memory", default="8g",
                    help="Spark driver heap (default 8g: planning the converted single query of ~2,000 rules needs "
                         "more than 2g, which thrashed in full GCs for minutes)")
    args = ap.parse_args()

    sigil = args.sigil
    if not sigil:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "sigil"], cwd=ROOT, check=True)
        sigil = os.path.join(ROOT, "target/release/sigil")
    work = args.work or tempfile.mkdtemp(prefix="sigil-py-bench-")
    jsonl = os.path.join(work, "events.jsonl")
    parquet = os.path.join(work, "events.parquet")
    if not os.path.exists(jsonl):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_jsonl.py"), "--events", str(args.events), "--out", jsonl],
                       check=True)
    if not os.path.exists(parquet):
        subprocess.run([sigil, "export", jsonl, "--to", parquet, "--quiet"], check=True)

    rows = []
    out = os.path.join(work, "detections.jsonl")
    t0 = time.perf_counter()
    subprocess.run([sigil, "hunt", jsonl, "--rules", args.rules, "--format", "jsonl", "--quiet", "--output", out],
                   check=True, stderr=subprocess.DEVNULL)
    base = time.perf_counter() - t0
    with open(out) as f:
        rows.append(("sigil hunt (all cores)", {"seconds": base, "rows": sum(1 for _ in f)}, "detections"))

    print(f"  sigil hunt: {base:.1f} s, {rows[0][1]['rows']} detections", file=sys.stderr, flush=True)
    r = run_py(args.python, STEP, {"step": "package", "path": parquet, "rules": args.rules, "memory": args.driver_memory},
               args.timeout)
    rows.append(("Spark local[2] + sigil package", r, "detections"))
    q = subprocess.run([sigil, "convert", "--target", "spark", "--single-query", "--rules", args.rules, "--format", "json"],
                       capture_output=True, text=True, check=True)
    r = run_py(args.python, STEP, {"step": "sql", "path": parquet, "query": json.loads(q.stdout)["query"],
                                     "memory": args.driver_memory}, args.timeout)
    rows.append(("Spark local[2] SQL, single query", r, "events matching >= 1 rule"))

    print(f"\n{args.events:,} events, rules from {args.rules}\n")
    print(f"{'engine':34} {'seconds':>8} {'events/s':>11} {'vs hunt':>8} {'rows':>8}  what")
    for name, r, what in rows:
        if r is None:
            print(f"{name:34} did not finish within {args.timeout} s (heap {args.driver_memory})")
        elif "failed" in r:
            print(f"{name:34} failed: {r['failed']}")
        else:
            secs, n = r["seconds"], r["rows"]
            print(f"{name:34} {secs:8.1f} {args.events / secs:11,.0f} {secs / base:7.1f}x {n:8}  {what}")

    b = run_py(args.python, BOUNDARY, {"path": parquet, "rules": args.rules, "batches": 20})
    if "failed" in b:
        raise SystemExit(f"the boundary step failed: {b['failed']}")
    print(f"\nPython boundary: match_arrow of {b['rows']:,} events {b['per_batch'] * 1e3:.1f} ms; of an empty batch "
          f"{b['per_call'] * 1e6:.0f} µs per call = {b['per_call'] / b['per_batch']:.2%} of a full batch")


if __name__ == "__main__":
    main()
