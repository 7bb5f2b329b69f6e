//! EVTX records decoded straight into the flat [`Event`], without rendering them to JSON text
//! and parsing that again.
//!
//! A record is one instance of a template: the template definition (a BinXML fragment in the
//! chunk) gives the layout, the instance the typed substitution values, of which one is usually
//! a nested instance (`EventData`/`UserData` of its own template). Each template definition is
//! parsed once per chunk ([`Templates`]) and compiled into a [`Shape`]: the JSON layout the evtx
//! crate's renderer gives its instances (which members, under which keys, which substitution
//! feeds each value, how empty and NULL values show). Per record, only the substitution values
//! are decoded; a serde [`Deserializer`] walks the shape with them and feeds the visitors that
//! flatten rendered JSON (`Builder::parse_from`), so the flattening rules (field names, order,
//! types, `System` clean-ups, timestamps) are the JSON path's own, and the shapes mirror the
//! renderer's layout.
//!
//! The shapes follow the crate's compiled JSON lane (`binxml/compiled.rs` of evtx 0.15) for the
//! layouts real event templates use. Anything this module does not handle with certainty gives
//! `None`, and the caller renders that record through JSON as before: a record that is not a
//! single template instance, a template with CDATA, entity or character references, processing
//! instructions, static text in elements, placeholder-named `Data`, repeated `Data` names in a
//! row; a value that is an array, a float, a size, an ANSI string, a handle, a BinXML fragment
//! that is not one template instance, a UTF-16 string with an unpaired surrogate, or whose size
//! does not fit its type; any parse error. Substitution values are decoded here rather than by
//! the crate, which decodes nested instances only while rendering them.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use evtx::{EvtxChunk, EvtxRecord, EvtxRecordHeader};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::event::{Event, Field};
use crate::flatten::{
    Builder, Fallback, finish_event, set_value_origin, system_field_matters, system_role, system_value,
};
use crate::{ReadOptions, Value};

/// Deepest element nesting a template may have here; real ones nest four or five levels.
const MAX_NESTING: usize = 32;
/// Deepest nesting of template instances in values; real records nest one.
const MAX_INSTANCE_NESTING: usize = 4;
/// Template definition header: next-template offset, GUID, data size.
const TEMPLATE_HEADER: usize = 24;

/// Template instances in one record that a [`Trace`] follows; records with more are decoded
/// without one.
const MAX_TRACED_INSTANCES: usize = 8;
/// Traces kept per chunk (a chunk's records use a handful of templates and layouts).
const MAX_TRACES: usize = 32;

/// The compiled templates of one chunk, by definition offset (`None`: not for the fast path),
/// and the traces of the records decoded so far.
#[derive(Default)]
pub(crate) struct Templates {
    compiled: Cache,
    out: Vec<Event>,
    traces: Vec<Trace>,
    /// The layout of the record being decoded (see [`layout`]).
    layout: Vec<u8>,
    /// Records decoded here and records left to the JSON path.
    pub(crate) direct: u64,
    pub(crate) fallback: u64,
    /// Of the records decoded here, those built from a trace.
    pub(crate) replayed: u64,
}

/// How the records of one layout flatten, learnt from the first of them: field names (shared by
/// all their events) and, per field, where its value comes from.
///
/// The layout (see [`layout`]) fixes everything the flattening decides on besides the values:
/// the templates of the record and of its nested instances, and which values are empty or NULL
/// (which leave members out or make them `""` or `null`). So its records flatten to the same
/// names in the same order, each value taken from the same substitution, converted the same way,
/// which [`Templates::decode`] checks on the first record before it keeps a trace. Records whose
/// flattening merges values into lists are not traced.
struct Trace {
    layout: Box<[u8]>,
    names: Arc<str>,
    ops: Box<[Op]>,
}

struct Op {
    start: u32,
    len: u32,
    source: Source,
    /// A `System` field whose value is cleaned or sets the event's time or record id.
    system: bool,
}

enum Source {
    /// The same value for every record of the layout (static text, or an empty value's `""` or
    /// `null`).
    Static(Value),
    /// Substitution `slot` of the record's `inst`-th template instance (in [`layout`] order).
    Slot { inst: u8, slot: u16 },
}

/// Compiled templates by definition offset (a chunk uses a handful: a list beats hashing).
#[derive(Default)]
struct Cache(Vec<(u32, Option<Compiled>)>);

impl Cache {
    fn get(&self, def: u32) -> Option<&Compiled> {
        self.0.iter().find(|(at, _)| *at == def).and_then(|(_, compiled)| compiled.as_ref())
    }

    /// The template defined at `def`, compiled on first use.
    fn compile(&mut self, chunk: &[u8], def: u32) -> Option<&Compiled> {
        let index = match self.0.iter().position(|(at, _)| *at == def) {
            Some(index) => index,
            None => {
                self.0.push((def, compile(chunk, def)));
                self.0.len() - 1
            }
        };
        self.0.get(index).and_then(|(_, compiled)| compiled.as_ref())
    }
}

/// Static attributes with text: names and values.
type StaticAttrs = Box<[(Box<str>, Box<str>)]>;

/// A template compiled to its JSON layout: `{"<name>": <value>}` at the top of a record.
struct Compiled {
    name: Box<str>,
    value: Shape,
    /// Substitutions the layout reads: an instance must have at least this many values.
    slots: usize,
}

/// How a part of the rendered record is built from the substitution values.
#[derive(Debug)]
enum Shape {
    /// `null`.
    Null,
    /// A static string.
    Static(Box<str>),
    /// The value of `slot`; when it is empty, `""` if `empty_str`, else `null`; a nested
    /// instance is `{"<its root>": <its value>}`.
    Leaf { slot: u16, empty_str: bool },
    /// An element with attributes and at most a substitution as content: the value alone when
    /// no attribute has text, else `{"#attributes": {...}, "#text": value}`; `null` when
    /// neither has anything.
    Elem { attrs: Box<[Attr]>, content: Option<u16> },
    /// An object: static attributes with text, then members. `left_out`: when every member
    /// depends on a value, those values; all NULL make the element `null`.
    Object { attrs: Box<[(Box<str>, Box<str>)]>, members: Box<[Member]>, left_out: Option<Box<[u16]>> },
    /// Unnamed `Data` children of `EventData`/`UserData`: `{"#text": value}` for one,
    /// `{"#text": [values]}` for more (empty values are `""`).
    Positional { slots: Box<[u16]> },
}

#[derive(Debug)]
enum Attr {
    Static(Box<str>, Box<str>),
    Slot(Box<str>, u16),
}

#[derive(Debug)]
enum Member {
    /// A child element, left out when `depends` is NULL.
    Element { key: Box<str>, depends: Option<u16>, shape: Shape },
    /// A substitution among the children: a nested instance keyed by its root's name (with a
    /// `_N` suffix counted after the static members `names`), left out when empty.
    Slot { slot: u16, names: Box<[(Box<str>, u32)]> },
}

