//! Loading rule sets: walks files and folders and parses them in parallel.
//!
//! [`load`] is the one way rules enter sigil: the checker, the hunting engine and the catalog all use it, so a
//! file that fails for one fails the same way for all, with the same diagnostics. Nothing is silently dropped:
//! every file found is in [`RuleSet::files`], parsed or not. The loader knows no lint checks; a caller that
//! wants them (the CLI does) passes a [`Linter`], which runs on each file while its YAML nodes are still there,
//! and then on the whole set.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use sigil_diagnostics::{Diagnostic, FileDiagnostic, Position, Report};

use crate::{Document, Limits, ParsedFile, codes};

/// One rule file: where it is, its text, and what parsing made of it.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The file's path on disk (for in-memory text, the name given).
    pub path: PathBuf,
    /// The path as shown to users (as given on the command line, joined with the walked part).
    pub display_path: String,
    /// The file's text (empty when it could not be read or is not UTF-8), without a byte order mark.
    pub source: Arc<str>,
    /// The documents, and the diagnostics of the parser and of the linter's per-file checks.
    pub parsed: ParsedFile,
    /// Diagnostics that need the whole set (duplicate ids, unknown references).
    pub set_diagnostics: Vec<Diagnostic>,
}

impl RuleFile {
    /// Parses in-memory text as if it were the file `name`.
    pub fn from_text(name: &str, text: &str, limits: &Limits) -> Self {
        RuleFile {
            path: PathBuf::from(name),
            display_path: name.to_string(),
            source: Arc::from(text.strip_prefix('\u{feff}').unwrap_or(text)),
            parsed: crate::parse_bytes(text.as_bytes(), limits),
            set_diagnostics: vec![],
        }
    }

    /// The file's diagnostics: the parser's and per-file checks' first, then the set checks'.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.parsed.diagnostics.iter().chain(&self.set_diagnostics)
    }

    /// Whether any of its diagnostics is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics().any(Diagnostic::is_error)
    }
}

/// Every file of a load, in a stable order (sorted by path within each given root, roots in the order given).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The files, in load order.
    pub files: Vec<RuleFile>,
}

impl RuleSet {
    /// Every document with the file it came from.
    pub fn documents(&self) -> impl Iterator<Item = (&RuleFile, &Document)> {
        self.files.iter().flat_map(|f| f.parsed.documents.iter().map(move |d| (f, d)))
    }

    /// Every diagnostic, attached to its file, ordered by file then position.
    pub fn diagnostics(&self) -> Vec<FileDiagnostic> {
        let mut out = Vec::new();
        for f in &self.files {
            let mut ds: Vec<&Diagnostic> = f.diagnostics().collect();
            ds.sort_by_key(|d| d.position);
            out.extend(ds.into_iter().map(|d| FileDiagnostic::new(f.display_path.clone(), d.clone())));
        }
        out
    }

    /// Frees the set on all cores: the models of thousands of rules are hundreds of thousands of allocations,
    /// tens of milliseconds to free on one core.
    pub fn free(self) {
        self.files.into_par_iter().for_each(drop);
    }

    /// The JSON report of the set: file and document counts and every diagnostic.
    pub fn report(&self) -> Report {
        let rules = self.files.iter().map(|f| f.parsed.documents.len()).sum();
        Report::new(self.files.len(), rules, self.diagnostics())
    }
}

/// Checks run while loading: `file` on each file (in parallel, with [`ParsedFile::nodes`] still present), then
/// `set` once on the whole set. `sigil_check::LINTER` is the linter of sigil.
#[derive(Debug, Clone, Copy)]
pub struct Linter {
    /// Per-file checks; add their findings to [`ParsedFile::diagnostics`].
    pub file: fn(&mut RuleFile),
    /// Whole-set checks; add their findings to each file's [`RuleFile::set_diagnostics`].
    pub set: fn(&mut RuleSet),
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Resource limits for parsing each file.
    pub limits: Limits,
    /// Lint checks to run; `None` keeps only the parser's diagnostics.
    pub linter: Option<Linter>,
    /// Keep [`ParsedFile::nodes`] after loading (editors and fixers need them; the engine and catalog do not).
    pub keep_nodes: bool,
}

