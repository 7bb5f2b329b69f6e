//! Differential tests on the real engines: the set of (rule, event) each engine selects with the converted
//! queries must equal what the hunting engine selects over the same events.
//!
//! Engines: ClickHouse (chdb, embedded), DuckDB and Spark (local mode), all driven by one Python process per test
//! binary (`engines.py`). Python is `$SIGIL_PYTHON`, else the repository's `.venv/bin/python` (which `.ci/run`
//! creates), else `python3` ([`sigil_testutil::python`]). An engine whose module is missing is skipped with a message, unless
//! `SIGIL_REQUIRE_ENGINES=1`, where that fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::{Value as Json, json};
use sigil_convert::{ConvertOptions, Target};
use sigil_engine::{Engine, EngineOptions};
use sigil_events::ReadOptions;
use sigil_testutil::LineDriver;

/// Makes a missing engine an error rather than a skip.
const REQUIRE: &str = "SIGIL_REQUIRE_ENGINES";

struct Driver {
    line: LineDriver,
    available: Vec<Target>,
}

impl Driver {
    fn request(&mut self, req: &Json) -> Json {
        self.line.ask(req)
    }
}

/// The one driver process of this test binary.
fn driver() -> &'static Mutex<Option<Driver>> {
    static DRIVER: OnceLock<Mutex<Option<Driver>>> = OnceLock::new();
    DRIVER.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines.py");
        let line = match LineDriver::spawn(&script) {
            Ok(l) => l,
            Err(why) => {
                sigil_testutil::skip(REQUIRE, &why);
                return Mutex::new(None);
            }
        };
        let mut d = Driver { line, available: Vec::new() };
        let probe = d.request(&json!({"op": "probe"}));
        for t in Target::ALL {
            match probe["engines"][t.name()].as_str() {
                None => d.available.push(t),
                Some(why) => sigil_testutil::skip(REQUIRE, &format!("{} is unavailable: {why}", t.name())),
            }
        }
        Mutex::new(Some(d))
    })
}

type Pairs = BTreeSet<(String, i64)>;

/// What `sigil hunt` selects: (rule key, event index), events numbered in the order `sigil export` writes them.
fn engine_pairs(set: &sigil_rule::RuleSet, inputs: &[PathBuf]) -> Pairs {
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let opts = EngineOptions { all_logsources: true, ..EngineOptions::default() };
    let (engine, _report) = Engine::build(set, knowledge, &opts);
    let mut scratch = engine.scratch();
    let mut found = Vec::new();
    let mut out = Pairs::new();
    let mut index = 0i64;
    let (files, _) = sigil_events::discover(inputs);
    for f in files {
        let Ok(source) = sigil_events::open(&f, &ReadOptions::default()) else { continue };
        source.for_each_batch(|batch| {
            for ev in &batch.events {
                found.clear();
                engine.matches(ev, &mut scratch, &mut found);
                for m in &found {
                    let info = &engine.rule(*m).unwrap().info;
                    let key = info.id.clone().or_else(|| info.name.clone()).unwrap_or_else(|| info.title.clone());
                    out.insert((key, index));
                }
                index += 1;
            }
        });
    }
    out
}

fn rows_to_indexes(rows: &Json) -> Vec<i64> {
    rows.as_array().unwrap().iter().map(|r| r[0].as_i64().or_else(|| r[0].as_str()?.parse().ok()).unwrap()).collect()
}

/// How many rule files go into one Spark single query (see `differential`).
const SPARK_SINGLE_QUERY_BATCH: usize = 40;

