//! The codes the parser emits: problems that stop it from building the model. Every other code belongs to a
//! check of the linter (`sigil_check::registry`), whose registry also lists these with their documentation.
//! Families: SG1xx files and YAML, SG2xx metadata, SG3xx detection and condition, SG4xx correlation, filter and
//! cross-rule checks. A retired code is never reused.

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
/// The file holds no YAML document (empty or only comments).
pub const EMPTY_FILE: Code = Code("SG107");

/// A required attribute (title, logsource, detection) is missing.
pub const MISSING_FIELD: Code = Code("SG201");
/// An attribute has the wrong YAML type (e.g. a map where a string belongs).
pub const WRONG_TYPE: Code = Code("SG202");

/// Unknown modifier.
pub const UNKNOWN_MODIFIER: Code = Code("SG301");
/// A modifier chain with no defined meaning (e.g. `re|contains`).
pub const INVALID_MODIFIER_CHAIN: Code = Code("SG302");
/// Condition syntax error.
pub const CONDITION_SYNTAX: Code = Code("SG305");
/// A Sigma 1 aggregation or `near` in a condition.
pub const OBSOLETE_AGGREGATION: Code = Code("SG310");
/// A search identifier of a shape Sigma does not define (empty, null, nested lists, mixed lists, empty name).
pub const BAD_SEARCH: Code = Code("SG314");

/// A malformed correlation (type, timespan, condition, group-by, aliases).
pub const BAD_CORRELATION: Code = Code("SG402");
/// A malformed filter.
pub const BAD_FILTER: Code = Code("SG403");

/// Every code the parser emits, sorted.
pub const ALL: &[Code] = &[
    UNREADABLE_FILE,
    FILE_TOO_LARGE,
    NOT_UTF8,
    YAML_SYNTAX,
    NOT_A_RULE,
    BAD_COLLECTION_ACTION,
    EMPTY_FILE,
    MISSING_FIELD,
    WRONG_TYPE,
    UNKNOWN_MODIFIER,
    INVALID_MODIFIER_CHAIN,
    CONDITION_SYNTAX,
    OBSOLETE_AGGREGATION,
    BAD_SEARCH,
    BAD_CORRELATION,
    BAD_FILTER,
];

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_unique_and_sorted() {
        let codes: Vec<&str> = super::ALL.iter().map(|c| c.0).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
    }
}
