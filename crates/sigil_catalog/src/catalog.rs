//! The [`Catalog`]: every page of a corpus, its indexes, corpus counts and statistics.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;
use sigil_diagnostics::FileDiagnostic;
use sigil_knowledge::Knowledge;
use sigil_rule::{LoadOptions, RuleFile, RuleSet};

use crate::build;
use crate::error::Result;
use crate::events::EventUsage;
use crate::fasthash::FastMap;
use crate::indicator::IndicatorKey;
use crate::page::{EventRef, Regression, RuleKind, RuleLink, RulePage, SourceCounts};
use crate::search::SearchDoc;
use crate::source::SourceSpec;
use crate::stats::CorpusStats;
use crate::text::TextIndex;

/// How to build a catalog.
#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    /// File size and YAML limits, and the linter whose diagnostics pages show (`sigil_check::LINTER` in the
    /// CLI; none by default, leaving the parser's).
    pub load: LoadOptions,
    /// Knowledge tables to use (for example with a user mapping file); `None` uses the built-in ones.
    pub knowledge: Option<Knowledge>,
    /// Folders with regression samples (SigmaHQ's `regression_data`): a file named after a rule id marks that
    /// rule as having a regression test.
    pub regression_data: Vec<PathBuf>,
}

/// A rule source as loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceInfo {
    /// The source name.
    pub name: String,
    /// Its paths, as given.
    pub paths: Vec<String>,
    /// Rule files found.
    pub files: usize,
    /// Pages (documents) built.
    pub pages: usize,
    /// Files that produced no page because of errors.
    pub failed_files: usize,
}

/// A file that produced no page, with the checker's diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FailedFile {
    /// Source name.
    pub source: String,
    /// The file, as shown to users.
    pub path: String,
    /// Why it failed.
    pub diagnostics: Vec<FileDiagnostic>,
}

/// What a rule reference (id, title, path, ...) resolved to, see [`Catalog::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The page key.
    Key,
    /// The rule id.
    Id,
    /// The file path (whole, or its trailing components).
    Path,
    /// The file name or stem.
    FileName,
    /// The title (ASCII case-insensitive).
    Title,
    /// The `name` attribute.
    Name,
    /// Part of the title.
    TitleWords,
}

/// Indexes over the pages (page indices into [`Catalog::pages`]).
///
/// The maps use the fast hasher: every list is in page order and nothing reads a map in its iteration order
/// (with the standard hasher that order changed from run to run anyway).
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) by_key: FastMap<String, usize>,
    pub(crate) by_id: FastMap<String, Vec<usize>>,
    pub(crate) by_name: FastMap<String, Vec<usize>>,
    pub(crate) by_stem: FastMap<String, Vec<usize>>,
    pub(crate) by_technique: FastMap<String, Vec<usize>>,
    pub(crate) by_tactic: FastMap<String, Vec<usize>>,
    pub(crate) by_indicator: FastMap<IndicatorKey, Vec<usize>>,
    pub(crate) by_event: FastMap<(String, u32), Vec<usize>>,
}

/// A loaded rule catalog: every page of a corpus with its indexes, corpus counts and statistics.
///
/// Invariants: page keys are unique; every index lists page indices in ascending order without duplicates;
/// [`crate::Indicator::corpus_count`] is the number of *other* pages with the same [`IndicatorKey`]. A catalog is
/// immutable once built, and `Send + Sync`, so a server can share it behind an `Arc`.
#[derive(Debug)]
pub struct Catalog {
    pub(crate) pages: Vec<RulePage>,
    pub(crate) sources: Vec<SourceInfo>,
    pub(crate) failed: Vec<FailedFile>,
    pub(crate) knowledge: Knowledge,
    pub(crate) index: Index,
    /// What only some commands need, computed from the pages on first use (so `sigil show` does not build the
    /// search index, for example): the same values a build that computed them up front would give.
    pub(crate) derived: Derived,
    pub(crate) load_time: Duration,
    /// Every indicator key with its rule count, most shared first (built on first use).
    pub(crate) by_use: OnceLock<Vec<(IndicatorKey, usize)>>,
}

/// The parts of a [`Catalog`] computed on first use. Each is a pure function of the pages, the indexes and the
/// knowledge tables, which never change once the catalog is assembled.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    /// Search documents (facet values, lower-case titles) and the title order built from them.
    search: OnceLock<(Vec<SearchDoc>, Vec<u32>)>,
    text_index: OnceLock<TextIndex>,
    event_usage: OnceLock<HashMap<(String, u32), EventUsage>>,
    stats: OnceLock<CorpusStats>,
}

