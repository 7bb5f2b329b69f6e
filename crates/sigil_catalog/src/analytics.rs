//! Catalog analytics the catalog UIs show: the events whose rules also fire elsewhere (co-fired events), the
//! indicator lookups behind `/indicators` (an exact key from what a user typed, and the most shared indicators
//! filtered by field, kind or value), all through the catalog's indexes.

use std::collections::HashMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::indicator::{IndicatorKey, Kind};
use crate::page::RulePage;

/// Co-fired events kept per event.
pub const CO_FIRED_KEEP: usize = 100;

/// Another event the rules of an event also fire on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CoFiredEvent {
    /// Provider display name.
    pub provider: String,
    /// Full provider name.
    pub provider_name: String,
    /// Event id.
    pub event_id: u32,
    /// Event title.
    pub title: String,
    /// Rules of the first event that also fire on this one.
    pub shared_rules: usize,
}

/// The events co-fired with one event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoFiredEvents {
    /// The most shared (at most [`CO_FIRED_KEEP`]), most shared first, then by provider and id.
    pub top: Vec<CoFiredEvent>,
    /// Co-fired events in all.
    pub total: usize,
    /// Rules of the event left out because their log source covers (nearly) every event ([`RulePage::is_broad`]):
    /// they would make every event co-fire with every other.
    pub broad_rules: usize,
}

/// What an indicator lookup was asked (`/indicators?field=&kind=&value=&variant=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorQuery {
    /// Field name (`Image`); empty for any (or for keywords with the kind `keyword`).
    pub field: String,
    /// Kind name (`ends_with`); empty for any.
    pub kind: String,
    /// The value (normalised or as written) or, for a listing, text it contains.
    pub value: String,
    /// Transformations (`windash|cased`), as in the key.
    pub variant: String,
}

