//! SG2xx: metadata checks (id, status, level, dates, title, tags, related, logsource).

use sigil_diagnostics::Fix;
use sigil_knowledge::attack::{self, AttackTag, Lookup};
use sigil_rule::yaml::{Node, NodeValue};
use sigil_rule::{Level, RelationKind, Status, is_date, is_uuid};

use crate::context::{DocContext, Reporter};

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// A string-like scalar's text (numbers and booleans as written); `None` for null and collections.
fn text(node: &Node) -> Option<String> {
    match node.value {
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
        _ => node.scalar_text(),
    }
}

pub(crate) fn bad_id(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    if let Some(n) = cx.node.get("id")
        && let Some(id) = text(n)
        && !is_uuid(&id)
    {
        r.at(n, format!("id '{id}' is not a UUID"));
    }
    for item in cx.node.get("related").and_then(Node::as_seq).unwrap_or(&[]) {
        if let Some(n) = item.get("id")
            && let Some(id) = n.scalar_text()
            && !is_uuid(&id)
        {
            r.at(n, format!("related id '{id}' is not a UUID"));
        }
    }
}

pub(crate) fn bad_status(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    if let Some(n) = cx.node.get("status")
        && let Some(s) = text(n)
        && Status::from_name(&s).is_none()
    {
        r.at(n, format!("unknown status '{s}'")).help =
            Some("use one of stable, test, experimental, deprecated, unsupported".into());
    }
}

pub(crate) fn bad_level(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    if let Some(n) = cx.node.get("level")
        && let Some(s) = text(n)
        && Level::from_name(&s).is_none()
    {
        r.at(n, format!("unknown level '{s}'")).help =
            Some("use one of informational, low, medium, high, critical".into());
    }
}

fn dates<'a>(cx: &DocContext<'a>) -> impl Iterator<Item = (&'static str, &'a Node, String)> {
    ["date", "modified"].into_iter().filter_map(|key| {
        let n = cx.node.get(key)?;
        Some((key, n, text(n)?))
    })
}

pub(crate) fn bad_date(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    for (key, n, s) in dates(cx) {
        if !is_date(&s) && !is_date(&s.replace('/', "-")) {
            r.at(n, format!("{key} '{s}' is not a valid YYYY-MM-DD date")).help = Some("write YYYY-MM-DD".into());
        }
    }
}

pub(crate) fn old_date_form(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    for (key, n, s) in dates(cx) {
        let new = s.replace('/', "-");
        if s.contains('/') && is_date(&new) {
            // pySigma still reads YYYY/MM/DD, so this is a warning, not an error.
            let literal = cx.literal_span(n);
            let d = r.at(n, format!("{key} '{s}' uses the Sigma 1 form YYYY/MM/DD"));
            d.help = Some(format!("write {new}"));
            if let Some(span) = literal {
                d.span = Some(span);
                d.fix = Some(Fix::replace(format!("write {new}"), span, new));
            }
        }
    }
}

pub(crate) fn bad_title(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some(n) = cx.node.get("title") else { return };
    let Some(title) = text(n).or_else(|| matches!(n.value, NodeValue::Null).then(String::new)) else { return };
    let chars = title.chars().count();
    if title.trim().is_empty() {
        r.at(n, "title is empty");
    } else if chars > 256 {
        r.at(n, format!("title has {chars} characters, over the limit of 256"));
    }
}

pub(crate) fn bad_related(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    for item in cx.node.get("related").and_then(Node::as_seq).unwrap_or(&[]) {
        let (Some(_), Some(kind)) = (item.get("id"), item.get("type")) else {
            r.at(item, "a related entry needs 'id' and 'type'");
            continue;
        };
        let kind_text = kind.scalar_text().unwrap_or_default();
        if RelationKind::from_name(&kind_text).is_none() {
            r.at(kind, format!("unknown related type '{kind_text}'")).help =
                Some("use one of derived, obsolete, merged, renamed, similar".into());
        }
    }
}

