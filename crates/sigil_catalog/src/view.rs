//! The page model: one rule page as its renderers show it, decided once.
//!
//! [`RulePage`] is the data (and the `sigil show --format json` / `/api/rules/{key}` shape). [`PageView`] is the
//! same page laid out for reading: which sections exist, their headings and labels, how indicators are grouped
//! and counted, how stages join the condition, what the event coverage says when it lists nothing. The terminal
//! page (`sigil show`), the Markdown page ([`crate::markdown::page_markdown`]) and the web page all render a
//! `PageView`, so they cannot disagree on a label or a count; each renderer only adds its own medium (colours,
//! tables, links, escaping).
//!
//! Links are carried as page keys ([`ViewLink::key`]), never as URLs: a renderer that links (the web) builds
//! its URLs from them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::Catalog;
use crate::indicator::{Indicator, IndicatorKey, Kind};
use crate::page::{AttackRow, FieldMapping, RuleKind, RuleLink, RulePage, Stage};

/// Above this many events, a page summarises its event coverage instead of listing it.
pub const BROAD_EVENTS: usize = 200;

/// The sentence that introduces the indicator table.
pub const INDICATORS_INTRO: &str = "Each row is a field, operator, and value that the rule matches. The corpus column \
counts how many other rules in the catalog look for the same combination: high numbers point to widely-used, \
community-vetted indicators. Blank or 1 shows that the indicator is specific to this rule.";

/// One rule page, laid out for reading. Field order is the order of the sections on every rendering.
#[derive(Debug, Clone, Serialize)]
pub struct PageView {
    /// The page key (what links to this page name).
    pub key: String,
    /// `Detection rules`, `Sigma`, then the source name and, for correlations and filters, their kind.
    pub breadcrumb: Vec<String>,
    /// The title, trimmed.
    pub title: String,
    /// The description, trimmed; `None` when empty.
    pub description: Option<String>,
    /// `correlation` or `filter`; `None` for detection rules.
    pub kind: Option<&'static str>,
    /// The metadata rows that have a value, in display order (`ID`, `Status`, `Severity`, `Logsource`, `Author`,
    /// `Date`, `License`, `Source`). Tags are shown by the ATT&CK section and [`PageView::other_tags`].
    pub meta: Vec<MetaRow>,
    /// MITRE ATT&CK coverage.
    pub attack: AttackView,
    /// Event coverage.
    pub events: EventsView,
    /// Correlation settings (correlation pages).
    pub correlation: Option<CorrelationView>,
    /// Filter targets (filter pages).
    pub filter: Option<FilterView>,
    /// The YAML text of the document, without trailing blank lines.
    pub yaml: String,
    /// Stage 0 (the condition) and the search identifiers.
    pub stages: Vec<StageView>,
    /// Indicators grouped by field and kind, with corpus counts.
    pub indicators: Vec<IndicatorGroup>,
    /// `references`, trimmed.
    pub references: Vec<String>,
    /// `falsepositives`, trimmed.
    pub falsepositives: Vec<String>,
    /// Tags outside the `attack.` namespace (the ATT&CK ones are the ATT&CK section).
    pub other_tags: Vec<String>,
    /// Related rules, then the correlations and filters that name this rule.
    pub related: Vec<RelatedView>,
    /// Regression test data in one line (`regression_tests_path: ... · samples: ...`).
    pub regression: Option<String>,
    /// The checker's findings, one line each (`12:5: warning[SG215]: ...`).
    pub diagnostics: Vec<String>,
}

/// A label and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetaRow {
    /// `Status`, `Group by`, ...
    pub label: &'static str,
    /// The value as text.
    pub value: String,
}

/// The ATT&CK section.
#[derive(Debug, Clone, Serialize)]
pub struct AttackView {
    /// Tactic → techniques rows, in matrix order.
    pub rows: Vec<AttackRow>,
    /// Labelled lists under the table (groups, software, data sources, unknown, retired and translated tags).
    pub notes: Vec<NoteList>,
}

/// A labelled list of short items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteList {
    /// `Groups`, `Translated tags`, ...
    pub label: &'static str,
    /// The items.
    pub items: Vec<String>,
}

