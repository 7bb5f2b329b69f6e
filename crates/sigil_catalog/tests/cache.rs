//! The catalog cache: a cached catalog equals a fresh one, and any change to an input (edit, touch, new file,
//! deleted file, mapping file) or to the cache file itself (corrupt, truncated, garbage) makes the next load
//! rebuild instead of using it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on bad fixtures

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use sigil_catalog::{CacheOutcome, Catalog, CatalogCache, CatalogOptions, SearchQuery, SourceSpec};

const RULE_A: &str = "title: Shell from MeshAgent
id: 6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162
name: mesh_shell
status: test
tags: [attack.command-and-control, attack.t1219.002, attack.t9999]
related:
  - id: 0e7e1f3c-6b1d-4a8e-8f5e-0a1b2c3d4e5f
    type: similar
logsource: {product: windows, category: process_creation}
detection:
  selection:
    ParentImage|endswith: '\\meshagent.exe'
    Image|endswith: ['\\cmd.exe', '\\powershell.exe']
  filter:
    CommandLine|contains|windash: ' -version'
  condition: selection and not filter
custom_note: {owner: blue, score: 2.5}
level: high
";

const RULE_B: &str = "title: Other shell
id: 0e7e1f3c-6b1d-4a8e-8f5e-0a1b2c3d4e5f
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\cmd.exe'
    CommandLine|re: 'a+b'
  condition: selection
level: low
";

const MULTI: &str = "title: Many logons
id: 3b0a8c6e-1d2f-4e5a-9b8c-7d6e5f4a3b2c
correlation:
  type: event_count
  rules: [mesh_shell]
  group-by: [ComputerName]
  timespan: 5m
  condition: {gte: 10}
---
title: Quiet admins
id: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
filter:
  rules: [mesh_shell]
  selection:
    User: admin
  condition: not selection
logsource: {product: windows, category: process_creation}
";

/// Broken YAML: a failed file, with the parser's diagnostics.
const BROKEN: &str = "title: [unclosed\ndetection: {\n";

/// A rule with a lint warning (duplicate tag), so pages carry diagnostics.
const WARNED: &str = "title: Warned
id: 5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a
tags: [attack.execution, attack.execution]
logsource: {product: windows, service: security}
detection:
  keywords: ['mimikatz']
  condition: keywords
";

struct Corpus {
    dir: tempfile::TempDir,
}

impl Corpus {
    fn new() -> Corpus {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(rules.join("sub")).unwrap();
        for (name, text) in
            [("a.yml", RULE_A), ("sub/b.yml", RULE_B), ("multi.yml", MULTI), ("broken.yml", BROKEN), ("w.yml", WARNED)]
        {
            std::fs::write(rules.join(name), text).unwrap();
        }
        Corpus { dir }
    }

    fn rules(&self) -> PathBuf {
        self.dir.path().join("rules")
    }

    fn cache(&self) -> CatalogCache {
        CatalogCache::new(self.dir.path().join("cache"))
    }

    fn sources(&self) -> Vec<SourceSpec> {
        vec![SourceSpec::new("team", vec![self.rules()])]
    }

    fn cached(&self) -> (Catalog, CacheOutcome) {
        self.cached_with(&self.cache(), &options())
    }

    fn cached_with(&self, cache: &CatalogCache, opts: &CatalogOptions) -> (Catalog, CacheOutcome) {
        Catalog::load_cached(&self.sources(), opts, cache).unwrap()
    }

    fn fresh(&self) -> Catalog {
        Catalog::load(&self.sources(), &options()).unwrap()
    }

    fn cache_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("cache"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "bin"))
            .collect();
        files.sort();
        files
    }
}

fn options() -> CatalogOptions {
    CatalogOptions {
        load: sigil_rule::LoadOptions { linter: Some(sigil_check::LINTER), ..Default::default() },
        ..CatalogOptions::default()
    }
}

