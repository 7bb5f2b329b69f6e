//! What the text targets (Lucene, Elasticsearch DSL, ES|QL, Splunk SPL, Kusto) share: walking a lowered rule
//! over its routes, the routing predicate built from a target's primitives, and the layout of the documents they
//! search (`data/convert/text_targets.toml`).
//!
//! A routed rule reads `(route₁ AND rule through route₁'s field mapping) OR (route₂ AND …)`, exactly as the SQL
//! targets and the hunting engine do; an unrouted rule reads every document with the rule's own field names.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use sigil_ir::{CmpOp, Cond, Item, RuleIr, ValueSpec};
use sigil_knowledge::Route;

use crate::sql::{FieldMapper, Identity, Unsupported};

pub(crate) type R<T> = Result<T, Unsupported>;

/// The names the header columns of the export layout have in one target's documents.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Layout {
    pub event_id: String,
    pub channel: String,
    pub provider: String,
    pub kind: String,
}

/// The layout of a target (`lucene`, `dsl`, `esql`, `splunk`, `kusto`), from `data/convert/text_targets.toml`.
/// A table that does not parse is a build defect the unit tests catch; the export's own names stand in.
pub(crate) fn layout(target: &str) -> Layout {
    static TABLE: OnceLock<BTreeMap<String, Layout>> = OnceLock::new();
    let table = TABLE
        .get_or_init(|| toml::from_str(include_str!("../../../data/convert/text_targets.toml")).unwrap_or_default());
    table.get(target).cloned().unwrap_or_else(|| Layout {
        event_id: "event_id".into(),
        channel: "channel".into(),
        provider: "provider".into(),
        kind: "kind".into(),
    })
}

/// A text query language: boolean combinators, a detection item, and the primitives a route needs.
pub(crate) trait Lang {
    type Out;
    fn and(&self, parts: Vec<Self::Out>) -> Self::Out;
    fn or(&self, parts: Vec<Self::Out>) -> Self::Out;
    fn not(&self, x: Self::Out) -> Self::Out;
    fn constant(&self, b: bool) -> Self::Out;
    /// One value of an item on `field` (the event field, already mapped; `None` for keywords).
    fn value(&self, v: &ValueSpec, field: Option<&str>, mapper: &dyn FieldMapper) -> R<Self::Out>;
    /// A header column equals one of `values`, ASCII case-insensitively (channel, provider, kind, conditions).
    fn eq_any_ci(&self, column: &str, values: &[String]) -> Self::Out;
    /// A numeric header column is one of `ids`.
    fn num_any(&self, column: &str, ids: &[u32]) -> Self::Out;
    /// A header column is absent (an event without a channel is routed by its provider).
    fn missing(&self, column: &str) -> Self::Out;
    fn layout(&self) -> &Layout;

    /// One item: its values OR-ed (AND-ed under `all`), negated under `neq`.
    fn item(&self, item: &Item, mapper: &dyn FieldMapper) -> R<Self::Out> {
        let field = item.field.as_deref().map(|f| mapper.map(f));
        // A list of strings OR-ed is one value with all their alternatives (`F:(a OR b)`, `F in~ ("a", "b")`).
        if !item.all && item.values.len() > 1 {
            let mut acc: Vec<sigil_ir::Pattern> = Vec::new();
            let mut case: Option<bool> = None;
            let mut all_patterns = true;
            for v in &item.values {
                match v {
                    ValueSpec::Patterns { alternatives, cased } if case.is_none_or(|c| c == *cased) => {
                        case = Some(*cased);
                        acc.extend(alternatives.iter().cloned());
                    }
                    _ => {
                        all_patterns = false;
                        break;
                    }
                }
            }
            if all_patterns && let Some(cased) = case {
                let one = self.value(&ValueSpec::Patterns { alternatives: acc, cased }, field, mapper)?;
                return Ok(if item.negated { self.not(one) } else { one });
            }
        }
        let preds = item.values.iter().map(|v| self.value(v, field, mapper)).collect::<R<Vec<_>>>()?;
        let combined = if item.all { self.and(preds) } else { self.or(preds) };
        Ok(if item.negated { self.not(combined) } else { combined })
    }
}

/// The predicate selecting the events a route selects (`Route::matches_event` and `matches_conditions`).
pub(crate) fn route_predicate<L: Lang>(l: &L, route: &Route) -> L::Out {
    let lay = l.layout();
    let mut parts = Vec::new();
    if !route.kinds().is_empty() {
        parts.push(l.eq_any_ci(&lay.kind, route.kinds()));
    }
    if !route.event_ids().is_empty() {
        parts.push(l.num_any(&lay.event_id, route.event_ids()));
    }
    let (channels, providers) = (route.channels(), route.providers());
    if !channels.is_empty() {
        let by_channel = l.eq_any_ci(&lay.channel, channels);
        if providers.is_empty() {
            parts.push(by_channel);
        } else {
            let by_provider = l.and(vec![l.missing(&lay.channel), l.eq_any_ci(&lay.provider, providers)]);
            parts.push(l.or(vec![by_channel, by_provider]));
        }
    } else if !providers.is_empty() {
        parts.push(l.eq_any_ci(&lay.provider, providers));
    }
    for c in route.conditions() {
        parts.push(l.eq_any_ci(c.field(), c.values()));
    }
    l.and(parts)
}

