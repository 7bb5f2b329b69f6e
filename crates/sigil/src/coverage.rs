//! `sigil coverage`: which rules your logs can feed.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use sigil_analysis::coverage::{LogProfile, assess};

/// Show what your logs hold and which rules can fire on them.
///
/// Reads the logs once and reports the channels, providers and record kinds present with their event ids and
/// the fields actually populated (with counts); then for every rule whether it can fire on these logs or why
/// not — its logsource is not in them, its event id never occurs, or it needs a field that is never populated
/// (Security 4688 without command-line auditing has no CommandLine) — and per ATT&CK technique how many rules
/// can fire. Routing and field mappings are the hunt's (data/logsources/).
///
///   sigil coverage logs/ --rules sigma/rules
///   sigil coverage Security.evtx --rules sigma/rules --format json | jq '.rules[] | select(.can_fire | not)'
///
/// Exit status: 0, or 2 on bad usage or when no input could be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Event files or folders (as for `sigil hunt`).
    #[arg(required = true, value_name = "LOGS")]
    paths: Vec<PathBuf>,
    /// Rule files or folders. Default: the bundled rules.
    #[arg(long, short, num_args = 1.., value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// A logsource mapping file that adds or replaces routes (as for `sigil hunt`).
    #[arg(long, value_name = "FILE")]
    mapping: Vec<PathBuf>,
    /// Also write the rules that can fire as a static catalog (as `sigil site` writes one) into this new or
    /// empty folder: its attack/index.html is the ATT&CK heat map of your coverage.
    #[arg(long, value_name = "OUT_DIR")]
    html: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Lines for people.
    Table,
    /// One JSON object (schema in the README).
    Json,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let knowledge = crate::hunt::load_knowledge(&args.mapping)?;
    for w in crate::hunt::check_rule_paths(&args.rules)? {
        eprintln!("warning: {w}");
    }
    let (profile, summary) = read_profile(&args.paths);
    // A path that does not exist (or cannot be opened) is skipped by the walk, not counted as a read error: name
    // it, and never report the coverage of logs that were not read.
    let mut unreadable = 0;
    for s in &summary.skipped {
        if let sigil_events::SkipReason::Unreadable(why) = &s.reason {
            eprintln!("warning: {}: cannot read: {why}", s.path.display());
            unreadable += 1;
        }
    }
    if summary.sources.iter().all(|s| s.events == 0) && (summary.errors() > 0 || unreadable > 0) {
        eprintln!("sigil: error: no input could be read");
        return Ok(ExitCode::from(2));
    }
    if let Some(out) = &args.html
        && out.exists()
        && (out.is_file() || std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true))
    {
        anyhow::bail!("--html {}: give a new or empty folder (nothing of yours is overwritten)", out.display());
    }
    let set = crate::bundled::load_rules(&args.rules);
    let report = assess(&set, &knowledge, &profile);
    if let Some(out) = &args.html {
        let firing: std::collections::HashSet<&str> =
            report.rules.iter().filter(|r| r.can_fire).map(|r| r.path.as_str()).collect();
        let files = set.files.iter().filter(|f| firing.contains(f.display_path.as_str())).cloned().collect();
        let firing_set = sigil_rule::RuleSet { files };
        let sources = [sigil_catalog::SourceSpec::new("coverage", args.rules.clone())];
        let opts = sigil_catalog::CatalogOptions { knowledge: Some(knowledge.as_ref().clone()), ..Default::default() };
        let catalog = sigil_catalog::Catalog::from_rule_set(&firing_set, &sources, &opts)?;
        let app = sigil_web::App::new(catalog).with_site_name("sigil coverage");
        let summary = sigil_web::write_site(&app, out, &sigil_web::ExportOptions::default())?;
        eprintln!(
            "sigil: wrote the {} rules that can fire ({} files) to {}; the heat map is {}",
            summary.rule_pages,
            summary.files,
            out.display(),
            out.join("attack/index.html").display()
        );
    }
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Table => out.write_all(sigil_analysis::coverage::text(&report).as_bytes())?,
        Format::Json => writeln!(out, "{}", serde_json::to_string(&report)?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One pass over the logs: the profile, and what was read (read errors are warnings).
pub(crate) fn read_profile(paths: &[PathBuf]) -> (LogProfile, sigil_events::ReadSummary) {
    let profile = Mutex::new(LogProfile::default());
    let summary = sigil_events::read_all(paths, &sigil_events::ReadOptions::default(), |batch| {
        let mut local = LogProfile::default();
        for e in &batch.events {
            local.add(e);
        }
        for e in &batch.errors {
            eprintln!("warning: {e}");
        }
        profile.lock().unwrap_or_else(std::sync::PoisonError::into_inner).merge(local);
    });
    (profile.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner), summary)
}
