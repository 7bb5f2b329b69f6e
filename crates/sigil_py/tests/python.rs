//! The Python package on Spark local and Ray local: the recipes of docs/python.md (run by `drive.py`, one Python
//! process per test binary, so Spark and Ray start once) give the detections of the hunting engine, (rule,
//! record) for (rule, record), on the SigmaHQ regression EVTX files and on a generated table of events exported
//! with `sigil export` (1,000,000 events unless `SIGIL_PY_EVENTS` says otherwise).
//!
//! Python is `$SIGIL_PYTHON`, else the repository's `.venv/bin/python` (which `.ci/run` creates and installs the
//! wheel into), else `python3`; it needs the `sigil` package (`pip install ./crates/sigil_py`), pyarrow, pyspark
//! (with Java) and ray. When one is missing the tests are skipped with a message, unless
//! `SIGIL_REQUIRE_ENGINES=1`, where that fails them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value as Json, json};
use sigil_engine::{Detection, Engine, EngineOptions, HuntOptions, HuntSink};
use sigil_events::ReadError;
use sigil_testutil::{LineDriver, python};

/// Makes a missing Python package an error rather than a skip.
const REQUIRE: &str = "SIGIL_REQUIRE_ENGINES";

fn skip(why: &str) -> Mutex<Option<LineDriver>> {
    sigil_testutil::skip(REQUIRE, why);
    Mutex::new(None)
}

/// The one driver process of this test binary.
fn driver() -> &'static Mutex<Option<LineDriver>> {
    static DRIVER: OnceLock<Mutex<Option<LineDriver>>> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drive.py");
        let mut d = match LineDriver::spawn(&script) {
            Ok(d) => d,
            Err(why) => return skip(&why),
        };
        let probe = d.ask(&json!({"op": "probe"}));
        let missing = probe["missing"].as_object().unwrap();
        if !missing.is_empty() {
            return skip(&format!("python ({}) lacks {}", python().display(), Json::Object(missing.clone())));
        }
        Mutex::new(Some(d))
    })
}

/// Runs one request, or `None` when the tests are skipped.
fn request(req: &Json) -> Option<Json> {
    let mut guard = driver().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Some(guard.as_mut()?.ask(req))
}

fn corpus() -> Option<PathBuf> {
    sigil_testutil::corpus(&["sigmahq-regression"])
}

/// (rule path, rule title, source, record id).
type Pairs = BTreeSet<(String, String, String, Option<i64>)>;

struct Collect(Mutex<Pairs>);

impl HuntSink for Collect {
    fn detections(&self, detections: &[Detection<'_>]) {
        let mut out = self.0.lock().unwrap();
        for d in detections {
            let info = &d.rule.info;
            out.insert((
                info.path.clone(),
                info.title.clone(),
                d.source.display().to_string(),
                d.event.record_id().map(|r| r as i64),
            ));
        }
    }
    fn read_error(&self, _error: &ReadError) {}
}

/// What `sigil hunt INPUTS --rules RULES` finds: the same loader, duplicate dropping, routing and hunt.
fn hunt(rules: &Path, inputs: &[PathBuf]) -> Pairs {
    let mut set = sigil_check::load(&[rules.to_path_buf()], &sigil_rule::LoadOptions::default());
    sigil_check::drop_duplicates(&mut set);
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, _) = Engine::build(&set, knowledge, &EngineOptions::default());
    let sink = Collect(Mutex::new(Pairs::new()));
    sigil_engine::hunt(&engine, inputs, &HuntOptions::default(), &sink).unwrap();
    sink.0.into_inner().unwrap()
}

fn answer_pairs(v: &Json) -> Pairs {
    v["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d[0].as_str().unwrap().to_string(),
                d[1].as_str().unwrap().to_string(),
                d[2].as_str().unwrap().to_string(),
                d[3].as_i64(),
            )
        })
        .collect()
}

