//! A YAML document tree with source positions.
//!
//! Two readers build it: [`events`] straight from the parser's event stream for the YAML rule files are written
//! in, and serde-saphyr ([`parse_documents_reference`]) for everything else and for every error, so both give
//! the same nodes, messages and positions.
//!
//! Sigma needs more than plain deserialisation: every diagnostic points at a line and column, mapping order
//! matters (search identifiers are stages in file order), duplicate keys are errors (as in pySigma), and quoted
//! scalars must stay strings (`'4688'` is a string, `4688` a number). [`Node`] keeps all of that.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};
use sigil_diagnostics::{Position, Span};

mod events;

/// One YAML node and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's value.
    pub value: NodeValue,
    /// Where the node starts (for a scalar, its first character, quote included).
    pub pos: Position,
    /// Byte range of the node in the file text (for a scalar: as written, quotes included).
    pub span: Span,
}

/// The YAML value of a node. Maps keep their keys in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string; a quoted scalar is always one (`'4688'`).
    String(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping as (key, value) pairs in file order (duplicate keys are rejected when parsing).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The string of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The pairs of a map node.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a sequence node.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// The scalar rendered as text (numbers and booleans as YAML writes them); None for collections.
    pub fn scalar_text(&self) -> Option<String> {
        Some(match &self.value {
            NodeValue::Null => "null".to_string(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::String(s) => s.clone(),
            NodeValue::Seq(_) | NodeValue::Map(_) => return None,
        })
    }

    /// A short name of the node's type for messages ("a string", "a list", ...).
    pub fn kind(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) | NodeValue::Float(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a map",
        }
    }

    /// Converts to JSON (for custom fields kept verbatim and for output).
    pub fn to_json(&self) -> serde_json_lite::Json {
        serde_json_lite::from_node(self)
    }
}

/// A minimal JSON-like value so this crate needs no JSON dependency for custom attributes.
pub mod serde_json_lite {
    use super::{Node, NodeValue};

    /// Custom attribute values kept as written.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Json {
        /// A null.
        Null,
        /// A boolean.
        Bool(bool),
        /// An integer.
        Int(i64),
        /// A non-integer number.
        Float(f64),
        /// A string.
        String(String),
        /// A sequence.
        Array(Vec<Json>),
        /// A mapping, keys in file order (scalar keys as text; other keys empty).
        Object(Vec<(String, Json)>),
    }

    pub(crate) fn from_node(n: &Node) -> Json {
        match &n.value {
            NodeValue::Null => Json::Null,
            NodeValue::Bool(b) => Json::Bool(*b),
            NodeValue::Int(i) => Json::Int(*i),
            NodeValue::Float(f) => Json::Float(*f),
            NodeValue::String(s) => Json::String(s.clone()),
            NodeValue::Seq(items) => Json::Array(items.iter().map(from_node).collect()),
            NodeValue::Map(entries) => {
                Json::Object(entries.iter().map(|(k, v)| (k.scalar_text().unwrap_or_default(), from_node(v))).collect())
            }
        }
    }
}

fn position(loc: &serde_saphyr::Location) -> Position {
    let line = u32::try_from(loc.line()).unwrap_or(u32::MAX);
    let column = u32::try_from(loc.column()).unwrap_or(u32::MAX);
    Position::new(line, column)
}

/// Deserialised form: a `Spanned<RawNode>` gives the position, the RawNode the value.
struct RawNode(NodeValue);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor).map(RawNode)
    }
}

struct SpannedNode(Node);

impl<'de> Deserialize<'de> for SpannedNode {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<RawNode>::deserialize(d)?;
        let sp = s.referenced.span();
        let span = match (sp.byte_offset(), sp.byte_len()) {
            (Some(start), Some(len)) => {
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                Span::new(start, start.saturating_add(usize::try_from(len).unwrap_or(0)))
            }
            _ => Span::default(),
        };
        Ok(SpannedNode(Node { value: s.value.0, pos: position(&s.referenced), span }))
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        d.deserialize_any(RawVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<NodeValue, E> {
        Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(SpannedNode(n)) = seq.next_element()? {
            items.push(n);
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(SpannedNode(k)) = map.next_key()? {
            let SpannedNode(v) = map.next_value()?;
            entries.push((k, v));
        }
        Ok(NodeValue::Map(entries))
    }
}

/// Limits that keep hostile YAML (alias bombs, deep nesting, huge documents) cheap to reject.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Deepest accepted nesting of collections.
    pub max_depth: usize,
    /// Most parser events (nodes) accepted in one file.
    pub max_events: usize,
    /// Most alias expansions accepted in one file.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // SigmaHQ's largest rule is ~60 KiB with a few thousand nodes; these leave ample room.
        Limits { max_file_bytes: 4 << 20, max_depth: 64, max_events: 1_000_000, max_aliases: 10_000 }
    }
}

/// Why a file's YAML could not be read. The position points at the problem when known.
#[derive(Debug, Clone, PartialEq)]
pub struct YamlError {
    /// What is wrong, as the YAML parser says it.
    pub message: String,
    /// Where; [`Position::UNKNOWN`] when the parser gave no location.
    pub pos: Position,
}

