//! JSON → flat [`Event`], in one pass over the JSON text.
//!
//! The serde visitors here write field names straight into the event's name buffer and values
//! into its field list, so no JSON tree is built. See the crate docs for the naming rules.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::event::{Event, Field};
use crate::time::timestamp_of;
use crate::{ReadOptions, Value};

/// Reusable state for building events; one per thread or work unit.
#[derive(Default)]
pub(crate) struct Builder {
    /// Names of `fields`, concatenated.
    names: String,
    fields: Vec<Field>,
    /// Dotted prefix of the plain JSON object being read, ending in `.` unless empty.
    path: String,
    /// Names of the open Windows elements, concatenated (each a suffix starting at a
    /// position its seed remembers).
    elems: String,
    /// Greater than zero inside an array: fields whose name already exists merge into a list.
    merge: u32,
    /// Objects and arrays open around the current value.
    depth: u32,
    timestamp: Option<Timestamp>,
    record_id: Option<u64>,
    /// While a record is traced (see [`Builder::start_trace`]): for each field pushed, where its
    /// value came from.
    trace: Option<Vec<Origin>>,
    /// Whether a trace was asked for and is still replayable (no values merged into lists).
    tracing: bool,
    /// Set while [`Builder::push_system`] pushes.
    in_system: bool,
}

/// Where a traced field's value came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin {
    /// The address of the decoder's value being read when the field was pushed (see
    /// [`set_value_origin`]), or 0 for a value that no decoded value was being read for.
    pub(crate) value: usize,
    /// Pushed by [`Builder::push_system`] (its clean-ups apply).
    pub(crate) system: bool,
}

thread_local! {
    /// See [`set_value_origin`].
    static VALUE_ORIGIN: Cell<usize> = const { Cell::new(0) };
}

/// Record that the decoder is handing the visitors the value at address `addr` (0: none), so
/// that a traced record knows which value each field came from. Only addresses are compared;
/// nothing is read through them.
pub(crate) fn set_value_origin(addr: usize) {
    VALUE_ORIGIN.with(|origin| origin.set(addr));
}

/// Deepest nesting of objects and arrays read. Real events nest a few levels; the limit keeps
/// the recursive visitors far from the end of a thread's stack on hostile input.
const MAX_DEPTH: u32 = 64;

/// Run `f` one nesting level deeper, failing past [`MAX_DEPTH`].
fn nested<E: de::Error>(b: &mut Builder, f: impl FnOnce(&mut Builder) -> Result<(), E>) -> Result<(), E> {
    if b.depth >= MAX_DEPTH {
        return Err(E::custom(format_args!("objects and arrays nested deeper than {MAX_DEPTH} levels")));
    }
    b.depth += 1;
    let result = f(b);
    b.depth -= 1;
    result
}

/// Reads past a value, with the nesting limit. Not `serde::de::IgnoredAny`: sonic-rs skips an ignored value
/// recursively with no depth limit, so hostile nesting there would overflow the stack.
struct Skip(u32);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.deeper()?;
        while seq.next_element_seed(Skip(depth))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.deeper()?;
        while map.next_key_seed(Skip(depth))?.is_some() {
            map.next_value_seed(Skip(depth))?;
        }
        Ok(())
    }
}

