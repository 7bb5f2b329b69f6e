//! Splunk SPL: macro expansion from the family's `macros/*.yml` and the predicates of `tstats … where` clauses
//! and `search` terms (see the crate documentation for the subset).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::expr::{self, Cursor, Keywords, Lexing, Tok};
use crate::{Extraction, Op, Predicate};

/// One macro definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// The SPL it stands for, with `$arg$` placeholders.
    pub definition: String,
    /// Argument names, in order.
    pub arguments: Vec<String>,
}

/// Macros by name (`process_cmd`, `security_content_ctime` with its arguments).
#[derive(Debug, Clone, Default)]
pub struct Macros {
    by_name: HashMap<(String, usize), Macro>,
}

#[derive(Deserialize)]
struct MacroFile {
    name: String,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    arguments: Vec<String>,
}

impl Macros {
    /// Reads every `*.yml` of a `macros/` folder. Files that cannot be read are returned as `(path, error)`.
    pub fn load(dir: &Path) -> (Macros, Vec<(String, String)>) {
        let mut macros = Macros::default();
        let mut errors = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else { return (macros, errors) };
        let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml")) {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_saphyr::from_str::<MacroFile>(&t).map_err(|e| e.to_string()));
            match parsed {
                Ok(m) => macros.insert(&m.name, &m.definition, m.arguments),
                Err(e) => errors.push((path.display().to_string(), e)),
            }
        }
        (macros, errors)
    }

    /// Adds a macro (`name` may carry the argument count as `name(2)`, as in Splunk's macros.conf).
    pub fn insert(&mut self, name: &str, definition: &str, arguments: Vec<String>) {
        let base = name.split('(').next().unwrap_or(name).trim().to_string();
        self.by_name.insert((base, arguments.len()), Macro { definition: definition.to_string(), arguments });
    }

    /// Number of macros.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there is no macro.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    fn get(&self, name: &str, args: usize) -> Option<&Macro> {
        self.by_name.get(&(name.to_string(), args))
    }
}

/// Expands the macros of a query (recursively, at most 16 levels); triple-backtick comments are removed and
/// macros not defined are left as written.
pub fn expand(query: &str, macros: &Macros) -> String {
    let mut text = strip_comments(query);
    for _ in 0..16 {
        let (next, changed) = expand_once(&text, macros);
        text = next;
        if !changed {
            break;
        }
    }
    text
}

fn strip_comments(q: &str) -> String {
    let mut out = String::new();
    let mut rest = q;
    while let Some(start) = rest.find("```") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 3..).unwrap_or_default();
        match after.find("```") {
            Some(end) => rest = after.get(end + 3..).unwrap_or_default(),
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn expand_once(text: &str, macros: &Macros) -> (String, bool) {
    let mut out = String::new();
    let mut changed = false;
    let mut rest = text;
    while let Some(start) = rest.find('`') {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 1..).unwrap_or_default();
        let Some(end) = after.find('`') else {
            out.push_str(rest.get(start..).unwrap_or_default());
            rest = "";
            break;
        };
        let call = after.get(..end).unwrap_or_default();
        rest = after.get(end + 1..).unwrap_or_default();
        let (name, args) = match call.split_once('(') {
            Some((n, a)) => {
                let a = a.strip_suffix(')').unwrap_or(a);
                (n.trim(), split_args(a))
            }
            None => (call.trim(), Vec::new()),
        };
        match macros.get(name, args.len()) {
            Some(m) => {
                let mut def = m.definition.clone();
                for (a, v) in m.arguments.iter().zip(&args) {
                    def = def.replace(&format!("${a}$"), v);
                }
                out.push('(');
                out.push_str(&def);
                out.push(')');
                changed = true;
            }
            None => {
                out.push('`');
                out.push_str(call);
                out.push('`');
            }
        }
    }
    out.push_str(rest);
    (out, changed)
}

fn split_args(a: &str) -> Vec<String> {
    if a.trim().is_empty() {
        return Vec::new();
    }
    a.split(',').map(|s| s.trim().trim_matches('"').to_string()).collect()
}

/// What a parse of one SPL query gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The query with macros expanded.
    pub expanded: String,
    /// Predicates of the `tstats` where clause and `search` terms.
    pub predicates: Vec<Predicate>,
    /// Data models read (`Endpoint.Processes`).
    pub datamodels: Vec<String>,
    /// Whether the query is in the subset.
    pub extraction: Extraction,
}

