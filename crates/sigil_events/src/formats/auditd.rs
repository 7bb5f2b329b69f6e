//! Linux audit logs (`/var/log/audit/audit.log`): raw `type=… msg=audit(TS:SERIAL): …` lines.
//!
//! The records of one serial (`SYSCALL`, `EXECVE`, `CWD`, `PATH`, `PROCTITLE`, …) are one
//! event, as `ausearch` and go-libaudit's `aucoalesce` present them:
//!
//! - every `key=value` of every record is a field; a name in several records (`name` of two
//!   `PATH` records, `type`) collects its values in a list, which a rule matches when any item
//!   does (`type: EXECVE` matches the event that has an `EXECVE` record);
//! - `SYSCALL`'s raw syscall arguments `a0`…`a3` are named `syscall.a0`…, so that `a0`…`aN`
//!   are the `EXECVE` arguments rules mean;
//! - values auditd hex-encodes (unquoted hex in `proctitle`, `EXECVE` arguments, `exe`,
//!   `comm`, `name`, `cwd`, …) are decoded, NUL bytes becoming spaces (`proctitle` separates
//!   arguments with them);
//! - `cmdline` is the `EXECVE` arguments joined by spaces (absent without `EXECVE`);
//! - the `msg='…'` of user-space records (`USER_LOGIN`, `SERVICE_START`, …) is parsed too, its
//!   pairs added as fields, and the enriched fields after the `0x1d` separator (`UID="root"`) are
//!   kept under their upper-case names;
//! - `node` (with `log_format=ENRICHED` / multi-host setups) names the host.
//!
//! The event's time is the `msg=audit(…)` time and its record id the serial. A line that does
//! not parse (cut in half, not an audit record) is reported with its line number, and the whole
//! event of its serial is left out rather than matched incomplete.

use std::borrow::Cow;

use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::Sink;
use crate::{Event, Value};

use super::text::lines;

/// `(seconds, milliseconds, serial)` of a record's `msg=audit(…)`.
type Stamp = (i64, u32, u64);

/// The serial of a raw audit line, if it has a `msg=audit(…:SERIAL)` header.
pub(crate) fn serial_of(line: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(line.get(..line.len().min(256))?).ok()?;
    header(text).map(|(_, _, (_, _, serial), _)| serial)
}

/// `(node, type, stamp, rest)` of a raw audit line.
fn header(line: &str) -> Option<(Option<&str>, &str, Stamp, &str)> {
    let mut rest = line.trim_start();
    let mut node = None;
    if let Some(r) = rest.strip_prefix("node=") {
        let (n, r) = r.split_once(' ')?;
        node = Some(n);
        rest = r.trim_start();
    }
    let r = rest.strip_prefix("type=")?;
    let (kind, r) = r.split_once(' ')?;
    let r = r.trim_start().strip_prefix("msg=audit(")?;
    let (stamp, r) = r.split_once(')')?;
    let r = r.strip_prefix(':').unwrap_or(r);
    let (time, serial) = stamp.split_once(':')?;
    let (secs, millis) = time.split_once('.').unwrap_or((time, "0"));
    let secs: i64 = secs.parse().ok()?;
    let millis: u32 = millis.get(..millis.len().min(3))?.parse().ok()?;
    let serial: u64 = serial.parse().ok()?;
    if kind.is_empty() {
        return None;
    }
    Some((node, kind, (secs, millis, serial), r))
}

/// Fields whose unquoted values auditd writes hex-encoded when they hold special characters.
fn is_encoded_field(name: &str) -> bool {
    matches!(
        name,
        "proctitle"
            | "exe"
            | "comm"
            | "name"
            | "cwd"
            | "path"
            | "cmd"
            | "acct"
            | "data"
            | "dir"
            | "file"
            | "key"
            | "ocomm"
            | "old"
            | "new"
            | "watch"
            | "grp"
            | "new_group"
            | "old_prom"
            | "vm"
    ) || is_arg(name)
}

