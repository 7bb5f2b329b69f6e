#!/usr/bin/env python3
"""Benchmark: a whole Sigma rule set over the same flat events with `sigil hunt` and with the queries of
`sigil convert` on ClickHouse (chdb), DuckDB and Spark local, each engine used the way its users run it, and
every engine's (rule, event) pairs compared with `sigil hunt`'s.

Steps, each in its own process (CPU and peak memory are that process's), each with a time limit:
  1. events: bench/gen_jsonl.py writes the JSONL file (unless it exists), `sigil export` writes it as Parquet.
  2. sigil hunt over the JSONL file (the baseline: every ratio is to this step of the same run).
  3. load (per SQL engine): the Parquet file into the engine's own table, once, measured on its own:
     chdb a MergeTree table ORDER BY (kind, event_id, lowerUTF8(channel)), the columns the queries' route
     predicates test, so a rule's query reads only the granules of its route (EXPLAIN indexes=1 of one query
     is printed); DuckDB a table sorted the same way (its zone maps skip row groups by event id).
     --source parquet skips the load and queries a view over the Parquet file instead (every query then decodes
     the file's maps again: the mode of earlier runs, ~7x the CPU per query on chdb).
  4. query per rule: every converted rule's own query (`sigil convert --format json`), in an order shuffled by
     --seed. --per-rule N runs only the first N of that order; a step that reaches --step-timeout stops starting
     queries. Either way the CPU of the queries run is extrapolated to all rules and the output says so.
  5. one statement per route: the rules grouped by their route (the record kind, channels and event ids that
     start each rule's query), each group split into chunks of at most --group-size rules, each chunk converted
     with `sigil convert --single-query --split-by-route` (the route as the statement's WHERE), or, with a sigil
     that lacks that flag (or --script-routes), `--single-query` over `(SELECT * FROM events WHERE <route>)`.
     Either way a statement scans only its route's rows and is small enough to plan (the whole set as one 23 MB
     statement is not planned in useful time). Rules whose query has no route test form one group.
  6. Spark local (--spark): the same per-route statements and a per-rule sample (--spark-per-rule, default 20)
     over the Parquet file (Spark's own table format), --spark-driver-memory for the driver, --spark-conf for
     settings: a per-route statement runs only interpreted (spark.sql.codegen.wholeStage=false and
     spark.sql.codegen.factoryMode=NO_CODEGEN: the Java generated for 10 rules exceeds the JVM's 64 KB method
     limit), --spark-cache to read the table once per process, and spark.sql.constraintPropagation.enabled=false
     (with it on, Spark's optimiser runs out of heap on one statement of SigmaHQ's set: docs/convert.md). Spark's
     CPU is its JVM's from the first query on.
A step cut short by --step-timeout extrapolates by rules; --shuffle-routes makes its per-route sample a random
one. A line per engine process shows a step's progress.
Every query step writes the (rule, record id) pairs it found; they are compared with `sigil hunt`'s pairs for
the same rules and every difference is counted and shown (a few examples each way).

Disk: 1 M events are ~0.96 GB of JSONL, ~0.23 GB of Parquet and ~0.2 GB per engine table; 10 M ten times that.
Memory: loading 10 M events took chdb 6.1-7.1 GB, and DuckDB 6.0 GB with --duckdb-memory 6GB (the default: past it
its sort spills to <work>/duck.db.tmp; unlimited it passed 12 GB); Spark's JVM ~4.5 GB. Two runs at once need
two --work folders (each step's pairs and progress files live there; hard links to one Parquet file will do).
--drop-jsonl deletes the JSONL file of the --work folder once hunt and export have read it, leaving hunt.json (the
hunt's figures and pairs), which a later run in the same folder reuses instead of the JSONL and a new hunt;
a temporary work folder is deleted at the end unless --keep; a --work folder stays (delete it when done), and
with --keep-tables so do the engines' tables, which the next run in it reuses instead of loading again.

Usage (the engines come from the venv .ci/run creates):
  .venv/bin/python bench/convert_bench.py --events 1000000 --rules ../shared/corpus/sigmahq/rules --spark
  .venv/bin/python bench/convert_bench.py --events 10000000 --rules ../shared/corpus/sigmahq/rules \\
      --engines clickhouse --per-rule 20 --step-timeout 3600 --drop-jsonl --keep-tables --work /tmp/cb10m
  .venv/bin/python bench/convert_bench.py --events 1000000 --engines '' --spark --spark-cache --shuffle-routes \\
      --spark-conf spark.sql.codegen.wholeStage=false --spark-conf spark.sql.codegen.factoryMode=NO_CODEGEN \\
      --spark-conf spark.sql.constraintPropagation.enabled=false
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def say(text):
    print(text, flush=True)


def descendants(pid):
    """The processes started by pid, their children and so on (from /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return []
    return kids + [d for k in kids for d in descendants(k)]


def run(cmd, stdin_text=None, timeout=None):
    """Runs cmd in its own process group. Returns (wall s, stdout, stderr, status); status None when the time
    limit killed it (with its children)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        # Spark's JVM runs in a session of its own: its processes are found through /proc before the group dies.
        for pid in descendants(p.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
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


# The engine process. Request on stdin: engine, source ("table" or "parquet"), parquet path, db path, mode
# ("load" or "query"), queries [{rules: [ids] (one: a per-rule query; several: a statement with sigil_rules)},
# sql}], out (file for the pairs), deadline (s), explain (a query to EXPLAIN after loading), spark_memory,
# spark_conf (settings), spark_cache.
ENGINE = r'''
import json, os, resource, sys, time
req = json.load(sys.stdin)
engine, mode, queries = req["engine"], req["mode"], req.get("queries", [])
t_start = time.perf_counter()
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
# The JVM is a child this process does not wait for: its CPU is read from /proc (the start-up, table cache
# included, is taken off: the JVM's CPU when the first query starts).
def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return 0.0
    return sum(int(x) for x in v[11:15]) / os.sysconf("SC_CLK_TCK") + sum(proc_cpu(k) for k in kids)
def proc_peak(pid):  # VmHWM of pid's children (the JVM), MiB
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return 0.0
    peak = 0.0
    for k in kids:
        try:
            with open(f"/proc/{k}/status") as f:
                peak = max([peak] + [int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM:")])
        except OSError:
            pass
        peak = max(peak, proc_peak(k))
    return peak
def jvm():  # CPU of the JVM (Spark), which is a child this process does not wait for
    return proc_cpu(os.getpid()) - cpu() if engine == "spark" else 0.0
def inner(q):
    if len(q["rules"]) == 1:
        return f"SELECT record_id FROM ({q['sql']}) AS q"
    unnest = {"clickhouse": "arrayJoin", "duckdb": "unnest", "spark": "explode"}[engine]
    return f"SELECT record_id, {unnest}(sigil_rules) AS sigil_rule FROM ({q['sql']}) AS q"
info = {}
if engine == "clickhouse":
    from chdb import session
    s = session.Session(req["db"])
    if mode == "load" or req["source"] == "parquet":
        s.query("DROP TABLE IF EXISTS events")
    if req["source"] == "parquet":
        s.query(f"CREATE VIEW events AS SELECT * FROM file('{req['parquet']}', Parquet)")
    # The parser's limits apply before a query's own SETTINGS clause is read.
    for name in ("max_query_size", "max_parser_backtracks", "max_parser_depth"):
        s.query(f"SET {name} = 1000000000")
    settings = (" SETTINGS max_query_size = 1000000000, max_ast_elements = 100000000,"
                " max_expanded_ast_elements = 100000000, max_parser_backtracks = 1000000000")
    def fetch(sql):
        text = s.query(sql + settings, "TabSeparated").bytes().decode()
        return [line.split("\t") for line in text.splitlines()]
    def load():
        s.query("CREATE TABLE events ENGINE = MergeTree ORDER BY (kind, event_id, lowerUTF8(channel)) "
                "SETTINGS allow_nullable_key = 1 AS SELECT * FROM file('" + req["parquet"] + "', Parquet)")
        s.query("OPTIMIZE TABLE events FINAL")
        r = s.query("SELECT sum(rows), sum(bytes_on_disk) FROM system.parts WHERE table = 'events' AND active",
                    "TabSeparated").bytes().decode().split()
        info["rows"], info["bytes"] = int(r[0]), int(r[1])
    def explain(sql):
        return [l[0] for l in fetch("EXPLAIN indexes = 1 " + sql)]
elif engine == "duckdb":
    import duckdb
    c = duckdb.connect(req["db"] if req["source"] == "table" else ":memory:")
    c.execute("SET enable_progress_bar = false")
    if req.get("duckdb_memory"):  # past it DuckDB spills to disk (sorting 10 M events in memory took > 12 GB)
        c.execute(f"SET memory_limit = '{req['duckdb_memory']}'")
        c.execute(f"SET temp_directory = '{req['db']}.tmp'")
    if req["source"] == "parquet":
        c.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{req['parquet']}')")
    def fetch(sql):
        return c.execute(sql).fetchall()
    def load():
        c.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM read_parquet('" + req["parquet"] +
                  "') ORDER BY kind, event_id, channel")
        c.execute("CHECKPOINT")
        info["rows"] = c.execute("SELECT count(*) FROM events").fetchone()[0]
        info["bytes"] = os.path.getsize(req["db"])
    def explain(sql):
        return c.execute("EXPLAIN " + sql).fetchall()[0][1].splitlines()
elif engine == "spark":
    from pyspark.sql import SparkSession
    b = (SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", req["spark_memory"])
         .config("spark.driver.extraJavaOptions", "-Xss512m"))
    for key, value in req.get("spark_conf", {}).items():
        b = b.config(key, value)
    sp = b.getOrCreate()
    sp.sparkContext.setLogLevel("ERROR")
    df = sp.read.parquet(req["parquet"])
    if req.get("spark_cache"):  # the table in the executors' memory, read once per process (start-up)
        df = df.cache()
        df.count()
    df.createOrReplaceTempView("events")
    def fetch(sql):
        return [tuple(r) for r in sp.sql(sql).collect()]
t0, c0, j0 = time.perf_counter(), cpu(), jvm()
if mode == "load":
    load()
    if req.get("explain"):
        info["explain"] = explain(req["explain"])
ran, failed, deadline = 0, [], t0 + req.get("deadline", 1e9)
with open(req.get("out") or os.devnull, "a") as out:
    for q in queries:
        if time.perf_counter() > deadline:
            break
        try:
            rows = fetch(inner(q))
        except Exception as e:  # a query the engine rejects is reported, the others still run
            failed.append({"rules": q["rules"][:3], "error": str(e)[:300]})
            ran += 1
            continue
        ran += 1
        if len(q["rules"]) == 1:
            out.writelines(f"{q['rules'][0]}\t{r[0]}\n" for r in rows)
        else:
            out.writelines(f"{r[1]}\t{r[0]}\n" for r in rows)
        # A process killed in a long query reports the queries before it: their pairs must be on disk first
        # (a killed process loses what it buffered, and the comparison would count those pairs as missing).
        out.flush()
        if req.get("progress"):
            with open(req["progress"], "w") as p:
                json.dump({"seconds": time.perf_counter() - t0, "cpu": cpu() - c0 + jvm() - j0,
                           "ran": ran, "startup": t0 - t_start, "failed": failed,
                           "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, p)
dt, loop_cpu = time.perf_counter() - t0, cpu() - c0
if engine == "spark":
    jvm_cpu = jvm() - j0
    loop_cpu += jvm_cpu
    jvm_peak = proc_peak(os.getpid())
    sp.stop()
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
           jvm_peak * 1024 if engine == "spark" else 0)
print(json.dumps({"seconds": dt, "startup": t0 - t_start, "cpu": loop_cpu,
                  "jvm_cpu": jvm_cpu if engine == "spark" else None, "peak_mib": peak / 1024, "ran": ran,
                  "failed": failed, **info}))
'''


def scan(text, backslash):
    """(index, depth) for each character of text outside string literals, depth counted after it."""
    depth, quote, j = 0, False, 0
    while j < len(text):
        ch = text[j]
        if quote:
            if ch == "\\" and backslash:
                j += 1
            elif ch == "'":
                quote = False
        elif ch == "'":
            quote = True
        else:
            depth += (ch == "(") - (ch == ")")
            yield j, depth
        j += 1


def split_top(text, sep, backslash):
    """text split at each sep outside parentheses and string literals."""
    parts, last, skip_to = [], 0, 0
    for j, depth in scan(text, backslash):
        if j >= skip_to and depth == 0 and text.startswith(sep, j):
            parts.append(text[last:j])
            last = skip_to = j + len(sep)
    parts.append(text[last:])
    return parts


def unwrap(text, backslash):
    """text without the parentheses that enclose all of it."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        if any(depth == 0 for j, depth in scan(text, backslash) if j < len(text) - 1):
            break  # the first "(" closes before the end: `(a) AND (b)`
        text = text[1:-1].strip()
    return text


def route_of(sql, backslash):
    """The route test of a per-rule query, `SELECT * FROM t WHERE ((<route>) AND (...)) [OR ((<route>) AND
    (...))]` (one alternative per route the logsource has, each with its own field mapping): the routes joined
    with OR, or None when an alternative does not start with a test of the record kind (a rule without routing,
    or another shape). backslash: the dialect escapes quotes in literals with a backslash."""
    at = sql.find(" WHERE ")
    if at < 0:
        return None
    routes = []
    for alt in split_top(unwrap(sql[at + len(" WHERE "):], backslash), " OR ", backslash):
        terms = split_top(unwrap(alt, backslash), " AND ", backslash)
        first = unwrap(terms[0], backslash)
        if len(terms) < 2 or not (first.startswith("kind ") or first.startswith("COALESCE(kind ")):
            return None
        routes.append(terms[0].strip())
    return " OR ".join(routes) if len(routes) > 1 else routes[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="events bench/gen_jsonl.py writes")
    ap.add_argument("--rules", default=os.path.join(ROOT, "../shared/corpus/sigmahq/rules"),
                    help="rule folder or file, for sigil hunt and sigil convert alike")
    ap.add_argument("--sigil", help="sigil binary hunting and exporting (default: build target/release/sigil)")
    ap.add_argument("--convert-sigil", help="sigil binary that writes the queries (default: --sigil), e.g. a branch's "
                    "build measured against the release build of main doing the hunt and the export")
    ap.add_argument("--python", default=sys.executable, help="python with chdb, duckdb and pyspark")
    ap.add_argument("--engines", default="clickhouse,duckdb", help="SQL engines besides Spark (comma-separated)")
    ap.add_argument("--source", choices=["table", "parquet"], default="table",
                    help="table: load the Parquet file into each engine's own table first (measured apart); "
                    "parquet: query a view over the Parquet file")
    ap.add_argument("--per-rule", default="all",
                    help="'all', a number of rules (the first N of the --seed order; CPU extrapolated), or 0")
    ap.add_argument("--group-size", type=int, default=150, help="most rules in one per-route statement")
    ap.add_argument("--batch", type=int, default=100,
                    help="most queries one engine process runs (a chdb session's memory grows with each query)")
    ap.add_argument("--seed", type=int, default=12, help="order of the per-rule queries (the sample is its start)")
    ap.add_argument("--step-timeout", type=float, default=1800,
                    help="seconds a query step starts queries for (then extrapolated); a step is killed at 1.5x")
    ap.add_argument("--load-timeout", type=float, default=1800, help="seconds before a load into a table is killed")
    ap.add_argument("--duckdb-memory", default="6GB",
                    help="DuckDB's memory_limit (beyond it sorts and joins spill to <table>.tmp; '' for its default, "
                         "80%% of RAM)")
    ap.add_argument("--spark", action="store_true", help="also run Spark local (per-route statements and a sample)")
    ap.add_argument("--spark-per-rule", type=int, default=20, help="rules whose own query runs on Spark (0: none)")
    ap.add_argument("--spark-group-size", type=int, default=40,
                    help="most rules in one of Spark's per-route statements (its code generation needs heap)")
    ap.add_argument("--spark-driver-memory", default="4g", help="spark.driver.memory of Spark local")
    ap.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a Spark setting for the session (repeatable), e.g. spark.sql.codegen.wholeStage=false or "
                    "spark.sql.constraintPropagation.enabled=false")
    ap.add_argument("--spark-cache", action="store_true",
                    help="cache the Parquet table in Spark's memory when each Spark process starts (counted as "
                    "start-up, not query time)")
    ap.add_argument("--skip-routes", action="store_true", help="run no per-route statements (per-rule queries only)")
    ap.add_argument("--script-routes", action="store_true",
                    help="group the rules by route here (a subquery of the route's rows per statement) even when "
                    "sigil convert has --split-by-route")
    ap.add_argument("--shuffle-routes", action="store_true",
                    help="run the per-route statements in an order shuffled by --seed, so that a step cut short by "
                    "--step-timeout extrapolates from a random sample of them rather than from the largest routes "
                    "(process creation), which run first otherwise")
    ap.add_argument("--fallback-cost", action="store_true",
                    help="also run the per-route statements written with --exact-field-names")
    ap.add_argument("--work", help="folder for the generated files (default: a temporary one)")
    ap.add_argument("--jsonl", help="events to use instead of generating them (not deleted)")
    ap.add_argument("--drop-jsonl", action="store_true",
                    help="delete the generated JSONL once hunt and export have read it (saves disk at 10 M)")
    ap.add_argument("--keep-tables", action="store_true",
                    help="leave each engine's table in the --work folder; a later run with the same --work reuses it "
                    "(and the figures of the load that made it) instead of loading again")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary work folder (events, Parquet) at the end; a --work folder is always kept; "
                    "engine tables are deleted once their engine's steps are done, unless --keep-tables")
    args = ap.parse_args()

    sigil = args.sigil
    if not sigil:
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "sigil"], cwd=ROOT, check=True)
        sigil = os.path.join(ROOT, "target/release/sigil")
    convert_sigil = args.convert_sigil or sigil
    work = os.path.abspath(args.work or tempfile.mkdtemp(prefix="sigil-convert-bench-"))
    os.makedirs(work, exist_ok=True)
    jsonl = args.jsonl or os.path.join(work, "events.jsonl")
    parquet = os.path.join(work, "events.parquet")
    engines = [e for e in args.engines.split(",") if e]
    usage = Usage()
    say(f"load average at start: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores); work folder {work}")
    # A run with --drop-jsonl leaves the hunt's result (hunt.json: its figures and pairs) for the next run in the
    # same --work folder, which then needs neither the JSONL nor a new hunt.
    hunt_cache = os.path.join(work, "hunt.json")
    cached = None
    if not os.path.exists(jsonl) and os.path.exists(hunt_cache) and os.path.exists(parquet):
        with open(hunt_cache) as f:
            cached = json.load(f)
        n_events = cached["events"]
    elif not os.path.exists(jsonl):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_jsonl.py"), "--events", str(args.events), "--out",
                        jsonl], check=True)
    if cached is None:
        with open(jsonl, "rb") as f:
            n_events = sum(1 for _ in f)
    usage.step()
    if not os.path.exists(parquet):
        dt, _, err, status = run([sigil, "export", jsonl, "--to", parquet, "--quiet"], timeout=args.step_timeout)
        if status != 0:
            raise SystemExit(f"export failed or timed out: {err[-2000:]}")
        say(f"export: {n_events:,} events to Parquet in {dt:.1f}s, CPU {usage.step():.1f}s "
            f"({n_events / dt:,.0f} events/s), {os.path.getsize(parquet) / 2**20:.0f} MiB "
            f"(JSONL {os.path.getsize(jsonl) / 2**20:.0f} MiB)")

    rows = []
    base = {}

    def report(name, wall, cpu, mib, matches, note=""):
        if not base:
            base.update(wall=wall, cpu=cpu)
        rows.append((name, wall, cpu, mib, matches, note))
        say(f"{name}: {wall:.1f}s wall, CPU {cpu:.1f}s ({cpu / base['cpu']:.2f}x hunt), {n_events / wall:,.0f} "
            f"events/s, peak {mib:.0f} MiB, {matches} {note}".rstrip())

    # sigil hunt (baseline): every rule, unrouted ones on every event like the converted queries.
    def run_hunt():
        out_file = os.path.join(work, "detections.jsonl")
        t0 = time.perf_counter()
        p = subprocess.Popen([sigil, "hunt", jsonl, "--rules", args.rules, "--all-logsources", "--format", "jsonl",
                              "--quiet", "--output", out_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        usage.step()
        if status != 0:
            raise SystemExit(f"sigil hunt failed ({status})")
        hunt = set()
        # Only the two keys, which come before the event itself (json.loads of every line takes minutes at 10 M).
        ids = re.compile(r'"rule_id":"([^"]*)".*?"record_id":(\d+)')
        with open(out_file) as f:
            for line in f:
                m = ids.search(line)
                if not m:
                    d = json.loads(line)
                    m = (None, d["rule_id"], str(d["record_id"]))
                hunt.add((m[1], m[2]))
        os.remove(out_file)
        report("sigil hunt", wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, len(hunt),
               f"(rule, event) pairs, {len({r for r, _ in hunt})} rules fired")
        with open(hunt_cache, "w") as f:
            json.dump({"events": n_events, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                       "peak_mib": ru.ru_maxrss / 1024, "pairs": sorted(hunt)}, f)
        return hunt

    if cached:
        hunt = {tuple(p) for p in cached["pairs"]}
        report("sigil hunt", cached["wall"], cached["cpu"], cached["peak_mib"], len(hunt),
               f"(rule, event) pairs, {len({r for r, _ in hunt})} rules fired; from {hunt_cache} (an earlier run)")
    else:
        hunt = run_hunt()
    if not args.jsonl and args.drop_jsonl and os.path.exists(jsonl):
        os.remove(jsonl)
        say(f"deleted {jsonl}; the next run with --work {work} reuses the Parquet file and {hunt_cache}")


    def db_path(engine):
        return os.path.join(work, "chdb" if engine == "clickhouse" else "duck.db")

    def convert(target, rules=None, single=False, exact=False, table=None, split=False):
        cmd = [convert_sigil, "convert", "--target", target, "--format", "json", "--rules"]
        cmd += rules if rules else [args.rules]
        if single:
            cmd.append("--single-query")
        if split:
            cmd.append("--split-by-route")
        if exact:
            cmd.append("--exact-field-names")
        if table:
            cmd += ["--table", table]
        _, out, err, status = run(cmd, timeout=args.step_timeout)
        if status != 0:
            raise SystemExit(f"convert failed: {err[-2000:]}")
        return json.loads(out)

    def compare(name, pairs_file, rule_ids):
        """Prints how the engine's pairs differ from sigil hunt's for the rules it ran; returns the pair count."""
        got = set()
        with open(pairs_file) as f:
            for line in f:
                rule, rec = line.rstrip("\n").split("\t")
                if rule in rule_ids:  # not a rule with a statement that did not run
                    got.add((rule, rec))
        os.remove(pairs_file)
        want = {p for p in hunt if p[0] in rule_ids}
        missing, extra = want - got, got - want
        if missing or extra:
            say(f"  DIFFERS from sigil hunt over {len(rule_ids)} rules: {len(missing)} pairs missing, "
                f"{len(extra)} extra")
            for label, diff in (("missing", missing), ("extra", extra)):
                by_rule = collections.Counter(r for r, _ in diff)
                for rule, n in by_rule.most_common(5):
                    say(f"    {label}: rule {rule}: {n} events, e.g. record {min(rec for r, rec in diff if r == rule)}")
        else:
            say(f"  same (rule, event) pairs as sigil hunt over the {len(rule_ids)} rules ({len(got)} pairs)")
        return len(got), not (missing or extra)

    def engine_process(engine, mode, queries, pairs, deadline, explain=None):
        """One engine process over queries; returns (its JSON answer or None, why not, stderr)."""
        req = {"engine": engine, "mode": mode, "source": args.source, "parquet": parquet,
               "db": db_path(engine), "queries": queries,
               "out": pairs, "deadline": deadline, "explain": explain, "spark_memory": args.spark_driver_memory,
               "duckdb_memory": args.duckdb_memory,
               "progress": os.path.join(work, "progress.json"), "spark_cache": args.spark_cache,
               "spark_conf": dict(kv.split("=", 1) for kv in args.spark_conf)}
        if os.path.exists(req["progress"]):
            os.remove(req["progress"])
        limit = args.load_timeout if mode == "load" else deadline * 1.5 + 60
        _, out, err, status = run([args.python, "-c", ENGINE], json.dumps(req), timeout=limit)
        if status is None and mode == "query" and os.path.exists(req["progress"]):
            with open(req["progress"]) as f:
                b = json.load(f)
            say(f"  killed in its query {b['ran'] + 1} (past {limit:.0f}s): the {b['ran']} before it "
                f"counted, the rest extrapolated")
            b["killed"] = True
            return b, None, err
        if status != 0:
            return None, "killed at its time limit" if status is None else f"failed ({status})", err
        return json.loads([line for line in out.splitlines() if line.startswith("{")][-1]), None, err

    def engine_step(name, engine, mode, queries, note, total=None, explain=None):
        """Runs queries (a list of {rules, sql}) in engine processes of at most --batch queries each (chdb's
        memory grows with every query a session runs); total = the queries of the whole set (when more than
        those run, the CPU is extrapolated). A step starts no process, and a process no query, past
        --step-timeout."""
        usage.step()
        pairs = os.path.join(work, "pairs.tsv")
        open(pairs, "w").close()
        r = {"seconds": 0.0, "cpu": 0.0, "peak_mib": 0.0, "ran": 0, "failed": [], "startup": 0.0}
        batches = [queries[i:i + args.batch] for i in range(0, len(queries), args.batch)] or [[]]
        for batch in batches:
            left = args.step_timeout - r["seconds"]
            if left <= 0:
                break
            b, why, err = engine_process(engine, mode, batch, pairs, left, explain)
            if b is None:
                say(f"{name}: {why}: {err.strip()[-1500:]}")
                rows.append((name, None, None, None, None, why))
                return None
            for k in ("seconds", "ran", "startup"):
                r[k] += b[k]
            r["cpu"] = None if b["cpu"] is None or r["cpu"] is None else r["cpu"] + b["cpu"]
            r["peak_mib"] = max(r["peak_mib"], b["peak_mib"])
            r["failed"] += b["failed"]
            r.update({k: v for k, v in b.items() if k in ("rows", "bytes", "explain")})
            if mode == "query" and len(batches) > 1:
                say(f"  {name}: {r['ran']} of {len(queries)} queries, {r['seconds']:.0f}s"
                    + ("" if r["cpu"] is None else f", CPU {r['cpu']:.0f}s") + f", load average {os.getloadavg()[0]:.1f}")
            if b.get("killed"):
                break
        cpu = usage.step()
        for line in r.get("explain") or []:
            if any(w in line for w in ("Granules:", "Condition:")):
                say(f"  EXPLAIN: {line.strip()}")
        if mode == "load":
            cpu = r["cpu"] = r["cpu"] if r["cpu"] is not None else cpu
            report(name, r["seconds"], cpu, r["peak_mib"], f"{r['rows']:,} rows",
                   f"in {r['bytes'] / 2**20:.0f} MiB (start-up {r['startup']:.1f}s not counted)")
            return r
        ran = r["ran"]
        total = total or len(queries)
        # Extrapolated by rules, not statements: per-route statements differ in size (the largest run first).
        rules_run = sum(len(q["rules"]) for q in queries[:ran])
        rules_all = sum(len(q["rules"]) for q in queries) * total / len(queries)
        scale = rules_all / max(rules_run, 1)
        cpu = r["cpu"]
        if ran < total:
            note += f"; {ran} of {total} queries ({rules_run} rules) run, time x{scale:.1f} (extrapolated by rules)"
        for f in r["failed"][:3]:
            say(f"  query failed (rules {', '.join(f['rules'])}): {f['error']}")
        if r["failed"]:
            note += f"; {len(r['failed'])} queries failed"
        # A rule routed to several routes (process creation: Sysmon 1 and Security 4688) is in a statement per
        # route: it is compared only when every statement holding it ran, else the routes not run would count
        # as pairs missing (in a shuffled, time-limited step the routes of one rule are far apart).
        not_run = {rule for q in queries[ran:] for rule in q["rules"]}
        rule_ids = {rule for q in queries[:ran] for rule in q["rules"]} - not_run
        if not_run & {rule for q in queries[:ran] for rule in q["rules"]}:
            note += f"; {len(rule_ids)} rules with all their statements run compared"
        n_pairs, same = compare(name, pairs, rule_ids)
        report(name, r["seconds"] * scale, cpu * scale, r["peak_mib"],
               f"{n_pairs} pairs{'' if same else ' (DIFFER)'}",
               note + f" (start-up {r['startup']:.1f}s not counted)")
        return r

    def per_rule_queries(target):
        entries = [e for e in convert(target) if e["query"]]
        random.Random(args.seed).shuffle(entries)
        return [{"rules": [e["rule_id"]], "sql": e["query"], "path": e.get("path")} for e in entries]

    # `sigil convert --single-query --split-by-route` writes a statement per route itself (its route as WHERE);
    # older builds write one statement, which this script then gets per route over a subquery of the route's rows.
    _, help_text, _, _ = run([convert_sigil, "convert", "--help"])
    sigil_split = "--split-by-route" in help_text and not args.script_routes

    def route_statements(target, per_rule, exact=False, group_size=None):
        """One --single-query statement per route (chunks of --group-size rules) over that route's rows."""
        groups = collections.defaultdict(list)
        for q in per_rule:
            groups[route_of(q["sql"], target != "duckdb")].append(q)
        statements, size, group_size = [], 0, group_size or args.group_size
        for route, qs in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            table = f"(SELECT * FROM events WHERE {route}) AS events" if route else None
            paths = sorted({q["path"] for q in qs})
            for i in range(0, len(paths), group_size):
                chunk = paths[i:i + group_size]
                if sigil_split:
                    for st in convert(target, chunk, single=True, exact=exact, split=True)["statements"]:
                        statements.append({"rules": st["rule_ids"], "sql": st["query"]})
                        size += len(st["query"])
                    continue
                d = convert(target, chunk, single=True, exact=exact, table=table)
                ids = sorted({q["rules"][0] for q in qs if q["path"] in chunk})
                statements.append({"rules": ids, "sql": d["query"]})
                size += len(d["query"])
        if args.shuffle_routes:
            random.Random(args.seed).shuffle(statements)
        say(f"{target}: {'sigil convert --split-by-route' if sigil_split else 'routes grouped by this script'}, "
            f"{len(groups)} routes ({sum(1 for r in groups if r is None)} without a route test), "
            f"{len(statements)} statements of at most {group_size} rules, {size / 2**20:.1f} MiB of SQL")
        return statements

    shuffled = f", in a shuffled order (seed {args.seed})" if args.shuffle_routes else ""
    if args.per_rule == "all":
        n_per_rule = None
    else:
        n_per_rule = int(args.per_rule)
    for engine in engines:
        label = {"clickhouse": "chdb", "duckdb": "DuckDB"}[engine]
        per_rule = per_rule_queries(engine)
        if args.source == "table":
            load_file = os.path.join(work, f"load-{engine}.json")
            if os.path.exists(load_file) and os.path.exists(db_path(engine)):
                with open(load_file) as f:
                    r = json.load(f)
                report(f"{label}, load into a table", r["seconds"], r["cpu"], r["peak_mib"], f"{r['rows']:,} rows",
                       f"in {r['bytes'] / 2**20:.0f} MiB; table and figures from an earlier run ({load_file})")
            else:
                r = engine_step(f"{label}, load into a table", engine, "load", [], "", explain=per_rule[0]["sql"])
                if r is None:
                    continue
                with open(load_file, "w") as f:
                    json.dump({k: r[k] for k in ("seconds", "cpu", "peak_mib", "rows", "bytes")}, f)
        if n_per_rule != 0:
            chosen = per_rule if n_per_rule is None else per_rule[:n_per_rule]
            engine_step(f"{label}, query per rule", engine, "query", chosen,
                        f"{len(per_rule)} rules" + ("" if n_per_rule is None else f", {len(chosen)} sampled (seed "
                                                    f"{args.seed})"), total=len(per_rule))
        if not args.skip_routes:
            statements = route_statements(engine, per_rule)
            engine_step(f"{label}, statement per route", engine, "query", statements,
                        f"{len(statements)} statements, {sum(len(s['rules']) for s in statements)} rules{shuffled}")
        if args.fallback_cost and not args.skip_routes:
            statements = route_statements(engine, per_rule, exact=True)
            engine_step(f"{label}, per route, exact names", engine, "query", statements,
                        f"{len(statements)} statements")
        db = db_path(engine)
        if args.keep_tables:
            say(f"{label}: table kept in {db} (--keep-tables)")
        else:
            if os.path.isdir(db):
                shutil.rmtree(db)
            elif os.path.exists(db):
                os.remove(db)
            if os.path.exists(os.path.join(work, f"load-{engine}.json")):
                os.remove(os.path.join(work, f"load-{engine}.json"))
    if args.spark:
        spark_note = "".join(f", {kv}" for kv in args.spark_conf) + (", table cached" if args.spark_cache else "")
        per_rule = per_rule_queries("spark")
        sample = per_rule[:args.spark_per_rule]
        if sample:
            engine_step("Spark local, query per rule", "spark", "query", sample,
                        f"{len(sample)} of {len(per_rule)} rules sampled (seed {args.seed}), driver "
                        f"{args.spark_driver_memory}{spark_note}", total=len(per_rule))
        if not args.skip_routes:
            statements = route_statements("spark", per_rule, group_size=args.spark_group_size)
            engine_step("Spark local, statement per route", "spark", "query", statements,
                        f"{len(statements)} statements, driver {args.spark_driver_memory}{spark_note}{shuffled}")

    say(f"\n{n_events:,} events, rules from {args.rules}; load average now {os.getloadavg()[0]:.1f}\n")
    say(f"{'step':36} {'wall s':>8} {'CPU s':>8} {'events/s':>11} {'CPU/hunt':>9} {'peak MiB':>9}  matches; note")
    for name, wall, cpu, mib, n, note in rows:
        if wall is None:
            say(f"{name:36} {'-':>8} {'-':>8} {'-':>11} {'-':>9} {'-':>9}  {note}")
            continue
        say(f"{name:36} {wall:8.1f} {cpu:8.1f} {n_events / wall:11,.0f} {cpu / base['cpu']:8.2f}x {mib:9.0f}  "
            f"{n}; {note}")
    if not args.keep and not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
