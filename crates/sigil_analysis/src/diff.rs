//! New or changed rules against a corpus: duplicates, shared indicators, what they add.
//!
//! Each rule is reduced to [`RuleFacts`]: a fingerprint of its detection logic after normalisation, its indicator
//! keys (the catalog's [`IndicatorKey`]: field, kind, value, compared as Sigma compares), its ATT&CK techniques and
//! the Windows events it can fire on (the catalog's event coverage, `sigil_knowledge::Knowledge::events_for`).
//! A [`Corpus`] indexes the facts of many rules once; [`Corpus::diff`] answers for one rule by index look-ups
//! only, so a rule against the 3,780 SigmaHQ rules costs little more than loading them.
//!
//! Normalisation (two rules are duplicates when it gives the same fingerprint):
//! - the logsource (product, category, service) in lower case;
//! - every item lowered by [`sigil_ir::lower_rule`] (modifiers applied: `Image|endswith: x` is `Image: '*x'`);
//! - field names mapped back to their Sigma names through the logsource's routes (`NewProcessName` on a
//!   `process_creation` rule is `Image`) and compared ignoring ASCII case;
//! - values compared ignoring case unless `cased`, and sorted: the order of values, of items in a selection, of
//!   the maps of a list of maps and of the operands of `and`/`or` does not matter;
//! - search names do not matter: the condition refers to a search by its normalised content.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap;
use serde::Serialize;
use sigil_catalog::IndicatorKey;
use sigil_ir::{Cond, Item, Placeholders, ValueSpec, lower_rule};
use sigil_knowledge::{Knowledge, LogSource};
use sigil_rule::{Document, Rule, RuleSet, SearchBody};

/// A rule as the diff sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleFacts {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// The rule's `title`.
    pub title: String,
    /// The rule file, as shown to users.
    pub path: String,
    /// The normalised detection logic; `None` when the rule cannot be lowered (an unresolved placeholder).
    #[serde(skip)]
    pub fingerprint: Option<String>,
    /// The indicator keys of the rule's detection values (see `sigil_catalog`).
    #[serde(skip)]
    pub indicators: Vec<IndicatorKey>,
    /// ATT&CK technique ids (`T1059.001`), from `attack.t…` tags.
    #[serde(skip)]
    pub techniques: Vec<String>,
    /// Windows events the rule can fire on, as `Provider EventID` (`Sysmon 1`).
    #[serde(skip)]
    pub events: Vec<String>,
}

/// A rule named in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// The rule's `title`.
    pub title: String,
    /// The rule file, as shown to users.
    pub path: String,
}

/// An indicator of the rule and how many corpus rules use it too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedIndicator {
    /// Field name as written; empty for keywords.
    pub field: String,
    /// How the value is matched (the indicator kind's name).
    pub kind: String,
    /// The normalised value.
    pub value: String,
    /// Corpus rules with the same indicator (0: only this rule has it).
    pub count: usize,
}

/// A corpus rule sharing indicators with the rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// The corpus rule.
    pub rule: RuleRef,
    /// Indicators both rules have.
    pub shared: usize,
    /// Shared indicators over the indicators of either rule (Jaccard index, 0 to 1).
    pub similarity: f64,
}

/// What a rule is, compared with the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No corpus rule has its id.
    New,
    /// A corpus rule has its id, with other detection logic.
    Changed,
    /// A corpus rule has its id and the same detection logic.
    Unchanged,
}

/// The answer for one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDiff {
    /// The rule compared.
    pub rule: RuleRef,
    /// Whether it is new, changed or unchanged with respect to the corpus.
    pub status: Status,
    /// Corpus rules (other than the one with the same id) with the same detection logic after normalisation.
    pub duplicates: Vec<RuleRef>,
    /// Every indicator of the rule with its corpus count, most shared first.
    pub indicators: Vec<SharedIndicator>,
    /// ATT&CK techniques of the rule that no corpus rule is tagged with.
    pub new_techniques: Vec<String>,
    /// Events the rule can fire on that no corpus rule can.
    pub new_events: Vec<String>,
    /// Corpus rules sharing the most indicators, most first (at most [`MAX_OVERLAPS`]).
    pub overlaps: Vec<Overlap>,
}

/// Overlapping rules listed per rule.
pub const MAX_OVERLAPS: usize = 5;

/// The facts of every rule of a rule set (detection rules only; files with errors are left out).
pub fn facts(set: &RuleSet, knowledge: &Knowledge) -> Vec<RuleFacts> {
    set.files
        .iter()
        .filter(|f| !f.parsed.has_errors())
        .flat_map(|f| {
            f.parsed.documents.iter().filter_map(move |d| match d {
                Document::Rule(r) => Some(rule_facts(r, &f.display_path, knowledge)),
                _ => None,
            })
        })
        .collect()
}

