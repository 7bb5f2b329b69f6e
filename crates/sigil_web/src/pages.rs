//! Every HTML page: its view model, its template and the function that renders it.
//!
//! Renderers take the [`App`], the [`Links`] of the page being rendered and already-parsed input, and return
//! the page or a [`Failure`]. The server and the static export call the same functions, so the two sites are
//! the same pages with different links.

use std::fmt::Write as _;

use askama::Template;
use sigil_catalog::{DisagreementOrder, Facet, IndicatorQuery, Kind, NoteList, RulePage, ViewLink, family_label};

use crate::app::{App, LEGEND, heat_class};
use crate::highlight;
use crate::links::Links;
use crate::search::{self, Outcome, Request, Sort};
use crate::svg::{self, Bar};
use crate::view::{Chrome, Level, LinkView, MaybeLink, Pager, RuleRow, Section, authors, css_word, safe_url};

/// Why a page could not be rendered.
#[derive(Debug)]
pub enum Failure {
    /// Nothing has this name; the text says what was looked for.
    NotFound(String),
    /// Several pages match; the user picks one.
    Ambiguous(String, Vec<(String, String, String)>),
    /// A template failed (a bug; logged and shown as 500).
    Render(askama::Error),
}

impl From<askama::Error> for Failure {
    fn from(e: askama::Error) -> Self {
        Failure::Render(e)
    }
}

/// A rendered page or why not.
pub type PageResult = Result<String, Failure>;

// ---------------------------------------------------------------------------------------------------------------
// Search page

#[derive(Debug, Clone)]
pub(crate) struct FacetItem {
    pub value: String,
    pub label: String,
    pub count: usize,
    pub selected: bool,
    pub href: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FacetGroup {
    pub name: &'static str,
    pub label: &'static str,
    pub top: Vec<FacetItem>,
    pub more: Vec<FacetItem>,
}

#[derive(Debug, Clone)]
pub(crate) struct SortLink {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    chrome: Chrome,
    q: String,
    form_action: String,
    hidden: Vec<(String, String)>,
    corpus_total: usize,
    facets: Vec<FacetGroup>,
    active: Vec<LinkView>,
    clear_href: String,
    total: usize,
    page: usize,
    rows: Vec<RuleRow>,
    pager: Pager,
    sorts: Vec<SortLink>,
    suggestion: Option<LinkView>,
}

/// Facet values shown before "more".
const FACET_TOP: usize = 8;
/// Facet values listed at most (authors run into the thousands).
const FACET_MAX: usize = 150;

/// The search page (`/`).
pub fn index(app: &App, links: &Links, outcome: &Outcome) -> PageResult {
    let req = &outcome.request;
    let catalog = app.catalog();
    let href = |qs: String| links.search(&qs);
    let multi_source = catalog.sources().len() > 1;
    let mut facets = Vec::new();
    for fc in &outcome.results.facets {
        let hide = match fc.facet {
            Facet::Source => !multi_source,
            Facet::Kind | Facet::Family => fc.values.len() < 2,
            _ => fc.values.is_empty(),
        };
        if hide {
            continue;
        }
        let mut values = fc.values.clone();
        if fc.facet == Facet::Level {
            values.sort_by_key(|v| crate::view::level_rank(Some(&v.value)));
        }
        let items: Vec<FacetItem> = values
            .iter()
            .take(FACET_MAX)
            .map(|v| {
                let qs = if v.selected {
                    req.query_string(Some((fc.facet, &v.value)), None, 1, None)
                } else {
                    req.query_string(None, Some((fc.facet, &v.value)), 1, None)
                };
                FacetItem {
                    value: v.value.clone(),
                    label: v.label.clone(),
                    count: v.count,
                    selected: v.selected,
                    href: href(qs),
                }
            })
            .collect();
        let (top, more) = split_top(items);
        facets.push(FacetGroup { name: fc.facet.as_str(), label: search::facet_title(fc.facet), top, more });
    }
    let active = req
        .filters
        .iter()
        .map(|(f, v)| LinkView {
            label: format!("{}: {}", search::facet_title(*f), catalog.facet_label(*f, v)),
            href: href(req.query_string(Some((*f, v)), None, 1, None)),
        })
        .collect();
    let rows = outcome
        .results
        .hits
        .iter()
        .filter_map(|h| {
            let mut row = RuleRow::brief(app, links, catalog.page(h.index)?);
            row.title_marked.clone_from(&h.title_marked);
            row.snippet.clone_from(&h.snippet);
            Some(row)
        })
        .collect();
    let suggestion = outcome.results.suggestion.as_ref().map(|s| LinkView {
        label: s.clone(),
        href: href(Request { q: s.clone(), page: 1, ..req.clone() }.query_string(None, None, 1, None)),
    });
    let pager = Pager::new(req.page, outcome.pages, |n| href(req.query_string(None, None, n, None)));
    let current_sort = if req.sort_given || !req.q.trim().is_empty() { req.sort } else { Sort::Title };
    let sorts = Sort::ALL
        .into_iter()
        .filter(|s| *s != Sort::Relevance || !req.q.trim().is_empty())
        .map(|s| SortLink {
            label: s.label(),
            href: href(req.query_string(None, None, 1, Some(s))),
            active: s == current_sort,
        })
        .collect();
    let mut hidden: Vec<(String, String)> =
        req.filters.iter().map(|(f, v)| (f.as_str().to_string(), v.clone())).collect();
    if req.sort_given {
        hidden.push(("sort".into(), req.sort.as_str().into()));
    }
    let title = if req.q.trim().is_empty() && req.filters.is_empty() {
        "Detection rules".to_string()
    } else {
        format!("{} rules: {}", outcome.results.total, req.q)
    };
    let mut chrome = Chrome::new(app, links, title, Section::Rules);
    chrome.description =
        Some(format!("Search {} Sigma detection rules by text, ATT&CK, log source and more.", catalog.len()));
    // The page's own search box takes the header's place (and "/").
    chrome.top_search = false;
    Ok(IndexPage {
        chrome,
        q: req.q.clone(),
        form_action: links.home(),
        hidden,
        corpus_total: catalog.len(),
        facets,
        active,
        clear_href: links.home(),
        total: outcome.results.total,
        page: req.page,
        rows,
        pager,
        sorts,
        suggestion,
    }
    .render()?)
}

fn split_top(mut items: Vec<FacetItem>) -> (Vec<FacetItem>, Vec<FacetItem>) {
    if items.len() <= FACET_TOP + 2 {
        return (items, Vec::new());
    }
    let more = items.split_off(FACET_TOP);
    // A selected value stays visible.
    let (selected, rest): (Vec<FacetItem>, Vec<FacetItem>) = more.into_iter().partition(|i| i.selected);
    items.extend(selected);
    (items, rest)
}

// ---------------------------------------------------------------------------------------------------------------
// Rule page

pub(crate) struct RuleView {
    pub crumb_rules: String,
    pub crumb_format: String,
    pub title: String,
    pub kind: Option<&'static str>,
    pub status: Option<String>,
    pub status_href: String,
    pub level: Level,
    pub level_href: String,
    pub logsource: Vec<PartLink>,
    pub authors: Vec<LinkView>,
    pub source: String,
    pub source_href: String,
    pub path: String,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub id: Option<String>,
    pub description: Option<String>,
    pub attack: Vec<AttackRowView>,
    pub attack_notes: Vec<String>,
    pub events: Vec<EventRowView>,
    pub events_summary: Option<String>,
    pub events_href: String,
    pub coverage_note: String,
    pub record_kinds: Vec<LinkView>,
    pub yaml_html: String,
    /// The server's raw YAML and JSON (static pages carry the YAML in the page and its copy button).
    pub raw_href: Option<String>,
    pub json_href: Option<String>,
    pub stages: Vec<StageView>,
    pub indicators: Vec<IndicatorGroup>,
    pub correlation: Option<CorrelationView>,
    pub applies_to: Vec<MaybeLink>,
    pub related: Vec<RelatedView>,
    pub references: Vec<MaybeLink>,
    pub falsepositives: Vec<String>,
    pub other_tags: Vec<String>,
    pub regression: Option<String>,
    pub diagnostics: Vec<String>,
    /// What rules of other families add (query, cross-family duplicates).
    pub family: crate::family_view::FamilyView,
}

pub(crate) struct PartLink {
    pub label: String,
    pub href: String,
    pub title: &'static str,
}

pub(crate) struct AttackRowView {
    pub tactic: String,
    pub href: String,
    pub techniques: Vec<TechniqueView>,
}

pub(crate) struct TechniqueView {
    pub id: String,
    pub name: String,
    pub href: String,
    pub via: Option<String>,
    pub inferred: bool,
}

pub(crate) struct EventRowView {
    pub provider: String,
    pub provider_name: String,
    pub provider_href: String,
    pub event_id: u32,
    pub href: String,
    pub title: String,
    pub mapped: String,
}

pub(crate) struct StageView {
    pub number: usize,
    pub name: String,
    pub html: String,
    pub logic: Option<String>,
    pub negated: bool,
    pub used: bool,
    pub joins: Vec<String>,
}

pub(crate) struct IndicatorGroup {
    pub field: String,
    pub kind: &'static str,
    pub values: Vec<IndicatorValue>,
}

pub(crate) struct IndicatorValue {
    pub value: String,
    pub count: usize,
    pub label: String,
    pub href: Option<String>,
    pub title: String,
    pub notes: Vec<String>,
    pub excluded: bool,
    /// The family's own predicate when the row is a mapped equivalent.
    pub mapped_from: Option<String>,
}

pub(crate) struct CorrelationView {
    pub kind: String,
    pub timespan: Option<String>,
    pub condition: Option<String>,
    pub group_by: String,
    pub rules: Vec<MaybeLink>,
    pub generate: &'static str,
    /// `alias: rule: field, ...`
    pub aliases: Vec<String>,
}

pub(crate) struct RelatedView {
    pub kind: String,
    pub label: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "rule.html")]