impl Skip {
    fn deeper<E: de::Error>(self) -> Result<u32, E> {
        if self.0 >= MAX_DEPTH {
            return Err(E::custom(format_args!("objects and arrays nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(self.0 + 1)
    }
}

/// Values an EVTX record header supplies when the rendered record lacks them.
#[derive(Clone, Copy, Default)]
pub(crate) struct Fallback {
    pub(crate) record_id: Option<u64>,
    pub(crate) timestamp: Option<Timestamp>,
}

impl Builder {
    fn reset(&mut self) {
        self.names.clear();
        self.fields.clear();
        self.path.clear();
        self.elems.clear();
        self.merge = 0;
        self.depth = 0;
        self.timestamp = None;
        self.record_id = None;
    }

    /// Start tracing the next record: [`Builder::take_trace`] then tells where each of its fields'
    /// values came from.
    pub(crate) fn start_trace(&mut self) {
        set_value_origin(0);
        self.trace = Some(Vec::new());
        self.tracing = true;
    }

    /// The origins of the traced record's fields, in order; `None` when it merged values into
    /// lists (their items come from several values), which a trace cannot replay.
    pub(crate) fn take_trace(&mut self) -> Option<Vec<Origin>> {
        let trace = self.trace.take();
        let ok = std::mem::take(&mut self.tracing);
        set_value_origin(0);
        trace.filter(|_| ok)
    }

    /// Add a field whose name is `names[start..]`.
    fn push(&mut self, start: usize, value: Value) {
        if self.tracing && (self.merge > 0 || matches!(value, Value::List(_))) {
            self.tracing = false;
        }
        let value = if self.merge > 0 {
            match self.merge_existing(start, value) {
                Some(value) => value,
                None => {
                    self.names.truncate(start);
                    return;
                }
            }
        } else {
            value
        };
        let len = self.names.len().saturating_sub(start);
        match (u32::try_from(start), u32::try_from(len)) {
            (Ok(start), Ok(len)) => {
                self.fields.push(Field { start, len, value });
                if let Some(trace) = &mut self.trace {
                    trace.push(Origin { value: VALUE_ORIGIN.with(Cell::get), system: self.in_system });
                }
            }
            // Only past 4 GiB of names in one event, which input size limits rule out.
            _ => self.names.truncate(start),
        }
    }

    /// In an array, a field named like an earlier one takes the new value into a list;
    /// returns the value when there is no such field.
    fn merge_existing(&mut self, start: usize, value: Value) -> Option<Value> {
        let Some(name) = self.names.get(start..) else { return Some(value) };
        let names = &self.names;
        let Some(field) = self.fields.iter_mut().rev().find(|f| {
            let s = f.start as usize;
            names.get(s..s + f.len as usize) == Some(name)
        }) else {
            return Some(value);
        };
        let items = match &mut field.value {
            Value::List(items) => items,
            old => {
                *old = Value::List(vec![std::mem::take(old)]);
                match old {
                    Value::List(items) => items,
                    _ => return None,
                }
            }
        };
        match value {
            Value::List(more) => items.extend(more),
            other => items.push(other),
        }
        None
    }

    pub(crate) fn push_named(&mut self, name: &str, value: Value) {
        let start = self.names.len();
        self.names.push_str(name);
        self.push(start, value);
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .rev()
            .find(|f| {
                let s = f.start as usize;
                self.names.get(s..s + f.len as usize) == Some(name)
            })
            .map(|f| &f.value)
    }

    /// A `System` field: numbers kept as decimal strings by some renderers become integers,
    /// nulls (`Correlation`, `Security` without attributes) are left out, and `TimeCreated`
    /// and `EventRecordID` feed the event's time and id.
    fn push_system(&mut self, start: usize, value: Value) {
        let Some(name) = self.names.get(start..) else { return };
        if value.is_null() {
            self.names.truncate(start);
            return;
        }
        let value = system_value(name, value);
        system_role(name, &value, &mut self.timestamp, &mut self.record_id);
        self.in_system = true;
        self.push(start, value);
        self.in_system = false;
    }

    fn finish(&mut self, opts: &ReadOptions, fallback: Fallback) -> Event {
        let fields = self.fields.drain(..).collect();
        let event = finish_event(self.names.as_str().into(), fields, self.timestamp, self.record_id, opts, fallback);
        self.reset();
        event
    }

    /// The event built so far, with no timestamp or record id lookup.
    pub(crate) fn finish_raw(&mut self) -> Event {
        let event = Event::from_parts(self.names.as_str().into(), self.fields.drain(..).collect(), None, None);
        self.reset();
        event
    }

    /// Parse one JSON text: an object gives one event, an array one event per element.
    /// Events before an error stay in `out`.
    pub(crate) fn parse_object(&mut self, json: &[u8], opts: &ReadOptions, out: &mut Vec<Event>) -> Result<(), String> {
        self.parse_with_fallback(json, opts, Fallback::default(), out)
    }

    pub(crate) fn parse_with_fallback(
        &mut self,
        json: &[u8],
        opts: &ReadOptions,
        fallback: Fallback,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        let mut de = sonic_rs::Deserializer::from_slice(json);
        TopSeed { b: self, opts, fallback, out }.deserialize(&mut de).map_err(|e| json_error(&e))?;
        de.end().map_err(|e| json_error(&e))
    }

    /// Parse the JSON texts of `fallbacks.len()` events, one after the other in `json`
    /// (separated by whitespace), with one deserializer, so that its buffer for unescaping
    /// strings grows once instead of once per event (about 7% of the parse time otherwise).
    ///
    /// All or nothing: unless there are exactly that many texts and all parse, returns
    /// `false` with `out` as it was, and the caller parses them one by one to report errors.
    pub(crate) fn parse_many(
        &mut self,
        json: &[u8],
        opts: &ReadOptions,
        fallbacks: impl IntoIterator<Item = Fallback>,
        out: &mut Vec<Event>,
    ) -> bool {
        let mark = out.len();
        let mut de = sonic_rs::Deserializer::from_slice(json);
        for fallback in fallbacks {
            let seed = TopSeed { b: &mut *self, opts, fallback, out: &mut *out };
            if seed.deserialize(&mut de).is_err() {
                out.truncate(mark);
                return false;
            }
        }
        if de.end().is_err() {
            out.truncate(mark);
            return false;
        }
        true
    }

    /// Flatten the one object `d` yields (as [`Builder::parse_with_fallback`] does a JSON text),
    /// from any serde data source: the direct EVTX decoder feeds its records through here.
    pub(crate) fn parse_from<'de, D: Deserializer<'de>>(
        &mut self,
        d: D,
        opts: &ReadOptions,
        fallback: Fallback,
        out: &mut Vec<Event>,
    ) -> Result<(), D::Error> {
        TopSeed { b: self, opts, fallback, out }.deserialize(d)
    }

    pub(crate) fn parse_object_value(
        &mut self,
        json: &serde_json::Value,
        opts: &ReadOptions,
        out: &mut Vec<Event>,
    ) -> Result<(), String> {
        TopSeed { b: self, opts, fallback: Fallback::default(), out }.deserialize(json).map_err(|e| e.to_string())
    }
}

/// A `System` field's value, cleaned as [`Builder::push_system`] cleans it: numbers kept as
/// decimal strings become integers. (Nulls, which it leaves out, are the caller's.)
pub(crate) fn system_value(name: &str, value: Value) -> Value {
    match value {
        Value::Str(s) if is_numeric_system_field(name) => match s.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Str(s),
        },
        other => other,
    }
}

/// Whether a `System` field named `name` is cleaned by [`system_value`] or sets something
/// through [`system_role`].
pub(crate) fn system_field_matters(name: &str) -> bool {
    is_numeric_system_field(name) || name == "TimeCreated"
}

/// What a `System` field named `name` sets: `TimeCreated` the event's time, `EventRecordID` its
/// record id.
pub(crate) fn system_role(name: &str, value: &Value, timestamp: &mut Option<Timestamp>, record_id: &mut Option<u64>) {
    match name {
        "TimeCreated" => *timestamp = timestamp_of(value),
        "EventRecordID" => *record_id = value.as_u64(),
        _ => {}
    }
}

/// The event of `names` and `fields`, with its time and record id: those a `System` field gave,
/// else the header's (`fallback`), else the first readable field of
/// [`ReadOptions::timestamp_fields`] and an `EventRecordID` field.
pub(crate) fn finish_event(
    names: Arc<str>,
    fields: Box<[Field]>,
    timestamp: Option<Timestamp>,
    record_id: Option<u64>,
    opts: &ReadOptions,
    fallback: Fallback,
) -> Event {
    let event = Event::from_parts(names, fields, None, None);
    let mut timestamp = timestamp.or(fallback.timestamp);
    if timestamp.is_none() {
        timestamp = opts.timestamp_fields.iter().find_map(|name| event.get(name).and_then(timestamp_of));
    }
    let record_id = record_id.or(fallback.record_id).or_else(|| event.get("EventRecordID").and_then(Value::as_u64));
    event.with_timestamp(timestamp).with_record_id(record_id)
}

/// sonic-rs error text, first line only (it may add a snippet of the input).
fn json_error(err: &sonic_rs::Error) -> String {
    let text = err.to_string();
    match text.split_once('\n') {
        Some((first, _)) => first.trim_end().to_owned(),
        None => text,
    }
}

/// `System` fields that are numbers in the Windows schema.
fn is_numeric_system_field(name: &str) -> bool {
    matches!(
        name,
        "EventID"
            | "Version"
            | "Level"
            | "Task"
            | "Opcode"
            | "EventRecordID"
            | "Execution_ProcessID"
            | "Execution_ThreadID"
            | "EventID_Qualifiers"
    )
}

/// Whether an attribute is an XML namespace declaration, which carries no event data.
fn is_xmlns(attr: &str) -> bool {
    attr == "xmlns" || attr.starts_with("xmlns:")
}

/// Where a Windows element sits, which decides how its fields are named and cleaned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// `System`: leaf names, with the clean-ups of [`Builder::push_system`].
    System,
    /// `EventData`, `UserData` and any other part of `Event`: leaf names.
    Data,
    /// `RenderingInfo`: names prefixed with `RenderingInfo.`, as its `Level`, `Task`, ...
    /// would otherwise shadow the numeric `System` fields.
    Rendering,
}

impl Ctx {
    fn prefix(self) -> &'static str {
        match self {
            Ctx::Rendering => "RenderingInfo.",
            Ctx::System | Ctx::Data => "",
        }
    }
}

/// The sections of a Windows record, recognised by key.
#[derive(Clone, Copy)]
enum Section {
    /// The `Event` wrapper of evtx-style JSON.
    Event,
    /// An element holding elements, named as `ctx` says.
    Elements(Ctx),
}

fn section_of(key: &str) -> Option<Section> {
    match key {
        "Event" => Some(Section::Event),
        "System" => Some(Section::Elements(Ctx::System)),
        "EventData" | "UserData" => Some(Section::Elements(Ctx::Data)),
        "RenderingInfo" => Some(Section::Elements(Ctx::Rendering)),
        _ => None,
    }
}

/// The scalar `visit_*` methods, each handing a [`Value`] to `self.leaf`.
macro_rules! scalar_visits {
    () => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
            self.leaf(Value::Bool(v));
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
            self.leaf(Value::Int(v));
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
            self.leaf(Value::from(v));
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
            self.leaf(Value::Float(v));
            Ok(())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
            self.leaf(Value::Str(v.into()));
            Ok(())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
            self.leaf(Value::Str(v.into()));
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.leaf(Value::Null);
            Ok(())
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            self.leaf(Value::Null);
            Ok(())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    };
}

