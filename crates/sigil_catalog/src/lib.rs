//! The rule catalog: one page per Sigma rule, correlation and filter of a corpus, with everything a reader
//! needs to judge the rule, and the indexes, search and statistics a catalog UI is built on.
//!
//! A [`Catalog`] loads one or more named rule sources ([`SourceSpec`], `--rules NAME=PATH`) through
//! `sigil_rule::load` (the same loader as the checker and the engine, so a file that fails fails the same way
//! everywhere), then builds a [`RulePage`] per document, in parallel:
//!
//! - metadata, the document's YAML, its source and path, related rules resolved to titles;
//! - ATT&CK rows "tactic → techniques" ([`AttackRow`]), through `sigil_knowledge`'s tables and crosswalk;
//! - event coverage ([`EventRef`]): the described Windows events whose schema carries every field the rule uses,
//!   after the logsource route's field mapping (the table the engine routes with), restricted to the event ids
//!   the condition allows; with [`Coverage`] saying how (and, for no event, why: [`CoverageGap`]);
//! - stages: stage 0 the condition (as written, normalised, as a tree), stages 1..n the search identifiers with
//!   their items and how each joins the condition (`not 1 of filter_*`);
//! - indicators ([`Indicator`]): one row per (field, kind, value), with the number of *other* rules of the
//!   catalog using the same [`IndicatorKey`], split by source.
//!
//! It also indexes pages by key, id, file stem, technique, tactic, indicator and event; answers searches with
//! facet counts ([`Catalog::search`]); describes the events side ([`Catalog::event_pages`]); and computes corpus
//! statistics ([`Catalog::stats`]), with the analytics the UIs show (co-fired events, indicator lookups). Pages are
//! laid out once for every renderer ([`PageView`], [`Catalog::page_view`]); [`markdown::page_markdown`] renders
//! one as Markdown. The JSON documents of the CLI and the API are typed here too ([`ProviderList`],
//! [`EventDetail`], [`StatsReport`], ...; `docs/json.md`).
//!
//! ```
//! use sigil_catalog::{Catalog, CatalogOptions, SearchQuery, Facet};
//!
//! let yaml = "title: Shell from MeshAgent\nid: 6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162\n\
//!     tags: [attack.command-and-control, attack.t1219.002]\n\
//!     logsource: {product: windows, category: process_creation}\n\
//!     detection:\n  selection:\n    ParentImage|endswith: '\\meshagent.exe'\n    Image|endswith: '\\cmd.exe'\n\
//!     \x20 condition: selection\n";
//! let catalog = Catalog::from_texts("examples", &[("mesh.yml", yaml)], &CatalogOptions::default())?;
//! let page = catalog.by_key("6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162").unwrap();
//! assert_eq!(page.attack[0].tactic, "Command & Control");
//! assert_eq!(page.events.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 4688]);
//! assert_eq!(page.indicators[0].kind.as_str(), "ends_with");
//! let found = catalog.search(&SearchQuery::new("meshagent").filter(Facet::Tactic, "command-and-control"));
//! assert_eq!(found.total, 1);
//! # Ok::<(), sigil_catalog::Error>(())
//! ```
//!
//! Indicators compare as Sigma compares values ([`IndicatorKey`]): case-insensitively unless `cased`, with
//! equivalent spellings merged (`Image|endswith: '\x'` is `Image: '*\x'`); numbers and booleans by their text.
//!
//! Invariants: building a catalog never panics on rule input (files that cannot be read or parsed become
//! [`FailedFile`]s with the checker's diagnostics); page keys are unique; a catalog is immutable once built.

#![warn(missing_docs, unreachable_pub, clippy::indexing_slicing)]

mod analytics;
mod attack;
mod build;
mod cache;
mod catalog;
mod coverage;
mod error;
mod events;
mod family;
mod family_attack;
mod fasthash;
mod indicator;
pub mod markdown;
mod page;
mod search;
mod shapes;
mod source;
mod stages;
mod stats;
mod text;
mod view;

pub use analytics::{CO_FIRED_KEEP, CoFiredEvent, CoFiredEvents, IndicatorQuery};
pub use cache::{CACHE_DIR_ENV, CacheOutcome, CatalogCache};
pub use catalog::{Catalog, CatalogOptions, FailedFile, MatchedBy, SourceInfo};
pub use error::{Error, Result};
pub use events::{EventFieldUse, EventPage, ProviderSummary, RecordKindPage, searches_every_event};
pub use family::{CrossFamily, FamilyCount, QueryInfo};
pub use family_attack::{DisagreementOrder, FamilyAttack, TechniqueFamilies, family_label};
pub use indicator::{Indicator, IndicatorKey, Kind};
pub use page::{
    AliasInfo, AttackOther, AttackRow, ConditionTree, CorrelationInfo, Coverage, CoverageGap, EventRef, FieldMapping,
    FilterInfo, LogsourceInfo, Regression, RelatedRule, RuleKind, RuleLink, RulePage, SourceCounts, Stage, StageItem,
    TechniqueRef,
};
pub use search::{Facet, FacetCounts, FacetValue, SearchHit, SearchQuery, SearchResults, authors, facet_values};
pub use shapes::{
    EventDetail, EventSummary, ProviderEvents, ProviderList, RecordKindSummary, SourceSummary, StatsReport,
};
pub use source::{SourceSpec, default_name};
pub use stats::{CorpusStats, Count, NoEvent, SharedIndicator, TOP_INDICATORS};
pub use text::{
    Expansion, FIELD_WEIGHTS, MAX_EXPANSIONS, SNIPPET_CHARS, Segment, TextIndex, highlight, shard_key, snippet,
    snippet_of, terms_of,
};
pub use view::{
    AttackView, BROAD_EVENTS, CorrelationView, EventRow, EventsView, FilterView, INDICATORS_INTRO, IndicatorGroup,
    IndicatorValue, MetaRow, NoteList, PageView, RelatedView, StageView, ViewLink,
};
