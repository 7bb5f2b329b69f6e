//! The sigil engine as a Python package (module `sigil`), for Spark, Ray and any Arrow-speaking Python.
//!
//! The bindings (`py.rs`, feature `python`, turned on by maturin through `pyproject.toml`) are a thin layer over
//! this crate's plain Rust, which the Rust tests exercise without Python:
//!
//! - [`Spec`]: what an engine is compiled from — the rule files' texts (as `sigil hunt --rules` loads them),
//!   `--mapping` files and a `--placeholders` file, read once. It is the engine's pickled form: a worker that
//!   unpickles an engine compiles it from the texts, so it never needs the driver's file system, and compiles it
//!   once per process ([`Spec::compile_cached`]).
//! - [`table`]: the engine over Arrow record batches in the layout of `sigil export`, and correlation by group.
//! - [`read`]: EVTX, JSON, JSONL, ... files or bytes as record batches of that layout.
//!
//! Why pickle the rule texts rather than build an engine per worker by hand: Spark and Ray ship a task's closure
//! by pickling it, so a picklable engine is what makes `df.mapInArrow(lambda it: ..., schema)` work as written;
//! the texts are a few MB for all of SigmaHQ, and compiling takes about a second, paid once per worker process.

#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sigil_engine::{BuildReport, Engine, EngineOptions};
use sigil_rule::Level;

pub mod read;
pub mod table;

#[cfg(feature = "python")]
mod py;

/// Why an engine cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A path given does not exist or cannot be read.
    #[error("{path}: {message}")]
    Path {
        /// The path as given.
        path: String,
        /// What went wrong with it.
        message: String,
    },
    /// A folder given as rules holds no rule file, or no rule at all was given.
    #[error("{0}")]
    NoRules(String),
    /// A mapping or placeholders file is invalid (the message names the file and position).
    #[error("{0}")]
    Invalid(String),
    /// The pickled form cannot be read.
    #[error("not a pickled sigil engine: {0}")]
    State(String),
}

/// What an engine is compiled from, with every file's text (see the crate docs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    /// `(path as shown, YAML text)` of each rule file, in the loader's order.
    pub rules: Vec<(String, String)>,
    /// `(path, TOML text)` of each mapping file, applied in order over the builtin routing.
    pub mappings: Vec<(String, String)>,
    /// `(path, YAML text)` of the placeholders file.
    pub placeholders: Option<(String, String)>,
    /// Rules below this level are not compiled (`informational`, `low`, ...).
    pub min_level: Option<String>,
    /// Run rules whose logsource has no route on every event.
    pub all_logsources: bool,
}

fn read_text(path: &Path) -> Result<String, SpecError> {
    std::fs::read_to_string(path)
        .map_err(|e| SpecError::Path { path: path.display().to_string(), message: e.to_string() })
}

impl Spec {
    /// Reads the rule files under `rules` (files, or folders walked for `.yml`/`.yaml`, as `--rules` takes them),
    /// the mapping files and the placeholders file.
    ///
    /// # Errors
    /// A path that does not exist, a rule folder without rules (when every folder is so), an unreadable file.
    pub fn from_paths(
        rules: &[PathBuf],
        mappings: &[PathBuf],
        placeholders: Option<&Path>,
        min_level: Option<&str>,
        all_logsources: bool,
    ) -> Result<Spec, SpecError> {
        if rules.is_empty() {
            return Err(SpecError::NoRules("no rules given: Engine(rules=[path, ...])".into()));
        }
        for p in rules {
            if !p.exists() {
                return Err(SpecError::Path {
                    path: p.display().to_string(),
                    message: "no such file or folder".into(),
                });
            }
        }
        if let Some(l) = min_level
            && level(l).is_none()
        {
            return Err(SpecError::Invalid(format!(
                "min_level {l:?}: expected informational, low, medium, high or critical"
            )));
        }
        let set = sigil_check::load(rules, &sigil_rule::LoadOptions::default());
        let texts: Vec<(String, String)> =
            set.files.iter().map(|f| (f.path.display().to_string(), f.source.to_string())).collect();
        if texts.is_empty() {
            let shown: Vec<String> = rules.iter().map(|p| p.display().to_string()).collect();
            return Err(SpecError::NoRules(format!("{}: no Sigma rule file (.yml, .yaml)", shown.join(", "))));
        }
        let mappings = mappings
            .iter()
            .map(|p| Ok((p.display().to_string(), read_text(p)?)))
            .collect::<Result<Vec<_>, SpecError>>()?;
        let placeholders = match placeholders {
            Some(p) => Some((p.display().to_string(), read_text(p)?)),
            None => None,
        };
        Ok(Spec { rules: texts, mappings, placeholders, min_level: min_level.map(str::to_string), all_logsources })
    }

