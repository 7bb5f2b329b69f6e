//! Checks of correlation and filter rules that need the whole set (SG406–SG410): filters naming rules that are
//! not loaded, reference cycles between correlations (both files named), temporal condition expressions naming
//! rules the correlation does not reference, aliases naming such rules, and conditions whose meaning the
//! specification leaves open (the message says how `sigil hunt` evaluates them).
//!
//! Malformed correlations (missing type, bad timespan, a value type without `field`, ...) are found by the parser
//! (SG402), unknown references by the set's reference check (SG401).

use std::collections::HashMap;

use sigil_diagnostics::{Code, Diagnostic, Position};
use sigil_rule::{CmpOp, CorrelationRule, CorrelationType, Document, Expr, RuleFile};

use crate::context::{SetContext, SetReporter};

/// The codes of this module (registered in [`crate::registry`]); `BAD_CORRELATION` is the parser's, used here
/// for a `percentile` out of range, which the parser does not check.
mod codes {
    use sigil_diagnostics::Code;
    pub(super) use sigil_rule::codes::BAD_CORRELATION;
    pub(super) const FILTER_UNKNOWN_RULE: Code = Code("SG406");
    pub(super) const CORRELATION_CYCLE: Code = Code("SG407");
    pub(super) const CORRELATION_OPEN_SEMANTICS: Code = Code("SG408");
    pub(super) const BAD_CORRELATION_EXPRESSION: Code = Code("SG409");
    pub(super) const UNKNOWN_ALIAS_RULE: Code = Code("SG410");
}

/// Runs the whole analysis and hands on the findings of the given codes (each registered check takes its own;
/// the analysis only looks at correlations and filters, so running it per code costs little).
fn emit(cx: &SetContext<'_>, r: &mut SetReporter<'_>, wanted: &[Code]) {
    for (fi, d) in check(cx.files) {
        if wanted.contains(&d.code) {
            r.push(fi, d);
        }
    }
}

/// SG406.
pub(crate) fn filter_unknown_rule(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    emit(cx, r, &[codes::FILTER_UNKNOWN_RULE]);
}
/// SG407.
pub(crate) fn correlation_cycle(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    emit(cx, r, &[codes::CORRELATION_CYCLE]);
}
/// SG408.
pub(crate) fn open_semantics_check(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    emit(cx, r, &[codes::CORRELATION_OPEN_SEMANTICS]);
}
/// SG409, and SG402 for a percentile out of range.
pub(crate) fn bad_correlation_expression(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    emit(cx, r, &[codes::BAD_CORRELATION_EXPRESSION, codes::BAD_CORRELATION]);
}
/// SG410.
pub(crate) fn unknown_alias_rule(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    emit(cx, r, &[codes::UNKNOWN_ALIAS_RULE]);
}

/// Diagnostics, each with the index of the file it belongs to.
pub(crate) fn check(files: &[RuleFile]) -> Vec<(usize, Diagnostic)> {
    let mut out = Vec::new();
    // Every id and name: rules, correlations, filters (a filter may only name rules).
    let mut rules: HashMap<&str, ()> = HashMap::new();
    let mut correlations: HashMap<&str, (usize, &CorrelationRule)> = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        for d in &f.parsed.documents {
            let meta = d.meta();
            let keys = [meta.id.as_deref(), meta.name.as_deref()];
            match d {
                Document::Rule(_) => keys.into_iter().flatten().for_each(|k| {
                    rules.insert(k, ());
                }),
                Document::Correlation(c) => keys.into_iter().flatten().for_each(|k| {
                    correlations.insert(k, (fi, c));
                }),
                Document::Filter(_) => {}
            }
        }
    }
    for (fi, f) in files.iter().enumerate() {
        for d in &f.parsed.documents {
            match d {
                Document::Filter(flt) => {
                    for (r, pos) in &flt.rules {
                        if !rules.contains_key(r.as_str()) {
                            let what = if correlations.contains_key(r.as_str()) {
                                "a correlation (filters apply to detection rules only)"
                            } else {
                                "not loaded"
                            };
                            out.push((
                                fi,
                                Diagnostic::warning(
                                    codes::FILTER_UNKNOWN_RULE,
                                    *pos,
                                    format!("filter names rule '{r}', which is {what}"),
                                )
                                .with_help("the filter removes nothing for it; check the rule's id or name"),
                            ));
                        }
                    }
                }
                Document::Correlation(c) => {
                    out.extend(check_correlation(c).into_iter().map(|d| (fi, d)));
                }
                Document::Rule(_) => {}
            }
        }
    }
    out.extend(cycles(files, &correlations));
    out
}

