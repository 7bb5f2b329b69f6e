//! Correlation rules (Sigma 2.1): `event_count`, `value_count`, `temporal` and `temporal_ordered` over the
//! detections of the rules they reference.
//!
//! During the hunt, each detection of a referenced rule leaves a small [`CorrEvent`] (time, rule, group-by values,
//! counted value, and the event itself for output). Memory therefore grows with the number of such detections,
//! never with the number of events read. After the last batch, [`evaluate`] puts them in time order — across all
//! inputs — and slides each correlation's window over every group:
//!
//! - the window holds the group's events of the last `timespan` (inclusive) before the current one;
//! - when the condition holds, one alert is raised, carrying the event that completed it, and the window starts
//!   afresh (so a burst of 30 failed logons with `gte: 10` gives three alerts, not twenty-one);
//! - `event_count` counts events, `value_count` distinct values of `condition.field`, `temporal` distinct
//!   referenced rules (default condition: all of them), `temporal_ordered` requires them in the listed order.
//!
//! Events without a timestamp cannot be placed in a window and are left out (counted). `value_sum`, `value_avg`,
//! `value_percentile`, `value_median`, correlations of correlations and the extended condition expressions of
//! temporal types are reported as unsupported. As the specification says, the referenced rules do not raise alerts
//! of their own unless a correlation that uses them says `generate: true`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use sigil_events::Event;
use sigil_rule::{CmpOp, CorrelationRule, CorrelationType};

/// A referenced rule: its index among the engine's rules, its id and its name.
pub(crate) type RuleRef = (u32, Option<String>, Option<String>);

/// A correlation ready to evaluate.
#[derive(Debug, Clone)]
pub(crate) struct Correlation {
    /// Index of the correlation's shell in [`crate::Engine::rules`] (for output and statistics).
    pub(crate) shell: u32,
    kind: CorrelationType,
    /// Referenced rules, as engine rule indexes, in the listed order.
    pub(crate) rules: Vec<u32>,
    /// Per group-by field: the event field to read for each referenced rule (aliases resolved).
    group_by: Vec<(String, Vec<String>)>,
    timespan_ns: i128,
    comparisons: Vec<(CmpOp, f64)>,
    /// For `value_count`: the field whose distinct values are counted, per referenced rule.
    field: Option<Vec<String>>,
}

/// Why a correlation rule is not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorrelationError {
    #[error("correlation type {0} is not supported by hunt yet")]
    Unsupported(&'static str),
    #[error("references rule '{0}', which is not among the compiled rules")]
    UnknownRule(String),
    #[error("has no valid timespan")]
    NoTimespan,
    #[error("value_count needs condition.field")]
    NoField,
    #[error("extended condition expressions are not supported by hunt yet")]
    Expression,
}

impl Correlation {
    /// Resolves a correlation against the compiled rules; `lookup` finds a rule index by id or name.
    pub(crate) fn new(
        c: &CorrelationRule,
        shell: u32,
        lookup: &dyn Fn(&str) -> Option<RuleRef>,
    ) -> Result<Correlation, CorrelationError> {
        let corr = &c.correlation;
        match corr.kind {
            CorrelationType::EventCount
            | CorrelationType::ValueCount
            | CorrelationType::Temporal
            | CorrelationType::TemporalOrdered => {}
            other => return Err(CorrelationError::Unsupported(other.as_str())),
        }
        let mut rules = Vec::new();
        let mut names: Vec<Vec<String>> = Vec::new();
        for (r, _) in &corr.rules {
            let (index, id, name) = lookup(r).ok_or_else(|| CorrelationError::UnknownRule(r.clone()))?;
            rules.push(index);
            names.push([Some(r.clone()), id, name].into_iter().flatten().collect());
        }
        // The field an alias stands for in each referenced rule (by any of the names the rule is known by).
        let field_for = |field: &str| -> Vec<String> {
            let alias = corr.aliases.iter().find(|a| a.name == field);
            names
                .iter()
                .map(|known| {
                    alias
                        .and_then(|a| a.fields.iter().find(|(rule, _)| known.contains(rule)).map(|(_, f)| f.clone()))
                        .unwrap_or_else(|| field.to_string())
                })
                .collect()
        };
        let group_by = corr.group_by.iter().map(|g| (g.clone(), field_for(g))).collect();
        let timespan = corr.timespan.as_ref().ok_or(CorrelationError::NoTimespan)?;
        let condition = corr.condition.clone().unwrap_or_default();
        if condition.expression.is_some() {
            return Err(CorrelationError::Expression);
        }
        let mut comparisons = condition.comparisons.clone();
        if comparisons.is_empty() && corr.kind.is_temporal() {
            comparisons.push((CmpOp::Gte, rules.len() as f64));
        }
        let field = match corr.kind {
            CorrelationType::ValueCount => {
                Some(field_for(condition.field.as_deref().ok_or(CorrelationError::NoField)?))
            }
            _ => None,
        };
        Ok(Correlation {
            shell,
            kind: corr.kind,
            rules,
            group_by,
            timespan_ns: i128::from(timespan.seconds) * 1_000_000_000,
            comparisons,
            field,
        })
    }