pub(crate) fn bad_logsource(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some(ls) = cx.node.get("logsource") else { return };
    let Some(map) = ls.as_map() else { return };
    let mut named = false;
    for (k, v) in map {
        let Some(key @ ("category" | "product" | "service")) = k.as_str() else { continue };
        let Some(value) = text(v) else { continue };
        named = true;
        let conventional =
            value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
        if !conventional {
            r.at(v, format!("logsource {key} '{value}' should be lower case with '_', '-' or '.'"));
        }
    }
    if !named {
        r.at(ls, "logsource names no category, product or service");
    }
}

/// Why a tag is malformed (SG207), if it is.
fn tag_error(text: &str) -> Option<(String, Option<&'static str>)> {
    let Some((namespace, name)) = text.split_once('.') else {
        return Some((
            format!("tag '{text}' is not of the form namespace.name"),
            Some("e.g. attack.execution, attack.t1059.001, cve.2021-44228"),
        ));
    };
    let charset_ok = !namespace.is_empty()
        && !name.is_empty()
        && namespace.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !charset_ok {
        return Some((format!("tag '{text}' has characters outside [a-z0-9._-]"), Some("tags are lower case")));
    }
    match namespace_problem(namespace, name) {
        Some(TagProblem::Invalid(msg)) => Some((format!("tag '{text}': {msg}"), None)),
        _ => None,
    }
}

/// The tags to check: each distinct tag once (duplicates are SG208's).
fn distinct_tags<'a>(cx: &DocContext<'a>) -> Vec<(String, &'a Node)> {
    let mut seen = std::collections::HashSet::new();
    cx.tags().into_iter().filter(|(t, _)| seen.insert(t.clone())).collect()
}

pub(crate) fn bad_tag(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    for (text, n) in distinct_tags(cx) {
        if let Some((message, help)) = tag_error(&text) {
            r.at(n, message).help = help.map(str::to_string);
        }
    }
}

pub(crate) fn duplicate_tag(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let tags = cx.tags();
    for (i, (text, n)) in tags.iter().enumerate() {
        if let Some((_, first)) = tags.iter().take(i).find(|(t, _)| t == text) {
            let d = r.at(n, format!("duplicate tag '{text}'"));
            d.labels.push(crate::context::label(None, first.pos, Some(first.span), "first listed here"));
        }
    }
}

/// What an `attack.*` tag resolves to through the crosswalk: a message and the single successor tag, if any.
fn attack_renamed_uncached(text: &str) -> Option<(String, Option<String>)> {
    let data = attack::builtin()?;
    fn renamed<T>(lookup: &Lookup<'_, T>, tag: impl Fn(&T) -> String) -> Option<(String, Option<String>)> {
        match lookup {
            Lookup::Crosswalk { entry, to } => {
                let new: Vec<String> = to.iter().map(|t| tag(t)).collect();
                let single = match new.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                };
                Some((format!("is an old form ({}); use {}", entry.note, new.join(" / ")), single))
            }
            Lookup::Retired(entry) => Some((format!("was retired without replacement ({})", entry.note), None)),
            _ => None,
        }
    }
    match data.parse_tag(text)? {
        AttackTag::Tactic(l) => renamed(&l, |t| t.tag()),
        AttackTag::Technique(l) => renamed(&l, |t| t.tag()),
        _ => None,
    }
}

/// Whether an `attack.*` tag names nothing known: (what, release).
fn attack_unknown_uncached(text: &str) -> Option<(&'static str, &'static str)> {
    let data = attack::builtin()?;
    match data.parse_tag(text)? {
        AttackTag::Tactic(l) if !l.is_known() => Some(("tactic", data.version())),
        AttackTag::Technique(l) if !l.is_known() => Some(("technique", data.version())),
        _ => None,
    }
}

/// What the ATT&CK tables say about a tag, computed once per distinct tag and thread (tags repeat across a
/// corpus, and several checks ask).
#[derive(Clone)]
struct AttackFacts {
    renamed: Option<(String, Option<String>)>,
    unknown: Option<(&'static str, &'static str)>,
}

