//! A Language Server (LSP, over stdio) for Sigma rule files: `sigil lsp`.
//!
//! As a rule file is opened or edited the server publishes the checker's diagnostics for it (parser and
//! document checks, and duplicate ids within the file), offers each finding's safe fix as a quick fix, and
//! explains on hover what a modifier does, what an ATT&CK tag names (and what it became, if renamed), and what
//! a diagnostic code means. The editor sends the whole text on each change (full sync).
//!
//! [`serve`] runs on any [`Connection`], so tests drive it in memory with LSP messages.

#![warn(missing_docs, unreachable_pub)]

use std::collections::HashMap;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{CodeActionRequest, HoverRequest, Request as _};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    DiagnosticRelatedInformation, DiagnosticSeverity, Hover, HoverContents, HoverParams, HoverProviderCapability,
    Location, MarkupContent, MarkupKind, NumberOrString, Position, PublishDiagnosticsParams, Range, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri, WorkspaceEdit,
};
use sigil_diagnostics::{Diagnostic, LineIndex, Severity, Span};
use sigil_knowledge::attack::{self, AttackTag, Lookup};
use sigil_rule::modifiers::Modifier;

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client sent something that is not a valid LSP message (or broke the initialize handshake).
    #[error("LSP protocol error: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    /// A message or its parameters could not be (de)serialized as JSON.
    #[error("cannot encode a message: {0}")]
    Json(#[from] serde_json::Error),
    /// The connection closed before the client sent `shutdown`/`exit`.
    #[error("the client connection closed unexpectedly")]
    Disconnected,
    /// Reading or writing the transport (stdio or socket) failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on stdin/stdout until the client asks to exit.
///
/// # Errors
/// Protocol and I/O errors.
pub fn run_stdio() -> Result<(), Error> {
    let (connection, threads) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    threads.join()?;
    Ok(())
}

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

/// Runs the initialize handshake and the main loop on `connection` until `shutdown` and `exit`.
///
/// # Errors
/// Protocol errors and a closed connection.
pub fn serve(connection: &Connection) -> Result<(), Error> {
    connection.initialize(serde_json::to_value(capabilities())?)?;
    let mut server = Server { documents: HashMap::new() };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let response = server.request(req);
                connection.sender.send(Message::Response(response)).map_err(|_| Error::Disconnected)?;
            }
            Message::Notification(n) => {
                for out in server.notification(n)? {
                    connection.sender.send(Message::Notification(out)).map_err(|_| Error::Disconnected)?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server {
    /// Open documents by URI: their text.
    documents: HashMap<String, (Uri, String)>,
}

impl Server {
    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            HoverRequest::METHOD => parse::<HoverParams>(req).and_then(|p| serde_json::to_value(self.hover(&p))),
            CodeActionRequest::METHOD => {
                parse::<CodeActionParams>(req).and_then(|p| serde_json::to_value(self.code_actions(&p)))
            }
            other => return Response::new_err(id, ErrorCode::MethodNotFound as i32, format!("unsupported: {other}")),
        };
        respond(id, result)
    }

    fn notification(&mut self, n: Notification) -> Result<Vec<Notification>, Error> {
        let uri = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let uri = p.text_document.uri;
                self.documents.insert(uri.as_str().to_string(), (uri.clone(), p.text_document.text));
                uri
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                let uri = p.text_document.uri;
                // Full sync: the last change holds the whole text.
                if let Some(change) = p.content_changes.into_iter().last() {
                    self.documents.insert(uri.as_str().to_string(), (uri.clone(), change.text));
                }
                uri
            }
            DidSaveTextDocument::METHOD => {
                let p: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(n.params)?;
                p.text_document.uri
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                self.documents.remove(p.text_document.uri.as_str());
                let params = PublishDiagnosticsParams { uri: p.text_document.uri, diagnostics: vec![], version: None };
                return Ok(vec![Notification::new(PublishDiagnostics::METHOD.to_string(), params)]);
            }
            _ => return Ok(vec![]),
        };
        let Some((uri, text)) = self.documents.get(uri.as_str()) else { return Ok(vec![]) };
        let index = LineIndex::new(text);
        let diagnostics = check(uri, text).iter().map(|d| to_lsp(uri, &index, text, d)).collect();
        let params = PublishDiagnosticsParams { uri: uri.clone(), diagnostics, version: None };
        Ok(vec![Notification::new(PublishDiagnostics::METHOD.to_string(), params)])
    }

    fn hover(&self, p: &HoverParams) -> Option<Hover> {
        let pos = &p.text_document_position_params;
        let (_, text) = self.documents.get(pos.text_document.uri.as_str())?;
        let index = LineIndex::new(text);
        let offset = index.from_utf16(pos.position.line, pos.position.character);
        let (span, markdown) = hover_at(text, offset)?;
        Some(Hover {
            contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value: markdown }),
            range: Some(range(&index, span)),
        })
    }

    fn code_actions(&self, p: &CodeActionParams) -> Vec<CodeActionOrCommand> {
        let Some((uri, text)) = self.documents.get(p.text_document.uri.as_str()) else { return vec![] };
        let index = LineIndex::new(text);
        let wanted = Span::new(
            index.from_utf16(p.range.start.line, p.range.start.character),
            index.from_utf16(p.range.end.line, p.range.end.character),
        );
        check(uri, text)
            .iter()
            .filter_map(|d| {
                let fix = d.fix.as_ref()?;
                let span = d.span?;
                if !span.overlaps(wanted) {
                    return None;
                }
                let edits = fix
                    .edits
                    .iter()
                    .map(|e| TextEdit { range: range(&index, e.span), new_text: e.replacement.clone() })
                    .collect();
                Some(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("{} ({})", fix.message, d.code),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![to_lsp(uri, &index, text, d)]),
                    edit: Some(WorkspaceEdit {
                        changes: Some(HashMap::from([(uri.clone(), edits)])),
                        ..WorkspaceEdit::default()
                    }),
                    is_preferred: Some(true),
                    ..CodeAction::default()
                }))
            })
            .collect()
    }
}

