//! `sigil export`: the flat events `sigil hunt` sees, as a Parquet or JSON-lines table for SQL engines.

use std::path::PathBuf;
use std::process::ExitCode;

/// Write events as one table (Parquet or JSON lines) that ClickHouse, Spark and DuckDB load.
///
/// Reads inputs exactly as `sigil hunt` does (.evtx, .json, .jsonl, folders, - for stdin) and writes one row per
/// event: event_index, source, record_id, timestamp, computer, channel, provider, event_id, `fields` (a map
/// of every flattened field to its value as text, a list joined with ", "), `kind` (the record kind of a
/// non-Windows event, such as aws.cloudtrail or linux.auditd, as sigil hunt prints it; null for Windows events)
/// and `lists` (only the list-valued fields, each as its items, which the queries match one by one). Queries
/// from `sigil convert` run on this layout. Streaming:
/// memory stays bounded whatever the input size. The output is written to a temporary file and renamed when
/// complete; it is never one of the inputs.
///
/// Exit codes: 0 when the table was written (unreadable records are warnings), 2 when no input could be read
/// or the output cannot be written.
///
/// Examples:
///   sigil export logs/ --to events.parquet
///   sigil export Security.evtx Sysmon.evtx --to events.jsonl
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Event files or folders (.evtx, .json, .jsonl, .log, .gz, ... as sigil hunt reads them; - for stdin).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The table to write: FILE.parquet or FILE.jsonl.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// No summary; warnings only.
    #[arg(long, short)]
    quiet: bool,
}

/// Read warnings printed before the rest are only counted.
const WARNINGS_SHOWN: usize = 20;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if sigil_convert::export::ExportFormat::from_path(&args.to).is_none() {
        anyhow::bail!("--to {}: the output must end in .parquet or .jsonl", args.to.display());
    }
    let started = std::time::Instant::now();
    let stats = sigil_convert::export::export(&args.paths, &args.to, &sigil_events::ReadOptions::default())?;
    for w in stats.warnings.iter().take(WARNINGS_SHOWN) {
        eprintln!("warning: {w}");
    }
    if stats.warnings.len() > WARNINGS_SHOWN {
        eprintln!("warning: {} more unreadable records or inputs", stats.warnings.len() - WARNINGS_SHOWN);
    }
    if stats.files == 0 {
        anyhow::bail!("no input could be read");
    }
    if !args.quiet {
        eprintln!(
            "exported {} events from {} file(s) to {} in {:.2}s",
            stats.events,
            stats.files,
            args.to.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
