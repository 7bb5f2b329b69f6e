//! Field and data-source mapping tables (`data/families/*.toml`): foreign predicates → indicators over Sigma's
//! Windows field names, and data sources → Sigma logsources with event ids.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{Family, Op, Predicate};

const FIELDS: (&str, &str) = ("data/families/fields.toml", include_str!("../../../data/families/fields.toml"));
const SOURCES: (&str, &str) =
    ("data/families/datasources.toml", include_str!("../../../data/families/datasources.toml"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Transform {
    /// The foreign value is a file name; the Sigma field a path.
    FileName,
    /// The foreign value is one argument; the Sigma field the whole command line.
    Argument,
}

#[derive(Debug, Clone, Deserialize)]
struct FieldRow {
    from: String,
    to: String,
    #[serde(default)]
    transform: Option<Transform>,
}

#[derive(Debug, Deserialize)]
struct FieldGroup {
    family: String,
    rows: Vec<FieldRow>,
}

#[derive(Debug, Deserialize)]
struct FieldFile {
    field: Vec<FieldGroup>,
}

/// A data source's Sigma logsource and event ids.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SourceRow {
    /// The name matched (ASCII case-insensitive).
    #[serde(rename = "match")]
    pub name: String,
    /// Whether `name` is a prefix.
    #[serde(default)]
    pub prefix: bool,
    /// Sigma `product`.
    pub product: Option<String>,
    /// Sigma `category`.
    pub category: Option<String>,
    /// Sigma `service`.
    pub service: Option<String>,
    /// Windows event ids, when the source names them; with a `prefix` row, the id is read from the name's end.
    #[serde(default)]
    pub ids: Vec<u32>,
}

#[derive(Debug, Deserialize)]
struct SourceGroup {
    family: String,
    rows: Vec<SourceRow>,
}

#[derive(Debug, Deserialize)]
struct SourceFile {
    source: Vec<SourceGroup>,
}

/// The mapping tables.
#[derive(Debug, Default)]
pub struct Mappings {
    fields: HashMap<(Family, String), FieldRow>,
    sources: Vec<(Family, SourceRow)>,
}

/// One indicator of a foreign rule, over Sigma field names: what the catalog compares with Sigma's indicators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappedIndicator {
    /// The Sigma field (`Image`), the foreign field when it has no mapping, `None` for keywords.
    pub field: Option<String>,
    /// Sigma modifiers (`endswith`, `contains`, `re`, `cased`, ...).
    pub modifiers: Vec<&'static str>,
    /// The value as a Sigma string (`*` wildcards, `\` escapes as Sigma writes them).
    pub value: String,
    /// The predicate as the family writes it (`Processes.process_name = meshagent.exe`).
    pub original: String,
    /// Whether this is a mapped equivalent (another field name, or a value rewritten).
    pub mapped: bool,
    /// Whether the rule excludes the value (under `not`).
    pub excluded: bool,
}

/// Where a foreign rule's events come from, as a Sigma logsource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogsourceHint {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
    /// Event ids, when the data sources name them (union over the sources).
    pub ids: Vec<u32>,
}

/// A mapping table that does not parse or names an unknown family; the message names the table file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(String);

fn family_of(name: &str, file: &str) -> Result<Family, MappingError> {
    Family::from_name(name).ok_or_else(|| MappingError(format!("{file}: unknown family '{name}'")))
}

