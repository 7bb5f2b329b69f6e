//! Rules of other families (Splunk, Elastic, Sentinel, Chronicle, Panther) as catalog pages, loaded by
//! `sigil_families`: their ATT&CK ids resolved like Sigma tags, their data sources and mapped fields giving
//! event coverage, their query's predicates as indicators over Sigma's field names (a mapped equivalent says
//! so in [`crate::Indicator::mapped_from`]), counted with every other rule's.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;
use sigil_diagnostics::{Diagnostic, FileDiagnostic, Position};
use sigil_families::{Extraction, Family, FamilyRule, Mappings};
use sigil_knowledge::Knowledge;

use crate::attack;
use crate::catalog::{Catalog, FailedFile};
use crate::indicator::{Indicator, IndicatorKey, merge_and_sort};
use crate::page::{AttackOther, Coverage, LogsourceInfo, RuleKind, RuleLink, RulePage, SourceCounts};
use crate::source::SourceSpec;

/// A non-Sigma rule's query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QueryInfo {
    /// Its language (`spl`, `eql`, `kuery`, `esql`, `kusto`, `yaral`, `python`).
    pub language: String,
    /// The query as written.
    pub text: String,
    /// The query as parsed when it differs (SPL with macros expanded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expanded: Option<String>,
    /// Whether indicators were extracted (the query is inside the parser's subset).
    pub extracted: bool,
    /// Why not, when not: "indicators not extracted: …".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The family's data sources (`Sysmon EventID 1`, `DeviceProcessEvents (MicrosoftThreatProtection)`).
    pub data_sources: Vec<String>,
    /// The family's own rule type (`TTP`, `eql`, `Scheduled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_type: Option<String>,
}

/// Rules of one family in the catalog and how many of their queries were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FamilyCount {
    /// `sigma`, `splunk`, ...
    pub family: String,
    /// Pages.
    pub rules: usize,
    /// Rules whose indicators were extracted (Sigma: every rule).
    pub parsed: usize,
    /// Rules whose query is outside the parser's subset (shown with "indicators not extracted").
    pub not_extracted: usize,
    /// Indicator rows.
    pub indicators: usize,
    /// Rows that are mapped equivalents.
    pub mapped_indicators: usize,
}

/// A rule of another family that shares indicators with a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CrossFamily {
    /// The rule.
    pub rule: RuleLink,
    /// Its family.
    pub family: String,
    /// Its source.
    pub source: String,
    /// The shared indicators, as `field kind value` (`Image ends_with \meshagent.exe`).
    pub shared: Vec<String>,
}

/// The family of a source: named after a family (`splunk=PATH`) or, failing that, recognised from its files.
pub(crate) fn family_of(spec: &SourceSpec) -> Family {
    if let Some(f) = Family::from_name(&spec.name) {
        return f;
    }
    spec.paths.iter().find_map(|p| sigil_families::detect(p)).unwrap_or(Family::Sigma)
}

/// A loaded non-Sigma source.
pub(crate) struct Foreign {
    /// The source name.
    pub(crate) name: String,
    /// Its pages (keys not yet assigned).
    pub(crate) pages: Vec<RulePage>,
    /// Files that gave no page.
    pub(crate) failed: Vec<FailedFile>,
    /// Rule files read.
    pub(crate) files: usize,
}

/// Loads a non-Sigma source: its pages and the files that gave none.
pub(crate) fn load(spec: &SourceSpec, family: Family, knowledge: &Knowledge) -> Foreign {
    let loaded = sigil_families::load(family, &spec.paths);
    let failed = loaded
        .errors
        .iter()
        .map(|e| FailedFile {
            source: spec.name.clone(),
            path: e.path.clone(),
            diagnostics: vec![FileDiagnostic::new(
                e.path.clone(),
                Diagnostic::error(sigil_rule::codes::NOT_A_RULE, Position::UNKNOWN, e.message.clone()),
            )],
        })
        .collect();
    let name = spec.name.clone();
    let Ok(mappings) = Mappings::builtin() else {
        return Foreign { name, pages: Vec::new(), failed, files: loaded.files };
    };
    let tags: Vec<String> = loaded.rules.iter().flat_map(|r| r.techniques.iter().map(|t| tag(t))).collect();
    let cache = attack::TagCache::new(tags.iter().map(String::as_str), knowledge.attack());
    let pages = loaded.rules.into_par_iter().map(|r| page(r, &spec.name, knowledge, mappings, &cache)).collect();
    Foreign { name, pages, failed, files: loaded.files }
}

