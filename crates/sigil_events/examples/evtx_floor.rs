//! The floor that `sigil hunt` on EVTX is measured against (issue 15, goal 1): the evtx crate
//! parsing every record of the given `.evtx` files (or folders of them) into a
//! `serde_json::Value`, on all cores. `evtx_floor [--threads N] PATH...`
//!
//! How the work is spread: every chunk of every file is one unit on the rayon pool (files are
//! opened one after the other on the calling thread, their chunks bridged into the pool). Each
//! chunk is parsed by the crate and each record turned into a `Value` by the crate's own
//! [`evtx::EvtxRecord::into_json_value`] — the per-record call behind
//! `EvtxParser::records_json_value()`. This is the fair floor: it is exactly the crate's
//! record-to-`Value` work with the same chunk-level parallelism sigil uses, so it uses all
//! cores both on one large file and on thousands of small ones. `records_json_value()`
//! itself parallelises only within a file (its pipeline blocks the caller per file), which on
//! many small files leaves cores idle and would flatter sigil.
//!
//! Prints `floor: <files> files, <records> records, <errors> errors in <s>s (<n> records/s)`
//! on stdout. Each `Value` is touched (its top-level key count) so nothing is optimised away.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use evtx::{EvtxParser, ParserSettings};
use rayon::prelude::*;

fn usage() -> ! {
    eprintln!("usage: evtx_floor [--mode chunks|crate] [--threads N] PATH...");
    std::process::exit(2)
}

fn main() {
    let mut threads = 0usize;
    let mut by_crate = false;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            "--mode" => match args.next().as_deref() {
                Some("chunks") => by_crate = false,
                Some("crate") => by_crate = true,
                _ => usage(),
            },
            "-h" | "--help" => usage(),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        usage();
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for path in &paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(walkdir::DirEntry::into_path)
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    // The crate's pipeline spawns onto the global pool.
    if let Err(err) = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global() {
        eprintln!("cannot start the thread pool: {err}");
        std::process::exit(2)
    }
    let settings = ParserSettings::new().indent(false).num_threads(1);
    let records = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let touched = AtomicU64::new(0);
    let count = |record: evtx::err::Result<evtx::SerializedEvtxRecord<serde_json::Value>>| match record {
        Ok(value) => {
            records.fetch_add(1, Ordering::Relaxed);
            let keys = value.data.as_object().map_or(0, serde_json::Map::len);
            touched.fetch_add(keys as u64, Ordering::Relaxed);
        }
        Err(_) => {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    };
    let start = Instant::now();
    if by_crate {
        for file in &files {
            match EvtxParser::from_path(file) {
                Ok(parser) => {
                    let mut parser = parser.with_configuration(settings.clone().num_threads(0));
                    parser.records_json_value().for_each(count);
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    } else {
        let chunks = files.iter().flat_map(|file| match EvtxParser::from_path(file) {
            Ok(parser) => Some(parser.with_configuration(settings.clone()).into_chunks()),
            Err(_) => {
                errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        });
        chunks.flatten().par_bridge().for_each(|chunk| {
            let Ok(mut data) = chunk else {
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let Ok(mut chunk) = data.parse(std::sync::Arc::new(settings.clone())) else {
                errors.fetch_add(1, Ordering::Relaxed);
                return;
            };
            for record in chunk.iter() {
                count(record.and_then(evtx::EvtxRecord::into_json_value));
            }
        });
    }
    let secs = start.elapsed().as_secs_f64();
    let n = records.load(Ordering::Relaxed);
    println!(
        "floor: {} files, {n} records, {} errors in {secs:.3}s ({:.0} records/s; {} keys touched)",
        files.len(),
        errors.load(Ordering::Relaxed),
        n as f64 / secs.max(1e-9),
        touched.load(Ordering::Relaxed)
    );
}
