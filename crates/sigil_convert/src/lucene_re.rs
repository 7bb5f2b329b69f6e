//! Sigma's `re` (Rust/PCRE-like syntax, unanchored search) as a Lucene regular expression (Elasticsearch
//! `query_string` `/…/`, the `regexp` query, ES|QL `RLIKE`), which is anchored to the whole value and knows only
//! `. ? + * {n,m} | ( ) [ ]` (plus the `# @ & ~ < >` operators, escaped here).
//!
//! - Unanchored search becomes `.*…​.*`; a leading `^`/`\A` or trailing `$`/`\z` drops that side's `.*`. An anchor or
//!   word boundary anywhere else cannot be expressed and is reported.
//! - `\d \w \s` (and negations) become ASCII classes (`[0-9]`, `[0-9A-Za-z_]`, `[ \t\n\r\f\v]`): the engine's Rust
//!   regexes read them as Unicode classes — the same gap as RE2 and Java (see the README).
//! - Case-insensitivity (`i` flag or `(?i)`) becomes explicit classes (`[aA]`) when `expand_case` is set, since
//!   `query_string` regexes have no flag; the DSL passes `case_insensitive: true` instead.
//! - Lazy repetitions are written greedy: over a whole-value match both accept the same values.
//! - `.` without the `s` flag also matches a newline in Lucene (documented deviation).

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassAsciiKind, ClassPerlKind, ClassSet, ClassSetItem, GroupKind, RepetitionKind,
    RepetitionRange,
};

use crate::sql::Unsupported;

type R<T> = Result<T, Unsupported>;

fn unsupported(what: &str) -> Unsupported {
    Unsupported(format!("the regular expression uses {what}, which Lucene regular expressions cannot express"))
}

/// Translates a Sigma regular expression (with the `re` modifier's flags) into a whole-value Lucene regex.
pub(crate) fn translate(pattern: &str, ignore_case: bool, multi_line: bool, expand_case: bool) -> R<String> {
    let ast = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| Unsupported(format!("the regular expression does not parse: {e}")))?;
    let mut t = Tr { ignore_case, expand_case, multi_line };
    let branches: Vec<&Ast> = match &ast {
        Ast::Alternation(a) => a.asts.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(branches.len());
    for b in branches {
        out.push(t.branch(b)?);
    }
    Ok(if out.len() == 1 { out.pop().unwrap_or_default() } else { format!("({})", out.join("|")) })
}

struct Tr {
    ignore_case: bool,
    expand_case: bool,
    multi_line: bool,
}

impl Tr {
    fn apply_flags(&mut self, flags: &ast::Flags) -> R<()> {
        let mut negate = false;
        for item in &flags.items {
            match &item.kind {
                ast::FlagsItemKind::Negation => negate = true,
                ast::FlagsItemKind::Flag(ast::Flag::CaseInsensitive) => self.ignore_case = !negate,
                ast::FlagsItemKind::Flag(ast::Flag::MultiLine) => self.multi_line = !negate,
                // `s` is the Lucene behaviour already; `x`, `U` and `u` change nothing once parsed.
                ast::FlagsItemKind::Flag(_) => {}
            }
        }
        Ok(())
    }

    /// One top-level alternative: anchors at its ends replace the implicit `.*`.
    fn branch(&mut self, ast: &Ast) -> R<String> {
        let mut items: Vec<&Ast> = match ast {
            Ast::Concat(c) => c.asts.iter().collect(),
            Ast::Empty(_) => Vec::new(),
            other => vec![other],
        };
        // Leading flags (`(?i)…`) apply to the rest of the expression.
        while let Some(Ast::Flags(f)) = items.first() {
            self.apply_flags(&f.flags)?;
            items.remove(0);
        }
        let start_anchor = |a: &Ast, ml: bool| match a {
            Ast::Assertion(x) => {
                matches!(x.kind, AssertionKind::StartText) || (!ml && matches!(x.kind, AssertionKind::StartLine))
            }
            _ => false,
        };
        let end_anchor = |a: &Ast, ml: bool| match a {
            Ast::Assertion(x) => {
                matches!(x.kind, AssertionKind::EndText) || (!ml && matches!(x.kind, AssertionKind::EndLine))
            }
            _ => false,
        };
        let anchored_start = items.first().is_some_and(|a| start_anchor(a, self.multi_line));
        if anchored_start {
            items.remove(0);
        }
        let anchored_end = items.last().is_some_and(|a| end_anchor(a, self.multi_line));
        if anchored_end {
            items.pop();
        }
        let mut out = String::new();
        if !anchored_start {
            out.push_str(".*");
        }
        for a in items {
            out.push_str(&self.node(a)?);
        }
        if !anchored_end {
            out.push_str(".*");
        }
        Ok(out)
    }