fn options(limits: &Limits) -> Options {
    let mut budget = Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_events = limits.max_events;
    budget.max_aliases = limits.max_aliases;
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = limits.max_events;
    let mut o = Options::default();
    o.budget = Some(budget);
    o.duplicate_keys = DuplicateKeyPolicy::Error;
    // The Sigma specification says rules are YAML 1.2 (sigma-rules-specification.md, "Yaml File"), whose core
    // schema has only `true`/`false` as booleans: a bare `yes`, `no`, `on`, `off`, `y` or `n` is a string. This
    // follows the specification where pySigma (PyYAML, YAML 1.1) differs: there `yes`/`no`/`on`/`off` (any case)
    // are booleans, `y`/`n` are strings. SigmaHQ has no bare value of either kind.
    o.strict_booleans = true;
    o.alias_limits = alias_limits;
    o.with_snippet = false;
    o
}

/// Parses every document of a YAML stream. Empty documents (e.g. a trailing `---`) are dropped.
///
/// # Errors
/// A [`YamlError`] for syntax errors, duplicate keys and exceeded limits.
pub fn parse_documents(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    check_size(text, limits)?;
    match events::parse_documents(text, limits) {
        Some(docs) => Ok(docs),
        None => parse_documents_reference(text, limits),
    }
}

/// Whether [`parse_documents`] reads `text` with the event reader alone (serde-saphyr is not needed): true for
/// rule files written plainly, false for tags, anchors, aliases, merge keys and errors. For tests and benches.
pub fn read_by_events(text: &str, limits: &Limits) -> bool {
    text.len() <= limits.max_file_bytes && events::parse_documents(text, limits).is_some()
}

/// [`parse_documents`] through serde-saphyr only: the path for what the event reader leaves aside (tags,
/// anchors, aliases, merge keys, errors), and the reference the differential tests compare it with.
///
/// # Errors
/// As [`parse_documents`].
pub fn parse_documents_reference(text: &str, limits: &Limits) -> Result<Vec<Node>, YamlError> {
    check_size(text, limits)?;
    let docs: Vec<Option<SpannedNode>> =
        serde_saphyr::from_multiple_with_options(text, options(limits)).map_err(|e| to_yaml_error(&e))?;
    Ok(docs.into_iter().flatten().map(|n| n.0).filter(|n| n.value != NodeValue::Null).collect())
}

fn check_size(text: &str, limits: &Limits) -> Result<(), YamlError> {
    if text.len() > limits.max_file_bytes {
        return Err(YamlError {
            message: format!("file is {} bytes, over the {} byte limit", text.len(), limits.max_file_bytes),
            pos: Position::UNKNOWN,
        });
    }
    Ok(())
}

fn to_yaml_error(e: &serde_saphyr::Error) -> YamlError {
    let pos = e.location().map(|l| position(&l)).unwrap_or(Position::UNKNOWN);
    // The error's Display may embed a snippet or location prefix; keep the first line, which is the message.
    let full = e.to_string();
    let first = full.lines().next().unwrap_or("invalid YAML").trim();
    // The position is reported separately; drop the library's " at line N, column M" and its API advice.
    let first = first.split(" at line ").next().unwrap_or(first);
    let message = first.split(", set DuplicateKeyPolicy").next().unwrap_or(first).to_string();
    YamlError { message, pos }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse_documents(text, &Limits::default()).unwrap();
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn only_true_and_false_are_booleans_as_in_yaml_1_2() {
        let n = one("a: [true, False, TRUE, yes, No, on, OFF, y, n, 'true']\n");
        let items = n.as_map().unwrap()[0].1.as_seq().unwrap();
        let values: Vec<&NodeValue> = items.iter().map(|i| &i.value).collect();
        assert_eq!(values[..3], [&NodeValue::Bool(true), &NodeValue::Bool(false), &NodeValue::Bool(true)]);
        for (i, text) in ["yes", "No", "on", "OFF", "y", "n", "true"].iter().enumerate() {
            assert_eq!(values[i + 3], &NodeValue::String((*text).to_string()), "{text}");
        }
    }

    #[test]
    fn keeps_types_order_and_positions() {
        let n = one("b: 4688\na: '4688'\nc: 2024-09-22\nd: [x, ~]\n");
        let m = n.as_map().unwrap();
        assert_eq!(m[0].0.as_str(), Some("b"));
        assert_eq!(m[0].1.value, NodeValue::Int(4688));
        assert_eq!(m[1].1.value, NodeValue::String("4688".into()));
        assert_eq!(m[2].1.value, NodeValue::String("2024-09-22".into()));
        assert_eq!(m[1].0.pos, Position::new(2, 1));
        assert_eq!(m[1].1.pos, Position::new(2, 4));
        let d = m[3].1.as_seq().unwrap();
        assert_eq!(d[1].value, NodeValue::Null);
        assert_eq!(d[1].pos, Position::new(4, 8));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_documents("a: 1\na: 2\n", &Limits::default()).unwrap_err();
        assert_eq!(e.pos.line, 2, "{e:?}");
    }

    #[test]
    fn multi_documents() {
        let docs = parse_documents("a: 1\n---\nb: 2\n---\n", &Limits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].pos.line, 3);
    }

    #[test]
    fn alias_bomb_is_rejected() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            text.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        assert!(parse_documents(&text, &Limits::default()).is_err());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_documents(&text, &Limits::default()).is_err());
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_documents("a: 1\nb: [unclosed\n", &Limits::default()).unwrap_err();
        assert!(e.pos.line >= 2, "{e:?}");
    }
}
