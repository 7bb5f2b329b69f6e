//! Rule → compiled rule: the rule's IR ([`sigil_ir::lower_rule`], the same the query converters render) with
//! its searches as item matchers, and the literals the prefilter needs.

use sigil_ir::{Cond, Item, Placeholders, RuleError, RuleIr, ValueSpec, lower_rule};
use sigil_rule::{FilterRule, Level, Rule};

use crate::fold::fold;
use crate::matcher::{FieldMap, ItemMatcher, MatcherError};
use crate::prepared::Prepared;

/// Why a rule could not be compiled; the rule is skipped and reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The rule could not be lowered to the IR (an unresolved placeholder, a modifier combination the IR refuses,
    /// a condition naming no search, no condition).
    #[error(transparent)]
    Lower(#[from] RuleError),
    /// A value could not become a matcher (a regular expression that does not compile).
    #[error(transparent)]
    Matcher(#[from] MatcherError),
}

#[derive(Debug, Clone)]
pub(crate) enum SearchMatcher {
    /// Every item must match.
    All(Box<[ItemMatcher]>),
    /// Any group must match, each an AND of items.
    Any(Box<[Box<[ItemMatcher]>]>),
}

impl SearchMatcher {
    fn matches(&self, ev: &Prepared, map: FieldMap<'_>) -> bool {
        match self {
            SearchMatcher::All(items) => items.iter().all(|i| i.matches(ev, map)),
            SearchMatcher::Any(groups) => groups.iter().any(|g| g.iter().all(|i| i.matches(ev, map))),
        }
    }
}

/// What a rule says about itself, for output.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// The rule's unique `name`, by which correlations may reference it.
    pub name: Option<String>,
    /// `title`.
    pub title: String,
    /// `level`, when valid.
    pub level: Option<Level>,
    /// `tags` as written.
    pub tags: Vec<String>,
    /// The file the rule came from, as shown to users.
    pub path: String,
    /// The logsource (routing picks the events the rule sees from it).
    pub logsource: sigil_rule::Logsource,
}

/// One compiled rule. Immutable after compilation and shared by every worker.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// What the rule says about itself.
    pub info: RuleInfo,
    /// The lowered rule the matchers were built from: its searches (the rule's, then those of the meta filters
    /// that apply), the rule's condition and each filter's (each must hold to keep a detection), in the order
    /// given. Converters render the same IR.
    pub ir: RuleIr,
    /// Sigma field names the rule reads, indexed by the rule-local index the matchers use.
    pub(crate) fields: Vec<String>,
    /// One matcher per search of [`CompiledRule::ir`], in the same order.
    searches: Vec<SearchMatcher>,
    /// Folded literals of which at least one occurs in every event the rule matches; `None` when no such set is
    /// known (the rule is then evaluated on every event of its routes).
    pub(crate) required: Option<Vec<ReqLit>>,
    /// A second set of folded literals, from another operand of the condition's top-level AND than
    /// [`CompiledRule::required`]'s: every event the rule matches holds one of these too, so the prefilter evaluates
    /// the rule only when both sets have a hit. `None` when the condition has no second such operand.
    pub(crate) also_required: Option<Vec<ReqLit>>,
    /// `(rule-local index of EventID, ids)`: every event the rule matches has one of these event ids. Lets a bucket
    /// for another event id leave the rule out altogether.
    pub(crate) event_ids: Option<(u16, Vec<u32>)>,
    /// Whether a search is a keyword search (reads every value of the event).
    pub(crate) keywords: bool,
    /// Fields shown as the detection's key fields (the rule's non-filter fields, in rule order).
    pub(crate) key_fields: Vec<u16>,
}

impl CompiledRule {
    /// A rule that matches no event by itself: the output identity of a correlation rule.
    pub(crate) fn shell(info: RuleInfo) -> CompiledRule {
        CompiledRule {
            info,
            ir: RuleIr { searches: Vec::new(), detection: Cond::Const(false), filters: Vec::new() },
            fields: Vec::new(),
            searches: Vec::new(),
            required: Some(Vec::new()),
            also_required: None,
            event_ids: None,
            keywords: false,
            key_fields: Vec::new(),
        }
    }

    /// Whether this is the identity of a correlation rule (raised by [`crate::hunt()`] after the last event).
    pub fn is_correlation(&self) -> bool {
        self.searches.is_empty() && matches!(self.ir.detection, Cond::Const(false))
    }

