//! The registry: every diagnostic code sigil reports, declared once, with its name, family, default severity,
//! whether it has a fix, its documentation and who emits it (the parser, a per-document check or a check across
//! the rule set). `sigil check --explain`, `--select`/`--ignore`, the editor server and the fixture test all
//! read this table; nothing else lists codes.
//!
//! Adding a check: write `fn my_check(cx: &DocContext, r: &mut Reporter)` in its family's module and add one
//! [`Check`] entry below with `run: Run::Document(module::my_check)` (or `Run::Set` for a check across files),
//! keeping the table sorted by code. Add a fixture `resources/test/invalid/sgNNN_*.yml`; a test fails until
//! there is one.

use sigil_diagnostics::{Code, Severity};
use sigil_rule::codes as parser;

use crate::context::{DocContext, Reporter, SetContext, SetReporter};
use crate::{correlation, detection, metadata, references};

/// A family of checks, by the first digit of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// SG1xx: files and YAML.
    File,
    /// SG2xx: metadata (title, id, status, level, dates, tags, logsource).
    Metadata,
    /// SG3xx: detection, modifiers, values and conditions.
    Detection,
    /// SG4xx: correlations, filters and references between rules.
    References,
}

impl Family {
    /// Every family, in code order (SG1xx to SG4xx).
    pub const ALL: [Family; 4] = [Family::File, Family::Metadata, Family::Detection, Family::References];

    /// The family's name as written in `--select`/`--ignore` and `sigil.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Family::File => "file",
            Family::Metadata => "metadata",
            Family::Detection => "detection",
            Family::References => "references",
        }
    }

    /// The code prefix of the family (`SG1`...).
    pub fn prefix(self) -> &'static str {
        match self {
            Family::File => "SG1",
            Family::Metadata => "SG2",
            Family::Detection => "SG3",
            Family::References => "SG4",
        }
    }
}

/// Who finds the problem.
#[derive(Clone, Copy)]
pub enum Run {
    /// The parser (`sigil_rule`), because it stops the model from being built.
    Parser,
    /// A check of one document.
    Document(fn(&DocContext<'_>, &mut Reporter<'_>)),
    /// A check across every file of the set.
    Set(fn(&SetContext<'_>, &mut SetReporter<'_>)),
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Run::Parser => "parser",
            Run::Document(_) => "document check",
            Run::Set(_) => "set check",
        })
    }
}

/// One registered check.
#[derive(Debug)]
pub struct Check {
    /// The check's diagnostic code (`SG301`).
    pub code: Code,
    /// Kebab-case name, usable instead of the code in `--select`/`--ignore`.
    pub name: &'static str,
    /// The family the code belongs to.
    pub family: Family,
    /// The severity of its findings.
    pub severity: Severity,
    /// Whether findings carry a safe fix (`sigil check --fix`, editor quick fixes).
    pub fix: bool,
    /// One line, lower case.
    pub summary: &'static str,
    /// What the check finds, why it matters and how to fix it (shown by `--explain CODE` and editor hovers).
    pub docs: &'static str,
    /// How and on what the check runs.
    pub run: Run,
}

use Family::{Detection as Det, File, Metadata as Meta, References as Refs};
use Severity::{Error, Warning};

macro_rules! check {
    ($code:expr, $name:literal, $family:expr, $sev:expr, fix: $fix:literal, $run:expr, $summary:literal, $docs:literal) => {
        Check {
            code: $code,
            name: $name,
            family: $family,
            severity: $sev,
            fix: $fix,
            summary: $summary,
            docs: $docs,
            run: $run,
        }
    };
}

