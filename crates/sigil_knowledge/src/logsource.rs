//! Sigma logsource routing: which Windows events a logsource selects, and how Sigma field names map onto each
//! event's fields.
//!
//! The routes come from `data/logsources/windows.toml` and may be replaced or extended at run time by a mapping
//! file in the same format ([`crate::Knowledge::with_mapping_file`]). One table serves both the engine (which
//! events to evaluate a rule on, under which field names) and the catalog (the "event coverage" of a rule).
//!
//! ```
//! use sigil_knowledge::{Knowledge, LogSource};
//! let k = Knowledge::builtin().unwrap();
//! let ls = LogSource::new(Some("windows"), Some("process_creation"), None);
//! let events = k.events_for(&ls, &["ParentImage", "Image"]);
//! let shown: Vec<(&str, u32)> = events.iter().map(|e| (e.provider_display, e.id)).collect();
//! assert_eq!(shown, [("Sysmon", 1), ("Security-Auditing", 4688)]);
//! let routes = k.routes(Some("windows"), Some("process_creation"), None).unwrap();
//! assert_eq!(routes[1].map_field("Image"), Some("NewProcessName"));
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::events::{EventCatalog, EventSchema};

pub(crate) const WINDOWS: (&str, &str) =
    ("data/logsources/windows.toml", include_str!("../../../data/logsources/windows.toml"));

/// The routing tables of other product families, applied after `windows.toml`.
pub(crate) const OTHERS: [(&str, &str); 10] = [
    ("data/logsources/aws.toml", include_str!("../../../data/logsources/aws.toml")),
    ("data/logsources/azure.toml", include_str!("../../../data/logsources/azure.toml")),
    ("data/logsources/m365.toml", include_str!("../../../data/logsources/m365.toml")),
    ("data/logsources/gcp.toml", include_str!("../../../data/logsources/gcp.toml")),
    ("data/logsources/okta.toml", include_str!("../../../data/logsources/okta.toml")),
    ("data/logsources/github.toml", include_str!("../../../data/logsources/github.toml")),
    ("data/logsources/kubernetes.toml", include_str!("../../../data/logsources/kubernetes.toml")),
    ("data/logsources/linux.toml", include_str!("../../../data/logsources/linux.toml")),
    ("data/logsources/macos.toml", include_str!("../../../data/logsources/macos.toml")),
    ("data/logsources/network.toml", include_str!("../../../data/logsources/network.toml")),
];

/// A logsource as written in a rule. Values are compared ASCII case-insensitively; empty strings count as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSource<'a> {
    /// `product:`.
    pub product: Option<&'a str>,
    /// `category:`.
    pub category: Option<&'a str>,
    /// `service:`.
    pub service: Option<&'a str>,
}

impl<'a> LogSource<'a> {
    /// A logsource from its three parts.
    pub fn new(product: Option<&'a str>, category: Option<&'a str>, service: Option<&'a str>) -> Self {
        LogSource { product, category, service }
    }
}

/// The identity of a mapped logsource; parts are lower case and never empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct LogSourceKey {
    /// `product:`.
    pub product: Option<String>,
    /// `category:`.
    pub category: Option<String>,
    /// `service:`.
    pub service: Option<String>,
}

impl LogSourceKey {
    fn new(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Self {
        let part = |s: Option<&str>| norm(s).map(Cow::into_owned);
        LogSourceKey { product: part(product), category: part(category), service: part(service) }
    }

    fn as_refs(&self) -> (Option<&str>, Option<&str>, Option<&str>) {
        (self.product.as_deref(), self.category.as_deref(), self.service.as_deref())
    }
}

fn norm(s: Option<&str>) -> Option<Cow<'_, str>> {
    let s = s?.trim();
    if s.is_empty() {
        None
    } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(s.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(s))
    }
}

/// An extra condition a route puts on events: `field` must equal one of `values` (ASCII case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    field: String,
    values: Vec<String>,
}

