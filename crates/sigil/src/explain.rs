//! `sigil explain`: why a rule matches an event, or why not.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use sigil_engine::{Engine, EngineOptions, Explanation, Routing};

/// Explain why a rule matches an event, or why it does not.
///
/// For a match: the selections that matched and, per field, the rule's value after modifiers that matched (the
/// base64offset variant, the windash spelling, the regex) and the event's value. For a miss: every selection with
/// the first item that failed in it and the event's value ("field absent" when the event lacks the field), or why
/// the event is not routed to the rule's logsource at all (a Security 4624 event for a process_creation rule).
///
///   sigil explain rule.yml event.json
///   sigil explain 74a2b202-73e0-4693-9a3a-9d36146d0775 Security.evtx --record 12 --rules sigma/rules
///   sigil explain rule.yml events.jsonl --format json | jq .selections
///
/// Without --record, the first event of the file that the rule matches is explained, or the first event when
/// none does. Exit status: 0 the rule matches the event, 1 it does not, 2 bad usage or unreadable input.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A rule file, or a rule's id, name or title among the --rules.
    rule: String,
    /// An event file (.evtx, .json, .jsonl, ...; - for stdin).
    event_file: PathBuf,
    /// Explain the Nth event read from the file (1-based).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    record: Option<u64>,
    /// Rule files or folders in which to find RULE when it is not a file. Default: the bundled rules.
    #[arg(long, short, num_args = 1.., value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// A logsource mapping file that adds or replaces routes (as for `sigil hunt`).
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON object: `{"rule", "record", "matched", "routing", "selections", "removed_by"}`.
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let knowledge = crate::hunt::load_knowledge(&args.mapping)?;
    let as_file = PathBuf::from(&args.rule);
    let set = if as_file.is_file() {
        sigil_check::load(std::slice::from_ref(&as_file), &sigil_rule::LoadOptions::default())
    } else {
        crate::bundled::load_rules(&args.rules)
    };
    let (engine, report) = Engine::build(&set, &knowledge, &EngineOptions::default());
    let wanted = |id: Option<&str>, name: Option<&str>, title: &str, path: &str| {
        as_file.is_file()
            || id == Some(&args.rule)
            || name == Some(&args.rule)
            || title == args.rule
            || path == args.rule
    };
    let index = engine.rules().iter().position(|r| {
        !r.is_correlation() && wanted(r.info.id.as_deref(), r.info.name.as_deref(), &r.info.title, &r.info.path)
    });

    // The event.
    let events = read_events(&args)?;
    let Some(index) = index else {
        // Not compiled: a logsource without a route, or a rule that does not compile.
        for u in &report.unrouted {
            if let Some((path, title)) = u.rules.iter().find(|(p, t)| wanted(None, None, t, p)) {
                let why = u.why.as_deref().unwrap_or("no reader sigil has gives events of this logsource");
                println!(
                    "{title} ({path}): not matched: event not routed to this logsource because {} has no route: {why}",
                    u.logsource
                );
                return Ok(ExitCode::from(1));
            }
        }
        for s in &report.skipped {
            if as_file.is_file() || s.title == args.rule || s.path == args.rule {
                anyhow::bail!("{}: rule '{}' cannot be compiled: {:?}", s.path, s.title, s.reason);
            }
        }
        anyhow::bail!("no rule '{}' (give a rule file, or an id, name or title among --rules)", args.rule);
    };
    let rule = &engine.rules()[index];
    let (record, explanation) = match args.record {
        Some(n) => {
            let event = events.get((n - 1) as usize).with_context(|| {
                format!("{}: --record {n}, but the file has {} events", args.event_file.display(), events.len())
            })?;
            (n, engine.explain(index as u32, event))
        }
        None => {
            let mut scratch = engine.scratch();
            let mut found = Vec::new();
            let first = events.iter().position(|e| {
                found.clear();
                engine.matches(e, &mut scratch, &mut found);
                found.iter().any(|m| m.rule == index as u32)
            });
            let at = first.unwrap_or(0);
            let event =
                events.get(at).with_context(|| format!("{}: no event in the file", args.event_file.display()))?;
            (at as u64 + 1, engine.explain(index as u32, event))
        }
    };
    let explanation = explanation.context("the rule cannot be explained")?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let v = serde_json::json!({
                "rule": {"id": rule.info.id, "title": rule.info.title, "path": rule.info.path},
                "record": record,
                "matched": explanation.matched,
                "routing": explanation.routing,
                "selections": explanation.selections,
                "removed_by": explanation.removed_by,
            });
            writeln!(out, "{v}")?;
        }
        Format::Text => write_text(&mut out, &rule.info.title, record, events.len(), &explanation)?,
    }
    Ok(if explanation.matched { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn read_events(args: &Args) -> anyhow::Result<Vec<sigil_events::Event>> {
    let source = sigil_events::open(&args.event_file, &sigil_events::ReadOptions::default())
        // The error names the file and the cause already; its source repeats the cause.
        .map_err(|e| anyhow::anyhow!("cannot read {e}"))?;
    let mut events = Vec::new();
    for item in source {
        match item {
            Ok(e) => events.push(e),
            Err(e) => eprintln!("warning: {e}"),
        }
        // Only as far as needed: the record asked for, or a bounded look for a match.
        if args.record.is_some_and(|n| events.len() as u64 >= n) || events.len() >= 100_000 {
            break;
        }
    }
    Ok(events)
}

fn write_text(
    out: &mut impl std::io::Write,
    title: &str,
    record: u64,
    read: usize,
    e: &Explanation,
) -> std::io::Result<()> {
    let verdict = if e.matched { "MATCH" } else { "NO MATCH" };
    writeln!(out, "{verdict}: '{title}' on event {record} (of {read} read)")?;
    match &e.routing {
        Routing::Routed(r) => writeln!(out, "  routed: {r}")?,
        Routing::NotRouted(why) => writeln!(out, "  {why}")?,
    }
    for s in &e.selections {
        writeln!(out, "  {} {}", s.selection, if s.matched { "matched" } else { "did not match" })?;
        for i in &s.items {
            let mut key = i.field.clone().unwrap_or_else(|| "keywords".into());
            for m in &i.modifiers {
                key.push('|');
                key.push_str(m);
            }
            let mark = if i.matched { "✓" } else { "✗" };
            let event = match (&i.event_value, &i.note) {
                (_, Some(note)) => note.clone(),
                (Some(v), None) => format!("event: {v}"),
                (None, None) => "event: (no value)".into(),
            };
            writeln!(out, "    {mark} {key}: {}  ← {event}", i.matched_value.as_deref().unwrap_or(""))?;
        }
    }
    for f in &e.removed_by {
        writeln!(out, "  removed by filter '{f}'")?;
    }
    Ok(())
}
