//! `sigil check`: validate rules like a compiler, with file:line:column diagnostics.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use sigil_diagnostics::{Severity, render_text};

use crate::term::{ColorChoice, TextOrJson};

/// Validate Sigma rules and report problems as file:line:column diagnostics.
///
/// Walks the given files and folders (folders recursively, for .yml and .yaml), parses every rule, correlation
/// and filter, and checks YAML syntax, required attributes, ids, dates, tags, modifiers and their chains,
/// regular expressions, CIDR values, conditions and references between rules (duplicate ids, correlations that
/// name unknown rules). Each finding has a stable code (SG101...) — `--explain` lists them.
///
/// Exit status: 0 no errors (warnings allowed), 1 at least one error (or a warning with --deny-warnings),
/// 2 bad usage.
///
/// Examples:
///   sigil check rules/
///   sigil check sigma/rules* --format json | jq '.diagnostics[] | select(.severity == "error")'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Rule files or folders to check (default: the rules bundled with sigil).
    paths: Vec<PathBuf>,
    /// Output format: text (compiler style) or json (one report object).
    #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
    /// Hide warnings; only errors are printed.
    #[arg(long, short)]
    quiet: bool,
    /// Treat warnings as errors for the exit status.
    #[arg(long)]
    deny_warnings: bool,
    /// List every diagnostic code with a summary and exit.
    #[arg(long)]
    explain: bool,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.explain {
        for (code, summary) in sigil_rule::codes::ALL {
            writeln!(out, "{code}  {summary}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let started = std::time::Instant::now();
    let set = crate::bundled::load_rules(&args.paths);
    let mut report = set.report();
    if args.quiet {
        report.diagnostics.retain(|d| d.severity == Severity::Error);
    }
    match args.format {
        TextOrJson::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        TextOrJson::Text => {
            let color = args.color.stdout();
            let sources: HashMap<&str, &str> =
                set.files.iter().map(|f| (f.display_path.as_str(), &*f.source)).collect();
            for d in &report.diagnostics {
                render_text(&mut out, d, sources.get(d.file.as_str()).copied(), color)?;
            }
            let summary = format!(
                "checked {} rules in {} files in {:.2}s: {} errors, {} warnings",
                report.rules,
                report.files,
                started.elapsed().as_secs_f64(),
                report.errors,
                report.warnings
            );
            if report.diagnostics.is_empty() { writeln!(out, "{summary}")? } else { writeln!(out, "\n{summary}")? }
        }
    }
    out.flush()?;
    let failed = report.errors > 0 || (args.deny_warnings && report.warnings > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
