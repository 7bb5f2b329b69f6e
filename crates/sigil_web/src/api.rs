//! The JSON API under `/api/`, mirroring the pages. Errors are JSON too: `{"error": {"status", "message"}}`
//! with the matching HTTP status.
//!
//! | Endpoint | Answer |
//! |---|---|
//! | `/api` | this list |
//! | `/api/rules?q=&tactic=&…&page=&per_page=&sort=` | a search: total, rules, facet counts |
//! | `/api/rules/{key or id}` | one rule in the `sigil show --format json` shape |
//! | `/api/rules/sigma/{file stem}` | the same, by file stem |
//! | `/api/attack` | the matrix with rule counts per tactic and technique |
//! | `/api/attack/navigator.json` | the coverage as an ATT&CK Navigator layer (format 4.5) |
//! | `/api/attack/{technique}` | a technique and its rules |
//! | `/api/indicators?field=&kind=&value=` | an indicator and its rules, or matching indicators |
//! | `/api/events`, `/api/events/{provider}`, `/api/events/{provider}/{id}` | the events side |
//! | `/api/stats` | corpus statistics |
//! | `POST /api/rules/{key}/explain` | body: one event as JSON (≤ 64 KiB); whether and why the rule matches it |

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use sigil_catalog::RulePage;

use crate::app::{App, HEAT_COLORS, LEGEND};
use crate::links::Links;
use crate::pages::{self, Failure};
use crate::query::{Params, QueryError};
use crate::search;
use crate::server::{Shared, indicator_query, lookup, lookup_stem, raw_yaml};

/// The API routes (nested under `/api`).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(index))
        .route("/rules", get(rules))
        .route("/rules/{key}", get(rule))
        .route("/rules/{a}/{b}", get(rule_by_path))
        // The rule page's "try an event" box. A file stem `explain` still answers GET, as any other.
        .route(
            "/rules/{a}/explain",
            axum::routing::post(crate::explain::explain)
                .get(|app: State<Shared>, Path(a): Path<String>| async move {
                    rule_by_path(app, Ok(Path((a, "explain".to_string())))).await
                })
                .layer(axum::extract::DefaultBodyLimit::max(crate::explain::MAX_EVENT_BYTES)),
        )
        .route("/attack", get(attack))
        .route("/attack/navigator.json", get(navigator))
        .route("/attack/disagreements", get(disagreements))
        .route("/attack/{technique}", get(technique))
        .route("/indicators", get(indicators))
        .route("/events", get(events))
        .route("/events/{provider}", get(provider))
        .route("/events/{provider}/{id}", get(event))
        .route("/stats", get(stats))
}

/// An error answer: `{"error": {"status", "message"}}`, and `choices` when a reference names several rules.
#[derive(Debug, Serialize)]
struct ApiError<'a> {
    error: ErrorBody<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    choices: Vec<Choice<'a>>,
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    status: u16,
    message: &'a str,
}

/// One of the rules an ambiguous reference names.
#[derive(Debug, Serialize)]
struct Choice<'a> {
    key: &'a str,
    title: &'a str,
    #[serde(rename = "where")]
    place: &'a str,
    api_url: String,
}

/// A JSON error response.
pub fn error(status: StatusCode, message: &str) -> Response {
    let body = ApiError { error: ErrorBody { status: status.as_u16(), message }, choices: Vec::new() };
    (status, json_body(&body)).into_response()
}

fn json_body<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut r = bytes.into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "JSON serialisation failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                "{\"error\":{\"status\":500,\"message\":\"serialisation failed\"}}",
            )
                .into_response()
        }
    }
}

/// A JSON answer (for handlers in other modules).
pub(crate) fn json_response<T: Serialize>(value: &T) -> Response {
    json_body(value)
}

fn ok<T: Serialize>(value: &T) -> Response {
    json_body(value)
}

