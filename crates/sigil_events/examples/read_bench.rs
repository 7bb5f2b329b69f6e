//! Measure the bare cost of reading events: `read_bench [--mode seq|par] [--threads N]
//! [--repeat N] PATH...`.
//!
//! - `seq` (default): one thread, [`Source`] as an iterator, files one after the other; the
//!   events/s figure is the per-core reading cost.
//! - `par`: [`read_all`] on a rayon pool of `--threads` threads (default: all cores).
//!
//! Each event is touched (`get("EventID")` and a field count) so that nothing is optimised
//! away. Prints events, errors, seconds and events per second.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sigil_events::{ReadOptions, discover, open, read_all};

fn main() {
    let mut mode = String::from("seq");
    let mut threads = 0usize;
    let mut repeat = 1usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => mode = args.next().unwrap_or_default(),
            "--threads" => threads = args.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            "--repeat" => repeat = args.next().and_then(|s| s.parse().ok()).unwrap_or(1).max(1),
            "-h" | "--help" => {
                eprintln!("usage: read_bench [--mode seq|par] [--threads N] [--repeat N] PATH...");
                return;
            }
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        eprintln!("usage: read_bench [--mode seq|par] [--threads N] [--repeat N] PATH...");
        std::process::exit(2);
    }
    let opts = ReadOptions::default();
    let (files, skipped) = discover(&paths);
    let touched = AtomicU64::new(0);
    let workers = std::sync::Mutex::new(std::collections::HashSet::new());
    let mut events = 0u64;
    let mut errors = 0u64;
    let start = Instant::now();
    for _ in 0..repeat {
        match mode.as_str() {
            "seq" => {
                for file in &files {
                    match open(file, &opts) {
                        Err(err) => {
                            errors += 1;
                            eprintln!("{err}");
                        }
                        Ok(source) => {
                            for item in source {
                                match item {
                                    Ok(event) => {
                                        events += 1;
                                        let id = event.get("EventID").and_then(|v| v.as_u64()).unwrap_or(0);
                                        touched.fetch_add(id + event.len() as u64, Ordering::Relaxed);
                                    }
                                    Err(err) => {
                                        errors += 1;
                                        if errors <= 10 {
                                            eprintln!("{err}");
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "par" => {
                let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                    Ok(pool) => pool,
                    Err(err) => {
                        eprintln!("cannot start threads: {err}");
                        std::process::exit(1);
                    }
                };
                let summary = pool.install(|| {
                    read_all(&files, &opts, |batch| {
                        if let Ok(mut workers) = workers.lock() {
                            workers.insert(std::thread::current().id());
                        }
                        let mut sum = 0;
                        for event in &batch.events {
                            sum += event.get("EventID").and_then(|v| v.as_u64()).unwrap_or(0) + event.len() as u64;
                        }
                        touched.fetch_add(sum, Ordering::Relaxed);
                        for err in batch.errors.iter().take(10) {
                            eprintln!("{err}");
                        }
                    })
                });
                events += summary.events();
                errors += summary.errors();
            }
            other => {
                eprintln!("unknown mode {other:?}");
                std::process::exit(2);
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let threads_used = workers.lock().map(|w| w.len()).unwrap_or(0);
    if threads_used > 0 {
        eprintln!("batches were processed on {threads_used} threads");
    }
    println!(
        "{mode}: {} files ({} skipped), {events} events, {errors} errors, {seconds:.3} s, {:.0} events/s ({:.2} µs/event) [checksum {}]",
        files.len(),
        skipped.len(),
        events as f64 / seconds,
        seconds * 1e6 / events.max(1) as f64,
        touched.load(Ordering::Relaxed)
    );
}
