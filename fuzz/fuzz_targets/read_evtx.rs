//! Any bytes as an EVTX file read from memory (file header, chunk walk or signature recovery, CRC checks,
//! truncation, records, rendering, flattening), checksums verified or not as the first byte says: events or
//! errors, never a panic.
#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sigil_events::{ReadOptions, SourceKind, from_reader};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let opts = ReadOptions::default().with_validate_checksums(first & 1 == 0);
    let Ok(source) = from_reader(Path::new("fuzz.evtx"), SourceKind::Evtx, Cursor::new(rest.to_vec()), &opts) else {
        return;
    };
    for item in source {
        match item {
            Ok(event) => {
                let _ = event.to_json();
            }
            Err(err) => {
                let _ = (err.to_string(), err.records_lost());
            }
        }
    }
});
