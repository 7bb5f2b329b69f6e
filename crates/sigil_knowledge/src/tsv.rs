//! A minimal reader for the tab-separated tables under `data/`.
//!
//! Layout: `#@ key<TAB>value` lines carry metadata, other `#` lines are comments, blank lines are skipped, and
//! every other line is a row with exactly the table's number of columns.

use crate::error::{Error, Result};

pub(crate) struct Table {
    pub(crate) meta: Vec<(&'static str, &'static str)>,
    pub(crate) rows: Vec<Row>,
}

pub(crate) struct Row {
    pub(crate) line: usize,
    pub(crate) cols: Vec<&'static str>,
}

impl Table {
    pub(crate) fn meta(&self, key: &str) -> Option<&'static str> {
        self.meta.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl Row {
    /// Column `i`, or "" when absent (rows are checked for their column count, so this is only a guard).
    pub(crate) fn col(&self, i: usize) -> &'static str {
        self.cols.get(i).copied().unwrap_or_default()
    }
}

pub(crate) fn parse(origin: &str, text: &'static str, columns: usize) -> Result<Table> {
    let mut meta = Vec::new();
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if let Some(rest) = line.strip_prefix("#@") {
            let rest = rest.trim_start();
            let (key, value) = rest.split_once('\t').unwrap_or((rest, ""));
            meta.push((key.trim(), value.trim()));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&'static str> = line.split('\t').collect();
        if cols.len() != columns {
            return Err(Error::data(
                origin,
                line_no,
                1,
                format!("expected {columns} tab-separated columns, found {}", cols.len()),
            ));
        }
        rows.push(Row { line: line_no, cols });
    }
    Ok(Table { meta, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meta_comments_and_rows() {
        let t = parse("t.tsv", "#@ version\tv1\n# a\tcomment\n\na\tb\n\tc\n", 2).unwrap();
        assert_eq!(t.meta("version"), Some("v1"));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].cols, ["", "c"]);
        assert_eq!(t.rows[1].line, 5);
    }

    #[test]
    fn wrong_column_count_names_the_line() {
        let err = parse("t.tsv", "a\tb\nc\n", 2).err().unwrap();
        assert_eq!(err.to_string(), "t.tsv:2:1: expected 2 tab-separated columns, found 1");
    }
}
