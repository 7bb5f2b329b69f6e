//! Diagnostics as data: findings about user input (rule files, event files), with the place they point at.
//!
//! A [`Diagnostic`] is never an `Err`: parsers and checks return the value they could build together with every
//! diagnostic they found. Rendering is separate from finding: [`render_text`] prints the compiler-style
//! `file:line:column: severity[code]: message` form with the offending source line, and [`Report`] is the stable
//! JSON shape for tools.
//!
//! Positions are 1-based lines and columns counted in characters, as editors show them. Column 0 / line 0 means
//! "the whole file" (e.g. a file that could not be read).

use std::fmt;
use std::io::{self, Write};

use owo_colors::OwoColorize;
use serde::Serialize;

/// How bad a finding is. Errors make `sigil check` exit 1; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub const UNKNOWN: Position = Position { line: 0, column: 0 };

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

    pub fn is_known(self) -> bool {
        self.line != 0
    }
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

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One finding about user input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Short, lower case, no trailing period.
    pub message: String,
    pub position: Position,
    /// Optional advice on how to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, position: Position, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: Severity::Error, message: message.into(), position, help: None }
    }

    pub fn warning(code: Code, position: Position, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: Severity::Warning, message: message.into(), position, help: None }
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A diagnostic attached to the file it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiagnostic {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl FileDiagnostic {
    pub fn new(file: impl Into<String>, d: Diagnostic) -> Self {
        FileDiagnostic {
            file: file.into(),
            line: d.position.line,
            column: d.position.column,
            severity: d.severity,
            code: d.code,
            message: d.message,
            help: d.help,
        }
    }
}

/// The JSON report of a check run. Field names are a stable interface for tools.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub files: usize,
    pub rules: usize,
    pub errors: usize,
    pub warnings: usize,
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
        let caret_pad: String = text
            .chars()
            .take(d.column.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let caret = if color { format!("{}", "^".red().bold()) } else { "^".to_string() };
        writeln!(out, "{gutter:>w$} | {text}", w = gutter.len())?;
        writeln!(out, "{pad} | {caret_pad}{caret}")?;
    }
    if let Some(help) = &d.help {
        writeln!(out, "  = help: {}", sanitize(help))?;
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
