//! Splunk SPL: `index=… <search terms>`, or `index=… <routing terms> | where <expression>` when a rule needs what
//! search terms cannot say.
//!
//! Splunk's `search` compares field values case-insensitively and has only `*` as a wildcard — no way to escape a
//! literal `*`, no single-character wildcard — while `where` (eval) compares case-sensitively and offers `like`,
//! `match` (PCRE), `cidrmatch`, `isnull`. So a rule is written as search terms when every item can be:
//! `Field="value"` / `Field IN (…)` (quoted, `\` and `"` escaped), `Field=*` (exists), `Field>=5`, IPv4 `cidr` as
//! `Field="10.0.0.0/8"` (native CIDR matching), keywords as `"*value*"`. Otherwise (a `re`, `cased`, `?`, a literal
//! `*`, an empty value, IPv6 `cidr`, `fieldref`) the whole rule goes to one `| where`, in which each string test is
//! made case-insensitive explicitly (`lower(F)=="…"` with the literal folded as the engine folds it, `like(lower(F),
//! …)`, `match(F, "(?i)…")`), and each test is guarded by `isnotnull(F)` so `NOT` keeps the engine's meaning for an
//! absent field. Mixing a search part with a `| regex` (pySigma's approach) is exact only for regexes AND-ed at the
//! top of the condition; `where` is exact everywhere.

use sigil_ir::{CmpOp, Part, Pattern, Position, ValueSpec};

use crate::lucene;
use crate::sql::{FieldMapper, Unsupported, fold};
use crate::text::{Lang, Layout, R, c_operator, check_text, join_text, num};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Search,
    Where,
}

pub(crate) struct Splunk {
    pub layout: Layout,
    pub mode: Mode,
}

/// The error a search-mode rendering returns for an item that needs `where`.
pub(crate) const NEEDS_WHERE: &str = "\u{0}needs where";

fn needs_where() -> Unsupported {
    Unsupported(NEEDS_WHERE.into())
}

/// A double-quoted string (search terms and eval strings alike): `\` and `"` escaped.
pub(crate) fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn plain_field(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
}

/// A field in an eval expression: bare when plain, else in single quotes.
fn eval_field(name: &str) -> String {
    if plain_field(name) { name.to_string() } else { format!("'{}'", name.replace('\'', "\\'")) }
}

/// A pattern as a search term value: only `*` wildcards and no literal `*`.
fn search_value(p: &Pattern) -> Option<String> {
    let mut out = String::new();
    for part in &p.parts {
        match part {
            Part::Literal(s) if s.contains('*') => return None,
            Part::Literal(s) => out.push_str(s),
            Part::AnyRun => out.push('*'),
            Part::AnyChar => return None,
        }
    }
    if out.is_empty() { None } else { Some(quote(&out)) }
}

/// A `like` pattern (`%`, `_`) when no literal holds `%`, `_` or `\` (Splunk documents no escape for `like`).
fn like_pattern(p: &Pattern) -> Option<String> {
    let mut out = String::new();
    for part in &p.parts {
        match part {
            Part::Literal(s) if s.contains(['%', '_', '\\']) => return None,
            Part::Literal(s) => out.push_str(s),
            Part::AnyRun => out.push('%'),
            Part::AnyChar => out.push('_'),
        }
    }
    Some(out)
}

/// An anchored PCRE for a pattern (`(?s)`: wildcards match newlines, as in the engine).
fn pattern_regex(p: &Pattern, ci: bool) -> String {
    let mut out = String::from(if ci { "(?is)^" } else { "(?s)^" });
    for part in &p.parts {
        match part {
            Part::Literal(s) => out.push_str(&regex_syntax::escape(s)),
            Part::AnyRun => out.push_str(".*"),
            Part::AnyChar => out.push('.'),
        }
    }
    out.push('$');
    out
}

fn check_pattern(p: &Pattern) -> R<()> {
    for part in &p.parts {
        if let Part::Literal(s) = part {
            check_text("Splunk", s)?;
        }
    }
    Ok(())
}

