//! Corpus-wide figures: rules by status, level, logsource, tactic and technique; the most shared indicators;
//! rules without an ATT&CK tag; rules that can fire on no described event.

use serde::Serialize;
use sigil_knowledge::Knowledge;

use crate::catalog::{Index, SourceInfo, ranked};
use crate::indicator::Kind;
use crate::page::{CoverageGap, RuleKind, RuleLink, RulePage, SourceCounts};

/// How many indicators [`CorpusStats::top_indicators`] lists.
pub const TOP_INDICATORS: usize = 50;

/// A value and how many pages have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The value (`medium`, `command-and-control`, `T1059.001`, `windows / process_creation`).
    pub value: String,
    /// How to show it (tactic and technique names; otherwise the value).
    pub label: String,
    /// Pages.
    pub count: usize,
}

/// An indicator shared by several rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedIndicator {
    /// Field (`None` for keywords).
    pub field: Option<String>,
    /// Kind.
    pub kind: Kind,
    /// The value as first written in the corpus.
    pub value: String,
    /// Transformations that are part of it.
    pub notes: Vec<String>,
    /// Rules using it.
    pub rules: usize,
    /// Split by source.
    pub by_source: SourceCounts,
}

/// A rule with no described event, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoEvent {
    /// The rule.
    pub rule: RuleLink,
    /// Its logsource.
    pub logsource: String,
    /// Why no event is listed, in words.
    pub reason: String,
    /// Why no event is listed, as a category.
    pub gap: Option<CoverageGap>,
    /// Fields no candidate event carries, when that is the reason.
    pub missing_fields: Vec<String>,
}

/// Corpus statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorpusStats {
    /// Pages.
    pub pages: usize,
    /// Pages by kind (rule, correlation, filter).
    pub by_kind: Vec<Count>,
    /// Pages by source.
    pub by_source: Vec<Count>,
    /// Files that produced no page.
    pub failed_files: usize,
    /// By status (stable, test, experimental, deprecated, unsupported, then none).
    pub by_status: Vec<Count>,
    /// By level (critical down to informational, then none).
    pub by_level: Vec<Count>,
    /// By logsource (`product / category / service`), most frequent first.
    pub by_logsource: Vec<Count>,
    /// By product.
    pub by_product: Vec<Count>,
    /// By tactic, in matrix order (tactics with no rule included).
    pub by_tactic: Vec<Count>,
    /// By technique, most frequent first.
    pub by_technique: Vec<Count>,
    /// By year of `date`, oldest first (pages without a date left out).
    pub by_year: Vec<Count>,
    /// Distinct indicators in the corpus.
    pub distinct_indicators: usize,
    /// The most shared indicators (at most [`TOP_INDICATORS`]).
    pub top_indicators: Vec<SharedIndicator>,
    /// Rules and correlations with no `attack.*` tag.
    pub without_attack: Vec<RuleLink>,
    /// Detection rules that can fire on no described event.
    pub without_event: Vec<NoEvent>,
}

fn link(p: &RulePage) -> RuleLink {
    RuleLink {
        reference: p.id.clone().unwrap_or_else(|| p.key.clone()),
        key: Some(p.key.clone()),
        title: Some(p.title.clone()),
    }
}

fn counts(values: Vec<(String, usize)>) -> Vec<Count> {
    values.into_iter().map(|(value, count)| Count { label: value.clone(), value, count }).collect()
}

/// Counts in a fixed order of known values, then any others, then "none".
fn ordered(known: &[&str], values: impl IntoIterator<Item = Option<String>>) -> Vec<Count> {
    let mut none = 0;
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        match v {
            Some(v) => seen.push(v),
            None => none += 1,
        }
    }
    let ranked = ranked(seen.iter().map(String::as_str));
    let mut out: Vec<Count> = Vec::new();
    for k in known {
        if let Some((v, n)) = ranked.iter().find(|(v, _)| v == k) {
            out.push(Count { value: v.clone(), label: v.clone(), count: *n });
        }
    }
    for (v, n) in &ranked {
        if !known.contains(&v.as_str()) {
            out.push(Count { value: v.clone(), label: v.clone(), count: *n });
        }
    }
    if none > 0 {
        out.push(Count { value: "none".to_string(), label: "(none)".to_string(), count: none });
    }
    out
}

