//! Read-only knowledge tables for sigil, loaded from the repository's `data/` directory.
//!
//! This crate owns three tables and the lookups over them:
//!
//! - [`attack`]: MITRE ATT&CK Enterprise tactics (matrix order) and techniques, plus a crosswalk from retired tag
//!   forms (`defense-evasion`, revoked technique ids) to current ones.
//! - [`events`]: Windows event schemas per provider: id, title, channel, EventData fields and types.
//! - [`logsource`]: Sigma logsource → routes (channels, providers, event ids, extra conditions) with the Sigma
//!   field → event field mapping of each route. The engine routes events with it and the catalog computes a
//!   rule's "event coverage" from it, so both agree by construction.
//!
//! It does not parse rules, read event logs or render anything. The tables are embedded with `include_str!` and
//! parsed once, on first use; [`Knowledge::builtin`] reports a parse error (unit tests guarantee the embedded
//! tables parse). Routes can be replaced or extended at run time with a mapping file in the format of
//! `data/logsources/windows.toml` ([`Knowledge::with_mapping_file`], the CLI's `--mapping FILE`).
//!
//! ```
//! use sigil_knowledge::{Knowledge, LogSource};
//!
//! let k = Knowledge::builtin()?;
//! let c2 = k.attack().tactic("attack.command_and_control").unwrap();
//! assert_eq!(c2.display, "Command & Control");
//!
//! let ls = LogSource::new(Some("windows"), Some("process_creation"), None);
//! let covered = k.events_for(&ls, &["ParentImage", "Image", "ParentCommandLine"]);
//! assert_eq!(covered.iter().map(|e| (e.provider_display, e.id)).collect::<Vec<_>>(), [("Sysmon", 1)]);
//! # Ok::<(), sigil_knowledge::Error>(())
//! ```

#![warn(missing_docs, unreachable_pub, clippy::indexing_slicing)]

pub mod attack;
mod error;
mod events;
mod logsource;
mod tsv;

use std::path::Path;
use std::sync::{Arc, LazyLock};

use attack::Attack;
pub use error::{Error, Result};
pub use events::{EventCatalog, EventSchema, Field, Provider};
pub use logsource::{Condition, LogSource, LogSourceKey, Route};

static ATTACK: LazyLock<Result<Attack>> = LazyLock::new(Attack::load);
static EVENTS: LazyLock<Result<EventCatalog>> = LazyLock::new(EventCatalog::load);
static BUILTIN: LazyLock<Result<Knowledge>> = LazyLock::new(Knowledge::load_builtin);

pub(crate) fn builtin_attack() -> Result<&'static Attack> {
    ATTACK.as_ref().map_err(Clone::clone)
}

pub(crate) fn builtin_events() -> Result<&'static EventCatalog> {
    EVENTS.as_ref().map_err(Clone::clone)
}

/// All knowledge tables: the embedded ones, possibly with routes from user mapping files.
#[derive(Debug, Clone)]
pub struct Knowledge {
    attack: &'static Attack,
    events: &'static EventCatalog,
    logsources: logsource::Logsources,
}