/// Every check, sorted by code.
pub static REGISTRY: &[Check] = &[
    check!(parser::UNREADABLE_FILE, "unreadable-file", File, Error, fix: false, Run::Parser,
        "the file could not be read",
        "The path does not exist, is not readable, or a folder could not be walked. Every path given is reported; nothing is skipped silently."),
    check!(parser::FILE_TOO_LARGE, "file-too-large", File, Error, fix: false, Run::Parser,
        "the file is larger than the size limit",
        "Rule files over 4 MiB are rejected unread (SigmaHQ's largest rule is about 60 KiB); such a file is almost certainly not a rule."),
    check!(parser::NOT_UTF8, "not-utf8", File, Error, fix: false, Run::Parser,
        "the file is not UTF-8 text",
        "Sigma rules are UTF-8 YAML. The position points at the first byte that is not UTF-8; files with NUL bytes are binary."),
    check!(parser::YAML_SYNTAX, "yaml-syntax", File, Error, fix: false, Run::Parser,
        "YAML syntax error, duplicate key or exceeded parser budget",
        "The YAML does not parse: a syntax error, a key written twice in one map (pySigma rejects these too), or an alias bomb or nesting beyond the parser's limits."),
    check!(parser::NOT_A_RULE, "not-a-rule", File, Error, fix: false, Run::Parser,
        "a YAML document that is not a Sigma rule, correlation or filter",
        "Each YAML document of a rule file must be a map: a rule (logsource, detection), a correlation rule (correlation) or a filter (filter)."),
    check!(parser::BAD_COLLECTION_ACTION, "bad-collection-action", File, Error, fix: false, Run::Parser,
        "unknown rule collection action",
        "Sigma 1 rule collections use `action: global`, `reset` or `repeat` (pySigma collection.py); `repeat` needs a previous rule."),
    check!(parser::EMPTY_FILE, "empty-file", File, Warning, fix: false, Run::Parser,
        "the file holds no YAML document",
        "The file is empty or holds only comments, so it defines no rule. Remove it, or write the rule it was meant to hold."),
    check!(parser::MISSING_FIELD, "missing-field", Meta, Error, fix: false, Run::Parser,
        "a required attribute is missing",
        "Rules need title, logsource and detection; correlation rules need title and correlation; filters need title, logsource and filter (Sigma 2.1 specification)."),
    check!(parser::WRONG_TYPE, "wrong-type", Meta, Error, fix: false, Run::Parser,
        "an attribute has the wrong YAML type",
        "An attribute holds a value of a type the specification does not allow there, e.g. a map as `title` or a string as `logsource`."),
    check!(Code("SG203"), "bad-id", Meta, Error, fix: false, Run::Document(metadata::bad_id),
        "id is not a UUID",
        "`id` and the ids of `related` entries are UUIDs (8-4-4-4-12 hexadecimal digits). Generate one with `uuidgen`."),
    check!(Code("SG204"), "bad-status", Meta, Error, fix: false, Run::Document(metadata::bad_status),
        "unknown status",
        "`status` is one of stable, test, experimental, deprecated, unsupported."),
    check!(Code("SG205"), "bad-level", Meta, Error, fix: false, Run::Document(metadata::bad_level),
        "unknown level",
        "`level` is one of informational, low, medium, high, critical."),
    check!(Code("SG206"), "bad-date", Meta, Error, fix: false, Run::Document(metadata::bad_date),
        "date is not a valid YYYY-MM-DD date",
        "`date` and `modified` are ISO 8601 calendar dates, `YYYY-MM-DD`, and must name a real day. The Sigma 1 form `YYYY/MM/DD` is SG215."),
    check!(Code("SG207"), "bad-tag", Meta, Error, fix: false, Run::Document(metadata::bad_tag),
        "malformed tag",
        "Tags are lower case `namespace.name` and follow their namespace's form (Sigma tags appendix): attack.tNNNN[.NNN] or a tactic name, cve.YYYY-NNNN, car.YYYY-MM-NNN, tlp.*, detection.*, stp.*."),
    check!(Code("SG208"), "duplicate-tag", Meta, Warning, fix: false, Run::Document(metadata::duplicate_tag),
        "duplicate tag",
        "The same tag is listed twice; the second is ignored."),
    check!(Code("SG209"), "old-tag-form", Meta, Warning, fix: true, Run::Document(metadata::old_tag_form),
        "old tag form or unknown tag namespace",
        "Sigma 2 tags use dashes where Sigma 1 used underscores (attack.defense_evasion → attack.defense-evasion, cve.2021_44228 → cve.2021-44228); the fix rewrites them when the dashed form is current. Tags in a namespace the appendix does not define are reported too."),
    check!(Code("SG210"), "bad-related", Meta, Error, fix: false, Run::Document(metadata::bad_related),
        "malformed related entry",
        "Each `related` entry has an `id` and a `type` of derived, obsolete, merged, renamed or similar (pySigma also accepts correlation)."),
    check!(Code("SG211"), "bad-title", Meta, Error, fix: false, Run::Document(metadata::bad_title),
        "empty or over-long title",
        "The title is a short capitalised description of at most 256 characters (specification)."),
    check!(Code("SG212"), "bad-logsource", Meta, Warning, fix: false, Run::Document(metadata::bad_logsource),
        "logsource value breaks the naming convention",
        "Logsource category, product and service are lower case with `_`, `-` or `.`, and a logsource names at least one of them; otherwise no backend or sigil route matches it."),
    check!(Code("SG213"), "unknown-attack-tag", Meta, Warning, fix: false, Run::Document(metadata::unknown_attack_tag),
        "ATT&CK tag names no known tactic or technique",
        "The `attack.*` tag names no tactic or technique of the bundled ATT&CK release; the rule still works but its coverage is not placed."),
    check!(Code("SG214"), "renamed-attack-tag", Meta, Warning, fix: true, Run::Document(metadata::renamed_attack_tag),
        "ATT&CK tag of a renamed or revoked tactic or technique",
        "The tag resolves through the ATT&CK crosswalk: renamed, split or revoked after the rule was written (e.g. ATT&CK v19 split defense-evasion). When there is exactly one successor the fix rewrites the tag."),
    check!(Code("SG215"), "old-date-form", Meta, Warning, fix: true, Run::Document(metadata::old_date_form),
        "date in the Sigma 1 form YYYY/MM/DD",
        "Sigma 1 wrote dates as YYYY/MM/DD; Sigma 2 uses YYYY-MM-DD. pySigma still reads the old form, so this is a warning; the fix rewrites the date."),
    check!(parser::UNKNOWN_MODIFIER, "unknown-modifier", Det, Error, fix: true, Run::Parser,
        "unknown modifier",
        "A field's modifier is not one of the Sigma 2.1 modifiers appendix. When one modifier is clearly meant (`endwith`, `contians`) the fix replaces it."),
    check!(parser::INVALID_MODIFIER_CHAIN, "invalid-modifier-chain", Det, Error, fix: false, Run::Parser,
        "invalid modifier chain",
        "The chain has no defined meaning: `re` or `cidr` after a transformation, regex flags without `re`, a modifier twice, `exists` combined with others, two comparisons."),
    check!(Code("SG303"), "bad-regex", Det, Error, fix: false, Run::Document(detection::bad_regex),
        "regular expression does not compile",
        "A `re` value does not compile with the regex crate (linear time: no look-around or back-references), or compiles to more than 32 MiB."),
    check!(Code("SG304"), "bad-cidr", Det, Error, fix: false, Run::Document(detection::bad_cidr),
        "invalid CIDR network",
        "A `cidr` value is an IPv4 or IPv6 network such as 10.0.0.0/8 or fe80::/10 (or a single address)."),
    check!(parser::CONDITION_SYNTAX, "condition-syntax", Det, Error, fix: false, Run::Parser,
        "condition syntax error",
        "The condition does not parse: keywords and, or, not, `1 of`/`all of` with a pattern or `them`, parentheses and identifiers."),
    check!(Code("SG306"), "undefined-identifier", Det, Error, fix: false, Run::Document(detection::undefined_identifier),
        "condition references an undefined identifier",
        "The condition names a search identifier the detection does not define."),
    check!(Code("SG307"), "unused-identifier", Det, Warning, fix: false, Run::Document(detection::unused_identifier),
        "search identifier never used by the condition",
        "A search identifier that no condition names or selects has no effect; often a typo in the condition."),
    check!(Code("SG308"), "bad-value-type", Det, Error, fix: false, Run::Document(detection::bad_value_type),
        "value of the wrong type for its modifiers",
        "`exists` takes true or false, comparisons and time parts take numbers, string modifiers take strings, base64 cannot encode wildcards, `fieldref` takes a plain field name."),
    check!(Code("SG309"), "missing-condition", Det, Error, fix: false, Run::Document(detection::missing_condition),
        "detection without condition or searches",
        "A detection (or filter) defines at least one search identifier and a non-empty condition."),
    check!(parser::OBSOLETE_AGGREGATION, "obsolete-aggregation", Det, Error, fix: false, Run::Parser,
        "Sigma 1 aggregation in a condition",
        "`| count() by ...` and `near` were Sigma 1; Sigma 2 expresses them as correlation rules (event_count, temporal)."),
    check!(Code("SG311"), "pattern-matches-nothing", Det, Error, fix: false, Run::Document(detection::pattern_matches_nothing),
        "identifier pattern selects nothing",
        "`1 of x*` / `all of x*` whose pattern selects no search identifier (identifiers starting with `_` are only selected by patterns starting with `_`)."),
    check!(Code("SG312"), "all-with-single-value", Det, Warning, fix: false, Run::Document(detection::all_with_single_value),
        "'all' with a single value",
        "`|all` makes a list of values an AND; with one value it has no effect."),
    check!(Code("SG313"), "null-in-list", Det, Error, fix: false, Run::Document(detection::null_in_list),
        "null mixed into a value list",
        "The specification requires `null` to be matched in a search identifier of its own, not as one item of a list."),
    check!(parser::BAD_SEARCH, "bad-search", Det, Error, fix: false, Run::Parser,
        "malformed search identifier",
        "A search identifier is a map, a list of maps, or a list of keywords; not empty, null, nested lists, non-scalar values or a mix. Its name is a non-empty string."),
    check!(Code("SG315"), "bad-identifier-name", Det, Warning, fix: false, Run::Document(detection::bad_identifier_name),
        "identifier name the condition cannot reference",
        "A search identifier name with characters other than letters, digits, `_`, `-` and `.` cannot be named in a condition (a pattern can still select it)."),
    check!(Code("SG316"), "useless-modifier", Det, Warning, fix: false, Run::Document(detection::useless_modifier),
        "modifier without effect",
        "A modifier that changes nothing, e.g. `expand` on a value without a %placeholder%."),
    check!(Code("SG317"), "obsolete-timeframe", Det, Warning, fix: false, Run::Document(detection::obsolete_timeframe),
        "Sigma 1 timeframe in a detection",
        "`timeframe` inside a detection was Sigma 1; time windows belong to correlation rules (`timespan`)."),
    check!(Code("SG401"), "unknown-rule-reference", Refs, Error, fix: false, Run::Set(references::unknown_rule_reference),
        "reference to a rule not in the checked set",
        "A correlation or filter names a rule (by id or name) that is not among the checked files; check the rule folder passed to sigil."),
    check!(parser::BAD_CORRELATION, "bad-correlation", Refs, Error, fix: false, Run::Parser,
        "malformed correlation",
        "A correlation needs a known type, rules, a timespan like 5m, a condition of its type (a map of comparisons, `field` for value types, an expression for temporal ones), and well-formed aliases."),
    check!(parser::BAD_FILTER, "bad-filter", Refs, Error, fix: false, Run::Parser,
        "malformed filter",
        "A filter names the rules it applies to (`rules:`, or `any`) and has a detection of its own."),
    check!(Code("SG404"), "duplicate-id", Refs, Error, fix: false, Run::Set(references::duplicate_id),
        "duplicate id",
        "Two documents share an id; references and correlations become ambiguous. The diagnostic points at the later one and labels the first."),
    check!(Code("SG405"), "duplicate-name", Refs, Error, fix: false, Run::Set(references::duplicate_name),
        "duplicate name",
        "Two documents share a `name`, which correlations use to reference rules."),
    check!(Code("SG406"), "filter-unknown-rule", Refs, Warning, fix: false, Run::Set(correlation::filter_unknown_rule),
        "filter names a rule that is not loaded",
        "A filter's `rules:` names a rule (by id or name) that is not among the loaded rules, or names a correlation; the filter removes nothing for it."),
    check!(Code("SG407"), "correlation-cycle", Refs, Error, fix: false, Run::Set(correlation::correlation_cycle),
        "correlations reference each other in a cycle",
        "A chain of correlations must end in detection rules; the diagnostic names the files of both correlations on the cycle."),
    check!(Code("SG408"), "correlation-open-semantics", Refs, Warning, fix: false, Run::Set(correlation::open_semantics_check),
        "correlation condition the specification leaves open",
        "Upper bounds (`lt`, `lte`, `eq`, ranges), `not` in temporal expressions and `value_percentile` without `percentile:` have no defined window semantics in Sigma 2.1; the message says how `sigil hunt` evaluates them (judged when a fixed window closes; 50th percentile)."),
    check!(Code("SG409"), "bad-correlation-expression", Refs, Error, fix: false, Run::Set(correlation::bad_correlation_expression),
        "temporal condition expression names an unreferenced rule or is not allowed",
        "An extended temporal condition is a boolean expression over the rules the correlation references (`and`, `or`, `not`, `1 of x*`); `temporal_ordered` takes no expression."),
    check!(Code("SG410"), "unknown-alias-rule", Refs, Warning, fix: false, Run::Set(correlation::unknown_alias_rule),
        "alias names a rule the correlation does not reference",
        "Each rule named in an alias must be one of the correlation's `rules:`; otherwise the alias maps nothing."),
];

