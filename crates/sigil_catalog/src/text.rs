//! Full-text relevance: an inverted index with precomputed BM25F scores, term expansion (prefixes, typos) and
//! highlighting.
//!
//! One ranking model serves the server and the static site alike. Every (term, page) pair gets an integer
//! score once, here, at build time; a query only adds scores up. The static export writes the same postings
//! (sharded by term prefix) and `static.js` applies the same expansion rules and the same integer arithmetic,
//! so both sides rank identically (a test compares their top results).
//!
//! **Terms** are the runs of letters and digits of a text, lower-cased: `\rundll32.exe` gives `rundll32` and
//! `exe`; file paths and command lines split at their punctuation. A page's text is read in five fields with
//! weights: title 4, indicators (the values its detection looks for) 2.5, tags/ATT&CK/fields/log source/id 1.5,
//! description 1, and the rest (author, false positives, the file's path within its source) 0.5. The score of a
//! term on a page is BM25F (k1 = 1.2, b = 0.75 per field, Lucene's idf), times 1000, rounded.
//!
//! **A query term** matches, in this order of preference:
//! 1. the term itself, at its full score;
//! 2. for terms of 3 or more characters, the [`MAX_EXPANSIONS`] most frequent longer terms it starts (ties by
//!    term) — the word being typed;
//! 3. when neither exists anywhere, for terms of 4 or more characters, the terms with the same first two
//!    characters within Levenshtein distance 1 (2 from 8 characters on), the closest only: typo tolerance,
//!    reported as "did you mean".
//!
//! An expansion other than the term itself scores `floor(score × df / (2 × df_max))`, where `df` is the number
//! of pages holding it and `df_max` the largest such number among the term's expansions: half score for the
//! most common one, less for rarer ones, so that `powershel` ranks `powershell` rules, not the rule holding the
//! rare `powershellcore` (whose idf is higher). A page's score for a query term is the best of its
//! expansions; terms are AND-ed and their scores summed.
//! Quoted words match exactly (no expansion); `-word` excludes pages holding every term of the word exactly.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::fasthash::FastMap;
use crate::page::RulePage;

/// Longer terms a query term expands to at most (as a prefix).
pub const MAX_EXPANSIONS: usize = 64;
/// BM25 k1.
const K1: f64 = 1.2;
/// BM25 b.
const B: f64 = 0.75;
/// Field weights: title, indicators, tags, description, other.
pub const FIELD_WEIGHTS: [f64; FIELDS] = [4.0, 2.5, 1.5, 1.0, 0.5];
const FIELDS: usize = 5;

/// The terms of a text: runs of letters and digits, lower-cased.
pub fn terms_of(text: &str) -> Vec<String> {
    token_spans(text).map(|(a, b)| text.get(a..b).unwrap_or_default().to_lowercase()).collect()
}

/// Byte spans of the runs of letters and digits of a text.
fn token_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some(&(_, c)) = chars.peek() {
            if c.is_alphanumeric() {
                break;
            }
            chars.next();
        }
        let (start, _) = *chars.peek()?;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        Some((start, end))
    })
}

/// The shard key of a term: its first two characters (one for one-character terms). Typo expansion stays
/// within a key, so the static site finds typos in the one shard it loads.
pub fn shard_key(term: &str) -> String {
    term.chars().take(2).collect()
}

/// The text of a page, field by field, as indexed.
fn fields(p: &RulePage) -> [String; FIELDS] {
    let mut indicators = String::new();
    for i in &p.indicators {
        indicators.push_str(&i.value);
        indicators.push('\n');
    }
    let mut tags = String::new();
    let mut add = |s: &str| {
        tags.push_str(s);
        tags.push('\n');
    };
    for t in &p.tags {
        add(t);
    }
    for r in &p.attack {
        add(&r.tactic);
        for t in &r.techniques {
            add(&t.id);
            add(&t.name);
        }
    }
    for f in &p.coverage.fields {
        add(f);
    }
    add(&p.logsource.label());
    add(p.id.as_deref().unwrap_or_default());
    add(p.name.as_deref().unwrap_or_default());
    let mut other = String::new();
    for s in [p.author.as_deref().unwrap_or_default(), &p.rel_path] {
        other.push_str(s);
        other.push('\n');
    }
    for f in &p.falsepositives {
        other.push_str(f);
        other.push('\n');
    }
    [p.title.clone(), indicators, tags, p.description.clone().unwrap_or_default(), other]
}

