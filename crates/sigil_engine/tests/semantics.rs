//! Sigma semantics end to end: a rule's detection, compiled by the engine, against hand-made events.
//! One test per modifier (and its edge cases), the condition grammar, null and missing fields, routing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_engine::{Engine, EngineOptions};
use sigil_events::{Event, Value};
use sigil_ir::Placeholders;

fn build(yaml: &str, opts: &EngineOptions) -> Engine {
    let set = sigil_rule::load_texts(&[("t.yml", yaml)], &Default::default());
    let errors: Vec<_> = set.diagnostics().into_iter().filter(|d| format!("{:?}", d.severity) == "Error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, report) = Engine::build(&set, knowledge, opts);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    engine
}

/// A rule for any Windows event with the given `detection:` body (indented by four spaces).
fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 00000000-0000-4000-8000-000000000001\nlogsource:\n    product: windows\ndetection:\n{detection}\nlevel: high\n"
    )
}

fn count(engine: &Engine, event: &Event) -> usize {
    let mut scratch = engine.scratch();
    let mut out = Vec::new();
    engine.matches(event, &mut scratch, &mut out);
    out.len()
}

fn ev(fields: &[(&str, Value)]) -> Event {
    Event::from_fields(fields.iter().cloned())
}

fn s(v: &str) -> Value {
    Value::from(v)
}

/// Whether the detection fires on each event, in order.
fn fires(detection: &str, events: &[Event]) -> Vec<bool> {
    let engine = build(&rule(detection), &EngineOptions::default());
    events.iter().map(|e| count(&engine, e) > 0).collect()
}

fn one(field: &str, value: Value) -> Event {
    ev(&[(field, value)])
}

#[test]
fn plain_strings_are_case_insensitive_unless_cased() {
    let events = [one("F", s("CMD.exe")), one("F", s("cmd.exe")), one("F", s("cmd.exe "))];
    assert_eq!(fires("    sel:\n        F: cmd.EXE\n    condition: sel", &events), [true, true, false]);
    assert_eq!(fires("    sel:\n        F|cased: cmd.exe\n    condition: sel", &events), [false, true, false]);
    let uni = [one("F", s("ÄRGER")), one("F", s("ärger"))];
    assert_eq!(fires("    sel:\n        F: äRGER\n    condition: sel", &uni), [true, true]);
}

#[test]
fn wildcards_and_escapes() {
    let d = |v: &str| format!("    sel:\n        F: '{v}'\n    condition: sel");
    let events = [one("F", s("abc")), one("F", s("a*c")), one("F", s("a\\c")), one("F", s("")), one("F", s("ac"))];
    assert_eq!(fires(&d("a*c"), &events), [true, true, true, false, true]);
    assert_eq!(fires(&d("a?c"), &events), [true, true, true, false, false]);
    assert_eq!(fires(&d("a\\*c"), &events), [false, true, false, false, false]);
    assert_eq!(fires(&d("a\\\\c"), &events), [false, false, true, false, false]);
    assert_eq!(fires(&d("*"), &events), [true, true, true, true, true]);
    assert_eq!(fires(&d("*b*"), &events), [true, false, false, false, false]);
    assert_eq!(fires(&d("*"), &[ev(&[])]), [false], "a wildcard needs the field");
    // `\\*` is a backslash followed by a wildcard.
    assert_eq!(fires(&d("a\\\\*"), &[one("F", s("a\\xyz")), one("F", s("axyz"))]), [true, false]);
    // A backslash before another character is literal.
    assert_eq!(fires(&d("C:\\Windows\\"), &[one("F", s("c:\\windows\\"))]), [true]);
}

#[test]
fn empty_strings() {
    let events = [one("F", s("")), one("F", Value::Null), one("F", s("x")), ev(&[])];
    assert_eq!(fires("    sel:\n        F: ''\n    condition: sel", &events), [true, true, false, false]);
    assert_eq!(fires("    sel:\n        F|contains: ''\n    condition: sel", &events), [true, true, true, false]);
}

#[test]
fn position_modifiers() {
    let events = [one("F", s("C:\\Windows\\System32\\cmd.exe")), one("F", s("cmd.exe.bak"))];
    assert_eq!(fires("    sel:\n        F|endswith: '\\cmd.exe'\n    condition: sel", &events), [true, false]);
    assert_eq!(fires("    sel:\n        F|startswith: 'c:\\windows'\n    condition: sel", &events), [true, false]);
    assert_eq!(fires("    sel:\n        F|contains: 'CMD.EXE'\n    condition: sel", &events), [true, true]);
    // Wildcards inside contains still work.
    assert_eq!(fires("    sel:\n        F|contains: 'system*cmd'\n    condition: sel", &events), [true, false]);
}

#[test]
fn lists_are_or_and_all_makes_them_and() {
    let events = [one("F", s("alpha beta")), one("F", s("alpha")), one("F", s("gamma"))];
    assert_eq!(fires("    sel:\n        F|contains: [alpha, beta]\n    condition: sel", &events), [true, true, false]);
    assert_eq!(
        fires("    sel:\n        F|contains|all: [alpha, beta]\n    condition: sel", &events),
        [true, false, false]
    );
    // `all` with a single value (a warning in `sigil check`) is just that value.
    let engine =
        build(&rule("    sel:\n        F|contains|all: [alpha]\n    condition: sel"), &EngineOptions::default());
    assert_eq!(count(&engine, &events[1]), 1);
    // A list-valued field matches when any item does.
    let list = one("F", Value::List(vec![s("x"), s("gamma")]));
    assert_eq!(fires("    sel:\n        F: gamma\n    condition: sel", &[list]), [true]);
}

