//! The Sigma rule model (specification v2.1): rules, correlation rules and filter rules.
//!
//! The model is backend-neutral: it says what a rule means, never how an engine or a query language runs it.
//! Every item keeps the [`Position`] it was written at, so later stages (checks, catalog, engine errors) can point
//! back into the file.

use sigil_diagnostics::Position;

use crate::condition::Condition;
use crate::modifiers::Modifier;
use crate::yaml::serde_json_lite::Json;

/// A parsed YAML document of a rule file.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A detection rule (`detection:` and `logsource:`).
    Rule(Rule),
    /// A correlation rule (`correlation:`).
    Correlation(CorrelationRule),
    /// A filter rule (`filter:`).
    Filter(FilterRule),
}

impl Document {
    /// The attributes common to every kind of document.
    pub fn meta(&self) -> &Meta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Filter(f) => &f.meta,
        }
    }

    /// Which kind of document it is.
    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Rule(_) => DocumentKind::Rule,
            Document::Correlation(_) => DocumentKind::Correlation,
            Document::Filter(_) => DocumentKind::Filter,
        }
    }
}

/// Which kind a [`Document`] is, without its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A detection rule.
    Rule,
    /// A correlation rule.
    Correlation,
    /// A filter rule.
    Filter,
}

/// Attributes every Sigma document may carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    /// `title`; empty when missing (a diagnostic reports it).
    pub title: String,
    /// `id`, as written (a UUID by convention).
    pub id: Option<String>,
    /// Where the id value is written (for duplicate-id diagnostics).
    pub id_pos: Position,
    /// `name`, by which correlation and filter rules may reference the document.
    pub name: Option<String>,
    /// Where the name value is written (for duplicate-name diagnostics).
    pub name_pos: Position,
    /// `related`: other rules this one derives from, replaces, ...
    pub related: Vec<Related>,
    /// `taxonomy` (the field naming scheme; `sigma` when absent, by the specification).
    pub taxonomy: Option<String>,
    /// `status`; `None` when absent or not a known status.
    pub status: Option<Status>,
    /// `description`.
    pub description: Option<String>,
    /// `license`, an SPDX expression by convention.
    pub license: Option<String>,
    /// `author`, as written (possibly several names, comma-separated).
    pub author: Option<String>,
    /// `references`: URLs or other citations.
    pub references: Vec<String>,
    /// `YYYY-MM-DD` as written (validated).
    pub date: Option<String>,
    /// `modified`: `YYYY-MM-DD` as written (validated).
    pub modified: Option<String>,
    /// `tags`, in file order.
    pub tags: Vec<Tag>,
    /// `level`; `None` when absent or not a known level.
    pub level: Option<Level>,
    /// `fields`: event fields worth showing to an analyst.
    pub fields: Vec<String>,
    /// `falsepositives`: known causes of benign matches.
    pub falsepositives: Vec<String>,
    /// `scope`: where the rule applies (e.g. servers).
    pub scope: Vec<String>,
    /// Keys the specification does not define, kept in file order with their values.
    pub custom: Vec<(String, Json)>,
    /// Where the document starts.
    pub pos: Position,
}

/// One entry of `related`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// How it is related.
    pub kind: RelationKind,
}

/// The `type` of a [`Related`] entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    /// This rule derives from the related one.
    Derived,
    /// The related rule is obsolete; this one replaces it.
    Obsolete,
    /// This rule merges the related one (with others).
    Merged,
    /// The related rule had this rule's id before.
    Renamed,
    /// Similar detection logic.
    Similar,
    /// Accepted by pySigma, not in the specification's list.
    Correlation,
}

impl RelationKind {
    /// Every kind, in specification order.
    pub const ALL: [RelationKind; 6] = [
        RelationKind::Derived,
        RelationKind::Obsolete,
        RelationKind::Merged,
        RelationKind::Renamed,
        RelationKind::Similar,
        RelationKind::Correlation,
    ];

