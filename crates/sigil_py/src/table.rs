//! Flat events as Arrow record batches, and the engine over them — the Python package's logic, in plain Rust so
//! that it is tested without Python.
//!
//! Input batches have the layout `sigil export` writes ([`sigil_convert::export::schema`]); columns are found by
//! name and cast where the engine that hands them over chose another Arrow type (Spark and Ray give
//! `LargeUtf8`/`Utf8View` strings, nanosecond timestamps in the session's zone, maps whose entries are named
//! `entries`). Only `fields` is required; `record_id`, `timestamp` and `kind` are read when present (`kind`, the
//! record kind of a non-Windows event, routes cloud and Linux events as `sigil hunt` does; without it every row
//! is routed as a Windows event), `event_index` and `source` are carried into the output.
//!
//! An event is rebuilt from its `fields` map: every value is text (a null value stays null), which the engine
//! reads as `sigil hunt` reads the typed original (numbers compare as numbers whatever their type). A key that is
//! also in the optional `lists` map (a JSON array, the unnamed `Data` elements of a classic event) is rebuilt as
//! the list of its items, so the engine tests them one by one as `sigil hunt` does; without `lists` (tables
//! written before it existed) such a value is the one text its items joined by `", "`.

#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray, UInt32Array};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use sigil_engine::{CompiledRule, Detection, Engine, HuntOptions, HuntSink, Match, Scratch};
use sigil_events::{Batch, Event, ReadError, RecordKind, Value};

