//! Event sources: EVTX, JSON, JSONL and stdin readers producing flat Sigma events, and readers
//! of the logs of other products: CloudTrail and other cloud audit logs (JSON, JSONL, gzip,
//! `{"Records": [...]}`), auditd, syslog with Sysmon for Linux, web / proxy access logs (Common
//! and Combined Log Format, W3C), Zeek TSV and Santa.
//!
//! This crate owns reading events and giving them the flat field names Sigma rules use. It
//! knows nothing of rules: matching, field mappings between log sources and output belong to
//! `sigil_engine` and the binary.
//!
//! Entry points: [`open`] one input and iterate its [`Event`]s, or [`read_all`] inputs in
//! parallel with a batch callback; [`discover`] expands folders.
//!
//! ```no_run
//! use sigil_events::{ReadOptions, open};
//!
//! let source = open("Security.evtx".as_ref(), &ReadOptions::default())?;
//! for item in source {
//!     match item {
//!         Ok(event) if event.event_id() == Some(4688) => println!("{:?}", event.get("CommandLine")),
//!         Ok(_) => {}
//!         Err(err) => eprintln!("{err}"),
//!     }
//! }
//! # Ok::<(), sigil_events::ReadError>(())
//! ```
//!
//! # Field names
//!
//! Windows records (EVTX, or JSON in the evtx crate's layout `{"Event": {"System": ...,
//! "EventData": ...}}`, with or without the `Event` wrapper) are flattened to leaf names:
//!
//! | XML | field |
//! |---|---|
//! | `System/EventID` (also with `Qualifiers`) | `EventID` (integer), `EventID_Qualifiers` |
//! | `System/Provider/@Name`, `@Guid`, `@EventSourceName` | `Provider_Name`, `Provider_Guid`, `Provider_EventSourceName` |
//! | `System/TimeCreated/@SystemTime` | `TimeCreated` (string, as rendered), also [`Event::timestamp`] |
//! | `System/Execution/@ProcessID`, `@ThreadID` | `Execution_ProcessID`, `Execution_ThreadID` |
//! | `System/Security/@UserID` | `Security_UserID` |
//! | `System/Correlation/@ActivityID` | `Correlation_ActivityID` |
//! | `System/Channel`, `Computer`, `EventRecordID`, `Level`, `Task`, `Opcode`, `Keywords`, `Version` | same name |
//! | `EventData/Data[@Name="Image"]` | `Image` |
//! | unnamed `EventData/Data` elements | `Data` (a list when there are several) |
//! | `UserData/X/Y` (any depth) | `Y`, leaf name only |
//! | an element's attribute `a` | `Element_a` (`xmlns` declarations are dropped) |
//! | an element's text next to attributes | the element's name |
//! | `RenderingInfo/Message` | `RenderingInfo.Message` |
//!
//! The rule is the one behind SigmaHQ's common fields (`Provider_Name`, `Security_UserID`):
//! a leaf element is named by itself, an attribute by `element_attribute`. `System` numbers
//! rendered as strings become integers; null `System` elements (an empty `Correlation`) are
//! left out. A data field named like a system field (Sysmon 4's `Version`) is kept as a
//! second field, and [`Event::get`] returns the data one; except for the fields routing and
//! output read (`Channel`, `Computer`, `Provider_Name`, `EventID`): such a data field is named
//! `UserData.<name>` / `EventData.<name>` (EventLog 104's cleared-log `Channel` is
//! `UserData.Channel`), so that `Channel` is always the record's own.
//!
//! Values keep the type and text the record has. EVTX values are rendered as Windows shows
//! them: GUIDs in braces and lower case, times with 100 ns digits, trailing blanks kept
//! (Sysmon command lines often end in a space), hex numbers as strings (`"0x1a2c"`, which
//! [`Value::as_f64`] reads as a number).
//!
//! Other JSON objects keep their structure in dotted names: `{"a": {"b": 1}}` gives `a.b`.
//! An array of scalars is one [`Value::List`]; the objects of an array are flattened under
//! the array's name, values of a repeated name collected into a list
//! (`{"r": [{"id": 1}, {"id": 2}]}` gives `r.id = [1, 2]`). Events already flat (as
//! `bench/gen_jsonl.py` writes them, or as [`Event::to_json`] prints them) read back as they
//! are.
//!
//! # Logs other than Windows
//!
//! [`open`] recognises a file's format from its content when its name does not say it
//! ([`SourceKind`]; [`ReadOptions::input_kind`] overrides), decompresses gzip and looks through
//! JSON envelopes. Events of these logs carry a [`RecordKind`] ([`Event::kind`]): for JSON, from
//! the record's shape (`aws.cloudtrail`, `okta.system`, `gcp.audit`, `zeek.dns`, ...), for text
//! formats from the reader (`linux.auditd`, `linux.syslog`, `linux.sysmon`, `web.access`, ...).
//! The kind, not a field, is what routing selects on, and it names the fields that give the
//! event's time, host, account and "channel" equivalent ([`Event::display_channel`], ...). The
//! field names of each format are described in the modules of `src/formats/`; JSON ones follow
//! the rules below (dotted paths, arrays as lists). JSON of no recognised shape has no kind and
//! is treated as a Windows event, as before.
//!
//! # Order and batching
//!
//! Events of one input come out in input order: EVTX records in record order (from the
//! oldest chunk, as Windows reads a log that has wrapped around), JSON values and JSONL lines
//! as written. Each event has a [`timestamp`](Event::timestamp) so that a later stage (e.g.
//! correlation rules) can merge inputs by time; this crate does not merge inputs.
//!
//! Inputs are cut into units (an EVTX chunk of 64 KiB, or about
//! [`ReadOptions::batch_bytes`] of JSON) and each unit becomes one [`Batch`]. Reading and
//! cutting is sequential I/O; parsing a unit is independent CPU work, which
//! [`Source::par_for_each_batch`] and [`read_all`] run on the current rayon pool, handing each
//! batch to the callback on the thread that parsed it. No thread ever waits on another task
//! of the pool, so the callback may itself use rayon, and memory stays bounded by about one
//! unit per thread. The engine is meant to match a batch right in the callback, while its
//! events are hot in cache; batches of one input may then finish out of order, and
//! [`Batch::seq`] restores it when needed.
//!
//! # Errors
//!
//! A corrupt EVTX chunk or record, a malformed JSONL line or JSON value is reported as one
//! [`ReadError`] (naming the file and the chunk, record, line or value) and reading goes on;
//! a malformed line or value gives no events, only its error, and
//! [`ReadError::records_lost`] counts the events each error cost. EVTX chunks are checked
//! against their CRC32 checksums; a truncated EVTX file is reported, and the records wholly
//! before the cut are still read (never a partial one); a damaged file header does not lose
//! the chunks behind it (see the `evtx` module). Nothing in the readers panics on bad input;
//! a panic inside the EVTX parser is caught and reported as an error for its chunk. JSON
//! nested deeper than 64 levels, objects or arrays, anywhere, is an error for that record,
//! not a stack overflow.
//!
//! # Performance
//!
//! Measured on the SigmaHQ regression samples made into one 1,000-chunk log
//! (`bench/gen_evtx.py`), one core: about 4.5 µs CPU per EVTX record (0.84× the 5.3 µs, in
//! the same run, of the evtx crate parsing each record, rendering it to JSON and sigil
//! flattening that JSON);
//! about 2.6 µs per line of 1 KB JSONL (`bench/gen_jsonl.py`). EVTX records are decoded
//! straight from their BinXML into the event (`evtx_direct`): each template definition of a
//! chunk is parsed once and compiled into the layout the crate's JSON renderer gives its
//! instances, and per record only the substitution values are read, through the same
//! flattening visitors as JSON; a chunk whose records all decode that way (99 % of the
//! regression and benchmark records) does not go through the crate's record iterator at all.
//! The first record of each layout in a chunk (its templates, and which of its values are
//! empty) leaves a trace of how it flattened: the records after it share its field names
//! and have each value converted straight from its substitution, without the visitors.
//! Records it does not handle with certainty take the JSON path, and tests prove both paths
//! give identical events on every regression record. What makes the JSON path fast: the flattening visitors
//! write names and values straight into the event (no JSON tree); sonic-rs parses (about 15%
//! faster than serde_json here); one deserializer parses a whole unit, so its unescaping
//! buffer grows once (about 10%); [`Value::Str`] is a [`CompactString`] (about 10%, from
//! fewer allocations). The binary may gain more from a faster global allocator: glibc's
//! malloc and free are still 10% (EVTX) to 14% (JSONL) of the instructions, counting the
//! consumer dropping the events.

