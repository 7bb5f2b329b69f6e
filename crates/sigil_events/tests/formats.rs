//! The readers of non-Windows logs: on the real samples in `../shared/corpus/logs` (see its
//! SOURCES.md; skipped when absent unless SIGIL_REQUIRE_CORPUS=1) and on broken input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sigil_events::{Event, InputKind, ReadError, ReadOptions, SourceKind, Value, open};

fn logs() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/logs");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SIGIL_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
        panic!("SIGIL_REQUIRE_CORPUS=1 but the sample logs are missing at {}", dir.display());
    }
    eprintln!("skipped: no sample logs at {} (set SIGIL_REQUIRE_CORPUS=1 to fail instead)", dir.display());
    None
}

fn read_with(path: &Path, opts: &ReadOptions) -> (SourceKind, Vec<Event>, Vec<ReadError>) {
    let source = open(path, opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let kind = source.kind();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for item in source {
        match item {
            Ok(e) => events.push(e),
            Err(e) => errors.push(e),
        }
    }
    (kind, events, errors)
}

fn read(path: &Path) -> (SourceKind, Vec<Event>, Vec<ReadError>) {
    read_with(path, &ReadOptions::default())
}

fn kinds(events: &[Event]) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for e in events {
        *out.entry(e.kind().map_or("-", |k| k.name)).or_default() += 1;
    }
    out
}

fn s(e: &Event, field: &str) -> String {
    e.get(field).map(|v| v.as_str_lossy().into_owned()).unwrap_or_else(|| panic!("no {field} in {e:?}"))
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn cloudtrail_envelope_gzip_and_jsonl() {
    let Some(dir) = logs() else { return };
    let path = dir.join("aws-cloudtrail/stratus-aws.credential-access.ec2-get-password-data.json");
    let (kind, events, errors) = read(&path);
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Json, 34, 0));
    assert_eq!(kinds(&events), BTreeMap::from([("aws.cloudtrail", 34)]));
    let first = &events[0];
    assert_eq!(s(first, "eventSource"), "ec2.amazonaws.com");
    assert_eq!(s(first, "eventName"), "GetPasswordData");
    assert!(s(first, "userIdentity.arn").starts_with("arn:aws:sts::457448411975:assumed-role/"));
    assert_eq!(first.timestamp().unwrap().to_string(), "2024-07-30T21:31:21Z");
    assert_eq!(first.display_channel().as_deref(), Some("ec2.amazonaws.com"));
    assert_eq!(first.display_host().as_deref(), Some("200.249.253.51"));
    assert!(first.display_account().unwrap().contains("assumed-role"));

    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    // As CloudTrail delivers it: gzip, recognised by content whatever the name.
    let gz = write(tmp.path(), "123_CloudTrail_eu-west-1_20240730T2130Z_x.json.gz", &gzip(&bytes));
    let (_, gz_events, gz_errors) = read(&gz);
    assert!(gz_errors.is_empty(), "{gz_errors:?}");
    assert_eq!(gz_events, events);
    let unnamed = write(tmp.path(), "trail", &gzip(&bytes));
    assert_eq!(read(&unnamed).1, events);
    // JSON Lines of records.
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let lines: String =
        json["Records"].as_array().unwrap().iter().map(|r| format!("{r}\n")).collect::<Vec<_>>().concat();
    let jsonl = write(tmp.path(), "trail.log", lines.as_bytes());
    let (kind, jsonl_events, _) = read(&jsonl);
    assert_eq!(kind, SourceKind::Jsonl);
    assert_eq!(kinds(&jsonl_events), BTreeMap::from([("aws.cloudtrail", 34)]));
}

