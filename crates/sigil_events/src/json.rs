//! JSON and JSONL input.
//!
//! Both read the input in blocks of about [`ReadOptions::batch_bytes`](crate::ReadOptions)
//! and cut each block at a boundary between events, so memory stays bounded by the block size
//! plus the largest event, whatever the input size. The cutting is the only sequential work;
//! parsing a block is a unit that can run on any thread.
//!
//! - JSONL: blocks end at a newline; each line is one object (or an array of objects).
//! - JSON: a small scanner finds where each top-level value ends (tracking strings and
//!   nesting only); a top-level array is split into its elements, so a multi-gigabyte array
//!   streams too. Several top-level values in a row (pretty-printed objects one after the
//!   other, as in the SigmaHQ regression data) are read one by one.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use memchr::{memchr_iter, memchr2, memrchr};

use crate::error::ReadError;
use crate::flatten::{Builder, Fallback};
use crate::source::{FileCtx, Sink};

/// How many leading bytes are checked for NUL bytes, which JSON text never holds.
const SNIFF_BYTES: usize = 4096;

/// One unit of JSON work.
pub(crate) enum JsonUnit {
    /// Whole lines of a JSONL input; `first_line` is the 1-based number of the first.
    Lines {
        buf: Vec<u8>,
        first_line: u64,
    },
    /// Whole values of a JSON input.
    Values {
        buf: Vec<u8>,
        items: Vec<ValueItem>,
    },
    Error(ReadError),
}

/// A value of a JSON unit, or an error found while splitting.
pub(crate) enum ValueItem {
    Value { start: usize, end: usize, index: u64, line: u64, offset: u64 },
    Error(ReadError),
}

/// The byte source shared by both formats.
struct Input {
    path: Arc<Path>,
    reader: Box<dyn Read + Send>,
    eof: bool,
    started: bool,
}

impl Input {
    /// Append up to `want` bytes to `buf`; sets `eof` when the input has no more. The first
    /// call drops a UTF-8 byte order mark and rejects UTF-16 and binary data.
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), ReadError> {
        let before = buf.len();
        let result = (&mut self.reader).take(want as u64).read_to_end(buf);
        let got = match result {
            Ok(got) => got,
            Err(source) => {
                self.eof = true;
                return Err(ReadError::Io { path: self.path.to_path_buf(), source });
            }
        };
        if got < want {
            self.eof = true;
        }
        if !self.started {
            self.started = true;
            if let Err(message) = check_text(buf, before) {
                self.eof = true;
                buf.truncate(before);
                return Err(ReadError::Format { path: self.path.to_path_buf(), message });
            }
        }
        Ok(())
    }
}

/// Reject input that is not UTF-8 text, and drop a UTF-8 byte order mark at `buf[start..]`.
fn check_text(buf: &mut Vec<u8>, start: usize) -> Result<(), String> {
    let head = buf.get(start..).unwrap_or_default();
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err("UTF-16 text is not supported: convert the file to UTF-8".into());
    }
    if head.starts_with(b"ElfFile\0") {
        return Err("this is an EVTX file, not JSON: name it *.evtx".into());
    }
    if head.iter().take(SNIFF_BYTES).any(|&b| b == 0) {
        return Err("binary data, not JSON text".into());
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        buf.drain(start..start + 3);
    }
    Ok(())
}

/// A JSONL input cut into blocks of whole lines.
pub(crate) struct LineUnits {
    input: Input,
    buf: Vec<u8>,
    /// Index in `buf` of its last newline.
    last_newline: Option<usize>,
    next_line: u64,
    target: usize,
    max_line: usize,
    /// Dropping the rest of a line that was too long.
    skipping: bool,
}

impl LineUnits {
    pub(crate) fn new(path: Arc<Path>, reader: Box<dyn Read + Send>, target: usize, max_line: usize) -> LineUnits {
        LineUnits {
            input: Input { path, reader, eof: false, started: false },
            buf: Vec::new(),
            last_newline: None,
            next_line: 1,
            target: target.max(1),
            max_line: max_line.max(1),
            skipping: false,
        }
    }
}

impl Iterator for LineUnits {
    type Item = JsonUnit;

