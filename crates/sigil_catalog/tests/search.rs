//! Search quality: relevance, prefixes, typos, exclusions, highlighting; and on SigmaHQ: no machine path is
//! searchable or published, typos find the intended rule, indicator holders rank first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use sigil_catalog::{Catalog, CatalogOptions, SearchQuery, terms_of};

fn rule(title: &str, description: &str, image: &str) -> String {
    format!(
        "title: {title}\ndescription: {description}\nlogsource: {{product: windows, category: process_creation}}\n\
         detection:\n    selection:\n        Image|endswith: '{image}'\n    condition: selection\nlevel: medium\n"
    )
}

fn small() -> Catalog {
    let texts = [
        ("a.yml", rule("Alpha Passing Mention", "Unlike rundll32.exe, this looks at notepad.", r"\notepad.exe")),
        ("b.yml", rule("Bravo Proxy Execution", "Suspicious proxy execution.", r"\rundll32.exe")),
        ("c.yml", rule("Rundll32 Without Arguments", "Odd.", r"\rundll32.exe")),
        ("d.yml", rule("Mimikatz Use", "Detects mimikatz keywords.", r"\mimikatz.exe")),
        ("e.yml", rule("Delta Unrelated", "Nothing to see.", r"\calc.exe")),
    ];
    let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (*n, t.as_str())).collect();
    Catalog::from_texts("t", &refs, &CatalogOptions::default()).unwrap()
}

fn titles(c: &Catalog, q: &str) -> Vec<String> {
    c.search(&SearchQuery::parse(q)).hits.into_iter().map(|h| h.title).collect()
}

#[test]
fn indicator_and_title_holders_rank_above_passing_mentions() {
    let c = small();
    let r = c.search(&SearchQuery::new(r"\rundll32.exe"));
    let t: Vec<&str> = r.hits.iter().map(|h| h.title.as_str()).collect();
    assert_eq!(t, ["Rundll32 Without Arguments", "Bravo Proxy Execution", "Alpha Passing Mention"]);
    assert!(r.hits[0].score > r.hits[1].score && r.hits[1].score > r.hits[2].score, "{:?}", r.hits);
    // The snippet marks the matched words; the title too.
    let marked: Vec<&str> = r.hits[2].snippet.iter().filter(|s| s.mark).map(|s| s.text.as_str()).collect();
    assert_eq!(marked, ["rundll32", "exe"]);
    assert!(r.hits[0].title_marked.iter().any(|s| s.mark && s.text == "Rundll32"));
    assert!(r.suggestion.is_none());
}

#[test]
fn prefixes_typos_quotes_and_exclusions() {
    let c = small();
    // A prefix finds the longer term (the word being typed).
    assert_eq!(titles(&c, "mimik"), ["Mimikatz Use"]);
    // A typo finds the intended rule and says what it was taken for.
    let r = c.search(&SearchQuery::new("mimkatz"));
    assert_eq!(r.hits.iter().map(|h| h.title.as_str()).collect::<Vec<_>>(), ["Mimikatz Use"]);
    assert_eq!(r.suggestion.as_deref(), Some("mimikatz"));
    let r = c.search(&SearchQuery::new("proxy mimkatz"));
    assert_eq!(r.total, 0);
    assert_eq!(r.suggestion.as_deref(), Some("proxy mimikatz"));
    // Quoted words match exactly: no prefix, no typo.
    assert!(titles(&c, "\"mimik\"").is_empty());
    assert!(titles(&c, "\"mimkatz\"").is_empty());
    // Short words get neither typo tolerance nor (under 3 characters) prefixes.
    assert!(titles(&c, "zz").is_empty());
    // Exclusions and facets.
    assert_eq!(titles(&c, "rundll32 -notepad"), ["Rundll32 Without Arguments", "Bravo Proxy Execution"]);
    assert_eq!(titles(&c, "-rundll32 -mimikatz"), ["Delta Unrelated"]);
    assert_eq!(titles(&c, "rundll32 level:high"), Vec::<String>::new());
    // Punctuation alone is no word: every rule, in title order.
    assert_eq!(titles(&c, "--- \\").len(), 5);
    // Ties fall to title order.
    assert_eq!(titles(&c, "windows").first().map(String::as_str), Some("Alpha Passing Mention"));
}

#[test]
fn the_corpus_searches_content_not_machine_paths() {
    if !common::corpus_available("the_corpus_searches_content_not_machine_paths") {
        return;
    }
    let c = common::sigmahq();
    let root = common::shared().join("corpus/sigmahq").canonicalize().unwrap();
    let root_text = root.display().to_string();
    // No page publishes the machine's path; every page's path is relative to its source folder.
    for p in c.pages() {
        let json = serde_json::to_string(p).unwrap();
        assert!(!json.contains(&root_text), "{} publishes {root_text}", p.rel_path);
        assert!(p.rel_path.starts_with("rules"), "{}", p.rel_path);
    }
    // The folders above the rules are not searchable: each word matches only rules that hold it.
    let mut words: Vec<String> = root.components().filter_map(|c| c.as_os_str().to_str()).flat_map(terms_of).collect();
    words.extend(["work", "shared", "corpus", "ring"].map(String::from));
    words.sort();
    words.dedup();
    for w in &words {
        let r = c.search(&SearchQuery::new(w.as_str()).page(0, 0));
        assert!(r.total < c.len() / 4, "'{w}' matches {} of {} rules", r.total, c.len());
        if r.suggestion.is_some() {
            continue;
        }
        for h in &r.hits {
            let p = c.page(h.index).unwrap();
            let text = terms_of(&serde_json::to_string(p).unwrap());
            assert!(text.iter().any(|t| t.starts_with(w.as_str())), "'{w}' matched {} which lacks it", p.rel_path);
        }
    }
    let share = c.search(&SearchQuery::new("admin share").page(0, 0));
    assert!(share.total < 200, "admin share: {}", share.total);
}

#[test]
fn the_corpus_ranks_indicator_holders_first_and_forgives_typos() {
    if !common::corpus_available("the_corpus_ranks_indicator_holders_first_and_forgives_typos") {
        return;
    }
    let c = common::sigmahq();
    let r = c.search(&SearchQuery::new(r"\rundll32.exe").page(0, 10));
    assert!(r.total > 50, "{}", r.total);
    assert!(r.hits.first().unwrap().score > r.hits.last().unwrap().score, "scores differ");
    for h in &r.hits {
        let p = c.page(h.index).unwrap();
        let holds = p.indicators.iter().any(|i| i.value.to_lowercase().contains("rundll32.exe"))
            || p.title.to_lowercase().contains("rundll32");
        assert!(holds, "top result '{}' neither looks for rundll32.exe nor names it", p.title);
    }
    for (typo, want) in [("mimkatz", "mimikatz"), ("meshagnet", "meshagent"), ("powershel", "powershell")] {
        let r = c.search(&SearchQuery::new(typo).page(0, 5));
        let top = &r.hits.first().unwrap_or_else(|| panic!("{typo}: no result")).title;
        assert!(top.to_lowercase().contains(want), "{typo}: top result {top}");
        if typo != "powershel" {
            assert_eq!(r.suggestion.as_deref(), Some(want), "{typo}");
        }
    }
    // Results are ordered by score, ties by title order.
    let r = c.search(&SearchQuery::new("powershell").page(0, 0));
    let order = c.title_order();
    for w in r.hits.windows(2) {
        assert!(
            (w[0].score, std::cmp::Reverse(order[w[0].index])) >= (w[1].score, std::cmp::Reverse(order[w[1].index]))
        );
    }
}
