//! Correlation rules as SQL: the windows `sigil hunt` evaluates (`sigil_engine::correlate`), reproduced exactly.
//!
//! The engine's windows are not a plain `GROUP BY` over fixed buckets nor a sliding `COUNT(*) OVER (RANGE ...)`:
//!
//! - **Eager** conditions (`event_count`, `value_count`, `temporal`, `temporal_ordered`, `value_sum` compared with
//!   `gt`/`gte` only) are tested as each record arrives, over the group's records of the last `timespan`
//!   (inclusive); when the condition holds one alert is raised and the window starts afresh.
//! - Every other condition (`lt`, `lte`, `eq`, `neq`, ranges, `value_avg`) is **judged when the window closes**:
//!   a window opens at a group's first record and closes `timespan` later; the next one opens at the first record
//!   after that.
//!
//! Both are a left fold over the group's records in time order, which each target has as a higher-order function
//! with a structured state: ClickHouse `arrayFold`, DuckDB `list_reduce` with an initial value, Spark
//! `aggregate`. So the query collects each group's records (`groupArray` / `list` / `collect_list`) sorted by
//! time, folds them into the list of alerts, and returns one row per alert:
//!
//! | column | |
//! |---|---|
//! | one per `group-by` field | the group's value (`""` when an event lacks the field, as in the engine) |
//! | `sigil_value` | the count, distinct count, sum or average that met the condition |
//! | `sigil_first_us`, `sigil_last_us` | first and last record of the window, µs since the epoch |
//! | `sigil_last_index` | `event_index` of the window's last event (the event `sigil hunt` shows the alert on) |
//!
//! Records are the referenced rules' matches that have a timestamp (the engine skips the others), sorted by
//! time, then `event_index`, then the rule's position in `rules:`. Not expressed (listed as unsupported, with the
//! reason): chains (a correlation referencing a correlation), extended temporal expressions, `value_percentile`
//! and `value_median`.

use sigil_rule::{CmpOp, CorrelationRule, CorrelationType};

use crate::sql::{Dialect, Lookup, R, Unsupported};

/// A referenced rule ready for the query: its `WHERE` predicate (routes included).
pub(crate) struct Referenced {
    pub predicate: String,
}

fn unsupported<T>(why: impl Into<String>) -> R<T> {
    Err(Unsupported(why.into()))
}

/// Whether the engine tests the condition as records arrive (see the module docs).
fn eager(kind: CorrelationType, comparisons: &[(CmpOp, f64)]) -> bool {
    matches!(
        kind,
        CorrelationType::EventCount
            | CorrelationType::ValueCount
            | CorrelationType::Temporal
            | CorrelationType::TemporalOrdered
            | CorrelationType::ValueSum
    ) && comparisons.iter().all(|(op, _)| matches!(op, CmpOp::Gt | CmpOp::Gte))
}

/// The field an alias stands for in referenced rule `known` (by any of its names), else the field itself.
fn field_for(c: &CorrelationRule, field: &str, known: &[String]) -> String {
    c.correlation
        .aliases
        .iter()
        .find(|a| a.name == field)
        .and_then(|a| a.fields.iter().find(|(rule, _)| known.contains(rule)).map(|(_, f)| f.clone()))
        .unwrap_or_else(|| field.to_string())
}

