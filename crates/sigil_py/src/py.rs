//! The Python bindings: module `sigil`. Thin: every behaviour is in the crate's plain Rust (see `lib.rs`); this
//! file converts arguments, releases the GIL around the work, and turns errors into Python exceptions that carry
//! the file and position.

// pyo3's macros expand to unsafe FFI code inside this module; the rest of the crate forbids `unsafe`.
#![allow(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use pyo3_arrow::input::AnyRecordBatch;
use pyo3_arrow::{PyRecordBatch, PySchema, PyTable};
use sigil_events::{ReadError, ReadOptions};

use crate::read::{self, Item};
use crate::table::{self, TableError};
use crate::{Compiled, Spec, SpecError};

create_exception!(sigil, SigilError, PyException, "An error of sigil; `file` and `position` say where, when known.");
create_exception!(sigil, RuleError, SigilError, "Rules, a mapping or a placeholders file that cannot be used.");
create_exception!(sigil, EventReadError, SigilError, "A part of an event input that cannot be read.");
create_exception!(sigil, ReadWarning, PyUserWarning, "A part of an event input was skipped (errors=\"warn\").");

/// An exception of type `T` with `file` and `position` attributes.
fn error_with<T: pyo3::PyTypeInfo>(
    py: Python<'_>,
    message: String,
    file: Option<String>,
    position: Option<Py<PyAny>>,
) -> PyErr {
    let err = PyErr::new::<T, _>(message);
    let value = err.value(py);
    let _ = value.setattr("file", file);
    let _ = value.setattr("position", position);
    err
}

fn spec_error(py: Python<'_>, e: SpecError) -> PyErr {
    let file = match &e {
        SpecError::Path { path, .. } => Some(path.clone()),
        _ => None,
    };
    match e {
        SpecError::Path { path, message } if message.contains("no such file") => {
            PyErr::new::<pyo3::exceptions::PyFileNotFoundError, _>((2, message, path))
        }
        e => error_with::<RuleError>(py, e.to_string(), file, None),
    }
}

fn table_error(py: Python<'_>, e: TableError) -> PyErr {
    error_with::<SigilError>(py, e.to_string(), None, None)
}

/// `{"chunk", "record_id", "offset"}`, `{"line"}` or `{"value", "line", "offset"}`: where in the input.
fn position(py: Python<'_>, e: &ReadError) -> Option<Py<PyAny>> {
    let d = PyDict::new(py);
    let ok = match e {
        ReadError::EvtxChunk { chunk, .. } => d.set_item("chunk", chunk),
        ReadError::EvtxRecord { chunk, record_id, offset, .. } => d
            .set_item("chunk", chunk)
            .and_then(|()| d.set_item("record_id", record_id))
            .and_then(|()| d.set_item("offset", offset)),
        ReadError::JsonLine { line, .. } | ReadError::TextLine { line, .. } => d.set_item("line", line),
        ReadError::Json { index, line, offset, .. } => d
            .set_item("value", index)
            .and_then(|()| d.set_item("line", line))
            .and_then(|()| d.set_item("offset", offset)),
        _ => return None,
    };
    ok.ok().map(|()| d.into_any().unbind())
}

fn read_error(py: Python<'_>, e: &ReadError) -> PyErr {
    error_with::<EventReadError>(py, e.to_string(), Some(e.path().display().to_string()), position(py, e))
}

fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (v.to_string(),))?.unbind())
}