/// A decoded substitution value.
#[derive(Debug)]
enum Val<'a> {
    Null,
    /// UTF-16LE text up to its first NUL, free of unpaired surrogates.
    Str(&'a [u8]),
    UInt(u64),
    Int(i64),
    Bool(bool),
    Binary(&'a [u8]),
    Guid([u8; 16]),
    FileTime(u64),
    SysTime([u8; 16]),
    /// A SID whose size matches its sub-authority count.
    Sid(&'a [u8]),
    Hex(u64),
    Nested(Instance<'a>),
}

/// A template instance: its definition's offset and its values.
#[derive(Debug)]
struct Instance<'a> {
    def: u32,
    values: Vec<Val<'a>>,
}

impl Val<'_> {
    /// `is_optional_empty` of the crate.
    fn is_empty(&self) -> bool {
        match self {
            Val::Null => true,
            Val::Str(s) | Val::Binary(s) => s.is_empty(),
            _ => false,
        }
    }
}

fn is_null(value: Option<&Val<'_>>) -> bool {
    matches!(value, Some(Val::Null))
}

/// A record of a chunk, as the evtx crate's walk over an undamaged chunk finds it.
struct RawRecord {
    id: u64,
    timestamp: jiff::Timestamp,
    /// The BinXML stream, `chunk[start..end]`.
    start: usize,
    end: usize,
}

/// The records of `chunk`, walked as the evtx crate walks them (from the chunk header, each
/// right after the one before, up to the free space or the header's last record id), but only
/// while every record header reads: `None` at the first that does not, where the crate would
/// report an error and resynchronise (the caller then takes the crate's walk).
fn walk_records(chunk: &EvtxChunk<'_>) -> Option<Vec<RawRecord>> {
    let data = chunk.data;
    let live_end = usize::try_from(chunk.header.free_space_offset).ok()?.min(data.len());
    let mut records = Vec::with_capacity(64);
    let mut at = 512usize;
    while at < live_end {
        let header = EvtxRecordHeader::from_bytes_at(data, at).ok()?;
        let size = usize::try_from(header.record_data_size().ok()?).ok()?;
        let start = at + 24;
        let end = start.checked_add(size)?;
        if end > data.len() {
            return None;
        }
        records.push(RawRecord { id: header.event_record_id, timestamp: header.timestamp, start, end });
        if header.event_record_id == chunk.header.last_event_record_id {
            break;
        }
        at = at.checked_add(usize::try_from(header.data_size).ok()?)?;
    }
    Some(records)
}

impl Templates {
    /// The events of a whole chunk when every record of it is found by a clean walk and
    /// decodes directly: the evtx crate's record iterator, which builds each record's content
    /// for its renderer, is then not needed at all. `None`: the caller takes the crate's
    /// iterator (and still decodes what it can with [`Templates::event`]).
    pub(crate) fn chunk_events(
        &mut self,
        chunk: &EvtxChunk<'_>,
        b: &mut Builder,
        opts: &ReadOptions,
    ) -> Option<Vec<Event>> {
        let records = walk_records(chunk)?;
        let mut events = Vec::with_capacity(records.len());
        for record in &records {
            let fallback = Fallback { record_id: Some(record.id), timestamp: Some(record.timestamp) };
            events.push(self.decode(chunk.data, record.start, record.end, fallback, b, opts)?);
        }
        self.direct += events.len() as u64;
        Some(events)
    }

    /// The event of `record`, decoded directly; `None` when the record must take the JSON path.
    pub(crate) fn event(
        &mut self,
        chunk_data: &[u8],
        record: &EvtxRecord<'_>,
        b: &mut Builder,
        opts: &ReadOptions,
    ) -> Option<Event> {
        let event = self.try_event(chunk_data, record, b, opts);
        if event.is_some() {
            self.direct += 1;
        } else {
            self.fallback += 1;
        }
        event
    }

    fn try_event(
        &mut self,
        chunk_data: &[u8],
        record: &EvtxRecord<'_>,
        b: &mut Builder,
        opts: &ReadOptions,
    ) -> Option<Event> {
        let start = usize::try_from(record.binxml_offset).ok()?;
        let end = start.checked_add(usize::try_from(record.binxml_size).ok()?)?;
        let fallback = Fallback { record_id: Some(record.event_record_id), timestamp: Some(record.timestamp) };
        self.decode(chunk_data, start, end, fallback, b, opts)
    }

    /// The event of the record whose BinXML stream is `chunk_data[start..end]`: from the trace of
    /// its layout when an earlier record of the chunk left one, else through the flattening
    /// visitors (tracing it for the records after it).
    fn decode(
        &mut self,
        chunk_data: &[u8],
        start: usize,
        end: usize,
        fallback: Fallback,
        b: &mut Builder,
        opts: &ReadOptions,
    ) -> Option<Event> {
        let instance = parse_instance(chunk_data, start, end, 0)?;
        let mut insts = [None; MAX_TRACED_INSTANCES];
        self.layout.clear();
        let traceable = layout(&instance, &mut self.layout, &mut insts, &mut 0);
        if traceable
            && let Some(trace) = self.traces.iter().find(|t| *t.layout == *self.layout)
            && let Some(event) = replay(trace, &insts, opts, fallback)
        {
            self.replayed += 1;
            return Some(event);
        }
        if !prepare(&mut self.compiled, chunk_data, &instance) {
            return None;
        }
        let compiled = self.compiled.get(instance.def)?;
        self.out.clear();
        let trace = traceable && self.traces.len() < MAX_TRACES;
        if trace {
            b.start_trace();
        }
        let ctx = Ctx { cache: &self.compiled, values: &instance.values };
        let parsed = b.parse_from(RootDe { ctx, compiled }, opts, fallback, &mut self.out);
        let origins = if trace { b.take_trace() } else { None };
        parsed.ok()?;
        let event = self.out.pop()?;
        if !self.out.is_empty() {
            return None;
        }
        if let Some(origins) = origins
            && let Some(trace) = make_trace(&event, &origins, &insts, &self.layout)
        {
            self.traces.push(trace);
        }
        Some(event)
    }
}

/// Append the layout of `inst` to `out`: for it and, depth first, each instance nested in it, the
/// definition offset, the number of values and each value's kind, with a bit for empty ones.
/// Fills `insts` in the same order; `false` when there are more instances than it holds.
fn layout<'i, 'a>(
    inst: &'i Instance<'a>,
    out: &mut Vec<u8>,
    insts: &mut [Option<&'i Instance<'a>>],
    count: &mut usize,
) -> bool {
    let Some(place) = insts.get_mut(*count) else { return false };
    *place = Some(inst);
    *count += 1;
    out.extend_from_slice(&inst.def.to_le_bytes());
    out.extend_from_slice(&u32::try_from(inst.values.len()).unwrap_or(u32::MAX).to_le_bytes());
    for value in &inst.values {
        let kind = match value {
            Val::Null => 0,
            Val::Str(_) => 1,
            Val::UInt(_) => 2,
            Val::Int(_) => 3,
            Val::Bool(_) => 4,
            Val::Binary(_) => 5,
            Val::Guid(_) => 6,
            Val::FileTime(_) => 7,
            Val::SysTime(_) => 8,
            Val::Sid(_) => 9,
            Val::Hex(_) => 10,
            Val::Nested(_) => 11,
        };
        out.push(if value.is_empty() { kind | 0x80 } else { kind });
        if let Val::Nested(nested) = value
            && !layout(nested, out, insts, count)
        {
            return false;
        }
    }
    true
}

/// The trace of `event`, flattened from the instances `insts` with the value origins `origins`
/// (one per field); `None` unless every field's value is a static one or a substitution's, and
/// converting that substitution as [`replay`] does gives the value the visitors gave.
fn make_trace(
    event: &Event,
    origins: &[crate::flatten::Origin],
    insts: &[Option<&Instance<'_>>],
    layout: &[u8],
) -> Option<Trace> {
    let (names, fields) = event.parts();
    if origins.len() != fields.len() {
        return None;
    }
    let size = std::mem::size_of::<Val<'_>>();
    let mut ops = Vec::with_capacity(fields.len());
    for (field, origin) in fields.iter().zip(origins) {
        let name = names.get(field.start as usize..(field.start + field.len) as usize)?;
        let system = origin.system && system_field_matters(name);
        let source = if origin.value == 0 {
            Source::Static(field.value.clone())
        } else {
            // The substitution at that address, among the record's instances.
            let (inst, slot) = insts.iter().enumerate().find_map(|(i, inst)| {
                let values = &inst.as_ref()?.values;
                let base = values.as_ptr().addr();
                let offset = origin.value.checked_sub(base)?;
                (offset < values.len() * size && offset % size == 0).then_some((i, offset / size))
            })?;
            let value = insts.get(inst)?.as_ref()?.values.get(slot)?;
            let mut converted = convert(value)?;
            if system {
                converted = system_value(name, converted);
            }
            if converted != field.value {
                return None;
            }
            Source::Slot { inst: u8::try_from(inst).ok()?, slot: u16::try_from(slot).ok()? }
        };
        ops.push(Op { start: field.start, len: field.len, source, system });
    }
    Some(Trace { layout: layout.into(), names: Arc::clone(names), ops: ops.into_boxed_slice() })
}

/// The event of a record of `trace`'s layout, whose instances are `insts`: the trace's names,
/// each value converted from its substitution (see [`Trace`]). `None` when a value does not
/// convert (the visitors then fail on it too).
fn replay(trace: &Trace, insts: &[Option<&Instance<'_>>], opts: &ReadOptions, fallback: Fallback) -> Option<Event> {
    let mut fields = Vec::with_capacity(trace.ops.len());
    let (mut timestamp, mut record_id) = (None, None);
    for op in &trace.ops {
        let mut value = match &op.source {
            Source::Static(value) => value.clone(),
            Source::Slot { inst, slot } => {
                convert(insts.get(usize::from(*inst))?.as_ref()?.values.get(usize::from(*slot))?)?
            }
        };
        if op.system {
            let name = trace.names.get(op.start as usize..(op.start + op.len) as usize)?;
            value = system_value(name, value);
            system_role(name, &value, &mut timestamp, &mut record_id);
        }
        fields.push(Field { start: op.start, len: op.len, value });
    }
    Some(finish_event(Arc::clone(&trace.names), fields.into_boxed_slice(), timestamp, record_id, opts, fallback))
}

/// A non-empty substitution value as the flattening visitors make it from what [`ValueDe`] hands
/// them.
fn convert(value: &Val<'_>) -> Option<Value> {
    let value = match value {
        Val::Str(units) => Value::Str(utf16_compact(units)?),
        Val::UInt(v) => Value::from(*v),
        Val::Int(v) if *v >= 0 => Value::from(v.unsigned_abs()),
        Val::Int(v) => Value::Int(*v),
        Val::Bool(v) => Value::Bool(*v),
        Val::Binary(bytes) => Value::Str(binary_text(bytes).into()),
        Val::Guid(guid) => Value::Str(guid_text(guid).as_str().into()),
        Val::FileTime(ft) => Value::Str(filetime_text(*ft).as_str().into()),
        Val::SysTime(st) => Value::Str(systime_text(st).as_str().into()),
        Val::Sid(sid) => Value::Str(sid_text(sid).into()),
        Val::Hex(v) => Value::Str(hex_text(*v).as_str().into()),
        Val::Null | Val::Nested(_) => return None,
    };
    Some(value)
}

/// UTF-16LE text as a [`CompactString`](crate::value::CompactString), as [`visit_utf16`] reads it
/// (`None` for an unpaired surrogate). ASCII text (most) is narrowed in one pass that also checks
/// it is ASCII: short text on the stack (it is stored inline), longer text into the buffer the
/// string then keeps.
fn utf16_compact(units: &[u8]) -> Option<crate::value::CompactString> {
    let pairs = units.as_chunks::<2>().0;
    if pairs.len() <= 24 {
        let mut buf = [0u8; 24];
        let mut high = 0u8;
        for (slot, &[lo, hi]) in buf.iter_mut().zip(pairs) {
            *slot = lo;
            high |= hi | (lo & 0x80);
        }
        if high == 0 {
            return buf.get(..pairs.len()).and_then(|b| std::str::from_utf8(b).ok()).map(Into::into);
        }
    } else {
        let mut high = 0u8;
        let bytes: Vec<u8> = pairs
            .iter()
            .map(|&[lo, hi]| {
                high |= hi | (lo & 0x80);
                lo
            })
            .collect();
        if high == 0 {
            return String::from_utf8(bytes).ok().map(Into::into);
        }
    }
    char::decode_utf16(utf16_units(units)).collect::<Result<String, _>>().ok().map(Into::into)
}

/// Compile the templates of `instance` and of the instances nested in it; whether all compiled
/// and each instance has the values its layout reads.
fn prepare(cache: &mut Cache, chunk: &[u8], instance: &Instance<'_>) -> bool {
    if cache.compile(chunk, instance.def).is_none_or(|c| instance.values.len() < c.slots) {
        return false;
    }
    instance.values.iter().all(|value| match value {
        Val::Nested(nested) => prepare(cache, chunk, nested),
        _ => true,
    })
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at.checked_add(4)?).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at.checked_add(2)?).and_then(|b| b.try_into().ok()).map(u16::from_le_bytes)
}

fn utf16_units(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.as_chunks::<2>().0.iter().map(|pair| u16::from_le_bytes(*pair))
}

/// The template instance that is the whole BinXML stream `chunk[start..end]` (after a fragment
/// header, and before an optional end-of-stream token).
fn parse_instance(chunk: &[u8], start: usize, end: usize, depth: usize) -> Option<Instance<'_>> {
    if depth > MAX_INSTANCE_NESTING {
        return None;
    }
    let stream = chunk.get(start..end)?;
    let mut at = match stream {
        [0x0f, _, _, _, 0x0c, _, ..] => start + 5,
        [0x0c, ..] => start + 1,
        _ => return None,
    };
    // Unknown byte, template id, definition offset.
    let def = u32_at(chunk, at + 5)?;
    at += 9;
    // The definition follows inline the first time the chunk uses the template.
    if usize::try_from(def).ok()? == at {
        let size = usize::try_from(u32_at(chunk, at + 20)?).ok()?;
        at = at.checked_add(TEMPLATE_HEADER)?.checked_add(size)?;
    }
    let count = usize::try_from(u32_at(chunk, at)?).ok()?;
    at += 4;
    let descriptors = chunk.get(at..at.checked_add(count.checked_mul(4)?)?)?;
    at += descriptors.len();
    let mut values = Vec::with_capacity(count);
    for &[lo, hi, ty, _] in descriptors.as_chunks::<4>().0 {
        let size = usize::from(u16::from_le_bytes([lo, hi]));
        let next = at.checked_add(size)?;
        if next > end {
            return None;
        }
        values.push(parse_value(chunk, ty, at, next, depth)?);
        at = next;
    }
    match chunk.get(at..end)? {
        [] | [0x00, ..] => Some(Instance { def, values }),
        _ => None,
    }
}