/// The query of a correlation. `refs` holds, per entry of `rules:` in order, the names the rule is known by
/// (id, name, and the reference itself) and the rule, or why it cannot be used.
pub(crate) fn correlation_query(
    d: Dialect,
    table: &str,
    c: &CorrelationRule,
    refs: &[(Vec<String>, R<Referenced>)],
) -> R<String> {
    let corr = &c.correlation;
    if matches!(corr.kind, CorrelationType::ValuePercentile | CorrelationType::ValueMedian) {
        return unsupported(format!(
            "{} correlations are not converted (a percentile over each window would need a sort per record)",
            corr.kind.as_str()
        ));
    }
    let timespan = match &corr.timespan {
        Some(t) => t,
        None => return unsupported("the correlation has no valid timespan"),
    };
    let condition = corr.condition.clone().unwrap_or_default();
    if condition.expression.is_some() {
        return unsupported("extended temporal conditions (an expression over the rules) are not converted");
    }
    let mut comparisons = condition.comparisons.clone();
    if comparisons.is_empty() {
        if corr.kind.is_temporal() {
            // pySigma: the default condition of temporal types is that every referenced rule appears.
            comparisons.push((CmpOp::Gte, corr.rules.len() as f64));
        } else {
            return unsupported("the correlation has no condition");
        }
    }
    let value_field = if corr.kind.needs_field() {
        match condition.field.as_deref() {
            Some(f) => Some(f),
            None => return unsupported(format!("{} needs condition.field", corr.kind.as_str())),
        }
    } else {
        None
    };
    let numeric = matches!(corr.kind, CorrelationType::ValueSum | CorrelationType::ValueAvg);
    let span_us = i128::from(timespan.seconds) * 1_000_000;

    // One SELECT per referenced rule: its matching events with a timestamp, as records.
    let mut parts = Vec::new();
    for (slot, (known, r)) in refs.iter().enumerate() {
        let r = match r {
            Ok(r) => r,
            Err(u) => {
                return unsupported(format!(
                    "referenced rule '{}' cannot be converted: {}",
                    known.last().map_or("", String::as_str),
                    u.0
                ));
            }
        };
        let group: Vec<String> = corr
            .group_by
            .iter()
            .map(|g| format!("COALESCE({}, '')", d.field_by(&field_for(c, g, known), Lookup::IgnoreCase)))
            .collect();
        let value = match value_field {
            Some(f) if numeric => d.number(&d.field_by(&field_for(c, f, known), Lookup::IgnoreCase)),
            Some(f) => d.field_by(&field_for(c, f, known), Lookup::IgnoreCase),
            None => "NULL".into(),
        };
        let value = cast_value(d, &value, numeric);
        let g = array(d, &group, "String");
        parts.push(format!(
            "SELECT {} AS t, event_index AS i, {} AS s, {g} AS g, {value} AS v FROM {table} WHERE timestamp IS NOT \
             NULL AND ({})",
            micros(d, "timestamp"),
            int(d, &slot.to_string()),
            r.predicate
        ));
    }
    if parts.is_empty() {
        return unsupported("the correlation references no rule");
    }
    let records = parts.join("\nUNION ALL\n");
    let fold = Fold { d, kind: corr.kind, comparisons: &comparisons, span_us, numeric };
    let grouped = match d {
        Dialect::ClickHouse => format!(
            "SELECT g, arraySort(x -> (x.1, x.2, x.3), groupArray((t, i, s, v))) AS recs FROM (\n{records}\n) AS r \
             GROUP BY g"
        ),
        Dialect::DuckDb => format!(
            "SELECT g, list({{'t': t, 'i': i, 's': s, 'v': v}} ORDER BY t, i, s) AS recs FROM (\n{records}\n) AS r \
             GROUP BY g"
        ),
        Dialect::Spark => format!(
            "SELECT g, array_sort(collect_list(named_struct('t', t, 'i', i, 's', s, 'v', v))) AS recs FROM (\n\
             {records}\n) AS r GROUP BY g"
        ),
    };
    let folded = format!("SELECT g, {} AS st FROM (\n{grouped}\n) AS grouped", fold.fold("recs"));
    let alerts = format!("SELECT g, {} AS alerts FROM (\n{folded}\n) AS folded", fold.finish("st"));
    let mut cols: Vec<String> = corr
        .group_by
        .iter()
        .enumerate()
        .map(|(k, name)| format!("{} AS {}", element(d, "g", k + 1), quote(d, name)))
        .collect();
    let a = |f: &str, n: usize| match d {
        Dialect::ClickHouse => format!("a.{n}"),
        _ => format!("a.{f}"),
    };
    cols.push(format!("{} AS sigil_value", a("m", 3)));
    cols.push(format!("{} AS sigil_first_us", a("f", 1)));
    cols.push(format!("{} AS sigil_last_us", a("l", 2)));
    cols.push(format!("{} AS sigil_last_index", a("li", 4)));
    let cols = cols.join(", ");
    Ok(match d {
        Dialect::ClickHouse => format!("SELECT {cols} FROM (\n{alerts}\n) AS al ARRAY JOIN alerts AS a"),
        Dialect::DuckDb => {
            format!("SELECT {cols} FROM (SELECT g, unnest(alerts) AS a FROM (\n{alerts}\n) AS al) AS x")
        }
        Dialect::Spark => format!("SELECT {cols} FROM (SELECT g, explode(alerts) AS a FROM (\n{alerts}\n) AS al) AS x"),
    })
}

fn micros(d: Dialect, x: &str) -> String {
    match d {
        // Records are read only where the timestamp is not null; the fold's state types are not nullable.
        Dialect::ClickHouse => format!("toUnixTimestamp64Micro(assumeNotNull({x}))"),
        Dialect::DuckDb => format!("epoch_us({x})"),
        Dialect::Spark => format!("unix_micros({x})"),
    }
}

