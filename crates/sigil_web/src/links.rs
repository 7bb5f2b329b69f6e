//! URLs of every page, for the server and for the static export.
//!
//! The server uses absolute paths (`/rules/<key>`). The static export writes one `.html` file per page and links
//! them relatively (`../rules/<key>.html` from a page one folder deep), so an exported catalog works on any
//! static host, under any sub-path, and straight from disk. Pages never build URLs themselves: they ask a
//! [`Links`] made for the page being rendered.

use sigil_catalog::IndicatorKey;

use crate::query::{self, encode_segment};

/// How links are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Served by `sigil serve`: absolute paths, query strings.
    Server,
    /// Written by `sigil site`: relative `.html` files.
    Static,
}

/// Link builder for one rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    mode: Mode,
    /// `/` for the server; `""`, `../`, `../../` for static pages at depth 0, 1, 2.
    root: String,
    /// Appended to asset URLs to bust caches (`?v=…`).
    asset_version: String,
}

impl Links {
    /// Links for the server.
    pub fn server(asset_version: &str) -> Links {
        Links { mode: Mode::Server, root: "/".into(), asset_version: format!("?v={asset_version}") }
    }

    /// Links for a static page `depth` folders below the export's root.
    pub fn static_at(depth: usize) -> Links {
        Links { mode: Mode::Static, root: "../".repeat(depth), asset_version: String::new() }
    }

    /// The link mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The prefix that leads to the site's root (`/` or relative).
    pub fn root(&self) -> &str {
        &self.root
    }

    fn is_static(&self) -> bool {
        self.mode == Mode::Static
    }

    /// `/` (the search page).
    pub fn home(&self) -> String {
        if self.is_static() { format!("{}index.html", self.root) } else { self.root.clone() }
    }

    /// The search page with a query string (`q=…&tactic=…`, already encoded).
    pub fn search(&self, query: &str) -> String {
        if query.is_empty() { self.home() } else { format!("{}?{query}", self.home()) }
    }

    /// The search page filtered by one facet value.
    pub fn facet(&self, facet: &str, value: &str) -> String {
        self.search(&query::build([(facet, value)]))
    }

    /// Static pages of the unfiltered rule list (`page/2.html`); the server uses `/?page=2`.
    pub fn list_page(&self, page: usize) -> String {
        match (self.mode, page) {
            (_, 0 | 1) => self.home(),
            (Mode::Static, n) => format!("{}page/{n}.html", self.root),
            (Mode::Server, n) => format!("{}?page={n}", self.root),
        }
    }

    /// A rule page by key.
    pub fn rule(&self, key: &str) -> String {
        if self.is_static() {
            format!("{}rules/{}.html", self.root, encode_segment(&file_name(key)))
        } else {
            format!("{}rules/{}", self.root, encode_segment(key))
        }
    }

    /// A rule's YAML as text.
    pub fn rule_raw(&self, key: &str) -> String {
        if self.is_static() {
            format!("{}rules/{}.yml", self.root, encode_segment(&file_name(key)))
        } else {
            format!("{}rules/{}/raw", self.root, encode_segment(key))
        }
    }

    /// A rule's JSON (`sigil show --format json`).
    pub fn rule_json(&self, key: &str) -> String {
        if self.is_static() {
            format!("{}api/rules/{}.json", self.root, encode_segment(&file_name(key)))
        } else {
            format!("{}api/rules/{}", self.root, encode_segment(key))
        }
    }

    /// The ATT&CK matrix.
    pub fn attack(&self) -> String {
        if self.is_static() { format!("{}attack.html", self.root) } else { format!("{}attack", self.root) }
    }

    /// The ATT&CK matrix scrolled to a tactic's column.
    pub fn attack_tactic(&self, shortname: &str) -> String {
        format!("{}#tactic-{}", self.attack(), encode_segment(shortname))
    }

    /// Techniques some rule families cover and others do not.
    pub fn attack_disagreements(&self) -> String {
        if self.is_static() {
            format!("{}attack/disagreements.html", self.root)
        } else {
            format!("{}attack/disagreements", self.root)
        }
    }

    /// A technique page.
    pub fn technique(&self, id: &str) -> String {
        if self.is_static() {
            format!("{}attack/{}.html", self.root, encode_segment(&file_name(id)))
        } else {
            format!("{}attack/{}", self.root, encode_segment(id))
        }
    }

    /// A technique page restricted to one tactic (the matrix cell).
    pub fn technique_in(&self, id: &str, tactic: &str) -> String {
        if self.is_static() {
            format!(
                "{}attack/{}/{}.html",
                self.root,
                encode_segment(&file_name(tactic)),
                encode_segment(&file_name(id))
            )
        } else {
            format!("{}?{}", self.technique(id), query::build([("tactic", tactic)]))
        }
    }

