//! Any bytes through the whole rule parser (size/encoding checks, YAML, model, validation): must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = sigil_rule::parse_bytes(data, &sigil_rule::yaml::Limits::default());
    // Rendering the normalised detection must not panic either.
    for doc in &parsed.documents {
        if let sigil_rule::Document::Rule(r) = doc {
            let _ = sigil_rule::normalize::detection_yaml(&r.detection);
        }
    }
});
