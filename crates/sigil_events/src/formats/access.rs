//! Web server and proxy access logs: Common / Combined Log Format (Apache, nginx, also with a
//! leading virtual host as `vhost_combined` writes it) and W3C extended logs (IIS, proxies).
//!
//! Fields are named as the W3C extended format and the Sigma taxonomy's `webserver` category
//! name them: `c-ip`, `cs-username`, `cs-method`, `cs-uri-stem` (the path), `cs-uri-query`
//! (the query string, without `?`), `cs-version`, `sc-status`, `sc-bytes`, `cs-referer`,
//! `cs-user-agent`, `cs-host`. Two fields are added: `cs-uri`, the whole request target
//! (`stem?query`), and `cs-uri-extension`, the extension of the path's last segment. W3C
//! header columns `cs(User-Agent)` are named `cs-user-agent` (likewise `cs(Referer)`,
//! `cs(Cookie)`, `cs(Host)`, any `cs(X)` / `sc(X)`); a `-` value is no value. Values are not
//! URL-decoded (rules match the encoded form, e.g. `%2e%2e`).
//!
//! The event time comes from the `[10/Oct/2000:13:55:36 -0700]` stamp, or the W3C `date` and
//! `time` columns (UTC), or `#Date:` with `time`. A line that does not have the format's shape
//! is reported with its line number and skipped.

use std::borrow::Cow;

use jiff::Timestamp;

use crate::Value;
use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::Sink;
use crate::time::parse_timestamp;

