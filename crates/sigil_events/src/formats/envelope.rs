//! What wraps records: gzip (CloudTrail delivers `.json.gz`), and JSON envelopes around the
//! array of records (`{"Records": [...]}` for CloudTrail, `{"records": [...]}` for Azure
//! diagnostic exports, `{"value": [...]}` for Microsoft Graph exports); plus recognising a
//! format from the first bytes of its content.

use std::io::{self, Read};

use flate2::read::MultiGzDecoder;

/// The gzip magic.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Decompresses gzip (several members in a row too) and says where a corrupt stream broke:
/// the error names the offset in the decompressed data, so the events before it are read and
/// the warning says how far the file was good.
pub(crate) struct Gunzip<R: Read> {
    inner: MultiGzDecoder<R>,
    out: u64,
}

impl<R: Read> Gunzip<R> {
    pub(crate) fn new(reader: R) -> Self {
        Gunzip { inner: MultiGzDecoder::new(reader), out: 0 }
    }
}

impl<R: Read> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.out += n as u64;
                Ok(n)
            }
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("bad gzip stream after {} bytes of decompressed data: {e}", self.out),
            )),
        }
    }
}

/// A shared place for an error a reader met after handing out everything it could.
pub(crate) type ErrorSlot = std::sync::Arc<std::sync::Mutex<Option<io::Error>>>;

/// Ends the input at the first error of `inner` (as if it ended there) and keeps the error in
/// `slot`, so that the reader above reads every byte that came before (a block reader would
/// drop the block the error interrupted) and the error is reported after them.
pub(crate) struct EndAtError<R: Read> {
    pub(crate) inner: R,
    pub(crate) slot: ErrorSlot,
}

impl<R: Read> Read for EndAtError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                if let Ok(mut slot) = self.slot.lock() {
                    slot.get_or_insert(e);
                }
                Ok(0)
            }
        }
    }
}

/// The length of an envelope's opening (`{ "Records" : ` up to, not including, its `[`), if
/// `head` (the first bytes of the input, after any byte order mark) starts with one.
pub(crate) fn envelope_prefix(head: &[u8]) -> Option<usize> {
    let mut i = skip_ws(head, 0);
    if head.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(head, i + 1);
    let rest = head.get(i..)?;
    let key = [&b"\"Records\""[..], b"\"records\"", b"\"value\""].into_iter().find(|k| rest.starts_with(k))?;
    i = skip_ws(head, i + key.len());
    if head.get(i) != Some(&b':') {
        return None;
    }
    i = skip_ws(head, i + 1);
    (head.get(i) == Some(&b'[')).then_some(i)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Reads an envelope's array as if it were the whole input: drops the opening before the `[`
/// and the object's closing `}` at the end, so the JSON reader streams the records one by
/// one. Bytes that might be that last `}` (a trailing run of `}` and blanks) are held back
/// until more input shows they are not the end.
pub(crate) struct Unwrap<R: Read> {
    inner: R,
    skip: usize,
    held: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Unwrap<R> {
    pub(crate) fn new(inner: R, prefix: usize) -> Self {
        Unwrap { inner, skip: prefix, held: Vec::new(), out: Vec::new(), pos: 0, eof: false }
    }

    fn refill(&mut self) -> io::Result<()> {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.pos >= self.out.len() && !self.eof {
            let n = self.inner.read(&mut chunk)?;
            self.out.clear();
            self.pos = 0;
            if n == 0 {
                self.eof = true;
                // The input ends: drop the envelope's closing brace.
                let mut held = std::mem::take(&mut self.held);
                if let Some(last) = held.iter().rposition(|&b| b == b'}') {
                    held.remove(last);
                }
                self.out = held;
                break;
            }
            let mut data = std::mem::take(&mut self.held);
            data.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if self.skip > 0 {
                let drop = self.skip.min(data.len());
                data.drain(..drop);
                self.skip -= drop;
            }
            let keep = data.iter().rev().take_while(|b| **b == b'}' || b.is_ascii_whitespace()).count();
            self.held = data.split_off(data.len() - keep);
            self.out = data;
        }
        Ok(())
    }
}

impl<R: Read> Read for Unwrap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.out.len() {
            self.refill()?;
        }
        let available = self.out.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// The format a text head says, for a file whose name does not: the first non-blank line is
/// looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Json,
    Jsonl,
    Auditd,
    Syslog,
    Access,
    W3c,
    Zeek,
    Santa,
}

/// Recognise the format of a text head; `None` when nothing fits.
pub(crate) fn sniff_text(head: &[u8]) -> Option<Sniffed> {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty());
    let first = lines.next()?.trim_start();
    if first.starts_with('[') {
        if first.starts_with("[20") && first.contains("] ") && first.contains(" santad: ") {
            return Some(Sniffed::Santa);
        }
        return Some(Sniffed::Json);
    }
    if first.starts_with('{') {
        // One complete object on the first line: JSON Lines; else pretty-printed JSON.
        let is_line = serde_json::from_str::<serde::de::IgnoredAny>(first).is_ok();
        return Some(if is_line && envelope_prefix(head).is_none() { Sniffed::Jsonl } else { Sniffed::Json });
    }
    // Zeek and W3C headers (btest baselines start with a `###` comment line).
    let mut directive = Some(first);
    let mut rest = lines.clone();
    while let Some(line) = directive {
        if line.starts_with("#separator") || line.starts_with("#fields") || line.starts_with("#path") {
            return Some(Sniffed::Zeek);
        }
        if line.starts_with("#Software:")
            || line.starts_with("#Version:")
            || line.starts_with("#Fields:")
            || line.starts_with("#Date:")
        {
            return Some(Sniffed::W3c);
        }
        directive = if line.starts_with('#') { rest.next() } else { None };
    }
    let first = if first.starts_with('#') { lines.find(|l| !l.starts_with('#'))? } else { first };
    if first.starts_with("ts\t") && first.contains("\tuid\t") {
        return Some(Sniffed::Zeek);
    }
    if super::auditd::serial_of(first.as_bytes()).is_some() {
        return Some(Sniffed::Auditd);
    }
    if looks_like_clf(first) {
        return Some(Sniffed::Access);
    }
    let now = jiff::Timestamp::now();
    if super::syslog::is_syslog_line(first, now) {
        return Some(Sniffed::Syslog);
    }
    None
}

