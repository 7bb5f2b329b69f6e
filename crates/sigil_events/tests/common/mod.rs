//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The SigmaHQ regression corpus in `../shared` beside the repository.
///
/// Missing corpus: the test is skipped with a message, or fails when `SIGIL_REQUIRE_CORPUS=1`.
pub fn regression_corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq-regression");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SIGIL_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("SIGIL_REQUIRE_CORPUS=1 but the regression corpus is missing at {}", dir.display());
    }
    eprintln!("skipped: no regression corpus at {} (set SIGIL_REQUIRE_CORPUS=1 to fail instead)", dir.display());
    None
}

/// A file of the regression corpus, by its path under `regression_data/`.
pub fn regression_file(corpus: &Path, rel: &str) -> PathBuf {
    let path = corpus.join("regression_data").join(rel);
    assert!(path.is_file(), "corpus file missing: {}", path.display());
    path
}

/// This crate's own fixture files.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
