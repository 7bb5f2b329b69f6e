//! Snapshots of the JSON API's answers on the example rules (`cargo insta review` after an intended change):
//! they pin the shapes documented in `docs/json.md`, so that a refactoring shows every byte it changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{example_catalog, start};
use serde_json::Value;
use sigil_web::App;

fn api(base: &str, path: &str) -> Value {
    let r = reqwest::blocking::get(format!("{base}{path}")).unwrap();
    assert_eq!(r.status().as_u16(), 200, "GET {path}");
    assert_eq!(r.headers()["content-type"], "application/json", "GET {path}");
    r.json().unwrap()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[test]
fn api_answers() {
    let base = start(App::new(example_catalog()));
    let paths = [
        ("index", "/api"),
        ("rule_mesh", "/api/rules/6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162"),
        ("rule_failed_logons", "/api/rules/718293a4-b5c6-47d8-e9f0-011223344556"),
        ("rule_by_stem", "/api/rules/sigma/ps_script_win_download_cradle"),
        ("search", "/api/rules?q=powershell"),
        ("search_facets", "/api/rules?tactic=execution&sort=title&per_page=3"),
        ("technique", "/api/attack/T1059.001"),
        ("indicator", "/api/indicators?field=ParentImage&kind=ends_with&value=%5Cmeshagent.exe"),
        ("indicator_list", "/api/indicators?value=powershell"),
        ("events", "/api/events"),
        ("events_provider", "/api/events/Sysmon"),
        ("events_event", "/api/events/Security-Auditing/4688"),
    ];
    for (name, path) in paths {
        insta::assert_snapshot!(format!("api_{name}"), pretty(&api(&base, path)));
    }
    let mut stats = api(&base, "/api/stats");
    // The load time is the only figure that changes from run to run.
    let obj = stats.as_object_mut().unwrap();
    assert!(obj.get("load_ms").is_some_and(Value::is_u64), "{obj:?}");
    obj.insert("load_ms".into(), Value::from(0));
    insta::assert_snapshot!("api_stats", pretty(&stats));
}
