//! Rule → compiled rule: searches as item matchers, the condition as a boolean tree over them, and the literals
//! the prefilter needs.

use sigil_rule::{Detection, Expr, FilterRule, Level, Quantifier, Rule, SearchBody};

use crate::fold::fold;
use crate::ir::{Item, LowerError, Placeholders, ValueSpec, lower_item};
use crate::matcher::{FieldMap, ItemMatcher, MatcherError};
use crate::prepared::Prepared;

/// Why a rule could not be compiled; the rule is skipped and reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The rule could not be lowered to the IR (an unresolved placeholder, a modifier combination the IR refuses).
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// A value could not become a matcher (a regular expression that does not compile).
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    /// The condition names a search identifier the detection does not define.
    #[error("the condition names '{0}', which the detection does not define")]
    UnknownIdentifier(String),
    /// The detection has no `condition`.
    #[error("the detection has no condition")]
    NoCondition,
}

/// A rule's condition, over search indexes.
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Search(u16),
    Not(Box<Cond>),
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
    Const(bool),
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
    /// Sigma field names the rule reads, indexed by the rule-local index the matchers use.
    pub(crate) fields: Vec<String>,
    searches: Vec<SearchMatcher>,
    condition: Cond,
    /// The conditions of the meta filters that apply (each must hold to keep a detection), in the order given.
    filters: Box<[Cond]>,
    /// Folded literals of which at least one occurs in every event the rule matches; `None` when no such set is
    /// known (the rule is then evaluated on every event of its routes).
    pub(crate) required: Option<Vec<ReqLit>>,
    /// `(rule-local index of EventID, ids)`: every event the rule matches has one of these event ids. Lets a bucket
    /// for another event id leave the rule out altogether.
    pub(crate) event_ids: Option<(u16, Vec<u32>)>,
    /// Whether a search is a keyword search (reads every value of the event).
    pub(crate) keywords: bool,
    /// Fields shown as the detection's key fields (the rule's non-filter fields, in rule order).
    pub(crate) key_fields: Vec<u16>,
    /// The lowered items, search by search, for converters and for explaining a rule.
    pub items: Vec<(String, Vec<Vec<Item>>)>,
    /// The modifiers of each item as written (`contains`, `all`, ...), parallel to [`CompiledRule::items`]: the
    /// lowered items have them applied, an explanation names them.
    pub(crate) modifiers: Vec<Vec<Vec<Box<[&'static str]>>>>,
}

impl CompiledRule {
    /// A rule that matches no event by itself: the output identity of a correlation rule.
    pub(crate) fn shell(info: RuleInfo) -> CompiledRule {
        CompiledRule {
            info,
            fields: Vec::new(),
            searches: Vec::new(),
            condition: Cond::Const(false),
            filters: Box::new([]),
            required: Some(Vec::new()),
            event_ids: None,
            keywords: false,
            key_fields: Vec::new(),
            items: Vec::new(),
            modifiers: Vec::new(),
        }
    }

    /// Whether this is the identity of a correlation rule (raised by [`crate::hunt()`] after the last event).
    pub fn is_correlation(&self) -> bool {
        self.searches.is_empty() && matches!(self.condition, Cond::Const(false))
    }

    /// Whether the prepared event matches, reading fields through `map` (rule-local index → interned id): the
    /// rule's condition and every filter's. When the rule's own condition holds but a filter removes the event,
    /// calls `removed` with the (local) index of each filter that did.
    pub(crate) fn matches_filtered(&self, ev: &Prepared, map: FieldMap<'_>, removed: &mut dyn FnMut(usize)) -> bool {
        if !self.eval(&self.condition, ev, map) {
            return false;
        }
        let mut kept = true;
        for (i, f) in self.filters.iter().enumerate() {
            if !self.eval(f, ev, map) {
                removed(i);
                kept = false;
            }
        }
        kept
    }

