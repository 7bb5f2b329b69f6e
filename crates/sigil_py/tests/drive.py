"""Runs the recipes of docs/python.md on Spark local and Ray local for tests/python.rs.

One process per test binary: Spark and Ray start once (on first use) and serve every request. Requests and
answers are JSON lines on stdin/stdout; logs go to stderr. The recipe functions below are the ones the docs show.
"""

import json
import os
import sys
import traceback

_spark = None
_ray = None


def probe():
    missing = {}
    for name in ("sigil", "pyarrow", "pyspark", "ray"):
        try:
            __import__(name)
        except Exception as e:  # noqa: BLE001 - any import failure means "absent"
            missing[name] = f"{type(e).__name__}: {e}"
    return {"missing": missing}


def spark():
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        _spark = (
            SparkSession.builder.master("local[2]")
            .appName("sigil-py-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.execution.arrow.maxRecordsPerBatch", "8192")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
    return _spark


def ray_init():
    global _ray
    if _ray is None:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        _ray = ray
    return _ray


def spark_schema(arrow_schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)


# ---- the recipes (docs/python.md) ----


def spark_hunt_evtx_folder(engine, folder):
    """Hunt a folder of EVTX files: binaryFile + mapInArrow, each file read and matched on a worker."""
    import sigil

    def hunt_files(batches):
        for files in batches:
            for path, content in zip(files.column("path").to_pylist(), files.column("content").to_pylist()):
                for events in sigil.read_bytes(path, content):
                    yield engine.match_arrow(events)

    files = (
        spark()
        .read.format("binaryFile")
        .option("pathGlobFilter", "*.evtx")
        .option("recursiveFileLookup", "true")
        .load(folder)
    )
    return files.select("path", "content").mapInArrow(hunt_files, spark_schema(sigil.match_schema()))


def spark_hunt_table(engine, parquet):
    """Hunt a table written by `sigil export`."""
    import sigil

    events = spark().read.parquet(parquet)
    return events.mapInArrow(
        lambda batches: (engine.match_arrow(b) for b in batches), spark_schema(sigil.match_schema())
    )


def spark_correlate_table(engine, parquet):
    """Correlation rules: key the events their referenced rules match, shuffle by key, correlate each group."""
    import pyarrow as pa
    import sigil
    from pyspark.sql.types import StringType, StructField, StructType

    events = spark().read.parquet(parquet)
    keyed_schema = StructType(
        events.schema.fields
        + [StructField("correlation", StringType(), False), StructField("group_key", StringType(), False)]
    )

    def keyed(batches):
        for b in batches:
            keys = engine.correlation_keys(b)
            rows = b.take(keys.column("row"))
            yield pa.RecordBatch.from_arrays(
                rows.columns + [keys.column("correlation"), keys.column("group_key")],
                names=rows.schema.names + ["correlation", "group_key"],
            )

    def correlate(group):
        return engine.correlate(group, correlation=group.column("correlation")[0].as_py())

    return (
        events.mapInArrow(keyed, keyed_schema)
        .groupBy("correlation", "group_key")
        .applyInArrow(correlate, spark_schema(sigil.alert_schema()))
    )


def ray_hunt_evtx_folder(engine, folder):
    import pyarrow as pa
    import sigil

    def hunt_files(files):
        out = [
            engine.match_arrow(events)
            for path, content in zip(files.column("path").to_pylist(), files.column("bytes").to_pylist())
            for events in sigil.read_bytes(path, content)
        ]
        return pa.Table.from_batches(out, schema=sigil.match_schema())

    ray = ray_init()
    files = ray.data.read_binary_files(folder, include_paths=True, file_extensions=["evtx"])
    return files.map_batches(hunt_files, batch_format="pyarrow", batch_size=16)


def ray_hunt_table(engine, parquet):
    ray = ray_init()
    events = ray.data.read_parquet(parquet)
    return events.map_batches(engine.match_arrow, batch_format="pyarrow")


# ---- the driver ----


def strip_scheme(source):
    return source[len("file:") :] if source and source.startswith("file:") else source


def detections(arrow_tables):
    out = []
    for t in arrow_tables:
        for r in t.to_pylist():
            out.append([r["rule_path"], r["rule_title"], strip_scheme(r["source"]), r["record_id"]])
    return out


def handle(req):
    import sigil

    op = req["op"]
    if op == "probe":
        return probe()
    engine = sigil.Engine(rules=req["rules"])
    if op == "spark_evtx":
        return {"detections": detections([spark_hunt_evtx_folder(engine, req["path"]).toArrow()])}
    if op == "spark_table":
        return {"detections": detections([spark_hunt_table(engine, req["path"]).toArrow()])}
    if op == "spark_correlate":
        t = spark_correlate_table(engine, req["path"]).toArrow()
        return {"alerts": [[r["rule_id"], r["record_id"], r["group"]] for r in t.to_pylist()]}
    if op == "ray_evtx":
        ds = ray_hunt_evtx_folder(engine, req["path"])
        return {"detections": detections([ray_init().get(ref) for ref in ds.to_arrow_refs()])}
    if op == "ray_table":
        ds = ray_hunt_table(engine, req["path"])
        return {"detections": detections([ray_init().get(ref) for ref in ds.to_arrow_refs()])}
    raise ValueError(f"unknown op {op!r}")


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails with it
            traceback.print_exc(file=sys.stderr)
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    main()
