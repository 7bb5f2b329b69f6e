//! EVTX input: chunks are read in record order on the caller's thread, and each chunk is
//! parsed and turned into events as one unit of work: each record decoded straight into its
//! event by `evtx_direct` where it can, else rendered to JSON by the evtx
//! crate and flattened.
//!
//! Why not `EvtxParser::records_json*`: those run their own pipeline on rayon and block the
//! calling thread on a channel, which can deadlock when the caller is itself a rayon worker
//! (as the engine's file-parallel reads are). Parsing each `EvtxChunkData` ourselves is as
//! fast (measured on 1,000 chunks, 52k records: 3.1 vs 2.9 µs/record) and lets the crate
//! schedule chunks like any other unit.
//!
//! Integrity. A record that cannot be read whole is never handed out, and every record lost
//! is counted ([`ReadError::records_lost`]):
//! - each chunk's header CRC32 and event-records CRC32 are verified (unless
//!   [`ReadOptions::validate_checksums`](crate::ReadOptions) is off); a mismatch drops the
//!   chunk's records, counted from the header when it is intact, else by walking the record
//!   chain;
//! - in a file cut short, the records wholly before the cut are read and those cut are
//!   counted (a zero-padded partial record would otherwise read as a record with empty
//!   fields);
//! - a damaged file header does not lose the chunks behind it: they are found by scanning for
//!   the `ElfChnk` signature, as forensic EVTX tools do.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};

use crate::error::{ReadError, error_chain};
use crate::event::Event;
use crate::evtx_direct::Templates;
use crate::flatten::{Builder, Fallback};
use crate::source::{FileCtx, Sink};

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: u64 = 65536;
const CHUNK_HEADER_SIZE: u64 = 512;
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0, 0];
/// The smallest record: header (24 bytes), no BinXML, size copy (4 bytes).
const MIN_RECORD: usize = 28;

/// Reads `len` bytes (fewer at the end) at an offset of the input.
type RawRead = Arc<dyn Fn(u64, usize) -> std::io::Result<Vec<u8>> + Send + Sync>;

/// Where the chunks come from.
enum Chunks {
    /// The evtx crate's walk over a file with a valid header, in record order.
    Parser(Box<dyn Iterator<Item = evtx::err::Result<EvtxChunkData>> + Send>),
    /// Offsets of chunk signatures found by scanning a file whose header is damaged.
    Recovered(VecDeque<u64>),
}

/// The chunks of one EVTX file, in record order, then a trailing partial chunk if the file
/// was cut short.
pub(crate) struct EvtxUnits {
    path: Arc<Path>,
    chunks: Chunks,
    raw: RawRead,
    settings: Arc<ParserSettings>,
    validate: bool,
    /// Reported before the chunks: a damaged file header.
    head: VecDeque<EvtxUnit>,
    /// Reported after the whole chunks: the partial last chunk of a truncated file.
    trailing: VecDeque<EvtxUnit>,
}

/// One unit of EVTX work.
pub(crate) enum EvtxUnit {
    /// A chunk; `valid` is how many of its bytes the file has (less than a chunk only for
    /// the last chunk of a truncated file, which is padded with zeros).
    Chunk {
        data: Box<EvtxChunkData>,
        valid: usize,
        validate: bool,
    },
    Error(ReadError),
}