impl Knowledge {
    /// The embedded tables, parsed on first call.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if an embedded table is malformed (the crate's unit tests rule this out).
    pub fn builtin() -> Result<&'static Knowledge> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    fn load_builtin() -> Result<Knowledge> {
        let attack = builtin_attack()?;
        let events = builtin_events()?;
        let mut logsources = logsource::Logsources::default();
        let files: Vec<(&str, &str)> = std::iter::once(logsource::WINDOWS).chain(logsource::OTHERS).collect();
        logsources.apply_all(&files, events)?;
        Ok(Knowledge { attack, events, logsources })
    }

    /// These tables plus the routes of a mapping file (same format as `data/logsources/windows.toml`). A
    /// `[[route]]` adds to its logsource's routes, or replaces them when it says `replace = true`; files may
    /// define new `[source.*]` entries, `common_fields` and logsources of other products.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, [`Error::Data`] (with line and column) if it is malformed.
    pub fn with_mapping_file(&self, path: impl AsRef<Path>) -> Result<Knowledge> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Io { path: path.to_owned(), source: Arc::new(source) })?;
        self.with_mapping_str(&path.display().to_string(), &text)
    }

    /// [`Knowledge::with_mapping_file`] for text already in memory; `origin` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the text is malformed.
    pub fn with_mapping_str(&self, origin: &str, text: &str) -> Result<Knowledge> {
        let mut logsources = self.logsources.clone();
        logsources.apply(origin, text, self.events)?;
        Ok(Knowledge { attack: self.attack, events: self.events, logsources })
    }

    /// The ATT&CK tables.
    pub fn attack(&self) -> &'static Attack {
        self.attack
    }

    /// The event schemas.
    pub fn event_catalog(&self) -> &'static EventCatalog {
        self.events
    }

    /// One event schema by provider (full or display name) and id.
    pub fn event(&self, provider: &str, id: u32) -> Option<&'static EventSchema> {
        self.events.event(provider, id)
    }

    /// All event schemas.
    pub fn events(&self) -> &'static [EventSchema] {
        self.events.events()
    }

    /// All providers with schemas.
    pub fn providers(&self) -> &'static [Provider] {
        self.events.providers()
    }

    /// System fields present on every Windows event (`EventID`, `Channel`, `Provider_Name`, `Computer`, ...).
    pub fn common_fields(&self) -> &[String] {
        self.logsources.common()
    }

    /// The routes of a logsource; `None` when the logsource is not mapped (the engine reports it). Parts compare
    /// ASCII case-insensitively and empty parts count as absent. `product: windows` alone has one route that
    /// accepts any event.
    pub fn routes(&self, product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Option<&[Route]> {
        self.logsources.routes(product, category, service)
    }

    /// Why a logsource without routes cannot run (no reader produces its events), when the tables say
    /// (`[[unrouted]]` entries of the mapping files).
    pub fn unrouted_reason(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&str> {
        self.logsources.unrouted_reason(product, category, service)
    }

    /// [`Knowledge::routes`] for a [`LogSource`].
    pub fn routes_for(&self, logsource: &LogSource<'_>) -> Option<&[Route]> {
        self.routes(logsource.product, logsource.category, logsource.service)
    }

    /// Every mapped logsource with its routes, sorted by key.
    pub fn logsources(&self) -> impl Iterator<Item = (&LogSourceKey, &[Route])> {
        self.logsources.entries()
    }

    /// The described events a logsource can select that carry every field in `fields_used` after the route's
    /// mapping (common System fields count as present everywhere), in route order without duplicates. Routes
    /// with any event id contribute every event of their channels or providers that has the fields. Empty for
    /// unmapped logsources and for routes whose events have no schema.
    pub fn events_for(&self, logsource: &LogSource<'_>, fields_used: &[&str]) -> Vec<&'static EventSchema> {
        self.logsources.events_for(logsource, fields_used, &[])
    }

    /// [`Knowledge::events_for`] restricted to the event ids a rule names (`EventID: 4624`); an empty `event_ids`
    /// means no restriction.
    pub fn events_for_ids(
        &self,
        logsource: &LogSource<'_>,
        fields_used: &[&str],
        event_ids: &[u32],
    ) -> Vec<&'static EventSchema> {
        self.logsources.events_for(logsource, fields_used, event_ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_load() {
        let k = Knowledge::builtin().unwrap();
        assert_eq!(k.attack().tactics().len(), 15);
        assert!(k.events().len() > 1000);
        assert!(k.logsources().count() > 60);
        assert!(std::ptr::eq(k.attack(), attack::builtin().unwrap()));
    }

    #[test]
    fn free_functions_use_the_builtin_tables() {
        assert_eq!(attack::technique("T1219.002").unwrap().display, "Remote Access Tools: Remote Desktop Software");
        assert_eq!(attack::tactic("command-and-control").unwrap().display, "Command & Control");
        assert_eq!(attack::tactics().len(), 15);
    }
}
