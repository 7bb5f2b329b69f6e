//! A fast, non-cryptographic hasher for the catalog's internal maps (keys are rule text, not attacker-chosen
//! in a way that matters: a catalog is built once from files the user chose, and a collision only costs time).

/// A `HashMap` with the rustc hasher (FxHash, from the `rustc-hash` crate).
pub(crate) type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