/// Why a path found while walking could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The path does not exist.
    #[error("no such file or directory")]
    NotFound,
    /// Walking failed (permissions, a symlink loop, ...); the text is the walker's message.
    #[error("{0}")]
    Walk(String),
}

/// Whether a path names a rule file by its extension.
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Finds rule files under the given paths. A path that is a file is taken whatever its extension; folders are
/// walked recursively for `.yml`/`.yaml`, in sorted order, following no symlinks out of the tree. Paths that do
/// not exist or cannot be walked are returned as unreadable entries so they are reported, not dropped.
pub fn discover(paths: &[PathBuf]) -> Vec<(PathBuf, Result<(), WalkError>)> {
    let mut out = Vec::new();
    // A file reached twice (`--rules rules --rules rules/windows`, or through a symlink) is listed once, where
    // it was first reached, so that no rule is loaded, run or counted twice.
    let mut seen = std::collections::HashSet::new();
    for root in paths {
        if root.is_file() {
            if seen.insert(std::fs::canonicalize(root).unwrap_or_else(|_| root.clone())) {
                out.push((root.clone(), Ok(())));
            }
            continue;
        }
        if !root.exists() {
            out.push((root.clone(), Err(WalkError::NotFound)));
            continue;
        }
        // The walk follows no symlink below the root (a symlinked file or folder is not a file or folder to
        // it), so a file's canonical path is the root's joined with the walked part: one `canonicalize` per
        // root instead of one per file (each resolves every component of the path).
        let canonical_root = std::fs::canonicalize(root).ok();
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            match entry {
                Ok(e) if e.file_type().is_file() && is_rule_file(e.path()) => {
                    let canonical = match (&canonical_root, e.path().strip_prefix(root)) {
                        (Some(base), Ok(rel)) => base.join(rel),
                        _ => std::fs::canonicalize(e.path()).unwrap_or_else(|_| e.path().to_path_buf()),
                    };
                    if seen.insert(canonical) {
                        out.push((e.into_path(), Ok(())));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let path = e.path().map_or_else(|| root.clone(), Path::to_path_buf);
                    out.push((path, Err(WalkError::Walk(e.to_string()))));
                }
            }
        }
    }
    out
}

/// Whether [`discover`] finds at least one rule file under `path`; stops at the first one, so it costs a few
/// directory reads where `discover` walks (and resolves) the whole tree.
pub fn holds_rule_file(path: &Path) -> bool {
    if path.is_file() {
        return true;
    }
    walkdir::WalkDir::new(path)
        .into_iter()
        .filter_map(Result::ok)
        .any(|e| e.file_type().is_file() && is_rule_file(e.path()))
}

/// Loads and parses every rule file under `paths`, in parallel, running the options' linter if any.
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    let found = discover(paths);
    let files: Vec<RuleFile> = found
        .into_par_iter()
        .map(|(path, walk)| {
            let mut file = load_file(path, walk, &opts.limits);
            finish_file(&mut file, opts);
            file
        })
        .collect();
    finish_set(RuleSet { files }, opts)
}

/// Parses in-memory rule text (bundled examples, tests) as if each were a file at its name.
pub fn load_texts(texts: &[(&str, &str)], opts: &LoadOptions) -> RuleSet {
    let files = texts
        .iter()
        .map(|(name, text)| {
            let mut file = RuleFile::from_text(name, text, &opts.limits);
            finish_file(&mut file, opts);
            file
        })
        .collect();
    finish_set(RuleSet { files }, opts)
}

fn finish_file(file: &mut RuleFile, opts: &LoadOptions) {
    if let Some(linter) = opts.linter {
        (linter.file)(file);
    }
    if !opts.keep_nodes {
        file.parsed.nodes = Vec::new();
    }
}