/// A substitution value of type `ty` in `chunk[start..end]`, decoded as the crate decodes and
/// renders it; `None` for the types and sizes left to the JSON path.
fn parse_value(chunk: &[u8], ty: u8, start: usize, end: usize, depth: usize) -> Option<Val<'_>> {
    let bytes = chunk.get(start..end)?;
    let int = |n: usize| -> Option<u64> {
        (bytes.len() == n).then(|| bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    };
    let value = match ty {
        0x00 => Val::Null,
        0x01 => {
            if bytes.len() % 2 != 0 {
                return None;
            }
            Val::Str(bytes.get(..first_nul_unit(bytes))?)
        }
        0x03 => Val::Int(i64::from(int(1)? as u8 as i8)),
        0x04 => Val::UInt(int(1)?),
        0x05 => Val::Int(i64::from(int(2)? as u16 as i16)),
        0x06 => Val::UInt(int(2)?),
        0x07 => Val::Int(i64::from(int(4)? as u32 as i32)),
        0x08 => Val::UInt(int(4)?),
        0x09 => Val::Int(int(8)? as i64),
        0x0a => Val::UInt(int(8)?),
        // Windows writes bitmasks into some booleans: those stay integers.
        0x0d => match int(4)? as u32 as i32 {
            0 => Val::Bool(false),
            1 => Val::Bool(true),
            raw => Val::Int(i64::from(raw)),
        },
        0x0e => Val::Binary(bytes),
        0x0f => Val::Guid(bytes.try_into().ok()?),
        0x11 => Val::FileTime(int(8)?),
        0x12 => Val::SysTime(bytes.try_into().ok()?),
        0x13 => match bytes {
            [_, count, _, _, _, _, _, _, subs @ ..] if subs.len() == usize::from(*count) * 4 => Val::Sid(bytes),
            _ => return None,
        },
        0x14 => Val::Hex(int(4)?),
        0x15 => Val::Hex(int(8)?),
        0x21 if !bytes.is_empty() => Val::Nested(parse_instance(chunk, start, end, depth + 1)?),
        _ => return None,
    };
    Some(value)
}

/// Short ASCII text built on the stack: hex numbers, GUIDs, times.
struct Buf {
    bytes: [u8; 40],
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf { bytes: [0; 40], len: 0 }
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    /// `value` in `width` decimal digits (its lowest ones), zero-padded.
    fn digits(&mut self, mut value: u64, width: usize) {
        let end = self.len + width;
        if let Some(slots) = self.bytes.get_mut(self.len..end) {
            for slot in slots.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
            self.len = end;
        }
    }

    fn hex_byte(&mut self, byte: u8, digits: &[u8; 16]) {
        self.push(hex_digit(byte >> 4, digits));
        self.push(hex_digit(byte & 0xf, digits));
    }

    fn as_str(&self) -> &str {
        self.bytes.get(..self.len).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or_default()
    }
}

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_digit(nibble: u8, digits: &[u8; 16]) -> u8 {
    digits.get(usize::from(nibble)).copied().unwrap_or(b'0')
}

/// `0x` and lowercase hex digits, no leading zeros.
fn hex_text(value: u64) -> Buf {
    let mut buf = Buf::new();
    buf.push(b'0');
    buf.push(b'x');
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1);
    for place in (0..digits).rev() {
        buf.push(hex_digit(((value >> (4 * place)) & 0xf) as u8, LOWER));
    }
    buf
}

/// Uppercase hex digits of every byte.
fn binary_text(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(hex_digit(b >> 4, UPPER)));
        text.push(char::from(hex_digit(b & 0xf, UPPER)));
    }
    text
}

/// Where the first NUL unit of UTF-16LE `bytes` starts (a `00 00` at an even offset), or
/// their length.
fn first_nul_unit(bytes: &[u8]) -> usize {
    bytes.as_chunks::<2>().0.iter().position(|unit| *unit == [0, 0]).map_or(bytes.len(), |units| units * 2)
}

/// `{d1-d2-d3-d4[0..2]-d4[2..8]}` in lowercase, with data1-3 little-endian.
fn guid_text(b: &[u8; 16]) -> Buf {
    let mut buf = Buf::new();
    let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15] = *b;
    buf.push(b'{');
    for byte in [b3, b2, b1, b0] {
        buf.hex_byte(byte, LOWER);
    }
    buf.push(b'-');
    buf.hex_byte(b5, LOWER);
    buf.hex_byte(b4, LOWER);
    buf.push(b'-');
    buf.hex_byte(b7, LOWER);
    buf.hex_byte(b6, LOWER);
    buf.push(b'-');
    buf.hex_byte(b8, LOWER);
    buf.hex_byte(b9, LOWER);
    buf.push(b'-');
    for byte in [b10, b11, b12, b13, b14, b15] {
        buf.hex_byte(byte, LOWER);
    }
    buf.push(b'}');
    buf
}

