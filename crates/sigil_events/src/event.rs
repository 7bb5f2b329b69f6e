//! The flat event.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;

use crate::error::ParseError;
use crate::flatten::Builder;
use crate::formats::RecordKind;
use crate::{ReadOptions, Value};

/// One event: an ordered list of `(name, value)` fields, plus its time and record id.
///
/// Invariants:
/// - Field names are flat strings (`Image`, `Provider_Name`, `a.b.c`); see the crate docs for
///   how EVTX and JSON structures are named.
/// - [`Event::fields`] yields fields in document order. A name can occur more than once (an
///   `EventData` field named like a `System` one, e.g. Sysmon 4's `Version`); [`Event::get`]
///   then returns the **last** one, so data fields shadow system fields, as in JSON where the
///   later key wins.
/// - Names live in one buffer and values in one slice, so an event costs two allocations plus one
///   per string value, and lookups scan a contiguous slice. The names buffer is shared (reference
///   counted): EVTX records of one template and layout in a chunk share one (see `evtx_direct`).
#[derive(Clone, Default)]
pub struct Event {
    names: Arc<str>,
    fields: Box<[Field]>,
    timestamp: Option<Timestamp>,
    record_id: Option<u64>,
    kind: Option<&'static RecordKind>,
}

/// One field: its name as a range of `Event::names`, and its value.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub(crate) start: u32,
    pub(crate) len: u32,
    pub(crate) value: Value,
}

impl Event {
    pub(crate) fn from_parts(
        names: Arc<str>,
        fields: Box<[Field]>,
        timestamp: Option<Timestamp>,
        record_id: Option<u64>,
    ) -> Event {
        Event { names, fields, timestamp, record_id, kind: None }
    }

    /// The shared names buffer and the fields, for readers that build events of the same layout.
    pub(crate) fn parts(&self) -> (&Arc<str>, &[Field]) {
        (&self.names, &self.fields)
    }

    /// An event with the given fields, in order, with no timestamp or record id.
    ///
    /// Meant for tests and for other sources; readers build events themselves.
    pub fn from_fields<I, K, V>(fields: I) -> Event
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<Value>,
    {
        let mut builder = Builder::default();
        for (name, value) in fields {
            builder.push_named(name.as_ref(), value.into());
        }
        builder.finish_raw()
    }

    /// Parse one JSON object (or evtx-style `{"Event": {...}}` record) into an event, with the
    /// same flattening and timestamp rules as the readers.
    ///
    /// # Errors
    ///
    /// When the text is not valid JSON, not an object, or has trailing content.
    pub fn from_json_slice(json: &[u8], opts: &ReadOptions) -> Result<Event, ParseError> {
        let mut builder = Builder::default();
        let mut events = Vec::with_capacity(1);
        builder.parse_object(json, opts, &mut events).map_err(|message| ParseError { message })?;
        events.pop().ok_or_else(|| ParseError { message: "expected a JSON object".into() })
    }

    /// Like [`Event::from_json_slice`], from a parsed JSON value.
    ///
    /// # Errors
    ///
    /// When the value is not an object.
    pub fn from_json_value(json: &serde_json::Value, opts: &ReadOptions) -> Result<Event, ParseError> {
        let mut builder = Builder::default();
        let mut events = Vec::with_capacity(1);
        builder.parse_object_value(json, opts, &mut events).map_err(|message| ParseError { message })?;
        events.pop().ok_or_else(|| ParseError { message: "expected a JSON object".into() })
    }