    fn node(&mut self, a: &Ast) -> R<String> {
        Ok(match a {
            Ast::Empty(_) => String::new(),
            Ast::Flags(_) => return Err(unsupported("a flag group in the middle")),
            Ast::Literal(l) => self.literal(l.c),
            Ast::Dot(_) => ".".into(),
            Ast::Assertion(_) => return Err(unsupported("an anchor or word boundary inside the expression")),
            Ast::ClassUnicode(_) => return Err(unsupported("a Unicode class (\\p{..})")),
            Ast::ClassPerl(p) => perl_class(&p.kind, p.negated),
            Ast::ClassBracketed(b) => {
                let inner = self.class_set(&b.kind)?;
                format!("[{}{inner}]", if b.negated { "^" } else { "" })
            }
            Ast::Repetition(r) => {
                let inner = self.node(&r.ast)?;
                let inner = if needs_group(&r.ast) { format!("({inner})") } else { inner };
                let op = match &r.op.kind {
                    RepetitionKind::ZeroOrOne => "?".to_string(),
                    RepetitionKind::ZeroOrMore => "*".to_string(),
                    RepetitionKind::OneOrMore => "+".to_string(),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => format!("{{{n}}}"),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => format!("{{{n},}}"),
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => format!("{{{m},{n}}}"),
                };
                format!("{inner}{op}")
            }
            Ast::Group(g) => {
                let saved = self.ignore_case;
                if let GroupKind::NonCapturing(flags) = &g.kind {
                    self.apply_flags(flags)?;
                }
                let inner = self.node(&g.ast);
                self.ignore_case = saved;
                format!("({})", inner?)
            }
            Ast::Alternation(alt) => {
                let parts = alt.asts.iter().map(|x| self.node(x)).collect::<R<Vec<_>>>()?;
                // An empty alternative (`a|`) becomes an optional group.
                let non_empty: Vec<String> = parts.iter().filter(|p| !p.is_empty()).cloned().collect();
                if non_empty.len() < parts.len() { format!("({})?", non_empty.join("|")) } else { parts.join("|") }
            }
            Ast::Concat(c) => {
                let mut s = String::new();
                for x in &c.asts {
                    s.push_str(&self.node(x)?);
                }
                s
            }
        })
    }

    fn literal(&self, c: char) -> String {
        if self.ignore_case && self.expand_case {
            let (lo, up) = case_pair(c);
            if lo != up {
                return format!("[{}{}]", class_char(lo), class_char(up));
            }
        }
        escape_char(c)
    }

    fn class_set(&self, set: &ClassSet) -> R<String> {
        match set {
            ClassSet::BinaryOp(_) => Err(unsupported("a class intersection or difference")),
            ClassSet::Item(item) => self.class_item(item),
        }
    }

    fn class_item(&self, item: &ClassSetItem) -> R<String> {
        Ok(match item {
            ClassSetItem::Empty(_) => String::new(),
            ClassSetItem::Literal(l) => {
                let mut s = class_char(l.c);
                if self.ignore_case && self.expand_case {
                    let (lo, up) = case_pair(l.c);
                    for x in [lo, up] {
                        if x != l.c {
                            s.push_str(&class_char(x));
                        }
                    }
                }
                s
            }
            ClassSetItem::Range(r) => {
                let (a, b) = (r.start.c, r.end.c);
                let mut s = format!("{}-{}", class_char(a), class_char(b));
                if self.ignore_case && self.expand_case {
                    // The other case of the ASCII letters inside the range.
                    for (lo, hi, shift) in [('a', 'z', -32i32), ('A', 'Z', 32)] {
                        let (x, y) = (a.max(lo), b.min(hi));
                        if x <= y {
                            let m = |c: char| char::from_u32((c as i32 + shift) as u32).unwrap_or(c);
                            s.push_str(&format!("{}-{}", m(x), m(y)));
                        }
                    }
                }
                s
            }
            ClassSetItem::Ascii(a) => {
                if a.negated {
                    return Err(unsupported("a negated POSIX class inside a class"));
                }
                ascii_class(&a.kind).to_string()
            }
            ClassSetItem::Unicode(_) => return Err(unsupported("a Unicode class (\\p{..})")),
            ClassSetItem::Perl(p) => {
                if p.negated {
                    return Err(unsupported("a negated \\D, \\W or \\S inside a class"));
                }
                let c = perl_class(&p.kind, false);
                c[1..c.len() - 1].to_string()
            }
            ClassSetItem::Bracketed(_) => return Err(unsupported("a nested class")),
            ClassSetItem::Union(u) => {
                let mut s = String::new();
                for i in &u.items {
                    s.push_str(&self.class_item(i)?);
                }
                s
            }
        })
    }
}

