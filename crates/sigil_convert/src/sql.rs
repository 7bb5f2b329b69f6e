//! SQL targets: ClickHouse, Spark SQL and DuckDB, over the table `sigil export` writes.
//!
//! Every predicate reproduces the hunting engine's semantics (Sigma 2.1, pySigma where the specification is
//! silent), not a loose approximation:
//!
//! - A field reads `fields['Name']` (a `Map(String, Nullable(String))`) when that key is there and is not a list;
//!   otherwise the values the engine reads — a list's items from `lists`, the last key equal ignoring ASCII case
//!   and spaces, the keys under a dotted prefix — as an array tested item by item (docs/convert.md, "Lists and
//!   dotted prefixes"). `exists` asks for the key (or keys under it); `null` holds when it is absent or all its
//!   values are null.
//! - Case-insensitive strings compare the engine's fold of the literal (computed here, in Rust) with the target's
//!   lower-casing of the value (`lowerUTF8` on ClickHouse, `lower` elsewhere); `cased` compares as written.
//! - Exact values of an item share one `IN` list; its wildcard patterns are one test: a plain substring, prefix
//!   or suffix test for one `*text*`/`text*`/`*text`, else one regular expression alternating all of them
//!   ([`wildcards`]). `*` and `''` also match a null value, as the engine reads null as `""`.
//! - Numbers compare as numbers, reading decimal and Windows hex (`0x1a2c`) text as the engine does.
//! - `re` keeps the rule's regular expression and prefixes the flags (`(?ims)`; `(?iu)` on Spark, whose Java
//!   regexes are ASCII-only case-insensitive without `u`).
//! - `cidr` reads the value's address once per item (exact IPv4/IPv6 grammars, a canonical hex text) and tests
//!   each network as a range of such texts ([`Dialect::cidr`], `ip.rs`).
//! - Every item is wrapped in `COALESCE(.., FALSE)`, so SQL's three-valued logic never turns `NOT` into "unknown":
//!   an item is true or false for every row, as in the engine.

use sigil_ir::{CmpOp, Cond, Item, Part, Pattern, Position, RuleIr, ValueSpec};
use sigil_knowledge::Route;

use ipnet::IpNet;

use crate::ip;

/// A SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// ClickHouse SQL.
    ClickHouse,
    /// Spark SQL.
    Spark,
    /// DuckDB SQL.
    DuckDb,
}

/// How a field name that is not a key of the event is looked up, as `sigil hunt` looks it up.
///
/// Sigma field names are case-sensitive in the specification's sense of naming a log's fields exactly, and
/// pySigma's backends query the exact name. `sigil hunt` is more forgiving on purpose: JSON exports of other
/// tools lower-case keys (`commandline`, `image`), Defender writes `Threat Name` for `ThreatName`, and Panther or
/// SIEM exports of Okta, M365 and auditd records spell keys differently from the vendor's API. When an event has
/// no key of exactly the rule's name, the engine reads the last key equal to it ignoring ASCII case and spaces
/// (`prepared.rs`; route conditions and correlation fields ignoring ASCII case only). A converted query must select
/// the same events, so it reads the same fallback (docs/convert.md, "Field names").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// ASCII case and spaces ignored (detection items).
    Loose,
    /// ASCII case ignored (route conditions, correlation fields).
    IgnoreCase,
}

impl Lookup {
    fn fold(self, name: &str) -> String {
        match self {
            Lookup::Loose => name.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_lowercase()).collect(),
            Lookup::IgnoreCase => name.to_ascii_lowercase(),
        }
    }
}

/// Why a rule (or an item of it) cannot be expressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(pub(crate) String);

pub(crate) type R<T> = Result<T, Unsupported>;

/// How the predicates of one query read a field's values.
///
/// Inline (a rule's own query, the single query): each test writes out the reading where it tests it — whether
/// the exact key holds one value, that value, else the values the engine reads ([`Dialect::single`],
/// [`Dialect::scalar`], [`Dialect::atoms`]). Bound (the per-route statements): each field is read once per row
/// into columns of the statement's inner `SELECT` — `sg_fs<i>` (one value?), `sg_fv<i>` (it), `sg_fl<i>` (it
/// lower-cased, when a case-insensitive test needs it), `sg_fa<i>` (the values, computed only for a row where the
/// field is not one plain value) — and every test names them. A route holds hundreds of tests of a few fields
/// (SigmaHQ's Sysmon process creation: 1,183 rules, 16 fields): read inline, every test looked the key up in the
/// map again (a linear search on DuckDB) and lower-cased the value again.
pub(crate) struct Reads {
    /// No field-name fallback (`--exact-field-names`).
    exact: bool,
    /// The bound fields, in order of first use, and whether their lower-cased value and their values are used.
    bound: Option<std::cell::RefCell<Vec<Bound>>>,
}

/// Columns of a statement's inner `SELECT`: (name, expression).
type Columns = Vec<(String, String)>;

struct Bound {
    name: String,
    lower: bool,
    atoms: bool,
}

impl Reads {
    /// Readings written out where they are tested.
    pub(crate) fn inline(exact: bool) -> Self {
        Reads { exact, bound: None }
    }

    /// Readings bound to columns ([`Reads::columns`]).
    pub(crate) fn bound(exact: bool) -> Self {
        Reads { exact, bound: Some(std::cell::RefCell::new(Vec::new())) }
    }

    /// The bound field's number (registered on first use), `None` when inline.
    fn slot(&self, name: &str, lower: bool, atoms: bool) -> Option<usize> {
        let mut bound = self.bound.as_ref()?.borrow_mut();
        let at = match bound.iter().position(|b| b.name == name) {
            Some(at) => at,
            None => {
                bound.push(Bound { name: name.to_string(), lower: false, atoms: false });
                bound.len() - 1
            }
        };
        bound[at].lower |= lower;
        bound[at].atoms |= atoms;
        Some(at)
    }

    fn single(&self, d: Dialect, name: &str) -> String {
        self.slot(name, false, false).map_or_else(|| d.single(name), |i| format!("sg_fs{i}"))
    }

    fn scalar(&self, d: Dialect, name: &str) -> String {
        self.slot(name, false, false).map_or_else(|| d.scalar(name), |i| format!("sg_fv{i}"))
    }

    fn atoms(&self, d: Dialect, name: &str) -> String {
        self.slot(name, false, true).map_or_else(|| d.atoms(name, self.exact), |i| format!("sg_fa{i}"))
    }

    /// `x` lower-cased: a bound value's lower-cased column, else the target's lower-casing of `x`.
    fn lower(&self, d: Dialect, x: &str) -> String {
        if let Some(bound) = &self.bound
            && let Some(i) = x.strip_prefix("sg_fv").and_then(|n| n.parse::<usize>().ok())
            && let Some(b) = bound.borrow_mut().get_mut(i)
        {
            b.lower = true;
            return format!("sg_fl{i}");
        }
        d.lower(x)
    }

