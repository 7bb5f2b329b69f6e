//! An event prepared once for every rule that looks at it.
//!
//! [`Prepared::load`] walks the event's fields once: it renders each value as text, folds it for
//! case-insensitive matching, and records under which interned field ids the rules can find it. Rules then read
//! fields by id in constant time and compare against pre-folded literals, so no rule re-reads, re-renders or
//! re-folds the event. The buffers are reused from event to event: after warm-up, preparing an event allocates
//! nothing.
//!
//! Field names are looked up exactly first; when the event has no field of exactly that name, a field whose name
//! differs only in ASCII case or spaces is used; and when there is none either, a name that is the dotted prefix of
//! event fields reads all of them (`requestParameters` reads `requestParameters.userName`,
//! `requestParameters.policyArn`, ...; M365's `Parameters` reads the `Name`s and `Value`s of its list of objects), as
//! rules name a whole nested object and the backends they were written for search its JSON text. Otherwise a field (JSON logs from other tools often write `commandline` or `image`;
//! Defender's EventData writes `Threat Name` for Sigma's `ThreatName`). If the
//! event has several fields of the same name, the last one counts (as [`sigil_events::Event::get`]).

use rustc_hash::FxHashMap;
use sigil_events::{Event, Value};

use crate::fold::fold_into;

/// A field name for the fallback lookup: ASCII lower case, spaces removed (Defender writes `Threat Name` where
/// Sigma rules, like THOR and Hayabusa, write `ThreatName`).
fn loose_name(name: &str) -> String {
    name.chars().filter(|c| *c != ' ').map(|c| c.to_ascii_lowercase()).collect()
}

/// Index of an interned field name.
pub(crate) type FieldId = u32;

/// Every field name any compiled rule reads, interned.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldTable {
    ids: FxHashMap<Box<str>, FieldId>,
    /// ASCII-lower-cased name → ids of the names that fold to it.
    by_lower: FxHashMap<Box<str>, Vec<FieldId>>,
    names: Vec<Box<str>>,
}

impl FieldTable {
    pub(crate) fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = FieldId::try_from(self.names.len()).unwrap_or(FieldId::MAX);
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        self.by_lower.entry(loose_name(name).into()).or_default().push(id);
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn name(&self, id: FieldId) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    fn resolve(&self, event_field: &str) -> NameInfo {
        let exact = self.ids.get(event_field).copied();
        let lower = loose_name(event_field);
        let ci = self
            .by_lower
            .get(lower.as_str())
            .map(|ids| ids.iter().copied().filter(|id| Some(*id) != exact).collect())
            .unwrap_or_default();
        // Dotted prefixes of the name (`a` and `a.b` of `a.b.c`) that rules read.
        let mut prefix = Vec::new();
        for (i, _) in event_field.match_indices('.') {
            let Some(head) = event_field.get(..i) else { continue };
            if head.is_empty() {
                continue;
            }
            if let Some(ids) = self.by_lower.get(loose_name(head).as_str()) {
                for id in ids {
                    if !prefix.contains(id) {
                        prefix.push(*id);
                    }
                }
            }
        }
        NameInfo { exact, ci, prefix: prefix.into() }
    }
}

#[derive(Debug, Clone)]
struct NameInfo {
    exact: Option<FieldId>,
    ci: Box<[FieldId]>,
    /// Fields whose name is a dotted prefix of this one (ignoring ASCII case and spaces).
    prefix: Box<[FieldId]>,
}

/// The type of one scalar value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AtomKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str,
}

/// One scalar of the event (a field value, or one item of a list value), with its text and folded text as
/// ranges of the event's buffers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Atom {
    pub(crate) kind: AtomKind,
    text: (u32, u32),
    folded: (u32, u32),
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    generation: u32,
    start: u32,
    end: u32,
}

/// Largest number of distinct event field names remembered between events; past it the cache starts over (only
/// JSON with ever-new key names gets there).
const NAME_CACHE_LIMIT: usize = 8192;

/// The reusable, prepared form of the current event.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    generation: u32,
    exact: Vec<Slot>,
    ci: Vec<Slot>,
    /// Atoms of the fields under a dotted prefix (contiguous: an object's fields follow each other).
    prefix: Vec<Slot>,
    atoms: Vec<Atom>,
    text: String,
    /// Folded texts of all atoms, each followed by a separator, so that the prefilter can scan the whole event in
    /// one pass.
    folded: String,
    /// Event field names seen so far, each with the index of its resolution in `infos`.
    names: FxHashMap<Box<str>, u32>,
    infos: Vec<NameInfo>,
    /// The previous event's field names, in order, as `(start, end)` in `last_text` and the index in `infos`:
    /// records of one template have the same names in the same order, found here without a lookup.
    last: Vec<(u32, u32, u32)>,
    last_text: String,
    /// Folded texts of the atoms of the fields [`Prepared::load_with_rest`] left out, each followed by a separator:
    /// with [`Prepared::folded_all`], every value of the event, for the keyword scan.
    rest: String,
    /// A value's text, rendered before it is folded into `rest`.
    render: String,
    /// Whether every field of the event is prepared (no field was left out for `used`).
    complete: bool,
}

