#![allow(clippy::unwrap_used)]
use evtx::{EvtxParser, ParserSettings};
use std::time::Instant;

fn main() {
    let root = std::env::args().nth(1).unwrap();
    let mode = std::env::args().nth(2).unwrap_or_default();
    let threads: usize = std::env::args().nth(3).map(|s| s.parse().unwrap()).unwrap_or(1);
    let reps: usize = std::env::args().nth(4).map(|s| s.parse().unwrap()).unwrap_or(5);
    let files: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "evtx"))
        .map(|e| e.path().to_path_buf())
        .collect();
    let bufs: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let t = Instant::now();
    let mut n = 0usize;
    let mut bytes = 0usize;
    for _ in 0..reps {
        for b in &bufs {
            let settings = ParserSettings::new().num_threads(threads).indent(false);
            #[allow(unused_mut)] let mut p = EvtxParser::from_buffer(b.clone()).unwrap().with_configuration(settings);
            match mode.as_str() {
                "bytes" => {
                    for r in p.records_json_bytes() {
                        let r = r.unwrap();
                        bytes += r.data.len();
                        n += 1;
                    }
                }
                "value" => {
                    for r in p.records_json_value() {
                        let r = r.unwrap();
                        bytes += r.data.as_object().map(|o| o.len()).unwrap_or(0);
                        n += 1;
                    }
                }
                "bytes_serde" => {
                    for r in p.records_json_bytes() {
                        let r = r.unwrap();
                        let v: serde_json::Value = serde_json::from_slice(&r.data).unwrap();
                        bytes += v.as_object().map(|o| o.len()).unwrap_or(0);
                        n += 1;
                    }
                }
                "xml" => {
                    for r in p.records_bytes() {
                        let r = r.unwrap();
                        bytes += r.data.len();
                        n += 1;
                    }
                }
                "dump" => {
                    for r in p.records_json() {
                        let r = r.unwrap();
                        println!("{}\t{}", r.event_record_id, r.data);
                        n += 1;
                    }
                }
                "diy" => {
                    let settings = std::sync::Arc::new(ParserSettings::new().num_threads(1).indent(false));
                    for chunk in p.into_chunks() {
                        let mut chunk = chunk.unwrap();
                        let mut c = chunk.parse(settings.clone()).unwrap();
                        for r in c.iter() {
                            let r = r.unwrap().into_json_bytes().unwrap();
                            bytes += r.data.len();
                            n += 1;
                        }
                    }
                }
                "count" => {
                    for r in p.serialized_records(|r| r.map(|r| r.event_record_id)) {
                        r.unwrap();
                        n += 1;
                    }
                }
                _ => panic!("mode"),
            }
        }
    }
    let el = t.elapsed().as_secs_f64();
    println!("{mode} threads={threads}: {n} records, {bytes} bytes, {:.3}s, {:.0} rec/s, {:.1} us/rec", el, n as f64 / el, el * 1e6 / n as f64);
}
