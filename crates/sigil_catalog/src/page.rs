//! The rule page: everything the catalog knows about one rule, correlation or filter, ready to serialise.
//!
//! The first keys of [`RulePage`]'s JSON form are fixed (tools rely on them): `id, title, status, level,
//! description, author, date, modified, references, falsepositives, tags, logsource, source, path, yaml, attack,
//! events, stages, indicators`. Later keys are additions for the web catalog and may grow.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use sigil_diagnostics::FileDiagnostic;

use crate::indicator::Indicator;

/// What kind of Sigma document a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// A detection rule.
    Rule,
    /// A correlation rule (`correlation:`).
    Correlation,
    /// A filter rule (`filter:`).
    Filter,
}

impl RuleKind {
    /// `rule`, `correlation` or `filter`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Rule => "rule",
            RuleKind::Correlation => "correlation",
            RuleKind::Filter => "filter",
        }
    }
}

/// One catalog page. Field order is the JSON key order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RulePage {
    /// The rule's `id`, if it has one.
    pub id: Option<String>,
    /// `title`.
    pub title: String,
    /// `status` (stable, test, experimental, deprecated, unsupported).
    pub status: Option<String>,
    /// `level` (informational ... critical), shown as "severity".
    pub level: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `author` as written.
    pub author: Option<String>,
    /// `date` (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// `modified`.
    pub modified: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// Tags as written (`attack.t1219.002`).
    pub tags: Vec<String>,
    /// The logsource (filters have one too; correlations have none: all parts null).
    pub logsource: LogsourceInfo,
    /// Name of the rule source this page comes from.
    pub source: String,
    /// The file as loaded (the path given on the command line, joined with the walk): for local lookups only,
    /// never published (it is the machine's path). Serialised pages carry [`RulePage::rel_path`] as `path`.
    #[serde(skip)]
    pub path: String,
    /// The file relative to its rule source: the source folder's name and the path below it
    /// (`rules/windows/process_creation/x.yml`). What pages, the API, search and exports show.
    #[serde(rename = "path")]
    pub rel_path: String,
    /// The YAML text of this document (the whole file for single-document files).
    pub yaml: String,
    /// ATT&CK rows: tactic → techniques, in matrix order.
    pub attack: Vec<AttackRow>,
    /// Described Windows events the rule can fire on.
    pub events: Vec<EventRef>,
    /// Stage 0 is the condition; stages 1..n the search identifiers in file order.
    pub stages: Vec<Stage>,
    /// One row per (field, kind, value), with corpus counts.
    pub indicators: Vec<Indicator>,

    /// Unique key of the page in its catalog (URL-safe): the id when no other page has it, else derived.
    pub key: String,
    /// Rule, correlation or filter.
    pub kind: RuleKind,
    /// `name` (referenced by correlations and filters).
    pub name: Option<String>,
    /// `license` (SPDX id).
    pub license: Option<String>,
    /// `taxonomy` when not the default.
    pub taxonomy: Option<String>,
    /// The file name without extension.
    pub file_stem: String,
    /// The document's position in its file (0 for single-document files).
    pub document: usize,
    /// Tactic shortnames of the ATT&CK rows, in matrix order (`command-and-control`).
    pub tactics: Vec<String>,
    /// Current technique ids of the ATT&CK rows, sorted (`T1219.002`).
    pub techniques: Vec<String>,
    /// ATT&CK tags that are not tactics or techniques, and tags that did not resolve.
    pub attack_other: AttackOther,
    /// Related rules, with titles when they are in the catalog.
    pub related: Vec<RelatedRule>,
    /// How the event list was computed: routes, channels, missing fields.
    pub coverage: Coverage,
    /// Correlation details (correlation pages).
    pub correlation: Option<CorrelationInfo>,
    /// Filter details (filter pages).
    pub filter: Option<FilterInfo>,
    /// Correlation rules that reference this rule.
    pub correlated_by: Vec<RuleLink>,
    /// Filter rules that apply to this rule.
    pub filtered_by: Vec<RuleLink>,
    /// Regression test data: the `regression_tests_path` attribute and known samples.
    pub regression: Option<Regression>,
    /// Custom attributes in file order.
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// The checker's diagnostics for the file (warnings, and errors that did not stop the page).
    pub diagnostics: Vec<FileDiagnostic>,
    /// The rule family (`sigma`, `splunk`, `elastic`, `sentinel`, `chronicle`, `panther`).
    pub family: String,
    /// For rules of other families: the query, its language and whether indicators were extracted from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<crate::family::QueryInfo>,
}

impl RulePage {
    /// Whether the page has regression test data (attribute or known sample).
    pub fn has_regression(&self) -> bool {
        self.regression.is_some()
    }

    /// `windows / process_creation`, `linux / auditd`: the logsource in one line.
    pub fn logsource_label(&self) -> String {
        self.logsource.label()
    }
}

/// A rule's logsource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsourceInfo {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
    /// `definition` (free text).
    pub definition: Option<String>,
    /// Other keys.
    pub custom: BTreeMap<String, String>,
}