impl Catalog {
    /// Loads every source (in parallel, through `sigil_rule::load`, the loader the checker and the engine use; the
    /// options' linter decides which checks' diagnostics pages carry)
    /// and builds the catalog.
    ///
    /// # Errors
    /// [`crate::Error::Knowledge`] if the built-in knowledge tables cannot be loaded.
    pub fn load(sources: &[SourceSpec], opts: &CatalogOptions) -> Result<Catalog> {
        let started = Instant::now();
        let knowledge = match &opts.knowledge {
            Some(k) => k.clone(),
            None => Knowledge::builtin()?.clone(),
        };
        let (built, set) = Catalog::build_pages(sources, opts, &knowledge);
        let mut catalog = Catalog::assemble(built, opts, knowledge);
        catalog.load_time = started.elapsed();
        // Freeing the parsed rule set (hundreds of thousands of small allocations) takes tens of milliseconds
        // and nothing waits for it: do it off the caller's path. If no thread can be started, the set is
        // dropped here with the unstarted closure.
        let _ = std::thread::Builder::new().name("sigil-catalog-free".into()).spawn(move || drop(set));
        Ok(catalog)
    }

    /// Reads every source and builds its pages: the per-document part of [`Catalog::load`], and the rule set
    /// it came from (to be freed by the caller).
    pub(crate) fn build_pages(
        sources: &[SourceSpec],
        opts: &CatalogOptions,
        knowledge: &Knowledge,
    ) -> (Built, RuleSet) {
        let families: Vec<sigil_families::Family> = sources.iter().map(crate::family::family_of).collect();
        let paths: Vec<PathBuf> = sources
            .iter()
            .zip(&families)
            .filter(|(_, f)| **f == sigil_families::Family::Sigma)
            .flat_map(|(s, _)| s.paths.iter().cloned())
            .collect();
        // Sigma sources through sigil_rule, the others through sigil_families, at the same time.
        let (set, foreign) = rayon::join(
            || sigil_rule::load(&paths, &opts.load),
            || {
                sources
                    .par_iter()
                    .zip(&families)
                    .filter(|(_, f)| **f != sigil_families::Family::Sigma)
                    .map(|(s, f)| crate::family::load(s, *f, knowledge))
                    .collect::<Vec<_>>()
            },
        );
        (Built::new(&set, sources, knowledge, foreign), set)
    }

    /// Builds a catalog of one source from texts in memory (bundled examples, tests): `(file name, YAML)`.
    ///
    /// # Errors
    /// As [`Catalog::load`].
    pub fn from_texts(source: &str, texts: &[(&str, &str)], opts: &CatalogOptions) -> Result<Catalog> {
        let started = Instant::now();
        let set = sigil_rule::load_texts(texts, &opts.load);
        let spec = SourceSpec::new(source, texts.iter().map(|(n, _)| PathBuf::from(n)).collect());
        let mut catalog = Catalog::from_rule_set(&set, &[spec], opts)?;
        catalog.load_time = started.elapsed();
        Ok(catalog)
    }

    /// Builds a catalog from a loaded rule set. Each file belongs to the first source with a path that is the
    /// file or a folder holding it; files outside every source go to the first source.
    ///
    /// # Errors
    /// As [`Catalog::load`].
    pub fn from_rule_set(set: &RuleSet, sources: &[SourceSpec], opts: &CatalogOptions) -> Result<Catalog> {
        Catalog::build(set, sources, opts, Vec::new())
    }

    /// [`Catalog::from_rule_set`] plus the pages of non-Sigma sources.
    fn build(
        set: &RuleSet,
        sources: &[SourceSpec],
        opts: &CatalogOptions,
        foreign: Vec<crate::family::Foreign>,
    ) -> Result<Catalog> {
        let started = Instant::now();
        let knowledge = match &opts.knowledge {
            Some(k) => k.clone(),
            None => Knowledge::builtin()?.clone(),
        };
        let built = Built::new(set, sources, &knowledge, foreign);
        let mut catalog = Catalog::assemble(built, opts, knowledge);
        catalog.load_time = started.elapsed();
        Ok(catalog)
    }

