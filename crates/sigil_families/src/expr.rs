//! The lexer and boolean-expression parser the query parsers share: tokens, `and`/`or`/`not` with
//! parentheses, and a language-specific atom parser for comparisons.

use crate::{Op, Predicate};

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    /// A quoted string, escapes resolved.
    Str(String),
    /// A back-quoted string (YARA-L regex, SPL macro), as written.
    Raw(String),
    /// A bare word (identifier, number, unquoted value).
    Word(String),
    /// An operator (`==`, `:`, `!=`, ...).
    Op(&'static str),
}

/// How a language lexes.
pub(crate) struct Lexing {
    /// Operators, longest first.
    pub(crate) ops: &'static [&'static str],
    /// Characters that end a bare word besides whitespace, brackets, commas and quotes.
    pub(crate) stops: &'static str,
    /// Whether `\` escapes the next character inside quotes.
    pub(crate) escapes: bool,
    /// Whether `@"..."` is a verbatim string (Kusto).
    pub(crate) verbatim: bool,
    /// Whether `[`/`]` are tokens (otherwise part of words).
    pub(crate) brackets: bool,
    /// Whether `{`/`}` are tokens.
    pub(crate) braces: bool,
    /// Whether `'` quotes strings.
    pub(crate) single_quotes: bool,
}

/// Splits `text` into tokens; errors name the byte offset.
pub(crate) fn lex(text: &str, how: &Lexing) -> Result<Vec<Tok>, String> {
    Ok(lex_spanned(text, how, false)?.into_iter().map(|(_, t)| t).collect())
}

/// [`lex`] with each token's byte range. `tolerant` (for highlighting whole queries, not only the clauses the
/// parsers read) never fails: an unterminated string runs to the end, and a character no token starts with
/// becomes a one-character word.
pub(crate) fn lex_spanned(
    text: &str,
    how: &Lexing,
    tolerant: bool,
) -> Result<Vec<(std::ops::Range<usize>, Tok)>, String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    loop {
        let here = chars.get(i).map_or(text.len(), |(at, _)| *at);
        if ranges.len() < out.len() {
            ranges.push(start..here);
        }
        let Some(&(at, c)) = chars.get(i) else { break };
        start = at;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            ',' => Some(Tok::Comma),
            '[' if how.brackets => Some(Tok::LBracket),
            ']' if how.brackets => Some(Tok::RBracket),
            '{' if how.braces => Some(Tok::LBrace),
            '}' if how.braces => Some(Tok::RBrace),
            _ => None,
        };
        if let Some(t) = single {
            out.push(t);
            i += 1;
            continue;
        }
        let verbatim = how.verbatim && c == '@' && matches!(chars.get(i + 1), Some((_, '"' | '\'')));
        if c == '"' || (c == '\'' && how.single_quotes) || verbatim {
            let escapes = how.escapes && !verbatim;
            if verbatim {
                i += 1;
            }
            let quote = chars.get(i).map_or('"', |(_, q)| *q);
            // EQL's raw strings: """...""".
            let triple = quote == '"'
                && matches!(chars.get(i + 1), Some((_, '"')))
                && matches!(chars.get(i + 2), Some((_, '"')));
            i += if triple { 3 } else { 1 };
            let mut s = String::new();
            loop {
                let Some(&(_, d)) = chars.get(i) else {
                    if tolerant {
                        break;
                    }
                    return Err(format!("unterminated string starting at offset {at}"));
                };
                if triple {
                    if d == '"'
                        && matches!(chars.get(i + 1), Some((_, '"')))
                        && matches!(chars.get(i + 2), Some((_, '"')))
                    {
                        i += 3;
                        break;
                    }
                    s.push(d);
                    i += 1;
                    continue;
                }
                if d == quote {
                    i += 1;
                    break;
                }
                if d == '\\' && escapes {
                    match chars.get(i + 1).map(|(_, e)| *e) {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('r') => s.push('\r'),
                        Some(e) => s.push(e),
                        None if tolerant => {
                            i += 1;
                            break;
                        }
                        None => return Err(format!("unterminated string starting at offset {at}")),
                    }
                    i += 2;
                    continue;
                }
                s.push(d);
                i += 1;
            }
            out.push(Tok::Str(s));
            continue;
        }
        if c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&(_, d)) = chars.get(i) else {
                    if tolerant {
                        break;
                    }
                    return Err(format!("unterminated back-quoted text starting at offset {at}"));
                };
                i += 1;
                if d == '`' {
                    break;
                }
                s.push(d);
            }
            out.push(Tok::Raw(s));
            continue;
        }
        if let Some(op) = how.ops.iter().find(|op| text.get(at..).is_some_and(|rest| rest.starts_with(**op))) {
            out.push(Tok::Op(op));
            i += op.chars().count();
            continue;
        }
        let mut word = String::new();
        while let Some(&(wat, d)) = chars.get(i) {
            let ends = d.is_whitespace()
                || matches!(d, '(' | ')' | ',' | '"' | '`')
                || (d == '\'' && how.single_quotes)
                || (how.brackets && matches!(d, '[' | ']'))
                || (how.braces && matches!(d, '{' | '}'))
                || how.stops.contains(d)
                || (!word.is_empty() && how.ops.iter().any(|op| text.get(wat..).is_some_and(|r| r.starts_with(*op))));
            if ends {
                break;
            }
            word.push(d);
            i += 1;
        }
        if word.is_empty() {
            if !tolerant {
                return Err(format!("unexpected '{c}' at offset {at}"));
            }
            word.push(c);
            i += 1;
        }
        out.push(Tok::Word(word));
    }
    Ok(ranges.into_iter().zip(out).collect())
}

