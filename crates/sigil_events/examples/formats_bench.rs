//! Reading speed per log format against a bare parse of the same file, in the same run:
//! `formats_bench [--repeat N] FILE...` (make the files with `bench/gen_logs.py`).
//!
//! For each file, on one thread, the best of N runs of:
//! - sigil: [`open`] and iterate every event (touching each, as `read_bench` does);
//! - bare parse: the least work that tokenises the same bytes: `serde_json::Value` of the whole
//!   document (`.json`, after gunzip for `.gz`) or of each line (`.jsonl`); for text logs, the
//!   file read and each line split into its space- (tab-, for Zeek) separated tokens and each
//!   token at its first `=`.
//!
//! Prints MB, events, both times, the ratio sigil / bare, and sigil's MB/s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sigil_events::{ReadOptions, open};

fn sigil(path: &Path) -> (u64, u64) {
    let mut events = 0u64;
    let mut touched = 0u64;
    if let Ok(source) = open(path, &ReadOptions::default()) {
        for event in source.flatten() {
            events += 1;
            touched += event.len() as u64 + u64::from(event.kind().is_some());
        }
    }
    (events, touched)
}

fn bare(path: &Path) -> u64 {
    let name = path.to_string_lossy();
    let raw = std::fs::read(path).unwrap_or_default();
    let bytes = if name.ends_with(".gz") {
        let mut out = Vec::new();
        let _ = flate2::read::MultiGzDecoder::new(&raw[..]).read_to_end(&mut out);
        out
    } else {
        raw
    };
    let stem = name.trim_end_matches(".gz");
    if stem.ends_with(".json") {
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        return v["Records"].as_array().map_or(0, |a| a.len() as u64);
    }
    if stem.ends_with(".jsonl") {
        return bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
            .count() as u64;
    }
    let sep = if stem.contains("zeek") { '\t' } else { ' ' };
    let text = String::from_utf8_lossy(&bytes);
    let mut tokens = 0u64;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for line in text.lines() {
        pairs.clear();
        for token in line.split(sep) {
            pairs.push(token.split_once('=').unwrap_or((token, "")));
        }
        tokens += pairs.len() as u64;
    }
    tokens
}

fn best<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut out = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let r = f();
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.unwrap_or_else(f))
}

fn main() {
    let mut repeat = 3;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => repeat = args.next().and_then(|s| s.parse().ok()).unwrap_or(3).max(1),
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: formats_bench [--repeat N] FILE...");
        std::process::exit(2);
    }
    println!("| file | MB | events | sigil s | bare parse s | ratio | sigil MB/s |");
    println!("|---|---|---|---|---|---|---|");
    for file in files {
        let mb = std::fs::metadata(&file).map_or(0.0, |m| m.len() as f64 / 1e6);
        let (t_bare, _) = best(repeat, || bare(&file));
        let (t_sigil, (events, _)) = best(repeat, || sigil(&file));
        println!(
            "| {} | {mb:.1} | {events} | {t_sigil:.3} | {t_bare:.3} | {:.2} | {:.0} |",
            file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            t_sigil / t_bare,
            mb / t_sigil
        );
    }
}