fn tag(technique: &str) -> String {
    format!("attack.{}", technique.to_ascii_lowercase())
}

fn page(r: FamilyRule, source: &str, knowledge: &Knowledge, mappings: &Mappings, cache: &attack::TagCache) -> RulePage {
    let tags: Vec<String> = r.techniques.iter().map(|t| tag(t)).collect();
    let att = attack::resolve(tags.iter().map(String::as_str), knowledge.attack(), cache);
    let stage = r.language.as_str().to_string();
    let indicators: Vec<Indicator> = mappings
        .indicators(r.family, &r.predicates)
        .into_iter()
        .filter_map(|m| {
            let key = IndicatorKey::parse(m.field.as_deref(), &m.modifiers, &m.value)?;
            Some(Indicator {
                field: m.field.clone(),
                kind: key.kind,
                value: display_value(&m.value, key.kind, m.modifiers.contains(&"re")),
                corpus_count: 0,
                corpus_by_source: SourceCounts::default(),
                modifiers: m.modifiers.iter().map(|s| (*s).to_string()).collect(),
                notes: if key.variant.is_empty() { Vec::new() } else { vec![key.variant.clone()] },
                stages: vec![stage.clone()],
                excluded: m.excluded,
                key,
                mapped_from: m.mapped.then(|| m.original.clone()),
            })
        })
        .collect();
    let indicators = merge_and_sort(indicators);
    // Event coverage: the data sources (and the query's event kinds) give the logsource and event ids; the
    // mapped Sigma fields (positive ones) must be on the event, as for Sigma rules.
    let mut names = r.data_sources.clone();
    names.extend(r.event_kinds.iter().cloned());
    let windows = r.platform.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("windows"));
    let hint = mappings.logsource(r.family, &names).filter(|_| windows || r.family == Family::Splunk);
    let logsource = hint
        .as_ref()
        .map(|h| LogsourceInfo {
            product: h.product.clone(),
            category: h.category.clone(),
            service: h.service.clone(),
            ..LogsourceInfo::default()
        })
        .unwrap_or_default();
    let mut fields: Vec<String> = indicators
        .iter()
        .filter(|i| !i.excluded)
        .filter_map(|i| i.field.clone())
        .filter(|f| knowledge_field(f))
        .collect();
    fields.sort();
    fields.dedup();
    let ids = hint.as_ref().map(|h| h.ids.clone()).filter(|i| !i.is_empty());
    let (events, coverage) = if hint.is_some() {
        crate::coverage::compute(&logsource, &fields, ids.as_deref(), knowledge)
    } else {
        (Vec::new(), Coverage { logsource: names.join(", "), ..Coverage::default() })
    };
    let note = match &r.extraction {
        Extraction::Parsed => None,
        Extraction::NotExtracted { reason } => Some(format!("indicators not extracted: {reason}")),
    };
    let file_stem = r.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    RulePage {
        id: r.id.clone(),
        title: r.title.clone(),
        status: r.status.clone(),
        level: r.severity.clone(),
        description: r.description.clone(),
        author: r.author.clone(),
        date: r.date.clone(),
        modified: r.modified.clone(),
        references: r.references.clone(),
        falsepositives: r.falsepositives.clone(),
        tags,
        logsource,
        source: source.to_string(),
        path: r.path.display().to_string(),
        rel_path: String::new(),
        yaml: r.text.clone(),
        attack: att.rows,
        events,
        stages: Vec::new(),
        indicators,
        key: String::new(),
        kind: RuleKind::Rule,
        name: None,
        license: None,
        taxonomy: None,
        file_stem,
        document: 0,
        tactics: att.tactics,
        techniques: att.techniques,
        attack_other: AttackOther { unknown: att.other.unknown, retired: att.other.retired, ..AttackOther::default() },
        related: Vec::new(),
        coverage,
        correlation: None,
        filter: None,
        correlated_by: Vec::new(),
        filtered_by: Vec::new(),
        regression: None,
        custom: serde_json::Map::new(),
        diagnostics: Vec::new(),
        family: r.family.as_str().to_string(),
        query: Some(QueryInfo {
            language: r.language.as_str().to_string(),
            text: r.query,
            expanded: r.expanded_query,
            extracted: r.extraction.is_parsed(),
            note,
            data_sources: r.data_sources,
            rule_type: r.rule_type,
        }),
    }
}

