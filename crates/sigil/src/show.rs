//! `sigil show`: a rule's catalog page in the terminal, as JSON or as Markdown.

use std::io::Write;
use std::process::ExitCode;

use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::OwoColorize as _;
use sigil_catalog::markdown;
use sigil_catalog::{Catalog, INDICATORS_INTRO, MatchedBy, PageView, RulePage};
use sigil_diagnostics::sanitize;

use crate::catalog_args::CatalogArgs;
use crate::term::ColorChoice;

/// Show a rule's catalog page: what it detects, where, and how.
///
/// The page has the sections of the sigil catalog: the rule's metadata; MITRE ATT&CK coverage (tactic →
/// techniques, old tags translated); event coverage (the Windows events whose schema carries every field the
/// rule uses, after field mapping: a rule reading ParentCommandLine is on Sysmon 1 but not on Security 4688);
/// the rule body; stages (stage 0 the condition, then each search identifier, with how it joins the condition);
/// and indicators, one per field, kind and value, with how many other rules of the loaded corpus use the same
/// one, per source.
///
/// RULE is a rule id, a page key, a title (or words of it), a file path (or its last components) or a file
/// name. Give RULE before --rules, which takes several paths.
///
/// Exit status: 0 shown, 2 no rule or several rules match (the candidates are listed), or bad usage.
///
/// Examples:
///   sigil show 6f0c3b1e-2a4d-4c8e-9b7a-1d2e3f405162
///   sigil show 74a2b202-73e0-4693-9a3a-9d36146d0775 --rules sigma=../sigma/rules*
///   sigil show "MeshAgent Command Execution" --rules sigma=rules team=private/rules --format markdown
///   sigil show proc_creation_win_remote_access_tools_meshagent_exec.yml --rules rules/ --format json | jq .events
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The rule: id, key, title or words of it, file path or file name.
    rule: String,
    #[command(flatten)]
    catalog: CatalogArgs,
    /// Output format: text (terminal page), json (the page object; an array with --all) or markdown.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// When several rules match (a file with a rule and a correlation, an id in two sources), show them all.
    #[arg(long)]
    all: bool,
    /// When to use colours.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = args.catalog.load()?;
    let (found, matched) = catalog.resolve(&args.rule);
    let pages: Vec<&RulePage> = found.iter().filter_map(|&i| catalog.page(i)).collect();
    if pages.is_empty() {
        eprintln!(
            "sigil: error: no rule matches '{}' among {} rules {}",
            sanitize(&args.rule),
            catalog.len(),
            from(&catalog)
        );
        eprintln!(
            "  = help: give a rule id, a title or words of it, a file path or a file name; `sigil stats` lists the corpus"
        );
        return Ok(ExitCode::from(2));
    }
    if pages.len() > 1 && !args.all {
        let how = match matched {
            Some(MatchedBy::Id) => "rules have this id",
            Some(MatchedBy::TitleWords) => "titles contain these words",
            Some(MatchedBy::Path | MatchedBy::FileName) => "documents are in this file",
            _ => "rules match",
        };
        eprintln!("sigil: error: {} {how}: '{}'; name one by its key, or use --all", pages.len(), sanitize(&args.rule));
        for p in pages.iter().take(20) {
            eprintln!("  {}  [{}] {}  ({})", p.key, p.source, sanitize(&p.title), p.path);
        }
        if pages.len() > 20 {
            eprintln!("  ... and {} more", pages.len() - 20);
        }
        return Ok(ExitCode::from(2));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json if args.all => serde_json::to_writer_pretty(&mut out, &pages)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, pages.first().copied().ok_or_else(|| anyhow::anyhow!("no page"))?)?
        }
        Format::Markdown => {
            for (n, p) in pages.iter().enumerate() {
                if n > 0 {
                    writeln!(out, "\n---\n")?;
                }
                out.write_all(markdown::page_markdown(&catalog.page_view(p)).as_bytes())?;
            }
        }
        Format::Text => {
            let color = args.color.stdout();
            for (n, p) in pages.iter().enumerate() {
                if n > 0 {
                    writeln!(out, "\n{}\n", "─".repeat(60))?;
                }
                write_page(&mut out, &catalog.page_view(p), color)?;
            }
        }
    }
    if args.format == Format::Json {
        writeln!(out)?;
    }
    out.flush()?;
    crate::catalog_args::done_with(catalog);
    Ok(ExitCode::SUCCESS)
}