#[test]
fn regular_expressions_and_flags() {
    let events = [one("F", s("Hello World")), one("F", s("hello\nworld")), one("F", s("xx"))];
    assert_eq!(fires("    sel:\n        F|re: 'Hello'\n    condition: sel", &events), [true, false, false]);
    assert_eq!(fires("    sel:\n        F|re|i: '^hello'\n    condition: sel", &events), [true, true, false]);
    assert_eq!(fires("    sel:\n        F|re|m: '^world$'\n    condition: sel", &events), [false, true, false]);
    assert_eq!(fires("    sel:\n        F|re|s: 'hello.world'\n    condition: sel", &events), [false, true, false]);
    assert_eq!(fires("    sel:\n        F|re: 'hello.world'\n    condition: sel", &events), [false, false, false]);
}

#[test]
fn cidr_v4_v6_and_mapped() {
    let events = [
        one("Ip", s("10.1.2.3")),
        one("Ip", s("192.168.1.1")),
        one("Ip", s("fe80::1")),
        one("Ip", s("::ffff:10.9.9.9")),
        one("Ip", s("not an ip")),
    ];
    assert_eq!(
        fires("    sel:\n        Ip|cidr: 10.0.0.0/8\n    condition: sel", &events),
        [true, false, false, true, false]
    );
    assert_eq!(
        fires("    sel:\n        Ip|cidr: ['fe80::/10', '192.168.0.0/16']\n    condition: sel", &events),
        [false, true, true, false, false]
    );
}

#[test]
fn base64_and_all_three_offsets() {
    use base64::Engine as _;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let d = "    sel:\n        F|base64offset|contains: 'secret'\n    condition: sel";
    let events: Vec<Event> =
        ["", "x", "xy"].iter().map(|pad| one("F", s(&b64(format!("{pad}secret tail").as_bytes())))).collect();
    assert_eq!(fires(d, &events), [true, true, true]);
    assert_eq!(fires(d, &[one("F", s(&b64(b"other text")))]), [false]);
    assert_eq!(fires("    sel:\n        F|base64: 'secret'\n    condition: sel", &[one("F", s("c2VjcmV0"))]), [true]);
    // Base64 output is case-sensitive in meaning but Sigma still compares case-insensitively (as pySigma backends).
    // Short values: one byte still matches at the offsets that leave a stable character.
    let short = "    sel:\n        F|base64offset|contains: 'a'\n    condition: sel";
    assert_eq!(fires(short, &[one("F", s(&b64(b"a"))), one("F", s(&b64(b"--a")))]), [true, true]);
}

#[test]
fn utf16_encodings_with_base64() {
    use base64::Engine as _;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let le: Vec<u8> = "whoami".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = "whoami".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut bom = vec![0xFF, 0xFE];
    bom.extend(&le);
    let events = [one("F", s(&b64(&le))), one("F", s(&b64(&be))), one("F", s(&b64(&bom)))];
    assert_eq!(fires("    sel:\n        F|utf16le|base64: whoami\n    condition: sel", &events), [true, false, false]);
    assert_eq!(fires("    sel:\n        F|wide|base64: whoami\n    condition: sel", &events), [true, false, false]);
    assert_eq!(fires("    sel:\n        F|utf16be|base64: whoami\n    condition: sel", &events), [false, true, false]);
    assert_eq!(fires("    sel:\n        F|utf16|base64: whoami\n    condition: sel", &events), [false, false, true]);
    // PowerShell -EncodedCommand: UTF-16LE text inside a longer base64 blob, at any offset.
    let cmd: Vec<u8> =
        "IEX (New-Object Net.WebClient).DownloadString(x)".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let d = "    sel:\n        F|wide|base64offset|contains: 'Net.WebClient'\n    condition: sel";
    assert_eq!(fires(d, &[one("F", s(&format!("powershell -enc {}", b64(&cmd))))]), [true]);
}

#[test]
fn windash_variants_and_dashes_inside_words() {
    let d = "    sel:\n        F|windash|contains: ' -enc '\n    condition: sel";
    let events: Vec<Event> = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}", "+"]
        .iter()
        .map(|dash| one("F", s(&format!("powershell {dash}enc AAAA"))))
        .collect();
    assert_eq!(fires(d, &events), [true, true, true, true, true, false]);
    // Only a dash that starts a word varies: `-param-1` keeps its second dash.
    let d = "    sel:\n        F|windash: '-param-1'\n    condition: sel";
    let events = [one("F", s("/param-1")), one("F", s("-param/1")), one("F", s("\u{2013}param-1"))];
    assert_eq!(fires(d, &events), [true, false, true]);
}