/// Bytes shared between the parser's cursor and the raw reader.
#[derive(Clone)]
struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl EvtxUnits {
    /// Read the file at `path`, chunk by chunk.
    pub(crate) fn open(path: Arc<Path>, validate_checksums: bool) -> Result<EvtxUnits, ReadError> {
        let io_error = |source| ReadError::Io { path: path.to_path_buf(), source };
        let file = File::open(&path).map_err(io_error)?;
        let len = file.metadata().map_err(io_error)?.len();
        let reopen = Arc::clone(&path);
        let raw: RawRead = Arc::new(move |offset, want| {
            let mut file = File::open(&reopen)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut data = Vec::with_capacity(want.min(1 << 20));
            file.take(want as u64).read_to_end(&mut data)?;
            Ok(data)
        });
        EvtxUnits::build(path, EvtxParser::from_read_seek(file), raw, len, validate_checksums)
    }

    /// Read a whole EVTX file held in memory.
    pub(crate) fn from_bytes(
        path: Arc<Path>,
        bytes: Vec<u8>,
        validate_checksums: bool,
    ) -> Result<EvtxUnits, ReadError> {
        let len = bytes.len() as u64;
        let shared = Shared(Arc::new(bytes));
        let for_raw = shared.clone();
        let raw: RawRead = Arc::new(move |offset, want| {
            let bytes = for_raw.as_ref();
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
            Ok(bytes.get(start..start.saturating_add(want).min(bytes.len())).unwrap_or_default().to_vec())
        });
        EvtxUnits::build(path, EvtxParser::from_read_seek(Cursor::new(shared)), raw, len, validate_checksums)
    }

    fn build<T: Read + Seek + Send + 'static>(
        path: Arc<Path>,
        parser: evtx::err::Result<EvtxParser<T>>,
        raw: RawRead,
        len: u64,
        validate: bool,
    ) -> Result<EvtxUnits, ReadError> {
        let settings = ParserSettings::new().indent(false).validate_checksums(false).num_threads(1);
        let mut head = VecDeque::new();
        let chunks = match parser {
            Ok(parser) => {
                let header = parser.header();
                if validate && !header.validate_checksum() {
                    head.push_back(EvtxUnit::Error(ReadError::EvtxFile {
                        path: path.to_path_buf(),
                        message: "the file header's checksum does not match (the header is damaged); \
                                  its chunks are read from where they should be"
                            .into(),
                    }));
                }
                Chunks::Parser(Box::new(parser.with_configuration(settings.clone()).into_chunks()))
            }
            Err(err) => {
                let found = find_chunk_signatures(&raw, len)
                    .map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
                if found.is_empty() {
                    let message = match len {
                        0 => "not a readable EVTX file: the file is empty".to_owned(),
                        n if n < FILE_HEADER_SIZE => {
                            format!("not a readable EVTX file: it is too short ({n} bytes) and holds no chunk")
                        }
                        _ => format!(
                            "not a readable EVTX file: no valid file header ({}) and no chunk signature in it",
                            error_chain(&err)
                        ),
                    };
                    return Err(ReadError::Format { path: path.to_path_buf(), message });
                }
                head.push_back(EvtxUnit::Error(ReadError::EvtxFile {
                    path: path.to_path_buf(),
                    message: format!(
                        "no valid EVTX file header ({}); recovered {} chunk(s) by scanning for chunk signatures",
                        error_chain(&err),
                        found.len()
                    ),
                }));
                Chunks::Recovered(found)
            }
        };
        let trailing = match chunks {
            Chunks::Parser(_) => trailing_units(&path, len, validate, &raw),
            Chunks::Recovered(_) => VecDeque::new(),
        };
        Ok(EvtxUnits { path, chunks, raw, settings: Arc::new(settings), validate, head, trailing })
    }

    pub(crate) fn settings(&self) -> &Arc<ParserSettings> {
        &self.settings
    }

    /// The unit for a chunk the evtx crate could not take: its records are counted by
    /// walking the raw bytes.
    fn chunk_error(&self, err: &EvtxError) -> EvtxUnit {
        match err {
            EvtxError::FailedToParseChunk { chunk_id, source } => {
                let offset = FILE_HEADER_SIZE + chunk_id * CHUNK_SIZE;
                let lost = (self.raw)(offset, CHUNK_SIZE as usize).map_or(0, |data| count_records(&data));
                EvtxUnit::Error(ReadError::EvtxChunk {
                    path: self.path.to_path_buf(),
                    chunk: *chunk_id,
                    records_lost: lost,
                    message: format!("cannot read the chunk ({}); {}", error_chain(source.as_ref()), lost_words(lost)),
                })
            }
            other => EvtxUnit::Error(ReadError::Format { path: self.path.to_path_buf(), message: error_chain(other) }),
        }
    }

    /// The next chunk found by the signature scan.
    fn next_recovered(&mut self) -> Option<EvtxUnit> {
        let Chunks::Recovered(offsets) = &mut self.chunks else { return None };
        let offset = offsets.pop_front()?;
        // Chunks where the file header would put them keep their number; others are numbered
        // by position, past any real number.
        let number = if offset >= FILE_HEADER_SIZE && (offset - FILE_HEADER_SIZE).is_multiple_of(CHUNK_SIZE) {
            (offset - FILE_HEADER_SIZE) / CHUNK_SIZE
        } else {
            offset / CHUNK_SIZE
        };
        let mut data = match (self.raw)(offset, CHUNK_SIZE as usize) {
            Ok(data) => data,
            Err(source) => return Some(EvtxUnit::Error(ReadError::Io { path: self.path.to_path_buf(), source })),
        };
        let valid = data.len();
        data.resize(CHUNK_SIZE as usize, 0);
        Some(chunk_unit(&self.path, data, number, valid, self.validate))
    }
}

