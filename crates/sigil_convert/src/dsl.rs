//! Elasticsearch query DSL (JSON), for `_search`, detection rules of type `query` or the `query` of a watcher.
//!
//! - Strings: `term` (an exact value) or `wildcard` (`*`, `?`; `\` escapes literal `*`, `?`, `\`) with
//!   `"case_insensitive": true` unless the rule says `cased` — exact case-insensitive matching on `keyword`
//!   fields, whatever their normalizer.
//! - `re`: `regexp` with the Lucene translation (`lucene_re`) and `case_insensitive` for the `i` flag.
//! - `cidr`: `term` with the network (native on `ip` fields); numbers `term`, comparisons `range`.
//! - `exists`/`null`: `exists` / `bool.must_not.exists`.
//! - `fieldref`: not expressible without a script query — reported.
//! - Keywords: a `query_string` with the Lucene keyword term.
//! - AND is `bool.filter` (no scoring), OR `bool.should` with `minimum_should_match: 1`, NOT `bool.must_not`.

use serde_json::{Value, json};
use sigil_ir::{CmpOp, Part, Pattern, ValueSpec};

use crate::lucene;
use crate::lucene_re;
use crate::sql::FieldMapper;
use crate::text::{Lang, Layout, R};

pub(crate) struct Dsl {
    pub layout: Layout,
}

/// A wildcard query's value: `*` and `?` kept, literal `*`, `?` and `\` escaped.
pub(crate) fn wildcard_value(p: &Pattern) -> String {
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

fn ci(mut q: Value, cased: bool) -> Value {
    if !cased && let Some(obj) = q.as_object_mut() {
        obj.insert("case_insensitive".into(), Value::Bool(true));
    }
    q
}

fn exists(f: &str) -> Value {
    json!({"exists": {"field": f}})
}

impl Lang for Dsl {
    type Out = Value;

    fn and(&self, mut parts: Vec<Value>) -> Value {
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Value::Null);
        }
        if parts.is_empty() {
            return self.constant(true);
        }
        json!({"bool": {"filter": parts}})
    }

    fn or(&self, mut parts: Vec<Value>) -> Value {
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Value::Null);
        }
        if parts.is_empty() {
            return self.constant(false);
        }
        json!({"bool": {"should": parts, "minimum_should_match": 1}})
    }

    fn not(&self, x: Value) -> Value {
        json!({"bool": {"must_not": [x]}})
    }

    fn constant(&self, b: bool) -> Value {
        if b { json!({"match_all": {}}) } else { json!({"match_none": {}}) }
    }

    fn value(&self, v: &ValueSpec, f: Option<&str>, _mapper: &dyn FieldMapper) -> R<Value> {
        let Some(f) = f else {
            return Ok(json!({"query_string": {"query": lucene::keyword(v)?}}));
        };
        Ok(match v {
            ValueSpec::Null | ValueSpec::Exists(false) => self.not(exists(f)),
            ValueSpec::Exists(true) => exists(f),
            ValueSpec::Bool(b) => json!({"term": {f: *b}}),
            ValueSpec::Number(n) => json!({"term": {f: n}}),
            ValueSpec::Patterns { alternatives, cased } => {
                let mut exact: Vec<Value> = Vec::new();
                let mut preds: Vec<Value> = Vec::new();
                for p in alternatives {
                    if p.parts == [Part::AnyRun] {
                        preds.push(exists(f));
                    } else if let Some(lit) = p.as_literal() {
                        if *cased {
                            exact.push(Value::String(lit.to_string()));
                        } else {
                            preds.push(json!({"term": {f: ci(json!({"value": lit}), false)}}));
                        }
                    } else {
                        preds.push(json!({"wildcard": {f: ci(json!({"value": wildcard_value(p)}), *cased)}}));
                    }
                }
                match exact.len() {
                    0 => {}
                    1 => preds.push(json!({"term": {f: exact.pop()}})),
                    _ => preds.push(json!({"terms": {f: exact}})),
                }
                self.or(preds)
            }
            ValueSpec::Regex { pattern, ignore_case, multi_line, .. } => {
                // With the `i` modifier the query's flag does the folding; otherwise inline `(?i)` groups are
                // spelled out as `[aA]` classes.
                let re = lucene_re::translate(pattern, *ignore_case, *multi_line, !*ignore_case)?;
                json!({"regexp": {f: ci(json!({"value": re}), !*ignore_case)}})
            }
            ValueSpec::Cidr(net) => json!({"term": {f: net.to_string()}}),
            ValueSpec::Compare { part: None, op, value } => {
                let key = match op {
                    CmpOp::Eq => return Ok(json!({"term": {f: value}})),
                    CmpOp::Lt => "lt",
                    CmpOp::Lte => "lte",
                    CmpOp::Gt => "gt",
                    CmpOp::Gte => "gte",
                };
                json!({"range": {f: {key: value}}})
            }
            ValueSpec::Compare { part: Some(_), .. } => return Err(lucene::time_part_unsupported()),
            ValueSpec::FieldRef { .. } => return Err(lucene::fieldref_unsupported("the query DSL")),
        })
    }

    fn eq_any_ci(&self, column: &str, values: &[String]) -> Value {
        let preds = values.iter().map(|v| json!({"term": {column: {"value": v, "case_insensitive": true}}})).collect();
        self.or(preds)
    }

    fn num_any(&self, column: &str, ids: &[u32]) -> Value {
        if ids.len() == 1 {
            return json!({"term": {column: ids[0]}});
        }
        json!({"terms": {column: ids}})
    }

    fn missing(&self, column: &str) -> Value {
        self.not(exists(column))
    }

    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// The search body for a rule's query.
pub(crate) fn body(q: Value) -> String {
    serde_json::to_string_pretty(&json!({"query": q})).unwrap_or_default()
}