fn check_correlation(c: &CorrelationRule) -> Vec<Diagnostic> {
    let corr = &c.correlation;
    let mut out = Vec::new();
    let referenced = |name: &str| corr.rules.iter().any(|(r, _)| r == name);
    for alias in &corr.aliases {
        for (rule, _) in &alias.fields {
            if !referenced(rule) {
                out.push(Diagnostic::warning(
                    codes::UNKNOWN_ALIAS_RULE,
                    corr.pos,
                    format!("alias '{}' maps rule '{rule}', which this correlation does not reference", alias.name),
                ));
            }
        }
    }
    let Some(cond) = &corr.condition else { return out };
    if let Some(text) = &cond.expression {
        if corr.kind == CorrelationType::TemporalOrdered {
            out.push(
                Diagnostic::error(
                    codes::BAD_CORRELATION_EXPRESSION,
                    cond.pos,
                    "a condition expression on temporal_ordered is not defined by the specification",
                )
                .with_help("use type temporal with the expression, or temporal_ordered without a condition"),
            );
        }
        if let Ok(expr) = sigil_rule::parse_expr(text) {
            let mut has_not = false;
            expr.walk(&mut |e| match e {
                Expr::Ident { name, .. } if !referenced(name) => out.push(Diagnostic::error(
                    codes::BAD_CORRELATION_EXPRESSION,
                    cond.pos,
                    format!("the condition names '{name}', which is not among the correlation's rules"),
                )),
                Expr::Selector { pattern, .. } if !corr.rules.iter().any(|(r, _)| pattern.matches(r)) => {
                    out.push(Diagnostic::error(
                        codes::BAD_CORRELATION_EXPRESSION,
                        cond.pos,
                        "a pattern of the condition selects none of the correlation's rules",
                    ));
                }
                Expr::Not(_) => has_not = true,
                _ => {}
            });
            if has_not {
                out.push(open_semantics(
                    cond.pos,
                    "when 'not' holds within a sliding window is left open by the specification: sigil judges \
                     the window when it closes (timespan after its first event), so a later event can still \
                     prevent the alert",
                ));
            }
        }
        return out;
    }
    if corr.kind == CorrelationType::ValuePercentile {
        match cond.percentile {
            None => out.push(open_semantics(
                cond.pos,
                "value_percentile without 'percentile': the specification does not say which percentile; sigil \
                 takes the 50th (the median)",
            )),
            Some(p) if !(0.0..=100.0).contains(&p) => out.push(Diagnostic::error(
                codes::BAD_CORRELATION,
                cond.pos,
                format!("percentile {p} is not between 0 and 100"),
            )),
            Some(_) => {}
        }
    }
    let upper = cond.comparisons.iter().any(|(op, _)| !matches!(op, CmpOp::Gt | CmpOp::Gte));
    if upper && !corr.kind.is_temporal() {
        out.push(open_semantics(
            cond.pos,
            "a condition a later event can make false (lt, lte, eq, neq, a range) is judged when the window \
             closes (timespan after its first event; the next window opens at the next event): the \
             specification leaves this open",
        ));
    }
    out
}

fn open_semantics(pos: Position, message: &str) -> Diagnostic {
    Diagnostic::warning(codes::CORRELATION_OPEN_SEMANTICS, pos, message.to_string())
}

