//! The text targets (Lucene, Elasticsearch DSL, ES|QL, Splunk SPL, Kusto): what each modifier becomes per target,
//! escaping, routing, unsupported constructs with reasons, snapshots of SigmaHQ rules, the DSL's structure, the
//! Lucene regex translation checked against the engine's regex, conversion rates on SigmaHQ, and agreement with
//! pySigma's backends on a fixed set of rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use sigil_convert::{ConvertOptions, ConvertedRule, Target};

fn knowledge() -> &'static sigil_knowledge::Knowledge {
    sigil_knowledge::Knowledge::builtin().unwrap()
}

/// One rule with the given detection body on a logsource no route knows (no routing, no field mapping).
fn unrouted(detection: &str) -> String {
    format!(
        "title: T\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {{product: sigil_test}}\ndetection:\n{detection}"
    )
}

fn convert_text(text: &str, target: Target) -> ConvertedRule {
    let set = sigil_check::load_texts(&[("r.yml", text)]);
    let opts = ConvertOptions::default();
    let mut out = sigil_convert::convert(&set, knowledge(), target, &opts);
    assert_eq!(out.len(), 1, "{text}");
    out.remove(0)
}

/// The query of a rule whose detection is `sel` (+ condition), or panic with the reason.
fn q(target: Target, detection: &str) -> String {
    let e = convert_text(&unrouted(detection), target);
    match e.query {
        Some(q) => q,
        None => panic!("{}: {:?}\n{detection}", target.name(), e.unsupported),
    }
}

fn unsupported(target: Target, detection: &str) -> String {
    let e = convert_text(&unrouted(detection), target);
    assert!(e.query.is_none(), "{}: expected unsupported, got {:?}", target.name(), e.query);
    e.unsupported.unwrap()
}

fn sel(item: &str) -> String {
    format!("  sel:\n    {item}\n  condition: sel\n")
}

// ---------------------------------------------------------------------------------------------------------------
// Per modifier, per target.

#[test]
fn plain_values_and_escaping() {
    let d = sel(r#"CommandLine: 'a b"c:d\e*f?g/(h)'"#);
    // Sigma: `\*` would be a literal star; here `*` and `?` are wildcards and `\e` is a plain backslash.
    assert_eq!(q(Target::Lucene, &d), r#"CommandLine:a\ b\"c\:d\\e*f?g\/\(h\)"#);
    assert_eq!(
        q(Target::Esql, &d),
        "FROM events\n| WHERE COALESCE(TO_LOWER(CommandLine) LIKE \"a b\\\"c:d\\\\\\\\e*f?g/(h)\", FALSE)"
    );
    assert_eq!(
        q(Target::Kusto, &d),
        "events\n| where CommandLine matches regex \"(?is)^a b\\\"c:d\\\\\\\\e.*f.g/\\\\(h\\\\)$\""
    );
    // `?` cannot be a Splunk search wildcard: the rule goes to `| where` with an anchored regex.
    assert_eq!(
        q(Target::Splunk, &d),
        "index=events\n| where isnotnull(CommandLine) AND match(CommandLine, \"(?is)^a b\\\"c:d\\\\\\\\e.*f.g/\\\\(h\\\\)$\")"
    );
}

#[test]
fn escaped_wildcards_are_literals() {
    let d = sel(r"F: 'x\*y\?z\\'");
    assert_eq!(q(Target::Lucene, &d), r"F:x\*y\?z\\");
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &d)).unwrap();
    assert_eq!(dsl["query"]["term"]["F"]["value"], "x*y?z\\");
    assert_eq!(dsl["query"]["term"]["F"]["case_insensitive"], true);
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(TO_LOWER(F) == \"x*y?z\\\\\", FALSE)");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F =~ \"x*y?z\\\\\"");
    // A literal `*` cannot be a Splunk search term (no escape exists): where, case-insensitively.
    assert_eq!(q(Target::Splunk, &d), "index=events\n| where isnotnull(F) AND lower(F)==\"x*y?z\\\\\"");
    // Wildcard queries escape literal `*` `?` `\` with `\`.
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &sel(r"F|contains: 'a\*b'"))).unwrap();
    assert_eq!(dsl["query"]["wildcard"]["F"]["value"], "*a\\*b*");
}

