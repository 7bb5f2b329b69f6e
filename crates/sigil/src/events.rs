//! `sigil events`: the events side of the catalog: which rules can fire on each described Windows event.

use std::io::Write;
use std::process::ExitCode;

use sigil_diagnostics::sanitize;

use crate::catalog_args::CatalogArgs;
use crate::show::table;

use crate::term::TextOrJson;

/// List the described Windows events and the rules that can fire on them.
///
///   sigil events                  every provider: events described, events with rules, rules
///   sigil events PROVIDER         the provider's events: id, title, fields, rules
///   sigil events PROVIDER ID      one event: channel, fields with their types and how many rules read each,
///                                 and the rules that can fire on it
///
/// A rule can fire on an event when its logsource routes to the event and the event carries every field the
/// rule uses, after field mapping (Image is NewProcessName on Security 4688) — the event coverage of `sigil
/// show`. PROVIDER is a full name (Microsoft-Windows-Sysmon) or a display name (Sysmon), any case.
///
/// Exit status: 0 listed, 2 unknown provider or event, or bad usage.
///
/// Examples:
///   sigil events --rules ../sigma/rules*
///   sigil events Security-Auditing --used --rules sigma/rules
///   sigil events Sysmon 1 --rules sigma/rules --format json | jq '.fields[] | select(.rules > 0)'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Provider (full or display name).
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
            let mut providers = catalog.providers();
            if args.used {
                providers.retain(|p| p.rules > 0);
            }
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &providers)?;
                writeln!(out)?;
            } else {
                let mut t = table(&["Provider", "Channel", "Events", "With rules", "Rules"]);
                for p in &providers {
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
                writeln!(out, "{} rules loaded; `sigil events PROVIDER` lists a provider's events", catalog.len())?;
            }
        }
        (Some(p), None) => {
            if !known(p) {
                return unknown_provider(&catalog, p);
            }
            let mut events = catalog.event_pages(Some(p));
            if args.used {
                events.retain(|e| e.rule_count > 0);
            }
            if args.format == TextOrJson::Json {
                // The rule lists make the provider listing huge; ask for one event to get them.
                let slim: Vec<serde_json::Value> = events
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "provider": e.provider, "provider_name": e.provider_name, "channel": e.channel,
                            "event_id": e.event_id, "title": e.title, "fields": e.fields, "rule_count": e.rule_count,
                        })
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &slim)?;
                writeln!(out)?;
            } else {
                let mut t = table(&["Event", "Title", "Fields", "Rules"]);
                for e in &events {
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
            let Some(mut e) = catalog.event_page(p, id) else {
                eprintln!(
                    "sigil: error: {} has no described event {id}; `sigil events {}` lists its events",
                    sanitize(p),
                    sanitize(p)
                );
                return Ok(ExitCode::from(2));
            };
            if args.format == TextOrJson::Json {
                serde_json::to_writer_pretty(&mut out, &e)?;
                writeln!(out)?;
            } else {
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
                writeln!(out, "\n{} rule(s) can fire on this event", e.rule_count)?;
                let total = e.rules.len();
                if args.limit > 0 {
                    e.rules.truncate(args.limit);
                }
                for r in &e.rules {
                    let title = r.title.as_deref().unwrap_or_default();
                    writeln!(out, "  {}  {}", r.key.as_deref().unwrap_or(&r.reference), sanitize(title))?;
                }
                if total > e.rules.len() {
                    writeln!(out, "  ... and {} more (--limit 0 lists all)", total - e.rules.len())?;
                }
            }
        }
    }
    out.flush()?;
    crate::catalog_args::done_with(catalog);
    Ok(ExitCode::SUCCESS)
}

fn unknown_provider(catalog: &sigil_catalog::Catalog, p: &str) -> anyhow::Result<ExitCode> {
    let all = catalog.knowledge().providers();
    let names: Vec<&str> = all
        .iter()
        .map(|p| if all.iter().filter(|q| q.display == p.display).count() > 1 { p.name } else { p.display })
        .collect();
    eprintln!("sigil: error: unknown provider '{}'", sanitize(p));
    eprintln!("  = help: known providers: {}", names.join(", "));
    Ok(ExitCode::from(2))
}