/// Appends a map key to a string.
struct KeyInto<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for KeyInto<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyInto<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.push_str(v);
        Ok(())
    }
}

/// Read the next key of `map` into `b.names`; `false` at the end of the map.
fn next_key<'de, A: MapAccess<'de>>(b: &mut Builder, map: &mut A) -> Result<bool, A::Error> {
    Ok(map.next_key_seed(KeyInto(&mut b.names))?.is_some())
}

/// A top-level JSON value: an object is one event, an array holds events.
struct TopSeed<'a> {
    b: &'a mut Builder,
    opts: &'a ReadOptions,
    fallback: Fallback,
    out: &'a mut Vec<Event>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.b.reset();
        event_body(self.b, map)?;
        self.out.push(self.b.finish(self.opts, self.fallback));
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let TopSeed { b, opts, fallback, out } = self;
        while seq.next_element_seed(ObjectSeed { b, opts, fallback, out })?.is_some() {}
        Ok(())
    }
}

/// An element of a top-level array: must be an object.
struct ObjectSeed<'a> {
    b: &'a mut Builder,
    opts: &'a ReadOptions,
    fallback: Fallback,
    out: &'a mut Vec<Event>,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // Not `deserialize_map`: on anything but an object, sonic-rs skips the whole value to report the type,
        // recursively and without a depth limit, so `[[[[...` would overflow the stack. Through
        // `deserialize_any`, the default `visit_seq` fails at once, before reading the array.
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.b.reset();
        event_body(self.b, map)?;
        self.out.push(self.b.finish(self.opts, self.fallback));
        Ok(())
    }
}

