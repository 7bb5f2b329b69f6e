//! The HTTP server: routes, handlers, error pages, limits, security headers and panic recovery.
//!
//! Only `GET` (and `HEAD`) exist: the catalog is read-only. Every request passes through [`guard`] (bounded
//! path and query string, security headers, a debug log line) and a panic catcher that logs the panic and
//! answers 500, so one bad page never takes the server down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api;
use crate::app::{App, Cached};
use crate::assets;
use crate::links::Links;
use crate::pages::{self, Failure};
use crate::query::{MAX_QUERY_BYTES, Params, QueryError};
use crate::search;
use sigil_catalog::IndicatorQuery;

/// Shared state of the handlers.
pub type Shared = Arc<App>;

/// Longest accepted request path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// The Content-Security-Policy of every response: nothing but the catalog's own files, no inline script.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The router with every route and layer.
pub fn router(app: Shared) -> Router {
    with_layers(routes(app))
}

/// The routes without layers (tests add routes before [`with_layers`]).
pub fn routes(app: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/rules", get(|| async { Redirect::permanent("/") }))
        .route("/rules/{key}", get(rule))
        .route("/rules/{a}/{b}", get(rule_by_path))
        .route("/rules/{a}/{b}/", get(rule_by_path))
        .route("/attack", get(attack))
        .route("/attack/disagreements", get(attack_disagreements))
        .route("/attack/{technique}", get(technique))
        .route("/indicators", get(indicators))
        .route("/events", get(events))
        .route("/events/{provider}", get(provider))
        .route("/events/{provider}/{id}", get(event))
        .route("/records/{kind}", get(record_kind))
        .route("/stats", get(stats))
        .route("/static/{name}", get(asset))
        .route("/favicon.ico", get(|| async { asset_response("icon.svg", true) }))
        .route(
            "/robots.txt",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "User-agent: *\nAllow: /\n") }),
        )
        .nest("/api", api::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// Adds the guard (limits, headers, logging) and the panic catcher around routes.
pub fn with_layers(routes: Router) -> Router {
    routes.layer(CatchPanicLayer::custom(on_panic)).layer(middleware::from_fn(guard))
}

/// Serves until `shutdown` completes.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    app: Shared,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let router = router(app).layer(middleware::from_fn_with_state(local, check_host));
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Answers 421 to a request whose `Host` is not the address the server is bound to: a web page on another
/// site that makes its own name resolve to 127.0.0.1 (DNS rebinding) then cannot read the catalog through the
/// visitor's browser. See [`host_allowed`].
async fn check_host(
    axum::extract::State(local): axum::extract::State<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    let host = host.or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(host) if !host_allowed(&host, local) => {
            let message = format!(
                "this server answers to http://{local}/ only, not to host '{}' (a protection against DNS rebinding)",
                host.chars().filter(|c| !c.is_control()).take(100).collect::<String>()
            );
            error_response(is_api(req.uri().path()), StatusCode::MISDIRECTED_REQUEST, &message)
        }
        // No Host at all (HTTP/1.0 tools): browsers always send one, so it cannot be a rebinding attack.
        _ => next.run(req).await,
    }
}

