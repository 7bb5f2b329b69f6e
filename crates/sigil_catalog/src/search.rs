//! Search: query text ranked by relevance ([`crate::text`]: an inverted index with BM25F scores, prefix and
//! typo expansion), plus facets, with facet counts.
//!
//! Words are AND-ed; `"quoted words"` match their terms exactly; `-word` excludes; `facet:value` words
//! (`tactic:execution level:high`) filter like [`SearchQuery::filters`]. Results are ordered by score, ties
//! by title (then page order): the order [`Catalog::title_order`] gives. Facet counts are
//! "disjunctive": each facet is counted over the pages matching the text and every *other* facet's filter, so a
//! UI can offer the alternatives to a value already chosen. Values within a facet are OR-ed, facets AND-ed.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use sigil_knowledge::Knowledge;

use crate::catalog::Catalog;
use crate::page::RulePage;
use crate::text::{Segment, Word, highlight, snippet, terms_of};

/// A dimension to filter and count by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Facet {
    /// Tactic shortname (`command-and-control`).
    Tactic,
    /// Technique id; a parent id (`T1219`) also matches its sub-techniques.
    Technique,
    /// `level`.
    Level,
    /// `status`.
    Status,
    /// Logsource `product`.
    Product,
    /// Logsource `category`.
    Category,
    /// Logsource `service`.
    Service,
    /// One author (the `author` attribute split at commas).
    Author,
    /// Rule source name.
    Source,
    /// `yes` when the rule has regression test data, else `no`.
    Regression,
    /// `rule`, `correlation` or `filter`.
    Kind,
    /// Rule family (`sigma`, `splunk`, `elastic`, ...).
    Family,
}

impl Facet {
    /// Every facet, in display order.
    pub const ALL: [Facet; 12] = [
        Facet::Tactic,
        Facet::Technique,
        Facet::Level,
        Facet::Status,
        Facet::Product,
        Facet::Category,
        Facet::Service,
        Facet::Author,
        Facet::Source,
        Facet::Regression,
        Facet::Kind,
        Facet::Family,
    ];

    /// The name used in queries and JSON (`tactic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Facet::Tactic => "tactic",
            Facet::Technique => "technique",
            Facet::Level => "level",
            Facet::Status => "status",
            Facet::Product => "product",
            Facet::Category => "category",
            Facet::Service => "service",
            Facet::Author => "author",
            Facet::Source => "source",
            Facet::Regression => "regression",
            Facet::Kind => "kind",
            Facet::Family => "family",
        }
    }

    /// The facet named `name`; `severity` is accepted for `level`, `has_regression`/`test` for `regression`.
    pub fn from_name(name: &str) -> Option<Facet> {
        let name = name.to_ascii_lowercase();
        match name.as_str() {
            "severity" => Some(Facet::Level),
            "has_regression" | "regression_test" | "test" => Some(Facet::Regression),
            _ => Facet::ALL.into_iter().find(|f| f.as_str() == name),
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A search: text, facet filters and a page of results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words, `"phrases"` and `-exclusions`, matched case-insensitively.
    pub text: String,
    /// Facet filters: values of one facet are OR-ed, facets AND-ed. Values compare ASCII case-insensitively.
    pub filters: Vec<(Facet, String)>,
    /// Results to skip.
    pub offset: usize,
    /// Results to return; 0 returns all.
    pub limit: usize,
}

impl SearchQuery {
    /// A text query with no filters.
    pub fn new(text: impl Into<String>) -> Self {
        SearchQuery { text: text.into(), ..SearchQuery::default() }
    }

    /// Splits `facet:value` words (known facet names only) out of a query line into filters.
    pub fn parse(line: &str) -> Self {
        let mut q = SearchQuery::default();
        let mut text: Vec<String> = Vec::new();
        for token in tokens(line) {
            if !token.quoted
                && let Some((name, value)) = token.text.split_once(':')
                && let Some(facet) = Facet::from_name(name)
                && !value.is_empty()
            {
                q.filters.push((facet, value.to_string()));
                continue;
            }
            text.push(if token.quoted { format!("\"{}\"", token.text) } else { token.text });
        }
        q.text = text.join(" ");
        q
    }

    /// Adds a filter.
    #[must_use]
    pub fn filter(mut self, facet: Facet, value: impl Into<String>) -> Self {
        self.filters.push((facet, value.into()));
        self
    }

    /// Sets the result window.
    #[must_use]
    pub fn page(mut self, offset: usize, limit: usize) -> Self {
        self.offset = offset;
        self.limit = limit;
        self
    }
}

struct Token {
    text: String,
    quoted: bool,
}

fn tokens(line: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let negated = c == '-' && chars.clone().nth(1) == Some('"');
        if negated {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            let text = if negated { format!("-{phrase}") } else { phrase };
            out.push(Token { text, quoted: true });
        } else {
            let word: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
            out.push(Token { text: word, quoted: false });
        }
    }
    out
}