/// The keys of an event object: Windows sections by name, anything else as plain JSON.
fn event_body<'de, A: MapAccess<'de>>(b: &mut Builder, mut map: A) -> Result<(), A::Error> {
    loop {
        let start = b.names.len();
        if !next_key(b, &mut map)? {
            return Ok(());
        }
        match b.names.get(start..).and_then(section_of) {
            Some(section) => map.next_value_seed(SectionSeed { b, section, start })?,
            None => map.next_value_seed(PlainSeed { b, start })?,
        }
    }
}

/// A value in plain JSON; its dotted name is `names[start..]`.
struct PlainSeed<'a> {
    b: &'a mut Builder,
    start: usize,
}

impl PlainSeed<'_> {
    fn leaf(self, value: Value) {
        self.b.push(self.start, value);
    }
}

impl<'de> DeserializeSeed<'de> for PlainSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlainSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits!();
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let start = self.start;
        nested(self.b, |b| {
            let old = enter_path(b, start);
            let result = plain_members(b, map);
            b.path.truncate(old);
            result
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let start = self.start;
        nested(self.b, |b| plain_list(b, start, seq))
    }
}

/// Make the field name at `names[start..]` (which starts with the current path) the path for
/// the members of an object; returns the length to truncate the path back to.
fn enter_path(b: &mut Builder, start: usize) -> usize {
    let old = b.path.len();
    let Builder { names, path, .. } = b;
    path.push_str(names.get(start + old..).unwrap_or_default());
    path.push('.');
    names.truncate(start);
    old
}

/// The members of a plain JSON object, named `path.key`.
fn plain_members<'de, A: MapAccess<'de>>(b: &mut Builder, mut map: A) -> Result<(), A::Error> {
    loop {
        let start = b.names.len();
        let Builder { names, path, .. } = &mut *b;
        names.push_str(path);
        if !next_key(b, &mut map)? {
            b.names.truncate(start);
            return Ok(());
        }
        map.next_value_seed(PlainSeed { b, start })?;
    }
}

/// An array named `names[start..]`: scalar items form one `List` field; objects in it are
/// flattened under `name.key`, repeated names merging into lists.
fn plain_list<'de, A: SeqAccess<'de>>(b: &mut Builder, start: usize, mut seq: A) -> Result<(), A::Error> {
    let old = enter_path(b, start);
    let mut items = Vec::new();
    let mut had_object = false;
    b.merge += 1;
    let result = loop {
        match seq.next_element_seed(ListItemSeed { b, items: &mut items, had_object: &mut had_object }) {
            Ok(Some(())) => {}
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    b.merge -= 1;
    if result.is_ok() && (!items.is_empty() || !had_object) {
        let start = b.names.len();
        let Builder { names, path, .. } = &mut *b;
        names.push_str(path.get(..path.len().saturating_sub(1)).unwrap_or_default());
        b.push(start, Value::List(items));
    }
    b.path.truncate(old);
    result
}

/// One array item: scalars go to `items`, nested arrays become nested lists, objects are
/// flattened under the array's path.
struct ListItemSeed<'a> {
    b: &'a mut Builder,
    items: &'a mut Vec<Value>,
    had_object: &'a mut bool,
}

impl ListItemSeed<'_> {
    fn leaf(self, value: Value) {
        self.items.push(value);
    }
}

