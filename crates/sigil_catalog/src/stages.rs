//! Stages: the condition (stage 0) and the search identifiers (stages 1..n), with how each joins the condition.
//!
//! The join text is the condition term that uses the stage, taken from the normalised condition: the reference
//! itself (`selection`, `1 of selection_*`), or the nearest `not` around it (`not 1 of filter_main_*`), so a page
//! shows the logic and not just the pieces. This module also derives what the condition implies for the event
//! coverage: the event ids the detection is limited to.

use std::collections::BTreeSet;

use sigil_rule::normalize::search_yaml;
use sigil_rule::{Detection, FieldItem, SearchBody, ValueKind};
use sigil_rule::{Expr, Pattern, Quantifier, modifiers::Modifier};

use crate::indicator::{self, Indicator};
use crate::page::{ConditionTree, Stage, StageItem};

/// What the catalog derives from a detection.
pub(crate) struct DetectionInfo {
    pub(crate) stages: Vec<Stage>,
    pub(crate) indicators: Vec<Indicator>,
    /// Fields referenced (as written), sorted, unique; includes `fieldref` targets.
    pub(crate) fields: Vec<String>,
    /// Event ids the detection is limited to; `None` when it is not.
    pub(crate) event_ids: Option<Vec<u32>>,
    /// The ways the condition can be met (its disjunctive normal form over positive stages and their maps),
    /// each with the fields it needs and the event ids it is limited to. Empty when there are too many.
    pub(crate) branches: Vec<Branch>,
}

/// One way a detection can match: the fields it reads and the event ids it allows (`None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Branch {
    pub(crate) fields: BTreeSet<String>,
    pub(crate) ids: Option<BTreeSet<u32>>,
}

/// Branch expansion stops here (a rule with that many ways to match gets no per-branch coverage).
const MAX_BRANCHES: usize = 256;

/// How a stage is used by the condition.
#[derive(Default, Clone)]
struct Use {
    joins: Vec<String>,
    positive: bool,
    negative: bool,
}

pub(crate) fn analyse(detection: &Detection) -> DetectionInfo {
    let names: Vec<&str> = detection.searches.iter().map(|s| s.name.as_str()).collect();
    let mut uses: Vec<Use> = vec![Use::default(); names.len()];
    for c in &detection.conditions {
        collect_uses(&c.expr, &names, &mut Vec::new(), &mut uses);
    }

    let mut stages = Vec::with_capacity(names.len() + 1);
    let text: Vec<&str> = detection.conditions.iter().map(|c| c.text.as_str()).collect();
    let normalized: Vec<String> = detection.conditions.iter().map(|c| c.expr.to_string()).collect();
    let tree = match detection.conditions.as_slice() {
        [] => None,
        [one] => Some(tree_of(&one.expr, &names)),
        many => Some(ConditionTree::Or { args: many.iter().map(|c| tree_of(&c.expr, &names)).collect() }),
    };
    stages.push(Stage {
        stage: 0,
        name: "condition".to_string(),
        text: text.join("\n"),
        join: Vec::new(),
        logic: None,
        used: true,
        negated: false,
        normalized: Some(normalized.join("\n")),
        tree,
        items: Vec::new(),
    });

    let mut indicators = Vec::new();
    let mut fields: BTreeSet<String> = BTreeSet::new();
    for (i, search) in detection.searches.iter().enumerate() {
        let usage = uses.get(i).cloned().unwrap_or_default();
        let used = usage.positive || usage.negative;
        let negated = usage.negative && !usage.positive;
        let (logic, items) = stage_items(&search.body);
        for item in search.body.items() {
            if let Some(f) = &item.field {
                fields.insert(f.clone());
                if item.has(Modifier::FieldRef) {
                    for v in &item.values {
                        if let ValueKind::String(s) = &v.kind {
                            fields.insert(s.raw.clone());
                        }
                    }
                }
            }
            indicators.extend(indicator::of_item(item, &search.name, negated));
        }
        stages.push(Stage {
            stage: i + 1,
            name: search.name.clone(),
            text: search_yaml(search),
            join: usage.joins,
            logic: Some(logic),
            used,
            negated,
            normalized: None,
            tree: None,
            items,
        });
    }

    let event_ids = event_ids(detection, &names);
    let branches = branches(detection, &names);
    DetectionInfo {
        stages,
        indicators: indicator::merge_and_sort(indicators),
        fields: fields.into_iter().collect(),
        event_ids: event_ids.map(|s| s.into_iter().collect()),
        branches,
    }
}