#[test]
fn exists_null_and_missing() {
    let events = [one("F", s("x")), one("F", Value::Null), one("F", s("")), ev(&[("G", s("x"))])];
    assert_eq!(fires("    sel:\n        F|exists: true\n    condition: sel", &events), [true, true, true, false]);
    assert_eq!(fires("    sel:\n        F|exists: false\n    condition: sel", &events), [false, false, false, true]);
    // null: absent or null (not the empty string).
    assert_eq!(fires("    sel:\n        F: null\n    condition: sel", &events), [false, true, false, true]);
    assert_eq!(fires("    sel:\n        F: []\n    condition: sel", &events), [false, true, false, true]);
    assert_eq!(fires("    sel:\n        F: null\n    condition: not sel", &events), [true, false, true, false]);
}

#[test]
fn neq_negates_the_item() {
    let events = [one("F", s("a")), one("F", s("b")), one("F", s("c")), ev(&[])];
    assert_eq!(fires("    sel:\n        F|neq: a\n    condition: sel", &events), [false, true, true, true]);
    assert_eq!(fires("    sel:\n        F|neq: [a, b]\n    condition: sel", &events), [false, false, true, true]);
    let n = [one("N", Value::Int(5)), one("N", s("0x5")), one("N", Value::Int(6))];
    assert_eq!(fires("    sel:\n        N|neq: 5\n    condition: sel", &n), [false, false, true]);
}

#[test]
fn fieldref_compares_fields_of_the_same_event() {
    let e = |a: &str, b: &str| ev(&[("A", s(a)), ("B", s(b))]);
    let events = [e("x.exe", "X.EXE"), e("x.exe", "y.exe"), e("C:\\dir\\x.exe", "x.exe"), ev(&[("A", s("x"))])];
    assert_eq!(fires("    sel:\n        A|fieldref: B\n    condition: sel", &events), [true, false, false, false]);
    assert_eq!(
        fires("    sel:\n        A|fieldref|endswith: B\n    condition: sel", &events),
        [true, false, true, false]
    );
    assert_eq!(
        fires("    sel:\n        A|fieldref|contains: B\n    condition: sel", &events),
        [true, false, true, false]
    );
    assert_eq!(
        fires("    sel:\n        A|fieldref|startswith: B\n    condition: sel", &events),
        [true, false, false, false]
    );
    assert_eq!(
        fires("    sel:\n        A|fieldref|cased: B\n    condition: sel", &events),
        [false, false, false, false]
    );
    assert_eq!(fires("    sel:\n        A|fieldref|neq: B\n    condition: sel", &events), [false, true, true, true]);
    let nums = [ev(&[("A", Value::Int(26)), ("B", s("0x1a"))])];
    assert_eq!(fires("    sel:\n        A|fieldref: B\n    condition: sel", &nums), [true]);
}

#[test]
fn numeric_comparisons_on_numbers_and_numeric_strings() {
    let events = [
        one("N", Value::Int(10)),
        one("N", s("10")),
        one("N", s("0xA")),
        one("N", Value::Float(10.5)),
        one("N", s("ten")),
        ev(&[]),
    ];
    assert_eq!(fires("    sel:\n        N|gt: 9\n    condition: sel", &events), [true, true, true, true, false, false]);
    assert_eq!(
        fires("    sel:\n        N|gte: 10\n    condition: sel", &events),
        [true, true, true, true, false, false]
    );
    assert_eq!(
        fires("    sel:\n        N|lt: 10.5\n    condition: sel", &events),
        [true, true, true, false, false, false]
    );
    assert_eq!(
        fires("    sel:\n        N|lte: 10\n    condition: sel", &events),
        [true, true, true, false, false, false]
    );
    // Plain numbers compare by value: 4688 matches "4688" and the hex "0x1250".
    let ids = [
        one("EventID", s("4688")),
        one("EventID", s("0x1250")),
        one("EventID", Value::Int(4688)),
        one("EventID", s("4689")),
    ];
    assert_eq!(fires("    sel:\n        EventID: 4688\n    condition: sel", &ids), [true, true, true, false]);
    // A quoted number is a string.
    assert_eq!(fires("    sel:\n        EventID: '4688'\n    condition: sel", &ids), [true, false, true, false]);
}

#[test]
fn time_parts_as_written() {
    let events = [
        one("T", s("2024-03-05T07:08:09.123Z")),
        one("T", s("2024-12-31 23:59:00")),
        one("T", Value::Int(1_700_000_000)),
        one("T", s("not a time")),
    ];
    assert_eq!(fires("    sel:\n        T|hour: 7\n    condition: sel", &events), [true, false, false, false]);
    assert_eq!(fires("    sel:\n        T|hour|gte: 22\n    condition: sel", &events), [false, true, true, false]);
    assert_eq!(fires("    sel:\n        T|minute: 59\n    condition: sel", &events), [false, true, false, false]);
    assert_eq!(fires("    sel:\n        T|day: 5\n    condition: sel", &events), [true, false, false, false]);
    assert_eq!(fires("    sel:\n        T|month: 11\n    condition: sel", &events), [false, false, true, false]);
    assert_eq!(fires("    sel:\n        T|year|lt: 2024\n    condition: sel", &events), [false, false, true, false]);
    // ISO week: 2024-12-31 is in week 1 of 2025.
    assert_eq!(fires("    sel:\n        T|week: 1\n    condition: sel", &events), [false, true, false, false]);
}