/// Runs every converted rule and the single query of `set` on every available engine over `inputs`, and
/// compares with the hunting engine. Returns per target the number of rules compared.
fn differential(
    label: &str,
    set: &sigil_rule::RuleSet,
    inputs: &[PathBuf],
    min_rate: f64,
    per_rule: bool,
    explain_only: bool,
) -> Vec<(Target, usize)> {
    let guard = driver();
    let mut guard = guard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(d) = guard.as_mut() else { return Vec::new() };
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("events.parquet");
    let stats = sigil_convert::export::export(inputs, &parquet, &ReadOptions::default()).unwrap();
    assert!(stats.events > 0, "{label}: no events exported");
    let expected = engine_pairs(set, inputs);
    assert!(!expected.is_empty(), "{label}: the engine selected nothing; the test would prove nothing");
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let opts = ConvertOptions::default();
    let mut summary = Vec::new();
    let mut failures = Vec::new();
    for &target in &d.available.clone() {
        let started = std::time::Instant::now();
        d.request(&json!({"op": "load", "engine": target.name(), "path": parquet.display().to_string()}));
        let converted = sigil_convert::convert(set, knowledge, target, &opts);
        let mut queries: Vec<(String, String)> = Vec::new();
        let mut unsupported = Vec::new();
        for c in &converted {
            let key = c.rule_id.clone().unwrap_or_else(|| c.title.clone());
            match (&c.query, &c.unsupported) {
                (Some(q), None) => queries.push((key, format!("SELECT event_index FROM ({q}) AS q"))),
                (None, Some(why)) => unsupported.push(format!("{}: {why}", c.path)),
                other => panic!("{label}: {} is neither converted nor listed as unsupported: {other:?}", c.path),
            }
        }
        let total = queries.len() + unsupported.len();
        let rate = queries.len() as f64 / total.max(1) as f64;
        assert!(
            rate >= min_rate,
            "{label} {}: only {}/{total} rules convert:\n{}",
            target.name(),
            queries.len(),
            unsupported.join("\n")
        );
        let converted_keys: BTreeSet<&str> = queries.iter().map(|(k, _)| k.as_str()).collect();
        // Per-rule queries run one by one on ClickHouse and DuckDB. Spark runs a job per statement (seconds
        // each in local mode), so there every per-rule query is only parsed and analysed (EXPLAIN, when
        // `explain_only`), and the results are compared through the single query, which holds the same rule
        // predicates.
        let mut got = Pairs::new();
        let mut errors: BTreeMap<String, String> = BTreeMap::new();
        let run_each = target != Target::Spark && per_rule;
        let reqs: Vec<(String, String)> = if run_each {
            queries.clone()
        } else {
            queries.iter().map(|(k, q)| (k.clone(), format!("EXPLAIN {q}"))).collect()
        };
        if run_each || explain_only {
            for chunk in reqs.chunks(200) {
                let resp = d.request(&json!({"op": "run", "engine": target.name(), "queries": chunk}));
                if run_each {
                    for (k, rows) in resp["rows"].as_object().unwrap() {
                        for i in rows_to_indexes(rows) {
                            got.insert((k.clone(), i));
                        }
                    }
                }
                for (k, e) in resp["errors"].as_object().unwrap() {
                    errors.insert(k.clone(), e.as_str().unwrap_or_default().to_string());
                }
            }
        }
        let want: Pairs = expected.iter().filter(|(k, _)| converted_keys.contains(k.as_str())).cloned().collect();
        let report = |failures: &mut Vec<String>, kind: &str, got: &Pairs| {
            let missing: Vec<_> = want.difference(got).take(20).collect();
            let extra: Vec<_> = got.difference(&want).take(20).collect();
            if !missing.is_empty() || !extra.is_empty() {
                failures.push(format!(
                    "{label} {} {kind}: {} missing, {} extra\n  missing: {missing:?}\n  extra: {extra:?}",
                    target.name(),
                    want.difference(got).count(),
                    got.difference(&want).count()
                ));
            }
        };
        if !errors.is_empty() {
            failures.push(format!(
                "{label} {}: {} queries failed, e.g. {:?}",
                target.name(),
                errors.len(),
                errors.iter().take(3).collect::<Vec<_>>()
            ));
        }
        if run_each {
            report(&mut failures, "per-rule queries", &got);
        }
        // The single query over the same rules. Spark's analyser and optimiser rewrite one expression tree of
        // the whole statement many times over; for the 202 regression rules (several MB of list-aware SQL) that
        // ran a 4 GiB driver out of heap on CI, so there the rules go in batches, each batch one single query
        // (the same statement shape, the same rule predicates). ClickHouse and DuckDB take the whole set at once.
        let batch = if target == Target::Spark { SPARK_SINGLE_QUERY_BATCH } else { usize::MAX };
        let mut single_got = Pairs::new();
        let mut single_failed = false;
        // The same rules as one statement per route (`--split-by-route`). ClickHouse and DuckDB run each
        // statement; Spark runs the statements of a batch joined by UNION ALL (one job instead of one per route:
        // seconds each in local mode), which runs the same statements.
        let mut routes_got = Pairs::new();
        let mut routes_failed = false;
        for files in set.files.chunks(batch.min(set.files.len()).max(1)) {
            let subset = sigil_rule::RuleSet { files: files.to_vec() };
            let (single, _) = sigil_convert::single_query(&subset, knowledge, target, &opts);
            let mut queries =
                vec![("single".to_string(), format!("SELECT event_index, sigil_rules FROM ({single}) AS s"))];
            let (statements, _) = sigil_convert::route_statements(&subset, knowledge, target, &opts);
            let selects: Vec<String> = statements
                .iter()
                .map(|st| format!("SELECT event_index, sigil_rules FROM ({}) AS s", st.query))
                .collect();
            if target == Target::Spark {
                if !selects.is_empty() {
                    queries.push(("route 0".into(), selects.join("\nUNION ALL\n")));
                }
            } else {
                queries.extend(selects.into_iter().enumerate().map(|(i, q)| (format!("route {i}"), q)));
            }
            let resp = d.request(&json!({"op": "run", "engine": target.name(), "queries": queries}));
            for (name, _) in &queries {
                let route = name != "single";
                if let Some(e) = resp["errors"].get(name) {
                    failures.push(format!("{label} {}: the statement '{name}' failed: {e}", target.name()));
                    if route {
                        routes_failed = true;
                    } else {
                        single_failed = true;
                    }
                    continue;
                }
                for r in resp["rows"][name].as_array().unwrap() {
                    let i = r[0].as_i64().unwrap();
                    let ids: Vec<String> = match &r[1] {
                        Json::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                        Json::String(s) => serde_json::from_str(s).unwrap_or_default(),
                        other => panic!("sigil_rules: {other}"),
                    };
                    for id in ids {
                        if route {
                            routes_got.insert((id, i));
                        } else {
                            single_got.insert((id, i));
                        }
                    }
                }
            }
            if single_failed || routes_failed {
                break;
            }
        }
        if !single_failed {
            report(&mut failures, "single query", &single_got);
        }
        if !routes_failed {
            report(&mut failures, "statements per route", &routes_got);
        }
        println!(
            "{label} {}: {}/{total} rules converted, {} (rule, event) pairs compared, {:.1}s",
            target.name(),
            queries.len(),
            want.len(),
            started.elapsed().as_secs_f64()
        );
        for u in unsupported.iter().take(10) {
            println!("  unsupported: {u}");
        }
        summary.push((target, queries.len()));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    summary
}

fn shared() -> Option<PathBuf> {
    sigil_testutil::corpus(&["sigmahq-regression/regression_data", "sigmahq"])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every SigmaHQ rule that has a regression sample, over every sample (EVTX and JSON).
#[test]
fn sigmahq_regression_samples() {
    let Some(corpus) = shared() else { return };
    let mut files = Vec::new();
    walk(&corpus.join("sigmahq-regression/regression_data"), &mut files);
    let samples: Vec<PathBuf> =
        files.iter().filter(|p| p.extension().is_some_and(|e| e == "evtx" || e == "json")).cloned().collect();
    let ids: BTreeSet<String> = samples
        .iter()
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .filter(|s| s.len() == 36)
        .collect();
    // The rule files of those ids.
    let mut rule_files = Vec::new();
    walk(&corpus.join("sigmahq"), &mut rule_files);
    let id_re = regex::Regex::new(r"(?m)^id:\s*([0-9a-fA-F-]{36})\s*$").unwrap();
    let picked: Vec<PathBuf> = rule_files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "deprecated" || c.as_os_str() == "unsupported"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| id_re.captures(&t).map(|c| ids.contains(&c[1].to_ascii_lowercase())))
                .unwrap_or(false)
        })
        .collect();
    assert!(picked.len() > 100, "only {} rules with samples found", picked.len());
    let set = sigil_check::load(&picked, &sigil_rule::LoadOptions::default());
    // Spark: the single query only (EXPLAIN of 200 statements alone takes minutes in local mode); the per-rule
    // Spark queries are checked in the edge-case test.
    let summary = differential("sigmahq-regression", &set, &samples, 0.99, true, false);
    for (t, n) in summary {
        assert!(n >= 100, "{}: only {n} rules compared", t.name());
    }
}

