//! Elastic EQL: one `<category> where <condition>` query (see the crate documentation for the subset).

use crate::expr::{self, Cursor, Keywords, Lexing, Tok};
use crate::{Extraction, Op, Predicate};

pub(crate) const LEX: Lexing = Lexing {
    ops: &["==", "!=", ">=", "<=", ":", "<", ">", "|"],
    stops: "",
    escapes: true,
    verbatim: false,
    brackets: true,
    braces: false,
    single_quotes: false,
};

const KW: Keywords = Keywords { and: "and", or: "or", not: "not", exact: false, implicit_and: false };

/// Predicates and the event category of an EQL query.
pub fn parse(query: &str) -> (Vec<Predicate>, Vec<String>, Extraction) {
    let mut out = Vec::new();
    match read(query, &mut out) {
        Ok(category) => (out, vec![category], Extraction::Parsed),
        Err(e) => (Vec::new(), Vec::new(), Extraction::not(e)),
    }
}

fn read(query: &str, out: &mut Vec<Predicate>) -> Result<String, String> {
    let toks = expr::lex(query, &LEX)?;
    let mut c = Cursor::new(toks);
    let category = match c.next() {
        Some(Tok::Word(w)) if matches!(w.to_ascii_lowercase().as_str(), "sequence" | "sample") => {
            return Err(format!("`{w}` queries are not read"));
        }
        Some(Tok::Word(w)) => w,
        other => return Err(format!("expected an event category, found {other:?}")),
    };
    if !c.eat_word("where", false) {
        return Err(format!("expected `where` after `{category}`"));
    }
    expr::boolean(&mut c, &KW, false, out, &mut atom)?;
    if c.eat(&Tok::Op("|")) {
        return Err("pipes after the condition are not read".to_string());
    }
    if !c.at_end() {
        return Err(format!("unexpected {} after the condition", c.describe()));
    }
    Ok(category.to_ascii_lowercase())
}

fn field_name(w: &str) -> String {
    w.trim_start_matches('?').to_string()
}

fn atom(c: &mut Cursor, negated: bool, out: &mut Vec<Predicate>) -> Result<(), String> {
    let Some(Tok::Word(w)) = c.next() else {
        return Err(format!("expected a field or function near {}", c.describe()));
    };
    if c.eat(&Tok::LParen) {
        let lower = w.to_ascii_lowercase();
        let insensitive = lower.ends_with('~');
        let op = match lower.trim_end_matches('~') {
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "stringcontains" => Op::Contains,
            _ => return Err(format!("the function {w}() is not read")),
        };
        let Some(Tok::Word(field)) = c.next() else { return Err(format!("{w}() needs a field first")) };
        while c.eat(&Tok::Comma) {
            let (v, _) = c.value()?;
            let mut p = expr::pred(&field_name(&field), op, v, negated);
            p.cased = !insensitive;
            out.push(p);
        }
        return c.expect(&Tok::RParen);
    }
    let field = field_name(&w);
    let (op, wildcards, cased, neg) = match c.next() {
        Some(Tok::Op("==")) => (Op::Eq, false, true, negated),
        Some(Tok::Op("!=")) => (Op::Eq, false, true, !negated),
        Some(Tok::Op(":")) => (Op::Eq, true, false, negated),
        Some(Tok::Op("<")) => (Op::Lt, false, false, negated),
        Some(Tok::Op("<=")) => (Op::Lte, false, false, negated),
        Some(Tok::Op(">")) => (Op::Gt, false, false, negated),
        Some(Tok::Op(">=")) => (Op::Gte, false, false, negated),
        Some(Tok::Word(k)) => match k.to_ascii_lowercase().as_str() {
            "like" => (Op::Eq, true, true, negated),
            "like~" => (Op::Eq, true, false, negated),
            "in" => (Op::Eq, false, true, negated),
            "in~" => (Op::Eq, false, false, negated),
            "regex" => (Op::Regex, false, true, negated),
            "regex~" => (Op::Regex, false, false, negated),
            "not" if c.eat_word("in", false) => (Op::Eq, false, true, !negated),
            _ => return Err(format!("unknown operator `{k}`")),
        },
        other => return Err(format!("expected an operator after {field}, found {other:?}")),
    };
    let values = if c.eat(&Tok::LParen) { expr::value_list(c)? } else { vec![c.value()?.0] };
    for v in values {
        let mut p = expr::pred(&field, op, v, neg);
        p.wildcards = wildcards;
        p.cased = cased && !matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte);
        out.push(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_query() {
        let q = r#"process where host.os.type == "windows" and event.type == "start" and
            process.parent.name : ("meshagent.exe", "MeshAgent*.exe") and
            not process.args : "--help" and endsWith~(process.executable, "\\cmd.exe")"#;
        let (preds, cats, ext) = parse(q);
        assert_eq!(ext, Extraction::Parsed);
        assert_eq!(cats, ["process"]);
        assert_eq!(preds.len(), 6);
        assert_eq!((preds[2].value.as_str(), preds[2].wildcards, preds[2].cased), ("meshagent.exe", true, false));
        assert!(preds[4].negated);
        assert_eq!((preds[5].op, preds[5].value.as_str(), preds[5].cased), (Op::EndsWith, "\\cmd.exe", false));
    }

    #[test]
    fn outside_the_subset() {
        assert!(!parse("sequence by host.id [process where true] [file where true]").2.is_parsed());
        assert!(!parse("process where process.name == \"a\" | head 5").2.is_parsed());
        assert!(!parse("process where length(process.name) > 4").2.is_parsed());
        assert!(!parse("process where process.name == ").2.is_parsed());
        let (p, _, e) = parse("any where not (a != 1 or b in (\"x\", \"y\"))");
        assert!(e.is_parsed());
        assert_eq!(p.iter().map(|p| p.negated).collect::<Vec<_>>(), [false, true, true]);
    }
}