use super::RecordKind;
use super::text::{Header, lines};

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `10/Oct/2000:13:55:36 -0700`.
fn clf_time(s: &str) -> Option<Timestamp> {
    let (date, zone) = s.split_once(' ').unwrap_or((s, "+0000"));
    let mut parts = date.splitn(3, '/');
    let (day, month, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? + 1;
    let (year, time) = rest.split_once(':')?;
    let zone = if zone.len() == 5 { format!("{}:{}", zone.get(..3)?, zone.get(3..)?) } else { zone.to_owned() };
    parse_timestamp(&format!("{year}-{month:02}-{day:0>2}T{time}{zone}"))
}

/// A `"quoted"` string with `\"` escapes at the start of `s`: `(content, rest)`.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let inner = s.strip_prefix('"')?;
    let bytes = inner.as_bytes();
    let mut i = 0;
    let mut escaped = false;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'\\' => {
                escaped = true;
                i += 1;
            }
            b'"' => {
                let content = inner.get(..i)?;
                let rest = inner.get(i + 1..)?;
                let content = if escaped { Cow::Owned(content.replace("\\\"", "\"")) } else { Cow::Borrowed(content) };
                return Some((content, rest));
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The quoted request and what follows it. Some servers write a request's own `"` unescaped
/// (`"GET /?q="x") HTTP/1.1" 200 5`): when the first closing quote is not followed by a
/// status, the request ends at the first `" NNN ` that is.
fn request(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let followed_by_status = |rest: &str| {
        let mut words = rest.split_whitespace();
        let status = words.next().unwrap_or_default();
        status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with(' ')
    };
    let (content, rest) = quoted(s)?;
    if followed_by_status(rest) || !s.starts_with('"') {
        return Some((content, rest));
    }
    let inner = s.get(1..)?;
    let mut from = 0;
    while let Some(at) = inner.get(from..).and_then(|r| r.find('"')).map(|p| p + from) {
        let rest = inner.get(at + 1..)?;
        if followed_by_status(rest) {
            return Some((Cow::Borrowed(inner.get(..at)?), rest));
        }
        from = at + 1;
    }
    Some((content, rest))
}

/// Push the request target's parts.
fn push_target(b: &mut Builder, target: &str) {
    let (stem, query) = match target.split_once('?') {
        Some((stem, query)) => (stem, Some(query)),
        None => (target, None),
    };
    b.push_named("cs-uri", Value::Str(target.into()));
    b.push_named("cs-uri-stem", Value::Str(stem.into()));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        b.push_named("cs-uri-query", Value::Str(q.into()));
    }
    push_extension(b, stem);
}

fn push_extension(b: &mut Builder, stem: &str) {
    let last = stem.rsplit('/').next().unwrap_or_default();
    if let Some((_, ext)) = last.rsplit_once('.')
        && !ext.is_empty()
    {
        b.push_named("cs-uri-extension", Value::Str(ext.into()));
    }
}

fn number_or_text(s: &str) -> Value {
    match s.parse::<i64>() {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Str(s.into()),
    }
}

/// One CLF / Combined line into `b`; its time, or why it is not such a line.
fn clf_line(line: &str, b: &mut Builder) -> Result<Option<Timestamp>, String> {
    let open = line.find(" [").ok_or("no [time] field: not a Common/Combined Log Format line")?;
    let head: Vec<&str> = line.get(..open).unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect();
    let (vhost, client, user) = match head.as_slice() {
        [client, user] => (None, *client, *user),
        [client, _ident, user] => (None, *client, *user),
        [vhost, client, _ident, user] => (Some(*vhost), *client, *user),
        _ => return Err("expected `host ident user [time]` before the time".into()),
    };
    let rest = line.get(open + 2..).unwrap_or_default();
    let (stamp, rest) = rest.split_once("] ").ok_or("unterminated [time] field")?;
    let time = clf_time(stamp).ok_or_else(|| format!("unreadable time `{stamp}`"))?;
    let (request, rest) = request(rest.trim_start()).ok_or("no quoted request after the time (line cut short?)")?;
    let mut after = rest.split_whitespace();
    let status = after.next().ok_or("no status after the request (line cut short?)")?;
    if !status.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("status `{status}` is not a number"));
    }
    let bytes = after.next();
    let format = if vhost.is_some() { "vhost_combined" } else { "combined" };
    if let Some(vhost) = vhost {
        let host =
            vhost.rsplit_once(':').filter(|(_, p)| p.bytes().all(|c| c.is_ascii_digit())).map_or(vhost, |(h, _)| h);
        b.push_named("cs-host", Value::Str(host.into()));
    }
    b.push_named("c-ip", Value::Str(client.into()));
    if user != "-" {
        b.push_named("cs-username", Value::Str(user.into()));
    }
    b.push_named("date_time", Value::Str(stamp.into()));
    b.push_named("request", Value::Str(request.as_ref().into()));
    let mut parts = request.splitn(3, ' ');
    if let (Some(method), Some(target)) = (parts.next(), parts.next())
        && !method.is_empty()
        && method.bytes().all(|c| c.is_ascii_alphabetic())
    {
        b.push_named("cs-method", Value::Str(method.into()));
        push_target(b, target);
        if let Some(version) = parts.next() {
            b.push_named("cs-version", Value::Str(version.into()));
        }
    }
    b.push_named("sc-status", number_or_text(status));
    if let Some(bytes) = bytes.filter(|b| *b != "-") {
        b.push_named("sc-bytes", number_or_text(bytes));
    }
    // Combined: referer and user agent follow, quoted.
    let tail = rest.trim_start().get(status.len()..).unwrap_or_default().trim_start();
    let tail = tail.get(bytes.map_or(0, str::len)..).unwrap_or_default().trim_start();
    let mut combined = false;
    if let Some((referer, tail)) = quoted(tail) {
        if referer != "-" {
            b.push_named("cs-referer", Value::Str(referer.as_ref().into()));
        }
        if let Some((agent, _)) = quoted(tail.trim_start()) {
            combined = true;
            if agent != "-" {
                b.push_named("cs-user-agent", Value::Str(agent.as_ref().into()));
            }
        }
    }
    let format = if combined || vhost.is_some() { format } else { "common" };
    b.push_named("log_format", Value::Str(format.into()));
    Ok(Some(time))
}

/// Parse the CLF / Combined lines of one unit.
pub(crate) fn process_clf(
    buf: &[u8],
    first_line: u64,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let kind = RecordKind::by_name("web.access");
    for (line_no, line) in lines(buf, first_line) {
        match clf_line(&line, b) {
            Ok(time) => sink.event(b.finish_raw().with_timestamp(time).with_kind(kind)),
            Err(message) => {
                b.finish_raw();
                sink.error(line_error(line_no, message));
            }
        }
    }
}

