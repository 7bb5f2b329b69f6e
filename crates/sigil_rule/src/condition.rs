//! The condition language: `and`, `or`, `not`, parentheses, `1 of pattern`, `all of pattern`, `them`.
//!
//! Precedence, weakest to strongest: `or` < `and` < `not` < `x of` < parentheses; `and` and `or` are
//! left-associative and flattened into n-ary nodes. Keywords are lower case (as pySigma and SigmaHQ's tests
//! require); `any of` is pySigma's synonym of `1 of`. Sigma 1 aggregations (`| count() by …`, `near`) are
//! rejected with a pointer to correlation rules.

use std::fmt;

use sigil_diagnostics::Position;

/// A parsed condition with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The condition as written.
    pub text: String,
    /// Its parsed form.
    pub expr: Expr,
    /// Where the condition string starts in the file.
    pub pos: Position,
}

/// A condition expression. `offset` fields are character offsets into the condition text.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A search identifier.
    Ident {
        /// The identifier as written.
        name: String,
        /// Where it starts.
        offset: usize,
    },
    /// `1 of pattern` / `all of pattern`.
    Selector {
        /// `1 of` or `all of`.
        quantifier: Quantifier,
        /// Which identifiers it ranges over.
        pattern: Pattern,
        /// Where the quantifier starts.
        offset: usize,
    },
    /// `not`.
    Not(Box<Expr>),
    /// `and` of two or more operands.
    And(Vec<Expr>),
    /// `or` of two or more operands.
    Or(Vec<Expr>),
}

/// How many of the identifiers a [`Expr::Selector`] ranges over must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// `1 of` / `any of`
    One,
    /// `all of`
    All,
}

/// The identifiers a [`Expr::Selector`] ranges over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// A name with `*` wildcards, matched against the whole identifier.
    Glob(String),
}

impl Pattern {
    /// Whether the search identifier `name` is selected. Identifiers beginning with `_` are only selected by
    /// patterns that themselves begin with `_` (pySigma).
    pub fn matches(&self, name: &str) -> bool {
        match self {
            Pattern::Them => !name.starts_with('_'),
            Pattern::Glob(p) => (p.starts_with('_') || !name.starts_with('_')) && glob_match(p, name),
        }
    }
}

fn glob_match(pattern: &str, name: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = pieces.as_slice() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    for piece in middle {
        match rest.find(piece) {
            Some(i) => rest = rest.get(i + piece.len()..).unwrap_or(""),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl Expr {
    /// Visits every identifier and selector in the expression.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Not(e) => e.walk(f),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.walk(f)),
            Expr::Ident { .. } | Expr::Selector { .. } => {}
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 1,
            Expr::And(_) => 2,
            Expr::Not(_) => 3,
            Expr::Ident { .. } | Expr::Selector { .. } => 4,
        }
    }

    fn fmt_child(&self, child: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if child.precedence() <= self.precedence() { write!(f, "({child})") } else { write!(f, "{child}") }
    }
}

/// The normalised form: lower-case keywords, single spaces, parentheses only where precedence needs them.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ident { name, .. } => f.write_str(name),
            Expr::Selector { quantifier, pattern, .. } => {
                let q = match quantifier {
                    Quantifier::One => "1",
                    Quantifier::All => "all",
                };
                match pattern {
                    Pattern::Them => write!(f, "{q} of them"),
                    Pattern::Glob(p) => write!(f, "{q} of {p}"),
                }
            }
            Expr::Not(e) => {
                f.write_str("not ")?;
                if e.precedence() < self.precedence() { write!(f, "({e})") } else { write!(f, "{e}") }
            }
            Expr::And(es) | Expr::Or(es) => {
                let op = if matches!(self, Expr::And(_)) { " and " } else { " or " };
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        f.write_str(op)?;
                    }
                    self.fmt_child(e, f)?;
                }
                Ok(())
            }
        }
    }
}

