//! The hunt pipeline: read inputs in parallel, match each batch where it was parsed, hand detections to a sink.
//!
//! ```text
//!  inputs ──read_all (rayon: files ∥ units)──▶ Batch ──Engine::matches (same thread)──▶ HuntSink::detections
//! ```
//!
//! Memory stays bounded whatever the input size: the reader keeps about one unit (an EVTX chunk, ~1 MiB of JSON)
//! in flight per thread, a batch is matched on the thread that parsed it and dropped right after, and the sink
//! receives detections batch by batch. Only a sink that buffers (sorting by time) grows with the number of
//! detections — never with the number of events.
//!
//! Order. Batches of one input arrive in any order. Each [`Detection`] carries its event's timestamp and its
//! position (`source`, batch `seq`, index in the batch), so a later stage can restore input order or merge all
//! inputs by time — the stage correlation rules will need. The CLI's `--sort` is such a stage.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sigil_events::{Batch, Event, ReadError, ReadOptions, ReadSummary};
use sigil_rule::Level;

use crate::compile::CompiledRule;
use crate::correlate::{CorrEvent, evaluate};
use crate::engine::{Engine, Match, Scratch};

/// How to hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    pub read: ReadOptions,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Read and parse only; match nothing (the benchmark's baseline).
    pub parse_only: bool,
}

/// One rule matching one event.
#[derive(Debug)]
pub struct Detection<'a> {
    pub rule: &'a CompiledRule,
    pub event: &'a Event,
    /// The input as given (`-` for stdin).
    pub source: &'a Path,
    /// The batch's position in its input, and the event's in the batch: `(seq, index)` orders detections of one
    /// input as the input does.
    pub position: (u64, u32),
    key: Key<'a>,
}

#[derive(Debug)]
enum Key<'a> {
    Match(&'a Engine, Match),
    Owned(&'a [(String, String)]),
}

impl Detection<'_> {
    /// `(Sigma field, value)` of the fields the rule's selections read, as found in the event (through the route
    /// the event matched on: `Image` shows 4688's `NewProcessName`); for a correlation, its group-by values and
    /// the count that met its condition. Computed on demand.
    pub fn key_fields(&self) -> Vec<(String, String)> {
        match &self.key {
            Key::Match(engine, m) => engine.key_fields(*m, self.event),
            Key::Owned(k) => k.to_vec(),
        }
    }
}

