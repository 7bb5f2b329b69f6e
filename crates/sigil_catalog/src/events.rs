//! The events side of the catalog: for every described Windows event, the rules that can fire on it and, per
//! field, how many of those rules read it. Rules ⇄ events ⇄ fields, from the same coverage the rule pages show.
//!
//! Records that are not Windows events (`aws.cloudtrail`, `linux.auditd`, `web.access`, ... : the record kinds of
//! `sigil_events`) have no field schemas. Their side ([`Catalog::record_kinds`]) is derived from the routes: a
//! rule can fire on a kind when a route of its logsource names the kind, and the kind's fields are the event
//! fields those rules read (each Sigma field through the route's mapping), not a described schema.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sigil_knowledge::EventSchema;

use crate::catalog::Catalog;
use crate::page::{RuleKind, RuleLink, RulePage};

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
        if searches_every_event(p) {
            continue;
        }
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

/// Whether a rule searches every event of its product instead of specific events: a logsource that selects
/// every event (`product: windows` alone) and a detection that looks for no field value except ones it
/// excludes (keywords, like "Mimikatz Use", whose only field is the `EventID: 15` it filters out). Such rules are listed apart on event pages ("plus N rules that search every event"), so
/// that "events with rules" says which events specific rules watch.
pub fn searches_every_event(p: &RulePage) -> bool {
    p.coverage.any_event && !p.events.is_empty() && !p.indicators.iter().any(|i| i.field.is_some() && !i.excluded)
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
    /// Rules that search every event of the product and can therefore fire on this one too, not counted in
    /// `rule_count` ([`searches_every_event`]).
    pub generic_rules: usize,
}

/// One record kind that is not a Windows event, with the rules that can fire on it and the fields they read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordKindPage {
    /// The kind's name (`web.access`), as the routing tables and `sigil hunt --input-kind` name it.
    pub kind: String,
    /// Logsources routed to the kind (`webserver`, `linux / auditd`), from the routing tables.
    pub logsources: Vec<String>,
    /// Event fields the rules read (after the routes' field mappings), most read first. There is no schema
    /// for these records: this list is derived from the rules, so a field no rule reads is not listed, and
    /// `type` is empty.
    pub fields: Vec<EventFieldUse>,
    /// Number of rules that can fire on it.
    pub rule_count: usize,
    /// Those rules.
    pub rules: Vec<RuleLink>,
}

/// Per record kind: its logsources, and its usage (rules, and the event fields each reads).
fn kind_usage(
    pages: &[RulePage],
    knowledge: &sigil_knowledge::Knowledge,
) -> BTreeMap<String, (Vec<String>, EventUsage)> {
    let mut out: BTreeMap<String, (Vec<String>, EventUsage)> = BTreeMap::new();
    for (key, routes) in knowledge.logsources() {
        let parts: Vec<&str> =
            [&key.product, &key.category, &key.service].into_iter().filter_map(|p| p.as_deref()).collect();
        let label = parts.join(" / ");
        for kind in routes.iter().flat_map(sigil_knowledge::Route::kinds) {
            let entry = out.entry(kind.clone()).or_default();
            if !entry.0.contains(&label) {
                entry.0.push(label.clone());
            }
        }
    }
    for (i, p) in pages.iter().enumerate() {
        if p.kind != RuleKind::Rule {
            continue;
        }
        let ls = &p.logsource;
        let source =
            sigil_knowledge::LogSource::new(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref());
        let Some(routes) = knowledge.routes_for(&source) else { continue };
        for route in routes {
            for kind in route.kinds() {
                let (_, u) = out.entry(kind.clone()).or_default();
                if u.rules.contains(&i) {
                    continue;
                }
                u.rules.push(i);
                let mut seen: Vec<&str> = Vec::new();
                for f in &p.coverage.fields {
                    let field = route.map_field(f).unwrap_or(f);
                    if !seen.contains(&field) {
                        seen.push(field);
                        *u.fields.entry(field.to_string()).or_default() += 1;
                    }
                }
            }
        }
    }
    out
}

impl Catalog {
    /// Every record kind that is not a Windows event and that a route names, by name, with the rules that can
    /// fire on it and the fields they read (derived from the rules: these records have no schemas).
    pub fn record_kinds(&self) -> Vec<RecordKindPage> {
        kind_usage(&self.pages, &self.knowledge)
            .into_iter()
            .map(|(kind, (ls, u))| self.record_kind_page_of(kind, ls, &u))
            .collect()
    }

    /// One record kind's page (`web.access`, ASCII case-insensitive).
    pub fn record_kind_page(&self, kind: &str) -> Option<RecordKindPage> {
        kind_usage(&self.pages, &self.knowledge)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            .map(|(kind, (ls, u))| self.record_kind_page_of(kind, ls, &u))
    }

    fn record_kind_page_of(&self, kind: String, logsources: Vec<String>, u: &EventUsage) -> RecordKindPage {
        let mut fields: Vec<EventFieldUse> = u
            .fields
            .iter()
            .map(|(name, &rules)| EventFieldUse { name: name.clone(), ty: String::new(), rules })
            .collect();
        fields.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.name.cmp(&b.name)));
        let rules: Vec<RuleLink> = u
            .rules
            .iter()
            .filter_map(|&i| self.pages.get(i))
            .map(|p| RuleLink {
                reference: p.id.clone().unwrap_or_else(|| p.key.clone()),
                key: Some(p.key.clone()),
                title: Some(p.title.clone()),
            })
            .collect();
        RecordKindPage { kind, logsources, fields, rule_count: rules.len(), rules }
    }

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
                    if let Some(u) = self.event_usage().get(&(e.provider.to_string(), e.id)) {
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
            .and_then(|e| self.event_usage().get(&(e.provider.to_string(), event_id)))
            .map_or(&[], |u| u.rules.as_slice())
    }

    fn event_page_of(&self, e: &EventSchema) -> EventPage {
        let usage = self.event_usage().get(&(e.provider.to_string(), e.id));
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
            generic_rules: self
                .pages
                .iter()
                .filter(|p| {
                    searches_every_event(p)
                        && p.events.iter().any(|x| x.provider_name == e.provider && x.event_id == e.id)
                })
                .count(),
        }
    }

    /// Rules that search every event ([`searches_every_event`]), listed apart from the specific rules of
    /// event pages.
    pub fn generic_rules(&self) -> Vec<RuleLink> {
        self.pages
            .iter()
            .filter(|p| searches_every_event(p))
            .map(|p| RuleLink {
                reference: p.id.clone().unwrap_or_else(|| p.key.clone()),
                key: Some(p.key.clone()),
                title: Some(p.title.clone()),
            })
            .collect()
    }
}