/// `S-R-A-S1-...`: revision, 48-bit big-endian authority, little-endian sub-authorities.
fn sid_text(bytes: &[u8]) -> String {
    let &[revision, _, a0, a1, a2, a3, a4, a5, ref subs @ ..] = bytes else { return "S-?".into() };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let mut text = format!("S-{revision}-{authority}");
    for sub in subs.as_chunks::<4>().0 {
        let _ = write!(text, "-{}", u32::from_le_bytes(*sub));
    }
    text
}

/// A date and time as the renderer writes it: seven fractional digits, years modulo 10,000.
fn datetime_text(year: u64, month: u64, day: u64, hour: u64, minute: u64, second: u64, ticks: u64) -> Buf {
    let mut buf = Buf::new();
    for (value, width, sep) in
        [(year, 4, b'-'), (month, 2, b'-'), (day, 2, b'T'), (hour, 2, b':'), (minute, 2, b':'), (second, 2, b'.')]
    {
        buf.digits(value, width);
        buf.push(sep);
    }
    buf.digits(ticks, 7);
    buf.push(b'Z');
    buf
}

/// A FILETIME (100 ns ticks since 1601), as rendered; past `i64::MAX` it renders as zeros.
fn filetime_text(ft: u64) -> Buf {
    const TICKS_PER_SEC: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;
    if ft > i64::MAX as u64 {
        return datetime_text(0, 0, 0, 0, 0, 0, 0);
    }
    let (days, ticks) = (ft / TICKS_PER_DAY, ft % TICKS_PER_DAY);
    // Howard Hinnant's `civil_from_days`, counted from 0000-03-01 (584,694 days before 1601).
    let z = days + 584_694;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    let secs = ticks / TICKS_PER_SEC;
    datetime_text(year, month, day, secs / 3_600, secs / 60 % 60, secs % 60, ticks % TICKS_PER_SEC)
}

/// A SYSTEMTIME, as rendered: one Windows would not take renders as 1601-01-01.
fn systime_text(b: &[u8; 16]) -> Buf {
    let mut fields = [0u64; 8];
    for (field, pair) in fields.iter_mut().zip(b.as_chunks::<2>().0) {
        *field = u64::from(u16::from_le_bytes(*pair));
    }
    let [year, month, _, day, hour, minute, second, ms] = fields;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1601..=30827).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
        && ms < 1_000;
    if !valid {
        return datetime_text(1601, 1, 1, 0, 0, 0, 0);
    }
    datetime_text(year, month, day, hour, minute, second, ms * 10_000)
}

/// A UTF-16LE string handed to `visitor`: ASCII text (most) copied byte by byte, short text
/// from the stack; an unpaired surrogate, which the renderer escapes its own way, is an error
/// (the record then takes the JSON path).
fn visit_utf16<'de, V: Visitor<'de>>(units: &[u8], visitor: V) -> Result<V::Value, DirectError> {
    let pairs = units.as_chunks::<2>().0;
    let ascii = pairs.iter().fold(0u8, |acc, &[lo, hi]| acc | hi | (lo & 0x80)) == 0;
    if ascii && pairs.len() <= 64 {
        let mut buf = [0u8; 64];
        for (slot, &[lo, _]) in buf.iter_mut().zip(pairs) {
            *slot = lo;
        }
        let text = buf.get(..pairs.len()).and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(unsupported)?;
        return visitor.visit_str(text);
    }
    let text = if ascii {
        String::from_utf8(pairs.iter().map(|&[lo, _]| lo).collect()).map_err(|_| unsupported())?
    } else {
        char::decode_utf16(utf16_units(units)).collect::<Result<String, _>>().map_err(|_| unsupported())?
    };
    visitor.visit_string(text)
}

// ---------------------------------------------------------------------------------------------
// Template definitions
// ---------------------------------------------------------------------------------------------

/// A template's element tree, as parsed from its definition.
struct Element {
    name: String,
    dependency: Option<u16>,
    attrs: Vec<(String, Vec<Node>)>,
    children: Vec<Node>,
}

enum Node {
    Element(usize),
    Text(String),
    Slot(u16),
}

impl Node {
    fn is_nonempty_text(&self) -> bool {
        matches!(self, Node::Text(t) if !t.is_empty())
    }
}

/// Parse and compile the template defined at `def_offset` of the chunk.
fn compile(chunk: &[u8], def_offset: u32) -> Option<Compiled> {
    let (elements, root) = parse_template(chunk, usize::try_from(def_offset).ok()?)?;
    let mut c = Compiler { elements: &elements, slots: 0 };
    let root_el = elements.get(root)?;
    let value = c.value(root, is_container(&root_el.name))?;
    Some(Compiled { name: root_el.name.as_str().into(), value, slots: c.slots })
}

/// The name stored at `offset` of the chunk: link (6 bytes), character count, UTF-16 text.
fn name_at(chunk: &[u8], offset: usize) -> Option<String> {
    let count = usize::from(u16_at(chunk, offset.checked_add(6)?)?);
    let start = offset.checked_add(8)?;
    utf16_text(chunk.get(start..start.checked_add(count * 2)?)?)
}

/// UTF-16LE text up to its first NUL, as the crate reads names and static text; `None` with an
/// unpaired surrogate, or a control character, quote or backslash, which the renderer writes
/// into JSON keys unescaped (the JSON path then loses or changes the record).
fn utf16_text(bytes: &[u8]) -> Option<String> {
    let text =
        char::decode_utf16(utf16_units(bytes).take_while(|&unit| unit != 0)).collect::<Result<String, _>>().ok()?;
    (!text.chars().any(|c| c.is_control() || c == '"' || c == '\\')).then_some(text)
}

/// The template's elements (index 0 is not special) and its root element.
fn parse_template(chunk: &[u8], def: usize) -> Option<(Vec<Element>, usize)> {
    let size = usize::try_from(u32_at(chunk, def.checked_add(20)?)?).ok()?;
    let mut at = def.checked_add(TEMPLATE_HEADER)?;
    let end = at.checked_add(size)?;
    if end > chunk.len() {
        return None;
    }
    let mut elements: Vec<Element> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut root = None;
    // The attribute being read (its values go there), between an element start and its close.
    let mut in_attr = false;
    // Reads a name reference at `at`, skipping the name when it is stored inline.
    let name_ref = |at: &mut usize| -> Option<String> {
        let offset = usize::try_from(u32_at(chunk, *at)?).ok()?;
        *at += 4;
        let name = name_at(chunk, offset)?;
        if offset == *at {
            let count = usize::from(u16_at(chunk, offset + 6)?);
            *at = at.checked_add(10 + 2 * count)?;
        }
        Some(name)
    };
    while at < end {
        let token = *chunk.get(at)?;
        at += 1;
        match token {
            0x00 => break,
            0x0f => at += 3,
            0x01 | 0x41 => {
                let dependency = u16_at(chunk, at)?;
                at += 2 + 4;
                let name = name_ref(&mut at)?;
                if token & 0x40 != 0 {
                    at += 4;
                }
                if open.len() >= MAX_NESTING {
                    return None;
                }
                let index = elements.len();
                elements.push(Element {
                    name,
                    dependency: (dependency != 0xffff).then_some(dependency),
                    attrs: Vec::new(),
                    children: Vec::new(),
                });
                match open.last() {
                    Some(&parent) => elements.get_mut(parent)?.children.push(Node::Element(index)),
                    None if root.is_none() => root = Some(index),
                    None => return None,
                }
                open.push(index);
                in_attr = false;
            }
            0x06 | 0x46 => {
                let name = name_ref(&mut at)?;
                let element = elements.get_mut(*open.last()?)?;
                if !element.children.is_empty() {
                    return None;
                }
                element.attrs.push((name, Vec::new()));
                in_attr = true;
            }
            0x02 => in_attr = false,
            0x03 | 0x04 => {
                open.pop()?;
                in_attr = false;
            }
            0x05 | 0x45 => {
                // Only static UTF-16 text.
                if *chunk.get(at)? != 0x01 {
                    return None;
                }
                let count = usize::from(u16_at(chunk, at + 1)?);
                let bytes = chunk.get(at + 3..at + 3 + 2 * count)?;
                at += 3 + 2 * count;
                let text = utf16_text(bytes)?;
                push_node(&mut elements, &open, in_attr, Node::Text(text))?;
            }
            0x0d | 0x0e => {
                let id = u16_at(chunk, at)?;
                // The declared value type must be one the crate knows, or it rejects the record.
                if !matches!(*chunk.get(at + 2)?, 0x00..=0x15 | 0x20 | 0x21 | 0x23 | 0x81..=0x95) {
                    return None;
                }
                at += 3;
                push_node(&mut elements, &open, in_attr, Node::Slot(id))?;
            }
            _ => return None,
        }
    }
    if !open.is_empty() || at > end {
        return None;
    }
    Some((elements, root?))
}

fn push_node(elements: &mut [Element], open: &[usize], in_attr: bool, node: Node) -> Option<()> {
    let element = elements.get_mut(*open.last()?)?;
    if in_attr {
        element.attrs.last_mut()?.1.push(node);
    } else {
        element.children.push(node);
    }
    Some(())
}

fn is_container(name: &str) -> bool {
    name == "EventData" || name == "UserData"
}

