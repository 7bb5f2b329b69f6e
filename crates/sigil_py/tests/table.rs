//! The package's logic without Python: events through the export layout match as `sigil hunt` matches them, and
//! correlation by group gives the alerts of a hunt over everything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, RecordBatch, UInt32Array};
use sigil_engine::{Detection, Engine, HuntOptions, HuntSink};
use sigil_events::{Event, ReadError, ReadOptions, Value};
use sigil_py::read::{self, Item};
use sigil_py::{Spec, table};

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if dir.join("sigmahq-regression").is_dir() && dir.join("sigmahq/rules").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("SIGIL_REQUIRE_CORPUS").is_err_and(|_| true)
            || std::env::var("SIGIL_REQUIRE_CORPUS").unwrap() != "1",
        "SIGIL_REQUIRE_CORPUS=1 but the corpus is missing at {}",
        dir.display()
    );
    println!("skipped: no corpus at {}", dir.display());
    None
}

fn strings(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let a = b.column_by_name(name).unwrap().as_string::<i32>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())).collect()
}

fn ints(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = b.column_by_name(name).unwrap().as_primitive::<Int64Type>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
}

/// (rule path, rule title, source, record id) of every detection in match results.
fn table_pairs(batches: &[RecordBatch]) -> BTreeSet<(String, String, String, Option<i64>)> {
    let mut out = BTreeSet::new();
    for b in batches {
        let (paths, titles, sources, records) =
            (strings(b, "rule_path"), strings(b, "rule_title"), strings(b, "source"), ints(b, "record_id"));
        for i in 0..b.num_rows() {
            out.insert((
                paths[i].clone().unwrap(),
                titles[i].clone().unwrap(),
                sources[i].clone().unwrap(),
                records[i],
            ));
        }
    }
    out
}

#[test]
fn regression_evtx_through_the_export_layout_match_as_the_hunt_does() {
    let Some(corpus) = shared() else { return };
    let spec = Spec::from_paths(&[corpus.join("sigmahq/rules/windows")], &[], None, None, false).unwrap();
    let compiled = spec.compile_cached().unwrap();
    let engine = &compiled.engine;
    let (files, _) = sigil_events::discover(&[corpus.join("sigmahq-regression")]);
    assert!(files.len() > 100, "{} regression files", files.len());
    let mut scratch = engine.scratch();
    let (mut direct, mut batches) = (BTreeSet::new(), Vec::new());
    for f in &files {
        let name = f.display().to_string();
        let Ok(source) = sigil_events::open(f, &ReadOptions::default()) else { continue };
        source.for_each_batch(|batch| {
            for ev in &batch.events {
                let mut found = Vec::new();
                engine.matches(ev, &mut scratch, &mut found);
                for m in found.iter().filter(|m| !engine.is_silent(m.rule)) {
                    let info = &engine.rule(*m).unwrap().info;
                    direct.insert((
                        info.path.clone(),
                        info.title.clone(),
                        name.clone(),
                        ev.record_id().map(|r| r as i64),
                    ));
                }
            }
        });
        // Through bytes, as Spark's binaryFile hands them over, in small batches.
        let reader = read::from_bytes(&name, std::fs::read(f).unwrap(), 1, &ReadOptions::default()).unwrap();
        for item in reader {
            match item {
                Item::Batch(b) => batches.push(table::match_batch(engine, &b, &mut scratch).unwrap()),
                Item::Error(e) => println!("{e}"),
            }
        }
    }
    let through = table_pairs(&batches);
    assert!(direct.len() > 150, "only {} detections on the regression corpus", direct.len());
    let missing: Vec<_> = direct.difference(&through).take(5).collect();
    let extra: Vec<_> = through.difference(&direct).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}\nextra {extra:?}");
}