impl Catalog {
    /// Other events the rules of an event also fire on (provider by full or display name), most shared first;
    /// broad rules are left out and counted. Empty for an event not described.
    pub fn co_fired(&self, provider: &str, event_id: u32) -> CoFiredEvents {
        let Some(schema) = self.knowledge.event(provider, event_id) else { return CoFiredEvents::default() };
        let provider_name = schema.provider;
        let mut counts: HashMap<(&str, u32), CoFiredEvent> = HashMap::new();
        let mut broad_rules = 0;
        for &i in self.rules_for_event(provider_name, event_id) {
            let Some(p) = self.pages.get(i) else { continue };
            if p.is_broad() {
                broad_rules += 1;
                continue;
            }
            for e in &p.events {
                if e.provider_name == provider_name && e.event_id == event_id {
                    continue;
                }
                let entry = counts.entry((e.provider_name.as_str(), e.event_id)).or_insert_with(|| CoFiredEvent {
                    provider: e.provider.clone(),
                    provider_name: e.provider_name.clone(),
                    event_id: e.event_id,
                    title: e.title.clone(),
                    shared_rules: 0,
                });
                entry.shared_rules += 1;
            }
        }
        let mut top: Vec<CoFiredEvent> = counts.into_values().collect();
        top.sort_by(|a, b| {
            b.shared_rules
                .cmp(&a.shared_rules)
                .then_with(|| a.provider.cmp(&b.provider))
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        let total = top.len();
        top.truncate(CO_FIRED_KEEP);
        CoFiredEvents { top, total, broad_rules }
    }

    /// Whether some rule that is not broad fires on an event: the static site has a page for such events only.
    pub fn has_specific_rules(&self, provider: &str, event_id: u32) -> bool {
        self.rules_for_event(provider, event_id).iter().filter_map(|&i| self.pages.get(i)).any(|p| !p.is_broad())
    }

    /// Indices of the pages with an indicator of this key (ascending).
    pub fn indicator_pages(&self, key: &IndicatorKey) -> &[usize] {
        self.index.by_indicator.get(key).map_or(&[], Vec::as_slice)
    }

    /// An indicator's value as the first rule using it writes it (the key holds the normalised value).
    pub fn indicator_shown_value(&self, key: &IndicatorKey) -> String {
        self.indicator_pages(key)
            .first()
            .and_then(|&i| self.pages.get(i))
            .and_then(|p| p.indicators.iter().find(|i| &i.key == key))
            .map_or_else(|| key.value.clone(), |i| i.value.clone())
    }

    /// The indicator a query names exactly, when a rule of the catalog has it: the key as given, or the value
    /// read as a rule would write it (`\cmd.exe` with `ends_with`) and normalised as the catalog compares values.
    pub fn find_indicator(&self, q: &IndicatorQuery) -> Option<(IndicatorKey, &[usize])> {
        let kind = Kind::from_name(&q.kind)?;
        if q.value.is_empty() && !matches!(kind, Kind::Null | Kind::Exists) {
            return None;
        }
        let field = if kind == Kind::Keyword { String::new() } else { q.field.clone() };
        let direct = IndicatorKey { field: field.clone(), kind, variant: q.variant.clone(), value: q.value.clone() };
        if let Some((k, pages)) = self.index.by_indicator.get_key_value(&direct) {
            return Some((k.clone(), pages.as_slice()));
        }
        let mut mods: Vec<&str> = match kind {
            Kind::StartsWith => vec!["startswith"],
            Kind::EndsWith => vec!["endswith"],
            Kind::Match => vec!["contains"],
            Kind::Regex => vec!["re"],
            Kind::Cidr => vec!["cidr"],
            Kind::Lt => vec!["lt"],
            Kind::Lte => vec!["lte"],
            Kind::Gt => vec!["gt"],
            Kind::Gte => vec!["gte"],
            Kind::FieldRef => vec!["fieldref"],
            Kind::Exists => vec!["exists"],
            _ => vec![],
        };
        mods.extend(q.variant.split('|').filter(|v| !v.is_empty()));
        let field_opt = (kind != Kind::Keyword).then_some(field.as_str());
        let parsed = IndicatorKey::parse(field_opt, &mods, &q.value)?;
        let (k, pages) = self.index.by_indicator.get_key_value(&parsed)?;
        Some((k.clone(), pages.as_slice()))
    }

    /// Every indicator key with its number of rules, most shared first, ties by key (computed once).
    pub fn indicators_by_use(&self) -> &[(IndicatorKey, usize)] {
        self.by_use.get_or_init(|| {
            let mut keys: Vec<(IndicatorKey, usize)> =
                self.index.by_indicator.iter().map(|(k, pages)| (k.clone(), pages.len())).collect();
            keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            keys
        })
    }

    /// The most shared indicators whose field is `q.field` (any case; empty for any), whose kind is `q.kind`
    /// (empty for any) and whose value contains `q.value` (any case), at most `max`.
    pub fn matching_indicators(&self, q: &IndicatorQuery, max: usize) -> Vec<&(IndicatorKey, usize)> {
        let value = q.value.to_lowercase();
        let kind = Kind::from_name(&q.kind);
        self.indicators_by_use()
            .iter()
            .filter(|(k, _)| q.field.is_empty() || k.field.eq_ignore_ascii_case(&q.field))
            .filter(|(k, _)| kind.is_none_or(|kind| k.kind == kind))
            .filter(|(k, _)| value.is_empty() || k.value.to_lowercase().contains(&value))
            .take(max)
            .collect()
    }
}

impl RulePage {
    /// Whether the rule's log source covers (nearly) every described event (`product: windows` alone, or more
    /// than [`crate::view::BROAD_EVENTS`] events): pages summarise such coverage and co-fired counts leave the
    /// rule out.
    pub fn is_broad(&self) -> bool {
        self.coverage.any_event || self.events.len() > crate::view::BROAD_EVENTS
    }
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, CatalogOptions, IndicatorQuery};

    fn rule(id: u32, body: &str) -> String {
        format!(
            "title: R{id}\nid: 00000000-0000-4000-8000-{id:012}\nlogsource: {{product: windows, category: process_creation}}\n\
             detection:\n  sel:\n{body}\n  condition: sel\n"
        )
    }

    #[test]
    fn co_fired_events_count_shared_rules() {
        // Both rules fire on Sysmon 1 and Security 4688; a third reads a field only Sysmon 1 carries.
        let a = rule(1, "    Image|endswith: '\\a.exe'");
        let b = rule(2, "    Image|endswith: '\\A.EXE'");
        let c = rule(3, "    OriginalFileName: x.exe");
        let texts = [("a.yml", a.as_str()), ("b.yml", b.as_str()), ("c.yml", c.as_str())];
        let catalog = Catalog::from_texts("s", &texts, &CatalogOptions::default()).unwrap();
        let co = catalog.co_fired("Sysmon", 1);
        assert_eq!(co.total, 1, "{co:?}");
        assert_eq!((co.top[0].event_id, co.top[0].shared_rules), (4688, 2));
        assert_eq!(co.broad_rules, 0);
        assert!(catalog.co_fired("Sysmon", 99_999).top.is_empty());
        assert!(catalog.has_specific_rules("Security-Auditing", 4688));

        // The indicator two rules share, found from a value as a rule writes it, in any case.
        let q = IndicatorQuery {
            field: "Image".into(),
            kind: "ends_with".into(),
            value: "\\A.exe".into(),
            variant: String::new(),
        };
        let (key, pages) = catalog.find_indicator(&q).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(catalog.indicator_shown_value(&key), "\\a.exe");
        assert_eq!(catalog.indicators_by_use()[0].1, 2, "most shared first");
        let q = IndicatorQuery { value: "X.EX".into(), ..IndicatorQuery::default() };
        let found = catalog.matching_indicators(&q, 10);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.field, "OriginalFileName");
    }
}
