//! `sigil export`: the flat events `sigil hunt` sees, as one table that ClickHouse, Spark and DuckDB load.
//!
//! # Layout
//!
//! | column | type | what |
//! |---|---|---|
//! | `event_index` | `Int64` not null | position of the event in the export, from 0 (inputs in `sigil hunt` order) |
//! | `source` | `Utf8` not null | the file the event was read from |
//! | `record_id` | `Int64` | EVTX record id (or the JSON `EventRecordID`) |
//! | `timestamp` | `Timestamp(µs, UTC)` | event time |
//! | `computer`, `channel`, `provider` | `Utf8` | `Computer`, `Channel`, `Provider_Name` |
//! | `event_id` | `Int64` | `EventID` read as a number (`"4688"` too) |
//! | `fields` | `Map(Utf8, Utf8)` (values nullable) | every flattened field, as the engine names it, with its value as text |
//! | `kind` | `Utf8` | the record kind of a non-Windows event (`aws.cloudtrail`, `linux.auditd`, `web.access`, `zeek.dns`, ...), as `sigil hunt --format jsonl` prints it; null for Windows events and JSON of no recognised shape |
//! | `lists` | `Map(Utf8, List(Utf8))` (items nullable) | only the fields whose value is a list (a JSON array, the unnamed `Data` elements of a classic event): their items as text, nested lists flattened, as the engine reads them one by one; empty for most events |
//!
//! Why a map rather than one column per field: SigmaHQ rules read about 1,500 distinct fields across hundreds of
//! event types, any event type holds a few dozen of them, and logs bring fields no list knows in advance. A map
//! keeps one schema for every input (files exported at different times concatenate), costs nothing for absent
//! fields, and every target reads a key natively (`fields['Image']`). The fixed columns are what routing and
//! partitioning need (`kind`, `channel`, `provider`, `event_id`, `timestamp`), typed so that engines can prune on
//! them. `kind` came last (after `fields`) so that readers of the earlier layout, by name or by position, keep
//! working; a converted query routes on it (`kind IS NULL` for Windows logsources, `kind IN (...)` for the others,
//! as `sigil hunt` routes by the kind the reader gave).
//!
//! Values are text because the engine compares text: numbers render as JSON writes them (the engine reads
//! numeric text as numbers, so `EventID: 4688` still matches), booleans as `true`/`false`, a JSON `null` as a
//! null map value (the key is present: `exists` is true, `null` matches). A list keeps its key in `fields`, with
//! its items joined by `", "` (for reading by eye and for tools that ignore `lists`; the key order of `fields` is
//! the event's, which the converted queries' field-name fallback relies on), and its items in `lists` (an empty
//! list is an empty array). The engine tests a list item by item: `CommandLine|contains: 'a, b'` does not match
//! the list `["a", "b"]`, and `EventID: 4688` matches `[4624, 4688]`; the converted queries read `lists` for such
//! keys, so they select the same events (docs/convert.md, "Lists and dotted prefixes").
//! When an event has a field name twice, the last value is kept, as [`sigil_events::Event::get`] reads it.
//!
//! Why a second map rather than `Map(Utf8, List(Utf8))` for every value: most values are single texts (every
//! field of a Windows event but the unnamed `Data`), and a map of texts is what every engine reads fastest and
//! what a user writes by hand (`fields['Image']`); the query tests `lists` only when the key is in it. `lists`
//! came after `kind` so that readers of the earlier layouts keep working.
//!
//! Parquet is written in row groups of [`ROW_GROUP_ROWS`] events with Snappy compression; memory stays bounded
//! by one input batch plus one row group whatever the input size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    Int64Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use sigil_events::{Event, ReadOptions, Value};

/// Events per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// The format `sigil export` writes, chosen from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Apache Parquet, in row groups of [`ROW_GROUP_ROWS`] events.
    Parquet,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    /// `.parquet` or `.jsonl`/`.ndjson` (any case).
    pub fn from_path(path: &Path) -> Option<ExportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" => Some(ExportFormat::Parquet),
            "jsonl" | "ndjson" => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }
}

/// Why an export failed as a whole (input problems are warnings in [`ExportStats::warnings`]).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating or writing the output failed.
    #[error("{path}: {source}")]
    Io {
        /// The output file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("{path}: writing Parquet: {message}")]
    Parquet {
        /// The output file.
        path: PathBuf,
        /// The Parquet or Arrow error's message.
        message: String,
    },
    /// The output's extension names no [`ExportFormat`].
    #[error("{0}: the output must end in .parquet or .jsonl")]
    Format(PathBuf),
    /// The output path is one of the input files.
    #[error("{0}: refusing to overwrite one of the inputs")]
    OverwritesInput(PathBuf),
}

