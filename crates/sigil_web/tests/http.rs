//! The server over HTTP: pages, API, errors, limits, escaping of a hostile rule, panic recovery.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, OnceLock};

use axum::routing::get;
use common::{element, example_catalog, start, start_router, table_rows, text};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use serde_json::Value;
use sigil_web::App;

const MESH: &str = "6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162";
const HOSTILE_ID: &str = "0badc0de-0000-4000-8000-000000000001";

fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| start(App::new(example_catalog())))
}

fn client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn get_url(path: &str) -> Response {
    client().get(format!("{}{path}", base())).send().unwrap()
}

fn page(path: &str) -> String {
    let r = get_url(path);
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8", "GET {path}");
    r.text().unwrap()
}

fn api(path: &str) -> Value {
    let r = get_url(path);
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    assert_eq!(r.headers()["content-type"], "application/json", "GET {path}");
    r.json().unwrap()
}

fn api_error(path: &str, status: u16) -> Value {
    let r = get_url(path);
    assert_eq!(r.status().as_u16(), status, "GET {path}");
    assert_eq!(r.headers()["content-type"], "application/json", "GET {path}");
    let v: Value = r.json().unwrap();
    assert_eq!(v["error"]["status"], status, "{v}");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    v
}

#[test]
fn search_page_filters_counts_and_shares_urls() {
    let all = page("/");
    assert!(text(&all).contains("10 rules"), "{}", text(element(&all, "span", "result-count").unwrap()));
    // Facets with counts, each a link that adds the filter.
    let facets = element(&all, "aside", "facets").unwrap();
    assert!(facets.contains("href=\"/?tactic=command-and-control\""), "{facets}");
    assert!(text(facets).contains("Command & Control 3"), "{}", text(facets));

    let html = page("/?q=meshagent&tactic=command-and-control&level=medium");
    let results = element(&html, "section", "results").unwrap();
    assert!(text(results).contains("1 rule for “meshagent”"), "{}", text(results));
    assert!(results.contains(&format!("href=\"/rules/{MESH}\"")));
    // The active filters can be removed one by one, keeping the rest.
    assert!(results.contains("href=\"/?q=meshagent&#38;level=medium\""), "{results}");
    // The form keeps the filters when a new query is typed.
    assert!(html.contains("<input type=\"hidden\" name=\"tactic\" value=\"command-and-control\">"));

    // Query words can name facets; no match shows a helpful empty state.
    let html = page("/?q=level:high");
    assert!(text(element(&html, "span", "result-count").unwrap()).starts_with("5 rules"));
    let html = page("/?q=zzzz-nothing-matches");
    assert!(html.contains("No rules match."));

    // Pagination.
    let html = page("/?per_page=2&page=2&sort=title");
    assert!(text(element(&html, "span", "result-count").unwrap()).contains("page 2 of 5"));
    assert!(html.contains("rel=\"prev\""), "a previous-page link");
    assert_eq!(get_url("/?page=0").status(), StatusCode::BAD_REQUEST);
    let past = get_url("/?page=9999");
    assert_eq!(past.status(), StatusCode::NOT_FOUND);
    assert!(past.text().unwrap().contains("There is no page 9999"));
    assert_eq!(get_url("/api/rules?page=9999").status(), StatusCode::NOT_FOUND);
    assert_eq!(get_url("/?sort=sideways").status(), StatusCode::BAD_REQUEST);
}