/// Why a batch cannot be matched.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// A column the engine needs is missing.
    #[error("the batch has no '{0}' column (the layout of `sigil export`: event_index, source, ..., fields)")]
    Missing(&'static str),
    /// A column has a type that cannot be read as the layout's.
    #[error("column '{column}': {message}")]
    Type {
        /// The column's name.
        column: &'static str,
        /// What is wrong with its type.
        message: String,
    },
    /// The hunt could not start (no worker thread).
    #[error(transparent)]
    Hunt(#[from] sigil_engine::HuntError),
    /// Arrow refused to build the result (a bug).
    #[error("{0}")]
    Arrow(#[from] ArrowError),
}

/// The key a rule is known by in results: its id, else its name, else its title.
pub fn rule_key(rule: &CompiledRule) -> String {
    let info = &rule.info;
    info.id.clone().or_else(|| info.name.clone()).unwrap_or_else(|| info.title.clone())
}

fn level_text(rule: &CompiledRule) -> Option<&'static str> {
    rule.info.level.map(|l| l.as_str())
}

/// The columns of a batch the engine reads, cast to the layout's types.
struct Columns {
    rows: usize,
    fields: arrow_array::MapArray,
    keys: StringArray,
    values: StringArray,
    record_id: Option<Int64Array>,
    timestamp: Option<arrow_array::TimestampMicrosecondArray>,
    kind: Option<StringArray>,
    /// `lists`: per row, list-valued key → items.
    lists: Option<Lists>,
    event_index: Option<ArrayRef>,
    source: Option<ArrayRef>,
}

fn cast_to(batch: &RecordBatch, column: &'static str, to: &DataType) -> Result<Option<ArrayRef>, TableError> {
    let Some(array) = batch.column_by_name(column) else { return Ok(None) };
    if array.data_type() == to {
        return Ok(Some(Arc::clone(array)));
    }
    arrow_cast::cast(array, to)
        .map(Some)
        .map_err(|e| TableError::Type { column, message: format!("cannot read {} as {to}: {e}", array.data_type()) })
}

fn strings(array: &ArrayRef, column: &'static str) -> Result<StringArray, TableError> {
    let cast = if array.data_type() == &DataType::Utf8 {
        Arc::clone(array)
    } else {
        arrow_cast::cast(array, &DataType::Utf8).map_err(|e| TableError::Type {
            column,
            message: format!("cannot read {} as text: {e}", array.data_type()),
        })?
    };
    Ok(cast.as_string::<i32>().clone())
}

/// The `lists` column: a map of key to a list of texts.
struct Lists {
    map: arrow_array::MapArray,
    keys: StringArray,
    items: arrow_array::ListArray,
    texts: StringArray,
}

impl Lists {
    fn of(batch: &RecordBatch) -> Result<Option<Lists>, TableError> {
        let Some(column) = batch.column_by_name("lists") else { return Ok(None) };
        let wrong = || TableError::Type {
            column: "lists",
            message: format!("expected a map of field name to a list of texts, found {}", column.data_type()),
        };
        let map = column.as_map_opt().ok_or_else(wrong)?.clone();
        let keys = strings(map.keys(), "lists")?;
        let values = map.values();
        let items = match values.data_type() {
            DataType::List(_) => values.as_list::<i32>().clone(),
            DataType::LargeList(_) | DataType::ListView(_) | DataType::LargeListView(_) => {
                let to = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
                arrow_cast::cast(values, &to).map_err(|_| wrong())?.as_list::<i32>().clone()
            }
            _ => return Err(wrong()),
        };
        let texts = strings(items.values(), "lists")?;
        Ok(Some(Lists { map, keys, items, texts }))
    }

    /// The list-valued keys of row `row` with their items.
    fn row(&self, row: usize) -> Vec<(&str, Value)> {
        let offsets = self.map.value_offsets();
        let (start, end) = match (offsets.get(row), offsets.get(row + 1)) {
            (Some(&s), Some(&e)) if self.map.is_valid(row) => (s as usize, e as usize),
            _ => return Vec::new(),
        };
        let item_offsets = self.items.value_offsets();
        (start..end)
            .filter(|&i| self.keys.is_valid(i) && self.items.is_valid(i))
            .map(|i| {
                let (a, b) = match (item_offsets.get(i), item_offsets.get(i + 1)) {
                    (Some(&a), Some(&b)) => (a as usize, b as usize),
                    _ => (0, 0),
                };
                let items = (a..b)
                    .map(|j| if self.texts.is_valid(j) { Value::from(self.texts.value(j)) } else { Value::Null })
                    .collect();
                (self.keys.value(i), Value::List(items))
            })
            .collect()
    }
}

impl Columns {
    fn of(batch: &RecordBatch) -> Result<Columns, TableError> {
        let fields = batch.column_by_name("fields").ok_or(TableError::Missing("fields"))?;
        let fields = fields
            .as_map_opt()
            .ok_or_else(|| TableError::Type {
                column: "fields",
                message: format!("expected a map of field name to text, found {}", fields.data_type()),
            })?
            .clone();
        let keys = strings(fields.keys(), "fields")?;
        let values = strings(fields.values(), "fields")?;
        let record_id = cast_to(batch, "record_id", &DataType::Int64)?.map(|a| a.as_primitive::<Int64Type>().clone());
        let ts_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let timestamp =
            cast_to(batch, "timestamp", &ts_type)?.map(|a| a.as_primitive::<TimestampMicrosecondType>().clone());
        let kind = match batch.column_by_name("kind") {
            Some(a) => Some(strings(a, "kind")?),
            None => None,
        };
        Ok(Columns {
            rows: batch.num_rows(),
            fields,
            keys,
            values,
            record_id,
            timestamp,
            kind,
            lists: Lists::of(batch)?,
            event_index: cast_to(batch, "event_index", &DataType::Int64)?,
            source: cast_to(batch, "source", &DataType::Utf8)?,
        })
    }

    /// The event of row `row` (an empty event for a null map).
    fn event(&self, row: usize) -> Event {
        let offsets = self.fields.value_offsets();
        let (start, end) = match (offsets.get(row), offsets.get(row + 1)) {
            (Some(&s), Some(&e)) if self.fields.is_valid(row) => (s as usize, e as usize),
            _ => (0, 0),
        };
        let mut lists = self.lists.as_ref().map(|l| l.row(row)).unwrap_or_default();
        let event = Event::from_fields((start..end).filter(|&i| self.keys.is_valid(i)).map(|i| {
            let key = self.keys.value(i);
            let list = lists.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| std::mem::take(v));
            let value = match list {
                Some(items) => items,
                None if self.values.is_valid(i) => Value::from(self.values.value(i)),
                None => Value::Null,
            };
            (key, value)
        }));
        let timestamp = self
            .timestamp
            .as_ref()
            .filter(|t| t.is_valid(row))
            .and_then(|t| jiff::Timestamp::from_microsecond(t.value(row)).ok());
        let record_id =
            self.record_id.as_ref().filter(|r| r.is_valid(row)).and_then(|r| u64::try_from(r.value(row)).ok());
        let kind = self.kind.as_ref().filter(|k| k.is_valid(row)).and_then(|k| RecordKind::by_name(k.value(row)));
        event.with_timestamp(timestamp).with_record_id(record_id).with_kind(kind)
    }

    /// `event_index`, `source` and `record_id` of the given rows (nulls where the input has no such column).
    fn carried(&self, rows: &[u32]) -> Result<[ArrayRef; 3], TableError> {
        let idx = UInt32Array::from(rows.to_vec());
        let take = |a: &Option<ArrayRef>, t: DataType| -> Result<ArrayRef, TableError> {
            Ok(match a {
                Some(a) => arrow_select::take::take(a, &idx, None)?,
                None => arrow_array::new_null_array(&t, rows.len()),
            })
        };
        let record_id: Option<ArrayRef> = self.record_id.clone().map(|r| Arc::new(r) as ArrayRef);
        Ok([
            take(&self.event_index, DataType::Int64)?,
            take(&self.source, DataType::Utf8)?,
            take(&record_id, DataType::Int64)?,
        ])
    }
}

