//! Small view models shared by several pages: the page chrome, rule rows, level badges, links.
//!
//! Views hold display-ready strings (URLs already built and percent-encoded); templates only print them, and
//! askama escapes everything printed, so rule text can never become markup.

use sigil_catalog::RulePage;

use crate::app::App;
use crate::links::{Links, Mode};

/// A labelled link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkView {
    /// Text.
    pub label: String,
    /// Target.
    pub href: String,
}

/// A labelled link that may have no target (an unresolved reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaybeLink {
    /// Text.
    pub label: String,
    /// Target, when known.
    pub href: Option<String>,
}

/// A navigation entry.
#[derive(Debug, Clone)]
pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: String,
    pub active: bool,
}

/// Which top-level section a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Rules,
    Attack,
    Events,
    Indicators,
    Stats,
    None,
}

/// Everything around a page's content: title, navigation, assets, footer.
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub title: String,
    pub site_name: String,
    pub description: Option<String>,
    pub css: String,
    pub icon: String,
    pub home: String,
    pub search_action: String,
    pub nav: Vec<NavItem>,
    pub top_search: bool,
    pub footer: String,
    pub scripts: Vec<String>,
    pub mode: &'static str,
    pub root: String,
    pub wide: bool,
}

impl Chrome {
    pub(crate) fn new(app: &App, links: &Links, title: impl Into<String>, section: Section) -> Chrome {
        let nav = vec![
            NavItem { label: "Rules", href: links.home(), active: section == Section::Rules },
            NavItem { label: "ATT&CK", href: links.attack(), active: section == Section::Attack },
            NavItem { label: "Events", href: links.events(), active: section == Section::Events },
            NavItem { label: "Indicators", href: links.indicators(), active: section == Section::Indicators },
            NavItem { label: "Stats", href: links.stats(), active: section == Section::Stats },
        ];
        let catalog = app.catalog();
        let sources: Vec<String> =
            catalog.sources().iter().map(|s| format!("{} ({})", s.name, s.pages)).collect::<Vec<_>>();
        let footer = format!(
            "{} rules from {} · {} {} · sigil {}{}",
            catalog.len(),
            sources.join(", "),
            catalog.knowledge().attack().version(),
            catalog.knowledge().attack().release(),
            env!("CARGO_PKG_VERSION"),
            if links.mode() == Mode::Server { " · JSON API at /api" } else { "" }
        );
        let (mode, scripts) = match links.mode() {
            Mode::Server => ("server", vec![links.asset("app.js")]),
            Mode::Static => ("static", vec![links.asset("app.js"), links.asset("static.js")]),
        };
        Chrome {
            title: title.into(),
            site_name: app.site_name().to_string(),
            description: None,
            css: links.asset("style.css"),
            icon: links.asset("icon.svg"),
            home: links.home(),
            search_action: links.home(),
            nav,
            top_search: true,
            footer,
            scripts,
            mode,
            root: links.root().to_string(),
            wide: false,
        }
    }
}

/// A level badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Level {
    /// CSS suffix (`lvl-high`).
    pub class: &'static str,
    /// Text.
    pub label: String,
}

impl Level {
    pub(crate) fn of(level: Option<&str>) -> Level {
        let class = match level.map(str::to_ascii_lowercase).as_deref() {
            Some("informational") => "informational",
            Some("low") => "low",
            Some("medium") => "medium",
            Some("high") => "high",
            Some("critical") => "critical",
            _ => "none",
        };
        Level { class, label: level.map_or_else(|| "no level".to_string(), str::to_string) }
    }
}

/// Severity rank for sorting (critical first).
pub(crate) fn level_rank(level: Option<&str>) -> u8 {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => 0,
        Some("high") => 1,
        Some("medium") => 2,
        Some("low") => 3,
        Some("informational") => 4,
        _ => 5,
    }
}

/// One rule in a result list or table.
#[derive(Debug, Clone)]
pub(crate) struct RuleRow {
    pub href: String,
    pub title: String,
    pub level: Level,
    pub status: Option<String>,
    pub logsource: String,
    pub tactics: Vec<LinkView>,
    pub date: Option<String>,
    pub kind: Option<&'static str>,
    pub source: Option<String>,
    pub description: String,
    /// The title with matched words marked (search results), else empty.
    pub title_marked: Vec<sigil_catalog::Segment>,
    /// A passage around the matched words (search results), else empty.
    pub snippet: Vec<sigil_catalog::Segment>,
}

