//! Markdown rendering of a rule page, with the sections of the catalog's seed pages.

use std::fmt::Write;

use crate::indicator::Indicator;
use crate::page::{RuleKind, RulePage, Stage};

/// The sentence that introduces the indicator table.
pub const INDICATORS_INTRO: &str = "Each row is a field, operator, and value that the rule matches. The corpus column \
counts how many other rules in the catalog look for the same combination: high numbers point to widely-used, \
community-vetted indicators. Blank or 1 shows that the indicator is specific to this rule.";

/// `corpus 2 (sigma 2)`, or empty when no other rule has the indicator.
pub fn corpus_label(ind: &Indicator) -> String {
    if ind.corpus_count == 0 {
        String::new()
    } else {
        format!("corpus {} ({})", ind.corpus_count, ind.corpus_by_source.label())
    }
}

/// The field shown for an indicator: its name, or `(keyword)` for field-less values.
pub fn field_label(ind: &Indicator) -> &str {
    ind.field.as_deref().unwrap_or("(keyword)")
}

/// The kind shown for an indicator: the kind, with the transformations that are part of it (`match · windash`).
pub fn kind_label(ind: &Indicator) -> String {
    let mut s = ind.kind.as_str().to_string();
    for n in &ind.notes {
        s.push_str(" · ");
        s.push_str(n);
    }
    if ind.excluded {
        s.push_str(" · excluded");
    }
    s
}

/// The heading of a stage: `Stage 1: selection`.
pub fn stage_heading(s: &Stage) -> String {
    format!("Stage {}: {}", s.stage, s.name)
}