fn failure(f: Failure) -> Response {
    match f {
        Failure::NotFound(msg) => error(StatusCode::NOT_FOUND, &msg),
        Failure::Ambiguous(what, choices) => {
            let message = format!("{what} names {} rules", choices.len());
            let body = ApiError {
                error: ErrorBody { status: 300, message: &message },
                choices: choices
                    .iter()
                    .map(|(key, title, note)| Choice {
                        key,
                        title,
                        place: note,
                        api_url: format!("/api/rules/{}", crate::query::encode_segment(key)),
                    })
                    .collect(),
            };
            (StatusCode::MULTIPLE_CHOICES, json_body(&body)).into_response()
        }
        Failure::Render(e) => {
            tracing::error!(error = %e, "rendering failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn bad_query(e: &QueryError) -> Response {
    error(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), &e.to_string())
}

fn parse(q: Option<String>) -> Result<Params, QueryError> {
    Params::parse(q.as_deref())
}

fn path_error(e: &PathRejection) -> Response {
    error(StatusCode::BAD_REQUEST, &e.body_text())
}

/// `/api`: every endpoint with what it answers.
#[derive(Debug, Serialize)]
struct ApiIndex {
    endpoints: serde_json::Map<String, Value>,
}

async fn index() -> Response {
    let endpoints: [(&str, &str); 13] = [
        (
            "/api/rules",
            "search: q, tactic, technique, level, status, product, category, service, author, source, regression, kind, sort, page, per_page",
        ),
        ("/api/rules/{key}", "one rule (key or id), as `sigil show --format json`"),
        ("/api/rules/sigma/{file_stem}", "one rule by file stem"),
        ("/api/attack", "the ATT&CK matrix with rule counts"),
        ("/api/attack/navigator.json", "ATT&CK Navigator layer (format 4.5)"),
        (
            "/api/attack/disagreements",
            "techniques some rule families cover and others do not (sort=, only=covered:F|missing:F)",
        ),
        ("/api/attack/{technique}", "a technique and its rules (tactic= to restrict)"),
        ("/api/indicators", "field, kind, value: an indicator's rules, or matching indicators"),
        ("/api/events", "providers"),
        ("/api/events/{provider}", "a provider's events"),
        ("/api/events/{provider}/{id}", "one event: fields, rules, co-fired events"),
        ("/api/stats", "corpus statistics"),
        (
            "POST /api/rules/{key}/explain",
            "body: one event as JSON (at most 64 KiB); whether and why the rule matches it",
        ),
    ];
    let endpoints = endpoints.into_iter().map(|(k, v)| (k.to_string(), Value::from(v))).collect();
    ok(&ApiIndex { endpoints })
}

/// A rule in result lists.
#[derive(Serialize)]
struct RuleSummary<'a> {
    key: &'a str,
    id: Option<&'a str>,
    title: &'a str,
    status: Option<&'a str>,
    level: Option<&'a str>,
    kind: &'static str,
    logsource: &'a sigil_catalog::LogsourceInfo,
    tactics: &'a [String],
    techniques: &'a [String],
    date: Option<&'a str>,
    modified: Option<&'a str>,
    source: &'a str,
    path: &'a str,
    url: String,
    api_url: String,
    /// Search relevance (search answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<u32>,
    /// The passage around the first matched term (search answers with text only).
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<&'a [sigil_catalog::Segment]>,
}

fn summary<'a>(links: &Links, p: &'a RulePage) -> RuleSummary<'a> {
    RuleSummary {
        key: &p.key,
        id: p.id.as_deref(),
        title: &p.title,
        status: p.status.as_deref(),
        level: p.level.as_deref(),
        kind: p.kind.as_str(),
        logsource: &p.logsource,
        tactics: &p.tactics,
        techniques: &p.techniques,
        date: p.date.as_deref(),
        modified: p.modified.as_deref(),
        source: &p.source,
        path: &p.rel_path,
        url: links.rule(&p.key),
        api_url: links.rule_json(&p.key),
        score: None,
        snippet: None,
    }
}

/// `/api/rules`: a search.
#[derive(Serialize)]
struct SearchAnswer<'a> {
    query: QueryEcho<'a>,
    total: usize,
    pages: usize,
    suggestion: Option<&'a str>,
    rules: Vec<RuleSummary<'a>>,
    facets: FacetMap<'a>,
}

