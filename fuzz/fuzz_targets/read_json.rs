//! Any bytes through the `.json` and `.jsonl` readers (block cutting, value scanning, line splitting, parsing),
//! with a unit size the first byte picks so that values straddle units: items or errors, never a panic.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sigil_events::{ReadOptions, SourceKind, from_reader};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let opts = ReadOptions::default()
        .with_batch_bytes(1 + usize::from(first & 0x3f) * 7)
        .with_max_event_bytes(if first & 0x40 != 0 { 64 } else { 1 << 20 });
    for kind in [SourceKind::Json, SourceKind::Jsonl] {
        let Ok(source) = from_reader(Path::new("fuzz.json"), kind, Cursor::new(rest.to_vec()), &opts) else { continue };
        let mut items = 0u64;
        for item in source {
            items += 1;
            if let Ok(event) = item {
                let _ = event.to_json();
            }
        }
        assert!(items <= rest.len() as u64 + 2, "more items than bytes");
    }
});