fn attack_facts(text: &str) -> AttackFacts {
    thread_local! {
        static CACHE: std::cell::RefCell<std::collections::HashMap<String, AttackFacts>> = Default::default();
    }
    CACHE.with(|c| {
        if let Some(f) = c.borrow().get(text) {
            return f.clone();
        }
        let facts = AttackFacts { renamed: attack_renamed_uncached(text), unknown: attack_unknown_uncached(text) };
        c.borrow_mut().insert(text.to_string(), facts.clone());
        facts
    })
}

fn attack_renamed(text: &str) -> Option<(String, Option<String>)> {
    attack_facts(text).renamed
}

fn attack_unknown(text: &str) -> Option<(&'static str, &'static str)> {
    attack_facts(text).unknown
}

fn is_attack(text: &str) -> bool {
    text.starts_with("attack.")
}

pub(crate) fn old_tag_form(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let all: Vec<String> = cx.tags().into_iter().map(|(t, _)| t).collect();
    for (text, n) in distinct_tags(cx) {
        let Some((namespace, name)) = text.split_once('.') else { continue };
        if tag_error(&text).is_some() {
            continue;
        }
        let Some(TagProblem::Old(message, new)) = namespace_problem(namespace, name) else { continue };
        // A tag the ATT&CK crosswalk resolves is reported as renamed (SG214), not as an old form.
        if is_attack(&text) && attack_renamed(&text).is_some() {
            continue;
        }
        let literal = cx.literal_span(n);
        let d = r.at(n, format!("tag '{text}': {message}"));
        // Safe only when the new form is current (not itself renamed) and not already listed.
        let new = new.filter(|t| !all.contains(t)).filter(|t| !is_attack(t) || attack_renamed(t).is_none());
        if let (Some(span), Some(new)) = (literal, new) {
            d.span = Some(span);
            d.fix = Some(Fix::replace(format!("write {new}"), span, new));
        }
    }
}

pub(crate) fn unknown_attack_tag(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    for (text, n) in distinct_tags(cx) {
        if !is_attack(&text) || tag_error(&text).is_some() {
            continue;
        }
        if let Some((what, version)) = attack_unknown(&text) {
            r.at(n, format!("'{text}' is not an ATT&CK {what} of release {version}"));
        }
    }
}

pub(crate) fn renamed_attack_tag(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let all: Vec<String> = cx.tags().into_iter().map(|(t, _)| t).collect();
    for (text, n) in distinct_tags(cx) {
        if !is_attack(&text) || tag_error(&text).is_some() || attack_unknown(&text).is_some() {
            continue;
        }
        let Some((message, single)) = attack_renamed(&text) else { continue };
        let literal = cx.literal_span(n);
        let d = r.at(n, format!("'{text}' {message}"));
        if let (Some(span), Some(new)) = (literal, single.filter(|t| !all.contains(t))) {
            d.span = Some(span);
            d.fix = Some(Fix::replace(format!("write {new}"), span, new));
        }
    }
}

pub(crate) enum TagProblem {
    Invalid(String),
    /// An old form, with the current form when there is one.
    Old(String, Option<String>),
}

