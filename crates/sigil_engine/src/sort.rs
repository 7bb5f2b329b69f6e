//! A time-ordered merge of detections from every input, with bounded memory.
//!
//! Records (a sort key and an opaque payload, e.g. a rendered output line) are buffered; past a memory budget
//! the buffer is sorted and spilled to a temporary file as a run, and [`TimeSorter::finish`] merges the runs.
//! Memory therefore stays at about the budget however many detections there are; disk holds the rest.
//!
//! The key orders by timestamp, then input, then position in the input, so detections of events without a
//! timestamp keep their input order (after every timestamped one) and equal timestamps are deterministic. This
//! is the stage correlation rules will build on: they need events of all inputs in time order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

/// Where a record sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SortKey {
    /// Nanoseconds since the Unix epoch; `i128::MAX` for "no timestamp" (sorts last).
    pub time: i128,
    /// Index of the input (in the order inputs were given).
    pub source: u32,
    /// Batch sequence number within the input.
    pub seq: u64,
    /// Position within the batch (event index, then detection index).
    pub index: u64,
}

impl SortKey {
    /// The key of a detection: its event time (none sorts last), input, batch and position in the batch.
    pub fn new(time: Option<jiff::Timestamp>, source: u32, seq: u64, index: u64) -> SortKey {
        SortKey { time: time.map_or(i128::MAX, |t| t.as_nanosecond()), source, seq, index }
    }

    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(&self.time.to_le_bytes())?;
        w.write_all(&self.source.to_le_bytes())?;
        w.write_all(&self.seq.to_le_bytes())?;
        w.write_all(&self.index.to_le_bytes())
    }

    fn read(r: &mut impl Read) -> std::io::Result<Option<SortKey>> {
        let mut time = [0u8; 16];
        match r.read_exact(&mut time) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut source = [0u8; 4];
        let mut seq = [0u8; 8];
        let mut index = [0u8; 8];
        r.read_exact(&mut source)?;
        r.read_exact(&mut seq)?;
        r.read_exact(&mut index)?;
        Ok(Some(SortKey {
            time: i128::from_le_bytes(time),
            source: u32::from_le_bytes(source),
            seq: u64::from_le_bytes(seq),
            index: u64::from_le_bytes(index),
        }))
    }
}

/// Sorts records by [`SortKey`], spilling to temporary files past `budget` bytes.
///
/// The budget is kept by construction: payloads are copied one after the other into one buffer (no allocation
/// per record, no capacity slack per record), and the buffer and the index of records only grow up to their
/// share of the budget, counted by capacity; a record that does not fit spills the buffer first.
#[derive(Debug)]
pub struct TimeSorter {
    /// Bytes the payload buffer may reach (by capacity).
    arena_limit: usize,
    /// Records the index may hold.
    entries_limit: usize,
    /// Payloads, one after the other.
    arena: Vec<u8>,
    /// Key, start and length in `arena` of each record.
    entries: Vec<(SortKey, usize, usize)>,
    runs: Vec<File>,
}

const ENTRY_BYTES: usize = std::mem::size_of::<(SortKey, usize, usize)>();