/// A syntax error at a character offset of the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// Character offset of the problem in the condition text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is advice.
    pub help: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    LParen,
    RParen,
    Pipe,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ConditionError> {
    let mut toks = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                toks.push((Tok::LParen, i));
                i += 1;
            }
            ')' => {
                toks.push((Tok::RParen, i));
                i += 1;
            }
            '|' => {
                toks.push((Tok::Pipe, i));
                i += 1;
            }
            c if is_word_char(c) => {
                let start = i;
                while chars.get(i).is_some_and(|&c| is_word_char(c)) {
                    i += 1;
                }
                toks.push((Tok::Word(chars.get(start..i).unwrap_or(&[]).iter().collect()), start));
            }
            other => {
                return Err(ConditionError {
                    offset: i,
                    message: format!("unexpected character '{}' in condition", other.escape_debug()),
                    help: None,
                });
            }
        }
    }
    Ok(toks)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '.')
}

const KEYWORDS: [&str; 7] = ["and", "or", "not", "of", "them", "all", "any"];

/// Parses a condition string.
///
/// # Errors
/// A [`ConditionError`] at the first offending token.
pub fn parse_expr(text: &str) -> Result<Expr, ConditionError> {
    if let Some(off) = text.chars().position(|c| c == '|') {
        return Err(ConditionError {
            offset: off,
            message: "Sigma 1 aggregation ('| count() …') is not supported in conditions".into(),
            help: Some("express it as a correlation rule (type event_count or value_count)".into()),
        });
    }
    let toks = lex(text)?;
    let mut p = Parser { toks, pos: 0, end: text.chars().count(), depth: 0 };
    let e = p.or()?;
    if let Some((t, off)) = p.toks.get(p.pos) {
        return Err(ConditionError { offset: *off, message: format!("unexpected {}", describe(t)), help: None });
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Word(w) => format!("'{w}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Pipe => "'|'".into(),
    }
}

/// Nesting deeper than this is rejected rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 128;

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), _)) => Some(w),
            _ => None,
        }
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, o)| *o)
    }

    fn error(&self, message: impl Into<String>) -> ConditionError {
        ConditionError { offset: self.offset(), message: message.into(), help: None }
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.and()?];
        while self.peek_word() == Some("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(flatten(items, true)) })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut items = vec![self.not()?];
        while self.peek_word() == Some("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(flatten(items, false)) })
    }

    fn not(&mut self) -> Result<Expr, ConditionError> {
        if self.peek_word() == Some("not") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.atom()
    }

    fn enter(&mut self) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { Err(self.error("condition is nested too deeply")) } else { Ok(()) }
    }

    fn atom(&mut self) -> Result<Expr, ConditionError> {
        let offset = self.offset();
        let Some((tok, _)) = self.toks.get(self.pos).cloned() else {
            return Err(self.error("condition ends where an identifier was expected"));
        };
        match tok {
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let inner = self.or();
                self.depth -= 1;
                let inner = inner?;
                match self.toks.get(self.pos) {
                    Some((Tok::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(ConditionError {
                        offset,
                        message: "'(' is never closed".into(),
                        help: Some("add the missing ')'".into()),
                    }),
                }
            }
            Tok::RParen => Err(self.error("unexpected ')'")),
            Tok::Pipe => Err(self.error("unexpected '|'")),
            Tok::Word(w) => {
                let quantifier = match w.as_str() {
                    "1" | "any" => Some(Quantifier::One),
                    "all" => Some(Quantifier::All),
                    _ => None,
                };
                let next = self.toks.get(self.pos + 1).map(|(t, _)| t.clone());
                if let Some(q) = quantifier
                    && next == Some(Tok::Word("of".into()))
                {
                    self.pos += 2;
                    let pattern = match self.toks.get(self.pos) {
                        Some((Tok::Word(p), _)) if p == "them" => Pattern::Them,
                        Some((Tok::Word(p), _)) if !KEYWORDS.contains(&p.as_str()) => Pattern::Glob(p.clone()),
                        _ => return Err(self.error("expected an identifier pattern or 'them' after 'of'")),
                    };
                    self.pos += 1;
                    return Ok(Expr::Selector { quantifier: q, pattern, offset });
                }
                let lower = w.to_ascii_lowercase();
                if KEYWORDS.contains(&lower.as_str()) && lower != w {
                    return Err(ConditionError {
                        offset,
                        message: format!("operator '{w}' must be lower case"),
                        help: Some(format!("write '{lower}'")),
                    });
                }
                if w == "near" {
                    return Err(ConditionError {
                        offset,
                        message: "Sigma 1 'near' is not supported".into(),
                        help: Some("express it as a temporal correlation rule".into()),
                    });
                }
                if KEYWORDS.contains(&w.as_str()) || w.chars().all(|c| c.is_ascii_digit()) {
                    return Err(self.error(format!("expected an identifier, found '{w}'")));
                }
                if w.contains('*') {
                    return Err(ConditionError {
                        offset,
                        message: format!("wildcard '{w}' can only be used after '1 of' or 'all of'"),
                        help: Some(format!("write '1 of {w}'")),
                    });
                }
                self.pos += 1;
                Ok(Expr::Ident { name: w, offset })
            }
        }
    }
}

