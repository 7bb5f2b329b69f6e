//! The engine: compiled rules indexed by the events their logsources select, with a literal prefilter per index
//! bucket.
//!
//! Routing. Each rule's logsource has routes in the knowledge tables (channel / provider, event ids, extra
//! conditions, field mapping). An event's header — channel, provider, event id — picks a *bucket*: every (rule,
//! route) pair whose route accepts that header. Buckets are built on first use and cached, so an event only ever
//! meets the rules that can apply to it. A route's field mapping becomes the rule's field map on that route
//! (`Image` reads `NewProcessName` on Security 4688), so one compiled rule serves every route.
//!
//! Rules that require an `EventID` other than the header's are left out of its bucket altogether.
//!
//! Prefilter. Most rules name literals, each in a field, of which at least one must occur in any event they match
//! (see `compile.rs`). One pass over the folded values of the fields that hold such literals
//! ([`crate::literals`]: anchored windows checked against a cache-sized bitmap) finds which literals occur where,
//! and only the rules whose literals were seen in the right field — plus the rules without such literals — are
//! evaluated. A rule whose condition ANDs operands that each need literals (`sel_img and sel_cli`) has a second set
//! from another operand, and is evaluated only when both sets had a hit. Fields no rule of the bucket reads are not
//! even prepared. Keyword rules read every value: with one in the bucket, the other fields are only folded, for the
//! scan of the keyword literals, and the event is prepared in full only when a keyword rule is a candidate.

use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;
use sigil_events::Event;
use sigil_knowledge::{Knowledge, Route};
use sigil_rule::{Document, FilterRule, Level};

use crate::compile::{CompileError, CompiledRule, RuleInfo, compile_rule};
use crate::correlate::{Correlation, CorrelationError, RuleRef};
use crate::ir::{Placeholders, filter_applies};
use crate::literals::LiteralSet;
use crate::prepared::{FieldId, FieldTable, Prepared};

/// How to build an engine.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Rules below this level are not compiled. Rules without a level count as `informational`.
    pub min_level: Option<Level>,
    /// Run rules whose logsource has no route against every event (instead of not at all).
    pub all_logsources: bool,
    /// Values of `%placeholder%`s for the `expand` modifier.
    pub placeholders: Placeholders,
    /// Evaluate every routed rule on every event, without the literal prefilter and with every field prepared (for
    /// testing that these shortcuts never change results, and for measuring what they save).
    pub no_prefilter: bool,
    /// Keep only what matching needs: the lowered searches ([`CompiledRule::ir`]'s `searches`, a copy of every
    /// value in every rule) are dropped once the matchers are built, so [`Engine::explain`] and
    /// [`Engine::explain_match`] give the routing and the result but no selections. For a hunt that prints no
    /// explanations: about a tenth of the memory of a large rule set.
    pub lean: bool,
}

/// A rule that was not compiled, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedRule {
    /// The rule file, as shown to users.
    pub path: String,
    /// The rule's title.
    pub title: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Why a rule was not compiled.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    /// The rule file has errors (`sigil check` lists them); the message is the first one.
    FileErrors(String),
    /// The rule could not be compiled.
    Compile(CompileError),
    /// The correlation rule cannot be evaluated (unsupported type, unknown rule, ...).
    Correlation(CorrelationError),
}

/// Rules whose logsource has no route, grouped by logsource.
#[derive(Debug, Clone, PartialEq)]
pub struct Unrouted {
    /// The logsource as `product/category/service` (`-` for an absent part).
    pub logsource: String,
    /// `(path, title)` of each rule.
    pub rules: Vec<(String, String)>,
    /// Why no event can reach these rules, when the knowledge tables say (`[[unrouted]]` entries).
    pub why: Option<String>,
}

/// What building the engine did with each rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildReport {
    /// Rules (and correlations) compiled.
    pub compiled: usize,
    /// Rules that could not be compiled, with the reason.
    pub skipped: Vec<SkippedRule>,
    /// Rules below `min_level`, not compiled.
    pub below_level: usize,
    /// Rules whose logsource sigil cannot route. They run on every event with `all_logsources`, else not at all.
    pub unrouted: Vec<Unrouted>,
    /// Meta filters loaded (see [`Engine::filters`]).
    pub filters: usize,
    /// `(filter path, filter title, reference)` for each rule a filter names that is not loaded.
    pub filter_unknown_rules: Vec<(String, String, String)>,
}

/// A meta filter, as the hunt reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterInfo {
    /// The filter's `id`.
    pub id: Option<String>,
    /// Its title.
    pub title: String,
    /// Its file, as shown to users.
    pub path: String,
    /// How many compiled rules it applies to.
    pub rules: usize,
}

/// How a rule reads events on one of its routes.
#[derive(Debug, Clone)]
pub(crate) struct RuleRoute {
    /// Index into [`Engine::routes`]; `None` for "every event" (`--all-logsources` on an unrouted rule).
    pub(crate) route: Option<u32>,
    /// Rule-local field index → interned field id.
    pub(crate) map: Box<[FieldId]>,
}

/// A match: which rule, through which of its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in [`Engine::rules`].
    pub rule: u32,
    pub(crate) route: u16,
}