impl Iterator for EvtxUnits {
    type Item = EvtxUnit;

    fn next(&mut self) -> Option<EvtxUnit> {
        if let Some(unit) = self.head.pop_front() {
            return Some(unit);
        }
        let next = match &mut self.chunks {
            Chunks::Parser(chunks) => chunks.next(),
            Chunks::Recovered(_) => return self.next_recovered().or_else(|| self.trailing.pop_front()),
        };
        match next {
            Some(Ok(data)) => {
                Some(EvtxUnit::Chunk { data: Box::new(data), valid: CHUNK_SIZE as usize, validate: self.validate })
            }
            Some(Err(err)) => Some(self.chunk_error(&err)),
            None => self.trailing.pop_front(),
        }
    }
}

/// A unit for the chunk `data` (padded to a whole chunk) of which the input has `valid` bytes.
fn chunk_unit(path: &Path, data: Vec<u8>, number: u64, valid: usize, validate: bool) -> EvtxUnit {
    match EvtxChunkData::new(data, false) {
        Ok(mut chunk) => {
            chunk.number = Some(number);
            EvtxUnit::Chunk { data: Box::new(chunk), valid, validate }
        }
        Err(err) => EvtxUnit::Error(ReadError::EvtxChunk {
            path: path.to_path_buf(),
            chunk: number,
            records_lost: 0,
            message: format!("cannot read the chunk ({})", error_chain(&err)),
        }),
    }
}

/// Offsets of `ElfChnk` signatures in the input, not overlapping a chunk found before.
fn find_chunk_signatures(raw: &RawRead, len: u64) -> std::io::Result<VecDeque<u64>> {
    const BLOCK: usize = 1 << 20;
    let finder = memchr::memmem::Finder::new(CHUNK_MAGIC);
    let mut found = VecDeque::new();
    let mut next_free = 0u64;
    let mut at = 0u64;
    while at < len {
        let block = raw(at, BLOCK + CHUNK_MAGIC.len() - 1)?;
        if block.is_empty() {
            break;
        }
        for pos in finder.find_iter(&block) {
            let offset = at + pos as u64;
            if pos < BLOCK && offset >= next_free {
                found.push_back(offset);
                next_free = offset + CHUNK_SIZE;
            }
        }
        at += BLOCK as u64;
    }
    Ok(found)
}

/// `(offset, size)` of each record chained from the chunk header: the first at byte 512, each
/// next one right after the previous, as long as a record signature and a plausible size are
/// there. A record may extend past `chunk.len()` (the cut of a truncated file).
fn walk_records(chunk: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = CHUNK_HEADER_SIZE as usize;
    while let Some(head) = chunk.get(at..at + 8) {
        if head.get(..4) != Some(&RECORD_MAGIC[..]) {
            break;
        }
        let size = head.get(4..8).and_then(|b| b.try_into().ok()).map_or(0, u32::from_le_bytes) as usize;
        if size < MIN_RECORD || at + size > CHUNK_SIZE as usize {
            break;
        }
        out.push((at, size));
        at += size;
    }
    out
}

/// How many records the chunk header says the chunk holds, when that is plausible.
fn header_count(data: &EvtxChunkData) -> Option<u64> {
    let h = &data.header;
    let n = h.last_event_record_number.checked_sub(h.first_event_record_number)?.checked_add(1)?;
    (n <= (CHUNK_SIZE - CHUNK_HEADER_SIZE) / MIN_RECORD as u64).then_some(n)
}

/// Records in raw chunk bytes whose header may be damaged: by walking the record chain.
fn count_records(chunk: &[u8]) -> u64 {
    walk_records(chunk).len() as u64
}

/// "its 3 records are lost" in words.
fn lost_words(lost: u64) -> String {
    match lost {
        0 => "no record found in it".to_owned(),
        1 => "its 1 record is lost".to_owned(),
        n => format!("its {n} records are lost"),
    }
}