    /// Everything after the per-document work: keys, links between pages, regression samples, corpus counts,
    /// indexes, statistics and search. The same for a fresh build and one read from the cache.
    pub(crate) fn assemble(built: Built, opts: &CatalogOptions, knowledge: Knowledge) -> Catalog {
        let started = Instant::now();
        let Built { mut pages, sources: infos, failed } = built;
        assign_keys(&mut pages);
        let mut index = Index::default();
        for (i, p) in pages.iter().enumerate() {
            index.by_key.insert(p.key.clone(), i);
            if let Some(id) = &p.id {
                index.by_id.entry(id.to_ascii_lowercase()).or_default().push(i);
            }
            if let Some(name) = &p.name {
                index.by_name.entry(name.clone()).or_default().push(i);
            }
            index.by_stem.entry(p.file_stem.to_ascii_lowercase()).or_default().push(i);
        }
        link_related(&mut pages, &index);
        link_correlations(&mut pages, &index);
        link_filters(&mut pages, &index);
        attach_regression_samples(&mut pages, &opts.regression_data);
        let source_names: Vec<String> = infos.iter().map(|i| i.name.clone()).collect();
        count_indicators(&mut pages, &mut index, &source_names);
        index_attack_and_events(&pages, &mut index);
        Catalog {
            pages,
            sources: infos,
            failed,
            knowledge,
            index,
            derived: Derived::default(),
            load_time: started.elapsed(),
            by_use: OnceLock::new(),
        }
    }

    /// Computes every part that is otherwise built on first use, in parallel: for a long-running server, so
    /// that no request waits for them (the static export uses most of them too).
    pub fn prepare(&self) {
        rayon::join(
            || rayon::join(|| self.stats(), || self.text_index()),
            || rayon::join(|| self.event_usage(), || self.search_docs()),
        );
    }

    /// Search documents, one per page.
    pub(crate) fn search_docs(&self) -> &[SearchDoc] {
        &self.search_parts().0
    }

    fn search_parts(&self) -> &(Vec<SearchDoc>, Vec<u32>) {
        self.derived.search.get_or_init(|| {
            let docs: Vec<SearchDoc> = self.pages.par_iter().map(|p| SearchDoc::new(p, &self.knowledge)).collect();
            let order = crate::search::title_order(&docs);
            (docs, order)
        })
    }

    /// The full-text index (the static export writes its postings).
    pub fn text_index(&self) -> &TextIndex {
        self.derived.text_index.get_or_init(|| TextIndex::build(&self.pages))
    }

    /// For each page index, its rank in title order: the tie-break of every result order.
    pub fn title_order(&self) -> &[u32] {
        &self.search_parts().1
    }

    /// Per described event (full provider name, id): the rules that can fire on it and the fields they read.
    pub(crate) fn event_usage(&self) -> &HashMap<(String, u32), EventUsage> {
        self.derived.event_usage.get_or_init(|| crate::events::usage(&self.pages))
    }

    /// Every page, in load order (sources in the order given, files sorted by path, documents in file order).
    pub fn pages(&self) -> &[RulePage] {
        &self.pages
    }

    /// One page by index.
    pub fn page(&self, index: usize) -> Option<&RulePage> {
        self.pages.get(index)
    }