fn finish_set(mut set: RuleSet, opts: &LoadOptions) -> RuleSet {
    if let Some(linter) = opts.linter {
        (linter.set)(&mut set);
    }
    set
}

fn load_file(path: PathBuf, walk: Result<(), WalkError>, limits: &Limits) -> RuleFile {
    let display_path = path.display().to_string();
    let unreadable = |message: String| ParsedFile {
        documents: vec![],
        nodes: vec![],
        diagnostics: vec![Diagnostic::error(codes::UNREADABLE_FILE, Position::UNKNOWN, message)],
    };
    let (source, parsed) = match walk {
        Err(e) => (Arc::from(""), unreadable(format!("cannot read: {e}"))),
        Ok(()) => match read_limited(&path, limits.max_file_bytes) {
            Err(e) => (Arc::from(""), unreadable(format!("cannot read: {e}"))),
            Ok(bytes) => {
                let parsed = crate::parse_bytes(&bytes, limits);
                let text = match String::from_utf8(bytes) {
                    Ok(t) => Arc::from(t.strip_prefix('\u{feff}').unwrap_or(&t)),
                    Err(_) => Arc::from(""),
                };
                (text, parsed)
            }
        },
    };
    RuleFile { path, display_path, source, parsed, set_diagnostics: vec![] }
}

/// Reads at most `limit + 1` bytes so a huge file is rejected without being read whole.
fn read_limited(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    // Room for the whole file up front (as `std::fs::read` does): reading into a growing buffer costs several
    // reads and copies per file, and a rule set is thousands of small files.
    let size = file.metadata().map_or(0, |m| m.len()).min(limit as u64 + 1);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(paths: &[PathBuf], root: &Path) -> Vec<String> {
        discover(paths)
            .into_iter()
            .map(|(p, r)| {
                assert!(r.is_ok(), "{p:?}: {r:?}");
                p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn a_file_reached_twice_is_listed_once_where_first_reached() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("rules/sub")).unwrap();
        for f in ["rules/a.yml", "rules/sub/b.yaml", "rules/sub/notes.txt"] {
            std::fs::write(root.join(f), "title: t\n").unwrap();
        }
        // A folder inside another given root, given again with `.` and `..` in its path, and a file given alone.
        let paths =
            [root.join("rules/sub"), root.join("rules"), root.join("rules/./sub/../sub"), root.join("rules/a.yml")];
        assert_eq!(found(&paths, root), ["rules/sub/b.yaml", "rules/a.yml"]);
        // The file given first, then its folder.
        assert_eq!(found(&[root.join("rules/a.yml"), root.join("rules")], root), ["rules/a.yml", "rules/sub/b.yaml"]);
        // Whether a path holds a rule file agrees with what discover finds.
        std::fs::create_dir_all(root.join("empty/deep")).unwrap();
        std::fs::write(root.join("empty/deep/notes.txt"), "").unwrap();
        for path in [root.join("rules"), root.join("rules/sub"), root.join("empty"), root.join("rules/sub/notes.txt")] {
            let any = discover(std::slice::from_ref(&path)).iter().any(|(_, r)| r.is_ok());
            assert_eq!(holds_rule_file(&path), any, "{path:?}");
        }
        assert!(!holds_rule_file(&root.join("empty")));
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_reached_through_a_symlink_is_the_same_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("rules")).unwrap();
        std::fs::write(root.join("rules/a.yml"), "title: t\n").unwrap();
        std::os::unix::fs::symlink(root.join("rules"), root.join("link")).unwrap();
        // Given as a root, the symlink is followed (and its files are the folder's); below a root it is not.
        assert_eq!(found(&[root.join("link"), root.join("rules")], root), ["link/a.yml"]);
        assert_eq!(found(&[root.to_path_buf()], root), ["rules/a.yml"]);
        std::os::unix::fs::symlink(root.join("rules/a.yml"), root.join("rules/b.yml")).unwrap();
        assert_eq!(found(&[root.join("rules"), root.join("rules/b.yml")], root), ["rules/a.yml"]);
    }
}