/// `host ident user [dd/Mon/yyyy:hh:mm:ss zone] "…"`, optionally with a virtual host first.
fn looks_like_clf(line: &str) -> bool {
    let Some(open) = line.find(" [") else { return false };
    let words = line.get(..open).unwrap_or_default().split(' ').filter(|w| !w.is_empty()).count();
    let rest = line.get(open + 2..).unwrap_or_default();
    let stamp = rest.as_bytes();
    (3..=4).contains(&words)
        && stamp.get(2) == Some(&b'/')
        && stamp.get(6) == Some(&b'/')
        && stamp.get(11) == Some(&b':')
        && rest.contains("] \"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrap_all(data: &[u8], step: usize) -> Vec<u8> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let prefix = envelope_prefix(data).unwrap();
        let mut out = Vec::new();
        Unwrap::new(Trickle(data, step), prefix).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn envelopes_are_unwrapped_in_any_read_sizes() {
        let data = b" { \"Records\" :\n [{\"a\":{\"b\":1}},\n{\"a\":2}]\n}\n";
        for step in [1, 2, 3, 7, 1000] {
            assert_eq!(unwrap_all(data, step), b"[{\"a\":{\"b\":1}},\n{\"a\":2}]\n\n", "step {step}");
        }
        assert_eq!(envelope_prefix(b"{\"records\": []}"), Some(12));
        assert_eq!(envelope_prefix(b"{\"value\":[{}]}"), Some(9));
        assert_eq!(envelope_prefix(b"{\"Records\": 1}"), None);
        assert_eq!(envelope_prefix(b"{\"other\": []}"), None);
        assert_eq!(envelope_prefix(b"[{}]"), None);
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff_text(b"{\"Records\":[\n{\"a\":1}]}"), Some(Sniffed::Json));
        assert_eq!(sniff_text(b"{\"a\":1}\n{\"a\":2}\n"), Some(Sniffed::Jsonl));
        assert_eq!(sniff_text(b"{\n \"a\": 1\n}\n"), Some(Sniffed::Json));
        assert_eq!(sniff_text(b"  [{\"a\":1}]"), Some(Sniffed::Json));
        assert_eq!(sniff_text(b"type=SYSCALL msg=audit(1.2:3): a=b\n"), Some(Sniffed::Auditd));
        assert_eq!(sniff_text(b"node=x type=SYSCALL msg=audit(1.2:3): a=b\n"), Some(Sniffed::Auditd));
        assert_eq!(sniff_text(b"### btest\n#separator \\x09\n#fields\ta\n"), Some(Sniffed::Zeek));
        assert_eq!(sniff_text(b"#Software: Microsoft IIS\n#Fields: date\n"), Some(Sniffed::W3c));
        assert_eq!(
            sniff_text(b"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1\n"),
            Some(Sniffed::Access)
        );
        assert_eq!(sniff_text(b"Feb 12 14:10:21 h sshd[1]: x\n"), Some(Sniffed::Syslog));
        assert_eq!(
            sniff_text(b"[2018-08-19T03:09:13.120Z] I santad: action=EXEC|path=/bin/ls\n"),
            Some(Sniffed::Santa)
        );
        assert_eq!(sniff_text(b"hello world\n"), None);
        assert_eq!(sniff_text(b"\n\n"), None);
    }
}