fn int(d: Dialect, x: &str) -> String {
    match d {
        Dialect::ClickHouse => format!("toInt64({x})"),
        _ => format!("CAST({x} AS BIGINT)"),
    }
}

fn cast_value(d: Dialect, x: &str, numeric: bool) -> String {
    match (d, numeric) {
        (Dialect::ClickHouse, true) => format!("CAST({x} AS Nullable(Float64))"),
        (Dialect::ClickHouse, false) => format!("CAST({x} AS Nullable(String))"),
        (_, true) => format!("CAST({x} AS DOUBLE)"),
        (_, false) => format!("CAST({x} AS STRING)"),
    }
}

fn array(d: Dialect, items: &[String], ty: &str) -> String {
    match (d, items.is_empty()) {
        (Dialect::ClickHouse, true) => format!("CAST([], 'Array({ty})')"),
        (Dialect::ClickHouse, false) => format!("[{}]", items.join(", ")),
        (Dialect::DuckDb, true) => "CAST([] AS VARCHAR[])".into(),
        (Dialect::DuckDb, false) => format!("[{}]", items.join(", ")),
        (Dialect::Spark, true) => "CAST(array() AS ARRAY<STRING>)".into(),
        (Dialect::Spark, false) => format!("array({})", items.join(", ")),
    }
}

/// Element `k` (from 1) of an array.
fn element(d: Dialect, x: &str, k: usize) -> String {
    match d {
        Dialect::ClickHouse | Dialect::DuckDb => format!("{x}[{k}]"),
        Dialect::Spark => format!("element_at({x}, {k})"),
    }
}