impl<'de> DeserializeSeed<'de> for ListItemSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListItemSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits!();
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        *self.had_object = true;
        nested(self.b, |b| plain_members(b, map))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ListItemSeed { b, items, had_object } = self;
        let mut inner = Vec::new();
        nested(b, |b| {
            while seq
                .next_element_seed(ListItemSeed { b: &mut *b, items: &mut inner, had_object: &mut *had_object })?
                .is_some()
            {}
            Ok(())
        })?;
        items.push(Value::List(inner));
        Ok(())
    }
}

/// The value of a section key (`Event`, `System`, `EventData`, ...) named `names[start..]`.
struct SectionSeed<'a> {
    b: &'a mut Builder,
    section: Section,
    start: usize,
}

impl SectionSeed<'_> {
    /// A section key with a scalar value is an ordinary field; a null one is left out.
    fn leaf(self, value: Value) {
        if value.is_null() {
            self.b.names.truncate(self.start);
        } else {
            self.b.push(self.start, value);
        }
    }
}

impl<'de> DeserializeSeed<'de> for SectionSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SectionSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (start, section) = (self.start, self.section);
        nested(self.b, |b| section_members(b, section, start, &mut map))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let start = self.start;
        nested(self.b, |b| plain_list(b, start, seq))
    }
}

/// The members of a section named `names[start..]`.
fn section_members<'de, A: MapAccess<'de>>(
    b: &mut Builder,
    section: Section,
    start: usize,
    map: &mut A,
) -> Result<(), A::Error> {
    {
        let elem_start = b.elems.len();
        {
            let Builder { names, elems, .. } = &mut *b;
            elems.push_str(names.get(start..).unwrap_or_default());
            names.truncate(start);
        }
        let result = match section {
            Section::Event => event_sections(b, elem_start, map),
            Section::Elements(ctx) => element_members(b, ctx, elem_start, map),
        };
        b.elems.truncate(elem_start);
        result
    }
}

/// The members of `Event`: its sections; other elements are read like `EventData`.
fn event_sections<'de, A: MapAccess<'de>>(b: &mut Builder, elem_start: usize, map: &mut A) -> Result<(), A::Error> {
    loop {
        let start = b.names.len();
        if !next_key(b, map)? {
            return Ok(());
        }
        let key = b.names.get(start..).unwrap_or_default();
        if key == "#attributes" {
            b.names.truncate(start);
            map.next_value_seed(AttrsSeed { b, ctx: Ctx::Data, elem_start })?;
            continue;
        }
        let section = match section_of(key) {
            Some(Section::Elements(ctx)) => Section::Elements(ctx),
            Some(Section::Event) | None => Section::Elements(Ctx::Data),
        };
        map.next_value_seed(SectionSeed { b, section, start })?;
    }
}

/// The members of the Windows element named `elems[elem_start..]`: `#attributes`, `#text`
/// and child elements.
fn element_members<'de, A: MapAccess<'de>>(
    b: &mut Builder,
    ctx: Ctx,
    elem_start: usize,
    map: &mut A,
) -> Result<(), A::Error> {
    let prefix = ctx.prefix();
    loop {
        let start = b.names.len();
        b.names.push_str(prefix);
        if !next_key(b, map)? {
            b.names.truncate(start);
            return Ok(());
        }
        match b.names.get(start + prefix.len()..).unwrap_or_default() {
            "#attributes" => {
                b.names.truncate(start);
                map.next_value_seed(AttrsSeed { b, ctx, elem_start })?;
            }
            "#text" => {
                let Builder { names, elems, .. } = &mut *b;
                names.truncate(start);
                names.push_str(elems.get(elem_start..).unwrap_or_default());
                map.next_value_seed(ElementSeed { b, ctx, elem_start, start })?;
            }
            _ => {
                let child_start = b.elems.len();
                let Builder { names, elems, .. } = &mut *b;
                elems.push_str(names.get(start..).unwrap_or_default());
                let result = map.next_value_seed(ElementSeed { b, ctx, elem_start: child_start, start });
                b.elems.truncate(child_start);
                result?;
            }
        }
    }
}

/// A Windows element named `names[start..]` (also `elems[elem_start..]`).
struct ElementSeed<'a> {
    b: &'a mut Builder,
    ctx: Ctx,
    elem_start: usize,
    start: usize,
}

impl ElementSeed<'_> {
    fn leaf(self, value: Value) {
        match self.ctx {
            Ctx::System => self.b.push_system(self.start, value),
            Ctx::Data => {
                self.b.rename_shadowing_header(self.start);
                self.b.push(self.start, value);
            }
            Ctx::Rendering => self.b.push(self.start, value),
        }
    }
}

