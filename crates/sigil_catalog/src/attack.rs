//! ATT&CK coverage of a rule: its `attack.*` tags resolved to rows "tactic → techniques".
//!
//! Placement: a technique goes under the rule's own tactic tags that ATT&CK assigns to it; when the rule tags no
//! such tactic, under every tactic ATT&CK assigns to it (marked `inferred_tactic`). Old tags resolve through the
//! knowledge crate's crosswalk: `attack.defense_evasion` stands for Stealth and Defense Impairment, and of the two
//! only those that receive a technique are kept (both when neither does). Unknown ids are flagged, not dropped.

use std::collections::{BTreeSet, HashMap};

use sigil_knowledge::attack::{Attack, AttackTag, Lookup, Tactic, Technique};

use crate::page::{AttackOther, AttackRow, TechniqueRef};

/// Rows, tactic shortnames, technique ids and the rest.
pub(crate) struct AttackCoverage {
    pub(crate) rows: Vec<AttackRow>,
    pub(crate) tactics: Vec<String>,
    pub(crate) techniques: Vec<String>,
    pub(crate) other: AttackOther,
}

/// Tags resolved once per catalog: SigmaHQ's ~15,000 tags are a few hundred distinct ones.
#[derive(Default)]
pub(crate) struct TagCache {
    resolved: HashMap<String, Option<AttackTag<'static>>>,
}

impl TagCache {
    pub(crate) fn new<'t>(tags: impl IntoIterator<Item = &'t str>, attack: &'static Attack) -> Self {
        let mut resolved = HashMap::new();
        for t in tags {
            if !resolved.contains_key(t) {
                resolved.insert(t.to_string(), attack.parse_tag(t));
            }
        }
        TagCache { resolved }
    }

    fn get(&self, tag: &str, attack: &'static Attack) -> Option<AttackTag<'static>> {
        match self.resolved.get(tag) {
            Some(r) => r.clone(),
            None => attack.parse_tag(tag),
        }
    }
}