#[test]
fn rule_page_has_every_section() {
    let html = page(&format!("/rules/{MESH}"));
    assert!(text(&html).contains("Detection rules › Sigma"));
    assert!(html.contains("<h1 id=\"rule-title\">Shell Spawned by MeshAgent Remote Management Agent</h1>"));
    let head = text(element(&html, "div", "rule-head").unwrap());
    for want in
        ["Status experimental", "Severity medium", "Log source windows / process_creation", "Author sigil project"]
    {
        assert!(head.contains(want), "{want}: {head}");
    }
    assert_eq!(
        table_rows(&html, "attack-table"),
        [
            vec!["Execution".to_string(), "T1059.003 Command and Scripting Interpreter: Windows Command Shell".into()],
            vec!["Command & Control".to_string(), "T1219.002 Remote Access Tools: Remote Desktop Software".into()],
        ]
    );
    assert!(html.contains("href=\"/attack/T1219.002\""), "techniques link to their page");
    let events = table_rows(&html, "event-table");
    assert_eq!(events[0], ["Sysmon", "Event ID 1", "Process creation"]);
    assert_eq!(events[1][..2], ["Security-Auditing".to_string(), "Event ID 4688".to_string()]);
    assert!(html.contains("href=\"/events/Sysmon/1\""));
    // YAML body, highlighted.
    assert!(html.contains("<span class=\"k\">ParentImage</span><span class=\"m\">|endswith</span>"));
    // Stages.
    let stages = text(element(&html, "section", "stages").unwrap());
    assert!(stages.contains("Stage 0: condition selection Stage 1: selection"), "{stages}");
    // Indicators grouped by field and kind, with corpus counts linking to the rules sharing them.
    let rows = table_rows(&html, "indicator-table");
    assert_eq!(
        rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect::<Vec<_>>(),
        [("Image", "ends_with"), ("ParentImage", "ends_with")]
    );
    // "corpus N" counts every rule with the indicator, this one included (1 would be this rule alone).
    assert!(rows[0][2].contains("\\powershell.exe corpus 2 (examples 2)"), "{rows:?}");
    assert!(
        html.contains("href=\"/indicators?field=Image&#38;kind=ends_with&#38;value=%5C%5Cpowershell.exe\""),
        "normalised key"
    );
    // References: http(s) only, never leaking the referrer or the opener.
    assert!(
        html.contains(
            "<a href=\"https://github.com/Ylianst/MeshAgent\" rel=\"noopener noreferrer\" target=\"_blank\">"
        )
    );

    // The same page by file stem, and the raw YAML.
    let by_stem = page("/rules/sigma/proc_creation_win_meshagent_child_shell");
    assert!(by_stem.contains("Shell Spawned by MeshAgent"));
    // The seed site's form, with a trailing slash, and the file itself as a named download.
    assert!(page("/rules/sigma/proc_creation_win_meshagent_child_shell/").contains("Shell Spawned by MeshAgent"));
    let file = get_url("/rules/sigma/proc_creation_win_meshagent_child_shell.yml");
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(
        file.headers()["content-disposition"],
        "attachment; filename=\"proc_creation_win_meshagent_child_shell.yml\""
    );
    assert!(file.text().unwrap().starts_with("title: Shell Spawned by MeshAgent"));
    assert_eq!(get_url("/rules/sigma/no_such_rule.yml").status(), StatusCode::NOT_FOUND);
    let raw = get_url(&format!("/rules/{MESH}/raw"));
    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(raw.text().unwrap().starts_with("title: Shell Spawned by MeshAgent"));
}

#[test]
fn unknown_pages_are_404_pages() {
    for path in [
        "/rules/no-such-rule",
        "/rules/sigma/no_such_file",
        "/attack/T9999",
        "/events/NoSuchProvider",
        "/events/Sysmon/99999",
        "/events/Sysmon/abc",
        "/nowhere",
        "/static/nothing.css",
    ] {
        let r = get_url(path);
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8", "{path}");
        let body = r.text().unwrap();
        assert!(
            body.contains("Not found") && body.contains("<a class=\"button secondary\" href=\"/\">"),
            "{path}: {body}"
        );
    }
    api_error("/api/rules/no-such-rule", 404);
    api_error("/api/nothing/here", 404);
    api_error("/api/attack/T9999", 404);
    api_error("/api/events/Sysmon/424242", 404);
    // Unknown paths echo nothing unescaped.
    let body = get_url("/%3Cscript%3Ealert(1)%3C/script%3E").text().unwrap();
    assert!(!body.contains("<script>alert"), "{body}");
}

