//! Diagnostics as data: findings about user input (rule files, event files), with the place they point at.
//!
//! A [`Diagnostic`] is never an `Err`: parsers and checks return the value they could build together with every
//! diagnostic they found. Rendering is separate from finding: [`render_text`] prints the compiler-style
//! `file:line:column: severity[code]: message` form with the offending source line, and [`Report`] is the stable
//! JSON shape for tools.
//!
//! Positions are 1-based lines and columns counted in characters, as editors show them. Column 0 / line 0 means
//! "the whole file" (e.g. a file that could not be read). A diagnostic may also carry a [`Span`], the byte range
//! of the offending field or value in the file text, [`Label`]s pointing at related places ("first defined
//! here") and a [`Fix`]: text edits that a tool may apply without changing anything else in the file.

#![warn(missing_docs, unreachable_pub)]

use std::fmt;
use std::io::{self, Write};

use owo_colors::OwoColorize;
use serde::{Deserialize, Serialize};

/// How bad a finding is. Errors make `sigil check` exit 1; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing, but the input is still usable as written.
    Warning,
    /// The input is wrong or cannot be used as written.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// A place in a source file: 1-based line and column (in characters) plus the byte offset when known.
///
/// Invariant: `line == 0` iff the position is unknown; then `column == 0` too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column, counted in characters; 0 when unknown.
    pub column: u32,
}

impl Position {
    /// The unknown position (`0:0`), for findings about the whole file.
    pub const UNKNOWN: Position = Position { line: 0, column: 0 };

    /// A position at a 1-based `line` and `column` (0, 0 for unknown).
    pub fn new(line: u32, column: u32) -> Self {
        Position { line, column }
    }

    /// The position `chars` characters to the right on the same line.
    #[must_use]
    pub fn shifted(self, chars: usize) -> Self {
        if self.line == 0 {
            return self;
        }
        let chars = u32::try_from(chars).unwrap_or(u32::MAX);
        Position { line: self.line, column: self.column.saturating_add(chars) }
    }

    /// Whether the position is known (`line != 0`).
    pub fn is_known(self) -> bool {
        self.line != 0
    }
}

/// A byte range `start..end` in a file's text (after a UTF-8 byte order mark, which is not part of the text).
///
/// Invariant: `start <= end`; both fall on character boundaries of the text they were computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset just past the last byte (exclusive).
    pub end: usize,
}

impl Span {
    /// A span; `end` below `start` is clamped to an empty span at `start`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte (an insertion point).
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The spanned text, when the span fits `text`.
    pub fn slice(self, text: &str) -> Option<&str> {
        text.get(self.start..self.end)
    }

    /// Whether the two spans share a byte (or touch at an empty span).
    pub fn overlaps(self, other: Span) -> bool {
        self.start < other.end && other.start < self.end
            || (self.is_empty() && other.start <= self.start && self.start <= other.end)
            || (other.is_empty() && self.start <= other.start && other.start <= self.end)
    }
}

/// Maps byte offsets of a text to 1-based line/column positions (columns in characters, as [`Position`]) and to
/// the 0-based UTF-16 positions of the Language Server Protocol.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text` (lines end at `\n`; a `\r` before it is not part of the line).
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex { text, starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// The 1-based line and character column of a byte offset (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.floor(offset);
        let line = self.line_of(offset);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column = self.text.get(start..offset).map_or(0, |s| s.chars().count());
        Position::new(u32::try_from(line + 1).unwrap_or(u32::MAX), u32::try_from(column + 1).unwrap_or(u32::MAX))
    }

    /// The byte offset of a 1-based line and character column (clamped to the line's end).
    pub fn offset(&self, pos: Position) -> Option<usize> {
        let start = *self.starts.get((pos.line as usize).checked_sub(1)?)?;
        let line = self.line_text(start);
        let col = (pos.column as usize).saturating_sub(1);
        Some(start + line.char_indices().nth(col).map_or(line.len(), |(i, _)| i))
    }

    /// 0-based line and UTF-16 column of a byte offset (LSP positions).
    pub fn utf16(&self, offset: usize) -> (u32, u32) {
        let offset = self.floor(offset);
        let line = self.line_of(offset);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col: usize = self.text.get(start..offset).map_or(0, |s| s.chars().map(char::len_utf16).sum());
        (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
    }

    /// The byte offset of a 0-based line and UTF-16 column (clamped to the line's end).
    pub fn from_utf16(&self, line: u32, col: u32) -> usize {
        let Some(&start) = self.starts.get(line as usize) else { return self.text.len() };
        let text = self.line_text(start);
        let mut units = 0usize;
        for (i, c) in text.char_indices() {
            if units >= col as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + text.len()
    }

    fn line_text(&self, start: usize) -> &'a str {
        let rest = self.text.get(start..).unwrap_or("");
        let end = rest.find('\n').unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or("");
        line.strip_suffix('\r').unwrap_or(line)
    }

    fn floor(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1)
}