/// What an export read and wrote.
#[derive(Debug, Clone, Default)]
pub struct ExportStats {
    /// Input files read (including those with unreadable parts).
    pub files: usize,
    /// Events written.
    pub events: u64,
    /// Unreadable inputs, records and lines, each naming the file and position; the rest was exported.
    pub warnings: Vec<String>,
}

/// One event flattened into the table's row.
struct Row {
    source: Arc<str>,
    record_id: Option<i64>,
    timestamp: Option<i64>,
    computer: Option<String>,
    channel: Option<String>,
    provider: Option<String>,
    event_id: Option<i64>,
    fields: Vec<(String, Option<String>)>,
    kind: Option<&'static str>,
    /// The list-valued fields among `fields`: name and items (flattened, null items as `None`).
    lists: Vec<(String, Vec<Option<String>>)>,
}

/// A list's items as the engine reads them: nested lists flattened, nulls kept as `None`, the rest as text.
fn list_items(items: &[Value], out: &mut Vec<Option<String>>) {
    for item in items {
        match item {
            Value::List(inner) => list_items(inner, out),
            Value::Null => out.push(None),
            v => out.push(Some(v.as_str_lossy().into_owned())),
        }
    }
}

fn row(event: &Event, source: &Arc<str>) -> Row {
    let mut fields: Vec<(String, Option<String>)> = Vec::with_capacity(event.len());
    // Per entry of `fields`, the items when its (last) value is a list.
    let mut items: Vec<Option<Vec<Option<String>>>> = Vec::with_capacity(event.len());
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(event.len());
    for (name, value) in event.fields() {
        let text = match value {
            Value::Null => None,
            v => Some(v.as_str_lossy().into_owned()),
        };
        let list = value.as_list().map(|l| {
            let mut out = Vec::with_capacity(l.len());
            list_items(l, &mut out);
            out
        });
        match index.get(name) {
            Some(&i) => {
                if let (Some(slot), Some(l)) = (fields.get_mut(i), items.get_mut(i)) {
                    slot.1 = text;
                    *l = list;
                }
            }
            None => {
                index.insert(name, fields.len());
                fields.push((name.to_string(), text));
                items.push(list);
            }
        }
    }
    let lists = fields.iter().zip(items).filter_map(|((k, _), l)| Some((k.clone(), l?))).collect();
    Row {
        source: Arc::clone(source),
        record_id: event.record_id().and_then(|r| i64::try_from(r).ok()),
        timestamp: event.timestamp().map(|t| t.as_microsecond()),
        computer: event.computer().map(str::to_string),
        channel: event.channel().map(str::to_string),
        provider: event.provider().map(str::to_string),
        event_id: event.event_id().and_then(|r| i64::try_from(r).ok()),
        fields,
        kind: event.kind().map(|k| k.name),
        lists,
    }
}

/// Where rows go.
trait RowSink {
    fn push(&mut self, index: i64, row: Row) -> Result<(), ExportError>;
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}

struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    b: Builders,
    rows: usize,
}

struct Builders {
    index: Int64Builder,
    source: StringBuilder,
    record_id: Int64Builder,
    timestamp: TimestampMicrosecondBuilder,
    computer: StringBuilder,
    channel: StringBuilder,
    provider: StringBuilder,
    event_id: Int64Builder,
    fields: MapBuilder<StringBuilder, StringBuilder>,
    kind: StringBuilder,
    lists: MapBuilder<StringBuilder, ListBuilder<StringBuilder>>,
}

