//! `sigil serve` and `sigil site` as users run them: the URL printed, pages served, a clean stop on Ctrl-C,
//! and the export's folder checks.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn sigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sigil"))
}

/// A plain HTTP/1.0 GET; returns the whole response.
fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[cfg(unix)]
#[test]
fn serve_prints_its_url_serves_the_bundled_rules_and_stops_on_ctrl_c() {
    let mut child = sigil()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("sigil: serving 9 rules from bundled (9) at http://127.0.0.1:"), "{first}");
    let url = first.rsplit(" at ").next().unwrap();
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let ready = lines.next().unwrap().unwrap();
    assert!(ready.contains("press Ctrl-C to stop"), "{ready}");

    let home = http_get(addr, "/");
    assert!(home.starts_with("HTTP/1.0 200 OK") || home.starts_with("HTTP/1.1 200 OK"), "{home}");
    assert!(home.contains("Shell Spawned by MeshAgent Remote Management Agent"));
    let rule = http_get(addr, "/rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162");
    assert!(rule.contains("MITRE ATT&amp;CK coverage"));
    let missing = http_get(addr, "/rules/nope");
    assert!(missing.contains(" 404 "), "{missing}");

    // Ctrl-C (SIGINT) stops the server cleanly.
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("sigil: stopped"), "{stderr}");
}

#[test]
fn serve_explains_a_busy_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = sigil().args(["serve", "--addr", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")) && err.contains("--addr 127.0.0.1:0"), "{err}");
}

#[test]
fn site_writes_a_static_catalog_and_protects_other_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("public");
    let out = sigil().args(["site", out_dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let msg = String::from_utf8_lossy(&out.stdout);
    assert!(msg.contains("rule pages") && msg.contains("index.html"), "{msg}");
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(index.contains("Shell Spawned by MeshAgent"));
    assert!(out_dir.join("rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162.html").is_file());
    assert!(out_dir.join("search/meta.js").is_file());

    // A second export into the same folder is fine; a folder with other files is refused without --force.
    assert!(sigil().args(["site", out_dir.to_str().unwrap()]).output().unwrap().status.success());
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    let out = sigil().args(["site", other.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert!(sigil().args(["site", other.to_str().unwrap(), "--force"]).output().unwrap().status.success());
    assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "mine", "other files are left alone");
}

/// Issue 8, item 9: `--addr localhost:PORT` works; a request naming another host (DNS rebinding: an attacker's
/// name resolving to 127.0.0.1) is refused; control and bidi characters of the query are not echoed.
#[cfg(unix)]
#[test]
fn serve_checks_the_host_header_and_strips_control_characters() {
    let mut child = sigil()
        .args(["serve", "--addr", "localhost:0"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(" at ").next().unwrap();
    let addr = url.trim_start_matches("http://").trim_end_matches('/').to_string();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let request = |host: &str, path: &str| {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    for host in [addr.clone(), format!("localhost:{port}"), format!("LOCALHOST:{port}")] {
        let ok = request(&host, "/");
        assert!(ok.contains(" 200 OK"), "{host}: {ok}");
    }
    for host in [format!("evil.example:{port}"), "127.0.0.1:1".to_string(), format!("10.0.0.1:{port}")] {
        let refused = request(&host, "/api/rules");
        assert!(refused.contains(" 421 "), "{host}: {refused}");
    }
    let page = request(&addr, "/?q=mesh%00agent%E2%80%AEtxt.exe%1B%5B31m");
    assert!(page.contains(" 200 OK"), "{page}");
    assert!(!page.contains('\u{202e}') && !page.contains('\u{0}') && !page.contains('\u{1b}'), "{page}");
    assert!(page.contains("meshagenttxt.exe[31m"), "the rest of the query is kept");
    let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    let _ = child.wait();
}
