//! `sigil show`: a rule's catalog page in the terminal, as JSON or as Markdown.

use std::io::Write;
use std::process::ExitCode;

use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::OwoColorize as _;
use sigil_catalog::markdown::{self, INDICATORS_INTRO};
use sigil_catalog::{Catalog, MatchedBy, RuleKind, RulePage};
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
                out.write_all(markdown::page_markdown(p).as_bytes())?;
            }
        }
        Format::Text => {
            let color = args.color.stdout();
            for (n, p) in pages.iter().enumerate() {
                if n > 0 {
                    writeln!(out, "\n{}\n", "─".repeat(60))?;
                }
                write_page(&mut out, p, color)?;
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

/// The page as the catalog shows it, for a terminal.
pub(crate) fn write_page(out: &mut dyn Write, p: &RulePage, color: bool) -> std::io::Result<()> {
    let s = Style { color };
    let kind = match p.kind {
        RuleKind::Rule => String::new(),
        other => format!(" › {}", other.as_str()),
    };
    writeln!(out, "{}", s.dim(&format!("Detection rules › Sigma › {}{kind}", p.source)))?;
    writeln!(out, "{}", s.title(&sanitize(p.title.trim())))?;
    if let Some(d) = &p.description {
        for line in d.trim().lines() {
            writeln!(out, "{}", sanitize(line.trim_end()))?;
        }
    }
    writeln!(out)?;
    let date = match (&p.date, &p.modified) {
        (Some(d), Some(m)) => format!("{d} (modified {m})"),
        (Some(d), None) => d.clone(),
        (None, Some(m)) => format!("modified {m}"),
        (None, None) => String::new(),
    };
    let meta: Vec<(&str, String)> = vec![
        ("ID", p.id.clone().unwrap_or_default()),
        ("Status", p.status.clone().unwrap_or_default()),
        ("Severity", p.level.clone().unwrap_or_default()),
        ("Logsource", if p.kind == RuleKind::Correlation { String::new() } else { p.logsource_label() }),
        ("Author", p.author.clone().unwrap_or_default()),
        ("Date", date),
        ("License", p.license.clone().unwrap_or_default()),
        ("Tags", p.tags.join(", ")),
        ("Source", format!("{} · {}", p.source, p.path)),
        (
            "Regression",
            p.regression.as_ref().map(|r| r.path.clone().unwrap_or_else(|| r.samples.join(", "))).unwrap_or_default(),
        ),
    ];
    for (k, v) in meta.into_iter().filter(|(_, v)| !v.is_empty()) {
        writeln!(out, "  {:<11}{}", s.dim(k), sanitize(&v))?;
    }

    writeln!(out, "\n{}", s.heading("MITRE ATT&CK coverage"))?;
    if p.attack.is_empty() {
        writeln!(out, "{}", s.dim("(no ATT&CK tactic or technique)"))?;
    } else {
        let mut t = table(&["Tactic", "Techniques"]);
        for r in &p.attack {
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
    let o = &p.attack_other;
    for (label, list) in [
        ("Groups", &o.groups),
        ("Software", &o.software),
        ("Data sources", &o.data_sources),
        ("Unknown ATT&CK tags", &o.unknown),
        ("Retired ATT&CK tags", &o.retired),
        ("Translated", &o.notes),
    ] {
        if !list.is_empty() {
            writeln!(out, "{}: {}", s.dim(label), sanitize(&list.join("; ")))?;
        }
    }

    writeln!(out, "\n{}", s.heading("Event coverage"))?;
    if p.events.is_empty() {
        let note = p.coverage.note.clone().unwrap_or_else(|| "no described event".to_string());
        writeln!(out, "{}", s.dim(&format!("({})", sanitize(&note))))?;
        if !p.coverage.channels.is_empty() {
            writeln!(out, "{} {}", s.dim("Reads:"), p.coverage.channels.join(", "))?;
        }
    } else {
        let mut t = table(&["Provider", "Event", "Title"]);
        const SHOWN: usize = 25;
        for e in p.events.iter().take(SHOWN) {
            t.add_row(vec![e.provider.clone(), format!("Event ID {}", e.event_id), e.title.clone()]);
        }
        writeln!(out, "{t}")?;
        if p.events.len() > SHOWN {
            writeln!(out, "{}", s.dim(&format!("... and {} more (--format json lists all)", p.events.len() - SHOWN)))?;
        }
        if let Some(note) = p.coverage.note.as_ref().filter(|_| p.coverage.by_branch) {
            writeln!(out, "{}", s.dim(&sanitize(note)))?;
        }
    }

    if let Some(c) = &p.correlation {
        writeln!(out, "\n{}", s.heading("Correlation"))?;
        writeln!(out, "  {:<11}{}", s.dim("Type"), c.kind)?;
        for r in &c.rules {
            let shown = r
                .title
                .as_ref()
                .map_or_else(|| format!("{} (not in the catalog)", r.reference), |t| format!("{t} [{}]", r.reference));
            writeln!(out, "  {:<11}{}", s.dim("Rule"), sanitize(&shown))?;
        }
        if !c.group_by.is_empty() {
            writeln!(out, "  {:<11}{}", s.dim("Group by"), c.group_by.join(", "))?;
        }
        if let Some(ts) = &c.timespan {
            writeln!(out, "  {:<11}{ts}", s.dim("Timespan"))?;
        }
        if let Some(cond) = &c.condition {
            writeln!(out, "  {:<11}{}", s.dim("Condition"), sanitize(cond))?;
        }
        for a in &c.aliases {
            let fields: Vec<String> = a.fields.iter().map(|(r, f)| format!("{r}: {f}")).collect();
            writeln!(out, "  {:<11}{} = {}", s.dim("Alias"), sanitize(&a.name), sanitize(&fields.join(", ")))?;
        }
        let generate =
            if c.generate { "yes: the rules alert on their own too" } else { "no: only this correlation alerts" };
        writeln!(out, "  {:<11}{generate}", s.dim("Generate"))?;
    }
    if let Some(f) = &p.filter {
        writeln!(out, "\n{}", s.heading("Filter"))?;
        if f.any {
            writeln!(out, "  applies to every rule whose logsource matches ({} in the catalog)", f.applies_to.len())?;
        } else {
            for r in &f.rules {
                writeln!(out, "  {}", sanitize(r.title.as_deref().unwrap_or(&r.reference)))?;
            }
        }
    }

    writeln!(out, "\n{}", s.heading("Rule body yaml"))?;
    writeln!(out, "{}", indent(p.yaml.trim_end(), "  "))?;

    if !p.stages.is_empty() {
        writeln!(out, "\n{}", s.heading("Stages and Predicates"))?;
        for st in &p.stages {
            let join = markdown::stage_join(st)
                .map(|j| format!("  {}", s.dim(&format!("({})", sanitize(&j)))))
                .unwrap_or_default();
            writeln!(out, "{}{join}", s.title(&markdown::stage_heading(st)))?;
            writeln!(out, "{}", indent(st.text.trim_end(), "  "))?;
            if st.stage == 0
                && let Some(n) = &st.normalized
                && n != &st.text
            {
                writeln!(out, "  {} {}", s.dim("normalised:"), sanitize(n))?;
            }
        }
    }

    if !p.indicators.is_empty() {
        writeln!(out, "\n{}", s.heading("Indicators"))?;
        writeln!(out, "{}", s.dim(INDICATORS_INTRO))?;
        let mut t = table(&["Field", "Kind", "Values"]);
        for group in markdown::group_indicators(&p.indicators) {
            let Some(first) = group.first() else { continue };
            let values: Vec<String> = group
                .iter()
                .map(|i| {
                    let c = markdown::corpus_label(i);
                    let v = sanitize(&sigil_rule::normalize::quote_str(&i.value)).into_owned();
                    if c.is_empty() { v } else { format!("{v}  {c}") }
                })
                .collect();
            t.add_row(vec![markdown::field_label(first).to_string(), markdown::kind_label(first), values.join("\n")]);
        }
        writeln!(out, "{t}")?;
    }

    for (label, list) in [("References", &p.references), ("False positives", &p.falsepositives)] {
        if !list.is_empty() {
            writeln!(out, "\n{}", s.heading(label))?;
            for item in list {
                writeln!(out, "  - {}", sanitize(item.trim()))?;
            }
        }
    }
    if !p.related.is_empty() {
        writeln!(out, "\n{}", s.heading("Related rules"))?;
        for r in &p.related {
            let title = r.title.as_deref().unwrap_or("(not in the catalog)");
            writeln!(out, "  - {} {} {}", r.kind, r.id, sanitize(title))?;
        }
    }
    for (label, links) in [("Correlated by", &p.correlated_by), ("Filtered by", &p.filtered_by)] {
        if !links.is_empty() {
            writeln!(out, "\n{}", s.heading(label))?;
            for l in links {
                let shown = match &l.title {
                    Some(t) if *t != l.reference => format!("{t} [{}]", l.reference),
                    _ => l.reference.clone(),
                };
                writeln!(out, "  - {}", sanitize(&shown))?;
            }
        }
    }
    if !p.diagnostics.is_empty() {
        writeln!(out, "\n{}", s.heading("Checker diagnostics"))?;
        for d in &p.diagnostics {
            writeln!(
                out,
                "  {}:{}:{}: {}[{}]: {}",
                d.file,
                d.line,
                d.column,
                d.severity,
                d.code,
                sanitize(&d.message)
            )?;
        }
    }
    Ok(())
}