    /// Whether the prepared event matches, reading fields through `map` (rule-local index → interned id): the
    /// rule's condition and every filter's. When the rule's own condition holds but a filter removes the event,
    /// calls `removed` with the (local) index of each filter that did.
    pub(crate) fn matches_filtered(&self, ev: &Prepared, map: FieldMap<'_>, removed: &mut dyn FnMut(usize)) -> bool {
        if !self.eval(&self.ir.detection, ev, map) {
            return false;
        }
        let mut kept = true;
        for (i, f) in self.ir.filters.iter().enumerate() {
            if !self.eval(f, ev, map) {
                removed(i);
                kept = false;
            }
        }
        kept
    }

    /// Whether search `i` (an index into the searches of [`CompiledRule::ir`]) matches, by the very matcher the
    /// hunt uses.
    pub(crate) fn search_matches(&self, i: usize, ev: &Prepared, map: FieldMap<'_>) -> bool {
        self.searches.get(i).is_some_and(|s| s.matches(ev, map))
    }

    fn eval(&self, c: &Cond, ev: &Prepared, map: FieldMap<'_>) -> bool {
        match c {
            Cond::Search(i) => self.searches.get(*i).is_some_and(|s| s.matches(ev, map)),
            Cond::Not(inner) => !self.eval(inner, ev, map),
            Cond::And(items) => items.iter().all(|x| self.eval(x, ev, map)),
            Cond::Or(items) => items.iter().any(|x| self.eval(x, ev, map)),
            Cond::Const(b) => *b,
        }
    }

    /// The prefilter's literals: one of them, `(Sigma field or None for any value, folded literal)`, occurs in every
    /// event the rule matches. `None` when the rule has no such set and is evaluated on every event it is routed.
    pub fn required_literals(&self) -> Option<Vec<(Option<&str>, &str)>> {
        self.required.as_ref().map(|r| {
            r.iter()
                .map(|l| (l.field.and_then(|f| self.fields.get(f as usize)).map(String::as_str), l.lit.as_str()))
                .collect()
        })
    }

    /// Sigma field names the rule reads.
    pub fn field_names(&self) -> &[String] {
        &self.fields
    }
}

/// Compiles a rule, with the meta filters that apply to it (each filter's condition must hold beside the rule's,
/// as pySigma applies them): lowers it with [`sigil_ir::lower_rule`], then builds a matcher per search.
///
/// # Errors
/// A [`CompileError`] when a value cannot be lowered (unresolved placeholder, ...) or a matcher cannot be built.
pub fn compile_rule(
    rule: &Rule,
    path: &str,
    filters: &[&FilterRule],
    placeholders: &Placeholders,
) -> Result<CompiledRule, CompileError> {
    let ir = lower_rule(rule, filters, placeholders)?;
    let mut fields: Vec<String> = Vec::new();
    let mut key: Vec<u16> = Vec::new();
    let mut searches = Vec::with_capacity(ir.searches.len());
    // Per search: its required literal set, the sets each required by it (see `conjuncts`) and the EventID values
    // it requires.
    let mut required: Vec<ReqSet> = Vec::with_capacity(ir.searches.len());
    let mut required_each: Vec<Vec<Vec<ReqLit>>> = Vec::with_capacity(ir.searches.len());
    let mut ids: Vec<Option<Vec<u32>>> = Vec::with_capacity(ir.searches.len());
    for s in &ir.searches {
        // Key fields are the rule's own, not those of its `filter*` searches or of meta filters.
        let is_filter = s.filter.is_some() || s.name.starts_with("filter");
        let mut compiled: Vec<Box<[ItemMatcher]>> = Vec::with_capacity(s.groups.len());
        for g in &s.groups {
            let mut ms = Vec::with_capacity(g.len());
            for item in g {
                ms.push(ItemMatcher::new(item, &mut |name| {
                    let i = field_index(&mut fields, name);
                    if !is_filter && !key.contains(&i) {
                        key.push(i);
                    }
                    i
                })?);
            }
            // Cheap items first: AND is commutative, and most events fail on the first item.
            ms.sort_by_key(ItemMatcher::cost);
            compiled.push(ms.into());
        }
        required.push(group_required(&s.groups, &fields));
        required_each.push(match s.groups.as_slice() {
            // One group is an AND of its items: each item's set is required.
            [group] => group.iter().filter_map(|i| item_required(i, &fields)).collect(),
            _ => required.last().cloned().flatten().into_iter().collect(),
        });
        ids.push(s.groups.iter().map(|g| g.iter().find_map(item_ids)).collect::<Option<Vec<_>>>().map(|sets| {
            let mut all: Vec<u32> = sets.into_iter().flatten().collect();
            all.sort_unstable();
            all.dedup();
            all
        }));
        searches.push(match compiled.len() {
            1 => SearchMatcher::All(compiled.into_iter().next().unwrap_or_default()),
            _ => SearchMatcher::Any(compiled.into()),
        });
    }
    // The prefilter's literals and event ids come from the rule's condition alone: every event the filtered rule
    // matches also matches that, so they stay sound.
    let also_required = second_required(&ir.detection, &required, &required_each);
    let required = required_literals(&ir.detection, &required);
    let event_ids = fields
        .iter()
        .position(|f| f == "EventID")
        .and_then(|i| required_ids(&ir.detection, &ids).map(|ids| (i as u16, ids)));
    let info = RuleInfo {
        id: rule.meta.id.clone(),
        name: rule.meta.name.clone(),
        title: rule.meta.title.clone(),
        level: rule.meta.level,
        tags: rule.meta.tags.iter().map(sigil_rule::Tag::full).collect(),
        path: path.to_string(),
        logsource: rule.logsource.clone(),
    };
    Ok(CompiledRule {
        info,
        keywords: ir.has_keywords(),
        ir,
        fields,
        searches,
        required,
        also_required,
        event_ids,
        key_fields: key,
    })
}