/// Resolves the `attack.*` tags of a rule (tags as written, any namespace; others are ignored).
pub(crate) fn resolve<'t>(
    tags: impl IntoIterator<Item = &'t str>,
    attack: &'static Attack,
    cache: &TagCache,
) -> AttackCoverage {
    let mut other = AttackOther::default();
    // Each tactic tag stands for one tactic, or several when the crosswalk splits it.
    let mut tactic_groups: Vec<Vec<&Tactic>> = Vec::new();
    let mut techniques: Vec<(&Technique, Option<String>)> = Vec::new();
    for tag in tags {
        let Some(parsed) = cache.get(tag, attack) else { continue };
        match parsed {
            AttackTag::Tactic(Lookup::Found(t)) => tactic_groups.push(vec![t]),
            AttackTag::Tactic(Lookup::Crosswalk { entry, to }) => {
                let names: Vec<&str> = to.iter().map(|t| t.display).collect();
                other.notes.push(format!("{tag} → {} ({})", names.join(", "), entry.note));
                tactic_groups.push(to);
            }
            AttackTag::Tactic(Lookup::Retired(_)) | AttackTag::Technique(Lookup::Retired(_)) => {
                other.retired.push(tag.to_string());
            }
            AttackTag::Technique(Lookup::Found(t)) => techniques.push((t, None)),
            AttackTag::Technique(Lookup::Crosswalk { entry, to }) => {
                let ids: Vec<&str> = to.iter().map(|t| t.id).collect();
                other.notes.push(format!("{tag} → {} ({})", ids.join(", "), entry.note));
                techniques.extend(to.into_iter().map(|t| (t, Some(entry.old.to_string()))));
            }
            AttackTag::Group(g) => push_unique(&mut other.groups, g),
            AttackTag::Software(s) => push_unique(&mut other.software, s),
            AttackTag::DataSource(d) => push_unique(&mut other.data_sources, d),
            _ => other.unknown.push(tag.to_string()),
        }
    }

    let tagged: BTreeSet<&str> = tactic_groups.iter().flatten().map(|t| t.shortname).collect();
    // (tactic shortname, technique, via, inferred)
    let mut placed: Vec<(&str, &Technique, Option<String>, bool)> = Vec::new();
    for (tech, via) in &techniques {
        let own: Vec<&str> = tech.tactics().iter().copied().filter(|s| tagged.contains(s)).collect();
        let inferred = own.is_empty();
        let under = if inferred { tech.tactics().to_vec() } else { own };
        for s in under {
            placed.push((s, tech, via.clone(), inferred));
        }
    }
    let mut shown: BTreeSet<&str> = placed.iter().map(|p| p.0).collect();
    for group in &tactic_groups {
        match group.as_slice() {
            [single] => {
                shown.insert(single.shortname);
            }
            several => {
                if !several.iter().any(|t| shown.contains(t.shortname)) {
                    shown.extend(several.iter().map(|t| t.shortname));
                }
            }
        }
    }

    let mut rows = Vec::new();
    for tactic in attack.tactics() {
        if !shown.contains(tactic.shortname) {
            continue;
        }
        let mut techs: Vec<TechniqueRef> = Vec::new();
        for (s, tech, via, inferred) in &placed {
            if *s == tactic.shortname && !techs.iter().any(|t| t.id == tech.id) {
                techs.push(TechniqueRef {
                    id: tech.id.to_string(),
                    name: tech.display.to_string(),
                    via: via.clone(),
                    inferred_tactic: *inferred,
                });
            }
        }
        techs.sort_by(|a, b| a.id.cmp(&b.id));
        rows.push(AttackRow {
            tactic: tactic.display.to_string(),
            tactic_id: tactic.id.to_string(),
            shortname: tactic.shortname.to_string(),
            techniques: techs,
        });
    }
    let tactics = rows.iter().map(|r| r.shortname.clone()).collect();
    let mut ids: Vec<String> = techniques.iter().map(|(t, _)| t.id.to_string()).collect();
    ids.sort();
    ids.dedup();
    AttackCoverage { rows, tactics, techniques: ids, other }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attack() -> &'static Attack {
        sigil_knowledge::Knowledge::builtin().unwrap().attack()
    }

    fn rows(tags: &[&str]) -> Vec<(String, Vec<String>)> {
        resolve(tags.iter().copied(), attack(), &TagCache::default())
            .rows
            .into_iter()
            .map(|r| (r.tactic, r.techniques.into_iter().map(|t| format!("{} {}", t.id, t.name)).collect()))
            .collect()
    }

    #[test]
    fn seed_row() {
        assert_eq!(
            rows(&["attack.command-and-control", "attack.t1219.002", "detection.threat-hunting"]),
            [(
                "Command & Control".to_string(),
                vec!["T1219.002 Remote Access Tools: Remote Desktop Software".to_string()]
            )]
        );
    }

    #[test]
    fn technique_without_tactic_goes_under_attacks_tactics() {
        let r = resolve(["attack.t1219.002"], attack(), &TagCache::default());
        assert_eq!(r.tactics, ["command-and-control"]);
        assert!(r.rows[0].techniques[0].inferred_tactic);
        // A tagged tactic the technique does not serve is still a row, with no techniques.
        let r = rows(&["attack.execution", "attack.t1219.002"]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], ("Execution".to_string(), vec![]));
        assert_eq!(r[1].0, "Command & Control");
    }

    #[test]
    fn techniques_only_under_their_own_tactics_when_tagged() {
        // T1059.001 serves execution only; tagged with execution and persistence.
        let r = rows(&["attack.execution", "attack.persistence", "attack.t1059.001"]);
        assert_eq!(r[0].0, "Execution");
        assert_eq!(r[0].1.len(), 1);
        assert_eq!(r[1], ("Persistence".to_string(), vec![]));
    }

    #[test]
    fn old_tags_resolve_through_the_crosswalk() {
        let r = resolve(
            ["attack.defense_evasion", "attack.t1562.001"],
            attack(),
            &TagCache::new(["attack.t1562.001"], attack()),
        );
        // T1562.001 became T1685 (Defense Impairment); Stealth gets nothing and is dropped.
        assert_eq!(r.tactics, ["defense-impairment"]);
        assert_eq!(r.rows[0].techniques[0].id, "T1685");
        assert_eq!(r.rows[0].techniques[0].via.as_deref(), Some("T1562.001"));
        assert_eq!(r.other.notes.len(), 2);
        // Alone, defense-evasion shows both tactics it became.
        let r = resolve(["attack.defense-evasion"], attack(), &TagCache::default());
        assert_eq!(r.tactics, ["stealth", "defense-impairment"]);
        let r = rows(&["attack.command_and_control"]);
        assert_eq!(r[0].0, "Command & Control");
    }

    #[test]
    fn other_tags_are_kept_or_flagged() {
        let r = resolve(
            ["attack.g0032", "attack.s0002", "attack.t9999", "attack.bogus", "attack.t1043", "cve.2021-1"],
            attack(),
            &TagCache::default(),
        );
        assert_eq!(r.other.groups, ["G0032"]);
        assert_eq!(r.other.software, ["S0002"]);
        assert_eq!(r.other.unknown, ["attack.t9999", "attack.bogus"]);
        assert_eq!(r.other.retired, ["attack.t1043"]);
        assert!(r.rows.is_empty());
    }
}
