//! `sigil site`: the catalog as static files, for any static host (or straight from disk).
//!
//! Every page the server renders is written once, with relative links ([`Links::static_at`]): the rule list
//! (`index.html`, `page/N.html`), each rule (`rules/<key>.html`, its YAML and its JSON), `rules/sigma/<stem>.html`
//! forwarding pages, the ATT&CK matrix and technique pages, the events side, indicator pages (for indicators
//! that several rules share), statistics, the Navigator layer and the assets. Search and facets work in the
//! browser through `search-index.js`, a prebuilt index, and `static/static.js`, a few lines of plain JavaScript;
//! without JavaScript the rule list is still browsable page by page.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::{Value, json};
use sigil_catalog::{Facet, IndicatorKey, RulePage};

use crate::app::App;
use crate::assets;
use crate::links::{Links, file_name, indicator_file};
use crate::pages::{self, Failure, IndicatorQuery};
use crate::query::Params;
use crate::search;

/// Export settings.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Write the JSON files (`api/…`) too.
    pub json: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Rule pages among them.
    pub rule_pages: usize,
}

/// Why an export failed.
#[derive(Debug)]
pub enum ExportError {
    /// Writing a file failed.
    Io(PathBuf, std::io::Error),
    /// A page failed to render (a bug).
    Render(String, String),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Io(p, e) => write!(f, "writing {}: {e}", p.display()),
            ExportError::Render(what, e) => write!(f, "rendering {what}: {e}"),
        }
    }
}

impl std::error::Error for ExportError {}

struct Writer<'a> {
    out: &'a Path,
    summary: ExportSummary,
    /// Files written so far: two pages mapping to one file name keep the first.
    seen: std::collections::HashSet<String>,
}

impl Writer<'_> {
    fn write(&mut self, rel: &str, body: &[u8]) -> Result<(), ExportError> {
        if !self.seen.insert(rel.to_string()) {
            tracing::warn!(file = rel, "two pages map to the same file; keeping the first");
            return Ok(());
        }
        let path = self.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(dir.to_path_buf(), e))?;
        }
        std::fs::write(&path, body).map_err(|e| ExportError::Io(path.clone(), e))?;
        self.summary.files += 1;
        self.summary.bytes += body.len() as u64;
        Ok(())
    }

    fn page(&mut self, rel: &str, result: pages::PageResult) -> Result<(), ExportError> {
        match result {
            Ok(html) => self.write(rel, html.as_bytes()),
            Err(Failure::Render(e)) => Err(ExportError::Render(rel.to_string(), e.to_string())),
            // Pages that do not exist are not written (their links are not generated either).
            Err(Failure::NotFound(_) | Failure::Ambiguous(..)) => Ok(()),
        }
    }

    fn json(&mut self, rel: &str, value: &impl serde::Serialize) -> Result<(), ExportError> {
        let body = serde_json::to_vec(value).map_err(|e| ExportError::Render(rel.to_string(), e.to_string()))?;
        self.write(rel, &body)
    }
}

/// Depth of a relative path (`rules/x.html` is 1).
fn depth(rel: &str) -> usize {
    rel.matches('/').count()
}

