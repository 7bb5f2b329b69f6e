//! Opening inputs, iterating their events, and reading many inputs in parallel.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::error::ReadError;
use crate::evtx::{self as evtx_input, EvtxUnits};
use crate::flatten::Builder;
use crate::formats::RecordKind;
use crate::formats::classify::{Hint, classify};
use crate::formats::envelope::{
    EndAtError, ErrorSlot, GZIP_MAGIC, Gunzip, Sniffed, Unwrap, envelope_prefix, sniff_text,
};
use crate::formats::text::{self as text_input, TextFormat, TextUnits};
use crate::json::{self as json_input, LineUnits, ValueUnits};
use crate::{Event, ReadOptions};

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// Windows event log (`.evtx`).
    Evtx,
    /// A JSON document: one object, an array of objects, several values in a row (`.json`),
    /// or an envelope around the array of records (`{"Records": [...]}` as CloudTrail writes).
    Json,
    /// One JSON object per line (`.jsonl`, `.ndjson`, stdin).
    Jsonl,
    /// Linux audit log lines (`type=… msg=audit(…): …`).
    Auditd,
    /// Syslog lines (BSD, RFC 3339, RFC 5424), including Sysmon for Linux events.
    Syslog,
    /// Web server access log in Common / Combined Log Format.
    AccessLog,
    /// W3C extended log (IIS, proxies).
    W3c,
    /// Zeek TSV log.
    Zeek,
    /// Santa (macOS) log.
    Santa,
}

impl SourceKind {
    /// The kind a file name says, by extension (any case, also before `.gz`); `None` for
    /// other names, whose format is recognised from their content.
    pub fn from_path(path: &Path) -> Option<SourceKind> {
        let name = path.file_name()?.to_str()?;
        let name = name.strip_suffix(".gz").or_else(|| name.strip_suffix(".GZ")).unwrap_or(name);
        let ext = Path::new(name).extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("evtx") {
            Some(SourceKind::Evtx)
        } else if ext.eq_ignore_ascii_case("json") {
            Some(SourceKind::Json)
        } else if ext.eq_ignore_ascii_case("jsonl") || ext.eq_ignore_ascii_case("ndjson") {
            Some(SourceKind::Jsonl)
        } else {
            None
        }
    }

    /// The name `--input-kind` takes for the format.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Evtx => "evtx",
            SourceKind::Json => "json",
            SourceKind::Jsonl => "jsonl",
            SourceKind::Auditd => "auditd",
            SourceKind::Syslog => "syslog",
            SourceKind::AccessLog => "access",
            SourceKind::W3c => "w3c",
            SourceKind::Zeek => "zeek",
            SourceKind::Santa => "santa",
        }
    }

    /// Every format.
    pub const ALL: [SourceKind; 9] = [
        SourceKind::Evtx,
        SourceKind::Json,
        SourceKind::Jsonl,
        SourceKind::Auditd,
        SourceKind::Syslog,
        SourceKind::AccessLog,
        SourceKind::W3c,
        SourceKind::Zeek,
        SourceKind::Santa,
    ];

    fn text_format(self) -> Option<TextFormat> {
        match self {
            SourceKind::Auditd => Some(TextFormat::Auditd),
            SourceKind::Syslog => Some(TextFormat::Syslog),
            SourceKind::AccessLog => Some(TextFormat::Access),
            SourceKind::W3c => Some(TextFormat::W3c),
            SourceKind::Zeek => Some(TextFormat::Zeek),
            SourceKind::Santa => Some(TextFormat::Santa),
            SourceKind::Evtx | SourceKind::Json | SourceKind::Jsonl => None,
        }
    }
}

/// What `--input-kind` says about inputs: their format, or the kind of their JSON records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Read every input in this format.
    Format(SourceKind),
    /// Inputs are JSON / JSONL (or Zeek TSV for Zeek kinds) whose records are all of this
    /// kind, whatever their shape.
    Records(&'static RecordKind),
}

/// A `--input-kind` name that is neither a format nor a record kind; its message lists the accepted names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown input kind `{0}`; expected one of: {names}", names = InputKind::names().join(", "))]
pub struct UnknownInputKind(pub String);