/// `str`/`os.PathLike`, or a list of them.
#[derive(FromPyObject)]
enum Paths {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl Paths {
    fn into_vec(self) -> Vec<PathBuf> {
        match self {
            Paths::One(p) => vec![p],
            Paths::Many(v) => v,
        }
    }
}

/// Compiled Sigma rules. See the module docs and `sigil.pyi`.
#[pyclass(module = "sigil", name = "Engine", frozen)]
struct PyEngine {
    inner: Arc<Compiled>,
}

fn batch_out(py: Python<'_>, b: RecordBatch) -> PyResult<Py<PyAny>> {
    Ok(PyRecordBatch::new(b).into_pyarrow(py)?.unbind())
}

impl PyEngine {
    /// Runs `f` on each batch of a RecordBatch or a stream (pyarrow Table, reader); a batch gives a batch, a
    /// stream a pyarrow Table.
    fn each_batch(
        &self,
        py: Python<'_>,
        data: AnyRecordBatch,
        schema: arrow_schema::SchemaRef,
        f: impl Fn(&Compiled, &RecordBatch) -> Result<RecordBatch, TableError> + Send + Sync,
    ) -> PyResult<Py<PyAny>> {
        let inner = Arc::clone(&self.inner);
        match data {
            AnyRecordBatch::RecordBatch(b) => {
                let b = b.into_inner();
                let out = py.detach(|| f(&inner, &b)).map_err(|e| table_error(py, e))?;
                batch_out(py, out)
            }
            AnyRecordBatch::Stream(s) => {
                let reader = s.into_reader()?;
                let mut out = Vec::new();
                for b in reader {
                    let b = b.map_err(|e| error_with::<SigilError>(py, e.to_string(), None, None))?;
                    out.push(py.detach(|| f(&inner, &b)).map_err(|e| table_error(py, e))?);
                }
                Ok(PyTable::try_new(out, schema)?.into_pyarrow(py)?.unbind())
            }
        }
    }
}

#[pymethods]
impl PyEngine {
    /// Engine(rules, mapping=None, placeholders=None, min_level=None, all_logsources=False)
    ///
    /// Compiles the Sigma rules under `rules` (files, or folders walked for .yml/.yaml) once, with the loader and
    /// routing of `sigil hunt`: `mapping` is a logsource mapping file or a list of them (`--mapping`),
    /// `placeholders` the values of `%placeholders%` (`--placeholders`). Rules that cannot be compiled are skipped
    /// and listed in `report`.
    ///
    /// Raises FileNotFoundError for a path that does not exist and sigil.RuleError for an invalid mapping or
    /// placeholders file (its `file` attribute names it).
    #[new]
    #[pyo3(signature = (rules, mapping=None, placeholders=None, min_level=None, all_logsources=false))]
    fn new(
        py: Python<'_>,
        rules: Paths,
        mapping: Option<Paths>,
        placeholders: Option<PathBuf>,
        min_level: Option<String>,
        all_logsources: bool,
    ) -> PyResult<PyEngine> {
        let rules = rules.into_vec();
        let mapping = mapping.map(Paths::into_vec).unwrap_or_default();
        let compiled = py
            .detach(|| {
                Spec::from_paths(&rules, &mapping, placeholders.as_deref(), min_level.as_deref(), all_logsources)?
                    .compile_cached()
            })
            .map_err(|e| spec_error(py, e))?;
        Ok(PyEngine { inner: compiled })
    }

    /// What compiling did: `{"compiled", "below_level", "skipped": [{"path", "title", "kind", "reason"}],
    /// "unrouted": [{"logsource", "rules": [{"path", "title"}], "why"}], "filters", "warnings"}`.
    #[getter]
    fn report(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, &crate::report_json(&self.inner))
    }

