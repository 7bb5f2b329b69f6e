//! The catalog in a real browser: Debian's Chromium, headless, driven through chromedriver (WebDriver).
//!
//! Without chromium and chromedriver the tests are skipped with a message, unless SIGIL_REQUIRE_BROWSER=1 (set
//! by CI), which makes their absence a failure. Set SIGIL_SCREENSHOTS=DIR to keep screenshots of the pages.

// Helpers outside #[test] functions panic on failure too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use sigil_web::{App, ExportOptions};

const MESH: &str = "6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162";
const WAIT: Duration = Duration::from_secs(20);

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file()))
}

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver runs in its own process group with the browsers it starts: end the whole group, so a
        // failed test (whose session was never closed) leaves no browser behind.
        #[cfg(unix)]
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a free port, or returns `None` (skip) when the browser is not installed.
fn driver() -> Option<Driver> {
    let chromium = which(&["chromium", "chromium-browser"]);
    let chromedriver = which(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(
            std::env::var("SIGIL_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "SIGIL_REQUIRE_BROWSER=1 but chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "skipping browser test: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = Command::new(chromedriver);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < WAIT, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Driver { child, url: format!("http://127.0.0.1:{port}"), _profile: tempfile::tempdir().unwrap(), chromium })
}

async fn browser(d: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": d.chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
                format!("--user-data-dir={}", d._profile.path().display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(caps).connect(&d.url).await.expect("a WebDriver session")
}

async fn shot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("SIGIL_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// Waits until `check` holds (polling), failing with `what` after [`WAIT`].
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < WAIT, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        // Rendered text, whitespace collapsed (flex items come back on separate lines).
        Ok(e) => e.text().await.unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "),
        Err(_) => String::new(),
    }
}

async fn serve() -> String {
    let app = Arc::new(App::new(common::example_catalog()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sigil_web::server::serve(app, listener, std::future::pending()));
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_facet_rule_page_and_heat_map() {
    let Some(d) = driver() else { return };
    let base = serve().await;
    let c = browser(&d).await;

    // The search page: type a query; results update as you type and the URL stays shareable.
    c.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Detection rules · sigil");
    assert!(text_of(&c, "#result-count").await.starts_with("10 rules"));
    let q = c.find(Locator::Css("#q")).await.unwrap();
    q.send_keys("meshagent").await.unwrap();
    until("live results for meshagent", || async { text_of(&c, "#result-count").await.starts_with("1 rule") }).await;
    until("the query in the URL", || async {
        c.current_url().await.unwrap().query().is_some_and(|q| q.contains("q=meshagent"))
    })
    .await;
    shot(&c, "search").await;

    // Submitting works too (without live search), then apply a facet.
    c.find(Locator::Css("#search-form button[type=submit]")).await.unwrap().click().await.unwrap();
    until("the submitted search", || async { text_of(&c, "#result-count").await.contains("for “meshagent”") }).await;
    let facet = c.find(Locator::Css("#facets [data-facet=tactic] a[data-value=command-and-control]")).await.unwrap();
    facet.click().await.unwrap();
    until("the tactic filter", || async {
        c.current_url()
            .await
            .unwrap()
            .query()
            .is_some_and(|q| q.contains("tactic=command-and-control") && q.contains("q=meshagent"))
    })
    .await;
    assert!(text_of(&c, ".active-filters").await.contains("Tactic: Command & Control"));
    let on = c.find(Locator::Css("#facets [data-facet=tactic] a.on")).await.unwrap();
    assert!(on.text().await.unwrap().starts_with("Command & Control"));

    // Open the rule page from the results and check its tables.
    c.find(Locator::Css(&format!("#results a[href='/rules/{MESH}']"))).await.unwrap().click().await.unwrap();
    c.wait().at_most(WAIT).for_element(Locator::Css("#rule-title")).await.unwrap();
    assert_eq!(text_of(&c, "#rule-title").await, "Shell Spawned by MeshAgent Remote Management Agent");
    let attack = text_of(&c, "#attack-table").await;
    assert!(
        attack.contains("Command & Control")
            && attack.contains("T1219.002 Remote Access Tools: Remote Desktop Software"),
        "{attack}"
    );
    let events = c.find_all(Locator::Css("#event-table tbody tr")).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0].text().await.unwrap().contains("Sysmon Event ID 1 Process creation"));
    assert!(events[1].text().await.unwrap().contains("Security-Auditing Event ID 4688"));
    let indicators = c.find_all(Locator::Css("#indicator-table > tbody > tr")).await.unwrap();
    assert_eq!(indicators.len(), 2);
    let stages = text_of(&c, "#stages").await;
    assert!(stages.to_lowercase().contains("stage 1: selection"), "stages are listed: {stages}");
    let copy = c.find(Locator::Css("button[data-copy]")).await.unwrap();
    assert!(copy.is_displayed().await.unwrap(), "JavaScript reveals the copy button");
    shot(&c, "rule").await;

    // The technique link leads to the technique's rules.
    c.find(Locator::Css("#attack-table a[href='/attack/T1219.002']")).await.unwrap().click().await.unwrap();
    until("the technique page", || async { text_of(&c, "h1").await.contains("T1219.002") }).await;
    assert!(text_of(&c, "#rules").await.contains("Shell Spawned by MeshAgent"));

    // The heat map: covered cells are coloured links; clicking one lists its rules.
    c.goto(&format!("{base}/attack")).await.unwrap();
    let cell = c.find(Locator::Css("#tactic-command-and-control a.cell[data-technique=T1219]")).await.unwrap();
    assert_eq!(cell.attr("class").await.unwrap().as_deref(), Some("cell h1"));
    let background = cell.css_value("background-color").await.unwrap();
    let empty = c.find(Locator::Css("#tactic-reconnaissance .cell.h0")).await.unwrap();
    assert_ne!(background, empty.css_value("background-color").await.unwrap(), "covered cells are coloured");
    shot(&c, "attack").await;
    cell.click().await.unwrap();
    until("the cell's rules", || async { text_of(&c, "#technique-count").await == "1" }).await;
    assert!(c.current_url().await.unwrap().as_str().ends_with("/attack/T1219?tactic=command-and-control"));
    assert!(text_of(&c, "#rules").await.contains("Shell Spawned by MeshAgent"));

    // Statistics draw their charts as HTML bars.
    c.goto(&format!("{base}/stats")).await.unwrap();
    let charts = c.find_all(Locator::Css("ul.chart")).await.unwrap();
    assert!(charts.len() >= 2);
    let (_, _, w, h) = charts[0].rectangle().await.unwrap();
    assert!(w > 200.0 && h > 50.0, "charts are visible ({w}x{h})");
    shot(&c, "stats").await;

    // A hostile rule does not run script: its page renders, no alert opens.
    c.goto(&format!("{base}/rules/0badc0de-0000-4000-8000-000000000001")).await.unwrap();
    assert!(text_of(&c, "#rule-title").await.starts_with("<script>"));
    assert!(c.get_alert_text().await.is_err(), "no alert dialog");

    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_page_explains_a_pasted_event() {
    let Some(d) = driver() else { return };
    let axe = axe_source();
    let base = serve().await;
    let c = browser(&d).await;
    c.goto(&format!("{base}/rules/{MESH}")).await.unwrap();
    let explain = |event: String| {
        let c = c.clone();
        async move {
            let box_ = c.find(Locator::Css("#explain-event")).await.unwrap();
            box_.clear().await.unwrap();
            box_.send_keys(&event).await.unwrap();
            c.find(Locator::Css("#explain-form button[type=submit]")).await.unwrap().click().await.unwrap();
        }
    };
    // A match: the selection, the value after modifiers that matched and the event's value.
    explain(
        r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "ParentImage": "C:\\mesh\\MeshAgent.exe", "Image": "C:\\Windows\\System32\\cmd.exe"}"#
            .to_string(),
    )
    .await;
    until("the explanation", || async { text_of(&c, "#explain-result").await.contains("matches this event") }).await;
    let shown = text_of(&c, "#explain-result").await;
    assert!(shown.contains("Image|endswith") && shown.contains("C:\\Windows\\System32\\cmd.exe"), "{shown}");
    assert!(shown.contains("*\\\\cmd.exe"), "the value after modifiers: {shown}");
    shot(&c, "explain").await;
    if let Some(axe) = &axe {
        let v = axe_violations(&c, axe).await;
        assert!(v.is_empty(), "the explained rule page: accessibility violations:\n{}", v.join("\n"));
    }
    // A miss with a hostile value: shown as text, never run or parsed as markup.
    explain(
        r#"{"Channel": "Security", "EventID": 4688, "ParentProcessName": "<img src=x onerror=alert(1)>", "NewProcessName": "<script>alert(2)</script>"}"#
            .to_string(),
    )
    .await;
    until("the miss", || async { text_of(&c, "#explain-result").await.contains("does not match") }).await;
    let shown = text_of(&c, "#explain-result").await;
    assert!(shown.contains("ParentImage|endswith") && shown.contains("<img src=x onerror=alert(1)>"), "{shown}");
    assert!(c.find_all(Locator::Css("#explain-result img, #explain-result script")).await.unwrap().is_empty());
    assert!(c.get_alert_text().await.is_err(), "no alert dialog");
    // Not JSON: the error is said.
    explain("{not json".to_string()).await;
    until("the error", || async { text_of(&c, "#explain-result .explain-error").await.contains("JSON") }).await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_export_searches_in_the_browser() {
    let Some(d) = driver() else { return };
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(common::example_catalog());
    sigil_web::write_site(&app, dir.path(), &ExportOptions::default()).unwrap();
    let c = browser(&d).await;
    let index = dir.path().join("index.html");
    let url = format!("file://{}", index.display());

    // Without a query the pre-rendered list shows; with one, static.js searches the prebuilt index.
    c.goto(&url).await.unwrap();
    assert!(text_of(&c, "#result-count").await.starts_with("10 rules"));
    c.goto(&format!("{url}?q=meshagent&tactic=command-and-control")).await.unwrap();
    until("client-side results", || async { text_of(&c, "#result-count").await.starts_with("1 rule") }).await;
    assert!(text_of(&c, ".active-filters").await.contains("Tactic: Command & Control"));
    shot(&c, "static-search").await;

    // Typing searches as well; facets are recounted.
    let q = c.find(Locator::Css("#q")).await.unwrap();
    q.clear().await.unwrap();
    q.send_keys("powershell").await.unwrap();
    until("results for powershell", || async {
        let t = text_of(&c, "#result-count").await;
        t.contains("for “powershell”") && !t.starts_with("0 ")
    })
    .await;

    // Facet links and result links lead to static pages.
    c.goto(&format!("{url}?level=high")).await.unwrap();
    until("the level filter", || async { text_of(&c, "#result-count").await.starts_with("5 rules") }).await;
    let first = c.find(Locator::Css("#results ol.results a")).await.unwrap();
    first.click().await.unwrap();
    c.wait().at_most(WAIT).for_element(Locator::Css("#rule-title")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().contains("/rules/"));
    assert!(!text_of(&c, "#attack-table").await.is_empty());

    // A shared indicator's count leads to its rules, listed in the browser from the index files.
    c.goto(&format!("file://{}", dir.path().join(format!("rules/{MESH}.html")).display())).await.unwrap();
    let pill = c.find(Locator::Css("#indicator-table a.pill")).await.unwrap();
    assert!(pill.text().await.unwrap().starts_with("corpus 2"));
    pill.click().await.unwrap();
    until("the indicator's rules", || async { !text_of(&c, "#indicator-value").await.is_empty() }).await;
    assert!(text_of(&c, "#rules").await.contains("Shell Spawned by MeshAgent"));
    assert_eq!(c.find_all(Locator::Css("#rules li")).await.unwrap().len(), 2);

    // A typo: the closest matches, and what the word was taken for, as on the server.
    c.goto(&format!("{url}?q=meshagnet")).await.unwrap();
    until("did you mean", || async { text_of(&c, "#did-you-mean").await.contains("meshagent") }).await;
    assert!(text_of(&c, "#result-count").await.starts_with("1 rule"));
    assert!(!c.find_all(Locator::Css("#results mark")).await.unwrap().is_empty(), "matched words are marked");
    c.close().await.unwrap();
}

/// axe-core's browser build: `SIGIL_AXE`, else `.ci/npm/node_modules/axe-core/axe.min.js` (where `.ci/run`
/// installs it from npm). Absent: the accessibility checks are skipped with a message, unless
/// SIGIL_REQUIRE_BROWSER=1, which makes that a failure.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("SIGIL_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".ci/npm/node_modules/axe-core/axe.min.js"));
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            assert!(
                std::env::var("SIGIL_REQUIRE_BROWSER").as_deref() != Ok("1"),
                "SIGIL_REQUIRE_BROWSER=1 but axe-core is missing at {} (npm install --prefix .ci/npm axe-core@4)",
                path.display()
            );
            eprintln!("skipping accessibility checks: axe-core not found at {}", path.display());
            None
        }
    }
}

/// Serious and critical axe-core violations of the current page (WCAG 2.0/2.1 A and AA rules), one line each.
async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.unwrap();
    let script = r#"
        var done = arguments[arguments.length - 1];
        axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })
          .then(function (r) {
            done(r.violations.filter(function (v) { return v.impact === 'serious' || v.impact === 'critical'; })
              .map(function (v) {
                return v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                  v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(', ');
              }));
          }, function (e) { done(['axe failed: ' + e]); });
    "#;
    let v = c.execute_async(script, vec![]).await.unwrap();
    serde_json::from_value(v).unwrap()
}

