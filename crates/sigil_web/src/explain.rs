//! `POST /api/rules/{key}/explain`: the rule page's "try an event" box. The body is one event as JSON (or a form
//! with an `event` field, what the box's form sends without JavaScript); the answer is
//! `{"matched", "routing", "selections", "removed_by"}` as `sigil explain --format json` gives it. The rule is
//! compiled from its page's YAML for the request, so serving the catalog costs nothing until someone asks.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::server::{Shared, lookup};

/// Largest event accepted, in bytes (a Windows event exported as JSON is a few KiB).
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The handler (see the module documentation).
pub(crate) async fn explain(
    State(app): State<Shared>,
    key: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let key = match key {
        Ok(Path(k)) => k,
        Err(e) => return crate::api::error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return crate::api::error(e.status(), &format!("the event cannot be read: {}", e.body_text())),
    };
    if body.len() > MAX_EVENT_BYTES {
        return crate::api::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the event is {} bytes; at most {MAX_EVENT_BYTES} are accepted", body.len()),
        );
    }
    let page = match lookup(&app, &key) {
        Ok(p) => p,
        Err(crate::pages::Failure::NotFound(msg)) => return crate::api::error(StatusCode::NOT_FOUND, &msg),
        Err(_) => return crate::api::error(StatusCode::MULTIPLE_CHOICES, &format!("'{key}' names several rules")),
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let text: Vec<u8> = if is_form {
        match form_field(&body, "event") {
            Some(t) => t.into_bytes(),
            None => return crate::api::error(StatusCode::BAD_REQUEST, "the form has no 'event' field"),
        }
    } else {
        body.to_vec()
    };
    let event = match parse_event(text) {
        Ok(e) => e,
        Err(msg) => return crate::api::error(StatusCode::BAD_REQUEST, &msg),
    };
    match sigil_engine::explain_rule_text(&page.path, &page.yaml, &event, app.catalog().knowledge()) {
        Ok(e) => crate::api::json_response(&serde_json::json!({
            "rule": {"key": page.key, "title": page.title},
            "matched": e.matched,
            "routing": e.routing,
            "selections": e.selections,
            "removed_by": e.removed_by,
        })),
        Err(msg) => crate::api::error(StatusCode::UNPROCESSABLE_ENTITY, &msg),
    }
}

/// The first event of a JSON text, read as `sigil hunt` reads a `.json` file (EVTX-as-JSON layout or flat or
/// nested fields, CloudTrail and other record kinds recognised by their shape).
fn parse_event(text: Vec<u8>) -> Result<sigil_events::Event, String> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err("paste one event as JSON".into());
    }
    let source = sigil_events::from_reader(
        std::path::Path::new("event.json"),
        sigil_events::SourceKind::Json,
        std::io::Cursor::new(text),
        &sigil_events::ReadOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    match source.into_iter().next() {
        Some(Ok(event)) => Ok(event),
        Some(Err(e)) => Err(format!("not a JSON event: {e}")),
        None => Err("no event in the text".into()),
    }
}

/// A field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let k = kv.next()?;
        (k == name.as_bytes()).then(|| percent_decode(kv.next().unwrap_or_default()))
    })
}

fn percent_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(form_field(b"a=1&event=%7B%22F%22%3A+%22x%25%22%7D", "event").as_deref(), Some("{\"F\": \"x%\"}"));
        assert_eq!(form_field(b"event=%zz", "event").as_deref(), Some("%zz"));
        assert_eq!(form_field(b"a=1", "event"), None);
    }

    #[test]
    fn events_parse_or_say_why_not() {
        assert!(parse_event(b"{\"Image\": \"C:\\\\x.exe\"}".to_vec()).is_ok());
        assert!(parse_event(b"  ".to_vec()).is_err());
        assert!(parse_event(b"{not json".to_vec()).is_err());
    }
}
