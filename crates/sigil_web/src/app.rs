//! The application state shared by every request and by the static export: the catalog and what the web
//! layer derives from it once at start-up (the ATT&CK heat map, the asset version).
//!
//! The heat map lives here rather than in `sigil_catalog` because it is a presentation of the catalog's own
//! data (each page's ATT&CK rows), counted per (tactic, technique) cell the way the matrix shows it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use sigil_catalog::{Catalog, CoFiredEvents, FamilyAttack, RulePage};
use sigil_knowledge::attack::Attack;

/// Shared, immutable state of the web catalog.
#[derive(Debug)]
pub struct App {
    catalog: Catalog,
    matrix: Matrix,
    /// ATT&CK coverage compared across the catalog's rule families (computed by the catalog).
    by_family: FamilyAttack,
    /// Full provider name → the name used in URLs (the display name when it leads back to the provider).
    provider_slugs: HashMap<String, String>,
    asset_version: String,
    site_name: String,
    /// Server pages that take no input, rendered once.
    cache: [OnceLock<Bytes>; CACHED_PAGES],
    /// Per event (full provider name, id): the other events its rules fire on, computed on first request.
    also_fired: Mutex<HashMap<(String, u32), Arc<CoFiredEvents>>>,
    /// With `sigil serve --logs`: events seen in the user's logs, per (lower-case provider name, event id).
    seen: Option<HashMap<(String, u32), u64>>,
}

/// Pages the server renders once (they take no input and the catalog never changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cached {
    Home,
    Attack,
    Events,
    Indicators,
    Stats,
}

const CACHED_PAGES: usize = 5;

impl App {
    /// Wraps a catalog and precomputes the heat map.
    pub fn new(catalog: Catalog) -> App {
        let matrix = Matrix::build(&catalog);
        let by_family = catalog.attack_by_family();
        let events = catalog.knowledge().event_catalog();
        let provider_slugs = events
            .providers()
            .iter()
            .map(|p| {
                let display_is_unique = events.provider(p.display).is_some_and(|found| found.name == p.name);
                (p.name.to_string(), if display_is_unique { p.display } else { p.name }.to_string())
            })
            .collect();
        App {
            catalog,
            matrix,
            by_family,
            provider_slugs,
            asset_version: crate::assets::version(),
            site_name: "sigil".to_string(),
            cache: Default::default(),
            also_fired: Mutex::new(HashMap::new()),
            seen: None,
        }
    }

    /// Records which events the user's logs hold, `(provider name, event id, count)`, so that event pages can
    /// say "seen in your logs" (`sigil serve --logs`).
    #[must_use]
    pub fn with_seen_events(mut self, seen: impl IntoIterator<Item = (String, u32, u64)>) -> App {
        let mut map: HashMap<(String, u32), u64> = HashMap::new();
        for (provider, id, n) in seen {
            *map.entry((provider.to_ascii_lowercase(), id)).or_default() += n;
        }
        self.seen = Some(map);
        self
    }

    /// How many events of a provider and id the user's logs hold: `None` when no logs were given.
    pub fn seen_in_logs(&self, provider_name: &str, id: u32) -> Option<u64> {
        let seen = self.seen.as_ref()?;
        Some(seen.get(&(provider_name.to_ascii_lowercase(), id)).copied().unwrap_or(0))
    }

    /// Sets the name shown in the top bar and page titles (default `sigil`).
    #[must_use]
    pub fn with_site_name(mut self, name: impl Into<String>) -> App {
        let name = name.into();
        if !name.trim().is_empty() {
            self.site_name = name;
        }
        self
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The heat map data.
    pub fn matrix(&self) -> &Matrix {
        &self.matrix
    }

    /// ATT&CK coverage by rule family: per technique the rules of each family, and where families disagree.
    pub fn attack_by_family(&self) -> &FamilyAttack {
        &self.by_family
    }

    /// A short hash of the bundled assets, appended to their URLs.
    pub fn asset_version(&self) -> &str {
        &self.asset_version
    }

    /// The site name.
    pub fn site_name(&self) -> &str {
        &self.site_name
    }

    /// The URL name of a provider (full name given): its display name (`Sysmon`) unless another provider
    /// answers to it (`PowerShell`), then its full name.
    pub fn provider_slug<'a>(&'a self, full_name: &'a str) -> &'a str {
        self.provider_slugs.get(full_name).map_or(full_name, String::as_str)
    }

    /// A cached server page, rendered on first request. Render failures are not cached.
    pub(crate) fn cached<E>(&self, page: Cached, render: impl FnOnce() -> Result<String, E>) -> Result<Bytes, E> {
        let slot = match self.cache.get(page as usize) {
            Some(slot) => slot,
            None => return render().map(Bytes::from),
        };
        if let Some(b) = slot.get() {
            return Ok(b.clone());
        }
        let bytes = Bytes::from(render()?);
        Ok(slot.get_or_init(|| bytes).clone())
    }

    /// The events co-fired with an event ([`Catalog::co_fired`]), computed once per event (a rule whose log
    /// source covers every event makes this a long walk).
    pub(crate) fn co_fired(&self, provider_name: &str, id: u32) -> Arc<CoFiredEvents> {
        let key = (provider_name.to_string(), id);
        if let Some(hit) = self.also_fired.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let value = Arc::new(self.catalog.co_fired(provider_name, id));
        if let Ok(mut m) = self.also_fired.lock() {
            m.insert(key, Arc::clone(&value));
        }
        value
    }

    /// Pages by index list.
    pub(crate) fn pages_at<'a>(&'a self, indices: &'a [usize]) -> impl Iterator<Item = &'a RulePage> + 'a {
        indices.iter().filter_map(|&i| self.catalog.page(i))
    }
}