fn stage_items(body: &SearchBody) -> (String, Vec<StageItem>) {
    let item = |i: &FieldItem, group: Option<usize>| StageItem {
        field: i.field.clone(),
        modifiers: i.modifiers.iter().map(|m| m.name().to_string()).collect(),
        values: i.values.iter().map(|v| json_value(&v.kind)).collect(),
        group,
    };
    match body {
        SearchBody::AllOf(items) => ("and".to_string(), items.iter().map(|i| item(i, None)).collect()),
        SearchBody::AnyOf(groups) => (
            "or".to_string(),
            groups.iter().enumerate().flat_map(|(g, items)| items.iter().map(move |i| item(i, Some(g)))).collect(),
        ),
        SearchBody::Keywords(k) => {
            let logic = if k.has(Modifier::All) { "all keywords" } else { "keywords" };
            (logic.to_string(), vec![item(k, None)])
        }
    }
}

fn json_value(v: &ValueKind) -> serde_json::Value {
    match v {
        ValueKind::Null => serde_json::Value::Null,
        ValueKind::Bool(b) => serde_json::Value::Bool(*b),
        ValueKind::Int(i) => serde_json::Value::from(*i),
        ValueKind::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
        }
        ValueKind::String(s) => serde_json::Value::String(s.raw.clone()),
    }
}

/// Records, for every stage a reference selects, the join text and the polarity (under an odd number of `not`).
fn collect_uses<'e>(expr: &'e Expr, names: &[&str], nots: &mut Vec<&'e Expr>, uses: &mut [Use]) {
    let mut record = |selected: Vec<usize>, reference: &Expr, nots: &[&Expr]| {
        let join = nots.last().map_or_else(|| reference.to_string(), |n| n.to_string());
        let negative = nots.len() % 2 == 1;
        for i in selected {
            if let Some(u) = uses.get_mut(i) {
                if !u.joins.contains(&join) {
                    u.joins.push(join.clone());
                }
                if negative {
                    u.negative = true;
                } else {
                    u.positive = true;
                }
            }
        }
    };
    match expr {
        Expr::Ident { name, .. } => {
            let selected = names.iter().position(|n| n == name).into_iter().collect();
            record(selected, expr, nots);
        }
        Expr::Selector { pattern, .. } => {
            let selected = names.iter().enumerate().filter(|(_, n)| pattern.matches(n)).map(|(i, _)| i).collect();
            record(selected, expr, nots);
        }
        Expr::Not(inner) => {
            nots.push(expr);
            collect_uses(inner, names, nots, uses);
            nots.pop();
        }
        Expr::And(items) | Expr::Or(items) => {
            for e in items {
                collect_uses(e, names, nots, uses);
            }
        }
    }
}

fn tree_of(expr: &Expr, names: &[&str]) -> ConditionTree {
    match expr {
        Expr::Ident { name, .. } => {
            ConditionTree::Search { name: name.clone(), stage: names.iter().position(|n| n == name).map(|i| i + 1) }
        }
        Expr::Selector { quantifier, pattern, .. } => ConditionTree::Of {
            quantifier: match quantifier {
                Quantifier::One => "1".to_string(),
                Quantifier::All => "all".to_string(),
            },
            pattern: match pattern {
                Pattern::Them => "them".to_string(),
                Pattern::Glob(g) => g.clone(),
            },
            stages: names.iter().enumerate().filter(|(_, n)| pattern.matches(n)).map(|(i, _)| i + 1).collect(),
        },
        Expr::Not(inner) => ConditionTree::Not { arg: Box::new(tree_of(inner, names)) },
        Expr::And(items) => ConditionTree::And { args: items.iter().map(|e| tree_of(e, names)).collect() },
        Expr::Or(items) => ConditionTree::Or { args: items.iter().map(|e| tree_of(e, names)).collect() },
    }
}

