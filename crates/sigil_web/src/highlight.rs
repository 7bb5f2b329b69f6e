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

/// Highlights a query in its language (`spl`, `eql`, `kuery`, `esql`, `kusto`, `yaral`) as HTML, with the
/// spans the language's own lexer in `sigil_families` gives; escaped text only for a language it does not
/// highlight (Python).
pub(crate) fn query(text: &str, language: &str) -> String {
    let Some(lang) = sigil_families::Language::from_name(language) else { return escape(text) };
    let mut out = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for s in sigil_families::highlight::spans(text, lang) {
        // Spans are ordered and within the text; anything else would be a lexer bug: fall back to plain text.
        let (Some(before), Some(inner)) = (text.get(at..s.range.start), text.get(s.range.clone())) else {
            return escape(text);
        };
        escape_into(&mut out, before);
        span(&mut out, s.class, inner);
        at = s.range.end;
    }
    escape_into(&mut out, text.get(at..).unwrap_or_default());
    out
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

    fn unescape(s: &str) -> String {
        strip_tags(s)
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    }

    #[test]
    fn queries_of_every_family_highlight_as_their_language() {
        // Real rules from ../shared/corpus/families where present, the fixtures written for the tests otherwise.
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/families");
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../sigil_families/tests/fixtures");
        use sigil_families::Family;
        let mut cases: Vec<(Family, std::path::PathBuf, &[&str])> = vec![
            (Family::Elastic, fixtures.join("elastic"), &["k", "f", "o", "s"]),
            (Family::Sentinel, fixtures.join("sentinel"), &["k", "f", "o", "s", "c"]),
        ];
        if shared.is_dir() {
            cases.push((Family::Splunk, shared.join("splunk"), &["k", "f", "o", "s", "m", "n", "p"]));
            cases.push((Family::Chronicle, shared.join("chronicle"), &["k", "f", "o", "s", "c"]));
        } else if std::env::var("SIGIL_REQUIRE_CORPUS").is_ok_and(|v| v == "1") {
            panic!("SIGIL_REQUIRE_CORPUS is set but {} is missing", shared.display());
        }
        for (family, dir, want) in cases {
            let loaded = sigil_families::load(family, std::slice::from_ref(&dir));
            assert!(!loaded.rules.is_empty(), "{}", dir.display());
            let mut seen: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            for r in loaded.rules.iter().take(300) {
                let html = query(&r.query, r.language.as_str());
                assert_eq!(unescape(&html), r.query, "text unchanged: {}", r.path.display());
                assert!(!html.contains("<script"), "escaped");
                for class in ["k", "f", "o", "s", "m", "n", "p", "c", "v"] {
                    if html.contains(&format!("<span class=\"{class}\">")) {
                        seen.insert(class.to_string());
                    }
                }
            }
            for class in want {
                assert!(seen.contains(*class), "{}: no `{class}` span in {seen:?}", dir.display());
            }
        }
        // Escaping inside spans.
        let html = query("x == \"<b>&\"", "kusto");
        assert_eq!(
            html,
            "<span class=\"f\">x</span> <span class=\"o\">==</span> <span class=\"s\">&quot;&lt;b&gt;&amp;&quot;</span>"
        );
        assert_eq!(query("a <b>", "python"), "a &lt;b&gt;");
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