    /// The compiled rules: a list of `{"id", "name", "title", "level", "path", "correlation"}`.
    #[getter]
    fn rules(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let rules: Vec<serde_json::Value> = self
            .inner
            .engine
            .rules()
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.info.id, "name": r.info.name, "title": r.info.title,
                    "level": r.info.level.map(|l| l.as_str()), "path": r.info.path,
                    "correlation": r.is_correlation(),
                })
            })
            .collect();
        json_to_py(py, &serde_json::Value::from(rules))
    }

    /// match_arrow(batch) -> pyarrow.RecordBatch (a pyarrow.Table for a Table or stream)
    ///
    /// The detections on rows in the layout of `sigil export` (any Arrow record batch: pyarrow, or what Spark's
    /// mapInArrow and Ray's map_batches hand over): one row per (event, rule) with `row` (the row's position in
    /// the batch), `event_index`, `source`, `record_id` (from the input when it has them), `rule_id`,
    /// `rule_title`, `level`, `rule_path`. The batch crosses the boundary through the Arrow C data interface
    /// without a copy; the GIL is released while matching.
    fn match_arrow(&self, py: Python<'_>, batch: AnyRecordBatch) -> PyResult<Py<PyAny>> {
        self.each_batch(py, batch, table::match_schema(), |c, b| {
            let mut scratch = c.engine.scratch();
            table::match_batch(&c.engine, b, &mut scratch)
        })
    }

    /// correlation_keys(batch) -> pyarrow.RecordBatch of (row, correlation, group_key)
    ///
    /// For each row that a rule referenced by a correlation rule matches: the correlation (rule id, else name,
    /// else title) and its `group-by` values as a JSON array. Shuffle the rows by (correlation, group_key) and
    /// give each group to `correlate`.
    fn correlation_keys(&self, py: Python<'_>, batch: AnyRecordBatch) -> PyResult<Py<PyAny>> {
        self.each_batch(py, batch, table::key_schema(), |c, b| {
            let mut scratch = c.engine.scratch();
            table::correlation_keys(&c.engine, b, &mut scratch)
        })
    }

    /// correlate(batch, correlation=None) -> pyarrow.RecordBatch of alerts
    ///
    /// Evaluates the correlation rules over the events of the batch (all events of one group, see
    /// `correlation_keys`), in time order, and returns their alerts: `event_index`, `source`, `record_id` of the
    /// event that completed the alert, `rule_id`, `rule_title`, `level`, `rule_path`, `type`, `group` (JSON
    /// object), `value`, `first`, `last`. `correlation` keeps only that correlation's alerts.
    #[pyo3(signature = (batch, correlation=None))]
    fn correlate(&self, py: Python<'_>, batch: AnyRecordBatch, correlation: Option<String>) -> PyResult<Py<PyAny>> {
        // A group is correlated as a whole: the batches of a Table or stream are put together first.
        let one = match batch {
            AnyRecordBatch::RecordBatch(b) => AnyRecordBatch::RecordBatch(b),
            AnyRecordBatch::Stream(s) => {
                let reader = s.into_reader()?;
                let schema = reader.schema();
                let batches = reader
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| error_with::<SigilError>(py, e.to_string(), None, None))?;
                let all = arrow_select::concat::concat_batches(&schema, &batches)
                    .map_err(|e| error_with::<SigilError>(py, e.to_string(), None, None))?;
                let out = py
                    .detach(|| table::correlate(&self.inner.engine, &all, correlation.as_deref()))
                    .map_err(|e| table_error(py, e))?;
                return Ok(PyTable::try_new(vec![out], table::alert_schema())?.into_pyarrow(py)?.unbind());
            }
        };
        self.each_batch(py, one, table::alert_schema(), move |c, b| {
            table::correlate(&c.engine, b, correlation.as_deref())
        })
    }

    /// Pickles as the rule, mapping and placeholders texts; unpickling compiles them once per process.
    fn __reduce__(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, (Py<PyBytes>,))> {
        let f = py.import("sigil")?.getattr("_engine_from_state")?.unbind();
        Ok((f, (PyBytes::new(py, &self.inner.spec.to_bytes()).unbind(),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "<sigil.Engine: {} rules compiled, {} skipped>",
            self.inner.report.compiled,
            self.inner.report.skipped.len()
        )
    }
}

/// Rebuilds a pickled engine (see `Engine.__reduce__`).
#[pyfunction]
fn _engine_from_state(py: Python<'_>, state: &[u8]) -> PyResult<PyEngine> {
    let spec = Spec::from_bytes(state).map_err(|e| spec_error(py, e))?;
    let inner = py.detach(|| spec.compile_cached()).map_err(|e| spec_error(py, e))?;
    Ok(PyEngine { inner })
}

/// An iterator of pyarrow.RecordBatch of flat events (see `sigil.read`).
#[pyclass(module = "sigil", name = "Reader")]
struct PyReader {
    inner: Mutex<Option<read::Reader>>,
    errors: ErrorMode,
}

#[derive(Clone, Copy)]
enum ErrorMode {
    Warn,
    Raise,
    Ignore,
}

fn error_mode(s: &str) -> PyResult<ErrorMode> {
    match s {
        "warn" => Ok(ErrorMode::Warn),
        "raise" => Ok(ErrorMode::Raise),
        "ignore" => Ok(ErrorMode::Ignore),
        _ => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "errors={s:?}: expected \"warn\", \"raise\" or \"ignore\""
        ))),
    }
}