/// The inverted index: term → (page index, score) in page order.
#[derive(Debug, Clone, Default)]
pub struct TextIndex {
    terms: BTreeMap<String, Vec<(u32, u32)>>,
}

/// How a query term was matched to an indexed term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    /// The term itself.
    Exact,
    /// A longer term it starts.
    Prefix,
    /// A term within a small edit distance (a typo).
    Fuzzy,
}

impl TextIndex {
    /// Indexes pages (in parallel).
    pub fn build(pages: &[RulePage]) -> TextIndex {
        // Hash maps with the fast hasher: nothing below depends on their order (postings are pushed in page
        // order, the result is sorted by term). Per page: per term, the term frequency in each field; and each
        // field's length in terms.
        type Counts = (FastMap<String, [u32; FIELDS]>, [u32; FIELDS]);
        let docs: Vec<Counts> = pages
            .par_iter()
            .map(|p| {
                let mut tf: FastMap<String, [u32; FIELDS]> = FastMap::default();
                let mut len = [0u32; FIELDS];
                for (f, text) in fields(p).iter().enumerate() {
                    for t in terms_of(text) {
                        if let Some(slot) = tf.entry(t).or_default().get_mut(f) {
                            *slot += 1;
                        }
                        if let Some(l) = len.get_mut(f) {
                            *l += 1;
                        }
                    }
                }
                (tf, len)
            })
            .collect();
        let n = docs.len().max(1) as f64;
        let mut avg = [0f64; FIELDS];
        for (_, len) in &docs {
            for (a, l) in avg.iter_mut().zip(len) {
                *a += f64::from(*l) / n;
            }
        }
        let mut df: FastMap<&str, u32> = FastMap::default();
        for (tf, _) in &docs {
            for t in tf.keys() {
                *df.entry(t.as_str()).or_default() += 1;
            }
        }
        // Postings keyed by borrowed terms; each distinct term is copied once, at the end.
        let mut terms: FastMap<&str, Vec<(u32, u32)>> = FastMap::default();
        terms.reserve(df.len());
        for (doc, (tf, len)) in docs.iter().enumerate() {
            for (t, counts) in tf {
                let d = f64::from(df.get(t.as_str()).copied().unwrap_or(1));
                let idf = (1.0 + (n - d + 0.5) / (d + 0.5)).ln();
                let mut weighted = 0.0;
                for f in 0..FIELDS {
                    let c = f64::from(counts.get(f).copied().unwrap_or(0));
                    if c == 0.0 {
                        continue;
                    }
                    let l = f64::from(len.get(f).copied().unwrap_or(0));
                    let a = avg.get(f).copied().unwrap_or(1.0).max(1e-9);
                    weighted += FIELD_WEIGHTS.get(f).copied().unwrap_or(1.0) * c / (1.0 - B + B * l / a);
                }
                let score = idf * weighted * (K1 + 1.0) / (weighted + K1);
                let score = ((score * 1000.0).round() as u32).max(1);
                terms.entry(t.as_str()).or_default().push((doc as u32, score));
            }
        }
        // Documents were visited in order, so every posting list is already sorted by page.
        TextIndex { terms: terms.into_iter().map(|(t, p)| (t.to_string(), p)).collect() }
    }

    /// Every term with its postings, in term order.
    pub fn terms(&self) -> impl Iterator<Item = (&str, &[(u32, u32)])> {
        self.terms.iter().map(|(t, p)| (t.as_str(), p.as_slice()))
    }

    /// Distinct terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The postings of a term.
    pub fn postings(&self, term: &str) -> &[(u32, u32)] {
        self.terms.get(term).map_or(&[], Vec::as_slice)
    }

    /// The indexed terms a query term matches, with how (see the module documentation).
    pub fn expand(&self, term: &str, exact_only: bool) -> Vec<(&str, Expansion)> {
        let mut out: Vec<(&str, Expansion)> = Vec::new();
        if let Some((t, _)) = self.terms.get_key_value(term) {
            out.push((t.as_str(), Expansion::Exact));
        }
        if exact_only {
            return out;
        }
        let chars = term.chars().count();
        if chars >= 3 {
            let mut longer: Vec<(&str, usize)> = self
                .terms
                .range::<str, _>((std::ops::Bound::Excluded(term), std::ops::Bound::Unbounded))
                .take_while(|(t, _)| t.starts_with(term))
                .map(|(t, p)| (t.as_str(), p.len()))
                .collect();
            longer.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            out.extend(longer.into_iter().take(MAX_EXPANSIONS).map(|(t, _)| (t, Expansion::Prefix)));
        }
        if !out.is_empty() || chars < 4 {
            return out;
        }
        let max = if chars >= 8 { 2 } else { 1 };
        let key = shard_key(term);
        let mut best = usize::MAX;
        let mut near: Vec<&str> = Vec::new();
        let from = (std::ops::Bound::Included(key.as_str()), std::ops::Bound::Unbounded);
        for (t, _) in self.terms.range::<str, _>(from).take_while(|(t, _)| t.starts_with(key.as_str())) {
            let d = strsim::levenshtein(term, t);
            if d > max || d > best {
                continue;
            }
            if d < best {
                best = d;
                near.clear();
            }
            near.push(t.as_str());
        }
        out.extend(near.into_iter().map(|t| (t, Expansion::Fuzzy)));
        out
    }
}