/// Separator between atoms in [`Prepared::folded`]. Only the prefilter sees it; a literal spanning it can only
/// cause an extra (harmless) candidate.
const SEPARATOR: char = '\u{1f}';

impl Prepared {
    pub(crate) fn new(table: &FieldTable) -> Self {
        Prepared {
            exact: vec![Slot::default(); table.len()],
            ci: vec![Slot::default(); table.len()],
            prefix: vec![Slot::default(); table.len()],
            ..Prepared::default()
        }
    }

    /// Prepares `event` for matching, replacing the previous event. With `used` (a bitset over field ids), fields
    /// that no rule of the event's bucket reads are left out: they cost nothing and nobody asks for them.
    pub(crate) fn load(&mut self, event: &Event, table: &FieldTable, used: Option<&[u64]>) {
        self.load_inner(event, table, used, false);
    }

    /// As [`Prepared::load`], and the folded text of every field left out goes to [`Prepared::rest`]: enough for a
    /// scan of every value of the event, at the cost of folding, without the atoms and slots of a prepared field.
    pub(crate) fn load_with_rest(&mut self, event: &Event, table: &FieldTable, used: &[u64]) {
        self.load_inner(event, table, Some(used), true);
    }

    fn load_inner(&mut self, event: &Event, table: &FieldTable, used: Option<&[u64]>, rest: bool) {
        if self.exact.len() != table.len() {
            self.exact = vec![Slot::default(); table.len()];
            self.ci = vec![Slot::default(); table.len()];
            self.prefix = vec![Slot::default(); table.len()];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.exact.fill(Slot::default());
            self.ci.fill(Slot::default());
            self.prefix.fill(Slot::default());
            self.generation = 1;
        }
        self.atoms.clear();
        self.text.clear();
        self.folded.clear();
        self.rest.clear();
        self.complete = true;
        if self.names.len() > NAME_CACHE_LIMIT {
            self.names.clear();
            self.infos.clear();
            self.last.clear();
            self.last_text.clear();
        }
        for (i, (name, value)) in event.fields().enumerate() {
            let index = match self.last.get(i) {
                Some(&(start, end, index)) if self.last_text.get(start as usize..end as usize) == Some(name) => index,
                _ => {
                    // One lookup for a name seen before (nearly every name, after the first events).
                    let index = match self.names.get(name) {
                        Some(index) => *index,
                        None => {
                            let index = self.infos.len() as u32;
                            self.infos.push(table.resolve(name));
                            self.names.insert(name.into(), index);
                            index
                        }
                    };
                    // This event's names from here on replace the previous event's.
                    if let Some(&(start, _, _)) = self.last.get(i) {
                        self.last_text.truncate(start as usize);
                    }
                    self.last.truncate(i);
                    let start = self.last_text.len() as u32;
                    self.last_text.push_str(name);
                    self.last.push((start, self.last_text.len() as u32, index));
                    index
                }
            };
            let Some(info) = self.infos.get(index as usize) else { continue };
            if let Some(used) = used {
                let is_used = |id: FieldId| used.get(id as usize / 64).is_some_and(|w| w & (1 << (id % 64)) != 0);
                if !info.exact.is_some_and(is_used)
                    && !info.ci.iter().any(|id| is_used(*id))
                    && !info.prefix.iter().any(|id| is_used(*id))
                {
                    self.complete = false;
                    if rest {
                        push_folded(value, &mut self.rest, &mut self.render);
                    }
                    continue;
                }
            }
            let start = self.atoms.len() as u32;
            push_value(value, &mut self.atoms, &mut self.text, &mut self.folded);
            let end = self.atoms.len() as u32;
            let slot = Slot { generation: self.generation, start, end };
            set_slots(info, slot, &mut self.exact, &mut self.ci);
            for id in info.prefix.iter() {
                if let Some(s) = self.prefix.get_mut(*id as usize) {
                    if s.generation == self.generation && s.end == start {
                        s.end = end;
                    } else if s.generation != self.generation {
                        *s = slot;
                    }
                }
            }
        }
    }