/// Every SigmaHQ rule (the folders `sigil hunt` users run): at least 99% convert on each target, the rest listed
/// with reasons. With `SIGIL_ENGINES_ALL_RULES=1`, the single query over all of them (14 MB of SQL) also runs over
/// every regression sample on ClickHouse and DuckDB and must select what the engine selects; that takes minutes
/// (the engines parse and plan one statement of 3,755 rules), so CI leaves it out. Spark is left out of it: its
/// parser takes far longer on such a statement.
#[test]
fn sigmahq_all_rules_single_query() {
    let Some(corpus) = shared() else { return };
    let mut files = Vec::new();
    walk(&corpus.join("sigmahq-regression/regression_data"), &mut files);
    let samples: Vec<PathBuf> =
        files.iter().filter(|p| p.extension().is_some_and(|e| e == "evtx" || e == "json")).cloned().collect();
    let folders: Vec<PathBuf> = [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
        "rules-dfir",
    ]
    .iter()
    .map(|f| corpus.join("sigmahq").join(f))
    .filter(|p| p.is_dir())
    .collect();
    let set = sigil_check::load(&folders, &sigil_rule::LoadOptions::default());
    assert!(set.files.len() > 2000, "only {} rule files", set.files.len());
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    for t in Target::ALL {
        let converted = sigil_convert::convert(&set, knowledge, t, &ConvertOptions::default());
        let bad: Vec<String> =
            converted.iter().filter_map(|c| c.unsupported.as_ref().map(|u| format!("{}: {u}", c.path))).collect();
        let rate = 1.0 - bad.len() as f64 / converted.len() as f64;
        println!(
            "all SigmaHQ rules, {}: {}/{} convert ({:.2}%)",
            t.name(),
            converted.len() - bad.len(),
            converted.len(),
            rate * 100.0
        );
        for b in &bad {
            println!("  unsupported: {b}");
        }
        assert!(rate >= 0.99, "{}: {:.2}% convert", t.name(), rate * 100.0);
    }
    if std::env::var("SIGIL_ENGINES_ALL_RULES").as_deref() != Ok("1") {
        println!("the single query over all rules runs with SIGIL_ENGINES_ALL_RULES=1");
        return;
    }
    let guard = driver();
    let mut guard = guard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(d) = guard.as_mut() else { return };
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("events.parquet");
    sigil_convert::export::export(&samples, &parquet, &ReadOptions::default()).unwrap();
    let expected = engine_pairs(&set, &samples);
    let mut failures = Vec::new();
    for t in d.available.clone().into_iter().filter(|t| *t != Target::Spark) {
        let started = std::time::Instant::now();
        d.request(&json!({"op": "load", "engine": t.name(), "path": parquet.display().to_string()}));
        let (single, entries) = sigil_convert::single_query(&set, knowledge, t, &ConvertOptions::default());
        let included: BTreeSet<String> = entries
            .iter()
            .filter(|e| e.unsupported.is_none())
            .filter_map(|e| e.rule_id.clone().or_else(|| Some(e.title.clone())))
            .collect();
        let resp = d.request(&json!({"op": "run", "engine": t.name(),
            "queries": [["single", format!("SELECT event_index, sigil_rules FROM ({single}) AS s")]]}));
        if let Some(e) = resp["errors"].get("single") {
            failures.push(format!(
                "{}: the single query failed: {}",
                t.name(),
                &e.to_string()[..e.to_string().len().min(2000)]
            ));
            continue;
        }
        let mut got = Pairs::new();
        for r in resp["rows"]["single"].as_array().unwrap() {
            for id in r[1].as_array().unwrap() {
                got.insert((id.as_str().unwrap().to_string(), r[0].as_i64().unwrap()));
            }
        }
        let want: Pairs = expected.iter().filter(|(k, _)| included.contains(k)).cloned().collect();
        if got != want {
            failures.push(format!(
                "{}: single query over all rules: missing {:?}, extra {:?}",
                t.name(),
                want.difference(&got).take(20).collect::<Vec<_>>(),
                got.difference(&want).take(20).collect::<Vec<_>>()
            ));
        }
        println!(
            "all SigmaHQ rules, {}: single query, {} rules, {} (rule, event) pairs, {:.1}s, {} bytes of SQL",
            t.name(),
            included.len(),
            want.len(),
            started.elapsed().as_secs_f64(),
            single.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const EDGE_RULES: &[(&str, &str, &str)] = &[
    ("process_creation", "wildcards", "sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel"),
    ("process_creation", "wildcard inside", "sel: {CommandLine: '*a*b?c*'}\n  condition: sel"),
    ("process_creation", "escaped star", "sel: {CommandLine|contains: 'x\\*y'}\n  condition: sel"),
    ("process_creation", "escaped backslash", "sel: {CommandLine|startswith: 'C:\\\\Temp\\\\'}\n  condition: sel"),
    ("process_creation", "like metacharacters", "sel: {CommandLine|contains: ['50%', 'a_b']}\n  condition: sel"),
    ("process_creation", "cased", "sel: {CommandLine|cased|contains: 'MiXeD'}\n  condition: sel"),
    ("process_creation", "unicode case", "sel: {CommandLine|contains: 'ÄRGER'}\n  condition: sel"),
    ("process_creation", "question mark unicode", "sel: {CommandLine: 'h?llo'}\n  condition: sel"),
    ("process_creation", "windash", "sel: {CommandLine|windash|contains: ' -enc '}\n  condition: sel"),
    ("process_creation", "base64offset", "sel: {CommandLine|base64offset|contains: 'whoami'}\n  condition: sel"),
    ("process_creation", "utf16 base64", "sel: {CommandLine|wide|base64offset|contains: 'ping'}\n  condition: sel"),
    (
        "network_connection",
        "cidr",
        "sel: {DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10', '192.168.1.0/25']}\n  condition: sel",
    ),
    (
        "network_connection",
        "cidr negated",
        "sel: {Initiated: 'true'}\n  filter: {DestinationIp|cidr: '127.0.0.0/8'}\n  condition: sel and not filter",
    ),
    (
        "network_connection",
        "cidr v6 host and /48",
        "sel: {DestinationIp|cidr: ['2001:db8:1::1/128', '2001:db8:abcd::/48', '0.0.0.0/32']}\n  condition: sel",
    ),
    ("process_creation", "regex i", "sel: {CommandLine|re|i: 'power\\s*shell'}\n  condition: sel"),
    ("process_creation", "regex m", "sel: {CommandLine|re|m: '^second$'}\n  condition: sel"),
    ("process_creation", "regex s", "sel: {CommandLine|re|s: 'first.second'}\n  condition: sel"),
    ("process_creation", "regex cased", "sel: {CommandLine|re: 'Up[a-z]+'}\n  condition: sel"),
    ("process_creation", "fieldref", "sel: {ParentImage|fieldref: Image}\n  condition: sel"),
    (
        "process_creation",
        "fieldref contains",
        "sel: {CommandLine|fieldref|contains: OriginalFileName}\n  condition: sel",
    ),
    (
        "process_creation",
        "exists false",
        "sel: {Image|endswith: '.exe'}\n  f: {OriginalFileName|exists: false}\n  condition: sel and f",
    ),
    ("process_creation", "exists true", "sel: {Hashes|exists: true}\n  condition: sel"),
    ("process_creation", "null", "sel: {Image|endswith: '.exe', User: null}\n  condition: sel"),
    ("process_creation", "empty", "sel: {Description: ''}\n  condition: sel"),
    ("process_creation", "any value", "sel: {Description: '*'}\n  condition: sel"),
    ("process_creation", "number", "sel: {ProcessId: 1234}\n  condition: sel"),
    ("process_creation", "number gt", "sel: {ProcessId|gt: 1000}\n  condition: sel"),
    ("process_creation", "number lte", "sel: {ParentProcessId|lte: 4}\n  condition: sel"),
    ("process_creation", "hex number", "sel: {LogonId: 999}\n  condition: sel"),
    ("process_creation", "bool", "sel: {Enabled: true}\n  condition: sel"),
    ("process_creation", "keywords", "keywords: ['evil*tool', 'needle']\n  condition: keywords"),
    ("process_creation", "all", "sel: {CommandLine|contains|all: ['alpha', 'beta']}\n  condition: sel"),
    (
        "process_creation",
        "neq",
        "sel: {Image|endswith: '.exe'}\n  nq: {User|neq: ['admin', 'root']}\n  condition: sel and nq",
    ),
    (
        "process_creation",
        "conditions",
        "a: {Image|endswith: '\\a.exe'}\n  b_1: {CommandLine|contains: 'x'}\n  b_2: {CommandLine|contains: 'y'}\n  condition: a or (all of b_* and not 1 of a*)",
    ),
    // Spark substitutes `${...}` in statement text unless the literal hides it (log4j rule 5ea8faa8): broken, the
    // first keyword became `%%` and matched every event.
    ("process_creation", "dollar brace", "keywords: ['${::-l}${::-d}', '${jndi:ldap:/']\n  condition: keywords"),
    // Time parts (Sigma 2.1): text dates as written, epoch numbers of every magnitude, ISO weeks at year ends,
    // dates before 1900 and days that do not exist.
    ("process_creation", "hour", "sel: {UtcTime|hour: 23}\n  condition: sel"),
    ("process_creation", "minute lt", "sel: {UtcTime|minute|lt: 5}\n  condition: sel"),
    ("process_creation", "day", "sel: {UtcTime|day: 31}\n  condition: sel"),
    ("process_creation", "week 53", "sel: {UtcTime|week: 53}\n  condition: sel"),
    ("process_creation", "week 1", "sel: {UtcTime|week: 1}\n  condition: sel"),
    ("process_creation", "month gte", "sel: {UtcTime|month|gte: 12}\n  condition: sel"),
    ("process_creation", "year lt", "sel: {UtcTime|year|lt: 1970}\n  condition: sel"),
    ("process_creation", "year gt", "sel: {UtcTime|year|gt: 2100}\n  condition: sel"),
    // Field names: exact first, else the last key equal ignoring ASCII case and spaces (as `sigil hunt`).
    ("process_creation", "field name case", "sel: {ThreatName|contains: 'eicar'}\n  condition: sel"),
    ("process_creation", "field name exists", "sel: {ThreatName|exists: true}\n  condition: sel"),
    (
        "process_creation",
        "mapped field on 4688",
        "sel: {ParentImage|endswith: '\\explorer.exe', User: 'bob'}\n  condition: sel",
    ),
    // Lists (JSON arrays): the engine tests the items one by one; the export carries them in `lists`.
    ("process_creation", "list item", "sel: {Tags: 'beta'}\n  condition: sel"),
    ("process_creation", "list item not joined", "sel: {Tags: 'a, b'}\n  condition: sel"),
    ("process_creation", "nested list", "sel: {Tags|contains: 'deep'}\n  condition: sel"),
    ("process_creation", "list of numbers", "sel: {Ports: 445}\n  condition: sel"),
    ("process_creation", "list of numbers gt", "sel: {Ports|gt: 1000}\n  condition: sel"),
    ("process_creation", "empty list is null", "sel: {Image|endswith: 'l.exe', Tags: null}\n  condition: sel"),
    ("process_creation", "list any value", "sel: {Tags: '*'}\n  condition: sel"),
    ("process_creation", "list exists", "sel: {Tags|exists: true}\n  condition: sel"),
    ("process_creation", "list empty string", "sel: {Tags: ''}\n  condition: sel"),
    ("process_creation", "list regex", "sel: {Tags|re: '^al'}\n  condition: sel"),
    ("process_creation", "list all", "sel: {Tags|contains|all: ['alp', 'bet']}\n  condition: sel"),
    (
        "process_creation",
        "list neq",
        "sel: {Image|endswith: 'l.exe'}\n  nq: {Tags|neq: 'alpha'}\n  condition: sel and nq",
    ),
    ("process_creation", "list cidr", "sel: {Ips|cidr: '10.0.0.0/8'}\n  condition: sel"),
    ("process_creation", "list fieldref", "sel: {Owner|fieldref: Tags}\n  condition: sel"),
    ("process_creation", "list keyword", "keywords: ['kwitem', 'one, two']\n  condition: keywords"),
    // An item's wildcard patterns are one test (one regular expression on most targets): literals with the
    // regular-expression metacharacters, `\z` rather than `$` (Java's `$` also matches before a final line break),
    // Unicode case folding of the literals (ẞ, Ä) and wildcards inside lists.
    (
        "process_creation",
        "many contains with metacharacters",
        "sel: {CommandLine|contains: ['(x)', '[y]', 'p|q', 'c$', '^d', 'e+f', 'what\\?', 'a.b{2}']}\n  condition: sel",
    ),
    (
        "process_creation",
        "many endswith at a line break",
        "sel: {CommandLine|endswith: ['line', 'other']}\n  condition: sel",
    ),
    (
        "process_creation",
        "many startswith unicode",
        "sel: {CommandLine|startswith: ['GROẞ', 'HÄL', 'Ω']}\n  condition: sel",
    ),
    (
        "process_creation",
        "many wildcards mixed",
        "sel: {CommandLine: ['*a?b*', 'C:\\Temp\\*', '*\\run.bat', 'UPDATE*', 'x*y*z']}\n  condition: sel",
    ),
    ("process_creation", "many cased", "sel: {CommandLine|cased|contains: ['MiXeD', 'EVIL']}\n  condition: sel"),
    // A name that is the dotted prefix of event fields reads all of them (`Params` reads `Params.Value`).
    ("process_creation", "dotted prefix", "sel: {Params|contains: 'evil'}\n  condition: sel"),
    ("process_creation", "dotted prefix exists", "sel: {Params|exists: true}\n  condition: sel"),
    // Spark reads a row the fast way (exact keys only) unless a key may need the fallback: these rows, in the same
    // statement as the exact-keyed ones, take both ways — a key that only Unicode lower-casing folds to the name
    // (the Kelvin sign: slow, but still not the field), upper case, a dotted key under no field read, a list.
    ("process_creation", "field name folds only in Unicode", "sel: {Kind|contains: 'kv'}\n  condition: sel"),
    (
        "process_creation",
        "list beside exact fields",
        "sel: {Image|endswith: '\\v.exe', Labels: 'two'}\n  condition: sel",
    ),
];

fn edge_events() -> Vec<Json> {
    let sysmon = |fields: Json| {
        let mut e = json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Provider_Name": "Microsoft-Windows-Sysmon"});
        e.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        e
    };
    let net = |ip: &str, initiated: &str| json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "DestinationIp": ip, "Initiated": initiated});
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let mut v = vec![
        sysmon(json!({"Image": "C:\\Windows\\System32\\CMD.EXE", "CommandLine": "cmd /c echo", "User": "admin"})),
        sysmon(json!({"Image": "C:\\x\\cmd.exe.bak", "CommandLine": "zzaZZbxc", "OriginalFileName": "cmd"})),
        sysmon(json!({"Image": "C:\\a.exe", "CommandLine": "a-b-c", "User": null})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "has x*y inside"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "has xzy inside"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "C:\\Temp\\run.bat"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "C:\\Tempo\\run.bat"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "done 50% of a_b"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "done 50 of axb"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "a MiXeD value"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "a mixed value"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "großer ärger hier"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "hällo"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "HALLO"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "hallo!"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "powershell /enc abc"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "powershell \u{2013}enc abc"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "powershell -encoded"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": format!("cmd {}", b64("run whoami now"))})),
        sysmon(json!({"Image": "x.exe", "CommandLine": format!("cmd {}", b64("xwhoami"))})),
        sysmon(json!({"Image": "x.exe", "CommandLine": format!("cmd {}", b64("xx whoami"))})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "UTF16 cABpAG4AZwA= here"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "POWER   SHELL"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "first\nsecond\nthird"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "firstXsecond"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "Update now"})),
        sysmon(json!({"Image": "x.exe", "CommandLine": "UPDATE now"})),
        sysmon(json!({"Image": "C:\\p.exe", "ParentImage": "c:\\P.EXE", "CommandLine": "run"})),
        sysmon(
            json!({"Image": "C:\\p.exe", "ParentImage": "C:\\q.exe", "CommandLine": "run C:\\p.exe", "OriginalFileName": "P.EXE"}),
        ),
        sysmon(json!({"Image": "y.exe", "Hashes": null, "Description": null})),
        sysmon(json!({"Image": "y.exe", "Description": ""})),
        sysmon(json!({"Image": "y.exe", "Description": "something"})),
        sysmon(json!({"Image": "n.exe", "ProcessId": 1234, "ParentProcessId": "4"})),
        sysmon(json!({"Image": "n.exe", "ProcessId": "1234", "ParentProcessId": "0x4"})),
        sysmon(json!({"Image": "n.exe", "ProcessId": "0x4d2", "ParentProcessId": 5})),
        sysmon(json!({"Image": "n.exe", "ProcessId": " 1234.0 ", "ParentProcessId": "-1"})),
        sysmon(json!({"Image": "n.exe", "ProcessId": "12345", "ParentProcessId": "abc"})),
        sysmon(json!({"Image": "n.exe", "LogonId": "0x3e7"})),
        sysmon(json!({"Image": "n.exe", "LogonId": "0x3E8"})),
        sysmon(json!({"Image": "n.exe", "Enabled": true})),
        sysmon(json!({"Image": "n.exe", "Enabled": " TRUE "})),
        sysmon(json!({"Image": "n.exe", "Enabled": "false"})),
        sysmon(json!({"Image": "k.exe", "CommandLine": "an EVIL hacking TOOL"})),
        sysmon(json!({"Image": "k.exe", "Comment": "needle in a haystack"})),
        sysmon(json!({"Image": "k.exe", "CommandLine": "alpha and beta"})),
        sysmon(json!({"Image": "k.exe", "CommandLine": "alpha only"})),
        sysmon(json!({"Image": "k.exe", "User": "root"})),
        sysmon(json!({"Image": "k.exe", "User": "Alice"})),
        sysmon(json!({"Image": "C:\\b\\a.exe", "CommandLine": "x and y"})),
        sysmon(json!({"Image": "C:\\b.exe", "CommandLine": "x and y"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2024-12-31 23:04:59.123"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2024-12-31T23:59"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2021-01-03"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2020-12-31"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2019-12-30T00:00:00Z"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2023-02-31"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2023-02-31 10:02"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2024-13-01"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2024-01-01T24:00"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "2024-01-01x"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": " 1999-12-31 23:00 "})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1735689599"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1735689599999"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1735689599999999"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1735689599999999999"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "-1"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "-86401"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "0x67748580"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1e12"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "-3000000000"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "0001-01-01"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "9999-12-31 23:59"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "99999999999"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "100000000000"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "253402300800"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "not a date"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": ""})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "12.5"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "1735603200.9"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": "-1e17"})),
        sysmon(json!({"Image": "t.exe", "UtcTime": 1735689599})),
        sysmon(json!({"Image": "t.exe", "UtcTime": -62135596800i64})),
        sysmon(json!({"Image": "f.exe", "threatname": "EICAR test"})),
        sysmon(json!({"Image": "f.exe", "Threat Name": "eicar again"})),
        sysmon(json!({"Image": "f.exe", "threat name": "x", "THREATNAME": "EICAR last wins"})),
        sysmon(json!({"Image": "f.exe", "ThreatName": "exact", "threatname": "eicar not read"})),
        sysmon(json!({"Image": "f.exe", "ThreatNames": "eicar other field"})),
        sysmon(json!({"Image": "j.exe", "CommandLine": "x ${::-L}${::-d} y"})),
        sysmon(json!({"Image": "j.exe", "CommandLine": "GET /${JNDI:ldap://h/a}"})),
        sysmon(json!({"Image": "j.exe", "CommandLine": "${::-l} alone, and $jndi:ldap:/"})),
        sysmon(json!({"Image": "l.exe", "Tags": ["alpha", "beta"], "Ports": [80, 445], "Owner": "BETA"})),
        sysmon(json!({"Image": "l.exe", "Tags": ["a, b", "c"], "Owner": "a"})),
        // Joined, these items read "a, b" and "alpha, beta": no rule above may match them through that text.
        sysmon(json!({"Image": "l.exe", "Tags": ["a", "b"]})),
        sysmon(json!({"Image": "l.exe", "Tags": "alpha, beta"})),
        sysmon(json!({"Image": "l.exe", "Tags": []})),
        sysmon(json!({"Image": "l.exe", "Tags": [null, "x"]})),
        sysmon(json!({"Image": "l.exe", "Tags": [null]})),
        sysmon(json!({"Image": "l.exe", "Tags": [["x", ["deep"]]], "Ports": [[8080], 1]})),
        sysmon(json!({"Image": "l.exe", "Tags": ["zz kwitem"], "Ports": ["0x1bd"]})),
        sysmon(json!({"Image": "l.exe", "Tags": ["one", "two"], "Ports": [44, 5]})),
        sysmon(json!({"Image": "l.exe", "Note": "one, two"})),
        sysmon(json!({"Image": "l.exe", "Ips": ["1.1.1.1", "10.2.3.4"]})),
        sysmon(json!({"Image": "l.exe", "Ips": ["1.1.1.1", "11.0.0.1"], "Owner": "x"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "run (x) and [y] now"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "p|q e+f"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "pq ef x y"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "price c$ then ^d"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "cd"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "what? a.b{2}"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "whatx axbb"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "the last line\n"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "the last line"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "ω and other"})),
        sysmon(json!({"Image": "m.exe", "CommandLine": "xAyBz"})),
        sysmon(json!({"Image": "l.exe", "Params": {"Name": "Identity", "Value": "evil.example"}})),
        sysmon(json!({"Image": "l.exe", "params": {"value": ["x", "EVIL too"]}})),
        sysmon(json!({"Image": "l.exe", "Params": "flat evil", "Params.Value": "not read"})),
        sysmon(json!({"Image": "l.exe", "ParamsX": {"Value": "evil, not under Params"}})),
        sysmon(json!({"Image": "u.exe", "\u{212A}ind": "kv kelvin sign"})),
        sysmon(json!({"Image": "u.exe", "KIND": "kv upper case"})),
        sysmon(json!({"Image": "u.exe", "Kind": "kv exact", "Other.Key": "kv dotted, under no field read"})),
        sysmon(json!({"Image": "C:\\v.exe", "Labels": ["one", "two"]})),
        sysmon(json!({"Image": "C:\\v.exe", "labels": "two"})),
        sysmon(json!({"Image": "C:\\v.exe", "Labels": "one, two"})),
        net("10.1.2.3", "true"),
        net("11.1.2.3", "true"),
        net("fe80::1%12", "true"),
        net("[FE80::abcd]", "true"),
        net("2001:db8::1", "true"),
        net("::ffff:10.9.9.9", "false"),
        net("192.168.1.127", "true"),
        net("192.168.1.128", "true"),
        net("127.0.0.1", "true"),
        net("not an ip", "true"),
        net("010.1.2.3", "true"),
        // cidr: the IPv4-mapped forms, zones, brackets, white space, dotted tails, invalid texts.
        net("::ffff:a01:203", "true"),
        net("0:0:0:0:0:FFFF:10.1.2.3", "true"),
        net("::ffff:10.01.2.3", "true"),
        net(" 10.255.255.255 ", "true"),
        net("10.1.2.3%eth0", "true"),
        net("10.1.2.3:443", "true"),
        net("fe80:0:0:0:0:0:0:1", "true"),
        net("FEBF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "true"),
        net("fec0::1", "true"),
        net("fe80::1::2", "true"),
        net("fe80::1.2.3.4", "true"),
        net("1:2:3:4:5:6:7::", "true"),
        net("::127.0.0.1", "true"),
        net("::ffff:127.0.0.1", "true"),
        net("2001:DB8:1:0:0:0:0:1", "true"),
        net("2001:db8:1::2", "true"),
        net("2001:db8:abcd:ffff::1", "true"),
        net("2001:db8:abce::", "true"),
        net("2001:db8:abcd::10.0.0.1", "true"),
        net("0.0.0.0", "true"),
        net("::", "true"),
        net("", "true"),
        json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\Windows\\cmd.exe",
               "ParentProcessName": "C:\\Windows\\Explorer.EXE", "SubjectUserName": "bob", "CommandLine": "cmd"}),
        json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x.exe",
               "ParentProcessName": "C:\\Windows\\explorer.exe", "SubjectUserName": "alice"}),
        json!({"Provider_Name": "Microsoft-Windows-Sysmon", "EventID": 1, "Image": "C:\\no-channel\\cmd.exe"}),
        json!({"Channel": "Application", "EventID": 1, "Image": "C:\\wrong-channel\\cmd.exe"}),
    ];
    // Every event gets a distinct record id so failures are easy to find.
    for (i, e) in v.iter_mut().enumerate() {
        e.as_object_mut().unwrap().insert("EventRecordID".into(), json!(i));
    }
    v
}

