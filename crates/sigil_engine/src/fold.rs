//! Case folding for Sigma's case-insensitive matching.
//!
//! Both sides of a comparison are folded the same way: every character is replaced by its lower-case mapping
//! ([`char::to_lowercase`]), one character at a time. Folding character by character (unlike
//! [`str::to_lowercase`], which maps a final `Σ` differently) makes folding a homomorphism: the fold of a
//! concatenation is the concatenation of the folds. So if a literal occurs in a value, its fold occurs in the
//! value's fold — the property the prefilter relies on. Pure ASCII text (nearly all event data) takes a fast path.

/// Appends the folded form of `s` to `out`.
pub(crate) fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        if let Some(tail) = out.get_mut(start..) {
            tail.make_ascii_lowercase();
        }
    } else {
        for c in s.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
}

/// The folded form of `s`.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_and_unicode() {
        assert_eq!(fold("C:\\Windows\\CMD.EXE"), "c:\\windows\\cmd.exe");
        assert_eq!(fold("ÄÖÜ straße"), "äöü straße");
        assert_eq!(fold("ΣΑΣ"), "σασ");
        assert_eq!(fold(""), "");
    }

    #[test]
    fn folding_is_a_homomorphism() {
        for (a, b) in [("ΟΔΟΣ", " X"), ("İ", "stanbul"), ("K", "elvin")] {
            assert_eq!(fold(&format!("{a}{b}")), format!("{}{}", fold(a), fold(b)));
        }
    }
}