struct RuleTemplate {
    chrome: Chrome,
    v: RuleView,
}

/// A rule page.
pub fn rule(app: &App, links: &Links, p: &RulePage) -> PageResult {
    let mut chrome = Chrome::new(app, links, p.title.clone(), Section::Rules);
    chrome.description = p.description.as_deref().map(|d| crate::view::snippet(d, 200));
    Ok(RuleTemplate { chrome, v: rule_view(app, links, p) }.render()?)
}

fn view_link(links: &Links, l: &ViewLink) -> MaybeLink {
    MaybeLink { label: l.label.clone(), href: l.key.as_ref().map(|k| links.rule(k)) }
}

/// The rule page: the catalog's [`sigil_catalog::PageView`] with links, facets and highlighting added.
pub(crate) fn rule_view(app: &App, links: &Links, p: &RulePage) -> RuleView {
    let v = app.catalog().page_view(p);
    let multi_source = app.catalog().sources().len() > 1;
    let mut logsource = Vec::new();
    for (facet, title, value) in [
        ("product", "product", &p.logsource.product),
        ("category", "category", &p.logsource.category),
        ("service", "service", &p.logsource.service),
    ] {
        if let Some(v) = value {
            logsource.push(PartLink { label: v.clone(), href: links.facet(facet, v), title });
        }
    }
    let attack = v
        .attack
        .rows
        .iter()
        .map(|row| AttackRowView {
            tactic: row.tactic.clone(),
            href: links.facet("tactic", &row.shortname),
            techniques: row
                .techniques
                .iter()
                .map(|t| TechniqueView {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    href: links.technique(&t.id),
                    via: t.via.clone(),
                    inferred: t.inferred_tactic,
                })
                .collect(),
        })
        .collect();
    let events = v
        .events
        .rows
        .iter()
        .map(|e| EventRowView {
            provider: e.provider.clone(),
            provider_name: e.provider_name.clone(),
            provider_href: links.provider(app.provider_slug(&e.provider_name)),
            event_id: e.event_id,
            href: links.event(app.provider_slug(&e.provider_name), e.event_id),
            title: e.title.clone(),
            mapped: e.renamed_label(),
        })
        .collect();
    let stages = v
        .stages
        .iter()
        .map(|s| StageView {
            number: s.number,
            name: s.name.clone(),
            html: if s.number == 0 { highlight::escape(&s.text) } else { highlight::yaml(&s.text) },
            logic: s.logic.clone(),
            negated: s.negated,
            used: s.used,
            joins: s.joins.clone(),
        })
        .collect();
    let indicators = v
        .indicators
        .iter()
        .map(|g| IndicatorGroup {
            field: g.field.clone(),
            kind: g.kind,
            values: g
                .values
                .iter()
                .map(|x| IndicatorValue {
                    value: x.value.clone(),
                    count: x.rules,
                    label: x.label.clone(),
                    href: (x.rules > 1).then(|| links.indicator(&x.key)),
                    title: x.count_title(),
                    notes: x.notes.clone(),
                    excluded: x.excluded,
                    mapped_from: x.mapped_from.clone(),
                })
                .collect(),
        })
        .collect();
    let correlation = v.correlation.as_ref().map(|c| CorrelationView {
        kind: c.kind.clone(),
        timespan: c.timespan.clone(),
        condition: c.condition.clone(),
        group_by: c.group_by.clone(),
        rules: c.rules.iter().map(|r| view_link(links, r)).collect(),
        generate: c.generate,
        aliases: c.aliases.clone(),
    });
    let applies_to =
        v.filter.as_ref().map(|f| f.applies_to.iter().map(|r| view_link(links, r)).collect()).unwrap_or_default();
    let related = v
        .related
        .iter()
        .map(|r| RelatedView {
            kind: r.relation.clone(),
            label: r.link.label.clone(),
            href: r.link.key.as_ref().map(|k| links.rule(k)),
        })
        .collect();
    let references = v.references.iter().map(|r| MaybeLink { label: r.clone(), href: safe_url(r) }).collect::<Vec<_>>();
    RuleView {
        family: crate::family_view::family_view(app, links, p),
        crumb_rules: links.home(),
        crumb_format: if multi_source { links.facet("source", &p.source) } else { links.home() },
        title: v.title,
        kind: v.kind,
        status: p.status.as_deref().map(css_word),
        status_href: p.status.as_deref().map(|s| links.facet("status", s)).unwrap_or_default(),
        level: Level::of(p.level.as_deref()),
        level_href: p.level.as_deref().map(|s| links.facet("level", s)).unwrap_or_else(|| links.home()),
        logsource,
        authors: authors(p.author.as_deref())
            .into_iter()
            .map(|a| LinkView { href: links.facet("author", &a), label: a })
            .collect(),
        source: p.source.clone(),
        source_href: links.facet("source", &p.source),
        path: p.rel_path.clone(),
        date: p.date.clone(),
        modified: p.modified.clone(),
        id: p.id.clone(),
        description: v.description,
        attack,
        attack_notes: v.attack.notes.iter().map(NoteList::line).collect(),
        events,
        events_summary: v.events.summary,
        events_href: links.events(),
        coverage_note: v.events.note.unwrap_or_default(),
        record_kinds: v
            .events
            .record_kinds
            .iter()
            .map(|k| LinkView { href: links.record_kind(k), label: k.clone() })
            .collect(),
        yaml_html: highlight::yaml(&p.yaml),
        raw_href: (links.mode() == crate::links::Mode::Server).then(|| links.rule_raw(&p.key)),
        json_href: (links.mode() == crate::links::Mode::Server).then(|| links.rule_json(&p.key)),
        stages,
        indicators,
        correlation,
        applies_to,
        related,
        references,
        falsepositives: v.falsepositives,
        other_tags: v.other_tags,
        regression: v.regression,
        diagnostics: v.diagnostics,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// ATT&CK

pub(crate) struct LegendItem {
    pub class: &'static str,
    pub label: &'static str,
}

pub(crate) struct CellView {
    pub id: String,
    pub name: String,
    pub count: usize,
    pub class: &'static str,
    pub href: Option<String>,
    pub subs: Vec<String>,
    /// When families disagree on the technique: (`2/3 families`, `Sigma and Splunk, not Elastic`).
    pub gap: Option<(String, String)>,
}

pub(crate) struct ColumnView {
    pub id: String,
    pub shortname: String,
    pub name: String,
    pub href: String,
    pub rules: usize,
    pub covered: usize,
    pub cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "attack.html")]
struct AttackTemplate {
    chrome: Chrome,
    version: String,
    covered: usize,
    technique_total: usize,
    legend: Vec<LegendItem>,
    navigator_href: String,
    columns: Vec<ColumnView>,
    /// Family filter links (label, href, active) when the catalog holds several families.
    families: Vec<(String, String, bool)>,
    /// The disagreements view, when several families tag ATT&CK and the whole map is shown.
    disagreements_href: Option<String>,
}

/// The ATT&CK heat map (`/attack`).
pub fn attack(app: &App, links: &Links) -> PageResult {
    attack_of(app, links, app.matrix(), None)
}

/// The heat map of one rule family (`/attack?family=splunk`).
pub fn attack_family(app: &App, links: &Links, family: &str) -> PageResult {
    let m = crate::app::Matrix::build_for(app.catalog(), Some(family));
    attack_of(app, links, &m, Some(family))
}

fn attack_of(app: &App, links: &Links, m: &crate::app::Matrix, family: Option<&str>) -> PageResult {
    let fams = app.catalog().families();
    // The per-family maps are built on request: the server offers them, the static site does not.
    let families: Vec<(String, String, bool)> = if fams.len() > 1 && links.mode() == crate::links::Mode::Server {
        std::iter::once(("all families".to_string(), links.attack(), family.is_none()))
            .chain(fams.iter().map(|f| {
                (f.family.clone(), format!("{}?family={}", links.attack(), f.family), family == Some(f.family.as_str()))
            }))
            .collect()
    } else {
        Vec::new()
    };
    let by_family = app.attack_by_family();
    let compared = by_family.families.len();
    // Where families disagree is marked on the map of every family only (a one-family map has no one to differ).
    let gap = |id: &str| {
        let t = by_family.technique(id).filter(|t| family.is_none() && t.disagrees())?;
        Some((format!("{}/{compared} families", t.covered_by.len()), t.label.clone()))
    };
    let columns = m
        .columns
        .iter()
        .map(|c| ColumnView {
            id: c.id.clone(),
            shortname: c.shortname.clone(),
            name: c.name.clone(),
            href: links.facet("tactic", &c.shortname),
            rules: c.rules,
            covered: c.cells.iter().filter(|x| x.count > 0).count(),
            cells: c
                .cells
                .iter()
                .map(|cell| CellView {
                    id: cell.id.clone(),
                    name: cell.name.clone(),
                    count: cell.count,
                    class: heat_class(cell.count),
                    // The static site has one page per technique (a page per matrix cell would double them).
                    href: (cell.count > 0).then(|| match links.mode() {
                        crate::links::Mode::Server => links.technique_in(&cell.id, &c.shortname),
                        crate::links::Mode::Static => links.technique(&cell.id),
                    }),
                    subs: cell
                        .subs
                        .iter()
                        .filter(|(_, _, n)| *n > 0)
                        .map(|(id, _, n)| format!("{} ({n})", id.get(id.len().saturating_sub(3)..).unwrap_or(id)))
                        .collect(),
                    gap: if cell.count > 0 { gap(&cell.id) } else { None },
                })
                .collect(),
        })
        .collect();
    let mut chrome = Chrome::new(app, links, "ATT&CK coverage", Section::Attack);
    chrome.description = Some("ATT&CK heat map of the catalog's rules".to_string());
    chrome.wide = true;
    Ok(AttackTemplate {
        chrome,
        version: format!("{}, release {}", m.version, m.release),
        covered: m.covered_techniques(),
        technique_total: m.technique_total,
        legend: LEGEND.iter().map(|(class, label)| LegendItem { class, label }).collect(),
        navigator_href: links.navigator(),
        columns,
        families,
        disagreements_href: (by_family.compares() && family.is_none()).then(|| links.attack_disagreements()),
    }
    .render()?)
}

/// One row of the disagreements view.
pub(crate) struct DisagreementRow {
    pub id: String,
    pub name: String,
    pub href: String,
    pub counts: Vec<usize>,
    pub rules: usize,
    pub label: String,
}

/// A sortable column head: (label, href when sortable here, `aria-sort` value when sorted by it).
pub(crate) struct SortHead {
    pub label: String,
    pub href: Option<String>,
    pub sorted: Option<&'static str>,
    pub numeric: bool,
}

#[derive(Template)]
#[template(path = "attack_disagreements.html")]
struct DisagreementsTemplate {
    chrome: Chrome,
    attack_href: String,
    families: String,
    total: usize,
    shown: usize,
    heads: Vec<SortHead>,
    rows: Vec<DisagreementRow>,
    /// Filter links (label, href, active); server only.
    filters: Vec<(String, String, bool)>,
    filter_label: Option<String>,
}

/// The order and filter of the disagreements view from `sort=` and `only=`: `sort` is `id`, `rules`, `families`
/// (fewest covering families first, the default) or a family name (most rules of that family first); `only` is
/// `covered:FAMILY` or `missing:FAMILY`.
///
/// # Errors
/// What is wrong with a value, in words (a bad request).
pub fn disagreement_args(
    app: &App,
    sort: Option<&str>,
    only: Option<&str>,
) -> Result<(DisagreementOrder, Option<String>), String> {
    let fa = app.attack_by_family();
    let order = match sort {
        None => DisagreementOrder::Families,
        Some(s) => DisagreementOrder::from_name(s, &fa.families)
            .ok_or_else(|| format!("cannot sort by '{s}': id, rules, families or a family of this catalog"))?,
    };
    let only = match only {
        None => None,
        Some(o) => match o.split_once(':') {
            Some(("covered" | "missing", f)) if fa.families.iter().any(|x| x == f) => Some(o.to_string()),
            _ => {
                return Err(format!(
                    "'{o}' is not a filter: covered:FAMILY or missing:FAMILY, with a family of this catalog"
                ));
            }
        },
    };
    Ok((order, only))
}

/// Techniques some rule families cover and others do not (`/attack/disagreements`): per technique the rules of
/// each family, in `order`, restricted by `only` ([`disagreement_args`]). The static site has the default view.
pub fn attack_disagreements(app: &App, links: &Links, order: &DisagreementOrder, only: Option<&str>) -> PageResult {
    let fa = app.attack_by_family();
    let server = links.mode() == crate::links::Mode::Server;
    let list = fa.disagreements(order, only);
    let href = |sort: &str, only: Option<&str>| {
        let mut pairs = vec![("sort", sort)];
        if let Some(o) = only {
            pairs.push(("only", o));
        }
        format!("{}?{}", links.attack_disagreements(), crate::query::build(pairs))
    };
    let head = |label: String, key: &str, numeric: bool| SortHead {
        label,
        href: server.then(|| href(key, only)),
        sorted: (order.name() == key).then_some(if matches!(key, "id" | "families") {
            "ascending"
        } else {
            "descending"
        }),
        numeric,
    };
    let mut heads = vec![head("Technique".to_string(), "id", false)];
    heads.extend(fa.families.iter().map(|f| head(family_label(f), f, true)));
    heads.push(head("All".to_string(), "rules", true));
    heads.push(head("Covered by".to_string(), "families", false));
    let filters = if server {
        std::iter::once(("all".to_string(), href(order.name(), None), only.is_none()))
            .chain(fa.families.iter().flat_map(|f| {
                let label = family_label(f);
                let covered = format!("covered:{f}");
                let missing = format!("missing:{f}");
                [
                    (format!("{label} covers"), href(order.name(), Some(&covered)), only == Some(covered.as_str())),
                    (format!("not {label}"), href(order.name(), Some(&missing)), only == Some(missing.as_str())),
                ]
            }))
            .collect()
    } else {
        Vec::new()
    };
    let filter_label = only.and_then(|o| o.split_once(':')).map(|(k, f)| match k {
        "covered" => format!("covered by {}", family_label(f)),
        _ => format!("not covered by {}", family_label(f)),
    });
    let rows: Vec<DisagreementRow> = list
        .iter()
        .map(|t| DisagreementRow {
            id: t.id.clone(),
            name: t.name.clone(),
            href: links.technique(&t.id),
            counts: t.counts.clone(),
            rules: t.rules,
            label: t.label.clone(),
        })
        .collect();
    let mut chrome = Chrome::new(app, links, "Where rule families disagree", Section::Attack);
    chrome.description = Some("ATT&CK techniques some rule families cover and others do not".to_string());
    Ok(DisagreementsTemplate {
        chrome,
        attack_href: links.attack(),
        families: fa.families.iter().map(|f| family_label(f)).collect::<Vec<_>>().join(", "),
        total: fa.techniques.iter().filter(|t| !t.id.contains('.')).count(),
        shown: rows.len(),
        heads,
        rows,
        filters,
        filter_label,
    }
    .render()?)
}

pub(crate) struct TacticChip {
    pub label: String,
    pub href: Option<String>,
    pub active: bool,
}

pub(crate) struct SubView {
    pub id: String,
    pub name: String,
    pub href: Option<String>,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "technique.html")]
