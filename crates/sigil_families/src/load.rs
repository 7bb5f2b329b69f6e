//! Loaders: files of one family → [`FamilyRule`]s, in parallel; a file that cannot be read is an error naming
//! it, and the rest continues.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use crate::detect::NOT_RULES;
use crate::spl::Macros;
use crate::{Extraction, Family, FamilyRule, Language, Op};

/// A file that gave no rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct LoadError {
    /// The file.
    pub path: String,
    /// Why (with the position when the parser gives one).
    pub message: String,
}

/// What loading a family's files gives.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The rules, in path order.
    pub rules: Vec<FamilyRule>,
    /// Files that gave no rule.
    pub errors: Vec<LoadError>,
    /// Rule files read.
    pub files: usize,
}

fn extensions(family: Family) -> &'static [&'static str] {
    match family {
        Family::Elastic => &["toml"],
        Family::Chronicle => &["yaral"],
        Family::Sigma => &[],
        _ => &["yml", "yaml"],
    }
}

fn rule_files(family: Family, paths: &[PathBuf]) -> Vec<PathBuf> {
    let exts = extensions(family);
    let mut out = Vec::new();
    for root in paths {
        // A Splunk checkout: its rules are under `detections/`.
        let root = if family == Family::Splunk && root.join("detections").is_dir() {
            root.join("detections")
        } else {
            root.clone()
        };
        let walk = walkdir::WalkDir::new(&root).sort_by_file_name().into_iter().filter_entry(|e| {
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && e.file_name().to_str().is_some_and(|n| n.starts_with('.') || NOT_RULES.contains(&n)))
        });
        for e in walk.filter_map(Result::ok) {
            let ok = e.file_type().is_file()
                && e.path().extension().and_then(|x| x.to_str()).is_some_and(|x| exts.contains(&x));
            if ok && !out.contains(&e.path().to_path_buf()) {
                out.push(e.path().to_path_buf());
            }
        }
    }
    out
}

/// Splunk's `macros/` folder for a path: the path's own, or one of its ancestors'.
fn macros_dir(paths: &[PathBuf]) -> Option<PathBuf> {
    for p in paths {
        let mut cur: Option<&Path> = Some(p.as_path());
        while let Some(dir) = cur {
            if dir.join("macros").is_dir() {
                return Some(dir.join("macros"));
            }
            cur = dir.parent();
        }
    }
    None
}