    /// The bound columns as (name, expression), in levels, each computed over the one before: the row's keys
    /// (`sg_kf`: folded as the fallback folds names; `sg_kd`: the keys with a dot, usually none), when a field's
    /// values are read with the fallback; then the fields' columns, which may name the keys' columns. On Spark a
    /// level before the keys decides per row whether the fallback can apply at all ([`Reads::slow_row`]).
    ///
    /// A field's values (`sg_fa<i>`) are computed only where it is not one plain value and the row has a key the
    /// engine would read for it (the exact one, one equal ignoring ASCII case and spaces, one under it as a dotted
    /// prefix), else they are the empty array: a route's tests name many fields most of its rows lack, and
    /// searching the keys for each of them on every row cost more than the tests (SigmaHQ's Security route).
    fn columns(&self, d: Dialect) -> Vec<Columns> {
        let Some(bound) = &self.bound else { return Vec::new() };
        let bound = bound.borrow();
        let mut levels = Vec::new();
        let mut keys = Vec::new();
        let fallback = !self.exact && bound.iter().any(|b| b.atoms);
        // Spark: the keys are folded only on a row where some key may need the fallback (`sg_slow`).
        let slow = fallback && d == Dialect::Spark;
        if slow {
            let names: Vec<&str> = bound.iter().filter(|b| b.atoms).map(|b| b.name.as_str()).collect();
            levels.push(vec![("sg_slow".to_string(), Self::slow_row(d, &names))]);
        }
        if fallback {
            let fold = d.fold_key(Lookup::Loose, "sg_k");
            let only_slow = |x: String| if slow { format!("(CASE WHEN sg_slow THEN {x} END)") } else { x };
            keys.push((
                "sg_kf".to_string(),
                only_slow(match d {
                    Dialect::ClickHouse => format!("arrayMap(sg_k -> {fold}, mapKeys(fields))"),
                    Dialect::DuckDb => format!("list_transform(map_keys(fields), lambda sg_k: {fold})"),
                    Dialect::Spark => format!("transform(map_keys(fields), sg_k -> {fold})"),
                }),
            ));
            let dotted = contains(d, "sg_k", "'.'");
            keys.push((
                "sg_kd".to_string(),
                only_slow(match d {
                    Dialect::ClickHouse => format!("arrayFilter(sg_k -> {dotted}, mapKeys(fields))"),
                    Dialect::DuckDb => format!("list_filter(map_keys(fields), lambda sg_k: {dotted})"),
                    Dialect::Spark => format!("filter(map_keys(fields), sg_k -> {dotted})"),
                }),
            ));
            levels.push(keys);
        }
        let mut out = Vec::new();
        for (i, b) in bound.iter().enumerate() {
            let single = d.single(&b.name);
            out.push((format!("sg_fv{i}"), d.scalar(&b.name)));
            if b.lower {
                out.push((format!("sg_fl{i}"), d.lower(&d.scalar(&b.name))));
            }
            if b.atoms {
                // Only where the field is not one plain value: the tests read `sg_fv<i>` there.
                let (none, empty) = match d {
                    Dialect::ClickHouse => {
                        ("CAST([], 'Array(Nullable(String))')", "CAST([], 'Array(Nullable(String))')")
                    }
                    Dialect::DuckDb => ("CAST(NULL AS VARCHAR[])", "CAST([] AS VARCHAR[])"),
                    Dialect::Spark => ("CAST(NULL AS ARRAY<STRING>)", "CAST(array() AS ARRAY<STRING>)"),
                };
                let key = d.lit(&b.name);
                let mut some_key = match d {
                    Dialect::ClickHouse => format!("mapContains(fields, {key})"),
                    Dialect::DuckDb => format!("map_contains(fields, {key})"),
                    Dialect::Spark => format!("map_contains_key(fields, {key})"),
                };
                if !self.exact {
                    let want = Lookup::Loose.fold(&b.name);
                    let (eq, under) = (d.lit(&want), d.lit(&format!("{want}.")));
                    let k = d.fold_key(Lookup::Loose, "sg_k");
                    let has = match d {
                        Dialect::ClickHouse => format!("has(sg_kf, {eq})"),
                        Dialect::DuckDb => format!("list_contains(sg_kf, {eq})"),
                        Dialect::Spark => format!("array_contains(sg_kf, {eq})"),
                    };
                    let prefix = d.exists("sg_kd", "sg_k", &starts_with(d, &k, &under));
                    some_key = format!("{some_key} OR {has} OR {prefix}");
                }
                let atoms = d.atoms(&b.name, self.exact);
                // On a row without a key needing the fallback, a field that is not one plain value is absent
                // (not a list: a row with a list of a bound field is slow): no values.
                let fast = if slow { format!("WHEN NOT sg_slow THEN {empty} ") } else { String::new() };
                out.push((
                    format!("sg_fa{i}"),
                    match d {
                        Dialect::ClickHouse => format!("multiIf({single}, {none}, {some_key}, {atoms}, {empty})"),
                        _ => format!(
                            "(CASE {fast}WHEN {single} THEN {none} WHEN {some_key} THEN {atoms} ELSE {empty} END)"
                        ),
                    },
                ));
            }
            out.push((format!("sg_fs{i}"), single));
        }
        levels.push(out);
        levels
    }

    /// Whether a row may need the field-name fallback for one of `names` (the fields a statement reads through
    /// it): it has a list under one of the names, or a key that is not one of the names but folds to one of them
    /// (ASCII case and spaces ignored), or a dotted key under one of them. Elsewhere (almost every row of a
    /// Windows log) each field is its exact key's one value or absent, and the keys need not be folded.
    ///
    /// Spark has no hashed map lookup and evaluates lambdas interpreted: folding every key of every row with
    /// `translate` (a hash lookup per character) was a fifth of a per-route statement's time. Here each key is
    /// tested once against the names as `IN` lists (hashed sets): first the exact names, and only a key that is not
    /// one of them is lower-cased. `lower` also folds non-ASCII letters (`K`, the Kelvin sign, becomes `k`), so
    /// with ASCII names it finds every key the fallback's ASCII fold finds, and perhaps a few more, which only
    /// send a row the slow way; with a non-ASCII name the fallback's own fold is used. Unknown (a `NULL` map): slow.
    fn slow_row(d: Dialect, names: &[&str]) -> String {
        let lits = |v: &mut dyn Iterator<Item = String>| v.map(|s| d.lit(&s)).collect::<Vec<_>>().join(", ");
        let exact = lits(&mut names.iter().map(|n| n.to_string()));
        let folded: std::collections::BTreeSet<String> = names.iter().map(|n| Lookup::Loose.fold(n)).collect();
        let fold = if folded.iter().all(|w| w.is_ascii()) {
            "replace(lower(sg_k), ' ', '')".to_string()
        } else {
            d.fold_key(Lookup::Loose, "sg_k")
        };
        let under = lits(&mut folded.iter().map(|w| format!("{w}.")));
        let folded = lits(&mut folded.iter().cloned());
        let dotted_under =
            d.exists(&format!("array({under})"), "sg_p", &starts_with(d, &d.fold_key(Lookup::Loose, "sg_k"), "sg_p"));
        format!(
            "COALESCE(arrays_overlap(map_keys(lists), array({exact})) OR exists(map_keys(fields), sg_k -> \
             (NOT sg_k IN ({exact}) AND {fold} IN ({folded})) OR ({} AND {dotted_under})), TRUE)",
            contains(d, "sg_k", "'.'")
        )
    }
}