impl LogsourceInfo {
    /// The set parts joined with ` / ` (product, category, service), or `-` when none is set.
    pub fn label(&self) -> String {
        let parts: Vec<&str> =
            [&self.product, &self.category, &self.service].into_iter().filter_map(|p| p.as_deref()).collect();
        if parts.is_empty() { "-".to_string() } else { parts.join(" / ") }
    }
}

/// One ATT&CK row: a tactic and the rule's techniques placed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackRow {
    /// Display name (`Command & Control`).
    pub tactic: String,
    /// `TA0011`.
    pub tactic_id: String,
    /// Sigma tag suffix (`command-and-control`).
    pub shortname: String,
    /// Techniques, sorted by id.
    pub techniques: Vec<TechniqueRef>,
}

/// A technique on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechniqueRef {
    /// Current id (`T1219.002`).
    pub id: String,
    /// Display name (`Remote Access Tools: Remote Desktop Software`).
    pub name: String,
    /// The id written in the rule when it was translated by the crosswalk (`T1562.001`).
    pub via: Option<String>,
    /// Whether the rule has no tag for this tactic (the technique was placed by ATT&CK's own tactics).
    pub inferred_tactic: bool,
}

/// ATT&CK tags that do not make rows, and problems with tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackOther {
    /// Group ids (`G0032`).
    pub groups: Vec<String>,
    /// Software ids (`S0002`).
    pub software: Vec<String>,
    /// Data-source ids (`DS0005`).
    pub data_sources: Vec<String>,
    /// Tags in the `attack` namespace that name nothing in the loaded ATT&CK release.
    pub unknown: Vec<String>,
    /// Retired tags with no replacement (`attack.t1043`).
    pub retired: Vec<String>,
    /// How old tags were translated (`attack.defense-evasion → Stealth, Defense Impairment`).
    pub notes: Vec<String>,
}

/// A described Windows event a rule can fire on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// Provider display name (`Sysmon`, `Security-Auditing`).
    pub provider: String,
    /// Event id.
    pub event_id: u32,
    /// Event title (`Process creation`).
    pub title: String,
    /// Full provider name (`Microsoft-Windows-Sysmon`).
    pub provider_name: String,
    /// Channel, when known.
    pub channel: Option<String>,
    /// How each field the rule uses maps onto this event (`Image` → `NewProcessName` on 4688).
    pub fields: Vec<FieldMapping>,
}

/// A Sigma field and the event field it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMapping {
    /// Field as written in the rule.
    pub sigma: String,
    /// Field in the event.
    pub event: String,
}

/// How the event coverage was computed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// `windows / process_creation`.
    pub logsource: String,
    /// Whether sigil has routes for the logsource.
    pub mapped: bool,
    /// The logsource selects every event (`product: windows` alone).
    pub any_event: bool,
    /// Channels (or providers, for routes without channels) the logsource reads.
    pub channels: Vec<String>,
    /// Fields the rule references (as written, sorted, without duplicates).
    pub fields: Vec<String>,
    /// Event ids the detection restricts itself to (`EventID: 4624`), if it does.
    pub event_ids: Vec<u32>,
    /// When no event is listed: fields that no candidate event carries.
    pub missing_fields: Vec<String>,
    /// Whether the events were found per branch of the condition because no event carries every field the
    /// rule uses (a rule whose selections read different events).
    pub by_branch: bool,
    /// Why no event is listed (or, with `by_branch`, how they were found), in words.
    pub note: Option<String>,
    /// Why no event is listed, as a category.
    pub gap: Option<CoverageGap>,
}

/// Why a rule has no described event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverageGap {
    /// Not a Windows logsource (linux, macos, aws, or no product and no route, like webserver or proxy): sigil
    /// describes Windows events only.
    NotWindows,
    /// A `product: windows` logsource sigil has no route for.
    UnmappedLogsource,
    /// The logsource's channels have no event schemas in sigil's tables.
    NoSchemas,
    /// The event ids the detection names are not described for the logsource.
    EventIdsNotDescribed,
    /// The detection's event id conditions exclude each other.
    NoEventId,
    /// Fields the rule uses are on no candidate event.
    MissingFields,
    /// Each field is on some candidate event, but no event has them all.
    FieldsSplit,
}

impl CoverageGap {
    /// A short description.
    pub fn label(self) -> &'static str {
        match self {
            CoverageGap::NotWindows => "not a Windows logsource",
            CoverageGap::UnmappedLogsource => "logsource not mapped to Windows events",
            CoverageGap::NoSchemas => "no event schemas for the logsource's channels",
            CoverageGap::EventIdsNotDescribed => "the event ids named are not described",
            CoverageGap::NoEventId => "the condition excludes every event id",
            CoverageGap::MissingFields => "fields no described event carries",
            CoverageGap::FieldsSplit => "no single event has all the fields",
        }
    }
}

