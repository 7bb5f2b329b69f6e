//! Matchers: lowered items ([`crate::ir`]) compiled into tests over a [`Prepared`] event.
//!
//! Every literal is folded at compile time and compared with the event's pre-folded text, so a case-insensitive
//! comparison is a plain byte comparison (`memchr::memmem` for substrings, Aho-Corasick for many substrings of one
//! field). Patterns with `?` become anchored regular expressions (the `regex` crate: linear time). Evaluating a
//! matcher allocates nothing.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use rustc_hash::FxHashSet;

use crate::fold::fold;
use crate::ir::{CmpOp, Item, Part, Pattern, Position, TimePart, ValueSpec};
use crate::prepared::{Atom, AtomKind, FieldId, Prepared};

/// A regular expression checked for syntax at compile time and built on first use: most rules of a large rule
/// set never reach their regexes (the prefilter rules them out), so building them all up front would only cost
/// start-up time.
/// Why a field item could not become a matcher (its rule is skipped and reported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    /// A `|re` pattern that does not parse.
    #[error(transparent)]
    RegexSyntax(#[from] Box<regex_syntax::Error>),
    /// A pattern whose automaton exceeds the regex crate's size limit.
    #[error("the pattern cannot be compiled: Compiled regex exceeds size limit of {limit} bytes.")]
    RegexTooBig {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A pattern the regex crate rejected for another reason (its message).
    #[error("the pattern cannot be compiled: {0}")]
    Regex(String),
}

#[derive(Debug)]
pub(crate) struct LazyRegex {
    builder: regex::RegexBuilder,
    pattern: Box<str>,
    regex: OnceLock<Option<regex::Regex>>,
}

impl Clone for LazyRegex {
    fn clone(&self) -> Self {
        LazyRegex { builder: self.builder.clone(), pattern: self.pattern.clone(), regex: OnceLock::new() }
    }
}

impl LazyRegex {
    fn new(
        pattern: &str,
        builder: regex::RegexBuilder,
        ignore_case: bool,
        multi_line: bool,
        dot_all: bool,
    ) -> Result<Self, MatcherError> {
        // A syntax check is cheap; building the automaton is what is deferred.
        regex_syntax::ParserBuilder::new()
            .case_insensitive(ignore_case)
            .multi_line(multi_line)
            .dot_matches_new_line(dot_all)
            .build()
            .parse(pattern)
            .map_err(Box::new)?;
        Ok(LazyRegex { builder, pattern: pattern.into(), regex: OnceLock::new() })
    }

    /// Like [`LazyRegex::new`], but built now, so that a pattern the regex crate rejects (over the size limit)
    /// is a compile error for its rule rather than a regex that could not be built at match time.
    fn eager(pattern: &str, builder: regex::RegexBuilder) -> Result<Self, MatcherError> {
        let regex = builder.build().map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => MatcherError::RegexTooBig { limit },
            other => MatcherError::Regex(other.to_string()),
        })?;
        Ok(LazyRegex { builder, pattern: pattern.into(), regex: OnceLock::from(Some(regex)) })
    }

    #[inline]
    fn is_match(&self, hay: &str) -> bool {
        self.regex.get_or_init(|| self.build()).as_ref().is_some_and(|r| r.is_match(hay))
    }

    /// Builds the regex on first use. The rule parser already built this pattern with these very options
    /// (`sigil_rule::compile_regex`), so this cannot fail for the size limit; should it anyway, it is built
    /// without the limits rather than match nothing, and a failure even then is counted ([`regex_failures`])
    /// and reported by the hunt.
    #[cold]
    fn build(&self) -> Option<regex::Regex> {
        if let Ok(regex) = self.builder.build() {
            return Some(regex);
        }
        let mut unlimited = self.builder.clone();
        unlimited.size_limit(usize::MAX).dfa_size_limit(usize::MAX);
        match unlimited.build() {
            Ok(regex) => Some(regex),
            Err(_) => {
                REGEX_FAILURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                None
            }
        }
    }
}

