//! SG4xx: checks across the rule set (duplicate ids and names, references to rules not in the set).

use std::collections::HashMap;

use sigil_diagnostics::{Position, Span};
use sigil_rule::{Document, RuleFile};

use crate::context::{SetContext, SetReporter, label};

/// Where a document's id or name is written: (file index, position, span).
type Place = (usize, Position, Option<Span>);

/// The span of the token at `pos` in file `fi` (computed only for the few places reported).
fn span_in(files: &[RuleFile], fi: usize, pos: Position) -> Option<Span> {
    let f = files.get(fi)?;
    sigil_rule::token_span(&f.source, &sigil_diagnostics::LineIndex::new(&f.source), pos)
}

fn first_places(
    files: &[RuleFile],
    key: impl Fn(&Document) -> Option<(&str, Position)>,
) -> Vec<(String, Place, Place)> {
    let mut seen: HashMap<&str, Place> = HashMap::new();
    let mut dups = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        for d in &f.parsed.documents {
            let Some((value, pos)) = key(d) else { continue };
            let place = (fi, pos, None);
            match seen.get(value) {
                Some(first) => dups.push((value.to_string(), place, *first)),
                None => {
                    seen.insert(value, place);
                }
            }
        }
    }
    dups
}

fn report_duplicates(cx: &SetContext<'_>, r: &mut SetReporter<'_>, what: &str, dups: Vec<(String, Place, Place)>) {
    for (value, (fi, pos, _), (first_file, first_pos, _)) in dups {
        let span = span_in(cx.files, fi, pos);
        let first_span = span_in(cx.files, first_file, first_pos);
        let other = cx.files.get(first_file).map_or("", |f| f.display_path.as_str());
        let same = first_file == fi;
        let d = r.report(
            fi,
            pos,
            span,
            format!("{what} '{value}' is also used by {other}:{}:{}", first_pos.line, first_pos.column),
        );
        d.labels.push(label((!same).then_some(other), first_pos, first_span, "first defined here"));
    }
}

pub(crate) fn duplicate_id(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    let dups = first_places(cx.files, |d| d.meta().id.as_deref().map(|id| (id, d.meta().id_pos)));
    report_duplicates(cx, r, "id", dups);
}

pub(crate) fn duplicate_name(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    let dups = first_places(cx.files, |d| d.meta().name.as_deref().map(|n| (n, d.meta().name_pos)));
    report_duplicates(cx, r, "name", dups);
}

pub(crate) fn unknown_rule_reference(cx: &SetContext<'_>, r: &mut SetReporter<'_>) {
    let known: std::collections::HashSet<&str> = cx
        .files
        .iter()
        .flat_map(|f| &f.parsed.documents)
        .flat_map(|d| [d.meta().id.as_deref(), d.meta().name.as_deref()])
        .flatten()
        .collect();
    for (fi, f) in cx.files.iter().enumerate() {
        for d in &f.parsed.documents {
            // Filters naming unloaded rules are a warning of their own (SG406, `correlation.rs`): a filter kept
            // apart from upstream rules often names rules that are not loaded in a given run.
            let (refs, what) = match d {
                Document::Correlation(c) => (&c.correlation.rules, "correlation"),
                Document::Filter(_) | Document::Rule(_) => continue,
            };
            for (rule, pos) in refs {
                if !known.contains(rule.as_str()) {
                    let span = span_in(cx.files, fi, *pos);
                    r.report(
                        fi,
                        *pos,
                        span,
                        format!("{what} references rule '{rule}', which is not in the checked set"),
                    )
                    .help = Some("reference a rule by its id or name, and check the files that define it".into());
                }
            }
        }
    }
}
