//! Event coverage: the described Windows events a rule can fire on.
//!
//! Candidate events come from the logsource's routes (`sigil_knowledge`, the same table the engine routes events
//! with); an event is kept only if its schema carries every field the rule references, after the route's field
//! mapping (`Image` is `NewProcessName` on Security 4688), and, when the detection names event ids, only those.
//! This strict rule is what the seed pages show (a rule reading `ParentCommandLine` is not on 4688 even if one
//! of its selections alone could be). Only when it leaves no event at all (selections written for different
//! events, `1 of selection_*` over 4898 and 4899) are the condition's branches covered one by one, and the page
//! says so (`Coverage::by_branch`).

use std::ptr;

use sigil_knowledge::{EventSchema, Knowledge, LogSource};

use crate::page::{Coverage, CoverageGap, EventRef, FieldMapping, LogsourceInfo};
use crate::stages::Branch;

/// The coverage of a rule: strict first (every field the rule uses, as the seed pages require); when no event
/// has them all, the union over the condition's branches (each way the rule can match needs only its own
/// fields), marked `by_branch`.
pub(crate) fn compute_rule(
    ls: &LogsourceInfo,
    fields: &[String],
    event_ids: Option<&[u32]>,
    branches: &[Branch],
    knowledge: &Knowledge,
) -> (Vec<EventRef>, Coverage) {
    let (events, coverage) = compute(ls, fields, event_ids, knowledge);
    if !events.is_empty() || branches.len() < 2 || !coverage.mapped {
        return (events, coverage);
    }
    let mut union: Vec<EventRef> = Vec::new();
    for b in branches {
        let fields: Vec<String> = b.fields.iter().cloned().collect();
        let ids: Option<Vec<u32>> = b.ids.as_ref().map(|i| i.iter().copied().collect());
        let (found, _) = compute(ls, &fields, ids.as_deref(), knowledge);
        for e in found {
            match union.iter_mut().find(|u| u.provider_name == e.provider_name && u.event_id == e.event_id) {
                Some(u) => {
                    for f in e.fields {
                        if !u.fields.contains(&f) {
                            u.fields.push(f);
                        }
                    }
                }
                None => union.push(e),
            }
        }
    }
    if union.is_empty() {
        return (events, coverage);
    }
    let coverage = Coverage {
        by_branch: true,
        missing_fields: Vec::new(),
        gap: None,
        note: Some("no single event carries every field the rule uses; each event listed carries the fields of one way the condition can match".to_string()),
        ..coverage
    };
    (union, coverage)
}