#[test]
fn only_get_and_head() {
    let c = client();
    let r = c.post(format!("{}/", base())).send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET, HEAD");
    let r = c.delete(format!("{}/api/rules/{MESH}", base())).send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = c.head(format!("{}/rules/{MESH}", base())).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn hostile_rule_is_shown_as_text() {
    let html = page(&format!("/rules/{HOSTILE_ID}"));
    let main = &html[html.find("<main").unwrap()..];
    for bad in ["<script>", "<img", "<iframe", "<svg onload", "<b>", "</textarea></pre>"] {
        assert!(!main.contains(bad), "{bad} reached the page unescaped");
    }
    let title = text(element(&html, "h1", "rule-title").unwrap());
    assert_eq!(title, "<script>alert('title')</script> Evil \"quotes\" & <b>bold</b>", "the title is shown as text");
    let description = text(element(&html, "p", "description").unwrap());
    assert!(description.starts_with("<img src=x onerror=alert(1)> <script>"), "the description is shown as text");
    let indicators = text(element(&html, "table", "indicator-table").unwrap());
    assert!(indicators.contains("<script>alert(\"value\")</script>"), "{indicators}");
    // Only the plain https reference is a link; javascript:, data: and the quote-breaking one stay text.
    let refs = element(&html, "section", "references").unwrap();
    assert_eq!(refs.matches("<a ").count(), 1, "{refs}");
    assert!(
        refs.contains("href=\"https://example.com/ok?a=1&#38;b=&#60;x&#62;\" rel=\"noopener noreferrer\""),
        "{refs}"
    );
    assert!(!html.contains("href=\"javascript:"), "no javascript: link");
    assert!(text(refs).contains("javascript:alert('ref')"), "shown as text");
    // The title in <title> and in result lists is escaped too.
    assert!(html.contains("<title>&#60;script&#62;"));
    let list = page("/?q=evil");
    assert!(!list[list.find("<main").unwrap()..].contains("<script>"), "result list escapes titles");
    let list = page("/?q=%3Cscript%3E");
    assert!(list.contains("value=\"&#60;script&#62;\""), "the query is escaped in the search box");
    // The author facet value and the JSON API keep the text as it is.
    assert!(page("/").contains("&#60;b&#62;mallory&#60;/b&#62;"));
    let v = api(&format!("/api/rules/{HOSTILE_ID}"));
    assert!(v["title"].as_str().unwrap().starts_with("<script>"));
    // Every response forbids inline script.
    let r = get_url(&format!("/rules/{HOSTILE_ID}"));
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn query_strings_are_bounded() {
    let long = "a".repeat(5000);
    let r = get_url(&format!("/?q={long}"));
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    assert!(r.text().unwrap().contains("too long"));
    api_error(&format!("/api/rules?q={long}"), 414);
    let many: Vec<String> = (0..60).map(|i| format!("tactic=t{i}")).collect();
    assert_eq!(get_url(&format!("/?{}", many.join("&"))).status(), StatusCode::BAD_REQUEST);
    api_error(&format!("/api/rules?{}", many.join("&")), 400);
    let value = "%41".repeat(600);
    assert_eq!(get_url(&format!("/?q={value}")).status(), StatusCode::BAD_REQUEST);
    api_error("/api/rules?per_page=x", 400);
    let words = vec!["e"; 40].join("+");
    let v = api_error(&format!("/api/rules?q={words}"), 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("too many words"));
    let long_path = "x".repeat(3000);
    assert_eq!(get_url(&format!("/rules/{long_path}")).status(), StatusCode::URI_TOO_LONG);
    // per_page is capped rather than refused.
    assert_eq!(api("/api/rules?per_page=100000")["query"]["per_page"], 200);
}

#[test]
fn json_api_mirrors_the_pages() {
    let v = api("/api");
    assert!(v["endpoints"]["/api/rules"].is_string());

    let v = api("/api/rules?q=meshagent&tactic=command-and-control&level=medium");
    assert_eq!(v["total"], 1);
    assert_eq!(v["rules"][0]["id"], MESH);
    assert_eq!(v["rules"][0]["url"], format!("/rules/{MESH}"));
    assert_eq!(v["query"]["filters"][0]["facet"], "tactic");
    let tactics = v["facets"]["tactic"].as_array().unwrap();
    assert!(tactics.iter().any(|t| t["value"] == "command-and-control" && t["selected"] == true));

    // One rule: the `sigil show --format json` shape, first keys fixed.
    let r = get_url(&format!("/api/rules/{MESH}"));
    let body = r.text().unwrap();
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&body).unwrap().keys().cloned().collect();
    let first = [
        "id",
        "title",
        "status",
        "level",
        "description",
        "author",
        "date",
        "modified",
        "references",
        "falsepositives",
        "tags",
        "logsource",
        "source",
        "path",
        "yaml",
        "attack",
        "events",
        "stages",
        "indicators",
    ];
    assert_eq!(keys[..first.len()], first);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["attack"][1]["techniques"][0]["id"], "T1219.002");
    assert_eq!(api("/api/rules/sigma/proc_creation_win_meshagent_child_shell")["id"], MESH);

    let v = api("/api/attack");
    let c2 = v["tactics"].as_array().unwrap().iter().find(|t| t["shortname"] == "command-and-control").unwrap();
    let t1219 = c2["techniques"].as_array().unwrap().iter().find(|t| t["id"] == "T1219").unwrap();
    assert_eq!(t1219["rules"], 1);

    let v = api("/api/attack/T1219.002");
    assert_eq!(v["total"], 1);
    assert_eq!(v["rules"][0]["key"], MESH);

    let v = api("/api/stats");
    assert_eq!(v["pages"], 10);
    assert!(v["by_level"].as_array().is_some_and(|l| !l.is_empty()));

    let v = api("/api/events/Sysmon/1");
    assert_eq!(v["title"], "Process creation");
    assert!(v["rules"].as_array().unwrap().iter().any(|r| r["key"] == MESH));
    assert!(v["also_fired_on"].as_array().unwrap().iter().any(|e| e["event_id"] == 4688));
    assert!(api("/api/events")["providers"].as_array().unwrap().iter().any(|p| p["provider"] == "Sysmon"));
    assert!(api("/api/events/Sysmon")["events"].as_array().unwrap().len() > 20);

    let v = api("/api/indicators?field=ParentImage&kind=ends_with&value=%5Cmeshagent.exe");
    assert_eq!(v["total"], 1);
    assert!(api("/api/indicators?value=powershell")["indicators"].as_array().unwrap().len() >= 2);
}

