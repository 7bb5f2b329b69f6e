//! Correlation rules through the whole hunt pipeline: the eight types at their edges, chains, extended temporal
//! conditions, aliases, generate, the alert's `correlation` detail, bounded state, filters, and the
//! specification's own examples.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sigil_engine::HuntSink;
use sigil_engine::{CorrelationDetail, Detection, Engine, EngineOptions, HuntOptions, HuntStats};
use sigil_events::{Batch, Event, Value};

/// What one alert or detection looked like at the sink.
#[derive(Debug, Clone)]
struct Seen {
    title: String,
    keys: String,
    detail: Option<CorrelationDetail>,
    /// Events the hunt had counted when the alert reached the sink (streaming).
    events_so_far: u64,
}

#[derive(Default)]
struct Collect {
    seen: Mutex<Vec<Seen>>,
    events: Mutex<u64>,
}

impl HuntSink for Collect {
    fn detections(&self, d: &[Detection<'_>]) {
        let so_far = *self.events.lock().unwrap();
        let mut v = self.seen.lock().unwrap();
        for x in d {
            let keys: Vec<String> = x.key_fields().iter().map(|(k, v)| format!("{k}={v}")).collect();
            v.push(Seen {
                title: x.rule.info.title.clone(),
                keys: keys.join(" "),
                detail: x.correlation.cloned(),
                events_so_far: so_far,
            });
        }
    }
    fn read_error(&self, e: &sigil_events::ReadError) {
        panic!("{e}");
    }
    fn progress(&self, events: u64, _: u64) {
        *self.events.lock().unwrap() = events;
    }
}

fn engine(yaml: &str) -> Engine {
    let set = sigil_check::load_texts(&[("t.yml", yaml)]);
    let errors: Vec<_> = set.diagnostics().into_iter().filter(|d| format!("{:?}", d.severity) == "Error").collect();
    assert!(errors.is_empty(), "{errors:?}");
    let (engine, report) =
        Engine::build(&set, sigil_knowledge::Knowledge::builtin().unwrap(), &EngineOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    engine
}

fn run_batches(engine: &Engine, batches: Vec<Batch>, opts: &HuntOptions) -> (Vec<Seen>, HuntStats) {
    let sink = Collect::default();
    let stats = sigil_engine::hunt_batches(engine, batches, opts, &sink).unwrap();
    (sink.seen.into_inner().unwrap(), stats)
}

fn run(yaml: &str, events: Vec<Event>) -> Vec<Seen> {
    let batch = Batch { source: Path::new("mem").into(), seq: 0, events, errors: vec![] };
    run_batches(&engine(yaml), vec![batch], &HuntOptions::default()).0
}

/// `title [keys]` of every correlation alert (detections of plain rules left out).
fn alerts(yaml: &str, events: Vec<Event>) -> Vec<String> {
    run(yaml, events).into_iter().filter(|s| s.detail.is_some()).map(|s| format!("{} [{}]", s.title, s.keys)).collect()
}

fn at(secs: i64, fields: &[(&str, Value)]) -> Event {
    Event::from_fields(fields.iter().map(|(k, v)| (*k, v.clone())))
        .with_timestamp(Some(jiff::Timestamp::from_second(1_700_000_000 + secs).unwrap()))
}

fn s(v: &str) -> Value {
    Value::from(v)
}

const FAIL: &str =
    "title: Fail\nname: fail\nlogsource: {product: windows}\ndetection: {sel: {EventID: 4625}, condition: sel}\n";

fn fail(t: i64, user: &str) -> Event {
    at(t, &[("EventID", Value::Int(4625)), ("User", s(user))])
}

fn corr(kind: &str, rest: &str) -> String {
    format!(
        "{FAIL}---\ntitle: C\ncorrelation:\n  type: {kind}\n  rules: [fail]\n  group-by: [User]\n{rest}level: high\n"
    )
}

#[test]
fn event_count_fires_exactly_at_the_bound_and_the_window_edge() {
    let yaml = corr("event_count", "  timespan: 10s\n  condition: {gte: 3}\n");
    // Third event exactly 10 s after the first: inside (the window is inclusive).
    assert_eq!(alerts(&yaml, vec![fail(0, "a"), fail(5, "a"), fail(10, "a")]), ["C [User=a events=3]"]);
    // One second later: outside.
    assert!(alerts(&yaml, vec![fail(0, "a"), fail(5, "a"), fail(11, "a")]).is_empty());
    // Two events only: below the bound.
    assert!(alerts(&yaml, vec![fail(0, "a"), fail(1, "a")]).is_empty());
    // Not across groups.
    assert!(alerts(&yaml, vec![fail(0, "a"), fail(1, "b"), fail(2, "a"), fail(3, "b")]).is_empty());
    // gt 3 needs four.
    let gt = corr("event_count", "  timespan: 10s\n  condition: {gt: 3}\n");
    assert!(alerts(&gt, vec![fail(0, "a"), fail(1, "a"), fail(2, "a")]).is_empty());
    assert_eq!(alerts(&gt, (0..4).map(|t| fail(t, "a")).collect()).len(), 1);
}

#[test]
fn value_count_counts_distinct_values_per_group() {
    let yaml = format!(
        "{FAIL}---\ntitle: Spray\ncorrelation:\n  type: value_count\n  rules: [fail]\n  group-by: [Ip]\n  \
         timespan: 1m\n  condition: {{gte: 3, field: User}}\n  generate: true\nlevel: high\n"
    );
    let f = |t: i64, user: &str, ip: &str| at(t, &[("EventID", Value::Int(4625)), ("User", s(user)), ("Ip", s(ip))]);
    let seen = run(&yaml, vec![f(0, "a", "x"), f(1, "a", "x"), f(2, "b", "x"), f(3, "c", "y"), f(60, "c", "x")]);
    // generate: true keeps the referenced rule's own detections.
    assert_eq!(seen.iter().filter(|s| s.title == "Fail").count(), 5);
    let a: Vec<_> = seen.iter().filter(|s| s.detail.is_some()).map(|s| s.keys.clone()).collect();
    assert_eq!(a, ["Ip=x distinct values=3"]);
    // The third distinct value 61 s after the first is outside the window.
    assert!(alerts(&yaml, vec![f(0, "a", "x"), f(1, "b", "x"), f(61, "c", "x")]).is_empty());
}

#[test]
fn temporal_and_ordered_need_every_rule_in_the_window() {
    let rules = "title: A\nname: a\nlogsource: {product: windows}\ndetection: {sel: {K: a}, condition: sel}\n---\n\
        title: B\nname: b\nlogsource: {product: windows}\ndetection: {sel: {K: b}, condition: sel}\n";
    let yaml = |kind: &str| {
        format!(
            "{rules}---\ntitle: Seq\ncorrelation:\n  type: {kind}\n  rules: [a, b]\n  group-by: [H]\n  timespan: 5s\n"
        )
    };
    let e = |t: i64, k: &str, h: &str| at(t, &[("K", s(k)), ("H", s(h))]);
    assert_eq!(alerts(&yaml("temporal"), vec![e(0, "b", "1"), e(5, "a", "1")]), ["Seq [H=1 rules=2]"]);
    assert!(alerts(&yaml("temporal_ordered"), vec![e(0, "b", "1"), e(2, "a", "1")]).is_empty());
    assert_eq!(alerts(&yaml("temporal_ordered"), vec![e(0, "a", "1"), e(5, "b", "1")]).len(), 1);
    assert!(alerts(&yaml("temporal"), vec![e(0, "a", "1"), e(6, "b", "1")]).is_empty());
    assert!(alerts(&yaml("temporal"), vec![e(0, "a", "1"), e(1, "b", "2")]).is_empty());
    // Referenced rules without generate raise nothing of their own.
    assert!(run(&yaml("temporal"), vec![e(0, "a", "1")]).is_empty());
}

fn bytes(t: i64, user: &str, v: Value) -> Event {
    at(t, &[("EventID", Value::Int(4625)), ("User", s(user)), ("Bytes", v)])
}

#[test]
fn value_sum_reads_sigma_numbers() {
    let yaml = corr("value_sum", "  timespan: 1m\n  condition: {gt: 100, field: Bytes}\n");
    // 40 + "0x14" (20) + 40.5 = 100.5 > 100; the non-number is ignored.
    let events = vec![
        bytes(0, "a", Value::Int(40)),
        bytes(1, "a", s("0x14")),
        bytes(2, "a", s("many")),
        bytes(3, "a", Value::Float(40.5)),
    ];
    assert_eq!(alerts(&yaml, events), ["C [User=a sum=100.5]"]);
    // Exactly 100 is not greater than 100.
    assert!(alerts(&yaml, vec![bytes(0, "a", s("60")), bytes(1, "a", Value::Int(40))]).is_empty());
    // Outside the window.
    assert!(alerts(&yaml, vec![bytes(0, "a", Value::Int(60)), bytes(61, "a", Value::Int(60))]).is_empty());
    // Not across groups.
    assert!(alerts(&yaml, vec![bytes(0, "a", Value::Int(60)), bytes(1, "b", Value::Int(60))]).is_empty());
}

#[test]
fn value_avg_is_judged_when_the_window_closes() {
    let yaml = corr("value_avg", "  timespan: 1m\n  condition: {gte: 500, field: Bytes}\n");
    // 1000 alone would pass, but the window's average is (1000 + 0) / 2 = 500: exactly the bound.
    let seen = alerts(&yaml, vec![bytes(0, "a", Value::Int(1000)), bytes(60, "a", Value::Int(0))]);
    assert_eq!(seen, ["C [User=a avg=500]"]);
    let below = alerts(&yaml, vec![bytes(0, "a", Value::Int(1000)), bytes(30, "a", Value::Int(-2))]);
    assert!(below.is_empty(), "{below:?}");
    // The second window (after the first closes without firing) is judged on its own.
    let later = alerts(&yaml, vec![bytes(0, "a", Value::Int(10)), bytes(70, "a", Value::Int(900))]);
    assert_eq!(later, ["C [User=a avg=900]"]);
}

#[test]
fn value_percentile_and_median() {
    let p90 = corr("value_percentile", "  timespan: 1h\n  condition: {gte: 46, field: Bytes, percentile: 90}\n");
    let five = |user: &str| (0..5).map(|i| bytes(i, user, Value::Int(10 * (i + 1)))).collect::<Vec<_>>();
    // 10..50: the 90th percentile by linear interpolation is 46.
    assert_eq!(alerts(&p90, five("a")), ["C [User=a percentile=46]"]);
    let p90_higher = p90.replace("gte: 46", "gt: 46");
    assert!(alerts(&p90_higher, five("a")).is_empty());
    let median = corr("value_median", "  timespan: 1h\n  condition: {eq: 30, field: Bytes}\n");
    assert_eq!(alerts(&median, five("a")), ["C [User=a median=30]"]);
    let median = corr("value_median", "  timespan: 1h\n  condition: {lt: 30, field: Bytes}\n");
    assert!(alerts(&median, five("a")).is_empty());
}

#[test]
fn upper_bounds_are_judged_at_close() {
    // Fewer than 3 failures in a minute: bob (2) fires, alice (4) does not, even though she had 1 and 2 on the way.
    let yaml = corr("event_count", "  timespan: 1m\n  condition: {lt: 3}\n");
    let events =
        vec![fail(0, "alice"), fail(1, "bob"), fail(2, "alice"), fail(3, "bob"), fail(4, "alice"), fail(5, "alice")];
    assert_eq!(alerts(&yaml, events), ["C [User=bob events=2]"]);
    // A range: gt 1 and lte 2.
    let range = corr("event_count", "  timespan: 1m\n  condition: {gt: 1, lte: 2}\n");
    let events = vec![fail(0, "a"), fail(1, "a"), fail(0, "b")];
    let seen = run(&range, events);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].detail.as_ref().unwrap().condition, "gt 1, lte 2");
}

