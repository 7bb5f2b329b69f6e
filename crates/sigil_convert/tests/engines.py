"""Runs SQL on the real engines for the differential tests (crates/sigil_convert/tests/engines.rs).

One process per test binary: it reads one JSON request per line on stdin and answers one JSON line on stdout.
  {"op": "probe"}                                   -> {"engines": {"clickhouse": null | "why not", ...}}
  {"op": "load", "engine": E, "path": P}            -> {"ok": true} | {"error": ...}   (view `events` over P)
  {"op": "run", "engine": E, "queries": [[k, sql]]} -> {"rows": {k: [[...], ...]}, "errors": {k: message}}
Spark starts once, on first use, in local mode with one partition per core.
"""
import json
import sys
import traceback

engines = {}


def probe():
    out = {}
    for name, module in (("clickhouse", "chdb"), ("duckdb", "duckdb"), ("spark", "pyspark")):
        try:
            __import__(module)
            out[name] = None
        except Exception as e:  # noqa: BLE001
            out[name] = f"python module {module} missing: {e}"
    if out["spark"] is None:
        import shutil

        if shutil.which("java") is None:
            out["spark"] = "java is not installed"
    return out


class ClickHouse:
    def __init__(self):
        from chdb import session

        self.s = session.Session()
        # The parser's limits apply before a query's own SETTINGS clause is read (the single query over all rules).
        for name in ("max_query_size", "max_parser_backtracks", "max_parser_depth"):
            self.s.query(f"SET {name} = 1000000000")

    def load(self, path):
        self.s.query("DROP VIEW IF EXISTS events")
        self.s.query(f"CREATE VIEW events AS SELECT * FROM file('{path}', Parquet)")

    def run(self, sql):
        res = self.s.query(
            sql + " SETTINGS max_query_size = 1000000000, max_ast_elements = 100000000, "
            "max_expanded_ast_elements = 100000000, max_parser_backtracks = 1000000000",
            "JSONCompactEachRow",
        )
        text = res.bytes().decode("utf-8") if hasattr(res, "bytes") else str(res)
        return [json.loads(line) for line in text.splitlines() if line.strip()]


class DuckDb:
    def __init__(self):
        import duckdb

        self.c = duckdb.connect()

    def load(self, path):
        self.c.execute(f"CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet('{path}')")

    def run(self, sql):
        return [list(r) for r in self.c.execute(sql).fetchall()]


class Spark:
    def __init__(self):
        from pyspark.sql import SparkSession

        self.s = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "4g")
            .config("spark.sql.codegen.wholeStage", "false")
            # The single query of the 202 regression rules is one predicate of several MB once list values
            # and the field-name fallbacks are read: generating Java source for it ran out of a 4 GiB heap
            # (java.lang.OutOfMemoryError in CodegenContext.declareAddedFunctions). Interpreted evaluation
            # gives the same rows; the per-rule queries are small and unaffected.
            .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
            .getOrCreate()
        )
        self.s.sparkContext.setLogLevel("ERROR")

    def load(self, path):
        df = self.s.read.parquet(path)
        df.cache()
        df.createOrReplaceTempView("events")

    def run(self, sql):
        return [list(r) for r in self.s.sql(sql).collect()]


def engine(name):
    if name not in engines:
        engines[name] = {"clickhouse": ClickHouse, "duckdb": DuckDb, "spark": Spark}[name]()
    return engines[name]


def handle(req):
    op = req["op"]
    if op == "probe":
        return {"engines": probe()}
    if op == "load":
        engine(req["engine"]).load(req["path"])
        return {"ok": True}
    if op == "run":
        e = engine(req["engine"])
        rows, errors = {}, {}
        for key, sql in req["queries"]:
            try:
                rows[key] = e.run(sql)
            except Exception as ex:  # noqa: BLE001
                errors[key] = str(ex)[:2000]
        return {"rows": rows, "errors": errors}
    return {"error": f"unknown op {op}"}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            out = handle(json.loads(line))
        except Exception:  # noqa: BLE001
            out = {"error": traceback.format_exc()[-3000:]}
        sys.stdout.write(json.dumps(out, default=str) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