#[test]
fn position_modifiers_and_case() {
    let d = sel(r"Image|endswith: '\cmd.EXE'");
    assert_eq!(q(Target::Lucene, &d), r"Image:*\\cmd.EXE");
    assert_eq!(q(Target::Kusto, &d), "events\n| where Image endswith \"\\\\cmd.EXE\"");
    assert_eq!(q(Target::Splunk, &d), "index=events Image=\"*\\\\cmd.EXE\"");
    // ES|QL folds the literal as the engine does and lower-cases the field.
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(TO_LOWER(Image) LIKE \"*\\\\\\\\cmd.exe\", FALSE)");
    let d = sel("F|startswith|cased: 'Ab'");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F startswith_cs \"Ab\"");
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(F LIKE \"Ab*\", FALSE)");
    assert_eq!(q(Target::Splunk, &d), "index=events\n| where isnotnull(F) AND like(F, \"Ab%\")");
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &d)).unwrap();
    assert_eq!(dsl["query"]["wildcard"]["F"], serde_json::json!({"value": "Ab*"}));
    // Unicode: folded for ES|QL, kept as written elsewhere.
    let d = sel("F|contains: 'ÄÖÜ'");
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(TO_LOWER(F) LIKE \"*äöü*\", FALSE)");
    assert_eq!(q(Target::Lucene, &d), "F:*ÄÖÜ*");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F contains \"ÄÖÜ\"");
}

#[test]
fn lists_all_and_neq() {
    let d = sel("F|contains|all: [a, b]");
    assert_eq!(q(Target::Lucene, &d), "F:*a* AND F:*b*");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F contains \"a\" and F contains \"b\"");
    assert_eq!(q(Target::Splunk, &d), "index=events F=\"*a*\" AND F=\"*b*\"");
    let d = sel("F: [a, b]");
    assert_eq!(q(Target::Lucene, &d), "F:(a OR b)");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F in~ (\"a\", \"b\")");
    assert_eq!(q(Target::Splunk, &d), "index=events F IN (\"a\", \"b\")");
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(TO_LOWER(F) IN (\"a\", \"b\"), FALSE)");
    let d = sel("F|neq: a");
    assert_eq!(q(Target::Lucene, &d), "NOT F:a");
    assert_eq!(q(Target::Kusto, &d), "events\n| where not(F =~ \"a\")");
}

#[test]
fn windash_and_base64offset_expand_into_alternatives() {
    let d = sel("CommandLine|windash|contains: ' -enc '");
    let l = q(Target::Lucene, &d);
    for dash in ["\\-", "\\/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(l.contains(&format!("*\\ {dash}enc\\ *")), "{l}");
    }
    let k = q(Target::Kusto, &d);
    assert!(
        k.contains("CommandLine contains \" /enc \"") && k.contains("CommandLine contains \" \u{2015}enc \""),
        "{k}"
    );
    let d = sel("CommandLine|base64offset|contains: 'foobar'");
    assert_eq!(q(Target::Lucene, &d), "CommandLine:(*Zm9vYmFy* OR *Zvb2Jhc* OR *mb29iYX*)");
    assert_eq!(q(Target::Splunk, &d), "index=events CommandLine IN (\"*Zm9vYmFy*\", \"*Zvb2Jhc*\", \"*mb29iYX*\")");
    // Encoded needles are case-sensitive in the engine only through `cased`; as written, they fold like any value.
    let k = q(Target::Kusto, &d);
    assert!(k.contains("CommandLine contains \"Zvb2Jhc\""), "{k}");
    // wide without base64 holds NUL bytes, which no query text can carry.
    assert!(unsupported(Target::Lucene, &sel("F|wide: 'ab'")).contains("U+0000"));
    assert!(unsupported(Target::Kusto, &sel("F|wide: 'ab'")).contains("U+0000"));
}

