//! Prints how long loading and compiling a rule set takes: `cargo run --release --example compile_time -- DIR...`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

fn main() {
    let paths: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    let t = Instant::now();
    let set = sigil_rule::load(&paths, &sigil_rule::LoadOptions::default());
    let loaded = t.elapsed();
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let t = Instant::now();
    let (engine, report) = sigil_engine::Engine::build(&set, knowledge, &sigil_engine::EngineOptions::default());
    let built = t.elapsed();
    println!(
        "{} files loaded in {:.3}s; {} rules compiled in {:.3}s ({} skipped, {} unrouted); total {:.3}s",
        set.files.len(),
        loaded.as_secs_f64(),
        engine.rules().len(),
        built.as_secs_f64(),
        report.skipped.len(),
        report.unrouted.iter().map(|u| u.rules.len()).sum::<usize>(),
        (loaded + built).as_secs_f64()
    );
}
