//! A whole rule lowered: searches as OR-of-AND groups of [`Item`]s and the condition as a boolean tree over them.
//!
//! The hunting engine (`sigil_engine`) compiles its matchers from a [`RuleIr`] and the query converters
//! (`sigil_convert`) render the same [`RuleIr`], so the two cannot disagree on what a rule means.

use std::borrow::Cow;

use sigil_knowledge::Route;
use sigil_rule::{Detection, Expr, FilterRule, Quantifier, Rule, SearchBody};

use crate::{Item, LowerError, Placeholders, lower_item};

/// A rule's condition over its searches (indexes into [`RuleIr::searches`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The search at this index matches.
    Search(usize),
    /// The inner condition does not hold.
    Not(Box<Cond>),
    /// Every condition holds (true when empty).
    And(Vec<Cond>),
    /// Some condition holds (false when empty).
    Or(Vec<Cond>),
    /// Always true or always false (e.g. `1 of x*` when no search matches `x*`).
    Const(bool),
}

/// One search of a detection: any group matches, each group an AND of items (a map is one group, a list of maps
/// one group per map, keywords one group of one item).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The search's name; searches of a meta filter are prefixed with `_filterN_`.
    pub name: String,
    /// The groups, any of which matches; each is an AND of its items.
    pub groups: Vec<Vec<Item>>,
    /// The modifiers of each item as written (`contains`, `all`, ...), parallel to [`Search::groups`]: the
    /// lowered items have them applied, an explanation of a match names them.
    pub modifiers: Vec<Vec<Box<[&'static str]>>>,
    /// The meta filter the search comes from (an index into the filters given to [`lower_rule`]); `None` for a
    /// search of the rule itself.
    pub filter: Option<usize>,
}

/// A rule lowered for the engine and the converters: every item lowered, the condition resolved, the conditions
/// of the meta filters that apply beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleIr {
    /// Every search of the detection, then those of the meta filters applied, in definition order.
    pub searches: Vec<Search>,
    /// The rule's own condition, with `x of` quantifiers expanded.
    pub detection: Cond,
    /// The condition of each meta filter applied, in the order given to [`lower_rule`]; each must hold too. Kept
    /// apart so that the hunt can tell which filter removed a detection.
    pub filters: Vec<Cond>,
}

impl RuleIr {
    /// The whole condition: the rule's own AND-ed with every filter's (as pySigma applies meta filters). Borrowed
    /// when no filter applies.
    pub fn condition(&self) -> Cow<'_, Cond> {
        if self.filters.is_empty() {
            return Cow::Borrowed(&self.detection);
        }
        let mut all = Vec::with_capacity(self.filters.len() + 1);
        all.push(self.detection.clone());
        all.extend(self.filters.iter().cloned());
        Cow::Owned(Cond::And(all))
    }

    /// The renames the routes apply to the fields the rule reads (pySigma's field-mapping tracking), route by
    /// route in the order given, fields in first-use order.
    pub fn renames(&self, routes: &[Route]) -> Vec<FieldRename> {
        let fields = self.fields();
        let mut out = Vec::new();
        for r in routes {
            for f in &fields {
                if let Some(mapped) = r.map_field(f)
                    && mapped != *f
                {
                    out.push(FieldRename {
                        route: route_label(r),
                        sigma_field: (*f).to_string(),
                        event_field: mapped.into(),
                    });
                }
            }
        }
        out
    }

    /// Every Sigma field the rule reads (items and `fieldref` targets), in first-use order.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.searches {
            for item in s.groups.iter().flatten() {
                let refs = item.values.iter().filter_map(|v| match v {
                    crate::ValueSpec::FieldRef { field, .. } => Some(field.as_str()),
                    _ => None,
                });
                for f in item.field.as_deref().into_iter().chain(refs) {
                    if !out.contains(&f) {
                        out.push(f);
                    }
                }
            }
        }
        out
    }

    /// Whether a search is a keyword search (reads every value of the event).
    pub fn has_keywords(&self) -> bool {
        self.searches.iter().flat_map(|s| s.groups.iter().flatten()).any(|i| i.field.is_none())
    }
}

/// A Sigma field that a logsource route maps to another event field: what pySigma's processing pipelines record
/// as "field name mapping applied", kept so that a converted query (and `sigil convert --format json`, where it
/// is serialised as is) can say which route renamed what.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FieldRename {
    /// The route, as its channels/providers and event ids (`Security 4688`).
    pub route: String,
    /// The field as the rule names it.
    pub sigma_field: String,
    /// The event field (and the field of a converted query) it is mapped to.
    pub event_field: String,
}