pub(crate) const LEX: Lexing = Lexing {
    ops: &["!=", ">=", "<=", "==", "=", "<", ">"],
    stops: "",
    escapes: true,
    verbatim: false,
    brackets: true,
    braces: false,
    single_quotes: false,
};

const KW: Keywords = Keywords { and: "AND", or: "OR", not: "NOT", exact: true, implicit_and: true };

/// Expands macros and reads the predicates of a query.
pub fn parse(query: &str, macros: &Macros) -> Parsed {
    let expanded = expand(query, macros);
    let mut predicates = Vec::new();
    let mut datamodels = Vec::new();
    let extraction = match read(&expanded, &mut predicates, &mut datamodels) {
        Ok(()) => Extraction::Parsed,
        Err(e) => {
            predicates.clear();
            Extraction::not(e)
        }
    };
    Parsed { expanded, predicates, datamodels, extraction }
}

fn read(q: &str, out: &mut Vec<Predicate>, datamodels: &mut Vec<String>) -> Result<(), String> {
    let segments = split_pipes(q)?;
    let starts_with_pipe = q.trim_start().starts_with('|');
    for (n, seg) in segments.iter().enumerate() {
        let seg = seg.trim();
        if seg.is_empty() {
            continue;
        }
        let toks = expr::lex(seg, &LEX)?;
        let mut c = Cursor::new(toks);
        if n == 0 && !starts_with_pipe {
            c.eat_word("search", false);
            clause(&mut c, out)?;
            continue;
        }
        let Some(Tok::Word(cmd)) = c.peek().cloned() else {
            // A segment that is only a macro nobody defines (`…_filter`, `drop_dm_object_name`) post-processes.
            continue;
        };
        match cmd.to_ascii_lowercase().as_str() {
            "tstats" => tstats(&mut c, out, datamodels)?,
            "search" => {
                c.next();
                clause(&mut c, out)?;
            }
            "join" | "append" | "appendcols" | "union" if seg.contains('[') => {
                return Err(format!("the subsearch of `{cmd}` is not read"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Splits at `|` outside quotes, back-quotes and brackets.
fn split_pipes(q: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut tick, mut depth, mut escape) = (false, false, 0i32, false);
    for c in q.chars() {
        if escape {
            escape = false;
            cur.push(c);
            continue;
        }
        match c {
            '\\' if quote => escape = true,
            '"' if !tick => quote = !quote,
            '`' if !quote => tick = !tick,
            '[' if !quote && !tick => depth += 1,
            ']' if !quote && !tick => depth -= 1,
            '|' if !quote && !tick && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if quote {
        return Err("unterminated string".to_string());
    }
    out.push(cur);
    Ok(out)
}

fn tstats(c: &mut Cursor, out: &mut Vec<Predicate>, datamodels: &mut Vec<String>) -> Result<(), String> {
    // Up to `where`: functions and `from datamodel=X`; the clause ends at `by`.
    let toks = c.toks.clone();
    let mut where_at = None;
    for (i, t) in toks.iter().enumerate() {
        if let (Tok::Word(w), Some(Tok::Op("=")), Some(Tok::Word(dm))) = (t, toks.get(i + 1), toks.get(i + 2))
            && w.eq_ignore_ascii_case("datamodel")
        {
            datamodels.push(dm.clone());
        }
        if matches!(t, Tok::Word(w) if w.eq_ignore_ascii_case("where")) {
            where_at = Some(i + 1);
            break;
        }
    }
    let Some(start) = where_at else { return Ok(()) };
    let mut depth = 0i32;
    let mut end = toks.len();
    for (i, t) in toks.iter().enumerate().skip(start) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Word(w) if depth == 0 && w.eq_ignore_ascii_case("by") => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let mut clause_cursor = Cursor::new(toks.get(start..end).unwrap_or_default().to_vec());
    clause(&mut clause_cursor, out)
}

fn clause(c: &mut Cursor, out: &mut Vec<Predicate>) -> Result<(), String> {
    if c.at_end() {
        return Ok(());
    }
    expr::boolean(c, &KW, false, out, &mut atom)?;
    if !c.at_end() {
        return Err(format!("unexpected {} in a search clause", c.describe()));
    }
    Ok(())
}

fn atom(c: &mut Cursor, negated: bool, out: &mut Vec<Predicate>) -> Result<(), String> {
    match c.next() {
        Some(Tok::Raw(m)) => Err(format!("macro `{m}` is not defined in the family's macros")),
        Some(Tok::Word(field)) => {
            if c.eat_word("IN", false) {
                c.expect(&Tok::LParen)?;
                for v in expr::value_list(c)? {
                    out.push(spl_pred(&field, Op::Eq, v, negated));
                }
                return Ok(());
            }
            if c.peek() == Some(&Tok::LParen) {
                return Err(format!("the function {field}() is not read"));
            }
            let op = match c.peek() {
                Some(Tok::Op(op)) => *op,
                _ => {
                    out.push(spl_pred("", Op::Keyword, field, negated));
                    return Ok(());
                }
            };
            c.next();
            let (value, _) = c.value()?;
            let (op, negated) = match op {
                "!=" => (Op::Eq, !negated),
                "<" => (Op::Lt, negated),
                "<=" => (Op::Lte, negated),
                ">" => (Op::Gt, negated),
                ">=" => (Op::Gte, negated),
                _ => (Op::Eq, negated),
            };
            out.push(spl_pred(&field, op, value, negated));
            Ok(())
        }
        Some(Tok::Str(s)) => {
            out.push(spl_pred("", Op::Keyword, s, negated));
            Ok(())
        }
        other => Err(format!("unexpected {other:?} in a search clause")),
    }
}

fn spl_pred(field: &str, op: Op, value: String, negated: bool) -> Predicate {
    let mut p = expr::pred(field, op, value, negated);
    p.wildcards = matches!(op, Op::Eq | Op::Keyword);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macros() -> Macros {
        let mut m = Macros::default();
        m.insert("process_cmd", "(Processes.process_name=cmd.exe OR Processes.original_file_name=Cmd.Exe)", vec![]);
        m.insert("security_content_ctime(1)", "convert ctime($field$)", vec!["field".into()]);
        m.insert("outer", "`process_cmd` Processes.process=\"*/c*\"", vec![]);
        m
    }

    #[test]
    fn tstats_where_clause_with_macros() {
        let q = "| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes where `outer` \
                 AND NOT Processes.parent_process_name IN (\"explorer.exe\", svchost.exe) by Processes.dest \
                 | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)` | `x_filter`";
        let p = parse(q, &macros());
        assert_eq!(p.extraction, Extraction::Parsed, "{:?}", p.extraction);
        assert_eq!(p.datamodels, ["Endpoint.Processes"]);
        assert!(p.expanded.contains("convert ctime(firstTime)"));
        let got: Vec<(&str, &str, bool)> =
            p.predicates.iter().map(|p| (p.field.as_str(), p.value.as_str(), p.negated)).collect();
        assert_eq!(
            got,
            [
                ("Processes.process_name", "cmd.exe", false),
                ("Processes.original_file_name", "Cmd.Exe", false),
                ("Processes.process", "*/c*", false),
                ("Processes.parent_process_name", "explorer.exe", true),
                ("Processes.parent_process_name", "svchost.exe", true),
            ]
        );
    }

    #[test]
    fn search_terms_comparisons_and_escapes() {
        let q = "`undefined_index` EventCode=4104 ScriptBlockText=\"*C:\\\\Temp\\\\*\" | where count > 4";
        let p = parse(q, &Macros::default());
        assert!(!p.extraction.is_parsed(), "an undefined macro inside a clause is outside the subset");
        let p = parse("search EventCode!=4104 size>=10 mimikatz | stats count", &Macros::default());
        assert!(p.extraction.is_parsed());
        assert_eq!(p.predicates[0].op, Op::Eq);
        assert!(p.predicates[0].negated);
        assert_eq!((p.predicates[1].op, p.predicates[1].value.as_str()), (Op::Gte, "10"));
        assert_eq!((p.predicates[2].op, p.predicates[2].field.as_str()), (Op::Keyword, ""));
        let p = parse("index=x Path=\"C:\\\\Temp\\\\*\"", &Macros::default());
        assert_eq!(p.predicates[1].value, "C:\\Temp\\*");
    }

    #[test]
    fn comments_subsearches_and_errors() {
        let p = parse("index=a ```a comment with `macro` ``` b=1", &Macros::default());
        assert!(p.extraction.is_parsed());
        assert_eq!(p.predicates.len(), 2);
        let p = parse("| tstats count where a=1 | join x [| tstats count where b=2]", &Macros::default());
        assert!(!p.extraction.is_parsed());
        assert!(p.predicates.is_empty(), "no partial result");
        let p = parse("index=a b=\"unterminated", &Macros::default());
        assert!(!p.extraction.is_parsed());
        let p = parse("| tstats count where (a=1 OR b=2 by x", &Macros::default());
        assert!(!p.extraction.is_parsed());
    }
}