    /// Number of pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether the catalog has no page.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// The sources, in the order given.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.sources
    }

    /// Files that produced no page, with their diagnostics.
    pub fn failed_files(&self) -> &[FailedFile] {
        &self.failed
    }

    /// The knowledge tables the catalog was built with.
    pub fn knowledge(&self) -> &Knowledge {
        &self.knowledge
    }

    /// Corpus-wide statistics.
    pub fn stats(&self) -> &CorpusStats {
        self.derived.stats.get_or_init(|| {
            CorpusStats::compute(&self.pages, &self.index, &self.sources, self.failed.len(), &self.knowledge)
        })
    }

    /// How long loading (for [`Catalog::load`]: reading, parsing, enriching and counting) took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// A page by its unique key.
    pub fn by_key(&self, key: &str) -> Option<&RulePage> {
        self.index.by_key.get(key).and_then(|&i| self.pages.get(i))
    }

    /// Index of the page with this key.
    pub fn index_of_key(&self, key: &str) -> Option<usize> {
        self.index.by_key.get(key).copied()
    }

    /// Pages with this rule id (ASCII case-insensitive); several when sources share ids.
    pub fn by_id(&self, id: &str) -> Vec<&RulePage> {
        self.indices(self.index.by_id.get(&id.to_ascii_lowercase()))
    }

    /// Pages whose file stem is `stem` (ASCII case-insensitive); several for multi-document files.
    pub fn by_file_stem(&self, stem: &str) -> Vec<&RulePage> {
        self.indices(self.index.by_stem.get(&stem.to_ascii_lowercase()))
    }

    /// Pages tagged with a technique (`T1219.002`, any case); a parent id also finds its sub-techniques.
    pub fn by_technique(&self, id: &str) -> Vec<&RulePage> {
        self.indices(self.index.by_technique.get(&id.to_ascii_uppercase()))
    }

    /// Pages with a row for a tactic (any spelling the ATT&CK tables accept: `command-and-control`, `TA0011`).
    pub fn by_tactic(&self, tactic: &str) -> Vec<&RulePage> {
        let Some(t) = self.knowledge.attack().tactic(tactic) else { return Vec::new() };
        self.indices(self.index.by_tactic.get(t.shortname))
    }

    /// Pages with an indicator of this key.
    pub fn by_indicator(&self, key: &IndicatorKey) -> Vec<&RulePage> {
        self.indices(self.index.by_indicator.get(key))
    }

    /// Pages that can fire on an event (provider by full or display name).
    pub fn by_event(&self, provider: &str, event_id: u32) -> Vec<&RulePage> {
        let Some(schema) = self.knowledge.event(provider, event_id) else { return Vec::new() };
        self.indices(self.index.by_event.get(&(schema.provider.to_string(), event_id)))
    }

    /// Every distinct indicator key with the pages using it.
    pub fn indicator_keys(&self) -> impl Iterator<Item = (&IndicatorKey, &[usize])> {
        self.index.by_indicator.iter().map(|(k, v)| (k, v.as_slice()))
    }

    fn indices(&self, list: Option<&Vec<usize>>) -> Vec<&RulePage> {
        list.map(|l| l.iter().filter_map(|&i| self.pages.get(i)).collect()).unwrap_or_default()
    }

    /// Finds the pages a user means by `query`: a rule id (every page with it), a page key, a file path (whole or trailing
    /// components), a file name or stem, a title or `name` (ASCII case-insensitive), or, failing all those,
    /// every page whose title contains all the query's words. The first kind that matches wins; several pages
    /// can match (an id shared by two sources, a multi-document file).
    pub fn resolve(&self, query: &str) -> (Vec<usize>, Option<MatchedBy>) {
        let q = query.trim();
        if q.is_empty() {
            return (Vec::new(), None);
        }
        if let Some(list) = self.index.by_id.get(&q.to_ascii_lowercase()) {
            return (list.clone(), Some(MatchedBy::Id));
        }
        if let Some(&i) = self.index.by_key.get(q) {
            return (vec![i], Some(MatchedBy::Key));
        }
        let norm = |p: &str| p.replace('\\', "/");
        let qp = norm(q);
        let qp = qp.trim_start_matches("./");
        let by_path: Vec<usize> = (0..self.pages.len())
            .filter(|&i| {
                self.pages.get(i).is_some_and(|p| {
                    let path = norm(&p.path);
                    path == qp || path.ends_with(&format!("/{qp}")) || path.ends_with(&format!(":{qp}"))
                })
            })
            .collect();
        if !by_path.is_empty() {
            return (by_path, Some(MatchedBy::Path));
        }
        let stem = Path::new(q).file_stem().map(|s| s.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if let Some(list) = self.index.by_stem.get(&stem)
            && Path::new(q).components().count() == 1
        {
            return (list.clone(), Some(MatchedBy::FileName));
        }
        let titled: Vec<usize> = (0..self.pages.len())
            .filter(|&i| self.pages.get(i).is_some_and(|p| p.title.trim().eq_ignore_ascii_case(q)))
            .collect();
        if !titled.is_empty() {
            return (titled, Some(MatchedBy::Title));
        }
        if let Some(list) = self.index.by_name.get(q) {
            return (list.clone(), Some(MatchedBy::Name));
        }
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        let partial: Vec<usize> = (0..self.pages.len())
            .filter(|&i| {
                self.search_docs().get(i).is_some_and(|d| words.iter().all(|w| d.title_lc.contains(w.as_str())))
            })
            .collect();
        if partial.is_empty() { (Vec::new(), None) } else { (partial, Some(MatchedBy::TitleWords)) }
    }
}

