//! The registry of diagnostic codes. Families: SG1xx files and YAML, SG2xx metadata, SG3xx detection and
//! condition, SG4xx correlation, filter and cross-rule checks. A retired code is never reused.

use sigil_diagnostics::Code;

/// The file could not be read (I/O error).
pub const UNREADABLE_FILE: Code = Code("SG101");
/// The file is larger than the accepted limit.
pub const FILE_TOO_LARGE: Code = Code("SG102");
/// The file is not UTF-8 text (binary or another encoding).
pub const NOT_UTF8: Code = Code("SG103");
/// YAML syntax error, duplicate key or exceeded parser budget (alias bomb, nesting).
pub const YAML_SYNTAX: Code = Code("SG104");
/// A YAML document is not a map, or has no rule shape.
pub const NOT_A_RULE: Code = Code("SG105");
/// `action:` of a Sigma 1 rule collection is unknown.
pub const BAD_COLLECTION_ACTION: Code = Code("SG106");

/// A required attribute (title, logsource, detection) is missing.
pub const MISSING_FIELD: Code = Code("SG201");
/// An attribute has the wrong YAML type (e.g. a map where a string belongs).
pub const WRONG_TYPE: Code = Code("SG202");
/// `id` (or a related id) is not a UUID.
pub const BAD_ID: Code = Code("SG203");
/// `status` is not one of stable, test, experimental, deprecated, unsupported.
pub const BAD_STATUS: Code = Code("SG204");
/// `level` is not one of informational, low, medium, high, critical.
pub const BAD_LEVEL: Code = Code("SG205");
/// `date` / `modified` is not `YYYY-MM-DD`.
pub const BAD_DATE: Code = Code("SG206");
/// A tag does not follow `namespace.name` or its namespace's form.
pub const BAD_TAG: Code = Code("SG207");
/// The same tag twice.
pub const DUPLICATE_TAG: Code = Code("SG208");
/// A tag uses a pre-v2 form (underscores) or an unknown namespace.
pub const OLD_TAG_FORM: Code = Code("SG209");
/// `related` entry without id or with an unknown type.
pub const BAD_RELATED: Code = Code("SG210");
/// Title longer than 256 characters or empty.
pub const BAD_TITLE: Code = Code("SG211");
/// A logsource value breaks the naming convention (lower case, `_`, `.`, `-`).
pub const BAD_LOGSOURCE: Code = Code("SG212");

/// An `attack.*` tag naming no ATT&CK tactic or technique of the bundled release.
pub const UNKNOWN_ATTACK_TAG: Code = Code("SG213");
/// An `attack.*` tag of a renamed, split or revoked tactic or technique (resolves through the crosswalk).
pub const RENAMED_ATTACK_TAG: Code = Code("SG214");

/// Unknown modifier.
pub const UNKNOWN_MODIFIER: Code = Code("SG301");
/// A modifier chain with no defined meaning (e.g. `re|contains`).
pub const INVALID_MODIFIER_CHAIN: Code = Code("SG302");
/// A regular expression that does not compile.
pub const BAD_REGEX: Code = Code("SG303");
/// A `cidr` value that is not an IPv4/IPv6 network.
pub const BAD_CIDR: Code = Code("SG304");
/// Condition syntax error.
pub const CONDITION_SYNTAX: Code = Code("SG305");
/// The condition names an identifier that is not defined.
pub const UNDEFINED_IDENTIFIER: Code = Code("SG306");
/// A search identifier that the condition never uses.
pub const UNUSED_IDENTIFIER: Code = Code("SG307");
/// A value of the wrong type for its modifiers (e.g. `exists: yes-please`, `gt: '5'`).
pub const BAD_VALUE_TYPE: Code = Code("SG308");
/// `detection` without a condition or without any search identifier.
pub const MISSING_CONDITION: Code = Code("SG309");
/// A Sigma 1 aggregation or `near` in a condition.
pub const OBSOLETE_AGGREGATION: Code = Code("SG310");
/// `1 of x*` whose pattern selects no identifier.
pub const PATTERN_MATCHES_NOTHING: Code = Code("SG311");
/// `all` on a single value (means the same as without it).
pub const ALL_WITH_SINGLE_VALUE: Code = Code("SG312");
/// `null` mixed into a list of values (the specification requires its own selection).
pub const NULL_IN_LIST: Code = Code("SG313");
/// A search identifier of a shape Sigma does not define (empty, null, nested lists, mixed lists).
pub const BAD_SEARCH: Code = Code("SG314");
/// A search identifier name the condition grammar cannot reference.
pub const BAD_IDENTIFIER_NAME: Code = Code("SG315");
/// A modifier that has no effect (e.g. `expand` on a value without placeholders).
pub const USELESS_MODIFIER: Code = Code("SG316");