#[pymethods]
impl PyReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            let item = {
                let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let Some(reader) = guard.as_mut() else { return Ok(None) };
                let item = py.detach(|| reader.next());
                if item.is_none() {
                    *guard = None;
                }
                item
            };
            match item {
                None => return Ok(None),
                Some(Item::Batch(b)) => return batch_out(py, b).map(Some),
                Some(Item::Error(e)) => match self.errors {
                    ErrorMode::Ignore => {}
                    ErrorMode::Raise => return Err(read_error(py, &e)),
                    ErrorMode::Warn => {
                        let category = py.get_type::<ReadWarning>();
                        let message = std::ffi::CString::new(e.to_string()).unwrap_or_default();
                        PyErr::warn(py, category.as_any(), &message, 1)?;
                    }
                },
            }
        }
    }
}

fn reader(py: Python<'_>, open: Result<read::Reader, ReadError>, errors: &str) -> PyResult<PyReader> {
    let errors = error_mode(errors)?;
    let r = open.map_err(|e| read_error(py, &e))?;
    Ok(PyReader { inner: Mutex::new(Some(r)), errors })
}

/// read(path, batch_rows=8192, errors="warn") -> iterator of pyarrow.RecordBatch
///
/// Reads an event file (.evtx, .json, .jsonl, gzip, cloud/Linux/web logs; the format from its name, else its
/// content, as `sigil hunt`) into record batches in the layout of `sigil export`, `event_index` from 0. A part
/// that cannot be read (a corrupt EVTX chunk, a malformed line) is skipped with a sigil.ReadWarning, or raises
/// sigil.EventReadError (with `file` and `position`) when errors="raise". An unreadable file always raises.
#[pyfunction]
#[pyo3(name = "read", signature = (path, batch_rows=8192, errors="warn"))]
fn read_path(py: Python<'_>, path: PathBuf, batch_rows: usize, errors: &str) -> PyResult<PyReader> {
    let open = py.detach(|| read::open(&path, batch_rows, &ReadOptions::default()));
    reader(py, open, errors)
}

/// read_bytes(name, data, batch_rows=8192, errors="warn") -> iterator of pyarrow.RecordBatch
///
/// As `read`, for the bytes of an input (Spark's binaryFile `content`, an object from storage): `name` gives
/// the format by its extension (else the content does) and is the `source` of every row.
#[pyfunction]
#[pyo3(signature = (name, data, batch_rows=8192, errors="warn"))]
fn read_bytes(py: Python<'_>, name: String, data: Vec<u8>, batch_rows: usize, errors: &str) -> PyResult<PyReader> {
    let open = py.detach(|| read::from_bytes(&name, data, batch_rows, &ReadOptions::default()));
    reader(py, open, errors)
}

/// The pyarrow.Schema of `sigil export` and `sigil.read`.
#[pyfunction]
fn event_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(sigil_convert::export::schema()).into_pyarrow(py)?.unbind())
}

/// The pyarrow.Schema of `Engine.match_arrow`'s result (for Spark's mapInArrow).
#[pyfunction]
fn match_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(table::match_schema()).into_pyarrow(py)?.unbind())
}

/// The pyarrow.Schema of `Engine.correlation_keys`'s result.
#[pyfunction]
fn key_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(table::key_schema()).into_pyarrow(py)?.unbind())
}

/// The pyarrow.Schema of `Engine.correlate`'s result.
#[pyfunction]
fn alert_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(table::alert_schema()).into_pyarrow(py)?.unbind())
}

/// sigil's Sigma engine: exact Sigma detections over Arrow record batches, for Spark and Ray workers.
#[pymodule]
#[pyo3(name = "sigil")]
fn sigil_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyEngine>()?;
    m.add_class::<PyReader>()?;
    m.add_function(wrap_pyfunction!(read_path, m)?)?;
    m.add_function(wrap_pyfunction!(read_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(event_schema, m)?)?;
    m.add_function(wrap_pyfunction!(match_schema, m)?)?;
    m.add_function(wrap_pyfunction!(key_schema, m)?)?;
    m.add_function(wrap_pyfunction!(alert_schema, m)?)?;
    m.add_function(wrap_pyfunction!(_engine_from_state, m)?)?;
    m.add("SigilError", py.get_type::<SigilError>())?;
    m.add("RuleError", py.get_type::<RuleError>())?;
    m.add("EventReadError", py.get_type::<EventReadError>())?;
    m.add("ReadWarning", py.get_type::<ReadWarning>())?;
    Ok(())
}