/// The per-document part of a catalog: pages built from their documents alone (paths relative to their
/// source, no keys, links or corpus counts yet), the sources and the files that gave no page. This is what the
/// cache ([`crate::cache`]) keeps: everything after it is computed the same way for a fresh and a cached load.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(crate) struct Built {
    pub(crate) pages: Vec<RulePage>,
    pub(crate) sources: Vec<SourceInfo>,
    pub(crate) failed: Vec<FailedFile>,
}

impl Built {
    /// Builds the pages of a loaded rule set and of the non-Sigma sources.
    pub(crate) fn new(
        set: &RuleSet,
        sources: &[SourceSpec],
        knowledge: &Knowledge,
        foreign: Vec<crate::family::Foreign>,
    ) -> Built {
        let default_source = sources.first().map_or_else(|| "rules".to_string(), |s| s.name.clone());
        let foreign_names: Vec<String> = foreign.iter().map(|f| f.name.clone()).collect();
        let source_of = |f: &RuleFile| -> String {
            sources
                .iter()
                .filter(|s| !foreign_names.contains(&s.name))
                .find(|s| s.paths.iter().any(|p| f.path == *p || f.path.starts_with(p)))
                .map_or_else(|| default_source.clone(), |s| s.name.clone())
        };
        let file_sources: Vec<String> = set.files.iter().map(source_of).collect();

        let jobs: Vec<(usize, usize)> = set
            .files
            .iter()
            .enumerate()
            .flat_map(|(fi, f)| (0..f.parsed.documents.len()).map(move |di| (fi, di)))
            .collect();
        let all_tags: Vec<String> =
            set.documents().flat_map(|(_, d)| d.meta().tags.iter().map(sigil_rule::Tag::full)).collect();
        let tags = crate::attack::TagCache::new(all_tags.iter().map(String::as_str), knowledge.attack());
        let mut pages: Vec<RulePage> = jobs
            .par_iter()
            .filter_map(|&(fi, di)| {
                let file = set.files.get(fi)?;
                build::page(file, di, file_sources.get(fi).map_or("", String::as_str), knowledge, &tags)
            })
            .collect();

        let mut failed = Vec::new();
        let mut infos: Vec<SourceInfo> = sources
            .iter()
            .map(|s| SourceInfo {
                name: s.name.clone(),
                paths: s.paths.iter().map(|p| p.display().to_string()).collect(),
                files: 0,
                pages: 0,
                failed_files: 0,
            })
            .collect();
        if infos.is_empty() {
            infos.push(SourceInfo { name: default_source.clone(), paths: vec![], files: 0, pages: 0, failed_files: 0 });
        }
        for (file, source) in set.files.iter().zip(&file_sources) {
            let Some(info) = infos.iter_mut().find(|i| i.name == *source) else { continue };
            info.files += 1;
            info.pages += file.parsed.documents.len();
            if file.parsed.documents.is_empty() {
                info.failed_files += 1;
                let diagnostics =
                    file.diagnostics().map(|d| FileDiagnostic::new(file.display_path.clone(), d.clone())).collect();
                failed.push(FailedFile { source: source.clone(), path: file.display_path.clone(), diagnostics });
            }
        }

        for f in foreign {
            if let Some(info) = infos.iter_mut().find(|i| i.name == f.name) {
                info.files += f.files;
                info.pages += f.pages.len();
                info.failed_files += f.failed.len();
            }
            pages.extend(f.pages);
            failed.extend(f.failed);
        }
        for p in &mut pages {
            let roots = sources.iter().find(|s| s.name == p.source).map_or(&[][..], |s| s.paths.as_slice());
            p.rel_path = relative_path(&p.path, roots);
            for d in &mut p.diagnostics {
                d.file.clone_from(&p.rel_path);
            }
        }
        Built { pages, sources: infos, failed }
    }
}