fn from(catalog: &Catalog) -> String {
    let names: Vec<&str> = catalog.sources().iter().map(|s| s.name.as_str()).collect();
    match names.as_slice() {
        ["bundled"] => "bundled with sigil (use --rules PATH for your rules)".to_string(),
        _ => format!("in {}", names.join(", ")),
    }
}

/// Headings and dim text, coloured only when asked.
struct Style {
    color: bool,
}

impl Style {
    fn heading(&self, s: &str) -> String {
        if self.color { s.bold().underline().to_string() } else { s.to_string() }
    }

    fn title(&self, s: &str) -> String {
        if self.color { s.bold().to_string() } else { s.to_string() }
    }

    fn dim(&self, s: &str) -> String {
        if self.color { s.dimmed().to_string() } else { s.to_string() }
    }
}

pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{}", sanitize(l))).collect::<Vec<_>>().join("\n")
}

/// The page as the catalog lays it out ([`PageView`]), for a terminal.
pub(crate) fn write_page(out: &mut dyn Write, v: &PageView, color: bool) -> std::io::Result<()> {
    let s = Style { color };
    let crumbs: Vec<&str> = v.breadcrumb.iter().map(String::as_str).collect();
    writeln!(out, "{}", s.dim(&sanitize(&crumbs.join(" › "))))?;
    writeln!(out, "{}", s.title(&sanitize(&v.title)))?;
    if let Some(d) = &v.description {
        for line in d.lines() {
            writeln!(out, "{}", sanitize(line.trim_end()))?;
        }
    }
    writeln!(out)?;
    for m in &v.meta {
        writeln!(out, "  {:<11}{}", s.dim(m.label), sanitize(&m.value))?;
    }

    writeln!(out, "\n{}", s.heading("MITRE ATT&CK coverage"))?;
    if v.attack.rows.is_empty() {
        writeln!(out, "{}", s.dim("(no ATT&CK tactic or technique)"))?;
    } else {
        let mut t = table(&["Tactic", "Techniques"]);
        for r in &v.attack.rows {
            let techs: Vec<String> = r
                .techniques
                .iter()
                .map(|t| {
                    let via = t.via.as_ref().map(|v| format!(" (tagged {v})")).unwrap_or_default();
                    format!("{} {}{via}", t.id, t.name)
                })
                .collect();
            t.add_row(vec![r.tactic.clone(), techs.join("\n")]);
        }
        writeln!(out, "{t}")?;
    }
    for n in &v.attack.notes {
        writeln!(out, "{}: {}", s.dim(n.label), sanitize(&n.items.join(", ")))?;
    }

    writeln!(out, "\n{}", s.heading("Event coverage"))?;
    if let Some(summary) = &v.events.summary {
        writeln!(out, "{}", sanitize(summary))?;
    } else if !v.events.rows.is_empty() {
        let mut t = table(&["Provider", "Event", "Title"]);
        const SHOWN: usize = 25;
        for e in v.events.rows.iter().take(SHOWN) {
            t.add_row(vec![e.provider.clone(), format!("Event ID {}", e.event_id), e.title.clone()]);
        }
        writeln!(out, "{t}")?;
        if v.events.rows.len() > SHOWN {
            let more = format!("... and {} more (--format json lists all)", v.events.rows.len() - SHOWN);
            writeln!(out, "{}", s.dim(&more))?;
        }
    }
    if let Some(note) = &v.events.note {
        writeln!(out, "{}", s.dim(&sanitize(note)))?;
    }
    if !v.events.reads.is_empty() {
        writeln!(out, "{} {}", s.dim("Reads:"), sanitize(&v.events.reads.join(", ")))?;
    }
    if !v.events.record_kinds.is_empty() {
        let kinds = v.events.record_kinds.join(", ");
        writeln!(out, "{} {kinds}  {}", s.dim("Records it can fire on:"), s.dim("(sigil events KIND)"))?;
    }

    if let Some(c) = &v.correlation {
        writeln!(out, "\n{}", s.heading("Correlation"))?;
        writeln!(out, "  {:<11}{}", s.dim("Type"), c.kind)?;
        for r in &c.rules {
            writeln!(out, "  {:<11}{}", s.dim("Rule"), sanitize(&r.long_label()))?;
        }
        if !c.group_by.is_empty() {
            writeln!(out, "  {:<11}{}", s.dim("Group by"), sanitize(&c.group_by))?;
        }
        if let Some(ts) = &c.timespan {
            writeln!(out, "  {:<11}{}", s.dim("Timespan"), sanitize(ts))?;
        }
        if let Some(cond) = &c.condition {
            writeln!(out, "  {:<11}{}", s.dim("Condition"), sanitize(cond))?;
        }
        for a in &c.aliases {
            writeln!(out, "  {:<11}{}", s.dim("Alias"), sanitize(a))?;
        }
        writeln!(out, "  {:<11}{}", s.dim("Generate"), c.generate)?;
    }
    if let Some(f) = &v.filter {
        writeln!(out, "\n{}", s.heading("Filter"))?;
        if f.any {
            writeln!(out, "  applies to every rule whose logsource matches ({} in the catalog)", f.applies_to.len())?;
        } else {
            for r in &f.rules {
                writeln!(out, "  {}", sanitize(&r.label))?;
            }
        }
    }

    writeln!(out, "\n{}", s.heading("Rule body yaml"))?;
    writeln!(out, "{}", indent(&v.yaml, "  "))?;

    if !v.stages.is_empty() {
        writeln!(out, "\n{}", s.heading("Stages and Predicates"))?;
        for st in &v.stages {
            let join =
                st.join.as_ref().map(|j| format!("  {}", s.dim(&format!("({})", sanitize(j))))).unwrap_or_default();
            writeln!(out, "{}{join}", s.title(&sanitize(&st.heading)))?;
            writeln!(out, "{}", indent(&st.text, "  "))?;
            if let Some(n) = &st.normalized {
                writeln!(out, "  {} {}", s.dim("normalised:"), sanitize(n))?;
            }
        }
    }

    if !v.indicators.is_empty() {
        writeln!(out, "\n{}", s.heading("Indicators"))?;
        writeln!(out, "{}", s.dim(INDICATORS_INTRO))?;
        let mut t = table(&["Field", "Kind", "Values"]);
        for g in &v.indicators {
            let values: Vec<String> = g
                .values
                .iter()
                .map(|i| {
                    let mut v = sanitize(&sigil_rule::normalize::quote_str(&i.value)).into_owned();
                    for n in &i.notes {
                        v.push_str(" · ");
                        v.push_str(n);
                    }
                    if i.excluded {
                        v.push_str(" · excluded");
                    }
                    if !i.label.is_empty() {
                        v.push_str("  ");
                        v.push_str(&i.label);
                    }
                    v
                })
                .collect();
            t.add_row(vec![sanitize(&g.field).into_owned(), g.kind.to_string(), values.join("\n")]);
        }
        writeln!(out, "{t}")?;
    }

    for (label, list) in
        [("References", &v.references), ("False positives", &v.falsepositives), ("Other tags", &v.other_tags)]
    {
        if !list.is_empty() {
            writeln!(out, "\n{}", s.heading(label))?;
            for item in list {
                writeln!(out, "  - {}", sanitize(item))?;
            }
        }
    }
    if !v.related.is_empty() {
        writeln!(out, "\n{}", s.heading("Related rules"))?;
        for r in &v.related {
            writeln!(out, "  - {}: {}", r.relation, sanitize(&r.link.long_label()))?;
        }
    }
    if let Some(r) = &v.regression {
        writeln!(out, "\n{}", s.heading("Regression test"))?;
        writeln!(out, "  {}", sanitize(r))?;
    }
    if !v.diagnostics.is_empty() {
        writeln!(out, "\n{}", s.heading("Checker findings"))?;
        for d in &v.diagnostics {
            writeln!(out, "  {}", sanitize(d))?;
        }
    }
    Ok(())
}