/// One stage: the condition (stage 0) or a search identifier (1..n).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// 0 for the condition, then 1.. in file order.
    pub stage: usize,
    /// `condition` or the search identifier.
    pub name: String,
    /// The condition as written, or the search as YAML (`selection:\n    Image|endswith: ...`).
    pub text: String,
    /// How the stage joins the condition: the term that uses it (`1 of selection_*`, `not 1 of filter_*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join: Vec<String>,
    /// The logic inside the stage: `and` (a map), `or` (a list of maps), `keywords` or `all keywords`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logic: Option<String>,
    /// Whether the condition uses the stage (always true for stage 0).
    pub used: bool,
    /// Whether every use is under `not` (a filter).
    pub negated: bool,
    /// Stage 0: the normalised condition (`1 of selection_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    /// Stage 0: the condition tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<ConditionTree>,
    /// Stages 1..n: the field items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<StageItem>,
}

/// One `field|modifiers: values` entry of a stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageItem {
    /// Field name; `None` for keywords.
    pub field: Option<String>,
    /// Modifiers as written (canonical names).
    pub modifiers: Vec<String>,
    /// Values as written, typed: strings (raw, Sigma escapes kept), numbers, booleans, null.
    pub values: Vec<serde_json::Value>,
    /// For a list of maps, which map (0-based) the item belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
}

/// The condition as a tree, for renderers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ConditionTree {
    /// A search identifier.
    Search {
        /// Its name.
        name: String,
        /// Its stage number, if it exists.
        stage: Option<usize>,
    },
    /// `1 of pattern` / `all of pattern` / `... of them`.
    Of {
        /// `1` or `all`.
        quantifier: String,
        /// The pattern (`selection_*`, `them`).
        pattern: String,
        /// Stages the pattern selects.
        stages: Vec<usize>,
    },
    /// `not`.
    Not {
        /// The negated expression.
        arg: Box<ConditionTree>,
    },
    /// `and`.
    And {
        /// Operands.
        args: Vec<ConditionTree>,
    },
    /// `or`.
    Or {
        /// Operands.
        args: Vec<ConditionTree>,
    },
}

/// A related rule (`related:`), resolved when it is in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelatedRule {
    /// The id written.
    pub id: String,
    /// derived, obsolete, merged, renamed, similar, correlation.
    #[serde(rename = "type")]
    pub kind: String,
    /// Title of the rule, when in the catalog.
    pub title: Option<String>,
    /// Page key, when in the catalog.
    pub key: Option<String>,
}

/// A link to another page, or an unresolved reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleLink {
    /// The id or name as written (or the linking page's id for back-links).
    pub reference: String,
    /// Page key, when in the catalog.
    pub key: Option<String>,
    /// Title, when in the catalog.
    pub title: Option<String>,
}

/// A correlation rule's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationInfo {
    /// `event_count`, `value_count`, `temporal`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The rules it correlates.
    pub rules: Vec<RuleLink>,
    /// `group-by` fields.
    pub group_by: Vec<String>,
    /// `timespan` as written (`5m`).
    pub timespan: Option<String>,
    /// The timespan in seconds.
    pub timespan_seconds: Option<u64>,
    /// The condition in words (`count >= 10`, `distinct User > 5`).
    pub condition: Option<String>,
    /// `generate`.
    pub generate: bool,
    /// `aliases`: name → (rule, field) pairs.
    pub aliases: Vec<AliasInfo>,
}

/// One correlation alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasInfo {
    /// The alias name used in `group-by`.
    pub name: String,
    /// (rule reference, field) pairs.
    pub fields: Vec<(String, String)>,
}

/// A filter rule's targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterInfo {
    /// Whether the filter applies to every rule with a matching logsource (`rules: any`).
    pub any: bool,
    /// The rules named.
    pub rules: Vec<RuleLink>,
    /// Rules it applies to (named ones found in the catalog, or every rule whose logsource matches).
    pub applies_to: Vec<RuleLink>,
}

/// Regression test data of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regression {
    /// The `regression_tests_path` attribute as written.
    pub path: Option<String>,
    /// Sample files found in the configured regression data folders (named after the rule id).
    pub samples: Vec<String>,
}

/// Per-source counts, serialised as an object in source order: `{"sigma": 2, "team": 1}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCounts(pub Vec<(String, usize)>);

impl SourceCounts {
    /// The count for a source (0 when absent).
    pub fn get(&self, source: &str) -> usize {
        self.0.iter().find(|(s, _)| s == source).map_or(0, |(_, n)| *n)
    }

    /// `sigma 2, team 1`.
    pub fn label(&self) -> String {
        self.0.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ")
    }
}

impl Serialize for SourceCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SourceCounts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counts;
        impl<'de> serde::de::Visitor<'de> for Counts {
            type Value = SourceCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of source names to counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SourceCounts, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, usize>()? {
                    out.push(entry);
                }
                Ok(SourceCounts(out))
            }
        }
        d.deserialize_map(Counts)
    }
}