    fn next(&mut self) -> Option<JsonUnit> {
        loop {
            if !self.input.eof && (self.buf.len() < self.target || self.last_newline.is_none()) {
                let before = self.buf.len();
                let filled = self.input.fill(&mut self.buf, self.target);
                if self.skipping {
                    match memchr::memchr(b'\n', &self.buf) {
                        Some(pos) => {
                            self.buf.drain(..=pos);
                            self.skipping = false;
                            self.next_line += 1;
                            self.last_newline = memrchr(b'\n', &self.buf);
                        }
                        None => self.buf.clear(),
                    }
                } else if let Some(pos) = self.buf.get(before..).and_then(|new| memrchr(b'\n', new)) {
                    self.last_newline = Some(before + pos);
                }
                if let Err(err) = filled {
                    return Some(JsonUnit::Error(err));
                }
                if self.last_newline.is_none() && self.buf.len() > self.max_line {
                    let line = self.next_line;
                    self.buf.clear();
                    self.skipping = true;
                    return Some(JsonUnit::Error(ReadError::JsonLine {
                        path: self.input.path.to_path_buf(),
                        line,
                        message: format!("line is longer than {} bytes; skipped", self.max_line),
                    }));
                }
                continue;
            }
            if self.buf.is_empty() || self.skipping {
                return None;
            }
            let cut = match self.last_newline {
                Some(pos) if !self.input.eof => pos + 1,
                _ => self.buf.len(),
            };
            let rest = self.buf.split_off(cut.min(self.buf.len()));
            let unit = std::mem::replace(&mut self.buf, rest);
            self.last_newline = memrchr(b'\n', &self.buf);
            let first_line = self.next_line;
            self.next_line += memchr_iter(b'\n', &unit).count() as u64;
            return Some(JsonUnit::Lines { buf: unit, first_line });
        }
    }
}

/// Where the JSON scanner is.
#[derive(Default)]
struct ScanState {
    /// Nesting depth inside the current object or array value.
    depth: u32,
    /// Inside a string (of a value at any depth).
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escape: bool,
    /// Inside a top-level scalar (number, `true`, ...), which the parser will reject.
    literal: bool,
    /// Inside a top-level array, whose elements are the values.
    top_array: bool,
    /// Where the current value starts in `buf`, when inside one.
    value_start: Option<usize>,
}

/// A `.json` input cut into blocks of whole values.
pub(crate) struct ValueUnits {
    input: Input,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    base: u64,
    /// How far `buf` has been scanned.
    scan: usize,
    state: ScanState,
    items: Vec<ValueItem>,
    index: u64,
    /// Line number (1-based) at `buf[line_pos]`.
    line: u64,
    line_pos: usize,
    target: usize,
    max_value: usize,
    done: bool,
}

impl ValueUnits {
    pub(crate) fn new(path: Arc<Path>, reader: Box<dyn Read + Send>, target: usize, max_value: usize) -> ValueUnits {
        ValueUnits {
            input: Input { path, reader, eof: false, started: false },
            buf: Vec::new(),
            base: 0,
            scan: 0,
            state: ScanState::default(),
            items: Vec::new(),
            index: 0,
            line: 1,
            line_pos: 0,
            target: target.max(1),
            max_value: max_value.max(1),
            done: false,
        }
    }

    fn path(&self) -> std::path::PathBuf {
        self.input.path.to_path_buf()
    }

    /// Record the value `buf[start..end]`.
    fn emit(&mut self, start: usize, end: usize) {
        let newlines = self.buf.get(self.line_pos..start).map_or(0, |s| memchr_iter(b'\n', s).count());
        self.line += newlines as u64;
        self.line_pos = start;
        self.items.push(ValueItem::Value {
            start,
            end,
            index: self.index,
            line: self.line,
            offset: self.base + start as u64,
        });
        self.index += 1;
        self.state.value_start = None;
    }