/// The facts of one rule.
pub fn rule_facts(rule: &Rule, path: &str, knowledge: &Knowledge) -> RuleFacts {
    let mut indicators = BTreeSet::new();
    for s in &rule.detection.searches {
        let items: Vec<&sigil_rule::FieldItem> = match &s.body {
            SearchBody::AllOf(items) => items.iter().collect(),
            SearchBody::AnyOf(groups) => groups.iter().flatten().collect(),
            SearchBody::Keywords(item) => vec![item],
        };
        for item in items {
            for v in &item.values {
                indicators.insert(IndicatorKey::of(item.field.as_deref(), &item.modifiers, &v.kind));
            }
        }
    }
    let mut techniques: Vec<String> = rule
        .meta
        .tags
        .iter()
        .filter(|t| t.namespace.eq_ignore_ascii_case("attack"))
        .filter(|t| {
            let n = t.name.as_bytes();
            matches!(n.first(), Some(b't' | b'T')) && n.get(1).is_some_and(u8::is_ascii_digit)
        })
        .map(|t| t.name.to_ascii_uppercase())
        .collect();
    techniques.sort();
    techniques.dedup();
    let ir = lower_rule(rule, &[], &Placeholders::new()).ok();
    let fields: Vec<&str> = ir.as_ref().map(|ir| ir.fields()).unwrap_or_default();
    let ls = &rule.logsource;
    let logsource = LogSource::new(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref());
    let mut events: Vec<String> =
        knowledge.events_for(&logsource, &fields).iter().map(|e| format!("{} {}", e.provider_display, e.id)).collect();
    events.sort();
    events.dedup();
    RuleFacts {
        id: rule.meta.id.clone(),
        title: rule.meta.title.clone(),
        path: path.to_string(),
        fingerprint: ir.map(|ir| fingerprint(rule, &ir, knowledge)),
        indicators: indicators.into_iter().collect(),
        techniques,
        events,
    }
}

/// The normalised detection logic as one string (see the module documentation).
fn fingerprint(rule: &Rule, ir: &sigil_ir::RuleIr, knowledge: &Knowledge) -> String {
    let ls = &rule.logsource;
    let low = |s: &Option<String>| s.as_deref().unwrap_or("-").to_ascii_lowercase();
    // Event field → Sigma field, from the logsource's routes.
    let mut back: FxHashMap<String, String> = FxHashMap::default();
    if let Some(routes) = knowledge.routes(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref()) {
        for r in routes {
            for (sigma, event) in r.field_mappings() {
                back.entry(event.to_ascii_lowercase()).or_insert_with(|| sigma.to_ascii_lowercase());
            }
        }
    }
    let field = |f: &str| {
        let f = f.to_ascii_lowercase();
        back.get(&f).cloned().unwrap_or(f)
    };
    let searches: Vec<String> = ir
        .searches
        .iter()
        .map(|s| {
            let mut groups: Vec<String> = s
                .groups
                .iter()
                .map(|g| {
                    let mut items: Vec<String> = g.iter().map(|i| item_text(i, &field)).collect();
                    items.sort();
                    items.dedup();
                    format!("({})", items.join(" & "))
                })
                .collect();
            groups.sort();
            groups.dedup();
            format!("[{}]", groups.join(" | "))
        })
        .collect();
    format!(
        "{}/{}/{} :: {}",
        low(&ls.product),
        low(&ls.category),
        low(&ls.service),
        cond_text(&ir.condition(), &searches)
    )
}

fn item_text(i: &Item, field: &dyn Fn(&str) -> String) -> String {
    let mut values: Vec<String> = i.values.iter().map(|v| value_text(v, field)).collect();
    values.sort();
    values.dedup();
    let f = i.field.as_deref().map(field).unwrap_or_else(|| "*keywords*".into());
    format!("{f}{}{}={{{}}}", if i.all { "|all" } else { "" }, if i.negated { "|neq" } else { "" }, values.join(","))
}

fn value_text(v: &ValueSpec, field: &dyn Fn(&str) -> String) -> String {
    match v {
        ValueSpec::Patterns { alternatives, cased } => {
            let mut alts: Vec<String> = alternatives
                .iter()
                .map(|p| if *cased { format!("cased:{}", p.to_sigma()) } else { p.to_sigma().to_lowercase() })
                .collect();
            alts.sort();
            alts.dedup();
            alts.join("/")
        }
        ValueSpec::FieldRef { field: f, position, cased } => format!("ref:{}:{position:?}:{cased}", field(f)),
        other => format!("{other:?}"),
    }
}