impl InputKind {
    /// Parse a format name (`evtx`, `json`, `jsonl`, `auditd`, `syslog`, `access`, `w3c`,
    /// `zeek`, `santa`) or a record kind name (`aws.cloudtrail`, `okta.system`, …; also the
    /// short forms `cloudtrail`, `okta`, `gcp`, `m365`, `github`, `kubernetes`).
    ///
    /// # Errors
    ///
    /// The message lists the accepted names.
    pub fn parse(name: &str) -> Result<InputKind, UnknownInputKind> {
        if let Some(f) = SourceKind::ALL.iter().find(|f| f.name().eq_ignore_ascii_case(name)) {
            return Ok(InputKind::Format(*f));
        }
        let alias = match name.to_ascii_lowercase().as_str() {
            "cloudtrail" => "aws.cloudtrail",
            "okta" => "okta.system",
            "gcp" => "gcp.audit",
            "m365" => "m365.audit",
            "github" => "github.audit",
            "kubernetes" | "k8s" => "kubernetes.audit",
            _ => name,
        };
        match RecordKind::by_name(alias) {
            Some(kind) => Ok(InputKind::Records(kind)),
            None => Err(UnknownInputKind(name.to_string())),
        }
    }

    /// Every name [`InputKind::parse`] takes (formats, then record kinds).
    pub fn names() -> Vec<&'static str> {
        SourceKind::ALL.iter().map(|f| f.name()).chain(RecordKind::all().iter().map(|k| k.name)).collect()
    }
}

/// What reading one input gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    /// The input (`-` for stdin).
    pub path: PathBuf,
    /// Its format.
    pub kind: SourceKind,
    /// Events read.
    pub events: u64,
    /// Errors reported (each one an item or a batch entry).
    pub errors: u64,
}

/// Events read from one input, in input order.
///
/// The readers cut inputs into units (an EVTX chunk; about [`ReadOptions::batch_bytes`] of
/// JSON), and a batch holds the events and errors of one unit. Batches of one input are
/// numbered by `seq` from 0 in input order, so a consumer that processes them out of order
/// can restore the order.
#[derive(Debug)]
pub struct Batch {
    /// The input the batch comes from.
    pub source: Arc<Path>,
    /// Position of the batch among its input's batches.
    pub seq: u64,
    /// Events, in input order.
    pub events: Vec<Event>,
    /// Errors of this part of the input, in input order.
    pub errors: Vec<ReadError>,
}

/// Receives the events and errors of a unit, in input order.
pub(crate) trait Sink {
    fn event(&mut self, event: Event);
    fn error(&mut self, error: ReadError);
}

impl Sink for Batch {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn error(&mut self, error: ReadError) {
        self.errors.push(error);
    }
}

impl Sink for VecDeque<Result<Event, ReadError>> {
    fn event(&mut self, event: Event) {
        self.push_back(Ok(event));
    }
    fn error(&mut self, error: ReadError) {
        self.push_back(Err(error));
    }
}

/// What processing a unit needs to know about its input.
pub(crate) struct FileCtx<'a> {
    pub(crate) path: &'a Path,
    pub(crate) opts: &'a ReadOptions,
}

/// The units of one input.
enum Units {
    Evtx(EvtxUnits),
    Lines(LineUnits),
    Values(ValueUnits),
    Text(TextUnits, TextFormat),
    /// Units of a decompressed input, then the decompression error that ended it, if any.
    Gzip(Box<Units>, ErrorSlot, Arc<Path>),
}

/// A unit of work: raw bytes of one part of an input, parsed by [`Units::process`].
enum Unit {
    Evtx(evtx_input::EvtxUnit),
    Json(json_input::JsonUnit),
    Text(text_input::TextUnit, TextFormat),
}

impl Units {
    fn next_unit(&mut self) -> Option<Unit> {
        match self {
            Units::Evtx(units) => units.next().map(Unit::Evtx),
            Units::Lines(units) => units.next().map(Unit::Json),
            Units::Values(units) => units.next().map(Unit::Json),
            Units::Text(units, format) => units.next().map(|u| Unit::Text(u, *format)),
            Units::Gzip(units, slot, path) => units.next_unit().or_else(|| {
                let error = slot.lock().ok()?.take()?;
                Some(Unit::Json(json_input::JsonUnit::Error(ReadError::Io { path: path.to_path_buf(), source: error })))
            }),
        }
    }
}

/// How to process units of an input; shareable between threads.
#[derive(Clone)]
struct Processor {
    path: Arc<Path>,
    opts: Arc<ReadOptions>,
    evtx_settings: Option<Arc<evtx::ParserSettings>>,
    hint: Hint,
}