/// Generated events for each modifier and value form, with rules written for them.
#[test]
fn modifier_edge_cases() {
    let dir = tempfile::tempdir().unwrap();
    let mut texts = Vec::new();
    for (i, (category, title, detection)) in EDGE_RULES.iter().enumerate() {
        texts.push((
            format!("r{i}.yml"),
            format!(
                "title: 'edge {title}'\nid: 00000000-0000-4000-8000-{i:012}\nstatus: test\nlevel: high\n\
                 logsource: {{product: windows, category: {category}}}\ndetection:\n  {detection}\n"
            ),
        ));
    }
    texts.push((
        "unrouted.yml".into(),
        "title: unrouted\nid: 00000000-0000-4000-8000-999999999999\nlevel: high\nlogsource: {product: bitbucket, service: audit}\n\
         detection:\n  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n"
            .into(),
    ));
    let refs: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let set = sigil_check::load_texts(&refs);
    for f in &set.files {
        assert!(!f.parsed.has_errors(), "{}: {:?}", f.display_path, f.parsed.diagnostics);
    }
    let events = dir.path().join("events.jsonl");
    let lines: Vec<String> = edge_events().iter().map(Json::to_string).collect();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let expected = engine_pairs(&set, std::slice::from_ref(&events));
    // Every rule fires on at least one event, so each modifier is exercised with a positive case.
    for (i, (_, title, _)) in EDGE_RULES.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-{i:012}");
        assert!(expected.iter().any(|(k, _)| *k == id), "edge rule '{title}' matches no generated event");
    }
    differential("edge-cases", &set, &[events], 1.0, true, true);
}

