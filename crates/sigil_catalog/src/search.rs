//! Search: query text over titles, descriptions, tags, fields and values, plus facets, with facet counts.
//!
//! Every page has a precomputed lower-case haystack, so a query is a few substring scans per page (well under
//! 20 ms for SigmaHQ's ~3,800 rules). Words are AND-ed; `"quoted phrases"` match as written; `-word` excludes;
//! `facet:value` words (`tactic:execution level:high`) filter like [`SearchQuery::filters`]. Facet counts are
//! "disjunctive": each facet is counted over the pages matching the text and every *other* facet's filter, so a
//! UI can offer the alternatives to a value already chosen. Values within a facet are OR-ed, facets AND-ed.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use sigil_knowledge::Knowledge;

use crate::catalog::Catalog;
use crate::page::RulePage;

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
}

impl Facet {
    /// Every facet, in display order.
    pub const ALL: [Facet; 11] = [
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
}

/// Precomputed search data of one page.
#[derive(Debug, Clone)]
pub(crate) struct SearchDoc {
    pub(crate) title_lc: String,
    id_lc: String,
    /// Tags, fields and file stem, lower case (a middle tier for scoring).
    tags_lc: String,
    /// Everything searchable, lower case, newline-separated.
    haystack: String,
    /// Facet values per [`Facet`] (index = discriminant), original spelling.
    facets: Vec<Vec<String>>,
}

impl SearchDoc {
    pub(crate) fn new(p: &RulePage, _knowledge: &Knowledge) -> SearchDoc {
        let mut tags = String::new();
        for t in &p.tags {
            tags.push_str(t);
            tags.push('\n');
        }
        for f in &p.coverage.fields {
            tags.push_str(f);
            tags.push('\n');
        }
        tags.push_str(&p.file_stem);
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
        SearchDoc {
            title_lc: p.title.to_lowercase(),
            id_lc: p.id.as_deref().unwrap_or_default().to_lowercase(),
            tags_lc: tags.to_lowercase(),
            haystack: search_text(p),
            facets,
        }
    }

    fn values(&self, f: Facet) -> &[String] {
        self.facets.get(f as usize).map_or(&[], Vec::as_slice)
    }

    /// The score for the text terms, or `None` when a term does not match.
    fn score(&self, terms: &[Term]) -> Option<u32> {
        let mut score = 0u32;
        for t in terms {
            let found = self.haystack.contains(&t.text);
            if t.negated {
                if found {
                    return None;
                }
                continue;
            }
            if !found {
                return None;
            }
            score += if self.id_lc == t.text {
                100
            } else if self.title_lc.contains(&t.text) {
                if self.title_lc.starts_with(&t.text) { 12 } else { 10 }
            } else if self.tags_lc.contains(&t.text) {
                3
            } else {
                1
            };
        }
        Some(score)
    }
}

/// Everything searchable of a page, lower case and newline-separated: what the catalog's search (and the static
/// site's in-browser search) match query words against.
pub fn search_text(p: &RulePage) -> String {
    let mut tags = String::new();
    for t in &p.tags {
        tags.push_str(t);
        tags.push('\n');
    }
    for f in &p.coverage.fields {
        tags.push_str(f);
        tags.push('\n');
    }
    tags.push_str(&p.file_stem);
    let mut hay = String::with_capacity(p.title.len() + p.yaml.len() / 2);
    let mut add = |s: &str| {
        hay.push_str(s);
        hay.push('\n');
    };
    add(&p.title);
    add(&p.key);
    add(p.id.as_deref().unwrap_or_default());
    add(p.name.as_deref().unwrap_or_default());
    add(p.description.as_deref().unwrap_or_default());
    add(p.author.as_deref().unwrap_or_default());
    add(&tags);
    add(&p.path);
    add(&p.logsource.label());
    for r in &p.attack {
        add(&r.tactic);
        for t in &r.techniques {
            add(&t.name);
        }
    }
    for i in &p.indicators {
        add(&i.value);
    }
    for f in &p.falsepositives {
        add(f);
    }
    hay.to_lowercase()
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

struct Term {
    text: String,
    negated: bool,
}

fn terms(text: &str) -> Vec<Term> {
    tokens(text)
        .into_iter()
        .filter_map(|t| {
            let (negated, body) = match t.text.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_string()),
                _ => (false, t.text),
            };
            let body = body.to_lowercase();
            (!body.is_empty()).then_some(Term { text: body, negated })
        })
        .collect()
}

impl Catalog {
    /// Runs a search. See the module documentation for the query language and facet counting.
    pub fn search(&self, q: &SearchQuery) -> SearchResults {
        let terms = terms(&q.text);
        let mut wanted: HashMap<Facet, Vec<String>> = HashMap::new();
        for (f, v) in &q.filters {
            wanted.entry(*f).or_default().push(v.to_ascii_lowercase());
        }
        let filtered: Vec<Facet> = Facet::ALL.into_iter().filter(|f| wanted.contains_key(f)).collect();
        // (page, score, mask of failed filters) for pages matching the text.
        let matched: Vec<(usize, u32, u32)> = self
            .search_docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                let score = d.score(&terms)?;
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
        hits.sort_by_cached_key(|&(i, s)| (Reverse(s), self.search_docs.get(i).map(|d| d.title_lc.clone()), i));
        let total = hits.len();
        let window = hits.into_iter().skip(q.offset).take(if q.limit == 0 { usize::MAX } else { q.limit });
        let hits = window
            .filter_map(|(i, score)| {
                let p = self.pages.get(i)?;
                Some(SearchHit { index: i, key: p.key.clone(), title: p.title.clone(), score })
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
                    let Some(d) = self.search_docs.get(*i) else { continue };
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
        SearchResults { total, hits, facets }
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
        let t = terms(&q.text);
        assert_eq!(
            t.iter().map(|t| (t.text.as_str(), t.negated)).collect::<Vec<_>>(),
            [("mesh", false), ("remote access", false), ("psexec", true), ("foo:bar", false)]
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