#[test]
fn chains_fire_only_when_the_inner_correlation_does() {
    // The specification's example: multiple failed logins followed by a successful login (user-level chain).
    let yaml = "title: Failed then success\nid: b180ead8-d58f-40b2-ae54-c8940995b9b6\ncorrelation:\n  \
        type: temporal_ordered\n  rules: [multiple_failed_login, successful_login]\n  group-by: [User]\n  \
        timespan: 10m\nlevel: high\n---\n\
        title: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\nname: multiple_failed_login\n\
        correlation:\n  type: event_count\n  rules: [failed_login]\n  group-by: [User]\n  timespan: 10m\n  \
        condition: {gte: 10}\n---\n\
        title: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\n\
        logsource: {product: windows, service: security}\ndetection: {selection: {EventID: [529, 4625]}, condition: selection}\n---\n\
        title: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\nname: successful_login\n\
        logsource: {product: windows, service: security}\ndetection: {selection: {EventID: [528, 4624]}, condition: selection}\n";
    let ev = |t: i64, id: i64, user: &str| {
        at(t, &[("Channel", s("Security")), ("EventID", Value::Int(id)), ("User", s(user))])
    };
    let mut ten: Vec<Event> = (0..10).map(|i| ev(i, 4625, "eve")).collect();
    ten.push(ev(30, 4624, "eve"));
    let seen = run(yaml, ten.clone());
    // Only the outer correlation speaks: the inner one and the detection rules are referenced without generate.
    let titles: Vec<_> = seen.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Failed then success"]);
    let d = seen[0].detail.as_ref().unwrap();
    assert_eq!(d.rules, ["a8418a5a-5fc4-46b5-b23b-6c73beb19d41", "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"]);
    assert_eq!(d.group, [("User".to_string(), "eve".to_string())]);
    // Nine failures: the inner correlation does not fire, so neither does the chain.
    let nine: Vec<Event> = ten.iter().skip(1).cloned().collect();
    assert!(run(yaml, nine).is_empty());
    // Success before the failures: wrong order.
    let mut wrong = vec![ev(0, 4624, "eve")];
    wrong.extend((1..11).map(|i| ev(i, 4625, "eve")));
    assert!(run(yaml, wrong).is_empty());
    // Another user's success does not complete eve's chain.
    let mut other = ten.clone();
    other.pop();
    other.push(ev(30, 4624, "mallory"));
    assert!(run(yaml, other).is_empty());
}