impl Dialect {
    /// A string literal.
    pub fn lit(self, s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('\'');
        match self {
            Dialect::DuckDb => {
                for c in s.chars() {
                    if c == '\'' {
                        out.push('\'');
                    }
                    out.push(c);
                }
            }
            Dialect::ClickHouse | Dialect::Spark => {
                let mut prev = '\0';
                for c in s.chars() {
                    match c {
                        // Spark substitutes `${name}` in the statement text before parsing it
                        // (`spark.sql.variable.substitute`, on by default): `${::-l}` becomes the empty string, so the
                        // log4j keyword `${::-l}${::-d}...` would turn into `%%` and match every row. `\{` reads as `{`
                        // once the literal is unescaped, and the substitution never sees `${`.
                        '{' if self == Dialect::Spark && prev == '$' => out.push_str("\\{"),
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        '\0' => out.push_str("\\0"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c => out.push(c),
                    }
                    prev = c;
                }
            }
        }
        out.push('\'');
        out
    }

    /// Whether a literal can be written at all (DuckDB string literals cannot hold NUL).
    fn check_lit(self, s: &str) -> R<()> {
        if self == Dialect::DuckDb && s.contains('\0') {
            return Err(Unsupported("a value holds a NUL character, which DuckDB string literals cannot".into()));
        }
        Ok(())
    }

    /// The value of a field looked up by `how`.
    pub(crate) fn field_by(self, name: &str, how: Lookup) -> String {
        let key = self.lit(name);
        let want = self.lit(&how.fold(name));
        match self {
            Dialect::ClickHouse => format!(
                "if(mapContains(fields, {key}), fields[{key}], \
                 arrayElement(mapValues(mapFilter((k, v) -> {} = {want}, fields)), -1))",
                self.fold_key(how, "k")
            ),
            Dialect::DuckDb => format!(
                "(CASE WHEN map_contains(fields, {key}) THEN fields[{key}] ELSE list_extract(list_transform(\
                 list_filter(map_entries(fields), lambda e: {} = {want}), lambda e: e.value), -1) END)",
                self.fold_key(how, "e.key")
            ),
            Dialect::Spark => format!(
                "(CASE WHEN map_contains_key(fields, {key}) THEN fields[{key}] ELSE \
                 try_element_at(map_values(map_filter(fields, (k, v) -> {} = {want})), -1) END)",
                self.fold_key(how, "k")
            ),
        }
    }

    /// Whether the event has the field as the engine reads it: the exact key, else a key equal to it ignoring
    /// ASCII case and spaces, else keys under it as a dotted prefix (`requestParameters` has
    /// `requestParameters.userName`); with `exact`, the exact key only.
    fn has_field(self, name: &str, exact: bool) -> String {
        let key = self.lit(name);
        if exact {
            return match self {
                Dialect::ClickHouse => format!("mapContains(fields, {key})"),
                Dialect::DuckDb => format!("map_contains(fields, {key})"),
                Dialect::Spark => format!("map_contains_key(fields, {key})"),
            };
        }
        let want = Lookup::Loose.fold(name);
        let k = self.fold_key(Lookup::Loose, "sg_k");
        let (eq, under) = (self.lit(&want), self.lit(&format!("{want}.")));
        match self {
            Dialect::ClickHouse => format!(
                "(mapContains(fields, {key}) OR arrayExists(sg_k -> {k} = {eq} OR startsWith({k}, {under}), mapKeys(fields)))"
            ),
            Dialect::DuckDb => format!(
                "(map_contains(fields, {key}) OR len(list_filter(map_keys(fields), lambda sg_k: {k} = {eq} OR starts_with({k}, {under}))) > 0)"
            ),
            Dialect::Spark => format!(
                "(map_contains_key(fields, {key}) OR exists(map_keys(fields), sg_k -> {k} = {eq} OR startswith({k}, {under})))"
            ),
        }
    }

    /// Whether the field is read the fast way: the exact key holds one value (not a list). Every other case reads
    /// [`Dialect::atoms`].
    fn single(self, name: &str) -> String {
        let key = self.lit(name);
        match self {
            Dialect::ClickHouse => format!("(mapContains(fields, {key}) AND NOT mapContains(lists, {key}))"),
            Dialect::DuckDb => format!("(map_contains(fields, {key}) AND NOT map_contains(lists, {key}))"),
            Dialect::Spark => format!("(map_contains_key(fields, {key}) AND NOT map_contains_key(lists, {key}))"),
        }
    }

    /// The exact key's value (when [`Dialect::single`] holds).
    fn scalar(self, name: &str) -> String {
        format!("fields[{}]", self.lit(name))
    }

    /// The values the engine reads for a field, as an array of nullable texts (empty when the field is absent): the
    /// keys it reads — the exact one, else the last equal ignoring ASCII case and spaces, else every key under it as
    /// a dotted prefix, in the event's order — each as its list's items or its one value.
    fn atoms(self, name: &str, exact: bool) -> String {
        let key = self.lit(name);
        let want = Lookup::Loose.fold(name);
        let k = self.fold_key(Lookup::Loose, "sg_k");
        let (eq, under) = (self.lit(&want), self.lit(&format!("{want}.")));
        match self {
            Dialect::ClickHouse => {
                let keys = if exact {
                    format!("if(mapContains(fields, {key}), [{key}], CAST([], 'Array(String)'))")
                } else {
                    format!(
                        "if(mapContains(fields, {key}), [{key}], if(arrayExists(sg_k -> {k} = {eq}, mapKeys(fields)), \
                         [arrayLast(sg_k -> {k} = {eq}, mapKeys(fields))], arrayFilter(sg_k -> startsWith({k}, {under}), mapKeys(fields))))"
                    )
                };
                format!(
                    "arrayFlatten(arrayMap(sg_k -> if(mapContains(lists, sg_k), lists[sg_k], [fields[sg_k]]), {keys}))"
                )
            }
            Dialect::DuckDb => {
                let keys = if exact {
                    format!("(CASE WHEN map_contains(fields, {key}) THEN [{key}] ELSE CAST([] AS VARCHAR[]) END)")
                } else {
                    format!(
                        "(CASE WHEN map_contains(fields, {key}) THEN [{key}] \
                         WHEN len(list_filter(map_keys(fields), lambda sg_k: {k} = {eq})) > 0 \
                         THEN [list_extract(list_filter(map_keys(fields), lambda sg_k: {k} = {eq}), -1)] \
                         ELSE list_filter(map_keys(fields), lambda sg_k: starts_with({k}, {under})) END)"
                    )
                };
                format!(
                    "flatten(list_transform({keys}, lambda sg_k: CASE WHEN map_contains(lists, sg_k) THEN lists[sg_k] ELSE [fields[sg_k]] END))"
                )
            }
            Dialect::Spark => {
                let keys = if exact {
                    format!(
                        "(CASE WHEN map_contains_key(fields, {key}) THEN array({key}) ELSE CAST(array() AS ARRAY<STRING>) END)"
                    )
                } else {
                    format!(
                        "(CASE WHEN map_contains_key(fields, {key}) THEN array({key}) \
                         WHEN exists(map_keys(fields), sg_k -> {k} = {eq}) \
                         THEN array(element_at(filter(map_keys(fields), sg_k -> {k} = {eq}), -1)) \
                         ELSE filter(map_keys(fields), sg_k -> startswith({k}, {under})) END)"
                    )
                };
                format!(
                    "flatten(transform({keys}, sg_k -> CASE WHEN map_contains_key(lists, sg_k) THEN lists[sg_k] ELSE array(fields[sg_k]) END))"
                )
            }
        }
    }

    /// Every value of the field as an array, the one value included ([`Dialect::atoms`] for every case).
    fn all_atoms(self, name: &str, r: &Reads) -> String {
        let (single, scalar, atoms) = (r.single(self, name), r.scalar(self, name), r.atoms(self, name));
        let one = self.array_of(&scalar);
        match self {
            Dialect::ClickHouse => format!("if({single}, {one}, {atoms})"),
            Dialect::DuckDb | Dialect::Spark => format!("(CASE WHEN {single} THEN {one} ELSE {atoms} END)"),
        }
    }

    /// An array of one element.
    fn array_of(self, x: &str) -> String {
        match self {
            Dialect::ClickHouse | Dialect::DuckDb => format!("[{x}]"),
            Dialect::Spark => format!("array({x})"),
        }
    }

    /// `pred` holds for some element `var` of `array`.
    fn exists(self, array: &str, var: &str, pred: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("arrayExists({var} -> {pred}, {array})"),
            Dialect::DuckDb => format!("len(list_filter({array}, lambda {var}: {pred})) > 0"),
            Dialect::Spark => format!("exists({array}, {var} -> {pred})"),
        }
    }