/// The non-Windows samples (`corpus/logs`: CloudTrail, Azure, GCP, M365, Okta, GitHub, Kubernetes, auditd, syslog,
/// Sysmon for Linux, web access, Santa, Zeek) with SigmaHQ's non-Windows rules: the export's `kind` column routes
/// them as `sigil hunt` routes by record kind, and every (rule, record) pair agrees. Compared: every rule that
/// fires on the samples, and every 8th of those that do not (all ~1,000 would take minutes of per-rule queries),
/// plus a Windows rule reading a field the cloud records have, which must not fire on them (`kind IS NULL`).
/// Lists (CloudTrail arrays, Okta `target[]`, auditd records of one event) and dotted prefixes (M365 `Parameters`,
/// Azure `properties.targetResources`) are read through the export's `lists` column and the prefix lookup.
#[test]
fn non_windows_samples() {
    let Some(corpus) = shared() else { return };
    let logs = corpus.join("logs");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "LICENSES"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 10, "only {} log folders in {}", inputs.len(), logs.display());
    let mut rule_files = Vec::new();
    for folder in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        walk(&corpus.join("sigmahq").join(folder), &mut rule_files);
    }
    let windows_re = regex::Regex::new(r"(?m)^\s+product:\s*windows\s*$").unwrap();
    let all: Vec<PathBuf> = rule_files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| !windows_re.is_match(&t)))
        .collect();
    assert!(all.len() > 500, "only {} non-Windows rules", all.len());
    let full = sigil_check::load(&all, &sigil_rule::LoadOptions::default());
    let expected = engine_pairs(&full, &inputs);
    let fired: BTreeSet<&str> = expected.iter().map(|(k, _)| k.as_str()).collect();
    // The samples make rules of many record kinds fire (SOURCES.md lists them); the comparison is only worth
    // something if they do.
    assert!(fired.len() >= 40, "only {} rules fire on the samples: {fired:?}", fired.len());
    let id_re = regex::Regex::new(r"(?m)^id:\s*([0-9a-fA-F-]{36})\s*$").unwrap();
    let mut quiet = 0usize;
    let mut picked: Vec<PathBuf> = all
        .iter()
        .filter(|p| {
            let id = std::fs::read_to_string(p).ok().and_then(|t| id_re.captures(&t).map(|c| c[1].to_string()));
            if id.as_deref().is_some_and(|id| fired.contains(id)) {
                return true;
            }
            quiet += 1;
            quiet.is_multiple_of(8)
        })
        .cloned()
        .collect();
    let windows = "title: windows any\nid: 00000000-0000-4000-8000-aaaaaaaaaaaa\nlevel: low\n\
        logsource: {product: windows}\ndetection:\n  sel: {eventName|contains: 'a'}\n  condition: sel\n";
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("windows_any.yml");
    std::fs::write(&extra, windows).unwrap();
    picked.push(extra);
    let set = sigil_check::load(&picked, &sigil_rule::LoadOptions::default());
    let summary = differential("non-windows", &set, &inputs, 0.99, true, false);
    for (t, n) in summary {
        assert!(n >= 100, "{}: only {n} rules compared", t.name());
    }
}