pub(crate) fn compute(
    ls: &LogsourceInfo,
    fields: &[String],
    event_ids: Option<&[u32]>,
    knowledge: &Knowledge,
) -> (Vec<EventRef>, Coverage) {
    let mut coverage = Coverage {
        logsource: ls.label(),
        fields: fields.to_vec(),
        event_ids: event_ids.map(<[u32]>::to_vec).unwrap_or_default(),
        ..Coverage::default()
    };
    let source = LogSource::new(ls.product.as_deref(), ls.category.as_deref(), ls.service.as_deref());
    let Some(routes) = knowledge.routes_for(&source) else {
        let (gap, note) = if !ls.product.as_deref().is_some_and(|p| p.eq_ignore_ascii_case("windows")) {
            (
                CoverageGap::NotWindows,
                format!("{} events are not described by sigil's Windows event schemas", coverage.logsource),
            )
        } else {
            (CoverageGap::UnmappedLogsource, format!("no event mapping for logsource {}", coverage.logsource))
        };
        coverage.gap = Some(gap);
        coverage.note = Some(note);
        return (Vec::new(), coverage);
    };
    coverage.mapped = true;
    coverage.any_event = routes.iter().any(sigil_knowledge::Route::is_any_event);
    for r in routes {
        let names = if !r.kinds().is_empty() {
            r.kinds()
        } else if r.channels().is_empty() {
            r.providers()
        } else {
            r.channels()
        };
        for n in names {
            if !coverage.channels.contains(n) {
                coverage.channels.push(n.clone());
            }
        }
    }
    let used: Vec<&str> = fields.iter().map(String::as_str).collect();
    let schemas = knowledge.events_for_ids(&source, &used, event_ids.unwrap_or(&[]));
    let events: Vec<EventRef> = schemas
        .iter()
        .map(|schema| {
            let route = routes.iter().find(|r| r.schemas().iter().any(|s| ptr::eq(*s, *schema)));
            let mapped = used
                .iter()
                .filter_map(|f| {
                    let to = route.and_then(|r| r.map_field_on(schema, f))?;
                    Some(FieldMapping { sigma: (*f).to_string(), event: to.to_string() })
                })
                .collect();
            event_ref(schema, mapped)
        })
        .collect();
    if events.is_empty() {
        let candidates: Vec<(&sigil_knowledge::Route, &&EventSchema)> = routes
            .iter()
            .flat_map(|r| r.schemas().iter().map(move |s| (r, s)))
            .filter(|(_, s)| event_ids.is_none_or(|ids| ids.contains(&s.id)))
            .collect();
        if candidates.is_empty() {
            let described = routes.iter().any(|r| !r.schemas().is_empty());
            let (gap, note) = match event_ids {
                Some(ids) if !ids.is_empty() && described => (
                    CoverageGap::EventIdsNotDescribed,
                    format!("none of the event ids {ids:?} is described for this logsource"),
                ),
                Some(ids) if ids.is_empty() && described => {
                    (CoverageGap::NoEventId, "the condition can match no event id".to_string())
                }
                _ if routes.iter().any(|r| !r.kinds().is_empty()) => {
                    let kinds: Vec<String> = routes
                        .iter()
                        .flat_map(|r| r.kinds().iter().map(move |k| (k, r)))
                        .map(|(k, r)| {
                            let mapped: Vec<String> = used
                                .iter()
                                .filter_map(|f| r.field_mappings().find(|(s, _)| s.eq_ignore_ascii_case(f)))
                                .map(|(s, e)| format!("{s} reads {e}"))
                                .collect();
                            let ids = if r.event_ids().is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " event {}",
                                    r.event_ids().iter().map(u32::to_string).collect::<Vec<_>>().join("/")
                                )
                            };
                            if mapped.is_empty() {
                                format!("{k}{ids}")
                            } else {
                                format!("{k}{ids} ({})", mapped.join(", "))
                            }
                        })
                        .collect();
                    (
                        CoverageGap::NotWindows,
                        format!(
                            "{} rules run on {} records; sigil has no per-event field schemas for them",
                            coverage.logsource,
                            kinds.join(", ")
                        ),
                    )
                }
                _ => (
                    CoverageGap::NoSchemas,
                    format!("no event schemas are known for the channels of {}", coverage.logsource),
                ),
            };
            coverage.gap = Some(gap);
            coverage.note = Some(note);
        } else {
            coverage.missing_fields = used
                .iter()
                .filter(|f| !candidates.iter().any(|(r, s)| r.map_field_on(s, f).is_some()))
                .map(|f| (*f).to_string())
                .collect();
            let (gap, note) = if coverage.missing_fields.is_empty() {
                (CoverageGap::FieldsSplit, "no single event carries all the fields the rule uses".to_string())
            } else {
                (
                    CoverageGap::MissingFields,
                    format!("no described event has the field(s) {}", coverage.missing_fields.join(", ")),
                )
            };
            coverage.gap = Some(gap);
            coverage.note = Some(note);
        }
    }
    (events, coverage)
}

