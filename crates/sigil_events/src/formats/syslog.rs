//! Syslog lines, the Sysmon for Linux events inside them, and Santa's macOS log.
//!
//! Syslog headers read: BSD (RFC 3164, `Mmm dd hh:mm:ss host program[pid]: message`, with or
//! without `<PRI>`), RFC 3339 timestamps as rsyslog's high-precision template writes them, and
//! RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`). Fields: `host`, `program`,
//! `pid`, `message` (and `facility`, `severity` from a `<PRI>`). BSD timestamps have no year:
//! the current year is assumed, or the previous one when that would put the line more than a
//! day in the future (the rule rsyslog and plaso use).
//!
//! A line whose message is a Sysmon for Linux `<Event>` is that event instead, named like a
//! Windows event (`EventID`, `Channel`, `Computer`, the `EventData` names: `Image`,
//! `CommandLine`, …), of kind `linux.sysmon`. Sysmon for Linux writes entities without their
//! `;` (`&lt unknown process&gt `); they are decoded leniently.

use std::borrow::Cow;

use jiff::Timestamp;
use quick_xml::events::Event as XmlEvent;

use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::{FileCtx, Sink};
use crate::time::parse_timestamp;
use crate::{Event, Value};

use super::RecordKind;
use super::text::lines;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A parsed syslog header.
struct Line<'a> {
    time: Option<Timestamp>,
    host: Option<&'a str>,
    program: Option<&'a str>,
    pid: Option<&'a str>,
    message: &'a str,
    pri: Option<u32>,
}

/// `<PRI>` at the start of a line.
fn strip_pri(line: &str) -> (Option<u32>, &str) {
    if let Some(rest) = line.strip_prefix('<')
        && let Some((pri, rest)) = rest.split_once('>')
        && !pri.is_empty()
        && pri.len() <= 3
        && let Ok(pri) = pri.parse()
    {
        return (Some(pri), rest);
    }
    (None, line)
}

/// `Mmm dd hh:mm:ss` (day padded with a space or not) at the start of `s` → a timestamp in
/// the assumed year, and the rest of the line.
fn bsd_time(s: &str, now: Timestamp) -> Option<(Timestamp, &str)> {
    let month = MONTHS.iter().position(|m| s.get(..3) == Some(*m))? as i8 + 1;
    let rest = s.get(3..)?.strip_prefix(' ')?.trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let day: i8 = day.parse().ok()?;
    let (time, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let mut hms = time.splitn(3, ':');
    let (h, m, sec) = (hms.next()?, hms.next()?, hms.next()?);
    let sec = sec.split('.').next()?;
    let (h, m, sec): (i8, i8, i8) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
    let at =
        |y: i16| jiff::civil::DateTime::new(y, month, day, h, m, sec, 0).ok()?.to_zoned(jiff::tz::TimeZone::UTC).ok();
    let this = at(year)?.timestamp();
    if this.as_second() > now.as_second() + 86_400 {
        return Some((at(year - 1)?.timestamp(), rest));
    }
    Some((this, rest))
}

/// Split `program[pid]: message` (or `program: message`).
fn tag(rest: &str) -> (Option<&str>, Option<&str>, &str) {
    let end = rest.find(": ").or_else(|| rest.strip_suffix(':').map(str::len));
    let Some(end) = end else { return (None, None, rest) };
    let tag = rest.get(..end).unwrap_or_default();
    if tag.is_empty() || tag.contains(' ') || tag.len() > 64 {
        return (None, None, rest);
    }
    let message = rest.get(end + 1..).unwrap_or_default().strip_prefix(' ').unwrap_or_default();
    match tag.split_once('[') {
        Some((program, pid)) => (Some(program), pid.strip_suffix(']'), message),
        None => (Some(tag), None, message),
    }
}

fn parse_line(line: &str, now: Timestamp) -> Option<Line<'_>> {
    let (pri, rest) = strip_pri(line);
    // RFC 5424.
    if pri.is_some()
        && let Some(r) = rest.strip_prefix("1 ")
    {
        let mut parts = r.splitn(6, ' ');
        let (time, host, app, procid, _msgid, tail) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next().unwrap_or(""));
        let message = skip_structured_data(tail);
        fn nil(s: &str) -> Option<&str> {
            (s != "-").then_some(s)
        }
        return Some(Line {
            time: parse_timestamp(time),
            host: nil(host),
            program: nil(app),
            pid: nil(procid),
            message,
            pri,
        });
    }
    // RFC 3339 timestamp (rsyslog high precision), then host.
    if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let (stamp, r) = rest.split_once(' ')?;
        let time = parse_timestamp(stamp)?;
        let (host, r) = r.split_once(' ').unwrap_or((r, ""));
        let (program, pid, message) = tag(r);
        return Some(Line { time: Some(time), host: Some(host), program, pid, message, pri });
    }
    // BSD.
    let (time, r) = bsd_time(rest, now)?;
    let r = r.trim_start();
    let (host, r) = r.split_once(' ').unwrap_or((r, ""));
    let (program, pid, message) = tag(r);
    Some(Line { time: Some(time), host: Some(host), program, pid, message, pri })
}

