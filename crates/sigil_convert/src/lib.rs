//! Sigma rules as queries for ClickHouse, Spark SQL and DuckDB, and events as a table for them.
//!
//! The converters start from the same lowered IR as the hunting engine ([`sigil_ir`]) and the same routing and
//! field mapping tables ([`sigil_knowledge`]), so a converted query selects the events `sigil hunt` selects —
//! which the differential tests check by running the queries on the real engines (chdb, DuckDB, Spark local)
//! over the table [`export::export`] writes.
//!
//! - [`convert`] gives, per rule, a query or the reason it cannot be expressed (never a silent drop), with the
//!   field renames the rule's routes applied ([`sigil_ir::RuleIr::renames`]).
//! - [`single_query`] gives one statement that scans the table once for a whole rule set, and
//!   [`route_statements`] the same rule set as one statement per route (each reads only its route's rows).
//! - Text targets (Elasticsearch Lucene / query DSL / ES|QL, Splunk SPL, Kusto) render the same IR, routing and
//!   field mappings as query texts (`lucene.rs`, `dsl.rs`, `esql.rs`, `splunk.rs`, `kusto.rs`, shared walk in
//!   `text.rs`); see docs/convert-text-targets.md for their semantics and the comparison with pySigma.

#![warn(missing_docs, unreachable_pub)]

mod corr;
mod dsl;
mod esql;
pub mod export;
mod ip;
mod kusto;
mod lucene;
mod lucene_re;
mod splunk;
mod sql;
mod text;
mod timepart;

use std::str::FromStr;

use sigil_ir::{FieldRename, Placeholders, RuleIr};
use sigil_knowledge::{Knowledge, Route};
use sigil_rule::{Document, FilterRule, Rule};

pub use sql::{Dialect, RouteStatement};

/// A conversion target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// ClickHouse SQL.
    ClickHouse,
    /// Spark SQL (Databricks).
    Spark,
    /// DuckDB SQL.
    DuckDb,
    /// Elasticsearch / OpenSearch Lucene `query_string` syntax.
    Lucene,
    /// Elasticsearch query DSL (a `_search` body).
    EsDsl,
    /// Elasticsearch ES|QL.
    Esql,
    /// Splunk SPL.
    Splunk,
    /// Kusto KQL (Microsoft Sentinel, Defender XDR, Azure Data Explorer).
    Kusto,
}

impl Target {
    /// The SQL targets.
    pub const ALL: [Target; 3] = [Target::ClickHouse, Target::Spark, Target::DuckDb];
    /// The text targets.
    pub const TEXT: [Target; 5] = [Target::Lucene, Target::EsDsl, Target::Esql, Target::Splunk, Target::Kusto];

    /// Whether the target is a SQL dialect (the only ones with [`single_query`]).
    pub fn is_sql(self) -> bool {
        Target::ALL.contains(&self)
    }

    /// The target's name as written in `sigil convert --target` (`clickhouse`, `es-dsl`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Target::ClickHouse => "clickhouse",
            Target::Spark => "spark",
            Target::DuckDb => "duckdb",
            Target::Lucene => "lucene",
            Target::EsDsl => "es-dsl",
            Target::Esql => "esql",
            Target::Splunk => "splunk",
            Target::Kusto => "kusto",
        }
    }

    fn dialect(self) -> Option<Dialect> {
        match self {
            Target::ClickHouse => Some(Dialect::ClickHouse),
            Target::Spark => Some(Dialect::Spark),
            Target::DuckDb => Some(Dialect::DuckDb),
            _ => None,
        }
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        match s.to_ascii_lowercase().as_str() {
            "clickhouse" | "chdb" => Ok(Target::ClickHouse),
            "spark" | "databricks" => Ok(Target::Spark),
            "duckdb" => Ok(Target::DuckDb),
            "lucene" | "elasticsearch" | "opensearch" => Ok(Target::Lucene),
            "es-dsl" | "dsl" => Ok(Target::EsDsl),
            "esql" | "es|ql" => Ok(Target::Esql),
            "splunk" | "spl" => Ok(Target::Splunk),
            "kusto" | "kql" | "sentinel" | "defender" => Ok(Target::Kusto),
            other => Err(format!(
                "unknown target '{other}' (clickhouse, spark, duckdb, lucene, es-dsl, esql, splunk, kusto)"
            )),
        }
    }
}

