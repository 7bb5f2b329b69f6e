//! Indicators: one row per (field, kind, value) a rule looks for, and the key that compares them across rules.
//!
//! The kind says how a value is matched. It comes from the modifiers and, for plain values, from the wildcards
//! the value is written with, so equivalent spellings are one indicator: `Image|endswith: '\cmd.exe'` and
//! `Image: '*\cmd.exe'` are both `ends_with \cmd.exe`; `contains: '*x*'` is `match x`.
//!
//! Values compare as Sigma compares them: case-insensitively unless `cased`; escapes resolved (`\\` and `\` before
//! an ordinary character are the same backslash); regular expressions and field references exactly as written;
//! CIDR values as their network; numbers by value and booleans by their text (`4688` and `'4688'` are one,
//! as are `true` and `'true'`: event logs carry both as text). Transformations that change
//! what is matched (`windash`, `base64offset`, `wide`, `expand`, `neq`, regex flags, time parts) are part of the
//! key and listed in [`Indicator::notes`]; `all` is not (it joins values, each still an indicator).

use std::fmt;

use serde::{Deserialize, Serialize};
use sigil_rule::{FieldItem, StrPart, ValueKind};
use sigil_rule::{escape, modifiers::Modifier};

use crate::page::SourceCounts;

/// How an indicator value is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The whole value (`Image: 'C:\x.exe'`).
    Equals,
    /// `startswith`, or a value ending in `*`.
    StartsWith,
    /// `endswith`, or a value starting with `*`.
    EndsWith,
    /// `contains`, or a value wrapped in `*`.
    Match,
    /// A wildcard pattern anchored at both ends (`C:\*\x.exe`), or `*` alone (any value).
    Wildcard,
    /// `re`.
    Regex,
    /// `cidr`.
    Cidr,
    /// `exists`.
    Exists,
    /// `lt`.
    Lt,
    /// `lte`.
    Lte,
    /// `gt`.
    Gt,
    /// `gte`.
    Gte,
    /// `fieldref`: compared with another field of the event.
    FieldRef,
    /// A field-less value matched anywhere in the event.
    Keyword,
    /// `Field: null`: the field is absent or empty.
    Null,
}

impl Kind {
    /// Every kind, in display order.
    pub const ALL: [Kind; 15] = [
        Kind::Equals,
        Kind::StartsWith,
        Kind::EndsWith,
        Kind::Match,
        Kind::Wildcard,
        Kind::Regex,
        Kind::Cidr,
        Kind::Exists,
        Kind::Lt,
        Kind::Lte,
        Kind::Gt,
        Kind::Gte,
        Kind::FieldRef,
        Kind::Keyword,
        Kind::Null,
    ];

    /// The name used on pages and in JSON (`ends_with`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Equals => "equals",
            Kind::StartsWith => "starts_with",
            Kind::EndsWith => "ends_with",
            Kind::Match => "match",
            Kind::Wildcard => "wildcard",
            Kind::Regex => "regex",
            Kind::Cidr => "cidr",
            Kind::Exists => "exists",
            Kind::Lt => "lt",
            Kind::Lte => "lte",
            Kind::Gt => "gt",
            Kind::Gte => "gte",
            Kind::FieldRef => "fieldref",
            Kind::Keyword => "keyword",
            Kind::Null => "null",
        }
    }

    /// The kind named `name` ([`Kind::as_str`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What makes two indicators the same: field, kind, transformations and the normalised value.
///
/// Invariant: built only by [`IndicatorKey::of`] (or deserialised from one), so equal meaning gives equal keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndicatorKey {
    /// Field name as written; empty for keywords.
    pub field: String,
    /// How the value is matched.
    pub kind: Kind,
    /// Transformations and flags that change the match, `|`-joined in chain order (`windash`, `cased`, `neq`).
    pub variant: String,
    /// The normalised value.
    pub value: String,
}

impl IndicatorKey {
    /// The key of one value of a field item (`value` as written in the rule).
    pub fn of(field: Option<&str>, modifiers: &[Modifier], value: &ValueKind) -> IndicatorKey {
        classify(field, modifiers, value).key
    }

    /// The key of a value written as text under `field|modifiers` (modifier names as in rules). `None` when a
    /// modifier name is unknown.
    pub fn parse(field: Option<&str>, modifiers: &[&str], value: &str) -> Option<IndicatorKey> {
        let mods: Option<Vec<Modifier>> = modifiers.iter().map(|m| Modifier::from_name(m)).collect();
        let mods = mods?;
        let placeholders = mods.contains(&Modifier::Expand);
        let kind = ValueKind::String(sigil_rule::SigmaString::parse(value, placeholders));
        Some(IndicatorKey::of(field, &mods, &kind))
    }
}