/// Whether a `Host` header (`name[:port]`, `[v6][:port]`) names the address the server is bound to: the same
/// port (80 when none is given), and as host the bound IP, or for a loopback address any loopback IP or
/// `localhost`. A server bound to all interfaces (`0.0.0.0`, `::`) was shared on purpose under whatever names
/// the machine has, so any host is accepted there.
pub fn host_allowed(host: &str, local: SocketAddr) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        // `[::1]:8080`, or `host:8080`; a bare IPv6 address has more than one colon and no brackets.
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => (name, port.parse::<u16>().ok()),
        _ => (host, Some(80)),
    };
    if port != Some(local.port()) {
        return false;
    }
    if local.ip().is_unspecified() {
        return true;
    }
    let name = name.trim_start_matches('[').trim_end_matches(']');
    match name.parse::<std::net::IpAddr>() {
        Ok(ip) => ip == local.ip() || (local.ip().is_loopback() && ip.is_loopback()),
        Err(_) => local.ip().is_loopback() && name.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

async fn guard(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path();
    let query_len = uri.query().map_or(0, str::len);
    let mut resp = if path.len() > MAX_PATH_BYTES {
        error_response(is_api(path), StatusCode::URI_TOO_LONG, "request path too long")
    } else if query_len > MAX_QUERY_BYTES {
        let e = QueryError::TooLong(query_len);
        error_response(is_api(path), StatusCode::URI_TOO_LONG, &e.to_string())
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    tracing::debug!(%method, uri = %uri, status = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    resp
}

fn on_panic(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = msg, "a request handler panicked; answered 500");
    let body = "<!doctype html><meta charset=utf-8><title>500 Internal error</title>\
                <h1>500 Internal error</h1><p>The server hit a bug rendering this page. It has been logged; \
                other pages still work.</p><p><a href=\"/\">Back to the catalog</a></p>";
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// An error as a page or as JSON, with a status.
pub(crate) fn error_response(api: bool, status: StatusCode, message: &str) -> Response {
    if api {
        return api::error(status, message);
    }
    // Errors raised before a handler runs have no App at hand: a minimal, escaped page.
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>{code} {reason}</title><link rel=stylesheet href=\"/static/style.css\">\
         <main class=\"wrap\"><div class=\"error-box\"><div class=\"code\">{code}</div><h1>{reason}</h1><p class=muted>{msg}</p>\
         <p><a class=\"button secondary\" href=\"/\">Search the catalog</a></p></div></main>",
        code = status.as_u16(),
        reason = status.canonical_reason().unwrap_or("Error"),
        msg = crate::highlight::escape(message),
    );
    (status, Html(body)).into_response()
}

/// A full error page in the site's layout.
fn page_error(app: &App, status: StatusCode, message: &str) -> Response {
    let links = Links::server(app.asset_version());
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::URI_TOO_LONG => "Request too long",
        _ => "Something went wrong",
    };
    (status, Html(pages::error(app, &links, status.as_u16(), heading, message))).into_response()
}

fn query_error(app: &App, e: &QueryError) -> Response {
    page_error(app, StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), &e.to_string())
}

fn respond(app: &App, result: pages::PageResult) -> Response {
    match result {
        Ok(html) => Html(html).into_response(),
        Err(Failure::NotFound(msg)) => page_error(app, StatusCode::NOT_FOUND, &msg),
        Err(Failure::Ambiguous(what, choices)) => {
            let links = Links::server(app.asset_version());
            match pages::choose(app, &links, &what, &choices) {
                Ok(html) => (StatusCode::MULTIPLE_CHOICES, Html(html)).into_response(),
                Err(_) => page_error(app, StatusCode::INTERNAL_SERVER_ERROR, "could not render the choices"),
            }
        }
        Err(Failure::Render(e)) => {
            tracing::error!(error = %e, "template rendering failed");
            page_error(app, StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered")
        }
    }
}

fn params(q: Option<String>) -> Result<Params, QueryError> {
    Params::parse(q.as_deref())
}

async fn index(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match params(q) {
        Ok(p) => p,
        Err(e) => return query_error(&app, &e),
    };
    let req = match search::Request::from_params(&p) {
        Ok(r) => r,
        Err(e) => return query_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    if p.is_empty() {
        return respond_cached(&app, Cached::Home, || pages::index(&app, &links, &search::run(&app, req)));
    }
    let outcome = search::run(&app, req);
    if outcome.past_the_end() {
        let msg = format!("There is no page {} of these results: they fill {}.", outcome.request.page, outcome.pages);
        return page_error(&app, StatusCode::NOT_FOUND, &msg);
    }
    respond(&app, pages::index(&app, &links, &outcome))
}

/// A page that takes no input: rendered once, then served from memory.
fn respond_cached(app: &App, page: Cached, render: impl FnOnce() -> pages::PageResult) -> Response {
    match app.cached(page, render) {
        Ok(bytes) => Html(bytes).into_response(),
        Err(f) => respond(app, Err(f)),
    }
}

/// Finds a page by key, then by rule id.
pub(crate) fn lookup<'a>(app: &'a App, key: &str) -> Result<&'a sigil_catalog::RulePage, Failure> {
    let catalog = app.catalog();
    if let Some(p) = catalog.by_key(key) {
        return Ok(p);
    }
    choose_one(format!("id '{key}'"), catalog.by_id(key), || format!("no rule with key or id '{key}'"))
}