/// A secondary place a diagnostic refers to, e.g. "first defined here" for a duplicate id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The file the label points into; `None` for the diagnostic's own file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line of the place; 0 when unknown.
    pub line: u32,
    /// 1-based column (in characters) of the place; 0 when unknown.
    pub column: u32,
    /// The byte range of the place in its file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// What the place is ("first defined here").
    pub message: String,
}

/// One replacement of a byte range of the file text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// The bytes replaced (empty for an insertion).
    pub span: Span,
    /// The text put in their place (empty for a deletion).
    pub replacement: String,
}

/// A safe, mechanical correction: applying its edits changes nothing but the offending text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, e.g. "replace with 'endswith'".
    pub message: String,
    /// The edits, applied together; they do not overlap each other.
    pub edits: Vec<Edit>,
}

impl Fix {
    /// A fix replacing one span.
    pub fn replace(message: impl Into<String>, span: Span, replacement: impl Into<String>) -> Self {
        Fix { message: message.into(), edits: vec![Edit { span, replacement: replacement.into() }] }
    }
}

/// Applies the fixes to `text`, in order of position, skipping a fix whose edits overlap an earlier applied one
/// or fall outside the text. Returns the new text and the indices (in the order given) of the fixes applied;
/// text outside the edited ranges is kept byte for byte.
pub fn apply_fixes<'f>(text: &str, fixes: impl IntoIterator<Item = &'f Fix>) -> (String, Vec<usize>) {
    let mut fixes: Vec<(usize, &Fix)> = fixes.into_iter().enumerate().filter(|(_, f)| !f.edits.is_empty()).collect();
    fixes.sort_by_key(|(_, f)| f.edits.iter().map(|e| e.span).min());
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = Vec::new();
    for (i, fix) in fixes {
        let fits =
            fix.edits.iter().all(|e| e.span.slice(text).is_some() && !taken.iter().any(|t| t.span.overlaps(e.span)));
        if fits {
            taken.extend(&fix.edits);
            applied.push(i);
        }
    }
    applied.sort_unstable();
    taken.sort_by_key(|e| e.span);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in taken {
        out.push_str(text.get(at..e.span.start).unwrap_or(""));
        out.push_str(&e.replacement);
        at = e.span.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    (out, applied)
}

/// A stable diagnostic code. Families: SG1xx files and YAML, SG2xx metadata, SG3xx detection and condition,
/// SG4xx logsource, correlation and cross-rule checks. A retired code is never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code(pub &'static str);

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// Codes read back (from the catalog cache) are interned: each distinct code text is allocated once for the
/// life of the process, so a [`Code`] stays a `&'static str` however often it is deserialised.
impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        static INTERNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let text = String::deserialize(d)?;
        let mut interned = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = interned.iter().find(|c| **c == text) {
            return Ok(Code(found));
        }
        let leaked: &'static str = Box::leak(text.into_boxed_str());
        interned.push(leaked);
        Ok(Code(leaked))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One finding about user input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// What kind of finding it is.
    pub code: Code,
    /// Whether it is an error or a warning.
    pub severity: Severity,
    /// Short, lower case, no trailing period.
    pub message: String,
    /// Where in the file; [`Position::UNKNOWN`] for the whole file.
    pub position: Position,
    /// The byte range of the offending field or value, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// Optional advice on how to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Related places ("first defined here").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    /// A safe correction, applied by `sigil check --fix` and offered as an editor quick fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with no span, help, labels or fix.
    pub fn new(code: Code, severity: Severity, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity,
            message: message.into(),
            position,
            span: None,
            help: None,
            labels: Vec::new(),
            fix: None,
        }
    }

    /// An error diagnostic (see [`Diagnostic::new`]).
    pub fn error(code: Code, position: Position, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, position, message)
    }

    /// A warning diagnostic (see [`Diagnostic::new`]).
    pub fn warning(code: Code, position: Position, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, position, message)
    }

    /// Sets the advice on how to fix the problem.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the byte range; an empty or unknown span is ignored.
    #[must_use]
    pub fn with_span(mut self, span: Span) -> Self {
        if span != Span::default() {
            self.span = Some(span);
        }
        self
    }

    /// Adds a related place.
    #[must_use]
    pub fn with_label(mut self, label: Label) -> Self {
        self.labels.push(label);
        self
    }

    /// Sets the safe correction.
    #[must_use]
    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// Whether the severity is [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A diagnostic attached to the file it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiagnostic {
    /// The file, as shown to users.
    pub file: String,
    /// 1-based line; 0 for a finding about the whole file.
    pub line: u32,
    /// 1-based column in characters; 0 for a finding about the whole file.
    pub column: u32,
    /// As [`Diagnostic::severity`].
    pub severity: Severity,
    /// As [`Diagnostic::code`].
    pub code: Code,
    /// As [`Diagnostic::message`].
    pub message: String,
    /// As [`Diagnostic::span`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    /// As [`Diagnostic::help`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// As [`Diagnostic::labels`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    /// As [`Diagnostic::fix`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl FileDiagnostic {
    /// Attaches `d` to `file`, flattening its position into `line` and `column`.
    pub fn new(file: impl Into<String>, d: Diagnostic) -> Self {
        FileDiagnostic {
            file: file.into(),
            line: d.position.line,
            column: d.position.column,
            severity: d.severity,
            code: d.code,
            message: d.message,
            span: d.span,
            help: d.help,
            labels: d.labels,
            fix: d.fix,
        }
    }
}