    /// Scan the unscanned part of `buf`, recording complete values.
    fn scan(&mut self) -> Result<(), ReadError> {
        let mut pos = self.scan;
        while let Some(&c) = self.buf.get(pos) {
            let st = &mut self.state;
            if st.in_string {
                if st.escape {
                    st.escape = false;
                    pos += 1;
                    continue;
                }
                match self.buf.get(pos..).and_then(|rest| memchr2(b'"', b'\\', rest)) {
                    None => pos = self.buf.len(),
                    Some(k) => {
                        pos += k;
                        if self.buf.get(pos) == Some(&b'\\') {
                            st.escape = true;
                        } else {
                            st.in_string = false;
                            if st.depth == 0
                                && let Some(start) = st.value_start
                            {
                                self.emit(start, pos + 1);
                            }
                        }
                        pos += 1;
                    }
                }
                continue;
            }
            if st.depth > 0 {
                match c {
                    b'"' => st.in_string = true,
                    b'{' | b'[' => st.depth += 1,
                    b'}' | b']' => {
                        st.depth -= 1;
                        if st.depth == 0
                            && let Some(start) = st.value_start
                        {
                            self.emit(start, pos + 1);
                        }
                    }
                    _ => {}
                }
                pos += 1;
                continue;
            }
            if st.literal {
                if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                    st.literal = false;
                    if let Some(start) = st.value_start {
                        self.emit(start, pos);
                    }
                } else {
                    pos += 1;
                }
                continue;
            }
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => {}
                b',' if st.top_array => {}
                b']' if st.top_array => st.top_array = false,
                b'[' if !st.top_array => st.top_array = true,
                b'{' | b'[' => {
                    st.value_start = Some(pos);
                    st.depth = 1;
                }
                b'"' => {
                    st.value_start = Some(pos);
                    st.in_string = true;
                }
                b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                    st.value_start = Some(pos);
                    st.literal = true;
                }
                other => {
                    self.scan = pos;
                    return Err(ReadError::Format {
                        path: self.path(),
                        message: format!(
                            "not JSON: unexpected byte {other:#04x} at byte offset {}",
                            self.base + pos as u64
                        ),
                    });
                }
            }
            pos += 1;
        }
        self.scan = pos;
        Ok(())
    }

    /// Hand out `buf[..end]` with the values recorded so far, keeping the rest.
    fn take_unit(&mut self, end: usize) -> JsonUnit {
        let end = end.min(self.buf.len());
        let newlines = self.buf.get(self.line_pos..end).map_or(0, |s| memchr_iter(b'\n', s).count());
        self.line += newlines as u64;
        self.line_pos = 0;
        let rest = self.buf.split_off(end);
        let buf = std::mem::replace(&mut self.buf, rest);
        self.base += end as u64;
        self.scan = self.scan.saturating_sub(end);
        self.state.value_start = self.state.value_start.map(|start| start.saturating_sub(end));
        JsonUnit::Values { buf, items: std::mem::take(&mut self.items) }
    }
}

impl Iterator for ValueUnits {
    type Item = JsonUnit;

    fn next(&mut self) -> Option<JsonUnit> {
        if self.done {
            return None;
        }
        loop {
            if let Err(err) = self.scan() {
                self.done = true;
                return Some(self.error_unit(err));
            }
            let complete = self.state.value_start.unwrap_or(self.buf.len());
            if !self.items.is_empty() && complete >= self.target {
                return Some(self.take_unit(complete));
            }
            if let Some(start) = self.state.value_start
                && self.buf.len().saturating_sub(start) > self.max_value
            {
                self.done = true;
                let err = ReadError::Json {
                    path: self.path(),
                    index: self.index,
                    line: self.line
                        + self.buf.get(self.line_pos..start).map_or(0, |s| memchr_iter(b'\n', s).count()) as u64,
                    offset: self.base + start as u64,
                    message: format!("value is larger than {} bytes; the rest of the input is skipped", self.max_value),
                };
                return Some(self.error_unit(err));
            }
            if self.input.eof {
                self.done = true;
                if self.state.literal
                    && let Some(start) = self.state.value_start
                {
                    self.state.literal = false;
                    self.emit(start, self.buf.len());
                }
                if let Some(start) = self.state.value_start {
                    let line = self.line
                        + self.buf.get(self.line_pos..start).map_or(0, |s| memchr_iter(b'\n', s).count()) as u64;
                    self.items.push(ValueItem::Error(ReadError::Json {
                        path: self.path(),
                        index: self.index,
                        line,
                        offset: self.base + start as u64,
                        message: "unexpected end of input inside this value".into(),
                    }));
                }
                if self.state.top_array {
                    self.items.push(ValueItem::Error(ReadError::Json {
                        path: self.path(),
                        index: self.index,
                        line: self.line,
                        offset: self.base + self.buf.len() as u64,
                        message: "input ends inside the top-level array (truncated?)".into(),
                    }));
                }
                if self.items.is_empty() {
                    return None;
                }
                let end = self.buf.len();
                return Some(self.take_unit(end));
            }
            if let Err(err) = self.input.fill(&mut self.buf, self.target) {
                self.done = true;
                return Some(self.error_unit(err));
            }
        }
    }
}