/// The set of event ids a detection can match, when it is limited: `None` means any id.
///
/// A map limits ids through an `EventID` item without modifiers (all of its values are ints or numeric
/// strings); `and` intersects, `or` and lists of maps unite, `not` never limits (it cannot name ids).
type Ids = Option<BTreeSet<u32>>;

fn event_ids(detection: &Detection, names: &[&str]) -> Ids {
    let per_stage: Vec<Ids> = detection.searches.iter().map(|s| ids_of_body(&s.body)).collect();
    let mut all: Ids = Some(BTreeSet::new());
    for c in &detection.conditions {
        all = union(all, ids_of_expr(&c.expr, names, &per_stage));
    }
    if detection.conditions.is_empty() { None } else { all }
}

fn ids_of_body(body: &SearchBody) -> Ids {
    match body {
        SearchBody::AllOf(items) => ids_of_map(items),
        SearchBody::AnyOf(groups) => groups.iter().map(|g| ids_of_map(g)).fold(Some(BTreeSet::new()), union),
        SearchBody::Keywords(_) => None,
    }
}

fn ids_of_map(items: &[FieldItem]) -> Ids {
    let mut out: Ids = None;
    for item in items {
        let is_event_id = item.field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case("EventID"));
        if !is_event_id || !item.modifiers.is_empty() {
            continue;
        }
        let ids: Option<BTreeSet<u32>> = item
            .values
            .iter()
            .map(|v| match &v.kind {
                ValueKind::Int(i) => u32::try_from(*i).ok(),
                ValueKind::String(s) => s.as_literal().and_then(|t| t.trim().parse().ok()),
                _ => None,
            })
            .collect();
        if let Some(ids) = ids {
            out = intersect(out, Some(ids));
        }
    }
    out
}

fn ids_of_expr(expr: &Expr, names: &[&str], per_stage: &[Ids]) -> Ids {
    let of = |i: usize| per_stage.get(i).cloned().unwrap_or(None);
    match expr {
        Expr::Ident { name, .. } => names.iter().position(|n| n == name).and_then(of),
        Expr::Selector { quantifier, pattern, .. } => {
            let selected = names.iter().enumerate().filter(|(_, n)| pattern.matches(n)).map(|(i, _)| of(i));
            match quantifier {
                Quantifier::One => selected.fold(Some(BTreeSet::new()), union),
                Quantifier::All => selected.fold(None, intersect),
            }
        }
        Expr::Not(_) => None,
        Expr::And(items) => items.iter().map(|e| ids_of_expr(e, names, per_stage)).fold(None, intersect),
        Expr::Or(items) => items.iter().map(|e| ids_of_expr(e, names, per_stage)).fold(Some(BTreeSet::new()), union),
    }
}

/// Fields a map reads (the field items and `fieldref` targets).
fn fields_of_map(items: &[FieldItem]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for item in items {
        let Some(f) = &item.field else { continue };
        out.insert(f.clone());
        if item.has(Modifier::FieldRef) {
            for v in &item.values {
                if let ValueKind::String(s) = &v.kind {
                    out.insert(s.raw.clone());
                }
            }
        }
    }
    out
}

/// The alternatives of one stage: one per map of a list of maps, else one.
fn stage_alternatives(body: &SearchBody) -> Vec<Branch> {
    match body {
        SearchBody::AllOf(items) => vec![Branch { fields: fields_of_map(items), ids: ids_of_map(items) }],
        SearchBody::AnyOf(groups) => {
            groups.iter().map(|g| Branch { fields: fields_of_map(g), ids: ids_of_map(g) }).collect()
        }
        SearchBody::Keywords(_) => vec![Branch { fields: BTreeSet::new(), ids: None }],
    }
}

