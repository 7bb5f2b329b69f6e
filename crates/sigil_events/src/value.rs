//! Field values.

use std::borrow::Cow;
use std::fmt;

pub use compact_str::CompactString;

/// The value of one event field.
///
/// EVTX fields keep the type the record stores: most `EventData` fields are strings, some are
/// numbers (`ProcessId` in Sysmon events), hex strings stay strings (`"0x1a2c"` in Security
/// 4688); [`Value::as_f64`] and friends read numbers out of any of them. JSON values keep their
/// JSON type, except integers beyond the `i64` range, which become `Str` so that no digit is
/// lost. `List` holds the items of a JSON array of scalars, or the unnamed `Data` elements of a
/// classic Windows event.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`, or an EVTX substitution of type null.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string. [`CompactString`] keeps strings of up to 24 bytes inline (about half the
    /// strings of a Windows event), which saves an allocation each; it derefs to `&str`.
    Str(CompactString),
    /// A list of values (array items, unnamed `Data` elements).
    List(Vec<Value>),
}

impl Value {
    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, when this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, when this is a [`Value::List`].
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The boolean, when this is a [`Value::Bool`] or the string `true`/`false` (any case).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The value as text: strings as they are, numbers and booleans as written in JSON,
    /// `Null` as the empty string, and a list as its items' texts joined by `", "`.
    ///
    /// Borrows for strings, so matching string fields allocates nothing.
    pub fn as_str_lossy(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            Value::Null => Cow::Borrowed(""),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(f.to_string()),
            Value::List(items) => {
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&item.as_str_lossy());
                }
                Cow::Owned(out)
            }
        }
    }

    /// The value as a number: `Int` and `Float` as they are, and strings holding a decimal
    /// number (`"42"`, `"-1.5"`, `"1e3"`) or a Windows hex number (`"0x1a2c"`, any case).
    /// `None` for anything else, including `"inf"` and `"NaN"`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => parse_f64(s),
            _ => None,
        }
    }

    /// The value as an integer: `Int`, an integral `Float` in range, and strings holding a
    /// decimal or `0x` hex integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) => float_to_int(*f),
            Value::Str(s) => parse_int(s).and_then(|i| i64::try_from(i).ok()),
            _ => None,
        }
    }

    /// The value as an unsigned integer: like [`Value::as_i64`], for values `>= 0` up to
    /// `u64::MAX` (so `"0xffffffffffffffff"` works).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Float(f) => float_to_int(*f).and_then(|i| u64::try_from(i).ok()),
            Value::Str(s) => parse_int(s).and_then(|i| u64::try_from(i).ok()),
            _ => None,
        }
    }

    /// The value as JSON (non-finite floats become `null`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
        }
    }
}

/// Serialises as [`Value::to_json`] does (non-finite floats become `null`), without building a JSON tree.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) if f.is_finite() => s.serialize_f64(*f),
            Value::Float(_) => s.serialize_unit(),
            Value::Str(x) => s.serialize_str(x),
            Value::List(items) => s.collect_seq(items),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str_lossy())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}

impl From<Box<str>> for Value {
    fn from(s: Box<str>) -> Self {
        Value::Str(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i.into())
    }
}

impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i.into())
    }
}

impl From<u64> for Value {
    /// Values beyond `i64::MAX` become `Str`, as when read from JSON.
    fn from(i: u64) -> Self {
        i64::try_from(i).map_or_else(|_| Value::Str(i.to_string().into()), Value::Int)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl From<&serde_json::Value> for Value {
    /// Scalars and arrays of scalars convert one to one; objects (which flat events do not
    /// hold) become their JSON text.
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Value::Int(i),
                (None, Some(u), _) => Value::from(u),
                (None, None, Some(f)) => Value::Float(f),
                (None, None, None) => Value::Str(n.to_string().into()),
            },
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from).collect()),
            serde_json::Value::Object(_) => Value::Str(v.to_string().into()),
        }
    }
}

fn float_to_int(f: f64) -> Option<i64> {
    // The range check keeps the cast exact: i64::MAX as f64 rounds up to 2^63.
    (f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)).then_some(f as i64)
}

/// Split an optional sign off `s`.
fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    }
}

/// The digits after a `0x`/`0X` prefix, if `s` has one.
fn hex_digits(s: &str) -> Option<&str> {
    s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
}

/// A decimal or `0x` hex integer, as i128 so that the whole u64 and i64 ranges fit.
pub(crate) fn parse_int(s: &str) -> Option<i128> {
    let (negative, body) = split_sign(s);
    let magnitude = match hex_digits(body) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i128::from(u64::from_str_radix(hex, 16).ok()?)
        }
        Some(_) => return None,
        None if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) => i128::from(body.parse::<u64>().ok()?),
        None => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A decimal number or `0x` hex integer; rejects the words `f64::from_str` accepts
/// (`inf`, `NaN`, `infinity`).
pub(crate) fn parse_f64(s: &str) -> Option<f64> {
    let (negative, body) = split_sign(s);
    if let Some(hex) = hex_digits(body) {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let magnitude = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if negative { -magnitude } else { magnitude });
    }
    let first = *body.as_bytes().first()?;
    if !(first.is_ascii_digit() || first == b'.') {
        return None;
    }
    if !body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    let value: f64 = body.parse().ok()?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_decimal_strings_are_numbers() {
        assert_eq!(Value::from("0x1a2c").as_f64(), Some(6700.0));
        assert_eq!(Value::from("0X1A2C").as_i64(), Some(6700));
        assert_eq!(Value::from("4688").as_f64(), Some(4688.0));
        assert_eq!(Value::from("-1.5").as_f64(), Some(-1.5));
        assert_eq!(Value::from("1e3").as_f64(), Some(1000.0));
        assert_eq!(Value::from(".5").as_f64(), Some(0.5));
        assert_eq!(Value::from("0xffffffffffffffff").as_u64(), Some(u64::MAX));
        assert_eq!(Value::from("0xffffffffffffffff").as_i64(), None);
        assert_eq!(Value::from("0x8000000000000000").as_f64(), Some(9_223_372_036_854_775_808.0));
        assert_eq!(Value::Int(-3).as_u64(), None);
        assert_eq!(Value::Float(3.0).as_i64(), Some(3));
        assert_eq!(Value::Float(3.5).as_i64(), None);
    }

    #[test]
    fn non_numbers_are_not_numbers() {
        for s in ["", "0x", "0xg1", "inf", "NaN", "infinity", "-inf", "12abc", "abc", " 1", "1 ", "1_000", "-"] {
            assert_eq!(Value::from(s).as_f64(), None, "{s:?}");
            assert_eq!(Value::from(s).as_i64(), None, "{s:?}");
        }
        assert_eq!(Value::Null.as_f64(), None);
        assert_eq!(Value::Bool(true).as_f64(), None);
        assert_eq!(Value::List(vec![Value::Int(1)]).as_f64(), None);
    }

    #[test]
    fn lossy_text() {
        assert_eq!(Value::from("a").as_str_lossy(), "a");
        assert!(matches!(Value::from("a").as_str_lossy(), Cow::Borrowed(_)));
        assert_eq!(Value::Null.as_str_lossy(), "");
        assert_eq!(Value::Int(-7).as_str_lossy(), "-7");
        assert_eq!(Value::Float(1.5).as_str_lossy(), "1.5");
        assert_eq!(Value::Bool(false).as_str_lossy(), "false");
        assert_eq!(Value::List(vec!["a".into(), Value::Int(2)]).as_str_lossy(), "a, 2");
        assert_eq!(Value::from(u64::MAX), Value::from("18446744073709551615"));
    }
}