impl CorpusStats {
    pub(crate) fn compute(
        pages: &[RulePage],
        index: &Index,
        sources: &[SourceInfo],
        failed_files: usize,
        knowledge: &Knowledge,
    ) -> CorpusStats {
        let attack = knowledge.attack();
        let by_kind = counts(ranked(pages.iter().map(|p| p.kind.as_str())));
        let by_source = sources
            .iter()
            .map(|s| Count {
                value: s.name.clone(),
                label: s.name.clone(),
                count: pages.iter().filter(|p| p.source == s.name).count(),
            })
            .collect();
        let by_status = ordered(
            &["stable", "test", "experimental", "deprecated", "unsupported"],
            pages.iter().map(|p| p.status.clone()),
        );
        let by_level =
            ordered(&["critical", "high", "medium", "low", "informational"], pages.iter().map(|p| p.level.clone()));
        let detection: Vec<&RulePage> = pages.iter().filter(|p| p.kind != RuleKind::Correlation).collect();
        let labels: Vec<String> = detection.iter().map(|p| p.logsource.label()).collect();
        let by_logsource = counts(ranked(labels.iter().map(String::as_str)));
        let products: Vec<String> =
            detection.iter().map(|p| p.logsource.product.clone().unwrap_or_else(|| "(none)".into())).collect();
        let by_product = counts(ranked(products.iter().map(String::as_str)));
        let by_tactic = attack
            .tactics()
            .iter()
            .map(|t| Count {
                value: t.shortname.to_string(),
                label: t.display.to_string(),
                count: index.by_tactic.get(t.shortname).map_or(0, Vec::len),
            })
            .collect();
        let mut by_technique: Vec<Count> = index
            .by_technique
            .iter()
            .map(|(id, list)| Count {
                value: id.clone(),
                label: attack.technique(id).map_or_else(|| id.clone(), |t| format!("{} {}", t.id, t.display)),
                count: list.len(),
            })
            .collect();
        by_technique.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        let mut years: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for p in pages {
            if let Some(y) =
                p.date.as_deref().and_then(|d| d.get(..4)).filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
            {
                *years.entry(y).or_default() += 1;
            }
        }
        let by_year =
            years.into_iter().map(|(y, count)| Count { value: y.to_string(), label: y.to_string(), count }).collect();

        let mut shared: Vec<(&crate::IndicatorKey, &Vec<usize>)> =
            index.by_indicator.iter().filter(|(_, l)| l.len() > 1).collect();
        shared.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(b.0)));
        let top_indicators = shared
            .into_iter()
            .take(TOP_INDICATORS)
            .filter_map(|(key, list)| {
                let first = list.first().and_then(|&i| pages.get(i))?;
                let ind = first.indicators.iter().find(|i| &i.key == key)?;
                let by = sources
                    .iter()
                    .map(|s| {
                        (
                            s.name.clone(),
                            list.iter().filter(|&&i| pages.get(i).is_some_and(|p| p.source == s.name)).count(),
                        )
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                Some(SharedIndicator {
                    field: ind.field.clone(),
                    kind: ind.kind,
                    value: ind.value.clone(),
                    notes: ind.notes.clone(),
                    rules: list.len(),
                    by_source: SourceCounts(by),
                })
            })
            .collect();
        let without_attack = pages
            .iter()
            .filter(|p| {
                p.kind != RuleKind::Filter && !p.tags.iter().any(|t| t.to_ascii_lowercase().starts_with("attack."))
            })
            .map(link)
            .collect();
        let without_event = pages
            .iter()
            .filter(|p| p.kind == RuleKind::Rule && p.events.is_empty())
            .map(|p| NoEvent {
                rule: link(p),
                logsource: p.logsource.label(),
                reason: p.coverage.note.clone().unwrap_or_else(|| "no described event".to_string()),
                gap: p.coverage.gap,
                missing_fields: p.coverage.missing_fields.clone(),
            })
            .collect();
        CorpusStats {
            pages: pages.len(),
            by_kind,
            by_source,
            failed_files,
            by_status,
            by_level,
            by_logsource,
            by_product,
            by_tactic,
            by_technique,
            by_year,
            distinct_indicators: index.by_indicator.len(),
            top_indicators,
            without_attack,
            without_event,
        }
    }
}