/// A correlation references a rule that is not in the checked set.
pub const UNKNOWN_RULE_REFERENCE: Code = Code("SG401");
/// A malformed correlation (type, timespan, condition, group-by, aliases).
pub const BAD_CORRELATION: Code = Code("SG402");
/// A malformed filter.
pub const BAD_FILTER: Code = Code("SG403");
/// Two documents share an id.
pub const DUPLICATE_ID: Code = Code("SG404");
/// Two documents share a name.
pub const DUPLICATE_NAME: Code = Code("SG405");
/// A filter names a rule that is not loaded (it then filters nothing for that rule).
pub const FILTER_UNKNOWN_RULE: Code = Code("SG406");
/// Correlations reference each other in a cycle.
pub const CORRELATION_CYCLE: Code = Code("SG407");
/// A correlation condition the specification leaves open (how sigil evaluates it is said in the message).
pub const CORRELATION_OPEN_SEMANTICS: Code = Code("SG408");
/// A temporal condition expression names a rule the correlation does not reference, or is not allowed here.
pub const BAD_CORRELATION_EXPRESSION: Code = Code("SG409");
/// A correlation alias names a rule the correlation does not reference.
pub const UNKNOWN_ALIAS_RULE: Code = Code("SG410");

/// Every code with a one-line summary, for `sigil check --explain` and docs.
pub const ALL: &[(Code, &str)] = &[
    (UNREADABLE_FILE, "the file could not be read"),
    (FILE_TOO_LARGE, "the file is larger than the size limit"),
    (NOT_UTF8, "the file is not UTF-8 text"),
    (YAML_SYNTAX, "YAML syntax error, duplicate key or exceeded parser budget"),
    (NOT_A_RULE, "a YAML document that is not a Sigma rule, correlation or filter"),
    (BAD_COLLECTION_ACTION, "unknown rule collection action"),
    (MISSING_FIELD, "a required attribute is missing"),
    (WRONG_TYPE, "an attribute has the wrong YAML type"),
    (BAD_ID, "id is not a UUID"),
    (BAD_STATUS, "unknown status"),
    (BAD_LEVEL, "unknown level"),
    (BAD_DATE, "date is not YYYY-MM-DD"),
    (BAD_TAG, "malformed tag"),
    (DUPLICATE_TAG, "duplicate tag"),
    (OLD_TAG_FORM, "old tag form or unknown tag namespace"),
    (BAD_RELATED, "malformed related entry"),
    (BAD_TITLE, "empty or over-long title"),
    (BAD_LOGSOURCE, "logsource value breaks the naming convention"),
    (UNKNOWN_ATTACK_TAG, "ATT&CK tag names no known tactic or technique"),
    (RENAMED_ATTACK_TAG, "ATT&CK tag of a renamed or revoked tactic or technique"),
    (UNKNOWN_MODIFIER, "unknown modifier"),
    (INVALID_MODIFIER_CHAIN, "invalid modifier chain"),
    (BAD_REGEX, "regular expression does not compile"),
    (BAD_CIDR, "invalid CIDR network"),
    (CONDITION_SYNTAX, "condition syntax error"),
    (UNDEFINED_IDENTIFIER, "condition references an undefined identifier"),
    (UNUSED_IDENTIFIER, "search identifier never used by the condition"),
    (BAD_VALUE_TYPE, "value of the wrong type for its modifiers"),
    (MISSING_CONDITION, "detection without condition or searches"),
    (OBSOLETE_AGGREGATION, "Sigma 1 aggregation in a condition"),
    (PATTERN_MATCHES_NOTHING, "identifier pattern selects nothing"),
    (ALL_WITH_SINGLE_VALUE, "'all' with a single value"),
    (NULL_IN_LIST, "null mixed into a value list"),
    (BAD_SEARCH, "malformed search identifier"),
    (BAD_IDENTIFIER_NAME, "identifier name the condition cannot reference"),
    (USELESS_MODIFIER, "modifier without effect"),
    (UNKNOWN_RULE_REFERENCE, "reference to a rule not in the checked set"),
    (BAD_CORRELATION, "malformed correlation"),
    (BAD_FILTER, "malformed filter"),
    (DUPLICATE_ID, "duplicate id"),
    (DUPLICATE_NAME, "duplicate name"),
    (FILTER_UNKNOWN_RULE, "filter names a rule that is not loaded"),
    (CORRELATION_CYCLE, "correlations reference each other in a cycle"),
    (CORRELATION_OPEN_SEMANTICS, "correlation condition the specification leaves open"),
    (BAD_CORRELATION_EXPRESSION, "temporal condition expression names an unreferenced rule or is not allowed"),
    (UNKNOWN_ALIAS_RULE, "correlation alias names a rule the correlation does not reference"),
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_sorted() {
        let codes: Vec<&str> = super::ALL.iter().map(|(c, _)| c.0).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
    }
}
