//! Compact JSON written straight into a byte buffer: the bytes `serde_json::to_writer` writes, faster.
//!
//! A hunt's JSON lines are mostly event strings, and Windows events are full of paths: `serde_json` looks up every
//! byte of a string in its escape table and writes each run between two backslashes as a separate fragment. Here a
//! string goes eight bytes at a time (see [`write_str`]) straight into the buffer, without `io::Write`: about
//! 0.7x `serde_json`'s time on Windows paths.
//!
//! [`write`] serialises any `Serialize` value with [`JsonSerializer`], which writes what `serde_json`'s compact
//! serializer writes: the same escapes (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as
//! `\u00xx` in lower-case hex, everything else as it is), numbers through `serde_json`'s own formatter, non-finite
//! floats as `null`. What it does not take (byte strings, map keys other than strings) is an error, and [`write`]
//! then leaves the work to `serde_json` itself, so the output is the same in every case. The
//! `same_bytes_as_serde_json` tests compare the two on arbitrary strings, numbers and detection records.

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::ser::Formatter as _;

/// Appends the compact JSON of `value` to `buf`: the bytes `serde_json::to_writer` appends. On an error (from
/// `value`'s `Serialize`, as `serde_json` would report it) `buf` is left as it was and the error returned.
pub(crate) fn write<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<(), serde_json::Error> {
    let start = buf.len();
    if value.serialize(JsonSerializer { out: buf }).is_ok() {
        return Ok(());
    }
    buf.truncate(start);
    let done = serde_json::to_writer(&mut *buf, value);
    if done.is_err() {
        buf.truncate(start);
    }
    done
}

/// The bytes of `w` (eight bytes, little endian) to escape, as the high bit of each: the lowest bit set is always
/// the first such byte (bits above it may be set for bytes that need none, from borrows; only the lowest is used).
#[inline]
fn escape_mask(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    (w.wrapping_sub(ONES * 0x20) & !w & HIGH) | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))
}

/// The escape of each byte, as `serde_json` writes it: `0` for none, `u` for `\u00xx`, else the letter after `\`.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Appends `s` as a JSON string, quotes included.
///
/// Eight bytes at a time: each word is appended whole, then the output is cut back to the word's first byte to
/// escape (kept whole when there is none), which is escaped, and the next word starts after it. A Windows path has
/// a backslash every few bytes: this costs no call per run between two of them.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while i < bytes.len() {
        let word: Option<[u8; 8]> = bytes.get(i..i + 8).and_then(|w| w.try_into().ok());
        if let Some(word) = word {
            out.extend_from_slice(&word);
            let m = escape_mask(u64::from_le_bytes(word));
            if m == 0 {
                i += 8;
                continue;
            }
            let k = (m.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - 8 + k);
            i += k;
        } else {
            // The last bytes, one by one.
            let b = bytes.get(i).copied().unwrap_or(0);
            if ESCAPE.get(usize::from(b)).copied().unwrap_or(0) == 0 {
                out.push(b);
                i += 1;
                continue;
            }
        }
        // `bytes[i]` is to be escaped.
        let b = bytes.get(i).copied().unwrap_or(0);
        let e = ESCAPE.get(usize::from(b)).copied().unwrap_or(0);
        if e == b'u' {
            let hex = |n: u8| HEX.get(usize::from(n & 0xf)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b)]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        i += 1;
    }
    out.push(b'"');
}

