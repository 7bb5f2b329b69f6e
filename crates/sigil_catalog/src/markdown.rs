//! Markdown rendering of a rule page: the [`PageView`] written with the sections of the catalog's seed pages.

use std::fmt::Write;

use crate::view::{INDICATORS_INTRO, PageView};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

fn fence(s: &str) -> &'static str {
    if s.contains("```") { "~~~~" } else { "```" }
}

/// Renders a laid-out page ([`crate::Catalog::page_view`]) as Markdown.
pub fn page_markdown(v: &PageView) -> String {
    let mut o = String::new();
    let crumbs: Vec<&str> = v.breadcrumb.iter().map(String::as_str).collect();
    let _ = writeln!(o, "{}\n\n# {}\n", crumbs.join(" › "), v.title);
    if let Some(d) = &v.description {
        let _ = writeln!(o, "{d}\n");
    }
    o.push_str("| | |\n|---|---|\n");
    if let Some(k) = v.kind {
        let _ = writeln!(o, "| Kind | {k} |");
    }
    for m in &v.meta {
        let _ = writeln!(o, "| {} | {} |", m.label, cell(&m.value));
    }
    o.push('\n');

    o.push_str("## MITRE ATT&CK coverage\n\n");
    if v.attack.rows.is_empty() {
        o.push_str("No ATT&CK tactic or technique.\n");
    } else {
        o.push_str("| Tactic | Techniques |\n|---|---|\n");
        for r in &v.attack.rows {
            let techs: Vec<String> = r
                .techniques
                .iter()
                .map(|t| {
                    let via = t.via.as_ref().map(|v| format!(" (tagged {v})")).unwrap_or_default();
                    format!("{} {}{via}", t.id, t.name)
                })
                .collect();
            let _ = writeln!(o, "| {} | {} |", cell(&r.tactic), cell(&techs.join("\n")));
        }
    }
    for n in &v.attack.notes {
        let _ = writeln!(o, "\n{}", n.line());
    }
    o.push('\n');

    o.push_str("## Event coverage\n\n");
    if let Some(s) = &v.events.summary {
        let _ = writeln!(o, "{s}");
    } else if !v.events.rows.is_empty() {
        o.push_str("| Provider | Event | Title |\n|---|---|---|\n");
        for e in &v.events.rows {
            let _ = writeln!(o, "| {} | Event ID {} | {} |", cell(&e.provider), e.event_id, cell(&e.title));
        }
    }
    if let Some(note) = &v.events.note {
        let _ = writeln!(o, "\n{note}");
    }
    if !v.events.reads.is_empty() {
        let _ = writeln!(o, "\nReads: {}", v.events.reads.join(", "));
    }
    if !v.events.record_kinds.is_empty() {
        let _ = writeln!(o, "\nRecords it can fire on: {}", v.events.record_kinds.join(", "));
    }
    o.push('\n');

    if let Some(c) = &v.correlation {
        o.push_str("## Correlation\n\n");
        let _ = writeln!(o, "- Type: {}", c.kind);
        for r in &c.rules {
            let _ = writeln!(o, "- Rule: {}", r.long_label());
        }
        if !c.group_by.is_empty() {
            let _ = writeln!(o, "- Group by: {}", c.group_by);
        }
        if let Some(t) = &c.timespan {
            let _ = writeln!(o, "- Timespan: {t}");
        }
        if let Some(cond) = &c.condition {
            let _ = writeln!(o, "- Condition: {cond}");
        }
        for a in &c.aliases {
            let _ = writeln!(o, "- Alias: {a}");
        }
        let _ = writeln!(o, "- Generate: {}\n", c.generate);
    }
    if let Some(fi) = &v.filter {
        o.push_str("## Filter\n\n");
        if fi.any {
            o.push_str("- Applies to every rule whose logsource matches\n");
        } else {
            let named: Vec<&str> = fi.rules.iter().map(|r| r.label.as_str()).collect();
            let _ = writeln!(o, "- Rules: {}", named.join("; "));
        }
        let _ = writeln!(o, "- Applies to {} rule(s) in the catalog\n", fi.applies_to.len());
    }

    let f = fence(&v.yaml);
    let _ = writeln!(o, "## Rule body yaml\n\n{f}yaml\n{}\n{f}\n", v.yaml);

    if !v.stages.is_empty() {
        o.push_str("## Stages and Predicates\n\n");
        for s in &v.stages {
            let _ = writeln!(o, "### {}\n", s.heading);
            if let Some(j) = &s.join {
                let _ = writeln!(o, "_{}_\n", j.replace('_', "\\_").replace('*', "\\*"));
            }
            let f = fence(&s.text);
            let lang = if s.number == 0 { "" } else { "yaml" };
            let _ = writeln!(o, "{f}{lang}\n{}\n{f}\n", s.text);
            if let Some(n) = &s.normalized {
                let _ = writeln!(o, "Normalised: `{n}`\n");
            }
        }
    }

    if !v.indicators.is_empty() {
        let _ = writeln!(o, "## Indicators\n\n{INDICATORS_INTRO}\n\n| Field | Kind | Values |\n|---|---|---|");
        for g in &v.indicators {
            let values: Vec<String> = g
                .values
                .iter()
                .map(|i| {
                    let mut s = format!("`{}`", i.value.replace('`', "'"));
                    for n in &i.notes {
                        let _ = write!(s, " · {n}");
                    }
                    if i.excluded {
                        s.push_str(" · excluded");
                    }
                    if !i.label.is_empty() {
                        let _ = write!(s, " {}", i.label);
                    }
                    s
                })
                .collect();
            let _ = writeln!(o, "| {} | {} | {} |", cell(&g.field), g.kind, cell(&values.join("\n")));
        }
        o.push('\n');
    }

    for (label, list) in [("References", &v.references), ("False positives", &v.falsepositives)] {
        if !list.is_empty() {
            let _ = writeln!(o, "## {label}\n");
            for item in list {
                let _ = writeln!(o, "- {item}");
            }
            o.push('\n');
        }
    }
    if !v.other_tags.is_empty() {
        let _ = writeln!(o, "## Other tags\n\n{}\n", v.other_tags.join(", "));
    }
    if !v.related.is_empty() {
        o.push_str("## Related rules\n\n");
        for r in &v.related {
            let _ = writeln!(o, "- {}: {}", r.relation, r.link.long_label());
        }
        o.push('\n');
    }
    if let Some(r) = &v.regression {
        let _ = writeln!(o, "## Regression test\n\n{r}\n");
    }
    if !v.diagnostics.is_empty() {
        o.push_str("## Checker findings\n\n");
        for d in &v.diagnostics {
            let _ = writeln!(o, "- {d}");
        }
        o.push('\n');
    }
    o.trim_end().to_string() + "\n"
}