impl TimeSorter {
    /// A sorter that keeps at most about `budget` bytes in memory (payloads and their index), however many
    /// records it is given.
    pub fn new(budget: usize) -> TimeSorter {
        let budget = budget.max(2 * ENTRY_BYTES);
        TimeSorter {
            arena_limit: budget - budget / 8,
            entries_limit: (budget / 8 / ENTRY_BYTES).max(1),
            arena: Vec::new(),
            entries: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// Bytes held in memory now: the capacity of the payload buffer and of the index.
    pub fn memory(&self) -> usize {
        self.arena.capacity() + self.entries.capacity() * ENTRY_BYTES
    }

    /// Adds a record.
    ///
    /// # Errors
    /// When a run cannot be written to the temporary directory.
    pub fn push(&mut self, key: SortKey, payload: impl AsRef<[u8]>) -> std::io::Result<()> {
        let payload = payload.as_ref();
        if payload.len() > self.arena_limit {
            // Larger than the whole buffer: a run of its own.
            self.spill()?;
            let mut w = BufWriter::new(tempfile::tempfile()?);
            write_record(&mut w, &key, payload)?;
            return self.add_run(w);
        }
        if !self.fits(payload.len()) {
            self.spill()?;
        }
        let need = self.arena.len() + payload.len();
        if need > self.arena.capacity() {
            let grown = need.max(self.arena.capacity().saturating_mul(2)).max(4096).min(self.arena_limit);
            self.arena.reserve_exact(grown - self.arena.len());
        }
        if self.entries.len() == self.entries.capacity() {
            let grown = (self.entries.capacity().saturating_mul(2)).max(64).min(self.entries_limit);
            self.entries.reserve_exact(grown - self.entries.len());
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(payload);
        self.entries.push((key, start, payload.len()));
        Ok(())
    }

    /// Whether a payload of `len` bytes fits in the budget without spilling.
    fn fits(&self, len: usize) -> bool {
        self.arena.len() + len <= self.arena_limit && self.entries.len() < self.entries_limit
    }

    fn payload(&self, start: usize, len: usize) -> &[u8] {
        self.arena.get(start..start + len).unwrap_or_default()
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        // Keys are unique (input, batch, index), so an unstable sort is deterministic and needs no buffer.
        self.entries.sort_unstable_by_key(|r| r.0);
        let mut w = BufWriter::new(tempfile::tempfile()?);
        for (k, start, len) in &self.entries {
            write_record(&mut w, k, self.payload(*start, *len))?;
        }
        self.entries.clear();
        self.arena.clear();
        self.add_run(w)
    }

    fn add_run(&mut self, w: BufWriter<File>) -> std::io::Result<()> {
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        std::io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        Ok(())
    }

    /// Number of runs spilled to disk so far.
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Calls `f` with every payload in key order.
    ///
    /// # Errors
    /// When a run cannot be read back, or `f` fails.
    pub fn finish(mut self, mut f: impl FnMut(&SortKey, &[u8]) -> std::io::Result<()>) -> std::io::Result<()> {
        if self.runs.is_empty() {
            self.entries.sort_unstable_by_key(|r| r.0);
            for (k, start, len) in &self.entries {
                f(k, self.payload(*start, *len))?;
            }
            return Ok(());
        }
        self.spill()?;
        self.arena = Vec::new();
        self.entries = Vec::new();
        let mut readers: Vec<BufReader<File>> = self.runs.drain(..).map(BufReader::new).collect();
        let mut heap: BinaryHeap<Reverse<(SortKey, usize, Vec<u8>)>> = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((k, p)) = read_record(r)? {
                heap.push(Reverse((k, i, p)));
            }
        }
        while let Some(Reverse((k, i, p))) = heap.pop() {
            f(&k, &p)?;
            if let Some(r) = readers.get_mut(i)
                && let Some((k, p)) = read_record(r)?
            {
                heap.push(Reverse((k, i, p)));
            }
        }
        Ok(())
    }
}

fn write_record(w: &mut impl Write, k: &SortKey, payload: &[u8]) -> std::io::Result<()> {
    k.write(w)?;
    w.write_all(&(payload.len() as u64).to_le_bytes())?;
    w.write_all(payload)
}

fn read_record(r: &mut impl Read) -> std::io::Result<Option<(SortKey, Vec<u8>)>> {
    let Some(k) = SortKey::read(r)? else { return Ok(None) };
    let mut len = [0u8; 8];
    r.read_exact(&mut len)?;
    let len = usize::try_from(u64::from_le_bytes(len)).map_err(|_| std::io::Error::other("record too large"))?;
    let mut p = vec![0u8; len];
    r.read_exact(&mut p)?;
    Ok(Some((k, p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(budget: usize) -> (Vec<u8>, usize) {
        let mut s = TimeSorter::new(budget);
        let times = [5i64, 1, 4, 1, 3, 9, 2, 6];
        for (i, t) in times.iter().enumerate() {
            let ts = jiff::Timestamp::from_second(*t).unwrap();
            s.push(SortKey::new(Some(ts), 0, 0, i as u64), vec![b'0' + *t as u8]).unwrap();
        }
        s.push(SortKey::new(None, 0, 0, 99), b"-").unwrap();
        let runs = s.spilled_runs();
        let mut out = Vec::new();
        s.finish(|_, p| {
            out.extend_from_slice(p);
            Ok(())
        })
        .unwrap();
        (out, runs)
    }

    #[test]
    fn sorts_in_memory_and_through_spilled_runs() {
        let (mem, runs) = run(1 << 20);
        assert_eq!(runs, 0);
        assert_eq!(mem, b"11234569-");
        let (disk, runs) = run(130);
        assert!(runs >= 3, "{runs}");
        assert_eq!(disk, b"11234569-");
    }

    /// Memory never passes the budget, whatever the payload sizes, and every record comes out in order.
    #[test]
    fn memory_stays_within_the_budget() {
        let budget = 64 << 10;
        let mut s = TimeSorter::new(budget);
        let mut peak = 0;
        let mut state = 7u64;
        for i in 0..20_000u64 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let len = (state >> 33) as usize % 300 + if i.is_multiple_of(1000) { 100_000 } else { 0 };
            let key = SortKey { time: i128::from(state >> 40), source: 0, seq: i, index: 0 };
            s.push(key, vec![b'x'; len]).unwrap();
            peak = peak.max(s.memory());
        }
        assert!(peak <= budget, "peak {peak} > budget {budget}");
        assert!(s.spilled_runs() > 10);
        let mut last = None;
        let mut n = 0;
        s.finish(|k, _| {
            assert!(last.is_none_or(|l| l <= *k));
            last = Some(*k);
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 20_000);
    }
}