fn and_branches(a: Vec<Branch>, b: Vec<Branch>) -> Option<Vec<Branch>> {
    if a.len().saturating_mul(b.len()) > MAX_BRANCHES {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in &b {
            let mut fields = x.fields.clone();
            fields.extend(y.fields.iter().cloned());
            out.push(Branch { fields, ids: intersect(x.ids.clone(), y.ids.clone()) });
        }
    }
    Some(out)
}

fn or_branches(mut a: Vec<Branch>, b: Vec<Branch>) -> Option<Vec<Branch>> {
    a.extend(b);
    a.dedup();
    (a.len() <= MAX_BRANCHES).then_some(a)
}

/// The disjunctive normal form of the conditions over positive stages. A negated part needs nothing to match
/// (an absent field makes a filter fail, so the rule still fires), so it contributes no fields.
fn branches(detection: &Detection, names: &[&str]) -> Vec<Branch> {
    let per_stage: Vec<Vec<Branch>> = detection.searches.iter().map(|s| stage_alternatives(&s.body)).collect();
    let mut all: Vec<Branch> = Vec::new();
    for c in &detection.conditions {
        let Some(b) = expr_branches(&c.expr, names, &per_stage, 0) else { return Vec::new() };
        match or_branches(all, b) {
            Some(x) => all = x,
            None => return Vec::new(),
        }
    }
    all
}

fn expr_branches(expr: &Expr, names: &[&str], per_stage: &[Vec<Branch>], depth: usize) -> Option<Vec<Branch>> {
    let none = || vec![Branch { fields: BTreeSet::new(), ids: None }];
    if depth > 64 {
        return None;
    }
    let stage = |i: usize| per_stage.get(i).cloned().unwrap_or_else(none);
    match expr {
        Expr::Ident { name, .. } => Some(names.iter().position(|n| n == name).map_or_else(none, stage)),
        Expr::Selector { quantifier, pattern, .. } => {
            let selected: Vec<usize> =
                names.iter().enumerate().filter(|(_, n)| pattern.matches(n)).map(|(i, _)| i).collect();
            match quantifier {
                Quantifier::One => selected.into_iter().try_fold(Vec::new(), |acc, i| or_branches(acc, stage(i))),
                Quantifier::All => selected.into_iter().try_fold(none(), |acc, i| and_branches(acc, stage(i))),
            }
        }
        Expr::Not(_) => Some(none()),
        Expr::And(items) => {
            items.iter().try_fold(none(), |acc, e| and_branches(acc, expr_branches(e, names, per_stage, depth + 1)?))
        }
        Expr::Or(items) => {
            items.iter().try_fold(Vec::new(), |acc, e| or_branches(acc, expr_branches(e, names, per_stage, depth + 1)?))
        }
    }
}

fn union(a: Ids, b: Ids) -> Ids {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        _ => None,
    }
}