/// Correlation alerts as `sigil hunt` raises them: (correlation id, group values, first µs, last µs, value).
type Alerts = BTreeSet<(String, Vec<String>, i64, i64, String)>;

struct AlertSink(Mutex<Alerts>);

impl sigil_engine::HuntSink for AlertSink {
    fn detections(&self, detections: &[sigil_engine::Detection<'_>]) {
        let mut out = self.0.lock().unwrap();
        for d in detections {
            let Some(c) = d.correlation else { continue };
            out.insert((
                d.rule.info.id.clone().unwrap_or_else(|| d.rule.info.title.clone()),
                c.group.iter().map(|(_, v)| v.clone()).collect(),
                c.first.as_microsecond(),
                c.last.as_microsecond(),
                format!("{:.3}", c.value),
            ));
        }
    }
    fn read_error(&self, e: &sigil_events::ReadError) {
        panic!("{e}");
    }
}

const CORR_BASE: &str = "title: Fail\nname: fail\nid: 00000000-0000-4000-8000-c00000000001\nlogsource: {product: windows}\n\
    detection: {sel: {EventID: 4625}, condition: sel}\n---\n\
    title: Ok\nname: ok\nid: 00000000-0000-4000-8000-c00000000002\nlogsource: {product: windows}\n\
    detection: {sel: {EventID: 4624}, condition: sel}\n";

/// `(type and body, what it exercises)`: each eager and judged-at-close form, aliases, no group-by.
const CORRELATIONS: &[(&str, &str)] = &[
    ("type: event_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 10s\n  condition: {gte: 3}", "eager count"),
    (
        "type: event_count\n  rules: [fail, ok]\n  group-by: [User]\n  timespan: 20s\n  condition: {lt: 2}",
        "upper bound",
    ),
    ("type: event_count\n  rules: [fail]\n  timespan: 15s\n  condition: {gte: 2, lte: 3}", "range, no group-by"),
    ("type: event_count\n  rules: [fail]\n  group-by: [User, Ip]\n  timespan: 10s\n  condition: {eq: 2}", "eq"),
    (
        "type: value_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2, field: Ip}",
        "values",
    ),
    ("type: value_count\n  rules: [fail]\n  group-by: [Ip]\n  timespan: 1m\n  condition: {lte: 1, field: User}", "few"),
    ("type: temporal\n  rules: [fail, ok]\n  group-by: [User]\n  timespan: 30s", "temporal"),
    ("type: temporal_ordered\n  rules: [fail, ok]\n  group-by: [User]\n  timespan: 30s", "ordered"),
    (
        "type: value_sum\n  rules: [fail, ok]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 100, field: Bytes}",
        "sum",
    ),
    (
        "type: value_avg\n  rules: [fail]\n  group-by: [User]\n  timespan: 1m\n  condition: {gt: 50, field: Bytes}",
        "avg",
    ),
    (
        "type: temporal\n  rules: [fail, ok]\n  group-by: [who]\n  timespan: 30s\n  \
         aliases:\n    who:\n      fail: User\n      ok: TargetUserName",
        "aliases",
    ),
];

fn corr_events() -> Vec<Json> {
    let mut v = Vec::new();
    let mut push = |t: i64, id: u32, fields: Json| {
        let mut e = json!({"Channel": "Security", "EventID": id});
        if t >= 0 {
            let ts = jiff::Timestamp::from_second(1_700_000_000 + t).unwrap();
            e["TimeCreated"] = json!(ts.to_string());
        }
        e.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        v.push(e);
    };
    // A burst for a: three failures inside 10 s, then more; b: slow failures; c: one failure then a success.
    push(0, 4625, json!({"User": "a", "Ip": "1.1.1.1", "Bytes": 40}));
    push(2, 4625, json!({"User": "a", "Ip": "1.1.1.2", "Bytes": "0x40"}));
    push(4, 4625, json!({"User": "b", "Ip": "1.1.1.1", "Bytes": "x"}));
    push(5, 4625, json!({"User": "a", "Ip": "1.1.1.1", "Bytes": 30}));
    push(6, 4624, json!({"TargetUserName": "a", "User": "a", "Bytes": 10}));
    push(7, 4625, json!({"User": "a", "Ip": "1.1.1.3"}));
    push(10, 4625, json!({"User": "a", "Ip": "1.1.1.1", "Bytes": 200}));
    push(11, 4625, json!({"Ip": "9.9.9.9"}));
    push(12, 4624, json!({"TargetUserName": "c"}));
    push(14, 4625, json!({"User": "c", "Ip": "2.2.2.2", "Bytes": 60}));
    push(-1, 4625, json!({"User": "a", "Ip": "no time"}));
    push(20, 4625, json!({"User": "b", "Ip": "1.1.1.1", "Bytes": 70}));
    push(21, 4624, json!({"TargetUserName": "b", "User": "b"}));
    push(25, 4625, json!({"User": "c", "Ip": "2.2.2.2", "Bytes": 60}));
    push(40, 4625, json!({"User": "b", "Ip": "1.1.1.4"}));
    push(40, 4625, json!({"User": "b", "Ip": "1.1.1.4"}));
    push(41, 4624, json!({"TargetUserName": "b", "User": "b"}));
    push(70, 4625, json!({"User": "a", "Ip": "1.1.1.1", "Bytes": 1000}));
    push(75, 4625, json!({"User": "a", "Ip": "1.1.1.9", "Bytes": "12.5"}));
    push(100, 4624, json!({"TargetUserName": "d", "User": "d"}));
    for (i, e) in v.iter_mut().enumerate() {
        e["EventRecordID"] = json!(i);
    }
    v
}

fn as_i64(v: &Json) -> i64 {
    v.as_i64().or_else(|| v.as_str()?.parse().ok()).or_else(|| v.as_f64().map(|f| f as i64)).unwrap()
}

/// Correlation rules as SQL: every alert of each correlation type (eager and judged at close, aliases, no
/// group-by, numbers as text and hex) on chdb, DuckDB and Spark equals `sigil hunt`'s.
#[test]
fn correlations_as_sql() {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = CORR_BASE.to_string();
    for (i, (body, title)) in CORRELATIONS.iter().enumerate() {
        yaml.push_str(&format!(
            "---\ntitle: '{title}'\nid: 00000000-0000-4000-8000-d{i:011}\ncorrelation:\n  {body}\nlevel: high\n"
        ));
    }
    let set = sigil_check::load_texts(&[("corr.yml", &yaml)]);
    for f in &set.files {
        assert!(!f.parsed.has_errors(), "{:?}", f.parsed.diagnostics);
    }
    let events = dir.path().join("events.jsonl");
    let lines: Vec<String> = corr_events().iter().map(Json::to_string).collect();
    std::fs::write(&events, lines.join("\n") + "\n").unwrap();
    let knowledge = sigil_knowledge::Knowledge::builtin().unwrap();
    let (engine, report) = Engine::build(&set, knowledge, &EngineOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let sink = AlertSink(Mutex::new(Alerts::new()));
    sigil_engine::hunt(&engine, std::slice::from_ref(&events), &sigil_engine::HuntOptions::default(), &sink).unwrap();
    let expected = sink.0.into_inner().unwrap();
    // Every correlation fires at least once, so each form is exercised with a positive case.
    for (i, (_, title)) in CORRELATIONS.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-d{i:011}");
        assert!(expected.iter().any(|a| a.0 == id), "correlation '{title}' raises no alert: {expected:?}");
    }
    let guard = driver();
    let mut guard = guard.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(d) = guard.as_mut() else { return };
    let parquet = dir.path().join("events.parquet");
    sigil_convert::export::export(std::slice::from_ref(&events), &parquet, &ReadOptions::default()).unwrap();
    let mut failures = Vec::new();
    for &target in &d.available.clone() {
        d.request(&json!({"op": "load", "engine": target.name(), "path": parquet.display().to_string()}));
        let converted = sigil_convert::convert(&set, knowledge, target, &ConvertOptions::default());
        let mut queries = Vec::new();
        for c in converted.iter().filter(|c| c.rule_id.as_deref().is_some_and(|id| id.contains("-d0"))) {
            match &c.query {
                Some(q) => queries.push((c.rule_id.clone().unwrap(), q.clone())),
                None => failures.push(format!("{}: {} not converted: {:?}", target.name(), c.title, c.unsupported)),
            }
        }
        assert_eq!(queries.len(), CORRELATIONS.len());
        let resp = d.request(&json!({"op": "run", "engine": target.name(), "queries": queries}));
        for (k, e) in resp["errors"].as_object().unwrap() {
            failures.push(format!("{} {k}: {e}", target.name()));
        }
        let mut got = Alerts::new();
        for (k, rows) in resp["rows"].as_object().unwrap() {
            for r in rows.as_array().unwrap() {
                let r = r.as_array().unwrap();
                let n = r.len() - 4;
                let group = r[..n].iter().map(|g| g.as_str().unwrap().to_string()).collect();
                let value = r[n].as_f64().or_else(|| r[n].as_str()?.parse().ok()).unwrap();
                got.insert((k.clone(), group, as_i64(&r[n + 1]), as_i64(&r[n + 2]), format!("{value:.3}")));
            }
        }
        if got != expected {
            failures.push(format!(
                "{}: missing {:?}\n  extra {:?}",
                target.name(),
                expected.difference(&got).collect::<Vec<_>>(),
                got.difference(&expected).collect::<Vec<_>>()
            ));
        }
        println!("correlations, {}: {} alerts compared", target.name(), expected.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
