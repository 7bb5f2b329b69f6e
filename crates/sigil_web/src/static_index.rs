//! The static site's search index: the catalog's own postings and facet values, written as small JSON files
//! that `static.js` loads on demand (as Pagefind does), so the first search costs a few hundred kilobytes
//! whatever the size of the catalog.
//!
//! | file | what | loaded |
//! |---|---|---|
//! | `search/meta.js` | facet values with their rules, labels, which shard holds each term prefix | first search |
//! | `search/t/N.js` | postings `[[term, [doc, score, doc, score, …]], …]` of the terms of a few prefixes | per query term |
//! | `search/d/N.js` | what a result shows (link, title, level, snippet text) for [`DOCS_PER_CHUNK`] rules | per shown result |
//! | `search/order.js` | each rule's rank when sorted by date, modification and severity | other orders |
//! | `search/i/H.js` | indicators shared by several rules, by the first hex digit of their name, with the rules | `indicators.html?i=` |
//!
//! Each file is JSON wrapped in a call, `SIGIL_LOADED("t/3", …);`, loaded with a `<script>` element: unlike
//! `fetch`, that also works when the site is opened from disk. Doc numbers and scores are delta-coded where
//! it saves bytes (postings: the doc number minus the previous one).
//!
//! Rules are numbered in title order, so ties of equal score fall to the lower number exactly as on the server
//! ([`sigil_catalog::Catalog::title_order`]). Scores are the server's integers ([`sigil_catalog::text`]):
//! `static.js` only adds them up, with the same expansion rules, so both sides rank the same.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sigil_catalog::{Facet, RuleKind, facet_values, shard_key};

use crate::app::App;
use crate::links::Links;
use crate::search;
use crate::view::level_rank;

/// Rules per `search/d/N.json` file.
pub const DOCS_PER_CHUNK: usize = 12;
/// A term shard is closed once it holds about this many bytes (one prefix is never split).
pub const SHARD_BYTES: usize = 32_000;
/// Characters of description, indicator and false-positive text kept per rule for snippets (the server reads
/// whole texts; a match past these is shown from the start of the description instead).
const SNIPPET_SOURCE_CHARS: [usize; 3] = [320, 240, 120];

fn cap(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max { one_line } else { one_line.chars().take(max).collect() }
}

/// Ascending doc numbers as deltas from the previous one (the first from 0), a run of `k` consecutive numbers
/// after the first written as `-k`: `[0, 1, 2, 3, 7]` → `[0, -3, 4]`. Dense facet values (one source, one
/// level) shrink to a few numbers.
pub fn run_length_deltas(docs: &[u32]) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    let mut prev: i64 = 0;
    let mut run: i64 = 0;
    for (i, &d) in docs.iter().enumerate() {
        let d = i64::from(d);
        if i > 0 && d == prev + 1 {
            run += 1;
        } else {
            if run > 0 {
                out.push(-run);
                run = 0;
            }
            out.push(d - prev);
        }
        prev = d;
    }
    if run > 0 {
        out.push(-run);
    }
    out
}