    /// The atoms of a field, `None` when the event has no such field.
    #[inline]
    pub(crate) fn field(&self, id: FieldId) -> Option<&[Atom]> {
        let slot = match self.exact.get(id as usize) {
            Some(s) if s.generation == self.generation => s,
            _ => match self.ci.get(id as usize) {
                Some(s) if s.generation == self.generation => s,
                _ => match self.prefix.get(id as usize) {
                    Some(s) if s.generation == self.generation => s,
                    _ => return None,
                },
            },
        };
        self.atoms.get(slot.start as usize..slot.end as usize)
    }

    /// Every atom of the event (for keyword searches).
    pub(crate) fn all_atoms(&self) -> &[Atom] {
        &self.atoms
    }

    #[inline]
    pub(crate) fn text(&self, a: &Atom) -> &str {
        self.text.get(a.text.0 as usize..a.text.1 as usize).unwrap_or("")
    }

    #[inline]
    pub(crate) fn folded(&self, a: &Atom) -> &str {
        self.folded.get(a.folded.0 as usize..a.folded.1 as usize).unwrap_or("")
    }

    /// All folded text, atoms separated by a control character.
    pub(crate) fn folded_all(&self) -> &[u8] {
        self.folded.as_bytes()
    }

    /// The folded text of the fields left out by [`Prepared::load_with_rest`], atoms separated by a control
    /// character (empty after [`Prepared::load`]).
    pub(crate) fn rest(&self) -> &[u8] {
        self.rest.as_bytes()
    }

    /// Whether every field of the event is prepared: `false` when `used` left some out, and then keyword
    /// searches ([`Prepared::all_atoms`]) must not be evaluated before the event is loaded again without `used`.
    pub(crate) fn is_complete(&self) -> bool {
        self.complete
    }

    /// The atom as a number: integers and floats as they are; strings holding a decimal number or a Windows hex
    /// number (`0x1a2c`).
    pub(crate) fn number(&self, a: &Atom) -> Option<f64> {
        match a.kind {
            AtomKind::Int(i) => Some(i as f64),
            AtomKind::Float(f) => Some(f),
            AtomKind::Str => parse_number(self.text(a)),
            AtomKind::Null | AtomKind::Bool(_) => None,
        }
    }
}

/// Appends a value's atoms (one per scalar, lists flattened), its text and its folded text.
fn push_value(value: &Value, atoms: &mut Vec<Atom>, text: &mut String, folded: &mut String) {
    let kind = match value {
        Value::List(items) => {
            for item in items {
                push_value(item, atoms, text, folded);
            }
            return;
        }
        Value::Null => AtomKind::Null,
        Value::Bool(b) => AtomKind::Bool(*b),
        Value::Int(i) => AtomKind::Int(*i),
        Value::Float(f) => AtomKind::Float(*f),
        Value::Str(_) => AtomKind::Str,
    };
    let t0 = text.len();
    render_scalar(value, text);
    let t1 = text.len();
    let f0 = folded.len();
    fold_into(text.get(t0..t1).unwrap_or(""), folded);
    let f1 = folded.len();
    folded.push(SEPARATOR);
    atoms.push(Atom { kind, text: (t0 as u32, t1 as u32), folded: (f0 as u32, f1 as u32) });
}

/// Appends the text of a scalar value, as the matchers see it (nothing for null and lists).
fn render_scalar(value: &Value, text: &mut String) {
    use std::fmt::Write as _;
    match value {
        Value::Str(s) => text.push_str(s),
        Value::Bool(b) => text.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(text, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(text, "{f}");
        }
        Value::Null | Value::List(_) => {}
    }
}

/// Appends the folded text of each of a value's atoms (as [`push_value`] folds them), each followed by the
/// separator; `render` is a buffer for values that are not strings.
fn push_folded(value: &Value, out: &mut String, render: &mut String) {
    match value {
        Value::List(items) => {
            for item in items {
                push_folded(item, out, render);
            }
            return;
        }
        Value::Str(s) => fold_into(s, out),
        _ => {
            render.clear();
            render_scalar(value, render);
            fold_into(render, out);
        }
    }
    out.push(SEPARATOR);
}

fn set_slots(info: &NameInfo, slot: Slot, exact: &mut [Slot], ci: &mut [Slot]) {
    if let Some(id) = info.exact
        && let Some(s) = exact.get_mut(id as usize)
    {
        *s = slot;
    }
    for id in info.ci.iter() {
        if let Some(s) = ci.get_mut(*id as usize) {
            *s = slot;
        }
    }
}