    /// The record a detection of referenced rule `rule` leaves, or `None` if the event has no timestamp.
    pub(crate) fn record(
        &self,
        rule: u32,
        event: &Event,
        source: &Arc<Path>,
        position: (u64, u32),
    ) -> Option<CorrEvent> {
        let time = event.timestamp()?.as_nanosecond();
        let slot = self.rules.iter().position(|r| *r == rule)?;
        let group = self
            .group_by
            .iter()
            .map(|(_, per_rule)| per_rule.get(slot).and_then(|f| value_of(event, f)).unwrap_or_default())
            .collect();
        let value = self.field.as_ref().and_then(|per_rule| per_rule.get(slot)).and_then(|f| value_of(event, f));
        Some(CorrEvent {
            time,
            slot: slot as u32,
            group,
            value,
            event: event.clone(),
            source: Arc::clone(source),
            position,
        })
    }

    fn holds(&self, n: f64) -> bool {
        self.comparisons.iter().all(|(op, v)| op.holds(n, *v))
    }
}

fn value_of(event: &Event, field: &str) -> Option<String> {
    let v = event
        .get(field)
        .or_else(|| event.fields().rev().find(|(n, _)| n.eq_ignore_ascii_case(field)).map(|(_, v)| v))?;
    (!v.is_null()).then(|| v.as_str_lossy().into_owned())
}

/// What a detection of a referenced rule leaves for a correlation.
#[derive(Debug, Clone)]
pub(crate) struct CorrEvent {
    time: i128,
    /// Index of the rule among the correlation's rules.
    slot: u32,
    group: Vec<String>,
    value: Option<String>,
    event: Event,
    source: Arc<Path>,
    position: (u64, u32),
}

/// An alert raised by a correlation.
#[derive(Debug, Clone)]
pub struct CorrelationAlert {
    /// Index of the correlation's shell rule in [`crate::Engine::rules`].
    pub rule: u32,
    /// The event that completed the correlation, with its input and position there.
    pub event: Event,
    pub source: Arc<Path>,
    pub position: (u64, u32),
    /// `(group-by field, value)` and the count that met the condition.
    pub key_fields: Vec<(String, String)>,
}

/// Evaluates one correlation over its records (in any order).
pub(crate) fn evaluate(c: &Correlation, mut records: Vec<CorrEvent>) -> Vec<CorrelationAlert> {
    records.sort_by_key(|r| r.time);
    let mut groups: BTreeMap<Vec<String>, Vec<CorrEvent>> = BTreeMap::new();
    for r in records {
        groups.entry(r.group.clone()).or_default().push(r);
    }
    let mut alerts = Vec::new();
    for (group, events) in groups {
        let mut window: Vec<&CorrEvent> = Vec::new();
        for e in &events {
            window.push(e);
            let start = e.time - c.timespan_ns;
            window.retain(|w| w.time >= start);
            let n = match c.kind {
                CorrelationType::EventCount => window.len(),
                CorrelationType::ValueCount => {
                    let mut values: Vec<&str> = window.iter().filter_map(|w| w.value.as_deref()).collect();
                    values.sort_unstable();
                    values.dedup();
                    values.len()
                }
                CorrelationType::Temporal => {
                    let mut slots: Vec<u32> = window.iter().map(|w| w.slot).collect();
                    slots.sort_unstable();
                    slots.dedup();
                    slots.len()
                }
                // How many of the rules appear in the listed order (greedy, in time order).
                _ => window.iter().fold(0u32, |next, w| if w.slot == next { next + 1 } else { next }) as usize,
            };
            if c.holds(n as f64) {
                let mut key_fields: Vec<(String, String)> =
                    c.group_by.iter().map(|(g, _)| g.clone()).zip(group.iter().cloned()).collect();
                let what = match c.kind {
                    CorrelationType::EventCount => "events",
                    CorrelationType::ValueCount => "distinct values",
                    _ => "rules",
                };
                key_fields.push((what.to_string(), n.to_string()));
                alerts.push(CorrelationAlert {
                    rule: c.shell,
                    event: e.event.clone(),
                    source: Arc::clone(&e.source),
                    position: e.position,
                    key_fields,
                });
                window.clear();
            }
        }
    }
    alerts.sort_by_key(|a| a.event.timestamp());
    alerts
}