/// `a0`, `a1`, … and the `a2[0]` pieces of long arguments.
fn is_arg(name: &str) -> bool {
    name.strip_prefix('a').is_some_and(|r| {
        let digits = r.split('[').next().unwrap_or_default();
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Decode an unquoted hex value; `None` when it is not hex.
fn decode_hex(value: &str) -> Option<String> {
    if value.len() < 2 || !value.len().is_multiple_of(2) || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..value.len())
        .step_by(2)
        .filter_map(|i| value.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    Some(text.trim_end_matches(' ').to_owned())
}

/// The `key=value` pairs of a record body. Values may be `"quoted"`, `'quoted'` or bare.
/// `Err` when a quote is not closed (a line cut in half).
/// A `key=value` pair and whether the value was quoted.
type Pair<'a> = (&'a str, Cow<'a, str>, bool);

fn pairs(body: &str) -> Result<Vec<Pair<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start_matches([' ', '\u{1d}', '\t']);
        if rest.is_empty() {
            return Ok(out);
        }
        let Some(eq) = rest.find('=') else {
            // A bare word (old kernels write `subj==unconfined`, some records a trailing word).
            let end = rest.find([' ', '\u{1d}']).unwrap_or(rest.len());
            rest = rest.get(end..).unwrap_or_default();
            continue;
        };
        let key = rest.get(..eq).unwrap_or_default();
        if key.contains([' ', '\u{1d}']) {
            let end = rest.find([' ', '\u{1d}']).unwrap_or(rest.len());
            rest = rest.get(end..).unwrap_or_default();
            continue;
        }
        let after = rest.get(eq + 1..).unwrap_or_default();
        let (value, quoted, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = after.get(1..).unwrap_or_default();
                match inner.find(q) {
                    Some(close) => {
                        (inner.get(..close).unwrap_or_default(), true, inner.get(close + 1..).unwrap_or_default())
                    }
                    None => return Err(format!("unterminated quoted value of `{key}` (line cut short?)")),
                }
            }
            _ => {
                let end = after.find([' ', '\u{1d}']).unwrap_or(after.len());
                (after.get(..end).unwrap_or_default(), false, after.get(end..).unwrap_or_default())
            }
        };
        out.push((key, Cow::Borrowed(value), quoted));
        rest = next;
    }
}

/// One event being assembled: its records' fields in order.
struct Group {
    serial: u64,
    stamp: (i64, u32),
    node: Option<String>,
    fields: Vec<(String, Value)>,
    /// Index of each name in `fields`.
    index: std::collections::HashMap<String, usize>,
    args: Vec<(usize, String)>,
    bad: bool,
}

impl Group {
    fn add(&mut self, name: &str, value: Value) {
        if let Some((_, existing)) = self.index.get(name).and_then(|&i| self.fields.get_mut(i)) {
            match existing {
                Value::List(items) => items.push(value),
                old => {
                    let first = std::mem::take(old);
                    *old = Value::List(vec![first, value]);
                }
            }
        } else {
            self.index.insert(name.to_owned(), self.fields.len());
            self.fields.push((name.to_owned(), value));
        }
    }

    fn record(&mut self, kind: &str, body: &str) -> Result<(), String> {
        self.add("type", Value::Str(kind.into()));
        for (key, value, quoted) in pairs(body)? {
            if key == "msg" && quoted {
                // User-space records: the message is itself `key=value` pairs.
                self.add("msg", Value::Str(value.as_ref().into()));
                for (k, v, q) in pairs(&value).unwrap_or_default() {
                    self.value(kind, k, &v, q);
                }
                continue;
            }
            self.value(kind, key, &value, quoted);
        }
        Ok(())
    }

    fn value(&mut self, kind: &str, key: &str, value: &str, quoted: bool) {
        let syscall_arg = kind == "SYSCALL" && matches!(key, "a0" | "a1" | "a2" | "a3");
        let decoded = if !quoted && !syscall_arg && is_encoded_field(key) { decode_hex(value) } else { None };
        let text = decoded.unwrap_or_else(|| value.to_owned());
        let name: Cow<'_, str> = if syscall_arg { Cow::Owned(format!("syscall.{key}")) } else { Cow::Borrowed(key) };
        if kind == "EXECVE"
            && is_arg(key)
            && let Some(n) = key.get(1..).and_then(|d| d.split('[').next()).and_then(|d| d.parse::<usize>().ok())
        {
            self.args.push((n, text.clone()));
        }
        self.add(&name, Value::Str(text.into()));
    }