/// The rule read through `mapper` (no routing).
pub(crate) fn rule_predicate<L: Lang>(l: &L, ir: &RuleIr, mapper: &dyn FieldMapper) -> R<L::Out> {
    let mut searches = Vec::with_capacity(ir.searches.len());
    for s in &ir.searches {
        let mut groups = Vec::with_capacity(s.groups.len());
        for g in &s.groups {
            let items = g.iter().map(|i| l.item(i, mapper)).collect::<R<Vec<_>>>()?;
            groups.push(l.and(items));
        }
        searches.push(Some(l.or(groups)));
    }
    Ok(cond(l, &ir.condition(), &mut searches))
}

/// The condition tree; each search is rendered once and moved into place. A condition that names a search twice
/// goes through [`rule_predicate_cloned`], which renders every use.
fn cond<L: Lang>(l: &L, c: &Cond, searches: &mut [Option<L::Out>]) -> L::Out {
    match c {
        Cond::Search(i) => searches.get_mut(*i).and_then(Option::take).unwrap_or_else(|| l.constant(false)),
        Cond::Not(inner) => {
            let x = cond(l, inner, searches);
            l.not(x)
        }
        Cond::And(items) => {
            let v = items.iter().map(|x| cond(l, x, searches)).collect();
            l.and(v)
        }
        Cond::Or(items) => {
            let v = items.iter().map(|x| cond(l, x, searches)).collect();
            l.or(v)
        }
        Cond::Const(b) => l.constant(*b),
    }
}

/// Whether a condition names some search more than once (then every use must get its own rendering).
fn names_twice(c: &Cond, seen: &mut Vec<usize>) -> bool {
    match c {
        Cond::Search(i) => {
            if seen.contains(i) {
                return true;
            }
            seen.push(*i);
            false
        }
        Cond::Not(inner) => names_twice(inner, seen),
        Cond::And(items) | Cond::Or(items) => items.iter().any(|x| names_twice(x, seen)),
        Cond::Const(_) => false,
    }
}

/// [`rule_predicate`] that renders a search again for each use when the condition names it twice.
pub(crate) fn rule_predicate_cloned<L: Lang>(l: &L, ir: &RuleIr, mapper: &dyn FieldMapper) -> R<L::Out> {
    if !names_twice(&ir.condition(), &mut Vec::new()) {
        return rule_predicate(l, ir, mapper);
    }
    fn go<L: Lang>(l: &L, c: &Cond, ir: &RuleIr, mapper: &dyn FieldMapper) -> R<L::Out> {
        Ok(match c {
            Cond::Search(i) => match ir.searches.get(*i) {
                Some(s) => {
                    let mut groups = Vec::with_capacity(s.groups.len());
                    for g in &s.groups {
                        let items = g.iter().map(|it| l.item(it, mapper)).collect::<R<Vec<_>>>()?;
                        groups.push(l.and(items));
                    }
                    l.or(groups)
                }
                None => l.constant(false),
            },
            Cond::Not(inner) => l.not(go(l, inner, ir, mapper)?),
            Cond::And(items) => l.and(items.iter().map(|x| go(l, x, ir, mapper)).collect::<R<Vec<_>>>()?),
            Cond::Or(items) => l.or(items.iter().map(|x| go(l, x, ir, mapper)).collect::<R<Vec<_>>>()?),
            Cond::Const(b) => l.constant(*b),
        })
    }
    go(l, &ir.condition(), ir, mapper)
}

/// The rule over all its routes: `(route AND rule-through-route) OR …`, or the rule alone when unrouted.
pub(crate) fn rule_where<L: Lang>(l: &L, ir: &RuleIr, routes: Option<&[Route]>) -> R<L::Out> {
    match routes {
        None => rule_predicate_cloned(l, ir, &Identity),
        Some(routes) => {
            let mut alts = Vec::with_capacity(routes.len());
            for r in routes {
                let p = rule_predicate_cloned(l, ir, r)?;
                alts.push(l.and(vec![route_predicate(l, r), p]));
            }
            Ok(l.or(alts))
        }
    }
}