#[test]
fn navigator_layer_is_format_4_5() {
    let r = get_url("/api/attack/navigator.json");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let v: Value = r.json().unwrap();
    assert_eq!(v["versions"]["layer"], "4.5");
    assert_eq!(v["domain"], "enterprise-attack");
    assert!(v["versions"]["attack"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()));
    let techniques = v["techniques"].as_array().unwrap();
    let t = techniques.iter().find(|t| t["techniqueID"] == "T1219.002").unwrap();
    assert_eq!(t["tactic"], "command-and-control");
    assert_eq!(t["score"], 1);
    assert!(techniques.iter().all(|t| t["score"].as_u64().unwrap() > 0 && t["enabled"] == true));
    assert!(v["gradient"]["maxValue"].as_u64().unwrap() >= 1);
}

#[test]
fn heat_map_technique_events_indicators_and_stats_pages() {
    let html = page("/attack");
    let matrix = element(&html, "div", "matrix").unwrap();
    assert!(matrix.contains("id=\"tactic-command-and-control\""));
    assert!(
        matrix.contains("<a class=\"cell h1\" href=\"/attack/T1219?tactic=command-and-control\""),
        "covered cells link to their rules"
    );
    assert!(matrix.contains("<div class=\"cell h0\""), "uncovered cells are not links");
    assert!(text(element(&html, "div", "legend").unwrap()).contains("0 1 2–3 4–9 10–24 25–49 50+"));
    assert!(html.contains("href=\"/api/attack/navigator.json\""));

    let html = page("/attack/T1219?tactic=command-and-control");
    assert!(text(&html).contains("Shell Spawned by MeshAgent"));
    assert_eq!(get_url("/attack/T1219?tactic=exfiltration").status(), StatusCode::NOT_FOUND);
    let html = page("/attack/T1059");
    let subs = text(&html);
    assert!(subs.contains("T1059.001 PowerShell"), "sub-techniques listed");

    let html = page("/events");
    let rows = table_rows(&html, "provider-table");
    assert!(rows.iter().any(|r| r[0].starts_with("Sysmon")), "{rows:?}");
    let html = page("/events/Sysmon");
    assert!(table_rows(&html, "event-list").iter().any(|r| r[0] == "Event ID 1"));
    let html = page("/events/Sysmon/1");
    assert_eq!(text(element(&html, "span", "event-channel").unwrap()), "Microsoft-Windows-Sysmon/Operational");
    let fields = table_rows(&html, "field-table");
    let image = fields.iter().find(|r| r[0] == "Image").unwrap();
    assert_eq!(image[1], "UnicodeString");
    assert!(image[2].parse::<usize>().unwrap() >= 3, "{image:?}");
    assert!(html.contains("href=\"/events/Sysmon/1?field=ParentImage\""));
    assert!(text(element(&html, "section", "also").unwrap()).contains("Security-Auditing 4688"));
    let html = page("/events/Sysmon/1?field=ParentImage");
    assert!(text(element(&html, "section", "rules").unwrap()).contains("Shell Spawned by MeshAgent"));
    assert!(!text(element(&html, "section", "rules").unwrap()).contains("Whoami"));

    // Indicator counts on rule pages lead to the rules sharing the indicator.
    let rule = page(&format!("/rules/{MESH}"));
    let start = rule.find("href=\"/indicators?").unwrap() + 6;
    let href = rule[start..start + rule[start..].find('"').unwrap()].replace("&#38;", "&");
    let html = page(&href);
    assert!(html.contains("id=\"indicator-value\""));
    assert!(element(&html, "section", "rules").unwrap().matches("<tr>").count() >= 2, "two rules share it");
    let html = page("/indicators?value=exe");
    assert!(!table_rows(&html, "indicator-list").is_empty());

    let html = page("/stats");
    assert!(html.matches("<ul class=\"chart").count() >= 2, "at least two charts");
    assert!(!html.contains("role=\"img\""), "chart links are not hidden inside images");
    assert!(html.contains("id=\"chart-tactic\"") && html.contains("id=\"chart-level\""));
    assert!(!html.contains("<script>alert"));
}