fn intersect(a: Ids, b: Ids) -> Ids {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.intersection(&b).copied().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(yaml: &str) -> Detection {
        let text = format!("title: t\nlogsource: {{product: windows}}\ndetection:\n{yaml}");
        let parsed = sigil_rule::parse_str(&text);
        match parsed.documents.into_iter().next() {
            Some(sigil_rule::Document::Rule(r)) => r.detection,
            other => panic!("{other:?} {:?}", parsed.diagnostics),
        }
    }

    #[test]
    fn joins_show_the_logic() {
        let d = detection(
            "  selection: {Image|endswith: '\\x.exe'}\n  filter_main_a: {User: 'SYSTEM'}\n  filter_main_b:\n    - ParentImage: 'a'\n    - ParentImage: 'b'\n  condition: selection and not 1 of filter_main_*\n",
        );
        let info = analyse(&d);
        let s: Vec<(&str, &[String], bool, Option<&str>)> =
            info.stages.iter().map(|s| (s.name.as_str(), s.join.as_slice(), s.negated, s.logic.as_deref())).collect();
        assert_eq!(s[0].0, "condition");
        assert_eq!(s[1], ("selection", &["selection".to_string()][..], false, Some("and")));
        assert_eq!(s[2], ("filter_main_a", &["not 1 of filter_main_*".to_string()][..], true, Some("and")));
        assert_eq!(s[3], ("filter_main_b", &["not 1 of filter_main_*".to_string()][..], true, Some("or")));
        assert!(info.indicators.iter().filter(|i| i.field.as_deref() == Some("ParentImage")).all(|i| i.excluded));
        assert!(!info.indicators.iter().find(|i| i.field.as_deref() == Some("Image")).unwrap().excluded);
        assert_eq!(info.fields, ["Image", "ParentImage", "User"]);
    }

    #[test]
    fn nested_not_and_unused_stages() {
        let d = detection("  a: {X: 1}\n  b: {Y: 2}\n  c: {Z: 3}\n  condition: a and not (b or a)\n");
        let info = analyse(&d);
        assert_eq!(info.stages[1].join, ["a", "not (b or a)"]);
        assert!(!info.stages[1].negated);
        assert!(info.stages[2].negated);
        assert!(!info.stages[3].used);
        assert!(info.stages[3].join.is_empty());
        let ConditionTree::And { args } = info.stages[0].tree.clone().unwrap() else { panic!() };
        assert_eq!(args[0], ConditionTree::Search { name: "a".into(), stage: Some(1) });
    }

    #[test]
    fn event_ids_follow_the_condition() {
        let ids = |y: &str| analyse(&detection(y)).event_ids;
        assert_eq!(ids("  s: {EventID: 4624}\n  condition: s\n"), Some(vec![4624]));
        assert_eq!(ids("  s: {EventID: [4624, '4625']}\n  condition: s\n"), Some(vec![4624, 4625]));
        assert_eq!(ids("  s: {EventID: 4624}\n  t: {X: 1}\n  condition: s or t\n"), None);
        assert_eq!(ids("  s: {EventID: 4624}\n  t: {X: 1}\n  condition: s and t\n"), Some(vec![4624]));
        assert_eq!(ids("  s: {EventID: 4624}\n  t: {EventID: 4625}\n  condition: 1 of *\n"), Some(vec![4624, 4625]));
        assert_eq!(ids("  s: {EventID: 4624}\n  t: {EventID: 4625}\n  condition: all of *\n"), Some(vec![]));
        assert_eq!(ids("  s: {EventID: 4624}\n  condition: not s\n"), None);
        assert_eq!(ids("  s:\n    - EventID: 1\n    - EventID: 2\n  condition: s\n"), Some(vec![1, 2]));
        assert_eq!(ids("  s:\n    - EventID: 1\n    - X: 2\n  condition: s\n"), None);
        assert_eq!(ids("  s: {EventID|gt: 4624}\n  condition: s\n"), None);
    }

    #[test]
    fn branches_split_alternatives_and_skip_filters() {
        let b = |y: &str| {
            analyse(&detection(y))
                .branches
                .into_iter()
                .map(|b| {
                    (
                        b.fields.into_iter().collect::<Vec<_>>().join(","),
                        b.ids.map(|i| i.into_iter().collect::<Vec<_>>()),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            b("  s1: {EventID: 1, A: x}\n  s2: {EventID: 2, B: y}\n  f: {C: z}\n  condition: 1 of s* and not f\n"),
            [("A,EventID".to_string(), Some(vec![1])), ("B,EventID".to_string(), Some(vec![2]))]
        );
        assert_eq!(
            b("  s:\n    - A: 1\n    - B: 2\n  t: {C: 3}\n  condition: s and t\n"),
            [("A,C".to_string(), None), ("B,C".to_string(), None)]
        );
        assert_eq!(b("  s: {A: 1}\n  t: {B: 2}\n  condition: all of *\n"), [("A,B".to_string(), None)]);
    }

    #[test]
    fn keyword_and_list_logic() {
        let d = detection("  kw:\n    - 'mimikatz'\n    - 'sekurlsa'\n  condition: kw\n");
        let info = analyse(&d);
        assert_eq!(info.stages[1].logic.as_deref(), Some("keywords"));
        assert_eq!(info.indicators.len(), 2);
        assert!(info.indicators.iter().all(|i| i.field.is_none() && i.kind == crate::Kind::Keyword));
        assert!(info.fields.is_empty());
    }
}
