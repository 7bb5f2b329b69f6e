//! The readers of non-Windows logs on the real samples in `../shared/corpus/logs` (see its
//! SOURCES.md) and on broken input.

use std::path::{Path, PathBuf};

#[allow(unused_imports)]
use sigil_events::SourceKind;
use sigil_events::{Event, InputKind, ReadError, ReadOptions, Value, open};

fn logs() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/logs");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SIGIL_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("SIGIL_REQUIRE_CORPUS=1 but the sample logs are missing at {}", dir.display());
    }
    eprintln!("skipped: no sample logs at {} (set SIGIL_REQUIRE_CORPUS=1 to fail instead)", dir.display());
    None
}

fn read(path: &Path) -> (Vec<Event>, Vec<ReadError>) {
    read_with(path, &ReadOptions::default())
}

fn read_with(path: &Path, opts: &ReadOptions) -> (Vec<Event>, Vec<ReadError>) {
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for item in open(path, opts).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        match item {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    (events, errors)
}

#[test]
fn dump() {
    let Some(dir) = logs() else { return };
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file()
            || entry.path().extension().is_some_and(|e| e == "md")
            || entry.path().to_string_lossy().contains("LICENSES")
        {
            continue;
        }
        let Ok(src) = open(entry.path(), &ReadOptions::default()) else {
            println!("{} UNRECOGNISED", entry.path().display());
            continue;
        };
        let (events, errors): (Vec<_>, Vec<_>) = src.partition(|r| r.is_ok());
        let events: Vec<Event> = events.into_iter().map(|r| r.unwrap()).collect();
        let errors: Vec<ReadError> = errors.into_iter().map(|r| r.unwrap_err()).collect();
        let kinds: std::collections::BTreeSet<_> = events.iter().map(|e| e.kind().map_or("-", |k| k.name)).collect();
        let no_ts = events.iter().filter(|e| e.timestamp().is_none()).count();
        println!(
            "{} events={} errors={} kinds={:?} no_ts={no_ts}",
            entry.path().strip_prefix(&dir).unwrap().display(),
            events.len(),
            errors.len(),
            kinds
        );
        for e in errors.iter().take(3) {
            println!("   ! {e}");
        }
    }
}
