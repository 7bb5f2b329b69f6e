//! A canonical YAML rendering of detections: single-quoted strings, 4-space indents, lists one item per line.
//!
//! Used to show stages (each search identifier as the user would write it) and to check that parsing is
//! lossless: `parse(normalize(parse(x)))` normalises to the same text.

use std::fmt::Write;

use crate::model::{Detection, FieldItem, Search, SearchBody, Value, ValueKind};

/// Quotes a scalar the way SigmaHQ writes rules: strings in single quotes (`'` doubled), others bare.
pub fn quote_value(v: &ValueKind) -> String {
    match v {
        ValueKind::String(s) => quote_str(&s.raw),
        other => other.text(),
    }
}

/// Single-quotes a string for YAML.
pub fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn key_text(item: &FieldItem) -> String {
    let key = item.key();
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '|' | '.'))
        && !key.starts_with(['-', '|']);
    if plain { key } else { quote_str(&key) }
}

fn write_values(out: &mut String, values: &[Value], indent: &str) {
    if let [single] = values {
        let _ = writeln!(out, " {}", quote_value(&single.kind));
    } else {
        out.push('\n');
        for v in values {
            let _ = writeln!(out, "{indent}- {}", quote_value(&v.kind));
        }
    }
}

fn write_items(out: &mut String, items: &[FieldItem], first_prefix: &str, indent: &str) {
    for (i, item) in items.iter().enumerate() {
        let prefix = if i == 0 { first_prefix } else { indent };
        let _ = write!(out, "{prefix}{}:", key_text(item));
        write_values(out, &item.values, indent);
    }
}

/// One search identifier as YAML, e.g. `selection:\n    Image|endswith: '\\cmd.exe'\n`.
pub fn search_yaml(search: &Search) -> String {
    let mut out = format!("{}:", search.name);
    match &search.body {
        SearchBody::AllOf(items) => {
            out.push('\n');
            write_items(&mut out, items, "    ", "    ");
        }
        SearchBody::AnyOf(groups) => {
            out.push('\n');
            for g in groups {
                write_items(&mut out, g, "    - ", "      ");
            }
        }
        SearchBody::Keywords(item) => {
            if item.modifiers.is_empty() {
                out.push('\n');
                for v in &item.values {
                    let _ = writeln!(out, "    - {}", quote_value(&v.kind));
                }
            } else {
                out.push('\n');
                write_items(&mut out, std::slice::from_ref(item), "    ", "    ");
            }
        }
    }
    out
}

/// The whole detection block, with the normalised condition(s).
pub fn detection_yaml(detection: &Detection) -> String {
    let mut out = String::from("detection:\n");
    for s in &detection.searches {
        for line in search_yaml(s).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    match detection.conditions.as_slice() {
        [one] => {
            let _ = writeln!(out, "    condition: {}", quote_str(&one.expr.to_string()));
        }
        many => {
            out.push_str("    condition:\n");
            for c in many {
                let _ = writeln!(out, "        - {}", quote_str(&c.expr.to_string()));
            }
        }
    }
    out
}