/// The JSON report of a check run. Field names are a stable interface for tools.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Files checked.
    pub files: usize,
    /// Rules (documents) loaded from them.
    pub rules: usize,
    /// Diagnostics with [`Severity::Error`].
    pub errors: usize,
    /// Diagnostics with [`Severity::Warning`].
    pub warnings: usize,
    /// Every finding, in report order.
    pub diagnostics: Vec<FileDiagnostic>,
}

impl Report {
    /// Builds a report, counting errors and warnings from the diagnostics.
    pub fn new(files: usize, rules: usize, diagnostics: Vec<FileDiagnostic>) -> Self {
        let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        let warnings = diagnostics.len() - errors;
        Report { files, rules, errors, warnings, diagnostics }
    }
}

/// Writes one diagnostic the way compilers do:
///
/// ```text
/// rules/x.yml:7:9: error[SG301]: unknown modifier 'contians'
///   7 |         Image|contians: foo
///     |         ^
///   = help: did you mean 'contains'?
/// ```
///
/// `source` is the file's text when available; the offending line is then quoted under the message.
///
/// # Errors
/// Only I/O errors from `out`.
pub fn render_text(out: &mut dyn Write, d: &FileDiagnostic, source: Option<&str>, color: bool) -> io::Result<()> {
    let sev = match (d.severity, color) {
        (Severity::Error, true) => format!("{}", "error".red().bold()),
        (Severity::Warning, true) => format!("{}", "warning".yellow().bold()),
        (s, false) => s.to_string(),
    };
    let location = if d.line == 0 { d.file.clone() } else { format!("{}:{}:{}", d.file, d.line, d.column) };
    let location = if color { format!("{}", location.bold()) } else { location };
    writeln!(out, "{location}: {sev}[{}]: {}", d.code, sanitize(&d.message))?;
    if d.line > 0
        && let Some(text) = source.and_then(|s| s.lines().nth(d.line as usize - 1))
    {
        let text = sanitize(text);
        let gutter = d.line.to_string();
        let pad = " ".repeat(gutter.len());
        // Underline from the span's start when it lies on this line (a quoted value's content starts one
        // character after the position), else from the column.
        let from_span = d.span.zip(source).and_then(|(sp, src)| {
            let before = src.get(..sp.start)?;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            let line_no = before.bytes().filter(|&b| b == b'\n').count() + 1;
            (line_no == d.line as usize).then(|| before.get(line_start..).unwrap_or("").chars().count())
        });
        let caret_pad: String = text
            .chars()
            .take(from_span.unwrap_or(d.column.saturating_sub(1) as usize))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        // Underline the span's part on this line (at least one caret).
        let width = d
            .span
            .and_then(|sp| source.and_then(|s| sp.slice(s)))
            .map_or(1, |t| t.lines().next().unwrap_or("").chars().count())
            .clamp(1, text.chars().count().saturating_sub(caret_pad.chars().count()).max(1));
        let carets = "^".repeat(width);
        let caret = if color { format!("{}", carets.red().bold()) } else { carets };
        writeln!(out, "{gutter:>w$} | {text}", w = gutter.len())?;
        writeln!(out, "{pad} | {caret_pad}{caret}")?;
    }
    for label in &d.labels {
        let file = label.file.as_deref().unwrap_or(&d.file);
        let at = if label.line == 0 { file.to_string() } else { format!("{file}:{}:{}", label.line, label.column) };
        writeln!(out, "  = note: {}: {}", sanitize(&at), sanitize(&label.message))?;
    }
    if let Some(help) = &d.help {
        writeln!(out, "  = help: {}", sanitize(help))?;
    }
    if let Some(fix) = &d.fix {
        writeln!(out, "  = fix (sigil check --fix): {}", sanitize(&fix.message))?;
    }
    Ok(())
}