/// How `NameCounts` of the crate numbers repeated names: none the first time, then `_1`, `_2`, ...
#[derive(Default)]
struct Counts(Vec<(String, u32)>);

impl Counts {
    fn next(&mut self, name: &str) -> u32 {
        if let Some(entry) = self.0.iter_mut().find(|(seen, _)| seen == name) {
            entry.1 += 1;
            return entry.1 - 1;
        }
        self.0.push((name.to_owned(), 1));
        0
    }
}

fn suffixed(name: &str, suffix: u32) -> Box<str> {
    if suffix == 0 { name.into() } else { format!("{name}_{suffix}").into() }
}

struct Compiler<'t> {
    elements: &'t [Element],
    /// One past the highest substitution read.
    slots: usize,
}

impl<'t> Compiler<'t> {
    fn el(&self, id: usize) -> Option<&'t Element> {
        self.elements.get(id)
    }

    fn slot(&mut self, id: u16) -> u16 {
        self.slots = self.slots.max(usize::from(id) + 1);
        id
    }

    /// Whether what an element renders to varies by instance (`subtree_varies`).
    fn varies(&self, element: &Element) -> bool {
        element.attrs.iter().any(|(_, value)| value.iter().any(|n| matches!(n, Node::Slot(_))))
            || element.children.iter().any(|node| match node {
                Node::Slot(_) => true,
                Node::Element(id) => self.el(*id).is_none_or(|child| child.dependency.is_some() || self.varies(child)),
                Node::Text(_) => false,
            })
    }

    /// The value of element `id` (`compile_element_value`).
    fn value(&mut self, id: usize, container: bool) -> Option<Shape> {
        let element = self.el(id)?;
        if !self.varies(element) {
            return self.static_value(element);
        }
        let slot_attrs = element.attrs.iter().any(|(_, value)| value.iter().any(|n| matches!(n, Node::Slot(_))));
        let static_attr_text = element.attrs.iter().any(|(_, value)| {
            !value.iter().any(|n| matches!(n, Node::Slot(_))) && value.iter().any(Node::is_nonempty_text)
        });
        match element.children.as_slice() {
            [Node::Slot(slot)] => {
                let slot = self.slot(*slot);
                if !slot_attrs && !static_attr_text {
                    // A data container holding a value re-enters the flattening rules.
                    (!container).then_some(Shape::Leaf { slot, empty_str: false })
                } else {
                    self.elem(element, Some(slot))
                }
            }
            [] => slot_attrs.then(|| self.elem(element, None))?,
            children => {
                let has_element = children.iter().any(|n| matches!(n, Node::Element(_)));
                let has_text = children.iter().any(Node::is_nonempty_text);
                // Static text, alone or mixed with values, takes the JSON path.
                if !has_element || has_text || slot_attrs {
                    return None;
                }
                self.object(element, container)
            }
        }
    }

    /// A placeholder-free element: `null`, its attributes, or its text. Attributes with text,
    /// and children, take the JSON path.
    fn static_value(&mut self, element: &Element) -> Option<Shape> {
        let attrs = self.static_attrs(element)?;
        match (element.children.as_slice(), attrs.is_empty()) {
            ([], true) => Some(Shape::Null),
            ([], false) => Some(Shape::Object { attrs, members: Box::new([]), left_out: None }),
            // `try_leaf_value_plain`, or the text as the value when no attribute has any.
            ([Node::Text(text)], true) if text.is_empty() => Some(Shape::Null),
            ([Node::Text(text)], true) => Some(Shape::Static(text.as_str().into())),
            _ => None,
        }
    }

    /// Static attributes that have text, as `#attributes` members.
    fn static_attrs(&self, element: &Element) -> Option<StaticAttrs> {
        let mut out = Vec::new();
        for (name, value) in &element.attrs {
            if !value.iter().any(Node::is_nonempty_text) {
                continue;
            }
            out.push((name.as_str().into(), static_text(value)?.into()));
        }
        Some(out.into_boxed_slice())
    }

    /// `JOp::Elem`: attributes each static or one substitution, content one substitution.
    fn elem(&mut self, element: &Element, content: Option<u16>) -> Option<Shape> {
        let mut attrs = Vec::with_capacity(element.attrs.len());
        for (name, value) in &element.attrs {
            let slots = value.iter().filter(|n| matches!(n, Node::Slot(_))).count();
            match (slots, value.as_slice()) {
                (0, _) => {
                    if value.iter().any(Node::is_nonempty_text) {
                        attrs.push(Attr::Static(name.as_str().into(), static_text(value)?.into()));
                    }
                }
                (1, [Node::Slot(slot)]) => {
                    let slot = self.slot(*slot);
                    attrs.push(Attr::Slot(name.as_str().into(), slot));
                }
                _ => return None,
            }
        }
        Some(Shape::Elem { attrs: attrs.into_boxed_slice(), content })
    }

    /// An element whose children are elements (`compile_object_body`).
    fn object(&mut self, element: &Element, container: bool) -> Option<Shape> {
        let attrs = self.static_attrs(element)?;
        let child_ids: Vec<usize> = element
            .children
            .iter()
            .filter_map(|n| match n {
                Node::Element(id) => Some(*id),
                _ => None,
            })
            .collect();
        let children: Vec<&'t Element> = child_ids.iter().map(|id| self.el(*id)).collect::<Option<_>>()?;
        let all_depend = !children.is_empty() && children.iter().all(|c| c.dependency.is_some());
        if all_depend && children.len() < element.children.len() {
            return None;
        }
        let left_out = (all_depend && attrs.is_empty())
            .then(|| children.iter().filter_map(|c| c.dependency).collect::<Box<[u16]>>());

        let data = |c: &Element| c.name == "Data";
        let mut flatten_named = false;
        let mut dependent_data = false;
        if container {
            for child in children.iter().filter(|c| data(c)) {
                dependent_data |= child.dependency.is_some();
                if let Some((_, value)) = child.attrs.iter().find(|(name, _)| name == "Name") {
                    if value.iter().any(|n| matches!(n, Node::Slot(_))) {
                        return None;
                    }
                    flatten_named |= value.iter().any(Node::is_nonempty_text);
                }
            }
        }
        if container && dependent_data {
            return None;
        }
        let positional: Vec<usize> = if container && !flatten_named {
            child_ids.iter().zip(&children).filter(|(_, c)| data(c)).map(|(id, _)| *id).collect()
        } else {
            Vec::new()
        };
        let mut positional_done = false;
        let mut names = Counts::default();
        let mut data_names = Counts::default();
        let mut members = Vec::new();
        let mut seen_slot = false;
        let mut dependent_before = false;
        let mut index = 0;
        for node in &element.children {
            let (id, child) = match node {
                Node::Element(id) => {
                    let child = children.get(index)?;
                    index += 1;
                    (*id, *child)
                }
                Node::Slot(slot) => {
                    // One substitution after all static members, none of which may be left
                    // out: its key's `_N` suffix and comma are decided at compile time.
                    if seen_slot || dependent_before || container && !positional.is_empty() {
                        return None;
                    }
                    seen_slot = true;
                    let slot = self.slot(*slot);
                    let names = names.0.iter().map(|(n, c)| (n.as_str().into(), *c)).collect();
                    members.push(Member::Slot { slot, names });
                    continue;
                }
                Node::Text(_) => continue,
            };
            let index = index - 1;
            if seen_slot {
                return None;
            }
            if container && data(child) {
                if flatten_named {
                    let Some((_, name)) = child.attrs.iter().find(|(n, _)| n == "Name") else { continue };
                    if !name.iter().any(Node::is_nonempty_text) {
                        continue;
                    }
                    let name = static_text(name)?;
                    // Data of one name in a row are an array: the JSON path writes it.
                    let next_same = children.get(index + 1).is_some_and(|next| {
                        data(next)
                            && next
                                .attrs
                                .iter()
                                .find(|(n, _)| n == "Name")
                                .and_then(|(_, v)| static_text(v))
                                .is_some_and(|n| n == name)
                    });
                    if next_same {
                        return None;
                    }
                    let suffix = data_names.next(&name);
                    let shape = self.data_value(id)?;
                    members.push(Member::Element { key: suffixed(&name, suffix), depends: None, shape });
                } else if !positional_done && !positional.is_empty() {
                    positional_done = true;
                    let slots = positional
                        .iter()
                        .map(|&id| match self.data_value(id)? {
                            Shape::Leaf { slot, .. } => Some(slot),
                            _ => None,
                        })
                        .collect::<Option<Box<[u16]>>>()?;
                    members.push(Member::Element {
                        key: "Data".into(),
                        depends: None,
                        shape: Shape::Positional { slots },
                    });
                }
                continue;
            }
            let suffix = names.next(&child.name);
            if suffix > 0
                && (child.dependency.is_some()
                    || children.iter().take(index).any(|c| c.name == child.name && c.dependency.is_some()))
            {
                return None;
            }
            let shape = self.value(id, is_container(&child.name))?;
            dependent_before |= child.dependency.is_some();
            members.push(Member::Element { key: suffixed(&child.name, suffix), depends: child.dependency, shape });
        }
        Some(Shape::Object { attrs, members: members.into_boxed_slice(), left_out })
    }

    /// A `Data` element's value: its one substitution, `""` when empty (`compile_data_value`).
    fn data_value(&mut self, id: usize) -> Option<Shape> {
        let element = self.el(id)?;
        if !self.varies(element) {
            return None;
        }
        match element.children.as_slice() {
            [Node::Slot(slot)] => Some(Shape::Leaf { slot: self.slot(*slot), empty_str: true }),
            _ => None,
        }
    }
}

