//! The Sigma rule model and its parser.
//!
//! This crate owns the meaning of a Sigma file: YAML (with positions, duplicate-key and alias-bomb protection) →
//! [`Document`]s (rules, correlation rules, filter rules) and every [`Diagnostic`] found on the way. It knows
//! nothing about events, engines or catalogs; those build on the model.
//!
//! Entry points: [`parse_bytes`] for file contents (checks size and encoding first) and [`parse_str`];
//! [`load()`] walks files and folders and parses them in parallel into a [`RuleSet`] (the one way rules enter
//! sigil: the checker, the engine and the catalog all load through it).
//!
//! The parser reports only what stops it from building the model (unreadable files, YAML, structure, types,
//! unknown modifiers, conditions that do not parse). Every other check is a rule of the linter in `sigil_check`,
//! which reads the model together with the YAML nodes in [`ParsedFile::nodes`].
//!
//! ```
//! let parsed = sigil_rule::parse_str("title: t\nlogsource: {product: windows}\n\
//!     detection: {sel: {Image|endswith: '\\cmd.exe'}, condition: sel}\n");
//! assert!(parsed.diagnostics.is_empty());
//! assert_eq!(parsed.documents.len(), 1);
//! ```
//!
//! Invariant: parsing never panics, whatever the input; problems become diagnostics, and a document that could
//! be partly understood is still returned (so a checker can report several problems at once).

#![warn(missing_docs, unreachable_pub)]

pub mod codes;
mod condition;
mod load;
mod model;
pub mod modifiers;
pub mod normalize;
mod parse;
pub mod yaml;

pub use condition::{Condition, ConditionError, Expr, Pattern, Quantifier, parse_expr};
pub use load::{
    Linter, LoadOptions, RuleFile, RuleSet, WalkError, discover, holds_rule_file, is_rule_file, load, load_texts,
};
pub use model::*;
pub use parse::{REGEX_SIZE_LIMIT, check_regex, compile_regex, is_date, is_uuid, parse_network};
use sigil_diagnostics::{Diagnostic, LineIndex, Position, Span};
use yaml::Limits;
use yaml::{Node, NodeValue};

/// The documents of one file and the diagnostics found in it.
#[derive(Debug, Clone, Default)]
pub struct ParsedFile {
    /// The documents understood, in file order (a document that could be partly understood is kept).
    pub documents: Vec<Document>,
    /// The YAML node each document was built from (`nodes[i]` for `documents[i]`, after rule-collection
    /// templates are merged), for checks that need what the model does not keep: raw text, key order, spans.
    /// The loader drops them once the linter has run.
    pub nodes: Vec<Node>,
    /// Problems found while parsing, in no particular order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ParsedFile {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    fn fail(diagnostic: Diagnostic) -> Self {
        ParsedFile { documents: vec![], nodes: vec![], diagnostics: vec![diagnostic] }
    }
}

