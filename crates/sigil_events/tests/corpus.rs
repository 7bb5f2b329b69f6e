//! Every sample of the SigmaHQ regression corpus reads without error, and each `.evtx` gives
//! the same flat events as the `.json` export beside it.

mod common;

use std::path::{Path, PathBuf};

use sigil_events::{Event, ReadOptions, SourceKind, Value, discover, open};

fn read(path: &Path) -> Vec<Event> {
    let source = open(path, &ReadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    source.map(|item| item.unwrap_or_else(|err| panic!("{err}"))).collect()
}

fn samples(corpus: &Path, kind: SourceKind) -> Vec<PathBuf> {
    let (files, _skipped) = discover(&[corpus.to_path_buf()]);
    files.into_iter().filter(|p| SourceKind::from_path(p) == Some(kind)).collect()
}

#[test]
fn every_sample_reads_without_error() {
    let Some(corpus) = common::regression_corpus() else { return };
    let (files, skipped) = discover(std::slice::from_ref(&corpus));
    let evtx = files.iter().filter(|p| SourceKind::from_path(p) == Some(SourceKind::Evtx)).count();
    let json = files.iter().filter(|p| SourceKind::from_path(p) == Some(SourceKind::Json)).count();
    assert!(evtx >= 200 && json >= 200, "{evtx} evtx, {json} json");
    assert!(skipped.iter().any(|s| s.path.extension().is_some_and(|e| e == "yml")));
    let mut events = 0;
    for file in &files {
        let read = read(file);
        assert!(!read.is_empty(), "{} has no events", file.display());
        for event in &read {
            assert!(event.event_id().is_some(), "{}: no EventID", file.display());
            assert!(event.timestamp().is_some(), "{}: no timestamp", file.display());
            assert!(event.record_id().is_some(), "{}: no record id", file.display());
            assert!(event.channel().is_some(), "{}: no Channel", file.display());
        }
        events += read.len();
    }
    assert!(events >= 400, "{events} events");
}

/// A value as text, without the differences between the EVTX renderer of the evtx crate
/// 0.15 and the older one that wrote the corpus's `.json` files: GUID braces and case,
/// trailing blanks (which the old one trimmed), and time resolution (100 ns vs 1 µs).
/// Letter case is ignored too, as Sigma matching does: one export differs from its log in
/// the case of a path (`Explorer.EXE` / `Explorer.exe`).
fn normalized(name: &str, value: &Value) -> String {
    if let Value::List(items) = value {
        return items.iter().map(|item| normalized(name, item)).collect::<Vec<_>>().join("\u{1f}");
    }
    let text = value.as_str_lossy();
    let text = text.trim_end();
    if name == "TimeCreated" {
        let ts: jiff::Timestamp = text.parse().unwrap_or_else(|err| panic!("{text}: {err}"));
        return (ts.as_microsecond()).to_string();
    }
    let unbraced = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text);
    if is_guid(unbraced) { unbraced.to_lowercase() } else { text.to_lowercase() }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[test]
fn evtx_and_json_exports_give_the_same_fields() {
    let Some(corpus) = common::regression_corpus() else { return };
    let mut compared = 0;
    for evtx in samples(&corpus, SourceKind::Evtx) {
        let json = evtx.with_extension("json");
        if !json.is_file() {
            continue;
        }
        let (a, b) = (read(&evtx), read(&json));
        assert_eq!(a.len(), b.len(), "{}: event count", evtx.display());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let where_ = format!("{} event {i}", evtx.display());
            let xs: Vec<(&str, String)> = x.fields().map(|(n, v)| (n, normalized(n, v))).collect();
            let ys: Vec<(&str, String)> = y.fields().map(|(n, v)| (n, normalized(n, v))).collect();
            assert_eq!(xs, ys, "{where_}");
            assert_eq!(x.record_id(), y.record_id(), "{where_}");
            let micros = |e: &Event| e.timestamp().map(|t| t.as_microsecond());
            assert_eq!(micros(x), micros(y), "{where_}");
        }
        compared += 1;
    }
    assert!(compared >= 200, "only {compared} pairs");
}