impl Condition {
    /// The event field tested.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The accepted values.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `value` is accepted.
    pub fn accepts(&self, value: &str) -> bool {
        self.values.iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

/// One way a logsource selects events: channels and providers, event ids, extra conditions, and the Sigma field
/// → event field mapping that applies to those events.
///
/// Matching ([`Route::matches_header`]): the event id must be listed (an empty list accepts any); then, if the
/// route names channels and the event has a channel, the channel decides; otherwise the provider does. A route
/// with neither channels nor providers accepts every event.
#[derive(Debug, Clone)]
pub struct Route {
    kinds: Vec<String>,
    channels: Vec<String>,
    providers: Vec<String>,
    event_ids: Vec<u32>,
    fields: BTreeMap<String, String>,
    conditions: Vec<Condition>,
    caveats: BTreeMap<String, String>,
    note: Option<String>,
    schemas: Vec<&'static EventSchema>,
    common: Arc<[String]>,
}

impl Route {
    /// Record kinds (any of) of non-Windows logs this route selects (`aws.cloudtrail`, `linux.auditd`, `zeek.dns`,
    /// …, as `sigil_events::RecordKind` names them). Empty for Windows routes, which select only events without a
    /// record kind (Windows events and JSON of no recognised shape).
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// Whether an event with this record kind and header travels the route (conditions aside): the kind must be
    /// one of the route's kinds (or absent for a Windows route), then [`Route::matches_header`] decides.
    pub fn matches_event(
        &self,
        kind: Option<&str>,
        channel: Option<&str>,
        provider: Option<&str>,
        event_id: Option<u32>,
    ) -> bool {
        let kind_ok = match kind {
            None => self.kinds.is_empty(),
            Some(kind) => self.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)),
        };
        kind_ok && self.matches_header(channel, provider, event_id)
    }

    /// Channels (any of); empty = no channel restriction.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Providers whose events travel this route; used for matching when an event has no channel or the route
    /// names no channel.
    pub fn providers(&self) -> &[String] {
        &self.providers
    }

    /// Event ids (any of); empty = any event id.
    pub fn event_ids(&self) -> &[u32] {
        &self.event_ids
    }

    /// Extra conditions every selected event must meet.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// A short note on the route, if any.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Whether the route accepts every Windows event (`product: windows` alone).
    pub fn is_any_event(&self) -> bool {
        self.kinds.is_empty() && self.channels.is_empty() && self.providers.is_empty() && self.event_ids.is_empty()
    }

    /// The explicit mappings, Sigma field → event field, sorted by Sigma field.
    pub fn field_mappings(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Why values of a Sigma field may differ on this route (hex process ids, SIDs for integrity levels, ...).
    pub fn caveat(&self, sigma_field: &str) -> Option<&str> {
        get_ci(&self.caveats, sigma_field)
    }

    /// The known schemas of the events this route selects (empty when none of its events is described).
    pub fn schemas(&self) -> &[&'static EventSchema] {
        &self.schemas
    }

    /// The event field a Sigma field reads on this route: the mapping entry if there is one, else the field
    /// itself when it is a common System field or exists in one of the route's schemas (returned in the schema's
    /// spelling). `None` means no event of this route has the field. Routes without known schemas map every
    /// field to itself.
    pub fn map_field<'a>(&'a self, sigma_field: &'a str) -> Option<&'a str> {
        if let Some(mapped) = get_ci(&self.fields, sigma_field) {
            return Some(mapped);
        }
        if let Some(common) = self.common_field(sigma_field) {
            return Some(common);
        }
        if self.schemas.is_empty() {
            return Some(sigma_field);
        }
        self.schemas.iter().find_map(|s| s.field(sigma_field)).map(|f| f.name)
    }

    /// Like [`Route::map_field`] for one event schema: the event field, or `None` if that event lacks it.
    pub fn map_field_on<'s>(&'s self, schema: &EventSchema, sigma_field: &str) -> Option<&'s str> {
        if let Some(mapped) = get_ci(&self.fields, sigma_field) {
            return schema.field(mapped).map(|f| f.name).or_else(|| self.common_field(mapped));
        }
        if let Some(common) = self.common_field(sigma_field) {
            return Some(common);
        }
        schema.field(sigma_field).map(|f| f.name)
    }

    /// Whether an event with this header travels the route (conditions aside; see
    /// [`Route::matches_conditions`]). Names compare ASCII case-insensitively.
    pub fn matches_header(&self, channel: Option<&str>, provider: Option<&str>, event_id: Option<u32>) -> bool {
        if !self.event_ids.is_empty() && !event_id.is_some_and(|id| self.event_ids.contains(&id)) {
            return false;
        }
        if self.channels.is_empty() && self.providers.is_empty() {
            return true;
        }
        if let Some(channel) = channel
            && !self.channels.is_empty()
        {
            return self.channels.iter().any(|c| c.eq_ignore_ascii_case(channel));
        }
        provider.is_some_and(|p| self.providers.iter().any(|x| x.eq_ignore_ascii_case(p)))
    }

    /// Whether an event meets the route's extra conditions; `lookup` reads an event field.
    pub fn matches_conditions<F, S>(&self, mut lookup: F) -> bool
    where
        F: FnMut(&str) -> Option<S>,
        S: AsRef<str>,
    {
        self.conditions.iter().all(|c| lookup(&c.field).is_some_and(|v| c.accepts(v.as_ref())))
    }

    fn common_field(&self, name: &str) -> Option<&str> {
        let common = self.common.iter();
        common
            .clone()
            .find(|c| *c == name)
            .or_else(|| common.clone().find(|c| c.eq_ignore_ascii_case(name)))
            .map(String::as_str)
    }

    /// Whether a described event belongs to this route (used to attach schemas). The schemas are Windows events.
    fn selects(&self, event: &EventSchema) -> bool {
        if !self.kinds.is_empty() {
            return false;
        }
        if !self.event_ids.is_empty() && !self.event_ids.contains(&event.id) {
            return false;
        }
        if self.channels.is_empty() && self.providers.is_empty() {
            return true;
        }
        match event.channel {
            // A known channel must agree with the route's channels.
            Some(channel) if !self.channels.is_empty() => self.channels.iter().any(|c| c.eq_ignore_ascii_case(channel)),
            _ => self.providers.iter().any(|p| p.eq_ignore_ascii_case(event.provider)),
        }
    }
}

