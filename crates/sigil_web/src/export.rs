//! `sigil site`: the catalog as static files, for any static host (or straight from disk).
//!
//! Every page the server renders without a query is written once, with relative links ([`Links::static_at`]):
//! the rule list (`index.html`, `page/N.html`), each rule (`rules/<key>.html`; its JSON with
//! [`ExportOptions::json`]), the ATT&CK matrix and the technique pages and matrix cells that have rules, the
//! events side (providers and the events with rules), statistics, the Navigator layer and the assets. The
//! rules sharing an indicator are listed in the browser (`indicators.html?i=…`) from the index files. Search and facets work in the
//! browser through `static/static.js` over a sharded index loaded on demand ([`crate::static_index`]), ranked
//! exactly as the server ranks; without JavaScript the rule list is still browsable page by page.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sigil_catalog::RulePage;

use crate::app::App;
use crate::assets;
use crate::links::{Links, file_name};
use crate::pages::{self, Failure};
use crate::search;
use sigil_catalog::IndicatorQuery;

/// Export settings.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Write the JSON files (`api/…`) too.
    pub json: bool,
    /// Write only the search page (`index.html`), the assets and the search index: a preview of search, and
    /// what the browser tests need of a large catalog.
    pub search_only: bool,
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
    /// Folders created so far.
    dirs: std::collections::HashSet<PathBuf>,
}