impl RuleRow {
    /// A row with a description snippet (result lists).
    pub(crate) fn new(app: &App, links: &Links, p: &RulePage) -> RuleRow {
        let mut row = RuleRow::brief(app, links, p);
        row.description = snippet(p.description.as_deref().unwrap_or_default(), 260);
        row
    }

    /// A row without description (tables, long lists).
    pub(crate) fn brief(app: &App, links: &Links, p: &RulePage) -> RuleRow {
        let multi_source = app.catalog().sources().len() > 1;
        RuleRow {
            href: links.rule(&p.key),
            title: p.title.clone(),
            level: Level::of(p.level.as_deref()),
            status: p.status.as_deref().map(css_word),
            logsource: p.logsource_label(),
            tactics: p
                .attack
                .iter()
                .map(|r| LinkView { label: r.tactic.clone(), href: links.facet("tactic", &r.shortname) })
                .collect(),
            date: p.modified.clone().or_else(|| p.date.clone()),
            kind: match p.kind {
                sigil_catalog::RuleKind::Rule => None,
                k => Some(k.as_str()),
            },
            source: multi_source.then(|| p.source.clone()),
            description: String::new(),
            title_marked: Vec::new(),
            snippet: Vec::new(),
        }
    }
}

/// A word safe as a CSS class suffix (letters, digits, `-`); anything else becomes `-`.
pub(crate) fn css_word(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' }).collect()
}

/// The first `max` characters of a text on one line, with an ellipsis when cut.
pub(crate) fn snippet(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max).collect();
    if let Some(cut) = out.rfind(' ') {
        out.truncate(cut);
    }
    out.push('…');
    out
}

/// Whether a reference may be a link: `http://` or `https://` with a host, and no characters that would break
/// out of an attribute (escaping handles that too; this keeps odd URLs as text).
pub(crate) fn safe_url(s: &str) -> Option<String> {
    let t = s.trim();
    let lower = t.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        t.get(8..)
    } else if lower.starts_with("http://") {
        t.get(7..)
    } else {
        None
    }?;
    if rest.is_empty() || rest.starts_with('/') || t.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
        return None;
    }
    Some(t.to_string())
}

/// Authors split exactly as the catalog's author facet splits them.
pub(crate) use sigil_catalog::authors;

/// Pagination links.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub pages: Vec<PageLink>,
    pub pages_total: usize,
}

/// One entry of the pager (a gap has neither href nor current).
#[derive(Debug, Clone)]
pub(crate) struct PageLink {
    pub label: String,
    pub href: Option<String>,
    pub current: bool,
}

impl Pager {
    /// A pager for `page` (1-based) of `total` pages; `href(n)` builds page n's URL.
    pub(crate) fn new(page: usize, total: usize, href: impl Fn(usize) -> String) -> Pager {
        let total = total.max(1);
        let mut pages = Vec::new();
        let mut last = 0;
        for n in 1..=total {
            let show = n == 1 || n == total || n.abs_diff(page) <= 2;
            if !show {
                continue;
            }
            if n > last + 1 {
                pages.push(PageLink { label: "…".into(), href: None, current: false });
            }
            pages.push(PageLink { label: n.to_string(), href: Some(href(n)), current: n == page });
            last = n;
        }
        Pager {
            prev: (page > 1).then(|| href(page - 1)),
            next: (page < total).then(|| href(page + 1)),
            pages,
            pages_total: total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_only() {
        assert_eq!(safe_url(" https://example.com/a?b=c "), Some("https://example.com/a?b=c".into()));
        assert!(safe_url("HTTP://x.y").is_some());
        for bad in ["javascript:alert(1)", "data:text/html,x", "https://", "http:///x", "ftp://x", "https://a b", "//x"]
        {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn snippets_and_pager() {
        assert_eq!(snippet("a  b\nc", 10), "a b c");
        assert_eq!(snippet("hello wonderful world", 12), "hello…");
        let p = Pager::new(5, 10, |n| format!("?page={n}"));
        let labels: Vec<&str> = p.pages.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["1", "…", "3", "4", "5", "6", "7", "…", "10"]);
        assert_eq!(p.prev.as_deref(), Some("?page=4"));
        assert!(Pager::new(1, 1, |n| n.to_string()).next.is_none());
    }

    #[test]
    fn levels_and_authors() {
        assert_eq!(Level::of(Some("High")).class, "high");
        assert_eq!(Level::of(Some("<x>")).class, "none");
        assert_eq!(authors(Some("@a, B and C & d; a")), ["a", "B", "C", "d"]);
        assert_eq!(css_word("te st\"<"), "te-st--");
    }
}
