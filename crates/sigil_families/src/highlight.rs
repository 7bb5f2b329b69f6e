//! Query text as spans for syntax highlighting, from the same lexers the parsers use ([`crate::expr`]), in
//! their tolerant mode so that a whole query (pipes, commands the parsers skip) highlights, never fails, and
//! keeps every byte: the spans cover the tokens; the text between them (spaces) is plain.
//!
//! Classes: `k` keyword (the language's commands and boolean words), `s` string, `o` operator, `f` field (a
//! word just before a comparison operator), `n` number, `m` macro or raw text (SPL back-quoted macros, YARA-L
//! back-quoted regexes), `p` punctuation, `c` comment, `v` other words (values, functions, names).

use std::ops::Range;

use crate::Language;
use crate::expr::{Lexing, Tok, lex_spanned};

/// A highlighted span: a byte range of the query and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Bytes of the query.
    pub range: Range<usize>,
    /// `k`, `s`, `o`, `f`, `n`, `m`, `p`, `c` or `v` (see the module documentation).
    pub class: &'static str,
}

const SPL_KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "by",
    "as",
    "where",
    "from",
    "tstats",
    "search",
    "stats",
    "eval",
    "table",
    "rename",
    "lookup",
    "output",
    "outputnew",
    "in",
    "like",
    "fields",
    "dedup",
    "sort",
    "head",
    "tail",
    "rex",
    "join",
    "append",
    "inputlookup",
    "count",
    "values",
    "min",
    "max",
    "latest",
    "earliest",
    "dc",
    "sum",
    "bin",
    "bucket",
    "datamodel",
    "nodename",
    "summariesonly",
    "allow_old_summaries",
    "fillnull",
    "makemv",
    "mvexpand",
    "spath",
    "transaction",
    "streamstats",
    "eventstats",
    "timechart",
    "chart",
    "top",
    "rare",
    "convert",
    "case",
    "if",
    "true",
    "false",
    "null",
];
const EQL_KEYWORDS: &[&str] = &[
    "and", "or", "not", "where", "sequence", "sample", "by", "with", "maxspan", "until", "in", "like", "regex", "any",
    "true", "false", "null", "runs", "of", "head", "tail", "filter", "unique", "count",
];
const KUERY_KEYWORDS: &[&str] = &["and", "or", "not"];
const KUSTO_KEYWORDS: &[&str] = &[
    "let",
    "where",
    "and",
    "or",
    "not",
    "project",
    "extend",
    "summarize",
    "by",
    "join",
    "union",
    "kind",
    "on",
    "has",
    "has_cs",
    "has_any",
    "has_all",
    "contains",
    "contains_cs",
    "startswith",
    "startswith_cs",
    "endswith",
    "endswith_cs",
    "in",
    "matches",
    "regex",
    "between",
    "ago",
    "now",
    "count",
    "make_set",
    "make_list",
    "arg_max",
    "arg_min",
    "take",
    "limit",
    "top",
    "sort",
    "order",
    "asc",
    "desc",
    "distinct",
    "parse",
    "with",
    "mv-expand",
    "project-away",
    "project-rename",
    "invoke",
    "datatable",
    "materialize",
    "iff",
    "iif",
    "isnotempty",
    "isempty",
    "tolower",
    "toupper",
    "tostring",
    "toint",
    "true",
    "false",
    "dynamic",
    "lookup",
    "evaluate",
];
const YARAL_KEYWORDS: &[&str] = &[
    "rule",
    "meta",
    "events",
    "match",
    "outcome",
    "condition",
    "options",
    "over",
    "and",
    "or",
    "not",
    "nocase",
    "in",
    "regex",
    "cidr",
    "any",
    "all",
    "if",
    "true",
    "false",
    "before",
    "after",
    "by",
    "every",
];