impl Builder {
    /// A data field named like a `System` field that routing and output read (`Channel`, `Computer`,
    /// `Provider_Name`, `EventID`), when the record has that `System` field, is renamed `UserData.<name>` (or
    /// `EventData.<name>`), so that it never stands for the record's own: EventLog 104's `UserData` `Channel` is
    /// the log that was cleared, not the channel of the record.
    fn rename_shadowing_header(&mut self, start: usize) {
        let Some(name) = self.names.get(start..) else { return };
        if !matches!(name, "Channel" | "Computer" | "Provider_Name" | "EventID") || self.get(name).is_none() {
            return;
        }
        let section = if self.elems.contains("UserData") { "UserData." } else { "EventData." };
        self.names.insert_str(start, section);
    }
}

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ElementSeed { b, ctx, elem_start, start } = self;
        b.names.truncate(start);
        nested(b, |b| element_members(b, ctx, elem_start, &mut map))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let start = self.start;
        nested(self.b, |b| plain_list(b, start, seq))
    }
}

/// The `#attributes` of the element named `elems[elem_start..]`: each becomes a field
/// `Element_attribute`; `xmlns` declarations are dropped, and `System/TimeCreated/@SystemTime`
/// becomes `TimeCreated`.
struct AttrsSeed<'a> {
    b: &'a mut Builder,
    ctx: Ctx,
    elem_start: usize,
}

impl AttrsSeed<'_> {
    fn leaf(self, _value: Value) {}
}

