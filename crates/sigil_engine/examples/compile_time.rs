//! Prints how long each start-up step of `sigil hunt` takes over a rule set, the way hunt does them (built-in
//! knowledge, load with the run linter, duplicates dropped, engine built lean):
//! `cargo run --release -p sigil_engine --example compile_time -- DIR...` (`--repeat N` keeps the best run).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut repeat = 1;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        repeat = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
        args.drain(i..(i + 2).min(args.len()));
    }
    let paths: Vec<std::path::PathBuf> = args.into_iter().map(Into::into).collect();
    let mut best: Option<[Duration; 4]> = None;
    let mut summary = String::new();
    for _ in 0..repeat {
        let t = Instant::now();
        let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
        let knowledge_time = t.elapsed();
        let t = Instant::now();
        let mut set = sigil_check::load_to_run(&paths);
        sigil_check::drop_duplicates(&mut set);
        let loaded = t.elapsed();
        let t = Instant::now();
        let opts = sigil_engine::EngineOptions { lean: true, ..Default::default() };
        let (engine, report) = sigil_engine::Engine::build(&set, knowledge, &opts);
        let built = t.elapsed();
        let t = Instant::now();
        summary = format!(
            "{} files, {} rules compiled ({} skipped, {} unrouted)",
            set.files.len(),
            engine.rules().len(),
            report.skipped.len(),
            report.unrouted.iter().map(|u| u.rules.len()).sum::<usize>(),
        );
        drop((engine, set));
        let dropped = t.elapsed();
        let run = [knowledge_time, loaded, built, dropped];
        if best.is_none_or(|b| run.iter().sum::<Duration>() < b.iter().sum::<Duration>()) {
            best = Some(run);
        }
    }
    let [k, l, b, d] = best.unwrap_or_default();
    println!(
        "{summary}; knowledge {:.3}s, load+check {:.3}s, compile {:.3}s, drop {:.3}s; total {:.3}s (best of {repeat})",
        k.as_secs_f64(),
        l.as_secs_f64(),
        b.as_secs_f64(),
        d.as_secs_f64(),
        (k + l + b + d).as_secs_f64()
    );
}
