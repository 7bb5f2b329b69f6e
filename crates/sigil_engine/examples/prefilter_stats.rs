//! Prefilter statistics over an input: `cargo run --release --example prefilter_stats -- EVENTS RULES...`.
//! Prints, per bucket, the entries and how many were candidates and matches on average.
#![allow(clippy::unwrap_used)]

fn main() {
    let mut args = std::env::args().skip(1);
    let input: std::path::PathBuf = args.next().unwrap().into();
    let rules: Vec<std::path::PathBuf> = args.map(Into::into).collect();
    let set = sigil_rule::load(&rules, &sigil_rule::LoadOptions::default());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, _) = sigil_engine::Engine::build(&set, knowledge, &sigil_engine::EngineOptions::default());
    let mut scratch = engine.scratch();
    let mut found = Vec::new();
    let mut per_rule = vec![0u64; engine.rules().len()];
    let mut n = 0u64;
    let events: Vec<_> =
        sigil_events::open(&input, &sigil_events::ReadOptions::default()).unwrap().filter_map(Result::ok).collect();
    let t = std::time::Instant::now();
    let cpu0 = cpu_seconds();
    for ev in events.iter() {
        found.clear();
        engine.matches(ev, &mut scratch, &mut found);
        for m in &found {
            per_rule[m.rule as usize] += 1;
        }
        n += 1;
    }
    let cpu = cpu_seconds() - cpu0;
    println!(
        "matching: {:.2}s wall, {:.2}s cpu, {:.2} us cpu/event",
        t.elapsed().as_secs_f64(),
        cpu,
        cpu * 1e6 / n as f64
    );
    let (cands, evals) = scratch.counters();
    let (bytes, hits) = scratch.scan_counters();
    println!("{:.0} bytes scanned/event, {:.1} literal hits/event", bytes as f64 / n as f64, hits as f64 / n as f64);
    println!(
        "{n} events, {:.1} candidates/event, {:.1} rule evaluations/event",
        cands as f64 / n as f64,
        evals as f64 / n as f64
    );
    for (k, e, a, s, p) in engine.bucket_stats() {
        println!("{k:70} entries {e:5} always {a:4} scans {s:3} patterns {p:6}");
    }
    let mut always: Vec<_> = engine
        .rules()
        .iter()
        .filter(|r| r.required_literals().is_none())
        .map(|r| format!("{:?}/{:?}: {}", r.info.logsource.category, r.info.logsource.service, r.info.title))
        .collect();
    always.sort();
    println!("{} rules without required literals, e.g.:", always.len());
    for t in always.iter().filter(|t| t.contains("process_creation")) {
        println!("  {t}");
    }
}

/// User CPU seconds of this process (Linux), to measure on a busy machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let utime: f64 = after.split_whitespace().nth(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    utime / 100.0
}