fn setup(language: Language) -> Option<(&'static Lexing, &'static [&'static str])> {
    Some(match language {
        Language::Spl => (&crate::spl::LEX, SPL_KEYWORDS),
        Language::Eql => (&crate::eql::LEX, EQL_KEYWORDS),
        Language::Kuery | Language::Lucene => (&crate::kql::LEX, KUERY_KEYWORDS),
        // ES|QL reads like Kusto: a pipeline of `|` commands with `==`, `!=`, `"..."`.
        Language::Kusto | Language::Esql => (&crate::kusto::LEX, KUSTO_KEYWORDS),
        Language::Yaral => (&crate::yaral::LEX, YARAL_KEYWORDS),
        Language::Python => return None,
    })
}

/// Comment ranges of a language: `//` to the end of the line (Kusto, ES|QL, YARA-L, EQL), `/* … */` (YARA-L,
/// ES|QL), SPL's ```` ``` … ``` ````. Quotes are honoured so a `//` inside a string is not a comment.
fn comments(text: &str, language: Language) -> Vec<Range<usize>> {
    let line = matches!(language, Language::Kusto | Language::Esql | Language::Yaral | Language::Eql);
    let block = matches!(language, Language::Yaral | Language::Esql);
    let spl = language == Language::Spl;
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let rest = text.get(i..).unwrap_or_default();
        let end = if line && rest.starts_with("//") {
            Some(rest.find('\n').map_or(text.len(), |n| i + n))
        } else if block && rest.starts_with("/*") {
            Some(rest.get(2..).and_then(|r| r.find("*/")).map_or(text.len(), |n| i + n + 4))
        } else if spl && rest.starts_with("```") {
            Some(rest.get(3..).and_then(|r| r.find("```")).map_or(text.len(), |n| i + n + 6))
        } else {
            None
        };
        if let Some(end) = end {
            out.push(i..end);
            i = end;
            continue;
        }
        if b == b'"' || (b == b'\'' && language == Language::Kusto) {
            quote = Some(b);
        }
        i += 1;
    }
    out
}

/// The spans of a query in its language, in order, not overlapping; empty for Python (not highlighted here).
pub fn spans(text: &str, language: Language) -> Vec<Span> {
    let Some((how, keywords)) = setup(language) else { return Vec::new() };
    let mut out = Vec::new();
    let mut from = 0;
    let comments = comments(text, language);
    let code = |range: Range<usize>, out: &mut Vec<Span>| {
        let Some(part) = text.get(range.clone()) else { return };
        let Ok(toks) = lex_spanned(part, how, true) else { return };
        for (n, (r, tok)) in toks.iter().enumerate() {
            let class = match tok {
                Tok::Str(_) => "s",
                Tok::Raw(_) => "m",
                Tok::Op(_) => "o",
                Tok::LParen | Tok::RParen | Tok::LBracket | Tok::RBracket | Tok::LBrace | Tok::RBrace | Tok::Comma => {
                    "p"
                }
                Tok::Word(w) if keywords.iter().any(|k| k.eq_ignore_ascii_case(w)) => "k",
                Tok::Word(w) if w.parse::<f64>().is_ok() => "n",
                Tok::Word(w) if w.len() == 1 && !w.chars().all(char::is_alphanumeric) => "p",
                Tok::Word(_) if matches!(toks.get(n + 1), Some((_, Tok::Op(_)))) => "f",
                Tok::Word(_) => "v",
            };
            out.push(Span { range: r.start + range.start..r.end + range.start, class });
        }
    };
    for c in comments {
        code(from..c.start, &mut out);
        out.push(Span { range: c.clone(), class: "c" });
        from = c.end;
    }
    code(from..text.len(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(text: &str, language: Language) -> Vec<(&str, &'static str)> {
        spans(text, language).into_iter().map(|s| (&text[s.range], s.class)).collect()
    }

    #[test]
    fn spl_with_macros_comments_and_pipes() {
        let q = "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=\"7z.exe\" \
                 by Processes.dest ```a comment``` | `drop_dm_object_name(Processes)` | where count > 5";
        let c = classes(q, Language::Spl);
        assert!(c.contains(&("tstats", "k")) && c.contains(&("where", "k")), "{c:?}");
        assert!(c.contains(&("Processes.process_name", "f")));
        assert!(c.contains(&("\"7z.exe\"", "s")));
        assert!(c.contains(&("=", "o")));
        assert!(c.contains(&("```a comment```", "c")));
        assert!(c.contains(&("`drop_dm_object_name(Processes)`", "m")));
        assert!(c.contains(&("5", "n")));
        assert!(c.contains(&("|", "p")));
    }

    #[test]
    fn kusto_strings_comments_and_unterminated_text() {
        let q = "// children\nDeviceProcessEvents\n| where FileName =~ @'c:\\x' and Cmd has_any ('a', \"b // c\")";
        let c = classes(q, Language::Kusto);
        assert_eq!(c.first(), Some(&("// children", "c")));
        assert!(c.contains(&("@'c:\\x'", "s")) && c.contains(&("\"b // c\"", "s")), "{c:?}");
        assert!(c.contains(&("has_any", "k")) && c.contains(&("=~", "o")) && c.contains(&("FileName", "f")));
        // Unterminated: still spans to the end, nothing lost.
        let c = classes("where x == \"abc", Language::Kusto);
        assert_eq!(c.last(), Some(&("\"abc", "s")));
        assert!(spans("print 1", Language::Python).is_empty());
    }
}