fn index_attack_and_events(pages: &[RulePage], index: &mut Index) {
    for (i, p) in pages.iter().enumerate() {
        for t in &p.techniques {
            let parent = t.split_once('.').map(|(parent, _)| parent);
            for id in std::iter::once(t.as_str()).chain(parent) {
                let list = index.by_technique.entry(id.to_string()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        for t in &p.tactics {
            index.by_tactic.entry(t.clone()).or_default().push(i);
        }
        for e in &p.events {
            index.by_event.entry((e.provider_name.clone(), e.event_id)).or_default().push(i);
        }
    }
}

/// Keys: the id when no earlier page has it; otherwise `<id>-<source>`, or for pages without id the file stem
/// (then `-<source>`, then `-2`, `-3`, ...). Keys are made URL-safe.
fn assign_keys(pages: &mut [RulePage]) {
    let mut taken: FastMap<String, ()> = FastMap::default();
    taken.reserve(pages.len());
    for p in pages.iter_mut() {
        let base = p.id.as_deref().map_or_else(|| slug(&p.file_stem), slug);
        let mut candidates = vec![base.clone(), format!("{base}-{}", slug(&p.source))];
        if p.id.is_none() && p.document > 0 {
            candidates.insert(0, format!("{base}-{}", p.document + 1));
        }
        let key = candidates.into_iter().find(|c| !taken.contains_key(c)).unwrap_or_else(|| {
            (2..).map(|n| format!("{base}-{n}")).find(|c| !taken.contains_key(c)).unwrap_or_default()
        });
        taken.insert(key.clone(), ());
        p.key = key;
    }
}

fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "rule".to_string() } else { out }
}

/// Finds a referenced rule (by id, then by `name`), preferring the referring page's source.
fn find_ref(index: &Index, pages: &[RulePage], reference: &str, source: &str) -> Option<usize> {
    let list = index.by_id.get(&reference.to_ascii_lowercase()).or_else(|| index.by_name.get(reference))?;
    list.iter().copied().find(|&i| pages.get(i).is_some_and(|p| p.source == source)).or_else(|| list.first().copied())
}

fn link_to(pages: &[RulePage], i: usize, reference: &str) -> RuleLink {
    let page = pages.get(i);
    RuleLink {
        reference: reference.to_string(),
        key: page.map(|p| p.key.clone()),
        title: page.map(|p| p.title.clone()),
    }
}

fn link_related(pages: &mut [RulePage], index: &Index) {
    let resolved: Vec<Vec<(Option<String>, Option<String>)>> = pages
        .iter()
        .map(|p| {
            p.related
                .iter()
                .map(|r| {
                    let target = find_ref(index, pages, &r.id, &p.source).and_then(|i| pages.get(i));
                    (target.map(|t| t.title.clone()), target.map(|t| t.key.clone()))
                })
                .collect()
        })
        .collect();
    for (p, links) in pages.iter_mut().zip(resolved) {
        for (r, (title, key)) in p.related.iter_mut().zip(links) {
            r.title = title;
            r.key = key;
        }
    }
}

fn link_correlations(pages: &mut [RulePage], index: &Index) {
    let mut back: Vec<(usize, RuleLink)> = Vec::new();
    let mut updates: Vec<(usize, Vec<RuleLink>, Vec<EventRef>)> = Vec::new();
    for (ci, p) in pages.iter().enumerate() {
        let Some(c) = &p.correlation else { continue };
        let mut links = Vec::new();
        let mut events: Vec<EventRef> = Vec::new();
        for r in &c.rules {
            match find_ref(index, pages, &r.reference, &p.source) {
                Some(ti) => {
                    links.push(link_to(pages, ti, &r.reference));
                    back.push((ti, link_to(pages, ci, p.id.as_deref().unwrap_or(&p.key))));
                    for e in pages.get(ti).map(|t| t.events.as_slice()).unwrap_or_default() {
                        if !events.iter().any(|x| x.provider_name == e.provider_name && x.event_id == e.event_id) {
                            events.push(e.clone());
                        }
                    }
                }
                None => links.push(r.clone()),
            }
        }
        updates.push((ci, links, events));
    }
    for (ci, links, events) in updates {
        if let Some(p) = pages.get_mut(ci) {
            if let Some(c) = p.correlation.as_mut() {
                c.rules = links;
            }
            if p.events.is_empty() {
                p.events = events;
            }
        }
    }
    for (ti, link) in back {
        if let Some(t) = pages.get_mut(ti)
            && !t.correlated_by.contains(&link)
        {
            t.correlated_by.push(link);
        }
    }
}

/// A filter's logsource contains a rule's when each part the filter sets is the rule's (ASCII
/// case-insensitive); fewer parts is broader.
fn logsource_contains(filter: &RulePage, rule: &RulePage) -> bool {
    let part = |f: &Option<String>, r: &Option<String>| match f {
        None => true,
        Some(f) => r.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(f)),
    };
    let (f, r) = (&filter.logsource, &rule.logsource);
    part(&f.product, &r.product) && part(&f.category, &r.category) && part(&f.service, &r.service)
}

