//! HTML escaping and a small YAML highlighter for rule bodies.
//!
//! The highlighter is line-based and never fails: it recognises comments, keys (with Sigma modifiers after `|`
//! shown apart), list dashes, quoted and block-scalar strings, numbers and constants. Anything it does not
//! understand is emitted as escaped text, so the output is always the input, escaped, with `<span>`s around it.

use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    escape_into(&mut out, s);
    out
}

/// Appends `s`, escaped, to `out`.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

fn span(out: &mut String, class: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    let _ = write!(out, "<span class=\"{class}\">");
    escape_into(out, text);
    out.push_str("</span>");
}

/// Highlights YAML text as HTML (to be placed inside `<pre><code>`).
pub(crate) fn yaml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    // Indentation of the key that opened a block scalar (`description: |`); deeper lines are its text.
    let mut block: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let indent = line.len() - line.trim_start().len();
        if let Some(key_indent) = block {
            if line.trim().is_empty() || indent > key_indent {
                span(&mut out, "s", line);
                continue;
            }
            block = None;
        }
        let (body, comment) = split_comment(line);
        let (lead, rest) = body.split_at(indent.min(body.len()));
        out.push_str(lead);
        let mut rest = rest;
        // List dashes.
        while let Some(after) = rest.strip_prefix("- ").or_else(|| if rest == "-" { Some("") } else { None }) {
            span(&mut out, "p", "-");
            if rest.len() > 1 {
                out.push(' ');
            }
            let spaces = after.len() - after.trim_start().len();
            out.push_str(after.get(..spaces).unwrap_or_default());
            rest = after.get(spaces..).unwrap_or_default();
        }
        match key_split(rest) {
            Some((key, value)) => {
                match key.split_once('|') {
                    Some((field, mods)) => {
                        span(&mut out, "k", field);
                        span(&mut out, "m", &format!("|{mods}"));
                    }
                    None => span(&mut out, "k", key),
                }
                span(&mut out, "p", ":");
                let trimmed = value.trim();
                if is_block_indicator(trimmed) {
                    out.push_str(value.get(..value.len() - value.trim_start().len()).unwrap_or_default());
                    span(&mut out, "p", trimmed);
                    out.push_str(value.get(value.trim_end().len()..).unwrap_or_default());
                    block = Some(indent);
                } else {
                    scalar(&mut out, value);
                }
            }
            None => scalar(&mut out, rest),
        }
        span(&mut out, "c", comment);
    }
    out
}

fn is_block_indicator(v: &str) -> bool {
    let mut chars = v.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '0'..='9'))
}

/// Splits `key: value` (or `key:` at the end of the line). Quoted keys are accepted.
fn key_split(s: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') if i == 0 => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ':') => {
                let after = s.get(i + 1..)?;
                if after.is_empty() || after.starts_with(' ') {
                    let key = s.get(..i)?;
                    if key.is_empty() || key.starts_with(['[', '{']) {
                        return None;
                    }
                    return Some((key, after));
                }
            }
            (None, '[' | '{') if i == 0 => return None,
            _ => {}
        }
    }
    None
}

/// Splits off a trailing `# comment` that is outside quotes.
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') if prev_space || line.get(..i).is_some_and(|p| p.ends_with(": ")) => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return (line.get(..i).unwrap_or(line), line.get(i..).unwrap_or_default()),
            _ => {}
        }
        prev_space = c == ' ' || c == '\t';
    }
    (line, "")
}

fn scalar(out: &mut String, value: &str) {
    let trimmed = value.trim();
    let lead = value.len() - value.trim_start().len();
    out.push_str(value.get(..lead).unwrap_or_default());
    let class = if trimmed.starts_with(['\'', '"']) {
        "s"
    } else if trimmed.parse::<f64>().is_ok()
        || matches!(trimmed, "true" | "false" | "null" | "~" | "True" | "False" | "Null" | "NULL")
    {
        "n"
    } else {
        "v"
    };
    span(out, class, trimmed);
    out.push_str(value.get(lead + trimmed.len()..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn highlights_a_rule() {
        let y = "title: <script>alert(1)</script>\ndescription: |\n    line one\n    line: two\ndetection:\n    \
                 selection:\n        Image|endswith:\n            - '\\cmd.exe' # shell\n        EventID: 4688\n    \
                 condition: selection\nlevel: medium";
        let h = yaml(y);
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("&lt;script&gt;"));
        assert!(h.contains("<span class=\"k\">Image</span><span class=\"m\">|endswith</span>"), "{h}");
        assert!(h.contains("<span class=\"s\">    line: two</span>"), "{h}");
        assert!(h.contains("<span class=\"s\">&#39;\\cmd.exe&#39;</span> <span class=\"c\"># shell</span>"), "{h}");
        assert!(h.contains("<span class=\"n\">4688</span>"));
        assert!(h.contains("<span class=\"k\">level</span>"), "block scalar ends at the next key: {h}");
        // Text is preserved: stripping the tags and unescaping gives the input back.
        let stripped = strip_tags(&h).replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'");
        assert_eq!(stripped.replace("&quot;", "\"").replace("&amp;", "&"), y);
    }

    fn strip_tags(s: &str) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in s.chars() {
            match c {
                '<' => in_tag = true,
                '>' => in_tag = false,
                _ if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }
}