fn get_ci<'m>(map: &'m BTreeMap<String, String>, key: &str) -> Option<&'m str> {
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)).map(String::as_str)
}

// ---------------------------------------------------------------------------------------------------------------
// File format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    version: Option<i64>,
    #[serde(default)]
    unrouted: Vec<UnroutedDef>,
    product: Option<String>,
    #[serde(default)]
    common_fields: Vec<String>,
    #[serde(default)]
    source: BTreeMap<String, SourceDef>,
    #[serde(default)]
    route: Vec<toml::Spanned<RouteDef>>,
}

/// A logsource no reader can produce events for, and why.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
struct UnroutedDef {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    why: String,
}

#[derive(Deserialize, Clone, Default, Debug)]
#[serde(deny_unknown_fields)]
struct SourceDef {
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    providers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteDef {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    source: Option<String>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    providers: Vec<String>,
    #[serde(default)]
    event_ids: Vec<u32>,
    note: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default, rename = "where")]
    conditions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    caveats: BTreeMap<String, String>,
    /// In a mapping file: drop the routes loaded so far for this logsource before adding this one.
    #[serde(default)]
    replace: bool,
}

/// A route before schemas are attached.
#[derive(Debug, Clone)]
struct RouteSpec {
    kinds: Vec<String>,
    channels: Vec<String>,
    providers: Vec<String>,
    event_ids: Vec<u32>,
    fields: BTreeMap<String, String>,
    conditions: Vec<Condition>,
    caveats: BTreeMap<String, String>,
    note: Option<String>,
}

/// The logsource table: common fields, named sources and routes per logsource.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logsources {
    common: Vec<String>,
    /// Logsources known to have no reader, with the reason.
    unrouted: Vec<(LogSourceKey, String)>,
    sources: BTreeMap<String, SourceDef>,
    /// Insertion-ordered specs; `entries` is rebuilt from them.
    specs: Vec<(LogSourceKey, Vec<RouteSpec>)>,
    entries: Vec<(LogSourceKey, Vec<Route>)>,
}

impl Logsources {
    /// Read one mapping file on top of what is loaded. Routes add to a logsource's routes unless a route says
    /// `replace = true`; sources and common fields add to (or redefine) the loaded ones.
    pub(crate) fn apply(&mut self, origin: &str, text: &str, catalog: &'static EventCatalog) -> Result<()> {
        self.apply_all(&[(origin, text)], catalog)
    }

    /// [`Logsources::apply`] for several files in order, resolving the routes' event schemas once at the end
    /// (resolving after each file did the same work once per file: the built-in tables are eleven files).
    pub(crate) fn apply_all(&mut self, files: &[(&str, &str)], catalog: &'static EventCatalog) -> Result<()> {
        for (origin, text) in files {
            self.add_file(origin, text)?;
        }
        self.rebuild(catalog);
        Ok(())
    }

