//! Sentinel / Defender KQL (Kusto): the `where` operators of a pipeline that starts at a table (see the crate
//! documentation for the subset).

use crate::expr::{self, Cursor, Keywords, Lexing, Tok};
use crate::{Extraction, Op, Predicate};

pub(crate) const LEX: Lexing = Lexing {
    ops: &["==", "=~", "!=", "!~", ">=", "<=", ">", "<", "!"],
    stops: "|;",
    escapes: true,
    verbatim: true,
    brackets: true,
    braces: false,
    single_quotes: true,
};

const KW: Keywords = Keywords { and: "and", or: "or", not: "not", exact: true, implicit_and: false };

/// What a Kusto query gives: predicates, the tables it reads and whether it is in the subset.
pub fn parse(query: &str) -> (Vec<Predicate>, Vec<String>, Extraction) {
    let mut out = Vec::new();
    let mut tables = Vec::new();
    match read(query, &mut out, &mut tables) {
        Ok(()) => (out, tables, Extraction::Parsed),
        Err(e) => (Vec::new(), Vec::new(), Extraction::not(e)),
    }
}

fn strip_comments(q: &str) -> String {
    q.lines().map(|l| if l.trim_start().starts_with("//") { "" } else { l }).collect::<Vec<_>>().join("\n")
}