#[test]
fn generate_true_on_the_inner_correlation_keeps_its_alerts() {
    let yaml = format!(
        "{FAIL}---\ntitle: Inner\nname: inner\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [User]\n  \
         timespan: 1m\n  condition: {{gte: 2}}\n---\ntitle: Outer\ncorrelation:\n  type: event_count\n  rules: [inner]\n  \
         group-by: [User]\n  timespan: 10m\n  condition: {{gte: 2}}\n  generate: true\n"
    );
    let seen = alerts(&yaml, (0..4).map(|t| fail(t, "a")).collect());
    assert_eq!(seen, ["Inner [User=a events=2]", "Inner [User=a events=2]", "Outer [User=a events=2]"]);
}

#[test]
fn aliases_map_different_fields_onto_one_group() {
    // The specification's alias example.
    let yaml = "title: Internal error\nname: internal_error\nlogsource: {product: windows}\n\
        detection: {selection: {http.response.status_code: 500}, condition: selection}\n---\n\
        title: New connection\nname: new_network_connection\nlogsource: {product: windows}\n\
        detection: {selection: {event.category: network, event.type: connection, event.outcome: success}, condition: selection}\n---\n\
        title: Error then connection\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n  \
        group-by: [internal_ip, remote_ip]\n  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n      \
        new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n      new_network_connection: destination.ip\n";
    let error = |t: i64, src: &str, dst: &str| {
        at(t, &[("http.response.status_code", Value::Int(500)), ("source.ip", s(src)), ("destination.ip", s(dst))])
    };
    let conn = |t: i64, src: &str, dst: &str| {
        at(
            t,
            &[
                ("event.category", s("network")),
                ("event.type", s("connection")),
                ("event.outcome", s("success")),
                ("source.ip", s(src)),
                ("destination.ip", s(dst)),
            ],
        )
    };
    // The server 10.0.0.1 errs for 8.8.8.8, then connects out to 8.8.8.8: the same pair once aliased.
    assert_eq!(
        alerts(yaml, vec![error(0, "8.8.8.8", "10.0.0.1"), conn(3, "10.0.0.1", "8.8.8.8")]),
        ["Error then connection [internal_ip=10.0.0.1 remote_ip=8.8.8.8 rules=2]"]
    );
    // Same fields without the swap: different groups.
    assert!(alerts(yaml, vec![error(0, "8.8.8.8", "10.0.0.1"), conn(3, "8.8.8.8", "10.0.0.1")]).is_empty());
}