struct TechniqueTemplate {
    chrome: Chrome,
    attack_href: String,
    parent: Option<LinkView>,
    id: String,
    name: String,
    tactics: Vec<TacticChip>,
    total: usize,
    tactic_label: Option<String>,
    all_href: String,
    search_href: String,
    mitre_href: String,
    /// Rules per family (family, rules, href of the family's rules) and in words, when several families are
    /// compared: counted over every tactic.
    by_family: Vec<(String, usize, String)>,
    family_label: Option<String>,
    disagreements_href: String,
    subs: Vec<SubView>,
    rows: Vec<RuleRow>,
}

/// A technique page (`/attack/T1059?tactic=execution`).
pub fn technique(app: &App, links: &Links, id: &str, tactic: Option<&str>) -> PageResult {
    let catalog = app.catalog();
    let attack = catalog.knowledge().attack();
    let Some(t) = attack.technique(id) else {
        return Err(Failure::NotFound(format!("ATT&CK technique '{id}' is not in {}", attack.version())));
    };
    let tactic = match tactic {
        Some(name) => match attack.tactic(name) {
            Some(x) if t.tactics().contains(&x.shortname) => Some(x),
            _ => return Err(Failure::NotFound(format!("technique {} is not under tactic '{name}'", t.id))),
        },
        None => None,
    };
    let pages: Vec<&RulePage> = match tactic {
        Some(x) => app.pages_at(app.matrix().pages(x.shortname, t.id)).collect(),
        None => catalog.by_technique(t.id),
    };
    let mut rows: Vec<RuleRow> = pages.iter().map(|p| RuleRow::brief(app, links, p)).collect();
    rows.sort_by_cached_key(|r| r.title.to_lowercase());
    let server = links.mode() == crate::links::Mode::Server;
    let tactics = t
        .tactics()
        .iter()
        .filter_map(|s| attack.tactic(s))
        .map(|x| TacticChip {
            label: x.display.to_string(),
            // The static site has one page per technique, none per tactic.
            href: server.then(|| links.technique_in(t.id, x.shortname)),
            active: tactic.is_none_or(|cur| cur.shortname == x.shortname),
        })
        .collect();
    let subs = if t.is_subtechnique() {
        Vec::new()
    } else {
        attack
            .techniques()
            .iter()
            .filter(|s| s.parent_id() == Some(t.id))
            .map(|s| {
                let count = catalog.by_technique(s.id).len();
                SubView {
                    id: s.id.to_string(),
                    name: s.name.to_string(),
                    href: (server || count > 0).then(|| links.technique(s.id)),
                    count,
                }
            })
            .collect()
    };
    let parent = t
        .parent_id()
        .and_then(|pid| attack.technique(pid))
        .map(|p| LinkView { label: format!("{} {}", p.id, p.name), href: links.technique(p.id) });
    let mitre_href = format!("https://attack.mitre.org/techniques/{}/", t.id.replace('.', "/"));
    let fa = app.attack_by_family();
    let entry = fa.technique(t.id).filter(|_| fa.compares());
    let by_family = entry.map_or_else(Vec::new, |e| {
        fa.families
            .iter()
            .zip(&e.counts)
            .map(|(f, n)| {
                let q = crate::query::build([("technique", t.id), ("family", f.as_str())]);
                (family_label(f), *n, links.search(&q))
            })
            .collect()
    });
    let family_label = entry.map(|e| e.label.clone());
    let chrome = Chrome::new(app, links, format!("{} {}", t.id, t.display), Section::Attack);
    Ok(TechniqueTemplate {
        chrome,
        attack_href: links.attack(),
        parent,
        id: t.id.to_string(),
        name: t.display.to_string(),
        tactics,
        total: rows.len(),
        tactic_label: tactic.map(|x| x.display.to_string()),
        all_href: links.technique(t.id),
        search_href: links.facet("technique", t.id),
        mitre_href,
        by_family,
        family_label,
        disagreements_href: links.attack_disagreements(),
        subs,
        rows,
    }
    .render()?)
}