impl NoteList {
    /// `label: a, b`.
    pub fn line(&self) -> String {
        format!("{}: {}", self.label, self.items.join(", "))
    }
}

/// The event coverage section.
#[derive(Debug, Clone, Serialize)]
pub struct EventsView {
    /// The events listed (empty when [`EventsView::summary`] is set).
    pub rows: Vec<EventRow>,
    /// For a rule whose logsource selects (nearly) every event: one sentence instead of the list.
    pub summary: Option<String>,
    /// Why nothing is listed, or how the list was found (per branch of the condition).
    pub note: Option<String>,
    /// Channels (or providers) the logsource reads, when nothing is listed.
    pub reads: Vec<String>,
    /// Record kinds other than Windows events the logsource routes to (`aws.cloudtrail`), when no Windows event
    /// is listed: the catalog's record kind pages.
    pub record_kinds: Vec<String>,
}

/// One event a rule can fire on.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// Provider display name (`Sysmon`).
    pub provider: String,
    /// Full provider name.
    pub provider_name: String,
    /// Event id.
    pub event_id: u32,
    /// Event title.
    pub title: String,
    /// The fields this event names differently from the rule (`Image` → `NewProcessName`).
    pub renamed: Vec<FieldMapping>,
}

impl EventRow {
    /// `fields: Image → NewProcessName, ...`, or empty when no field is renamed.
    pub fn renamed_label(&self) -> String {
        if self.renamed.is_empty() {
            return String::new();
        }
        let list: Vec<String> = self.renamed.iter().map(|f| format!("{} → {}", f.sigma, f.event)).collect();
        format!("fields: {}", list.join(", "))
    }
}

/// A link to a page of the catalog, or a reference that is not in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewLink {
    /// What to show: the title when the page is in the catalog, else the reference as written.
    pub label: String,
    /// The id or name as written.
    pub reference: String,
    /// The page key, when in the catalog.
    pub key: Option<String>,
}

impl ViewLink {
    fn of(l: &RuleLink) -> ViewLink {
        ViewLink {
            label: l.title.clone().unwrap_or_else(|| l.reference.clone()),
            reference: l.reference.clone(),
            key: l.key.clone(),
        }
    }

    /// `Title [reference]`, the title alone when it is the reference, or `reference (not in the catalog)`.
    pub fn long_label(&self) -> String {
        match &self.key {
            None => format!("{} (not in the catalog)", self.reference),
            Some(_) if self.label == self.reference => self.label.clone(),
            Some(_) => format!("{} [{}]", self.label, self.reference),
        }
    }
}

/// A correlation's settings.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationView {
    /// `event_count`, `temporal`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The correlated rules.
    pub rules: Vec<ViewLink>,
    /// `group-by`, joined with `, `.
    pub group_by: String,
    /// `timespan` as written.
    pub timespan: Option<String>,
    /// The condition in words.
    pub condition: Option<String>,
    /// `alias = rule: field, ...` per alias.
    pub aliases: Vec<String>,
    /// `generate`, in words.
    pub generate: &'static str,
}

/// A filter's targets.
#[derive(Debug, Clone, Serialize)]
pub struct FilterView {
    /// Whether it applies to every rule whose logsource matches.
    pub any: bool,
    /// The rules named (empty with `any`).
    pub rules: Vec<ViewLink>,
    /// The rules of the catalog it applies to.
    pub applies_to: Vec<ViewLink>,
}

/// One stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    /// 0 for the condition.
    pub number: usize,
    /// `condition` or the search identifier.
    pub name: String,
    /// `Stage 1: selection`.
    pub heading: String,
    /// How the stage joins the condition in words (`joins as not 1 of filter_* · or: any one of its maps`);
    /// `None` for stage 0.
    pub join: Option<String>,
    /// The condition as written (stage 0) or the search as YAML.
    pub text: String,
    /// Stage 0: the normalised condition, when it differs from the text.
    pub normalized: Option<String>,
    /// `and`, `or`, `keywords`, `all keywords`.
    pub logic: Option<String>,
    /// Whether every use is under `not`.
    pub negated: bool,
    /// Whether the condition uses the stage.
    pub used: bool,
    /// The condition terms that use the stage (empty for stage 0).
    pub joins: Vec<String>,
}