/// Every event of a batch in the export layout, rebuilt for the engine.
///
/// # Errors
/// When the batch has no `fields` map or a column has a type that cannot be read.
pub fn events(batch: &RecordBatch) -> Result<Vec<Event>, TableError> {
    let cols = Columns::of(batch)?;
    Ok((0..cols.rows).map(|r| cols.event(r)).collect())
}

/// The schema of [`match_batch`]'s result.
pub fn match_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int64, false),
        Field::new("event_index", DataType::Int64, true),
        Field::new("source", DataType::Utf8, true),
        Field::new("record_id", DataType::Int64, true),
        Field::new("rule_id", DataType::Utf8, true),
        Field::new("rule_title", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, true),
        Field::new("rule_path", DataType::Utf8, false),
    ]))
}

/// The schema of [`correlation_keys`]'s result.
pub fn key_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("row", DataType::Int64, false),
        Field::new("correlation", DataType::Utf8, false),
        Field::new("group_key", DataType::Utf8, false),
    ]))
}

/// The schema of [`correlate`]'s result.
pub fn alert_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("event_index", DataType::Int64, true),
        Field::new("source", DataType::Utf8, true),
        Field::new("record_id", DataType::Int64, true),
        Field::new("rule_id", DataType::Utf8, true),
        Field::new("rule_title", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, true),
        Field::new("rule_path", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("first", ts.clone(), false),
        Field::new("last", ts, false),
    ]))
}

/// Runs `f` on every matching (row, match) of the batch, in row order; silent rules (referenced only by
/// correlations without `generate`) are skipped as `sigil hunt` skips them when `all` is false.
fn each_match(
    engine: &Engine,
    cols: &Columns,
    scratch: &mut Scratch,
    all: bool,
    mut f: impl FnMut(usize, Match, &Event),
) {
    let mut found = Vec::new();
    for row in 0..cols.rows {
        let event = cols.event(row);
        found.clear();
        engine.matches(&event, scratch, &mut found);
        for m in &found {
            if all || !engine.is_silent(m.rule) {
                f(row, *m, &event);
            }
        }
    }
}

/// The detections of the engine's rules on every row of `batch`: one row per (event, rule), in row order, with
/// the input's `event_index`, `source` and `record_id` carried along.
///
/// # Errors
/// When the batch has no `fields` map or a column has a type that cannot be read.
pub fn match_batch(engine: &Engine, batch: &RecordBatch, scratch: &mut Scratch) -> Result<RecordBatch, TableError> {
    let cols = Columns::of(batch)?;
    let mut rows: Vec<u32> = Vec::new();
    let mut rules: Vec<u32> = Vec::new();
    each_match(engine, &cols, scratch, false, |row, m, _| {
        rows.push(row as u32);
        rules.push(m.rule);
    });
    let mut row = Int64Builder::with_capacity(rows.len());
    let (mut id, mut title, mut level, mut path) =
        (StringBuilder::new(), StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    for (r, rule) in rows.iter().zip(&rules) {
        let Some(rule) = engine.rules().get(*rule as usize) else { continue };
        row.append_value(i64::from(*r));
        id.append_option(rule.info.id.as_deref());
        title.append_value(&rule.info.title);
        level.append_option(level_text(rule));
        path.append_value(&rule.info.path);
    }
    let [event_index, source, record_id] = cols.carried(&rows)?;
    Ok(RecordBatch::try_new(
        match_schema(),
        vec![
            Arc::new(row.finish()),
            event_index,
            source,
            record_id,
            Arc::new(id.finish()),
            Arc::new(title.finish()),
            Arc::new(level.finish()),
            Arc::new(path.finish()),
        ],
    )?)
}

/// For each row that a rule referenced by a correlation matches: the correlation (its rule key) and the JSON
/// array of the `group-by` values the event falls into. Rows with the same (correlation, group_key) must be
/// correlated together ([`correlate`]); different keys never interact.
///
/// # Errors
/// When the batch has no `fields` map or a column has a type that cannot be read.
pub fn correlation_keys(
    engine: &Engine,
    batch: &RecordBatch,
    scratch: &mut Scratch,
) -> Result<RecordBatch, TableError> {
    let cols = Columns::of(batch)?;
    let mut row = Int64Builder::new();
    let (mut corr, mut key) = (StringBuilder::new(), StringBuilder::new());
    let mut seen: Vec<(u32, String)> = Vec::new();
    let mut last_row = usize::MAX;
    each_match(engine, &cols, scratch, true, |r, m, event| {
        if r != last_row {
            seen.clear();
            last_row = r;
        }
        for (c, group) in engine.correlation_groups(m, event) {
            let Some(rule) = engine.rules().get(c as usize) else { continue };
            let group = serde_json::Value::from(group).to_string();
            // Two rules of one correlation matching the same event: the event joins its group once.
            if seen.iter().any(|(sc, sg)| *sc == c && *sg == group) {
                continue;
            }
            row.append_value(r as i64);
            corr.append_value(rule_key(rule));
            key.append_value(&group);
            seen.push((c, group));
        }
    });
    Ok(RecordBatch::try_new(
        key_schema(),
        vec![Arc::new(row.finish()), Arc::new(corr.finish()), Arc::new(key.finish())],
    )?)
}

/// One correlation alert, as collected from the hunt.
struct Alert {
    rule: u32,
    position: u32,
    detail: sigil_engine::CorrelationDetail,
}

struct AlertSink<'e> {
    engine: &'e Engine,
    alerts: Mutex<Vec<Alert>>,
}