/// Receives what the hunt finds, from any worker thread.
pub trait HuntSink: Sync {
    /// The detections of one batch, in input order within it.
    fn detections(&self, detections: &[Detection<'_>]);
    /// A part of an input that could not be read (the reader goes on with the rest).
    fn read_error(&self, error: &ReadError);
    /// Called after each batch with the running totals.
    fn progress(&self, _events: u64, _detections: u64) {}
}

/// Totals of a hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntStats {
    /// Per input: path, format, events read, errors.
    pub read: ReadSummary,
    pub events: u64,
    /// Read errors reported to the sink (a chunk, record, line or value that could not be read, a damaged
    /// file header).
    pub read_errors: u64,
    /// Events those errors lost: records of damaged or cut EVTX chunks, records, lines, values
    /// ([`ReadError::records_lost`]).
    pub records_lost: u64,
    /// Events that no rule's logsource selects and that have neither a `Channel` nor a `Provider_Name` (so no
    /// Windows route could ever select them): usually a log in a shape sigil does not know.
    pub unselected_without_header: u64,
    /// Regular expressions that could not be built when first used (see [`crate::regex_failures`]): 0 unless
    /// something is badly wrong; the events they were tested on could not match them.
    pub regex_failures: u64,
    /// Detections of rules referenced by correlations that had no timestamp, so no correlation could count them.
    pub untimed_for_correlation: u64,
    pub detections: u64,
    /// Detections per level (index = [`Level`] order; rules without a level count as informational).
    pub by_level: [u64; 5],
    /// Detections per rule, indexed like [`Engine::rules`].
    pub by_rule: Vec<u64>,
    pub elapsed: Duration,
}

impl HuntStats {
    /// Inputs that could be opened (at least partly read).
    pub fn inputs_read(&self) -> usize {
        self.read.sources.iter().filter(|s| s.events > 0 || s.errors == 0).count()
    }
}

struct Counters {
    events: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
    unselected: AtomicU64,
    detections: AtomicU64,
    by_level: [AtomicU64; 5],
    by_rule: Vec<AtomicU64>,
}

fn level_index(level: Option<Level>) -> usize {
    match level.unwrap_or(Level::Informational) {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

/// The most worker threads a hunt uses: four per core. Matching is CPU-bound, so more threads only cost memory
/// (one reader unit and one scratch each) and scheduling; a larger `jobs` is clamped to this.
pub fn max_jobs() -> usize {
    std::thread::available_parallelism().map_or(4, |n| n.get()).saturating_mul(4)
}

/// Hunts over files and folders (see [`sigil_events::discover`]).
///
/// # Errors
/// Only when the worker thread pool cannot be created.
pub fn hunt(engine: &Engine, paths: &[PathBuf], opts: &HuntOptions, sink: &dyn HuntSink) -> Result<HuntStats, String> {
    run(engine, opts, sink, |f| sigil_events::read_all(paths, &opts.read, f))
}

/// Hunts over batches already in memory (the bundled sample events, tests).
///
/// # Errors
/// Only when the worker thread pool cannot be created.
pub fn hunt_batches(
    engine: &Engine,
    batches: Vec<Batch>,
    opts: &HuntOptions,
    sink: &dyn HuntSink,
) -> Result<HuntStats, String> {
    use rayon::prelude::*;
    run(engine, opts, sink, |f| {
        let mut summary = ReadSummary::default();
        for b in &batches {
            match summary.sources.iter_mut().find(|s| s.path == *b.source) {
                Some(s) => {
                    s.events += b.events.len() as u64;
                    s.errors += b.errors.len() as u64;
                }
                None => summary.sources.push(sigil_events::SourceStats {
                    path: b.source.to_path_buf(),
                    kind: sigil_events::SourceKind::Jsonl,
                    events: b.events.len() as u64,
                    errors: b.errors.len() as u64,
                }),
            }
        }
        batches.into_par_iter().for_each(f);
        summary
    })
}

/// Parses JSONL text into batches, as the JSONL reader would (one error per malformed line).
pub fn jsonl_batches(source: &Path, text: &str, opts: &ReadOptions) -> Vec<Batch> {
    let mut batch = Batch { source: source.into(), seq: 0, events: Vec::new(), errors: Vec::new() };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Event::from_json_slice(line.as_bytes(), opts) {
            Ok(e) => batch.events.push(e),
            Err(e) => batch.errors.push(ReadError::JsonLine {
                path: source.to_path_buf(),
                line: i as u64 + 1,
                message: e.message,
            }),
        }
    }
    vec![batch]
}

fn run(
    engine: &Engine,
    opts: &HuntOptions,
    sink: &dyn HuntSink,
    read: impl FnOnce(&(dyn Fn(Batch) + Sync + Send)) -> ReadSummary + Send,
) -> Result<HuntStats, String> {
    let started = Instant::now();
    let counters = Counters {
        events: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        unselected: AtomicU64::new(0),
        detections: AtomicU64::new(0),
        by_level: Default::default(),
        by_rule: engine.rules().iter().map(|_| AtomicU64::new(0)).collect(),
    };
    let scratches: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());
    let correlated: Vec<Mutex<Vec<CorrEvent>>> = engine.correlations.iter().map(|_| Mutex::new(Vec::new())).collect();
    let untimed = AtomicU64::new(0);
    let on_batch = |batch: Batch| {
        for e in &batch.errors {
            sink.read_error(e);
        }
        counters.errors.fetch_add(batch.errors.len() as u64, Ordering::Relaxed);
        counters.lost.fetch_add(batch.errors.iter().map(ReadError::records_lost).sum(), Ordering::Relaxed);
        let events =
            counters.events.fetch_add(batch.events.len() as u64, Ordering::Relaxed) + batch.events.len() as u64;
        if opts.parse_only {
            sink.progress(events, counters.detections.load(Ordering::Relaxed));
            return;
        }
        let mut scratch =
            scratches.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_else(|| engine.scratch());
        let mut unselected = 0;
        let mut found: Vec<Match> = Vec::new();
        let mut detections: Vec<Detection<'_>> = Vec::new();
        let mut records: Vec<(u32, CorrEvent)> = Vec::new();
        for (i, event) in batch.events.iter().enumerate() {
            found.clear();
            if !engine.matches(event, &mut scratch, &mut found)
                && event.channel().is_none()
                && event.provider().is_none()
            {
                unselected += 1;
            }
            for m in &found {
                for c in engine.referenced_by.get(m.rule as usize).map_or(&[][..], Vec::as_slice) {
                    let record = engine
                        .correlations
                        .get(*c as usize)
                        .and_then(|corr| corr.record(m.rule, event, &batch.source, (batch.seq, i as u32)));
                    match record {
                        Some(r) => records.push((*c, r)),
                        None => {
                            untimed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if engine.is_silent(m.rule) {
                    continue;
                }
                let Some(rule) = engine.rule(*m) else { continue };
                if let Some(c) = counters.by_rule.get(m.rule as usize) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(c) = counters.by_level.get(level_index(rule.info.level)) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
                detections.push(Detection {
                    rule,
                    event,
                    source: &batch.source,
                    position: (batch.seq, i as u32),
                    key: Key::Match(engine, *m),
                });
            }
        }
        counters.unselected.fetch_add(unselected, Ordering::Relaxed);
        // A poisoned lock (a thread panicked holding it) still holds valid data: never drop records for it.
        for (c, r) in records {
            if let Some(v) = correlated.get(c as usize) {
                v.lock().unwrap_or_else(PoisonError::into_inner).push(r);
            }
        }
        scratches.lock().unwrap_or_else(PoisonError::into_inner).push(scratch);
        let total = counters.detections.fetch_add(detections.len() as u64, Ordering::Relaxed) + detections.len() as u64;
        if !detections.is_empty() {
            sink.detections(&detections);
        }
        sink.progress(events, total);
    };
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(opts.jobs.min(max_jobs())).build().map_err(|e| e.to_string())?;
    let summary = pool.install(|| read(&on_batch));

    // Correlations: every input is read, so their detections can be put in time order.
    for (c, records) in engine.correlations.iter().zip(correlated) {
        let records = records.into_inner().unwrap_or_else(PoisonError::into_inner);
        let alerts = evaluate(c, records);
        let Some(rule) = engine.rules().get(c.shell as usize) else { continue };
        let detections: Vec<Detection<'_>> = alerts
            .iter()
            .map(|a| Detection {
                rule,
                event: &a.event,
                source: &a.source,
                position: a.position,
                key: Key::Owned(&a.key_fields),
            })
            .collect();
        if let Some(n) = counters.by_rule.get(c.shell as usize) {
            n.fetch_add(detections.len() as u64, Ordering::Relaxed);
        }
        if let Some(n) = counters.by_level.get(level_index(rule.info.level)) {
            n.fetch_add(detections.len() as u64, Ordering::Relaxed);
        }
        counters.detections.fetch_add(detections.len() as u64, Ordering::Relaxed);
        if !detections.is_empty() {
            sink.detections(&detections);
        }
    }
    Ok(HuntStats {
        untimed_for_correlation: untimed.load(Ordering::Relaxed),
        events: counters.events.load(Ordering::Relaxed),
        read_errors: counters.errors.load(Ordering::Relaxed),
        records_lost: counters.lost.load(Ordering::Relaxed),
        unselected_without_header: counters.unselected.load(Ordering::Relaxed),
        regex_failures: crate::matcher::regex_failures(),
        detections: counters.detections.load(Ordering::Relaxed),
        by_level: counters.by_level.each_ref().map(|c| c.load(Ordering::Relaxed)),
        by_rule: counters.by_rule.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
        read: summary,
        elapsed: started.elapsed(),
    })
}