/// The text of a static attribute value.
fn static_text(value: &[Node]) -> Option<String> {
    let mut out = String::new();
    for node in value {
        match node {
            Node::Text(t) => out.push_str(t),
            _ => return None,
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Shapes with values, as a serde data source for the flattening visitors
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
pub(crate) struct DirectError(String);

impl fmt::Display for DirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DirectError {}

impl de::Error for DirectError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DirectError(msg.to_string())
    }
}

fn unsupported() -> DirectError {
    DirectError("a value the direct decoder leaves to the JSON path".into())
}

/// The compiled templates and the values of the instance being read.
#[derive(Clone, Copy)]
struct Ctx<'s, 'a> {
    cache: &'s Cache,
    values: &'s [Val<'a>],
}

impl<'s, 'a> Ctx<'s, 'a> {
    fn value(&self, slot: u16) -> Option<&'s Val<'a>> {
        self.values.get(usize::from(slot))
    }

    /// The compiled template of a nested instance and a context with its values.
    fn nested(&self, instance: &'s Instance<'a>) -> Result<(&'s Compiled, Ctx<'s, 'a>), DirectError> {
        let compiled = self.cache.get(instance.def).ok_or_else(unsupported)?;
        Ok((compiled, Ctx { cache: self.cache, values: &instance.values }))
    }
}

macro_rules! forward_any {
    () => {
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
        }
    };
}

/// `{"<root name>": <value>}` of an instance: a record, or a nested instance as a leaf value.
struct RootDe<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    compiled: &'s Compiled,
}

impl<'de> Deserializer<'de> for RootDe<'_, '_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        visitor.visit_map(RootMap { de: Some(self) })
    }
    forward_any!();
}

struct RootMap<'s, 'a> {
    de: Option<RootDe<'s, 'a>>,
}

impl<'de> MapAccess<'de> for RootMap<'_, '_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        match &self.de {
            Some(de) => seed.deserialize(Key(&de.compiled.name)).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        let de = self.de.take().ok_or_else(unsupported)?;
        seed.deserialize(ShapeDe { shape: &de.compiled.value, ctx: de.ctx })
    }
}

/// A shape with an instance's values.
struct ShapeDe<'s, 'a> {
    shape: &'s Shape,
    ctx: Ctx<'s, 'a>,
}

impl<'de> Deserializer<'de> for ShapeDe<'_, '_> {
    type Error = DirectError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        let ctx = self.ctx;
        match self.shape {
            Shape::Null => visitor.visit_unit(),
            Shape::Static(text) => visitor.visit_str(text),
            Shape::Leaf { slot, empty_str } => match ctx.value(*slot) {
                Some(Val::Nested(instance)) => {
                    let (compiled, ctx) = ctx.nested(instance)?;
                    RootDe { ctx, compiled }.deserialize_any(visitor)
                }
                value => ValueDe { value, empty_str: *empty_str }.deserialize_any(visitor),
            },
            Shape::Elem { attrs, content } => {
                let present = attrs.iter().any(|a| match a {
                    Attr::Static(..) => true,
                    Attr::Slot(_, slot) => ctx.value(*slot).is_some_and(|v| !v.is_empty()),
                });
                let content = content.and_then(|slot| ctx.value(slot)).filter(|v| !v.is_empty());
                match (present, content) {
                    (false, None) => visitor.visit_unit(),
                    (false, Some(v)) => ValueDe { value: Some(v), empty_str: false }.deserialize_any(visitor),
                    (true, content) => visitor.visit_map(ElemMap { ctx, attrs, content, step: 0 }),
                }
            }
            Shape::Object { attrs, members, left_out } => {
                if left_out.as_ref().is_some_and(|deps| deps.iter().all(|d| is_null(ctx.value(*d)))) {
                    return visitor.visit_unit();
                }
                visitor.visit_map(ObjectMap {
                    ctx,
                    attrs,
                    members,
                    attrs_done: attrs.is_empty(),
                    next: 0,
                    pending: None,
                })
            }
            Shape::Positional { slots } => visitor.visit_map(PositionalMap { ctx, slots, done: false }),
        }
    }

    forward_any!();
}

/// A key, or a static string.
struct Key<'a>(&'a str);

impl<'de> Deserializer<'de> for Key<'_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        visitor.visit_str(self.0)
    }
    forward_any!();
}

/// One scalar substitution value, as the renderer writes it into JSON and sonic-rs reads it
/// back (non-negative integers as `u64`); when it is empty, `""` or `null`.
struct ValueDe<'s, 'a> {
    value: Option<&'s Val<'a>>,
    empty_str: bool,
}

impl<'de> Deserializer<'de> for ValueDe<'_, '_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        let Some(value) = self.value.filter(|v| !v.is_empty()) else {
            return if self.empty_str { visitor.visit_str("") } else { visitor.visit_unit() };
        };
        // A traced record learns which substitution each field's value comes from.
        set_value_origin(std::ptr::from_ref(value).addr());
        let visited = self.visit(value, visitor);
        set_value_origin(0);
        visited
    }
    forward_any!();
}

impl ValueDe<'_, '_> {
    fn visit<'de, V: Visitor<'de>>(&self, value: &Val<'_>, visitor: V) -> Result<V::Value, DirectError> {
        match value {
            Val::Null => visitor.visit_unit(),
            Val::Str(units) => visit_utf16(units, visitor),
            Val::UInt(v) => visitor.visit_u64(*v),
            Val::Int(v) if *v >= 0 => visitor.visit_u64(v.unsigned_abs()),
            Val::Int(v) => visitor.visit_i64(*v),
            Val::Bool(v) => visitor.visit_bool(*v),
            Val::Binary(bytes) => visitor.visit_string(binary_text(bytes)),
            Val::Guid(guid) => visitor.visit_str(guid_text(guid).as_str()),
            Val::FileTime(ft) => visitor.visit_str(filetime_text(*ft).as_str()),
            Val::SysTime(st) => visitor.visit_str(systime_text(st).as_str()),
            Val::Sid(sid) => visitor.visit_string(sid_text(sid)),
            Val::Hex(v) => visitor.visit_str(hex_text(*v).as_str()),
            // An element where the renderer takes only text: the JSON path's tree walker.
            Val::Nested(_) => Err(unsupported()),
        }
    }
}

/// `{"#attributes": {...}, "#text": value}` of a [`Shape::Elem`].
struct ElemMap<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    attrs: &'s [Attr],
    content: Option<&'s Val<'a>>,
    step: u8,
}

impl<'de> MapAccess<'de> for ElemMap<'_, '_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        let key = match (self.step, self.content) {
            (0, _) => "#attributes",
            (1, Some(_)) => "#text",
            _ => return Ok(None),
        };
        seed.deserialize(Key(key)).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        self.step += 1;
        if self.step == 1 {
            seed.deserialize(AttrsDe { ctx: self.ctx, attrs: self.attrs })
        } else {
            seed.deserialize(ValueDe { value: self.content, empty_str: false })
        }
    }
}

/// The `#attributes` object of a [`Shape::Elem`]: the static ones and the substitutions that
/// are not empty.
struct AttrsDe<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    attrs: &'s [Attr],
}

impl<'de> Deserializer<'de> for AttrsDe<'_, '_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        visitor.visit_map(AttrsMap { ctx: self.ctx, attrs: self.attrs.iter(), pending: None })
    }
    forward_any!();
}

struct AttrsMap<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    attrs: std::slice::Iter<'s, Attr>,
    pending: Option<&'s Attr>,
}

impl<'de> MapAccess<'de> for AttrsMap<'_, '_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        for attr in self.attrs.by_ref() {
            let name = match attr {
                Attr::Static(name, _) => name,
                Attr::Slot(name, slot) => {
                    if self.ctx.value(*slot).is_none_or(|v| v.is_empty()) {
                        continue;
                    }
                    name
                }
            };
            self.pending = Some(attr);
            return seed.deserialize(Key(name)).map(Some);
        }
        Ok(None)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        match self.pending.take() {
            Some(Attr::Static(_, text)) => seed.deserialize(Key(text)),
            Some(Attr::Slot(_, slot)) => seed.deserialize(ValueDe { value: self.ctx.value(*slot), empty_str: false }),
            None => Err(unsupported()),
        }
    }
}

/// The members of a [`Shape::Object`].
struct ObjectMap<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    attrs: &'s [(Box<str>, Box<str>)],
    members: &'s [Member],
    attrs_done: bool,
    next: usize,
    /// The nested instance of the member whose key was read, for a substitution member.
    pending: Option<(&'s Compiled, Ctx<'s, 'a>)>,
}

