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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sigil_events::{Batch, Event, ReadError, ReadOptions, ReadSummary};
use sigil_rule::Level;

use crate::compile::CompiledRule;
use crate::correlate::{AlertLimits, CorrState, CorrelationAlert, CorrelationDetail, Record};
use crate::engine::{Engine, Match, Scratch};

/// How to hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntOptions {
    /// How inputs are read (formats, checksums, record kinds).
    pub read: ReadOptions,
    /// Worker threads; 0 = one per core.
    pub jobs: usize,
    /// Read and parse only; match nothing (the benchmark's baseline).
    pub parse_only: bool,
    /// Events listed in a correlation alert (`events`); the rest are counted. 0 means the default, 100.
    pub max_correlation_events: usize,
    /// Detections held in correlation windows at most; past it, new ones are not counted (and reported).
    /// 0 means the default, [`DEFAULT_MAX_CORRELATION_STATE`].
    pub max_correlation_state: usize,
    /// Only events in this time window are matched (and seen by correlations); the others are counted in
    /// [`HuntStats::out_of_window`]. An event without a time is outside any window that has a bound.
    pub window: TimeWindow,
}

/// A time window of events: from `from` (inclusive) to `to` (exclusive); an absent bound does not limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeWindow {
    /// The earliest time kept.
    pub from: Option<jiff::Timestamp>,
    /// The first time no longer kept.
    pub to: Option<jiff::Timestamp>,
}

impl TimeWindow {
    /// Whether the window has a bound.
    pub fn is_bounded(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }

    /// Whether an event of this time is in the window (an untimed event is in it only when it has no bound).
    pub fn contains(&self, t: Option<jiff::Timestamp>) -> bool {
        match t {
            None => !self.is_bounded(),
            Some(t) => self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t < to),
        }
    }
}

/// Default of [`HuntOptions::max_correlation_state`].
pub const DEFAULT_MAX_CORRELATION_STATE: usize = 10_000_000;
/// Default of [`HuntOptions::max_correlation_events`].
pub const DEFAULT_MAX_CORRELATION_EVENTS: usize = 100;

/// One rule matching one event.
#[derive(Debug)]
pub struct Detection<'a> {
    /// The rule that matched.
    pub rule: &'a CompiledRule,
    /// The event it matched.
    pub event: &'a Event,
    /// The input as given (`-` for stdin).
    pub source: &'a Path,
    /// The batch's position in its input, and the event's in the batch: `(seq, index)` orders detections of one
    /// input as the input does.
    pub position: (u64, u32),
    /// For a correlation alert: why it fired (group, value, window, events).
    pub correlation: Option<&'a CorrelationDetail>,
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

    /// Why the rule matched (see [`Engine::explain_match`]): evaluated again on demand, only when asked, so the
    /// hunt's matching is the same with or without it. `None` for a correlation alert.
    pub fn explanation(&self) -> Option<crate::Explanation> {
        match &self.key {
            Key::Match(engine, m) => engine.explain_match(*m, self.event),
            Key::Owned(_) => None,
        }
    }
}