/// The route as a short text: its channels, providers or record kinds, and its event ids (`Security 4688`).
fn route_label(route: &Route) -> String {
    let mut s = if !route.channels().is_empty() {
        route.channels().join("|")
    } else if !route.providers().is_empty() {
        route.providers().join("|")
    } else if !route.kinds().is_empty() {
        route.kinds().join("|")
    } else {
        "any channel".to_string()
    };
    if !route.event_ids().is_empty() {
        let ids: Vec<String> = route.event_ids().iter().map(u32::to_string).collect();
        s.push(' ');
        s.push_str(&ids.join(","));
    }
    s
}

/// Why a rule could not be lowered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// An item of a search could not be lowered.
    #[error(transparent)]
    Lower(#[from] LowerError),
    /// The condition names a search (given) that the detection does not define.
    #[error("the condition names '{0}', which the detection does not define")]
    UnknownIdentifier(String),
    /// The detection has no `condition`.
    #[error("the detection has no condition")]
    NoCondition,
}

/// Lowers a rule with the meta filters that apply to it (see [`filter_applies`]); each filter's condition must
/// hold beside the rule's, as pySigma and the hunting engine apply them ([`RuleIr::condition`]).
///
/// # Errors
/// A [`LowerError`] (as [`RuleError`]) when a value cannot be lowered, or a condition naming no search.
pub fn lower_rule(rule: &Rule, filters: &[&FilterRule], placeholders: &Placeholders) -> Result<RuleIr, RuleError> {
    let mut searches = Vec::new();
    let own = detection(&rule.detection, placeholders, None, &mut searches)?;
    let mut filter_conds = Vec::with_capacity(filters.len());
    for (i, f) in filters.iter().enumerate() {
        filter_conds.push(detection(&f.detection, placeholders, Some(i), &mut searches)?);
    }
    Ok(RuleIr { searches, detection: own, filters: filter_conds })
}

fn detection(
    det: &Detection,
    placeholders: &Placeholders,
    filter: Option<usize>,
    out: &mut Vec<Search>,
) -> Result<Cond, RuleError> {
    let base = out.len();
    let names: Vec<&str> = det.searches.iter().map(|s| s.name.as_str()).collect();
    for s in &det.searches {
        let groups: Vec<&[sigil_rule::FieldItem]> = match &s.body {
            SearchBody::AllOf(items) => vec![items.as_slice()],
            SearchBody::AnyOf(groups) => groups.iter().map(Vec::as_slice).collect(),
            SearchBody::Keywords(item) => vec![std::slice::from_ref(item)],
        };
        let mut lowered = Vec::with_capacity(groups.len());
        let mut modifiers = Vec::with_capacity(groups.len());
        for g in groups {
            lowered.push(g.iter().map(|fi| lower_item(fi, placeholders)).collect::<Result<Vec<_>, _>>()?);
            modifiers.push(g.iter().map(|fi| fi.modifiers.iter().map(|m| m.name()).collect()).collect());
        }
        let name = match filter {
            Some(i) => format!("_filter{i}_{}", s.name),
            None => s.name.clone(),
        };
        out.push(Search { name, groups: lowered, modifiers, filter });
    }
    let mut conds = Vec::with_capacity(det.conditions.len());
    for c in &det.conditions {
        conds.push(cond(&c.expr, &names, base)?);
    }
    match conds.len() {
        0 => Err(RuleError::NoCondition),
        1 => Ok(conds.pop().unwrap_or(Cond::Const(false))),
        _ => Ok(Cond::Or(conds)),
    }
}

fn cond(e: &Expr, names: &[&str], base: usize) -> Result<Cond, RuleError> {
    Ok(match e {
        Expr::Ident { name, .. } => {
            let i = names.iter().position(|n| n == name).ok_or_else(|| RuleError::UnknownIdentifier(name.clone()))?;
            Cond::Search(base + i)
        }
        Expr::Selector { quantifier, pattern, .. } => {
            let picked: Vec<Cond> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| pattern.matches(n))
                .map(|(i, _)| Cond::Search(base + i))
                .collect();
            match picked.len() {
                0 => Cond::Const(false),
                1 => picked.into_iter().next().unwrap_or(Cond::Const(false)),
                _ => match quantifier {
                    Quantifier::One => Cond::Or(picked),
                    Quantifier::All => Cond::And(picked),
                },
            }
        }
        Expr::Not(inner) => Cond::Not(Box::new(cond(inner, names, base)?)),
        Expr::And(items) => Cond::And(items.iter().map(|x| cond(x, names, base)).collect::<Result<_, _>>()?),
        Expr::Or(items) => Cond::Or(items.iter().map(|x| cond(x, names, base)).collect::<Result<_, _>>()?),
    })
}

