//! The value modifiers of the Sigma 2.1 modifiers appendix, and which chains of them are valid.
//!
//! A chain is applied left to right (pySigma `modifiers.py`). [`check_chain`] rejects chains whose meaning is
//! undefined: a regular expression after a transformation (`re` must come first), regex flags without `re`,
//! `cidr` or `exists` combined with string transformations, two comparisons, and so on.

use std::fmt;

/// One value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Modifier {
    /// `contains`: matches when the value appears anywhere in the field (wildcards around the value).
    Contains,
    /// `startswith`: matches when the field begins with the value.
    StartsWith,
    /// `endswith`: matches when the field ends with the value.
    EndsWith,
    /// `all`: all values of the list must match (AND) instead of any (OR).
    All,
    /// `exists`: takes `true` or `false`, whether the field is present in the event.
    Exists,
    /// `cased`: matches case-sensitively (values are case-insensitive by default).
    Cased,
    /// `neq`: negates the item: matches when the field does not equal any value (an absent field matches).
    Neq,
    /// `windash`: also matches the value with `-` replaced by `/`, `–`, `—` and `―` (Windows command-line flags).
    Windash,
    /// `re`: the value is a regular expression (matched anywhere in the field unless anchored).
    Re,
    /// `i` / `ignorecase`
    ReIgnoreCase,
    /// `m` / `multiline`
    ReMultiline,
    /// `s` / `dotall`
    ReDotAll,
    /// `base64`: matches the base64 encoding of the value.
    Base64,
    /// `base64offset`: matches the value base64-encoded at each of the three byte offsets (inside longer base64 text).
    Base64Offset,
    /// `utf16le`: encodes the value as UTF-16 little endian (before base64).
    Utf16le,
    /// `utf16be`: encodes the value as UTF-16 big endian (before base64).
    Utf16be,
    /// `utf16`: encodes the value as UTF-16 with a byte order mark (before base64).
    Utf16,
    /// `wide`: alias of `utf16le`: encodes the value as UTF-16 little endian (before base64).
    Wide,
    /// `lt`: the field is a number less than the value.
    Lt,
    /// `lte`: the field is a number less than or equal to the value.
    Lte,
    /// `gt`: the field is a number greater than the value.
    Gt,
    /// `gte`: the field is a number greater than or equal to the value.
    Gte,
    /// `minute`: compares the minute (0-59) of the field's timestamp with the value.
    Minute,
    /// `hour`: compares the hour (0-23) of the field's timestamp with the value.
    Hour,
    /// `day`: compares the day of the month of the field's timestamp with the value.
    Day,
    /// `week`: compares the ISO week of the field's timestamp with the value.
    Week,
    /// `month`: compares the month (1-12) of the field's timestamp with the value.
    Month,
    /// `year`: compares the year of the field's timestamp with the value.
    Year,
    /// `cidr`: the value is an IPv4 or IPv6 network; matches addresses inside it.
    Cidr,
    /// `expand`: replaces %placeholders% in the value with values supplied at run time.
    Expand,
    /// `fieldref`: the value names another field; matches when both fields are equal.
    FieldRef,
}

/// Names as written in rules. Aliases map to the same modifier; the first name is canonical.
const NAMES: &[(&str, Modifier)] = &[
    ("contains", Modifier::Contains),
    ("startswith", Modifier::StartsWith),
    ("endswith", Modifier::EndsWith),
    ("all", Modifier::All),
    ("exists", Modifier::Exists),
    ("cased", Modifier::Cased),
    ("neq", Modifier::Neq),
    ("windash", Modifier::Windash),
    ("re", Modifier::Re),
    ("i", Modifier::ReIgnoreCase),
    ("ignorecase", Modifier::ReIgnoreCase),
    ("m", Modifier::ReMultiline),
    ("multiline", Modifier::ReMultiline),
    ("s", Modifier::ReDotAll),
    ("dotall", Modifier::ReDotAll),
    ("base64", Modifier::Base64),
    ("base64offset", Modifier::Base64Offset),
    ("utf16le", Modifier::Utf16le),
    ("utf16be", Modifier::Utf16be),
    ("utf16", Modifier::Utf16),
    ("wide", Modifier::Wide),
    ("lt", Modifier::Lt),
    ("lte", Modifier::Lte),
    ("gt", Modifier::Gt),
    ("gte", Modifier::Gte),
    ("minute", Modifier::Minute),
    ("hour", Modifier::Hour),
    ("day", Modifier::Day),
    ("week", Modifier::Week),
    ("month", Modifier::Month),
    ("year", Modifier::Year),
    ("cidr", Modifier::Cidr),
    ("expand", Modifier::Expand),
    ("fieldref", Modifier::FieldRef),
];

