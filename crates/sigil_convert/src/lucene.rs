//! Elasticsearch / OpenSearch Lucene `query_string` syntax (Kibana's "Lucene" query language).
//!
//! - Values are written as terms with every reserved character (`+ - = & | > < ! ( ) { } [ ] ^ " ~ * ? : \ /` and
//!   whitespace) escaped by `\`; Sigma's `*` and `?` stay wildcards. Several alternatives of one value (windash,
//!   base64offset, lists) become `field:(a OR b)`.
//! - Case: `query_string` has no case-insensitive flag. Like pySigma's Lucene backend, values are written as the
//!   rule has them and case-insensitivity comes from the index mapping (a `keyword` field with a `lowercase`
//!   normalizer, or ECS `wildcard`/`text` fields). `cased` is written the same way. For matching that does not
//!   depend on the mapping use the DSL (`case_insensitive: true`) or ES|QL (`TO_LOWER`).
//! - `re`: a Lucene regex (`field:/…/`, see `lucene_re`), case-insensitivity spelled out as `[aA]` classes.
//! - `cidr`: `field:"10.0.0.0/8"` — native on fields mapped as `ip`.
//! - `exists`/`null`: `_exists_:field` / `NOT _exists_:field` (Elasticsearch does not index null values).
//! - `fieldref`: not expressible (comparing two fields needs a script query) — reported.
//! - Keywords: a term without field, `*value*`, searched in the index's default fields.

use sigil_ir::{CmpOp, Part, Pattern, ValueSpec};

use crate::lucene_re;
use crate::sql::{FieldMapper, Unsupported};
use crate::text::{Lang, Layout, R, check_text, join_text, num};

pub(crate) struct Lucene {
    pub layout: Layout,
}

/// Lucene's reserved characters (escaped in terms and field names).
const RESERVED: &str = "+-=&|><!(){}[]^\"~*?:\\/";

/// A term's literal text, escaped.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if RESERVED.contains(c) || c.is_whitespace() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(crate) fn field(name: &str) -> String {
    escape(name)
}

/// A wildcard pattern as a term (`*` and `?` kept, literals escaped); the empty pattern is `""`.
pub(crate) fn pattern_term(p: &Pattern) -> R<String> {
    if p.parts.is_empty() {
        return Ok("\"\"".into());
    }
    let mut out = String::new();
    for part in &p.parts {
        match part {
            Part::Literal(s) => {
                check_text("Lucene", s)?;
                out.push_str(&escape(s));
            }
            Part::AnyRun => out.push('*'),
            Part::AnyChar => out.push('?'),
        }
    }
    Ok(out)
}

/// A phrase in double quotes (only `"` and `\` escaped).
fn phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The keyword (unbound) form of a value: a term searched in the default fields.
pub(crate) fn keyword(v: &ValueSpec) -> R<String> {
    match v {
        ValueSpec::Patterns { alternatives, .. } => {
            let terms = alternatives.iter().map(pattern_term).collect::<R<Vec<_>>>()?;
            Ok(join_text(terms, " OR ", "NOT *:*"))
        }
        ValueSpec::Regex { pattern, ignore_case, multi_line, .. } => {
            Ok(format!("/{}/", lucene_re::translate(pattern, *ignore_case, *multi_line, true)?))
        }
        other => Err(Unsupported(format!("a keyword of kind {} cannot be searched without a field", kind(other)))),
    }
}

fn kind(v: &ValueSpec) -> &'static str {
    match v {
        ValueSpec::Null => "null",
        ValueSpec::Exists(_) => "exists",
        ValueSpec::Bool(_) => "boolean",
        ValueSpec::Number(_) => "number",
        ValueSpec::Patterns { .. } => "string",
        ValueSpec::Regex { .. } => "re",
        ValueSpec::Cidr(_) => "cidr",
        ValueSpec::Compare { .. } => "comparison",
        ValueSpec::FieldRef { .. } => "fieldref",
    }
}

/// Time parts read dates as `sigil hunt` does: text `YYYY-MM-DD[T ]HH:MM` by position and epoch numbers of any
/// magnitude (docs/convert.md). Lucene and the DSL have no function over a field's text at all; ES|QL, SPL and KQL
/// parse dates by format and time zone into their own date types, which reject or shift some of those values, so a
/// query would select other events than the engine: listed, with this reason, rather than converted loosely.
pub(crate) fn time_part_unsupported() -> Unsupported {
    Unsupported(
        "time-part modifiers (minute..year) are converted for the SQL targets only: this query language has no \
         exact form of sigil hunt's date reading (text dates as written, epoch numbers of any magnitude)"
            .into(),
    )
}