/// Boolean keywords of a language.
pub(crate) struct Keywords {
    pub(crate) and: &'static str,
    pub(crate) or: &'static str,
    pub(crate) not: &'static str,
    /// Whether keywords must be written exactly (SPL: upper case) or in any case.
    pub(crate) exact: bool,
    /// Whether terms next to each other are AND-ed (SPL, KQL free text).
    pub(crate) implicit_and: bool,
}

/// Tokens with a position.
pub(crate) struct Cursor {
    pub(crate) toks: Vec<Tok>,
    pub(crate) pos: usize,
}

impl Cursor {
    pub(crate) fn new(toks: Vec<Tok>) -> Cursor {
        Cursor { toks, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    pub(crate) fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n)
    }

    pub(crate) fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// Consumes a word equal to `w` (ASCII case-insensitive unless `exact`).
    pub(crate) fn eat_word(&mut self, w: &str, exact: bool) -> bool {
        let hit = match self.peek() {
            Some(Tok::Word(x)) => {
                if exact {
                    x == w
                } else {
                    x.eq_ignore_ascii_case(w)
                }
            }
            _ => false,
        };
        if hit {
            self.pos += 1;
        }
        hit
    }

    pub(crate) fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, t: &Tok) -> Result<(), String> {
        if self.eat(t) { Ok(()) } else { Err(format!("expected {t:?}, found {}", self.describe())) }
    }

    pub(crate) fn describe(&self) -> String {
        match self.peek() {
            None => "the end".to_string(),
            Some(Tok::Word(w)) => format!("'{w}'"),
            Some(Tok::Str(s)) => format!("\"{s}\""),
            Some(Tok::Op(o)) => format!("'{o}'"),
            Some(t) => format!("{t:?}"),
        }
    }

    /// A value: a quoted string or a bare word.
    pub(crate) fn value(&mut self) -> Result<(String, bool), String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok((s, true)),
            Some(Tok::Word(w)) => Ok((w, false)),
            other => Err(format!("expected a value, found {other:?}")),
        }
    }
}

/// The atom parser of a language: reads one comparison (or anything that is not a boolean keyword or a
/// parenthesis) and pushes its predicates, negated as told.
pub(crate) type AtomFn<'a> = dyn FnMut(&mut Cursor, bool, &mut Vec<Predicate>) -> Result<(), String> + 'a;

/// `or := and (OR and)*`, `and := unary ((AND)? unary)*`, `unary := NOT unary | ( or ) | atom`.
pub(crate) fn boolean(
    c: &mut Cursor,
    kw: &Keywords,
    negated: bool,
    out: &mut Vec<Predicate>,
    atom: &mut AtomFn<'_>,
) -> Result<(), String> {
    conj(c, kw, negated, out, atom)?;
    while c.eat_word(kw.or, kw.exact) {
        conj(c, kw, negated, out, atom)?;
    }
    Ok(())
}

fn conj(
    c: &mut Cursor,
    kw: &Keywords,
    negated: bool,
    out: &mut Vec<Predicate>,
    atom: &mut AtomFn<'_>,
) -> Result<(), String> {
    unary(c, kw, negated, out, atom)?;
    loop {
        if c.eat_word(kw.and, kw.exact) {
            unary(c, kw, negated, out, atom)?;
            continue;
        }
        let more = match c.peek() {
            None | Some(Tok::RParen | Tok::RBracket | Tok::RBrace) => false,
            Some(Tok::Word(w)) if is_kw(w, kw.or, kw.exact) => false,
            _ => kw.implicit_and,
        };
        if !more {
            return Ok(());
        }
        unary(c, kw, negated, out, atom)?;
    }
}

fn is_kw(w: &str, k: &str, exact: bool) -> bool {
    if exact { w == k } else { w.eq_ignore_ascii_case(k) }
}

fn unary(
    c: &mut Cursor,
    kw: &Keywords,
    negated: bool,
    out: &mut Vec<Predicate>,
    atom: &mut AtomFn<'_>,
) -> Result<(), String> {
    if c.eat_word(kw.not, kw.exact) {
        return unary(c, kw, !negated, out, atom);
    }
    if c.eat(&Tok::LParen) {
        boolean(c, kw, negated, out, atom)?;
        return c.expect(&Tok::RParen);
    }
    if c.at_end() {
        return Err("expected a term, found the end".to_string());
    }
    atom(c, negated, out)
}

/// A predicate with the defaults (wildcards off, case-insensitive).
pub(crate) fn pred(field: &str, op: Op, value: impl Into<String>, negated: bool) -> Predicate {
    Predicate { field: field.to_string(), op, value: value.into(), wildcards: false, cased: false, negated }
}

/// A comma-separated list of values in parentheses (the `(` already consumed).
pub(crate) fn value_list(c: &mut Cursor) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    loop {
        if c.eat(&Tok::RParen) {
            return Ok(values);
        }
        let (v, _) = c.value()?;
        values.push(v);
        if !c.eat(&Tok::Comma) {
            c.expect(&Tok::RParen)?;
            return Ok(values);
        }
    }
}
