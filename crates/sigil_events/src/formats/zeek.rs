//! Zeek logs in Zeek's TSV format (`#separator`, `#fields`, `#types` headers). Zeek's JSON
//! logs are JSONL and read by the JSON reader; [`super::classify`] gives them their kind.
//!
//! Field names are Zeek's (`id.orig_h`, `query`, `uri`, …). Values are typed by `#types`:
//! `count`, `int` and `port` become numbers, `bool` (`T`/`F`) booleans, `set[…]` and
//! `vector[…]` lists (split on `#set_separator`); the unset marker (`-`) leaves the field
//! out and the empty marker (`(empty)`) is an empty string or list. `\xNN` escapes are decoded.
//! A log whose first row names the columns (`ts<TAB>uid<TAB>…`, as `zeek-cut -c` writes
//! without `#` headers) is read with those names, values untyped. The kind is `zeek.<#path>` (`zeek.dns`, `zeek.http`, …), from the `#path` header or else
//! the file name (`dns.log`), and the event time is `ts`.

use crate::Value;
use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::{FileCtx, Sink};
use crate::time::timestamp_of;

use super::text::{Header, TextFormat, lines, unescape_zeek};

/// The Zeek log a file holds, by its name: `dns.log`, `dns.09:00:00-10:00:00.log.gz`, …
pub(crate) fn path_from_file_name(path: &std::path::Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next()?;
    (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()))
        .then(|| stem.to_owned())
}

/// `1300475167.096535` as an exact timestamp (a float would round the microseconds).
fn epoch_text(s: &str) -> Option<jiff::Timestamp> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let nanos: i32 = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    jiff::Timestamp::new(secs, nanos).ok()
}

fn typed(value: &str, ty: Option<&str>, header: &Header) -> Value {
    let ty = ty.unwrap_or("string");
    if ty.starts_with("set[") || ty.starts_with("vector[") {
        if value == header.empty {
            return Value::List(Vec::new());
        }
        let inner = ty.split_once('[').map_or("string", |(_, r)| r.trim_end_matches(']'));
        return Value::List(
            value.split(header.set_separator.as_str()).map(|v| typed(v, Some(inner), header)).collect(),
        );
    }
    if value == header.empty {
        return Value::Str("".into());
    }
    match ty {
        "count" | "int" | "port" => value.parse::<i64>().map_or_else(|_| Value::Str(value.into()), Value::Int),
        "time" | "interval" | "double" => value.parse::<f64>().map_or_else(|_| Value::Str(value.into()), Value::Float),
        "bool" => match value {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            other => Value::Str(other.into()),
        },
        _ => Value::Str(unescape_zeek(value).as_ref().into()),
    }
}

/// Parse the TSV lines of one unit, `header` being the state at its start.
pub(crate) fn process_tsv(
    buf: &[u8],
    first_line: u64,
    header: &Header,
    ctx: &FileCtx<'_>,
    b: &mut Builder,
    sink: &mut dyn Sink,
    line_error: &dyn Fn(u64, String) -> ReadError,
) {
    let mut header = std::borrow::Cow::Borrowed(header);
    let mut types: Vec<String> = Vec::new();
    let file_path = path_from_file_name(ctx.path);
    let mut kind_for: Option<String> = None;
    let mut kind = super::zeek_kind("");
    for (line_no, line) in lines(buf, first_line) {
        if line.starts_with('#') {
            let sep = char::from(header.separator);
            if let Some(t) = line.strip_prefix("#types").and_then(|r| r.strip_prefix(sep)) {
                types = t.split(sep).map(str::to_owned).collect();
            }
            header.to_mut().directive(&line, TextFormat::Zeek);
            continue;
        }
        if header.fields.is_empty() {
            // zeek-cut with -c / btest baselines without `#` headers: a first row naming the columns.
            if line.starts_with("ts\t") {
                header.to_mut().fields = line.split('\t').map(str::to_owned).collect();
                continue;
            }
            sink.error(line_error(line_no, "Zeek log line before any `#fields` header".into()));
            continue;
        }
        let values: Vec<&str> = line.split(char::from(header.separator)).collect();
        if values.len() != header.fields.len() {
            sink.error(line_error(
                line_no,
                format!("{} values where `#fields` names {} (line cut short?)", values.len(), header.fields.len()),
            ));
            continue;
        }
        let log = header.path.as_deref().or(file_path.as_deref());
        if let Some(log) = log {
            b.push_named("_path", Value::Str(log.into()));
        }
        let mut ts = None;
        for (i, (name, value)) in header.fields.iter().zip(&values).enumerate() {
            if *value == header.unset {
                continue;
            }
            let v = typed(value, types.get(i).map(String::as_str), &header);
            if name == "ts" {
                ts = epoch_text(value).or_else(|| timestamp_of(&v));
            }
            b.push_named(name, v);
        }
        if kind_for.as_deref() != log {
            kind_for = log.map(str::to_owned);
            kind = log.and_then(super::zeek_kind).or_else(|| super::zeek_kind(""));
        }
        sink.event(b.finish_raw().with_timestamp(ts).with_kind(kind));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::path::Path;

    use super::*;
    use crate::{Event, ReadOptions};

    #[test]
    fn tsv_with_types_sets_and_unset() {
        let text = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
#fields\tts\tuid\tid.orig_h\tquery\tZ\tanswers\trejected\n\
#types\ttime\tstring\taddr\tstring\tcount\tvector[string]\tbool\n\
1300475167.096535\tC1\t141.142.220.202\tgemini.local\t1\ta.b,c\\x2cd\tF\n\
XXXXXXXXXX.XXXXXX\tC2\t::1\t-\t0\t(empty)\tT\n\
1\t2\n";
        let opts = ReadOptions::default();
        let ctx = FileCtx { path: Path::new("x.log"), opts: &opts };
        let mut b = Builder::default();
        let mut out: VecDeque<Result<Event, ReadError>> = VecDeque::new();
        let err = |line: u64, message: String| ReadError::TextLine { path: "x.log".into(), line, message };
        process_tsv(text.as_bytes(), 1, &Header::default(), &ctx, &mut b, &mut out, &err);
        let items: Vec<_> = out.into();
        assert_eq!(items.len(), 3);
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.kind().unwrap().name, "zeek.dns");
        assert_eq!(e.get("_path"), Some(&Value::from("dns")));
        assert_eq!(e.get("Z"), Some(&Value::Int(1)));
        assert_eq!(e.get("rejected"), Some(&Value::Bool(false)));
        assert_eq!(e.get("answers"), Some(&Value::List(vec!["a.b".into(), "c,d".into()])));
        assert_eq!(e.timestamp().unwrap().to_string(), "2011-03-18T19:06:07.096535Z");
        let e = items[1].as_ref().unwrap();
        assert_eq!(e.get("query"), None);
        assert_eq!(e.get("answers"), Some(&Value::List(vec![])));
        assert_eq!(e.timestamp(), None);
        assert!(items[2].as_ref().unwrap_err().to_string().starts_with("x.log:10: 2 values"));
        assert_eq!(path_from_file_name(Path::new("/x/dns.09:00:00-10:00:00.log.gz")).as_deref(), Some("dns"));
    }
}
