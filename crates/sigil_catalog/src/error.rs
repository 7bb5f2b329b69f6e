//! The crate's error type.

/// Why a catalog could not be built. Problems with rule files are not errors: they are diagnostics, kept in
/// [`crate::Catalog::failed_files`] and on each page.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The knowledge tables (ATT&CK, event schemas, logsource mapping) could not be loaded.
    #[error("knowledge tables: {0}")]
    Knowledge(#[from] sigil_knowledge::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