impl Writer<'_> {
    fn write(&mut self, rel: &str, body: &[u8]) -> Result<(), ExportError> {
        let Some(path) = self.claim(rel)? else { return Ok(()) };
        std::fs::write(&path, body).map_err(|e| ExportError::Io(path.clone(), e))?;
        self.summary.files += 1;
        self.summary.bytes += body.len() as u64;
        Ok(())
    }

    /// Writes files, in parallel; the first of two files with the same path is kept, as with [`Writer::write`].
    fn write_all(&mut self, files: Vec<(String, Vec<u8>)>) -> Result<(), ExportError> {
        let mut claimed = Vec::with_capacity(files.len());
        for (rel, body) in files {
            if let Some(path) = self.claim(&rel)? {
                claimed.push((path, body));
            }
        }
        claimed
            .par_iter()
            .try_for_each(|(path, body)| std::fs::write(path, body).map_err(|e| ExportError::Io(path.clone(), e)))?;
        self.summary.files += claimed.len();
        self.summary.bytes += claimed.iter().map(|(_, body)| body.len() as u64).sum::<u64>();
        Ok(())
    }

    /// The path to write `rel` to, with its folder created; `None` when a file of that name was written already.
    fn claim(&mut self, rel: &str) -> Result<Option<PathBuf>, ExportError> {
        if !self.seen.insert(rel.to_string()) {
            tracing::warn!(file = rel, "two pages map to the same file; keeping the first");
            return Ok(None);
        }
        let path = self.out.join(rel);
        if let Some(dir) = path.parent()
            && !self.dirs.contains(dir)
        {
            std::fs::create_dir_all(dir).map_err(|e| ExportError::Io(dir.to_path_buf(), e))?;
            self.dirs.insert(dir.to_path_buf());
        }
        Ok(Some(path))
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

/// Rules per page of the static rule list (browsable without JavaScript; search pages by 25 in the browser).
pub const STATIC_LIST_PAGE: usize = 100;

/// Depth of a relative path (`rules/x.html` is 1).
fn depth(rel: &str) -> usize {
    rel.matches('/').count()
}

/// One page (or set of files) of the export, rendered independently of the others.
enum Job<'a> {
    /// One page of the rule list (its search already run).
    List(&'a search::Outcome),
    Rule(&'a RulePage),
    Technique(&'static str),
    Provider(&'a str),
    Event(&'a str, u32),
    RecordKind(String),
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
            Job::List(outcome) => {
                let n = outcome.request.page;
                let rel = if n == 1 { "index.html".to_string() } else { format!("page/{n}.html") };
                let links = Links::static_at(depth(&rel));
                page_file(rel, pages::index(app, &links, outcome).map(|h| static_list_links(&h, &links)))
            }
            Job::Rule(p) => {
                let name = file_name(&p.key);
                let mut files = page_file(format!("rules/{name}.html"), pages::rule(app, &Links::static_at(1), p))?;
                if opts.json {
                    files.extend(json_file(format!("api/rules/{name}.json"), p)?);
                }
                Ok(files)
            }
            Job::Technique(id) => page_file(
                format!("attack/{}.html", file_name(id)),
                pages::technique(app, &Links::static_at(1), id, None),
            ),
            Job::Provider(slug) => {
                page_file(format!("events/{}.html", file_name(slug)), pages::provider(app, &Links::static_at(1), slug))
            }
            Job::Event(slug, id) => page_file(
                format!("events/{}/{id}.html", file_name(slug)),
                pages::event(app, &Links::static_at(2), slug, *id, None),
            ),
            Job::RecordKind(kind) => page_file(
                format!("records/{}.html", file_name(kind)),
                pages::record_kind(app, &Links::static_at(1), kind),
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
    // The search index, statistics and event usage are all needed: build them side by side.
    catalog.prepare();
    let mut w = Writer {
        out,
        summary: ExportSummary::default(),
        seen: std::collections::HashSet::new(),
        dirs: std::collections::HashSet::new(),
    };

    for (name, _, body) in assets::ASSETS {
        w.write(&format!("static/{name}"), body.as_bytes())?;
    }
    w.write_all(crate::static_index::files(app))?;
    let links0 = Links::static_at(0);
    if opts.search_only {
        let first = search::run(app, search::Request { per_page: STATIC_LIST_PAGE, ..search::Request::default() });
        w.page("index.html", pages::index(app, &links0, &first).map(|h| static_list_links(&h, &links0)))?;
        w.summary.rule_pages = catalog.len();
        return Ok(w.summary);
    }
    w.page("404.html", Ok(pages::error(app, &links0, 404, "Not found", "There is no page at this address.")))?;
    w.page("attack.html", pages::attack(app, &links0))?;
    if app.attack_by_family().compares() {
        w.page(
            "attack/disagreements.html",
            pages::attack_disagreements(app, &Links::static_at(1), &sigil_catalog::DisagreementOrder::Families, None),
        )?;
    }
    w.page("indicators.html", pages::indicators(app, &links0, &IndicatorQuery::default()))?;
    w.page("events.html", pages::events(app, &links0))?;
    w.page("stats.html", pages::stats(app, &links0))?;
    let layer = serde_json::to_string_pretty(&crate::api::navigator_layer(app)).unwrap_or_default();
    w.write("api/attack/navigator.json", layer.as_bytes())?;
    if opts.json {
        w.json("api/stats.json", &catalog.stats_report())?;
        w.json("api/attack.json", &crate::api::attack_json(app))?;
    }

    // Everything else, as independent jobs: the rule list page by page (sorted by title, the server's default
    // order), rules, techniques and matrix cells with rules, providers and their events with rules. To stay
    // within the file limits of static hosts (a few thousand files for a whole corpus), pages that would only
    // say "no rule" are not written (nothing links to them), and what the server answers per query (indicators,
    // an event's rules per field, search) is answered in the browser from the index files.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    // One search for the whole list, cut into its pages.
    let lists =
        search::run_every_page(app, &search::Request { per_page: STATIC_LIST_PAGE, ..search::Request::default() });
    jobs.extend(lists.iter().map(Job::List));
    jobs.extend(catalog.pages().iter().map(Job::Rule));
    for t in catalog.knowledge().attack().techniques() {
        if catalog.by_technique(t.id).is_empty() {
            continue;
        }
        jobs.push(Job::Technique(t.id));
    }
    let providers = catalog.providers();
    let slugs: Vec<&str> = providers.iter().map(|p| app.provider_slug(&p.provider_name)).collect();
    for (prov, slug) in providers.iter().zip(&slugs) {
        jobs.push(Job::Provider(slug));
        for e in catalog.event_pages(Some(&prov.provider_name)) {
            if pages::event_in_static_site(app, &prov.provider_name, e.event_id) {
                jobs.push(Job::Event(slug, e.event_id));
            }
        }
    }
    jobs.extend(catalog.record_kinds().into_iter().map(|k| Job::RecordKind(k.kind)));

    for chunk in jobs.chunks(256) {
        let rendered: Vec<Rendered> = chunk.par_iter().map(|job| job.render(app, opts)).collect();
        let mut files = Vec::with_capacity(rendered.len());
        for r in rendered {
            files.extend(r?);
        }
        w.write_all(files)?;
    }
    w.summary.rule_pages = catalog.len();
    Ok(w.summary)
}

/// On static list pages, pagination links point at `page/N.html` rather than `index.html?page=N`, so the list
/// is browsable without JavaScript.
fn static_list_links(html: &str, links: &Links) -> String {
    // The list's own pager carries its page size; the files need only the page number.
    let html = &html
        .replace(&format!("?per_page={STATIC_LIST_PAGE}&#38;page="), "?page=")
        .replace(&format!("?per_page={STATIC_LIST_PAGE}\""), "\"");
    let home = crate::highlight::escape(&links.home());
    let mut out = String::with_capacity(html.len());
    let mut rest: &str = html;
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
        // The list's pager carries its page size, which the files do not need.
        let links = Links::static_at(0);
        let html = "<a href=\"index.html?per_page=100&#38;page=3\">3</a><a href=\"index.html?per_page=100\">1</a>";
        assert_eq!(static_list_links(html, &links), "<a href=\"page/3.html\">3</a><a href=\"index.html\">1</a>");
    }
}
