//! Finding many literals in a haystack at once, for the prefilter: every occurrence of every literal.
//!
//! An Aho-Corasick automaton over thousands of literals is several megabytes: walking it costs a cache miss per
//! byte. Instead, each literal of four bytes or more gets an *anchor*, the 4-byte window of it that is rarest
//! among all the literals (so `.exe` or `\win` are avoided when the literal has anything better). A bitmap of
//! hashed anchors small enough for the L2 cache says, for each position of the haystack, whether an anchor may
//! start there; only then is the window looked up and the literal compared in full. Literals of one to three
//! bytes are whole windows themselves: a bitmap per length (direct for one and two bytes, hashed for three) and an
//! exact lookup, in the same pass.
//!
//! Every occurrence of a literal contains its anchor exactly once at its own offset, so each occurrence is
//! reported exactly once, like Aho-Corasick's overlapping search.

use rustc_hash::FxHashMap;

/// Length of an anchor: literals shorter than this are looked up whole, on a slower path.
pub(crate) const ANCHOR: usize = 4;

#[derive(Debug)]
struct Anchored {
    lit: u32,
    /// Offset of the anchor in the literal.
    offset: u32,
}

/// A set of literals (byte strings, never empty).
#[derive(Debug)]
pub(crate) struct LiteralSet {
    lits: Vec<Box<[u8]>>,
    bits: Vec<u64>,
    shift: u32,
    anchors: FxHashMap<u32, Box<[Anchored]>>,
    /// Literals of 1, 2 and 3 bytes: a bitmap over the window value (hashed for 3 bytes) and the literals per
    /// window value.
    short: [Option<Short>; 3],
}

#[derive(Debug)]
struct Short {
    bits: Vec<u64>,
    lits: FxHashMap<u32, Box<[u32]>>,
}

impl Short {
    /// The bit of a 1-, 2- or 3-byte window value.
    #[inline]
    fn bit(len: usize, w: u32) -> usize {
        if len == 3 { (w.wrapping_mul(0x9E37_79B1) >> 16) as usize } else { w as usize }
    }
}

#[inline]
fn window(b: &[u8], at: usize) -> Option<u32> {
    let w: [u8; ANCHOR] = b.get(at..at + ANCHOR)?.try_into().ok()?;
    Some(u32::from_le_bytes(w))
}

impl LiteralSet {
    /// A set of the given literals. Empty literals are never reported (callers treat them as "always").
    pub(crate) fn new(literals: &[&[u8]]) -> LiteralSet {
        let mut freq: FxHashMap<u32, u32> = FxHashMap::default();
        for l in literals {
            for at in 0..l.len().saturating_sub(ANCHOR - 1) {
                if let Some(w) = window(l, at) {
                    *freq.entry(w).or_insert(0) += 1;
                }
            }
        }
        let mut anchors: FxHashMap<u32, Vec<Anchored>> = FxHashMap::default();
        let mut short: [FxHashMap<u32, Vec<u32>>; 3] = Default::default();
        for (i, l) in literals.iter().enumerate() {
            if l.len() < ANCHOR {
                let w = l.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                if let Some(m) = l.len().checked_sub(1).and_then(|k| short.get_mut(k)) {
                    m.entry(w).or_default().push(i as u32);
                }
                continue;
            }
            // The rarest window; among equals the last (a path's file name beats its folder).
            let best = (0..=l.len() - ANCHOR)
                .filter_map(|at| window(l, at).map(|w| (at, w)))
                .min_by_key(|(at, w)| (freq.get(w).copied().unwrap_or(0), usize::MAX - at));
            if let Some((at, w)) = best {
                anchors.entry(w).or_default().push(Anchored { lit: i as u32, offset: at as u32 });
            }
        }
        // About 64 bits per anchor keeps false hits near 1.5 % of positions; at most 2^20 bits (128 KiB).
        let bits_log = (anchors.len().max(1) * 64).next_power_of_two().trailing_zeros().clamp(12, 20);
        let mut bits = vec![0u64; (1usize << bits_log) / 64];
        let shift = 32 - bits_log;
        for w in anchors.keys() {
            let h = (w.wrapping_mul(0x9E37_79B1) >> shift) as usize;
            if let Some(word) = bits.get_mut(h / 64) {
                *word |= 1 << (h % 64);
            }
        }
        let mut k = 0;
        let short = short.map(|m| {
            k += 1;
            if m.is_empty() {
                return None;
            }
            let mut bits = vec![0u64; (1usize << (8 * k).min(16)) / 64];
            for w in m.keys() {
                let b = Short::bit(k, *w);
                if let Some(word) = bits.get_mut(b / 64) {
                    *word |= 1 << (b % 64);
                }
            }
            Some(Short { bits, lits: m.into_iter().map(|(w, v)| (w, v.into_boxed_slice())).collect() })
        });
        LiteralSet {
            lits: literals.iter().map(|l| Box::from(*l)).collect(),
            bits,
            shift,
            anchors: anchors.into_iter().map(|(k, v)| (k, v.into_boxed_slice())).collect(),
            short,
        }
    }