fn cond_text(c: &Cond, searches: &[String]) -> String {
    match c {
        Cond::Search(i) => searches.get(*i).cloned().unwrap_or_default(),
        Cond::Not(inner) => format!("not {}", cond_text(inner, searches)),
        Cond::Const(b) => b.to_string(),
        Cond::And(xs) | Cond::Or(xs) => {
            let mut parts: Vec<String> = xs.iter().map(|x| cond_text(x, searches)).collect();
            parts.sort();
            parts.dedup();
            if parts.len() == 1 {
                return parts.pop().unwrap_or_default();
            }
            let op = if matches!(c, Cond::And(_)) { " and " } else { " or " };
            format!("({})", parts.join(op))
        }
    }
}

/// The facts of a corpus, indexed.
#[derive(Debug)]
pub struct Corpus {
    rules: Vec<RuleFacts>,
    by_fingerprint: FxHashMap<String, Vec<usize>>,
    by_indicator: FxHashMap<IndicatorKey, Vec<usize>>,
    techniques: FxHashMap<String, usize>,
    events: FxHashMap<String, usize>,
}

impl Corpus {
    /// Indexes the facts of the corpus rules (by fingerprint, indicator, technique and event).
    pub fn new(rules: Vec<RuleFacts>) -> Corpus {
        let mut c = Corpus {
            by_fingerprint: FxHashMap::default(),
            by_indicator: FxHashMap::default(),
            techniques: FxHashMap::default(),
            events: FxHashMap::default(),
            rules: Vec::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            if let Some(f) = &r.fingerprint {
                c.by_fingerprint.entry(f.clone()).or_default().push(i);
            }
            for k in &r.indicators {
                c.by_indicator.entry(k.clone()).or_default().push(i);
            }
            for t in &r.techniques {
                *c.techniques.entry(t.clone()).or_default() += 1;
            }
            for e in &r.events {
                *c.events.entry(e.clone()).or_default() += 1;
            }
        }
        c.rules = rules;
        c
    }

    /// Number of corpus rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the corpus has no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Compares one rule with the corpus. A corpus rule with the rule's id (or at its path) is the rule's old
    /// version: it decides [`Status`] and is otherwise left out, so a changed rule is not its own duplicate.
    pub fn diff(&self, rule: &RuleFacts) -> RuleDiff {
        let same =
            |i: usize| self.rules.get(i).is_some_and(|c| (c.id.is_some() && c.id == rule.id) || c.path == rule.path);
        let old: Vec<usize> = (0..self.rules.len()).filter(|i| same(*i)).collect();
        let status = match old.first().and_then(|i| self.rules.get(*i)) {
            None => Status::New,
            Some(o) if o.fingerprint.is_some() && o.fingerprint == rule.fingerprint => Status::Unchanged,
            Some(_) => Status::Changed,
        };
        let others = |ids: &[usize]| ids.iter().copied().filter(|i| !old.contains(i)).collect::<Vec<_>>();
        let duplicates = rule
            .fingerprint
            .as_ref()
            .and_then(|f| self.by_fingerprint.get(f))
            .map(|ids| others(ids).into_iter().filter_map(|i| self.rule_ref(i)).collect())
            .unwrap_or_default();
        // Indicators with their counts, and per corpus rule the number shared.
        let mut shared_with: BTreeMap<usize, usize> = BTreeMap::new();
        let mut indicators: Vec<SharedIndicator> = rule
            .indicators
            .iter()
            .map(|k| {
                let users = self.by_indicator.get(k).map(|ids| others(ids)).unwrap_or_default();
                for i in &users {
                    *shared_with.entry(*i).or_default() += 1;
                }
                SharedIndicator {
                    field: k.field.clone(),
                    kind: k.kind.as_str().to_string(),
                    value: k.value.clone(),
                    count: users.len(),
                }
            })
            .collect();
        indicators.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| (&a.field, &a.value).cmp(&(&b.field, &b.value))));
        let mut overlaps: Vec<Overlap> = shared_with
            .into_iter()
            .filter_map(|(i, shared)| {
                let other = self.rules.get(i)?;
                let union = rule.indicators.len() + other.indicators.len() - shared;
                Some(Overlap {
                    rule: self.rule_ref(i)?,
                    shared,
                    similarity: if union == 0 { 0.0 } else { shared as f64 / union as f64 },
                })
            })
            .collect();
        overlaps.sort_by(|a, b| {
            b.shared
                .cmp(&a.shared)
                .then(b.similarity.total_cmp(&a.similarity))
                .then_with(|| a.rule.path.cmp(&b.rule.path))
        });
        overlaps.truncate(MAX_OVERLAPS);
        // A changed rule's old version does not count as covering its techniques and events.
        let old_rules: Vec<&RuleFacts> = old.iter().filter_map(|i| self.rules.get(*i)).collect();
        let not_covered = |counts: &FxHashMap<String, usize>, x: &String, of: fn(&RuleFacts) -> &Vec<String>| {
            let in_old = old_rules.iter().filter(|r| of(r).contains(x)).count();
            counts.get(x).copied().unwrap_or(0) <= in_old
        };
        let new_techniques =
            rule.techniques.iter().filter(|t| not_covered(&self.techniques, t, |r| &r.techniques)).cloned().collect();
        let new_events = rule.events.iter().filter(|e| not_covered(&self.events, e, |r| &r.events)).cloned().collect();
        RuleDiff {
            rule: RuleRef { id: rule.id.clone(), title: rule.title.clone(), path: rule.path.clone() },
            status,
            duplicates,
            indicators,
            new_techniques,
            new_events,
            overlaps,
        }
    }

    fn rule_ref(&self, i: usize) -> Option<RuleRef> {
        self.rules.get(i).map(|r| RuleRef { id: r.id.clone(), title: r.title.clone(), path: r.path.clone() })
    }
}