    /// Compiles the engine as `sigil hunt` does: the same loader (with `sigil check`'s lints), duplicate rules
    /// dropped (the warnings are returned), the builtin routing with the mappings applied in order.
    ///
    /// # Errors
    /// An invalid mapping or placeholders file.
    pub fn compile(&self) -> Result<(Engine, BuildReport, Vec<String>), SpecError> {
        let mut knowledge =
            sigil_knowledge::Knowledge::builtin().map_err(|e| SpecError::Invalid(e.to_string()))?.clone();
        for (origin, text) in &self.mappings {
            knowledge = knowledge.with_mapping_str(origin, text).map_err(|e| SpecError::Invalid(e.to_string()))?;
        }
        let placeholders = match &self.placeholders {
            Some((origin, text)) => {
                sigil_engine::parse_placeholders(origin, text).map_err(|e| SpecError::Invalid(e.to_string()))?
            }
            None => sigil_ir::Placeholders::default(),
        };
        let refs: Vec<(&str, &str)> = self.rules.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let mut set = sigil_check::load_texts(&refs);
        let warnings: Vec<String> = sigil_check::drop_duplicates(&mut set).iter().map(ToString::to_string).collect();
        let opts = EngineOptions {
            min_level: self.min_level.as_deref().and_then(level),
            all_logsources: self.all_logsources,
            placeholders,
            no_prefilter: false,
            // Nothing here explains a detection.
            lean: true,
        };
        let (engine, report) = Engine::build(&set, &knowledge, &opts);
        Ok((engine, report, warnings))
    }

    /// The spec as bytes (the pickled form).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The spec from [`Spec::to_bytes`].
    ///
    /// # Errors
    /// When the bytes are not a spec.
    pub fn from_bytes(bytes: &[u8]) -> Result<Spec, SpecError> {
        serde_json::from_slice(bytes).map_err(|e| SpecError::State(e.to_string()))
    }

    /// [`Spec::compile`], once per process for equal specs: workers of Spark and Ray unpickle the engine for
    /// every task, and reuse their process across tasks.
    ///
    /// # Errors
    /// As [`Spec::compile`].
    pub fn compile_cached(&self) -> Result<Arc<Compiled>, SpecError> {
        static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, Arc<Compiled>>>> = OnceLock::new();
        let key = self.to_bytes();
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(c) = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return Ok(Arc::clone(c));
        }
        let (engine, report, warnings) = self.compile()?;
        let compiled = Arc::new(Compiled { spec: self.clone(), engine, report, warnings });
        let mut cache = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A few engines per process at most in practice; keep memory bounded anyway.
        if cache.len() >= 8 {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&compiled));
        Ok(compiled)
    }
}

/// An engine with what it was compiled from.
#[derive(Debug)]
pub struct Compiled {
    /// What the engine was compiled from (its pickled form).
    pub spec: Spec,
    /// The compiled engine.
    pub engine: Engine,
    /// What compiling found (rules skipped, logsources without route, ...).
    pub report: BuildReport,
    /// Duplicate rules dropped, as `sigil hunt` warns of them.
    pub warnings: Vec<String>,
}

fn level(name: &str) -> Option<Level> {
    Level::ALL.into_iter().find(|l| l.as_str().eq_ignore_ascii_case(name))
}

/// The build report as JSON: `{"compiled", "below_level", "skipped": [{"path", "title", "reason"}], "unrouted":
/// [{"logsource", "rules": [{"path", "title"}], "why"}], "filters", "warnings"}`.
pub fn report_json(c: &Compiled) -> serde_json::Value {
    use sigil_engine::SkipReason;
    let skipped: Vec<serde_json::Value> = c
        .report
        .skipped
        .iter()
        .map(|s| {
            let (kind, reason) = match &s.reason {
                SkipReason::FileErrors(first) => ("file_errors", first.clone()),
                SkipReason::Compile(e) => ("compile", e.to_string()),
                SkipReason::Correlation(e) => ("correlation", e.to_string()),
            };
            serde_json::json!({"path": s.path, "title": s.title, "kind": kind, "reason": reason})
        })
        .collect();
    let unrouted: Vec<serde_json::Value> = c
        .report
        .unrouted
        .iter()
        .map(|u| {
            let rules: Vec<serde_json::Value> =
                u.rules.iter().map(|(p, t)| serde_json::json!({"path": p, "title": t})).collect();
            serde_json::json!({"logsource": u.logsource, "rules": rules, "why": u.why})
        })
        .collect();
    serde_json::json!({
        "compiled": c.report.compiled,
        "below_level": c.report.below_level,
        "skipped": skipped,
        "unrouted": unrouted,
        "filters": c.report.filters,
        "warnings": c.warnings,
    })
}