    /// Calls `f(literal index, end offset)` for every occurrence of every literal in `hay`.
    #[inline]
    pub(crate) fn for_each_match(&self, hay: &[u8], mut f: impl FnMut(u32, usize)) {
        let long = !self.anchors.is_empty();
        let any_short = self.short.iter().any(Option::is_some);
        // `windows` walks every 4-byte window without a bounds check per position.
        let windows = hay.windows(ANCHOR).map(|w| w.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)));
        match (long, any_short) {
            // The common case, kept tight: one hash and one bit test per position.
            (true, false) => {
                for (at, w) in windows.enumerate() {
                    if self.anchor_bit(w) {
                        self.verify(hay, at, w, &mut f);
                    }
                }
            }
            (_, true) => {
                for (at, w) in windows.enumerate() {
                    if long && self.anchor_bit(w) {
                        self.verify(hay, at, w, &mut f);
                    }
                    self.short_at(at, w, 3, &mut f);
                }
            }
            (false, false) => {}
        }
        // The last positions, where fewer than four bytes are left: only short literals fit.
        if any_short {
            for at in hay.len().saturating_sub(ANCHOR - 1)..hay.len() {
                let rest = hay.get(at..).unwrap_or_default();
                let w = rest.iter().rev().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                self.short_at(at, w, rest.len(), &mut f);
            }
        }
    }

    /// Whether an anchor may start with the window `w` (the bitmap of hashed anchors).
    #[inline]
    fn anchor_bit(&self, w: u32) -> bool {
        let h = (w.wrapping_mul(0x9E37_79B1) >> self.shift) as usize;
        self.bits.get(h / 64).is_some_and(|word| word & (1 << (h % 64)) != 0)
    }

    #[inline]
    fn verify(&self, hay: &[u8], at: usize, w: u32, f: &mut impl FnMut(u32, usize)) {
        let Some(cands) = self.anchors.get(&w) else { return };
        for c in cands.iter() {
            let Some(lit) = self.lits.get(c.lit as usize) else { continue };
            let Some(start) = at.checked_sub(c.offset as usize) else { continue };
            let end = start + lit.len();
            if hay.get(start..end) == Some(&lit[..]) {
                f(c.lit, end);
            }
        }
    }

    /// Short literals of up to `max` bytes starting at `at`; `w` holds the bytes from `at` (little endian).
    #[inline]
    fn short_at(&self, at: usize, w: u32, max: usize, f: &mut impl FnMut(u32, usize)) {
        for (k, short) in self.short.iter().enumerate().take(max) {
            let Some(short) = short else { continue };
            let v = w & (u32::MAX >> (8 * (3 - k)));
            let bit = Short::bit(k + 1, v);
            if short.bits.get(bit / 64).is_some_and(|word| word & (1 << (bit % 64)) != 0)
                && let Some(ids) = short.lits.get(&v)
            {
                for i in ids.iter() {
                    f(*i, at + k + 1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(lits: &[&[u8]], hay: &[u8]) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for (i, l) in lits.iter().enumerate() {
            for start in 0..=hay.len().saturating_sub(l.len()) {
                if hay.get(start..start + l.len()) == Some(l) {
                    out.push((i as u32, start + l.len()));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_occurrence_like_a_naive_search() {
        let lits: Vec<&[u8]> = vec![
            b"\\cmd.exe",
            b"cmd.exe /c",
            b".exe",
            b"ab",
            b"a",
            b"abab",
            b"babab",
            b"\\windows\\system32\\",
            b"-enc ",
            b" -e ",
            b"\xc3\xa4rger",
            b"-e ",
            b"/c",
            b"\xff",
        ];
        let set = LiteralSet::new(&lits);
        for hay in [
            &b"c:\\windows\\system32\\cmd.exe /c whoami -enc x"[..],
            b"abababab",
            b"",
            b"a",
            b"cmd.exe\xffab\xff -e \xff\xc3\xa4rger",
            b".ex",
        ] {
            let mut got = Vec::new();
            set.for_each_match(hay, |i, end| got.push((i, end)));
            got.sort_unstable();
            assert_eq!(got, naive(&lits, hay), "{}", String::from_utf8_lossy(hay));
        }
    }

    #[test]
    fn many_literals() {
        let owned: Vec<Vec<u8>> = (0..5000).map(|i| format!("\\tool{i}.exe").into_bytes()).collect();
        let lits: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let set = LiteralSet::new(&lits);
        let hay = b"c:\\x\\tool4242.exe and \\tool17.exe";
        let mut got = Vec::new();
        set.for_each_match(hay, |i, end| got.push((i, end)));
        got.sort_unstable();
        assert_eq!(got, naive(&lits, hay));
    }
}