/// A query's text part, resolved against the index: what each positive term matched.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextMatch {
    /// Page index → summed score, for pages matching every positive term (`None`: the query has no positive
    /// term, every page matches with score 0).
    pub(crate) scores: Option<HashMap<u32, u32>>,
    /// Pages excluded by `-word`s.
    pub(crate) excluded: std::collections::HashSet<u32>,
    /// Every indexed term that matched (for highlighting).
    pub(crate) matched: Vec<String>,
    /// The query with typos replaced by their closest terms, when a term matched only by typo tolerance.
    pub(crate) suggestion: Option<String>,
}

/// One query word: its terms, whether quoted (exact) and whether negated.
pub(crate) struct Word {
    pub(crate) terms: Vec<String>,
    pub(crate) exact: bool,
    pub(crate) negated: bool,
}

impl TextIndex {
    pub(crate) fn run(&self, words: &[Word]) -> TextMatch {
        let mut m = TextMatch::default();
        let mut any_fuzzy = false;
        let mut suggestion: Vec<String> = Vec::new();
        for w in words {
            if w.negated {
                // Pages holding every term of the word exactly.
                let mut hold: Option<std::collections::HashSet<u32>> = None;
                for t in &w.terms {
                    let set: std::collections::HashSet<u32> = self.postings(t).iter().map(|p| p.0).collect();
                    hold = Some(match hold {
                        None => set,
                        Some(h) => h.intersection(&set).copied().collect(),
                    });
                }
                m.excluded.extend(hold.unwrap_or_default());
                continue;
            }
            let mut shown: Vec<String> = Vec::new();
            for t in &w.terms {
                let expansions = self.expand(t, w.exact);
                // Expansions count in proportion to how common they are: a rare completion (`powershellcore`)
                // must not outrank the common one (`powershell`) through its higher idf.
                let df_ref = expansions.iter().map(|(term, _)| self.postings(term).len()).max().unwrap_or(1).max(1);
                let mut best: HashMap<u32, u32> = HashMap::new();
                let mut fuzzy_best: Option<&str> = None;
                for (term, how) in &expansions {
                    m.matched.push((*term).to_string());
                    if *how == Expansion::Fuzzy {
                        any_fuzzy = true;
                        let df = |x: &str| self.postings(x).len();
                        if fuzzy_best.is_none_or(|b| df(term) > df(b)) {
                            fuzzy_best = Some(term);
                        }
                    }
                    let df = self.postings(term).len() as u64;
                    for &(doc, score) in self.postings(term) {
                        let s = if *how == Expansion::Exact {
                            score
                        } else {
                            (u64::from(score) * df / (2 * df_ref as u64)) as u32
                        };
                        let slot = best.entry(doc).or_default();
                        *slot = (*slot).max(s);
                    }
                }
                shown.push(fuzzy_best.map_or_else(|| t.clone(), str::to_string));
                m.scores = Some(match m.scores.take() {
                    None => best,
                    Some(prev) => {
                        prev.into_iter().filter_map(|(doc, s)| best.get(&doc).map(|b| (doc, s + b))).collect()
                    }
                });
            }
            suggestion.push(shown.join(" "));
        }
        if any_fuzzy {
            m.suggestion = Some(suggestion.join(" "));
        }
        m.matched.sort_unstable();
        m.matched.dedup();
        m
    }
}

/// A piece of text, marked when it is a matched term.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    /// The text.
    pub text: String,
    /// Whether it matched the query.
    pub mark: bool,
}

