//! The fast reader: [`Node`]s built straight from the YAML parser's event stream.
//!
//! serde-saphyr (the reference path, [`super::parse_documents_reference`]) carries each node's position through
//! a `Spanned<T>` that serde sees as a `{value, referenced, defined}` map per node; on the SigmaHQ corpus that
//! was ~40 % of the time to load a rule set. This reader runs the same parser (granit-parser, with the options
//! serde-saphyr gives it) and types the scalars with the same rules, but only for the YAML rule files are
//! written in: no tags, anchors, aliases, merge keys, `%YAML` directives, non-string keys or repeated keys, and
//! comfortably inside every limit. Anything else — and every error — returns `None`, and the caller parses the
//! file again through serde-saphyr, so its messages, positions and limits are the only ones users ever see.
//! The differential tests (`tests/yaml_differential.rs`) check both paths give the same nodes and errors on
//! every SigmaHQ rule, the specification's examples and generated YAML.

use granit_parser::{Event, Parser, ScalarStyle, Span as ParserSpan};
use sigil_diagnostics::{Position, Span};

use super::{Limits, Node, NodeValue};

/// serde-saphyr's `Budget` defaults for what [`Limits`] does not set (nodes, documents, scalar bytes, the
/// parser's lookahead and flow nesting); this reader gives up well before any of them.
const MAX_NODES: usize = 250_000;
const MAX_DOCUMENTS: usize = 1_024;
const MAX_SCALAR_BYTES: usize = 64 * 1024 * 1024;
const SIMPLE_KEY_MAX_LOOKAHEAD: usize = 1024;
const FLOW_NESTING_LIMIT: usize = 255;
/// How far below a limit this reader stops and leaves the file to the reference path (which reports the limit).
const MARGIN: usize = 16;

/// The parser options serde-saphyr 2.1 uses for `Options { budget, strict_indentation: false, .. }`
/// (`Budget::parser_options`), so both paths accept and reject the same text.
fn parser_options(limits: &Limits) -> granit_parser::Options {
    let mut o = granit_parser::Options::default();
    o.simple_key_max_lookahead = SIMPLE_KEY_MAX_LOOKAHEAD;
    o.flow_nesting_limit = FLOW_NESTING_LIMIT;
    o.block_nesting_limit = o.block_nesting_limit.max(limits.max_depth.saturating_add(1));
    o.strict_indentation = false;
    o
}

/// A collection being read.
enum Frame {
    Seq { node: Node, items: Vec<Node> },
    Map { node: Node, entries: Vec<(Node, Node)>, key: Option<Node> },
}