/// One result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    /// Page index in [`Catalog::pages`].
    pub index: usize,
    /// Page key.
    pub key: String,
    /// Title.
    pub title: String,
    /// Relevance (higher first); 0 when the query has no text.
    pub score: u32,
    /// A passage of the page around the first matched term, matched terms marked (empty without text).
    pub snippet: Vec<Segment>,
    /// The title with matched terms marked.
    pub title_marked: Vec<Segment>,
}

/// One value of a facet with its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetValue {
    /// The value to filter with (`command-and-control`, `T1219.002`, `medium`).
    pub value: String,
    /// How to show it (`Command & Control`, `T1219.002 Remote Access Tools: Remote Desktop Software`).
    pub label: String,
    /// Matching pages (see the module docs for which filters apply).
    pub count: usize,
    /// Whether the query filters on it.
    pub selected: bool,
}

/// Counts of one facet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCounts {
    /// The facet.
    pub facet: Facet,
    /// Values, most frequent first (ties by value); selected values are always included.
    pub values: Vec<FacetValue>,
}

/// Search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchResults {
    /// Matching pages in all.
    pub total: usize,
    /// The requested window of them, best first.
    pub hits: Vec<SearchHit>,
    /// Counts per facet.
    pub facets: Vec<FacetCounts>,
    /// Indexed terms the query's words matched (exactly, as prefixes or as typos), sorted.
    pub matched: Vec<String>,
    /// The query with typos replaced by the terms they were taken for ("did you mean"), when a word matched
    /// only by typo tolerance.
    pub suggestion: Option<String>,
}

/// Precomputed facet data of one page.
#[derive(Debug, Clone)]
pub(crate) struct SearchDoc {
    pub(crate) title_lc: String,
    /// Facet values per [`Facet`] (index = discriminant), original spelling.
    facets: Vec<Vec<String>>,
}

impl SearchDoc {
    pub(crate) fn new(p: &RulePage, _knowledge: &Knowledge) -> SearchDoc {
        SearchDoc { title_lc: p.title.to_lowercase(), facets: facet_values(p) }
    }

    fn values(&self, f: Facet) -> &[String] {
        self.facets.get(f as usize).map_or(&[], Vec::as_slice)
    }
}