#[test]
fn expand_uses_placeholder_values_and_reports_missing_ones() {
    let text = rule("    sel:\n        User|expand: '%Admins%'\n    condition: sel");
    let mut placeholders = Placeholders::new();
    placeholders.insert("Admins", vec!["root".into(), "adm_*".into()]);
    let engine = build(&text, &EngineOptions { placeholders, ..EngineOptions::default() });
    let events = [one("User", s("ROOT")), one("User", s("adm_bob")), one("User", s("bob"))];
    assert_eq!(events.iter().map(|e| count(&engine, e)).collect::<Vec<_>>(), [1, 1, 0]);
    let set = sigil_rule::load_texts(&[("t.yml", text.as_str())], &Default::default());
    let (engine, report) =
        Engine::build(&set, sigil_knowledge::Knowledge::builtin().unwrap(), &EngineOptions::default());
    assert!(engine.rules().is_empty());
    assert!(format!("{:?}", report.skipped[0].reason).contains("Admins"), "{:?}", report.skipped);
}

#[test]
fn keywords_search_every_value() {
    let events = [
        ev(&[("A", s("nothing")), ("B", s("xx Mimikatz yy"))]),
        ev(&[("A", Value::Int(4242))]),
        ev(&[("A", s("sekurlsa")), ("B", s("mimikatz"))]),
        ev(&[("A", s("other"))]),
    ];
    assert_eq!(
        fires("    keywords:\n        - mimikatz\n        - 4242\n    condition: keywords", &events),
        [true, true, true, false]
    );
    assert_eq!(
        fires(
            "    keywords:\n        '|all':\n            - mimikatz\n            - sekurlsa\n    condition: keywords",
            &events
        ),
        [false, false, true, false]
    );
}

#[test]
fn condition_precedence_and_selectors() {
    let det = |cond: &str| {
        format!("    a:\n        A: '1'\n    b:\n        B: '1'\n    c:\n        C: '1'\n    condition: {cond}")
    };
    // All 8 combinations of A, B, C.
    let events: Vec<Event> = (0..8)
        .map(|i| {
            let v = |bit: i32| s(if i & bit != 0 { "1" } else { "0" });
            ev(&[("A", v(1)), ("B", v(2)), ("C", v(4))])
        })
        .collect();
    let truth = |f: &dyn Fn(bool, bool, bool) -> bool| -> Vec<bool> {
        (0..8).map(|i| f(i & 1 != 0, i & 2 != 0, i & 4 != 0)).collect()
    };
    assert_eq!(fires(&det("a or b and c"), &events), truth(&|a, b, c| a || (b && c)));
    assert_eq!(fires(&det("(a or b) and c"), &events), truth(&|a, b, c| (a || b) && c));
    assert_eq!(fires(&det("not a and b"), &events), truth(&|a, b, _| !a && b));
    assert_eq!(fires(&det("not (a and b)"), &events), truth(&|a, b, _| !(a && b)));
    assert_eq!(fires(&det("a and not b or c"), &events), truth(&|a, b, c| (a && !b) || c));
    assert_eq!(fires(&det("not not a"), &events), truth(&|a, _, _| a));
    assert_eq!(fires(&det("1 of them"), &events), truth(&|a, b, c| a || b || c));
    assert_eq!(fires(&det("all of them"), &events), truth(&|a, b, c| a && b && c));
    assert_eq!(fires(&det("any of them and not c"), &events), truth(&|a, b, c| (a || b) && !c));
    assert_eq!(fires(&det("all of a* or not 1 of b*"), &events), truth(&|a, b, _| a || !b));
}

#[test]
fn underscore_identifiers_and_condition_lists() {
    let det = "    sel:\n        A: '1'\n    _hidden:\n        B: '1'\n    condition:\n        - 1 of them\n        - _hidden and 1 of _*";
    let events = [ev(&[("A", s("1"))]), ev(&[("B", s("1"))]), ev(&[("C", s("1"))])];
    assert_eq!(fires(det, &events), [true, true, false]);
    let det = "    sel:\n        A: '1'\n    _hidden:\n        B: '1'\n    condition: all of them";
    assert_eq!(fires(det, &[ev(&[("A", s("1"))])]), [true], "`them` leaves out _-names");
}

#[test]
fn list_of_maps_is_or_of_ands() {
    let det = "    sel:\n        - A: '1'\n          B: '1'\n        - C: '1'\n    condition: sel";
    let events = [ev(&[("A", s("1")), ("B", s("1"))]), ev(&[("A", s("1"))]), ev(&[("C", s("1"))])];
    assert_eq!(fires(det, &events), [true, false, true]);
}

#[test]
fn field_names_exact_first_then_case_and_spaces() {
    let det = "    sel:\n        ThreatName: x\n    condition: sel";
    let events =
        [one("threatname", s("x")), one("Threat Name", s("x")), ev(&[("ThreatName", s("y")), ("threatname", s("x"))])];
    assert_eq!(fires(det, &events), [true, true, false]);
}

