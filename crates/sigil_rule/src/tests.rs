use super::*;
use crate::modifiers::Modifier;

const MESHAGENT: &str = r"title: Remote Access Tool - MeshAgent Command Execution via MeshCentral
id: 74a2b202-73e0-4693-9a3a-9d36146d0775
status: test
tags:
    - attack.command-and-control
    - attack.t1219.002
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        ParentImage|endswith: '\meshagent.exe'
        Image|endswith:
            - '\cmd.exe'
            - '\powershell.exe'
    condition: selection
level: medium
x_custom: [1, 2]
";

fn only_rule(p: &ParsedFile) -> &Rule {
    match p.documents.as_slice() {
        [Document::Rule(r)] => r,
        other => panic!("expected one rule, got {other:?}"),
    }
}

#[test]
fn parses_a_rule() {
    let p = parse_str(MESHAGENT);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let r = only_rule(&p);
    assert_eq!(r.meta.level, Some(Level::Medium));
    assert_eq!(r.meta.status, Some(Status::Test));
    assert_eq!(r.meta.tags[1].full(), "attack.t1219.002");
    assert_eq!(r.logsource.category.as_deref(), Some("process_creation"));
    assert_eq!(r.meta.custom.len(), 1);
    let s = &r.detection.searches[0];
    assert_eq!(s.pos, Position::new(11, 5));
    let SearchBody::AllOf(items) = &s.body else { panic!() };
    assert_eq!(items[0].field.as_deref(), Some("ParentImage"));
    assert_eq!(items[0].modifiers, vec![Modifier::EndsWith]);
    assert_eq!(items[1].values.len(), 2);
    assert_eq!(items[1].values[1].pos, Position::new(15, 15));
    assert_eq!(r.detection.conditions[0].expr.to_string(), "selection");
}

#[test]
fn normalised_detection_round_trips() {
    let p = parse_str(MESHAGENT);
    let r = only_rule(&p);
    let yaml = normalize::detection_yaml(&r.detection);
    let again = parse_str(&format!("title: t\nlogsource: {{product: windows}}\n{yaml}"));
    assert!(again.diagnostics.is_empty(), "{:?}\n{yaml}", again.diagnostics);
    assert_eq!(normalize::detection_yaml(&only_rule(&again).detection), yaml);
    assert_eq!(
        normalize::search_yaml(&r.detection.searches[0]),
        "selection:\n    ParentImage|endswith: '\\meshagent.exe'\n    Image|endswith:\n    - '\\cmd.exe'\n    - '\\powershell.exe'\n"
    );
}

fn codes_of(text: &str) -> Vec<(&'static str, u32, u32)> {
    parse_str(text).diagnostics.iter().map(|d| (d.code.0, d.position.line, d.position.column)).collect()
}

#[test]
fn unknown_modifier_points_inside_the_key() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        Image|contians: x\n    condition: sel\n";
    assert_eq!(codes_of(text), vec![("SG301", 5, 15)]);
    let quoted = "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        'Image|contians': x\n    condition: sel\n";
    assert_eq!(codes_of(quoted), vec![("SG301", 5, 16)]);
}

#[test]
fn invalid_chain_points_at_the_modifier() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        Image|re|contains: x\n    condition: sel\n";
    assert_eq!(codes_of(text), vec![("SG302", 5, 18)]);
}

#[test]
fn condition_errors_point_inside_the_condition() {
    // An undefined identifier is the linter's (SG306); the parser builds the condition.
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel: {a: 1}\n    condition: sel and nope\n";
    assert_eq!(codes_of(text), vec![]);
    let text =
        "title: t\nlogsource: {product: windows}\ndetection:\n    sel: {a: 1}\n    condition: 'sel | count() > 4'\n";
    assert_eq!(codes_of(text), vec![("SG310", 5, 21)]);
}

#[test]
fn keywords_lists_of_maps_and_nulls() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    kw:\n        - 'evil'\n        - 'bad*'\n    \
                lom:\n        - a: 1\n        - b: ~\n    empty:\n        c: []\n    condition: kw or lom or empty\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let r = only_rule(&p);
    assert!(matches!(&r.detection.searches[0].body, SearchBody::Keywords(i) if i.values.len() == 2));
    assert!(matches!(&r.detection.searches[1].body, SearchBody::AnyOf(g) if g.len() == 2));
    let SearchBody::AllOf(items) = &r.detection.searches[2].body else { panic!() };
    assert_eq!(items[0].values[0].kind, ValueKind::Null);
}

#[test]
fn correlation_and_filter_documents() {
    let text = "title: base\nname: base_rule\nlogsource: {product: windows, service: security}\n\
                detection: {sel: {EventID: 4625}, condition: sel}\n---\n\
                title: many failures\ncorrelation:\n    type: event_count\n    rules: [base_rule]\n    \
                group-by: [TargetUserName]\n    timespan: 5m\n    condition: {gte: 10}\n---\n\
                title: f\nlogsource: {product: windows}\nfilter:\n    rules: any\n    sel: {User: admin}\n    condition: not sel\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.documents.len(), 3);
    let Document::Correlation(c) = &p.documents[1] else { panic!() };
    assert_eq!(c.correlation.kind, CorrelationType::EventCount);
    assert_eq!(c.correlation.timespan.as_ref().map(|t| t.seconds), Some(300));
    assert_eq!(c.correlation.condition.as_ref().unwrap().comparisons, vec![(CmpOp::Gte, 10.0)]);
    let Document::Filter(f) = &p.documents[2] else { panic!() };
    assert!(f.rules.is_empty());
}