/// Spark and Ray hand over other Arrow types than the export writes: large or view strings, nanosecond
/// timestamps in another zone, map entries named `entries`, no `event_index`.
#[test]
fn batches_as_spark_gives_them_are_read_by_name_and_cast() {
    use arrow_array::builder::{LargeStringBuilder, MapBuilder, MapFieldNames, TimestampNanosecondBuilder};
    use arrow_schema::{DataType, Field, Schema};
    let rule = "title: Whoami\nid: 9e0e8d5a-0000-4000-8000-000000000001\nlogsource: {product: windows, category: \
                process_creation}\ndetection: {sel: {Image|endswith: '\\whoami.exe', ProcessId: 42}, condition: sel}\n\
                level: high\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), rule).unwrap();
    let compiled =
        Spec::from_paths(&[dir.path().to_path_buf()], &[], None, None, false).unwrap().compile_cached().unwrap();
    let names = MapFieldNames { entry: "entries".into(), key: "key".into(), value: "value".into() };
    let mut fields = MapBuilder::new(Some(names), LargeStringBuilder::new(), LargeStringBuilder::new());
    let mut source = LargeStringBuilder::new();
    let mut ts = TimestampNanosecondBuilder::new().with_timezone("Europe/Paris");
    for (image, pid) in [
        ("C:\\Windows\\System32\\whoami.exe", Some("42")),
        ("C:\\x\\WHOAMI.EXE", None),
        ("c:\\whoami.exe", Some("0x2a")),
    ] {
        for (k, v) in [
            ("Channel", Some("Microsoft-Windows-Sysmon/Operational")),
            ("EventID", Some("1")),
            ("Image", Some(image)),
            ("ProcessId", pid),
        ] {
            fields.keys().append_value(k);
            fields.values().append_option(v);
        }
        fields.append(true).unwrap();
        source.append_value("spark");
        ts.append_value(1_700_000_000_000_000_000);
    }
    let (fields, source, ts) = (fields.finish(), source.finish(), ts.finish());
    let schema = Schema::new(vec![
        Field::new("source", DataType::LargeUtf8, true),
        Field::new("timestamp", ts.data_type().clone(), true),
        Field::new("fields", fields.data_type().clone(), true),
    ]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(source), Arc::new(ts), Arc::new(fields)]).unwrap();
    let out = table::match_batch(&compiled.engine, &batch, &mut compiled.engine.scratch()).unwrap();
    // Row 1 has no ProcessId (null), row 2's hex 0x2a is 42 as Sigma compares numbers.
    assert_eq!(ints(&out, "row"), [Some(0), Some(2)]);
    assert_eq!(ints(&out, "event_index"), [None, None]);
    assert_eq!(strings(&out, "source"), [Some("spark".into()), Some("spark".into())]);
    assert_eq!(strings(&out, "level"), [Some("high".into()), Some("high".into())]);
    assert_eq!(strings(&out, "rule_id")[0].as_deref(), Some("9e0e8d5a-0000-4000-8000-000000000001"));

    // No `fields` column, or one of another type: an error naming it.
    let bad = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("fields", DataType::Utf8, true)])),
        vec![Arc::new(arrow_array::StringArray::from(vec!["{}"]))],
    )
    .unwrap();
    let e = table::match_batch(&compiled.engine, &bad, &mut compiled.engine.scratch()).unwrap_err().to_string();
    assert!(e.contains("'fields'") && e.contains("map"), "{e}");
    let none = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)])),
        vec![Arc::new(arrow_array::StringArray::from(vec!["{}"]))],
    )
    .unwrap();
    let e = table::match_batch(&compiled.engine, &none, &mut compiled.engine.scratch()).unwrap_err().to_string();
    assert!(e.contains("no 'fields' column"), "{e}");
}

struct Alerts(Mutex<BTreeSet<(String, Option<i64>, String)>>);

impl HuntSink for Alerts {
    fn detections(&self, detections: &[Detection<'_>]) {
        for d in detections {
            if let Some(c) = d.correlation {
                let group = serde_json::Value::Object(
                    c.group.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect(),
                );
                self.0.lock().unwrap().insert((
                    table::rule_key(d.rule),
                    d.event.record_id().map(|r| r as i64),
                    group.to_string(),
                ));
            }
        }
    }
    fn read_error(&self, _error: &ReadError) {}
}

/// Failed logons of several accounts: bursts, a near miss, one spread too thin, interleaved in time.
fn logons() -> Vec<Event> {
    let mut out = Vec::new();
    let t0 = jiff::Timestamp::from_second(1_790_000_000).unwrap();
    let mut add = |user: &str, seconds: i64| {
        let n = out.len() as u64;
        let ev = Event::from_fields([
            ("Channel", Value::from("Security")),
            ("Provider_Name", Value::from("Microsoft-Windows-Security-Auditing")),
            ("EventID", Value::Int(4625)),
            ("TargetUserName", Value::from(user)),
        ])
        .with_timestamp(Some(t0 + jiff::SignedDuration::from_secs(seconds)))
        .with_record_id(Some(1000 + n));
        out.push(ev);
    };
    for i in 0..25 {
        add("alice", i * 5); // 25 in two minutes: two alerts (10, 10), 5 left over
    }
    for i in 0..9 {
        add("bob", i * 3); // 9: none
    }
    for i in 0..12 {
        add("carol", i * 60); // 12 over 11 minutes: windows of 5 minutes hold 6
    }
    for i in 0..10 {
        add("dave", 400 + i); // exactly 10, later
    }
    // Not in time order, as partitions of a table are not.
    out.reverse();
    out
}

#[test]
fn correlation_by_group_after_a_shuffle_equals_the_hunt() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules/win_security_failed_logons_burst.yml");
    let compiled = Spec::from_paths(&[rules], &[], None, None, false).unwrap().compile_cached().unwrap();
    let engine: &Engine = &compiled.engine;
    let events = logons();

