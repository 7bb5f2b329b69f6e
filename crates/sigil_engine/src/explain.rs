//! Why a rule matched an event, or why it did not.
//!
//! Explaining is a separate evaluation, never on the hunt's path: the hunt finds detections as it always does, and
//! only for those (with `--explain`), or for one rule and one event (`sigil explain`, the web's "try an event"),
//! this module evaluates the rule again and records what decided it. It reuses the engine's own pieces so the two
//! cannot drift apart: the event is prepared by [`Prepared`] as the hunt prepares it (every field), a selection's
//! verdict is the compiled search's own, and each item is tested by an [`ItemMatcher`] compiled from the same
//! lowered item ([`crate::ir`], modifiers applied) — once whole, then one value at a time to name the value (the
//! `base64offset` variant, the `windash` spelling, the regex) that matched and the event value it matched in.

use sigil_events::Event;

use crate::compile::CompiledRule;
use crate::engine::{Engine, Match, RuleRoute, conditions_hold, logsource_text};
use crate::matcher::ItemMatcher;
use crate::prepared::{Atom, AtomKind, Prepared};
use sigil_ir::{CmpOp, Item, Position, ValueSpec};

/// Longest event value quoted in an explanation, in characters; longer values are cut with `…`.
const MAX_VALUE_CHARS: usize = 400;

/// Why a rule matched an event, or did not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// Whether the rule (with its meta filters) matches the event.
    pub matched: bool,
    /// How the event reached the rule: the route (`Security 4688`), or why no route of its logsource selects it.
    pub routing: Routing,
    /// The rule's selections (not its filters'), in the rule's order. For a detection only the ones that matched.
    pub selections: Vec<SelectionExplanation>,
    /// Titles of the meta filters that removed the event although the rule's own condition held.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_by: Vec<String>,
}

/// How an event reached a rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Routing {
    /// Routed through the route described.
    Routed(String),
    /// Not routed to the rule's logsource, and why.
    NotRouted(String),
}

/// One selection (search) of the rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SelectionExplanation {
    /// The selection's name as written under `detection`.
    pub selection: String,
    /// Whether the selection matched the event (any of its groups matched).
    pub matched: bool,
    /// For a matched selection, the items of the (first) group that matched, each with what matched it; for a
    /// selection that did not match, the first item that failed in each of its groups.
    pub items: Vec<ItemExplanation>,
}

/// One detection item, as tested against the event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItemExplanation {
    /// The Sigma field; `null` for a keyword search.
    pub field: Option<String>,
    /// The modifiers as written in the rule.
    pub modifiers: Vec<String>,
    /// Whether this item matched the event.
    pub matched: bool,
    /// The rule's value after modifiers that matched (`*ZWNobyBoaQ*` for a `base64offset` variant, `/-enc/` for a
    /// regex); for an item that failed, the values it wanted.
    pub matched_value: Option<String>,
    /// The event's value that the rule's value matched, or (for a failed item) the field's value; `null` when the
    /// field is absent.
    pub event_value: Option<String>,
    /// Why an item failed when that is not a plain other value: `field absent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Explanation {
    /// One line for a table: `sel: CommandLine|contains *-enc*, Image|endswith *\powershell.exe` per matched
    /// selection (`;` between selections); a miss gives its routing or first failing items instead.
    pub fn short(&self) -> String {
        if let Routing::NotRouted(why) = &self.routing {
            return why.clone();
        }
        let mut out = Vec::new();
        for s in self.selections.iter().filter(|s| s.matched == self.matched) {
            let items: Vec<String> = s
                .items
                .iter()
                .map(|i| {
                    let mut key = i.field.clone().unwrap_or_else(|| "keyword".into());
                    for m in &i.modifiers {
                        key.push('|');
                        key.push_str(m);
                    }
                    format!("{key} {}", i.matched_value.as_deref().unwrap_or(""))
                })
                .collect();
            out.push(format!("{}: {}", s.selection, items.join(", ")));
        }
        out.join("; ")
    }
}

impl Engine {
    /// Explains a match the hunt found: the selections that matched and, in each, what matched. `None` when `m`
    /// is not a match of this engine or names a correlation rule.
    pub fn explain_match(&self, m: Match, event: &Event) -> Option<Explanation> {
        let rule = self.rules.get(m.rule as usize)?;
        let rr = self.rule_routes.get(m.rule as usize)?.get(m.route as usize)?;
        if rule.is_correlation() {
            return None;
        }
        let mut e = self.evaluate(rule, rr, event);
        e.selections.retain(|s| s.matched);
        Some(e)
    }

