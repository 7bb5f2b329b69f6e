//! From query parameters to a catalog search and back: the parameters of the search page and of `/api/rules`.
//!
//! `q` is the query line (words, `"phrases"`, `-exclusions`, `facet:value`); each facet has its own parameter
//! (`tactic`, `technique`, `level`, `status`, `product`, `category`, `service`, `author`, `source`,
//! `regression`, `kind`; repeat one to OR values); `sort` is `relevance` (default), `title`, `newest`,
//! `modified` or `level`; `page` and `per_page` window the results.

use std::cmp::Reverse;

use sigil_catalog::{Facet, RulePage, SearchQuery, SearchResults};

use crate::app::App;
use crate::query::{self, Params, QueryError};
use crate::view::level_rank;

/// Results per page by default.
pub const PER_PAGE: usize = 25;
/// Most results per page.
pub const MAX_PER_PAGE: usize = 200;

/// Result orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Catalog relevance (title matches first), then title.
    Relevance,
    /// Title A–Z.
    Title,
    /// `date`, newest first.
    Newest,
    /// `modified` (or `date`), newest first.
    Modified,
    /// Critical first, then title.
    Level,
}

impl Sort {
    /// Every order, as offered on the page.
    pub const ALL: [Sort; 5] = [Sort::Relevance, Sort::Title, Sort::Newest, Sort::Modified, Sort::Level];

    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Title => "title",
            Sort::Newest => "newest",
            Sort::Modified => "modified",
            Sort::Level => "level",
        }
    }

    /// The label shown.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Relevance => "Relevance",
            Sort::Title => "Title",
            Sort::Newest => "Newest",
            Sort::Modified => "Updated",
            Sort::Level => "Severity",
        }
    }

    fn parse(s: Option<&str>) -> Result<Sort, QueryError> {
        match s {
            None => Ok(Sort::Relevance),
            Some(v) => Sort::ALL
                .into_iter()
                .find(|x| x.as_str().eq_ignore_ascii_case(v))
                .ok_or_else(|| QueryError::Invalid("sort".into())),
        }
    }
}

/// A search request parsed from parameters.
#[derive(Debug, Clone)]
pub struct Request {
    /// The query line as typed.
    pub q: String,
    /// Facet filters from their own parameters (not from `facet:value` words in `q`).
    pub filters: Vec<(Facet, String)>,
    /// 1-based page.
    pub page: usize,
    /// Results per page.
    pub per_page: usize,
    /// Order.
    pub sort: Sort,
    /// Whether `sort` was given explicitly.
    pub sort_given: bool,
}

impl Default for Request {
    /// The unfiltered first page.
    fn default() -> Self {
        Request {
            q: String::new(),
            filters: Vec::new(),
            page: 1,
            per_page: PER_PAGE,
            sort: Sort::Relevance,
            sort_given: false,
        }
    }
}

impl Request {
    /// Reads the search parameters.
    ///
    /// # Errors
    /// [`QueryError`] for a bad `page`, `per_page` or `sort`.
    pub fn from_params(params: &Params) -> Result<Request, QueryError> {
        let mut filters = Vec::new();
        for f in Facet::ALL {
            for v in params.all(f.as_str()) {
                filters.push((f, v.to_string()));
            }
        }
        let per_page = params.number("per_page", PER_PAGE)?.min(MAX_PER_PAGE);
        let q = params.get("q").unwrap_or_default();
        let words = q.split_whitespace().count();
        if words > query::MAX_TERMS {
            return Err(QueryError::TooManyTerms(words));
        }
        Ok(Request {
            q: q.to_string(),
            filters,
            page: params.number("page", 1)?,
            per_page,
            sort: Sort::parse(params.get("sort"))?,
            sort_given: params.get("sort").is_some(),
        })
    }

    /// The query string of this request with changes: `without` drops one filter, `with` adds one, `page` sets
    /// the page (1 drops it), `sort` replaces the order.
    pub fn query_string(
        &self,
        without: Option<(Facet, &str)>,
        with: Option<(Facet, &str)>,
        page: usize,
        sort: Option<Sort>,
    ) -> String {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        pairs.push(("q", self.q.as_str()));
        for (f, v) in &self.filters {
            if without.is_some_and(|(wf, wv)| wf == *f && wv.eq_ignore_ascii_case(v)) {
                continue;
            }
            pairs.push((f.as_str(), v.as_str()));
        }
        if let Some((f, v)) = with {
            pairs.push((f.as_str(), v));
        }
        let sort = sort.or(self.sort_given.then_some(self.sort));
        if let Some(s) = sort.filter(|s| *s != Sort::Relevance) {
            pairs.push(("sort", s.as_str()));
        }
        let per_page = self.per_page.to_string();
        if self.per_page != PER_PAGE {
            pairs.push(("per_page", per_page.as_str()));
        }
        let page = page.to_string();
        if page != "1" {
            pairs.push(("page", page.as_str()));
        }
        query::build(pairs)
    }