impl Mappings {
    /// The built-in tables.
    ///
    /// # Errors
    /// When a table does not parse (a build defect the tests catch).
    pub fn builtin() -> Result<&'static Mappings, MappingError> {
        static TABLES: OnceLock<Result<Mappings, MappingError>> = OnceLock::new();
        TABLES.get_or_init(|| Mappings::parse(FIELDS.1, SOURCES.1)).as_ref().map_err(Clone::clone)
    }

    /// Tables from the texts of `fields.toml` and `datasources.toml`.
    ///
    /// # Errors
    /// A table that does not parse or names an unknown family.
    pub fn parse(fields: &str, sources: &str) -> Result<Mappings, MappingError> {
        let f: FieldFile = toml::from_str(fields).map_err(|e| MappingError(format!("{}: {e}", FIELDS.0)))?;
        let s: SourceFile = toml::from_str(sources).map_err(|e| MappingError(format!("{}: {e}", SOURCES.0)))?;
        let mut m = Mappings::default();
        for g in f.field {
            let fam = family_of(&g.family, FIELDS.0)?;
            for r in g.rows {
                if m.fields.insert((fam, r.from.clone()), r.clone()).is_some() {
                    return Err(MappingError(format!("{}: {} field {} is listed twice", FIELDS.0, g.family, r.from)));
                }
            }
        }
        for g in s.source {
            let fam = family_of(&g.family, SOURCES.0)?;
            m.sources.extend(g.rows.into_iter().map(|r| (fam, r)));
        }
        Ok(m)
    }

    /// The Sigma field a family's field maps to.
    pub fn field(&self, family: Family, field: &str) -> Option<&str> {
        self.fields.get(&(family, field.to_string())).map(|r| r.to.as_str())
    }

    /// The logsource of a rule's data sources (and event kinds): the first source row that matches, with the
    /// event ids of every matching row.
    pub fn logsource(&self, family: Family, names: &[String]) -> Option<LogsourceHint> {
        let mut hint: Option<LogsourceHint> = None;
        let mut any_without_ids = false;
        for name in names {
            let name = name.trim();
            let Some((_, row)) = self.sources.iter().find(|(f, r)| {
                *f == family
                    && if r.prefix {
                        name.len() >= r.name.len()
                            && name.get(..r.name.len()).is_some_and(|p| p.eq_ignore_ascii_case(&r.name))
                    } else {
                        name.eq_ignore_ascii_case(&r.name)
                    }
            }) else {
                continue;
            };
            let mut ids = row.ids.clone();
            if row.prefix
                && let Some(id) = name.get(row.name.len()..).and_then(|rest| rest.trim().parse::<u32>().ok())
            {
                ids.push(id);
            }
            any_without_ids |= ids.is_empty();
            match &mut hint {
                None => {
                    hint = Some(LogsourceHint {
                        product: row.product.clone(),
                        category: row.category.clone(),
                        service: row.service.clone(),
                        ids,
                    });
                }
                Some(h) if h.category == row.category && h.service == row.service => {
                    for id in ids {
                        if !h.ids.contains(&id) {
                            h.ids.push(id);
                        }
                    }
                }
                Some(_) => {}
            }
        }
        if any_without_ids && let Some(h) = &mut hint {
            // A source that names no event id reads every event of the logsource.
            h.ids.clear();
        }
        hint
    }

    /// The indicators of a rule's predicates, over Sigma field names where the tables map them.
    pub fn indicators(&self, family: Family, predicates: &[Predicate]) -> Vec<MappedIndicator> {
        predicates.iter().filter_map(|p| self.indicator(family, p)).collect()
    }

    fn indicator(&self, family: Family, p: &Predicate) -> Option<MappedIndicator> {
        let row = self.fields.get(&(family, p.field.clone()));
        let original = original_text(p);
        let mut value = sigma_text(&p.value, p.wildcards && p.op != Op::Regex, p.op == Op::Regex);
        let mut op = p.op;
        let mut mapped = row.is_some_and(|r| r.to != p.field);
        match row.and_then(|r| r.transform) {
            Some(Transform::FileName) => {
                mapped = true;
                match op {
                    Op::Eq if !value.starts_with('*') => value = format!("*\\\\{value}"),
                    Op::EndsWith | Op::Eq => {}
                    Op::StartsWith => {
                        op = Op::Contains;
                        value = format!("\\\\{value}");
                    }
                    _ => {}
                }
                if op == Op::EndsWith && !value.starts_with('*') {
                    value = format!("\\\\{value}");
                }
            }
            Some(Transform::Argument) => {
                mapped = true;
                if op == Op::Eq {
                    op = Op::Contains;
                }
            }
            None => {}
        }
        let field =
            if p.op == Op::Keyword { None } else { Some(row.map_or_else(|| p.field.clone(), |r| r.to.clone())) };
        let mut modifiers: Vec<&'static str> = match op {
            Op::Eq | Op::Keyword | Op::InList => vec![],
            Op::Contains | Op::Has => vec!["contains"],
            Op::StartsWith => vec!["startswith"],
            Op::EndsWith => vec!["endswith"],
            Op::Regex => vec!["re"],
            Op::Lt => vec!["lt"],
            Op::Lte => vec!["lte"],
            Op::Gt => vec!["gt"],
            Op::Gte => vec!["gte"],
            Op::Exists => {
                value = "true".to_string();
                vec!["exists"]
            }
        };
        if op == Op::InList {
            value = format!("%{}", value.replace('%', ""));
        }
        if p.cased && !matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::Exists) {
            modifiers.push("cased");
        }
        Some(MappedIndicator { field, modifiers, value, original, mapped, excluded: p.negated })
    }
}