/// Facet counts as an object: facet name → its values, in the catalog's facet order.
struct FacetMap<'a>(Vec<(&'static str, &'a [sigil_catalog::FacetValue])>);

impl Serialize for FacetMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// What a search was asked.
#[derive(Serialize)]
struct QueryEcho<'a> {
    q: &'a str,
    filters: Vec<FilterEcho<'a>>,
    sort: &'static str,
    page: usize,
    per_page: usize,
}

#[derive(Serialize)]
struct FilterEcho<'a> {
    facet: &'static str,
    value: &'a str,
}

async fn rules(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match parse(q) {
        Ok(p) => p,
        Err(e) => return bad_query(&e),
    };
    let req = match search::Request::from_params(&p) {
        Ok(r) => r,
        Err(e) => return bad_query(&e),
    };
    let outcome = search::run(&app, req);
    if outcome.past_the_end() {
        let msg = format!("page {} is past the last page ({})", outcome.request.page, outcome.pages);
        return error(StatusCode::NOT_FOUND, &msg);
    }
    let links = Links::server(app.asset_version());
    let catalog = app.catalog();
    let r = &outcome.request;
    let hits: Vec<RuleSummary<'_>> = outcome
        .results
        .hits
        .iter()
        .filter_map(|h| {
            let page = catalog.page(h.index)?;
            Some(RuleSummary {
                score: Some(h.score),
                snippet: (!h.snippet.is_empty()).then_some(h.snippet.as_slice()),
                ..summary(&links, page)
            })
        })
        .collect();
    ok(&SearchAnswer {
        query: QueryEcho {
            q: &r.q,
            filters: r.filters.iter().map(|(f, v)| FilterEcho { facet: f.as_str(), value: v }).collect(),
            sort: r.sort.as_str(),
            page: r.page,
            per_page: r.per_page,
        },
        total: outcome.results.total,
        pages: outcome.pages,
        suggestion: outcome.results.suggestion.as_deref(),
        rules: hits,
        facets: FacetMap(outcome.results.facets.iter().map(|f| (f.facet.as_str(), f.values.as_slice())).collect()),
    })
}

async fn rule(State(app): State<Shared>, key: Result<Path<String>, PathRejection>) -> Response {
    let key = match key {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&e),
    };
    let key = key.strip_suffix(".json").filter(|k| app.catalog().by_key(k).is_some()).unwrap_or(&key).to_string();
    match lookup(&app, &key) {
        Ok(p) => ok(p),
        Err(f) => failure(f),
    }
}

async fn rule_by_path(State(app): State<Shared>, path: Result<Path<(String, String)>, PathRejection>) -> Response {
    let (a, b) = match path {
        Ok(Path(x)) => x,
        Err(e) => return path_error(&e),
    };
    if b == "yaml"
        && let Some(p) = app.catalog().by_key(&a)
    {
        return raw_yaml(p);
    }
    match lookup_stem(&app, &a, &b) {
        Ok(p) => ok(p),
        Err(f) => failure(f),
    }
}

/// `/api/attack`: the matrix with rule counts.
#[derive(Serialize)]
pub(crate) struct MatrixAnswer<'a> {
    version: &'a str,
    release: &'a str,
    techniques_total: usize,
    techniques_covered: usize,
    tactics: Vec<TacticCounts<'a>>,
}

#[derive(Serialize)]
struct TacticCounts<'a> {
    id: &'a str,
    shortname: &'a str,
    name: &'a str,
    rules: usize,
    techniques: Vec<TechniqueCounts<'a>>,
}

#[derive(Serialize)]
struct TechniqueCounts<'a> {
    id: &'a str,
    name: &'a str,
    rules: usize,
    subtechniques: Vec<SubCounts<'a>>,
}

#[derive(Serialize)]
struct SubCounts<'a> {
    id: &'a str,
    name: &'a str,
    rules: usize,
}

