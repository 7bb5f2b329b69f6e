//! `sigil events`: the events side of the catalog: which rules can fire on each described Windows event and on
//! each record kind that is not a Windows event.

use std::io::Write;
use std::process::ExitCode;

use sigil_diagnostics::sanitize;

use crate::catalog_args::CatalogArgs;
use crate::show::table;

use crate::term::TextOrJson;

/// List the described Windows events and the rules that can fire on them.
///
///   sigil events                  every provider: events described, events with rules, rules; then the
///                                 record kinds that are not Windows events (aws.cloudtrail, linux.auditd, ...)
///   sigil events PROVIDER         the provider's events: id, title, fields, rules
///   sigil events PROVIDER ID      one event: channel, fields with their types and how many rules read each,
///                                 and the rules that can fire on it
///   sigil events KIND             one record kind: the logsources routed to it, the fields its rules read
///                                 (these records have no schema) and the rules that can fire on it
///
/// A rule can fire on an event when its logsource routes to the event and the event carries every field the
/// rule uses, after field mapping (Image is NewProcessName on Security 4688) — the event coverage of `sigil
/// show`. PROVIDER is a full name (Microsoft-Windows-Sysmon) or a display name (Sysmon), any case.
///
/// JSON shapes are documented in docs/json.md.
///
/// Exit status: 0 listed, 2 unknown provider, record kind or event, or bad usage.
///
/// Examples:
///   sigil events --rules ../sigma/rules*
///   sigil events Security-Auditing --used --rules sigma/rules
///   sigil events Sysmon 1 --rules sigma/rules --format json | jq '.fields[] | select(.rules > 0)'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider (full or display name), or a record kind (aws.cloudtrail).
    provider: Option<String>,
    /// Event id.
    id: Option<u32>,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Only events (or providers) at least one rule can fire on.
    #[arg(long)]
    used: bool,
    /// With PROVIDER ID: list at most N rules (0 for all).
    #[arg(long, default_value_t = 50, value_name = "N")]
    limit: usize,
    /// Output format: text (aligned tables) or json.
    #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = args.catalog.load()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let known = |p: &str| catalog.knowledge().event_catalog().provider(p).is_some();
    match (&args.provider, args.id) {
        (None, _) => {
            let mut list = catalog.provider_list();
            if args.used {
                list.providers.retain(|p| p.rules > 0);
                list.record_kinds.retain(|k| k.rule_count > 0);
            }
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                let providers = &list.providers;
                let mut t = table(&["Provider", "Channel", "Events", "With rules", "Rules"]);
                for p in providers {
                    let shared = providers.iter().filter(|q| q.provider == p.provider).count() > 1;
                    t.add_row(vec![
                        if shared { p.provider_name.clone() } else { p.provider.clone() },
                        p.channel.clone().unwrap_or_default(),
                        p.events.to_string(),
                        p.events_with_rules.to_string(),
                        p.rules.to_string(),
                    ]);
                }
                writeln!(out, "{t}")?;
                if !list.record_kinds.is_empty() {
                    writeln!(out, "\nRecords other than Windows events")?;
                    let mut t = table(&["Record kind", "Logsources", "Fields read", "Rules"]);
                    for k in &list.record_kinds {
                        t.add_row(vec![
                            k.kind.clone(),
                            k.logsources.join(", "),
                            k.fields.to_string(),
                            k.rule_count.to_string(),
                        ]);
                    }
                    writeln!(out, "{t}")?;
                }
                writeln!(
                    out,
                    "{} rules loaded; `sigil events PROVIDER` lists a provider's events, `sigil events KIND` a record kind",
                    catalog.len()
                )?;
            }
        }
        (Some(p), None) if !known(p) => {
            let Some(mut k) = catalog.record_kind_page(p) else { return unknown_provider(&catalog, p) };
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &k)?;
                writeln!(out)?;
            } else {
                writeln!(out, "Record kind {}", k.kind)?;
                writeln!(out, "  logsources {}", k.logsources.join(", "))?;
                writeln!(out, "  (no schema: the fields are those the rules read, after field mapping)\n")?;
                if !k.fields.is_empty() {
                    let mut t = table(&["Field", "Rules"]);
                    for f in &k.fields {
                        t.add_row(vec![sanitize(&f.name).into_owned(), f.rules.to_string()]);
                    }
                    writeln!(out, "{t}")?;
                }
                write_rules(&mut out, &mut k.rules, k.rule_count, args.limit, "this record kind")?;
            }
        }
        (Some(p), None) => {
            let Some(mut list) = catalog.provider_events(p) else { return unknown_provider(&catalog, p) };
            if args.used {
                list.events.retain(|e| e.rule_count > 0);
            }
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &list)?;
                writeln!(out)?;
            } else {
                let mut t = table(&["Event", "Title", "Fields", "Rules"]);
                for e in &list.events {
                    t.add_row(vec![
                        format!("Event ID {}", e.event_id),
                        e.title.clone(),
                        e.fields.len().to_string(),
                        e.rule_count.to_string(),
                    ]);
                }
                writeln!(out, "{t}")?;
            }
        }
        (Some(p), Some(id)) => {
            if !known(p) {
                return unknown_provider(&catalog, p);
            }
            let Some(mut d) = catalog.event_detail(p, id) else {
                eprintln!(
                    "sigil: error: {} has no described event {id}; `sigil events {}` lists its events",
                    sanitize(p),
                    sanitize(p)
                );
                return Ok(ExitCode::from(2));
            };
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &d)?;
                writeln!(out)?;
            } else {
                let e = &mut d.event;
                writeln!(out, "{} Event ID {}: {}", e.provider, e.event_id, e.title)?;
                writeln!(out, "  provider {}, channel {}", e.provider_name, e.channel.as_deref().unwrap_or("(none)"))?;
                writeln!(out)?;
                let mut t = table(&["Field", "Type", "Rules"]);
                for f in &e.fields {
                    t.add_row(vec![
                        f.name.clone(),
                        f.ty.clone(),
                        if f.rules == 0 { String::new() } else { f.rules.to_string() },
                    ]);
                }
                writeln!(out, "{t}")?;
                write_rules(&mut out, &mut e.rules, e.rule_count, args.limit, "this event")?;
            }
        }
    }
    out.flush()?;
    crate::catalog_args::done_with(catalog);
    Ok(ExitCode::SUCCESS)
}