/// One row of a page's indicator table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// Field name; `None` for keywords.
    pub field: Option<String>,
    /// How the value is matched.
    pub kind: Kind,
    /// The value as written.
    pub value: String,
    /// How many other rules of the catalog have the same indicator.
    pub corpus_count: usize,
    /// [`Indicator::corpus_count`] split by source (sources with no such rule are left out).
    pub corpus_by_source: SourceCounts,
    /// The modifiers as written.
    pub modifiers: Vec<String>,
    /// Transformations and flags that are part of the match (`windash`, `cased`, `neq`, `base64offset`).
    pub notes: Vec<String>,
    /// Search identifiers the indicator appears in.
    pub stages: Vec<String>,
    /// Whether every such stage is used only under `not` (the rule excludes this value).
    pub excluded: bool,
    /// The comparison key: field, kind, transformations and the normalised value the counts compare.
    pub key: IndicatorKey,
    /// For rules of other families: the predicate as the family writes it, when this row is a *mapped
    /// equivalent* of it (another field name or a rewritten value: `Processes.process_name = meshagent.exe`
    /// is `Image ends_with \meshagent.exe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped_from: Option<String>,
}

struct Classified {
    kind: Kind,
    notes: Vec<String>,
    key: IndicatorKey,
}

/// Modifiers that are part of an indicator's identity but not of its kind.
fn is_note(m: Modifier) -> bool {
    m.is_encoding()
        || m.is_base64()
        || m.is_regex_flag()
        || m.is_time_part()
        || matches!(m, Modifier::Windash | Modifier::Expand | Modifier::Cased | Modifier::Neq)
}

fn classify(field: Option<&str>, modifiers: &[Modifier], value: &ValueKind) -> Classified {
    let has = |m: Modifier| modifiers.contains(&m);
    let mut notes: Vec<String> = modifiers.iter().filter(|m| is_note(**m)).map(|m| m.name().to_string()).collect();
    let cased = has(Modifier::Cased);
    let (kind, normalized) = if field.is_none() {
        let (_, text) = pattern(value, true, true, cased);
        (Kind::Keyword, text)
    } else if has(Modifier::Exists) {
        (Kind::Exists, value.text().to_ascii_lowercase())
    } else if has(Modifier::Re) {
        (Kind::Regex, raw(value))
    } else if has(Modifier::Cidr) {
        let text = raw(value);
        let net = sigil_rule::parse_network(text.trim()).map(|n| n.trunc().to_string());
        (Kind::Cidr, net.unwrap_or_else(|| text.to_ascii_lowercase()))
    } else if let Some(cmp) = modifiers.iter().find(|m| m.is_comparison()) {
        let kind = match cmp {
            Modifier::Lt => Kind::Lt,
            Modifier::Lte => Kind::Lte,
            Modifier::Gt => Kind::Gt,
            _ => Kind::Gte,
        };
        (kind, number_text(value))
    } else if has(Modifier::FieldRef) {
        notes.extend(modifiers.iter().filter(|m| m.is_position()).map(|m| m.name().to_string()));
        (Kind::FieldRef, raw(value))
    } else if matches!(value, ValueKind::Null) {
        (Kind::Null, "null".to_string())
    } else {
        let before = has(Modifier::Contains) || has(Modifier::EndsWith);
        let after = has(Modifier::Contains) || has(Modifier::StartsWith);
        pattern(value, before, after, cased)
    };
    let key = IndicatorKey {
        field: field.unwrap_or_default().to_string(),
        kind,
        variant: notes.join("|"),
        value: normalized,
    };
    Classified { kind, notes, key }
}

fn raw(value: &ValueKind) -> String {
    match value {
        ValueKind::String(s) => s.raw.clone(),
        other => other.text(),
    }
}

fn number_text(value: &ValueKind) -> String {
    match value {
        ValueKind::Int(i) => i.to_string(),
        ValueKind::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
        ValueKind::Float(f) => f.to_string(),
        ValueKind::String(s) => {
            let t = s.raw.trim();
            match t.parse::<i64>() {
                Ok(i) => i.to_string(),
                Err(_) => t.to_ascii_lowercase(),
            }
        }
        other => other.text(),
    }
}

#[derive(Clone, PartialEq)]
enum Tok {
    Lit(String),
    Any,
    One,
    Placeholder(String),
}