#[test]
fn assets_are_cached_and_typed() {
    let html = page("/");
    let start = html.find("/static/style.css?v=").unwrap();
    let href = &html[start..start + html[start..].find('"').unwrap()];
    let r = get_url(href);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    let r = get_url("/static/app.js");
    assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
    assert!(
        !r.headers()["cache-control"].to_str().unwrap().contains("immutable"),
        "unversioned URLs are not immutable"
    );
}

#[test]
fn a_panicking_handler_is_caught_and_the_server_keeps_serving() {
    let app = App::new(example_catalog());
    let base = start_router(
        |app: Arc<App>| {
            let routes = sigil_web::server::routes(app).route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("boom")
                    }
                }),
            );
            sigil_web::server::with_layers(routes)
        },
        app,
    );
    let r = client().get(format!("{base}/boom")).send().unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.headers().contains_key("content-security-policy"));
    assert!(r.text().unwrap().contains("500"));
    let r = client().get(format!("{base}/")).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn search_ranks_highlights_and_forgives_typos() {
    // Indicator holders first; the matched words marked in title and snippet.
    let html = page("/?q=meshagent");
    let results = element(&html, "section", "results").unwrap();
    assert!(results.contains("<mark>MeshAgent</mark>"), "{results}");
    // A typo: the closest term's rules, and a "did you mean" link.
    let html = page("/?q=meshagnet");
    let dym = element(&html, "p", "did-you-mean").unwrap();
    assert!(text(dym).starts_with("Did you mean meshagent ?"), "{}", text(dym));
    assert!(dym.contains("href=\"/?q=meshagent\""));
    assert!(text(element(&html, "span", "result-count").unwrap()).starts_with("1 rule"));
    // The API says the same, with scores and snippets; paths are relative to the rule source.
    let v = api("/api/rules?q=meshagnet");
    assert_eq!(v["suggestion"], "meshagent");
    assert!(v["rules"][0]["score"].as_u64().unwrap() > 0);
    assert!(v["rules"][0]["snippet"].as_array().unwrap().iter().any(|s| s["mark"] == true));
    let rule = api(&format!("/api/rules/{MESH}"));
    assert_eq!(rule["path"], "proc_creation_win_meshagent_child_shell.yml");
    // Every page has a search box in its header except the search page, which has its own.
    assert!(page(&format!("/rules/{MESH}")).contains("id=\"top-q\""));
    assert!(!page("/").contains("id=\"top-q\""));
    assert!(page("/").contains("class=\"skip-link\" href=\"#main\""));
}