/// Parses every document of `text` as [`super::parse_documents`] does, or `None` when the text holds anything
/// this reader leaves to serde-saphyr (see the module documentation), an error included.
pub(super) fn parse_documents(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    if text.len() >= MAX_SCALAR_BYTES / 2 {
        return None;
    }
    let max_events = limits.max_events.checked_sub(MARGIN)?;
    let max_depth = limits.max_depth.checked_sub(1)?;
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let (mut events, mut nodes, mut documents) = (0usize, 0usize, 0usize);
    for item in Parser::new_from_str_with_options(text, parser_options(limits)) {
        let (event, span) = item.ok()?;
        events += 1;
        if events > max_events {
            return None;
        }
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::DocumentStart(_, version) => {
                documents += 1;
                if version.is_some() || documents > MAX_DOCUMENTS - MARGIN {
                    return None;
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                let expecting_key = matches!(stack.last(), Some(Frame::Map { key: None, .. }));
                if expecting_key && style == ScalarStyle::Plain && value == "<<" {
                    return None;
                }
                let value = scalar(value.into_owned(), style)?;
                empty_node(value, &span)
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= max_depth {
                    return None;
                }
                let node = empty_node(NodeValue::Null, &span);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { node, items: Vec::new() }
                } else {
                    Frame::Map { node, entries: Vec::new(), key: None }
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop()? {
                Frame::Seq { mut node, items } => {
                    node.value = NodeValue::Seq(items);
                    node
                }
                Frame::Map { .. } => return None,
            },
            Event::MappingEnd => match stack.pop()? {
                Frame::Map { mut node, entries, key: None } => {
                    node.value = NodeValue::Map(entries);
                    node
                }
                Frame::Map { .. } | Frame::Seq { .. } => return None,
            },
            // Aliases, and any event the parser may add.
            _ => return None,
        };
        nodes += 1;
        if nodes > MAX_NODES - MARGIN {
            return None;
        }
        match stack.last_mut() {
            None => {
                // serde-saphyr drops empty and null documents.
                if node.value != NodeValue::Null {
                    docs.push(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    // Only string keys, each once: serde-saphyr reports a repeated key (compared by value and
                    // tag) and types other keys through its own key path.
                    let name = node.as_str()?;
                    if entries.iter().any(|(k, _)| k.as_str() == Some(name)) {
                        return None;
                    }
                    *key = Some(node);
                }
            },
        }
    }
    stack.is_empty().then_some(docs)
}

/// A node at the event's place: its first character (1-based line and column, as serde-saphyr's `Location`)
/// and its byte range.
fn empty_node(value: NodeValue, span: &ParserSpan) -> Node {
    let pos = Position::new(
        u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        u32::try_from(span.start.col().saturating_add(1)).unwrap_or(u32::MAX),
    );
    // serde-saphyr keeps byte offsets only when both ends are known and fit 32 bits.
    let bytes = match (span.start.byte_offset(), span.end.byte_offset()) {
        (Some(start), Some(end)) => {
            let len = end.saturating_sub(start);
            (u32::try_from(start).is_ok() && u32::try_from(len).is_ok())
                .then(|| Span::new(start, start.saturating_add(len)))
        }
        _ => None,
    };
    Node { value, pos, span: bytes.unwrap_or_default() }
}

/// The value of an untagged scalar as serde-saphyr's `deserialize_any` types it with `strict_booleans` (the
/// YAML 1.2 core schema) and its other defaults; `None` for a non-finite float, which it rejects.
fn scalar(value: String, style: ScalarStyle) -> Option<NodeValue> {
    if style != ScalarStyle::Plain {
        return Some(NodeValue::String(value));
    }
    if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL") {
        return Some(NodeValue::Null);
    }
    let t = yaml_trim(&value);
    match t {
        "true" | "True" | "TRUE" => return Some(NodeValue::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeValue::Bool(false)),
        _ => {}
    }
    // Only text that starts like a number can be one: a sign, a digit or a dot (`.5`, `.inf`).
    if !t.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Some(NodeValue::String(value));
    }
    if let Some(rest) = t.strip_prefix('-') {
        if !leading_zero_decimal(t)
            && let Some(v) = signed_integer(rest)
        {
            return Some(NodeValue::Int(v));
        }
    } else if let Some(v) = unsigned_integer(t.strip_prefix('+').unwrap_or(t)) {
        return Some(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int));
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if matches!(unsigned, ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF") {
        return None;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(NodeValue::Float(v)),
        // `inf`, `nan`, `infinity` (Rust spellings, not YAML's) stay strings; `1e999` is an error.
        Ok(_) if !unsigned.starts_with(|c: char| c.is_ascii_digit()) => Some(NodeValue::String(value)),
        Ok(_) => None,
        Err(_) => Some(NodeValue::String(value)),
    }
}

/// serde-saphyr's `yaml_trim`.
fn yaml_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// `0127`, `+0127`, `-0127`: a decimal integer with a redundant leading zero (serde-saphyr's
/// `leading_zero_decimal`).
fn leading_zero_decimal(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The radix and digits of an integer without its sign: `0x`, `0o`, `0b` prefixes, else decimal.
fn radix_and_digits(rest: &str) -> (u32, &str) {
    for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] {
        if let Some(digits) = rest.strip_prefix(prefix) {
            return (radix, digits);
        }
    }
    (10, rest)
}

/// Digits with single underscores between them (none first or last), as a magnitude; `None` if empty, not
/// digits of the radix or over `u128`.
fn magnitude(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut saw = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let prev_ok = i > 0 && bytes[i - 1] != b'_';
            let next_ok = bytes.get(i + 1).is_some_and(|&n| n != b'_');
            if !prev_ok || !next_ok {
                return None;
            }
            continue;
        }
        let d = char::from(b).to_digit(radix)?;
        value = value.checked_mul(u128::from(radix))?.checked_add(u128::from(d))?;
        saw = true;
    }
    saw.then_some(value)
}