/// Whether a line has a syslog header (for recognising a file's format).
pub(crate) fn is_syslog_line(line: &str, now: Timestamp) -> bool {
    parse_line(line, now).is_some_and(|l| l.host.is_some())
}

/// The message after RFC 5424 structured data (`-` or `[id k="v"]…`).
fn skip_structured_data(tail: &str) -> &str {
    if let Some(r) = tail.strip_prefix("- ") {
        return r;
    }
    if tail == "-" {
        return "";
    }
    let bytes = tail.as_bytes();
    let mut i = 0;
    let mut in_quote = false;
    let mut depth = 0;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'[' if !in_quote => depth += 1,
            b']' if !in_quote => depth -= 1,
            b' ' if !in_quote && depth == 0 => return tail.get(i + 1..).unwrap_or_default(),
            _ => {}
        }
        i += 1;
    }
    ""
}

/// Decode XML entities, also without their `;` (as Sysmon for Linux writes them).
fn unescape_lenient(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let tail = rest.get(at + 1..).unwrap_or_default();
        let named = [("lt", '<'), ("gt", '>'), ("amp", '&'), ("quot", '"'), ("apos", '\'')];
        if let Some((name, c)) = named.iter().find(|(n, _)| tail.starts_with(n)) {
            out.push(*c);
            let after = tail.get(name.len()..).unwrap_or_default();
            rest = after.strip_prefix(';').unwrap_or(after);
            continue;
        }
        if let Some(num) = tail.strip_prefix('#')
            && let Some((digits, after)) = num.split_once(';')
            && let Some(c) = (match digits.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => digits.parse().ok(),
            })
            .and_then(char::from_u32)
        {
            out.push(c);
            rest = after;
            continue;
        }
        out.push('&');
        rest = tail;
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Add the `;` Sysmon for Linux leaves out of `&lt`, `&gt`, … so that an XML parser reads them.
fn close_entities(xml: &str) -> Cow<'_, str> {
    if !xml.contains('&') {
        return Cow::Borrowed(xml);
    }
    let mut out = String::with_capacity(xml.len() + 8);
    let mut rest = xml;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..=at).unwrap_or_default());
        let tail = rest.get(at + 1..).unwrap_or_default();
        match ["lt", "gt", "amp", "quot", "apos"].iter().find(|n| tail.starts_with(**n)) {
            Some(name) if !tail.get(name.len()..).unwrap_or_default().starts_with(';') => {
                out.push_str(name);
                out.push(';');
                rest = tail.get(name.len()..).unwrap_or_default();
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// System elements whose text is a number.
fn numeric_system(name: &str) -> bool {
    matches!(name, "EventID" | "Version" | "Level" | "Task" | "Opcode" | "EventRecordID")
}

/// A Sysmon for Linux `<Event>` as fields, named like a Windows event.
fn sysmon_event(xml: &str, b: &mut Builder) -> Result<(Option<Timestamp>, Option<u64>), String> {
    let xml = close_entities(xml);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut stack: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text = String::new();
    let (mut time, mut record_id) = (None, None);
    loop {
        match reader.read_event() {
            Err(e) => return Err(format!("Sysmon XML at byte {}: {e}", reader.buffer_position())),
            Ok(XmlEvent::Eof) => break,
            Ok(ev @ (XmlEvent::Start(_) | XmlEvent::Empty(_))) => {
                let (e, empty) = match &ev {
                    XmlEvent::Start(e) => (e, false),
                    XmlEvent::Empty(e) => (e, true),
                    _ => continue,
                };
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let in_system = stack.last().is_some_and(|p| p == "System");
                for attr in e.attributes().flatten() {
                    let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    let value = unescape_lenient(&String::from_utf8_lossy(&attr.value)).into_owned();
                    if name == "Data" && key == "Name" {
                        data_name = Some(value);
                    } else if in_system {
                        if name == "TimeCreated" && key == "SystemTime" {
                            time = parse_timestamp(&value);
                        }
                        let field = if name == "Security" && key == "UserId" {
                            "Security_UserID".to_owned()
                        } else {
                            format!("{name}_{key}")
                        };
                        b.push_named(&field, Value::Str(value.into()));
                    }
                }
                if empty {
                    if name == "Data"
                        && let Some(n) = data_name.take()
                    {
                        b.push_named(&n, Value::Str("".into()));
                    }
                } else {
                    stack.push(name);
                    text.clear();
                }
            }
            Ok(XmlEvent::Text(t)) => text.push_str(&String::from_utf8_lossy(t.as_ref())),
            Ok(XmlEvent::GeneralRef(r)) => {
                text.push('&');
                text.push_str(&String::from_utf8_lossy(r.as_ref()));
                text.push(';');
            }
            Ok(XmlEvent::CData(t)) => text.push_str(&String::from_utf8_lossy(t.as_ref())),
            Ok(XmlEvent::End(_)) => {
                let Some(name) = stack.pop() else { continue };
                let parent = stack.last().map(String::as_str);
                let value = unescape_lenient(&text).into_owned();
                if name == "Data" {
                    if let Some(n) = data_name.take() {
                        b.push_named(&n, Value::Str(value.into()));
                    }
                } else if parent == Some("System") && !value.is_empty() {
                    let v = match value.parse::<i64>() {
                        Ok(i) if numeric_system(&name) => Value::Int(i),
                        _ => Value::Str(value.into()),
                    };
                    if name == "EventRecordID" {
                        record_id = v.as_u64();
                    }
                    b.push_named(&name, v);
                }
                text.clear();
            }
            Ok(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("Sysmon XML ends inside <{}> (line cut short?)", stack.join("><")));
    }
    Ok((time, record_id))
}

/// Parse the syslog lines of one unit.
pub(crate) fn process(
    buf: &[u8],
    first_line: u64,
    _ctx: &FileCtx<'_>,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let now = Timestamp::now();
    let syslog = RecordKind::by_name("linux.syslog");
    let sysmon = RecordKind::by_name("linux.sysmon");
    for (line_no, text) in lines(buf, first_line) {
        let Some(line) = parse_line(&text, now) else {
            sink.error(line_error(line_no, "not a syslog line (no timestamp and host header)".into()));
            continue;
        };
        let message = line.message.trim_start();
        if message.starts_with("<Event>") || message.starts_with("<Event ") {
            match sysmon_event(message, b) {
                Ok((time, record_id)) => {
                    let event: Event = b.finish_raw();
                    sink.event(event.with_timestamp(time.or(line.time)).with_record_id(record_id).with_kind(sysmon));
                }
                Err(message) => {
                    b.finish_raw();
                    sink.error(line_error(line_no, message));
                }
            }
            continue;
        }
        if let Some(pri) = line.pri {
            b.push_named("facility", Value::Int(i64::from(pri / 8)));
            b.push_named("severity", Value::Int(i64::from(pri % 8)));
        }
        if let Some(host) = line.host {
            b.push_named("host", Value::Str(host.into()));
        }
        if let Some(program) = line.program {
            b.push_named("program", Value::Str(program.into()));
        }
        if let Some(pid) = line.pid {
            b.push_named("pid", Value::Str(pid.into()));
        }
        b.push_named("message", Value::Str(line.message.into()));
        sink.event(b.finish_raw().with_timestamp(line.time).with_kind(syslog));
    }
}

/// Santa's log (`[2018-08-19T03:09:13.120Z] I santad: action=EXEC|decision=ALLOW|…|path=…|args=…`):
/// each `key=value` of the `|`-separated message is a field.
pub(crate) fn process_santa(
    buf: &[u8],
    first_line: u64,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let santa = RecordKind::by_name("macos.santa");
    for (line_no, text) in lines(buf, first_line) {
        let parsed = text.strip_prefix('[').and_then(|r| r.split_once("] ")).and_then(|(stamp, rest)| {
            let (_, rest) = rest.split_once(' ')?;
            let (_, message) = rest.split_once(": ")?;
            Some((parse_timestamp(stamp), message))
        });
        let Some((time, message)) = parsed else {
            sink.error(line_error(line_no, "not a Santa log line".into()));
            continue;
        };
        for pair in message.split('|') {
            match pair.split_once('=') {
                Some((k, v)) => b.push_named(k, Value::Str(v.into())),
                None => b.push_named("message", Value::Str(pair.into())),
            }
        }
        sink.event(b.finish_raw().with_timestamp(time).with_kind(santa));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn headers() {
        let l =
            parse_line("Feb 12 14:10:21 sd-126005 sshd[16378]: Invalid user pascal from 35.188.49.176", now()).unwrap();
        assert_eq!((l.host, l.program, l.pid), (Some("sd-126005"), Some("sshd"), Some("16378")));
        assert_eq!(l.message, "Invalid user pascal from 35.188.49.176");
        assert_eq!(l.time.unwrap().to_string(), "2026-02-12T14:10:21Z");
        // More than a day ahead: last year.
        let l = parse_line("Dec 31 23:00:00 h cron: x", now()).unwrap();
        assert_eq!(l.time.unwrap().to_string(), "2025-12-31T23:00:00Z");
        let l = parse_line("Mar  1 01:02:03 h kernel: [1.2] x: y", now()).unwrap();
        assert_eq!((l.program, l.message), (Some("kernel"), "[1.2] x: y"));
        let l = parse_line("2020-05-31T00:00:45.698463+00:00 localhost systemd[1]: Reloaded.", now()).unwrap();
        assert_eq!((l.host, l.program, l.pid), (Some("localhost"), Some("systemd"), Some("1")));
        let l = parse_line("<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 [x a=\"]\"] 'su root' failed", now())
            .unwrap();
        assert_eq!(
            (l.pri, l.host, l.program, l.message),
            (Some(34), Some("mymachine"), Some("su"), "'su root' failed")
        );
        assert!(parse_line("garbage line", now()).is_none());
        assert!(parse_line("Foo 12 14:10:21 h x: y", now()).is_none());
    }

    #[test]
    fn lenient_entities() {
        assert_eq!(unescape_lenient("&lt unknown process&gt "), "< unknown process> ");
        assert_eq!(unescape_lenient("a &amp; b &#65;&#x42; &zz"), "a & b AB &zz");
    }

    #[test]
    fn sysmon_for_linux_event() {
        let xml = "<Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{ff}\"/><EventID>1</EventID><TimeCreated SystemTime=\"2022-05-11T18:10:20.465735000Z\"/><EventRecordID>7</EventRecordID><Channel>Linux-Sysmon/Operational</Channel><Computer>U5</Computer><Security UserId=\"0\"/></System><EventData><Data Name=\"Image\">/usr/bin/id</Data><Data Name=\"CommandLine\">id -a &amp; x</Data><Data Name=\"ParentImage\">&lt unknown process&gt </Data><Data Name=\"Empty\"/></EventData></Event>";
        let mut b = Builder::default();
        let (time, id) = sysmon_event(xml, &mut b).unwrap();
        let e = b.finish_raw();
        assert_eq!(id, Some(7));
        assert_eq!(time.unwrap().to_string(), "2022-05-11T18:10:20.465735Z");
        assert_eq!(e.event_id(), Some(1));
        assert_eq!(e.provider(), Some("Linux-Sysmon"));
        assert_eq!(e.channel(), Some("Linux-Sysmon/Operational"));
        assert_eq!(e.get("CommandLine"), Some(&Value::from("id -a & x")));
        assert_eq!(e.get("ParentImage"), Some(&Value::from("< unknown process> ")));
        assert_eq!(e.get("Empty"), Some(&Value::from("")));
        assert_eq!(e.get("Security_UserID"), Some(&Value::from("0")));
        let mut b = Builder::default();
        assert!(sysmon_event("<Event><System><EventID>1</EventID>", &mut b).unwrap_err().contains("ends inside"));
    }
}