/// A CloudTrail rule: no Windows event, one record kind.
const CLOUDTRAIL: &str = "title: Console Login Without MFA\nid: 5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3\n\
    logsource: {product: aws, service: cloudtrail}\n\
    detection:\n  sel:\n    eventName: ConsoleLogin\n    additionalEventData.MFAUsed: 'No'\n  condition: sel\nlevel: medium\n";

#[test]
fn record_kind_pages_list_their_rules_and_fields() {
    let catalog = sigil_catalog::Catalog::from_texts(
        "team",
        &[("ct.yml", CLOUDTRAIL)],
        &sigil_catalog::CatalogOptions::default(),
    )
    .unwrap();
    let base = start(App::new(catalog));
    let get = |path: &str| client().get(format!("{base}{path}")).send().unwrap();

    // The events index has a section for the records that are not Windows events, each kind a link.
    let events = get("/events").text().unwrap();
    let section = element(&events, "table", "record-kind-table").unwrap();
    assert!(section.contains("href=\"/records/aws.cloudtrail\""), "{section}");
    let row = table_rows(&events, "record-kind-table").into_iter().find(|r| r[0] == "aws.cloudtrail").unwrap();
    assert_eq!(row[2..], ["2", "1"], "two fields read, one rule: {row:?}");

    // The kind's page: the fields its rules read and the rules.
    let r = get("/records/aws.cloudtrail");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().unwrap();
    let fields = text(element(&html, "table", "field-table").unwrap());
    assert!(fields.contains("eventName") && fields.contains("additionalEventData.MFAUsed"), "{fields}");
    assert!(html.contains("href=\"/rules/5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3\""), "{html}");
    assert!(text(&html).contains("aws / cloudtrail"), "the logsource routed there");

    // The rule page links the kind from its event coverage instead of only saying no event is described.
    let rule = get("/rules/5a0b1c2d-3e4f-4a5b-8c6d-7e8f90a1b2c3").text().unwrap();
    let kinds = element(&rule, "p", "record-kinds").unwrap();
    assert!(kinds.contains("href=\"/records/aws.cloudtrail\""), "{kinds}");

    // Any case finds the kind; an unknown kind is a 404 page.
    assert_eq!(get("/records/AWS.CloudTrail").status(), StatusCode::OK);
    assert_eq!(get("/records/no.such.kind").status(), StatusCode::NOT_FOUND);
}
