//! YARA-L 2.0 (Chronicle / Google SecOps): the `meta:` pairs and the predicates of the `events:` section
//! (see the crate documentation for the subset).

use crate::expr::{self, Cursor, Keywords, Lexing, Tok};
use crate::{Extraction, Op, Predicate};

/// A YARA-L rule's parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `rule <name>`.
    pub name: String,
    /// `meta:` pairs in order.
    pub meta: Vec<(String, String)>,
    /// The `events:` section text.
    pub events: String,
    /// Predicates of the events section.
    pub predicates: Vec<Predicate>,
    /// UDM `metadata.event_type` values the events section requires.
    pub event_types: Vec<String>,
    /// Whether the events section is in the subset.
    pub extraction: Extraction,
}

/// Why a YARA-L file is not a rule: it has no `rule <name> {` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct YaralError(&'static str);

/// Splits a rule file into name, meta and events and reads the events' predicates.
///
/// # Errors
/// When the text has no `rule name {` header.
pub fn parse(text: &str) -> Result<Rule, YaralError> {
    let body = strip_block_comments(text);
    let header = body.find("rule ").ok_or(YaralError("no `rule <name> {` header"))?;
    let after = body.get(header + 5..).unwrap_or_default();
    let brace = after.find('{').ok_or(YaralError("no `{` after the rule name"))?;
    let name = after.get(..brace).unwrap_or_default().trim().to_string();
    let inner = after.get(brace + 1..).unwrap_or_default();
    let sections = sections(inner);
    let meta = sections.iter().find(|(n, _)| n == "meta").map(|(_, t)| meta_pairs(t)).unwrap_or_default();
    let events = sections.iter().find(|(n, _)| n == "events").map(|(_, t)| t.clone()).unwrap_or_default();
    let mut predicates = Vec::new();
    let extraction = match read_events(&events, &mut predicates) {
        Ok(()) => Extraction::Parsed,
        Err(e) => {
            predicates.clear();
            Extraction::not(e)
        }
    };
    let event_types = predicates
        .iter()
        .filter(|p| p.field == "metadata.event_type" && p.op == Op::Eq && !p.negated)
        .map(|p| p.value.clone())
        .collect();
    Ok(Rule { name, meta, events, predicates, event_types, extraction })
}