    /// Explains rule number `rule` (an index into [`Engine::rules`]) on `event`, whether it matches or not: how the
    /// event is routed to the rule's logsource (or why not), then every selection with what matched or the
    /// first item that failed. `None` when there is no such rule or it is a correlation rule.
    pub fn explain(&self, rule: u32, event: &Event) -> Option<Explanation> {
        let compiled = self.rules.get(rule as usize)?;
        if compiled.is_correlation() {
            return None;
        }
        let routes = self.rule_routes.get(rule as usize)?;
        let kind = event.kind().map(|k| k.name);
        let id = event.event_id().and_then(|i| u32::try_from(i).ok());
        let selected = routes.iter().find(|rr| match rr.route.and_then(|r| self.routes.get(r as usize)) {
            Some(route) => {
                route.matches_event(kind, event.channel(), event.provider(), id) && conditions_hold(route, event)
            }
            None => true,
        });
        match selected {
            Some(rr) => Some(self.evaluate(compiled, rr, event)),
            None => Some(Explanation {
                matched: false,
                routing: Routing::NotRouted(self.not_routed_reason(compiled, routes, event)),
                selections: Vec::new(),
                removed_by: Vec::new(),
            }),
        }
    }

    fn evaluate(&self, rule: &CompiledRule, rr: &RuleRoute, event: &Event) -> Explanation {
        let mut ev = Prepared::new(&self.table);
        ev.load(event, &self.table, None);
        let map = &rr.map[..];
        let mut removed = Vec::new();
        let matched = rule.matches_filtered(&ev, map, &mut |i| removed.push(i));
        let filter_titles = self.rule_filter_titles(rule);
        let removed_by = removed.iter().filter_map(|i| filter_titles.get(*i).cloned()).collect();
        let mut selections = Vec::new();
        for (i, search) in rule.ir.searches.iter().enumerate() {
            if search.filter.is_some() {
                continue;
            }
            let sel_matched = rule.search_matches(i, &ev, map);
            let mut items = Vec::new();
            for (g, group) in search.groups.iter().enumerate() {
                let group_mods = search.modifiers.get(g);
                let explained: Vec<Vec<ItemExplanation>> = group
                    .iter()
                    .enumerate()
                    .map(|(k, item)| {
                        let m = group_mods.and_then(|m| m.get(k)).map_or(&[][..], |m| &m[..]);
                        explain_item(item, m, rule, &ev, map)
                    })
                    .collect();
                let group_matched = explained.iter().all(|x| x.iter().all(|i| i.matched));
                if sel_matched {
                    if group_matched {
                        items.extend(explained.into_iter().flatten());
                        break;
                    }
                } else if let Some(first) = explained.into_iter().flatten().find(|i| !i.matched) {
                    items.push(first);
                }
            }
            selections.push(SelectionExplanation { selection: search.name.clone(), matched: sel_matched, items });
        }
        let routing = Routing::Routed(match rr.route.and_then(|r| self.routes.get(r as usize)) {
            Some(route) => route_text(route),
            None => format!("every event (the logsource {} has no route)", logsource_text(&rule.info.logsource)),
        });
        Explanation { matched, routing, selections, removed_by }
    }

    fn rule_filter_titles(&self, rule: &CompiledRule) -> Vec<String> {
        let index = self.rules.iter().position(|r| std::ptr::eq(r, rule));
        index
            .and_then(|i| self.rule_filters.get(i))
            .map(|fs| fs.iter().filter_map(|f| self.filters().get(*f as usize)).map(|f| f.title.clone()).collect())
            .unwrap_or_default()
    }

    fn not_routed_reason(&self, rule: &CompiledRule, routes: &[RuleRoute], event: &Event) -> String {
        let wanted: Vec<String> =
            routes.iter().filter_map(|rr| rr.route.and_then(|r| self.routes.get(r as usize))).map(route_text).collect();
        let mut this = Vec::new();
        if let Some(k) = event.kind() {
            this.push(format!("a {} record", k.name));
        }
        if let Some(c) = event.channel() {
            this.push(format!("channel {c}"));
        }
        if let Some(p) = event.provider() {
            this.push(format!("provider {p}"));
        }
        if let Some(i) = event.event_id() {
            this.push(format!("event id {i}"));
        }
        let this = if this.is_empty() {
            "an event without channel, provider or event id".to_string()
        } else {
            this.join(", ")
        };
        // A route whose header fits but whose extra conditions the event does not meet.
        let kind = event.kind().map(|k| k.name);
        let id = event.event_id().and_then(|i| u32::try_from(i).ok());
        let unmet: Vec<String> = routes
            .iter()
            .filter_map(|rr| rr.route.and_then(|r| self.routes.get(r as usize)))
            .filter(|r| r.matches_event(kind, event.channel(), event.provider(), id))
            .flat_map(|r| r.conditions().iter().map(|c| format!("{} is one of {}", c.field(), c.values().join(", "))))
            .collect();
        let mut out = format!(
            "event not routed to this logsource because the rule's logsource {} reads {}, and this event is {this}",
            logsource_text(&rule.info.logsource),
            if wanted.is_empty() { "no route".to_string() } else { wanted.join("; ") },
        );
        if !unmet.is_empty() {
            out.push_str(&format!(" (its route also needs: {})", unmet.join("; ")));
        }
        out
    }
}