/// For a file whose length is not a whole number of chunks: the partial chunk (zero-padded,
/// with how many bytes it has) when it holds at least a chunk header, else an error naming
/// the cut.
fn trailing_units(path: &Path, len: u64, validate: bool, raw: &RawRead) -> VecDeque<EvtxUnit> {
    let Some(data_len) = len.checked_sub(FILE_HEADER_SIZE) else { return VecDeque::new() };
    let partial = data_len % CHUNK_SIZE;
    if partial == 0 {
        return VecDeque::new();
    }
    let number = data_len / CHUNK_SIZE;
    let mut data = match raw(FILE_HEADER_SIZE + number * CHUNK_SIZE, CHUNK_SIZE as usize) {
        Ok(data) => data,
        Err(source) => return VecDeque::from([EvtxUnit::Error(ReadError::Io { path: path.to_path_buf(), source })]),
    };
    // An all-zero tail is preallocated space, not lost records.
    if data.iter().all(|&b| b == 0) {
        return VecDeque::new();
    }
    let valid = data.len();
    if (valid as u64) < CHUNK_HEADER_SIZE || !data.starts_with(CHUNK_MAGIC) {
        // What the header says, if its record numbers are there and plausible.
        let count = |at: usize| data.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        let lost = match (count(8), count(16)) {
            (Some(first), Some(last)) => last
                .checked_sub(first)
                .map(|n| n + 1)
                .filter(|n| *n <= (CHUNK_SIZE - CHUNK_HEADER_SIZE) / MIN_RECORD as u64),
            _ => None,
        };
        let what = match lost {
            Some(n) => lost_words(n),
            None => "its records are lost (how many is unknown)".to_owned(),
        };
        return VecDeque::from([EvtxUnit::Error(ReadError::EvtxChunk {
            path: path.to_path_buf(),
            chunk: number,
            records_lost: lost.unwrap_or(0),
            message: format!(
                "the file is truncated inside this chunk's header ({valid} of {CHUNK_SIZE} bytes); {what}"
            ),
        })]);
    }
    data.resize(CHUNK_SIZE as usize, 0);
    VecDeque::from([chunk_unit(path, data, number, valid, validate)])
}

fn record_error(path: &Path, chunk: Option<u64>, err: &EvtxError) -> ReadError {
    let (record_id, offset, in_chunk) = match err {
        EvtxError::FailedToParseRecord { record_id, .. } => (Some(*record_id), None, None),
        EvtxError::FailedToReadRecordAt { chunk, offset, .. } => (None, Some(*offset), *chunk),
        _ => (None, None, None),
    };
    ReadError::EvtxRecord {
        path: path.to_path_buf(),
        chunk: in_chunk.or(chunk),
        record_id,
        offset,
        message: format!("cannot read the record; it is lost ({})", error_chain(err)),
    }
}

/// Parse one chunk and hand its events and errors, in record order, to `sink`.
///
/// A panic inside the EVTX parser on hostile input becomes an error for the chunk rather
/// than taking the process down.
pub(crate) fn process_unit(
    unit: EvtxUnit,
    settings: &Arc<ParserSettings>,
    ctx: &FileCtx<'_>,
    b: &mut Builder,
    sink: &mut dyn Sink,
) {
    let (mut data, valid, validate) = match unit {
        EvtxUnit::Chunk { data, valid, validate } => (data, valid, validate),
        EvtxUnit::Error(err) => return sink.error(err),
    };
    let number = data.number.unwrap_or_default();
    let chunk_error = |records_lost: u64, message: String| ReadError::EvtxChunk {
        path: ctx.path.to_path_buf(),
        chunk: number,
        records_lost,
        message,
    };
    let truncated = valid < CHUNK_SIZE as usize;
    if validate {
        let ignore = "--ignore-checksums reads them anyway";
        if !data.validate_header_checksum() {
            let lost = count_records(data.data.get(..valid).unwrap_or_default());
            return sink.error(chunk_error(
                lost,
                format!(
                    "the chunk header's checksum does not match (the header is damaged); {} ({ignore})",
                    lost_words(lost)
                ),
            ));
        }
        // A truncated chunk's records checksum covers bytes the file no longer has.
        if !truncated && !data.validate_data_checksum() {
            let lost = header_count(&data).unwrap_or_else(|| count_records(&data.data));
            return sink.error(chunk_error(
                lost,
                format!(
                    "the event records' checksum does not match (records are damaged); {} ({ignore})",
                    lost_words(lost)
                ),
            ));
        }
    }
    // In a truncated chunk, only records wholly before the cut are read; the others are
    // counted, never matched (their missing bytes would read as empty fields).
    let whole: Option<Vec<(usize, Option<u64>)>> = truncated.then(|| {
        let record_id =
            |at: usize| data.data.get(at + 8..at + 16).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes);
        walk_records(&data.data)
            .iter()
            .filter(|(at, size)| at + size <= valid)
            .map(|(at, _)| (*at, record_id(*at)))
            .collect()
    });
    if let Some(whole) = &whole {
        let expected = header_count(&data).unwrap_or(0).max(walk_records(&data.data).len() as u64);
        let lost = expected.saturating_sub(whole.len() as u64);
        sink.error(chunk_error(
            lost,
            format!(
                "the file is truncated inside this chunk ({valid} of {CHUNK_SIZE} bytes): the {} record(s) before the cut are read, {} record(s) cut off are lost",
                whole.len(),
                lost
            ),
        ));
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        process_chunk(&mut data, whole.as_deref(), valid, settings, ctx, b, &mut *sink)
    }));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        *b = Builder::default();
        sink.error(chunk_error(0, format!("the EVTX parser failed on this chunk: {message}")));
    }
}