/// Merges nested nodes of the same operator: `a and (b and c)` is `and(a, b, c)`.
fn flatten(items: Vec<Expr>, or: bool) -> Vec<Expr> {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Expr::Or(inner) if or => out.extend(inner),
            Expr::And(inner) if !or => out.extend(inner),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        parse_expr(s).unwrap().to_string()
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(norm("a or b and c"), "a or b and c");
        assert_eq!(norm("(a or b) and c"), "(a or b) and c");
        assert_eq!(norm("not a and b"), "not a and b");
        assert_eq!(norm("not (a and b)"), "not (a and b)");
        assert_eq!(norm("a and (b and c)"), "a and b and c");
        assert_eq!(norm("((a))"), "a");
        let e = parse_expr("a or b and not c").unwrap();
        let Expr::Or(items) = e else { panic!() };
        assert!(matches!(&items[1], Expr::And(v) if matches!(&v[1], Expr::Not(_))));
    }

    #[test]
    fn selectors() {
        assert_eq!(norm("1 of selection_* and not 1 of filter_*"), "1 of selection_* and not 1 of filter_*");
        assert_eq!(norm("any of them"), "1 of them");
        assert_eq!(norm("all of them"), "all of them");
        assert_eq!(norm("not all of sel*"), "not all of sel*");
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse_expr("selection | count() > 5").unwrap_err();
        assert_eq!(e.offset, 10);
        let e = parse_expr("a AND b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse_expr("a and").unwrap_err();
        assert_eq!(e.offset, 5);
        let e = parse_expr("(a or b").unwrap_err();
        assert_eq!(e.offset, 0);
        let e = parse_expr("a b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse_expr("sel*").unwrap_err();
        assert!(e.message.contains("wildcard"));
        assert!(parse_expr("a near b").is_err());
        assert!(parse_expr("").is_err());
        assert!(parse_expr("1 of").is_err());
        assert!(parse_expr("a = b").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let s = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_expr(&s).is_err());
        let s = format!("{}a", "not ".repeat(100_000));
        assert!(parse_expr(&s).is_err());
    }

    #[test]
    fn patterns() {
        assert!(Pattern::Them.matches("selection"));
        assert!(!Pattern::Them.matches("_private"));
        let p = Pattern::Glob("selection_*".into());
        assert!(p.matches("selection_a") && p.matches("selection_") && !p.matches("selection"));
        assert!(!Pattern::Glob("*".into()).matches("_x"));
        assert!(Pattern::Glob("_*".into()).matches("_x"));
        assert!(Pattern::Glob("a*b*c".into()).matches("a__b__c"));
        assert!(!Pattern::Glob("a*b*c".into()).matches("a__c"));
        assert!(!Pattern::Glob("ab*ba".into()).matches("aba"));
    }
}