/// Replaces control characters so hostile rule text cannot drive the terminal.
pub fn sanitize(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(|c| c.is_control() && c != '\t') {
        s.chars()
            .map(|c| if c.is_control() && c != '\t' { char::REPLACEMENT_CHARACTER } else { c })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_source_line_and_caret() {
        let d = FileDiagnostic::new(
            "a.yml",
            Diagnostic::error(Code("SG301"), Position::new(2, 5), "unknown modifier 'x'").with_help("try y"),
        );
        let mut out = Vec::new();
        render_text(&mut out, &d, Some("one\ntwo three\n"), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "a.yml:2:5: error[SG301]: unknown modifier 'x'\n2 | two three\n  |     ^\n  = help: try y\n");
    }

    #[test]
    fn underlines_the_span_and_shows_labels_and_fix() {
        let src = "one\ntwo three\n";
        let d = Diagnostic::error(Code("SG404"), Position::new(2, 5), "dup")
            .with_span(Span::new(8, 13))
            .with_label(Label {
                file: Some("b.yml".into()),
                line: 3,
                column: 5,
                span: None,
                message: "first defined here".into(),
            })
            .with_fix(Fix::replace("use x", Span::new(8, 13), "x"));
        let mut out = Vec::new();
        render_text(&mut out, &FileDiagnostic::new("a.yml", d), Some(src), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "a.yml:2:5: error[SG404]: dup\n2 | two three\n  |     ^^^^^\n  = note: b.yml:3:5: first defined here\n  = fix (sigil check --fix): use x\n"
        );
    }

    #[test]
    fn underline_starts_at_the_span_inside_quotes() {
        let src = "a: 1\nb: '2020/01/02' # c\n";
        let d = Diagnostic::warning(Code("SG215"), Position::new(2, 4), "old").with_span(Span::new(9, 19));
        let mut out = Vec::new();
        render_text(&mut out, &FileDiagnostic::new("f", d), Some(src), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\n  |     ^^^^^^^^^^\n"), "{text}");
    }

    #[test]
    fn line_index_maps_bytes_chars_and_utf16() {
        let text = "ab\né😀x\r\nz";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), Position::new(1, 1));
        assert_eq!(idx.position(3), Position::new(2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(x), Position::new(2, 3));
        assert_eq!(idx.utf16(x), (1, 3));
        assert_eq!(idx.from_utf16(1, 3), x);
        assert_eq!(idx.offset(Position::new(2, 3)), Some(x));
        assert_eq!(idx.offset(Position::new(3, 1)), Some(text.len() - 1));
        assert_eq!(idx.offset(Position::new(9, 1)), None);
        assert_eq!(idx.position(999), Position::new(3, 2));
    }

    #[test]
    fn fixes_apply_in_order_and_skip_overlaps() {
        let text = "a: 2020/01/02 # keep\nb: x\n";
        let f1 = Fix::replace("date", Span::new(3, 13), "2020-01-02");
        let f2 = Fix::replace("overlap", Span::new(5, 7), "zz");
        let f3 = Fix::replace("b", Span::new(24, 25), "y");
        let (out, n) = apply_fixes(text, [&f3, &f1, &f2]);
        assert_eq!((out.as_str(), n), ("a: 2020-01-02 # keep\nb: y\n", vec![0, 1]));
        let bad = Fix::replace("outside", Span::new(100, 101), "q");
        assert_eq!(apply_fixes(text, [&bad]), (text.to_string(), vec![]));
    }

    #[test]
    fn control_characters_are_neutralised() {
        assert_eq!(sanitize("a\x1b[31mb"), "a\u{fffd}[31mb");
        assert_eq!(sanitize("plain"), "plain");
    }

    #[test]
    fn report_counts_by_severity() {
        let w = FileDiagnostic::new("f", Diagnostic::warning(Code("SG1"), Position::UNKNOWN, "w"));
        let e = FileDiagnostic::new("f", Diagnostic::error(Code("SG2"), Position::UNKNOWN, "e"));
        let r = Report::new(1, 1, vec![w, e.clone(), e]);
        assert_eq!((r.errors, r.warnings), (2, 1));
    }
}