/// Whether a record of a truncated chunk lies wholly before the cut: `whole` holds the
/// offsets and ids of those records (`None`: the chunk is whole).
fn is_whole(whole: Option<&[(usize, Option<u64>)]>, binxml_offset: u64) -> bool {
    match whole {
        None => true,
        Some(records) => usize::try_from(binxml_offset)
            .is_ok_and(|at| at >= 24 && records.binary_search_by_key(&(at - 24), |r| r.0).is_ok()),
    }
}

/// Whether an error of a truncated chunk is about a record before the cut (one past it is
/// counted as cut off already).
fn error_before_cut(whole: Option<&[(usize, Option<u64>)]>, valid: usize, err: &EvtxError) -> bool {
    let Some(records) = whole else { return true };
    match err {
        EvtxError::FailedToParseRecord { record_id, .. } => records.iter().any(|r| r.1 == Some(*record_id)),
        EvtxError::FailedToReadRecordAt { offset, .. } => usize::try_from(*offset).is_ok_and(|at| at < valid),
        _ => false,
    }
}

fn process_chunk(
    data: &mut EvtxChunkData,
    whole: Option<&[(usize, Option<u64>)]>,
    valid: usize,
    settings: &Arc<ParserSettings>,
    ctx: &FileCtx<'_>,
    b: &mut Builder,
    sink: &mut dyn Sink,
) {
    let number = data.number;
    let mut chunk = match data.parse(Arc::clone(settings)) {
        Ok(chunk) => chunk,
        Err(err) => {
            let lost = header_count(data).unwrap_or(0);
            return sink.error(ReadError::EvtxChunk {
                path: ctx.path.to_path_buf(),
                chunk: number.unwrap_or_default(),
                records_lost: lost,
                message: format!("cannot parse the chunk ({}); {}", error_chain(&err), lost_words(lost)),
            });
        }
    };
    // Records are decoded straight into events where `evtx_direct` can (one template per
    // chunk compiled once); the others are rendered, into one buffer, so that one deserializer
    // parses them all (see `Builder::parse_many`). Records that fail keep their place as errors.
    let chunk_data: &[u8] = chunk.data;
    let mut templates = Templates::default();
    // A whole chunk whose records all decode directly skips the crate's record iterator.
    if whole.is_none()
        && let Some(events) = templates.chunk_events(&chunk, b, ctx.opts)
    {
        for event in events {
            sink.event(event);
        }
        return;
    }
    let mut slots: Vec<Slot> = Vec::new();
    let mut joined = Vec::with_capacity(data_len_hint(&chunk));
    for record in chunk.iter() {
        // Past the cut of a truncated chunk: counted already, neither read nor reported.
        let record = match record {
            Ok(record) if !is_whole(whole, record.binxml_offset) => continue,
            Err(err) if !error_before_cut(whole, valid, &err) => continue,
            other => other,
        };
        if let Ok(record) = &record
            && let Some(event) = templates.event(chunk_data, record, b, ctx.opts)
        {
            slots.push(Slot::Direct(event));
            continue;
        }
        let rendered = record.and_then(|record| {
            let fallback = Fallback { record_id: Some(record.event_record_id), timestamp: Some(record.timestamp) };
            record.into_json_bytes().map(|rendered| (rendered, fallback))
        });
        match rendered {
            Ok((rendered, fallback)) => {
                let start = joined.len();
                joined.extend_from_slice(&rendered.data);
                slots.push(Slot::Json(rendered.event_record_id, fallback, start, joined.len()));
                joined.push(b'\n');
            }
            Err(err) => slots.push(Slot::Error(record_error(ctx.path, number, &err))),
        }
    }
    let mut out = Vec::with_capacity(slots.len());
    let fallbacks = slots.iter().filter_map(|slot| match slot {
        Slot::Json(_, fallback, _, _) => Some(*fallback),
        _ => None,
    });
    if b.parse_many(&joined, ctx.opts, fallbacks, &mut out) {
        // One event per rendered record, as each renders to one object.
        let mut events = out.drain(..);
        for slot in slots {
            match slot {
                Slot::Direct(event) => sink.event(event),
                Slot::Json(..) => {
                    if let Some(event) = events.next() {
                        sink.event(event);
                    }
                }
                Slot::Error(err) => sink.error(err),
            }
        }
        return;
    }
    out.clear();
    for slot in slots {
        let (record_id, fallback, start, end) = match slot {
            Slot::Json(record_id, fallback, start, end) => (record_id, fallback, start, end),
            Slot::Direct(event) => {
                sink.event(event);
                continue;
            }
            Slot::Error(err) => {
                sink.error(err);
                continue;
            }
        };
        let json = joined.get(start..end).unwrap_or_default();
        if let Err(message) = b.parse_with_fallback(json, ctx.opts, fallback, &mut out) {
            out.clear();
            sink.error(ReadError::EvtxRecord {
                path: ctx.path.to_path_buf(),
                chunk: number,
                record_id: Some(record_id),
                offset: None,
                message: format!("the rendered record is not a JSON object; it is lost ({message})"),
            });
        }
        for event in out.drain(..) {
            sink.event(event);
        }
    }
}

