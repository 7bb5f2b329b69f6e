//! The lowered form of a detection item: every modifier applied, every value expanded.
//!
//! This is the backend-neutral middle of the compiler. [`lower_item`] turns one `field|mod|mod: values` entry of
//! the rule model into an [`Item`] whose values say exactly what to test — wildcard patterns with the position
//! modifiers already turned into `*`, encodings already applied, `windash`, `base64offset` and placeholders
//! already expanded into alternatives. The hunting engine (`sigil_engine`) builds matchers from it; the query
//! converters (`sigil_convert`) render the same items as SQL, Lucene, SPL or KQL. [`lower_rule`] lowers a whole
//! rule (its searches and its condition, with the meta filters that apply to it): the engine compiles its
//! matchers from that [`RuleIr`] and the converters render it. [`RuleIr::renames`] records which logsource route
//! renames which field when a converter or the engine applies a route's field mapping (pySigma's processing-item
//! tracking).
//!
//! Semantics follow the Sigma 2.1 modifiers appendix; where it is silent, pySigma 1.x (the reference
//! implementation) decides, and the deviations are documented on the item they concern.

#![warn(missing_docs, unreachable_pub)]

use std::collections::BTreeMap;

use base64::Engine as _;
use sigil_rule::{FieldItem, SigmaString, StrPart, ValueKind, modifiers::Modifier};

mod rule;
pub use rule::{Cond, FieldRename, RuleError, RuleIr, Search, filter_applies, lower_rule};

/// A lowered detection item.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The Sigma field; `None` for a keyword search over every value of the event.
    pub field: Option<String>,
    /// Values are AND-ed (`all`) instead of OR-ed.
    pub all: bool,
    /// `neq`: the whole item is negated, as pySigma does (`NOT (f = a OR f = b)`). An absent field therefore
    /// satisfies `neq`.
    pub negated: bool,
    /// One entry per value written in the rule.
    pub values: Vec<ValueSpec>,
}

/// What one rule value tests.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSpec {
    /// `null`: the field is absent or null (or an empty list).
    Null,
    /// `exists: true|false`: the field is present (whatever its value, even null) or not.
    Exists(bool),
    /// A boolean: the field holds that boolean, or the string `true`/`false` in any case.
    Bool(bool),
    /// A number without modifiers: equal as numbers. Field values that are numeric strings (`"4688"`) or Windows
    /// hex strings (`"0x1a2c"`) compare by value.
    Number(f64),
    /// Wildcard patterns, any of which may match (one rule value can expand into several through `windash`,
    /// `base64offset` or placeholders). Case-insensitive unless `cased`.
    Patterns {
        /// The patterns, at least one.
        alternatives: Vec<Pattern>,
        /// Compare case-sensitively (`cased` modifier).
        cased: bool,
    },
    /// `re`: an unanchored regular expression search over the value as written (case-sensitive unless `i`).
    Regex {
        /// The regular expression as written in the rule, without flags.
        pattern: String,
        /// `re|i`: case-insensitive.
        ignore_case: bool,
        /// `re|m`: `^` and `$` match at line boundaries.
        multi_line: bool,
        /// `re|s`: `.` matches newlines too.
        dot_all: bool,
    },
    /// `cidr`: the value is an IP address inside the network.
    Cidr(ipnet::IpNet),
    /// `lt`/`lte`/`gt`/`gte`, or a time part compared with `=` or one of those.
    Compare {
        /// The part of a timestamp field value compared; `None` compares the value as a number.
        part: Option<TimePart>,
        /// How the field's value (left) compares with `value` (right).
        op: CmpOp,
        /// The rule's value.
        value: f64,
    },
    /// `fieldref`: compared with the value of another field of the same event.
    FieldRef {
        /// The other field's name.
        field: String,
        /// Where the other field's value must sit in this field's value.
        position: Position,
        /// Compare case-sensitively (`cased` modifier).
        cased: bool,
    },
}

/// A comparison operator of numeric modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=` (a time part given without a comparison modifier).
    Eq,
    /// `lt`: `<`.
    Lt,
    /// `lte`: `<=`.
    Lte,
    /// `gt`: `>`.
    Gt,
    /// `gte`: `>=`.
    Gte,
}