/// Explains a rule given as text (one rule file's YAML) on one event: what `sigil explain` and the web's "try an
/// event" do for a single rule. A rule whose logsource has no route explains as not routed, with the reason.
///
/// # Errors
/// When the text holds no detection rule that compiles: the rule's errors, as a message.
pub fn explain_rule_text(
    path: &str,
    yaml: &str,
    event: &Event,
    knowledge: &sigil_knowledge::Knowledge,
) -> Result<Explanation, String> {
    let set = sigil_rule::load_texts(&[(path, yaml)], &Default::default());
    let (engine, report) = Engine::build(&set, knowledge, &crate::EngineOptions::default());
    if let Some(i) = engine.rules().iter().position(|r| !r.is_correlation()) {
        return engine.explain(i as u32, event).ok_or_else(|| "the rule cannot be explained".to_string());
    }
    if let Some(u) = report.unrouted.first() {
        let why = u.why.as_deref().unwrap_or("no reader sigil has gives events of this logsource");
        return Ok(Explanation {
            matched: false,
            routing: Routing::NotRouted(format!(
                "event not routed to this logsource because {} has no route: {why}",
                u.logsource
            )),
            selections: Vec::new(),
            removed_by: Vec::new(),
        });
    }
    Err(match report.skipped.first() {
        Some(s) => format!(
            "the rule cannot be compiled: {}",
            match &s.reason {
                crate::SkipReason::FileErrors(first) => first.clone(),
                crate::SkipReason::Compile(e) => e.to_string(),
                crate::SkipReason::Correlation(e) => e.to_string(),
            }
        ),
        None => "the text holds no detection rule (correlation and filter rules cannot be explained on one event)"
            .to_string(),
    })
}

/// A route for people: `Security 4688`, `Microsoft-Windows-Sysmon/Operational 1`, `aws.cloudtrail records`.
fn route_text(route: &sigil_knowledge::Route) -> String {
    let mut parts = Vec::new();
    if !route.kinds().is_empty() {
        parts.push(format!("{} records", route.kinds().join("/")));
    }
    if !route.channels().is_empty() {
        parts.push(route.channels().join("/"));
    } else if !route.providers().is_empty() {
        parts.push(format!("provider {}", route.providers().join("/")));
    }
    if !route.event_ids().is_empty() {
        parts.push(format!("event id {}", route.event_ids().iter().map(u32::to_string).collect::<Vec<_>>().join("/")));
    }
    if parts.is_empty() { "any event".to_string() } else { parts.join(" ") }
}