/// The matrix as JSON.
pub(crate) fn attack_json(app: &App) -> MatrixAnswer<'_> {
    let m = app.matrix();
    MatrixAnswer {
        version: &m.version,
        release: &m.release,
        techniques_total: m.technique_total,
        techniques_covered: m.covered_techniques(),
        tactics: m
            .columns
            .iter()
            .map(|c| TacticCounts {
                id: &c.id,
                shortname: &c.shortname,
                name: &c.name,
                rules: c.rules,
                techniques: c
                    .cells
                    .iter()
                    .map(|cell| TechniqueCounts {
                        id: &cell.id,
                        name: &cell.name,
                        rules: cell.count,
                        subtechniques: cell
                            .subs
                            .iter()
                            .map(|(id, name, n)| SubCounts { id, name, rules: *n })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

async fn attack(State(app): State<Shared>) -> Response {
    ok(&attack_json(&app))
}

/// The ATT&CK Navigator layer (format 4.5) of the catalog's coverage.
pub fn navigator_layer(app: &App) -> Value {
    let m = app.matrix();
    let mut scores: Vec<(&str, &str, usize)> = m.scores().collect();
    scores.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
    let max = scores.iter().map(|s| s.2).max().unwrap_or(1).max(1);
    let catalog = app.catalog();
    let release = m.release.trim_start_matches(['v', 'V']).to_string();
    let techniques: Vec<Value> = scores
        .iter()
        .map(|(tactic, id, n)| {
            json!({
                "techniqueID": id,
                "tactic": tactic,
                "score": n,
                "color": "",
                "comment": format!("{n} rule{}", if *n == 1 { "" } else { "s" }),
                "enabled": true,
                "metadata": [],
                "links": [],
                "showSubtechniques": false,
            })
        })
        .collect();
    json!({
        "name": format!("sigil coverage ({} rules)", catalog.len()),
        "versions": { "attack": release, "navigator": "5.1.0", "layer": "4.5" },
        "domain": "enterprise-attack",
        "description": format!(
            "Techniques covered by the {} rules of {}; score = number of rules placing the technique under the tactic.",
            catalog.len(),
            catalog.sources().iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        "filters": { "platforms": ["Windows", "Linux", "macOS", "Network Devices", "ESXi", "PRE", "Containers", "IaaS", "SaaS", "Office Suite", "Identity Provider"] },
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "sum",
            "showID": true,
            "showName": true,
            "showAggregateScores": true,
            "countUnscored": false,
            "expandedSubtechniques": "annotated"
        },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": { "colors": [HEAT_COLORS[1], HEAT_COLORS[6]], "minValue": 0, "maxValue": max },
        "legendItems": LEGEND.iter().zip(HEAT_COLORS).skip(1).map(|((_, label), color)| json!({"label": format!("{label} rules"), "color": color})).collect::<Vec<_>>(),
        "metadata": [ { "name": "generated by", "value": format!("sigil {}", env!("CARGO_PKG_VERSION")) }, { "name": "ATT&CK", "value": m.version } ],
        "links": [],
        "showTacticRowBackground": true,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false
    })
}

async fn navigator(State(app): State<Shared>) -> Response {
    let mut r = ok(&navigator_layer(&app));
    r.headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"sigil-attack-layer.json\""));
    r
}

/// `/api/attack/disagreements`: the families compared and, per technique some cover and others do not, the
/// rules of each family.
#[derive(Serialize)]
struct DisagreementsAnswer<'a> {
    families: &'a [String],
    order: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    only: Option<&'a str>,
    techniques: Vec<&'a sigil_catalog::TechniqueFamilies>,
}

async fn disagreements(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match parse(q) {
        Ok(p) => p,
        Err(e) => return bad_query(&e),
    };
    let (order, only) = match crate::pages::disagreement_args(&app, p.get("sort"), p.get("only")) {
        Ok(args) => args,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    let fa = app.attack_by_family();
    ok(&DisagreementsAnswer {
        families: &fa.families,
        order: order.name(),
        only: only.as_deref(),
        techniques: fa.disagreements(&order, only.as_deref()),
    })
}

async fn technique(
    State(app): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let id = match id {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&e),
    };
    let p = match parse(q) {
        Ok(p) => p,
        Err(e) => return bad_query(&e),
    };
    let catalog = app.catalog();
    let attack = catalog.knowledge().attack();
    let Some(t) = attack.technique(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("ATT&CK technique '{id}' is not in {}", attack.version()));
    };
    let tactic = match p.get("tactic") {
        Some(name) => match attack.tactic(name) {
            Some(x) if t.tactics().contains(&x.shortname) => Some(x.shortname),
            _ => return error(StatusCode::NOT_FOUND, &format!("technique {} is not under tactic '{name}'", t.id)),
        },
        None => None,
    };
    let pages: Vec<&RulePage> = match tactic {
        Some(x) => app.pages_at(app.matrix().pages(x, t.id)).collect(),
        None => catalog.by_technique(t.id),
    };
    let links = Links::server(app.asset_version());
    ok(&TechniqueAnswer {
        id: t.id,
        name: t.name,
        display: t.display,
        tactics: t.tactics(),
        tactic,
        total: pages.len(),
        rules: pages.iter().map(|p| summary(&links, p)).collect(),
    })
}

/// `/api/attack/{technique}`: a technique and its rules.
#[derive(Serialize)]
struct TechniqueAnswer<'a> {
    id: &'a str,
    name: &'a str,
    display: &'a str,
    tactics: &'a [&'a str],
    tactic: Option<&'a str>,
    total: usize,
    rules: Vec<RuleSummary<'a>>,
}