/// Splits a text into segments, marking the runs of letters and digits that are matched terms.
pub fn highlight(text: &str, matched: &[String]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut last = 0;
    let push = |out: &mut Vec<Segment>, s: &str, mark: bool| {
        if s.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(prev) if prev.mark == mark => prev.text.push_str(s),
            _ => out.push(Segment { text: s.to_string(), mark }),
        }
    };
    for (a, b) in token_spans(text) {
        let word = text.get(a..b).unwrap_or_default();
        if matched.binary_search(&word.to_lowercase()).is_ok() {
            push(&mut out, text.get(last..a).unwrap_or_default(), false);
            push(&mut out, word, true);
            last = b;
        }
    }
    push(&mut out, text.get(last..).unwrap_or_default(), false);
    out
}

/// Characters of a snippet.
pub const SNIPPET_CHARS: usize = 240;

/// A short passage of a page around the first matched term, marked: from the description, else the
/// indicators, else the false positives; the start of the description when nothing matched there.
pub fn snippet(p: &RulePage, matched: &[String]) -> Vec<Segment> {
    let indicators = p.indicators.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(" · ");
    let falsepositives = p.falsepositives.join(" · ");
    let description = p.description.as_deref().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    snippet_of(&[&description, &indicators, &falsepositives], matched)
}

/// The snippet of the first text holding a matched term (see [`snippet`]).
pub fn snippet_of(texts: &[&str], matched: &[String]) -> Vec<Segment> {
    for text in texts {
        let segs = highlight(text, matched);
        if let Some(first) = segs.iter().position(|s| s.mark) {
            let before: usize = segs.iter().take(first).map(|s| s.text.chars().count()).sum();
            let start = before.saturating_sub(60);
            return window(text, start, matched);
        }
    }
    window(texts.first().copied().unwrap_or_default(), 0, matched)
}

fn window(text: &str, start_char: usize, matched: &[String]) -> Vec<Segment> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut start = start_char.min(chars.len());
    // Start at a word boundary.
    while start > 0 && start < chars.len() && !chars.get(start - 1).is_some_and(|c| c.1.is_whitespace()) {
        start += 1;
    }
    let mut end = (start + SNIPPET_CHARS).min(chars.len());
    if end < chars.len() {
        while end > start && !chars.get(end).is_some_and(|c| c.1.is_whitespace()) {
            end -= 1;
        }
        if end == start {
            end = (start + SNIPPET_CHARS).min(chars.len());
        }
    }
    let byte = |i: usize| chars.get(i).map_or(text.len(), |c| c.0);
    let body = text.get(byte(start)..byte(end)).unwrap_or_default().trim();
    let mut segs = highlight(body, matched);
    if start > 0 {
        segs.insert(0, Segment { text: "… ".into(), mark: false });
    }
    if end < chars.len() {
        segs.push(Segment { text: " …".into(), mark: false });
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_at_punctuation() {
        assert_eq!(
            terms_of(r"C:\Windows\System32\rundll32.exe /c"),
            ["c", "windows", "system32", "rundll32", "exe", "c"]
        );
        assert_eq!(terms_of("Mimikatz-Use «Über»"), ["mimikatz", "use", "über"]);
        assert!(terms_of(" -- ").is_empty());
        assert_eq!(shard_key("über"), "üb");
        assert_eq!(shard_key("x"), "x");
    }

    #[test]
    fn highlight_marks_whole_terms() {
        let m = vec!["exe".to_string(), "rundll32".to_string()];
        let segs = highlight(r"\rundll32.exe or exec", &m);
        let marked: Vec<&str> = segs.iter().filter(|s| s.mark).map(|s| s.text.as_str()).collect();
        assert_eq!(marked, ["rundll32", "exe"]);
        assert_eq!(segs.iter().map(|s| s.text.as_str()).collect::<String>(), r"\rundll32.exe or exec");
    }

    #[test]
    fn snippets_start_near_the_match() {
        let long = format!("{} mimikatz {}", "word ".repeat(100), "tail ".repeat(100));
        let segs = snippet_of(&[&long], &["mimikatz".to_string()]);
        assert_eq!(segs.first().map(|s| s.text.as_str()), Some("… "));
        assert!(segs.iter().any(|s| s.mark && s.text == "mimikatz"));
        let text: String = segs.iter().map(|s| s.text.as_str()).collect();
        assert!(text.chars().count() <= SNIPPET_CHARS + 4, "{text}");
        // Nothing matched: the start of the first text.
        let segs = snippet_of(&["short text", "x"], &["zzz".to_string()]);
        assert_eq!(segs, [Segment { text: "short text".into(), mark: false }]);
    }
}