/// The query text of a rule for a text target (`table`: the ES|QL index, Splunk index or Kusto table; the
/// Lucene and DSL queries name no index, which goes into the search URL).
pub(crate) fn rule_query(target: crate::Target, table: &str, ir: &RuleIr, routes: Option<&[Route]>) -> R<String> {
    use crate::Target;
    Ok(match target {
        Target::Lucene => strip_outer(rule_where(&crate::lucene::Lucene { layout: layout("lucene") }, ir, routes)?),
        Target::EsDsl => crate::dsl::body(rule_where(&crate::dsl::Dsl { layout: layout("dsl") }, ir, routes)?),
        Target::Esql => {
            let w = rule_where(&crate::esql::Esql { layout: layout("esql") }, ir, routes)?;
            format!("FROM {table}\n| WHERE {}", strip_outer(w))
        }
        Target::Kusto => {
            let w = rule_where(&crate::kusto::Kusto { layout: layout("kusto") }, ir, routes)?;
            format!("{table}\n| where {}", strip_outer(w))
        }
        Target::Splunk => splunk_query(table, ir, routes)?,
        Target::ClickHouse | Target::Spark | Target::DuckDb => {
            return Err(Unsupported(format!("{} is not a text target", target.name())));
        }
    })
}

/// Splunk: search terms when every item can be one, else the routing as search terms and the rule in `| where`.
fn splunk_query(table: &str, ir: &RuleIr, routes: Option<&[Route]>) -> R<String> {
    use crate::splunk::{Mode, NEEDS_WHERE, Splunk};
    let search = Splunk { layout: layout("splunk"), mode: Mode::Search };
    match rule_where(&search, ir, routes) {
        Ok(q) => Ok(format!("index={table} {}", strip_outer(q))),
        Err(e) if e.0 == NEEDS_WHERE => {
            let w = rule_where(&Splunk { layout: layout("splunk"), mode: Mode::Where }, ir, routes)?;
            let prefix = match routes {
                Some(rs) => {
                    let alts: Vec<String> = rs.iter().map(|r| route_predicate(&search, r)).collect();
                    format!("index={table} {}", strip_outer(search.or(alts)))
                }
                None => format!("index={table}"),
            };
            Ok(format!("{prefix}\n| where {}", strip_outer(w)))
        }
        Err(e) => Err(e),
    }
}

/// A control character other than tab, newline and carriage return cannot be written into a query text (the
/// `wide`/`utf16` modifiers without `base64` produce NUL bytes); such a value is reported, never mangled.
pub(crate) fn check_text(target: &str, s: &str) -> R<()> {
    match s.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(Unsupported(format!(
            "a value holds the control character U+{:04X} (from wide/utf16 without base64?), which a {target} \
             query text cannot carry",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}

/// Joins string parts with an operator, parenthesised; one part stands alone; none gives `empty`.
pub(crate) fn join_text(mut parts: Vec<String>, op: &str, empty: &str) -> String {
    parts.dedup();
    match parts.len() {
        0 => empty.into(),
        1 => parts.pop().unwrap_or_default(),
        _ => format!("({})", parts.join(op)),
    }
}

/// A number written without a fraction when it has none (`4688`, `0.5`).
pub(crate) fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

/// Drops one pair of parentheses around a whole query text.
pub(crate) fn strip_outer(s: String) -> String {
    let b = s.as_bytes();
    if b.first() == Some(&b'(') && b.last() == Some(&b')') {
        // Only when the first parenthesis closes at the very end.
        let mut depth = 0i32;
        let mut in_str: Option<u8> = None;
        let mut escaped = false;
        for (i, &c) in b.iter().enumerate() {
            if escaped {
                escaped = false;
                continue;
            }
            match (in_str, c) {
                (_, b'\\') => escaped = true,
                (Some(q), c) if c == q => in_str = None,
                (Some(_), _) => {}
                (None, b'"') => in_str = Some(b'"'),
                (None, b'(') => depth += 1,
                (None, b')') => {
                    depth -= 1;
                    if depth == 0 && i != b.len() - 1 {
                        return s;
                    }
                }
                _ => {}
            }
        }
        if depth == 0 {
            return s[1..s.len() - 1].to_string();
        }
    }
    s
}

/// A double-quoted string literal as ES|QL and KQL write it (`\\`, `\"`, `\n`, `\r`, `\t` escaped).
pub(crate) fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A comparison as C-like languages write it (`==`, `<`, `<=`, `>`, `>=`): ES|QL, KQL and Splunk's `where`.
pub(crate) fn c_operator(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_parse_for_every_target() {
        let text = include_str!("../../../data/convert/text_targets.toml");
        let table: BTreeMap<String, Layout> = toml::from_str(text).unwrap();
        for t in ["lucene", "dsl", "esql", "splunk", "kusto"] {
            assert!(table.contains_key(t), "{t}");
            assert_eq!(layout(t).event_id, table[t].event_id);
        }
    }

    #[test]
    fn outer_parentheses() {
        assert_eq!(strip_outer("(a AND b)".into()), "a AND b");
        assert_eq!(strip_outer("(a) OR (b)".into()), "(a) OR (b)");
        assert_eq!(strip_outer("(a:\")\" OR b)".into()), "a:\")\" OR b");
        assert_eq!(num(4688.0), "4688");
        assert_eq!(num(0.5), "0.5");
        assert!(check_text("Lucene", "a\0b").is_err());
        assert!(check_text("Lucene", "a\tb").is_ok());
    }
}