fn assert_same(what: &str, got: &Pairs, want: &Pairs) {
    let missing: Vec<_> = want.difference(got).take(5).collect();
    let extra: Vec<_> = got.difference(want).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: {} detections, sigil hunt {}\nmissing {missing:?}\nextra {extra:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn spark_and_ray_hunt_the_regression_evtx_as_sigil_hunt_does() {
    let Some(corpus) = corpus() else { return };
    let rules = corpus.join("sigmahq/rules/windows");
    let folder = corpus.join("sigmahq-regression/regression_data");
    let req = |op: &str| json!({"op": op, "rules": [rules], "path": folder});
    let Some(spark) = request(&req("spark_evtx")) else { return };
    // The recipe reads the EVTX files of the folder (it also holds JSON samples).
    let (files, _) = sigil_events::discover(std::slice::from_ref(&folder));
    let evtx: Vec<PathBuf> = files.into_iter().filter(|f| f.extension().is_some_and(|e| e == "evtx")).collect();
    let want = hunt(&rules, &evtx);
    assert!(want.len() > 150, "sigil hunt found only {}", want.len());
    assert_same("Spark, binaryFile + mapInArrow", &answer_pairs(&spark), &want);
    let ray = request(&req("ray_evtx")).unwrap();
    assert_same("Ray, read_binary_files + map_batches", &answer_pairs(&ray), &want);
}

fn events() -> usize {
    std::env::var("SIGIL_PY_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

#[test]
fn spark_and_ray_hunt_an_exported_table_as_sigil_hunt_does() {
    let Some(corpus) = corpus() else { return };
    if driver().lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_none() {
        return;
    }
    let rules = corpus.join("sigmahq/rules/windows");
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let gen_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/gen_jsonl.py");
    let status = Command::new(python())
        .arg(gen_script)
        .args(["--events", &events().to_string(), "--out"])
        .arg(&jsonl)
        .status()
        .unwrap();
    assert!(status.success());
    let parquet = dir.path().join("events.parquet");
    let stats = sigil_convert::export::export(std::slice::from_ref(&jsonl), &parquet, &Default::default()).unwrap();
    assert_eq!(stats.events, events() as u64);
    let want = hunt(&rules, &[jsonl]);
    assert!(want.len() > 100, "sigil hunt found only {}", want.len());
    // Every detection names its event: the generated record ids are unique.
    let req = |op: &str| json!({"op": op, "rules": [rules], "path": parquet});
    let spark = request(&req("spark_table")).unwrap();
    assert_same("Spark, parquet + mapInArrow", &answer_pairs(&spark), &want);
    let ray = request(&req("ray_table")).unwrap();
    assert_same("Ray, read_parquet + map_batches", &answer_pairs(&ray), &want);
}

#[test]
fn spark_correlates_after_a_shuffle_by_group_as_sigil_hunt_does() {
    if driver().lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_none() {
        return;
    }
    let rules = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/rules/win_security_failed_logons_burst.yml")
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("logons.jsonl");
    // Failed logons: alice 25 in two minutes (two alerts), bob 9 (none), carol 12 a minute apart (windows of 5
    // minutes hold 6: none), dave 10 in ten seconds (one); interleaved in time order, as a log is written
    // (`sigil hunt` streams one input's correlations in file order; Spark's partitions come in any order).
    let mut lines = Vec::new();
    let mut add = |user: &str, second: i64| {
        let t = jiff::Timestamp::from_second(1_790_000_000 + second).unwrap();
        lines.push(json!({"TimeCreated": t.to_string(), "EventRecordID": 1000 + lines.len(), "Channel": "Security",
            "Provider_Name": "Microsoft-Windows-Security-Auditing", "EventID": 4625, "TargetUserName": user}));
    };
    (0..25).for_each(|i| add("alice", i * 5));
    (0..9).for_each(|i| add("bob", i * 3));
    (0..12).for_each(|i| add("carol", i * 60));
    (0..10).for_each(|i| add("dave", 400 + i));
    lines.sort_by(|a, b| a["TimeCreated"].as_str().cmp(&b["TimeCreated"].as_str()));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&jsonl, text).unwrap();
    let parquet = dir.path().join("logons.parquet");
    sigil_convert::export::export(std::slice::from_ref(&jsonl), &parquet, &Default::default()).unwrap();

    let mut set = sigil_check::load(std::slice::from_ref(&rules), &sigil_rule::LoadOptions::default());
    sigil_check::drop_duplicates(&mut set);
    let (engine, _) = Engine::build(&set, sigil_knowledge::Knowledge::builtin().unwrap(), &EngineOptions::default());
    struct Alerts(Mutex<BTreeSet<(String, i64)>>);
    impl HuntSink for Alerts {
        fn detections(&self, detections: &[Detection<'_>]) {
            for d in detections.iter().filter(|d| d.correlation.is_some()) {
                let id = d.rule.info.id.clone().unwrap();
                self.0.lock().unwrap().insert((id, d.event.record_id().unwrap() as i64));
            }
        }
        fn read_error(&self, _error: &ReadError) {}
    }
    let sink = Alerts(Mutex::new(BTreeSet::new()));
    sigil_engine::hunt(&engine, &[jsonl], &HuntOptions::default(), &sink).unwrap();
    let want = sink.0.into_inner().unwrap();
    assert_eq!(want.len(), 3, "{want:?}");

    let v = request(&json!({"op": "spark_correlate", "rules": [rules], "path": parquet})).unwrap();
    let got: BTreeSet<(String, i64)> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a[0].as_str().unwrap().to_string(), a[1].as_i64().unwrap()))
        .collect();
    assert_eq!(got, want);
}