impl CmpOp {
    /// Whether `left op right` holds (false whenever either side is NaN).
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Lt => left < right,
            CmpOp::Lte => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Gte => left >= right,
        }
    }
}

/// A part of a timestamp (Sigma 2.1 time modifiers), taken as written in the value: no time zone conversion
/// (the specification's warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// Minute of the hour (0–59).
    Minute,
    /// Hour of the day (0–23).
    Hour,
    /// Day of the month (1–31).
    Day,
    /// ISO 8601 week of the year (1–53).
    Week,
    /// Month of the year (1–12).
    Month,
    /// The year (`2024`).
    Year,
}

/// Where a referenced field's value must sit in the field's value (`fieldref` with position modifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// The whole value (no position modifier).
    Exact,
    /// At the start (`startswith`).
    Prefix,
    /// At the end (`endswith`).
    Suffix,
    /// Anywhere (`contains`).
    Contains,
}

/// A wildcard pattern: literal text, `*` (any run, possibly empty) and `?` (exactly one character).
///
/// Invariant: adjacent literals are merged, empty literals are dropped and `*` never repeats.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pattern {
    /// The parts in order; a value matches when it is their concatenation.
    pub parts: Vec<Part>,
}

/// One part of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Text matched as is (subject to the item's case sensitivity); never empty in a [`Pattern`].
    Literal(String),
    /// `*`: any run of characters, possibly empty.
    AnyRun,
    /// `?`: exactly one character.
    AnyChar,
}

impl Pattern {
    /// Builds a pattern, restoring the invariant.
    pub fn new(parts: impl IntoIterator<Item = Part>) -> Self {
        let mut out: Vec<Part> = Vec::new();
        for p in parts {
            match (out.last_mut(), p) {
                (_, Part::Literal(s)) if s.is_empty() => {}
                (Some(Part::Literal(prev)), Part::Literal(s)) => prev.push_str(&s),
                (Some(Part::AnyRun), Part::AnyRun) => {}
                (_, p) => out.push(p),
            }
        }
        Pattern { parts: out }
    }

    /// A pattern matching exactly `text` (no wildcards; `*` and `?` in `text` are literal).
    pub fn literal(text: &str) -> Self {
        Pattern::new([Part::Literal(text.to_string())])
    }

    fn with_position(mut self, start: bool, end: bool) -> Self {
        if start && self.parts.first() != Some(&Part::AnyRun) {
            self.parts.insert(0, Part::AnyRun);
        }
        if end && self.parts.last() != Some(&Part::AnyRun) {
            self.parts.push(Part::AnyRun);
        }
        self
    }

    /// The literal text when the pattern has no wildcards.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The pattern written back in Sigma syntax (escaping `*`, `?` and `\` in literals).
    pub fn to_sigma(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Literal(s) => out.push_str(&sigil_rule::escape(s)),
                Part::AnyRun => out.push('*'),
                Part::AnyChar => out.push('?'),
            }
        }
        out
    }
}

/// Values of `%name%` placeholders (`expand` modifier), by name without the percent signs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placeholders {
    values: BTreeMap<String, Vec<String>>,
}

impl Placeholders {
    /// No placeholder has a value.
    pub fn new() -> Self {
        Placeholders::default()
    }

    /// Sets the values of a placeholder. Each value is read as a Sigma string (`*` and `?` are wildcards).
    pub fn insert(&mut self, name: impl Into<String>, values: Vec<String>) {
        self.values.insert(name.into(), values);
    }

    /// The values of a placeholder (name without percent signs); `None` when it has none.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.values.get(name).map(Vec::as_slice)
    }

    /// Whether no placeholder has values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Number of placeholders with values.
    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// Why an item could not be lowered. The rule is skipped and reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LowerError {
    /// An `expand` placeholder (named) has no values.
    #[error("placeholder %{0}% has no value (give it one in the --placeholders file)")]
    UnresolvedPlaceholder(String),
    /// A value cannot be read as its modifier chain requires (not a number, an invalid network or regex, ...).
    #[error("value '{value}' does not fit modifier chain '{chain}': {why}")]
    BadValue {
        /// The value as written.
        value: String,
        /// The modifiers, `|`-joined.
        chain: String,
        /// What is wrong with the value.
        why: String,
    },
    /// A value (given) expands into more than [`MAX_ALTERNATIVES`] patterns.
    #[error("'{0}' expands into more than {MAX_ALTERNATIVES} alternatives")]
    TooManyAlternatives(String),
}

