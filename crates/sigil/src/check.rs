//! `sigil check`: validate rules like a compiler, with file:line:column diagnostics; apply safe fixes.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use sigil_check::registry::{self, REGISTRY, Run};
use sigil_check::{Config, Selection};
use sigil_diagnostics::{Report, Severity, render_text};

use crate::term::{ColorChoice, TextOrJson};

/// Validate Sigma rules and report problems as file:line:column diagnostics.
///
/// Walks the given files and folders (folders recursively, for .yml and .yaml), parses every rule, correlation
/// and filter, and checks YAML syntax, required attributes, ids, dates, tags, modifiers and their chains,
/// regular expressions, CIDR values, conditions and references between rules (duplicate ids, correlations that
/// name unknown rules). Each finding has a stable code (SG101...) — `--explain` lists them, `--explain CODE`
/// documents one.
///
/// Which checks run: `--select`/`--ignore` take codes (SG301), prefixes (SG3), families (file, metadata,
/// detection, references) or check names (unknown-modifier); a `sigil.toml` in the rule folder or one of its
/// parents may set the same under `[check]` (`select = [...]`, `ignore = [...]`).
///
/// `--fix` applies safe fixes in place (Sigma 1 dates, underscore tags, renamed ATT&CK tags, a misspelled
/// modifier with one obvious correction), changing nothing else in the file; `--diff` prints them as a diff
/// instead.
///
/// Exit status: 0 no errors (warnings allowed), 1 at least one error (or a warning with --deny-warnings; with
/// --diff: fixes to apply), 2 bad usage.
///
/// Examples:
///   sigil check rules/
///   sigil check sigma/rules* --format json | jq '.diagnostics[] | select(.severity == "error")'
///   sigil check rules/ --select metadata --ignore SG212
///   sigil check rules/ --fix
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
    /// List every diagnostic code with a summary, or document one (a code or a check name), and exit.
    #[arg(long, value_name = "CODE", num_args = 0..=1, default_missing_value = "")]
    explain: Option<String>,
    /// Only these checks: codes, prefixes, families or names (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "SELECTOR")]
    select: Vec<String>,
    /// Skip these checks (same forms as --select).
    #[arg(long, value_delimiter = ',', value_name = "SELECTOR")]
    ignore: Vec<String>,
    /// Read this configuration instead of looking for sigil.toml next to the rules.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Apply safe fixes to the files, then report what is left.
    #[arg(long, conflicts_with = "diff")]
    fix: bool,
    /// Print the safe fixes as a unified diff without changing any file.
    #[arg(long)]
    diff: bool,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

fn explain(out: &mut dyn Write, which: &str) -> anyhow::Result<ExitCode> {
    if which.is_empty() {
        for c in REGISTRY {
            let fix = if c.fix { ", fix" } else { "" };
            writeln!(out, "{}  {:<58} [{}, {}{fix}]", c.code, c.summary, c.name, c.severity)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(c) = registry::lookup(which) else {
        eprintln!("sigil: unknown code or check name '{which}' (sigil check --explain lists them)");
        return Ok(ExitCode::from(2));
    };
    let by = match c.run {
        Run::Parser => "the parser",
        Run::Document(_) => "a check of each document",
        Run::Set(_) => "a check across all files",
    };
    writeln!(out, "{} {}: {}", c.code, c.name, c.summary)?;
    writeln!(
        out,
        "family: {}, default severity: {}, fix: {}, reported by {by}",
        c.family.name(),
        c.severity,
        if c.fix { "yes" } else { "no" }
    )?;
    writeln!(out, "\n{}", c.docs)?;
    Ok(ExitCode::SUCCESS)
}

fn selection(args: &Args) -> anyhow::Result<Selection> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => {
            let start = args.paths.first().cloned().unwrap_or_else(|| PathBuf::from("."));
            Config::discover(&start)
        }
    };
    let config = match path {
        Some(p) => Config::read(&p)?,
        None => Config::default(),
    };
    Ok(config.with_args(&args.select, &args.ignore).selection()?)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Some(which) = &args.explain {
        return explain(&mut out, which);
    }
    let selection = match selection(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigil: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if (args.fix || args.diff) && args.paths.is_empty() {
        eprintln!("sigil: --fix and --diff need rule files or folders (the bundled rules cannot be changed)");
        return Ok(ExitCode::from(2));
    }
    let started = std::time::Instant::now();
    let mut set = crate::bundled::load_rules(&args.paths);
    if args.fix || args.diff {
        let (changed, fixes) = apply_fixes(&mut out, &set, &selection, args.diff)?;
        if args.diff {
            out.flush()?;
            return Ok(if changed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS });
        }
        if changed > 0 {
            set = crate::bundled::load_rules(&args.paths);
        }
        eprintln!(
            "sigil: applied {} in {}",
            sigil_printer::text::count(fixes as u64, "fix", "fixes"),
            sigil_printer::text::count_s(changed as u64, "file")
        );
    }
    let mut report = set.report();
    report.diagnostics.retain(|d| selection.is_enabled(d.code) && (!args.quiet || d.severity == Severity::Error));
    let report = Report::new(report.files, report.rules, report.diagnostics);
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

/// Fixes every file with an enabled, fixable finding; with `diff_only`, prints the diff instead of writing.
/// Returns (files changed, fixes applied).
fn apply_fixes(
    out: &mut dyn Write,
    set: &sigil_rule::RuleSet,
    selection: &Selection,
    diff_only: bool,
) -> anyhow::Result<(usize, usize)> {
    let (mut files, mut fixes) = (0, 0);
    for f in &set.files {
        if !f.diagnostics().any(|d| d.fix.is_some() && selection.is_enabled(d.code)) {
            continue;
        }
        // Read the bytes again: the loaded text has no byte order mark, and the file must keep it.
        let Ok(text) = std::fs::read_to_string(&f.path) else { continue };
        let fixed = sigil_check::fix::fix_text(&f.display_path, &text, selection);
        if fixed.text == text {
            continue;
        }
        files += 1;
        fixes += fixed.applied.len();
        if diff_only {
            out.write_all(sigil_check::fix::diff(&f.display_path, &text, &fixed.text).as_bytes())?;
        } else {
            std::fs::write(&f.path, fixed.text.as_bytes())
                .map_err(|e| anyhow::anyhow!("{}: cannot write the fixed file: {e}", f.display_path))?;
        }
    }
    Ok((files, fixes))
}