#[test]
fn regex_per_target() {
    let d = sel(r"F|re: '\d+\.exe$'");
    assert_eq!(q(Target::Lucene, &d), r"F:/.*[0-9]+\.exe/");
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(F RLIKE \".*[0-9]+\\\\.exe\", FALSE)");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F matches regex \"\\\\d+\\\\.exe$\"");
    assert_eq!(q(Target::Splunk, &d), "index=events\n| where isnotnull(F) AND match(F, \"\\\\d+\\\\.exe$\")");
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &d)).unwrap();
    assert_eq!(dsl["query"]["regexp"]["F"], serde_json::json!({"value": ".*[0-9]+\\.exe"}));
    // Flags.
    let d = sel("F|re|i|m|s: '^ab'");
    assert_eq!(q(Target::Kusto, &d), "events\n| where F matches regex \"(?ims)^ab\"");
    assert!(unsupported(Target::Lucene, &d).contains("Lucene regular expressions"));
    let d = sel("F|re|i: 'ab/c'");
    assert_eq!(q(Target::Lucene, &d), r"F:/.*[aA][bB]\/[cC].*/");
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &d)).unwrap();
    assert_eq!(dsl["query"]["regexp"]["F"], serde_json::json!({"value": ".*ab\\/c.*", "case_insensitive": true}));
    // A word boundary has no Lucene form: listed with the reason, expressed on the other targets.
    let d = sel(r"F|re: '\bcmd\b'");
    assert!(unsupported(Target::Lucene, &d).contains("word boundary"));
    assert!(unsupported(Target::Esql, &d).contains("word boundary"));
    assert!(q(Target::Kusto, &d).contains(r#"matches regex "\\bcmd\\b""#));
}

#[test]
fn cidr_v4_and_v6() {
    let d = sel("IP|cidr: ['10.0.0.0/8', 'fe80::/10']");
    assert_eq!(q(Target::Lucene, &d), "IP:\"10.0.0.0/8\" OR IP:\"fe80::/10\"");
    assert_eq!(
        q(Target::Kusto, &d),
        "events\n| where coalesce(ipv4_is_in_range(IP, \"10.0.0.0/8\"), false) or coalesce(ipv6_is_in_range(IP, \"fe80::/10\"), false)"
    );
    assert_eq!(
        q(Target::Esql, &d),
        "FROM events\n| WHERE COALESCE(CIDR_MATCH(TO_IP(IP), \"10.0.0.0/8\"), FALSE) OR COALESCE(CIDR_MATCH(TO_IP(IP), \"fe80::/10\"), FALSE)"
    );
    // IPv4 stays a search term; IPv6 needs cidrmatch in where.
    assert_eq!(q(Target::Splunk, &sel("IP|cidr: '10.0.0.0/8'")), "index=events IP=\"10.0.0.0/8\"");
    assert_eq!(
        q(Target::Splunk, &d),
        "index=events\n| where (isnotnull(IP) AND cidrmatch(\"10.0.0.0/8\", IP)) OR (isnotnull(IP) AND cidrmatch(\"fe80::/10\", IP))"
    );
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, &d)).unwrap();
    assert_eq!(dsl["query"]["bool"]["should"][1], serde_json::json!({"term": {"IP": "fe80::/10"}}));
}

#[test]
fn exists_null_numbers_and_fieldref() {
    let d = "  sel:\n    A|exists: true\n    B: null\n    C: 4688\n    D|gte: 5\n  condition: sel\n";
    assert_eq!(q(Target::Lucene, d), "_exists_:A AND (NOT _exists_:B) AND C:4688 AND D:>=5");
    assert_eq!(q(Target::Splunk, d), "index=events A=* AND NOT B=* AND C=4688 AND D>=5");
    assert_eq!(
        q(Target::Kusto, d),
        "events\n| where isnotempty(A) and isempty(B) and coalesce(toreal(C) == 4688, false) and coalesce(toreal(D) >= 5, false)"
    );
    assert_eq!(
        q(Target::Esql, d),
        "FROM events\n| WHERE (A IS NOT NULL) AND (B IS NULL) AND COALESCE(TO_DOUBLE(C) == 4688, FALSE) AND COALESCE(TO_DOUBLE(D) >= 5, FALSE)"
    );
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, d)).unwrap();
    let f = &dsl["query"]["bool"]["filter"];
    assert_eq!(f[0], serde_json::json!({"exists": {"field": "A"}}));
    assert_eq!(f[1], serde_json::json!({"bool": {"must_not": [{"exists": {"field": "B"}}]}}));
    assert_eq!(f[3], serde_json::json!({"range": {"D": {"gte": 5.0}}}));
    // fieldref: ES|QL, Splunk and Kusto compare the fields; Lucene and the DSL cannot without a script.
    let d = sel("ParentUser|fieldref: User");
    assert!(unsupported(Target::Lucene, &d).contains("script"));
    assert!(unsupported(Target::EsDsl, &d).contains("script"));
    assert_eq!(q(Target::Esql, &d), "FROM events\n| WHERE COALESCE(TO_LOWER(ParentUser) == TO_LOWER(User), FALSE)");
    assert_eq!(q(Target::Kusto, &d), "events\n| where isnotempty(User) and ParentUser =~ User");
    assert_eq!(
        q(Target::Splunk, &d),
        "index=events\n| where isnotnull(ParentUser) AND isnotnull(User) AND lower(ParentUser)==lower(User)"
    );
    assert!(unsupported(Target::Splunk, &sel("A|fieldref|contains: B")).contains("fieldref|contains"));
}