#[test]
fn routing_maps_fields_per_route_and_filters_by_channel() {
    let text = "title: t\nlogsource: {product: windows, category: process_creation}\n\
        detection: {sel: {Image|endswith: '\\whoami.exe', ParentCommandLine|contains: x}, condition: sel}\n";
    let loose = "title: t\nlogsource: {product: windows, category: process_creation}\n\
        detection: {sel: {Image|endswith: '\\whoami.exe'}, condition: sel}\n";
    let sysmon = ev(&[
        ("Channel", s("Microsoft-Windows-Sysmon/Operational")),
        ("EventID", Value::Int(1)),
        ("Image", s("C:\\w\\whoami.exe")),
        ("ParentCommandLine", s("x")),
    ]);
    let security =
        ev(&[("Channel", s("Security")), ("EventID", Value::Int(4688)), ("NewProcessName", s("C:\\w\\whoami.exe"))]);
    let other =
        ev(&[("Channel", s("Security")), ("EventID", Value::Int(4624)), ("NewProcessName", s("C:\\w\\whoami.exe"))]);
    let e = build(text, &EngineOptions::default());
    assert_eq!(
        [count(&e, &sysmon), count(&e, &security), count(&e, &other)],
        [1, 0, 0],
        "4688 lacks ParentCommandLine"
    );
    let e = build(loose, &EngineOptions::default());
    assert_eq!([count(&e, &sysmon), count(&e, &security), count(&e, &other)], [1, 1, 0]);
}

#[test]
fn unknown_logsources_are_reported_and_run_everywhere_on_request() {
    let text = "title: t\nlogsource: {product: plan9, category: nothing}\ndetection: {sel: {F: x}, condition: sel}\n";
    let set = sigil_rule::load_texts(&[("t.yml", text)], &Default::default());
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, report) = Engine::build(&set, k, &EngineOptions::default());
    assert!(engine.rules().is_empty());
    assert_eq!(report.unrouted.len(), 1);
    assert_eq!(report.unrouted[0].logsource, "plan9/nothing/-");
    let (engine, _) = Engine::build(&set, k, &EngineOptions { all_logsources: true, ..EngineOptions::default() });
    assert_eq!(count(&engine, &ev(&[("Channel", s("Anything")), ("F", s("x"))])), 1);
}

#[test]
fn meta_filters_restrict_their_rules() {
    let text = "title: r\nid: 00000000-0000-4000-8000-000000000001\nlogsource: {product: windows}\n\
        detection: {sel: {F|contains: x}, condition: sel}\n---\n\
        title: f\nlogsource: {product: windows}\nfilter:\n  rules: [00000000-0000-4000-8000-000000000001]\n  \
        admin: {User: admin}\n  condition: not admin\n";
    let engine = build(text, &EngineOptions::default());
    assert_eq!(count(&engine, &ev(&[("F", s("x")), ("User", s("bob"))])), 1);
    assert_eq!(count(&engine, &ev(&[("F", s("x")), ("User", s("ADMIN"))])), 0);
}

#[test]
fn the_prefilter_never_changes_results() {
    // Rules whose literals sit in different fields, keywords and regexes; events that have each literal in the
    // wrong field, the right field, or nowhere.
    let text = rule(
        "    sel_a:\n        A|contains: needle\n    sel_b:\n        B|re: 'ne+dle[0-9]'\n    kw:\n        - haystack\n    \
         condition: 1 of them",
    );
    let engine = build(&text, &EngineOptions::default());
    let cases = [
        (ev(&[("B", s("needle"))]), 0),
        (ev(&[("A", s("a NEEDLE"))]), 1),
        (ev(&[("B", s("neeedle7"))]), 1),
        (ev(&[("A", s("needle7x"))]), 1),
        (ev(&[("C", s("HayStack"))]), 1),
        (ev(&[("C", s("nothing"))]), 0),
    ];
    for (e, want) in &cases {
        assert_eq!(count(&engine, e), *want, "{e:?}");
    }
}

#[test]
fn a_rule_whose_condition_ands_two_literal_sets_is_evaluated_only_when_both_occur() {
    // `sel_img` and `sel_cli` each require a literal; `not filter` and `sel_any` (an OR across fields, one set)
    // take part as they may: every event the rule matches holds a literal of each AND operand.
    let text = rule(
        "    sel_img:\n        Image|endswith: '\\tool.exe'\n    sel_cli:\n        CommandLine|contains:\n            - ' -secret '\n            \
         - ' /quiet'\n    sel_any:\n        - User|contains: admin\n        - Parent|endswith: 'svc.exe'\n    filter:\n        \
         CommandLine|contains: harmless\n    condition: sel_img and sel_cli and sel_any and not filter",
    );
    let fast = build(&text, &EngineOptions::default());
    let slow = build(&text, &EngineOptions { no_prefilter: true, ..EngineOptions::default() });
    let cases = [
        // Image alone, CommandLine alone, both but no `sel_any`: never evaluated.
        (ev(&[("Image", s("C:\\x\\TOOL.exe")), ("CommandLine", s("tool -x"))]), 0, 0),
        (ev(&[("Image", s("C:\\x\\other.exe")), ("CommandLine", s("tool -secret x"))]), 0, 0),
        // Both literals: evaluated (the second set's hit), and matches with `sel_any`.
        (ev(&[("Image", s("C:\\x\\tool.exe")), ("CommandLine", s("tool -secret x"))]), 0, 1),
        (ev(&[("Image", s("C:\\x\\tool.exe")), ("CommandLine", s("tool /QUIET")), ("User", s("ADMIN"))]), 1, 1),
        (ev(&[("Image", s("c:\\tool.exe")), ("CommandLine", s(" -secret ")), ("Parent", s("a\\svc.exe"))]), 1, 1),
        // The filter removes it: evaluated, no match.
        (ev(&[("Image", s("c:\\tool.exe")), ("CommandLine", s(" -secret harmless")), ("User", s("admin"))]), 0, 1),
        // A literal of the second set in the field of the first does not count.
        (ev(&[("Image", s("tool -secret x\\tool.exe")), ("User", s("admin"))]), 0, 0),
    ];
    assert_detections_and_evaluations(&fast, &slow, &cases);
}

