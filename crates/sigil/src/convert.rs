//! `sigil convert`: Sigma rules as queries for ClickHouse, Spark SQL, DuckDB, Elasticsearch (Lucene, query DSL,
//! ES|QL), Splunk SPL and Kusto.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Convert Sigma rules into queries over the table `sigil export` writes.
///
/// Each rule becomes a query with the same meaning as in `sigil hunt`: its logsource's routes (record kind,
/// channels, providers, event ids) and field mappings from the same tables (data/logsources/windows.toml, --mapping),
/// every modifier in the target's own functions, escaping and case rules. A rule that cannot be expressed is
/// listed with the reason (on stderr, or in the JSON output), never dropped silently. --single-query gives one
/// statement that scans the table once and returns each matching row with the ids of the rules it matched
/// (column sigil_rules); with --split-by-route, one such statement per route (logsource), each reading only
/// its route's rows, small enough for the engines to plan a whole rule set.
///
/// Text targets (lucene/elasticsearch, es-dsl, esql, splunk, kusto) search the same events loaded into the SIEM
/// with each entry of the export's fields map as a top-level field; --table names the ES|QL index, Splunk index
/// or Kusto table (docs/convert-text-targets.md).
///
/// Exit codes: 0 when at least one rule converted (unsupported ones are listed as warnings), 2 when none
/// could be, or on a bad argument or path.
///
/// Examples:
///   sigil convert --target clickhouse --rules sigma/rules > rules.sql
///   sigil convert --target elasticsearch --format dsl --rules sigma/rules > searches.json
///   sigil convert --target splunk --table winevents --rules sigma/rules --format json
///   sigil convert --target duckdb --rules sigma/rules --single-query --table "read_parquet('events.parquet')"
///   sigil convert --target spark --rules rules/ --format json
///   sigil convert --target clickhouse --rules sigma/rules --single-query --split-by-route --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The query language.
    #[arg(long, short, value_enum)]
    target: TargetArg,
    /// Rule files or folders, each optionally named NAME=PATH (default: the rules bundled with sigil). Sigma
    /// rules only: inputs recognised as another family (`splunk=PATH`, an Elastic checkout) are skipped with one
    /// line counting them, and an error (exit 2) when no Sigma rule is left.
    #[arg(long, short, num_args = 1.., value_name = "[NAME=]PATH")]
    rules: Vec<String>,
    /// The table or view holding the exported events (any table expression, e.g. file('events.parquet')); for
    /// esql, splunk and kusto the index or table name.
    #[arg(long, default_value = "events", value_name = "NAME")]
    table: String,
    /// sql (alias text): the queries, each preceded by a comment naming its rule; json: one object per rule with
    /// rule_id, title, path, query, unsupported, notes and renamed (which route renamed which field); lucene and
    /// dsl pick the Elasticsearch language (dsl: a JSON array of {rule_id, title, path, body} search bodies).
    #[arg(long, short, value_enum, default_value_t = Format::Sql)]
    format: Format,
    /// One statement for the whole rule set instead of a query per rule.
    #[arg(long)]
    single_query: bool,
    /// With --single-query: one statement per route (logsource) instead of one for everything. Each has the
    /// route's predicate (record kind, channel, provider, event id) as its WHERE and the route's rules in its
    /// select list; rules without a route go into a statement of their own. Together they return the same
    /// (rule, row) pairs (a row travelling two routes comes out of both). SQL output: the statements in order, each
    /// after a `-- route:` comment; JSON: {target, statements: [{route, rule_ids, query}], unsupported}.
    #[arg(long, requires = "single_query")]
    split_by_route: bool,
    /// SQL targets: read each field under the rule's exact name only. By default a query reads a field as sigil
    /// hunt does: the exact key, else a key differing only in ASCII case or spaces (`commandline`, `Threat Name`),
    /// else every key under the name as a dotted prefix (`requestParameters.*`). With this flag the queries are
    /// smaller and faster, and miss events whose keys are spelled differently.
    #[arg(long)]
    exact_field_names: bool,
    /// Write to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// A logsource mapping file that adds or replaces routes (as for sigil hunt). May be given several times.
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Values for %placeholders% of the expand modifier (as for sigil hunt).
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TargetArg {
    Clickhouse,
    Spark,
    Duckdb,
    /// Lucene query_string (--format dsl: the query DSL).
    Elasticsearch,
    Lucene,
    EsDsl,
    Esql,
    Splunk,
    Kusto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    #[value(alias = "text")]
    Sql,
    Json,
    Lucene,
    Dsl,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    use sigil_convert::Target;
    let target = match (args.target, args.format) {
        (TargetArg::Clickhouse, _) => Target::ClickHouse,
        (TargetArg::Spark, _) => Target::Spark,
        (TargetArg::Duckdb, _) => Target::DuckDb,
        (TargetArg::Elasticsearch | TargetArg::Lucene | TargetArg::EsDsl, Format::Dsl) | (TargetArg::EsDsl, _) => {
            Target::EsDsl
        }
        (TargetArg::Elasticsearch | TargetArg::Lucene, _) => Target::Lucene,
        (TargetArg::Esql, _) => Target::Esql,
        (TargetArg::Splunk, _) => Target::Splunk,
        (TargetArg::Kusto, _) => Target::Kusto,
    };
    if matches!(args.format, Format::Lucene | Format::Dsl) && !matches!(target, Target::Lucene | Target::EsDsl) {
        anyhow::bail!("--format lucene|dsl are for --target elasticsearch (got {})", target.name());
    }
    if args.exact_field_names && !target.is_sql() {
        anyhow::bail!("--exact-field-names is for the SQL targets (clickhouse, spark, duckdb), not {}", target.name());
    }
    if args.single_query && !target.is_sql() {
        anyhow::bail!("--single-query is for the SQL targets (clickhouse, spark, duckdb), not {}", target.name());
    }
    let inputs = crate::rule_inputs::RuleInputs::split(&args.rules);
    inputs.require_sigma("convert")?;
    if let Some(line) = inputs.skipped_line("convert") {
        eprintln!("warning: {line}");
    }
    let rule_paths = inputs.sigma;
    for w in crate::hunt::check_rule_paths(&rule_paths)? {
        eprintln!("warning: {w}");
    }
    let knowledge = crate::hunt::load_knowledge(&args.mapping)?;
    let placeholders = crate::hunt::load_placeholders(args.placeholders.as_deref())?;
    let opts = sigil_convert::ConvertOptions {
        table: args.table.clone(),
        placeholders,
        exact_field_names: args.exact_field_names,
    };
    let set = crate::bundled::load_rules(&rule_paths);
    // Nothing the user gave is overwritten: not a rule file, nor a --mapping or --placeholders file.
    if let Some(out) = &args.output
        && let Ok(out_abs) = std::fs::canonicalize(out)
    {
        let given = set.files.iter().map(|f| f.path.as_path()).chain(args.mapping.iter().map(PathBuf::as_path));
        if given.chain(args.placeholders.as_deref()).any(|p| std::fs::canonicalize(p).is_ok_and(|p| p == out_abs)) {
            anyhow::bail!("--output {}: refusing to overwrite one of the inputs", out.display());
        }
    }
    if args.split_by_route {
        let (statements, entries) = sigil_convert::route_statements(&set, &knowledge, target, &opts);
        let text = match args.format {
            Format::Json => {
                let unsupported: Vec<_> = entries.iter().filter(|e| e.unsupported.is_some()).collect();
                let v =
                    serde_json::json!({"target": target.name(), "statements": statements, "unsupported": unsupported});
                let mut t = serde_json::to_string_pretty(&v)?;
                t.push('\n');
                t
            }
            _ => {
                let mut t = String::new();
                for s in &statements {
                    t.push_str(&format!("-- route: {} ({} rules)\n", s.route.replace('\n', " "), s.rule_ids.len()));
                    t.push_str(&s.query);
                    t.push_str(";\n\n");
                }
                t
            }
        };
        return finish(&args, target, &text, &entries);
    }
    let (single, entries) = if args.single_query {
        let (q, e) = sigil_convert::single_query(&set, &knowledge, target, &opts);
        (Some(q), e)
    } else {
        (None, sigil_convert::convert(&set, &knowledge, target, &opts))
    };
    let mut text = String::new();
    match (args.format, &single) {
        (Format::Dsl, _) => {
            let bodies: Vec<serde_json::Value> = entries
                .iter()
                .filter_map(|e| {
                    let body: serde_json::Value = serde_json::from_str(e.query.as_deref()?).ok()?;
                    Some(serde_json::json!({"rule_id": e.rule_id, "title": e.title, "path": e.path, "body": body}))
                })
                .collect();
            text = serde_json::to_string_pretty(&bodies)?;
            text.push('\n');
        }
        (Format::Sql | Format::Lucene, None) if !target.is_sql() => {
            for e in entries.iter().filter(|e| e.query.is_some()) {
                let id = e.rule_id.as_deref().unwrap_or("-");
                let mut head = vec![format!("{} ({id}) {}", e.title.replace('\n', " "), e.path)];
                head.extend(e.notes.iter().map(|n| format!("note: {n}")));
                for h in head {
                    text.push_str(&text_comment(target, &h));
                    text.push('\n');
                }
                text.push_str(e.query.as_deref().unwrap_or_default());
                text.push_str("\n\n");
            }
        }
        (Format::Sql | Format::Lucene, Some(q)) => {
            text.push_str(q);
            text.push_str(";\n");
        }
        (Format::Sql | Format::Lucene, None) => {
            for e in entries.iter().filter(|e| e.query.is_some()) {
                let id = e.rule_id.as_deref().unwrap_or("-");
                text.push_str(&format!("-- {} ({id}) {}\n", e.title.replace('\n', " "), e.path));
                for n in &e.notes {
                    text.push_str(&format!("-- note: {n}\n"));
                }
                text.push_str(e.query.as_deref().unwrap_or_default());
                text.push_str(";\n\n");
            }
        }
        (Format::Json, Some(q)) => {
            let unsupported: Vec<_> = entries.iter().filter(|e| e.unsupported.is_some()).collect();
            let v = serde_json::json!({"target": target.name(), "query": q, "unsupported": unsupported});
            text = serde_json::to_string_pretty(&v)?;
            text.push('\n');
        }
        (Format::Json, None) => {
            text = serde_json::to_string_pretty(&entries)?;
            text.push('\n');
        }
    }
    finish(&args, target, &text, &entries)
}