/// Everything a user can see of a catalog, as JSON: pages (with their local paths), sources, failed files,
/// statistics, a search and the events side.
fn snapshot(c: &Catalog) -> serde_json::Value {
    let pages: Vec<serde_json::Value> =
        c.pages().iter().map(|p| serde_json::json!({"page": p, "local_path": p.path})).collect();
    serde_json::json!({
        "pages": pages,
        "sources": c.sources(),
        "failed": c.failed_files(),
        "stats": c.stats(),
        "search": c.search(&SearchQuery::new("shell")),
        "events": c.event_pages(None),
    })
}

fn assert_rebuilt(outcome: &CacheOutcome) {
    match outcome {
        CacheOutcome::Rebuilt { write_error: None, .. } => {}
        other => panic!("expected a rebuild that wrote the cache, got {other:?}"),
    }
}

fn titles(c: &Catalog) -> Vec<String> {
    let mut t: Vec<String> = c.pages().iter().map(|p| p.title.clone()).collect();
    t.sort();
    t
}

#[test]
fn a_cached_catalog_equals_a_fresh_one() {
    let corpus = Corpus::new();
    let fresh = snapshot(&corpus.fresh());
    let (first, outcome) = corpus.cached();
    assert_rebuilt(&outcome);
    assert_eq!(snapshot(&first), fresh, "the run that writes the cache");
    let (second, outcome) = corpus.cached();
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(snapshot(&second), fresh, "the run that reads it");
    // The corpus has what could go wrong in a round trip: a failed file, diagnostics, a correlation and a
    // filter linked by name, custom attributes with a float, a windash indicator.
    assert_eq!(second.failed_files().len(), 1);
    assert!(second.pages().iter().any(|p| !p.diagnostics.is_empty()));
    assert!(second.pages().iter().any(|p| p.correlation.is_some()));
    assert!(second.pages().iter().any(|p| !p.filtered_by.is_empty()));
    assert_eq!(corpus.cache_files().len(), 1);
}

#[test]
fn edits_touches_new_and_deleted_files_rebuild() {
    let corpus = Corpus::new();
    let rules = corpus.rules();
    assert_rebuilt(&corpus.cached().1);
    assert_eq!(corpus.cached().1, CacheOutcome::Hit);

    // An edit (same size: only the modification time tells).
    let edited = RULE_B.replace("Other shell", "Other SHELL");
    std::fs::write(rules.join("sub/b.yml"), &edited).unwrap();
    let (c, outcome) = corpus.cached();
    assert_rebuilt(&outcome);
    assert!(titles(&c).contains(&"Other SHELL".to_string()));
    assert_eq!(snapshot(&c), snapshot(&corpus.fresh()));
    assert_eq!(corpus.cached().1, CacheOutcome::Hit);

    // A touch with the same content.
    let file = std::fs::File::options().write(true).open(rules.join("a.yml")).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    drop(file);
    assert_rebuilt(&corpus.cached().1);
    assert_eq!(corpus.cached().1, CacheOutcome::Hit);

    // A new file, in a new folder.
    std::fs::create_dir_all(rules.join("new")).unwrap();
    std::fs::write(rules.join("new/c.yml"), RULE_B.replace("0e7e1f3c", "1e7e1f3c").replace("Other", "Third")).unwrap();
    let (c, outcome) = corpus.cached();
    assert_rebuilt(&outcome);
    assert!(titles(&c).contains(&"Third shell".to_string()));
    assert_eq!(corpus.cached().1, CacheOutcome::Hit);

    // A deleted file.
    std::fs::remove_file(rules.join("a.yml")).unwrap();
    let (c, outcome) = corpus.cached();
    assert_rebuilt(&outcome);
    assert!(!titles(&c).contains(&"Shell from MeshAgent".to_string()));
    assert_eq!(snapshot(&c), snapshot(&corpus.fresh()));
    // One file per set of sources and options: rewritten in place, no temporary file left behind.
    assert_eq!(std::fs::read_dir(corpus.dir.path().join("cache")).unwrap().count(), 1);
}

