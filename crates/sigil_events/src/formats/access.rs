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

use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::Sink;
use crate::time::parse_timestamp;
use crate::{Event, Value};

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

/// The request target's parts: `cs-uri`, `cs-uri-stem`, `cs-uri-query`, `cs-uri-extension`.
fn target_fields(target: &str) -> Vec<(&'static str, &str)> {
    let (stem, query) = match target.split_once('?') {
        Some((stem, query)) => (stem, Some(query)),
        None => (target, None),
    };
    let mut out = vec![("cs-uri", target), ("cs-uri-stem", stem)];
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        out.push(("cs-uri-query", q));
    }
    out.extend(extension(stem).map(|e| ("cs-uri-extension", e)));
    out
}

/// Push the request target's parts.
fn push_target(b: &mut Builder, target: &str) {
    for (name, value) in target_fields(target) {
        b.push_named(name, Value::Str(value.into()));
    }
}

fn extension(stem: &str) -> Option<&str> {
    let last = stem.rsplit('/').next().unwrap_or_default();
    last.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| !ext.is_empty())
}

fn push_extension(b: &mut Builder, stem: &str) {
    if let Some(ext) = extension(stem) {
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

/// JSON access-log keys → the W3C names the text readers give, first present key wins.
///
/// Provenance (variable / field names only): nginx `ngx_http_log_module` and core variables
/// (`$remote_addr`, `$remote_user`, `$time_local`, `$time_iso8601`, `$request`,
/// `$request_method`, `$request_uri`, `$uri`, `$args`, `$query_string`, `$server_protocol`,
/// `$status`, `$body_bytes_sent`, `$bytes_sent`, `$http_referer`, `$http_user_agent`,
/// `$http_host`), as `log_format … escape=json` setups name their keys after them (Apache
/// `mod_log_config` JSON formats use the same names for `%h %u %t %r %m %U %q %>s %b`);
/// Caddy's `http.log.access` JSON (`request.remote_ip`, `request.client_ip`,
/// `request.method`, `request.uri`, `request.proto`, `request.host`, `request.headers.*`,
/// `status`, `size`, `user_id`, `ts`); Traefik's JSON access log (`ClientHost`,
/// `ClientUsername`, `RequestMethod`, `RequestPath`, `RequestProtocol`, `RequestHost`,
/// `DownstreamStatus`, `DownstreamContentSize`, `StartUTC`, headers as `request_<Name>`).
const JSON_KEYS: &[(&str, &[&str])] = &[
    ("c-ip", &["remote_addr", "request.remote_ip", "request.client_ip", "ClientHost", "client_ip", "remote_ip"]),
    ("cs-username", &["remote_user", "user_id", "ClientUsername"]),
    ("cs-method", &["request_method", "request.method", "RequestMethod", "method"]),
    ("cs-version", &["server_protocol", "request.proto", "RequestProtocol", "protocol"]),
    ("sc-status", &["status", "DownstreamStatus"]),
    ("sc-bytes", &["body_bytes_sent", "bytes_sent", "size", "DownstreamContentSize"]),
    ("cs-referer", &["http_referer", "request.headers.Referer", "request_Referer", "referer", "referrer"]),
    ("cs-user-agent", &["http_user_agent", "request.headers.User-Agent", "request_User-Agent", "user_agent"]),
    ("cs-host", &["http_host", "request.host", "RequestHost"]),
];

/// Keys of the whole request target, and of its path and query string when it is split.
const JSON_TARGET: &[&str] = &["request_uri", "request.uri", "RequestPath"];
const JSON_PATH: &[&str] = &["uri", "path"];
const JSON_QUERY: &[&str] = &["args", "query_string", "query"];
/// Keys of the time: CLF-style `time_local`, else ISO 8601 / epoch seconds.
const JSON_TIME: &[&str] = &["time_local", "time_iso8601", "StartUTC", "ts", "time", "timestamp", "@timestamp"];

/// The text of a JSON access-log value: a string, a number, or the first item of a list
/// (Caddy writes headers as lists); `""` and `-` are no value.
fn json_text(value: &Value) -> Option<Cow<'_, str>> {
    let value = match value {
        Value::List(items) => items.first()?,
        v => v,
    };
    let text = match value {
        Value::Str(s) => Cow::Borrowed(s.as_str()),
        Value::Int(_) | Value::Float(_) => value.as_str_lossy(),
        _ => return None,
    };
    (!text.is_empty() && text != "-").then_some(text)
}

/// The W3C fields of a JSON access-log record (nginx / Apache JSON formats, Caddy, Traefik)
/// that it does not have already, and its time: the same names and values the Combined
/// reader gives the same request.
pub(crate) fn json_fields(event: &Event) -> (Vec<(String, Value)>, Option<Timestamp>) {
    let first = |keys: &[&str]| keys.iter().find_map(|k| event.get(k).and_then(json_text));
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut add = |name: &str, value: Value| {
        if !event.contains(name) && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_owned(), value));
        }
    };
    for (name, keys) in JSON_KEYS {
        if let Some(text) = first(keys) {
            let value = if matches!(*name, "sc-status" | "sc-bytes") {
                number_or_text(&text)
            } else {
                Value::Str(text.as_ref().into())
            };
            add(name, value);
        }
    }
    // `request` is nginx's `$request` / Apache's `%r` line (`GET /x HTTP/1.1`); Caddy's
    // `request` is an object (flattened to `request.*`), so it is not a string there.
    let line = event.get("request").and_then(Value::as_str).filter(|r| !r.is_empty() && *r != "-");
    let mut from_line = (None, None, None);
    if let Some(line) = line {
        add("request", Value::Str(line.into()));
        let mut parts = line.splitn(3, ' ');
        if let (Some(method), Some(target)) = (parts.next(), parts.next())
            && !method.is_empty()
            && method.bytes().all(|c| c.is_ascii_alphabetic())
        {
            from_line = (Some(method), Some(target), parts.next());
        }
    }
    if let Some(method) = from_line.0 {
        add("cs-method", Value::Str(method.into()));
    }
    if let Some(version) = from_line.2 {
        add("cs-version", Value::Str(version.into()));
    }
    let target = first(JSON_TARGET).or(from_line.1.map(Cow::Borrowed)).or_else(|| {
        let path = first(JSON_PATH)?;
        Some(match first(JSON_QUERY) {
            Some(q) => Cow::Owned(format!("{path}?{q}")),
            None => path,
        })
    });
    if let Some(target) = &target {
        for (name, value) in target_fields(target) {
            add(name, Value::Str(value.into()));
        }
    }
    let mut time = None;
    for key in JSON_TIME {
        let Some(value) = event.get(key) else { continue };
        let ts = match value.as_str() {
            Some(s) if *key == "time_local" => clf_time(s),
            _ => crate::time::timestamp_of(value),
        };
        if ts.is_some() {
            if let Some(text) = json_text(value) {
                add("date_time", Value::Str(text.as_ref().into()));
            }
            time = ts;
            break;
        }
    }
    add("log_format", Value::Str("json".into()));
    (out, time)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

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

    /// Events of JSON lines read as a `.jsonl` file (classified and mapped as `sigil hunt` reads them).
    fn read_jsonl(text: &str) -> Vec<Result<Event, ReadError>> {
        let opts = crate::ReadOptions::default();
        let cursor = std::io::Cursor::new(text.as_bytes().to_vec());
        let source =
            crate::source::from_reader(std::path::Path::new("access.jsonl"), crate::SourceKind::Jsonl, cursor, &opts)
                .unwrap();
        source.collect()
    }

    fn field<'e>(e: &'e Event, name: &str) -> Option<&'e Value> {
        e.get(name)
    }

    #[test]
    fn nginx_json_lines() {
        let line = r#"{"time_local":"10/Oct/2000:13:55:36 -0700","remote_addr":"1.2.3.4","remote_user":"bob","request":"GET /a/b.php?x=1&y=%2e HTTP/1.0","status":"200","body_bytes_sent":"2326","http_referer":"http://r/","http_user_agent":"curl/7.1"}"#;
        let items = read_jsonl(line);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "web.access");
        assert_eq!(e.timestamp().unwrap().to_string(), "2000-10-10T20:55:36Z");
        assert_eq!(field(e, "cs-method"), Some(&Value::from("GET")));
        assert_eq!(field(e, "cs-uri"), Some(&Value::from("/a/b.php?x=1&y=%2e")));
        assert_eq!(field(e, "cs-uri-query"), Some(&Value::from("x=1&y=%2e")));
        assert_eq!(field(e, "sc-status"), Some(&Value::Int(200)));
        assert_eq!(field(e, "cs-user-agent"), Some(&Value::from("curl/7.1")));
        assert_eq!(field(e, "c-ip"), Some(&Value::from("1.2.3.4")));
        assert_eq!(field(e, "log_format"), Some(&Value::from("json")));
        // Split method / uri / args keys, ISO time.
        let line = r#"{"time_iso8601":"2024-05-01T10:00:00+00:00","remote_addr":"5.6.7.8","request_method":"POST","uri":"/cgi-bin/x.cgi","args":"cmd=id","status":404}"#;
        let items = read_jsonl(line);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "web.access");
        assert_eq!(e.timestamp().unwrap().to_string(), "2024-05-01T10:00:00Z");
        assert_eq!(field(e, "cs-uri"), Some(&Value::from("/cgi-bin/x.cgi?cmd=id")));
        assert_eq!(field(e, "cs-uri-extension"), Some(&Value::from("cgi")));
        assert_eq!(field(e, "sc-status"), Some(&Value::Int(404)));
    }

    #[test]
    fn caddy_json_lines() {
        let line = r#"{"level":"info","ts":1714557600.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"9.9.9.9","proto":"HTTP/2.0","method":"GET","host":"example.org","uri":"/wp-login.php?action=register","headers":{"User-Agent":["sqlmap/1.7"]}},"user_id":"","status":403,"size":12}"#;
        let items = read_jsonl(line);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "web.access");
        assert_eq!(e.timestamp().unwrap().to_string(), "2024-05-01T10:00:00.5Z");
        assert_eq!(field(e, "c-ip"), Some(&Value::from("9.9.9.9")));
        assert_eq!(field(e, "cs-method"), Some(&Value::from("GET")));
        assert_eq!(field(e, "cs-uri-stem"), Some(&Value::from("/wp-login.php")));
        assert_eq!(field(e, "cs-uri-query"), Some(&Value::from("action=register")));
        assert_eq!(field(e, "cs-user-agent"), Some(&Value::from("sqlmap/1.7")));
        assert_eq!(field(e, "cs-host"), Some(&Value::from("example.org")));
        assert_eq!(field(e, "cs-version"), Some(&Value::from("HTTP/2.0")));
        assert_eq!(field(e, "sc-status"), Some(&Value::Int(403)));
        assert_eq!(field(e, "cs-username"), None);
    }

    #[test]
    fn traefik_json_lines() {
        let line = r#"{"ClientHost":"10.1.1.1","ClientUsername":"-","DownstreamContentSize":19,"DownstreamStatus":200,"RequestHost":"app.local","RequestMethod":"GET","RequestPath":"/.env","RequestProtocol":"HTTP/1.1","StartUTC":"2024-05-01T10:00:00.123Z","request_User-Agent":"python-requests/2.31"}"#;
        let items = read_jsonl(line);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "web.access");
        assert_eq!(e.timestamp().unwrap().to_string(), "2024-05-01T10:00:00.123Z");
        assert_eq!(field(e, "c-ip"), Some(&Value::from("10.1.1.1")));
        assert_eq!(field(e, "cs-username"), None);
        assert_eq!(field(e, "cs-uri"), Some(&Value::from("/.env")));
        assert_eq!(field(e, "cs-uri-extension"), Some(&Value::from("env")));
        assert_eq!(field(e, "sc-status"), Some(&Value::Int(200)));
        assert_eq!(field(e, "sc-bytes"), Some(&Value::Int(19)));
        assert_eq!(field(e, "cs-user-agent"), Some(&Value::from("python-requests/2.31")));
    }

    #[test]
    fn combined_and_nginx_json_agree() {
        let text = "1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] \"GET /mgmt/tm/util/bash?x=1 HTTP/1.1\" 200 2326 \"http://r/\" \"curl/7.1\"\n";
        let mut b = Builder::default();
        let mut out: VecDeque<Result<Event, ReadError>> = VecDeque::new();
        process_clf(text.as_bytes(), 1, &mut b, &mut out, &err);
        let clf = out.pop_front().unwrap().unwrap();
        let json = r#"{"time_local":"10/Oct/2000:13:55:36 -0700","remote_addr":"1.2.3.4","remote_user":"bob","request":"GET /mgmt/tm/util/bash?x=1 HTTP/1.1","status":"200","body_bytes_sent":"2326","http_referer":"http://r/","http_user_agent":"curl/7.1"}"#;
        let items = read_jsonl(json);
        let json = items[0].as_ref().unwrap();
        assert_eq!(clf.kind(), json.kind());
        assert_eq!(clf.timestamp(), json.timestamp());
        let w3c: Vec<&str> = clf.fields().map(|(n, _)| n).filter(|n| *n != "log_format").collect();
        assert!(w3c.len() >= 12, "{w3c:?}");
        for name in w3c {
            assert_eq!(clf.get(name), json.get(name), "{name}");
        }
    }

    #[test]
    fn broken_json_line_is_reported_and_the_rest_read() {
        let text = "{\"remote_addr\":\"1.1.1.1\",\"request\":\"GET / HTTP/1.1\",\"status\":200}\n{\"remote_addr\": \"2.2.2.2\", \"request\": \n{\"remote_addr\":\"3.3.3.3\",\"request\":\"GET /x HTTP/1.1\",\"status\":404}\n";
        let items = read_jsonl(text);
        assert_eq!(items.len(), 3);
        assert!(items[0].as_ref().unwrap().kind().is_some_and(|k| k.name == "web.access"));
        let message = items[1].as_ref().unwrap_err().to_string();
        assert!(message.starts_with("access.jsonl:2"), "{message}");
        let e = items[2].as_ref().unwrap();
        assert_eq!(e.get("c-ip"), Some(&Value::from("3.3.3.3")));
        assert_eq!(e.get("sc-status"), Some(&Value::Int(404)));
    }
}