/// The value as a reader sees it beside its kind: the wildcards the kind stands for dropped (`*\\x.exe`
/// with `ends_with` is `\x.exe`) and Sigma escapes resolved, as Sigma pages show values as written.
fn display_value(sigma: &str, kind: crate::Kind, regex: bool) -> String {
    if regex {
        return sigma.to_string();
    }
    let mut v = sigma;
    if matches!(kind, crate::Kind::EndsWith | crate::Kind::Match) {
        v = v.strip_prefix('*').unwrap_or(v);
    }
    if matches!(kind, crate::Kind::StartsWith | crate::Kind::Match)
        && let Some(rest) = v.strip_suffix('*')
        && rest.chars().rev().take_while(|c| *c == '\\').count() % 2 == 0
    {
        // An even run of backslashes before the `*` are escaped backslashes: the `*` is a wildcard.
        v = rest;
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('\\' | '*' | '?')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Sigma field names (capitalised, no dots): the ones event schemas can carry. Unmapped foreign fields
/// (`Processes.dest`, `isIOC`) are not event fields and are left out of coverage.
fn knowledge_field(f: &str) -> bool {
    f.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && !f.contains(['.', '[', ' '])
}

impl Catalog {
    /// Pages by family, with how many queries were read (`/stats`).
    pub fn families(&self) -> Vec<FamilyCount> {
        let mut out: Vec<FamilyCount> = Vec::new();
        for p in &self.pages {
            let i = match out.iter().position(|f| f.family == p.family) {
                Some(i) => i,
                None => {
                    out.push(FamilyCount {
                        family: p.family.clone(),
                        rules: 0,
                        parsed: 0,
                        not_extracted: 0,
                        indicators: 0,
                        mapped_indicators: 0,
                    });
                    out.len() - 1
                }
            };
            let Some(f) = out.get_mut(i) else { continue };
            f.rules += 1;
            match &p.query {
                Some(q) if !q.extracted => f.not_extracted += 1,
                _ => f.parsed += 1,
            }
            f.indicators += p.indicators.len();
            f.mapped_indicators += p.indicators.iter().filter(|i| i.mapped_from.is_some()).count();
        }
        out
    }

    /// Rules of *other* families that look for the same indicators as page `index` (excluded values aside),
    /// most shared first: the cross-family duplicates.
    pub fn same_in_other_families(&self, index: usize) -> Vec<CrossFamily> {
        let Some(page) = self.pages.get(index) else { return Vec::new() };
        let mut shared: HashMap<usize, Vec<String>> = HashMap::new();
        for ind in page.indicators.iter().filter(|i| !i.excluded) {
            let Some(list) = self.index.by_indicator.get(&ind.key) else { continue };
            for &other in list {
                let Some(o) = self.pages.get(other) else { continue };
                if o.family == page.family {
                    continue;
                }
                let field = ind.field.as_deref().unwrap_or("keyword");
                let label = format!("{field} {} {}", ind.kind.as_str(), ind.value);
                let e = shared.entry(other).or_default();
                if !e.contains(&label) {
                    e.push(label);
                }
            }
        }
        let mut out: Vec<CrossFamily> = shared
            .into_iter()
            .filter_map(|(i, shared)| {
                let o = self.pages.get(i)?;
                Some(CrossFamily {
                    rule: RuleLink {
                        reference: o.id.clone().unwrap_or_else(|| o.key.clone()),
                        key: Some(o.key.clone()),
                        title: Some(o.title.clone()),
                    },
                    family: o.family.clone(),
                    source: o.source.clone(),
                    shared,
                })
            })
            .collect();
        out.sort_by(|a, b| b.shared.len().cmp(&a.shared.len()).then_with(|| a.rule.title.cmp(&b.rule.title)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    #[test]
    fn values_display_as_sigma_pages_show_them() {
        assert_eq!(display_value("*\\\\meshagent.exe", Kind::EndsWith, false), "\\meshagent.exe");
        assert_eq!(display_value("*7z*", Kind::Match, false), "7z");
        assert_eq!(display_value("C:\\\\Temp\\\\*", Kind::StartsWith, false), "C:\\Temp\\");
        assert_eq!(display_value("a\\*", Kind::Equals, false), "a*");
        assert_eq!(display_value("^a\\\\b$", Kind::Regex, true), "^a\\\\b$");
    }
}
