//! Errors of the readers: one per input that could not be read, or per unreadable part of one.

use std::fmt;
use std::path::{Path, PathBuf};

/// `Result` with [`ReadError`] as the default error.
pub type Result<T, E = ReadError> = std::result::Result<T, E>;

/// Why an input, or one chunk, record, line or value of it, could not be read.
///
/// Every variant names the input (`-` for stdin) and as much of the position as the format
/// has: EVTX chunk number, record id and offset in the chunk; JSONL line; JSON value index,
/// line and byte offset. Readers report such an error as one item and go on with the next
/// part of the input where the format allows it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The input could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The input.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The input is not in the format its name or content says (bad EVTX header, UTF-16 or
    /// binary data where JSON was expected, ...). Nothing more is read from it.
    #[error("{}: {message}", path.display())]
    Format {
        /// The input.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An EVTX file header is damaged; the chunks are read anyway (where the header would put
    /// them, or found by scanning for chunk signatures). No record is lost by this.
    #[error("{}: {message}", path.display())]
    EvtxFile {
        /// The input.
        path: PathBuf,
        /// What is wrong, and what was done about it.
        message: String,
    },
    /// A whole EVTX chunk, or the part of it past the cut of a truncated file, could not be
    /// read: damaged header or records (checksum mismatch), bad signature, truncation.
    #[error("{}: EVTX chunk {chunk}: {message}", path.display())]
    EvtxChunk {
        /// The input.
        path: PathBuf,
        /// The chunk's number in the file (0 is the first chunk after the file header).
        chunk: u64,
        /// How many records were lost (0 when none could be counted).
        records_lost: u64,
        /// What is wrong, in words, with the records read and lost.
        message: String,
    },
    /// An EVTX record could not be parsed or rendered.
    #[error("{}: EVTX {}: {message}", path.display(), RecordLocation { chunk: *chunk, record_id: *record_id, offset: *offset })]
    EvtxRecord {
        /// The input.
        path: PathBuf,
        /// The chunk's number in the file, when known.
        chunk: Option<u64>,
        /// The record id from the record header, when it could be read.
        record_id: Option<u64>,
        /// The record's byte offset in its chunk, when known.
        offset: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A JSONL line is not a JSON object (or array of objects).
    #[error("{}:{line}: {message}", path.display())]
    JsonLine {
        /// The input.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A value of a `.json` input is not a JSON object, or is malformed.
    #[error("{}: JSON value {index} (line {line}, byte {offset}): {message}", path.display())]
    Json {
        /// The input.
        path: PathBuf,
        /// 0-based index of the value among the input's events (top-level values, or
        /// elements of a top-level array).
        index: u64,
        /// 1-based line where the value starts.
        line: u64,
        /// Byte offset where the value starts.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A line of a text log (auditd, syslog, web access log, Zeek TSV, ...) could not be read;
    /// the lines around it are read.
    #[error("{}:{line}: {message}", path.display())]
    TextLine {
        /// The input.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl ReadError {
    /// The input the error is about (`-` for stdin).
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. }
            | ReadError::Format { path, .. }
            | ReadError::EvtxFile { path, .. }
            | ReadError::EvtxChunk { path, .. }
            | ReadError::EvtxRecord { path, .. }
            | ReadError::JsonLine { path, .. }
            | ReadError::Json { path, .. }
            | ReadError::TextLine { path, .. } => path,
        }
    }
}

impl ReadError {
    /// How many events this error lost: the records of an EVTX chunk, one record, line or
    /// value; 0 for errors about a whole input (it could not be opened or is not in its
    /// format, which is reported per input) and for a damaged EVTX file header (its chunks
    /// are still read).
    pub fn records_lost(&self) -> u64 {
        match self {
            ReadError::Io { .. } | ReadError::Format { .. } | ReadError::EvtxFile { .. } => 0,
            ReadError::EvtxChunk { records_lost, .. } => *records_lost,
            ReadError::EvtxRecord { .. }
            | ReadError::JsonLine { .. }
            | ReadError::Json { .. }
            | ReadError::TextLine { .. } => 1,
        }
    }
}

struct RecordLocation {
    chunk: Option<u64>,
    record_id: Option<u64>,
    offset: Option<u64>,
}

impl fmt::Display for RecordLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record_id {
            Some(id) => write!(f, "record {id}")?,
            None => f.write_str("record")?,
        }
        if let Some(offset) = self.offset {
            write!(f, " at offset {offset:#x}")?;
        }
        match self.chunk {
            Some(chunk) => write!(f, " in chunk {chunk}"),
            None => Ok(()),
        }
    }
}

/// A JSON text that could not be turned into an [`Event`](crate::Event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong, with serde_json's line and column where it has them.
    pub message: String,
}

/// The message of an error and of each error in its `source` chain, joined by `: `.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let text = err.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = err.source();
    }
    out
}
