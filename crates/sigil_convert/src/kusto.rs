//! Kusto (KQL) for Microsoft Sentinel, Defender XDR advanced hunting and Azure Data Explorer:
//! `Table | where …`.
//!
//! - Strings: `=~` / `in~` (exact, case-insensitive), `contains`, `startswith`, `endswith` for the wildcard shapes
//!   they cover (`*x*`, `x*`, `*x`), `matches regex "(?is)^…$"` (RE2) for any other pattern; `cased` uses `==`,
//!   `in`, `contains_cs`, `startswith_cs`, `endswith_cs` and a regex without `i`. `has` is not used: it matches
//!   whole terms only, which is not Sigma's substring meaning.
//! - `re`: `matches regex` with the rule's regex (RE2 syntax is close to the engine's Rust syntax; both lack
//!   look-around and back-references) and the flags as `(?ims)`.
//! - `cidr`: `ipv4_is_in_range` / `ipv6_is_in_range`.
//! - `exists`/`null`: `isnotempty` / `isempty` — Kusto columns cannot tell an absent value from an empty string.
//! - Numbers: `toreal(field)`; `fieldref` compares the two columns.
//! - Keywords: not expressible exactly — KQL's all-column search (`* has`) matches whole terms, Sigma keywords are
//!   substrings — reported.
//! - Items that can be null (numbers, addresses) are wrapped in `coalesce(…, false)`, so `not()` keeps the
//!   engine's meaning.

use sigil_ir::{Part, Pattern, Position, ValueSpec};

use crate::lucene;
use crate::sql::{FieldMapper, Unsupported};
use crate::text::{Lang, Layout, R, c_operator, check_text, join_text, num};

pub(crate) struct Kusto {
    pub layout: Layout,
}

/// A string literal (`"…"` with `\\`, `\"`, `\n`, `\r`, `\t` escaped): the same rules in ES|QL and KQL.
pub(crate) use crate::text::double_quoted as lit;

/// A column name, as `['name']` unless it is a plain identifier.
pub(crate) fn column(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain { name.to_string() } else { format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'")) }
}

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

fn pattern(x: &str, p: &Pattern, cased: bool) -> String {
    let cs = if cased { "_cs" } else { "" };
    match p.parts.as_slice() {
        [Part::AnyRun] => format!("isnotempty({x})"),
        [Part::AnyRun, Part::Literal(s), Part::AnyRun] => format!("{x} contains{cs} {}", lit(s)),
        [Part::Literal(s), Part::AnyRun] => format!("{x} startswith{cs} {}", lit(s)),
        [Part::AnyRun, Part::Literal(s)] => format!("{x} endswith{cs} {}", lit(s)),
        _ => format!("{x} matches regex {}", lit(&pattern_regex(p, !cased))),
    }
}

impl Lang for Kusto {
    type Out = String;

    fn and(&self, parts: Vec<String>) -> String {
        join_text(parts, " and ", "true")
    }

    fn or(&self, parts: Vec<String>) -> String {
        join_text(parts, " or ", "false")
    }

    fn not(&self, x: String) -> String {
        format!("not({x})")
    }

    fn constant(&self, b: bool) -> String {
        b.to_string()
    }

    fn value(&self, v: &ValueSpec, f: Option<&str>, mapper: &dyn FieldMapper) -> R<String> {
        let Some(f) = f else {
            return Err(Unsupported(
                "keywords: KQL's search over all columns (`* has`) matches whole terms, not Sigma's substrings".into(),
            ));
        };
        let x = column(f);
        Ok(match v {
            ValueSpec::Null | ValueSpec::Exists(false) => format!("isempty({x})"),
            ValueSpec::Exists(true) => format!("isnotempty({x})"),
            ValueSpec::Bool(b) => format!("tolower(tostring({x})) == {}", lit(&b.to_string())),
            ValueSpec::Number(n) => format!("coalesce(toreal({x}) == {}, false)", num(*n)),
            ValueSpec::Patterns { alternatives, cased } => {
                let mut exact = Vec::new();
                let mut preds = Vec::new();
                for p in alternatives {
                    for part in &p.parts {
                        if let Part::Literal(s) = part {
                            check_text("Kusto", s)?;
                        }
                    }
                    match p.as_literal() {
                        Some(l) => exact.push(lit(l)),
                        None => preds.push(pattern(&x, p, *cased)),
                    }
                }
                let (eq, inop) = if *cased { ("==", "in") } else { ("=~", "in~") };
                match exact.len() {
                    0 => {}
                    1 => preds.push(format!("{x} {eq} {}", exact.join(""))),
                    _ => preds.push(format!("{x} {inop} ({})", exact.join(", "))),
                }
                join_text(preds, " or ", "false")
            }
            ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
                let mut flags = String::new();
                for (on, c) in [(*ignore_case, 'i'), (*multi_line, 'm'), (*dot_all, 's')] {
                    if on {
                        flags.push(c);
                    }
                }
                let re = if flags.is_empty() { pattern.clone() } else { format!("(?{flags}){pattern}") };
                check_text("Kusto", &re)?;
                format!("{x} matches regex {}", lit(&re))
            }
            ValueSpec::Cidr(net) => {
                let f = if net.addr().is_ipv4() { "ipv4_is_in_range" } else { "ipv6_is_in_range" };
                format!("coalesce({f}({x}, {}), false)", lit(&net.to_string()))
            }
            ValueSpec::Compare { part: None, op, value } => {
                let op = c_operator(*op);
                format!("coalesce(toreal({x}) {op} {}, false)", num(*value))
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(lucene::time_part_unsupported()),
            ValueSpec::FieldRef { field: other, position, cased } => {
                let o = column(mapper.map(other));
                let cs = if *cased { "_cs" } else { "" };
                let test = match position {
                    Position::Exact => format!("{x} {} {o}", if *cased { "==" } else { "=~" }),
                    Position::Prefix => format!("{x} startswith{cs} {o}"),
                    Position::Suffix => format!("{x} endswith{cs} {o}"),
                    Position::Contains => format!("{x} contains{cs} {o}"),
                };
                format!("(isnotempty({o}) and {test})")
            }
        })
    }

    fn eq_any_ci(&self, col: &str, values: &[String]) -> String {
        let vals: Vec<String> = values.iter().map(|v| lit(v)).collect();
        match vals.len() {
            1 => format!("{} =~ {}", column(col), vals.join("")),
            _ => format!("{} in~ ({})", column(col), vals.join(", ")),
        }
    }

    fn num_any(&self, col: &str, ids: &[u32]) -> String {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        match ids.len() {
            1 => format!("{} == {}", column(col), ids.join("")),
            _ => format!("{} in ({})", column(col), ids.join(", ")),
        }
    }

    fn missing(&self, col: &str) -> String {
        format!("isempty({})", column(col))
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_column_and_pattern_shapes() {
        assert_eq!(lit("C:\\a\"b"), "\"C:\\\\a\\\"b\"");
        assert_eq!(column("Image"), "Image");
        assert_eq!(column("winlog.channel"), "['winlog.channel']");
        let c = Pattern::new([Part::AnyRun, Part::Literal("x".into()), Part::AnyRun]);
        assert_eq!(pattern("F", &c, false), "F contains \"x\"");
        assert_eq!(pattern("F", &c, true), "F contains_cs \"x\"");
        let q = Pattern::new([Part::Literal("a".into()), Part::AnyChar, Part::Literal("b".into())]);
        assert_eq!(pattern("F", &q, false), "F matches regex \"(?is)^a.b$\"");
    }
}
