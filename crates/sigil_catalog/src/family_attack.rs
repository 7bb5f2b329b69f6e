//! ATT&CK coverage compared across rule families: per technique, how many rules of each family cover it, and
//! the techniques some families cover and others do not ("Sigma only", "Splunk and Elastic, not Sigma").
//!
//! Counting follows the heat map: a rule tagged with a sub-technique counts for the sub-technique and for its
//! parent, once per rule whatever the tactic. Only families that tag ATT&CK at all take part: a family whose
//! rules carry no technique cannot disagree about one. With a single such family nothing disagrees.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::Catalog;

/// How the families of a catalog cover one technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueFamilies {
    /// `T1059` or `T1059.001`.
    pub id: String,
    /// ATT&CK's display name (`Command and Scripting Interpreter: PowerShell`).
    pub name: String,
    /// Rules of each family, in [`FamilyAttack::families`] order (zeros included).
    pub counts: Vec<usize>,
    /// Rules of any family.
    pub rules: usize,
    /// Families with at least one rule (`sigma`, `splunk`), in [`FamilyAttack::families`] order.
    pub covered_by: Vec<String>,
    /// Families with none.
    pub missing_from: Vec<String>,
    /// In words: `all families`, `Sigma only`, `Splunk and Elastic, not Sigma`.
    pub label: String,
}

impl TechniqueFamilies {
    /// Whether some families cover the technique and others do not.
    pub fn disagrees(&self) -> bool {
        !self.missing_from.is_empty() && !self.covered_by.is_empty()
    }

    /// Rules of `family` (0 for a family not compared).
    pub fn count_of(&self, families: &[String], family: &str) -> usize {
        families.iter().position(|f| f == family).and_then(|i| self.counts.get(i)).copied().unwrap_or(0)
    }
}

/// ATT&CK coverage by family ([`Catalog::attack_by_family`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FamilyAttack {
    /// The families compared (those with at least one ATT&CK technique), in the catalog's family order.
    pub families: Vec<String>,
    /// Every technique some rule covers, parents and sub-techniques, by id.
    pub techniques: Vec<TechniqueFamilies>,
}

/// How to order [`FamilyAttack::disagreements`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DisagreementOrder {
    /// By technique id.
    #[default]
    Id,
    /// Most rules first.
    Rules,
    /// Fewest covering families first (one family alone on top), then most rules.
    Families,
    /// Most rules of one family first.
    Family(String),
}

impl DisagreementOrder {
    /// From a name: `id`, `rules`, `families` or a family name (`splunk`); `None` for anything else.
    pub fn from_name(name: &str, families: &[String]) -> Option<DisagreementOrder> {
        match name {
            "id" => Some(DisagreementOrder::Id),
            "rules" => Some(DisagreementOrder::Rules),
            "families" => Some(DisagreementOrder::Families),
            f => families.iter().any(|x| x == f).then(|| DisagreementOrder::Family(f.to_string())),
        }
    }

    /// The name [`DisagreementOrder::from_name`] reads.
    pub fn name(&self) -> &str {
        match self {
            DisagreementOrder::Id => "id",
            DisagreementOrder::Rules => "rules",
            DisagreementOrder::Families => "families",
            DisagreementOrder::Family(f) => f,
        }
    }
}

impl FamilyAttack {
    /// Whether several families are compared.
    pub fn compares(&self) -> bool {
        self.families.len() > 1
    }

    /// The entry of a technique id (as ATT&CK writes it, `T1059.001`).
    pub fn technique(&self, id: &str) -> Option<&TechniqueFamilies> {
        self.techniques.binary_search_by(|t| t.id.as_str().cmp(id)).ok().and_then(|i| self.techniques.get(i))
    }