    /// Adds one file's definitions; the routes are resolved by [`Logsources::rebuild`].
    fn add_file(&mut self, origin: &str, text: &str) -> Result<()> {
        let file: FileDef = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            Error::at_offset(origin, text, offset, e.message().trim_end_matches('.').to_owned())
        })?;
        if let Some(v) = file.version
            && v != 1
        {
            return Err(Error::data(origin, 1, 1, format!("unsupported mapping version {v} (expected 1)")));
        }
        for f in file.common_fields {
            if !self.common.contains(&f) {
                self.common.push(f);
            }
        }
        self.sources.extend(file.source);
        let default_product = file.product.unwrap_or_else(|| "windows".to_owned());
        for u in file.unrouted {
            let product = u.product.as_deref().unwrap_or(&default_product);
            let key = LogSourceKey::new(Some(product), u.category.as_deref(), u.service.as_deref());
            self.unrouted.retain(|(k, _)| *k != key);
            self.unrouted.push((key, u.why));
        }
        let mut replaced: BTreeSet<LogSourceKey> = BTreeSet::new();
        for spanned in file.route {
            let at = |message: String| Error::at_offset(origin, text, spanned.span().start, message);
            let def = spanned.get_ref();
            let product = def.product.as_deref().unwrap_or(&default_product);
            let key = LogSourceKey::new(Some(product), def.category.as_deref(), def.service.as_deref());
            let mut channels = Vec::new();
            let mut providers = Vec::new();
            if let Some(name) = &def.source {
                let Some(source) = self.sources.get(name) else {
                    return Err(at(format!("unknown source `{name}`")));
                };
                channels.extend(source.channels.iter().cloned());
                providers.extend(source.providers.iter().cloned());
            }
            for c in &def.channels {
                if !channels.iter().any(|x: &String| x.eq_ignore_ascii_case(c)) {
                    channels.push(c.clone());
                }
            }
            for p in &def.providers {
                if !providers.iter().any(|x: &String| x.eq_ignore_ascii_case(p)) {
                    providers.push(p.clone());
                }
            }
            if let Some((sigma, _)) = def.fields.iter().find(|(k, v)| k.trim().is_empty() || v.trim().is_empty()) {
                return Err(at(format!("empty field mapping for `{sigma}`")));
            }
            if let Some((field, _)) = def.conditions.iter().find(|(_, v)| v.is_empty()) {
                return Err(at(format!("condition on `{field}` lists no values")));
            }
            let conditions =
                def.conditions.iter().map(|(field, values)| Condition { field: field.clone(), values: values.clone() });
            let spec = RouteSpec {
                kinds: def.kinds.clone(),
                channels,
                providers,
                event_ids: def.event_ids.clone(),
                fields: def.fields.clone(),
                conditions: conditions.collect(),
                caveats: def.caveats.clone(),
                note: def.note.clone(),
            };
            let index = match self.specs.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    self.specs.push((key.clone(), Vec::new()));
                    self.specs.len() - 1
                }
            };
            if let Some((_, routes)) = self.specs.get_mut(index) {
                if def.replace && replaced.insert(key) {
                    routes.clear();
                }
                routes.push(spec);
            }
        }
        Ok(())
    }

    fn rebuild(&mut self, catalog: &'static EventCatalog) {
        let common: Arc<[String]> = self.common.clone().into();
        let mut entries: Vec<(LogSourceKey, Vec<Route>)> = self
            .specs
            .iter()
            .map(|(key, specs)| {
                let routes = specs
                    .iter()
                    .map(|s| {
                        let mut route = Route {
                            kinds: s.kinds.clone(),
                            channels: s.channels.clone(),
                            providers: s.providers.clone(),
                            event_ids: s.event_ids.clone(),
                            fields: s.fields.clone(),
                            conditions: s.conditions.clone(),
                            caveats: s.caveats.clone(),
                            note: s.note.clone(),
                            schemas: Vec::new(),
                            common: Arc::clone(&common),
                        };
                        route.schemas = catalog.events().iter().filter(|e| route.selects(e)).collect();
                        route
                    })
                    .collect();
                (key.clone(), routes)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.entries = entries;
    }

    pub(crate) fn common(&self) -> &[String] {
        &self.common
    }

    pub(crate) fn unrouted_reason(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&str> {
        let key = LogSourceKey::new(product, category, service);
        self.unrouted.iter().find(|(k, _)| *k == key).map(|(_, why)| why.as_str())
    }

    pub(crate) fn routes(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&[Route]> {
        let (p, c, s) = (norm(product), norm(category), norm(service));
        let wanted = (p.as_deref(), c.as_deref(), s.as_deref());
        let index = self.entries.binary_search_by(|(k, _)| k.as_refs().cmp(&wanted)).ok()?;
        self.entries.get(index).map(|(_, routes)| routes.as_slice())
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (&LogSourceKey, &[Route])> {
        self.entries.iter().map(|(k, r)| (k, r.as_slice()))
    }

    /// Candidate events of a logsource whose schema has every used field after mapping, in route order.
    pub(crate) fn events_for(
        &self,
        ls: &LogSource<'_>,
        fields_used: &[&str],
        ids: &[u32],
    ) -> Vec<&'static EventSchema> {
        let Some(routes) = self.routes(ls.product, ls.category, ls.service) else {
            return Vec::new();
        };
        let mut out: Vec<&'static EventSchema> = Vec::new();
        for route in routes {
            for schema in route.schemas() {
                if !ids.is_empty() && !ids.contains(&schema.id) {
                    continue;
                }
                if out.iter().any(|e| std::ptr::eq(*e, *schema)) {
                    continue;
                }
                if fields_used.iter().all(|f| route.map_field_on(schema, f).is_some()) {
                    out.push(schema);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Knowledge;

    fn k() -> &'static Knowledge {
        Knowledge::builtin().unwrap()
    }

    fn shown(events: &[&EventSchema]) -> Vec<(&'static str, u32, &'static str)> {
        events.iter().map(|e| (e.provider_display, e.id, e.title)).collect()
    }

    const PC: LogSource<'static> =
        LogSource { product: Some("windows"), category: Some("process_creation"), service: None };

    #[test]
    fn seed_event_coverage() {
        assert_eq!(
            shown(&k().events_for(&PC, &["ParentImage", "Image"])),
            [("Sysmon", 1, "Process creation"), ("Security-Auditing", 4688, "A new process has been created.")]
        );
        assert_eq!(
            shown(&k().events_for(&PC, &["ParentImage", "Image", "ParentCommandLine"])),
            [("Sysmon", 1, "Process creation")]
        );
        assert_eq!(shown(&k().events_for(&PC, &["OriginalFileName"])), [("Sysmon", 1, "Process creation")]);
        // Common System fields exist everywhere.
        assert_eq!(k().events_for(&PC, &["Image", "EventID", "Computer"]).len(), 2);
    }

    #[test]
    fn process_creation_routes_and_mapping() {
        let routes = k().routes(Some("windows"), Some("process_creation"), None).unwrap();
        assert_eq!(routes.len(), 2);
        let (sysmon, security) = (&routes[0], &routes[1]);
        assert_eq!(sysmon.channels(), ["Microsoft-Windows-Sysmon/Operational"]);
        assert_eq!(sysmon.event_ids(), [1]);
        assert_eq!(sysmon.map_field("ParentImage"), Some("ParentImage"));
        assert_eq!(security.channels(), ["Security"]);
        assert_eq!(security.event_ids(), [4688]);
        for (sigma, event) in [
            ("Image", "NewProcessName"),
            ("ParentImage", "ParentProcessName"),
            ("ProcessId", "NewProcessId"),
            ("ParentProcessId", "ProcessId"),
            ("LogonId", "SubjectLogonId"),
            ("IntegrityLevel", "MandatoryLabel"),
            ("User", "SubjectUserName"),
            ("CommandLine", "CommandLine"),
            ("EventID", "EventID"),
        ] {
            assert_eq!(security.map_field(sigma), Some(event), "{sigma}");
        }
        assert_eq!(security.map_field("ParentCommandLine"), None);
        assert_eq!(security.map_field("OriginalFileName"), None);
        assert!(security.caveat("IntegrityLevel").unwrap().contains("S-1-16-12288"));
        assert!(security.caveat("ProcessId").unwrap().contains("hex"));
        assert!(security.matches_header(Some("Security"), None, Some(4688)));
        assert!(security.matches_header(Some("security"), Some("Microsoft-Windows-Security-Auditing"), Some(4688)));
        assert!(!security.matches_header(Some("Security"), None, Some(4624)));
        assert!(!security.matches_header(Some("System"), None, Some(4688)));
        assert!(security.matches_header(None, Some("Microsoft-Windows-Security-Auditing"), Some(4688)));
        assert!(!security.matches_header(None, None, Some(4688)));
    }

    #[test]
    fn lookups_are_case_insensitive_and_unknown_is_none() {
        assert!(k().routes(Some("Windows"), Some("Process_Creation"), None).is_some());
        assert!(k().routes(Some("windows"), Some("process_creation"), Some("")).is_some());
        assert!(k().routes(Some("bitbucket"), None, Some("audit")).is_none());
        assert!(k().routes(Some("linux"), Some("no_such_category"), None).is_none());
        assert!(k().routes(Some("windows"), Some("no_such_category"), None).is_none());
        let any = k().routes(Some("windows"), None, None).unwrap();
        assert!(any[0].is_any_event());
        assert!(any[0].matches_header(Some("Whatever/Operational"), None, Some(1)));
    }

    #[test]
    fn services_route_by_channel() {
        let security = k().routes(Some("windows"), None, Some("security")).unwrap();
        assert_eq!(security.len(), 1);
        assert!(security[0].event_ids().is_empty());
        assert!(security[0].matches_header(Some("Security"), Some("Microsoft-Windows-Eventlog"), Some(1102)));
        let ls = LogSource::new(Some("windows"), None, Some("security"));
        let cleared = k().events_for_ids(&ls, &["SubjectUserName"], &[1102]);
        assert_eq!(shown(&cleared), [("Eventlog", 1102, "The audit log was cleared")]);
        let logons = k().events_for(&ls, &["LogonType", "TargetUserName", "IpAddress"]);
        assert!(logons.iter().any(|e| e.id == 4624));
        assert!(logons.iter().all(|e| e.channel == Some("Security")));
        let system = LogSource::new(Some("windows"), None, Some("system"));
        let backups = k().events_for(&system, &["BackupPath"]);
        assert!(backups.iter().any(|e| e.id == 104));
        assert!(backups.iter().all(|e| e.channel == Some("System")));
        let ps = LogSource::new(Some("windows"), Some("ps_script"), None);
        assert_eq!(
            shown(&k().events_for(&ps, &["ScriptBlockText"])),
            [("PowerShell", 4104, "Execute a Remote Command")]
        );
        let routes = k().routes(Some("windows"), Some("ps_script"), None).unwrap();
        assert!(routes[0].matches_header(Some("PowerShellCore/Operational"), Some("PowerShellCore"), Some(4104)));
    }

    #[test]
    fn registry_routes_carry_conditions() {
        let routes = k().routes(Some("windows"), Some("registry_set"), None).unwrap();
        let security = routes.iter().find(|r| r.event_ids() == [4657]).unwrap();
        assert_eq!(security.map_field("TargetObject"), Some("ObjectName"));
        assert_eq!(security.map_field("Details"), Some("NewValue"));
        assert!(security.matches_conditions(|f| (f == "OperationType").then_some("%%1905")));
        assert!(
            security
                .matches_conditions(|f| (f == "OperationType").then(|| "existing registry value modified".to_owned()))
        );
        assert!(!security.matches_conditions(|f| (f == "OperationType").then_some("%%1904")));
        assert!(!security.matches_conditions(|_| None::<&str>));
        let ls = LogSource::new(Some("windows"), Some("registry_set"), None);
        let events = k().events_for(&ls, &["TargetObject", "Details"]);
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), [13, 4657]);
    }

    #[test]
    fn routes_without_schemas_map_identity() {
        let dns = k().routes(Some("windows"), None, Some("dns-server")).unwrap();
        assert!(dns[0].schemas().is_empty());
        assert_eq!(dns[0].map_field("QNAME"), Some("QNAME"));
        let ls = LogSource::new(Some("windows"), None, Some("dns-server"));
        assert!(k().events_for(&ls, &["QNAME"]).is_empty());
    }

    #[test]
    fn hand_maintained_schemas_are_routed() {
        // Defender's EventData names contain spaces; the route maps Sigma's names onto them.
        let windefend = k().routes(Some("windows"), None, Some("windefend")).unwrap();
        assert_eq!(windefend[0].map_field("ThreatName"), Some("Threat Name"));
        let ls = LogSource::new(Some("windows"), None, Some("windefend"));
        let ids = |fields: &[&str]| k().events_for(&ls, fields).iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(&["ThreatName", "ProcessName", "SourceName"]), [1116, 1117, 1118, 1119]);
        assert_eq!(ids(&["NewValue"]), [5007]);
        let av = k().routes(None, Some("antivirus"), None).unwrap();
        assert_eq!(av[0].map_field("Signature"), Some("Threat Name"));
        let ls = LogSource::new(None, Some("antivirus"), None);
        assert_eq!(k().events_for(&ls, &["Signature", "Filename"]).iter().map(|e| e.id).collect::<Vec<_>>(), [1116]);
        // Service Control Manager writes to the System channel.
        let ls = LogSource::new(Some("windows"), None, Some("system"));
        let scm = k().events_for(&ls, &["ServiceName", "ImagePath"]);
        assert_eq!(scm.iter().map(|e| (e.provider, e.id)).collect::<Vec<_>>(), [("Service Control Manager", 7045)]);
        let ls = LogSource::new(Some("windows"), None, Some("firewall-as"));
        assert_eq!(
            k().events_for(&ls, &["ApplicationPath", "Action"]).iter().map(|e| e.id).collect::<Vec<_>>(),
            [2004, 2005, 2071, 2073, 2097]
        );
    }

    /// Every `product: windows` category and service used by the SigmaHQ corpus snapshot has routes.
    #[test]
    fn corpus_logsources_are_all_mapped() {
        let categories = [
            "create_remote_thread",
            "create_stream_hash",
            "dns_query",
            "driver_load",
            "file_access",
            "file_change",
            "file_delete",
            "file_event",
            "file_executable_detected",
            "file_rename",
            "image_load",
            "network_connection",
            "pipe_created",
            "process_access",
            "process_creation",
            "process_tampering",
            "ps_classic_provider_start",
            "ps_classic_start",
            "ps_module",
            "ps_script",
            "raw_access_thread",
            "registry_add",
            "registry_delete",
            "registry_event",
            "registry_set",
            "sysmon_error",
            "sysmon_status",
            "wmi_event",
        ];
        let services = [
            "application",
            "applocker",
            "appmodel-runtime",
            "appxdeployment-server",
            "appxpackaging-om",
            "bits-client",
            "capi2",
            "certificateservicesclient-lifecycle-system",
            "codeintegrity-operational",
            "diagnosis-scripted",
            "dns-client",
            "dns-server",
            "dns-server-analytic",
            "driver-framework",
            "firewall-as",
            "iis-configuration",
            "ldap",
            "lsa-server",
            "microsoft-servicebus-client",
            "msexchange-management",
            "ntlm",
            "openssh",
            "powershell",
            "powershell-classic",
            "printservice-admin",
            "printservice-operational",
            "security",
            "security-mitigations",
            "shell-core",
            "smbclient-connectivity",
            "smbclient-security",
            "smbserver-connectivity",
            "sysmon",
            "system",
            "taskscheduler",
            "terminalservices-localsessionmanager",
            "windefend",
            "wmi",
        ];
        for c in categories {
            assert!(k().routes(Some("windows"), Some(c), None).is_some(), "category {c}");
        }
        for s in services {
            assert!(k().routes(Some("windows"), None, Some(s)).is_some(), "service {s}");
        }
    }

    #[test]
    fn routes_of_a_logsource_have_distinct_selectors() {
        for (key, routes) in k().logsources() {
            for (i, a) in routes.iter().enumerate() {
                for b in routes.iter().skip(i + 1) {
                    let same = a.kinds() == b.kinds() && a.channels() == b.channels() && a.event_ids() == b.event_ids();
                    assert!(!same || a.conditions() != b.conditions(), "duplicate route in {key:?}");
                }
            }
        }
    }

    #[test]
    fn non_windows_routes_select_record_kinds() {
        let ct = k().routes(Some("aws"), None, Some("cloudtrail")).unwrap();
        assert_eq!(ct[0].kinds(), ["aws.cloudtrail"]);
        assert!(ct[0].matches_event(Some("aws.cloudtrail"), None, None, None));
        assert!(!ct[0].matches_event(None, Some("Security"), None, Some(4624)));
        assert!(!ct[0].matches_event(Some("okta.system"), None, None, None));
        assert!(ct[0].schemas().is_empty());
        assert!(!ct[0].is_any_event());
        // Windows routes take no record of another kind, not even `product: windows` alone.
        let any = k().routes(Some("windows"), None, None).unwrap();
        assert!(any[0].matches_event(None, Some("Whatever"), None, Some(1)));
        assert!(!any[0].matches_event(Some("aws.cloudtrail"), None, None, None));
        let pc = k().routes(Some("linux"), Some("process_creation"), None).unwrap();
        assert_eq!(pc.len(), 2);
        assert!(pc[0].matches_event(Some("linux.sysmon"), Some("Linux-Sysmon/Operational"), None, Some(1)));
        assert!(!pc[0].matches_event(Some("linux.sysmon"), Some("Linux-Sysmon/Operational"), None, Some(3)));
        assert!(!pc[0].matches_event(None, Some("Microsoft-Windows-Sysmon/Operational"), None, Some(1)));
        assert_eq!(pc[1].map_field("Image"), Some("exe"));
        assert_eq!(pc[1].map_field("CommandLine"), Some("cmdline"));
        assert_eq!(pc[1].map_field("ParentImage"), Some("ParentImage"));
        assert!(pc[1].matches_conditions(|f| (f == "type").then_some("EXECVE")));
        let web = k().routes(None, Some("webserver"), None).unwrap();
        assert_eq!(web[0].map_field("cs-uri-query"), Some("cs-uri"));
        let gcp = k().routes(Some("gcp"), None, Some("gcp.audit")).unwrap();
        assert_eq!(gcp[0].map_field("gcp.audit.method_name"), Some("protoPayload.methodName"));
        assert!(k().routes(Some("zeek"), None, Some("dns")).unwrap()[0].matches_event(
            Some("zeek.dns"),
            None,
            None,
            None
        ));
        // Logsources without a reader say why.
        assert!(k().unrouted_reason(Some("gcp"), None, Some("google_workspace.admin")).unwrap().contains("Workspace"));
        assert!(k().unrouted_reason(None, Some("firewall"), None).is_some());
        assert!(k().unrouted_reason(Some("aws"), None, Some("cloudtrail")).is_none());
    }

    #[test]
    fn common_fields_include_logsource_json_common() {
        for f in ["EventID", "Provider_Name", "Channel", "Computer", "Security_UserID"] {
            assert!(k().common_fields().iter().any(|c| c == f), "{f}");
        }
    }

    /// SigmaHQ's tests/logsource.json lists the legitimate fields per Windows category and service. Every one must
    /// exist on at least one event the logsource routes to (after mapping), except the documented gaps below.
    #[test]
    fn logsource_json_fields_exist_in_routed_schemas() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus/sigmahq/tests/logsource.json");
        let text = std::fs::read_to_string(path).expect("shared/ must sit beside the repository");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let windows = &json["legit"]["windows"];
        // (kind, name, field): known gaps between SigmaHQ's list and the schemas.
        let exceptions: &[(&str, &str, &str)] = &[
            // Added by enrichment (THOR/Aurora "GrandParentImage", ParentImage on network events), not by Sysmon.
            ("category", "process_creation", "GrandParentImage"),
            ("category", "network_connection", "ParentImage"),
            // Sysmon 12 (registry object create and delete) has no Details field.
            ("category", "registry_delete", "Details"),
            // Fields of event versions missing from the OSSEM-DD snapshot (BITS 16403, newer NTLM 8001-8004,
            // AppXDeployment-Server 854, DNS-Client 3008-3020 payload blobs).
            ("service", "bits-client", "RemoteName"),
            ("service", "bits-client", "LocalName"),
            ("service", "ntlm", "SChannelName"),
            ("service", "ntlm", "SChannelType"),
            ("service", "ntlm", "WorkstationName"),
            ("service", "appxdeployment-server", "PackageSourceUri"),
            ("service", "appxdeployment-server", "PackageDisplayName"),
            ("service", "appxdeployment-server", "HasFullTrust"),
            ("service", "dns-client", "ClientPID"),
            ("service", "dns-client", "QueryBlob"),
            ("service", "dns-client", "SendBlob"),
            ("service", "dns-client", "SendBlobContext"),
        ];
        let skipped_logsources: &[(&str, &str)] = &[
            // Not a taxonomy category (Sysmon 9 is raw_access_thread); SigmaHQ lists file-event fields for it.
            ("category", "raw_access_read"),
            // Logsources without schema data in the sources used (routes exist; fields are unchecked).
            ("service", "bitlocker"),
            ("service", "firewall-as"),
            ("service", "ldap"),
            ("service", "openssh"),
            ("service", "iis"),
            ("service", "appxpackaging-om"),
            ("service", "iis-configuration"),
        ];
        let mut missing = Vec::new();
        for kind in ["category", "service"] {
            let Some(map) = windows[kind].as_object() else { continue };
            for (name, fields) in map {
                if skipped_logsources.contains(&(kind, name.as_str())) {
                    continue;
                }
                let ls = if kind == "category" {
                    LogSource::new(Some("windows"), Some(name), None)
                } else {
                    LogSource::new(Some("windows"), None, Some(name))
                };
                let Some(routes) = k().routes_for(&ls) else {
                    missing.push(format!("{kind} {name}: no routes"));
                    continue;
                };
                for field in fields.as_array().unwrap() {
                    let field = field.as_str().unwrap();
                    if exceptions.contains(&(kind, name.as_str(), field)) {
                        continue;
                    }
                    let found = routes.iter().any(|r| r.schemas().iter().any(|s| r.map_field_on(s, field).is_some()));
                    if !found {
                        missing.push(format!("{kind} {name}: {field}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "fields missing from routed schemas:\n{}", missing.join("\n"));
    }

    #[test]
    fn mapping_file_extends_and_replaces() {
        let text = r#"
[source.custom]
channels = ["Custom/Operational"]

[[route]]
category = "process_creation"
source = "custom"
event_ids = [7]
[route.fields]
Image = "Exe"

[[route]]
product = "linux"
category = "process_creation"
channels = ["auditd"]

[[route]]
category = "ps_script"
replace = true
source = "powershell"
event_ids = [4105]
"#;
        let k2 = k().with_mapping_str("extra.toml", text).unwrap();
        let pc = k2.routes(Some("windows"), Some("process_creation"), None).unwrap();
        assert_eq!(pc.len(), 3);
        assert_eq!(pc[2].map_field("Image"), Some("Exe"));
        assert_eq!(pc[2].map_field("Anything"), Some("Anything"));
        assert!(k2.routes(Some("linux"), Some("process_creation"), None).is_some());
        let ps = k2.routes(Some("windows"), Some("ps_script"), None).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].event_ids(), [4105]);
        // The builtin table is untouched.
        assert_eq!(k().routes(Some("windows"), Some("process_creation"), None).unwrap().len(), 2);
    }

    #[test]
    fn mapping_errors_carry_position() {
        let err = k().with_mapping_str("m.toml", "[[route]]\ncategory = \"x\"\nsource = \"nope\"\n").err().unwrap();
        assert!(
            matches!(&err, Error::Data { origin, line: 1, message, .. } if origin == "m.toml" && message.contains("nope")),
            "{err}"
        );
        let err = k().with_mapping_str("m.toml", "[[route]]\ncategory = \n").err().unwrap();
        assert!(matches!(&err, Error::Data { line: 2, .. }), "{err}");
        let err = k().with_mapping_str("m.toml", "\n[[route]]\nevent_ids = [-1]\n").err().unwrap();
        assert!(matches!(&err, Error::Data { line: 3, .. }), "{err}");
        let err = k().with_mapping_str("m.toml", "[[route]]\nbogus = 1\n").err().unwrap();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = Knowledge::builtin().unwrap().with_mapping_file("/nonexistent/mapping.toml").err().unwrap();
        assert!(matches!(err, Error::Io { .. }));
    }
}