/// One technique cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// `T1059`.
    pub id: String,
    /// `Command and Scripting Interpreter`.
    pub name: String,
    /// Rules placing the technique (or one of its sub-techniques) under this tactic.
    pub count: usize,
    /// Sub-techniques under this tactic: (id, name, rules), all of them, covered or not.
    pub subs: Vec<(String, String, usize)>,
}

/// One tactic column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// `TA0011`.
    pub id: String,
    /// `command-and-control`.
    pub shortname: String,
    /// `Command & Control`.
    pub name: String,
    /// Rules with a row for this tactic.
    pub rules: usize,
    /// Parent techniques of the tactic, sorted by name.
    pub cells: Vec<Cell>,
}

/// The ATT&CK heat map: per tactic and technique, the pages that cover it.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    /// ATT&CK version text (`Enterprise ATT&CK (2026-04-14)`).
    pub version: String,
    /// Release (`v19`).
    pub release: String,
    /// Columns in matrix order.
    pub columns: Vec<Column>,
    /// (tactic shortname, technique id) → page indices, ascending. Parents include their sub-techniques' pages.
    cells: HashMap<(String, String), Vec<usize>>,
    /// Techniques that are current, parent and sub, for totals.
    pub technique_total: usize,
}

impl Matrix {
    fn build(catalog: &Catalog) -> Matrix {
        Matrix::build_for(catalog, None)
    }

    /// The heat map of one rule family's pages (`sigma`, `splunk`, ...), or of every page.
    pub fn build_for(catalog: &Catalog, family: Option<&str>) -> Matrix {
        let attack: &Attack = catalog.knowledge().attack();
        let mut cells: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut per_tactic: BTreeMap<String, usize> = BTreeMap::new();
        for (i, page) in catalog.pages().iter().enumerate() {
            if family.is_some_and(|f| page.family != f) {
                continue;
            }
            for row in &page.attack {
                *per_tactic.entry(row.shortname.clone()).or_default() += 1;
                for t in &row.techniques {
                    let mut ids = vec![t.id.clone()];
                    if let Some((parent, _)) = t.id.split_once('.') {
                        ids.push(parent.to_string());
                    }
                    for id in ids {
                        let list = cells.entry((row.shortname.clone(), id)).or_default();
                        if list.last() != Some(&i) {
                            list.push(i);
                        }
                    }
                }
            }
        }
        let count = |tactic: &str, id: &str| cells.get(&(tactic.to_string(), id.to_string())).map_or(0, Vec::len);
        let columns = attack
            .tactics()
            .iter()
            .map(|tactic| {
                let techniques = attack.techniques_of(tactic.shortname);
                let mut parents: Vec<Cell> = techniques
                    .iter()
                    .filter(|t| !t.is_subtechnique())
                    .map(|t| Cell {
                        id: t.id.to_string(),
                        name: t.name.to_string(),
                        count: count(tactic.shortname, t.id),
                        subs: techniques
                            .iter()
                            .filter(|s| s.parent_id() == Some(t.id))
                            .map(|s| (s.id.to_string(), s.name.to_string(), count(tactic.shortname, s.id)))
                            .collect(),
                    })
                    .collect();
                parents.sort_by(|a, b| a.name.cmp(&b.name));
                Column {
                    id: tactic.id.to_string(),
                    shortname: tactic.shortname.to_string(),
                    name: tactic.display.to_string(),
                    rules: per_tactic.get(tactic.shortname).copied().unwrap_or(0),
                    cells: parents,
                }
            })
            .collect();
        Matrix {
            version: attack.version().to_string(),
            release: attack.release().to_string(),
            columns,
            cells,
            technique_total: attack.techniques().iter().filter(|t| !t.is_subtechnique()).count(),
        }
    }

    /// Pages covering a technique under a tactic (parents include their sub-techniques).
    pub fn pages(&self, tactic: &str, technique: &str) -> &[usize] {
        self.cells.get(&(tactic.to_string(), technique.to_string())).map_or(&[], Vec::as_slice)
    }

    /// Every covered (tactic, technique) pair with its page count, sub-techniques included.
    pub fn scores(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.cells.iter().map(|((tactic, id), list)| (tactic.as_str(), id.as_str(), list.len()))
    }

    /// Parent techniques covered by at least one rule (in any tactic).
    pub fn covered_techniques(&self) -> usize {
        let mut ids: Vec<&str> = self
            .cells
            .iter()
            .filter(|((_, id), l)| !id.contains('.') && !l.is_empty())
            .map(|((_, id), _)| id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// The heat class of a count (`h0`..`h6`), and the legend's bins.
pub fn heat_class(count: usize) -> &'static str {
    match count {
        0 => "h0",
        1 => "h1",
        2..=3 => "h2",
        4..=9 => "h3",
        10..=24 => "h4",
        25..=49 => "h5",
        _ => "h6",
    }
}

/// Legend entries: (class, label).
pub(crate) const LEGEND: [(&str, &str); 7] =
    [("h0", "0"), ("h1", "1"), ("h2", "2–3"), ("h3", "4–9"), ("h4", "10–24"), ("h5", "25–49"), ("h6", "50+")];

/// Colours of the heat bins for the Navigator layer (same order as [`LEGEND`]).
pub(crate) const HEAT_COLORS: [&str; 7] = ["#eef1f5", "#dbe7fb", "#b3cdf6", "#7eaaf0", "#4a82e0", "#2457c5", "#163a8a"];
