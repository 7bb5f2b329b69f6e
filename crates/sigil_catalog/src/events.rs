//! The events side of the catalog: for every described Windows event, the rules that can fire on it and, per
//! field, how many of those rules read it. Rules ⇄ events ⇄ fields, from the same coverage the rule pages show.

use std::collections::HashMap;

use serde::Serialize;
use sigil_knowledge::EventSchema;

use crate::catalog::Catalog;
use crate::page::{RuleLink, RulePage};

/// Rules firing on one event, and per event field how many of them read it.
#[derive(Debug, Default, Clone)]
pub(crate) struct EventUsage {
    pub(crate) rules: Vec<usize>,
    pub(crate) fields: HashMap<String, usize>,
}

/// Per event (full provider name, id): the pages that can fire on it and field use counts.
pub(crate) fn usage(pages: &[RulePage]) -> HashMap<(String, u32), EventUsage> {
    let mut out: HashMap<(String, u32), EventUsage> = HashMap::new();
    for (i, p) in pages.iter().enumerate() {
        for e in &p.events {
            let u = out.entry((e.provider_name.clone(), e.event_id)).or_default();
            if u.rules.last() == Some(&i) {
                continue;
            }
            u.rules.push(i);
            let mut seen: Vec<&str> = Vec::new();
            for f in &e.fields {
                if !seen.contains(&f.event.as_str()) {
                    seen.push(&f.event);
                    *u.fields.entry(f.event.clone()).or_default() += 1;
                }
            }
        }
    }
    out
}

/// A provider and how the catalog covers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderSummary {
    /// Display name (`Sysmon`).
    pub provider: String,
    /// Full name (`Microsoft-Windows-Sysmon`).
    pub provider_name: String,
    /// Channel, when the provider writes to one.
    pub channel: Option<String>,
    /// Described events.
    pub events: usize,
    /// Events at least one rule can fire on.
    pub events_with_rules: usize,
    /// Distinct rules that can fire on any of its events.
    pub rules: usize,
}

/// One event field and how many rules firing on the event read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventFieldUse {
    /// Field name in the event.
    pub name: String,
    /// Manifest type (`UnicodeString`, `UInt32`, ...); empty when unknown.
    #[serde(rename = "type")]
    pub ty: String,
    /// Rules (among those that can fire on the event) that read the field.
    pub rules: usize,
}

/// One described event, with the rules that can fire on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPage {
    /// Provider display name.
    pub provider: String,
    /// Full provider name.
    pub provider_name: String,
    /// Channel, when known.
    pub channel: Option<String>,
    /// Event id.
    pub event_id: u32,
    /// Title.
    pub title: String,
    /// EventData fields in manifest order, with use counts.
    pub fields: Vec<EventFieldUse>,
    /// Number of rules that can fire on it.
    pub rule_count: usize,
    /// Those rules.
    pub rules: Vec<RuleLink>,
}

impl Catalog {
    /// Every provider with described events, in the knowledge tables' order (Sysmon and Security-Auditing first).
    pub fn providers(&self) -> Vec<ProviderSummary> {
        self.knowledge
            .providers()
            .iter()
            .map(|p| {
                let events = self.knowledge.event_catalog().events_of(p.name);
                let mut rules: Vec<usize> = Vec::new();
                let mut with_rules = 0;
                for e in events {
                    if let Some(u) = self.event_usage.get(&(e.provider.to_string(), e.id)) {
                        with_rules += 1;
                        rules.extend(&u.rules);
                    }
                }
                rules.sort_unstable();
                rules.dedup();
                ProviderSummary {
                    provider: p.display.to_string(),
                    provider_name: p.name.to_string(),
                    channel: p.channel.map(str::to_string),
                    events: events.len(),
                    events_with_rules: with_rules,
                    rules: rules.len(),
                }
            })
            .collect()
    }

    /// The pages of every described event of a provider (full or display name), or of every event when
    /// `provider` is `None`. Empty for an unknown provider.
    pub fn event_pages(&self, provider: Option<&str>) -> Vec<EventPage> {
        let events: &[EventSchema] = match provider {
            Some(p) => self.knowledge.event_catalog().events_of(p),
            None => self.knowledge.events(),
        };
        events.iter().map(|e| self.event_page_of(e)).collect()
    }

    /// One event's page (provider by full or display name).
    pub fn event_page(&self, provider: &str, event_id: u32) -> Option<EventPage> {
        self.knowledge.event(provider, event_id).map(|e| self.event_page_of(e))
    }

    /// Indices of the pages that can fire on an event.
    pub fn rules_for_event(&self, provider: &str, event_id: u32) -> &[usize] {
        self.knowledge
            .event(provider, event_id)
            .and_then(|e| self.event_usage.get(&(e.provider.to_string(), event_id)))
            .map_or(&[], |u| u.rules.as_slice())
    }

    fn event_page_of(&self, e: &EventSchema) -> EventPage {
        let usage = self.event_usage.get(&(e.provider.to_string(), e.id));
        let fields = e
            .fields
            .iter()
            .map(|f| EventFieldUse {
                name: f.name.to_string(),
                ty: f.ty.to_string(),
                rules: usage.and_then(|u| u.fields.get(f.name)).copied().unwrap_or(0),
            })
            .collect();
        let rules: Vec<RuleLink> = usage
            .map(|u| {
                u.rules
                    .iter()
                    .filter_map(|&i| self.pages.get(i))
                    .map(|p| RuleLink {
                        reference: p.id.clone().unwrap_or_else(|| p.key.clone()),
                        key: Some(p.key.clone()),
                        title: Some(p.title.clone()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        EventPage {
            provider: e.provider_display.to_string(),
            provider_name: e.provider.to_string(),
            channel: e.channel.map(str::to_string),
            event_id: e.id,
            title: e.title.to_string(),
            fields,
            rule_count: rules.len(),
            rules,
        }
    }
}