/// Whether a meta filter applies to a rule: it names the rule (by id or name) or names none (`rules: any`), and
/// its logsource is contained in the rule's (every part the filter sets, the rule sets to the same value).
pub fn filter_applies(f: &FilterRule, rule: &Rule) -> bool {
    let named = f.rules.is_empty()
        || f.rules
            .iter()
            .any(|(r, _)| rule.meta.id.as_deref() == Some(r.as_str()) || rule.meta.name.as_deref() == Some(r.as_str()));
    let part = |want: &Option<String>, have: &Option<String>| {
        want.as_ref().is_none_or(|w| have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
    };
    let ls = (&f.logsource, &rule.logsource);
    named
        && part(&ls.0.product, &ls.1.product)
        && part(&ls.0.category, &ls.1.category)
        && part(&ls.0.service, &ls.1.service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<sigil_rule::Document> {
        let parsed = sigil_rule::parse_str(text);
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        parsed.documents
    }

    #[test]
    fn condition_and_selectors() {
        let docs = parse(
            "title: t\nid: 6f0b5e1c-1c55-4a55-9a2b-1c2d3e4f5a6b\nlogsource: {product: windows, category: process_creation}\n\
             detection:\n  sel_a: {Image|endswith: '\\a.exe'}\n  sel_b: [{CommandLine|contains: x}, {CommandLine: y}]\n  \
             filter: {User: SYSTEM}\n  condition: 1 of sel_* and not filter\n",
        );
        let sigil_rule::Document::Rule(r) = &docs[0] else { panic!() };
        let ir = lower_rule(r, &[], &Placeholders::new()).unwrap();
        assert_eq!(ir.searches.len(), 3);
        assert_eq!(ir.searches[1].groups.len(), 2);
        assert_eq!(
            ir.detection,
            Cond::And(vec![Cond::Or(vec![Cond::Search(0), Cond::Search(1)]), Cond::Not(Box::new(Cond::Search(2)))])
        );
        assert!(matches!(ir.condition(), Cow::Borrowed(_)));
        assert_eq!(ir.searches[0].modifiers, [vec![Box::from(["endswith"])]]);
        assert_eq!(ir.searches[1].modifiers, [vec![Box::from(["contains"])], vec![Box::from([])]]);
        assert!(ir.searches.iter().all(|s| s.filter.is_none()));
        assert_eq!(ir.fields(), ["Image", "CommandLine", "User"]);
        assert!(!ir.has_keywords());
    }

    #[test]
    fn renames_name_the_route_and_skip_unmapped_fields() {
        let docs = parse(
            "title: t\nlogsource: {product: windows, category: process_creation}\n\
             detection:\n  sel: {Image|endswith: '\\a.exe', CommandLine|contains: x, NoSuchField: y}\n  condition: sel\n",
        );
        let sigil_rule::Document::Rule(r) = &docs[0] else { panic!() };
        let ir = lower_rule(r, &[], &Placeholders::new()).unwrap();
        let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
        let routes = knowledge.routes(Some("windows"), Some("process_creation"), None).unwrap();
        let renames = ir.renames(routes);
        // Security 4688 calls the image NewProcessName; Sysmon 1 keeps the Sigma names.
        let image = renames.iter().find(|r| r.sigma_field == "Image").unwrap();
        assert_eq!((image.route.as_str(), image.event_field.as_str()), ("Security 4688", "NewProcessName"));
        assert!(renames.iter().all(|r| r.sigma_field != "NoSuchField" && r.sigma_field != r.event_field));
        assert!(!renames.iter().any(|r| r.route.starts_with("Microsoft-Windows-Sysmon")), "{renames:?}");
        assert!(ir.renames(&[]).is_empty());
    }

    #[test]
    fn filters_are_anded_and_scoped() {
        let rule = "title: t\nid: 6f0b5e1c-1c55-4a55-9a2b-1c2d3e4f5a6b\nlogsource: {product: windows, category: process_creation}\n\
             detection: {sel: {Image: a}, condition: sel}\n";
        let filter = "title: f\nfilter:\n  rules: [6f0b5e1c-1c55-4a55-9a2b-1c2d3e4f5a6b]\n  selection: {User: b}\n  condition: not selection\n\
             logsource: {category: process_creation}\n";
        let (rd, fd) = (parse(rule), parse(filter));
        let (sigil_rule::Document::Rule(r), sigil_rule::Document::Filter(f)) = (&rd[0], &fd[0]) else { panic!() };
        assert!(filter_applies(f, r));
        let ir = lower_rule(r, &[f], &Placeholders::new()).unwrap();
        assert_eq!(ir.searches[1].name, "_filter0_selection");
        assert_eq!((ir.searches[0].filter, ir.searches[1].filter), (None, Some(0)));
        assert_eq!(ir.detection, Cond::Search(0));
        assert_eq!(ir.filters, [Cond::Not(Box::new(Cond::Search(1)))]);
        assert_eq!(ir.condition().into_owned(), Cond::And(vec![Cond::Search(0), Cond::Not(Box::new(Cond::Search(1)))]));
        let mut other = f.clone();
        other.logsource.category = Some("file_event".into());
        assert!(!filter_applies(&other, r));
    }
}
