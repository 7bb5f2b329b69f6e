//! ES|QL (Elasticsearch 8.11+): `FROM index | WHERE …`.
//!
//! - Strings compare case-insensitively as `TO_LOWER(field) == "folded literal"` / `TO_LOWER(field) LIKE
//!   "pattern"` (`*`, `?`, `\` escapes; the literal is folded here as the engine folds it); `cased` drops
//!   `TO_LOWER`.
//! - `re`: `RLIKE` with the Lucene translation (`lucene_re`; ES|QL's `RLIKE` uses Lucene's regex dialect, anchored),
//!   case-insensitivity as `[aA]` classes.
//! - `cidr`: `CIDR_MATCH(TO_IP(field), "net")`; numbers `TO_DOUBLE(field)`.
//! - `exists`/`null`: `IS NOT NULL` / `IS NULL` (ES|QL cannot tell an absent field from a null one; neither can
//!   an Elasticsearch index, which does not index nulls).
//! - `fieldref`: compares the two fields (`==`, `STARTS_WITH`, `ENDS_WITH`, `LOCATE`).
//! - Keywords: `QSTR("…")` with the Lucene keyword term (full-text function, Elasticsearch 8.17+).
//! - Every item is wrapped in `COALESCE(…, FALSE)` so a null field never turns `NOT` into "unknown".

use sigil_ir::{Part, Pattern, Position, ValueSpec};

use crate::lucene;
use crate::lucene_re;
use crate::sql::{FieldMapper, fold};
use crate::text::{Lang, Layout, R, c_operator, check_text, join_text, num};

pub(crate) struct Esql {
    pub layout: Layout,
}

/// A string literal (`"…"` with `\\`, `\"`, `\n`, `\r`, `\t` escaped): the same rules in ES|QL and KQL.
pub(crate) use crate::text::double_quoted as lit;

/// A field name, in backquotes unless it is a plain identifier.
pub(crate) fn field(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '@')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@'));
    if plain { name.to_string() } else { format!("`{}`", name.replace('`', "``")) }
}

/// A `LIKE` pattern (`*`, `?`; literal `*`, `?`, `\` escaped by `\`).
fn like_pattern(p: &Pattern) -> String {
    let mut out = String::new();
    for part in &p.parts {
        match part {
            Part::Literal(s) => {
                for c in s.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyRun => out.push('*'),
            Part::AnyChar => out.push('?'),
        }
    }
    out
}

fn fold_pattern(p: &Pattern) -> Pattern {
    Pattern::new(p.parts.iter().map(|x| match x {
        Part::Literal(s) => Part::Literal(fold(s)),
        other => other.clone(),
    }))
}

impl Lang for Esql {
    type Out = String;

    fn and(&self, parts: Vec<String>) -> String {
        join_text(parts, " AND ", "TRUE")
    }

    fn or(&self, parts: Vec<String>) -> String {
        join_text(parts, " OR ", "FALSE")
    }

    fn not(&self, x: String) -> String {
        format!("(NOT {x})")
    }

    fn constant(&self, b: bool) -> String {
        if b { "TRUE".into() } else { "FALSE".into() }
    }

    fn value(&self, v: &ValueSpec, f: Option<&str>, mapper: &dyn FieldMapper) -> R<String> {
        let Some(f) = f else {
            return Ok(format!("QSTR({})", lit(&lucene::keyword(v)?)));
        };
        let x = field(f);
        let pred = match v {
            ValueSpec::Null | ValueSpec::Exists(false) => return Ok(format!("({x} IS NULL)")),
            ValueSpec::Exists(true) => return Ok(format!("({x} IS NOT NULL)")),
            ValueSpec::Bool(b) => format!("TO_LOWER(TO_STRING({x})) == {}", lit(&b.to_string())),
            ValueSpec::Number(n) => format!("TO_DOUBLE({x}) == {}", num(*n)),
            ValueSpec::Patterns { alternatives, cased } => {
                let hay = if *cased { x.clone() } else { format!("TO_LOWER({x})") };
                let mut exact = Vec::new();
                let mut preds = Vec::new();
                for p in alternatives {
                    let p = if *cased { p.clone() } else { fold_pattern(p) };
                    for part in &p.parts {
                        if let Part::Literal(s) = part {
                            check_text("ES|QL", s)?;
                        }
                    }
                    if p.parts == [Part::AnyRun] {
                        preds.push(format!("{x} IS NOT NULL"));
                    } else if let Some(l) = p.as_literal() {
                        exact.push(lit(l));
                    } else {
                        preds.push(format!("{hay} LIKE {}", lit(&like_pattern(&p))));
                    }
                }
                match exact.len() {
                    0 => {}
                    1 => preds.push(format!("{hay} == {}", exact.join(""))),
                    _ => preds.push(format!("{hay} IN ({})", exact.join(", "))),
                }
                join_text(preds, " OR ", "FALSE")
            }
            ValueSpec::Regex { pattern, ignore_case, multi_line, .. } => {
                format!("{x} RLIKE {}", lit(&lucene_re::translate(pattern, *ignore_case, *multi_line, true)?))
            }
            ValueSpec::Cidr(net) => format!("CIDR_MATCH(TO_IP({x}), {})", lit(&net.to_string())),
            ValueSpec::Compare { part: None, op, value } => {
                let op = c_operator(*op);
                format!("TO_DOUBLE({x}) {op} {}", num(*value))
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(lucene::time_part_unsupported()),
            ValueSpec::FieldRef { field: other, position, cased } => {
                let o = field(mapper.map(other));
                let (a, b) = if *cased { (x.clone(), o) } else { (format!("TO_LOWER({x})"), format!("TO_LOWER({o})")) };
                match position {
                    Position::Exact => format!("{a} == {b}"),
                    Position::Prefix => format!("STARTS_WITH({a}, {b})"),
                    Position::Suffix => format!("ENDS_WITH({a}, {b})"),
                    Position::Contains => format!("LOCATE({a}, {b}) > 0"),
                }
            }
        };
        Ok(format!("COALESCE({pred}, FALSE)"))
    }

    fn eq_any_ci(&self, column: &str, values: &[String]) -> String {
        let vals: Vec<String> = values.iter().map(|v| lit(&v.to_ascii_lowercase())).collect();
        format!("COALESCE(TO_LOWER({}) IN ({}), FALSE)", field(column), vals.join(", "))
    }

    fn num_any(&self, column: &str, ids: &[u32]) -> String {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        format!("COALESCE({} IN ({}), FALSE)", field(column), ids.join(", "))
    }

    fn missing(&self, column: &str) -> String {
        format!("{} IS NULL", field(column))
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_fields_and_like_patterns() {
        assert_eq!(lit("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(field("Image"), "Image");
        assert_eq!(field("winlog.event_id"), "winlog.event_id");
        assert_eq!(field("Some Field`"), "`Some Field```");
        let p = Pattern::new([Part::AnyRun, Part::Literal("a*b\\".into()), Part::AnyChar]);
        assert_eq!(like_pattern(&p), "*a\\*b\\\\?");
    }
}