/// Regular expressions that could not be built at match time (see [`LazyRegex::build`]); every event they
/// were tested on went unmatched by that test. Process-wide, as regexes are built deep inside matchers.
static REGEX_FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many regular expressions could not be built when first used, so far in this process (0 unless
/// something is badly wrong): the hunt reports it, since the events those regexes were tested on could not
/// match.
pub fn regex_failures() -> u64 {
    REGEX_FAILURES.load(std::sync::atomic::Ordering::Relaxed)
}

/// A compiled wildcard pattern, over folded text (or the text as written when cased).
#[derive(Debug, Clone)]
enum StrMatcher {
    /// `*`: any value.
    Any,
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    /// `*x*` (a set keeps its substrings apart and searches them together).
    Contains(Box<str>),
    /// `a*b*c` with `*` only: prefix, suffix and the middle pieces in order (leftmost search is exact for `*`).
    Glob {
        prefix: Box<str>,
        suffix: Box<str>,
        middle: Box<[memmem::Finder<'static>]>,
    },
    /// Patterns with `?` (boxed: far larger than the other variants).
    Regex(Box<LazyRegex>),
}

impl StrMatcher {
    fn new(p: &Pattern, cased: bool) -> Result<StrMatcher, MatcherError> {
        let lit = |s: &str| -> Box<str> { if cased { s.into() } else { fold(s).into() } };
        if p.parts.iter().any(|x| matches!(x, Part::AnyChar)) {
            let mut re = String::from(r"(?s)\A");
            for part in &p.parts {
                match part {
                    Part::Literal(s) => re.push_str(&regex::escape(&lit(s))),
                    Part::AnyRun => re.push_str(".*"),
                    Part::AnyChar => re.push('.'),
                }
            }
            re.push_str(r"\z");
            let mut builder = regex::RegexBuilder::new(&re);
            builder.size_limit(sigil_rule::REGEX_SIZE_LIMIT);
            // Made here, not by the rule parser: build it now so a failure is the rule's compile error.
            return LazyRegex::eager(&re, builder).map(|r| StrMatcher::Regex(Box::new(r)));
        }
        let parts = p.parts.as_slice();
        Ok(match parts {
            [] => StrMatcher::Exact("".into()),
            [Part::AnyRun] => StrMatcher::Any,
            [Part::Literal(s)] => StrMatcher::Exact(lit(s)),
            [Part::Literal(s), Part::AnyRun] => StrMatcher::Prefix(lit(s)),
            [Part::AnyRun, Part::Literal(s)] => StrMatcher::Suffix(lit(s)),
            [Part::AnyRun, Part::Literal(s), Part::AnyRun] => StrMatcher::Contains(lit(s)),
            _ => {
                let mut prefix: Box<str> = "".into();
                let mut suffix: Box<str> = "".into();
                let mut rest = parts;
                if let [Part::Literal(s), tail @ ..] = rest {
                    prefix = lit(s);
                    rest = tail;
                }
                if let [head @ .., Part::Literal(s)] = rest {
                    suffix = lit(s);
                    rest = head;
                }
                let middle = rest
                    .iter()
                    .filter_map(|x| match x {
                        Part::Literal(s) => Some(memmem::Finder::new(lit(s).as_bytes()).into_owned()),
                        _ => None,
                    })
                    .collect();
                StrMatcher::Glob { prefix, suffix, middle }
            }
        })
    }

    #[inline]
    fn matches(&self, hay: &str) -> bool {
        match self {
            StrMatcher::Any => true,
            StrMatcher::Exact(s) => hay == &**s,
            StrMatcher::Prefix(s) => hay.starts_with(&**s),
            StrMatcher::Suffix(s) => hay.ends_with(&**s),
            StrMatcher::Contains(s) => memmem::find(hay.as_bytes(), s.as_bytes()).is_some(),
            StrMatcher::Glob { prefix, suffix, middle } => {
                let h = hay.as_bytes();
                if h.len() < prefix.len() + suffix.len()
                    || !h.starts_with(prefix.as_bytes())
                    || !h.ends_with(suffix.as_bytes())
                {
                    return false;
                }
                let mut rest = h.get(prefix.len()..h.len() - suffix.len()).unwrap_or_default();
                for f in middle.iter() {
                    match f.find(rest) {
                        Some(i) => rest = rest.get(i + f.needle().len()..).unwrap_or_default(),
                        None => return false,
                    }
                }
                true
            }
            StrMatcher::Regex(r) => r.is_match(hay),
        }
    }
}

/// Several patterns OR-ed, sorted into buckets that can be tested together.
///
/// Kept compact (boxed slices, one `memmem::Finder` — about 300 bytes — only for sets of a few substrings): a
/// large rule set holds tens of thousands of these for the whole hunt.
#[derive(Debug, Clone, Default)]
struct StrSet {
    any: bool,
    exact: Box<[Box<str>]>,
    exact_set: Option<FxHashSet<Box<str>>>,
    prefixes: Affixes,
    suffixes: Affixes,
    contains: Box<[memmem::Finder<'static>]>,
    /// Many substrings: one automaton, built on first use.
    contains_many: Box<[Box<[u8]>]>,
    contains_ac: OnceLock<Option<AhoCorasick>>,
    other: Box<[StrMatcher]>,
}

/// From this many substrings of one field on, one Aho-Corasick pass beats a `memmem` search per substring.
const AC_THRESHOLD: usize = 4;
const HASH_THRESHOLD: usize = 8;

impl StrSet {
    #[cold]
    fn build_ac(needles: &[Box<[u8]>]) -> Option<AhoCorasick> {
        AhoCorasick::builder().kind(Some(aho_corasick::AhoCorasickKind::DFA)).build(needles).ok()
    }

    fn many_contains(&self, hay: &str) -> bool {
        match self.contains_ac.get_or_init(|| StrSet::build_ac(&self.contains_many)) {
            Some(ac) => ac.is_match(hay),
            // The automaton could not be built (size limits): search each substring.
            None => self.contains_many.iter().any(|n| memmem::find(hay.as_bytes(), n).is_some()),
        }
    }

    fn new(patterns: &[Pattern], cased: bool) -> Result<StrSet, MatcherError> {
        let mut any = false;
        let (mut exact, mut prefixes, mut suffixes, mut contains, mut other) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for p in patterns {
            match StrMatcher::new(p, cased)? {
                StrMatcher::Any => any = true,
                StrMatcher::Exact(s) => exact.push(s),
                StrMatcher::Prefix(s) => prefixes.push(s),
                StrMatcher::Suffix(s) => suffixes.push(s),
                StrMatcher::Contains(s) => contains.push(Box::<[u8]>::from(s.as_bytes())),
                other_matcher => other.push(other_matcher),
            }
        }
        let exact_set = (exact.len() >= HASH_THRESHOLD).then(|| std::mem::take(&mut exact).into_iter().collect());
        let (contains, contains_many) = if contains.len() >= AC_THRESHOLD {
            (Box::default(), contains.into_boxed_slice())
        } else {
            (contains.iter().map(|n| memmem::Finder::new(n).into_owned()).collect(), Box::default())
        };
        Ok(StrSet {
            any,
            exact: exact.into(),
            exact_set,
            prefixes: Affixes::new(prefixes, false),
            suffixes: Affixes::new(suffixes, true),
            contains,
            contains_many,
            contains_ac: OnceLock::new(),
            other: other.into(),
        })
    }

    #[inline]
    fn matches(&self, hay: &str) -> bool {
        self.any
            || self.exact.iter().any(|s| hay == &**s)
            || self.exact_set.as_ref().is_some_and(|s| s.contains(hay))
            || self.suffixes.matches(hay.as_bytes())
            || self.prefixes.matches(hay.as_bytes())
            || self.contains.iter().any(|f| f.find(hay.as_bytes()).is_some())
            || (!self.contains_many.is_empty() && self.many_contains(hay))
            || self.other.iter().any(|m| m.matches(hay))
    }
}

/// Prefixes (or suffixes) of a set, each with its first (last) eight bytes as a number: most are told apart from
/// the value by one integer comparison, without a call to `memcmp`.
#[derive(Debug, Clone, Default)]
struct Affixes {
    /// `(up to 8 bytes at the affix's end that touches the value's end, as little-endian, length)`.
    keys: Box<[(u64, u32)]>,
    texts: Box<[Box<str>]>,
    suffix: bool,
}

impl Affixes {
    fn new(texts: Vec<Box<str>>, suffix: bool) -> Affixes {
        let keys = texts
            .iter()
            .map(|t| {
                let b = t.as_bytes();
                let k = b.len().min(8);
                let part = if suffix { b.get(b.len() - k..) } else { b.get(..k) };
                (le_bytes(part.unwrap_or_default()), b.len() as u32)
            })
            .collect();
        Affixes { keys, texts: texts.into(), suffix }
    }

    #[inline]
    fn matches(&self, hay: &[u8]) -> bool {
        if self.texts.is_empty() {
            return false;
        }
        let Some(edge) = (if self.suffix { hay.last_chunk::<8>() } else { hay.first_chunk::<8>() }) else {
            // A value shorter than eight bytes: compare plainly.
            return self
                .texts
                .iter()
                .any(|t| if self.suffix { hay.ends_with(t.as_bytes()) } else { hay.starts_with(t.as_bytes()) });
        };
        let edge = u64::from_le_bytes(*edge);
        self.keys.iter().zip(self.texts.iter()).any(|(&(key, len), text)| {
            let len = len as usize;
            if len > hay.len() {
                return false;
            }
            let k = len.min(8) as u32;
            // The `k` bytes at the edge: the high ones of a suffix's last eight, the low ones of a prefix's first.
            let bytes = if k == 0 {
                0
            } else if self.suffix {
                edge >> (8 * (8 - k))
            } else {
                edge & (u64::MAX >> (8 * (8 - k)))
            };
            bytes == key
                && (len <= 8
                    || if self.suffix { hay.ends_with(text.as_bytes()) } else { hay.starts_with(text.as_bytes()) })
        })
    }
}

/// Up to eight bytes as a little-endian number.
fn le_bytes(b: &[u8]) -> u64 {
    b.iter().rev().fold(0u64, |acc, x| (acc << 8) | u64::from(*x))
}

#[derive(Debug, Clone)]
enum ValueMatcher {
    Null,
    Exists(bool),
    Bool(bool),
    Number(f64),
    /// Boxed: a set is much larger than the other variants, which are most values.
    Strings {
        set: Box<StrSet>,
        cased: bool,
    },
    Regex(Box<LazyRegex>),
    Cidr(ipnet::IpNet),
    Compare {
        part: Option<TimePart>,
        op: CmpOp,
        value: f64,
    },
    FieldRef {
        field: u16,
        position: Position,
        cased: bool,
    },
}

impl ValueMatcher {
    /// Rough cost, to test cheap values first within an AND.
    fn cost(&self) -> u32 {
        match self {
            ValueMatcher::Null | ValueMatcher::Exists(_) => 0,
            ValueMatcher::Bool(_) | ValueMatcher::Number(_) => 1,
            ValueMatcher::Strings { set, .. } => {
                if set.other.is_empty() && set.contains.is_empty() && set.contains_many.is_empty() {
                    2
                } else if set.other.is_empty() {
                    4
                } else {
                    6
                }
            }
            ValueMatcher::Cidr(_) | ValueMatcher::Compare { .. } => 3,
            ValueMatcher::FieldRef { .. } => 5,
            ValueMatcher::Regex(_) => 8,
        }
    }
}

/// A compiled detection item.
#[derive(Debug, Clone)]
pub(crate) struct ItemMatcher {
    /// Rule-local field index (see [`crate::compile::CompiledRule::fields`]); `None` for keywords.
    field: Option<u16>,
    all: bool,
    negated: bool,
    values: Box<[ValueMatcher]>,
}

/// Resolves rule-local field indexes to interned ids for the route being evaluated.
pub(crate) type FieldMap<'a> = &'a [FieldId];

impl ItemMatcher {
    /// Compiles a lowered item. `field_index` gives the rule-local index of a Sigma field name.
    pub(crate) fn new(item: &Item, field_index: &mut dyn FnMut(&str) -> u16) -> Result<ItemMatcher, MatcherError> {
        let mut values = Vec::with_capacity(item.values.len());
        // Without `all`, the string patterns of all values are OR-ed: merge them into one set.
        let mut merged: Vec<Pattern> = Vec::new();
        let mut merged_cased = None;
        for v in &item.values {
            let m = match v {
                ValueSpec::Null => ValueMatcher::Null,
                ValueSpec::Exists(b) => ValueMatcher::Exists(*b),
                ValueSpec::Bool(b) => ValueMatcher::Bool(*b),
                ValueSpec::Number(n) => ValueMatcher::Number(*n),
                ValueSpec::Patterns { alternatives, cased } => {
                    if !item.all && merged_cased.is_none_or(|c| c == *cased) {
                        merged.extend(alternatives.iter().cloned());
                        merged_cased = Some(*cased);
                        continue;
                    }
                    ValueMatcher::Strings { set: Box::new(StrSet::new(alternatives, *cased)?), cased: *cased }
                }
                ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
                    let mut b = regex::RegexBuilder::new(pattern);
                    b.case_insensitive(*ignore_case)
                        .multi_line(*multi_line)
                        .dot_matches_new_line(*dot_all)
                        .size_limit(sigil_rule::REGEX_SIZE_LIMIT)
                        .dfa_size_limit(sigil_rule::REGEX_SIZE_LIMIT);
                    ValueMatcher::Regex(Box::new(LazyRegex::new(pattern, b, *ignore_case, *multi_line, *dot_all)?))
                }
                ValueSpec::Cidr(net) => ValueMatcher::Cidr(*net),
                ValueSpec::Compare { part, op, value } => ValueMatcher::Compare { part: *part, op: *op, value: *value },
                ValueSpec::FieldRef { field, position, cased } => {
                    ValueMatcher::FieldRef { field: field_index(field), position: *position, cased: *cased }
                }
            };
            values.push(m);
        }
        if let Some(cased) = merged_cased {
            values.push(ValueMatcher::Strings { set: Box::new(StrSet::new(&merged, cased)?), cased });
        }
        values.sort_by_key(ValueMatcher::cost);
        Ok(ItemMatcher {
            field: item.field.as_deref().map(field_index),
            all: item.all,
            negated: item.negated,
            values: values.into(),
        })
    }

    pub(crate) fn cost(&self) -> u32 {
        self.values.iter().map(ValueMatcher::cost).max().unwrap_or(0) + u32::from(self.field.is_none()) * 4
    }

    #[inline]
    pub(crate) fn matches(&self, ev: &Prepared, map: FieldMap<'_>) -> bool {
        let atoms = match self.field {
            Some(f) => map.get(f as usize).and_then(|id| ev.field(*id)),
            None => Some(ev.all_atoms()),
        };
        let hit = if self.all {
            self.values.iter().all(|v| value_matches(v, atoms, ev, map))
        } else {
            self.values.iter().any(|v| value_matches(v, atoms, ev, map))
        };
        hit != self.negated
    }
}

/// Explaining a match (never on the hunt's path).
impl ItemMatcher {
    /// The atoms the item reads: its field's, or every atom of the event for keywords; `None` when the field is
    /// absent.
    pub(crate) fn atoms<'e>(&self, ev: &'e Prepared, map: FieldMap<'_>) -> Option<&'e [Atom]> {
        match self.field {
            Some(f) => map.get(f as usize).and_then(|id| ev.field(*id)),
            None => Some(ev.all_atoms()),
        }
    }

    /// The first atom that one of the item's values matches (ignoring `neq`), by the same test as
    /// [`ItemMatcher::matches`]. `None` for `null` and `exists`, which test the field rather than a value.
    pub(crate) fn matching_atom<'e>(&self, ev: &'e Prepared, map: FieldMap<'_>) -> Option<&'e Atom> {
        self.atoms(ev, map)?.iter().find(|a| self.values.iter().any(|v| atom_matches(v, a, ev, map)))
    }
}

#[inline]
fn value_matches(v: &ValueMatcher, atoms: Option<&[Atom]>, ev: &Prepared, map: FieldMap<'_>) -> bool {
    match v {
        ValueMatcher::Null => atoms.is_none_or(|a| a.iter().all(|x| x.kind == AtomKind::Null)),
        ValueMatcher::Exists(want) => atoms.is_some() == *want,
        _ => atoms.is_some_and(|a| a.iter().any(|x| atom_matches(v, x, ev, map))),
    }
}

fn atom_matches(v: &ValueMatcher, a: &Atom, ev: &Prepared, map: FieldMap<'_>) -> bool {
    match v {
        ValueMatcher::Null | ValueMatcher::Exists(_) => false,
        ValueMatcher::Strings { set, cased } => set.matches(if *cased { ev.text(a) } else { ev.folded(a) }),
        ValueMatcher::Number(n) => ev.number(a) == Some(*n),
        ValueMatcher::Bool(b) => match a.kind {
            AtomKind::Bool(x) => x == *b,
            AtomKind::Str => ev.text(a).trim().eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        ValueMatcher::Regex(r) => a.kind != AtomKind::Null && r.is_match(ev.text(a)),
        ValueMatcher::Cidr(net) => parse_ip(ev.text(a)).is_some_and(|ip| net_contains(net, ip)),
        ValueMatcher::Compare { part: None, op, value } => ev.number(a).is_some_and(|x| op.holds(x, *value)),
        ValueMatcher::Compare { part: Some(part), op, value } => {
            time_part(a, ev, *part).is_some_and(|x| op.holds(x as f64, *value))
        }
        ValueMatcher::FieldRef { field, position, cased } => {
            let Some(other) = map.get(*field as usize).and_then(|id| ev.field(*id)) else { return false };
            other.iter().filter(|o| o.kind != AtomKind::Null).any(|o| {
                let (hay, needle) = if *cased { (ev.text(a), ev.text(o)) } else { (ev.folded(a), ev.folded(o)) };
                match position {
                    Position::Exact => hay == needle || ev.number(a).is_some_and(|x| ev.number(o) == Some(x)),
                    Position::Prefix => hay.starts_with(needle),
                    Position::Suffix => hay.ends_with(needle),
                    Position::Contains => memmem::find(hay.as_bytes(), needle.as_bytes()).is_some(),
                }
            })
        }
    }
}

/// An IP address as logs write it: surrounding spaces and brackets, and an IPv6 zone (`%12`), are ignored.
fn parse_ip(s: &str) -> Option<std::net::IpAddr> {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let s = s.split_once('%').map_or(s, |(addr, _zone)| addr);
    s.parse().ok()
}

/// Network membership; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, as Sysmon sometimes logs) counts as its
/// IPv4 address for IPv4 networks.
fn net_contains(net: &ipnet::IpNet, ip: std::net::IpAddr) -> bool {
    match (net, ip) {
        (ipnet::IpNet::V4(n), std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().is_some_and(|v4| n.contains(&v4)),
        _ => net.contains(&ip),
    }
}

/// A part of the timestamp in an atom, as written (no time zone conversion). Strings are read as
/// `YYYY-MM-DD[T ]HH:MM[:SS...]`; numbers as Unix epoch seconds, milliseconds, microseconds or nanoseconds (UTC).
fn time_part(a: &Atom, ev: &Prepared, part: TimePart) -> Option<i64> {
    let (y, mo, d, h, mi) = match a.kind {
        AtomKind::Int(_) | AtomKind::Float(_) => epoch_civil(ev.number(a)?)?,
        AtomKind::Str => {
            let t = ev.text(a).trim();
            parse_civil(t).or_else(|| epoch_civil(crate::prepared::parse_number(t)?))?
        }
        AtomKind::Null | AtomKind::Bool(_) => return None,
    };
    Some(match part {
        TimePart::Minute => mi,
        TimePart::Hour => h,
        TimePart::Day => d,
        TimePart::Month => mo,
        TimePart::Year => y,
        TimePart::Week => {
            let date =
                jiff::civil::Date::new(i16::try_from(y).ok()?, i8::try_from(mo).ok()?, i8::try_from(d).ok()?).ok()?;
            i64::from(date.iso_week_date().week())
        }
    })
}

fn parse_civil(t: &str) -> Option<(i64, i64, i64, i64, i64)> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = b.get(r)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(s).ok()?.parse().ok()
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (h, mi) = if matches!(b.get(10), Some(b'T' | b't' | b' ')) && b.get(13) == Some(&b':') {
        (num(11..13)?, num(14..16)?)
    } else if b.len() == 10 {
        (0, 0)
    } else {
        return None;
    };
    if h > 23 || mi > 59 {
        return None;
    }
    Some((y, mo, d, h, mi))
}

fn epoch_civil(n: f64) -> Option<(i64, i64, i64, i64, i64)> {
    if !n.is_finite() {
        return None;
    }
    let mut secs = n;
    // Milliseconds, microseconds and nanoseconds since the epoch are told apart by magnitude.
    while secs.abs() >= 1e11 {
        secs /= 1000.0;
    }
    let ts = jiff::Timestamp::from_second(secs.floor() as i64).ok()?;
    let dt = ts.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    Some((
        i64::from(dt.year()),
        i64::from(dt.month()),
        i64::from(dt.day()),
        i64::from(dt.hour()),
        i64::from(dt.minute()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Pattern {
        let ss = sigil_rule::SigmaString::parse(s, false);
        Pattern::new(ss.parts.iter().map(|p| match p {
            sigil_rule::StrPart::Literal(l) => Part::Literal(l.clone()),
            sigil_rule::StrPart::AnyRun => Part::AnyRun,
            sigil_rule::StrPart::AnyChar => Part::AnyChar,
            sigil_rule::StrPart::Placeholder(n) => Part::Literal(n.clone()),
        }))
    }

    fn m(p: &str, hay: &str) -> bool {
        StrMatcher::new(&pat(p), false).unwrap().matches(&fold(hay))
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(m("a*", "ABC"));
        assert!(m("*c", "ABC"));
        assert!(m("*b*", "ABC"));
        assert!(m("a*c", "abc") && m("a*c", "ac") && !m("a*c", "a"));
        assert!(m("a*b*c", "a__b__c") && !m("a*b*c", "a__c"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("*a*a*", "aa") && !m("*a*a*", "a"));
        assert!(m("a?c", "abc") && !m("a?c", "ac") && !m("a?c", "abbc"));
        assert!(m("?", "é") && !m("?", ""));
        assert!(m("*\\**", "a*b") && !m("*\\**", "ab"));
        assert!(m("*\\?", "why?") && !m("*\\?", "why!"));
        assert!(m("C:\\Windows\\\\*", "c:\\windows\\x"));
        assert!(!m("C:\\Windows\\*", "c:\\windows\\x") && m("C:\\Windows\\*", "c:\\windows*"));
    }

    #[test]
    fn sets_pick_buckets() {
        let pats: Vec<Pattern> = ["a", "*b", "c*", "*d*", "*e*", "*f*", "*g*", "h?"].iter().map(|p| pat(p)).collect();
        let s = StrSet::new(&pats, false).unwrap();
        assert_eq!(s.contains_many.len(), 4);
        for hay in ["a", "xb", "cx", "xdx", "g", "hi"] {
            assert!(s.matches(hay), "{hay}");
        }
        for hay in ["ax", "bx", "xc", "hij", ""] {
            assert!(!s.matches(hay), "{hay}");
        }
    }

    #[test]
    fn affixes_agree_with_starts_and_ends_with() {
        let texts =
            ["", "e", ".exe", "\\cmd.exe", "12345678", "123456789", "\\windows\\system32\\", "\u{e4}rger", "xx\u{e4}"];
        let hays = [
            "",
            "e",
            "a.exe",
            "c:\\windows\\system32\\cmd.exe",
            "12345678",
            "123456789",
            "0123456789",
            "\u{e4}rger",
            "\u{e4}rgerxx\u{e4}",
            "\\windows\\system32\\",
            "short",
            "exactly8",
        ];
        let owned = |v: &[&str]| v.iter().map(|t| Box::<str>::from(*t)).collect::<Vec<_>>();
        for suffix in [false, true] {
            // Each affix alone, and all together.
            let mut sets: Vec<Vec<&str>> = texts.iter().map(|t| vec![*t]).collect();
            sets.push(texts.iter().skip(1).copied().collect());
            for set in &sets {
                let a = Affixes::new(owned(set), suffix);
                for hay in hays {
                    let want = set.iter().any(|t| if suffix { hay.ends_with(t) } else { hay.starts_with(t) });
                    assert_eq!(a.matches(hay.as_bytes()), want, "{set:?} {hay:?} suffix={suffix}");
                }
            }
        }
        assert!(!Affixes::new(Vec::new(), true).matches(b"anything"));
    }

    #[test]
    fn civil_time_parts() {
        assert_eq!(parse_civil("2024-03-05T07:08:09.123Z"), Some((2024, 3, 5, 7, 8)));
        assert_eq!(parse_civil("2024-03-05 23:59:00"), Some((2024, 3, 5, 23, 59)));
        assert_eq!(parse_civil("2024-03-05"), Some((2024, 3, 5, 0, 0)));
        assert_eq!(parse_civil("2024-13-05"), None);
        assert_eq!(parse_civil("yesterday"), None);
        assert_eq!(epoch_civil(1_700_000_000.0), Some((2023, 11, 14, 22, 13)));
        assert_eq!(epoch_civil(1_700_000_000_000.0), Some((2023, 11, 14, 22, 13)));
    }

    #[test]
    fn ips() {
        let net: ipnet::IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net_contains(&net, parse_ip("10.1.2.3").unwrap()));
        assert!(net_contains(&net, parse_ip("::ffff:10.1.2.3").unwrap()));
        assert!(!net_contains(&net, parse_ip("11.1.2.3").unwrap()));
        let v6: ipnet::IpNet = "fe80::/10".parse().unwrap();
        assert!(net_contains(&v6, parse_ip("fe80::1%12").unwrap()));
        assert!(net_contains(&v6, parse_ip("[fe80::abcd]").unwrap()));
        assert!(!net_contains(&v6, parse_ip("10.1.2.3").unwrap()));
        assert!(parse_ip("not an ip").is_none());
    }
}