#![warn(missing_docs, unreachable_pub, clippy::indexing_slicing)]

mod error;
mod event;
mod evtx;
mod evtx_direct;
mod flatten;
mod formats;
mod json;
mod source;
mod time;
mod value;

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::{Path, PathBuf};

    /// The SigmaHQ regression corpus in `../shared` beside the repository; see
    /// `tests/common/mod.rs`.
    pub(crate) fn regression_corpus() -> Option<PathBuf> {
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

    /// A small deterministic random number generator (xorshift64) for the damage tests: the same `seed`
    /// gives the same damage on every run, so a failure can be replayed.
    pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// A Sysmon process-creation log of the corpus: file header and one chunk, two records.
    pub(crate) const SYSMON_1_EVTX: &str = "regression_data/rules-emerging-threats/2026/Exploits/CVE-2026-33829/proc_creation_win_exploit_cve_2026_33829/7c3a5b1d-9e2f-4a8c-b5d7-1e0f3c6a9b2d.evtx";
}

pub use error::{ParseError, ReadError, Result};
pub use event::Event;
pub use formats::RecordKind;
pub use source::{
    Batch, InputKind, ReadSummary, SkipReason, Skipped, Source, SourceKind, SourceStats, UnknownInputKind, discover,
    from_bytes, from_reader, open, read_all,
};
pub use value::{CompactString, Value};

