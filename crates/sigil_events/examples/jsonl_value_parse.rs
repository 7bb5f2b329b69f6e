//! The floor `sigil hunt` on JSONL is measured against: parse every line of JSONL files to
//! `serde_json::Value` on all cores, and nothing else.
//!
//! `jsonl_value_parse [--threads N] [--block BYTES] PATH...`
//!
//! Each file is read sequentially in blocks of whole lines (`--block`, default 1 MiB, as
//! `sigil_events` cuts JSONL with the default `ReadOptions::batch_bytes`), and the blocks are
//! parsed on a rayon pool (`par_bridge`, as `Source::par_for_each_batch` does), so the
//! parallelism and the bounded memory are the same as sigil's own. Every value is touched
//! (its number of top-level keys is summed) so that nothing is optimised away; lines that are
//! not JSON are counted as errors. Prints `events N errors N seconds S`.
//!
//! `bench/hunt_bench.py` runs it beside `sigil hunt` on the same files (goal 3 of issue 15:
//! hunting JSONL with all SigmaHQ rules in at most 1.5x this time).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;

const USAGE: &str = "usage: jsonl_value_parse [--threads N] [--block BYTES] PATH...";

/// Blocks of whole lines of one reader, each about `block` bytes (a longer line is one block).
struct Blocks<R> {
    reader: R,
    block: usize,
    carry: Vec<u8>,
    eof: bool,
}

impl<R: Read> Iterator for Blocks<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut buf = std::mem::take(&mut self.carry);
        loop {
            if !self.eof && (buf.len() < self.block || memchr::memrchr(b'\n', &buf).is_none()) {
                let start = buf.len();
                buf.resize(start + self.block.max(1 << 16), 0);
                match self.reader.read(&mut buf[start..]) {
                    Ok(0) => {
                        buf.truncate(start);
                        self.eof = true;
                    }
                    Ok(n) => buf.truncate(start + n),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            }
            if buf.is_empty() {
                return None;
            }
            if !self.eof
                && let Some(pos) = memchr::memrchr(b'\n', &buf)
            {
                self.carry = buf.split_off(pos + 1);
            }
            return Some(Ok(buf));
        }
    }
}

fn main() {
    let mut threads = 0usize;
    let mut block = 1usize << 20;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            "--block" => block = args.next().and_then(|s| s.parse().ok()).unwrap_or(block).max(1),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return;
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("cannot start threads: {err}");
            std::process::exit(1);
        }
    };
    let events = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let touched = AtomicU64::new(0);
    let start = Instant::now();
    pool.install(|| {
        for path in &paths {
            let file = match File::open(path) {
                Ok(f) => f,
                Err(err) => {
                    eprintln!("{}: {err}", path.display());
                    std::process::exit(1);
                }
            };
            let blocks =
                Blocks { reader: BufReader::with_capacity(1 << 16, file), block, carry: Vec::new(), eof: false };
            blocks.par_bridge().for_each(|buf| {
                let buf = match buf {
                    Ok(buf) => buf,
                    Err(err) => {
                        eprintln!("{}: {err}", path.display());
                        std::process::exit(1);
                    }
                };
                let (mut n, mut bad, mut keys) = (0u64, 0u64, 0u64);
                for line in buf.split(|b| *b == b'\n') {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    match serde_json::from_slice::<serde_json::Value>(line) {
                        Ok(v) => {
                            n += 1;
                            keys += v.as_object().map_or(0, |o| o.len() as u64);
                        }
                        Err(_) => bad += 1,
                    }
                }
                events.fetch_add(n, Ordering::Relaxed);
                errors.fetch_add(bad, Ordering::Relaxed);
                touched.fetch_add(keys, Ordering::Relaxed);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "events {} errors {} seconds {secs:.3} (keys {})",
        events.into_inner(),
        errors.into_inner(),
        touched.into_inner()
    );
}
