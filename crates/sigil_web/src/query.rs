//! Bounded query strings.
//!
//! Every handler reads its parameters through [`Params::parse`], which refuses oversized input before decoding
//! anything: a query string longer than [`MAX_QUERY_BYTES`], more than [`MAX_PARAMS`] pairs, or a value longer
//! than [`MAX_VALUE_CHARS`] characters is a 414/400 answer, not work for the server. Decoding is lenient
//! otherwise (`+` is a space, a stray `%` stays as it is, invalid UTF-8 becomes U+FFFD), so a hand-edited URL
//! never fails for a cosmetic reason.

use std::fmt;

/// Longest accepted query string, in bytes (before decoding).
pub const MAX_QUERY_BYTES: usize = 2048;
/// Most `name=value` pairs accepted.
pub const MAX_PARAMS: usize = 40;
/// Longest accepted value, in characters (after decoding).
pub const MAX_VALUE_CHARS: usize = 512;

/// Why a query string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// The raw query string is longer than [`MAX_QUERY_BYTES`].
    TooLong(usize),
    /// More than [`MAX_PARAMS`] pairs.
    TooManyParams(usize),
    /// A value longer than [`MAX_VALUE_CHARS`].
    ValueTooLong(String),
    /// A parameter that must be a number is not one.
    NotANumber(String),
    /// A parameter has a value outside its choices.
    Invalid(String),
    /// A search with more words than [`MAX_TERMS`].
    TooManyTerms(usize),
}

/// Most words (terms, phrases, filters) in one search query.
pub const MAX_TERMS: usize = 32;

impl QueryError {
    /// The HTTP status this error maps to: 414 for an oversized query string, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            QueryError::TooLong(_) => 414,
            _ => 400,
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::TooLong(n) => write!(f, "query string too long ({n} bytes; at most {MAX_QUERY_BYTES})"),
            QueryError::TooManyParams(n) => write!(f, "too many query parameters ({n}; at most {MAX_PARAMS})"),
            QueryError::ValueTooLong(name) => {
                write!(f, "query parameter '{name}' is too long (at most {MAX_VALUE_CHARS} characters)")
            }
            QueryError::NotANumber(name) => write!(f, "query parameter '{name}' must be a positive number"),
            QueryError::Invalid(name) => write!(f, "query parameter '{name}' has an unknown value"),
            QueryError::TooManyTerms(n) => write!(f, "too many words in the search ({n}; at most {MAX_TERMS})"),
        }
    }
}

impl std::error::Error for QueryError {}

/// Decoded query parameters in their original order. Names may repeat (`tactic=a&tactic=b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses a raw query string (without the `?`).
    ///
    /// # Errors
    /// [`QueryError`] when a bound is exceeded.
    pub fn parse(raw: Option<&str>) -> Result<Params, QueryError> {
        let raw = raw.unwrap_or_default();
        if raw.len() > MAX_QUERY_BYTES {
            return Err(QueryError::TooLong(raw.len()));
        }
        let parts: Vec<&str> = raw.split('&').filter(|p| !p.is_empty()).collect();
        if parts.len() > MAX_PARAMS {
            return Err(QueryError::TooManyParams(parts.len()));
        }
        let mut pairs = Vec::with_capacity(parts.len());
        for part in parts {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = strip_controls(decode(name));
            let value = strip_controls(decode(value));
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(QueryError::ValueTooLong(name));
            }
            pairs.push((name, value));
        }
        Ok(Params { pairs })
    }

    /// Builds parameters from pairs (for tests and the static export).
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Params { pairs: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The first non-blank value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }

    /// The first value of `name` exactly as sent (not trimmed: indicator values may start or end with spaces).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every non-blank value of `name`, trimmed, in order, without duplicates.
    pub fn all(&self, name: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for v in self.pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim()) {
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }

    /// A positive number, or `default` when absent.
    ///
    /// # Errors
    /// [`QueryError::NotANumber`] when present but not a positive integer.
    pub fn number(&self, name: &str, default: usize) -> Result<usize, QueryError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| QueryError::NotANumber(name.into())),
        }
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.pairs.iter().all(|(_, v)| v.trim().is_empty())
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Decodes one `application/x-www-form-urlencoded` component.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Drops control characters (NUL, other C0 and C1 controls, DEL; tab, line feed and carriage return are kept)
/// and Unicode bidirectional formatting characters (U+202E "right-to-left override" and its kin) from decoded
/// query text: pages echo it into `<title>` and the search box, where such characters corrupt or disguise what
/// the page shows. No rule value a search or lookup could need is made of them.
pub fn strip_controls(s: String) -> String {
    let unwanted = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if s.contains(unwanted) { s.chars().filter(|c| !unwanted(*c)).collect() } else { s }
}

/// Percent-encodes a query component (`application/x-www-form-urlencoded`, space as `+`).
pub fn encode_component(s: &str) -> String {
    encode(s, true)
}

/// Percent-encodes one path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    encode(s, false)
}

fn encode(s: &str, plus_for_space: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' if plus_for_space => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// Builds `a=1&b=2` from pairs, skipping blank values.
pub fn build<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if v.trim().is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode_component(k));
        out.push('=');
        out.push_str(&encode_component(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_dropped() {
        let p = Params::parse(Some("q=a%00b%E2%80%AEc%1Bd%7Fe%C2%85f%E2%81%A6g%09h&x%00y=1")).unwrap();
        assert_eq!(p.raw("q"), Some("abcdefg\th"));
        assert_eq!(p.get("xy"), Some("1"));
        assert_eq!(strip_controls("plain text é".to_owned()), "plain text é");
    }

    #[test]
    fn parses_and_decodes() {
        let p = Params::parse(Some("q=mesh+agent&tactic=a&tactic=b&tactic=a&level=&x=%3Cscript%3E&bad=%zz%4")).unwrap();
        assert_eq!(p.get("q"), Some("mesh agent"));
        assert_eq!(p.all("tactic"), ["a", "b"]);
        assert_eq!(p.get("level"), None);
        assert_eq!(p.get("x"), Some("<script>"));
        assert_eq!(p.get("bad"), Some("%zz%4"));
        assert!(Params::parse(None).unwrap().is_empty());
    }

    #[test]
    fn bounds() {
        let long = format!("q={}", "a".repeat(MAX_QUERY_BYTES));
        assert_eq!(Params::parse(Some(&long)).unwrap_err().status(), 414);
        let many = vec!["a=1"; MAX_PARAMS + 1].join("&");
        assert!(matches!(Params::parse(Some(&many)), Err(QueryError::TooManyParams(_))));
        let value = format!("q={}", "%41".repeat(MAX_VALUE_CHARS + 1));
        assert!(value.len() <= MAX_QUERY_BYTES);
        assert_eq!(Params::parse(Some(&value)), Err(QueryError::ValueTooLong("q".into())));
        let p = Params::parse(Some("page=0&n=x&ok=3")).unwrap();
        assert!(p.number("page", 1).is_err());
        assert!(p.number("n", 1).is_err());
        assert_eq!(p.number("ok", 1), Ok(3));
        assert_eq!(p.number("absent", 1), Ok(1));
    }

    #[test]
    fn encodes_round_trip() {
        let s = "C:\\Windows\\x y&z=ü";
        assert_eq!(decode(&encode_component(s)), s);
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(build([("q", "a b"), ("level", ""), ("tactic", "x&y")]), "q=a+b&tactic=x%26y");
    }
}