    /// Set the timestamp.
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: Option<Timestamp>) -> Event {
        self.timestamp = timestamp;
        self
    }

    /// Set the record id.
    #[must_use]
    pub fn with_record_id(mut self, record_id: Option<u64>) -> Event {
        self.record_id = record_id;
        self
    }

    /// Set the record kind (see [`Event::kind`]).
    #[must_use]
    pub fn with_kind(mut self, kind: Option<&'static RecordKind>) -> Event {
        self.kind = kind;
        self
    }

    /// What kind of record this is when it is not a Windows event: a CloudTrail record, an
    /// auditd event, a web access log line, ... `None` for Windows events and for JSON whose
    /// shape is not recognised, which are routed as Windows events. The kind is set by the
    /// reader, never by a field of the record, so no data field can change how it is routed.
    pub fn kind(&self) -> Option<&'static RecordKind> {
        self.kind
    }

    /// The value of the **first** field named `field`. Windows records list their `System`
    /// fields first, so this reads the record's own `Channel`, `Computer`, ... even when the
    /// event data has a field of the same name.
    fn get_first(&self, field: &str) -> Option<&Value> {
        let want = field.as_bytes();
        let names = self.names.as_bytes();
        self.fields
            .iter()
            .find(|f| {
                f.len as usize == want.len()
                    && names.get(f.start as usize..f.start as usize + f.len as usize) == Some(want)
            })
            .map(|f| &f.value)
    }

    /// The "channel" to show for the event: `Channel` for Windows events, else the field its
    /// [`RecordKind`] names (CloudTrail `eventSource`, auditd record types, the Zeek log, ...).
    pub fn display_channel(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.kind {
            Some(kind) => kind.channel_of(self),
            None => self.channel().map(std::borrow::Cow::Borrowed),
        }
    }

    /// The host to show for the event: `Computer` for Windows events, else the field its
    /// [`RecordKind`] names (the syslog host, the client address of a web request, ...).
    pub fn display_host(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self.kind {
            Some(kind) => kind.host_of(self),
            None => self.computer().map(std::borrow::Cow::Borrowed),
        }
    }

    /// The account to show for the event, when its [`RecordKind`] names one (CloudTrail
    /// `userIdentity.arn`, auditd `auid`, Okta `actor.alternateId`, ...).
    pub fn display_account(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.kind.and_then(|kind| kind.account_of(self))
    }

    fn name_of(&self, field: &Field) -> &str {
        let start = field.start as usize;
        self.names.get(start..start + field.len as usize).unwrap_or_default()
    }

    /// The value of the field named exactly `field` (case-sensitive), the last one if the
    /// name occurs more than once.
    ///
    /// A linear scan that compares lengths before bytes: events hold tens of fields, for
    /// which this beats hashing the name.
    #[inline]
    pub fn get(&self, field: &str) -> Option<&Value> {
        let want = field.as_bytes();
        let names = self.names.as_bytes();
        self.fields
            .iter()
            .rev()
            .find(|f| {
                f.len as usize == want.len()
                    && names.get(f.start as usize..f.start as usize + f.len as usize) == Some(want)
            })
            .map(|f| &f.value)
    }

    /// Whether a field named `field` exists (even with a null value).
    pub fn contains(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// All fields, in document order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + DoubleEndedIterator + '_ {
        self.fields.iter().map(|f| (self.name_of(f), &f.value))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the event has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// When the event happened: `System/TimeCreated/@SystemTime` for Windows events, else the
    /// first field of [`ReadOptions::timestamp_fields`] that holds a readable time; for EVTX
    /// records without `TimeCreated`, the record header's time.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// The record id: `EventRecordID` for Windows events (for EVTX records without it, the
    /// record header's id), else `None` unless the event has an `EventRecordID` field.
    pub fn record_id(&self) -> Option<u64> {
        self.record_id
    }

    /// `Computer`, when it is a string (the first field of that name: the record's own, not a
    /// data field named like it).
    pub fn computer(&self) -> Option<&str> {
        self.get_first("Computer").and_then(Value::as_str)
    }

    /// `Channel`, when it is a string (the first field of that name: the record's own, not a
    /// data field named like it, such as the cleared log's `Channel` in EventLog 104).
    pub fn channel(&self) -> Option<&str> {
        self.get_first("Channel").and_then(Value::as_str)
    }

    /// `Provider_Name`, when it is a string.
    pub fn provider(&self) -> Option<&str> {
        self.get_first("Provider_Name").and_then(Value::as_str)
    }

    /// `EventID` as a number (from an integer or a numeric string).
    pub fn event_id(&self) -> Option<u64> {
        self.get_first("EventID").and_then(Value::as_u64)
    }

    /// The event as a flat JSON object, fields in document order. When a name occurs more
    /// than once, the object holds the last value (the one [`Event::get`] returns) at the
    /// position of the first.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::with_capacity(self.fields.len());
        for (name, value) in self.fields() {
            map.insert(name.to_owned(), value.to_json());
        }
        serde_json::Value::Object(map)
    }
}

/// Serialises as the object [`Event::to_json`] gives — fields in document order, a repeated name once, at the
/// position of its first occurrence, with its last value — written straight to the serializer.
///
/// Linear in the number of fields (one map from name to its last position).
impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        use std::collections::HashMap;
        // Names rarely repeat (Sysmon 4's `Version`): then fields are written as they are, without building a map
        // of names (this runs for every detection printed as a JSON line).
        if !self.may_repeat_names() {
            let mut map = s.serialize_map(Some(self.fields.len()))?;
            for (name, value) in self.fields() {
                map.serialize_entry(name, value)?;
            }
            return map.end();
        }
        // The last index of each name.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (name, _)) in self.fields().enumerate() {
            last.insert(name, i);
        }
        let mut map = s.serialize_map(Some(last.len()))?;
        for (name, _) in self.fields() {
            // Written at the first occurrence (the entry is then removed, so later ones are skipped).
            if let Some(i) = last.remove(name)
                && let Some(field) = self.fields.get(i)
            {
                map.serialize_entry(name, &field.value)?;
            }
        }
        map.end()
    }
}