fn parse<P: serde::de::DeserializeOwned>(req: Request) -> Result<P, serde_json::Error> {
    serde_json::from_value(req.params)
}

fn respond(id: RequestId, result: Result<serde_json::Value, serde_json::Error>) -> Response {
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err(e) => Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string()),
    }
}

fn check(uri: &Uri, text: &str) -> Vec<Diagnostic> {
    let name = uri.path().as_str().rsplit('/').next().unwrap_or("rule.yml");
    sigil_check::check_text(name, text)
}

fn position(index: &LineIndex<'_>, offset: usize) -> Position {
    let (line, character) = index.utf16(offset);
    Position { line, character }
}

fn range(index: &LineIndex<'_>, span: Span) -> Range {
    Range { start: position(index, span.start), end: position(index, span.end) }
}

/// The LSP form of a diagnostic: its span, or the token at its position, or the first line for whole-file ones.
fn to_lsp(uri: &Uri, index: &LineIndex<'_>, text: &str, d: &Diagnostic) -> lsp_types::Diagnostic {
    let span = d
        .span
        .or_else(|| sigil_rule::token_span(text, index, d.position))
        .unwrap_or_else(|| Span::new(0, text.find('\n').unwrap_or(text.len())));
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| l.file.is_none() && l.line > 0)
        .map(|l| {
            let start = index.offset(sigil_diagnostics::Position::new(l.line, l.column)).unwrap_or(0);
            let span = l.span.unwrap_or(Span::new(start, start));
            DiagnosticRelatedInformation {
                location: Location { uri: uri.clone(), range: range(index, span) },
                message: l.message.clone(),
            }
        })
        .collect();
    lsp_types::Diagnostic {
        range: range(index, span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.0.to_string())),
        source: Some("sigil".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}

/// What to show when hovering at `offset`: a modifier in a field key, an `attack.*` tag, or a diagnostic code
/// (`SG301`, e.g. in a comment); the span of the hovered word and Markdown.
pub fn hover_at(text: &str, offset: usize) -> Option<(Span, String)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let before = text.get(..offset)?;
    let start = before.char_indices().rev().take_while(|(_, c)| is_word(*c)).last().map_or(offset, |(i, _)| i);
    let after = text.get(offset..)?;
    let end = offset + after.find(|c: char| !is_word(c)).unwrap_or(after.len());
    let word = text.get(start..end)?;
    if word.is_empty() {
        return None;
    }
    let span = Span::new(start, end);
    let prev = text.get(..start).and_then(|s| s.chars().next_back());
    if prev == Some('|') {
        let m = Modifier::from_name(word)?;
        return Some((span, format!("**`|{}`** modifier\n\n{}", m.name(), m.description())));
    }
    if let Some(rest) = word.strip_prefix("attack.") {
        return attack_hover(rest).map(|md| (span, md));
    }
    if word.len() == 5 && word.starts_with("SG") {
        let c = sigil_check::registry::lookup(word)?;
        return Some((span, format!("**{}** `{}` ({})\n\n{}", c.code, c.name, c.severity, c.docs)));
    }
    None
}

fn attack_hover(rest: &str) -> Option<String> {
    let data = attack::builtin()?;
    let tag = format!("attack.{rest}");
    let line = |what: &str, id: &str, name: &str| format!("**{name}** — ATT&CK {what} {id}");
    let md = match data.parse_tag(&tag)? {
        AttackTag::Tactic(Lookup::Found(t)) => line("tactic", t.id, t.name),
        AttackTag::Technique(Lookup::Found(t)) => {
            format!("{}\n\nTactics: {}", line("technique", t.id, t.display), t.tactics().join(", "))
        }
        AttackTag::Tactic(Lookup::Crosswalk { entry, to }) => format!(
            "Old ATT&CK tactic: {}\n\nNow: {}",
            entry.note,
            to.iter().map(|t| format!("{} ({})", t.name, t.tag())).collect::<Vec<_>>().join(", ")
        ),
        AttackTag::Technique(Lookup::Crosswalk { entry, to }) => format!(
            "Old ATT&CK technique: {}\n\nNow: {}",
            entry.note,
            to.iter().map(|t| format!("{} {} ({})", t.id, t.display, t.tag())).collect::<Vec<_>>().join(", ")
        ),
        AttackTag::Tactic(Lookup::Retired(e)) | AttackTag::Technique(Lookup::Retired(e)) => {
            format!("Retired ATT&CK entry: {}", e.note)
        }
        AttackTag::Group(id) => format!("ATT&CK group {}", id.to_ascii_uppercase()),
        AttackTag::Software(id) => format!("ATT&CK software {}", id.to_ascii_uppercase()),
        AttackTag::DataSource(id) => format!("ATT&CK data source {}", id.to_ascii_uppercase()),
        _ => return None,
    };
    Some(format!("{md}\n\n_ATT&CK release {}_", data.version()))
}