    /// The name as written in `related.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::Derived => "derived",
            RelationKind::Obsolete => "obsolete",
            RelationKind::Merged => "merged",
            RelationKind::Renamed => "renamed",
            RelationKind::Similar => "similar",
            RelationKind::Correlation => "correlation",
        }
    }

    /// The kind named `s` (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A rule `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// Tested and expected to stay as is.
    Stable,
    /// Being tested; few known false positives.
    Test,
    /// New, not yet tested much.
    Experimental,
    /// Should no longer be used.
    Deprecated,
    /// Cannot be used as is (needs special tooling or fields).
    Unsupported,
}

impl Status {
    /// Every status, from most to least mature.
    pub const ALL: [Status; 5] =
        [Status::Stable, Status::Test, Status::Experimental, Status::Deprecated, Status::Unsupported];

    /// The name as written in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }

    /// The status named `s` (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Rule severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Of interest, not an alert.
    Informational,
    /// Low relevance.
    Low,
    /// Relevant, worth reviewing.
    Medium,
    /// Important; review soon.
    High,
    /// Severe; review immediately.
    Critical,
}

impl Level {
    /// Every level, least to most severe.
    pub const ALL: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

    /// The name as written in `level`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The level named `s` (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A tag `namespace.name` as written (e.g. `attack.t1059.001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The part before the first `.` (`attack`).
    pub namespace: String,
    /// The rest (`t1059.001`).
    pub name: String,
    /// Where the tag is written.
    pub pos: Position,
}

impl Tag {
    /// The tag as written: `namespace.name`.
    pub fn full(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }
}

/// Where events come from. Values are as written (lower case by convention).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Logsource {
    /// `category` (e.g. `process_creation`).
    pub category: Option<String>,
    /// `product` (e.g. `windows`).
    pub product: Option<String>,
    /// `service` (e.g. `security`).
    pub service: Option<String>,
    /// `definition`: free text on how to get these events.
    pub definition: Option<String>,
    /// Other keys, kept as text.
    pub custom: Vec<(String, String)>,
    /// Where the `logsource` key is written.
    pub pos: Position,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its metadata.
    pub meta: Meta,
    /// Where its events come from.
    pub logsource: Logsource,
    /// What it matches.
    pub detection: Detection,
}

/// Named searches and the condition that combines them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// Search identifiers in file order (the catalog shows them as stages 1..n in this order).
    pub searches: Vec<Search>,
    /// One or more conditions; a list of conditions is an OR of them.
    pub conditions: Vec<Condition>,
    /// Sigma 1 `timeframe`, kept for display; correlation rules replace it.
    pub timeframe: Option<String>,
    /// Where the `detection` key is written.
    pub pos: Position,
}

impl Detection {
    /// The search named `name`, if defined.
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches.iter().find(|s| s.name == name)
    }
}

/// A named search identifier (`selection`, `filter_main_*`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The identifier (`selection`).
    pub name: String,
    /// What it matches.
    pub body: SearchBody,
    /// Where the identifier is written.
    pub pos: Position,
}

/// What a search identifier holds.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchBody {
    /// A map: every item must match (AND).
    AllOf(Vec<FieldItem>),
    /// A list of maps: any of the maps may match (OR); each map is an AND of its items.
    AnyOf(Vec<Vec<FieldItem>>),
    /// A list of plain values (or one value): a keyword search over the whole event. The item has no field.
    Keywords(FieldItem),
}

impl SearchBody {
    /// Every field item, in file order.
    pub fn items(&self) -> Box<dyn Iterator<Item = &FieldItem> + '_> {
        match self {
            SearchBody::AllOf(items) => Box::new(items.iter()),
            SearchBody::AnyOf(groups) => Box::new(groups.iter().flatten()),
            SearchBody::Keywords(item) => Box::new(std::iter::once(item)),
        }
    }
}

/// One `field|modifier|...: value(s)` entry. `field` is None for keywords (including the `'|all':` key form).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldItem {
    /// The field name; `None` for keywords.
    pub field: Option<String>,
    /// The modifiers, in chain order.
    pub modifiers: Vec<Modifier>,
    /// Values OR-ed, or AND-ed under `all`. Never empty after parsing (`Field: []` becomes one null value,
    /// as pySigma does).
    pub values: Vec<Value>,
    /// Position of the key (or of the value list for keywords).
    pub pos: Position,
}

