//! `sigil stats`: corpus-wide figures of a rule catalog.

use std::io::Write;
use std::process::ExitCode;

use sigil_catalog::{Count, CoverageGap};
use sigil_diagnostics::sanitize;

use crate::catalog_args::CatalogArgs;
use crate::show::table;

use crate::term::TextOrJson;

/// Corpus-wide figures of a rule catalog.
///
/// Rules by source, status, level, logsource, tactic and technique; the indicators most rules share (same
/// field, kind and value, compared as Sigma compares them); rules with no ATT&CK tag; and rules that can fire
/// on no described Windows event, with the reason (an unmapped logsource, or the fields no event carries —
/// often a typo or a field only an enrichment pipeline adds).
///
/// The JSON shape (the same as the web API's /api/stats) is documented in docs/json.md.
///
/// Examples:
///   sigil stats --rules ../sigma/rules*
///   sigil stats --rules sigma=rules team=private --top 30
///   sigil stats --rules rules/ --format json | jq '.without_event[] | .missing_fields'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Rows per table in text output (0 for all).
    #[arg(long, default_value_t = 15, value_name = "N")]
    top: usize,
    /// Output format: text (aligned tables) or json (every figure, every list in full).
    #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = args.catalog.load()?;
    let s = catalog.stats();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.format == TextOrJson::Json {
        serde_json::to_writer_pretty(&mut out, &catalog.stats_report())?;
        writeln!(out)?;
        out.flush()?;
        crate::catalog_args::done_with(catalog);
        return Ok(ExitCode::SUCCESS);
    }
    let top = if args.top == 0 { usize::MAX } else { args.top };
    let sources: Vec<String> = catalog.sources().iter().map(|s| format!("{} ({})", s.name, s.pages)).collect();
    writeln!(
        out,
        "{} pages from {} in {:.2}s; {} distinct indicators; {} files failed to load",
        s.pages,
        sources.join(", "),
        catalog.load_time().as_secs_f64(),
        s.distinct_indicators,
        s.failed_files
    )?;
    if s.by_kind.len() > 1 {
        let kinds: Vec<String> = s.by_kind.iter().map(|c| format!("{} {}", c.count, c.value)).collect();
        writeln!(out, "{}", kinds.join(", "))?;
    }
    section(&mut out, "By status", "Status", &s.by_status, top)?;
    section(&mut out, "By level", "Level", &s.by_level, top)?;
    section(&mut out, "By logsource", "Logsource", &s.by_logsource, top)?;
    let tactics: Vec<Count> = s.by_tactic.iter().filter(|c| c.count > 0).cloned().collect();
    section(&mut out, "By tactic", "Tactic", &tactics, usize::MAX)?;
    section(&mut out, "By technique", "Technique", &s.by_technique, top)?;
    families_disagree(&mut out, &catalog, top)?;

    writeln!(out, "\nMost shared indicators")?;
    let mut t = table(&["Field", "Kind", "Value", "Rules", "By source"]);
    for i in s.top_indicators.iter().take(top) {
        let mut kind = i.kind.as_str().to_string();
        for n in &i.notes {
            kind.push_str(" · ");
            kind.push_str(n);
        }
        t.add_row(vec![
            i.field.clone().unwrap_or_else(|| "(keyword)".into()),
            kind,
            sanitize(&sigil_rule::normalize::quote_str(&i.value)).into_owned(),
            i.rules.to_string(),
            i.by_source.label(),
        ]);
    }
    writeln!(out, "{t}")?;

    writeln!(out, "\nRules with no ATT&CK tag: {}", s.without_attack.len())?;
    for l in s.without_attack.iter().take(top) {
        writeln!(
            out,
            "  {}  {}",
            l.key.as_deref().unwrap_or(&l.reference),
            sanitize(l.title.as_deref().unwrap_or_default())
        )?;
    }
    more(&mut out, s.without_attack.len(), top)?;

    writeln!(out, "\nRules that can fire on no described event: {}", s.without_event.len())?;
    let mut reasons: Vec<(String, usize)> = Vec::new();
    for n in &s.without_event {
        let reason = n.gap.map_or_else(|| n.reason.clone(), |g| g.label().to_string());
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += 1,
            None => reasons.push((reason, 1)),
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if !reasons.is_empty() {
        let mut t = table(&["Reason", "Rules"]);
        for (r, c) in reasons.iter().take(top) {
            t.add_row(vec![sanitize(r).into_owned(), c.to_string()]);
        }
        writeln!(out, "{t}")?;
    }
    let with_fields: Vec<_> = s.without_event.iter().filter(|n| n.gap == Some(CoverageGap::MissingFields)).collect();
    if !with_fields.is_empty() {
        writeln!(out, "Windows rules whose fields no described event carries:")?;
        for n in with_fields.iter().take(top) {
            let key = n.rule.key.as_deref().unwrap_or(&n.rule.reference);
            writeln!(out, "  {key}  {}: {}", n.logsource, sanitize(&n.missing_fields.join(", ")))?;
        }
        more(&mut out, with_fields.len(), top)?;
    }
    out.flush()?;
    crate::catalog_args::done_with(catalog);
    Ok(ExitCode::SUCCESS)
}

/// With several rule families that tag ATT&CK: the techniques some cover and others do not, rules per family,
/// one family alone first (the web catalog's `/attack/disagreements`).
fn families_disagree(out: &mut dyn Write, catalog: &sigil_catalog::Catalog, top: usize) -> std::io::Result<()> {
    let fa = catalog.attack_by_family();
    if !fa.compares() {
        return Ok(());
    }
    let list = fa.disagreements(&sigil_catalog::DisagreementOrder::Families, None);
    let parents = fa.techniques.iter().filter(|t| !t.id.contains('.')).count();
    writeln!(out, "\nATT&CK techniques where rule families disagree: {} of {parents}", list.len())?;
    let labels: Vec<String> = fa.families.iter().map(|f| sigil_catalog::family_label(f)).collect();
    let mut heads: Vec<&str> = vec!["Technique"];
    heads.extend(labels.iter().map(String::as_str));
    heads.push("Covered by");
    let mut t = table(&heads);
    for d in list.iter().take(top) {
        let mut row = vec![sanitize(&format!("{} {}", d.id, d.name)).into_owned()];
        row.extend(d.counts.iter().map(usize::to_string));
        row.push(d.label.clone());
        t.add_row(row);
    }
    writeln!(out, "{t}")?;
    more(out, list.len(), top)
}

fn section(out: &mut dyn Write, heading: &str, column: &str, counts: &[Count], top: usize) -> std::io::Result<()> {
    writeln!(out, "\n{heading}")?;
    let mut t = table(&[column, "Rules"]);
    for c in counts.iter().take(top) {
        t.add_row(vec![sanitize(&c.label).into_owned(), c.count.to_string()]);
    }
    writeln!(out, "{t}")?;
    more(out, counts.len(), top)
}

fn more(out: &mut dyn Write, len: usize, top: usize) -> std::io::Result<()> {
    if len > top {
        writeln!(out, "  ... and {} more (--top 0 shows all)", len - top)?;
    }
    Ok(())
}
