//! MITRE ATT&CK (Enterprise) tactics and techniques, and the crosswalk from retired tag forms.
//!
//! Tables: `data/attack/tactics.tsv` (matrix order), `techniques.tsv` (sorted by id), `crosswalk.tsv`
//! (hand-maintained). Lookups accept Sigma tag suffixes in any of their spellings: `command-and-control`,
//! `command_and_control`, `Command and Control`, `TA0011`; `t1219.002`, `T1219.002`, `attack.t1219.002`.
//!
//! ```
//! use sigil_knowledge::attack;
//! let t = attack::technique("t1219.002").unwrap();
//! assert_eq!(t.display, "Remote Access Tools: Remote Desktop Software");
//! assert_eq!(attack::tactic("command_and_control").unwrap().display, "Command & Control");
//! ```

use crate::error::{Error, Result};
use crate::tsv;

const TACTICS: (&str, &str) = ("data/attack/tactics.tsv", include_str!("../../../data/attack/tactics.tsv"));
const TECHNIQUES: (&str, &str) = ("data/attack/techniques.tsv", include_str!("../../../data/attack/techniques.tsv"));
const CROSSWALK: (&str, &str) = ("data/attack/crosswalk.tsv", include_str!("../../../data/attack/crosswalk.tsv"));

/// An ATT&CK tactic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tactic {
    /// `TA0011`.
    pub id: &'static str,
    /// `command-and-control`: the Sigma tag suffix.
    pub shortname: &'static str,
    /// ATT&CK's name: `Command and Control`.
    pub name: &'static str,
    /// Name shown on pages: `Command & Control`.
    pub display: &'static str,
}

impl Tactic {
    /// The Sigma tag: `attack.command-and-control`.
    pub fn tag(&self) -> String {
        format!("attack.{}", self.shortname)
    }
}

/// An ATT&CK technique or sub-technique that is current in the loaded release.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Technique {
    /// `T1219` or `T1219.002`.
    pub id: &'static str,
    /// ATT&CK's name: `Remote Desktop Software`.
    pub name: &'static str,
    /// Name shown on pages; `Parent: Child` for sub-techniques (`Remote Access Tools: Remote Desktop Software`).
    pub display: &'static str,
    tactics: Vec<&'static str>,
}

impl Technique {
    /// Shortnames of the tactics this technique serves (its kill-chain phases), in matrix order.
    pub fn tactics(&self) -> &[&'static str] {
        &self.tactics
    }

    /// Whether this is a sub-technique (`T1219.002`).
    pub fn is_subtechnique(&self) -> bool {
        self.id.contains('.')
    }

    /// The parent technique id of a sub-technique (`T1219` for `T1219.002`).
    pub fn parent_id(&self) -> Option<&'static str> {
        self.id.split_once('.').map(|(parent, _)| parent)
    }

    /// The Sigma tag: `attack.t1219.002`.
    pub fn tag(&self) -> String {
        format!("attack.{}", self.id.to_ascii_lowercase())
    }
}

/// What a crosswalk row translates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrosswalkKind {
    /// A tactic shortname (`defense-evasion`).
    Tactic,
    /// A technique id (`T1562.001`).
    Technique,
}

/// One row of `crosswalk.tsv`: an old tag form and what replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrosswalkEntry {
    /// What is translated.
    pub kind: CrosswalkKind,
    /// The old shortname or technique id.
    pub old: &'static str,
    /// Current shortnames or ids; empty when retired without replacement.
    pub new: Vec<&'static str>,
    /// Why (short, for diagnostics).
    pub note: &'static str,
}

/// The outcome of resolving a tactic or technique written in a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lookup<'a, T> {
    /// Current in the loaded release.
    Found(&'a T),
    /// An old form the crosswalk translates (possibly into several, as `defense-evasion`).
    Crosswalk {
        /// The crosswalk row.
        entry: &'a CrosswalkEntry,
        /// What it stands for now.
        to: Vec<&'a T>,
    },
    /// An old form retired without replacement (`T1043`).
    Retired(&'a CrosswalkEntry),
    /// Not known at all.
    Unknown,
}

impl<'a, T> Lookup<'a, T> {
    /// The current objects this resolves to (empty for retired and unknown).
    pub fn current(&self) -> Vec<&'a T> {
        match self {
            Lookup::Found(t) => vec![*t],
            Lookup::Crosswalk { to, .. } => to.clone(),
            Lookup::Retired(_) | Lookup::Unknown => Vec::new(),
        }
    }

    /// Whether the input was recognised (current, translated or retired).
    pub fn is_known(&self) -> bool {
        !matches!(self, Lookup::Unknown)
    }
}