#[test]
fn corrupt_truncated_and_foreign_cache_files_are_ignored() {
    let corpus = Corpus::new();
    let fresh = snapshot(&corpus.fresh());
    assert_rebuilt(&corpus.cached().1);
    let [file] = corpus.cache_files().try_into().unwrap();
    let good = std::fs::read(&file).unwrap();

    let mut damaged: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", b"not a cache file at all".to_vec()),
        ("magic only", good.get(..16).unwrap().to_vec()),
        ("truncated", good.get(..good.len() - 100).unwrap().to_vec()),
        ("one byte short", good.get(..good.len() - 1).unwrap().to_vec()),
        ("trailing bytes", [good.as_slice(), b"x"].concat()),
    ];
    for at in [good.len() / 3, good.len() / 2, good.len() - 20] {
        let mut flipped = good.clone();
        *flipped.get_mut(at).unwrap() ^= 0x55;
        damaged.push(("flipped byte", flipped));
    }
    for (what, bytes) in damaged {
        std::fs::write(&file, &bytes).unwrap();
        let (c, outcome) = corpus.cached();
        assert!(matches!(outcome, CacheOutcome::Rebuilt { .. }), "{what}: {outcome:?}");
        assert_eq!(snapshot(&c), fresh, "{what}");
        assert_eq!(std::fs::read(&file).unwrap(), good, "{what}: the rewritten file is the good one");
        assert_eq!(corpus.cached().1, CacheOutcome::Hit, "{what}: the rebuilt file is used");
    }
}

#[test]
fn mapping_files_and_options_are_part_of_the_key() {
    let corpus = Corpus::new();
    let mapping = corpus.dir.path().join("mapping.toml");
    std::fs::write(&mapping, "# no routes\n").unwrap();
    let cache = corpus.cache().with_inputs([mapping.clone()]);
    assert_rebuilt(&corpus.cached_with(&cache, &options()).1);
    assert_eq!(corpus.cached_with(&cache, &options()).1, CacheOutcome::Hit);
    std::fs::write(&mapping, "# no routes, longer\n").unwrap();
    assert_rebuilt(&corpus.cached_with(&cache, &options()).1);
    // Other options (no linter: fewer diagnostics) are another file, not a stale hit.
    let (c, outcome) = corpus.cached_with(&cache, &CatalogOptions::default());
    assert_rebuilt(&outcome);
    assert_eq!(snapshot(&c), snapshot(&Catalog::load(&corpus.sources(), &CatalogOptions::default()).unwrap()));
    assert_eq!(corpus.cache_files().len(), 2);
}

#[test]
fn an_unwritable_cache_folder_is_not_an_error() {
    let corpus = Corpus::new();
    let blocker = corpus.dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let (c, outcome) = corpus.cached_with(&CatalogCache::new(blocker.join("cache")), &options());
    assert!(matches!(outcome, CacheOutcome::Rebuilt { write_error: Some(_), .. }), "{outcome:?}");
    assert_eq!(snapshot(&c), snapshot(&corpus.fresh()));
}

#[test]
fn sigmahq_cached_equals_fresh() {
    if !common::corpus_available("sigmahq_cached_equals_fresh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = CatalogCache::new(dir.path());
    let sources = common::sigmahq_sources();
    let opts = options();
    let fresh = snapshot(&Catalog::load(&sources, &opts).unwrap());
    let (_, outcome) = Catalog::load_cached(&sources, &opts, &cache).unwrap();
    assert_rebuilt(&outcome);
    let (cached, outcome) = Catalog::load_cached(&sources, &opts, &cache).unwrap();
    assert_eq!(outcome, CacheOutcome::Hit);
    assert_eq!(snapshot(&cached), fresh);
}