    /// `one` when the field has its one exact key (`single`), else `many`.
    fn if_single(self, single: &str, one: &str, many: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("if({single}, {one}, {many})"),
            Dialect::DuckDb | Dialect::Spark => format!("(CASE WHEN {single} THEN {one} ELSE {many} END)"),
        }
    }

    /// `pred` holds for some value `var` of the field (a value may be null): the exact key's one value tested
    /// directly, else every value the engine reads for the field.
    fn any_value(self, name: &str, r: &Reads, var: &str, pred: &dyn Fn(&str) -> R<String>) -> R<String> {
        let (single, one) = (r.single(self, name), pred(&r.scalar(self, name))?);
        let each = pred(var)?;
        let many = self.exists(&r.atoms(self, name), var, &format!("COALESCE({each}, FALSE)"));
        Ok(self.if_single(&single, &format!("COALESCE({one}, FALSE)"), &many))
    }

    /// Each of `values` holds for some value of the field (an `all` item): the exact key's one value tested
    /// directly, else the field's values read once and bound to `sg_a`.
    fn every_value_some(self, name: &str, r: &Reads, values: &[&ValueSpec]) -> R<String> {
        let (single, scalar, atoms) = (r.single(self, name), r.scalar(self, name), r.atoms(self, name));
        let mut one = Vec::with_capacity(values.len());
        let mut each = Vec::with_capacity(values.len());
        for v in values {
            one.push(format!("COALESCE({}, FALSE)", value(self, r, v, &scalar)?));
            let p = format!("COALESCE({}, FALSE)", value(self, r, v, "sg_x")?);
            each.push(self.exists("sg_a", "sg_x", &p));
        }
        let (one, each) = (join(one, " AND ", "TRUE"), join(each, " AND ", "TRUE"));
        // The values bound once: `sg_a` ranges over an array whose one element is the field's values.
        Ok(self.if_single(&single, &one, &self.exists(&self.array_of(&atoms), "sg_a", &each)))
    }

    /// The field is absent or every value it has is null (an empty list included), as the engine reads `null`.
    fn all_null(self, name: &str, r: &Reads) -> String {
        let (single, scalar, atoms) = (r.single(self, name), r.scalar(self, name), r.atoms(self, name));
        match self {
            Dialect::ClickHouse => format!("if({single}, {scalar} IS NULL, arrayAll(sg_x -> sg_x IS NULL, {atoms}))"),
            Dialect::DuckDb => format!(
                "(CASE WHEN {single} THEN {scalar} IS NULL ELSE len(list_filter({atoms}, lambda sg_x: sg_x IS NOT NULL)) = 0 END)"
            ),
            Dialect::Spark => {
                format!("(CASE WHEN {single} THEN {scalar} IS NULL ELSE forall({atoms}, sg_x -> sg_x IS NULL) END)")
            }
        }
    }

    /// A key folded as `how` folds names: ASCII letters only (`translate`, as DuckDB's and Spark's `lower` would
    /// also fold `Ä`; ClickHouse's `lower` is ASCII-only).
    fn fold_key(self, how: Lookup, k: &str) -> String {
        const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
        match (self, how) {
            (Dialect::ClickHouse, Lookup::Loose) => format!("replaceAll(lower({k}), ' ', '')"),
            (Dialect::ClickHouse, Lookup::IgnoreCase) => format!("lower({k})"),
            (_, Lookup::Loose) => format!("translate({k}, '{UPPER} ', '{LOWER}')"),
            (_, Lookup::IgnoreCase) => format!("translate({k}, '{UPPER}', '{LOWER}')"),
        }
    }

    fn lower(self, x: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("lowerUTF8({x})"),
            _ => format!("lower({x})"),
        }
    }

    pub(crate) fn regex(self, x: &str, re: &str) -> String {
        match self {
            Dialect::ClickHouse => format!("match({x}, {})", self.lit(re)),
            Dialect::DuckDb => format!("regexp_matches({x}, {})", self.lit(re)),
            Dialect::Spark => format!("({x} RLIKE {})", self.lit(re)),
        }
    }

    /// The number the engine reads from a text (`prepared::parse_number`): optional sign, then Windows hex
    /// (`0x` and up to 16 hex digits) or a decimal number starting with a digit or `.`; `NULL` otherwise.
    pub(crate) fn number(self, x: &str) -> String {
        let t = match self {
            Dialect::ClickHouse => format!("trimBoth({x})"),
            _ => format!("trim({x})"),
        };
        let neg = match self {
            Dialect::ClickHouse => format!("if(startsWith({t}, '-'), -1.0, 1.0)"),
            _ => format!("(CASE WHEN {t} LIKE '-%' THEN -1.0 ELSE 1.0 END)"),
        };
        let hex_digits = match self {
            Dialect::ClickHouse => format!("replaceRegexpOne({t}, '^[+-]?0[xX]', '')"),
            Dialect::DuckDb => format!("regexp_replace({t}, '^[+-]?0[xX]', '')"),
            Dialect::Spark => format!("regexp_replace({t}, '^[+-]?0[xX]', '')"),
        };
        let hex_value = match self {
            Dialect::ClickHouse => {
                format!("toFloat64(reinterpretAsUInt64(reverse(unhex(leftPad({hex_digits}, 16, '0')))))")
            }
            Dialect::DuckDb => format!("CAST(TRY_CAST('0x' || {hex_digits} AS UBIGINT) AS DOUBLE)"),
            Dialect::Spark => format!("TRY_CAST(conv({hex_digits}, 16, 10) AS DOUBLE)"),
        };
        let dec_value = match self {
            Dialect::ClickHouse => format!("toFloat64OrNull({t})"),
            _ => format!("TRY_CAST({t} AS DOUBLE)"),
        };
        let is_hex = self.regex(&t, r"^[+-]?0[xX][0-9a-fA-F]{1,16}$");
        let is_dec = self.regex(&t, r"^[+-]?[0-9.][0-9.eE+-]*$");
        format!("(CASE WHEN {is_hex} THEN {neg} * {hex_value} WHEN {is_dec} THEN {dec_value} END)")
    }

    /// `values_pred` holds for some value `var` of the event (keywords): every key's one value, and the items of
    /// list-valued keys instead of their joined text.
    fn bool_any(self, values_pred: &str, var: &str) -> String {
        match self {
            Dialect::ClickHouse => format!(
                "arrayExists({var} -> {values_pred}, if(empty(lists), mapValues(fields), arrayConcat(\
                 mapValues(mapFilter((sg_k, sg_v) -> NOT mapContains(lists, sg_k), fields)), arrayFlatten(mapValues(lists)))))"
            ),
            Dialect::DuckDb => format!(
                "(len(list_filter(CASE WHEN cardinality(lists) = 0 THEN map_values(fields) ELSE list_concat(\
                 list_transform(list_filter(map_entries(fields), lambda sg_e: NOT map_contains(lists, sg_e.key)), lambda sg_e: sg_e.value), \
                 flatten(map_values(lists))) END, lambda {var}: {values_pred})) > 0)"
            ),
            Dialect::Spark => format!(
                "exists(CASE WHEN cardinality(lists) = 0 THEN map_values(fields) ELSE concat(\
                 map_values(map_filter(fields, (sg_k, sg_v) -> NOT map_contains_key(lists, sg_k))), flatten(map_values(lists))) END, \
                 {var} -> {values_pred})"
            ),
        }
    }

    /// The address in `x` (as the engine reads it out of a log value) lies in one of `nets`.
    ///
    /// The value's address text is checked against the exact IPv4 and IPv6 grammars of Rust's parser (regexes
    /// from `ip.rs`, the same for every network) and made canonical once: `4` or `6` for how it was written, then
    /// the 32 hex digits of its IPv6 form (an IPv4 text as its IPv4-mapped address). Each network is then a
    /// range of such texts: an IPv4 network holds both spellings (the engine reads `::ffff:10.0.0.1` as inside
    /// `10.0.0.0/8`), an IPv6 network only IPv6 texts. ClickHouse parses with its own `IPv6StringToNumOrNull`;
    /// DuckDB (whose `inet` is a download) and Spark (no IP type) expand `::` and a dotted tail with string
    /// functions.
    fn cidr(self, x: &str, nets: &[&IpNet]) -> String {
        let (v4, v6) = (ip::v4_syntax(), ip::v6_syntax());
        let mut tests = Vec::with_capacity(nets.len());
        for net in nets {
            let (is_v4, lo, hi) = ip::network_range(net);
            let range = |fam: char| format!("sg_ip BETWEEN '{fam}{lo}' AND '{fam}{hi}'");
            tests.push(if is_v4 { format!("({} OR {})", range('4'), range('6')) } else { range('6') });
        }
        let tests = join(tests, " OR ", "FALSE");
        let text = match self {
            Dialect::ClickHouse => format!("extract({x}, {})", self.lit(ip::ADDRESS_TEXT)),
            _ => format!("regexp_extract({x}, {}, 1)", self.lit(ip::ADDRESS_TEXT)),
        };
        let (is4, is6) = (self.regex("sg_ia", &v4), self.regex("sg_ia", &v6));
        let canonical = match self {
            Dialect::ClickHouse => format!(
                "multiIf({is4}, concat('4', lower(hex(IPv6StringToNumOrNull(concat('::ffff:', sg_ia))))), \
                 {is6}, concat('6', lower(hex(IPv6StringToNumOrNull(sg_ia)))), NULL)"
            ),
            _ => {
                // `sg_is`: a valid IPv6 text (an IPv4 text as `::ffff:a.b.c.d`), else NULL.
                let valid = format!("(CASE WHEN {is4} THEN '::ffff:' || sg_ia WHEN {is6} THEN sg_ia END)");
                let octet = |i: usize| {
                    format!("CAST(regexp_extract(sg_is, '([0-9]+)[.]([0-9]+)[.]([0-9]+)[.]([0-9]+)$', {i}) AS INT)")
                };
                let hex = |a: usize, b: usize| {
                    let n = format!("{} * 256 + {}", octet(a), octet(b));
                    match self {
                        Dialect::DuckDb => format!("format('{{:x}}', {n})"),
                        _ => format!("hex({n})"),
                    }
                };
                // The dotted tail as two hex groups.
                let hex_only = format!(
                    "(CASE WHEN contains(sg_is, '.') THEN regexp_extract(sg_is, '^(.*:)', 1) || {} || ':' || {} ELSE sg_is END)",
                    hex(1, 2),
                    hex(3, 4)
                );
                let (split, empty, concat, zeros, pad, len) = match self {
                    Dialect::DuckDb => (
                        "string_split",
                        "CAST([] AS VARCHAR[])",
                        "list_concat(list_concat(A, Z), B)",
                        "list_transform(range(N), lambda sg_i: '0')",
                        "array_to_string(list_transform(G, lambda sg_g: lpad(lower(sg_g), 4, '0')), '')",
                        "len",
                    ),
                    _ => (
                        "split",
                        "CAST(array() AS ARRAY<STRING>)",
                        "concat(A, Z, B)",
                        "array_repeat('0', N)",
                        "concat_ws('', transform(G, sg_g -> lpad(lower(sg_g), 4, '0')))",
                        "size",
                    ),
                };
                let groups = |part: &str| format!("(CASE WHEN {part} = '' THEN {empty} ELSE {split}({part}, ':') END)");
                // Spark's `a[i]` counts from 0 and fails out of bounds: `try_element_at` counts from 1, as DuckDB's
                // `a[i]`.
                let (first, second) = match self {
                    Dialect::DuckDb => ("sg_ih[1]", "sg_ih[2]"),
                    _ => ("try_element_at(sg_ih, 1)", "try_element_at(sg_ih, 2)"),
                };
                let (head, tail) = (groups(first), groups(second));
                let n = format!("8 - {len}({head}) - {len}({tail})");
                let expanded = concat.replace('A', &head).replace('Z', &zeros.replace('N', &n)).replace('B', &tail);
                let all = format!("(CASE WHEN {len}(sg_ih) = 1 THEN {split}(sg_it, ':') ELSE {expanded} END)");
                let canon = pad.replace('G', &all);
                let body = self.bind("sg_ih", &format!("{split}(sg_it, '::')"), &canon);
                let body = self.bind("sg_it", &hex_only, &body);
                let body = format!(
                    "(CASE WHEN sg_is IS NULL THEN NULL ELSE (CASE WHEN contains(sg_ia, ':') THEN '6' ELSE '4' END) || {body} END)"
                );
                self.bind("sg_is", &valid, &body)
            }
        };
        self.bind("sg_ia", &text, &self.bind("sg_ip", &canonical, &tests))
    }

    fn in_list(self, x: &str, items: &[String]) -> String {
        let list: Vec<String> = items.iter().map(|i| self.lit(i)).collect();
        format!("{x} IN ({})", list.join(", "))
    }
}

