//! The bundled static files: one stylesheet, two small scripts and an icon, embedded in the binary.

/// `(name, content type, body)` of every asset, served under `/static/` and written by the export.
pub(crate) const ASSETS: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("../assets/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../assets/app.js")),
    ("static.js", "text/javascript; charset=utf-8", include_str!("../assets/static.js")),
    ("icon.svg", "image/svg+xml", include_str!("../assets/icon.svg")),
];

/// An asset by name.
pub(crate) fn get(name: &str) -> Option<(&'static str, &'static str)> {
    ASSETS.iter().find(|(n, _, _)| *n == name).map(|(_, ct, body)| (*ct, *body))
}

/// A short hash of every asset (FNV-1a), so URLs change when an asset does and browsers may cache forever.
pub(crate) fn version() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, _, body) in ASSETS {
        for b in name.bytes().chain(body.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{:08x}", h >> 32)
}