#[test]
fn collections_merge_templates() {
    let text = "action: global\ntitle: t\nlogsource: {product: windows}\ndetection: {condition: sel}\n---\n\
                detection: {sel: {a: 1}}\n---\ndetection: {sel: {a: 2}}\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.documents.len(), 2);
}

#[test]
fn collections_repeat_the_previous_rule_and_reset_the_template() {
    // pySigma collection.py: `repeat` merges into the rule before it (template included), `reset` drops the template.
    let text = "action: global\ntitle: t\nlogsource: {product: windows}\ndetection: {condition: sel}\n---\n\
                detection: {sel: {a: 1}}\n---\naction: repeat\nlogsource: {category: c}\n---\n\
                action: repeat\ntitle: u\n---\naction: reset\n---\ntitle: v\nlogsource: {product: p}\n\
                detection: {sel: {b: 2}, condition: sel}\n";
    let p = parse_str(text);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let rules: Vec<&Rule> =
        p.documents.iter().filter_map(|d| if let Document::Rule(r) = d { Some(r) } else { None }).collect();
    let shown: Vec<(&str, Option<&str>, Option<&str>)> = rules
        .iter()
        .map(|r| (r.meta.title.as_str(), r.logsource.product.as_deref(), r.logsource.category.as_deref()))
        .collect();
    assert_eq!(
        shown,
        [
            ("t", Some("windows"), None),
            ("t", Some("windows"), Some("c")),
            ("u", Some("windows"), Some("c")),
            ("v", Some("p"), None)
        ]
    );
    // A `repeat` with no rule before it is an error, and the documents after it are still read.
    let p = parse_str(
        "action: repeat\ntitle: x\n---\ntitle: v\nlogsource: {product: p}\ndetection: {sel: {b: 2}, condition: sel}\n",
    );
    assert_eq!(p.documents.len(), 1);
    assert!(p.diagnostics.iter().any(|d| d.message.contains("no previous rule")), "{:?}", p.diagnostics);
}

#[test]
fn empty_and_comment_only_files_are_reported() {
    for text in ["", "# only a comment\n", "---\n---\n", "\n\n"] {
        assert_eq!(codes_of(text), vec![("SG107", 0, 0)], "{text:?}");
        assert_eq!(parse_str(text).diagnostics[0].severity, sigil_diagnostics::Severity::Warning);
    }
}

#[test]
fn parser_diagnostics_carry_spans_and_the_modifier_fix() {
    let text = "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        'Image|endwith': x\n    condition: sel\n";
    let p = parse_str(text);
    let d = &p.diagnostics[0];
    assert_eq!(d.span.and_then(|s| s.slice(text)), Some("endwith"));
    let fix = d.fix.as_ref().unwrap();
    assert_eq!(fix.edits[0].replacement, "endswith");
    // No obvious correction: help at most, never a fix.
    let text =
        "title: t\nlogsource: {product: windows}\ndetection:\n    sel:\n        Image|zzzzzz: x\n    condition: sel\n";
    assert!(parse_str(text).diagnostics[0].fix.is_none());
    // The YAML error points at a token.
    let text = "title: t\nlogsource: [\n";
    assert!(parse_str(text).diagnostics[0].span.is_some());
}

#[test]
fn nodes_are_kept_per_document() {
    let p = parse_str(MESHAGENT);
    assert_eq!(p.nodes.len(), p.documents.len());
    let title = p.nodes[0].get("title").unwrap();
    assert_eq!(title.span.slice(MESHAGENT), Some("Remote Access Tool - MeshAgent Command Execution via MeshCentral"));
}

#[test]
fn hostile_input_never_panics() {
    for text in [
        "",
        "---\n---\n",
        "[1, 2",
        "title: [",
        "- a\n- b\n",
        "title: t\ndetection: 5\nlogsource: 3\n",
        "title: t\nlogsource: {}\ndetection: {sel: {'|': x}, condition: sel}\n",
        "title: t\nlogsource: {}\ndetection: {sel: [[1]], condition: sel}\n",
        "title: t\nlogsource: {}\ndetection: {sel: {a|re: '(('}, condition: sel}\n",
        "title: t\nlogsource: {}\ndetection: {sel: {a|cidr: 'x/99'}, condition: sel}\n",
        "title: t\nlogsource: {}\ndetection: {sel: {a|gt: 'x'}, condition: [sel, '(((', 5]}\n",
        "title: t\ncorrelation: {type: nope, rules: 5, timespan: x, condition: {gt: x}}\n",
        "title: t\nlogsource: {}\nfilter: 7\n",
        "\u{feff}title: t\n",
    ] {
        let _ = parse_str(text);
    }
    let p = parse_bytes(b"\x00\x01\x02binary", &Limits::default());
    assert_eq!(p.diagnostics[0].code, codes::NOT_UTF8);
    let p = parse_bytes(b"title: \xff\xfe\n", &Limits::default());
    assert_eq!((p.diagnostics[0].code, p.diagnostics[0].position), (codes::NOT_UTF8, Position::new(1, 8)));
    let big = vec![b'a'; 10];
    let p = parse_bytes(&big, &Limits { max_file_bytes: 5, ..Limits::default() });
    assert_eq!(p.diagnostics[0].code, codes::FILE_TOO_LARGE);
}