/// `/api/indicators` naming one indicator: its rules.
#[derive(Serialize)]
struct IndicatorAnswer<'a> {
    indicator: sigil_catalog::IndicatorKey,
    total: usize,
    rules: Vec<RuleSummary<'a>>,
}

/// `/api/indicators` otherwise: the most shared indicators matching the query.
#[derive(Serialize)]
struct IndicatorListAnswer {
    indicators: Vec<IndicatorListItem>,
    truncated: bool,
}

#[derive(Serialize)]
struct IndicatorListItem {
    field: String,
    kind: &'static str,
    value: String,
    variant: String,
    rules: usize,
    url: Option<String>,
}

async fn indicators(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match parse(q) {
        Ok(p) => p,
        Err(e) => return bad_query(&e),
    };
    let q = indicator_query(&p);
    let links = Links::server(app.asset_version());
    if let Some((key, indices)) = app.catalog().find_indicator(&q) {
        let rules: Vec<RuleSummary<'_>> = app.pages_at(indices).map(|p| summary(&links, p)).collect();
        return ok(&IndicatorAnswer { indicator: key, total: rules.len(), rules });
    }
    if !q.kind.is_empty() && sigil_catalog::Kind::from_name(&q.kind).is_none() {
        return error(StatusCode::NOT_FOUND, &format!("unknown indicator kind '{}'", q.kind));
    }
    let list = pages::indicator_list(&app, &links, &q);
    let truncated = list.len() >= pages::INDICATOR_LIST_MAX;
    let indicators = list
        .into_iter()
        .map(|i| IndicatorListItem {
            field: i.field,
            kind: i.kind,
            value: i.value,
            variant: i.variant,
            rules: i.rules,
            url: i.href,
        })
        .collect();
    ok(&IndicatorListAnswer { indicators, truncated })
}

async fn events(State(app): State<Shared>) -> Response {
    ok(&app.catalog().provider_list())
}

async fn provider(State(app): State<Shared>, name: Result<Path<String>, PathRejection>) -> Response {
    let name = match name {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&e),
    };
    match app.catalog().provider_events(&name) {
        Some(list) => ok(&list),
        None => error(StatusCode::NOT_FOUND, &format!("no event provider named '{name}'")),
    }
}

async fn event(State(app): State<Shared>, path: Result<Path<(String, String)>, PathRejection>) -> Response {
    let (provider, id) = match path {
        Ok(Path(x)) => x,
        Err(e) => return path_error(&e),
    };
    let Ok(id) = id.parse::<u32>() else {
        return error(StatusCode::NOT_FOUND, &format!("'{id}' is not an event id"));
    };
    match app.catalog().event_detail(&provider, id) {
        Some(detail) => ok(&detail),
        None => error(StatusCode::NOT_FOUND, &format!("no described event {id} for provider '{provider}'")),
    }
}

async fn stats(State(app): State<Shared>) -> Response {
    ok(&app.catalog().stats_report())
}