/// How inputs are read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Fields whose value is the event time, tried in order, for events that are not Windows
    /// records (and Windows records without `TimeCreated`). Values may be RFC 3339 strings,
    /// `YYYY-MM-DD HH:MM:SS[.fff]` (UTC), or epoch seconds / milliseconds / microseconds /
    /// nanoseconds. Default: `@timestamp`, `timestamp`, `TimeCreated`, `UtcTime`.
    pub timestamp_fields: Vec<String>,
    /// Verify each EVTX chunk's header and event-records CRC32 checksums; the records of a
    /// chunk that fails are not read, and counted as lost in its error. Default `true`, so
    /// that a damaged record is never read as if it were whole; `false` reads them anyway
    /// (as forensic tools offer).
    pub validate_checksums: bool,
    /// About how many bytes of JSON / JSONL make one unit of work (one [`Batch`]).
    /// Default 1 MiB.
    pub batch_bytes: usize,
    /// Largest JSONL line or JSON value accepted, in bytes. A longer JSONL line is reported
    /// and skipped; a longer JSON value ends the input. Default 64 MiB.
    pub max_event_bytes: usize,
    /// The format of every input, or the kind of their records, instead of what names and
    /// contents say (`--input-kind`). Default `None`.
    pub input_kind: Option<InputKind>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            timestamp_fields: ["@timestamp", "timestamp", "TimeCreated", "UtcTime"].map(String::from).to_vec(),
            validate_checksums: true,
            batch_bytes: 1 << 20,
            max_event_bytes: 64 << 20,
            input_kind: None,
        }
    }
}

impl ReadOptions {
    /// Use `fields` as [`ReadOptions::timestamp_fields`].
    #[must_use]
    pub fn with_timestamp_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.timestamp_fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Set [`ReadOptions::validate_checksums`].
    #[must_use]
    pub fn with_validate_checksums(mut self, validate: bool) -> Self {
        self.validate_checksums = validate;
        self
    }

    /// Set [`ReadOptions::batch_bytes`].
    #[must_use]
    pub fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }

    /// Set [`ReadOptions::input_kind`].
    #[must_use]
    pub fn with_input_kind(mut self, kind: Option<InputKind>) -> Self {
        self.input_kind = kind;
        self
    }

    /// Set [`ReadOptions::max_event_bytes`].
    #[must_use]
    pub fn with_max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }
}
