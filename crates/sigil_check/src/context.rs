//! What a check sees and how it reports: [`DocContext`] (one document of one file, with its YAML node, the file
//! text and the parser's diagnostics) and [`Reporter`], which stamps each finding with the code and default
//! severity of the check being run, so a check never repeats what the registry declares.

use std::collections::HashMap;

use sigil_diagnostics::{Diagnostic, Label, LineIndex, Position, Span};
use sigil_rule::yaml::{Node, NodeValue};
use sigil_rule::{Document, RuleFile};

use crate::registry::Check;

/// One document under check.
pub struct DocContext<'a> {
    /// The file's text.
    pub source: &'a str,
    index: std::cell::OnceCell<LineIndex<'a>>,
    /// The document's rule model, as built by the parser.
    pub doc: &'a Document,
    /// The YAML node the document was built from.
    pub node: &'a Node,
    /// What the parser reported for the whole file.
    pub parser: &'a [Diagnostic],
    /// Spans of every node by position, built on first use (most documents have no finding).
    spans: std::cell::OnceCell<HashMap<Position, Span>>,
}

impl<'a> DocContext<'a> {
    /// The context of one document: its file's text, model, YAML node and the parser's diagnostics for the file.
    pub fn new(source: &'a str, doc: &'a Document, node: &'a Node, parser: &'a [Diagnostic]) -> Self {
        DocContext { source, index: std::cell::OnceCell::new(), doc, node, parser, spans: std::cell::OnceCell::new() }
    }

    /// Line and column lookups in the file text (built on first use).
    pub fn index(&self) -> &LineIndex<'a> {
        self.index.get_or_init(|| LineIndex::new(self.source))
    }

    /// The span of the node written at `pos` (every node of the document is indexed by position).
    pub fn span_at(&self, pos: Position) -> Option<Span> {
        self.spans
            .get_or_init(|| {
                let mut spans = HashMap::new();
                collect_spans(self.node, &mut spans);
                spans
            })
            .get(&pos)
            .copied()
    }

    /// The bytes of a string scalar's content when it is written literally (plain, or quoted without escapes),
    /// so an edit of exactly those bytes changes the value and nothing else.
    pub fn literal_span(&self, node: &Node) -> Option<Span> {
        let text = node.as_str()?;
        literal_span(self.source, node.span, text)
    }

    /// Position and span of the text `offset` characters into the single-line scalar written at `pos`
    /// (skipping an opening quote), `len` bytes long.
    pub fn inner(&self, pos: Position, offset: usize, len: usize) -> (Position, Option<Span>) {
        let quote = self.index().offset(pos).and_then(|o| self.source.get(o..)).and_then(|s| s.chars().next());
        let skip = usize::from(matches!(quote, Some('\'' | '"')));
        let at = pos.shifted(offset + skip);
        let span = self
            .index()
            .offset(at)
            .map(|start| Span::new(start, start + len))
            .filter(|s| s.slice(self.source).is_some());
        (at, span)
    }

    /// Whether the parser reported `code` anywhere in the file.
    pub fn parser_reported(&self, code: sigil_diagnostics::Code) -> bool {
        self.parser.iter().any(|d| d.code == code)
    }

    /// The tags as written: text, node.
    pub fn tags(&self) -> Vec<(String, &'a Node)> {
        match self.node.get("tags").map(|n| &n.value) {
            Some(NodeValue::Seq(items)) => items.iter().filter_map(|i| Some((i.scalar_text()?, i))).collect(),
            Some(_) => {
                let n = self.node.get("tags");
                n.and_then(|n| Some((n.scalar_text()?, n))).into_iter().filter(|(t, _)| t != "null").collect()
            }
            None => vec![],
        }
    }
}

/// See [`DocContext::literal_span`].
pub fn literal_span(source: &str, span: Span, text: &str) -> Option<Span> {
    let written = span.slice(source)?;
    if written == text {
        return Some(span);
    }
    let inner = Span::new(span.start + 1, span.end.saturating_sub(1));
    let quoted =
        (written.starts_with('\'') && written.ends_with('\'')) || (written.starts_with('"') && written.ends_with('"'));
    (quoted && written.len() >= 2 && inner.slice(source) == Some(text)).then_some(inner)
}

fn collect_spans(node: &Node, out: &mut HashMap<Position, Span>) {
    // A map starts where its first key does: the key's (non-empty) span wins.
    let slot = out.entry(node.pos).or_insert(node.span);
    if slot.is_empty() {
        *slot = node.span;
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().for_each(|i| collect_spans(i, out)),
        NodeValue::Map(entries) => entries.iter().for_each(|(k, v)| {
            collect_spans(k, out);
            collect_spans(v, out);
        }),
        _ => {}
    }
}

/// Collects the findings of one check.
pub struct Reporter<'a> {
    check: &'static Check,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Reporter<'a> {
    /// A reporter for `check` that appends its findings (with the check's code and severity) to `out`.
    pub fn new(check: &'static Check, out: &'a mut Vec<Diagnostic>) -> Self {
        Reporter { check, out }
    }

    /// Reports a finding at a place; returns it so the check can add help, labels or a fix.
    pub fn report(&mut self, pos: Position, span: Option<Span>, message: impl Into<String>) -> &mut Diagnostic {
        let mut d = Diagnostic::new(self.check.code, self.check.severity, pos, message);
        d.span = span;
        self.out.push(d);
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    /// Reports a finding about a node (its position and span).
    pub fn at(&mut self, node: &Node, message: impl Into<String>) -> &mut Diagnostic {
        let span = (node.span != Span::default()).then_some(node.span);
        self.report(node.pos, span, message)
    }
}

/// The whole rule set, for checks across files.
pub struct SetContext<'a> {
    /// Every loaded file of the set, in load order; findings refer to them by index.
    pub files: &'a [RuleFile],
}

/// Collects findings of a set check, each attached to the index of its file.
pub struct SetReporter<'a> {
    check: &'static Check,
    out: &'a mut Vec<(usize, Diagnostic)>,
}

impl<'a> SetReporter<'a> {
    /// A reporter for `check` that appends its findings, each with its file index, to `out`.
    pub fn new(check: &'static Check, out: &'a mut Vec<(usize, Diagnostic)>) -> Self {
        SetReporter { check, out }
    }

    /// Adds a finding made whole by the check (its own code, severity and help), for checks that report several
    /// codes from one analysis.
    pub fn push(&mut self, file: usize, d: Diagnostic) {
        self.out.push((file, d));
    }

    /// Reports a finding in file `file` (an index into [`SetContext::files`]) at a place; returns it so the check
    /// can add help, labels or a fix.
    pub fn report(
        &mut self,
        file: usize,
        pos: Position,
        span: Option<Span>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let mut d = Diagnostic::new(self.check.code, self.check.severity, pos, message);
        d.span = span;
        self.out.push((file, d));
        let last = self.out.len() - 1;
        &mut self.out[last].1
    }
}

/// A label pointing into another file (or the same one, `file: None`).
pub fn label(file: Option<&str>, pos: Position, span: Option<Span>, message: impl Into<String>) -> Label {
    Label { file: file.map(str::to_string), line: pos.line, column: pos.column, span, message: message.into() }
}
