//! Building one page from one parsed document: everything that needs only the document itself. Links between
//! pages, keys and corpus counts are filled in by [`crate::Catalog`] afterwards.

use std::path::Path;

use sigil_diagnostics::FileDiagnostic;
use sigil_knowledge::Knowledge;
use sigil_rule::Document;
use sigil_rule::RuleFile;
use sigil_rule::yaml::serde_json_lite::Json;
use sigil_rule::{Correlation, Logsource, Meta};

use crate::attack;
use crate::coverage;
use crate::page::{
    AliasInfo, CorrelationInfo, Coverage, FilterInfo, LogsourceInfo, Regression, RelatedRule, RuleKind, RuleLink,
    RulePage,
};
use crate::stages;

pub(crate) fn page(
    file: &RuleFile,
    doc_index: usize,
    source: &str,
    knowledge: &Knowledge,
    tags: &attack::TagCache,
) -> Option<RulePage> {
    let doc = file.parsed.documents.get(doc_index)?;
    let meta = doc.meta();
    let (logsource, detection) = match doc {
        Document::Rule(r) => (logsource_info(&r.logsource), Some(&r.detection)),
        Document::Filter(f) => (logsource_info(&f.logsource), Some(&f.detection)),
        Document::Correlation(_) => (LogsourceInfo::default(), None),
    };
    let info = detection.map(stages::analyse);
    let (events, coverage) = match (&info, doc) {
        (Some(info), Document::Rule(_)) => {
            coverage::compute_rule(&logsource, &info.fields, info.event_ids.as_deref(), &info.branches, knowledge)
        }
        (Some(info), _) => {
            // A filter's own fields decide where it can apply; show them like a rule's.
            coverage::compute(&logsource, &info.fields, None, knowledge)
        }
        (None, _) => (Vec::new(), Coverage::default()),
    };
    let tag_list: Vec<String> = meta.tags.iter().map(sigil_rule::Tag::full).collect();
    let att = attack::resolve(tag_list.iter().map(String::as_str), knowledge.attack(), tags);
    let (stages, indicators) = info.map(|i| (i.stages, i.indicators)).unwrap_or_default();
    let file_stem = file_stem(&file.display_path);
    let custom: serde_json::Map<String, serde_json::Value> =
        meta.custom.iter().map(|(k, v)| (k.clone(), json(v))).collect();
    let regression = regression_path(meta).map(|p| Regression { path: Some(p), samples: Vec::new() });
    let diagnostics = file.diagnostics().map(|d| FileDiagnostic::new(file.display_path.clone(), d.clone())).collect();
    let kind = match doc {
        Document::Rule(_) => RuleKind::Rule,
        Document::Correlation(_) => RuleKind::Correlation,
        Document::Filter(_) => RuleKind::Filter,
    };
    let correlation = match doc {
        Document::Correlation(c) => Some(correlation_info(&c.correlation)),
        _ => None,
    };
    let filter = match doc {
        Document::Filter(f) => Some(FilterInfo {
            any: f.rules.is_empty(),
            rules: f.rules.iter().map(|(r, _)| unresolved(r)).collect(),
            applies_to: Vec::new(),
        }),
        _ => None,
    };
    Some(RulePage {
        id: meta.id.clone(),
        title: meta.title.clone(),
        status: meta.status.map(|s| s.as_str().to_string()),
        level: meta.level.map(|l| l.as_str().to_string()),
        description: meta.description.clone(),
        author: meta.author.clone(),
        date: meta.date.clone(),
        modified: meta.modified.clone(),
        references: meta.references.clone(),
        falsepositives: meta.falsepositives.clone(),
        tags: tag_list,
        logsource,
        source: source.to_string(),
        path: file.display_path.clone(),
        rel_path: String::new(),
        yaml: document_yaml(file, doc_index),
        attack: att.rows,
        events,
        stages,
        indicators,
        key: String::new(),
        kind,
        name: meta.name.clone(),
        license: meta.license.clone(),
        taxonomy: meta.taxonomy.clone().filter(|t| t != "sigma"),
        file_stem,
        document: doc_index,
        tactics: att.tactics,
        techniques: att.techniques,
        attack_other: att.other,
        related: meta
            .related
            .iter()
            .map(|r| RelatedRule { id: r.id.clone(), kind: r.kind.as_str().to_string(), title: None, key: None })
            .collect(),
        coverage,
        correlation,
        filter,
        correlated_by: Vec::new(),
        filtered_by: Vec::new(),
        regression,
        custom,
        diagnostics,
        family: "sigma".to_string(),
        query: None,
    })
}

/// The file name without extension; in-memory names like `bundled:x.yml` count from after the `:`.
fn file_stem(display_path: &str) -> String {
    let name = display_path.rsplit(['/', '\\', ':']).next().unwrap_or(display_path);
    Path::new(name).file_stem().map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned())
}

pub(crate) fn unresolved(reference: &str) -> RuleLink {
    RuleLink { reference: reference.to_string(), key: None, title: None }
}