impl<'de> MapAccess<'de> for ObjectMap<'_, '_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        if !self.attrs_done {
            return seed.deserialize(Key("#attributes")).map(Some);
        }
        while let Some(member) = self.members.get(self.next) {
            match member {
                Member::Element { key, depends, .. } => {
                    if depends.is_some_and(|d| is_null(self.ctx.value(d))) {
                        self.next += 1;
                        continue;
                    }
                    return seed.deserialize(Key(key)).map(Some);
                }
                Member::Slot { slot, names } => match self.ctx.value(*slot) {
                    None => {
                        self.next += 1;
                    }
                    Some(v) if v.is_empty() => {
                        self.next += 1;
                    }
                    Some(Val::Nested(instance)) => {
                        let (compiled, ctx) = self.ctx.nested(instance)?;
                        self.pending = Some((compiled, ctx));
                        let count = names.iter().find(|(n, _)| *n == compiled.name).map_or(0, |(_, c)| *c);
                        if count == 0 {
                            return seed.deserialize(Key(&compiled.name)).map(Some);
                        }
                        return seed.deserialize(Key(&format!("{}_{count}", compiled.name))).map(Some);
                    }
                    Some(_) => return Err(unsupported()),
                },
            }
        }
        Ok(None)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        if !self.attrs_done {
            self.attrs_done = true;
            return seed.deserialize(StaticAttrsDe(self.attrs));
        }
        let member = self.members.get(self.next).ok_or_else(unsupported)?;
        self.next += 1;
        match member {
            Member::Element { shape, .. } => seed.deserialize(ShapeDe { shape, ctx: self.ctx }),
            Member::Slot { .. } => {
                let (compiled, ctx) = self.pending.take().ok_or_else(unsupported)?;
                seed.deserialize(ShapeDe { shape: &compiled.value, ctx })
            }
        }
    }
}

/// Static `#attributes`.
struct StaticAttrsDe<'s>(&'s [(Box<str>, Box<str>)]);

impl<'de> Deserializer<'de> for StaticAttrsDe<'_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        visitor.visit_map(StaticAttrsMap { attrs: self.0, next: 0 })
    }
    forward_any!();
}

struct StaticAttrsMap<'s> {
    attrs: &'s [(Box<str>, Box<str>)],
    next: usize,
}

impl<'de> MapAccess<'de> for StaticAttrsMap<'_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        match self.attrs.get(self.next) {
            Some((name, _)) => seed.deserialize(Key(name)).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        let (_, text) = self.attrs.get(self.next).ok_or_else(unsupported)?;
        self.next += 1;
        seed.deserialize(Key(text))
    }
}

/// `{"#text": value}` or `{"#text": [values]}` of unnamed `Data` elements.
struct PositionalMap<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    slots: &'s [u16],
    done: bool,
}

impl<'de> MapAccess<'de> for PositionalMap<'_, '_> {
    type Error = DirectError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DirectError> {
        if self.done {
            return Ok(None);
        }
        seed.deserialize(Key("#text")).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DirectError> {
        self.done = true;
        match self.slots {
            [slot] => seed.deserialize(ValueDe { value: self.ctx.value(*slot), empty_str: true }),
            slots => seed.deserialize(PositionalSeq { ctx: self.ctx, slots, next: 0 }),
        }
    }
}

struct PositionalSeq<'s, 'a> {
    ctx: Ctx<'s, 'a>,
    slots: &'s [u16],
    next: usize,
}

impl<'de> Deserializer<'de> for PositionalSeq<'_, '_> {
    type Error = DirectError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DirectError> {
        visitor.visit_seq(self)
    }
    forward_any!();
}

impl<'de> SeqAccess<'de> for PositionalSeq<'_, '_> {
    type Error = DirectError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DirectError> {
        let Some(slot) = self.slots.get(self.next) else { return Ok(None) };
        self.next += 1;
        seed.deserialize(ValueDe { value: self.ctx.value(*slot), empty_str: true }).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use evtx::{EvtxParser, ParserSettings};

    use super::*;
    use crate::testutil::regression_corpus;

    /// An event as comparable text: fields with their values' types, time and record id.
    fn describe(event: &Event) -> String {
        let fields: Vec<String> = event.fields().map(|(name, value)| format!("{name}={value:?}")).collect();
        format!("{:?} {:?} {}", event.timestamp(), event.record_id(), fields.join(" | "))
    }

    #[derive(Default, Debug)]
    struct Tally {
        /// Chunks read by the whole-chunk walk.
        whole_chunks: u64,
        direct: u64,
        fallback: u64,
        /// Records built from a trace.
        replayed: u64,
        mismatches: Vec<String>,
    }

    /// For every record of the EVTX `bytes`: the direct event, when there is one, equals the one
    /// the JSON path gives.
    fn compare(name: &str, bytes: Vec<u8>, tally: &mut Tally) {
        let settings = Arc::new(ParserSettings::new().indent(false).validate_checksums(false).num_threads(1));
        let Ok(mut parser) = EvtxParser::from_buffer(bytes) else { return };
        let opts = ReadOptions::default();
        let mut b = Builder::default();
        for chunk in parser.chunks() {
            let Ok(mut data) = chunk else { continue };
            let Ok(mut chunk) = data.parse(Arc::clone(&settings)) else { continue };
            let chunk_data: &[u8] = chunk.data;
            // The whole-chunk walk: when it gives the chunk's events, the crate's iterator must
            // give exactly as many records, none of them an error, each equal to its event.
            // The chunk is read twice with the same templates: the second time, every record
            // whose layout an earlier one traced is built from the trace, and must give the same
            // event as the first read (and, below, as the JSON path).
            let mut warm = Templates::default();
            let first = warm.chunk_events(&chunk, &mut b, &opts);
            let replayed_before = warm.replayed;
            let whole = warm.chunk_events(&chunk, &mut b, &opts);
            tally.replayed += warm.replayed - replayed_before;
            match (&first, &whole) {
                (Some(first), Some(again)) => {
                    let differ = first.len() != again.len()
                        || first.iter().zip(again).any(|(a, b)| describe(a) != describe(b) || a != b);
                    if differ {
                        tally.mismatches.push(format!("{name}: the traced read differs from the first"));
                    }
                }
                (None, None) => {}
                _ => tally.mismatches.push(format!("{name}: the traced read succeeds where the first did not")),
            }
            tally.whole_chunks += u64::from(whole.is_some());
            tally.direct += whole.as_ref().map_or(0, |events| events.len() as u64);
            let mut whole = whole.map(Vec::into_iter);
            let mut templates = Templates::default();
            for record in chunk.iter() {
                let Ok(record) = record else {
                    if whole.is_some() {
                        tally.mismatches.push(format!("{name}: whole-chunk events, but {record:?}"));
                    }
                    continue;
                };
                let direct = match &mut whole {
                    Some(events) => {
                        let event = events.next();
                        if event.is_none() {
                            tally.mismatches.push(format!("{name}: the crate finds more records"));
                        }
                        event
                    }
                    None => templates.event(chunk_data, &record, &mut b, &opts),
                };
                let id = record.event_record_id;
                let fallback = Fallback { record_id: Some(id), timestamp: Some(record.timestamp) };
                let mut out = Vec::new();
                let json = record
                    .into_json_bytes()
                    .map_err(|e| e.to_string())
                    .and_then(|rendered| b.parse_with_fallback(&rendered.data, &opts, fallback, &mut out));
                match (direct, json, out.as_slice()) {
                    (None, ..) => {}
                    (Some(direct), Ok(()), [event]) => {
                        let (want, got) = (describe(event), describe(&direct));
                        if want != got {
                            // The first field that differs.
                            let (w, g): (Vec<&str>, Vec<&str>) =
                                (want.split(" | ").collect(), got.split(" | ").collect());
                            let at = w.iter().zip(&g).position(|(a, b)| a != b).unwrap_or(w.len().min(g.len()));
                            tally.mismatches.push(format!(
                                "{name} record {id}, field {at}:\n json:   {:?}\n direct: {:?}",
                                w.get(at),
                                g.get(at)
                            ));
                        }
                    }
                    (Some(_), json, _) => {
                        tally.mismatches.push(format!("{name} record {id}: direct event, JSON path {json:?}"));
                    }
                }
            }
            if whole.is_some_and(|mut rest| rest.next().is_some()) {
                tally.mismatches.push(format!("{name}: the crate finds fewer records"));
            }
            tally.direct += templates.direct;
            tally.fallback += templates.fallback;
            tally.replayed += templates.replayed;
        }
    }

    fn evtx_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .map(walkdir::DirEntry::into_path)
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")))
            .collect();
        files.sort();
        files
    }