/// Finds a page by `sigma/<file stem>` or `<source>/<file stem>`.
pub(crate) fn lookup_stem<'a>(app: &'a App, scope: &str, stem: &str) -> Result<&'a sigil_catalog::RulePage, Failure> {
    let catalog = app.catalog();
    let stem = stem.strip_suffix(".yml").or_else(|| stem.strip_suffix(".yaml")).unwrap_or(stem);
    let mut found = catalog.by_file_stem(stem);
    if found.is_empty() {
        // In-memory sources name files `source:name.yml`; their stem keeps the prefix.
        found = catalog
            .pages()
            .iter()
            .filter(|p| p.file_stem.rsplit(':').next().is_some_and(|s| s.eq_ignore_ascii_case(stem)))
            .collect();
    }
    if !scope.eq_ignore_ascii_case("sigma") {
        if !catalog.sources().iter().any(|s| s.name == scope) {
            return Err(Failure::NotFound(format!("no rule source named '{scope}' (use /rules/sigma/<file stem>)")));
        }
        found.retain(|p| p.source == scope);
    }
    choose_one(format!("file '{stem}'"), found, || format!("no rule file named '{stem}'"))
}

fn choose_one(
    what: String,
    found: Vec<&sigil_catalog::RulePage>,
    missing: impl FnOnce() -> String,
) -> Result<&sigil_catalog::RulePage, Failure> {
    match found.as_slice() {
        [] => Err(Failure::NotFound(missing())),
        [one] => Ok(one),
        many => Err(Failure::Ambiguous(
            what,
            many.iter().map(|p| (p.key.clone(), p.title.clone(), format!("{} · {}", p.source, p.rel_path))).collect(),
        )),
    }
}

fn path_error(app: &App, e: &PathRejection) -> Response {
    page_error(app, StatusCode::BAD_REQUEST, &e.body_text())
}

async fn rule(State(app): State<Shared>, key: Result<Path<String>, PathRejection>) -> Response {
    let key = match key {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    let result = lookup(&app, &key).and_then(|p| pages::rule(&app, &links, p));
    respond(&app, result)
}

async fn rule_by_path(State(app): State<Shared>, path: Result<Path<(String, String)>, PathRejection>) -> Response {
    let (a, b) = match path {
        Ok(Path(x)) => x,
        Err(e) => return path_error(&app, &e),
    };
    if b == "raw"
        && let Some(p) = app.catalog().by_key(&a)
    {
        return raw_yaml(p);
    }
    // `/rules/sigma/<stem>.yml`: the file itself, as a download named like it.
    if b.ends_with(".yml") || b.ends_with(".yaml") {
        return match lookup_stem(&app, &a, &b) {
            Ok(p) => yaml_download(p),
            Err(f) => respond(&app, Err(f)),
        };
    }
    let links = Links::server(app.asset_version());
    let result = lookup_stem(&app, &a, &b).and_then(|p| pages::rule(&app, &links, p));
    respond(&app, result)
}

pub(crate) fn raw_yaml(p: &sigil_catalog::RulePage) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], p.yaml.clone()).into_response()
}

/// The rule's YAML as a download named after its file (`attachment; filename="x.yml"`).
fn yaml_download(p: &sigil_catalog::RulePage) -> Response {
    let name = p.rel_path.rsplit(['/', '\\', ':']).next().unwrap_or_default();
    let name = crate::links::file_name(if name.is_empty() { &p.file_stem } else { name });
    let name = if name.ends_with(".yml") || name.ends_with(".yaml") { name } else { format!("{name}.yml") };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let mut resp = ([(header::CONTENT_TYPE, "application/yaml; charset=utf-8")], p.yaml.clone()).into_response();
    resp.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    resp
}

async fn attack(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let links = Links::server(app.asset_version());
    // `?family=splunk`: the heat map of one rule family (built on request; the full map is cached).
    let family = q.as_deref().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("family=")));
    if let Some(f) = family.and_then(sigil_families_name)
        && app.catalog().families().iter().any(|x| x.family == f)
    {
        return respond(&app, pages::attack_family(&app, &links, f));
    }
    respond_cached(&app, Cached::Attack, || pages::attack(&app, &links))
}

async fn attack_disagreements(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match params(q) {
        Ok(p) => p,
        Err(e) => return query_error(&app, &e),
    };
    let (order, only) = match pages::disagreement_args(&app, p.get("sort"), p.get("only")) {
        Ok(args) => args,
        Err(msg) => return page_error(&app, StatusCode::BAD_REQUEST, &msg),
    };
    let links = Links::server(app.asset_version());
    respond(&app, pages::attack_disagreements(&app, &links, &order, only.as_deref()))
}

/// A family name from a query string: ASCII letters only (`splunk`), else ignored.
fn sigil_families_name(f: &str) -> Option<&str> {
    (!f.is_empty() && f.len() <= 32 && f.bytes().all(|b| b.is_ascii_lowercase())).then_some(f)
}