#[test]
fn keyword_rules_see_every_value_though_fields_no_rule_names_are_left_unprepared() {
    // Keyword rules beside a field rule: the bucket prepares only the named fields and folds the others for the
    // keyword scan; a keyword rule is evaluated (on the whole event) only when one of its literals occurs.
    let few = rule(
        "    sel:\n        CommandLine|endswith: '.dat,#1'\n    kw:\n        - '\\perfc.dat'\n        - '4242'\n    \
         condition: sel or kw",
    )
    .replace("00000001", "00000002");
    let and = rule("    sel:\n        EventID: 4728\n    kw:\n        - 'ESX Admins'\n    condition: sel and kw")
        .replace("00000001", "00000003");
    // More keywords than the substring path takes: the per-byte path.
    let many = (0..12).map(|i| format!("        - 'mimi{i}katz'\n")).collect::<String>();
    let many = rule(&format!("    kw:\n{many}    condition: kw")).replace("00000001", "00000004");
    let field = rule("    sel:\n        Image|endswith: '\\tool.exe'\n    condition: sel");
    let text = [few, and, many, field].join("---\n");
    let fast = build(&text, &EngineOptions::default());
    let slow = build(&text, &EngineOptions { no_prefilter: true, ..EngineOptions::default() });
    let long = "x".repeat(100);
    let cases: Vec<(Event, usize, u64)> = vec![
        // (event, detections, evaluations with the prefilter)
        (ev(&[("Image", s("C:\\tool.exe")), ("Other", s("nothing"))]), 1, 1),
        (ev(&[("Image", s("a")), ("Other", s("C:\\X\\PERFC.DAT"))]), 1, 1),
        (ev(&[("Image", s("a")), ("Other", s(&format!("{long}C:\\X\\PERFC.DAT{long}")))]), 1, 1),
        (ev(&[("Image", s("a")), ("Number", Value::Int(142424))]), 1, 1),
        (ev(&[("Image", s("a")), ("Number", Value::Float(4242.5))]), 1, 1),
        (ev(&[("Image", s("a")), ("List", Value::List(vec![Value::Null, s("ÄÖ \\Perfc.DAT")]))]), 1, 1),
        (ev(&[("Image", s("a")), ("CommandLine", s("rundll32 x.dat,#1"))]), 1, 1),
        (ev(&[("Image", s("a")), ("CommandLine", s(&format!("{long} \\perfc.dat")))]), 1, 1),
        (ev(&[("EventID", Value::Int(4728)), ("Group", s("esx admins"))]), 1, 1),
        // Another event id leaves the rule out of the bucket; without one the keyword makes it a candidate.
        (ev(&[("EventID", Value::Int(4729)), ("Group", s(&format!("{long}ESX ADMINS")))]), 0, 0),
        (ev(&[("Group", s(&format!("{long}ESX ADMINS")))]), 0, 1),
        (ev(&[("Image", s("a")), ("Tool", s("MIMI7KATZ"))]), 1, 1),
        (ev(&[("Image", s("a")), ("Tool", s(&format!("{long}mimi11katz{long}")))]), 1, 1),
        (ev(&[("Image", s("C:\\tool.exe")), ("Tool", s("mimi7katz")), ("F", s("\\perfc.dat"))]), 3, 3),
        // A literal split over two values is no occurrence.
        (ev(&[("Image", s("a")), ("A", s("\\perfc")), ("B", s(".dat"))]), 0, 0),
        (ev(&[("Image", s("a")), ("A", s(&long)), ("B", Value::Bool(true)), ("C", Value::Null)]), 0, 0),
    ];
    assert_detections_and_evaluations(&fast, &slow, &cases);
    // One scratch over all events in a row (buffers reused, a complete preparation followed by partial ones).
    let mut scratch = fast.scratch();
    for (e, want, _) in cases.iter().chain(&cases) {
        let mut out = Vec::new();
        fast.matches(e, &mut scratch, &mut out);
        assert_eq!(out.len(), *want, "{e:?}");
    }
}

/// Each case's detections with the prefilter (`fast`) and without (`slow`), and the evaluations the prefilter let
/// through, each event on a fresh scratch.
fn assert_detections_and_evaluations(fast: &Engine, slow: &Engine, cases: &[(Event, usize, u64)]) {
    for (e, want, evaluations) in cases {
        let mut scratch = fast.scratch();
        let mut out = Vec::new();
        fast.matches(e, &mut scratch, &mut out);
        assert_eq!(out.len(), *want, "{e:?}");
        assert_eq!(count(slow, e), *want, "{e:?}");
        assert_eq!(scratch.counters().1, *evaluations, "evaluations of {e:?}");
    }
}

