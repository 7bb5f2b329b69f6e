//! The printer of a hunt: how detections and the hunt's summary are written, for people and for tools.
//!
//! Used by the CLI (`sigil hunt`) and meant for every other place that reports detections (a daemon, converters
//! replaying their results). It knows nothing about terminals: the width, colours and time zone are given to it.
//!
//! ```text
//!  sigil_engine::Detection ──Printer::detection──▶ bytes (table row, JSON line or CSV record)
//!  HuntStats + BuildReport ──Summary::build──────▶ Summary ──render_text / serde──▶ text or JSON
//! ```
//!
//! # Formats
//! - [`Format::Jsonl`]: one JSON object per detection, the [`DetectionRecord`] shape (stable: scripts read it).
//! - [`Format::Csv`]: a header row, then one record per detection ([`CSV_HEADER`]; stable).
//! - [`Format::Table`]: aligned columns for people, laid out for the width given ([`table`]).
//!
//! # Invariants
//! - Every detection is written as one unit into a caller's buffer: [`Printer::detection`] only appends, so
//!   callers on several threads render in parallel and write whole buffers (no interleaved rows).
//! - JSON lines and CSV records never contain a raw newline inside a record except where CSV quotes it, and
//!   their bytes do not depend on the width, colour or time zone options (JSON and CSV times are UTC).
//! - A table row never contains a control character from the input: they are escaped (`\n`, `\t`, `\x1b`), so
//!   an event cannot move the cursor or recolour the terminal. With a width, no line is longer than the width
//!   (counted in terminal columns) unless the width is below [`table::MIN_WIDTH`].
//! - Nothing here panics on any input; an unwritable value is skipped, never half-written.

#![warn(missing_docs, unreachable_pub)]

mod json;
mod record;
pub mod summary;
pub mod table;
pub mod text;

use std::io::Write as _;

use sigil_engine::Detection;
use table::TimeZoneChoice;

pub use record::{CorrelationRecord, DetectionRecord};

/// An output format for detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people: time, computer, channel, event id, level, rule, key fields.
    Table,
    /// One JSON object per detection ([`DetectionRecord`]).
    Jsonl,
    /// Comma-separated values with a header row ([`CSV_HEADER`]).
    Csv,
}

/// The header row of [`Format::Csv`], with its line end.
pub const CSV_HEADER: &str = "timestamp,computer,channel,event_id,record_id,level,rule_id,rule_title,tags,source,\
                              key_fields,event,correlation_group,correlation_value\n";

/// How detections are printed.
#[derive(Debug, Clone)]
pub struct PrinterOptions {
    /// The format.
    pub format: Format,
    /// Colour the table's level column with ANSI escapes (the caller decides: only on a terminal).
    pub color: bool,
    /// The table's width in terminal columns; `None` for a pipe or a file: one detection per line, every value
    /// whole (control characters escaped).
    pub width: Option<usize>,
    /// Show every value whole in a table of a given width, wrapped within its column over several lines.
    pub full: bool,
    /// The time zone of the table's TIME column (JSON lines and CSV stay in UTC).
    pub timezone: TimeZoneChoice,
    /// Add why each detection fired (`sigil hunt --explain`): the JSON lines' `explanation` key and a short form
    /// at the start of the table's key fields. The CSV layout is fixed and does not carry it.
    pub explain: bool,
}

impl Default for PrinterOptions {
    fn default() -> PrinterOptions {
        PrinterOptions {
            format: Format::Table,
            color: false,
            width: None,
            full: false,
            timezone: TimeZoneChoice::Utc,
            explain: false,
        }
    }
}

/// Renders detections in one format. Cheap to share between threads (`&Printer` is all a worker needs).
#[derive(Debug, Clone)]
pub struct Printer {
    opts: PrinterOptions,
    layout: table::Layout,
    /// An event without fields: stands in for an event already written once in [`Printer::detections`].
    empty: sigil_events::Event,
}

impl Printer {
    /// A printer for these options; the table layout is computed once, here.
    pub fn new(opts: PrinterOptions) -> Printer {
        let layout = table::Layout::new(opts.width);
        let empty = sigil_events::Event::from_fields(std::iter::empty::<(&str, sigil_events::Value)>());
        Printer { opts, layout, empty }
    }

    /// The options given.
    pub fn options(&self) -> &PrinterOptions {
        &self.opts
    }

    /// Appends the header (the table's column names or the CSV header row; nothing for JSON lines). Written once,
    /// before the first detection.
    pub fn header(&self, buf: &mut Vec<u8>) {
        match self.opts.format {
            Format::Jsonl => {}
            Format::Csv => buf.extend_from_slice(CSV_HEADER.as_bytes()),
            Format::Table => table::header(buf, &self.layout, &self.opts),
        }
    }