/// More alternatives than this for one value is refused rather than risking memory (windash over many dashes,
/// large placeholder products).
pub const MAX_ALTERNATIVES: usize = 4096;

/// A string value in the middle of transformation: parts whose literals are bytes (encodings can make them
/// non-UTF-8 until base64 turns them back into text).
#[derive(Debug, Clone)]
enum BPart {
    Lit(Vec<u8>),
    AnyRun,
    AnyChar,
}

type BString = Vec<BPart>;

/// Lowers one detection item of a rule.
///
/// # Errors
/// A [`LowerError`] when a placeholder has no value or a value does not fit its modifiers (the parser reports
/// the latter as errors already, so rules that pass `sigil check` never hit it).
pub fn lower_item(item: &FieldItem, placeholders: &Placeholders) -> Result<Item, LowerError> {
    let mods = &item.modifiers;
    let has = |m: Modifier| mods.contains(&m);
    let chain = || item.key();
    let bad =
        |value: &str, why: &str| LowerError::BadValue { value: value.to_string(), chain: chain(), why: why.into() };
    let mut values = Vec::with_capacity(item.values.len());
    let compare_op = mods.iter().find_map(|m| match m {
        Modifier::Lt => Some(CmpOp::Lt),
        Modifier::Lte => Some(CmpOp::Lte),
        Modifier::Gt => Some(CmpOp::Gt),
        Modifier::Gte => Some(CmpOp::Gte),
        _ => None,
    });
    let time_part = mods.iter().find_map(|m| match m {
        Modifier::Minute => Some(TimePart::Minute),
        Modifier::Hour => Some(TimePart::Hour),
        Modifier::Day => Some(TimePart::Day),
        Modifier::Week => Some(TimePart::Week),
        Modifier::Month => Some(TimePart::Month),
        Modifier::Year => Some(TimePart::Year),
        _ => None,
    });
    let position = if has(Modifier::Contains) {
        Position::Contains
    } else if has(Modifier::StartsWith) {
        Position::Prefix
    } else if has(Modifier::EndsWith) {
        Position::Suffix
    } else if item.field.is_none() {
        // Keywords are searched anywhere in a value (specification: "matched anywhere in the event").
        Position::Contains
    } else {
        Position::Exact
    };
    let cased = has(Modifier::Cased);
    for v in &item.values {
        let text = v.kind.text();
        let spec = if has(Modifier::Exists) {
            match v.kind {
                ValueKind::Bool(b) => ValueSpec::Exists(b),
                _ => return Err(bad(&text, "exists takes true or false")),
            }
        } else if compare_op.is_some() || time_part.is_some() {
            let Some(n) = v.kind.as_number() else { return Err(bad(&text, "a number is expected")) };
            ValueSpec::Compare { part: time_part, op: compare_op.unwrap_or(CmpOp::Eq), value: n }
        } else if has(Modifier::Re) {
            let ValueKind::String(s) = &v.kind else { return Err(bad(&text, "a regular expression is expected")) };
            // The search is unanchored, so pySigma's `.*` for position modifiers would change nothing.
            ValueSpec::Regex {
                pattern: s.raw.clone(),
                ignore_case: has(Modifier::ReIgnoreCase),
                multi_line: has(Modifier::ReMultiline),
                dot_all: has(Modifier::ReDotAll),
            }
        } else if has(Modifier::Cidr) {
            let ValueKind::String(s) = &v.kind else { return Err(bad(&text, "a network is expected")) };
            match sigil_rule::parse_network(s.raw.trim()) {
                Some(net) => ValueSpec::Cidr(net),
                None => return Err(bad(&text, "not an IPv4 or IPv6 network")),
            }
        } else if has(Modifier::FieldRef) {
            let ValueKind::String(s) = &v.kind else { return Err(bad(&text, "a field name is expected")) };
            let Some(field) = s.as_literal() else {
                return Err(bad(&text, "a field name without wildcards is expected"));
            };
            ValueSpec::FieldRef { field, position, cased }
        } else {
            match &v.kind {
                ValueKind::Null => ValueSpec::Null,
                ValueKind::Bool(b) if !any_string_modifier(mods) => ValueSpec::Bool(*b),
                ValueKind::Int(_) | ValueKind::Float(_) if !any_string_modifier(mods) && item.field.is_some() => {
                    ValueSpec::Number(v.kind.as_number().unwrap_or(f64::NAN))
                }
                ValueKind::String(s) => ValueSpec::Patterns {
                    alternatives: string_alternatives(s, mods, position, placeholders, &chain)?,
                    cased,
                },
                // Numbers and booleans under string modifiers (or as keywords) are matched as their text.
                other => {
                    let s = SigmaString::literal(&other.text());
                    ValueSpec::Patterns {
                        alternatives: string_alternatives(&s, mods, position, placeholders, &chain)?,
                        cased,
                    }
                }
            }
        };
        values.push(spec);
    }
    Ok(Item { field: item.field.clone(), all: has(Modifier::All), negated: has(Modifier::Neq), values })
}

