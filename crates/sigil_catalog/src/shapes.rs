//! The JSON documents the catalog answers with, one type per concept, shared by the CLI (`sigil events`,
//! `sigil stats`, `--format json`) and the web API (`/api/events...`, `/api/stats`) so that both print the same
//! shape. `docs/json.md` documents each as a stable interface.

use serde::Serialize;

use crate::analytics::{CoFiredEvent, CoFiredEvents};
use crate::catalog::Catalog;
use crate::events::{EventFieldUse, EventPage, ProviderSummary, RecordKindPage};
use crate::stats::CorpusStats;

/// `sigil events --format json`, `/api/events`: every provider with described events, and the record kinds
/// that are not Windows events.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderList {
    /// Providers in the knowledge tables' order.
    pub providers: Vec<ProviderSummary>,
    /// Record kinds other than Windows events, by name.
    pub record_kinds: Vec<RecordKindSummary>,
}

/// A record kind in a listing (its page without the rule and field lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordKindSummary {
    /// The kind (`aws.cloudtrail`).
    pub kind: String,
    /// Logsources routed to it.
    pub logsources: Vec<String>,
    /// Fields the rules read.
    pub fields: usize,
    /// Rules that can fire on it.
    pub rule_count: usize,
}

impl From<&RecordKindPage> for RecordKindSummary {
    fn from(k: &RecordKindPage) -> RecordKindSummary {
        RecordKindSummary {
            kind: k.kind.clone(),
            logsources: k.logsources.clone(),
            fields: k.fields.len(),
            rule_count: k.rule_count,
        }
    }
}

/// `sigil events PROVIDER --format json`, `/api/events/{provider}`: one provider's events.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderEvents {
    /// Display name.
    pub provider: String,
    /// Full name.
    pub provider_name: String,
    /// Channel, when the provider writes to one.
    pub channel: Option<String>,
    /// Its described events, in id order.
    pub events: Vec<EventSummary>,
}

/// An event in a listing: its page without the rule list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSummary {
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
    /// Its fields with how many of its rules read each.
    pub fields: Vec<EventFieldUse>,
    /// Rules that can fire on it.
    pub rule_count: usize,
}

impl From<EventPage> for EventSummary {
    fn from(e: EventPage) -> EventSummary {
        EventSummary {
            provider: e.provider,
            provider_name: e.provider_name,
            channel: e.channel,
            event_id: e.event_id,
            title: e.title,
            fields: e.fields,
            rule_count: e.rule_count,
        }
    }
}

/// `sigil events PROVIDER ID --format json`, `/api/events/{provider}/{id}`: one event, its rules and the
/// events its rules also fire on.
#[derive(Debug, Clone, Serialize)]
pub struct EventDetail {
    /// The event page (its keys come first, flattened).
    #[serde(flatten)]
    pub event: EventPage,
    /// The most shared co-fired events.
    pub also_fired_on: Vec<CoFiredEvent>,
    /// Co-fired events in all.
    pub also_fired_total: usize,
    /// Broad rules of the event left out of the co-fired counts.
    pub broad_rules_not_counted: usize,
}

/// `sigil stats --format json`, `/api/stats`: the corpus statistics with the load.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport<'a> {
    /// The rule sources (names and counts; never their paths).
    pub sources: Vec<SourceSummary>,
    /// How long loading the catalog took, in milliseconds.
    pub load_ms: u64,
    /// The statistics (their keys come after, flattened).
    #[serde(flatten)]
    pub stats: &'a CorpusStats,
}

/// A rule source in reports: its name and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSummary {
    /// The source name.
    pub name: String,
    /// Rule files found.
    pub files: usize,
    /// Pages built.
    pub pages: usize,
    /// Files that produced no page.
    pub failed_files: usize,
}

impl Catalog {
    /// The provider listing.
    pub fn provider_list(&self) -> ProviderList {
        ProviderList {
            providers: self.providers(),
            record_kinds: self.record_kinds().iter().map(RecordKindSummary::from).collect(),
        }
    }

    /// One provider's events (full or display name); `None` for an unknown provider.
    pub fn provider_events(&self, provider: &str) -> Option<ProviderEvents> {
        let p = self.knowledge.event_catalog().provider(provider)?;
        Some(ProviderEvents {
            provider: p.display.to_string(),
            provider_name: p.name.to_string(),
            channel: p.channel.map(str::to_string),
            events: self.event_pages(Some(p.name)).into_iter().map(EventSummary::from).collect(),
        })
    }

    /// One event with its co-fired events; `None` when not described.
    pub fn event_detail(&self, provider: &str, event_id: u32) -> Option<EventDetail> {
        let event = self.event_page(provider, event_id)?;
        let CoFiredEvents { top, total, broad_rules } = self.co_fired(provider, event_id);
        Some(EventDetail { event, also_fired_on: top, also_fired_total: total, broad_rules_not_counted: broad_rules })
    }

    /// The statistics report.
    pub fn stats_report(&self) -> StatsReport<'_> {
        StatsReport {
            sources: self
                .sources()
                .iter()
                .map(|s| SourceSummary {
                    name: s.name.clone(),
                    files: s.files,
                    pages: s.pages,
                    failed_files: s.failed_files,
                })
                .collect(),
            load_ms: u64::try_from(self.load_time().as_millis()).unwrap_or(u64::MAX),
            stats: self.stats(),
        }
    }
}
