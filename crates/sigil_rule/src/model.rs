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
    Rule(Rule),
    Correlation(CorrelationRule),
    Filter(FilterRule),
}

impl Document {
    pub fn meta(&self) -> &Meta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Filter(f) => &f.meta,
        }
    }

    pub fn kind(&self) -> DocumentKind {
        match self {
            Document::Rule(_) => DocumentKind::Rule,
            Document::Correlation(_) => DocumentKind::Correlation,
            Document::Filter(_) => DocumentKind::Filter,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Rule,
    Correlation,
    Filter,
}

/// Attributes every Sigma document may carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    pub title: String,
    pub id: Option<String>,
    /// Where the id value is written (for duplicate-id diagnostics).
    pub id_pos: Position,
    pub name: Option<String>,
    /// Where the name value is written (for duplicate-name diagnostics).
    pub name_pos: Position,
    pub related: Vec<Related>,
    pub taxonomy: Option<String>,
    pub status: Option<Status>,
    pub description: Option<String>,
    pub license: Option<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    /// `YYYY-MM-DD` as written (validated).
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<Tag>,
    pub level: Option<Level>,
    pub fields: Vec<String>,
    pub falsepositives: Vec<String>,
    pub scope: Vec<String>,
    /// Keys the specification does not define, kept in file order with their values.
    pub custom: Vec<(String, Json)>,
    /// Where the document starts.
    pub pos: Position,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub id: String,
    pub kind: RelationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationKind {
    Derived,
    Obsolete,
    Merged,
    Renamed,
    Similar,
    /// Accepted by pySigma, not in the specification's list.
    Correlation,
}

impl RelationKind {
    pub const ALL: [RelationKind; 6] = [
        RelationKind::Derived,
        RelationKind::Obsolete,
        RelationKind::Merged,
        RelationKind::Renamed,
        RelationKind::Similar,
        RelationKind::Correlation,
    ];

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

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Stable,
    Test,
    Experimental,
    Deprecated,
    Unsupported,
}

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Stable, Status::Test, Status::Experimental, Status::Deprecated, Status::Unsupported];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Rule severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A tag `namespace.name` as written (e.g. `attack.t1059.001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    pub namespace: String,
    pub name: String,
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
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub definition: Option<String>,
    /// Other keys, kept as text.
    pub custom: Vec<(String, String)>,
    pub pos: Position,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: Logsource,
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
    pub pos: Position,
}

impl Detection {
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches.iter().find(|s| s.name == name)
    }
}

/// A named search identifier (`selection`, `filter_main_*`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub name: String,
    pub body: SearchBody,
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
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    /// Values OR-ed, or AND-ed under `all`. Never empty after parsing (`Field: []` becomes one null value,
    /// as pySigma does).
    pub values: Vec<Value>,
    /// Position of the key (or of the value list for keywords).
    pub pos: Position,
}

impl FieldItem {
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
    pub kind: ValueKind,
    pub pos: Position,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
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
    pub raw: String,
    pub parts: Vec<StrPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StrPart {
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
        SigmaString { raw: raw.to_string(), parts }
    }

    /// A string of one literal (no wildcards), e.g. after encoding transformations.
    pub fn literal(text: &str) -> Self {
        let parts = if text.is_empty() { vec![] } else { vec![StrPart::Literal(text.to_string())] };
        SigmaString { raw: escape(text), parts }
    }

    pub fn has_wildcards(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, StrPart::AnyRun | StrPart::AnyChar))
    }

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
    pub meta: Meta,
    pub correlation: Correlation,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub kind: CorrelationType,
    /// Referenced rules by id or name, with their positions.
    pub rules: Vec<(String, Position)>,
    pub group_by: Vec<String>,
    pub timespan: Option<Timespan>,
    pub condition: Option<CorrelationCondition>,
    pub aliases: Vec<Alias>,
    pub generate: bool,
    pub pos: Position,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    /// pySigma extension.
    ValueMedian,
}

impl CorrelationType {
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

    pub fn is_temporal(self) -> bool {
        matches!(self, CorrelationType::Temporal | CorrelationType::TemporalOrdered)
    }
}

/// A time window such as `5m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timespan {
    pub text: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl CmpOp {
    pub const ALL: [CmpOp; 6] = [CmpOp::Gt, CmpOp::Gte, CmpOp::Lt, CmpOp::Lte, CmpOp::Eq, CmpOp::Neq];

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

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

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
    pub comparisons: Vec<(CmpOp, f64)>,
    pub field: Option<String>,
    pub percentile: Option<f64>,
    pub expression: Option<String>,
    pub pos: Position,
}

/// `aliases: {name: {rule: field, ...}}`: one name for differently named fields across rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    pub name: String,
    pub fields: Vec<(String, String)>,
}

/// A filter rule (Sigma 2.1 `filter:` document).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterRule {
    pub meta: Meta,
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