fn link_filters(pages: &mut [RulePage], index: &Index) {
    let mut back: Vec<(usize, RuleLink)> = Vec::new();
    let mut updates: Vec<(usize, Vec<RuleLink>, Vec<RuleLink>)> = Vec::new();
    for (fi, p) in pages.iter().enumerate() {
        let Some(f) = &p.filter else { continue };
        let mut named = Vec::new();
        let mut targets: Vec<usize> = Vec::new();
        if f.any {
            targets = (0..pages.len())
                .filter(|&i| pages.get(i).is_some_and(|r| r.kind == RuleKind::Rule && logsource_contains(p, r)))
                .collect();
        } else {
            for r in &f.rules {
                match find_ref(index, pages, &r.reference, &p.source) {
                    Some(ti) => {
                        named.push(link_to(pages, ti, &r.reference));
                        targets.push(ti);
                    }
                    None => named.push(r.clone()),
                }
            }
        }
        let applies: Vec<RuleLink> = targets
            .iter()
            .map(|&ti| link_to(pages, ti, pages.get(ti).and_then(|t| t.id.as_deref()).unwrap_or_default()))
            .collect();
        let self_link = link_to(pages, fi, p.id.as_deref().unwrap_or(&p.key));
        back.extend(targets.into_iter().map(|ti| (ti, self_link.clone())));
        updates.push((fi, named, applies));
    }
    for (fi, named, applies) in updates {
        if let Some(f) = pages.get_mut(fi).and_then(|p| p.filter.as_mut()) {
            f.rules = named;
            f.applies_to = applies;
        }
    }
    for (ti, link) in back {
        if let Some(t) = pages.get_mut(ti)
            && !t.filtered_by.contains(&link)
        {
            t.filtered_by.push(link);
        }
    }
}

/// A file's path as published: relative to the source root holding it, starting with that root's own name
/// (`rules/windows/x.yml` for a file below `…/sigma/rules`), `/`-separated. A file given directly is its file
/// name; a path under no root keeps only its file name if absolute (a machine's paths are never published)
/// and stays as it is if relative (in-memory sources name their files).
pub(crate) fn relative_path(path: &str, roots: &[PathBuf]) -> String {
    let file = Path::new(path);
    for root in roots {
        if file == root.as_path() {
            return file.file_name().map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
        }
        if let Ok(rest) = file.strip_prefix(root) {
            let rest: Vec<String> = rest.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let top = root
                .components()
                .next_back()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            return top.into_iter().chain(rest).collect::<Vec<_>>().join("/");
        }
    }
    if file.is_absolute() || path.starts_with('\\') || path.get(1..3) == Some(":\\") {
        return path.rsplit(['/', '\\']).next().unwrap_or(path).to_string();
    }
    path.replace('\\', "/").trim_start_matches("./").to_string()
}

/// Marks pages whose id names a file in a regression data folder (SigmaHQ names samples `<rule id>.evtx`).
fn attach_regression_samples(pages: &mut [RulePage], dirs: &[PathBuf]) {
    if dirs.is_empty() {
        return;
    }
    let mut samples: HashMap<String, Vec<String>> = HashMap::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name().into_iter().filter_map(|e| e.ok()) {
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(stem) = entry.path().file_stem().and_then(|s| s.to_str()) else { continue };
            if sigil_rule::is_uuid(stem) {
                // Published on pages: the path below the data folder's parent, never the machine's path.
                let shown = relative_path(&entry.path().display().to_string(), std::slice::from_ref(dir));
                samples.entry(stem.to_ascii_lowercase()).or_default().push(shown);
            }
        }
    }
    for p in pages.iter_mut() {
        let Some(found) = p.id.as_ref().and_then(|id| samples.get(&id.to_ascii_lowercase())) else { continue };
        match p.regression.as_mut() {
            Some(r) => r.samples = found.clone(),
            None => p.regression = Some(Regression { path: None, samples: found.clone() }),
        }
    }
}