/// Receives what the hunt finds, from any worker thread.
pub trait HuntSink: Sync {
    /// The detections of one batch, in input order within it.
    fn detections(&self, detections: &[Detection<'_>]);
    /// A part of an input that could not be read (the reader goes on with the rest).
    fn read_error(&self, error: &ReadError);
    /// Called after each batch with the running totals (taken when the batch ends: calls from different threads
    /// may arrive out of order, so a sink showing them keeps the largest).
    fn progress(&self, _events: u64, _detections: u64) {}
    /// The events of a batch (those in [`HuntOptions::window`]), before they are matched: for a sink that counts
    /// events by computer or time. Called from any worker thread.
    fn events(&self, _source: &Path, _events: &[Event]) {}
}

/// Totals of a hunt.
#[derive(Debug, Clone, Default)]
pub struct HuntStats {
    /// Per input: path, format, events read, errors.
    pub read: ReadSummary,
    /// Events read.
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
    /// Whether correlations were evaluated as the input streamed by (one input, in time order) rather than after
    /// the last event.
    pub correlation_streamed: bool,
    /// Detections that reached a correlation more than its timespan after a later one (input not in time order):
    /// windows they belonged to may have been judged already.
    pub correlation_late: u64,
    /// Detections not counted by correlations because `max_correlation_state` was reached.
    pub correlation_dropped: u64,
    /// The most detections held in correlation windows at once.
    pub correlation_peak_state: usize,
    /// Per filter of [`Engine::filters`]: detections it removed.
    pub filter_removed: Vec<u64>,
    /// Detections reported to the sink (correlation alerts included).
    pub detections: u64,
    /// Events read but outside [`HuntOptions::window`] (not matched).
    pub out_of_window: u64,
    /// Detections per level (index = [`Level`] order; rules without a level count as informational).
    pub by_level: [u64; 5],
    /// Detections per rule, indexed like [`Engine::rules`].
    pub by_rule: Vec<u64>,
    /// Wall-clock time of the hunt.
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
    out_of_window: AtomicU64,
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

/// Why a hunt could not run.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// The worker thread pool could not be created.
    #[error("{0}")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
}

/// Hunts over files and folders (see [`sigil_events::discover`]). With one input (a file or stdin),
/// correlations are evaluated as it streams by; with several, after the last event.
///
/// # Errors
/// Only when the worker thread pool cannot be created.
pub fn hunt(
    engine: &Engine,
    paths: &[PathBuf],
    opts: &HuntOptions,
    sink: &dyn HuntSink,
) -> Result<HuntStats, HuntError> {
    let stream = !engine.correlations.is_empty() && sigil_events::discover(paths).0.len() == 1;
    run(engine, opts, sink, stream, |f| sigil_events::read_all(paths, &opts.read, f))
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
) -> Result<HuntStats, HuntError> {
    use rayon::prelude::*;
    let mut sources: Vec<&Path> = batches.iter().map(|b| &*b.source).collect();
    sources.sort();
    sources.dedup();
    let stream = sources.len() == 1;
    run(engine, opts, sink, stream, |f| {
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

/// A detection of a referenced rule on its way to a correlation.
struct Pending {
    corr: u32,
    rec: Record,
    /// The event is `events[index]`: streaming, the whole batch shared (it is fed and dropped soon); otherwise a
    /// copy of the one event (buffered until the last event, so no batch is kept alive).
    events: Arc<Vec<Event>>,
    index: u32,
    position: (u64, u32),
}

/// Correlation evaluation across batches: puts records in order and feeds the correlations' states.
struct Correlator<'e> {
    engine: &'e Engine,
    limits: AlertLimits,
    max_state: usize,
    states: Vec<CorrState>,
    /// Streaming: batches wait here until every batch before them (by `seq`) has been fed.
    stream: bool,
    next_seq: u64,
    waiting: BTreeMap<u64, Vec<Pending>>,
    /// Not streaming: every record, fed in time order after the last event.
    buffered: Vec<Pending>,
    fed_since_sweep: usize,
    dropped: u64,
    peak: usize,
}

impl Correlator<'_> {
    fn held(&self) -> usize {
        self.states.iter().map(|s| s.held).sum()
    }

    /// Takes the records of one batch; returns the alerts that are known now.
    fn batch(&mut self, seq: u64, records: Vec<Pending>, out: &mut Vec<CorrelationAlert>) {
        if !self.stream {
            self.buffered.extend(records);
            return;
        }
        self.waiting.insert(seq, records);
        while let Some(records) = self.waiting.remove(&self.next_seq) {
            self.next_seq += 1;
            for p in records {
                self.feed_pending(p, out);
            }
        }
    }

    fn feed_pending(&mut self, p: Pending, out: &mut Vec<CorrelationAlert>) {
        let Pending { corr, rec, events, index, position } = p;
        if let Some(event) = events.get(index as usize) {
            self.feed(corr, rec, event, position, out);
        }
    }

    fn feed(&mut self, corr: u32, rec: Record, event: &Event, position: (u64, u32), out: &mut Vec<CorrelationAlert>) {
        let engine = self.engine;
        let Some(c) = engine.correlations.get(corr as usize) else { return };
        self.fed_since_sweep += 1;
        let groups: usize = self.states.iter().map(CorrState::groups).sum();
        if self.fed_since_sweep > groups.max(4096) {
            self.sweep(false, out);
        }
        let held = self.held();
        self.peak = self.peak.max(held);
        if held >= self.max_state {
            self.sweep(false, out);
            if self.held() >= self.max_state {
                self.dropped += 1;
                return;
            }
        }
        let mut alerts = Vec::new();
        if let Some(state) = self.states.get_mut(corr as usize) {
            state.feed(c, rec, event, position, self.limits, &mut alerts);
        }
        self.chain(alerts, out);
    }

    /// Hands alerts to the correlations that reference their correlation, then to `out`.
    fn chain(&mut self, alerts: Vec<CorrelationAlert>, out: &mut Vec<CorrelationAlert>) {
        let engine = self.engine;
        for a in alerts {
            let outers = engine.referenced_by.get(a.rule as usize).map_or(&[][..], Vec::as_slice);
            if outers.is_empty() {
                out.push(a);
                continue;
            }
            // The inner alert leaves first, then what it completes.
            let (rule, event, group, source, position) =
                (a.rule, a.event.clone(), a.detail.group.clone(), Arc::clone(&a.source), a.position);
            let time = Some(a.detail.last.as_nanosecond());
            out.push(a);
            for outer in outers {
                let Some(oc) = engine.correlations.get(*outer as usize) else { continue };
                if let Some(rec) = oc.record(rule, &event, time, &group, &source) {
                    self.feed(*outer, rec, &event, position, out);
                }
            }
        }
    }

    /// Drops the windows that have passed (judging those judged at close); with `all`, every window.
    fn sweep(&mut self, all: bool, out: &mut Vec<CorrelationAlert>) {
        self.fed_since_sweep = 0;
        // In dependency order, so an inner correlation's last alerts reach the outer one before it is swept.
        for i in 0..self.states.len() {
            let mut alerts = Vec::new();
            if let (Some(c), Some(state)) = (self.engine.correlations.get(i), self.states.get_mut(i)) {
                state.sweep(c, all, self.limits, &mut alerts);
            }
            self.chain(alerts, out);
        }
    }

    /// After the last event: feeds what is left, in time order, and judges every open window.
    fn finish(&mut self, out: &mut Vec<CorrelationAlert>) {
        let waiting = std::mem::take(&mut self.waiting);
        for p in waiting.into_values().flatten() {
            self.feed_pending(p, out);
        }
        let mut buffered = std::mem::take(&mut self.buffered);
        buffered
            .sort_by(|a, b| (a.rec.time, &*a.rec.source, a.position).cmp(&(b.rec.time, &*b.rec.source, b.position)));
        for p in buffered {
            self.feed_pending(p, out);
        }
        self.sweep(true, out);
    }
}

fn run(
    engine: &Engine,
    opts: &HuntOptions,
    sink: &dyn HuntSink,
    stream: bool,
    read: impl FnOnce(&(dyn Fn(Batch) + Sync + Send)) -> ReadSummary + Send,
) -> Result<HuntStats, HuntError> {
    let started = Instant::now();
    let counters = Counters {
        events: AtomicU64::new(0),
        out_of_window: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        unselected: AtomicU64::new(0),
        detections: AtomicU64::new(0),
        by_level: Default::default(),
        by_rule: engine.rules().iter().map(|_| AtomicU64::new(0)).collect(),
    };
    let scratches: Mutex<Vec<Scratch>> = Mutex::new(Vec::new());
    let correlator = Mutex::new(Correlator {
        engine,
        limits: AlertLimits {
            max_events: if opts.max_correlation_events == 0 {
                DEFAULT_MAX_CORRELATION_EVENTS
            } else {
                opts.max_correlation_events
            },
        },
        max_state: if opts.max_correlation_state == 0 {
            DEFAULT_MAX_CORRELATION_STATE
        } else {
            opts.max_correlation_state
        },
        states: engine.correlations.iter().map(|c| c.state()).collect(),
        stream,
        next_seq: 0,
        waiting: BTreeMap::new(),
        buffered: Vec::new(),
        fed_since_sweep: 0,
        dropped: 0,
        peak: 0,
    });
    let untimed = AtomicU64::new(0);
    let emit = |alerts: &[CorrelationAlert]| {
        let mut detections = Vec::new();
        for a in alerts {
            if engine.is_silent(a.rule) {
                continue;
            }
            let Some(rule) = engine.rules().get(a.rule as usize) else { continue };
            if let Some(n) = counters.by_rule.get(a.rule as usize) {
                n.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(n) = counters.by_level.get(level_index(rule.info.level)) {
                n.fetch_add(1, Ordering::Relaxed);
            }
            detections.push(Detection {
                rule,
                event: &a.event,
                source: &a.source,
                position: a.position,
                correlation: Some(&a.detail),
                key: Key::Owned(&a.key_fields),
            });
        }
        counters.detections.fetch_add(detections.len() as u64, Ordering::Relaxed);
        if !detections.is_empty() {
            sink.detections(&detections);
        }
    };
    let on_batch = |mut batch: Batch| {
        for e in &batch.errors {
            sink.read_error(e);
        }
        counters.errors.fetch_add(batch.errors.len() as u64, Ordering::Relaxed);
        counters.lost.fetch_add(batch.errors.iter().map(ReadError::records_lost).sum(), Ordering::Relaxed);
        counters.events.fetch_add(batch.events.len() as u64, Ordering::Relaxed);
        if opts.window.is_bounded() {
            let before = batch.events.len();
            batch.events.retain(|e| opts.window.contains(e.timestamp()));
            counters.out_of_window.fetch_add((before - batch.events.len()) as u64, Ordering::Relaxed);
        }
        sink.events(&batch.source, &batch.events);
        if opts.parse_only {
            let events = counters.events.load(Ordering::Relaxed);
            sink.progress(events, counters.detections.load(Ordering::Relaxed));
            return;
        }
        let mut scratch =
            scratches.lock().unwrap_or_else(PoisonError::into_inner).pop().unwrap_or_else(|| engine.scratch());
        let mut unselected = 0;
        let mut found: Vec<Match> = Vec::new();
        let mut detections: Vec<Detection<'_>> = Vec::new();
        let mut records: Vec<(u32, Record, u32)> = Vec::new();
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
                        .and_then(|corr| corr.record(m.rule, event, None, &[], &batch.source));
                    match record {
                        Some(rec) => records.push((*c, rec, i as u32)),
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
                    correlation: None,
                    key: Key::Match(engine, *m),
                });
            }
        }
        counters.unselected.fetch_add(unselected, Ordering::Relaxed);
        // A poisoned lock (a thread panicked holding it) still holds valid data: never drop state for it.
        scratches.lock().unwrap_or_else(PoisonError::into_inner).push(scratch);
        let total = counters.detections.fetch_add(detections.len() as u64, Ordering::Relaxed) + detections.len() as u64;
        if !detections.is_empty() {
            sink.detections(&detections);
        }
        drop(detections);
        let seq = batch.seq;
        let pending: Vec<Pending> = if stream {
            let shared = Arc::new(std::mem::take(&mut batch.events));
            records
                .into_iter()
                .map(|(corr, rec, index)| Pending {
                    corr,
                    rec,
                    events: Arc::clone(&shared),
                    index,
                    position: (seq, index),
                })
                .collect()
        } else {
            let mut last: Option<(u32, Arc<Vec<Event>>)> = None;
            let mut out = Vec::with_capacity(records.len());
            for (corr, rec, index) in records {
                let events = match &last {
                    Some((i, e)) if *i == index => Arc::clone(e),
                    _ => {
                        let e = Arc::new(batch.events.get(index as usize).cloned().into_iter().collect::<Vec<_>>());
                        last = Some((index, Arc::clone(&e)));
                        e
                    }
                };
                out.push(Pending { corr, rec, events, index: 0, position: (seq, index) });
            }
            out
        };
        if !engine.correlations.is_empty() {
            // A poisoned lock still holds valid state: never drop correlation records for it.
            let mut c = correlator.lock().unwrap_or_else(PoisonError::into_inner);
            let mut alerts = Vec::new();
            c.batch(seq, pending, &mut alerts);
            // Emitted under the lock so that alerts leave in the order they were found.
            emit(&alerts);
        }
        sink.progress(counters.events.load(Ordering::Relaxed), total);
    };
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs.min(max_jobs())).build()?;
    let summary = pool.install(|| read(&on_batch));

    let mut correlator = correlator.into_inner().unwrap_or_else(PoisonError::into_inner);
    let mut alerts = Vec::new();
    correlator.finish(&mut alerts);
    emit(&alerts);
    let mut filter_removed = vec![0u64; engine.filters().len()];
    for s in scratches.into_inner().unwrap_or_else(PoisonError::into_inner) {
        for (total, n) in filter_removed.iter_mut().zip(s.filter_removed()) {
            *total += n;
        }
    }
    Ok(HuntStats {
        untimed_for_correlation: untimed.load(Ordering::Relaxed),
        correlation_streamed: stream,
        correlation_late: correlator.states.iter().map(|s| s.late).sum(),
        correlation_dropped: correlator.dropped,
        correlation_peak_state: correlator.peak,
        filter_removed,
        events: counters.events.load(Ordering::Relaxed),
        out_of_window: counters.out_of_window.load(Ordering::Relaxed),
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
