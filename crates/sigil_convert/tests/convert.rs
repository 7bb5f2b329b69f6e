//! `sigil_convert` without engines: what each rule becomes, what is listed as unsupported, field-rename
//! tracking, and the export's layout and safety.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sigil_convert::{ConvertOptions, Target};

fn set(texts: &[(&str, &str)]) -> sigil_rule::RuleSet {
    sigil_check::load_texts(texts)
}

const PROC: &str = "title: Whoami\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: windows, category: process_creation}\n\
    detection:\n  sel: {Image|endswith: '\\whoami.exe', User: bob}\n  condition: sel\n";

#[test]
fn routes_and_renames_are_recorded() {
    let s = set(&[("a.yml", PROC)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    let out = sigil_convert::convert(&s, k, Target::ClickHouse, &ConvertOptions::default());
    assert_eq!(out.len(), 1);
    let q = out[0].query.as_deref().unwrap();
    // Sysmon 1 reads Image, Security 4688 reads NewProcessName; both routes are in the query.
    assert!(q.contains("event_id IN (1)") && q.contains("event_id IN (4688)"), "{q}");
    assert!(q.contains("fields['Image']") && q.contains("fields['NewProcessName']"), "{q}");
    assert!(q.contains("fields['SubjectUserName']"), "{q}");
    assert!(q.contains(r"endsWith(lowerUTF8(fields['Image']), '\\whoami.exe')"), "{q}");
    let renamed: Vec<(&str, &str)> =
        out[0].renamed.iter().map(|r| (r.sigma_field.as_str(), r.event_field.as_str())).collect();
    assert!(renamed.contains(&("Image", "NewProcessName")) && renamed.contains(&("User", "SubjectUserName")));
    assert!(out[0].renamed.iter().all(|r| r.route.contains("Security 4688")));
}

#[test]
fn unsupported_rules_are_listed_with_reasons() {
    let placeholder = "title: P\nid: 22222222-2222-4222-8222-222222222222\nlogsource: {product: windows, category: process_creation}\n\
        detection:\n  sel: {User|expand: '%admins%'}\n  condition: sel\n";
    let time_part = "title: T\nid: 33333333-3333-4333-8333-333333333333\nlogsource: {product: windows, category: process_creation}\n\
        detection:\n  sel: {UtcTime|hour|lt: 6}\n  condition: sel\n";
    let corr = "title: C\nid: 44444444-4444-4444-8444-444444444444\ncorrelation:\n  type: event_count\n  rules: [11111111-1111-4111-8111-111111111111]\n  \
        group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n";
    let broken =
        "title: B\nlogsource: {product: windows}\ndetection:\n  sel: {a|nosuchmodifier: x}\n  condition: sel\n";
    let s = set(&[("a.yml", PROC), ("p.yml", placeholder), ("t.yml", time_part), ("c.yml", corr), ("b.yml", broken)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    for t in Target::ALL {
        let out = sigil_convert::convert(&s, k, t, &ConvertOptions::default());
        assert_eq!(out.len(), 5, "{}: every rule has an entry", t.name());
        let reason = |path: &str| out.iter().find(|e| e.path == path).and_then(|e| e.unsupported.clone()).unwrap();
        assert!(reason("p.yml").contains("%admins%"));
        // Time parts convert: the calendar is computed in the query (timepart.rs).
        let night = out.iter().find(|e| e.path == "t.yml").unwrap();
        assert!(night.query.as_deref().is_some_and(|q| q.contains("sg_t")), "{night:?}");
        // The correlation converts on its own (a GROUP BY and a fold over each group's records).
        let c = out.iter().find(|e| e.path == "c.yml").unwrap();
        assert!(c.query.as_deref().is_some_and(|q| q.contains("GROUP BY g")), "{c:?}");
        assert!(reason("b.yml").contains("errors"));
        assert!(out.iter().find(|e| e.path == "a.yml").unwrap().query.is_some());
        // The single query leaves the unsupported rules out and lists them.
        let (q, entries) = sigil_convert::single_query(&s, k, t, &ConvertOptions::default());
        assert!(q.contains("11111111-1111-4111-8111-111111111111") && !q.contains("22222222"));
        assert_eq!(entries.iter().filter(|e| e.unsupported.is_some()).count(), 3);
        let c = entries.iter().find(|e| e.path == "c.yml").unwrap();
        assert!(c.unsupported.as_deref().unwrap().contains("without --single-query"));
    }
}

#[test]
fn unrouted_logsources_read_every_event_with_a_note() {
    let bitbucket = "title: B\nid: 55555555-5555-4555-8555-555555555555\nlogsource: {product: bitbucket, service: audit}\n\
        detection:\n  sel: {Image|endswith: '/bash'}\n  condition: sel\n";
    let s = set(&[("b.yml", bitbucket)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    let out =
        sigil_convert::convert(&s, k, Target::DuckDb, &ConvertOptions { table: "t".into(), ..Default::default() });
    let q = out[0].query.as_deref().unwrap();
    assert!(q.starts_with("SELECT * FROM t WHERE") && !q.contains("event_id"), "{q}");
    assert!(out[0].notes[0].contains("no route"));
    // A non-Windows logsource routes by record kind, as `sigil hunt` does: never by the Windows header columns
    // alone (Sysmon for Linux's event id 1 would select Windows Sysmon events too), and Windows routes take only
    // events without a kind.
    let linux = "title: L\nid: 66666666-5555-4555-8555-555555555555\nlogsource: {product: linux, category: process_creation}\n\
        detection:\n  sel: {Image|endswith: '/bash'}\n  condition: sel\n";
    let s = set(&[("l.yml", linux), ("a.yml", PROC)]);
    for t in Target::ALL {
        let out = sigil_convert::convert(&s, k, t, &ConvertOptions { table: "t".into(), ..Default::default() });
        let q = out[0].query.as_deref().unwrap();
        assert!(out[0].notes.is_empty(), "{:?}", out[0].notes);
        // Sysmon for Linux: its kind and event id 1; auditd: its kind, an EXECVE record among the event's types,
        // and `exe` for Image.
        assert!(q.contains("kind IN ('linux.sysmon')") && q.contains("event_id IN (1)"), "{q}");
        assert!(q.contains("kind IN ('linux.auditd')") && q.contains("'execve'"), "{q}");
        assert!(q.contains("fields['exe']") && q.contains("fields['Image']"), "{q}");
        assert!(!q.contains("kind IS NULL"), "{q}");
        let renamed: Vec<(&str, &str, &str)> =
            out[0].renamed.iter().map(|r| (r.route.as_str(), r.sigma_field.as_str(), r.event_field.as_str())).collect();
        assert_eq!(renamed, [("linux.auditd", "Image", "exe")]);
        let w = out[1].query.as_deref().unwrap();
        assert!(w.matches("kind IS NULL").count() == 2 && !w.contains("kind IN"), "{w}");
    }
}

#[test]
fn correlations_that_cannot_be_written_say_why() {
    let base = "title: A\nname: a\nlogsource: {product: windows}\ndetection: {sel: {EventID: 1}, condition: sel}\n";
    let cases = [
        (
            "type: value_percentile\n  rules: [a]\n  timespan: 1m\n  condition: {gt: 5, field: X, percentile: 90}",
            "percentile",
        ),
        ("type: temporal\n  rules: [a, inner]\n  timespan: 1m\n  condition: 'a and not inner'", "expression"),
        ("type: event_count\n  rules: [inner]\n  timespan: 1m\n  condition: {gte: 2}", "chains"),
        ("type: event_count\n  rules: [a]\n  group-by: [U]\n  timespan: 1m\n  condition: {gte: 2}", ""),
    ];
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    for (body, why) in cases {
        let text = format!(
            "{base}---\ntitle: Inner\nname: inner\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 1m\n  \
             condition: {{gte: 2}}\n---\ntitle: C\nname: c\ncorrelation:\n  {body}\n"
        );
        let s = set(&[("c.yml", &text)]);
        for t in Target::ALL {
            let out = sigil_convert::convert(&s, k, t, &ConvertOptions::default());
            let c = out.iter().find(|e| e.title == "C").unwrap();
            if why.is_empty() {
                let q = c.query.as_deref().unwrap();
                assert!(q.contains("AS `U`") || q.contains("AS \"U\""), "{q}");
            } else {
                assert!(c.query.is_none(), "{}: {body}", t.name());
                assert!(c.unsupported.as_deref().unwrap().contains(why), "{:?}", c.unsupported);
            }
        }
    }
}

#[test]
fn dialects_differ_where_they_must() {
    let s = set(&[("a.yml", PROC)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    let q = |t| sigil_convert::convert(&s, k, t, &ConvertOptions::default())[0].query.clone().unwrap();
    let (ch, sp, dd) = (q(Target::ClickHouse), q(Target::Spark), q(Target::DuckDb));
    assert!(ch.contains("lowerUTF8(") && !sp.contains("lowerUTF8(") && dd.contains("lower("));
    // DuckDB literals keep backslashes as they are; ClickHouse and Spark escape them.
    assert!(dd.contains(r"ends_with(lower(fields['Image']), '\whoami.exe')"), "{dd}");
    assert!(sp.contains(r"endswith(lower(fields['Image']), '\\whoami.exe')"), "{sp}");
}

#[test]
fn export_writes_jsonl_and_parquet_and_protects_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"Channel\":\"Security\",\"EventID\":\"4688\",\"NewProcessName\":\"C:\\\\x.exe\",\"Empty\":null,\"A\":1,\"A\":2}\n\
         not json\n{\"Provider_Name\":\"P\",\"List\":[\"a\",\"b\"],\"Flag\":true,\"Nest\":[1,[2.5,null],[]],\"None\":[]}\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let stats = sigil_convert::export::export(std::slice::from_ref(&input), &out, &Default::default()).unwrap();
    assert_eq!(stats.events, 2);
    assert_eq!(stats.warnings.len(), 1, "the malformed line is a warning naming its position: {:?}", stats.warnings);
    assert!(stats.warnings[0].contains("in.jsonl"));
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["event_index"], 0);
    assert_eq!(lines[0]["channel"], "Security");
    assert_eq!(lines[0]["event_id"], 4688);
    assert_eq!(lines[0]["fields"]["EventID"], "4688");
    assert_eq!(lines[0]["fields"]["Empty"], serde_json::Value::Null);
    assert_eq!(lines[0]["fields"]["A"], "2", "the last value of a repeated name wins");
    assert_eq!(lines[1]["provider"], "P");
    assert_eq!(lines[1]["fields"]["List"], "a, b");
    // Lists also go to `lists`, item by item (nested lists flattened, nulls kept, an empty list empty); keys
    // holding no list are not there.
    assert_eq!(lines[1]["lists"], serde_json::json!({"List": ["a", "b"], "Nest": ["1", "2.5", null], "None": []}));
    assert_eq!(lines[0]["lists"], serde_json::json!({}));
    assert_eq!(lines[1]["fields"]["Flag"], "true");
    // Windows-shaped records have no record kind; a CloudTrail record has its own.
    assert_eq!(lines[0]["kind"], serde_json::Value::Null);
    let trail = dir.path().join("trail.json");
    std::fs::write(
        &trail,
        r#"{"Records": [{"eventVersion": "1.08", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "eventTime": "2024-01-01T00:00:00Z", "awsRegion": "us-east-1", "userIdentity": {"type": "Root"}}]}"#,
    )
    .unwrap();
    let kinds = dir.path().join("kinds.jsonl");
    sigil_convert::export::export(&[input.clone(), trail], &kinds, &Default::default()).unwrap();
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&kinds).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["kind"], "aws.cloudtrail", "{}", lines[2]);
    assert_eq!(lines[2]["fields"]["userIdentity.type"], "Root", "{}", lines[2]);
    assert_eq!(lines[2]["timestamp"], "2024-01-01T00:00:00Z", "{}", lines[2]);
    let pq = dir.path().join("out.parquet");
    let stats = sigil_convert::export::export(std::slice::from_ref(&input), &pq, &Default::default()).unwrap();
    assert_eq!(stats.events, 2);
    let bytes = std::fs::read(&pq).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    // The schema's columns, in order: `kind` and `lists` last, after the first layout's columns.
    let names: Vec<String> = sigil_convert::export::schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(
        names,
        [
            "event_index",
            "source",
            "record_id",
            "timestamp",
            "computer",
            "channel",
            "provider",
            "event_id",
            "fields",
            "kind",
            "lists"
        ]
    );
    // Refusals: the input as output, an unknown extension. Nothing is overwritten.
    let before = std::fs::read(&input).unwrap();
    let err = sigil_convert::export::export(std::slice::from_ref(&input), &input, &Default::default());
    assert!(err.is_err());
    let copy = dir.path().join("in.parquet");
    std::fs::write(&copy, b"not parquet").unwrap();
    assert!(sigil_convert::export::export(std::slice::from_ref(&copy), &copy, &Default::default()).is_err());
    assert_eq!(std::fs::read(&copy).unwrap(), b"not parquet");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert!(
        sigil_convert::export::export(std::slice::from_ref(&input), &dir.path().join("x.csv"), &Default::default())
            .is_err()
    );
}

#[test]
fn an_items_values_read_the_field_once() {
    // Four values of one field, OR-ed, and three AND-ed (`|all`): the field's values (list items, the
    // case/space fallback, a dotted prefix) are read once per item, not once per value; the exact literals share one
    // IN list. The engines' differential tests (engines.rs) check that the meaning is the same.
    let rule = "title: Many\nid: 55555555-5555-4555-8555-555555555555\nlogsource: {product: github, service: audit}\n\
        detection:\n  sel: {action: [repo.destroy, project.delete, 'env*', team.delete]}\n  \
        words: {message|contains|all: [alpha, beta, gamma]}\n  condition: sel and words\n";
    let s = set(&[("m.yml", rule)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    for t in [Target::ClickHouse, Target::DuckDb, Target::Spark] {
        for exact in [false, true] {
            let opts = ConvertOptions { exact_field_names: exact, ..ConvertOptions::default() };
            let out = sigil_convert::convert(&s, k, t, &opts);
            let q = out[0].query.as_deref().unwrap_or_else(|| panic!("{:?}", out[0]));
            let lists = |field: &str| q.matches(&format!("(lists, '{field}')")).count();
            // Once in the "one plain value" test of the item, nowhere else.
            assert_eq!(lists("action"), 1, "{}: {q}", t.name());
            assert_eq!(lists("message"), 1, "{}: {q}", t.name());
            assert!(q.contains("IN ('repo.destroy', 'project.delete', 'team.delete')"), "{}: {q}", t.name());
            for word in ["alpha", "beta", "gamma"] {
                assert!(q.contains(word), "{}: {q}", t.name());
            }
            assert!(q.contains("sg_a"), "{}: `all` binds the values once: {q}", t.name());
        }
    }
}

#[test]
fn route_statements_split_the_single_query_by_route() {
    let net = "title: N\nid: 66666666-6666-4666-8666-666666666666\nlogsource: {product: windows, category: network_connection}\n\
        detection:\n  sel: {DestinationPort: 4444}\n  condition: sel\n";
    let bitbucket = "title: B\nid: 55555555-5555-4555-8555-555555555555\nlogsource: {product: bitbucket, service: audit}\n\
        detection:\n  sel: {Image|endswith: '/bash'}\n  condition: sel\n";
    let s = set(&[("a.yml", PROC), ("n.yml", net), ("b.yml", bitbucket)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    for t in [Target::ClickHouse, Target::DuckDb, Target::Spark] {
        let (statements, entries) = sigil_convert::route_statements(&s, k, t, &ConvertOptions::default());
        assert!(entries.iter().all(|e| e.unsupported.is_none()), "{entries:?}");
        let with = |id: &str| statements.iter().filter(|st| st.rule_ids.iter().any(|r| r == id)).collect::<Vec<_>>();
        // process_creation travels Sysmon 1 and Security 4688 (with renamed fields): it is in both statements,
        // each with that route's predicate as its WHERE and that route's field names.
        let proc = with("11111111-1111-4111-8111-111111111111");
        assert_eq!(proc.len(), 2, "{statements:#?}");
        let sysmon = proc.iter().find(|st| st.query.contains("WHERE kind IS NULL AND event_id IN (1)")).unwrap();
        assert!(sysmon.query.contains("fields['Image']") && !sysmon.query.contains("NewProcessName"));
        assert!(sysmon.route.contains("Sysmon") && sysmon.route.contains("event 1"), "{}", sysmon.route);
        let security = proc.iter().find(|st| st.query.contains("event_id IN (4688)")).unwrap();
        assert!(security.query.contains("fields['NewProcessName']") && !security.query.contains("event_id IN (1)"));
        // The network rule's route is not a process_creation route, so the process rule is not in its statement.
        let n = with("66666666-6666-4666-8666-666666666666");
        assert!(n.iter().any(|st| st.query.contains("event_id IN (3)")), "{n:#?}");
        assert!(n.iter().all(|st| st.rule_ids.len() == 1 && !st.query.contains("event_id IN (1)")), "{n:#?}");
        // The unrouted rule reads every event, in a statement of its own without WHERE.
        let b = with("55555555-5555-4555-8555-555555555555");
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].route.as_str(), b[0].rule_ids.len()), ("unrouted", 1));
        assert!(!b[0].query.contains("WHERE kind") && b[0].query.contains("sigil_rules"));
        // Every statement is a fraction of the single query, and together they hold every rule predicate once
        // per route, as the single query does.
        let (single, _) = sigil_convert::single_query(&s, k, t, &ConvertOptions::default());
        assert!(statements.iter().all(|st| st.query.len() < single.len()));
        for id in ["11111111-1111-4111-8111-111111111111", "66666666-6666-4666-8666-666666666666"] {
            assert_eq!(with(id).len(), single.matches(&format!("'{id}'")).count(), "{id}");
        }
    }
}

/// A per-route statement reads each field once per row into columns of an inner `SELECT`, which every test of
/// its rules names, and returns the table's columns and `sigil_rules` (the helper columns left out).
#[test]
fn route_statements_read_each_field_once() {
    let other = "title: W2\nid: 77777777-7777-4777-8777-777777777777\nlogsource: {product: windows, category: process_creation}\n\
        detection:\n  sel: {Image|endswith: ['\\cmd.exe', '\\pwsh.exe'], CommandLine|contains: ['x', 'y']}\n  condition: sel\n";
    let s = set(&[("a.yml", PROC), ("o.yml", other)]);
    let k = sigil_knowledge::Knowledge::builtin().unwrap();
    for t in [Target::ClickHouse, Target::DuckDb, Target::Spark] {
        for exact in [false, true] {
            let opts = ConvertOptions { exact_field_names: exact, ..ConvertOptions::default() };
            let (statements, _) = sigil_convert::route_statements(&s, k, t, &opts);
            let sysmon = statements.iter().find(|st| st.query.contains("event_id IN (1)")).unwrap();
            assert_eq!(sysmon.rule_ids.len(), 2);
            let q = &sysmon.query;
            // Both rules test Image: its value is read once, and lower-cased once (`fields['Image']` twice).
            assert_eq!(q.matches("fields['Image']").count(), 2, "{t:?}: {q}");
            assert_eq!(q.matches("fields['CommandLine']").count(), 2, "{t:?}: {q}");
            // Its columns: in the list left out, defined, and named by the test of each rule (twice).
            assert!(q.matches("sg_fs0").count() >= 4 && q.matches("sg_fl0").count() >= 4, "{t:?}: {q}");
            // The keys are searched (for the fallback) only when field names are not exact.
            assert_eq!(q.contains("sg_kf"), !exact, "{t:?}: {q}");
            let star = if t == Target::DuckDb { "SELECT * EXCLUDE (" } else { "SELECT * EXCEPT (" };
            assert!(q.starts_with(star) && q.contains("sg_fv0"), "{t:?}: {q}");
        }
    }
}