/// A record of a chunk, in order: decoded directly, rendered to `joined[start..end]` for the
/// JSON path, or lost.
enum Slot {
    Direct(Event),
    Json(u64, Fallback, usize, usize),
    Error(ReadError),
}

/// The bytes of records in a chunk, from its header.
fn data_len_hint(chunk: &evtx::EvtxChunk<'_>) -> usize {
    (chunk.header.free_space_offset as usize).clamp(CHUNK_HEADER_SIZE as usize, CHUNK_SIZE as usize)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::testutil::{SYSMON_1_EVTX, regression_corpus};
    use crate::{ReadOptions, open};

    const CHUNK: usize = 65536;
    const HEADER: usize = 4096;

    fn sample() -> Option<Vec<u8>> {
        let corpus = regression_corpus()?;
        Some(std::fs::read(corpus.join(SYSMON_1_EVTX)).unwrap())
    }

    fn write(dir: &tempfile::TempDir, name: &str, data: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    }

    /// Events and errors of a file, or the error of `open`.
    fn read(path: &Path, opts: &ReadOptions) -> Result<(usize, Vec<ReadError>), ReadError> {
        let mut events = 0;
        let mut errors = Vec::new();
        for item in open(path, opts)? {
            match item {
                Ok(_) => events += 1,
                Err(err) => errors.push(err),
            }
        }
        Ok((events, errors))
    }

    #[test]
    fn intact_sample() {
        let Some(data) = sample() else { return };
        assert_eq!(data.len(), HEADER + CHUNK);
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "ok.evtx", &data);
        let (events, errors) = read(&path, &ReadOptions::default()).unwrap();
        assert_eq!((events, errors.len()), (2, 0));
    }

    #[test]
    fn empty_and_garbage_files_fail_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let garbage: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for (name, data) in [("empty.evtx", &[][..]), ("short.evtx", b"ElfFile\0"), ("garbage.evtx", &garbage)] {
            let path = write(&dir, name, data);
            match read(&path, &ReadOptions::default()) {
                Err(ReadError::Format { path: p, message }) => {
                    assert_eq!(p, path);
                    assert!(message.contains("not a readable EVTX file"), "{message}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_file_reports_the_cut_and_keeps_whole_records() {
        let Some(data) = sample() else { return };
        let dir = tempfile::tempdir().unwrap();
        // The header alone holds no chunk: nothing to read, nothing wrong.
        let path = write(&dir, "header.evtx", &data[..HEADER]);
        let (events, errors) = read(&path, &ReadOptions::default()).unwrap();
        assert_eq!((events, errors.len()), (0, 0));
        for cut in [HEADER + 100, HEADER + 600, HEADER + 3000, HEADER + 6000, HEADER + 20_000, data.len() - 1] {
            let path = write(&dir, &format!("cut{cut}.evtx"), &data[..cut]);
            let (events, errors) = read(&path, &ReadOptions::default()).unwrap();
            assert!(!errors.is_empty(), "cut at {cut}");
            let first = errors[0].to_string();
            assert!(first.contains(&format!("cut{cut}.evtx")) && first.contains("truncated"), "{first}");
            assert!(matches!(errors[0], ReadError::EvtxChunk { chunk: 0, .. }));
            assert!(events <= 2);
            if cut >= 20_000 {
                assert_eq!(events, 2, "both records lie before byte {cut}");
            }
        }
    }

    /// A two-chunk log built from the sample: header, chunk, chunk.
    fn two_chunks(data: &[u8]) -> Vec<u8> {
        let mut out = data.to_vec();
        out.extend_from_slice(&data[HEADER..]);
        out
    }

    #[test]
    fn corrupt_chunk_is_an_error_and_the_next_chunk_is_read() {
        let Some(data) = sample() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut bad = two_chunks(&data);
        bad[HEADER..HEADER + 8].copy_from_slice(b"NotChnk\0");
        let path = write(&dir, "badchunk.evtx", &bad);
        let (events, errors) = read(&path, &ReadOptions::default()).unwrap();
        assert_eq!(events, 2, "{errors:?}");
        assert_eq!(errors.len(), 1);
        assert!(matches!(errors[0], ReadError::EvtxChunk { chunk: 0, .. }), "{:?}", errors[0]);
    }

    #[test]
    fn corrupt_record_is_an_error_naming_it() {
        let Some(data) = sample() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut bad = two_chunks(&data);
        // The first record's binary XML starts 24 bytes into the record at chunk offset 512;
        // an invalid token there spoils that record only.
        let at = HEADER + 512 + 24;
        bad[at..at + 8].fill(0xEE);
        let path = write(&dir, "badrecord.evtx", &bad);
        // Checked, the damage spoils the chunk's records checksum: both its records are lost.
        let (events, errors) = read(&path, &ReadOptions::default()).unwrap();
        assert_eq!(events, 2, "only the intact second chunk: {errors:?}");
        assert!(
            matches!(&errors[..], [ReadError::EvtxChunk { chunk: 0, records_lost: 2, message, .. }] if message.contains("checksum")),
            "{errors:?}"
        );
        let (events, errors) = read(&path, &ReadOptions::default().with_validate_checksums(false)).unwrap();
        assert!(events >= 2, "{events} events, {errors:?}");
        assert!(!errors.is_empty());
        match &errors[0] {
            ReadError::EvtxRecord { chunk, record_id, .. } => {
                assert_eq!(*chunk, Some(0));
                assert_eq!(*record_id, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checksum_validation_rejects_modified_chunks() {
        let Some(data) = sample() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut bad = two_chunks(&data);
        bad[HEADER + 2000] ^= 0x55;
        let path = write(&dir, "crc.evtx", &bad);
        let opts = ReadOptions::default().with_validate_checksums(true);
        let (events, errors) = read(&path, &opts).unwrap();
        assert_eq!(events, 2);
        assert!(
            matches!(&errors[..], [ReadError::EvtxChunk { chunk: 0, records_lost: 2, message, .. }] if message.contains("checksum")),
            "{errors:?}"
        );
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let Some(data) = sample() else { return };
        let dir = tempfile::tempdir().unwrap();
        let mut next = crate::testutil::xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut with_errors = 0;
        for round in 0..300 {
            let mut bad = data.clone();
            for _ in 0..1 + next() % 8 {
                // Mostly the chunk header and the records, where the structure is.
                let span = if round % 2 == 0 { 6000 } else { bad.len() - HEADER };
                let at = HEADER + (next() as usize % span);
                bad[at] ^= 1 << (next() % 8);
            }
            let path = write(&dir, "flip.evtx", &bad);
            let (_, errors) = read(&path, &ReadOptions::default()).unwrap();
            with_errors += usize::from(!errors.is_empty());
        }
        assert!(with_errors > 0);
    }
}
