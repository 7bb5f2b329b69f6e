//! The parts of a rule page that rules of other families add: the family in the breadcrumb, the query in its
//! language with "indicators not extracted" when outside the parser's subset, and the rules of other families
//! that look for the same indicators.

use sigil_catalog::RulePage;

use crate::app::App;
use crate::highlight;
use crate::links::Links;

pub(crate) struct QueryView {
    pub language: String,
    pub html: String,
    pub expanded_html: Option<String>,
    pub note: Option<String>,
    pub data_sources: String,
    pub rule_type: Option<String>,
}

pub(crate) struct CrossView {
    pub href: String,
    pub label: String,
    pub family: String,
    pub shared: String,
    pub count: usize,
}

pub(crate) struct FamilyView {
    /// `Sigma`, `Splunk`, ... (the breadcrumb).
    pub label: String,
    /// The file's format, for the body's chip (`yaml`, `toml`, `yara-l`).
    pub body_lang: &'static str,
    pub query: Option<QueryView>,
    pub cross: Vec<CrossView>,
}

fn label(family: &str) -> String {
    match family {
        "sigma" => "Sigma".to_string(),
        "splunk" => "Splunk".to_string(),
        "elastic" => "Elastic".to_string(),
        "sentinel" => "Sentinel".to_string(),
        "chronicle" => "Chronicle".to_string(),
        "panther" => "Panther".to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn family_view(app: &App, links: &Links, p: &RulePage) -> FamilyView {
    let body_lang = match p.family.as_str() {
        "elastic" => "toml",
        "chronicle" => "yara-l",
        _ => "yaml",
    };
    let query = p.query.as_ref().map(|q| QueryView {
        language: q.language.clone(),
        html: highlight::query(&q.text, &q.language),
        expanded_html: q.expanded.as_deref().map(|e| highlight::query(e, &q.language)),
        note: q.note.clone(),
        data_sources: q.data_sources.join(", "),
        rule_type: q.rule_type.clone(),
    });
    let catalog = app.catalog();
    let cross = catalog
        .index_of_key(&p.key)
        .map(|i| catalog.same_in_other_families(i))
        .unwrap_or_default()
        .into_iter()
        .take(50)
        .map(|c| CrossView {
            href: c.rule.key.as_deref().map(|k| links.rule(k)).unwrap_or_default(),
            label: c.rule.title.clone().unwrap_or(c.rule.reference.clone()),
            family: label(&c.family),
            count: c.shared.len(),
            shared: c.shared.join("; "),
        })
        .collect();
    FamilyView { label: label(&p.family), body_lang, query, cross }
}