async fn technique(
    State(app): State<Shared>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let id = match id {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&app, &e),
    };
    let p = match params(q) {
        Ok(p) => p,
        Err(e) => return query_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    respond(&app, pages::technique(&app, &links, &id, p.get("tactic")))
}

pub(crate) fn indicator_query(p: &Params) -> IndicatorQuery {
    IndicatorQuery {
        field: p.get("field").unwrap_or_default().to_string(),
        kind: p.get("kind").unwrap_or_default().to_string(),
        value: p.raw("value").unwrap_or_default().to_string(),
        variant: p.get("variant").unwrap_or_default().to_string(),
    }
}

async fn indicators(State(app): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let p = match params(q) {
        Ok(p) => p,
        Err(e) => return query_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    if p.is_empty() {
        return respond_cached(&app, Cached::Indicators, || pages::indicators(&app, &links, &indicator_query(&p)));
    }
    respond(&app, pages::indicators(&app, &links, &indicator_query(&p)))
}

async fn events(State(app): State<Shared>) -> Response {
    let links = Links::server(app.asset_version());
    respond_cached(&app, Cached::Events, || pages::events(&app, &links))
}

async fn provider(State(app): State<Shared>, name: Result<Path<String>, PathRejection>) -> Response {
    let name = match name {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    respond(&app, pages::provider(&app, &links, &name))
}

async fn record_kind(State(app): State<Shared>, kind: Result<Path<String>, PathRejection>) -> Response {
    let kind = match kind {
        Ok(Path(k)) => k,
        Err(e) => return path_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    respond(&app, pages::record_kind(&app, &links, &kind))
}

async fn event(
    State(app): State<Shared>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let (provider, id) = match path {
        Ok(Path(x)) => x,
        Err(e) => return path_error(&app, &e),
    };
    let Ok(id) = id.parse::<u32>() else {
        return page_error(&app, StatusCode::NOT_FOUND, &format!("'{id}' is not an event id"));
    };
    let p = match params(q) {
        Ok(p) => p,
        Err(e) => return query_error(&app, &e),
    };
    let links = Links::server(app.asset_version());
    respond(&app, pages::event(&app, &links, &provider, id, p.get("field")))
}

async fn stats(State(app): State<Shared>) -> Response {
    let links = Links::server(app.asset_version());
    respond_cached(&app, Cached::Stats, || pages::stats(&app, &links))
}

async fn asset(
    State(app): State<Shared>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let Ok(Path(name)) = name else {
        return page_error(&app, StatusCode::NOT_FOUND, "no such file");
    };
    let versioned = q.as_deref().is_some_and(|q| q.strip_prefix("v=") == Some(app.asset_version()));
    if assets::get(&name).is_none() {
        return page_error(&app, StatusCode::NOT_FOUND, &format!("no static file named '{name}'"));
    }
    asset_response(&name, versioned)
}

fn asset_response(name: &str, immutable: bool) -> Response {
    let Some((content_type, body)) = assets::get(name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, cache)], body).into_response()
}

async fn fallback(State(app): State<Shared>, uri: Uri) -> Response {
    if is_api(uri.path()) {
        return api::error(StatusCode::NOT_FOUND, &format!("no API endpoint at {}", uri.path()));
    }
    page_error(&app, StatusCode::NOT_FOUND, &format!("There is no page at {}.", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let msg = format!("{method} is not allowed: the catalog is read-only (use GET)");
    let mut resp = error_response(is_api(uri.path()), StatusCode::METHOD_NOT_ALLOWED, &msg);
    resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    resp
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn hosts_are_checked_against_the_bound_address() {
        let loopback = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        for ok in ["127.0.0.1:8080", "localhost:8080", "LocalHost.:8080", "127.0.0.2:8080", "[::1]:8080"] {
            assert!(host_allowed(ok, loopback), "{ok}");
        }
        for bad in ["evil.example:8080", "127.0.0.1:8081", "127.0.0.1", "localhost", "10.0.0.1:8080", "x:y", ""] {
            assert!(!host_allowed(bad, loopback), "{bad}");
        }
        let v6 = "[::1]:80".parse().unwrap_or_else(|_| unreachable!());
        assert!(host_allowed("[::1]", v6) && host_allowed("localhost", v6) && !host_allowed("evil", v6));
        let lan = "192.168.1.5:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(host_allowed("192.168.1.5:8080", lan) && !host_allowed("localhost:8080", lan));
        assert!(!host_allowed("attacker.example:8080", lan));
        let all = "0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(host_allowed("myhost.lan:8080", all) && !host_allowed("myhost.lan:9", all));
    }
}