    // sigil hunt over everything (in time order, as it feeds correlations).
    let mut sorted = events.clone();
    sorted.sort_by_key(|e| e.timestamp());
    let batch = sigil_events::Batch { source: Arc::from(Path::new("x")), seq: 0, events: sorted, errors: Vec::new() };
    let hunt = Alerts(Mutex::new(BTreeSet::new()));
    sigil_engine::hunt_batches(engine, vec![batch], &HuntOptions::default(), &hunt).unwrap();
    let hunt = hunt.0.into_inner().unwrap();
    assert_eq!(hunt.len(), 3, "{hunt:?}");

    // The table: keys, a shuffle by key, each group correlated apart.
    let mut b = sigil_convert::export::BatchBuilder::default();
    let src: Arc<str> = Arc::from("x");
    for (i, e) in events.iter().enumerate() {
        b.push(i as i64, e, &src).unwrap();
    }
    let table = b.finish().unwrap();
    // The silent base rule raises nothing of its own.
    assert_eq!(table::match_batch(engine, &table, &mut engine.scratch()).unwrap().num_rows(), 0);
    let keys = table::correlation_keys(engine, &table, &mut engine.scratch()).unwrap();
    assert_eq!(keys.num_rows(), events.len());
    let mut groups: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    let (rows, corr, key) = (ints(&keys, "row"), strings(&keys, "correlation"), strings(&keys, "group_key"));
    for i in 0..keys.num_rows() {
        groups.entry((corr[i].clone().unwrap(), key[i].clone().unwrap())).or_default().push(rows[i].unwrap() as u32);
    }
    assert_eq!(groups.len(), 4);
    assert!(groups.contains_key(&("60718293-a4b5-46c7-d8e9-f00112233445".into(), "[\"alice\"]".into())));
    let mut through = BTreeSet::new();
    for ((corr, _), rows) in groups {
        let idx = UInt32Array::from(rows);
        let cols = table.columns().iter().map(|c| arrow_select::take::take(c, &idx, None).unwrap()).collect();
        let group = RecordBatch::try_new(table.schema(), cols).unwrap();
        let alerts = table::correlate(engine, &group, Some(&corr)).unwrap();
        let (ids, records, g) = (strings(&alerts, "rule_id"), ints(&alerts, "record_id"), strings(&alerts, "group"));
        for i in 0..alerts.num_rows() {
            through.insert((ids[i].clone().unwrap(), records[i], g[i].clone().unwrap()));
        }
        assert!(strings(&alerts, "type").iter().all(|t| t.as_deref() == Some("event_count")));
    }
    assert_eq!(through, hunt);
}

#[test]
fn an_engine_pickles_as_its_texts_and_compiles_the_same() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules");
    let spec = Spec::from_paths(&[rules], &[], None, Some("medium"), false).unwrap();
    let again = Spec::from_bytes(&spec.to_bytes()).unwrap();
    assert_eq!(again, spec);
    let (a, b) = (spec.compile_cached().unwrap(), again.compile_cached().unwrap());
    assert!(Arc::ptr_eq(&a, &b), "an equal spec compiles once per process");
    assert_eq!(a.report, spec.compile().unwrap().1);
    assert!(a.report.below_level > 0, "{:?}", a.report);
    let json = sigil_py::report_json(&a);
    assert_eq!(json["compiled"], a.report.compiled);
    assert!(Spec::from_bytes(b"not json").unwrap_err().to_string().contains("not a pickled sigil engine"));
}

