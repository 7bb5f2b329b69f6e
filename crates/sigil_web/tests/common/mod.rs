//! Shared helpers of the web tests: catalogs, a server on a free loopback port, HTML table extraction.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sigil_catalog::{Catalog, CatalogOptions, SourceSpec};
use sigil_web::App;

/// A rule whose every string tries to become markup.
pub const HOSTILE: &str = r#"title: <script>alert('title')</script> Evil "quotes" & <b>bold</b>
id: 0badc0de-0000-4000-8000-000000000001
status: experimental
description: |
    <img src=x onerror=alert(1)> <script>alert('desc')</script> </textarea></pre>
references:
    - javascript:alert('ref')
    - https://example.com/ok?a=1&b=<x>
    - 'https://example.com/"onmouseover=alert(1)'
    - data:text/html,<script>alert(1)</script>
author: <b>mallory</b>, eve
date: 2024-01-01
tags:
    - attack.execution
    - attack.t1059.001
    - cve.<script>
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: '<script>alert("value")</script>'
        Image|endswith: '\evil<svg onload=alert(1)>.exe'
    condition: selection
falsepositives:
    - <iframe src=javascript:alert(1)>
level: high
"#;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The example rules of the repository plus the hostile rule, as one source `examples`.
pub fn example_catalog() -> Catalog {
    let dir = repo().join("examples/rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(p).unwrap()))
        .chain([("hostile.yml".to_string(), HOSTILE.to_string())])
        .collect();
    let refs: Vec<(&str, &str)> = texts.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    Catalog::from_texts("examples", &refs, &CatalogOptions::default()).unwrap()
}

/// The SigmaHQ corpus from `../shared`, or `None` (with a message) when it is absent and not required.
pub fn sigmahq_catalog() -> Option<Catalog> {
    let root = shared().join("corpus/sigmahq");
    if !root.join("rules").is_dir() {
        assert!(
            std::env::var("SIGIL_REQUIRE_CORPUS").as_deref() != Ok("1"),
            "SIGIL_REQUIRE_CORPUS=1 but the SigmaHQ corpus is missing at {}",
            root.display()
        );
        eprintln!("skipping: SigmaHQ corpus not found at {}", root.display());
        return None;
    }
    let arg = format!("sigma={}/rules*", root.display());
    let sources = SourceSpec::parse_all([arg]);
    Some(Catalog::load(&sources, &CatalogOptions::default()).unwrap())
}

/// Starts a server for `app` on a free loopback port, in a background thread; returns `http://127.0.0.1:PORT`.
pub fn start(app: App) -> String {
    start_router(sigil_web::server::router, app)
}

/// Starts a server with a custom router built from the app.
pub fn start_router(make: impl FnOnce(Arc<App>) -> axum::Router + Send + 'static, app: App) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, make(Arc::new(app))).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// Text of an HTML fragment: tags removed, entities decoded, whitespace collapsed.
pub fn text(html: &str) -> String {
    let no_tags = regex::Regex::new(r"<[^>]*>").unwrap().replace_all(html, " ");
    let numeric = regex::Regex::new(r"&#([0-9]+);").unwrap().replace_all(&no_tags, |c: &regex::Captures<'_>| {
        c[1].parse::<u32>().ok().and_then(char::from_u32).map(String::from).unwrap_or_default()
    });
    let decoded = numeric
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&#34;", "\"")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The HTML of the element `<tag ... id="id" ...>` up to its matching close tag (no nesting of the same tag
/// name inside, except for tables, which are counted).
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> Option<&'a str> {
    let marker = format!("id=\"{id}\"");
    let at = html.find(&marker)?;
    let start = html[..at].rfind(&format!("<{tag}"))?;
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut depth = 0usize;
    let mut i = start;
    loop {
        let next_open = html[i + 1..].find(&open).map(|x| x + i + 1);
        let next_close = html[i + 1..].find(&close).map(|x| x + i + 1)?;
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i = o;
            }
            _ => {
                if depth == 0 {
                    return Some(&html[start..next_close + close.len()]);
                }
                depth -= 1;
                i = next_close;
            }
        }
    }
}

/// Rows of the outer table `id`: each row's top-level cells as text.
pub fn table_rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let table = element(html, "table", id).unwrap_or_else(|| panic!("no table #{id}"));
    let body = &table[table.find("<tbody>").unwrap() + 7..];
    let mut rows = Vec::new();
    let mut rest = body.trim_start();
    while rest.starts_with("<tr") {
        let row_html = element_at(rest, "tr");
        rows.push(cells(row_html));
        rest = rest[row_html.len()..].trim_start();
    }
    rows
}

fn element_at<'a>(html: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut depth = 0usize;
    let mut i = 0;
    loop {
        let next_open = html[i + 1..].find(&open).map(|x| x + i + 1);
        let next_close = html[i + 1..].find(&close).map(|x| x + i + 1).expect("unclosed element");
        match next_open {
            Some(o) if o < next_close => {
                depth += 1;
                i = o;
            }
            _ => {
                if depth == 0 {
                    return &html[..next_close + close.len()];
                }
                depth -= 1;
                i = next_close;
            }
        }
    }
}

fn cells(row: &str) -> Vec<String> {
    let inner = &row[row.find('>').unwrap() + 1..row.len() - 5];
    let mut out = Vec::new();
    let mut rest = inner;
    while let Some(td) = rest.find("<td") {
        let cell = element_at(&rest[td..], "td");
        out.push(text(cell));
        rest = &rest[td + cell.len()..];
    }
    out
}