/// A classified `attack.*` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttackTag<'a> {
    /// `attack.<tactic>` (anything that is not an id is treated as a tactic name).
    Tactic(Lookup<'a, Tactic>),
    /// `attack.t1234` or `attack.t1234.001`.
    Technique(Lookup<'a, Technique>),
    /// `attack.g0032`: a well-formed group id (names are not in the loaded data).
    Group(String),
    /// `attack.s0002`: a well-formed software id (names are not in the loaded data).
    Software(String),
    /// `attack.ds0005`: a well-formed data-source id.
    DataSource(String),
}

/// The ATT&CK tables.
#[derive(Debug)]
pub struct Attack {
    tactics: Vec<Tactic>,
    techniques: Vec<Technique>,
    crosswalk: Vec<CrosswalkEntry>,
    version: &'static str,
    release: &'static str,
}

impl Attack {
    /// Parse the embedded tables.
    pub(crate) fn load() -> Result<Attack> {
        let (origin, text) = TACTICS;
        let table = tsv::parse(origin, text, 4)?;
        let version = table.meta("version").unwrap_or_default();
        let release = table.meta("attack_release").unwrap_or_default();
        let tactics: Vec<Tactic> = table
            .rows
            .iter()
            .map(|r| Tactic { id: r.col(0), shortname: r.col(1), name: r.col(2), display: r.col(3) })
            .collect();

        let (origin, text) = TECHNIQUES;
        let table = tsv::parse(origin, text, 4)?;
        let mut techniques = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let tactic_names: Vec<&'static str> = row.col(3).split(',').filter(|s| !s.is_empty()).collect();
            if let Some(bad) = tactic_names.iter().find(|s| !tactics.iter().any(|t| t.shortname == **s)) {
                return Err(Error::data(origin, row.line, 1, format!("unknown tactic `{bad}`")));
            }
            if !is_technique_id(row.col(0)) {
                return Err(Error::data(origin, row.line, 1, format!("malformed technique id `{}`", row.col(0))));
            }
            techniques.push(Technique { id: row.col(0), name: row.col(1), display: row.col(2), tactics: tactic_names });
        }
        if let Some(w) = techniques.windows(2).find(|w| matches!(w, [a, b] if a.id >= b.id)) {
            let id = w.last().map_or("", |t| t.id);
            return Err(Error::data(origin, 1, 1, format!("techniques not sorted or duplicated at `{id}`")));
        }

        let (origin, text) = CROSSWALK;
        let table = tsv::parse(origin, text, 4)?;
        let mut crosswalk = Vec::with_capacity(table.rows.len());
        for row in &table.rows {
            let kind = match row.col(0) {
                "tactic" => CrosswalkKind::Tactic,
                "technique" => CrosswalkKind::Technique,
                other => return Err(Error::data(origin, row.line, 1, format!("unknown kind `{other}`"))),
            };
            let new: Vec<&'static str> = row.col(2).split(',').filter(|s| !s.is_empty()).collect();
            for target in &new {
                let ok = match kind {
                    CrosswalkKind::Tactic => tactics.iter().any(|t| t.shortname == *target),
                    CrosswalkKind::Technique => techniques.binary_search_by(|t| t.id.cmp(target)).is_ok(),
                };
                if !ok {
                    return Err(Error::data(origin, row.line, 1, format!("crosswalk target `{target}` is unknown")));
                }
            }
            crosswalk.push(CrosswalkEntry { kind, old: row.col(1), new, note: row.col(3) });
        }
        Ok(Attack { tactics, techniques, crosswalk, version, release })
    }

    /// The data's version string (`Enterprise ATT&CK (2026-04-14)`).
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// The ATT&CK release (`v19`).
    pub fn release(&self) -> &'static str {
        self.release
    }

    /// All tactics in matrix order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// All current techniques and sub-techniques, sorted by id.
    pub fn techniques(&self) -> &[Technique] {
        &self.techniques
    }

    /// The crosswalk rows.
    pub fn crosswalk(&self) -> &[CrosswalkEntry] {
        &self.crosswalk
    }

    /// A current tactic by tag suffix, shortname (dashes or underscores), name or id; an old alias that maps to
    /// exactly one tactic resolves too. Use [`Attack::resolve_tactic`] to see aliases that split.
    pub fn tactic(&self, text: &str) -> Option<&Tactic> {
        match self.resolve_tactic(text) {
            Lookup::Found(t) => Some(t),
            Lookup::Crosswalk { to, .. } if to.len() == 1 => to.first().copied(),
            _ => None,
        }
    }

    /// Resolve a tactic, following the crosswalk (`defense-evasion` → Stealth and Defense Impairment).
    pub fn resolve_tactic(&self, text: &str) -> Lookup<'_, Tactic> {
        let key = normalize_tactic(text);
        if key.is_empty() {
            return Lookup::Unknown;
        }
        let found = self.tactics.iter().find(|t| {
            t.shortname == key
                || t.id.eq_ignore_ascii_case(&key)
                || normalize_tactic(t.name) == key
                || normalize_tactic(t.display) == key
        });
        if let Some(t) = found {
            return Lookup::Found(t);
        }
        let Some(entry) = self.crosswalk.iter().find(|e| e.kind == CrosswalkKind::Tactic && e.old == key) else {
            return Lookup::Unknown;
        };
        if entry.new.is_empty() {
            return Lookup::Retired(entry);
        }
        let to = entry.new.iter().filter_map(|s| self.tactics.iter().find(|t| t.shortname == *s)).collect();
        Lookup::Crosswalk { entry, to }
    }

    /// A current technique by id, case-insensitive, with or without the `attack.` prefix.
    pub fn technique(&self, text: &str) -> Option<&Technique> {
        let id = normalize_technique(text)?;
        self.technique_by_id(&id)
    }

    /// Resolve a technique id, following the crosswalk for revoked and deprecated ids.
    pub fn resolve_technique(&self, text: &str) -> Lookup<'_, Technique> {
        let Some(id) = normalize_technique(text) else {
            return Lookup::Unknown;
        };
        if let Some(t) = self.technique_by_id(&id) {
            return Lookup::Found(t);
        }
        let Some(entry) = self.crosswalk.iter().find(|e| e.kind == CrosswalkKind::Technique && e.old == id) else {
            return Lookup::Unknown;
        };
        if entry.new.is_empty() {
            return Lookup::Retired(entry);
        }
        Lookup::Crosswalk { entry, to: entry.new.iter().filter_map(|n| self.technique_by_id(n)).collect() }
    }

    /// Current techniques serving a tactic (any spelling [`Attack::resolve_tactic`] accepts; an alias that
    /// splits yields the techniques of every tactic it stands for), sorted by id.
    pub fn techniques_of(&self, tactic: &str) -> Vec<&Technique> {
        let shortnames: Vec<&str> = self.resolve_tactic(tactic).current().iter().map(|t| t.shortname).collect();
        self.techniques.iter().filter(|t| t.tactics.iter().any(|s| shortnames.contains(s))).collect()
    }

    /// Classify a Sigma tag in the `attack` namespace; `None` for other namespaces.
    pub fn parse_tag(&self, tag: &str) -> Option<AttackTag<'_>> {
        let tag = tag.trim();
        let suffix = tag.get(..7).filter(|p| p.eq_ignore_ascii_case("attack.")).and_then(|_| tag.get(7..))?;
        let upper = suffix.to_ascii_uppercase();
        if is_technique_id(&upper) {
            return Some(AttackTag::Technique(self.resolve_technique(&upper)));
        }
        if let Some(digits) = upper.strip_prefix("DS")
            && is_digits(digits, 4)
        {
            return Some(AttackTag::DataSource(upper));
        }
        if let Some(digits) = upper.strip_prefix('G')
            && is_digits(digits, 4)
        {
            return Some(AttackTag::Group(upper));
        }
        if let Some(digits) = upper.strip_prefix('S')
            && is_digits(digits, 4)
        {
            return Some(AttackTag::Software(upper));
        }
        Some(AttackTag::Tactic(self.resolve_tactic(suffix)))
    }

    fn technique_by_id(&self, id: &str) -> Option<&Technique> {
        let index = self.techniques.binary_search_by(|t| t.id.cmp(id)).ok()?;
        self.techniques.get(index)
    }
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// `T1234` or `T1234.567` (upper case).
fn is_technique_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('T') else {
        return false;
    };
    match rest.split_once('.') {
        Some((main, sub)) => is_digits(main, 4) && is_digits(sub, 3),
        None => is_digits(rest, 4),
    }
}