/// The rule-local index of a field, added on first use.
fn field_index(fields: &mut Vec<String>, name: &str) -> u16 {
    if let Some(i) = fields.iter().position(|f| f == name) {
        return i as u16;
    }
    fields.push(name.to_string());
    (fields.len() - 1) as u16
}

// ---------------------------------------------------------------------------------------------------------------
// Required literals (the prefilter's input)
//
// A set S of (field, literal) pairs is "required" by an expression when every event that satisfies the expression
// has, for at least one member, the folded literal inside the folded text of that field (read exactly as the
// matcher reads it), or inside any value of the event for keyword literals (field `None`). `None` means no such
// set is known.

/// A literal one of which a rule needs, and where.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ReqLit {
    /// Rule-local field index; `None` for keywords (any value of the event).
    pub(crate) field: Option<u16>,
    /// Folded literal, never empty.
    pub(crate) lit: String,
}

type ReqSet = Option<Vec<ReqLit>>;

/// Lower is better: a set of a few long literals rarely occurs by chance.
fn score(set: &[ReqLit]) -> f64 {
    set.iter()
        .map(|s| {
            let len = s.lit.chars().count().min(12) as f64;
            // A keyword literal is searched in every value, so it is worth less than one in a single field.
            let wide = if s.field.is_none() { 4.0 } else { 1.0 };
            wide / len.powi(3)
        })
        .sum()
}

fn best(sets: impl IntoIterator<Item = ReqSet>) -> ReqSet {
    sets.into_iter().flatten().min_by(|a, b| score(a).total_cmp(&score(b)))
}

fn union(sets: impl IntoIterator<Item = ReqSet>) -> ReqSet {
    let mut out: Vec<ReqLit> = Vec::new();
    let mut seen: rustc_hash::FxHashSet<ReqLit> = rustc_hash::FxHashSet::default();
    for s in sets {
        for l in s? {
            if seen.insert(l.clone()) {
                out.push(l);
            }
        }
    }
    Some(out)
}

fn item_required(item: &Item, fields: &[String]) -> ReqSet {
    if item.negated {
        return None;
    }
    let field = match &item.field {
        Some(name) => Some(fields.iter().position(|f| f == name)? as u16),
        None => None,
    };
    let per_value = item.values.iter().map(|v| match v {
        ValueSpec::Patterns { alternatives, .. } => union(alternatives.iter().map(|p| {
            let longest = p
                .parts
                .iter()
                .filter_map(|x| match x {
                    sigil_ir::Part::Literal(s) => Some(fold(s)),
                    _ => None,
                })
                .max_by_key(String::len)?;
            (!longest.is_empty()).then(|| vec![ReqLit { field, lit: longest }])
        })),
        ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
            regex_required(pattern, *ignore_case, *multi_line, *dot_all)
                .map(|lits| lits.into_iter().map(|lit| ReqLit { field, lit }).collect())
        }
        _ => None,
    });
    if item.all { best(per_value) } else { union(per_value) }
}