#[test]
fn keywords_per_target() {
    let d = "  kw: ['evil.exe', 'a b']\n  condition: kw\n";
    assert_eq!(q(Target::Lucene, d), r"*evil.exe* OR *a\ b*");
    assert_eq!(q(Target::Splunk, d), "index=events \"*evil.exe*\" OR \"*a b*\"");
    assert_eq!(q(Target::Esql, d), "FROM events\n| WHERE QSTR(\"(*evil.exe* OR *a\\\\ b*)\")");
    assert!(unsupported(Target::Kusto, d).contains("whole terms"));
    let dsl: serde_json::Value = serde_json::from_str(&q(Target::EsDsl, d)).unwrap();
    assert_eq!(dsl["query"], serde_json::json!({"query_string": {"query": "(*evil.exe* OR *a\\ b*)"}}));
}

#[test]
fn conditions_time_parts_and_correlations() {
    let d = "  a: {F: x}\n  b: {G: yy}\n  condition: a and not b\n";
    assert_eq!(q(Target::Lucene, d), "F:x AND (NOT G:yy)");
    assert_eq!(q(Target::Kusto, d), "events\n| where F =~ \"x\" and not(G =~ \"yy\")");
    // A search named twice is rendered at each use.
    let d = "  a: {F: x}\n  b: {G: yy}\n  condition: (a and b) or (a and not b)\n";
    assert_eq!(q(Target::Lucene, d), "(F:x AND G:yy) OR (F:x AND (NOT G:yy))");
    for t in Target::TEXT {
        assert!(unsupported(t, &sel("T|hour: 3")).contains("time-part"), "{}", t.name());
    }
}

#[test]
fn routing_uses_the_layout_and_the_field_mapping() {
    let text = "title: Whoami\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: windows, category: process_creation}\n\
        detection:\n  sel: {Image|endswith: '\\whoami.exe'}\n  condition: sel\n";
    let l = convert_text(text, Target::Lucene).query.unwrap();
    // Sysmon 1 reads Image, Security 4688 reads NewProcessName.
    assert!(l.contains("event_id:1 AND (channel:\"Microsoft-Windows-Sysmon/Operational\" OR"), "{l}");
    assert!(l.contains("event_id:4688") && l.contains("NewProcessName:*\\\\whoami.exe"), "{l}");
    let k = convert_text(text, Target::Kusto).query.unwrap();
    assert!(
        k.contains("event_id == 4688 and (channel =~ \"Security\" or") && k.contains("NewProcessName endswith"),
        "{k}"
    );
    let s = convert_text(text, Target::Splunk).query.unwrap();
    assert!(s.starts_with("index=events ") && s.contains("event_id=4688 AND (channel=\"Security\" OR"), "{s}");
    let e = convert_text(text, Target::Esql).query.unwrap();
    assert!(
        e.contains("COALESCE(event_id IN (4688), FALSE) AND (COALESCE(TO_LOWER(channel) IN (\"security\"), FALSE) OR"),
        "{e}"
    );
    // A rule that needs where keeps the routing as search terms in front of it.
    let re = text.replace("Image|endswith: '\\whoami.exe'", "Image|re: 'who.mi'");
    let s = convert_text(&re, Target::Splunk).query.unwrap();
    assert!(s.starts_with("index=events (event_id=1 AND (channel=") && s.contains("\n| where "), "{s}");
    assert!(s.contains("tonumber(event_id)==4688") && s.contains("match(NewProcessName, \"who.mi\")"), "{s}");
}