/// Markdown for a pull-request comment: one section per rule.
pub fn markdown(diffs: &[RuleDiff], corpus_rules: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "## sigil diff\n\n{} rule(s) compared with {corpus_rules} corpus rules.\n", diffs.len());
    for d in diffs {
        let _ = writeln!(out, "### {} (`{}`) — {}\n", md(&d.rule.title), md(&d.rule.path), status_text(d.status));
        if d.duplicates.is_empty() {
            let _ = writeln!(out, "- Duplicates: none");
        } else {
            let _ = writeln!(out, "- **Duplicates** (same detection logic):");
            for r in &d.duplicates {
                let _ = writeln!(out, "  - {} (`{}`)", md(&r.title), md(&r.path));
            }
        }
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        let _ = writeln!(out, "- New ATT&CK techniques: {}", list(&d.new_techniques));
        let _ = writeln!(out, "- New events: {}", list(&d.new_events));
        if !d.overlaps.is_empty() {
            let _ = writeln!(out, "- Overlaps most with:");
            for o in &d.overlaps {
                let _ = writeln!(
                    out,
                    "  - {} (`{}`): {} shared indicator(s)",
                    md(&o.rule.title),
                    md(&o.rule.path),
                    o.shared
                );
            }
        }
        if !d.indicators.is_empty() {
            let _ = writeln!(out, "\n| field | kind | value | corpus rules |\n|---|---|---|---|");
            for i in &d.indicators {
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}` | {} |",
                    md(&i.field),
                    i.kind,
                    i.value.replace('`', "'").replace('|', "\\|"),
                    i.count
                );
            }
        }
        out.push('\n');
    }
    out
}

/// Plain text for a terminal.
pub fn text(diffs: &[RuleDiff], corpus_rules: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for d in diffs {
        let _ = writeln!(out, "{} ({}) — {}", d.rule.title, d.rule.path, status_text(d.status));
        match d.duplicates.as_slice() {
            [] => {
                let _ = writeln!(out, "  duplicates: none among {corpus_rules} corpus rules");
            }
            dups => {
                for r in dups {
                    let _ = writeln!(out, "  DUPLICATE of {} ({})", r.title, r.path);
                }
            }
        }
        let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(", ") };
        let _ = writeln!(out, "  new ATT&CK techniques: {}", list(&d.new_techniques));
        let _ = writeln!(out, "  new events: {}", list(&d.new_events));
        for o in &d.overlaps {
            let _ = writeln!(out, "  overlaps {} ({}): {} shared indicator(s)", o.rule.title, o.rule.path, o.shared);
        }
        for i in &d.indicators {
            let field = if i.field.is_empty() { "(keyword)" } else { &i.field };
            let _ = writeln!(out, "  indicator {field} {} '{}': {} corpus rule(s)", i.kind, i.value, i.count);
        }
    }
    out
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::New => "new rule",
        Status::Changed => "changed rule",
        Status::Unchanged => "unchanged rule",
    }
}

/// Text safe in a Markdown table cell or list item.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;").replace('\n', " ")
}
