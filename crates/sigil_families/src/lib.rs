//! Detection rules of other families beside Sigma: Splunk security_content (SPL), Elastic detection-rules
//! (EQL, Kibana KQL), Microsoft Sentinel analytics rules (Kusto), Chronicle / Google SecOps (YARA-L 2.0) and
//! Panther (Python).
//!
//! Each family has a loader ([`load`]) that reads its files into one family-neutral [`FamilyRule`]: metadata,
//! ATT&CK technique ids, data sources, the query text and its language, and the *predicates* the query tests
//! ([`Predicate`]: field, operator, value) as far as the query can be parsed honestly. Predicates are then mapped
//! to Sigma's Windows field names through the data tables in `data/families/` ([`mapping`]), giving
//! [`MappedIndicator`]s the catalog compares with Sigma indicators.
//!
//! The query subset each parser reads (anything else leaves the rule with its query and
//! [`Extraction::NotExtracted`], never a guess):
//!
//! - **SPL** ([`spl`]): macros in backticks expanded from the family's own `macros/*.yml` (with `$arg$`
//!   arguments); the `where` clause of `tstats … from datamodel=… where …` and the terms of `search` commands
//!   (and of a query that starts with a search): `field=value`, `field!=value`, `field IN (…)`, `field>=n`,
//!   bare terms, `AND`/`OR`/`NOT`, parentheses, `*` wildcards. Other commands (`eval`, `stats`, `lookup`,
//!   `where` over computed fields) are post-processing and read no event field: they are skipped. A macro
//!   used inside a clause that no macro file defines makes the rule "not extracted".
//! - **EQL** ([`eql`]): one `<category> where <condition>` query (not `sequence`/`sample`): `==`, `!=`, `:`,
//!   `like`, `in`, `regex`, their `~` forms, `startsWith`/`endsWith`/`stringContains` functions, `and`, `or`,
//!   `not`, parentheses.
//! - **Kibana KQL** ([`kql`]): `field : value`, `field : (a or b)`, quoted and wildcard values, ranges,
//!   `and`/`or`/`not`, parentheses, nested `field : { … }` is not read.
//! - **Sentinel KQL** ([`kusto`]): the `where` operators of a pipeline starting at a table: `==`, `=~`, `!=`,
//!   `!~`, `has`, `contains`, `startswith`, `endswith` (and `_cs` forms), `in`, `in~`, `has_any`,
//!   `matches regex`; `let`, `union` and `join` are not read.
//! - **YARA-L 2.0** ([`yaral`]): the `events:` section: `$e.field = "v"` (with `nocase`), `!=`, `re.regex(…)`,
//!   `strings.contains(…)`, `in %list` (kept as a list reference), `and`/`or`/`not`, parentheses; joins
//!   between variables (`$e.x = $y`) are not indicators.
//! - **Panther**: rules are Python functions; no indicator is extracted (honestly none can be without running
//!   Python), only metadata. The four declarative `Detection:` rules are not read either.

#![warn(missing_docs, unreachable_pub)]

mod detect;
pub mod eql;
mod expr;
pub mod highlight;
pub mod kql;
pub mod kusto;
mod load;
mod mapping;
pub mod spl;
pub mod yaral;

use serde::Serialize;

pub use detect::{count_rule_files, detect, detect_text, input_family};
pub use load::{LoadError, Loaded, load};
pub use mapping::{LogsourceHint, MappedIndicator, MappingError, Mappings, SourceRow};

/// A detection-rule family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Sigma (loaded by `sigil_rule`, not here).
    Sigma,
    /// Splunk security_content (SPL).
    Splunk,
    /// Elastic detection-rules (EQL, KQL, ES|QL).
    Elastic,
    /// Microsoft Sentinel analytics rules (Kusto).
    Sentinel,
    /// Chronicle / Google SecOps (YARA-L 2.0).
    Chronicle,
    /// Panther (Python).
    Panther,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 6] =
        [Family::Sigma, Family::Splunk, Family::Elastic, Family::Sentinel, Family::Chronicle, Family::Panther];

    /// `splunk`, `elastic`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Sigma => "sigma",
            Family::Splunk => "splunk",
            Family::Elastic => "elastic",
            Family::Sentinel => "sentinel",
            Family::Chronicle => "chronicle",
            Family::Panther => "panther",
        }
    }

    /// The name pages show: `Sigma`, `Splunk`, ...
    pub fn label(self) -> &'static str {
        match self {
            Family::Sigma => "Sigma",
            Family::Splunk => "Splunk",
            Family::Elastic => "Elastic",
            Family::Sentinel => "Sentinel",
            Family::Chronicle => "Chronicle",
            Family::Panther => "Panther",
        }
    }

    /// The family named `name` (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Splunk SPL.
    Spl,
    /// Elastic EQL.
    Eql,
    /// Kibana KQL (Lucene-like).
    Kuery,
    /// Elastic ES|QL.
    Esql,
    /// Lucene query syntax.
    Lucene,
    /// Kusto (Sentinel, Defender).
    Kusto,
    /// YARA-L 2.0.
    Yaral,
    /// Python.
    Python,
}

