//! Where a hunt's memory goes: heap held by the loaded rule set, by the compiled engine once the rule set is
//! dropped (as `sigil hunt` does), and the peak while hunting the inputs; plus CPU time and detections.
//!
//! `cargo build --release -p sigil_engine --example hunt_mem`
//! `target/release/examples/hunt_mem --rules ../shared/corpus/sigmahq/rules [--rules DIR]... INPUT...`
//!
//! RSS figures come from `/proc/self/status` (`VmRSS`, `VmHWM`); run it under `valgrind --tool=massif` (a small
//! input) for where the heap goes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// `(VmRSS, VmHWM)` in MiB and CPU seconds (user + system) of this process, from `/proc/self`.
fn usage() -> (f64, f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th (clock ticks).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    let cpu = (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0;
    (kib("VmRSS:"), kib("VmHWM:"), cpu)
}

struct Count(AtomicU64);

impl sigil_engine::HuntSink for Count {
    fn detections(&self, d: &[sigil_engine::Detection<'_>]) {
        self.0.fetch_add(d.len() as u64, Ordering::Relaxed);
    }
    fn read_error(&self, _: &sigil_events::ReadError) {}
}

fn main() {
    let mut rules = Vec::new();
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--rules" {
            rules.push(PathBuf::from(args.next().expect("--rules DIR")));
        } else {
            inputs.push(PathBuf::from(a));
        }
    }
    let mut set = sigil_rule::load(&rules, &sigil_rule::LoadOptions::default());
    let (loaded, _, _) = usage();
    // As `sigil hunt`: the files' text goes before compiling.
    for file in &mut set.files {
        file.source = "".into();
    }
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    // As `sigil hunt` without `--explain`.
    let opts = sigil_engine::EngineOptions { lean: true, ..Default::default() };
    let (engine, report) = sigil_engine::Engine::build(&set, knowledge, &opts);
    let (with_set, _, _) = usage();
    drop(set);
    let (built, hwm0, cpu0) = usage();
    println!(
        "rules: {} compiled; rss: loaded {loaded:.1} MiB, built {with_set:.1}, rule set dropped {built:.1}, peak {hwm0:.1}",
        report.compiled
    );
    if inputs.is_empty() {
        return;
    }
    let sink = Count(AtomicU64::new(0));
    let stats = sigil_engine::hunt(&engine, &inputs, &sigil_engine::HuntOptions::default(), &sink).unwrap();
    let (rss, hwm, cpu1) = usage();
    println!(
        "hunt: {} events, {} detections, {:.2}s wall, {:.2}s cpu; rss now {rss:.1} MiB, peak {hwm:.1} MiB",
        stats.events,
        sink.0.load(Ordering::Relaxed),
        stats.elapsed.as_secs_f64(),
        cpu1 - cpu0,
    );
}
