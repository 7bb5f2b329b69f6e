//! Explaining a rule on an event: per modifier, the value after modifiers that matched and the event value it
//! matched in; misses (absent field, wrong value, not routed); and agreement with the hunt's own matching.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_engine::{Engine, EngineOptions, Explanation, ItemExplanation, Routing};
use sigil_events::{Event, Value};

fn build(yaml: &str) -> Engine {
    let set = sigil_rule::load_texts(&[("t.yml", yaml)], &Default::default());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, report) = Engine::build(&set, knowledge, &EngineOptions::default());
    assert_eq!(report.compiled, 1, "{report:?}");
    engine
}

/// A rule for any Windows event with the given `detection:` body (indented by four spaces).
fn rule(detection: &str) -> String {
    format!("title: t\nlogsource:\n    product: windows\ndetection:\n{detection}\nlevel: high\n")
}

fn ev(fields: &[(&str, Value)]) -> Event {
    let mut all = vec![("Channel", Value::from("Security")), ("EventID", Value::Int(1))];
    all.extend(fields.iter().cloned());
    Event::from_fields(all)
}

/// Explains the rule on the event, checking that the explanation agrees with the hunt's matching.
fn explain(detection: &str, event: &Event) -> Explanation {
    let engine = build(&rule(detection));
    let e = engine.explain(0, event).unwrap();
    let mut found = Vec::new();
    engine.matches(event, &mut engine.scratch(), &mut found);
    assert_eq!(e.matched, !found.is_empty(), "explain and match disagree: {e:#?}");
    if let Some(m) = found.first() {
        let via_match = engine.explain_match(*m, event).unwrap();
        assert!(via_match.selections.iter().all(|s| s.matched));
    }
    e
}

/// The single item of the first selection.
fn item(e: &Explanation) -> &ItemExplanation {
    &e.selections[0].items[0]
}

fn hit(detection: &str, event: &Event) -> (String, String) {
    let e = explain(detection, event);
    assert!(e.matched, "{e:#?}");
    let i = item(&e);
    assert!(i.matched);
    (i.matched_value.clone().unwrap(), i.event_value.clone().unwrap_or_default())
}

#[test]
fn base64offset_names_the_variant_that_matched() {
    // `xecho hi` encoded: `echo hi` at offset 1, found by the second of the three variants (offset 0 would be
    // `ZWNobyBoa`).
    let encoded = "powershell -e ".to_string() + "eGVjaG8gaGk=";
    let (needle, value) = hit(
        "    sel:\n        CommandLine|base64offset|contains: 'echo hi'\n    condition: sel",
        &ev(&[("CommandLine", Value::from(encoded.as_str()))]),
    );
    assert_eq!(needle, "*VjaG8gaG*");
    assert_eq!(value, encoded);
    let e = explain(
        "    sel:\n        CommandLine|base64offset|contains: 'echo hi'\n    condition: sel",
        &ev(&[("CommandLine", Value::from(encoded.as_str()))]),
    );
    assert_eq!(item(&e).modifiers, ["base64offset", "contains"]);
}

#[test]
fn windash_names_the_dash_that_matched() {
    let (needle, value) = hit(
        "    sel:\n        CommandLine|windash|contains: ' -enc '\n    condition: sel",
        &ev(&[("CommandLine", Value::from("powershell /enc AAAA"))]),
    );
    assert_eq!(needle, "* /enc *");
    assert_eq!(value, "powershell /enc AAAA");
}

#[test]
fn regex_shows_the_pattern_and_flags() {
    let (needle, _) = hit(
        "    sel:\n        CommandLine|re|i: '\\s-e(nc)?\\s'\n    condition: sel",
        &ev(&[("CommandLine", Value::from("PowerShell -ENC x"))]),
    );
    assert_eq!(needle, "/\\s-e(nc)?\\s/i");
}