// ---------------------------------------------------------------------------------------------------------------
// Indicators

pub(crate) struct IndicatorHead {
    pub field: String,
    pub kind: &'static str,
    pub value: String,
    pub variant: String,
}

pub(crate) struct IndicatorListRow {
    pub field: String,
    pub kind: &'static str,
    pub value: String,
    pub variant: String,
    pub rules: usize,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "indicators.html")]
struct IndicatorsTemplate {
    chrome: Chrome,
    home_href: String,
    exact: Option<IndicatorHead>,
    rows: Vec<RuleRow>,
    form_action: String,
    field: String,
    kind: String,
    value: String,
    intro: String,
    list: Vec<IndicatorListRow>,
}

/// Most rows an indicator listing shows.
pub const INDICATOR_LIST_MAX: usize = 300;

/// The indicator page: the rules behind one indicator, or a listing of indicators matching the query.
pub fn indicators(app: &App, links: &Links, q: &IndicatorQuery) -> PageResult {
    let catalog = app.catalog();
    let mut chrome = Chrome::new(app, links, "Indicators", Section::Indicators);
    let base = IndicatorsTemplate {
        chrome: chrome.clone(),
        home_href: links.home(),
        exact: None,
        rows: Vec::new(),
        form_action: links.indicators(),
        field: q.field.clone(),
        kind: q.kind.clone(),
        value: q.value.clone(),
        intro: String::new(),
        list: Vec::new(),
    };
    if let Some((key, indices)) = catalog.find_indicator(q) {
        let pages: Vec<&RulePage> = app.pages_at(indices).collect();
        let shown = catalog.indicator_shown_value(&key);
        chrome.title = format!("{} {} {}", key.field, key.kind, shown);
        let mut rows: Vec<RuleRow> = pages.iter().map(|p| RuleRow::brief(app, links, p)).collect();
        rows.sort_by_cached_key(|r| r.title.to_lowercase());
        return Ok(IndicatorsTemplate {
            chrome,
            exact: Some(IndicatorHead {
                field: if key.field.is_empty() { "(keyword)".into() } else { key.field.clone() },
                kind: key.kind.as_str(),
                value: shown,
                variant: key.variant.clone(),
            }),
            rows,
            ..base
        }
        .render()?);
    }
    if !q.kind.is_empty() && Kind::from_name(&q.kind).is_none() {
        return Err(Failure::NotFound(format!("unknown indicator kind '{}'", q.kind)));
    }
    let list = indicator_list(app, links, q);
    let filtered = !(q.field.is_empty() && q.kind.is_empty() && q.value.is_empty());
    let intro = if filtered {
        format!(
            "{} indicators match{}. Each counts the rules that look for the same field, kind and value.",
            list.len(),
            if list.len() >= INDICATOR_LIST_MAX {
                format!(" (showing the first {INDICATOR_LIST_MAX})")
            } else {
                String::new()
            }
        )
    } else {
        format!(
            "The indicators most shared across the catalog's {} rules. Filter by field, kind (equals, starts_with, \
             ends_with, match, regex, cidr, …) or part of a value.",
            catalog.len()
        )
    };
    Ok(IndicatorsTemplate { chrome, intro, list, ..base }.render()?)
}