/// Classifies a string-like value by its effective wildcard pattern (`before`/`after`: a `*` the position
/// modifiers add) and renders the normalised text of the part between the outer wildcards.
fn pattern(value: &ValueKind, before: bool, after: bool, cased: bool) -> (Kind, String) {
    let mut toks: Vec<Tok> = Vec::new();
    if before {
        toks.push(Tok::Any);
    }
    match value {
        ValueKind::String(s) => {
            for p in &s.parts {
                toks.push(match p {
                    StrPart::Literal(l) => Tok::Lit(l.clone()),
                    StrPart::AnyRun => Tok::Any,
                    StrPart::AnyChar => Tok::One,
                    StrPart::Placeholder(n) => Tok::Placeholder(n.clone()),
                });
            }
        }
        ValueKind::Int(_) | ValueKind::Float(_) => toks.push(Tok::Lit(number_text(value))),
        other => toks.push(Tok::Lit(other.text())),
    }
    if after {
        toks.push(Tok::Any);
    }
    toks.dedup_by(|a, b| *a == Tok::Any && *b == Tok::Any);
    let lead = toks.first() == Some(&Tok::Any);
    let trail = toks.len() > 1 && toks.last() == Some(&Tok::Any);
    let start = usize::from(lead);
    let end = toks.len().saturating_sub(usize::from(trail));
    let core = toks.get(start..end).unwrap_or_default();
    let mut text = String::new();
    for t in core {
        match t {
            Tok::Lit(l) => {
                let l = escape(l);
                text.push_str(&if cased { l } else { l.to_lowercase() });
            }
            Tok::Any => text.push('*'),
            Tok::One => text.push('?'),
            Tok::Placeholder(n) => {
                text.push('%');
                text.push_str(n);
                text.push('%');
            }
        }
    }
    let kind = if core.is_empty() {
        if lead { Kind::Wildcard } else { Kind::Equals }
    } else {
        match (lead, trail) {
            (true, true) => Kind::Match,
            (true, false) => Kind::EndsWith,
            (false, true) => Kind::StartsWith,
            (false, false) if core.iter().any(|t| matches!(t, Tok::Any | Tok::One)) => Kind::Wildcard,
            (false, false) => Kind::Equals,
        }
    };
    let text = if core.is_empty() && lead { "*".to_string() } else { text };
    (kind, text)
}

/// The indicators of one field item, one per value.
pub(crate) fn of_item(item: &FieldItem, stage: &str, excluded: bool) -> Vec<Indicator> {
    let modifiers: Vec<String> = item.modifiers.iter().map(|m| m.name().to_string()).collect();
    item.values
        .iter()
        .map(|v| {
            let c = classify(item.field.as_deref(), &item.modifiers, &v.kind);
            Indicator {
                field: item.field.clone(),
                kind: c.kind,
                value: raw(&v.kind),
                corpus_count: 0,
                corpus_by_source: SourceCounts::default(),
                modifiers: modifiers.clone(),
                notes: c.notes,
                stages: vec![stage.to_string()],
                excluded,
                key: c.key,
                mapped_from: None,
            }
        })
        .collect()
}

