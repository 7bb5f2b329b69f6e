//! Drives the server with LSP messages over an in-memory connection, as an editor would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{Value, json};

const URI: &str = "file:///rules/proc_creation_test.yml";

// Line 3 (0-based) holds the Sigma 1 date; line 5 the renamed tactic; line 10 the misspelled modifier.
const RULE: &str = "title: Test rule\nid: 929a690e-bef0-4204-a928-ef5e620d6fcc\nstatus: test\ndate: 2024/01/02\ntags:\n    - attack.t1059.001\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endwith: '\\cmd.exe'\n        CommandLine|contains: whoami\n    condition: sel\nlevel: high\n";

struct Client {
    conn: Connection,
    server: std::thread::JoinHandle<Result<(), sigil_lsp::Error>>,
    next: i32,
}

impl Client {
    fn start() -> Client {
        let (server_conn, conn) = Connection::memory();
        let server = std::thread::spawn(move || sigil_lsp::serve(&server_conn));
        let mut c = Client { conn, server, next: 0 };
        let init = c.request("initialize", json!({"capabilities": {}, "processId": null, "rootUri": null}));
        assert_eq!(init["capabilities"]["hoverProvider"], json!(true), "{init}");
        assert_eq!(init["capabilities"]["codeActionProvider"], json!(true));
        c.notify("initialized", json!({}));
        c
    }

    fn send(&self, m: Message) {
        self.conn.sender.send(m).unwrap();
    }

    fn recv(&self) -> Message {
        self.conn.receiver.recv_timeout(Duration::from_secs(20)).expect("server answers")
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.send(Message::Request(Request::new(id.clone(), method.into(), params)));
        loop {
            if let Message::Response(Response { id: rid, result, error }) = self.recv()
                && rid == id
            {
                assert!(error.is_none(), "{error:?}");
                return result.unwrap_or(Value::Null);
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        self.send(Message::Notification(Notification::new(method.into(), params)));
    }

    fn diagnostics(&self) -> Vec<Value> {
        loop {
            if let Message::Notification(n) = self.recv()
                && n.method == "textDocument/publishDiagnostics"
            {
                assert_eq!(n.params["uri"], URI);
                return n.params["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn stop(mut self) {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.server.join().unwrap().unwrap();
    }
}

fn code_and_start(d: &Value) -> (String, u64, u64) {
    let start = &d["range"]["start"];
    (d["code"].as_str().unwrap().to_string(), start["line"].as_u64().unwrap(), start["character"].as_u64().unwrap())
}

#[test]
fn publishes_diagnostics_offers_fixes_and_hovers() {
    let mut c = Client::start();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "yaml", "version": 1, "text": RULE}}),
    );
    let diags = c.diagnostics();
    let found: Vec<(String, u64, u64)> = diags.iter().map(code_and_start).collect();
    assert_eq!(found, [("SG215".to_string(), 3, 6), ("SG301".to_string(), 11, 14)], "{diags:#?}");
    let modifier = diags.iter().find(|d| d["code"] == "SG301").unwrap();
    assert_eq!(modifier["range"]["end"]["character"], 21, "the range covers 'endwith'");
    assert_eq!(modifier["severity"], 1);
    assert_eq!(modifier["source"], "sigil");

    // Quick fix for the modifier: one edit replacing exactly 'endwith'.
    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": modifier["range"], "context": {"diagnostics": [modifier]}}),
    );
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 1, "{actions:#?}");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edits = &actions[0]["edit"]["changes"][URI];
    assert_eq!(edits[0]["newText"], "endswith");
    assert_eq!(edits[0]["range"], modifier["range"]);

    // A range elsewhere offers nothing.
    let none = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "context": {"diagnostics": []}}),
    );
    assert_eq!(none, json!([]));

    // Hover on a modifier and on an ATT&CK technique tag.
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 12, "character": 22}}),
    );
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("|contains") && text.contains("anywhere"), "{text}");
    let h = c
        .request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 12}}));
    let text = h["contents"]["value"].as_str().unwrap();
    assert!(text.contains("T1059.001") && text.contains("PowerShell"), "{text}");
    assert_eq!(h["range"]["start"], json!({"line": 5, "character": 6}));
    // Nothing to say on plain text.
    let h =
        c.request("textDocument/hover", json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 2}}));
    assert_eq!(h, Value::Null);

    // Editing the file fixes it: the diagnostics go away.
    let fixed = RULE.replace("endwith", "endswith").replace("2024/01/02", "2024-01-02");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    assert_eq!(c.diagnostics(), Vec::<Value>::new());

    // Broken YAML is a diagnostic, not a crash; closing clears the file's diagnostics.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": "title: [\n"}]}),
    );
    let broken = c.diagnostics();
    assert_eq!(broken[0]["code"], "SG104", "{broken:#?}");
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": URI}}));
    assert_eq!(c.diagnostics(), Vec::<Value>::new());

    // Unknown methods get an error response, and the server keeps going.
    c.next += 1;
    c.send(Message::Request(Request::new(RequestId::from(c.next), "textDocument/definition".into(), json!({}))));
    let Message::Response(r) = c.recv() else { panic!("expected a response") };
    assert!(r.error.is_some());
    c.stop();
}

#[test]
fn utf16_positions_are_used_for_ranges() {
    let c = Client::start();
    let text =
        "title: 😀 emoji\nlogsource: {product: windows}\ndetection:\n    sel: {'😀|endwith': x}\n    condition: sel\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "yaml", "version": 1, "text": text}}),
    );
    let diags = c.diagnostics();
    let d = diags.iter().find(|d| d["code"] == "SG301").unwrap();
    // "    sel: {'" is 11 UTF-16 units, the emoji 2 more, then '|'.
    assert_eq!(d["range"]["start"], json!({"line": 3, "character": 14}), "{d}");
    assert_eq!(d["range"]["end"], json!({"line": 3, "character": 21}));
    c.stop();
}
