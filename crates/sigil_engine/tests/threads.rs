//! The hunt's thread pool: its own, of `jobs` threads (one per core by default), wherever it is called from;
//! the detections are the same whatever the number of threads, and with a lean engine (whose lowered searches
//! are dropped as each rule is compiled) as with a full one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

use sigil_engine::{Detection, Engine, EngineOptions, HuntOptions, HuntSink};
use sigil_events::{Batch, Event, Value};

/// The pool sizes the sink was called from, and `(batch, index, rule title)` of every detection.
#[derive(Default)]
struct Threads {
    pool_sizes: Mutex<BTreeSet<usize>>,
    seen: Mutex<Vec<(u64, u32, String)>>,
}

impl HuntSink for Threads {
    fn detections(&self, d: &[Detection<'_>]) {
        self.pool_sizes.lock().unwrap().insert(rayon::current_num_threads());
        let mut seen = self.seen.lock().unwrap();
        seen.extend(d.iter().map(|x| (x.position.0, x.position.1, x.rule.info.title.clone())));
    }
    fn read_error(&self, e: &sigil_events::ReadError) {
        panic!("{e}");
    }
}

const RULES: &str = "title: Fail\nlogsource: {product: windows}\ndetection: {sel: {EventID: 4625}, condition: sel}\n---\n\
    title: Admin\nlogsource: {product: windows}\ndetection: {sel: {User|endswith: '7'}, condition: sel}\n";

fn engine(lean: bool) -> Engine {
    let set = sigil_check::load_texts(&[("t.yml", RULES)]);
    let (engine, report) = Engine::build(
        &set,
        sigil_knowledge::Knowledge::builtin().unwrap(),
        &EngineOptions { lean, ..Default::default() },
    );
    assert_eq!(report.compiled, 2, "{:?}", report.skipped);
    engine
}

/// 40 batches of 25 events; every third a failed logon, every tenth user ends in 7.
fn batches() -> Vec<Batch> {
    (0..40u64)
        .map(|seq| Batch {
            source: Path::new("sec.jsonl").into(),
            seq,
            events: (0..25u64)
                .map(|i| {
                    let n = seq * 25 + i;
                    Event::from_fields([
                        ("EventID", Value::Int(if n % 3 == 0 { 4625 } else { 4624 })),
                        ("User", Value::from(format!("user{n}").as_str())),
                    ])
                })
                .collect(),
            errors: vec![],
        })
        .collect()
}

/// Hunts in `pool` (or outside any), returning the pool sizes the sink saw and the sorted detections.
fn hunt(engine: &Engine, pool: Option<&rayon::ThreadPool>, jobs: usize) -> (BTreeSet<usize>, Vec<(u64, u32, String)>) {
    let sink = Threads::default();
    let opts = HuntOptions { jobs, ..HuntOptions::default() };
    let run = || sigil_engine::hunt_batches(engine, batches(), &opts, &sink).unwrap();
    let stats = match pool {
        Some(p) => p.install(run),
        None => run(),
    };
    assert_eq!(stats.events, 1000);
    let mut seen = sink.seen.into_inner().unwrap();
    seen.sort();
    (sink.pool_sizes.into_inner().unwrap(), seen)
}

#[test]
fn hunts_run_on_a_pool_of_jobs_threads_with_the_same_results() {
    let lean = engine(true);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let (sizes, expected) = hunt(&lean, None, 0);
    assert_eq!(sizes, BTreeSet::from([cores]), "jobs 0: one thread per core");
    // 334 failed logons (n % 3 == 0) and 100 users ending in 7.
    assert_eq!(expected.iter().filter(|s| s.2 == "Fail").count(), 334);
    assert_eq!(expected.iter().filter(|s| s.2 == "Admin").count(), 100);
    for jobs in [1, 2, 3] {
        assert_eq!(hunt(&lean, None, jobs), (BTreeSet::from([jobs]), expected.clone()), "jobs {jobs}");
    }
    // Called from inside another pool: still a pool of its own (the caller's threads are not borrowed).
    assert_eq!(hunt(&lean, Some(&three), 0), (BTreeSet::from([cores]), expected.clone()));
    assert_eq!(hunt(&lean, Some(&three), 1), (BTreeSet::from([1]), expected.clone()));
    // A full engine finds the same as the lean one.
    assert_eq!(hunt(&engine(false), None, 0).1, expected);
}