/// Gives JSON events their record kind (and the kind's time) on their way to the sink.
struct Classify<'a> {
    inner: &'a mut dyn Sink,
    hint: Hint,
}

impl Sink for Classify<'_> {
    fn event(&mut self, event: Event) {
        let event = match classify(&event, self.hint) {
            Some(kind) => {
                let time = kind.timestamp_of(&event).or(event.timestamp());
                crate::formats::classify::aliases(event.with_timestamp(time), kind).with_kind(Some(kind))
            }
            None => event,
        };
        self.inner.event(event);
    }
    fn error(&mut self, error: ReadError) {
        self.inner.error(error);
    }
}

impl Processor {
    fn process(&self, unit: Unit, b: &mut Builder, sink: &mut dyn Sink) {
        let ctx = FileCtx { path: &self.path, opts: &self.opts };
        match (unit, &self.evtx_settings) {
            (Unit::Evtx(unit), Some(settings)) => evtx_input::process_unit(unit, settings, &ctx, b, sink),
            (Unit::Evtx(_), None) => {}
            (Unit::Json(unit), _) => {
                json_input::process_unit(unit, &ctx, b, &mut Classify { inner: sink, hint: self.hint });
            }
            (Unit::Text(unit, format), _) => text_input::process_unit(unit, format, &ctx, b, sink),
        }
    }
}

/// An open input: an iterator over its events and errors, in input order.
///
/// Three ways to read it, all in input order within a batch:
/// - as an `Iterator<Item = Result<Event, ReadError>>`, on the calling thread;
/// - [`Source::next_batch`] / [`Source::for_each_batch`], one [`Batch`] per unit, on the
///   calling thread, batches in order;
/// - [`Source::par_for_each_batch`], units parsed on the current rayon pool and each batch
///   handed to the callback on the thread that parsed it (batches then arrive in any order;
///   use [`Batch::seq`]).
///
/// A malformed part of the input (EVTX chunk or record, JSONL line, JSON value) is one
/// `Err` item and reading goes on; errors that end the input (I/O failure, not the format
/// the name says) are a last `Err` item.
pub struct Source {
    units: Units,
    processor: Processor,
    kind: SourceKind,
    builder: Builder,
    pending: VecDeque<Result<Event, ReadError>>,
    seq: u64,
    stats: SourceStats,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("path", &self.processor.path).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// Open an input for reading.
///
/// `-` is stdin. The format is, in this order: the one [`ReadOptions::input_kind`] names;
/// the one the extension says (`.evtx`, `.json`, `.jsonl`/`.ndjson`, any case, also before
/// `.gz`); else the one the content shows (EVTX magic; JSON or JSON Lines by the first line;
/// auditd, Zeek TSV, W3C, Common/Combined Log Format, syslog or Santa lines by the first
/// line). Gzip-compressed inputs (by their magic bytes) are decompressed on the fly, and a
/// JSON envelope around the records (`{"Records": [...]}`, `{"records": [...]}`,
/// `{"value": [...]}`) is looked through. Stdin whose content fits nothing is read as JSONL.
///
/// # Errors
///
/// When the file cannot be opened, an EVTX file has no valid file header, or the content
/// fits no format (the message suggests `--input-kind`). Anything wrong past that is
/// reported by the iterator, item by item.
pub fn open(path: &Path, opts: &ReadOptions) -> Result<Source, ReadError> {
    let io = |source| ReadError::Io { path: path.to_path_buf(), source };
    if path == Path::new("-") {
        return open_reader(path, Box::new(std::io::stdin()), opts, true);
    }
    let forced = match opts.input_kind {
        Some(InputKind::Format(kind)) => Some(kind),
        _ => None,
    };
    let kind = forced.or_else(|| SourceKind::from_path(path));
    let mut head = [0u8; 8];
    let n = File::open(path).and_then(|mut f| f.read(&mut head)).map_err(io)?;
    let head = head.get(..n).unwrap_or_default();
    if (kind == Some(SourceKind::Evtx) || (kind.is_none() && head.starts_with(b"ElfFile\0")))
        && !head.starts_with(&GZIP_MAGIC)
    {
        let shared: Arc<Path> = Arc::from(path);
        let units = Units::Evtx(EvtxUnits::open(Arc::clone(&shared), opts.validate_checksums)?);
        return Ok(Source::new(shared, SourceKind::Evtx, units, opts, Hint::default()));
    }
    let file = File::open(path).map_err(io)?;
    open_reader(path, Box::new(file), opts, false)
}

/// Read up to `n` bytes of `reader` without losing them: `(head, a reader of everything)`.
fn peek(mut reader: Box<dyn Read + Send>, n: usize, path: &Path) -> Result<(Vec<u8>, Box<dyn Read + Send>), ReadError> {
    let mut head = Vec::with_capacity(n);
    (&mut reader)
        .take(n as u64)
        .read_to_end(&mut head)
        .map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    let again: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head.clone()).chain(reader));
    Ok((head, again))
}