impl Builders {
    fn new() -> Builders {
        let names = MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() };
        Builders {
            index: Int64Builder::new(),
            source: StringBuilder::new(),
            record_id: Int64Builder::new(),
            timestamp: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            computer: StringBuilder::new(),
            channel: StringBuilder::new(),
            provider: StringBuilder::new(),
            event_id: Int64Builder::new(),
            fields: MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new()),
            kind: StringBuilder::new(),
            lists: MapBuilder::new(
                Some(MapFieldNames { entry: "key_value".into(), key: "key".into(), value: "value".into() }),
                StringBuilder::new(),
                ListBuilder::new(StringBuilder::new()),
            ),
        }
    }

    fn append(&mut self, index: i64, row: Row) -> Result<(), arrow_schema::ArrowError> {
        self.index.append_value(index);
        self.source.append_value(&*row.source);
        self.record_id.append_option(row.record_id);
        self.timestamp.append_option(row.timestamp);
        self.computer.append_option(row.computer);
        self.channel.append_option(row.channel);
        self.provider.append_option(row.provider);
        self.event_id.append_option(row.event_id);
        for (k, v) in row.fields {
            self.fields.keys().append_value(k);
            self.fields.values().append_option(v);
        }
        self.fields.append(true)?;
        self.kind.append_option(row.kind);
        for (k, items) in row.lists {
            self.lists.keys().append_value(k);
            let values = self.lists.values();
            for item in items {
                values.values().append_option(item);
            }
            values.append(true);
        }
        self.lists.append(true)?;
        Ok(())
    }

    fn columns(&mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.index.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.record_id.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.computer.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.provider.finish()),
            Arc::new(self.event_id.finish()),
            Arc::new(self.fields.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.lists.finish()),
        ]
    }
}

/// The Arrow schema of the export.
pub fn schema() -> Arc<Schema> {
    let mut empty = Builders::new();
    let map_type = arrow_array::Array::data_type(&empty.fields.finish()).clone();
    let lists_type = arrow_array::Array::data_type(&empty.lists.finish()).clone();
    Arc::new(Schema::new(vec![
        Field::new("event_index", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("record_id", DataType::Int64, true),
        Field::new("timestamp", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
        Field::new("computer", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("provider", DataType::Utf8, true),
        Field::new("event_id", DataType::Int64, true),
        Field::new("fields", map_type, false),
        Field::new("kind", DataType::Utf8, true),
        Field::new("lists", lists_type, false),
    ]))
}

impl ParquetSink {
    fn new(path: &Path) -> Result<ParquetSink, ExportError> {
        let file = File::create(path).map_err(|source| ExportError::Io { path: path.to_path_buf(), source })?;
        let schema = schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_size(ROW_GROUP_ROWS)
            .build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props))
            .map_err(|e| ExportError::Parquet { path: path.to_path_buf(), message: e.to_string() })?;
        Ok(ParquetSink { path: path.to_path_buf(), writer, schema, b: Builders::new(), rows: 0 })
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        if self.rows == 0 {
            return Ok(());
        }
        let err = |e: &dyn std::fmt::Display| ExportError::Parquet { path: self.path.clone(), message: e.to_string() };
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), self.b.columns()).map_err(|e| err(&e))?;
        self.writer.write(&batch).map_err(|e| err(&e))?;
        self.rows = 0;
        Ok(())
    }
}