fn quote(d: Dialect, name: &str) -> String {
    match d {
        Dialect::ClickHouse | Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The fold of one group's records into its alerts.
struct Fold<'a> {
    d: Dialect,
    kind: CorrelationType,
    comparisons: &'a [(CmpOp, f64)],
    span_us: i128,
    numeric: bool,
}

impl Fold<'_> {
    /// Field `f` of a record (`t`, `i`, `s`, `v`) or of the state (`w` window, `a` alerts).
    fn get(&self, x: &str, f: &str) -> String {
        match self.d {
            Dialect::ClickHouse => {
                let n = match f {
                    "t" | "w" => 1,
                    "i" | "a" => 2,
                    "s" => 3,
                    _ => 4,
                };
                format!("{x}.{n}")
            }
            _ => format!("{x}.{f}"),
        }
    }

    fn record_type(&self) -> String {
        let v = match (self.d, self.numeric) {
            (Dialect::ClickHouse, true) => "Nullable(Float64)",
            (Dialect::ClickHouse, false) => "Nullable(String)",
            (Dialect::DuckDb, true) => "DOUBLE",
            (Dialect::DuckDb, false) => "VARCHAR",
            (Dialect::Spark, true) => "DOUBLE",
            (Dialect::Spark, false) => "STRING",
        };
        match self.d {
            Dialect::ClickHouse => format!("Tuple(Int64, Int64, Int64, {v})"),
            Dialect::DuckDb => format!("STRUCT(t BIGINT, i BIGINT, s BIGINT, v {v})"),
            Dialect::Spark => format!("STRUCT<t: BIGINT, i: BIGINT, s: BIGINT, v: {v}>"),
        }
    }

    fn empty_window(&self) -> String {
        let ty = self.record_type();
        match self.d {
            Dialect::ClickHouse => format!("CAST([], 'Array({ty})')"),
            Dialect::DuckDb => format!("CAST([] AS {ty}[])"),
            Dialect::Spark => format!("CAST(array() AS ARRAY<{ty}>)"),
        }
    }

    fn empty_alerts(&self) -> String {
        match self.d {
            Dialect::ClickHouse => "CAST([], 'Array(Tuple(Int64, Int64, Float64, Int64))')".into(),
            Dialect::DuckDb => "CAST([] AS STRUCT(f BIGINT, l BIGINT, m DOUBLE, li BIGINT)[])".into(),
            Dialect::Spark => "CAST(array() AS ARRAY<STRUCT<f: BIGINT, l: BIGINT, m: DOUBLE, li: BIGINT>>)".into(),
        }
    }

    fn state(&self, w: &str, a: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("({w}, {a})"),
            Dialect::DuckDb => format!("{{'w': {w}, 'a': {a}}}"),
            Dialect::Spark => format!("named_struct('w', {w}, 'a', {a})"),
        }
    }

    fn alert(&self, first: &str, last: &str, m: &str, li: &str) -> String {
        match self.d {
            // `ifNull`: the alert's type stays the state's (an alert is only raised when the measure is not null).
            Dialect::ClickHouse => {
                format!("(toInt64({first}), toInt64({last}), toFloat64(ifNull({m}, 0)), toInt64({li}))")
            }
            Dialect::DuckDb => format!(
                "{{'f': CAST({first} AS BIGINT), 'l': CAST({last} AS BIGINT), 'm': CAST({m} AS DOUBLE), 'li': \
                 CAST({li} AS BIGINT)}}"
            ),
            Dialect::Spark => format!(
                "named_struct('f', CAST({first} AS BIGINT), 'l', CAST({last} AS BIGINT), 'm', CAST({m} AS DOUBLE), \
                 'li', CAST({li} AS BIGINT))"
            ),
        }
    }

    fn push(&self, list: &str, item: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("arrayPushBack({list}, {item})"),
            Dialect::DuckDb => format!("list_append({list}, {item})"),
            Dialect::Spark => format!("concat({list}, array({item}))"),
        }
    }

    fn len(&self, list: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("length({list})"),
            Dialect::DuckDb => format!("len({list})"),
            Dialect::Spark => format!("size({list})"),
        }
    }

    fn filter(&self, list: &str, var: &str, pred: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("arrayFilter({var} -> {pred}, {list})"),
            Dialect::DuckDb => format!("list_filter({list}, lambda {var}: {pred})"),
            Dialect::Spark => format!("filter({list}, {var} -> {pred})"),
        }
    }

    fn map(&self, list: &str, var: &str, expr: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("arrayMap({var} -> {expr}, {list})"),
            Dialect::DuckDb => format!("list_transform({list}, lambda {var}: {expr})"),
            Dialect::Spark => format!("transform({list}, {var} -> {expr})"),
        }
    }

    fn distinct_count(&self, list: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("length(arrayDistinct({list}))"),
            Dialect::DuckDb => format!("len(list_distinct({list}))"),
            Dialect::Spark => format!("size(array_distinct({list}))"),
        }
    }

    fn first(&self, list: &str) -> String {
        match self.d {
            Dialect::ClickHouse | Dialect::DuckDb => format!("{list}[1]"),
            Dialect::Spark => format!("element_at({list}, 1)"),
        }
    }

    fn last(&self, list: &str) -> String {
        match self.d {
            Dialect::ClickHouse | Dialect::DuckDb => format!("{list}[{}]", self.len(list)),
            Dialect::Spark => format!("element_at({list}, -1)"),
        }
    }

    /// The measure over window `w` (NULL when a numeric type has no number in it).
    fn measure(&self, w: &str) -> String {
        let d = self.d;
        let values = |var: &str| self.map(w, var, &self.get(var, "v"));
        let present = |var: &str| {
            let not_null = match d {
                Dialect::ClickHouse => "isNotNull(n)".to_string(),
                _ => "n IS NOT NULL".into(),
            };
            let kept = self.filter(&values(var), "n", &not_null);
            match d {
                // ClickHouse's array aggregates refuse a nullable element type, even with the nulls filtered out.
                Dialect::ClickHouse => format!("arrayMap(n -> assumeNotNull(n), {kept})"),
                _ => kept,
            }
        };
        match self.kind {
            CorrelationType::EventCount => self.len(w),
            CorrelationType::ValueCount => self.distinct_count(&present("y")),
            CorrelationType::Temporal => self.distinct_count(&self.map(w, "y", &self.get("y", "s"))),
            CorrelationType::TemporalOrdered => {
                // How many rules appear in the listed order (the longest prefix of the list that is a
                // subsequence of the window, greedy in time order).
                let s = self.get("y", "s");
                match d {
                    Dialect::ClickHouse => {
                        format!("arrayFold((n, y) -> if({s} = n, n + 1, n), {w}, toInt64(0))")
                    }
                    Dialect::DuckDb => format!(
                        "list_reduce({w}, lambda n, y: CASE WHEN {s} = n THEN n + 1 ELSE n END, CAST(0 AS BIGINT))"
                    ),
                    Dialect::Spark => {
                        format!("aggregate({w}, CAST(0 AS BIGINT), (n, y) -> IF({s} = n, n + 1, n))")
                    }
                }
            }
            CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                let nums = present("y");
                let n = self.len(&nums);
                let sum = match d {
                    Dialect::ClickHouse => format!("arraySum({nums})"),
                    Dialect::DuckDb => format!("list_sum({nums})"),
                    Dialect::Spark => format!("aggregate({nums}, CAST(0 AS DOUBLE), (acc, x) -> acc + x)"),
                };
                let m = if self.kind == CorrelationType::ValueAvg { format!("{sum} / {n}") } else { sum };
                format!("(CASE WHEN {n} = 0 THEN NULL ELSE {m} END)")
            }
            CorrelationType::ValuePercentile | CorrelationType::ValueMedian => "NULL".into(),
        }
    }

    /// Whether the condition holds on the window `w` (false when the measure is NULL).
    fn holds(&self, w: &str) -> String {
        let m = self.measure(w);
        let tests: Vec<String> = self
            .comparisons
            .iter()
            .map(|(op, v)| {
                let op = match op {
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                    CmpOp::Lt => "<",
                    CmpOp::Lte => "<=",
                    CmpOp::Eq => "=",
                    CmpOp::Neq => "!=",
                };
                match self.d {
                    // `toFloat64` keeps a null measure null (a CAST to DOUBLE refuses it).
                    Dialect::ClickHouse => format!("toFloat64({m}) {op} {}", float(*v)),
                    _ => format!("CAST({m} AS DOUBLE) {op} {}", float(*v)),
                }
            })
            .collect();
        format!("COALESCE({}, FALSE)", tests.join(" AND "))
    }

    fn cond(&self, c: &str, then: &str, otherwise: &str) -> String {
        match self.d {
            Dialect::ClickHouse => format!("if({c}, {then}, {otherwise})"),
            _ => format!("(CASE WHEN {c} THEN {then} ELSE {otherwise} END)"),
        }
    }

    fn fold_call(&self, list: &str, step: &str) -> String {
        let init = self.state(&self.empty_window(), &self.empty_alerts());
        match self.d {
            Dialect::ClickHouse => format!("arrayFold((acc, x) -> {step}, {list}, {init})"),
            Dialect::DuckDb => format!("list_reduce({list}, lambda acc, x: {step}, {init})"),
            Dialect::Spark => format!("aggregate({list}, {init}, (acc, x) -> {step})"),
        }
    }

    /// The fold over the sorted records `list`: the state (window, alerts).
    fn fold(&self, list: &str) -> String {
        let (w, a) = (self.get("acc", "w"), self.get("acc", "a"));
        let (xt, xi) = (self.get("x", "t"), self.get("x", "i"));
        if eager(self.kind, self.comparisons) {
            // Drop what fell out of the window ending at this record, add it, test; an alert empties the window.
            let kept = self.filter(&w, "y", &format!("{} >= {xt} - {}", self.get("y", "t"), self.span_us));
            let w1 = self.push(&kept, "x");
            let alert = self.alert(&self.get(&self.first(&w1), "t"), &xt, &self.measure(&w1), &xi);
            let step = self.cond(
                &self.holds(&w1),
                &self.state(&self.empty_window(), &self.push(&a, &alert)),
                &self.state(&w1, &a),
            );
            self.fold_call(list, &step)
        } else {
            // A record after the window's end closes it (judged), and opens the next one.
            let end = format!("{} + {}", self.get(&self.first(&w), "t"), self.span_us);
            let closes = format!("({} > 0 AND {xt} > {end})", self.len(&w));
            let one = self.push(&self.empty_window(), "x");
            let step = self.cond(&closes, &self.state(&one, &self.judge(&w, &a)), &self.state(&self.push(&w, "x"), &a));
            self.fold_call(list, &step)
        }
    }

    /// `a` with the alert of window `w` appended when its condition holds.
    fn judge(&self, w: &str, a: &str) -> String {
        let last = self.last(w);
        let alert =
            self.alert(&self.get(&self.first(w), "t"), &self.get(&last, "t"), &self.measure(w), &self.get(&last, "i"));
        self.cond(&format!("({} > 0 AND {})", self.len(w), self.holds(w)), &self.push(a, &alert), a)
    }

    /// The alerts from the final state `st`: for conditions judged at close, the last window is judged too (the
    /// input has ended).
    fn finish(&self, st: &str) -> String {
        let (w, a) = (self.get(st, "w"), self.get(st, "a"));
        if eager(self.kind, self.comparisons) { a } else { self.judge(&w, &a) }
    }
}

fn float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v:e}") }
}