/// serde-saphyr's `parse_int_unsigned::<u64>` of the text after an optional `+`.
fn unsigned_integer(rest: &str) -> Option<u64> {
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    u64::try_from(magnitude(digits, radix)?).ok()
}

/// serde-saphyr's `parse_int_signed::<i64>` of the text after a `-`.
fn signed_integer(rest: &str) -> Option<i64> {
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    let m = magnitude(digits, radix)?;
    // The negative of a magnitude over i128's range fails there too; over i64's fails here.
    let v = i128::try_from(m).ok().map(|m| -m).or_else(|| (m == i128::MAX as u128 + 1).then_some(i128::MIN))?;
    i64::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Option<NodeValue> {
        scalar(text.to_string(), ScalarStyle::Plain)
    }

    #[test]
    fn scalars_are_typed_as_the_yaml_1_2_core_schema() {
        assert_eq!(typed(""), Some(NodeValue::Null));
        assert_eq!(typed("~"), Some(NodeValue::Null));
        assert_eq!(typed("NULL"), Some(NodeValue::Null));
        assert_eq!(typed("nULL"), Some(NodeValue::String("nULL".into())));
        assert_eq!(typed("True"), Some(NodeValue::Bool(true)));
        assert_eq!(typed("yes"), Some(NodeValue::String("yes".into())));
        assert_eq!(typed("4688"), Some(NodeValue::Int(4688)));
        assert_eq!(typed("-12"), Some(NodeValue::Int(-12)));
        assert_eq!(typed("+12"), Some(NodeValue::Int(12)));
        assert_eq!(typed("0x1F"), Some(NodeValue::Int(31)));
        assert_eq!(typed("-0b101"), Some(NodeValue::Int(-5)));
        assert_eq!(typed("1_000"), Some(NodeValue::Int(1000)));
        assert_eq!(typed("1__0"), Some(NodeValue::String("1__0".into())));
        // A redundant leading zero is not an integer, but still a float.
        assert_eq!(typed("0127"), Some(NodeValue::Float(127.0)));
        assert_eq!(typed("-0127"), Some(NodeValue::Float(-127.0)));
        assert_eq!(typed("18446744073709551615"), Some(NodeValue::Float(18_446_744_073_709_551_615.0)));
        assert_eq!(typed("-9223372036854775808"), Some(NodeValue::Int(i64::MIN)));
        assert_eq!(typed("-9223372036854775809"), Some(NodeValue::Float(-9_223_372_036_854_775_809.0)));
        assert_eq!(typed("1.5e3"), Some(NodeValue::Float(1500.0)));
        assert_eq!(typed(".5"), Some(NodeValue::Float(0.5)));
        assert_eq!(typed("2024-09-22"), Some(NodeValue::String("2024-09-22".into())));
        assert_eq!(typed("inf"), Some(NodeValue::String("inf".into())));
        assert_eq!(typed("-infinity"), Some(NodeValue::String("-infinity".into())));
        // Non-finite floats are errors on the reference path: left to it.
        assert_eq!(typed(".inf"), None);
        assert_eq!(typed("-.NaN"), None);
        assert_eq!(typed("1e999"), None);
        assert_eq!(scalar("4688".into(), ScalarStyle::SingleQuoted), Some(NodeValue::String("4688".into())));
        assert_eq!(scalar("".into(), ScalarStyle::DoubleQuoted), Some(NodeValue::String(String::new())));
    }

    #[test]
    fn leaves_what_it_does_not_read_to_the_reference_path() {
        let limits = Limits::default();
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "a: 1\n'a': 2\n",
            "1: x\n",
            "? [a]\n: x\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: [unclosed\n",
            "a: .inf\n",
        ] {
            assert_eq!(parse_documents(text, &limits), None, "{text}");
        }
        // serde-saphyr accepts 64 levels; this reader leaves the 64th to it.
        let deep = format!("{}1{}", "[".repeat(64), "]".repeat(64));
        assert!(parse_documents(&deep, &limits).is_none());
        let fine = format!("{}1{}", "[".repeat(63), "]".repeat(63));
        assert!(parse_documents(&fine, &limits).is_some());
    }
}
