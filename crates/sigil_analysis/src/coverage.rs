//! Which rules the logs at hand can feed.
//!
//! [`LogProfile`] is what a pass over the logs saw: per event header (record kind, channel, provider, event id) how
//! many events and, per field, how many of them had it populated (present, not null, not empty). [`assess`] then
//! tells per rule whether it can fire on these logs, by the engine's routing tables (`sigil_knowledge`): a rule
//! can fire when some events its logsource's routes select are present, with one of the event ids its condition
//! requires, and every field it needs populated in those events (after the route's field mapping: `Image` is
//! `NewProcessName` on Security 4688). Otherwise it is *blind*, with the reason.
//!
//! A field is *needed* when every way the condition can hold tests it positively (not under `not`, not `null`,
//! `exists: false` or `neq`); a field tested in only one of several alternatives is not needed.

use std::collections::BTreeMap;

use serde::Serialize;
use sigil_events::{Event, Value};
use sigil_ir::{Cond, Item, Placeholders, ValueSpec, lower_rule};
use sigil_knowledge::{Knowledge, Route};
use sigil_rule::{Document, Rule, RuleSet};

/// Events of one header: `(record kind, channel, provider, event id)`, each `""`/`None` when absent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Header {
    /// The record kind's name (`sigil_events` kinds such as a Sysmon or Security record); `""` when unknown.
    pub kind: String,
    /// The Windows event log channel; `""` when the event has none.
    pub channel: String,
    /// The event's provider name; `""` when it has none.
    pub provider: String,
    /// The event id; `None` when the event has none.
    pub event_id: Option<u64>,
}

/// What the logs hold under one header.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeaderStats {
    /// Events seen with this header.
    pub events: u64,
    /// Per field name: events in which it was populated.
    pub fields: BTreeMap<String, u64>,
}

/// What a pass over the logs saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogProfile {
    /// Events seen in all.
    pub events: u64,
    /// What was seen per header; the headers' event counts add up to `events`.
    pub headers: BTreeMap<Header, HeaderStats>,
}

impl LogProfile {
    /// Counts one event.
    pub fn add(&mut self, event: &Event) {
        self.events += 1;
        let header = Header {
            kind: event.kind().map(|k| k.name.to_string()).unwrap_or_default(),
            channel: event.channel().unwrap_or_default().to_string(),
            provider: event.provider().unwrap_or_default().to_string(),
            event_id: event.event_id(),
        };
        let stats = self.headers.entry(header).or_default();
        stats.events += 1;
        for (name, value) in event.fields() {
            if populated(value) {
                match stats.fields.get_mut(name) {
                    Some(n) => *n += 1,
                    None => {
                        stats.fields.insert(name.to_string(), 1);
                    }
                }
            }
        }
    }

    /// Adds another profile's counts (profiles of parallel workers).
    pub fn merge(&mut self, other: LogProfile) {
        self.events += other.events;
        for (h, s) in other.headers {
            let mine = self.headers.entry(h).or_default();
            mine.events += s.events;
            for (f, n) in s.fields {
                *mine.fields.entry(f).or_default() += n;
            }
        }
    }
}

fn populated(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Str(s) => !s.trim().is_empty() && s.as_str() != "-",
        Value::List(items) => items.iter().any(populated),
        _ => true,
    }
}

/// Whether a rule can fire on the logs, and why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCoverage {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// The rule's `title`.
    pub title: String,
    /// The rule file, as shown to users.
    pub path: String,
    /// The rule's logsource as `product/category/service`, `-` for each one absent.
    pub logsource: String,
    /// Whether the rule can fire on these logs; when `false`, `reason` says why.
    pub can_fire: bool,
    /// Events the rule's routes select (with a required event id).
    pub events: u64,
    /// Why it cannot fire; `None` when it can.
    pub reason: Option<String>,
    /// Needed fields never populated in the selected events (after the route's mapping).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<String>,
    /// ATT&CK technique ids of the rule.
    pub techniques: Vec<String>,
}