impl Modifier {
    /// Looks a modifier up by the name written in a rule (exact, lower case, as pySigma).
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, m)| *m)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, m)| *m == self).map_or("?", |(n, _)| n)
    }

    /// Every canonical modifier name (for suggestions).
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }

    /// What the modifier does, in one sentence (Sigma 2.1 modifiers appendix), for editor hovers.
    pub fn description(self) -> &'static str {
        match self {
            Modifier::Contains => "Matches when the value appears anywhere in the field (wildcards around the value).",
            Modifier::StartsWith => "Matches when the field begins with the value.",
            Modifier::EndsWith => "Matches when the field ends with the value.",
            Modifier::All => "All values of the list must match (AND) instead of any (OR).",
            Modifier::Exists => "Takes true or false: whether the field is present in the event.",
            Modifier::Cased => "Matches case-sensitively (values are case-insensitive by default).",
            Modifier::Neq => {
                "Negates the item: matches when the field does not equal any value (an absent field matches)."
            }
            Modifier::Windash => {
                "Also matches the value with '-' replaced by '/', '–', '—' and '―' (Windows command-line flags)."
            }
            Modifier::Re => "The value is a regular expression (matched anywhere in the field unless anchored).",
            Modifier::ReIgnoreCase => "Regular expression flag: case-insensitive matching (with 're').",
            Modifier::ReMultiline => "Regular expression flag: '^' and '$' match at line breaks (with 're').",
            Modifier::ReDotAll => "Regular expression flag: '.' also matches line breaks (with 're').",
            Modifier::Base64 => "Matches the base64 encoding of the value.",
            Modifier::Base64Offset => {
                "Matches the value base64-encoded at each of the three byte offsets (inside longer base64 text)."
            }
            Modifier::Utf16le => "Encodes the value as UTF-16 little endian (before base64).",
            Modifier::Utf16be => "Encodes the value as UTF-16 big endian (before base64).",
            Modifier::Utf16 => "Encodes the value as UTF-16 with a byte order mark (before base64).",
            Modifier::Wide => "Alias of utf16le: encodes the value as UTF-16 little endian (before base64).",
            Modifier::Lt => "The field is a number less than the value.",
            Modifier::Lte => "The field is a number less than or equal to the value.",
            Modifier::Gt => "The field is a number greater than the value.",
            Modifier::Gte => "The field is a number greater than or equal to the value.",
            Modifier::Minute => "Compares the minute (0-59) of the field's timestamp with the value.",
            Modifier::Hour => "Compares the hour (0-23) of the field's timestamp with the value.",
            Modifier::Day => "Compares the day of the month of the field's timestamp with the value.",
            Modifier::Week => "Compares the ISO week of the field's timestamp with the value.",
            Modifier::Month => "Compares the month (1-12) of the field's timestamp with the value.",
            Modifier::Year => "Compares the year of the field's timestamp with the value.",
            Modifier::Cidr => "The value is an IPv4 or IPv6 network; matches addresses inside it.",
            Modifier::Expand => "Replaces %placeholders% in the value with values supplied at run time.",
            Modifier::FieldRef => "The value names another field; matches when both fields are equal.",
        }
    }

    /// `contains`, `startswith` or `endswith`.
    pub fn is_position(self) -> bool {
        matches!(self, Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith)
    }

    /// `lt`, `lte`, `gt` or `gte`.
    pub fn is_comparison(self) -> bool {
        matches!(self, Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte)
    }

    /// `minute`, `hour`, `day`, `week`, `month` or `year`.
    pub fn is_time_part(self) -> bool {
        matches!(
            self,
            Modifier::Minute | Modifier::Hour | Modifier::Day | Modifier::Week | Modifier::Month | Modifier::Year
        )
    }

    /// `i`, `m` or `s` (and their long names).
    pub fn is_regex_flag(self) -> bool {
        matches!(self, Modifier::ReIgnoreCase | Modifier::ReMultiline | Modifier::ReDotAll)
    }

    /// `utf16le`, `utf16be`, `utf16` or `wide`.
    pub fn is_encoding(self) -> bool {
        matches!(self, Modifier::Utf16le | Modifier::Utf16be | Modifier::Utf16 | Modifier::Wide)
    }

    /// `base64` or `base64offset`.
    pub fn is_base64(self) -> bool {
        matches!(self, Modifier::Base64 | Modifier::Base64Offset)
    }

    /// Modifiers that transform or match string values.
    pub fn is_string_modifier(self) -> bool {
        self.is_position()
            || self.is_encoding()
            || self.is_base64()
            || matches!(self, Modifier::Windash | Modifier::Cased | Modifier::Expand)
    }

    /// What kind of value the chain expects.
    pub fn expected_value(chain: &[Modifier]) -> ExpectedValue {
        if chain.contains(&Modifier::Exists) {
            ExpectedValue::Bool
        } else if chain.iter().any(|m| m.is_comparison() || m.is_time_part()) {
            ExpectedValue::Number
        } else if chain.contains(&Modifier::Cidr) {
            ExpectedValue::Network
        } else if chain.contains(&Modifier::Re) {
            ExpectedValue::Regex
        } else if chain.contains(&Modifier::FieldRef) {
            ExpectedValue::FieldName
        } else if chain.iter().any(|m| m.is_string_modifier()) {
            ExpectedValue::String
        } else {
            ExpectedValue::Any
        }
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value type a modifier chain requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedValue {
    /// Any scalar (no modifier constrains it).
    Any,
    /// `true` or `false` (`exists`).
    Bool,
    /// A number (comparisons and time parts).
    Number,
    /// A string (string transformations and position modifiers).
    String,
    /// A regular expression (`re`).
    Regex,
    /// An IPv4 or IPv6 network in CIDR notation (`cidr`).
    Network,
    /// The name of another field (`fieldref`).
    FieldName,
}

/// Why a chain is invalid: the index of the offending modifier and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// Index in the chain of the offending modifier.
    pub index: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Checks that a modifier chain has a defined meaning. Returns the first problem.
///
/// # Errors
/// A [`ChainError`] naming the offending modifier.
pub fn check_chain(chain: &[Modifier]) -> Result<(), ChainError> {
    let err = |index: usize, message: String| Err(ChainError { index, message });
    for (i, &m) in chain.iter().enumerate() {
        let before = chain.get(..i).unwrap_or(&[]);
        let after = chain.get(i + 1..).unwrap_or(&[]);
        if before.contains(&m) {
            return err(i, format!("modifier '{m}' is applied twice"));
        }
        match m {
            Modifier::Exists if chain.len() > 1 => {
                return err(i, "'exists' cannot be combined with other modifiers".into());
            }
            Modifier::Re | Modifier::Cidr if !before.iter().all(|b| matches!(b, Modifier::Neq)) => {
                return err(i, format!("'{m}' must be the first modifier (it takes the value as written)"));
            }
            Modifier::Re => {
                if let Some((j, bad)) = after
                    .iter()
                    .enumerate()
                    .find(|(_, a)| !(a.is_regex_flag() || matches!(a, Modifier::All | Modifier::Neq)))
                {
                    return err(i + 1 + j, format!("'{bad}' cannot follow 're'; only the flags i, m, s may"));
                }
            }
            Modifier::Cidr => {
                if let Some((j, bad)) =
                    after.iter().enumerate().find(|(_, a)| !matches!(a, Modifier::All | Modifier::Neq))
                {
                    return err(i + 1 + j, format!("'{bad}' cannot be combined with 'cidr'"));
                }
            }
            _ if m.is_regex_flag() && !before.contains(&Modifier::Re) => {
                return err(i, format!("regex flag '{m}' needs 're' before it"));
            }
            _ if m.is_comparison() => {
                if let Some(other) = before.iter().chain(after).find(|o| o.is_comparison()) {
                    return err(i, format!("'{m}' cannot be combined with another comparison '{other}'"));
                }
                if let Some(bad) = before.iter().find(|b| !(b.is_time_part() || matches!(b, Modifier::Neq))) {
                    return err(i, format!("'{m}' compares numbers and cannot follow '{bad}'"));
                }
                if let Some(bad) = after.iter().find(|a| !matches!(a, Modifier::All)) {
                    return err(i, format!("'{bad}' cannot follow the comparison '{m}'"));
                }
            }
            _ if m.is_time_part() => {
                if let Some(bad) = chain.iter().find(|o| **o != m && o.is_time_part()) {
                    return err(i, format!("'{m}' cannot be combined with '{bad}'"));
                }
                if let Some(bad) = chain.iter().find(|o| o.is_string_modifier() || matches!(o, Modifier::FieldRef)) {
                    return err(i, format!("'{m}' takes a number and cannot be combined with '{bad}'"));
                }
            }
            _ if m.is_position() => {
                if let Some(other) = before.iter().find(|o| o.is_position()) {
                    return err(i, format!("'{m}' cannot be combined with '{other}'"));
                }
            }
            Modifier::Base64 | Modifier::Base64Offset => {
                if let Some(other) = before.iter().find(|o| o.is_base64()) {
                    return err(i, format!("'{m}' cannot be combined with '{other}'"));
                }
                if let Some(bad) = before.iter().find(|o| o.is_position() || matches!(o, Modifier::Windash)) {
                    return err(i, format!("'{m}' cannot follow '{bad}': the wildcards it adds cannot be encoded"));
                }
            }
            _ if m.is_encoding() => {
                if let Some(other) = before.iter().find(|o| o.is_encoding() || o.is_base64()) {
                    return err(i, format!("'{m}' cannot follow '{other}'"));
                }
            }
            Modifier::FieldRef => {
                if let Some(bad) = chain
                    .iter()
                    .find(|o| o.is_encoding() || o.is_base64() || matches!(o, Modifier::Windash | Modifier::Expand))
                {
                    return err(i, format!("'fieldref' cannot be combined with '{bad}'"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The closest known modifier name, for "did you mean" help.
pub fn suggest(name: &str) -> Option<&'static str> {
    Modifier::names()
        .map(|n| (strsim(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// The one modifier within a small edit distance of `name` (transposed or missing letters: `endwith`,
/// `contians`), or `None` when no name or several are equally close — only then is a correction obvious enough
/// to apply without asking.
pub fn suggest_unique(name: &str) -> Option<&'static str> {
    let best = suggest(name)?;
    let d = strsim(name, best);
    let ties = Modifier::names().filter(|n| strsim(name, n) == d).count();
    // A transposition counts 2 in Levenshtein distance; allow it, not more.
    (ties == 1 && d <= 2 && name.len() >= 3).then_some(best)
}

/// Levenshtein distance; names are short, so the quadratic algorithm is fine.
pub(crate) fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let best = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            cur[j + 1] = best;
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(names: &str) -> Vec<Modifier> {
        names.split('|').map(|n| Modifier::from_name(n).unwrap()).collect()
    }

    #[test]
    fn valid_chains() {
        for c in [
            "contains",
            "contains|all",
            "contains|all|windash",
            "windash|contains",
            "wide|base64offset|contains",
            "utf16le|base64",
            "base64offset|contains",
            "re",
            "re|i|m|s",
            "cidr",
            "exists",
            "gt",
            "minute|gte",
            "hour",
            "fieldref",
            "fieldref|contains",
            "endswith|fieldref",
            "cased|contains",
            "expand",
            "contains|expand",
            "neq",
            "contains|neq",
            "neq|re",
            "all",
        ] {
            assert_eq!(check_chain(&chain(c)), Ok(()), "{c}");
        }
    }

    #[test]
    fn invalid_chains() {
        for (c, idx) in [
            ("re|contains", 1),
            ("contains|re", 1),
            ("i", 0),
            ("contains|cidr", 1),
            ("cidr|contains", 1),
            ("exists|all", 0),
            ("gt|lt", 0),
            ("contains|gt", 1),
            ("contains|startswith", 1),
            ("contains|contains", 1),
            ("contains|base64", 1),
            ("base64|base64offset", 1),
            ("base64|wide", 1),
            ("hour|contains", 0),
            ("fieldref|base64", 0),
        ] {
            let e = check_chain(&chain(c)).unwrap_err();
            assert_eq!(e.index, idx, "{c}: {e:?}");
        }
    }

    #[test]
    fn names_round_trip_and_suggest() {
        for n in Modifier::names() {
            let m = Modifier::from_name(n).unwrap();
            assert_eq!(Modifier::from_name(m.name()), Some(m));
        }
        assert_eq!(suggest("contians"), Some("contains"));
        assert_eq!(suggest("endwith"), Some("endswith"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }
}
