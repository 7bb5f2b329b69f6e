//! Which checks run: `--select`/`--ignore` and the `[check]` table of a `sigil.toml` in the rule repository.
//!
//! ```toml
//! # sigil.toml
//! [check]
//! select = ["ALL"]                    # codes (SG301), prefixes (SG3, SG30), families (detection), names
//! ignore = ["SG212", "bad-logsource"] # same forms; ignore wins over select
//! ```
//!
//! A selector may be `ALL`, a code (`SG301`, any case), a code prefix (`SG3`, `SG30`), a family name (`file`,
//! `metadata`, `detection`, `references`) or a check name (`unknown-modifier`). Command-line `--select`
//! replaces the file's `select`; `--ignore` adds to its `ignore`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sigil_diagnostics::Code;

use crate::registry::{Family, REGISTRY};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The `sigil.toml` read.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unexpected keys or value types.
    #[error("{path}: {message}")]
    Parse {
        /// The `sigil.toml` read.
        path: PathBuf,
        /// The TOML parser's message, naming the line and column.
        message: String,
    },
    /// A selector (given) matches no code, code prefix, family or check name.
    #[error("unknown code, family or check name '{0}' (sigil check --explain lists them)")]
    UnknownSelector(String),
}

/// The file name looked for in the rule repository.
pub const FILE_NAME: &str = "sigil.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    check: CheckTable,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckTable {
    select: Option<Vec<String>>,
    #[serde(default)]
    ignore: Vec<String>,
}

/// A configuration: selectors as written, and the file they came from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The `sigil.toml` the selectors were read from; `None` for the defaults or command-line only.
    pub path: Option<PathBuf>,
    /// Selectors of the checks to run; `None` means all of them.
    pub select: Option<Vec<String>>,
    /// Selectors of checks not to run; wins over `select`.
    pub ignore: Vec<String>,
}

impl Config {
    /// Reads a `sigil.toml`.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`] (the message names the line and column).
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let file: File = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim().to_string() })?;
        Ok(Config { path: Some(path.to_path_buf()), select: file.check.select, ignore: file.check.ignore })
    }

    /// The `sigil.toml` of the repository holding `start`: the first found in `start` (a folder, or a file's
    /// folder) or one of its ancestors.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = std::path::absolute(start).ok()?;
        let dir = if start.is_dir() { start.as_path() } else { start.parent()? };
        dir.ancestors().map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
    }

    /// Applies command-line selectors: `select` replaces, `ignore` adds.
    #[must_use]
    pub fn with_args(mut self, select: &[String], ignore: &[String]) -> Config {
        if !select.is_empty() {
            self.select = Some(select.to_vec());
        }
        self.ignore.extend(ignore.iter().cloned());
        self
    }

    /// Resolves the selectors against the registry.
    ///
    /// # Errors
    /// [`ConfigError::UnknownSelector`] for a selector that matches no check.
    pub fn selection(&self) -> Result<Selection, ConfigError> {
        let resolve = |sel: &[String]| -> Result<Vec<Code>, ConfigError> {
            let mut out = Vec::new();
            for s in sel {
                let matched = codes_of(s);
                if matched.is_empty() {
                    return Err(ConfigError::UnknownSelector(s.clone()));
                }
                out.extend(matched);
            }
            Ok(out)
        };
        let selected = match &self.select {
            Some(s) => resolve(s)?,
            None => REGISTRY.iter().map(|c| c.code).collect(),
        };
        let ignored = resolve(&self.ignore)?;
        Ok(Selection { enabled: selected.into_iter().filter(|c| !ignored.contains(c)).collect() })
    }
}

fn codes_of(selector: &str) -> Vec<Code> {
    let s = selector.trim();
    if s.eq_ignore_ascii_case("all") {
        return REGISTRY.iter().map(|c| c.code).collect();
    }
    if let Some(f) = Family::ALL.iter().find(|f| f.name().eq_ignore_ascii_case(s)) {
        return REGISTRY.iter().filter(|c| c.family == *f).map(|c| c.code).collect();
    }
    let upper = s.to_ascii_uppercase();
    REGISTRY
        .iter()
        .filter(|c| c.name == s || (upper.len() >= 3 && upper.starts_with("SG") && c.code.0.starts_with(&upper)))
        .map(|c| c.code)
        .collect()
}

/// The enabled codes.
#[derive(Debug, Clone)]
pub struct Selection {
    enabled: Vec<Code>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection { enabled: REGISTRY.iter().map(|c| c.code).collect() }
    }
}

impl Selection {
    /// Whether the check with this code runs.
    pub fn is_enabled(&self, code: Code) -> bool {
        self.enabled.contains(&code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(select: &[&str], ignore: &[&str]) -> Result<Selection, ConfigError> {
        let s: Vec<String> = select.iter().map(|s| s.to_string()).collect();
        let i: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        Config::default().with_args(&s, &i).selection()
    }

    #[test]
    fn selectors_by_code_prefix_family_and_name() {
        let s = sel(&["SG3"], &["unused-identifier"]).unwrap();
        assert!(s.is_enabled(Code("SG301")));
        assert!(!s.is_enabled(Code("SG307")));
        assert!(!s.is_enabled(Code("SG204")));
        let s = sel(&["metadata", "sg401"], &[]).unwrap();
        assert!(s.is_enabled(Code("SG204")) && s.is_enabled(Code("SG401")) && !s.is_enabled(Code("SG404")));
        let s = sel(&[], &["ALL"]).unwrap();
        assert!(!s.is_enabled(Code("SG101")));
        assert!(Selection::default().is_enabled(Code("SG405")));
    }

    #[test]
    fn unknown_selectors_are_errors() {
        assert!(matches!(sel(&["SG999"], &[]), Err(ConfigError::UnknownSelector(s)) if s == "SG999"));
        assert!(matches!(sel(&[], &["nope"]), Err(ConfigError::UnknownSelector(_))));
        assert!(sel(&["S"], &[]).is_err());
    }

    #[test]
    fn config_file_is_found_upwards_and_strict() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rules/windows")).unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "[check]\nignore = [\"SG212\"]\n").unwrap();
        let found = Config::discover(&dir.path().join("rules/windows")).unwrap();
        let c = Config::read(&found).unwrap();
        assert!(!c.selection().unwrap().is_enabled(Code("SG212")));
        std::fs::write(dir.path().join(FILE_NAME), "[check]\nignor = [\"SG212\"]\n").unwrap();
        let e = Config::read(&found).unwrap_err().to_string();
        assert!(e.contains("sigil.toml") && e.contains("ignor"), "{e}");
    }
}