/// Reference cycles among correlations: one error per correlation on a cycle, at its reference to the next,
/// naming the files of both.
fn cycles(files: &[RuleFile], by_key: &HashMap<&str, (usize, &CorrelationRule)>) -> Vec<(usize, Diagnostic)> {
    let mut all: Vec<(usize, &CorrelationRule)> = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for d in &f.parsed.documents {
            if let Document::Correlation(c) = d {
                all.push((fi, c));
            }
        }
    }
    let index_of = |c: &CorrelationRule| all.iter().position(|(_, x)| std::ptr::eq(*x, c));
    // Edges: correlation → (referenced correlation, position of the reference).
    let edges: Vec<Vec<(usize, Position)>> = all
        .iter()
        .map(|(_, c)| {
            c.correlation
                .rules
                .iter()
                .filter_map(|(r, pos)| by_key.get(r.as_str()).and_then(|(_, t)| index_of(t)).map(|t| (t, *pos)))
                .collect()
        })
        .collect();
    let path = |i: usize| all.get(i).and_then(|(fi, _)| files.get(*fi)).map_or("", |f| f.display_path.as_str());
    let title = |i: usize| all.get(i).map_or("", |(_, c)| c.meta.title.as_str());
    let mut out = Vec::new();
    for start in 0..all.len() {
        // Is `start` on a cycle? Search from each of its references back to it.
        for (next, pos) in edges.get(start).map_or(&[][..], Vec::as_slice) {
            let mut seen = vec![false; all.len()];
            let mut stack = vec![*next];
            let mut back = false;
            while let Some(n) = stack.pop() {
                if n == start {
                    back = true;
                    break;
                }
                if std::mem::replace(seen.get_mut(n).unwrap_or(&mut true), true) {
                    continue;
                }
                stack.extend(edges.get(n).map_or(&[][..], Vec::as_slice).iter().map(|(t, _)| *t));
            }
            if back {
                let fi = all.get(start).map_or(0, |(fi, _)| *fi);
                let message = if *next == start {
                    format!("correlation '{}' references itself", title(start))
                } else {
                    format!(
                        "correlation '{}' ({}) references '{}' ({}), which leads back to it: a cycle",
                        title(start),
                        path(start),
                        title(*next),
                        path(*next)
                    )
                };
                out.push((
                    fi,
                    Diagnostic::error(codes::CORRELATION_CYCLE, *pos, message)
                        .with_help("a chain of correlations must end in detection rules"),
                ));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::load_texts;

    /// `(file, code, line, column, message)` of every diagnostic of the given codes.
    fn found(texts: &[(&str, &str)], prefix: &str) -> Vec<(String, &'static str, u32, u32, String)> {
        load_texts(texts)
            .diagnostics()
            .into_iter()
            .filter(|d| d.code.0.starts_with(prefix))
            .map(|d| (d.file, d.code.0, d.line, d.column, d.message))
            .collect()
    }

    const RULE: &str =
        "title: Fail\nname: fail\nlogsource: {product: windows}\ndetection: {sel: {EventID: 4625}, condition: sel}\n";

    #[test]
    fn a_cycle_names_both_files() {
        let a = "title: A\nname: ca\ncorrelation:\n  type: event_count\n  rules:\n    - cb\n  timespan: 1m\n  condition: {gte: 1}\n";
        let b = "title: B\nname: cb\ncorrelation:\n  type: event_count\n  rules:\n    - ca\n  timespan: 1m\n  condition: {gte: 1}\n";
        let d = found(&[("a.yml", a), ("b.yml", b)], "SG407");
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!((d[0].0.as_str(), d[0].2, d[0].3), ("a.yml", 6, 7));
        assert!(d[0].4.contains("a.yml") && d[0].4.contains("b.yml"), "{d:?}");
        assert_eq!(d[1].0, "b.yml");
        let own = "title: Self\nname: me\ncorrelation:\n  type: event_count\n  rules: [me]\n  timespan: 1m\n  condition: {gte: 1}\n";
        let d = found(&[("s.yml", own)], "SG407");
        assert_eq!(d.len(), 1);
        assert!(d[0].4.contains("references itself"));
        // A chain is not a cycle.
        let chain = format!(
            "{RULE}---\ntitle: In\nname: inner\ncorrelation: {{type: event_count, rules: [fail], timespan: 1m, condition: {{gte: 2}}}}\n\
             ---\ntitle: Out\ncorrelation: {{type: event_count, rules: [inner], timespan: 1h, condition: {{gte: 2}}}}\n"
        );
        assert!(found(&[("c.yml", &chain)], "SG4").is_empty());
    }

    #[test]
    fn malformed_correlations_have_positions() {
        let no_field = format!(
            "{RULE}---\ntitle: S\ncorrelation:\n  type: value_sum\n  rules: [fail]\n  timespan: 1m\n  condition:\n    gt: 5\n"
        );
        let d = found(&[("f.yml", &no_field)], "SG402");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].2, d[0].3), (12, 5));
        assert!(d[0].4.contains("needs 'field'"));
        let timespan = format!(
            "{RULE}---\ntitle: S\ncorrelation:\n  type: event_count\n  rules: [fail]\n  timespan: 5 minutes\n  condition: {{gte: 5}}\n"
        );
        let d = found(&[("t.yml", &timespan)], "SG402");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].2, d[0].3), (10, 13));
        let unknown = format!(
            "{RULE}---\ntitle: S\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: {{gte: 5}}\n"
        );
        let d = found(&[("u.yml", &unknown)], "SG401");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].2, d[0].3), (9, 11));
    }

    #[test]
    fn filters_naming_unloaded_rules_are_warnings() {
        let filter = "title: F\nlogsource: {product: windows}\nfilter:\n  rules:\n    - fail\n    - gone\n  sel: {User: x}\n  condition: not sel\n";
        let d = found(&[("r.yml", RULE), ("f.yml", filter)], "SG40");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!((d[0].0.as_str(), d[0].1, d[0].2, d[0].3), ("f.yml", "SG406", 6, 7));
        let report = load_texts(&[("r.yml", RULE), ("f.yml", filter)]).report();
        assert_eq!(report.errors, 0);
    }

    #[test]
    fn temporal_expressions_and_open_questions() {
        let two = "title: A\nname: a\nlogsource: {product: windows}\ndetection: {s: {K: a}, condition: s}\n---\n\
                   title: B\nname: b\nlogsource: {product: windows}\ndetection: {s: {K: b}, condition: s}\n";
        let with = |kind: &str, cond: &str| {
            format!(
                "{two}---\ntitle: T\ncorrelation:\n  type: {kind}\n  rules: [a, b]\n  timespan: 1m\n  condition: '{cond}'\n"
            )
        };
        assert!(found(&[("t.yml", &with("temporal", "a and b"))], "SG4").is_empty());
        let d = found(&[("t.yml", &with("temporal", "a and c"))], "SG409");
        assert!(d.len() == 1 && d[0].4.contains("'c'"), "{d:?}");
        let d = found(&[("t.yml", &with("temporal_ordered", "a and b"))], "SG409");
        assert_eq!(d.len(), 1, "{d:?}");
        let d = found(&[("t.yml", &with("temporal", "a and not b"))], "SG408");
        assert_eq!(d.len(), 1, "{d:?}");
        let pct = format!(
            "{RULE}---\ntitle: P\ncorrelation:\n  type: value_percentile\n  rules: [fail]\n  timespan: 1m\n  condition: {{field: N, lte: 1}}\n"
        );
        let d = found(&[("p.yml", &pct)], "SG408");
        assert!(d.len() == 2 && d[0].4.contains("50th"), "{d:?}");
        let bad = pct.replace("lte: 1}", "lte: 1, percentile: 101}");
        assert_eq!(found(&[("p.yml", &bad)], "SG402").len(), 1);
        let alias = format!(
            "{RULE}---\ntitle: Al\ncorrelation:\n  type: event_count\n  rules: [fail]\n  group-by: [ip]\n  timespan: 1m\n  \
             condition: {{gte: 1}}\n  aliases:\n    ip: {{fail: IpAddress, other: Ip}}\n"
        );
        let d = found(&[("a.yml", &alias)], "SG410");
        assert!(d.len() == 1 && d[0].4.contains("'other'"), "{d:?}");
    }
}