/// Writes the output and lists the rules not converted on stderr; fails when none converted.
fn finish(
    args: &Args,
    target: sigil_convert::Target,
    text: &str,
    entries: &[sigil_convert::ConvertedRule],
) -> anyhow::Result<ExitCode> {
    match &args.output {
        Some(p) => std::fs::write(p, text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    let unsupported: Vec<_> = entries.iter().filter(|e| e.unsupported.is_some()).collect();
    for e in &unsupported {
        eprintln!("warning: {}: '{}' not converted: {}", e.path, e.title, e.unsupported.as_deref().unwrap_or_default());
    }
    let converted = entries.len() - unsupported.len();
    eprintln!("{converted} of {} rules converted for {}", entries.len(), target.name());
    if converted == 0 {
        anyhow::bail!("no rule could be converted");
    }
    Ok(ExitCode::SUCCESS)
}

/// A comment line in the target's own syntax (Lucene has none: `#` lines are for the reader and not part of the
/// query that follows).
fn text_comment(target: sigil_convert::Target, line: &str) -> String {
    use sigil_convert::Target;
    match target {
        Target::Esql | Target::Kusto => format!("// {line}"),
        Target::Splunk => format!("```{}```", line.replace("```", "'")),
        _ => format!("# {line}"),
    }
}