/// How to convert.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// The table (or view) holding the events, in the layout [`export`] writes.
    pub table: String,
    /// Values of `%placeholders%` (the `expand` modifier).
    pub placeholders: Placeholders,
    /// SQL targets: read each field under the rule's exact name only, without `sigil hunt`'s fallbacks (a key
    /// differing only in ASCII case or spaces, keys under a dotted prefix). Smaller, faster queries for tables
    /// whose keys are spelled as the rules spell them; on other tables they can miss events `sigil hunt` finds.
    pub exact_field_names: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions { table: "events".into(), placeholders: Placeholders::new(), exact_field_names: false }
    }
}

/// One rule converted, or why not.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConvertedRule {
    /// The rule's `id`, if it has one.
    pub rule_id: Option<String>,
    /// The rule's `title`.
    pub title: String,
    /// The rule file, as shown to users.
    pub path: String,
    /// The query; `None` when the rule cannot be expressed on the target.
    pub query: Option<String>,
    /// Why the rule was not converted.
    pub unsupported: Option<String>,
    /// Notes on a converted rule (an unrouted logsource read on every event, ...).
    pub notes: Vec<String>,
    /// Field renames the rule's routes applied.
    pub renamed: Vec<FieldRename>,
}

/// A detection rule ready to be rendered: its lowered IR and its routes.
struct Prepared<'a> {
    id: String,
    /// The names correlations may reference it by (id, name).
    names: Vec<String>,
    ir: RuleIr,
    routes: Option<&'a [Route]>,
}

/// What [`prepare`] found in a document.
enum Found<'a> {
    Rule(Prepared<'a>),
    Correlation(&'a sigil_rule::CorrelationRule),
    Nothing,
}

impl<'a> Found<'a> {
    fn rule(self) -> Option<Prepared<'a>> {
        match self {
            Found::Rule(p) => Some(p),
            _ => None,
        }
    }
}

fn rule_key(rule: &Rule) -> String {
    rule.meta.id.clone().or_else(|| rule.meta.name.clone()).unwrap_or_else(|| rule.meta.title.clone())
}

