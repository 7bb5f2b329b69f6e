//! Line-oriented text logs cut into units of whole lines.
//!
//! The cutter reads blocks of about [`crate::ReadOptions::batch_bytes`] and cuts each at a
//! line end, so memory stays bounded by the block size plus the longest line. Two formats
//! need more than a line boundary:
//!
//! - auditd: the records of one event share a serial and follow each other, so a block is
//!   cut before the trailing run of lines with the last serial (those go to the next block);
//! - W3C extended (IIS) and Zeek TSV logs declare their columns in `#` header lines, so the
//!   cutter keeps the header state current and hands each unit the state at its start.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use memchr::{memchr_iter, memrchr};

use crate::error::ReadError;
use crate::flatten::Builder;
use crate::source::{FileCtx, Sink};

/// The text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextFormat {
    Auditd,
    Syslog,
    Access,
    W3c,
    Zeek,
    Santa,
}

/// The `#` directives of a W3C extended or Zeek TSV log that apply to the lines after them.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// Column names (`#Fields:` / `#fields`).
    pub(crate) fields: Vec<String>,
    /// Zeek `#path` (the log's name: `dns`, `http`, ...).
    pub(crate) path: Option<String>,
    /// Zeek `#separator` (a tab unless it says otherwise).
    pub(crate) separator: u8,
    /// Zeek `#set_separator`.
    pub(crate) set_separator: String,
    /// Zeek `#empty_field`.
    pub(crate) empty: String,
    /// Zeek `#unset_field`.
    pub(crate) unset: String,
    /// W3C `#Date:` (for logs whose lines have a time but no date).
    pub(crate) date: Option<String>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            fields: Vec::new(),
            path: None,
            separator: b'\t',
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            date: None,
        }
    }
}

