//! The hunting engine: compiles Sigma rules into matchers and runs them over events.
//!
//! This crate owns the meaning of a rule at match time. It takes rules loaded by [`sigil_rule::load()`], routing and
//! field mappings from [`sigil_knowledge`], and events from [`sigil_events`]; it leaves parsing, reading and
//! rendering to those crates and to the binary.
//!
//! The stages:
//!
//! 1. [`sigil_ir::lower_rule`] lowers a rule: every modifier of a detection item applied to its values, the
//!    condition resolved, the meta filters that apply beside it (the backend-neutral IR the query converters
//!    render too, so the two cannot disagree).
//! 2. [`compile_rule`] builds a matcher per search of that IR and computes the literals the prefilter needs. A
//!    rule is compiled once.
//! 3. [`Engine::build`] compiles a whole rule set and attaches each rule to the routes of its logsource.
//! 4. [`Engine::matches`] picks the rules the event's channel, provider and event id select, prepares the event
//!    once (text, folded text, field slots of the fields those rules read), finds the candidates in one pass for
//!    their required literals, and evaluates only those.
//! 5. [`hunt()`] runs that over inputs in parallel with bounded memory and hands detections to a sink; after the
//!    last event it evaluates correlation rules over the detections of the rules they reference, in time order.
//!
//! ```
//! use sigil_engine::{Engine, EngineOptions};
//! use sigil_events::{Event, Value};
//!
//! let set = sigil_rule::load_texts(&[("r.yml", "title: Whoami\nlogsource: {product: windows, category: process_creation}\n\
//!     detection: {sel: {Image|endswith: '\\whoami.exe'}, condition: sel}\n")], &Default::default());
//! let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
//! let (engine, report) = Engine::build(&set, knowledge, &EngineOptions::default());
//! assert_eq!(report.compiled, 1);
//! // A Security 4688 event: `Image` reads `NewProcessName` on that route.
//! let event = Event::from_fields([
//!     ("Channel", Value::from("Security")),
//!     ("EventID", Value::Int(4688)),
//!     ("NewProcessName", Value::from("C:\\Windows\\System32\\WHOAMI.EXE")),
//! ]);
//! let mut scratch = engine.scratch();
//! let mut found = Vec::new();
//! engine.matches(&event, &mut scratch, &mut found);
//! assert_eq!(found.len(), 1);
//! ```
//!
//! # Semantics (Sigma 2.1; pySigma where the specification is silent)
//!
//! - Strings compare case-insensitively (character-wise lower-case folding) unless `cased`; `*`, `?` and the
//!   escapes `\*`, `\?`, `\\` as in the specification. Regular expressions are case-sensitive unless `i`, and
//!   search anywhere in the value.
//! - Numbers compare as numbers: `EventID: 4688` matches `4688`, `"4688"` and `"0x1250"` (Windows hex).
//! - `null` matches a field that is absent or null. An empty string matches an empty or null value.
//! - `neq` negates the whole item, as pySigma: an absent field satisfies it.
//! - A field holding a list matches when any of its items does; keywords search every value of the event.
//! - Field names: exact first, then ignoring ASCII case and spaces (`Threat Name` for `ThreatName`).
//!
//! # Invariants
//!
//! - Nothing here panics on rule or event content; a rule that cannot be compiled is reported in the
//!   [`BuildReport`] and skipped.
//! - Matching an event allocates nothing once a worker's [`Scratch`] is warm, and never re-parses the event per
//!   rule.
//! - The prefilter is sound: a rule is skipped only when the event lacks every literal one of which the rule
//!   needs (see `compile.rs`), so it never changes results, only speed.

#![warn(missing_docs, unreachable_pub)]

mod compile;
mod correlate;
mod engine;
mod explain;
mod fold;
mod hunt;
mod literals;
mod matcher;
mod placeholders;
mod prepared;
mod sort;

pub use compile::{CompileError, CompiledRule, RuleInfo, compile_rule};
pub use correlate::{CorrelatedEvent, CorrelationAlert, CorrelationDetail, CorrelationError, number_text};
pub use engine::{BuildReport, Engine, EngineOptions, FilterInfo, Match, Scratch, SkipReason, SkippedRule, Unrouted};
pub use explain::{Explanation, ItemExplanation, Routing, SelectionExplanation, explain_rule_text};
pub use hunt::{
    DEFAULT_MAX_CORRELATION_EVENTS, DEFAULT_MAX_CORRELATION_STATE, Detection, HuntError, HuntOptions, HuntSink,
    HuntStats, TimeWindow, hunt, hunt_batches, jsonl_batches, max_jobs,
};
pub use matcher::{MatcherError, regex_failures};
pub use placeholders::{PlaceholderError, load_placeholders, parse_placeholders};
// The lowered IR lives in its own crate (`sigil_ir`, its one public path), shared with the query converters.
use sigil_ir as ir;
pub use sort::{SortKey, TimeSorter};