/// Indicators of one field and kind.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorGroup {
    /// The field, or `(keyword)`.
    pub field: String,
    /// `ends_with`, `match`, ...
    pub kind: &'static str,
    /// The values, in page order.
    pub values: Vec<IndicatorValue>,
}

/// One indicator value and its corpus count.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorValue {
    /// The value as written.
    pub value: String,
    /// Transformations that are part of the match (`windash`, `cased`).
    pub notes: Vec<String>,
    /// Whether the rule excludes the value (used only under `not`).
    pub excluded: bool,
    /// Rules of the catalog with this indicator, this one included (1: specific to this rule).
    pub rules: usize,
    /// [`IndicatorValue::rules`] split by source, in source order, sources without such a rule left out.
    pub by_source: Vec<(String, usize)>,
    /// `corpus 3 (sigma 2, team 1)`, or empty when the indicator is specific to this rule.
    pub label: String,
    /// The other family's own predicate when this row is a mapped equivalent of it (e.g. Splunk
    /// `Processes.process_name=x.exe` read as `Image` ends with `\\x.exe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapped_from: Option<String>,
    /// The comparison key (what an indicator link names).
    #[serde(skip)]
    pub key: IndicatorKey,
}

impl IndicatorValue {
    /// Words for the count (`3 rules of the catalog look for this (this one and 2 other)`).
    pub fn count_title(&self) -> String {
        if self.rules <= 1 {
            "Specific to this rule".to_string()
        } else {
            format!("{} rules of the catalog look for this (this one and {} other)", self.rules, self.rules - 1)
        }
    }
}

/// A related rule, or a correlation or filter naming this rule.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedView {
    /// `derived`, `similar`, ..., `correlated by`, `filtered by`.
    pub relation: String,
    /// The other page.
    pub link: ViewLink,
}

impl Catalog {
    /// The page laid out for reading (see [`PageView`]).
    pub fn page_view(&self, p: &RulePage) -> PageView {
        let sources: Vec<&str> = self.sources().iter().map(|s| s.name.as_str()).collect();
        let mut v = PageView::build(p, &sources);
        if p.events.is_empty() && p.kind == RuleKind::Rule {
            let ls = &p.logsource;
            let source =
                sigil_knowledge::LogSource::new(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref());
            for kind in self.knowledge.routes_for(&source).into_iter().flatten().flat_map(sigil_knowledge::Route::kinds)
            {
                if !v.events.record_kinds.contains(kind) {
                    v.events.record_kinds.push(kind.clone());
                }
            }
        }
        v
    }
}

impl PageView {
    /// Lays out a page; `sources` are the catalog's source names in order (for the per-source counts).
    pub fn build(p: &RulePage, sources: &[&str]) -> PageView {
        let mut breadcrumb = vec!["Detection rules".to_string(), "Sigma".to_string(), p.source.clone()];
        let kind = (p.kind != RuleKind::Rule).then_some(p.kind.as_str());
        breadcrumb.extend(kind.map(str::to_string));
        PageView {
            key: p.key.clone(),
            breadcrumb,
            title: p.title.trim().to_string(),
            description: p.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_string),
            kind,
            meta: meta(p),
            attack: attack(p),
            events: events(p),
            correlation: correlation(p),
            filter: p.filter.as_ref().map(|f| FilterView {
                any: f.any,
                rules: f.rules.iter().map(ViewLink::of).collect(),
                applies_to: f.applies_to.iter().map(ViewLink::of).collect(),
            }),
            yaml: p.yaml.trim_end().to_string(),
            stages: p.stages.iter().map(stage).collect(),
            indicators: indicators(p, sources),
            references: p.references.iter().map(|r| r.trim().to_string()).collect(),
            falsepositives: p.falsepositives.iter().map(|r| r.trim().to_string()).collect(),
            other_tags: p.tags.iter().filter(|t| !t.to_ascii_lowercase().starts_with("attack.")).cloned().collect(),
            related: related(p),
            regression: regression(p),
            diagnostics: p
                .diagnostics
                .iter()
                .map(|d| format!("{}:{}: {}[{}]: {}", d.line, d.column, d.severity, d.code, d.message))
                .collect(),
        }
    }
}

