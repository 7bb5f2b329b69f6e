//! SG3xx: detection checks (identifiers and conditions, values against their modifiers).

use sigil_diagnostics::Position;
use sigil_rule::modifiers::ExpectedValue;
use sigil_rule::yaml::Node;
use sigil_rule::{
    Detection, Document, Expr, FieldItem, ValueKind, check_regex, codes, modifiers::Modifier, parse_network,
};

use crate::context::{DocContext, Reporter};

/// The detection of a rule or filter with its YAML node.
fn detection<'a>(cx: &DocContext<'a>) -> Option<(&'a Detection, &'a Node, &'static str)> {
    match cx.doc {
        Document::Rule(r) => Some((&r.detection, cx.node.get("detection")?, "detection")),
        Document::Filter(f) => Some((&f.detection, cx.node.get("filter")?, "filter")),
        Document::Correlation(_) => None,
    }
}

/// The key node `what` of the document (`detection:`), to point at.
fn key<'a>(cx: &DocContext<'a>, what: &str) -> Option<&'a Node> {
    cx.node.as_map()?.iter().find(|(k, _)| k.as_str() == Some(what)).map(|(k, _)| k)
}

fn items(det: &Detection) -> impl Iterator<Item = &FieldItem> {
    det.searches.iter().flat_map(|s| s.body.items())
}

pub(crate) fn missing_condition(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((det, node, what)) = detection(cx) else { return };
    if node.as_map().is_none() {
        return; // a detection that is not a map is the parser's (SG202)
    }
    let at = key(cx, what).unwrap_or(node);
    if det.searches.is_empty() {
        r.at(at, format!("'{what}' defines no search identifier"));
    }
    match node.get("condition") {
        None => {
            r.at(at, format!("'{what}' has no condition"));
        }
        Some(c) if c.as_seq().is_some_and(<[Node]>::is_empty) => {
            let key = node.as_map().unwrap_or(&[]).iter().find(|(k, _)| k.as_str() == Some("condition"));
            r.at(key.map_or(c, |(k, _)| k), "condition is empty");
        }
        Some(_) => {}
    }
}

fn condition_problems(cx: &DocContext<'_>, r: &mut Reporter<'_>, code: sigil_diagnostics::Code) {
    let Some((det, _, _)) = detection(cx) else { return };
    for c in &det.conditions {
        let mut found: Vec<(usize, String, usize)> = Vec::new();
        c.expr.walk(&mut |e| match e {
            Expr::Ident { name, offset } if code.0 == "SG306" && det.search(name).is_none() => {
                found.push((*offset, format!("identifier '{name}' is not defined"), name.len()));
            }
            Expr::Selector { pattern, offset, .. }
                if code.0 == "SG311" && !det.searches.iter().any(|s| pattern.matches(&s.name)) =>
            {
                found.push((*offset, format!("'{e}' selects no search identifier"), 0));
            }
            _ => {}
        });
        for (offset, message, len) in found {
            // A selector's span runs to the end of its pattern: find it in the condition text.
            let len = if len > 0 {
                len
            } else {
                let rest: String = c.text.chars().skip(offset).collect();
                let words: Vec<&str> = rest.split_whitespace().take(3).collect();
                words.join(" ").len().min(rest.len())
            };
            let (pos, span) = cx.inner(c.pos, offset, len);
            let d = r.report(pos, span, message);
            if code.0 == "SG306" {
                let names: Vec<&str> = det.searches.iter().map(|s| s.name.as_str()).collect();
                if !names.is_empty() {
                    d.help = Some(format!("defined identifiers: {}", names.join(", ")));
                }
            }
        }
    }
}

pub(crate) fn undefined_identifier(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    condition_problems(cx, r, sigil_diagnostics::Code("SG306"));
}

pub(crate) fn pattern_matches_nothing(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    condition_problems(cx, r, sigil_diagnostics::Code("SG311"));
}

fn references(expr: &Expr, name: &str) -> bool {
    let mut found = false;
    expr.walk(&mut |e| match e {
        Expr::Ident { name: n, .. } if n == name => found = true,
        Expr::Selector { pattern, .. } if pattern.matches(name) => found = true,
        _ => {}
    });
    found
}

pub(crate) fn unused_identifier(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((det, _, _)) = detection(cx) else { return };
    // Only meaningful when every condition parsed.
    if det.conditions.is_empty() || cx.parser_reported(codes::CONDITION_SYNTAX) {
        return;
    }
    for s in &det.searches {
        if !det.conditions.iter().any(|c| references(&c.expr, &s.name)) {
            let span = cx.span_at(s.pos);
            r.report(s.pos, span, format!("search identifier '{}' is not used by the condition", s.name));
        }
    }
}

pub(crate) fn bad_identifier_name(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((det, _, _)) = detection(cx) else { return };
    // pySigma matches `x of pattern` against any identifier name, so an odd name is still usable through a
    // pattern; a condition just cannot name it directly.
    for s in &det.searches {
        if !s.name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            r.report(
                s.pos,
                cx.span_at(s.pos),
                format!(
                    "identifier '{}' has characters a condition cannot name (use letters, digits, '_' and '-')",
                    s.name
                ),
            );
        }
    }
}