pub(crate) fn fieldref_unsupported(lang: &str) -> Unsupported {
    Unsupported(format!(
        "fieldref compares two fields of one event, which {lang} cannot express without a script query \
         (use --target esql)"
    ))
}

impl Lang for Lucene {
    type Out = String;

    fn and(&self, parts: Vec<String>) -> String {
        join_text(parts, " AND ", "*:*")
    }

    fn or(&self, parts: Vec<String>) -> String {
        join_text(parts, " OR ", "NOT *:*")
    }

    fn not(&self, x: String) -> String {
        format!("(NOT {x})")
    }

    fn constant(&self, b: bool) -> String {
        if b { "*:*".into() } else { "(NOT *:*)".into() }
    }

    fn value(&self, v: &ValueSpec, f: Option<&str>, _mapper: &dyn FieldMapper) -> R<String> {
        let Some(f) = f else { return keyword(v) };
        let name = field(f);
        Ok(match v {
            ValueSpec::Null | ValueSpec::Exists(false) => format!("(NOT _exists_:{name})"),
            ValueSpec::Exists(true) => format!("_exists_:{name}"),
            ValueSpec::Bool(b) => format!("{name}:{b}"),
            ValueSpec::Number(n) => format!("{name}:{}", escape(&num(*n))),
            ValueSpec::Patterns { alternatives, .. } => {
                let terms = alternatives.iter().map(pattern_term).collect::<R<Vec<_>>>()?;
                match terms.len() {
                    1 => format!("{name}:{}", terms.join("")),
                    _ => format!("{name}:({})", terms.join(" OR ")),
                }
            }
            ValueSpec::Regex { pattern, ignore_case, multi_line, .. } => {
                format!("{name}:/{}/", lucene_re::translate(pattern, *ignore_case, *multi_line, true)?)
            }
            ValueSpec::Cidr(net) => format!("{name}:{}", phrase(&net.to_string())),
            ValueSpec::Compare { part: None, op, value } => {
                let op = match op {
                    CmpOp::Eq => "",
                    CmpOp::Lt => "<",
                    CmpOp::Lte => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Gte => ">=",
                };
                format!("{name}:{op}{}", escape(&num(*value)))
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(time_part_unsupported()),
            ValueSpec::FieldRef { .. } => return Err(fieldref_unsupported("Lucene query_string")),
        })
    }

    fn eq_any_ci(&self, column: &str, values: &[String]) -> String {
        let terms: Vec<String> = values.iter().map(|v| phrase(v)).collect();
        match terms.len() {
            1 => format!("{}:{}", field(column), terms.join("")),
            _ => format!("{}:({})", field(column), terms.join(" OR ")),
        }
    }

    fn num_any(&self, column: &str, ids: &[u32]) -> String {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        match ids.len() {
            1 => format!("{}:{}", field(column), ids.join("")),
            _ => format!("{}:({})", field(column), ids.join(" OR ")),
        }
    }

    fn missing(&self, column: &str) -> String {
        format!("(NOT _exists_:{})", field(column))
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_and_whitespace_are_escaped() {
        assert_eq!(escape("C:\\Windows\\a b"), "C\\:\\\\Windows\\\\a\\ b");
        assert_eq!(
            escape("+-=&|><!(){}[]^\"~*?:\\/"),
            "\\+\\-\\=\\&\\|\\>\\<\\!\\(\\)\\{\\}\\[\\]\\^\\\"\\~\\*\\?\\:\\\\\\/"
        );
        assert_eq!(escape("ünï"), "ünï");
    }

    #[test]
    fn wildcards_stay_and_literal_stars_are_escaped() {
        let p = Pattern::new([Part::AnyRun, Part::Literal("a*b?".into()), Part::AnyChar]);
        assert_eq!(pattern_term(&p).unwrap(), "*a\\*b\\??");
        assert_eq!(pattern_term(&Pattern::default()).unwrap(), "\"\"");
        assert!(pattern_term(&Pattern::literal("a\0")).is_err());
    }
}