/// `N rule(s) can fire on WHAT`, then at most `limit` of them (0 for all).
fn write_rules(
    out: &mut dyn Write,
    rules: &mut Vec<sigil_catalog::RuleLink>,
    count: usize,
    limit: usize,
    what: &str,
) -> std::io::Result<()> {
    writeln!(out, "\n{count} rule(s) can fire on {what}")?;
    let total = rules.len();
    if limit > 0 {
        rules.truncate(limit);
    }
    for r in rules.iter() {
        let title = r.title.as_deref().unwrap_or_default();
        writeln!(out, "  {}  {}", r.key.as_deref().unwrap_or(&r.reference), sanitize(title))?;
    }
    if total > rules.len() {
        writeln!(out, "  ... and {} more (--limit 0 lists all)", total - rules.len())?;
    }
    Ok(())
}

fn unknown_provider(catalog: &sigil_catalog::Catalog, p: &str) -> anyhow::Result<ExitCode> {
    let all = catalog.knowledge().providers();
    let names: Vec<&str> = all
        .iter()
        .map(|p| if all.iter().filter(|q| q.display == p.display).count() > 1 { p.name } else { p.display })
        .collect();
    eprintln!("sigil: error: unknown provider or record kind '{}'", sanitize(p));
    eprintln!("  = help: known providers: {}", names.join(", "));
    let kinds: Vec<String> = catalog.record_kinds().into_iter().map(|k| k.kind).collect();
    if !kinds.is_empty() {
        eprintln!("  = help: record kinds: {}", kinds.join(", "));
    }
    Ok(ExitCode::from(2))
}