/// The predicate as the family wrote it, for the page.
fn original_text(p: &Predicate) -> String {
    let op = match p.op {
        Op::Eq => "=",
        Op::Contains => "contains",
        Op::Has => "has",
        Op::StartsWith => "startswith",
        Op::EndsWith => "endswith",
        Op::Regex => "regex",
        Op::Lt => "<",
        Op::Lte => "<=",
        Op::Gt => ">",
        Op::Gte => ">=",
        Op::Exists => "exists",
        Op::InList => "in",
        Op::Keyword => "",
    };
    let not = if p.negated { "not " } else { "" };
    if p.op == Op::Keyword {
        return format!("{not}{}", p.value);
    }
    if p.op == Op::Exists {
        return format!("{not}{} exists", p.field);
    }
    format!("{not}{} {op} {}", p.field, p.value)
}

/// A foreign value as a Sigma string: `\` doubled, `*`/`?` kept as wildcards or escaped; regexes as written.
fn sigma_text(v: &str, wildcards: bool, regex: bool) -> String {
    if regex {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 4);
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '*' | '?' if !wildcards => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::pred;

    #[test]
    fn tables_parse() {
        let m = Mappings::builtin().unwrap();
        assert_eq!(m.field(Family::Splunk, "Processes.process_name"), Some("Image"));
        assert_eq!(m.field(Family::Elastic, "process.parent.name"), Some("ParentImage"));
        assert!(Mappings::parse("[[field]]\nfamily = \"nope\"\nrows = []\n", "source = []").is_err());
    }

    #[test]
    fn file_names_become_path_suffixes() {
        let m = Mappings::builtin().unwrap();
        let mut p = pred("Processes.process_name", Op::Eq, "meshagent.exe", false);
        p.wildcards = true;
        let i = m.indicators(Family::Splunk, &[p.clone()]).remove(0);
        assert_eq!((i.field.as_deref(), i.value.as_str(), i.mapped), (Some("Image"), "*\\\\meshagent.exe", true));
        assert_eq!(i.original, "Processes.process_name = meshagent.exe");
        p.value = "*7z*".into();
        assert_eq!(m.indicators(Family::Splunk, &[p])[0].value, "*7z*", "a leading * keeps its meaning");
        let p = pred("Processes.process", Op::Eq, "C:\\a*b?", false);
        let i = m.indicators(Family::Splunk, &[p]).remove(0);
        assert_eq!((i.field.as_deref(), i.value.as_str()), (Some("CommandLine"), "C:\\\\a\\*b\\?"));
        let p = pred("isIOC", Op::Eq, "true", true);
        let i = m.indicators(Family::Splunk, &[p]).remove(0);
        assert_eq!((i.field.as_deref(), i.mapped, i.excluded), (Some("isIOC"), false, true));
    }

    #[test]
    fn data_sources_give_logsources() {
        let m = Mappings::builtin().unwrap();
        let h = m.logsource(Family::Splunk, &["Sysmon EventID 1".into(), "Windows Event Log Security 4688".into()]);
        let h = h.unwrap();
        assert_eq!((h.category.as_deref(), h.ids.as_slice()), (Some("process_creation"), &[1, 4688][..]));
        let h = m.logsource(Family::Splunk, &["Windows Event Log Security 4624".into()]).unwrap();
        assert_eq!((h.service.as_deref(), h.ids.as_slice()), (Some("security"), &[4624][..]));
        assert!(m.logsource(Family::Splunk, &["AWS CloudTrail".into()]).is_none());
    }
}