impl<'de> DeserializeSeed<'de> for AttrsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AttrsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute map")
    }
    scalar_visits!();
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let AttrsSeed { b, ctx, elem_start } = self;
        loop {
            let start = b.names.len();
            let elem_len = {
                let Builder { names, elems, .. } = &mut *b;
                let elem = elems.get(elem_start..).unwrap_or_default();
                names.push_str(elem);
                names.push('_');
                elem.len()
            };
            if !next_key(b, &mut map)? {
                b.names.truncate(start);
                return Ok(());
            }
            let attr = b.names.get(start + elem_len + 1..).unwrap_or_default();
            if is_xmlns(attr) {
                b.names.truncate(start);
                map.next_value_seed(Skip(0))?;
                continue;
            }
            if ctx == Ctx::System && attr == "SystemTime" && b.elems.get(elem_start..) == Some("TimeCreated") {
                b.names.truncate(start);
                b.names.push_str("TimeCreated");
            }
            let attr_start = b.elems.len();
            {
                let Builder { names, elems, .. } = &mut *b;
                elems.push_str(names.get(start..).unwrap_or_default());
            }
            let result = map.next_value_seed(ElementSeed { b, ctx, elem_start: attr_start, start });
            b.elems.truncate(attr_start);
            result?;
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip(0))?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn flat(json: serde_json::Value) -> Event {
        Event::from_json_value(&json, &ReadOptions::default()).unwrap()
    }

    fn pairs(event: &Event) -> Vec<(String, Value)> {
        event.fields().map(|(n, v)| (n.to_owned(), v.clone())).collect()
    }

    #[test]
    fn nested_objects_get_dotted_names() {
        let event = flat(json!({
            "a": {"b": {"c": 1}, "d": "x"},
            "e": true,
            "f": null,
            "g": {},
            "h.i": 2.5,
        }));
        assert_eq!(
            pairs(&event),
            vec![
                ("a.b.c".into(), Value::Int(1)),
                ("a.d".into(), "x".into()),
                ("e".into(), Value::Bool(true)),
                ("f".into(), Value::Null),
                ("h.i".into(), Value::Float(2.5)),
            ]
        );
    }

    #[test]
    fn arrays_of_scalars_and_objects() {
        let event = flat(json!({
            "tags": ["a", 1],
            "empty": [],
            "resources": [{"ARN": "x", "type": "t"}, {"ARN": "y"}],
            "nested": [[1, 2], 3],
            "mixed": [{"k": 1}, "s"],
            "o": {"list": [{"k": "v"}]},
        }));
        assert_eq!(event.get("tags"), Some(&Value::List(vec!["a".into(), Value::Int(1)])));
        assert_eq!(event.get("empty"), Some(&Value::List(vec![])));
        assert_eq!(event.get("resources.ARN"), Some(&Value::List(vec!["x".into(), "y".into()])));
        assert_eq!(event.get("resources.type"), Some(&Value::from("t")));
        assert_eq!(event.get("resources"), None);
        assert_eq!(
            event.get("nested"),
            Some(&Value::List(vec![Value::List(vec![Value::Int(1), Value::Int(2)]), Value::Int(3)]))
        );
        assert_eq!(event.get("mixed.k"), Some(&Value::Int(1)));
        assert_eq!(event.get("mixed"), Some(&Value::List(vec!["s".into()])));
        assert_eq!(event.get("o.list.k"), Some(&Value::from("v")));
    }

    #[test]
    fn windows_system_fields() {
        let event = flat(json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Service Control Manager", "Guid": "{555908d1}", "EventSourceName": "Service Control Manager"}},
                "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                "Version": "0",
                "Level": 4,
                "Keywords": "0x8080000000000000",
                "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T23:34:25.296375Z"}},
                "EventRecordID": 2,
                "Correlation": null,
                "Execution": {"#attributes": {"ProcessID": 700, "ThreadID": "1432"}},
                "Channel": "System",
                "Computer": "WIN",
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": {"ServiceName": "x", "ImagePath": "C:\\x.exe", "Version": "15.0"}
        }}));
        let names: Vec<_> = event.fields().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "Provider_Name",
                "Provider_Guid",
                "Provider_EventSourceName",
                "EventID_Qualifiers",
                "EventID",
                "Version",
                "Level",
                "Keywords",
                "TimeCreated",
                "EventRecordID",
                "Execution_ProcessID",
                "Execution_ThreadID",
                "Channel",
                "Computer",
                "Security_UserID",
                "ServiceName",
                "ImagePath",
                "Version",
            ]
        );
        assert_eq!(event.event_id(), Some(7045));
        assert_eq!(event.get("EventID"), Some(&Value::Int(7045)));
        assert_eq!(event.get("Execution_ThreadID"), Some(&Value::Int(1432)));
        assert_eq!(event.get("Version"), Some(&Value::from("15.0")), "EventData shadows System");
        assert_eq!(event.fields().nth(5), Some(("Version", &Value::Int(0))));
        assert_eq!(event.provider(), Some("Service Control Manager"));
        assert_eq!(event.record_id(), Some(2));
        assert_eq!(event.timestamp(), "2019-03-19T23:34:25.296375Z".parse().ok());
    }

    #[test]
    fn windows_data_shapes() {
        let event = flat(json!({"Event": {
            "System": {"EventID": 6009, "Channel": "System"},
            "EventData": {
                "#attributes": {"Name": "TaskDisabled"},
                "Data": {"#text": ["10.00.", "15063", ""]},
                "Binary": "00FF",
                "Empty": null,
            },
            "RenderingInfo": {
                "#attributes": {"Culture": "en-US"},
                "Message": "hello",
                "Level": "Information",
            },
        }}));
        assert_eq!(event.get("EventData_Name"), Some(&Value::from("TaskDisabled")));
        assert_eq!(event.get("Data"), Some(&Value::List(vec!["10.00.".into(), "15063".into(), "".into()])));
        assert_eq!(event.get("Binary"), Some(&Value::from("00FF")));
        assert_eq!(event.get("Empty"), Some(&Value::Null));
        assert_eq!(event.get("RenderingInfo.Message"), Some(&Value::from("hello")));
        assert_eq!(event.get("RenderingInfo_Culture"), Some(&Value::from("en-US")));
        assert_eq!(event.get("Level"), None);
        assert_eq!(event.get("RenderingInfo.Level"), Some(&Value::from("Information")));
    }

    #[test]
    fn windows_user_data_leaves() {
        let event = flat(json!({"Event": {
            "System": {"EventID": 53},
            "UserData": {"CryptRetrieveObjectByUrlWire": {
                "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
                "URL": {"#attributes": {"scheme": "http"}, "#text": "http://crl.example/x.crl"},
                "Flags": {"#attributes": {"value": "202005"}},
                "AdditionalInfo": {"NetworkConnectivityStatus": {"#attributes": {"value": "1"}}},
                "Header": "GET /",
                "Header_1": "Accept: */*",
            }},
        }}));
        assert_eq!(
            pairs(&event),
            vec![
                ("EventID".into(), Value::Int(53)),
                ("URL_scheme".into(), "http".into()),
                ("URL".into(), "http://crl.example/x.crl".into()),
                ("Flags_value".into(), "202005".into()),
                ("NetworkConnectivityStatus_value".into(), "1".into()),
                ("Header".into(), "GET /".into()),
                ("Header_1".into(), "Accept: */*".into()),
            ]
        );
    }

    #[test]
    fn windows_shape_without_event_wrapper() {
        let event = flat(json!({
            "System": {"EventID": 1, "TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}}},
            "EventData": {"Image": "C:\\a.exe"},
            "extra": {"k": 1},
        }));
        assert_eq!(event.get("Image"), Some(&Value::from("C:\\a.exe")));
        assert_eq!(event.get("extra.k"), Some(&Value::Int(1)));
        assert_eq!(event.timestamp(), "2024-01-01T00:00:00Z".parse().ok());
    }

    #[test]
    fn event_key_with_scalar_is_plain() {
        let event = flat(json!({"Event": "logon", "System": "x", "EventData": null}));
        assert_eq!(pairs(&event), vec![("Event".into(), "logon".into()), ("System".into(), "x".into())]);
    }

    #[test]
    fn plain_timestamp_fields() {
        let opts = ReadOptions::default();
        let at = |json: serde_json::Value| Event::from_json_value(&json, &opts).unwrap().timestamp();
        let t: Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
        assert_eq!(at(json!({"@timestamp": "2024-05-01T10:00:00Z"})), Some(t));
        assert_eq!(at(json!({"timestamp": 1_714_557_600_000_i64})), Some(t));
        assert_eq!(at(json!({"TimeCreated": "2024-05-01 10:00:00"})), Some(t));
        assert_eq!(at(json!({"UtcTime": "2024-05-01 10:00:00.000"})), Some(t));
        assert_eq!(at(json!({"@timestamp": "garbage", "UtcTime": "2024-05-01 10:00:00"})), Some(t));
        assert_eq!(at(json!({"time": "2024-05-01 10:00:00"})), None);
        let custom = ReadOptions::default().with_timestamp_fields(["time"]);
        let event = Event::from_json_value(&json!({"time": "2024-05-01 10:00:00"}), &custom).unwrap();
        assert_eq!(event.timestamp(), Some(t));
    }

    #[test]
    fn malformed_json_is_an_error() {
        let opts = ReadOptions::default();
        assert!(Event::from_json_slice(b"{\"a\": ", &opts).is_err());
        assert!(Event::from_json_slice(b"[1]", &opts).is_err());
        assert!(Event::from_json_slice(b"42", &opts).is_err());
        assert!(Event::from_json_slice(b"{} {}", &opts).is_err());
        assert!(Event::from_json_slice(b"{\"a\": 1}", &opts).is_ok());
        assert!(Event::from_json_slice(b"\xff\xfe{", &opts).is_err());
    }

    #[test]
    fn top_level_array_gives_one_event_per_object() {
        let mut b = Builder::default();
        let mut out = Vec::new();
        b.parse_object(br#"[{"a": 1}, {"b": {"c": 2}}]"#, &ReadOptions::default(), &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].get("b.c"), Some(&Value::Int(2)));
        let mut out = Vec::new();
        let err = b.parse_object(br#"[{"a": 1}, 5, {"b": 1}]"#, &ReadOptions::default(), &mut out).unwrap_err();
        assert!(err.contains("expected a JSON object"), "{err}");
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn error_messages_are_one_line() {
        let opts = ReadOptions::default();
        for bad in [&b"{\"a\": "[..], b"{\"a\": 1,}", b"{\"a\": tru}", b"{\"a\": \"\xff\"}", b"{} x"] {
            let err = Event::from_json_slice(bad, &opts).unwrap_err();
            assert!(!err.message.contains('\n') && !err.message.is_empty(), "{:?}", err.message);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let opts = ReadOptions::default();
        let deep = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let event = Event::from_json_slice(deep(MAX_DEPTH as usize).as_bytes(), &opts).unwrap();
        assert_eq!(event.fields().next().map(|(n, _)| n.len()), Some(MAX_DEPTH as usize * 2 - 1));
        let err = Event::from_json_slice(deep(MAX_DEPTH as usize + 2).as_bytes(), &opts).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{}", err.message);
        assert!(Event::from_json_slice(deep(100_000).as_bytes(), &opts).is_err());
        let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(Event::from_json_slice(arrays.as_bytes(), &opts).is_err());
    }

    /// Every way into the parser with 100,000 levels of nesting: an error, never a stack overflow (each of
    /// these aborted the process before: sonic-rs skips values it does not hand to a visitor recursively).
    #[test]
    fn deep_nesting_anywhere_is_an_error() {
        let opts = ReadOptions::default();
        let n = 100_000;
        let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let objects_in_array = format!("[{}1{}]", "{\"a\":".repeat(n), "}".repeat(n));
        let xmlns = format!("{{\"Event\": {{\"#attributes\": {{\"xmlns\": {}1{}}}}}}}", "[".repeat(n), "]".repeat(n));
        let attr_list = format!(
            "{{\"Event\": {{\"System\": {{\"#attributes\": [{}{}]}}}}}}",
            "{\"a\":[".repeat(n / 2),
            "]}".repeat(n / 2)
        );
        let array_of_arrays = format!("[{}]", "[".repeat(n) + &"]".repeat(n));
        for text in [arrays, objects_in_array, xmlns, attr_list, array_of_arrays] {
            let mut b = Builder::default();
            let mut out = Vec::new();
            assert!(b.parse_object(text.as_bytes(), &opts, &mut out).is_err(), "{}", &text[..40]);
            assert!(!b.parse_many(text.as_bytes(), &opts, [Fallback::default()], &mut out));
            assert!(out.is_empty());
        }
        // Within the limit, ignored values are still read past correctly.
        let ok = br##"{"Event": {"#attributes": {"xmlns": [[1, {"b": [2]}]], "x": "y"}, "System": {"EventID": 4}}}"##;
        let event = Event::from_json_slice(ok, &opts).unwrap();
        assert_eq!(event.get("EventID"), Some(&Value::Int(4)));
        assert_eq!(event.get("Event_x"), Some(&Value::from("y")));
    }

    #[test]
    fn escaped_keys_and_values() {
        let event = Event::from_json_slice(br#"{"a\"b": "C:\\Windows\\x\u00e9"}"#, &ReadOptions::default()).unwrap();
        assert_eq!(event.get("a\"b"), Some(&Value::from("C:\\Windows\\xé")));
    }
}