fn strip_block_comments(t: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while let Some(s) = rest.find("/*") {
        out.push_str(rest.get(..s).unwrap_or_default());
        rest = match rest.get(s + 2..).and_then(|r| r.find("*/").map(|e| (r, e))) {
            Some((r, e)) => r.get(e + 2..).unwrap_or_default(),
            None => "",
        };
    }
    out.push_str(rest);
    out.lines()
        .map(|l| match l.find("//") {
            // `//` inside a string or regex (URLs, paths) is not a comment: only at line start or after spaces.
            Some(i) if l.get(..i).is_some_and(|b| b.trim().is_empty()) => "",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sections `name:` at the start of a line, up to the next one.
fn sections(inner: &str) -> Vec<(String, String)> {
    const NAMES: [&str; 6] = ["meta", "events", "match", "outcome", "condition", "options"];
    let mut out: Vec<(String, String)> = Vec::new();
    for line in inner.lines() {
        let t = line.trim();
        if let Some(n) = NAMES.iter().find(|n| t.strip_prefix(**n).is_some_and(|r| r.trim() == ":")) {
            out.push(((*n).to_string(), String::new()));
            continue;
        }
        if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

fn meta_pairs(t: &str) -> Vec<(String, String)> {
    t.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.trim().to_string(), v.replace("\\\"", "\"")))
        })
        .collect()
}

pub(crate) const LEX: Lexing = Lexing {
    ops: &["!=", ">=", "<=", "=", "<", ">"],
    stops: "",
    escapes: true,
    verbatim: false,
    brackets: true,
    braces: false,
    single_quotes: false,
};

const KW: Keywords = Keywords { and: "and", or: "or", not: "not", exact: false, implicit_and: true };

fn read_events(events: &str, out: &mut Vec<Predicate>) -> Result<(), String> {
    if events.trim().is_empty() {
        return Err("no events section".to_string());
    }
    let mut c = Cursor::new(expr::lex(events, &LEX)?);
    expr::boolean(&mut c, &KW, false, out, &mut atom)?;
    if c.at_end() { Ok(()) } else { Err(format!("unexpected {} in the events section", c.describe())) }
}

/// `$e.principal.hostname` → `principal.hostname`; `None` for a placeholder (`$hostname`).
fn udm_field(w: &str) -> Option<String> {
    let rest = w.strip_prefix('$')?;
    let (_, path) = rest.split_once('.')?;
    Some(path.to_string())
}

fn eat_nocase(c: &mut Cursor) -> bool {
    c.eat_word("nocase", false)
}

fn atom(c: &mut Cursor, negated: bool, out: &mut Vec<Predicate>) -> Result<(), String> {
    c.eat_word("any", false);
    c.eat_word("all", false);
    let Some(Tok::Word(w)) = c.next() else {
        return Err(format!("expected a field or function near {}", c.describe()));
    };
    if c.eat(&Tok::LParen) {
        let op = match w.as_str() {
            "re.regex" => Op::Regex,
            "strings.contains" => Op::Contains,
            "strings.starts_with" => Op::StartsWith,
            "strings.ends_with" => Op::EndsWith,
            _ => return Err(format!("the function {w}() is not read")),
        };
        let (field, lowered) = function_field(c)?;
        c.expect(&Tok::Comma)?;
        let value = match c.next() {
            Some(Tok::Str(s) | Tok::Raw(s)) => s,
            other => return Err(format!("{w}() needs a literal, found {other:?}")),
        };
        c.expect(&Tok::RParen)?;
        let nocase = eat_nocase(c);
        // `re.regex(...) = false` style comparisons flip the result.
        let mut neg = negated;
        if c.eat(&Tok::Op("=")) || c.eat(&Tok::Op("!=")) {
            let flip = matches!(c.toks.get(c.pos.wrapping_sub(1)), Some(Tok::Op("!=")));
            let (v, _) = c.value()?;
            if (v == "false") != flip {
                neg = !neg;
            }
        }
        if let Some(field) = field {
            let mut p = expr::pred(&field, op, value, neg);
            p.cased = !(nocase || lowered) && op == Op::Regex;
            out.push(p);
        }
        return Ok(());
    }
    let mut field = udm_field(&w);
    // Map access: `$e.target.resource.attribute.labels["key"]`.
    while c.eat(&Tok::LBracket) {
        let (key, _) = c.value()?;
        c.expect(&Tok::RBracket)?;
        field = field.map(|f| format!("{f}[\"{key}\"]"));
    }
    let op = match c.next() {
        Some(Tok::Op("=")) => (Op::Eq, negated),
        Some(Tok::Op("!=")) => (Op::Eq, !negated),
        Some(Tok::Op(">")) => (Op::Gt, negated),
        Some(Tok::Op(">=")) => (Op::Gte, negated),
        Some(Tok::Op("<")) => (Op::Lt, negated),
        Some(Tok::Op("<=")) => (Op::Lte, negated),
        Some(Tok::Word(k)) if k == "in" => {
            c.eat_word("regex", false);
            c.eat_word("cidr", false);
            let Some(Tok::Word(list)) = c.next() else { return Err("expected a %list after `in`".into()) };
            eat_nocase(c);
            if let Some(f) = field {
                out.push(expr::pred(&f, Op::InList, list.trim_start_matches('%'), negated));
            }
            return Ok(());
        }
        other => return Err(format!("expected an operator after {w}, found {other:?}")),
    };
    let (op, neg) = op;
    let value = match c.next() {
        Some(Tok::Str(s)) => Some((s, op)),
        Some(Tok::Raw(s)) => Some((s, Op::Regex)),
        Some(Tok::Word(v)) if v.starts_with('/') && v.len() > 1 && v.ends_with('/') => {
            Some((v.trim_matches('/').to_string(), Op::Regex))
        }
        // A join with another variable or placeholder: not an indicator.
        Some(Tok::Word(v)) if v.starts_with('$') => None,
        Some(Tok::Word(v)) => Some((v, op)),
        other => return Err(format!("expected a value after {w}, found {other:?}")),
    };
    let nocase = eat_nocase(c);
    if let (Some(f), Some((v, op))) = (field, value) {
        let mut p = expr::pred(&f, op, v, neg);
        p.cased = !nocase && matches!(op, Op::Eq | Op::Regex);
        out.push(p);
    }
    Ok(())
}

/// The first argument of a string function: a field, possibly inside `strings.to_lower(…)`.
fn function_field(c: &mut Cursor) -> Result<(Option<String>, bool), String> {
    match c.next() {
        Some(Tok::Word(w)) if w == "strings.to_lower" || w == "strings.to_upper" => {
            c.expect(&Tok::LParen)?;
            let (f, _) = function_field(c)?;
            c.expect(&Tok::RParen)?;
            Ok((f, true))
        }
        Some(Tok::Word(w)) if w.starts_with('$') => Ok((udm_field(&w), false)),
        other => Err(format!("expected a field, found {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_with_meta_and_events() {
        let text = "/* licence */\nrule mesh_child {\n  meta:\n    author = \"me\"\n    technique = \"T1219.002\"\n\
            \n  events:\n    $p.metadata.event_type = \"PROCESS_LAUNCH\"\n    // a comment\n\
            \x20   re.regex($p.principal.process.file.full_path, `\\\\meshagent\\.exe$`) nocase\n\
            \x20   not strings.contains(strings.to_lower($p.target.process.command_line), \"--help\")\n\
            \x20   ($p.target.process.file.full_path = \"C:\\\\Windows\\\\System32\\\\cmd.exe\" nocase or $p.x in %rmm_tools)\n\
            \x20   $p.principal.hostname = $host\n\n  condition:\n    $p\n}\n";
        let r = parse(text).unwrap();
        assert_eq!(r.name, "mesh_child");
        assert_eq!(r.meta[1], ("technique".to_string(), "T1219.002".to_string()));
        assert_eq!(r.extraction, Extraction::Parsed, "{:?}", r.extraction);
        assert_eq!(r.event_types, ["PROCESS_LAUNCH"]);
        let got: Vec<(&str, Op, &str, bool)> =
            r.predicates.iter().map(|p| (p.field.as_str(), p.op, p.value.as_str(), p.negated)).collect();
        assert_eq!(
            got,
            [
                ("metadata.event_type", Op::Eq, "PROCESS_LAUNCH", false),
                ("principal.process.file.full_path", Op::Regex, "\\\\meshagent\\.exe$", false),
                ("target.process.command_line", Op::Contains, "--help", true),
                ("target.process.file.full_path", Op::Eq, "C:\\Windows\\System32\\cmd.exe", false),
                ("x", Op::InList, "rmm_tools", false),
            ]
        );
    }

    #[test]
    fn outside_the_subset() {
        assert!(parse("no rule here").is_err());
        let r = parse("rule x {\n events:\n  math.abs($e.x) > 5\n condition:\n  $e\n}").unwrap();
        assert!(!r.extraction.is_parsed());
        assert!(r.predicates.is_empty());
    }
}