    /// Whether search `i` (an index into [`CompiledRule::items`]) matches, by the very matcher the hunt uses.
    pub(crate) fn search_matches(&self, i: usize, ev: &Prepared, map: FieldMap<'_>) -> bool {
        self.searches.get(i).is_some_and(|s| s.matches(ev, map))
    }

    fn eval(&self, c: &Cond, ev: &Prepared, map: FieldMap<'_>) -> bool {
        match c {
            Cond::Search(i) => self.searches.get(*i as usize).is_some_and(|s| s.matches(ev, map)),
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

/// Compiles a rule, with the meta filters that apply to it (their conditions are AND-ed to the rule's, as
/// pySigma does).
///
/// # Errors
/// A [`CompileError`] when a value cannot be lowered (unresolved placeholder, ...) or a matcher cannot be built.
pub fn compile_rule(
    rule: &Rule,
    path: &str,
    filters: &[&FilterRule],
    placeholders: &Placeholders,
) -> Result<CompiledRule, CompileError> {
    let mut b = Builder {
        fields: Vec::new(),
        searches: Vec::new(),
        required: Vec::new(),
        ids: Vec::new(),
        items: Vec::new(),
        modifiers: Vec::new(),
        key: Vec::new(),
    };
    let condition = b.detection(&rule.detection, placeholders, "")?;
    // Filters stay apart from the rule's own condition, so the hunt can tell which filter removed a detection.
    // The prefilter's literals and event ids come from the rule's condition alone: every event the filtered rule
    // matches also matches that, so they stay sound.
    let mut filter_conds = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        filter_conds.push(b.detection(&f.detection, placeholders, &format!("_filter{i}_"))?);
    }
    let required = required_literals(&condition, &b.required);
    let event_ids = b
        .fields
        .iter()
        .position(|f| f == "EventID")
        .and_then(|i| required_ids(&condition, &b.ids).map(|ids| (i as u16, ids)));
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
        fields: b.fields,
        searches: b.searches,
        condition,
        filters: filter_conds.into(),
        required,
        event_ids,
        keywords: b.items.iter().any(|(_, groups)| groups.iter().flatten().any(|i| i.field.is_none())),
        key_fields: b.key,
        items: b.items,
        modifiers: b.modifiers,
    })
}

struct Builder {
    fields: Vec<String>,
    searches: Vec<SearchMatcher>,
    /// Per search: its required literal set.
    required: Vec<ReqSet>,
    /// Per search: the EventID values it requires.
    ids: Vec<Option<Vec<u32>>>,
    items: Vec<(String, Vec<Vec<Item>>)>,
    modifiers: Vec<Vec<Vec<Box<[&'static str]>>>>,
    key: Vec<u16>,
}

impl Builder {
    fn field_index(fields: &mut Vec<String>, name: &str) -> u16 {
        if let Some(i) = fields.iter().position(|f| f == name) {
            return i as u16;
        }
        fields.push(name.to_string());
        (fields.len() - 1) as u16
    }