#[test]
fn extended_temporal_conditions() {
    let rules = "title: A\nname: a\nlogsource: {product: windows}\ndetection: {sel: {K: a}, condition: sel}\n---\n\
        title: B\nname: b\nlogsource: {product: windows}\ndetection: {sel: {K: b}, condition: sel}\n---\n\
        title: X\nname: x\nlogsource: {product: windows}\ndetection: {sel: {K: x}, condition: sel}\n";
    let yaml = |cond: &str| {
        format!(
            "{rules}---\ntitle: T\ncorrelation:\n  type: temporal\n  rules: [a, b, x]\n  group-by: [H]\n  timespan: 5s\n  \
             condition: '{cond}'\n"
        )
    };
    let e = |t: i64, k: &str| at(t, &[("K", s(k)), ("H", s("h"))]);
    assert_eq!(alerts(&yaml("a and b"), vec![e(0, "a"), e(1, "x"), e(2, "b")]).len(), 1);
    assert_eq!(alerts(&yaml("a or b"), vec![e(0, "x"), e(1, "b")]).len(), 1);
    assert!(alerts(&yaml("a and b"), vec![e(0, "a"), e(1, "x")]).is_empty());
    // `not` is judged when the window closes: a later x within the window prevents the alert.
    assert_eq!(alerts(&yaml("a and b and not x"), vec![e(0, "a"), e(1, "b")]).len(), 1);
    assert!(alerts(&yaml("a and b and not x"), vec![e(0, "a"), e(1, "b"), e(4, "x")]).is_empty());
    let seen = run(&yaml("1 of a* and b"), vec![e(0, "a"), e(1, "b")]);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].detail.as_ref().unwrap().condition, "1 of a* and b");
}