impl FieldItem {
    /// Whether the chain contains `m`.
    pub fn has(&self, m: Modifier) -> bool {
        self.modifiers.contains(&m)
    }

    /// The key as written: `field|mod1|mod2`.
    pub fn key(&self) -> String {
        let mut s = self.field.clone().unwrap_or_default();
        for m in &self.modifiers {
            s.push('|');
            s.push_str(m.name());
        }
        s
    }
}

/// One value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: ValueKind,
    /// Where the value is written.
    pub pos: Position,
}

/// A scalar value of a detection item, by its YAML type.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// `null`: the field is absent or null.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string (any quoted scalar is one), with its wildcards parsed.
    String(SigmaString),
}

impl ValueKind {
    /// The value as text (numbers and booleans as YAML would write them; strings raw).
    pub fn text(&self) -> String {
        match self {
            ValueKind::Null => "null".into(),
            ValueKind::Bool(b) => b.to_string(),
            ValueKind::Int(i) => i.to_string(),
            ValueKind::Float(f) => f.to_string(),
            ValueKind::String(s) => s.raw.clone(),
        }
    }

    /// The value as a number, for integers and floats; `None` otherwise (strings are not parsed).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ValueKind::Int(i) => Some(*i as f64),
            ValueKind::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// A Sigma string: the raw text as written and its parsed pattern.
///
/// Escaping (specification, pySigma `SigmaString`): a backslash escapes only `*`, `?` and `\`; before any other
/// character it is kept literally (so `C:\Windows\` is literal). `*` matches any run, `?` exactly one character.
/// Invariant: adjacent [`StrPart::Literal`]s are merged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SigmaString {
    /// The text as written in the rule (escapes included).
    pub raw: String,
    /// The parsed parts; empty for the empty string.
    pub parts: Vec<StrPart>,
}

/// One part of a [`SigmaString`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StrPart {
    /// Text matched as is (escapes resolved); never empty.
    Literal(String),
    /// `*`
    AnyRun,
    /// `?`
    AnyChar,
    /// `%name%`, only recognised under the `expand` modifier.
    Placeholder(String),
}

impl SigmaString {
    /// Parses `raw` with Sigma's wildcard and escape rules. Placeholders are recognised when `placeholders`.
    pub fn parse(raw: &str, placeholders: bool) -> Self {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        lit.push(next);
                        chars.next();
                    }
                    Some('%') if placeholders => {
                        lit.push('%');
                        chars.next();
                    }
                    _ => lit.push('\\'),
                },
                '*' | '?' => {
                    if !lit.is_empty() {
                        parts.push(StrPart::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(if c == '*' { StrPart::AnyRun } else { StrPart::AnyChar });
                }
                '%' if placeholders => {
                    let rest: String = chars.clone().take_while(|&c| c != '%').collect();
                    let closed = chars.clone().nth(rest.chars().count()) == Some('%');
                    if closed && !rest.is_empty() && rest.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                        if !lit.is_empty() {
                            parts.push(StrPart::Literal(std::mem::take(&mut lit)));
                        }
                        for _ in 0..=rest.chars().count() {
                            chars.next();
                        }
                        parts.push(StrPart::Placeholder(rest));
                    } else {
                        lit.push('%');
                    }
                }
                _ => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(StrPart::Literal(lit));
        }
        // A rule set holds hundreds of thousands of these; most have one or two parts, not the four a growing
        // vector makes room for.
        parts.shrink_to_fit();
        SigmaString { raw: raw.to_string(), parts }
    }

    /// A string of one literal (no wildcards), e.g. after encoding transformations.
    pub fn literal(text: &str) -> Self {
        let parts = if text.is_empty() { vec![] } else { vec![StrPart::Literal(text.to_string())] };
        SigmaString { raw: escape(text), parts }
    }

    /// Whether it has a `*` or `?` wildcard.
    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, StrPart::AnyRun | StrPart::AnyChar))
    }

    /// Whether it has a `%name%` placeholder.
    pub fn has_placeholders(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, StrPart::Placeholder(_)))
    }

    /// The literal text if the string has no wildcards or placeholders.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Literal(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The unescaped text with wildcards shown as `*`/`?` (for display and indicator comparison).
    pub fn display(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                StrPart::Literal(s) => out.push_str(s),
                StrPart::AnyRun => out.push('*'),
                StrPart::AnyChar => out.push('?'),
                StrPart::Placeholder(n) => {
                    out.push('%');
                    out.push_str(n);
                    out.push('%');
                }
            }
        }
        out
    }
}