/// Open any reader: decompress, recognise the format, look through envelopes.
fn open_reader(
    path: &Path,
    reader: Box<dyn Read + Send>,
    opts: &ReadOptions,
    stdin: bool,
) -> Result<Source, ReadError> {
    let shared: Arc<Path> = Arc::from(path);
    let (mut head, mut reader) = peek(reader, 8192, path)?;
    let mut gzip_errors: Option<ErrorSlot> = None;
    if head.starts_with(&GZIP_MAGIC) {
        let slot = ErrorSlot::default();
        (head, reader) =
            peek(Box::new(EndAtError { inner: Gunzip::new(reader), slot: Arc::clone(&slot) }), 8192, path)?;
        gzip_errors = Some(slot);
    }
    let (forced_format, forced_records) = match opts.input_kind {
        Some(InputKind::Format(kind)) => (Some(kind), None),
        Some(InputKind::Records(kind)) => (None, Some(kind)),
        None => (None, None),
    };
    let named = if stdin { None } else { SourceKind::from_path(path) };
    let kind = match forced_format.or(named) {
        Some(kind) => kind,
        None if head.starts_with(b"ElfFile\0") => SourceKind::Evtx,
        None => match sniff_text(&head) {
            Some(Sniffed::Json) => SourceKind::Json,
            Some(Sniffed::Jsonl) => SourceKind::Jsonl,
            Some(Sniffed::Auditd) => SourceKind::Auditd,
            Some(Sniffed::Syslog) => SourceKind::Syslog,
            Some(Sniffed::Access) => SourceKind::AccessLog,
            Some(Sniffed::W3c) => SourceKind::W3c,
            Some(Sniffed::Zeek) => SourceKind::Zeek,
            Some(Sniffed::Santa) => SourceKind::Santa,
            None if stdin || head.iter().all(u8::is_ascii_whitespace) || head.contains(&0) => SourceKind::Jsonl,
            None => {
                let text = String::from_utf8_lossy(&head);
                let first: String =
                    text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().chars().take(60).collect();
                return Err(ReadError::Format {
                    path: path.to_path_buf(),
                    message: format!(
                        "not a log format sigil recognises (first line: {first:?}); name the format with --input-kind"
                    ),
                });
            }
        },
    };
    let zeek_path = crate::formats::zeek::path_from_file_name(path).and_then(|p| {
        let kind = crate::formats::zeek_kind(&p)?;
        (kind.name != "zeek").then_some(kind)
    });
    let hint = Hint { forced: forced_records, zeek_path };
    let (batch, max) = (opts.batch_bytes, opts.max_event_bytes);
    let units = match kind {
        SourceKind::Evtx => {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
            Units::Evtx(EvtxUnits::from_bytes(Arc::clone(&shared), bytes, opts.validate_checksums)?)
        }
        SourceKind::Json => {
            let bom = if head.starts_with(&[0xEF, 0xBB, 0xBF]) { 3 } else { 0 };
            let reader: Box<dyn Read + Send> = match envelope_prefix(head.get(bom..).unwrap_or_default()) {
                Some(prefix) => Box::new(Unwrap::new(reader, prefix + bom)),
                None => reader,
            };
            Units::Values(ValueUnits::new(Arc::clone(&shared), reader, batch, max))
        }
        SourceKind::Jsonl => Units::Lines(LineUnits::new(Arc::clone(&shared), reader, batch, max)),
        other => match other.text_format() {
            Some(format) => Units::Text(TextUnits::new(Arc::clone(&shared), reader, format, batch, max), format),
            None => Units::Lines(LineUnits::new(Arc::clone(&shared), reader, batch, max)),
        },
    };
    let units = match gzip_errors {
        Some(slot) => Units::Gzip(Box::new(units), slot, Arc::clone(&shared)),
        None => units,
    };
    Ok(Source::new(shared, kind, units, opts, hint))
}

