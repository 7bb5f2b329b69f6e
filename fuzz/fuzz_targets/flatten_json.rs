//! Any bytes as one JSON event (evtx-style `{"Event": {"System": ...}}` or plain JSON) through the flattening
//! visitors: an event or an error, never a panic or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_events::{Event, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions::default();
    if let Ok(event) = Event::from_json_slice(data, &opts) {
        // What an event prints reads back, through the tree path too.
        let json = event.to_json();
        let _ = Event::from_json_value(&json, &opts);
        let text = json.to_string();
        let _ = Event::from_json_slice(text.as_bytes(), &opts);
    }
});