impl Language {
    /// `spl`, `eql`, `kuery`, ...: also the name syntax highlighters use.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Spl => "spl",
            Language::Eql => "eql",
            Language::Kuery => "kuery",
            Language::Esql => "esql",
            Language::Lucene => "lucene",
            Language::Kusto => "kusto",
            Language::Yaral => "yaral",
            Language::Python => "python",
        }
    }

    /// The language named `name` ([`Language::as_str`]).
    pub fn from_name(name: &str) -> Option<Language> {
        [
            Language::Spl,
            Language::Eql,
            Language::Kuery,
            Language::Esql,
            Language::Lucene,
            Language::Kusto,
            Language::Yaral,
            Language::Python,
        ]
        .into_iter()
        .find(|l| l.as_str() == name)
    }
}

/// How a value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal (the value may hold `*`/`?` wildcards when [`Predicate::wildcards`]).
    Eq,
    /// Contains.
    Contains,
    /// Starts with.
    StartsWith,
    /// Ends with.
    EndsWith,
    /// Regular expression.
    Regex,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// The field exists / has any value.
    Exists,
    /// Word match (Kusto `has`): treated as contains.
    Has,
    /// Membership in a named list the rule does not define (`in %list`, a lookup): the value is the list name.
    InList,
    /// A field-less search term.
    Keyword,
}

/// One comparison a query makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Predicate {
    /// The field as written in the query (`Processes.process_name`); empty for keywords.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The value, with the language's quoting and escapes resolved.
    pub value: String,
    /// Whether `*` and `?` in the value are wildcards (SPL and KQL values, EQL `:`/`like`).
    pub wildcards: bool,
    /// Whether the comparison is case-sensitive (`_cs` Kusto operators, EQL `==`).
    pub cased: bool,
    /// Whether the comparison is under an odd number of `not`s (the rule excludes the value).
    pub negated: bool,
}

/// Whether indicators could be read from a rule's query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Extraction {
    /// The query is inside the parser's subset; its predicates are complete.
    Parsed,
    /// The query is outside the subset (or the family's logic is code): why.
    NotExtracted {
        /// Why, in words (`sequence queries are not read`, `Python rule`).
        reason: String,
    },
}

impl Extraction {
    /// Whether the query was parsed.
    pub fn is_parsed(&self) -> bool {
        matches!(self, Extraction::Parsed)
    }

    pub(crate) fn not(reason: impl Into<String>) -> Extraction {
        Extraction::NotExtracted { reason: reason.into() }
    }
}

/// One rule of a non-Sigma family, family-neutral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FamilyRule {
    /// The family.
    pub family: Family,
    /// The rule's id in its family (UUID, `rule_id`, Panther `RuleID`), when it has one.
    pub id: Option<String>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Author(s), joined with `, `.
    pub author: Option<String>,
    /// Creation date (`YYYY-MM-DD`).
    pub date: Option<String>,
    /// Last modification date.
    pub modified: Option<String>,
    /// Severity, lower-cased (`medium`, `high`).
    pub severity: Option<String>,
    /// Status / maturity (`production`, `experimental`, `enabled`).
    pub status: Option<String>,
    /// The family's own rule type (`TTP`, `eql`, `Scheduled`, `alert`).
    pub rule_type: Option<String>,
    /// ATT&CK technique ids as written (`T1219.002`), upper-cased, without duplicates.
    pub techniques: Vec<String>,
    /// Data sources as the family names them (`Sysmon EventID 1`, `DeviceProcessEvents`, `AWS.CloudTrail`).
    pub data_sources: Vec<String>,
    /// References.
    pub references: Vec<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// The query (macros not expanded) or, for Python rules, the Python source when found.
    pub query: String,
    /// Its language.
    pub language: Language,
    /// The query as parsed (SPL: with macros expanded), when it differs from [`FamilyRule::query`].
    pub expanded_query: Option<String>,
    /// The predicates read from the query (empty when not extracted).
    pub predicates: Vec<Predicate>,
    /// Whether the predicates could be read.
    pub extraction: Extraction,
    /// Event categories the query names (EQL `process where`, UDM `PROCESS_LAUNCH`, Splunk datamodel
    /// `Endpoint.Processes`): used with [`FamilyRule::data_sources`] for event coverage.
    pub event_kinds: Vec<String>,
    /// Platform / OS when the rule says (`windows`, `linux`, `AWS`).
    pub platform: Option<String>,
    /// The file as loaded (the machine's path: never publish it).
    pub path: std::path::PathBuf,
    /// The file text.
    pub text: String,
}