#[test]
fn bad_rule_paths_and_files_are_errors_naming_them() {
    let e = Spec::from_paths(&[PathBuf::from("/no/such/rules")], &[], None, None, false).unwrap_err().to_string();
    assert!(e.contains("/no/such/rules") && e.contains("no such file"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = Spec::from_paths(&[dir.path().to_path_buf()], &[], None, None, false).unwrap_err().to_string();
    assert!(e.contains("no Sigma rule file"), "{e}");
    std::fs::write(dir.path().join("r.yml"), "title: x\n").unwrap();
    let e = Spec::from_paths(&[dir.path().to_path_buf()], &[], None, Some("huge"), false).unwrap_err().to_string();
    assert!(e.contains("min_level"), "{e}");
    let mapping = dir.path().join("m.toml");
    std::fs::write(&mapping, "[[route]\nbroken").unwrap();
    let spec = Spec::from_paths(&[dir.path().join("r.yml")], &[mapping], None, None, false).unwrap();
    let e = spec.compile().unwrap_err().to_string();
    assert!(e.contains("m.toml"), "{e}");
    // A rule file with errors is skipped and reported, not fatal.
    let (_, report, _) =
        Spec::from_paths(&[dir.path().join("r.yml")], &[], None, None, false).unwrap().compile().unwrap();
    assert_eq!(report.compiled, 0);
    assert_eq!(report.skipped.len(), 1, "{report:?}");
}

#[test]
fn reading_bytes_reports_bad_parts_with_their_position_and_keeps_the_rest() {
    let text = "{\"EventID\": 1, \"Channel\": \"a\"}\nnot json\n{\"EventID\": 2, \"Channel\": \"b\", \"L\": [1, 2]}\n";
    let reader = read::from_bytes("x.jsonl", text.as_bytes().to_vec(), 1, &ReadOptions::default()).unwrap();
    let items: Vec<Item> = reader.collect();
    let errors: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
            Item::Error(e) => Some(e.to_string()),
            Item::Batch(_) => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("x.jsonl:2:"), "{errors:?}");
    let batches: Vec<&RecordBatch> = items
        .iter()
        .filter_map(|i| match i {
            Item::Batch(b) => Some(b),
            Item::Error(_) => None,
        })
        .collect();
    let indexes: Vec<Option<i64>> = batches.iter().flat_map(|b| ints(b, "event_index")).collect();
    assert_eq!(indexes, [Some(0), Some(1)]);
    assert_eq!(batches[0].schema(), sigil_convert::export::schema());
    // Lists come back as lists of their items' texts (the `lists` column), so the engine tests them one by one.
    let events: Vec<Event> = batches.iter().flat_map(|b| table::events(b).unwrap()).collect();
    assert_eq!(events[1].get("L"), Some(&Value::List(vec![Value::from("1"), Value::from("2")])));
    assert_eq!(events[1].event_id(), Some(2));

    // Not an event format at all; an EVTX name with no EVTX header.
    let e = read::from_bytes("x.bin", b"\x01\x02garbage\n".to_vec(), 10, &ReadOptions::default()).err();
    assert!(e.is_none_or(|e| e.to_string().contains("x.bin")));
    let e = read::from_bytes("bad.evtx", b"ElfFile\0 but short".to_vec(), 10, &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().starts_with("bad.evtx"), "{e}");
}

/// A list value goes through the export layout's `lists` column and is matched item by item, as `sigil hunt` matches
/// it: an item equal to the value matches, the items' joined text does not; an empty list is present and null; a
/// table without `lists` (an older export) reads the joined text.
#[test]
fn list_values_are_matched_item_by_item_through_the_layout() {
    let rules = "title: Item\nid: 00000000-0000-4000-8000-11570000000a\nlogsource: {product: windows, category: process_creation}\n\
        detection: {sel: {Tags: 'b'}, condition: sel}\nlevel: high\n---\n\
        title: Joined\nid: 00000000-0000-4000-8000-11570000000b\nlogsource: {product: windows, category: process_creation}\n\
        detection: {sel: {Tags: 'a, b'}, condition: sel}\nlevel: high\n---\n\
        title: Empty\nid: 00000000-0000-4000-8000-11570000000c\nlogsource: {product: windows, category: process_creation}\n\
        detection: {sel: {Tags|exists: true}, nul: {Tags: null}, condition: sel and nul}\nlevel: high\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("r.yml"), rules).unwrap();
    let compiled =
        Spec::from_paths(&[dir.path().to_path_buf()], &[], None, None, false).unwrap().compile_cached().unwrap();
    let text = [
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Tags": ["a", "b"]}"#,
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Tags": "a, b"}"#,
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Tags": []}"#,
    ]
    .join("\n");
    let reader = read::from_bytes("l.jsonl", text.into_bytes(), 10, &ReadOptions::default()).unwrap();
    let batch = reader
        .map(|i| match i {
            Item::Batch(b) => b,
            Item::Error(e) => panic!("{e}"),
        })
        .next()
        .unwrap();
    let hits = |b: &RecordBatch| -> Vec<(Option<i64>, Option<String>)> {
        let out = table::match_batch(&compiled.engine, b, &mut compiled.engine.scratch()).unwrap();
        let mut v: Vec<_> = ints(&out, "row").into_iter().zip(strings(&out, "rule_title")).collect();
        v.sort();
        v
    };
    let s = |t: &str| Some(t.to_string());
    assert_eq!(hits(&batch), [(Some(0), s("Item")), (Some(1), s("Joined")), (Some(2), s("Empty"))]);
    // Without the `lists` column the list is its joined text.
    let schema = batch.schema();
    let keep: Vec<usize> = (0..schema.fields().len()).filter(|&i| schema.field(i).name() != "lists").collect();
    let old = batch.project(&keep).unwrap();
    assert_eq!(hits(&old), [(Some(0), s("Joined")), (Some(1), s("Joined"))]);
}