/// Rules per ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueCoverage {
    /// The ATT&CK technique id, from the rules' `attack.t…` tags.
    pub technique: String,
    /// Rules tagged with the technique.
    pub rules: usize,
    /// Of those, the rules that can fire on these logs.
    pub can_fire: usize,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageReport {
    /// Events in the profile.
    pub events: u64,
    /// Per channel / provider / record kind: events, event ids with counts, fields with counts.
    /// Sorted by event count, largest first.
    pub sources: Vec<SourceSummary>,
    /// One per detection rule of the files that parsed without errors, in load order.
    pub rules: Vec<RuleCoverage>,
    /// One per technique tagged on some rule, by technique id.
    pub techniques: Vec<TechniqueCoverage>,
}

/// The logs of one channel (or provider, or record kind).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSummary {
    /// The record kind; `None` when unknown.
    pub kind: Option<String>,
    /// The channel; `None` when the events have none.
    pub channel: Option<String>,
    /// The provider; `None` when the events have none.
    pub provider: Option<String>,
    /// Events of this source.
    pub events: u64,
    /// Events per event id (events without an id are counted only in `events`).
    pub event_ids: BTreeMap<u64, u64>,
    /// Per field name: events of this source in which it was populated.
    pub fields: BTreeMap<String, u64>,
}