/// Read an input of the given format from any reader: bytes in memory, a pipe, a socket.
/// `name` stands for the input in batches and errors.
///
/// Text formats stream as from a file (gzip and envelopes are looked through as by [`open`]).
/// EVTX needs random access, so the reader is read to its end into memory first.
///
/// # Errors
///
/// For EVTX, when the reader fails or the bytes have no valid EVTX file header.
pub fn from_reader<R>(name: &Path, kind: SourceKind, reader: R, opts: &ReadOptions) -> Result<Source, ReadError>
where
    R: Read + Send + 'static,
{
    let opts = ReadOptions { input_kind: Some(InputKind::Format(kind)), ..opts.clone() };
    open_reader(name, Box::new(reader), &opts, false)
}

/// Read an input held in memory (an object fetched from storage, a file's bytes handed over by a cluster
/// framework): its format is recognised from `name`'s extension, else from the content, exactly as [`open`]
/// recognises a file's (gzip and envelopes are looked through). `name` stands for the input in batches and errors.
///
/// # Errors
///
/// When an EVTX input has no valid file header, or the content fits no format.
pub fn from_bytes(name: &Path, bytes: Vec<u8>, opts: &ReadOptions) -> Result<Source, ReadError> {
    open_reader(name, Box::new(std::io::Cursor::new(bytes)), opts, false)
}

impl Source {
    fn new(path: Arc<Path>, kind: SourceKind, units: Units, opts: &ReadOptions, hint: Hint) -> Source {
        let evtx_settings = match &units {
            Units::Evtx(units) => Some(Arc::clone(units.settings())),
            Units::Gzip(inner, ..) => match inner.as_ref() {
                Units::Evtx(units) => Some(Arc::clone(units.settings())),
                _ => None,
            },
            Units::Lines(_) | Units::Values(_) | Units::Text(..) => None,
        };
        Source {
            units,
            stats: SourceStats { path: path.to_path_buf(), kind, events: 0, errors: 0 },
            processor: Processor { path, opts: Arc::new(opts.clone()), evtx_settings, hint },
            kind,
            builder: Builder::default(),
            pending: VecDeque::new(),
            seq: 0,
        }
    }

    /// The input (`-` for stdin).
    pub fn path(&self) -> &Path {
        &self.processor.path
    }

    /// The input's format.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// Events and errors handed out so far.
    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }

    fn new_batch(&mut self) -> Batch {
        let batch =
            Batch { source: Arc::clone(&self.processor.path), seq: self.seq, events: Vec::new(), errors: Vec::new() };
        self.seq += 1;
        batch
    }

    fn count(&mut self, batch: &Batch) {
        self.stats.events += batch.events.len() as u64;
        self.stats.errors += batch.errors.len() as u64;
    }

    /// The next batch, in input order; `None` at the end of the input.
    ///
    /// Items already buffered by the iterator come first, as a batch of their own.
    pub fn next_batch(&mut self) -> Option<Batch> {
        if !self.pending.is_empty() {
            let mut batch = self.new_batch();
            for item in std::mem::take(&mut self.pending) {
                match item {
                    Ok(event) => batch.events.push(event),
                    Err(error) => batch.errors.push(error),
                }
            }
            self.count(&batch);
            return Some(batch);
        }
        let unit = self.units.next_unit()?;
        let mut batch = self.new_batch();
        self.processor.process(unit, &mut self.builder, &mut batch);
        self.count(&batch);
        Some(batch)
    }

    /// Hand every batch, in input order, to `f` on the calling thread; returns the totals.
    pub fn for_each_batch(mut self, mut f: impl FnMut(Batch)) -> SourceStats {
        while let Some(batch) = self.next_batch() {
            f(batch);
        }
        self.stats
    }

    /// Parse the input's units on the current rayon pool and hand each batch to `f` on the
    /// thread that parsed it; returns the totals.
    ///
    /// Reading the input (file I/O and cutting it into units) stays sequential; parsing,
    /// which is most of the cost, runs on as many threads as the pool has. At most about one
    /// unit per thread is in flight, so memory stays bounded. Batches arrive in any order;
    /// [`Batch::seq`] gives their input order.
    ///
    /// This never blocks a pool thread on another pool task, so it may be called from
    /// inside rayon (e.g. from `par_iter` over files, as [`read_all`] does).
    pub fn par_for_each_batch<F>(mut self, f: F) -> SourceStats
    where
        F: Fn(Batch) + Sync + Send,
    {
        if !self.pending.is_empty()
            && let Some(batch) = self.next_batch()
        {
            f(batch);
        }
        let Source { mut units, processor, seq, mut stats, .. } = self;
        let events = AtomicU64::new(0);
        let errors = AtomicU64::new(0);
        let path = Arc::clone(&processor.path);
        std::iter::from_fn(move || units.next_unit()).zip(seq..).par_bridge().for_each_init(
            Builder::default,
            |builder, (unit, seq)| {
                let mut batch = Batch { source: Arc::clone(&path), seq, events: Vec::new(), errors: Vec::new() };
                processor.process(unit, builder, &mut batch);
                events.fetch_add(batch.events.len() as u64, Ordering::Relaxed);
                errors.fetch_add(batch.errors.len() as u64, Ordering::Relaxed);
                f(batch);
            },
        );
        stats.events += events.into_inner();
        stats.errors += errors.into_inner();
        stats
    }
}