impl Event {
    /// Whether two fields may share a name: `false` proves they do not. Compares a hash of each name, sorted, on
    /// the stack (no allocation); equal hashes or more than [`NAME_CHECK_LIMIT`] fields answer `true`, and the
    /// caller then looks at the names themselves.
    fn may_repeat_names(&self) -> bool {
        let n = self.fields.len();
        if n < 2 {
            return false;
        }
        if n > NAME_CHECK_LIMIT {
            return true;
        }
        let mut hashes = [0u64; NAME_CHECK_LIMIT];
        for (h, f) in hashes.iter_mut().zip(self.fields.iter()) {
            *h = name_hash(self.name_of(f));
        }
        let hashes = hashes.get_mut(..n).unwrap_or_default();
        hashes.sort_unstable();
        hashes.windows(2).any(|w| w.first() == w.last())
    }
}

/// Events with more fields than this are checked for repeated names with a map.
const NAME_CHECK_LIMIT: usize = 64;

/// A hash of a field name: equal names hash equal.
fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.timestamp == other.timestamp
            && self.record_id == other.record_id
            && self.kind.map(|k| k.name) == other.kind.map(|k| k.name)
            && self.fields().eq(other.fields())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("timestamp", &self.timestamp)
            .field("record_id", &self.record_id)
            .field("kind", &self.kind.map(|k| k.name))
            .field("fields", &FieldsDebug(self))
            .finish()
    }
}

struct FieldsDebug<'a>(&'a Event);

impl fmt::Debug for FieldsDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.fields()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_returns_last_of_repeated_names() {
        let event =
            Event::from_fields([("Version", Value::Int(3)), ("Image", "a.exe".into()), ("Version", "15.0".into())]);
        assert_eq!(event.get("Version"), Some(&Value::from("15.0")));
        assert_eq!(event.get("Image"), Some(&Value::from("a.exe")));
        assert_eq!(event.get("image"), None);
        assert_eq!(event.get(""), None);
        assert_eq!(event.len(), 3);
        let names: Vec<_> = event.fields().map(|(n, _)| n).collect();
        assert_eq!(names, ["Version", "Image", "Version"]);
        assert_eq!(event.to_json(), serde_json::json!({"Version": "15.0", "Image": "a.exe"}));
        assert_eq!(serde_json::to_string(&event).ok(), Some(event.to_json().to_string()));
    }

    #[test]
    fn serialising_writes_a_repeated_name_once_with_its_last_value() {
        // Names of every length around the hash's 8-byte steps, one of them repeated; and events past the
        // stack check's limit, with and without a repeat; and names equal but for case (not repeats).
        let names: Vec<String> = (0..70).map(|i| format!("{}{i}", "F".repeat(i % 17))).collect();
        for n in [0, 1, 2, 9, 40, 64, 65, 70] {
            let mut fields: Vec<(String, Value)> =
                names.iter().take(n).enumerate().map(|(i, k)| (k.clone(), Value::Int(i as i64))).collect();
            let plain = Event::from_fields(fields.clone());
            assert_eq!(serde_json::to_string(&plain).ok(), Some(plain.to_json().to_string()), "{n} fields");
            if let Some((first, _)) = fields.first().cloned() {
                fields.push((first, Value::from("last")));
                let repeated = Event::from_fields(fields);
                let json = serde_json::to_string(&repeated).unwrap_or_default();
                assert_eq!(json, repeated.to_json().to_string(), "{n} fields and a repeat");
                assert_eq!(json.matches("\"last\"").count(), 1);
            }
        }
        let cased = Event::from_fields([("image", "a"), ("Image", "b"), ("IMAGE", "c")]);
        assert_eq!(serde_json::to_string(&cased).ok().as_deref(), Some(r#"{"image":"a","Image":"b","IMAGE":"c"}"#));
    }

    #[test]
    fn convenience_accessors() {
        let event = Event::from_fields([
            ("EventID", Value::from("4688")),
            ("Channel", "Security".into()),
            ("Provider_Name", "Microsoft-Windows-Security-Auditing".into()),
            ("Computer", "host".into()),
        ]);
        assert_eq!(event.event_id(), Some(4688));
        assert_eq!(event.channel(), Some("Security"));
        assert_eq!(event.provider(), Some("Microsoft-Windows-Security-Auditing"));
        assert_eq!(event.computer(), Some("host"));
        assert!(event.contains("Computer"));
        assert!(!event.contains("User"));
    }
}