async fn js_number(c: &Client, expr: &str) -> f64 {
    c.execute(&format!("return {expr};"), vec![]).await.unwrap().as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_phones_and_desktops_and_passes_axe() {
    let Some(d) = driver() else { return };
    let axe = axe_source();
    let base = serve().await;
    let c = browser(&d).await;
    let indicator = {
        c.goto(&format!("{base}/rules/{MESH}")).await.unwrap();
        c.find(Locator::Css("#indicator-table a.pill")).await.unwrap().attr("href").await.unwrap().unwrap()
    };
    let pages = [
        "/".to_string(),
        "/?q=powershell".into(),
        "/?q=meshagnet".into(),
        format!("/rules/{MESH}"),
        "/rules/0badc0de-0000-4000-8000-000000000001".into(),
        "/attack".into(),
        "/attack/T1219?tactic=command-and-control".into(),
        "/events".into(),
        "/events/Sysmon".into(),
        "/events/Sysmon/1".into(),
        "/indicators".into(),
        indicator,
        "/stats".into(),
        "/no-such-page".into(),
    ];
    for width in [390u32, 1400] {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        assert_eq!(js_number(&c, "window.innerWidth").await as u32, width, "the viewport is the window");
        for p in &pages {
            c.goto(&format!("{base}{p}")).await.unwrap();
            // innerWidth would grow with overflowing content under mobile emulation; scrollWidth does not lie.
            let sw = js_number(&c, "document.documentElement.scrollWidth").await;
            shot(&c, &format!("w{width}{}", p.replace(['/', '?', '=', '&'], "_"))).await;
            assert!(sw <= f64::from(width), "{p} at {width} px scrolls sideways: scrollWidth {sw}");
            // The navigation is reachable: behind the menu button on a phone, in the bar on a desktop.
            let stats = c.find(Locator::Css("#site-nav a[href='/stats']")).await.unwrap();
            if width < 720 {
                assert!(!stats.is_displayed().await.unwrap(), "{p}: the menu starts collapsed");
                let toggle = c.find(Locator::Css(".menu-toggle")).await.unwrap();
                toggle.click().await.unwrap();
                assert_eq!(toggle.attr("aria-expanded").await.unwrap().as_deref(), Some("true"));
            }
            assert!(stats.is_displayed().await.unwrap(), "{p} at {width}: Stats is reachable");
            let (x, _, w, _) = stats.rectangle().await.unwrap();
            assert!(x >= 0.0 && x + w <= f64::from(width), "{p} at {width}: Stats is on screen ({x} + {w})");
            // "/" reaches a search box on every page.
            if !p.starts_with("/?") && p != "/" {
                let script = "document.dispatchEvent(new KeyboardEvent('keydown', { key: '/', bubbles: true })); \
                              return document.activeElement.id;";
                let focused = c.execute(script, vec![]).await.unwrap();
                assert_eq!(focused, "top-q", "{p}: / focuses the header search");
            }
            // Every page type is audited (the issue names /, a rule page, /attack, /events and /stats).
            if let Some(axe) = &axe {
                let v = axe_violations(&c, axe).await;
                assert!(v.is_empty(), "{p} at {width} px: accessibility violations:\n{}", v.join("\n"));
            }
        }
        // Results come before the filters on a phone; beside them on a desktop.
        c.goto(&format!("{base}/?q=powershell")).await.unwrap();
        // Keyboard users: the first stop is the skip link, and the results come before the filters in tab order
        // (skip link, brand, navigation, search box and button, the sort links, then the first result: no walk
        // through every facet as before, when it took 69 presses).
        let script = "var f = Array.prototype.filter.call(document.querySelectorAll('a[href], button, \
                      input:not([type=hidden]), summary'), function (e) { return e.getClientRects().length > 0 \
                      || e.className === 'skip-link'; }); \
                      var first = f[0]; var result = document.querySelector('#results ol a'); \
                      var stops = Array.prototype.indexOf.call(f, result); \
                      return [first.className, stops];";
        let v = c.execute(script, vec![]).await.unwrap();
        assert_eq!(v[0], "skip-link");
        let stops = v[1].as_u64().unwrap();
        assert!(stops <= 15, "the first result is tab stop {stops}");
        let results = c.find(Locator::Css("#results")).await.unwrap().rectangle().await.unwrap();
        let filters = c.find(Locator::Css("#filters")).await.unwrap().rectangle().await.unwrap();
        if width < 720 {
            assert!(results.1 < filters.1, "results above filters: {results:?} {filters:?}");
            assert_eq!(
                c.find(Locator::Css("#filters")).await.unwrap().attr("open").await.unwrap(),
                None,
                "filters start collapsed on a phone"
            );
        } else {
            assert!(filters.0 < results.0 && (filters.1 - results.1).abs() < 40.0, "{results:?} {filters:?}");
        }
    }
    c.close().await.unwrap();
}

/// Queries whose top results the static site must rank exactly as the server.
const QUERIES: &[&str] = &[
    "rundll32",
    r"\rundll32.exe",
    "mimkatz",
    "powershell -encodedcommand",
    "meshagent",
    "lsass dump",
    "certutil urlcache",
    "T1059.001",
    "admin share",
    "schtasks create",
    "\"remote access\"",
    "cobalt strike",
    "wmi",
    "psexe",
    "level:high whoami",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_search_ranks_like_the_server_and_loads_little() {
    let Some(d) = driver() else { return };
    let catalog = common::sigmahq_catalog().unwrap_or_else(common::example_catalog);
    let app = App::new(catalog);
    let dir = tempfile::tempdir().unwrap();
    let opts = ExportOptions { search_only: true, ..ExportOptions::default() };
    sigil_web::write_site(&app, dir.path(), &opts).unwrap();
    let c = browser(&d).await;
    let url = format!("file://{}", dir.path().join("index.html").display());
    c.goto(&url).await.unwrap();
    let order = app.catalog().title_order();
    let mut nonempty = 0;
    for q in QUERIES {
        let server: Vec<u32> = app
            .catalog()
            .search(&sigil_catalog::SearchQuery::parse(q).page(0, 10))
            .hits
            .iter()
            .map(|h| order[h.index])
            .collect();
        let script = "var done = arguments[arguments.length - 1]; SIGIL_RANK(arguments[0], function (r) { done(r.slice(0, 10)); });";
        let v = c.execute_async(script, vec![serde_json::json!(q)]).await.unwrap();
        let browser: Vec<u32> = serde_json::from_value(v).unwrap();
        assert_eq!(browser, server, "top results for {q:?}");
        nonempty += usize::from(!server.is_empty());
    }
    assert!(nonempty >= 3, "{nonempty} queries found something");

    // The first search: the page, its assets and the index files it loads (sizes on disk, uncompressed).
    c.goto(&format!("{url}?q=mimikatz")).await.unwrap();
    until("the first search", || async {
        c.execute("return document.documentElement.getAttribute('data-search')", vec![]).await.unwrap() == "done"
    })
    .await;
    // Resource timing skips file:// loads: the page's scripts and stylesheets are what it loaded.
    let script = "return Array.from(document.querySelectorAll('script[src], link[rel=stylesheet], link[rel=icon]'))\
                  .map(function (e) { return e.src || e.href; })";
    let names = c.execute(script, vec![]).await.unwrap();
    let page = std::fs::metadata(dir.path().join("index.html")).unwrap().len();
    let (mut index, mut assets, mut files) = (0, 0, 0);
    for n in names.as_array().unwrap() {
        let path = n.as_str().unwrap().strip_prefix("file://").unwrap().split(['?', '#']).next().unwrap();
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if path.contains("/search/") {
            index += len;
            files += 1;
        } else {
            assets += len;
        }
    }
    let shards = std::fs::read_dir(dir.path().join("search/t")).unwrap().count();
    eprintln!(
        "first search of {} rules: index {files} files {:.0} kB; page {:.0} kB and assets {:.0} kB (uncompressed); \
         {shards} term shards in all",
        app.catalog().len(),
        index as f64 / 1000.0,
        page as f64 / 1000.0,
        assets as f64 / 1000.0,
    );
    assert!(index < 500_000, "the first search loads {index} bytes of index");
    assert!(text_of(&c, "#result-count").await.contains("for “mimikatz”"));
    c.close().await.unwrap();
}

/// The pages rules of other families add (the heat map's disagreement marks and list, a technique's table by
/// family, a highlighted query) pass axe and fit a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn family_pages_fit_and_pass_axe() {
    let Some(d) = driver() else { return };
    let axe = axe_source();
    let fixtures = common::repo().join("crates/sigil_families/tests/fixtures");
    let sources = vec![
        sigil_catalog::SourceSpec::new("sigma", vec![common::repo().join("examples/rules")]),
        sigil_catalog::SourceSpec::new("elastic", vec![fixtures.join("elastic")]),
        sigil_catalog::SourceSpec::new("sentinel", vec![fixtures.join("sentinel")]),
    ];
    let catalog = sigil_catalog::Catalog::load(&sources, &sigil_catalog::CatalogOptions::default()).unwrap();
    let app = Arc::new(App::new(catalog));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sigil_web::server::serve(app, listener, std::future::pending()));
    let c = browser(&d).await;
    let pages = [
        "/attack",
        "/attack/disagreements",
        "/attack/disagreements?sort=sentinel&only=missing:elastic",
        "/attack/T1110",
        "/rules/0b6f7a8e-6b1f-4c39-9a53-0d1c1c0a9e11",
    ];
    for width in [390u32, 1400] {
        c.set_window_size(width, 900).await.unwrap();
        for p in pages {
            c.goto(&format!("{base}{p}")).await.unwrap();
            let sw = js_number(&c, "document.documentElement.scrollWidth").await;
            shot(&c, &format!("fam-w{width}{}", p.replace(['/', '?', '=', '&', ':'], "_"))).await;
            assert!(sw <= f64::from(width), "{p} at {width} px scrolls sideways: scrollWidth {sw}");
            if let Some(axe) = &axe {
                let v = axe_violations(&c, axe).await;
                assert!(v.is_empty(), "{p} at {width} px: accessibility violations:\n{}", v.join("\n"));
            }
        }
    }
    c.goto(&format!("{base}/attack/disagreements")).await.unwrap();
    assert!(text_of(&c, "#disagreement-table").await.contains("Sigma and Sentinel, not Elastic"));
    c.close().await.unwrap();
}