#[test]
fn alert_detail_names_the_window_and_caps_the_events() {
    let yaml = corr("event_count", "  timespan: 10s\n  condition: {gte: 5}\n");
    let events: Vec<Event> = (0..5).map(|t| fail(t, "a").with_record_id(Some(100 + t as u64))).collect();
    let batch = Batch { source: Path::new("sec.evtx").into(), seq: 0, events, errors: vec![] };
    let opts = HuntOptions { max_correlation_events: 2, ..HuntOptions::default() };
    let (seen, _) = run_batches(&engine(&yaml), vec![batch], &opts);
    assert_eq!(seen.len(), 1);
    let d = seen[0].detail.as_ref().unwrap();
    assert_eq!(d.kind, "event_count");
    assert_eq!(d.value, 5.0);
    assert_eq!(d.condition, "gte 5");
    assert_eq!(d.timespan, "10s");
    assert_eq!(d.first, jiff::Timestamp::from_second(1_700_000_000).unwrap());
    assert_eq!(d.last, jiff::Timestamp::from_second(1_700_000_004).unwrap());
    assert_eq!(d.rules, ["fail"]);
    assert_eq!(d.events.len(), 2);
    assert_eq!(d.events_left_out, 3);
    assert_eq!(d.events[1].record_id, Some(101));
    assert_eq!(d.events[0].source.as_ref(), Path::new("sec.evtx"));
    assert_eq!(d.events[0].rule_id, "fail");
}