/// Escapes `*`, `?` and `\` so that [`SigmaString::parse`] reads `text` back as one literal.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A correlation rule (Sigma 2.1 `correlation:` document).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRule {
    /// Its metadata.
    pub meta: Meta,
    /// What it correlates.
    pub correlation: Correlation,
}

/// The `correlation:` section of a correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// `type`.
    pub kind: CorrelationType,
    /// Referenced rules by id or name, with their positions.
    pub rules: Vec<(String, Position)>,
    /// `group-by`: fields whose values must be equal among the correlated events.
    pub group_by: Vec<String>,
    /// `timespan`; `None` when missing or invalid.
    pub timespan: Option<Timespan>,
    /// `condition`; `None` when missing (a diagnostic reports when the type needs one).
    pub condition: Option<CorrelationCondition>,
    /// `aliases`, for `group-by` fields named differently across the rules.
    pub aliases: Vec<Alias>,
    /// `generate`: whether the referenced rules also alert on their own (default `false`).
    pub generate: bool,
    /// Where the `correlation` key is written.
    pub pos: Position,
}

/// The `type` of a correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// `event_count`: number of events.
    EventCount,
    /// `value_count`: number of distinct values of `condition.field`.
    ValueCount,
    /// `temporal`: every referenced rule matches within the timespan, in any order.
    Temporal,
    /// `temporal_ordered`: every referenced rule matches within the timespan, in the order listed.
    TemporalOrdered,
    /// `value_sum`: sum of `condition.field`.
    ValueSum,
    /// `value_avg`: average of `condition.field`.
    ValueAvg,
    /// `value_percentile`: a percentile of `condition.field` (`condition.percentile`).
    ValuePercentile,
    /// pySigma extension.
    ValueMedian,
}

impl CorrelationType {
    /// Every type, specification types first.
    pub const ALL: [CorrelationType; 8] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::ValuePercentile,
        CorrelationType::ValueMedian,
    ];

    /// The name as written in `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
            CorrelationType::ValueMedian => "value_median",
        }
    }

    /// The type named `s` (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Types whose condition compares a field's values and so need `condition.field`.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
                | CorrelationType::ValueMedian
        )
    }

    /// `temporal` or `temporal_ordered`.
    pub fn is_temporal(self) -> bool {
        matches!(self, CorrelationType::Temporal | CorrelationType::TemporalOrdered)
    }
}

/// A time window such as `5m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timespan {
    /// The timespan as written (`5m`).
    pub text: String,
    /// Its length in seconds (a month is 30.44 days, a year 365.2425 days).
    pub seconds: u64,
}

impl Timespan {
    /// Parses `<int><unit>`; units s, m, h, d (specification) and w, M, y (pySigma).
    pub fn parse(text: &str) -> Option<Self> {
        let unit = text.chars().last()?;
        let count: u64 = text.get(..text.len() - unit.len_utf8())?.parse().ok()?;
        let factor: u64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            'M' => 2_629_746,
            'y' => 31_556_952,
            _ => return None,
        };
        Some(Timespan { text: text.to_string(), seconds: count.checked_mul(factor)? })
    }
}

/// A comparison operator of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `gt`: `>`.
    Gt,
    /// `gte`: `>=`.
    Gte,
    /// `lt`: `<`.
    Lt,
    /// `lte`: `<=`.
    Lte,
    /// `eq`: `==`.
    Eq,
    /// `neq`: `!=`.
    Neq,
}

impl CmpOp {
    /// Every operator.
    pub const ALL: [CmpOp; 6] = [CmpOp::Gt, CmpOp::Gte, CmpOp::Lt, CmpOp::Lte, CmpOp::Eq, CmpOp::Neq];