fn logsource_info(ls: &Logsource) -> LogsourceInfo {
    LogsourceInfo {
        product: ls.product.clone(),
        category: ls.category.clone(),
        service: ls.service.clone(),
        definition: ls.definition.clone(),
        custom: ls.custom.iter().cloned().collect(),
    }
}

fn regression_path(meta: &Meta) -> Option<String> {
    meta.custom.iter().find(|(k, _)| k == "regression_tests_path").and_then(|(_, v)| match v {
        Json::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    })
}

fn correlation_info(c: &Correlation) -> CorrelationInfo {
    let condition = match &c.condition {
        Some(cond) => {
            let subject = match (&cond.field, c.kind) {
                (Some(f), sigil_rule::CorrelationType::ValueCount) => format!("distinct {f}"),
                (Some(f), sigil_rule::CorrelationType::ValueSum) => format!("sum of {f}"),
                (Some(f), sigil_rule::CorrelationType::ValueAvg) => format!("avg of {f}"),
                (Some(f), sigil_rule::CorrelationType::ValueMedian) => format!("median of {f}"),
                (Some(f), sigil_rule::CorrelationType::ValuePercentile) => match cond.percentile {
                    Some(p) => format!("{} percentile of {f}", ordinal(p)),
                    None => format!("percentile of {f}"),
                },
                _ if c.kind.is_temporal() => "rules".to_string(),
                _ => "count".to_string(),
            };
            let mut parts: Vec<String> = cond
                .comparisons
                .iter()
                .map(|(op, n)| {
                    let sym = match op.as_str() {
                        "gt" => ">",
                        "gte" => ">=",
                        "lt" => "<",
                        "lte" => "<=",
                        "eq" => "==",
                        _ => "!=",
                    };
                    format!("{subject} {sym} {n}")
                })
                .collect();
            if let Some(e) = &cond.expression {
                parts.push(e.clone());
            }
            Some(parts.join(" and "))
        }
        // Temporal types without a condition: every referenced rule (pySigma's default).
        None if c.kind.is_temporal() => Some(format!(
            "all {} rules{}",
            c.rules.len(),
            if c.kind == sigil_rule::CorrelationType::TemporalOrdered { ", in order" } else { "" }
        )),
        None => None,
    };
    CorrelationInfo {
        kind: c.kind.as_str().to_string(),
        rules: c.rules.iter().map(|(r, _)| unresolved(r)).collect(),
        group_by: c.group_by.clone(),
        timespan: c.timespan.as_ref().map(|t| t.text.clone()),
        timespan_seconds: c.timespan.as_ref().map(|t| t.seconds),
        condition: condition.filter(|s| !s.is_empty()),
        generate: c.generate,
        aliases: c.aliases.iter().map(|a| AliasInfo { name: a.name.clone(), fields: a.fields.clone() }).collect(),
    }
}

/// `90` → `90th`, `1` → `1st`, `2.5` → `2.5th`.
fn ordinal(p: f64) -> String {
    if p.fract() != 0.0 {
        return format!("{p}th");
    }
    let n = p as i64;
    let suffix = match (n % 10, n % 100) {
        (1, r) if r != 11 => "st",
        (2, r) if r != 12 => "nd",
        (3, r) if r != 13 => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn json(v: &Json) -> serde_json::Value {
    match v {
        Json::Null => serde_json::Value::Null,
        Json::Bool(b) => serde_json::Value::Bool(*b),
        Json::Int(i) => serde_json::Value::from(*i),
        Json::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Json::String(s) => serde_json::Value::String(s.clone()),
        Json::Array(a) => serde_json::Value::Array(a.iter().map(json).collect()),
        Json::Object(o) => serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

/// The text of one document of a file: the whole file when it has one document; otherwise the lines from the
/// document's first line to the line before the next document's `---`.
fn document_yaml(file: &RuleFile, doc_index: usize) -> String {
    let docs = &file.parsed.documents;
    if docs.len() <= 1 {
        return file.source.to_string();
    }
    let starts: Vec<u32> = docs.iter().map(|d| d.meta().pos.line).collect();
    let increasing = starts.iter().all(|l| *l > 0) && starts.windows(2).all(|w| matches!(w, [a, b] if a < b));
    let (Some(&start), true) = (starts.get(doc_index), increasing) else {
        return file.source.to_string();
    };
    let end = starts.get(doc_index + 1).copied().unwrap_or(u32::MAX);
    let lines: Vec<&str> = file
        .source
        .lines()
        .enumerate()
        .filter(|(i, _)| {
            let line = u32::try_from(*i + 1).unwrap_or(u32::MAX);
            line >= start && line < end
        })
        .map(|(_, l)| l)
        .collect();
    let mut lines = lines.as_slice();
    while let [rest @ .., last] = lines {
        if last.trim().is_empty() || last.trim_start().starts_with("---") || last.trim_start().starts_with('#') {
            lines = rest;
        } else {
            break;
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
