//! Rule sources: the `--rules [NAME=]PATH` arguments of a catalog.
//!
//! A catalog holds several sources at once (SigmaHQ, a team's private rules, Hayabusa's rules, ...). Each source
//! has a name, shown beside corpus counts ("corpus 2 (sigma 2)"), and one or more paths. Arguments naming the same
//! source merge, so `--rules sigma=rules --rules sigma=rules-threat-hunting` is one source of two folders.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// One named rule source: files and folders loaded together.
///
/// Invariant: `name` is never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSpec {
    /// The name shown on pages and in corpus counts (`sigma`, `team`, `hayabusa`).
    pub name: String,
    /// Files and folders (folders are walked recursively for `.yml` and `.yaml`).
    pub paths: Vec<PathBuf>,
}

impl SourceSpec {
    /// A source from a name and paths; an empty name becomes `rules`.
    pub fn new(name: impl Into<String>, paths: Vec<PathBuf>) -> Self {
        let name = name.into();
        SourceSpec { name: if name.trim().is_empty() { "rules".to_string() } else { name }, paths }
    }

    /// Parses one `--rules` argument: `NAME=PATH` or `PATH`.
    ///
    /// `NAME=PATH` applies when the text before the first `=` is a plain name (letters, digits, `_`, `-`, `.`)
    /// and the whole argument is not an existing path. Without a name, the source is named after the folder
    /// (for a file, the folder it is in). A last path component with `*` or `?` that names no existing file is
    /// expanded here, so `sigma=corpus/rules*` works although the shell leaves it alone; without a name, every
    /// match becomes its own source.
    pub fn parse(arg: &str) -> Vec<SourceSpec> {
        if let Some((name, path)) = split_named(arg) {
            let paths = expand(Path::new(path));
            return vec![SourceSpec::new(name, paths)];
        }
        expand(Path::new(arg)).into_iter().map(|p| SourceSpec::new(default_name(&p), vec![p])).collect()
    }

    /// Parses every `--rules` argument; sources with the same name merge, in first-seen order.
    pub fn parse_all<I, S>(args: I) -> Vec<SourceSpec>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out: Vec<SourceSpec> = Vec::new();
        for arg in args {
            for spec in SourceSpec::parse(arg.as_ref()) {
                match out.iter_mut().find(|s| s.name == spec.name) {
                    Some(existing) => {
                        for p in spec.paths {
                            if !existing.paths.contains(&p) {
                                existing.paths.push(p);
                            }
                        }
                    }
                    None => out.push(spec),
                }
            }
        }
        out
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn split_named(arg: &str) -> Option<(&str, &str)> {
    let (name, path) = arg.split_once('=')?;
    if !is_name(name) || path.is_empty() || Path::new(arg).exists() {
        return None;
    }
    Some((name, path))
}

/// The default name of a source: the folder's name, or for a file the name of the folder holding it.
pub fn default_name(path: &Path) -> String {
    let folder = if path.is_file() { path.parent().map(Path::to_path_buf) } else { Some(path.to_path_buf()) };
    let folder = folder.filter(|f| !f.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."));
    let named = folder.file_name().map(|n| n.to_string_lossy().into_owned());
    let named = named.filter(|n| n != "." && n != "..").or_else(|| {
        std::fs::canonicalize(&folder).ok().and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
    });
    named.filter(|n| !n.is_empty()).unwrap_or_else(|| "rules".to_string())
}

/// Expands `*` and `?` in the last component of a path that does not exist; otherwise returns it unchanged.
fn expand(path: &Path) -> Vec<PathBuf> {
    let Some(last) = path.file_name().and_then(|n| n.to_str()) else {
        return vec![path.to_path_buf()];
    };
    if path.exists() || !last.contains(['*', '?']) {
        return vec![path.to_path_buf()];
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return vec![path.to_path_buf()];
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| glob_match(last, n)))
        .map(|e| {
            if path.parent().is_some_and(|p| p.as_os_str().is_empty()) {
                PathBuf::from(e.file_name())
            } else {
                e.path()
            }
        })
        .collect();
    found.sort();
    if found.is_empty() { vec![path.to_path_buf()] } else { found }
}

/// Shell-style matching of a whole name: `*` any run, `?` one character.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_and_unnamed_arguments() {
        let dir = std::env::temp_dir().join(format!("sigil-catalog-src-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rules-a")).unwrap();
        std::fs::create_dir_all(dir.join("rules-b")).unwrap();
        std::fs::write(dir.join("rules-a/x.yml"), "title: x").unwrap();
        let d = dir.display();

        let s = SourceSpec::parse(&format!("team={d}/rules-a"));
        assert_eq!(s, vec![SourceSpec::new("team", vec![dir.join("rules-a")])]);

        let s = SourceSpec::parse(&format!("{d}/rules-a"));
        assert_eq!(s[0].name, "rules-a");
        let s = SourceSpec::parse(&format!("{d}/rules-a/x.yml"));
        assert_eq!(s[0].name, "rules-a");

        // Globs the shell did not expand (because of the NAME= prefix) are expanded here.
        let s = SourceSpec::parse(&format!("sigma={d}/rules-*"));
        assert_eq!(s, vec![SourceSpec::new("sigma", vec![dir.join("rules-a"), dir.join("rules-b")])]);
        let s = SourceSpec::parse(&format!("{d}/rules-?"));
        assert_eq!(s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["rules-a", "rules-b"]);

        let merged =
            SourceSpec::parse_all([format!("s={d}/rules-a"), format!("s={d}/rules-b"), format!("s={d}/rules-a")]);
        assert_eq!(merged, vec![SourceSpec::new("s", vec![dir.join("rules-a"), dir.join("rules-b")])]);

        // Not a name: a path with a slash before '='.
        let s = SourceSpec::parse("a/b=c");
        assert_eq!(s[0].paths, vec![PathBuf::from("a/b=c")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn globs() {
        assert!(glob_match("rules*", "rules"));
        assert!(glob_match("rules*", "rules-threat-hunting"));
        assert!(!glob_match("rules*", "deprecated"));
        assert!(glob_match("r?les", "rules"));
        assert!(glob_match("*a*b", "xxaxxb"));
        assert!(!glob_match("*a*b", "xxaxxbc"));
    }
}