    /// The name as written in the condition.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Gt => "gt",
            CmpOp::Gte => "gte",
            CmpOp::Lt => "lt",
            CmpOp::Lte => "lte",
            CmpOp::Eq => "eq",
            CmpOp::Neq => "neq",
        }
    }

    /// The operator named `s` (exact, lower case).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `left op right` holds (as IEEE 754: a comparison with NaN is false, except `neq`).
    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            CmpOp::Gt => left > right,
            CmpOp::Gte => left >= right,
            CmpOp::Lt => left < right,
            CmpOp::Lte => left <= right,
            CmpOp::Eq => left == right,
            CmpOp::Neq => left != right,
        }
    }
}

/// A correlation condition: one or two comparisons (two form a range), the field for `value_*` types, the
/// percentile for `value_percentile`, or (temporal types, pySigma extension) a boolean expression over rule names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CorrelationCondition {
    /// The comparisons (operator, threshold), all of which must hold.
    pub comparisons: Vec<(CmpOp, f64)>,
    /// `field`: the field aggregated by `value_*` types.
    pub field: Option<String>,
    /// `percentile` of `value_percentile` (0 to 100).
    pub percentile: Option<f64>,
    /// A boolean expression over rule names (temporal types, pySigma extension).
    pub expression: Option<String>,
    /// Where the `condition` key is written.
    pub pos: Position,
}

/// `aliases: {name: {rule: field, ...}}`: one name for differently named fields across rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The alias, usable in `group-by`.
    pub name: String,
    /// Per referenced rule (id or name): its field that the alias stands for.
    pub fields: Vec<(String, String)>,
}

/// A filter rule (Sigma 2.1 `filter:` document).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterRule {
    /// Its metadata.
    pub meta: Meta,
    /// Which events it applies to.
    pub logsource: Logsource,
    /// Target rules by id or name; empty means every rule whose logsource matches (`rules: any`).
    pub rules: Vec<(String, Position)>,
    /// The filter's searches and condition. As in pySigma, the condition states what must hold to keep an event.
    pub detection: Detection,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(raw: &str) -> Vec<StrPart> {
        SigmaString::parse(raw, false).parts
    }

    fn lit(s: &str) -> StrPart {
        StrPart::Literal(s.into())
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(parts(r"a\*b"), vec![lit("a*b")]);
        assert_eq!(parts(r"a\\*"), vec![lit(r"a\"), StrPart::AnyRun]);
        assert_eq!(parts(r"a\\\*"), vec![lit(r"a\*")]);
        assert_eq!(parts(r"\\\\"), vec![lit(r"\\")]);
        assert_eq!(parts(r"C:\Windows\"), vec![lit(r"C:\Windows\")]);
        assert_eq!(parts(r"\?x?"), vec![lit("?x"), StrPart::AnyChar]);
        assert_eq!(parts("*"), vec![StrPart::AnyRun]);
        assert_eq!(parts(""), vec![]);
    }

    #[test]
    fn placeholders_only_when_asked() {
        assert_eq!(parts("%Admins%"), vec![lit("%Admins%")]);
        let p = SigmaString::parse(r"x%Admins%\%y%", true).parts;
        assert_eq!(p, vec![lit("x"), StrPart::Placeholder("Admins".into()), lit("%y%")]);
    }

    #[test]
    fn escape_round_trips() {
        for s in ["a*b?c\\d", "", "\\", "plain"] {
            assert_eq!(SigmaString::parse(&escape(s), false).as_literal().as_deref(), Some(s));
        }
    }

    #[test]
    fn timespans() {
        assert_eq!(Timespan::parse("5m").map(|t| t.seconds), Some(300));
        assert_eq!(Timespan::parse("1M").map(|t| t.seconds), Some(2_629_746));
        assert!(Timespan::parse("m").is_none());
        assert!(Timespan::parse("5x").is_none());
        assert!(Timespan::parse("").is_none());
        assert!(Timespan::parse("99999999999999999999d").is_none());
    }
}