pub(crate) fn indicator_list(app: &App, links: &Links, q: &IndicatorQuery) -> Vec<IndicatorListRow> {
    let catalog = app.catalog();
    catalog
        .matching_indicators(q, INDICATOR_LIST_MAX)
        .into_iter()
        .map(|(k, rules)| IndicatorListRow {
            field: if k.field.is_empty() { "(keyword)".into() } else { k.field.clone() },
            kind: k.kind.as_str(),
            value: catalog.indicator_shown_value(k),
            variant: k.variant.clone(),
            rules: *rules,
            href: (links.mode() == crate::links::Mode::Server || *rules > 1).then(|| links.indicator(k)),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Events

pub(crate) struct ProviderRow {
    pub provider: String,
    pub provider_name: String,
    pub channel: Option<String>,
    pub href: String,
    pub events: usize,
    pub events_with_rules: usize,
    pub rules: usize,
}

pub(crate) struct RecordKindRow {
    pub kind: String,
    pub href: String,
    pub logsources: String,
    pub fields: usize,
    pub rules: usize,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsTemplate {
    chrome: Chrome,
    providers: Vec<ProviderRow>,
    kinds: Vec<RecordKindRow>,
}

/// Providers (`/events`).
pub fn events(app: &App, links: &Links) -> PageResult {
    let providers = app
        .catalog()
        .providers()
        .into_iter()
        .map(|p| ProviderRow {
            href: links.provider(app.provider_slug(&p.provider_name)),
            provider: p.provider,
            provider_name: p.provider_name,
            channel: p.channel,
            events: p.events,
            events_with_rules: p.events_with_rules,
            rules: p.rules,
        })
        .collect();
    let kinds = app
        .catalog()
        .provider_list()
        .record_kinds
        .into_iter()
        .map(|k| RecordKindRow {
            href: links.record_kind(&k.kind),
            kind: k.kind,
            logsources: k.logsources.join(", "),
            fields: k.fields,
            rules: k.rule_count,
        })
        .collect();
    Ok(EventsTemplate { chrome: Chrome::new(app, links, "Events", Section::Events), providers, kinds }.render()?)
}

#[derive(Template)]
#[template(path = "record_kind.html")]
struct RecordKindTemplate {
    chrome: Chrome,
    events_href: String,
    kind: String,
    logsources: String,
    fields: Vec<FieldRow>,
    rows: Vec<RuleRow>,
}

/// One record kind that is not a Windows event (`/records/aws.cloudtrail`): the fields its rules read and the
/// rules.
pub fn record_kind(app: &App, links: &Links, kind: &str) -> PageResult {
    let catalog = app.catalog();
    let Some(k) = catalog.record_kind_page(kind) else {
        return Err(Failure::NotFound(format!("no record kind named '{kind}'")));
    };
    let fields = k
        .fields
        .iter()
        .map(|f| FieldRow { name: f.name.clone(), ty: String::new(), rules: f.rules, href: None, active: false })
        .collect();
    let mut rows: Vec<RuleRow> = k
        .rules
        .iter()
        .filter_map(|r| r.key.as_deref().and_then(|key| catalog.by_key(key)))
        .map(|p| RuleRow::new(app, links, p))
        .collect();
    rows.sort_by_cached_key(|r| r.title.to_lowercase());
    let chrome = Chrome::new(app, links, format!("Records {}", k.kind), Section::Events);
    Ok(RecordKindTemplate {
        chrome,
        events_href: links.events(),
        kind: k.kind,
        logsources: k.logsources.join(", "),
        fields,
        rows,
    }
    .render()?)
}

pub(crate) struct EventListRow {
    pub event_id: u32,
    pub title: String,
    pub href: Option<String>,
    pub fields: usize,
    pub rules: usize,
}

#[derive(Template)]
#[template(path = "provider.html")]
struct ProviderTemplate {
    chrome: Chrome,
    events_href: String,
    provider: String,
    provider_name: String,
    channel: Option<String>,
    events: Vec<EventListRow>,
}

/// One provider's events (`/events/Sysmon`).
pub fn provider(app: &App, links: &Links, name: &str) -> PageResult {
    let catalog = app.catalog();
    let Some(p) = catalog.knowledge().event_catalog().provider(name) else {
        return Err(Failure::NotFound(format!("no event provider named '{name}'")));
    };
    let events = catalog
        .event_pages(Some(p.name))
        .into_iter()
        .map(|e| EventListRow {
            event_id: e.event_id,
            // The static site has pages only for events that rules fire on specifically.
            href: (links.mode() == crate::links::Mode::Server || event_in_static_site(app, p.name, e.event_id))
                .then(|| links.event(app.provider_slug(&e.provider_name), e.event_id)),
            title: e.title,
            fields: e.fields.len(),
            rules: e.rule_count,
        })
        .collect();
    Ok(ProviderTemplate {
        chrome: Chrome::new(app, links, p.display, Section::Events),
        events_href: links.events(),
        provider: p.display.to_string(),
        provider_name: p.name.to_string(),
        channel: p.channel.map(str::to_string),
        events,
    }
    .render()?)
}

pub(crate) struct FieldRow {
    pub name: String,
    pub ty: String,
    pub rules: usize,
    pub href: Option<String>,
    pub active: bool,
}

pub(crate) struct AlsoRow {
    pub provider: String,
    pub event_id: u32,
    pub title: String,
    pub href: String,
    pub rules: usize,
}

#[derive(Template)]
#[template(path = "event.html")]
struct EventTemplate {
    chrome: Chrome,
    events_href: String,
    provider_href: String,
    self_href: String,
    provider: String,
    provider_name: String,
    event_id: u32,
    title: String,
    channel: Option<String>,
    rule_count: usize,
    fields: Vec<FieldRow>,
    also: Vec<AlsoRow>,
    field: Option<String>,
    rows: Vec<RuleRow>,
    also_more: usize,
    also_broad: usize,
    /// Rules that search every event (not counted in `rule_count`).
    generic_rules: usize,
    /// With `sigil serve --logs`: how often the user's logs hold this event.
    seen: Option<String>,
}

/// Most co-fired events listed on an event page.
const ALSO_MAX: usize = 30;

/// Whether the static site has a page for an event: one that a rule fires on specifically (rules whose log
/// source covers every event are summarised on their own pages, and would otherwise make every event of
/// every provider a page). The server has a page for every described event.
pub fn event_in_static_site(app: &App, provider: &str, id: u32) -> bool {
    app.catalog().has_specific_rules(provider, id)
}

/// Whether a page reads an event field on an event (through its field mapping).
pub(crate) fn reads_field(p: &RulePage, provider_name: &str, id: u32, field: &str) -> bool {
    p.events
        .iter()
        .filter(|e| e.provider_name == provider_name && e.event_id == id)
        .any(|e| e.fields.iter().any(|f| f.event.eq_ignore_ascii_case(field)))
}

/// One event (`/events/Sysmon/1`), optionally only the rules reading a field.
pub fn event(app: &App, links: &Links, provider: &str, id: u32, field: Option<&str>) -> PageResult {
    let catalog = app.catalog();
    let Some(e) = catalog.event_page(provider, id) else {
        return Err(Failure::NotFound(format!("no described event {id} for provider '{provider}'")));
    };
    if let Some(f) = field
        && !e.fields.iter().any(|x| x.name.eq_ignore_ascii_case(f))
    {
        return Err(Failure::NotFound(format!("event {} {id} has no field '{f}'", e.provider)));
    }
    let rules = catalog.rules_for_event(provider, id);
    let mut rows: Vec<RuleRow> = app
        .pages_at(rules)
        .filter(|p| field.is_none_or(|f| reads_field(p, &e.provider_name, id, f)))
        .map(|p| RuleRow::new(app, links, p))
        .collect();
    rows.sort_by_cached_key(|r| r.title.to_lowercase());
    let fields = e
        .fields
        .iter()
        .map(|f| FieldRow {
            name: f.name.clone(),
            ty: f.ty.clone(),
            rules: f.rules,
            // The static site lists an event's rules on its page only (no page per field).
            href: (f.rules > 0 && links.mode() == crate::links::Mode::Server)
                .then(|| links.event_field(app.provider_slug(&e.provider_name), id, &f.name)),
            active: field.is_some_and(|x| x.eq_ignore_ascii_case(&f.name)),
        })
        .collect();
    let also_all = app.co_fired(&e.provider_name, id);
    let also_more = also_all.total.saturating_sub(ALSO_MAX);
    let also_broad = also_all.broad_rules;
    let also = also_all
        .top
        .iter()
        .take(ALSO_MAX)
        .map(|a| AlsoRow {
            href: links.event(app.provider_slug(&a.provider_name), a.event_id),
            provider: a.provider.clone(),
            event_id: a.event_id,
            title: a.title.clone(),
            rules: a.shared_rules,
        })
        .collect();
    let chrome = Chrome::new(app, links, format!("{} {} · {}", e.provider, id, e.title), Section::Events);
    Ok(EventTemplate {
        chrome,
        events_href: links.events(),
        provider_href: links.provider(app.provider_slug(&e.provider_name)),
        self_href: links.event(app.provider_slug(&e.provider_name), id),
        provider: e.provider.clone(),
        provider_name: e.provider_name.clone(),
        event_id: id,
        title: e.title.clone(),
        channel: e.channel.clone(),
        rule_count: e.rule_count,
        fields,
        also,
        field: field.map(str::to_string),
        rows,
        also_more,
        also_broad,
        generic_rules: e.generic_rules,
        seen: app.seen_in_logs(&e.provider_name, id).map(|n| match n {
            0 => "not seen in your logs".to_string(),
            1 => "seen in your logs: 1 event".to_string(),
            n => format!("seen in your logs: {n} events"),
        }),
    }
    .render()?)
}

// ---------------------------------------------------------------------------------------------------------------
// Stats

pub(crate) struct Figure {
    pub value: String,
    pub label: &'static str,
    pub href: Option<String>,
}

pub(crate) struct ChartView {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
}

pub(crate) struct StatIndicator {
    pub field: String,
    pub kind: &'static str,
    pub value: String,
    pub rules: usize,
    pub href: Option<String>,
}

pub(crate) struct NoEventRow {
    pub label: String,
    pub href: Option<String>,
    pub note: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsTemplate {
    chrome: Chrome,
    figures: Vec<Figure>,
    charts: Vec<ChartView>,
    indicators: Vec<StatIndicator>,
    without_attack: Vec<MaybeLink>,
    without_event: Vec<NoEventRow>,
    /// Rules by family, with how many queries were read (shown when the catalog holds other families).
    families: Vec<(sigil_catalog::FamilyCount, String)>,
}

/// Corpus statistics (`/stats`).
pub fn stats(app: &App, links: &Links) -> PageResult {
    let catalog = app.catalog();
    let s = catalog.stats();
    let m = app.matrix();
    let with_regression = catalog.pages().iter().filter(|p| p.has_regression()).count();
    let shared = s.top_indicators.len();
    let mut figures = vec![
        Figure { value: s.pages.to_string(), label: "rules, correlations and filters", href: Some(links.home()) },
        Figure {
            value: format!("{} / {}", m.covered_techniques(), m.technique_total),
            label: "ATT&CK techniques covered",
            href: Some(links.attack()),
        },
        Figure {
            value: s.by_tactic.iter().filter(|c| c.count > 0).count().to_string(),
            label: "tactics covered",
            href: Some(links.attack()),
        },
        Figure {
            value: s.distinct_indicators.to_string(),
            label: "distinct indicators",
            href: Some(links.indicators()),
        },
        Figure {
            value: with_regression.to_string(),
            label: "rules with regression tests",
            href: Some(links.facet("regression", "yes")),
        },
        Figure { value: s.without_event.len().to_string(), label: "rules firing on no described event", href: None },
        Figure { value: catalog.sources().len().to_string(), label: "rule sources", href: None },
    ];
    if s.failed_files > 0 {
        figures.push(Figure { value: s.failed_files.to_string(), label: "files that failed to load", href: None });
    }
    let _ = shared;
    let bars = |counts: &[sigil_catalog::Count], facet: &str, class: bool| -> Vec<Bar> {
        counts
            .iter()
            .map(|c| {
                let mut b = Bar::new(c.label.clone(), c.count);
                if c.value != "none" && c.value != "(none)" {
                    b = b.link(links.facet(facet, &c.value));
                }
                if class {
                    b = b.class(format!("lvl-{}", Level::of(Some(&c.value)).class));
                }
                b
            })
            .collect()
    };
    let top_techniques: Vec<Bar> = s
        .by_technique
        .iter()
        .filter(|c| !c.value.contains('.'))
        .take(15)
        .map(|c| Bar::new(c.label.clone(), c.count).link(links.technique(&c.value)))
        .collect();
    let years: Vec<Bar> = s.by_year.iter().map(|c| Bar::new(c.label.clone(), c.count)).collect();
    let products: Vec<Bar> = s
        .by_product
        .iter()
        .take(12)
        .map(|c| {
            let b = Bar::new(c.label.clone(), c.count);
            if c.value.starts_with('(') { b } else { b.link(links.facet("product", &c.value)) }
        })
        .collect();
    let logsources: Vec<Bar> = s.by_logsource.iter().take(12).map(|c| Bar::new(c.label.clone(), c.count)).collect();
    let charts = vec![
        ChartView {
            id: "tactic",
            title: "Rules per tactic".into(),
            svg: svg::hbar("Rules per tactic", &bars(&s.by_tactic, "tactic", false)),
        },
        ChartView {
            id: "level",
            title: "Rules per severity".into(),
            svg: svg::hbar("Rules per severity", &bars(&s.by_level, "level", true)),
        },
        ChartView {
            id: "status",
            title: "Rules per status".into(),
            svg: svg::hbar("Rules per status", &bars(&s.by_status, "status", false)),
        },
        ChartView { id: "year", title: "Rules per year (date)".into(), svg: svg::columns("Rules per year", &years) },
        ChartView {
            id: "technique",
            title: "Most covered techniques".into(),
            svg: svg::hbar("Most covered techniques", &top_techniques),
        },
        ChartView { id: "product", title: "Rules per product".into(), svg: svg::hbar("Rules per product", &products) },
        ChartView {
            id: "logsource",
            title: "Most common log sources".into(),
            svg: svg::hbar("Most common log sources", &logsources),
        },
    ];
    let indicators = s
        .top_indicators
        .iter()
        .take(25)
        .map(|i| {
            let key = catalog
                .pages()
                .iter()
                .flat_map(|p| p.indicators.iter())
                .find(|x| x.field == i.field && x.kind == i.kind && x.value == i.value)
                .map(|x| x.key.clone());
            StatIndicator {
                field: i.field.clone().unwrap_or_else(|| "(keyword)".into()),
                kind: i.kind.as_str(),
                value: i.value.clone(),
                rules: i.rules,
                href: key.map(|k| links.indicator(&k)),
            }
        })
        .collect();
    let without_attack = s
        .without_attack
        .iter()
        .map(|r| MaybeLink {
            label: r.title.clone().unwrap_or_else(|| r.reference.clone()),
            href: r.key.as_ref().map(|k| links.rule(k)),
        })
        .collect();
    let without_event = s
        .without_event
        .iter()
        .map(|n| NoEventRow {
            label: n.rule.title.clone().unwrap_or_else(|| n.rule.reference.clone()),
            href: n.rule.key.as_ref().map(|k| links.rule(k)),
            note: n.reason.clone(),
        })
        .collect();
    Ok(StatsTemplate {
        chrome: Chrome::new(app, links, "Statistics", Section::Stats),
        figures,
        charts,
        indicators,
        without_attack,
        without_event,
        families: {
            let f = app.catalog().families();
            if f.len() > 1 || f.iter().any(|f| f.family != "sigma") {
                f.into_iter()
                    .map(|f| {
                        let href = links.facet("family", &f.family);
                        (f, href)
                    })
                    .collect()
            } else {
                Vec::new()
            }
        },
    }
    .render()?)
}

// ---------------------------------------------------------------------------------------------------------------
// Messages (errors, choices)

pub(crate) struct Choice {
    pub label: String,
    pub href: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessageTemplate {
    chrome: Chrome,
    code: Option<u16>,
    heading: String,
    text: String,
    choices: Vec<Choice>,
    back_href: String,
    back_label: &'static str,
}

/// An error page (404, 400, 500). Never fails: a template error falls back to plain escaped HTML.
pub fn error(app: &App, links: &Links, status: u16, heading: &str, text: &str) -> String {
    let page = MessageTemplate {
        chrome: Chrome::new(app, links, heading, Section::None),
        code: Some(status),
        heading: heading.to_string(),
        text: text.to_string(),
        choices: Vec::new(),
        back_href: links.home(),
        back_label: "Search the catalog",
    };
    page.render().unwrap_or_else(|_| {
        let mut s = String::from("<!doctype html><title>error</title><h1>");
        let _ = write!(s, "{} {}</h1><p>{}</p>", status, highlight::escape(heading), highlight::escape(text));
        s
    })
}

/// A page asking which of several rules was meant.
pub fn choose(app: &App, links: &Links, what: &str, choices: &[(String, String, String)]) -> PageResult {
    Ok(MessageTemplate {
        chrome: Chrome::new(app, links, "Several rules match", Section::Rules),
        code: None,
        heading: "Several rules match".to_string(),
        text: format!("{what} names {} rules:", choices.len()),
        choices: choices
            .iter()
            .map(|(key, title, note)| Choice { label: title.clone(), href: links.rule(key), note: note.clone() })
            .collect(),
        back_href: links.home(),
        back_label: "Search the catalog",
    }
    .render()?)
}