pub(crate) fn obsolete_timeframe(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((_, node, _)) = detection(cx) else { return };
    if let Some((k, _)) = node.as_map().unwrap_or(&[]).iter().find(|(k, _)| k.as_str() == Some("timeframe")) {
        r.at(k, "'timeframe' is a Sigma 1 attribute").help =
            Some("time windows belong to correlation rules (timespan)".into());
    }
}

pub(crate) fn all_with_single_value(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((det, _, _)) = detection(cx) else { return };
    for item in items(det) {
        if item.modifiers.contains(&Modifier::All) && item.values.len() == 1 {
            r.report(item.pos, cx.span_at(item.pos), "'all' with a single value has no effect").help =
                Some("remove '|all' or list several values".into());
        }
    }
}

pub(crate) fn null_in_list(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let Some((det, _, _)) = detection(cx) else { return };
    for item in items(det) {
        if item.values.len() > 1 {
            for v in item.values.iter().filter(|v| v.kind == ValueKind::Null) {
                r.report(v.pos, cx.span_at(v.pos), "null cannot be mixed into a list of values").help =
                    Some("match null in a search identifier of its own".into());
            }
        }
    }
}

/// Runs `f` on every value with the item's modifiers and the value type the chain expects.
fn each_value(cx: &DocContext<'_>, mut f: impl FnMut(&FieldItem, &ValueKind, Position, ExpectedValue)) {
    let Some((det, _, _)) = detection(cx) else { return };
    for item in items(det) {
        let expected = Modifier::expected_value(&item.modifiers);
        for v in &item.values {
            f(item, &v.kind, v.pos, expected);
        }
    }
}

fn chain(item: &FieldItem) -> String {
    item.modifiers.iter().map(|m| m.name()).collect::<Vec<_>>().join("|")
}

pub(crate) fn bad_value_type(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let mut found: Vec<(Position, String, Option<&str>)> = Vec::new();
    each_value(cx, |item, kind, pos, expected| {
        let chain = chain(item);
        let problem = match (expected, kind) {
            (ExpectedValue::Bool, ValueKind::Bool(_)) => None,
            (ExpectedValue::Bool, _) => Some((format!("'exists' takes true or false, found '{}'", kind.text()), None)),
            (ExpectedValue::Number, ValueKind::Int(_) | ValueKind::Float(_)) => None,
            (ExpectedValue::Number, _) => Some((
                format!("'{chain}' takes a number, found '{}'", kind.text()),
                Some("write the number without quotes"),
            )),
            (ExpectedValue::FieldName, ValueKind::String(s)) if s.has_wildcards() => {
                Some(("'fieldref' takes a field name without wildcards".to_string(), None))
            }
            (ExpectedValue::Network | ExpectedValue::Regex | ExpectedValue::FieldName, ValueKind::String(_)) => None,
            (ExpectedValue::Network | ExpectedValue::Regex | ExpectedValue::FieldName, _)
            | (ExpectedValue::String, ValueKind::Null | ValueKind::Bool(_)) => {
                Some((format!("'{chain}' takes a string, found '{}'", kind.text()), None))
            }
            (ExpectedValue::String, ValueKind::String(s))
                if item.modifiers.iter().any(|m| m.is_base64()) && s.has_wildcards() =>
            {
                Some(("wildcards cannot be base64-encoded".to_string(), None))
            }
            _ => None,
        };
        if let Some((message, help)) = problem {
            found.push((pos, message, help));
        }
    });
    for (pos, message, help) in found {
        r.report(pos, cx.span_at(pos), message).help = help.map(str::to_string);
    }
}

pub(crate) fn bad_cidr(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let mut found = Vec::new();
    each_value(cx, |_, kind, pos, expected| {
        if let (ExpectedValue::Network, ValueKind::String(s)) = (expected, kind)
            && parse_network(&s.raw).is_none()
        {
            found.push((pos, format!("'{}' is not an IPv4 or IPv6 network", s.raw)));
        }
    });
    for (pos, message) in found {
        r.report(pos, cx.span_at(pos), message);
    }
}

pub(crate) fn bad_regex(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let mut found = Vec::new();
    each_value(cx, |item, kind, pos, expected| {
        if let (ExpectedValue::Regex, ValueKind::String(s)) = (expected, kind)
            && let Err(e) = check_regex(&s.raw, &item.modifiers)
        {
            let e = e.to_string();
            let first = e.lines().last().unwrap_or("invalid regular expression").trim().to_string();
            found.push((pos, format!("regular expression does not compile: {first}")));
        }
    });
    for (pos, message) in found {
        r.report(pos, cx.span_at(pos), message);
    }
}

pub(crate) fn useless_modifier(cx: &DocContext<'_>, r: &mut Reporter<'_>) {
    let mut found = Vec::new();
    each_value(cx, |item, kind, pos, expected| {
        if let (ExpectedValue::String, ValueKind::String(s)) = (expected, kind)
            && item.modifiers.contains(&Modifier::Expand)
            && !s.has_placeholders()
        {
            found.push(pos);
        }
    });
    for pos in found {
        r.report(pos, cx.span_at(pos), "'expand' on a value without %placeholder%");
    }
}