/// A page's values of every facet (index = [`Facet`] discriminant), original spelling; a sub-technique's
/// parent counts as a technique of the page too.
pub fn facet_values(p: &RulePage) -> Vec<Vec<String>> {
    let mut facets: Vec<Vec<String>> = vec![Vec::new(); Facet::ALL.len()];
    let mut set = |f: Facet, values: Vec<String>| {
        if let Some(slot) = facets.get_mut(f as usize) {
            *slot = values;
        }
    };
    set(Facet::Tactic, p.tactics.clone());
    let mut techniques = p.techniques.clone();
    for t in &p.techniques {
        if let Some((parent, _)) = t.split_once('.')
            && !techniques.iter().any(|x| x == parent)
        {
            techniques.push(parent.to_string());
        }
    }
    set(Facet::Technique, techniques);
    set(Facet::Level, p.level.iter().cloned().collect());
    set(Facet::Status, p.status.iter().cloned().collect());
    set(Facet::Product, p.logsource.product.iter().cloned().collect());
    set(Facet::Category, p.logsource.category.iter().cloned().collect());
    set(Facet::Service, p.logsource.service.iter().cloned().collect());
    set(Facet::Author, authors(p.author.as_deref()));
    set(Facet::Source, vec![p.source.clone()]);
    set(Facet::Regression, vec![if p.has_regression() { "yes" } else { "no" }.to_string()]);
    set(Facet::Kind, vec![p.kind.as_str().to_string()]);
    set(Facet::Family, vec![p.family.clone()]);
    facets
}

/// Authors from an `author` attribute: split at commas and ` and `, trimmed.
pub fn authors(author: Option<&str>) -> Vec<String> {
    let Some(a) = author else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for part in a.split([',', ';']).flat_map(|p| p.split(" and ")).flat_map(|p| p.split(" & ")) {
        let name = part.trim().trim_start_matches('@').trim();
        if !name.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    out
}

/// The words of a query's text part (facet words already split out).
pub(crate) fn words(text: &str) -> Vec<Word> {
    tokens(text)
        .into_iter()
        .filter_map(|t| {
            let (negated, body) = match t.text.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                _ => (false, t.text),
            };
            let terms = terms_of(&body);
            (!terms.is_empty()).then_some(Word { terms, exact: t.quoted, negated })
        })
        .collect()
}

/// The title order of pages: for each page index, its rank by lower-case title (ties by page index).
pub(crate) fn title_order(docs: &[SearchDoc]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by(|&a, &b| {
        let ta = docs.get(a).map(|d| d.title_lc.as_str());
        let tb = docs.get(b).map(|d| d.title_lc.as_str());
        ta.cmp(&tb).then(a.cmp(&b))
    });
    let mut rank = vec![0u32; docs.len()];
    for (r, i) in order.into_iter().enumerate() {
        if let Some(slot) = rank.get_mut(i) {
            *slot = r as u32;
        }
    }
    rank
}

