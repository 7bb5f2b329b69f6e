//! The crate's error type.

use std::path::PathBuf;
use std::sync::Arc;

/// Why a knowledge table could not be loaded.
///
/// Embedded tables are checked by unit tests, so in a tested build only user-supplied files (`--mapping FILE`)
/// produce these errors.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error (shared so that the error stays `Clone`).
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A table is malformed: bad syntax, a wrong column count, an unknown reference.
    #[error("{origin}:{line}:{column}: {message}")]
    Data {
        /// Where the table came from: a path, or `data/...` for an embedded table.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong, lower case, no trailing period.
        message: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn data(origin: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        Error::Data { origin: origin.to_owned(), line, column, message: message.into() }
    }

    /// An error located at byte `offset` of `text`.
    pub(crate) fn at_offset(origin: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        Self::data(origin, line, column, message)
    }
}

/// 1-based line and column (in characters) of byte `offset`; offsets past the end point after the last character.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = text.get(..end).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 5), (2, 3));
        assert_eq!(line_column(text, 8), (3, 1));
        assert_eq!(line_column(text, 100), (3, 2));
    }
}