/// Many users, each active for a short while, in time order: the state held must not grow with the input.
fn logons(users: u64, per_user: u64, batch_events: usize) -> Vec<Batch> {
    let mut events = Vec::new();
    for u in 0..users {
        for i in 0..per_user {
            events.push(fail((u * per_user + i) as i64, &format!("user{u}")));
        }
    }
    events
        .chunks(batch_events)
        .enumerate()
        .map(|(seq, c)| Batch {
            source: Path::new("one.jsonl").into(),
            seq: seq as u64,
            events: c.to_vec(),
            errors: vec![],
        })
        .collect()
}

#[test]
fn state_stays_bounded_and_alerts_stream_when_time_ordered() {
    let yaml = corr("event_count", "  timespan: 10s\n  condition: {gte: 3}\n");
    let e = engine(&yaml);
    let opts = HuntOptions { jobs: 2, ..HuntOptions::default() };
    let (seen, stats) = run_batches(&e, logons(4000, 2, 500), &opts);
    assert!(seen.is_empty());
    assert!(stats.correlation_streamed);
    // 8000 detections, but only the users of the last ~10 s (plus a sweep interval) are ever held.
    assert!(stats.correlation_peak_state < 4200 + 100, "peak {}", stats.correlation_peak_state);
    let (_, small) = run_batches(&e, logons(400, 2, 500), &opts);
    let (_, large) = run_batches(&e, logons(8000, 2, 500), &opts);
    assert!(large.correlation_peak_state <= small.correlation_peak_state.max(4096) + 100);
    // Alerts leave while the input is still being read.
    let (seen, _) = run_batches(&e, logons(40, 3, 10), &HuntOptions { jobs: 1, ..HuntOptions::default() });
    assert_eq!(seen.len(), 40);
    assert!(seen.first().unwrap().events_so_far < 120, "{:?}", seen.first());
}

#[test]
fn the_state_cap_drops_and_counts() {
    let yaml = corr("event_count", "  timespan: 1h\n  condition: {gte: 3}\n");
    let opts = HuntOptions { max_correlation_state: 50, ..HuntOptions::default() };
    let (_, stats) = run_batches(&engine(&yaml), logons(100, 1, 1000), &opts);
    assert_eq!(stats.correlation_dropped, 50);
    assert!(stats.correlation_peak_state <= 50);
}

#[test]
fn several_inputs_are_correlated_in_time_order_after_the_last_event() {
    let yaml = corr("event_count", "  timespan: 10s\n  condition: {gte: 3}\n");
    let b = |name: &str, ts: &[i64]| Batch {
        source: Path::new(name).into(),
        seq: 0,
        events: ts.iter().map(|t| fail(*t, "a")).collect(),
        errors: vec![],
    };
    let (seen, stats) = run_batches(&engine(&yaml), vec![b("x", &[0, 30]), b("y", &[5, 8])], &HuntOptions::default());
    assert!(!stats.correlation_streamed);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].detail.as_ref().unwrap().events.len(), 3);
}