impl Splunk {
    fn search_value(&self, v: &ValueSpec, f: Option<&str>) -> R<String> {
        let Some(f) = f else {
            return match v {
                ValueSpec::Patterns { alternatives, cased: false } => {
                    let terms = alternatives
                        .iter()
                        .map(|p| {
                            check_pattern(p)?;
                            search_value(p).ok_or_else(needs_where)
                        })
                        .collect::<R<Vec<_>>>()?;
                    Ok(join_text(terms, " OR ", "NOT *"))
                }
                _ => Err(needs_where()),
            };
        };
        if !plain_field(f) {
            return Err(needs_where());
        }
        Ok(match v {
            ValueSpec::Null | ValueSpec::Exists(false) => format!("NOT {f}=*"),
            ValueSpec::Exists(true) => format!("{f}=*"),
            ValueSpec::Bool(b) => format!("{f}={}", quote(&b.to_string())),
            ValueSpec::Number(n) => format!("{f}={}", num(*n)),
            ValueSpec::Patterns { alternatives, cased: false } => {
                let terms = alternatives
                    .iter()
                    .map(|p| {
                        check_pattern(p)?;
                        search_value(p).ok_or_else(needs_where)
                    })
                    .collect::<R<Vec<_>>>()?;
                match terms.len() {
                    1 => format!("{f}={}", terms.join("")),
                    _ => format!("{f} IN ({})", terms.join(", ")),
                }
            }
            ValueSpec::Cidr(net) if net.addr().is_ipv4() => format!("{f}={}", quote(&net.to_string())),
            ValueSpec::Compare { part: None, op, value } if *op != CmpOp::Eq => {
                let op = match op {
                    CmpOp::Lt => "<",
                    CmpOp::Lte => "<=",
                    CmpOp::Gt => ">",
                    _ => ">=",
                };
                format!("{f}{op}{}", num(*value))
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(lucene::time_part_unsupported()),
            _ => return Err(needs_where()),
        })
    }

    fn where_value(&self, v: &ValueSpec, f: Option<&str>, mapper: &dyn FieldMapper) -> R<String> {
        let Some(f) = f else {
            return match v {
                ValueSpec::Patterns { alternatives, cased } => {
                    let preds = alternatives
                        .iter()
                        .map(|p| {
                            check_pattern(p)?;
                            Ok(match search_value(p) {
                                Some(term) if !*cased => format!("searchmatch({})", quote(&term)),
                                _ => format!("match(_raw, {})", quote(&pattern_regex(p, !*cased))),
                            })
                        })
                        .collect::<R<Vec<_>>>()?;
                    Ok(join_text(preds, " OR ", "false()"))
                }
                ValueSpec::Regex { .. } => self.where_value(v, Some("_raw"), mapper),
                _ => Err(Unsupported("a keyword of this kind cannot be searched without a field".into())),
            };
        };
        let x = eval_field(f);
        let pred = match v {
            ValueSpec::Null | ValueSpec::Exists(false) => return Ok(format!("isnull({x})")),
            ValueSpec::Exists(true) => return Ok(format!("isnotnull({x})")),
            ValueSpec::Bool(b) => format!("lower({x})=={}", quote(&b.to_string())),
            ValueSpec::Number(n) => format!("tonumber({x})=={}", num(*n)),
            ValueSpec::Patterns { alternatives, cased } => {
                let mut preds = Vec::new();
                for p in alternatives {
                    check_pattern(p)?;
                    let folded = if *cased { p.clone() } else { fold_pattern(p) };
                    let hay = if *cased { x.clone() } else { format!("lower({x})") };
                    preds.push(if p.parts == [Part::AnyRun] {
                        "true()".to_string()
                    } else if let Some(l) = folded.as_literal() {
                        format!("{hay}=={}", quote(l))
                    } else if let Some(like) = like_pattern(&folded) {
                        format!("like({hay}, {})", quote(&like))
                    } else {
                        format!("match({x}, {})", quote(&pattern_regex(p, !*cased)))
                    });
                }
                join_text(preds, " OR ", "false()")
            }
            ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
                let mut flags = String::new();
                for (on, c) in [(*ignore_case, 'i'), (*multi_line, 'm'), (*dot_all, 's')] {
                    if on {
                        flags.push(c);
                    }
                }
                let re = if flags.is_empty() { pattern.clone() } else { format!("(?{flags}){pattern}") };
                check_text("Splunk", &re)?;
                format!("match({x}, {})", quote(&re))
            }
            ValueSpec::Cidr(net) => format!("cidrmatch({}, {x})", quote(&net.to_string())),
            ValueSpec::Compare { part: None, op, value } => {
                let op = c_operator(*op);
                format!("tonumber({x}){op}{}", num(*value))
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(lucene::time_part_unsupported()),
            ValueSpec::FieldRef { field: other, position, cased } => {
                let o = eval_field(mapper.map(other));
                let (a, b) =
                    if *cased { (x.clone(), o.clone()) } else { (format!("lower({x})"), format!("lower({o})")) };
                let test = match position {
                    Position::Exact => format!("{a}=={b}"),
                    Position::Prefix => format!("substr({a}, 1, len({b}))=={b}"),
                    Position::Suffix => format!("(len({a})>=len({b}) AND substr({a}, len({a})-len({b})+1)=={b})"),
                    Position::Contains => {
                        return Err(Unsupported(
                            "fieldref|contains: Splunk eval has no substring test whose needle is another field's \
                             value (like/match would read it as a pattern)"
                                .into(),
                        ));
                    }
                };
                format!("isnotnull({o}) AND {test}")
            }
        };
        Ok(format!("(isnotnull({x}) AND {pred})"))
    }
}

fn fold_pattern(p: &Pattern) -> Pattern {
    Pattern::new(p.parts.iter().map(|x| match x {
        Part::Literal(s) => Part::Literal(fold(s)),
        other => other.clone(),
    }))
}

impl Lang for Splunk {
    type Out = String;