/// How a rule reads fields on one route: Sigma field → event field.
pub(crate) trait FieldMapper {
    fn map<'a>(&'a self, sigma: &'a str) -> &'a str;
}

impl FieldMapper for Route {
    fn map<'a>(&'a self, sigma: &'a str) -> &'a str {
        self.map_field(sigma).unwrap_or(sigma)
    }
}

/// Identity mapping, for rules whose logsource has no route.
pub(crate) struct Identity;

impl FieldMapper for Identity {
    fn map<'a>(&'a self, sigma: &'a str) -> &'a str {
        sigma
    }
}

/// The predicate selecting the events a route selects (`Route::matches_event` and `matches_conditions`).
///
/// The record kind comes first: a Windows route (no kinds) takes only events without a kind, any other route
/// only events of its kinds, so Sysmon for Linux's event 1 and Windows Sysmon's event 1 stay apart.
pub(crate) fn route_predicate(d: Dialect, route: &Route) -> String {
    let mut parts = Vec::new();
    if route.kinds().is_empty() {
        parts.push("kind IS NULL".to_string());
    } else {
        // Kind names are the readers' (lower-case ASCII); the tables may spell them in any case.
        let kinds: Vec<String> = route.kinds().iter().map(|k| k.to_ascii_lowercase()).collect();
        parts.push(format!("COALESCE({}, FALSE)", d.in_list("kind", &kinds)));
    }
    if !route.event_ids().is_empty() {
        let ids: Vec<String> = route.event_ids().iter().map(u32::to_string).collect();
        parts.push(format!("event_id IN ({})", ids.join(", ")));
    }
    let lc = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect::<Vec<_>>();
    let (channels, providers) = (lc(route.channels()), lc(route.providers()));
    if !channels.is_empty() {
        let by_channel = format!("(channel IS NOT NULL AND {})", d.in_list(&d.lower("channel"), &channels));
        if providers.is_empty() {
            parts.push(by_channel);
        } else {
            parts.push(format!(
                "({by_channel} OR (channel IS NULL AND {}))",
                d.in_list(&d.lower("provider"), &providers)
            ));
        }
    } else if !providers.is_empty() {
        parts.push(format!("COALESCE({}, FALSE)", d.in_list(&d.lower("provider"), &providers)));
    }
    for c in route.conditions() {
        // The engine accepts a list value when any item is accepted (an auditd event's `type` lists the types of
        // its records); the export joins a list's items with ", ", so the value is split back into them.
        let values: Vec<String> = c.values().iter().map(|v| v.to_ascii_lowercase()).collect();
        let x = d.lower(&d.field_by(c.field(), Lookup::IgnoreCase));
        let items: Vec<String> = values.iter().map(|v| d.lit(v)).collect();
        let any = match d {
            Dialect::ClickHouse => format!("hasAny(splitByString(', ', {x}), [{}])", items.join(", ")),
            Dialect::DuckDb => format!("list_has_any(string_split({x}, ', '), [{}])", items.join(", ")),
            Dialect::Spark => format!("arrays_overlap(split({x}, ', '), array({}))", items.join(", ")),
        };
        parts.push(format!("COALESCE({any}, FALSE)"));
    }
    if parts.is_empty() { "TRUE".into() } else { parts.join(" AND ") }
}

/// The predicate of a whole rule read through `mapper`.
pub(crate) fn rule_predicate(d: Dialect, ir: &RuleIr, mapper: &dyn FieldMapper, r: &Reads) -> R<String> {
    let searches: Vec<String> = ir
        .searches
        .iter()
        .map(|s| {
            let groups: Vec<String> = s
                .groups
                .iter()
                .map(|g| {
                    let items = g.iter().map(|i| item(d, i, mapper, r)).collect::<R<Vec<_>>>()?;
                    Ok(join(items, " AND ", "TRUE"))
                })
                .collect::<R<Vec<_>>>()?;
            Ok(join(groups, " OR ", "FALSE"))
        })
        .collect::<R<Vec<_>>>()?;
    Ok(cond(&ir.condition(), &searches))
}

fn join(mut parts: Vec<String>, sep: &str, empty: &str) -> String {
    match parts.len() {
        0 => empty.into(),
        1 => parts.pop().unwrap_or_default(),
        _ => format!("({})", parts.join(sep)),
    }
}

fn cond(c: &Cond, searches: &[String]) -> String {
    match c {
        Cond::Search(i) => searches.get(*i).cloned().unwrap_or_else(|| "FALSE".into()),
        Cond::Not(inner) => format!("(NOT {})", cond(inner, searches)),
        Cond::And(items) => join(items.iter().map(|x| cond(x, searches)).collect(), " AND ", "TRUE"),
        Cond::Or(items) => join(items.iter().map(|x| cond(x, searches)).collect(), " OR ", "FALSE"),
        Cond::Const(true) => "TRUE".into(),
        Cond::Const(false) => "FALSE".into(),
    }
}

fn item(d: Dialect, item: &Item, mapper: &dyn FieldMapper, r: &Reads) -> R<String> {
    // `exists`, `null` and `fieldref` ask about the field; every other value about one of its values. The latter
    // are tested together: the field's values are read once for all of them (with `all`, each must hold for one
    // of them), which keeps a rule's SQL, and the engines' planning of it, a fraction of a test per value.
    let (whole, each): (Vec<&ValueSpec>, Vec<&ValueSpec>) = item
        .values
        .iter()
        .partition(|v| matches!(v, ValueSpec::Null | ValueSpec::Exists(_) | ValueSpec::FieldRef { .. }));
    let mut preds: Vec<String> = Vec::with_capacity(whole.len() + 1);
    match &item.field {
        Some(sigma) => {
            let name = mapper.map(sigma);
            for v in whole {
                preds.push(format!("COALESCE({}, FALSE)", field_value(d, v, name, mapper, r)?));
            }
            if item.all {
                if !each.is_empty() {
                    preds.push(format!("COALESCE({}, FALSE)", d.every_value_some(name, r, &each)?));
                }
            } else {
                let each = merge_patterns(each);
                if !each.is_empty() {
                    preds.push(format!(
                        "COALESCE({}, FALSE)",
                        d.any_value(name, r, "sg_x", &|x| any_of(d, r, &each, x))?
                    ));
                }
            }
        }
        None => {
            // Keywords: any value of the event (a null value reads as "").
            let var = "sg_v";
            if item.all {
                for v in each.iter().chain(&whole) {
                    preds.push(format!(
                        "COALESCE({}, FALSE)",
                        d.bool_any(&format!("COALESCE({}, FALSE)", value(d, r, v, var)?), var)
                    ));
                }
            } else {
                let mut all: Vec<&ValueSpec> = whole;
                all.extend(each);
                if !all.is_empty() {
                    preds.push(format!(
                        "COALESCE({}, FALSE)",
                        d.bool_any(&any_of(d, r, &merge_patterns(all), var)?, var)
                    ));
                }
            }
        }
    }
    let combined = join(preds, if item.all { " AND " } else { " OR " }, if item.all { "TRUE" } else { "FALSE" });
    Ok(if item.negated { format!("(NOT {combined})") } else { combined })
}