/// How a stage joins the condition, in words (`joins as 1 of selection_*; or: any of its maps`).
pub fn stage_join(s: &Stage) -> Option<String> {
    if s.stage == 0 {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    if s.join.is_empty() {
        parts.push("not used by the condition".to_string());
    } else {
        parts.push(format!("joins as {}", s.join.join("; ")));
    }
    match s.logic.as_deref() {
        Some("or") => parts.push("or: any one of its maps".to_string()),
        Some("keywords") => parts.push("or: any keyword".to_string()),
        Some("all keywords") => parts.push("and: every keyword".to_string()),
        _ => {}
    }
    Some(parts.join(" · "))
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

fn fence(s: &str) -> &'static str {
    if s.contains("```") { "~~~~" } else { "```" }
}

/// Renders a page as Markdown.
pub fn page_markdown(p: &RulePage) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Detection rules › Sigma\n\n# {}\n", p.title.trim());
    if let Some(d) = &p.description {
        let _ = writeln!(o, "{}\n", d.trim());
    }
    o.push_str("| | |\n|---|---|\n");
    let mut row = |k: &str, v: &str| {
        if !v.is_empty() {
            let _ = writeln!(o, "| {k} | {} |", cell(v));
        }
    };
    row("Kind", if p.kind == RuleKind::Rule { "" } else { p.kind.as_str() });
    row("ID", p.id.as_deref().unwrap_or_default());
    row("Status", p.status.as_deref().unwrap_or_default());
    row("Severity", p.level.as_deref().unwrap_or_default());
    row("Logsource", &if p.kind == RuleKind::Correlation { String::new() } else { p.logsource_label() });
    row("Author", p.author.as_deref().unwrap_or_default());
    let date = match (&p.date, &p.modified) {
        (Some(d), Some(m)) => format!("{d} (modified {m})"),
        (Some(d), None) => d.clone(),
        (None, Some(m)) => format!("modified {m}"),
        (None, None) => String::new(),
    };
    row("Date", &date);
    row("License", p.license.as_deref().unwrap_or_default());
    row("Tags", &p.tags.join(", "));
    row("Source", &format!("{} — {}", p.source, p.rel_path));
    o.push('\n');

    o.push_str("## MITRE ATT&CK coverage\n\n| Tactic | Techniques |\n|---|---|\n");
    for r in &p.attack {
        let techs: Vec<String> = r.techniques.iter().map(|t| format!("{} {}", t.id, t.name)).collect();
        let _ = writeln!(o, "| {} | {} |", cell(&r.tactic), cell(&techs.join("\n")));
    }
    let other = &p.attack_other;
    for (label, list) in [
        ("Groups", &other.groups),
        ("Software", &other.software),
        ("Data sources", &other.data_sources),
        ("Unknown ATT&CK tags", &other.unknown),
        ("Retired ATT&CK tags", &other.retired),
        ("Translated tags", &other.notes),
    ] {
        if !list.is_empty() {
            let _ = writeln!(o, "\n{label}: {}", list.join(", "));
        }
    }
    o.push('\n');

    o.push_str("## Event coverage\n\n| Provider | Event | Title |\n|---|---|---|\n");
    for e in &p.events {
        let _ = writeln!(o, "| {} | Event ID {} | {} |", cell(&e.provider), e.event_id, cell(&e.title));
    }
    if let Some(note) = &p.coverage.note {
        let _ = writeln!(o, "\n{}", note);
    }
    o.push('\n');

    let f = fence(&p.yaml);
    let _ = writeln!(o, "## Rule body yaml\n\n{f}yaml\n{}\n{f}\n", p.yaml.trim_end());

    if let Some(c) = &p.correlation {
        o.push_str("## Correlation\n\n");
        let _ = writeln!(o, "- Type: {}", c.kind);
        let rules: Vec<String> = c
            .rules
            .iter()
            .map(|r| r.title.clone().map_or_else(|| r.reference.clone(), |t| format!("{t} ({})", r.reference)))
            .collect();
        let _ = writeln!(o, "- Rules: {}", rules.join("; "));
        if !c.group_by.is_empty() {
            let _ = writeln!(o, "- Group by: {}", c.group_by.join(", "));
        }
        if let Some(t) = &c.timespan {
            let _ = writeln!(o, "- Timespan: {t}");
        }
        if let Some(cond) = &c.condition {
            let _ = writeln!(o, "- Condition: {cond}");
        }
        o.push('\n');
    }
    if let Some(fi) = &p.filter {
        o.push_str("## Filter\n\n");
        if fi.any {
            o.push_str("- Applies to every rule whose logsource matches\n");
        } else {
            let named: Vec<String> =
                fi.rules.iter().map(|r| r.title.clone().unwrap_or_else(|| r.reference.clone())).collect();
            let _ = writeln!(o, "- Rules: {}", named.join("; "));
        }
        let _ = writeln!(o, "- Applies to {} rule(s) in the catalog\n", fi.applies_to.len());
    }

    if !p.stages.is_empty() {
        o.push_str("## Stages and Predicates\n\n");
        for s in &p.stages {
            let _ = writeln!(o, "### {}\n", stage_heading(s));
            if let Some(j) = stage_join(s) {
                let _ = writeln!(o, "_{}_\n", j.replace('_', "\\_").replace('*', "\\*"));
            }
            let f = fence(&s.text);
            let lang = if s.stage == 0 { "" } else { "yaml" };
            let _ = writeln!(o, "{f}{lang}\n{}\n{f}\n", s.text.trim_end());
            if s.stage == 0
                && let Some(n) = &s.normalized
                && n != &s.text
            {
                let _ = writeln!(o, "Normalised: `{n}`\n");
            }
        }
    }

    if !p.indicators.is_empty() {
        let _ = writeln!(o, "## Indicators\n\n{INDICATORS_INTRO}\n\n| Field | Kind | Values |\n|---|---|---|");
        for group in group_indicators(&p.indicators) {
            let values: Vec<String> = group
                .iter()
                .map(|i| {
                    let c = corpus_label(i);
                    let v = format!("`{}`", i.value.replace('`', "'"));
                    if c.is_empty() { v } else { format!("{v} {c}") }
                })
                .collect();
            if let Some(first) = group.first() {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} |",
                    cell(field_label(first)),
                    cell(&kind_label(first)),
                    cell(&values.join("\n"))
                );
            }
        }
        o.push('\n');
    }

    let lists = [("References", &p.references), ("False positives", &p.falsepositives)];
    for (label, list) in lists {
        if !list.is_empty() {
            let _ = writeln!(o, "## {label}\n");
            for item in list {
                let _ = writeln!(o, "- {}", item.trim());
            }
            o.push('\n');
        }
    }
    if !p.related.is_empty() {
        o.push_str("## Related rules\n\n");
        for r in &p.related {
            let _ = writeln!(
                o,
                "- {} {} {}",
                r.kind,
                r.id,
                r.title.as_deref().map(|t| format!("({t})")).unwrap_or_default()
            );
        }
        o.push('\n');
    }
    for (label, links) in [("Correlated by", &p.correlated_by), ("Filtered by", &p.filtered_by)] {
        if !links.is_empty() {
            let _ = writeln!(o, "## {label}\n");
            for l in links {
                let _ = writeln!(o, "- {}", l.title.as_deref().unwrap_or(&l.reference));
            }
            o.push('\n');
        }
    }
    if let Some(r) = &p.regression {
        o.push_str("## Regression test\n\n");
        if let Some(path) = &r.path {
            let _ = writeln!(o, "- {path}");
        }
        for s in &r.samples {
            let _ = writeln!(o, "- {s}");
        }
        o.push('\n');
    }
    if !p.diagnostics.is_empty() {
        o.push_str("## Checker diagnostics\n\n");
        for d in &p.diagnostics {
            let _ = writeln!(o, "- {}:{}:{}: {}[{}]: {}", d.file, d.line, d.column, d.severity, d.code, d.message);
        }
        o.push('\n');
    }
    o.trim_end().to_string() + "\n"
}

/// Indicator rows grouped by (field, kind label), as the seed pages show them (one row, several values).
pub fn group_indicators(list: &[Indicator]) -> Vec<Vec<&Indicator>> {
    let mut out: Vec<Vec<&Indicator>> = Vec::new();
    for i in list {
        match out.last_mut() {
            Some(g) if g.first().is_some_and(|f| f.field == i.field && kind_label(f) == kind_label(i)) => g.push(i),
            _ => out.push(vec![i]),
        }
    }
    out
}