/// Loads every rule of a family under `paths` (files or folders).
pub fn load(family: Family, paths: &[PathBuf]) -> Loaded {
    let files = rule_files(family, paths);
    let mut errors = Vec::new();
    let macros = if family == Family::Splunk {
        let (m, errs) = macros_dir(paths).map(|d| Macros::load(&d)).unwrap_or_default();
        errors.extend(errs.into_iter().map(|(path, message)| LoadError { path, message }));
        m
    } else {
        Macros::default()
    };
    let results: Vec<Result<Option<FamilyRule>, LoadError>> = files
        .par_iter()
        .map(|path| {
            let err = |message: String| LoadError { path: path.display().to_string(), message };
            let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
            let rule = match family {
                Family::Splunk => splunk(path, text, &macros),
                Family::Elastic => elastic(path, text),
                Family::Sentinel => sentinel(path, text),
                Family::Chronicle => chronicle(path, text),
                Family::Panther => panther(path, text),
                Family::Sigma => Ok(None),
            };
            rule.map_err(err)
        })
        .collect();
    let mut rules = Vec::new();
    for r in results {
        match r {
            Ok(Some(rule)) => rules.push(rule),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    Loaded { rules, errors, files: files.len() }
}

fn base(family: Family, path: &Path, text: String, language: Language) -> FamilyRule {
    FamilyRule {
        family,
        id: None,
        title: String::new(),
        description: None,
        author: None,
        date: None,
        modified: None,
        severity: None,
        status: None,
        rule_type: None,
        techniques: Vec::new(),
        data_sources: Vec::new(),
        references: Vec::new(),
        falsepositives: Vec::new(),
        query: String::new(),
        language,
        expanded_query: None,
        predicates: Vec::new(),
        extraction: Extraction::Parsed,
        event_kinds: Vec::new(),
        platform: None,
        path: path.to_path_buf(),
        text,
    }
}

/// ATT&CK technique ids in a text (`T1219.002`, `TA0011:T1219`), upper-cased, first seen first.
fn technique_ids<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in texts {
        for word in t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
            let w = word.trim_end_matches('.').to_ascii_uppercase();
            let Some(rest) = w.strip_prefix('T') else { continue };
            let (main, sub) = rest.split_once('.').unwrap_or((rest, ""));
            let ok = main.len() == 4
                && main.bytes().all(|b| b.is_ascii_digit())
                && (sub.is_empty() || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit())));
            if ok && !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

fn date(s: &str) -> String {
    s.trim().replace('/', "-")
}

fn yaml_err(e: &serde_saphyr::Error) -> String {
    e.to_string()
}

// ---- Splunk -------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct SplunkTags {
    mitre_attack_id: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SplunkFile {
    name: Option<String>,
    id: Option<String>,
    date: Option<String>,
    author: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    description: Option<String>,
    data_source: Vec<String>,
    data_sources: Vec<String>,
    search: Option<String>,
    known_false_positives: Option<String>,
    references: Vec<String>,
    tags: SplunkTags,
}

fn splunk(path: &Path, text: String, macros: &Macros) -> Result<Option<FamilyRule>, String> {
    let f: SplunkFile = serde_saphyr::from_str(&text).map_err(|e| yaml_err(&e))?;
    let (Some(name), Some(search)) = (f.name, f.search) else {
        return Err("not a Splunk detection: no `name` and `search`".to_string());
    };
    let mut r = base(Family::Splunk, path, text, Language::Spl);
    let parsed = crate::spl::parse(&search, macros);
    r.title = name;
    r.id = f.id;
    r.date = f.date.as_deref().map(date);
    r.author = f.author;
    r.rule_type = f.kind;
    r.status = f.status;
    r.description = f.description;
    r.data_sources = if f.data_source.is_empty() { f.data_sources } else { f.data_source };
    r.falsepositives = f.known_false_positives.into_iter().collect();
    r.references = f.references;
    r.techniques = technique_ids(f.tags.mitre_attack_id.iter().map(String::as_str));
    r.severity = None;
    if parsed.expanded != search {
        r.expanded_query = Some(parsed.expanded);
    }
    r.query = search;
    r.predicates = parsed.predicates;
    r.extraction = parsed.extraction;
    r.event_kinds = parsed.datamodels;
    r.platform = r
        .data_sources
        .iter()
        .any(|d| ["sysmon", "windows", "powershell", "crowdstrike"].iter().any(|w| d.to_ascii_lowercase().contains(w)))
        .then(|| "windows".to_string());
    Ok(Some(r))
}

// ---- Elastic ------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct ElasticMeta {
    creation_date: Option<String>,
    updated_date: Option<String>,
    maturity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ElasticSub {
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ElasticTechnique {
    id: String,
    subtechnique: Vec<ElasticSub>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ElasticThreat {
    framework: String,
    technique: Vec<ElasticTechnique>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ElasticRule {
    author: Vec<String>,
    description: Option<String>,
    name: Option<String>,
    rule_id: Option<String>,
    severity: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    language: Option<String>,
    query: Option<String>,
    index: Vec<String>,
    references: Vec<String>,
    false_positives: Vec<String>,
    tags: Vec<String>,
    threat: Vec<ElasticThreat>,
}

#[derive(Deserialize)]
struct ElasticFile {
    #[serde(default)]
    metadata: ElasticMeta,
    rule: ElasticRule,
}

fn elastic(path: &Path, text: String) -> Result<Option<FamilyRule>, String> {
    let f: ElasticFile = toml::from_str(&text).map_err(|e| e.to_string())?;
    let rule = f.rule;
    let language = match rule.language.as_deref().unwrap_or("kuery") {
        "eql" => Language::Eql,
        "esql" => Language::Esql,
        "lucene" => Language::Lucene,
        _ => Language::Kuery,
    };
    let mut r = base(Family::Elastic, path, text, language);
    r.title = rule.name.ok_or("no `rule.name`")?;
    r.id = rule.rule_id;
    r.description = rule.description;
    r.author = (!rule.author.is_empty()).then(|| rule.author.join(", "));
    r.date = f.metadata.creation_date.as_deref().map(date);
    r.modified = f.metadata.updated_date.as_deref().map(date);
    r.status = f.metadata.maturity;
    r.severity = rule.severity.map(|s| s.to_ascii_lowercase());
    r.rule_type = rule.kind;
    r.references = rule.references;
    r.falsepositives = rule.false_positives;
    let ids: Vec<String> = rule
        .threat
        .iter()
        .filter(|t| t.framework.contains("ATT&CK"))
        .flat_map(|t| t.technique.iter())
        .flat_map(|t| std::iter::once(t.id.clone()).chain(t.subtechnique.iter().map(|s| s.id.clone())))
        .collect();
    r.techniques = technique_ids(ids.iter().map(String::as_str));
    r.data_sources = rule.index.clone();
    r.query = rule.query.unwrap_or_default();
    let (preds, kinds, extraction) = match language {
        Language::Eql => crate::eql::parse(&r.query),
        Language::Kuery => {
            let (p, e) = crate::kql::parse(&r.query);
            let kinds = p
                .iter()
                .filter(|p| p.field == "event.category" && p.op == Op::Eq && !p.negated)
                .map(|p| p.value.to_ascii_lowercase())
                .collect();
            (p, kinds, e)
        }
        other => (Vec::new(), Vec::new(), Extraction::not(format!("{} queries are not read", other.as_str()))),
    };
    let windows = rule.tags.iter().any(|t| t.eq_ignore_ascii_case("OS: Windows"))
        || rule.index.iter().any(|i| i.contains("windows") || i.contains("winlogbeat"))
        || preds.iter().any(|p| p.field == "host.os.type" && p.value.eq_ignore_ascii_case("windows") && !p.negated);
    r.platform = windows.then(|| "windows".to_string());
    r.predicates = preds;
    r.event_kinds = kinds;
    r.extraction = extraction;
    Ok(Some(r))
}

// ---- Sentinel -----------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct Connector {
    #[serde(rename = "connectorId")]
    connector_id: String,
    #[serde(rename = "dataTypes")]
    data_types: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SentinelFile {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    severity: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    #[serde(rename = "requiredDataConnectors")]
    connectors: Vec<Connector>,
    #[serde(rename = "relevantTechniques")]
    techniques: Vec<String>,
    query: Option<String>,
    version: Option<String>,
}

fn sentinel(path: &Path, text: String) -> Result<Option<FamilyRule>, String> {
    let f: SentinelFile = serde_saphyr::from_str(&text).map_err(|e| yaml_err(&e))?;
    let mut r = base(Family::Sentinel, path, text, Language::Kusto);
    r.title = f.name.ok_or("no `name`")?;
    r.id = f.id;
    r.description = f.description;
    r.severity = f.severity.map(|s| s.to_ascii_lowercase());
    r.status = f.status;
    r.rule_type = f.kind;
    r.techniques = technique_ids(f.techniques.iter().map(String::as_str));
    r.data_sources = f
        .connectors
        .iter()
        .flat_map(|c| c.data_types.iter().map(move |d| format!("{d} ({})", c.connector_id)))
        .collect();
    let _ = f.version;
    r.query = f.query.ok_or("no `query`")?;
    let (preds, tables, extraction) = crate::kusto::parse(&r.query);
    r.platform = tables
        .iter()
        .any(|t| t.starts_with("Device") || t == "SecurityEvent" || t == "WindowsEvent")
        .then(|| "windows".to_string());
    r.predicates = preds;
    r.event_kinds = tables;
    r.extraction = extraction;
    Ok(Some(r))
}

// ---- Chronicle ----------------------------------------------------------------------------------------

fn chronicle(path: &Path, text: String) -> Result<Option<FamilyRule>, String> {
    let parsed = crate::yaral::parse(&text).map_err(|e| e.to_string())?;
    let mut r = base(Family::Chronicle, path, String::new(), Language::Yaral);
    let get = |k: &str| parsed.meta.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    r.title = get("rule_name").unwrap_or_else(|| parsed.name.clone());
    r.id = get("rule_id").or_else(|| Some(parsed.name.clone()));
    r.description = get("description");
    r.author = get("author");
    r.date = get("created").or_else(|| get("date")).as_deref().map(date);
    r.modified = get("updated").as_deref().map(date);
    r.severity = get("severity").map(|s| s.to_ascii_lowercase());
    r.status = get("sigma_status").or_else(|| get("status"));
    r.rule_type = get("type");
    let attack: Vec<String> = parsed
        .meta
        .iter()
        .filter(|(k, _)| k == "technique" || k == "mitre_attack_technique" || k == "mitre_attack_url")
        .map(|(_, v)| v.clone())
        .collect();
    r.techniques = technique_ids(attack.iter().map(String::as_str));
    r.data_sources =
        get("data_source").map(|d| d.split(',').map(|s| s.trim().to_string()).collect()).unwrap_or_default();
    r.references = get("reference").into_iter().collect();
    r.falsepositives = get("false_positives").into_iter().collect();
    r.platform = get("platform").map(|p| p.to_ascii_lowercase());
    r.query = text.clone();
    r.text = text;
    r.predicates = parsed.predicates;
    r.event_kinds = parsed.event_types;
    r.extraction = parsed.extraction;
    Ok(Some(r))
}

// ---- Panther ------------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct PantherFile {
    #[serde(rename = "AnalysisType")]
    analysis_type: String,
    #[serde(rename = "RuleID")]
    rule_id: Option<String>,
    #[serde(rename = "DisplayName")]
    display_name: Option<String>,
    #[serde(rename = "Enabled")]
    enabled: Option<bool>,
    #[serde(rename = "Filename")]
    filename: Option<String>,
    #[serde(rename = "LogTypes")]
    log_types: Vec<String>,
    #[serde(rename = "Severity")]
    severity: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "Reference")]
    reference: Option<String>,
    #[serde(rename = "Reports")]
    reports: std::collections::BTreeMap<String, Vec<String>>,
}

fn panther(path: &Path, text: String) -> Result<Option<FamilyRule>, String> {
    let f: PantherFile = serde_saphyr::from_str(&text).map_err(|e| yaml_err(&e))?;
    if !matches!(f.analysis_type.as_str(), "rule" | "scheduled_rule" | "correlation_rule") {
        return Ok(None);
    }
    let mut r = base(Family::Panther, path, text, Language::Python);
    r.title = f.display_name.or_else(|| f.rule_id.clone()).ok_or("no `DisplayName` or `RuleID`")?;
    r.id = f.rule_id;
    r.description = f.description;
    r.severity = f.severity.map(|s| s.to_ascii_lowercase());
    r.status = f.enabled.map(|e| if e { "enabled" } else { "disabled" }.to_string());
    r.rule_type = Some(f.analysis_type);
    r.references = f.reference.into_iter().filter(|s| !s.trim().is_empty()).collect();
    let attack: Vec<String> =
        f.reports.iter().filter(|(k, _)| k.contains("MITRE")).flat_map(|(_, v)| v.iter().cloned()).collect();
    r.techniques = technique_ids(attack.iter().map(String::as_str));
    r.data_sources = f.log_types;
    r.query = f
        .filename
        .as_ref()
        .and_then(|name| path.parent().map(|d| d.join(name)))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    r.extraction = Extraction::not("Panther rules are Python functions: no indicator is extracted from code");
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_ids_are_found_in_any_spelling() {
        assert_eq!(
            technique_ids(["TA0011:T1219.002", "t1059", "T12345", "https://attack.mitre.org/techniques/T1078/"]),
            ["T1219.002", "T1059", "T1078"]
        );
    }
}