/// Some of `values` holds for `x` (each test made two-valued).
/// The `cidr` networks of the item are tested together: the value's address is read once for all of them.
fn any_of(d: Dialect, r: &Reads, values: &[std::borrow::Cow<'_, ValueSpec>], x: &str) -> R<String> {
    let nets: Vec<&IpNet> = values
        .iter()
        .filter_map(|v| match v.as_ref() {
            ValueSpec::Cidr(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut preds = values
        .iter()
        .filter(|v| !matches!(v.as_ref(), ValueSpec::Cidr(_)))
        .map(|v| Ok(format!("COALESCE({}, FALSE)", value(d, r, v, x)?)))
        .collect::<R<Vec<_>>>()?;
    if !nets.is_empty() {
        preds.push(format!("COALESCE({}, FALSE)", d.cidr(x, &nets)));
    }
    Ok(join(preds, " OR ", "FALSE"))
}

/// The values of an OR-ed item with the wildcard patterns of equal case rule made one list of alternatives (so
/// their exact literals share one `IN` list); the order of the rest is kept.
fn merge_patterns<'a>(values: Vec<&'a ValueSpec>) -> Vec<std::borrow::Cow<'a, ValueSpec>> {
    use std::borrow::Cow;
    let mut out: Vec<Cow<'a, ValueSpec>> = Vec::with_capacity(values.len());
    for v in values {
        if let ValueSpec::Patterns { alternatives, cased } = v {
            let same =
                out.iter_mut().find(|o| matches!(o.as_ref(), ValueSpec::Patterns { cased: c, .. } if c == cased));
            if let Some(o) = same {
                if let ValueSpec::Patterns { alternatives: merged, .. } = o.to_mut() {
                    merged.extend(alternatives.iter().cloned());
                }
                continue;
            }
        }
        out.push(Cow::Borrowed(v));
    }
    out
}

/// One value's predicate on the event field `name`, as the engine tests it: `exists` and `null` ask about the
/// field, every other value holds when it holds for one of the field's values (a list's items one by one).
fn field_value(d: Dialect, v: &ValueSpec, name: &str, mapper: &dyn FieldMapper, r: &Reads) -> R<String> {
    Ok(match v {
        ValueSpec::Null => d.all_null(name, r),
        ValueSpec::Exists(want) => {
            if *want {
                d.has_field(name, r.exact)
            } else {
                format!("(NOT {})", d.has_field(name, r.exact))
            }
        }
        ValueSpec::FieldRef { field: other, position, cased } => {
            // Some value of this field against some non-null value of the other (a null value reads as "").
            let o = d.all_atoms(mapper.map(other), r);
            let a = "COALESCE(sg_a, '')";
            let (hay, needle) =
                if *cased { (a.to_string(), "sg_o".to_string()) } else { (d.lower(a), d.lower("sg_o")) };
            let test = match position {
                Position::Exact => {
                    format!("({hay} = {needle} OR COALESCE({} = {}, FALSE))", d.number(a), d.number("sg_o"))
                }
                Position::Prefix => starts_with(d, &hay, &needle),
                Position::Suffix => ends_with(d, &hay, &needle),
                Position::Contains => contains(d, &hay, &needle),
            };
            let inner = format!("sg_o IS NOT NULL AND COALESCE({test}, FALSE)");
            let this = d.all_atoms(name, r);
            format!("({})", d.exists(&this, "sg_a", &d.exists(&o, "sg_o", &inner)))
        }
        _ => d.any_value(name, r, "sg_x", &|x| value(d, r, v, x))?,
    })
}

/// One value's predicate on `x`, one value of a field (a list's item, or a keyword's candidate) that is present
/// but may be null: `exists`, `null` and `fieldref` are tested on the field ([`field_value`]).
fn value(d: Dialect, r: &Reads, v: &ValueSpec, x: &str) -> R<String> {
    Ok(match v {
        ValueSpec::Null | ValueSpec::Exists(_) | ValueSpec::FieldRef { .. } => {
            return Err(Unsupported("null, exists and fieldref on a keyword".into()));
        }
        ValueSpec::Bool(b) => {
            let t = match d {
                Dialect::ClickHouse => format!("trimBoth({x})"),
                _ => format!("trim({x})"),
            };
            format!("({} = {})", d.lower(&t), d.lit(if *b { "true" } else { "false" }))
        }
        ValueSpec::Number(n) => number_eq(d, x, *n),
        ValueSpec::Patterns { alternatives, cased } => {
            let mut preds = Vec::with_capacity(alternatives.len());
            // Exact literals go into one IN list.
            let mut exact: Vec<String> = Vec::new();
            // The others (wildcards) are tested together, see [`wildcards`].
            let mut wild: Vec<Pattern> = Vec::new();
            let hay = if *cased { x.to_string() } else { r.lower(d, x) };
            for p in alternatives {
                let p = if *cased { p.clone() } else { fold_pattern(p) };
                for part in &p.parts {
                    if let Part::Literal(s) = part {
                        d.check_lit(s)?;
                    }
                }
                if let Some(lit) = p.as_literal() {
                    // The empty literal is handled below, with null values.
                    if !lit.is_empty() {
                        exact.push(lit.to_string());
                    }
                } else if p.parts == [Part::AnyRun] {
                    // `*` matches any value, null included (the engine reads null as "").
                    preds.push("TRUE".into());
                } else {
                    wild.push(p);
                }
            }
            if !wild.is_empty() {
                preds.push(wildcards(d, &hay, &wild));
            }
            if p_is_empty_literal(alternatives) {
                // `F: ''` matches an empty value or a null one.
                preds.push(format!("(COALESCE({x}, '') = '')"));
            }
            match exact.len() {
                0 => {}
                1 => preds.push(format!("({hay} = {})", d.lit(&exact[0]))),
                _ => preds.push(format!("({})", d.in_list(&hay, &exact))),
            }
            join(preds, " OR ", "FALSE")
        }
        ValueSpec::Regex { pattern, ignore_case, multi_line, dot_all } => {
            d.check_lit(pattern)?;
            let mut flags = String::new();
            if *ignore_case {
                flags.push('i');
                if d == Dialect::Spark {
                    flags.push('u');
                }
            }
            if *multi_line {
                flags.push('m');
            }
            if *dot_all {
                flags.push('s');
            }
            let re = if flags.is_empty() { pattern.clone() } else { format!("(?{flags}){pattern}") };
            d.regex(x, &re)
        }
        ValueSpec::Cidr(net) => d.cidr(x, &[net]),
        ValueSpec::Compare { part: None, op, value } => {
            let op = cmp_sql(*op);
            format!("({} {op} {})", d.number(x), float(*value))
        }
        ValueSpec::Compare { part: Some(part), op, value } => {
            let op = cmp_sql(*op);
            format!("({} {op} {})", crate::timepart::time_part(d, x, *part), float(*value))
        }
    })
}

fn cmp_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Lt => "<",
        CmpOp::Lte => "<=",
        CmpOp::Gt => ">",
        CmpOp::Gte => ">=",
    }
}

fn p_is_empty_literal(alternatives: &[Pattern]) -> bool {
    alternatives.iter().any(|p| p.parts.is_empty())
}

fn starts_with(d: Dialect, hay: &str, needle: &str) -> String {
    match d {
        Dialect::ClickHouse => format!("startsWith({hay}, {needle})"),
        Dialect::DuckDb => format!("starts_with({hay}, {needle})"),
        Dialect::Spark => format!("startswith({hay}, {needle})"),
    }
}

fn ends_with(d: Dialect, hay: &str, needle: &str) -> String {
    match d {
        Dialect::ClickHouse => format!("endsWith({hay}, {needle})"),
        Dialect::DuckDb => format!("ends_with({hay}, {needle})"),
        Dialect::Spark => format!("endswith({hay}, {needle})"),
    }
}

fn contains(d: Dialect, hay: &str, needle: &str) -> String {
    match d {
        Dialect::ClickHouse => format!("(position({hay}, {needle}) > 0)"),
        Dialect::DuckDb => format!("contains({hay}, {needle})"),
        Dialect::Spark => format!("contains({hay}, {needle})"),
    }
}