fn strip_attack_prefix(text: &str) -> &str {
    let text = text.trim();
    match text.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("attack.") => text.get(7..).unwrap_or_default(),
        _ => text,
    }
}

/// Lower case, `&` → `and`, runs of anything but letters and digits → `-`.
fn normalize_tactic(text: &str) -> String {
    let text = strip_attack_prefix(text).to_lowercase().replace('&', " and ");
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-")
}

fn normalize_technique(text: &str) -> Option<String> {
    let id = strip_attack_prefix(text).to_ascii_uppercase();
    is_technique_id(&id).then_some(id)
}

/// The embedded ATT&CK tables, parsed on first use; `None` only if they failed to parse (see
/// [`crate::Knowledge::builtin`] for the error).
pub fn builtin() -> Option<&'static Attack> {
    crate::builtin_attack().ok()
}

/// [`Attack::tactic`] on the embedded tables.
pub fn tactic(text: &str) -> Option<&'static Tactic> {
    builtin()?.tactic(text)
}

/// [`Attack::resolve_tactic`] on the embedded tables.
pub fn resolve_tactic(text: &str) -> Lookup<'static, Tactic> {
    builtin().map_or(Lookup::Unknown, |a| a.resolve_tactic(text))
}

/// [`Attack::technique`] on the embedded tables.
pub fn technique(text: &str) -> Option<&'static Technique> {
    builtin()?.technique(text)
}