impl ValueUnits {
    /// An error that ends the input, after the values already found.
    fn error_unit(&mut self, err: ReadError) -> JsonUnit {
        if self.items.is_empty() {
            return JsonUnit::Error(err);
        }
        self.items.push(ValueItem::Error(err));
        let end = self.buf.len();
        self.take_unit(end)
    }
}

/// Parse one unit and hand its events and errors, in input order, to `sink`.
pub(crate) fn process_unit(unit: JsonUnit, ctx: &FileCtx<'_>, b: &mut Builder, sink: &mut dyn Sink) {
    let mut out = Vec::new();
    match unit {
        JsonUnit::Error(err) => sink.error(err),
        JsonUnit::Lines { buf, first_line } => {
            let lines = memchr_iter(b'\n', &buf).chain(std::iter::once(buf.len()));
            let mut start = 0;
            let values = lines
                .filter(|&end| {
                    let line = buf.get(start..end).unwrap_or_default();
                    start = end + 1;
                    !line.iter().all(u8::is_ascii_whitespace)
                })
                .count();
            if b.parse_many(&buf, ctx.opts, std::iter::repeat_n(Fallback::default(), values), &mut out) {
                for event in out.drain(..) {
                    sink.event(event);
                }
                return;
            }
            // Some line is not one JSON value: go line by line to say which.
            let mut start = 0;
            let ends = memchr_iter(b'\n', &buf).chain(std::iter::once(buf.len()));
            for (i, end) in ends.enumerate() {
                let Some(line) = buf.get(start..end) else { break };
                start = end + 1;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                // A line is one unit: all its events, or just its error.
                let result = b.parse_object(line, ctx.opts, &mut out);
                if result.is_err() {
                    out.clear();
                }
                for event in out.drain(..) {
                    sink.event(event);
                }
                if let Err(message) = result {
                    sink.error(ReadError::JsonLine {
                        path: ctx.path.to_path_buf(),
                        line: first_line + i as u64,
                        message,
                    });
                }
            }
        }
        JsonUnit::Values { buf, items } => {
            if items.iter().all(|item| matches!(item, ValueItem::Value { .. })) {
                let mut joined = Vec::with_capacity(buf.len() + items.len());
                for item in &items {
                    if let ValueItem::Value { start, end, .. } = item {
                        joined.extend_from_slice(buf.get(*start..*end).unwrap_or_default());
                        joined.push(b'\n');
                    }
                }
                let fallbacks = std::iter::repeat_n(Fallback::default(), items.len());
                if b.parse_many(&joined, ctx.opts, fallbacks, &mut out) {
                    for event in out.drain(..) {
                        sink.event(event);
                    }
                    return;
                }
            }
            for item in items {
                let (start, end, index, line, offset) = match item {
                    ValueItem::Error(err) => {
                        sink.error(err);
                        continue;
                    }
                    ValueItem::Value { start, end, index, line, offset } => (start, end, index, line, offset),
                };
                let result = match buf.get(start..end) {
                    Some(bytes) => b.parse_object(bytes, ctx.opts, &mut out),
                    None => Err("internal error: value outside its block".to_owned()),
                };
                if result.is_err() {
                    out.clear();
                }
                for event in out.drain(..) {
                    sink.event(event);
                }
                if let Err(message) = result {
                    sink.error(ReadError::Json { path: ctx.path.to_path_buf(), index, line, offset, message });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::io::Cursor;

    use super::*;
    use crate::{Event, ReadOptions, Value};

    /// A reader that hands out at most `step` bytes per call, to exercise partial reads.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.data.len() - self.pos);
            out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn reader(data: &[u8], step: usize) -> Box<dyn Read + Send> {
        if step == 0 {
            Box::new(Cursor::new(data.to_vec()))
        } else {
            Box::new(Trickle { data: data.to_vec(), pos: 0, step })
        }
    }

    fn run(units: impl Iterator<Item = JsonUnit>, name: &str) -> Vec<Result<Event, ReadError>> {
        let opts = ReadOptions::default();
        let ctx = FileCtx { path: Path::new(name), opts: &opts };
        let mut builder = Builder::default();
        let mut out = VecDeque::new();
        for unit in units {
            process_unit(unit, &ctx, &mut builder, &mut out);
        }
        out.into()
    }

    fn lines(data: &[u8], target: usize, max: usize, step: usize) -> Vec<Result<Event, ReadError>> {
        run(LineUnits::new(Arc::from(Path::new("t.jsonl")), reader(data, step), target, max), "t.jsonl")
    }

    fn values(data: &[u8], target: usize, max: usize, step: usize) -> Vec<Result<Event, ReadError>> {
        run(ValueUnits::new(Arc::from(Path::new("t.json")), reader(data, step), target, max), "t.json")
    }

    /// `a` of each event, or the error's line (JSONL) / index (JSON) as a negative number.
    fn summary(items: &[Result<Event, ReadError>]) -> Vec<i64> {
        items
            .iter()
            .map(|item| match item {
                Ok(event) => event.get("a").and_then(Value::as_i64).unwrap_or(i64::MAX),
                Err(ReadError::JsonLine { line, .. }) => -(*line as i64),
                Err(ReadError::Json { index, .. }) => -(*index as i64) - 1000,
                Err(_) => i64::MIN,
            })
            .collect()
    }

    const JSONL: &[u8] = b"{\"a\": 1}\n{\"a\": \n\n{\"a\": 2}\r\n[1]\n[{\"a\": 3}, {\"a\": 4}]\n   \n{\"a\": 5}";

    #[test]
    fn jsonl_malformed_lines_are_reported_and_reading_goes_on() {
        let items = lines(JSONL, 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [1, -2, 2, -5, 3, 4, 5]);
        let Some(Err(err)) = items.get(1) else { panic!() };
        assert!(err.to_string().starts_with("t.jsonl:2: "), "{err}");
        assert_eq!(err.path(), Path::new("t.jsonl"));
    }

    #[test]
    fn jsonl_units_and_partial_reads_keep_line_numbers() {
        let expected = summary(&lines(JSONL, 1 << 20, 1 << 20, 0));
        for target in [1, 2, 7, 64] {
            for step in [1, 3, 0] {
                assert_eq!(summary(&lines(JSONL, target, 1 << 20, step)), expected, "target {target} step {step}");
            }
        }
    }

    #[test]
    fn jsonl_needs_one_value_per_line() {
        // Whole units parse in one go when every line holds one value; these must still be
        // reported line by line.
        assert_eq!(summary(&lines(b"{\"a\": 1} {\"a\": 2}\n{\"a\": 3}\n", 1 << 20, 1 << 20, 0)), [-1, 3]);
        assert_eq!(summary(&lines(b"[{\"a\": 1}, 2]\n{\"a\": 3}\n", 1 << 20, 1 << 20, 0)), [-1, 3]);
        assert_eq!(summary(&lines(b"{\"a\":\n 1}\n{\"a\": 3}\n", 1 << 20, 1 << 20, 0)), [-1, -2, 3]);
        assert_eq!(summary(&lines(b"{\"a\": 1}\n\x0c\n{\"a\": 3}\n", 1 << 20, 1 << 20, 0)), [1, 3]);
    }

    #[test]
    fn jsonl_overlong_line_is_skipped() {
        let long = format!("{{\"a\": 1}}\n{{\"b\": \"{}\"}}\n{{\"a\": 3}}\n", "x".repeat(500));
        for step in [0, 7] {
            let items = lines(long.as_bytes(), 16, 100, step);
            assert_eq!(summary(&items), [1, -2, 3], "step {step}");
        }
        let unterminated = format!("{{\"a\": 1}}\n{}", "x".repeat(500));
        assert_eq!(summary(&lines(unterminated.as_bytes(), 16, 100, 0)), [1, -2]);
    }

    #[test]
    fn empty_and_blank_inputs_have_no_events() {
        for data in [&b""[..], b"\n\n  \r\n", b"\xEF\xBB\xBF"] {
            assert!(lines(data, 1 << 20, 1 << 20, 0).is_empty());
            assert!(values(data, 1 << 20, 1 << 20, 0).is_empty());
        }
    }

    #[test]
    fn utf8_bom_is_dropped() {
        assert_eq!(summary(&lines(b"\xEF\xBB\xBF{\"a\": 1}\n", 1 << 20, 1 << 20, 1)), [1]);
        assert_eq!(summary(&values(b"\xEF\xBB\xBF[{\"a\": 1}]", 1 << 20, 1 << 20, 1)), [1]);
    }

    #[test]
    fn binary_and_utf16_inputs_are_one_format_error() {
        let mut garbage: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        garbage[10] = 0;
        let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("{\"a\": 1}".bytes().flat_map(|b| [b, 0])).collect();
        for data in [&garbage[..], &utf16[..], b"ElfFile\0\0\0"] {
            for items in [lines(data, 1 << 20, 1 << 20, 0), values(data, 1 << 20, 1 << 20, 0)] {
                assert_eq!(items.len(), 1);
                assert!(matches!(items[0], Err(ReadError::Format { .. })), "{:?}", items[0]);
            }
        }
    }

    const JSON: &[u8] = b"{\"a\": 1}\n{\n  \"a\": 2,\n  \"s\": \"}{\\\"][\\\\\"\n}\n[\n {\"a\": 3},\n 5,\n {\"a\": tru},\n \"x\",\n [{\"a\": 4}],\n {\"a\": 6}\n]  {\"a\": 7}";

    #[test]
    fn json_values_arrays_and_bad_elements() {
        let items = values(JSON, 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [1, 2, 3, -1003, -1004, -1005, 4, 6, 7]);
        let Some(Ok(second)) = items.get(1) else { panic!() };
        assert_eq!(second.get("s"), Some(&Value::from("}{\"][\\")));
        let Some(Err(ReadError::Json { line, offset, .. })) = items.get(4) else { panic!() };
        assert_eq!((*line, *offset), (9, 59));
    }

    #[test]
    fn json_units_and_partial_reads_give_the_same_items() {
        let expected = values(JSON, 1 << 20, 1 << 20, 0);
        let show = |items: &[Result<Event, ReadError>]| format!("{items:?}");
        for target in [1, 2, 5, 33] {
            for step in [1, 2, 0] {
                let got = values(JSON, target, 1 << 20, step);
                assert_eq!(show(&got), show(&expected), "target {target} step {step}");
            }
        }
    }

    #[test]
    fn json_truncated_input() {
        let items = values(b"[{\"a\": 1}, {\"a\": 2", 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [1, -1001, -1001]);
        let Some(Err(err)) = items.get(1) else { panic!() };
        assert!(err.to_string().contains("unexpected end of input"), "{err}");
        let items = values(b"[{\"a\": 1},", 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [1, -1001]);
        let items = values(b"{\"a\": \"unterminated", 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [-1000]);
    }

    #[test]
    fn json_garbage_after_values_ends_the_input() {
        let items = values(b"{\"a\": 1} } {\"a\": 2}", 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [1, i64::MIN]);
        let Some(Err(err)) = items.get(1) else { panic!() };
        assert!(err.to_string().contains("unexpected byte 0x7d at byte offset 9"), "{err}");
    }

    #[test]
    fn json_oversized_value_ends_the_input() {
        let data = format!("{{\"a\": 1}} {{\"b\": \"{}\"}} {{\"a\": 3}}", "x".repeat(300));
        let items = values(data.as_bytes(), 16, 100, 0);
        assert_eq!(summary(&items), [1, -1001]);
    }

    #[test]
    fn json_scalars_at_top_level_are_errors() {
        let items = values(b"1 \"s\" {\"a\": 2} true", 1 << 20, 1 << 20, 0);
        assert_eq!(summary(&items), [-1000, -1001, 2, -1003]);
    }
}