/// Compiled rules, their routes and the field table. Shared (read-only) by all workers.
#[derive(Debug)]
pub struct Engine {
    pub(crate) rules: Vec<CompiledRule>,
    pub(crate) rule_routes: Vec<Vec<RuleRoute>>,
    pub(crate) routes: Vec<Route>,
    pub(crate) table: FieldTable,
    buckets: Mutex<FxHashMap<Box<str>, Arc<Bucket>>>,
    prefilter: bool,
    pub(crate) correlations: Vec<Correlation>,
    /// Per rule: the correlations that reference it.
    pub(crate) referenced_by: Vec<Vec<u32>>,
    /// Per rule: referenced only by correlations without `generate: true`, so it raises no alert of its own.
    pub(crate) silent: Vec<bool>,
    filters: Vec<FilterInfo>,
    /// Per rule: the index in [`Engine::filters`] of each filter compiled into it, in the rule's order.
    pub(crate) rule_filters: Vec<Box<[u32]>>,
}

/// More distinct event headers than this are not cached (only hostile input gets there); buckets are then built
/// per batch.
const BUCKET_CACHE_LIMIT: usize = 4096;

#[derive(Debug)]
struct Entry {
    rule: u32,
    route: u16,
    conditions: bool,
}

/// The (rule, route) pairs one event header selects, with their prefilter.
#[derive(Debug)]
struct Bucket {
    entries: Vec<Entry>,
    /// Entries without required literals: always evaluated.
    always: Vec<u32>,
    /// Per field that holds required literals: its literals, each value of the field scanned once for all of them.
    scans: Vec<FieldScan>,
    /// Literals of keyword searches, looked for in every value of the event.
    keywords: Option<(LiteralSet, Vec<Box<[u32]>>)>,
    /// The fields any rule of the bucket reads (a bitset over field ids); `None` when every field is prepared (a
    /// keyword rule without required literals, or no prefilter).
    used: Option<Vec<u64>>,
    /// Entries of rules that search keywords (every value of the event), a bitset over entries; empty when there
    /// are none. With `used`, an event is prepared in part, its other fields only folded for the keyword scan, and
    /// prepared in full only when one of these entries is a candidate.
    keyword_entries: Vec<u64>,
    /// Entries with a second required set ([`CompiledRule::also_required`]), a bitset over entries: a hit of their
    /// first set makes them candidates only with a hit of the second. Empty when no entry has one.
    needs_second: Vec<u64>,
}

/// Marks an entry in a literal's list (see [`FieldScan::entries`]) as needing that literal for its second required
/// set rather than its first.
const SECOND: u32 = 1 << 31;

/// The literals required in one field of a bucket.
#[derive(Debug)]
struct FieldScan {
    field: FieldId,
    set: LiteralSet,
    /// Per literal: the entries needing it in this field (with [`SECOND`] for their second set).
    entries: Vec<Box<[u32]>>,
}

/// A recent event header `(event id, channel, provider, record kind)` and its bucket. The strings are reused
/// buffers: replacing an entry allocates nothing once they are large enough.
#[derive(Debug)]
struct Header {
    id: Option<u64>,
    channel: String,
    provider: String,
    kind: Option<&'static str>,
    bucket: Arc<Bucket>,
}

/// Headers remembered per worker: logs interleave a few kinds of events (a Sysmon log a dozen event ids), and a
/// header found here costs a few comparisons instead of building a key and looking it up.
const RECENT_HEADERS: usize = 16;

/// A logsource as `(product, category, service)`.
type LogsourceKey = (Option<String>, Option<String>, Option<String>);

/// Per-worker state: the prepared event and candidate marks. Create one per thread with [`Engine::scratch`].
#[derive(Debug)]
pub struct Scratch {
    prepared: Prepared,
    key: String,
    local: FxHashMap<Box<str>, Arc<Bucket>>,
    /// Recent headers and their buckets, the last used at the end.
    recent: Vec<Header>,
    candidates: Vec<u64>,
    /// Entries whose second required set had a hit.
    seconds: Vec<u64>,
    /// Candidates marked and rules evaluated so far (statistics).
    marked: u64,
    evaluated: u64,
    scanned: u64,
    hits: u64,
    /// Per filter: detections it removed.
    removed: Vec<u64>,
}

impl Scratch {
    /// Per filter of [`Engine::filters`]: detections it removed on the events matched with this scratch.
    pub fn filter_removed(&self) -> &[u64] {
        &self.removed
    }

    /// `(candidate entries, rule evaluations)` over every event matched with this scratch so far.
    pub fn counters(&self) -> (u64, u64) {
        (self.marked, self.evaluated)
    }

    /// `(bytes scanned by the prefilter, literal hits)` so far (statistics).
    pub fn scan_counters(&self) -> (u64, u64) {
        (self.scanned, self.hits)
    }
}