/// Parses raw file contents: rejects files over the size limit and non-UTF-8 (binary) data, strips a BOM.
pub fn parse_bytes(bytes: &[u8], limits: &Limits) -> ParsedFile {
    if bytes.len() > limits.max_file_bytes {
        return ParsedFile::fail(Diagnostic::error(
            codes::FILE_TOO_LARGE,
            Position::UNKNOWN,
            // Not `bytes.len()`: callers read at most one byte past the limit, so that is not the file's size.
            format!("the file is larger than the {} limit for rule files", human_bytes(limits.max_file_bytes)),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.valid_up_to();
            let before = bytes.get(..offset).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            return ParsedFile::fail(
                Diagnostic::error(
                    codes::NOT_UTF8,
                    Position::new(line as u32, column as u32),
                    format!("file is not UTF-8 text (invalid byte at offset {offset})"),
                )
                .with_help("Sigma rules are UTF-8 YAML"),
            );
        }
    };
    if text.contains('\0') {
        return ParsedFile::fail(Diagnostic::error(
            codes::NOT_UTF8,
            Position::UNKNOWN,
            "file is binary (contains NUL bytes)",
        ));
    }
    parse_str_with_limits(text, limits)
}

/// Parses YAML text with the default limits.
pub fn parse_str(text: &str) -> ParsedFile {
    parse_str_with_limits(text, &Limits::default())
}

/// Parses YAML text.
pub fn parse_str_with_limits(text: &str, limits: &Limits) -> ParsedFile {
    let nodes = match yaml::parse_documents(text, limits) {
        Ok(n) => n,
        Err(e) => {
            let span = token_span(text, &LineIndex::new(text), e.pos);
            let mut d = Diagnostic::error(codes::YAML_SYNTAX, e.pos, e.message);
            d.span = span;
            return ParsedFile::fail(d);
        }
    };
    if nodes.is_empty() {
        return ParsedFile::fail(
            Diagnostic::warning(
                codes::EMPTY_FILE,
                Position::UNKNOWN,
                "file holds no YAML document (empty or only comments)",
            )
            .with_help("a rule file holds at least one rule, correlation or filter"),
        );
    }
    let mut builder = parse::Builder { source: text, diagnostics: Vec::new() };
    let mut documents = Vec::new();
    let mut kept = Vec::new();
    for node in expand_collection(nodes, &mut builder.diagnostics) {
        if let Some(doc) = builder.document(&node) {
            documents.push(doc);
            kept.push(node);
        }
    }
    // Most files hold one document; a pushed vector keeps room for four (large) ones.
    documents.shrink_to_fit();
    let mut diagnostics = builder.diagnostics;
    if diagnostics.iter().any(|d| d.span.is_none()) {
        let index = LineIndex::new(text);
        for d in diagnostics.iter_mut().filter(|d| d.span.is_none()) {
            d.span = token_span(text, &index, d.position);
        }
    }
    diagnostics.sort_by_key(|d| d.position);
    ParsedFile { documents, nodes: kept, diagnostics }
}

/// The span of the token written at `pos`: a quoted scalar to its closing quote, otherwise up to the next
/// space, `:`, `|`, `,`, `[`, `]`, `{`, `}` or `#`. `None` for an unknown position. Used for diagnostics that
/// point at a place rather than at a node.
pub fn token_span(text: &str, index: &LineIndex<'_>, pos: Position) -> Option<Span> {
    if !pos.is_known() {
        return None;
    }
    let start = index.offset(pos)?;
    let rest = text.get(start..)?;
    let line = rest.split(['\n', '\r']).next().unwrap_or("");
    let len = match line.chars().next() {
        Some(q @ ('\'' | '"')) => {
            let mut escaped = false;
            line.char_indices()
                .skip(1)
                .find(|&(_, c)| {
                    let close = c == q && !escaped;
                    escaped = q == '"' && c == '\\' && !escaped;
                    close
                })
                .map_or(line.len(), |(i, _)| i + 1)
        }
        _ => line
            .find(|c: char| c.is_whitespace() || matches!(c, ':' | '|' | ',' | '[' | ']' | '{' | '}' | '#'))
            .unwrap_or(line.len()),
    };
    let len = if len == 0 { line.chars().next().map_or(0, char::len_utf8) } else { len };
    Some(Span::new(start, start + len))
}

/// Applies Sigma 1 rule-collection actions (pySigma `collection.py`): `action: global` documents are templates
/// merged into every following rule (template values win on conflicting scalars), `reset` clears the template,
/// `repeat` merges into the previous rule and emits another one. Correlation and filter documents are never
/// merged.
fn expand_collection(nodes: Vec<Node>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    let mut global: Option<Node> = None;
    // The previous rule (for `repeat`) is always the last one pushed: a copy of every document is not kept.
    for node in nodes {
        let action = node.get("action").map(|a| (a.scalar_text().unwrap_or_default(), a.pos));
        let stripped = || without_key(&node, "action");
        match action {
            None => {
                let is_meta_rule = node.get("correlation").is_some() || node.get("filter").is_some();
                let merged = match (&global, is_meta_rule) {
                    (Some(g), false) => deep_merge(&node, g),
                    _ => node,
                };
                out.push(merged);
            }
            Some((a, _)) if a == "global" => global = Some(stripped()),
            Some((a, _)) if a == "reset" => global = None,
            Some((a, pos)) if a == "repeat" => match out.last() {
                Some(prev) => {
                    let merged = deep_merge(prev, &stripped());
                    out.push(merged);
                }
                None => diagnostics.push(Diagnostic::error(
                    codes::BAD_COLLECTION_ACTION,
                    pos,
                    "'action: repeat' has no previous rule to repeat",
                )),
            },
            Some((a, pos)) => diagnostics.push(
                Diagnostic::error(codes::BAD_COLLECTION_ACTION, pos, format!("unknown collection action '{a}'"))
                    .with_help("use global, reset or repeat"),
            ),
        }
    }
    out
}

fn without_key(node: &Node, key: &str) -> Node {
    match &node.value {
        NodeValue::Map(m) => Node {
            value: NodeValue::Map(m.iter().filter(|(k, _)| k.as_str() != Some(key)).cloned().collect()),
            pos: node.pos,
            span: node.span,
        },
        _ => node.clone(),
    }
}

/// Merges `over` into `base`: maps merge key by key (recursively), anything else is replaced by `over`'s value.
fn deep_merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (NodeValue::Map(b), NodeValue::Map(o)) => {
            let mut merged = b.clone();
            for (k, v) in o {
                match merged.iter_mut().find(|(mk, _)| mk.value == k.value) {
                    Some((_, mv)) => *mv = deep_merge(mv, v),
                    None => merged.push((k.clone(), v.clone())),
                }
            }
            Node { value: NodeValue::Map(merged), pos: base.pos, span: base.span }
        }
        _ => over.clone(),
    }
}

#[cfg(test)]
mod tests;

/// `4 MiB`, `512 KiB`, `300 bytes`.
fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}