impl RowSink for ParquetSink {
    fn push(&mut self, index: i64, row: Row) -> Result<(), ExportError> {
        self.b
            .append(index, row)
            .map_err(|e| ExportError::Parquet { path: self.path.clone(), message: e.to_string() })?;
        self.rows += 1;
        if self.rows >= 8192 {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush()?;
        let path = self.path.clone();
        self.writer.close().map_err(|e| ExportError::Parquet { path, message: e.to_string() })?;
        Ok(())
    }
}

struct JsonlSink {
    path: PathBuf,
    out: BufWriter<File>,
}

impl RowSink for JsonlSink {
    fn push(&mut self, index: i64, row: Row) -> Result<(), ExportError> {
        let mut fields = serde_json::Map::with_capacity(row.fields.len());
        for (k, v) in row.fields {
            fields.insert(k, v.map_or(serde_json::Value::Null, serde_json::Value::String));
        }
        let mut lists = serde_json::Map::with_capacity(row.lists.len());
        for (k, items) in row.lists {
            let items = items.into_iter().map(|i| i.map_or(serde_json::Value::Null, serde_json::Value::String));
            lists.insert(k, serde_json::Value::Array(items.collect()));
        }
        let ts = row.timestamp.and_then(|t| jiff::Timestamp::from_microsecond(t).ok()).map(|t| t.to_string());
        let obj = serde_json::json!({
            "event_index": index,
            "source": &*row.source,
            "record_id": row.record_id,
            "timestamp": ts,
            "computer": row.computer,
            "channel": row.channel,
            "provider": row.provider,
            "event_id": row.event_id,
            "fields": fields,
            "kind": row.kind,
            "lists": lists,
        });
        let io = |source| ExportError::Io { path: self.path.clone(), source };
        serde_json::to_writer(&mut self.out, &obj).map_err(|e| io(std::io::Error::other(e)))?;
        self.out.write_all(b"\n").map_err(io)
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.out.flush().map_err(|source| ExportError::Io { path: self.path.clone(), source })
    }
}

/// Reads every input under `paths` (as `sigil hunt` discovers them) in order and writes one table to `out`.
///
/// The output is written to a temporary file beside it and renamed at the end, so a failed export leaves no
/// half-written table and an existing file is replaced only by a complete one; an output that is one of the
/// inputs is refused. When no input could be read (`files` is 0) nothing is written at all.
///
/// # Errors
/// An [`ExportError`] when the output cannot be written. Unreadable inputs are warnings.
pub fn export(paths: &[PathBuf], out: &Path, opts: &ReadOptions) -> Result<ExportStats, ExportError> {
    let format = ExportFormat::from_path(out).ok_or_else(|| ExportError::Format(out.to_path_buf()))?;
    let (files, skipped) = sigil_events::discover(paths);
    let out_abs = std::fs::canonicalize(out).ok();
    if let Some(o) = &out_abs
        && files.iter().any(|f| std::fs::canonicalize(f).ok().as_ref() == Some(o))
    {
        return Err(ExportError::OverwritesInput(out.to_path_buf()));
    }
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".sigil-export-")
        .tempfile_in(dir)
        .map_err(|source| ExportError::Io { path: out.to_path_buf(), source })?;
    let tmp_path = tmp.path().to_path_buf();
    let mut sink: Box<dyn RowSink> = match format {
        ExportFormat::Parquet => Box::new(ParquetSink::new(&tmp_path)?),
        ExportFormat::Jsonl => {
            let file = tmp.reopen().map_err(|source| ExportError::Io { path: tmp_path.clone(), source })?;
            Box::new(JsonlSink { path: out.to_path_buf(), out: BufWriter::new(file) })
        }
    };
    let mut stats = ExportStats::default();
    for s in skipped {
        if let sigil_events::SkipReason::Unreadable(why) = &s.reason {
            stats.warnings.push(format!("{}: cannot read: {why}", s.path.display()));
        }
    }
    let mut failure: Option<ExportError> = None;
    for file in &files {
        let source = match sigil_events::open(file, opts) {
            Ok(s) => s,
            Err(e) => {
                stats.warnings.push(e.to_string());
                continue;
            }
        };
        stats.files += 1;
        let name: Arc<str> = Arc::from(file.display().to_string());
        source.for_each_batch(|batch| {
            for e in &batch.errors {
                stats.warnings.push(e.to_string());
            }
            for event in &batch.events {
                if failure.is_some() {
                    return;
                }
                let index = stats.events as i64;
                if let Err(e) = sink.push(index, row(event, &name)) {
                    failure = Some(e);
                    return;
                }
                stats.events += 1;
            }
        });
        if let Some(e) = failure.take() {
            return Err(e);
        }
    }
    sink.finish()?;
    if stats.files == 0 {
        // No input could be read: an empty table must not replace what the user had at `out` (the temporary
        // file is removed when dropped).
        return Ok(stats);
    }
    tmp.persist(out).map_err(|e| ExportError::Io { path: out.to_path_buf(), source: e.error })?;
    Ok(stats)
}

/// Builds record batches of the export's layout in memory, for callers that hand events on as Arrow rather than
/// as a file (the Python package's `sigil.read`): the same columns and values as [`export`] writes.
pub struct BatchBuilder {
    schema: Arc<Schema>,
    b: Builders,
    rows: usize,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        BatchBuilder { schema: schema(), b: Builders::new(), rows: 0 }
    }
}

impl BatchBuilder {
    /// Appends one event as row `index` (the `event_index` column) read from `source`.
    ///
    /// # Errors
    /// Only when Arrow refuses the row (a map entry without its key cannot happen here).
    pub fn push(&mut self, index: i64, event: &Event, source: &Arc<str>) -> Result<(), arrow_schema::ArrowError> {
        self.b.append(index, row(event, source))?;
        self.rows += 1;
        Ok(())
    }

    /// Rows pushed since the last [`BatchBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was pushed since the last [`BatchBuilder::finish`].
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The rows pushed so far as one batch; the builder starts afresh.
    ///
    /// # Errors
    /// Only when the columns disagree with the schema (a bug).
    pub fn finish(&mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), self.b.columns())
    }
}