/// The check of a code (`SG301`, any case) or name (`unknown-modifier`).
pub fn lookup(code_or_name: &str) -> Option<&'static Check> {
    REGISTRY.iter().find(|c| c.code.0.eq_ignore_ascii_case(code_or_name) || c.name == code_or_name)
}

/// The check of a code.
pub fn get(code: Code) -> Option<&'static Check> {
    REGISTRY.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_consistent() {
        let codes: Vec<&str> = REGISTRY.iter().map(|c| c.code.0).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "sorted by code, each once");
        let mut names: Vec<&str> = REGISTRY.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len(), "names are unique");
        for c in REGISTRY {
            assert!(c.code.0.starts_with(c.family.prefix()), "{} in family {:?}", c.code, c.family);
            assert!(!c.summary.is_empty() && !c.docs.is_empty(), "{} documented", c.code);
            assert!(c.name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'), "{}", c.name);
        }
    }

    #[test]
    fn every_parser_code_is_registered_as_parser() {
        for code in sigil_rule::codes::ALL {
            let c = get(*code).unwrap_or_else(|| panic!("{code} not in the registry"));
            assert!(matches!(c.run, Run::Parser), "{code} is emitted by the parser");
        }
        for c in REGISTRY.iter().filter(|c| matches!(c.run, Run::Parser)) {
            assert!(sigil_rule::codes::ALL.contains(&c.code), "{} registered as parser but not a parser code", c.code);
        }
    }

    #[test]
    fn lookup_by_code_and_name() {
        assert_eq!(lookup("sg301").map(|c| c.name), Some("unknown-modifier"));
        assert_eq!(lookup("bad-date").map(|c| c.code.0), Some("SG206"));
        assert!(lookup("SG999").is_none());
    }
}