#[test]
fn cloudtrail_truncated_and_bad_gzip_keep_what_came_before() {
    let Some(dir) = logs() else { return };
    let bytes = std::fs::read(dir.join("aws-cloudtrail/otrf-ec2_proxy_s3_exfiltration.json")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Cut in the middle of the 52nd record (line 1 is the envelope's opening).
    let cut = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(51).unwrap().0 + 40;
    let truncated = write(tmp.path(), "cut.json", &bytes[..cut]);
    let (_, events, errors) = read(&truncated);
    assert_eq!(events.len(), 51);
    assert!(events.iter().all(|e| e.kind().is_some_and(|k| k.name == "aws.cloudtrail")));
    assert_eq!(errors.len(), 2, "{errors:?}");
    let text = errors[0].to_string();
    assert!(text.starts_with(&format!("{}: JSON value 51 (line 53, byte ", truncated.display())), "{text}");
    assert!(text.contains("unexpected end of input"), "{text}");
    // A corrupt gzip stream: what decompressed before the damage is read, then a warning says where.
    let mut gz = gzip(&bytes);
    let at = gz.len() / 2;
    for b in &mut gz[at..at + 64] {
        *b = !*b;
    }
    let bad = write(tmp.path(), "bad.json.gz", &gz);
    let (_, events, errors) = read(&bad);
    assert!(!events.is_empty() && events.len() < 103, "{}", events.len());
    assert!(!errors.is_empty());
    let text = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("bad gzip stream after") && text.contains("bytes of decompressed data"), "{text}");
    assert!(text.contains("bad.json.gz"), "{text}");
}

#[test]
fn cloud_json_lines_get_their_kinds() {
    let Some(dir) = logs() else { return };
    let cases: &[(&str, &[(&str, usize)])] = &[
        // Four synthetic records have neither published nor displayMessage: no shape to go by.
        ("okta/fixtures-synthetic/panther-Okta-SystemLog.jsonl", &[("-", 4), ("okta.system", 55)]),
        ("github-audit/azure-sentinel-Github_sample_logs.jsonl", &[("-", 1), ("github.audit", 62)]),
        ("azure-signinlogs/fixtures-synthetic/panther-Azure-Audit.jsonl", &[("azure.signinlogs", 25)]),
        ("azure-auditlogs/otrf-goldensaml-AADAuditEvents.jsonl", &[("azure.auditlogs", 4)]),
        ("m365/otrf-goldensaml-OfficeActivityEvents.jsonl", &[("m365.audit", 1)]),
        ("m365/fixtures-synthetic/panther-Microsoft365-Audit-Exchange.jsonl", &[("m365.audit", 10)]),
        ("kubernetes-audit/crowdsec-hub-k8s-audit-priv-pod-file.jsonl", &[("kubernetes.audit", 1)]),
        // Two entries are not audit logs (jsonPayload / textPayload).
        ("gcp-audit/plaso-gcp_logging.jsonl", &[("-", 2), ("gcp.audit", 9)]),
    ];
    for (file, expected) in cases {
        let (kind, events, errors) = read(&dir.join(file));
        assert_eq!(kind, SourceKind::Jsonl, "{file}");
        assert!(errors.is_empty(), "{file}: {errors:?}");
        assert_eq!(kinds(&events), expected.iter().copied().collect::<BTreeMap<_, _>>(), "{file}");
    }
    let (_, events, _) = read(&dir.join("gcp-audit/plaso-gcp_logging.jsonl"));
    let audit = events.iter().find(|e| e.kind().is_some()).unwrap();
    assert_eq!(s(audit, "protoPayload.methodName"), "beta.compute.networks.insert");
    assert_eq!(audit.display_account().as_deref(), Some("fakeemailxyz@gmail.com"));
    // Okta target[] objects: each name one list, matched by any element.
    let (_, events, _) = read(&dir.join("okta/fixtures-synthetic/panther-Okta-SystemLog.jsonl"));
    assert!(events.iter().any(|e| matches!(e.get("target.type"), Some(Value::List(_)))));
    // Azure REST API shape: operationName.value is also operationName.
    let (_, events, _) = read(&dir.join("azure-activitylogs/fixtures-synthetic/panther-Azure-MonitorActivity.jsonl"));
    let rest = events.iter().find(|e| e.contains("operationName.value")).unwrap();
    assert_eq!(rest.get("operationName"), rest.get("operationName.value"));
    // --input-kind forces the kind of every record.
    let opts = ReadOptions::default().with_input_kind(Some(InputKind::parse("cloudtrail").unwrap()));
    let (_, events, _) = read_with(&dir.join("okta/fixtures-synthetic/panther-Okta-SystemLog.jsonl"), &opts);
    assert_eq!(events.len(), 59);
    assert_eq!(kinds(&events), BTreeMap::from([("aws.cloudtrail", 59)]));
}

#[test]
fn auditd_events_group_records_by_serial() {
    let Some(dir) = logs() else { return };
    let (kind, events, errors) = read(&dir.join("linux-auditd/msticpy-auditd_log.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Auditd, 938, 0));
    let (_, events, errors) = read(&dir.join("linux-auditd/go-libaudit-normal.log"));
    assert!(errors.is_empty());
    let grep = events.iter().find(|e| e.record_id() == Some(59)).unwrap();
    assert_eq!(s(grep, "cmdline"), "grep --color=auto mapping");
    assert_eq!(s(grep, "exe"), "/usr/bin/grep");
    assert!(grep.get("type").unwrap().as_list().unwrap().contains(&Value::from("EXECVE")));
    assert_eq!(grep.timestamp().unwrap().to_string(), "2017-04-12T22:48:11.036Z");
    assert_eq!(grep.display_account().as_deref(), Some("1000"));
    // Hex-encoded exe decoded.
    let first = events.iter().find(|e| e.record_id() == Some(58)).unwrap();
    assert_eq!(s(first, "exe"), "/usr/bin/python2.7;58d1ccfb (deleted)");
    // A line cut in half: its event is left out with the line named, the rest read.
    let text = std::fs::read_to_string(dir.join("linux-auditd/go-libaudit-normal.log")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let n = lines.iter().position(|l| l.starts_with("type=EXECVE msg=audit(1492037291.036:59)")).unwrap();
    let keep = lines[n].find("a1=\"--").unwrap() + 6;
    lines[n].truncate(keep);
    lines.insert(n + 3, "type=SYSCALL msg=audit(1492037291.".to_owned());
    let tmp = tempfile::tempdir().unwrap();
    let cut = write(tmp.path(), "audit.log", lines.join("\n").as_bytes());
    let (_, cut_events, errors) = read(&cut);
    assert_eq!(cut_events.len(), events.len() - 1);
    assert!(cut_events.iter().all(|e| e.record_id() != Some(59)));
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].starts_with(&format!("{}:{}: unterminated quoted value", cut.display(), n + 1)), "{shown:?}");
    assert!(shown[1].starts_with(&format!("{}:{}: audit record cut short", cut.display(), n + 4)), "{shown:?}");
}

#[test]
fn sysmon_for_linux_and_syslog() {
    let Some(dir) = logs() else { return };
    let (kind, events, errors) = read(&dir.join("linux-sysmon/otrf-log4shell-sysmon-for-linux.log"));
    assert_eq!(kind, SourceKind::Syslog);
    // Line 8 is cut short in the sample (the export truncated the message): reported, not half-read.
    assert_eq!((events.len(), errors.len()), (92, 1));
    assert!(errors[0].to_string().contains(":8: Sysmon XML ends inside"), "{}", errors[0]);
    assert_eq!(kinds(&events), BTreeMap::from([("linux.sysmon", 92)]));
    let mut ids = BTreeMap::new();
    for e in &events {
        *ids.entry(e.event_id().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(ids, BTreeMap::from([(1, 30), (3, 6), (5, 50), (11, 4), (23, 2)]));
    let groups = events.iter().find(|e| e.get("Image").is_some_and(|v| v.as_str() == Some("/usr/bin/groups"))).unwrap();
    assert_eq!(groups.channel(), Some("Linux-Sysmon/Operational"));
    assert_eq!(groups.computer(), Some("UBUNTU5"));

    let (kind, events, errors) = read(&dir.join("linux-syslog/crowdsec-hub-sshd.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Syslog, 90, 0));
    assert_eq!(s(&events[0], "program"), "sshd");
    assert_eq!(events[0].display_channel().as_deref(), Some("sshd"));
    // plaso's parser-test file holds malformed lines: each is reported, the others read.
    let (_, events, errors) = read(&dir.join("linux-syslog/plaso-syslog.log"));
    assert_eq!((events.len(), errors.len()), (14, 4));
    let (_, events, _) = read(&dir.join("linux-syslog/plaso-syslog_rsyslog.log"));
    assert_eq!(events[0].timestamp().unwrap().to_string(), "2020-05-31T00:00:45.698463Z");
}

#[test]
fn web_access_logs() {
    let Some(dir) = logs() else { return };
    let (kind, events, errors) = read(&dir.join("webserver-access/elastic-examples-apache_logs-lines-00001-01500.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::AccessLog, 1500, 0));
    let e = &events[0];
    assert_eq!(s(e, "c-ip"), "83.149.9.216");
    assert_eq!(s(e, "cs-method"), "GET");
    assert_eq!(s(e, "cs-uri-stem"), "/presentations/logstash-monitorama-2013/images/kibana-search.png");
    assert_eq!(e.get("sc-status"), Some(&Value::Int(200)));
    assert!(s(e, "cs-user-agent").starts_with("Mozilla/5.0 (Macintosh"));
    assert_eq!(e.timestamp().unwrap().to_string(), "2015-05-17T10:05:03Z");
    let (kind, events, errors) = read(&dir.join("webserver-access/plaso-iis_without_date.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::W3c, 11, 0));
    assert_eq!(events[0].timestamp().unwrap().to_string(), "2013-07-30T00:00:00Z");
    assert_eq!(s(&events[0], "cs-user-agent"), "Mozilla/4.0 (compatible; Win32; WinHttp.WinHttpRequest.5)");
    assert_eq!(events[0].get("cs-uri-query"), None);
    // Mixed formats: the error-log line is reported, the access lines read.
    let (_, events, errors) = read(&dir.join("webserver-access/crowdsec-hub-web-attacks-vhost-mixed.log"));
    assert_eq!((events.len(), errors.len()), (8, 1));
    assert_eq!(s(&events[0], "cs-host"), "memze.ro");
}

#[test]
fn zeek_tsv_logs() {
    let Some(dir) = logs() else { return };
    let (kind, events, errors) = read(&dir.join("zeek/dns/opt.basic.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Zeek, 34, 0));
    assert_eq!(kinds(&events), BTreeMap::from([("zeek.dns", 34)]));
    assert_eq!(s(&events[0], "query"), "gemini._sftp-ssh._tcp.local");
    assert_eq!(events[0].get("Z"), Some(&Value::Int(0)));
    let (_, events, _) = read(&dir.join("zeek/http/scripts.base.protocols.http.http-methods.log"));
    assert_eq!(kinds(&events), BTreeMap::from([("zeek.http", 49)]));
    // No `#` headers, a row of column names: still read, kind from the folder's file name? No: from `_path`-less
    // content, so the generic kind.
    let (kind, events, errors) = read(&dir.join("zeek/kerberos/scripts.base.protocols.krb.error-preauth-padata.log"));
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Zeek, 1, 0));
    assert_eq!(s(&events[0], "error_msg"), "KDC_ERR_PREAUTH_REQUIRED");
}

#[test]
fn every_sample_is_read() {
    let Some(dir) = logs() else { return };
    let mut total = 0;
    let mut unrecognised = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let path = entry.path();
        if !entry.file_type().is_file()
            || path.extension().is_some_and(|e| e == "md")
            || path.starts_with(dir.join("LICENSES"))
        {
            continue;
        }
        match open(path, &ReadOptions::default()) {
            Ok(source) => total += source.filter(Result::is_ok).count(),
            Err(e) => unrecognised.push(e.to_string()),
        }
    }
    // Guacamole's Tomcat log and vsftpd's own log have no reader (see data/logsources/linux.toml).
    assert_eq!(unrecognised.len(), 2, "{unrecognised:#?}");
    assert!(unrecognised.iter().all(|e| e.contains("--input-kind")));
    assert!(total > 4800, "{total}");
}

#[test]
fn a_data_field_never_shadows_the_records_channel() {
    // EventLog 104 in the evtx crate's JSON layout: UserData's Channel is the log that was cleared.
    let json = br##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Eventlog"}},"EventID":104,"Channel":"System","Computer":"pc1","TimeCreated":{"#attributes":{"SystemTime":"2024-01-01T00:00:00Z"}}},"UserData":{"LogFileCleared":{"SubjectUserName":"admin","Channel":"Application","BackupPath":""}}}}"##;
    let e = Event::from_json_slice(json, &ReadOptions::default()).unwrap();
    assert_eq!(e.channel(), Some("System"));
    assert_eq!(e.get("Channel"), Some(&Value::from("System")));
    assert_eq!(e.get("UserData.Channel"), Some(&Value::from("Application")));
    assert_eq!(e.display_channel().as_deref(), Some("System"));
    // Sysmon 4's Version is data, not a header field: it still shadows as documented.
    let json = br#"{"Event":{"System":{"EventID":4,"Version":3,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Version":"15.0"}}}"#;
    let e = Event::from_json_slice(json, &ReadOptions::default()).unwrap();
    assert_eq!(e.get("Version"), Some(&Value::from("15.0")));
}

#[test]
fn unknown_content_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "notes.log", b"just some prose\nand more\n");
    let err = open(&path, &ReadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("notes.log") && err.contains("--input-kind"), "{err}");
    // Named explicitly, it reads as syslog lines that do not parse: a warning per line.
    let opts = ReadOptions::default().with_input_kind(Some(InputKind::parse("syslog").unwrap()));
    let (kind, events, errors) = read_with(&path, &opts);
    assert_eq!((kind, events.len(), errors.len()), (SourceKind::Syslog, 0, 2));
    assert!(InputKind::parse("nope").unwrap_err().to_string().contains("aws.cloudtrail"));
}
