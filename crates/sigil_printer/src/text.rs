//! Text for terminals: widths in columns, escaping, elision, wrapping and plurals.

use unicode_width::UnicodeWidthChar as _;

/// The width of a string in terminal columns (a CJK character takes two, a combining mark none).
pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` with every control character written as an escape (`\n`, `\r`, `\t`, `\x1b`, `\u{85}`), so that a value
/// shown on a terminal stays on its line and cannot move the cursor or change colours. A backslash is kept as
/// it is (Windows paths stay readable).
pub fn escape_control(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `s` cut to at most `max` columns by replacing its middle with `…`, so both ends stay (a path's drive and
/// file name, a command line's program and last argument). `s` itself when it fits.
pub fn elide_middle(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if width(s) <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    if max == 0 {
        return std::borrow::Cow::Borrowed("");
    }
    let room = max - 1;
    let tail_room = room / 2;
    let head_room = room - tail_room;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.iter().rev());
    std::borrow::Cow::Owned(head)
}

/// `s` cut to at most `max` columns, ending with `…` when cut.
pub fn elide_end(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(c);
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` split into lines of at most `max` columns (at least one character per line, so a too-wide character
/// still moves on). Breaks after a space or path separator when one is near the end of the line.
pub fn wrap(s: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > max && !line.is_empty() {
            // Prefer a break after the last space or separator in the last third of the line.
            let cut = line
                .char_indices()
                .filter(|(_, c)| matches!(c, ' ' | '\\' | '/' | ',' | ';'))
                .map(|(i, c)| i + c.len_utf8())
                .rfind(|i| *i < line.len() && width(&line[..*i]) * 3 >= max * 2);
            match cut {
                Some(i) => {
                    let rest = line.split_off(i);
                    lines.push(std::mem::replace(&mut line, rest));
                    used = width(&line);
                }
                None => {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
            }
        }
        line.push(c);
        used += w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` padded with spaces to `columns` (not cut when longer).
pub fn pad(s: &str, columns: usize) -> String {
    let w = width(s);
    let mut out = String::with_capacity(s.len() + columns.saturating_sub(w));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', columns.saturating_sub(w)));
    out
}

/// `"1 file"`, `"2 files"`: a count with its noun, singular for exactly one.
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    if n == 1 { format!("1 {singular}") } else { format!("{n} {plural}") }
}

/// [`count`] for nouns whose plural adds an `s` (`rule` → `rules`).
pub fn count_s(n: u64, singular: &str) -> String {
    if n == 1 { format!("1 {singular}") } else { format!("{n} {singular}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_control("a\r\n\tb\u{7}\u{1b}[31m\u{85}é\\x"), "a\\r\\n\\tb\\x07\\x1b[31m\\u{85}é\\x");
        assert!(matches!(escape_control("plain C:\\x"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn elision_keeps_both_ends_within_the_width() {
        assert_eq!(elide_middle("C:\\Windows\\System32\\cmd.exe", 15), "C:\\Wind…cmd.exe");
        assert_eq!(elide_middle("short", 5), "short");
        assert_eq!(elide_middle("abcdef", 1), "…");
        assert_eq!(elide_middle("abcdef", 0), "");
        assert_eq!(elide_middle("abcdef", 2), "a…");
        assert_eq!(elide_end("WS01.corp.example", 10), "WS01.corp…");
        assert_eq!(elide_end("short", 10), "short");
        assert_eq!(elide_end("abc", 0), "");
        // Wide characters count as two columns.
        let cut = elide_middle("漢字漢字漢字", 7);
        assert!(width(&cut) <= 7, "{cut}");
        assert_eq!(cut, "漢…字");
    }

    #[test]
    fn wrapping_fits_every_line_and_loses_nothing() {
        let s = "C:\\Users\\a\\AppData\\Local\\Temp\\tool.exe --flag value";
        for max in [1, 5, 12, 30, 100] {
            let lines = wrap(s, max);
            assert!(lines.iter().all(|l| width(l) <= max), "{max}: {lines:?}");
            assert_eq!(lines.concat(), s);
        }
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("ab cd ef", 6), ["ab cd ", "ef"]);
    }

    #[test]
    fn plurals() {
        assert_eq!(count_s(1, "warning"), "1 warning");
        assert_eq!(count_s(2, "file"), "2 files");
        assert_eq!(count_s(0, "file"), "0 files");
        assert_eq!(count(1, "match", "matches"), "1 match");
        assert_eq!(count(3, "match", "matches"), "3 matches");
    }
}
