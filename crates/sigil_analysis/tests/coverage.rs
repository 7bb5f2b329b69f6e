//! `coverage`: what logs hold, and which rules they can feed. The EVTX test needs `../shared` (skipped without
//! it unless `SIGIL_REQUIRE_CORPUS=1`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use sigil_analysis::coverage::{LogProfile, assess};
use sigil_events::{Event, Value};

fn knowledge() -> &'static sigil_knowledge::Knowledge {
    sigil_knowledge::Knowledge::builtin().unwrap()
}

const NEEDS_COMMAND_LINE: &str = r"title: Whoami all
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
        CommandLine|contains: '/all'
    condition: sel
";

const IMAGE_ONLY: &str = r"title: Whoami
tags: [attack.discovery, attack.t1033]
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
    filter:
        CommandLine: null
    condition: sel and not filter
";

const ONE_OF: &str = r"title: Either field
logsource: {category: process_creation, product: windows}
detection:
    a:
        CommandLine|contains: 'x'
    b:
        Image|endswith: 'x'
    condition: a or b
";

const DNS: &str = r"title: DNS
tags: [attack.t1071.004]
logsource: {category: dns_query, product: windows}
detection:
    sel:
        QueryName|endswith: '.evil'
    condition: sel
";

const LOGON: &str = r"title: Logon type 10
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: 4624
        LogonType: 10
    condition: sel
";

fn event_4688(with_command_line: bool) -> Event {
    let mut f = vec![
        ("Channel", Value::from("Security")),
        ("Provider_Name", Value::from("Microsoft-Windows-Security-Auditing")),
        ("EventID", Value::Int(4688)),
        ("NewProcessName", Value::from("C:\\Windows\\System32\\whoami.exe")),
    ];
    // Without command-line auditing Windows writes the field empty.
    f.push(("CommandLine", Value::from(if with_command_line { "whoami /all" } else { "" })));
    Event::from_fields(f)
}

#[test]
fn a_4688_without_command_line_leaves_command_line_rules_blind() {
    let set = sigil_rule::load_texts(
        &[("a.yml", NEEDS_COMMAND_LINE), ("b.yml", IMAGE_ONLY), ("c.yml", ONE_OF), ("d.yml", DNS), ("e.yml", LOGON)],
        &Default::default(),
    );
    let mut profile = LogProfile::default();
    for _ in 0..3 {
        profile.add(&event_4688(false));
    }
    let r = assess(&set, knowledge(), &profile);
    let by = |title: &str| r.rules.iter().find(|x| x.title == title).unwrap();
    let blind = by("Whoami all");
    assert!(!blind.can_fire);
    assert_eq!(blind.missing_fields, ["CommandLine"]);
    assert!(
        blind.reason.as_deref().unwrap().contains("needs CommandLine, never populated in the 3 events"),
        "{blind:?}"
    );
    let fine = by("Whoami");
    assert!(fine.can_fire, "{fine:?}");
    assert_eq!(fine.events, 3);
    assert!(by("Either field").can_fire, "a field needed by one alternative only is not needed");
    assert!(by("DNS").reason.as_deref().unwrap().contains("is not in these logs"));
    let logon = by("Logon type 10");
    assert!(logon.reason.as_deref().unwrap().contains("event id (4624) never occurs"), "{logon:?}");
    let t1033 = r.techniques.iter().find(|t| t.technique == "T1033").unwrap();
    assert_eq!((t1033.rules, t1033.can_fire), (2, 1));
    // With command-line auditing on, the rule can fire.
    profile.add(&event_4688(true));
    let r = assess(&set, knowledge(), &profile);
    assert!(r.rules.iter().find(|x| x.title == "Whoami all").unwrap().can_fire);
    let security = &r.sources[0];
    assert_eq!(security.channel.as_deref(), Some("Security"));
    assert_eq!(security.event_ids.get(&4688), Some(&4));
    assert_eq!(security.fields.get("CommandLine"), Some(&1));
    assert_eq!(security.fields.get("NewProcessName"), Some(&4));
}

#[test]
fn json_report_shape() {
    let set = sigil_rule::load_texts(&[("a.yml", NEEDS_COMMAND_LINE)], &Default::default());
    let mut profile = LogProfile::default();
    profile.add(&event_4688(false));
    let v = serde_json::to_value(assess(&set, knowledge(), &profile)).unwrap();
    for key in ["events", "sources", "rules", "techniques"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let rule = &v["rules"][0];
    assert_eq!(rule["can_fire"], false);
    assert_eq!(rule["missing_fields"][0], "CommandLine");
    assert_eq!(rule["logsource"], "windows/process_creation/-");
}

#[test]
fn regression_evtx_fields_are_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/corpus/sigmahq-regression/regression_data/rules/windows/process_creation/proc_creation_win_bitsadmin_download",
    );
    if !dir.is_dir() {
        assert!(std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"), "SIGIL_REQUIRE_CORPUS=1 but no corpus");
        println!("skipped: {} not found", dir.display());
        return;
    }
    let evtx = dir.join("d059842b-6b9d-4ed1-b5c3-5b89143c6ede.evtx");
    let mut profile = LogProfile::default();
    for e in sigil_events::open(&evtx, &Default::default()).unwrap() {
        profile.add(&e.unwrap());
    }
    assert!(profile.events > 0);
    let set = sigil_rule::load_texts(&[("a.yml", NEEDS_COMMAND_LINE), ("d.yml", DNS)], &Default::default());
    let r = assess(&set, knowledge(), &profile);
    let sysmon =
        r.sources.iter().find(|s| s.channel.as_deref() == Some("Microsoft-Windows-Sysmon/Operational")).unwrap();
    assert!(sysmon.event_ids.contains_key(&1), "{sysmon:?}");
    for field in ["Image", "CommandLine", "OriginalFileName", "User", "ProcessGuid"] {
        assert!(sysmon.fields.get(field).is_some_and(|n| *n > 0), "{field} missing from {:?}", sysmon.fields.keys());
    }
    // Sysmon writes `-` for a parent it does not know (this sample's ParentImage): present, but not populated.
    assert_eq!(sysmon.fields.get("ParentImage"), None);
    assert!(r.rules.iter().find(|x| x.title == "Whoami all").unwrap().can_fire);
    assert!(!r.rules.iter().find(|x| x.title == "DNS").unwrap().can_fire);
}
