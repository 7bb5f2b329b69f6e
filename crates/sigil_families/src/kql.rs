//! Kibana KQL (`language = "kuery"`): `field : value` terms (see the crate documentation for the subset).

use crate::expr::{self, Cursor, Keywords, Lexing, Tok};
use crate::{Extraction, Op, Predicate};

pub(crate) const LEX: Lexing = Lexing {
    ops: &[">=", "<=", ":", "<", ">"],
    stops: "",
    escapes: true,
    verbatim: false,
    brackets: false,
    braces: true,
    single_quotes: false,
};

const KW: Keywords = Keywords { and: "and", or: "or", not: "not", exact: false, implicit_and: false };

/// Predicates of a KQL query.
pub fn parse(query: &str) -> (Vec<Predicate>, Extraction) {
    let mut out = Vec::new();
    let result = expr::lex(query, &LEX).and_then(|toks| {
        let mut c = Cursor::new(toks);
        expr::boolean(&mut c, &KW, false, &mut out, &mut atom)?;
        if c.at_end() { Ok(()) } else { Err(format!("unexpected {}", c.describe())) }
    });
    match result {
        Ok(()) => (out, Extraction::Parsed),
        Err(e) => (Vec::new(), Extraction::not(e)),
    }
}

fn atom(c: &mut Cursor, negated: bool, out: &mut Vec<Predicate>) -> Result<(), String> {
    let (first, quoted) = c.value()?;
    let op = match c.peek() {
        Some(Tok::Op(":")) => Op::Eq,
        Some(Tok::Op("<")) => Op::Lt,
        Some(Tok::Op("<=")) => Op::Lte,
        Some(Tok::Op(">")) => Op::Gt,
        Some(Tok::Op(">=")) => Op::Gte,
        _ => {
            let mut p = expr::pred("", Op::Keyword, first, negated);
            p.wildcards = !quoted;
            out.push(p);
            return Ok(());
        }
    };
    c.next();
    if c.peek() == Some(&Tok::LBrace) {
        return Err("nested field queries `field:{…}` are not read".to_string());
    }
    if op == Op::Eq && c.eat(&Tok::LParen) {
        // `field : (a or b and not c)`: the values under the field's own boolean operators.
        let mut values: Vec<Predicate> = Vec::new();
        let mut value_atom = |c: &mut Cursor, neg: bool, out: &mut Vec<Predicate>| -> Result<(), String> {
            let (v, quoted) = c.value()?;
            let mut p = expr::pred(&first, Op::Eq, v, neg);
            p.wildcards = !quoted;
            out.push(p);
            Ok(())
        };
        expr::boolean(c, &KW, negated, &mut values, &mut value_atom)?;
        c.expect(&Tok::RParen)?;
        out.extend(values);
        return Ok(());
    }
    let (v, quoted) = c.value()?;
    let mut p = if op == Op::Eq && v == "*" && !quoted {
        expr::pred(&first, Op::Exists, "", negated)
    } else {
        expr::pred(&first, op, v, negated)
    };
    p.wildcards = op == Op::Eq && !quoted;
    out.push(p);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_lists_and_wildcards() {
        let (p, e) = parse(
            r#"event.category:process and host.os.type:windows and process.name:(meshagent.exe or "Mesh Agent.exe") and not user.name:* and process.args:*-enc*"#,
        );
        assert_eq!(e, Extraction::Parsed);
        assert_eq!(p.len(), 6);
        assert_eq!((p[2].value.as_str(), p[2].wildcards), ("meshagent.exe", true));
        assert_eq!((p[3].value.as_str(), p[3].wildcards), ("Mesh Agent.exe", false));
        assert_eq!((p[4].op, p[4].negated), (Op::Exists, true));
        assert_eq!(p[5].value, "*-enc*");
    }

    #[test]
    fn ranges_keywords_and_errors() {
        let (p, e) = parse("destination.port >= 1024 and mimikatz");
        assert!(e.is_parsed());
        assert_eq!((p[0].op, p[1].op), (Op::Gte, Op::Keyword));
        assert!(!parse("a:{ b:c }").1.is_parsed());
        assert!(!parse("a:(b or").1.is_parsed());
        assert!(!parse("a:\"x").1.is_parsed());
    }
}
