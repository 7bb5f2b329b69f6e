//! The JSON shape of a detection (`--format jsonl`).

use std::borrow::Cow;

use serde::Serialize;
use sigil_engine::{CorrelationDetail, Detection};

/// One line of `--format jsonl`: a detection, serialised straight to the output (no JSON tree is built).
///
/// Fields in this order; `kind`, `account` and `correlation` are left out when absent, every other field is
/// always present (`null` when unknown). A field added later must be optional and left out when absent
/// (`#[serde(skip_serializing_if = "Option::is_none")]`), so lines of older hunts keep their bytes.
#[derive(Debug, Serialize)]
pub struct DetectionRecord<'a> {
    /// The rule's `id`.
    pub rule_id: Option<&'a str>,
    /// The rule's `title`.
    pub rule_title: &'a str,
    /// The rule's `level`.
    pub level: Option<&'static str>,
    /// The rule's `tags`, as written.
    pub tags: &'a [String],
    /// The event's time (RFC 3339, UTC).
    pub timestamp: Option<String>,
    /// The host that logged the event.
    pub computer: Option<Cow<'a, str>>,
    /// The event's log (channel) or source.
    pub channel: Option<Cow<'a, str>>,
    /// The Windows event id.
    pub event_id: Option<u64>,
    /// The record id in its log.
    pub record_id: Option<u64>,
    /// The record kind of a non-Windows event (`aws.cloudtrail`, `linux.auditd`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The account of a non-Windows event, when its kind names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Cow<'a, str>>,
    /// The input the event was read from, as given.
    pub source: Cow<'a, str>,
    /// The whole event (see `sigil_events::Event`'s `Serialize`).
    pub event: &'a sigil_events::Event,
    /// Why a correlation alert fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationRecord<'a>>,
    /// With `--explain`: the selections that matched, each with its items (see `sigil_engine::Explanation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Vec<sigil_engine::SelectionExplanation>>,
}

impl<'a> DetectionRecord<'a> {
    /// The record of a detection.
    pub fn new(d: &'a Detection<'a>) -> DetectionRecord<'a> {
        let ev = d.event;
        DetectionRecord {
            rule_id: d.rule.info.id.as_deref(),
            rule_title: &d.rule.info.title,
            level: d.rule.info.level.map(sigil_rule::Level::as_str),
            tags: &d.rule.info.tags,
            timestamp: ev.timestamp().map(|t| t.to_string()),
            computer: ev.display_host(),
            channel: ev.display_channel(),
            event_id: ev.event_id(),
            record_id: ev.record_id(),
            kind: ev.kind().map(|k| k.name),
            account: ev.display_account(),
            source: d.source.to_string_lossy(),
            event: ev,
            correlation: d.correlation.map(CorrelationRecord),
            explanation: None,
        }
    }
}

/// The `correlation` object of a correlation alert: `type`, `group` (field → value), `value` (an integer for
/// counts), `condition`, `timespan`, `first`, `last`, `rules`, `events` (`rule_id`, `timestamp`, `source`,
/// `record_id`) and `events_left_out`.
#[derive(Debug)]
pub struct CorrelationRecord<'a>(pub &'a CorrelationDetail);

/// One event of a correlation's window.
#[derive(Serialize)]
struct WindowEvent<'a> {
    rule_id: &'a str,
    timestamp: String,
    source: Cow<'a, str>,
    record_id: Option<u64>,
}

/// Group-by values as an object, in the correlation's order.
struct Group<'a>(&'a [(String, String)]);

impl Serialize for Group<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl Serialize for CorrelationRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let c = self.0;
        let mut map = s.serialize_map(Some(11))?;
        map.serialize_entry("type", c.kind)?;
        map.serialize_entry("group", &Group(&c.group))?;
        // Counts as integers, sums and averages as they are.
        if c.value.fract() == 0.0 && c.value.abs() < 9.0e15 {
            map.serialize_entry("value", &(c.value as i64))?;
        } else if c.value.is_finite() {
            map.serialize_entry("value", &c.value)?;
        } else {
            map.serialize_entry("value", &())?;
        }
        map.serialize_entry("condition", &c.condition)?;
        map.serialize_entry("timespan", &c.timespan)?;
        map.serialize_entry("first", &c.first.to_string())?;
        map.serialize_entry("last", &c.last.to_string())?;
        map.serialize_entry("rules", &c.rules)?;
        let events: Vec<WindowEvent<'_>> = c
            .events
            .iter()
            .map(|e| WindowEvent {
                rule_id: &e.rule_id,
                timestamp: e.timestamp.to_string(),
                source: e.source.to_string_lossy(),
                record_id: e.record_id,
            })
            .collect();
        map.serialize_entry("events", &events)?;
        map.serialize_entry("events_left_out", &c.events_left_out)?;
        map.end()
    }
}