/// One page (or set of files) of the export, rendered independently of the others.
enum Job<'a> {
    List(usize),
    Rule(&'a RulePage),
    Stem(&'a str, Vec<&'a RulePage>),
    Technique(&'static str, Option<&'static str>),
    Indicator(&'a IndicatorKey),
    Provider(&'a str),
    Event(&'a str, u32, Option<String>),
}

/// Rendered files: (relative path, body), or a render failure.
type Rendered = Result<Vec<(String, Vec<u8>)>, ExportError>;

fn page_file(rel: String, result: pages::PageResult) -> Rendered {
    match result {
        Ok(html) => Ok(vec![(rel, html.into_bytes())]),
        Err(Failure::Render(e)) => Err(ExportError::Render(rel, e.to_string())),
        // Pages that do not exist are not written (their links are not generated either).
        Err(Failure::NotFound(_) | Failure::Ambiguous(..)) => Ok(Vec::new()),
    }
}

fn json_file(rel: String, value: &impl serde::Serialize) -> Rendered {
    match serde_json::to_vec(value) {
        Ok(body) => Ok(vec![(rel, body)]),
        Err(e) => Err(ExportError::Render(rel, e.to_string())),
    }
}

impl Job<'_> {
    fn render(&self, app: &App, opts: &ExportOptions) -> Rendered {
        match self {
            Job::List(n) => {
                let rel = if *n == 1 { "index.html".to_string() } else { format!("page/{n}.html") };
                let links = Links::static_at(depth(&rel));
                let params = Params::from_pairs([("page", n.to_string())]);
                let req = search::Request::from_params(&params).unwrap_or_default();
                let outcome = search::run(app, req);
                page_file(rel, pages::index(app, &links, &outcome).map(|h| static_list_links(&h, &links)))
            }
            Job::Rule(p) => {
                let name = file_name(&p.key);
                let mut files = page_file(format!("rules/{name}.html"), pages::rule(app, &Links::static_at(1), p))?;
                files.push((format!("rules/{name}.yml"), p.yaml.clone().into_bytes()));
                if opts.json {
                    files.extend(json_file(format!("api/rules/{name}.json"), p)?);
                }
                Ok(files)
            }
            Job::Stem(stem, list) => {
                let rel = format!("rules/sigma/{}.html", file_name(stem));
                let links = Links::static_at(2);
                let html = match list.as_slice() {
                    [one] => Ok(forward(&links.rule(&one.key), &one.title)),
                    many => {
                        let choices: Vec<(String, String, String)> = many
                            .iter()
                            .map(|p| (p.key.clone(), p.title.clone(), format!("{} · {}", p.source, p.path)))
                            .collect();
                        pages::choose(app, &links, &format!("file '{stem}'"), &choices)
                    }
                };
                page_file(rel, html)
            }
            Job::Technique(id, None) => page_file(
                format!("attack/{}.html", file_name(id)),
                pages::technique(app, &Links::static_at(1), id, None),
            ),
            Job::Technique(id, Some(tactic)) => page_file(
                format!("attack/{}/{}.html", file_name(tactic), file_name(id)),
                pages::technique(app, &Links::static_at(2), id, Some(tactic)),
            ),
            Job::Indicator(key) => {
                let q = IndicatorQuery {
                    field: key.field.clone(),
                    kind: key.kind.as_str().to_string(),
                    value: key.value.clone(),
                    variant: key.variant.clone(),
                };
                page_file(
                    format!("indicators/{}.html", indicator_file(key)),
                    pages::indicators(app, &Links::static_at(1), &q),
                )
            }
            Job::Provider(slug) => {
                page_file(format!("events/{}.html", file_name(slug)), pages::provider(app, &Links::static_at(1), slug))
            }
            Job::Event(slug, id, None) => page_file(
                format!("events/{}/{id}.html", file_name(slug)),
                pages::event(app, &Links::static_at(2), slug, *id, None),
            ),
            Job::Event(slug, id, Some(field)) => page_file(
                format!("events/{}/{id}/{}.html", file_name(slug), file_name(field)),
                pages::event(app, &Links::static_at(3), slug, *id, Some(field)),
            ),
        }
    }
}

/// Writes the static site into `out` (created if needed; existing files are overwritten, others left alone).
/// Pages are rendered in parallel.
///
/// # Errors
/// [`ExportError`] when a file cannot be written.
pub fn write_site(app: &App, out: &Path, opts: &ExportOptions) -> Result<ExportSummary, ExportError> {
    let catalog = app.catalog();
    let mut w = Writer { out, summary: ExportSummary::default(), seen: std::collections::HashSet::new() };

    for (name, _, body) in assets::ASSETS {
        w.write(&format!("static/{name}"), body.as_bytes())?;
    }
    w.write("search-index.js", search_index(app).as_bytes())?;
    let links0 = Links::static_at(0);
    w.page("404.html", Ok(pages::error(app, &links0, 404, "Not found", "There is no page at this address.")))?;
    w.page("attack.html", pages::attack(app, &links0))?;
    w.page("indicators.html", pages::indicators(app, &links0, &IndicatorQuery::default()))?;
    w.page("events.html", pages::events(app, &links0))?;
    w.page("stats.html", pages::stats(app, &links0))?;
    let layer = serde_json::to_string_pretty(&crate::api::navigator_layer(app)).unwrap_or_default();
    w.write("api/attack/navigator.json", layer.as_bytes())?;
    if opts.json {
        w.json("api/stats.json", catalog.stats())?;
        w.json("api/attack.json", &crate::api::attack_json(app))?;
    }

    // Everything else, as independent jobs: the rule list page by page (sorted by title, the server's default
    // order), rules, file-stem forwards, techniques, shared indicators, providers, events and event fields.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let first = search::run(app, search::Request::default());
    jobs.extend((1..=first.pages).map(Job::List));
    let mut stems: HashMap<String, Vec<&RulePage>> = HashMap::new();
    for p in catalog.pages() {
        jobs.push(Job::Rule(p));
        stems.entry(p.file_stem.to_ascii_lowercase()).or_default().push(p);
    }
    let mut stems: Vec<(String, Vec<&RulePage>)> = stems.into_iter().collect();
    stems.sort_by(|a, b| a.0.cmp(&b.0));
    jobs.extend(stems.iter().map(|(stem, list)| Job::Stem(stem, list.clone())));
    for t in catalog.knowledge().attack().techniques() {
        jobs.push(Job::Technique(t.id, None));
        jobs.extend(t.tactics().iter().map(|tactic| Job::Technique(t.id, Some(tactic))));
    }
    let mut shared: Vec<&IndicatorKey> =
        catalog.indicator_keys().filter(|(_, list)| list.len() > 1).map(|(k, _)| k).collect();
    shared.sort();
    jobs.extend(shared.into_iter().map(Job::Indicator));
    let providers = catalog.providers();
    let slugs: Vec<&str> = providers.iter().map(|p| app.provider_slug(&p.provider_name)).collect();
    for (prov, slug) in providers.iter().zip(&slugs) {
        jobs.push(Job::Provider(slug));
        for e in catalog.event_pages(Some(&prov.provider_name)) {
            jobs.push(Job::Event(slug, e.event_id, None));
            jobs.extend(
                e.fields.iter().filter(|f| f.rules > 0).map(|f| Job::Event(slug, e.event_id, Some(f.name.clone()))),
            );
        }
    }

    for chunk in jobs.chunks(256) {
        let rendered: Vec<Rendered> = chunk.par_iter().map(|job| job.render(app, opts)).collect();
        for files in rendered {
            for (rel, body) in files? {
                w.write(&rel, &body)?;
            }
        }
    }
    w.summary.rule_pages = catalog.len();
    Ok(w.summary)
}

/// On static list pages, pagination links point at `page/N.html` rather than `index.html?page=N`, so the list
/// is browsable without JavaScript.
fn static_list_links(html: &str, links: &Links) -> String {
    let home = crate::highlight::escape(&links.home());
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let needle = format!("href=\"{home}?page=");
    while let Some(at) = rest.find(&needle) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let num_start = needle.len();
        let digits: String =
            after.get(num_start..).unwrap_or_default().chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<usize>() {
            Ok(n) => {
                let _ = write!(out, "href=\"{}", crate::highlight::escape(&links.list_page(n)));
                rest = after.get(num_start + digits.len()..).unwrap_or_default();
            }
            Err(_) => {
                out.push_str(&needle);
                rest = after.get(num_start..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// A tiny page that forwards to another (for `rules/sigma/<stem>.html`).
fn forward(href: &str, title: &str) -> String {
    let href = crate::highlight::escape(href);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta http-equiv=\"refresh\" content=\"0; url={href}\"><link rel=\"canonical\" href=\"{href}\"></head>\
         <body><p>Moved to <a href=\"{href}\">{t}</a>.</p></body></html>",
        t = crate::highlight::escape(title)
    )
}

/// The prebuilt search index (`search-index.js`): per rule its link, display fields, facet values and a
/// lower-case haystack, matched by `static.js` the way the server's search matches.
pub fn search_index(app: &App) -> String {
    let catalog = app.catalog();
    let links = Links::static_at(0);
    let mut labels: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut tactic_labels = serde_json::Map::new();
    let mut technique_labels = serde_json::Map::new();
    let rules: Vec<Value> = catalog
        .pages()
        .iter()
        .map(|p| {
            for r in &p.attack {
                tactic_labels.insert(r.shortname.clone(), json!(r.tactic));
                for t in &r.techniques {
                    technique_labels.insert(t.id.clone(), json!(format!("{} {}", t.id, t.name)));
                }
            }
            let mut techniques: BTreeSet<String> = p.techniques.iter().cloned().collect();
            for t in &p.techniques {
                if let Some((parent, _)) = t.split_once('.') {
                    techniques.insert(parent.to_string());
                    if let Some(pt) = catalog.knowledge().attack().technique(parent) {
                        technique_labels.insert(pt.id.to_string(), json!(format!("{} {}", pt.id, pt.display)));
                    }
                }
            }
            let facets: Vec<Value> = Facet::ALL
                .iter()
                .map(|f| match f {
                    Facet::Tactic => json!(p.tactics),
                    Facet::Technique => json!(techniques),
                    Facet::Level => json!(p.level.iter().collect::<Vec<_>>()),
                    Facet::Status => json!(p.status.iter().collect::<Vec<_>>()),
                    Facet::Product => json!(p.logsource.product.iter().collect::<Vec<_>>()),
                    Facet::Category => json!(p.logsource.category.iter().collect::<Vec<_>>()),
                    Facet::Service => json!(p.logsource.service.iter().collect::<Vec<_>>()),
                    Facet::Author => json!(crate::view::authors(p.author.as_deref())),
                    Facet::Source => json!([p.source]),
                    Facet::Regression => json!([if p.has_regression() { "yes" } else { "no" }]),
                    Facet::Kind => json!([p.kind.as_str()]),
                })
                .collect();
            json!({
                "u": links.rule(&p.key),
                "t": p.title,
                "i": p.id.as_deref().unwrap_or_default().to_lowercase(),
                "l": p.level,
                "s": p.status,
                "ls": p.logsource_label(),
                "d": p.date,
                "m": p.modified,
                "x": crate::view::snippet(p.description.as_deref().unwrap_or_default(), 260),
                "ta": p.attack.iter().map(|r| [r.shortname.as_str(), r.tactic.as_str()]).collect::<Vec<_>>(),
                "k": if p.kind == sigil_catalog::RuleKind::Rule { Value::Null } else { json!(p.kind.as_str()) },
                "src": p.source,
                "f": facets,
                "h": sigil_catalog::search_text(p),
            })
        })
        .collect();
    labels.insert("tactic".into(), Value::Object(tactic_labels));
    labels.insert("technique".into(), Value::Object(technique_labels));
    let index = json!({
        "facets": Facet::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "titles": Facet::ALL.iter().map(|f| search::facet_title(*f)).collect::<Vec<_>>(),
        "labels": labels,
        "sources": catalog.sources().len(),
        "rules": rules,
    });
    // `</` cannot appear inside the script: the JSON is inside a .js file, not HTML, but escape anyway so the
    // index is also safe to inline.
    let body = serde_json::to_string(&index).unwrap_or_else(|_| "{}".into()).replace("</", "<\\/");
    format!("window.SIGIL_INDEX={body};\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_links_become_files() {
        let links = Links::static_at(0);
        let html = "<a href=\"index.html?page=2\">2</a><a href=\"index.html?page=x\">";
        assert_eq!(static_list_links(html, &links), "<a href=\"page/2.html\">2</a><a href=\"index.html?page=x\">");
        let links = Links::static_at(1);
        assert_eq!(static_list_links("href=\"../index.html?page=1\"", &links), "href=\"../index.html\"");
    }

    #[test]
    fn forward_pages_escape() {
        let f = forward("../x.html", "<b>");
        assert!(f.contains("&lt;b&gt;") && f.contains("url=../x.html"));
    }
}