#[test]
fn cidr_shows_the_network_and_the_address() {
    let (needle, value) = hit(
        "    sel:\n        DestinationIp|cidr: ['192.168.0.0/16', '10.0.0.0/8']\n    condition: sel",
        &ev(&[("DestinationIp", Value::from("10.1.2.3"))]),
    );
    assert_eq!((needle.as_str(), value.as_str()), ("10.0.0.0/8", "10.1.2.3"));
}

#[test]
fn contains_all_shows_every_value() {
    let e = explain(
        "    sel:\n        CommandLine|contains|all: ['-nop', 'hidden']\n    condition: sel",
        &ev(&[("CommandLine", Value::from("powershell -NoP -w Hidden"))]),
    );
    let items = &e.selections[0].items;
    let needles: Vec<_> = items.iter().map(|i| i.matched_value.clone().unwrap()).collect();
    assert_eq!(needles, ["*-nop*", "*hidden*"]);
    assert!(items.iter().all(|i| i.modifiers == ["contains", "all"]));
}

#[test]
fn list_items_name_the_one_that_matched() {
    let (needle, value) = hit(
        "    sel:\n        Image|endswith: ['\\cmd.exe', '\\powershell.exe']\n    condition: sel",
        &ev(&[("Image", Value::List(vec![Value::from("C:\\x\\a.exe"), Value::from("C:\\x\\PowerShell.exe")]))]),
    );
    assert_eq!((needle.as_str(), value.as_str()), ("*\\\\powershell.exe", "C:\\x\\PowerShell.exe"));
}

#[test]
fn wide_shows_the_encoded_needle() {
    // `wide|base64offset`: UTF-16LE then base64 — the needle is the encoded text found in the value.
    let encoded = "cABpAG4AZwA="; // "ping" in UTF-16LE, base64
    let e = explain(
        "    sel:\n        CommandLine|wide|base64offset|contains: 'ping'\n    condition: sel",
        &ev(&[("CommandLine", Value::from(format!("powershell -enc {encoded}").as_str()))]),
    );
    assert!(e.matched, "{e:#?}");
    let needle = item(&e).matched_value.clone().unwrap();
    assert!(encoded.contains(needle.trim_matches('*')), "{needle}");
    assert_eq!(item(&e).modifiers, ["wide", "base64offset", "contains"]);
}

#[test]
fn fieldref_shows_the_other_fields_value() {
    let (needle, value) = hit(
        "    sel:\n        TargetUserName|fieldref: SubjectUserName\n    condition: sel",
        &ev(&[("TargetUserName", Value::from("Bob")), ("SubjectUserName", Value::from("bob"))]),
    );
    assert_eq!(needle, "fieldref SubjectUserName (value of SubjectUserName: bob)");
    assert_eq!(value, "Bob");
}

#[test]
fn exists_and_null() {
    let e = explain("    sel:\n        User|exists: true\n    condition: sel", &ev(&[("User", Value::from("x"))]));
    assert_eq!(item(&e).matched_value.as_deref(), Some("exists: true"));
    assert_eq!(item(&e).event_value.as_deref(), Some("x"));
    let e = explain("    sel:\n        User: null\n    condition: sel", &ev(&[]));
    assert!(e.matched);
    assert_eq!(item(&e).matched_value.as_deref(), Some("null"));
    assert_eq!(item(&e).event_value, None);
    let e = explain("    sel:\n        User: null\n    condition: sel", &ev(&[("User", Value::from("x"))]));
    assert!(!e.matched);
    assert_eq!(item(&e).event_value.as_deref(), Some("x"));
}

#[test]
fn keywords_quote_the_value_that_matched() {
    let (needle, value) = hit(
        "    keywords:\n        - 'mimikatz'\n    condition: keywords",
        &ev(&[("A", Value::from("nothing")), ("B", Value::from("ran Mimikatz.exe"))]),
    );
    assert_eq!((needle.as_str(), value.as_str()), ("*mimikatz*", "ran Mimikatz.exe"));
    let e = explain("    keywords:\n        - 'mimikatz'\n    condition: keywords", &ev(&[("A", Value::from("x"))]));
    assert!(!e.matched);
    assert_eq!(item(&e).field, None);
    assert_eq!(item(&e).event_value, None, "a failed keyword search does not quote the whole event");
}