fn any_string_modifier(mods: &[Modifier]) -> bool {
    mods.iter().any(|m| m.is_string_modifier() && *m != Modifier::Cased)
}

/// Applies the string transformations of the chain (left to right) and the position modifiers to one value.
fn string_alternatives(
    s: &SigmaString,
    mods: &[Modifier],
    position: Position,
    placeholders: &Placeholders,
    chain: &dyn Fn() -> String,
) -> Result<Vec<Pattern>, LowerError> {
    // Placeholders first: pySigma resolves them in the processing pipeline, before any encoding could see them.
    let mut current: Vec<BString> = expand_placeholders(s, placeholders, chain)?;
    for m in mods {
        current = match m {
            Modifier::Windash => flat_map_checked(current, windash, chain)?,
            Modifier::Base64 => current.into_iter().map(|v| base64_plain(&v)).collect(),
            Modifier::Base64Offset => flat_map_checked(current, base64_offsets, chain)?,
            Modifier::Utf16le | Modifier::Wide => current.into_iter().map(|v| utf16(&v, Utf16::Le)).collect(),
            Modifier::Utf16be => current.into_iter().map(|v| utf16(&v, Utf16::Be)).collect(),
            Modifier::Utf16 => current.into_iter().map(|v| utf16(&v, Utf16::Bom)).collect(),
            _ => current,
        };
    }
    let (start, end) = match position {
        Position::Exact => (false, false),
        Position::Prefix => (false, true),
        Position::Suffix => (true, false),
        Position::Contains => (true, true),
    };
    let mut out: Vec<Pattern> = Vec::with_capacity(current.len());
    let mut seen = rustc_hash::FxHashSet::default();
    for v in current {
        let p = to_pattern(v).with_position(start, end);
        if current_len_small(&out) {
            if !out.contains(&p) {
                out.push(p);
            }
        } else if seen.is_empty() {
            seen.extend(out.iter().cloned());
            if seen.insert(p.clone()) {
                out.push(p);
            }
        } else if seen.insert(p.clone()) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Below this many patterns a linear duplicate check is cheaper than hashing.
fn current_len_small(out: &[Pattern]) -> bool {
    out.len() < 16
}

fn flat_map_checked(
    values: Vec<BString>,
    f: fn(&BString) -> Vec<BString>,
    chain: &dyn Fn() -> String,
) -> Result<Vec<BString>, LowerError> {
    let mut out = Vec::new();
    for v in &values {
        out.extend(f(v));
        if out.len() > MAX_ALTERNATIVES {
            return Err(LowerError::TooManyAlternatives(chain()));
        }
    }
    Ok(out)
}

fn from_sigma(s: &SigmaString) -> BString {
    s.parts
        .iter()
        .map(|p| match p {
            StrPart::Literal(l) => BPart::Lit(l.as_bytes().to_vec()),
            StrPart::AnyRun => BPart::AnyRun,
            StrPart::AnyChar => BPart::AnyChar,
            StrPart::Placeholder(n) => BPart::Lit(format!("%{n}%").into_bytes()),
        })
        .collect()
}

fn expand_placeholders(
    s: &SigmaString,
    placeholders: &Placeholders,
    chain: &dyn Fn() -> String,
) -> Result<Vec<BString>, LowerError> {
    let mut acc: Vec<BString> = vec![Vec::new()];
    for p in &s.parts {
        match p {
            StrPart::Placeholder(name) => {
                let Some(vals) = placeholders.get(name) else {
                    return Err(LowerError::UnresolvedPlaceholder(name.clone()));
                };
                if acc.len().saturating_mul(vals.len()) > MAX_ALTERNATIVES {
                    return Err(LowerError::TooManyAlternatives(chain()));
                }
                let mut next = Vec::with_capacity(acc.len() * vals.len());
                for prefix in &acc {
                    for v in vals {
                        let mut x = prefix.clone();
                        x.extend(from_sigma(&SigmaString::parse(v, false)));
                        next.push(x);
                    }
                }
                acc = next;
            }
            other => {
                let part = match other {
                    StrPart::Literal(l) => BPart::Lit(l.as_bytes().to_vec()),
                    StrPart::AnyChar => BPart::AnyChar,
                    _ => BPart::AnyRun,
                };
                for x in &mut acc {
                    x.push(part.clone());
                }
            }
        }
    }
    Ok(acc)
}

/// Literal bytes as text: UTF-8 when valid, else one character per byte (Latin-1), which is how a UTF-16 value
/// that is not ASCII would appear when a log renders raw bytes.
fn bytes_to_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

fn to_pattern(v: BString) -> Pattern {
    Pattern::new(v.into_iter().map(|p| match p {
        BPart::Lit(b) => Part::Literal(bytes_to_text(&b)),
        BPart::AnyRun => Part::AnyRun,
        BPart::AnyChar => Part::AnyChar,
    }))
}

/// The value as one byte string; only called on values without wildcards (the parser rejects wildcards under
/// base64 modifiers), so wildcards, if any slipped through, are kept as their characters.
fn flat_bytes(v: &BString) -> Vec<u8> {
    let mut out = Vec::new();
    for p in v {
        match p {
            BPart::Lit(b) => out.extend_from_slice(b),
            BPart::AnyRun => out.push(b'*'),
            BPart::AnyChar => out.push(b'?'),
        }
    }
    out
}

fn base64_plain(v: &BString) -> BString {
    vec![BPart::Lit(base64::engine::general_purpose::STANDARD.encode(flat_bytes(v)).into_bytes())]
}

/// The three forms a value takes inside a larger Base64 text, depending on its offset modulo 3 (pySigma:
/// encode `" " * i + value` and cut away the characters that depend on the neighbours).
///
/// For values of one or two bytes some offsets leave no stable character at all; such an empty form would match
/// everything under `contains`, so it is dropped (a deliberate deviation from pySigma, which keeps it). The value
/// is still found at the offsets that do leave characters.
fn base64_offsets(v: &BString) -> Vec<BString> {
    let bytes = flat_bytes(v);
    let mut out: Vec<BString> = Vec::with_capacity(3);
    for i in 0..3usize {
        let mut input = vec![b' '; i];
        input.extend_from_slice(&bytes);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&input);
        let start = [0usize, 2, 3][i];
        let cut_end = [0usize, 3, 2][(bytes.len() + i) % 3];
        let end = encoded.len().saturating_sub(cut_end);
        let form = encoded.get(start..end.max(start)).unwrap_or("");
        if !form.is_empty() || bytes.is_empty() {
            let lit = vec![BPart::Lit(form.as_bytes().to_vec())];
            if !out.iter().any(|o| flat_bytes(o) == form.as_bytes()) {
                out.push(lit);
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Utf16 {
    Le,
    Be,
    /// Byte order mark FF FE, then little endian (the specification's `utf16`).
    Bom,
}

fn utf16(v: &BString, kind: Utf16) -> BString {
    let mut first = true;
    v.iter()
        .map(|p| match p {
            BPart::Lit(b) => {
                let text = String::from_utf8_lossy(b);
                let mut out = Vec::with_capacity(b.len() * 2 + 2);
                if matches!(kind, Utf16::Bom) && first {
                    out.extend_from_slice(&[0xFF, 0xFE]);
                }
                first = false;
                for unit in text.encode_utf16() {
                    let bytes = match kind {
                        Utf16::Be => unit.to_be_bytes(),
                        Utf16::Le | Utf16::Bom => unit.to_le_bytes(),
                    };
                    out.extend_from_slice(&bytes);
                }
                BPart::Lit(out)
            }
            other => {
                first = false;
                other.clone()
            }
        })
        .collect()
}

/// The dashes `windash` puts in place of a command-line flag's leading `-` or `/`: hyphen-minus, slash, en dash,
/// em dash, horizontal bar (specification v2.1).
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// `windash`: every `-` or `/` that starts a word (pySigma's regex `\B[-/]\b`: not preceded by a word character,
/// followed by one) becomes each of [`WINDASH_CHARS`]; several such positions give their cartesian product. A
/// dash inside a word (`-param-1`'s second dash) is left alone. Word characters are Unicode alphanumerics and `_`
/// (Python's `\w`), and a literal's edges count as non-word (a wildcard sits there).
fn windash(v: &BString) -> Vec<BString> {
    let mut acc: Vec<BString> = vec![Vec::new()];
    for p in v {
        match p {
            BPart::Lit(b) => {
                let text = String::from_utf8_lossy(b).into_owned();
                let chars: Vec<char> = text.chars().collect();
                let mut pieces: Vec<Vec<String>> = Vec::new();
                let mut cur = String::new();
                for (i, &c) in chars.iter().enumerate() {
                    let prev_word = i.checked_sub(1).and_then(|j| chars.get(j)).is_some_and(|&p| is_word(p));
                    let next_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
                    if (c == '-' || c == '/') && !prev_word && next_word {
                        pieces.push(vec![std::mem::take(&mut cur)]);
                        pieces.push(WINDASH_CHARS.iter().map(|d| d.to_string()).collect());
                    } else {
                        cur.push(c);
                    }
                }
                pieces.push(vec![cur]);
                for choices in pieces {
                    if choices.len() == 1 {
                        for x in &mut acc {
                            if let Some(c) = choices.first() {
                                push_lit(x, c.as_bytes());
                            }
                        }
                    } else {
                        let mut next = Vec::with_capacity(acc.len() * choices.len());
                        for x in &acc {
                            for c in &choices {
                                let mut y = x.clone();
                                push_lit(&mut y, c.as_bytes());
                                next.push(y);
                            }
                        }
                        acc = next;
                        if acc.len() > MAX_ALTERNATIVES {
                            return acc;
                        }
                    }
                }
            }
            other => {
                for x in &mut acc {
                    x.push(other.clone());
                }
            }
        }
    }
    acc
}

fn push_lit(x: &mut BString, b: &[u8]) {
    if let Some(BPart::Lit(prev)) = x.last_mut() {
        prev.extend_from_slice(b);
    } else {
        x.push(BPart::Lit(b.to_vec()));
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(yaml_key: &str, values: &[&str]) -> Item {
        let text = format!(
            "title: t\nlogsource: {{product: windows}}\ndetection:\n  sel:\n    '{yaml_key}':\n{}\n  condition: sel\n",
            values.iter().map(|v| format!("      - {v}")).collect::<Vec<_>>().join("\n")
        );
        let parsed = sigil_rule::parse_str(&text);
        let Some(sigil_rule::Document::Rule(r)) = parsed.documents.first() else { panic!("{:?}", parsed.diagnostics) };
        let fi = r.detection.searches[0].body.items().next().unwrap().clone();
        let mut ph = Placeholders::new();
        ph.insert("Admins", vec!["root".into(), "adm*".into()]);
        lower_item(&fi, &ph).unwrap()
    }

    fn sigma(spec: &ValueSpec) -> Vec<String> {
        match spec {
            ValueSpec::Patterns { alternatives, .. } => alternatives.iter().map(Pattern::to_sigma).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn position_modifiers_add_wildcards_once() {
        assert_eq!(sigma(&item("F|contains", &["'a'"]).values[0]), ["*a*"]);
        assert_eq!(sigma(&item("F|contains", &["'*a*'"]).values[0]), ["*a*"]);
        assert_eq!(sigma(&item("F|startswith", &["'a*'"]).values[0]), ["a*"]);
        assert_eq!(sigma(&item("F|endswith", &["'a'"]).values[0]), ["*a"]);
        assert_eq!(sigma(&item("F|contains", &["''"]).values[0]), ["*"]);
        assert_eq!(sigma(&item("F", &["'a\\*b'"]).values[0]), ["a\\*b"]);
    }

    #[test]
    fn base64_and_offsets_match_pysigma() {
        assert_eq!(sigma(&item("F|base64", &["'foobar'"]).values[0]), ["Zm9vYmFy"]);
        assert_eq!(
            sigma(&item("F|base64offset|contains", &["'foobar'"]).values[0]),
            ["*Zm9vYmFy*", "*Zvb2Jhc*", "*mb29iYX*"]
        );
        // One byte: offset 1 leaves nothing stable; the empty form is dropped instead of matching everything.
        assert_eq!(sigma(&item("F|base64offset|contains", &["'a'"]).values[0]), ["*Y*", "*h*"]);
        assert_eq!(sigma(&item("F|base64offset|contains", &["'ab'"]).values[0]), ["*YW*", "*Fi*", "*hY*"]);
    }

    #[test]
    fn utf16_variants() {
        let le = sigma(&item("F|utf16le|base64", &["'cmd'"]).values[0]);
        assert_eq!(le, [base64::engine::general_purpose::STANDARD.encode(b"c\0m\0d\0")]);
        let be = sigma(&item("F|utf16be|base64", &["'cmd'"]).values[0]);
        assert_eq!(be, [base64::engine::general_purpose::STANDARD.encode(b"\0c\0m\0d")]);
        let bom = sigma(&item("F|utf16|base64", &["'cmd'"]).values[0]);
        assert_eq!(bom, [base64::engine::general_purpose::STANDARD.encode(b"\xff\xfec\0m\0d\0")]);
        let wide = sigma(&item("F|wide|base64offset|contains", &["'ping'"]).values[0]);
        assert_eq!(wide.len(), 3);
        assert_eq!(wide[0], "*cABpAG4AZw*");
        let raw = sigma(&item("F|wide", &["'ab'"]).values[0]);
        assert_eq!(raw, ["a\0b\0"]);
    }

    #[test]
    fn windash_varies_word_start_dashes_only() {
        let v = sigma(&item("F|windash", &["'-param-1'"]).values[0]);
        assert_eq!(v, ["-param-1", "/param-1", "\u{2013}param-1", "\u{2014}param-1", "\u{2015}param-1"]);
        let v = sigma(&item("F|windash|contains", &["' -a /b'"]).values[0]);
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"* /a \u{2015}b*".to_string()));
        // A dash not followed by a word character stays.
        assert_eq!(sigma(&item("F|windash", &["'a - b'"]).values[0]), ["a - b"]);
    }

    #[test]
    fn placeholders_expand_or_fail() {
        let v = sigma(&item("F|expand", &["'%Admins%'"]).values[0]);
        assert_eq!(v, ["root", "adm*"]);
        let text =
            "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n    F|expand: '%Nope%'\n  condition: sel\n";
        let parsed = sigil_rule::parse_str(text);
        let Some(sigil_rule::Document::Rule(r)) = parsed.documents.first() else { panic!() };
        let fi = r.detection.searches[0].body.items().next().unwrap();
        assert_eq!(lower_item(fi, &Placeholders::new()), Err(LowerError::UnresolvedPlaceholder("Nope".into())));
    }

    #[test]
    fn typed_values() {
        assert_eq!(item("F", &["4688"]).values[0], ValueSpec::Number(4688.0));
        assert_eq!(item("F", &["true"]).values[0], ValueSpec::Bool(true));
        assert_eq!(sigma(&item("F|contains", &["4688"]).values[0]), ["*4688*"]);
        assert_eq!(item("F|gte", &["5"]).values[0], ValueSpec::Compare { part: None, op: CmpOp::Gte, value: 5.0 });
        assert_eq!(
            item("F|hour|lt", &["6"]).values[0],
            ValueSpec::Compare { part: Some(TimePart::Hour), op: CmpOp::Lt, value: 6.0 }
        );
        assert_eq!(item("F|exists", &["false"]).values[0], ValueSpec::Exists(false));
        let neq = item("F|neq", &["'a'", "'b'"]);
        assert!(neq.negated && !neq.all && neq.values.len() == 2);
        assert!(matches!(item("F|cidr", &["'fe80::/10'"]).values[0], ValueSpec::Cidr(_)));
        assert!(matches!(
            item("F|fieldref|endswith", &["'G'"]).values[0],
            ValueSpec::FieldRef { position: Position::Suffix, .. }
        ));
    }
}
