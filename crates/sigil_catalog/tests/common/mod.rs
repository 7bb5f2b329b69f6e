//! Shared test helpers: where `../shared` is, and the SigmaHQ catalog loaded once per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use sigil_catalog::{Catalog, CatalogOptions, SourceSpec};

/// `<repo>/../shared`.
pub fn shared() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// Whether the shared corpus is present. When it is not: panics if `SIGIL_REQUIRE_CORPUS=1`, otherwise prints
/// why the test is skipped and returns false.
pub fn corpus_available(test: &str) -> bool {
    let dir = shared().join("corpus/sigmahq/rules");
    if dir.is_dir() && shared().join("seeds").is_dir() {
        return true;
    }
    if std::env::var("SIGIL_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("{test}: SIGIL_REQUIRE_CORPUS=1 but {} is missing", dir.display());
    }
    eprintln!("skipping {test}: {} not found (set SIGIL_REQUIRE_CORPUS=1 to make this an error)", dir.display());
    false
}

/// The SigmaHQ `rules*` folders as sources, as `--rules ../shared/corpus/sigmahq/rules*` gives them.
pub fn sigmahq_sources() -> Vec<SourceSpec> {
    let pattern = shared().join("corpus/sigmahq/rules*");
    SourceSpec::parse(&pattern.display().to_string())
}

/// The SigmaHQ catalog, loaded once.
pub fn sigmahq() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let opts = CatalogOptions {
            regression_data: vec![shared().join("corpus/sigmahq-regression/regression_data")],
            ..CatalogOptions::default()
        };
        match Catalog::load(&sigmahq_sources(), &opts) {
            Ok(c) => c,
            Err(e) => panic!("loading the SigmaHQ catalog: {e}"),
        }
    })
}