fn timed(secs: i64, fields: &[(&str, Value)]) -> Event {
    ev(fields).with_timestamp(Some(jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()))
}

/// Runs a rule file over events through the whole pipeline; returns the titles of the alerts, in output order.
fn hunt_titles(yaml: &str, events: Vec<Event>) -> Vec<String> {
    use sigil_engine::HuntSink;
    struct Collect(std::sync::Mutex<Vec<String>>);
    impl HuntSink for Collect {
        fn detections(&self, d: &[sigil_engine::Detection<'_>]) {
            let mut v = self.0.lock().unwrap();
            for x in d {
                let keys: Vec<String> = x.key_fields().iter().map(|(k, v)| format!("{k}={v}")).collect();
                v.push(format!("{} [{}]", x.rule.info.title, keys.join(" ")));
            }
        }
        fn read_error(&self, e: &sigil_events::ReadError) {
            panic!("{e}");
        }
    }
    let engine = build(yaml, &EngineOptions::default());
    let batch = sigil_events::Batch { source: std::path::Path::new("mem").into(), seq: 0, events, errors: vec![] };
    let sink = Collect(std::sync::Mutex::new(Vec::new()));
    sigil_engine::hunt_batches(&engine, vec![batch], &sigil_engine::HuntOptions::default(), &sink).unwrap();
    sink.0.into_inner().unwrap()
}

const BASE: &str =
    "title: Fail\nname: fail\nlogsource: {product: windows}\ndetection: {sel: {EventID: 4625}, condition: sel}\n";

#[test]
fn event_count_correlation_per_group_in_a_sliding_window() {
    let yaml = format!(
        "{BASE}---\ntitle: Burst\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 10s\n  condition: {{gte: 3}}\nlevel: high\n"
    );
    let f = |t: i64, user: &str| timed(t, &[("EventID", Value::Int(4625)), ("User", s(user))]);
    // alice: 3 within 10 s -> alert; bob: 3 but spread over 20 s -> none; alice again 3 later -> second alert.
    let events = vec![
        f(0, "alice"),
        f(1, "bob"),
        f(4, "alice"),
        f(9, "alice"),
        f(12, "bob"),
        f(25, "bob"),
        f(40, "alice"),
        f(41, "alice"),
        f(42, "alice"),
    ];
    assert_eq!(hunt_titles(&yaml, events), ["Burst [User=alice events=3]", "Burst [User=alice events=3]"]);
}

#[test]
fn value_count_and_generate() {
    let yaml = format!(
        "{BASE}---\ntitle: Spray\ncorrelation:\n  type: value_count\n  rules: [fail]\n  group-by: [Ip]\n  timespan: 1m\n  condition: {{gte: 3, field: User}}\n  generate: true\nlevel: high\n"
    );
    let f = |t: i64, user: &str| timed(t, &[("EventID", Value::Int(4625)), ("User", s(user)), ("Ip", s("10.0.0.9"))]);
    let titles = hunt_titles(&yaml, vec![f(0, "a"), f(1, "a"), f(2, "b"), f(3, "c")]);
    // generate: true keeps the base rule's own alerts.
    assert_eq!(titles.iter().filter(|t| t.starts_with("Fail")).count(), 4);
    assert_eq!(titles.last().unwrap(), "Spray [Ip=10.0.0.9 distinct values=3]");
}

#[test]
fn temporal_and_temporal_ordered() {
    let rules = "title: A\nname: a\nlogsource: {product: windows}\ndetection: {sel: {K: a}, condition: sel}\n---\n\
        title: B\nname: b\nlogsource: {product: windows}\ndetection: {sel: {K: b}, condition: sel}\n";
    let corr = |kind: &str| {
        format!(
            "{rules}---\ntitle: Seq\ncorrelation:\n  type: {kind}\n  rules: [a, b]\n  group-by: [H]\n  timespan: 5s\nlevel: high\n"
        )
    };
    let e = |t: i64, k: &str| timed(t, &[("K", s(k)), ("H", s("h1"))]);
    // b then a within 5 s: temporal fires, temporal_ordered does not.
    assert_eq!(hunt_titles(&corr("temporal"), vec![e(0, "b"), e(2, "a")]), ["Seq [H=h1 rules=2]"]);
    assert!(hunt_titles(&corr("temporal_ordered"), vec![e(0, "b"), e(2, "a")]).is_empty());
    assert_eq!(hunt_titles(&corr("temporal_ordered"), vec![e(0, "a"), e(2, "b")]), ["Seq [H=h1 rules=2]"]);
    // Too far apart.
    assert!(hunt_titles(&corr("temporal"), vec![e(0, "a"), e(9, "b")]).is_empty());
}

fn of_kind(kind: &str, fields: &[(&str, Value)]) -> sigil_events::Event {
    ev(fields).with_kind(Some(sigil_events::RecordKind::by_name(kind).unwrap()))
}

#[test]
fn non_windows_logsources_route_by_record_kind() {
    let trail = "title: t\nlogsource: {product: aws, service: cloudtrail}\n\
        detection: {sel: {eventSource: iam.amazonaws.com, eventName: CreateUser}, condition: sel}\n";
    let windows_any =
        "title: w\nlogsource: {product: windows}\ndetection: {sel: {eventName: CreateUser}, condition: sel}\n";
    let fields = [("eventSource", s("iam.amazonaws.com")), ("eventName", s("CreateUser"))];
    let record = of_kind("aws.cloudtrail", &fields);
    let shapeless = ev(&fields);
    let okta = of_kind("okta.system", &fields);
    let e = build(trail, &EngineOptions::default());
    assert_eq!([count(&e, &record), count(&e, &shapeless), count(&e, &okta)], [1, 0, 0]);
    // A Windows rule never sees a CloudTrail record, even `product: windows` alone.
    let e = build(windows_any, &EngineOptions::default());
    assert_eq!([count(&e, &record), count(&e, &shapeless)], [0, 1]);
}

#[test]
fn auditd_process_creation_maps_fields_and_needs_an_execve_record() {
    let text = "title: t\nlogsource: {product: linux, category: process_creation}\n\
        detection: {sel: {Image|endswith: '/whoami', CommandLine|contains: 'whoami -a'}, condition: sel}\n";
    let types = |t: &[&str]| Value::List(t.iter().map(|x| s(x)).collect());
    let exec = of_kind(
        "linux.auditd",
        &[("type", types(&["SYSCALL", "EXECVE", "PATH"])), ("exe", s("/usr/bin/whoami")), ("cmdline", s("whoami -a"))],
    );
    let no_execve = of_kind(
        "linux.auditd",
        &[("type", types(&["SYSCALL"])), ("exe", s("/usr/bin/whoami")), ("cmdline", s("whoami -a"))],
    );
    let sysmon = of_kind(
        "linux.sysmon",
        &[("EventID", Value::Int(1)), ("Image", s("/usr/bin/whoami")), ("CommandLine", s("whoami -a"))],
    );
    let sysmon_3 = of_kind(
        "linux.sysmon",
        &[("EventID", Value::Int(3)), ("Image", s("/usr/bin/whoami")), ("CommandLine", s("whoami -a"))],
    );
    let e = build(text, &EngineOptions::default());
    assert_eq!([count(&e, &exec), count(&e, &no_execve), count(&e, &sysmon), count(&e, &sysmon_3)], [1, 0, 1, 0]);
}

#[test]
fn a_rule_field_naming_an_object_reads_everything_under_it() {
    let text = "title: t\nlogsource: {product: aws, service: cloudtrail}\n\
        detection: {sel: {eventName: AttachUserPolicy, requestParameters|contains: AdministratorAccess}, condition: sel}\n";
    let hit = of_kind(
        "aws.cloudtrail",
        &[
            ("eventName", s("AttachUserPolicy")),
            ("requestParameters.userName", s("bob")),
            ("requestParameters.policyArn", s("arn:aws:iam::aws:policy/AdministratorAccess")),
        ],
    );
    let miss = of_kind(
        "aws.cloudtrail",
        &[("eventName", s("AttachUserPolicy")), ("requestParametersX", s("AdministratorAccess"))],
    );
    for opts in [EngineOptions::default(), EngineOptions { no_prefilter: true, ..EngineOptions::default() }] {
        let e = build(text, &opts);
        assert_eq!([count(&e, &hit), count(&e, &miss)], [1, 0]);
    }
}

#[test]
fn unrouted_logsources_say_why() {
    let text = "title: t\nlogsource: {product: m365, service: threat_management}\n\
        detection: {sel: {eventName: x}, condition: sel}\n";
    let set = sigil_rule::load_texts(&[("t.yml", text)], &Default::default());
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    let (_, report) = Engine::build(&set, k, &EngineOptions::default());
    assert_eq!(report.unrouted.len(), 1);
    assert!(report.unrouted[0].why.as_deref().unwrap().contains("Defender"), "{:?}", report.unrouted[0]);
}

#[test]
fn one_scratch_over_many_interleaved_headers_matches_like_a_fresh_one() {
    // More distinct headers (channel, provider, event id) than a worker remembers, interleaved, so that remembered
    // headers are replaced and found again: each event must still meet exactly the rules its own header selects.
    let engine = build(
        &rule("    sel:\n        EventID: [3, 7, 11, 19, 23]\n        Data|endswith: '.exe'\n    condition: sel"),
        &EngineOptions::default(),
    );
    let mut shared = engine.scratch();
    let mut seen = 0;
    for round in 0..3 {
        for id in 0..40i64 {
            let channel = if id % 2 == 0 { "Security" } else { "Microsoft-Windows-Sysmon/Operational" };
            let provider = format!("P{}", id % 5);
            let data = if (id + round) % 3 == 0 { "c:\\x\\A.EXE" } else { "c:\\x\\a.dll" };
            let event = ev(&[
                ("Channel", s(channel)),
                ("Provider_Name", s(&provider)),
                ("EventID", Value::Int(id)),
                ("Data", s(data)),
            ]);
            let mut out = Vec::new();
            engine.matches(&event, &mut shared, &mut out);
            let want = usize::from([3, 7, 11, 19, 23].contains(&id) && (id + round) % 3 == 0);
            assert_eq!(out.len(), want, "round {round} id {id}");
            assert_eq!(out.len(), count(&engine, &event), "round {round} id {id}");
            seen += out.len();
        }
    }
    assert!(seen > 0);
}