/// A W3C column name as the taxonomy spells it: `cs(User-Agent)` → `cs-user-agent`.
fn column_name(name: &str) -> Cow<'_, str> {
    if let Some((prefix, rest)) = name.split_once('(')
        && let Some(header) = rest.strip_suffix(')')
    {
        return Cow::Owned(format!("{prefix}-{}", header.to_ascii_lowercase()));
    }
    Cow::Borrowed(name)
}

/// Whether W3C columns are a proxy's (Blue Coat / Squid-style W3C) rather than a web server's.
fn is_proxy(fields: &[String]) -> bool {
    fields.iter().any(|f| matches!(f.as_str(), "s-action" | "cs-uri-scheme" | "r-dns" | "rs-status" | "r-ip"))
}

/// Parse the W3C extended lines of one unit, `header` being the state at its start.
pub(crate) fn process_w3c(
    buf: &[u8],
    first_line: u64,
    header: &Header,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let mut header = Cow::Borrowed(header);
    // Per `#Fields:`: the columns' names as fields are named, and the kind.
    let columns = |h: &Header| -> (Vec<String>, Option<&'static RecordKind>) {
        let names = h.fields.iter().map(|f| column_name(f).into_owned()).collect();
        (names, RecordKind::by_name(if is_proxy(&h.fields) { "proxy.access" } else { "web.access" }))
    };
    let (mut names, mut kind) = columns(&header);
    for (line_no, line) in lines(buf, first_line) {
        if line.starts_with('#') {
            header.to_mut().directive(&line, super::text::TextFormat::W3c);
            (names, kind) = columns(&header);
            continue;
        }
        if header.fields.is_empty() {
            sink.error(line_error(line_no, "W3C log line before any `#Fields:` header".into()));
            continue;
        }
        let values: Vec<&str> = line.split(' ').collect();
        if values.len() != header.fields.len() {
            sink.error(line_error(
                line_no,
                format!("{} values where `#Fields:` names {} (line cut short?)", values.len(), header.fields.len()),
            ));
            continue;
        }
        let (mut date, mut time) = (header.date.as_deref().and_then(|d| d.split(' ').next()), None);
        let (mut stem, mut query) = (None, None);
        for ((name, field), value) in header.fields.iter().zip(&names).zip(&values) {
            match name.as_str() {
                "date" => date = Some(*value),
                "time" => time = Some(*value),
                "cs-uri-stem" => stem = Some(*value),
                "cs-uri-query" => query = Some(*value),
                _ => {}
            }
            if *value == "-" {
                continue;
            }
            let name = field.as_str();
            let value =
                if name.ends_with("user-agent") { Cow::Owned(value.replace('+', " ")) } else { Cow::Borrowed(*value) };
            let v = if matches!(
                name,
                "sc-status" | "sc-substatus" | "sc-win32-status" | "sc-bytes" | "cs-bytes" | "time-taken" | "s-port"
            ) {
                number_or_text(&value)
            } else {
                Value::Str(value.as_ref().into())
            };
            b.push_named(name, v);
        }
        if let Some(stem) = stem.filter(|s| *s != "-") {
            let target = match query.filter(|q| *q != "-") {
                Some(q) => format!("{stem}?{q}"),
                None => stem.to_owned(),
            };
            b.push_named("cs-uri", Value::Str(target.into()));
            push_extension(b, stem);
        }
        let stamp = match (date, time) {
            (Some(d), Some(t)) => Some(format!("{d} {t}")),
            _ => None,
        };
        if let Some(stamp) = &stamp {
            b.push_named("date_time", Value::Str(stamp.as_str().into()));
        }
        b.push_named("log_format", Value::Str("w3c".into()));
        let ts = stamp.as_deref().and_then(parse_timestamp);
        sink.event(b.finish_raw().with_timestamp(ts).with_kind(kind));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::Event;

    fn err(line: u64, message: String) -> ReadError {
        ReadError::TextLine { path: "x.log".into(), line, message }
    }

    #[test]
    fn combined_common_and_vhost_lines() {
        let text = "1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] \"GET /a/b.php?x=1&y=%2e HTTP/1.0\" 200 2326 \"http://r/\" \"curl/7.1 \\\"q\\\"\"\n\
10.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"-\" 408 -\n\
memze.ro 23.94.26.138 - - [08/Oct/2021:17:09:03 +0200] \"GET /cgi-bin/.%2e/x HTTP/1.1\" 400 166 \"-\" \"-\" \"-\"\n\
[Fri Oct 08 17:09:03 2021] [error] client denied\n\
1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /cut";
        let mut b = Builder::default();
        let mut out: VecDeque<Result<Event, ReadError>> = VecDeque::new();
        process_clf(text.as_bytes(), 1, &mut b, &mut out, &err);
        let items: Vec<_> = out.into();
        assert_eq!(items.len(), 5);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.timestamp().unwrap().to_string(), "2000-10-10T20:55:36Z");
        assert_eq!(e.get("cs-method"), Some(&Value::from("GET")));
        assert_eq!(e.get("cs-uri-stem"), Some(&Value::from("/a/b.php")));
        assert_eq!(e.get("cs-uri-query"), Some(&Value::from("x=1&y=%2e")));
        assert_eq!(e.get("cs-uri"), Some(&Value::from("/a/b.php?x=1&y=%2e")));
        assert_eq!(e.get("cs-uri-extension"), Some(&Value::from("php")));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
        assert_eq!(e.get("cs-username"), Some(&Value::from("bob")));
        assert_eq!(e.get("cs-user-agent"), Some(&Value::from("curl/7.1 \"q\"")));
        assert_eq!(e.get("cs-referer"), Some(&Value::from("http://r/")));
        assert_eq!(e.kind().unwrap().name, "web.access");
        let e = items[1].as_ref().unwrap();
        assert_eq!((e.get("cs-method"), e.get("sc-bytes")), (None, None));
        assert_eq!(e.get("log_format"), Some(&Value::from("common")));
        let e = items[2].as_ref().unwrap();
        assert_eq!(e.get("cs-host"), Some(&Value::from("memze.ro")));
        assert_eq!(e.get("c-ip"), Some(&Value::from("23.94.26.138")));
        assert_eq!(e.get("cs-user-agent"), None);
        assert!(items[3].as_ref().unwrap_err().to_string().starts_with("x.log:4: "));
        assert!(items[4].as_ref().unwrap_err().to_string().contains("line cut short"), "{:?}", items[4]);
    }

    #[test]
    fn w3c_fields_header_and_values() {
        let text = "#Software: Microsoft Internet Information Services 10.0\n#Date: 2013-07-30 00:00:00\n\
#Fields: time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)\n\
00:00:01 10.0.0.1 GET /a.aspx x=1' 500 Mozilla/5.0+(Windows)\n\
00:00:02 10.0.0.1 GET /b -\n\
#Fields: date time cs-method cs-host s-action\n\
2014-01-01 10:00:00 CONNECT example.com TCP_TUNNELED\n";
        let mut b = Builder::default();
        let mut out: VecDeque<Result<Event, ReadError>> = VecDeque::new();
        process_w3c(text.as_bytes(), 1, &Header::default(), &mut b, &mut out, &err);
        let items: Vec<_> = out.into();
        assert_eq!(items.len(), 3);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.timestamp().unwrap().to_string(), "2013-07-30T00:00:01Z");
        assert_eq!(e.get("cs-user-agent"), Some(&Value::from("Mozilla/5.0 (Windows)")));
        assert_eq!(e.get("cs-uri"), Some(&Value::from("/a.aspx?x=1'")));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(500)));
        assert!(items[1].as_ref().unwrap_err().to_string().starts_with("x.log:5: 5 values where"));
        let e = items[2].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "proxy.access");
        assert_eq!(e.get("cs-host"), Some(&Value::from("example.com")));
        assert_eq!(column_name("cs(Referer)"), "cs-referer");
    }
}