/// [`Attack::resolve_technique`] on the embedded tables.
pub fn resolve_technique(text: &str) -> Lookup<'static, Technique> {
    builtin().map_or(Lookup::Unknown, |a| a.resolve_technique(text))
}

/// [`Attack::tactics`] on the embedded tables: all tactics in matrix order.
pub fn tactics() -> &'static [Tactic] {
    builtin().map_or(&[], |a| a.tactics())
}

/// [`Attack::techniques_of`] on the embedded tables.
pub fn techniques_of(tactic: &str) -> Vec<&'static Technique> {
    builtin().map_or_else(Vec::new, |a| a.techniques_of(tactic))
}

/// [`Attack::parse_tag`] on the embedded tables.
pub fn parse_tag(tag: &str) -> Option<AttackTag<'static>> {
    builtin()?.parse_tag(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attack() -> Attack {
        Attack::load().unwrap()
    }

    #[test]
    fn embedded_tables_parse() {
        let a = attack();
        assert_eq!(a.tactics().len(), 15);
        assert!(a.techniques().len() > 600);
        assert_eq!(a.release(), "v19");
        assert!(a.version().contains("2026-04-14"));
    }

    #[test]
    fn tactics_are_in_matrix_order_without_duplicates() {
        let a = attack();
        let ids: Vec<&str> = a.tactics().iter().map(|t| t.id).collect();
        assert_eq!(
            ids,
            [
                "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005", "TA0112", "TA0006", "TA0007",
                "TA0008", "TA0009", "TA0011", "TA0010", "TA0040"
            ]
        );
        let mut names: Vec<&str> = a.tactics().iter().map(|t| t.shortname).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 15);
        assert_eq!(a.tactic("stealth").unwrap().id, "TA0005");
        assert_eq!(a.tactic("defense-impairment").unwrap().id, "TA0112");
    }

    #[test]
    fn techniques_are_sorted_and_unique() {
        let a = attack();
        assert!(a.techniques().windows(2).all(|w| w[0].id < w[1].id));
        for t in a.techniques() {
            assert!(!t.tactics().is_empty(), "{} has no tactic", t.id);
            if let Some(parent) = t.parent_id() {
                let p = a.technique(parent).unwrap();
                assert_eq!(t.display, format!("{}: {}", p.name, t.name));
            } else {
                assert_eq!(t.display, t.name);
            }
        }
    }

    #[test]
    fn crosswalk_is_sorted_unique_and_points_at_current_entries() {
        let a = attack();
        let keys: Vec<(bool, &str)> =
            a.crosswalk().iter().map(|e| (e.kind == CrosswalkKind::Technique, e.old)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "crosswalk.tsv must be sorted by kind then old id");
        for e in a.crosswalk() {
            match e.kind {
                CrosswalkKind::Tactic => assert!(a.resolve_tactic(e.old).is_known()),
                CrosswalkKind::Technique => assert!(a.technique(e.old).is_none(), "{} is current", e.old),
            }
        }
    }

    #[test]
    fn seed_technique_and_tactic() {
        let a = attack();
        let t = a.technique("t1219.002").unwrap();
        assert_eq!(t.id, "T1219.002");
        assert_eq!(t.display, "Remote Access Tools: Remote Desktop Software");
        assert_eq!(t.tactics(), ["command-and-control"]);
        assert_eq!(t.tag(), "attack.t1219.002");
        assert_eq!(a.technique("attack.T1219.002"), Some(t));
        let c2 = a.tactic("attack.command-and-control").unwrap();
        assert_eq!(c2.display, "Command & Control");
        assert_eq!(c2.name, "Command and Control");
        for spelling in ["command_and_control", "Command and Control", "Command & Control", "TA0011", "ta0011"] {
            assert_eq!(a.tactic(spelling), Some(c2), "{spelling}");
        }
        assert!(a.techniques_of("command-and-control").iter().any(|t| t.id == "T1219.002"));
    }

    #[test]
    fn defense_evasion_splits() {
        let a = attack();
        for spelling in ["defense-evasion", "defense_evasion", "attack.defense_evasion", "Defense Evasion"] {
            match a.resolve_tactic(spelling) {
                Lookup::Crosswalk { entry, to } => {
                    assert_eq!(entry.old, "defense-evasion");
                    let names: Vec<&str> = to.iter().map(|t| t.shortname).collect();
                    assert_eq!(names, ["stealth", "defense-impairment"]);
                }
                other => panic!("{spelling}: {other:?}"),
            }
            assert_eq!(a.tactic(spelling), None);
        }
        let both = a.techniques_of("defense-evasion");
        assert!(both.iter().any(|t| t.tactics().contains(&"stealth")));
        assert!(both.iter().any(|t| t.tactics().contains(&"defense-impairment")));
    }

    #[test]
    fn revoked_technique_goes_through_the_crosswalk() {
        let a = attack();
        match a.resolve_technique("attack.t1562.001") {
            Lookup::Crosswalk { entry, to } => {
                assert_eq!(entry.old, "T1562.001");
                assert_eq!(to.iter().map(|t| t.id).collect::<Vec<_>>(), ["T1685"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(a.resolve_technique("T1070.001").current()[0].id, "T1685.005");
        assert!(matches!(a.resolve_technique("t1043"), Lookup::Retired(e) if e.new.is_empty()));
        assert_eq!(a.resolve_technique("T9999"), Lookup::Unknown);
        assert_eq!(a.resolve_technique("not-an-id"), Lookup::Unknown);
        assert!(matches!(a.resolve_technique("T1219"), Lookup::Found(t) if t.name == "Remote Access Tools"));
    }

    #[test]
    fn every_corpus_technique_resolves() {
        // Technique tags seen in the SigmaHQ snapshot that v19 no longer lists; each must be in the crosswalk.
        let a = attack();
        for id in ["T1043", "T1070.001", "T1562.001", "T1562.002"] {
            assert!(a.resolve_technique(id).is_known(), "{id}");
        }
    }

    #[test]
    fn tags_are_classified() {
        let a = attack();
        assert!(matches!(a.parse_tag("attack.t1059.001"), Some(AttackTag::Technique(Lookup::Found(_)))));
        assert!(matches!(a.parse_tag("attack.execution"), Some(AttackTag::Tactic(Lookup::Found(_)))));
        assert_eq!(a.parse_tag("attack.g0032"), Some(AttackTag::Group("G0032".into())));
        assert_eq!(a.parse_tag("attack.s0002"), Some(AttackTag::Software("S0002".into())));
        assert_eq!(a.parse_tag("attack.ds0005"), Some(AttackTag::DataSource("DS0005".into())));
        assert_eq!(a.parse_tag("attack.mitre.org"), Some(AttackTag::Tactic(Lookup::Unknown)));
        assert_eq!(a.parse_tag("car.2016-04-002"), None);
        assert_eq!(a.parse_tag("attack"), None);
    }
}