fn split_pipes(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    for c in q.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, '|') if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn read(query: &str, out: &mut Vec<Predicate>, tables: &mut Vec<String>) -> Result<(), String> {
    let q = strip_comments(query);
    let segments = split_pipes(&q);
    let first = segments.first().map(|s| s.trim()).unwrap_or_default();
    if first.starts_with("let ") || first.contains(';') {
        return Err("`let` statements are not read".to_string());
    }
    if first.is_empty() || !first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("the query does not start with a table name".to_string());
    }
    tables.push(first.to_string());
    for seg in segments.iter().skip(1) {
        let seg = seg.trim();
        let (cmd, rest) = seg.split_once(char::is_whitespace).unwrap_or((seg, ""));
        match cmd {
            "where" | "filter" => {
                let mut c = Cursor::new(expr::lex(rest, &LEX)?);
                expr::boolean(&mut c, &KW, false, out, &mut atom)?;
                if !c.at_end() {
                    return Err(format!("unexpected {} in a where clause", c.describe()));
                }
            }
            "join" | "union" | "lookup" | "as" | "invoke" | "evaluate" | "mv-apply" => {
                return Err(format!("`{cmd}` is not read"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Skips a balanced parenthesised argument list (the `(` already consumed).
fn skip_args(c: &mut Cursor) -> Result<(), String> {
    let mut depth = 1;
    while depth > 0 {
        match c.next() {
            Some(Tok::LParen) => depth += 1,
            Some(Tok::RParen) => depth -= 1,
            Some(_) => {}
            None => return Err("unbalanced parentheses".to_string()),
        }
    }
    Ok(())
}

fn atom(c: &mut Cursor, negated: bool, out: &mut Vec<Predicate>) -> Result<(), String> {
    let Some(Tok::Word(field)) = c.next() else {
        return Err(format!("expected a column near {}", c.describe()));
    };
    if c.eat(&Tok::LParen) {
        match field.as_str() {
            "isnotempty" | "isnotnull" | "isempty" | "isnull" => {
                let Some(Tok::Word(col)) = c.next() else { return Err(format!("{field}() needs a column")) };
                c.expect(&Tok::RParen)?;
                let neg = if field.starts_with("isnot") { negated } else { !negated };
                out.push(expr::pred(&col, Op::Exists, "", neg));
                return Ok(());
            }
            "not" => {
                expr::boolean(c, &KW, !negated, out, &mut atom)?;
                return c.expect(&Tok::RParen);
            }
            // A computed left side (`tolower(X) == …`, `ago(…)`): not a field comparison; skipped whole.
            _ => {
                skip_args(c)?;
                return skip_comparison(c);
            }
        }
    }
    let mut neg = negated;
    let mut cased = false;
    let op = match c.next() {
        Some(Tok::Op("==")) => {
            cased = true;
            Op::Eq
        }
        Some(Tok::Op("=~")) => Op::Eq,
        Some(Tok::Op("!=")) => {
            cased = true;
            neg = !neg;
            Op::Eq
        }
        Some(Tok::Op("!~")) => {
            neg = !neg;
            Op::Eq
        }
        Some(Tok::Op(">")) => Op::Gt,
        Some(Tok::Op(">=")) => Op::Gte,
        Some(Tok::Op("<")) => Op::Lt,
        Some(Tok::Op("<=")) => Op::Lte,
        Some(Tok::Op("!")) => {
            neg = !neg;
            let Some(Tok::Word(w)) = c.next() else { return Err("expected an operator after `!`".into()) };
            word_op(&w, &mut cased)?
        }
        Some(Tok::Word(w)) if w == "matches" => {
            if !c.eat_word("regex", true) {
                return Err("expected `matches regex`".to_string());
            }
            Op::Regex
        }
        Some(Tok::Word(w)) => word_op(&w, &mut cased)?,
        other => return Err(format!("expected an operator after {field}, found {other:?}")),
    };
    let values = if c.eat(&Tok::LParen) {
        expr::value_list(c)?
    } else {
        match c.peek() {
            Some(Tok::Word(w)) if matches!(c.peek_at(1), Some(Tok::LParen)) => {
                // A value computed by a function (`ago(1d)`, `datetime(…)`): not an indicator.
                let _ = w;
                c.next();
                c.next();
                return skip_args(c);
            }
            _ => vec![c.value()?.0],
        }
    };
    for v in values {
        let mut p = expr::pred(&field, op, v, neg);
        p.cased = cased && !matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte);
        out.push(p);
    }
    Ok(())
}

fn skip_comparison(c: &mut Cursor) -> Result<(), String> {
    if matches!(c.peek(), Some(Tok::Op(_)) | Some(Tok::Word(_))) {
        let is_op = matches!(c.peek(), Some(Tok::Op(_)))
            || matches!(c.peek(), Some(Tok::Word(w)) if !matches!(w.as_str(), "and" | "or"));
        if is_op {
            c.next();
            if c.eat(&Tok::LParen) {
                return skip_args(c);
            }
            if matches!(c.peek(), Some(Tok::Word(_))) && matches!(c.peek_at(1), Some(Tok::LParen)) {
                c.next();
                c.next();
                return skip_args(c);
            }
            c.next();
        }
    }
    Ok(())
}

fn word_op(w: &str, cased: &mut bool) -> Result<Op, String> {
    let (base, cs) = match w.strip_suffix("_cs") {
        Some(b) => (b, true),
        None => (w, false),
    };
    *cased = cs;
    Ok(match base {
        "has" | "has_any" | "has_all" => Op::Has,
        "contains" => Op::Contains,
        "startswith" => Op::StartsWith,
        "endswith" => Op::EndsWith,
        "in" => {
            *cased = true;
            Op::Eq
        }
        "in~" => Op::Eq,
        _ => return Err(format!("operator `{w}` is not read")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clauses() {
        let q = "// a comment\nDeviceProcessEvents\n| where TimeGenerated > ago(1d)\n\
                 | where InitiatingProcessFileName =~ \"meshagent.exe\" and FileName in~ (\"cmd.exe\", 'pwsh.exe')\n\
                 | where not(ProcessCommandLine has_any (\"-h\", \"/?\")) and isnotempty(AccountName)\n\
                 | where FolderPath !startswith @\"C:\\Windows\\\"\n| project TimeGenerated";
        let (p, tables, e) = parse(q);
        assert_eq!(e, Extraction::Parsed, "{e:?}");
        assert_eq!(tables, ["DeviceProcessEvents"]);
        let got: Vec<(&str, Op, &str, bool)> =
            p.iter().map(|p| (p.field.as_str(), p.op, p.value.as_str(), p.negated)).collect();
        assert_eq!(
            got,
            [
                ("InitiatingProcessFileName", Op::Eq, "meshagent.exe", false),
                ("FileName", Op::Eq, "cmd.exe", false),
                ("FileName", Op::Eq, "pwsh.exe", false),
                ("ProcessCommandLine", Op::Has, "-h", true),
                ("ProcessCommandLine", Op::Has, "/?", true),
                ("AccountName", Op::Exists, "", false),
                ("FolderPath", Op::StartsWith, "C:\\Windows\\", true),
            ]
        );
    }

    #[test]
    fn outside_the_subset() {
        assert!(!parse("let x = 1;\nSecurityEvent | where EventID == 4688").2.is_parsed());
        assert!(!parse("SecurityEvent | join kind=inner (SigninLogs) on Account").2.is_parsed());
        assert!(!parse("SecurityEvent | where EventID ==").2.is_parsed());
        assert!(!parse("union SecurityEvent, Syslog | where x == 1").2.is_parsed());
    }
}