#[test]
fn every_rule_gets_an_entry_and_single_query_refuses_text_targets() {
    let corr = "title: C\nid: 44444444-4444-4444-8444-444444444444\ncorrelation:\n  type: event_count\n  rules: [11111111-1111-4111-8111-111111111111]\n  \
        group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n";
    let rule = unrouted(&sel("F: x"));
    let set = sigil_check::load_texts(&[("r.yml", rule.as_str()), ("c.yml", corr)]);
    for t in Target::TEXT {
        let out = sigil_convert::convert(&set, knowledge(), t, &ConvertOptions::default());
        assert_eq!(out.len(), 2);
        assert!(out[0].query.is_some() && out[1].unsupported.as_deref().unwrap().contains("correlation"));
        let (q, entries) = sigil_convert::single_query(&set, knowledge(), t, &ConvertOptions::default());
        assert!(q.is_empty() && entries.iter().all(|e| e.unsupported.is_some()));
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The Lucene regex translation means what the engine's regex means.

#[test]
fn lucene_regex_translation_agrees_with_the_engine_regex() {
    // (pattern, flags i, haystacks). The translation is checked by reading it back as a Rust regex: anchored to the
    // whole value and with `.` matching newlines (Lucene's meaning), against the rule's regex as a search.
    let cases: &[(&str, bool)] = &[
        (r"\d+\.exe$", false),
        (r"^C:\\Windows\\(System32|SysWOW64)\\", false),
        (r"[a-f0-9]{32}", false),
        (r"cmd(\.exe)?\s+/c", false),
        (r"(?i)powershell.*-enc", false),
        (r"a+?b", false),
        (r"[^\w]x|y$", false),
        (r"AbC", true),
        (r"x[a-c]{2}", true),
        (r"\w+@\w+", false),
        (r"#&~<>", false),
    ];
    let hay = [
        "",
        "a.exe",
        "12.exe",
        "x12.exe",
        "12.exe ",
        "C:\\Windows\\System32\\x",
        "c:\\windows\\system32\\x",
        "D:\\Windows\\SysWOW64\\",
        "0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789abcdef",
        "cmd.exe /c dir",
        "cmd /c",
        "cmd.exe/c",
        "PowerShell -enc abc",
        "powershell.exe -Enc",
        "aab",
        "b",
        "-x",
        "ax",
        "y",
        "yz",
        "abc",
        "ABC",
        "aBc",
        "xab",
        "XBC",
        "xAB",
        "me@host",
        "@",
        "#&~<>",
        "a#&~<>b",
    ];
    for (pat, i) in cases {
        let text = unrouted(&sel(&format!("F|re{}: '{}'", if *i { "|i" } else { "" }, pat.replace('\'', "''"))));
        let e = convert_text(&text, Target::Lucene);
        let lucene = e.query.unwrap_or_else(|| panic!("{pat}: {:?}", e.unsupported));
        let body = lucene.strip_prefix("F:/").and_then(|s| s.strip_suffix('/')).unwrap();
        // `\<` and `\>` are literal in Lucene but word boundaries in Rust.
        let rust_body = body.replace("\\<", "<").replace("\\>", ">");
        let back = regex::Regex::new(&format!("(?s)^(?:{rust_body})$")).unwrap();
        let orig = regex::RegexBuilder::new(pat).case_insensitive(*i).build().unwrap();
        for h in hay {
            assert_eq!(back.is_match(h), orig.is_match(h), "{pat} -> {body} on {h:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// SigmaHQ: snapshots, DSL structure, conversion rates.

fn sigmahq() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigmahq");
    if p.join("rules").is_dir() {
        return Some(p);
    }
    assert!(std::env::var_os("SIGIL_REQUIRE_CORPUS").is_none(), "SigmaHQ corpus missing at {}", p.display());
    eprintln!("skipped: SigmaHQ corpus not found");
    None
}

fn load_rules(paths: &[PathBuf]) -> sigil_rule::RuleSet {
    sigil_check::load(paths, &sigil_rule::LoadOptions::default())
}

/// A fixed set of SigmaHQ rules covering the modifiers (paths relative to the corpus).
const SNAPSHOT_RULES: &[&str] = &[
    "rules/windows/process_creation/proc_creation_win_susp_whoami_as_param.yml",
    "rules/windows/process_creation/proc_creation_win_powershell_base64_encoded_cmd.yml",
    "rules/windows/process_creation/proc_creation_win_powershell_base64_frombase64string.yml",
    "rules/windows/process_creation/proc_creation_win_renamed_sysinternals_procdump.yml",
    "rules/windows/process_creation/proc_creation_win_susp_network_command.yml",
    "rules/windows/process_creation/proc_creation_win_susp_cross_user_process_spawn.yml",
    "rules/network/zeek/zeek_rdp_public_listener.yml",
    "rules/windows/process_creation/proc_creation_win_certutil_download.yml",
    "rules/windows/process_creation/proc_creation_win_susp_shadow_copies_deletion.yml",
    "rules/windows/network_connection/net_connection_win_rdp_to_http.yml",
    "rules/windows/builtin/security/win_security_susp_failed_logon_reasons.yml",
    "rules/windows/registry/registry_set/registry_set_disable_defender_firewall.yml",
    "rules/linux/builtin/lnx_shell_susp_rev_shells.yml",
];

#[test]
fn sigmahq_snapshots() {
    let Some(root) = sigmahq() else { return };
    for rel in SNAPSHOT_RULES {
        let path = root.join(rel);
        if !path.is_file() {
            panic!("snapshot rule {rel} is missing from the corpus");
        }
        let set = load_rules(std::slice::from_ref(&path));
        let mut text = String::new();
        for t in Target::TEXT {
            for e in sigil_convert::convert(&set, knowledge(), t, &ConvertOptions::default()) {
                text.push_str(&format!("## {}\n", t.name()));
                match (&e.query, &e.unsupported) {
                    (Some(q), _) => text.push_str(q),
                    (None, Some(u)) => text.push_str(&format!("unsupported: {u}")),
                    (None, None) => text.push_str("(nothing)"),
                }
                text.push_str("\n\n");
            }
        }
        let name = Path::new(rel).file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(name, text);
    }
}

fn check_dsl(v: &serde_json::Value, at: &str) {
    let obj = v.as_object().unwrap_or_else(|| panic!("{at}: not an object: {v}"));
    assert_eq!(obj.len(), 1, "{at}: one query kind per object: {v}");
    let (kind, body) = obj.iter().next().unwrap();
    match kind.as_str() {
        "bool" => {
            for (k, x) in body.as_object().unwrap() {
                match k.as_str() {
                    "filter" | "should" | "must_not" => {
                        let arr = x.as_array().unwrap();
                        assert!(!arr.is_empty(), "{at}: empty {k}");
                        for c in arr {
                            check_dsl(c, at);
                        }
                    }
                    "minimum_should_match" => assert_eq!(x, 1),
                    other => panic!("{at}: bool.{other}"),
                }
            }
        }
        "term" | "wildcard" | "regexp" | "range" | "terms" => {
            let fields = body.as_object().unwrap();
            assert_eq!(fields.len(), 1, "{at}: {v}");
            let (f, spec) = fields.iter().next().unwrap();
            assert!(!f.is_empty());
            if matches!(kind.as_str(), "wildcard" | "regexp") {
                assert!(spec["value"].is_string(), "{at}: {v}");
            }
        }
        "exists" => assert!(body["field"].is_string()),
        "query_string" => assert!(body["query"].is_string()),
        "match_all" | "match_none" => {}
        other => panic!("{at}: unexpected query kind {other}"),
    }
}

/// Every SigmaHQ rule converts to each text target or says why; ≥ 99 % convert where the language can express
/// them; every DSL body parses as JSON with the expected structure.
#[test]
fn sigmahq_conversion_rates_and_dsl_structure() {
    let Some(root) = sigmahq() else { return };
    let dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("rules")))
        .collect();
    let set = load_rules(&dirs);
    for t in Target::TEXT {
        let out = sigil_convert::convert(&set, knowledge(), t, &ConvertOptions::default());
        assert!(out.len() > 3000);
        let mut converted = 0usize;
        let mut expressible = 0usize;
        for e in &out {
            assert!(e.query.is_some() != e.unsupported.is_some(), "{}: {e:?}", t.name());
            let reason = e.unsupported.as_deref().unwrap_or("");
            // Rules no target can run (unresolved placeholders, correlations) do not count against the language.
            // Kusto keywords: KQL has no substring search over all columns (see docs/convert-text-targets.md).
            if reason.contains("placeholder")
                || reason.contains("correlation")
                || (t == Target::Kusto && reason.starts_with("keywords:"))
            {
                continue;
            }
            expressible += 1;
            if let Some(q) = &e.query {
                converted += 1;
                if t == Target::EsDsl {
                    let v: serde_json::Value = serde_json::from_str(q).unwrap();
                    assert_eq!(v.as_object().unwrap().len(), 1);
                    check_dsl(&v["query"], &e.path);
                }
            }
        }
        let pct = 100.0 * converted as f64 / expressible as f64;
        eprintln!("{}: {converted} / {expressible} ({pct:.2} %)", t.name());
        assert!(pct >= 99.0, "{}: only {pct:.2} % converted", t.name());
    }
}

// ---------------------------------------------------------------------------------------------------------------
// pySigma agreement.

fn pysigma_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SIGIL_PYSIGMA_PYTHON").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")),
    ];
    for c in candidates.into_iter().flatten() {
        let ok = std::process::Command::new(&c)
            .args(["-c", "import sigma.backends.splunk, sigma.backends.kusto, sigma.backends.elasticsearch"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(c);
        }
    }
    assert!(
        std::env::var_os("SIGIL_REQUIRE_PYSIGMA").is_none(),
        "pySigma not found (set SIGIL_PYSIGMA_PYTHON to a Python with pysigma and its backends)"
    );
    eprintln!("skipped: pySigma not installed");
    None
}

