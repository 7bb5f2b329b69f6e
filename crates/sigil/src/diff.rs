//! `sigil diff`: what new or changed rules add to a corpus.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use sigil_analysis::diff::{Corpus, facts};

/// Compare new or changed rules with a corpus: duplicates, shared indicators, what they add.
///
/// For each rule of NEW_RULES: the corpus rules with the same detection logic after normalisation (duplicates:
/// the order of values, items and selections, the case of values, search names and field names a logsource's
/// routes rename do not matter), every indicator (field, kind, value) with the number of corpus rules that use
/// it too, the ATT&CK techniques and Windows events it covers that no corpus rule does, and the corpus rules
/// sharing the most indicators. A corpus rule with the same id (or path) is the rule's old version: the rule is
/// reported as changed (or unchanged) and not as its own duplicate.
///
///   sigil diff new_rule.yml --rules sigma/rules
///   sigil diff $(git diff --name-only main -- '*.yml') --rules sigma/rules --format markdown > comment.md
///   sigil diff rules/new/ --rules sigma/rules --fail-on-duplicate       # in CI
///
/// Exit status: 0, or 1 with --fail-on-duplicate when a rule duplicates a corpus rule; 2 on bad usage.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// New or changed rule files or folders.
    #[arg(required = true, value_name = "NEW_RULES")]
    new: Vec<PathBuf>,
    /// The corpus: rule files or folders.
    #[arg(long, short, num_args = 1.., required = true, value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit with status 1 when a rule duplicates a corpus rule.
    #[arg(long)]
    fail_on_duplicate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON object: `{"corpus_rules", "rules": [{"rule", "status", "duplicates", "indicators",
    /// "new_techniques", "new_events", "overlaps"}]}`.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for p in args.new.iter().chain(&args.rules) {
        if !p.exists() {
            anyhow::bail!("{}: no such file or folder", p.display());
        }
    }
    let knowledge = sigil_knowledge::Knowledge::builtin().map_err(|e| anyhow::anyhow!("{e}"))?;
    let load = |paths: &[PathBuf]| sigil_check::load(paths, &sigil_rule::LoadOptions::default());
    let new_set = load(&args.new);
    for f in new_set.files.iter().filter(|f| f.parsed.has_errors()) {
        eprintln!("warning: {}: skipped, the file has errors (run 'sigil check')", f.display_path);
    }
    let new = facts(&new_set, knowledge);
    if new.is_empty() {
        anyhow::bail!(
            "no rule to compare in {}",
            args.new.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let corpus = Corpus::new(facts(&load(&args.rules), knowledge));
    let diffs: Vec<_> = new.iter().map(|r| corpus.diff(r)).collect();
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => out.write_all(sigil_analysis::diff::text(&diffs, corpus.len()).as_bytes())?,
        Format::Markdown => out.write_all(sigil_analysis::diff::markdown(&diffs, corpus.len()).as_bytes())?,
        Format::Json => {
            let v = serde_json::json!({"corpus_rules": corpus.len(), "rules": diffs});
            writeln!(out, "{v}")?;
        }
    }
    let duplicate = diffs.iter().any(|d| !d.duplicates.is_empty());
    Ok(if args.fail_on_duplicate && duplicate { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