    fn finish(self, b: &mut Builder) -> Option<Event> {
        if self.bad {
            return None;
        }
        let Group { serial, stamp, node, fields, mut args, .. } = self;
        if let Some(node) = node {
            b.push_named("node", Value::Str(node.into()));
        }
        for (name, value) in fields {
            b.push_named(&name, value);
        }
        if !args.is_empty() {
            args.sort_by_key(|(n, _)| *n);
            let cmdline = args.iter().map(|(_, a)| a.as_str()).collect::<Vec<_>>().join(" ");
            b.push_named("cmdline", Value::Str(cmdline.into()));
        }
        let ts = jiff::Timestamp::new(stamp.0, (stamp.1 as i32) * 1_000_000).ok();
        Some(
            b.finish_raw()
                .with_timestamp(ts)
                .with_record_id(Some(serial))
                .with_kind(super::RecordKind::by_name("linux.auditd")),
        )
    }
}

/// Parse the lines of one unit into events, one per serial, in order of first appearance.
pub(crate) fn process(
    buf: &[u8],
    first_line: u64,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let mut groups: Vec<Group> = Vec::new();
    let mut index_of: std::collections::HashMap<(u64, (i64, u32)), usize> = std::collections::HashMap::new();
    let mut errors: Vec<(usize, ReadError)> = Vec::new();
    for (line_no, line) in lines(buf, first_line) {
        let Some((node, kind, (secs, millis, serial), body)) = header(&line) else {
            let what = if line.trim_start().starts_with("type=") || line.trim_start().starts_with("node=") {
                "audit record cut short or malformed (no complete `type=… msg=audit(TIME:SERIAL):` header)"
            } else {
                "not an audit record"
            };
            errors.push((groups.len(), line_error(line_no, what.to_owned())));
            continue;
        };
        let index = match index_of.get(&(serial, (secs, millis))) {
            Some(&i) => i,
            None => {
                index_of.insert((serial, (secs, millis)), groups.len());
                groups.push(Group {
                    serial,
                    stamp: (secs, millis),
                    node: node.map(str::to_owned),
                    fields: Vec::new(),
                    index: std::collections::HashMap::new(),
                    args: Vec::new(),
                    bad: false,
                });
                groups.len() - 1
            }
        };
        let Some(group) = groups.get_mut(index) else { continue };
        if let Err(message) = group.record(kind, body) {
            group.bad = true;
            errors.push((index + 1, line_error(line_no, format!("{message}; event {serial} is left out"))));
        }
    }
    // Events and errors in input order (an error is reported after the events begun before it).
    let mut errors = errors.into_iter().peekable();
    for (i, group) in groups.into_iter().enumerate() {
        while let Some((_, err)) = errors.next_if(|(at, _)| *at <= i) {
            sink.error(err);
        }
        if let Some(event) = group.finish(b) {
            sink.event(event);
        }
    }
    for (_, err) in errors {
        sink.error(err);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn run(text: &str) -> Vec<Result<Event, ReadError>> {
        let mut b = Builder::default();
        let mut out: VecDeque<Result<Event, ReadError>> = VecDeque::new();
        let err = |line: u64, message: String| ReadError::TextLine { path: "a.log".into(), line, message };
        process(text.as_bytes(), 1, &mut b, &mut out, &err);
        out.into()
    }

    #[test]
    fn records_of_a_serial_are_one_event() {
        let text = "type=SYSCALL msg=audit(1492037291.036:59): arch=c000003e syscall=59 success=yes exit=0 a0=1522170 a1=1506120 items=2 ppid=12041 pid=13393 auid=1000 uid=1000 comm=\"grep\" exe=\"/usr/bin/grep\" key=\"user_commands\"\n\
type=EXECVE msg=audit(1492037291.036:59): argc=3 a0=\"grep\" a1=\"--color=auto\" a2=2F746D702F612062\n\
type=CWD msg=audit(1492037291.036:59): cwd=\"/home/u\"\n\
type=PATH msg=audit(1492037291.036:59): item=0 name=\"/usr/bin/grep\" nametype=NORMAL\n\
type=PATH msg=audit(1492037291.036:59): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" nametype=NORMAL\n\
type=PROCTITLE msg=audit(1492037291.036:59): proctitle=67726570002D2D636F6C6F723D6175746F\n\
type=USER_LOGIN msg=audit(1492037300.000:60): pid=1 uid=0 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" res=failed'\n";
        let items = run(text);
        assert_eq!(items.len(), 2);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.record_id(), Some(59));
        assert_eq!(e.timestamp().unwrap().to_string(), "2017-04-12T22:48:11.036Z");
        assert_eq!(e.get("a0"), Some(&Value::from("grep")));
        assert_eq!(e.get("a2"), Some(&Value::from("/tmp/a b")));
        assert_eq!(e.get("syscall.a0"), Some(&Value::from("1522170")));
        assert_eq!(e.get("cmdline"), Some(&Value::from("grep --color=auto /tmp/a b")));
        assert_eq!(e.get("proctitle"), Some(&Value::from("grep --color=auto")));
        assert_eq!(e.get("exe"), Some(&Value::from("/usr/bin/grep")));
        assert_eq!(e.get("cwd"), Some(&Value::from("/home/u")));
        let names = e.get("name").and_then(Value::as_list).unwrap();
        assert_eq!(names.len(), 2);
        let types = e.get("type").and_then(Value::as_list).unwrap();
        assert_eq!(
            types.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>(),
            ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH", "PROCTITLE"]
        );
        assert_eq!(e.kind().unwrap().name, "linux.auditd");
        let login = items[1].as_ref().unwrap();
        assert_eq!(login.get("acct"), Some(&Value::from("root")));
        assert_eq!(login.get("res"), Some(&Value::from("failed")));
        assert_eq!(login.get("exe"), Some(&Value::from("/usr/sbin/sshd")));
    }

    #[test]
    fn a_line_cut_in_half_drops_its_event_only() {
        let text = "type=SYSCALL msg=audit(1.000:1): comm=\"ls\" exe=\"/bin/ls\"\n\
type=EXECVE msg=audit(1.000:1): argc=1 a0=\"l\n\
type=SYSCALL msg=audit(2.000:2): comm=\"id\" exe=\"/usr/bin/id\"\n\
type=SYSCALL msg=audit(3.000:\n\
type=SYSCALL msg=audit(4.000:4): comm=\"w\"\n";
        let items = run(text);
        let ok: Vec<u64> = items.iter().filter_map(|i| i.as_ref().ok()?.record_id()).collect();
        assert_eq!(ok, [2, 4]);
        let errs: Vec<String> = items.iter().filter_map(|i| i.as_ref().err().map(ToString::to_string)).collect();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("a.log:2: unterminated quoted value of `a0`"), "{errs:?}");
        assert!(errs[1].starts_with("a.log:4: audit record cut short"), "{errs:?}");
    }

    #[test]
    fn hex_decoding_only_where_auditd_encodes() {
        assert_eq!(decode_hex("2F62696E2F7368"), Some("/bin/sh".into()));
        assert_eq!(decode_hex("abc"), None);
        assert_eq!(decode_hex("zz"), None);
        let items = run("type=SYSCALL msg=audit(1.5:9): a0=2F62 pid=1234 comm=6C73 ses=4294967295\n");
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.get("syscall.a0"), Some(&Value::from("2F62")));
        assert_eq!(e.get("pid"), Some(&Value::from("1234")));
        assert_eq!(e.get("comm"), Some(&Value::from("ls")));
        assert_eq!(serial_of(b"node=h type=X msg=audit(1.5:9): a=b"), Some(9));
        assert_eq!(serial_of(b"garbage"), None);
    }
}