pub(crate) fn event_ref(schema: &EventSchema, fields: Vec<FieldMapping>) -> EventRef {
    EventRef {
        provider: schema.provider_display.to_string(),
        event_id: schema.id,
        title: schema.title.to_string(),
        provider_name: schema.provider.to_string(),
        channel: schema.channel.map(str::to_string),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: &str, category: Option<&str>, service: Option<&str>) -> LogsourceInfo {
        LogsourceInfo {
            product: Some(product.into()),
            category: category.map(Into::into),
            service: service.map(Into::into),
            ..LogsourceInfo::default()
        }
    }

    fn shown(events: &[EventRef]) -> Vec<(String, u32)> {
        events.iter().map(|e| (e.provider.clone(), e.event_id)).collect()
    }

    fn k() -> &'static Knowledge {
        Knowledge::builtin().unwrap()
    }

    #[test]
    fn non_windows_logsources_name_their_record_kinds() {
        let trail = ls("aws", None, Some("cloudtrail"));
        let (ev, cov) = compute(&trail, &["eventName".into()], None, k());
        assert!(ev.is_empty());
        assert!(cov.mapped);
        assert_eq!(cov.channels, ["aws.cloudtrail"]);
        assert_eq!(
            cov.note.as_deref(),
            Some("aws / cloudtrail rules run on aws.cloudtrail records; sigil has no per-event field schemas for them")
        );
        assert_eq!(cov.gap, Some(CoverageGap::NotWindows));
        let pc = ls("linux", Some("process_creation"), None);
        let (_, cov) = compute(&pc, &["Image".into(), "CommandLine".into()], None, k());
        assert_eq!(cov.channels, ["linux.sysmon", "linux.auditd"]);
        let note = cov.note.unwrap();
        assert!(
            note.contains("linux.sysmon event 1")
                && note.contains("linux.auditd (Image reads exe, CommandLine reads cmdline)"),
            "{note}"
        );
    }

    #[test]
    fn seeds() {
        let pc = ls("windows", Some("process_creation"), None);
        let (ev, cov) = compute(&pc, &["Image".into(), "ParentImage".into()], None, k());
        assert_eq!(shown(&ev), [("Sysmon".into(), 1), ("Security-Auditing".into(), 4688)]);
        assert!(ev[1].fields.contains(&FieldMapping { sigma: "Image".into(), event: "NewProcessName".into() }));
        assert!(cov.mapped && cov.note.is_none());
        let (ev, _) = compute(&pc, &["Image".into(), "ParentCommandLine".into(), "ParentImage".into()], None, k());
        assert_eq!(shown(&ev), [("Sysmon".into(), 1)]);
    }

    #[test]
    fn selections_on_different_events_fall_back_to_branches() {
        let sec = ls("windows", None, Some("security"));
        let branch = |fields: &[&str], id: u32| Branch {
            fields: fields.iter().map(|f| (*f).to_string()).collect(),
            ids: Some([id].into_iter().collect()),
        };
        let fields: Vec<String> = ["EventID", "LogonType", "NewProcessName"].map(String::from).to_vec();
        let branches = [branch(&["EventID", "LogonType"], 4624), branch(&["EventID", "NewProcessName"], 4688)];
        let (strict, _) = compute(&sec, &fields, Some(&[4624, 4688]), k());
        assert!(strict.is_empty());
        let (ev, cov) = compute_rule(&sec, &fields, Some(&[4624, 4688]), &branches, k());
        assert_eq!(shown(&ev), [("Security-Auditing".into(), 4624), ("Security-Auditing".into(), 4688)]);
        assert!(cov.by_branch && cov.gap.is_none());
        // The seed case stays strict: one event carries everything.
        let pc = ls("windows", Some("process_creation"), None);
        let all: Vec<String> = ["Image", "ParentCommandLine", "ParentImage"].map(String::from).to_vec();
        let (ev, cov) = compute_rule(&pc, &all, None, &[branch(&["Image"], 1)], k());
        assert_eq!(shown(&ev), [("Sysmon".into(), 1)]);
        assert!(!cov.by_branch);
    }

    #[test]
    fn missing_fields_and_unmapped_logsources_are_explained() {
        let pc = ls("windows", Some("process_creation"), None);
        let (ev, cov) = compute(&pc, &["NoSuchField".into()], None, k());
        assert!(ev.is_empty());
        assert_eq!(cov.missing_fields, ["NoSuchField"]);
        let (ev, cov) = compute(&ls("bitbucket", None, Some("audit")), &["x".into()], None, k());
        assert!(ev.is_empty() && !cov.mapped);
        assert!(cov.note.unwrap().contains("bitbucket / audit"));
        let sec = ls("windows", None, Some("security"));
        let (ev, cov) = compute(&sec, &["EventID".into()], Some(&[4624]), k());
        assert_eq!(shown(&ev), [("Security-Auditing".into(), 4624)]);
        assert_eq!(cov.event_ids, [4624]);
    }
}
