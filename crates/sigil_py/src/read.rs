//! Event files and bytes as Arrow record batches in the layout of `sigil export`.

#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use sigil_convert::export::BatchBuilder;
use sigil_events::{ReadError, ReadOptions, Source};

/// What a [`Reader`] hands out: a batch of events, or a part of the input that could not be read (naming the
/// file and the chunk, record, line or value; reading goes on after it).
#[derive(Debug)]
pub enum Item {
    /// A batch of events in the layout of `sigil export`.
    Batch(RecordBatch),
    /// A part of the input that could not be read.
    Error(ReadError),
}

/// Reads one input into batches of about `rows` events (`event_index` from 0, `source` the input's name).
pub struct Reader {
    source: Source,
    name: Arc<str>,
    builder: BatchBuilder,
    rows: usize,
    next_index: i64,
    errors: std::collections::VecDeque<ReadError>,
    done: bool,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("name", &self.name).field("next_index", &self.next_index).finish()
    }
}

/// Opens a file (format from its name, else its content, as `sigil hunt` does).
///
/// # Errors
/// When the file cannot be opened or fits no format.
pub fn open(path: &Path, rows: usize, opts: &ReadOptions) -> Result<Reader, ReadError> {
    Ok(Reader::new(sigil_events::open(path, opts)?, path.display().to_string(), rows))
}

/// Reads bytes in memory; `name` gives the format by its extension (else the content does) and names the input.
///
/// # Errors
/// When the bytes fit no format (an EVTX name with a damaged file header, ...).
pub fn from_bytes(name: &str, bytes: Vec<u8>, rows: usize, opts: &ReadOptions) -> Result<Reader, ReadError> {
    Ok(Reader::new(sigil_events::from_bytes(Path::new(name), bytes, opts)?, name.to_string(), rows))
}

impl Reader {
    fn new(source: Source, name: String, rows: usize) -> Reader {
        Reader {
            source,
            name: Arc::from(name),
            builder: BatchBuilder::default(),
            rows: rows.max(1),
            next_index: 0,
            errors: Default::default(),
            done: false,
        }
    }

    fn flush(&mut self) -> Option<Item> {
        if self.builder.is_empty() {
            return None;
        }
        Some(match self.builder.finish() {
            Ok(b) => Item::Batch(b),
            Err(e) => Item::Error(ReadError::Format { path: self.name.to_string().into(), message: e.to_string() }),
        })
    }
}

impl Iterator for Reader {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if let Some(e) = self.errors.pop_front() {
                return Some(Item::Error(e));
            }
            if self.done {
                return self.flush();
            }
            if self.builder.len() >= self.rows {
                return self.flush();
            }
            let Some(batch) = self.source.next_batch() else {
                self.done = true;
                continue;
            };
            for event in &batch.events {
                if let Err(e) = self.builder.push(self.next_index, event, &self.name) {
                    self.errors
                        .push_back(ReadError::Format { path: self.name.to_string().into(), message: e.to_string() });
                    continue;
                }
                self.next_index += 1;
            }
            self.errors.extend(batch.errors);
        }
    }
}
