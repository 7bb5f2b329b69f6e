//! Flags shared by the catalog commands (`show`, `events`, `stats`): which rules to load and how.

use std::path::PathBuf;

use anyhow::Context as _;
use sigil_catalog::{CacheOutcome, Catalog, CatalogCache, CatalogOptions, SourceSpec};

/// Where the catalog's rules come from.
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    /// Rule files or folders, each optionally named NAME=PATH (default name: the folder). Several paths with
    /// the same NAME form one source; `NAME=dir/rules*` is expanded by sigil. Default: the bundled examples.
    #[arg(long, short, num_args = 1.., value_name = "[NAME=]PATH")]
    pub rules: Vec<String>,
    /// A logsource mapping file (format of data/logsources/windows.toml) that adds or replaces routes, and so
    /// changes which events rules cover. May be given several times.
    #[arg(long, value_name = "FILE")]
    pub mapping: Vec<PathBuf>,
    /// A folder of regression samples (SigmaHQ's regression_data): rules with a sample named after their id
    /// count as having a regression test.
    #[arg(long, value_name = "DIR")]
    pub regression_data: Vec<PathBuf>,
    /// Build the catalog from the rules without reading or writing the catalog cache. The cache (in
    /// $SIGIL_CACHE_DIR, else the user's cache folder, e.g. ~/.cache/sigil) keeps the parsed pages, keyed by
    /// every rule and mapping file's path, size and modification time and by the sigil build; it is never
    /// stale and safe to delete.
    #[arg(long)]
    pub no_cache: bool,
}

impl CatalogArgs {
    /// Loads the catalog: the given sources, or the bundled examples (source `bundled`) when none are given.
    /// Files that fail to load are reported on stderr (once, as a count) and left out.
    pub fn load(&self) -> anyhow::Result<Catalog> {
        let mut knowledge = sigil_knowledge::Knowledge::builtin().context("loading the knowledge tables")?.clone();
        for m in &self.mapping {
            knowledge = knowledge.with_mapping_file(m)?;
        }
        let opts = CatalogOptions {
            knowledge: Some(knowledge),
            regression_data: self.regression_data.clone(),
            load: sigil_rule::LoadOptions { linter: Some(sigil_check::LINTER), ..Default::default() },
        };
        let catalog = if self.rules.is_empty() {
            let texts = crate::bundled::rule_texts();
            let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), *t)).collect();
            Catalog::from_texts("bundled", &refs, &opts)?
        } else {
            let sources = SourceSpec::parse_all(&self.rules);
            for s in &sources {
                for p in &s.paths {
                    if !p.exists() {
                        anyhow::bail!("--rules {}: {} does not exist", s.name, p.display());
                    }
                }
            }
            match CatalogCache::default_dir().filter(|_| !self.no_cache) {
                Some(dir) => {
                    let cache = CatalogCache::new(dir).with_inputs(self.mapping.iter().cloned());
                    let (catalog, outcome) = Catalog::load_cached(&sources, &opts, &cache)?;
                    match outcome {
                        CacheOutcome::Hit => tracing::info!("catalog: read from the cache in {}", cache.dir.display()),
                        CacheOutcome::Rebuilt { reason, write_error } => {
                            tracing::info!("catalog: built from the rules ({reason})");
                            if let Some(e) = write_error {
                                tracing::warn!("catalog cache not written: {e}");
                            }
                        }
                    }
                    catalog
                }
                None => Catalog::load(&sources, &opts)?,
            }
        };
        let failed = catalog.failed_files();
        if !failed.is_empty() {
            eprintln!(
                "sigil: warning: {} rule file(s) could not be loaded and are not in the catalog (first: {}); run `sigil check` for details",
                failed.len(),
                failed.first().map_or("", |f| f.path.as_str())
            );
        }
        tracing::info!("catalog: {} pages in {:.3}s", catalog.len(), catalog.load_time().as_secs_f64());
        Ok(catalog)
    }
}

/// Ends a command's use of the catalog (or of what owns it, such as the web app, or of hunt's compiled rules).
/// The process exits right after, and freeing a large catalog's hundreds of thousands of allocations would only
/// delay that (by tens of milliseconds for SigmaHQ), so it is not freed.
pub fn done_with<T>(catalog: T) {
    std::mem::forget(catalog);
}