/// Rules on which sigil and pySigma must agree after normalisation (boolean structure flattened and sorted,
/// escaping undone) — everything where neither side has a documented difference (docs/convert-text-targets.md).
const AGREE: &[(&str, &[&str])] = &[
    ("  sel:\n    Image|endswith: '\\whoami.exe'\n    User: bob\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    (
        "  sel:\n    CommandLine|contains|all: [' -a ', 'x\"y', 'C:\\Temp\\']\n  condition: sel\n",
        &["lucene", "splunk", "kusto"],
    ),
    (
        "  sel:\n    F|startswith: ['a b', 'c']\n  filter:\n    G: 4688\n  condition: sel and not filter\n",
        &["lucene", "splunk", "kusto"],
    ),
    ("  sel:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    ("  sel:\n    CommandLine|base64offset|contains: 'http://'\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    ("  sel:\n    IP|cidr: '10.0.0.0/8'\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    ("  sel:\n    A|exists: true\n    B|exists: false\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    ("  sel:\n    A: null\n  condition: sel\n", &["lucene", "splunk"]),
    ("  sel:\n    N|gte: 5\n    M|lt: 3\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
    ("  kw:\n    - 'evil.exe'\n    - 'a b'\n  condition: kw\n", &["lucene"]),
    (
        "  a: {F: x}\n  b: {G: yy}\n  c: {H|contains: z}\n  condition: a or (b and not c)\n",
        &["lucene", "splunk", "kusto"],
    ),
    ("  sel:\n    - F|contains: 'ünï'\n    - G: ['1', '2', '3']\n  condition: sel\n", &["lucene", "splunk", "kusto"]),
];

#[test]
fn agrees_with_pysigma() {
    let Some(py) = pysigma_python() else { return };
    let mut items = Vec::new();
    for (det, targets) in AGREE {
        let rule = unrouted(det);
        for t in *targets {
            let target: Target = t.parse().unwrap();
            let e = convert_text(&rule, target);
            let ours = e.query.unwrap_or_else(|| panic!("{t}: {:?}\n{det}", e.unsupported));
            items.push(serde_json::json!({"rule": rule, "target": t, "ours": ours}));
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/compare_pysigma.py");
    let mut child = std::process::Command::new(py)
        .arg(script)
        .arg("agree")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(serde_json::to_string(&items).unwrap().as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), items.len());
    let mut failures = Vec::new();
    for (it, r) in items.iter().zip(&results) {
        if r["agree"] != true {
            failures.push(format!(
                "{}\n  rule: {}\n  ours:   {}\n  theirs: {}\n  {}",
                it["target"], it["rule"], r["ours"], r["theirs"], r["error"]
            ));
        }
    }
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}