#[test]
fn bad_correlations_are_skipped_and_the_rest_runs() {
    let yaml = format!(
        "{FAIL}---\ntitle: Unknown\ncorrelation:\n  type: event_count\n  rules: [nope]\n  group-by: [User]\n  \
         timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: Loop A\nname: la\ncorrelation:\n  type: event_count\n  \
         rules: [lb]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: Loop B\nname: lb\ncorrelation:\n  \
         type: event_count\n  rules: [la]\n  timespan: 1m\n  condition: {{gte: 1}}\n---\ntitle: Good\ncorrelation:\n  \
         type: event_count\n  rules: [fail]\n  group-by: [User]\n  timespan: 1m\n  condition: {{gte: 2}}\n"
    );
    let set = sigil_check::load_texts(&[("t.yml", yaml.as_str())]);
    let (engine, report) =
        Engine::build(&set, sigil_knowledge::Knowledge::builtin().unwrap(), &EngineOptions::default());
    let skipped: Vec<String> = report.skipped.iter().map(|s| format!("{}: {:?}", s.title, s.reason)).collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(skipped.iter().any(|s| s.starts_with("Unknown") && s.contains("UnknownRule")), "{skipped:?}");
    assert!(skipped.iter().any(|s| s.starts_with("Loop A") && s.contains("Cycle")), "{skipped:?}");
    let batch =
        Batch { source: Path::new("m").into(), seq: 0, events: vec![fail(0, "a"), fail(1, "a")], errors: vec![] };
    let (seen, _) = run_batches(&engine, vec![batch], &HuntOptions::default());
    let titles: Vec<_> = seen.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Good"]);
}

#[test]
fn filters_count_what_they_remove() {
    let yaml = format!(
        "{FAIL}---\ntitle: Not admins\nlogsource: {{product: windows}}\nfilter:\n  rules: [fail]\n  \
         adm: {{User|startswith: adm_}}\n  condition: not adm\n---\ntitle: Not svc\nlogsource: {{product: windows}}\n\
         filter:\n  rules: any\n  svc: {{User: svc}}\n  condition: not svc\n"
    );
    let events = vec![fail(0, "adm_x"), fail(1, "adm_y"), fail(2, "svc"), fail(3, "bob")];
    let batch = Batch { source: Path::new("m").into(), seq: 0, events, errors: vec![] };
    let e = engine(&yaml);
    let (seen, stats) = run_batches(&e, vec![batch], &HuntOptions::default());
    assert_eq!(seen.len(), 1);
    let names: Vec<_> = e.filters().iter().map(|f| (f.title.as_str(), f.rules)).collect();
    assert_eq!(names, [("Not admins", 1), ("Not svc", 1)]);
    assert_eq!(stats.filter_removed, [2, 1]);
}

fn spec_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma-specification/tests/schema");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("SIGIL_REQUIRE_CORPUS").is_none(), "{} is missing", dir.display());
    eprintln!("skipped: {} is missing", dir.display());
    None
}