#[test]
fn a_miss_shows_the_first_failing_item_with_the_event_value() {
    let det =
        "    sel:\n        Image|endswith: '\\whoami.exe'\n        CommandLine|contains: '/all'\n    condition: sel";
    let e =
        explain(det, &ev(&[("Image", Value::from("C:\\w\\whoami.exe")), ("CommandLine", Value::from("whoami /priv"))]));
    assert!(!e.matched);
    assert_eq!(e.selections.len(), 1);
    let i = item(&e);
    assert_eq!(i.field.as_deref(), Some("CommandLine"));
    assert!(!i.matched);
    assert_eq!(i.matched_value.as_deref(), Some("*/all*"));
    assert_eq!(i.event_value.as_deref(), Some("whoami /priv"));
    assert_eq!(i.note, None);
}

#[test]
fn a_miss_on_an_absent_field_says_so() {
    let det =
        "    sel:\n        Image|endswith: '\\whoami.exe'\n        CommandLine|contains: '/all'\n    condition: sel";
    let e = explain(det, &ev(&[("Image", Value::from("C:\\w\\whoami.exe"))]));
    let i = item(&e);
    assert_eq!(i.field.as_deref(), Some("CommandLine"));
    assert_eq!(i.note.as_deref(), Some("field absent"));
    assert_eq!(i.event_value, None);
}

#[test]
fn neq_and_not_selections() {
    let det = "    sel:\n        Image|endswith: '.exe'\n    filter:\n        User: SYSTEM\n    condition: sel and not filter";
    let e = explain(det, &ev(&[("Image", Value::from("a.exe")), ("User", Value::from("system"))]));
    assert!(!e.matched);
    let filter = e.selections.iter().find(|s| s.selection == "filter").unwrap();
    assert!(filter.matched, "the filter selection matched, which is why the rule did not");
    let e = explain("    sel:\n        User|neq: SYSTEM\n    condition: sel", &ev(&[("User", Value::from("bob"))]));
    assert!(e.matched);
    assert_eq!(item(&e).matched_value.as_deref(), Some("not SYSTEM"));
}

#[test]
fn an_event_of_another_logsource_is_not_routed() {
    let engine = build(
        "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\n",
    );
    let logon = Event::from_fields([
        ("Channel", Value::from("Security")),
        ("EventID", Value::Int(4624)),
        ("Image", Value::from("C:\\whoami.exe")),
    ]);
    let e = engine.explain(0, &logon).unwrap();
    assert!(!e.matched);
    assert!(e.selections.is_empty());
    let Routing::NotRouted(why) = &e.routing else { panic!("{e:?}") };
    assert!(why.starts_with("event not routed to this logsource because"), "{why}");
    assert!(why.contains("windows/process_creation/-") && why.contains("Security event id 4688"), "{why}");
    assert!(why.contains("event id 4624"), "{why}");
    // The same rule on 4688: routed, and `Image` read from `NewProcessName`.
    let proc = Event::from_fields([
        ("Channel", Value::from("Security")),
        ("EventID", Value::Int(4688)),
        ("NewProcessName", Value::from("C:\\Windows\\WHOAMI.EXE")),
    ]);
    let e = engine.explain(0, &proc).unwrap();
    assert!(e.matched);
    assert_eq!(e.routing, Routing::Routed("Security event id 4688".into()));
    assert_eq!(item(&e).event_value.as_deref(), Some("C:\\Windows\\WHOAMI.EXE"));
}

#[test]
fn json_shape() {
    let e = explain(
        "    sel:\n        Image|endswith: '.exe'\n    condition: sel",
        &ev(&[("Image", Value::from("a.exe"))]),
    );
    let v = serde_json::to_value(&e.selections).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"selection": "sel", "matched": true, "items": [
            {"field": "Image", "modifiers": ["endswith"], "matched": true, "matched_value": "*.exe", "event_value": "a.exe"}
        ]}])
    );
}