impl HuntSink for AlertSink<'_> {
    fn detections(&self, detections: &[Detection<'_>]) {
        let mut alerts = self.alerts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for d in detections {
            let Some(detail) = d.correlation else { continue };
            let Some(rule) = self.engine.rules().iter().position(|r| std::ptr::eq(r, d.rule)) else { continue };
            alerts.push(Alert { rule: rule as u32, position: d.position.1, detail: detail.clone() });
        }
    }

    /// The events are in memory: nothing to read, nothing to fail.
    fn read_error(&self, _error: &ReadError) {}
}

/// Evaluates the engine's correlation rules over the events of `batch` — meant for the events of one
/// (correlation, group_key) after a shuffle (see [`correlation_keys`]) — and returns their alerts. Events are
/// put in time order first, as `sigil hunt` feeds correlations. With `only`, alerts of other correlations are
/// left out (an event may belong to the groups of several correlations, and is then shuffled to each).
///
/// # Errors
/// When the batch has no `fields` map or a column has a type that cannot be read.
pub fn correlate(engine: &Engine, batch: &RecordBatch, only: Option<&str>) -> Result<RecordBatch, TableError> {
    let cols = Columns::of(batch)?;
    let mut order: Vec<(Option<i64>, u32)> = (0..cols.rows)
        .map(|r| {
            let t = cols.timestamp.as_ref().filter(|t| t.is_valid(r)).map(|t| t.value(r));
            (t, r as u32)
        })
        .collect();
    order.sort();
    let events: Vec<Event> = order.iter().map(|(_, r)| cols.event(*r as usize)).collect();
    let batches = vec![Batch { source: Arc::from(Path::new("batch")), seq: 0, events, errors: Vec::new() }];
    let sink = AlertSink { engine, alerts: Mutex::new(Vec::new()) };
    let opts = HuntOptions { jobs: 1, ..HuntOptions::default() };
    sigil_engine::hunt_batches(engine, batches, &opts, &sink).map_err(TableError::from)?;
    let alerts = sink.alerts.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    alert_batch(engine, &cols, &order, alerts, only)
}

fn alert_batch(
    engine: &Engine,
    cols: &Columns,
    order: &[(Option<i64>, u32)],
    alerts: Vec<Alert>,
    only: Option<&str>,
) -> Result<RecordBatch, TableError> {
    let mut rows = Vec::new();
    let (mut id, mut title, mut level, mut path, mut kind, mut group) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut value = Float64Builder::new();
    let mut first = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut last = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    for a in alerts {
        let Some(rule) = engine.rules().get(a.rule as usize) else { continue };
        if only.is_some_and(|o| o != rule_key(rule)) {
            continue;
        }
        let Some((_, row)) = order.get(a.position as usize) else { continue };
        rows.push(*row);
        id.append_option(rule.info.id.as_deref());
        title.append_value(&rule.info.title);
        level.append_option(level_text(rule));
        path.append_value(&rule.info.path);
        kind.append_value(a.detail.kind);
        let g: serde_json::Map<String, serde_json::Value> =
            a.detail.group.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
        group.append_value(serde_json::Value::Object(g).to_string());
        value.append_option(a.detail.value.is_finite().then_some(a.detail.value));
        first.append_value(a.detail.first.as_microsecond());
        last.append_value(a.detail.last.as_microsecond());
    }
    let [event_index, source, record_id] = cols.carried(&rows)?;
    Ok(RecordBatch::try_new(
        alert_schema(),
        vec![
            event_index,
            source,
            record_id,
            Arc::new(id.finish()),
            Arc::new(title.finish()),
            Arc::new(level.finish()),
            Arc::new(path.finish()),
            Arc::new(kind.finish()),
            Arc::new(group.finish()),
            Arc::new(value.finish()),
            Arc::new(first.finish()),
            Arc::new(last.finish()),
        ],
    )?)
}
