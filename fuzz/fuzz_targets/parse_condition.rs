//! Any text through the condition parser, and its normalised form back through it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(expr) = sigil_rule::parse_expr(text)
    {
        let normal = expr.to_string();
        let again = sigil_rule::parse_expr(&normal).map(|e| e.to_string());
        assert_eq!(again.as_deref(), Ok(normal.as_str()));
    }
});