impl Iterator for Source {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                match &item {
                    Ok(_) => self.stats.events += 1,
                    Err(_) => self.stats.errors += 1,
                }
                return Some(item);
            }
            let unit = self.units.next_unit()?;
            self.seq += 1;
            self.processor.process(unit, &mut self.builder, &mut self.pending);
        }
    }
}

/// Why [`discover`] left a path out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A file found while walking a folder whose extension is not one the readers take.
    Extension,
    /// The path could not be read (does not exist, no permission, ...).
    Unreadable(String),
}

/// A path [`discover`] left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path.
    pub path: PathBuf,
    /// Why.
    pub reason: SkipReason,
}

/// Expand the command-line inputs into the files to read.
///
/// `-` (stdin) and files named directly are kept as they are, whatever their extension.
/// Folders are walked recursively (not following symlinks, in file-name order) for `.evtx`,
/// `.json`, `.jsonl`, `.ndjson`, `.log` and `.gz` files (any case, also rotated logs such as
/// `audit.log.1`); other files are skipped and listed. Hidden entries met in a walk (names
/// starting with `.`) are left out silently; name one directly to read it.
/// Paths that cannot be read are listed with the reason. A file reached twice is kept once.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Skipped>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    let mut keep = |path: PathBuf, files: &mut Vec<PathBuf>| {
        if seen.insert(path.clone()) {
            files.push(path);
        }
    };
    for path in paths {
        if path.as_os_str() == "-" {
            keep(path.clone(), &mut files);
            continue;
        }
        match std::fs::metadata(path) {
            Err(err) => skipped.push(Skipped { path: path.clone(), reason: SkipReason::Unreadable(err.to_string()) }),
            Ok(meta) if !meta.is_dir() => keep(path.clone(), &mut files),
            Ok(_) => {
                let walk = walkdir::WalkDir::new(path).sort_by_file_name().into_iter();
                for entry in walk.filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name())) {
                    match entry {
                        Err(err) => skipped.push(Skipped {
                            path: err.path().map_or_else(|| path.clone(), Path::to_path_buf),
                            reason: SkipReason::Unreadable(err.to_string()),
                        }),
                        Ok(entry) if entry.file_type().is_dir() => {}
                        Ok(entry) if walk_takes(entry.path()) => {
                            keep(entry.into_path(), &mut files);
                        }
                        Ok(entry) => skipped.push(Skipped { path: entry.into_path(), reason: SkipReason::Extension }),
                    }
                }
            }
        }
    }
    // A file named directly is read even when a folder walk also met and skipped it.
    skipped.retain(|s| s.reason != SkipReason::Extension || !seen.contains(&s.path));
    (files, skipped)
}

/// Whether a folder walk reads a file: the extensions of [`SourceKind::from_path`], and the
/// names logs of the text formats have: `.log` (also rotated: `audit.log.1`,
/// `access.log.2.gz`), `.gz`.
fn walk_takes(path: &Path) -> bool {
    if SourceKind::from_path(path).is_some() {
        return true;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".log") || lower.ends_with(".gz") || lower.contains(".log.")
}

/// Hidden entries met in a walk (names starting with `.`: `.git`, `.vscode/settings.json`) are left out
/// silently, as tools' settings and caches are not evidence; name one directly to read it.
fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// What [`read_all`] read and left out.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    /// One entry per input read (or that failed to open), in [`discover`] order.
    pub sources: Vec<SourceStats>,
    /// Paths left out by [`discover`].
    pub skipped: Vec<Skipped>,
}