/// `2024-01-01 (modified 2024-02-01)`.
fn date_label(date: Option<&str>, modified: Option<&str>) -> String {
    match (date, modified) {
        (Some(d), Some(m)) => format!("{d} (modified {m})"),
        (Some(d), None) => d.to_string(),
        (None, Some(m)) => format!("modified {m}"),
        (None, None) => String::new(),
    }
}

fn meta(p: &RulePage) -> Vec<MetaRow> {
    let rows: [(&'static str, String); 8] = [
        ("ID", p.id.clone().unwrap_or_default()),
        ("Status", p.status.clone().unwrap_or_default()),
        ("Severity", p.level.clone().unwrap_or_default()),
        ("Logsource", if p.kind == RuleKind::Correlation { String::new() } else { p.logsource_label() }),
        ("Author", p.author.clone().unwrap_or_default()),
        ("Date", date_label(p.date.as_deref(), p.modified.as_deref())),
        ("License", p.license.clone().unwrap_or_default()),
        ("Source", format!("{} · {}", p.source, p.rel_path)),
    ];
    rows.into_iter().filter(|(_, v)| !v.is_empty()).map(|(label, value)| MetaRow { label, value }).collect()
}

fn attack(p: &RulePage) -> AttackView {
    let o = &p.attack_other;
    let notes = [
        ("Groups", &o.groups),
        ("Software", &o.software),
        ("Data sources", &o.data_sources),
        ("Unknown ATT&CK tags", &o.unknown),
        ("Retired ATT&CK tags", &o.retired),
        ("Translated tags", &o.notes),
    ]
    .into_iter()
    .filter(|(_, list)| !list.is_empty())
    .map(|(label, items)| NoteList { label, items: items.clone() })
    .collect();
    AttackView { rows: p.attack.clone(), notes }
}

fn events(p: &RulePage) -> EventsView {
    let broad = p.coverage.any_event || p.events.len() > BROAD_EVENTS;
    let summary = broad.then(|| {
        let mut providers: Vec<&str> = p.events.iter().map(|e| e.provider.as_str()).collect();
        providers.sort_unstable();
        providers.dedup();
        let what = if p.coverage.any_event { "any Windows event" } else { "most Windows events" };
        format!(
            "This rule's log source selects {what}: it can fire on all {} described events of {} providers.",
            p.events.len(),
            providers.len()
        )
    });
    let rows = if broad {
        Vec::new()
    } else {
        p.events
            .iter()
            .map(|e| EventRow {
                provider: e.provider.clone(),
                provider_name: e.provider_name.clone(),
                event_id: e.event_id,
                title: e.title.clone(),
                renamed: e.fields.iter().filter(|f| f.sigma != f.event).cloned().collect(),
            })
            .collect()
    };
    let note = if p.events.is_empty() {
        Some(p.coverage.note.clone().unwrap_or_else(|| match p.kind {
            RuleKind::Correlation => "The correlated rules are not in the catalog.".to_string(),
            _ => "No described Windows event carries the fields this rule uses.".to_string(),
        }))
    } else {
        p.coverage.note.clone().filter(|_| p.coverage.by_branch)
    };
    let reads = if p.events.is_empty() { p.coverage.channels.clone() } else { Vec::new() };
    EventsView { rows, summary, note, reads, record_kinds: Vec::new() }
}

fn correlation(p: &RulePage) -> Option<CorrelationView> {
    let c = p.correlation.as_ref()?;
    Some(CorrelationView {
        kind: c.kind.clone(),
        rules: c.rules.iter().map(ViewLink::of).collect(),
        group_by: c.group_by.join(", "),
        timespan: c.timespan.clone(),
        condition: c.condition.clone(),
        aliases: c
            .aliases
            .iter()
            .map(|a| {
                let fields: Vec<String> = a.fields.iter().map(|(r, f)| format!("{r}: {f}")).collect();
                format!("{} = {}", a.name, fields.join(", "))
            })
            .collect(),
        generate: if c.generate { "yes: the rules alert on their own too" } else { "no: only this correlation alerts" },
    })
}

/// How a stage joins the condition, in words (`joins as 1 of selection_* · or: any one of its maps`).
fn stage_join(s: &Stage) -> Option<String> {
    if s.stage == 0 {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    if s.join.is_empty() {
        parts.push("not used by the condition".to_string());
    } else {
        parts.push(format!("joins as {}", s.join.join("; ")));
    }
    match s.logic.as_deref() {
        Some("or") => parts.push("or: any one of its maps".to_string()),
        Some("keywords") => parts.push("or: any keyword".to_string()),
        Some("all keywords") => parts.push("and: every keyword".to_string()),
        _ => {}
    }
    Some(parts.join(" · "))
}

fn stage(s: &Stage) -> StageView {
    StageView {
        number: s.stage,
        name: s.name.clone(),
        heading: format!("Stage {}: {}", s.stage, s.name),
        join: stage_join(s),
        text: s.text.trim_end().to_string(),
        normalized: s.normalized.clone().filter(|n| s.stage == 0 && *n != s.text),
        logic: s.logic.clone(),
        negated: s.negated,
        used: s.used,
        joins: if s.stage == 0 { Vec::new() } else { s.join.clone() },
    }
}

fn indicator_value(ind: &Indicator, page_source: &str, sources: &[&str]) -> IndicatorValue {
    let rules = ind.corpus_count + 1;
    let mut by_source: Vec<(String, usize)> = sources
        .iter()
        .map(|s| (s.to_string(), ind.corpus_by_source.get(s) + usize::from(*s == page_source)))
        .filter(|(_, n)| *n > 0)
        .collect();
    if !sources.contains(&page_source) {
        by_source.push((page_source.to_string(), 1));
    }
    let label = if rules > 1 {
        let split: Vec<String> = by_source.iter().map(|(s, n)| format!("{s} {n}")).collect();
        format!("corpus {rules} ({})", split.join(", "))
    } else {
        String::new()
    };
    IndicatorValue {
        value: ind.value.clone(),
        notes: ind.notes.clone(),
        excluded: ind.excluded,
        rules,
        by_source,
        label,
        mapped_from: ind.mapped_from.clone(),
        key: ind.key.clone(),
    }
}

/// Indicators grouped by (field, kind), groups sorted by field then kind (the seed pages' order), values in page
/// order.
fn indicators(p: &RulePage, sources: &[&str]) -> Vec<IndicatorGroup> {
    let mut groups: BTreeMap<(&str, Kind), Vec<IndicatorValue>> = BTreeMap::new();
    for ind in &p.indicators {
        let field = ind.field.as_deref().unwrap_or("(keyword)");
        groups.entry((field, ind.kind)).or_default().push(indicator_value(ind, &p.source, sources));
    }
    groups
        .into_iter()
        .map(|((field, kind), values)| IndicatorGroup { field: field.to_string(), kind: kind.as_str(), values })
        .collect()
}

fn related(p: &RulePage) -> Vec<RelatedView> {
    let mut out: Vec<RelatedView> = p
        .related
        .iter()
        .map(|r| RelatedView {
            relation: r.kind.clone(),
            link: ViewLink {
                label: r.title.clone().unwrap_or_else(|| r.id.clone()),
                reference: r.id.clone(),
                key: r.key.clone(),
            },
        })
        .collect();
    for (relation, list) in [("correlated by", &p.correlated_by), ("filtered by", &p.filtered_by)] {
        out.extend(list.iter().map(|l| RelatedView { relation: relation.to_string(), link: ViewLink::of(l) }));
    }
    out
}

fn regression(p: &RulePage) -> Option<String> {
    let r = p.regression.as_ref()?;
    let mut parts = Vec::new();
    if let Some(path) = &r.path {
        parts.push(format!("regression_tests_path: {path}"));
    }
    if !r.samples.is_empty() {
        parts.push(format!("samples: {}", r.samples.join(", ")));
    }
    Some(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use crate::{Catalog, CatalogOptions};

    const RULE: &str = "title: ' Encoded PowerShell '\nid: 0e7f6a21-5b3c-4d9e-8f10-2a3b4c5d6e7f\n\
        tags: [attack.execution, attack.t1059.001, attack.g0032, cve.2021-1]\n\
        logsource: {product: windows, category: process_creation}\n\
        detection:\n  sel:\n    Image|endswith: '\\powershell.exe'\n    CommandLine|contains|windash: ' -enc '\n\
        \x20 filter:\n    ParentImage|endswith: '\\explorer.exe'\n    Image|endswith: '\\pwsh.exe'\n\
        \x20 condition: sel and not filter\n";
    const OTHER: &str = "title: Other\nid: 11111111-5b3c-4d9e-8f10-2a3b4c5d6e7f\n\
        logsource: {product: windows, category: process_creation}\n\
        detection:\n  sel:\n    Image: '*\\POWERSHELL.EXE'\n  condition: sel\n";

    #[test]
    fn one_layout_for_every_renderer() {
        let catalog =
            Catalog::from_texts("sigma", &[("a.yml", RULE), ("b.yml", OTHER)], &CatalogOptions::default()).unwrap();
        let page = catalog.by_key("0e7f6a21-5b3c-4d9e-8f10-2a3b4c5d6e7f").unwrap();
        let v = catalog.page_view(page);
        assert_eq!(v.title, "Encoded PowerShell");
        assert_eq!(v.breadcrumb, ["Detection rules", "Sigma", "sigma"]);
        assert_eq!(v.kind, None);
        let source = v.meta.iter().find(|m| m.label == "Source").unwrap();
        assert_eq!(source.value, format!("sigma · {}", page.rel_path), "the path within the source, not the machine's");
        assert_eq!(v.attack.notes.iter().map(|n| n.line()).collect::<Vec<_>>(), ["Groups: G0032"]);
        assert_eq!(v.other_tags, ["cve.2021-1"]);
        // Image|endswith from two stages is one group; equivalent spellings in the other rule are counted.
        let image = v.indicators.iter().find(|g| g.field == "Image").unwrap();
        assert_eq!(image.kind, "ends_with");
        assert_eq!(image.values.len(), 2, "{image:?}");
        assert_eq!(image.values[0].rules, 2);
        assert_eq!(image.values[0].label, "corpus 2 (sigma 2)");
        assert_eq!(image.values[1].rules, 1);
        assert_eq!(image.values[1].label, "");
        assert!(image.values[1].excluded);
        let cmd = v.indicators.iter().find(|g| g.field == "CommandLine").unwrap();
        assert_eq!(cmd.values[0].notes, ["windash"]);
        assert_eq!(v.stages[0].heading, "Stage 0: condition");
        assert_eq!(v.stages[0].join, None);
        assert_eq!(v.stages[2].join.as_deref(), Some("joins as not filter"));
        assert_eq!(v.events.rows.iter().map(|e| e.event_id).collect::<Vec<_>>(), [1, 4688]);
        assert_eq!(v.events.rows[1].renamed_label(), "fields: Image → NewProcessName, ParentImage → ParentProcessName");
        assert_eq!(v.events.note, None);
    }

    #[test]
    fn no_event_says_why() {
        let yaml = "title: L\nlogsource: {product: linux, category: process_creation}\n\
            detection:\n  sel:\n    Image: /bin/sh\n  condition: sel\n";
        let catalog = Catalog::from_texts("s", &[("l.yml", yaml)], &CatalogOptions::default()).unwrap();
        let v = catalog.page_view(&catalog.pages()[0]);
        assert!(v.events.rows.is_empty());
        assert!(v.events.note.as_deref().is_some_and(|n| !n.is_empty()), "{:?}", v.events);
        assert!(v.events.record_kinds.iter().any(|k| k.contains("auditd")), "{:?}", v.events);
    }
}