/// Walks a rule set: per document, either a prepared rule or the unsupported entry.
fn prepare<'a>(
    set: &'a sigil_rule::RuleSet,
    knowledge: &'a Knowledge,
    opts: &ConvertOptions,
) -> Vec<(ConvertedRule, Found<'a>)> {
    let filters: Vec<&FilterRule> = set
        .documents()
        .filter(|(f, _)| !f.parsed.has_errors())
        .filter_map(|(_, d)| match d {
            Document::Filter(f) => Some(f),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for file in &set.files {
        let entry = |title: String, id: Option<String>| ConvertedRule {
            rule_id: id,
            title,
            path: file.display_path.clone(),
            query: None,
            unsupported: None,
            notes: Vec::new(),
            renamed: Vec::new(),
        };
        if file.parsed.has_errors() {
            let first = file
                .parsed
                .diagnostics
                .iter()
                .find(|d| d.is_error())
                .map(|d| format!("{}:{}: {}", d.position.line, d.position.column, d.message))
                .unwrap_or_default();
            let title = file.parsed.documents.first().map(|d| d.meta().title.clone()).unwrap_or_default();
            let mut e = entry(title, None);
            e.unsupported = Some(format!("the rule file has errors (sigil check explains them): {first}"));
            out.push((e, Found::Nothing));
            continue;
        }
        for doc in &file.parsed.documents {
            match doc {
                Document::Filter(_) => {}
                Document::Correlation(c) => {
                    out.push((entry(c.meta.title.clone(), c.meta.id.clone()), Found::Correlation(c)));
                }
                Document::Rule(r) => {
                    let mut e = entry(r.meta.title.clone(), r.meta.id.clone());
                    let applicable: Vec<&FilterRule> =
                        filters.iter().copied().filter(|f| sigil_ir::filter_applies(f, r)).collect();
                    match sigil_ir::lower_rule(r, &applicable, &opts.placeholders) {
                        Err(err) => {
                            e.unsupported = Some(err.to_string());
                            out.push((e, Found::Nothing));
                        }
                        Ok(ir) => {
                            let ls = &r.logsource;
                            let routes =
                                knowledge.routes(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref());
                            match routes {
                                Some(rs) => e.renamed = ir.renames(rs),
                                None => e.notes.push(format!(
                                    "logsource {} has no route in the mapping tables: the query reads every event \
                                     (as sigil hunt --all-logsources)",
                                    logsource_text(ls)
                                )),
                            }
                            let names = r.meta.id.iter().chain(r.meta.name.iter()).cloned().collect();
                            out.push((e, Found::Rule(Prepared { id: rule_key(r), names, ir, routes })));
                        }
                    }
                }
            }
        }
    }
    out
}

fn logsource_text(ls: &sigil_rule::Logsource) -> String {
    let p = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    format!("{}/{}/{}", p(&ls.product), p(&ls.category), p(&ls.service))
}

/// Converts every rule of a set: one entry per detection or correlation rule (and per rule file with errors),
/// in file order.
pub fn convert(
    set: &sigil_rule::RuleSet,
    knowledge: &Knowledge,
    target: Target,
    opts: &ConvertOptions,
) -> Vec<ConvertedRule> {
    let prepared = prepare(set, knowledge, opts);
    let Some(d) = target.dialect() else {
        // Text targets: each rule on its own. Correlations need windows over grouped events, which these query
        // languages express in ways of their own (not written yet): listed with the reason.
        return prepared
            .into_iter()
            .map(|(mut e, found)| {
                match found {
                    Found::Rule(p) => match text::rule_query(target, &opts.table, &p.ir, p.routes) {
                        Ok(q) => e.query = Some(q),
                        Err(u) => e.unsupported = Some(u.0),
                    },
                    Found::Correlation(_) => {
                        e.unsupported.get_or_insert_with(|| {
                            format!("correlation rules are converted for the SQL targets only, not {}", target.name())
                        });
                    }
                    Found::Nothing => {}
                }
                e
            })
            .collect();
    };
    // Every rule's predicate, for the correlations that reference it.
    let mut predicates: Vec<(&[String], Result<String, sql::Unsupported>)> = Vec::new();
    for (_, found) in &prepared {
        if let Found::Rule(p) = found {
            predicates.push((&p.names, sql::rule_where(d, &p.ir, p.routes, opts.exact_field_names)));
        }
    }
    let mut out = Vec::with_capacity(prepared.len());
    for (e, found) in &prepared {
        let mut e = e.clone();
        match found {
            Found::Rule(p) => match sql::rule_query(d, &opts.table, &p.ir, p.routes, opts.exact_field_names) {
                Ok(q) => e.query = Some(q),
                Err(u) => e.unsupported = Some(u.0),
            },
            Found::Correlation(c) => {
                let refs: Vec<(Vec<String>, Result<corr::Referenced, sql::Unsupported>)> = c
                    .correlation
                    .rules
                    .iter()
                    .map(|(name, _)| {
                        let found = predicates.iter().find(|(names, _)| names.contains(name));
                        let mut known: Vec<String> = found.map(|(n, _)| n.to_vec()).unwrap_or_default();
                        known.push(name.clone());
                        let r = match found {
                            Some((_, Ok(p))) => Ok(corr::Referenced { predicate: p.clone() }),
                            Some((_, Err(u))) => Err(u.clone()),
                            None => Err(sql::Unsupported(
                                "not a detection rule of the converted set (a correlation, or missing): chains of \
                                 correlations are not converted"
                                    .into(),
                            )),
                        };
                        (known, r)
                    })
                    .collect();
                match corr::correlation_query(d, &opts.table, c, &refs) {
                    Ok(q) => e.query = Some(q),
                    Err(u) => e.unsupported = Some(u.0),
                }
            }
            Found::Nothing => {}
        }
        out.push(e);
    }
    out
}

/// One statement for the whole rule set: every row that matches at least one rule, with `sigil_rules`, the ids
/// of the rules it matched. Rules that cannot be expressed are left out of it and listed in the entries.
pub fn single_query(
    set: &sigil_rule::RuleSet,
    knowledge: &Knowledge,
    target: Target,
    opts: &ConvertOptions,
) -> (String, Vec<ConvertedRule>) {
    let (q, entries) = whole_set(set, knowledge, target, opts, |d, rules| {
        sql::single_query(d, &opts.table, rules, opts.exact_field_names)
    });
    let q = match q {
        Some(Ok(q)) => q,
        Some(Err(u)) => format!("-- {}", u.0),
        None => String::new(),
    };
    (q, entries)
}

/// The whole rule set as one statement per route (`sigil convert --single-query --split-by-route`): each reads
/// only its route's rows (the route's predicate as its `WHERE`) and returns those matching at least one of the
/// route's rules, with `sigil_rules`; the unrouted rules in a statement of their own. Together they select the
/// (rule, row) pairs of [`single_query`]; each is a fraction of its size, so the engines plan them in a fraction
/// of the time and memory. Rules that cannot be expressed are listed in the entries.
pub fn route_statements(
    set: &sigil_rule::RuleSet,
    knowledge: &Knowledge,
    target: Target,
    opts: &ConvertOptions,
) -> (Vec<RouteStatement>, Vec<ConvertedRule>) {
    let (statements, mut entries) = whole_set(set, knowledge, target, opts, |d, rules| {
        sql::route_statements(d, &opts.table, rules, opts.exact_field_names)
    });
    match statements {
        Some(Ok(statements)) => (statements, entries),
        // Every usable rule was checked to convert, so this does not happen; if it did: no statement rather than a
        // wrong one, and each rule that would have been in one says why (never a silent drop).
        Some(Err(u)) => {
            for e in entries.iter_mut().filter(|e| e.unsupported.is_none()) {
                e.unsupported = Some(u.0.clone());
            }
            (Vec::new(), entries)
        }
        None => (Vec::new(), entries),
    }
}

/// Renders with `render` the rules of a set that go into a whole-set statement (`None` for a target without SQL),
/// and gives the entries, listing the rules left out with the reason.
fn whole_set<T>(
    set: &sigil_rule::RuleSet,
    knowledge: &Knowledge,
    target: Target,
    opts: &ConvertOptions,
    render: impl FnOnce(sql::Dialect, &[sql::SingleRule<'_>]) -> sql::R<T>,
) -> (Option<sql::R<T>>, Vec<ConvertedRule>) {
    let prepared = prepare(set, knowledge, opts);
    let Some(d) = target.dialect() else {
        let why = format!("one statement for a rule set is written for SQL targets only, not {}", target.name());
        let entries = prepared
            .into_iter()
            .map(|(mut e, _)| {
                e.unsupported.get_or_insert_with(|| why.clone());
                e
            })
            .collect();
        return (None, entries);
    };
    let mut entries = Vec::new();
    let mut usable = Vec::new();
    for (mut e, found) in prepared {
        if let Found::Correlation(_) = found {
            e.unsupported = Some(
                "a correlation needs its own query over the whole table: convert it without --single-query".into(),
            );
        }
        let p = found.rule();
        if let Some(p) = &p {
            // A rule goes into the statement only when each of its parts can be written.
            if let Err(u) = sql::rule_where(d, &p.ir, p.routes, opts.exact_field_names) {
                e.unsupported = Some(u.0);
            }
        }
        if e.unsupported.is_none()
            && let Some(p) = p
        {
            usable.push(p);
        }
        entries.push(e);
    }
    let rules: Vec<sql::SingleRule<'_>> =
        usable.iter().map(|p| sql::SingleRule { id: p.id.clone(), ir: &p.ir, routes: p.routes }).collect();
    (Some(render(d, &rules)), entries)
}