impl Catalog {
    /// Runs a search. See the module documentation for the query language and facet counting.
    pub fn search(&self, q: &SearchQuery) -> SearchResults {
        let text = self.text_index().run(&words(&q.text));
        let mut wanted: HashMap<Facet, Vec<String>> = HashMap::new();
        for (f, v) in &q.filters {
            wanted.entry(*f).or_default().push(v.to_ascii_lowercase());
        }
        let filtered: Vec<Facet> = Facet::ALL.into_iter().filter(|f| wanted.contains_key(f)).collect();
        let rank = |i: usize| self.title_order().get(i).copied().unwrap_or(u32::MAX);
        let candidates: Vec<(usize, u32)> = match &text.scores {
            Some(scores) => scores.iter().map(|(&d, &s)| (d as usize, s)).collect(),
            None => (0..self.search_docs().len()).map(|i| (i, 0)).collect(),
        };
        // (page, score, mask of failed filters) for pages matching the text.
        let matched: Vec<(usize, u32, u32)> = candidates
            .into_iter()
            .filter(|(i, _)| !text.excluded.contains(&(*i as u32)))
            .filter_map(|(i, score)| {
                let d = self.search_docs().get(i)?;
                let mut failed = 0u32;
                for f in &filtered {
                    let want = wanted.get(f).map_or(&[][..], Vec::as_slice);
                    if !d.values(*f).iter().any(|v| want.iter().any(|w| v.eq_ignore_ascii_case(w))) {
                        failed |= f.bit();
                    }
                }
                Some((i, score, failed))
            })
            .collect();

        let mut hits: Vec<(usize, u32)> = matched.iter().filter(|m| m.2 == 0).map(|m| (m.0, m.1)).collect();
        hits.sort_unstable_by_key(|&(i, s)| (Reverse(s), rank(i)));
        let total = hits.len();
        let has_text = text.scores.is_some();
        let window = hits.into_iter().skip(q.offset).take(if q.limit == 0 { usize::MAX } else { q.limit });
        let hits = window
            .filter_map(|(i, score)| {
                let p = self.pages.get(i)?;
                let (snippet, title_marked) = if has_text {
                    (snippet(p, &text.matched), highlight(&p.title, &text.matched))
                } else {
                    (Vec::new(), Vec::new())
                };
                Some(SearchHit { index: i, key: p.key.clone(), title: p.title.clone(), score, snippet, title_marked })
            })
            .collect();

        let facets = Facet::ALL
            .into_iter()
            .map(|f| {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for (i, _, failed) in &matched {
                    if failed & !f.bit() != 0 {
                        continue;
                    }
                    let Some(d) = self.search_docs().get(*i) else { continue };
                    for v in d.values(f) {
                        *counts.entry(v.as_str()).or_default() += 1;
                    }
                }
                let want = wanted.get(&f);
                let is_selected = |v: &str| want.is_some_and(|w| w.iter().any(|x| x.eq_ignore_ascii_case(v)));
                let mut values: Vec<FacetValue> = counts
                    .into_iter()
                    .map(|(v, count)| FacetValue {
                        value: v.to_string(),
                        label: self.facet_label(f, v),
                        count,
                        selected: is_selected(v),
                    })
                    .collect();
                for w in want.into_iter().flatten() {
                    if !values.iter().any(|v| v.value.eq_ignore_ascii_case(w)) {
                        values.push(FacetValue {
                            value: w.clone(),
                            label: self.facet_label(f, w),
                            count: 0,
                            selected: true,
                        });
                    }
                }
                values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
                FacetCounts { facet: f, values }
            })
            .collect();
        SearchResults { total, hits, facets, matched: text.matched, suggestion: text.suggestion }
    }

    /// How a facet value is shown: tactic display names, technique ids with names, others as they are.
    pub fn facet_label(&self, facet: Facet, value: &str) -> String {
        let attack = self.knowledge.attack();
        match facet {
            Facet::Tactic => attack.tactic(value).map_or_else(|| value.to_string(), |t| t.display.to_string()),
            Facet::Technique => {
                attack.technique(value).map_or_else(|| value.to_string(), |t| format!("{} {}", t.id, t.display))
            }
            _ => value.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lines_split_into_text_and_filters() {
        let q = SearchQuery::parse(r#"mesh "remote access" -psexec tactic:command-and-control Level:Medium foo:bar"#);
        assert_eq!(q.text, r#"mesh "remote access" -psexec foo:bar"#);
        assert_eq!(q.filters, [(Facet::Tactic, "command-and-control".into()), (Facet::Level, "Medium".into())]);
        let w = words(&q.text);
        assert_eq!(
            w.iter().map(|w| (w.terms.join(" "), w.exact, w.negated)).collect::<Vec<_>>(),
            [
                ("mesh".to_string(), false, false),
                ("remote access".to_string(), true, false),
                ("psexec".to_string(), false, true),
                ("foo bar".to_string(), false, false)
            ]
        );
        assert_eq!(Facet::from_name("severity"), Some(Facet::Level));
        assert!(Facet::ALL.iter().all(|f| Facet::from_name(f.as_str()) == Some(*f)));
    }

    #[test]
    fn authors_split() {
        assert_eq!(
            authors(Some("Florian Roth (Nextron Systems), @kostastsale and Jane")),
            ["Florian Roth (Nextron Systems)", "kostastsale", "Jane"]
        );
        assert!(authors(None).is_empty());
    }
}