#[test]
fn the_specification_examples_parse_and_evaluate() {
    let Some(dir) = spec_dir() else { return };
    // Rules the examples reference, written for them (names and ids as the examples use).
    let referenced = "title: Failed logon\nid: 5638f7c0-ac70-491d-8465-2a65075e0d86\nlogsource: {product: windows}\n\
        detection: {sel: {EventID: 4625}, condition: sel}\n---\n\
        title: Recon A\nname: recon_cmd_a\nlogsource: {product: windows}\ndetection: {sel: {Cmd: whoami}, condition: sel}\n---\n\
        title: Recon B\nname: recon_cmd_b\nlogsource: {product: windows}\ndetection: {sel: {Cmd: hostname}, condition: sel}\n---\n\
        title: Recon C\nname: recon_cmd_c\nlogsource: {product: windows}\ndetection: {sel: {Cmd: ipconfig}, condition: sel}\n---\n\
        title: Web\nname: website_access\nlogsource: {product: windows}\ndetection: {sel: {Kind: web}, condition: sel}\n---\n\
        title: Traffic\nname: rule_a_id\nlogsource: {product: windows}\ndetection: {sel: {Kind: traffic}, condition: sel}\n---\n\
        title: Process\nname: process_creation\nlogsource: {product: windows}\ndetection: {sel: {Kind: proc}, condition: sel}\n";
    let mut texts = vec![("referenced.yml".to_string(), referenced.to_string())];
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir.join("correlation")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("ecs") {
            continue; // ECS taxonomy: the same rules with other field names
        }
        texts.push((name.clone(), std::fs::read_to_string(&path).unwrap()));
        names.push(name);
    }
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    // The examples share an id; keep one per load.
    let mut fired = Vec::new();
    for (name, text) in texts.iter().skip(1) {
        let set = sigil_check::load_texts(&[("referenced.yml", referenced), (name.as_str(), text.as_str())]);
        let errors: Vec<_> = set.diagnostics().into_iter().filter(|d| format!("{:?}", d.severity) == "Error").collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let (engine, report) =
            Engine::build(&set, sigil_knowledge::Knowledge::builtin().unwrap(), &EngineOptions::default());
        assert!(report.skipped.is_empty(), "{name}: {:?}", report.skipped);
        let mut events = Vec::new();
        for i in 0..100 {
            events.push(at(
                i,
                &[
                    ("EventID", Value::Int(4625)),
                    ("ComputerName", s("dc1")),
                    ("WorkstationName", s("ws")),
                    ("User", s(&format!("u{i}"))),
                ],
            ));
        }
        for (i, cmd) in ["whoami", "hostname", "ipconfig"].iter().enumerate() {
            events.push(at(200 + i as i64, &[("Cmd", s(cmd)), ("ComputerName", s("ws1")), ("User", s("bob"))]));
        }
        events.push(at(
            300,
            &[
                ("Kind", s("web")),
                ("SourceIP", s("10.1.1.1")),
                ("User", s("bob")),
                ("bytes_sent", Value::Int(2_000_000)),
            ],
        ));
        events.push(at(
            300,
            &[("Kind", s("traffic")), ("SourceIP", s("10.1.1.1")), ("User", s("bob")), ("BytesOut", s("900"))],
        ));
        for (i, v) in [0.5, 0.8, 7.0].iter().enumerate() {
            events.push(at(
                400 + i as i64,
                &[("Kind", s("proc")), ("ComputerName", s("ws1")), ("Image", Value::Float(*v))],
            ));
        }
        events.sort_by_key(|e| e.timestamp());
        let batch = Batch { source: Path::new("m").into(), seq: 0, events, errors: vec![] };
        let (seen, _) = run_batches(&engine, vec![batch], &HuntOptions::default());
        let alerts: Vec<_> = seen.iter().filter(|s| s.detail.is_some()).collect();
        assert_eq!(alerts.len(), 1, "{name}: {seen:?}");
        fired.push(format!("{name}: {}", alerts[0].keys));
    }
    fired.sort();
    assert_eq!(
        fired,
        [
            "event_count.yml: ComputerName=dc1 events=100",
            "temporal.yml: ComputerName=ws1 User=bob rules=3",
            "temporal_ordered.yml: ComputerName=ws1 User=bob rules=3",
            "value_avg.yml: SourceIP=10.1.1.1 User=bob avg=900",
            "value_count.yml: ComputerName=dc1 WorkstationName=ws distinct values=100",
            "value_percentile.yml: ComputerName=ws1 percentile=0.8",
            "value_sum.yml: SourceIP=10.1.1.1 User=bob sum=2000000",
        ]
    );
    // The filter examples parse and check (they name rules that are not loaded: a warning, not an error).
    for f in ["filter_1.yml", "filter_ecs.yml"] {
        let text = std::fs::read_to_string(dir.join("filter").join(f)).unwrap();
        let set = sigil_check::load_texts(&[(f, text.as_str())]);
        let diags = set.diagnostics();
        assert!(diags.iter().all(|d| format!("{:?}", d.severity) != "Error"), "{f}: {diags:?}");
        assert!(diags.iter().any(|d| d.code.0 == "SG406"), "{f}: {diags:?}");
    }
}