fn needs_group(a: &Ast) -> bool {
    !matches!(a, Ast::Literal(_) | Ast::Dot(_) | Ast::ClassPerl(_) | Ast::ClassBracketed(_) | Ast::Group(_))
}

fn case_pair(c: char) -> (char, char) {
    let mut lo = c.to_lowercase();
    let mut up = c.to_uppercase();
    match (lo.next(), lo.next(), up.next(), up.next()) {
        (Some(l), None, Some(u), None) => (l, u),
        _ => (c, c),
    }
}

fn perl_class(kind: &ClassPerlKind, negated: bool) -> String {
    let body = match kind {
        ClassPerlKind::Digit => "0-9",
        ClassPerlKind::Word => "0-9A-Za-z_",
        ClassPerlKind::Space => " \t\n\r\u{b}\u{c}",
    };
    format!("[{}{body}]", if negated { "^" } else { "" })
}

fn ascii_class(kind: &ClassAsciiKind) -> &'static str {
    match kind {
        ClassAsciiKind::Alnum => "0-9A-Za-z",
        ClassAsciiKind::Alpha => "A-Za-z",
        ClassAsciiKind::Ascii => "\u{0}-\u{7f}",
        ClassAsciiKind::Blank => " \t",
        ClassAsciiKind::Cntrl => "\u{0}-\u{1f}\u{7f}",
        ClassAsciiKind::Digit => "0-9",
        ClassAsciiKind::Graph => "!-~",
        ClassAsciiKind::Lower => "a-z",
        ClassAsciiKind::Print => " -~",
        ClassAsciiKind::Punct => "!-/:-@\\[-`{-~",
        ClassAsciiKind::Space => " \t\n\r\u{b}\u{c}",
        ClassAsciiKind::Upper => "A-Z",
        ClassAsciiKind::Word => "0-9A-Za-z_",
        ClassAsciiKind::Xdigit => "0-9A-Fa-f",
    }
}

/// A literal character outside a class: Lucene's operators (and `/`, the `query_string` delimiter) escaped.
fn escape_char(c: char) -> String {
    if ".?+*|{}[]()\"\\#@&~<>/".contains(c) { format!("\\{c}") } else { c.to_string() }
}

/// A character inside a class: `\`, `]`, `[`, `^`, `-` and `/` escaped.
fn class_char(c: char) -> String {
    if "\\]^-[/\"".contains(c) { format!("\\{c}") } else { c.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(p: &str) -> String {
        translate(p, false, false, true).unwrap()
    }

    #[test]
    fn unanchored_search_gets_dot_star() {
        assert_eq!(t("abc"), ".*abc.*");
        assert_eq!(t("^abc$"), "abc");
        assert_eq!(t("^a|b$"), "(a.*|.*b)");
        assert_eq!(t("\\Aa\\z"), "a");
        assert_eq!(t("a.b"), ".*a.b.*");
    }

    #[test]
    fn perl_classes_become_ascii_classes() {
        assert_eq!(t("\\d{2,4}"), ".*[0-9]{2,4}.*");
        assert_eq!(t("\\W+"), ".*[^0-9A-Za-z_]+.*");
        assert_eq!(t("[\\d.]"), ".*[0-9.].*");
    }

    #[test]
    fn operators_and_delimiters_are_escaped() {
        assert_eq!(t("a/b@c#d&e~f<g>h\"i"), ".*a\\/b\\@c\\#d\\&e\\~f\\<g\\>h\\\"i.*");
        assert_eq!(t("C:\\\\Windows\\\\"), ".*C:\\\\Windows\\\\.*");
        assert_eq!(t("[^a-z]"), ".*[^a-z].*");
    }

    #[test]
    fn case_insensitivity_expands() {
        assert_eq!(translate("ab1", true, false, true).unwrap(), ".*[aA][bB]1.*");
        assert_eq!(t("(?i)x[a-c]"), ".*[xX][a-cA-C].*");
        assert_eq!(translate("ab", true, false, false).unwrap(), ".*ab.*");
        assert_eq!(t("(?i:Ä)b"), ".*([äÄ])b.*");
    }

    #[test]
    fn lazy_groups_and_empty_alternatives() {
        assert_eq!(t("a.*?b"), ".*a.*b.*");
        assert_eq!(t("(?:ab)+"), ".*(ab)+.*");
        assert_eq!(t("x(a|)"), ".*x((a)?).*");
    }

    #[test]
    fn inexpressible_parts_are_reported() {
        for p in ["a\\bb", "a^b", "\\p{L}", "[a&&b]", "a(?i)b"] {
            let e = translate(p, false, false, true).unwrap_err();
            assert!(e.0.contains("Lucene"), "{p}: {}", e.0);
        }
        // With the m flag `^` means a line start: not expressible.
        assert!(translate("^a", false, true, true).is_err());
    }
}
