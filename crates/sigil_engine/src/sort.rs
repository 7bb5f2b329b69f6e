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
#[derive(Debug)]
pub struct TimeSorter {
    budget: usize,
    used: usize,
    buffer: Vec<(SortKey, Vec<u8>)>,
    runs: Vec<File>,
}

impl TimeSorter {
    /// A sorter that keeps about `budget` bytes of payload in memory.
    pub fn new(budget: usize) -> TimeSorter {
        TimeSorter { budget: budget.max(1), used: 0, buffer: Vec::new(), runs: Vec::new() }
    }

    /// Adds a record.
    ///
    /// # Errors
    /// When a run cannot be written to the temporary directory.
    pub fn push(&mut self, key: SortKey, payload: Vec<u8>) -> std::io::Result<()> {
        self.used += payload.len() + 64;
        self.buffer.push((key, payload));
        if self.used >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        self.buffer.sort_by_key(|r| r.0);
        let file = tempfile::tempfile()?;
        let mut w = BufWriter::new(file);
        for (k, p) in self.buffer.drain(..) {
            k.write(&mut w)?;
            w.write_all(&(p.len() as u64).to_le_bytes())?;
            w.write_all(&p)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error())?;
        std::io::Seek::rewind(&mut file)?;
        self.runs.push(file);
        self.used = 0;
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
            self.buffer.sort_by_key(|r| r.0);
            for (k, p) in &self.buffer {
                f(k, p)?;
            }
            return Ok(());
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
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
        s.push(SortKey::new(None, 0, 0, 99), b"-".to_vec()).unwrap();
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
}