/// Assesses every detection rule of `set` against the profile.
pub fn assess(set: &RuleSet, knowledge: &Knowledge, profile: &LogProfile) -> CoverageReport {
    let mut rules = Vec::new();
    for f in set.files.iter().filter(|f| !f.parsed.has_errors()) {
        for d in &f.parsed.documents {
            if let Document::Rule(r) = d {
                rules.push(assess_rule(r, &f.display_path, knowledge, profile));
            }
        }
    }
    let mut techniques: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &rules {
        for t in &r.techniques {
            let e = techniques.entry(t.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(r.can_fire);
        }
    }
    CoverageReport {
        events: profile.events,
        sources: summarize(profile),
        rules,
        techniques: techniques
            .into_iter()
            .map(|(technique, (rules, can_fire))| TechniqueCoverage { technique, rules, can_fire })
            .collect(),
    }
}

fn summarize(profile: &LogProfile) -> Vec<SourceSummary> {
    let mut by: BTreeMap<(String, String, String), SourceSummary> = BTreeMap::new();
    for (h, s) in &profile.headers {
        let opt = |x: &str| (!x.is_empty()).then(|| x.to_string());
        let e = by.entry((h.kind.clone(), h.channel.clone(), h.provider.clone())).or_insert_with(|| SourceSummary {
            kind: opt(&h.kind),
            channel: opt(&h.channel),
            provider: opt(&h.provider),
            events: 0,
            event_ids: BTreeMap::new(),
            fields: BTreeMap::new(),
        });
        e.events += s.events;
        if let Some(id) = h.event_id {
            *e.event_ids.entry(id).or_default() += s.events;
        }
        for (f, n) in &s.fields {
            *e.fields.entry(f.clone()).or_default() += n;
        }
    }
    let mut out: Vec<SourceSummary> = by.into_values().collect();
    out.sort_by_key(|s| std::cmp::Reverse(s.events));
    out
}

/// Assesses one rule.
pub fn assess_rule(rule: &Rule, path: &str, knowledge: &Knowledge, profile: &LogProfile) -> RuleCoverage {
    let ls = &rule.logsource;
    let logsource = [&ls.product, &ls.category, &ls.service]
        .iter()
        .map(|p| p.as_deref().unwrap_or("-"))
        .collect::<Vec<_>>()
        .join("/");
    let mut techniques: Vec<String> = rule
        .meta
        .tags
        .iter()
        .filter(|t| t.namespace.eq_ignore_ascii_case("attack"))
        .filter(|t| matches!(t.name.as_bytes(), [b't' | b'T', d, ..] if d.is_ascii_digit()))
        .map(|t| t.name.to_ascii_uppercase())
        .collect();
    techniques.sort();
    techniques.dedup();
    let mut out = RuleCoverage {
        id: rule.meta.id.clone(),
        title: rule.meta.title.clone(),
        path: path.to_string(),
        logsource: logsource.clone(),
        can_fire: false,
        events: 0,
        reason: None,
        missing_fields: Vec::new(),
        techniques,
    };
    let Some(routes) = knowledge.routes(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref()) else {
        let why = knowledge
            .unrouted_reason(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref())
            .unwrap_or("no reader sigil has gives events of this logsource");
        out.reason = Some(format!("its logsource {logsource} has no route: {why}"));
        return out;
    };
    let ir = match lower_rule(rule, &[], &Placeholders::new()) {
        Ok(ir) => ir,
        Err(e) => {
            out.reason = Some(format!("the rule cannot be compiled: {e}"));
            return out;
        }
    };
    let searches: Vec<(Vec<String>, Option<Vec<u64>>)> = ir
        .searches
        .iter()
        .map(|s| {
            // Fields needed by every group; event ids required by every group.
            let per_group: Vec<Vec<String>> =
                s.groups.iter().map(|g| g.iter().filter_map(needed_field).collect()).collect();
            let needed = per_group
                .first()
                .map(|first| first.iter().filter(|f| per_group.iter().all(|g| g.contains(f))).cloned().collect())
                .unwrap_or_default();
            let ids: Option<Vec<u64>> = s
                .groups
                .iter()
                .map(|g| g.iter().find_map(item_ids))
                .collect::<Option<Vec<Vec<u64>>>>()
                .map(|v| v.concat());
            (needed, ids)
        })
        .collect();
    let condition = ir.condition();
    let needed = needed_fields(&condition, &searches);
    let ids = required_ids(&condition, &searches);

    // Headers the routes select.
    let mut selected = 0u64;
    let mut with_id = 0u64;
    let mut best_missing: Option<Vec<String>> = None;
    for route in routes {
        for (h, s) in &profile.headers {
            let id = h.event_id.and_then(|i| u32::try_from(i).ok());
            if !route.matches_event(non_empty(&h.kind), non_empty(&h.channel), non_empty(&h.provider), id) {
                continue;
            }
            selected += s.events;
            if ids.as_ref().is_some_and(|ids| !h.event_id.is_some_and(|i| ids.contains(&i))) {
                continue;
            }
            with_id += s.events;
            let missing: Vec<String> = needed.iter().filter(|f| !has_field(s, route, f)).cloned().collect();
            if missing.is_empty() {
                out.can_fire = true;
                out.events += s.events;
            } else if best_missing.as_ref().is_none_or(|b| missing.len() < b.len()) {
                best_missing = Some(missing);
            }
        }
    }
    if out.can_fire {
        return out;
    }
    out.events = with_id;
    out.reason = Some(if selected == 0 {
        format!("its logsource {logsource} is not in these logs")
    } else if with_id == 0 {
        let ids = ids.unwrap_or_default().iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        format!("its event id ({ids}) never occurs in the {selected} events of its logsource")
    } else {
        let missing = best_missing.unwrap_or_default();
        let shown = missing.join(", ");
        out.missing_fields = missing;
        format!("it needs {shown}, never populated in the {with_id} events of its logsource")
    });
    out
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// Whether the events of a header have the Sigma field populated, read through the route's mapping: the mapped
/// name exactly, ignoring ASCII case, or fields under it (`requestParameters` reads `requestParameters.x`).
fn has_field(s: &HeaderStats, route: &Route, sigma: &str) -> bool {
    let name = route.map_field(sigma).unwrap_or(sigma);
    if s.fields.contains_key(name) {
        return true;
    }
    s.fields.keys().any(|f| {
        f.eq_ignore_ascii_case(name)
            || f.replace(' ', "").eq_ignore_ascii_case(name)
            || (f.len() > name.len()
                && f.as_bytes().get(name.len()) == Some(&b'.')
                && f.get(..name.len()).is_some_and(|p| p.eq_ignore_ascii_case(name)))
    })
}

/// The field an item needs populated: positive tests only (not `neq`, `null`, `exists: false`); keywords need none.
fn needed_field(i: &Item) -> Option<String> {
    if i.negated {
        return None;
    }
    let positive = i.values.iter().all(|v| match v {
        ValueSpec::Null | ValueSpec::Exists(false) => false,
        // An empty string matches an empty value too.
        ValueSpec::Patterns { alternatives, .. } => alternatives.iter().all(|p| p.as_literal() != Some("")),
        _ => true,
    });
    if !positive {
        return None;
    }
    i.field.clone()
}

fn item_ids(i: &Item) -> Option<Vec<u64>> {
    if i.field.as_deref() != Some("EventID") || i.negated || (i.all && i.values.len() > 1) {
        return None;
    }
    i.values
        .iter()
        .map(|v| match v {
            ValueSpec::Number(n) if n.fract() == 0.0 && *n >= 0.0 => Some(*n as u64),
            _ => None,
        })
        .collect()
}

fn needed_fields(c: &Cond, searches: &[(Vec<String>, Option<Vec<u64>>)]) -> Vec<String> {
    match c {
        Cond::Search(i) => searches.get(*i).map(|s| s.0.clone()).unwrap_or_default(),
        Cond::Not(_) | Cond::Const(_) => Vec::new(),
        Cond::And(xs) => {
            let mut out: Vec<String> = Vec::new();
            for f in xs.iter().flat_map(|x| needed_fields(x, searches)) {
                if !out.contains(&f) {
                    out.push(f);
                }
            }
            out
        }
        Cond::Or(xs) => {
            let all: Vec<Vec<String>> = xs.iter().map(|x| needed_fields(x, searches)).collect();
            all.first()
                .map(|first| first.iter().filter(|f| all.iter().all(|g| g.contains(f))).cloned().collect())
                .unwrap_or_default()
        }
    }
}

fn required_ids(c: &Cond, searches: &[(Vec<String>, Option<Vec<u64>>)]) -> Option<Vec<u64>> {
    match c {
        Cond::Search(i) => searches.get(*i).and_then(|s| s.1.clone()),
        Cond::Not(_) | Cond::Const(_) => None,
        Cond::And(xs) => xs.iter().filter_map(|x| required_ids(x, searches)).min_by_key(Vec::len),
        Cond::Or(xs) => {
            let mut all = Vec::new();
            for x in xs {
                all.extend(required_ids(x, searches)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}

/// Plain text for a terminal: the sources, then the blind rules with their reasons, then techniques.
pub fn text(r: &CoverageReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{} events", r.events);
    for s in &r.sources {
        let name =
            [&s.kind, &s.channel, &s.provider].iter().filter_map(|x| x.as_deref()).collect::<Vec<_>>().join(" / ");
        let ids: Vec<String> = s.event_ids.iter().map(|(id, n)| format!("{id}×{n}")).collect();
        let _ = writeln!(out, "  {name}: {} events; event ids {}; {} fields", s.events, ids.join(" "), s.fields.len());
    }
    let fire = r.rules.iter().filter(|x| x.can_fire).count();
    let _ = writeln!(out, "\n{fire} of {} rules can fire", r.rules.len());
    for x in &r.rules {
        let mark = if x.can_fire { "can fire " } else { "BLIND    " };
        let why = x.reason.as_deref().map(|w| format!(": {w}")).unwrap_or_else(|| format!(" ({} events)", x.events));
        let _ = writeln!(out, "  {mark} {} ({}){why}", x.title, x.path);
    }
    if !r.techniques.is_empty() {
        let _ = writeln!(out, "\nATT&CK techniques (rules that can fire / rules)");
        for t in &r.techniques {
            let _ = writeln!(out, "  {}  {}/{}", t.technique, t.can_fire, t.rules);
        }
    }
    out
}