fn float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v:e}") }
}

/// `x` equals the number `n` as the engine compares numbers; the plain decimal text is tested first (cheap).
fn number_eq(d: Dialect, x: &str, n: f64) -> String {
    let fast = if n.fract() == 0.0 && n.abs() < 1e15 { Some(format!("{}", n as i64)) } else { None };
    let slow = format!("({} = {})", d.number(x), float(n));
    match fast {
        Some(text) => format!("({x} = {} OR {slow})", d.lit(&text)),
        None => slow,
    }
}

/// The engine's case folding applied to a pattern's literals.
fn fold_pattern(p: &Pattern) -> Pattern {
    Pattern::new(p.parts.iter().map(|x| match x {
        Part::Literal(s) => Part::Literal(fold(s)),
        other => other.clone(),
    }))
}

/// The engine's fold (`sigil_engine::fold`): each character's lower-case mapping, one character at a time.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Some of the wildcard patterns `pats` (each with a wildcard, none only `*`) matches `hay`.
///
/// One pattern of the common shapes (`*text*`, `text*`, `*text`) is the target's plain substring test, which
/// every engine runs directly on the bytes. Anything else is ONE unanchored regular expression: an alternation
/// of the patterns, each anchored where it has no leading or trailing `*` (`^`, `\z`), its literals escaped,
/// `*` as `.*` and `?` as `.` (`(?s)`: both match newlines, as in the engine). The engines compile a constant
/// pattern once per statement and scan a value once for all alternatives (RE2 on ClickHouse and DuckDB), where
/// one `LIKE` per pattern scans it once per pattern; DuckDB's `LIKE … ESCAPE`, needed for literal `%`, `_` and
/// `\`, is also ~10× slower than its `contains` (measured: docs/convert.md, "Wildcards"). `\z` and not `$`:
/// Java's `$` also matches before a final line break.
fn wildcards(d: Dialect, hay: &str, pats: &[Pattern]) -> String {
    if let [p] = pats {
        match p.parts.as_slice() {
            [Part::AnyRun, Part::Literal(s), Part::AnyRun] => return contains(d, hay, &d.lit(s)),
            [Part::Literal(s), Part::AnyRun] => return starts_with(d, hay, &d.lit(s)),
            [Part::AnyRun, Part::Literal(s)] => return ends_with(d, hay, &d.lit(s)),
            _ => {}
        }
    }
    let alts: Vec<String> = pats.iter().map(pattern_alternative).collect();
    d.regex(hay, &format!("(?s){}", alts.join("|")))
}

/// One pattern as an alternative of [`wildcards`]' regular expression (unanchored where it starts or ends with
/// `*`).
fn pattern_alternative(p: &Pattern) -> String {
    let mut parts = p.parts.as_slice();
    let open_start = parts.first() == Some(&Part::AnyRun);
    if open_start {
        parts = &parts[1..];
    }
    let open_end = parts.last() == Some(&Part::AnyRun);
    if open_end {
        parts = &parts[..parts.len() - 1];
    }
    let mut out = String::new();
    if !open_start {
        out.push('^');
    }
    for part in parts {
        match part {
            Part::Literal(s) => out.push_str(&regex_syntax::escape(s)),
            Part::AnyRun => out.push_str(".*"),
            Part::AnyChar => out.push('.'),
        }
    }
    if !open_end {
        out.push_str("\\z");
    }
    out
}

/// `SELECT * FROM table WHERE <rule on any of its routes>`.
pub(crate) fn rule_query(d: Dialect, table: &str, ir: &RuleIr, routes: Option<&[Route]>, exact: bool) -> R<String> {
    let pred = rule_where(d, ir, routes, exact)?;
    Ok(format!("SELECT * FROM {table} WHERE {pred}"))
}

/// The rule's predicate over all its routes (`(route AND rule-through-route) OR ...`).
pub(crate) fn rule_where(d: Dialect, ir: &RuleIr, routes: Option<&[Route]>, exact: bool) -> R<String> {
    match routes {
        None => rule_predicate(d, ir, &Identity, &Reads::inline(exact)),
        Some(routes) => {
            let mut alts = Vec::new();
            for r in routes {
                let p = rule_predicate(d, ir, r, &Reads::inline(exact))?;
                alts.push(format!("(({}) AND {p})", route_predicate(d, r)));
            }
            Ok(join(alts, " OR ", "FALSE"))
        }
    }
}

/// A rule prepared for the single query: its id and, per route (or once for an unrouted rule), its predicate.
pub(crate) struct SingleRule<'a> {
    pub id: String,
    pub ir: &'a RuleIr,
    pub routes: Option<&'a [Route]>,
}

/// The rules of one route of a set: its (predicate, label) (`None` for the unrouted rules), how its predicates
/// read fields, and its rules' (id, predicate through that route).
struct RouteGroup {
    route: Option<(String, String)>,
    reads: Reads,
    rules: Vec<(String, String)>,
}

/// The rules of a set grouped by route: a route is identified by its predicate text (identical routes of
/// different logsources share it), each with its rules' (id, predicate through that route); a rule routed to
/// several routes is in each. Unrouted rules come last. With `bind`, each group's predicates read fields through
/// its own bound [`Reads`].
fn route_groups(d: Dialect, rules: &[SingleRule<'_>], exact: bool, bind: bool) -> R<Vec<RouteGroup>> {
    let reads = || if bind { Reads::bound(exact) } else { Reads::inline(exact) };
    let mut groups: Vec<RouteGroup> = Vec::new();
    let mut unrouted = RouteGroup { route: None, reads: reads(), rules: Vec::new() };
    for r in rules {
        match r.routes {
            None => {
                let pred = rule_predicate(d, r.ir, &Identity, &unrouted.reads)?;
                unrouted.rules.push((r.id.clone(), pred));
            }
            Some(routes) => {
                for route in routes {
                    let key = route_predicate(d, route);
                    let at = match groups.iter().position(|g| g.route.as_ref().is_some_and(|(k, _)| *k == key)) {
                        Some(at) => at,
                        None => {
                            groups.push(RouteGroup {
                                route: Some((key, route_label(route))),
                                reads: reads(),
                                rules: Vec::new(),
                            });
                            groups.len() - 1
                        }
                    };
                    let g = &mut groups[at];
                    let pred = rule_predicate(d, r.ir, route, &g.reads)?;
                    match g.rules.iter_mut().find(|(id, _)| *id == r.id) {
                        // Two routes of one rule with the same predicate (different field mappings): either holds.
                        Some((_, p)) => *p = format!("({p} OR {pred})"),
                        None => g.rules.push((r.id.clone(), pred)),
                    }
                }
            }
        }
    }
    if !unrouted.rules.is_empty() {
        groups.push(unrouted);
    }
    Ok(groups)
}

/// A short name for a route, for people reading the statements: its record kinds, channels (or providers) and
/// event ids.
fn route_label(route: &Route) -> String {
    let mut parts: Vec<String> = Vec::new();
    let list = |v: &[String]| match v.len() {
        0 => None,
        1..=2 => Some(v.join(",")),
        n => Some(format!("{},{} +{} more", v[0], v[1], n - 2)),
    };
    parts.extend(list(route.kinds()));
    parts.extend(list(route.channels()).or_else(|| list(route.providers())));
    if !route.event_ids().is_empty() {
        let ids: Vec<String> = route.event_ids().iter().map(u32::to_string).collect();
        parts.extend(list(&ids).map(|s| format!("event {s}")));
    }
    for c in route.conditions() {
        parts.push(format!("{}={}", c.field(), c.values().join("|")));
    }
    if parts.is_empty() { "every event".into() } else { parts.join(" ") }
}

/// `[if(pred, id, '') ...]` without the empty strings: the ids of the rules a row matches.
fn ids_array(d: Dialect, rules: &[(String, String)]) -> String {
    let items: Vec<String> = rules
        .iter()
        .map(|(id, pred)| match d {
            Dialect::ClickHouse => format!("if({pred}, {}, '')", d.lit(id)),
            _ => format!("(CASE WHEN {pred} THEN {} ELSE '' END)", d.lit(id)),
        })
        .collect();
    let array = match d {
        Dialect::ClickHouse | Dialect::DuckDb => format!("[{}]", items.join(",\n    ")),
        Dialect::Spark => format!("array({})", items.join(",\n    ")),
    };
    match d {
        Dialect::ClickHouse => format!("arrayFilter(x -> x != '', {array})"),
        Dialect::DuckDb => format!("list_filter({array}, lambda x: x <> '')"),
        Dialect::Spark => format!("filter({array}, x -> x != '')"),
    }
}

fn empty_ids(d: Dialect) -> &'static str {
    match d {
        Dialect::ClickHouse => "CAST([], 'Array(String)')",
        Dialect::DuckDb => "CAST([] AS VARCHAR[])",
        Dialect::Spark => "CAST(array() AS ARRAY<STRING>)",
    }
}

