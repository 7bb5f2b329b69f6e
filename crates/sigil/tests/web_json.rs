//! `sigil hunt` end to end on a JSON web access log (nginx `escape=json` format): the records are read as
//! `web.access`, the webserver rule fires on the request it describes, and rules of other logsources reading the
//! same field names do not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const WEB: &str = "title: Passwd traversal\nid: 0e000000-0000-4000-8000-000000000001\nlevel: high\n\
    logsource: {category: webserver}\n\
    detection:\n  sel: {cs-uri-query|contains: '/etc/passwd'}\n  filter: {sc-status: 404}\n  condition: sel and not filter\n";
const PROXY: &str = "title: Proxy passwd\nid: 0e000000-0000-4000-8000-000000000002\nlevel: high\n\
    logsource: {category: proxy}\n\
    detection:\n  sel: {cs-uri-query|contains: '/etc/passwd'}\n  condition: sel\n";
const WINDOWS: &str = "title: Windows passwd\nid: 0e000000-0000-4000-8000-000000000003\nlevel: high\n\
    logsource: {product: windows}\n\
    detection:\n  sel: {cs-uri-query|contains: '/etc/passwd'}\n  condition: sel\n";
const LINUX: &str = "title: Linux passwd\nid: 0e000000-0000-4000-8000-000000000004\nlevel: high\n\
    logsource: {product: linux}\n\
    detection:\n  keywords: ['/etc/passwd']\n  condition: keywords\n";

/// nginx `log_format ... escape=json` lines: a traversal that succeeded, the same one answered 404, a clean one.
const LOG: &str = r#"{"time_local":"01/May/2024:10:00:00 +0000","remote_addr":"203.0.113.7","remote_user":"","request":"GET /download.php?file=../../../../etc/passwd HTTP/1.1","status":"200","body_bytes_sent":"1892","http_referer":"","http_user_agent":"curl/8.5"}
{"time_local":"01/May/2024:10:00:01 +0000","remote_addr":"203.0.113.7","remote_user":"","request":"GET /view.php?page=../../etc/passwd HTTP/1.1","status":"404","body_bytes_sent":"153","http_referer":"","http_user_agent":"curl/8.5"}
{"time_local":"01/May/2024:10:00:02 +0000","remote_addr":"198.51.100.2","remote_user":"alice","request":"GET /index.html?lang=en HTTP/1.1","status":"200","body_bytes_sent":"5120","http_referer":"https://example.org/","http_user_agent":"Mozilla/5.0"}
"#;

#[test]
fn nginx_json_access_log_fires_the_webserver_rule_only() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    for (name, text) in [("web.yml", WEB), ("proxy.yml", PROXY), ("windows.yml", WINDOWS), ("linux.yml", LINUX)] {
        std::fs::write(rules.join(name), text).unwrap();
    }
    let log = dir.path().join("access.json.log");
    std::fs::write(&log, LOG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sigil"))
        .args(["hunt", log.to_str().unwrap(), "--rules", rules.to_str().unwrap(), "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "only the webserver rule, only on the successful request: {lines:#?}");
    let d = &lines[0];
    assert_eq!(d["rule_id"], "0e000000-0000-4000-8000-000000000001");
    assert_eq!(d["kind"], "web.access");
    assert_eq!(d["timestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(d["computer"], "203.0.113.7", "the client address is the host shown for a web record");
    assert_eq!(d["event"]["cs-uri-query"], "file=../../../../etc/passwd");
    assert_eq!(d["event"]["cs-method"], "GET");
}