    /// The ATT&CK Navigator layer.
    pub fn navigator(&self) -> String {
        format!("{}api/attack/navigator.json", self.root)
    }

    /// The events overview.
    pub fn events(&self) -> String {
        if self.is_static() { format!("{}events.html", self.root) } else { format!("{}events", self.root) }
    }

    /// A provider's events (display name).
    pub fn provider(&self, provider: &str) -> String {
        if self.is_static() {
            format!("{}events/{}.html", self.root, encode_segment(&file_name(provider)))
        } else {
            format!("{}events/{}", self.root, encode_segment(provider))
        }
    }

    /// One event.
    pub fn event(&self, provider: &str, id: u32) -> String {
        if self.is_static() {
            format!("{}events/{}/{id}.html", self.root, encode_segment(&file_name(provider)))
        } else {
            format!("{}events/{}/{id}", self.root, encode_segment(provider))
        }
    }

    /// One record kind that is not a Windows event (`aws.cloudtrail`).
    pub fn record_kind(&self, kind: &str) -> String {
        if self.is_static() {
            format!("{}records/{}.html", self.root, encode_segment(&file_name(kind)))
        } else {
            format!("{}records/{}", self.root, encode_segment(kind))
        }
    }

    /// One event's rules that read a field.
    pub fn event_field(&self, provider: &str, id: u32, field: &str) -> String {
        if self.is_static() {
            format!(
                "{}events/{}/{id}/{}.html",
                self.root,
                encode_segment(&file_name(provider)),
                encode_segment(&file_name(field))
            )
        } else {
            format!("{}?{}", self.event(provider, id), query::build([("field", field)]))
        }
    }

    /// The rules sharing an indicator.
    pub fn indicator(&self, key: &IndicatorKey) -> String {
        if self.is_static() {
            // Listed in the browser from the index files (one page per shared indicator would be thousands).
            format!("{}indicators.html?i={}", self.root, indicator_file(key))
        } else {
            let q = query::build([
                ("field", key.field.as_str()),
                ("kind", key.kind.as_str()),
                ("value", key.value.as_str()),
                ("variant", key.variant.as_str()),
            ]);
            format!("{}indicators?{q}", self.root)
        }
    }

    /// The indicator index.
    pub fn indicators(&self) -> String {
        if self.is_static() { format!("{}indicators.html", self.root) } else { format!("{}indicators", self.root) }
    }

    /// Corpus statistics.
    pub fn stats(&self) -> String {
        if self.is_static() { format!("{}stats.html", self.root) } else { format!("{}stats", self.root) }
    }

    /// A bundled asset (`style.css`).
    pub fn asset(&self, name: &str) -> String {
        format!("{}static/{name}{}", self.root, self.asset_version)
    }
}

/// A name made safe as one file name: characters other than ASCII letters, digits, `-`, `_` and `.` become
/// `_`, a leading `.` becomes `_` (no hidden files, no `..`), and the result is never empty.
pub fn file_name(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    if out.starts_with('.') {
        out.replace_range(..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// The static file name of an indicator page: a stable FNV-1a hash of its key.
pub fn indicator_file(key: &IndicatorKey) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [key.field.as_str(), key.kind.as_str(), key.variant.as_str(), key.value.as_str()] {
        for b in part.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_and_static_links() {
        let s = Links::server("abc");
        assert_eq!(s.rule("a b"), "/rules/a%20b");
        assert_eq!(s.technique_in("T1059", "execution"), "/attack/T1059?tactic=execution");
        assert_eq!(s.asset("style.css"), "/static/style.css?v=abc");
        assert_eq!(s.facet("tactic", "command-and-control"), "/?tactic=command-and-control");
        assert_eq!(s.event("Sysmon", 1), "/events/Sysmon/1");
        let t = Links::static_at(2);
        assert_eq!(t.rule("x"), "../../rules/x.html");
        assert_eq!(t.home(), "../../index.html");
        assert_eq!(t.facet("level", "high"), "../../index.html?level=high");
        assert_eq!(Links::static_at(0).asset("app.js"), "static/app.js");
        assert_eq!(t.event_field("Sysmon", 1, "Image"), "../../events/Sysmon/1/Image.html");
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name(".."), "_.");
        assert_eq!(file_name("a/b\\c"), "a_b_c");
        assert_eq!(file_name(""), "_");
        assert_eq!(file_name("T1059.001"), "T1059.001");
    }
}