/// A decimal number (`42`, `-1.5`, `1e3`) or a `0x` hex integer, surrounding whitespace ignored; not `inf`/`NaN`.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(hex, 16).ok()? as f64
    } else {
        let first = *body.as_bytes().first()?;
        if !(first.is_ascii_digit() || first == b'.')
            || !body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x1a2c"), Some(6700.0));
        assert_eq!(parse_number("4688"), Some(4688.0));
        assert_eq!(parse_number(" -1.5 "), Some(-1.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for s in ["", "0x", "abc", "inf", "NaN", "12abc", "-"] {
            assert_eq!(parse_number(s), None, "{s}");
        }
    }

    #[test]
    fn fields_exact_then_case_insensitive_last_wins() {
        let mut table = FieldTable::default();
        let image = table.intern("Image");
        let cl = table.intern("CommandLine");
        let missing = table.intern("User");
        let threat = table.intern("ThreatName");
        let ev = Event::from_fields([
            ("commandline", Value::from("A")),
            ("Image", Value::from("X")),
            ("image", Value::from("Y")),
            ("Image", Value::from("Z")),
            ("Threat Name", Value::from("T")),
            ("n", Value::List(vec![Value::Int(1), Value::Null])),
        ]);
        let mut p = Prepared::new(&table);
        p.load(&ev, &table, None);
        let img = p.field(image).unwrap();
        assert_eq!(img.len(), 1);
        assert_eq!(p.text(&img[0]), "Z");
        assert_eq!(p.folded(&p.field(cl).unwrap()[0]), "a");
        assert!(p.field(missing).is_none());
        assert_eq!(p.text(&p.field(threat).unwrap()[0]), "T");
        assert_eq!(p.all_atoms().len(), 7);
        // A new event forgets the old one's fields.
        p.load(&Event::from_fields([("User", Value::from("u"))]), &table, None);
        assert!(p.field(image).is_none());
        assert_eq!(p.text(&p.field(missing).unwrap()[0]), "u");
    }

    #[test]
    fn events_with_other_names_in_the_same_places_resolve_their_own() {
        let mut table = FieldTable::default();
        let a = table.intern("A");
        let b = table.intern("B");
        let c = table.intern("c");
        let mut p = Prepared::new(&table);
        let text = |p: &Prepared, id: FieldId| p.field(id).map(|atoms| p.text(&atoms[0]).to_owned());
        // The same names in order, another name in the middle, fewer names, more names, a name moved.
        let events: [&[(&str, &str)]; 6] = [
            &[("A", "1"), ("B", "2"), ("C", "3")],
            &[("A", "4"), ("B", "5"), ("C", "6")],
            &[("A", "7"), ("X", "8"), ("C", "9")],
            &[("A", "10")],
            &[("A", "11"), ("X", "12"), ("C", "13"), ("B", "14")],
            &[("B", "15"), ("A", "16")],
        ];
        for fields in events {
            let ev = Event::from_fields(fields.iter().map(|(n, v)| (*n, Value::from(*v))));
            p.load(&ev, &table, None);
            let want =
                |name: &str| fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_string());
            assert_eq!((text(&p, a), text(&p, b), text(&p, c)), (want("A"), want("B"), want("c")), "{fields:?}");
        }
    }

    #[test]
    fn a_dotted_prefix_reads_every_field_under_it() {
        let mut table = FieldTable::default();
        let params = table.intern("Parameters");
        let request = table.intern("requestParameters");
        let user = table.intern("requestParameters.userName");
        let ev = Event::from_fields([
            ("Operation", Value::from("Set-Mailbox")),
            ("parameters.Name", Value::List(vec!["Identity".into(), "ForwardingSmtpAddress".into()])),
            ("parameters.Value", Value::List(vec!["homer".into(), "smtp:x@y".into()])),
            ("requestParameters.userName", Value::from("bob")),
            ("requestParameters.policy.arn", Value::from("arn:aws:iam::aws:policy/AdministratorAccess")),
            ("requestParametersX", Value::from("not under it")),
        ]);
        let mut p = Prepared::new(&table);
        p.load(&ev, &table, None);
        fn texts(p: &Prepared, id: FieldId) -> Vec<String> {
            p.field(id).unwrap().iter().map(|a| p.text(a).to_owned()).collect()
        }
        assert_eq!(texts(&p, params), ["Identity", "ForwardingSmtpAddress", "homer", "smtp:x@y"]);
        assert_eq!(texts(&p, request), ["bob", "arn:aws:iam::aws:policy/AdministratorAccess"]);
        assert_eq!(texts(&p, user), ["bob"]);
        // An exact field wins over the prefix.
        let ev = Event::from_fields([("Parameters", Value::from("flat")), ("Parameters.Name", Value::from("n"))]);
        p.load(&ev, &table, None);
        assert_eq!(texts(&p, params), ["flat"]);
    }
}