/// Corpus counts: for each indicator, the other pages with the same key, in total and per source.
///
/// Each distinct key gets a number on first sight, so the counting itself is array indexing; keys are cloned
/// once each, into the index.
fn count_indicators(pages: &mut [RulePage], index: &mut Index, sources: &[String]) {
    let width = sources.len().max(1);
    let source_index: HashMap<&str, usize> = sources.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let page_source: Vec<usize> =
        pages.iter().map(|p| source_index.get(p.source.as_str()).copied().unwrap_or(0)).collect();
    // Sized for every indicator being distinct, so that the map never grows (rehashing every key) while filling.
    let total: usize = pages.iter().map(|p| p.indicators.len()).sum();
    let mut ids: FastMap<&IndicatorKey, usize> = FastMap::with_capacity_and_hasher(total, Default::default());
    let mut keys: Vec<&IndicatorKey> = Vec::with_capacity(total);
    let mut rules: Vec<Vec<usize>> = Vec::with_capacity(total);
    let mut page_keys: Vec<Vec<usize>> = Vec::with_capacity(pages.len());
    for (i, p) in pages.iter().enumerate() {
        let mut mine = Vec::with_capacity(p.indicators.len());
        for ind in &p.indicators {
            let id = *ids.entry(&ind.key).or_insert_with(|| {
                keys.push(&ind.key);
                rules.push(Vec::new());
                keys.len() - 1
            });
            if let Some(list) = rules.get_mut(id)
                && list.last() != Some(&i)
            {
                list.push(i);
            }
            mine.push(id);
        }
        page_keys.push(mine);
    }
    // per_source[id * width + s]: pages of source s with key id.
    let mut per_source = vec![0usize; keys.len() * width];
    for (id, list) in rules.iter().enumerate() {
        for &i in list {
            if let Some(c) = page_source.get(i).and_then(|s| per_source.get_mut(id * width + s)) {
                *c += 1;
            }
        }
    }
    let owned: Vec<IndicatorKey> = keys.into_iter().cloned().collect();
    drop(ids);
    let pages_of: Vec<usize> = rules.iter().map(Vec::len).collect();
    // The index of indicators is built while the pages take their counts.
    let ((), by_indicator) = rayon::join(
        || set_indicator_counts(pages, &page_source, &page_keys, &pages_of, &per_source, sources),
        || owned.into_iter().zip(rules).collect(),
    );
    index.by_indicator = by_indicator;
}

/// Each indicator's count of other pages with its key, overall and per source (see [`count_indicators`]).
fn set_indicator_counts(
    pages: &mut [RulePage],
    page_source: &[usize],
    page_keys: &[Vec<usize>],
    pages_of: &[usize],
    per_source: &[usize],
    sources: &[String],
) {
    let width = sources.len().max(1);
    pages.par_iter_mut().enumerate().for_each(|(i, p)| {
        let own = page_source.get(i).copied().unwrap_or(0);
        let mine = page_keys.get(i).map_or(&[][..], Vec::as_slice);
        for (ind, &id) in p.indicators.iter_mut().zip(mine) {
            ind.corpus_count = pages_of.get(id).copied().unwrap_or(0).saturating_sub(1);
            let counts = per_source.get(id * width..(id + 1) * width).unwrap_or_default();
            ind.corpus_by_source = SourceCounts(
                counts
                    .iter()
                    .enumerate()
                    .map(|(s, &n)| (s, if s == own { n.saturating_sub(1) } else { n }))
                    .filter(|(_, n)| *n > 0)
                    .filter_map(|(s, n)| sources.get(s).map(|name| (name.clone(), n)))
                    .collect(),
            );
        }
    });
}

/// Counts of values, most frequent first (ties by value).
pub(crate) fn ranked<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = counts.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_paths_are_relative_to_their_source() {
        let roots = [PathBuf::from("/home/me/sigma/rules"), PathBuf::from("/srv/team.yml")];
        assert_eq!(relative_path("/home/me/sigma/rules/windows/x.yml", &roots), "rules/windows/x.yml");
        assert_eq!(relative_path("/srv/team.yml", &roots), "team.yml", "a file given directly");
        assert_eq!(relative_path("/elsewhere/secret/y.yml", &roots), "y.yml", "no machine path escapes");
        assert_eq!(relative_path("C:\\Users\\me\\z.yml", &[]), "z.yml");
        assert_eq!(relative_path("./local/r.yml", &[]), "local/r.yml", "relative names stay");
        assert_eq!(relative_path("mem:r.yml", &[]), "mem:r.yml");
        // A root without a name of its own (`.`) gives the path below it.
        assert_eq!(relative_path("./windows/x.yml", &[PathBuf::from(".")]), "windows/x.yml");
    }
}
