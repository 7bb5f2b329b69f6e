//! The `--placeholders FILE` format: values for `%name%` placeholders of the `expand` modifier.
//!
//! A YAML (or JSON) map from placeholder name (without percent signs) to a value or a list of values, like the
//! `vars` of pySigma's `value_placeholders` transformation:
//!
//! ```yaml
//! Administrators: ['Administrator', 'adm_*']
//! DomainControllers:
//!   - DC01$
//!   - DC02$
//! ```
//!
//! Values are Sigma strings: `*` and `?` are wildcards, `\` escapes them.

use std::path::Path;

use sigil_rule::yaml::{Node, NodeValue};

use crate::ir::Placeholders;

/// Why a placeholder file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaceholderError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file's path as given.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid placeholder file.
    #[error("{path}:{line}:{column}: {message}")]
    Format {
        /// The file's path as given.
        path: String,
        /// 1-based line of the problem.
        line: u32,
        /// 1-based column of the problem.
        column: u32,
        /// What is wrong there.
        message: String,
    },
}

/// Reads a placeholder file.
///
/// # Errors
/// When the file cannot be read or is not a map of names to values.
pub fn load_placeholders(path: &Path) -> Result<Placeholders, PlaceholderError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PlaceholderError::Io { path: shown.clone(), source })?;
    parse_placeholders(&shown, &text)
}

/// Parses placeholder definitions; `origin` names the text in errors.
///
/// # Errors
/// When the text is not a map of names to scalars or lists of scalars.
pub fn parse_placeholders(origin: &str, text: &str) -> Result<Placeholders, PlaceholderError> {
    let err = |node: Option<&Node>, message: String| PlaceholderError::Format {
        path: origin.to_string(),
        line: node.map_or(1, |n| n.pos.line),
        column: node.map_or(1, |n| n.pos.column),
        message,
    };
    let docs = sigil_rule::yaml::parse_documents(text, &sigil_rule::yaml::Limits::default()).map_err(|e| {
        PlaceholderError::Format {
            path: origin.to_string(),
            line: e.pos.line,
            column: e.pos.column,
            message: e.message,
        }
    })?;
    let mut out = Placeholders::new();
    let Some(doc) = docs.first() else { return Ok(out) };
    if matches!(doc.value, NodeValue::Null) {
        return Ok(out);
    }
    let Some(map) = doc.as_map() else {
        return Err(err(Some(doc), format!("expected a map of placeholder names to values, found {}", doc.kind())));
    };
    for (k, v) in map {
        let Some(name) = k.scalar_text() else { return Err(err(Some(k), "placeholder names must be strings".into())) };
        let name = name.trim_matches('%').to_string();
        let values = match &v.value {
            NodeValue::Seq(items) => {
                let mut vals = Vec::with_capacity(items.len());
                for i in items {
                    match i.scalar_text() {
                        Some(s) if !matches!(i.value, NodeValue::Null) => vals.push(s),
                        _ => return Err(err(Some(i), format!("values of '{name}' must be strings"))),
                    }
                }
                vals
            }
            NodeValue::Map(_) | NodeValue::Null => {
                return Err(err(Some(v), format!("'{name}' must have a value or a list of values")));
            }
            _ => vec![v.scalar_text().unwrap_or_default()],
        };
        out.insert(name, values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_scalars_and_reports_errors() {
        let p = parse_placeholders("p.yml", "Admins: [root, 'adm*']\n'%DCs%': DC01$\n").unwrap();
        assert_eq!(p.get("Admins"), Some(&["root".to_string(), "adm*".to_string()][..]));
        assert_eq!(p.get("DCs"), Some(&["DC01$".to_string()][..]));
        assert!(parse_placeholders("p.yml", "").unwrap().is_empty());
        let e = parse_placeholders("p.yml", "- a\n- b\n").unwrap_err();
        assert!(e.to_string().starts_with("p.yml:1:1"), "{e}");
        let e = parse_placeholders("p.yml", "A:\n  x: 1\n").unwrap_err();
        assert!(e.to_string().contains("'A'"), "{e}");
        assert!(parse_placeholders("p.json", "{\"A\": [\"x\"]}").is_ok());
    }
}
