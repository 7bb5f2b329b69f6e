"""sigil's Sigma engine: exact Sigma detections over Arrow record batches, for Spark and Ray workers.

Rows have the layout of ``sigil export``: ``event_index, source, record_id, timestamp, computer, channel,
provider, event_id, fields`` (a map of every flattened field to its value as text), and optionally ``kind`` (the
record kind of a non-Windows event). Only ``fields`` is required. See docs/python.md for Spark and Ray recipes.
"""

import os
from typing import Any, Iterator, Optional, Sequence, Union

import pyarrow

__version__: str

_Path = Union[str, os.PathLike[str]]
_ArrowBatch = Any  # anything with __arrow_c_array__ (pyarrow.RecordBatch) or __arrow_c_stream__ (pyarrow.Table)

class SigilError(Exception):
    """An error of sigil. ``file`` and ``position`` say where, when known."""

    file: Optional[str]
    position: Optional[dict[str, int]]

class RuleError(SigilError):
    """Rules, a mapping or a placeholders file that cannot be used (``file`` names it)."""

class EventReadError(SigilError):
    """A part of an event input that cannot be read. ``position`` is ``{"chunk", "record_id", "offset"}`` for
    EVTX, ``{"line"}`` for JSONL and text logs, ``{"value", "line", "offset"}`` for JSON."""

class ReadWarning(UserWarning):
    """A part of an event input was skipped (``errors="warn"``)."""

class Engine:
    """Sigma rules compiled once, with the loader and routing of ``sigil hunt``.

    Picklable: it pickles as the texts of its rule, mapping and placeholders files, and unpickling compiles them
    once per process, so a Spark or Ray worker needs no access to the driver's files and compiles once however
    many tasks it runs.
    """

    def __init__(
        self,
        rules: Union[_Path, Sequence[_Path]],
        mapping: Union[_Path, Sequence[_Path], None] = None,
        placeholders: Optional[_Path] = None,
        min_level: Optional[str] = None,
        all_logsources: bool = False,
    ) -> None:
        """Compile the rules under ``rules`` (files, or folders walked for .yml/.yaml).

        Raises FileNotFoundError for a path that does not exist, RuleError for an invalid mapping or
        placeholders file or a folder without rules.
        """

    @property
    def report(self) -> dict[str, Any]:
        """``{"compiled", "below_level", "skipped": [{"path", "title", "kind", "reason"}], "unrouted":
        [{"logsource", "rules": [{"path", "title"}], "why"}], "filters", "warnings"}``."""

    @property
    def rules(self) -> list[dict[str, Any]]:
        """The compiled rules: ``{"id", "name", "title", "level", "path", "correlation"}`` each."""

    def match_arrow(self, batch: _ArrowBatch) -> pyarrow.RecordBatch:
        """Detections on the rows of ``batch``: one row per (event, rule) with ``row`` (position in the batch),
        ``event_index``, ``source``, ``record_id`` (from the input), ``rule_id``, ``rule_title``, ``level``,
        ``rule_path`` (schema: ``sigil.match_schema()``). A pyarrow.Table or stream gives a pyarrow.Table."""

    def correlation_keys(self, batch: _ArrowBatch) -> pyarrow.RecordBatch:
        """``(row, correlation, group_key)`` for each row that a rule referenced by a correlation rule matches:
        shuffle rows by ``(correlation, group_key)`` and give each group to ``correlate``."""

    def correlate(self, batch: _ArrowBatch, correlation: Optional[str] = None) -> pyarrow.RecordBatch:
        """Correlation alerts over the events of ``batch`` (one group), in time order (schema:
        ``sigil.alert_schema()``); ``correlation`` keeps that correlation's alerts only."""

class Reader(Iterator[pyarrow.RecordBatch]):
    def __iter__(self) -> "Reader": ...
    def __next__(self) -> pyarrow.RecordBatch: ...

def read(path: _Path, batch_rows: int = 8192, errors: str = "warn") -> Reader:
    """Record batches of the flat events of an event file (.evtx, .json, .jsonl, gzip, cloud, Linux and web logs;
    format from the name, else the content). ``errors``: "warn" (sigil.ReadWarning), "raise"
    (sigil.EventReadError) or "ignore" for the parts that cannot be read."""

def read_bytes(name: str, data: bytes, batch_rows: int = 8192, errors: str = "warn") -> Reader:
    """As ``read``, for an input's bytes; ``name`` gives the format by its extension and is each row's
    ``source``."""

def event_schema() -> pyarrow.Schema:
    """The layout of ``sigil export`` and ``sigil.read``."""

def match_schema() -> pyarrow.Schema:
    """The schema of ``Engine.match_arrow``'s result."""

def key_schema() -> pyarrow.Schema:
    """The schema of ``Engine.correlation_keys``'s result."""

def alert_schema() -> pyarrow.Schema:
    """The schema of ``Engine.correlate``'s result."""