    fn and(&self, parts: Vec<String>) -> String {
        join_text(parts, " AND ", if self.mode == Mode::Search { "*" } else { "true()" })
    }

    fn or(&self, parts: Vec<String>) -> String {
        join_text(parts, " OR ", if self.mode == Mode::Search { "NOT *" } else { "false()" })
    }

    fn not(&self, x: String) -> String {
        format!("(NOT {x})")
    }

    fn constant(&self, b: bool) -> String {
        match (self.mode, b) {
            (Mode::Search, true) => "*".into(),
            (Mode::Search, false) => "(NOT *)".into(),
            (Mode::Where, true) => "true()".into(),
            (Mode::Where, false) => "false()".into(),
        }
    }

    fn value(&self, v: &ValueSpec, f: Option<&str>, mapper: &dyn FieldMapper) -> R<String> {
        match self.mode {
            Mode::Search => self.search_value(v, f),
            Mode::Where => self.where_value(v, f, mapper),
        }
    }

    fn eq_any_ci(&self, column: &str, values: &[String]) -> String {
        let vals: Vec<String> = values.iter().map(|v| quote(v)).collect();
        match self.mode {
            // Search terms compare case-insensitively.
            Mode::Search => match vals.len() {
                1 => format!("{column}={}", vals.join("")),
                _ => format!("{column} IN ({})", vals.join(", ")),
            },
            Mode::Where => {
                let vals: Vec<String> = values.iter().map(|v| quote(&v.to_ascii_lowercase())).collect();
                let x = eval_field(column);
                format!("(isnotnull({x}) AND in(lower({x}), {}))", vals.join(", "))
            }
        }
    }

    fn num_any(&self, column: &str, ids: &[u32]) -> String {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        match self.mode {
            Mode::Search => match ids.len() {
                1 => format!("{column}={}", ids.join("")),
                _ => format!("{column} IN ({})", ids.join(", ")),
            },
            Mode::Where => {
                let x = eval_field(column);
                let tests: Vec<String> = ids.iter().map(|i| format!("tonumber({x})=={i}")).collect();
                format!("(isnotnull({x}) AND {})", join_text(tests, " OR ", "false()"))
            }
        }
    }

    fn missing(&self, column: &str) -> String {
        match self.mode {
            Mode::Search => format!("NOT {column}=*"),
            Mode::Where => format!("isnull({})", eval_field(column)),
        }
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_patterns() {
        assert_eq!(quote("C:\\a\"b"), "\"C:\\\\a\\\"b\"");
        let p = Pattern::new([Part::AnyRun, Part::Literal("\\cmd.exe".into())]);
        assert_eq!(search_value(&p).unwrap(), "\"*\\\\cmd.exe\"");
        assert!(search_value(&Pattern::literal("a*b")).is_none());
        assert!(search_value(&Pattern::new([Part::Literal("a".into()), Part::AnyChar])).is_none());
        assert!(like_pattern(&Pattern::literal("%TEMP%")).is_none());
        assert_eq!(
            like_pattern(&Pattern::new([Part::AnyRun, Part::Literal("a".into()), Part::AnyChar])).unwrap(),
            "%a_"
        );
        assert_eq!(pattern_regex(&Pattern::new([Part::Literal("a.b".into()), Part::AnyRun]), true), "(?is)^a\\.b.*$");
        assert_eq!(eval_field("Some Field"), "'Some Field'");
    }
}