    /// Appends detections in order: the same bytes as [`Printer::detection`] for each. In JSON lines, an event
    /// that matched several rules (detections of one event follow each other) is serialised once: the lines after
    /// the first copy its `event` object.
    pub fn detections(&self, buf: &mut Vec<u8>, detections: &[Detection<'_>]) {
        if self.opts.format != Format::Jsonl || self.opts.explain {
            for d in detections {
                self.detection(buf, d);
            }
            return;
        }
        // The last event written, and where its JSON sits in `buf`.
        let mut last: Option<(&sigil_events::Event, std::ops::Range<usize>)> = None;
        for d in detections {
            if d.correlation.is_some() {
                self.detection(buf, d);
                continue;
            }
            if let Some((event, json)) = &last
                && std::ptr::eq(*event, d.event)
                && self.detection_with_event(buf, d, json.clone())
            {
                continue;
            }
            let start = buf.len();
            self.detection(buf, d);
            last = event_json(buf.get(start..).unwrap_or_default()).map(|r| (d.event, start + r.start..start + r.end));
        }
    }

    /// Appends the JSON line of `d` (no correlation, no explanation) with the event's JSON copied from `event`, a
    /// range of `buf`; `false` (and nothing appended) when the record did not end as expected.
    fn detection_with_event(&self, buf: &mut Vec<u8>, d: &Detection<'_>, event: std::ops::Range<usize>) -> bool {
        let start = buf.len();
        let mut record = DetectionRecord::new(d);
        record.event = &self.empty;
        // The record ends with its last field, `"event":{}`, then the object's `}`.
        if json::write(buf, &record).is_ok() && buf.ends_with(b"{}}") && event.end <= start {
            buf.truncate(buf.len() - 3);
            buf.extend_from_within(event);
            buf.extend_from_slice(b"}\n");
            return true;
        }
        buf.truncate(start);
        false
    }

    /// Appends one detection, with its line end(s).
    pub fn detection(&self, buf: &mut Vec<u8>, d: &Detection<'_>) {
        match self.opts.format {
            Format::Jsonl => {
                let start = buf.len();
                let mut record = DetectionRecord::new(d);
                if self.opts.explain {
                    record.explanation = d.explanation().map(|e| e.selections);
                }
                if json::write(buf, &record).is_ok() {
                    buf.push(b'\n');
                } else {
                    buf.truncate(start);
                }
            }
            Format::Csv => csv_record(buf, d),
            Format::Table => table::row(buf, &self.layout, &self.opts, d),
        }
    }
}

/// The range of the `event` object in one JSON line of a detection without correlation or explanation (then
/// `event` is the last field: the line ends with `,"event":{...}}` and a newline). The first `,"event":` is the key:
/// inside a JSON string every `"` is escaped, so a value cannot hold that sequence.
fn event_json(line: &[u8]) -> Option<std::ops::Range<usize>> {
    const KEY: &[u8] = b",\"event\":";
    let at = line.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let end = line.len().checked_sub(2)?;
    (line.get(end..) == Some(b"}\n") && line.get(at) == Some(&b'{') && at < end).then_some(at..end)
}

/// The time as the CSV gives it: UTC with milliseconds (`2024-03-01T10:00:00.123Z`), or empty.
fn csv_time(d: &Detection<'_>) -> String {
    d.event.timestamp().map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}

/// The level's name, or `-` for a rule without one.
pub fn level_text(level: Option<sigil_rule::Level>) -> &'static str {
    level.map_or("-", sigil_rule::Level::as_str)
}

/// The event as compact JSON text (the CSV's `event` column).
fn event_text(event: &sigil_events::Event) -> String {
    let mut buf = Vec::new();
    if json::write(&mut buf, event).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

fn csv_record(buf: &mut Vec<u8>, d: &Detection<'_>) {
    let ev = d.event;
    let keys = d.key_fields().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let row = [
        csv_time(d),
        ev.display_host().unwrap_or_default().into_owned(),
        ev.display_channel().unwrap_or_default().into_owned(),
        ev.event_id().map(|i| i.to_string()).unwrap_or_default(),
        ev.record_id().map(|i| i.to_string()).unwrap_or_default(),
        level_text(d.rule.info.level).to_string(),
        d.rule.info.id.clone().unwrap_or_default(),
        d.rule.info.title.clone(),
        d.rule.info.tags.join(";"),
        d.source.display().to_string(),
        keys,
        event_text(d.event),
        d.correlation
            .map(|c| c.group.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
            .unwrap_or_default(),
        d.correlation.map(|c| sigil_engine::number_text(c.value)).unwrap_or_default(),
    ];
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    if w.write_record(&row).is_ok()
        && let Ok(bytes) = w.into_inner()
    {
        let _ = buf.write_all(&bytes);
    }
}
