//! `Printer::detections` writes the same bytes as `Printer::detection` one by one, while it serialises an event
//! that matched several rules only once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Mutex;

use sigil_engine::{Detection, Engine, EngineOptions, HuntOptions, HuntSink};
use sigil_events::{Batch, Event, ReadError, Value};
use sigil_printer::{Format, Printer, PrinterOptions};

/// Renders every batch of detections both ways.
struct Both {
    printer: Printer,
    batched: Mutex<Vec<u8>>,
    single: Mutex<Vec<u8>>,
}

impl HuntSink for Both {
    fn detections(&self, detections: &[Detection<'_>]) {
        let mut batched = Vec::new();
        self.printer.detections(&mut batched, detections);
        let mut single = Vec::new();
        for d in detections {
            self.printer.detection(&mut single, d);
        }
        self.batched.lock().unwrap().extend_from_slice(&batched);
        self.single.lock().unwrap().extend_from_slice(&single);
    }
    fn read_error(&self, e: &ReadError) {
        panic!("{e}");
    }
}

fn rule(id: u32, tags: &str, detection: &str) -> String {
    format!(
        "title: rule {id}\nid: 00000000-0000-0000-0000-00000000000{id}\ntags:\n{tags}\nlogsource:\n    product: windows\n\
         detection:\n{detection}\nlevel: high\n"
    )
}

fn hunt(format: Format, explain: bool) -> (String, String) {
    let texts = [
        rule(1, "    - attack.t1059", "    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel"),
        // A tag and a matched value holding what the printer looks for in a line.
        rule(2, "    - ',\"event\":{'", "    sel:\n        CommandLine|contains: '\"event\":'\n    condition: sel"),
        rule(3, "    - attack.execution", "    sel:\n        EventID: 1\n    condition: sel"),
    ];
    let named: Vec<(String, &str)> = texts.iter().enumerate().map(|(i, t)| (format!("r{i}.yml"), t.as_str())).collect();
    let refs: Vec<(&str, &str)> = named.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let set = sigil_rule::load_texts(&refs, &Default::default());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, report): (Engine, _) = Engine::build(&set, knowledge, &EngineOptions::default());
    assert_eq!(report.compiled, 3, "{report:?}");
    let ev = |id: i64, image: &str, cl: &str| {
        Event::from_fields([
            ("Channel", Value::from("Microsoft-Windows-Sysmon/Operational")),
            ("EventID", Value::Int(id)),
            ("Computer", Value::from("host\u{1}\"x\"")),
            ("Image", Value::from(image)),
            ("CommandLine", Value::from(cl)),
            ("Image", Value::from(image)),
        ])
    };
    let events = vec![
        // Three rules, then none, then two, then one; the repeated `Image` is written once.
        ev(1, "C:\\Windows\\System32\\cmd.exe", "cmd /c echo {\"event\":{}}"),
        ev(5, "C:\\x.exe", "x"),
        ev(1, "C:\\Windows\\System32\\cmd.exe", "cmd.exe ,\"event\":{\"a\":1}"),
        ev(1, "C:\\y.exe", "y"),
        ev(1, "C:\\y.exe", "\"event\":"),
    ];
    let batch = Batch { source: Path::new("C:\\logs\\\"a\".jsonl").into(), seq: 0, events, errors: vec![] };
    let printer = Printer::new(PrinterOptions { format, explain, ..PrinterOptions::default() });
    let sink = Both { printer, batched: Mutex::default(), single: Mutex::default() };
    let stats = sigil_engine::hunt_batches(&engine, vec![batch], &HuntOptions::default(), &sink).unwrap();
    assert_eq!(stats.detections, 9);
    let text = |m: Mutex<Vec<u8>>| String::from_utf8(m.into_inner().unwrap()).unwrap();
    (text(sink.batched), text(sink.single))
}

#[test]
fn detections_of_one_event_give_the_bytes_of_one_by_one() {
    for (format, explain) in
        [(Format::Jsonl, false), (Format::Jsonl, true), (Format::Csv, false), (Format::Table, false)]
    {
        let (batched, single) = hunt(format, explain);
        assert_eq!(batched, single, "{format:?}");
        if format == Format::Jsonl {
            assert_eq!(batched.lines().count(), 9);
            for line in batched.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert!(v["event"]["Image"].is_string(), "{line}");
                assert_eq!(v["event"].as_object().map(|o| o.len()), Some(5), "{line}");
            }
        }
    }
}