impl ReadSummary {
    /// Total events read.
    pub fn events(&self) -> u64 {
        self.sources.iter().map(|s| s.events).sum()
    }

    /// Total errors reported.
    pub fn errors(&self) -> u64 {
        self.sources.iter().map(|s| s.errors).sum()
    }
}

/// Read every input under `paths` (see [`discover`]) on the current rayon pool, handing each
/// batch to `f` on the thread that parsed it.
///
/// Inputs are read in parallel with each other, and the units of each input in parallel too
/// (see [`Source::par_for_each_batch`]), so both many small files and one big file use every
/// thread. An input that cannot be opened is reported as a batch holding just that error.
/// Batches arrive in any order; [`Batch::source`] and [`Batch::seq`] say where each belongs.
pub fn read_all<F>(paths: &[PathBuf], opts: &ReadOptions, f: F) -> ReadSummary
where
    F: Fn(Batch) + Sync + Send,
{
    let (files, skipped) = discover(paths);
    let sources = files
        .par_iter()
        .with_max_len(1)
        .map(|path| match open(path, opts) {
            Ok(source) => source.par_for_each_batch(&f),
            Err(error) => {
                let kind = SourceKind::from_path(path).unwrap_or(SourceKind::Jsonl);
                f(Batch { source: Arc::from(path.as_path()), seq: 0, events: Vec::new(), errors: vec![error] });
                SourceStats { path: path.clone(), kind, events: 0, errors: 1 }
            }
        })
        .collect();
    ReadSummary { sources, skipped }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::Value;
    use crate::testutil::regression_corpus;

    fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn discover_walks_folders_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let a = write(root, "b/a.JSONL", b"{}\n");
        let c = write(root, "b/c.json", b"{}");
        let d = write(root, "d.ndjson", b"{}\n");
        let e = write(root, "e.evtx", b"");
        let notes = write(root, "b/notes.txt", b"x");
        let explicit = write(root, "other/x.log", b"{}\n");
        write(root, ".vscode/settings.json", b"{}");
        write(root, "b/.hidden.jsonl", b"{}\n");
        let hidden_named = write(root, "other/.named.jsonl", b"{}\n");
        let missing = root.join("missing.jsonl");
        let (files, skipped) = discover(&[
            root.to_path_buf(),
            explicit.clone(),
            PathBuf::from("-"),
            missing.clone(),
            d.clone(),
            hidden_named.clone(),
        ]);
        assert_eq!(files, [a, c, d, e, explicit, PathBuf::from("-"), hidden_named]);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(skipped[0], Skipped { path: notes, reason: SkipReason::Extension });
        assert_eq!(skipped[1].path, missing);
        assert!(matches!(skipped[1].reason, SkipReason::Unreadable(_)));
    }

    #[test]
    fn open_sniffs_files_without_a_known_extension() {
        let dir = tempfile::tempdir().unwrap();
        let jsonl = write(dir.path(), "events.log", b"{\"a\": 1}\n{\"a\": 2}\n");
        let json = write(dir.path(), "events.txt", b"  [{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]");
        let opts = ReadOptions::default();
        let source = open(&jsonl, &opts).unwrap();
        assert_eq!(source.kind(), SourceKind::Jsonl);
        assert_eq!(source.count(), 2);
        let source = open(&json, &opts).unwrap();
        assert_eq!(source.kind(), SourceKind::Json);
        assert_eq!(source.count(), 3);
        assert!(matches!(open(&dir.path().join("nope.jsonl"), &opts), Err(ReadError::Io { .. })));
    }

    #[test]
    fn iterator_batches_and_parallel_reads_agree() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..2000 {
            if i % 250 == 7 {
                text.push_str("{broken\n");
            } else {
                text.push_str(&format!("{{\"n\": {i}, \"pad\": \"{}\"}}\n", "x".repeat(i % 50)));
            }
        }
        let path = write(dir.path(), "many.jsonl", text.as_bytes());
        let opts = ReadOptions::default().with_batch_bytes(4096);

        let mut source = open(&path, &opts).unwrap();
        let items: Vec<_> = source.by_ref().collect();
        let stats = source.stats().clone();
        assert_eq!((stats.events, stats.errors), (1992, 8));
        let numbers: Vec<i64> = items.iter().filter_map(|i| i.as_ref().ok()?.get("n")?.as_i64()).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));

        let mut sequential = Vec::new();
        let stats = open(&path, &opts).unwrap().for_each_batch(|batch| sequential.push(batch));
        assert_eq!((stats.events, stats.errors), (1992, 8));
        assert!(sequential.len() > 5);
        assert!(sequential.iter().enumerate().all(|(i, b)| b.seq == i as u64));

        let parallel = Mutex::new(Vec::new());
        let stats = open(&path, &opts).unwrap().par_for_each_batch(|batch| parallel.lock().unwrap().push(batch));
        assert_eq!((stats.events, stats.errors), (1992, 8));
        let mut parallel = parallel.into_inner().unwrap();
        parallel.sort_by_key(|b| b.seq);
        assert_eq!(parallel.len(), sequential.len());
        for (p, s) in parallel.iter().zip(&sequential) {
            assert_eq!(p.events, s.events);
            assert_eq!(format!("{:?}", p.errors), format!("{:?}", s.errors));
        }
    }

    #[test]
    fn from_reader_reads_memory() {
        let opts = ReadOptions::default();
        let text = b"{\"a\": 1}\nnot json\n{\"a\": 2}\n".to_vec();
        let source = from_reader(Path::new("mem.jsonl"), SourceKind::Jsonl, std::io::Cursor::new(text), &opts).unwrap();
        let items: Vec<_> = source.collect();
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[1], Err(ReadError::JsonLine { line: 2, path, .. }) if path == Path::new("mem.jsonl")));
        let source = from_reader(Path::new("mem.json"), SourceKind::Json, &b"[{\"a\": 1}]"[..], &opts).unwrap();
        assert_eq!(source.count(), 1);
        let err = from_reader(Path::new("mem.evtx"), SourceKind::Evtx, &b"nope"[..], &opts).unwrap_err();
        assert!(matches!(err, ReadError::Format { .. }));
        let Some(corpus) = regression_corpus() else { return };
        let bytes = std::fs::read(corpus.join(crate::testutil::SYSMON_1_EVTX)).unwrap();
        let source = from_reader(Path::new("mem.evtx"), SourceKind::Evtx, std::io::Cursor::new(bytes), &opts).unwrap();
        let events: Vec<_> = source.map(Result::unwrap).collect();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_id(), Some(1));
    }

    #[test]
    fn read_all_reports_every_input() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.jsonl", b"{\"a\": 1}\n{\"a\": 2}\n");
        write(dir.path(), "b.json", b"[{\"a\": 3}]");
        write(dir.path(), "c.evtx", b"not an evtx file");
        write(dir.path(), "d.md", b"# notes");
        let seen = Mutex::new(Vec::new());
        let summary = read_all(&[dir.path().to_path_buf()], &ReadOptions::default(), |batch| {
            let mut seen = seen.lock().unwrap();
            for event in &batch.events {
                seen.push(event.get("a").cloned().unwrap_or_default());
            }
            for error in &batch.errors {
                seen.push(Value::from(error.path().file_name().and_then(|n| n.to_str()).unwrap_or_default()));
            }
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_by_key(|v| v.to_string());
        assert_eq!(seen, [Value::Int(1), Value::Int(2), Value::Int(3), Value::from("c.evtx")]);
        assert_eq!((summary.events(), summary.errors()), (3, 1));
        assert_eq!(summary.sources.len(), 3);
        assert_eq!(summary.skipped.len(), 1);
        assert_eq!(
            summary.sources[2],
            SourceStats { path: dir.path().join("c.evtx"), kind: SourceKind::Evtx, events: 0, errors: 1 }
        );
    }

    #[test]
    fn read_all_on_the_corpus_matches_sequential_reads() {
        let Some(corpus) = regression_corpus() else { return };
        let opts = ReadOptions::default();
        let (files, _) = discover(std::slice::from_ref(&corpus));
        let mut expected = Vec::new();
        for file in &files {
            for item in open(file, &opts).unwrap() {
                expected.push(item.unwrap().to_json().to_string());
            }
        }
        let got = Mutex::new(Vec::new());
        let summary = read_all(&[corpus], &opts, |batch| {
            assert!(batch.errors.is_empty(), "{:?}", batch.errors);
            got.lock().unwrap().extend(batch.events.iter().map(|e| e.to_json().to_string()));
        });
        let mut got = got.into_inner().unwrap();
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
        assert_eq!(summary.events(), expected.len() as u64);
    }
}