    fn detection(&mut self, det: &Detection, placeholders: &Placeholders, prefix: &str) -> Result<Cond, CompileError> {
        let base = self.searches.len();
        let names: Vec<&str> = det.searches.iter().map(|s| s.name.as_str()).collect();
        for s in &det.searches {
            let groups: Vec<&[sigil_rule::FieldItem]> = match &s.body {
                SearchBody::AllOf(items) => vec![items.as_slice()],
                SearchBody::AnyOf(groups) => groups.iter().map(Vec::as_slice).collect(),
                SearchBody::Keywords(item) => vec![std::slice::from_ref(item)],
            };
            let is_filter = s.name.starts_with("filter") || !prefix.is_empty();
            let mut lowered: Vec<Vec<Item>> = Vec::with_capacity(groups.len());
            let mut compiled: Vec<Box<[ItemMatcher]>> = Vec::with_capacity(groups.len());
            let mut modifiers = Vec::with_capacity(groups.len());
            for g in groups {
                modifiers.push(g.iter().map(|fi| fi.modifiers.iter().map(|m| m.name()).collect()).collect());
                let mut items = Vec::with_capacity(g.len());
                let mut ms = Vec::with_capacity(g.len());
                for fi in g {
                    let item = lower_item(fi, placeholders)?;
                    let fields = &mut self.fields;
                    let key = &mut self.key;
                    let m = ItemMatcher::new(&item, &mut |name| {
                        let i = Builder::field_index(fields, name);
                        if !is_filter && !key.contains(&i) {
                            key.push(i);
                        }
                        i
                    })
                    .map_err(CompileError::Matcher)?;
                    items.push(item);
                    ms.push(m);
                }
                // Cheap items first: AND is commutative, and most events fail on the first item.
                ms.sort_by_key(ItemMatcher::cost);
                lowered.push(items);
                compiled.push(ms.into());
            }
            let required = group_required(&lowered, &self.fields);
            self.required.push(required);
            self.ids.push(lowered.iter().map(|g| g.iter().find_map(item_ids)).collect::<Option<Vec<_>>>().map(
                |sets| {
                    let mut all: Vec<u32> = sets.into_iter().flatten().collect();
                    all.sort_unstable();
                    all.dedup();
                    all
                },
            ));
            self.items.push((format!("{prefix}{}", s.name), lowered));
            self.modifiers.push(modifiers);
            self.searches.push(match compiled.len() {
                1 => SearchMatcher::All(compiled.into_iter().next().unwrap_or_default()),
                _ => SearchMatcher::Any(compiled.into()),
            });
        }
        let mut conds = Vec::with_capacity(det.conditions.len());
        for c in &det.conditions {
            conds.push(cond(&c.expr, &names, base)?);
        }
        match conds.len() {
            0 => Err(CompileError::NoCondition),
            1 => Ok(conds.pop().unwrap_or(Cond::Const(false))),
            _ => Ok(Cond::Or(conds.into())),
        }
    }
}

fn cond(e: &Expr, names: &[&str], base: usize) -> Result<Cond, CompileError> {
    Ok(match e {
        Expr::Ident { name, .. } => {
            let i =
                names.iter().position(|n| n == name).ok_or_else(|| CompileError::UnknownIdentifier(name.clone()))?;
            Cond::Search((base + i) as u16)
        }
        Expr::Selector { quantifier, pattern, .. } => {
            let picked: Vec<Cond> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| pattern.matches(n))
                .map(|(i, _)| Cond::Search((base + i) as u16))
                .collect();
            // The parser reports a pattern that selects nothing; should one get here, it matches nothing.
            if picked.is_empty() {
                Cond::Const(false)
            } else if picked.len() == 1 {
                picked.into_iter().next().unwrap_or(Cond::Const(false))
            } else {
                match quantifier {
                    Quantifier::One => Cond::Or(picked.into()),
                    Quantifier::All => Cond::And(picked.into()),
                }
            }
        }
        Expr::Not(inner) => Cond::Not(Box::new(cond(inner, names, base)?)),
        Expr::And(items) => Cond::And(items.iter().map(|x| cond(x, names, base)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Cond::Or(items.iter().map(|x| cond(x, names, base)).collect::<Result<_, _>>()?),
    })
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
                    crate::ir::Part::Literal(s) => Some(fold(s)),
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
        Cond::Search(i) => searches.get(*i as usize).cloned().flatten(),
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

fn required_literals(c: &Cond, searches: &[ReqSet]) -> ReqSet {
    match c {
        Cond::Search(i) => searches.get(*i as usize).cloned().flatten(),
        Cond::Not(_) | Cond::Const(true) => None,
        Cond::Const(false) => Some(Vec::new()),
        Cond::And(items) => best(items.iter().map(|x| required_literals(x, searches))),
        Cond::Or(items) => union(items.iter().map(|x| required_literals(x, searches))),
    }
}