impl Header {
    /// Apply one `#` line.
    pub(crate) fn directive(&mut self, line: &str, format: TextFormat) {
        let body = line.trim_start_matches('#');
        match format {
            TextFormat::W3c => {
                if let Some((key, value)) = body.split_once(':') {
                    match key.trim() {
                        "Fields" => self.fields = value.split_whitespace().map(str::to_owned).collect(),
                        "Date" => self.date = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            TextFormat::Zeek => {
                let sep = char::from(self.separator);
                let (key, value) = match body.split_once(sep).or_else(|| body.split_once(' ')) {
                    Some(kv) => kv,
                    None => (body, ""),
                };
                match key {
                    "separator" => {
                        if let Some(sep) = unescape_zeek(value.trim()).bytes().next() {
                            self.separator = sep;
                        }
                    }
                    "set_separator" => self.set_separator = value.to_owned(),
                    "empty_field" => self.empty = value.to_owned(),
                    "unset_field" => self.unset = value.to_owned(),
                    "path" => self.path = Some(value.to_owned()),
                    "fields" => self.fields = value.split(sep).map(str::to_owned).collect(),
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

/// Zeek's `\x09` escapes.
pub(crate) fn unescape_zeek(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains("\\x") {
        return std::borrow::Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(hex) = bytes.get(i + 2..i + 4)
            && let Ok(hex) = std::str::from_utf8(hex)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(b);
        i += 1;
    }
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// One unit of text work.
pub(crate) enum TextUnit {
    Lines { buf: Vec<u8>, first_line: u64, header: Arc<Header> },
    Error(ReadError),
}

/// A text input cut into units of whole lines.
pub(crate) struct TextUnits {
    path: Arc<Path>,
    reader: Box<dyn Read + Send>,
    format: TextFormat,
    buf: Vec<u8>,
    eof: bool,
    started: bool,
    next_line: u64,
    target: usize,
    max_line: usize,
    skipping: bool,
    header: Arc<Header>,
}

impl TextUnits {
    pub(crate) fn new(
        path: Arc<Path>,
        reader: Box<dyn Read + Send>,
        format: TextFormat,
        target: usize,
        max_line: usize,
    ) -> TextUnits {
        TextUnits {
            path,
            reader,
            format,
            buf: Vec::new(),
            eof: false,
            started: false,
            next_line: 1,
            target: target.max(1),
            max_line: max_line.max(1),
            skipping: false,
            header: Arc::new(Header::default()),
        }
    }

    fn fill(&mut self) -> Result<(), ReadError> {
        let before = self.buf.len();
        let want = self.target;
        match (&mut self.reader).take(want as u64).read_to_end(&mut self.buf) {
            Ok(got) if got < want => self.eof = true,
            Ok(_) => {}
            Err(source) => {
                self.eof = true;
                return Err(ReadError::Io { path: self.path.to_path_buf(), source });
            }
        }
        if !self.started {
            self.started = true;
            let head = self.buf.get(before..).unwrap_or_default();
            if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
                self.eof = true;
                self.buf.clear();
                return Err(ReadError::Format {
                    path: self.path.to_path_buf(),
                    message: "UTF-16 text is not supported: convert the file to UTF-8".into(),
                });
            }
            if head.iter().take(4096).any(|&b| b == 0) {
                self.eof = true;
                self.buf.clear();
                return Err(ReadError::Format {
                    path: self.path.to_path_buf(),
                    message: "binary data, not text".into(),
                });
            }
            if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.buf.drain(before..before + 3);
            }
        }
        Ok(())
    }

    /// Where to cut `buf` (a line end), given that it holds at least one newline or the input
    /// has ended.
    fn cut(&self) -> usize {
        let end = if self.eof {
            self.buf.len()
        } else {
            match memrchr(b'\n', &self.buf) {
                Some(pos) => pos + 1,
                None => return self.buf.len(),
            }
        };
        if self.format != TextFormat::Auditd || self.eof {
            return end;
        }
        // Keep the trailing lines of the last serial for the next unit.
        let body = self.buf.get(..end).unwrap_or_default();
        let mut starts: Vec<usize> = std::iter::once(0).chain(memchr_iter(b'\n', body).map(|p| p + 1)).collect();
        starts.retain(|&s| s < end);
        let serial_at = |start: usize| {
            let line_end = memchr::memchr(b'\n', body.get(start..).unwrap_or_default()).map_or(end, |p| start + p);
            super::auditd::serial_of(body.get(start..line_end).unwrap_or_default())
        };
        let Some(&last) = starts.last() else { return end };
        let Some(serial) = serial_at(last) else { return end };
        let mut cut = last;
        for &start in starts.iter().rev().skip(1) {
            if serial_at(start) == Some(serial) {
                cut = start;
            } else {
                break;
            }
        }
        if cut == 0 { end } else { cut }
    }

    /// Update the header state with the `#` lines of a unit.
    fn scan_header(&mut self, unit: &[u8]) {
        if !matches!(self.format, TextFormat::W3c | TextFormat::Zeek) {
            return;
        }
        let mut header: Option<Header> = None;
        let mut start = 0;
        for end in memchr_iter(b'\n', unit).chain(std::iter::once(unit.len())) {
            let line = unit.get(start..end).unwrap_or_default();
            start = end + 1;
            if line.first() == Some(&b'#') {
                let text = String::from_utf8_lossy(line);
                header
                    .get_or_insert_with(|| (*self.header).clone())
                    .directive(text.trim_end_matches('\r'), self.format);
            }
        }
        if let Some(header) = header {
            self.header = Arc::new(header);
        }
    }
}

impl Iterator for TextUnits {
    type Item = TextUnit;

    fn next(&mut self) -> Option<TextUnit> {
        loop {
            let has_newline = memchr::memchr(b'\n', &self.buf).is_some();
            if !self.eof && (self.buf.len() < self.target || !has_newline) {
                if let Err(err) = self.fill() {
                    return Some(TextUnit::Error(err));
                }
                if self.skipping {
                    match memchr::memchr(b'\n', &self.buf) {
                        Some(pos) => {
                            self.buf.drain(..=pos);
                            self.skipping = false;
                            self.next_line += 1;
                        }
                        None => self.buf.clear(),
                    }
                    continue;
                }
                if memchr::memchr(b'\n', &self.buf).is_none() && self.buf.len() > self.max_line {
                    let line = self.next_line;
                    self.buf.clear();
                    self.skipping = true;
                    return Some(TextUnit::Error(ReadError::TextLine {
                        path: self.path.to_path_buf(),
                        line,
                        message: format!("line is longer than {} bytes; skipped", self.max_line),
                    }));
                }
                continue;
            }
            if self.buf.is_empty() || self.skipping {
                return None;
            }
            let cut = self.cut().min(self.buf.len());
            let rest = self.buf.split_off(cut);
            let unit = std::mem::replace(&mut self.buf, rest);
            let first_line = self.next_line;
            self.next_line += memchr_iter(b'\n', &unit).count() as u64;
            let header = Arc::clone(&self.header);
            self.scan_header(&unit);
            return Some(TextUnit::Lines { buf: unit, first_line, header });
        }
    }
}

/// The lines of a unit as `(line number, text)`, without line ends; blank lines left out.
/// Bytes that are not UTF-8 are replaced (logs mix encodings; a line is never dropped for it).
pub(crate) fn lines(buf: &[u8], first_line: u64) -> impl Iterator<Item = (u64, std::borrow::Cow<'_, str>)> {
    let mut start = 0;
    memchr_iter(b'\n', buf).chain(std::iter::once(buf.len())).enumerate().filter_map(move |(i, end)| {
        let line = buf.get(start..end).unwrap_or_default();
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some((first_line + i as u64, String::from_utf8_lossy(line)))
    })
}

/// Parse one unit and hand its events and errors, in input order, to `sink`.
pub(crate) fn process_unit(
    unit: TextUnit,
    format: TextFormat,
    ctx: &FileCtx<'_>,
    b: &mut Builder,
    sink: &mut dyn Sink,
) {
    let (buf, first_line, header) = match unit {
        TextUnit::Error(err) => {
            sink.error(err);
            return;
        }
        TextUnit::Lines { buf, first_line, header } => (buf, first_line, header),
    };
    let line_error = |line: u64, message: String| ReadError::TextLine { path: ctx.path.to_path_buf(), line, message };
    match format {
        TextFormat::Auditd => super::auditd::process(&buf, first_line, b, sink, &line_error),
        TextFormat::Syslog => super::syslog::process(&buf, first_line, ctx, b, sink, &line_error),
        TextFormat::Santa => super::syslog::process_santa(&buf, first_line, b, sink, &line_error),
        TextFormat::Access => super::access::process_clf(&buf, first_line, b, sink, &line_error),
        TextFormat::W3c => super::access::process_w3c(&buf, first_line, &header, b, sink, &line_error),
        TextFormat::Zeek => super::zeek::process_tsv(&buf, first_line, &header, ctx, b, sink, &line_error),
    }
}