/// Explains one item: one entry, or one per value for `all` (each value must match, each is shown).
fn explain_item(
    item: &Item,
    modifiers: &[&'static str],
    rule: &CompiledRule,
    ev: &Prepared,
    map: &[crate::prepared::FieldId],
) -> Vec<ItemExplanation> {
    let mut index = |name: &str| rule.fields.iter().position(|f| f == name).map_or(u16::MAX, |i| i as u16);
    let modifiers: Vec<String> = modifiers.iter().map(|m| (*m).to_string()).collect();
    let Ok(whole) = ItemMatcher::new(item, &mut index) else {
        return vec![ItemExplanation {
            field: item.field.clone(),
            modifiers,
            matched: false,
            matched_value: Some(values_text(&item.values)),
            event_value: None,
            note: Some("the item could not be compiled".into()),
        }];
    };
    let matched = whole.matches(ev, map);
    let atoms = whole.atoms(ev, map);
    // A keyword search reads every value of the event: only the one that matched is worth quoting.
    let field_text = || atoms.filter(|a| !a.is_empty() && item.field.is_some()).map(|a| atoms_text(a, ev));
    let absent = atoms.is_none().then(|| "field absent".to_string());
    if !matched || item.negated {
        // Failed (or `neq`, which holds when none of its values matches): the values, and the field as it is.
        let wanted = values_text(&item.values);
        return vec![ItemExplanation {
            field: item.field.clone(),
            modifiers,
            matched,
            matched_value: Some(if item.negated { format!("not {wanted}") } else { wanted }),
            event_value: field_text(),
            note: if matched { None } else { absent },
        }];
    }
    // Matched: name the value (after modifiers) that matched, and where. Under `all` every value did.
    let mut out = Vec::new();
    for v in &item.values {
        let singles: Vec<ValueSpec> = match v {
            ValueSpec::Patterns { alternatives, cased } => alternatives
                .iter()
                .map(|p| ValueSpec::Patterns { alternatives: vec![p.clone()], cased: *cased })
                .collect(),
            other => vec![other.clone()],
        };
        let mut found = None;
        for single in singles {
            let one = Item { field: item.field.clone(), all: false, negated: false, values: vec![single.clone()] };
            let Ok(m) = ItemMatcher::new(&one, &mut index) else { continue };
            if !m.matches(ev, map) {
                continue;
            }
            let event_value = match &single {
                ValueSpec::Null | ValueSpec::Exists(_) => field_text(),
                _ => m.matching_atom(ev, map).map(|a| cut(ev.text(a))),
            };
            let needle = match &single {
                ValueSpec::FieldRef { field, .. } => {
                    let other = rule
                        .fields
                        .iter()
                        .position(|f| f == field)
                        .and_then(|i| map.get(i))
                        .and_then(|id| ev.field(*id))
                        .map(|a| atoms_text(a, ev))
                        .unwrap_or_default();
                    format!("{} (value of {field}: {other})", value_text(&single))
                }
                _ => value_text(&single),
            };
            found = Some((needle, event_value));
            break;
        }
        match found {
            Some((needle, event_value)) => out.push(ItemExplanation {
                field: item.field.clone(),
                modifiers: modifiers.clone(),
                matched: true,
                matched_value: Some(needle),
                event_value,
                note: None,
            }),
            // Without `all` one value is enough: the others need not match.
            None if !item.all => {}
            None => out.push(ItemExplanation {
                field: item.field.clone(),
                modifiers: modifiers.clone(),
                matched: false,
                matched_value: Some(value_text(v)),
                event_value: field_text(),
                note: None,
            }),
        }
        if !item.all && !out.is_empty() {
            break;
        }
    }
    if out.is_empty() {
        // The whole item matched, though no single value did alone (cannot happen without `all`); say so plainly.
        out.push(ItemExplanation {
            field: item.field.clone(),
            modifiers,
            matched: true,
            matched_value: Some(values_text(&item.values)),
            event_value: field_text(),
            note: None,
        });
    }
    out
}

/// The values of an item, after modifiers, as one line.
fn values_text(values: &[ValueSpec]) -> String {
    let all: Vec<String> = values.iter().map(value_text).collect();
    if all.len() == 1 { all.into_iter().next().unwrap_or_default() } else { format!("[{}]", all.join(", ")) }
}

/// One value after modifiers: a wildcard pattern in Sigma syntax (several alternatives as a list), `/regex/i`, a
/// network, a comparison, `null`, `exists`.
fn value_text(v: &ValueSpec) -> String {
    match v {
        ValueSpec::Null => "null".into(),
        ValueSpec::Exists(b) => format!("exists: {b}"),
        ValueSpec::Bool(b) => b.to_string(),
        ValueSpec::Number(n) => crate::number_text(*n),
        ValueSpec::Patterns { alternatives, .. } => match alternatives.as_slice() {
            [one] => one.to_sigma(),
            many => format!("[{}]", many.iter().map(sigil_ir::Pattern::to_sigma).collect::<Vec<_>>().join(", ")),
        },
        ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
            let flags: String = [(*ignore_case, 'i'), (*multi_line, 'm'), (*dot_all, 's')]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, c)| *c)
                .collect();
            format!("/{pattern}/{flags}")
        }
        ValueSpec::Cidr(net) => net.to_string(),
        ValueSpec::Compare { part, op, value } => {
            let op = match op {
                CmpOp::Eq => "=",
                CmpOp::Lt => "<",
                CmpOp::Lte => "<=",
                CmpOp::Gt => ">",
                CmpOp::Gte => ">=",
            };
            match part {
                Some(p) => format!("{p:?} {op} {}", crate::number_text(*value)).to_lowercase(),
                None => format!("{op} {}", crate::number_text(*value)),
            }
        }
        ValueSpec::FieldRef { field, position, .. } => match position {
            Position::Exact => format!("fieldref {field}"),
            Position::Prefix => format!("fieldref {field}*"),
            Position::Suffix => format!("fieldref *{field}"),
            Position::Contains => format!("fieldref *{field}*"),
        },
    }
}

/// A field's atoms as text: one value as it is, several as a list.
fn atoms_text(atoms: &[Atom], ev: &Prepared) -> String {
    let one = |a: &Atom| if a.kind == AtomKind::Null { "null".to_string() } else { cut(ev.text(a)) };
    match atoms {
        [a] => one(a),
        many => format!("[{}]", many.iter().map(one).collect::<Vec<_>>().join(", ")),
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_VALUE_CHARS) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or(s)),
        None => s.to_string(),
    }
}