/// Hunting the SigmaHQ regression corpus with and without explanations finds the same detections, and every
/// detection's explanation says it matched, with at least one matched selection (needs `../shared`).
#[test]
fn explaining_never_changes_what_the_hunt_detects() {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use sigil_engine::{Detection, HuntOptions, HuntSink, hunt};
    use sigil_events::ReadError;

    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !shared.join("sigmahq").is_dir() {
        assert!(std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"), "SIGIL_REQUIRE_CORPUS=1 but no corpus");
        println!("skipped: {} not found", shared.display());
        return;
    }
    struct Sink {
        explain: bool,
        found: Mutex<Vec<(PathBuf, u64, u32, String)>>,
    }
    impl HuntSink for Sink {
        fn detections(&self, detections: &[Detection<'_>]) {
            let mut found = self.found.lock().unwrap();
            for d in detections {
                if self.explain && d.correlation.is_none() {
                    let e = d.explanation().expect("every detection has an explanation");
                    assert!(e.matched, "{}: {e:?}", d.rule.info.title);
                    assert!(!e.selections.is_empty() && e.selections.iter().all(|s| s.matched), "{e:?}");
                    assert!(e.selections.iter().all(|s| s.items.iter().all(|i| i.matched)), "{e:?}");
                }
                found.push((d.source.to_path_buf(), d.position.0, d.position.1, d.rule.info.title.clone()));
            }
        }
        fn read_error(&self, _: &ReadError) {}
    }
    let corpus = shared.join("sigmahq");
    let folders: Vec<PathBuf> = ["rules", "rules-threat-hunting", "rules-emerging-threats"]
        .iter()
        .map(|f| corpus.join(f))
        .filter(|p| p.is_dir())
        .collect();
    let set = sigil_rule::load(&folders, &Default::default());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, _) = Engine::build(&set, knowledge, &EngineOptions::default());
    let inputs = [shared.join("sigmahq-regression/regression_data")];
    let run = |explain: bool| {
        let sink = Sink { explain, found: Mutex::new(Vec::new()) };
        hunt(&engine, &inputs, &HuntOptions::default(), &sink).unwrap();
        let mut found = sink.found.into_inner().unwrap();
        found.sort();
        found
    };
    let plain = run(false);
    let explained = run(true);
    assert!(plain.len() > 300, "only {} detections", plain.len());
    assert_eq!(plain, explained);
}

#[test]
fn a_lean_engine_matches_alike_and_explains_without_selections() {
    let yaml = rule(
        "    sel:\n        CommandLine|contains: ' -enc '\n    filter:\n        User: SYSTEM\n    condition: sel and not filter",
    );
    let set = sigil_rule::load_texts(&[("t.yml", yaml.as_str())], &Default::default());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (full, _) = Engine::build(&set, knowledge, &EngineOptions::default());
    let (lean, report) = Engine::build(&set, knowledge, &EngineOptions { lean: true, ..EngineOptions::default() });
    assert_eq!(report.compiled, 1);
    assert!(!full.rules()[0].ir.searches.is_empty());
    assert!(lean.rules()[0].ir.searches.is_empty(), "the lowered searches are dropped");
    let events = [
        ev(&[("CommandLine", Value::from("powershell -ENC aGk=")), ("User", Value::from("bob"))]),
        ev(&[("CommandLine", Value::from("powershell -enc aGk=")), ("User", Value::from("SYSTEM"))]),
        ev(&[("CommandLine", Value::from("powershell -e aGk="))]),
    ];
    for (i, event) in events.iter().enumerate() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        full.matches(event, &mut full.scratch(), &mut a);
        lean.matches(event, &mut lean.scratch(), &mut b);
        assert_eq!(a, b, "event {i}");
        assert_eq!(a.len(), usize::from(i == 0), "event {i}");
        // Routing and result stay; the per-selection detail needs the searches.
        let (x, y) = (full.explain(0, event).unwrap(), lean.explain(0, event).unwrap());
        assert_eq!((x.matched, &x.routing), (y.matched, &y.routing), "event {i}");
        assert!(!x.selections.is_empty() && y.selections.is_empty(), "event {i}");
    }
}