impl Engine {
    /// Compiles every rule of a loaded rule set. Files with errors, rules that do not compile and correlation
    /// rules are skipped and listed in the report; nothing is dropped silently.
    pub fn build(set: &sigil_rule::RuleSet, knowledge: &Knowledge, opts: &EngineOptions) -> (Engine, BuildReport) {
        use rayon::prelude::*;
        let mut report = BuildReport::default();
        let mut filters: Vec<(&str, &FilterRule)> = Vec::new();
        let mut candidates = Vec::new();
        let mut correlation_docs = Vec::new();
        // Rules that correlations at or above the minimum level reference run whatever their own level (silently
        // when below it): the correlation needs their detections.
        let correlation_rules: Vec<&sigil_rule::CorrelationRule> = set
            .documents()
            .filter(|(f, _)| !f.parsed.has_errors())
            .filter_map(|(_, d)| match d {
                Document::Correlation(c) => Some(c),
                _ => None,
            })
            .collect();
        let needed = needed_references(correlation_rules.iter().copied(), opts.min_level);
        let is_needed = |r: &sigil_rule::Rule| {
            r.meta.id.as_deref().is_some_and(|id| needed.contains(id))
                || r.meta.name.as_deref().is_some_and(|n| needed.contains(n))
        };
        for file in &set.files {
            if file.parsed.has_errors() {
                let first = file
                    .parsed
                    .diagnostics
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| format!("{}:{}: {}", d.position.line, d.position.column, d.message));
                let title = file.parsed.documents.first().map(|d| d.meta().title.clone()).unwrap_or_default();
                report.skipped.push(SkippedRule {
                    path: file.display_path.clone(),
                    title,
                    reason: SkipReason::FileErrors(first.unwrap_or_default()),
                });
                continue;
            }
            for doc in &file.parsed.documents {
                match doc {
                    Document::Rule(r) => {
                        let level = r.meta.level.unwrap_or(Level::Informational);
                        if opts.min_level.is_some_and(|min| level < min) && !is_needed(r) {
                            report.below_level += 1;
                        } else {
                            candidates.push((file.display_path.as_str(), r));
                        }
                    }
                    Document::Filter(f) => filters.push((file.display_path.as_str(), f)),
                    Document::Correlation(c) => correlation_docs.push((file.display_path.as_str(), c)),
                }
            }
        }
        report.filters = filters.len();
        for (path, f) in &filters {
            for (r, _) in &f.rules {
                let loaded = set.documents().any(|(_, d)| match d {
                    Document::Rule(x) => x.meta.id.as_deref() == Some(r.as_str()) || x.meta.name.as_deref() == Some(r),
                    _ => false,
                });
                if !loaded {
                    report.filter_unknown_rules.push((path.to_string(), f.meta.title.clone(), r.clone()));
                }
            }
        }
        type Compiled<'a> = (&'a str, &'a sigil_rule::Rule, Vec<u32>, Result<CompiledRule, CompileError>);
        let compiled: Vec<Compiled<'_>> = candidates
            .par_iter()
            .map(|(path, rule)| {
                let (indexes, applicable): (Vec<u32>, Vec<&FilterRule>) = filters
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, f))| filter_applies(f, rule))
                    .map(|(i, (_, f))| (i as u32, *f))
                    .unzip();
                let mut compiled = compile_rule(rule, path, &applicable, &opts.placeholders);
                // Dropped here rather than after the whole set is compiled: the lowered searches of every rule
                // held at once were a quarter of the build's peak heap.
                if opts.lean
                    && let Ok(c) = &mut compiled
                {
                    c.ir.searches = Vec::new();
                }
                (*path, *rule, indexes, compiled)
            })
            .collect();

        let mut engine = Engine {
            rules: Vec::new(),
            rule_routes: Vec::new(),
            routes: Vec::new(),
            table: FieldTable::default(),
            buckets: Mutex::new(FxHashMap::default()),
            prefilter: !opts.no_prefilter,
            correlations: Vec::new(),
            referenced_by: Vec::new(),
            silent: Vec::new(),
            filters: filters
                .iter()
                .map(|(path, f)| FilterInfo {
                    id: f.meta.id.clone(),
                    title: f.meta.title.clone(),
                    path: path.to_string(),
                    rules: 0,
                })
                .collect(),
            rule_filters: Vec::new(),
        };
        // Sized once: growing by doubling would hold a second copy of the rules' headers at the build's peak.
        engine.rules.reserve_exact(compiled.len());
        engine.rule_routes.reserve_exact(compiled.len());
        engine.rule_filters.reserve_exact(compiled.len());
        let mut route_index: FxHashMap<LogsourceKey, Option<(u32, u32)>> = FxHashMap::default();
        let mut unrouted: Vec<Unrouted> = Vec::new();
        for (path, rule, filter_indexes, result) in compiled {
            let compiled = match result {
                Ok(c) => c,
                Err(e) => {
                    report.skipped.push(SkippedRule {
                        path: path.to_string(),
                        title: rule.meta.title.clone(),
                        reason: SkipReason::Compile(e),
                    });
                    continue;
                }
            };
            let ls = &rule.logsource;
            let key = (ls.product.clone(), ls.category.clone(), ls.service.clone());
            let span = *route_index.entry(key).or_insert_with(|| {
                let routes = knowledge.routes(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref())?;
                let start = engine.routes.len() as u32;
                engine.routes.extend(routes.iter().cloned());
                Some((start, engine.routes.len() as u32))
            });
            let mut rr = Vec::new();
            match span {
                Some((start, end)) => {
                    for r in start..end {
                        let Some(route) = engine.routes.get(r as usize) else { continue };
                        let map = compiled
                            .fields
                            .iter()
                            .map(|f| engine.table.intern(route.map_field(f).unwrap_or(f)))
                            .collect();
                        rr.push(RuleRoute { route: Some(r), map });
                    }
                }
                None => {
                    let shown = logsource_text(ls);
                    match unrouted.iter_mut().find(|u| u.logsource == shown) {
                        Some(u) => u.rules.push((path.to_string(), rule.meta.title.clone())),
                        None => unrouted.push(Unrouted {
                            logsource: shown,
                            rules: vec![(path.to_string(), rule.meta.title.clone())],
                            why: knowledge
                                .unrouted_reason(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref())
                                .map(str::to_owned),
                        }),
                    }
                    if opts.all_logsources {
                        let map = compiled.fields.iter().map(|f| engine.table.intern(f)).collect();
                        rr.push(RuleRoute { route: None, map });
                    }
                }
            }
            if rr.is_empty() {
                continue;
            }
            for i in &filter_indexes {
                if let Some(f) = engine.filters.get_mut(*i as usize) {
                    f.rules += 1;
                }
            }
            engine.rules.push(compiled);
            engine.rule_routes.push(rr);
            engine.rule_filters.push(filter_indexes.into());
        }
        unrouted.sort_by(|a, b| b.rules.len().cmp(&a.rules.len()).then_with(|| a.logsource.cmp(&b.logsource)));
        report.unrouted = unrouted;
        report.compiled = engine.rules.len();
        engine.add_correlations(&correlation_docs, opts, &mut report);
        // Held for the whole hunt: no room left for rules that will not come.
        engine.rules.shrink_to_fit();
        engine.rule_routes.shrink_to_fit();
        engine.rule_filters.shrink_to_fit();
        (engine, report)
    }

    fn add_correlations(
        &mut self,
        docs: &[(&str, &sigil_rule::CorrelationRule)],
        opts: &EngineOptions,
        report: &mut BuildReport,
    ) {
        let detection_rules = self.rules.len();
        let needed: std::collections::HashSet<String> =
            needed_references(docs.iter().map(|(_, c)| *c), opts.min_level).into_iter().map(str::to_string).collect();
        let is_needed = |c: &sigil_rule::CorrelationRule| {
            c.meta.id.as_deref().is_some_and(|id| needed.contains(id))
                || c.meta.name.as_deref().is_some_and(|n| needed.contains(n))
        };
        // Correlations at or above the minimum level, and those they reference (silently when below it).
        let mut kept: Vec<(&str, &sigil_rule::CorrelationRule)> = Vec::new();
        for (path, c) in docs {
            let level = c.meta.level.unwrap_or(Level::Informational);
            if opts.min_level.is_some_and(|min| level < min) && !is_needed(c) {
                report.below_level += 1;
            } else {
                kept.push((path, c));
            }
        }
        // Dependency order: a correlation after the correlations it references; cycles are refused.
        let (order, cycles) = dependency_order(&kept);
        for (i, why) in cycles {
            if let Some((path, c)) = kept.get(i) {
                report.skipped.push(SkippedRule {
                    path: path.to_string(),
                    title: c.meta.title.clone(),
                    reason: SkipReason::Correlation(CorrelationError::Cycle(why)),
                });
            }
        }
        let mut generate = vec![false; detection_rules];
        let mut referenced = vec![false; detection_rules];
        self.referenced_by = vec![Vec::new(); detection_rules];
        for i in order {
            let Some((path, c)) = kept.get(i).copied() else { continue };
            let shell = self.rules.len() as u32;
            let rules = &self.rules;
            let lookup = |r: &str| {
                rules.iter().enumerate().find_map(|(i, x)| {
                    (x.info.id.as_deref() == Some(r) || x.info.name.as_deref() == Some(r)).then(|| RuleRef {
                        index: i as u32,
                        known_as: [x.info.id.clone(), x.info.name.clone()].into_iter().flatten().collect(),
                        shown: x
                            .info
                            .id
                            .clone()
                            .or_else(|| x.info.name.clone())
                            .unwrap_or_else(|| x.info.title.clone()),
                    })
                })
            };
            match Correlation::new(c, shell, &lookup) {
                Ok(corr) => {
                    for r in &corr.rules {
                        let i = *r as usize;
                        if let Some(v) = self.referenced_by.get_mut(i) {
                            v.push(self.correlations.len() as u32);
                        }
                        if let Some(x) = referenced.get_mut(i) {
                            *x = true;
                        }
                        if c.correlation.generate
                            && let Some(x) = generate.get_mut(i)
                        {
                            *x = true;
                        }
                    }
                    let info = RuleInfo {
                        id: c.meta.id.clone(),
                        name: c.meta.name.clone(),
                        title: c.meta.title.clone(),
                        level: c.meta.level,
                        tags: c.meta.tags.iter().map(sigil_rule::Tag::full).collect(),
                        path: path.to_string(),
                        logsource: sigil_rule::Logsource::default(),
                    };
                    self.rules.push(CompiledRule::shell(info));
                    self.rule_routes.push(Vec::new());
                    self.rule_filters.push(Box::new([]));
                    self.correlations.push(corr);
                    self.referenced_by.push(Vec::new());
                    generate.push(false);
                    referenced.push(false);
                    report.compiled += 1;
                }
                Err(e) => report.skipped.push(SkippedRule {
                    path: path.to_string(),
                    title: c.meta.title.clone(),
                    reason: SkipReason::Correlation(e),
                }),
            }
        }
        // Silent: referenced only by correlations that do not generate, or below the minimum level (kept only for
        // the correlations that need them).
        self.silent = referenced
            .iter()
            .zip(&generate)
            .zip(&self.rules)
            .map(|((r, g), rule)| {
                let below = opts.min_level.is_some_and(|min| rule.info.level.unwrap_or(Level::Informational) < min);
                (*r && !*g) || below
            })
            .collect();
        self.silent.resize(self.rules.len(), false);
        self.referenced_by.resize(self.rules.len(), Vec::new());
    }

    /// The meta filters loaded; [`HuntStats::filter_removed`](crate::HuntStats::filter_removed) is indexed alike.
    pub fn filters(&self) -> &[FilterInfo] {
        &self.filters
    }

    /// Whether a rule raises no alert of its own (only referenced by correlations without `generate: true`).
    pub fn is_silent(&self, rule: u32) -> bool {
        self.silent.get(rule as usize).copied().unwrap_or(false)
    }

    /// The compiled rules; [`Match::rule`] indexes them.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The rule a match names.
    pub fn rule(&self, m: Match) -> Option<&CompiledRule> {
        self.rules.get(m.rule as usize)
    }

    /// A fresh per-thread state.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            prepared: Prepared::new(&self.table),
            key: String::new(),
            local: FxHashMap::default(),
            recent: Vec::new(),
            candidates: Vec::new(),
            seconds: Vec::new(),
            marked: 0,
            evaluated: 0,
            scanned: 0,
            hits: 0,
            removed: vec![0; self.filters.len()],
        }
    }

    /// Prefilter statistics of the buckets built so far: `(header key, entries, always evaluated, fields scanned,
    /// literals)`.
    pub fn bucket_stats(&self) -> Vec<(String, usize, usize, usize, usize)> {
        let b = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<_> = b
            .iter()
            .map(|(k, b)| {
                (
                    k.replace('\u{1f}', " | "),
                    b.entries.len(),
                    b.always.len(),
                    b.scans.len(),
                    b.scans.iter().map(|s| s.entries.len()).sum(),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// For a match of a rule that correlation rules reference: per such correlation, the index of the
    /// correlation's rule (see [`Engine::rules`]) and the `group-by` values the event falls into. Correlation
    /// state is kept per group, so detections split by these keys can be correlated apart (on the workers of a
    /// cluster, after a shuffle by key) with the same alerts as all together.
    pub fn correlation_groups(&self, m: Match, event: &Event) -> Vec<(u32, Vec<String>)> {
        let Some(corrs) = self.referenced_by.get(m.rule as usize) else { return Vec::new() };
        corrs
            .iter()
            .filter_map(|c| {
                let c = self.correlations.get(*c as usize)?;
                Some((c.shell, c.group_of(m.rule, event)?))
            })
            .collect()
    }

    /// Appends to `out` every rule that matches `event` (each rule at most once). Returns whether any rule's
    /// logsource selects the event at all (`false`: no rule could have matched it).
    pub fn matches(&self, event: &Event, scratch: &mut Scratch, out: &mut Vec<Match>) -> bool {
        // The bucket stays in the scratch (taken out while in use): no reference count touched per event, which
        // every worker would otherwise do on the same shared bucket.
        let Some(i) = self.select_bucket(event, scratch) else { return false };
        // Taken out while in use, put back last (the most recent).
        let header = scratch.recent.swap_remove(i);
        let selected = self.match_in(&header.bucket, event, scratch, out);
        scratch.recent.push(header);
        selected
    }

    fn match_in(&self, bucket: &Bucket, event: &Event, scratch: &mut Scratch, out: &mut Vec<Match>) -> bool {
        if bucket.entries.is_empty() {
            return false;
        }
        let Scratch { prepared, candidates, seconds, marked, evaluated, scanned, hits, removed, .. } = scratch;
        match bucket.used.as_deref() {
            Some(used) if bucket.keywords.is_some() => prepared.load_with_rest(event, &self.table, used),
            used => prepared.load(event, &self.table, used),
        }
        let words = bucket.entries.len().div_ceil(64);
        candidates.clear();
        candidates.resize(words, 0);
        seconds.clear();
        if !bucket.needs_second.is_empty() {
            seconds.resize(words, 0);
        }
        let mut mark = |e: u32| {
            if e & SECOND == 0 {
                set_bit(candidates, e);
            } else {
                set_bit(seconds, e & !SECOND);
            }
        };
        for scan in &bucket.scans {
            for atom in prepared.field(scan.field).unwrap_or_default() {
                let hay = prepared.folded(atom).as_bytes();
                *scanned += hay.len() as u64;
                scan.set.for_each_match(hay, |pattern, _| {
                    *hits += 1;
                    for &e in scan.entries.get(pattern as usize).map_or(&[][..], |v| v) {
                        mark(e);
                    }
                });
            }
        }
        if let Some((ac, by_pattern)) = &bucket.keywords {
            // Every value of the event: the prepared fields' folded text and the rest's.
            for hay in [prepared.folded_all(), prepared.rest()] {
                *scanned += hay.len() as u64;
                ac.for_each_match(hay, |pattern, _| {
                    *hits += 1;
                    for &e in by_pattern.get(pattern as usize).map_or(&[][..], |v| v) {
                        mark(e);
                    }
                });
            }
        }
        // A hit of an entry's first set counts only with one of its second set, if it has one.
        for ((c, n), s) in candidates.iter_mut().zip(&bucket.needs_second).zip(seconds.iter()) {
            *c &= !n | s;
        }
        for &e in &bucket.always {
            set_bit(candidates, e);
        }
        // A keyword rule reads every value: a candidate one needs the fields `used` left out.
        if !prepared.is_complete() && candidates.iter().zip(&bucket.keyword_entries).any(|(c, k)| c & k != 0) {
            prepared.load(event, &self.table, None);
        }
        let mut last_rule = u32::MAX;
        for (w, &word) in candidates.iter().enumerate() {
            let mut bits = word;
            *marked += u64::from(bits.count_ones());
            while bits != 0 {
                let e = (w * 64) as u32 + bits.trailing_zeros();
                bits &= bits - 1;
                let Some(entry) = bucket.entries.get(e as usize) else { continue };
                if entry.rule == last_rule {
                    continue;
                }
                let (Some(rule), Some(rr)) = (
                    self.rules.get(entry.rule as usize),
                    self.rule_routes.get(entry.rule as usize).and_then(|r| r.get(entry.route as usize)),
                ) else {
                    continue;
                };
                if entry.conditions
                    && let Some(route) = rr.route.and_then(|r| self.routes.get(r as usize))
                    && !conditions_hold(route, event)
                {
                    continue;
                }
                *evaluated += 1;
                let filters = self.rule_filters.get(entry.rule as usize).map_or(&[][..], |f| &f[..]);
                let mut count = |i: usize| {
                    if let Some(n) = filters.get(i).and_then(|g| removed.get_mut(*g as usize)) {
                        *n += 1;
                    }
                };
                if rule.matches_filtered(prepared, &rr.map, &mut count) {
                    out.push(Match { rule: entry.rule, route: entry.route });
                    last_rule = entry.rule;
                }
            }
        }
        true
    }

    /// The values of the rule's key fields in the event, as `(Sigma field, value)`, absent fields left out.
    pub fn key_fields(&self, m: Match, event: &Event) -> Vec<(String, String)> {
        let (Some(rule), Some(rr)) = (
            self.rules.get(m.rule as usize),
            self.rule_routes.get(m.rule as usize).and_then(|r| r.get(m.route as usize)),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &i in &rule.key_fields {
            let (Some(sigma), Some(id)) = (rule.fields.get(i as usize), rr.map.get(i as usize)) else { continue };
            let name = self.table.name(*id);
            let loose = |n: &str| {
                n.chars()
                    .filter(|c| *c != ' ')
                    .map(|c| c.to_ascii_lowercase())
                    .eq(name.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_lowercase()))
            };
            let value = event.get(name).or_else(|| event.fields().rev().find(|(n, _)| loose(n)).map(|(_, v)| v));
            if let Some(v) = value.filter(|v| !v.is_null()) {
                out.push((sigma.clone(), v.as_str_lossy().into_owned()));
            }
        }
        out
    }

    /// The index in `scratch.recent` of the event's header, found there or added (replacing the least recently
    /// used one). `None` when there is no bucket.
    fn select_bucket(&self, event: &Event, scratch: &mut Scratch) -> Option<usize> {
        let kind = event.kind().map(|k| k.name);
        let channel = event.channel().unwrap_or("\u{0}");
        let provider = event.provider().unwrap_or("\u{0}");
        let raw_id = event.event_id();
        // The most recent first: logs come in runs of one header.
        if let Some(i) = scratch
            .recent
            .iter()
            .rposition(|h| h.id == raw_id && h.kind == kind && h.channel == channel && h.provider == provider)
        {
            return Some(i);
        }
        let id = raw_id.and_then(|i| u32::try_from(i).ok());
        let bucket = self.lookup_bucket(kind, event.channel(), event.provider(), id, scratch)?;
        if scratch.recent.len() < RECENT_HEADERS {
            scratch.recent.push(Header {
                id: raw_id,
                channel: channel.to_string(),
                provider: provider.to_string(),
                kind,
                bucket,
            });
            return Some(scratch.recent.len() - 1);
        }
        // The least recently used is first.
        let mut h = scratch.recent.remove(0);
        h.id = raw_id;
        h.kind = kind;
        h.channel.clear();
        h.channel.push_str(channel);
        h.provider.clear();
        h.provider.push_str(provider);
        h.bucket = bucket;
        scratch.recent.push(h);
        Some(scratch.recent.len() - 1)
    }

    fn lookup_bucket(
        &self,
        kind: Option<&str>,
        channel: Option<&str>,
        provider: Option<&str>,
        id: Option<u32>,
        scratch: &mut Scratch,
    ) -> Option<Arc<Bucket>> {
        scratch.key.clear();
        scratch.key.push_str(kind.unwrap_or("\u{0}"));
        scratch.key.push('\u{1f}');
        push_lower(&mut scratch.key, channel.unwrap_or("\u{0}"));
        scratch.key.push('\u{1f}');
        push_lower(&mut scratch.key, provider.unwrap_or("\u{0}"));
        scratch.key.push('\u{1f}');
        if let Some(id) = id {
            use std::fmt::Write as _;
            let _ = write!(scratch.key, "{id}");
        }
        if let Some(b) = scratch.local.get(scratch.key.as_str()) {
            return Some(Arc::clone(b));
        }
        let bucket = {
            // A cache: a thread that panicked while holding it left it valid, so a poisoned lock is used as is
            // (never "no bucket", which would make the event match nothing).
            let mut shared = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            match shared.get(scratch.key.as_str()) {
                Some(b) => Arc::clone(b),
                None => {
                    let b = Arc::new(self.build_bucket(kind, channel, provider, id));
                    if shared.len() < BUCKET_CACHE_LIMIT {
                        shared.insert(scratch.key.as_str().into(), Arc::clone(&b));
                    }
                    b
                }
            }
        };
        if scratch.local.len() < BUCKET_CACHE_LIMIT {
            scratch.local.insert(scratch.key.as_str().into(), Arc::clone(&bucket));
        }
        Some(bucket)
    }

    fn build_bucket(
        &self,
        kind: Option<&str>,
        channel: Option<&str>,
        provider: Option<&str>,
        id: Option<u32>,
    ) -> Bucket {
        let mut entries = Vec::new();
        for (ri, routes) in self.rule_routes.iter().enumerate() {
            for (k, rr) in routes.iter().enumerate() {
                let (selected, conditions) = match rr.route.and_then(|r| self.routes.get(r as usize)) {
                    Some(route) => (route.matches_event(kind, channel, provider, id), !route.conditions().is_empty()),
                    None => (true, false),
                };
                // A rule that needs other event ids than this header's cannot match: leave it out. Only when the
                // rule reads `EventID` itself, the field the header's id comes from.
                let excluded = match (id, self.rules.get(ri).and_then(|r| r.event_ids.as_ref())) {
                    (Some(id), Some((local, ids))) => {
                        rr.map.get(*local as usize).is_some_and(|f| self.table.name(*f) == "EventID")
                            && !ids.contains(&id)
                    }
                    _ => false,
                };
                if selected && !excluded {
                    entries.push(Entry { rule: ri as u32, route: k as u16, conditions });
                }
            }
        }
        // The fields the entries read; keyword rules read every value, and are marked to be evaluated only on an
        // event with every field prepared.
        let mut read = vec![0u64; self.table.len().div_ceil(64)];
        let mut keyword_entries = vec![0u64; entries.len().div_ceil(64)];
        for (e, entry) in entries.iter().enumerate() {
            let rule = self.rules.get(entry.rule as usize);
            if rule.is_none_or(|r| r.keywords) {
                set_bit(&mut keyword_entries, e as u32);
            }
            let map =
                self.rule_routes.get(entry.rule as usize).and_then(|r| r.get(entry.route as usize)).map(|r| &r.map);
            for id in map.into_iter().flatten() {
                set_bit(&mut read, *id);
            }
        }
        let mut used = Some(read);
        if keyword_entries.iter().all(|w| *w == 0) {
            keyword_entries = Vec::new();
        }
        if !self.prefilter {
            // The reference mode: every rule on every routed event, every field prepared.
            let always = (0..entries.len() as u32).collect();
            let used = None;
            return Bucket {
                entries,
                always,
                scans: Vec::new(),
                keywords: None,
                used,
                keyword_entries: Vec::new(),
                needs_second: Vec::new(),
            };
        }
        let mut always = Vec::new();
        // Per field: its literals, their indexes, and for each literal the entries needing it there.
        type Group<'a> = (Vec<&'a str>, FxHashMap<&'a str, usize>, Vec<Vec<u32>>);
        let mut by_field: FxHashMap<FieldId, Group<'_>> = FxHashMap::default();
        let mut keywords: Group<'_> = Default::default();
        let mut needs_second = vec![0u64; entries.len().div_ceil(64)];
        for (e, entry) in entries.iter().enumerate() {
            let e = e as u32;
            let rule = self.rules.get(entry.rule as usize);
            let map =
                self.rule_routes.get(entry.rule as usize).and_then(|r| r.get(entry.route as usize)).map(|r| &r.map);
            let (Some(lits), Some(map)) = (rule.and_then(|r| r.required.as_ref()), map) else {
                always.push(e);
                continue;
            };
            // An empty literal would occur everywhere (compile never makes one; this keeps the prefilter sound).
            if lits.iter().any(|l| l.lit.is_empty()) {
                always.push(e);
                continue;
            }
            // The second set (never with an empty literal, see `compile.rs`), with its literals marked as such.
            let second = rule.and_then(|r| r.also_required.as_ref()).filter(|_| e & SECOND == 0);
            if second.is_some() {
                set_bit(&mut needs_second, e);
            }
            let tagged = lits.iter().map(|l| (l, e)).chain(second.into_iter().flatten().map(|l| (l, e | SECOND)));
            for (l, tag) in tagged {
                let group = match l.field.and_then(|local| map.get(local as usize)) {
                    Some(id) => by_field.entry(*id).or_default(),
                    None => &mut keywords,
                };
                let (patterns, ids, needing) = group;
                let p = *ids.entry(l.lit.as_str()).or_insert_with(|| {
                    patterns.push(l.lit.as_str());
                    needing.push(Vec::new());
                    patterns.len() - 1
                });
                // Entries come in order, each with at most its two tags: a repeat is among the last two.
                if let Some(es) = needing.get_mut(p)
                    && !es.iter().rev().take(2).any(|t| *t == tag)
                {
                    es.push(tag);
                }
            }
        }
        let build = |(patterns, _, needing): Group<'_>| -> (LiteralSet, Vec<Box<[u32]>>) {
            let bytes: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
            (LiteralSet::new(&bytes), needing.into_iter().map(Vec::into_boxed_slice).collect())
        };
        let mut fields: Vec<_> = by_field.into_iter().collect();
        fields.sort_by_key(|(id, _)| *id);
        let scans = fields
            .into_iter()
            .map(|(field, group)| {
                let (set, entries) = build(group);
                FieldScan { field, set, entries }
            })
            .collect();
        let keywords = if keywords.0.is_empty() { None } else { Some(build(keywords)) };
        if needs_second.iter().all(|w| *w == 0) {
            needs_second = Vec::new();
        }
        // A keyword rule evaluated on every event needs every field of every event.
        if always.iter().any(|e| bit(&keyword_entries, *e)) {
            used = None;
        }
        Bucket { entries, always, scans, keywords, used, keyword_entries, needs_second }
    }
}

/// Whether an event meets a route's extra conditions. A list value (an auditd event's `type`, the types of its
/// records) meets a condition when any item does; a field is found by exact name, else ignoring ASCII case (JSON
/// exports that lower-case their keys).
pub(crate) fn conditions_hold(route: &Route, event: &Event) -> bool {
    route.conditions().iter().all(|c| {
        let value = event
            .get(c.field())
            .or_else(|| event.fields().rev().find(|(n, _)| n.eq_ignore_ascii_case(c.field())).map(|(_, v)| v));
        match value {
            Some(sigil_events::Value::List(items)) => items.iter().any(|i| c.accepts(&i.as_str_lossy())),
            Some(v) => c.accepts(&v.as_str_lossy()),
            None => false,
        }
    })
}

fn push_lower(out: &mut String, s: &str) {
    for c in s.chars() {
        out.push(c.to_ascii_lowercase());
    }
}

#[inline]
fn bit(bits: &[u64], i: u32) -> bool {
    bits.get((i / 64) as usize).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

#[inline]
fn set_bit(bits: &mut [u64], i: u32) {
    if let Some(w) = bits.get_mut((i / 64) as usize) {
        *w |= 1 << (i % 64);
    }
}

pub(crate) fn logsource_text(ls: &sigil_rule::Logsource) -> String {
    let p = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    format!("{}/{}/{}", p(&ls.product), p(&ls.category), p(&ls.service))
}

/// The ids and names that correlations at or above `min_level` reference, directly or through other
/// correlations: those rules run whatever their own level.
fn needed_references<'a>(
    docs: impl Iterator<Item = &'a sigil_rule::CorrelationRule> + Clone,
    min_level: Option<Level>,
) -> std::collections::HashSet<&'a str> {
    let mut needed: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut roots: Vec<&sigil_rule::CorrelationRule> = docs
        .clone()
        .filter(|c| min_level.is_none_or(|min| c.meta.level.unwrap_or(Level::Informational) >= min))
        .collect();
    while let Some(c) = roots.pop() {
        for (r, _) in &c.correlation.rules {
            if needed.insert(r.as_str()) {
                roots.extend(docs.clone().filter(|d| {
                    d.meta.id.as_deref() == Some(r.as_str()) || d.meta.name.as_deref() == Some(r.as_str())
                }));
            }
        }
    }
    needed
}

/// Orders correlations so that each comes after the correlations it references (by id or name). Returns the
/// order and, for each correlation on a reference cycle, a description of the cycle.
fn dependency_order(docs: &[(&str, &sigil_rule::CorrelationRule)]) -> (Vec<usize>, Vec<(usize, String)>) {
    let find =
        |r: &str| docs.iter().position(|(_, d)| d.meta.id.as_deref() == Some(r) || d.meta.name.as_deref() == Some(r));
    let deps: Vec<Vec<usize>> =
        docs.iter().map(|(_, c)| c.correlation.rules.iter().filter_map(|(r, _)| find(r)).collect()).collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; docs.len()];
    let mut order = Vec::new();
    let mut cyclic = vec![false; docs.len()];
    let mut cycles = Vec::new();
    for start in 0..docs.len() {
        if state.get(start) != Some(&0) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if let Some(s) = state.get_mut(start) {
            *s = 1;
        }
        while let Some((node, next)) = stack.last().copied() {
            let dep = deps.get(node).and_then(|d| d.get(next)).copied();
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            match dep {
                Some(d) => match state.get(d) {
                    Some(0) => {
                        if let Some(s) = state.get_mut(d) {
                            *s = 1;
                        }
                        stack.push((d, 0));
                    }
                    Some(1) => {
                        // A cycle: the stack from `d` to the top.
                        let from = stack.iter().position(|(n, _)| *n == d).unwrap_or(0);
                        let members: Vec<usize> = stack.iter().skip(from).map(|(n, _)| *n).collect();
                        let text = members
                            .iter()
                            .chain(std::iter::once(&d))
                            .filter_map(|m| docs.get(*m))
                            .map(|(p, c)| format!("'{}' in {p}", c.meta.title))
                            .collect::<Vec<_>>()
                            .join(" -> ");
                        for m in members {
                            if let Some(x) = cyclic.get_mut(m)
                                && !*x
                            {
                                *x = true;
                                cycles.push((m, text.clone()));
                            }
                        }
                    }
                    _ => {}
                },
                None => {
                    stack.pop();
                    if let Some(s) = state.get_mut(node) {
                        *s = 2;
                    }
                    order.push(node);
                }
            }
        }
    }
    // A correlation referencing one on a cycle cannot be built either; `Correlation::new` reports it as an
    // unknown rule since the cyclic one is never built.
    order.retain(|i| !cyclic.get(*i).copied().unwrap_or(false));
    (order, cycles)
}