/// Merges indicators with the same key (keeping the first spelling in sort order) and sorts them by field
/// (keywords last), kind, transformations, exclusion and value.
pub(crate) fn merge_and_sort(mut list: Vec<Indicator>) -> Vec<Indicator> {
    list.sort_by(|a, b| (a.field.is_none(), &a.key).cmp(&(b.field.is_none(), &b.key)));
    list.dedup_by(|later, kept| {
        if later.key != kept.key {
            return false;
        }
        for s in later.stages.drain(..) {
            if !kept.stages.contains(&s) {
                kept.stages.push(s);
            }
        }
        kept.excluded &= later.excluded;
        true
    });
    // Keys are unique now, so the normalised value completes a total order.
    list.sort_unstable_by(|a, b| {
        (a.field.is_none(), &a.key.field, a.key.kind, &a.key.variant, a.excluded, &a.key.value).cmp(&(
            b.field.is_none(),
            &b.key.field,
            b.key.kind,
            &b.key.variant,
            b.excluded,
            &b.key.value,
        ))
    });
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(field: &str, mods: &[&str], value: &str) -> IndicatorKey {
        IndicatorKey::parse(Some(field), mods, value).unwrap()
    }

    fn kv(field: &str, mods: &[&str], value: &str) -> (Kind, String) {
        let k = key(field, mods, value);
        (k.kind, k.value)
    }

    #[test]
    fn kinds_follow_modifiers_as_the_seeds_show() {
        assert_eq!(kv("Image", &["endswith"], r"\cmd.exe"), (Kind::EndsWith, r"\\cmd.exe".into()));
        assert_eq!(kv("Image", &["contains"], r"\Windows\Action1\"), (Kind::Match, r"\\windows\\action1\\".into()));
        assert_eq!(kv("Image", &["startswith"], r"C:\Temp\").0, Kind::StartsWith);
        assert_eq!(kv("Image", &[], r"C:\x.exe").0, Kind::Equals);
        assert_eq!(kv("CommandLine", &["re"], "a.*B").0, Kind::Regex);
        assert_eq!(kv("DestinationIp", &["cidr"], "10.0.0.0/8").0, Kind::Cidr);
        assert_eq!(kv("Image", &["exists"], "true").0, Kind::Exists);
        assert_eq!(kv("Size", &["gte"], "10").0, Kind::Gte);
        assert_eq!(kv("Size", &["lt"], "10").0, Kind::Lt);
        assert_eq!(kv("User", &["fieldref"], "TargetUser").0, Kind::FieldRef);
        assert_eq!(IndicatorKey::parse(None, &[], "mimikatz").unwrap().kind, Kind::Keyword);
        assert_eq!(IndicatorKey::of(Some("X"), &[], &ValueKind::Null).kind, Kind::Null);
    }

    #[test]
    fn equivalent_spellings_share_a_key() {
        assert_eq!(key("Image", &["endswith"], r"\cmd.exe"), key("Image", &[], r"*\cmd.exe"));
        assert_eq!(key("Image", &["endswith"], r"\CMD.EXE"), key("Image", &["endswith"], r"\cmd.exe"));
        assert_eq!(key("Image", &["endswith"], r"\\cmd.exe"), key("Image", &["endswith"], r"\cmd.exe"));
        assert_eq!(key("Image", &["contains"], "*x*"), key("Image", &["contains"], "x"));
        assert_eq!(key("Image", &[], "*x*"), key("Image", &["contains"], "x"));
        assert_eq!(key("Image", &["startswith"], "x*"), key("Image", &[], "x*"));
        assert_eq!(key("Image", &["endswith"], "x*").kind, Kind::Match);
        assert_eq!(key("Image", &["contains", "all"], "x"), key("Image", &["contains"], "x"));
        assert_eq!(key("EventID", &[], "4688"), IndicatorKey::of(Some("EventID"), &[], &ValueKind::Int(4688)));
        assert_eq!(key("Ip", &["cidr"], "10.1.2.3/8"), key("Ip", &["cidr"], "10.0.0.0/8"));
        assert_eq!(key("Size", &["gte"], "10"), IndicatorKey::of(Some("Size"), &[Modifier::Gte], &ValueKind::Int(10)));
    }

    #[test]
    fn differences_that_matter_are_kept() {
        assert_ne!(key("Image", &["endswith", "cased"], r"\CMD.exe"), key("Image", &["endswith"], r"\CMD.exe"));
        assert_ne!(key("Image", &["cased"], "A"), key("Image", &["cased"], "a"));
        assert_ne!(key("CommandLine", &["contains", "windash"], " -x"), key("CommandLine", &["contains"], " -x"));
        assert_ne!(key("CommandLine", &["base64offset", "contains"], "x"), key("CommandLine", &["contains"], "x"));
        assert_ne!(key("CommandLine", &["re"], "A"), key("CommandLine", &["re"], "a"));
        assert_ne!(key("Image", &[], "x"), key("image2", &[], "x"));
        assert_ne!(key("Image", &["contains"], r"a\*b"), key("Image", &["contains"], "a*b"));
        assert_eq!(key("Image", &["contains"], "a*b").kind, Kind::Match);
        assert_eq!(key("Image", &[], r"C:\\*\x.exe").kind, Kind::Wildcard);
        assert_eq!(key("Image", &[], r"C:\*\x.exe").kind, Kind::Equals);
        assert_eq!(
            key("Image", &[], "*"),
            IndicatorKey { field: "Image".into(), kind: Kind::Wildcard, variant: String::new(), value: "*".into() }
        );
        assert_eq!(key("CommandLine", &["contains", "windash"], " -x").variant, "windash");
    }

    #[test]
    fn notes_list_transformations() {
        let c = classify(Some("C"), &[Modifier::Wide, Modifier::Base64Offset, Modifier::Contains], &ValueKind::Int(1));
        assert_eq!(c.notes, ["wide", "base64offset"]);
        assert_eq!(c.kind, Kind::Match);
        let c = classify(Some("C"), &[Modifier::Re, Modifier::ReIgnoreCase], &ValueKind::Int(1));
        assert_eq!((c.kind, c.notes), (Kind::Regex, vec!["i".to_string()]));
        assert_eq!(Kind::from_name("ends_with"), Some(Kind::EndsWith));
        assert!(Kind::ALL.iter().all(|k| Kind::from_name(k.as_str()) == Some(*k)));
    }
}