    /// Whether the request filters on a facet value.
    pub fn has(&self, f: Facet, v: &str) -> bool {
        self.filters.iter().any(|(ff, vv)| *ff == f && vv.eq_ignore_ascii_case(v))
    }
}

/// A finished search.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What was asked.
    pub request: Request,
    /// The catalog's answer, with hits for the requested page only.
    pub results: SearchResults,
    /// Pages in all.
    pub pages: usize,
}

/// Runs a search.
pub fn run(app: &App, request: Request) -> Outcome {
    match Ordered::search(app, &request) {
        Some(all) => all.window(app, request),
        None => {
            let catalog = app.catalog();
            let offset = (request.page - 1).saturating_mul(request.per_page);
            let results = catalog.search(&query_of(&request).page(offset, request.per_page));
            finish(app, request, results)
        }
    }
}

/// Every page of one search's results (`request.page` ignored), searching once when the order is not
/// relevance: what the static export writes as the rule list. Each outcome equals [`run`] for its page.
pub fn run_every_page(app: &App, request: &Request) -> Vec<Outcome> {
    let outcome = |page: usize, all: Option<&Ordered>| {
        let request = Request { page, ..request.clone() };
        match all {
            Some(all) => all.window(app, request),
            None => run(app, request),
        }
    };
    let all = Ordered::search(app, request);
    let first = outcome(1, all.as_ref());
    let pages = first.pages;
    std::iter::once(first).chain((2..=pages).map(|n| outcome(n, all.as_ref()))).collect()
}

fn query_of(request: &Request) -> SearchQuery {
    let mut q = SearchQuery::parse(&request.q);
    q.filters.extend(request.filters.iter().cloned());
    q
}

/// Every hit of a search in an order other than relevance, before windowing.
struct Ordered(SearchResults);

impl Ordered {
    /// `None` when the request is ordered by relevance (the catalog windows those itself).
    fn search(app: &App, request: &Request) -> Option<Ordered> {
        let sort = if request.sort == Sort::Relevance && request.q.trim().is_empty() && !request.sort_given {
            Sort::Title
        } else {
            request.sort
        };
        if sort == Sort::Relevance {
            return None;
        }
        let catalog = app.catalog();
        let mut all = catalog.search(&query_of(request).page(0, 0));
        let page_of = |i: usize| catalog.page(i);
        // Ties fall to title order, as in relevance order and in the static site.
        let rank = |i: usize| catalog.title_order().get(i).copied().unwrap_or(u32::MAX);
        match sort {
            Sort::Title | Sort::Relevance => all.hits.sort_by_key(|h| rank(h.index)),
            Sort::Newest => all.hits.sort_by_cached_key(|h| (Reverse(page_of(h.index).and_then(date)), rank(h.index))),
            Sort::Modified => all.hits.sort_by_cached_key(|h| {
                (Reverse(page_of(h.index).and_then(|p| p.modified.clone().or_else(|| p.date.clone()))), rank(h.index))
            }),
            Sort::Level => all
                .hits
                .sort_by_cached_key(|h| (level_rank(page_of(h.index).and_then(|p| p.level.as_deref())), rank(h.index))),
        }
        Some(Ordered(all))
    }

    /// The request's page of the hits.
    fn window(&self, app: &App, request: Request) -> Outcome {
        let offset = (request.page - 1).saturating_mul(request.per_page);
        let all = &self.0;
        let results = SearchResults {
            total: all.total,
            hits: all.hits.iter().skip(offset).take(request.per_page).cloned().collect(),
            facets: all.facets.clone(),
            matched: all.matched.clone(),
            suggestion: all.suggestion.clone(),
        };
        finish(app, request, results)
    }
}

/// Marks the shown hits and counts the pages.
fn finish(app: &App, request: Request, mut results: SearchResults) -> Outcome {
    let catalog = app.catalog();
    if !results.matched.is_empty() {
        // Orders other than relevance fetch every hit without snippets: mark the shown ones.
        for h in results.hits.iter_mut().filter(|h| h.title_marked.is_empty()) {
            if let Some(p) = catalog.page(h.index) {
                h.snippet = sigil_catalog::snippet(p, &results.matched);
                h.title_marked = sigil_catalog::highlight(&p.title, &results.matched);
            }
        }
    }
    let pages = results.total.div_ceil(request.per_page.max(1)).max(1);
    Outcome { request, results, pages }
}

impl Outcome {
    /// Whether the requested page lies past the last one (`/?page=9999`): answered with 404.
    pub fn past_the_end(&self) -> bool {
        self.request.page > self.pages
    }
}

fn date(p: &RulePage) -> Option<String> {
    p.date.clone()
}

/// Heading of a facet.
pub fn facet_title(f: Facet) -> &'static str {
    match f {
        Facet::Tactic => "Tactic",
        Facet::Technique => "Technique",
        Facet::Level => "Severity",
        Facet::Status => "Status",
        Facet::Product => "Product",
        Facet::Category => "Category",
        Facet::Service => "Service",
        Facet::Author => "Author",
        Facet::Source => "Source",
        Facet::Regression => "Regression test",
        Facet::Kind => "Kind",
        Facet::Family => "Rule family",
    }
}
