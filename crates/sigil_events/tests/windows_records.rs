//! Flattening of real Windows records: Sysmon 1 and Security 4648 from the SigmaHQ regression
//! corpus (EVTX and its JSON export), Security 4688 from this crate's fixture.

mod common;

use sigil_events::{Event, ReadOptions, Value, open};

fn read_all_events(path: &std::path::Path) -> Vec<Event> {
    let source = open(path, &ReadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    source.map(|item| item.unwrap_or_else(|err| panic!("{err}"))).collect()
}

const SYSMON_1: &str = "rules-emerging-threats/2026/Exploits/CVE-2026-33829/proc_creation_win_exploit_cve_2026_33829/7c3a5b1d-9e2f-4a8c-b5d7-1e0f3c6a9b2d";
const SECURITY_4648: &str =
    "rules/windows/builtin/security/win_security_explicit_credential_local_logon/e3c6d245-7b8f-4e2a-c17f-a9d0e5b38f62";

#[test]
fn sysmon_process_creation_from_json() {
    let Some(corpus) = common::regression_corpus() else { return };
    let events = read_all_events(&common::regression_file(&corpus, &format!("{SYSMON_1}.json")));
    assert_eq!(events.len(), 2);
    let event = &events[0];
    let names: Vec<&str> = event.fields().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "Provider_Name",
            "Provider_Guid",
            "EventID",
            "Version",
            "Level",
            "Task",
            "Opcode",
            "Keywords",
            "TimeCreated",
            "EventRecordID",
            "Execution_ProcessID",
            "Execution_ThreadID",
            "Channel",
            "Computer",
            "Security_UserID",
            "RuleName",
            "UtcTime",
            "ProcessGuid",
            "ProcessId",
            "Image",
            "FileVersion",
            "Description",
            "Product",
            "Company",
            "OriginalFileName",
            "CommandLine",
            "CurrentDirectory",
            "User",
            "LogonGuid",
            "LogonId",
            "TerminalSessionId",
            "IntegrityLevel",
            "Hashes",
            "ParentProcessGuid",
            "ParentProcessId",
            "ParentImage",
            "ParentCommandLine",
            "ParentUser",
        ]
    );
    assert_eq!(event.event_id(), Some(1));
    assert_eq!(event.get("EventID"), Some(&Value::Int(1)));
    assert_eq!(event.channel(), Some("Microsoft-Windows-Sysmon/Operational"));
    assert_eq!(event.provider(), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(event.computer(), Some("swachchhanda"));
    assert_eq!(event.get("Security_UserID"), Some(&Value::from("S-1-5-18")));
    assert_eq!(event.get("ProcessId"), Some(&Value::Int(6180)));
    assert_eq!(event.get("LogonId").and_then(Value::as_u64), Some(0x33e8_d150));
    assert_eq!(
        event.get("ParentImage").and_then(Value::as_str),
        Some("C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe")
    );
    assert_eq!(event.record_id(), Some(86918));
    assert_eq!(event.timestamp(), "2026-04-20T10:00:35.646624Z".parse().ok());
    assert_eq!(events[1].record_id(), Some(86921));
}

#[test]
fn sysmon_process_creation_from_evtx_matches_json() {
    let Some(corpus) = common::regression_corpus() else { return };
    let from_evtx = read_all_events(&common::regression_file(&corpus, &format!("{SYSMON_1}.evtx")));
    let from_json = read_all_events(&common::regression_file(&corpus, &format!("{SYSMON_1}.json")));
    assert_eq!(from_evtx.len(), from_json.len());
    for (a, b) in from_evtx.iter().zip(&from_json) {
        let names_a: Vec<&str> = a.fields().map(|(n, _)| n).collect();
        let names_b: Vec<&str> = b.fields().map(|(n, _)| n).collect();
        assert_eq!(names_a, names_b);
        assert_eq!(a.get("CommandLine"), b.get("CommandLine"));
        assert_eq!(a.get("ProcessId"), b.get("ProcessId"));
        assert_eq!(a.record_id(), b.record_id());
    }
    // The EVTX renderer writes GUIDs as Windows does, and 100 ns time resolution.
    assert_eq!(
        from_evtx[0].get("Provider_Guid").and_then(Value::as_str),
        Some("{5770385f-c22a-43e0-bf4c-06f5698ffbd9}")
    );
    assert_eq!(from_evtx[0].get("TimeCreated").and_then(Value::as_str), Some("2026-04-20T10:00:35.6466242Z"));
    assert_eq!(from_evtx[0].timestamp(), "2026-04-20T10:00:35.6466242Z".parse().ok());
}

#[test]
fn security_4648_with_hex_process_id() {
    let Some(corpus) = common::regression_corpus() else { return };
    for ext in ["json", "evtx"] {
        let events = read_all_events(&common::regression_file(&corpus, &format!("{SECURITY_4648}.{ext}")));
        assert_eq!(events.len(), 1, "{ext}");
        let event = &events[0];
        assert_eq!(event.event_id(), Some(4648));
        assert_eq!(event.channel(), Some("Security"));
        assert_eq!(event.provider(), Some("Microsoft-Windows-Security-Auditing"));
        assert!(!event.contains("Security_UserID"), "null Security element is left out ({ext})");
        assert!(!event.contains("Correlation"), "{ext}");
        assert!(event.contains("Correlation_ActivityID"), "{ext}");
        assert_eq!(event.get("ProcessId"), Some(&Value::from("0x378")));
        assert_eq!(event.get("ProcessId").and_then(Value::as_f64), Some(888.0));
        assert_eq!(event.get("SubjectLogonId").and_then(Value::as_u64), Some(0x85527));
        assert_eq!(event.get("Task"), Some(&Value::Int(12544)));
        assert_eq!(event.record_id(), Some(34382));
    }
}

#[test]
fn security_4688_fixture() {
    let events = read_all_events(&common::fixture("security_4688.json"));
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_id(), Some(4688));
    assert_eq!(event.get("Version"), Some(&Value::Int(2)));
    assert_eq!(event.get("NewProcessId").and_then(Value::as_f64), Some(700.0));
    assert_eq!(event.get("ProcessId").and_then(Value::as_f64), Some(3700.0));
    assert_eq!(event.get("ProcessId").and_then(Value::as_i64), Some(0xe74));
    assert_eq!(
        event.get("ParentProcessName").map(|v| v.as_str_lossy()),
        Some("C:\\Program Files\\Mesh Agent\\MeshAgent.exe".into())
    );
    assert_eq!(event.get("MandatoryLabel"), Some(&Value::from("S-1-16-16384")));
    assert_eq!(event.get("Execution_ProcessID"), Some(&Value::Int(4)));
    assert_eq!(event.timestamp(), "2026-11-20T08:05:00.1234567Z".parse().ok());
    assert_eq!(event.record_id(), Some(52311));
    let json = event.to_json();
    assert_eq!(json["CommandLine"], "powershell.exe -nop -w hidden -enc SQBFAFgA");
    assert_eq!(json["EventID"], 4688);
    assert_eq!(json.as_object().map(|o| o.len()), Some(event.len()));
}