/// Something [`JsonSerializer`] does not write (then [`write`] hands the value to `serde_json`).
#[derive(Debug)]
pub(crate) struct Unsupported(String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unsupported(msg.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, Unsupported> {
    Err(Unsupported(format!("{what} is left to serde_json")))
}

/// A `serde` serializer writing compact JSON into a byte buffer (see the module docs).
pub(crate) struct JsonSerializer<'a> {
    out: &'a mut Vec<u8>,
}

macro_rules! number {
    ($name:ident, $ty:ty, $write:ident) => {
        fn $name(self, v: $ty) -> Result<(), Unsupported> {
            serde_json::ser::CompactFormatter.$write(self.out, v).map_err(|e| Unsupported(e.to_string()))
        }
    };
}

impl<'a> ser::Serializer for JsonSerializer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    number!(serialize_i8, i8, write_i8);
    number!(serialize_i16, i16, write_i16);
    number!(serialize_i32, i32, write_i32);
    number!(serialize_i64, i64, write_i64);
    number!(serialize_i128, i128, write_i128);
    number!(serialize_u8, u8, write_u8);
    number!(serialize_u16, u16, write_u16);
    number!(serialize_u32, u32, write_u32);
    number!(serialize_u64, u64, write_u64);
    number!(serialize_u128, u128, write_u128);

    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        serde_json::ser::CompactFormatter.write_f32(self.out, v).map_err(|e| Unsupported(e.to_string()))
    }

    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        if !v.is_finite() {
            return self.serialize_unit();
        }
        serde_json::ser::CompactFormatter.write_f64(self.out, v).map_err(|e| Unsupported(e.to_string()))
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        unsupported("a byte string")
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Unsupported> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(JsonSerializer { out: &mut *self.out })?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Compound { out: self.out, first: true, close: b"]" })
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        Ok(Compound::variant(self.out, variant, b"[", b"]}"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        self.out.push(b'{');
        Ok(Compound { out: self.out, first: true, close: b"}" })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Unsupported> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        Ok(Compound::variant(self.out, variant, b"{", b"}}"))
    }
}

/// A sequence, map or struct being written: a comma before every element but the first, `close` at the end.
pub(crate) struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl<'a> Compound<'a> {
    /// An enum variant holding a sequence (`open` `[`) or fields (`{`): `{"variant":` then the elements.
    fn variant(out: &'a mut Vec<u8>, variant: &str, open: &[u8], close: &'static [u8]) -> Self {
        out.push(b'{');
        write_str(out, variant);
        out.push(b':');
        out.extend_from_slice(open);
        Compound { out, first: true, close }
    }

    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(JsonSerializer { out: &mut *self.out })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Unsupported> {
        self.comma();
        write_str(self.out, key);
        self.out.push(b':');
        value.serialize(JsonSerializer { out: &mut *self.out })
    }

    fn end(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The compound serializers: elements of sequences and tuples (`element`), named fields of structs (`field`).
macro_rules! compound {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.element(value)
            }
            fn end(self) -> Result<(), Unsupported> {
                Compound::end(self)
            }
        })*
    };
    (named $($trait:ident),*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Unsupported> {
                Compound::end(self)
            }
        })*
    };
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);
compound!(named SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.comma();
        key.serialize(KeySerializer { out: &mut *self.out })?;
        self.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(JsonSerializer { out: &mut *self.out })
    }
    fn end(self) -> Result<(), Unsupported> {
        Compound::end(self)
    }
}

/// A map key: strings only (anything else is left to `serde_json`, which quotes numbers and refuses the rest).
struct KeySerializer<'a> {
    out: &'a mut Vec<u8>,
}