/// Checks the form of a tag within its namespace (Sigma tags appendix).
pub(crate) fn namespace_problem(namespace: &str, name: &str) -> Option<TagProblem> {
    match namespace {
        "attack" => {
            let lower = name;
            let id_form = |prefix: char| {
                lower.strip_prefix(prefix).is_some_and(|rest| {
                    let (main, sub) = rest.split_once('.').map_or((rest, None), |(a, b)| (a, Some(b)));
                    all_digits(main) && main.len() == 4 && sub.is_none_or(|s| all_digits(s) && s.len() == 3)
                })
            };
            if id_form('t')
                || ["g", "s", "ds", "m", "a"]
                    .iter()
                    .any(|p| lower.strip_prefix(p).is_some_and(|r| all_digits(r) && r.len() == 4))
            {
                None
            } else if lower.chars().next().is_some_and(|c| c.is_ascii_digit())
                || (lower.starts_with('t') && lower.chars().nth(1).is_some_and(|c| c.is_ascii_digit()))
            {
                Some(TagProblem::Invalid("ATT&CK ids are tNNNN or tNNNN.NNN".into()))
            } else if lower.contains('_') {
                {
                    let new = format!("attack.{}", lower.replace('_', "-"));
                    Some(TagProblem::Old(format!("Sigma 2 tactic tags use dashes: {new}"), Some(new)))
                }
            } else if lower.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                None
            } else {
                Some(TagProblem::Invalid("not an ATT&CK id or tactic name".into()))
            }
        }
        "cve" => {
            let ok = name.split_once('-').is_some_and(|(y, n)| all_digits(y) && y.len() == 4 && all_digits(n));
            if ok {
                None
            } else if name.contains(['_', '.'])
                && name.replace(['_', '.'], "-").split_once('-').is_some_and(|(y, n)| all_digits(y) && all_digits(n))
            {
                {
                    let new = format!("cve.{}", name.replace(['_', '.'], "-"));
                    Some(TagProblem::Old(format!("Sigma 2 CVE tags use dashes: {new}"), Some(new)))
                }
            } else {
                Some(TagProblem::Invalid("CVE tags are cve.YYYY-NNNN".into()))
            }
        }
        "car" => {
            let parts: Vec<&str> = name.split('-').collect();
            let ok = matches!(parts.as_slice(), [y, m, n] if all_digits(y) && y.len() == 4 && all_digits(m) && m.len() == 2 && all_digits(n) && n.len() == 3);
            (!ok).then(|| TagProblem::Invalid("CAR tags are car.YYYY-MM-NNN".into()))
        }
        "tlp" => (!["red", "amber", "amber-strict", "green", "clear", "white"].contains(&name)).then(|| {
            TagProblem::Invalid("TLP tags are tlp.red, tlp.amber, tlp.amber-strict, tlp.green or tlp.clear".into())
        }),
        "detection" => match name {
            "dfir" | "emerging-threats" | "threat-hunting" => None,
            "emerging_threats" | "threat_hunting" => {
                let new = format!("detection.{}", name.replace('_', "-"));
                Some(TagProblem::Old(format!("Sigma 2 uses dashes: {new}"), Some(new)))
            }
            _ => Some(TagProblem::Invalid("detection tags are dfir, emerging-threats or threat-hunting".into())),
        },
        "stp" => {
            let ok = name.chars().next().is_some_and(|c| ('1'..='5').contains(&c))
                && name.len() <= 2
                && name.chars().nth(1).is_none_or(|c| matches!(c, 'a' | 'u' | 'k'));
            (!ok).then(|| TagProblem::Invalid("STP tags are stp.1 to stp.5, optionally followed by a, u or k".into()))
        }
        "d3fend" => None,
        other => Some(TagProblem::Old(format!("unknown tag namespace '{other}'"), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_forms() {
        assert!(namespace_problem("attack", "t1059.001").is_none());
        assert!(namespace_problem("attack", "command-and-control").is_none());
        assert!(namespace_problem("attack", "g0016").is_none());
        assert!(matches!(namespace_problem("attack", "t159"), Some(TagProblem::Invalid(_))));
        assert!(matches!(namespace_problem("attack", "defense_evasion"), Some(TagProblem::Old(..))));
        assert!(namespace_problem("cve", "2021-44228").is_none());
        assert!(matches!(namespace_problem("cve", "2021_44228"), Some(TagProblem::Old(..))));
        assert!(namespace_problem("car", "2016-04-005").is_none());
        assert!(namespace_problem("car", "2016-4-005").is_some());
        assert!(namespace_problem("tlp", "amber-strict").is_none());
        assert!(namespace_problem("stp", "2k").is_none());
        assert!(namespace_problem("stp", "6").is_some());
        assert!(matches!(namespace_problem("foo", "bar"), Some(TagProblem::Old(..))));
    }
}