/// `SELECT * FROM (SELECT *, ids AS sigil_rules FROM table [WHERE where]) WHERE sigil_rules is not empty`; with
/// fields bound by `reads`, their columns are computed by an inner `SELECT` over the table and left out of the
/// result (`* EXCLUDE` on DuckDB, `* EXCEPT` on ClickHouse and Spark), so the rows are the table's columns and
/// `sigil_rules` either way.
fn matched_rows(d: Dialect, table: &str, ids: &str, filter: Option<&str>, reads: &Reads) -> String {
    let nonempty = match d {
        Dialect::ClickHouse => "notEmpty(sigil_rules)",
        Dialect::DuckDb => "len(sigil_rules) > 0",
        Dialect::Spark => "size(sigil_rules) > 0",
    };
    let filter = filter.map(|w| format!("\nWHERE {w}")).unwrap_or_default();
    let mut levels = reads.columns(d);
    let Some(columns) = levels.pop().filter(|c| !c.is_empty()) else {
        return format!(
            "SELECT * FROM (\nSELECT *, {ids}\nAS sigil_rules FROM {table}{filter}\n) AS matched WHERE {nonempty}"
        );
    };
    let defs = |cols: &Columns| -> String {
        cols.iter().map(|(name, expr)| format!("{expr} AS {name}")).collect::<Vec<_>>().join(",\n  ")
    };
    let names: Vec<&str> = levels.iter().flatten().chain(&columns).map(|(name, _)| name.as_str()).collect();
    let star = match d {
        Dialect::DuckDb => format!("* EXCLUDE ({})", names.join(", ")),
        Dialect::ClickHouse | Dialect::Spark => format!("* EXCEPT ({})", names.join(", ")),
    };
    let mut rows = format!("{table}{filter}");
    for (i, level) in levels.iter().enumerate() {
        let alias = if i + 1 == levels.len() { "sg_keys".to_string() } else { format!("sg_keys{i}") };
        rows = format!("(\nSELECT *,\n  {}\nFROM {rows}\n) AS {alias}", defs(level));
    }
    format!(
        "SELECT {star} FROM (\nSELECT *, {ids}\nAS sigil_rules FROM (\nSELECT *,\n  {}\nFROM {rows}\n) AS sg_read\n) AS matched WHERE {nonempty}",
        defs(&columns)
    )
}

/// One statement that reads the table once and returns every matching row with the ids of the rules it matched
/// (`sigil_rules`), the routing predicate evaluated once per route and shared by all rules on it.
pub(crate) fn single_query(d: Dialect, table: &str, rules: &[SingleRule<'_>], exact: bool) -> R<String> {
    let empty = empty_ids(d);
    let mut parts: Vec<String> = Vec::new();
    for g in &route_groups(d, rules, exact, false)? {
        let arr = ids_array(d, &g.rules);
        parts.push(match (&g.route, d) {
            (None, _) => arr,
            (Some((route, _)), Dialect::ClickHouse) => format!("if({route}, {arr}, {empty})"),
            (Some((route, _)), _) => format!("(CASE WHEN {route} THEN {arr} ELSE {empty} END)"),
        });
    }
    let all = match d {
        _ if parts.is_empty() => empty.to_string(),
        Dialect::ClickHouse => format!("arrayDistinct(arrayFlatten([{}]))", parts.join(",\n  ")),
        Dialect::DuckDb => format!("list_distinct(flatten([{}]))", parts.join(",\n  ")),
        Dialect::Spark => format!("array_distinct(flatten(array({})))", parts.join(",\n  ")),
    };
    Ok(matched_rows(d, table, &all, None, &Reads::inline(exact)))
}

/// One statement of [`route_statements`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteStatement {
    /// The route, for people: record kinds, channels or providers, event ids (`"unrouted"` for the rules whose
    /// logsource has no route, which read every event).
    pub route: String,
    /// The rules in the statement (a rule routed to several routes is in each of their statements).
    pub rule_ids: Vec<String>,
    /// The statement: the rows of the route that match at least one of its rules, with `sigil_rules`.
    pub query: String,
}

/// One statement per route: the route's predicate as its `WHERE` (an engine whose table is ordered or
/// partitioned by kind, channel and event id reads only that route's rows), the route's rules in its select
/// list; the unrouted rules in a statement of their own, without `WHERE`. The union of their (rule, row) pairs
/// is the single query's; a row may come out of several statements (a record travelling two routes).
///
/// Each statement reads every field its rules test once per row, into columns of an inner `SELECT` (bound
/// [`Reads`]), and its predicates name those columns: a route's hundreds of tests of `CommandLine` read and
/// lower-case it once, not once per test.
pub(crate) fn route_statements(
    d: Dialect,
    table: &str,
    rules: &[SingleRule<'_>],
    exact: bool,
) -> R<Vec<RouteStatement>> {
    Ok(route_groups(d, rules, exact, true)?
        .into_iter()
        .map(|g| {
            let ids = ids_array(d, &g.rules);
            let (label, query) = match g.route {
                Some((pred, label)) => (label, matched_rows(d, table, &ids, Some(&pred), &g.reads)),
                None => ("unrouted".to_string(), matched_rows(d, table, &ids, None, &g.reads)),
            };
            RouteStatement { route: label, rule_ids: g.rules.into_iter().map(|(id, _)| id).collect(), query }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_per_dialect() {
        assert_eq!(Dialect::ClickHouse.lit("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(Dialect::Spark.lit("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(Dialect::DuckDb.lit("a'b\\c"), "'a''b\\c'");
        assert!(Dialect::DuckDb.check_lit("a\0").is_err());
    }

    #[test]
    fn spark_literals_hide_variable_references() {
        // Spark would substitute `${::-l}` (an unknown variable) by the empty string before parsing.
        assert_eq!(Dialect::Spark.lit("${::-l}$x{"), "'$\\{::-l}$x{'");
        assert_eq!(Dialect::ClickHouse.lit("${a}"), "'${a}'");
        assert_eq!(Dialect::DuckDb.lit("${a}"), "'${a}'");
    }

    #[test]
    fn wildcards_are_one_test_per_value() {
        let lit = |s: &str| Part::Literal(s.into());
        // One pattern of a common shape: the plain substring test (no LIKE escapes needed for `%`, `_`, `\`).
        let p = Pattern::new([Part::AnyRun, lit("50%_a\\b'"), Part::AnyRun]);
        assert_eq!(wildcards(Dialect::DuckDb, "x", std::slice::from_ref(&p)), r"contains(x, '50%_a\b''')");
        assert_eq!(wildcards(Dialect::ClickHouse, "x", &[p]), r"(position(x, '50%_a\\b\'') > 0)");
        let p = Pattern::new([lit("a"), Part::AnyRun]);
        assert_eq!(wildcards(Dialect::Spark, "x", &[p]), "startswith(x, 'a')");
        let p = Pattern::new([Part::AnyRun, lit("a")]);
        assert_eq!(wildcards(Dialect::DuckDb, "x", &[p]), "ends_with(x, 'a')");
        // Several, or other shapes: one regular expression, each alternative anchored where it has no `*`.
        let pats = [
            Pattern::new([Part::AnyRun, lit("a.b"), Part::AnyRun]),
            Pattern::new([lit("c"), Part::AnyChar]),
            Pattern::new([Part::AnyRun, lit("d|e")]),
            Pattern::new([lit("f"), Part::AnyRun, lit("g"), Part::AnyRun]),
        ];
        assert_eq!(wildcards(Dialect::DuckDb, "x", &pats), r"regexp_matches(x, '(?s)a\.b|^c.\z|d\|e\z|^f.*g')");
        let one = Pattern::new([lit("a"), Part::AnyRun, lit("b")]);
        assert_eq!(wildcards(Dialect::Spark, "x", &[one]), r"(x RLIKE '(?s)^a.*b\\z')");
    }

    #[test]
    fn fold_matches_engine() {
        assert_eq!(fold("C:\\WINDOWS\\ÄÖ"), "c:\\windows\\äö");
        assert_eq!(fold("İ"), "i\u{307}");
    }
}
