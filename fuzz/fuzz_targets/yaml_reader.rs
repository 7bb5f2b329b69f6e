//! The event reader against serde-saphyr on any UTF-8 text: the same nodes or the same error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_rule::yaml::{Limits, parse_documents, parse_documents_reference};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    assert_eq!(parse_documents(text, &limits), parse_documents_reference(text, &limits), "{text:?}");
});