/// Literals one of which every match of the regex contains (folded), from its prefixes or suffixes, whichever
/// set is more selective; `None` when a match can start and end with anything.
fn regex_required(pattern: &str, ignore_case: bool, multi_line: bool, dot_all: bool) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(ignore_case)
        .multi_line(multi_line)
        .dot_matches_new_line(dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let mut sets = Vec::new();
    for kind in [ExtractKind::Prefix, ExtractKind::Suffix] {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let Some(lits) = seq.literals() else { continue };
        let mut out: Vec<String> = Vec::with_capacity(lits.len());
        let mut usable = !lits.is_empty();
        for l in lits {
            let bytes = l.as_bytes();
            // A literal cut inside a character keeps its valid part: any part of a required literal is required.
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(e) => std::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default(),
            };
            let folded = fold(text);
            if folded.is_empty() {
                usable = false;
                break;
            }
            if !out.contains(&folded) {
                out.push(folded);
            }
        }
        if usable {
            sets.push(Some(out.into_iter().map(|lit| ReqLit { field: Some(0), lit }).collect::<Vec<_>>()));
        }
    }
    best(sets).map(|set| set.into_iter().map(|l| l.lit).collect())
}

fn group_required(groups: &[Vec<Item>], fields: &[String]) -> ReqSet {
    union(groups.iter().map(|g| best(g.iter().map(|i| item_required(i, fields)))))
}

/// The event ids an item requires: `EventID: 4624` or `EventID: [4624, 4625]` (plain numbers, not negated).
fn item_ids(item: &Item) -> Option<Vec<u32>> {
    if item.field.as_deref() != Some("EventID") || item.negated || (item.all && item.values.len() > 1) {
        return None;
    }
    item.values
        .iter()
        .map(|v| match v {
            ValueSpec::Number(n) if n.fract() == 0.0 && *n >= 0.0 && *n <= f64::from(u32::MAX) => Some(*n as u32),
            _ => None,
        })
        .collect()
}

fn required_ids(c: &Cond, searches: &[Option<Vec<u32>>]) -> Option<Vec<u32>> {
    match c {
        Cond::Search(i) => searches.get(*i).cloned().flatten(),
        Cond::Not(_) | Cond::Const(true) => None,
        Cond::Const(false) => Some(Vec::new()),
        Cond::And(items) => items.iter().filter_map(|x| required_ids(x, searches)).min_by_key(Vec::len),
        Cond::Or(items) => {
            let mut all = Vec::new();
            for x in items.iter() {
                all.extend(required_ids(x, searches)?);
            }
            all.sort_unstable();
            all.dedup();
            Some(all)
        }
    }
}

/// Sets each of which is required by `c` (every event satisfying `c` holds a literal of each): the operands of its
/// top-level AND, through searches of one group (an AND of items) too. `required_each` holds a search's sets.
fn conjuncts(c: &Cond, searches: &[ReqSet], required_each: &[Vec<Vec<ReqLit>>], out: &mut Vec<Vec<ReqLit>>) {
    match c {
        Cond::Search(i) => out.extend(required_each.get(*i).into_iter().flatten().cloned()),
        Cond::And(items) => items.iter().for_each(|x| conjuncts(x, searches, required_each, out)),
        Cond::Or(_) => out.extend(required_literals(c, searches)),
        Cond::Not(_) | Cond::Const(_) => {}
    }
}

/// The best required set of `c` other than [`required_literals`]'s, from another operand of its top-level AND;
/// `None` when there is none (or it would hold an empty literal).
fn second_required(c: &Cond, searches: &[ReqSet], required_each: &[Vec<Vec<ReqLit>>]) -> ReqSet {
    let first = required_literals(c, searches)?;
    let mut sets = Vec::new();
    conjuncts(c, searches, required_each, &mut sets);
    // Leave out the first set and any set holding all its literals (a hit of the first is a hit of it: no tighter),
    // empty sets, and sets with a literal shorter than the prefilter's anchor: those occur often, and a field
    // scanned for one takes the prefilter's slower path (`crate::literals`).
    sets.retain(|s| {
        !s.is_empty()
            && !first.iter().all(|l| s.contains(l))
            && s.iter().all(|l| l.lit.len() >= crate::literals::ANCHOR)
    });
    best(sets.into_iter().map(Some))
}

fn required_literals(c: &Cond, searches: &[ReqSet]) -> ReqSet {
    match c {
        Cond::Search(i) => searches.get(*i).cloned().flatten(),
        Cond::Not(_) | Cond::Const(true) => None,
        Cond::Const(false) => Some(Vec::new()),
        Cond::And(items) => best(items.iter().map(|x| required_literals(x, searches))),
        Cond::Or(items) => union(items.iter().map(|x| required_literals(x, searches))),
    }
}