    /// Parent techniques some compared families cover and others do not, in `order`; with `only`, those
    /// covered by that family (`covered:splunk`) or missing from it (`missing:sigma`).
    pub fn disagreements(&self, order: &DisagreementOrder, only: Option<&str>) -> Vec<&TechniqueFamilies> {
        let mut out: Vec<&TechniqueFamilies> = self
            .techniques
            .iter()
            .filter(|t| !t.id.contains('.') && t.disagrees())
            .filter(|t| match only.and_then(|o| o.split_once(':')) {
                Some(("covered", f)) => t.covered_by.iter().any(|x| x == f),
                Some(("missing", f)) => t.missing_from.iter().any(|x| x == f),
                _ => true,
            })
            .collect();
        match order {
            DisagreementOrder::Id => {}
            DisagreementOrder::Rules => out.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.id.cmp(&b.id))),
            DisagreementOrder::Families => out.sort_by(|a, b| {
                a.covered_by.len().cmp(&b.covered_by.len()).then(b.rules.cmp(&a.rules)).then_with(|| a.id.cmp(&b.id))
            }),
            DisagreementOrder::Family(f) => out.sort_by(|a, b| {
                b.count_of(&self.families, f)
                    .cmp(&a.count_of(&self.families, f))
                    .then(b.rules.cmp(&a.rules))
                    .then_with(|| a.id.cmp(&b.id))
            }),
        }
        out
    }
}

/// A family's name as pages show it (`Sigma`, `Splunk`); unknown names as given.
pub fn family_label(family: &str) -> String {
    sigil_families::Family::from_name(family).map_or_else(|| family.to_string(), |f| f.label().to_string())
}

/// `Sigma only`, `Splunk and Elastic, not Sigma`, `all families`.
fn label(covered: &[String], missing: &[String]) -> String {
    fn join(names: &[String], last: &str) -> String {
        let labels: Vec<String> = names.iter().map(|n| family_label(n)).collect();
        match labels.split_last() {
            Some((l, rest)) if !rest.is_empty() => format!("{} {last} {l}", rest.join(", ")),
            Some((l, _)) => l.clone(),
            None => String::new(),
        }
    }
    match (covered.len(), missing.len()) {
        (0, _) => "no family".to_string(),
        (_, 0) => "all families".to_string(),
        (1, _) => format!("{} only", join(covered, "and")),
        _ => format!("{}, not {}", join(covered, "and"), join(missing, "or")),
    }
}

impl Catalog {
    /// ATT&CK coverage compared across the catalog's rule families.
    pub fn attack_by_family(&self) -> FamilyAttack {
        let attack = self.knowledge().attack();
        let mut families: Vec<String> = Vec::new();
        // Technique id → rules per family (family index in `families`).
        let mut per: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for page in self.pages() {
            if page.techniques.is_empty() {
                continue;
            }
            let f = match families.iter().position(|f| *f == page.family) {
                Some(i) => i,
                None => {
                    families.push(page.family.clone());
                    families.len() - 1
                }
            };
            let mut ids: Vec<&str> = Vec::new();
            for t in &page.techniques {
                ids.push(t);
                if let Some((parent, _)) = t.split_once('.') {
                    ids.push(parent);
                }
            }
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                let counts = per.entry(id).or_default();
                if counts.len() <= f {
                    counts.resize(f + 1, 0);
                }
                if let Some(c) = counts.get_mut(f) {
                    *c += 1;
                }
            }
        }
        let techniques = per
            .into_iter()
            .map(|(id, mut counts)| {
                counts.resize(families.len(), 0);
                let (covered_by, missing_from): (Vec<String>, Vec<String>) = (
                    families.iter().zip(&counts).filter(|(_, n)| **n > 0).map(|(f, _)| f.clone()).collect(),
                    families.iter().zip(&counts).filter(|(_, n)| **n == 0).map(|(f, _)| f.clone()).collect(),
                );
                TechniqueFamilies {
                    id: id.to_string(),
                    name: attack.technique(id).map_or_else(|| id.to_string(), |t| t.display.to_string()),
                    rules: counts.iter().sum(),
                    label: label(&covered_by, &missing_from),
                    counts,
                    covered_by,
                    missing_from,
                }
            })
            .collect();
        FamilyAttack { families, techniques }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn labels_say_who_covers_and_who_does_not() {
        assert_eq!(label(&names(&["sigma"]), &names(&["splunk", "elastic"])), "Sigma only");
        assert_eq!(label(&names(&["splunk", "elastic"]), &names(&["sigma"])), "Splunk and Elastic, not Sigma");
        assert_eq!(
            label(&names(&["sigma", "splunk", "elastic"]), &names(&["sentinel", "panther"])),
            "Sigma, Splunk and Elastic, not Sentinel or Panther"
        );
        assert_eq!(label(&names(&["sigma", "splunk"]), &[]), "all families");
    }
}