/// The index files: `(path relative to the site root, body)`.
pub fn files(app: &App) -> Vec<(String, Vec<u8>)> {
    let catalog = app.catalog();
    let pages = catalog.pages();
    let rank = catalog.title_order();
    // doc number (title order) → page index
    let mut by_doc: Vec<usize> = (0..pages.len()).collect();
    by_doc.sort_by_key(|&i| rank.get(i).copied().unwrap_or(u32::MAX));
    let doc_of = |i: usize| rank.get(i).copied().unwrap_or(0);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let json_bytes = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
    let wrap = |name: &str, v: &Value| -> (String, Vec<u8>) {
        let body = String::from_utf8(json_bytes(v)).unwrap_or_default().replace("</", "<\\/");
        (format!("search/{name}.js"), format!("SIGIL_LOADED(\"{name}\",{body});\n").into_bytes())
    };

    // Term shards: prefixes in order, packed until a shard is big enough.
    let mut by_key: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut key_bytes: BTreeMap<String, usize> = BTreeMap::new();
    for (term, postings) in catalog.text_index().terms() {
        let mut list: Vec<(u32, u32)> = postings.iter().map(|&(i, s)| (doc_of(i as usize), s)).collect();
        list.sort_unstable();
        let mut flat: Vec<u32> = Vec::with_capacity(list.len() * 2);
        let mut prev = 0;
        for (doc, score) in list {
            flat.push(doc - prev);
            flat.push(score);
            prev = doc;
        }
        let entry = json!([term, flat]);
        let key = shard_key(term);
        *key_bytes.entry(key.clone()).or_default() += term.len() + flat.len() * 5 + 8;
        by_key.entry(key).or_default().push(entry);
    }
    let mut shard_of: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut shard: Vec<Value> = Vec::new();
    let mut bytes = 0;
    let mut n = 0;
    for (key, entries) in by_key {
        shard_of.insert(key.clone(), json!(n));
        bytes += key_bytes.get(&key).copied().unwrap_or(0);
        shard.extend(entries);
        if bytes >= SHARD_BYTES {
            out.push(wrap(&format!("t/{n}"), &Value::Array(std::mem::take(&mut shard))));
            n += 1;
            bytes = 0;
        }
    }
    if !shard.is_empty() {
        out.push(wrap(&format!("t/{n}"), &Value::Array(shard)));
    }

    // Facet values with their rules (delta-coded doc numbers).
    let per_doc: Vec<Vec<Vec<String>>> = by_doc.iter().filter_map(|&i| pages.get(i)).map(facet_values).collect();
    let values: Vec<Value> = Facet::ALL
        .iter()
        .map(|f| {
            let mut docs: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
            for (doc, facets) in per_doc.iter().enumerate() {
                for v in facets.get(*f as usize).into_iter().flatten() {
                    docs.entry(v.as_str()).or_default().push(doc as u32);
                }
            }
            Value::Array(docs.into_iter().map(|(v, list)| json!([v, run_length_deltas(&list)])).collect())
        })
        .collect();
    let mut labels = serde_json::Map::new();
    for f in [Facet::Tactic, Facet::Technique] {
        let mut m = serde_json::Map::new();
        for facets in &per_doc {
            for v in facets.get(f as usize).into_iter().flatten() {
                if !m.contains_key(v) {
                    m.insert(v.clone(), json!(catalog.facet_label(f, v)));
                }
            }
        }
        labels.insert(f.as_str().into(), Value::Object(m));
    }
    let meta = json!({
        "version": 1,
        "docs": pages.len(),
        "chunk": DOCS_PER_CHUNK,
        "facets": Facet::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
        "titles": Facet::ALL.iter().map(|f| search::facet_title(*f)).collect::<Vec<_>>(),
        "labels": labels,
        "sources": catalog.sources().len(),
        "values": values,
        "shards": shard_of,
        "max_expansions": sigil_catalog::MAX_EXPANSIONS,
    });
    out.push(wrap("meta", &meta));

    // Other orders: each doc's rank.
    let order_by = |key: &dyn Fn(usize) -> (std::cmp::Reverse<Option<String>>, u8)| -> Vec<u32> {
        let mut docs: Vec<usize> = (0..by_doc.len()).collect();
        docs.sort_by_cached_key(|&d| (key(d), d));
        let mut r = vec![0u32; docs.len()];
        for (pos, d) in docs.into_iter().enumerate() {
            if let Some(slot) = r.get_mut(d) {
                *slot = pos as u32;
            }
        }
        r
    };
    let page_of = |d: usize| by_doc.get(d).and_then(|&i| pages.get(i));
    let newest = order_by(&|d| (std::cmp::Reverse(page_of(d).and_then(|p| p.date.clone())), 0));
    let modified =
        order_by(&|d| (std::cmp::Reverse(page_of(d).and_then(|p| p.modified.clone().or_else(|| p.date.clone()))), 0));
    let level = order_by(&|d| (std::cmp::Reverse(None), level_rank(page_of(d).and_then(|p| p.level.as_deref()))));
    out.push(wrap("order", &json!({ "newest": newest, "modified": modified, "level": level })));

    // Indicators shared by several rules, in 16 buckets by the first hex digit of their page name.
    let mut buckets: BTreeMap<char, serde_json::Map<String, Value>> = BTreeMap::new();
    for (key, list) in catalog.indicator_keys() {
        if list.len() < 2 {
            continue;
        }
        let name = crate::links::indicator_file(key);
        let shown = list
            .first()
            .and_then(|&i| catalog.page(i))
            .and_then(|p| p.indicators.iter().find(|i| &i.key == key))
            .map_or_else(|| key.value.clone(), |i| i.value.clone());
        let mut docs: Vec<u32> = list.iter().map(|&i| doc_of(i)).collect();
        docs.sort_unstable();
        let field = if key.field.is_empty() { "(keyword)" } else { key.field.as_str() };
        let entry = json!([field, key.kind.as_str(), shown, key.variant, docs]);
        buckets.entry(name.chars().next().unwrap_or('0')).or_default().insert(name, entry);
    }
    for (b, map) in buckets {
        out.push(wrap(&format!("i/{b}"), &Value::Object(map)));
    }

    // What results show, in chunks of doc numbers.
    let links = Links::static_at(0);
    for (c, chunk) in by_doc.chunks(DOCS_PER_CHUNK).enumerate() {
        let docs: Vec<Value> = chunk
            .iter()
            .filter_map(|&i| pages.get(i))
            .map(|p| {
                let indicators = p.indicators.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(" · ");
                json!({
                    "u": links.rule(&p.key),
                    "t": p.title,
                    "l": p.level,
                    "s": p.status,
                    "ls": p.logsource_label(),
                    "d": p.modified.as_ref().or(p.date.as_ref()),
                    "ta": p.attack.iter().map(|r| [r.shortname.as_str(), r.tactic.as_str()]).collect::<Vec<_>>(),
                    "k": if p.kind == RuleKind::Rule { Value::Null } else { json!(p.kind.as_str()) },
                    "src": p.source,
                    "x": cap(p.description.as_deref().unwrap_or_default(), SNIPPET_SOURCE_CHARS[0]),
                    "v": cap(&indicators, SNIPPET_SOURCE_CHARS[1]),
                    "fp": cap(&p.falsepositives.join(" · "), SNIPPET_SOURCE_CHARS[2]),
                })
            })
            .collect();
        out.push(wrap(&format!("d/{c}"), &Value::Array(docs)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_lists_are_run_length_deltas() {
        assert_eq!(run_length_deltas(&[0, 1, 2, 3, 7]), [0, -3, 4]);
        assert_eq!(run_length_deltas(&[5]), [5]);
        assert_eq!(run_length_deltas(&[2, 3, 9, 10, 11, 20]), [2, -1, 6, -2, 9]);
        assert!(run_length_deltas(&[]).is_empty());
        assert_eq!(cap("a  b\nc", 10), "a b c");
        assert_eq!(cap("abcdef", 3), "abc");
    }
}