    /// Every record of every regression `.evtx` (and of the files named in `SIGIL_EVTX_EQUIV`,
    /// e.g. `bench/gen_evtx.py` output, whose records use templates defined by earlier records)
    /// decodes directly to the event the JSON path gives, and most records take the direct path.
    #[test]
    fn direct_events_equal_json_events() {
        let Some(corpus) = regression_corpus() else { return };
        let mut files = evtx_files(&corpus);
        assert!(files.len() > 100, "{} files", files.len());
        files.extend(std::env::var_os("SIGIL_EVTX_EQUIV").iter().flat_map(std::env::split_paths));
        let mut tally = Tally::default();
        for file in &files {
            compare(&file.display().to_string(), std::fs::read(file).unwrap(), &mut tally);
        }
        eprintln!(
            "direct path: {} records ({} from traces), JSON path: {} records; {} chunks read whole",
            tally.direct, tally.replayed, tally.fallback, tally.whole_chunks
        );
        assert!(tally.mismatches.is_empty(), "{} mismatches:\n{}", tally.mismatches.len(), tally.mismatches.join("\n"));
        assert!(tally.direct > 9 * tally.fallback, "direct {} vs fallback {}", tally.direct, tally.fallback);
        // Nearly every record read whole the second time comes from a trace.
        assert!(tally.replayed * 10 > tally.direct * 9, "{} of {} from traces", tally.replayed, tally.direct);
    }

    /// The chunk offsets of the UTF-16 text values of `inst` and of the instances nested in it.
    fn text_spans(chunk: &[u8], inst: &Instance<'_>, out: &mut Vec<(usize, usize)>) {
        for value in &inst.values {
            match value {
                Val::Str(units) if !units.is_empty() => {
                    out.push((units.as_ptr().addr() - chunk.as_ptr().addr(), units.len()));
                }
                Val::Nested(nested) => text_spans(chunk, nested, out),
                _ => {}
            }
        }
    }

    /// Records built from a trace take their own values, never the traced record's: each
    /// regression sample's first chunk is read, which traces its records, and then a copy whose
    /// text values all differ (every ASCII letter and digit moved on by one, nothing else
    /// touched, so every record keeps its layout) is read with the same templates; each of
    /// its events equals the one the JSON path gives for the changed record.
    #[test]
    fn traced_records_take_their_own_values() {
        let Some(corpus) = regression_corpus() else { return };
        let settings = Arc::new(ParserSettings::new().indent(false).validate_checksums(false).num_threads(1));
        let opts = ReadOptions::default();
        let mut b = Builder::default();
        let (mut replayed, mut compared) = (0u64, 0u64);
        let mut mismatches = Vec::new();
        let first_chunk = |bytes: Vec<u8>| -> Option<evtx::EvtxChunkData> {
            EvtxParser::from_buffer(bytes).ok()?.chunks().next()?.ok()
        };
        for file in evtx_files(&corpus) {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).unwrap();
            let Some(mut data) = first_chunk(bytes.clone()) else { continue };
            let Ok(chunk) = data.parse(Arc::clone(&settings)) else { continue };
            let mut templates = Templates::default();
            if templates.chunk_events(&chunk, &mut b, &opts).is_none() {
                continue;
            }
            let mut spans = Vec::new();
            for record in walk_records(&chunk).unwrap_or_default() {
                if let Some(inst) = parse_instance(chunk.data, record.start, record.end, 0) {
                    text_spans(chunk.data, &inst, &mut spans);
                }
            }
            let mut changed = bytes;
            for (at, len) in spans {
                for unit in changed[4096 + at..4096 + at + len].as_chunks_mut::<2>().0 {
                    unit[0] = match *unit {
                        [b'z', 0] => b'a',
                        [b'Z', 0] => b'A',
                        [b'9', 0] => b'0',
                        [c @ (b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8'), 0] => c + 1,
                        [c, _] => c,
                    };
                }
            }
            let Some(mut data) = first_chunk(changed) else { continue };
            let Ok(mut chunk) = data.parse(Arc::clone(&settings)) else { continue };
            let before = templates.replayed;
            let Some(events) = templates.chunk_events(&chunk, &mut b, &opts) else {
                mismatches.push(format!("{name}: the changed chunk is not read whole"));
                continue;
            };
            replayed += templates.replayed - before;
            let mut events = events.into_iter();
            for record in chunk.iter() {
                let (Ok(record), Some(event)) = (record, events.next()) else {
                    mismatches.push(format!("{name}: records and events differ in number"));
                    break;
                };
                let fallback = Fallback { record_id: Some(record.event_record_id), timestamp: Some(record.timestamp) };
                let mut out = Vec::new();
                let rendered = record.into_json_bytes().unwrap();
                b.parse_with_fallback(&rendered.data, &opts, fallback, &mut out).unwrap();
                compared += 1;
                if out.len() != 1 || describe(&out[0]) != describe(&event) {
                    mismatches.push(format!(
                        "{name}:\n json:   {:?}\n traced: {}",
                        out.first().map(describe),
                        describe(&event)
                    ));
                }
            }
        }
        eprintln!("changed values: {compared} records compared, {replayed} built from traces");
        assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
        assert!(replayed > 200 && replayed == compared, "{replayed} of {compared} built from traces");
    }

    /// The text of a UTF-16 value is the same whichever way it is read: straight into a compact
    /// string, or handed to a visitor.
    #[test]
    fn utf16_values_convert_as_the_visitors_read_them() {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("text")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
        }
        let utf16 = |units: &[u16]| -> Vec<u8> { units.iter().flat_map(|u| u.to_le_bytes()).collect() };
        let ascii = |n: usize| -> Vec<u16> { (0..n).map(|i| u16::from(b'a' + (i % 26) as u8)).collect() };
        let mut cases: Vec<Vec<u8>> = [0, 1, 23, 24, 25, 63, 64, 65, 300].iter().map(|&n| utf16(&ascii(n))).collect();
        for n in [1, 23, 24, 25, 64, 65] {
            for (at, unit) in [(0, 0x00e9), (n / 2, 0x0080), (n - 1, 0x4e2d), (n / 2, 0x0100)] {
                let mut units = ascii(n);
                units[at] = unit;
                cases.push(utf16(&units));
            }
            // A surrogate pair (U+1F600), and an unpaired high and low surrogate.
            let mut units = ascii(n);
            units.extend([0xd83d, 0xde00]);
            cases.push(utf16(&units));
            for lone in [0xd83d, 0xde00] {
                let mut units = ascii(n);
                units.insert(n / 2, lone);
                cases.push(utf16(&units));
            }
        }
        for case in &cases {
            let direct = utf16_compact(case).map(|s| s.to_string());
            let visited = visit_utf16(case, Text).ok();
            assert_eq!(direct, visited, "{case:?}");
            assert_eq!(direct, String::from_utf16(&utf16_units(case).collect::<Vec<_>>()).ok(), "{case:?}");
        }
    }

    /// Damaged chunks: bytes flipped in the template definitions and records, and the records
    /// cut short (zeroed from a point on), never make the direct path panic, and whenever it
    /// gives an event, the JSON path gives the same one: never a partial or different event.
    #[test]
    fn damaged_templates_and_records_never_panic_nor_differ() {
        let Some(corpus) = regression_corpus() else { return };
        // Sysmon (EventData), Security (EventData, other System attributes), WMI (UserData,
        // which takes the JSON path).
        let samples = [
            crate::testutil::SYSMON_1_EVTX,
            "regression_data/rules/windows/builtin/security/win_security_explicit_credential_local_logon/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62.evtx",
            "regression_data/rules/windows/builtin/wmi/win_wmi_activity_nteventlogfile_cleareventlog/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx",
        ];
        let mut next = crate::testutil::xorshift(0x9e37_79b9_7f4a_7c15_u64);
        let mut tally = Tally::default();
        for sample in samples {
            let file = std::fs::read(corpus.join(sample)).unwrap();
            let chunk = &file[4096..4096 + 65536];
            let free = u32::from_le_bytes(chunk[48..52].try_into().unwrap()) as usize;
            assert!(free > 600 && free <= chunk.len(), "{sample}");
            for round in 0..400 {
                let mut bad = chunk.to_vec();
                if round % 5 == 4 {
                    // Cut: the records end early, the rest is zeros.
                    let at = 512 + next() as usize % (free - 512);
                    bad[at..free].fill(0);
                } else {
                    for _ in 0..1 + next() % 4 {
                        // Mostly the first record, which holds the template definitions.
                        let span = if round % 2 == 0 { 2500.min(free - 512) } else { free - 512 };
                        let at = 512 + next() as usize % span;
                        bad[at] ^= 1 << (next() % 8);
                    }
                }
                let mut file = file[..4096].to_vec();
                file.extend_from_slice(&bad);
                compare(&format!("{sample} round {round}"), file, &mut tally);
            }
        }
        eprintln!(
            "damaged: direct path {} records, JSON path {}; {} chunks read whole",
            tally.direct, tally.fallback, tally.whole_chunks
        );
        assert!(tally.mismatches.is_empty(), "{} mismatches:\n{}", tally.mismatches.len(), tally.mismatches.join("\n"));
        assert!(tally.direct > 0 && tally.fallback > 0, "{tally:?}");
    }
}