macro_rules! no_key {
    ($($name:ident($($ty:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $ty),*) -> Result<(), Unsupported> {
            unsupported("a map key that is not a string")
        })*
    };
}

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Impossible<(), Unsupported>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    no_key!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unsupported> {
        unsupported("a map key that is not a string")
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        unsupported("a map key that is not a string")
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use sigil_events::{Event, Value};

    use super::*;

    /// `write`'s bytes, after checking they are `serde_json::to_writer`'s.
    fn same_as_serde_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        let mut ours = b"prefix".to_vec();
        let ok = write(&mut ours, value).is_ok();
        let theirs = serde_json::to_vec(value);
        assert_eq!(ok, theirs.is_ok());
        match theirs {
            Ok(theirs) => {
                assert_eq!(String::from_utf8_lossy(ours.get(6..).unwrap_or_default()), String::from_utf8_lossy(&theirs))
            }
            Err(_) => assert_eq!(ours, b"prefix"),
        }
        ours.split_off(6)
    }

    /// Strings made of what JSON escapes and what it does not, at every offset of the 8-byte words.
    fn tricky_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\\".to_string()),
            Just("\"".to_string()),
            Just("C:\\Windows\\System32\\".to_string()),
            (0u8..0x20).prop_map(|b| char::from(b).to_string()),
            Just("\u{7f}".to_string()),
            Just("ä€😀".to_string()),
            "[a-zA-Z0-9 .:/-]{0,12}",
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>().prop_map(Value::Float),
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-0.0), Just(1e300), Just(0.1)].prop_map(Value::Float),
            tricky_string().prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| proptest::collection::vec(inner, 0..4).prop_map(Value::List))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn same_bytes_as_serde_json_for_any_string(s in any::<String>()) {
            same_as_serde_json(&s);
        }

        #[test]
        fn same_bytes_as_serde_json_for_strings_with_escapes(s in tricky_string()) {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let theirs = serde_json::to_vec(&s).unwrap_or_default();
            prop_assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&theirs));
        }

        #[test]
        fn same_bytes_as_serde_json_for_events(
            fields in proptest::collection::vec((prop_oneof![Just("Image".to_string()), tricky_string()], value()), 0..12)
        ) {
            // Repeated names (the serialiser writes each once) come from the fixed `Image`.
            same_as_serde_json(&Event::from_fields(fields));
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<f32>, b: char },
    }

    #[derive(Serialize)]
    struct Record<'a> {
        id: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u64>,
        cow: Cow<'a, str>,
        tags: &'a [String],
        shapes: Vec<Shape>,
        pair: (u128, i128),
        nothing: (),
        empty: Vec<u8>,
        map: BTreeMap<String, Vec<f64>>,
    }

    #[test]
    fn same_bytes_as_serde_json_for_records_and_every_serde_shape() {
        let tags = vec!["attack.t1059".to_string(), "a\"b".to_string()];
        let record = Record {
            id: Some("5f1abf38-3f8b-4d4b-9e5b-\u{1}"),
            skipped: None,
            cow: Cow::Borrowed("C:\\Temp\\x.exe"),
            tags: &tags,
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t\n".into()),
                Shape::Struct { a: Some(f32::NAN), b: '\\' },
                Shape::Struct { a: Some(1.5), b: 'é' },
            ],
            pair: (u128::MAX, i128::MIN),
            nothing: (),
            empty: Vec::new(),
            map: [("k\t".to_string(), vec![0.1, f64::NEG_INFINITY, 3.0])].into_iter().collect(),
        };
        let out = same_as_serde_json(&record);
        assert!(out.starts_with(br#"{"id":"5f1abf38-3f8b-4d4b-9e5b-\u0001","cow":"C:\\Temp\\x.exe","#));
        // What it leaves to serde_json comes out the same: byte strings, non-string keys, errors.
        same_as_serde_json(&serde_bytes_like(b"\x00\xff"));
        same_as_serde_json(&[(1u32, "one")].into_iter().collect::<BTreeMap<_, _>>());
        same_as_serde_json(&[((1u8, 2u8), "tuple key")].into_iter().collect::<BTreeMap<_, _>>());
    }

    /// A value serialised as a byte string.
    fn serde_bytes_like(b: &'static [u8]) -> impl Serialize {
        struct Bytes(&'static [u8]);
        impl Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        Bytes(b)
    }

    #[test]
    fn every_byte_value_in_every_position_of_a_word() {
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut s = "x".repeat(at);
                s.push(char::from(b));
                s.push_str("yz");
                let mut out = Vec::new();
                write_str(&mut out, &s);
                assert_eq!(out, serde_json::to_vec(&s).unwrap_or_default(), "byte {b:#x} at {at}");
            }
        }
    }
}
